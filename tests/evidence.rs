//! Police see the evidence and find what they need (issue 15), over HTTP against the real
//! binary on SQLite and (with TEST_DATABASE_URL) PostgreSQL: attachments that came by the web
//! and by email are opened by the tip's officer through the API and on the tip page, carry no
//! EXIF, go out with our own content type and no caching; other roles and units are refused,
//! and every read is audited. Search by identifier finds every spelling, only in scope, never
//! counts county-only tips for other units, audits no value and is limited per officer. The
//! queue shows and filters assignment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use base64::Engine;
use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn tag() -> String {
    hex::encode(tipline::crypto::random_bytes::<5>().unwrap())
}

fn b64(data: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    s.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A mail with a photo (EXIF GPS marker) and a text file, as a phone's mail app sends it.
fn mail_with_photo(tag: &str) -> Vec<u8> {
    format!(
        "Received: from [198.51.100.23] by mx.example.test\r\n\
         Message-ID: <ev-{tag}@client.example.test>\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0800\r\n\
         From: <sender-{tag}@example.test>\r\n\
         To: tips@example.test\r\n\
         MIME-Version: 1.0\r\n\
         Subject: photo {tag}\r\n\
         Content-Type: multipart/mixed; boundary=\"MIX\"\r\n\r\n\
         --MIX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMAIL-{tag} 照片是昨晚拍的\r\n\
         --MIX\r\nContent-Type: image/jpeg; name=\"IMG_{tag}.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"IMG_{tag}.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{jpeg}\r\n\
         --MIX\r\nContent-Type: text/plain; charset=utf-8; name=\"list.txt\"\r\n\
         Content-Disposition: attachment; filename=\"list.txt\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{text}\r\n\
         --MIX--\r\n",
        jpeg = b64(&jpeg_with_exif(&format!("GPS-MAIL-{tag}"))),
        text = b64(format!("<b>名单</b> MAILTEXT-{tag}").as_bytes()),
    )
    .into_bytes()
}

/// The attachments a tip lists, as the staff API shows them.
async fn attachments_of(s: &Server, token: &str, tip: &str) -> Vec<Value> {
    let t: Value = s
        .staff_get(token, &format!("/api/v1/staff/tips/{tip}"))
        .await
        .json()
        .await
        .unwrap();
    t["report"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Checks a photo download: our headers, decodable bytes, no EXIF, no marker.
async fn photo_download(r: reqwest::Response, marker: &str) {
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    let disposition = h["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.ends_with(".jpg\""), "{disposition}");
    assert!(!disposition.contains("IMG_"), "no original file name");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    let bytes = r.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).expect("the photo decodes");
    assert_eq!((img.width(), img.height()), (64, 48));
    assert!(!contains(&bytes, b"Exif"), "EXIF is gone");
    assert!(
        !contains(&bytes, marker.as_bytes()),
        "the GPS marker is gone"
    );
}

#[tokio::test]
async fn officers_open_photos_from_the_web_and_by_email_and_nobody_else_does() {
    let s = Server::start().await;
    let tag = tag();
    let xidu = s.staff_token("wang.xidu", "officer", Some("ps-xidu"));
    let county = s.staff_token("chen.county", "officer", Some("county"));
    let jinxi = s.staff_token("li.jinxi", "officer", Some("ps-jinxi"));
    let finance = s.staff_token("qian.finance", "finance", None);
    let admin = s.staff_token("sun.admin", "admin", None);
    let auditor = s.staff_token("zhou.audit", "auditor", None);

    // A web tip with a photo carrying EXIF GPS, and a text file that looks like markup.
    let web_marker = format!("GPS-WEB-{tag}");
    let form = Form::new()
        .text("category", "trafficking")
        .text("township", "xidu")
        .text("description", format!("WEB-{tag} 网吧门口交易"))
        .part(
            "attachment",
            Part::bytes(jpeg_with_exif(&web_marker)).file_name(format!("IMG_{tag}.jpg")),
        )
        .part(
            "attachment",
            Part::bytes(
                format!("<script>alert(1)</script> TEXT-{tag}\n第二行")
                    .as_bytes()
                    .to_vec(),
            )
            .file_name("notes.txt"),
        );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let q: Value = s
        .staff_get(&xidu, "/api/v1/staff/tips")
        .await
        .json()
        .await
        .unwrap();
    let web_tip = q["items"][0]["id"].as_str().unwrap().to_string();
    let web = attachments_of(&s, &xidu, &web_tip).await;
    assert_eq!(web.len(), 2);
    assert_eq!(web[0]["content_type"], "image/jpeg");
    assert!(
        web[1]["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let photo = web[0]["id"].as_str().unwrap().to_string();
    let text = web[1]["id"].as_str().unwrap().to_string();

    // An emailed tip with a photo and a text file: `tipline ingest-email` on standard input.
    let out = s.cli_with_input(&["ingest-email"], &mail_with_photo(&tag), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q: Value = s
        .staff_get(&county, "/api/v1/staff/tips?channel=email")
        .await
        .json()
        .await
        .unwrap();
    let mail_tip = q["items"][0]["id"].as_str().unwrap().to_string();
    let mail = attachments_of(&s, &county, &mail_tip).await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    let mail_photo = mail[0]["id"].as_str().unwrap().to_string();
    let mail_text = mail[1]["id"].as_str().unwrap().to_string();

    // The unit's officer downloads each through the API.
    let api = |tip: &str, a: &str| format!("/api/v1/staff/tips/{tip}/attachments/{a}");
    photo_download(
        s.staff_get(&xidu, &api(&web_tip, &photo)).await,
        &web_marker,
    )
    .await;
    photo_download(
        s.staff_get(&county, &api(&mail_tip, &mail_photo)).await,
        &format!("GPS-MAIL-{tag}"),
    )
    .await;
    let r = s.staff_get(&xidu, &api(&web_tip, &text)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(r.text().await.unwrap().contains(&format!("TEXT-{tag}")));
    let r = s.staff_get(&county, &api(&mail_tip, &mail_text)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(&format!("MAILTEXT-{tag}")));

    // Finance, admin and auditor are refused; another unit's officer finds nothing; an
    // attachment asked for under another tip is not found either.
    for (who, token) in [
        ("finance", &finance),
        ("admin", &admin),
        ("auditor", &auditor),
    ] {
        let r = s.staff_get(token, &api(&web_tip, &photo)).await;
        assert_eq!(r.status(), 403, "{who}");
    }
    assert_eq!(
        s.staff_get(&jinxi, &api(&web_tip, &photo)).await.status(),
        404
    );
    assert_eq!(
        s.staff_get(&county, &api(&web_tip, &photo)).await.status(),
        404
    );
    assert_eq!(
        s.staff_get(&xidu, &api(&mail_tip, &mail_photo))
            .await
            .status(),
        404
    );
    assert_eq!(
        s.staff_get(&xidu, &api(&web_tip, &mail_photo))
            .await
            .status(),
        404
    );
    assert_eq!(
        s.staff_get(&xidu, &api(&web_tip, "nothing")).await.status(),
        404
    );

    // On the tip page: the photo inline with a link to the full image, the text escaped, type,
    // size and channel, never a file name, and a CSP that takes images only from us.
    add_user(&s, "wang.page", "officer", Some("ps-xidu"));
    add_user(&s, "chen.page", "officer", Some("county"));
    add_user(&s, "qian.page", "finance", None);
    let now = tipline::db::now_unix() as u64;
    let (cookie, _) = login(&s, "wang.page", None, now).await;
    let r = s
        .client
        .get(s.url(&format!("/staff/tips/{web_tip}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self';") && !csp.contains("data:"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    let inline = format!("/staff/tips/{web_tip}/attachments/{photo}");
    assert!(
        page.contains(&format!("<img src=\"{inline}\"")),
        "photo inline"
    );
    assert!(
        page.contains(&format!("href=\"{inline}\"")),
        "link to the full image"
    );
    assert!(
        page.contains(&format!("{inline}?download=1")),
        "download link"
    );
    assert!(page.contains("JPEG 图片") && page.contains("文本文件"));
    assert!(page.contains("经网上收到"), "the channel");
    assert!(page.contains(&format!("&lt;script&gt;alert(1)&lt;/script&gt; TEXT-{tag}")));
    assert!(!page.contains("<script>alert(1)"), "text is never rendered");
    assert!(!page.contains(&format!("IMG_{tag}")) && !page.contains("notes.txt"));
    // Facts before actions: the report and attachments come before the first form.
    let first_form = page
        .find("<form method=\"post\" action=\"/staff/tips/")
        .unwrap();
    assert!(page.find("id=\"attachments\"").unwrap() < first_form);
    assert!(page.find("id=\"report\"").unwrap() < first_form);

    let r = s
        .client
        .get(s.url(&inline))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["content-disposition"], "inline");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let bytes = r.bytes().await.unwrap();
    assert!(image::load_from_memory(&bytes).is_ok() && !contains(&bytes, b"Exif"));
    let r = s
        .client
        .get(s.url(&format!("{inline}?download=1")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // The emailed tip on the county officer's page; finance is refused the photo.
    let (county_cookie, _) = login(&s, "chen.page", None, now).await;
    let (status, page) = s
        .page(&county_cookie, &format!("/staff/tips/{mail_tip}"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!(
        "<img src=\"/staff/tips/{mail_tip}/attachments/{mail_photo}\""
    )));
    assert!(page.contains("经邮件收到"));
    assert!(page.contains(&format!("&lt;b&gt;名单&lt;/b&gt; MAILTEXT-{tag}")));
    let (status, _) = s
        .page(
            &county_cookie,
            &format!("/staff/tips/{web_tip}/attachments/{photo}"),
        )
        .await;
    assert_eq!(status, 404, "another unit's photo");
    let (finance_cookie, _) = login(&s, "qian.page", None, now).await;
    let (status, _) = s.page(&finance_cookie, &inline).await;
    assert_eq!(status, 403);

    // The audit log shows each read per attachment, and each refusal.
    let log: Value = s
        .staff_get(
            &auditor,
            "/api/v1/staff/audit?action=tip.attachment.read&limit=200",
        )
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    let has = |actor: &str, object: &str, outcome: &str| {
        items
            .iter()
            .any(|i| i["actor"] == actor && i["object"] == object && i["outcome"] == outcome)
    };
    let obj = |tip: &str, a: &str| format!("tip:{tip}/attachment:{a}");
    assert!(has("staff:wang.xidu", &obj(&web_tip, &photo), "ok"));
    assert!(has("staff:wang.xidu", &obj(&web_tip, &text), "ok"));
    assert!(has("staff:chen.county", &obj(&mail_tip, &mail_photo), "ok"));
    assert!(
        has("staff:wang.page", &obj(&web_tip, &photo), "ok"),
        "page view"
    );
    assert!(
        has("staff:wang.page", &obj(&web_tip, &text), "ok"),
        "text shown on the page"
    );
    assert!(has("staff:chen.page", &obj(&mail_tip, &mail_text), "ok"));
    for actor in ["staff:qian.finance", "staff:sun.admin", "staff:li.jinxi"] {
        assert!(has(actor, &obj(&web_tip, &photo), "denied"), "{actor}");
    }
    let out = s.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn unindexed(s: &Server) -> i64 {
    use diesel::prelude::*;
    use tipline::db::schema::tips;
    tips::table
        .filter(tips::index_version.lt(tipline::crypto::blind::NORMALIZATION_VERSION))
        .count()
        .get_result(&mut s.db())
        .unwrap()
}

/// Waits for the server's background indexer to index every tip.
async fn indexed(s: &Server) {
    let start = Instant::now();
    while unindexed(s) > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the background indexer did not index every tip"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn search(s: &Server, token: &str, q: &str, kind: Option<&str>) -> (u16, Value) {
    let mut query = vec![("q", q)];
    if let Some(k) = kind {
        query.push(("kind", k));
    }
    let qs = serde_urlencoded::to_string(&query).unwrap();
    let r = s
        .client
        .get(s.url(&format!("/api/v1/staff/search?{qs}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn search_finds_every_spelling_in_scope_and_audits_no_value() {
    let s = Server::start().await;
    let xidu = s.staff_token("s.xidu", "officer", Some("ps-xidu"));
    let jinxi = s.staff_token("s.jinxi", "officer", Some("ps-jinxi"));
    let county = s.staff_token("s.county", "officer", Some("county"));
    let supervisor = s.staff_token("s.super", "supervisor", None);
    let finance = s.staff_token("s.finance", "finance", None);
    let auditor = s.staff_token("s.audit", "auditor", None);
    let file = |township: &'static str, fields: Value| {
        let mut t = json!({"category": "trafficking", "township": township});
        for (k, v) in fields.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    };
    let (a, _) = s
        .public_tip_with(&file(
            "xidu",
            json!({"description": "卖货的人电话 138 0013 8000，开一辆湘D·12345", "people": "张伟、绰号“老三”"}),
        ))
        .await;
    let (b, _) = s
        .public_tip_with(&file(
            "xidu",
            json!({"description": "联系方式 +86-13800138000"}),
        ))
        .await;
    let (c, _) = s
        .public_tip_with(&file(
            "xidu",
            json!({"description": "电话１３８００１３８０００", "vehicles": "湘d 12345 白色面包车", "people": "外号：老三"}),
        ))
        .await;
    let (other_unit, _) = s
        .public_tip_with(&file(
            "jinxi",
            json!({"description": "有人用13800138000联系买货"}),
        ))
        .await;
    // The reporter asked that only the county brigade see this one.
    let (county_only, _) = s
        .public_tip_with(&file(
            "xidu",
            json!({"description": "只给县大队：13800138000", "county_only": true}),
        ))
        .await;
    let (unrelated, _) = s
        .public_tip_with(&file(
            "xidu",
            json!({"description": "电话13900139000，车牌湘D54321"}),
        ))
        .await;
    indexed(&s).await;

    // Every spelling of the number finds the same tips of the unit; the other unit's tip is
    // only counted, and the county-only tip is not even counted.
    let mine = sorted(vec![a.clone(), b.clone(), c.clone()]);
    for spelling in [
        "138 0013 8000",
        "+86-13800138000",
        "１３８００１３８０００",
        "0086 138-0013-8000",
    ] {
        let (status, r) = search(&s, &xidu, spelling, None).await;
        assert_eq!(status, 200, "{spelling}: {r}");
        assert_eq!(ids(&r), mine, "{spelling}");
        assert_eq!(r["kinds"], json!(["phone"]), "{spelling}");
        assert_eq!(
            r["elsewhere"], 1,
            "{spelling}: the county-only tip is never counted"
        );
    }
    let (_, r) = search(&s, &xidu, "13800138000", Some("phone")).await;
    assert!(!ids(&r).contains(&unrelated));
    // Plates and names in other spellings.
    let (_, r) = search(&s, &xidu, "湘d12345", None).await;
    assert_eq!(ids(&r), sorted(vec![a.clone(), c.clone()]), "{r}");
    let (_, r) = search(&s, &xidu, "“老三”", Some("person")).await;
    assert_eq!(ids(&r), sorted(vec![a.clone(), c.clone()]), "{r}");
    assert_eq!(r["items"][0]["matched"], json!(["person"]));
    // Items are metadata only.
    let (_, r) = search(&s, &xidu, "13800138000", None).await;
    assert!(!r.to_string().contains("卖货"));

    // The other unit sees its own tip and counts ours; the county brigade sees the
    // county-only tip; a county supervisor sees all five.
    let (_, r) = search(&s, &jinxi, "13800138000", None).await;
    assert_eq!(ids(&r), vec![other_unit.clone()]);
    assert_eq!(r["elsewhere"], 3);
    let (_, r) = search(&s, &county, "13800138000", None).await;
    assert_eq!(ids(&r), vec![county_only.clone()]);
    assert_eq!(r["elsewhere"], 4);
    let (_, r) = search(&s, &supervisor, "13800138000", None).await;
    assert_eq!(
        ids(&r),
        sorted(vec![
            a.clone(),
            b.clone(),
            c.clone(),
            other_unit.clone(),
            county_only.clone()
        ])
    );
    assert_eq!(r["elsewhere"], 0);

    // Refusals and bad input.
    assert_eq!(search(&s, &finance, "13800138000", None).await.0, 403);
    assert_eq!(search(&s, &auditor, "13800138000", None).await.0, 403);
    assert_eq!(search(&s, &xidu, "", None).await.0, 422);
    assert_eq!(search(&s, &xidu, "x", None).await.0, 422);
    assert_eq!(search(&s, &xidu, "13800138000", Some("shoe")).await.0, 422);

    // Audited with the kind and the count, never the value.
    let log: Value = s
        .staff_get(&auditor, "/api/v1/staff/audit?action=tip.search&limit=200")
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["actor"] == "staff:s.xidu"
        && i["object"] == "search:phone:3"
        && i["outcome"] == "ok"));
    assert!(
        items
            .iter()
            .any(|i| i["actor"] == "staff:s.xidu" && i["object"] == "search:person:2")
    );
    assert!(
        items
            .iter()
            .any(|i| i["actor"] == "staff:s.finance" && i["outcome"] == "denied")
    );
    let everything = format!("{log}{}", s.log());
    for value in ["13800138000", "老三"] {
        assert!(
            !everything.contains(value),
            "{value} in the audit log or server log"
        );
    }
    for secret in ["13800138000", "老三"] {
        assert!(
            !s.database_holds(secret.as_bytes()),
            "database holds {secret}"
        );
    }

    // The search box on the staff pages.
    add_user(&s, "s.page", "officer", Some("ps-xidu"));
    let now = tipline::db::now_unix() as u64;
    let (cookie, _) = login(&s, "s.page", None, now).await;
    let (status, queue) = s.page(&cookie, "/staff/tips").await;
    assert_eq!(status, 200);
    assert!(queue.contains("action=\"/staff/search\""));
    let (status, page) = s.page(&cookie, "/staff/search?q=138-0013-8000&kind=").await;
    assert_eq!(status, 200);
    for t in [&a, &b, &c] {
        assert!(page.contains(&format!("/staff/tips/{t}")), "{page}");
    }
    assert!(!page.contains(&format!("/staff/tips/{other_unit}")));
    assert!(!page.contains(&format!("/staff/tips/{county_only}")));
    assert!(page.contains("其他单位另有 1 条"));
}

#[tokio::test]
async fn searches_are_limited_per_officer() {
    let s = Server::start().await;
    let busy = s.staff_token("r.busy", "officer", Some("ps-xidu"));
    let other = s.staff_token("r.other", "officer", Some("ps-xidu"));
    let auditor = s.staff_token("r.audit", "auditor", None);
    let limit = tipline::triage::search::SEARCHES_PER_WINDOW;
    let mut refused = 0;
    // The window may turn over once while this runs: at most one extra window's worth.
    for _ in 0..(2 * limit + 1) {
        let (status, _) = search(&s, &busy, "13800138000", None).await;
        if status == 429 {
            refused += 1;
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(refused >= 1, "a probe of the index is limited");
    assert_eq!(
        search(&s, &other, "13800138000", None).await.0,
        200,
        "per officer"
    );
    let log: Value = s
        .staff_get(&auditor, "/api/v1/staff/audit?action=tip.search&limit=200")
        .await
        .json()
        .await
        .unwrap();
    assert!(log["items"].as_array().unwrap().iter().any(|i| {
        i["actor"] == "staff:r.busy"
            && i["object"] == "search:rate_limited"
            && i["outcome"] == "denied"
    }));
}

#[tokio::test]
async fn the_queue_shows_and_filters_assignment() {
    let s = Server::start().await;
    let me = s.staff_token("a.me", "officer", Some("ps-xidu"));
    let (mine, _) = s.public_tip("trafficking", "xidu", "指派给我").await;
    let (theirs, _) = s.public_tip("trafficking", "xidu", "指派给别人").await;
    let (nobody, _) = s.public_tip("trafficking", "xidu", "没人管").await;
    s.staff_token("a.colleague", "officer", Some("ps-xidu"));
    for (tip, who) in [(&mine, "a.me"), (&theirs, "a.colleague")] {
        let r = s
            .staff_post(
                &me,
                &format!("/api/v1/staff/tips/{tip}/assign"),
                &json!({ "username": who }),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let list = |q: &'static str| {
        let s = &s;
        let me = &me;
        async move {
            let v: Value = s
                .staff_get(me, &format!("/api/v1/staff/tips{q}"))
                .await
                .json()
                .await
                .unwrap();
            v
        }
    };
    let v = list("?assigned=me").await;
    assert_eq!(ids(&v), vec![mine.clone()]);
    assert_eq!(v["items"][0]["assignee"], "a.me");
    let v = list("?assigned=none").await;
    assert_eq!(ids(&v), vec![nobody.clone()]);
    let v = list("").await;
    assert_eq!(ids(&v).len(), 3);
    let r = s
        .staff_get(&me, "/api/v1/staff/tips?assigned=everyone")
        .await;
    assert_eq!(r.status(), 422);

    add_user(&s, "a.page", "officer", Some("ps-xidu"));
    let now = tipline::db::now_unix() as u64;
    let (cookie, _) = login(&s, "a.page", None, now).await;
    let (_, page) = s.page(&cookie, "/staff/tips?assigned=none").await;
    assert!(page.contains(&format!("/staff/tips/{nobody}")));
    assert!(!page.contains(&format!("/staff/tips/{mine}")));
    let (_, page) = s.page(&cookie, "/staff/tips").await;
    assert!(page.contains("a.colleague") && page.contains("未指派"));
    let (_, page) = s.page(&cookie, &format!("/staff/tips/{theirs}")).await;
    assert!(
        page.contains("<dt>指派给</dt><dd>a.colleague</dd>"),
        "the tip page says who"
    );
    assert!(page.contains("指派给我"));
    // "Assign to me" from the tip page, then the filter finds it.
    let csrf = hidden(&page, "csrf");
    let r = s
        .submit(
            &cookie,
            &format!("/staff/tips/{nobody}/assign"),
            &[("csrf", csrf.as_str()), ("username", "a.page")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = s.page(&cookie, "/staff/tips?assigned=me").await;
    assert!(page.contains(&format!("/staff/tips/{nobody}")));
    assert!(!page.contains(&format!("/staff/tips/{theirs}")));
}
