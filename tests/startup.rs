//! First start, later starts, and starts with missing or wrong keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

#[tokio::test]
async fn first_start_creates_data_and_keys_apart_and_says_where_the_keys_are() {
    let s = Server::start().await;
    let log = s.log();
    assert!(
        log.contains("Generated new keys in") && log.contains("BACK THEM UP"),
        "{log}"
    );
    let keys = s.keys_dir();
    for f in ["office.key", "relay.key", "node.key", "peppers.key"] {
        let mode = std::fs::metadata(keys.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f} is private");
    }
    assert!(keys.join("office.pub").exists());
    if !s.db_url.starts_with("postgres") {
        assert!(s.data_dir().join("tipline.db").exists());
        for f in ["tipline.db", "tipline.db-wal"] {
            let mode = std::fs::metadata(s.data_dir().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "{f} is the service account's only, whatever the umask"
            );
        }
        let data: Vec<_> = std::fs::read_dir(s.data_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            data.iter().all(|n| !n.to_string_lossy().ends_with(".key")),
            "no key under data/"
        );
    }
    // The database holds fingerprints only, never key material.
    let ring = s.keyring();
    let secret = ring.peppers.receipt.expose().to_vec();
    assert!(!s.database_holds(&secret));
    assert!(!s.database_holds(hex::encode(&secret).as_bytes()));

    // A later start uses the same keys and the tips stay readable.
    let r = s.post_json("/api/v1/tips", &tip("重启前")).await;
    let receipt = r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    let s = s.restart().await.expect("restarts with its keys");
    assert!(!s.log().contains("Generated new keys"));
    let r = s
        .post_json("/api/v1/status", &serde_json::json!({ "receipt": receipt }))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn missing_keys_stop_the_server_with_a_clear_message() {
    let s = Server::start().await;
    let keys = s.keys_dir();
    std::fs::rename(&keys, s.dir.path().join("keys-elsewhere")).unwrap();
    let out = s.restart().await.err().expect("refuses to start");
    assert!(
        out.contains("holds none") && out.contains("Restore the keys"),
        "{out}"
    );
}

#[tokio::test]
async fn mismatched_keys_stop_the_server_with_a_clear_message() {
    let s = Server::start().await;
    let keys = s.keys_dir();
    std::fs::remove_dir_all(&keys).unwrap();
    tipline::crypto::keyring::Keyring::generate(&keys).unwrap();
    let out = s.restart().await.err().expect("refuses to start");
    assert!(out.contains("do not match this database"), "{out}");
}

#[tokio::test]
async fn readable_private_key_is_refused() {
    let s = Server::start().await;
    let office = s.keys_dir().join("office.key");
    std::fs::set_permissions(&office, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s.restart().await.err().expect("refuses to start");
    assert!(out.contains("readable by others"), "{out}");
}

#[test]
fn migrate_and_export_public_keys_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .current_dir(dir.path())
            .env("TIPLINE_DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    let m = run(&["migrate"]);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let k = run(&["keys", "init"]);
    assert!(k.status.success(), "{}", String::from_utf8_lossy(&k.stderr));
    let e = run(&["keys", "export-public"]);
    let text = String::from_utf8(e.stdout).unwrap();
    assert!(text.contains("\"kind\": \"office\"") && text.contains("\"public\""));
    assert!(
        !text.contains("private"),
        "export-public prints public keys only"
    );
    let bad = std::process::Command::new(bin())
        .current_dir(dir.path())
        .env("TIPLINE_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported database URL"));
}
