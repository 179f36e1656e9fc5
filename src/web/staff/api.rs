//! The staff JSON API under /api/v1/staff (DESIGN.md section 6). Bearer tokens from
//! `tipline token issue`, each with scopes checked per route (`scope_of`); every route also
//! checks role and unit, denies by default, and audits.
//! 401 without a valid token, 403 where the role may not act, 404 for a tip outside the unit.

use super::api_kit::*;
use crate::audit::{self};
use crate::intake::{Channel, StaffStamp, Submitted, TipFields};
use crate::staff::Role;
use crate::triage::work::{self, QueueFilter};
use crate::web::AppState;
use crate::web::errors::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::web::db;

const TIP_WORKERS: &[Role] = &[Role::Officer, Role::Supervisor];

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    status: Option<String>,
    category: Option<String>,
    township: Option<String>,
    channel: Option<String>,
    priority: Option<i32>,
    tag: Option<String>,
    max_age_days: Option<i64>,
    order: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    assigned: Option<String>,
}

pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    Ok(HttpResponse::Ok().json(who))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyBody {
    events: Vec<String>,
    channels: Vec<String>,
    /// Absent: keep; empty string: remove.
    email: Option<String>,
    phone: Option<String>,
}

/// What this person is told about, and whether an address and a phone are on file.
pub async fn get_notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let p = db(&state, move |c, st| {
        let relay = st.intake.keys.relay_opener();
        crate::notify::staff::prefs(c, &who, relay.as_ref()).map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(p))
}

pub async fn set_notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: NotifyBody = json(payload).await?;
    db(&state, move |c, st| {
        let relay = st.intake.keys.relay_opener();
        let choice = crate::notify::staff::Choice {
            events: &b.events,
            channels: &b.channels,
            email: b.email.as_deref(),
            phone: b.phone.as_deref(),
        };
        crate::notify::staff::set_prefs(
            c,
            &st.intake.sealer,
            &st.intake.keys.relay,
            relay.as_ref(),
            &who,
            &choice,
        )
        .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_tips(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, TIP_WORKERS, "tips.list").await?;
    let q: QueueQuery = query(&req)?;
    let assigned = match q.assigned.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(
            work::Assigned::parse(a)
                .ok_or_else(|| ApiError::Invalid("assigned is \"me\" or \"none\"".into()))?,
        ),
    };
    let filter = QueueFilter {
        assigned,
        status: q.status,
        category: q.category,
        township: q.township,
        channel: q.channel,
        priority: q.priority,
        tag: q.tag,
        max_age_days: q.max_age_days,
        oldest_first: q.order.as_deref() == Some("oldest"),
        cursor: q.cursor,
        limit: q.limit,
    };
    let (items, next, counts) = db(&state, move |c, st| {
        let (items, next) = work::queue(c, &who, &st.staff.route, &filter)?;
        let counts = work::counts(c, &who, &st.staff.route)?;
        Ok((items, next, counts))
    })
    .await?;
    let counts: serde_json::Map<String, serde_json::Value> =
        counts.into_iter().map(|(s, n)| (s, n.into())).collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "items": items, "next_cursor": next, "counts": counts })))
}

pub async fn get_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let id = crate::web::key(path.into_inner());
    let view = db(&state, move |c, st| {
        let opener = st.staff.opener.as_ref().ok_or(ApiError::Unavailable)?;
        Ok(work::open_tip(
            c,
            &st.staff.signer,
            opener,
            st.staff.blind.as_ref(),
            &st.staff.route,
            &who,
            &id,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
struct NewStaffTip {
    channel: String,
    category: String,
    township: String,
    description: String,
    location: Option<String>,
    occurred_at: Option<String>,
    people: Option<String>,
    vehicles: Option<String>,
    #[serde(default)]
    county_only: bool,
}

pub async fn create_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, TIP_WORKERS, "tips.create").await?;
    let t: NewStaffTip = json(payload).await?;
    let channel = match t.channel.as_str() {
        "hotline" => Channel::Hotline,
        "box" => Channel::Box,
        _ => return Err(ApiError::Invalid("channel must be hotline or box".into())),
    };
    let fields = TipFields {
        category: t.category,
        township: t.township,
        description: t.description,
        location: t.location,
        occurred_at: t.occurred_at,
        people: t.people,
        vehicles: t.vehicles,
        county_only: t.county_only,
    };
    let stamp = StaffStamp {
        actor: who.audit_name(),
        staff_id: who.id.clone(),
        signer: state.staff.signer.clone(),
    };
    let (outcome, id) = state.intake.submit_by_staff(channel, fields, stamp).await?;
    let Submitted::Created(receipt) = outcome else {
        return Err(ApiError::Internal);
    };
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id,
        "receipt": receipt.display(),
        "status": "received",
        "advice": "Read the receipt back to the caller digit by digit; it is shown only once. Suggest they exchange it for a new one on the web (rekey) since you have heard it.",
    })))
}

