//! The next bundle: what this node has not sent yet, signed, numbered, written atomically.

use super::format::{self, Body};
use super::records::{
    AttachmentRow, ChunkRow, KeyRow, MessageRow, Record, TipRow, mark, receipt_version, set_stream,
    stream,
};
use super::{FerryError, Mode};
use crate::crypto::keyring::Keyring;
use crate::db::DbConn;
use crate::db::schema::{
    attachment_chunks, attachments, ferry_sent, ferry_streams, messages, sealed_keys, tips,
};
use diesel::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Tips per bundle (attachments make them large); the rest go in the next one.
pub const MAX_TIPS: usize = 50;

fn sent(c: &mut DbConn, kind: &str) -> QueryResult<HashMap<String, String>> {
    Ok(ferry_sent::table
        .filter(ferry_sent::kind.eq(kind))
        .select((ferry_sent::object_id, ferry_sent::version))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect())
}

/// Key rows of `kind`/`id` wrapped under an epoch, plus those epochs' own rows.
fn epoch_keys(c: &mut DbConn, kind: &str, id: &str, out: &mut Vec<KeyRow>) -> QueryResult<()> {
    let deks: Vec<KeyRow> = sealed_keys::table
        .filter(sealed_keys::object_kind.eq(kind))
        .filter(sealed_keys::object_id.eq(id))
        .filter(sealed_keys::recipient_key_id.like("epoch:%"))
        .select(KeyRow::as_select())
        .load(c)?;
    for d in deks {
        let epoch = d.recipient_key_id.trim_start_matches("epoch:").to_string();
        let rows: Vec<KeyRow> = sealed_keys::table
            .filter(sealed_keys::object_kind.eq("epoch"))
            .filter(sealed_keys::object_id.eq(&epoch))
            .select(KeyRow::as_select())
            .load(c)?;
        for r in rows {
            if !out.iter().any(|o| {
                o.object_kind == r.object_kind
                    && o.object_id == r.object_id
                    && o.recipient_key_id == r.recipient_key_id
            }) {
                out.push(r);
            }
        }
        out.push(d);
    }
    Ok(())
}

/// Intake to police: new tips, reporters' messages, rekeys.
fn intake_records(c: &mut DbConn, seq: i64) -> QueryResult<Vec<Record>> {
    let mut out = Vec::new();
    let known = sent(c, "tip")?;
    let all: Vec<(String, Vec<u8>, Vec<u8>)> = tips::table
        .select((tips::id, tips::receipt_hash, tips::reply_pubkey))
        .order(tips::id)
        .load(c)?;
    let mut new_tips = 0;
    for (id, receipt_hash, reply_pubkey) in all {
        let version = receipt_version(&receipt_hash, &reply_pubkey);
        match known.get(&id) {
            Some(v) if *v == version => {}
            Some(_) => {
                out.push(Record::Rekey {
                    tip_id: id.clone(),
                    receipt_hash,
                    reply_pubkey,
                });
                // The seq of the tip itself stays (acknowledgements refer to it).
                let old_seq: i64 = ferry_sent::table
                    .filter(ferry_sent::kind.eq("tip"))
                    .filter(ferry_sent::object_id.eq(&id))
                    .select(ferry_sent::seq)
                    .first(c)?;
                mark(c, "tip", &id, &version, old_seq)?;
            }
            None if new_tips < MAX_TIPS => {
                new_tips += 1;
                let mut tip: TipRow = tips::table
                    .filter(tips::id.eq(&id))
                    .select(TipRow::as_select())
                    .first(c)?;
                // The contact envelope stays at the edge (the intake node answers by SMS/mail);
                // the police zone learns only that there is one (an empty marker), so a reply
                // becomes an outgoing job sealed to the relay key.
                tip.contact = tip.contact.map(|_| Vec::new());
                tip.contact_alias = None;
                tip.contact_purge_at = None;
                let mut keys = Vec::new();
                epoch_keys(c, "tip", &id, &mut keys)?;
                let files: Vec<AttachmentRow> = attachments::table
                    .filter(attachments::tip_id.eq(&id))
                    .select(AttachmentRow::as_select())
                    .load(c)?;
                let mut chunks = Vec::new();
                for a in &files {
                    epoch_keys(c, "attachment", &a.id, &mut keys)?;
                    chunks.extend(
                        attachment_chunks::table
                            .filter(attachment_chunks::attachment_id.eq(&a.id))
                            .select(ChunkRow::as_select())
                            .load::<ChunkRow>(c)?,
                    );
                }
                out.push(Record::Tip {
                    tip: Box::new(tip),
                    keys,
                    attachments: files,
                    chunks,
                });
                mark(c, "tip", &id, &version, seq)?;
            }
            None => {}
        }
    }
    let known = sent(c, "message")?;
    let reporter: Vec<MessageRow> = messages::table
        .filter(messages::direction.eq("reporter"))
        .select(MessageRow::as_select())
        .order(messages::id)
        .load(c)?;
    let known_tips = sent(c, "tip")?;
    for mut m in reporter {
        // A message waits for its tip (the tip goes first, in this bundle or an earlier one).
        if known.contains_key(&m.id) || !known_tips.contains_key(&m.tip_id) {
            continue;
        }
        let mut keys = Vec::new();
        epoch_keys(c, "message", &m.id, &mut keys)?;
        keys.extend(
            sealed_keys::table
                .filter(sealed_keys::object_kind.eq("message"))
                .filter(sealed_keys::object_id.eq(&m.id))
                .filter(sealed_keys::recipient_key_id.like("reply:%"))
                .select(KeyRow::as_select())
                .load::<KeyRow>(c)?,
        );
        mark(c, "message", &m.id, "", seq)?;
        m.author = None;
        out.push(Record::Message { message: m, keys });
    }
    Ok(out)
}

