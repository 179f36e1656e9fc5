//! Shared by the staff JSON API handlers: the bearer or session actor, token scopes, role checks,
//! and reading query strings and JSON bodies.

use crate::audit::{self, Entry, Outcome};
use crate::staff::auth::Scope;
use crate::staff::{Actor, Role, auth};
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::{HttpRequest, web};

/// The scope a bearer token needs for a route (pattern under /api/v1/staff) and method.
/// A route not listed here needs a scope no token has: deny by default.
pub fn scope_of(method: &actix_web::http::Method, pattern: &str) -> Option<Scope> {
    let read = *method == actix_web::http::Method::GET;
    let path = pattern.strip_prefix("/api/v1/staff").unwrap_or(pattern);
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/audit") {
        Some(Scope::Audit)
    } else if under("/users") {
        Some(Scope::Admin)
    } else if under("/units") || under("/policy") {
        Some(if read { Scope::Read } else { Scope::Admin })
    } else if under("/rewards")
        || under("/payouts")
        || under("/ledger")
        || (path.starts_with("/tips/{id}/rewards"))
    {
        Some(Scope::Rewards)
    } else if under("/tips")
        || under("/cases")
        || under("/me")
        || under("/reports")
        || under("/search")
    {
        Some(if read { Scope::Read } else { Scope::Write })
    } else {
        None
    }
}

/// The actor behind the request's bearer token; 401 otherwise, 403 (audited) when the token's
/// scopes do not cover this route.
pub async fn actor(state: &web::Data<AppState>, req: &HttpRequest) -> Result<Actor, ApiError> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or(ApiError::Unauthorized)?
        .to_string();
    let needed = req.match_pattern().and_then(|p| scope_of(req.method(), &p));
    let (who, scopes) = db(state, move |c, _| {
        auth::actor_for_token(c, &token).map_err(ApiError::from)
    })
    .await?
    .ok_or(ApiError::Unauthorized)?;
    if needed.is_some_and(|n| scopes.contains(&n)) {
        return Ok(who);
    }
    let name = who.audit_name();
    let object = format!("scope:{}", needed.map_or("none", |s| s.as_str()));
    db(state, move |c, st| {
        let e = Entry {
            actor: &name,
            action: "token.scope",
            object: &object,
            outcome: Outcome::Denied,
        };
        audit::record(c, &st.staff.signer, &e).map_err(|_| ApiError::Internal)
    })
    .await?;
    Err(ApiError::Forbidden)
}

/// Refuses, and audits, a role that may not use a route.
pub(crate) async fn require(
    state: &web::Data<AppState>,
    who: &Actor,
    allowed: &[Role],
    action: &'static str,
) -> Result<(), ApiError> {
    if allowed.contains(&who.role) {
        return Ok(());
    }
    let name = who.audit_name();
    db(state, move |c, st| {
        let e = Entry {
            actor: &name,
            action,
            object: "route",
            outcome: Outcome::Denied,
        };
        audit::record(c, &st.staff.signer, &e).map_err(|_| ApiError::Internal)
    })
    .await?;
    Err(ApiError::Forbidden)
}

/// Query parameters; PostgreSQL stores no NUL in text, so a NUL anywhere is refused here.
pub(crate) fn query<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
) -> Result<T, ApiError> {
    let raw = req.query_string();
    if raw.contains('\0') || raw.to_ascii_lowercase().contains("%00") {
        return Err(ApiError::Invalid("malformed query string".into()));
    }
    serde_urlencoded::from_str(raw).map_err(|_| ApiError::Invalid("malformed query string".into()))
}

/// Largest staff JSON body.
pub(crate) const MAX_STAFF_BODY: usize = 64 * 1024;

/// Reads and parses a JSON object body, with the API's own 413 and 400 errors.
/// Staff bodies are stored as text, and PostgreSQL stores no NUL in text: refused here.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    payload: web::Payload,
) -> Result<T, ApiError> {
    let body = crate::web::submission::read_body(payload, MAX_STAFF_BODY).await?;
    if body.contains(&0) || body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::Invalid(
            "text must not contain NUL characters".into(),
        ));
    }
    crate::web::submission::json_object(&body)
}
