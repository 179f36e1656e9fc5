//! Staff pages under /staff: login with password then TOTP (enrolment shows a QR code and the
//! otpauth URI), the queue, a tip, hotline/box entry, admin and auditor pages. Sessions are in
//! the database behind an HttpOnly, SameSite=Lax cookie (Secure behind https); every form
//! carries the session's CSRF token. Deny by default: no session sends you to the login page,
//! the wrong role gets 403, a tip of another unit 404.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::AppState;
use super::errors::ApiError;
use crate::crypto::{ct_eq, keyed_hash, random_bytes};
use crate::db::schema::tips;
use crate::intake::catalog::{CATEGORIES, TOWNSHIPS};
use crate::intake::{Channel, StaffStamp, Submitted, TipFields};
use crate::staff::auth::{self, LoginResult, Session, Stage};
use crate::staff::{Role, accounts};
use crate::triage::work::{self, QueueFilter};
use crate::triage::{evidence, links};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use std::collections::HashMap;
use std::time::Duration;
use tipline_views::maud::Markup;
use tipline_views::staff as v;
use tipline_views::staff_links as vl;

const COOKIE: &str = "tipline_staff";

pub(super) fn page(status: StatusCode, m: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(m.into_string())
}

pub(super) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

use super::db;

fn form(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

async fn session(
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
async fn signed_in(
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
async fn changing_password(
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

pub(super) fn nav<'a>(s: &'a Session, csrf: &'a str) -> v::Nav<'a> {
    v::Nav {
        username: &s.actor.username,
        role: s.actor.role.as_str(),
        county_wide: s.actor.sees_all(),
        approvals_waiting: s.approvals_waiting,
        csrf,
    }
}

pub(super) fn error_page(e: &ApiError, s: Option<(&Session, &str)>) -> HttpResponse {
    let text = match e {
        ApiError::Forbidden => "您的角色不能进行这项操作。",
        ApiError::NotFound => "没有这条记录，或它不属于您的单位。",
        ApiError::Conflict(_) | ApiError::Invalid(_) => "操作未完成：输入或状态不符合要求。",
        _ => "服务器出错，操作没有完成。",
    };
    let n = s.map(|(s, c)| nav(s, c));
    page(
        actix_web::ResponseError::status_code(e),
        v::message("出错了", n.as_ref(), text),
    )
}

pub(super) fn csrf_of(state: &AppState, s: &Session) -> String {
    auth::csrf_token(&state.staff.csrf_key, s)
}

/// Checks the form's CSRF token against the session.
fn check_csrf(
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

fn session_cookie(state: &AppState, value: String, max_age: Option<i64>) -> Cookie<'static> {
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

/// A signed-in form POST: the session (of `role`, when given), its form, CSRF checked.
async fn posted(
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
pub(super) async fn posted_by(
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
    if let Err(e) = super::rate_limit(&state, &req) {
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
    if let Err(e) = super::rate_limit(&state, &req) {
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
        Role::Liaison => see_other("/staff/returns"),
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
        use crate::db::schema::staff;
        use diesel::prelude::*;
        let hash: String = staff::table
            .filter(staff::id.eq(&actor.id))
            .select(staff::password_hash)
            .first(&mut **c)
            .map_err(|_| ApiError::Internal)?;
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

fn label(list: &'static [crate::intake::catalog::Choice], code: &str) -> String {
    list.iter()
        .find(|c| c.code == code)
        .map(|c| c.zh.to_string())
        .unwrap_or_else(|| code.to_string())
}

pub(super) fn township_zh(code: &str) -> String {
    label(TOWNSHIPS, code)
}

pub(super) fn status_zh(s: &str) -> &'static str {
    match s {
        "received" => "已收到",
        "triaging" => "初查中",
        "assigned" => "已指派",
        "investigating" => "调查中",
        "verified" => "查证属实",
        "unfounded" => "查无实据",
        "duplicate" => "重复线索",
        "out_of_scope" => "不属受理范围",
        "closed" => "已办结",
        _ => "未知",
    }
}

pub(super) fn channel_zh(s: &str) -> &'static str {
    match s {
        "web" => "网上",
        "sms" => "短信",
        "email" => "邮件",
        "hotline" => "电话",
        "box" => "举报箱",
        _ => "其他",
    }
}

pub async fn queue(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let filter = QueueFilter {
        status: get("status"),
        category: get("category"),
        township: get("township"),
        channel: get("channel"),
        priority: get("priority").and_then(|p| p.parse().ok()),
        tag: get("tag"),
        max_age_days: get("max_age_days").and_then(|p| p.parse().ok()),
        oldest_first: get("order").as_deref() == Some("oldest"),
        cursor: get("cursor"),
        limit: Some(50),
        assigned: get("assigned").as_deref().and_then(work::Assigned::parse),
    };
    let actor = s.actor.clone();
    let f2 = filter.clone();
    let result = db(&state, move |c, st| {
        let (items, next) = work::queue(c, &actor, &st.staff.route, &f2)?;
        let overdue = super::reward_pages::overdue_count(c, &actor)?;
        Ok((
            items,
            next,
            work::counts(c, &actor, &st.staff.route)?,
            overdue,
        ))
    })
    .await;
    let (items, next, counts, overdue_rewards) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let next_link = next.map(|c| {
        let mut q2 = q.clone();
        q2.insert("cursor".into(), c);
        format!(
            "/staff/tips?{}",
            serde_urlencoded::to_string(&q2).unwrap_or_default()
        )
    });
    let opts = |list: &'static [crate::intake::catalog::Choice]| {
        list.iter()
            .map(|c| (c.code.to_string(), c.zh.to_string()))
            .collect::<Vec<_>>()
    };
    let statuses = crate::triage::states::STATUSES
        .iter()
        .map(|s| (s.to_string(), status_zh(s).to_string()))
        .collect();
    let channels = ["web", "sms", "email", "hotline", "box"]
        .iter()
        .map(|c| (c.to_string(), channel_zh(c).to_string()))
        .collect();
    let sel = |k: &str| q.get(k).cloned().unwrap_or_default();
    let p = v::QueuePage {
        nav: nav(&s, &csrf),
        rows: items
            .into_iter()
            .map(|i| v::QueueRow {
                received: super::hour_local(i.created_hour),
                category: label(CATEGORIES, &i.category),
                township: label(TOWNSHIPS, &i.township),
                channel: channel_zh(&i.channel).to_string(),
                status: status_zh(&i.status).to_string(),
                priority: i.priority,
                tags: i.tags.join(", "),
                unread: i.unread_messages,
                assignee: i.assignee.unwrap_or_default(),
                route_broken: !i.route_intact,
                id: i.id,
                public_ref: i.public_ref,
            })
            .collect(),
        counts: counts
            .into_iter()
            .map(|(st, n)| (status_zh(&st).to_string(), n))
            .collect(),
        next_link,
        filters: vec![
            ("status", "状态", statuses, sel("status")),
            ("category", "类别", opts(CATEGORIES), sel("category")),
            ("township", "乡镇", opts(TOWNSHIPS), sel("township")),
            ("channel", "渠道", channels, sel("channel")),
        ],
        oldest_first: filter.oldest_first,
        overdue_rewards,
        assigned: match filter.assigned {
            Some(work::Assigned::Mine) => "me",
            Some(work::Assigned::Nobody) => "none",
            None => "",
        },
    };
    page(StatusCode::OK, v::queue(&p))
}

pub async fn tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let id = super::key(path.into_inner());
    let actor = s.actor.clone();
    let idc = id.clone();
    let view = db(&state, move |c, st| {
        let opener = st.staff.opener.as_ref().ok_or(ApiError::Unavailable)?;
        let t = work::open_tip(
            c,
            &st.staff.signer,
            opener,
            st.staff.blind.as_ref(),
            &st.staff.route,
            &actor,
            &idc,
        )?;
        let rewards = super::reward_pages::tip_rewards(c, &st.staff.route, &actor, &idc)?;
        let related = match st.linker() {
            Some(l) => Some(links::related(c, &l, &actor, &idc)?),
            None => None,
        };
        let original = match &t.duplicate_of {
            Some(o) => tips::table
                .filter(tips::id.eq(o))
                .select(tips::public_ref)
                .first::<String>(c)
                .optional()?,
            None => None,
        };
        // Text files are shown on the page: each one opened is a read, audited on its own.
        let mut texts = HashMap::new();
        for a in evidence::listed(&t.report) {
            if !a.is_image() {
                let o = evidence::open(
                    c,
                    &st.staff.signer,
                    opener,
                    &st.staff.route,
                    &actor,
                    &idc,
                    &a.id,
                )?;
                texts.insert(a.id, String::from_utf8_lossy(&o.bytes).into_owned());
            }
        }
        Ok((t, rewards, related, original, texts))
    })
    .await;
    let (t, rewards, related, original, mut texts) = match view {
        Ok(t) => t,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let text = |k: &str| {
        t.report
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut report = vec![("发生了什么", text("description"))];
    for (k, l) in [
        ("location", "地点"),
        ("occurred_at", "时间"),
        ("people", "人员"),
        ("vehicles", "车辆"),
    ] {
        let v = text(k);
        if !v.is_empty() {
            report.push((l, v));
        }
    }
    let channel = channel_zh(&t.meta.channel);
    let attachments = evidence::listed(&t.report)
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let url = format!("/staff/tips/{id}/attachments/{}", a.id);
            let text = texts.remove(&a.id);
            let text_cut = text
                .as_ref()
                .is_some_and(|t| t.chars().count() > PAGE_TEXT_CHARS);
            v::AttachmentView {
                n: i + 1,
                image: a.is_image(),
                download: format!("{url}?download=1"),
                url,
                kind: attachment_kind_zh(&a.content_type).to_string(),
                size: size_text(a.size),
                channel: channel.to_string(),
                text: text.map(|t| t.chars().take(PAGE_TEXT_CHARS).collect()),
                text_cut,
            }
        })
        .collect();
    let mut meta = vec![
        ("类别", label(CATEGORIES, &t.meta.category)),
        ("乡镇", label(TOWNSHIPS, &t.meta.township)),
        ("收到（小时）", super::hour_local(t.meta.created_hour)),
        ("渠道", channel.to_string()),
        ("状态", status_zh(&t.meta.status).to_string()),
        (
            "指派给",
            t.meta
                .assignee
                .clone()
                .unwrap_or_else(|| "未指派".to_string()),
        ),
        ("优先级", t.meta.priority.to_string()),
        ("标签", t.meta.tags.join(", ")),
        (
            "只限县禁毒大队",
            if t.meta.county_only { "是" } else { "否" }.to_string(),
        ),
    ];
    if let Some(clerk) = &t.entered_by {
        meta.push(("录入人（见过回执号）", clerk.clone()));
    }
    if !matches!(t.meta.channel.as_str(), "web" | "api") || t.receipt_exchanged_hour.is_some() {
        meta.push((
            "回执号更换（小时）",
            t.receipt_exchanged_hour
                .map(super::hour_local)
                .unwrap_or_else(|| "未更换".into()),
        ));
    }
    let p = v::TipPage {
        nav: nav(&s, &csrf),
        id: &id,
        public_ref: &t.meta.public_ref,
        meta,
        report,
        attachments,
        assigned_to_me: t.meta.assigned_to.as_deref() == Some(s.actor.id.as_str()),
        priority: t.meta.priority,
        tags: t.meta.tags.join(", "),
        events: t
            .events
            .iter()
            .map(|e| {
                format!(
                    "{} {}：{} → {}",
                    super::hour_local(e.at),
                    e.actor,
                    status_zh(&e.from),
                    status_zh(&e.to)
                )
            })
            .collect(),
        notes: t
            .notes
            .iter()
            .map(|n| (n.author.clone(), n.body.clone()))
            .collect(),
        next_states: t.next_states.iter().map(|s| (*s, status_zh(s))).collect(),
        error: None,
        rewards: Some(rewards),
        messages: t
            .messages
            .iter()
            .map(|m| v::ThreadEntry {
                from_police: m.from == "police",
                who: m.author.clone().unwrap_or_else(|| "举报人".into()),
                hour: super::hour_local(m.at),
                body: m.body.clone(),
            })
            .collect(),
        has_contact: t.meta.channel == "sms" || t.meta.channel == "email",
        related: related.map(|r| vl::RelatedSection {
            items: r
                .items
                .iter()
                .map(|i| {
                    let shared: Vec<String> = i
                        .shared
                        .iter()
                        .map(|s| format!("{} {}", kind_zh(s.kind), s.value))
                        .collect();
                    linked_tip(&i.tip, shared.join("；"))
                })
                .collect(),
            elsewhere: r.elsewhere,
            truncated: r.truncated,
            county_reader: s.actor.in_county_brigade(),
        }),
        case_panel: vl::CasePanel {
            tip_id: &id,
            case: t
                .case
                .as_ref()
                .map(|c| (c.id.clone(), c.public_ref.clone())),
            duplicate_of: original,
            may_mark_duplicate: t.next_states.contains(&"duplicate"),
        },
        route_broken: !t.meta.route_intact,
    };
    // Photos come from this origin only; nothing else loads on the page that shows them.
    let mut r = page(StatusCode::OK, v::tip(&p));
    r.headers_mut().insert(
        actix_web::http::header::CONTENT_SECURITY_POLICY,
        actix_web::http::header::HeaderValue::from_static(TIP_PAGE_CSP),
    );
    r
}

/// The tip page's CSP: images only from our own origin (no `data:`), as the global one
/// otherwise allows for the captcha.
const TIP_PAGE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Characters of a text attachment shown on the tip page; the download has all of it.
const PAGE_TEXT_CHARS: usize = 20_000;

fn attachment_kind_zh(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "JPEG 图片",
        "image/png" => "PNG 图片",
        "image/webp" => "WebP 图片",
        t if t.starts_with("text/plain") => "文本文件",
        _ => "文件",
    }
}

/// A size for people: bytes, KB or MB (1024-based, one decimal).
fn size_text(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} 字节")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// One POST handler for the tip's forms: transition, assign, triage, notes.
pub async fn tip_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let (id, action) = path.into_inner();
    let id = super::key(id);
    let actor = s.actor.clone();
    let idc = id.clone();
    // After a message, back at the conversation that shows it rather than the top of the tip.
    let anchor = if action == "messages" { "#thread" } else { "" };
    let result = db(&state, move |c, st| {
        let get = |k: &str| {
            f.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match action.as_str() {
            "transition" => work::transition(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("to").unwrap_or_default(),
                get("note").as_deref(),
            ),
            "assign" => work::assign(
                c,
                &st.staff.signer,
                &st.staff.route,
                &actor,
                &idc,
                get("username").as_deref(),
            ),
            "triage" => {
                let tags: Option<Vec<String>> = f.get("tags").map(|t| {
                    t.split([',', '，'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                });
                work::set_triage(
                    c,
                    &st.staff.signer,
                    &st.staff.route,
                    &actor,
                    &idc,
                    get("priority").and_then(|p| p.parse().ok()),
                    tags.as_deref(),
                )
            }
            "notes" => work::add_note(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("body").unwrap_or_default(),
            ),
            "messages" => work::post_message(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("body").unwrap_or_default(),
            ),
            "case" => match get("case_ref") {
                None => links::create_case(
                    c,
                    &st.staff.signer,
                    &st.staff.route,
                    &actor,
                    std::slice::from_ref(&idc),
                )
                .map(drop),
                Some(r) => {
                    let case = links::id_by_ref(c, &r)?.unwrap_or_default();
                    links::add_to_case(c, &st.staff.signer, &st.staff.route, &actor, &case, &idc)
                }
            },
            "unlink" => {
                let case = links::case_of(c, &idc)?.map(|r| r.id).unwrap_or_default();
                links::remove_from_case(c, &st.staff.signer, &st.staff.route, &actor, &case, &idc)
            }
            "duplicate" => {
                let of = links::id_by_ref(c, &get("of").unwrap_or_default())?.unwrap_or_default();
                links::mark_duplicate(c, &st.staff.signer, &st.staff.route, &actor, &idc, &of)
            }
            _ => return Err(ApiError::NotFound),
        }
        .map_err(ApiError::from)
    })
    .await;
    match result {
        Ok(()) => see_other(&format!("/staff/tips/{id}{anchor}")),
        Err(e) => {
            let text = match &e {
                ApiError::Conflict(_) => "这条线索当前的状态不能改为所选状态。",
                ApiError::Invalid(m) => match m.as_str() {
                    "no such officer" => "找不到这个用户名，或该账号已停用。",
                    "that person cannot work this tip" => {
                        "此人不能处理这条线索（角色或单位不符）。"
                    }
                    "priority is 0 to 3" => "优先级只能是 0 到 3。",
                    "empty note" => "备注不能为空。",
                    "note too long" => "备注太长（最多 10000 字）。",
                    "a message is 1 to 2,000 characters" => "给举报人的消息须为 1 到 2000 字。",
                    "unknown status" => "没有这个状态。",
                    "a tip cannot be a duplicate of itself" => "一条线索不能是它自己的重复。",
                    _ => "标签最多 10 个，只能包含文字、数字、- 和 _。",
                },
                ApiError::Refused {
                    code: "already_in_case",
                    ..
                } => "这条线索已在另一个案件中；一条线索只能属于一个案件。",
                ApiError::NotFound => "没有这条线索（或案件），或它不属于您的单位。",
                ApiError::Forbidden => "您的角色不能进行这项操作。",
                _ => "服务器出错，操作没有完成。",
            };
            let back = format!("/staff/tips/{id}");
            let status = actix_web::ResponseError::status_code(&e);
            page(
                status,
                v::message_with_link(
                    "操作未完成",
                    Some(&nav(&s, &csrf)),
                    text,
                    Some((&back, "返回这条线索")),
                ),
            )
        }
    }
}

fn new_tip_page(
    s: &Session,
    csrf: &str,
    errors: Vec<(&str, &str)>,
    values: v::NewTipValues,
) -> Markup {
    v::new_tip(&v::NewTipPage {
        nav: nav(s, csrf),
        categories: CATEGORIES.iter().map(|c| (c.code, c.zh)).collect(),
        townships: TOWNSHIPS.iter().map(|c| (c.code, c.zh)).collect(),
        errors,
        values,
    })
}

/// The staff form's message for an intake field error, naming the field as the form labels it.
fn field_error_zh(field: &str, code: &str) -> &'static str {
    match (field, code) {
        ("category", "required") => "请选择类别。",
        ("township", "required") => "请选择乡镇。",
        ("description", "required") => "请填写内容。",
        ("category", _) | ("township", _) => "请从列表中选择。",
        (_, "too_long") => "内容太长。",
        _ => "这一项有误。",
    }
}

pub async fn new_tip_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    if !s.actor.role.reads_tips() {
        return error_page(&ApiError::Forbidden, Some((&s, &csrf)));
    }
    page(
        StatusCode::OK,
        new_tip_page(&s, &csrf, Vec::new(), v::NewTipValues::default()),
    )
}

pub async fn new_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    if !s.actor.role.reads_tips() {
        return error_page(&ApiError::Forbidden, Some((&s, &csrf)));
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let channel = if get("channel") == "box" {
        Channel::Box
    } else {
        Channel::Hotline
    };
    let typed = v::NewTipValues {
        channel: get("channel"),
        category: get("category"),
        township: get("township"),
        description: get("description"),
        location: get("location"),
        county_only: get("county_only") == "on",
    };
    let fields = TipFields {
        category: typed.category.clone(),
        township: typed.township.clone(),
        description: typed.description.clone(),
        location: Some(typed.location.clone()),
        county_only: typed.county_only,
        ..Default::default()
    };
    let stamp = StaffStamp {
        actor: s.actor.audit_name(),
        staff_id: s.actor.id.clone(),
        signer: state.staff.signer.clone(),
    };
    match state.intake.submit_by_staff(channel, fields, stamp).await {
        Ok((Submitted::Created(receipt), id)) => {
            let public_ref = db(&state, move |c, _| {
                use crate::db::schema::tips;
                use diesel::prelude::*;
                tips::table
                    .filter(tips::id.eq(&id))
                    .select(tips::public_ref)
                    .first::<String>(&mut **c)
                    .map_err(|_| ApiError::Internal)
            })
            .await
            .unwrap_or_default();
            page(
                StatusCode::CREATED,
                v::caller_receipt(&nav(&s, &csrf), &receipt.display(), &public_ref),
            )
        }
        Ok(_) => error_page(&ApiError::Internal, Some((&s, &csrf))),
        Err(crate::intake::IntakeError::Invalid(list)) => {
            let errors = list
                .iter()
                .map(|e| (e.field, field_error_zh(e.field, e.code)))
                .collect();
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                new_tip_page(&s, &csrf, errors, typed),
            )
        }
        Err(e) => error_page(&ApiError::from(e), Some((&s, &csrf))),
    }
}

// --- admin and audit ---------------------------------------------------------------------------

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

async fn require_role(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    role: Role,
) -> Result<Session, HttpResponse> {
    require_roles(state, req, &[role]).await
}

/// The signed-in staff member if their role is one of `roles`; anyone else gets a 403 page and
/// an audit entry.
pub(super) async fn require_roles(
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
            township: f
                .get("township")
                .filter(|t| !t.is_empty())
                .map(String::as_str),
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
                created_hour: super::hour_local(a.created_hour),
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
                    super::hour_iso(at).replace(":00:00Z", "时"),
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

fn kind_zh(k: crate::crypto::blind::Kind) -> &'static str {
    use crate::crypto::blind::Kind;
    match k {
        Kind::Phone => "电话",
        Kind::Plate => "车牌",
        Kind::IdNumber => "身份证号",
        Kind::Venue => "场所",
        Kind::Person => "人员",
    }
}

fn linked_tip(t: &links::TipLine, detail: String) -> vl::LinkedTip {
    vl::LinkedTip {
        id: t.id.clone(),
        public_ref: t.public_ref.clone(),
        status: status_zh(&t.status).to_string(),
        township: label(TOWNSHIPS, &t.township),
        received: super::hour_local(t.created_hour),
        detail,
    }
}

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
    let id = super::key(path.into_inner());
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
            super::hour_local(k.created_at)
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
    let id = super::key(path.into_inner());
    let tip = super::key(f.get("tip").cloned().unwrap_or_default());
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
    use super::resource;
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
        )
        .service(resource("/tips", "GET").route(web::get().to(queue)))
        .service(
            resource("/tips/new", "GET, POST")
                .route(web::get().to(new_tip_form))
                .route(web::post().to(new_tip)),
        )
        .service(resource("/tips/{id}", "GET").route(web::get().to(tip)))
        .service(resource("/tips/{id}/{action}", "POST").route(web::post().to(tip_action)))
        .service(resource("/cases/{id}", "GET").route(web::get().to(case)))
        .service(resource("/cases/{id}/unlink", "POST").route(web::post().to(case_unlink)))
        .service(resource("/admin", "GET").route(web::get().to(admin)))
        .service(resource("/admin/users", "POST").route(web::post().to(admin_add_user)))
        .service(resource("/admin/units", "POST").route(web::post().to(admin_add_unit)))
        .service(
            resource("/admin/users/{username}/disable", "POST")
                .route(web::post().to(admin_disable_user)),
        )
        .service(resource("/audit", "GET").route(web::get().to(audit)))
        .service(resource("/accounts/pending", "GET").route(web::get().to(pending_accounts)))
        .service(
            resource("/accounts/{username}/approve", "POST").route(web::post().to(approve_account)),
        )
        .configure(super::reward_pages::configure)
        .configure(super::payout_pages::configure)
        .configure(super::reports::configure_pages);
}
