//! Tencent Cloud SMS. Inbound: the "reply callback" (回复短信回调, cloud.tencent.com/document/
//! product/382/5809 and /document/api/382/59179), a JSON POST
//! `{"extend","mobile","nationcode","sign","text","time"}` answered with
//! `{"result":0,"errmsg":"OK"}`. Tencent neither signs it nor gives it a message id, so:
//! - the callback URL configured in the Tencent console carries a shared secret,
//!   `https://tips.example/api/v1/sms/inbound?token=SECRET` (`TIPLINE_SMS_CALLBACK_TOKEN`),
//!   compared in constant time: use HTTPS, or the secret travels in the clear;
//! - a repeat is recognised by a digest of (country code, number, time, text), and callbacks
//!   older than `MAX_AGE` are ignored, so a recorded callback cannot be replayed after its
//!   fingerprint expires.
//!
//! Chinese providers send only pre-approved templates, so every reply goes through the outbox
//! as a template id and parameters: API 3.0 `SendSms` version 2021-01-11
//! (cloud.tencent.com/document/api/382/55981), signed with TC3-HMAC-SHA256
//! (签名方法 v3, cloud.tencent.com/document/api/382/52072).

use super::{InboundCall, InboundError, InboundSms, Provider, WebhookAnswer, classify, http};
use crate::config::{SecretText, SmsConfig};
use crate::notify::{DeliveryError, SmsSender};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Callbacks older than this are ignored (the message-id fingerprints live 30 days).
const MAX_AGE: i64 = 25 * 86_400;
const SERVICE: &str = "sms";
const ACTION: &str = "SendSms";
const VERSION: &str = "2021-01-11";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

pub struct Tencent {
    secret_id: String,
    secret_key: SecretText,
    callback_token: Option<SecretText>,
    api_url: String,
    app_id: String,
    sign_name: String,
    region: String,
    templates: Vec<(String, String)>,
}

impl Tencent {
    pub fn new(config: &SmsConfig) -> Self {
        Self {
            secret_id: config.account.clone(),
            secret_key: config.token.clone(),
            callback_token: config.callback_token.clone(),
            api_url: config.api_url.clone(),
            app_id: config.app_id.clone().unwrap_or_default(),
            sign_name: config.sign_name.clone().unwrap_or_default(),
            region: config.region.clone(),
            templates: config.templates.clone(),
        }
    }

    fn template_id(&self, template: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|(k, _)| k == template)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Deserialize)]
struct Callback {
    mobile: String,
    nationcode: String,
    #[serde(default)]
    text: String,
    time: i64,
}

fn token_matches(expected: &str, given: &str) -> bool {
    // Compare digests, so the comparison does not even leak the length.
    crate::crypto::ct_eq(
        &crate::crypto::sha256(expected.as_bytes()),
        &crate::crypto::sha256(given.as_bytes()),
    )
}

impl Provider for Tencent {
    fn name(&self) -> &'static str {
        "tencent"
    }

    fn signature_header(&self) -> Option<&'static str> {
        None
    }

    fn inbound(&self, call: &InboundCall) -> Result<Option<InboundSms>, InboundError> {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(call.query).map_err(|_| InboundError::Unauthenticated)?;
        let given = query
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.as_str())
            .ok_or(InboundError::Unauthenticated)?;
        let expected = self
            .callback_token
            .as_ref()
            .ok_or(InboundError::Unauthenticated)?;
        if !token_matches(expected.expose(), given) {
            return Err(InboundError::Unauthenticated);
        }
        read_callback(call.body, crate::db::now_unix())
    }

    fn replies_inline(&self) -> bool {
        false
    }

    fn answer(&self, _reply: Option<&str>) -> WebhookAnswer {
        WebhookAnswer {
            content_type: "application/json",
            body: r#"{"result":0,"errmsg":"OK"}"#.into(),
        }
    }
}

/// Reads an authenticated reply callback received at `now` (Unix seconds). `None`: a stale
/// callback, acknowledged and ignored.
pub fn read_callback(body: &[u8], now: i64) -> Result<Option<InboundSms>, InboundError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| InboundError::Malformed("not JSON"))?;
    if !value.is_object() {
        return Err(InboundError::Malformed("not a JSON object"));
    }
    let cb: Callback = serde_json::from_value(value)
        .map_err(|_| InboundError::Malformed("mobile, nationcode and time are required"))?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&cb.mobile) || !digits(&cb.nationcode) {
        return Err(InboundError::Malformed("mobile and nationcode are digits"));
    }
    let message_id = format!(
        "tencent:{}:{}:{}:{}",
        cb.nationcode,
        cb.mobile,
        cb.time,
        hex::encode(crate::crypto::sha256(cb.text.as_bytes()))
    );
    if cb.time < now - MAX_AGE || cb.time > now + 86_400 {
        // Answered like a repeat: the provider stops retrying, nothing is created.
        tracing::warn!(provider = "tencent", "stale reply callback ignored");
        return Ok(None);
    }
    Ok(Some(InboundSms {
        from: format!("+{}{}", cb.nationcode, cb.mobile),
        text: cb.text,
        message_id,
    }))
}

