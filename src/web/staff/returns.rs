//! The staff pages of township returns (issue 20) under /staff/returns: the liaison's list and
//! form (multipart, with the scan, photos and the people table as a file), the county's page
//! of who sent on time, late or not at all, one return with its review, and the people table.
//! Role, township and audit are checked in `crate::returns`; no JavaScript anywhere.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::api_kit::query;
use super::forms::posted_by;
use super::layout::{error_page, nav, page, see_other};
use super::session::{csrf_of, require_roles};
use crate::db::now_unix;
use crate::reports::period::Period;
use crate::returns::deadlines::State;
use crate::returns::files::{FileError, FileKind};
use crate::returns::people::{self, Person, TableError};
use crate::returns::{self, Filing, ReturnError, Review, Upload};
use crate::rewards::calendar;
use crate::staff::Role;
use crate::staff::auth::Session;
use crate::web::errors::ApiError;
use crate::web::returns_kit::{self as api, MonthQuery};
use crate::web::{AppState, db, hour_local, key, resource};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use tipline_views::returns as v;

/// Typed rows of the people table on the form.
const FORM_ROWS: usize = 8;
/// Largest text part of the form.
const MAX_TEXT_PART: usize = 64 * 1024;

/// What a refusal says on the page, in Chinese; `None` for failures that are not the user's.
fn zh(e: &ReturnError) -> Option<String> {
    Some(match e {
        ReturnError::BadMonth => "月份不对：只能报送本月或前12个月的月报。".into(),
        ReturnError::Invalid { field, .. } => match *field {
            "progress" => "请填写阶段性进展（最多2万字）。".into(),
            "summary" => "请填写工作总结（最多2万字）。".into(),
            "ledger" => "基础台帐人数须是0到1000000之间的整数。".into(),
            "comment" => "退回时请填写意见（最多2万字）。".into(),
            _ => "输入有误。".into(),
        },
        ReturnError::AlreadyFiled => "这个月的月报已经报送；只有被县禁毒办退回后才能更正。".into(),
        ReturnError::NotReviewable => "这份月报已经审核过。".into(),
        ReturnError::Table(t) => match t {
            TableError::NotTemplate => format!(
                "上传的摸排表不是县禁毒办的模板（第一行应为：{}）。",
                people::HEADERS.join("、")
            ),
            TableError::NoName(n) => format!("摸排表第{n}行缺少姓名。"),
            TableError::TooLong(n) => format!("摸排表第{n}行有单元格超过500字。"),
            TableError::TooMany => "摸排表超过2000行。".into(),
            TableError::Unreadable => "摸排表无法读取：请上传 XLSX 或 UTF-8 编码的 CSV。".into(),
        },
        ReturnError::File(f) => match f {
            FileError::TooLarge => "文件超过10MB。".into(),
            FileError::Unsupported => {
                "扫描件须是图片（JPEG、PNG、WebP）或 PDF，照片须是 JPEG、PNG 或 WebP 图片。".into()
            }
            FileError::BadImage => "有一张图片无法读取。".into(),
            FileError::TooMany => "每份月报最多一份扫描件和12张照片。".into(),
        },
        _ => return None,
    })
}

fn review_zh(r: Review) -> &'static str {
    r.zh()
}

/// The months a liaison may file for, the one due next selected.
fn months(report_day: u8, selected: Option<&str>) -> Vec<(String, String, bool)> {
    let today = calendar::today();
    let current = Period::containing(today, report_day);
    // On the report day itself the month due is the one that just ended.
    let due = if current.first == today {
        current.previous(report_day)
    } else {
        current
    };
    let pick = selected.map(str::to_string).unwrap_or_else(|| due.label());
    current
        .trailing(returns::MONTHS_BACK + 1, report_day)
        .into_iter()
        .rev()
        .map(|p| {
            let label = format!(
                "{}（{} 至 {}，{} 报送）",
                p.label(),
                p.first_day(),
                p.last_day(),
                calendar::format(p.end)
            );
            let sel = p.label() == pick;
            (p.label(), label, sel)
        })
        .collect()
}

fn empty_form(report_day: u8) -> v::ReturnForm {
    v::ReturnForm {
        months: months(report_day, None),
        progress: String::new(),
        summary: String::new(),
        ledger: returns::ledger::current()
            .categories
            .iter()
            .map(|c| v::LedgerField {
                code: c.code.clone(),
                label: c.zh.clone(),
                value: "0".into(),
            })
            .collect(),
        people: vec![Default::default(); FORM_ROWS],
        correcting: false,
    }
}

