//! The monthly report over HTTP: the page (`/staff/reports/monthly`), its CSV and XLSX
//! downloads, and `GET /api/v1/staff/reports/monthly`. Staff on the page and the JSON API see
//! exact figures; the files, which leave the system, have small counts suppressed, and every
//! download is audited with the audit head it carries.

use super::api_kit::*;
use super::layout::*;
use super::session::*;
use crate::reports::figures::{Counts, Dim};
use crate::reports::period::Period;
use crate::reports::{self, Report, Scope, export};
use crate::rewards::payouts::yuan;
use crate::staff::{Actor, Role};
use crate::web::errors::ApiError;
use crate::web::{AppState, db, key};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tipline_views::charts::Bar;
use tipline_views::reports as v;

const READERS: &[Role] = &[Role::Supervisor, Role::Admin, Role::Auditor];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    month: Option<String>,
    unit: Option<String>,
    format: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn format_of(f: Option<&str>) -> Result<Format, ApiError> {
    match f {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some(_) => Err(ApiError::Invalid("format is json, csv or xlsx".into())),
    }
}

/// Counts the report a person asked for; `Err` for a bad month, a role that reads no
/// reports, or a unit they may not see.
async fn load(
    state: &web::Data<AppState>,
    who: &Actor,
    q: &ReportQuery,
) -> Result<(Report, String), ApiError> {
    let day = state.config.report_day;
    let period = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Period::parse(m, day)?,
        None => Period::current(day),
    };
    let scope = Scope::of(who)?.narrowed(q.unit.as_deref().filter(|u| !u.is_empty()))?;
    db(state, move |c, _| {
        let r = reports::monthly(c, &scope, &period, day)?;
        let name = match &scope {
            Scope::County => export::scope_label(&scope, None),
            Scope::Unit(u) => {
                let units =
                    crate::triage::routing::list_units(c).map_err(|_| ApiError::Internal)?;
                let n = units.into_iter().find(|x| &x.code == u).map(|x| x.name_zh);
                export::scope_label(&scope, n.as_deref())
            }
        };
        Ok((r, name))
    })
    .await
}

/// The file download, audited; the audit head it carries includes its own entry.
async fn download(
    state: &web::Data<AppState>,
    who: &Actor,
    report: Report,
    scope_name: String,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let name = who.audit_name();
    let file = format!(
        "tipline-report-{}{}",
        report.period.label(),
        report
            .scope
            .unit()
            .map(|u| format!("-{u}"))
            .unwrap_or_default()
    );
    let object = format!(
        "report:{}{}",
        report.period.label(),
        report
            .scope
            .unit()
            .map(|u| format!(":{u}"))
            .unwrap_or_default()
    );
    let (bytes, head) = db(state, move |c, st| {
        let head = reports::record(c, &st.staff.signer, &name, "report.export", &object)?;
        let bytes = match format {
            Format::Xlsx => export::xlsx(&report, &scope_name, &head)?,
            _ => export::csv(&report).into_bytes(),
        };
        Ok((bytes, head))
    })
    .await?;
    let (ext, mime) = match format {
        Format::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => ("csv", "text/csv; charset=utf-8"),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}.{ext}\""),
        ))
        .insert_header((
            "X-Audit-Head",
            format!("{}:{}", head.seq, hex::encode(&head.hash)),
        ))
        .body(bytes))
}

#[derive(Serialize)]
struct Group {
    code: String,
    label: String,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct ReportBody {
    month: String,
    first_day: String,
    last_day: String,
    partial: bool,
    unit: Option<String>,
    totals: Counts,
    townships: Vec<Group>,
    categories: Vec<Group>,
    channels: Vec<Group>,
    trend: Vec<reports::figures::MonthTotal>,
}

fn groups(r: &Report, dim: Dim) -> Vec<Group> {
    r.figures
        .by(dim)
        .into_iter()
        .map(|(code, counts)| Group {
            label: export::label(dim, &code).to_string(),
            code,
            counts,
        })
        .collect()
}

pub async fn api(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, &req).await?;
    require(&state, &who, READERS, "report.read").await?;
    let mut q: ReportQuery = query(&req)?;
    q.unit = q.unit.map(key);
    let format = format_of(q.format.as_deref())?;
    let (r, scope_name) = load(&state, &who, &q).await?;
    if format != Format::Json {
        return download(&state, &who, r, scope_name, format).await;
    }
    Ok(HttpResponse::Ok().json(ReportBody {
        month: r.period.label(),
        first_day: r.period.first_day(),
        last_day: r.period.last_day(),
        partial: r.partial,
        unit: r.scope.unit().map(str::to_string),
        totals: r.figures.total(),
        townships: groups(&r, Dim::Township),
        categories: groups(&r, Dim::Category),
        channels: groups(&r, Dim::Channel),
        trend: r.trend.clone(),
    }))
}

