//! SMS over HTTP against the real binary: the provider webhook (Twilio-signed form posts and
//! Tencent's token-guarded JSON callback) turns a first text into a tip and later texts into
//! its conversation, answers `STATUS <receipt>`, ignores repeated message ids, refuses unsigned
//! and malformed calls, and never keeps or logs the number in the clear; an officer's reply
//! leaves through the outbox to a local server speaking the provider's API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const TOKEN: &str = "twilio-test-auth-token-0123456789";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const FROM_LINE: &str = "+15005550006";
const PUBLIC: &str = "https://tips.example.org";
const INBOUND: &str = "/api/v1/sms/inbound";

fn twilio_env(api: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TIPLINE_SMS_PROVIDER", "twilio".into()),
        ("TIPLINE_SMS_ACCOUNT", ACCOUNT.into()),
        ("TIPLINE_SMS_TOKEN", TOKEN.into()),
        ("TIPLINE_SMS_FROM", FROM_LINE.into()),
        ("TIPLINE_SMS_API_URL", api.into()),
        ("TIPLINE_PUBLIC_URL", PUBLIC.into()),
    ]
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The form fields Twilio posts for an incoming SMS.
fn twilio_form(from: &str, body: &str, sid: &str) -> Vec<(String, String)> {
    owned(&[
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", FROM_LINE),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ])
}

fn sign(params: &[(String, String)]) -> String {
    tipline::notify::sms::twilio::signature(TOKEN, &format!("{PUBLIC}{INBOUND}"), params)
}

async fn post_form(
    s: &Server,
    form: &[(String, String)],
    signature: Option<&str>,
) -> (u16, String) {
    let mut req = s.client.post(s.url(INBOUND)).form(form);
    if let Some(sig) = signature {
        req = req.header("X-Twilio-Signature", sig);
    }
    let r = req.send().await.unwrap();
    let code = r.status().as_u16();
    (code, r.text().await.unwrap())
}

/// Sends a correctly signed text from `from`.
async fn text(s: &Server, from: &str, body: &str, sid: &str) -> String {
    let form = twilio_form(from, body, sid);
    let r = s
        .client
        .post(s.url(INBOUND))
        .header("X-Twilio-Signature", sign(&form))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.text().await.unwrap()
}

fn receipt_in(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .find(|t| is_receipt(t))
        .map(str::to_string)
}

fn tip_ids(s: &Server) -> Vec<String> {
    use diesel::prelude::*;
    use tipline::db::schema::tips;
    let mut conn = s.db();
    tips::table.select(tips::id).load(&mut conn).unwrap()
}

const NUMBER: &str = "+8613800138000";
/// Every form the number could be stored or logged in.
const NUMBER_FORMS: [&str; 3] = ["8613800138000", "13800138000", "138-0013-8000"];

fn assert_number_nowhere(s: &Server, forms: &[&str]) {
    for n in forms {
        assert!(!s.database_holds(n.as_bytes()), "{n} stored in the clear");
        assert!(!s.log().contains(n), "{n} in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_texts_become_a_tip_and_its_conversation() {
    let (api, sent) = mock_api(201, r#"{"sid":"SM0000","status":"queued"}"#).await;
    let s = Server::start_with(Options {
        extra_env: twilio_env(&api),
        ..Options::default()
    })
    .await;

    // A first text makes a tip; the TwiML answer carries the receipt and the warning.
    let first = "金兰镇有人在出租屋里贩卖冰毒，晚上十点以后交易";
    let answer = text(&s, NUMBER, first, "SM11111111111111111111111111111111").await;
    assert!(answer.contains("<Response><Message>"), "{answer}");
    let receipt = receipt_in(&answer).expect("the answer carries a receipt");
    assert!(answer.contains("不是匿名"), "says SMS is not anonymous");
    assert!(
        answer.contains("换一个新回执号"),
        "suggests rekeying on the web"
    );
    assert_eq!(s.count("tips"), 1);
    let tip = tip_ids(&s).remove(0);
    {
        use diesel::prelude::*;
        use tipline::db::schema::tips;
        let mut conn = s.db();
        type Row = (
            String,
            String,
            String,
            String,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            bool,
        );
        let (channel, category, township, unit, contact, alias, private): Row = tips::table
            .select((
                tips::channel,
                tips::category,
                tips::township,
                tips::unit_code,
                tips::contact,
                tips::contact_alias,
                tips::receipt_private,
            ))
            .first(&mut conn)
            .unwrap();
        assert_eq!(
            (channel.as_str(), category.as_str(), township.as_str()),
            ("sms", "other", "other")
        );
        assert_eq!(unit, "county", "unknown township: the county brigade");
        assert!(
            contact.is_some() && alias.is_some(),
            "sealed envelope and alias"
        );
        assert!(!private, "an SMS receipt passed through the carrier");
    }
    // The receipt works on the web.
    let st: Value = s
        .post_json("/api/v1/status", &json!({ "receipt": receipt }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["status"], "received");
    assert_eq!(st["rekey_suggested"], true);

    // The same delivery again: ignored, nothing created, nothing answered.
    let again = text(&s, NUMBER, first, "SM11111111111111111111111111111111").await;
    assert!(!again.contains("<Message>"), "{again}");
    assert_eq!(s.count("tips"), 1);
    assert_eq!(s.count("messages"), 0);

    // A second text from the number joins the tip's conversation.
    let second = "补充：他们开一辆白色面包车，车牌湘D12345";
    let answer = text(&s, NUMBER, second, "SM22222222222222222222222222222222").await;
    assert!(answer.contains("补充"), "{answer}");
    assert!(receipt_in(&answer).is_none(), "no receipt again");
    assert_eq!(s.count("tips"), 1);
    assert_eq!(s.count("messages"), 1);

    // The officer sees the report and the text in the thread, and no number.
    let officer = s.staff_token("c.officer", "officer", Some("county"));
    let r = s
        .staff_get(&officer, &format!("/api/v1/staff/tips/{tip}"))
        .await;
    assert_eq!(r.status(), 200);
    let view = r.text().await.unwrap();
    for n in NUMBER_FORMS {
        assert!(!view.contains(n), "staff see the number");
    }
    let view: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["report"]["description"], first);
    assert_eq!(view["report"]["channel"], "sms");
    assert_eq!(view["messages"][0]["from"], "reporter");
    assert_eq!(view["messages"][0]["body"], second);

    // STATUS <receipt>, in either language and with full-width digits: answered, nothing stored.
    let answer = text(
        &s,
        "+14155550100",
        &format!("STATUS {receipt}"),
        "SM33333333333333333333333333333333",
    )
    .await;
    assert!(answer.contains("已收到，等待处理"), "{answer}");
    let wide: String = receipt
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
            other => other,
        })
        .collect();
    let answer = text(
        &s,
        NUMBER,
        &format!("状态 {wide}"),
        "SM44444444444444444444444444444444",
    )
    .await;
    assert!(answer.contains("已收到，等待处理"), "{answer}");
    let other = tipline::crypto::receipt::Receipt::generate().unwrap();
    let answer = text(
        &s,
        NUMBER,
        &format!("状态 {}", other.display()),
        "SM55555555555555555555555555555555",
    )
    .await;
    assert!(answer.contains("没有找到"), "{answer}");
    assert_eq!(s.count("tips"), 1);
    assert_eq!(s.count("messages"), 1);

    // The officer answers; the outbox delivers it to the Twilio Messages API.
    let question = "请问交易是在几楼？";
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": question }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let seen = wait_for(&sent, 1).await;
    let call = &seen[0];
    assert_eq!(
        call.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    assert_eq!(call.headers["authorization"], format!("Basic {basic}"));
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&call.body).unwrap();
    assert_eq!(form["To"], NUMBER);
    assert_eq!(form["From"], FROM_LINE);
    assert!(form["Body"].contains(question), "{}", form["Body"]);
    for _ in 0..50 {
        if s.count("outbox") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(s.count("outbox"), 0, "delivered rows are deleted");

    // The number is in neither the database nor the log; nor are the texts.
    assert_number_nowhere(&s, &NUMBER_FORMS);
    for t in [first, second, question, "湘D12345"] {
        assert!(!s.database_holds(t.as_bytes()), "{t} stored in the clear");
        assert!(!s.log().contains(t), "{t} in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_forged_and_malformed_webhooks_are_refused() {
    let (api, sent) = mock_api(201, "{}").await;
    let s = Server::start_with(Options {
        extra_env: twilio_env(&api),
        ..Options::default()
    })
    .await;
    let form = twilio_form(NUMBER, "有人贩毒", "SM66666666666666666666666666666666");

    // Missing, wrong, and valid-for-other-content signatures: 403 with the JSON error shape.
    let mut tampered = form.clone();
    tampered[5].1 = "有人贩毒！".into();
    let wrong_url =
        tipline::notify::sms::twilio::signature(TOKEN, &format!("{PUBLIC}/elsewhere"), &form);
    let wrong_token = tipline::notify::sms::twilio::signature(
        "not-the-token",
        &format!("{PUBLIC}{INBOUND}"),
        &form,
    );
    for (body, sig) in [
        (&form, None),
        (&form, Some("")),
        (&form, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
        (&form, Some(wrong_url.as_str())),
        (&form, Some(wrong_token.as_str())),
        (&tampered, Some(sign(&form).as_str())),
    ] {
        let (code, text) = post_form(&s, body, sig).await;
        assert_eq!(code, 403, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "bad_signature");
    }
    assert!(s.log().contains("SMS webhook refused"));

    // Oversized: 413. Not a form, or missing fields under a good signature: 400.
    let big = owned(&[("Body", &"毒".repeat(4000)), ("From", NUMBER)]);
    let (code, _) = post_form(&s, &big, Some(&sign(&big))).await;
    assert_eq!(code, 413);
    for raw in [&b"From=%FF%FE&Body=x"[..], b"\xff\xfe", b"a=1&&=%"] {
        let r = s
            .client
            .post(s.url(INBOUND))
            .header("X-Twilio-Signature", "x")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(raw.to_vec())
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 400 || r.status() == 403,
            "{raw:?}: {}",
            r.status()
        );
        assert!(r.status().as_u16() < 500);
    }
    let no_from = owned(&[("Body", "有人贩毒"), ("MessageSid", "SM7")]);
    let (code, text) = post_form(&s, &no_from, Some(&sign(&no_from))).await;
    assert_eq!(code, 400, "{text}");
    let no_sid = owned(&[("Body", "有人贩毒"), ("From", NUMBER)]);
    let (code, _) = post_form(&s, &no_sid, Some(&sign(&no_sid))).await;
    assert_eq!(code, 400);
    let not_a_number = twilio_form("anonymous", "有人贩毒", "SM8");
    let (code, _) = post_form(&s, &not_a_number, Some(&sign(&not_a_number))).await;
    assert_eq!(code, 400);
    // Empty and too long texts are answered, and store nothing.
    let (code, answer) = {
        let f = twilio_form(NUMBER, "   ", "SM9");
        post_form(&s, &f, Some(&sign(&f))).await
    };
    assert_eq!(code, 200);
    assert!(answer.contains("请直接用文字描述"), "{answer}");
    let (code, answer) = {
        let f = twilio_form(NUMBER, &"毒".repeat(2001), "SM10");
        post_form(&s, &f, Some(&sign(&f))).await
    };
    assert_eq!(code, 200);
    assert!(answer.contains("太长"), "{answer}");
    // Other methods: 405.
    let r = s.client.get(s.url(INBOUND)).send().await.unwrap();
    assert_eq!(r.status(), 405);

    assert_eq!(s.count("tips"), 0);
    assert_eq!(s.count("messages"), 0);
    assert_eq!(s.count("outbox"), 0);
    assert!(sent.lock().unwrap().is_empty());
    assert_number_nowhere(&s, &NUMBER_FORMS);
}

#[tokio::test]
async fn without_a_provider_the_webhook_is_not_found() {
    let s = Server::start().await;
    let r = s
        .client
        .post(s.url(INBOUND))
        .form(&[("From", NUMBER), ("Body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "sms_not_configured");
}

#[tokio::test]
async fn a_provider_without_its_secrets_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let out = Server::spawn(
        dir,
        db.clone(),
        vec![
            ("TIPLINE_DATABASE_URL".into(), db),
            ("TIPLINE_CAPTCHA".into(), "off".into()),
            ("TIPLINE_SMS_PROVIDER".into(), "twilio".into()),
            ("TIPLINE_SMS_ACCOUNT".into(), ACCOUNT.into()),
        ],
    )
    .await;
    let Err(output) = out else {
        panic!("started without TIPLINE_SMS_TOKEN")
    };
    assert!(output.contains("TIPLINE_SMS_TOKEN"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_callbacks_are_token_guarded_and_answered_through_the_outbox() {
    let (api, sent) = mock_api(200, TENCENT_ANSWER).await;
    let secrets = tempfile::tempdir().unwrap();
    let s = Server::start_with(Options {
        extra_env: tencent_env(&api, secrets.path()),
        ..Options::default()
    })
    .await;
    let now = tipline::db::now_unix();
    let callback = |text: &str, time: i64| {
        json!({"extend": "", "mobile": "13900139000", "nationcode": "86",
               "sign": "县禁毒举报", "text": text, "time": time})
    };
    let post = |query: &'static str, body: Value| {
        let url = s.url(&format!("{INBOUND}{query}"));
        let client = s.client.clone();
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            let code = r.status().as_u16();
            (code, r.text().await.unwrap())
        }
    };
    let tip_text = "西渡镇某茶楼包间有人吸毒";

    // No token, a wrong one: 403; nothing stored.
    for q in [
        "",
        "?token=",
        "?token=cb-secret-012345678",
        "?tok=cb-secret-0123456789",
    ] {
        let (code, text) = post(q, callback(tip_text, now)).await;
        assert_eq!(code, 403, "{q}: {text}");
    }
    // Malformed bodies under the right token: 400.
    for body in [
        json!([1]),
        json!({"mobile": "13900139000"}),
        json!({"mobile": "x", "nationcode": "86", "time": now}),
    ] {
        let (code, _) = post("?token=cb-secret-0123456789", body).await;
        assert_eq!(code, 400);
    }
    assert_eq!(s.count("tips"), 0);

    // The callback makes a tip; Tencent is told OK; the receipt leaves through the outbox.
    let (code, text) = post("?token=cb-secret-0123456789", callback(tip_text, now)).await;
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["result"], 0);
    assert_eq!(s.count("tips"), 1);
    // The same callback again (Tencent retried): nothing new.
    let (code, _) = post("?token=cb-secret-0123456789", callback(tip_text, now)).await;
    assert_eq!(code, 200);
    // A stale one (older than the id memory): acknowledged, ignored.
    let (code, _) = post(
        "?token=cb-secret-0123456789",
        callback("旧短信", now - 40 * 86_400),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(s.count("tips"), 1);

    let seen = wait_for(&sent, 1).await;
    let call = &seen[0];
    assert_eq!(call.headers["x-tc-action"], "SendSms");
    assert_eq!(call.headers["x-tc-version"], "2021-01-11");
    assert_eq!(call.headers["x-tc-region"], "ap-guangzhou");
    let host = call.headers["host"].clone();
    let ts: i64 = call.headers["x-tc-timestamp"].parse().unwrap();
    // The request is signed as Tencent's v3 scheme says, over exactly what was sent.
    let expected = tipline::notify::sms::tencent::sign(
        "AKIDtest",
        "tencent-secret-key",
        "sms",
        &host,
        &call.body,
        ts,
    );
    assert_eq!(call.headers["authorization"], expected.authorization);
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["PhoneNumberSet"], json!(["+8613900139000"]));
    assert_eq!(body["SmsSdkAppId"], "1400006666");
    assert_eq!(body["SignName"], "县禁毒举报");
    assert_eq!(body["TemplateId"], "1001");
    let receipt = body["TemplateParamSet"][0].as_str().unwrap().to_string();
    assert!(is_receipt(&receipt), "{receipt}");

    // A later text joins the conversation; STATUS answers with the Chinese label.
    let (code, _) = post(
        "?token=cb-secret-0123456789",
        callback("他们有两个人", now + 1),
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = post(
        "?token=cb-secret-0123456789",
        callback(&format!("状态 {receipt}"), now + 2),
    )
    .await;
    assert_eq!(code, 200);
    let seen = wait_for(&sent, 3).await;
    let mut sent_templates: Vec<(String, Value)> = seen[1..]
        .iter()
        .map(|c| {
            let b: Value = serde_json::from_slice(&c.body).unwrap();
            (
                b["TemplateId"].as_str().unwrap().to_string(),
                b["TemplateParamSet"].clone(),
            )
        })
        .collect();
    sent_templates.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(sent_templates[0], ("1002".to_string(), json!([])));
    assert_eq!(
        sent_templates[1],
        ("1003".to_string(), json!(["已收到，等待处理"]))
    );
    assert_eq!(s.count("tips"), 1);
    assert_eq!(s.count("messages"), 1);

    // An officer's reply is free text: Tencent gets the approved notice template instead.
    let tip = tip_ids(&s).remove(0);
    let officer = s.staff_token("t.officer", "officer", Some("county"));
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": "请问是哪一间包间？" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let seen = wait_for(&sent, 4).await;
    let b: Value = serde_json::from_slice(&seen[3].body).unwrap();
    assert_eq!(b["TemplateId"], "1005");
    assert_eq!(b["TemplateParamSet"], json!([]));

    assert_number_nowhere(&s, &["13900139000"]);
    assert!(
        !s.log().contains("cb-secret-0123456789"),
        "the callback token is not logged"
    );
}
