//! `tipline audit ...`: the audit log.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum AuditAction {
    /// Check every entry's hash chain and signature; exit non-zero naming the first bad entry.
    Verify {
        /// SEQ:HASH from a monthly report mail (or any copy kept outside the database): the
        /// entry SEQ must still have that hash. Repeatable.
        #[arg(long)]
        anchor: Vec<String>,
        /// Check the signatures with this Ed25519 public key (hex, from `keys export-public`)
        /// instead of the keys dir: an auditor needs only a copy of the database and this key.
        #[arg(long)]
        verifying_key: Option<String>,
        /// An anchor file (`audit-anchors.log` from TIPLINE_AUDIT_ANCHOR_DIR, as kept on
        /// another machine): every anchored entry must still be there with its hash, which
        /// finds a cut tail; says how fresh the latest anchor is.
        #[arg(long)]
        anchors: Option<std::path::PathBuf>,
    },
    /// Append the audit head to the anchor file in TIPLINE_AUDIT_ANCHOR_DIR now (the server
    /// does it every hour).
    Anchor,
}
