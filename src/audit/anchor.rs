//! Anchors of the audit head outside the database (issue 14, item 7). The hash chain proves
//! that no entry was changed, but whoever can write to the database can delete the newest N
//! entries and set `audit_head` back, and the chain still verifies. So every hour (and on
//! demand, `tipline audit anchor`) the head's sequence number and hash are appended to
//! `audit-anchors.log` in `TIPLINE_AUDIT_ANCHOR_DIR`, meant to be another machine's mount, and
//! written to the log (which syslog can carry to another host). `tipline audit verify
//! --anchors FILE` then finds a cut tail: an anchored entry is missing or has another hash.

use crate::db::schema::audit_head;
use crate::db::{DbConn, now_unix};
use diesel::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "audit-anchors.log";
/// How often the server anchors the head.
pub const EVERY_SECONDS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// When the anchor was taken (unix seconds; staff actions only move the head, never a
    /// reporter's, so an exact time reveals nothing about reporters).
    pub at: i64,
    pub seq: i64,
    pub hash: Vec<u8>,
}

impl Anchor {
    pub fn line(&self) -> String {
        format!(
            "tipline-audit-anchor v1 at={} head={}:{}",
            self.at,
            self.seq,
            hex::encode(&self.hash)
        )
    }

    pub fn parse(line: &str) -> Option<Anchor> {
        let rest = line.trim().strip_prefix("tipline-audit-anchor v1 ")?;
        let (at, head) = rest.split_once(' ')?;
        let at = at.strip_prefix("at=")?.parse().ok()?;
        let (seq, hash) = head.strip_prefix("head=")?.split_once(':')?;
        Some(Anchor {
            at,
            seq: seq.parse().ok()?,
            hash: hex::decode(hash).ok().filter(|h| h.len() == 32)?,
        })
    }
}

/// The audit head now.
pub fn current(conn: &mut DbConn) -> QueryResult<Anchor> {
    let (seq, hash): (i64, Vec<u8>) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    Ok(Anchor {
        at: now_unix(),
        seq,
        hash,
    })
}

/// Appends one line to the anchor file in `dir` (created 0600, opened for appending only, and
/// synced before returning) and to the log. Returns the file's path.
pub fn append(dir: &Path, anchor: &Anchor) -> std::io::Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let mut o = std::fs::OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(&path)?;
    f.write_all(format!("{}\n", anchor.line()).as_bytes())?;
    f.sync_all()?;
    tracing::info!(anchor = %anchor.line(), "audit head anchored");
    Ok(path)
}

/// Anchors the head now, into `dir`.
pub fn anchor_now(conn: &mut DbConn, dir: &Path) -> Result<Anchor, String> {
    let a = current(conn).map_err(|e| format!("reading the audit head: {e}"))?;
    append(dir, &a).map_err(|e| format!("{}: {e}", dir.join(FILE_NAME).display()))?;
    Ok(a)
}

/// Every anchor in a file, oldest first; lines that are not anchors are skipped.
pub fn read(path: &Path) -> Result<Vec<Anchor>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let anchors: Vec<Anchor> = text.lines().filter_map(Anchor::parse).collect();
    if anchors.is_empty() {
        return Err(format!("{}: no audit anchor in it", path.display()));
    }
    Ok(anchors)
}

/// What the anchors say about the chain in the database.
#[derive(Debug)]
pub struct Checked {
    pub latest: Anchor,
    /// Entries appended after the latest anchor.
    pub since: i64,
    /// Seconds between the latest anchor and now.
    pub age: i64,
}

/// Compares the chain with every anchor given: each anchored entry must still exist with the
/// anchored hash, and the head must not be behind the latest anchor. Run `audit::verify` first:
/// this checks only what the chain cannot prove on its own.
pub fn check(conn: &mut DbConn, anchors: &[Anchor]) -> Result<Checked, String> {
    let head = current(conn).map_err(|e| e.to_string())?;
    let mut latest: Option<&Anchor> = None;
    for a in anchors {
        // Seq 0 is the empty log, anchored by a server started on a fresh database.
        let stored = match a.seq {
            0 => Some(a.hash.clone()),
            seq => super::hash_at(conn, seq).map_err(|e| e.to_string())?,
        };
        match stored {
            Some(h) if h == a.hash => {}
            Some(_) => {
                return Err(format!(
                    "entry {} no longer has the hash anchored at {}: the log was rewritten from there",
                    a.seq,
                    when(a.at)
                ));
            }
            None => {
                return Err(format!(
                    "entry {} anchored at {} is missing (the head is at {}): the newest entries were cut",
                    a.seq,
                    when(a.at),
                    head.seq
                ));
            }
        }
        if latest.is_none_or(|l| (a.seq, a.at) >= (l.seq, l.at)) {
            latest = Some(a);
        }
    }
    let latest = latest.ok_or("no anchor given")?.clone();
    Ok(Checked {
        since: head.seq - latest.seq,
        age: now_unix() - latest.at,
        latest,
    })
}

/// An anchor's time for people: UTC, to the second.
pub fn when(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_junk_is_skipped() {
        let a = Anchor {
            at: 1_764_000_000,
            seq: 42,
            hash: vec![7; 32],
        };
        assert_eq!(Anchor::parse(&a.line()), Some(a.clone()));
        assert_eq!(
            Anchor::parse("tipline-audit-anchor v1 at=1 head=2:abcd"),
            None
        );
        assert_eq!(Anchor::parse("hello"), None);
    }
}
