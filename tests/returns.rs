#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic
//! Township returns (issue 20): liaisons file the monthly return on the 28th; the county sees
//! who sent on time, late or not at all, reviews, and opens the people tables, every read
//! audited; liaisons reach nothing else; reminders reach the outbox on the right days.
//! Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

mod common;
use base64::Engine;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use std::time::Duration;
use tipline::crypto::seal::Sealer;
use tipline::db::schema::{audit_log, outbox, staff};
use tipline::reports::period::{Period, midnight};
use tipline::returns::{self, Desk, Filing};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A liaison of `township` (created at the console, so approved) and a token for them.
fn liaison(srv: &Server, name: &str, township: &str) -> String {
    let pw = srv.dir.path().join(format!("{name}.pw"));
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let out = srv.cli(&[
        "user",
        "add",
        "--username",
        name,
        "--role",
        "liaison",
        "--township",
        township,
        "--password-file",
        pw.to_str().unwrap(),
        "--keep-password",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = srv.cli(&["token", "issue", "--username", name, "--scope", "all"]);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

fn actor(srv: &Server, name: &str) -> tipline::staff::Actor {
    let mut c = srv.db();
    let id: String = staff::table
        .filter(staff::username.eq(name))
        .select(staff::id)
        .first(&mut c)
        .unwrap();
    tipline::staff::accounts::actor_by_id(&mut c, &id)
        .unwrap()
        .unwrap()
}

/// Files a return through the domain at a chosen time (the server's clock cannot be moved).
fn file_at(srv: &Server, name: &str, month: &str, now: i64) -> returns::Filed {
    let ring = srv.keyring();
    let sealer = Sealer::new(ring.node.clone(), Duration::from_secs(60), 1000);
    let opener = ring.office_opener();
    let signer = ring.audit_signer();
    let desk = Desk {
        signer: &signer,
        sealer: &sealer,
        office: &ring.office,
        opener: opener.as_ref(),
        report_day: 28,
        max_pixels: 1_000_000,
    };
    let f = Filing {
        month: month.into(),
        progress: "按时报送的进展".into(),
        summary: "工作总结".into(),
        ledger: [("outflow_workers".to_string(), 12)].into_iter().collect(),
        people: Vec::new(),
        uploads: Vec::new(),
    };
    returns::file(&mut srv.db(), &desk, &actor(srv, name), f, now).unwrap()
}

/// Two report months back: its report day is long over whatever day the test runs.
fn past_month() -> Period {
    Period::current(28).previous(28).previous(28)
}

fn return_body(month: &str) -> Value {
    json!({
        "month": month,
        "progress": "本月走访全镇十二个村",
        "summary": "开展禁毒宣传三场",
        "ledger": {"outflow_workers": 340, "prior_trafficking": 7, "prior_use": 21, "fugitives": 1},
        "people": [{"name": "赵测试", "id_number": "430421199001010011", "whereabouts": "广东东莞"}],
    })
}

async fn file_http(srv: &Server, token: &str, body: &Value) -> Value {
    let r = srv.staff_post(token, "/api/v1/staff/returns", body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

fn state_of<'a>(status: &'a Value, township: &str) -> &'a Value {
    status["townships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["township"] == township)
        .unwrap()
}

#[tokio::test]
async fn two_townships_file_one_late_and_the_county_sees_submitted_late_and_missing() {
    let srv = Server::start().await;
    let county = srv.staff_token("county", "supervisor", None);
    let _early = liaison(&srv, "li-hongshi", "hongshi");
    let late = liaison(&srv, "li-da-an", "da_an");
    let _idle = liaison(&srv, "li-xidu", "xidu");
    let p = past_month();
    let m = p.label();

    // Hongshi sends the day before the report day; Da'an today, long after it.
    let on_time = file_at(&srv, "li-hongshi", &m, midnight(p.end) - 10 * 3600);
    assert!(!on_time.late);
    let v = file_http(&srv, &late, &return_body(&m)).await;
    assert_eq!(v["late"], true, "{v}");
    assert_eq!(v["version"], 1);

    let r = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/status?month={m}"))
        .await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    let hongshi = state_of(&s, "hongshi");
    assert_eq!(hongshi["state"], "submitted", "{s}");
    assert_eq!(
        hongshi["sent_hour"].as_i64().unwrap() % 3600,
        0,
        "the hour only"
    );
    assert_eq!(state_of(&s, "da_an")["state"], "late");
    assert_eq!(state_of(&s, "xidu")["state"], "missing");
    assert_eq!(state_of(&s, "jinlan")["state"], "missing");
    let hist = s["history"].as_array().unwrap();
    assert_eq!(hist.len(), 12);
    let last = hist.last().unwrap();
    assert_eq!(
        (
            last["month"].as_str().unwrap(),
            last["submitted"].as_i64(),
            last["late"].as_i64()
        ),
        (m.as_str(), Some(1), Some(1))
    );

    // The monthly report carries a line for the returns.
    let report =
        tipline::reports::monthly(&mut srv.db(), &tipline::reports::Scope::County, &p, 28).unwrap();
    let head = tipline::reports::audit_head(&mut srv.db()).unwrap();
    let notes = tipline::reports::export::notes(&report, "全县", &head);
    let line = notes.iter().find(|(k, _)| k == "乡镇月报").unwrap();
    assert!(
        line.1
            .starts_with("按时报送 1 个乡镇，逾期报送 1 个，未报送 "),
        "{}",
        line.1
    );

    // Which townships have a liaison.
    let r = srv
        .staff_get(&county, "/api/v1/staff/returns/liaisons")
        .await;
    let cover: Value = r.json().await.unwrap();
    let has = |t: &str| {
        cover["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["township"] == t)
            .unwrap()["liaisons"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!((has("hongshi"), has("da_an"), has("jinlan")), (1, 1, 0));

    // The month's figures for every township, Chinese headers.
    let r = srv
        .staff_get(
            &county,
            &format!("/api/v1/staff/returns/export?month={m}&format=csv"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(csv.contains("乡镇,报送情况,报送时间,外出务工人员"), "{csv}");
    assert!(csv.contains("大安乡,逾期报送,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("大安乡") && l.ends_with(",340,7,21,1"))
    );
    assert!(csv.contains("西渡镇,未报送,,,,,"), "{csv}");
    let r = srv
        .staff_get(
            &county,
            &format!("/api/v1/staff/returns/export?month={m}&format=xlsx"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn a_return_sent_back_and_corrected_keeps_both_versions() {
    let srv = Server::start().await;
    let county = srv.staff_token("county", "supervisor", None);
    let li = liaison(&srv, "li-jinxi", "jinxi");
    let m = Period::current(28).label();
    let photo = jpeg_with_exif("GPS-SECRET-MARK");
    let scan = b"%PDF-1.4\n% signed and stamped by the township head\n%%EOF\n".to_vec();
    let mut body = return_body(&m);
    body["files"] = json!([
        {"kind": "photo", "data": b64(&photo)},
        {"kind": "scan", "data": b64(&scan)},
    ]);
    let first = file_http(&srv, &li, &body).await;
    let first_id = first["id"].as_str().unwrap().to_string();

    // Sent once: a second filing is refused until the county sends it back.
    let r = srv
        .staff_post(&li, "/api/v1/staff/returns", &return_body(&m))
        .await;
    assert_eq!(r.status(), 409);

    // The liaison cannot review.
    let r = srv
        .staff_post(
            &li,
            &format!("/api/v1/staff/returns/{first_id}/review"),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status(), 403);

    // The files: the photo re-encoded (EXIF gone), the PDF kept as is and only downloaded.
    let v: Value = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/{first_id}"))
        .await
        .json()
        .await
        .unwrap();
    let files = v["content"]["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2, "{v}");
    for f in &files {
        let r = srv
            .staff_get(
                &county,
                &format!(
                    "/api/v1/staff/returns/{first_id}/files/{}",
                    f["id"].as_str().unwrap()
                ),
            )
            .await;
        assert_eq!(r.status(), 200);
        let disposition = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disposition.starts_with("attachment"));
        let bytes = r.bytes().await.unwrap();
        if f["kind"] == "scan" {
            assert_eq!(f["content_type"], "application/pdf");
            assert_eq!(bytes.to_vec(), scan);
        } else {
            assert_eq!(f["content_type"], "image/jpeg");
            assert!(!contains(&bytes, b"GPS-SECRET-MARK"));
            assert!(!contains(&bytes, b"Exif"));
        }
    }

    // Sending back needs a comment.
    let r = srv
        .staff_post(
            &county,
            &format!("/api/v1/staff/returns/{first_id}/review"),
            &json!({"decision": "send_back"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = srv
        .staff_post(
            &county,
            &format!("/api/v1/staff/returns/{first_id}/review"),
            &json!({"decision": "send_back", "comment": "台帐数字与上月不符，请核实后重报"}),
        )
        .await;
    assert_eq!(r.status(), 204);

    // The liaison sees the comment and corrects the return.
    let v: Value = srv
        .staff_get(&li, &format!("/api/v1/staff/returns/{first_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "sent_back");
    assert_eq!(v["comment"], "台帐数字与上月不符，请核实后重报");
    let mut fixed = return_body(&m);
    fixed["progress"] = json!("核实后的进展");
    fixed["ledger"]["outflow_workers"] = json!(338);
    let second = file_http(&srv, &li, &fixed).await;
    assert_eq!(second["version"], 2);
    let second_id = second["id"].as_str().unwrap();

    // Both versions are kept; the new one carries the files over.
    let v: Value = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/{second_id}"))
        .await
        .json()
        .await
        .unwrap();
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{v}");
    assert_eq!(versions[0]["status"], "sent_back");
    assert_eq!(versions[1]["status"], "submitted");
    assert_eq!(v["content"]["ledger"]["outflow_workers"], 338);
    assert_eq!(v["content"]["files"].as_array().unwrap().len(), 2);
    let old: Value = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/{first_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["content"]["progress"], "本月走访全镇十二个村");
    assert_eq!(old["content"]["ledger"]["outflow_workers"], 340);

    let r = srv
        .staff_post(
            &county,
            &format!("/api/v1/staff/returns/{second_id}/review"),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = srv
        .staff_post(
            &county,
            &format!("/api/v1/staff/returns/{second_id}/review"),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status(), 409, "reviewed once");

    // Every step audited.
    let mut c = srv.db();
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::object.like("return:%"))
        .filter(audit_log::outcome.eq("ok"))
        .select(audit_log::action)
        .load(&mut c)
        .unwrap();
    for a in [
        "return.file",
        "return.send_back",
        "return.correct",
        "return.accept",
        "return.read",
        "return.file.read",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // The liaison's own list shows both versions.
    let own: Value = srv
        .staff_get(&li, "/api/v1/staff/returns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["township"], "jinxi");
    assert_eq!(own["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_liaison_is_refused_tips_rewards_reports_and_other_townships() {
    let srv = Server::start().await;
    let county = srv.staff_token("county", "supervisor", None);
    let officer = srv.staff_token("officer-x", "officer", Some("ps-xidu"));
    let mine = liaison(&srv, "li-qulan", "qulan");
    let theirs = liaison(&srv, "li-sanhu", "sanhu");
    let m = Period::current(28).label();
    let other = file_http(&srv, &theirs, &return_body(&m)).await;
    let other_id = other["id"].as_str().unwrap();
    let (tip, _) = srv
        .public_tip("trafficking", "qulan", "曲兰镇有人贩毒")
        .await;

    for path in [
        "/api/v1/staff/tips".to_string(),
        format!("/api/v1/staff/tips/{tip}"),
        "/api/v1/staff/rewards".into(),
        "/api/v1/staff/ledger".into(),
        "/api/v1/staff/reports/monthly".into(),
        "/api/v1/staff/returns/status".into(),
        "/api/v1/staff/returns/liaisons".into(),
        "/api/v1/staff/returns/export".into(),
        format!("/api/v1/staff/returns/{other_id}/people"),
    ] {
        let r = srv.staff_get(&mine, &path).await;
        assert!(
            [403, 404].contains(&r.status().as_u16()),
            "{path}: {}",
            r.status()
        );
    }
    let r = srv.staff_get(&mine, "/api/v1/staff/tips").await;
    assert_eq!(r.status(), 403);
    let r = srv.staff_get(&mine, "/api/v1/staff/rewards").await;
    assert_eq!(r.status(), 403);
    // Another township's return: not found, whatever the route.
    for path in [
        format!("/api/v1/staff/returns/{other_id}"),
        format!("/api/v1/staff/returns/{other_id}/files/x"),
    ] {
        let r = srv.staff_get(&mine, &path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = srv
        .staff_post(
            &mine,
            &format!("/api/v1/staff/returns/{other_id}/review"),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    // A liaison files only for their own township; staff who are not liaisons file nothing.
    let r = srv
        .staff_post(&county, "/api/v1/staff/returns", &return_body(&m))
        .await;
    assert_eq!(r.status(), 403);
    // A station's officer reads no return.
    let r = srv
        .staff_get(&officer, &format!("/api/v1/staff/returns/{other_id}"))
        .await;
    assert_eq!(r.status(), 403);
    let r = srv
        .staff_get(&officer, "/api/v1/staff/returns/status")
        .await;
    assert_eq!(r.status(), 403);
    // The county reads it.
    let r = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/{other_id}"))
        .await;
    assert_eq!(r.status(), 200);

    // The refusal of another township's return is audited.
    let mut c = srv.db();
    let denied: i64 = audit_log::table
        .filter(audit_log::actor.eq("staff:li-qulan"))
        .filter(audit_log::object.eq(format!("return:{other_id}")))
        .filter(audit_log::outcome.eq("denied"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert!(denied >= 1);

    // A liaison needs a township, and only a liaison has one.
    let out = srv.cli(&["user", "add", "--username", "li-none", "--role", "liaison"]);
    assert!(!out.status.success());
    let out = srv.cli(&[
        "user",
        "add",
        "--username",
        "off-t",
        "--role",
        "officer",
        "--unit",
        "ps-xidu",
        "--township",
        "xidu",
    ]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn the_people_table_is_sealed_and_only_the_county_opens_it_audited() {
    let srv = Server::start().await;
    let county = srv.staff_token("county", "supervisor", None);
    let brigade = srv.staff_token("brigade-officer", "officer", Some("county"));
    let li = liaison(&srv, "li-jibing", "jibing");
    let m = Period::current(28).label();
    let name = "欧阳测试人";
    let id_number = "430421198808080088";
    // Uploaded as XLSX in the office's template (offered for download).
    let r = srv
        .staff_get(&li, "/api/v1/staff/returns/template?format=xlsx")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let table = tipline::returns::people::rows_xlsx(&[tipline::returns::people::Person {
        name: name.into(),
        id_number: id_number.into(),
        whereabouts: "云南".into(),
        ..Default::default()
    }])
    .unwrap();
    let mut body = return_body(&m);
    body.as_object_mut().unwrap().remove("people");
    body["people_file"] = json!(b64(&table));
    let v = file_http(&srv, &li, &body).await;
    let id = v["id"].as_str().unwrap();

    // Not in the clear in any database file (SQLite) or any row (PostgreSQL).
    let mut dump = srv.database_dump();
    if srv.db_url.starts_with("postgres") {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut c = srv.db();
        for t in [
            "township_returns",
            "return_files",
            "sealed_keys",
            "outbox",
            "audit_log",
        ] {
            for r in diesel::sql_query(format!("SELECT CAST(t AS TEXT) AS v FROM {t} t"))
                .load::<Row>(&mut c)
                .unwrap()
            {
                dump.extend_from_slice(r.v.as_bytes());
            }
        }
    }
    for secret in [name, id_number, "本月走访全镇十二个村"] {
        assert!(!contains(&dump, secret.as_bytes()), "{secret} in the clear");
        assert!(!contains(&dump, hex::encode(secret).as_bytes()));
    }

    // The liaison who sent it does not read it back; the county brigade does, audited.
    let r = srv
        .staff_get(&li, &format!("/api/v1/staff/returns/{id}/people"))
        .await;
    assert_eq!(r.status(), 403);
    let r = srv
        .staff_get(&county, &format!("/api/v1/staff/returns/{id}/people"))
        .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["rows"][0]["name"], name);
    assert_eq!(t["rows"][0]["id_number"], id_number);
    let r = srv
        .staff_get(
            &brigade,
            &format!("/api/v1/staff/returns/{id}/people?format=csv"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(name));

    let mut c = srv.db();
    let reads: Vec<(String, String, String)> = audit_log::table
        .filter(audit_log::object.eq(format!("return:{id}")))
        .filter(audit_log::action.like("return.people.%"))
        .select((audit_log::actor, audit_log::action, audit_log::outcome))
        .load(&mut c)
        .unwrap();
    assert!(reads.contains(&(
        "staff:county".into(),
        "return.people.read".into(),
        "ok".into()
    )));
    assert!(reads.contains(&(
        "staff:brigade-officer".into(),
        "return.people.export".into(),
        "ok".into()
    )));
    let denied: i64 = audit_log::table
        .filter(audit_log::actor.eq("staff:li-jibing"))
        .filter(audit_log::action.eq("return.people.read"))
        .filter(audit_log::outcome.eq("denied"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn reminders_reach_the_outbox_before_and_on_the_28th() {
    let srv = Server::start().await;
    let a = liaison(&srv, "li-guanshi", "guanshi");
    let b = liaison(&srv, "li-jiepai", "jiepai");
    let _no_address = liaison(&srv, "li-taiyuan", "taiyuan");
    for (t, mail) in [(&a, "a@example.org"), (&b, "b@example.org")] {
        let r = srv
            .client
            .put(srv.url("/api/v1/staff/me/notifications"))
            .bearer_auth(t)
            .json(&json!({"events": [], "channels": ["email"], "email": mail}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let at = |d: &str, h: i64| midnight(tipline::rewards::calendar::parse(d).unwrap()) + h * 3600;
    let ring = srv.keyring();
    let sealer = Sealer::new(ring.node.clone(), Duration::from_secs(60), 1000);
    let remind = |now: i64| {
        tipline::returns::deadlines::remind_due(&mut srv.db(), &sealer, &ring.relay, 28, now)
            .unwrap()
    };
    let before = srv.count("outbox");
    // The job names the template only: no township, no return. Each new job is opened at once:
    // the server's outbox worker (every 2 s) turns a staff notice into the liaison's mail, and
    // a later pass sends or drops that, so a job looked at seconds later may have moved on (a
    // loaded CI machine saw one such). Either form is accepted, never the township.
    let relay = ring.relay_opener().unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut reminders = 0;
    let new_reminders = |seen: &mut Vec<String>| {
        let mut c = srv.db();
        let ids: Vec<String> = outbox::table.select(outbox::id).load(&mut c).unwrap();
        let mut n = 0;
        let fresh: Vec<String> = ids.into_iter().filter(|i| !seen.contains(i)).collect();
        for id in fresh {
            match tipline::notify::outbox::open(&mut c, &relay, &id) {
                Ok((
                    tipline::notify::Job::Staff {
                        template, params, ..
                    },
                    _,
                )) if template == "return_reminder" => {
                    assert!(params.is_empty());
                    n += 1;
                }
                Ok((tipline::notify::Job::Mail { to, body, .. }, _))
                    if to == "a@example.org" || to == "b@example.org" =>
                {
                    assert!(
                        !body.contains("jiepai") && !body.contains("guanshi"),
                        "{body}"
                    );
                    n += 1;
                }
                _ => {}
            }
            seen.push(id);
        }
        n
    };
    new_reminders(&mut seen);
    // Guanshi has already sent November's return: its liaison is not reminded.
    file_at(&srv, "li-guanshi", "2026-11", at("2026-11-20", 10));
    assert_eq!(remind(at("2026-11-24", 12)), 0, "too early");
    assert_eq!(remind(at("2026-11-25", 7)), 0, "before 08:00");
    assert_eq!(remind(at("2026-11-25", 8)), 1, "three days before");
    reminders += new_reminders(&mut seen);
    assert_eq!(remind(at("2026-11-26", 9)), 0, "once");
    assert_eq!(srv.count("outbox"), before + 1);
    assert_eq!(remind(at("2026-11-28", 7)), 0);
    assert_eq!(remind(at("2026-11-28", 8)), 1, "on the day");
    reminders += new_reminders(&mut seen);
    assert_eq!(remind(at("2026-11-28", 15)), 0, "once");
    assert_eq!(remind(at("2026-11-29", 9)), 0);
    assert_eq!(srv.count("outbox"), before + 2);
    assert_eq!(reminders, 2);
}

/// The pages, without JavaScript: a liaison files with a photo and a PDF scan through the
/// multipart form; the county sees the township on its status page, opens the return and the
/// people table, and sends it back; the liaison sees the comment.
#[tokio::test]
async fn the_pages_file_review_and_send_back_a_return() {
    let srv = Server::start().await;
    srv.staff_token("county", "supervisor", None);
    liaison(&srv, "li-xianshan", "xianshan");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (li, _) = login(&srv, "li-xianshan", None, now).await;
    let (county, _) = login(&srv, "county", None, now).await;

    let (code, home) = srv.page(&li, "/staff/returns").await;
    assert_eq!(code, 200, "{home}");
    assert!(
        home.contains("岘山镇") && home.contains("外出务工人员"),
        "{home}"
    );
    assert!(home.contains("/staff/returns/template?format=xlsx"));
    let csrf = hidden(&home, "csrf");
    let m = Period::current(28).label();
    let photo = jpeg_with_exif("GPS-PAGE-MARK");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("month", m.clone())
        .text("progress", "页面填写的进展")
        .text("summary", "页面填写的总结")
        .text("ledger.outflow_workers", "55")
        .text("ledger.fugitives", "2")
        .text("p0.name", "页面测试人")
        .text("p0.id_number", "430421197001010011")
        .text("p1.name", "")
        .part(
            "scan",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\nstamped\n".to_vec()).file_name("scan.pdf"),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
        )
        .part(
            "people_file",
            reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
        );
    let r = srv
        .client
        .post(srv.url("/staff/returns"))
        .header("cookie", &li)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let id = to
        .trim_start_matches("/staff/returns/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (code, own) = srv.page(&li, &to).await;
    assert_eq!(code, 200);
    assert!(own.contains("已报送") && own.contains("页面填写的进展"));
    assert!(
        !own.contains("页面测试人"),
        "the liaison does not see the people table back"
    );
    assert!(own.contains("签字盖章扫描件（PDF）"));

    // A bad ledger figure is refused with a clear message and the text kept.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("month", m.clone())
        .text("progress", "保留的进展")
        .text("summary", "总结")
        .text("ledger.prior_use", "很多");
    let r = srv
        .client
        .post(srv.url("/staff/returns"))
        .header("cookie", &li)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("外流吸毒前科人员") && body.contains("保留的进展"),
        "{body}"
    );

    // The county: status page, the return, the people table, send back.
    let (code, status) = srv.page(&county, "/staff/returns").await;
    assert_eq!(code, 303, "{status}");
    let (code, status) = srv
        .page(&county, &format!("/staff/returns/status?month={m}"))
        .await;
    assert_eq!(code, 200);
    assert!(status.contains("岘山镇") && status.contains(&format!("/staff/returns/{id}")));
    assert!(
        status.contains("没有联络员"),
        "townships without a liaison show"
    );
    let (code, page) = srv.page(&county, &format!("/staff/returns/{id}")).await;
    assert_eq!(code, 200);
    assert!(page.contains("审核") && page.contains("查看摸排表"));
    let (code, people) = srv
        .page(&county, &format!("/staff/returns/{id}/people"))
        .await;
    assert_eq!(code, 200);
    assert!(people.contains("页面测试人") && people.contains("430421197001010011"));
    let (code, _) = srv.page(&li, &format!("/staff/returns/{id}/people")).await;
    assert_eq!(code, 403);
    let r = srv
        .submit(
            &county,
            &format!("/staff/returns/{id}/review"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("decision", "send_back"),
                ("comment", "请补充活动照片说明"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, back) = srv.page(&li, &format!("/staff/returns/{id}")).await;
    assert!(
        back.contains("请补充活动照片说明") && back.contains("更正并重新报送"),
        "{back}"
    );

    // Images shown inline carry no EXIF; the liaison of another township gets 404.
    let v: Value = serde_json::from_str(&{
        let t = srv.staff_token("county2", "supervisor", None);
        srv.staff_get(&t, &format!("/api/v1/staff/returns/{id}"))
            .await
            .text()
            .await
            .unwrap()
    })
    .unwrap();
    let photo_id = v["content"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "photo")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = srv
        .client
        .get(srv.url(&format!("/staff/returns/{id}/files/{photo_id}")))
        .header("cookie", &li)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-disposition"], "inline");
    assert!(!contains(&r.bytes().await.unwrap(), b"GPS-PAGE-MARK"));
    liaison(&srv, "li-other", "shishi");
    let (other, _) = login(&srv, "li-other", None, now).await;
    let (code, _) = srv.page(&other, &format!("/staff/returns/{id}")).await;
    assert_eq!(code, 404);
}

/// A liaison made by an admin waits, disabled, for a county supervisor's approval, like any
/// reader account; a liaison without a township is refused.
#[tokio::test]
async fn an_admin_made_liaison_waits_for_a_county_supervisor() {
    let srv = Server::start().await;
    let admin = srv.staff_token("admin1", "admin", None);
    let county = srv.staff_token("county", "supervisor", None);
    let r = srv
        .staff_post(
            &admin,
            "/api/v1/staff/users",
            &json!({"username": "li-new", "role": "liaison", "password": "initial password 1"}),
        )
        .await;
    assert_eq!(r.status(), 422, "a liaison needs a township");
    let r = srv
        .staff_post(
            &admin,
            "/api/v1/staff/users",
            &json!({"username": "li-new", "role": "liaison", "township": "jingtou", "password": "initial password 1"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["approval_pending"], true);
    let mut c = srv.db();
    let (disabled, township): (bool, Option<String>) = staff::table
        .filter(staff::username.eq("li-new"))
        .select((staff::disabled, staff::township))
        .first(&mut c)
        .unwrap();
    assert!(disabled);
    assert_eq!(township.as_deref(), Some("jingtou"));
    let r = srv
        .staff_post(&county, "/api/v1/staff/users/li-new/approve", &json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let disabled: bool = staff::table
        .filter(staff::username.eq("li-new"))
        .select(staff::disabled)
        .first(&mut c)
        .unwrap();
    assert!(!disabled);
}
