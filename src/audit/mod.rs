//! The tamper-evident audit log (DESIGN.md section 2). Each entry carries the previous entry's
//! hash and is signed with the node's Ed25519 key, which lives in the keys dir, not the
//! database. Appending locks the single head row, so entries are strictly ordered on every
//! backend and are written in the same transaction as the change they record.

pub mod anchor;

use crate::crypto::sha256;
use crate::db::schema::{audit_head, audit_log, audit_pending};
use crate::db::{DbConn, now_unix};
use diesel::prelude::*;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused by the access rules.
    Denied,
    /// Refused for another reason (invalid transition, wrong code...).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Actor, action, object: never tip content. Objects are ids like `tip:abc` or `staff:u1`.
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub outcome: Outcome,
}

fn canonical(
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    object: &str,
    outcome: &str,
    prev: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"tipline-audit-v1");
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    for part in [
        actor.as_bytes(),
        action.as_bytes(),
        object.as_bytes(),
        outcome.as_bytes(),
        prev,
    ] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Takes the audit head's row lock. Every staff write transaction calls this first, so on
/// SQLite the transaction holds the write lock from its first statement (no upgrade race), and
/// on every backend audit entries come out in commit order.
pub fn lock_head(conn: &mut DbConn) -> QueryResult<()> {
    diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
        .set(audit_head::seq.eq(audit_head::seq))
        .execute(conn)
        .map(|_| ())
}

/// The same lock for a transaction that writes no audit entry but reads before it writes
/// (rekeys, reporters' messages, mail ingest), where only SQLite needs it: a deferred
/// transaction that upgrades after reading fails at once with "database is locked" when another
/// writer committed since its read (the busy timeout does not apply to a stale snapshot).
/// PostgreSQL's row locks need nothing, and public writes should not queue behind staff ones.
pub fn lock_head_on_sqlite(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => lock_head(conn),
        DbConn::Pg(_) => Ok(()),
    }
}

/// The stored hash of entry `seq`, to compare with an anchor kept outside the database.
pub fn hash_at(conn: &mut DbConn, seq: i64) -> QueryResult<Option<Vec<u8>>> {
    audit_log::table
        .filter(audit_log::seq.eq(seq))
        .select(audit_log::hash)
        .first(conn)
        .optional()
}

/// Appends one entry. Call inside the transaction of the change it records.
pub fn append(conn: &mut DbConn, signer: &SigningKey, e: &Entry) -> QueryResult<i64> {
    append_at(conn, signer, e, now_unix())
}

/// Appends one entry stamped `at`.
fn append_at(conn: &mut DbConn, signer: &SigningKey, e: &Entry, at: i64) -> QueryResult<i64> {
    // Objects come from ids in requests: bounded so a hostile id cannot outgrow the index, and
    // free of NUL, which PostgreSQL text refuses.
    let object: String = e
        .object
        .chars()
        .take(200)
        .map(|c| if c == '\0' { '\u{fffd}' } else { c })
        .collect();
    let e = &Entry {
        actor: e.actor,
        action: e.action,
        object: &object,
        outcome: e.outcome,
    };
    lock_head(conn)?;
    let (seq, prev): (i64, Vec<u8>) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let seq = seq + 1;
    let hash = sha256(&canonical(
        seq,
        at,
        e.actor,
        e.action,
        e.object,
        e.outcome.as_str(),
        &prev,
    ));
    let signature = signer.sign(&hash).to_bytes().to_vec();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(seq),
            audit_log::at.eq(at),
            audit_log::actor.eq(e.actor),
            audit_log::action.eq(e.action),
            audit_log::object.eq(e.object),
            audit_log::outcome.eq(e.outcome.as_str()),
            audit_log::prev_hash.eq(&prev),
            audit_log::hash.eq(&hash[..]),
            audit_log::signature.eq(&signature),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
        .set((audit_head::seq.eq(seq), audit_head::hash.eq(&hash[..])))
        .execute(conn)?;
    Ok(seq)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("audit entry {seq}: {why}")]
    Bad { seq: i64, why: &'static str },
    #[error(
        "the audit head (seq {head}) does not match the last entry (seq {last}): entries were removed or added"
    )]
    Head { head: i64, last: i64 },
    #[error("database error: {0}")]
    Db(String),
}

