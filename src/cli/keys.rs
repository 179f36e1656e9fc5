//! `tipline keys ...` and `tipline index ...`: the keys dir, rotation, routing and the blind index.

use clap::Subcommand;
use tipline::config::Config;
use tipline::crypto::keyring::Keyring;

#[derive(Subcommand)]
pub(crate) enum IndexAction {
    /// Index every tip whose index is older than the current normalization rules, then exit.
    /// The server does the same in the background; this is for operators who want it done now.
    Run {
        /// Re-index every tip, not only those behind the current rules.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeysAction {
    /// Create the database (if needed) and a new set of keys, then exit.
    Init {
        /// Wrap the new private key files under the passphrase in this file.
        #[arg(long)]
        passphrase_file: Option<std::path::PathBuf>,
    },
    /// Print the public keys (office, relay, node) for an intake node in a split deployment,
    /// and the audit verifying key for `audit verify --verifying-key`.
    ExportPublic,
    /// Make a new office (or relay) keypair and re-seal every data key to it; the old key is
    /// kept for opening until `keys retire`. Run again to resume or finish a rotation.
    Rotate {
        #[arg(value_enum, default_value = "office")]
        kind: KeyKind,
        /// Epoch rows re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Destroy the old key of a finished rotation; refuses while any row still names it.
    Retire {
        #[arg(value_enum, default_value = "office")]
        kind: KeyKind,
    },
    /// Wrap every plain private key file under the passphrase in this file.
    Protect {
        #[arg(long)]
        passphrase_file: std::path::PathBuf,
    },
    /// Bind the routing (unit, county-only, category, township) of tips stored before the
    /// binding existed, as their columns read now. Run once after upgrading, once the routing
    /// has been checked: until then the staff views treat those tips as re-routed. Audited.
    BindRouting,
    /// Split a complete keys dir (TIPLINE_KEYS_DIR, or --from) into the intake zone's and the
    /// police zone's key sets (issue 18; docs/operator-guide.md section 12).
    Split {
        #[arg(long)]
        from: Option<std::path::PathBuf>,
        #[arg(long)]
        intake: std::path::PathBuf,
        #[arg(long)]
        police: std::path::PathBuf,
    },
    /// A keys dir for another police node on the same database: a copy of the police dir
    /// (TIPLINE_KEYS_DIR, or --from) with a node key of its own. Then record its identity at a
    /// police node with `tipline ferry trust`, and at every intake node.
    PoliceNode {
        #[arg(long)]
        from: Option<std::path::PathBuf>,
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum KeyKind {
    Office,
    Relay,
}

impl KeyKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyKind::Office => tipline::crypto::keyring::OFFICE,
            KeyKind::Relay => tipline::crypto::keyring::RELAY,
        }
    }
}

/// `tipline keys ...`.
pub(crate) fn run(config: &Config, action: KeysAction) -> Result<(), String> {
    match action {
        KeysAction::Init { passphrase_file } => {
            let mut config = config.clone();
            if passphrase_file.is_some() {
                config.keys_passphrase_file = passphrase_file;
            }
            tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            Ok(())
        }
        KeysAction::Split {
            from,
            intake,
            police,
        } => {
            out!(
                "{}",
                super::ferry::split_keys(config, from, intake, police)?
            );
            Ok(())
        }
        KeysAction::PoliceNode { from, to } => {
            let from = from.unwrap_or_else(|| config.keys_dir.clone());
            tipline::crypto::keyring::Keyring::police_node(
                &from,
                &to,
                config.keys_passphrase_file.as_deref(),
            )
            .map_err(|e| e.to_string())?;
            out!(
                "police keys with a new node key in {}: run `tipline ferry identity` with it,                  then `tipline ferry trust FILE` at a police node and at every intake node",
                to.display()
            );
            Ok(())
        }
        KeysAction::BindRouting => {
            let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let n = tipline::triage::routing::bind_unbound(
                &mut conn,
                &tipline::triage::routing::RouteKey::new(&keys),
                &keys.audit_signer(),
            )
            .map_err(|e| e.to_string())?;
            out!("bound the routing of {n} tips");
            Ok(())
        }
        KeysAction::Rotate { kind, batch } => {
            let (target, _) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let r = tipline::keys::rotate(
                &mut conn,
                &config.keys_dir,
                config.keys_passphrase_file.as_deref(),
                kind.name(),
                batch.max(1),
            )
            .map_err(|e| e.to_string())?;
            let k = kind.name();
            if r.generated {
                out!(
                    "new {k} key {} (the old key {} is kept for opening)",
                    r.new,
                    r.old
                );
            } else {
                out!(
                    "resuming the rotation of the {k} key {} -> {}",
                    r.old,
                    r.new
                );
            }
            out!(
                "re-sealed {} epochs to {}. Restart (or copy {k}.pub to) every other node, then \
                 run `tipline keys retire {k}`.",
                r.resealed,
                r.new
            );
            Ok(())
        }
        KeysAction::Retire { kind } => {
            let (target, _) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let old = tipline::keys::retire(
                &mut conn,
                &config.keys_dir,
                config.keys_passphrase_file.as_deref(),
                kind.name(),
            )
            .map_err(|e| e.to_string())?;
            out!(
                "retired the old {} key {old}: its file is destroyed",
                kind.name()
            );
            Ok(())
        }
        KeysAction::Protect { passphrase_file } => {
            let pass = tipline::crypto::keyring::Passphrase::from_file(&passphrase_file)
                .map_err(|e| e.to_string())?;
            let done = Keyring::protect_dir(&config.keys_dir, &pass).map_err(|e| e.to_string())?;
            for f in &done {
                out!("protected {}", f.display());
            }
            out!(
                "{} files protected. Start the server with TIPLINE_KEYS_PASSPHRASE_FILE={}",
                done.len(),
                passphrase_file.display()
            );
            Ok(())
        }
        KeysAction::ExportPublic => {
            let pass = config
                .keys_passphrase_file
                .as_deref()
                .map(tipline::crypto::keyring::Passphrase::from_file)
                .transpose()
                .map_err(|e| e.to_string())?;
            let ring = Keyring::load_with(&config.keys_dir, pass).map_err(|e| e.to_string())?;
            let mut text = String::new();
            for kind in [
                tipline::crypto::keyring::OFFICE,
                tipline::crypto::keyring::RELAY,
                tipline::crypto::keyring::NODE,
            ] {
                let path = ring.dir.join(format!("{kind}.pub"));
                let file = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                text.push_str(file.trim_end());
                text.push('\n');
            }
            // What `audit verify --verifying-key` takes: auditors need no private key file.
            let audit = serde_json::json!({
                "kind": "audit",
                "verifying_key": hex::encode(ring.audit_verifier().as_bytes()),
            });
            text.push_str(&serde_json::to_string_pretty(&audit).map_err(|e| e.to_string())?);
            text.push('\n');
            out!("{}", text.trim_end());
            Ok(())
        }
    }
}
