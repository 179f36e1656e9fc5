//! Mail delivery over SMTP with lettre. Messages are plain text, UTF-8, with nothing in the
//! headers that identifies the office's software or the reporter.

use super::{DeliveryError, MailAttachment};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport};

pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// `url` in lettre's syntax: `smtp://host:port` (plain, for a relay on the same host or the
    /// test server), `smtp://host:587?tls=required`, `smtps://user:pass@host:465`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| format!("TIPLINE_SMTP_URL is not a usable SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|_| "TIPLINE_MAIL_FROM is not a mail address".to_string())?;
        Ok(Self { transport, from })
    }

    /// Sends one message (blocking: call from the blocking pool).
    pub fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        attachments: &[MailAttachment],
        thread: Option<&str>,
    ) -> Result<(), DeliveryError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| DeliveryError::Permanent("malformed recipient address"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(AutoSubmitted);
        if let Some(token) = thread {
            let unique = crate::crypto::random_bytes::<8>()
                .map_err(|_| DeliveryError::Temporary("no randomness"))?;
            builder = builder.message_id(Some(thread_message_id(
                token,
                &hex::encode(unique),
                self.from.email.domain(),
            )));
        }
        let built = if attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_string())
        } else {
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body.to_string()));
            for a in attachments {
                let kind = ContentType::parse(&a.content_type)
                    .map_err(|_| DeliveryError::Permanent("bad attachment type"))?;
                parts = parts
                    .singlepart(Attachment::new(a.filename.clone()).body(a.bytes.clone(), kind));
            }
            builder.multipart(parts)
        };
        let msg = built.map_err(|_| DeliveryError::Permanent("message could not be built"))?;
        match self.transport.send(&msg) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent("recipient refused")),
            Err(_) => Err(DeliveryError::Temporary(
                "SMTP server unavailable or refused",
            )),
        }
    }
}

/// Prefix of the Message-ID that carries a reporter's thread token.
pub const THREAD_PREFIX: &str = "tl-";

/// `<tl-TOKEN.UNIQUE@domain>`: the token names the reporter's thread (issue 13 item 7), the
/// random part keeps every Message-ID unique.
pub fn thread_message_id(token: &str, unique: &str, domain: &str) -> String {
    format!("<{THREAD_PREFIX}{token}.{unique}@{domain}>")
}

/// `Auto-Submitted: auto-generated` (RFC 3834): out-of-office responders do not answer it, and
/// our own email intake refuses mail that carries it, so two robots cannot mail each other
/// forever.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}
