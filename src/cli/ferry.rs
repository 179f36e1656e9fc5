//! `tipline ferry ...` (split zones, issue 18): export and import bundles by hand or from a
//! timer, print this node's identity, trust a node of the other zone, show the streams; and
//! `tipline keys split`.

use clap::Subcommand;
use diesel::prelude::*;
use std::path::PathBuf;
use tipline::config::Config;
use tipline::crypto::keyring::{Keyring, NodePublic};
use tipline::db::schema::ferry_nodes;
use tipline::ferry::{FerryError, Mode, export, import};

#[derive(Subcommand)]
pub(crate) enum FerryAction {
    /// Write the next bundle for the other zone into TIPLINE_FERRY_OUTBOX (or --out).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write bundle SEQ of this node's stream again, the same bytes (a bundle lost on the
        /// way), from the copy kept in TIPLINE_FERRY_SENT.
        #[arg(long, value_name = "SEQ")]
        again: Option<i64>,
    },
    /// Import bundles: the files named, or every bundle in TIPLINE_FERRY_INBOX. Exit status 1
    /// when any was refused.
    Import { files: Vec<PathBuf> },
    /// Print this node's public identity (JSON) for the other zone's `ferry trust`.
    Identity,
    /// Trust a node of the other zone: its identity file, from `ferry identity` there. An
    /// intake node trusted by the police node is accepted as the sender of sealed tips too
    /// (restart the police node after trusting a new intake node).
    Trust { file: PathBuf },
    /// The ferry's state: streams, what waits, the oldest unacknowledged tip.
    Status,
}

fn mode_of(config: &Config) -> Result<Mode, String> {
    match config.split.mode {
        Mode::Single => {
            Err("TIPLINE_MODE is single: the ferry runs between an intake and a police node".into())
        }
        m => Ok(m),
    }
}

