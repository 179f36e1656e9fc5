//! Accounts: creation, passwords (Argon2id), TOTP enrolment, disabling. Every change is
//! audited in the same transaction.

use super::{Actor, Role, StaffError};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::seal::{aead_open, aead_seal};
use crate::crypto::{Secret32, random_bytes};
use crate::db::schema::{sessions, staff, units};
use crate::db::{DbConn, now_unix};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

pub const MIN_PASSWORD: usize = 12;

pub fn hash_password(password: &str) -> Result<String, StaffError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|_| crate::crypto::CryptoError::Seal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| StaffError::Crypto(crate::crypto::CryptoError::Seal))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A one-time initial password: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> Result<Zeroizing<String>, StaffError> {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let raw = random_bytes::<20>()?;
    Ok(Zeroizing::new(
        raw.iter()
            .map(|b| char::from(A[*b as usize % A.len()]))
            .collect(),
    ))
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub role: &'a str,
    pub unit: Option<&'a str>,
    pub password: &'a str,
    /// `Some(hours)`: an initial password, to be changed at first login and void if unused
    /// for this long. `None`: the user's own password (`user add --keep-password`).
    pub initial_hours: Option<i64>,
}

/// How long an initial password stays usable by default (`TIPLINE_INITIAL_PASSWORD_HOURS`).
pub const INITIAL_PASSWORD_HOURS: i64 = 72;

/// Creates an account. `by` is the audit actor (`cli` or `staff:NAME`). An officer or
/// supervisor made by anyone but the operator at the console waits, disabled, for a county
/// supervisor's approval (`staff::approval`), and `notice` tells the county supervisors.
pub fn add_user(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    u: &NewUser,
    notice: Option<&super::approval::Notice>,
) -> Result<String, StaffError> {
    let role = Role::parse(u.role).ok_or(StaffError::UnknownRole)?;
    if !valid_username(u.username) {
        return Err(StaffError::BadUsername);
    }
    if u.password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword);
    }
    if role == Role::Officer && u.unit.is_none() {
        return Err(StaffError::UnitRequired);
    }
    let hash = hash_password(u.password)?;
    let id = hex::encode(random_bytes::<12>()?);
    let waits = super::approval::needs_approval(role, by);
    conn.transaction(|c| {
        audit::lock_head(c)?;
        if let Some(unit) = u.unit {
            let n: i64 = units::table
                .filter(units::code.eq(unit))
                .count()
                .get_result(c)?;
            if n == 0 {
                return Err(StaffError::UnknownUnit);
            }
        }
        let taken: i64 = staff::table
            .filter(staff::username.eq(u.username))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(StaffError::Exists);
        }
        diesel::insert_into(staff::table)
            .values((
                staff::id.eq(&id),
                staff::username.eq(u.username),
                staff::role.eq(role.as_str()),
                staff::unit_code.eq(u.unit),
                staff::password_hash.eq(&hash),
                staff::created_at.eq(now_unix()),
                staff::must_change_password.eq(u.initial_hours.is_some()),
                staff::password_expires_at.eq(u.initial_hours.map(|h| now_unix() + h * 3600)),
                staff::created_by.eq(Some(by)),
                staff::approval_pending.eq(waits),
                staff::disabled.eq(waits),
            ))
            .execute(c)?;
        if waits && let Some(n) = notice {
            super::approval::announce(c, n)?;
        }
        audit::append(
            c,
            signer,
            &Entry {
                actor: by,
                action: if waits {
                    "user.add.pending"
                } else {
                    "user.add"
                },
                object: &format!("staff:{}", u.username),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(id.clone())
    })
}

pub type StaffRow = (String, String, String, Option<String>, bool);

pub fn list_users(conn: &mut DbConn) -> Result<Vec<StaffRow>, StaffError> {
    Ok(staff::table
        .order(staff::username)
        .select((
            staff::id,
            staff::username,
            staff::role,
            staff::unit_code,
            staff::disabled,
        ))
        .load(conn)?)
}

