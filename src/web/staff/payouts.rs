//! Finance pages under /staff: paying a reward against its claim code, confirming transfers,
//! and the monthly ledger (HTML and CSV; county-wide supervisors may read it too). Refusals
//! show on the form with the status the JSON API gives for them.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::reward_parts::*;
use super::session::*;
use crate::rewards::calendar;
use crate::rewards::payouts::{self, Ledger, PayoutRequest, yuan};
use crate::rewards::policy;
use crate::rewards::schedule::tier_label;
use crate::staff::Role;
use crate::staff::auth::Session;
use crate::web::errors::ApiError;
use crate::web::key;
use crate::web::reward_text::Refusal;
use crate::web::{AppState, db};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use tipline_views::staff_finance as v;
use tipline_views::staff_rewards::FieldErrors;

const LEDGER_READERS: &[Role] = &[Role::Finance, Role::Supervisor];

/// The payouts page: the form (as typed, with any errors) and the transfers to confirm.
async fn payouts_page(
    state: &web::Data<AppState>,
    s: &Session,
    values: v::PayoutValues,
    refusal: Option<Refusal>,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let actor = s.actor.clone();
    let loaded = db(state, move |c, _| {
        Ok((payouts::pending_transfers(c, &actor)?, unit_names(c)?))
    })
    .await;
    let (pending, names) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((s, &csrf))),
    };
    let p = |errors: FieldErrors| v::PayoutsPage {
        nav: nav(s, &csrf),
        values,
        errors,
        pending: pending
            .into_iter()
            .map(|t| v::PendingLine {
                amount: yuan(t.amount_fen),
                payout_id: t.payout_id,
                reward_ref: t.reward_ref,
                unit: unit_name(&names, &t.unit),
                paid_on: t.paid_on,
            })
            .collect(),
    };
    match refusal {
        None => page(StatusCode::OK, v::payouts(&p(Vec::new()))),
        Some(r) => {
            let m = v::payouts(&p(vec![(r.field, r.message.clone())]));
            refused(&r, m)
        }
    }
}

pub async fn payouts_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match require_roles(&state, &req, &[Role::Finance]).await {
        Ok(s) => payouts_page(&state, &s, v::PayoutValues::default(), None).await,
        Err(r) => r,
    }
}

/// Records a payout against a claim code; the account is only passed on for a transfer.
pub async fn payout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted_by(&state, &req, &body, &[Role::Finance]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let typed = v::PayoutValues {
        claim_code: get("claim_code"),
        method: get("method"),
        account: get("account"),
        identity_check: get("identity_check"),
    };
    let request = PayoutRequest {
        claim_code: typed.claim_code.clone(),
        method: typed.method.clone(),
        account: (typed.method == "transfer").then(|| typed.account.clone()),
        identity_check: Some(typed.identity_check.clone()),
    };
    let actor = s.actor.clone();
    let result = db(&state, move |c, st| {
        Ok(payouts::record(c, &st.office(), &actor, &request))
    })
    .await;
    match result {
        Ok(Ok(done)) => {
            let csrf = csrf_of(&state, &s);
            let d = v::PayoutDone {
                reward_ref: done.reward_ref,
                amount: yuan(done.amount_fen),
                method: done.method,
                state: done.state,
                paid_on: done.paid_on,
            };
            page(StatusCode::CREATED, v::payout_done(&nav(&s, &csrf), &d))
        }
        Ok(Err(e)) => payouts_page(&state, &s, typed, Some(e.into())).await,
        Err(e) => payouts_page(&state, &s, typed, Some(e.into())).await,
    }
}

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, _) = match posted_by(&state, &req, &body, &[Role::Finance]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (actor, id) = (s.actor.clone(), key(path.into_inner()));
    let result = db(&state, move |c, st| {
        Ok(payouts::confirm_transfer(c, &st.office(), &actor, &id))
    })
    .await;
    let refusal = match result {
        Ok(Ok(())) => return see_other("/staff/payouts"),
        Ok(Err(e)) => Refusal::from(e),
        Err(e) => Refusal::from(e),
    };
    payouts_page(&state, &s, v::PayoutValues::default(), Some(refusal)).await
}

// --- ledger ------------------------------------------------------------------------------------

struct LedgerQuery {
    month: String,
    unit: Option<String>,
}

