//! Split zones (issue 18, DESIGN.md section 5): an intake node on the internet that cannot
//! read a tip, a police node on the intranet, and the ferry of signed, numbered bundle files
//! between them that a gap device (网闸) or an operator moves.
//!
//! - [`format`]: the bundle file (body line, signature line), signing, verifying, atomic writes.
//! - [`records`]: what crosses, as rows, and how each record is applied.
//! - [`export`]: the next bundle from what this node has not sent yet.
//! - [`import`]: checks (signature, sender, sequence, previous hash) and one transaction.
//! - [`cli`]: `tipline ferry ...` and the pass `serve` runs.

pub mod cli;
pub mod export;
pub mod format;
pub mod import;
pub mod records;

use crate::config::ConfigError;
use std::path::PathBuf;

/// Which routes a node serves (`TIPLINE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything on one node (today's deployment; the default).
    #[default]
    Single,
    /// Internet side: public form, API, SMS webhook, mail intake, status, messages, rekey.
    Intake,
    /// Intranet side: staff pages and the staff API.
    Police,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Intake => "intake",
            Mode::Police => "police",
        }
    }
}

/// Split-zone settings.
#[derive(Debug, Clone, Default)]
pub struct SplitConfig {
    pub mode: Mode,
    /// Where this node writes bundles for the other zone (`TIPLINE_FERRY_OUTBOX`).
    pub outbox: Option<PathBuf>,
    /// Where bundles from the other zone arrive (`TIPLINE_FERRY_INBOX`).
    pub inbox: Option<PathBuf>,
    /// Seconds between the ferry passes of `serve` (`TIPLINE_FERRY_SECONDS`, 60; 0: off, for
    /// a timer running `tipline ferry export` / `import`).
    pub every_seconds: u64,
    /// Without a return channel (`TIPLINE_FERRY_ONE_WAY=on`), the intake node deletes a tip's
    /// sealed content this many days after sending it (`TIPLINE_FERRY_KEEP_DAYS`, 30).
    pub keep_days: i64,
    pub one_way: bool,
}

impl SplitConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        use crate::config::env;
        let mode = match env("TIPLINE_MODE").as_deref() {
            None | Some("single") => Mode::Single,
            Some("intake") => Mode::Intake,
            Some("police") => Mode::Police,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "TIPLINE_MODE",
                    why: "expected single, intake or police".into(),
                });
            }
        };
        let num = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            env(name)
                .map(|v| crate::config::parse_usize(name, &v))
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        let one_way = match env("TIPLINE_FERRY_ONE_WAY").as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "TIPLINE_FERRY_ONE_WAY",
                    why: "expected on or off".into(),
                });
            }
        };
        Ok(Self {
            mode,
            outbox: env("TIPLINE_FERRY_OUTBOX").map(PathBuf::from),
            inbox: env("TIPLINE_FERRY_INBOX").map(PathBuf::from),
            every_seconds: num("TIPLINE_FERRY_SECONDS", 60)? as u64,
            keep_days: num("TIPLINE_FERRY_KEEP_DAYS", 30)?.clamp(1, 3650) as i64,
            one_way,
        })
    }
}

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