/// Usernames of the accounts waiting for a county supervisor's approval (for the admin's list).
pub fn pending_usernames(conn: &mut DbConn) -> Result<Vec<String>, StaffError> {
    Ok(staff::table
        .filter(staff::approval_pending.eq(true))
        .select(staff::username)
        .load(conn)?)
}

/// Whether any account waits for approval.
pub fn any_pending(conn: &mut DbConn) -> Result<bool, StaffError> {
    Ok(diesel::select(diesel::dsl::exists(
        staff::table.filter(staff::approval_pending.eq(true)),
    ))
    .get_result(conn)?)
}

pub fn actor_by_id(conn: &mut DbConn, id: &str) -> Result<Option<Actor>, StaffError> {
    let row = staff::table
        .filter(staff::id.eq(id))
        .filter(staff::disabled.eq(false))
        .select((staff::id, staff::username, staff::role, staff::unit_code))
        .first::<(String, String, String, Option<String>)>(conn)
        .optional()?;
    Ok(row.and_then(|(id, username, role, unit)| {
        Role::parse(&role).map(|role| Actor {
            id,
            username,
            role,
            unit,
        })
    }))
}

/// Disables or re-enables an account; disabling ends its sessions at once.
pub fn set_disabled(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    username: &str,
    disabled: bool,
) -> Result<(), StaffError> {
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let (id, role): (String, String) = staff::table
            .filter(staff::username.eq(username))
            .select((staff::id, staff::role))
            .first(c)
            .optional()?
            .ok_or(StaffError::NoSuchUser)?;
        // Enabling a tip reader is like creating one: it waits for a county supervisor.
        let waits =
            !disabled && Role::parse(&role).is_some_and(|r| super::approval::needs_approval(r, by));
        diesel::update(staff::table.filter(staff::id.eq(&id)))
            .set((
                staff::disabled.eq(disabled || waits),
                staff::approval_pending.eq(waits),
            ))
            .execute(c)?;
        if waits {
            diesel::update(staff::table.filter(staff::id.eq(&id)))
                .set((
                    staff::created_by.eq(Some(by)),
                    staff::approved_by.eq(None::<String>),
                ))
                .execute(c)?;
        }
        if disabled {
            diesel::delete(sessions::table.filter(sessions::staff_id.eq(&id))).execute(c)?;
        }
        audit::append(
            c,
            signer,
            &Entry {
                actor: by,
                action: if disabled {
                    "user.disable"
                } else {
                    "user.enable"
                },
                object: &format!("staff:{username}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

/// Changes a password; every session of the account ends.
pub fn set_password(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    new_password: &str,
) -> Result<(), StaffError> {
    if new_password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword);
    }
    let hash = hash_password(new_password)?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        diesel::update(staff::table.filter(staff::id.eq(&actor.id)))
            .set((
                staff::password_hash.eq(&hash),
                staff::must_change_password.eq(false),
                staff::password_expires_at.eq(None::<i64>),
            ))
            .execute(c)?;
        diesel::delete(sessions::table.filter(sessions::staff_id.eq(&actor.id))).execute(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: &actor.audit_name(),
                action: "user.password",
                object: &actor.audit_name(),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

/// Gives an account a new initial password (`tipline user reset-password`): it must be changed
/// at the next login and expires unused after `hours`. Every session of the account ends.
pub fn reset_password(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    username: &str,
    password: &str,
    hours: i64,
) -> Result<(), StaffError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword);
    }
    let hash = hash_password(password)?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let id: String = staff::table
            .filter(staff::username.eq(username))
            .select(staff::id)
            .first(c)
            .optional()?
            .ok_or(StaffError::NoSuchUser)?;
        diesel::update(staff::table.filter(staff::id.eq(&id)))
            .set((
                staff::password_hash.eq(&hash),
                staff::must_change_password.eq(true),
                staff::password_expires_at.eq(Some(now_unix() + hours.max(1) * 3600)),
            ))
            .execute(c)?;
        diesel::delete(sessions::table.filter(sessions::staff_id.eq(&id))).execute(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: by,
                action: "user.password.reset",
                object: &format!("staff:{username}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

// --- TOTP -------------------------------------------------------------------------------------

pub const TOTP_ISSUER: &str = "tipline";

fn totp_for(secret: &[u8], username: &str) -> Result<totp_rs::Totp, StaffError> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(username)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|_| StaffError::Crypto(crate::crypto::CryptoError::Seal))
}

fn totp_aad(staff_id: &str) -> Vec<u8> {
    crate::crypto::seal::aad("totp", staff_id, "totp-key")
}

/// TOTP enrolment: a new secret, sealed under the TOTP key, not yet active; or, if enrolment
/// already started, the same secret again, so reloading the page after scanning the QR code does
/// not silently break what is in the authenticator app. Returns the otpauth URI.
pub fn begin_totp(
    conn: &mut DbConn,
    totp_key: &Secret32,
    actor: &Actor,
) -> Result<String, StaffError> {
    let pending: Option<Vec<u8>> = staff::table
        .filter(staff::id.eq(&actor.id))
        .filter(staff::totp_enabled.eq(false))
        .select(staff::totp_sealed)
        .first::<Option<Vec<u8>>>(conn)
        .optional()?
        .flatten();
    let secret = match pending {
        Some(sealed) => aead_open(totp_key, &totp_aad(&actor.id), &sealed)?.to_vec(),
        None => {
            let secret = random_bytes::<20>()?.to_vec();
            let sealed = aead_seal(totp_key, &totp_aad(&actor.id), &secret)?;
            diesel::update(
                staff::table
                    .filter(staff::id.eq(&actor.id))
                    .filter(staff::totp_enabled.eq(false)),
            )
            .set(staff::totp_sealed.eq(Some(sealed)))
            .execute(conn)?;
            secret
        }
    };
    totp_for(&secret, &actor.username)?
        .to_url()
        .map_err(|_| StaffError::Crypto(crate::crypto::CryptoError::Seal))
}

/// Checks a TOTP code for a user; a code (time step) is accepted once only.
pub fn check_totp(
    conn: &mut DbConn,
    totp_key: &Secret32,
    staff_id: &str,
    code: &str,
    enrolling: bool,
) -> Result<bool, StaffError> {
    let row = staff::table
        .filter(staff::id.eq(staff_id))
        .select((
            staff::username,
            staff::totp_sealed,
            staff::totp_enabled,
            staff::totp_last_step,
        ))
        .first::<(String, Option<Vec<u8>>, bool, i64)>(conn)
        .optional()?;
    let Some((username, Some(sealed), enabled, last_step)) = row else {
        return Ok(false);
    };
    if enabled == enrolling {
        return Ok(false);
    }
    let secret = aead_open(totp_key, &totp_aad(staff_id), &sealed)?;
    let totp = totp_for(&secret, &username)?;
    let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    let Some(step) = totp.check(&code, now_unix().max(0) as u64) else {
        return Ok(false);
    };
    let step = step as i64;
    // Only a step later than the last one used: a code seen over someone's shoulder is spent.
    let updated = diesel::update(
        staff::table
            .filter(staff::id.eq(staff_id))
            .filter(staff::totp_last_step.lt(step)),
    )
    .set((staff::totp_last_step.eq(step), staff::totp_enabled.eq(true)))
    .execute(conn)?;
    Ok(updated == 1 && step > last_step)
}

/// The current code for a sealed secret (tests and the CLI's enrolment check use it).
pub fn current_code(
    totp_key: &Secret32,
    staff_id: &str,
    sealed: &[u8],
    at: i64,
) -> Result<String, StaffError> {
    let secret = aead_open(totp_key, &totp_aad(staff_id), sealed)?;
    Ok(totp_for(&secret, "x")?
        .generate(at.max(0) as u64)
        .to_string())
}

/// The stored password hash of one account (to check its current password).
pub fn password_hash_of(conn: &mut DbConn, staff_id: &str) -> QueryResult<String> {
    staff::table
        .filter(staff::id.eq(staff_id))
        .select(staff::password_hash)
        .first(conn)
}