/// A TC3-HMAC-SHA256 signed request: the headers to send with `payload`.
pub struct Signed {
    pub authorization: String,
    pub timestamp: i64,
}

fn hmac256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

fn utc_date(timestamp: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(timestamp)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The canonical request of a JSON POST to `/` signing `content-type` and `host`.
pub fn canonical_request(host: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(payload))
    )
}

/// TC3-HMAC-SHA256 (签名方法 v3): the signature of a canonical request for `service` at
/// `timestamp` (its UTC date is part of the key derivation).
pub fn tc3_signature(
    secret_key: &str,
    service: &str,
    timestamp: i64,
    canonical_request: &str,
) -> String {
    let date = utc_date(timestamp);
    let scope = format!("{date}/{service}/tc3_request");
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac256(&k_date, service.as_bytes());
    let k_signing = hmac256(&k_service, b"tc3_request");
    hex::encode(hmac256(&k_signing, to_sign.as_bytes()))
}

pub fn sign(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    payload: &[u8],
    timestamp: i64,
) -> Signed {
    let signature = tc3_signature(
        secret_key,
        service,
        timestamp,
        &canonical_request(host, payload),
    );
    Signed {
        authorization: format!(
            "TC3-HMAC-SHA256 Credential={secret_id}/{}/{service}/tc3_request, \
             SignedHeaders=content-type;host, Signature={signature}",
            utc_date(timestamp)
        ),
        timestamp,
    }
}

/// The `Host` header reqwest sends for the API URL (with a non-default port, if any).
fn host_of(api_url: &str) -> &str {
    let rest = api_url
        .strip_prefix("https://")
        .or_else(|| api_url.strip_prefix("http://"))
        .unwrap_or(api_url);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority
        .strip_suffix(":443")
        .filter(|_| api_url.starts_with("https://"))
        .or_else(|| {
            authority
                .strip_suffix(":80")
                .filter(|_| api_url.starts_with("http://"))
        })
        .unwrap_or(authority)
}

#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(rename = "Response")]
    response: ApiResponse,
}

#[derive(Deserialize)]
struct ApiResponse {
    #[serde(rename = "Error")]
    error: Option<ApiError>,
    #[serde(rename = "SendStatusSet", default)]
    sent: Vec<SendStatus>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "Code")]
    code: String,
}

#[derive(Deserialize)]
struct SendStatus {
    #[serde(rename = "Code")]
    code: String,
}

/// Error codes worth retrying: rate limits, Tencent's own failures, clock skew.
fn temporary(code: &str) -> bool {
    code.starts_with("LimitExceeded")
        || code.starts_with("RequestLimitExceeded")
        || code.starts_with("InternalError")
        || code.starts_with("AuthFailure")
        || code == "FailedOperation.InsufficientBalanceInSmsPackage"
}

