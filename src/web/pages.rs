//! The HTML pages: report form, receipt, status, captcha media, stylesheet.

use super::errors::ApiError;
use super::submission::{Hold, RetryFrom, Submission, ensure_hold, from_multipart, submit};
use super::{AppState, lang_of, office_view, rate_limit};
use crate::crypto::random_bytes;
use crate::crypto::receipt::Receipt;
use crate::intake::catalog::{CATEGORIES, TOWNSHIPS};
use crate::intake::held::{self, HeldEntry};
use crate::intake::{Channel, Submitted};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use std::collections::HashMap;
use tipline_views::maud::Markup;
use tipline_views::{
    self as views, Choice, FieldErr, FormValues, Lang, ReportForm, StatusOutcome, StatusView,
};

fn html(status: StatusCode, m: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(m.into_string())
}

fn choices(lang: Lang, list: &'static [crate::intake::catalog::Choice]) -> Vec<Choice> {
    list.iter()
        .map(|c| Choice {
            code: c.code,
            label: if lang == Lang::Zh { c.zh } else { c.en },
        })
        .collect()
}

fn new_form_token() -> String {
    random_bytes::<16>().map(hex::encode).unwrap_or_default()
}

/// What a form page shows besides its fields.
struct FormState {
    errors: Vec<FieldErr>,
    general: Option<&'static str>,
    form_token: String,
    /// Files that were chosen but not kept: the page asks for them again.
    files_again: usize,
    /// Files held for the form's token: listed, each with a box to drop it.
    held: Vec<HeldEntry>,
}

fn render_form(
    state: &AppState,
    lang: Lang,
    values: FormValues,
    fs: FormState,
    status: StatusCode,
) -> HttpResponse {
    let FormState {
        errors,
        general,
        form_token,
        files_again,
        held,
    } = fs;
    let captcha_id = if state.captcha.enabled {
        state.captcha.issue(crate::db::now_unix())
    } else {
        None
    };
    let form = ReportForm {
        lang,
        categories: choices(lang, CATEGORIES),
        townships: choices(lang, TOWNSHIPS),
        values,
        errors,
        general_error: general,
        captcha_id,
        form_token,
        files_again,
        held: held
            .iter()
            .enumerate()
            .map(|(i, h)| views::HeldFile {
                id: h.id.clone(),
                photo: h.is_image(),
                n: i + 1,
            })
            .collect(),
        office: office_view(&state.config, lang),
    };
    html(status, views::report_form(&form))
}

pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    render_form(
        &state,
        lang_of(&req),
        FormValues::default(),
        FormState {
            errors: Vec::new(),
            general: None,
            form_token: new_form_token(),
            files_again: 0,
            held: Vec::new(),
        },
        StatusCode::OK,
    )
}