/// Runs a ferry command; the text to print, or the error.
pub(crate) fn run(config: &Config, action: FerryAction) -> Result<String, String> {
    let err = |e: tipline::server::StartError| e.to_string();
    match action {
        FerryAction::Identity => {
            let pass = config
                .keys_passphrase_file
                .as_deref()
                .map(tipline::crypto::keyring::Passphrase::from_file)
                .transpose()
                .map_err(|e| e.to_string())?;
            let keys = Keyring::load_with(&config.keys_dir, pass).map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&keys.node_public()).map_err(|e| e.to_string())
        }
        FerryAction::Trust { file } => {
            let mode = mode_of(config)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let node: NodePublic = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a node identity: {e}", file.display()))?;
            let want = if mode == Mode::Intake {
                "police"
            } else {
                "intake"
            };
            // A police node also accepts another police node sharing its database: its own
            // node key, recorded here, is what the key check and every opener accept.
            if node.zone != want && !(mode == Mode::Police && node.zone == "police") {
                return Err(format!(
                    "{} is the identity of a {} node; a {} node trusts only {want} nodes",
                    file.display(),
                    node.zone,
                    mode.as_str()
                ));
            }
            let kem = hex::decode(&node.kem_public).map_err(|e| e.to_string())?;
            let sign = hex::decode(&node.sign_public).map_err(|e| e.to_string())?;
            tipline::crypto::seal::kem_public_from_bytes(&kem)
                .map_err(|_| "the node's HPKE public key is malformed".to_string())?;
            <[u8; 32]>::try_from(sign.as_slice())
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .ok_or("the node's Ed25519 public key is malformed")?;
            let (target, keys) = tipline::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            c.transaction::<_, diesel::result::Error, _>(|c| {
                diesel::delete(ferry_nodes::table.filter(ferry_nodes::node_id.eq(&node.node_id)))
                    .execute(c)?;
                diesel::insert_into(ferry_nodes::table)
                    .values((
                        ferry_nodes::node_id.eq(&node.node_id),
                        ferry_nodes::zone.eq(&node.zone),
                        ferry_nodes::kem_public.eq(&kem),
                        ferry_nodes::sign_public.eq(&sign),
                    ))
                    .execute(c)?;
                tipline::audit::append(
                    c,
                    &keys.audit_signer(),
                    &tipline::audit::Entry {
                        actor: "cli",
                        action: "ferry.trust",
                        object: &format!("node:{}", node.node_id),
                        outcome: tipline::audit::Outcome::Ok,
                    },
                )?;
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            Ok(format!("trusted {} node {}", node.zone, node.node_id))
        }
        FerryAction::Export { out, again } => {
            let mode = mode_of(config)?;
            let dir = out
                .or_else(|| config.split.outbox.clone())
                .ok_or(FerryError::NoDir("TIPLINE_FERRY_OUTBOX (or --out)").to_string())?;
            let sent = config.ferry_sent_dir();
            if let Some(seq) = again {
                let p = export::again(&sent, &dir, seq).map_err(|e| e.to_string())?;
                return Ok(format!("wrote {} again", p.display()));
            }
            let (target, keys) = tipline::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            let written = export::export(&mut c, mode, &keys, &dir).map_err(|e| e.to_string())?;
            if let Some(p) = &written {
                export::keep_copy(&sent, p).map_err(|e| e.to_string())?;
            }
            export::prune_sent(&mut c, mode, &sent, config.split.keep_days)
                .map_err(|e| e.to_string())?;
            match written {
                Some(p) => Ok(format!("wrote {}", p.display())),
                None => Ok("nothing to send".into()),
            }
        }
        FerryAction::Import { files } => {
            let mode = mode_of(config)?;
            let (target, _) = tipline::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            if files.is_empty() {
                let dir = config
                    .split
                    .inbox
                    .clone()
                    .ok_or(FerryError::NoDir("TIPLINE_FERRY_INBOX").to_string())?;
                let pass = import::import_dir(&mut c, mode, &dir).map_err(|e| e.to_string())?;
                let mut lines: Vec<String> = pass
                    .applied
                    .iter()
                    .map(|a| {
                        format!(
                            "applied bundle {} from {} ({} records)",
                            a.seq, a.node, a.records
                        )
                    })
                    .collect();
                lines.extend(pass.waiting.iter().map(|w| format!("waiting: {w}")));
                if !pass.refused.is_empty() {
                    lines.extend(pass.refused.iter().map(|r| format!("refused: {r}")));
                    return Err(lines.join("\n"));
                }
                if lines.is_empty() {
                    lines.push("nothing to import".into());
                }
                return Ok(lines.join("\n"));
            }
            let mut lines = Vec::new();
            let mut failed = false;
            for f in files {
                match import::import_file(&mut c, mode, &f) {
                    Ok(a) => lines.push(format!(
                        "applied bundle {} from {} ({} records)",
                        a.seq, a.node, a.records
                    )),
                    Err(e) => {
                        failed = true;
                        lines.push(format!("refused: {e}"));
                    }
                }
            }
            if failed {
                Err(lines.join("\n"))
            } else {
                Ok(lines.join("\n"))
            }
        }
        FerryAction::Status => {
            mode_of(config)?;
            let (target, _) = tipline::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            let s = tipline::ferry::pass::status(&mut c, config).map_err(|e| e.to_string())?;
            Ok(s.render())
        }
    }
}

/// `tipline keys split`: a complete keys dir into an intake dir and a police dir.
pub(crate) fn split_keys(
    config: &Config,
    src: Option<PathBuf>,
    intake: PathBuf,
    police: PathBuf,
) -> Result<String, String> {
    let src = src.unwrap_or_else(|| config.keys_dir.clone());
    Keyring::split(
        &src,
        &intake,
        &police,
        config.keys_passphrase_file.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "intake keys in {} (office.pub, relay keypair, a new node key, peppers.intake.key)\n\
         police keys in {} (office.key, a new relay keypair for staff notices, the edge's \
         relay.pub as reporter-relay.pub, the node key, peppers.police.key)\n\
         Move each dir to its zone; keep {} offline as the backup of both.",
        intake.display(),
        police.display(),
        src.display()
    ))
}
