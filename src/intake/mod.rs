//! The one intake pipeline. Every channel (web form, JSON API, and later SMS, email and
//! staff-entered hotline/box tips) builds a `NewTip` and calls `Intake::submit`, which
//! validates, seals and commits in one transaction, and returns the receipt only after the
//! commit is durable.

pub mod attachment;
pub mod catalog;
pub mod decode_gate;
pub mod email;
pub mod held;
pub mod imap;
pub mod journal;
pub mod rekey;
pub mod sms;
pub mod store;
pub mod writer;

use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::seal::{SealedObject, Sealer};
use crate::crypto::{CryptoError, Secret32, keyed_hash, random_bytes, subkey};
use crate::db::DbError;
use attachment::SealedAttachment;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Api,
    Sms,
    Email,
    Hotline,
    Box,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Hotline => "hotline",
            Channel::Box => "box",
        }
    }

    /// Whether only the reporter saw the receipt: not read back by a clerk, carried by an SMS
    /// provider or kept in a mailbox.
    pub fn receipt_is_private(self) -> bool {
        matches!(self, Channel::Web | Channel::Api)
    }
}

/// What a reporter told us, before validation. Text is as received.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TipFields {
    pub category: String,
    pub township: String,
    pub description: String,
    pub location: Option<String>,
    pub occurred_at: Option<String>,
    pub people: Option<String>,
    pub vehicles: Option<String>,
    pub county_only: bool,
}

pub struct NewTip {
    pub channel: Channel,
    pub fields: TipFields,
    pub attachments: Vec<SealedAttachment>,
}

/// Field limits, in characters.
pub const LIMITS: &[(&str, usize)] = &[
    ("description", 10_000),
    ("location", 1_000),
    ("occurred_at", 200),
    ("people", 4_000),
    ("vehicles", 2_000),
];

pub fn limit(field: &str) -> usize {
    LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, n)| *n)
        .unwrap_or(1_000)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("some fields are invalid")]
    Invalid(Vec<FieldError>),
    #[error("the captcha was already used")]
    CaptchaReplayed,
    #[error("this idempotency key was used for a different submission")]
    IdempotencyMismatch,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the tip store is shutting down")]
    Unavailable,
    /// A file held for the form expired or was used by another submission of the same form
    /// between its lookup and the tip's commit: nothing is stored, the form comes back.
    #[error("a held file is gone")]
    HeldFileGone,
}

impl From<diesel::result::Error> for IntakeError {
    fn from(e: diesel::result::Error) -> Self {
        IntakeError::Db(DbError::Query(e))
    }
}

fn clean(s: &str) -> String {
    // NUL and other C0 controls (except tab and newlines) have no place in a tip.
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect::<String>()
        .trim()
        .to_string()
}

fn optional(v: &Option<String>) -> Option<String> {
    v.as_deref().map(clean).filter(|s| !s.is_empty())
}

