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
            stdout_failed(e)
        }
    }};
}

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

#[derive(Subcommand)]
enum RetentionAction {
    /// Apply the rules in force now.
    Run {
        /// Only show what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum ReportAction {
    /// Count a report month (`TIPLINE_REPORT_DAY`, 28 by default: a month ends on the 27th)
    /// for the county or one unit and write tipline-report-YYYY-MM.csv and .xlsx.
    Monthly {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        /// A unit code, for one unit's figures; the county's by default.
        #[arg(long)]
        unit: Option<String>,
        /// Where to write the files.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
        /// Also queue the county's report for TIPLINE_REPORT_MAIL_TO now (sent again if it
        /// went before).
        #[arg(long)]
        mail: bool,
    },
}

#[derive(Subcommand)]
enum PolicyAction {
    /// Print the document in force (or a given version) as TOML.
    Show {
        name: String,
        #[arg(long)]
        version: Option<i64>,
    },
    /// Check a TOML file and store it as the new version.
    Set {
        name: String,
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum IndexAction {
    /// Index every tip whose index is older than the current normalization rules, then exit.
    /// The server does the same in the background; this is for operators who want it done now.
    Run {
        /// Re-index every tip, not only those behind the current rules.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum UnitAction {
    List,
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Comma-separated township codes (see GET /api/v1/meta); they move to this unit.
        #[arg(long, value_delimiter = ',')]
        townships: Vec<String>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    Add {
        #[arg(long)]
        username: String,
        /// officer, supervisor, finance, admin, auditor or liaison
        #[arg(long)]
        role: String,
        /// Unit code; a supervisor without a unit is county-wide.
        #[arg(long)]
        unit: Option<String>,
        /// A liaison's township code (role liaison only; see GET /api/v1/meta).
        #[arg(long)]
        township: Option<String>,
        /// Read the initial password from this file instead of generating one.
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// With --password-file: the password is final, not an initial one (it need not be
        /// changed at first login and does not expire). For automated set-ups and tests.
        #[arg(long, requires = "password_file")]
        keep_password: bool,
    },
    /// Give an account a new initial password (printed, or from --password-file): it must be
    /// changed at the next login and expires unused after TIPLINE_INITIAL_PASSWORD_HOURS.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
    },
    List,
    Disable {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    Issue {
        #[arg(long)]
        username: String,
        /// Hours the token is valid (at most 720).
        #[arg(long, default_value_t = tipline::staff::auth::TOKEN_DEFAULT_HOURS)]
        hours: i64,
        /// What it may do: read, write, rewards, audit, admin (comma-separated), or all. The
        /// user's role still limits it.
        #[arg(long, default_value = "read")]
        scope: String,
    },
    Revoke {
        id: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check every entry's hash chain and signature; exit non-zero naming the first bad entry.
    Verify {
        /// SEQ:HASH from a monthly report mail (or any copy kept outside the database): the
        /// entry SEQ must still have that hash. Repeatable.
        #[arg(long)]
        anchor: Vec<String>,
        /// Check the signatures with this Ed25519 public key (hex, from `keys export-public`)
        /// instead of the keys dir: an auditor needs only a copy of the database and this key.
        #[arg(long)]
        verifying_key: Option<String>,
        /// An anchor file (`audit-anchors.log` from TIPLINE_AUDIT_ANCHOR_DIR, as kept on
        /// another machine): every anchored entry must still be there with its hash, which
        /// finds a cut tail; says how fresh the latest anchor is.
        #[arg(long)]
        anchors: Option<std::path::PathBuf>,
    },
    /// Append the audit head to the anchor file in TIPLINE_AUDIT_ANCHOR_DIR now (the server
    /// does it every hour).
    Anchor,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create the database (if needed) and a new set of keys, then exit.
    Init {
        /// Wrap the new private key files under the passphrase in this file.
        #[arg(long)]
        passphrase_file: Option<std::path::PathBuf>,
    },
    /// Print the public keys (office, relay, node) for an intake node in a split deployment,
    /// and the audit verifying key for `audit verify --verifying-key`.
    ExportPublic,
    /// Make a new office (or relay) keypair and re-seal every data key to it; the old key is
    /// kept for opening until `keys retire`. Run again to resume or finish a rotation.
    Rotate {
        #[arg(value_enum, default_value = "office")]
        kind: KeyKind,
        /// Epoch rows re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Destroy the old key of a finished rotation; refuses while any row still names it.
    Retire {
        #[arg(value_enum, default_value = "office")]
        kind: KeyKind,
    },
    /// Wrap every plain private key file under the passphrase in this file.
    Protect {
        #[arg(long)]
        passphrase_file: std::path::PathBuf,
    },
    /// Bind the routing (unit, county-only, category, township) of tips stored before the
    /// binding existed, as their columns read now. Run once after upgrading, once the routing
    /// has been checked: until then the staff views treat those tips as re-routed. Audited.
    BindRouting,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyKind {
    Office,
    Relay,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Office => tipline::crypto::keyring::OFFICE,
            KeyKind::Relay => tipline::crypto::keyring::RELAY,
        }
    }
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
            let r = tipline::db::keys::rotate(
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
            let old = tipline::db::keys::retire(
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
                    township,
                    password_file,
                    keep_password,
                } => {
                    let (password, generated) = initial_password(password_file.as_deref())?;
                    let hours = config.initial_password_hours;
                    let u = tipline::staff::accounts::NewUser {
                        username: &username,
                        role: &role,
                        unit: unit.as_deref(),
                        township: township.as_deref(),
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

/// The password for `user add` or `user reset-password`: from the file, or generated (true).
fn initial_password(
    file: Option<&std::path::Path>,
) -> Result<(zeroize::Zeroizing<String>, bool), String> {
    match file {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok((
                zeroize::Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_string()),
                false,
            ))
        }
        None => Ok((
            tipline::staff::accounts::generate_password().map_err(|e| e.to_string())?,
            true,
        )),
    }
}

fn parse_verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("--verifying-key must be 64 hex digits (from `tipline keys export-public`)")?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "--verifying-key is not an Ed25519 public key".to_string())
}

/// `ingest-email` has its own exit codes and is handled before `run`.
fn unreachable_ingest() -> Result<(), String> {
    Err("ingest-email is handled separately".into())
}

/// sysexits.h: what a mail server's pipe transport understands.
const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;

/// `tipline ingest-email`: reads one message from standard input and stores it. Prints only
/// the outcome and the class of a failure: the mail server may log it or put it in a bounce.
fn ingest_email() -> ExitCode {
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

/// `tipline report monthly`: the files, and the mail on request.
fn report_monthly(
    config: &tipline::config::Config,
    month: &str,
    unit: Option<&str>,
    out: &std::path::Path,
    mail: bool,
) -> Result<(), String> {
    use tipline::reports::{self, Scope, export, mailer, period::Period};
    let period = Period::parse(month, config.report_day).map_err(|e| e.to_string())?;
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let scope = Scope::County.narrowed(unit).map_err(|e| e.to_string())?;
    let report = reports::monthly(&mut conn, &scope, &period, config.report_day)
        .map_err(|e| e.to_string())?;
    let signer = keys.audit_signer();
    let object = format!("report:{}", period.label());
    let head = reports::record(&mut conn, &signer, "cli", "report.export", &object)
        .map_err(|e| e.to_string())?;
    let scope_name = export::scope_label(&scope, unit);
    let xlsx = export::xlsx(&report, &scope_name, &head).map_err(|e| e.to_string())?;
    let base = match unit {
        None => format!("tipline-report-{}", period.label()),
        Some(u) => format!("tipline-report-{}-{u}", period.label()),
    };
    let csv_path = out.join(format!("{base}.csv"));
    let xlsx_path = out.join(format!("{base}.xlsx"));
    std::fs::write(&csv_path, export::csv(&report))
        .map_err(|e| format!("{}: {e}", csv_path.display()))?;
    std::fs::write(&xlsx_path, xlsx).map_err(|e| format!("{}: {e}", xlsx_path.display()))?;
    let t = report.figures.total();
    out!(
        "report {} ({} to {}){}: {} received, {} verified, {} unfounded, {} duplicates, {} rewards approved, {} paid",
        period.label(),
        period.first_day(),
        period.last_day(),
        if report.partial {
            ", month still running"
        } else {
            ""
        },
        t.received,
        t.verified,
        t.unfounded,
        t.duplicate,
        t.rewards_approved,
        t.rewards_paid
    );
    out!("wrote {} and {}", csv_path.display(), xlsx_path.display());
    out!("audit head {}:{}", head.seq, hex::encode(&head.hash));
    if mail {
        if config.report_mail_to.is_empty() {
            return Err("--mail needs TIPLINE_REPORT_MAIL_TO".into());
        }
        let sealer = tipline::crypto::seal::Sealer::new(
            keys.node.clone(),
            std::time::Duration::from_secs(config.epoch_seconds.max(1)),
            10_000,
        );
        let office = tipline::rewards::Office {
            signer: &signer,
            sealer: &sealer,
            keys: &keys,
            opener: None,
        };
        let m = mailer::Mailing {
            office: &office,
            to: &config.report_mail_to,
            report_day: config.report_day,
            public_url: &config.public_url,
        };
        let head = mailer::send(&mut conn, &m, &period, true).map_err(|e| e.to_string())?;
        out!(
            "queued for {} (a running server delivers it); the mail carries audit head {}:{}",
            config.report_mail_to.join(", "),
            head.seq,
            hex::encode(&head.hash)
        );
    }
    Ok(())
}

/// `tipline retention run [--dry-run]`.
fn retention_run(config: &tipline::config::Config, dry_run: bool) -> Result<(), String> {
    use tipline::retention;
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let rules = retention::rules(&mut conn).map_err(|e| e.to_string())?;
    let plan =
        retention::plan(&mut conn, &rules, tipline::db::now_unix()).map_err(|e| e.to_string())?;
    out!(
        "{}: {} contact envelopes, {} closed tips with their attachments, messages and notes",
        if dry_run {
            "would purge or delete"
        } else {
            "purging and deleting"
        },
        plan.contacts.len(),
        plan.tips.len(),
    );
    out!("category\tcontacts\tunfounded\tout_of_scope");
    for (cat, (c, u, o)) in &plan.by_category {
        out!("{cat}\t{c}\t{u}\t{o}");
    }
    if plan.kept_with_reward > 0 {
        out!(
            "kept: {} tips that the rules would delete but that have a reward",
            plan.kept_with_reward
        );
    }
    if dry_run {
        out!("dry run: nothing was changed");
        return Ok(());
    }
    let done = retention::run(&mut conn, &keys.audit_signer(), &plan).map_err(|e| e.to_string())?;
    out!(
        "done: {} contact envelopes purged, {} tips deleted with {} attachments; database compacted",
        done.contacts,
        done.tips,
        done.attachments
    );
    Ok(())
}