#[derive(Deserialize)]
struct TransitionBody {
    to: String,
    note: Option<String>,
}

pub async fn transition(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: TransitionBody = json(payload).await?;
    let id = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(work::transition(
            c,
            &st.desk(),
            &who,
            &id,
            &b.to,
            b.note.as_deref(),
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct AssignBody {
    username: Option<String>,
}

pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: AssignBody = json(payload).await?;
    let id = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(work::assign(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &id,
            b.username.as_deref(),
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct TriageBody {
    priority: Option<i32>,
    tags: Option<Vec<String>>,
}

pub async fn triage(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: TriageBody = json(payload).await?;
    let id = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(work::set_triage(
            c,
            &st.staff.signer,
            &st.staff.route,
            &who,
            &id,
            b.priority,
            b.tags.as_deref(),
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct NoteBody {
    body: String,
}

pub async fn note(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: NoteBody = json(payload).await?;
    let id = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(work::add_note(c, &st.desk(), &who, &id, &b.body)?)
    })
    .await?;
    Ok(HttpResponse::Created().finish())
}

pub async fn message(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, TIP_WORKERS, "tip.message").await?;
    let b: NoteBody = json(payload).await?;
    let id = path.into_inner();
    db(&state, move |c, st| {
        Ok(work::post_message(c, &st.desk(), &who, &id, &b.body)?)
    })
    .await?;
    Ok(HttpResponse::Created().finish())
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    object: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

pub async fn audit_log(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Auditor], "audit.list").await?;
    let q: AuditQuery = query(&req)?;
    let filter = audit::ListFilter {
        actor: q.actor,
        action: q.action,
        object: q.object,
        before: q.before,
        limit: q.limit.unwrap_or(100),
    };
    let name = who.audit_name();
    let rows = db(&state, move |c, st| {
        audit::list(c, &st.staff.signer, &name, &filter).map_err(|_| ApiError::Internal)
    })
    .await?;
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(seq, at, actor, action, object, outcome)| serde_json::json!({"seq": seq, "at": at, "actor": actor, "action": action, "object": object, "outcome": outcome}))
        .collect();
    let next = items
        .last()
        .and_then(|i| i["seq"].as_i64())
        .filter(|s| *s > 1);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_before": next })))
}

#[derive(Deserialize)]
struct NewUserBody {
    username: String,
    role: String,
    unit: Option<String>,
    password: String,
}

pub async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Admin], "users.list").await?;
    let users = db(&state, |c, _| Ok(crate::staff::accounts::list_users(c)?)).await?;
    let items: Vec<serde_json::Value> = users
        .into_iter()
        .map(|(id, username, role, unit, disabled)| serde_json::json!({"id": id, "username": username, "role": role, "unit": unit, "disabled": disabled}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn add_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Admin], "users.add").await?;
    let b: NewUserBody = json(payload).await?;
    let id = db(&state, move |c, st| {
        let u = crate::staff::accounts::NewUser {
            username: &b.username,
            role: &b.role,
            unit: b.unit.as_deref(),
            password: &b.password,
            initial_hours: Some(st.config.initial_password_hours),
        };
        let notice = crate::staff::approval::Notice {
            sealer: &st.intake.sealer,
            relay: &st.intake.keys.relay,
        };
        let id = crate::staff::accounts::add_user(
            c,
            &st.staff.signer,
            &who.audit_name(),
            &u,
            Some(&notice),
        )?;
        let pending = crate::staff::Role::parse(&b.role)
            .is_some_and(|r| crate::staff::approval::needs_approval(r, &who.audit_name()));
        Ok((id, pending))
    })
    .await?;
    let (id, pending) = id;
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": id, "approval_pending": pending })))
}

