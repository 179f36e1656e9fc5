//! Reward pages under /staff: the reward section of a tip, the proposal form (suggest, then
//! propose), the reward list, one reward with its signing and rejecting forms, and the admin's
//! policy editor. Role checks come first (403 page); the domain decides units, ladder order and
//! separation of duties, and its refusals are shown with the status the JSON API gives.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::reward_parts::*;
use super::session::*;
use crate::db::DbConn;
use crate::rewards::approvals::{self, ListFilter, RewardView};
use crate::rewards::payouts::yuan;
use crate::rewards::policy::{self, Policy};
use crate::rewards::schedule::{self, Facts, Suggestion};
use crate::rewards::{RewardError, audited};
use crate::staff::auth::Session;
use crate::staff::{Actor, Role};
use crate::web::key;
use crate::web::reward_form;
use crate::web::reward_text::Refusal;
use crate::web::{AppState, db};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use tipline_views::maud::Markup;
use tipline_views::staff::Nav;
use tipline_views::staff_rewards::{self as v, FieldErrors, ProposalValues};

/// Tip workers propose; finance joins them to sign last and to read rewards.
const TIP_WORKERS: &[Role] = &[Role::Officer, Role::Supervisor];

const REWARD_ROLES: &[Role] = &[Role::Officer, Role::Supervisor, Role::Finance];

fn errors_of(r: Refusal) -> FieldErrors {
    vec![(r.field, r.message)]
}

/// What the proposal form needs besides what was typed.
struct ProposalContext {
    tip_ref: String,
    verified: bool,
    drugs: Vec<(String, String)>,
}

fn context(
    c: &mut DbConn,
    route: &crate::triage::routing::RouteKey,
    actor: &Actor,
    tip_id: &str,
) -> Result<ProposalContext, RewardError> {
    let tip = approvals::tip_for_reward(c, route, actor, tip_id)?;
    let (_, policy) = policy::rewards_policy(c, None)?;
    Ok(ProposalContext {
        tip_ref: tip.public_ref,
        verified: tip.verified,
        drugs: policy
            .equivalence
            .iter()
            .map(|e| (e.drug.clone(), e.label.clone()))
            .collect(),
    })
}

fn suggestion_view(s: &Suggestion) -> v::SuggestionView {
    v::SuggestionView {
        items: s.items.iter().map(item_line).collect(),
        heroin_g: grams(s.heroin_equivalent_mg),
        min: yuan(s.min_fen),
        max: yuan(s.max_fen),
        suggested: yuan(s.suggested_fen),
        cap: yuan(s.cap_fen),
        already: yuan(s.already_fen),
    }
}

fn item_line(i: &schedule::Item) -> v::ItemLine {
    v::ItemLine {
        label: i.label.clone(),
        min: yuan(i.min_fen),
        max: yuan(i.max_fen),
        suggested: yuan(i.suggested_fen),
    }
}

fn proposal_page(
    nav: Nav,
    tip_id: &str,
    ctx: ProposalContext,
    values: ProposalValues,
    errors: FieldErrors,
    suggestion: Option<&Suggestion>,
) -> Markup {
    v::proposal(&v::ProposalPage {
        nav,
        tip_id,
        tip_ref: &ctx.tip_ref,
        drugs: ctx.drugs,
        values,
        errors,
        suggestion: suggestion.map(suggestion_view),
    })
}

pub async fn proposal_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, TIP_WORKERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let tip = key(path.into_inner());
    let (actor, tip2) = (s.actor.clone(), tip.clone());
    let ctx = match db(&state, move |c, st| {
        Ok(context(c, &st.staff.route, &actor, &tip2)?)
    })
    .await
    {
        Ok(ctx) => ctx,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let back = format!("/staff/tips/{tip}");
    if !ctx.verified {
        let r = Refusal::from(RewardError::TipNotVerified);
        return message(&s, &csrf, &r, (&back, "返回这条线索"));
    }
    let m = proposal_page(
        nav(&s, &csrf),
        &tip,
        ctx,
        ProposalValues::default(),
        Vec::new(),
        None,
    );
    page(StatusCode::OK, m)
}

