//! Rewards (DESIGN.md section 4): the schedule suggests an amount from the case facts, the
//! approval ladder decides who signs in which order, finance signs last and a claim code is made
//! for the receipt holder; finance records the payout against the code, at most once.
//! Every change runs in one transaction with its audit entry; refusals are audited too.

pub mod approvals;
pub mod calendar;
pub mod claim;
pub mod payouts;
pub mod policy;
pub mod reporter;
pub mod schedule;

use crate::audit::{self, Entry, Outcome};
use crate::db::{DbConn, DbError};
use diesel::Connection;
use ed25519_dalek::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum RewardError {
    #[error("no such reward")]
    NotFound,
    #[error("no such tip")]
    TipNotFound,
    #[error("your role may not do this")]
    Forbidden,
    #[error("rewards are proposed for verified tips only")]
    TipNotVerified,
    #[error(
        "tip {public_ref} of the same case reported this lead earlier; the earliest reporter is rewarded"
    )]
    EarlierReporter { public_ref: String },
    #[error("{0}")]
    BadFacts(&'static str),
    #[error("{0}")]
    BadInput(&'static str),
    #[error("the reporter must not be on duty for the case, an accomplice or a detained suspect")]
    NotEligible,
    #[error("the facts reach no tier of the schedule")]
    NoTier,
    #[error("the amount must be between {min_fen} and {max_fen} fen for these facts")]
    OutsideBounds { min_fen: i64, max_fen: i64 },
    #[error("all rewards for one report together may not exceed the cap; {room_fen} fen are left")]
    OverCap { room_fen: i64 },
    #[error("you proposed this reward; someone else must sign it")]
    SelfApproval,
    /// Whoever entered a tip by hand saw its receipt: they may not propose, sign or pay its
    /// reward (issue 14). The database refuses it too.
    #[error("you entered this tip and saw its receipt; someone else must handle its reward")]
    OwnTip,
    #[error("you already signed this reward; each step needs a different person")]
    AlreadySigned,
    #[error("the next signature is the {next} step; sign after it")]
    OutOfOrder { next: String },
    #[error("the next step ({next}) is not yours to sign")]
    NotYourStep { next: String },
    #[error("this reward is {status}, so it cannot be signed or rejected")]
    NotPending { status: String },
    #[error("this reward was already paid")]
    AlreadyPaid,
    #[error("the claim period of this reward has ended")]
    Expired,
    #[error("no reward is waiting under this claim code")]
    UnknownClaimCode,
    #[error("the claim code was mistyped (check digit)")]
    ClaimCodeTypo,
    #[error("a claim code has 19 digits (a receipt has 20: ask for the claim code)")]
    ClaimCodeLength,
    #[error("too many wrong claim codes; wait {0} seconds")]
    TooManyLookups(u64),
    #[error("{0}")]
    PayoutRule(&'static str),
    #[error("no transfer is waiting for confirmation here")]
    NotPendingTransfer,
    #[error("the policy is not valid: {0}")]
    Policy(String),
    #[error("the office key is not on this node")]
    NoOfficeKey,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealed data could not be opened")]
    Crypto,
}

impl From<diesel::result::Error> for RewardError {
    fn from(e: diesel::result::Error) -> Self {
        RewardError::Db(DbError::Query(e))
    }
}

impl From<crate::crypto::CryptoError> for RewardError {
    fn from(_: crate::crypto::CryptoError) -> Self {
        RewardError::Crypto
    }
}

impl From<crate::triage::reader::ReadError> for RewardError {
    fn from(e: crate::triage::reader::ReadError) -> Self {
        use crate::triage::reader::ReadError as R;
        match e {
            R::NotFound => RewardError::NotFound,
            R::Db(d) => RewardError::Db(d),
            R::Crypto(_) => RewardError::Crypto,
        }
    }
}

impl RewardError {
    /// Refusals by the access rules, as opposed to refusals of the request itself.
    fn outcome(&self) -> Option<Outcome> {
        match self {
            RewardError::Db(_) | RewardError::Crypto | RewardError::NoOfficeKey => None,
            RewardError::NotFound
            | RewardError::TipNotFound
            | RewardError::Forbidden
            | RewardError::SelfApproval
            | RewardError::NotYourStep { .. } => Some(Outcome::Denied),
            _ => Some(Outcome::Failed),
        }
    }
}

/// Runs `change` in one transaction with its audit entry (the audit head is locked first, so
/// concurrent changes queue up); a refusal rolls the change back and is audited on its own.
pub fn audited<T>(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &str,
    action: &str,
    object: &str,
    change: impl FnOnce(&mut DbConn) -> Result<T, RewardError>,
) -> Result<T, RewardError> {
    audited_with(conn, signer, (actor, action, object), false, change)
}

/// As [`audited`], for a change made while the reporter stands at the counter (a payout): its
/// entry is deferred to the end of the hour ([`audit::defer`]), so neither its `at` nor its
/// place in the chain times the reporter's visit. Refusals are still recorded at once.
pub fn audited_at_hour<T>(
    conn: &mut DbConn,
    signer: &SigningKey,
    actor: &str,
    action: &str,
    object: &str,
    change: impl FnOnce(&mut DbConn) -> Result<T, RewardError>,
) -> Result<T, RewardError> {
    audited_with(conn, signer, (actor, action, object), true, change)
}

fn audited_with<T>(
    conn: &mut DbConn,
    signer: &SigningKey,
    (actor, action, object): (&str, &str, &str),
    deferred: bool,
    change: impl FnOnce(&mut DbConn) -> Result<T, RewardError>,
) -> Result<T, RewardError> {
    let result = conn.transaction::<_, RewardError, _>(|c| {
        audit::lock_head(c)?;
        let out = change(c)?;
        let entry = Entry {
            actor,
            action,
            object,
            outcome: Outcome::Ok,
        };
        if deferred {
            audit::defer(c, signer, &entry)?;
        } else {
            audit::append(c, signer, &entry)?;
        }
        Ok(out)
    });
    if let Err(e) = &result
        && let Some(outcome) = e.outcome()
    {
        audit::record(
            conn,
            signer,
            &Entry {
                actor,
                action,
                object,
                outcome,
            },
        )?;
    }
    result
}

/// What reward work needs besides the database: the audit signer, the sealer and the keys, and
/// the office key's opener where this node holds it (police zone).
pub struct Office<'a> {
    pub signer: &'a SigningKey,
    pub sealer: &'a crate::crypto::seal::Sealer,
    pub keys: &'a crate::crypto::keyring::Keyring,
    pub opener: Option<&'a crate::crypto::seal::Opener>,
}

/// Statuses whose amounts count against the per-report cap.
pub const LIVE_STATUSES: [&str; 3] = ["approving", "claimable", "paid"];

fn random_id() -> Result<String, RewardError> {
    Ok(hex::encode(crate::crypto::random_bytes::<16>()?))
}
