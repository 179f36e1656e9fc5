//! Durable commits. On SQLite a single writer thread takes whatever tips are waiting and commits
//! them in one transaction, each in its own savepoint (group commit): one fsync for many tips,
//! and a bad tip rolls back alone. On PostgreSQL each request commits in its own transaction on
//! the pool (the server does its own group commit). Either way the receipt goes back only
//! after COMMIT returned with `synchronous` on.

use super::store::insert_prepared;
use super::{IntakeError, PreparedTip, Submitted};
use crate::db::{DbConn, DbError, DbTarget, Pool, is_unique_violation};
use diesel::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most tips committed in one SQLite transaction.
const MAX_BATCH: usize = 128;

type Reply = oneshot::Sender<Result<Submitted, IntakeError>>;

#[derive(Clone)]
pub enum TipStore {
    Batched(mpsc::SyncSender<(Box<PreparedTip>, Reply)>),
    Pooled(Pool),
}

impl TipStore {
    pub fn sqlite(target: &DbTarget) -> Result<Self, DbError> {
        let mut conn = target.connect()?;
        let (tx, rx) = mpsc::sync_channel::<(Box<PreparedTip>, Reply)>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("tip-writer".into())
            .spawn(move || writer_loop(&mut conn, rx))
            .map_err(|e| DbError::Connect(e.to_string()))?;
        Ok(TipStore::Batched(tx))
    }

    pub fn pooled(pool: Pool) -> Self {
        TipStore::Pooled(pool)
    }

    pub async fn commit(&self, tip: PreparedTip) -> Result<Submitted, IntakeError> {
        match self {
            TipStore::Batched(tx) => {
                let (reply, wait) = oneshot::channel();
                let tx = tx.clone();
                // A full queue blocks briefly; do that off the async worker.
                tokio::task::spawn_blocking(move || tx.send((Box::new(tip), reply)))
                    .await
                    .map_err(|_| IntakeError::Unavailable)?
                    .map_err(|_| IntakeError::Unavailable)?;
                wait.await.map_err(|_| IntakeError::Unavailable)?
            }
            TipStore::Pooled(pool) => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
                    commit_one(&mut conn, &tip)
                })
                .await
                .map_err(|_| IntakeError::Unavailable)?
            }
        }
    }
}

/// One tip in its own transaction, retried when a concurrent commit of the same retry token or
/// epoch row raced it (the retry then sees the winner's row).
fn commit_one(conn: &mut DbConn, tip: &PreparedTip) -> Result<Submitted, IntakeError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match conn.transaction(|c| insert_prepared(c, tip)) {
            Err(IntakeError::Db(DbError::Query(e))) if attempt < 3 && is_unique_violation(&e) => {
                continue;
            }
            other => return other,
        }
    }
}

fn writer_loop(conn: &mut DbConn, rx: mpsc::Receiver<(Box<PreparedTip>, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut results: Vec<Result<Submitted, IntakeError>> = Vec::with_capacity(batch.len());
        let committed = conn.transaction::<_, diesel::result::Error, _>(|c| {
            // Take SQLite's write lock with the first statement: a transaction that reads first
            // and writes later can fail to upgrade while staff connections write.
            crate::audit::lock_head(c)?;
            results.clear();
            for (tip, _) in &batch {
                // Each tip in a savepoint: its failure rolls back only itself.
                results.push(c.transaction(|sp| insert_prepared(sp, tip)));
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; no receipt was issued for this batch");
                for (_, reply) in batch {
                    let _ = reply.send(Err(IntakeError::Db(DbError::Query(
                        diesel::result::Error::RollbackTransaction,
                    ))));
                }
            }
        }
    }
}
