//! Durable commits (group commit, issue 19). Writer threads, each with its own connection
//! (one on SQLite, a few on PostgreSQL so one gathers a batch while another waits on its
//! flush), take whatever tips are waiting and commit them in one transaction: one fsync for
//! many tips. No savepoint per tip: a tip that fails makes its batch roll back, and then each of
//! the batch's tips is committed again in its own transaction, so one bad tip fails alone. The
//! receipt goes back only after COMMIT returned with `synchronous` on (FULL on SQLite,
//! `synchronous_commit = on` on PostgreSQL). In the server, a tip without attachments, contact or
//! staff stamp is written to the intake journal (`journal.rs`), one b-tree insert.

use super::store::{BatchCache, insert_journaled, insert_prepared};
use super::{IntakeError, PreparedTip, Submitted, journal};
use crate::db::{Backend, DbConn, DbError, DbTarget, Pool, is_unique_violation};
use diesel::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Most tips committed in one transaction.
const MAX_BATCH: usize = 256;
/// Tips committed by the SQLite writer between its own checkpoints (about 45 MB of WAL).
const CHECKPOINT_EVERY: usize = 4096;
/// Writer threads (connections) on PostgreSQL.
const PG_WRITERS: usize = 4;

type Reply = oneshot::Sender<Result<Submitted, IntakeError>>;
type Job = (Box<PreparedTip>, Reply);

#[derive(Clone)]
pub enum TipStore {
    Batched(mpsc::Sender<Job>),
    Pooled(Pool),
}

impl TipStore {
    /// Group commit without the journal: every tip straight into `tips` (a process that runs
    /// no mover, like the mail-ingest command).
    pub fn sqlite(target: &DbTarget) -> Result<Self, DbError> {
        Self::start(target, false)
    }

    /// Group commit on `target`'s backend; `journal` sends plain tips to the intake journal
    /// (the caller runs `journal::spawn_mover`).
    pub fn start(target: &DbTarget, journal: bool) -> Result<Self, DbError> {
        let writers = match target.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => PG_WRITERS,
        };
        let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..writers {
            let conn = journal::connect_quiet(target)?;
            let rx = rx.clone();
            let target = target.clone();
            std::thread::Builder::new()
                .name(format!("tip-writer-{n}"))
                .spawn(move || writer_loop(conn, &target, &rx, journal))
                .map_err(|e| DbError::Connect(e.to_string()))?;
        }
        Ok(TipStore::Batched(tx))
    }

    pub fn pooled(pool: Pool) -> Self {
        TipStore::Pooled(pool)
    }

    pub async fn commit(&self, tip: PreparedTip) -> Result<Submitted, IntakeError> {
        match self {
            TipStore::Batched(tx) => {
                let (reply, wait) = oneshot::channel();
                // An async send: a full queue parks this request, not a worker thread.
                tx.send((Box::new(tip), reply))
                    .await
                    .map_err(|_| IntakeError::Unavailable)?;
                wait.await.map_err(|_| IntakeError::Unavailable)?
            }
            TipStore::Pooled(pool) => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
                    commit_one(&mut conn, &tip, false).map(|(s, _)| s)
                })
                .await
                .map_err(|_| IntakeError::Unavailable)?
            }
        }
    }
}

/// One tip, into the journal or into `tips`: (the outcome, whether it went to the journal).
fn insert_one(
    c: &mut DbConn,
    tip: &PreparedTip,
    use_journal: bool,
    cache: &mut BatchCache,
) -> Result<(Submitted, bool), IntakeError> {
    if use_journal && journal::takes_journal(tip) {
        insert_journaled(c, tip, cache).map(|s| {
            let journaled = matches!(s, Submitted::Created(_));
            (s, journaled)
        })
    } else {
        insert_prepared(c, tip).map(|s| (s, false))
    }
}

/// One tip in its own transaction, retried when a concurrent commit of the same retry token or
/// epoch row raced it (the retry then sees the winner's row).
fn commit_one(
    conn: &mut DbConn,
    tip: &PreparedTip,
    use_journal: bool,
) -> Result<(Submitted, bool), IntakeError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut cache = BatchCache::default();
        match conn.transaction(|c| {
            crate::audit::lock_head_on_sqlite(c)?;
            insert_one(c, tip, use_journal, &mut cache)
        }) {
            Err(IntakeError::Db(DbError::Query(e))) if attempt < 3 && is_unique_violation(&e) => {
                continue;
            }
            other => return other,
        }
    }
}

fn next_batch(rx: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut rx = rx.lock().ok()?;
    let first = rx.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn writer_loop(
    mut conn: DbConn,
    target: &DbTarget,
    rx: &Mutex<mpsc::Receiver<Job>>,
    use_journal: bool,
) {
    let mut since_checkpoint = 0;
    while let Some(batch) = next_batch(rx) {
        // A passive checkpoint on another connection never catches up with a steady stream of
        // commits, so the WAL would never start over and would grow (each frame extending the
        // file) for as long as a burst lasts. Between two batches this connection is the only
        // writer, so a checkpoint here copies the few frames left and the next commit starts
        // the WAL from its beginning. Measured on a fresh SQLite database, 8 s bursts: 0.23-0.25
        // of meta before, see docs/benchmarks.md for after.
        since_checkpoint += batch.len();
        if since_checkpoint >= CHECKPOINT_EVERY && matches!(conn, DbConn::Sqlite(_)) {
            since_checkpoint = 0;
            if let Err(e) = diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                "PRAGMA wal_checkpoint(PASSIVE);",
            ) {
                tracing::warn!(error = %e, "WAL checkpoint between batches failed");
            }
        }
        let mut cache = BatchCache::default();
        let committed = conn.transaction::<_, IntakeError, _>(|c| {
            // On SQLite, take the write lock with the first statement: a transaction that reads
            // first and writes later can fail to upgrade while staff connections write.
            crate::audit::lock_head_on_sqlite(c)?;
            cache = BatchCache::default();
            batch
                .iter()
                .map(|(tip, _)| insert_one(c, tip, use_journal, &mut cache))
                .collect::<Result<Vec<_>, _>>()
        });
        match committed {
            Ok(results) => {
                journal::committed(results.iter().filter(|(_, j)| *j).count());
                for ((_, reply), (result, _)) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(first) => {
                // Rare (a spent captcha, a retry token sent with other content, a lost
                // connection): each tip again on its own, so each gets its own answer.
                tracing::debug!(error = %first, "group commit rolled back; committing one by one");
                if matches!(conn, DbConn::Pg(_)) && !connection_alive(&mut conn) {
                    match journal::connect_quiet(target) {
                        Ok(fresh) => conn = fresh,
                        Err(e) => tracing::error!(error = %e, "tip writer cannot reconnect"),
                    }
                }
                for (tip, reply) in batch {
                    let result = commit_one(&mut conn, &tip, use_journal);
                    if let Ok((_, true)) = &result {
                        journal::committed(1);
                    }
                    if let Err(e) = &result
                        && !matches!(
                            e,
                            IntakeError::CaptchaReplayed | IntakeError::IdempotencyMismatch
                        )
                    {
                        tracing::error!(error = %e, "tip commit failed; no receipt was issued");
                    }
                    let _ = reply.send(result.map(|(s, _)| s));
                }
            }
        }
    }
}

fn connection_alive(conn: &mut DbConn) -> bool {
    diesel::connection::SimpleConnection::batch_execute(conn, "SELECT 1").is_ok()
}
