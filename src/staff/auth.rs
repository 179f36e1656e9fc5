//! Logging in and staying logged in: password then TOTP, sessions stored in the database (only
//! a hash of the session id), CSRF tokens bound to the session, bearer API tokens for the
//! staff API. Failed logins slow down and then lock the account.

use super::accounts::{check_totp, verify_password};
use super::{Actor, StaffError};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::{Secret32, ct_eq, keyed_hash, random_bytes, sha256};
use crate::db::schema::{api_tokens, sessions, staff};
use crate::db::{DbConn, now_unix};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;

/// A session ends after this long without a request.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// And after this long in any case.
pub const MAX_SESSION_SECONDS: i64 = 12 * 3600;
/// Failures before the account locks.
pub const LOCK_AFTER: i32 = 5;
pub const LOCK_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password given; TOTP code still due.
    Password,
    /// Password given, no TOTP enrolled yet: only enrolment is allowed.
    Enrol,
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::Enrol => "enrol",
            Stage::Full => "full",
        }
    }
    fn parse(s: &str) -> Option<Stage> {
        [Stage::Password, Stage::Enrol, Stage::Full]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

pub struct Session {
    pub actor: Actor,
    pub stage: Stage,
    pub id_hash: Vec<u8>,
}

fn new_secret_token(prefix: &str) -> Result<(String, Vec<u8>), StaffError> {
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
    let hash = sha256(token.as_bytes()).to_vec();
    Ok((token, hash))
}

/// An Argon2id hash of nothing anyone knows: unknown usernames cost the same time as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        super::accounts::hash_password("unknown-user-dummy-password").unwrap_or_default()
    })
}

pub enum LoginResult {
    /// A new session; the token goes in the cookie.
    Session {
        token: String,
        stage: Stage,
    },
    Refused(StaffError),
}

/// Checks username and password, counting failures and locking after `LOCK_AFTER`.
pub fn login(
    conn: &mut DbConn,
    signer: &SigningKey,
    username: &str,
    password: &str,
) -> Result<LoginResult, StaffError> {
    let now = now_unix();
    let row = staff::table
        .filter(staff::username.eq(username))
        .select((
            staff::id,
            staff::password_hash,
            staff::disabled,
            staff::locked_until,
            staff::failed_logins,
            staff::totp_enabled,
        ))
        .first::<(String, String, bool, i64, i32, bool)>(conn)
        .optional()?;
    let Some((id, hash, disabled, locked_until, failures, totp)) = row else {
        let _ = verify_password(dummy_hash(), password);
        conn.transaction(|c| {
            audit::append(
                c,
                signer,
                &Entry {
                    actor: "anonymous",
                    action: "login",
                    object: "staff:unknown",
                    outcome: Outcome::Failed,
                },
            )
        })?;
        return Ok(LoginResult::Refused(StaffError::BadCredentials));
    };
    let object = format!("staff:{username}");
    if locked_until > now {
        conn.transaction(|c| {
            audit::append(
                c,
                signer,
                &Entry {
                    actor: &object,
                    action: "login",
                    object: &object,
                    outcome: Outcome::Denied,
                },
            )
        })?;
        return Ok(LoginResult::Refused(StaffError::Locked));
    }
    if disabled || !verify_password(&hash, password) {
        conn.transaction::<_, StaffError, _>(|c| {
            audit::lock_head(c)?;
            let failures = failures + 1;
            let lock = if failures >= LOCK_AFTER {
                now + LOCK_SECONDS
            } else {
                0
            };
            diesel::update(staff::table.filter(staff::id.eq(&id)))
                .set((
                    staff::failed_logins.eq(failures),
                    staff::locked_until.eq(lock),
                ))
                .execute(c)?;
            audit::append(
                c,
                signer,
                &Entry {
                    actor: &object,
                    action: "login",
                    object: &object,
                    outcome: Outcome::Failed,
                },
            )?;
            Ok(())
        })?;
        return Ok(LoginResult::Refused(StaffError::BadCredentials));
    }
    let stage = if totp { Stage::Password } else { Stage::Enrol };
    let (token, id_hash) = new_secret_token("s_")?;
    conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        diesel::update(staff::table.filter(staff::id.eq(&id)))
            .set((staff::failed_logins.eq(0), staff::locked_until.eq(0)))
            .execute(c)?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::id_hash.eq(&id_hash),
                sessions::staff_id.eq(&id),
                sessions::stage.eq(stage.as_str()),
                sessions::created_at.eq(now),
                sessions::last_seen.eq(now),
            ))
            .execute(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: &object,
                action: "login.password",
                object: &object,
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })?;
    Ok(LoginResult::Session { token, stage })
}

