//! Proposals and the signing ladder. The server decides which step is next; nobody signs their
//! own proposal or signs twice (also enforced by the database); finance signs last and that
//! signature issues the claim code, sealed to the reporter's reply key.

use super::calendar::{self, Calendar};
use super::claim::ClaimCode;
use super::policy::{self, LadderStep, Policy};
use super::schedule::{self, Facts, Item, Suggestion};
use super::{LIVE_STATUSES, Office, RewardError, audited, random_id};
use crate::crypto::reply::seal_to_reply;
use crate::db::schema::{payouts, reward_signatures, rewards, staff, tip_events, tips};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, is_unique_violation, now_unix};
use crate::staff::{Actor, Role};
use crate::triage::routing::RouteKey;
pub(crate) use crate::triage::work::entered_by;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// The reporter is not police or staff whose duty covers the case.
    pub not_duty_staff: bool,
    /// The reporter is not an accomplice.
    pub not_accomplice: bool,
    /// The reporter is not a detained suspect.
    pub not_detained: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub facts: Facts,
    /// Defaults to the schedule's suggestion.
    pub amount_fen: Option<i64>,
    /// The day the case was cracked, YYYY-MM-DD (Asia/Shanghai).
    pub cracked_on: String,
    pub justification: String,
    pub eligibility: Eligibility,
}

/// What is sealed to the office key for each reward.
#[derive(Serialize, Deserialize)]
struct Details {
    facts: Facts,
    justification: String,
    eligibility: Eligibility,
    items: Vec<Item>,
    heroin_equivalent_mg: i64,
}

#[derive(Queryable, Clone)]
pub struct RewardRow {
    pub id: String,
    pub public_ref: String,
    pub tip_id: String,
    pub unit_code: String,
    pub policy_version: i64,
    pub amount_fen: i64,
    pub tiers: String,
    pub details: Vec<u8>,
    pub status: String,
    pub steps: String,
    pub signed_steps: i32,
    pub proposed_by: String,
    pub proposed_at: i64,
    pub cracked_on: String,
    pub notify_by: String,
    pub notified_on: Option<String>,
    pub claim_by: Option<String>,
    pub claim_hash: Option<Vec<u8>>,
    pub claim_sealed: Option<Vec<u8>>,
    pub reject_reason: Option<String>,
    pub closed_at: Option<i64>,
}

impl RewardRow {
    pub fn step_names(&self) -> Vec<&str> {
        self.steps.split(',').filter(|s| !s.is_empty()).collect()
    }

    pub fn next_step(&self) -> Option<&str> {
        if self.status != "approving" {
            return None;
        }
        self.step_names().get(self.signed_steps as usize).copied()
    }

    /// Waiting for signatures past the day the reporter should have been told.
    pub fn overdue(&self, today: &str) -> bool {
        self.status == "approving" && today > self.notify_by.as_str()
    }
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<RewardRow, RewardError> {
    rewards::table
        .filter(rewards::id.eq(id))
        .select(rewards::all_columns)
        .first::<RewardRow>(conn)
        .optional()?
        .ok_or(RewardError::NotFound)
}

/// Why a reward may be turned down; shown to the reporter in plain words.
pub const REJECT_REASONS: [&str; 5] = [
    "not_eligible",
    "earlier_reporter",
    "not_confirmed",
    "facts_wrong",
    "other",
];

/// A reward and the policy version it was proposed under, for a role that works rewards.
fn load_for(
    c: &mut DbConn,
    actor: &Actor,
    reward_id: &str,
) -> Result<(RewardRow, Policy), RewardError> {
    require_reward_role(actor)?;
    let row = load(c, reward_id)?;
    let (_, policy) = policy::rewards_policy(c, Some(row.policy_version))?;
    Ok((row, policy))
}

/// The ladder steps of a reward, from the policy version it was proposed under.
fn ladder<'p>(policy: &'p Policy, row: &RewardRow) -> Vec<&'p LadderStep> {
    row.step_names()
        .iter()
        .filter_map(|n| policy.step(n))
        .collect()
}

