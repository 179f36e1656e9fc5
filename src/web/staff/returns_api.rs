//! The staff API of township returns (issue 20) under /api/v1/staff/returns. Role, township
//! and audit are checked in `crate::returns`; this file reads requests and shapes answers.
//! A liaison files and reads their own township's returns (another township's: 404); the
//! county brigade sees every township, reviews, exports and opens the people tables.

use super::api_kit::{actor, json, query};
use crate::db::now_unix;
use crate::intake::FieldError;
use crate::returns::files::FileKind;
use crate::returns::people::{self, Person};
use crate::returns::{self, Filing, ReturnError, Upload};
use crate::web::errors::ApiError;
use crate::web::returns_kit::{
    CSV, MAX_RETURN_BODY, MonthQuery, XLSX, decision, download, export_response, file_response,
    month_or_default, template_response, wants_xlsx,
};
use crate::web::{AppState, db, key, resource};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBody {
    kind: String,
    /// The file's bytes, base64 (standard alphabet).
    data: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    month: String,
    progress: String,
    summary: String,
    #[serde(default)]
    ledger: BTreeMap<String, i64>,
    #[serde(default)]
    people: Vec<Person>,
    /// The people table as a CSV or XLSX file in the office's template, base64; replaces
    /// `people` when given.
    #[serde(default)]
    people_file: Option<String>,
    #[serde(default)]
    files: Vec<FileBody>,
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| {
            ApiError::Validation(vec![FieldError {
                field,
                code: "invalid",
            }])
        })
}

/// POST /returns: a liaison files the month's return, or corrects one that was sent back.
pub async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let raw = crate::web::submission::read_body(payload, MAX_RETURN_BODY).await?;
    if raw.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) || raw.contains(&0) {
        return Err(ApiError::Invalid(
            "text must not contain NUL characters".into(),
        ));
    }
    let b: ReturnBody = crate::web::submission::json_object(&raw)?;
    let people = match &b.people_file {
        Some(f) => people::parse_upload(&b64("people_file", f)?).map_err(ReturnError::from)?,
        None => b.people,
    };
    let mut uploads = Vec::with_capacity(b.files.len());
    for f in &b.files {
        let kind = FileKind::parse(&f.kind).ok_or(ApiError::Validation(vec![FieldError {
            field: "files",
            code: "invalid",
        }]))?;
        uploads.push(Upload {
            kind,
            bytes: b64("files", &f.data)?,
        });
    }
    let filing = Filing {
        month: b.month,
        progress: b.progress,
        summary: b.summary,
        ledger: b.ledger,
        people,
        uploads,
    };
    let filed = db(&state, move |c, st| {
        Ok(returns::file(
            c,
            &st.returns_desk(),
            &who,
            filing,
            now_unix(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Created().json(filed))
}

/// GET /returns: a liaison's own township and its returns (metadata).
pub async fn own(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let (township, items) = db(&state, move |c, st| {
        Ok(returns::own(c, &st.returns_desk(), &who)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "township": township,
        "township_name": returns::township_zh(&township),
        "items": items,
    })))
}

/// GET /returns/status: every township for the month, and twelve months of history.
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let q: MonthQuery = query(&req)?;
    let day = state.config.report_day;
    let p = month_or_default(q.month.as_deref(), day)?;
    let (lines, history) = db(&state, move |c, st| {
        returns::require_county(c, &st.staff.signer, &who, "return.status")?;
        let now = now_unix();
        let lines = returns::deadlines::month_status(c, &p, now)?;
        let history = returns::deadlines::history(c, &p, day, now)?;
        Ok((lines, history))
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "month": p.label(),
        "due_day": crate::rewards::calendar::format(p.end),
        "townships": lines,
        "history": history,
    })))
}

/// GET /returns/liaisons: which townships have a liaison and which do not.
pub async fn liaisons(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let items = db(&state, move |c, st| {
        returns::require_county(c, &st.staff.signer, &who, "return.liaisons")?;
        Ok(returns::cover(c)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// GET /returns/template: the office's empty people-table template.
pub async fn template(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let q: MonthQuery = query(&req)?;
    let xlsx = wants_xlsx(q.format.as_deref())?;
    db(&state, move |c, st| {
        returns::viewer(c, &st.staff.signer, &who, "return.template")?;
        Ok(())
    })
    .await?;
    template_response(xlsx)
}

/// GET /returns/export: the month's ledger figures of every township.
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let q: MonthQuery = query(&req)?;
    let xlsx = wants_xlsx(q.format.as_deref())?;
    let p = month_or_default(q.month.as_deref(), state.config.report_day)?;
    export_response(&state, who, p, xlsx).await
}

/// GET /returns/{id}: one version, with the comment and the list of versions.
pub async fn read(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let id = key(path.into_inner());
    let v = db(&state, move |c, st| {
        Ok(returns::read(c, &st.returns_desk(), &who, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

/// GET /returns/{id}/people: the people table, county brigade only, audited. JSON is a read
/// (`return.people.read`); CSV or XLSX a download (`return.people.export`).
pub async fn people_table(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let q: MonthQuery = query(&req)?;
    let format = q.format.unwrap_or_else(|| "json".into());
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(ApiError::Validation(vec![FieldError {
            field: "format",
            code: "invalid",
        }]));
    }
    let id = key(path.into_inner());
    let action = if format == "json" {
        "return.people.read"
    } else {
        "return.people.export"
    };
    let (township, month, rows) = db(&state, move |c, st| {
        Ok(returns::people_table(
            c,
            &st.returns_desk(),
            &who,
            &id,
            action,
        )?)
    })
    .await?;
    let name = format!("people-{township}-{month}");
    Ok(match format.as_str() {
        "csv" => download(
            CSV,
            &format!("{name}.csv"),
            people::rows_csv(&rows).into_bytes(),
        ),
        "xlsx" => download(
            XLSX,
            &format!("{name}.xlsx"),
            people::rows_xlsx(&rows).map_err(ReturnError::from)?,
        ),
        _ => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"township": township, "month": month, "rows": rows})),
    })
}

/// GET /returns/{id}/files/{file}: a file of that version, audited.
pub async fn file_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let (id, file) = path.into_inner();
    let (id, file) = (key(id), key(file));
    let (meta, bytes) = db(&state, move |c, st| {
        let (m, b) = returns::file_bytes(c, &st.returns_desk(), &who, &id, &file)?;
        Ok((m, b.to_vec()))
    })
    .await?;
    Ok(file_response(&meta, bytes, false))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    decision: String,
    #[serde(default)]
    comment: String,
}

/// POST /returns/{id}/review: accept, or send back with a comment.
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    let b: ReviewBody = json(payload).await?;
    let d = decision(&b.decision)?;
    let id = key(path.into_inner());
    db(&state, move |c, st| {
        Ok(returns::review(
            c,
            &st.returns_desk(),
            &who,
            &id,
            d,
            &b.comment,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/returns", "GET, POST")
            .route(web::get().to(own))
            .route(web::post().to(file)),
    )
    .service(resource("/returns/status", "GET").route(web::get().to(status)))
    .service(resource("/returns/liaisons", "GET").route(web::get().to(liaisons)))
    .service(resource("/returns/template", "GET").route(web::get().to(template)))
    .service(resource("/returns/export", "GET").route(web::get().to(export)))
    .service(resource("/returns/{id}", "GET").route(web::get().to(read)))
    .service(resource("/returns/{id}/people", "GET").route(web::get().to(people_table)))
    .service(resource("/returns/{id}/files/{file}", "GET").route(web::get().to(file_download)))
    .service(resource("/returns/{id}/review", "POST").route(web::post().to(review)));
}
