//! The `tipline` command line (DESIGN.md section 6).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tipline::config::Config;

/// `println!` for what a command prints: a closed pipe (`tipline user list | head`) ends the
/// command as SIGPIPE would, quietly and with status 141, instead of a panic in `println!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            crate::stdout_failed(e)
        }
    }};
}

mod cli;

use cli::{
    accounts::*, audit::*, email::*, ferry::FerryAction, keys::*, policy::*, reports::*,
    retention::*,
};

#[derive(Parser)]
#[command(
    name = "tipline",
    version,
    about = "Anonymous tip-line and reward portal"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage the keys dir.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Units: the county brigade and the police stations, and the townships each serves.
    Unit {
        #[command(subcommand)]
        action: UnitAction,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Bearer tokens for the staff API.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// A consistent copy of the database while serving (SQLite VACUUM INTO, or pg_dump),
    /// without the keys.
    Backup { dest: std::path::PathBuf },
    /// Store one email (RFC 5322 on standard input) as a tip, for a mail server's pipe.
    /// Exit codes: 0 stored (or already stored), 65 refused (bad mail: the mail server bounces
    /// it), 75 temporary failure (the mail server keeps it and retries).
    IngestEmail,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Retention: purge contact details and delete closed unfounded / out-of-scope tips as the
    /// `retention` policy document says, keeping only their report counts; then compact the
    /// database. Schedule it daily (see docs/operator-guide.md).
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// Reports: `monthly` writes a month's figures as CSV and XLSX (small counts suppressed).
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// The blind index that links related tips (police zone: needs the office key).
    Index {
        #[command(subcommand)]
        action: IndexAction,
    },
    /// Policy documents: `rewards` (schedule, cap, deadlines, approval ladder) and `calendar`
    /// (public holidays and make-up working days). Each change is a new version.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// The ferry between an intake node and a police node (split zones).
    Ferry {
        #[command(subcommand)]
        action: FerryAction,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIPLINE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,actix_server=warn,actix_web=warn")
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

fn run(cli: Cli) -> Result<(), String> {
    init_logging();
    let config = Config::load().map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let rt = actix_web::rt::System::new();
            rt.block_on(tipline::server::serve(config))
                .map_err(|e| e.to_string())
        }
        Command::Migrate => cli::db::migrate(&config),
        Command::Keys { action } => cli::keys::run(&config, action),
        Command::Index {
            action: IndexAction::Run { all },
        } => cli::db::index(&config, all),
        Command::Ferry { action } => {
            out!("{}", cli::ferry::run(&config, action)?);
            Ok(())
        }
        Command::Unit { action } => cli::accounts::unit(&config, action),
        Command::User { action } => cli::accounts::user(&config, action),
        Command::Token { action } => cli::accounts::token(&config, action),
        Command::Backup { dest } => cli::db::backup(&config, &dest),
        Command::Audit { action } => cli::audit::run(&config, action),
        Command::Retention {
            action: RetentionAction::Run { dry_run },
        } => retention_run(&config, dry_run),
        Command::Report {
            action:
                ReportAction::Monthly {
                    month,
                    unit,
                    out,
                    mail,
                },
        } => report_monthly(&config, &month, unit.as_deref(), &out, mail),
        Command::Policy { action } => cli::policy::run(&config, action),
        Command::IngestEmail => unreachable_ingest(),
    }
}

/// Commands print what they did after doing it, so stopping here loses no work: a reader that
/// went away (`| head`) gets the shell's status for SIGPIPE, any other failure an error.
fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    eprintln!("tipline: stdout: {e}");
    std::process::exit(1)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::IngestEmail)) {
        return ingest_email();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tipline: {e}");
            ExitCode::FAILURE
        }
    }
}
