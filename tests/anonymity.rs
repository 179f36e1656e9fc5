//! Issue 13: no reporter's action leaves its time finer than the hour. The test files each kind
//! of reporter action (web form with captcha and retry token, JSON API, SMS tip, SMS follow-up,
//! SMS status query, emailed tip, web message, rekey, status check, and a reward paid at the
//! counter against the claim code the reporter fetched) at recorded seconds, does the staff
//! actions well apart from them (more than ten seconds), then scans every column of every table
//! (SQLite or PostgreSQL, whichever the test runs on), the staff API's answers about those tips,
//! the audit list and the server's log at its default level for any value within five seconds
//! of a reporter's moment: unix seconds or milliseconds, or a date-time string. It finds none.
//! On SQLite it also checks that every table a reporter's action inserts into is WITHOUT ROWID.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use reqwest::multipart::Form;
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "twilio-test-auth-token-0123456789";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const FROM_LINE: &str = "+15005550006";
const PUBLIC: &str = "https://tips.example.org";
const INBOUND: &str = "/api/v1/sms/inbound";
/// How near a value may come to a reporter's moment before it counts as that moment.
const NEAR: i64 = 5;

fn now() -> i64 {
    tipline::db::now_unix()
}

/// Reporter moments: (first second, last second, what).
#[derive(Default)]
struct Moments(Vec<(i64, i64, &'static str)>);

impl Moments {
    /// Waits until the clock is well inside an hour (values rounded to the hour must not land
    /// near the moment by accident), and returns the second the action starts.
    async fn begin(&self) -> i64 {
        loop {
            let r = now().rem_euclid(3600);
            if (2 * NEAR + 2..3600 - 30).contains(&r) {
                return now();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn end(&mut self, start: i64, what: &'static str) {
        self.0.push((start, now(), what));
    }

    /// The reporter action a value would time, if any: a time in [lo, hi] (one second, or a
    /// minute shown without seconds) within NEAR seconds of a moment, or of a moment plus a
    /// delay the code adds to it (a captcha's 20 minutes, or whole hours: a retry token's day,
    /// a contact's 180 days). Values on the hour time nothing finer than the hour.
    fn near_span(&self, lo: i64, hi: i64) -> Option<&'static str> {
        if lo.rem_euclid(3600) == 0 {
            return None;
        }
        self.0.iter().find_map(|&(a, b, what)| {
            let h0 = (lo - a).div_euclid(3600);
            let hours = (h0 - 1..=h0 + 1).filter(|h| (1..=24 * 400).contains(h));
            let delays = [0, 1200].into_iter().chain(hours.map(|h| h * 3600));
            delays
                .into_iter()
                .any(|d| lo - d <= b + NEAR && hi - d >= a - NEAR)
                .then_some(what)
        })
    }

    fn near(&self, t: i64) -> Option<&'static str> {
        self.near_span(t, t)
    }

    fn last(&self) -> i64 {
        self.0.iter().map(|m| m.1).max().unwrap_or(0)
    }
}

/// Staff actions happen only more than ten seconds from any reporter's moment.
async fn apart(m: &Moments) {
    let wait = (m.last() + 2 * NEAR + 1 - now()).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(wait + 1)).await;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    s.iter()
        .all(u8::is_ascii_digit)
        .then(|| std::str::from_utf8(s).ok()?.parse().ok())
        .flatten()
}

/// Every time a text can hold, as unix seconds: runs of 10 digits (seconds), 13 digits
/// (milliseconds), and `YYYY-MM-DD[T ]HH:MM[:SS]` read as UTC and as Beijing time (the views
/// show Asia/Shanghai). A minute-only string is returned with `true`: it times to the minute.
fn times_in(text: &str) -> Vec<(i64, bool)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        match run {
            10 => out.push((digits(b, i, 10).unwrap_or(0), false)),
            13 => out.push((digits(b, i, 13).unwrap_or(0) / 1000, false)),
            4 if b.get(i + 4) == Some(&b'-') => {
                let date = (
                    digits(b, i, 4),
                    digits(b, i + 5, 2),
                    digits(b, i + 8, 2),
                    digits(b, i + 11, 2),
                    digits(b, i + 14, 2),
                );
                if let (Some(y), Some(mo), Some(d), Some(h), Some(mi)) = date
                    && b.get(i + 7) == Some(&b'-')
                    && matches!(b.get(i + 10), Some(b'T' | b' '))
                    && b.get(i + 13) == Some(&b':')
                {
                    let sec = if b.get(i + 16) == Some(&b':') {
                        digits(b, i + 17, 2)
                    } else {
                        None
                    };
                    let t = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60;
                    for zone in [0, 8 * 3600] {
                        out.push((t + sec.unwrap_or(0) - zone, sec.is_none()));
                    }
                }
            }
            _ => {}
        }
        i += run;
    }
    out
}