/// The status a reporter may learn, as a status intake's status page maps to the same words.
fn coarse(status: &str) -> &'static str {
    match crate::intake::store::public_status(status) {
        "in_progress" => "assigned",
        "received" => "received",
        "verified" => "verified",
        _ => "closed",
    }
}

/// Police to intake: acknowledgements, receipts of tips entered here, statuses, police
/// messages, deletions.
fn police_records(c: &mut DbConn, _seq: i64) -> QueryResult<Vec<Record>> {
    // The police side never needs to know which bundle carried what (nothing acknowledges
    // its bundles), so it keeps no bundle numbers: they would order what happened (issue 13).
    let seq = 0;
    let mut out = Vec::new();
    let acks = sent(c, "ack")?;
    let applied: Vec<(String, i64)> = ferry_streams::table
        .filter(ferry_streams::direction.eq("in"))
        .select((ferry_streams::node_id, ferry_streams::seq))
        .load(c)?;
    for (node, last) in applied {
        if acks.get(&node).and_then(|v| v.parse::<i64>().ok()) != Some(last) {
            out.push(Record::Ack {
                node: node.clone(),
                seq: last,
            });
            mark(c, "ack", &node, &last.to_string(), seq)?;
        }
    }
    let received = sent(c, "received")?;
    let stubs = sent(c, "stub")?;
    let statuses = sent(c, "status")?;
    let all: Vec<(String, String, i64)> = tips::table
        .select((tips::id, tips::status, tips::updated_at))
        .order(tips::id)
        .load(c)?;
    let mut here = std::collections::HashSet::new();
    for (id, status, updated) in all {
        here.insert(id.clone());
        let hour = crate::db::hour_floor(updated);
        let status = coarse(&status);
        if !received.contains_key(&id) && !stubs.contains_key(&id) {
            let mut tip: TipRow = tips::table
                .filter(tips::id.eq(&id))
                .select(TipRow::as_select())
                .first(c)?;
            tip.payload = Vec::new();
            tip.contact = None;
            tip.contact_alias = None;
            tip.contact_purge_at = None;
            tip.entered_by = None;
            tip.assigned_to = None;
            tip.tags = String::new();
            tip.duplicate_of = None;
            tip.status = status.to_string();
            tip.updated_at = hour;
            tip.created_hour = crate::db::hour_floor(tip.created_hour);
            out.push(Record::Receipt { tip: Box::new(tip) });
            mark(c, "stub", &id, "", seq)?;
            mark(c, "status", &id, &format!("{status}@{hour}"), seq)?;
            continue;
        }
        let version = format!("{status}@{hour}");
        if statuses.get(&id) != Some(&version) {
            out.push(Record::Status {
                tip_id: id.clone(),
                status: status.to_string(),
                hour,
            });
            mark(c, "status", &id, &version, seq)?;
        }
    }
    let known = sent(c, "message")?;
    let police: Vec<MessageRow> = messages::table
        .filter(messages::direction.eq("police"))
        .select(MessageRow::as_select())
        .order(messages::id)
        .load(c)?;
    for mut m in police {
        if known.contains_key(&m.id) {
            continue;
        }
        // Only the row sealed to the reporter's reply key: intake never gets the office's copy.
        let keys: Vec<KeyRow> = sealed_keys::table
            .filter(sealed_keys::object_kind.eq("message"))
            .filter(sealed_keys::object_id.eq(&m.id))
            .filter(sealed_keys::recipient_key_id.like("reply:%"))
            .select(KeyRow::as_select())
            .load(c)?;
        mark(c, "message", &m.id, "", seq)?;
        m.author = None;
        out.push(Record::Message { message: m, keys });
    }
    // Outgoing SMS and mail to reporters: sealed to the relay key, they move (not copy) to
    // the intake node, whose worker holds the contact envelope and the relay key.
    {
        use crate::db::schema::outbox;
        let jobs: Vec<(String, Vec<u8>)> = outbox::table
            .filter(outbox::kind.eq("reporter"))
            .select((outbox::id, outbox::payload))
            .order(outbox::id)
            .load(c)?;
        for (id, payload) in jobs {
            let mut keys = Vec::new();
            epoch_keys(c, "outbox", &id, &mut keys)?;
            diesel::delete(outbox::table.filter(outbox::id.eq(&id))).execute(c)?;
            diesel::delete(
                sealed_keys::table
                    .filter(sealed_keys::object_kind.eq("outbox"))
                    .filter(sealed_keys::object_id.eq(&id)),
            )
            .execute(c)?;
            out.push(Record::Job { id, payload, keys });
        }
    }
    // Decided rewards (never those still being approved).
    {
        use crate::db::schema::rewards;
        let known = sent(c, "reward")?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let rows: Vec<Row> = rewards::table
            .filter(rewards::status.ne("approving"))
            .select((
                rewards::id,
                rewards::public_ref,
                rewards::tip_id,
                rewards::unit_code,
                rewards::status,
                rewards::amount_fen,
                rewards::proposed_at,
                rewards::claim_by,
                rewards::claim_sealed,
                rewards::reject_reason,
            ))
            .order(rewards::id)
            .load(c)?;
        for (
            id,
            public_ref,
            tip_id,
            unit_code,
            status,
            amount_fen,
            at,
            claim_by,
            claim_sealed,
            reject_reason,
        ) in rows
        {
            let version = hex::encode(
                &crate::crypto::sha256(
                    format!(
                        "{status}|{amount_fen}|{claim_by:?}|{}|{reject_reason:?}",
                        claim_sealed.as_deref().map(hex::encode).unwrap_or_default()
                    )
                    .as_bytes(),
                )[..12],
            );
            if known.get(&id) == Some(&version) {
                continue;
            }
            let keys: Vec<KeyRow> = sealed_keys::table
                .filter(sealed_keys::object_kind.eq("claim"))
                .filter(sealed_keys::object_id.eq(&id))
                .filter(sealed_keys::recipient_key_id.like("reply:%"))
                .select(KeyRow::as_select())
                .load(c)?;
            mark(c, "reward", &id, &version, seq)?;
            out.push(Record::Reward {
                id,
                public_ref,
                tip_id,
                unit_code,
                status,
                amount_fen,
                hour: crate::db::hour_floor(at),
                claim_by,
                claim_sealed,
                reject_reason,
                keys,
            });
        }
    }
    for id in received.keys().chain(stubs.keys()) {
        if !here.contains(id) {
            out.push(Record::Delete { tip_id: id.clone() });
        }
    }
    for id in received
        .keys()
        .chain(stubs.keys())
        .filter(|id| !here.contains(*id))
        .cloned()
        .collect::<Vec<_>>()
    {
        diesel::delete(ferry_sent::table.filter(ferry_sent::object_id.eq(&id))).execute(c)?;
    }
    Ok(out)
}

