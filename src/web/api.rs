//! The public JSON API under /api/v1 (DESIGN.md section 6).

use super::errors::ApiError;
use super::submission::{MAX_JSON_BODY, RetryFrom, from_json, from_multipart, read_body, submit};
use super::{AppState, lang_of, rate_limit};
use crate::crypto::receipt::Receipt;
use crate::intake::catalog::{CATEGORIES, Choice, TOWNSHIPS};
use crate::intake::{Channel, Submitted};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tipline_views::Lang;

pub const OPENAPI: &str = include_str!("openapi.json");

#[derive(Serialize)]
struct Label {
    code: &'static str,
    zh: &'static str,
    en: &'static str,
}

fn labels(list: &'static [Choice]) -> Vec<Label> {
    list.iter()
        .map(|c| Label {
            code: c.code,
            zh: c.zh,
            en: c.en,
        })
        .collect()
}

pub async fn meta(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "categories": labels(CATEGORIES),
        "townships": labels(TOWNSHIPS),
        "captcha": state.captcha.enabled,
        "limits": {
            "description": crate::intake::limit("description"),
            "location": crate::intake::limit("location"),
            "occurred_at": crate::intake::limit("occurred_at"),
            "people": crate::intake::limit("people"),
            "vehicles": crate::intake::limit("vehicles"),
            "attachments": state.config.max_attachments,
            "attachment_bytes": state.config.max_attachment_bytes,
        }
    }))
}

pub async fn captcha(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    state
        .limiter
        .check_in(&req, crate::web::ratelimit::Scope::CaptchaMedia)
        .map_err(ApiError::RateLimited)?;
    let now = crate::db::now_unix();
    let zh = lang_of(&req) == Lang::Zh;
    let st = state.clone();
    let (id, png, wav) = web::block(move || {
        use crate::web::captcha::Media;
        let id = st.captcha.issue(now).ok_or(ApiError::Internal)?;
        let png = st
            .captcha
            .media(&id, Media::Png, now)
            .map_err(|_| ApiError::Internal)?;
        let kind = if zh { Media::WavZh } else { Media::WavEn };
        let wav = st
            .captcha
            .media(&id, kind, now)
            .map_err(|_| ApiError::Internal)?;
        Ok::<_, ApiError>((id, png, wav))
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": id,
        "image": format!("data:image/png;base64,{}", STANDARD.encode(png)),
        "audio": format!("data:audio/wav;base64,{}", STANDARD.encode(wav)),
        "expires_in": crate::web::captcha::CAPTCHA_SECONDS,
    })))
}

#[derive(Serialize)]
struct Created {
    receipt: String,
    status: &'static str,
}

pub async fn create_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let token = req
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::BadIdempotencyKey)
        })
        .transpose()?;
    let retry_from = token.map_or(RetryFrom::NoToken, RetryFrom::Header);
    let sub = if content_type.starts_with("application/json") {
        let mut sub = from_json(&read_body(payload, MAX_JSON_BODY).await?)?;
        sub.retry_from = retry_from;
        sub
    } else if content_type.starts_with("multipart/form-data") {
        let (sub, parsed) = from_multipart(&state, req.headers(), payload, retry_from, false).await;
        parsed?;
        sub
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let outcome = submit(&state, Channel::Web, sub).await?;
    state.metrics.count_submission(&outcome);
    let mut resp = HttpResponse::Created();
    if matches!(outcome, Submitted::Replayed(_)) {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(resp.json(Created {
        receipt: outcome.receipt().display(),
        status: "received",
    }))
}

#[derive(Deserialize)]
struct StatusRequest {
    receipt: String,
}

/// What the receipt holder sees of a reward, in plain words.
fn reward_json(
    r: &crate::rewards::reporter::ReporterReward,
    lang: Lang,
    office: &tipline_views::Office,
) -> serde_json::Value {
    serde_json::json!({
        "status": r.status,
        "amount_fen": r.amount_fen,
        "claim_code": r.claim_code,
        "claim_by": r.claim_by,
        "rekey_needed": r.rekey_needed,
        "reject_reason": r.reject_reason,
        "how_to_collect": (r.status == "claimable").then(|| tipline_views::rewards::collect_text(lang, office)),
        "explanation": tipline_views::rewards::explanation(lang, &r.notice()),
    })
}

pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let body = read_body(payload, 4096).await?;
    let r: StatusRequest = super::submission::json_object(&body)?;
    let receipt = Receipt::parse(&r.receipt).map_err(ApiError::Receipt)?;
    let found = super::lookup(&state, receipt).await?;
    let v = found.ok_or(ApiError::ReceiptUnknown)?;
    let lang = lang_of(&req);
    let rewards: Vec<serde_json::Value> = {
        let office = super::office_view(&state.config, lang);
        v.rewards
            .iter()
            .map(|r| reward_json(r, lang, &office))
            .collect()
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": v.status.status,
        "updated_at": super::hour_iso(v.status.updated_at),
        "messages": v.messages.iter().map(|m| serde_json::json!({
            "from": m.from,
            "at": super::hour_iso(m.at),
            "body": m.body,
        })).collect::<Vec<_>>(),
        "reward": rewards.first(),
        "rewards": rewards,
        "rekey_suggested": !v.status.receipt_private,
    })))
}

#[derive(Deserialize)]
struct MessageRequest {
    receipt: String,
    body: String,
}

/// The receipt holder writes to the police.
pub async fn message(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let body = read_body(payload, 16 * 1024).await?;
    let m: MessageRequest = super::submission::json_object(&body)?;
    let receipt = Receipt::parse(&m.receipt).map_err(ApiError::Receipt)?;
    super::reporter_message(&state, receipt, m.body, None).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "status": "sent" })))
}

/// Exchanges a receipt for a new one; the old one stops working at once.
pub async fn rekey(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let body = read_body(payload, 4096).await?;
    let r: StatusRequest = super::submission::json_object(&body)?;
    let receipt = Receipt::parse(&r.receipt).map_err(ApiError::Receipt)?;
    let new = super::rekey(&state, receipt).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "receipt": new.display() })))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(OPENAPI)
}
