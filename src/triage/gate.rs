//! The gate every staff action on a tip passes: the error type, the scope check (unit and
//! routing binding), the audited transaction, and one step of the state machine. Below `work`
//! and `links`, which both build on it and no longer import each other's internals.

use super::reader::ReadError;
use super::routing::{Route, RouteKey};
use super::states;
use crate::audit::{self, Entry, Outcome};
use crate::crypto::random_bytes;
use crate::db::schema::{tip_events, tips};
use crate::db::{DbConn, DbError, now_unix};
use crate::staff::Actor;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no such tip")]
    NotFound,
    #[error("your role may not do this")]
    Forbidden,
    #[error("a tip cannot go from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    #[error("{0}")]
    BadInput(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealed data could not be opened")]
    Crypto,
    /// A refusal with its own stable code (409), e.g. a tip that is already in a case.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("the office key is not on this node")]
    NoOfficeKey,
    /// Whoever entered a tip by hand saw its receipt and may not verify it (issue 14).
    #[error("you entered this tip and saw its receipt; someone else must verify it")]
    OwnTip,
}

impl From<diesel::result::Error> for TriageError {
    fn from(e: diesel::result::Error) -> Self {
        TriageError::Db(DbError::Query(e))
    }
}

impl From<ReadError> for TriageError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound => TriageError::NotFound,
            ReadError::Db(d) => TriageError::Db(d),
            ReadError::Crypto(_) => TriageError::Crypto,
        }
    }
}

impl From<crate::crypto::CryptoError> for TriageError {
    fn from(_: crate::crypto::CryptoError) -> Self {
        TriageError::Crypto
    }
}

fn deny(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    action: &str,
    object: &str,
) -> Result<(), TriageError> {
    let e = Entry {
        actor: &actor.audit_name(),
        action,
        object,
        outcome: Outcome::Denied,
    };
    audit::record(conn, signer, &e)?;
    Ok(())
}

/// Whether a tip's routing columns still match the binding intake sealed (`tips.route_mac`).
/// `None` when the tip does not exist.
pub(crate) fn route_intact(
    c: &mut DbConn,
    route: &RouteKey,
    id: &str,
) -> QueryResult<Option<bool>> {
    let row = tips::table
        .filter(tips::id.eq(id))
        .select((
            tips::unit_code,
            tips::county_only,
            tips::category,
            tips::township,
            tips::route_mac,
        ))
        .first::<(String, bool, String, String, Option<Vec<u8>>)>(c)
        .optional()?;
    Ok(row.map(|(unit, county_only, category, township, mac)| {
        route.holds(
            &Route {
                tip_id: id,
                unit: &unit,
                county_only,
                category: &category,
                township: &township,
            },
            mac.as_deref(),
        )
    }))
}

/// Whether `actor` may reach a tip of `unit` whose binding is `intact` or not. A tip whose
/// routing columns do not match their binding may be a county-only tip moved to a station by a
/// database write: outside the county brigade it does not exist; the county brigade reaches it
/// whatever its unit column says, so that someone there looks at it.
pub(crate) fn reaches(actor: &Actor, unit: &str, intact: bool) -> bool {
    if intact {
        actor.sees_unit(unit)
    } else {
        actor.in_county_brigade()
    }
}

/// Loads a tip's unit and status inside a transaction, checking the actor's scope and the
/// tip's routing binding. This is the one gate every staff action or read on a tip by id goes
/// through: outside the scope (or with a broken binding, outside the county brigade) the tip
/// does not exist for them (404), and the attempt is audited as denied by the caller.
pub(crate) fn scoped_tip(
    c: &mut DbConn,
    route: &RouteKey,
    actor: &Actor,
    id: &str,
) -> Result<Option<(String, String)>, TriageError> {
    let row = tips::table
        .filter(tips::id.eq(id))
        .select((tips::unit_code, tips::status))
        .first::<(String, String)>(c)
        .optional()?;
    let Some((unit, status)) = row else {
        return Ok(None);
    };
    let intact = route_intact(c, route, id)?.unwrap_or(false);
    Ok(reaches(actor, &unit, intact).then_some((unit, status)))
}

/// Runs `change` in one transaction with its audit entry on `object`, for a role that works
/// tips. The audit head is locked first; refusals (role, scope, input) are audited on their
/// own after the rollback.
pub(crate) fn audited<T>(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    action: &str,
    object: &str,
    change: impl FnOnce(&mut DbConn) -> Result<T, TriageError>,
) -> Result<T, TriageError> {
    if !actor.role.reads_tips() {
        deny(conn, signer, actor, action, object)?;
        return Err(TriageError::Forbidden);
    }
    let result = conn.transaction::<_, TriageError, _>(|c| {
        audit::lock_head(c)?;
        let out = change(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: &actor.audit_name(),
                action,
                object,
                outcome: Outcome::Ok,
            },
        )?;
        Ok(out)
    });
    let refused = match &result {
        Err(TriageError::NotFound) => Some(Outcome::Denied),
        Err(TriageError::InvalidTransition { .. })
        | Err(TriageError::BadInput(_))
        | Err(TriageError::Refused { .. }) => Some(Outcome::Failed),
        _ => None,
    };
    if let Some(outcome) = refused {
        let e = Entry {
            actor: &actor.audit_name(),
            action,
            object,
            outcome,
        };
        audit::record(conn, signer, &e)?;
    }
    result
}

/// The staff id of whoever entered a tip by hand (hotline, box) and saw its receipt.
pub fn entered_by(c: &mut DbConn, tip_id: &str) -> QueryResult<Option<String>> {
    Ok(tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::entered_by)
        .first::<Option<String>>(c)
        .optional()?
        .flatten())
}

/// One step of the state machine, with its event row; inside the caller's transaction.
pub(crate) fn move_status(
    c: &mut DbConn,
    actor: &Actor,
    id: &str,
    from: &str,
    to: &str,
) -> Result<(), TriageError> {
    if !states::allowed(from, to) {
        return Err(TriageError::InvalidTransition {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    if to == "verified" && entered_by(c, id)?.as_deref() == Some(actor.id.as_str()) {
        return Err(TriageError::OwnTip);
    }
    let now = now_unix();
    diesel::update(tips::table.filter(tips::id.eq(id)))
        .set((tips::status.eq(to), tips::updated_at.eq(now)))
        .execute(c)?;
    diesel::insert_into(tip_events::table)
        .values((
            tip_events::id.eq(hex::encode(random_bytes::<12>()?)),
            tip_events::tip_id.eq(id),
            tip_events::at.eq(now),
            tip_events::actor.eq(actor.audit_name()),
            tip_events::from_status.eq(from),
            tip_events::to_status.eq(to),
        ))
        .execute(c)?;
    Ok(())
}