/// Tip-reading accounts waiting for a county supervisor's approval (issue 14).
pub async fn pending_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Supervisor], "users.pending").await?;
    let items = db(&state, move |c, _| {
        Ok(crate::staff::approval::pending(c, &who)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// A county supervisor approves a waiting account; it may log in from now on.
pub async fn approve_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Supervisor], "users.approve").await?;
    let username = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(crate::staff::approval::approve(
            c,
            &st.staff.signer,
            &who,
            &username,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn disable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Admin], "users.disable").await?;
    let username = crate::web::key(path.into_inner());
    db(&state, move |c, st| {
        Ok(crate::staff::accounts::set_disabled(
            c,
            &st.staff.signer,
            &who.audit_name(),
            &username,
            true,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_units(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(
        &state,
        &who,
        &[Role::Admin, Role::Officer, Role::Supervisor],
        "units.list",
    )
    .await?;
    let units = db(&state, |c, _| {
        crate::triage::routing::list_units(c).map_err(|_| ApiError::Internal)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": units })))
}

#[derive(Deserialize)]
struct NewUnitBody {
    code: String,
    name: String,
    #[serde(default)]
    townships: Vec<String>,
}

pub async fn add_unit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, &[Role::Admin], "units.add").await?;
    let b: NewUnitBody = json(payload).await?;
    db(&state, move |c, st| {
        crate::triage::routing::add_unit(
            c,
            &st.staff.signer,
            &who.audit_name(),
            &b.code,
            &b.name,
            &b.townships,
        )
        .map_err(|e| match e {
            crate::triage::routing::UnitError::Exists => ApiError::Conflict(e.to_string()),
            crate::triage::routing::UnitError::Db(_) => ApiError::Internal,
            other => ApiError::Invalid(other.to_string()),
        })
    })
    .await?;
    Ok(HttpResponse::Created().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/me", "GET").route(web::get().to(me)))
        .service(
            resource("/me/notifications", "GET, PUT")
                .route(web::get().to(get_notifications))
                .route(web::put().to(set_notifications)),
        )
        .service(
            resource("/tips", "GET, POST")
                .route(web::get().to(list_tips))
                .route(web::post().to(create_tip)),
        )
        .service(resource("/tips/{id}", "GET").route(web::get().to(get_tip)))
        .service(resource("/tips/{id}/transition", "POST").route(web::post().to(transition)))
        .service(resource("/tips/{id}/assign", "POST").route(web::post().to(assign)))
        .service(resource("/tips/{id}/triage", "POST").route(web::post().to(triage)))
        .service(resource("/tips/{id}/notes", "POST").route(web::post().to(note)))
        .service(resource("/tips/{id}/messages", "POST").route(web::post().to(message)))
        .service(resource("/audit", "GET").route(web::get().to(audit_log)))
        .service(
            resource("/users", "GET, POST")
                .route(web::get().to(list_users))
                .route(web::post().to(add_user)),
        )
        .service(resource("/users/pending", "GET").route(web::get().to(pending_users)))
        .service(resource("/users/{username}/approve", "POST").route(web::post().to(approve_user)))
        .service(resource("/users/{username}/disable", "POST").route(web::post().to(disable_user)))
        .service(
            resource("/units", "GET, POST")
                .route(web::get().to(list_units))
                .route(web::post().to(add_unit)),
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::auth::Scope;
    use actix_web::http::Method;

    /// Every staff route in the OpenAPI document names the scope `scope_of` asks of it.
    #[test]
    fn openapi_names_each_routes_token_scope() {
        let doc: serde_json::Value = serde_json::from_str(crate::web::api::OPENAPI).unwrap();
        let mut seen = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/staff") {
                continue;
            }
            for (m, op) in ops.as_object().unwrap() {
                let Ok(method) = Method::from_bytes(m.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                let Some(documented) = op.get("x-token-scope").and_then(|v| v.as_str()) else {
                    continue;
                };
                let scope = scope_of(&method, path).map(Scope::as_str);
                assert_eq!(scope, Some(documented), "{m} {path}");
                assert!(op["responses"].get("403").is_some(), "{m} {path}: 403");
                seen += 1;
            }
        }
        assert!(seen >= 30, "{seen} staff operations");
        assert_eq!(scope_of(&Method::GET, "/api/v1/staff/unlisted"), None);
        assert_eq!(
            scope_of(&Method::GET, "/api/v1/staff/tips/{id}/rewards/x"),
            Some(Scope::Rewards)
        );
    }
}
