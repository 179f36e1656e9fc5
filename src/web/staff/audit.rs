//! The auditor's page: the audit log.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::layout::*;
use super::session::*;
use crate::staff::Role;
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use tipline_views::staff as v;

pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_role(&state, &req, Role::Auditor).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let actor_f = q.get("actor").cloned().unwrap_or_default();
    let action_f = q.get("action").cloned().unwrap_or_default();
    let before = q.get("before").and_then(|b| b.parse::<i64>().ok());
    let (a2, b2) = (actor_f.clone(), action_f.clone());
    let name = s.actor.audit_name();
    let filter = crate::audit::ListFilter {
        actor: Some(a2),
        action: Some(b2),
        object: None,
        before,
        limit: 100,
    };
    let rows = db(&state, move |c, st| {
        crate::audit::list(c, &st.staff.signer, &name, &filter).map_err(|_| ApiError::Internal)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let next_link = rows.last().filter(|_| rows.len() == 100).map(|r| {
        let mut q2 = q.clone();
        q2.insert("before".into(), r.0.to_string());
        format!(
            "/staff/audit?{}",
            serde_urlencoded::to_string(&q2).unwrap_or_default()
        )
    });
    let p = v::AuditPage {
        nav: nav(&s, &csrf),
        rows: rows
            .into_iter()
            .map(|(seq, at, actor, action, object, outcome)| {
                (
                    seq,
                    crate::web::hour_iso(at).replace(":00:00Z", "时"),
                    actor,
                    action,
                    object,
                    outcome,
                )
            })
            .collect(),
        actor: &actor_f,
        action: &action_f,
        next_link,
    };
    page(StatusCode::OK, v::audit(&p))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/audit", "GET").route(web::get().to(audit)));
}
