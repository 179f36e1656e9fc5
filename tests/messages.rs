//! Two-way anonymous messaging: officers write from the tip, the receipt holder reads and
//! answers with the receipt only; bodies are sealed to the office and the reply key; unread
//! reporter messages show in the queue; rekeying keeps the thread readable with the new
//! receipt only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use serde_json::{Value, json};

async fn status(s: &Server, receipt: &str) -> (u16, Value) {
    let r = s
        .post_json("/api/v1/status", &json!({ "receipt": receipt }))
        .await;
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn police_and_reporter_talk_through_the_receipt_only() {
    let s = Server::start().await;
    let officer = s.staff_token("m.officer", "officer", Some("ps-xidu"));
    let (tip, receipt) = s
        .public_tip("trafficking", "xidu", "西渡镇某出租屋有人贩毒")
        .await;

    let question = "请问您看到的车辆是什么颜色？";
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": question }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (code, st) = status(&s, &receipt).await;
    assert_eq!(code, 200);
    assert_eq!(st["messages"][0]["from"], "police");
    assert_eq!(st["messages"][0]["body"], question);
    assert!(
        st["messages"][0].get("author").is_none(),
        "no officer names for the reporter"
    );

    let answer = "白色面包车，车牌湘D12345";
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": answer }),
        )
        .await;
    assert_eq!(r.status(), 201);
    // Bad input: empty, too long, unknown receipt, typo.
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": "  " }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": "长".repeat(2001) }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let other = tipline::crypto::receipt::Receipt::generate().unwrap();
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": other.display(), "body": "x" }),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(s.count("messages"), 2);

    // Sealed: neither side's words are in the database or the log.
    for secret in [question, answer, "湘D12345"] {
        assert!(
            !s.database_holds(secret.as_bytes()),
            "{secret} stored in the clear"
        );
        assert!(!s.log().contains(secret));
    }

    // The queue shows the unread answer; opening the tip shows the thread and marks it read.
    let q: Value = s
        .staff_get(&officer, "/api/v1/staff/tips")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["items"][0]["unread_messages"], 1);
    let t: Value = s
        .staff_get(&officer, &format!("/api/v1/staff/tips/{tip}"))
        .await
        .json()
        .await
        .unwrap();
    let thread = t["messages"].as_array().unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0]["author"], "m.officer");
    assert_eq!(thread[1]["from"], "reporter");
    assert_eq!(thread[1]["body"], answer);
    let q: Value = s
        .staff_get(&officer, "/api/v1/staff/tips")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["items"][0]["unread_messages"], 0);

    // Another unit cannot write to the tip.
    let stranger = s.staff_token("m.other", "officer", Some("ps-jinxi"));
    let r = s
        .staff_post(
            &stranger,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": "?" }),
        )
        .await;
    assert_eq!(r.status(), 404);

    // Rekey: the thread moves to the new receipt; the old one reads nothing.
    let r = s
        .post_json("/api/v1/status/rekey", &json!({ "receipt": receipt }))
        .await;
    assert_eq!(r.status(), 200);
    let fresh = r.json::<Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(status(&s, &receipt).await.0, 404);
    let (_, st) = status(&s, &fresh).await;
    assert_eq!(st["messages"].as_array().unwrap().len(), 2);
    assert_eq!(st["messages"][1]["body"], answer);
    // The office still reads it.
    let t: Value = s
        .staff_get(&officer, &format!("/api/v1/staff/tips/{tip}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["messages"][0]["body"], question);
}

/// Staff choose what they hear about; a new tip and a reporter's message each queue a notice
/// (no content, only a count or a reference and a link); their address is sealed.
#[tokio::test]
async fn staff_notices_are_queued_sealed_and_without_content() {
    let s = Server::start().await;
    let officer = s.staff_token("n.officer", "officer", Some("ps-xidu"));
    let quiet = s.staff_token("n.quiet", "officer", Some("ps-xidu"));
    let put = |token: &str, body: Value| {
        s.client
            .put(s.url("/api/v1/staff/me/notifications"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let address = "wang.officer@example.test";
    let r = put(
        &officer,
        json!({"events": ["new_tip", "message"], "channels": ["email"], "email": address}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = put(
        &quiet,
        json!({"events": [], "channels": ["email"], "email": "quiet@example.test"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    for bad in [
        json!({"events": ["everything"], "channels": []}),
        json!({"events": [], "channels": ["pigeon"]}),
        json!({"events": [], "channels": ["email"], "email": "not an address"}),
        json!({"events": [], "channels": ["sms"], "phone": "call me"}),
    ] {
        assert_eq!(put(&officer, bad).await.unwrap().status(), 422);
    }
    let p: Value = s
        .staff_get(&officer, "/api/v1/staff/me/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["events"], json!(["new_tip", "message"]));
    assert_eq!(p["has_email"], true);
    assert!(p.get("email").is_none(), "the address is never shown back");

    let (tip, receipt) = s
        .public_tip("trafficking", "xidu", "西渡镇某KTV包厢内有人吸毒")
        .await;
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": "补充：今晚十点" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    // The worker announces the tip and resolves both notices into mails; with no SMTP server
    // configured they wait in the outbox, sealed.
    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..150 {
        use diesel::prelude::*;
        use tipline::db::schema::{outbox, tips};
        let mut c = s.db();
        let announced = tips::table
            .filter(tips::id.eq(&tip))
            .select(tips::staff_notified)
            .first::<bool>(&mut c)
            .unwrap();
        kinds = outbox::table.select(outbox::kind).load(&mut c).unwrap();
        if announced && kinds.len() >= 2 && kinds.iter().all(|k| k == "mail") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        kinds,
        ["mail", "mail"],
        "one mail per event for the officer, none for the quiet one"
    );
    for secret in [address, "quiet@example.test", "今晚十点", "KTV"] {
        assert!(
            !s.database_holds(secret.as_bytes()),
            "{secret} in the clear"
        );
        assert!(!s.log().contains(secret));
    }
}

/// Without JavaScript: the status page shows the conversation and takes an answer.
#[tokio::test]
async fn the_status_page_carries_the_conversation() {
    let s = Server::start().await;
    let officer = s.staff_token("p.officer", "officer", Some("ps-xidu"));
    let (tip, receipt) = s.public_tip("trafficking", "xidu", "西渡镇码头").await;
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": "请问大概几点？" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let page = s
        .client
        .post(s.url("/status"))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("与警方的对话") && page.contains("请问大概几点？"));
    assert!(page.contains(r#"action="/status/message?lang=zh#thread""#));
    let r = s
        .client
        .post(s.url("/status/message"))
        .form(&[("receipt", receipt.as_str()), ("body", "晚上九点左右")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("已发送") && page.contains("晚上九点左右"));
    let r = s
        .client
        .post(s.url("/status/message"))
        .form(&[("receipt", receipt.as_str()), ("body", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(s.count("messages"), 2);
}

/// The tip page shows the conversation, marks it read and sends a reply; the queue flags
/// unread reporter messages.
#[tokio::test]
async fn officers_read_and_answer_on_the_tip_page() {
    let s = Server::start().await;
    add_user(&s, "t.officer", "officer", Some("ps-xidu"));
    let now = tipline::db::now_unix() as u64;
    let (cookie, _) = login(&s, "t.officer", None, now).await;
    let (tip, receipt) = s.public_tip("trafficking", "xidu", "西渡镇桥头").await;
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": "还有一辆黑色轿车" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (_, queue) = s.page(&cookie, "/staff/tips").await;
    assert!(queue.contains("新留言 1"), "{queue}");
    let (code, html) = s.page(&cookie, &format!("/staff/tips/{tip}")).await;
    assert_eq!(code, 200);
    assert!(html.contains("与举报人的对话") && html.contains("还有一辆黑色轿车"));
    let (_, queue) = s.page(&cookie, "/staff/tips").await;
    assert!(!queue.contains("新留言"), "opening the tip marks it read");
    let csrf = hidden(&html, "csrf");
    let path = format!("/staff/tips/{tip}/messages");
    let r = s
        .submit(
            &cookie,
            &path,
            &[("csrf", csrf.as_str()), ("body", "收到，谢谢")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = s.submit(&cookie, &path, &[("body", "无令牌")]).await;
    assert_eq!(r.status(), 403, "no CSRF token, no message");
    let (_, st) = status(&s, &receipt).await;
    let bodies: Vec<&str> = st["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["还有一辆黑色轿车", "收到，谢谢"]);
}

#[tokio::test]
async fn simultaneous_preference_changes_all_succeed() {
    // Read-then-write transactions that took SQLite's write lock late failed with "database is
    // locked" (500) when another change of the same person committed in between; schemathesis
    // found it. Every change now takes the write lock first.
    let s = Server::start().await;
    let officer = s.staff_token("prefs.racer", "officer", Some("ps-xidu"));
    let mut all = Vec::new();
    for i in 0..24 {
        let req = s
            .client
            .put(s.url("/api/v1/staff/me/notifications"))
            .bearer_auth(&officer)
            .json(&json!({"events": ["new_tip"], "channels": ["email"], "email": format!("o{i}@example.org")}));
        all.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    for h in all {
        assert_eq!(h.await.unwrap(), 204);
    }
    let v: Value = s
        .staff_get(&officer, "/api/v1/staff/me/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["has_email"], true, "{v}");
}

#[tokio::test]
async fn simultaneous_rekeys_and_reporter_messages_all_succeed() {
    // Rekeys and reporters' messages read the tip before writing; on SQLite such a transaction
    // failed with "database is locked" (500) when another write committed in between (seen in
    // CI as a failed rekey). They now take the write lock first.
    let s = Server::start().await;
    let mut receipts = Vec::new();
    for i in 0..24 {
        receipts.push(s.public_tip("other", "xidu", &format!("并发 {i}")).await.1);
    }
    let mut all = Vec::new();
    for (i, receipt) in receipts.iter().enumerate() {
        let (path, body, want) = if i % 2 == 0 {
            ("/api/v1/status/rekey", json!({ "receipt": receipt }), 200)
        } else {
            (
                "/api/v1/messages",
                json!({ "receipt": receipt, "body": format!("补充 {i}") }),
                201,
            )
        };
        let req = s.client.post(s.url(path)).json(&body);
        all.push(tokio::spawn(async move {
            (req.send().await.unwrap().status().as_u16(), want, path)
        }));
    }
    for h in all {
        let (got, want, path) = h.await.unwrap();
        assert_eq!(got, want, "{path}");
    }
}
