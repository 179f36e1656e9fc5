//! `tipline backup DEST`: a consistent copy of the database while the portal serves, without
//! the keys (they are backed up separately; a restored copy needs them).

use super::{Backend, DbConn, DbTarget};
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists; refusing to overwrite a backup")]
    Exists(String),
    #[error("backup failed: {0}")]
    Failed(String),
}

pub fn backup(target: &DbTarget, conn: &mut DbConn, dest: &Path) -> Result<(), BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.display().to_string()));
    }
    let dest_str = dest
        .to_str()
        .ok_or_else(|| BackupError::Failed("destination path is not UTF-8".into()))?;
    // The file is made here, empty and 0600 from its first moment (create_new: never someone
    // else's file or symlink), and only then filled: SQLite's VACUUM INTO writes into an empty
    // file and pg_dump truncates it, both keeping its mode. No window where the umask rules.
    create_private(dest)?;
    let filled = fill(target, conn, dest_str);
    if filled.is_err() {
        // A failed copy leaves nothing behind that looks like a backup.
        let _ = std::fs::remove_file(dest);
    }
    filled
}

fn fill(target: &DbTarget, conn: &mut DbConn, dest_str: &str) -> Result<(), BackupError> {
    match target.backend {
        // VACUUM INTO reads one snapshot and writes a compact, consistent copy; writers go on.
        Backend::Sqlite => {
            diesel::sql_query("VACUUM INTO $1")
                .bind::<Text, _>(dest_str)
                .execute(conn)
                .map_err(|e| BackupError::Failed(e.to_string()))?;
        }
        Backend::Postgres => {
            // The password goes to pg_dump in its environment, not its arguments, which any
            // local user can read in the process list.
            let (url, password) = split_password(&target.location)?;
            let mut cmd = std::process::Command::new("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--file", dest_str, &url]);
            if let Some(password) = password {
                cmd.env("PGPASSWORD", password);
            }
            let status = cmd
                .status()
                .map_err(|e| BackupError::Failed(format!("cannot run pg_dump: {e}")))?;
            if !status.success() {
                return Err(BackupError::Failed(format!("pg_dump exited with {status}")));
            }
        }
    }
    Ok(())
}

fn create_private(dest: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(dest).map(drop).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(dest.display().to_string()),
        _ => BackupError::Failed(format!("{}: {e}", dest.display())),
    })
}

/// The database URL without its password, and the password (percent-decoded).
fn split_password(location: &str) -> Result<(String, Option<String>), BackupError> {
    // A key=value connection string is not a URL: pg_dump reads it as it is.
    let Ok(mut url) = url::Url::parse(location) else {
        return Ok((location.to_string(), None));
    };
    let Some(encoded) = url.password().map(str::to_string) else {
        return Ok((location.to_string(), None));
    };
    let password = percent_encoding::percent_decode_str(&encoded)
        .decode_utf8()
        .map_err(|_| BackupError::Failed("database URL: password is not UTF-8".into()))?
        .into_owned();
    url.set_password(None)
        .map_err(|()| BackupError::Failed("database URL: cannot remove the password".into()))?;
    Ok((url.to_string(), Some(password)))
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn the_password_leaves_the_url() {
        let (url, pw) =
            split_password("postgres://tl:p%40ss%2Fw@db.local:5433/tipline?sslmode=require")
                .unwrap();
        assert_eq!(url, "postgres://tl@db.local:5433/tipline?sslmode=require");
        assert_eq!(pw.as_deref(), Some("p@ss/w"));
        for plain in [
            "postgres://tl@/tipline?host=/run/postgresql",
            "host=/run/postgresql dbname=t",
        ] {
            assert_eq!(split_password(plain).unwrap(), (plain.to_string(), None));
        }
    }
}
