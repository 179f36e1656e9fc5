//! Logging in and staying logged in: password then TOTP, sessions stored in the database (only
//! a hash of the session id), CSRF tokens bound to the session, bearer API tokens for the
//! staff API. Failed logins slow down and then lock the account.

use super::accounts::{check_totp, verify_password};
use super::{Actor, StaffError};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::{Secret32, ct_eq, keyed_hash, random_bytes, sha256};
use crate::db::schema::{api_tokens, login_locks, sessions, staff};
use crate::db::{DbConn, now_unix};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;

/// A session ends after this long without a request.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// And after this long in any case.
pub const MAX_SESSION_SECONDS: i64 = 12 * 3600;
/// Failures (wrong passwords and wrong TOTP codes) from one client network before that
/// network is locked out of that account.
pub const LOCK_AFTER: i32 = 5;
/// The first lock; each further round of `LOCK_AFTER` failures doubles it, up to a day.
pub const LOCK_SECONDS: i64 = 15 * 60;
const MAX_LOCK_SECONDS: i64 = 24 * 3600;
/// Wrong TOTP codes a password-stage session survives; the next one ends it.
pub const TOTP_TRIES: i32 = 3;
/// A lock row forgotten this long after its last failure (and its lock over) is deleted.
const LOCK_ROW_SECONDS: i64 = 24 * 3600;

/// Where a login attempt comes from: the client's network (IPv4 address or IPv6 /64, see
/// `web::ratelimit::network_of`) and the key its lock rows are hashed under. Neither the
/// address nor the typed username is stored: only `keyed_hash(key, username, network)`.
pub struct Origin<'a> {
    pub lock_key: &'a Secret32,
    pub network: &'a str,
}

impl Origin<'_> {
    fn lock_row(&self, username: &str) -> Vec<u8> {
        keyed_hash(
            self.lock_key,
            &[
                b"login-lock-v1",
                &(username.len() as u64).to_be_bytes(),
                username.as_bytes(),
                self.network.as_bytes(),
            ],
        )
        .to_vec()
    }
}

/// The lock of one (username, network), if it is locked now.
fn locked(c: &mut DbConn, key: &[u8], now: i64) -> Result<bool, StaffError> {
    let until: Option<i64> = login_locks::table
        .filter(login_locks::lock_key.eq(key))
        .select(login_locks::locked_until)
        .first(c)
        .optional()?;
    Ok(until.is_some_and(|u| u > now))
}

