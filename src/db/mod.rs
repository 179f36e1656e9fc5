//! Database access: one connection type over SQLite and PostgreSQL (diesel MultiConnection),
//! chosen by the URL scheme; per-backend migrations embedded in the binary and run at start.

pub mod backup;
pub mod schema;
pub mod sealed;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("connection pool: {0}")]
    Pool(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("unsupported database URL (use sqlite://PATH or postgres://...)")]
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DbTarget {
    pub backend: Backend,
    /// A file path for SQLite, a libpq URL for PostgreSQL.
    pub location: String,
}

impl DbTarget {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self {
                backend: Backend::Postgres,
                location: url.to_string(),
            })
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DbError::Url);
            }
            Ok(Self {
                backend: Backend::Sqlite,
                location: path.to_string(),
            })
        } else {
            Err(DbError::Url)
        }
    }

    pub fn connect(&self) -> Result<DbConn, DbError> {
        match self.backend {
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.location)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                // Durable means the commit is on disk before a receipt is shown.
                c.batch_execute("SET synchronous_commit = on")?;
                Ok(DbConn::Pg(c))
            }
            Backend::Sqlite => {
                if let Some(parent) = std::path::Path::new(&self.location).parent()
                    && !parent.as_os_str().is_empty()
                    && !parent.exists()
                {
                    std::fs::create_dir_all(parent).map_err(|e| DbError::Connect(e.to_string()))?;
                    // A data dir we create is readable by the service account only.
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = std::fs::set_permissions(
                            parent,
                            std::fs::Permissions::from_mode(0o700),
                        );
                    }
                }
                let fresh = !std::path::Path::new(&self.location).exists();
                let mut c = SqliteConnection::establish(&self.location)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                // A database file we create is the service account's only, whatever the umask;
                // SQLite gives its WAL and shared-memory files the same mode.
                #[cfg(unix)]
                if fresh {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(
                        &self.location,
                        std::fs::Permissions::from_mode(0o600),
                    )
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                }
                // WAL + synchronous=FULL: a commit is on disk when it returns. secure_delete
                // overwrites deleted content instead of leaving it in free pages.
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA secure_delete = ON;",
                )?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

pub struct Manager(DbTarget);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

pub fn pool(target: &DbTarget, size: u32) -> Result<Pool, DbError> {
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .build(Manager(target.clone()))
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Runs `f` holding the start lock. On PostgreSQL that is a session advisory lock, so nodes that
/// start together migrate, seed the units and record their keys one after another: without it,
/// two fresh nodes both find the keyring table empty and the second fails on a duplicate row.
/// On SQLite there is one node, and the file's own locking serializes writers.
pub fn under_start_lock<T, E: From<DbError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    const LOCK: i64 = 0x0074_6970_6c69_6e65; // "tipline"
    let pg = matches!(conn, DbConn::Pg(_));
    if pg {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
            .map_err(DbError::from)?;
    }
    let result = f(conn);
    if pg {
        // Advisory locks nest per session: this releases only what was taken above.
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"))
            .map_err(DbError::from)?;
    }
    result
}

/// Runs pending migrations, under the start lock.
pub fn migrate(conn: &mut DbConn) -> Result<(), DbError> {
    under_start_lock(conn, |conn| match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| DbError::Migrate(e.to_string())),
        DbConn::Pg(c) => c
            .run_pending_migrations(PG_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| DbError::Migrate(e.to_string())),
    })
}

/// The current hour (unix seconds, a multiple of 3600): what a reporter's action may store.
pub fn reporter_hour() -> i64 {
    let now = now_unix();
    now - now.rem_euclid(3600)
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The start of the hour holding `t` (unix seconds). Everything a reporter's action writes
/// carries at most this (DESIGN.md section 1, issue 13): never the second.
pub fn hour_floor(t: i64) -> i64 {
    t - t.rem_euclid(3600)
}

/// The first hour boundary at or after `t`: expiries a reporter's action sets are rounded up,
/// so they never end early and never carry the second they were set.
pub fn hour_ceil(t: i64) -> i64 {
    hour_floor(t + 3599)
}

/// The current hour, for rows a reporter's action writes.
pub fn this_hour() -> i64 {
    hour_floor(now_unix())
}

pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