/// Who may see a reward: finance always (amount, tiers, justification: never the tip);
/// officers and supervisors of the tip's unit; and whoever fits one of its ladder steps.
pub fn may_read(actor: &Actor, unit: &str, steps: &[&LadderStep]) -> bool {
    match actor.role {
        Role::Finance => true,
        Role::Officer | Role::Supervisor => {
            actor.sees_unit(unit) || steps.iter().any(|s| s.fits(actor, unit))
        }
        Role::Admin | Role::Auditor => false,
    }
}

fn require_reward_role(actor: &Actor) -> Result<(), RewardError> {
    match actor.role {
        Role::Officer | Role::Supervisor | Role::Finance => Ok(()),
        Role::Admin | Role::Auditor => Err(RewardError::Forbidden),
    }
}

/// Sum of the live rewards of a tip, which count against the cap.
fn already_fen(c: &mut DbConn, tip_id: &str, except: Option<&str>) -> Result<i64, RewardError> {
    let mut q = rewards::table
        .filter(rewards::tip_id.eq(tip_id))
        .filter(rewards::status.eq_any(LIVE_STATUSES))
        .select(rewards::amount_fen)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(rewards::id.ne(id.to_string()));
    }
    Ok(q.load::<i64>(c)?.into_iter().sum())
}

/// Sum of the live rewards of several tips (a joint report).
fn already_fen_all(c: &mut DbConn, tip_ids: &[String]) -> Result<i64, RewardError> {
    Ok(rewards::table
        .filter(rewards::tip_id.eq_any(tip_ids))
        .filter(rewards::status.eq_any(LIVE_STATUSES))
        .select(rewards::amount_fen)
        .load::<i64>(c)?
        .into_iter()
        .sum())
}

/// "The earliest accepted reporter of a lead is rewarded; a joint report is split" (2018
/// national measures). A lead is a case (`triage::links`): if an accepted tip of the case
/// (verified, or closed after being verified; duplicates never are) was reported in an earlier
/// hour, this tip's reporter is not rewarded. Tips reported in the same hour are a joint
/// report: the tips returned (this one included) share the cap and the bounds.
pub fn joint_reporters(c: &mut DbConn, tip_id: &str) -> Result<Vec<String>, RewardError> {
    use crate::db::schema::case_tips;
    let Some(case_id) = case_tips::table
        .filter(case_tips::tip_id.eq(tip_id))
        .select(case_tips::case_id)
        .first::<String>(c)
        .optional()?
    else {
        return Ok(vec![tip_id.to_string()]);
    };
    let members: Vec<(String, String, String, i64)> = case_tips::table
        .inner_join(tips::table)
        .filter(case_tips::case_id.eq(&case_id))
        .order((tips::created_hour.asc(), tips::public_ref.asc()))
        .select((tips::id, tips::public_ref, tips::status, tips::created_hour))
        .load(c)?;
    let mine = members
        .iter()
        .find(|m| m.0 == tip_id)
        .map(|m| m.3)
        .ok_or(RewardError::TipNotFound)?;
    let mut joint = Vec::new();
    for (id, public_ref, status, hour) in members {
        if hour > mine || (id != tip_id && !was_verified(c, &id, &status)?) {
            continue;
        }
        if hour < mine {
            return Err(RewardError::EarlierReporter { public_ref });
        }
        joint.push(id);
    }
    Ok(joint)
}

/// The tip's unit and status, if the actor may work it: in their scope, and with its routing
/// binding intact outside the county brigade (the same gate as every other action by id).
fn tip_for(
    c: &mut DbConn,
    route: &RouteKey,
    actor: &Actor,
    tip_id: &str,
) -> Result<(String, String), RewardError> {
    let Some((unit, status)) = tips::table
        .filter(tips::id.eq(tip_id))
        .select((tips::unit_code, tips::status))
        .first::<(String, String)>(c)
        .optional()?
    else {
        return Err(RewardError::TipNotFound);
    };
    let intact = crate::triage::work::route_intact(c, route, tip_id)?.unwrap_or(false);
    if crate::triage::work::reaches(actor, &unit, intact) {
        Ok((unit, status))
    } else {
        Err(RewardError::TipNotFound)
    }
}

/// Verified, or closed after being verified (rewards often follow long after the tip closed).
fn was_verified(c: &mut DbConn, tip_id: &str, status: &str) -> Result<bool, RewardError> {
    match status {
        "verified" => Ok(true),
        "closed" => {
            let n: i64 = tip_events::table
                .filter(tip_events::tip_id.eq(tip_id))
                .filter(tip_events::to_status.eq("verified"))
                .count()
                .get_result(c)?;
            Ok(n > 0)
        }
        _ => Ok(false),
    }
}