pub async fn submit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let lang = lang_of(&req);
    let t = lang.t();
    if let Err(e) = rate_limit(&state, &req) {
        return render_form(
            &state,
            lang,
            FormValues::default(),
            FormState {
                errors: Vec::new(),
                general: Some(t.general_error(e.code())),
                form_token: new_form_token(),
                files_again: 0,
                held: Vec::new(),
            },
            e.status_code(),
        )
        .customize_retry(&e);
    }
    // The "new captcha" button posts the form here with `refresh=1` in the URL, so it is known
    // before the body is read.
    let refresh = req.query_string().split('&').any(|kv| kv == "refresh=1");
    let (sub, parsed) = from_multipart(
        &state,
        req.headers(),
        payload,
        RetryFrom::FormField,
        refresh,
    )
    .await;
    let values = FormValues {
        category: sub.fields.category.clone(),
        township: sub.fields.township.clone(),
        description: sub.fields.description.clone(),
        location: sub.fields.location.clone().unwrap_or_default(),
        occurred_at: sub.fields.occurred_at.clone().unwrap_or_default(),
        people: sub.fields.people.clone().unwrap_or_default(),
        vehicles: sub.fields.vehicles.clone().unwrap_or_default(),
        county_only: sub.fields.county_only,
    };
    let token = sub.form_token.clone().filter(|t| !t.is_empty());
    let files_seen = sub.files_seen;
    // The files held for this form's token (issue 16): looked up here when no file part did.
    let mut sub = sub;
    ensure_hold(&state, &mut sub).await;
    settle_drops(&state, &mut sub).await;
    if let Some(hold) = sub.hold.take_if(|h| h.holding) {
        // Refused (or the new-captcha button): the files just sealed are held for the token,
        // and the form comes back listing them.
        let files: Vec<_> = sub
            .attachment_keys
            .drain(..)
            .zip(sub.attachments.drain(..))
            .collect();
        let (refusal, held_now, kept) = hold_files(&state, hold, files).await;
        drop(sub);
        let refusal = refusal.or(parsed.err());
        let errors = refusal.as_ref().map(field_errors).unwrap_or_default();
        let general = refusal
            .as_ref()
            .filter(|_| errors.is_empty())
            .map(|e| t.general_error(e.code()));
        let status = refusal
            .as_ref()
            .map_or(StatusCode::OK, ResponseError::status_code);
        let page = render_form(
            &state,
            lang,
            values,
            FormState {
                errors,
                general,
                form_token: token.unwrap_or_else(new_form_token),
                files_again: files_seen.saturating_sub(kept),
                held: held_now,
            },
            status,
        );
        return match &refusal {
            Some(e) => page.customize_retry(e),
            None => page,
        };
    }
    let held_now: Vec<HeldEntry> = sub
        .hold
        .as_ref()
        .map(|h| h.entries.clone())
        .unwrap_or_default();
    let already_held = sub.hold.as_ref().map_or(0, |h| h.already_held);
    if refresh && parsed.is_ok() {
        return render_form(
            &state,
            lang,
            values,
            FormState {
                errors: Vec::new(),
                general: None,
                form_token: token.unwrap_or_else(new_form_token),
                files_again: files_seen.saturating_sub(already_held),
                held: held_now,
            },
            StatusCode::OK,
        );
    }
    let result = match parsed {
        Ok(()) => submit(&state, Channel::Web, sub).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(outcome) => {
            state.metrics.count_submission(&outcome);
            let replayed = matches!(outcome, Submitted::Replayed(_));
            html(
                StatusCode::OK,
                views::receipt_page(lang, &outcome.receipt().display(), replayed),
            )
        }
        Err(e) => {
            let errors = field_errors(&e);
            let general = errors.is_empty().then(|| t.general_error(e.code()));
            // The same token again: nothing was stored under it, and a retry stays idempotent.
            let token = token.unwrap_or_else(new_form_token);
            render_form(
                &state,
                lang,
                values,
                FormState {
                    errors,
                    general,
                    form_token: token,
                    files_again: files_seen.saturating_sub(already_held),
                    held: held_now,
                },
                e.status_code(),
            )
            .customize_retry(&e)
        }
    }
}

/// The field errors a refusal shows beside its fields.
fn field_errors(e: &ApiError) -> Vec<FieldErr> {
    match e {
        ApiError::Validation(list) => list
            .iter()
            .map(|f| FieldErr {
                field: f.field.into(),
                code: f.code.into(),
            })
            .collect(),
        other => other
            .field()
            .map(|field| {
                vec![FieldErr {
                    field: field.into(),
                    code: other.code().into(),
                }]
            })
            .unwrap_or_default(),
    }
}

/// Drops the held files the resident ticked whose boxes came after a file part (the form puts
/// them before its file input, and `ensure_hold` drops those).
async fn settle_drops(state: &web::Data<AppState>, sub: &mut Submission) {
    let Some(mut hold) = sub.hold.take() else {
        return;
    };
    let late: Vec<String> = hold
        .entries
        .iter()
        .filter(|e| sub.drop_held.contains(&e.id))
        .map(|e| e.id.clone())
        .collect();
    if !late.is_empty() {
        hold.entries.retain(|e| !late.contains(&e.id));
        let form = hold.form;
        let back = super::db(state, move |conn, _| {
            if let Err(e) = held::drop_files(conn, &form, &late) {
                tracing::error!(error = %e, "dropping held files failed");
            }
            Ok(form)
        })
        .await;
        match back {
            Ok(form) => hold.form = form,
            Err(_) => return,
        }
    }
    sub.hold = Some(hold);
}

