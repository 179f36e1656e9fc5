//! Importing a bundle: the sender must be trusted, the signature must verify, the bundle must
//! be the next one of its sender's stream and name the previous one's hash. Then every record
//! is applied in one transaction; any refusal stores nothing.

use super::format::{self, Bundle};
use super::records::{apply, set_stream, stream};
use super::{FerryError, Mode};
use crate::db::DbConn;
use crate::db::schema::ferry_nodes;
use diesel::prelude::*;
use std::path::Path;

/// What importing one bundle did.
#[derive(Debug, PartialEq, Eq)]
pub struct Applied {
    pub node: String,
    pub seq: i64,
    pub records: usize,
}

/// A trusted node's Ed25519 key, if `node` is trusted and of `zone`.
fn trusted_key(
    c: &mut DbConn,
    node: &str,
    zone: &str,
) -> Result<Option<ed25519_dalek::VerifyingKey>, FerryError> {
    let row: Option<Vec<u8>> = ferry_nodes::table
        .filter(ferry_nodes::node_id.eq(node))
        .filter(ferry_nodes::zone.eq(zone))
        .select(ferry_nodes::sign_public)
        .first(c)
        .optional()?;
    Ok(row
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok()))
}

/// Checks and applies one bundle file's contents, named `file` in messages.
pub fn import_bytes(
    c: &mut DbConn,
    mode: Mode,
    file: &str,
    contents: &[u8],
) -> Result<Applied, FerryError> {
    let file = file.to_string();
    let (want_from, me) = match mode {
        Mode::Intake => ("police", "intake"),
        Mode::Police => ("intake", "police"),
        Mode::Single => return Err(FerryError::Apply("a single node has no ferry".into())),
    };
    let bundle: Bundle = format::parse(&file, contents)?;
    let b = &bundle.body;
    if b.to_zone != me || b.from_zone != want_from {
        return Err(FerryError::WrongZone {
            file,
            want: b.to_zone.clone(),
            have: me.into(),
        });
    }
    // Police nodes sharing a database write one stream, each signing with its own key; an
    // intake node's stream is signed by that node alone.
    let signer = match (&b.signer, mode) {
        (None, _) => b.from.as_str(),
        (Some(s), Mode::Intake) => s.as_str(),
        (Some(_), _) => {
            return Err(FerryError::Malformed {
                file,
                why: "an intake node's bundle names another signer".into(),
            });
        }
    };
    let Some(key) = trusted_key(c, signer, want_from)? else {
        return Err(FerryError::Untrusted {
            file,
            node: signer.to_string(),
        });
    };
    if !bundle.verify(&key) {
        return Err(FerryError::Tampered { file });
    }
    let hash = bundle.hash();
    c.transaction::<_, FerryError, _>(|c| {
        crate::audit::lock_head(c).map_err(|e| FerryError::Apply(e.to_string()))?;
        let (last, last_hash) = stream(c, "in", &b.from)?.unwrap_or((0, Vec::new()));
        if b.seq <= last {
            return Err(FerryError::Replay {
                file: file.clone(),
                node: b.from.clone(),
                seq: b.seq,
                last,
            });
        }
        if b.seq > last + 1 {
            return Err(FerryError::Gap {
                file: file.clone(),
                node: b.from.clone(),
                seq: b.seq,
                last,
                next: last + 1,
            });
        }
        let expected_prev = if last == 0 {
            format::GENESIS.to_string()
        } else {
            hex::encode(&last_hash)
        };
        if b.prev != expected_prev {
            return Err(FerryError::Fork {
                file: file.clone(),
                node: b.from.clone(),
                seq: b.seq,
            });
        }
        for r in &b.records {
            apply(c, mode, &b.from, r)?;
        }
        set_stream(
            c,
            "in",
            &b.from,
            b.seq,
            &hex::decode(&hash).unwrap_or_default(),
        )?;
        Ok(Applied {
            node: b.from.clone(),
            seq: b.seq,
            records: b.records.len(),
        })
    })
}

/// Imports one file.
pub fn import_file(c: &mut DbConn, mode: Mode, path: &Path) -> Result<Applied, FerryError> {
    let contents = std::fs::read(path).map_err(|source| FerryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    import_bytes(c, mode, &name, &contents)
}

/// What one pass over the inbox did.
#[derive(Default, Debug)]
pub struct Pass {
    pub applied: Vec<Applied>,
    /// Refused for good (tampered, replayed, forked, untrusted): renamed `*.refused`.
    pub refused: Vec<String>,
    /// Waiting for an earlier bundle (a gap): left in place for the next pass.
    pub waiting: Vec<String>,
}

/// Imports every bundle in `dir`, in order. An applied file is deleted (the database holds
/// it now); a file after a gap stays for the next pass; any other refusal is renamed
/// `NAME.refused` and logged, so one bad file does not block the stream behind it forever.
pub fn import_dir(c: &mut DbConn, mode: Mode, dir: &Path) -> Result<Pass, FerryError> {
    let mut pass = Pass::default();
    // Several rounds: bundles that arrived out of order apply once their predecessor has.
    loop {
        let mut progressed = false;
        pass.waiting.clear();
        for path in format::list(dir)? {
            match import_file(c, mode, &path) {
                Ok(a) => {
                    let _ = std::fs::remove_file(&path);
                    pass.applied.push(a);
                    progressed = true;
                }
                Err(e @ FerryError::Gap { .. }) => pass.waiting.push(e.to_string()),
                Err(e @ (FerryError::Db(_) | FerryError::Io { .. })) => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, "ferry bundle refused");
                    let mut refused = path.clone().into_os_string();
                    refused.push(".refused");
                    let _ = std::fs::rename(&path, refused);
                    pass.refused.push(e.to_string());
                }
            }
        }
        if !progressed {
            return Ok(pass);
        }
    }
}
