//! `POST /api/v1/sms/inbound`: the SMS provider's webhook. Read the bounded body, let the
//! provider authenticate and parse it, hand the text to the SMS channel, answer in the
//! provider's format. Not rate-limited per client: every call comes from the provider's few
//! addresses, and the signature (or callback token) is the gate. Logs name the provider and the
//! outcome, never a number or a text.

use super::AppState;
use super::errors::ApiError;
use super::submission::read_body;
use crate::intake::sms::{Handled, Settings, SmsError, receive};
use crate::notify::sms::{InboundCall, InboundError, MAX_INBOUND_BYTES};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

fn refused(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::Refused {
        status,
        code,
        message: message.into(),
    }
}

impl From<SmsError> for ApiError {
    fn from(e: SmsError) -> Self {
        match e {
            SmsError::BadSender => refused(
                StatusCode::BAD_REQUEST,
                "bad_sender",
                "the sender is not a phone number",
            ),
            SmsError::Intake(i) => i.into(),
            SmsError::Unavailable => ApiError::Unavailable,
            other => {
                tracing::error!(error = %other, "an inbound SMS was not stored");
                ApiError::Internal
            }
        }
    }
}

pub async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let Some(provider) = state.sms.clone() else {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "sms_not_configured",
            "SMS intake is not configured on this server (TIPLINE_SMS_PROVIDER)",
        ));
    };
    let body = read_body(payload, MAX_INBOUND_BYTES).await?;
    let url = format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let signature = provider
        .signature_header()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok());
    let call = InboundCall {
        url: &url,
        query: req.query_string(),
        signature,
        body: &body,
    };
    let sms = match provider.inbound(&call) {
        Ok(Some(sms)) => sms,
        Ok(None) => return Ok(answer(provider.answer(None))),
        Err(InboundError::Unauthenticated) => {
            tracing::warn!(
                provider = provider.name(),
                "SMS webhook refused: signature or callback token missing or wrong"
            );
            return Err(refused(
                StatusCode::FORBIDDEN,
                "bad_signature",
                "the request is not signed by the configured SMS provider",
            ));
        }
        Err(InboundError::Malformed(why)) => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "malformed_sms",
                &format!("the webhook body is malformed: {why}"),
            ));
        }
    };
    let settings = Settings {
        retention_days: state.config.contact_retention_days,
        inline_reply: provider.replies_inline(),
        public_url: state.config.public_url.clone(),
    };
    let handled = receive(&state.intake, &state.pool, sms, &settings).await?;
    if let Handled::Created(_) = handled {
        state.metrics.count(&state.metrics.tips_created);
    }
    let reply = if provider.replies_inline() {
        handled.reply().and_then(|r| r.text())
    } else {
        None
    };
    Ok(answer(provider.answer(reply.as_deref())))
}

fn answer(a: crate::notify::sms::WebhookAnswer) -> HttpResponse {
    // The answer can carry a new receipt: never cached.
    HttpResponse::Ok()
        .content_type(a.content_type)
        .insert_header(("Cache-Control", "no-store"))
        .body(a.body)
}
