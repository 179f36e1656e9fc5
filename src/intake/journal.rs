//! The intake journal (issue 19). A new tip without attachments, contact or staff stamp is
//! committed into `tip_journal`: one row, one b-tree insert on a random key (`slot`, the first
//! 8 bytes of the receipt's keyed hash), no secondary index, the hour only. `drain` moves every journal row into the
//! indexed `tips` table (and its object key into `sealed_keys`) in one transaction, in no order
//! of arrival. The receipt holder's status lookup reads the journal too, so a receipt works the
//! moment it is shown; every other reader of `tips` in this process drains first (`web::db`),
//! and a background mover drains a few times a second, so the journal stays small.

use super::PreparedTip;
use crate::db::schema::tip_journal;
use crate::db::{DbConn, DbError, DbTarget};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Rows this process committed into the journal and did not see moved: a hint that readers of
/// `tips` should drain first. Raised only after the commit, cleared before a drain's snapshot,
/// so a committed row is never missed (at worst a drain finds nothing to move).
static PENDING: AtomicU64 = AtomicU64::new(0);
static WAKE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

/// Whether a tip takes the journal: the others (attachments or held files, which reference the
/// tip; a sealed
/// contact; a staff-entered tip with its audit entry) are inserted into `tips` directly.
pub fn takes_journal(t: &PreparedTip) -> bool {
    t.attachments.is_empty() && t.held.is_empty() && t.contact.is_none() && t.audit.is_none()
}

/// The journal's key for a receipt hash: its first 8 bytes as an integer. On SQLite it is the
/// table's rowid, so a row of about 1 KB stays in its leaf instead of spilling into an overflow
/// page, as it did in a WITHOUT ROWID table keyed by the whole hash (migration 000018).
pub fn slot_of(receipt_hash: &[u8]) -> i64 {
    let mut first = [0u8; 8];
    for (d, s) in first.iter_mut().zip(receipt_hash) {
        *d = *s;
    }
    i64::from_le_bytes(first)
}

/// Inserts one tip into the journal (a cached prepared statement). `false` when its slot is
/// taken by another waiting tip (two receipt hashes sharing 64 bits: about one chance in 10^14
/// per tip with 100,000 tips waiting); the caller then files the tip straight into `tips`.
pub fn insert(
    conn: &mut DbConn,
    t: &PreparedTip,
    unit: &str,
    route_mac: &[u8],
) -> QueryResult<bool> {
    let dek = &t.payload.dek_row;
    let row = (
        tip_journal::slot.eq(slot_of(&t.receipt_hash)),
        tip_journal::receipt_hash.eq(&t.receipt_hash),
        tip_journal::id.eq(&t.id),
        tip_journal::public_ref.eq(&t.public_ref),
        tip_journal::channel.eq(t.channel.as_str()),
        tip_journal::category.eq(&t.category),
        tip_journal::township.eq(&t.township),
        tip_journal::unit_code.eq(unit),
        tip_journal::county_only.eq(t.county_only),
        tip_journal::created_hour.eq(t.created_hour),
        tip_journal::reply_pubkey.eq(&t.reply_pubkey),
        tip_journal::payload.eq(&t.payload.ciphertext),
        tip_journal::receipt_private.eq(t.channel.receipt_is_private()),
        tip_journal::route_mac.eq(route_mac),
        tip_journal::dek_recipient.eq(&dek.recipient_key_id),
        tip_journal::dek_encapped.eq(&dek.encapped),
        tip_journal::dek_sealed.eq(&dek.sealed_key),
    );
    // ON CONFLICT is per backend in diesel (the multi-backend connection has no upsert).
    let n = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(tip_journal::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
        DbConn::Pg(c) => diesel::insert_into(tip_journal::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
    }?;
    Ok(n == 1)
}

/// Called by the writer after a commit that put `n` tips in the journal.
pub fn committed(n: usize) {
    if n > 0 {
        PENDING.fetch_add(n as u64, Ordering::SeqCst);
        WAKE.1.notify_one();
    }
}

/// A journal row seen by the receipt holder: (created hour, tip id, receipt private).
pub fn lookup(conn: &mut DbConn, receipt_hash: &[u8]) -> QueryResult<Option<(i64, String, bool)>> {
    tip_journal::table
        .filter(tip_journal::slot.eq(slot_of(receipt_hash)))
        .filter(tip_journal::receipt_hash.eq(receipt_hash))
        .select((
            tip_journal::created_hour,
            tip_journal::id,
            tip_journal::receipt_private,
        ))
        .first(conn)
        .optional()
}

/// Drains when this process left rows in the journal. Readers of `tips` call this first.
pub fn drain_if_pending(conn: &mut DbConn) -> Result<usize, DbError> {
    if PENDING.load(Ordering::SeqCst) == 0 {
        return Ok(0);
    }
    drain(conn)
}

const COLUMNS: &str = "id, public_ref, channel, category, township, unit_code, status, priority, \
    county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, attachment_count, \
    receipt_private, route_mac";
const FROM_JOURNAL: &str = "id, public_ref, channel, category, township, unit_code, 'received', \
    0, county_only, created_hour, created_hour, receipt_hash, reply_pubkey, payload, 0, \
    receipt_private, route_mac";

/// Moves every journal row into `tips` and `sealed_keys` in one transaction. Returns how many.
pub fn drain(conn: &mut DbConn) -> Result<usize, DbError> {
    PENDING.store(0, Ordering::SeqCst);
    let any = tip_journal::table
        .select(tip_journal::created_hour)
        .first::<i64>(conn)
        .optional()?;
    if any.is_none() {
        return Ok(0);
    }
    match move_all(conn) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            // A public reference (50 random bits) already taken: give those rows new ones.
            fix_public_refs(conn)?;
            Ok(move_all(conn)?)
        }
        other => Ok(other?),
    }
}