/// The multipart form as sent: text parts by name, file parts (non-empty) in order.
#[derive(Default)]
struct Parts {
    text: HashMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
}

impl Parts {
    fn get(&self, k: &str) -> String {
        self.text.get(k).cloned().unwrap_or_default()
    }
}

async fn read_parts(req: &HttpRequest, payload: web::Payload) -> Result<Parts, ApiError> {
    let mut mp = actix_multipart::Multipart::new(req.headers(), payload);
    let mut parts = Parts::default();
    let mut total = 0usize;
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(|_| ApiError::MalformedMultipart)?;
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .is_some();
        let cap = if is_file {
            crate::returns::files::MAX_FILE_BYTES + 1
        } else {
            MAX_TEXT_PART
        };
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| ApiError::MalformedMultipart)?;
            total += chunk.len();
            if total > api::MAX_RETURN_BODY || buf.len() + chunk.len() > cap {
                return Err(ApiError::PayloadTooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        if is_file {
            if !buf.is_empty() {
                parts.files.push((name, buf));
            }
        } else {
            let text = String::from_utf8(buf).map_err(|_| ApiError::InvalidUtf8)?;
            if text.contains('\0') {
                return Err(ApiError::Invalid("NUL in text".into()));
            }
            parts.text.insert(name, text);
        }
    }
    Ok(parts)
}

/// The form's values, to show again after a refusal (files are not kept).
fn form_again(parts: &Parts, report_day: u8, correcting: bool) -> v::ReturnForm {
    let mut f = empty_form(report_day);
    f.months = months(report_day, Some(&parts.get("month")));
    f.progress = parts.get("progress");
    f.summary = parts.get("summary");
    for l in &mut f.ledger {
        l.value = parts.get(&format!("ledger.{}", l.code));
    }
    f.people = typed_rows(parts)
        .into_iter()
        .map(|p| p.cells().map(str::to_string))
        .collect();
    f.people
        .resize(FORM_ROWS.max(f.people.len()), Default::default());
    f.correcting = correcting;
    f
}

fn typed_rows(parts: &Parts) -> Vec<Person> {
    (0..people::MAX_ROWS)
        .take_while(|i| parts.text.contains_key(&format!("p{i}.name")))
        .map(|i| {
            let g = |c: &str| parts.get(&format!("p{i}.{c}"));
            Person {
                name: g("name"),
                id_number: g("id_number"),
                address: g("address"),
                whereabouts: g("whereabouts"),
                screening: g("screening"),
                remarks: g("remarks"),
            }
        })
        .collect()
}

/// The filing the form describes, or what is wrong with it (in Chinese).
fn filing(parts: &Parts) -> Result<Filing, String> {
    let mut ledger = BTreeMap::new();
    for c in &returns::ledger::current().categories {
        let raw = parts.get(&format!("ledger.{}", c.code));
        let raw = raw.trim();
        let n = if raw.is_empty() {
            0
        } else {
            raw.parse::<i64>()
                .map_err(|_| format!("“{}”须是0到1000000之间的整数。", c.zh))?
        };
        ledger.insert(c.code.clone(), n);
    }
    let mut uploads = Vec::new();
    let mut people_file = None;
    for (name, bytes) in &parts.files {
        match name.as_str() {
            "scan" => uploads.push(Upload {
                kind: FileKind::Scan,
                bytes: bytes.clone(),
            }),
            "photo" => uploads.push(Upload {
                kind: FileKind::Photo,
                bytes: bytes.clone(),
            }),
            "people_file" => people_file = Some(bytes),
            _ => {}
        }
    }
    let people = match people_file {
        Some(b) => {
            people::parse_upload(b).map_err(|e| zh(&ReturnError::Table(e)).unwrap_or_default())?
        }
        None => typed_rows(parts),
    };
    Ok(Filing {
        month: parts.get("month"),
        progress: parts.get("progress"),
        summary: parts.get("summary"),
        ledger,
        people,
        uploads,
    })
}

