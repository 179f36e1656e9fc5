//! Keys (issue 7): rotating the office and relay keys while the portal serves, retiring the old
//! key, and passphrase-protected key files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use base64::Engine;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use tipline::db::schema::{keyring, sealed_keys};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A mail with a photo: an emailed tip has an attachment and a contact envelope (relay key).
fn mail(tag: &str) -> Vec<u8> {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    format!(
        "From: <sender-{tag}@example.test>\r\nTo: tips@example.test\r\n\
         Message-ID: <{tag}@example.test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0800\r\n\
         Subject: MAIL-{tag}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"MIX\"\r\n\r\n\
         --MIX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n金兰镇网吧门口 {tag}\r\n\
         --MIX\r\nContent-Type: image/jpeg; name=\"a.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"a.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{jpeg}\r\n--MIX--\r\n",
        jpeg = b64(&jpeg_with_exif("EXIF")),
    )
    .into_bytes()
}

async fn staff_tip(s: &Server, token: &str, id: &str) -> Value {
    let r = s
        .staff_get(token, &format!("/api/v1/staff/tips/{id}"))
        .await;
    assert_eq!(r.status(), 200, "tip {id} opens");
    r.json().await.unwrap()
}

fn rows_naming(s: &Server, key_id: &str) -> i64 {
    sealed_keys::table
        .filter(sealed_keys::recipient_key_id.eq(key_id))
        .count()
        .get_result(&mut s.db())
        .unwrap()
}

fn recorded(s: &Server) -> Vec<(String, String)> {
    keyring::table
        .select((keyring::purpose, keyring::fingerprint))
        .order(keyring::purpose)
        .load(&mut s.db())
        .unwrap()
}

fn old_files(s: &Server) -> Vec<String> {
    std::fs::read_dir(s.keys_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".old-"))
        .collect()
}

/// Every tip filed so far, with the text staff must still read.
struct Filed {
    id: String,
    description: String,
}

