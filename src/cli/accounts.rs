//! `tipline unit|user|token ...`: units, staff accounts and API tokens.

use clap::Subcommand;

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
        /// officer, supervisor, finance, admin or auditor
        #[arg(long)]
        role: String,
        /// Unit code; a supervisor without a unit is county-wide.
        #[arg(long)]
        unit: Option<String>,
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

pub(crate) fn parse_verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("--verifying-key must be 64 hex digits (from `tipline keys export-public`)")?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "--verifying-key is not an Ed25519 public key".to_string())
}
