//! Staff pages for signing in: login with password then TOTP (enrolment shows a QR code and the
//! otpauth URI), logout, the home redirect and the password change.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::session::*;
use crate::crypto::{ct_eq, keyed_hash, random_bytes};
use crate::staff::auth::{self, LoginResult, Stage};
use crate::staff::{Role, accounts};
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::time::Duration;
use tipline_views::staff as v;

/// The pre-session cookie of the login form (path /staff): the form's CSRF token is derived from
/// it, so a token is good only in the browser that was given the form.
const LOGIN_COOKIE: &str = "tipline_login";

fn login_cookie_value(req: &HttpRequest) -> Option<String> {
    req.cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        })
}

fn login_csrf(state: &AppState, pre: &str) -> String {
    hex::encode(&keyed_hash(&state.staff.csrf_key, &[b"login-csrf", pre.as_bytes()])[..16])
}

/// The login form, with the browser's pre-session cookie (a new one if it has none).
fn login_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    use base64::Engine;
    let (pre, new) = match login_cookie_value(req) {
        Some(v) => (v, false),
        None => match random_bytes::<32>() {
            Ok(b) => (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
                true,
            ),
            Err(_) => return error_page(&ApiError::Internal, None),
        },
    };
    let mut resp = page(status, v::login(&login_csrf(state, &pre), error));
    if new {
        let c = Cookie::build(LOGIN_COOKIE, pre)
            .path("/staff")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(state.config.public_url.starts_with("https://"))
            .finish();
        let _ = resp.add_cookie(&c);
    }
    resp
}

pub async fn login_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    login_page(&state, &req, StatusCode::OK, None)
}

pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(e) = crate::web::rate_limit(&state, &req) {
        return login_page(
            &state,
            &req,
            e.status_code_for_page(),
            Some("尝试次数太多，请稍后再试。"),
        );
    }
    let f = form(&body);
    let given = f.get("csrf").map(String::as_str).unwrap_or_default();
    let bound = login_cookie_value(&req)
        .is_some_and(|pre| ct_eq(login_csrf(&state, &pre).as_bytes(), given.as_bytes()));
    if !bound {
        return login_page(
            &state,
            &req,
            StatusCode::FORBIDDEN,
            Some("登录表单已过期，请重试。"),
        );
    }
    let username = f.get("username").cloned().unwrap_or_default();
    let password = zeroize::Zeroizing::new(f.get("password").cloned().unwrap_or_default());
    let network = state.limiter.network(&req);
    let result = db(&state, move |c, st| {
        let origin = auth::Origin {
            lock_key: &st.staff.lock_key,
            network: &network,
        };
        auth::login(c, &st.staff.signer, &origin, &username, &password).map_err(ApiError::from)
    })
    .await;
    match result {
        Ok(LoginResult::Session { token, .. }) => {
            let mut resp = see_other("/staff/totp");
            let _ = resp.add_cookie(&session_cookie(&state, token, None));
            resp
        }
        Ok(LoginResult::Refused(e)) => {
            // Failures cost time: a password guesser gets a second per try on top of the lock.
            tokio::time::sleep(Duration::from_millis(800)).await;
            let text = match e {
                crate::staff::StaffError::Locked => {
                    "登录失败次数过多，此账号已暂时锁定，请稍后再试。"
                }
                crate::staff::StaffError::InitialPasswordExpired => {
                    "初始密码已过期（未在有效期内使用）。请联系管理员重新发放初始密码。"
                }
                _ => "用户名或密码错误。",
            };
            login_page(&state, &req, StatusCode::UNAUTHORIZED, Some(text))
        }
        Err(e) => error_page(&e, None),
    }
}

fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default()
}

pub async fn totp_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    totp_page(&state, &req, None, StatusCode::OK).await
}

async fn totp_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let s = match session(state, req).await {
        Ok(Some(s)) if matches!(s.stage, Stage::Password | Stage::Enrol) => s,
        Ok(Some(s)) if s.stage == Stage::Change => return see_other("/staff/password"),
        Ok(Some(_)) => return see_other("/staff"),
        _ => return see_other("/staff/login"),
    };
    let csrf = csrf_of(state, &s);
    if s.stage == Stage::Enrol {
        let actor = s.actor.clone();
        let uri = match db(state, move |c, st| {
            accounts::begin_totp(c, &st.staff.totp_key, &actor).map_err(ApiError::from)
        })
        .await
        {
            Ok(u) => u,
            Err(e) => return error_page(&e, None),
        };
        let svg = qr_svg(&uri);
        return page(status, v::totp(&csrf, Some((&uri, &svg)), error));
    }
    page(status, v::totp(&csrf, None, error))
}