impl TipFields {
    /// Checks every field and reports all problems at once, so a form can show them together.
    pub fn validate(&self) -> Result<TipFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.category.is_empty() {
            errors.push(FieldError {
                field: "category",
                code: "required",
            });
        } else if catalog::category(&self.category).is_none() {
            errors.push(FieldError {
                field: "category",
                code: "unknown_choice",
            });
        }
        if self.township.is_empty() {
            errors.push(FieldError {
                field: "township",
                code: "required",
            });
        } else if catalog::township(&self.township).is_none() {
            errors.push(FieldError {
                field: "township",
                code: "unknown_choice",
            });
        }
        let description = clean(&self.description);
        if description.is_empty() {
            errors.push(FieldError {
                field: "description",
                code: "required",
            });
        }
        let out = TipFields {
            category: self.category.clone(),
            township: self.township.clone(),
            description,
            location: optional(&self.location),
            occurred_at: optional(&self.occurred_at),
            people: optional(&self.people),
            vehicles: optional(&self.vehicles),
            county_only: self.county_only,
        };
        for (field, value) in [
            ("description", Some(&out.description)),
            ("location", out.location.as_ref()),
            ("occurred_at", out.occurred_at.as_ref()),
            ("people", out.people.as_ref()),
            ("vehicles", out.vehicles.as_ref()),
        ] {
            if value.is_some_and(|v| v.chars().count() > limit(field)) {
                errors.push(FieldError {
                    field,
                    code: "too_long",
                });
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// A client's retry token (the `Idempotency-Key` header or the form's one-time token).
/// The receipt stored with it is sealed under a key derived from the token itself.
#[derive(Clone)]
pub struct IdempotencyKey {
    pub lookup: Vec<u8>,
    pub seal_key: Secret32,
    pub request_hash: Vec<u8>,
}

impl IdempotencyKey {
    pub fn new(pepper: &Secret32, token: &str, request_fingerprint: &[u8]) -> Self {
        Self {
            lookup: keyed_hash(pepper, &[b"idem-lookup", token.as_bytes()]).to_vec(),
            seal_key: Secret32::from_bytes(keyed_hash(pepper, &[b"idem-seal", token.as_bytes()])),
            request_hash: keyed_hash(
                pepper,
                &[b"idem-request", token.as_bytes(), request_fingerprint],
            )
            .to_vec(),
        }
    }
}

/// Everything the database needs, already sealed. Built off the writer thread.
pub struct PreparedTip {
    pub id: String,
    pub public_ref: String,
    pub channel: Channel,
    pub category: String,
    pub township: String,
    pub county_only: bool,
    pub created_hour: i64,
    pub receipt: Receipt,
    pub receipt_hash: Vec<u8>,
    pub reply_pubkey: Vec<u8>,
    pub payload: SealedObject,
    pub attachments: Vec<SealedAttachment>,
    /// Files held for the web form since it came back (`held`): they join the tip in its
    /// transaction, before `attachments`.
    pub held: Vec<held::HeldAttachment>,
    pub idempotency: Option<IdempotencyKey>,
    /// Fingerprint and expiry of a solved captcha, spent in the same transaction.
    pub spend_token: Option<(Vec<u8>, i64)>,
    /// How to reach a reporter who wrote by SMS or email: sealed to the relay key.
    pub contact: Option<crate::notify::contact::SealedContact>,
    /// Outgoing messages queued in the tip's transaction (an SMS answer or an emailed tip's
    /// acknowledgement, carrying the receipt, which exists only once the tip is prepared).
    pub outbox: Vec<crate::notify::outbox::SealedJob>,
    /// Staff-entered tips (hotline, box) are audited in the same transaction; tips from the
    /// public are not (an audit row would time-stamp the reporter).
    pub audit: Option<StaffStamp>,
    /// Binds the routing columns to the tip (`tips.route_mac`) once the unit is known.
    pub route_key: crate::triage::routing::RouteKey,
    /// A keyed hash of the acknowledgement's address and date: the acknowledgement in `outbox`
    /// is queued only while fewer than two went to that address that day.
    pub ack_quota: Option<Vec<u8>>,
}

/// Builds the answer to a new tip from its receipt.
pub type ReplyBuilder = Box<dyn FnOnce(&Receipt) -> crate::notify::Job + Send>;

/// What else commits with a tip from SMS or email.
#[derive(Default)]
pub struct ContactOptions {
    pub idempotency: Option<IdempotencyKey>,
    /// A provider message id's keyed fingerprint and expiry, spent in the tip's transaction: a
    /// repeat fails with `IntakeError::CaptchaReplayed` (the spent-token refusal) and creates
    /// nothing.
    pub spend_token: Option<(Vec<u8>, i64)>,
    /// Builds the answer queued in the outbox with the tip (it carries the new receipt).
    pub reply: Option<ReplyBuilder>,
    /// See `PreparedTip::ack_quota`.
    pub ack_quota: Option<Vec<u8>>,
}

pub struct StaffStamp {
    pub actor: String,
    /// The staff id of the person entering the tip: recorded on the tip, since they saw its
    /// receipt (they may not verify it or handle its reward).
    pub staff_id: String,
    pub signer: ed25519_dalek::SigningKey,
}

#[derive(Serialize)]
struct Payload<'a> {
    v: u8,
    channel: &'a str,
    submitted_at: i64,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    occurred_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    people: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vehicles: Option<&'a str>,
    attachments: Vec<&'a attachment::AttachmentMeta>,
}

pub enum Submitted {
    Created(Receipt),
    /// A retry of a submission that already committed: the same receipt, no second tip.
    Replayed(Receipt),
}

impl Submitted {
    pub fn receipt(&self) -> &Receipt {
        match self {
            Submitted::Created(r) | Submitted::Replayed(r) => r,
        }
    }
}

const REF_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// "T" and 10 characters of an unambiguous alphabet: 50 bits, so a million tips collide with
/// odds of about 1 in 2,000 (a collision fails that one insert, and the retry gets a new one).
pub(crate) fn public_ref() -> Result<String, CryptoError> {
    let b = random_bytes::<10>()?;
    Ok(std::iter::once('T')
        .chain(
            b.iter()
                .map(|x| char::from(REF_ALPHABET[(*x as usize) % REF_ALPHABET.len()])),
        )
        .collect())
}

pub struct Intake {
    pub keys: Arc<Keyring>,
    pub sealer: Arc<Sealer>,
    pub store: writer::TipStore,
}

impl Intake {
    /// Seals a validated tip. CPU work only; runs on the request's worker, not the writer.
    pub fn prepare(
        &self,
        channel: Channel,
        fields: &TipFields,
        attachments: Vec<SealedAttachment>,
        idempotency: Option<IdempotencyKey>,
        spend_token: Option<(Vec<u8>, i64)>,
    ) -> Result<PreparedTip, IntakeError> {
        self.prepare_with_held(
            channel,
            fields,
            Vec::new(),
            attachments,
            idempotency,
            spend_token,
        )
    }

    /// `prepare` for a web form with files held since it came back.
    pub fn prepare_with_held(
        &self,
        channel: Channel,
        fields: &TipFields,
        held: Vec<held::HeldAttachment>,
        attachments: Vec<SealedAttachment>,
        idempotency: Option<IdempotencyKey>,
        spend_token: Option<(Vec<u8>, i64)>,
    ) -> Result<PreparedTip, IntakeError> {
        let now = crate::db::now_unix();
        let id = hex::encode(random_bytes::<16>()?);
        let receipt = Receipt::generate()?;
        let receipt_hash = receipt.hash(&self.keys.peppers.receipt).0.to_vec();
        let reply_pubkey = crate::crypto::reply::reply_public(&self.keys, &receipt);
        let metas: Vec<&attachment::AttachmentMeta> = held
            .iter()
            .map(|h| &h.meta)
            .chain(attachments.iter().map(|a| &a.meta))
            .collect();
        let payload = Payload {
            v: 1,
            channel: channel.as_str(),
            // The hour, like every other trace of a reporter's action (issue 13): older payloads
            // hold the second, and are shown at the hour.
            submitted_at: crate::db::hour_floor(now),
            description: &fields.description,
            location: fields.location.as_deref(),
            occurred_at: fields.occurred_at.as_deref(),
            people: fields.people.as_deref(),
            vehicles: fields.vehicles.as_deref(),
            attachments: metas,
        };
        let json =
            zeroize::Zeroizing::new(serde_json::to_vec(&payload).map_err(|_| CryptoError::Seal)?);
        let sealed = self.sealer.seal_in(
            crate::crypto::seal::Stream::Reporter,
            &self.keys.office,
            "tip",
            &id,
            &json,
        )?;
        Ok(PreparedTip {
            public_ref: public_ref()?,
            id,
            channel,
            category: fields.category.clone(),
            township: fields.township.clone(),
            county_only: fields.county_only,
            created_hour: crate::db::hour_floor(now),
            receipt,
            receipt_hash,
            reply_pubkey,
            payload: sealed,
            attachments,
            held,
            idempotency,
            spend_token,
            contact: None,
            outbox: Vec::new(),
            audit: None,
            route_key: crate::triage::routing::RouteKey::new(&self.keys),
            ack_quota: None,
        })
    }

    /// Validates, seals and durably stores a tip; returns its receipt.
    pub async fn submit(
        &self,
        tip: NewTip,
        idempotency: Option<IdempotencyKey>,
        spend_token: Option<(Vec<u8>, i64)>,
    ) -> Result<Submitted, IntakeError> {
        let fields = tip.fields.validate().map_err(IntakeError::Invalid)?;
        let prepared = self.prepare(
            tip.channel,
            &fields,
            tip.attachments,
            idempotency,
            spend_token,
        )?;
        self.store.commit(prepared).await
    }

    /// `submit` for a web form whose earlier sending left files held for it.
    pub async fn submit_with_held(
        &self,
        tip: NewTip,
        held: Vec<held::HeldAttachment>,
        idempotency: Option<IdempotencyKey>,
        spend_token: Option<(Vec<u8>, i64)>,
    ) -> Result<Submitted, IntakeError> {
        let fields = tip.fields.validate().map_err(IntakeError::Invalid)?;
        let prepared = self.prepare_with_held(
            tip.channel,
            &fields,
            held,
            tip.attachments,
            idempotency,
            spend_token,
        )?;
        self.store.commit(prepared).await
    }

    /// A tip taken by staff from the hotline or the report box: same pipeline, no captcha,
    /// audited. Returns the receipt to read back to the caller, and the tip id.
    pub async fn submit_by_staff(
        &self,
        channel: Channel,
        fields: TipFields,
        stamp: StaffStamp,
    ) -> Result<(Submitted, String), IntakeError> {
        let fields = fields.validate().map_err(IntakeError::Invalid)?;
        let mut prepared = self.prepare(channel, &fields, Vec::new(), None, None)?;
        prepared.audit = Some(stamp);
        let id = prepared.id.clone();
        Ok((self.store.commit(prepared).await?, id))
    }

    /// A tip that arrived by SMS or email: same pipeline, with the sender's address sealed in a
    /// contact envelope (never shown to staff, purged after `retention_days`). Returns the
    /// receipt and the tip id.
    pub async fn submit_with_contact(
        &self,
        tip: NewTip,
        contact: &crate::notify::contact::Contact,
        retention_days: i64,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<(Submitted, String), IntakeError> {
        self.submit_contact(
            tip,
            contact,
            retention_days,
            ContactOptions {
                idempotency,
                ..ContactOptions::default()
            },
        )
        .await
    }

    /// `submit_with_contact` with everything a provider webhook or a mail needs committed in
    /// the tip's own transaction: the message id spent, and the answer (which carries the new
    /// receipt) queued, so the sender hears back only about a stored tip and a stored tip's
    /// answer cannot be lost. A replayed submission sends nothing again.
    pub async fn submit_contact(
        &self,
        tip: NewTip,
        contact: &crate::notify::contact::Contact,
        retention_days: i64,
        options: ContactOptions,
    ) -> Result<(Submitted, String), IntakeError> {
        let fields = tip.fields.validate().map_err(IntakeError::Invalid)?;
        let mut prepared = self.prepare(
            tip.channel,
            &fields,
            tip.attachments,
            options.idempotency,
            options.spend_token,
        )?;
        prepared.contact = Some(crate::notify::contact::seal(
            &self.keys,
            &self.sealer,
            &prepared.id,
            contact,
            retention_days,
        )?);
        prepared.ack_quota = options.ack_quota;
        if let Some(reply) = options.reply {
            let job = reply(&prepared.receipt);
            prepared.outbox.push(
                crate::notify::outbox::seal_job(
                    &self.sealer,
                    crate::crypto::seal::Stream::Reporter,
                    &self.keys.reporter_relay,
                    &job,
                )
                .map_err(|_| IntakeError::Crypto(CryptoError::Seal))?,
            );
        }
        let id = prepared.id.clone();
        Ok((self.store.commit(prepared).await?, id))
    }

    /// Key under which captcha and form tokens are sealed.
    pub fn token_key(&self) -> Secret32 {
        subkey(&self.keys.peppers.token, "public-tokens")
    }
}
