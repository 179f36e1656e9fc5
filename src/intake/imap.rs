//! The IMAP poller (DESIGN.md section 4): every `TIPLINE_IMAP_POLL_SECONDS` the server reads
//! the tip mailbox, stores each message through `email::ingest`, and only after the tip's
//! transaction committed deletes the message (or moves it to `TIPLINE_IMAP_MOVE_TO`). A refused
//! message is flagged `$TiplineRefused` first (so it is never fetched again, even if the move
//! fails) and moved to the quarantine folder for an operator: never lost, never retried
//! forever. A message whose storing failed for a temporary reason stays where it is; if it
//! fails three times while the database answers, it is quarantined too.
//!
//! Only one node polls: on PostgreSQL each pass first takes a session advisory lock on a
//! connection of its own (`pg_try_advisory_lock`); a node that does not get it skips the pass,
//! and the lock goes with the connection if the node dies. SQLite has one node by nature. Two
//! pollers at once would still not make two tips of one message: the message's keyed hash is an
//! idempotency key, so the second one's commit replays the first's receipt.
//!
//! The log says how many messages were stored or refused and why, never a sender, a subject
//! or a UID that would find the message again.

use super::email::{IngestError, MailDesk, Refusal, Stored, ingest};
use crate::config::ImapConfig;
use crate::db::{DbConn, DbTarget};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Keyword set on a refused message before it is moved, so it is never fetched again.
pub const REFUSED_KEYWORD: &str = "$TiplineRefused";
/// PostgreSQL advisory lock key of the poller ("tipimap").
pub const POLL_LOCK: i64 = 0x0074_6970_696d_6170;
/// Messages handled in one pass; the rest wait for the next.
const PER_PASS: usize = 50;
/// A pass that takes longer is abandoned (a stuck server); what committed stays committed and
/// its message is deleted on the next pass (the commit replays).
const PASS_TIMEOUT: Duration = Duration::from_secs(600);
/// Temporary failures of one message, with the database up, before it is quarantined.
const MAX_STRIKES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("cannot reach the IMAP server: {0}")]
    Connect(std::io::Error),
    #[error("TLS to the IMAP server failed: {0}")]
    Tls(String),
    #[error("the IMAP server refused the login")]
    Login,
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("the database is unavailable: {0}")]
    Db(String),
    #[error("storing a message failed ({0}); it stays in the mailbox for the next pass")]
    Temporary(&'static str),
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + std::fmt::Debug> Stream
    for T
{
}

type Session = async_imap::Session<Box<dyn Stream>>;

/// What one pass did, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub stored: usize,
    pub joined: usize,
    pub repeated: usize,
    pub quarantined: usize,
}

pub struct Poller {
    cfg: ImapConfig,
    target: DbTarget,
    /// Temporary failures per UID, within one UIDVALIDITY.
    strikes: HashMap<u32, u32>,
    uid_validity: Option<u32>,
}

async fn connect(cfg: &ImapConfig) -> Result<Session, PollError> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::net::TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    .map_err(|_| PollError::Connect(std::io::ErrorKind::TimedOut.into()))?
    .map_err(PollError::Connect)?;
    let stream: Box<dyn Stream> = if cfg.tls {
        use tokio_rustls::rustls;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PollError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(cfg.host.clone())
            .map_err(|e| PollError::Tls(e.to_string()))?;
        let s = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| PollError::Tls(e.to_string()))?;
        Box::new(s)
    } else {
        Box::new(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(PollError::Connect)?
        .ok_or(PollError::Connect(std::io::ErrorKind::UnexpectedEof.into()))?;
    client
        .login(&cfg.user, cfg.password.as_str())
        .await
        .map_err(|_| PollError::Login)
}

/// On PostgreSQL, a connection holding the poll lock; `Ok(None)` when another node holds it.
/// On SQLite, nothing to hold.
fn take_lock(target: &DbTarget) -> Result<Option<Option<DbConn>>, PollError> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    match target.backend {
        crate::db::Backend::Sqlite => Ok(Some(None)),
        crate::db::Backend::Postgres => {
            let mut conn = target.connect().map_err(|e| PollError::Db(e.to_string()))?;
            let DbConn::Pg(pg) = &mut conn else {
                return Ok(Some(None));
            };
            let got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(POLL_LOCK)
                .get_result::<Locked>(pg)
                .map_err(|e| PollError::Db(e.to_string()))?;
            Ok(got.locked.then_some(Some(conn)))
        }
    }
}

async fn database_answers(desk: &MailDesk<'_>) -> bool {
    let pool = desk.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        pool.get()
            .ok()
            .is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok())
    })
    .await
    .unwrap_or(false)
}

async fn drain<S, T>(stream: S) -> Result<Vec<T>, PollError>
where
    S: futures_util::Stream<Item = Result<T, async_imap::error::Error>>,
{
    Ok(stream.try_collect::<Vec<T>>().await?)
}

/// Removes one message flagged `\\Deleted`: `UID EXPUNGE` (UIDPLUS), or without it a plain
/// `EXPUNGE` of everything flagged.
async fn expunge(s: &mut Session, uid: u32) -> Result<(), PollError> {
    let by_uid = match s.uid_expunge(uid.to_string()).await {
        Ok(stream) => drain(stream).await.is_ok(),
        Err(_) => false,
    };
    if !by_uid {
        drain(s.expunge().await?).await?;
    }
    Ok(())
}

impl Poller {
    pub fn new(cfg: ImapConfig, target: DbTarget) -> Self {
        Self {
            cfg,
            target,
            strikes: HashMap::new(),
            uid_validity: None,
        }
    }

