//! `tipline ingest-email`: one mail from a mail server's pipe, with sysexits codes.

use std::process::ExitCode;
use tipline::config::Config;

/// `ingest-email` has its own exit codes and is handled before `run`.
pub(crate) fn unreachable_ingest() -> Result<(), String> {
    Err("ingest-email is handled separately".into())
}

/// sysexits.h: what a mail server's pipe transport understands.
pub(crate) const EX_DATAERR: u8 = 65;

pub(crate) const EX_TEMPFAIL: u8 = 75;

/// `tipline ingest-email`: reads one message from standard input and stores it. Prints only
/// the outcome and the class of a failure: the mail server may log it or put it in a bounce.
pub(crate) fn ingest_email() -> ExitCode {
    // Logs go to standard error, so standard output holds just the outcome.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIPLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let temp = |why: String| {
        eprintln!("tipline: temporary failure, nothing stored; try again later: {why}");
        ExitCode::from(EX_TEMPFAIL)
    };
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => return temp(e.to_string()),
    };
    // Read one byte more than the cap, so an oversized message is recognised without reading
    // all of it into memory.
    let mut raw = Vec::new();
    {
        use std::io::Read;
        let cap = config.max_email_bytes as u64 + 1;
        if let Err(e) = std::io::stdin().lock().take(cap).read_to_end(&mut raw) {
            return temp(format!("reading standard input: {e}"));
        }
    }
    let (target, keys) = match tipline::server::prepare(&config) {
        Ok(x) => x,
        Err(e) => return temp(e.to_string()),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return temp(e.to_string()),
    };
    let outcome = rt.block_on(async {
        let pool = tipline::db::pool(&target, 2).map_err(|e| e.to_string())?;
        let store = match target.backend {
            tipline::db::Backend::Sqlite => {
                tipline::intake::writer::TipStore::sqlite(&target).map_err(|e| e.to_string())?
            }
            tipline::db::Backend::Postgres => {
                tipline::intake::writer::TipStore::pooled(pool.clone())
            }
        };
        let intake = tipline::intake::Intake {
            sealer: std::sync::Arc::new(tipline::crypto::seal::Sealer::new(
                keys.node.clone(),
                std::time::Duration::from_secs(config.epoch_seconds.max(1)),
                10_000,
            )),
            keys,
            store,
        };
        let desk = tipline::intake::email::MailDesk {
            intake: &intake,
            pool: &pool,
            config: &config,
        };
        Ok::<_, String>(tipline::intake::email::ingest(&desk, raw).await)
    });
    use tipline::intake::email::{IngestError, Stored};
    match outcome {
        Err(e) => temp(e),
        Ok(Ok(stored)) => {
            out!(
                "tipline: {}",
                match stored {
                    Stored::NewTip => "stored as a new tip; the sender gets a receipt by mail",
                    Stored::Joined => "added to the sender's existing tip",
                    Stored::Repeat => "already stored earlier; nothing new",
                }
            );
            ExitCode::SUCCESS
        }
        Ok(Err(IngestError::Refused(why))) => {
            tracing::warn!(reason = why.code(), "mail refused");
            eprintln!("tipline: mail refused: {why}");
            ExitCode::from(EX_DATAERR)
        }
        Ok(Err(e @ IngestError::Temporary(_))) => temp(e.to_string()),
    }
}