fn move_all(conn: &mut DbConn) -> QueryResult<usize> {
    match conn {
        DbConn::Sqlite(c) => c.immediate_transaction(|c| {
            // One writer at a time: the three statements see the same rows. The journal is a
            // b-tree on a random key, so its order is not the order of arrival.
            let n = diesel::sql_query(format!(
                "INSERT INTO tips ({COLUMNS}) SELECT {FROM_JOURNAL} FROM tip_journal"
            ))
            .execute(c)?;
            diesel::sql_query(
                "INSERT INTO sealed_keys (object_kind, object_id, recipient_key_id, encapped, \
                 sealed_key) SELECT 'tip', id, dek_recipient, dek_encapped, dek_sealed \
                 FROM tip_journal WHERE true ON CONFLICT DO NOTHING",
            )
            .execute(c)?;
            diesel::sql_query("DELETE FROM tip_journal").execute(c)?;
            Ok(n)
        }),
        // One statement, one snapshot: the rows deleted are the rows moved; a concurrent drain
        // waits on the row locks and then skips the rows this one took. Shuffled, so the heap's
        // order says nothing about arrival.
        DbConn::Pg(_) => diesel::sql_query(format!(
            "WITH moved AS (DELETE FROM tip_journal RETURNING *), \
             k AS (INSERT INTO sealed_keys (object_kind, object_id, recipient_key_id, encapped, \
             sealed_key) SELECT 'tip', id, dek_recipient, dek_encapped, dek_sealed FROM moved \
             ON CONFLICT DO NOTHING) \
             INSERT INTO tips ({COLUMNS}) SELECT {FROM_JOURNAL} FROM moved ORDER BY random()"
        ))
        .execute(conn),
    }
}

#[derive(QueryableByName)]
struct Clash {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    slot: i64,
}

