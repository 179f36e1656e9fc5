//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay test
//! (`tests/fuzz_corpus.rs`). Each takes raw outside input and sends it through the same code the
//! server runs for it, with no database, network or keys directory, then asserts what must hold
//! of the result. A refused input is fine; a panic or a failed assertion is a bug. See
//! `docs/fuzzing.md`.
//!
//! Where the server's code needs keys, these functions use fixed throwaway ones: the
//! signature and token checks still run, the fuzzer just knows the secret.

use crate::config::{SecretText, SmsConfig, SmsProvider};
use crate::crypto::receipt::{Receipt, damm};
use crate::crypto::seal::{NodeIdentity, Recipient, Sealer, kem_keypair_from_seed};
use crate::intake::attachment::{self, AttachmentError, SealedAttachment};
use crate::intake::email;
use crate::intake::sms::{MAX_TEXT_CHARS, Plan, plan};
use crate::intake::{TipFields, limit};
use crate::notify::sms::tencent::{self, Tencent};
use crate::notify::sms::twilio::{self, Twilio};
use crate::notify::sms::{InboundCall, InboundError, InboundSms, Provider};
use crate::rewards::claim::{CLAIM_DIGITS, ClaimCode, LEGACY_CLAIM_DIGITS};
use crate::triage::messages::MAX_MESSAGE_CHARS;
use crate::web::errors::ApiError;
use crate::web::submission::{FormLimits, Submission, from_json, read_form};
use std::sync::OnceLock;
use std::time::Duration;

/// The office's sending address in the email target: mail claiming to come from it is refused.
const OWN_ADDRESS: &str = "tips@office.test";
/// The server's default `TIPLINE_MAX_IMAGE_PIXELS` and `TIPLINE_MAX_ATTACHMENT_BYTES`.
pub const MAX_IMAGE_PIXELS: u64 = 16_000_000;
const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// "Now" for Tencent callbacks (2026-11-20), so a seed's `time` stays fresh and runs repeat.
pub const TENCENT_NOW: i64 = 1_795_000_000;
const TWILIO_TOKEN: &str = "fuzz-auth-token";
const TENCENT_TOKEN: &str = "fuzz-callback-token";

/// Splits `data` at its first newline: a header line (URL, query string, content type) and the
/// body. Input without a newline is all body.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[], data),
    }
}

/// libFuzzer's panic hook aborts on every panic, even a caught one. The server runs two outside
/// parsers under `catch_unwind` on purpose (mail-parser in `intake::email`, the image decoders
/// in `intake::attachment`): a panic there refuses the input. A fuzz target names the crates
/// whose panics it expects (`/mail-parser-`, `/image-0.`); their panics are reported once and
/// let through to that `catch_unwind`, any other panic, ours included, still aborts as a crash.
/// A panic counts as theirs when one of their frames is on the stack, since an arithmetic
/// overflow panics in `core`, not at their own line; none of them calls our code.
pub fn let_caught_panics_through(markers: &'static [&'static str]) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        let seen = std::sync::Once::new();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.file()).unwrap_or_default();
            // The backtrace only when the location does not already say whose panic it is.
            let theirs = markers.iter().any(|m| at.contains(m)) || {
                let stack = std::backtrace::Backtrace::force_capture().to_string();
                markers.iter().any(|m| stack.contains(m))
            };
            if theirs {
                seen.call_once(|| eprintln!("caught by the server's catch_unwind: {info}"));
                return;
            }
            abort(info);
        }));
    });
}

