//! Two people for every tip reader (issue 14, item 6). An admin reads no tip, but could create
//! a county-wide supervisor with a password they chose and read every tip. So an officer or
//! supervisor account an admin creates (over the admin pages or the staff API) waits, disabled,
//! until a county supervisor who did not create it approves it; the county supervisors are told
//! that an account awaits approval (nothing more). Accounts made with `tipline user add` are
//! approved at once: the operator is at the console of the server at install, and the first
//! supervisors have no one to approve them.

use super::{Actor, Role, StaffError};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::seal::{Recipient, Sealer};
use crate::db::DbConn;
use crate::db::schema::staff;
use crate::intake::catalog::COUNTY_UNIT;
use crate::notify::Job;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde::Serialize;

/// The audit name of the operator at the console.
pub const CONSOLE: &str = "cli";

/// Whether an account of `role` made by `by` must wait for a county supervisor.
pub fn needs_approval(role: Role, by: &str) -> bool {
    (role.reads_tips() || role == Role::Liaison) && by != CONSOLE
}

/// Where notices go: the outbox, sealed to the relay key.
pub struct Notice<'a> {
    pub sealer: &'a Sealer,
    pub relay: &'a Recipient,
}

/// Tells every active county supervisor who gave an address that an account awaits approval:
/// no name, no role, no unit. Inside the caller's transaction.
pub fn announce(c: &mut DbConn, notice: &Notice) -> Result<usize, StaffError> {
    let ids: Vec<String> = staff::table
        .filter(staff::role.eq("supervisor"))
        .filter(staff::disabled.eq(false))
        .filter(
            staff::unit_code
                .is_null()
                .or(staff::unit_code.eq(COUNTY_UNIT)),
        )
        .filter(staff::contact.is_not_null())
        .select(staff::id)
        .load(c)?;
    for id in &ids {
        let job = Job::Staff {
            staff_id: id.clone(),
            template: "staff_account_pending".into(),
            params: Vec::new(),
        };
        crate::notify::outbox::enqueue(c, notice.sealer, notice.relay, &job).map_err(
            |e| match e {
                crate::notify::outbox::OutboxError::Db(d) => StaffError::Db(d),
                crate::notify::outbox::OutboxError::Crypto(x) => StaffError::Crypto(x),
            },
        )?;
    }
    Ok(ids.len())
}

/// May approve reader accounts: a supervisor of the county (no unit, or the county brigade).
fn require_approver(actor: &Actor) -> Result<(), StaffError> {
    if actor.sees_all() {
        Ok(())
    } else {
        Err(StaffError::NotApprover)
    }
}

#[derive(Debug, Serialize)]
pub struct PendingAccount {
    pub username: String,
    pub role: String,
    pub unit: Option<String>,
    pub created_by: Option<String>,
    /// When it was created, as a unix time cut to the hour (for the web page only).
    #[serde(skip_serializing)]
    pub created_hour: i64,
}

/// Accounts waiting for approval, for a county supervisor.
pub fn pending(conn: &mut DbConn, actor: &Actor) -> Result<Vec<PendingAccount>, StaffError> {
    require_approver(actor)?;
    type Row = (String, String, Option<String>, Option<String>, i64);
    let rows: Vec<Row> = staff::table
        .filter(staff::approval_pending.eq(true))
        .order(staff::username)
        .select((
            staff::username,
            staff::role,
            staff::unit_code,
            staff::created_by,
            staff::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(username, role, unit, created_by, at)| PendingAccount {
            username,
            role,
            unit,
            created_by,
            created_hour: at - at.rem_euclid(3600),
        })
        .collect())
}

/// A county supervisor approves a waiting account: it may log in from now on. Whoever created
/// or asked for it may not approve it (the database refuses that too).
pub fn approve(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    username: &str,
) -> Result<(), StaffError> {
    let name = actor.audit_name();
    let object = format!("staff:{username}");
    let result = conn.transaction(|c| {
        audit::lock_head(c)?;
        require_approver(actor)?;
        let (pending, created_by): (bool, Option<String>) = staff::table
            .filter(staff::username.eq(username))
            .select((staff::approval_pending, staff::created_by))
            .first(c)
            .optional()?
            .ok_or(StaffError::NoSuchUser)?;
        if !pending {
            return Err(StaffError::NotPendingApproval);
        }
        if created_by.as_deref() == Some(name.as_str()) || actor.username == username {
            return Err(StaffError::OwnAccount);
        }
        diesel::update(staff::table.filter(staff::username.eq(username)))
            .set((
                staff::approval_pending.eq(false),
                staff::disabled.eq(false),
                staff::approved_by.eq(Some(&name)),
            ))
            .execute(c)?;
        audit::append(
            c,
            signer,
            &Entry {
                actor: &name,
                action: "user.approve",
                object: &object,
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    });
    if let Err(e @ (StaffError::NotApprover | StaffError::OwnAccount)) = &result {
        let _ = e;
        audit::record(
            conn,
            signer,
            &Entry {
                actor: &name,
                action: "user.approve",
                object: &object,
                outcome: Outcome::Denied,
            },
        )?;
    }
    result
}