/// Holds the files a refused form's body brought (already sealed). Returns why the form was
/// refused, the form's held files as they now stand, and how many of the body's files are
/// held (new or already).
async fn hold_files(
    state: &web::Data<AppState>,
    hold: Hold,
    files: Vec<(Vec<u8>, crate::intake::attachment::SealedAttachment)>,
) -> (Option<ApiError>, Vec<HeldEntry>, usize) {
    let Hold {
        form,
        entries,
        refusal,
        already_held,
        ..
    } = hold;
    let first = entries.iter().map(|e| e.position).max().unwrap_or(0) + 1;
    let count = files.len();
    let stored = super::db(state, move |conn, _| {
        let r = if files.is_empty() {
            Ok(0)
        } else {
            held::hold(conn, &form, first, &files)
        };
        // The sealed files are dropped with `files` if they could not be held: the page
        // asks for them again.
        r.map_err(ApiError::from)
            .and_then(|_| held::list(conn, &form).map_err(|_| ApiError::Internal))
    })
    .await;
    match stored {
        Ok(now) => (refusal, now, already_held + count),
        Err(e) => {
            tracing::error!(error = %e, "holding a form's files failed");
            (refusal, entries, already_held)
        }
    }
}

trait RetryAfter {
    fn customize_retry(self, e: &ApiError) -> HttpResponse;
}

impl RetryAfter for HttpResponse {
    fn customize_retry(mut self, e: &ApiError) -> HttpResponse {
        if let ApiError::RateLimited(secs) = e
            && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.to_string())
        {
            self.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        self
    }
}

pub async fn status_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = lang_of(&req);
    html(
        StatusCode::OK,
        views::status_page(lang, StatusOutcome::Form, &office_view(&state.config, lang)),
    )
}

pub async fn status_check(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let lang = lang_of(&req);
    if let Err(e) = rate_limit(&state, &req) {
        return html(
            e.status_code(),
            views::error_page(lang, lang.t().general_error(e.code())),
        )
        .customize_retry(&e);
    }
    if body.len() > 4096 {
        return html(
            StatusCode::PAYLOAD_TOO_LARGE,
            views::error_page(lang, lang.t().general_error("payload_too_large")),
        );
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let typed = form.get("receipt").map(String::as_str).unwrap_or_default();
    let receipt = match Receipt::parse(typed) {
        Ok(r) => r,
        Err(e) => {
            let err = ApiError::Receipt(e);
            // Keep what was typed (at most the field's length) so one wrong digit can be fixed.
            let kept: String = typed.chars().take(64).collect();
            let outcome = StatusOutcome::Invalid(
                FieldErr {
                    field: "receipt".into(),
                    code: err.code().into(),
                },
                kept,
            );
            return html(
                StatusCode::BAD_REQUEST,
                views::status_page(lang, outcome, &office_view(&state.config, lang)),
            );
        }
    };
    found_page(&state, lang, receipt, false).await
}

/// The status page for a receipt: status, rewards, the conversation, the rekey offer.
async fn found_page(
    state: &web::Data<AppState>,
    lang: Lang,
    receipt: Receipt,
    message_sent: bool,
) -> HttpResponse {
    let shown = receipt.display();
    match super::lookup(state, receipt).await {
        Ok(Some(v)) => {
            let s = &v.status;
            let view = StatusView {
                label: lang.t().status_label(s.status),
                updated: format!(
                    "{}{}",
                    super::hour_local(s.updated_at),
                    lang.t().hour_suffix
                ),
                rewards: v.rewards.iter().map(|r| r.notice()).collect(),
                receipt: shown,
                rekey_suggested: !s.receipt_private,
                messages: v
                    .messages
                    .iter()
                    .map(|m| tipline_views::thread::ThreadLine {
                        from_police: m.from == "police",
                        hour: format!("{}{}", super::hour_local(m.at), lang.t().hour_suffix),
                        body: m.body.clone(),
                    })
                    .collect(),
                message_sent,
                message_token: new_form_token(),
            };
            html(
                StatusCode::OK,
                views::status_page(
                    lang,
                    StatusOutcome::Found(&view),
                    &office_view(&state.config, lang),
                ),
            )
        }
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            views::status_page(
                lang,
                StatusOutcome::Unknown,
                &office_view(&state.config, lang),
            ),
        ),
        Err(e) => html(
            e.status_code(),
            views::error_page(lang, lang.t().general_error(e.code())),
        ),
    }
}

