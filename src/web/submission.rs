//! Reading a submission from the web form or the JSON API into the intake pipeline's terms,
//! and the steps every public submission goes through: fields, retry token, captcha, commit.

use super::AppState;
use super::errors::ApiError;
use crate::crypto::sha256;
use crate::intake::attachment::{AttachmentError, SealedAttachment, seal_file};
use crate::intake::held::{self, FormHold, HeldEntry};
use crate::intake::store::find_replay;
use crate::intake::{Channel, FieldError, IdempotencyKey, NewTip, Submitted, TipFields};
use crate::web::captcha::CaptchaError;
use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use actix_web::web;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Largest text field in a multipart body, in bytes (the longest field, 10,000 characters, fits).
const MAX_TEXT_FIELD: usize = 64 * 1024;
/// Largest JSON body.
pub const MAX_JSON_BODY: usize = 128 * 1024;

#[derive(Default)]
pub struct Submission {
    pub fields: TipFields,
    pub attachments: Vec<SealedAttachment>,
    pub captcha_id: Option<String>,
    pub captcha_answer: Option<String>,
    pub form_token: Option<String>,
    pub lang: Option<String>,
    /// Hash of everything submitted, so a retry token reused for other content is refused.
    pub fingerprint: Vec<u8>,
    /// The upload slot a multipart body was read under, held until its tip is committed: the
    /// sealed files wait for the database in memory, so releasing the slot once they were read
    /// would let a flood pile up far more of them than `UPLOAD_SLOTS`.
    pub upload_slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Where the retry token comes from: the API's `Idempotency-Key` header or the web form's
    /// `form_token` field.
    pub retry_from: RetryFrom,
    /// The retry token already committed a submission: this is a resend (a reload of the
    /// receipt page). Its files are hashed to compare with the first, never decoded or sealed.
    pub replay_only: bool,
    /// Set once the submission passed `gate` (captcha spent, fields valid): what the tip's
    /// transaction must spend.
    pub passed: Option<Option<(Vec<u8>, i64)>>,
    /// File parts with content that arrived, kept or not: a page that comes back says how many
    /// must be chosen again.
    pub files_seen: usize,
    /// The form's "new captcha" button: the form comes back with everything typed and a fresh
    /// captcha; nothing is checked, and files are held (web form) or not read (API).
    pub refresh: bool,
    /// Files held for the web form's token (issue 16); `None` for the API and before the form's
    /// token was read.
    pub hold: Option<Hold>,
    /// Held files the resident ticked to drop (`drop_held` parts: their ids).
    pub drop_held: Vec<String>,
    /// The `held::FormHold::file_key` of each of `attachments`, while holding.
    pub attachment_keys: Vec<Vec<u8>>,
}

/// The files held for a web form, and whether this sending is being held rather than sent.
pub struct Hold {
    pub form: FormHold,
    /// Held and not expired, less the ones dropped.
    pub entries: Vec<HeldEntry>,
    /// This sending is held, not sent: why it came back (`None` for the new-captcha button).
    pub refusal: Option<ApiError>,
    pub holding: bool,
    /// While holding: new files may be decoded and sealed (a genuine captcha id's one hold, and
    /// the hold slot was free). Otherwise only files already held are recognised.
    pub may_seal: bool,
    /// Files in this body that were already held (a reload, or chosen again): not decoded.
    pub already_held: usize,
}

/// Most `drop_held` parts read from one form.
const MAX_DROPS: usize = 32;

/// Where a submission's retry token is.
#[derive(Default, Clone)]
pub enum RetryFrom {
    /// The API's `Idempotency-Key` header (already read; `None` when absent).
    #[default]
    NoToken,
    Header(String),
    /// The web form's hidden `form_token` field.
    FormField,
}

impl Submission {
    pub fn retry_token(&self) -> Option<&str> {
        match &self.retry_from {
            RetryFrom::NoToken => None,
            RetryFrom::Header(t) => Some(t),
            RetryFrom::FormField => self.form_token.as_deref().filter(|t| !t.is_empty()),
        }
    }
}

