//! The SQL of intake: one insert function used by every backend and every channel, and the
//! receipt-holder's lookups.

use super::{IntakeError, PreparedTip, Submitted};
use crate::crypto::receipt::{Receipt, ReceiptHash};
use crate::crypto::seal::{SealedKey, aead_open, aead_seal};
use crate::db::schema::{
    attachment_chunks, attachments, idempotency, mail_ack_quota, spent_tokens, tips,
};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, hour_ceil, is_unique_violation, now_unix};
use diesel::prelude::*;
use diesel::sql_types::Binary;

/// How long a retry token keeps returning the same receipt.
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3600;

/// Looks up a retry token. `Some` means the submission already committed.
pub fn find_replay(
    conn: &mut DbConn,
    key: &super::IdempotencyKey,
) -> Result<Option<Receipt>, IntakeError> {
    replay(conn, key, true)
}

/// The receipt a retry token committed, whatever came with it this time. For the web form's
/// token only: the server's own random value in one browser's page, whose reload of the
/// receipt page may send the files again differently, or not at all (issue 16).
pub fn find_replay_any_content(
    conn: &mut DbConn,
    key: &super::IdempotencyKey,
) -> Result<Option<Receipt>, IntakeError> {
    replay(conn, key, false)
}

fn replay(
    conn: &mut DbConn,
    key: &super::IdempotencyKey,
    same_content: bool,
) -> Result<Option<Receipt>, IntakeError> {
    let row = idempotency::table
        .filter(idempotency::key_hash.eq(&key.lookup))
        .filter(idempotency::expires_at.gt(now_unix()))
        .select((idempotency::request_hash, idempotency::sealed_receipt))
        .first::<(Vec<u8>, Vec<u8>)>(conn)
        .optional()?;
    let Some((request_hash, sealed)) = row else {
        return Ok(None);
    };
    if same_content && !crate::crypto::ct_eq(&request_hash, &key.request_hash) {
        return Err(IntakeError::IdempotencyMismatch);
    }
    let digits = aead_open(&key.seal_key, b"idempotent-receipt", &sealed)?;
    let text = std::str::from_utf8(&digits).map_err(|_| crate::crypto::CryptoError::Open)?;
    Receipt::parse(text)
        .map(Some)
        .map_err(|_| IntakeError::Crypto(crate::crypto::CryptoError::Open))
}

