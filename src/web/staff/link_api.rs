//! Linking related tips over the staff API: related tips, cases, duplicates. Role and unit are
//! checked in `triage::links` inside each transaction (403 for roles that do not work tips,
//! 404 for a tip or case outside the unit); every call is audited there.

use super::api_kit::*;
use crate::triage::links;
use crate::web::errors::ApiError;
use crate::web::{AppState, db, key};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

pub async fn related(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let id = key(path.into_inner());
    let found = db(&state, move |c, st| {
        let l = st.linker().ok_or(ApiError::Unavailable)?;
        Ok(links::related(c, &l, &who, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCase {
    tips: Vec<String>,
}

pub async fn create_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: NewCase = json(payload).await?;
    let tips: Vec<String> = b.tips.into_iter().map(key).collect();
    let case = db(&state, move |c, st| {
        Ok(links::create_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &tips,
        )?)
    })
    .await?;
    Ok(HttpResponse::Created().json(case))
}

pub async fn get_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let id = key(path.into_inner());
    let view = db(&state, move |c, st| {
        Ok(links::view_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &id,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseTipBody {
    tip: String,
}

pub async fn add_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: CaseTipBody = json(payload).await?;
    let (case, tip) = (key(path.into_inner()), key(b.tip));
    db(&state, move |c, st| {
        Ok(links::add_to_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &case,
            &tip,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let (case, tip) = path.into_inner();
    let (case, tip) = (key(case), key(tip));
    db(&state, move |c, st| {
        Ok(links::remove_from_case(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &case,
            &tip,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DuplicateBody {
    of: String,
}

pub async fn duplicate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: DuplicateBody = json(payload).await?;
    let (id, of) = (key(path.into_inner()), key(b.of));
    db(&state, move |c, st| {
        Ok(links::mark_duplicate(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &id,
            &of,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/tips/{id}/related", "GET").route(web::get().to(related)))
        .service(resource("/tips/{id}/duplicate", "POST").route(web::post().to(duplicate)))
        .service(resource("/cases", "POST").route(web::post().to(create_case)))
        .service(resource("/cases/{id}", "GET").route(web::get().to(get_case)))
        .service(resource("/cases/{id}/tips", "POST").route(web::post().to(add_tip)))
        .service(resource("/cases/{id}/tips/{tip}", "DELETE").route(web::delete().to(remove_tip)));
}
