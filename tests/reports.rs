//! The monthly report: its figures equal what the database holds (generated tips, decisions,
//! rewards and payouts around the month's edges), access by role and unit, the suppressed
//! CSV/XLSX exports, the command line, and the mail with the audit head that anchors the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;

use common::Server;
use diesel::prelude::*;
use std::collections::BTreeMap;
use tipline::db::schema::{
    payouts, report_tombstones, reward_signatures, rewards, tip_events, tips,
};
use tipline::intake::catalog::{CATEGORIES, COUNTY_UNIT, TOWNSHIPS, station_code};
use tipline::reports::period::Period;

const CHANNELS: [&str; 4] = ["web", "sms", "hotline", "box"];

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Want {
    received: i64,
    verified: i64,
    unfounded: i64,
    duplicate: i64,
    approved: i64,
    approved_fen: i64,
    paid: i64,
    paid_fen: i64,
}

struct Gen {
    seed: u64,
}

impl Gen {
    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

type Key = (String, String, String, String); // township, category, channel, unit

/// Writes tips and their history straight into the database, spread over three report months
/// around `p`, and returns what the report for `p` must say, per (township, category, channel,
/// unit).
fn generate(srv: &Server, p: &Period, n: usize) -> BTreeMap<Key, Want> {
    srv.staff_token("gen-a", "supervisor", None);
    srv.staff_token("gen-b", "finance", None);
    let mut c = srv.db();
    let staff_id = |c: &mut tipline::db::DbConn, name: &str| -> String {
        tipline::db::schema::staff::table
            .filter(tipline::db::schema::staff::username.eq(name))
            .select(tipline::db::schema::staff::id)
            .first(c)
            .unwrap()
    };
    let (a, b) = (staff_id(&mut c, "gen-a"), staff_id(&mut c, "gen-b"));
    let mut g = Gen {
        seed: 0x9e37_79b9_7f4a_7c15,
    };
    let (from, to) = (p.start_unix(), p.end_unix());
    let span = to - from;
    let day_of = |t: i64| tipline::rewards::calendar::format(tipline::rewards::calendar::day_of(t));
    let mut want: BTreeMap<Key, Want> = BTreeMap::new();
    for i in 0..n {
        let town = g.pick(TOWNSHIPS).code;
        let cat = g.pick(CATEGORIES).code;
        let chan = *g.pick(&CHANNELS);
        let unit = if g.next().is_multiple_of(4) || town == "other" {
            COUNTY_UNIT.to_string()
        } else {
            station_code(town)
        };
        // From a month before the period to a month after it, so the edges are crossed.
        let created = from - span + (g.next() % (3 * span as u64)) as i64;
        let created = created - created % 3600;
        let id = format!("gen{i:05}");
        diesel::insert_into(tips::table)
            .values((
                tips::id.eq(&id),
                tips::public_ref.eq(format!("G{i:06}")),
                tips::channel.eq(chan),
                tips::category.eq(cat),
                tips::township.eq(town),
                tips::unit_code.eq(&unit),
                tips::status.eq("received"),
                tips::priority.eq(0),
                tips::county_only.eq(false),
                tips::created_hour.eq(created),
                tips::updated_at.eq(created),
                tips::receipt_hash.eq(tipline::crypto::sha256(id.as_bytes()).to_vec()),
                tips::reply_pubkey.eq(vec![1u8; 32]),
                tips::payload.eq(vec![7u8; 48]),
                tips::attachment_count.eq(0),
            ))
            .execute(&mut c)
            .unwrap();
        let key = (
            town.to_string(),
            cat.to_string(),
            chan.to_string(),
            unit.clone(),
        );
        let w = want.entry(key).or_default();
        if (from..to).contains(&created) {
            w.received += 1;
        }
        let decided = created + (g.next() % (span as u64 / 2)) as i64;
        let status = match g.next() % 5 {
            0 => None,
            1 | 2 => Some("verified"),
            3 => Some("unfounded"),
            _ => Some("duplicate"),
        };
        let Some(status) = status else { continue };
        diesel::insert_into(tip_events::table)
            .values((
                tip_events::id.eq(format!("ev{i:05}")),
                tip_events::tip_id.eq(&id),
                tip_events::at.eq(decided),
                tip_events::actor.eq("staff:gen"),
                tip_events::from_status.eq("investigating"),
                tip_events::to_status.eq(status),
            ))
            .execute(&mut c)
            .unwrap();
        diesel::update(tips::table.filter(tips::id.eq(&id)))
            .set(tips::status.eq(status))
            .execute(&mut c)
            .unwrap();
        if (from..to).contains(&decided) {
            match status {
                "verified" => w.verified += 1,
                "unfounded" => w.unfounded += 1,
                _ => w.duplicate += 1,
            }
        }
        if status != "verified" || g.next().is_multiple_of(2) {
            continue;
        }
        // A reward: still approving, approved (claimable), paid in cash or pending transfer.
        let fen = 10_000 * (1 + (g.next() % 50) as i64);
        let approved_at = decided + 86_400 * (1 + (g.next() % 20) as i64);
        let outcome = g.next() % 4;
        let reward_status = ["approving", "claimable", "paid", "paid"][outcome as usize];
        let rid = format!("rw{i:05}");
        diesel::insert_into(rewards::table)
            .values((
                rewards::id.eq(&rid),
                rewards::public_ref.eq(format!("R{i:06}")),
                rewards::tip_id.eq(&id),
                rewards::unit_code.eq(&unit),
                rewards::policy_version.eq(0),
                rewards::amount_fen.eq(fen),
                rewards::tiers.eq("trafficking"),
                rewards::details.eq(vec![0u8; 8]),
                rewards::status.eq(reward_status),
                rewards::steps.eq("[\"unit_head\",\"finance\"]"),
                rewards::signed_steps.eq(if outcome == 0 { 1 } else { 2 }),
                rewards::proposed_by.eq(&a),
                rewards::proposed_at.eq(decided),
                rewards::cracked_on.eq(day_of(decided)),
                rewards::notify_by.eq(day_of(decided)),
            ))
            .execute(&mut c)
            .unwrap();
        for (step, name, at) in [
            (0, "unit_head", approved_at - 3600),
            (1, "finance", approved_at),
        ] {
            if step == 1 && outcome == 0 {
                break;
            }
            diesel::insert_into(reward_signatures::table)
                .values((
                    reward_signatures::reward_id.eq(&rid),
                    reward_signatures::step.eq(step),
                    reward_signatures::step_name.eq(name),
                    reward_signatures::signer_id.eq(if step == 0 { &a } else { &b }),
                    reward_signatures::at.eq(at),
                ))
                .execute(&mut c)
                .unwrap();
        }
        if outcome >= 1 && (from..to).contains(&approved_at) {
            w.approved += 1;
            w.approved_fen += fen;
        }
        if outcome >= 2 {
            let paid_at = approved_at + 86_400 * (g.next() % 10) as i64;
            let state = if outcome == 2 { "paid" } else { "pending" };
            diesel::insert_into(payouts::table)
                .values((
                    payouts::id.eq(format!("po{i:05}")),
                    payouts::reward_id.eq(&rid),
                    payouts::unit_code.eq(&unit),
                    payouts::amount_fen.eq(fen),
                    payouts::method.eq(if outcome == 2 { "cash" } else { "transfer" }),
                    payouts::state.eq(state),
                    payouts::recorded_by.eq(&b),
                    payouts::paid_on.eq(day_of(paid_at)),
                ))
                .execute(&mut c)
                .unwrap();
            if state == "paid" && (from..to).contains(&paid_at) {
                w.paid += 1;
                w.paid_fen += fen;
            }
        }
    }
    // What retention deleted still counts: tombstones inside and outside the month.
    for (day, measure, n) in [
        (p.first_day(), "received", 3),
        (p.last_day(), "unfounded", 2),
        (day_of(from - 1), "received", 100),
        (tipline::rewards::calendar::format(p.end), "received", 100),
    ] {
        diesel::insert_into(report_tombstones::table)
            .values((
                report_tombstones::day.eq(&day),
                report_tombstones::measure.eq(measure),
                report_tombstones::township.eq("xidu"),
                report_tombstones::category.eq("trafficking"),
                report_tombstones::channel.eq("web"),
                report_tombstones::unit_code.eq(station_code("xidu")),
                report_tombstones::n.eq(n),
            ))
            .execute(&mut c)
            .unwrap();
        if day >= p.first_day() && day <= p.last_day() {
            let w = want
                .entry((
                    "xidu".into(),
                    "trafficking".into(),
                    "web".into(),
                    station_code("xidu"),
                ))
                .or_default();
            match measure {
                "received" => w.received += n,
                _ => w.unfounded += n,
            }
        }
    }
    want
}

fn add(a: &mut Want, b: &Want) {
    a.received += b.received;
    a.verified += b.verified;
    a.unfounded += b.unfounded;
    a.duplicate += b.duplicate;
    a.approved += b.approved;
    a.approved_fen += b.approved_fen;
    a.paid += b.paid;
    a.paid_fen += b.paid_fen;
}

fn of_json(v: &serde_json::Value) -> Want {
    let n = |k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"));
    Want {
        received: n("received"),
        verified: n("verified"),
        unfounded: n("unfounded"),
        duplicate: n("duplicate"),
        approved: n("rewards_approved"),
        approved_fen: n("approved_fen"),
        paid: n("rewards_paid"),
        paid_fen: n("paid_fen"),
    }
}

/// Sums `want` by one part of the key, for the units `unit` selects (all when `None`).
fn by(want: &BTreeMap<Key, Want>, part: usize, unit: Option<&str>) -> BTreeMap<String, Want> {
    let mut out: BTreeMap<String, Want> = BTreeMap::new();
    for (k, w) in want {
        if unit.is_some_and(|u| u != k.3) {
            continue;
        }
        let name = [&k.0, &k.1, &k.2][part].clone();
        add(out.entry(name).or_default(), w);
    }
    out.retain(|_, w| *w != Want::default());
    out
}

fn check(body: &serde_json::Value, want: &BTreeMap<Key, Want>, unit: Option<&str>) {
    for (part, field) in [(0, "townships"), (1, "categories"), (2, "channels")] {
        let got: BTreeMap<String, Want> = body[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["code"].as_str().unwrap().to_string(), of_json(g)))
            .filter(|(_, w)| *w != Want::default())
            .collect();
        assert_eq!(got, by(want, part, unit), "{field} for {unit:?}");
    }
    let mut total = Want::default();
    by(want, 0, unit).values().for_each(|w| add(&mut total, w));
    assert_eq!(of_json(&body["totals"]), total);
}