/// Whether a retry token already committed a submission (any content). A multipart form
/// checks this before its files are read: a reload of the receipt page is answered from the
/// stored receipt, its files only hashed, never decoded.
pub fn token_committed(conn: &mut DbConn, lookup: &[u8]) -> QueryResult<bool> {
    let n: i64 = idempotency::table
        .filter(idempotency::key_hash.eq(lookup))
        .filter(idempotency::expires_at.gt(now_unix()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records a one-time token (a captcha's single attempt, a message form's token) in
/// `spent_tokens`. `false` when it was already there.
pub fn spend_once(conn: &mut DbConn, fingerprint: &[u8], expires_at: i64) -> QueryResult<bool> {
    // ON CONFLICT rather than a caught unique violation: on PostgreSQL that would abort the
    // transaction this may run in.
    let n = diesel::sql_query(
        "INSERT INTO spent_tokens (fingerprint, expires_at) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Binary, _>(fingerprint)
    .bind::<diesel::sql_types::BigInt, _>(expires_at)
    .execute(conn)?;
    Ok(n == 1)
}

/// Inserts one prepared tip. Call inside a transaction (or savepoint): on error nothing stays.
pub fn insert_prepared(conn: &mut DbConn, t: &PreparedTip) -> Result<Submitted, IntakeError> {
    if t.audit.is_some() {
        // Staff transactions take the audit head first; so must this one, or two could deadlock.
        crate::audit::lock_head(conn)?;
    }
    if let Some(replayed) = replay_or_spend(conn, t)? {
        return Ok(replayed);
    }
    insert_rows(conn, t)
}

/// Everything of a tip after its retry token and captcha were looked at: the `tips` row, its
/// keys, contact, outgoing answer, files, retry token and audit entry.
fn insert_rows(conn: &mut DbConn, t: &PreparedTip) -> Result<Submitted, IntakeError> {
    let (unit, route_mac) = route_of(conn, t)?;
    insert_sealed_key(conn, &t.payload.epoch_row)?;
    insert_sealed_key(conn, &t.payload.dek_row)?;
    diesel::insert_into(tips::table)
        .values((
            tips::id.eq(&t.id),
            tips::public_ref.eq(&t.public_ref),
            tips::channel.eq(t.channel.as_str()),
            tips::category.eq(&t.category),
            tips::township.eq(&t.township),
            tips::unit_code.eq(&unit),
            tips::status.eq("received"),
            tips::priority.eq(0),
            tips::county_only.eq(t.county_only),
            tips::created_hour.eq(t.created_hour),
            tips::updated_at.eq(t.created_hour),
            tips::receipt_hash.eq(&t.receipt_hash),
            tips::reply_pubkey.eq(&t.reply_pubkey),
            tips::payload.eq(&t.payload.ciphertext),
            tips::attachment_count.eq((t.held.len() + t.attachments.len()) as i32),
            tips::receipt_private.eq(t.channel.receipt_is_private()),
            tips::route_mac.eq(Some(route_mac)),
            tips::entered_by.eq(t.audit.as_ref().map(|s| s.staff_id.as_str())),
        ))
        .execute(conn)?;
    if let Some(contact) = &t.contact {
        insert_sealed_key(conn, &contact.sealed.epoch_row)?;
        insert_sealed_key(conn, &contact.sealed.dek_row)?;
        diesel::update(tips::table.filter(tips::id.eq(&t.id)))
            .set((
                tips::contact.eq(Some(&contact.sealed.ciphertext)),
                tips::contact_alias.eq(contact.alias.as_ref()),
                tips::contact_purge_at.eq(Some(contact.purge_at)),
            ))
            .execute(conn)?;
    }
    let ack_allowed = match &t.ack_quota {
        Some(key) => take_ack_quota(conn, key)?,
        None => true,
    };
    for job in t.outbox.iter().filter(|_| ack_allowed) {
        crate::notify::outbox::insert_sealed(conn, job).map_err(|e| match e {
            crate::notify::outbox::OutboxError::Db(d) => IntakeError::Db(d),
            crate::notify::outbox::OutboxError::Crypto(c) => IntakeError::Crypto(c),
        })?;
    }
    super::held::take_into_tip(conn, &t.id, &t.held)?;
    for a in &t.attachments {
        insert_sealed_key(conn, &a.epoch_row)?;
        insert_sealed_key(conn, &a.dek_row)?;
        diesel::insert_into(attachments::table)
            .values((
                attachments::id.eq(&a.meta.id),
                attachments::tip_id.eq(&t.id),
                attachments::nonce_prefix.eq(&a.nonce_prefix),
                attachments::chunk_count.eq(a.chunks.len() as i32),
            ))
            .execute(conn)?;
        for (seq, data) in a.chunks.iter().enumerate() {
            diesel::insert_into(attachment_chunks::table)
                .values((
                    attachment_chunks::attachment_id.eq(&a.meta.id),
                    attachment_chunks::seq.eq(seq as i32),
                    attachment_chunks::data.eq(data),
                ))
                .execute(conn)?;
        }
    }
    store_retry_token(conn, t)?;
    if let Some(stamp) = &t.audit {
        crate::audit::append(
            conn,
            &stamp.signer,
            &crate::audit::Entry {
                actor: &stamp.actor,
                action: &format!("tip.create.{}", t.channel.as_str()),
                object: &format!("tip:{}", t.id),
                outcome: crate::audit::Outcome::Ok,
            },
        )?;
    }
    Ok(Submitted::Created(t.receipt.clone()))
}

/// A retry of a committed submission (its stored receipt), or else the captcha spent.
fn replay_or_spend(conn: &mut DbConn, t: &PreparedTip) -> Result<Option<Submitted>, IntakeError> {
    if let Some(key) = &t.idempotency
        && let Some(receipt) = find_replay(conn, key)?
    {
        return Ok(Some(Submitted::Replayed(receipt)));
    }
    if let Some((fp, expires)) = &t.spend_token {
        let spent = diesel::insert_into(spent_tokens::table)
            .values((
                spent_tokens::fingerprint.eq(fp),
                spent_tokens::expires_at.eq(hour_ceil(*expires)),
            ))
            .execute(conn);
        match spent {
            Err(e) if is_unique_violation(&e) => return Err(IntakeError::CaptchaReplayed),
            other => other?,
        };
    }
    Ok(None)
}

/// The tip's unit and the MAC binding its routing columns.
fn route_of(conn: &mut DbConn, t: &PreparedTip) -> Result<(String, Vec<u8>), IntakeError> {
    let unit = crate::triage::routing::route(conn, &t.category, &t.township, t.county_only)?;
    let route_mac = t.route_key.seal(&crate::triage::routing::Route {
        tip_id: &t.id,
        unit: &unit,
        county_only: t.county_only,
        category: &t.category,
        township: &t.township,
    });
    Ok((unit, route_mac))
}

/// Stores the receipt under the tip's retry token, sealed under a key only the token gives.
fn store_retry_token(conn: &mut DbConn, t: &PreparedTip) -> Result<(), IntakeError> {
    if let Some(key) = &t.idempotency {
        let sealed = aead_seal(
            &key.seal_key,
            b"idempotent-receipt",
            t.receipt.digits().as_bytes(),
        )?;
        diesel::insert_into(idempotency::table)
            .values((
                idempotency::key_hash.eq(&key.lookup),
                idempotency::request_hash.eq(&key.request_hash),
                idempotency::sealed_receipt.eq(sealed),
                idempotency::expires_at.eq(hour_ceil(now_unix() + IDEMPOTENCY_SECONDS)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// What one group-commit transaction already did for earlier tips of its batch: the shared
/// epoch rows it inserted (each once, not once per tip) and the units it routed to (one query
/// per place and category, not per tip). Lives as long as the transaction, no longer.
#[derive(Default)]
pub struct BatchCache {
    epochs: Vec<std::sync::Arc<SealedKey>>,
    routes: Vec<((String, String, bool), String)>,
}

/// Inserts one plain tip (see `journal::takes_journal`) into the intake journal, in a
/// transaction the caller holds.
pub fn insert_journaled(
    conn: &mut DbConn,
    t: &PreparedTip,
    cache: &mut BatchCache,
) -> Result<Submitted, IntakeError> {
    if let Some(replayed) = replay_or_spend(conn, t)? {
        return Ok(replayed);
    }
    let place = (t.category.clone(), t.township.clone(), t.county_only);
    let unit = match cache.routes.iter().find(|(k, _)| *k == place) {
        Some((_, unit)) => unit.clone(),
        None => {
            let unit =
                crate::triage::routing::route(conn, &t.category, &t.township, t.county_only)?;
            cache.routes.push((place, unit.clone()));
            unit
        }
    };
    let route_mac = t.route_key.seal(&crate::triage::routing::Route {
        tip_id: &t.id,
        unit: &unit,
        county_only: t.county_only,
        category: &t.category,
        township: &t.township,
    });
    let epoch = &t.payload.epoch_row;
    if !cache.epochs.iter().any(|e| {
        std::sync::Arc::ptr_eq(e, epoch)
            || (e.object_id == epoch.object_id
                && e.object_kind == epoch.object_kind
                && e.recipient_key_id == epoch.recipient_key_id)
    }) {
        insert_sealed_key(conn, epoch)?;
        cache.epochs.push(epoch.clone());
    }
    if !super::journal::insert(conn, t, &unit, &route_mac)? {
        // Its slot is taken by another waiting tip: this one goes straight into `tips`.
        return insert_rows(conn, t);
    }
    store_retry_token(conn, t)?;
    Ok(Submitted::Created(t.receipt.clone()))
}

/// What the receipt holder may learn: a coarse status and the hour of the last change.
pub struct PublicStatus {
    pub status: &'static str,
    pub updated_at: i64,
    /// For the server's own use (rewards, messages); never shown.
    pub tip_id: String,
    pub receipt_private: bool,
}

/// Maps internal triage states to what the reporter sees: no hint of the investigation.
pub fn public_status(internal: &str) -> &'static str {
    match internal {
        "received" => "received",
        "triaging" | "assigned" | "investigating" => "in_progress",
        "verified" => "verified",
        _ => "closed",
    }
}

pub fn lookup_status(conn: &mut DbConn, hash: &ReceiptHash) -> QueryResult<Option<PublicStatus>> {
    let row = tips::table
        .filter(tips::receipt_hash.eq(&hash.0[..]))
        .select((
            tips::status,
            tips::updated_at,
            tips::id,
            tips::receipt_private,
        ))
        .first::<(String, i64, String, bool)>(conn)
        .optional()?;
    // A tip still in the intake journal: received, this hour.
    let row = match row {
        Some(r) => Some(r),
        None => super::journal::lookup(conn, &hash.0[..])?
            .map(|(hour, tip_id, private)| ("received".to_string(), hour, tip_id, private)),
    };
    Ok(row.map(|(s, at, tip_id, receipt_private)| PublicStatus {
        status: public_status(&s),
        updated_at: at - at.rem_euclid(3600),
        tip_id,
        receipt_private,
    }))
}

/// Acknowledgements one mail address may get per UTC day (issue 13 item 7): a forged first
/// mail makes the office mail a receipt to any address, so a flood of them costs the victim at
/// most this many.
pub const MAX_ACKS_PER_DAY: i32 = 2;

/// The UTC date as a day number: the only time `mail_ack_quota` keeps.
pub fn utc_day(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// Counts one acknowledgement against `key` (a keyed hash of the address and the date);
/// `false` when the day's quota is spent. Inside the tip's transaction, so a tip that does not
/// commit spends nothing.
fn take_ack_quota(conn: &mut DbConn, key: &[u8]) -> Result<bool, IntakeError> {
    let bumped = diesel::update(
        mail_ack_quota::table
            .filter(mail_ack_quota::key_hash.eq(key))
            .filter(mail_ack_quota::sent.lt(MAX_ACKS_PER_DAY)),
    )
    .set(mail_ack_quota::sent.eq(mail_ack_quota::sent + 1))
    .execute(conn)?;
    if bumped == 1 {
        return Ok(true);
    }
    // ON CONFLICT DO NOTHING: a unique violation would abort a PostgreSQL transaction.
    let inserted = diesel::sql_query(
        "INSERT INTO mail_ack_quota (key_hash, day, sent) VALUES ($1, $2, 1) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Binary, _>(key)
    .bind::<diesel::sql_types::BigInt, _>(utc_day(now_unix()))
    .execute(conn)?;
    Ok(inserted == 1)
}

/// Deletes expired retry tokens, spent captchas and files held for forms never sent right.
pub fn purge_expired(conn: &mut DbConn) -> QueryResult<usize> {
    let held = super::held::purge_expired(conn)?;
    let now = now_unix();
    let a =
        diesel::delete(idempotency::table.filter(idempotency::expires_at.lt(now))).execute(conn)?;
    let b = diesel::delete(spent_tokens::table.filter(spent_tokens::expires_at.lt(now)))
        .execute(conn)?;
    let c = diesel::delete(mail_ack_quota::table.filter(mail_ack_quota::day.lt(utc_day(now))))
        .execute(conn)?;
    Ok(held + a + b + c)
}
