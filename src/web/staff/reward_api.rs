//! Rewards in the staff API (DESIGN.md section 6): proposals, the one signing endpoint,
//! rejection, payouts, transfer confirmation, the ledger and the policy documents.
//! Role and unit checks live in `crate::rewards`; refusals there are audited.

use super::api_kit::*;
use crate::rewards::approvals::{self, ListFilter, Proposal};
use crate::rewards::payouts::{self, PayoutRequest};
use crate::rewards::policy;
use crate::rewards::schedule::Facts;
use crate::staff::Role;
use crate::web::errors::ApiError;
use crate::web::{AppState, db, key};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

const TIP_WORKERS: &[Role] = &[Role::Officer, Role::Supervisor];
/// Finance joins the tip workers on rewards: it signs last and pays.
const REWARD_ROLES: &[Role] = &[Role::Officer, Role::Supervisor, Role::Finance];

pub async fn suggest(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, TIP_WORKERS, "reward.suggest").await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        facts: Facts,
    }
    let b: Body = json(payload).await?;
    let tip = key(path.into_inner());
    let s = db(&state, move |c, st| {
        Ok(approvals::suggest_for_tip(
            c,
            &st.staff.route,
            &who,
            &tip,
            &b.facts,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(s))
}

pub async fn propose(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, TIP_WORKERS, "reward.propose").await?;
    let p: Proposal = json(payload).await?;
    let tip = key(path.into_inner());
    let out = db(&state, move |c, st| {
        Ok(approvals::propose(c, &st.office(), &who, &tip, &p)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(out))
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, REWARD_ROLES, "rewards.list").await?;
    let mut f: ListFilter = query(&req)?;
    f.status = f.status.map(key);
    f.tip_id = f.tip_id.map(key);
    let items = db(&state, move |c, _| Ok(approvals::list(c, &who, &f)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, REWARD_ROLES, "reward.read").await?;
    let id = key(path.into_inner());
    let v = db(&state, move |c, st| {
        Ok(approvals::view(c, &st.office(), &who, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

pub async fn sign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, REWARD_ROLES, "reward.sign").await?;
    let id = key(path.into_inner());
    let out = db(&state, move |c, st| {
        Ok(approvals::sign(c, &st.office(), &who, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, REWARD_ROLES, "reward.reject").await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        reason: String,
    }
    let b: Body = json(payload).await?;
    let id = key(path.into_inner());
    db(&state, move |c, st| {
        Ok(approvals::reject(c, &st.office(), &who, &id, &b.reason)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn payout(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let p: PayoutRequest = json(payload).await?;
    let out = db(&state, move |c, st| {
        Ok(payouts::record(c, &st.office(), &who, &p)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(out))
}

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let id = key(path.into_inner());
    db(&state, move |c, st| {
        Ok(payouts::confirm_transfer(c, &st.office(), &who, &id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
struct LedgerQuery {
    month: Option<String>,
    unit: Option<String>,
    format: Option<String>,
}

pub async fn ledger(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(
        &state,
        &who,
        &[Role::Finance, Role::Supervisor],
        "ledger.read",
    )
    .await?;
    let q: LedgerQuery = query(&req)?;
    let month = q.month.unwrap_or_else(|| {
        crate::rewards::calendar::format(crate::rewards::calendar::today())[..7].to_string()
    });
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::Invalid("format is json or csv".into())),
    };
    let l = db(&state, move |c, _| {
        let unit = q.unit.map(key);
        Ok(payouts::ledger(c, &who, &month, unit.as_deref())?)
    })
    .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"ledger-{}.csv\"", l.month),
            ))
            .body(payouts::ledger_csv(&l)));
    }
    Ok(HttpResponse::Ok().json(l))
}

fn document_name(name: &str) -> Result<&'static str, ApiError> {
    policy::DOCUMENTS
        .into_iter()
        .find(|d| *d == name)
        .ok_or(ApiError::NotFound)
}

pub async fn get_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(
        &state,
        &who,
        &[Role::Admin, Role::Officer, Role::Supervisor, Role::Finance],
        "policy.read",
    )
    .await?;
    let name = document_name(&path.into_inner())?;
    let d = db(&state, move |c, _| Ok(policy::document(c, name, None)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "name": d.name, "version": d.version, "body": d.body,
    })))
}

pub async fn put_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Admin], "policy.write").await?;
    let name = document_name(&path.into_inner())?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        body: String,
    }
    let b: Body = json(payload).await?;
    let version = db(&state, move |c, st| {
        let by = who.audit_name();
        let object = format!("policy:{name}");
        Ok(crate::rewards::audited(
            c,
            &st.staff.signer,
            &by,
            "policy.write",
            &object,
            |c| policy::save_document(c, name, &b.body, &by),
        )?)
    })
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "name": name, "version": version })))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/tips/{id}/rewards", "POST").route(web::post().to(propose)))
        .service(resource("/tips/{id}/rewards/suggest", "POST").route(web::post().to(suggest)))
        .service(resource("/rewards", "GET").route(web::get().to(list)))
        .service(resource("/rewards/{id}", "GET").route(web::get().to(get)))
        .service(resource("/rewards/{id}/sign", "POST").route(web::post().to(sign)))
        .service(resource("/rewards/{id}/reject", "POST").route(web::post().to(reject)))
        .service(resource("/payouts", "POST").route(web::post().to(payout)))
        .service(resource("/payouts/{id}/confirm", "POST").route(web::post().to(confirm)))
        .service(resource("/ledger", "GET").route(web::get().to(ledger)))
        .service(
            resource("/policy/{name}", "GET, PUT")
                .route(web::get().to(get_policy))
                .route(web::put().to(put_policy)),
        );
}