enum Request {
    Suggest(Facts),
    Propose(approvals::Proposal),
}

enum Done {
    Invalid(FieldErrors),
    Suggested(Suggestion),
    Proposed(String),
    Refused(Refusal),
}

/// The form's two buttons: `suggest` re-renders with the schedule's answer, `propose` submits.
pub async fn proposal(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted_by(&state, &req, &body, TIP_WORKERS).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let tip = key(path.into_inner());
    let values = reward_form::values(&f);
    let request = if f.get("action").map(String::as_str) == Some("propose") {
        reward_form::proposal(&values).map(Request::Propose)
    } else {
        reward_form::facts(&values).map(Request::Suggest)
    };
    let (actor, tip2) = (s.actor.clone(), tip.clone());
    let result = db(&state, move |c, st| {
        let ctx = context(c, &st.staff.route, &actor, &tip2)?;
        let done = match request {
            Err(errors) => Done::Invalid(errors),
            Ok(Request::Suggest(facts)) => {
                match approvals::suggest_for_tip(c, &st.staff.route, &actor, &tip2, &facts) {
                    Ok(s) => Done::Suggested(s),
                    Err(e) => Done::Refused(e.into()),
                }
            }
            Ok(Request::Propose(p)) => match approvals::propose(c, &st.office(), &actor, &tip2, &p)
            {
                Ok(out) => Done::Proposed(out.id),
                Err(e) => Done::Refused(e.into()),
            },
        };
        Ok((ctx, done))
    })
    .await;
    let (ctx, done) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let n = nav(&s, &csrf);
    match done {
        Done::Proposed(id) => see_other(&format!("/staff/rewards/{id}")),
        Done::Suggested(sug) => page(
            StatusCode::OK,
            proposal_page(n, &tip, ctx, values, Vec::new(), Some(&sug)),
        ),
        Done::Invalid(errors) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            proposal_page(n, &tip, ctx, values, errors, None),
        ),
        Done::Refused(r) => {
            let status = r.status;
            let m = proposal_page(n, &tip, ctx, values, errors_of(r), None);
            page(status, m)
        }
    }
}

// --- list and one reward -----------------------------------------------------------------------

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, REWARD_ROLES).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let flag = |k: &str| q.get(k).is_some_and(|v| v == "true");
    let filter = ListFilter {
        status: q.get("status").filter(|v| !v.is_empty()).cloned().map(key),
        tip_id: None,
        overdue: flag("overdue"),
        mine: flag("mine"),
    };
    let current = if filter.mine {
        "mine".to_string()
    } else if filter.overdue {
        "overdue".to_string()
    } else {
        filter.status.clone().unwrap_or_else(|| "all".into())
    };
    let actor = s.actor.clone();
    let rows = db(&state, move |c, _| {
        let listed = approvals::list(c, &actor, &filter)?;
        let (_, policy) = policy::rewards_policy(c, None)?;
        let names = unit_names(c)?;
        Ok(listed.iter().map(|r| line(&policy, &names, r)).collect())
    })
    .await;
    match rows {
        Ok(rows) => page(
            StatusCode::OK,
            v::list(&v::RewardListPage {
                nav: nav(&s, &csrf),
                rows,
                current: &current,
            }),
        ),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

/// The case facts that were entered, with the policy's drug names.
fn facts_lines(policy: &Policy, f: &Facts) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in &f.drugs {
        let name = policy
            .equivalence
            .iter()
            .find(|e| e.drug == d.drug)
            .map_or(d.drug.as_str(), |e| e.label.as_str());
        out.push(("缴获毒品".to_string(), format!("{name} {} 克", d.grams)));
    }
    let numbers: [(&str, f64, &str); 2] = [
        ("缴获易制毒化学品", f.precursors_kg, "千克"),
        ("非法种植面积", f.growing_mu, "亩"),
    ];
    for (label, n, unit) in numbers {
        if n > 0.0 {
            out.push((label.to_string(), format!("{n} {unit}")));
        }
    }
    let counts: [(&str, i64, &str); 7] = [
        ("破获制毒窝点", f.labs, "个"),
        ("其他制毒案件线索", f.manufacturing_leads, "起"),
        ("聚众吸毒被查获", f.group_use_people, "人"),
        ("查获毒驾人员", f.drug_drivers, "人"),
        ("抓获非法种植人员", f.growers_arrested, "人"),
        ("在逃人员悬赏金额", f.fugitive_bounty_yuan, "元"),
        ("特殊贡献申请金额", f.special_yuan, "元"),
    ];
    for (label, n, unit) in counts {
        if n > 0 {
            out.push((label.to_string(), format!("{n} {unit}")));
        }
    }
    out
}

