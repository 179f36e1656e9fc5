//! Monthly figures per township, category and channel (the plan's report on the 28th): counted
//! in the database, shown to supervisors with charts, exported as CSV and XLSX with small
//! counts suppressed, and mailed to the office with the audit log's head hash.

pub mod export;
pub mod figures;
pub mod mailer;
pub mod period;
pub mod suppress;

use crate::audit::{self, Entry, Outcome};
use crate::db::DbConn;
use crate::db::schema::audit_head;
use crate::staff::{Actor, Role};
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use figures::{Figures, MonthTotal};
use period::Period;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("month must be YYYY-MM")]
    BadMonth,
    #[error("this role does not read reports")]
    Forbidden,
    #[error("unknown unit")]
    UnknownUnit,
    #[error("the spreadsheet could not be written")]
    Export,
    #[error(transparent)]
    Outbox(#[from] crate::notify::outbox::OutboxError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Whose tips a report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    County,
    Unit(String),
}

impl Scope {
    /// County supervisors, admins and auditors read the county's figures; a unit's supervisor
    /// reads the unit's. Everyone else is refused.
    pub fn of(actor: &Actor) -> Result<Scope, ReportError> {
        match actor.role {
            Role::Supervisor if actor.sees_all() => Ok(Scope::County),
            Role::Supervisor => actor
                .unit
                .clone()
                .map(Scope::Unit)
                .ok_or(ReportError::Forbidden),
            Role::Admin | Role::Auditor => Ok(Scope::County),
            _ => Err(ReportError::Forbidden),
        }
    }

    /// Narrows a county-wide scope to one unit on request; a unit's reader may ask only for
    /// their own unit (another unit is "not found", as everywhere in the staff API).
    pub fn narrowed(self, unit: Option<&str>) -> Result<Scope, ReportError> {
        match (self, unit) {
            (Scope::County, Some(u)) => Ok(Scope::Unit(u.to_string())),
            (Scope::Unit(mine), Some(u)) if mine != u => Err(ReportError::UnknownUnit),
            (s, _) => Ok(s),
        }
    }

    pub fn unit(&self) -> Option<&str> {
        match self {
            Scope::County => None,
            Scope::Unit(u) => Some(u),
        }
    }
}

/// The audit log's head: its last sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: Vec<u8>,
}

pub fn audit_head(conn: &mut DbConn) -> Result<AuditHead, ReportError> {
    let (seq, hash) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first::<(i64, Vec<u8>)>(conn)?;
    Ok(AuditHead { seq, hash })
}

/// Records an export or a mailing in the audit log; returns the head that includes it, which
/// the exported files carry.
pub fn record(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &str,
    action: &str,
    object: &str,
) -> Result<AuditHead, ReportError> {
    conn.transaction(|c| {
        audit::append(
            c,
            signer,
            &Entry {
                actor,
                action,
                object,
                outcome: Outcome::Ok,
            },
        )?;
        audit_head(c)
    })
}

/// One month's report: the figures, the twelve months' trend that ends with it, and when it
/// was counted.
#[derive(Debug, Clone)]
pub struct Report {
    pub period: Period,
    pub scope: Scope,
    pub figures: Figures,
    pub trend: Vec<MonthTotal>,
    pub generated_at: i64,
    /// Whether the month was still running when counted.
    pub partial: bool,
    /// The townships' returns for the month (issue 20): county reports only.
    pub returns: Option<crate::returns::deadlines::MonthCounts>,
}

pub const TREND_MONTHS: usize = 12;

/// Counts a report in one read transaction, so every table agrees with every other.
pub fn monthly(
    conn: &mut DbConn,
    scope: &Scope,
    period: &Period,
    report_day: u8,
) -> Result<Report, ReportError> {
    if let Scope::Unit(u) = scope {
        let known: i64 = crate::db::schema::units::table
            .filter(crate::db::schema::units::code.eq(u))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(ReportError::UnknownUnit);
        }
    }
    conn.transaction(|c| {
        let now = crate::db::now_unix();
        let figures = figures::count(c, scope, period)?;
        let earlier = period.trailing(TREND_MONTHS, report_day);
        let mut trend = figures::trend(c, scope, &earlier[..earlier.len() - 1])?;
        let total = figures.total();
        trend.push(MonthTotal {
            month: period.label(),
            received: total.received,
            verified: total.verified,
        });
        let returns = match scope {
            Scope::County => crate::returns::deadlines::counts(c, period, now).ok(),
            Scope::Unit(_) => None,
        };
        Ok(Report {
            returns,
            period: *period,
            scope: scope.clone(),
            figures,
            trend,
            generated_at: now,
            partial: period.open_at(now),
        })
    })
}
