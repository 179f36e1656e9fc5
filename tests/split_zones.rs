#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic
//! Split zones (issue 18): an intake node (SQLite, keys without office.key, claim or
//! blind-index pepper) and a police node (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
//! two `tipline serve` processes with separate databases and keys dirs, and bundle files the
//! test moves between them as a gap device would.

mod common;
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Zones {
    intake: Server,
    police: Server,
    root: tempfile::TempDir,
}

fn env_for(
    db_url: &str,
    mode: &str,
    keys: &Path,
    outbox: &Path,
    inbox: &Path,
) -> Vec<(String, String)> {
    [
        ("TIPLINE_DATABASE_URL", db_url.to_string()),
        ("TIPLINE_CAPTCHA", "off".into()),
        ("TIPLINE_RATE_LIMIT", "off".into()),
        ("TIPLINE_WORKERS", "2".into()),
        ("TIPLINE_DIGEST_SECONDS", "2".into()),
        ("TIPLINE_MODE", mode.into()),
        ("TIPLINE_KEYS_DIR", keys.display().to_string()),
        ("TIPLINE_FERRY_OUTBOX", outbox.display().to_string()),
        ("TIPLINE_FERRY_INBOX", inbox.display().to_string()),
        // The test drives the ferry with the CLI; `serve`'s own pass is off.
        ("TIPLINE_FERRY_SECONDS", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn run(dir: &Path, env: &[(String, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Zones {
    fn path(&self, p: &str) -> PathBuf {
        self.root.path().join(p)
    }

    async fn start() -> Zones {
        Self::start_with(Vec::new()).await
    }

    async fn start_with(intake_extra: Vec<(&'static str, String)>) -> Zones {
        Self::start_both(intake_extra, Vec::new()).await
    }

    async fn start_both(
        intake_extra: Vec<(&'static str, String)>,
        police_extra: Vec<(&'static str, String)>,
    ) -> Zones {
        let root = tempfile::tempdir().unwrap();
        let full = root.path().join("keys-full");
        tipline::crypto::keyring::Keyring::generate(&full).unwrap();
        let (ik, pk) = (
            root.path().join("keys-intake"),
            root.path().join("keys-police"),
        );
        for d in ["intake-out", "intake-in", "police-out", "police-in"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        ok(run(
            root.path(),
            &[],
            &[
                "keys",
                "split",
                "--from",
                full.to_str().unwrap(),
                "--intake",
                ik.to_str().unwrap(),
                "--police",
                pk.to_str().unwrap(),
            ],
        ));
        let (di, dp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // Intake is always SQLite; the police database follows TEST_DATABASE_URL.
        let intake_db = format!("sqlite://{}/data/tipline.db", di.path().display());
        let police_db = fresh_database(dp.path());
        let mut ienv = env_for(
            &intake_db,
            "intake",
            &ik,
            &root.path().join("intake-out"),
            &root.path().join("intake-in"),
        );
        ienv.extend(intake_extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        let mut penv = env_for(
            &police_db,
            "police",
            &pk,
            &root.path().join("police-out"),
            &root.path().join("police-in"),
        );
        penv.extend(police_extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        // Each zone records the other's node identity (as an operator carries the files).
        let iid = root.path().join("intake-node.json");
        let pid = root.path().join("police-node.json");
        std::fs::write(&iid, ok(run(di.path(), &ienv, &["ferry", "identity"]))).unwrap();
        std::fs::write(&pid, ok(run(dp.path(), &penv, &["ferry", "identity"]))).unwrap();
        ok(run(
            dp.path(),
            &penv,
            &["ferry", "trust", iid.to_str().unwrap()],
        ));
        ok(run(
            di.path(),
            &ienv,
            &["ferry", "trust", pid.to_str().unwrap()],
        ));
        let (intake, police) = tokio::join!(
            Server::spawn(di, intake_db, ienv),
            Server::spawn(dp, police_db, penv)
        );
        Zones {
            intake: intake.expect("intake node starts"),
            police: police.expect("police node starts"),
            root,
        }
    }

    /// Moves every bundle from one node's outbox to the other's inbox (the gap device).
    fn carry(&self, from: &str, to: &str) -> Vec<PathBuf> {
        let mut moved = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path(from))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "bundle"))
            .collect();
        files.sort();
        for f in files {
            let dest = self.path(to).join(f.file_name().unwrap());
            std::fs::rename(&f, &dest).unwrap();
            moved.push(dest);
        }
        moved
    }

    /// Intake exports, the bundle crosses, police imports.
    fn inward(&self) {
        ok(self.intake.cli(&["ferry", "export"]));
        self.carry("intake-out", "police-in");
        ok(self.police.cli(&["ferry", "import"]));
    }

    /// Police exports, the bundle crosses, intake imports.
    fn outward(&self) {
        ok(self.police.cli(&["ferry", "export"]));
        self.carry("police-out", "intake-in");
        ok(self.intake.cli(&["ferry", "import"]));
    }
}

async fn get(s: &Server, path: &str) -> u16 {
    s.client
        .get(s.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn status_of(s: &Server, receipt: &str) -> serde_json::Value {
    let r = s
        .post_json("/api/v1/status", &json!({ "receipt": receipt }))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn each_mode_serves_only_its_own_routes() {
    let z = Zones::start().await;
    let (i, p) = (&z.intake, &z.police);
    // Intake: the public side, and no staff route at all.
    assert_eq!(get(i, "/").await, 200);
    assert_eq!(get(i, "/status").await, 200);
    assert_eq!(get(i, "/api/v1/captcha").await, 200);
    assert_eq!(get(i, "/staff/login").await, 404);
    assert_eq!(get(i, "/api/v1/staff/tips").await, 404);
    assert_eq!(get(i, "/api/v1/staff/me").await, 404);
    let r = i.post_json("/api/v1/tips", &tip("西渡镇有人贩毒")).await;
    assert_eq!(r.status(), 201);
    // Police: staff pages and API, and no public route.
    assert_eq!(get(p, "/staff/login").await, 200);
    assert_eq!(get(p, "/").await, 404);
    assert_eq!(get(p, "/status").await, 404);
    assert_eq!(get(p, "/api/v1/captcha").await, 404);
    let r = p.post_json("/api/v1/tips", &tip("不该收到")).await;
    assert_eq!(r.status(), 404);
    let r = p
        .post_json("/api/v1/sms/inbound", &json!({"from": "13800000000"}))
        .await;
    assert_eq!(r.status(), 404);
    let officer = p.staff_token("wang", "officer", Some("ps-xidu"));
    assert_eq!(
        p.staff_get(&officer, "/api/v1/staff/me").await.status(),
        200
    );
    assert_eq!(
        p.count("tips"),
        0,
        "nothing reached police without the ferry"
    );
}

#[tokio::test]
async fn the_intake_node_holds_nothing_that_opens_a_tip() {
    let z = Zones::start().await;
    let ik = z.intake.keys_dir();
    assert!(!ik.join("office.key").exists());
    assert!(!ik.join("peppers.key").exists());
    let peppers = std::fs::read_to_string(ik.join("peppers.intake.key")).unwrap();
    assert!(!peppers.contains("claim") && !peppers.contains("blind_index"));
    let full: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(z.path("keys-full").join("peppers.key")).unwrap(),
    )
    .unwrap();
    for secret in ["claim", "blind_index"] {
        let v = full[secret].as_str().unwrap();
        for f in std::fs::read_dir(&ik).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            assert!(!text.contains(v), "{secret} pepper in {:?}", f.path());
        }
    }
    let office_private = std::fs::read_to_string(z.path("keys-full").join("office.key")).unwrap();
    let office_seed: serde_json::Value = serde_json::from_str(&office_private).unwrap();
    let seed = office_seed["private"].as_str().unwrap();
    for f in std::fs::read_dir(&ik).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        assert!(!text.contains(seed), "office private key in {:?}", f.path());
    }

    // Every public path works without them.
    let i = &z.intake;
    let (id, receipt) = i
        .public_tip("trafficking", "xidu", "INTAKE-SECRET 茶楼后门")
        .await;
    assert_eq!(status_of(i, &receipt).await["status"], "received");
    let r = i
        .post_json(
            "/api/v1/messages",
            &json!({"receipt": receipt, "body": "INTAKE-MSG 补充"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = i
        .post_json("/api/v1/status/rekey", &json!({"receipt": receipt}))
        .await;
    assert_eq!(r.status(), 200);
    let receipt: String = r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .into();
    assert_eq!(
        status_of(i, &receipt).await["messages"][0]["body"],
        "INTAKE-MSG 补充"
    );
    assert_eq!(get(i, "/").await, 200);

    // A copy of its database and keys: no key in it opens the tip.
    let ring = i.keyring();
    assert!(ring.office_opener().is_none());
    let mut conn = i.db();
    let node_opener = tipline::crypto::seal::Opener::new(
        ring.node.key_id.clone(),
        ring.node.private.clone(),
        vec![ring.node.public.clone()],
    );
    for opener in [ring.relay_opener().unwrap(), node_opener] {
        assert!(tipline::triage::reader::open_payload(&mut conn, &opener, &id).is_err());
    }
    assert!(!i.database_holds(b"INTAKE-SECRET"));

    // An intake node refuses to start with a complete keys dir (office.key at the edge),
    // even on a new database.
    let mut env = i.env.clone();
    for (k, v) in env.iter_mut() {
        if k == "TIPLINE_KEYS_DIR" {
            *v = z.path("keys-full").display().to_string();
        }
        if k == "TIPLINE_DATABASE_URL" {
            *v = format!("sqlite://{}/other.db", z.root.path().display());
        }
    }
    let out = run(i.dir.path(), &env, &["ferry", "status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TIPLINE_MODE is intake"));
}

#[tokio::test]
async fn tips_cross_inward_and_status_replies_and_hotline_receipts_come_back() {
    let z = Zones::start().await;
    let (i, p) = (&z.intake, &z.police);
    let (id, receipt) = i
        .public_tip("trafficking", "xidu", "FERRY-TIP 西渡茶楼后门交易")
        .await;
    let r = i
        .post_json(
            "/api/v1/messages",
            &json!({"receipt": receipt, "body": "FERRY-MSG 晚上十点"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    z.inward();

    // The police queue has it, and the office key opens it (sealed by a trusted intake node).
    let officer = p.staff_token("wang", "officer", Some("ps-xidu"));
    let q: serde_json::Value = p
        .staff_get(&officer, "/api/v1/staff/tips")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["items"][0]["id"], id.as_str());
    let t: serde_json::Value = p
        .staff_get(&officer, &format!("/api/v1/staff/tips/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["report"]["description"], "FERRY-TIP 西渡茶楼后门交易");
    assert!(t.to_string().contains("FERRY-MSG 晚上十点"), "{t}");

    // The police answer and work the tip; the status and the reply reach the status page.
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{id}/messages"),
            &json!({"body": "FERRY-REPLY 车是什么颜色？"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    for to in ["assigned", "investigating"] {
        let r = p
            .staff_post(
                &officer,
                &format!("/api/v1/staff/tips/{id}/transition"),
                &json!({ "to": to }),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    // A hotline tip entered by the police.
    let r = p
        .staff_post(
            &officer,
            "/api/v1/staff/tips",
            &json!({"channel": "hotline", "category": "fugitive", "township": "xidu", "description": "HOTLINE-TIP 来电"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let hotline: String = r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .into();
    let r = i
        .post_json("/api/v1/status", &json!({"receipt": hotline}))
        .await;
    assert_eq!(r.status(), 404, "not at intake before the ferry");

    z.outward();
    let st = status_of(i, &receipt).await;
    assert_eq!(st["status"], "in_progress", "{st}");
    let bodies: Vec<&str> = st["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(bodies.contains(&"FERRY-REPLY 车是什么颜色？"), "{st}");
    assert!(bodies.contains(&"FERRY-MSG 晚上十点"), "{st}");
    assert_eq!(status_of(i, &hotline).await["status"], "received");
    assert!(!i.database_holds(b"HOTLINE-TIP"));
    assert!(!i.database_holds(b"FERRY-REPLY"));

    // The acknowledgement came back: intake dropped the sealed content it sent.
    use diesel::prelude::*;
    use tipline::db::schema::{sealed_keys, tips};
    let mut c = i.db();
    let payload: Vec<u8> = tips::table
        .filter(tips::id.eq(&id))
        .select(tips::payload)
        .first(&mut c)
        .unwrap();
    assert!(
        payload.is_empty(),
        "sealed payload kept after the acknowledgement"
    );
    let tip_keys: i64 = sealed_keys::table
        .filter(sealed_keys::object_kind.eq("tip"))
        .filter(sealed_keys::object_id.eq(&id))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(tip_keys, 0);
    let office_copies: i64 = sealed_keys::table
        .filter(sealed_keys::object_kind.eq("message"))
        .filter(sealed_keys::recipient_key_id.like("epoch:%"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(
        office_copies, 0,
        "office-sealed copies of messages kept at intake"
    );
    // No bundle numbers left that would order the tips by when they crossed.
    use tipline::db::schema::ferry_sent;
    for s in [i, p] {
        let numbered: i64 = ferry_sent::table
            .filter(ferry_sent::kind.eq_any(["tip", "received", "message"]))
            .filter(ferry_sent::seq.ne(0))
            .count()
            .get_result(&mut s.db())
            .unwrap();
        assert_eq!(numbered, 0);
    }

    // The reporter writes again after a rekey; the police read it with the new binding.
    let r = i
        .post_json("/api/v1/status/rekey", &json!({"receipt": receipt}))
        .await;
    assert_eq!(r.status(), 200);
    let new_receipt: String = r.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .into();
    let r = i
        .post_json(
            "/api/v1/messages",
            &json!({"receipt": new_receipt, "body": "FERRY-MSG2 白色面包车"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    z.inward();
    let t: serde_json::Value = p
        .staff_get(&officer, &format!("/api/v1/staff/tips/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(t.to_string().contains("FERRY-MSG2 白色面包车"), "{t}");
    // A second reply, sealed to the new reply key, reaches the new receipt.
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{id}/messages"),
            &json!({"body": "FERRY-REPLY2 收到"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    z.outward();
    let st = status_of(i, &new_receipt).await;
    assert!(st.to_string().contains("FERRY-REPLY2 收到"), "{st}");
}

#[tokio::test]
async fn tampered_replayed_reordered_gapped_and_forged_bundles_are_refused() {
    let z = Zones::start().await;
    let (i, p) = (&z.intake, &z.police);
    i.public_tip("trafficking", "xidu", "B1").await;
    ok(i.cli(&["ferry", "export"]));
    i.public_tip("trafficking", "xidu", "B2").await;
    ok(i.cli(&["ferry", "export"]));
    i.public_tip("trafficking", "xidu", "B3").await;
    ok(i.cli(&["ferry", "export"]));
    let files = z.carry("intake-out", "police-in");
    assert_eq!(files.len(), 3);
    let import = |f: &Path| p.cli(&["ferry", "import", f.to_str().unwrap()]);
    let refused = |out: std::process::Output, what: &str| {
        assert!(!out.status.success(), "{what} accepted");
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(text.contains(what), "expected {what}: {text}");
    };

    // Tampered: one changed character in a field that still parses.
    let original = std::fs::read(&files[0]).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let tampered = text.replacen("\"xidu\"", "\"jiexi\"", 1);
    assert_ne!(tampered, text);
    let bad = z.path("tampered.bundle");
    std::fs::write(&bad, tampered).unwrap();
    refused(import(&bad), "signature does not match");
    // Cut short: not a bundle.
    std::fs::write(&bad, &original[..original.len() / 2]).unwrap();
    refused(import(&bad), "not a tipline bundle");
    assert_eq!(p.count("tips"), 0, "a refused bundle stores nothing");

    // Reordered / gapped: bundle 2 before 1 waits.
    refused(import(&files[1]), "after a gap");
    refused(import(&files[2]), "after a gap");
    assert_eq!(p.count("tips"), 0);
    ok(import(&files[0]));
    assert_eq!(p.count("tips"), 1);
    // Replay.
    refused(import(&files[0]), "already applied");
    assert_eq!(p.count("tips"), 1);
    ok(import(&files[1]));
    ok(import(&files[2]));
    assert_eq!(p.count("tips"), 3);
    refused(import(&files[1]), "already applied");

    // Forged: a bundle 4 signed by a node police does not trust.
    let other = tempfile::tempdir().unwrap();
    tipline::crypto::keyring::Keyring::generate(other.path()).unwrap();
    let stranger = tipline::crypto::keyring::Keyring::load(other.path()).unwrap();
    let body = tipline::ferry::format::Body {
        signer: None,
        format: tipline::ferry::format::FORMAT.into(),
        from: stranger.node.key_id.clone(),
        from_zone: "intake".into(),
        to_zone: "police".into(),
        seq: 1,
        prev: String::new(),
        hour: tipline::db::this_hour(),
        records: vec![],
    };
    let (bytes, _) = tipline::ferry::format::seal(&body, &stranger.audit_signer());
    std::fs::write(&bad, bytes).unwrap();
    refused(import(&bad), "does not trust");

    // A fork: the trusted intake key signs a bundle 4 that does not follow bundle 3.
    let intake_keys = i.keyring();
    let body = tipline::ferry::format::Body {
        signer: None,
        format: tipline::ferry::format::FORMAT.into(),
        from: intake_keys.node.key_id.clone(),
        from_zone: "intake".into(),
        to_zone: "police".into(),
        seq: 4,
        prev: "00".repeat(32),
        hour: tipline::db::this_hour(),
        records: vec![],
    };
    let (bytes, _) = tipline::ferry::format::seal(&body, &intake_keys.audit_signer());
    std::fs::write(&bad, bytes).unwrap();
    refused(import(&bad), "does not follow");

    // A police bundle fed back to police (wrong direction) is refused too.
    let police_keys = p.keyring();
    let body = tipline::ferry::format::Body {
        signer: None,
        format: tipline::ferry::format::FORMAT.into(),
        from: police_keys.node.key_id.clone(),
        from_zone: "police".into(),
        to_zone: "intake".into(),
        seq: 1,
        prev: String::new(),
        hour: tipline::db::this_hour(),
        records: vec![],
    };
    let (bytes, _) = tipline::ferry::format::seal(&body, &police_keys.audit_signer());
    std::fs::write(&bad, bytes).unwrap();
    refused(import(&bad), "zone");
    assert_eq!(p.count("tips"), 3);

    // The inbox pass: an applied bundle is removed, a replay is set aside as *.refused.
    std::fs::copy(&files[0], z.path("police-in").join("replayed.bundle")).unwrap();
    let out = p.cli(&["ferry", "import"]);
    assert!(!out.status.success());
    assert!(z.path("police-in").join("replayed.bundle.refused").exists());
}

const TOKEN: &str = "twilio-test-auth-token-0123456789";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const FROM_LINE: &str = "+15005550006";
const PUBLIC: &str = "https://tips.example.org";
const INBOUND: &str = "/api/v1/sms/inbound";

/// Sends a correctly signed text to the intake node (as tests/sms.rs does).
async fn text(s: &Server, from: &str, body: &str, sid: &str) -> String {
    let form: Vec<(String, String)> = [
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", FROM_LINE),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sig = tipline::notify::sms::twilio::signature(TOKEN, &format!("{PUBLIC}{INBOUND}"), &form);
    let r = s
        .client
        .post(s.url(INBOUND))
        .header("X-Twilio-Signature", sig)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn tip_ids(s: &Server) -> Vec<String> {
    use diesel::prelude::*;
    tipline::db::schema::tips::table
        .select(tipline::db::schema::tips::id)
        .load(&mut s.db())
        .unwrap()
}

async fn sign_reward(s: &Server, token: &str, reward: &str) -> serde_json::Value {
    let r = s
        .staff_post(
            token,
            &format!("/api/v1/staff/rewards/{reward}/sign"),
            &json!(null),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn sms_and_mail_tips_rewards_and_retention_cross_the_ferry() {
    let (api, sent) = mock_api(201, r#"{"sid":"SM0000","status":"queued"}"#).await;
    let z = Zones::start_with(vec![
        ("TIPLINE_SMS_PROVIDER", "twilio".into()),
        ("TIPLINE_SMS_ACCOUNT", ACCOUNT.into()),
        ("TIPLINE_SMS_TOKEN", TOKEN.into()),
        ("TIPLINE_SMS_FROM", FROM_LINE.into()),
        ("TIPLINE_SMS_API_URL", api),
        ("TIPLINE_PUBLIC_URL", PUBLIC.into()),
    ])
    .await;
    let (i, p) = (&z.intake, &z.police);

    // An SMS tip and an emailed tip at intake.
    let before = tip_ids(i);
    text(i, "+8613800138000", "SMS-TIP 西渡桥下有人交易", "SM1").await;
    let sms_tip = tip_ids(i)
        .into_iter()
        .find(|t| !before.contains(t))
        .unwrap();
    let acks = sent.lock().unwrap().len();
    let before = tip_ids(i);
    let mail = b"From: reporter@example.test\r\nTo: tips@example.org\r\nSubject: tip\r\nMessage-ID: <split-1@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMAIL-TIP \xe8\xa5\xbf\xe6\xb8\xa1\r\n";
    let o = i.cli_with_input(&["ingest-email"], mail, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mail_tip = tip_ids(i)
        .into_iter()
        .find(|t| !before.contains(t))
        .unwrap();
    // And a web tip that will earn a reward, and one that retention will delete.
    let (web_tip, receipt) = i
        .public_tip("trafficking", "xidu", "REWARD-TIP 出租屋")
        .await;
    let (gone_tip, gone_receipt) = i.public_tip("trafficking", "xidu", "UNFOUNDED-TIP").await;
    z.inward();

    let officer = p.staff_token("r.officer", "officer", Some("ps-xidu"));
    let county = p.staff_token("r.county", "supervisor", None);
    for (id, text) in [
        (&sms_tip, "SMS-TIP"),
        (&mail_tip, "MAIL-TIP"),
        (&web_tip, "REWARD-TIP"),
    ] {
        let t: serde_json::Value = p
            .staff_get(&county, &format!("/api/v1/staff/tips/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            t.to_string().contains(text),
            "{text} not in the police queue: {t}"
        );
    }
    assert!(!p.database_holds(b"13800138000") && !p.database_holds(b"reporter@example.test"));

    // The police answer the SMS and the mail reporters: the replies leave from intake.
    for id in [&sms_tip, &mail_tip] {
        let r = p
            .staff_post(
                &county,
                &format!("/api/v1/staff/tips/{id}/messages"),
                &json!({"body": "FERRY-SMS-REPLY which room"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    assert!(!p.database_holds(b"13800138000"));

    // A reward up the ladder, signed in the police zone.
    let head = p.staff_token("r.head", "supervisor", Some("ps-xidu"));
    let bureau = p.staff_token("r.bureau", "supervisor", Some("bureau"));
    let finance = p.staff_token("r.finance", "finance", None);
    p.verify_tip(&officer, &web_tip).await;
    let today = tipline::rewards::calendar::format(tipline::rewards::calendar::today());
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{web_tip}/rewards"),
            &json!({
                "facts": {"drugs": [{"drug": "heroin", "grams": 1200.0}]},
                "cracked_on": today,
                "justification": "据举报当场查获",
                "eligibility": {"not_duty_staff": true, "not_accomplice": true, "not_detained": true}
            }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let reward = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for t in [&head, &county, &bureau] {
        sign_reward(p, t, &reward).await;
    }
    assert_eq!(
        sign_reward(p, &finance, &reward).await["status"],
        "claimable"
    );

    // Retention deletes an unfounded tip closed long ago.
    for to in ["triaging", "unfounded", "closed"] {
        let r = p
            .staff_post(
                &officer,
                &format!("/api/v1/staff/tips/{gone_tip}/transition"),
                &json!({ "to": to }),
            )
            .await;
        assert_eq!(r.status(), 204, "{to}");
    }
    {
        use diesel::prelude::*;
        use tipline::db::schema::{tip_events, tips};
        let long_ago = tipline::db::now_unix() - 400 * 86_400;
        let mut c = p.db();
        diesel::update(tip_events::table.filter(tip_events::tip_id.eq(&gone_tip)))
            .set(tip_events::at.eq(long_ago))
            .execute(&mut c)
            .unwrap();
        diesel::update(tips::table.filter(tips::id.eq(&gone_tip)))
            .set(tips::created_hour.eq(long_ago - long_ago % 3600))
            .execute(&mut c)
            .unwrap();
    }
    assert_eq!(status_of(i, &gone_receipt).await["status"], "received");
    let o = p.cli(&["retention", "run"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let reporter_jobs = |s: &Server| {
        use diesel::prelude::*;
        use tipline::db::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq("reporter"))
            .count()
            .get_result::<i64>(&mut s.db())
            .unwrap()
    };
    let jobs_before = reporter_jobs(i);
    assert_eq!(
        reporter_jobs(p),
        2,
        "the replies wait at police for the ferry"
    );
    z.outward();
    assert_eq!(reporter_jobs(p), 0, "moved, not copied");

    // The SMS reply went out through the stand-in provider from the intake node.
    let seen = wait_for(&sent, acks + 1).await;
    assert!(
        seen.iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("FERRY-SMS-REPLY")),
        "no SMS reply sent"
    );
    // The mail reply waits in the intake outbox (no SMTP in this test), sealed.
    assert_eq!(reporter_jobs(i), jobs_before + 1);
    assert!(!i.database_holds(b"FERRY-SMS-REPLY"));

    // The claim code shows at intake; finance pays it in the police zone.
    let st = status_of(i, &receipt).await;
    let r = &st["reward"];
    assert_eq!(r["status"], "claimable", "{st}");
    assert_eq!(r["amount_fen"], 2_000_000);
    let code = r["claim_code"].as_str().unwrap().to_string();
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    assert!(!i.database_holds(digits.as_bytes()));
    let r = p
        .staff_post(
            &finance,
            "/api/v1/staff/payouts",
            &json!({"claim_code": code, "method": "transfer", "account": "6222020202020202020", "identity_check": "核验身份证原件"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // The deletion reached intake: the receipt is unknown there now.
    let r = i
        .post_json("/api/v1/status", &json!({"receipt": gone_receipt}))
        .await;
    assert_eq!(r.status(), 404);
    assert!(!tip_ids(i).contains(&gone_tip));

    z.outward();
    let st = status_of(i, &receipt).await;
    assert_eq!(st["reward"]["status"], "paid", "{st}");
    assert!(st["reward"]["claim_code"].is_null());
}

#[tokio::test]
async fn serve_runs_the_ferry_itself_and_reports_it_in_metrics() {
    let z = Zones::start_with(vec![
        ("TIPLINE_ADMIN_LISTEN", "127.0.0.1:0".into()),
        ("TIPLINE_FERRY_SECONDS", "1".into()),
        // No return channel: content sent goes after the kept days even without an ack.
        ("TIPLINE_FERRY_ONE_WAY", "on".into()),
        ("TIPLINE_FERRY_KEEP_DAYS", "1".into()),
    ])
    .await;
    let i = &z.intake;
    let (id, _) = i.public_tip("trafficking", "xidu", "AUTO-TIP").await;
    // The intake node's own pass writes the bundle into its outbox.
    let mut waited = 0;
    while std::fs::read_dir(z.path("intake-out"))
        .unwrap()
        .flatten()
        .all(|e| e.path().extension().is_none_or(|x| x != "bundle"))
    {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        waited += 1;
        assert!(waited < 100, "no bundle written by serve's ferry pass");
    }
    let m = i.metrics().await;
    assert!(m.contains("tipline_ferry_outbox_waiting 1"), "{m}");
    assert!(
        m.contains("tipline_ferry_last_seq{direction=\"out\""),
        "{m}"
    );
    // One way, and the tip was sent more than the kept day ago: its sealed content goes.
    {
        use diesel::prelude::*;
        use tipline::db::schema::tips;
        let two_days = tipline::db::this_hour() - 2 * 86_400;
        diesel::update(tips::table.filter(tips::id.eq(&id)))
            .set(tips::created_hour.eq(two_days))
            .execute(&mut i.db())
            .unwrap();
    }
    let mut waited = 0;
    loop {
        use diesel::prelude::*;
        use tipline::db::schema::tips;
        let payload: Vec<u8> = tips::table
            .filter(tips::id.eq(&id))
            .select(tips::payload)
            .first(&mut i.db())
            .unwrap();
        if payload.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        waited += 1;
        assert!(waited < 100, "one-way content kept past the kept days");
    }
    let m = i.metrics().await;
    assert!(
        m.contains("tipline_ferry_oldest_unacknowledged_hours 48"),
        "{m}"
    );
}

#[tokio::test]
async fn a_single_zone_installation_splits_and_its_database_goes_to_the_police_node() {
    let s = Server::start().await;
    let (id, _) = s
        .public_tip("trafficking", "xidu", "BEFORE-SPLIT 茶楼")
        .await;
    let full = s.keys_dir();
    let root = tempfile::tempdir().unwrap();
    let (ik, pk) = (root.path().join("intake"), root.path().join("police"));
    ok(s.cli(&[
        "keys",
        "split",
        "--from",
        full.to_str().unwrap(),
        "--intake",
        ik.to_str().unwrap(),
        "--police",
        pk.to_str().unwrap(),
    ]));
    let mut s = s;
    let _ = s.child.kill();
    let _ = s.child.wait();
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let db_url = s.db_url.clone();
    let mut env = env_for(
        &db_url,
        "police",
        &pk,
        &root.path().join("out"),
        &root.path().join("in"),
    );
    env.retain(|(k, _)| k != "TIPLINE_DATABASE_URL");
    env.push(("TIPLINE_DATABASE_URL".into(), db_url.clone()));
    drop(s);
    let p = Server::spawn(dir, db_url, env)
        .await
        .expect("the police node starts on the single-zone database");
    let officer = p.staff_token("wang", "officer", Some("ps-xidu"));
    let t: serde_json::Value = p
        .staff_get(&officer, &format!("/api/v1/staff/tips/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["report"]["description"], "BEFORE-SPLIT 茶楼");
    // The intake dir on the same database is refused (other node key, other peppers).
    let mut env = p.env.clone();
    for (k, v) in env.iter_mut() {
        if k == "TIPLINE_KEYS_DIR" {
            *v = ik.display().to_string();
        }
        if k == "TIPLINE_MODE" {
            *v = "intake".into();
        }
    }
    let out = run(p.dir.path(), &env, &["ferry", "status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("do not match"));
}

#[tokio::test]
async fn a_second_intake_node_is_trusted_by_a_running_police_node_without_a_restart() {
    // The guide's "adding a second intake node": split once more from the complete dir, record
    // its identity at the police node while the police node serves, and its tips open there.
    let z = Zones::start().await;
    let p = &z.police;
    let root = z.root.path();
    let ik2 = root.join("keys-intake-2");
    let discard = root.join("discard");
    ok(run(
        root,
        &[],
        &[
            "keys",
            "split",
            "--from",
            root.join("keys-full").to_str().unwrap(),
            "--intake",
            ik2.to_str().unwrap(),
            "--police",
            discard.to_str().unwrap(),
        ],
    ));
    std::fs::remove_dir_all(&discard).unwrap();
    for d in ["intake2-out", "intake2-in"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let d2 = tempfile::tempdir().unwrap();
    let db2 = format!("sqlite://{}/data/tipline.db", d2.path().display());
    let env2 = env_for(
        &db2,
        "intake",
        &ik2,
        &root.join("intake2-out"),
        &root.join("intake2-in"),
    );
    let id2 = root.join("intake-node-2.json");
    std::fs::write(&id2, ok(run(d2.path(), &env2, &["ferry", "identity"]))).unwrap();
    let pid = root.join("police-node.json");
    ok(run(
        d2.path(),
        &env2,
        &["ferry", "trust", pid.to_str().unwrap()],
    ));
    let i2 = Server::spawn(d2, db2, env2)
        .await
        .expect("second intake node starts");

    // A tip at the first node opens at the police node (the opener is built and used).
    let (first, _) = z
        .intake
        .public_tip("trafficking", "xidu", "FIRST-NODE-TIP")
        .await;
    z.inward();
    let officer = p.staff_token("wang", "officer", Some("ps-xidu"));
    let t: serde_json::Value = p
        .staff_get(&officer, &format!("/api/v1/staff/tips/{first}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["report"]["description"], "FIRST-NODE-TIP", "{t}");

    // The second node's bundle is refused while it is not trusted, and nothing is stored.
    let (id, receipt) = i2
        .public_tip("trafficking", "xidu", "SECOND-NODE-TIP")
        .await;
    ok(i2.cli(&["ferry", "export"]));
    z.carry("intake2-out", "police-in");
    let out = p.cli(&["ferry", "import"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not trust")
            || String::from_utf8_lossy(&out.stderr).contains("does not trust"),
        "{out:?}"
    );
    assert!(!tip_ids(p).contains(&id));
    // Refused for good (renamed `.refused`): after trusting, the operator puts it back.
    ok(p.cli(&["ferry", "trust", id2.to_str().unwrap()]));
    let mut back = 0;
    for f in std::fs::read_dir(z.path("police-in")).unwrap().flatten() {
        let path = f.path();
        if let Some(name) = path.to_str().and_then(|n| n.strip_suffix(".refused")) {
            std::fs::rename(&path, name).unwrap();
            back += 1;
        }
    }
    assert_eq!(back, 1);
    ok(p.cli(&["ferry", "import"]));
    assert!(tip_ids(p).contains(&id));
    let t: serde_json::Value = p
        .staff_get(&officer, &format!("/api/v1/staff/tips/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["report"]["description"], "SECOND-NODE-TIP", "{t}");

    // The reply goes back to the second node's status page.
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{id}/messages"),
            &json!({"body": "SECOND-REPLY"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    ok(p.cli(&["ferry", "export"]));
    z.carry("police-out", "intake2-in");
    ok(i2.cli(&["ferry", "import"]));
    let st = status_of(&i2, &receipt).await;
    assert!(st.to_string().contains("SECOND-REPLY"), "{st}");
}

#[tokio::test]
async fn a_reply_and_a_claim_code_sealed_before_a_rekey_crossed_still_open_and_the_status_page_never_fails()
 {
    let z = Zones::start().await;
    let (i, p) = (&z.intake, &z.police);
    let (id, receipt) = i.public_tip("trafficking", "xidu", "REKEY-RACE-TIP").await;
    z.inward();
    let officer = p.staff_token("wang", "officer", Some("ps-xidu"));
    let head = p.staff_token("r.head", "supervisor", Some("ps-xidu"));
    let county = p.staff_token("r.county", "supervisor", Some("county"));
    let bureau = p.staff_token("r.bureau", "supervisor", Some("bureau"));
    let finance = p.staff_token("r.finance", "finance", None);
    // The police reply and sign a reward: both sealed to the reply key they know (the first).
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{id}/messages"),
            &json!({"body": "RACE-REPLY 几点？"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    p.verify_tip(&officer, &id).await;
    let today = tipline::rewards::calendar::format(tipline::rewards::calendar::today());
    let r = p
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{id}/rewards"),
            &json!({
                "facts": {"drugs": [{"drug": "heroin", "grams": 1200.0}]},
                "cracked_on": today,
                "justification": "据举报当场查获",
                "eligibility": {"not_duty_staff": true, "not_accomplice": true, "not_detained": true}
            }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let reward = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for t in [&head, &county, &bureau] {
        sign_reward(p, t, &reward).await;
    }
    assert_eq!(
        sign_reward(p, &finance, &reward).await["status"],
        "claimable"
    );
    // Meanwhile, at intake, the reporter exchanges the receipt (the rekey has not crossed).
    let rekey = |old: String| async move {
        let r = i
            .post_json("/api/v1/status/rekey", &json!({"receipt": old}))
            .await;
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()["receipt"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let second = rekey(receipt.clone()).await;
    // Now the reply and the claim code arrive, sealed to the replaced key.
    z.outward();
    let check = |st: serde_json::Value| {
        assert!(st.to_string().contains("RACE-REPLY 几点？"), "{st}");
        let code = st["reward"]["claim_code"].as_str().unwrap_or_default();
        assert_eq!(
            code.chars().filter(char::is_ascii_digit).count(),
            19,
            "{st}"
        );
    };
    check(status_of(i, &second).await);
    let r = i
        .post_json("/api/v1/status", &json!({"receipt": receipt}))
        .await;
    assert_eq!(r.status(), 404, "the old receipt is dead");
    // The rekey crosses; a second exchange keeps everything readable.
    z.inward();
    let third = rekey(second.clone()).await;
    check(status_of(i, &third).await);
    // The web status page too.
    let r = i
        .client
        .post(i.url("/status"))
        .form(&[("receipt", third.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("RACE-REPLY"));

    // Without the kept keys (what the page does if a key cannot open): no error, the reply
    // shows as waiting and the code is left out until it can be read.
    {
        use diesel::prelude::*;
        use tipline::db::schema::sealed_keys;
        let n = diesel::delete(
            sealed_keys::table
                .filter(sealed_keys::object_kind.eq(tipline::crypto::reply::PREVIOUS)),
        )
        .execute(&mut i.db())
        .unwrap();
        assert_eq!(n, 2, "one kept key per exchange");
    }
    let st = status_of(i, &third).await;
    assert!(!st.to_string().contains("RACE-REPLY"), "{st}");
    assert!(
        st.to_string().contains(tipline::triage::messages::WAITING),
        "{st}"
    );
    assert!(st["reward"]["claim_code"].is_null(), "{st}");
    assert_eq!(st["reward"]["status"], "claimable", "{st}");
}

fn sms_env(api: String) -> Vec<(&'static str, String)> {
    vec![
        ("TIPLINE_SMS_PROVIDER", "twilio".into()),
        ("TIPLINE_SMS_ACCOUNT", ACCOUNT.into()),
        ("TIPLINE_SMS_TOKEN", TOKEN.into()),
        ("TIPLINE_SMS_FROM", FROM_LINE.into()),
        ("TIPLINE_SMS_API_URL", api),
        ("TIPLINE_PUBLIC_URL", PUBLIC.into()),
    ]
}

fn outbox_ids(s: &Server, kind: &str) -> Vec<String> {
    use diesel::prelude::*;
    use tipline::db::schema::outbox;
    outbox::table
        .filter(outbox::kind.eq(kind))
        .select(outbox::id)
        .load(&mut s.db())
        .unwrap()
}

/// Issue 18 follow-up: staff notices at the police node are sealed to the police zone's own
/// relay key (made by `keys split`), opened and sent there; reporters' jobs are still sealed
/// to the edge's relay key and cross to intake; neither zone's relay key opens the other's.
#[tokio::test]
async fn staff_notices_are_sent_at_the_police_node_and_reporter_jobs_still_cross() {
    let (intake_api, intake_sent) = mock_api(201, r#"{"sid":"SM0000","status":"queued"}"#).await;
    let (police_api, police_sent) = mock_api(201, r#"{"sid":"SM0001","status":"queued"}"#).await;
    let z = Zones::start_both(sms_env(intake_api), sms_env(police_api)).await;
    let (i, p) = (&z.intake, &z.police);

    // The keys: the police relay key is its own; the edge's is what reporter jobs go to.
    let (ik, pk) = (i.keyring(), p.keyring());
    assert_ne!(pk.relay.key_id, ik.relay.key_id);
    assert_eq!(pk.reporter_relay.key_id, ik.relay.key_id);
    let (io, po) = (ik.relay_opener().unwrap(), pk.relay_opener().unwrap());
    assert!(
        !io.holds(&pk.relay.key_id),
        "intake opens police staff notices"
    );
    assert!(
        !po.holds(&ik.relay.key_id),
        "police opens reporter envelopes"
    );
    assert!(!z.path("keys-intake").join("reporter-relay.pub").exists());

    // A staff member at the police node asks for new-tip notices by SMS.
    let officer = p.staff_token("n.officer", "officer", Some("ps-xidu"));
    let r = p
        .client
        .put(p.url("/api/v1/staff/me/notifications"))
        .bearer_auth(&officer)
        .json(&json!({"events": ["new_tip", "message"], "channels": ["sms"], "phone": "+8613900139000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        !p.database_holds(b"13900139000"),
        "the staff phone is sealed"
    );

    // An SMS tip at intake crosses; the police digest announces it; the police worker opens
    // the notice and the staff address with the police relay key and sends it.
    // (An SMS tip names no township, so it goes to the county; the web tip is Xidu's.)
    text(i, "+8613800138000", "NOTICE-TIP 西渡桥下有人交易", "SM1").await;
    let sms_tip = tip_ids(i).pop().unwrap();
    i.public_tip("trafficking", "xidu", "NOTICE-WEB-TIP 出租屋")
        .await;
    let reporter_acks = intake_sent.lock().unwrap().len();
    z.inward();
    let seen = wait_for(&police_sent, 1).await;
    assert!(
        seen.iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("8613900139000")),
        "no staff notice sent from the police node"
    );
    assert!(
        !seen
            .iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("8613800138000")),
        "the police node reached a reporter"
    );

    // The police reply to the SMS reporter: the job waits at police, sealed to the edge's
    // relay key (the police worker leaves it alone and could not open it), and crosses.
    let county = p.staff_token("n.county", "supervisor", None);
    let r = p
        .staff_post(
            &county,
            &format!("/api/v1/staff/tips/{sms_tip}/messages"),
            &json!({"body": "NOTICE-REPLY which bridge"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let jobs = outbox_ids(p, "reporter");
    assert_eq!(jobs.len(), 1);
    {
        let mut c = p.db();
        assert!(tipline::notify::outbox::open(&mut c, &po, &jobs[0]).is_err());
        let mut edge = ik.relay_opener().unwrap();
        edge.add_senders(vec![pk.node.public.clone()]);
        assert!(matches!(
            tipline::notify::outbox::open(&mut c, &edge, &jobs[0]),
            Ok((tipline::notify::Job::Reporter { .. }, _))
        ));
    }
    // Two worker ticks later it is still there (it is not the police node's to send).
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(outbox_ids(p, "reporter"), jobs);
    z.outward();
    assert!(outbox_ids(p, "reporter").is_empty(), "moved, not copied");
    let seen = wait_for(&intake_sent, reporter_acks + 1).await;
    assert!(
        seen.iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("NOTICE-REPLY")),
        "the reply did not leave from intake"
    );
}

/// Issue 18: the police reply to an emailed tip goes out from the intake node's outbox
/// through the real SMTP server and arrives in the reporter's mailbox (OpenSMTPD delivering
/// into Dovecot: `eval "$(tests/mail-servers.sh)"` sets TEST_SMTP_URL and TEST_IMAP_URL; CI
/// runs it with `--include-ignored`, and then a missing server is a failure).
#[tokio::test]
#[ignore = "needs TEST_SMTP_URL and TEST_IMAP_URL (CI starts the mail servers: tests/mail-servers.sh)"]
async fn a_police_reply_to_an_emailed_tip_leaves_intake_through_real_smtp() {
    let smtp = std::env::var("TEST_SMTP_URL").unwrap_or_default();
    let imap = std::env::var("TEST_IMAP_URL").unwrap_or_default();
    assert!(
        !smtp.is_empty() && !imap.is_empty(),
        "needs TEST_SMTP_URL and TEST_IMAP_URL"
    );
    let z = Zones::start_with(vec![
        ("TIPLINE_SMTP_URL", smtp.clone()),
        ("TIPLINE_MAIL_FROM", "tipline@example.test".into()),
        ("TIPLINE_PUBLIC_URL", "https://tips.example.test".into()),
    ])
    .await;
    let (i, p) = (&z.intake, &z.police);
    let tag = hex::encode(tipline::crypto::random_bytes::<6>().unwrap());
    // The one Dovecot mailbox is admin@; a +tag keeps this test's mail apart.
    let sender = format!("admin+split-{tag}@example.test");
    let marker = format!("SPLIT-MAIL-REPLY-{tag}");
    let mail = format!(
        "From: {sender}\r\nTo: tips@example.test\r\nSubject: tip {tag}\r\nMessage-ID: <split-{tag}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSPLIT-MAIL-TIP {tag} 西渡桥下\r\n"
    );
    let o = i.cli_with_input(&["ingest-email"], mail.as_bytes(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tip = tip_ids(i).pop().unwrap();
    z.inward();

    let county = p.staff_token("m.county", "supervisor", None);
    let r = p
        .staff_post(
            &county,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": format!("{marker} which bridge") }),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert!(!p.database_holds(sender.as_bytes()));
    z.outward();

    // Sent by the intake node through OpenSMTPD, read back from Dovecot.
    let (_, body, _) = wait_for_mail(&imap, &sender, |_, body| body.contains(&marker)).await;
    assert!(body.contains("which bridge"), "{body}");
    assert!(
        !i.database_holds(marker.as_bytes()),
        "the reply is sealed at intake"
    );
}

/// Issue 18: two police `serve` processes on one database, each with its own node key. The
/// database records the accepted police node keys (`ferry trust` at a police node); both
/// nodes write the zone's one outbound stream, each signing with its own key; the intake node
/// accepts a bundle signed by a police node it trusts, and refuses one signed by an unknown
/// key; a keys dir with an unknown node key does not start on the police database.
#[tokio::test]
async fn two_police_nodes_on_one_database_each_sign_with_their_own_node_key() {
    let z = Zones::start().await;
    let (i, a) = (&z.intake, &z.police);

    // The second police node's keys dir: the police dir with a node key of its own.
    let kb = z.path("keys-police-b");
    let kp = z.path("keys-police");
    ok(a.cli(&[
        "keys",
        "police-node",
        "--from",
        kp.to_str().unwrap(),
        "--to",
        kb.to_str().unwrap(),
    ]));
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_ne!(read(&kp, "node.pub"), read(&kb, "node.pub"));
    assert_eq!(read(&kp, "office.key"), read(&kb, "office.key"));
    let db = tempfile::tempdir().unwrap();
    let envb = env_for(
        &a.db_url,
        "police",
        &kb,
        &z.path("police-out"),
        &z.path("police-in"),
    );
    // Not accepted yet: its node key is refused on the police database.
    let o = run(db.path(), &envb, &["ferry", "export"]);
    assert!(
        !o.status.success(),
        "an unknown police node key was accepted"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("node"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let idb = z.path("police-b-node.json");
    std::fs::write(&idb, ok(run(db.path(), &envb, &["ferry", "identity"]))).unwrap();
    assert!(ok(a.cli(&["ferry", "trust", idb.to_str().unwrap()])).contains("police"));
    let b = Server::spawn(db, a.db_url.clone(), envb)
        .await
        .expect("the second police node starts with its own node key");
    assert_ne!(a.keyring().node.key_id, b.keyring().node.key_id);

    let (_, r1) = i.public_tip("trafficking", "xidu", "TWO-NODES-1").await;
    let (_, r2) = i.public_tip("trafficking", "xidu", "TWO-NODES-2").await;
    z.inward();
    let county = a.staff_token("t.county", "supervisor", None);
    // Node B reads what node A imported (one database).
    let (mut t1, mut t2) = (String::new(), String::new());
    for id in tip_ids(a) {
        let t = b
            .staff_get(&county, &format!("/api/v1/staff/tips/{id}"))
            .await
            .text()
            .await
            .unwrap();
        if t.contains("TWO-NODES-1") {
            t1 = id;
        } else if t.contains("TWO-NODES-2") {
            t2 = id;
        }
    }
    assert!(!t1.is_empty() && !t2.is_empty());
    // A reply written on node A crosses in a bundle A signs.
    reply_on(a, &county, &t1, "REPLY-FROM-A").await;
    ok(a.cli(&["ferry", "export"]));
    z.carry("police-out", "intake-in");
    ok(i.cli(&["ferry", "import"]));
    assert_eq!(
        status_of(i, &r1).await["messages"][0]["body"],
        "REPLY-FROM-A"
    );

    // A reply written on node B: the next bundle of the same stream, signed by B, is refused
    // at intake while B's key is unknown there, and applies once it is trusted.
    reply_on(&b, &county, &t2, "REPLY-FROM-B").await;
    ok(b.cli(&["ferry", "export"]));
    let files = z.carry("police-out", "intake-in");
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains(&format!("\"signer\":\"{}\"", b.keyring().node.key_id)));
    let o = i.cli(&["ferry", "import", files[0].to_str().unwrap()]);
    assert!(
        !o.status.success(),
        "a bundle signed by an unknown key was applied"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not trust"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(status_of(i, &r2).await["messages"][0].is_null());
    ok(i.cli(&["ferry", "trust", idb.to_str().unwrap()]));
    ok(i.cli(&["ferry", "import", files[0].to_str().unwrap()]));
    assert_eq!(
        status_of(i, &r2).await["messages"][0]["body"],
        "REPLY-FROM-B"
    );

    // The audit log holds entries signed by both nodes. B accepts A's key (its identity file
    // came with `keys police-node`); A does not accept B's until B's identity file is in A's
    // keys dir: the `ferry_nodes` row alone (database data) never makes a signature verify.
    let o = b.cli(&["audit", "verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = a.cli(&["audit", "verify"]);
    assert!(
        !o.status.success(),
        "B's entries verified without B's identity file"
    );
    let peers = kp.join("police-nodes");
    std::fs::create_dir_all(&peers).unwrap();
    std::fs::copy(&idb, peers.join("police-b.json")).unwrap();
    let o = a.cli(&["audit", "verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

async fn reply_on(s: &Server, token: &str, tip: &str, body: &str) {
    let r = s
        .staff_post(
            token,
            &format!("/api/v1/staff/tips/{tip}/messages"),
            &json!({ "body": body }),
        )
        .await;
    assert_eq!(r.status(), 201);
}

/// A bundle lost on the way is written again, byte for byte, from the copy the node kept
/// (`tipline ferry export --again SEQ`); the copies of an intake node go once acknowledged.
#[tokio::test]
async fn a_lost_bundle_is_written_again_with_the_same_bytes() {
    let sent = tempfile::tempdir().unwrap();
    let z = Zones::start_with(vec![(
        "TIPLINE_FERRY_SENT",
        sent.path().display().to_string(),
    )])
    .await;
    let (i, p) = (&z.intake, &z.police);
    i.public_tip("trafficking", "xidu", "LOST-1").await;
    ok(i.cli(&["ferry", "export"]));
    let lost: Vec<PathBuf> = format_list(&z.path("intake-out"));
    assert_eq!(lost.len(), 1);
    let original = std::fs::read(&lost[0]).unwrap();
    std::fs::remove_file(&lost[0]).unwrap(); // lost on the way
    i.public_tip("trafficking", "xidu", "LOST-2").await;
    ok(i.cli(&["ferry", "export"]));
    z.carry("intake-out", "police-in");
    let _ = p.cli(&["ferry", "import"]);
    assert_eq!(p.count("tips"), 0, "bundle 2 waits for bundle 1");

    let o = ok(i.cli(&["ferry", "export", "--again", "1"]));
    assert!(o.contains("again"), "{o}");
    let again = format_list(&z.path("intake-out"));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].file_name(), lost[0].file_name());
    assert_eq!(
        std::fs::read(&again[0]).unwrap(),
        original,
        "not the same bytes"
    );
    z.carry("intake-out", "police-in");
    ok(p.cli(&["ferry", "import"]));
    assert_eq!(p.count("tips"), 2);

    // Acknowledged: the intake node's copies (sealed tips) are deleted at its next export.
    assert_eq!(format_list(sent.path()).len(), 2);
    z.outward();
    ok(i.cli(&["ferry", "export"]));
    assert!(format_list(sent.path()).is_empty());
    let o = i.cli(&["ferry", "export", "--again", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no copy of bundle 1"));
}

fn format_list(dir: &Path) -> Vec<PathBuf> {
    tipline::ferry::format::list(dir).unwrap()
}