#[derive(Deserialize)]
struct JsonTip {
    #[serde(default)]
    category: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    description: String,
    location: Option<String>,
    occurred_at: Option<String>,
    people: Option<String>,
    vehicles: Option<String>,
    #[serde(default)]
    county_only: bool,
    captcha_id: Option<String>,
    captcha_answer: Option<String>,
}

fn fingerprint(f: &TipFields, attachment_hashes: &[[u8; 32]]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = vec![
        f.category.as_bytes(),
        f.township.as_bytes(),
        f.description.as_bytes(),
        f.location.as_deref().unwrap_or_default().as_bytes(),
        f.occurred_at.as_deref().unwrap_or_default().as_bytes(),
        f.people.as_deref().unwrap_or_default().as_bytes(),
        f.vehicles.as_deref().unwrap_or_default().as_bytes(),
        if f.county_only { b"1" } else { b"0" },
    ];
    for h in attachment_hashes {
        parts.push(h);
    }
    let mut buf = Vec::new();
    for p in parts {
        buf.extend_from_slice(&(p.len() as u64).to_be_bytes());
        buf.extend_from_slice(p);
    }
    sha256(&buf).to_vec()
}

/// Parses a JSON request body that must be an object of the expected shape (serde would also
/// read a struct from an array; the API does not accept that).
pub fn json_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::InvalidUtf8);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ApiError::MalformedJson)?;
    if !value.is_object() {
        return Err(ApiError::MalformedJson);
    }
    serde_json::from_value(value).map_err(|_| ApiError::MalformedJson)
}

pub fn from_json(body: &[u8]) -> Result<Submission, ApiError> {
    let j: JsonTip = json_object(body)?;
    let fields = TipFields {
        category: j.category,
        township: j.township,
        description: j.description,
        location: j.location,
        occurred_at: j.occurred_at,
        people: j.people,
        vehicles: j.vehicles,
        county_only: j.county_only,
    };
    Ok(Submission {
        fingerprint: fingerprint(&fields, &[]),
        fields,
        captcha_id: j.captcha_id,
        captcha_answer: j.captcha_answer,
        ..Default::default()
    })
}

/// Reads a JSON body up to the limit.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::MalformedJson)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request body that records when it has ended.
struct Watched<S> {
    inner: S,
    ended: Rc<Cell<bool>>,
}

impl<S: Stream + Unpin> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = item {
            self.ended.set(true);
        }
        item
    }
}

/// The next item of the multipart stream or of a part. actix-multipart 0.7 can wait for more
/// data after the body has ended (a body ending in a lone `\r` or inside a boundary line, found
/// by the `tip_multipart` fuzz target), and nothing would ever wake it: the request would hold
/// an upload slot until the client hung up, and four such requests would stop every upload.
/// Waiting once the body has ended is therefore a malformed body.
async fn next_item<St: Stream + Unpin>(
    stream: &mut St,
    ended: &Cell<bool>,
) -> Result<Option<St::Item>, ApiError> {
    std::future::poll_fn(|cx| match stream.poll_next_unpin(cx) {
        Poll::Pending if ended.get() => Poll::Ready(Err(ApiError::MalformedMultipart)),
        Poll::Pending => Poll::Pending,
        Poll::Ready(item) => Poll::Ready(Ok(item)),
    })
    .await
}

/// actix-multipart 0.7.2 slices the lines before the first boundary by the boundary's length and
/// panics on a boundary shorter than 4 bytes (`boundary=x` and a line `\n`, found by the
/// `tip_multipart` fuzz target). RFC 2046 allows 1 to 70 characters; browsers and HTTP libraries
/// send 16 or more. The header is parsed as actix-multipart parses it; one it cannot parse is
/// left to its own error.
fn boundary_too_short(headers: &HeaderMap) -> bool {
    headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .and_then(|m| {
            m.get_param(actix_web::mime::BOUNDARY)
                .map(|b| b.as_str().len())
        })
        .is_some_and(|len| len < 4)
}

