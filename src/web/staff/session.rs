//! Shared by the staff pages: the session cookie, the signed-in check, CSRF tokens and role checks
//! (deny by default: no session sends you to the login page, the wrong role gets 403).

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::layout::*;
use crate::staff::Role;
use crate::staff::auth::{self, Session, Stage};
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use tipline_views::staff as v;

pub(crate) const COOKIE: &str = "tipline_staff";

pub(crate) async fn session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Option<Session>, ApiError> {
    let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    if token.len() > 128 {
        return Ok(None);
    }
    db(state, move |c, _| {
        auth::session(c, &token).map_err(ApiError::from)
    })
    .await
}

/// The signed-in, fully authenticated staff member, or the response to send instead.
pub(crate) async fn signed_in(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Session, HttpResponse> {
    match session(state, req).await {
        Ok(Some(s)) if s.stage == Stage::Full => Ok(s),
        Ok(Some(s)) if s.stage == Stage::Change => Err(see_other("/staff/password")),
        Ok(Some(_)) => Err(see_other("/staff/totp")),
        Ok(None) => Err(see_other("/staff/login")),
        Err(e) => Err(error_page(&e, None)),
    }
}

/// A session that may change its password: a full one, or one still on its initial password
/// (which may do nothing else).
pub(crate) async fn changing_password(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Session, HttpResponse> {
    match session(state, req).await {
        Ok(Some(s)) if matches!(s.stage, Stage::Full | Stage::Change) => Ok(s),
        Ok(Some(_)) => Err(see_other("/staff/totp")),
        Ok(None) => Err(see_other("/staff/login")),
        Err(e) => Err(error_page(&e, None)),
    }
}

pub(crate) fn csrf_of(state: &AppState, s: &Session) -> String {
    auth::csrf_token(&state.staff.csrf_key, s)
}

/// Checks the form's CSRF token against the session.
pub(crate) fn check_csrf(
    state: &AppState,
    s: &Session,
    f: &HashMap<String, String>,
) -> Result<(), HttpResponse> {
    if auth::csrf_ok(
        &state.staff.csrf_key,
        s,
        f.get("csrf").map(String::as_str).unwrap_or_default(),
    ) {
        Ok(())
    } else {
        Err(page(
            StatusCode::FORBIDDEN,
            v::message("表单已失效", None, "表单已过期或来源不明，请返回重新操作。"),
        ))
    }
}

pub(crate) fn session_cookie(
    state: &AppState,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, value)
        .path("/staff")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.public_url.starts_with("https://"))
        .finish();
    if let Some(secs) = max_age {
        c.set_max_age(actix_web::cookie::time::Duration::seconds(secs));
    }
    c
}

pub(crate) async fn require_role(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    role: Role,
) -> Result<Session, HttpResponse> {
    require_roles(state, req, &[role]).await
}

/// The signed-in staff member if their role is one of `roles`; anyone else gets a 403 page and
/// an audit entry.
pub(crate) async fn require_roles(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    roles: &[Role],
) -> Result<Session, HttpResponse> {
    let s = signed_in(state, req).await?;
    if !roles.contains(&s.actor.role) {
        let csrf = csrf_of(state, &s);
        let name = s.actor.audit_name();
        let _ = db(state, move |c, st| {
            let e = crate::audit::Entry {
                actor: &name,
                action: "page",
                object: "route",
                outcome: crate::audit::Outcome::Denied,
            };
            crate::audit::record(c, &st.staff.signer, &e).map_err(|_| ApiError::Internal)
        })
        .await;
        return Err(error_page(&ApiError::Forbidden, Some((&s, &csrf))));
    }
    Ok(s)
}
