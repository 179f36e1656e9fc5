//! Staff pages for linked cases: one case and unlinking a tip from it.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::session::*;
use crate::triage::links;
use crate::web::AppState;
use crate::web::db;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tipline_views::staff_links as vl;

/// A case and its tips in the order they were reported.
pub async fn case(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let id = crate::web::key(path.into_inner());
    let actor = s.actor.clone();
    let idc = id.clone();
    let view = db(&state, move |c, st| {
        Ok(links::view_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &actor,
            &idc,
        )?)
    })
    .await;
    let k = match view {
        Ok(k) => k,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let p = vl::CasePage {
        nav: nav(&s, &csrf),
        id: &id,
        public_ref: &k.public_ref,
        created: format!(
            "{} 于 {} 时建立",
            k.created_by,
            crate::web::hour_local(k.created_at)
        ),
        tips: k
            .tips
            .iter()
            .map(|t| linked_tip(&t.tip, t.added_by.clone()))
            .collect(),
        elsewhere: k.elsewhere,
    };
    page(StatusCode::OK, vl::case(&p))
}

/// Takes a tip out of the case, from the case page.
pub async fn case_unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let id = crate::web::key(path.into_inner());
    let tip = crate::web::key(f.get("tip").cloned().unwrap_or_default());
    let actor = s.actor.clone();
    let idc = id.clone();
    let done = db(&state, move |c, st| {
        Ok(links::remove_from_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &actor,
            &idc,
            &tip,
        )?)
    })
    .await;
    match done {
        Ok(()) => see_other(&format!("/staff/cases/{id}")),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/cases/{id}", "GET").route(web::get().to(case)))
        .service(resource("/cases/{id}/unlink", "POST").route(web::post().to(case_unlink)));
}