/// What the facts are worth for this tip, with what earlier rewards already use of the cap.
pub fn suggest_for_tip(
    conn: &mut DbConn,
    route: &RouteKey,
    actor: &Actor,
    tip_id: &str,
    facts: &Facts,
) -> Result<Suggestion, RewardError> {
    if !actor.role.reads_tips() {
        return Err(RewardError::Forbidden);
    }
    tip_for(conn, route, actor, tip_id)?;
    let (_, policy) = policy::rewards_policy(conn, None)?;
    let already = already_fen(conn, tip_id, None)?;
    schedule::suggest(&policy, facts, already)
}

/// What the proposal form shows of a tip: metadata only, never its content.
#[derive(Debug, Serialize)]
pub struct TipForReward {
    pub public_ref: String,
    /// Whether a reward may be proposed now (verified, or closed after being verified).
    pub verified: bool,
}

/// The tip a reward would be proposed for, if this person may propose for its unit.
pub fn tip_for_reward(
    conn: &mut DbConn,
    route: &RouteKey,
    actor: &Actor,
    tip_id: &str,
) -> Result<TipForReward, RewardError> {
    if !actor.role.reads_tips() {
        return Err(RewardError::Forbidden);
    }
    let (_, status) = tip_for(conn, route, actor, tip_id)?;
    let public_ref = tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::public_ref)
        .first::<String>(conn)?;
    Ok(TipForReward {
        public_ref,
        verified: was_verified(conn, tip_id, &status)?,
    })
}

#[derive(Debug, Serialize)]
pub struct Proposed {
    pub id: String,
    pub public_ref: String,
    pub amount_fen: i64,
    pub steps: Vec<String>,
    pub notify_by: String,
}

fn check_proposal(p: &Proposal, today: time::Date) -> Result<time::Date, RewardError> {
    let e = &p.eligibility;
    if !(e.not_duty_staff && e.not_accomplice && e.not_detained) {
        return Err(RewardError::NotEligible);
    }
    let n = p.justification.trim().chars().count();
    if n == 0 || n > 4000 {
        return Err(RewardError::BadInput(
            "a justification of 1 to 4,000 characters is required",
        ));
    }
    let cracked = calendar::parse(&p.cracked_on)
        .ok_or(RewardError::BadInput("cracked_on is a date, YYYY-MM-DD"))?;
    if cracked > today || (today - cracked).whole_days() > 3 * 366 {
        return Err(RewardError::BadInput(
            "cracked_on must be a day in the last three years, not in the future",
        ));
    }
    Ok(cracked)
}

