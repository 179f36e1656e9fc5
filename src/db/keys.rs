//! Binding the keys dir to the database: the database remembers the public fingerprints of the
//! keys it was initialized with, and a start with other keys (or none) stops with a clear message.

use super::schema::keyring;
use super::{DbConn, DbError};
use crate::crypto::keyring::{KeyError, Keyring};
use diesel::prelude::*;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "the database was initialized with keys ({expected}) but the keys dir {dir} holds none. \
         Restore the keys from their backup, or point TIPLINE_KEYS_DIR at them. Refusing to start: \
         new keys could not open the tips already stored."
    )]
    Missing { dir: String, expected: String },
    #[error(
        "the keys in {dir} do not match this database ({purpose}: database has {expected}, keys dir has {found}). \
         Refusing to start rather than seal tips to a key nobody holds."
    )]
    Mismatch {
        dir: String,
        purpose: String,
        expected: String,
        found: String,
    },
}

pub enum KeyOutcome {
    Generated(Keyring),
    Adopted(Keyring),
    Matched(Keyring),
}

fn recorded(conn: &mut DbConn) -> Result<Vec<(String, String)>, DbError> {
    Ok(keyring::table
        .select((keyring::purpose, keyring::fingerprint))
        .order(keyring::purpose)
        .load::<(String, String)>(conn)?)
}

/// Loads the keys, generating them on the very first start, and checks them against the database.
pub fn load_or_init(conn: &mut DbConn, dir: &Path) -> Result<KeyOutcome, KeyCheckError> {
    let known = recorded(conn)?;
    let present = Keyring::present(dir);
    if known.is_empty() {
        let generated = !present;
        if generated {
            Keyring::generate(dir)?;
        }
        let ring = Keyring::load(dir)?;
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            for (purpose, fp) in ring.fingerprints() {
                diesel::insert_into(keyring::table)
                    .values((keyring::purpose.eq(purpose), keyring::fingerprint.eq(fp)))
                    .execute(c)?;
            }
            Ok(())
        })
        .map_err(DbError::from)?;
        return Ok(if generated {
            KeyOutcome::Generated(ring)
        } else {
            KeyOutcome::Adopted(ring)
        });
    }
    if !present {
        return Err(KeyCheckError::Missing {
            dir: dir.display().to_string(),
            expected: known
                .iter()
                .map(|(p, f)| format!("{p} {f}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let ring = Keyring::load(dir)?;
    let found = ring.fingerprints();
    for (purpose, expected) in &known {
        let have = found
            .iter()
            .find(|(p, _)| p == purpose)
            .map(|(_, f)| f.clone());
        if have.as_deref() != Some(expected.as_str()) {
            return Err(KeyCheckError::Mismatch {
                dir: dir.display().to_string(),
                purpose: purpose.clone(),
                expected: expected.clone(),
                found: have.unwrap_or_else(|| "nothing".into()),
            });
        }
    }
    Ok(KeyOutcome::Matched(ring))
}
