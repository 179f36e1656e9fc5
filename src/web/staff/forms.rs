//! Shared by the staff pages: reading a posted form and checking its session and CSRF token.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::session::*;
use crate::staff::Role;
use crate::staff::auth::Session;
use crate::web::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;

pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// A signed-in form POST: the session (of `role`, when given), its form, CSRF checked.
pub(crate) async fn posted(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
    role: Option<Role>,
) -> Result<(Session, HashMap<String, String>), HttpResponse> {
    match role {
        Some(r) => posted_by(state, req, body, &[r]).await,
        None => {
            let s = signed_in(state, req).await?;
            let f = form(body);
            check_csrf(state, &s, &f)?;
            Ok((s, f))
        }
    }
}

/// A form POST by someone with one of `roles`: the session, its form, CSRF checked.
pub(crate) async fn posted_by(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
    roles: &[Role],
) -> Result<(Session, HashMap<String, String>), HttpResponse> {
    let s = require_roles(state, req, roles).await?;
    let f = form(body);
    check_csrf(state, &s, &f)?;
    Ok((s, f))
}

// --- login -----------------------------------------------------------------------------------