async fn liaison_page(
    state: &web::Data<AppState>,
    s: &Session,
    form: Option<v::ReturnForm>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let actor = s.actor.clone();
    let own = db(state, move |c, st| {
        Ok(returns::own(c, &st.returns_desk(), &actor)?)
    })
    .await;
    let (township, rows) = match own {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((s, &csrf))),
    };
    let p = v::LiaisonPage {
        nav: nav(s, &csrf),
        township: returns::township_zh(&township).to_string(),
        rows: rows
            .into_iter()
            .map(|r| v::OwnRow {
                id: r.id,
                month: r.month,
                version: r.version,
                sent: format!("{}时", hour_local(r.sent_hour)),
                status: review_zh(r.status).into(),
            })
            .collect(),
        form: form.unwrap_or_else(|| empty_form(state.config.report_day)),
        error,
    };
    page(status, v::liaison(&p))
}

/// GET /staff/returns: the liaison's page; the county goes to the status page.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if s.actor.role != Role::Liaison && s.actor.in_county_brigade() {
        return see_other("/staff/returns/status");
    }
    liaison_page(&state, &s, None, None, StatusCode::OK).await
}

/// POST /staff/returns: a liaison files (or corrects) the month's return.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let s = match require_roles(&state, &req, &[Role::Liaison]).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let parts = match read_parts(&req, payload).await {
        Ok(p) => p,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    if !crate::staff::auth::csrf_ok(&state.staff.csrf_key, &s, &parts.get("csrf")) {
        return page(
            StatusCode::FORBIDDEN,
            tipline_views::staff::message(
                "表单已失效",
                None,
                "表单已过期或来源不明，请返回重新操作。",
            ),
        );
    }
    let day = state.config.report_day;
    let f = match filing(&parts) {
        Ok(f) => f,
        Err(msg) => {
            let form = form_again(&parts, day, false);
            return liaison_page(&state, &s, Some(form), Some(msg), StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = s.actor.clone();
    let result = db(&state, move |c, st| {
        Ok(returns::file(c, &st.returns_desk(), &actor, f, now_unix()))
    })
    .await;
    match result {
        Ok(Ok(filed)) => see_other(&format!("/staff/returns/{}?filed=1", filed.id)),
        Ok(Err(e)) => match zh(&e) {
            Some(msg) => {
                let status = actix_web::ResponseError::status_code(&ApiError::from(e));
                let form = form_again(&parts, day, false);
                liaison_page(&state, &s, Some(form), Some(msg), status).await
            }
            None => error_page(&ApiError::from(e), Some((&s, &csrf))),
        },
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

/// GET /staff/returns/status: every township for the month (county brigade).
pub async fn status(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let day = state.config.report_day;
    let q: MonthQuery = query(&req).unwrap_or_default();
    let p = match api::month_or_default(q.month.as_deref(), day) {
        Ok(p) => p,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let actor = s.actor.clone();
    let data = db(&state, move |c, st| {
        returns::require_county(c, &st.staff.signer, &actor, "return.status")?;
        let now = now_unix();
        Ok((
            returns::deadlines::month_status(c, &p, now)?,
            returns::deadlines::history(c, &p, day, now)?,
            returns::cover(c)?,
        ))
    })
    .await;
    let (lines, history, cover) = match data {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let view = v::StatusPage {
        nav: nav(&s, &csrf),
        month: p.label(),
        due_day: calendar::format(p.end),
        rows: lines
            .into_iter()
            .map(|l| v::StatusRow {
                name: l.name,
                state: l.state.zh().into(),
                flagged: matches!(l.state, State::Late | State::Missing),
                sent: l
                    .sent_hour
                    .map(|h| format!("{}时", hour_local(h)))
                    .unwrap_or_default(),
                review: l
                    .review
                    .map(|r| format!("{}（第{}版）", r.zh(), l.version.unwrap_or(1)))
                    .unwrap_or_default(),
                link: l.return_id.map(|id| format!("/staff/returns/{id}")),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|h| v::HistoryRow {
                month: h.month,
                submitted: h.submitted,
                late: h.late,
                missing: h.missing,
                due: h.due,
            })
            .collect(),
        cover: cover
            .into_iter()
            .map(|c| (c.name, c.liaisons.join("、")))
            .collect(),
    };
    page(StatusCode::OK, v::status(&view))
}

/// GET /staff/returns/template: the empty people table.
pub async fn template(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: MonthQuery = query(&req).unwrap_or_default();
    let actor = s.actor.clone();
    let allowed = db(&state, move |c, st| {
        returns::viewer(c, &st.staff.signer, &actor, "return.template")?;
        Ok(())
    })
    .await;
    let result = match allowed {
        Ok(()) => api::wants_xlsx(q.format.as_deref()).and_then(api::template_response),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error_page(&e, Some((&s, &csrf))))
}

/// GET /staff/returns/export: the month's ledger figures (county brigade; audited).
pub async fn export(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: MonthQuery = query(&req).unwrap_or_default();
    let result = async {
        let xlsx = api::wants_xlsx(q.format.as_deref())?;
        let p = api::month_or_default(q.month.as_deref(), state.config.report_day)?;
        api::export_response(&state, s.actor.clone(), p, xlsx).await
    }
    .await;
    result.unwrap_or_else(|e| error_page(&e, Some((&s, &csrf))))
}

async fn return_page(
    state: &web::Data<AppState>,
    s: &Session,
    id: String,
    notice: Option<String>,
    form: Option<(v::ReturnForm, String)>,
    status: StatusCode,
) -> HttpResponse {
    let csrf = csrf_of(state, s);
    let actor = s.actor.clone();
    let r = db(state, move |c, st| {
        Ok(returns::read(c, &st.returns_desk(), &actor, &id)?)
    })
    .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => return error_page(&e, Some((s, &csrf))),
    };
    let is_liaison = s.actor.role == Role::Liaison;
    let county = !is_liaison && s.actor.in_county_brigade();
    let latest = r.versions.last().is_some_and(|x| x.id == r.id);
    let l = returns::ledger::current();
    let (correction, error) = match form {
        Some((f, e)) => (Some(f), Some(e)),
        None if is_liaison && latest && r.status == Review::SentBack => {
            let mut f = empty_form(state.config.report_day);
            f.months = months(state.config.report_day, Some(&r.month));
            f.progress = r.content.progress.clone();
            f.summary = r.content.summary.clone();
            for field in &mut f.ledger {
                field.value = r
                    .content
                    .ledger
                    .get(&field.code)
                    .copied()
                    .unwrap_or(0)
                    .to_string();
            }
            f.correcting = true;
            (Some(f), None)
        }
        None => (None, None),
    };
    let first = r.versions.first().map_or(r.sent_hour, |x| x.sent_hour);
    let view = v::ReturnPage {
        nav: nav(s, &csrf),
        id: r.id.clone(),
        township: returns::township_zh(&r.township).to_string(),
        month: r.month.clone(),
        version: r.version,
        sent: format!("{}时", hour_local(r.sent_hour)),
        state: if r.late {
            format!("逾期报送（首次报送：{}时）", hour_local(first))
        } else {
            "按时报送".into()
        },
        review: r.status.zh().into(),
        progress: r.content.progress.clone(),
        summary: r.content.summary.clone(),
        ledger: r
            .content
            .ledger
            .iter()
            .map(|(code, n)| (l.label(code).to_string(), *n))
            .collect(),
        people_rows: r.content.people_rows,
        files: r
            .content
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| v::FileLink {
                href: format!("/staff/returns/{}/files/{}", r.id, f.id),
                label: match f.kind {
                    FileKind::Scan if f.content_type == crate::returns::files::PDF => {
                        "签字盖章扫描件（PDF）".into()
                    }
                    FileKind::Scan => "签字盖章扫描件".into(),
                    FileKind::Photo => format!("活动照片 {}", i + 1),
                },
                image: f.content_type.starts_with("image/"),
            })
            .collect(),
        comment: r.comment.clone(),
        versions: r
            .versions
            .iter()
            .map(|x| {
                (
                    x.id.clone(),
                    x.version,
                    format!("{}时", hour_local(x.sent_hour)),
                    x.status.zh().to_string(),
                    x.id == r.id,
                )
            })
            .collect(),
        can_review: county && r.status == Review::Submitted,
        can_open_people: county,
        correction,
        notice: error.or(notice),
    };
    page(status, v::return_page(&view))
}

/// GET /staff/returns/{id}
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let filed = req.query_string().split('&').any(|kv| kv == "filed=1");
    let notice = filed.then(|| "已报送。县禁毒办审核后，结果会显示在这里。".to_string());
    return_page(
        &state,
        &s,
        key(path.into_inner()),
        notice,
        None,
        StatusCode::OK,
    )
    .await
}

/// GET /staff/returns/{id}/people: the people table (county brigade; audited), or its download.
pub async fn people_table(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: MonthQuery = query(&req).unwrap_or_default();
    let format = q.format.unwrap_or_else(|| "html".into());
    if !["html", "csv", "xlsx"].contains(&format.as_str()) {
        return error_page(&ApiError::Invalid("format".into()), Some((&s, &csrf)));
    }
    let id = key(path.into_inner());
    let action = if format == "html" {
        "return.people.read"
    } else {
        "return.people.export"
    };
    let actor = s.actor.clone();
    let rid = id.clone();
    let r = db(&state, move |c, st| {
        Ok(returns::people_table(
            c,
            &st.returns_desk(),
            &actor,
            &rid,
            action,
        )?)
    })
    .await;
    let (township, month, rows) = match r {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let name = format!("people-{township}-{month}");
    let download = |ct: &str, ext: &str, bytes: Vec<u8>| {
        HttpResponse::Ok()
            .insert_header(("Content-Type", ct))
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.{ext}\""),
            ))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("Cache-Control", "no-store"))
            .body(bytes)
    };
    match format.as_str() {
        "csv" => download(api::CSV, "csv", people::rows_csv(&rows).into_bytes()),
        "xlsx" => match people::rows_xlsx(&rows) {
            Ok(b) => download(api::XLSX, "xlsx", b),
            Err(_) => error_page(&ApiError::Internal, Some((&s, &csrf))),
        },
        _ => {
            let view = v::PeoplePage {
                nav: nav(&s, &csrf),
                id,
                township: returns::township_zh(&township).to_string(),
                month,
                rows: rows.iter().map(|p| p.cells().map(str::to_string)).collect(),
            };
            let mut resp = page(StatusCode::OK, v::people(&view));
            resp.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            resp
        }
    }
}

/// GET /staff/returns/{id}/files/{file}: an image inline (for the page), or a download.
pub async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let s = match require_roles(&state, &req, &Role::ALL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let download = req.query_string().split('&').any(|kv| kv == "download=1");
    let (id, file) = path.into_inner();
    let (id, file) = (key(id), key(file));
    let actor = s.actor.clone();
    let r = db(&state, move |c, st| {
        let (m, b) = returns::file_bytes(c, &st.returns_desk(), &actor, &id, &file)?;
        Ok((m, b.to_vec()))
    })
    .await;
    match r {
        Ok((meta, bytes)) => api::file_response(&meta, bytes, !download),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

/// POST /staff/returns/{id}/review: accept or send back (county brigade).
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted_by(&state, &req, &body, &Role::ALL).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let id = key(path.into_inner());
    let d = match api::decision(f.get("decision").map(String::as_str).unwrap_or_default()) {
        Ok(d) => d,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let comment = f.get("comment").cloned().unwrap_or_default();
    let actor = s.actor.clone();
    let rid = id.clone();
    let result = db(&state, move |c, st| {
        Ok(returns::review(
            c,
            &st.returns_desk(),
            &actor,
            &rid,
            d,
            &comment,
        ))
    })
    .await;
    match result {
        Ok(Ok(())) => {
            let done = match d {
                returns::Decision::Accept => "已通过。",
                returns::Decision::SendBack => "已退回，联络员会看到您的意见。",
            };
            return_page(&state, &s, id, Some(done.into()), None, StatusCode::OK).await
        }
        Ok(Err(e)) => match zh(&e) {
            Some(msg) => {
                let status = actix_web::ResponseError::status_code(&ApiError::from(e));
                return_page(&state, &s, id, Some(msg), None, status).await
            }
            None => error_page(&ApiError::from(e), Some((&s, &csrf))),
        },
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/returns", "GET, POST")
            .route(web::get().to(home))
            .route(web::post().to(submit)),
    )
    .service(resource("/returns/status", "GET").route(web::get().to(status)))
    .service(resource("/returns/template", "GET").route(web::get().to(template)))
    .service(resource("/returns/export", "GET").route(web::get().to(export)))
    .service(resource("/returns/{id}", "GET").route(web::get().to(show)))
    .service(resource("/returns/{id}/people", "GET").route(web::get().to(people_table)))
    .service(resource("/returns/{id}/files/{file}", "GET").route(web::get().to(file)))
    .service(resource("/returns/{id}/review", "POST").route(web::post().to(review)));
}
