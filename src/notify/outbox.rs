//! The persistent outbox (DESIGN.md sections 3 and 5). Producers enqueue in their own
//! transaction, so a message is sent only if what caused it committed. Workers claim due rows
//! with a lease: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of nodes cooperate; on
//! SQLite one writer serializes the claim. Delivered rows are deleted with their keys; failures
//! are retried with exponential backoff and dropped after `MAX_ATTEMPTS`, with a log line that
//! names the job and the class of error, never its content or address.

use super::{DeliveryError, Job, Transports};
use crate::crypto::seal::{Opener, Recipient, Sealer};
use crate::crypto::{CryptoError, random_bytes};
use crate::db::schema::outbox;
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, DbError, now_unix};
use crate::triage::reader::{forget_keys, open_sealed};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

pub const MAX_ATTEMPTS: i32 = 12;
/// How long a claimed row stays with its worker before another may take it.
const LEASE_SECONDS: i64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealing or opening an outbox payload failed")]
    Crypto(#[from] CryptoError),
}

impl From<diesel::result::Error> for OutboxError {
    fn from(e: diesel::result::Error) -> Self {
        OutboxError::Db(DbError::Query(e))
    }
}

/// A job sealed to the relay key, ready to insert (sealing is CPU work, done before the
/// transaction that inserts it, as for tips).
pub struct SealedJob {
    pub id: String,
    kind: &'static str,
    sealed: crate::crypto::seal::SealedObject,
}

pub fn seal_job(
    sealer: &Sealer,
    stream: crate::crypto::seal::Stream,
    relay: &Recipient,
    job: &Job,
) -> Result<SealedJob, OutboxError> {
    let id = hex::encode(random_bytes::<16>()?);
    let json = zeroize::Zeroizing::new(serde_json::to_vec(job).map_err(|_| CryptoError::Seal)?);
    let sealed = sealer.seal_in(stream, relay, "outbox", &id, &json)?;
    Ok(SealedJob {
        id,
        kind: job.kind(),
        sealed,
    })
}

/// Inserts a sealed job inside the caller's transaction.
pub fn insert_sealed(c: &mut DbConn, job: &SealedJob) -> Result<(), OutboxError> {
    insert_sealed_key(c, &job.sealed.epoch_row)?;
    insert_sealed_key(c, &job.sealed.dek_row)?;
    // The hour only: a job a reporter's action queues (an acknowledgement, a reply to a
    // status text) would otherwise time that action to the second (issue 13). Due at once.
    let hour = crate::db::this_hour();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&job.id),
            outbox::kind.eq(job.kind),
            outbox::payload.eq(&job.sealed.ciphertext),
            outbox::attempts.eq(0),
            outbox::next_at.eq(hour),
            outbox::claimed_until.eq(0),
            outbox::created_at.eq(hour),
        ))
        .execute(c)?;
    Ok(())
}

/// Queues a job inside the caller's transaction; returns its id.
pub fn enqueue(
    c: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    job: &Job,
) -> Result<String, OutboxError> {
    enqueue_in(c, sealer, crate::crypto::seal::Stream::Staff, relay, job)
}