pub struct Verified {
    pub entries: i64,
    pub head_hash: Vec<u8>,
}

pub type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);

/// Checks every entry in order: contiguous sequence numbers, each entry's hash over its fields
/// and the previous hash, each signature by one of `keys`, and the head row.
pub fn verify(conn: &mut DbConn, keys: &[VerifyingKey]) -> Result<Verified, VerifyError> {
    let db = |e: diesel::result::Error| VerifyError::Db(e.to_string());
    let mut expected_seq = 1i64;
    let mut prev = vec![0u8; 32];
    loop {
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq)
            .limit(5_000)
            .load(conn)
            .map_err(db)?;
        if batch.is_empty() {
            break;
        }
        for (seq, at, actor, action, object, outcome, prev_hash, hash, sig) in batch {
            let bad = |why| {
                Err(VerifyError::Bad {
                    seq: expected_seq.min(seq),
                    why,
                })
            };
            if seq != expected_seq {
                return bad("missing entry before this one (sequence gap)");
            }
            if prev_hash != prev {
                return bad("does not chain to the previous entry");
            }
            let computed = sha256(&canonical(
                seq, at, &actor, &action, &object, &outcome, &prev_hash,
            ));
            if computed[..] != hash[..] {
                return bad("its fields were changed (hash mismatch)");
            }
            let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()).map(|b| Signature::from_bytes(&b))
            else {
                return bad("malformed signature");
            };
            if !keys.iter().any(|k| k.verify_strict(&hash, &sig).is_ok()) {
                return bad("signature does not verify with the node key (forged)");
            }
            prev = hash;
            expected_seq += 1;
        }
    }
    let (head_seq, head_hash): (i64, Vec<u8>) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)
        .map_err(db)?;
    let last = expected_seq - 1;
    if head_seq != last || head_hash != prev {
        return Err(VerifyError::Head {
            head: head_seq,
            last,
        });
    }
    Ok(Verified {
        entries: last,
        head_hash: prev,
    })
}

