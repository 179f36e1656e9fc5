//! The SMS channel (DESIGN.md sections 2 and 4). A resident's first text becomes a tip through
//! the one intake pipeline, with the number sealed in a contact envelope and threaded by its
//! alias; later texts from the same number, while the envelope is kept, join that tip's
//! conversation; `STATUS <receipt>` (or `状态 <receipt>`) asks for a receipt's status and
//! stores nothing. Every text is answered with a template, and every provider message id is
//! spent once, in the same transaction as what the text caused, so a repeated delivery creates
//! nothing and a failure leaves nothing half-written.
//!
//! The number is never stored in the clear, never logged, never shown to staff.

use super::catalog::UNKNOWN_TOWNSHIP;
use super::store::lookup_status;
use super::{
    Channel, ContactOptions, Intake, IntakeError, NewTip, ReplyBuilder, Submitted, TipFields,
};
use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::seal::Sealer;
use crate::crypto::token::token_fingerprint;
use crate::crypto::{Secret32, subkey};
use crate::db::{DbConn, DbError, Pool, now_unix};
use crate::notify::Job;
use crate::notify::contact::{Contact, tip_for_alias};
use crate::notify::sms::InboundSms;
use crate::triage::messages::{self, Direction, MAX_MESSAGE_CHARS};
use diesel::Connection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary};
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

/// How long a provider message id is remembered; a repeat within it is ignored.
pub const MESSAGE_ID_SECONDS: i64 = 30 * 86_400;
/// Texts join a tip as messages, so one text is at most one message long.
pub const MAX_TEXT_CHARS: usize = MAX_MESSAGE_CHARS;
/// What an SMS tip is filed under until an officer triages it: the reporter wrote free text.
pub const SMS_CATEGORY: &str = "other";

pub struct Settings {
    pub retention_days: i64,
    /// The provider answers inline (TwiML); otherwise replies go through the outbox.
    pub inline_reply: bool,
    /// For the link in staff notices ("a reporter wrote").
    pub public_url: String,
}

/// The answer to a text: a template (src/notify/templates.rs) and its parameters.
#[derive(Clone)]
pub struct Reply {
    pub template: &'static str,
    pub params: Vec<String>,
}

impl Reply {
    fn new(template: &'static str, params: Vec<String>) -> Self {
        Self { template, params }
    }

    pub fn text(&self) -> Option<String> {
        crate::notify::sms::render(self.template, &self.params)
    }
}

/// What a text did.
pub enum Handled {
    /// A new tip; the reply carries its receipt.
    Created(Reply),
    /// Added to the conversation of the number's tip.
    Appended(Reply),
    /// A status query, answered.
    Status(Reply),
    /// Nothing to store (an empty or too long text); the reply says why.
    Refused(Reply),
    /// A message id already handled: nothing happens and nothing is answered.
    Repeat,
}

impl Handled {
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Handled::Created(r)
            | Handled::Appended(r)
            | Handled::Status(r)
            | Handled::Refused(r) => Some(r),
            Handled::Repeat => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the sender is not a phone number")]
    BadSender,
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealing a message or reply failed")]
    Crypto,
    #[error("the database is not available")]
    Unavailable,
}

impl From<diesel::result::Error> for SmsError {
    fn from(e: diesel::result::Error) -> Self {
        SmsError::Db(DbError::Query(e))
    }
}