/// A raw email message: `intake::email::parse` under its limits, then what a new tip and a reply
/// make of it.
pub fn email(raw: &[u8]) {
    let Ok(mail) = email::parse(raw, OWN_ADDRESS) else {
        return;
    };
    // The sender is an address the outbox can write to, and not our own.
    assert!(mail.sender.parse::<lettre::Address>().is_ok());
    assert!(!mail.sender.eq_ignore_ascii_case(OWN_ADDRESS));
    // Text that did not decode is refused, never stored as U+FFFD.
    assert!(!mail.subject.contains(char::REPLACEMENT_CHARACTER));
    assert!(!mail.text.contains(char::REPLACEMENT_CHARACTER));
    assert!(mail.files.iter().all(|f| !f.is_empty()));
    if let Ok(bodies) = email::reply_messages(&mail) {
        for body in &bodies {
            assert!(body.chars().count() <= MAX_MESSAGE_CHARS);
            assert!(!body.trim().is_empty());
        }
    }
    if let Ok((description, full)) = email::tip_description(
        &mail.subject,
        &mail.text,
        !mail.files.is_empty(),
        MAX_ATTACHMENT_BYTES,
    ) {
        assert!(description.chars().count() <= limit("description"));
        // Redacting twice changes nothing: no receipt is left to find.
        assert_eq!(email::redact_receipts(&description), description);
        if let Some(full) = full {
            assert!(std::str::from_utf8(&full).is_ok());
            assert!(full.len() <= MAX_ATTACHMENT_BYTES);
        }
    }
}

/// What the SMS channel makes of an authenticated text, and the properties it guarantees.
fn check_plan(sms: &InboundSms) {
    let Ok((contact, plan)) = plan(sms) else {
        return;
    };
    assert!(contact.address.trim_start_matches('+').len() >= 3);
    match plan {
        Plan::Status(Some(r)) => {
            assert_eq!(r.digits().len(), 20);
            assert_eq!(damm(r.digits()), 0);
        }
        Plan::Status(None) | Plan::Empty | Plan::TooLong => {}
        Plan::Text(t) => {
            assert!(!t.is_empty());
            assert_eq!(t.trim(), t);
            assert!(t.chars().count() <= MAX_TEXT_CHARS);
        }
    }
}

fn sms_config(provider: SmsProvider, token: &str, callback: Option<&str>) -> SmsConfig {
    SmsConfig {
        provider,
        account: "AC-fuzz".into(),
        token: SecretText::new(token.into()),
        callback_token: callback.map(|c| SecretText::new(c.into())),
        from: Some("+15005550006".into()),
        api_url: "http://127.0.0.1:9".into(),
        app_id: None,
        sign_name: None,
        region: "ap-guangzhou".into(),
        templates: Vec::new(),
    }
}

/// A Twilio webhook call: the first line is the URL Twilio called, the rest the form body.
/// The body is signed with the test token, so the parse gets past the signature check; the
/// same body with a wrong signature must be refused.
pub fn sms_twilio(data: &[u8]) {
    let (url, body) = split_line(data);
    let url = std::str::from_utf8(url).unwrap_or("https://tips.example/api/v1/sms/inbound");
    let provider = Twilio::new(&sms_config(SmsProvider::Twilio, TWILIO_TOKEN, None));
    let forged = InboundCall {
        url,
        query: "",
        signature: Some("bm90IGEgc2lnbmF0dXJl"),
        body,
    };
    assert!(matches!(
        provider.inbound(&forged),
        Err(InboundError::Unauthenticated | InboundError::Malformed(_))
    ));
    let Ok(params) = twilio::read_form(body) else {
        return;
    };
    let signature = twilio::signature(TWILIO_TOKEN, url, &params);
    let call = InboundCall {
        url,
        query: "",
        signature: Some(&signature),
        body,
    };
    match provider.inbound(&call) {
        Ok(Some(sms)) => {
            assert!(sms.message_id.starts_with("twilio:"));
            check_plan(&sms);
            // The reply goes back as TwiML: the text is escaped, the structure is ours.
            let answer = provider.answer(Some(&sms.text));
            assert_eq!(answer.body.matches('<').count(), 5);
        }
        Ok(None) => {}
        Err(e) => assert!(matches!(e, InboundError::Malformed(_))),
    }
}

