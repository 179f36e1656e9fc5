//! Staff: accounts, roles, passwords, TOTP, sessions and API tokens.

pub mod accounts;
pub mod approval;
pub mod auth;

use serde::Serialize;

/// Separation of duties (China's multi-level protection scheme, level 3): an admin manages
/// accounts and configuration but reads no tip and no audit entry; an auditor reads only the
/// audit log; finance never sees tip content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Supervisor,
    Finance,
    Admin,
    Auditor,
    /// A township's liaison (issue 20): files the township's monthly return and reads its
    /// review; no tip, reward, payout or report.
    Liaison,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Officer,
        Role::Supervisor,
        Role::Finance,
        Role::Admin,
        Role::Auditor,
        Role::Liaison,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Finance => "finance",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Liaison => "liaison",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// May open tips and work the queue.
    pub fn reads_tips(self) -> bool {
        matches!(self, Role::Officer | Role::Supervisor)
    }
}

/// Who is acting, as loaded for each request from the database.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub id: String,
    pub username: String,
    pub role: Role,
    /// `None` for county-wide staff (a supervisor without a unit, admins, auditors).
    pub unit: Option<String>,
}

impl Actor {
    pub fn audit_name(&self) -> String {
        format!("staff:{}", self.username)
    }

    /// Whether this person may see tips of `unit`: their own unit, or every unit for staff
    /// of the county brigade and county-wide supervisors.
    pub fn sees_unit(&self, unit: &str) -> bool {
        self.role.reads_tips() && (self.sees_all() || self.unit.as_deref() == Some(unit))
    }

    /// Staff of the county brigade (its officers, and county-wide supervisors): the only
    /// readers who may learn that a county-only tip exists.
    pub fn in_county_brigade(&self) -> bool {
        self.role.reads_tips()
            && (self.sees_all()
                || self.unit.as_deref() == Some(crate::intake::catalog::COUNTY_UNIT))
    }

    /// County supervisors (no unit, or the county brigade) see every unit's tips.
    pub fn sees_all(&self) -> bool {
        self.role == Role::Supervisor
            && self
                .unit
                .as_deref()
                .is_none_or(|u| u == crate::intake::catalog::COUNTY_UNIT)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("unknown role (use officer, supervisor, finance, admin, auditor or liaison)")]
    UnknownRole,
    #[error("unknown unit")]
    UnknownUnit,
    #[error("this role needs a unit")]
    UnitRequired,
    #[error("a liaison needs a township (and no unit); only a liaison has a township")]
    TownshipRequired,
    #[error("a user with this name exists")]
    Exists,
    #[error("usernames are 3-32 letters, digits, dots, dashes or underscores")]
    BadUsername,
    #[error("passwords need at least 12 characters")]
    WeakPassword,
    #[error("no such user")]
    NoSuchUser,
    #[error("wrong username, password or code")]
    BadCredentials,
    #[error("the account is locked after repeated failures; try again later")]
    Locked,
    #[error(
        "the initial password has expired unused; ask an admin for a new one (tipline user reset-password)"
    )]
    InitialPasswordExpired,
    #[error("unknown token scope (use read, write, rewards, audit, admin, or all)")]
    UnknownScope,
    #[error("no such token")]
    NoSuchToken,
    #[error("only a county supervisor may approve a tip-reading account")]
    NotApprover,
    #[error("this account is not waiting for approval")]
    NotPendingApproval,
    #[error("whoever created or asked for an account may not approve it")]
    OwnAccount,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

impl From<diesel::result::Error> for StaffError {
    fn from(e: diesel::result::Error) -> Self {
        StaffError::Db(crate::db::DbError::Query(e))
    }
}
