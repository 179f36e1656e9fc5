//! The `tipline` command line (DESIGN.md section 6).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tipline::config::Config;
use tipline::crypto::keyring::Keyring;

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

use cli::{accounts::*, audit::*, email::*, keys::*, policy::*, reports::*, retention::*};

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
        Command::Migrate => {
            let target =
                tipline::db::DbTarget::parse(&config.database_url).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            tipline::db::under_start_lock(&mut conn, |conn| {
                tipline::db::migrate(conn)?;
                tipline::triage::routing::seed_units(conn)
            })
            .map_err(|e| e.to_string())?;
            out!("migrations applied");
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Init { passphrase_file },
        } => {
            let mut config = config;
            if passphrase_file.is_some() {
                config.keys_passphrase_file = passphrase_file;
            }
            tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Index {
            action: IndexAction::Run { all },
        } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let opener = keys
                .office_opener()
                .ok_or("the office private key is not in the keys dir (police zone only)")?;
            let blind = tipline::crypto::blind::BlindKeys::new(&keys.peppers.blind_index);
            let linker = tipline::triage::links::Linker {
                signer: &keys.audit_signer(),
                opener: &opener,
                blind: &blind,
                route: &tipline::triage::routing::RouteKey::new(&keys),
            };
            if all {
                tipline::triage::links::reset_index(&mut conn).map_err(|e| e.to_string())?;
            }
            let mut total = 0;
            loop {
                let n = tipline::triage::links::index_pending(&mut conn, &linker)
                    .map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                total += n;
            }
            out!("indexed {total} tips");
            Ok(())
        }
        Command::Keys {
            action: KeysAction::BindRouting,
        } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let n = tipline::triage::routing::bind_unbound(
                &mut conn,
                &tipline::triage::routing::RouteKey::new(&keys),
                &keys.audit_signer(),
            )
            .map_err(|e| e.to_string())?;
            out!("bound the routing of {n} tips");
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Rotate { kind, batch },
        } => {
            let (target, _) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let r = tipline::keys::rotate(
                &mut conn,
                &config.keys_dir,
                config.keys_passphrase_file.as_deref(),
                kind.name(),
                batch.max(1),
            )
            .map_err(|e| e.to_string())?;
            let k = kind.name();
            if r.generated {
                out!(
                    "new {k} key {} (the old key {} is kept for opening)",
                    r.new,
                    r.old
                );
            } else {
                out!(
                    "resuming the rotation of the {k} key {} -> {}",
                    r.old,
                    r.new
                );
            }
            out!(
                "re-sealed {} epochs to {}. Restart (or copy {k}.pub to) every other node, then \
                 run `tipline keys retire {k}`.",
                r.resealed,
                r.new
            );
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Retire { kind },
        } => {
            let (target, _) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let old = tipline::keys::retire(
                &mut conn,
                &config.keys_dir,
                config.keys_passphrase_file.as_deref(),
                kind.name(),
            )
            .map_err(|e| e.to_string())?;
            out!(
                "retired the old {} key {old}: its file is destroyed",
                kind.name()
            );
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Protect { passphrase_file },
        } => {
            let pass = tipline::crypto::keyring::Passphrase::from_file(&passphrase_file)
                .map_err(|e| e.to_string())?;
            let done = Keyring::protect_dir(&config.keys_dir, &pass).map_err(|e| e.to_string())?;
            for f in &done {
                out!("protected {}", f.display());
            }
            out!(
                "{} files protected. Start the server with TIPLINE_KEYS_PASSPHRASE_FILE={}",
                done.len(),
                passphrase_file.display()
            );
            Ok(())
        }
        Command::Unit { action } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            match action {
                UnitAction::List => {
                    for u in tipline::triage::routing::list_units(&mut conn)
                        .map_err(|e| e.to_string())?
                    {
                        out!("{}\t{}\t{}", u.code, u.name_zh, u.townships.join(","));
                    }
                }
                UnitAction::Add {
                    code,
                    name,
                    townships,
                } => {
                    tipline::triage::routing::add_unit(
                        &mut conn,
                        &keys.audit_signer(),
                        "cli",
                        &code,
                        &name,
                        &townships,
                    )
                    .map_err(|e| e.to_string())?;
                    out!("unit {code} added");
                }
            }
            Ok(())
        }
        Command::User { action } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let signer = keys.audit_signer();
            match action {
                UserAction::Add {
                    username,
                    role,
                    unit,
                    password_file,
                    keep_password,
                } => {
                    let (password, generated) = initial_password(password_file.as_deref())?;
                    let hours = config.initial_password_hours;
                    let u = tipline::staff::accounts::NewUser {
                        username: &username,
                        role: &role,
                        unit: unit.as_deref(),
                        password: &password,
                        initial_hours: (!keep_password).then_some(hours),
                    };
                    // The operator at the console: approved at once (staff::approval).
                    tipline::staff::accounts::add_user(&mut conn, &signer, "cli", &u, None)
                        .map_err(|e| e.to_string())?;
                    out!("user {username} added ({role})");
                    if generated {
                        out!("initial password (shown once): {}", password.as_str());
                    }
                    out!("At first login they enrol an authenticator app (TOTP).");
                    if !keep_password {
                        out!(
                            "The initial password must be changed at first login and expires unused in {hours} h."
                        );
                    }
                }
                UserAction::ResetPassword {
                    username,
                    password_file,
                } => {
                    let (password, generated) = initial_password(password_file.as_deref())?;
                    let hours = config.initial_password_hours;
                    tipline::staff::accounts::reset_password(
                        &mut conn, &signer, "cli", &username, &password, hours,
                    )
                    .map_err(|e| e.to_string())?;
                    out!("user {username}: new initial password set; their sessions ended");
                    if generated {
                        out!("initial password (shown once): {}", password.as_str());
                    }
                    out!("It must be changed at the next login and expires unused in {hours} h.");
                }
                UserAction::List => {
                    for (_, name, role, unit, disabled) in
                        tipline::staff::accounts::list_users(&mut conn)
                            .map_err(|e| e.to_string())?
                    {
                        out!(
                            "{name}\t{role}\t{}\t{}",
                            unit.unwrap_or_else(|| "-".into()),
                            if disabled { "disabled" } else { "active" }
                        );
                    }
                }
                UserAction::Disable { username } => {
                    tipline::staff::accounts::set_disabled(
                        &mut conn, &signer, "cli", &username, true,
                    )
                    .map_err(|e| e.to_string())?;
                    out!("user {username} disabled; their sessions ended");
                }
            }
            Ok(())
        }
        Command::Token { action } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let signer = keys.audit_signer();
            match action {
                TokenAction::Issue {
                    username,
                    hours,
                    scope,
                } => {
                    let scopes = tipline::staff::auth::Scope::parse_list(&scope)
                        .map_err(|e| e.to_string())?;
                    let hours = hours.clamp(1, tipline::staff::auth::TOKEN_MAX_HOURS);
                    let (id, token) = tipline::staff::auth::issue_token(
                        &mut conn, &signer, "cli", &username, hours, &scopes,
                    )
                    .map_err(|e| e.to_string())?;
                    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
                    out!(
                        "token {id} for {username}, scopes {}, valid {hours} h (shown once):",
                        names.join(",")
                    );
                    out!("{token}");
                }
                TokenAction::Revoke { id } => {
                    tipline::staff::auth::revoke_token(&mut conn, &signer, "cli", &id)
                        .map_err(|e| e.to_string())?;
                    out!("token {id} revoked");
                }
            }
            Ok(())
        }
        Command::Backup { dest } => {
            let target =
                tipline::db::DbTarget::parse(&config.database_url).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            tipline::db::backup::backup(&target, &mut conn, &dest).map_err(|e| e.to_string())?;
            out!(
                "backup written to {}. It holds no keys: back up {} separately; a restore needs both.",
                dest.display(),
                config.keys_dir.display()
            );
            Ok(())
        }
        Command::Audit {
            action:
                AuditAction::Verify {
                    anchor,
                    verifying_key,
                    anchors,
                },
        } => {
            let (mut conn, verifier) = match verifying_key {
                Some(hex_key) => {
                    let key = parse_verifying_key(&hex_key)?;
                    let target = tipline::db::DbTarget::parse(&config.database_url)
                        .map_err(|e| e.to_string())?;
                    (target.connect().map_err(|e| e.to_string())?, key)
                }
                None => {
                    let (target, keys) =
                        tipline::server::prepare(&config).map_err(|e| e.to_string())?;
                    let conn = target.connect().map_err(|e| e.to_string())?;
                    (conn, keys.audit_verifier())
                }
            };
            let v = tipline::audit::verify(&mut conn, &[verifier])
                .map_err(|e| format!("audit log is NOT intact: {e}"))?;
            for a in &anchor {
                let (seq, hash) = a
                    .split_once(':')
                    .and_then(|(s, h)| {
                        Some((s.trim().parse::<i64>().ok()?, hex::decode(h.trim()).ok()?))
                    })
                    .ok_or_else(|| format!("anchor {a:?} is not SEQ:HEXHASH"))?;
                match tipline::audit::hash_at(&mut conn, seq).map_err(|e| e.to_string())? {
                    Some(h) if h == hash => out!("anchor {seq} matches"),
                    Some(_) => {
                        return Err(format!(
                            "audit log is NOT intact: entry {seq} no longer has the anchored hash"
                        ));
                    }
                    None => return Err(format!("audit log is NOT intact: entry {seq} is missing")),
                }
            }
            if let Some(file) = anchors {
                use tipline::audit::anchor;
                let given = anchor::read(&file)?;
                let c = anchor::check(&mut conn, &given)
                    .map_err(|e| format!("audit log is NOT intact: {e}"))?;
                out!(
                    "{} anchors match; the latest, head {} at {}, is {} h {} min old; {} entries since",
                    given.len(),
                    c.latest.seq,
                    anchor::when(c.latest.at),
                    c.age / 3600,
                    c.age.rem_euclid(3600) / 60,
                    c.since
                );
                if c.age > 2 * anchor::EVERY_SECONDS {
                    out!(
                        "WARNING: the latest anchor is more than two hours old: is the server \
                         anchoring (TIPLINE_AUDIT_ANCHOR_DIR), and is this the newest copy?"
                    );
                }
            }
            out!(
                "audit log intact: {} entries, head {}",
                v.entries,
                hex::encode(&v.head_hash)
            );
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Anchor,
        } => {
            let dir = config
                .audit_anchor_dir
                .clone()
                .ok_or("set TIPLINE_AUDIT_ANCHOR_DIR (a directory on another machine)")?;
            let (target, _) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let a = tipline::audit::anchor::anchor_now(&mut conn, &dir)?;
            out!("{}", a.line());
            Ok(())
        }
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
        Command::Policy { action } => {
            let (target, keys) = tipline::server::prepare(&config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            use tipline::rewards::policy;
            match action {
                PolicyAction::Show { name, version } => {
                    let d = policy::document(&mut conn, &name, version)
                        .map_err(|e| format!("{name}: {e}"))?;
                    out!("# {} version {}", d.name, d.version);
                    print!("{}", d.body);
                }
                PolicyAction::Set { name, file } => {
                    let body = std::fs::read_to_string(&file)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    let object = format!("policy:{name}");
                    let v = tipline::rewards::audited(
                        &mut conn,
                        &keys.audit_signer(),
                        "cli",
                        "policy.write",
                        &object,
                        |c| policy::save_document(c, &name, &body, "cli"),
                    )
                    .map_err(|e| e.to_string())?;
                    out!("{name} version {v} is now in force");
                }
            }
            Ok(())
        }
        Command::IngestEmail => unreachable_ingest(),
        Command::Keys {
            action: KeysAction::ExportPublic,
        } => {
            let pass = config
                .keys_passphrase_file
                .as_deref()
                .map(tipline::crypto::keyring::Passphrase::from_file)
                .transpose()
                .map_err(|e| e.to_string())?;
            let ring = Keyring::load_with(&config.keys_dir, pass).map_err(|e| e.to_string())?;
            let mut text = String::new();
            for kind in [
                tipline::crypto::keyring::OFFICE,
                tipline::crypto::keyring::RELAY,
                tipline::crypto::keyring::NODE,
            ] {
                let path = ring.dir.join(format!("{kind}.pub"));
                let file = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                text.push_str(file.trim_end());
                text.push('\n');
            }
            // What `audit verify --verifying-key` takes: auditors need no private key file.
            let audit = serde_json::json!({
                "kind": "audit",
                "verifying_key": hex::encode(ring.audit_verifier().as_bytes()),
            });
            text.push_str(&serde_json::to_string_pretty(&audit).map_err(|e| e.to_string())?);
            text.push('\n');
            out!("{}", text.trim_end());
            Ok(())
        }
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