/// An officer or supervisor proposes a reward for a verified tip of their unit.
pub fn propose(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    tip_id: &str,
    p: &Proposal,
) -> Result<Proposed, RewardError> {
    let object = format!("tip:{tip_id}");
    audited(
        conn,
        office.signer,
        &actor.audit_name(),
        "reward.propose",
        &object,
        |c| {
            if !actor.role.reads_tips() {
                return Err(RewardError::Forbidden);
            }
            let (unit, status) = tip_for(c, &RouteKey::new(office.keys), actor, tip_id)?;
            if entered_by(c, tip_id)?.as_deref() == Some(actor.id.as_str()) {
                return Err(RewardError::OwnTip);
            }
            if !was_verified(c, tip_id, &status)? {
                return Err(RewardError::TipNotVerified);
            }
            let today = calendar::today();
            let cracked = check_proposal(p, today)?;
            let joint = joint_reporters(c, tip_id)?;
            let (version, policy) = policy::rewards_policy(c, None)?;
            let cal: Calendar = policy::calendar(c)?;
            // The cap counts every live reward of the report: this tip's, and in a joint
            // report its partners'. The policy's bounds apply to the partners' total too.
            let already = already_fen_all(c, &joint)?;
            let partners = already - already_fen(c, tip_id, None)?;
            let s = schedule::suggest(&policy, &p.facts, already)?;
            if s.items.is_empty() {
                return Err(RewardError::NoTier);
            }
            let room = (s.cap_fen - already).max(0);
            // A joint report is split: each part may be below the tier's minimum, but the
            // parts together stay within its maximum.
            let (min_fen, max_fen) = if joint.len() > 1 {
                (1, s.max_fen - partners)
            } else {
                (s.min_fen.max(1), s.max_fen)
            };
            let amount = p
                .amount_fen
                .unwrap_or((s.suggested_fen - partners).max(min_fen));
            if amount > room {
                return Err(RewardError::OverCap { room_fen: room });
            }
            if amount < min_fen || amount > max_fen {
                return Err(RewardError::OutsideBounds { min_fen, max_fen });
            }
            let steps: Vec<String> = policy
                .steps_for(amount)
                .iter()
                .map(|s| s.step.clone())
                .collect();
            let id = random_id()?;
            let details = Details {
                facts: p.facts.clone(),
                justification: p.justification.trim().to_string(),
                eligibility: p.eligibility.clone(),
                items: s.items.clone(),
                heroin_equivalent_mg: s.heroin_equivalent_mg,
            };
            let json = zeroize::Zeroizing::new(
                serde_json::to_vec(&details).map_err(|_| RewardError::Crypto)?,
            );
            let sealed = office
                .sealer
                .seal(&office.keys.office, "reward", &id, &json)?;
            insert_sealed_key(c, &sealed.epoch_row)?;
            insert_sealed_key(c, &sealed.dek_row)?;
            let notify_by =
                calendar::format(cal.add_working_days(cracked, policy.notify_working_days));
            let public_ref = format!(
                "R{}",
                crate::crypto::receipt::random_digits(8).map_err(|_| RewardError::Crypto)?
            );
            let tiers: Vec<&str> = s.items.iter().map(|i| i.code.as_str()).collect();
            diesel::insert_into(rewards::table)
                .values((
                    rewards::id.eq(&id),
                    rewards::public_ref.eq(&public_ref),
                    rewards::tip_id.eq(tip_id),
                    rewards::unit_code.eq(&unit),
                    rewards::policy_version.eq(version),
                    rewards::amount_fen.eq(amount),
                    rewards::tiers.eq(tiers.join(",")),
                    rewards::details.eq(&sealed.ciphertext),
                    rewards::status.eq("approving"),
                    rewards::steps.eq(steps.join(",")),
                    rewards::signed_steps.eq(0),
                    rewards::proposed_by.eq(&actor.id),
                    rewards::proposed_at.eq(now_unix()),
                    rewards::cracked_on.eq(calendar::format(cracked)),
                    rewards::notify_by.eq(&notify_by),
                ))
                .execute(c)?;
            Ok(Proposed {
                id,
                public_ref,
                amount_fen: amount,
                steps,
                notify_by,
            })
        },
    )
}

#[derive(Debug, Serialize)]
pub struct Signed {
    pub status: String,
    pub next_step: Option<String>,
}

/// Refusals that depend on who signs, in the order a person would want to hear them.
fn check_signer(
    c: &mut DbConn,
    actor: &Actor,
    row: &RewardRow,
    steps: &[&LadderStep],
) -> Result<usize, RewardError> {
    if !may_read(actor, &row.unit_code, steps) {
        return Err(RewardError::NotFound);
    }
    match row.status.as_str() {
        "approving" => {}
        "paid" => return Err(RewardError::AlreadyPaid),
        other => {
            return Err(RewardError::NotPending {
                status: other.to_string(),
            });
        }
    }
    let idx = row.signed_steps as usize;
    let next = steps.get(idx).ok_or(RewardError::Policy(
        "the reward's ladder step is missing from its policy version".into(),
    ))?;
    if row.proposed_by == actor.id {
        return Err(RewardError::SelfApproval);
    }
    if entered_by(c, &row.tip_id)?.as_deref() == Some(actor.id.as_str()) {
        return Err(RewardError::OwnTip);
    }
    let signed_before: i64 = reward_signatures::table
        .filter(reward_signatures::reward_id.eq(&row.id))
        .filter(reward_signatures::signer_id.eq(&actor.id))
        .count()
        .get_result(c)?;
    if signed_before > 0 {
        return Err(RewardError::AlreadySigned);
    }
    if !next.fits(actor, &row.unit_code) {
        if steps[idx..].iter().any(|s| s.fits(actor, &row.unit_code)) {
            return Err(RewardError::OutOfOrder {
                next: next.label.clone(),
            });
        }
        return Err(RewardError::NotYourStep {
            next: next.label.clone(),
        });
    }
    Ok(idx)
}

