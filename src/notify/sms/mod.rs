//! SMS providers behind one trait (DESIGN.md sections 2, 4 and 6): each authenticates and reads
//! its own inbound webhook, answers it in its own format, and sends texts through its own API.
//! Which one runs is `TIPLINE_SMS_PROVIDER`. Nothing here stores or logs a phone number or a
//! text: the inbound message goes straight to the intake pipeline (`crate::intake::sms`), which
//! seals the number in a contact envelope, and outgoing texts come from the sealed outbox.

pub mod tencent;
pub mod twilio;

use super::{DeliveryError, SmsSender};
use crate::config::{SmsConfig, SmsProvider};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The largest inbound webhook body we read. A text is at most 2,000 characters
/// (`intake::sms::MAX_TEXT_CHARS`); in Chinese, form-encoded, that is 18 KB (9 bytes a
/// character) plus the provider's other fields. Anything larger is not a text message.
pub const MAX_INBOUND_BYTES: usize = 32 * 1024;

/// One call of the provider's inbound webhook, as the web layer saw it.
pub struct InboundCall<'a> {
    /// The URL the provider called: `TIPLINE_PUBLIC_URL` + the request's path and query (what
    /// the provider signed, whatever proxies sit in between).
    pub url: &'a str,
    pub query: &'a str,
    /// The value of the provider's signature header (`Provider::signature_header`), if sent.
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// A text message from a resident, authenticated.
pub struct InboundSms {
    /// The sender's number as the provider wrote it; normalized by `Contact::sms`.
    pub from: String,
    pub text: String,
    /// The provider's id for this message (or, where it sends none, a digest of what identifies
    /// it): only its keyed fingerprint is stored, so a repeat creates nothing.
    pub message_id: String,
}

impl std::fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboundSms(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InboundError {
    /// Missing or wrong signature (Twilio) or callback token (Tencent).
    #[error("the request is not authenticated as coming from the SMS provider")]
    Unauthenticated,
    /// The body is not what the provider sends.
    #[error("the webhook body is malformed: {0}")]
    Malformed(&'static str),
}

/// What the webhook answers the provider.
pub struct WebhookAnswer {
    pub content_type: &'static str,
    pub body: String,
}

/// One SMS provider: the inbound webhook and outgoing texts.
pub trait Provider: SmsSender {
    /// The name in logs and errors.
    fn name(&self) -> &'static str;
    /// The request header that carries the webhook's signature, if the provider signs.
    fn signature_header(&self) -> Option<&'static str>;
    /// Authenticates a webhook call, then reads the message from it. `None`: authentic, but
    /// nothing to act on (a stale callback); the webhook acknowledges it and does nothing.
    fn inbound(&self, call: &InboundCall) -> Result<Option<InboundSms>, InboundError>;
    /// Whether the reply to an inbound text goes back in the webhook's answer (Twilio's TwiML);
    /// otherwise it is queued in the outbox and sent through the provider's API.
    fn replies_inline(&self) -> bool;
    /// The webhook's answer, carrying `reply` when the provider replies inline.
    fn answer(&self, reply: Option<&str>) -> WebhookAnswer;
}

/// Builds the configured provider.
pub fn provider(config: &SmsConfig) -> Arc<dyn Provider> {
    match config.provider {
        SmsProvider::Twilio => Arc::new(twilio::Twilio::new(config)),
        SmsProvider::Tencent => Arc::new(tencent::Tencent::new(config)),
    }
}

/// The outbox's handle on the provider.
pub struct Outgoing(pub Arc<dyn Provider>);

impl SmsSender for Outgoing {
    fn send(&self, to: &str, template: &str, params: &[String]) -> Result<(), DeliveryError> {
        self.0.send(to, template, params)
    }
}

/// reqwest is built without a crypto provider (its built-in choice, aws-lc, needs a C toolchain
/// and cmake); rustls uses ring instead, which lettre already brings. Every process that builds
/// a reqwest client must call this first: the server does in `http`, test kits before theirs.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client for provider APIs. Built on first use, on the outbox worker's blocking
/// thread (a blocking client must not be built or dropped on an async worker), and kept for the
/// life of the process. No redirects: credentials go to the configured host only.
pub(crate) fn http() -> Result<&'static reqwest::blocking::Client, DeliveryError> {
    static CLIENT: OnceLock<Option<reqwest::blocking::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            install_tls_provider();
            reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the SMS HTTP client"))
                .ok()
        })
        .as_ref()
        .ok_or(DeliveryError::Temporary("no HTTP client"))
}

/// Maps an HTTP status from a provider API to the outbox's retry classes.
pub(crate) fn classify(status: reqwest::StatusCode) -> Result<(), DeliveryError> {
    if status.is_success() {
        Ok(())
    } else if status.as_u16() == 429 || status.is_server_error() {
        Err(DeliveryError::Temporary("provider busy or failing"))
    } else if status.as_u16() == 401 || status.as_u16() == 403 {
        // Wrong credentials are an operator's fix; keep the message until they are fixed.
        Err(DeliveryError::Temporary("provider refused our credentials"))
    } else {
        Err(DeliveryError::Permanent("provider refused the message"))
    }
}

/// A template's text, for providers that send free text: Twilio's inline answers and API.
pub fn render(template: &str, params: &[String]) -> Option<String> {
    super::templates::render(template, params).map(|(_, body)| body)
}
