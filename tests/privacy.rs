//! What a thief of the database or a reader of the logs gets: ciphertext, keyed hashes and
//! coarse metadata. Nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use diesel::prelude::*;
use reqwest::multipart::{Form, Part};
use tipline::db::schema::tips;

#[tokio::test]
async fn no_plaintext_in_database_files_or_log_and_sealed_tip_opens_with_office_key() {
    let s = Server::start().await;
    let desc = "DESC-MARKER-7f3a 有人在金兰镇卖冰毒";
    let people = "PEOPLE-MARKER-91c2 绰号“阿飞”";
    let attach_text = "ATTACH-MARKER-55e1 一份手写记录";
    let form = Form::new()
        .text("category", "venues")
        .text("township", "jinlan")
        .text("description", desc)
        .text("location", "LOCATION-MARKER-0b7d")
        .text("people", people)
        .text("vehicles", "湘D-PLATE-MARKER")
        .part(
            "attachment",
            Part::bytes(attach_text.as_bytes().to_vec()).file_name("记录-张三.txt"),
        )
        .part(
            "attachment",
            Part::bytes(jpeg_with_exif("GPS-EXIF-MARKER-3c9")).file_name("IMG_GPS_NAME.jpg"),
        );
    let r = s
        .client
        .post(s.url("/api/v1/tips?lang=en"))
        .header("User-Agent", "UA-MARKER-Agent/1.0")
        .header("X-Forwarded-For", "203.0.113.77")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let receipt = r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    let digits: String = receipt.chars().filter(|c| c.is_ascii_digit()).collect();
    let status = s
        .post_json("/api/v1/status", &serde_json::json!({ "receipt": receipt }))
        .await;
    assert_eq!(status.status(), 200);

    let secrets: Vec<&[u8]> = vec![
        desc.as_bytes(),
        "DESC-MARKER".as_bytes(),
        "阿飞".as_bytes(),
        b"LOCATION-MARKER",
        b"PLATE-MARKER",
        b"ATTACH-MARKER",
        "一份手写记录".as_bytes(),
        b"GPS-EXIF-MARKER",
        b"IMG_GPS_NAME",
        "张三".as_bytes(),
        digits.as_bytes(),
        receipt.as_bytes(),
        b"203.0.113.77",
        b"UA-MARKER",
    ];
    for secret in &secrets {
        assert!(
            !s.database_holds(secret),
            "database holds {}",
            String::from_utf8_lossy(secret)
        );
    }
    // The log of the same run: route patterns and statuses only.
    let log = s.log();
    for secret in &secrets {
        assert!(
            !contains(log.as_bytes(), secret),
            "log holds {}",
            String::from_utf8_lossy(secret)
        );
    }
    assert!(!log.contains("lang=en"), "no query strings in the log");
    // Successful public requests are counted, not logged at info: the journal's timestamp
    // would give the second a tip was filed, while the database keeps the hour.
    assert!(
        !log.contains("route=/api/v1/tips") && !log.contains("route=/api/v1/status"),
        "no access line for public requests at info level: {log}"
    );

    // Coarse metadata only: the hour, routed unit, category.
    let mut conn = s.db();
    let (id, hour, updated, unit, count): (String, i64, i64, String, i32) = tips::table
        .select((
            tips::id,
            tips::created_hour,
            tips::updated_at,
            tips::unit_code,
            tips::attachment_count,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(hour % 3600, 0);
    assert_eq!(updated % 3600, 0);
    assert_eq!(unit, "ps-jinlan");
    assert_eq!(count, 2);

    // The office key opens what intake sealed; the exact time is inside the sealed payload.
    let ring = s.keyring();
    let opener = ring.office_opener().unwrap();
    let payload = tipline::triage::reader::open_payload(&mut conn, &opener, &id).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(v["description"], desc);
    assert_eq!(v["people"], people);
    assert!(v["submitted_at"].as_i64().unwrap() >= hour);
    let atts = v["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert!(
        !v.to_string().contains("IMG_GPS_NAME"),
        "file names are dropped"
    );
    let text_id = atts
        .iter()
        .find(|a| a["content_type"].as_str().unwrap().starts_with("text/"))
        .unwrap()["id"]
        .as_str()
        .unwrap();
    let img_id = atts
        .iter()
        .find(|a| a["content_type"] == "image/jpeg")
        .unwrap()["id"]
        .as_str()
        .unwrap();
    assert_eq!(
        &tipline::triage::reader::open_attachment(&mut conn, &opener, text_id).unwrap()[..],
        attach_text.as_bytes()
    );
    let img = tipline::triage::reader::open_attachment(&mut conn, &opener, img_id).unwrap();
    assert!(img.starts_with(&[0xFF, 0xD8]), "still a JPEG");
    assert!(
        !contains(&img, b"GPS-EXIF-MARKER") && !contains(&img, b"Exif"),
        "metadata stripped by re-encoding"
    );
    assert_eq!(image::load_from_memory(&img).unwrap().width(), 64);

    // A different office key cannot open it.
    let other = tempfile::tempdir().unwrap();
    tipline::crypto::keyring::Keyring::generate(other.path()).unwrap();
    let stranger = tipline::crypto::keyring::Keyring::load(other.path())
        .unwrap()
        .office_opener()
        .unwrap();
    assert!(tipline::triage::reader::open_payload(&mut conn, &stranger, &id).is_err());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = Server::start().await;
    for path in [
        "/",
        "/status",
        "/?lang=en",
        "/api/v1/meta",
        "/static/style.css",
        "/nowhere",
    ] {
        let r = s.client.get(s.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(!csp.contains("http"), "no other site is allowed");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h.get("set-cookie").is_none(),
            "the public site sets no cookie"
        );
        if path != "/static/style.css" {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    // Pages load nothing from another site.
    let html = s
        .client
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
}