fn ledger_query(req: &HttpRequest) -> LedgerQuery {
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    LedgerQuery {
        month: q
            .get("month")
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| calendar::format(calendar::today())[..7].to_string()),
        unit: q.get("unit").filter(|u| !u.is_empty()).cloned().map(key),
    }
}

fn ledger_view<'a>(
    nav: tipline_views::staff::Nav<'a>,
    q: &LedgerQuery,
    units: Vec<(String, String)>,
    ledger: Option<(Ledger, policy::Policy)>,
    error: Option<String>,
) -> v::LedgerPage<'a> {
    let csv_link = ledger.as_ref().map(|(l, _)| {
        let mut pairs = vec![("month", l.month.clone())];
        if let Some(u) = &q.unit {
            pairs.push(("unit", u.clone()));
        }
        format!(
            "/staff/ledger.csv?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let (rows, totals, paid, pending) = match ledger {
        Some((l, policy)) => (
            l.rows
                .into_iter()
                .map(|r| v::LedgerLine {
                    tiers: r
                        .tiers
                        .split(',')
                        .map(|t| tier_label(&policy, t).unwrap_or(t))
                        .collect::<Vec<_>>()
                        .join("；"),
                    amount: yuan(r.amount_fen),
                    paid_on: r.paid_on,
                    reward_ref: r.reward_ref,
                    unit_name: r.unit_name,
                    method: r.method,
                    state: r.state,
                })
                .collect(),
            l.units
                .into_iter()
                .map(|u| v::UnitLine {
                    unit_name: u.unit_name,
                    count: u.count,
                    amount: yuan(u.amount_fen),
                })
                .collect(),
            l.total_paid_fen,
            l.total_pending_fen,
        ),
        None => (Vec::new(), Vec::new(), 0, 0),
    };
    v::LedgerPage {
        nav,
        month: q.month.clone(),
        unit: q.unit.clone().unwrap_or_default(),
        units,
        rows,
        totals,
        total_paid: yuan(paid),
        total_pending: yuan(pending),
        error,
        csv_link,
    }
}

pub async fn ledger(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, LEDGER_READERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q = ledger_query(&req);
    let (actor, month, unit) = (s.actor.clone(), q.month.clone(), q.unit.clone());
    let result = db(&state, move |c, _| {
        let ledger = payouts::ledger(c, &actor, &month, unit.as_deref());
        let units = crate::triage::routing::list_units(c).map_err(|_| ApiError::Internal)?;
        let (_, policy) = policy::rewards_policy(c, None)?;
        Ok((ledger.map(|l| (l, policy)), units))
    })
    .await;
    let (ledger, units) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let units = units.into_iter().map(|u| (u.code, u.name_zh)).collect();
    match ledger {
        Ok(l) => page(
            StatusCode::OK,
            v::ledger(&ledger_view(nav(&s, &csrf), &q, units, Some(l), None)),
        ),
        Err(crate::rewards::RewardError::Forbidden) => {
            error_page(&ApiError::Forbidden, Some((&s, &csrf)))
        }
        Err(e) => {
            let r = Refusal::from(e);
            let m = v::ledger(&ledger_view(
                nav(&s, &csrf),
                &q,
                units,
                None,
                Some(r.message.clone()),
            ));
            refused(&r, m)
        }
    }
}

/// The month's ledger as a CSV download, the same rows and totals as the page.
pub async fn ledger_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, LEDGER_READERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = ledger_query(&req);
    let actor = s.actor.clone();
    let result = db(&state, move |c, _| {
        Ok(payouts::ledger(c, &actor, &q.month, q.unit.as_deref()))
    })
    .await;
    let refusal = match result {
        Ok(Ok(l)) => {
            return HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"ledger-{}.csv\"", l.month),
                ))
                .body(payouts::ledger_csv(&l));
        }
        Ok(Err(e)) => Refusal::from(e),
        Err(e) => Refusal::from(e),
    };
    let csrf = csrf_of(&state, &s);
    message(&s, &csrf, &refusal, ("/staff/ledger", "返回台账"))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(
        resource("/payouts", "GET, POST")
            .route(web::get().to(payouts_form))
            .route(web::post().to(payout)),
    )
    .service(resource("/payouts/{id}/confirm", "POST").route(web::post().to(confirm)))
    .service(resource("/ledger", "GET").route(web::get().to(ledger)))
    .service(resource("/ledger.csv", "GET").route(web::get().to(ledger_csv)));
}