impl From<crate::notify::outbox::OutboxError> for SmsError {
    fn from(e: crate::notify::outbox::OutboxError) -> Self {
        match e {
            crate::notify::outbox::OutboxError::Db(d) => SmsError::Db(d),
            crate::notify::outbox::OutboxError::Crypto(_) => SmsError::Crypto,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// `STATUS <receipt>`; `None` when what follows is not a valid receipt.
    Status(Option<Receipt>),
    Text(String),
}

/// `STATUS`, `状态` or `狀態`, then a receipt: digits, spaces and dashes of any width only. A
/// text that merely starts with the word ("状态不对的人在卖...") is a tip.
fn classify(text: &str) -> Command {
    let t = text.trim();
    let folded: String = t.nfkc().collect();
    let rest = ["STATUS", "状态", "狀態"].iter().find_map(|kw| {
        folded
            .get(..kw.len())
            .filter(|head| head.eq_ignore_ascii_case(kw))
            .map(|_| &folded[kw.len()..])
    });
    let Some(rest) = rest else {
        return Command::Text(t.to_string());
    };
    let rest = rest.trim_start_matches([':', '：', ' ', '\u{3000}']).trim();
    let receipt_like = rest.chars().all(|c| {
        c.is_ascii_digit()
            || matches!(
                c,
                ' ' | '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{3000}' | '\t'
            )
    });
    if rest.is_empty() || receipt_like {
        Command::Status(Receipt::parse(rest).ok())
    } else {
        Command::Text(t.to_string())
    }
}

/// Spends a provider message id: false if it was already spent (a repeat).
fn spend_once(c: &mut DbConn, fingerprint: &[u8], expires_at: i64) -> Result<bool, SmsError> {
    let n = diesel::sql_query(
        "INSERT INTO spent_tokens (fingerprint, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind::<Binary, _>(fingerprint)
    .bind::<BigInt, _>(expires_at)
    .execute(c)?;
    Ok(n == 1)
}

async fn blocking<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConn) -> Result<T, SmsError> + Send + 'static,
) -> Result<T, SmsError> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(|_| SmsError::Unavailable)?;
        f(&mut conn)
    })
    .await
    .map_err(|_| SmsError::Unavailable)?
}

/// What a text does inside its transaction, once its id is spent.
type Act = Box<dyn FnOnce(&mut DbConn) -> Result<Handled, SmsError> + Send>;

/// One inbound message's transaction: spend its id, act, queue the answer (for providers that
/// cannot answer inline), all or nothing.
struct Once {
    pool: Pool,
    fingerprint: Vec<u8>,
    expires_at: i64,
    /// Where queued answers go; `None` when the provider answers inline.
    queue_to: Option<String>,
    sealer: Arc<Sealer>,
    keys: Arc<Keyring>,
}

impl Once {
    async fn run(self, act: Act) -> Result<Handled, SmsError> {
        let pool = self.pool.clone();
        blocking(&pool, move |conn| {
            conn.transaction::<_, SmsError, _>(|c| {
                if !spend_once(c, &self.fingerprint, self.expires_at)? {
                    return Ok(Handled::Repeat);
                }
                let handled = act(c)?;
                if let (Some(to), Some(reply)) = (&self.queue_to, handled.reply()) {
                    let job = Job::Sms {
                        to: to.clone(),
                        template: reply.template.to_string(),
                        params: reply.params.clone(),
                    };
                    crate::notify::outbox::enqueue_in(
                        c,
                        &self.sealer,
                        crate::crypto::seal::Stream::Reporter,
                        &self.keys.reporter_relay,
                        &job,
                    )?;
                }
                Ok(handled)
            })
        })
        .await
    }
}

fn status_reply(
    c: &mut DbConn,
    pepper: &Secret32,
    receipt: Option<&Receipt>,
) -> Result<Reply, SmsError> {
    let found = match receipt {
        Some(r) => lookup_status(c, &r.hash(pepper))?,
        None => None,
    };
    Ok(match found {
        Some(s) => Reply::new(
            "status",
            vec![
                tipline_views::Lang::Zh
                    .t()
                    .status_label(s.status)
                    .to_string(),
            ],
        ),
        None => Reply::new("unknown_receipt", vec![]),
    })
}

/// What an authenticated text asks for, decided from the text alone before any database work.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// `STATUS <receipt>`; `None` when what follows is not a valid receipt.
    Status(Option<Receipt>),
    /// An empty text: answered with `help`, nothing stored.
    Empty,
    /// Longer than one message: answered with `too_long`, nothing stored.
    TooLong,
    /// A tip, or a message on the number's tip: trimmed, 1 to `MAX_TEXT_CHARS` characters.
    Text(String),
}

/// Reads the sender and the text of an inbound SMS: the number as its contact, and what the
/// text asks for.
pub fn plan(sms: &InboundSms) -> Result<(Contact, Plan), SmsError> {
    let contact = Contact::sms(&sms.from);
    if contact.address.trim_start_matches('+').len() < 3 {
        return Err(SmsError::BadSender);
    }
    let plan = match classify(&sms.text) {
        Command::Status(receipt) => Plan::Status(receipt),
        Command::Text(t) if t.is_empty() => Plan::Empty,
        Command::Text(t) if t.chars().count() > MAX_TEXT_CHARS => Plan::TooLong,
        Command::Text(t) => Plan::Text(t),
    };
    Ok((contact, plan))
}

