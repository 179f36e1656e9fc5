//! Twilio, and any gateway that speaks its protocol. Inbound: a form-encoded POST (`From`,
//! `To`, `Body`, `MessageSid`, ...) signed in `X-Twilio-Signature` with
//! Base64(HMAC-SHA1(auth token, URL + every POST parameter sorted by name, each name followed
//! by its value)). The reply goes back inline as TwiML, so an inbound text's answer (which may
//! carry a new receipt) is never stored. Outgoing: `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! with HTTP Basic auth.

use super::{InboundCall, InboundError, InboundSms, Provider, WebhookAnswer, classify, http};
use crate::config::{SecretText, SmsConfig};
use crate::notify::{DeliveryError, SmsSender};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub struct Twilio {
    account_sid: String,
    auth_token: SecretText,
    from: String,
    api_url: String,
}

impl Twilio {
    pub fn new(config: &SmsConfig) -> Self {
        Self {
            account_sid: config.account.clone(),
            auth_token: config.token.clone(),
            from: config.from.clone().unwrap_or_default(),
            api_url: config.api_url.clone(),
        }
    }
}

/// The signature Twilio computes for a request to `url` with these POST parameters.
/// Parameters are sorted by name, then by value (for repeated names), as Twilio's own
/// validators do.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as configured, and the same with the default port added or removed: Twilio signs
/// whichever form it was given, and its validators accept both.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let (scheme, port) = if let Some(rest) = url.strip_prefix("https://") {
        (("https://", rest), ":443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (("http://", rest), ":80")
    } else {
        return out;
    };
    let rest = scheme.1;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if let Some(host) = authority.strip_suffix(port) {
        out.push(format!("{}{host}{tail}", scheme.0));
    } else if !authority.contains(':') {
        out.push(format!("{}{authority}{port}{tail}", scheme.0));
    }
    out
}

/// Checks `X-Twilio-Signature` in constant time against every accepted form of the URL.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    url_variants(url).iter().fold(false, |ok, u| {
        ok | crate::crypto::ct_eq(
            signature(auth_token, u, params).as_bytes(),
            given.as_bytes(),
        )
    })
}

/// The POST parameters of a webhook call, in the order sent (the signature covers them all).
pub fn read_form(body: &[u8]) -> Result<Vec<(String, String)>, InboundError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| InboundError::Malformed("not a form-encoded body"))
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn signature_header(&self) -> Option<&'static str> {
        Some("x-twilio-signature")
    }

    fn inbound(&self, call: &InboundCall) -> Result<Option<InboundSms>, InboundError> {
        // No signature: refuse before reading anything.
        let given = call.signature.ok_or(InboundError::Unauthenticated)?;
        let params = read_form(call.body)?;
        if !verify(self.auth_token.expose(), call.url, &params, given) {
            return Err(InboundError::Unauthenticated);
        }
        let from = field(&params, "From").filter(|f| !f.trim().is_empty());
        let sid = field(&params, "MessageSid")
            .or_else(|| field(&params, "SmsSid"))
            .filter(|s| !s.is_empty());
        match (from, sid) {
            (Some(from), Some(sid)) => Ok(Some(InboundSms {
                from: from.to_string(),
                text: field(&params, "Body").unwrap_or_default().to_string(),
                message_id: format!("twilio:{sid}"),
            })),
            _ => Err(InboundError::Malformed("From and MessageSid are required")),
        }
    }

    fn replies_inline(&self) -> bool {
        true
    }

    fn answer(&self, reply: Option<&str>) -> WebhookAnswer {
        let body = match reply {
            Some(text) => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
                xml_escape(text)
            ),
            None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_string(),
        };
        WebhookAnswer {
            content_type: "text/xml; charset=utf-8",
            body,
        }
    }
}

impl SmsSender for Twilio {
    fn send(&self, to: &str, template: &str, params: &[String]) -> Result<(), DeliveryError> {
        let body =
            super::render(template, params).ok_or(DeliveryError::Permanent("unknown template"))?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_url, self.account_sid
        );
        // A Messaging Service SID picks the sender from its pool; otherwise a number.
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = [("To", to), (sender, self.from.as_str()), ("Body", &body)];
        let resp = http()?
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .map_err(|_| DeliveryError::Temporary("Twilio unreachable"))?;
        let status = resp.status();
        if !status.is_success() {
            // Twilio's error text can quote the number: log its status only.
            tracing::warn!(
                provider = "twilio",
                status = status.as_u16(),
                "SMS not accepted"
            );
        }
        classify(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's published example, from twilio-python's `tests/unit/test_request_validator.py`
    /// (github.com/twilio/twilio-python, commit 30368b08ba580a6c18202ab20bfc68d59559ebd7; the
    /// same vector is in twilio-node, twilio-php and twilio-csharp): auth token `12345`, this
    /// URL and these parameters give `RSOYDt4T1cUTdK1PDd93/VVr8B8=`. The second vector, from
    /// the same file, has a repeated parameter name.
    #[test]
    fn published_twilio_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]);
        assert_eq!(
            signature("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify(
            "12345",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let repeated = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signature("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        // The same file: Twilio may sign the URL with the default port (:443) added.
        assert!(verify(
            "12345",
            url,
            &params,
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(verify(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        let mut params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]);
        assert!(!verify("12346", url, &params, good));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php",
            &params,
            good
        ));
        params[1].1 = "1235".into();
        assert!(!verify("12345", url, &params, good));
        assert!(!verify("12345", url, &params, ""));
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            url_variants("https://a.example/x?y=1"),
            ["https://a.example/x?y=1", "https://a.example:443/x?y=1"]
        );
        assert_eq!(
            url_variants("http://a.example:80/x"),
            ["http://a.example:80/x", "http://a.example/x"]
        );
        assert_eq!(
            url_variants("https://a.example:8443/x"),
            ["https://a.example:8443/x"]
        );
    }

    #[test]
    fn twiml_escapes_the_reply() {
        let t = Twilio {
            account_sid: "AC1".into(),
            auth_token: SecretText::new("t".into()),
            from: "+1".into(),
            api_url: "http://x".into(),
        };
        let a = t.answer(Some("a<b & \"c\""));
        assert!(
            a.body
                .contains("<Message>a&lt;b &amp; &quot;c&quot;</Message>")
        );
        assert!(t.answer(None).body.ends_with("<Response/>"));
    }
}
