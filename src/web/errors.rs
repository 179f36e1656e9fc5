//! One error type for the HTTP layer, mapped to a status and a stable code in one place.
//! Messages never echo the input; details of unexpected failures go to the log only.

use crate::crypto::receipt::ReceiptError;
use crate::intake::attachment::AttachmentError;
use crate::intake::{FieldError, IntakeError};
use crate::web::captcha::CaptchaError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("some fields are missing or invalid")]
    Validation(Vec<FieldError>),
    #[error("the request body is not valid JSON of the expected shape")]
    MalformedJson,
    #[error("the multipart body could not be read")]
    MalformedMultipart,
    #[error("text must be valid UTF-8")]
    InvalidUtf8,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("send application/json or multipart/form-data")]
    UnsupportedMediaType,
    #[error("an attachment is larger than allowed")]
    AttachmentTooLarge,
    #[error("too many attachments")]
    TooManyAttachments,
    #[error("attachment refused: {0}")]
    Attachment(AttachmentError),
    #[error("{0}")]
    Captcha(CaptchaError),
    #[error("this captcha was already used; get a new one")]
    CaptchaReplayed,
    #[error("this Idempotency-Key was already used for a different submission")]
    IdempotencyMismatch,
    #[error("the Idempotency-Key header must be 8 to 128 visible ASCII characters")]
    BadIdempotencyKey,
    #[error("{0}")]
    Receipt(ReceiptError),
    #[error("no tip is known under this receipt")]
    ReceiptUnknown,
    #[error("too many requests; try again later")]
    RateLimited(u64),
    #[error("not found")]
    NotFound,
    #[error("sign in first: send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("your role may not do this")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("this method is not allowed here; see the Allow header")]
    MethodNotAllowed,
    #[error("the server is busy; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
    /// A domain refusal with its own status and stable code (rewards, payouts).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

#[derive(Serialize)]
struct FieldBody {
    field: &'static str,
    code: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldBody>,
}

#[derive(Serialize)]
struct Envelope {
    error: ErrorBody,
}