/// Counts one failure (or one attempt about to be checked) against (username, network), inside
/// the caller's transaction, which holds the write lock: every `LOCK_AFTER`th locks, each
/// round for twice as long as the one before.
fn count_failure(c: &mut DbConn, key: &[u8], now: i64) -> Result<i32, StaffError> {
    diesel::delete(
        login_locks::table
            .filter(login_locks::updated_at.lt(now - LOCK_ROW_SECONDS))
            .filter(login_locks::locked_until.lt(now)),
    )
    .execute(c)?;
    let before: i32 = login_locks::table
        .filter(login_locks::lock_key.eq(key))
        .select(login_locks::failures)
        .first(c)
        .optional()?
        .unwrap_or(0);
    let failures = before.saturating_add(1);
    let lock = if failures % LOCK_AFTER == 0 {
        let round = (failures / LOCK_AFTER - 1).clamp(0, 10) as u32;
        now + (LOCK_SECONDS << round).min(MAX_LOCK_SECONDS)
    } else {
        0
    };
    if before == 0 {
        diesel::delete(login_locks::table.filter(login_locks::lock_key.eq(key))).execute(c)?;
        diesel::insert_into(login_locks::table)
            .values((
                login_locks::lock_key.eq(key),
                login_locks::failures.eq(failures),
                login_locks::locked_until.eq(lock),
                login_locks::updated_at.eq(now),
            ))
            .execute(c)?;
    } else {
        diesel::update(login_locks::table.filter(login_locks::lock_key.eq(key)))
            .set((
                login_locks::failures.eq(failures),
                login_locks::locked_until.eq(lock),
                login_locks::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(failures)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password given; TOTP code still due.
    Password,
    /// Password given, no TOTP enrolled yet: only enrolment is allowed.
    Enrol,
    /// Both factors given, but the password is an initial one: only the change-password page.
    Change,
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::Enrol => "enrol",
            Stage::Change => "change",
            Stage::Full => "full",
        }
    }
    fn parse(s: &str) -> Option<Stage> {
        [Stage::Password, Stage::Enrol, Stage::Change, Stage::Full]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

pub struct Session {
    pub actor: Actor,
    pub stage: Stage,
    pub id_hash: Vec<u8>,
    /// A county supervisor, and some account waits for approval (for the nav link).
    pub approvals_waiting: bool,
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

fn audit_login(
    c: &mut DbConn,
    signer: &SigningKey,
    object: &str,
    action: &str,
    outcome: Outcome,
) -> Result<(), StaffError> {
    audit::append(
        c,
        signer,
        &Entry {
            actor: object,
            action,
            object,
            outcome,
        },
    )?;
    Ok(())
}

/// Checks username and password. The attempt is counted against (username, client network)
/// first, in the transaction that checks the lock and holds the write lock, and only then is
/// the password verified: parallel guesses cannot all read the same count. A right password
/// takes back its own count; only a right TOTP code clears the rest. Unknown usernames take the same path (a dummy Argon2 verify, the same lock rows,
/// the same answers, "locked" included).
pub fn login(
    conn: &mut DbConn,
    signer: &SigningKey,
    origin: &Origin,
    username: &str,
    password: &str,
) -> Result<LoginResult, StaffError> {
    let now = now_unix();
    let key = origin.lock_row(username);
    type Row = (String, String, bool, bool, bool, Option<i64>);
    let admitted = conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        let row = staff::table
            .filter(staff::username.eq(username))
            .select((
                staff::id,
                staff::password_hash,
                staff::disabled,
                staff::totp_enabled,
                staff::must_change_password,
                staff::password_expires_at,
            ))
            .first::<Row>(c)
            .optional()?;
        let object = match row {
            Some(_) => format!("staff:{username}"),
            None => "staff:unknown".to_string(),
        };
        if locked(c, &key, now)? {
            audit_login(c, signer, &object, "login", Outcome::Denied)?;
            return Ok(None);
        }
        count_failure(c, &key, now)?;
        Ok(Some((row, object)))
    })?;
    let Some((row, object)) = admitted else {
        return Ok(LoginResult::Refused(StaffError::Locked));
    };
    let good = match &row {
        Some((_, hash, disabled, ..)) => verify_password(hash, password) && !disabled,
        None => {
            let _ = verify_password(dummy_hash(), password);
            false
        }
    };
    let Some((id, _, _, totp, _, expires)) = row.filter(|_| good) else {
        conn.transaction(|c| {
            audit::lock_head(c)?;
            audit_login(c, signer, &object, "login", Outcome::Failed)
        })?;
        return Ok(LoginResult::Refused(StaffError::BadCredentials));
    };
    if expires.is_some_and(|e| e <= now) {
        conn.transaction(|c| {
            audit::lock_head(c)?;
            audit_login(c, signer, &object, "login.expired", Outcome::Denied)
        })?;
        return Ok(LoginResult::Refused(StaffError::InitialPasswordExpired));
    }
    let stage = if totp { Stage::Password } else { Stage::Enrol };
    let (token, id_hash) = new_secret_token("s_")?;
    conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        // The right password takes back its own attempt, nothing more: wrong TOTP codes
        // counted on this (account, network) stay counted until a code is right, so logging
        // in again does not buy more guesses at the code.
        diesel::update(
            login_locks::table
                .filter(login_locks::lock_key.eq(&key))
                .filter(login_locks::failures.gt(0)),
        )
        .set((
            login_locks::failures.eq(login_locks::failures - 1),
            login_locks::locked_until.eq(0),
        ))
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
        audit_login(c, signer, &object, "login.password", Outcome::Ok)
    })?;
    Ok(LoginResult::Session { token, stage })
}

/// What a TOTP code did to a password-stage (or enrolment) session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// Accepted: the session's new stage (`Full`, or `Change` for an initial password).
    Accepted(Stage),
    /// Wrong or spent; the session lives on for another try.
    Wrong,
    /// The session is over: too many wrong codes, or this client is locked out of the account.
    Ended,
}