#[tokio::test]
async fn figures_equal_what_the_database_holds_for_county_and_unit() {
    let srv = Server::start().await;
    let p = Period::parse("2026-10", 28).unwrap();
    let want = generate(&srv, &p, 600);
    let total_received: i64 = want.values().map(|w| w.received).sum();
    assert!(total_received > 100, "the month has data: {total_received}");
    assert!(want.values().any(|w| w.paid > 0) && want.values().any(|w| w.approved > 0));

    let county = srv.staff_token("boss", "supervisor", None);
    let r = srv
        .staff_get(&county, "/api/v1/staff/reports/monthly?month=2026-10")
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["first_day"], "2026-09-28");
    assert_eq!(body["last_day"], "2026-10-27");
    assert_eq!(body["partial"], false);
    check(&body, &want, None);
    assert_eq!(body["trend"].as_array().unwrap().len(), 12);
    assert_eq!(body["trend"][11]["month"], "2026-10");
    assert_eq!(body["trend"][11]["received"], body["totals"]["received"]);

    // A county reader narrows to one unit; the unit's own supervisor sees just that.
    let unit = station_code("xidu");
    let r = srv
        .staff_get(
            &county,
            &format!("/api/v1/staff/reports/monthly?month=2026-10&unit={unit}"),
        )
        .await;
    check(
        &r.json::<serde_json::Value>().await.unwrap(),
        &want,
        Some(&unit),
    );
    let local = srv.staff_token("head", "supervisor", Some(&unit));
    let r = srv
        .staff_get(&local, "/api/v1/staff/reports/monthly?month=2026-10")
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["unit"], unit.as_str());
    check(&body, &want, Some(&unit));
    let r = srv
        .staff_get(
            &local,
            "/api/v1/staff/reports/monthly?month=2026-10&unit=county",
        )
        .await;
    assert_eq!(r.status(), 404, "another unit's figures are not found");

    // Deny by default: officers and finance read no reports; no token is 401; bad months 422.
    let officer = srv.staff_token("cop", "officer", Some(&unit));
    let finance = srv.staff_token("money", "finance", None);
    for t in [&officer, &finance] {
        assert_eq!(
            srv.staff_get(t, "/api/v1/staff/reports/monthly")
                .await
                .status(),
            403
        );
    }
    let r = srv
        .client
        .get(srv.url("/api/v1/staff/reports/monthly"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for bad in ["2026-13", "10-2026", "2026-10-01", "x"] {
        let r = srv
            .staff_get(
                &county,
                &format!("/api/v1/staff/reports/monthly?month={bad}"),
            )
            .await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    let auditor = srv.staff_token("eyes", "auditor", None);
    assert_eq!(
        srv.staff_get(&auditor, "/api/v1/staff/reports/monthly?month=2026-10")
            .await
            .status(),
        200
    );

    // The same figures on the command line.
    let out_dir = tempfile::tempdir().unwrap();
    let out = srv.cli(&[
        "report",
        "monthly",
        "--month",
        "2026-10",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut total = Want::default();
    want.values().for_each(|w| add(&mut total, w));
    assert!(
        stdout.contains(&format!(
            "{} received, {} verified",
            total.received, total.verified
        )),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out_dir.path().join("tipline-report-2026-10.csv")).unwrap();
    assert!(
        csv.starts_with("\u{feff}报告月份,维度,项目,收到线索,核实"),
        "{csv}"
    );
    let xlsx = std::fs::read(out_dir.path().join("tipline-report-2026-10.xlsx")).unwrap();
    assert_eq!(&xlsx[..2], b"PK", "an XLSX is a zip file");
}

/// No figure from 1 to 4 in the count columns of an export.
fn assert_suppressed(csv: &str) {
    let mut hidden = 0;
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        for (i, cell) in cells.iter().enumerate().skip(3) {
            if *cell == "<5" {
                hidden += 1;
                continue;
            }
            if [8, 10].contains(&i) {
                continue; // amounts in yuan
            }
            let n: i64 = cell.parse().unwrap_or_else(|_| panic!("{cell} in {line}"));
            assert!(n == 0 || n >= 5, "{n} leaks in {line}");
        }
    }
    assert!(hidden > 0, "some small counts were hidden:\n{csv}");
}

#[tokio::test]
async fn exports_hide_small_counts_and_carry_the_audit_head() {
    let srv = Server::start_with(common::Options {
        extra_env: vec![("TIPLINE_REPORT_MAIL_TO", "office@example.org".into())],
        ..Default::default()
    })
    .await;
    let p = Period::parse("2026-10", 28).unwrap();
    generate(&srv, &p, 150);
    let county = srv.staff_token("boss", "supervisor", None);
    let r = srv
        .staff_get(
            &county,
            "/api/v1/staff/reports/monthly?month=2026-10&format=csv",
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let head = r.headers()["x-audit-head"].to_str().unwrap().to_string();
    let csv = r.text().await.unwrap();
    assert_suppressed(&csv);
    let r = srv
        .staff_get(
            &county,
            "/api/v1/staff/reports/monthly?month=2026-10&format=xlsx",
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK");
    let r = srv
        .staff_get(
            &county,
            "/api/v1/staff/reports/monthly?month=2026-10&format=pdf",
        )
        .await;
    assert_eq!(r.status(), 422);

    // The head the CSV carried is an anchor that `audit verify` checks.
    let ok = srv.cli(&["audit", "verify", "--anchor", &head]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let (seq, _) = head.split_once(':').unwrap();
    let forged = format!("{seq}:{}", "00".repeat(32));
    let bad = srv.cli(&["audit", "verify", "--anchor", &forged]);
    assert!(!bad.status.success(), "a wrong anchor fails");

    let out_dir = tempfile::tempdir().unwrap();
    // The mail for the office: queued once, sealed in the outbox, with both files, the
    // suppressed figures and the head that includes its own audit entry.
    let out = srv.cli(&[
        "report",
        "monthly",
        "--month",
        "2026-10",
        "--mail",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = srv.db();
    let ids: Vec<String> = tipline::db::schema::outbox::table
        .select(tipline::db::schema::outbox::id)
        .load(&mut c)
        .unwrap();
    let keys = srv.keyring();
    let relay = keys.relay_opener().unwrap();
    let mails: Vec<tipline::notify::Job> = ids
        .iter()
        .filter_map(|id| {
            tipline::notify::outbox::open(&mut c, &relay, id)
                .ok()
                .map(|(j, _)| j)
        })
        .filter(
            |j| matches!(j, tipline::notify::Job::Mail { to, .. } if to == "office@example.org"),
        )
        .collect();
    // The server itself queued the last finished month's at start (it was due).
    let last = Period::current(28).previous(28).label();
    let subjects: Vec<String> = mails
        .iter()
        .map(|m| match m {
            tipline::notify::Job::Mail { subject, .. } => subject.clone(),
            _ => String::new(),
        })
        .collect();
    assert!(subjects.iter().any(|s| s.contains(&last)), "{subjects:?}");
    let october: Vec<&tipline::notify::Job> = mails
        .iter()
        .filter(|m| matches!(m, tipline::notify::Job::Mail { subject, .. } if subject.contains("月报 2026-10")))
        .collect();
    assert_eq!(october.len(), 1, "{subjects:?}");
    let tipline::notify::Job::Mail {
        subject,
        body,
        attachments,
        ..
    } = october[0]
    else {
        unreachable!()
    };
    assert!(subject.contains("月报 2026-10"), "{subject}");
    let names: Vec<&str> = attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(
        names,
        ["tipline-report-2026-10.xlsx", "tipline-report-2026-10.csv"]
    );
    assert_suppressed(std::str::from_utf8(&attachments[1].bytes).unwrap());
    // The head the body names is the October mail's own entry. (The server's own mail of the
    // last month may be recorded after it, so the log's current head is not compared.)
    let field = |label: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {body}"))
            .trim()
            .to_string()
    };
    let seq: i64 = field("审计日志序号：").parse().unwrap();
    let (action, hash, object): (String, Vec<u8>, String) = tipline::db::schema::audit_log::table
        .filter(tipline::db::schema::audit_log::seq.eq(seq))
        .select((
            tipline::db::schema::audit_log::action,
            tipline::db::schema::audit_log::hash,
            tipline::db::schema::audit_log::object,
        ))
        .first(&mut c)
        .unwrap();
    assert_eq!(hex::encode(&hash), field("审计日志链头哈希："), "{body}");
    assert_eq!(action, "report.mail");
    assert!(object.contains("2026-10"), "{object}");
    let runs: i64 = tipline::db::schema::report_runs::table
        .filter(tipline::db::schema::report_runs::period.eq("2026-10"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn the_report_is_due_once_on_the_report_day_after_eight() {
    let srv = Server::start().await;
    let mut c = srv.db();
    let at = |s: &str, h: i64| {
        tipline::reports::period::midnight(tipline::rewards::calendar::parse(s).unwrap()) + h * 3600
    };
    use tipline::reports::mailer::due;
    // On the 28th before 08:00 nothing is due (October's month is long over and is not sent
    // by a node started later); November's from 08:00, once.
    assert_eq!(due(&mut c, 28, at("2026-11-28", 7)).unwrap(), None);
    diesel::insert_into(tipline::db::schema::report_runs::table)
        .values((
            tipline::db::schema::report_runs::period.eq("2026-10"),
            tipline::db::schema::report_runs::created_at.eq(0_i64),
            tipline::db::schema::report_runs::head_seq.eq(0_i64),
            tipline::db::schema::report_runs::head_hash.eq(vec![0u8; 32]),
        ))
        .execute(&mut c)
        .unwrap();
    assert_eq!(due(&mut c, 28, at("2026-11-27", 23)).unwrap(), None);
    assert_eq!(
        due(&mut c, 28, at("2026-11-28", 8))
            .unwrap()
            .map(|p| p.label()),
        Some("2026-11".into())
    );
    assert_eq!(
        due(&mut c, 28, at("2026-12-05", 8))
            .unwrap()
            .map(|p| p.label()),
        Some("2026-11".into()),
        "a late node sends it when it comes back"
    );
    assert_eq!(
        due(&mut c, 1, at("2026-12-01", 9))
            .unwrap()
            .map(|p| p.label()),
        Some("2026-11".into())
    );
    diesel::insert_into(tipline::db::schema::report_runs::table)
        .values((
            tipline::db::schema::report_runs::period.eq("2026-11"),
            tipline::db::schema::report_runs::created_at.eq(0_i64),
            tipline::db::schema::report_runs::head_seq.eq(0_i64),
            tipline::db::schema::report_runs::head_hash.eq(vec![0u8; 32]),
        ))
        .execute(&mut c)
        .unwrap();
    assert_eq!(
        due(&mut c, 28, at("2026-11-28", 9)).unwrap(),
        None,
        "sent once"
    );
}

#[tokio::test]
async fn the_report_page_shows_charts_and_tables_to_supervisors_only() {
    let srv = Server::start().await;
    let p = Period::parse("2026-10", 28).unwrap();
    let want = generate(&srv, &p, 120);
    common::add_user(&srv, "r.county", "supervisor", None);
    common::add_user(&srv, "r.officer", "officer", Some("ps-xidu"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (county, _) = common::login(&srv, "r.county", None, now).await;
    let (officer, _) = common::login(&srv, "r.officer", None, now).await;
    let (status, html) = srv
        .page(&county, "/staff/reports/monthly?month=2026-10")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("<svg class=\"chart\"").count(),
        4,
        "trend and three dimensions"
    );
    assert_eq!(html.matches("role=\"img\"").count(), 4);
    for heading in [
        "按乡镇",
        "按类别",
        "按渠道",
        "近十二个月",
        "2026-09-28 至 2026-10-27",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    let mut total = Want::default();
    want.values().for_each(|w| add(&mut total, w));
    assert!(
        html.contains(&format!("<td class=\"num\">{}</td>", total.received)),
        "the total received ({}) is in the tables",
        total.received
    );
    assert!(html.contains("href=\"/staff/reports/monthly.xlsx?month=2026-10\""));
    let r = srv
        .client
        .get(srv.url("/staff/reports/monthly.csv?month=2026-10"))
        .header("cookie", &county)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("tipline-report-2026-10.csv")
    );
    assert_suppressed(&r.text().await.unwrap());
    assert_eq!(
        srv.page(&county, "/staff/reports/monthly?month=2026-13")
            .await
            .0,
        422
    );
    assert_eq!(srv.page(&officer, "/staff/reports/monthly").await.0, 403);
    assert_eq!(
        srv.page(&officer, "/staff/reports/monthly.xlsx").await.0,
        403
    );
}
