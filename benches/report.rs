//! The monthly report for a county with 100,000 tips (three years of them), on SQLite and
//! (with BENCH_PG_URL) on PostgreSQL, beside a trivial query on the same connection as the
//! baseline: counting one month per township, category and channel with the twelve months'
//! trend, and writing the XLSX.
//!
//! Run: `cargo bench --bench report` (BENCH_TIPS=100000 by default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::{Duration, Instant};
use tipline::db::DbTarget;
use tipline::reports::period::Period;
use tipline::reports::{AuditHead, Scope, export, monthly};

mod generated;

fn time<F: FnMut()>(runs: usize, mut f: F) -> (Duration, Duration) {
    for _ in 0..3 {
        f();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn run(name: &str, url: &str, n: usize) {
    let target = DbTarget::parse(url).expect("url");
    let mut conn = target.connect().expect("connect");
    tipline::db::migrate(&mut conn).expect("migrate");
    tipline::triage::routing::seed_units(&mut conn).expect("seed");
    let have: i64 = tipline::db::schema::tips::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    let pg = target.backend == tipline::db::Backend::Postgres;
    if (have as usize) < n {
        generated::generate(&mut conn, n - have as usize, pg);
    }
    generated::decide(&mut conn);
    // Both backends spell it the same way.
    conn.batch_execute("ANALYZE").expect("analyze");
    let period = Period::current(28).previous(28);
    let (base_med, base_p99) = time(100, || conn.batch_execute("SELECT 1").expect("select 1"));
    println!(
        "| {name} | baseline: SELECT 1 | {:.3} | {:.3} | 1 |",
        ms(base_med),
        ms(base_p99)
    );
    let report = monthly(&mut conn, &Scope::County, &period, 28).expect("report");
    let t = report.figures.total();
    eprintln!(
        "{name}: {} received, {} verified, {} unfounded in {}",
        t.received,
        t.verified,
        t.unfounded,
        period.label()
    );
    assert!(t.received > 0, "the month has tips");
    for (label, scope) in [
        ("county, one month + 12-month trend", Scope::County),
        (
            "one station, one month + trend",
            Scope::Unit("ps-xidu".into()),
        ),
    ] {
        let (med, p99) = time(30, || {
            monthly(&mut conn, &scope, &period, 28).expect("report");
        });
        println!(
            "| {name} | {label} | {:.1} | {:.1} | {:.0} |",
            ms(med),
            ms(p99),
            med.as_secs_f64() / base_med.as_secs_f64()
        );
    }
    let head = AuditHead {
        seq: 0,
        hash: vec![0; 32],
    };
    let (med, p99) = time(30, || {
        export::xlsx(&report, "全县", &head).expect("xlsx");
    });
    println!(
        "| {name} | XLSX of that report (no database) | {:.1} | {:.1} | {:.0} |",
        ms(med),
        ms(p99),
        med.as_secs_f64() / base_med.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let n: usize = std::env::var("BENCH_TIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("monthly report, {n} tips over three years; times in ms");
    println!();
    println!("| backend | what | median ms | p99 ms | ratio to baseline |");
    println!("|---|---|---|---|---|");
    let dir = tempfile::tempdir().expect("tempdir");
    let lite = format!("sqlite://{}/bench.db", dir.path().display());
    run("sqlite", &lite, n);
    if let Ok(pg) = std::env::var("BENCH_PG_URL") {
        let mut admin = DbTarget::parse(&pg).expect("pg url").connect().expect("pg");
        let _ = admin.batch_execute("DROP DATABASE IF EXISTS tipline_bench_report");
        admin
            .batch_execute("CREATE DATABASE tipline_bench_report")
            .expect("create db");
        let url = format!(
            "{}/tipline_bench_report",
            pg.rsplit_once('/').map(|(a, _)| a).unwrap_or(&pg)
        );
        run("postgres", &url, n);
    }
}
