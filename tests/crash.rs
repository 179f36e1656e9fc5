//! Crash safety: submit tips under load, SIGKILL the server at a random moment, restart, and
//! check that every receipt handed out resolves and that no tip is half-stored.

mod common;
use common::*;
use diesel::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
async fn sigkill_under_load_loses_no_receipt_and_leaves_nothing_half_stored() {
    let mut s = Server::start().await;
    let receipts = Arc::new(Mutex::new(Vec::<String>::new()));
    for round in 0..3u64 {
        let base = s.base.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut workers = Vec::new();
        for w in 0..8 {
            let (base, stop, receipts) = (base.clone(), stop.clone(), receipts.clone());
            workers.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let req = if (w + i) % 3 == 0 {
                        let form = reqwest::multipart::Form::new()
                            .text("category", "other")
                            .text("township", "xidu")
                            .text("description", format!("crash {round}/{w}/{i}"))
                            .part(
                                "attachment",
                                reqwest::multipart::Part::bytes(vec![b'x'; 150_000])
                                    .file_name("a.txt"),
                            );
                        client.post(format!("{base}/api/v1/tips")).multipart(form)
                    } else {
                        client
                            .post(format!("{base}/api/v1/tips"))
                            .json(&tip(&format!("crash {round}/{w}/{i}")))
                    };
                    match req.send().await {
                        Ok(r) if r.status() == 201 => {
                            if let Ok(v) = r.json::<serde_json::Value>().await
                                && let Some(rc) = v["receipt"].as_str()
                            {
                                receipts.lock().unwrap().push(rc.to_string());
                            }
                        }
                        _ => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            }));
        }
        // Kill once the load is flowing (a busy machine is slow to get there), at a moment that
        // differs from round to round.
        let before = receipts.lock().unwrap().len();
        for _ in 0..600 {
            if receipts.lock().unwrap().len() >= before + 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(
            (tipline::crypto::random_bytes::<1>().unwrap()[0] as u64) * 2,
        ))
        .await;
        s.child.kill().unwrap(); // SIGKILL
        let _ = s.child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in workers {
            let _ = w.await;
        }
        s = s.restart().await.expect("restarts after SIGKILL");
    }
    let receipts = receipts.lock().unwrap().clone();
    assert!(receipts.len() > 20, "load actually ran: {}", receipts.len());
    for r in &receipts {
        let st = s
            .post_json("/api/v1/status", &serde_json::json!({ "receipt": r }))
            .await;
        assert_eq!(
            st.status(),
            200,
            "receipt {r} handed out before the crash resolves"
        );
    }

    // Nothing half-stored: every tip has its key rows and all its attachment chunks, and opens.
    use tipline::db::schema::{attachments, sealed_keys, tips};
    let mut conn = s.db();
    let all: Vec<(String, i32)> = tips::table
        .select((tips::id, tips::attachment_count))
        .load(&mut conn)
        .unwrap();
    assert!(all.len() >= receipts.len());
    let opener = s.keyring().office_opener().unwrap();
    for (id, n) in all {
        let keys: i64 = sealed_keys::table
            .filter(sealed_keys::object_kind.eq("tip"))
            .filter(sealed_keys::object_id.eq(&id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(keys, 1, "tip {id} has its key");
        tipline::triage::reader::open_payload(&mut conn, &opener, &id)
            .expect("every stored tip opens");
        let atts: Vec<String> = attachments::table
            .filter(attachments::tip_id.eq(&id))
            .select(attachments::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(atts.len() as i32, n, "tip {id} has all its attachments");
        for a in atts {
            let bytes = tipline::triage::reader::open_attachment(&mut conn, &opener, &a)
                .expect("attachment complete");
            assert_eq!(bytes.len(), 150_000);
        }
    }
}
