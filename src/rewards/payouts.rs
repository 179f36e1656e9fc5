//! Payouts against claim codes, transfer confirmation, expiry and the ledger. A reward is paid
//! at most once: the payout row's `reward_id` is unique, so the database refuses a second one
//! even when two clerks submit the same code at the same instant. Payout rows keep the date,
//! not the time.

use super::approvals::{RewardRow, load};
use super::calendar;
use super::claim::ClaimCode;
use super::policy::{self, yuan_to_fen};
use super::{Office, RewardError, audited, audited_at_hour, random_id};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::receipt::ReceiptError;
use crate::db::schema::{audit_log, payouts, rewards, units};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, is_unique_violation, now_unix};
use crate::staff::{Actor, Role};
use crate::triage::reader::forget_keys;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// Wrong claim codes a clerk may enter in `LOOKUP_WINDOW` seconds before being held off.
const MAX_FAILED_LOOKUPS: i64 = 5;
const LOOKUP_WINDOW: i64 = 15 * 60;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    pub claim_code: String,
    /// `cash` (at the office, anonymous within the policy's limit) or `transfer`.
    pub method: String,
    /// Account details for a transfer: sealed, deleted once the transfer is confirmed.
    pub account: Option<String>,
    /// What identity check was done, where the policy requires one: sealed.
    pub identity_check: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Recorded {
    pub payout_id: String,
    pub reward_id: String,
    pub reward_ref: String,
    pub amount_fen: i64,
    pub method: String,
    pub state: String,
    pub paid_on: String,
}

fn require_finance(actor: &Actor) -> Result<(), RewardError> {
    if actor.role == Role::Finance {
        Ok(())
    } else {
        Err(RewardError::Forbidden)
    }
}

fn text_field(v: &Option<String>, what: &'static str) -> Result<Option<String>, RewardError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() <= 500 => Ok(Some(t.to_string())),
        Some(_) => Err(RewardError::BadInput(what)),
    }
}

/// Wrong codes entered by this clerk recently; the audit log is the counter, so the limit holds
/// across nodes and restarts.
fn recent_failures(conn: &mut DbConn, actor: &Actor) -> Result<i64, RewardError> {
    Ok(audit_log::table
        .filter(audit_log::actor.eq(actor.audit_name()))
        .filter(audit_log::action.eq("payout.lookup"))
        .filter(audit_log::outcome.eq(Outcome::Failed.as_str()))
        .filter(audit_log::at.gt(now_unix() - LOOKUP_WINDOW))
        .count()
        .get_result(conn)?)
}

/// Finance records a payout against a claim code.
pub fn record(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    req: &PayoutRequest,
) -> Result<Recorded, RewardError> {
    let name = actor.audit_name();
    if actor.role != Role::Finance {
        audit::record(
            conn,
            office.signer,
            &Entry {
                actor: &name,
                action: "payout.record",
                object: "route",
                outcome: Outcome::Denied,
            },
        )?;
        return Err(RewardError::Forbidden);
    }
    if !["cash", "transfer"].contains(&req.method.as_str()) {
        return Err(RewardError::BadInput("method must be cash or transfer"));
    }
    let account = text_field(&req.account, "account details: at most 500 characters")?;
    let identity = text_field(
        &req.identity_check,
        "identity check: at most 500 characters",
    )?;
    let code = ClaimCode::parse(&req.claim_code).map_err(|e| match e {
        ReceiptError::CheckDigit => RewardError::ClaimCodeTypo,
        _ => RewardError::ClaimCodeLength,
    })?;
    if recent_failures(conn, actor)? >= MAX_FAILED_LOOKUPS {
        return Err(RewardError::TooManyLookups(LOOKUP_WINDOW as u64));
    }
    expire_due(conn, office)?;
    // Argon2id: slow on purpose, so outside any transaction.
    let hash = code.hash(&office.keys.peppers.claim)?.to_vec();
    let reward_id = audited_at_hour(
        conn,
        office.signer,
        &name,
        "payout.lookup",
        "claim_code",
        |c| {
            rewards::table
                .filter(rewards::claim_hash.eq(&hash))
                .select(rewards::id)
                .first::<String>(c)
                .optional()?
                .ok_or(RewardError::UnknownClaimCode)
        },
    )?;
    let object = format!("reward:{reward_id}");
    audited_at_hour(conn, office.signer, &name, "payout.record", &object, |c| {
        let row = load(c, &reward_id)?;
        match row.status.as_str() {
            "claimable" => {}
            "paid" => return Err(RewardError::AlreadyPaid),
            "expired" => return Err(RewardError::Expired),
            other => {
                return Err(RewardError::NotPending {
                    status: other.to_string(),
                });
            }
        }
        if row.claim_hash.as_deref() != Some(&hash[..]) {
            return Err(RewardError::UnknownClaimCode);
        }
        if super::approvals::entered_by(c, &row.tip_id)?.as_deref() == Some(actor.id.as_str()) {
            return Err(RewardError::OwnTip);
        }
        let (_, policy) = policy::rewards_policy(c, Some(row.policy_version))?;
        let rules = &policy.payout;
        if req.method == "transfer" && account.is_none() {
            return Err(RewardError::PayoutRule(
                "a transfer needs the payee's account details",
            ));
        }
        let needs_identity = row.amount_fen > yuan_to_fen(rules.identity_check_above_yuan)
            || (req.method == "cash"
                && row.amount_fen > yuan_to_fen(rules.anonymous_cash_max_yuan));
        if needs_identity && identity.is_none() {
            return Err(RewardError::PayoutRule(
                "the policy requires an identity check for this amount: record what was checked",
            ));
        }
        pay(
            c,
            office,
            actor,
            &row,
            &req.method,
            account.as_deref(),
            identity.as_deref(),
        )
    })
}

