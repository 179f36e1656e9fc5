//! Submissions under load, for the crash tests: workers that file tips (every third with an
//! attachment) until told to stop, and the check that a crash left no tip half-stored.

use super::{Server, tip};
use diesel::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The attachment every third submission carries: big enough to span several stored chunks.
pub const LOAD_ATTACHMENT_BYTES: usize = 150_000;

pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    pub receipts: Arc<Mutex<Vec<String>>>,
}

impl Load {
    /// `n` workers, each sending its submissions to `bases` in turn, recording every receipt
    /// that came back with a 201 into `receipts`.
    pub fn start(
        bases: &[String],
        n: usize,
        label: &str,
        receipts: Arc<Mutex<Vec<String>>>,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for w in 0..n {
            let (bases, stop, receipts) = (bases.to_vec(), stop.clone(), receipts.clone());
            let label = label.to_string();
            workers.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let base = &bases[(w + i) % bases.len()];
                    let description = format!("{label} {w}/{i}");
                    let req = if (w + i) % 3 == 0 {
                        let form = reqwest::multipart::Form::new()
                            .text("category", "other")
                            .text("township", "xidu")
                            .text("description", description)
                            .part(
                                "attachment",
                                reqwest::multipart::Part::bytes(vec![b'x'; LOAD_ATTACHMENT_BYTES])
                                    .file_name("a.txt"),
                            );
                        client.post(format!("{base}/api/v1/tips")).multipart(form)
                    } else {
                        client
                            .post(format!("{base}/api/v1/tips"))
                            .json(&tip(&description))
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
        Load {
            stop,
            workers,
            receipts,
        }
    }

    /// Waits until `more` receipts have come back since the call (a busy machine is slow to get
    /// the load flowing), then a random moment more, so each kill lands somewhere different.
    pub async fn flowing(&self, more: usize) {
        let before = self.receipts.lock().unwrap().len();
        for _ in 0..600 {
            if self.receipts.lock().unwrap().len() >= before + more {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(
            (tipline::crypto::random_bytes::<1>().unwrap()[0] as u64) * 2,
        ))
        .await;
    }

    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = w.await;
        }
    }
}

/// Every receipt resolves on `s`, and every stored tip is whole: its key row, a payload that
/// opens, and all its attachments, each complete.
pub async fn assert_nothing_lost_or_half_stored(s: &Server, receipts: &[String]) {
    for r in receipts {
        let st = s
            .post_json("/api/v1/status", &serde_json::json!({ "receipt": r }))
            .await;
        assert_eq!(
            st.status(),
            200,
            "receipt {r} handed out before the crash resolves"
        );
    }
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
            assert_eq!(bytes.len(), LOAD_ATTACHMENT_BYTES);
        }
    }
}