fn pending_canonical(id: &str, hour: i64, e: &Entry) -> Vec<u8> {
    let mut out = b"tipline-audit-pending-v1".to_vec();
    out.extend_from_slice(&hour.to_be_bytes());
    for part in [id, e.actor, e.action, e.object, e.outcome.as_str()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// Records the entry for a change a reporter is present for (a payout at the counter), inside
/// that change's transaction, without its time: appended now, its `at` and its place in the
/// chain would time the reporter's visit to the second (issue 13). It waits, signed, in
/// `audit_pending` (random key, the hour only) until the hour is over, when
/// [`flush_deferred`] chains it with the hour as `at`, among the hour's other deferred entries
/// in random order.
pub fn defer(conn: &mut DbConn, signer: &SigningKey, e: &Entry) -> QueryResult<()> {
    let id = crate::crypto::random_bytes::<16>()
        .map(hex::encode)
        .map_err(|_| diesel::result::Error::RollbackTransaction)?;
    let hour = crate::db::this_hour();
    let object: String = e.object.chars().take(200).collect();
    let e = Entry {
        object: &object,
        ..*e
    };
    let signature = signer
        .sign(&sha256(&pending_canonical(&id, hour, &e)))
        .to_bytes()
        .to_vec();
    diesel::insert_into(audit_pending::table)
        .values((
            audit_pending::id.eq(&id),
            audit_pending::hour.eq(hour),
            audit_pending::actor.eq(e.actor),
            audit_pending::action.eq(e.action),
            audit_pending::object.eq(e.object),
            audit_pending::outcome.eq(e.outcome.as_str()),
            audit_pending::signature.eq(&signature),
        ))
        .execute(conn)?;
    Ok(())
}

/// id, hour, actor, action, object, outcome, signature.
type PendingRow = (String, i64, String, String, String, String, Vec<u8>);

fn outcome_of(s: &str) -> Outcome {
    match s {
        "ok" => Outcome::Ok,
        "denied" => Outcome::Denied,
        _ => Outcome::Failed,
    }
}

/// Chains the deferred entries of hours that are over, each with its hour as `at`, in the
/// order of their random keys (a shuffle). A pending row whose signature fails (written or
/// changed in the database) is chained as `audit.pending_forged` instead. Returns how many.
pub fn flush_deferred(conn: &mut DbConn, signer: &SigningKey, now: i64) -> QueryResult<usize> {
    let hour = crate::db::hour_floor(now);
    // Most passes find nothing: no transaction, no lock, for that.
    let any: Option<String> = audit_pending::table
        .filter(audit_pending::hour.lt(hour))
        .select(audit_pending::id)
        .first(conn)
        .optional()?;
    if any.is_none() {
        return Ok(0);
    }
    let verifier = signer.verifying_key();
    conn.transaction(|c| {
        lock_head(c)?;
        let rows: Vec<PendingRow> = audit_pending::table
            .filter(audit_pending::hour.lt(hour))
            .order(audit_pending::id)
            .select((
                audit_pending::id,
                audit_pending::hour,
                audit_pending::actor,
                audit_pending::action,
                audit_pending::object,
                audit_pending::outcome,
                audit_pending::signature,
            ))
            .load(c)?;
        for (id, at, actor, action, object, outcome, sig) in &rows {
            let e = Entry {
                actor,
                action,
                object,
                outcome: outcome_of(outcome),
            };
            let genuine = outcome_of(outcome).as_str() == outcome
                && <[u8; 64]>::try_from(sig.as_slice())
                    .map(|b| Signature::from_bytes(&b))
                    .is_ok_and(|s| {
                        verifier
                            .verify_strict(&sha256(&pending_canonical(id, *at, &e)), &s)
                            .is_ok()
                    });
            let forged = Entry {
                actor: "system",
                action: "audit.pending_forged",
                object: &format!("pending:{id}"),
                outcome: Outcome::Failed,
            };
            append_at(c, signer, if genuine { &e } else { &forged }, *at)?;
            diesel::delete(audit_pending::table.filter(audit_pending::id.eq(id))).execute(c)?;
        }
        Ok(rows.len())
    })
}

/// Appends one entry in its own transaction: for refusals and reads that change nothing else.
pub fn record(conn: &mut DbConn, signer: &SigningKey, e: &Entry) -> QueryResult<i64> {
    conn.transaction(|c| append(c, signer, e))
}

/// What the auditor's list shows of an entry: no hashes, no signatures.
pub type ListedEntry = (i64, i64, String, String, String, String);

#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub actor: Option<String>,
    /// A prefix: `tip.` lists every tip action.
    pub action: Option<String>,
    pub object: Option<String>,
    /// Entries before this sequence number (pagination, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// Lists entries newest first, and records that the auditor looked.
pub fn list(
    conn: &mut DbConn,
    signer: &SigningKey,
    viewer: &str,
    f: &ListFilter,
) -> QueryResult<Vec<ListedEntry>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(x) = f.actor.clone().filter(|x| !x.is_empty()) {
        q = q.filter(audit_log::actor.eq(x));
    }
    if let Some(x) = f.action.clone().filter(|x| !x.is_empty()) {
        q = q.filter(audit_log::action.like(format!("{x}%")));
    }
    if let Some(x) = f.object.clone().filter(|x| !x.is_empty()) {
        q = q.filter(audit_log::object.eq(x));
    }
    if let Some(b) = f.before {
        q = q.filter(audit_log::seq.lt(b));
    }
    let rows = q
        .order(audit_log::seq.desc())
        .limit(f.limit.clamp(1, 1000))
        .select((
            audit_log::seq,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::object,
            audit_log::outcome,
        ))
        .load(conn)?;
    record(
        conn,
        signer,
        &Entry {
            actor: viewer,
            action: "audit.list",
            object: "audit",
            outcome: Outcome::Ok,
        },
    )?;
    Ok(rows)
}
