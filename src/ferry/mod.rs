//! Split zones (issue 18, DESIGN.md section 5): an intake node on the internet that cannot
//! read a tip, a police node on the intranet, and the ferry of signed, numbered bundle files
//! between them that a gap device (网闸) or an operator moves.
//!
//! - [`format`]: the bundle file (body line, signature line), signing, verifying, atomic writes.
//! - [`records`]: what crosses, as rows, and how each record is applied.
//! - [`export`]: the next bundle from what this node has not sent yet.
//! - [`import`]: checks (signature, sender, sequence, previous hash) and one transaction.
//! - [`pass`]: the pass `serve` runs, the one-way clean-up and the gauges (the commands are
//!   in the binary's `cli/ferry.rs`).

pub mod export;
pub mod format;
pub mod hex;
pub mod import;
pub mod pass;
pub mod records;

pub use crate::config::{Mode, SplitConfig};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FerryError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not a tipline bundle ({why}); nothing stored")]
    Malformed { file: String, why: String },
    #[error(
        "{file}: sent by node {node}, which this node does not trust; record its identity with \
         `tipline ferry trust FILE` first. Nothing stored"
    )]
    Untrusted { file: String, node: String },
    #[error(
        "{file}: the signature does not match (tampered or damaged in transit); nothing stored"
    )]
    Tampered { file: String },
    #[error(
        "{file}: bundle {seq} from node {node} was already applied (last applied: {last}); a \
         replay, nothing stored"
    )]
    Replay {
        file: String,
        node: String,
        seq: i64,
        last: i64,
    },
    #[error(
        "{file}: bundle {seq} from node {node} comes after a gap (last applied: {last}); apply \
         bundle {next} first. Nothing stored"
    )]
    Gap {
        file: String,
        node: String,
        seq: i64,
        last: i64,
        next: i64,
    },
    #[error(
        "{file}: bundle {seq} from node {node} does not follow the bundle applied before it \
         (previous hash differs): a fork or a forged bundle. Nothing stored"
    )]
    Fork {
        file: String,
        node: String,
        seq: i64,
    },
    #[error("{file}: bundle for the {want} zone, but this node is {have}; nothing stored")]
    WrongZone {
        file: String,
        want: String,
        have: String,
    },
    #[error("{0}")]
    Apply(String),
    #[error("no ferry directory: set {0}")]
    NoDir(&'static str),
}

impl From<diesel::result::Error> for FerryError {
    fn from(e: diesel::result::Error) -> Self {
        FerryError::Db(crate::db::DbError::from(e))
    }
}
