//! The public side under a spammer and for a resident (issue 16): the captcha is no oracle, an
//! IPv6 /64 is one client, files are not read before the captcha is, and a resident who asks for
//! a new captcha, mistypes one, reloads the receipt or reloads after a message loses nothing and
//! stores nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

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

fn captcha_on() -> Options {
    Options {
        captcha: true,
        ..Default::default()
    }
}

fn wrong(answer: &str) -> String {
    answer
        .chars()
        .map(|c| if c == '9' { '2' } else { '9' })
        .collect()
}

async fn post_tip(s: &Server, body: &Value) -> (u16, Value) {
    let r = s.post_json("/api/v1/tips", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn with_captcha(mut tip: Value, id: &str, answer: &str) -> Value {
    tip["captcha_id"] = json!(id);
    tip["captcha_answer"] = json!(answer);
    tip
}

#[tokio::test]
async fn a_captcha_takes_one_guess_and_a_failing_request_does_not_tell_it() {
    let s = Server::start_with(captcha_on()).await;

    // A wrong guess is told, and spends the id: the right answer afterwards gets nothing.
    let (id, answer) = s.captcha().await;
    let (st, body) = post_tip(&s, &with_captcha(tip("猜验证码"), &id, &wrong(&answer))).await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("captcha_wrong"))
    );
    let (st, body) = post_tip(&s, &with_captcha(tip("猜验证码"), &id, &answer)).await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("captcha_used"))
    );
    // The brute force of issue 16: every other answer on the same id, each refused alike.
    for guess in ["22222", "33333", "45678", "98765"] {
        let (st, body) = post_tip(&s, &with_captcha(tip("猜验证码"), &id, guess)).await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (409, Some("captcha_used"))
        );
    }
    assert_eq!(s.count("tips"), 0);

    // Another field wrong: the answer is checked (and the id spent) but not told; a right and a
    // wrong answer get the same reply.
    let mut bad = tip("没有类别");
    bad["category"] = json!("");
    let (id1, answer1) = s.captcha().await;
    let (id2, answer2) = s.captcha().await;
    let (st1, right) = post_tip(&s, &with_captcha(bad.clone(), &id1, &answer1)).await;
    let (st2, wrong_one) = post_tip(&s, &with_captcha(bad.clone(), &id2, &wrong(&answer2))).await;
    assert_eq!((st1, st2), (422, 422));
    assert_eq!(right, wrong_one, "the captcha's result is not told");
    let fields = right["error"]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "captcha_answer" && f["code"] == "captcha_again"),
        "{right}"
    );
    // Spent either way.
    let (_, body) = post_tip(&s, &with_captcha(tip("好"), &id1, &answer1)).await;
    assert_eq!(body["error"]["code"], "captcha_used");

    // A fresh captcha, answered right with good fields, lets the tip through once.
    let (id, answer) = s.captcha().await;
    let (st, _) = post_tip(&s, &with_captcha(tip("好"), &id, &answer)).await;
    assert_eq!(st, 201);
    assert_eq!(s.count("tips"), 1);
}