fn fix_public_refs(conn: &mut DbConn) -> Result<(), DbError> {
    let clashes: Vec<Clash> = diesel::sql_query(
        "SELECT j.slot FROM tip_journal j WHERE EXISTS \
         (SELECT 1 FROM tips t WHERE t.public_ref = j.public_ref) OR EXISTS \
         (SELECT 1 FROM tip_journal o WHERE o.public_ref = j.public_ref \
          AND o.slot <> j.slot)",
    )
    .load(conn)?;
    for c in clashes {
        let fresh = super::public_ref().map_err(|e| DbError::Connect(e.to_string()))?;
        diesel::update(tip_journal::table.filter(tip_journal::slot.eq(c.slot)))
            .set(tip_journal::public_ref.eq(fresh))
            .execute(conn)?;
    }
    Ok(())
}

/// The longest the mover lets tips gather while they keep arriving; idle, it moves `IDLE` after
/// the last one. On SQLite a move holds the one write lock and pays the `tips` indexes, so moving
/// during a burst would hand that cost back to the writer: a burst is absorbed by the journal,
/// and any reader of `tips` drains it first, so nothing waits on the mover to be seen.
const MOVE_EVERY: Duration = Duration::from_secs(30);
/// Most rows the mover lets gather before moving them anyway.
const MOVE_AT: u64 = 100_000;
const IDLE: Duration = Duration::from_secs(1);

/// Starts the background mover on its own connection: it drains shortly after tips stop
/// arriving, and at least every `MOVE_EVERY` (or `MOVE_AT` rows) while they keep arriving.
pub fn spawn_mover(target: &DbTarget) -> Result<(), DbError> {
    let mut conn = connect_quiet(target)?;
    // Whatever a previous run left (a crash between commit and move) is moved now.
    drain(&mut conn)?;
    std::thread::Builder::new()
        .name("tip-mover".into())
        .spawn(move || {
            loop {
                wait_for_rows();
                if let Err(e) = drain(&mut conn) {
                    tracing::error!(error = %e, "intake journal: move failed; retrying");
                    PENDING.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| DbError::Connect(e.to_string()))?;
    Ok(())
}

fn wait_for_rows() {
    let (lock, wake) = &WAKE;
    let Ok(mut guard) = lock.lock() else { return };
    while PENDING.load(Ordering::SeqCst) == 0 {
        guard = match wake.wait_timeout(guard, MOVE_EVERY) {
            Ok((g, _)) => g,
            Err(_) => return,
        };
    }
    let first = std::time::Instant::now();
    loop {
        let before = PENDING.load(Ordering::SeqCst);
        guard = match wake.wait_timeout(guard, IDLE) {
            Ok((g, _)) => g,
            Err(_) => return,
        };
        let now = PENDING.load(Ordering::SeqCst);
        if now == before || now >= MOVE_AT || first.elapsed() >= MOVE_EVERY {
            return;
        }
    }
}

/// The writer's and mover's SQLite settings: no checkpoint inside their own COMMIT (the
/// checkpointer does it), and a page cache (64 MiB) that holds the journal's b-tree through a
/// burst, so a random-key insert finds its leaf in memory instead of reading it back from the WAL.
const WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536;";

/// A SQLite connection that never checkpoints inside its own COMMIT (the checkpointer does).
pub fn connect_quiet(target: &DbTarget) -> Result<DbConn, DbError> {
    let mut conn = target.connect()?;
    if let DbConn::Sqlite(c) = &mut conn {
        c.batch_execute(WRITER_PRAGMAS)?;
    }
    Ok(conn)
}

/// On SQLite, copies the WAL back into the database file on its own thread and connection, so
/// no writer's COMMIT pays for it (the writer and mover connections have auto-checkpoint off).
pub fn spawn_checkpointer(target: &DbTarget) -> Result<(), DbError> {
    if target.backend != crate::db::Backend::Sqlite {
        return Ok(());
    }
    let mut conn = target.connect()?;
    std::thread::Builder::new()
        .name("wal-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                // PASSIVE: never waits for a writer or a reader; what it cannot copy now it
                // copies next time.
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| DbError::Connect(e.to_string()))?;
    Ok(())
}
