//! `tipline keys ...` and `tipline index ...`: the keys dir, rotation, routing and the blind index.

use clap::Subcommand;

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