impl SmsSender for Tencent {
    fn send(&self, to: &str, template: &str, params: &[String]) -> Result<(), DeliveryError> {
        // A police reply is free text, which no template review passes: send the notice that
        // a reply is waiting on the web instead, unless the operator mapped one.
        let (template_id, params) = match (self.template_id(template), template) {
            (Some(id), _) => (id, params),
            (None, "new_message") => (
                self.template_id("message_notice")
                    .ok_or(DeliveryError::Permanent("no approved template"))?,
                &[][..],
            ),
            (None, _) => return Err(DeliveryError::Permanent("no approved template")),
        };
        let payload = serde_json::to_vec(&serde_json::json!({
            "PhoneNumberSet": [to],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        }))
        .map_err(|_| DeliveryError::Permanent("cannot encode the request"))?;
        let host = host_of(&self.api_url);
        let signed = sign(
            &self.secret_id,
            self.secret_key.expose(),
            SERVICE,
            host,
            &payload,
            crate::db::now_unix(),
        );
        let resp = http()?
            .post(format!("{}/", self.api_url))
            .header("Authorization", signed.authorization)
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", signed.timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .body(payload)
            .send()
            .map_err(|_| DeliveryError::Temporary("Tencent unreachable"))?;
        classify(resp.status())?;
        let answer: ApiAnswer = resp
            .json()
            .map_err(|_| DeliveryError::Temporary("unreadable answer from Tencent"))?;
        // Log codes only: Tencent's messages can quote the number.
        if let Some(e) = answer.response.error {
            tracing::warn!(provider = "tencent", code = %e.code, "SMS not accepted");
            return Err(if temporary(&e.code) {
                DeliveryError::Temporary("Tencent refused for now")
            } else {
                DeliveryError::Permanent("Tencent refused the message")
            });
        }
        match answer.response.sent.first() {
            Some(s) if s.code == "Ok" => Ok(()),
            Some(s) => {
                tracing::warn!(provider = "tencent", code = %s.code, "SMS not sent");
                Err(if temporary(&s.code) {
                    DeliveryError::Temporary("Tencent could not send it now")
                } else {
                    DeliveryError::Permanent("Tencent could not send it")
                })
            }
            None => Err(DeliveryError::Temporary("no send status from Tencent")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Tencent Cloud's "签名方法 v3" page (cloud.tencent.com/document/
    /// api/382/52072; the same example is on every product's "Signature v3" page): CVM
    /// DescribeInstances at 1551113065 with SecretKey `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`. The
    /// page prints the hashed canonical request in full and the signature with its middle
    /// masked (`72e494ea809ad7a8c8f7a450***...f516e8da2f66e2c5a96525168`); the full value was
    /// recomputed independently (Python hmac/hashlib). Later versions of the page mask the key
    /// itself as `Gu5t9xGARNpq86cd98joQYCN3*******` and print, for that literal string,
    /// `2230eefd...d7652c`, which the official SDKs' tests also check.
    #[test]
    fn published_tc3_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n{}",
            hex::encode(Sha256::digest(payload.as_bytes()))
        );
        assert_eq!(
            canonical,
            canonical_request("cvm.tencentcloudapi.com", payload.as_bytes())
        );
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            tc3_signature(
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "cvm",
                1551113065,
                &canonical
            ),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        let signed = sign(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
            "Gu5t9xGARNpq86cd98joQYCN3*******",
            "cvm",
            "cvm.tencentcloudapi.com",
            payload.as_bytes(),
            1551113065,
        );
        assert_eq!(
            signed.authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn the_date_is_utc() {
        // 00:44 on the 26th in Beijing is still the 25th in UTC (the page's own warning).
        assert_eq!(utc_date(1551113065), "2019-02-25");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://sms.tencentcloudapi.com"),
            "sms.tencentcloudapi.com"
        );
        assert_eq!(host_of("http://127.0.0.1:4000/x"), "127.0.0.1:4000");
        assert_eq!(host_of("https://a.example:443"), "a.example");
    }

    fn provider() -> Tencent {
        Tencent {
            secret_id: "id".into(),
            secret_key: SecretText::new("key".into()),
            callback_token: Some(SecretText::new("s3cret".into())),
            api_url: "https://sms.tencentcloudapi.com".into(),
            app_id: "1400006666".into(),
            sign_name: "x".into(),
            region: "ap-guangzhou".into(),
            templates: vec![],
        }
    }

    #[test]
    fn callbacks_need_the_token_and_the_documented_fields() {
        let p = provider();
        let now = crate::db::now_unix();
        let body = format!(
            r#"{{"extend":"","mobile":"13800138000","nationcode":"86","sign":"x","text":"有人卖毒品","time":{now}}}"#
        );
        let call = |query: &'static str, body: &[u8]| {
            let c = InboundCall {
                url: "https://t.example/api/v1/sms/inbound",
                query,
                signature: None,
                body,
            };
            p.inbound(&c)
                .map(|m| m.map(|m| (m.from, m.text)).unwrap_or_default())
        };
        assert_eq!(
            call("token=s3cret", body.as_bytes()).unwrap(),
            ("+8613800138000".to_string(), "有人卖毒品".to_string())
        );
        assert_eq!(
            call("token=s3cre", body.as_bytes()).unwrap_err(),
            InboundError::Unauthenticated
        );
        assert_eq!(
            call("", body.as_bytes()).unwrap_err(),
            InboundError::Unauthenticated
        );
        assert!(matches!(
            call("token=s3cret", b"[1]").unwrap_err(),
            InboundError::Malformed(_)
        ));
        assert!(matches!(
            call(
                "token=s3cret",
                br#"{"mobile":"x1","nationcode":"86","time":1}"#
            )
            .unwrap_err(),
            InboundError::Malformed(_)
        ));
    }
}