fn seal_text(
    c: &mut DbConn,
    office: &Office,
    kind: &str,
    id: &str,
    text: Option<&str>,
) -> Result<Option<Vec<u8>>, RewardError> {
    let Some(t) = text else { return Ok(None) };
    // Sealed with the reporter at the counter: the reporter epoch stream, so the epoch row is
    // never shared with a staff object whose row carries its second (issue 13).
    let sealed = office.sealer.seal_in(
        crate::crypto::seal::Stream::Reporter,
        &office.keys.office,
        kind,
        id,
        t.as_bytes(),
    )?;
    insert_sealed_key(c, &sealed.epoch_row)?;
    insert_sealed_key(c, &sealed.dek_row)?;
    Ok(Some(sealed.ciphertext))
}

fn pay(
    c: &mut DbConn,
    office: &Office,
    actor: &Actor,
    row: &RewardRow,
    method: &str,
    account: Option<&str>,
    identity: Option<&str>,
) -> Result<Recorded, RewardError> {
    let id = random_id()?;
    let paid_on = calendar::format(calendar::today());
    let state = if method == "cash" { "paid" } else { "pending" };
    let account = seal_text(c, office, "payout_account", &id, account)?;
    let identity = seal_text(c, office, "payout_identity", &id, identity)?;
    let inserted = diesel::insert_into(payouts::table)
        .values((
            payouts::id.eq(&id),
            payouts::reward_id.eq(&row.id),
            payouts::unit_code.eq(&row.unit_code),
            payouts::amount_fen.eq(row.amount_fen),
            payouts::method.eq(method),
            payouts::state.eq(state),
            payouts::recorded_by.eq(&actor.id),
            payouts::paid_on.eq(&paid_on),
            payouts::account.eq(account),
            payouts::identity_check.eq(identity),
        ))
        .execute(c);
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(RewardError::AlreadyPaid),
        other => other?,
    };
    // The code is spent: its hash and sealed copy go, and so does the key that opened it.
    diesel::update(rewards::table.filter(rewards::id.eq(&row.id)))
        .set((
            rewards::status.eq("paid"),
            rewards::claim_hash.eq(None::<Vec<u8>>),
            rewards::claim_sealed.eq(None::<Vec<u8>>),
            rewards::closed_at.eq(Some(crate::db::this_hour())),
        ))
        .execute(c)?;
    forget_keys(c, "claim", &row.id)?;
    Ok(Recorded {
        payout_id: id,
        reward_id: row.id.clone(),
        reward_ref: row.public_ref.clone(),
        amount_fen: row.amount_fen,
        method: method.to_string(),
        state: state.to_string(),
        paid_on,
    })
}