fn line(label: String, c: &Counts) -> v::Line {
    v::Line {
        label,
        values: [
            c.received.to_string(),
            c.verified.to_string(),
            c.unfounded.to_string(),
            c.duplicate.to_string(),
            c.rewards_approved.to_string(),
            yuan(c.approved_fen),
            c.rewards_paid.to_string(),
            yuan(c.paid_fen),
        ],
    }
}

fn tables(r: &Report) -> Vec<v::Table> {
    let total = r.figures.total();
    export::DIMENSIONS
        .iter()
        .map(|(dim, name)| {
            let rows = export::rows(r, *dim);
            let (id, caption) = match dim {
                Dim::Township => ("township", "按乡镇"),
                Dim::Category => ("category", "按类别"),
                Dim::Channel => ("channel", "按渠道"),
            };
            v::Table {
                id,
                caption: caption.to_string(),
                dimension: name,
                bars: rows
                    .iter()
                    .map(|(label, c)| Bar {
                        label: label.clone(),
                        received: c.received,
                        verified: c.verified,
                    })
                    .collect(),
                lines: rows.iter().map(|(l, c)| line(l.clone(), c)).collect(),
                total: line("合计".into(), &total),
            }
        })
        .collect()
}

fn links(q: &ReportQuery, r: &Report) -> (String, String) {
    let mut params = vec![("month", r.period.label())];
    if let Some(u) = r.scope.unit().filter(|_| q.unit.is_some()) {
        params.push(("unit", u.to_string()));
    }
    let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
    (
        format!("/staff/reports/monthly.csv?{qs}"),
        format!("/staff/reports/monthly.xlsx?{qs}"),
    )
}

pub async fn monthly_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_roles(&state, &req, READERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let mut q: ReportQuery = query(&req).unwrap_or_default();
    q.unit = q.unit.filter(|u| !u.is_empty()).map(key);
    let county = matches!(Scope::of(&s.actor), Ok(Scope::County));
    let units = if county {
        db(&state, |c, _| {
            crate::triage::routing::list_units(c).map_err(|_| ApiError::Internal)
        })
        .await
        .map(|u| u.into_iter().map(|u| (u.code, u.name_zh)).collect())
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let month_typed = q.month.clone().unwrap_or_default();
    match load(&state, &s.actor, &q).await {
        Ok((r, scope_name)) => {
            let (csv, xlsx) = links(&q, &r);
            page(
                StatusCode::OK,
                v::monthly(&v::ReportPage {
                    nav: nav(&s, &csrf),
                    month: r.period.label(),
                    error: None,
                    period: format!("{} 至 {}", r.period.first_day(), r.period.last_day()),
                    partial: r.partial,
                    scope: scope_name,
                    units,
                    unit: q.unit.clone().unwrap_or_default(),
                    tables: tables(&r),
                    trend: r
                        .trend
                        .iter()
                        .map(|m| Bar {
                            label: m.month.clone(),
                            received: m.received,
                            verified: m.verified,
                        })
                        .collect(),
                    csv_link: Some(csv),
                    xlsx_link: Some(xlsx),
                }),
            )
        }
        Err(ApiError::Invalid(message)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            v::monthly(&v::ReportPage {
                nav: nav(&s, &csrf),
                month: month_typed,
                error: Some(format!("请按“年-月”填写，例如 2026-11（{message}）")),
                period: String::new(),
                partial: false,
                scope: String::new(),
                units,
                unit: String::new(),
                tables: Vec::new(),
                trend: Vec::new(),
                csv_link: None,
                xlsx_link: None,
            }),
        ),
        Err(e) => error_page(&e, Some((&s, &csrf))),
    }
}

async fn file(state: web::Data<AppState>, req: HttpRequest, format: Format) -> HttpResponse {
    let s = match require_roles(&state, &req, READERS).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = async {
        let mut q: ReportQuery = query(&req)?;
        q.unit = q.unit.filter(|u| !u.is_empty()).map(key);
        let (r, name) = load(&state, &s.actor, &q).await?;
        download(&state, &s.actor, r, name, format).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            let csrf = csrf_of(&state, &s);
            error_page(&e, Some((&s, &csrf)))
        }
    }
}

pub async fn monthly_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    file(state, req, Format::Csv).await
}

pub async fn monthly_xlsx(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    file(state, req, Format::Xlsx).await
}

pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/reports/monthly", "GET").route(web::get().to(monthly_page)))
        .service(resource("/reports/monthly.csv", "GET").route(web::get().to(monthly_csv)))
        .service(resource("/reports/monthly.xlsx", "GET").route(web::get().to(monthly_xlsx)));
}

pub fn configure_api(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/reports/monthly", "GET").route(web::get().to(api)));
}