/// What in `text` would time a reporter's action, with where it was found.
fn leaks(m: &Moments, place: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (t, minute_only) in times_in(text) {
        // A time shown to the minute (not on the hour) times whatever happened in it.
        let hit = if minute_only {
            m.near_span(t, t + 59)
        } else {
            m.near(t)
        };
        if let Some(what) = hit {
            found.push(format!("{place}: {t} times the {what}: {text}"));
        }
    }
    found
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = Nullable<Text>)]
    v: Option<String>,
}

/// Every non-binary cell of every table, as text, with `table.column`.
fn every_cell(s: &Server) -> Vec<(String, String)> {
    let mut c = s.db();
    let pg = pg_admin_url().is_some();
    let tables: Vec<Name> = diesel::sql_query(if pg {
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    })
    .load(&mut c)
    .unwrap();
    assert!(tables.len() > 20, "found the tables");
    let mut out = Vec::new();
    for Name { name: table } in tables {
        let cols: Vec<Column> = diesel::sql_query(if pg {
            format!(
                "SELECT column_name::text AS name, data_type::text AS kind \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}'"
            )
        } else {
            format!("SELECT name, type AS kind FROM pragma_table_info('{table}')")
        })
        .load(&mut c)
        .unwrap();
        for col in cols {
            // Sealed bytes are random to anyone without the keys; everything else is read.
            if col.kind.eq_ignore_ascii_case("bytea") || col.kind.eq_ignore_ascii_case("blob") {
                continue;
            }
            let cast = if pg {
                format!("SELECT \"{}\"::text AS v FROM \"{table}\"", col.name)
            } else {
                format!(
                    "SELECT CAST(\"{}\" AS TEXT) AS v FROM \"{table}\"",
                    col.name
                )
            };
            for cell in diesel::sql_query(cast).load::<Cell>(&mut c).unwrap() {
                if let Some(v) = cell.v {
                    out.push((format!("{table}.{}", col.name), v));
                }
            }
        }
    }
    out
}

