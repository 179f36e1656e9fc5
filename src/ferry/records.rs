//! What crosses the boundary, as database rows, and how each record is applied.
//!
//! Intake to police: [`Record::Tip`] (clear metadata, the sealed payload, attachments, their
//! sealed keys and epoch rows; never the contact envelope, which stays at the edge),
//! [`Record::Message`] from reporters, [`Record::Rekey`].
//! Police to intake: [`Record::Status`] (coarse, to the hour), [`Record::Message`] from the
//! police (only the row sealed to the reporter's reply key), [`Record::Receipt`] (hotline and
//! box tips entered in the police zone: what the status page needs), [`Record::Delete`]
//! (retention), [`Record::Ack`] (what arrived, so intake may delete the sealed content).
//! Nothing here is in the clear beyond what both databases keep in the clear.

use super::FerryError;
use super::hex::{bytes as hexbytes, opt as hexopt};
use crate::db::DbConn;
use crate::db::schema::{
    attachment_chunks, attachments, ferry_sent, ferry_streams, messages, sealed_keys, tips,
};
use crate::ferry::Mode;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Queryable, Selectable, Insertable, Serialize, Deserialize, Clone, Debug)]
#[diesel(table_name = tips, treat_none_as_default_value = false)]
pub struct TipRow {
    pub id: String,
    pub public_ref: String,
    pub channel: String,
    pub category: String,
    pub township: String,
    pub unit_code: String,
    pub status: String,
    pub priority: i32,
    pub county_only: bool,
    pub created_hour: i64,
    pub updated_at: i64,
    #[serde(with = "hexbytes")]
    pub receipt_hash: Vec<u8>,
    #[serde(with = "hexbytes")]
    pub reply_pubkey: Vec<u8>,
    #[serde(with = "hexbytes")]
    pub payload: Vec<u8>,
    #[serde(with = "hexopt")]
    pub contact: Option<Vec<u8>>,
    pub attachment_count: i32,
    pub receipt_private: bool,
    #[serde(with = "hexopt")]
    pub contact_alias: Option<Vec<u8>>,
    pub contact_purge_at: Option<i64>,
    pub unread_messages: i32,
    pub staff_notified: bool,
    pub assigned_to: Option<String>,
    pub tags: String,
    pub index_version: i32,
    pub duplicate_of: Option<String>,
    pub reporter_wrote: bool,
    pub entered_by: Option<String>,
    pub receipt_exchanged_hour: Option<i64>,
    #[serde(with = "hexopt")]
    pub route_mac: Option<Vec<u8>>,
}

#[derive(Queryable, Selectable, Insertable, Serialize, Deserialize, Clone, Debug)]
#[diesel(table_name = sealed_keys)]
pub struct KeyRow {
    pub object_kind: String,
    pub object_id: String,
    pub recipient_key_id: String,
    #[serde(with = "hexbytes")]
    pub encapped: Vec<u8>,
    #[serde(with = "hexbytes")]
    pub sealed_key: Vec<u8>,
}

#[derive(Queryable, Selectable, Insertable, Serialize, Deserialize, Clone, Debug)]
#[diesel(table_name = attachments)]
pub struct AttachmentRow {
    pub id: String,
    pub tip_id: String,
    #[serde(with = "hexbytes")]
    pub nonce_prefix: Vec<u8>,
    pub chunk_count: i32,
}

#[derive(Queryable, Selectable, Insertable, Serialize, Deserialize, Clone, Debug)]
#[diesel(table_name = attachment_chunks)]
pub struct ChunkRow {
    pub attachment_id: String,
    pub seq: i32,
    #[serde(with = "hexbytes")]
    pub data: Vec<u8>,
}

