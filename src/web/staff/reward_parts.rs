//! Shared by the reward and payout pages and the tip page: refusals shown as pages, unit names,
//! and the reward lines of a tip.

use super::layout::*;
use crate::db::DbConn;
use crate::rewards::RewardError;
use crate::rewards::approvals::{self, ListFilter, ListedReward};
use crate::rewards::payouts::yuan;
use crate::rewards::policy::{self, Policy};
use crate::rewards::schedule::{self};
use crate::staff::auth::Session;
use crate::staff::{Actor, Role};
use crate::web::reward_text::Refusal;
use actix_web::HttpResponse;
use std::collections::HashMap;
use tipline_views::maud::Markup;
use tipline_views::staff_rewards::{self as v};

/// A page that shows a refusal: its status, and `Retry-After` when waiting helps.
pub(crate) fn refused(r: &Refusal, m: Markup) -> HttpResponse {
    let mut resp = page(r.status, m);
    if let Some(secs) = r.retry_after
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, v);
    }
    resp
}

/// A refusal as a message page with a way back.
pub(crate) fn message(s: &Session, csrf: &str, r: &Refusal, back: (&str, &str)) -> HttpResponse {
    refused(
        r,
        tipline_views::staff::message_with_link(
            "操作未完成",
            Some(&nav(s, csrf)),
            &r.message,
            Some(back),
        ),
    )
}

/// Milligrams as grams, without trailing zeros: 5000 is "5", 12500 is "12.5".
pub(crate) fn grams(mg: i64) -> String {
    let text = format!("{}.{:03}", mg / 1000, (mg % 1000).abs());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(crate) fn step_label(policy: &Policy, step: &str) -> String {
    policy
        .step(step)
        .map_or_else(|| step.to_string(), |s| s.label.clone())
}

pub(crate) fn tier_labels(policy: &Policy, tiers: &[String]) -> Vec<String> {
    tiers
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| schedule::tier_label(policy, t).unwrap_or(t).to_string())
        .collect()
}

/// Unit codes to the names people know them by.
pub(crate) type UnitNames = HashMap<String, String>;

pub(crate) fn unit_names(c: &mut DbConn) -> Result<UnitNames, RewardError> {
    Ok(crate::triage::routing::list_units(c)?
        .into_iter()
        .map(|u| (u.code, u.name_zh))
        .collect())
}

pub(crate) fn unit_name(names: &UnitNames, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_string())
}

/// A listed reward for people; labels come from the policy in force.
pub(crate) fn line(policy: &Policy, names: &UnitNames, r: &ListedReward) -> v::RewardLine {
    v::RewardLine {
        id: r.id.clone(),
        public_ref: r.public_ref.clone(),
        unit: unit_name(names, &r.unit),
        amount: yuan(r.amount_fen),
        tiers: tier_labels(policy, &r.tiers).join("；"),
        status: r.status.clone(),
        next_step: r.next_step.as_deref().map(|s| step_label(policy, s)),
        notify_by: r.notify_by.clone(),
        overdue: r.overdue,
    }
}

/// The reward section of a tip's page (officers and supervisors of the tip's unit).
pub(crate) fn tip_rewards(
    c: &mut DbConn,
    route: &crate::triage::routing::RouteKey,
    actor: &Actor,
    tip_id: &str,
) -> Result<v::TipRewards, RewardError> {
    let tip = approvals::tip_for_reward(c, route, actor, tip_id)?;
    let filter = ListFilter {
        tip_id: Some(tip_id.to_string()),
        ..ListFilter::default()
    };
    let listed = approvals::list(c, actor, &filter)?;
    let (_, policy) = policy::rewards_policy(c, None)?;
    let names = unit_names(c)?;
    Ok(v::TipRewards {
        tip_id: tip_id.to_string(),
        rewards: listed.iter().map(|r| line(&policy, &names, r)).collect(),
        can_propose: tip.verified,
    })
}

/// Rewards past the day the reporter should have been told, for a supervisor's queue banner.
pub(crate) fn overdue_count(c: &mut DbConn, actor: &Actor) -> Result<usize, RewardError> {
    if actor.role != Role::Supervisor {
        return Ok(0);
    }
    let filter = ListFilter {
        overdue: true,
        ..ListFilter::default()
    };
    Ok(approvals::list(c, actor, &filter)?.len())
}

// --- proposal ----------------------------------------------------------------------------------