pub fn field_message(code: &str) -> &'static str {
    match code {
        "required" => "this field is required",
        "unknown_choice" => "not one of the allowed codes (see GET /api/v1/meta)",
        "too_long" => "too long",
        "captcha_wrong" => "wrong answer",
        "captcha_expired" => "the captcha expired",
        "captcha_used" => "this captcha already had its one try; get a new one",
        "captcha_again" => "the request failed for other reasons; answer a new captcha",
        _ => "invalid",
    }
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::MalformedJson => "malformed_json",
            ApiError::MalformedMultipart => "malformed_multipart",
            ApiError::InvalidUtf8 => "invalid_utf8",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::AttachmentTooLarge => "attachment_too_large",
            ApiError::TooManyAttachments => "too_many_attachments",
            ApiError::Attachment(AttachmentError::BadImage) => "bad_image",
            ApiError::Attachment(AttachmentError::BadText) => "bad_text",
            ApiError::Attachment(AttachmentError::TooLarge) => "attachment_too_large",
            ApiError::Attachment(_) => "unsupported_attachment",
            ApiError::Captcha(CaptchaError::Missing) => "captcha_required",
            ApiError::Captcha(CaptchaError::Wrong) => "captcha_wrong",
            ApiError::Captcha(CaptchaError::Expired) => "captcha_expired",
            ApiError::Captcha(CaptchaError::Invalid) => "captcha_invalid",
            ApiError::Captcha(CaptchaError::Used) => "captcha_used",
            ApiError::CaptchaReplayed => "captcha_used",
            ApiError::IdempotencyMismatch => "idempotency_mismatch",
            ApiError::BadIdempotencyKey => "bad_idempotency_key",
            ApiError::Receipt(ReceiptError::CheckDigit) => "receipt_check_digit",
            ApiError::Receipt(_) => "receipt_invalid",
            ApiError::ReceiptUnknown => "receipt_unknown",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::NotFound => "not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::Invalid(_) => "invalid",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
            ApiError::Refused { code, .. } => code,
        }
    }

    /// The form field an error belongs to, for pages that show errors beside fields.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::Captcha(_) | ApiError::CaptchaReplayed => Some("captcha_answer"),
            ApiError::AttachmentTooLarge
            | ApiError::TooManyAttachments
            | ApiError::Attachment(_) => Some("attachment"),
            ApiError::Receipt(_) => Some("receipt"),
            _ => None,
        }
    }

    fn fields(&self) -> Vec<FieldBody> {
        match self {
            ApiError::Validation(list) => list
                .iter()
                .map(|f| FieldBody {
                    field: f.field,
                    code: f.code,
                    message: field_message(f.code),
                })
                .collect(),
            other => other
                .field()
                .map(|field| {
                    vec![FieldBody {
                        field,
                        code: other.code(),
                        message: field_message(other.code()),
                    }]
                })
                .unwrap_or_default(),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(list) => ApiError::Validation(list),
            IntakeError::CaptchaReplayed => ApiError::CaptchaReplayed,
            IntakeError::IdempotencyMismatch => ApiError::IdempotencyMismatch,
            IntakeError::Unavailable => ApiError::Unavailable,
            IntakeError::HeldFileGone => {
                tracing::warn!("a file held for a form was gone at its commit");
                ApiError::Unavailable
            }
            IntakeError::Crypto(e) => {
                tracing::error!(error = %e, "sealing failed");
                ApiError::Internal
            }
            IntakeError::Db(e) => {
                tracing::error!(error = %e, "tip was not stored");
                ApiError::Internal
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            // One attempt per id: a second is "already used", as a spent id is.
            ApiError::Captcha(CaptchaError::Used) => StatusCode::CONFLICT,
            ApiError::Validation(_) | ApiError::Captcha(_) | ApiError::IdempotencyMismatch => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::MalformedJson
            | ApiError::MalformedMultipart
            | ApiError::InvalidUtf8
            | ApiError::BadIdempotencyKey
            | ApiError::Receipt(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge
            | ApiError::AttachmentTooLarge
            | ApiError::TooManyAttachments => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Attachment(AttachmentError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Attachment(AttachmentError::Seal) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Attachment(_) | ApiError::UnsupportedMediaType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::CaptchaReplayed => StatusCode::CONFLICT,
            ApiError::ReceiptUnknown | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Refused { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        let retry = match self {
            ApiError::RateLimited(s) => Some(*s),
            ApiError::Refused {
                code: "too_many_claim_lookups",
                ..
            } => Some(900),
            _ => None,
        };
        if let Some(secs) = retry {
            resp.insert_header(("Retry-After", secs.to_string()));
        }
        if let ApiError::Unauthorized = self {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(Envelope {
            error: ErrorBody {
                code: self.code(),
                message: self.to_string(),
                fields: self.fields(),
            },
        })
    }
}

impl From<crate::triage::work::TriageError> for ApiError {
    fn from(e: crate::triage::work::TriageError) -> Self {
        use crate::triage::work::TriageError as T;
        match e {
            T::NotFound => ApiError::NotFound,
            T::Forbidden => ApiError::Forbidden,
            T::InvalidTransition { .. } => ApiError::Conflict(e.to_string()),
            T::BadInput(m) => ApiError::Invalid(m.to_string()),
            T::Db(d) => {
                tracing::error!(error = %d, "triage database error");
                ApiError::Internal
            }
            T::Crypto => {
                tracing::error!("a sealed object did not open");
                ApiError::Internal
            }
            T::Refused { code, message } => ApiError::Refused {
                status: StatusCode::CONFLICT,
                code,
                message,
            },
            T::NoOfficeKey => ApiError::Unavailable,
            T::OwnTip => ApiError::Refused {
                status: StatusCode::FORBIDDEN,
                code: "own_tip",
                message: e.to_string(),
            },
        }
    }
}

impl From<crate::staff::StaffError> for ApiError {
    fn from(e: crate::staff::StaffError) -> Self {
        use crate::staff::StaffError as S;
        match e {
            S::Exists => ApiError::Conflict(e.to_string()),
            S::NoSuchUser | S::NoSuchToken => ApiError::NotFound,
            S::NotApprover => ApiError::Forbidden,
            S::NotPendingApproval => ApiError::Conflict(e.to_string()),
            S::OwnAccount => ApiError::Refused {
                status: StatusCode::FORBIDDEN,
                code: "own_account",
                message: e.to_string(),
            },
            S::BadCredentials | S::Locked | S::InitialPasswordExpired => ApiError::Unauthorized,
            S::Db(d) => {
                tracing::error!(error = %d, "staff database error");
                ApiError::Internal
            }
            S::Crypto(_) => ApiError::Internal,
            other => ApiError::Invalid(other.to_string()),
        }
    }
}

impl ApiError {
    pub fn status_code_for_page(&self) -> StatusCode {
        self.status_code()
    }
}

impl From<crate::rewards::RewardError> for ApiError {
    fn from(e: crate::rewards::RewardError) -> Self {
        use crate::rewards::RewardError as R;
        let (status, code) = match &e {
            R::NotFound | R::TipNotFound => return ApiError::NotFound,
            R::Forbidden => return ApiError::Forbidden,
            R::Db(d) => {
                tracing::error!(error = %d, "rewards database error");
                return ApiError::Internal;
            }
            R::Crypto => {
                tracing::error!("a sealed reward object did not open");
                return ApiError::Internal;
            }
            R::NoOfficeKey => return ApiError::Unavailable,
            R::TipNotVerified => (StatusCode::CONFLICT, "tip_not_verified"),
            R::EarlierReporter { .. } => (StatusCode::CONFLICT, "earlier_reporter"),
            R::BadFacts(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_facts"),
            R::BadInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            R::NotEligible => (StatusCode::UNPROCESSABLE_ENTITY, "not_eligible"),
            R::NoTier => (StatusCode::UNPROCESSABLE_ENTITY, "no_tier"),
            R::OutsideBounds { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "outside_bounds"),
            R::OverCap { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "over_cap"),
            R::SelfApproval => (StatusCode::FORBIDDEN, "self_approval"),
            R::OwnTip => (StatusCode::FORBIDDEN, "own_tip"),
            R::AlreadySigned => (StatusCode::CONFLICT, "already_signed"),
            R::OutOfOrder { .. } => (StatusCode::CONFLICT, "out_of_order"),
            R::NotYourStep { .. } => (StatusCode::FORBIDDEN, "not_your_step"),
            R::NotPending { .. } => (StatusCode::CONFLICT, "not_pending"),
            R::AlreadyPaid => (StatusCode::CONFLICT, "already_paid"),
            R::Expired => (StatusCode::GONE, "claim_expired"),
            R::UnknownClaimCode => (StatusCode::NOT_FOUND, "unknown_claim_code"),
            R::ClaimCodeTypo => (StatusCode::BAD_REQUEST, "claim_code_check_digit"),
            R::ClaimCodeLength => (StatusCode::BAD_REQUEST, "claim_code_invalid"),
            R::TooManyLookups(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_claim_lookups"),
            R::PayoutRule(_) => (StatusCode::UNPROCESSABLE_ENTITY, "payout_rule"),
            R::NotPendingTransfer => (StatusCode::CONFLICT, "not_pending_transfer"),
            R::Policy(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy"),
        };
        ApiError::Refused {
            status,
            code,
            message: e.to_string(),
        }
    }
}

impl From<crate::reports::ReportError> for ApiError {
    fn from(e: crate::reports::ReportError) -> Self {
        use crate::reports::ReportError as R;
        match e {
            R::BadMonth => ApiError::Invalid(e.to_string()),
            R::Forbidden => ApiError::Forbidden,
            R::UnknownUnit => ApiError::NotFound,
            R::Export | R::Outbox(_) | R::Db(_) => {
                tracing::error!(error = %e, "report failed");
                ApiError::Internal
            }
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "database error");
        ApiError::Internal
    }
}

impl From<crate::notify::staff::PrefsError> for ApiError {
    fn from(e: crate::notify::staff::PrefsError) -> Self {
        use crate::notify::staff::PrefsError as P;
        match e {
            P::Db(d) => {
                tracing::error!(error = %d, "notification settings database error");
                ApiError::Internal
            }
            P::Crypto(_) => ApiError::Internal,
            other => ApiError::Invalid(other.to_string()),
        }
    }
}