/// Signs the next step of a reward. Finance's signature, the last, issues the claim code.
pub fn sign(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    reward_id: &str,
) -> Result<Signed, RewardError> {
    let object = format!("reward:{reward_id}");
    // The claim code's hash is slow on purpose (Argon2id): make it before the transaction
    // when this signature looks like the last one, so the audit head is not held meanwhile.
    let mut code = match load(conn, reward_id) {
        Ok(row) if row.signed_steps as usize + 1 == row.step_names().len() => {
            Some(new_claim_code(office)?)
        }
        _ => None,
    };
    audited(
        conn,
        office.signer,
        &actor.audit_name(),
        "reward.sign",
        &object,
        |c| {
            let (row, policy) = load_for(c, actor, reward_id)?;
            let steps = ladder(&policy, &row);
            let idx = check_signer(c, actor, &row, &steps)?;
            let inserted = diesel::insert_into(reward_signatures::table)
                .values((
                    reward_signatures::reward_id.eq(reward_id),
                    reward_signatures::step.eq(idx as i32),
                    reward_signatures::step_name.eq(&steps[idx].step),
                    reward_signatures::signer_id.eq(&actor.id),
                    reward_signatures::at.eq(now_unix()),
                ))
                .execute(c);
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(RewardError::AlreadySigned),
                other => other?,
            };
            let last = idx + 1 == steps.len();
            diesel::update(
                rewards::table
                    .filter(rewards::id.eq(reward_id))
                    .filter(rewards::signed_steps.eq(idx as i32)),
            )
            .set(rewards::signed_steps.eq(idx as i32 + 1))
            .execute(c)?;
            if !last {
                return Ok(Signed {
                    status: "approving".into(),
                    next_step: Some(steps[idx + 1].step.clone()),
                });
            }
            let code = match code.take() {
                Some(code) => code,
                None => new_claim_code(office)?,
            };
            issue_claim_code(c, office, &row, &policy, code)?;
            Ok(Signed {
                status: "claimable".into(),
                next_step: None,
            })
        },
    )
}

/// A fresh claim code and its lookup hash.
fn new_claim_code(office: &Office) -> Result<(ClaimCode, [u8; 32]), RewardError> {
    let code = ClaimCode::generate()?;
    let hash = code.hash(&office.keys.peppers.claim)?;
    Ok((code, hash))
}

/// Stores the claim code: a keyed hash for finance's lookup, a copy sealed to the reporter's
/// reply key; the reporter is told from today and has the policy's months to claim.
fn issue_claim_code(
    c: &mut DbConn,
    office: &Office,
    row: &RewardRow,
    policy: &Policy,
    (code, hash): (ClaimCode, [u8; 32]),
) -> Result<(), RewardError> {
    let reply_pubkey: Vec<u8> = tips::table
        .filter(tips::id.eq(&row.tip_id))
        .select(tips::reply_pubkey)
        .first(c)?;
    let sealed = seal_to_reply(
        office.sealer,
        &row.tip_id,
        &reply_pubkey,
        "claim",
        &row.id,
        code.digits().as_bytes(),
    )?;
    insert_sealed_key(c, &sealed.key_row)?;
    let today = calendar::today();
    diesel::update(rewards::table.filter(rewards::id.eq(&row.id)))
        .set((
            rewards::status.eq("claimable"),
            rewards::claim_hash.eq(Some(hash.to_vec())),
            rewards::claim_sealed.eq(Some(sealed.ciphertext)),
            rewards::notified_on.eq(Some(calendar::format(today))),
            rewards::claim_by.eq(Some(calendar::format(calendar::add_months(
                today,
                policy.claim_months,
            )))),
        ))
        .execute(c)?;
    Ok(())
}

