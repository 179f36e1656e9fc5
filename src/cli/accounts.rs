//! `tipline unit|user|token ...`: units, staff accounts and API tokens.

use clap::Subcommand;
use tipline::config::Config;

#[derive(Subcommand)]
pub(crate) enum UnitAction {
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
pub(crate) enum UserAction {
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
pub(crate) enum TokenAction {
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

/// The password for `user add` or `user reset-password`: from the file, or generated (true).
pub(crate) fn initial_password(
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

/// `tipline unit ...`.
pub(crate) fn unit(config: &Config, action: UnitAction) -> Result<(), String> {
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    match action {
        UnitAction::List => {
            for u in tipline::triage::routing::list_units(&mut conn).map_err(|e| e.to_string())? {
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

/// `tipline user ...`.
pub(crate) fn user(config: &Config, action: UserAction) -> Result<(), String> {
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
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
                tipline::staff::accounts::list_users(&mut conn).map_err(|e| e.to_string())?
            {
                out!(
                    "{name}\t{role}\t{}\t{}",
                    unit.unwrap_or_else(|| "-".into()),
                    if disabled { "disabled" } else { "active" }
                );
            }
        }
        UserAction::Disable { username } => {
            tipline::staff::accounts::set_disabled(&mut conn, &signer, "cli", &username, true)
                .map_err(|e| e.to_string())?;
            out!("user {username} disabled; their sessions ended");
        }
    }
    Ok(())
}

/// `tipline token ...`.
pub(crate) fn token(config: &Config, action: TokenAction) -> Result<(), String> {
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let signer = keys.audit_signer();
    match action {
        TokenAction::Issue {
            username,
            hours,
            scope,
        } => {
            let scopes =
                tipline::staff::auth::Scope::parse_list(&scope).map_err(|e| e.to_string())?;
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