/// Handles one authenticated inbound text.
pub async fn receive(
    intake: &Intake,
    pool: &Pool,
    sms: InboundSms,
    settings: &Settings,
) -> Result<Handled, SmsError> {
    let (contact, plan) = plan(&sms)?;
    let key = subkey(&intake.keys.peppers.token, "sms-message-ids");
    let once = Once {
        pool: pool.clone(),
        fingerprint: token_fingerprint(&key, "sms-inbound", &sms.message_id),
        expires_at: crate::db::hour_ceil(now_unix() + MESSAGE_ID_SECONDS),
        queue_to: (!settings.inline_reply).then(|| contact.address.clone()),
        sealer: intake.sealer.clone(),
        keys: intake.keys.clone(),
    };

    let text = match plan {
        Plan::Status(receipt) => {
            let pepper = intake.keys.peppers.receipt.clone();
            return once
                .run(Box::new(move |c| {
                    status_reply(c, &pepper, receipt.as_ref()).map(Handled::Status)
                }))
                .await;
        }
        Plan::Empty => {
            return once
                .run(Box::new(|_| {
                    Ok(Handled::Refused(Reply::new("help", vec![])))
                }))
                .await;
        }
        Plan::TooLong => {
            return once
                .run(Box::new(|_| {
                    Ok(Handled::Refused(Reply::new("too_long", vec![])))
                }))
                .await;
        }
        Plan::Text(t) => t,
    };

    // A number that wrote before, while its envelope is kept, continues its conversation.
    let alias = contact.alias(&intake.keys).unwrap_or_default();
    let existing = blocking(pool, move |c| Ok(tip_for_alias(c, &alias)?)).await?;
    if let Some(tip_id) = existing {
        let (sealer, keys) = (intake.sealer.clone(), intake.keys.clone());
        let public_url = settings.public_url.clone();
        return once
            .run(Box::new(move |c| {
                let s = messages::Sealing {
                    sealer: &sealer,
                    office: &keys.office,
                    relay: &keys.relay,
                    public_url: &public_url,
                };
                messages::append(c, &s, &tip_id, Direction::Reporter, None, &text).map_err(
                    |e| match e {
                        messages::MessageError::Db(d) => SmsError::Db(d),
                        _ => SmsError::Crypto,
                    },
                )?;
                Ok(Handled::Appended(Reply::new("appended", vec![])))
            }))
            .await;
    }

    // A first text: a tip, through the one pipeline, with the id spent and the answer queued
    // in the tip's own transaction.
    let reply: Option<ReplyBuilder> = once.queue_to.clone().map(|to| {
        Box::new(move |r: &Receipt| Job::Sms {
            to,
            template: "receipt".into(),
            params: vec![r.display()],
        }) as ReplyBuilder
    });
    let tip = NewTip {
        channel: Channel::Sms,
        fields: TipFields {
            category: SMS_CATEGORY.into(),
            township: UNKNOWN_TOWNSHIP.into(),
            description: text,
            ..TipFields::default()
        },
        attachments: Vec::new(),
    };
    let options = ContactOptions {
        spend_token: Some((once.fingerprint, once.expires_at)),
        reply,
        ..ContactOptions::default()
    };
    match intake
        .submit_contact(tip, &contact, settings.retention_days, options)
        .await
    {
        Ok((Submitted::Created(r) | Submitted::Replayed(r), _)) => {
            Ok(Handled::Created(Reply::new("receipt", vec![r.display()])))
        }
        // The spent-token insert refused: this message id was handled already.
        Err(IntakeError::CaptchaReplayed) => Ok(Handled::Repeat),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_queries_and_tips_are_told_apart() {
        let r = Receipt::generate().unwrap();
        assert_eq!(
            classify(&format!("STATUS {}", r.display())),
            Command::Status(Some(r.clone()))
        );
        assert_eq!(
            classify(&format!("status:{}", r.digits())),
            Command::Status(Some(r.clone()))
        );
        let wide: String = r
            .display()
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
                other => other,
            })
            .collect();
        assert_eq!(
            classify(&format!("状态　{wide}")),
            Command::Status(Some(r.clone()))
        );
        assert_eq!(classify("状态 1234"), Command::Status(None));
        assert_eq!(classify("STATUS"), Command::Status(None));
        assert_eq!(
            classify("状态不对的人在西渡卖毒品"),
            Command::Text("状态不对的人在西渡卖毒品".into())
        );
        assert_eq!(
            classify("  有人在卖毒品 "),
            Command::Text("有人在卖毒品".into())
        );
    }
}