/// Second factor: a TOTP code moves the session on. All in one transaction holding the write
/// lock: the session's failures and the (account, network) lock are read, the code checked, and
/// a wrong code counted against both before anyone else's attempt is looked at.
pub fn second_factor(
    conn: &mut DbConn,
    signer: &SigningKey,
    totp_key: &Secret32,
    origin: &Origin,
    session: &Session,
    code: &str,
) -> Result<SecondFactor, StaffError> {
    let enrolling = session.stage == Stage::Enrol;
    let object = session.actor.audit_name();
    let key = origin.lock_row(&session.actor.username);
    let now = now_unix();
    let action = if enrolling {
        "totp.enrol"
    } else {
        "login.totp"
    };
    conn.transaction::<_, StaffError, _>(|c| {
        audit::lock_head(c)?;
        let end = |c: &mut DbConn| -> Result<SecondFactor, StaffError> {
            diesel::delete(sessions::table.filter(sessions::id_hash.eq(&session.id_hash)))
                .execute(c)?;
            audit_login(c, signer, &object, action, Outcome::Denied)?;
            Ok(SecondFactor::Ended)
        };
        let tries: Option<(String, i32)> = sessions::table
            .filter(sessions::id_hash.eq(&session.id_hash))
            .select((sessions::stage, sessions::totp_failures))
            .first(c)
            .optional()?;
        let Some((stage, failures)) = tries else {
            return Ok(SecondFactor::Ended);
        };
        if Stage::parse(&stage) != Some(session.stage)
            || failures >= TOTP_TRIES
            || locked(c, &key, now)?
        {
            return end(c);
        }
        if check_totp(c, totp_key, &session.actor.id, code, enrolling)? {
            let must_change: bool = staff::table
                .filter(staff::id.eq(&session.actor.id))
                .select(staff::must_change_password)
                .first(c)?;
            let next = if must_change {
                Stage::Change
            } else {
                Stage::Full
            };
            diesel::update(sessions::table.filter(sessions::id_hash.eq(&session.id_hash)))
                .set((
                    sessions::stage.eq(next.as_str()),
                    sessions::totp_failures.eq(0),
                ))
                .execute(c)?;
            diesel::delete(login_locks::table.filter(login_locks::lock_key.eq(&key))).execute(c)?;
            audit_login(c, signer, &object, action, Outcome::Ok)?;
            return Ok(SecondFactor::Accepted(next));
        }
        count_failure(c, &key, now)?;
        audit_login(c, signer, &object, action, Outcome::Failed)?;
        if failures + 1 >= TOTP_TRIES {
            return end(c);
        }
        diesel::update(sessions::table.filter(sessions::id_hash.eq(&session.id_hash)))
            .set(sessions::totp_failures.eq(failures + 1))
            .execute(c)?;
        Ok(SecondFactor::Wrong)
    })
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
    let approvals_waiting = actor.role == super::Role::Supervisor
        && actor.sees_all()
        && super::accounts::any_pending(conn)?;
    Ok(Stage::parse(&stage).map(|stage| Session {
        actor,
        stage,
        id_hash,
        approvals_waiting,
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

/// What a bearer token may do, checked per route on top of the role (see
/// `web::staff::api_kit::scope_of`): a token narrows what its user may do, never widens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// GET on tips, cases, units, reports and one's own settings.
    Read,
    /// Changing tips and cases (transitions, notes, messages, new tips) and one's settings.
    Write,
    /// Rewards, payouts, the ledger and reading policy documents.
    Rewards,
    /// The audit log.
    Audit,
    /// Users, units, policy documents.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Write,
        Scope::Rewards,
        Scope::Audit,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Rewards => "rewards",
            Scope::Audit => "audit",
            Scope::Admin => "admin",
        }
    }

    /// A comma-separated list (`read,write`), or `all`.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, StaffError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                return Ok(Scope::ALL.to_vec());
            }
            let scope = Scope::ALL
                .into_iter()
                .find(|x| x.as_str() == part)
                .ok_or(StaffError::UnknownScope)?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        if out.is_empty() {
            return Err(StaffError::UnknownScope);
        }
        Ok(out)
    }

    fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Default and longest lifetime of a bearer token, hours.
pub const TOKEN_DEFAULT_HOURS: i64 = 24;
pub const TOKEN_MAX_HOURS: i64 = 30 * 24;

/// Issues a bearer token for a user; the token is returned once and stored only as a hash.
/// Only the CLI issues tokens (no web route does), so a password alone never yields one.
pub fn issue_token(
    conn: &mut DbConn,
    signer: &SigningKey,
    by: &str,
    username: &str,
    hours: i64,
    scopes: &[Scope],
) -> Result<(String, String), StaffError> {
    if scopes.is_empty() {
        return Err(StaffError::UnknownScope);
    }
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
                api_tokens::expires_at.eq(now + hours.clamp(1, TOKEN_MAX_HOURS) * 3600),
                api_tokens::scopes.eq(Scope::join(scopes)),
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

/// The actor behind a bearer token and the token's scopes, if it is known, unexpired,
/// unrevoked, and its user enabled and past any initial password.
pub fn actor_for_token(
    conn: &mut DbConn,
    token: &str,
) -> Result<Option<(Actor, Vec<Scope>)>, StaffError> {
    let hash = sha256(token.as_bytes()).to_vec();
    let row = api_tokens::table
        .inner_join(staff::table)
        .filter(api_tokens::token_hash.eq(&hash))
        .filter(api_tokens::revoked.eq(false))
        .filter(api_tokens::expires_at.gt(now_unix()))
        .filter(staff::must_change_password.eq(false))
        .select((api_tokens::staff_id, api_tokens::scopes))
        .first::<(String, String)>(conn)
        .optional()?;
    let Some((id, scopes)) = row else {
        return Ok(None);
    };
    // Unknown names in the column grant nothing.
    let scopes = scopes
        .split(',')
        .filter_map(|p| Scope::ALL.into_iter().find(|s| s.as_str() == p))
        .collect();
    Ok(super::accounts::actor_by_id(conn, &id)?.map(|a| (a, scopes)))
}