/// A transfer ordered but not yet confirmed. The sealed account details stay out of it: the
/// clerk confirming a transfer needs to know which one, not where the money went.
#[derive(Debug, Serialize)]
pub struct PendingTransfer {
    pub payout_id: String,
    pub reward_ref: String,
    pub unit: String,
    pub amount_fen: i64,
    pub paid_on: String,
}

/// Transfers waiting for finance to confirm them, oldest first. Finance only.
pub fn pending_transfers(
    conn: &mut DbConn,
    actor: &Actor,
) -> Result<Vec<PendingTransfer>, RewardError> {
    require_finance(actor)?;
    let rows: Vec<(String, String, String, i64, String)> = payouts::table
        .inner_join(rewards::table.on(rewards::id.eq(payouts::reward_id)))
        .filter(payouts::state.eq("pending"))
        .select((
            payouts::id,
            rewards::public_ref,
            payouts::unit_code,
            payouts::amount_fen,
            payouts::paid_on,
        ))
        .order((payouts::paid_on.asc(), payouts::id.asc()))
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(payout_id, reward_ref, unit, amount_fen, paid_on)| PendingTransfer {
                payout_id,
                reward_ref,
                unit,
                amount_fen,
                paid_on,
            },
        )
        .collect())
}

/// Finance confirms that an ordered transfer went out: the account details are deleted.
pub fn confirm_transfer(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    payout_id: &str,
) -> Result<(), RewardError> {
    let object = format!("payout:{payout_id}");
    audited(
        conn,
        office.signer,
        &actor.audit_name(),
        "payout.confirm",
        &object,
        |c| {
            require_finance(actor)?;
            let n = diesel::update(
                payouts::table
                    .filter(payouts::id.eq(payout_id))
                    .filter(payouts::state.eq("pending")),
            )
            .set((
                payouts::state.eq("paid"),
                payouts::paid_on.eq(calendar::format(calendar::today())),
                payouts::account.eq(None::<Vec<u8>>),
            ))
            .execute(c)?;
            if n == 0 {
                let exists: i64 = payouts::table
                    .filter(payouts::id.eq(payout_id))
                    .count()
                    .get_result(c)?;
                return Err(if exists == 0 {
                    RewardError::NotFound
                } else {
                    RewardError::NotPendingTransfer
                });
            }
            forget_keys(c, "payout_account", payout_id)?;
            Ok(())
        },
    )
}

/// Claimable rewards past their deadline expire: the sealed code and its key are deleted (the
/// keyed hash stays, so finance is told "expired" rather than "unknown").
pub fn expire_due(conn: &mut DbConn, office: &Office) -> Result<usize, RewardError> {
    let today = calendar::format(calendar::today());
    let due: Vec<String> = rewards::table
        .filter(rewards::status.eq("claimable"))
        .filter(rewards::claim_by.lt(&today))
        .select(rewards::id)
        .load(conn)?;
    for id in &due {
        let object = format!("reward:{id}");
        audited(
            conn,
            office.signer,
            "system",
            "reward.expire",
            &object,
            |c| {
                diesel::update(
                    rewards::table
                        .filter(rewards::id.eq(id))
                        .filter(rewards::status.eq("claimable")),
                )
                .set((
                    rewards::status.eq("expired"),
                    rewards::claim_sealed.eq(None::<Vec<u8>>),
                    rewards::closed_at.eq(Some(crate::db::this_hour())),
                ))
                .execute(c)?;
                forget_keys(c, "claim", id)?;
                Ok(())
            },
        )?;
    }
    Ok(due.len())
}

#[derive(Debug, Serialize)]
pub struct LedgerRow {
    pub paid_on: String,
    pub reward_ref: String,
    pub unit: String,
    pub unit_name: String,
    pub tiers: String,
    pub amount_fen: i64,
    pub method: String,
    pub state: String,
}

#[derive(Debug, Serialize)]
pub struct UnitTotal {
    pub unit: String,
    pub unit_name: String,
    pub count: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize)]
pub struct Ledger {
    pub month: String,
    pub rows: Vec<LedgerRow>,
    pub units: Vec<UnitTotal>,
    /// Paid out (cash, and confirmed transfers).
    pub total_paid_fen: i64,
    /// Transfers ordered but not yet confirmed.
    pub total_pending_fen: i64,
}

