//! The report form and the status page, as a browser without JavaScript uses them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use reqwest::multipart::{Form, Part};

fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&key)
        .unwrap_or_else(|| panic!("no hidden {name}"))
        + key.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

fn receipt_in(html: &str) -> String {
    let start = html.find("id=\"receipt\">").unwrap() + "id=\"receipt\">".len();
    html[start..start + 24].to_string()
}

#[tokio::test]
async fn chinese_by_default_english_on_request_and_labelled() {
    let s = Server::start_with(Options {
        captcha: true,
        ..Default::default()
    })
    .await;
    let zh = s
        .client
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(zh.contains("匿名举报涉毒线索") && zh.contains("我们保存什么、不保存什么"));
    assert!(
        zh.contains("href=\"/?lang=en\"") && zh.contains(">English<"),
        "visible language switch"
    );
    for field in [
        "category",
        "township",
        "description",
        "location",
        "occurred_at",
        "people",
        "vehicles",
        "attachment",
        "county_only",
        "captcha_answer",
    ] {
        assert!(
            zh.contains(&format!("for=\"{field}\"")),
            "label for {field}"
        );
        assert!(zh.contains(&format!("id=\"{field}\"")), "control {field}");
    }
    assert!(zh.contains("enctype=\"multipart/form-data\""));
    assert!(
        zh.contains("<img src=\"/captcha/") && zh.contains("<audio"),
        "image captcha with audio alternative"
    );
    assert!(zh.contains("name=\"viewport\""), "phone-width layout");
    assert!(!zh.contains("TIPLINE_CAPTCHA") && !zh.contains("验证码已关闭"));
    let en = s
        .client
        .get(s.url("/?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Report a drug crime anonymously"));
    assert!(en.contains("What we keep and what we don't"));
}

#[tokio::test]
async fn captcha_off_is_loud_on_every_form() {
    let s = Server::start().await;
    let html = s
        .client
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("验证码已关闭"));
    assert!(s.log().contains("captchas are OFF"));
}