/// The reporter answers from the status page; the page comes back with the conversation.
pub async fn message_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let lang = lang_of(&req);
    let fail = |e: ApiError| {
        html(
            e.status_code(),
            views::error_page(lang, lang.t().general_error(e.code())),
        )
    };
    if let Err(e) = rate_limit(&state, &req) {
        return fail(e);
    }
    if body.len() > 16 * 1024 {
        return fail(ApiError::PayloadTooLarge);
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let typed = form.get("receipt").map(String::as_str).unwrap_or_default();
    let receipt = match Receipt::parse(typed) {
        Ok(r) => r,
        Err(e) => return fail(ApiError::Receipt(e)),
    };
    let text = form.get("body").cloned().unwrap_or_default();
    // The form's one-time token: a reload (the browser sends the form again) stores nothing
    // twice and shows the same page. A form without one (an old page) is still taken.
    let once = match form.get("message_token").filter(|t| !t.is_empty()) {
        Some(t) => {
            if let Err(e) = super::submission::check_token_shape(t) {
                return fail(e);
            }
            let now = crate::db::now_unix();
            let expires = now + 24 * 3600;
            Some((
                crate::crypto::keyed_hash(
                    &state.intake.keys.peppers.idempotency,
                    &[b"message-form", t.as_bytes()],
                )
                .to_vec(),
                expires + (3600 - expires.rem_euclid(3600)),
            ))
        }
        None => None,
    };
    match super::reporter_message(&state, receipt.clone(), text, once).await {
        Ok(_) => found_page(&state, lang, receipt, true).await,
        Err(ApiError::ReceiptUnknown) => html(
            StatusCode::NOT_FOUND,
            views::status_page(
                lang,
                StatusOutcome::Unknown,
                &office_view(&state.config, lang),
            ),
        ),
        Err(e) => fail(e),
    }
}

/// The rekey button on the status page: a new receipt, shown once.
pub async fn rekey_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let lang = lang_of(&req);
    let fail = |e: ApiError| {
        html(
            e.status_code(),
            views::error_page(lang, lang.t().general_error(e.code())),
        )
    };
    if let Err(e) = rate_limit(&state, &req) {
        return fail(e);
    }
    if body.len() > 4096 {
        return fail(ApiError::PayloadTooLarge);
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let typed = form.get("receipt").map(String::as_str).unwrap_or_default();
    let receipt = match Receipt::parse(typed) {
        Ok(r) => r,
        Err(e) => return fail(ApiError::Receipt(e)),
    };
    match super::rekey(&state, receipt).await {
        Ok(new) => html(StatusCode::OK, views::rekey_page(lang, &new.display())),
        Err(ApiError::ReceiptUnknown) => html(
            StatusCode::NOT_FOUND,
            views::status_page(
                lang,
                StatusOutcome::Unknown,
                &office_view(&state.config, lang),
            ),
        ),
        Err(e) => fail(e),
    }
}

pub async fn captcha_media(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(secs) = state
        .limiter
        .check_in(&req, crate::web::ratelimit::Scope::CaptchaMedia)
    {
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", secs.to_string()))
            .content_type("text/plain; charset=utf-8")
            .body("too many captcha requests; wait a minute");
    }
    let file = path.into_inner();
    let now = crate::db::now_unix();
    let zh = lang_of(&req) == Lang::Zh;
    let st = state.clone();
    let rendered = web::block(move || {
        use crate::web::captcha::Media;
        if let Some(id) = file.strip_suffix(".png") {
            st.captcha
                .media(id, Media::Png, now)
                .map(|b| (b, "image/png"))
        } else if let Some(id) = file.strip_suffix(".wav") {
            let kind = if zh { Media::WavZh } else { Media::WavEn };
            st.captcha.media(id, kind, now).map(|b| (b, "audio/wav"))
        } else {
            Err(crate::web::captcha::CaptchaError::Invalid)
        }
    })
    .await;
    match rendered {
        Ok(Ok((bytes, ct))) => HttpResponse::Ok()
            .content_type(ct)
            .insert_header(("Cache-Control", "private, max-age=1200"))
            .body(bytes.to_vec()),
        _ => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("captcha not found or expired"),
    }
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("../../public/style.css"))
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return ApiError::NotFound.error_response();
    }
    let lang = lang_of(&req);
    html(
        StatusCode::NOT_FOUND,
        views::error_page(lang, lang.t().general_error("not_found")),
    )
}
