//! Staff pages for the admin: accounts, units, disabling users and approving pending accounts.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::session::*;
use crate::intake::catalog::TOWNSHIPS;
use crate::staff::auth::Session;
use crate::staff::{Role, accounts};
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tipline_views::staff as v;

async fn admin_page(
    state: &web::Data<AppState>,
    s: &Session,
    error: Option<String>,
    created: Option<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let data = db(state, |c, _| {
        let users = accounts::list_users(c)?;
        let waiting = accounts::pending_usernames(c)?;
        let units = crate::triage::routing::list_units(c).map_err(|_| ApiError::Internal)?;
        Ok((users, waiting, units))
    })
    .await;
    let (users, waiting, units) = match data {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((s, &csrf))),
    };
    let p = v::AdminPage {
        nav: nav(s, &csrf),
        users: users
            .into_iter()
            .map(|(_, u, r, unit, d)| {
                let waits = waiting.contains(&u);
                (u, r, unit.unwrap_or_else(|| "全县".into()), d, waits)
            })
            .collect(),
        units: units
            .into_iter()
            .map(|u| {
                (
                    u.code,
                    u.name_zh,
                    u.townships
                        .iter()
                        .map(|t| label(TOWNSHIPS, t))
                        .collect::<Vec<_>>()
                        .join("、"),
                )
            })
            .collect(),
        error,
        created_waits: created.as_ref().is_some_and(|(u, _)| waiting.contains(u)),
        created,
        policy_documents: &crate::rewards::policy::DOCUMENTS,
    };
    page(status, v::admin(&p))
}

pub async fn admin(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match require_role(&state, &req, Role::Admin).await {
        Ok(s) => admin_page(&state, &s, None, None, StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn admin_add_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, Some(Role::Admin)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let by = s.actor.audit_name();
    let result = db(&state, move |c, st| {
        let password = accounts::generate_password()?;
        let unit = f.get("unit").filter(|u| !u.is_empty()).cloned();
        let username = f.get("username").cloned().unwrap_or_default();
        let u = accounts::NewUser {
            username: &username,
            role: f.get("role").map(String::as_str).unwrap_or_default(),
            unit: unit.as_deref(),
            password: &password,
            initial_hours: Some(st.config.initial_password_hours),
        };
        let notice = crate::staff::approval::Notice {
            sealer: &st.intake.sealer,
            relay: &st.intake.keys.relay,
        };
        match accounts::add_user(c, &st.staff.signer, &by, &u, Some(&notice)) {
            Ok(_) => Ok(Ok((username, password.to_string()))),
            Err(crate::staff::StaffError::Db(e)) => {
                Err(ApiError::from(crate::staff::StaffError::Db(e)))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    })
    .await;
    match result {
        Ok(Ok(created)) => admin_page(&state, &s, None, Some(created), StatusCode::CREATED).await,
        Ok(Err(msg)) => {
            admin_page(
                &state,
                &s,
                Some(msg),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&e, None),
    }
}

pub async fn admin_add_unit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, Some(Role::Admin)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let by = s.actor.audit_name();
    let result = db(&state, move |c, st| {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        let towns: Vec<String> = get("townships")
            .split([',', '，', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        match crate::triage::routing::add_unit(
            c,
            &st.staff.signer,
            &by,
            get("code").trim(),
            get("name").trim(),
            &towns,
        ) {
            Ok(()) => Ok(None),
            Err(crate::triage::routing::UnitError::Db(_)) => Err(ApiError::Internal),
            Err(e) => Ok(Some(e.to_string())),
        }
    })
    .await;
    match result {
        Ok(None) => see_other("/staff/admin"),
        Ok(Some(msg)) => {
            admin_page(
                &state,
                &s,
                Some(msg),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&e, None),
    }
}

pub async fn admin_disable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, _) = match posted(&state, &req, &body, Some(Role::Admin)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let by = s.actor.audit_name();
    let username = path.into_inner();
    match db(&state, move |c, st| {
        accounts::set_disabled(c, &st.staff.signer, &by, &username, true).map_err(ApiError::from)
    })
    .await
    {
        Ok(()) => see_other("/staff/admin"),
        Err(e) => {
            let csrf = csrf_of(&state, &s);
            error_page(&e, Some((&s, &csrf)))
        }
    }
}

// --- account approval (issue 14, item 6) -------------------------------------------------------

fn approval_error_zh(e: &crate::staff::StaffError) -> Option<&'static str> {
    use crate::staff::StaffError as S;
    match e {
        S::OwnAccount => {
            Some("不能批准：您创建了这个账号或它就是您自己的账号，须由另一位全县主管批准。")
        }
        S::NotPendingApproval => Some("这个账号不在待审批状态（可能已被批准）。"),
        S::NoSuchUser => Some("没有这个账号。"),
        _ => None,
    }
}

async fn pending_page(
    state: &web::Data<AppState>,
    s: &Session,
    error: Option<String>,
    approved: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let actor = s.actor.clone();
    let rows = db(state, move |c, _| {
        Ok(crate::staff::approval::pending(c, &actor)?)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return error_page(&e, Some((s, &csrf))),
    };
    let p = v::PendingAccountsPage {
        nav: nav(s, &csrf),
        rows: rows
            .into_iter()
            .map(|a| v::PendingRow {
                username: a.username,
                role: a.role,
                unit: a.unit.unwrap_or_else(|| "全县".into()),
                created_by: a.created_by.unwrap_or_default(),
                created_hour: crate::web::hour_local(a.created_hour),
            })
            .collect(),
        error,
        approved,
    };
    page(status, v::pending_accounts(&p))
}

/// The accounts waiting for approval: county supervisors only (a station supervisor gets 403
/// from the domain check, every other role from the page's role check).
pub async fn pending_accounts(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match require_role(&state, &req, Role::Supervisor).await {
        Ok(s) => pending_page(&state, &s, None, None, StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn approve_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, _) = match posted(&state, &req, &body, Some(Role::Supervisor)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let actor = s.actor.clone();
    let username = path.into_inner();
    let name = username.clone();
    let result = db(&state, move |c, st| {
        match crate::staff::approval::approve(c, &st.staff.signer, &actor, &name) {
            Ok(()) => Ok(None),
            Err(e) => match approval_error_zh(&e) {
                Some(text) => Ok(Some((ApiError::from(e), text))),
                None => Err(ApiError::from(e)),
            },
        }
    })
    .await;
    match result {
        Ok(None) => pending_page(&state, &s, None, Some(username), StatusCode::OK).await,
        Ok(Some((e, text))) => {
            let status = actix_web::ResponseError::status_code(&e);
            pending_page(&state, &s, Some(text.into()), None, status).await
        }
        Err(e) => {
            let csrf = csrf_of(&state, &s);
            error_page(&e, Some((&s, &csrf)))
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/admin", "GET").route(web::get().to(admin)))
        .service(resource("/admin/users", "POST").route(web::post().to(admin_add_user)))
        .service(resource("/admin/units", "POST").route(web::post().to(admin_add_unit)))
        .service(
            resource("/admin/users/{username}/disable", "POST")
                .route(web::post().to(admin_disable_user)),
        )
        .service(resource("/accounts/pending", "GET").route(web::get().to(pending_accounts)))
        .service(
            resource("/accounts/{username}/approve", "POST").route(web::post().to(approve_account)),
        );
}