/// Turns a reward down with a reason from `REJECT_REASONS`. Whoever may sign the next step
/// may reject instead.
pub fn reject(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    reward_id: &str,
    reason: &str,
) -> Result<(), RewardError> {
    if !REJECT_REASONS.contains(&reason) {
        return Err(RewardError::BadInput(
            "reason must be not_eligible, earlier_reporter, not_confirmed, facts_wrong or other",
        ));
    }
    let object = format!("reward:{reward_id}");
    audited(
        conn,
        office.signer,
        &actor.audit_name(),
        "reward.reject",
        &object,
        |c| {
            let (row, policy) = load_for(c, actor, reward_id)?;
            let steps = ladder(&policy, &row);
            check_signer(c, actor, &row, &steps)?;
            diesel::update(
                rewards::table
                    .filter(rewards::id.eq(reward_id))
                    .filter(rewards::status.eq("approving")),
            )
            .set((
                rewards::status.eq("rejected"),
                rewards::reject_reason.eq(Some(reason)),
                rewards::closed_at.eq(Some(crate::db::this_hour())),
            ))
            .execute(c)?;
            Ok(())
        },
    )
}

#[derive(Debug, Serialize)]
pub struct StepView {
    pub step: String,
    pub label: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct PayoutView {
    pub method: String,
    pub state: String,
    pub paid_on: String,
}

#[derive(Debug, Serialize)]
pub struct RewardView {
    pub id: String,
    pub public_ref: String,
    pub tip_id: String,
    pub unit: String,
    pub policy_version: i64,
    pub amount_fen: i64,
    pub tiers: Vec<String>,
    pub status: String,
    pub steps: Vec<StepView>,
    pub next_step: Option<String>,
    /// Whether the person asking may sign (or reject) the next step now.
    pub can_sign: bool,
    pub proposed_by: String,
    pub proposed_at: i64,
    pub cracked_on: String,
    pub notify_by: String,
    pub overdue: bool,
    pub notified_on: Option<String>,
    pub claim_by: Option<String>,
    pub reject_reason: Option<String>,
    pub payout: Option<PayoutView>,
    /// Sealed details, opened for this person (never the tip's content).
    pub facts: Option<Facts>,
    pub items: Vec<Item>,
    pub heroin_equivalent_mg: i64,
    pub justification: Option<String>,
}

fn username(c: &mut DbConn, id: &str) -> Result<String, RewardError> {
    Ok(staff::table
        .filter(staff::id.eq(id))
        .select(staff::username)
        .first::<String>(c)
        .optional()?
        .unwrap_or_else(|| "?".into()))
}

fn build_view(
    c: &mut DbConn,
    office: &Office,
    actor: &Actor,
    row: &RewardRow,
    policy: &Policy,
) -> Result<RewardView, RewardError> {
    let steps = ladder(policy, row);
    let signatures: HashMap<i32, (String, i64)> = reward_signatures::table
        .filter(reward_signatures::reward_id.eq(&row.id))
        .inner_join(staff::table.on(staff::id.eq(reward_signatures::signer_id)))
        .select((
            reward_signatures::step,
            staff::username,
            reward_signatures::at,
        ))
        .load::<(i32, String, i64)>(c)?
        .into_iter()
        .map(|(s, u, at)| (s, (u, at)))
        .collect();
    let step_views = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let sig = signatures.get(&(i as i32));
            StepView {
                step: s.step.clone(),
                label: s.label.clone(),
                signed_by: sig.map(|x| x.0.clone()),
                signed_at: sig.map(|x| x.1),
            }
        })
        .collect();
    let can_sign = check_signer(c, actor, row, &steps).is_ok();
    let payout = payouts::table
        .filter(payouts::reward_id.eq(&row.id))
        .select((payouts::method, payouts::state, payouts::paid_on))
        .first::<(String, String, String)>(c)
        .optional()?
        .map(|(method, state, paid_on)| PayoutView {
            method,
            state,
            paid_on,
        });
    let details: Option<Details> = match office.opener {
        Some(opener) => {
            let pt =
                crate::triage::reader::open_sealed(c, opener, "reward", &row.id, &row.details)?;
            Some(serde_json::from_slice(&pt).map_err(|_| RewardError::Crypto)?)
        }
        None => None,
    };
    let today = calendar::format(calendar::today());
    Ok(RewardView {
        id: row.id.clone(),
        public_ref: row.public_ref.clone(),
        tip_id: row.tip_id.clone(),
        unit: row.unit_code.clone(),
        policy_version: row.policy_version,
        amount_fen: row.amount_fen,
        tiers: row.tiers.split(',').map(str::to_string).collect(),
        status: row.status.clone(),
        steps: step_views,
        next_step: row.next_step().map(str::to_string),
        can_sign,
        proposed_by: username(c, &row.proposed_by)?,
        proposed_at: row.proposed_at,
        cracked_on: row.cracked_on.clone(),
        notify_by: row.notify_by.clone(),
        overdue: row.overdue(&today),
        notified_on: row.notified_on.clone(),
        claim_by: row.claim_by.clone(),
        reject_reason: row.reject_reason.clone(),
        payout,
        facts: details.as_ref().map(|d| d.facts.clone()),
        items: details
            .as_ref()
            .map(|d| d.items.clone())
            .unwrap_or_default(),
        heroin_equivalent_mg: details.as_ref().map_or(0, |d| d.heroin_equivalent_mg),
        justification: details.map(|d| d.justification),
    })
}