/// Queues a job in an epoch stream: `Stream::Reporter` for a reply a reporter's action asks for.
pub fn enqueue_in(
    c: &mut DbConn,
    sealer: &Sealer,
    stream: crate::crypto::seal::Stream,
    relay: &Recipient,
    job: &Job,
) -> Result<String, OutboxError> {
    let sealed = seal_job(sealer, stream, relay, job)?;
    insert_sealed(c, &sealed)?;
    Ok(sealed.id)
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Claims up to `limit` due rows for `worker`, leaving rows of kind `skip` alone (a police
/// node's reporter jobs wait for the ferry: only the edge can open them).
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    limit: i64,
    skip: &str,
) -> Result<Vec<String>, OutboxError> {
    let now = now_unix();
    let until = now + LEASE_SECONDS;
    let rows: Vec<Claimed> = match conn {
        DbConn::Pg(pg) => diesel::sql_query(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM outbox WHERE next_at <= $3 AND claimed_until < $3 AND kind <> $5 \
              ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id",
        )
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(skip)
        .load(pg)?,
        DbConn::Sqlite(lite) => diesel::sql_query(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN \
             (SELECT id FROM outbox WHERE next_at <= ? AND claimed_until < ? AND kind <> ? \
              ORDER BY next_at LIMIT ?) RETURNING id",
        )
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .bind::<Text, _>(skip)
        .bind::<BigInt, _>(limit)
        .load(lite)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Opens a claimed row's job with the relay key.
pub fn open(conn: &mut DbConn, relay: &Opener, id: &str) -> Result<(Job, i32), OutboxError> {
    let (payload, attempts): (Vec<u8>, i32) = outbox::table
        .filter(outbox::id.eq(id))
        .select((outbox::payload, outbox::attempts))
        .first(conn)?;
    let pt = open_sealed(conn, relay, "outbox", id, &payload).map_err(|_| CryptoError::Open)?;
    let job: Job = serde_json::from_slice(&pt).map_err(|_| CryptoError::Open)?;
    Ok((job, attempts))
}

/// Deletes a row and the keys that could open its payload.
pub fn remove(conn: &mut DbConn, id: &str) -> Result<(), OutboxError> {
    conn.transaction::<_, OutboxError, _>(|c| {
        diesel::delete(outbox::table.filter(outbox::id.eq(id))).execute(c)?;
        forget_keys(c, "outbox", id).map_err(|_| CryptoError::Open)?;
        Ok(())
    })
}

/// 30 s, 1 min, 2 min ... capped at 6 hours.
pub fn backoff(attempts: i32) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    (30i64 << exp).min(6 * 3600)
}

fn retry_later(conn: &mut DbConn, id: &str, attempts: i32, why: &str) -> Result<(), OutboxError> {
    diesel::update(outbox::table.filter(outbox::id.eq(id)))
        .set((
            outbox::attempts.eq(attempts + 1),
            // Counted from the hour, not from this attempt: the first attempt follows a
            // reporter's action within seconds, so now + backoff would time it (issue 13).
            // Early retries may come sooner than the backoff; the doubling still spaces them.
            outbox::next_at.eq(crate::db::this_hour() + backoff(attempts)),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(0),
            outbox::last_error.eq(Some(why)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A reporter job becomes an SMS or a mail to the tip's contact envelope; `None` when the tip
/// has none (any more) or the template is unknown.
fn resolve_reporter(
    conn: &mut DbConn,
    relay: &Opener,
    tip_id: &str,
    template: &str,
    params: Vec<String>,
) -> Result<Option<Job>, OutboxError> {
    let Some(contact) = super::contact::open(conn, relay, tip_id)? else {
        return Ok(None);
    };
    Ok(match contact.channel.as_str() {
        "sms" => Some(Job::Sms {
            to: contact.address,
            template: template.to_string(),
            params,
        }),
        "email" => super::templates::render(template, &params).map(|(subject, body)| Job::Mail {
            to: contact.address,
            subject: subject.to_string(),
            body,
            attachments: Vec::new(),
            thread: contact.thread,
        }),
        _ => None,
    })
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub dropped: usize,
}

/// What a worker needs: the relay key (to open payloads and contact envelopes), the sealer
/// (to queue what a notice resolves into), the transports and its own id.
pub struct Worker<'a> {
    pub relay: &'a Opener,
    pub relay_to: &'a Recipient,
    pub sealer: &'a Sealer,
    pub transports: &'a Transports,
    pub id: &'a str,
    /// A kind of job this worker leaves in the outbox: `reporter` at a police node (the ferry
    /// carries those to the edge, whose relay key opens them); empty elsewhere.
    pub skip: &'a str,
}

/// One pass of the worker: claim, open, deliver, then delete or reschedule each row.
pub fn run_once(conn: &mut DbConn, w: &Worker) -> Result<Pass, OutboxError> {
    let (relay, transports) = (w.relay, w.transports);
    let mut pass = Pass::default();
    for id in claim(conn, w.id, 20, w.skip)? {
        let (job, attempts) = match open(conn, relay, &id) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(job = %id, error = %e, "outbox payload does not open; dropped");
                remove(conn, &id)?;
                pass.dropped += 1;
                continue;
            }
        };
        let job = match job {
            Job::Reporter {
                tip_id,
                template,
                params,
            } => match resolve_reporter(conn, relay, &tip_id, &template, params)? {
                Some(j) => j,
                None => {
                    remove(conn, &id)?;
                    pass.dropped += 1;
                    continue;
                }
            },
            Job::Staff {
                staff_id,
                template,
                params,
            } => {
                // One notice becomes a mail and/or an SMS, each its own row from here on.
                let jobs =
                    super::staff_contact::resolve(conn, relay, &staff_id, &template, &params)?;
                conn.transaction::<_, OutboxError, _>(|c| {
                    for j in &jobs {
                        enqueue(c, w.sealer, w.relay_to, j)?;
                    }
                    Ok(())
                })?;
                remove(conn, &id)?;
                pass.delivered += 1;
                continue;
            }
            other => other,
        };
        match transports.deliver(&job) {
            Ok(()) => {
                remove(conn, &id)?;
                pass.delivered += 1;
            }
            Err(DeliveryError::Permanent(why)) => {
                tracing::warn!(job = %id, kind = job.kind(), why, "outbox job refused; dropped");
                remove(conn, &id)?;
                pass.dropped += 1;
            }
            Err(e) if attempts + 1 >= MAX_ATTEMPTS => {
                tracing::warn!(job = %id, kind = job.kind(), error = %e, "outbox job failed {MAX_ATTEMPTS} times; dropped");
                remove(conn, &id)?;
                pass.dropped += 1;
            }
            Err(e) => {
                let why = match e {
                    DeliveryError::Temporary(w) => w,
                    DeliveryError::Unconfigured(k) => k,
                    DeliveryError::Permanent(w) => w,
                };
                retry_later(conn, &id, attempts, why)?;
                pass.retried += 1;
            }
        }
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(super::backoff(0), 30);
        assert_eq!(super::backoff(1), 60);
        assert_eq!(super::backoff(5), 960);
        assert_eq!(super::backoff(30), 6 * 3600);
    }
}