/// Writes the next bundle into `dir`, if there is anything to send. One transaction: the
/// records marked as sent and the stream's new head commit only once the file is on disk (and
/// the file is removed again if the commit fails).
pub fn export(
    c: &mut DbConn,
    mode: Mode,
    keys: &Keyring,
    dir: &Path,
) -> Result<Option<PathBuf>, FerryError> {
    let me = keys.node.key_id.clone();
    let (from_zone, to_zone) = match mode {
        Mode::Intake => ("intake", "police"),
        Mode::Police => ("police", "intake"),
        Mode::Single => return Err(FerryError::Apply("a single node has no ferry".into())),
    };
    if mode == Mode::Intake {
        // Tips still in the intake journal (another process may have filed them) are moved
        // into `tips` first, so that a bundle carries every tip durable so far.
        crate::intake::journal::drain(c).map_err(|e| FerryError::Apply(e.to_string()))?;
    }
    let written = std::cell::RefCell::new(None::<PathBuf>);
    let result = c.transaction::<_, FerryError, _>(|c| {
        // One writer of this node's stream at a time (PostgreSQL nodes share it).
        crate::audit::lock_head(c).map_err(|e| FerryError::Apply(e.to_string()))?;
        // Police nodes on one database write one stream: the one already there, whichever
        // node began it (its id names the stream; `signer` names this node's key).
        let stream_id = match mode {
            Mode::Police => out_stream_id(c)?.unwrap_or_else(|| me.clone()),
            _ => me.clone(),
        };
        let (last, prev) = stream(c, "out", &stream_id)?.unwrap_or((0, Vec::new()));
        let seq = last + 1;
        let records = match mode {
            Mode::Intake => intake_records(c, seq)?,
            _ => police_records(c, seq)?,
        };
        if records.is_empty() {
            return Ok(None);
        }
        let body = Body {
            format: format::FORMAT.into(),
            from: stream_id.clone(),
            signer: (stream_id != me).then(|| me.clone()),
            from_zone: from_zone.into(),
            to_zone: to_zone.into(),
            seq,
            prev: if prev.is_empty() {
                format::GENESIS.into()
            } else {
                hex::encode(&prev)
            },
            hour: crate::db::this_hour(),
            records,
        };
        let (bytes, hash) = format::seal(&body, &keys.audit_signer());
        let hash_bytes = hex::decode(&hash).unwrap_or_default();
        set_stream(c, "out", &stream_id, seq, &hash_bytes)?;
        let path = format::write_atomic(dir, &format::file_name(&stream_id, seq), &bytes)?;
        *written.borrow_mut() = Some(path.clone());
        Ok(Some(path))
    });
    if result.is_err()
        && let Some(p) = written.take()
    {
        // Not committed: the file must not cross, or the next bundle would fork the stream.
        let _ = std::fs::remove_file(p);
    }
    result
}