    /// Polls for ever at the configured interval.
    pub async fn run(mut self, desk: MailDesk<'_>) {
        let mut tick = tokio::time::interval(Duration::from_secs(self.cfg.poll_seconds));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match tokio::time::timeout(PASS_TIMEOUT, self.poll_once(&desk)).await {
                // Debug only: at info, the journal's microsecond stamp on "stored=1" would time
                // each emailed tip (issue 13).
                Ok(Ok(Some(p))) if p != Pass::default() => tracing::debug!(
                    stored = p.stored,
                    joined = p.joined,
                    repeated = p.repeated,
                    quarantined = p.quarantined,
                    "imap: mailbox polled"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "imap: poll failed; trying again later"),
                Err(_) => tracing::warn!("imap: poll took too long; abandoned"),
            }
        }
    }

    /// One pass; `None` when another node holds the poll lock.
    pub async fn poll_once(&mut self, desk: &MailDesk<'_>) -> Result<Option<Pass>, PollError> {
        let target = self.target.clone();
        let lock = tokio::task::spawn_blocking(move || take_lock(&target))
            .await
            .map_err(|_| PollError::Db("lock task failed".into()))??;
        let Some(_lock) = lock else {
            tracing::debug!("imap: another node is polling");
            return Ok(None);
        };
        let mut session = connect(&self.cfg).await?;
        let result = self.pass(&mut session, desk).await;
        let _ = session.logout().await;
        // `_lock` (the PostgreSQL connection) closes here, which releases the advisory lock.
        result.map(Some)
    }

    async fn pass(&mut self, s: &mut Session, desk: &MailDesk<'_>) -> Result<Pass, PollError> {
        let mailbox = s.select(&self.cfg.mailbox).await?;
        if mailbox.uid_validity != self.uid_validity {
            self.strikes.clear();
            self.uid_validity = mailbox.uid_validity;
        }
        let mut uids: Vec<u32> = s
            .uid_search(format!("UNDELETED UNKEYWORD {REFUSED_KEYWORD}"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let mut pass = Pass::default();
        for uid in uids.into_iter().take(PER_PASS) {
            let size = drain(s.uid_fetch(uid.to_string(), "RFC822.SIZE").await?)
                .await?
                .into_iter()
                .find_map(|f| f.size);
            let outcome = match size {
                None => continue, // gone meanwhile (another client expunged it)
                Some(n) if n as usize > desk.config.max_email_bytes => {
                    // Refused without downloading it.
                    Err(IngestError::Refused(Refusal::TooLarge))
                }
                Some(_) => {
                    let fetched = drain(s.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?).await?;
                    let Some(raw) = fetched.iter().find_map(|f| f.body().map(<[u8]>::to_vec))
                    else {
                        continue;
                    };
                    drop(fetched);
                    ingest(desk, raw).await
                }
            };
            match outcome {
                Ok(stored) => {
                    match stored {
                        Stored::NewTip => pass.stored += 1,
                        Stored::Joined => pass.joined += 1,
                        Stored::Repeat => pass.repeated += 1,
                    }
                    self.strikes.remove(&uid);
                    self.done(s, uid).await?;
                }
                Err(IngestError::Refused(why)) => {
                    tracing::warn!(
                        reason = why.code(),
                        "imap: mail refused: {why}; quarantined"
                    );
                    self.quarantine(s, uid).await?;
                    pass.quarantined += 1;
                }
                Err(IngestError::Temporary(why)) => {
                    if database_answers(desk).await {
                        let n = self.strikes.entry(uid).or_insert(0);
                        *n += 1;
                        if *n >= MAX_STRIKES {
                            tracing::warn!(
                                reason = "failed_repeatedly",
                                "imap: mail failed {MAX_STRIKES} times ({why}); quarantined"
                            );
                            self.strikes.remove(&uid);
                            self.quarantine(s, uid).await?;
                            pass.quarantined += 1;
                            continue;
                        }
                    }
                    return Err(PollError::Temporary(why));
                }
            }
        }
        Ok(pass)
    }

    /// After the commit: delete the message, or move it where the office keeps handled mail.
    async fn done(&self, s: &mut Session, uid: u32) -> Result<(), PollError> {
        match &self.cfg.move_to {
            Some(folder) => self.move_to(s, uid, folder).await,
            None => {
                drain(
                    s.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Deleted)")
                        .await?,
                )
                .await?;
                expunge(s, uid).await
            }
        }
    }

    async fn quarantine(&self, s: &mut Session, uid: u32) -> Result<(), PollError> {
        drain(
            s.uid_store(
                uid.to_string(),
                format!("+FLAGS.SILENT ({REFUSED_KEYWORD})"),
            )
            .await?,
        )
        .await?;
        let folder = self.cfg.quarantine.clone();
        if let Err(e) = self.move_to(s, uid, &folder).await {
            // Flagged, so it will not be fetched again; it stays in the mailbox.
            tracing::warn!(error = %e, "imap: could not move a refused mail to the quarantine folder; left flagged {REFUSED_KEYWORD}");
        }
        Ok(())
    }

    async fn move_to(&self, s: &mut Session, uid: u32, folder: &str) -> Result<(), PollError> {
        // Creating a folder that exists fails harmlessly.
        let _ = s.create(folder).await;
        if s.uid_mv(uid.to_string(), folder).await.is_ok() {
            return Ok(());
        }
        // Without MOVE: copy, then delete the original.
        s.uid_copy(uid.to_string(), folder).await?;
        drain(
            s.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Deleted)")
                .await?,
        )
        .await?;
        expunge(s, uid).await
    }
}
