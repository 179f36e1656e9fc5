//! Crash safety: submit tips under load, SIGKILL the server at a random moment, restart, and
//! check that every receipt handed out resolves and that no tip is half-stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn sigkill_under_load_loses_no_receipt_and_leaves_nothing_half_stored() {
    let mut s = Server::start().await;
    let receipts = Arc::new(Mutex::new(Vec::<String>::new()));
    for round in 0..3u64 {
        let load = Load::start(
            std::slice::from_ref(&s.base),
            8,
            &format!("crash {round}"),
            receipts.clone(),
        );
        load.flowing(8).await;
        s.child.kill().unwrap(); // SIGKILL
        let _ = s.child.wait();
        load.stop().await;
        s = s.restart().await.expect("restarts after SIGKILL");
    }
    let receipts = receipts.lock().unwrap().clone();
    assert!(receipts.len() > 20, "load actually ran: {}", receipts.len());
    assert_nothing_lost_or_half_stored(&s, &receipts).await;
}