/// One reward, its sealed details opened for this person; audited like a tip read.
pub fn view(
    conn: &mut DbConn,
    office: &Office,
    actor: &Actor,
    reward_id: &str,
) -> Result<RewardView, RewardError> {
    let object = format!("reward:{reward_id}");
    audited(
        conn,
        office.signer,
        &actor.audit_name(),
        "reward.read",
        &object,
        |c| {
            let (row, policy) = load_for(c, actor, reward_id)?;
            if !may_read(actor, &row.unit_code, &ladder(&policy, &row)) {
                return Err(RewardError::NotFound);
            }
            build_view(c, office, actor, &row, &policy)
        },
    )
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListFilter {
    pub status: Option<String>,
    pub tip_id: Option<String>,
    /// Only rewards past the day the reporter should have been told.
    #[serde(default)]
    pub overdue: bool,
    /// Only rewards whose next step this person may sign.
    #[serde(default)]
    pub mine: bool,
}

#[derive(Debug, Serialize)]
pub struct ListedReward {
    pub id: String,
    pub public_ref: String,
    pub tip_id: String,
    pub unit: String,
    pub amount_fen: i64,
    pub tiers: Vec<String>,
    pub status: String,
    pub next_step: Option<String>,
    pub can_sign: bool,
    pub notify_by: String,
    pub overdue: bool,
    pub claim_by: Option<String>,
    pub proposed_at: i64,
}

/// Rewards this person may see, newest first (metadata only; no sealed details).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    f: &ListFilter,
) -> Result<Vec<ListedReward>, RewardError> {
    require_reward_role(actor)?;
    let mut q = rewards::table
        .select(rewards::all_columns)
        .order((rewards::proposed_at.desc(), rewards::id.desc()))
        .limit(1000)
        .into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(rewards::status.eq(s.clone()));
    }
    if let Some(t) = &f.tip_id {
        q = q.filter(rewards::tip_id.eq(t.clone()));
    }
    if f.overdue {
        q = q.filter(rewards::status.eq("approving"));
    }
    let rows: Vec<RewardRow> = q.load(conn)?;
    let mut policies: HashMap<i64, Policy> = HashMap::new();
    let today = calendar::format(calendar::today());
    let mut out = Vec::new();
    for row in rows {
        let policy = match policies.entry(row.policy_version) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(policy::rewards_policy(conn, Some(row.policy_version))?.1)
            }
        };
        let steps = ladder(policy, &row);
        if !may_read(actor, &row.unit_code, &steps) {
            continue;
        }
        let can_sign = check_signer(conn, actor, &row, &steps).is_ok();
        if (f.mine && !can_sign) || (f.overdue && !row.overdue(&today)) {
            continue;
        }
        out.push(ListedReward {
            id: row.id.clone(),
            public_ref: row.public_ref.clone(),
            tip_id: row.tip_id.clone(),
            unit: row.unit_code.clone(),
            amount_fen: row.amount_fen,
            tiers: row.tiers.split(',').map(str::to_string).collect(),
            status: row.status.clone(),
            next_step: row.next_step().map(str::to_string),
            can_sign,
            notify_by: row.notify_by.clone(),
            overdue: row.overdue(&today),
            claim_by: row.claim_by.clone(),
            proposed_at: row.proposed_at,
        });
    }
    Ok(out)
}