/// The first non-empty chunk of a part, or `None` when the part is empty.
async fn first_bytes(
    field: &mut actix_multipart::Field,
    ended: &Cell<bool>,
) -> Result<Option<Bytes>, ApiError> {
    while let Some(chunk) = next_item(field, ended).await? {
        let chunk = chunk.map_err(|_| ApiError::MalformedMultipart)?;
        if !chunk.is_empty() {
            return Ok(Some(chunk));
        }
    }
    Ok(None)
}

/// The rest of a part after `first`, refused as `too_large` beyond `limit` bytes.
async fn read_field(
    first: Bytes,
    field: &mut actix_multipart::Field,
    ended: &Cell<bool>,
    limit: usize,
    too_large: ApiError,
) -> Result<Vec<u8>, ApiError> {
    if first.len() > limit {
        return Err(too_large);
    }
    let mut buf = first.to_vec();
    while let Some(chunk) = next_item(field, ended).await? {
        let chunk = chunk.map_err(|_| ApiError::MalformedMultipart)?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Parses a multipart body. Each file is sealed as soon as it has arrived, so at most one
/// file's plaintext is in memory at a time, and only in memory. A refused file does not stop
/// the parse: the rest of the form is still read, so the page can show what was typed.
pub async fn from_multipart(
    state: &web::Data<AppState>,
    headers: &HeaderMap,
    payload: web::Payload,
    retry_from: RetryFrom,
    refresh: bool,
) -> (Submission, Result<(), ApiError>) {
    let mut sub = Submission {
        retry_from,
        refresh,
        ..Default::default()
    };
    let result = read_multipart(state, headers, payload, &mut sub).await;
    (sub, result)
}

async fn read_multipart(
    state: &web::Data<AppState>,
    headers: &HeaderMap,
    payload: web::Payload,
    sub: &mut Submission,
) -> Result<(), ApiError> {
    let limits = FormLimits {
        max_attachment_bytes: state.config.max_attachment_bytes,
        max_attachments: state.config.max_attachments,
        max_body_bytes: state.config.max_body_bytes(),
    };
    // The slot is taken when the first file arrives, not for the whole body: every web form is
    // multipart, and a report without a photo must not wait behind a flood of uploads (nor be
    // stopped by four slow ones). The text parts before it are already read, so a page that
    // answers "busy" still shows what was typed.
    let mut slot = None;
    let mut hold_slot = None;
    let uploads = state.uploads.clone();
    // Before a file is read, let alone decoded: the captcha and the fields (which the form puts
    // before its file input), then an upload slot. A body whose file comes before a captcha is
    // refused as one without a captcha, and a wrong one costs nothing but its bytes, except on
    // the web form, whose files are held for the corrected form (`begin_hold`): decoded only
    // for a genuine captcha id's one hold, one form at a time, apart from the upload slots.
    let take_slot = async |sub: &mut Submission| {
        if sub.hold.as_ref().is_some_and(|h| h.holding) {
            return Ok(());
        }
        let gated = if sub.refresh {
            Err(None)
        } else {
            gate(state, sub).await.map_err(Some)
        };
        if let Err(refusal) = gated {
            if matches!(sub.retry_from, RetryFrom::FormField)
                && refusal.as_ref().is_none_or(holdable)
            {
                ensure_hold(state, sub).await;
            }
            if sub.hold.is_none() {
                // Nothing to hold for (the API, a token of the wrong shape): refused as before;
                // the new-captcha button skips the file.
                return refusal.map_or(Ok(()), Err);
            }
            let mut may_seal = hold_allowed(state, sub.captcha_id.as_deref()).await?;
            if may_seal {
                match state.holds.clone().try_acquire_owned() {
                    Ok(p) => hold_slot = Some(p),
                    Err(_) => may_seal = false,
                }
            }
            if let Some(hold) = sub.hold.as_mut() {
                hold.refusal = refusal;
                hold.holding = true;
                hold.may_seal = may_seal;
            }
            return Ok(());
        }
        if sub.replay_only {
            return Ok(());
        }
        if matches!(sub.retry_from, RetryFrom::FormField) {
            ensure_hold(state, sub).await;
        }
        if slot.is_none() {
            let permit =
                tokio::time::timeout(Duration::from_secs(30), uploads.clone().acquire_owned())
                    .await
                    .map_err(|_| ApiError::Unavailable)?
                    .map_err(|_| ApiError::Unavailable)?;
            slot = Some(permit);
        }
        Ok(())
    };
    let seal = async |bytes: Vec<u8>| {
        let st = state.clone();
        web::block(move || {
            let mut bytes = bytes;
            let r = seal_file(
                &st.intake.sealer,
                &st.intake.keys.office,
                &bytes,
                st.config.max_image_pixels,
            );
            zeroize::Zeroize::zeroize(&mut bytes);
            r
        })
        .await
        .map_err(|_| ApiError::Internal)
    };
    let result = read_form(headers, payload, &limits, sub, take_slot, seal).await;
    sub.upload_slot = slot.or(hold_slot);
    result
}

/// Whether a refusal leaves the web form's files held: a wrong or missing captcha, or invalid
/// fields. A busy server, a rate limit or a malformed body does not.
fn holdable(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Validation(_) | ApiError::Captcha(_) | ApiError::CaptchaReplayed
    )
}

/// Whether a refused form may decode and hold new files: with captchas on, only for a genuine,
/// unexpired captcha id, once (`CaptchaService::hold_key`). A sender without a captcha from
/// this server gets nothing decoded.
async fn hold_allowed(
    state: &web::Data<AppState>,
    captcha_id: Option<&str>,
) -> Result<bool, ApiError> {
    if !state.captcha.enabled {
        return Ok(true);
    }
    let Some((key, expires)) = captcha_id
        .filter(|id| !id.is_empty())
        .and_then(|id| state.captcha.hold_key(id, crate::db::now_unix()))
    else {
        return Ok(false);
    };
    super::db(state, move |conn, _| {
        crate::intake::store::spend_once(conn, &key, expires).map_err(|e| {
            tracing::error!(error = %e, "recording a captcha's hold failed");
            ApiError::Internal
        })
    })
    .await
}

/// Looks up the files held for the web form's token, once, leaving out those the resident
/// dropped (and deleting them). A token of the wrong shape holds nothing. A failed lookup is
/// logged and holds nothing: the form still works, its files are asked for again.
pub async fn ensure_hold(state: &web::Data<AppState>, sub: &mut Submission) {
    if sub.hold.is_some() {
        return;
    }
    let Some(token) = sub
        .form_token
        .clone()
        .filter(|t| check_token_shape(t).is_ok())
    else {
        return;
    };
    let form = FormHold::new(&state.intake.keys.peppers.idempotency, &token);
    let drops: Vec<String> = sub.drop_held.clone();
    let found = super::db(state, move |conn, _| {
        let found = held::drop_files(conn, &form, &drops).and_then(|_| held::list(conn, &form));
        match found {
            Ok(entries) => Ok((form, entries)),
            Err(e) => {
                tracing::error!(error = %e, "looking up a form's held files failed");
                Err(ApiError::Internal)
            }
        }
    })
    .await;
    let Ok((form, entries)) = found else {
        return;
    };
    sub.hold = Some(Hold {
        form,
        entries,
        refusal: None,
        holding: false,
        may_seal: false,
        already_held: 0,
    });
}

/// The caps a multipart form is read under.
pub struct FormLimits {
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
    pub max_body_bytes: usize,
}

/// Reads a multipart body (parsed by actix-multipart) into a submission: text parts by name
/// (unknown names, and every part's content type and file name, are ignored, never stored),
/// each `attachment` part handed to `seal` as soon as it has arrived. `before_file` runs when
/// a file part's first bytes arrive (not for the empty part of a file input left empty),
/// before the file is read into memory, with the text parts read so far; an error from it
/// ends the parse. When it marks the submission `replay_only`, files are hashed, not sealed. Split from the web handler
/// so that the fuzz target drives this same code with its own sealer and no server
/// (`tipline::fuzzing`).
pub async fn read_form<S>(
    headers: &HeaderMap,
    body: S,
    limits: &FormLimits,
    sub: &mut Submission,
    mut before_file: impl AsyncFnMut(&mut Submission) -> Result<(), ApiError>,
    mut seal: impl AsyncFnMut(Vec<u8>) -> Result<Result<SealedAttachment, AttachmentError>, ApiError>,
) -> Result<(), ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin + 'static,
{
    if boundary_too_short(headers) {
        return Err(ApiError::MalformedMultipart);
    }
    let ended = Rc::new(Cell::new(false));
    let mut mp = Multipart::new(
        headers,
        Watched {
            inner: body,
            ended: ended.clone(),
        },
    );
    let mut attachment_hashes = Vec::new();
    let mut refused: Option<ApiError> = None;
    let mut total = 0usize;
    while let Some(field) = next_item(&mut mp, &ended).await? {
        let mut field = field.map_err(|_| ApiError::MalformedMultipart)?;
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachment" {
            // A file input left empty still sends an empty part.
            let Some(first) = first_bytes(&mut field, &ended).await? else {
                continue;
            };
            sub.files_seen += 1;
            before_file(sub).await?;
            let (holding, may_seal, recognise) =
                sub.hold.as_ref().map_or((false, false, false), |h| {
                    (h.holding, h.may_seal, !h.entries.is_empty())
                });
            if holding && !may_seal && !recognise && !sub.refresh {
                // Refused, nothing may be held and nothing is held to recognise: the rest of the
                // body is not read, as for any refused upload. The page shows the refusal.
                return Err(ApiError::MalformedMultipart);
            }
            if sub.refresh && !(holding && (may_seal || recognise)) {
                // The new-captcha button with nothing to hold (or the API): the file is skipped,
                // within the body cap.
                total += first.len();
                while let Some(chunk) = next_item(&mut field, &ended).await? {
                    total += chunk.map_err(|_| ApiError::MalformedMultipart)?.len();
                    if total > limits.max_body_bytes {
                        return Err(ApiError::PayloadTooLarge);
                    }
                }
                continue;
            }
            let limit = limits.max_attachment_bytes;
            let read = read_field(
                first,
                &mut field,
                &ended,
                limit,
                ApiError::AttachmentTooLarge,
            );
            let bytes = match read.await {
                Ok(b) => b,
                Err(ApiError::AttachmentTooLarge) => {
                    // Drain the rest of this file without keeping it, within the body cap.
                    total += limit;
                    while let Some(chunk) = next_item(&mut field, &ended).await? {
                        total += chunk.map_err(|_| ApiError::MalformedMultipart)?.len();
                        if total > limits.max_body_bytes {
                            return Err(ApiError::PayloadTooLarge);
                        }
                    }
                    refused.get_or_insert(ApiError::AttachmentTooLarge);
                    continue;
                }
                Err(e) => return Err(e),
            };
            total += bytes.len();
            let sha = sha256(&bytes);
            let mut file_key = None;
            if let Some(h) = sub.hold.as_mut() {
                let key = h.form.file_key(&sha);
                if h.entries.iter().any(|e| e.file_key == key) || sub.attachment_keys.contains(&key)
                {
                    // Held already (a reload of the refused form, or the photo chosen again):
                    // neither decoded nor held twice.
                    h.already_held += 1;
                    continue;
                }
                if h.holding && !h.may_seal {
                    // Not kept: the page asks for it again.
                    continue;
                }
                file_key = Some(key);
            }
            let held = sub.hold.as_ref().map_or(0, |h| h.entries.len());
            if sub.attachments.len() + held >= limits.max_attachments {
                refused.get_or_insert(ApiError::TooManyAttachments);
                continue;
            }
            attachment_hashes.push(sha);
            if sub.replay_only {
                // A resend: compared by hash with what was stored, never decoded.
                continue;
            }
            match seal(bytes).await? {
                Ok(a) => {
                    sub.attachments.push(a);
                    sub.attachment_keys.extend(file_key);
                }
                Err(AttachmentError::Seal) => return Err(ApiError::Internal),
                Err(other) => {
                    refused.get_or_insert(ApiError::Attachment(other));
                }
            }
            continue;
        }
        let bytes = read_field(
            Bytes::new(),
            &mut field,
            &ended,
            MAX_TEXT_FIELD,
            ApiError::PayloadTooLarge,
        )
        .await?;
        total += bytes.len();
        if total > limits.max_body_bytes {
            return Err(ApiError::PayloadTooLarge);
        }
        let text = String::from_utf8(bytes).map_err(|_| ApiError::InvalidUtf8)?;
        match name.as_str() {
            "category" => sub.fields.category = text,
            "township" => sub.fields.township = text,
            "description" => sub.fields.description = text,
            "location" => sub.fields.location = Some(text),
            "occurred_at" => sub.fields.occurred_at = Some(text),
            "people" => sub.fields.people = Some(text),
            "vehicles" => sub.fields.vehicles = Some(text),
            "county_only" => {
                sub.fields.county_only = matches!(text.as_str(), "on" | "true" | "1" | "yes")
            }
            "captcha_id" => sub.captcha_id = Some(text),
            "captcha_answer" => sub.captcha_answer = Some(text),
            "form_token" => sub.form_token = Some(text),
            "lang" => sub.lang = Some(text),
            "drop_held" if sub.drop_held.len() < MAX_DROPS => sub.drop_held.push(text),
            // Unknown parts are ignored, not stored.
            _ => {}
        }
    }
    sub.fingerprint = fingerprint(&sub.fields, &attachment_hashes);
    match refused {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn check_token_shape(token: &str) -> Result<(), ApiError> {
    if (8..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ApiError::BadIdempotencyKey)
    }
}

/// Whether `token` already committed a submission.
async fn token_committed(state: &web::Data<AppState>, token: &str) -> Result<bool, ApiError> {
    check_token_shape(token)?;
    let lookup = IdempotencyKey::new(&state.intake.keys.peppers.idempotency, token, &[]).lookup;
    super::db(state, move |conn, _| {
        crate::intake::store::token_committed(conn, &lookup).map_err(|e| {
            tracing::error!(error = %e, "retry token lookup failed");
            ApiError::Internal
        })
    })
    .await
}

/// One attempt at a captcha id. The attempt is recorded across nodes before the answer is
/// compared, whether it is right or wrong, so an id takes one guess: a wrong answer, or a
/// second try of a right one, spends it. A blank answer, or an id that does not open or has
/// expired, is no attempt.
async fn captcha_attempt(
    state: &web::Data<AppState>,
    id: Option<&str>,
    answer: Option<&str>,
    now: i64,
) -> Result<Result<Option<(Vec<u8>, i64)>, CaptchaError>, ApiError> {
    let result = state.captcha.check(id, answer, now);
    let id = match (&result, id) {
        (Ok(None), _) => return Ok(result),
        (Ok(Some(_)) | Err(CaptchaError::Wrong), Some(id)) => id,
        _ => return Ok(result),
    };
    let (key, expires) = state.captcha.attempt_key(id, now);
    let first = super::db(state, move |conn, _| {
        crate::intake::store::spend_once(conn, &key, expires).map_err(|e| {
            tracing::error!(error = %e, "recording a captcha attempt failed");
            ApiError::Internal
        })
    })
    .await?;
    Ok(if first {
        result
    } else {
        Err(CaptchaError::Used)
    })
}

/// What a public submission passes before any of its files is read: a resend of a committed
/// one is marked `replay_only`; otherwise the captcha (checked first, one attempt per id) and
/// the fields. When the fields are wrong the captcha's result is not told (the id is spent
/// either way): its field says only to answer the new one.
pub async fn gate(state: &web::Data<AppState>, sub: &mut Submission) -> Result<(), ApiError> {
    if sub.passed.is_some() || sub.replay_only {
        return Ok(());
    }
    if let Some(token) = sub.retry_token().map(str::to_string)
        && token_committed(state, &token).await?
    {
        sub.replay_only = true;
        return Ok(());
    }
    let now = crate::db::now_unix();
    let captcha = captcha_attempt(
        state,
        sub.captcha_id.as_deref(),
        sub.captcha_answer.as_deref(),
        now,
    )
    .await?;
    let field_errors = sub.fields.validate().err().unwrap_or_default();
    match (field_errors.is_empty(), captcha) {
        (true, Ok(spend)) => {
            sub.passed = Some(spend);
            Ok(())
        }
        (true, Err(e)) => Err(ApiError::Captcha(e)),
        (false, captcha) => {
            let mut errors = field_errors;
            let code = match captcha {
                Err(CaptchaError::Missing) => Some("required"),
                _ if state.captcha.enabled => Some("captcha_again"),
                _ => None,
            };
            if let Some(code) = code {
                errors.push(FieldError {
                    field: "captcha_answer",
                    code,
                });
            }
            Err(ApiError::Validation(errors))
        }
    }
}

/// The steps every public submission takes: a resend answered from its stored receipt, then
/// `gate` (unless the multipart reader already ran it before the first file), then the commit.
pub async fn submit(
    state: &web::Data<AppState>,
    channel: Channel,
    mut sub: Submission,
) -> Result<Submitted, ApiError> {
    // Released when this returns: the commit below is part of what the slot bounds.
    let _upload_slot = sub.upload_slot.take();
    let key = match sub.retry_token() {
        Some(t) => {
            check_token_shape(t)?;
            Some(IdempotencyKey::new(
                &state.intake.keys.peppers.idempotency,
                t,
                &sub.fingerprint,
            ))
        }
        None => None,
    };
    // A retry after a dropped connection, or a reload of the receipt page, carries an already
    // spent captcha: answer it from the stored receipt before looking at the captcha.
    if let Some(k) = &key {
        let lookup = k.clone();
        let any_content = matches!(sub.retry_from, RetryFrom::FormField);
        let replay = super::db_intake(state, move |conn, _| {
            if any_content {
                crate::intake::store::find_replay_any_content(conn, &lookup)
            } else {
                find_replay(conn, &lookup)
            }
            .map_err(ApiError::from)
        })
        .await?;
        if let Some(receipt) = replay {
            return Ok(Submitted::Replayed(receipt));
        }
    }
    if sub.replay_only {
        // The stored receipt expired between the two looks: the files were never sealed.
        return Err(ApiError::IdempotencyMismatch);
    }
    gate(state, &mut sub).await?;
    let spend = sub.passed.take().flatten();
    let held = sub
        .hold
        .take()
        .filter(|h| !h.entries.is_empty())
        .map(|h| (h.form, h.entries));
    let tip = NewTip {
        channel,
        fields: sub.fields,
        attachments: sub.attachments,
    };
    let Some((form, entries)) = held else {
        return Ok(state.intake.submit(tip, key, spend).await?);
    };
    // The files held since the form came back join the tip, counted against the same cap.
    if entries.len() + tip.attachments.len() > state.config.max_attachments {
        return Err(ApiError::TooManyAttachments);
    }
    let held = super::db(state, move |conn, _| {
        held::load(conn, &form, &entries).map_err(ApiError::from)
    })
    .await?;
    Ok(state.intake.submit_with_held(tip, held, key, spend).await?)
}