/// The id of this database's outbound stream, if one was begun.
fn out_stream_id(c: &mut DbConn) -> Result<Option<String>, FerryError> {
    use crate::db::schema::ferry_streams;
    Ok(ferry_streams::table
        .filter(ferry_streams::direction.eq("out"))
        .select(ferry_streams::node_id)
        .order(ferry_streams::node_id)
        .first(c)
        .optional()?)
}

/// Keeps a copy of the bundle just written in `sent`, so a bundle lost on the way can be
/// written again with the same bytes (`tipline ferry export --again SEQ`).
pub fn keep_copy(sent: &Path, written: &Path) -> Result<(), FerryError> {
    let bytes = std::fs::read(written).map_err(|source| FerryError::Io {
        path: written.to_path_buf(),
        source,
    })?;
    let name = written
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format::write_atomic(sent, &name, &bytes).map(|_| ())
}

/// Writes bundle `seq` of this node's stream into `outbox` again, byte for byte the copy kept
/// in `sent` (the receiver refuses it as a replay if it had arrived after all).
pub fn again(sent: &Path, outbox: &Path, seq: i64) -> Result<PathBuf, FerryError> {
    let suffix = format!("-{seq:010}.bundle");
    let Some(copy) = format::list(sent)?.into_iter().find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(&suffix))
    }) else {
        return Err(FerryError::Apply(format!(
            "no copy of bundle {seq} in {} (pruned once acknowledged or older than \
             TIPLINE_FERRY_KEEP_DAYS, or written before copies were kept)",
            sent.display()
        )));
    };
    let bytes = std::fs::read(&copy).map_err(|source| FerryError::Io {
        path: copy.clone(),
        source,
    })?;
    let name = copy
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format::write_atomic(outbox, &name, &bytes)
}

/// Deletes kept copies that are no longer needed: at an intake node those the police node
/// acknowledged (they carry sealed tips, which the intake node deletes once acknowledged),
/// and at any node those older than `keep_days`. Returns how many it deleted.
pub fn prune_sent(
    c: &mut DbConn,
    mode: Mode,
    sent: &Path,
    keep_days: i64,
) -> Result<usize, FerryError> {
    use crate::db::schema::ferry_streams;
    let acked: i64 = if mode == Mode::Intake {
        ferry_streams::table
            .filter(ferry_streams::direction.eq("acked"))
            .select(ferry_streams::seq)
            .load::<i64>(c)?
            .into_iter()
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let max_age = std::time::Duration::from_secs(keep_days.max(1) as u64 * 86_400);
    let mut n = 0;
    for p in format::list(sent)? {
        let seq = p
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.rsplit_once('-'))
            .and_then(|(_, seq)| seq.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        let old = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if (seq <= acked || old) && std::fs::remove_file(&p).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}