/// Second factor: a TOTP code moves the session to `Full` (or finishes enrolment).
pub fn second_factor(
    conn: &mut DbConn,
    signer: &SigningKey,
    totp_key: &Secret32,
    session: &Session,
    code: &str,
) -> Result<bool, StaffError> {
    let enrolling = session.stage == Stage::Enrol;
    let ok = check_totp(conn, totp_key, &session.actor.id, code, enrolling)?;
    let object = session.actor.audit_name();
    conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        if ok {
            diesel::update(sessions::table.filter(sessions::id_hash.eq(&session.id_hash)))
                .set(sessions::stage.eq(Stage::Full.as_str()))
                .execute(c)?;
        }
        let action = if enrolling {
            "totp.enrol"
        } else {
            "login.totp"
        };
        let outcome = if ok { Outcome::Ok } else { Outcome::Failed };
        audit::append(
            c,
            signer,
            &Entry {
                actor: &object,
                action,
                object: &object,
                outcome,
            },
        )?;
        Ok(())
    })?;
    Ok(ok)
}

/// Loads the session behind a cookie value, ending it if idle or too old. Touches last_seen.
pub fn session(conn: &mut DbConn, token: &str) -> Result<Option<Session>, StaffError> {
    let id_hash = sha256(token.as_bytes()).to_vec();
    let now = now_unix();
    let row = sessions::table
        .filter(sessions::id_hash.eq(&id_hash))
        .select((
            sessions::staff_id,
            sessions::stage,
            sessions::created_at,
            sessions::last_seen,
        ))
        .first::<(String, String, i64, i64)>(conn)
        .optional()?;
    let Some((staff_id, stage, created, seen)) = row else {
        return Ok(None);
    };
    if now - seen > IDLE_SECONDS || now - created > MAX_SESSION_SECONDS {
        diesel::delete(sessions::table.filter(sessions::id_hash.eq(&id_hash))).execute(conn)?;
        return Ok(None);
    }
    let Some(actor) = super::accounts::actor_by_id(conn, &staff_id)? else {
        return Ok(None);
    };
    if now - seen > 60 {
        diesel::update(sessions::table.filter(sessions::id_hash.eq(&id_hash)))
            .set(sessions::last_seen.eq(now))
            .execute(conn)?;
    }
    Ok(Stage::parse(&stage).map(|stage| Session {
        actor,
        stage,
        id_hash,
    }))
}

pub fn logout(conn: &mut DbConn, signer: &SigningKey, session: &Session) -> Result<(), StaffError> {
    conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        diesel::delete(sessions::table.filter(sessions::id_hash.eq(&session.id_hash)))
            .execute(c)?;
        let who = session.actor.audit_name();
        audit::append(
            c,
            signer,
            &Entry {
                actor: &who,
                action: "logout",
                object: &who,
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

/// The CSRF token of a session: derived, so nothing more is stored.
pub fn csrf_token(csrf_key: &Secret32, session: &Session) -> String {
    hex::encode(&keyed_hash(csrf_key, &[b"csrf", &session.id_hash])[..16])
}

pub fn csrf_ok(csrf_key: &Secret32, session: &Session, given: &str) -> bool {
    ct_eq(csrf_token(csrf_key, session).as_bytes(), given.as_bytes())
}

// --- API tokens -------------------------------------------------------------------------------

/// Issues a bearer token for a user; the token is returned once and stored only as a hash.
pub fn issue_token(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    username: &str,
    days: i64,
) -> Result<(String, String), StaffError> {
    let (token, hash) = new_secret_token("tl_")?;
    let id = hex::encode(random_bytes::<6>()?);
    let now = now_unix();
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let staff_id: String = staff::table
            .filter(staff::username.eq(username))
            .filter(staff::disabled.eq(false))
            .select(staff::id)
            .first(c)
            .optional()?
            .ok_or(StaffError::NoSuchUser)?;
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(&id),
                api_tokens::staff_id.eq(&staff_id),
                api_tokens::token_hash.eq(&hash),
                api_tokens::created_at.eq(now),
                api_tokens::expires_at.eq(now + days.clamp(1, 366) * 86_400),
            ))
            .execute(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: by,
                action: "token.issue",
                object: &format!("token:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok((id.clone(), token.clone()))
    })
}

pub fn revoke_token(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    id: &str,
) -> Result<(), StaffError> {
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let n = diesel::update(api_tokens::table.filter(api_tokens::id.eq(id)))
            .set(api_tokens::revoked.eq(true))
            .execute(c)?;
        if n == 0 {
            return Err(StaffError::NoSuchToken);
        }
        audit::append(
            c,
            signer,
            &Entry {
                actor: by,
                action: "token.revoke",
                object: &format!("token:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

/// The actor behind a bearer token, if it is known, unexpired, unrevoked and its user enabled.
pub fn actor_for_token(conn: &mut DbConn, token: &str) -> Result<Option<Actor>, StaffError> {
    let hash = sha256(token.as_bytes()).to_vec();
    let row = api_tokens::table
        .filter(api_tokens::token_hash.eq(&hash))
        .filter(api_tokens::revoked.eq(false))
        .filter(api_tokens::expires_at.gt(now_unix()))
        .select(api_tokens::staff_id)
        .first::<String>(conn)
        .optional()?;
    match row {
        Some(id) => super::accounts::actor_by_id(conn, &id),
        None => Ok(None),
    }
}
