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
    match target.backend {
        // VACUUM INTO reads one snapshot and writes a compact, consistent copy; writers go on.
        Backend::Sqlite => {
            diesel::sql_query("VACUUM INTO $1")
                .bind::<Text, _>(dest_str)
                .execute(conn)
                .map_err(|e| BackupError::Failed(e.to_string()))?;
        }
        Backend::Postgres => {
            let status = std::process::Command::new("pg_dump")
                .args([
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    dest_str,
                    &target.location,
                ])
                .status()
                .map_err(|e| BackupError::Failed(format!("cannot run pg_dump: {e}")))?;
            if !status.success() {
                return Err(BackupError::Failed(format!("pg_dump exited with {status}")));
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| BackupError::Failed(e.to_string()))?;
    }
    Ok(())
}