/// Checks `YYYY-MM`.
pub fn parse_month(m: &str) -> Option<String> {
    let d = calendar::parse(&format!("{m}-01"))?;
    Some(calendar::format(d)[..7].to_string())
}

/// Payouts of one month (by payment date), optionally of one unit, with totals per unit.
/// Finance and county-wide supervisors may read it.
pub fn ledger(
    conn: &mut DbConn,
    actor: &Actor,
    month: &str,
    unit: Option<&str>,
) -> Result<Ledger, RewardError> {
    if !(actor.role == Role::Finance || actor.sees_all()) {
        return Err(RewardError::Forbidden);
    }
    let month = parse_month(month).ok_or(RewardError::BadInput("month is YYYY-MM"))?;
    let mut q = payouts::table
        .inner_join(rewards::table.on(rewards::id.eq(payouts::reward_id)))
        .inner_join(units::table.on(units::code.eq(payouts::unit_code)))
        .filter(payouts::paid_on.like(format!("{month}-%")))
        .select((
            payouts::paid_on,
            rewards::public_ref,
            payouts::unit_code,
            units::name_zh,
            rewards::tiers,
            payouts::amount_fen,
            payouts::method,
            payouts::state,
        ))
        .order((payouts::paid_on.asc(), rewards::public_ref.asc()))
        .into_boxed();
    if let Some(u) = unit {
        q = q.filter(payouts::unit_code.eq(u.to_string()));
    }
    type Row = (String, String, String, String, String, i64, String, String);
    let rows: Vec<Row> = q.load(conn)?;
    let mut totals: std::collections::BTreeMap<String, UnitTotal> = Default::default();
    let (mut paid, mut pending) = (0i64, 0i64);
    let rows: Vec<LedgerRow> = rows
        .into_iter()
        .map(
            |(paid_on, reward_ref, unit, unit_name, tiers, amount_fen, method, state)| {
                if state == "paid" {
                    paid += amount_fen;
                    let t = totals.entry(unit.clone()).or_insert_with(|| UnitTotal {
                        unit: unit.clone(),
                        unit_name: unit_name.clone(),
                        count: 0,
                        amount_fen: 0,
                    });
                    t.count += 1;
                    t.amount_fen += amount_fen;
                } else {
                    pending += amount_fen;
                }
                LedgerRow {
                    paid_on,
                    reward_ref,
                    unit,
                    unit_name,
                    tiers,
                    amount_fen,
                    method,
                    state,
                }
            },
        )
        .collect();
    Ok(Ledger {
        month,
        rows,
        units: totals.into_values().collect(),
        total_paid_fen: paid,
        total_pending_fen: pending,
    })
}

/// `123456` fen as `1234.56`.
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// One CSV cell: quoted when needed, and never read as a formula by a spreadsheet.
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The ledger as CSV with Chinese headers (UTF-8 with a byte-order mark, which spreadsheet
/// programs in China expect), ending with the totals.
pub fn ledger_csv(l: &Ledger) -> String {
    let mut out =
        String::from("\u{feff}付款日期,奖励编号,单位代码,单位,档次,金额（元）,方式,状态\r\n");
    for r in &l.rows {
        let line = [
            cell(&r.paid_on),
            cell(&r.reward_ref),
            cell(&r.unit),
            cell(&r.unit_name),
            cell(&r.tiers),
            yuan(r.amount_fen),
            cell(if r.method == "cash" {
                "现金"
            } else {
                "转账"
            }),
            cell(if r.state == "paid" {
                "已付"
            } else {
                "待转账"
            }),
        ]
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    for u in &l.units {
        out.push_str(&format!(
            "{},,{},{},{}笔,{},,\r\n",
            cell(&format!("{}小计", l.month)),
            cell(&u.unit),
            cell(&u.unit_name),
            u.count,
            yuan(u.amount_fen)
        ));
    }
    out.push_str(&format!(
        "合计（已付）,,,,,{},,\r\n",
        yuan(l.total_paid_fen)
    ));
    if l.total_pending_fen > 0 {
        out.push_str(&format!("待转账,,,,,{},,\r\n", yuan(l.total_pending_fen)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_cells_format() {
        assert_eq!(yuan(30_000_000), "300000.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(parse_month("2026-11").as_deref(), Some("2026-11"));
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("2026-1").is_none());
    }
}