#[derive(Queryable, Selectable, Insertable, Serialize, Deserialize, Clone, Debug)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub struct MessageRow {
    pub id: String,
    pub tip_id: String,
    pub seq: i32,
    pub direction: String,
    /// Always `None` in a bundle: staff names stay in the police zone.
    pub author: Option<String>,
    pub at_hour: i64,
    #[serde(with = "hexbytes")]
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Tip {
        tip: Box<TipRow>,
        keys: Vec<KeyRow>,
        attachments: Vec<AttachmentRow>,
        chunks: Vec<ChunkRow>,
    },
    Message {
        message: MessageRow,
        keys: Vec<KeyRow>,
    },
    Rekey {
        tip_id: String,
        #[serde(with = "hexbytes")]
        receipt_hash: Vec<u8>,
        #[serde(with = "hexbytes")]
        reply_pubkey: Vec<u8>,
    },
    Status {
        tip_id: String,
        status: String,
        hour: i64,
    },
    Receipt {
        tip: Box<TipRow>,
    },
    Delete {
        tip_id: String,
    },
    /// What the receipt holder may see of a decided reward: status, amount, deadline, the
    /// claim code sealed to the reply key (and that key row), a rejection's reason.
    Reward {
        id: String,
        public_ref: String,
        tip_id: String,
        unit_code: String,
        status: String,
        amount_fen: i64,
        /// The hour it was proposed (orders a tip's rewards; never finer).
        hour: i64,
        claim_by: Option<String>,
        #[serde(with = "hexopt")]
        claim_sealed: Option<Vec<u8>>,
        reject_reason: Option<String>,
        keys: Vec<KeyRow>,
    },
    /// An outgoing SMS or mail to a reporter (a `reporter` outbox job), sealed to the relay
    /// key; the intake node's worker resolves it through the contact envelope kept there.
    Job {
        id: String,
        #[serde(with = "hexbytes")]
        payload: Vec<u8>,
        keys: Vec<KeyRow>,
    },
    Ack {
        node: String,
        seq: i64,
    },
}

impl Record {
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Tip { .. } => "tip",
            Record::Message { .. } => "message",
            Record::Rekey { .. } => "rekey",
            Record::Status { .. } => "status",
            Record::Receipt { .. } => "receipt",
            Record::Delete { .. } => "delete",
            Record::Reward { .. } => "reward",
            Record::Job { .. } => "job",
            Record::Ack { .. } => "ack",
        }
    }

    /// Whether a node in `mode` accepts this record (each direction carries its own kinds).
    fn accepted_by(&self, mode: Mode) -> bool {
        match self {
            Record::Tip { .. } | Record::Rekey { .. } => mode == Mode::Police,
            Record::Message { message, .. } => match mode {
                Mode::Police => message.direction == "reporter",
                Mode::Intake => message.direction == "police",
                Mode::Single => false,
            },
            Record::Status { .. }
            | Record::Receipt { .. }
            | Record::Delete { .. }
            | Record::Reward { .. }
            | Record::Job { .. }
            | Record::Ack { .. } => mode == Mode::Intake,
        }
    }
}