fn twilio_form(from: &str, body: &str, sid: &str) -> Vec<(String, String)> {
    [
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
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn text(s: &Server, body: &str, sid: &str) -> String {
    let form = twilio_form("+8613900139000", body, sid);
    let sig = tipline::notify::sms::twilio::signature(TOKEN, &format!("{PUBLIC}{INBOUND}"), &form);
    let r = s
        .client
        .post(s.url(INBOUND))
        .header("X-Twilio-Signature", sig)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn receipt_in(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .find(|t| is_receipt(t))
        .map(str::to_string)
}

fn tip_ids(s: &Server) -> Vec<String> {
    use tipline::db::schema::tips;
    tips::table.select(tips::id).load(&mut s.db()).unwrap()
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reporter_action_leaves_its_second_anywhere() {
    let (api, _sent) = mock_api(201, r#"{"sid":"SM0000","status":"queued"}"#).await;
    let mut env = vec![
        ("TIPLINE_SMS_PROVIDER", "twilio".to_string()),
        ("TIPLINE_SMS_ACCOUNT", ACCOUNT.into()),
        ("TIPLINE_SMS_TOKEN", TOKEN.into()),
        ("TIPLINE_SMS_FROM", FROM_LINE.into()),
        ("TIPLINE_SMS_API_URL", api),
        ("TIPLINE_PUBLIC_URL", PUBLIC.into()),
        ("TIPLINE_ADMIN_LISTEN", "127.0.0.1:0".into()),
        // Production's schedule and log level: the digest pass once an hour at a random point,
        // and the server's default filter.
        ("TIPLINE_DIGEST_SECONDS", "3600".into()),
        (
            "TIPLINE_LOG",
            "info,actix_server=warn,actix_web=warn".into(),
        ),
    ];
    env.shrink_to_fit();
    // Counts of an hour that has ended are published: the check below that the intake counters
    // have not moved holds only while the whole test stays within the hour it started in.
    let started = now();
    let s = Server::start_with(Options {
        captcha: true,
        extra_env: env,
        ..Default::default()
    })
    .await;
    if pg_admin_url().is_none() {
        // Every table a reporter's action inserts into keeps no order of arrival.
        let mut c = s.db();
        for table in [
            "tips",
            "sealed_keys",
            "attachments",
            "attachment_chunks",
            "idempotency",
            "spent_tokens",
            "messages",
            "outbox",
            "blind_index",
            "audit_pending",
        ] {
            let sql: Vec<Name> = diesel::sql_query(format!(
                "SELECT sql AS name FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            ))
            .load(&mut c)
            .unwrap();
            assert!(
                sql.first()
                    .is_some_and(|n| n.name.trim_end().ends_with("WITHOUT ROWID")),
                "{table} is not WITHOUT ROWID"
            );
        }
        // The intake journal's rowid is its key, `slot`, taken from the receipt's keyed hash
        // (a row of 1 KB spills out of a WITHOUT ROWID leaf; issue 19): random, not a count.
        let sql: Vec<Name> = diesel::sql_query(
            "SELECT sql AS name FROM sqlite_master WHERE type = 'table' AND name = 'tip_journal'",
        )
        .load(&mut c)
        .unwrap();
        assert!(
            sql.first()
                .is_some_and(|n| n.name.contains("slot INTEGER PRIMARY KEY")),
            "tip_journal's rowid is not its random slot"
        );
    }
    let officer = s.staff_token("a.officer", "officer", Some("ps-xidu"));
    let head = s.staff_token("a.head", "supervisor", Some("ps-xidu"));
    let county = s.staff_token("a.county", "supervisor", None);
    let finance = s.staff_token("a.finance", "finance", None);
    let auditor = s.staff_token("a.auditor", "auditor", None);
    let mut m = Moments::default();
    tokio::time::sleep(Duration::from_secs(2 * NEAR as u64 + 1)).await;

    // Reporter, first visit: a tip through the JSON API (captcha, retry token).
    let t = m.begin().await;
    let (cid, answer) = s.captcha().await;
    let mut body = tip("ANON-API 西渡镇码头有人贩毒");
    body["captcha_id"] = json!(cid);
    body["captcha_answer"] = json!(answer);
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .header("Idempotency-Key", "anonymity-retry-0001")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (code, v) = json_of(r).await;
    assert_eq!(code, 201, "{v}");
    let api_receipt = v["receipt"].as_str().unwrap().to_string();
    m.end(t, "API tip");
    let api_tip = tip_ids(&s).remove(0);

    // Staff, well apart: verify it and propose a small reward, signed up to finance.
    apart(&m).await;
    s.verify_tip(&officer, &api_tip).await;
    let today = tipline::rewards::calendar::format(tipline::rewards::calendar::today());
    let (code, p) = json_of(
        s.staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{api_tip}/rewards"),
            &json!({
                "facts": {"drugs": [{"drug": "heroin", "grams": 5.0}]},
                "cracked_on": today,
                "justification": "线索准确",
                "eligibility": {"not_duty_staff": true, "not_accomplice": true, "not_detained": true}
            }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201, "{p}");
    let reward = p["id"].as_str().unwrap().to_string();
    for signer in [&head, &finance] {
        let r = s
            .staff_post(
                signer,
                &format!("/api/v1/staff/rewards/{reward}/sign"),
                &json!(null),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{api_tip}/messages"),
            &json!({"body": "请问大概几点？"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    // Reporters, well apart from staff: every other kind of action.
    apart(&m).await;
    tokio::time::sleep(Duration::from_secs(2 * NEAR as u64)).await;
    // The web form, with its captcha and form token.
    let t = m.begin().await;
    let before = tip_ids(&s);
    let page = s
        .client
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let captcha_id = hidden(&page, "captcha_id");
    let form = Form::new()
        .text("form_token", hidden(&page, "form_token"))
        .text("category", "trafficking")
        .text("township", "xidu")
        .text("description", "ANON-WEB 西渡镇网吧后门")
        .text("captcha_answer", s.solve(&captcha_id))
        .text("captcha_id", captcha_id);
    let r = s
        .client
        .post(s.url("/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let web_receipt = receipt_in(&r.text().await.unwrap()).expect("a receipt on the page");
    m.end(t, "web form tip");
    assert_eq!(tip_ids(&s).len(), before.len() + 1);

    // An SMS tip, a follow-up text and a status query by text.
    let t = m.begin().await;
    let answer = text(&s, "ANON-SMS 金兰镇出租屋贩卖冰毒", "SM1").await;
    let sms_receipt = receipt_in(&answer).expect("the SMS answer carries a receipt");
    m.end(t, "SMS tip");
    let t = m.begin().await;
    text(&s, "ANON-SMS-2 还有一辆白色面包车", "SM2").await;
    m.end(t, "SMS follow-up");
    let t = m.begin().await;
    text(&s, &format!("STATUS {sms_receipt}"), "SM3").await;
    m.end(t, "SMS status query");

    // An emailed tip, through `tipline ingest-email` (no shared mailbox needed).
    let t = m.begin().await;
    let mail = b"From: anon.reporter@example.test\r\nTo: tips@example.org\r\nSubject: tip\r\nMessage-ID: <anon-1@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nANON-MAIL \xe6\xb4\xaa\xe5\xb8\x82\xe9\x95\x87\xe6\x9c\x89\xe4\xba\xba\xe7\xa7\x8d\xe7\xbd\x82\xe7\xb2\x9f\r\n";
    let o = s.cli_with_input(&["ingest-email"], mail, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    m.end(t, "emailed tip");

    // A message on the web, a status check, a rekey.
    let t = m.begin().await;
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({"receipt": api_receipt, "body": "ANON-MSG 晚上十点"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    m.end(t, "reporter's message");
    let t = m.begin().await;
    let (code, st) = json_of(
        s.post_json("/api/v1/status", &json!({"receipt": web_receipt}))
            .await,
    )
    .await;
    assert_eq!(code, 200, "{st}");
    m.end(t, "status check");
    let t = m.begin().await;
    let (code, rk) = json_of(
        s.post_json("/api/v1/status/rekey", &json!({"receipt": web_receipt}))
            .await,
    )
    .await;
    assert_eq!(code, 200, "{rk}");
    m.end(t, "rekey");

    // The reward: the reporter fetches the claim code and is paid at the counter.
    let t = m.begin().await;
    let (code, st) = json_of(
        s.post_json("/api/v1/status", &json!({"receipt": api_receipt}))
            .await,
    )
    .await;
    assert_eq!(code, 200);
    let claim = st["reward"]["claim_code"]
        .as_str()
        .unwrap_or_else(|| panic!("a claim code: {st}"))
        .to_string();
    m.end(t, "claim code fetched");
    let t = m.begin().await;
    let r = s
        .staff_post(
            &finance,
            "/api/v1/staff/payouts",
            &json!({"claim_code": claim, "method": "cash"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    m.end(t, "payout at the counter");
    // The intake counters have not moved within the hour.
    let metrics = s.metrics().await;
    if tipline::db::hour_floor(now()) == tipline::db::hour_floor(started) {
        assert!(
            metrics.contains("tipline_tips_created_total 0\n")
                && metrics
                    .contains("tipline_http_responses_total{zone=\"public\",class=\"2xx\"} 0\n"),
            "{metrics}"
        );
    }

    // Staff, well apart again: read every tip, the queue and the audit log.
    apart(&m).await;
    let mut answers = Vec::new();
    for id in tip_ids(&s) {
        for token in [&officer, &county] {
            let r = s
                .staff_get(token, &format!("/api/v1/staff/tips/{id}"))
                .await;
            let code = r.status();
            let body = r.text().await.unwrap();
            if code == 200 {
                answers.push((format!("tip {id}"), body));
            }
        }
    }
    assert!(answers.len() >= 4, "the tips were read");
    for path in ["/api/v1/staff/tips", "/api/v1/staff/audit?limit=200"] {
        let token = if path.contains("audit") {
            &auditor
        } else {
            &county
        };
        let r = s.staff_get(token, path).await;
        assert_eq!(r.status(), 200, "{path}");
        answers.push((path.to_string(), r.text().await.unwrap()));
    }
    // The hour ends: the digest pass chains the deferred payout entries, at the hour.
    let pending = s.count("audit_pending");
    assert!(
        pending >= 2,
        "the payout's entries wait for the hour to end"
    );
    let flushed = tipline::audit::flush_deferred(
        &mut s.db(),
        &s.keyring().audit_signer(),
        tipline::db::hour_floor(now()) + 3600,
    )
    .unwrap();
    assert_eq!(flushed as i64, pending);
    let verify = s.cli(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let mut found = Vec::new();
    let cells = every_cell(&s);
    assert!(
        cells.iter().any(|(c, _)| c == "tips.updated_at"),
        "the scan reads the tips"
    );
    for (place, value) in &cells {
        found.extend(leaks(&m, place, value));
    }
    for (place, body) in &answers {
        found.extend(leaks(&m, place, body));
    }
    for line in s.log().lines() {
        found.extend(leaks(&m, "server log", line));
    }
    assert!(
        found.is_empty(),
        "reporter moments {:?}\n{}",
        m.0,
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_each_kind_of_time() {
    let mut m = Moments::default();
    m.0.push((1_764_752_723, 1_764_752_724, "x")); // 2025-12-03T09:05:23Z
    for text in [
        "1764752723",
        "at 1764752726 and",
        "1764752723456",
        "2025-12-03T09:05:23.123456Z INFO tipline",
        "2025-12-03 09:05:25",
        "2025-12-03 17:05:23",
        "\"2025-12-03 09:05\"",
        // what the old code stored: a retry token's expiry, a captcha's, a contact's purge
        "1764839123",
        "1764753923",
        "1780304723",
    ] {
        assert!(!leaks(&m, "t", text).is_empty(), "{text}");
    }
    for text in [
        "1764752400",
        "1764752740",
        "2025-12-03T09:00:00Z",
        "2025-12-03 17:00",
        "2025-12-03 09:06",
        "deadbeef17647527230",
        "1764839200",
    ] {
        assert!(leaks(&m, "t", text).is_empty(), "{text}");
    }
}
