//! The `tipline` command line (DESIGN.md section 6).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tipline::config::Config;
use tipline::crypto::keyring::Keyring;

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
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create the database (if needed) and a new set of keys, then exit.
    Init,
    /// Print the public keys (office, relay, node) for an intake node in a split deployment.
    ExportPublic,
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

fn run() -> Result<(), String> {
    let cli = Cli::parse();
    init_logging();
    let config = Config::load().map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let rt = actix_web::rt::System::new();
            rt.block_on(tipline::server::serve(config))
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let target =
                tipline::db::DbTarget::parse(&config.database_url).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            tipline::db::migrate(&mut conn).map_err(|e| e.to_string())?;
            tipline::triage::routing::seed_units(&mut conn).map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Init,
        } => {
            tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Keys {
            action: KeysAction::ExportPublic,
        } => {
            let ring = Keyring::load(&config.keys_dir).map_err(|e| e.to_string())?;
            for kind in [
                tipline::crypto::keyring::OFFICE,
                tipline::crypto::keyring::RELAY,
                tipline::crypto::keyring::NODE,
            ] {
                let path = ring.dir.join(format!("{kind}.pub"));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                println!("{text}");
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tipline: {e}");
            ExitCode::FAILURE
        }
    }
}