/// What the reward page needs besides the reward: its policy version and the unit names.
struct Lookups {
    policy: Policy,
    names: UnitNames,
}

fn reward_page<'a>(
    nav: Nav<'a>,
    actor: &Actor,
    l: &Lookups,
    r: RewardView,
    error: Option<String>,
) -> v::RewardPage<'a> {
    let policy = &l.policy;
    // The tip link only for people who may open the tip: never finance.
    let tip_link = actor
        .sees_unit(&r.unit)
        .then(|| format!("/staff/tips/{}", r.tip_id));
    v::RewardPage {
        nav,
        tiers: tier_labels(policy, &r.tiers),
        steps: r
            .steps
            .iter()
            .map(|st| v::StepLine {
                label: st.label.clone(),
                signed_by: st.signed_by.clone(),
                signed_at: st.signed_at.map(crate::web::hour_local),
            })
            .collect(),
        next_step: r.next_step.as_deref().map(|n| step_label(policy, n)),
        payout: r.payout.as_ref().map(|p| v::PayoutLine {
            method: p.method.clone(),
            state: p.state.clone(),
            paid_on: p.paid_on.clone(),
        }),
        facts: r.facts.as_ref().map(|f| facts_lines(policy, f)),
        items: r.items.iter().map(item_line).collect(),
        heroin_g: r
            .facts
            .as_ref()
            .filter(|f| !f.drugs.is_empty())
            .map(|_| grams(r.heroin_equivalent_mg)),
        amount: yuan(r.amount_fen),
        proposed_at: crate::web::hour_local(r.proposed_at),
        tip_link,
        reject_reasons: &approvals::REJECT_REASONS,
        error,
        id: r.id,
        public_ref: r.public_ref,
        unit: unit_name(&l.names, &r.unit),
        policy_version: r.policy_version,
        status: r.status,
        can_sign: r.can_sign,
        proposed_by: r.proposed_by,
        cracked_on: r.cracked_on,
        notify_by: r.notify_by,
        overdue: r.overdue,
        notified_on: r.notified_on,
        claim_by: r.claim_by,
        reject_reason: r.reject_reason,
        justification: r.justification,
    }
}

/// One reward (an audited read), with `refusal` shown above it after a refused action.
async fn show_reward(
    state: &web::Data<AppState>,
    s: &Session,
    id: String,
    refusal: Option<Refusal>,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let actor = s.actor.clone();
    let loaded = db(state, move |c, st| {
        let view = approvals::view(c, &st.office(), &actor, &id)?;
        let (_, policy) = policy::rewards_policy(c, Some(view.policy_version))?;
        let names = unit_names(c)?;
        Ok((view, Lookups { policy, names }))
    })
    .await;
    let (view, lookups) = match loaded {
        Ok(x) => x,
        Err(e) => {
            let r = refusal.unwrap_or_else(|| Refusal::from(e));
            return message(s, &csrf, &r, ("/staff/rewards", "返回奖励列表"));
        }
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let error = refusal.map(|r| r.message);
    let p = reward_page(nav(s, &csrf), &s.actor, &lookups, view, error);
    page(status, v::reward(&p))
}

pub async fn reward(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    match require_roles(&state, &req, REWARD_ROLES).await {
        Ok(s) => show_reward(&state, &s, key(path.into_inner()), None).await,
        Err(r) => r,
    }
}

/// `sign` or `reject`: success goes back to the reward; a refusal shows it with its status.
async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: String,
    body: web::Bytes,
    reject: bool,
) -> HttpResponse {
    let (s, f) = match posted_by(&state, &req, &body, REWARD_ROLES).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reason = f.get("reason").cloned().unwrap_or_default();
    let (actor, id2) = (s.actor.clone(), id.clone());
    let result = db(&state, move |c, st| {
        let office = st.office();
        Ok(if reject {
            approvals::reject(c, &office, &actor, &id2, &reason)
        } else {
            approvals::sign(c, &office, &actor, &id2).map(|_| ())
        })
    })
    .await;
    match result {
        Ok(Ok(())) => see_other(&format!("/staff/rewards/{id}")),
        Ok(Err(e)) => show_reward(&state, &s, id, Some(e.into())).await,
        Err(e) => show_reward(&state, &s, id, Some(e.into())).await,
    }
}

