//! Retention (`tipline retention run [--dry-run]`): closed unfounded tips past their months
//! are deleted with their attachments, messages, notes and keys, leaving only the monthly
//! report's counts; contact details past their days are purged; the dry run changes nothing;
//! recent tips and other states stay; every deletion is audited; on SQLite the deleted
//! ciphertext is gone from the database files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use diesel::prelude::*;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tipline::db::schema::{
    attachment_chunks, attachments, messages, sealed_keys, tip_events, tips,
};

async fn file_with_attachment(s: &Server, marker: &str) -> String {
    let form = Form::new()
        .text("category", "trafficking")
        .text("township", "xidu")
        .text("description", format!("RETENTION-{marker}"))
        .part(
            "attachment",
            Part::bytes(format!("ATTACHMENT-{marker}").into_bytes()).file_name("note.txt"),
        );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn walk(s: &Server, token: &str, tip: &str, path: &[&str]) {
    for to in path {
        let r = s
            .staff_post(
                token,
                &format!("/api/v1/staff/tips/{tip}/transition"),
                &json!({ "to": to, "note": format!("NOTE-{tip}-{to}") }),
            )
            .await;
        assert_eq!(r.status(), 204, "{tip} to {to}");
    }
}

async fn totals(s: &Server, token: &str, month: &str) -> serde_json::Value {
    s.staff_get(
        token,
        &format!("/api/v1/staff/reports/monthly?month={month}"),
    )
    .await
    .json::<serde_json::Value>()
    .await
    .unwrap()["totals"]
        .clone()
}

fn tip_ids(s: &Server) -> Vec<String> {
    tips::table.select(tips::id).load(&mut s.db()).unwrap()
}

fn out_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn closed_unfounded_tips_go_after_their_months_leaving_only_report_counts() {
    let s = Server::start().await;
    let boss = s.staff_token("boss", "supervisor", None);
    let mut ids = Vec::new();
    let mut receipts = Vec::new();
    for marker in ["OLD-A", "OLD-B", "RECENT", "VERIFIED"] {
        let before = tip_ids(&s);
        receipts.push(file_with_attachment(&s, marker).await);
        let id = tip_ids(&s)
            .into_iter()
            .find(|i| !before.contains(i))
            .unwrap();
        ids.push(id);
    }
    let (old_a, old_b, recent, verified) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    // An emailed tip from 200 days ago: its sender's address goes after 180 days.
    let before_mail = tip_ids(&s);
    let mail = b"From: reporter@example.test\r\nTo: tips@example.org\r\nSubject: tip\r\nMessage-ID: <ret-1@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEMAILED-TIP\r\n";
    let o = s.cli_with_input(&["ingest-email"], mail, &[]);
    assert!(o.status.success(), "{}", out_text(&o));
    let emailed = tip_ids(&s)
        .into_iter()
        .find(|i| !before_mail.contains(i))
        .unwrap();
    let half_year = tipline::db::now_unix() - 200 * 86_400;
    diesel::update(tips::table.filter(tips::id.eq(&emailed)))
        .set(tips::created_hour.eq(half_year - half_year % 3600))
        .execute(&mut s.db())
        .unwrap();
    // The police wrote to the first reporter before closing it.
    let r = s
        .staff_post(
            &boss,
            &format!("/api/v1/staff/tips/{old_a}/messages"),
            &json!({"body": "MESSAGE-OLD-A"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    for t in [old_a, old_b, recent] {
        walk(&s, &boss, t, &["triaging", "unfounded", "closed"]).await;
    }
    walk(
        &s,
        &boss,
        verified,
        &["assigned", "investigating", "verified", "closed"],
    )
    .await;

    // Thirteen months pass for the two old ones (the default keeps unfounded tips 12 months).
    let mut c = s.db();
    let long_ago = tipline::db::now_unix() - 400 * 86_400;
    for t in [old_a, old_b, verified] {
        diesel::update(tip_events::table.filter(tip_events::tip_id.eq(t)))
            .set(tip_events::at.eq(long_ago))
            .execute(&mut c)
            .unwrap();
        diesel::update(tips::table.filter(tips::id.eq(t)))
            .set(tips::created_hour.eq(long_ago - long_ago % 3600))
            .execute(&mut c)
            .unwrap();
    }
    let day = tipline::rewards::calendar::day_of(long_ago);
    let month = tipline::reports::period::Period::containing(day, 28).label();
    let before = totals(&s, &boss, &month).await;
    assert_eq!(before["received"], 3);
    assert_eq!(before["unfounded"], 2);
    assert_eq!(before["verified"], 1);
    let old_payload: Vec<u8> = tips::table
        .filter(tips::id.eq(old_a))
        .select(tips::payload)
        .first(&mut c)
        .unwrap();

    // The dry run names what would go and changes nothing.
    let counted = |s: &Server| {
        (
            s.count("tips"),
            s.count("attachments"),
            s.count("messages"),
            s.count("tip_notes"),
            s.count("sealed_keys"),
        )
    };
    let was = counted(&s);
    let dry = s.cli(&["retention", "run", "--dry-run"]);
    let text = out_text(&dry);
    assert!(dry.status.success(), "{text}");
    assert!(
        text.contains("1 contact envelopes, 2 closed tips"),
        "{text}"
    );
    assert!(text.contains("trafficking\t0\t2\t0"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(counted(&s), was);

    let run = s.cli(&["retention", "run"]);
    let text = out_text(&run);
    assert!(run.status.success(), "{text}");
    assert!(
        text.contains("1 contact envelopes purged, 2 tips deleted with 2 attachments"),
        "{text}"
    );
    let contact: Option<Vec<u8>> = tips::table
        .filter(tips::id.eq(&emailed))
        .select(tips::contact)
        .first(&mut c)
        .unwrap();
    assert!(
        contact.is_none(),
        "the emailed tip stays, without its sender"
    );
    let left = tip_ids(&s);
    assert!(!left.contains(old_a) && !left.contains(old_b));
    assert!(
        left.contains(recent) && left.contains(verified) && left.contains(&emailed),
        "recent and verified tips stay"
    );
    for t in [old_a, old_b] {
        let n: i64 = attachments::table
            .filter(attachments::tip_id.eq(t))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(n, 0);
        let n: i64 = messages::table
            .filter(messages::tip_id.eq(t))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(n, 0);
        let n: i64 = sealed_keys::table
            .filter(sealed_keys::object_id.eq(t))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(n, 0, "no key of the tip is left");
        let n: i64 = tipline::db::schema::blind_index::table
            .filter(tipline::db::schema::blind_index::tip_id.eq(t))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(n, 0, "no blind-index tag of the tip is left");
        let n: i64 = tip_events::table
            .filter(tip_events::tip_id.eq(t))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(n, 0);
    }
    let chunks: i64 = attachment_chunks::table.count().get_result(&mut c).unwrap();
    assert_eq!(chunks, 2, "the two kept tips' attachments only");
    assert_eq!(s.count("tip_notes"), 3 + 4, "notes of the kept tips");

    // The report still counts them; the receipts are unknown now.
    let after = totals(&s, &boss, &month).await;
    assert_eq!(after, before, "the month's figures survive the deletion");
    let r = s
        .post_json("/api/v1/status", &json!({"receipt": receipts[0]}))
        .await;
    assert_eq!(r.status(), 404);
    let r = s
        .post_json("/api/v1/status", &json!({"receipt": receipts[2]}))
        .await;
    assert_eq!(r.status(), 200);

    // Audited, and the chain still verifies.
    let n: i64 = tipline::db::schema::audit_log::table
        .filter(tipline::db::schema::audit_log::action.eq("retention.delete"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(n, 2);
    let v = s.cli(&["audit", "verify"]);
    assert!(v.status.success(), "{}", out_text(&v));

    // Deleted means gone from the files (SQLite: secure_delete, checkpoint, VACUUM).
    if pg_admin_url().is_none() {
        let bytes = s.data_bytes();
        assert!(
            !contains(&bytes, &old_payload),
            "the deleted ciphertext is not in the files"
        );
    }

    // A second run finds nothing.
    let again = s.cli(&["retention", "run", "--dry-run"]);
    assert!(
        out_text(&again).contains("0 contact envelopes, 0 closed tips"),
        "{}",
        out_text(&again)
    );
}

#[tokio::test]
async fn retention_rules_are_a_checked_policy_document() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[default]\nunfounded_months = 3\n").unwrap();
    let o = s.cli(&["policy", "set", "retention", bad.to_str().unwrap()]);
    assert!(!o.status.success(), "contact_days is required");
    assert!(out_text(&o).contains("contact_days"), "{}", out_text(&o));
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[default]\ncontact_days = 30\nunfounded_months = 1\n[category.use_hosting]\nunfounded_months = 2\n").unwrap();
    let o = s.cli(&["policy", "set", "retention", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", out_text(&o));
    let o = s.cli(&["policy", "show", "retention"]);
    assert!(out_text(&o).contains("version 1"), "{}", out_text(&o));
    let admin = s.staff_token("root", "admin", None);
    let r = s.staff_get(&admin, "/api/v1/staff/policy/retention").await;
    assert_eq!(r.status(), 200);
}