/// A Tencent reply callback: the first line is the query string (where the callback token
/// sits), the rest the JSON body. The body is also read once with the right token.
pub fn sms_tencent(data: &[u8]) {
    let (query, body) = split_line(data);
    let query = std::str::from_utf8(query).unwrap_or_default();
    let provider = Tencent::new(&sms_config(
        SmsProvider::Tencent,
        "secret-key",
        Some(TENCENT_TOKEN),
    ));
    let call = InboundCall {
        url: "https://tips.example/api/v1/sms/inbound",
        query,
        signature: None,
        body,
    };
    let authentic = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .is_ok_and(|q| q.iter().any(|(k, v)| k == "token" && v == TENCENT_TOKEN));
    if !authentic {
        assert_eq!(
            provider.inbound(&call).err(),
            Some(InboundError::Unauthenticated)
        );
    }
    if let Ok(Some(sms)) = tencent::read_callback(body, TENCENT_NOW) {
        let number = sms.from.strip_prefix('+').unwrap_or_default();
        assert!(!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()));
        assert!(sms.message_id.starts_with("tencent:"));
        check_plan(&sms);
    }
}

/// What `TipFields::validate` guarantees of the fields it accepts.
fn check_fields(fields: &TipFields) {
    let Ok(valid) = fields.validate() else {
        return;
    };
    assert!(!valid.description.is_empty());
    for text in [
        Some(&valid.description),
        valid.location.as_ref(),
        valid.occurred_at.as_ref(),
        valid.people.as_ref(),
        valid.vehicles.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(text.trim(), text);
        assert!(
            text.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        );
    }
    // Validating what was accepted changes nothing.
    assert_eq!(valid.validate().as_ref(), Ok(&valid));
}

/// A JSON tip body (`POST /api/v1/tips`, `application/json`).
pub fn tip_json(body: &[u8]) {
    let Ok(sub) = from_json(body) else {
        return;
    };
    assert_eq!(sub.fingerprint.len(), 32);
    check_fields(&sub.fields);
}

fn sealer() -> &'static (Sealer, Recipient) {
    static SEALER: OnceLock<(Sealer, Recipient)> = OnceLock::new();
    SEALER.get_or_init(|| {
        let (node_private, node_public) = kem_keypair_from_seed(&[1; 32]);
        let (_, office) = kem_keypair_from_seed(&[2; 32]);
        let node = NodeIdentity {
            key_id: "fuzz-node".into(),
            private: node_private,
            public: node_public,
        };
        let to = Recipient {
            key_id: "fuzz-office".into(),
            public: office,
        };
        (Sealer::new(node, Duration::from_secs(3600), u32::MAX), to)
    })
}

/// A multipart tip body (the web form and `POST /api/v1/tips`): the first line is the
/// Content-Type header, the rest the body, delivered in chunks of 61 bytes so that boundaries
/// fall everywhere. `read_form`, the server's own reader, parses it with actix-multipart and
/// handles the parts; attachments are sealed with throwaway keys under small caps, so an image costs
/// little.
pub fn tip_multipart(data: &[u8]) {
    use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    let (content_type, body) = split_line(data);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    let chunks: Vec<Result<bytes::Bytes, actix_web::error::PayloadError>> = body
        .chunks(61)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let limits = FormLimits {
        max_attachment_bytes: 64 * 1024,
        max_attachments: 3,
        max_body_bytes: 3 * 64 * 1024 + 256 * 1024,
    };
    let mut sub = Submission::default();
    let seal =
        async |bytes: Vec<u8>| -> Result<Result<SealedAttachment, AttachmentError>, ApiError> {
            let (sealer, to) = sealer();
            Ok(attachment::seal_file(sealer, to, &bytes, 100_000))
        };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let body = futures_util::stream::iter(chunks);
    let mut files = 0usize;
    let before_file = async |_: &mut Submission| -> Result<(), ApiError> {
        files += 1;
        Ok(())
    };
    let result = runtime.block_on(read_form(
        &headers,
        body,
        &limits,
        &mut sub,
        before_file,
        seal,
    ));
    // Every kept file was announced before it was read (the upload slot is taken there).
    assert!(sub.attachments.len() <= files);
    assert!(sub.attachments.len() <= limits.max_attachments);
    if result.is_ok() {
        assert_eq!(sub.fingerprint.len(), 32);
    }
    check_fields(&sub.fields);
}