#[tokio::test]
async fn captcha_media_is_rendered_once_per_id_and_limited() {
    let s = Server::start_with(Options {
        captcha: true,
        rate_limit: "2",
        ..Default::default()
    })
    .await;
    let page = s.client.get(s.url("/")).send().await.unwrap();
    let id = hidden(&page.text().await.unwrap(), "captcha_id");
    let get = |path: String| {
        let c = s.client.clone();
        let url = s.url(&path);
        async move { c.get(url).send().await.unwrap() }
    };
    // The sound differs from one rendering to the next (noise, gaps); served twice, it is
    // the same bytes: rendered once.
    let a = get(format!("/captcha/{id}.wav")).await;
    assert_eq!(a.status(), 200);
    let a = a.bytes().await.unwrap();
    let b = get(format!("/captcha/{id}.wav"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(a, b);
    // Eight fetches a minute per client at a POST limit of 2; then 429.
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(get(format!("/captcha/{id}.png")).await.status().as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 2, "{codes:?}");
}

#[tokio::test]
async fn an_ipv6_slash_64_is_one_client() {
    let s = Server::start_with(Options {
        rate_limit: "2",
        extra_env: vec![("TIPLINE_TRUSTED_PROXIES", "127.0.0.1/32".into())],
        ..Default::default()
    })
    .await;
    let from = |addr: &'static str| {
        let c = s.client.clone();
        let url = s.url("/api/v1/status");
        async move {
            c.post(url)
                .header("x-forwarded-for", addr)
                .json(&json!({"receipt": "0000-0000-0000-0000-0000"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The bypass of issue 16: a new address of the same /64 for every request.
    assert_ne!(from("2001:db8:1:2::1").await, 429);
    assert_ne!(from("2001:db8:1:2::2").await, 429);
    assert_eq!(from("2001:db8:1:2:ffff:ffff:ffff:3").await, 429);
    assert_eq!(from("2001:db8:1:2:1234::9").await, 429);
    // Another /64 is another client.
    assert_ne!(from("2001:db8:1:3::1").await, 429);
}

/// A JPEG that cannot be decoded: were it decoded, the answer would be `bad_image`.
fn broken_jpeg() -> Vec<u8> {
    let mut j = jpeg_with_exif("x");
    j.truncate(40);
    j.extend_from_slice(&[0u8; 4000]);
    j
}

#[tokio::test]
async fn no_file_is_read_before_a_valid_captcha() {
    let s = Server::start_with(captcha_on()).await;
    let fields = || {
        Form::new()
            .text("category", "other")
            .text("township", "xidu")
            .text("description", "文件在验证码前面")
    };
    let send = |form: Form| {
        let c = s.client.clone();
        let url = s.url("/api/v1/tips");
        async move {
            let r = c.post(url).multipart(form).send().await.unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        }
    };
    // The flood of issue 16: the file before the captcha (or no captcha at all).
    let (st, body) =
        send(fields().part("attachment", Part::bytes(broken_jpeg()).file_name("a.jpg"))).await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("captcha_required")),
        "{body}"
    );
    let (id, answer) = s.captcha().await;
    let (st, body) = send(
        fields()
            .part("attachment", Part::bytes(broken_jpeg()).file_name("a.jpg"))
            .text("captcha_id", id.clone())
            .text("captcha_answer", answer.clone()),
    )
    .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("captcha_required")),
        "{body}"
    );
    // A wrong captcha before the file: refused on the captcha, the file never looked at.
    let (id, answer) = s.captcha().await;
    let (st, body) = send(
        fields()
            .text("captcha_id", id.clone())
            .text("captcha_answer", wrong(&answer))
            .part("attachment", Part::bytes(broken_jpeg()).file_name("a.jpg")),
    )
    .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (422, Some("captcha_wrong")),
        "{body}"
    );
    // With a right captcha first, the file is read (and this one refused as an image).
    let (id, answer) = s.captcha().await;
    let (_, body) = send(
        fields()
            .text("captcha_id", id)
            .text("captcha_answer", answer)
            .part("attachment", Part::bytes(broken_jpeg()).file_name("a.jpg")),
    )
    .await;
    assert_eq!(body["error"]["code"], "bad_image", "{body}");
    assert_eq!(s.count("tips"), 0);
}

async fn form_page(s: &Server) -> String {
    s.client
        .get(s.url("/?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn report(token: &str, captcha_id: &str, answer: &str, photo: bool) -> Form {
    let f = Form::new()
        .text("form_token", token.to_string())
        .text("lang", "en")
        .text("category", "venues")
        .text("township", "hongshi")
        .text("description", "A long report typed with care on a phone")
        .text("captcha_id", captcha_id.to_string())
        .text("captcha_answer", answer.to_string());
    if photo {
        f.part(
            "attachment",
            Part::bytes(jpeg_with_exif("GPS")).file_name("street.jpg"),
        )
    } else {
        f
    }
}

#[tokio::test]
async fn a_resident_loses_nothing_and_nothing_is_stored_twice() {
    let s = Server::start_with(captcha_on()).await;
    let page = form_page(&s).await;
    let token = hidden(&page, "form_token");
    let first = hidden(&page, "captcha_id");
    assert!(
        page.find("name=\"captcha_answer\"").unwrap() < page.find("name=\"attachment\"").unwrap(),
        "the captcha comes before the files"
    );
    assert!(page.contains("formaction=\"/?lang=en&amp;refresh=1\""));

    // "Get a new captcha": the same form back, everything typed kept, a new captcha, the photo
    // kept (held for the form, named neutrally); nothing checked, no tip stored.
    let r = s
        .client
        .post(s.url("/?lang=en&refresh=1"))
        .multipart(report(&token, &first, "", true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("A long report typed with care on a phone"));
    assert!(html.contains("value=\"hongshi\" selected"));
    assert_eq!(hidden(&html, "form_token"), token);
    let second = hidden(&html, "captcha_id");
    assert_ne!(second, first);
    assert!(html.contains("photo 1 (kept)"), "{html}");
    assert!(!html.contains("you chose were not kept") && !html.contains("street.jpg"));
    assert_eq!((s.count("tips"), s.count("held_files")), (0, 1));

    // A wrong captcha with the same photo chosen again: text kept, the photo still held once.
    let answer = s.solve(&second);
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(report(&token, &second, &wrong(&answer), true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("The captcha was wrong"));
    assert!(html.contains("A long report typed with care on a phone"));
    assert!(html.contains("photo 1 (kept)") && !html.contains("you chose were not kept"));
    assert_eq!((s.count("tips"), s.count("held_files")), (0, 1));

    // Fixed, nothing chosen again: the receipt, and the held photo is the tip's attachment.
    let third = hidden(&html, "captcha_id");
    let answer = s.solve(&third);
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(report(&token, &third, &answer, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let receipt = receipt_in(&html);
    assert!(is_receipt(&receipt));
    assert_eq!(
        (
            s.count("tips"),
            s.count("attachments"),
            s.count("held_files")
        ),
        (1, 1, 0)
    );

    // Reloading the receipt page sends the same form again: the same receipt page.
    for _ in 0..2 {
        let r = s
            .client
            .post(s.url("/?lang=en"))
            .multipart(report(&token, &third, &answer, true))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let again = r.text().await.unwrap();
        assert_eq!(receipt_in(&again), receipt);
        assert!(!again.contains("already sent"));
    }
    // A browser's reload may send the file again differently, or not at all: still the same
    // receipt page (the token is the page's own), nothing stored.
    let r = s
        .client
        .post(s.url("/?lang=en"))
        .multipart(report(&token, &third, &answer, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(receipt_in(&r.text().await.unwrap()), receipt);
    assert_eq!((s.count("tips"), s.count("attachments")), (1, 1));

    // A message, then a reload of the page it answered with: stored once.
    let r = s
        .client
        .post(s.url("/status?lang=en"))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap();
    let status = r.text().await.unwrap();
    let message_token = hidden(&status, "message_token");
    for _ in 0..2 {
        let r = s
            .client
            .post(s.url("/status/message?lang=en"))
            .form(&[
                ("receipt", receipt.as_str()),
                ("message_token", message_token.as_str()),
                ("body", "The car is a white van"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("The car is a white van"));
        assert_eq!(
            html.matches("The car is a white van").count(),
            1,
            "shown once"
        );
        assert_ne!(hidden(&html, "message_token"), message_token);
    }
    assert_eq!(s.count("messages"), 1);
}

/// The ids of the files a page lists as held, in order (their "remove" boxes).
fn held_ids(html: &str) -> Vec<String> {
    html.split("name=\"drop_held\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

fn texts(s: &Server, sql: &str) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    diesel::sql_query(sql)
        .load::<T>(&mut s.db())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

fn data_keys(s: &Server, id: &str) -> i64 {
    s.count(&format!(
        "sealed_keys WHERE object_kind = 'attachment' AND object_id = '{id}'"
    ))
}

/// A web form of the report page, with its captcha, the held files to drop, and files.
fn web_form(
    token: &str,
    captcha: Option<(&str, &str)>,
    category: &str,
    drops: &[String],
    files: &[(&'static str, Vec<u8>)],
) -> Form {
    let mut f = Form::new()
        .text("form_token", token.to_string())
        .text("lang", "en")
        .text("category", category.to_string())
        .text("township", "hongshi")
        .text("description", "Held files test: typed once");
    if let Some((id, answer)) = captcha {
        f = f
            .text("captcha_id", id.to_string())
            .text("captcha_answer", answer.to_string());
    }
    for d in drops {
        f = f.text("drop_held", d.clone());
    }
    for (name, bytes) in files {
        f = f.part("attachment", Part::bytes(bytes.clone()).file_name(*name));
    }
    f
}

#[tokio::test]
async fn files_of_a_refused_form_are_held_sealed_and_join_the_corrected_one_once() {
    let s = Server::start_with(Options {
        captcha: true,
        extra_env: vec![("TIPLINE_MAX_ATTACHMENTS", "3".into())],
        ..Default::default()
    })
    .await;
    let post = |form: Form| {
        let c = s.client.clone();
        let url = s.url("/?lang=en");
        async move {
            let r = c.post(url).multipart(form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let page = form_page(&s).await;
    let token = hidden(&page, "form_token");
    let id1 = hidden(&page, "captcha_id");
    let photo = jpeg_with_exif("GPS 31.2N");
    let note = "held note: the dealer's phone 13900139000"
        .as_bytes()
        .to_vec();
    let files = [
        ("IMG_zhangsan.jpg", photo.clone()),
        ("note.txt", note.clone()),
    ];

    // Another field missing and a wrong captcha, with a photo and a text file: both held,
    // sealed, listed by neutral labels with a box to drop each.
    let wrong1 = wrong(&s.solve(&id1));
    let (st, html) = post(web_form(&token, Some((&id1, &wrong1)), "", &[], &files)).await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("Held files test: typed once"));
    assert!(
        html.contains("photo 1 (kept)") && html.contains("file 2 (kept)"),
        "{html}"
    );
    assert!(
        !html.contains("IMG_zhangsan")
            && !html.contains("note.txt")
            && !html.contains("you chose were not kept")
    );
    let ids = held_ids(&html);
    assert_eq!(ids.len(), 2);
    assert_eq!((s.count("tips"), s.count("held_files")), (0, 2));
    for id in &ids {
        assert_eq!(data_keys(&s, id), 1, "each held file's data key is sealed");
    }
    // Nothing in the clear, no time finer than the hour.
    assert!(!s.database_holds(b"13900139000") && !s.database_holds(b"GPS 31.2N"));
    assert_eq!(s.count("held_files WHERE expires_at % 3600 <> 0"), 0);

    // The browser reloads that page: the same POST again. Nothing is held twice (nor decoded:
    // the captcha id has had its one hold).
    let (st, html) = post(web_form(&token, Some((&id1, &wrong1)), "", &[], &files)).await;
    assert_eq!(st, 422, "{html}");
    assert_eq!(held_ids(&html), ids);
    assert_eq!(s.count("held_files"), 2);

    // No captcha at all (the flood's request), with another photo: refused, that photo neither
    // decoded nor held, and named as to be chosen again; the held ones stay listed.
    let other = [("b.jpg", jpeg_with_exif("other"))];
    let (st, html) = post(web_form(&token, None, "venues", &[], &other)).await;
    assert_eq!(st, 422, "{html}");
    assert!(
        html.contains("The 1 file(s) you chose were not kept"),
        "{html}"
    );
    assert_eq!(held_ids(&html), ids);
    assert_eq!(s.count("held_files"), 2);

    // Held and new files share the form's cap (3 here): two held and two new are too many.
    let id2 = hidden(&html, "captcha_id");
    let a2 = s.solve(&id2);
    let two_new = [
        ("c.jpg", jpeg_with_exif("c")),
        ("d.jpg", jpeg_with_exif("d")),
    ];
    let (st, html) = post(web_form(&token, Some((&id2, &a2)), "venues", &[], &two_new)).await;
    assert_eq!(st, 413, "{html}");
    assert_eq!((s.count("tips"), s.count("held_files")), (0, 2));

    // Corrected: the text file dropped, one new photo. The tip has the held photo (moved as it
    // was sealed, under its own id) and the new one; nothing stays held.
    let id3 = hidden(&html, "captcha_id");
    let a3 = s.solve(&id3);
    let one_new = [("e.jpg", jpeg_with_exif("e"))];
    let (st, html) = post(web_form(
        &token,
        Some((&id3, &a3)),
        "venues",
        std::slice::from_ref(&ids[1]),
        &one_new,
    ))
    .await;
    assert_eq!(st, 200, "{html}");
    let receipt = receipt_in(&html);
    assert_eq!(
        (
            s.count("tips"),
            s.count("attachments"),
            s.count("held_files")
        ),
        (1, 2, 0)
    );
    let attachment_ids = texts(&s, "SELECT id AS t FROM attachments");
    assert!(
        attachment_ids.contains(&ids[0]),
        "the held photo joined the tip as sealed"
    );
    assert!(
        !attachment_ids.contains(&ids[1]),
        "the dropped file did not"
    );
    assert_eq!(
        data_keys(&s, &ids[1]),
        0,
        "the dropped file's data key is gone"
    );
    assert_eq!(
        s.count("tips WHERE attachment_count = 2"),
        1,
        "the tip counts both"
    );

    // Reloading the receipt page: the same receipt, nothing more stored.
    let (st, html) = post(web_form(&token, Some((&id3, &a3)), "venues", &[], &one_new)).await;
    assert_eq!((st, receipt_in(&html)), (200, receipt));
    assert_eq!((s.count("tips"), s.count("attachments")), (1, 2));

    // A form never sent right: its held file expires (at an hour) and the sweep deletes it
    // with its data key.
    let page = form_page(&s).await;
    let token = hidden(&page, "form_token");
    let id = hidden(&page, "captcha_id");
    let w = wrong(&s.solve(&id));
    let (st, html) = post(web_form(
        &token,
        Some((&id, &w)),
        "venues",
        &[],
        &files[..1],
    ))
    .await;
    assert_eq!(st, 422);
    let left = held_ids(&html);
    assert_eq!((left.len(), s.count("held_files")), (1, 1));
    {
        use diesel::prelude::*;
        diesel::sql_query("UPDATE held_files SET expires_at = expires_at - 36000")
            .execute(&mut s.db())
            .unwrap();
    }
    tipline::intake::store::purge_expired(&mut s.db()).unwrap();
    assert_eq!((s.count("held_files"), data_keys(&s, &left[0])), (0, 0));
    assert_eq!(s.count("attachments"), 2);

    // The flood's request on a fresh form (no captcha, a forged id, nothing held): refused at
    // its first file, which is neither read on nor held; the page still keeps the text.
    let page = form_page(&s).await;
    let token = hidden(&page, "form_token");
    for captcha in [None, Some(("forged-id", "23456"))] {
        let (st, html) = post(web_form(&token, captcha, "venues", &[], &files)).await;
        assert_eq!(st, 422, "{html}");
        assert!(html.contains("Held files test: typed once"));
        assert!(html.contains("you chose were not kept") && held_ids(&html).is_empty());
        assert_eq!(s.count("held_files"), 0);
    }
}

#[tokio::test]
async fn the_office_contact_details_are_configuration_and_placeholders_warn() {
    // Not set: marked placeholders on the pages, and a warning at start.
    let s = Server::start().await;
    let form = s
        .client
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("联系我们") && form.contains("【待设置：办公地址】"));
    assert!(
        form.contains("县公安局禁毒大队"),
        "the payout office from the plan"
    );
    assert!(s.log().contains("TIPLINE_OFFICE_HOTLINES"), "{}", s.log());

    let s = Server::start_with(Options {
        extra_env: vec![
            (
                "TIPLINE_OFFICE_HOTLINES",
                "0734-6812345, 0734-6810110".into(),
            ),
            ("TIPLINE_OFFICE_ADDRESS_ZH", "西渡镇蒸阳北路 1 号".into()),
            (
                "TIPLINE_OFFICE_ADDRESS_EN",
                "1 Zhengyang North Road, Xidu".into(),
            ),
            ("TIPLINE_OFFICE_HOURS_ZH", "周一至周五 8:30-17:30".into()),
            ("TIPLINE_OFFICE_HOURS_EN", "Mon-Fri 8:30-17:30".into()),
        ],
        ..Default::default()
    })
    .await;
    assert!(!s.log().contains("TIPLINE_OFFICE_HOTLINES"));
    for (path, address) in [
        ("/", "西渡镇蒸阳北路 1 号"),
        ("/?lang=en", "1 Zhengyang North Road, Xidu"),
        ("/status", "西渡镇蒸阳北路 1 号"),
        ("/status?lang=en", "1 Zhengyang North Road, Xidu"),
    ] {
        let html = s
            .client
            .get(s.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(address), "{path}");
        assert!(html.contains("href=\"tel:0734-6812345\""), "{path}");
        assert!(
            html.contains("0734-6810110") && html.contains("110"),
            "{path}"
        );
        assert!(
            html.contains("<span class=\"nowrap\">8:30-17:30</span>"),
            "{path}"
        );
        assert!(
            !html.contains("NOT SET") && !html.contains("待设置"),
            "{path}"
        );
    }
}