async fn check_all_open(s: &Server, token: &str, filed: &[Filed]) {
    for f in filed {
        let t = staff_tip(s, token, &f.id).await;
        let desc = t["report"]["description"].as_str().unwrap_or_default();
        assert!(desc.contains(&f.description), "{desc} / {}", f.description);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_while_serving_then_retire_and_every_tip_still_opens() {
    // A long epoch, so the server's epoch from before the rotation is certainly still in use.
    let s = Server::start_with(Options {
        extra_env: vec![("TIPLINE_EPOCH_SECONDS", "600".into())],
        ..Options::default()
    })
    .await;
    let officer = s.staff_token("k.super", "supervisor", None);
    let old_office = s.keyring().office.key_id.clone();
    let old_relay = s.keyring().relay.key_id.clone();

    let mut filed = Vec::new();
    for i in 0..3 {
        let d = format!("轮换前的线索 {i}");
        let (id, _) = s.public_tip("trafficking", "xidu", &d).await;
        filed.push(Filed { id, description: d });
    }
    let (msg_tip, receipt) = s.public_tip("trafficking", "xidu", "有留言的线索").await;
    filed.push(Filed {
        id: msg_tip.clone(),
        description: "有留言的线索".into(),
    });
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{msg_tip}/messages"),
            &json!({ "body": "车是什么颜色？" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = s
        .post_json(
            "/api/v1/messages",
            &json!({ "receipt": receipt, "body": "白色面包车" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let out = s.cli_with_input(&["ingest-email"], &mail("k7"), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mail_tip: String = {
        use tipline::db::schema::tips;
        tips::table
            .filter(tips::channel.eq("email"))
            .select(tips::id)
            .first(&mut s.db())
            .unwrap()
    };
    filed.push(Filed {
        id: mail_tip.clone(),
        description: "金兰镇网吧门口 k7".into(),
    });
    assert!(rows_naming(&s, &old_office) > 0);

    // Rotate the office key while tips keep arriving.
    let client = s.client.clone();
    let url = s.url("/api/v1/tips");
    let filer = tokio::spawn(async move {
        let mut ok = 0;
        for i in 0..15 {
            let r = client
                .post(&url)
                .json(&tip(&format!("轮换中的线索 {i}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            ok += 1;
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        ok
    });
    let out = tokio::task::block_in_place(|| s.cli(&["keys", "rotate", "office", "--batch", "2"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("new office key"), "{}", text(&out));
    assert_eq!(filer.await.unwrap(), 15);
    let new_office = s.keyring().office.key_id.clone();
    assert_ne!(new_office, old_office);
    assert!(
        recorded(&s).contains(&("office".into(), new_office.clone()))
            && recorded(&s).contains(&("office-old".into(), old_office.clone())),
        "{:?}",
        recorded(&s)
    );
    assert_eq!(old_files(&s), vec![format!("office.old-{old_office}.key")]);

    // The running server started on the old key: its current epoch still names it, so a tip
    // filed now puts an old-key row back, and retire must refuse.
    let d = "轮换后的线索".to_string();
    let (id, _) = s.public_tip("trafficking", "xidu", &d).await;
    filed.push(Filed { id, description: d });
    let left = rows_naming(&s, &old_office);
    assert!(left > 0, "the server's epoch from before the rotation");
    let out = s.cli(&["keys", "retire", "office"]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains(&format!(
            "{left} sealed keys still name the old office key {old_office}"
        )) && msg.contains("tipline keys rotate office"),
        "{msg}"
    );
    assert!(
        s.keys_dir()
            .join(format!("office.old-{old_office}.key"))
            .exists()
    );

    // Old and new tips open on the server that is still running.
    check_all_open(&s, &officer, &filed).await;

    // Resume, then retire.
    let out = s.cli(&["keys", "rotate", "office"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("resuming"), "{}", text(&out));
    assert_eq!(rows_naming(&s, &old_office), 0);
    let out = s.cli(&["keys", "retire", "office"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(old_files(&s).is_empty(), "the old key file is gone");
    assert_eq!(rows_naming(&s, &old_office), 0);
    assert!(!recorded(&s).iter().any(|(_, f)| *f == old_office));
    let out = s.cli(&["keys", "retire", "office"]);
    assert!(!out.status.success() && text(&out).contains("no old office key"));

    // Rotate the relay key too (contact envelopes, outbox).
    // The outbox worker may still seal to its epoch from before: rotate again until retire
    // finds no row naming the old key.
    let mut retired = false;
    for _ in 0..5 {
        let out = s.cli(&["keys", "rotate", "relay"]);
        assert!(out.status.success(), "{}", text(&out));
        let out = s.cli(&["keys", "retire", "relay"]);
        if out.status.success() {
            retired = true;
            break;
        }
        assert!(
            text(&out).contains("still name the old relay key"),
            "{}",
            text(&out)
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(retired);
    assert!(old_files(&s).is_empty());
    assert_eq!(rows_naming(&s, &old_relay), 0);

    // A restarted server holds only the new keys: everything opens, attachments and the
    // contact envelope included.
    let s = s.restart().await.expect("starts on the rotated keys");
    check_all_open(&s, &officer, &filed).await;
    let t = staff_tip(&s, &officer, &msg_tip).await;
    let bodies: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(bodies.contains(&"车是什么颜色？") && bodies.contains(&"白色面包车"));
    let ring = s.keyring();
    assert_eq!(ring.office.key_id, new_office);
    let t = staff_tip(&s, &officer, &mail_tip).await;
    let att = t["report"]["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = s.db();
    let img =
        tipline::triage::reader::open_attachment(&mut conn, &ring.office_opener().unwrap(), &att)
            .unwrap();
    assert!(img.starts_with(&[0xff, 0xd8]), "a JPEG");
    let contact =
        tipline::notify::contact::open(&mut conn, &ring.relay_opener().unwrap(), &mail_tip)
            .unwrap();
    assert!(
        contact.is_some(),
        "the contact envelope opens with the new relay key"
    );
    let out = s.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn passphrase_protected_keys_start_only_with_the_right_passphrase() {
    let secrets = tempfile::tempdir().unwrap();
    let pass = secrets.path().join("passphrase");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let s = Server::start_with(Options {
        extra_env: vec![(
            "TIPLINE_KEYS_PASSPHRASE_FILE",
            pass.to_string_lossy().into_owned(),
        )],
        ..Options::default()
    })
    .await;
    for f in ["office.key", "relay.key", "node.key", "peppers.key"] {
        let body = std::fs::read_to_string(s.keys_dir().join(f)).unwrap();
        assert!(
            body.contains("argon2id") && !body.contains("\"private\""),
            "{f} is wrapped"
        );
    }
    let r = s.post_json("/api/v1/tips", &tip("口令保护")).await;
    assert_eq!(r.status(), 201);
    let receipt = r.json::<Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string();

    // Rotation works on a protected dir, and the new key file is protected too.
    let out = s.cli(&["keys", "rotate", "office"]);
    assert!(out.status.success(), "{}", text(&out));
    let body = std::fs::read_to_string(s.keys_dir().join("office.key")).unwrap();
    assert!(body.contains("argon2id"));

    let s = s.restart().await.expect("starts with the right passphrase");
    let r = s
        .post_json("/api/v1/status", &json!({ "receipt": receipt }))
        .await;
    assert_eq!(r.status(), 200);

    let out = s.cli_with_input(
        &["unit", "list"],
        b"",
        &[("TIPLINE_KEYS_PASSPHRASE_FILE", "/nonexistent/passphrase")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot read the passphrase file"),
        "{}",
        text(&out)
    );

    std::fs::write(&pass, "wrong horse\n").unwrap();
    let out = s.restart().await.err().expect("refuses a wrong passphrase");
    assert!(
        out.contains("the passphrase does not open key file") && out.contains(".key"),
        "{out}"
    );
}

#[tokio::test]
async fn keys_protect_wraps_an_existing_dir() {
    let s = Server::start().await;
    let secrets = tempfile::tempdir().unwrap();
    let pass = secrets.path().join("passphrase");
    std::fs::write(&pass, "tipline-protect\n").unwrap();
    let out = s.cli(&[
        "keys",
        "protect",
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("4 files protected"), "{}", text(&out));
    let out = s.restart().await.err().expect("needs the passphrase now");
    assert!(
        out.contains("is protected by a passphrase")
            && out.contains("TIPLINE_KEYS_PASSPHRASE_FILE"),
        "{out}"
    );
}

#[tokio::test]
async fn a_malformed_or_missing_key_file_stops_the_start_naming_the_file() {
    use std::os::unix::fs::OpenOptionsExt;
    let s = Server::start().await;
    let relay = s.keys_dir().join("relay.key");
    std::fs::remove_file(&relay).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&relay)
        .unwrap();
    std::fs::write(&relay, "{ not a key").unwrap();
    let out = s.cli(&["unit", "list"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("relay.key is malformed"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(&relay).unwrap();
    std::fs::remove_file(s.keys_dir().join("relay.pub")).unwrap();
    let out = s.restart().await.err().expect("refuses to start");
    assert!(out.contains("relay.pub"), "{out}");
}

/// An auditor checks the audit log with a copy of the database and the exported verifying key,
/// without any key file; a closed pipe on what a command prints is not a panic.
#[tokio::test]
async fn an_auditor_verifies_with_the_exported_key_alone() {
    let s = Server::start().await;
    let (tip, _) = s.public_tip("other", "xidu", "审计").await;
    let t = s.staff_token("a.officer", "officer", Some("ps-xidu"));
    assert_eq!(
        s.staff_get(&t, &format!("/api/v1/staff/tips/{tip}"))
            .await
            .status(),
        200
    );
    let out = s.cli(&["keys", "export-public"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(kinds, ["office", "relay", "node", "audit"]);
    assert!(!stdout.contains("private"), "{stdout}");
    let key = docs[3]["verifying_key"].as_str().unwrap().to_string();

    let nowhere = s.dir.path().join("no-keys-here");
    let nowhere = nowhere.to_str().unwrap();
    // The database URL from a file (`TIPLINE_DATABASE_URL_FILE`), as a credential would be.
    let url_file = s.dir.path().join("database-url");
    std::fs::write(&url_file, format!("{}\n", s.db_url)).unwrap();
    let url_file = url_file.to_str().unwrap();
    let env = [
        ("TIPLINE_KEYS_DIR", nowhere),
        ("TIPLINE_DATABASE_URL", ""),
        ("TIPLINE_DATABASE_URL_FILE", url_file),
    ];
    let ok = s.cli_with_input(&["audit", "verify", "--verifying-key", &key], b"", &env);
    assert!(ok.status.success(), "{}", text(&ok));
    let entries: u64 = text(&ok)
        .split("audit log intact: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        entries >= 3,
        "the server's log, not an empty one: {}",
        text(&ok)
    );
    assert!(!std::path::Path::new(nowhere).exists(), "no keys made");

    // Another valid key (a changed digit may not even be a curve point).
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let other = hex::encode(other.as_bytes());
    let bad = s.cli_with_input(&["audit", "verify", "--verifying-key", &other], b"", &env);
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(text(&bad).contains("NOT intact"), "{}", text(&bad));
    let junk = s.cli_with_input(&["audit", "verify", "--verifying-key", "zz"], b"", &env);
    assert!(!junk.status.success());
    assert!(text(&junk).contains("64 hex digits"), "{}", text(&junk));

    // `keys export-public | head -0` and `unit list | head -0`: the reader is gone before the
    // first write. The command stops as SIGPIPE would (status 141), without a panic.
    for args in [["keys", "export-public"], ["unit", "list"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = s
            .cli_command(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A serving node follows a changed `office.pub` only to a key the database records: a public
/// key planted in the keys dir (by someone who can write there but not run `keys rotate`) does
/// not receive new tips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_office_pub_is_not_followed() {
    let s = Server::start_with(Options {
        extra_env: vec![("TIPLINE_EPOCH_SECONDS", "1".into())],
        ..Options::default()
    })
    .await;
    let officer = s.staff_token("k.planted", "supervisor", None);
    let own = s.keyring().office.key_id.clone();
    let foreign_dir = tempfile::tempdir().unwrap();
    tipline::crypto::keyring::Keyring::generate(foreign_dir.path()).unwrap();
    let foreign = tipline::crypto::keyring::Keyring::current_public(foreign_dir.path(), "office")
        .unwrap()
        .key_id;
    assert_ne!(own, foreign);
    std::fs::copy(
        foreign_dir.path().join("office.pub"),
        s.keys_dir().join("office.pub"),
    )
    .unwrap();
    // Past the epoch's age, so new tips start a new epoch and look at office.pub.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut filed = Vec::new();
    for i in 0..2 {
        let d = format!("换钥之后 {i}");
        let (id, _) = s.public_tip("trafficking", "xidu", &d).await;
        filed.push(Filed { id, description: d });
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    assert_eq!(
        rows_naming(&s, &foreign),
        0,
        "nothing sealed to the planted key"
    );
    check_all_open(&s, &officer, &filed).await;
    assert!(
        s.log().contains("does not record"),
        "the refusal is logged: {}",
        s.log()
    );
}