pub async fn sign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    decide(state, req, key(path.into_inner()), body, false).await
}

pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    decide(state, req, key(path.into_inner()), body, true).await
}

// --- policy documents (admin) ------------------------------------------------------------------

fn document_name(name: &str) -> Option<&'static str> {
    policy::DOCUMENTS.into_iter().find(|d| *d == name)
}

fn policy_page(nav: Nav, name: &str, version: i64, body: String, error: Option<String>) -> Markup {
    v::policy(&v::PolicyPage {
        nav,
        name,
        version,
        body,
        error,
        documents: &policy::DOCUMENTS,
    })
}

pub async fn policy_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, &[Role::Admin]).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let Some(name) = document_name(&path.into_inner()) else {
        return error_page(&crate::web::errors::ApiError::NotFound, Some((&s, &csrf)));
    };
    match db(&state, move |c, _| Ok(policy::document(c, name, None)?)).await {
        Ok(d) => page(
            StatusCode::OK,
            policy_page(nav(&s, &csrf), name, d.version, d.body, None),
        ),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

/// Saves a new version (audited with the change); an invalid document comes back as typed.
pub async fn policy_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted_by(&state, &req, &body, &[Role::Admin]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let Some(name) = document_name(&path.into_inner()) else {
        return error_page(&crate::web::errors::ApiError::NotFound, Some((&s, &csrf)));
    };
    let text = f.get("body").cloned().unwrap_or_default();
    let (by, typed) = (s.actor.audit_name(), text.clone());
    let result = db(&state, move |c, st| {
        let object = format!("policy:{name}");
        let saved = audited(c, &st.staff.signer, &by, "policy.write", &object, |c| {
            policy::save_document(c, name, &typed, &by)
        });
        // The version in force, to show beside the refused text.
        let current = policy::document(c, name, None)?.version;
        Ok((saved, current))
    })
    .await;
    match result {
        Ok((Ok(_), _)) => see_other(&format!("/staff/admin/policy/{name}")),
        Ok((Err(e), current)) => {
            let r = Refusal::from(e);
            let m = policy_page(nav(&s, &csrf), name, current, text, Some(r.message));
            page(r.status, m)
        }
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(
        resource("/tips/{id}/rewards/new", "GET, POST")
            .route(web::get().to(proposal_form))
            .route(web::post().to(proposal)),
    )
    .service(resource("/rewards", "GET").route(web::get().to(list)))
    .service(resource("/rewards/{id}", "GET").route(web::get().to(reward)))
    .service(resource("/rewards/{id}/sign", "POST").route(web::post().to(sign)))
    .service(resource("/rewards/{id}/reject", "POST").route(web::post().to(reject)))
    .service(
        resource("/admin/policy/{name}", "GET, POST")
            .route(web::get().to(policy_form))
            .route(web::post().to(policy_save)),
    );
}

#[cfg(test)]
mod tests {
    use crate::web::staff::reward_parts::grams;

    #[test]
    fn grams_drop_trailing_zeros() {
        assert_eq!(grams(5_000), "5");
        assert_eq!(grams(12_500), "12.5");
        assert_eq!(grams(1), "0.001");
        assert_eq!(grams(0), "0");
    }
}
