//! Evidence and search for officers (issue 15): a tip's attachments served to the staff pages
//! and the staff API, and search by identifier. Role, unit and audit are checked in
//! `triage::evidence` and `triage::search`; this file only sets what goes over the wire.
//!
//! An attachment response carries the type our re-encoding produced, `nosniff`, no caching,
//! and a CSP that lets nothing run: a file from a reporter is never a page.

use super::api_kit::*;
use super::layout::*;
use super::session::*;
use crate::audit::{self, Entry, Outcome};
use crate::crypto::blind::Kind;
use crate::db::now_unix;
use crate::staff::{Actor, Role};
use crate::triage::evidence::{self, Opened};
use crate::triage::search::{self, SearchResult};
use crate::web::errors::ApiError;
use crate::web::{AppState, db, key, resource};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tipline_views::staff as v;

/// The CSP of an attachment itself: nothing loads, nothing runs, no form, sandboxed.
pub const ATTACHMENT_CSP: &str = "default-src 'none'; img-src 'self'; sandbox";

const TIP_WORKERS: &[Role] = &[Role::Officer, Role::Supervisor];

/// The response for an opened attachment: inline for the tip page's `<img>`, or a download.
fn attachment_response(o: &Opened, download: bool) -> HttpResponse {
    let disposition = if download {
        format!(
            "attachment; filename=\"attachment-{}.{}\"",
            o.info.id,
            o.info.extension()
        )
    } else {
        "inline".to_string()
    };
    HttpResponse::Ok()
        .insert_header(("Content-Type", o.info.content_type.as_str()))
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", ATTACHMENT_CSP))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"))
        .body(o.bytes.to_vec())
}

async fn open(
    state: &web::Data<AppState>,
    who: Actor,
    tip: String,
    attachment: String,
) -> Result<Opened, ApiError> {
    db(state, move |c, st| {
        let opener = st.staff.opener.as_ref().ok_or(ApiError::Unavailable)?;
        Ok(evidence::open(
            c,
            &st.staff.signer,
            opener,
            &st.staff.route,
            &who,
            &tip,
            &attachment,
        )?)
    })
    .await
}

#[derive(Deserialize, Default)]
struct AttachmentQuery {
    download: Option<String>,
}

/// `GET /staff/tips/{id}/attachments/{attachment}`: the tip page's photo (inline), or with
/// `?download=1` the file as a download.
pub async fn page_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, TIP_WORKERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (tip, attachment) = path.into_inner();
    let q: AttachmentQuery = query(&req).unwrap_or_default();
    let download = q.download.is_some_and(|d| d != "0");
    match open(&state, s.actor.clone(), key(tip), key(attachment)).await {
        Ok(o) => attachment_response(&o, download),
        Err(e) => {
            let csrf = csrf_of(&state, &s);
            error_page(&e, Some((&s, &csrf)))
        }
    }
}

/// `GET /api/v1/staff/tips/{id}/attachments/{attachment}`: always a download.
pub async fn api_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let (tip, attachment) = path.into_inner();
    let o = open(&state, who, key(tip), key(attachment)).await?;
    Ok(attachment_response(&o, true))
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    q: Option<String>,
    kind: Option<String>,
}

/// Runs one search for `who`: the per-officer limit first (refusals audited, without the
/// value), then the audited lookup.
async fn run_search(
    state: &web::Data<AppState>,
    who: Actor,
    q: SearchQuery,
) -> Result<SearchResult, ApiError> {
    let value = q.q.unwrap_or_default();
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty() && *k != "any") {
        None => None,
        Some(k) => Some(Kind::parse(k).ok_or_else(|| ApiError::Invalid("unknown kind".into()))?),
    };
    if who.role.reads_tips()
        && let Err(wait) = state.searches.check(&who, now_unix())
    {
        let name = who.audit_name();
        db(state, move |c, st| {
            let e = Entry {
                actor: &name,
                action: "tip.search",
                object: "search:rate_limited",
                outcome: Outcome::Denied,
            };
            audit::record(c, &st.staff.signer, &e).map_err(|_| ApiError::Internal)
        })
        .await?;
        return Err(ApiError::RateLimited(wait));
    }
    db(state, move |c, st| {
        let l = st.linker().ok_or(ApiError::Unavailable)?;
        Ok(search::search(c, &l, &who, &value, kind)?)
    })
    .await
}

/// `GET /api/v1/staff/search?q=...&kind=...`
pub async fn api_search(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let q: SearchQuery = query(&req)?;
    let found = run_search(&state, who, q).await?;
    Ok(HttpResponse::Ok().json(found))
}

pub fn kind_zh(k: Kind) -> &'static str {
    match k {
        Kind::Phone => "电话号码",
        Kind::Plate => "车牌",
        Kind::IdNumber => "身份证号",
        Kind::Venue => "场所",
        Kind::Person => "人名或绰号",
    }
}

/// `GET /staff/search?q=...&kind=...`: the queue's search box.
pub async fn page_search(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, TIP_WORKERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: SearchQuery = query(&req).unwrap_or_default();
    let value = q.q.clone().unwrap_or_default();
    let kind = q.kind.clone().unwrap_or_default();
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| (k.code().to_string(), kind_zh(*k).to_string()))
        .collect();
    let mut p = v::SearchPage {
        nav: nav(&s, &csrf),
        value: &value,
        kind: &kind,
        kinds,
        searched: None,
        rows: Vec::new(),
        elsewhere: 0,
        truncated: false,
        error: None,
    };
    if value.trim().is_empty() {
        return page(StatusCode::OK, v::search(&p));
    }
    let status = match run_search(&state, s.actor.clone(), q).await {
        Ok(r) => {
            p.searched = Some(
                r.kinds
                    .iter()
                    .map(|k| kind_zh(*k))
                    .collect::<Vec<_>>()
                    .join("、"),
            );
            p.rows = r
                .items
                .iter()
                .map(|h| v::SearchRow {
                    id: h.tip.id.clone(),
                    public_ref: h.tip.public_ref.clone(),
                    received: crate::web::hour_local(h.tip.created_hour),
                    township: township_zh(&h.tip.township),
                    status: status_zh(&h.tip.status).to_string(),
                    matched: h
                        .matched
                        .iter()
                        .map(|k| kind_zh(*k))
                        .collect::<Vec<_>>()
                        .join("、"),
                })
                .collect();
            p.elsewhere = r.elsewhere;
            p.truncated = r.truncated;
            StatusCode::OK
        }
        Err(e) => {
            p.error = Some(match &e {
                ApiError::RateLimited(_) => {
                    "查询太频繁，请过几分钟再查。每次查询都会记入审计日志。"
                }
                ApiError::Invalid(_) => {
                    "请输入电话号码、车牌、身份证号、场所或人名（2 到 100 个字），或换一个类别。"
                }
                ApiError::Unavailable => "本节点不能查询（没有办公室密钥）。",
                _ => "服务器出错，查询没有完成。",
            });
            actix_web::ResponseError::status_code(&e)
        }
    };
    page(status, v::search(&p))
}

pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/search", "GET").route(web::get().to(page_search)))
        .service(
            resource("/tips/{id}/attachments/{attachment}", "GET")
                .route(web::get().to(page_attachment)),
        );
}

pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/search", "GET").route(web::get().to(api_search)))
        .service(
            resource("/tips/{id}/attachments/{attachment}", "GET")
                .route(web::get().to(api_attachment)),
        );
}