fn key_exists(c: &mut DbConn, k: &KeyRow) -> QueryResult<bool> {
    let n: i64 = sealed_keys::table
        .filter(sealed_keys::object_kind.eq(&k.object_kind))
        .filter(sealed_keys::object_id.eq(&k.object_id))
        .filter(sealed_keys::recipient_key_id.eq(&k.recipient_key_id))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

/// Inserts key rows not already there (epoch rows are shared by many objects).
fn insert_keys(c: &mut DbConn, keys: &[KeyRow]) -> QueryResult<()> {
    for k in keys {
        if !key_exists(c, k)? {
            diesel::insert_into(sealed_keys::table)
                .values(k.clone())
                .execute(c)?;
        }
    }
    Ok(())
}

fn tip_exists(c: &mut DbConn, id: &str) -> QueryResult<bool> {
    let n: i64 = tips::table.filter(tips::id.eq(id)).count().get_result(c)?;
    Ok(n > 0)
}

/// Records that `object_id` of `kind` crossed in bundle `seq` (with `version`).
pub fn mark(
    c: &mut DbConn,
    kind: &str,
    object_id: &str,
    version: &str,
    seq: i64,
) -> QueryResult<()> {
    diesel::delete(
        ferry_sent::table
            .filter(ferry_sent::kind.eq(kind))
            .filter(ferry_sent::object_id.eq(object_id)),
    )
    .execute(c)?;
    diesel::insert_into(ferry_sent::table)
        .values((
            ferry_sent::kind.eq(kind),
            ferry_sent::object_id.eq(object_id),
            ferry_sent::version.eq(version),
            ferry_sent::seq.eq(seq),
        ))
        .execute(c)?;
    Ok(())
}

/// The version of a tip's receipt binding: a rekey changes it.
pub fn receipt_version(receipt_hash: &[u8], reply_pubkey: &[u8]) -> String {
    hex::encode(&crate::crypto::sha256(&[receipt_hash, reply_pubkey].concat())[..12])
}

/// Applies one record from node `from`. Call inside the bundle's transaction.
pub fn apply(c: &mut DbConn, mode: Mode, from: &str, r: &Record) -> Result<(), FerryError> {
    if !r.accepted_by(mode) {
        return Err(FerryError::Apply(format!(
            "a {} record cannot arrive at a {} node; the bundle is refused, nothing stored",
            r.kind(),
            mode.as_str()
        )));
    }
    match r {
        Record::Tip {
            tip,
            keys,
            attachments: files,
            chunks,
        } => {
            if tip_exists(c, &tip.id)? {
                return Ok(());
            }
            if files.iter().any(|a| a.tip_id != tip.id)
                || chunks
                    .iter()
                    .any(|ch| !files.iter().any(|a| a.id == ch.attachment_id))
            {
                return Err(FerryError::Apply(format!(
                    "tip {}: attachments that belong to another tip; refused",
                    tip.id
                )));
            }
            insert_keys(c, keys)?;
            let mut row = (**tip).clone();
            // The police zone starts its own triage of the tip.
            row.staff_notified = false;
            row.assigned_to = None;
            diesel::insert_into(tips::table).values(row).execute(c)?;
            for a in files {
                diesel::insert_into(attachments::table)
                    .values(a.clone())
                    .execute(c)?;
            }
            for ch in chunks {
                diesel::insert_into(attachment_chunks::table)
                    .values(ch.clone())
                    .execute(c)?;
            }
            // No sequence kept: it would order the tips by arrival (issue 13).
            mark(c, "received", &tip.id, from, 0)?;
        }
        Record::Message { message, keys } => {
            let exists: i64 = messages::table
                .filter(messages::id.eq(&message.id))
                .count()
                .get_result(c)?;
            if exists > 0 || !tip_exists(c, &message.tip_id)? {
                return Ok(());
            }
            if keys.iter().any(|k| {
                k.object_kind != "epoch"
                    && (k.object_kind != "message" || k.object_id != message.id)
            }) {
                return Err(FerryError::Apply(format!(
                    "message {}: key rows of another object; refused",
                    message.id
                )));
            }
            insert_keys(c, keys)?;
            let mut row = message.clone();
            row.author = None;
            diesel::insert_into(messages::table)
                .values(row)
                .execute(c)?;
            mark(c, "message", &message.id, from, 0)?;
            if mode == Mode::Police {
                diesel::update(tips::table.filter(tips::id.eq(&message.tip_id)))
                    .set((
                        tips::unread_messages.eq(tips::unread_messages + 1),
                        tips::updated_at.eq(message.at_hour),
                        tips::reporter_wrote.eq(true),
                    ))
                    .execute(c)?;
            }
        }
        Record::Rekey {
            tip_id,
            receipt_hash,
            reply_pubkey,
        } => {
            diesel::update(tips::table.filter(tips::id.eq(tip_id)))
                .set((
                    tips::receipt_hash.eq(receipt_hash),
                    tips::reply_pubkey.eq(reply_pubkey),
                ))
                .execute(c)?;
        }
        Record::Status {
            tip_id,
            status,
            hour,
        } => {
            diesel::update(tips::table.filter(tips::id.eq(tip_id)))
                .set((
                    tips::status.eq(status),
                    tips::updated_at.eq(crate::db::hour_floor(*hour)),
                ))
                .execute(c)?;
        }
        Record::Receipt { tip } => {
            if !tip_exists(c, &tip.id)? {
                let mut row = (**tip).clone();
                row.payload = Vec::new();
                row.contact = None;
                row.contact_alias = None;
                row.entered_by = None;
                row.assigned_to = None;
                row.staff_notified = true;
                diesel::insert_into(tips::table).values(row).execute(c)?;
                // Known at both ends: never sent back as a new tip.
                mark(
                    c,
                    "tip",
                    &tip.id,
                    &receipt_version(&tip.receipt_hash, &tip.reply_pubkey),
                    0,
                )?;
            }
        }
        Record::Delete { tip_id } => {
            if tip_exists(c, tip_id)? {
                crate::retention::delete_tip(c, tip_id)
                    .map_err(|e| FerryError::Apply(format!("deleting tip {tip_id}: {e}")))?;
            }
            diesel::delete(ferry_sent::table.filter(ferry_sent::object_id.eq(tip_id)))
                .execute(c)?;
        }
        Record::Reward {
            id,
            public_ref,
            tip_id,
            unit_code,
            status,
            amount_fen,
            hour,
            claim_by,
            claim_sealed,
            reject_reason,
            keys,
        } => {
            use crate::db::schema::rewards;
            if !tip_exists(c, tip_id)? {
                return Ok(());
            }
            if keys
                .iter()
                .any(|k| k.object_kind != "claim" || k.object_id != *id)
            {
                return Err(FerryError::Apply(format!(
                    "reward {id}: key rows of another object; refused"
                )));
            }
            let had: Option<Option<Vec<u8>>> = rewards::table
                .filter(rewards::id.eq(id))
                .select(rewards::claim_sealed)
                .first(c)
                .optional()?;
            if had.is_none() {
                let proposer = police_zone_proposer(c)?;
                diesel::insert_into(rewards::table)
                    .values((
                        rewards::id.eq(id),
                        rewards::public_ref.eq(public_ref),
                        rewards::tip_id.eq(tip_id),
                        rewards::unit_code.eq(unit_code),
                        rewards::policy_version.eq(0i64),
                        rewards::amount_fen.eq(amount_fen),
                        rewards::tiers.eq("[]"),
                        rewards::details.eq(Vec::<u8>::new()),
                        rewards::status.eq(status),
                        rewards::steps.eq("[]"),
                        rewards::signed_steps.eq(0),
                        rewards::proposed_by.eq(&proposer),
                        rewards::proposed_at.eq(crate::db::hour_floor(*hour)),
                        rewards::cracked_on.eq(""),
                        rewards::notify_by.eq(""),
                    ))
                    .execute(c)?;
            }
            diesel::update(rewards::table.filter(rewards::id.eq(id)))
                .set((
                    rewards::status.eq(status),
                    rewards::amount_fen.eq(amount_fen),
                    rewards::claim_by.eq(claim_by),
                    rewards::claim_sealed.eq(claim_sealed),
                    rewards::reject_reason.eq(reject_reason),
                ))
                .execute(c)?;
            // The same sealed code again keeps its key row: a rekey here re-sealed it to the
            // reporter's new reply key, which the police zone's copy does not know.
            let same = matches!(&had, Some(old) if old == claim_sealed);
            if !same {
                diesel::delete(
                    sealed_keys::table
                        .filter(sealed_keys::object_kind.eq("claim"))
                        .filter(sealed_keys::object_id.eq(id)),
                )
                .execute(c)?;
                if claim_sealed.is_some() {
                    insert_keys(c, keys)?;
                }
            }
        }
        Record::Job { id, payload, keys } => {
            use crate::db::schema::outbox;
            if keys.iter().any(|k| {
                k.object_kind != "epoch" && (k.object_kind != "outbox" || k.object_id != *id)
            }) {
                return Err(FerryError::Apply(format!(
                    "job {id}: key rows of another object; refused"
                )));
            }
            let exists: i64 = outbox::table
                .filter(outbox::id.eq(id))
                .count()
                .get_result(c)?;
            if exists == 0 {
                insert_keys(c, keys)?;
                let hour = crate::db::this_hour();
                diesel::insert_into(outbox::table)
                    .values((
                        outbox::id.eq(id),
                        outbox::kind.eq("reporter"),
                        outbox::payload.eq(payload),
                        outbox::attempts.eq(0),
                        outbox::next_at.eq(hour),
                        outbox::claimed_until.eq(0),
                        outbox::created_at.eq(hour),
                    ))
                    .execute(c)?;
            }
        }
        Record::Ack { node, seq: acked } => {
            // The police node acknowledges every intake node's stream in one bundle that every
            // intake node imports: only the acknowledgement of this node's stream counts here.
            use crate::db::schema::keyring;
            let me: Option<String> = keyring::table
                .filter(keyring::purpose.eq(crate::crypto::keyring::NODE))
                .select(keyring::fingerprint)
                .first(c)
                .optional()?;
            if me.as_deref() == Some(node.as_str()) {
                set_stream(c, "acked", from, *acked, &[])?;
                forget_acknowledged(c, *acked)?;
            }
        }
    }
    Ok(())
}

/// The `staff` row an intake node's copy of a reward names as its proposer (the column must
/// name one): a disabled account without a password, standing for the police zone. An intake
/// node serves no staff route, so nobody can sign in as it.
fn police_zone_proposer(c: &mut DbConn) -> QueryResult<String> {
    use crate::db::schema::staff;
    const ID: &str = "police-zone";
    let n: i64 = staff::table
        .filter(staff::id.eq(ID))
        .count()
        .get_result(c)?;
    if n == 0 {
        diesel::insert_into(staff::table)
            .values((
                staff::id.eq(ID),
                staff::username.eq(ID),
                staff::role.eq("auditor"),
                staff::password_hash.eq("!"),
                staff::totp_enabled.eq(false),
                staff::totp_last_step.eq(0i64),
                staff::disabled.eq(true),
                staff::failed_logins.eq(0),
                staff::locked_until.eq(0i64),
                staff::created_at.eq(0i64),
                staff::notify.eq(""),
                staff::must_change_password.eq(true),
                staff::approval_pending.eq(false),
            ))
            .execute(c)?;
    }
    Ok(ID.into())
}

/// Sets a stream's state (`direction`, `node`).
pub fn set_stream(
    c: &mut DbConn,
    direction: &str,
    node: &str,
    seq: i64,
    hash: &[u8],
) -> QueryResult<()> {
    diesel::delete(
        ferry_streams::table
            .filter(ferry_streams::direction.eq(direction))
            .filter(ferry_streams::node_id.eq(node)),
    )
    .execute(c)?;
    diesel::insert_into(ferry_streams::table)
        .values((
            ferry_streams::direction.eq(direction),
            ferry_streams::node_id.eq(node),
            ferry_streams::seq.eq(seq),
            ferry_streams::hash.eq(hash),
        ))
        .execute(c)?;
    Ok(())
}

/// A stream's state: (seq, hash), or `None` before its first bundle.
pub fn stream(c: &mut DbConn, direction: &str, node: &str) -> QueryResult<Option<(i64, Vec<u8>)>> {
    ferry_streams::table
        .filter(ferry_streams::direction.eq(direction))
        .filter(ferry_streams::node_id.eq(node))
        .select((ferry_streams::seq, ferry_streams::hash))
        .first(c)
        .optional()
}

/// Intake side: deletes the sealed content of tips (and the office's copies of reporters'
/// messages) sent in bundles up to `acked`, keeping what the status page needs: the status,
/// its hour, the receipt hash, the reply key and the rows sealed to it.
pub fn forget_acknowledged(c: &mut DbConn, acked: i64) -> QueryResult<usize> {
    let sent: Vec<String> = ferry_sent::table
        .filter(ferry_sent::kind.eq("tip"))
        .filter(ferry_sent::seq.le(acked))
        .filter(ferry_sent::seq.gt(0))
        .select(ferry_sent::object_id)
        .load(c)?;
    forget_content(c, &sent)?;
    let sent_messages: Vec<String> = ferry_sent::table
        .filter(ferry_sent::kind.eq("message"))
        .filter(ferry_sent::seq.le(acked))
        .filter(ferry_sent::seq.gt(0))
        .select(ferry_sent::object_id)
        .load(c)?;
    for m in &sent_messages {
        diesel::delete(
            sealed_keys::table
                .filter(sealed_keys::object_kind.eq("message"))
                .filter(sealed_keys::object_id.eq(m))
                .filter(sealed_keys::recipient_key_id.like("epoch:%")),
        )
        .execute(c)?;
    }
    // Once acknowledged, the bundle a tip went in is of no more use; kept, it would order the
    // tips by when they crossed (issue 13).
    diesel::update(
        ferry_sent::table
            .filter(ferry_sent::kind.eq_any(["tip", "message"]))
            .filter(ferry_sent::seq.le(acked))
            .filter(ferry_sent::seq.gt(0)),
    )
    .set(ferry_sent::seq.eq(0i64))
    .execute(c)?;
    Ok(sent.len())
}

/// Deletes the sealed payload, attachments and office-sealed keys of these tips.
pub fn forget_content(c: &mut DbConn, tip_ids: &[String]) -> QueryResult<()> {
    for id in tip_ids {
        let files: Vec<String> = attachments::table
            .filter(attachments::tip_id.eq(id))
            .select(attachments::id)
            .load(c)?;
        for a in &files {
            diesel::delete(attachment_chunks::table.filter(attachment_chunks::attachment_id.eq(a)))
                .execute(c)?;
            diesel::delete(
                sealed_keys::table
                    .filter(sealed_keys::object_kind.eq("attachment"))
                    .filter(sealed_keys::object_id.eq(a)),
            )
            .execute(c)?;
        }
        diesel::delete(attachments::table.filter(attachments::tip_id.eq(id))).execute(c)?;
        diesel::delete(
            sealed_keys::table
                .filter(sealed_keys::object_kind.eq("tip"))
                .filter(sealed_keys::object_id.eq(id)),
        )
        .execute(c)?;
        diesel::update(tips::table.filter(tips::id.eq(id)))
            .set(tips::payload.eq(Vec::<u8>::new()))
            .execute(c)?;
    }
    Ok(())
}
