//! Outgoing work: the persistent outbox (mail and SMS, sealed to the relay key, retried with
//! backoff, deleted once delivered) and the transports that deliver it.

pub mod contact;
pub mod mail;
pub mod outbox;
pub mod sms;
pub mod staff;
pub mod staff_contact;
pub mod templates;

use serde::{Deserialize, Serialize};

/// One piece of outgoing work. It holds an address or phone number, so it is stored only
/// sealed to the relay key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Mail {
        to: String,
        subject: String,
        body: String,
        /// Files for the office (the monthly report); never on mail to reporters.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<MailAttachment>,
        /// A reporter's thread token (mail to reporters only): it goes into our Message-ID, so
        /// the reporter's reply brings it back in In-Reply-To/References and joins their tip.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
    },
    /// Chinese providers send only pre-approved templates, so SMS are a template code and its
    /// parameters; each provider renders or submits them its own way.
    Sms {
        to: String,
        template: String,
        params: Vec<String>,
    },
    /// To the reporter of a tip, through whatever contact envelope it has (SMS or email),
    /// resolved by the worker with the relay key; dropped when there is none any more.
    Reporter {
        tip_id: String,
        template: String,
        params: Vec<String>,
    },
    /// To a staff member, through the channels they chose; resolved by the worker into mail and
    /// SMS jobs.
    Staff {
        staff_id: String,
        template: String,
        params: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Mail { .. } => "mail",
            Job::Sms { .. } => "sms",
            Job::Reporter { .. } => "reporter",
            Job::Staff { .. } => "staff",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (server down, timeout, 4xx from SMTP...).
    #[error("temporary: {0}")]
    Temporary(&'static str),
    /// Retrying will not help (malformed address, refused recipient).
    #[error("permanent: {0}")]
    Permanent(&'static str),
    /// No transport is configured for this kind of job on this node.
    #[error("no transport configured for {0}")]
    Unconfigured(&'static str),
}

/// Sends an SMS through a provider's HTTP API (blocking: called from the outbox worker on the
/// blocking pool).
pub trait SmsSender: Send + Sync {
    fn send(&self, to: &str, template: &str, params: &[String]) -> Result<(), DeliveryError>;
}

/// The transports this node has.
#[derive(Default)]
pub struct Transports {
    pub mail: Option<mail::Mailer>,
    pub sms: Option<Box<dyn SmsSender>>,
}

impl Transports {
    pub fn deliver(&self, job: &Job) -> Result<(), DeliveryError> {
        match job {
            Job::Mail {
                to,
                subject,
                body,
                attachments,
                thread,
            } => match &self.mail {
                Some(m) => m.send(to, subject, body, attachments, thread.as_deref()),
                None => Err(DeliveryError::Unconfigured("mail")),
            },
            Job::Sms {
                to,
                template,
                params,
            } => match &self.sms {
                Some(s) => s.send(to, template, params),
                None => Err(DeliveryError::Unconfigured("sms")),
            },
            Job::Reporter { .. } | Job::Staff { .. } => {
                Err(DeliveryError::Permanent("job not resolved"))
            }
        }
    }
}