pub async fn totp(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(e) = crate::web::rate_limit(&state, &req) {
        let msg = "尝试次数太多，请稍后再试。";
        return totp_page(&state, &req, Some(msg), e.status_code_for_page()).await;
    }
    let s = match session(&state, &req).await {
        Ok(Some(s)) if matches!(s.stage, Stage::Password | Stage::Enrol) => s,
        _ => return see_other("/staff/login"),
    };
    let f = form(&body);
    if let Err(r) = check_csrf(&state, &s, &f) {
        return r;
    }
    let code = f.get("code").cloned().unwrap_or_default();
    let enrolling = s.stage == Stage::Enrol;
    let network = state.limiter.network(&req);
    let outcome = db(&state, move |c, st| {
        let origin = auth::Origin {
            lock_key: &st.staff.lock_key,
            network: &network,
        };
        auth::second_factor(c, &st.staff.signer, &st.staff.totp_key, &origin, &s, &code)
            .map_err(ApiError::from)
    })
    .await;
    match outcome {
        Ok(auth::SecondFactor::Accepted(Stage::Change)) => see_other("/staff/password"),
        Ok(auth::SecondFactor::Accepted(_)) => see_other("/staff"),
        Ok(auth::SecondFactor::Wrong) => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let msg = if enrolling {
                "验证码不正确。二维码已更新，请重新扫描后输入新的验证码。"
            } else {
                "验证码不正确或已使用过，请输入新的验证码。"
            };
            totp_page(&state, &req, Some(msg), StatusCode::UNAUTHORIZED).await
        }
        Ok(auth::SecondFactor::Ended) => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let msg = "验证码错误次数过多，本次登录已作废，请重新输入用户名和密码。";
            let mut resp = login_page(&state, &req, StatusCode::UNAUTHORIZED, Some(msg));
            let _ = resp.add_cookie(&session_cookie(&state, String::new(), Some(0)));
            resp
        }
        Err(e) => error_page(&e, None),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(Some(s)) = session(&state, &req).await else {
        return see_other("/staff/login");
    };
    if let Err(r) = check_csrf(&state, &s, &form(&body)) {
        return r;
    }
    let _ = db(&state, move |c, st| {
        auth::logout(c, &st.staff.signer, &s).map_err(ApiError::from)
    })
    .await;
    let mut resp = see_other("/staff/login");
    let _ = resp.add_cookie(&session_cookie(&state, String::new(), Some(0)));
    resp
}

pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match s.actor.role {
        Role::Officer | Role::Supervisor => see_other("/staff/tips"),
        Role::Admin => see_other("/staff/admin"),
        Role::Auditor => see_other("/staff/audit"),
        Role::Finance => see_other("/staff/rewards"),
    }
}

/// Shown while a session is on an initial password.
const FIRST_PASSWORD: (&str, &str) = (
    "first",
    "您正在使用管理员发放的初始密码：请先设置自己的新密码，之后才能使用其他功能。",
);

pub async fn password_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match changing_password(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let notice = (s.stage == Stage::Change).then_some(FIRST_PASSWORD);
    page(StatusCode::OK, v::password(&nav(&s, &csrf), notice))
}

pub async fn password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let s = match changing_password(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let f = form(&body);
    if let Err(r) = check_csrf(&state, &s, &f) {
        return r;
    }
    let current = zeroize::Zeroizing::new(f.get("current").cloned().unwrap_or_default());
    let new = zeroize::Zeroizing::new(f.get("new").cloned().unwrap_or_default());
    let actor = s.actor.clone();
    let result = db(&state, move |c, st| {
        let hash: String =
            accounts::password_hash_of(c, &actor.id).map_err(|_| ApiError::Internal)?;
        if !accounts::verify_password(&hash, &current) {
            return Ok(Some(("current", "当前密码不正确。")));
        }
        match accounts::set_password(c, &st.staff.signer, &actor, &new) {
            Ok(()) => Ok(None),
            Err(crate::staff::StaffError::WeakPassword) => {
                Ok(Some(("new", "新密码至少需要 12 个字符。")))
            }
            Err(e) => Err(ApiError::from(e)),
        }
    })
    .await;
    let csrf = csrf_of(&state, &s);
    match result {
        Ok(None) => {
            let mut resp = see_other("/staff/login");
            let _ = resp.add_cookie(&session_cookie(&state, String::new(), Some(0)));
            resp
        }
        Ok(Some(msg)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            v::password(&nav(&s, &csrf), Some(msg)),
        ),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

// --- queue and tips ----------------------------------------------------------------------------

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("", "GET").route(web::get().to(home)))
        .service(
            resource("/login", "GET, POST")
                .route(web::get().to(login_form))
                .route(web::post().to(login)),
        )
        .service(
            resource("/totp", "GET, POST")
                .route(web::get().to(totp_form))
                .route(web::post().to(totp)),
        )
        .service(resource("/logout", "POST").route(web::post().to(logout)))
        .service(
            resource("/password", "GET, POST")
                .route(web::get().to(password_form))
                .route(web::post().to(password)),
        );
}