/// A receipt as a person types it (the status page, the API, `STATUS <receipt>` by SMS).
pub fn receipt(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = Receipt::parse(input) else {
        return;
    };
    assert_eq!(r.digits().len(), 20);
    assert!(r.digits().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(damm(r.digits()), 0);
    // What we show re-parses to the same receipt.
    assert_eq!(Receipt::parse(&r.display()).ok().as_ref(), Some(&r));
    // Email text never keeps it.
    assert_eq!(email::redact_receipts(&r.display()), email::RECEIPT_REMOVED);
    // Texted after STATUS, it is the same receipt.
    let sms = InboundSms {
        from: "+8613800138000".into(),
        text: format!("STATUS {input}"),
        message_id: "fuzz".into(),
    };
    assert_eq!(plan(&sms).ok().map(|(_, p)| p), Some(Plan::Status(Some(r))));
}

/// A claim code as finance types it from the reporter.
pub fn claim_code(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(code) = ClaimCode::parse(input) else {
        return;
    };
    // Codes made before issue 14 (13 digits) still pay until they expire.
    assert!([CLAIM_DIGITS, LEGACY_CLAIM_DIGITS].contains(&code.digits().len()));
    assert_eq!(damm(code.digits()), 0);
    let again = ClaimCode::parse(&code.display()).ok();
    assert_eq!(again.as_ref().map(ClaimCode::digits), Some(code.digits()));
}

/// Whether a JPEG's segments before the image data include an APP1 (EXIF or XMP) or any other
/// application segment but the JFIF header the encoder writes.
fn jpeg_has_metadata(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            return false;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        let is_jfif = marker == 0xE0 && jpeg[i + 4..].starts_with(b"JFIF\0");
        if (0xE1..=0xEF).contains(&marker) || marker == 0xFE || (marker == 0xE0 && !is_jfif) {
            return true;
        }
        i += 2 + len;
    }
    false
}

/// Whether a PNG has a chunk that can carry metadata (EXIF, text, time, ICC profile).
fn png_has_metadata(png: &[u8]) -> bool {
    let mut i = 8;
    while i + 8 <= png.len() {
        let len = u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]) as usize;
        let kind = &png[i + 4..i + 8];
        if matches!(
            kind,
            b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME" | b"iCCP"
        ) {
            return true;
        }
        i = i.saturating_add(12).saturating_add(len);
    }
    false
}

/// An uploaded or mailed file: the type check by bytes and the image re-encoding that strips
/// metadata (`intake::attachment::clean_file`, which `seal_file` runs before sealing).
pub fn image_strip(data: &[u8]) {
    let Ok((clean, content_type)) = attachment::clean_file(data, MAX_IMAGE_PIXELS) else {
        return;
    };
    match content_type {
        "image/jpeg" => {
            assert!(clean.starts_with(&[0xFF, 0xD8, 0xFF]));
            assert!(!jpeg_has_metadata(&clean));
        }
        "image/png" => {
            assert!(clean.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(!png_has_metadata(&clean));
        }
        _ => {
            // Text is kept as sent, and only when it is UTF-8.
            assert!(std::str::from_utf8(&clean).is_ok());
            assert_eq!(&clean[..], data);
            return;
        }
    }
    // The output is an image again, within the pixel cap.
    let img = image::load_from_memory(&clean);
    assert!(img.is_ok_and(|i| u64::from(i.width()) * u64::from(i.height()) <= MAX_IMAGE_PIXELS));
}
