//! What the returns pages and the returns API share (issue 20): the domain's desk on the app
//! state, its errors as API errors, the month and format of a query, downloads, and the
//! response for a file of a return (images inline only for the page's `<img>`, PDFs always a
//! download, nothing runs).

use super::errors::ApiError;
use super::{AppState, db};
use crate::db::now_unix;
use crate::intake::FieldError;
use crate::reports::period::Period;
use crate::returns::people;
use crate::returns::{self, Decision, Desk, ReturnError};
use actix_web::HttpResponse;
use actix_web::web;
use serde::Deserialize;

/// Largest JSON body of a return: the files travel base64-encoded inside it.
pub const MAX_RETURN_BODY: usize = 48 * 1024 * 1024;

/// The CSP of a file of a return: nothing loads, nothing runs.
pub const FILE_CSP: &str = "default-src 'none'; img-src 'self'; sandbox";

impl AppState {
    pub fn returns_desk(&self) -> Desk<'_> {
        Desk {
            signer: &self.staff.signer,
            sealer: &self.intake.sealer,
            office: &self.intake.keys.office,
            opener: self.staff.opener.as_ref(),
            report_day: self.config.report_day,
            max_pixels: self.config.max_image_pixels,
        }
    }
}

impl From<ReturnError> for ApiError {
    fn from(e: ReturnError) -> Self {
        use actix_web::http::StatusCode;
        let refused = |status, code, e: &ReturnError| ApiError::Refused {
            status,
            code,
            message: e.to_string(),
        };
        match e {
            ReturnError::NotFound => ApiError::NotFound,
            ReturnError::Forbidden => ApiError::Forbidden,
            ReturnError::AlreadyFiled => refused(StatusCode::CONFLICT, "already_filed", &e),
            ReturnError::NotReviewable => refused(StatusCode::CONFLICT, "not_reviewable", &e),
            ReturnError::BadMonth => refused(StatusCode::BAD_REQUEST, "bad_month", &e),
            ReturnError::Invalid { .. } => refused(StatusCode::BAD_REQUEST, "invalid", &e),
            ReturnError::Table(_) => refused(StatusCode::BAD_REQUEST, "bad_table", &e),
            ReturnError::File(crate::returns::files::FileError::TooLarge) => {
                refused(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", &e)
            }
            ReturnError::File(_) => refused(StatusCode::BAD_REQUEST, "bad_file", &e),
            ReturnError::NoOfficeKey => ApiError::Unavailable,
            ReturnError::Crypto => {
                tracing::error!("a sealed return did not open");
                ApiError::Internal
            }
            ReturnError::Db(d) => {
                tracing::error!(error = %d, "returns database error");
                ApiError::Internal
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    pub month: Option<String>,
    pub format: Option<String>,
}

/// The month asked for, or the last one whose report day has come.
pub fn month_or_default(m: Option<&str>, report_day: u8) -> Result<Period, ApiError> {
    match m.filter(|m| !m.is_empty()) {
        Some(m) => Period::parse(m, report_day).map_err(|_| ReturnError::BadMonth.into()),
        None => Ok(Period::current(report_day).previous(report_day)),
    }
}

pub fn download(content_type: &str, name: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Type", content_type))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .body(bytes)
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8";

/// Whether `format` asks for XLSX (else CSV); anything else is refused.
pub fn wants_xlsx(format: Option<&str>) -> Result<bool, ApiError> {
    match format.unwrap_or("csv") {
        "csv" => Ok(false),
        "xlsx" => Ok(true),
        _ => Err(ApiError::Validation(vec![FieldError {
            field: "format",
            code: "invalid",
        }])),
    }
}

pub fn template_response(xlsx: bool) -> Result<HttpResponse, ApiError> {
    Ok(if xlsx {
        download(
            XLSX,
            "people-template.xlsx",
            people::template_xlsx().map_err(ReturnError::from)?,
        )
    } else {
        download(
            CSV,
            "people-template.csv",
            people::template_csv().into_bytes(),
        )
    })
}

pub async fn export_response(
    state: &web::Data<AppState>,
    who: crate::staff::Actor,
    p: Period,
    xlsx: bool,
) -> Result<HttpResponse, ApiError> {
    let label = p.label();
    let sheet = db(state, move |c, st| {
        Ok(returns::export::sheet(
            c,
            &st.returns_desk(),
            &who,
            &p,
            now_unix(),
        )?)
    })
    .await?;
    Ok(if xlsx {
        download(
            XLSX,
            &format!("returns-{label}.xlsx"),
            returns::export::xlsx(&sheet)?,
        )
    } else {
        download(
            CSV,
            &format!("returns-{label}.csv"),
            returns::export::csv(&sheet).into_bytes(),
        )
    })
}

/// The response for a file of a return. PDFs are always a download; images may be inline
/// for the return page's `<img>`.
pub fn file_response(meta: &returns::FileMeta, bytes: Vec<u8>, inline: bool) -> HttpResponse {
    let ext = match meta.content_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    let inline = inline && meta.content_type.starts_with("image/");
    let disposition = if inline {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"return-file-{}.{ext}\"", meta.id)
    };
    HttpResponse::Ok()
        .insert_header(("Content-Type", meta.content_type.as_str()))
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", FILE_CSP))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"))
        .body(bytes)
}

pub fn decision(s: &str) -> Result<Decision, ApiError> {
    match s {
        "accept" => Ok(Decision::Accept),
        "send_back" => Ok(Decision::SendBack),
        _ => Err(ApiError::Validation(vec![FieldError {
            field: "decision",
            code: "invalid",
        }])),
    }
}