#[tokio::test]
async fn errors_show_beside_fields_keep_what_was_typed_then_receipt_and_status() {
    let s = Server::start_with(Options {
        captcha: true,
        ..Default::default()
    })
    .await;
    let page = s
        .client
        .get(s.url("/?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&page, "form_token");
    let captcha_id = hidden(&page, "captcha_id");

    // Missing category, wrong captcha: both errors at once, typed text kept, nothing stored.
    let form = Form::new()
        .text("form_token", token.clone())
        .text("lang", "en")
        .text("township", "hongshi")
        .text("description", "Someone sells <b>drugs</b> at the teahouse")
        .text("captcha_id", captcha_id.clone())
        .text("captcha_answer", "0000");
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("role=\"alert\""));
    assert!(
        html.contains("aria-describedby=\"category-error\"")
            && html.contains("aria-invalid=\"true\"")
    );
    assert!(html.contains("captcha_answer-error"));
    assert!(
        html.contains("Someone sells &lt;b&gt;drugs&lt;/b&gt; at the teahouse"),
        "typed text kept, escaped"
    );
    assert!(html.contains("value=\"hongshi\" selected"));
    assert_eq!(s.count("tips"), 0);

    // Fixed: the receipt page, shown once, never cached.
    let new_captcha = hidden(&html, "captcha_id");
    let answer = s.solve(&new_captcha);
    let good = || {
        Form::new()
            .text("form_token", token.clone())
            .text("lang", "en")
            .text("category", "venues")
            .text("township", "hongshi")
            .text("description", "Someone sells drugs at the teahouse")
            .text("county_only", "on")
            .text("captcha_id", new_captcha.clone())
            .text("captcha_answer", answer.clone())
            .part("attachment", Part::bytes(Vec::new()).file_name(""))
    };
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(good())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let receipt = receipt_in(&html);
    assert!(is_receipt(&receipt), "{receipt}");
    assert!(html.contains("Write the receipt down"));
    assert!(
        !html.contains("?lang=zh\" lang="),
        "no language switch that would lose the receipt"
    );

    // The browser resends the same form (dropped connection): same receipt, no second tip.
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(good())
        .send()
        .await
        .unwrap();
    let again = r.text().await.unwrap();
    assert_eq!(receipt_in(&again), receipt);
    assert!(again.contains("not stored twice"));
    assert_eq!(s.count("tips"), 1);

    // Status page, typed with spaces instead of dashes.
    let r = s
        .client
        .post(s.url("/status?lang=en"))
        .form(&[("receipt", receipt.replace('-', " "))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Received, waiting to be reviewed"));
    assert!(html.contains("autocomplete=\"off\""));

    // Unknown receipt: the same page with a plain answer.
    let never = tipline::crypto::receipt::Receipt::generate()
        .unwrap()
        .display();
    let r = s
        .client
        .post(s.url("/status?lang=en"))
        .form(&[("receipt", never)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("No report was found"));

    // A typo: caught by the check digit, tied to the field.
    let mut typo: Vec<char> = receipt.chars().collect();
    typo[3] = if typo[3] == '5' { '6' } else { '5' };
    let r = s
        .client
        .post(s.url("/status"))
        .form(&[("receipt", typo.into_iter().collect::<String>())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("receipt-error") && html.contains("校验位"));
}

#[tokio::test]
async fn county_only_and_county_wide_categories_go_to_the_brigade() {
    use diesel::prelude::*;
    use tipline::db::schema::tips;
    let s = Server::start().await;
    let cases = [
        (
            serde_json::json!({"category":"trafficking","township":"xidu","description":"a"}),
            "ps-xidu",
        ),
        (
            serde_json::json!({"category":"trafficking","township":"xidu","description":"b","county_only":true}),
            "county",
        ),
        (
            serde_json::json!({"category":"fugitive","township":"shishi","description":"c"}),
            "county",
        ),
        (
            serde_json::json!({"category":"outflow","township":"hongshi","description":"d"}),
            "county",
        ),
        (
            serde_json::json!({"category":"use_hosting","township":"other","description":"e"}),
            "county",
        ),
    ];
    for (body, unit) in cases {
        let r = s.post_json("/api/v1/tips", &body).await;
        assert_eq!(r.status(), 201);
        let mut conn = s.db();
        let got: String = tips::table
            .order(tips::public_ref.desc())
            .select(tips::unit_code)
            .load::<String>(&mut conn)
            .unwrap()
            .into_iter()
            .find(|u| u == unit)
            .unwrap_or_default();
        assert_eq!(got, unit, "{body}");
    }
    let mut conn = s.db();
    let units: Vec<String> = tips::table.select(tips::unit_code).load(&mut conn).unwrap();
    assert_eq!(units.iter().filter(|u| *u == "county").count(), 4);
}

#[tokio::test]
async fn attachments_refused_by_type_size_and_count_keep_the_form() {
    let s = Server::start_with(Options {
        extra_env: vec![
            ("TIPLINE_MAX_ATTACHMENT_BYTES", "100000".into()),
            ("TIPLINE_MAX_ATTACHMENTS", "2".into()),
        ],
        ..Default::default()
    })
    .await;
    let base = || {
        Form::new()
            .text("category", "other")
            .text("township", "xidu")
            .text("description", "附件测试")
    };
    let exe = base().part(
        "attachment",
        Part::bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff\x00\x00".to_vec())
            .file_name("a.exe"),
    );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(exe)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unsupported_attachment"
    );

    let big = base().part(
        "attachment",
        Part::bytes(vec![b'a'; 100_001]).file_name("big.txt"),
    );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "attachment_too_large"
    );

    let three = base()
        .part(
            "attachment",
            Part::bytes(b"one".to_vec()).file_name("1.txt"),
        )
        .part(
            "attachment",
            Part::bytes(b"two".to_vec()).file_name("2.txt"),
        )
        .part(
            "attachment",
            Part::bytes(b"three".to_vec()).file_name("3.txt"),
        );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(three)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "too_many_attachments"
    );

    let broken = base().part(
        "attachment",
        Part::bytes(b"\x89PNG\r\n\x1a\nnot really".to_vec()).file_name("x.png"),
    );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_image"
    );

    // The HTML form keeps what was typed when a file is refused.
    let exe = base().part(
        "attachment",
        Part::bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff\x00\x00".to_vec())
            .file_name("a.exe"),
    );
    let r = s
        .client
        .post(s.url("/"))
        .multipart(exe)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let html = r.text().await.unwrap();
    assert!(html.contains("附件测试") && html.contains("attachment-error"));
    assert_eq!(s.count("tips"), 0);
    assert_eq!(s.count("attachments"), 0);

    let ok = base().part(
        "attachment",
        Part::bytes(jpeg_with_exif("x")).file_name("ok.jpg"),
    );
    assert_eq!(
        s.client
            .post(s.url("/api/v1/tips"))
            .multipart(ok)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(s.count("attachments"), 1);
}

/// Four uploads that stall inside their first file hold every upload slot. A report without a
/// file (every web form is multipart, with an empty file part) still goes through; a report
/// with a file waits for a slot and, when none frees up, gets "busy" with its text kept; once
/// the stalled uploads are gone, files are taken again.
#[tokio::test]
async fn reports_without_files_pass_while_stalled_uploads_hold_every_slot() {
    use tokio::io::AsyncWriteExt;
    let s = Server::start_with(Options {
        extra_env: vec![("TIPLINE_ADMIN_LISTEN", "127.0.0.1:0".into())],
        ..Default::default()
    })
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for i in 0..4 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/v1/tips HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: multipart/form-data; boundary=STALL\r\nContent-Length: 5000000\r\n\r\n\
             --STALL\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nother\r\n\
             --STALL\r\nContent-Disposition: form-data; name=\"township\"\r\n\r\nxidu\r\n\
             --STALL\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nstalled {i}\r\n\
             --STALL\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\n{}",
            "slow file ".repeat(100)
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.flush().await.unwrap();
        stalled.push(c);
    }
    // Let the server read those first bytes and take the slots.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("tipline_upload_slots_in_use 4\n"),
        "{metrics}"
    );

    let form = |desc: &str, file: Vec<u8>| {
        Form::new()
            .text("category", "other")
            .text("township", "xidu")
            .text("description", desc.to_string())
            .part("attachment", Part::bytes(file).file_name(""))
    };
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(form("TEXT-ONLY 西渡镇", Vec::new()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a report without a file is not held up");
    assert!(r.text().await.unwrap().contains("id=\"receipt\""));

    // With a file it waits for a slot (30 s), then the page says busy and keeps the text.
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(form("WITH-FILE 金兰镇", b"a note".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(page.contains("WITH-FILE 金兰镇"), "typed text kept: {page}");

    drop(stalled);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(form("after the stall", b"a note".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "slots are free again");
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("tipline_upload_slots_in_use 0\n"),
        "{metrics}"
    );
}
