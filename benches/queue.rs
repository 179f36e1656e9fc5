//! The staff queue's first page with a million tips, on SQLite and (with BENCH_PG_URL) on
//! PostgreSQL, beside a trivial query on the same connection as the baseline.
//!
//! Run: `cargo bench --bench queue` (BENCH_TIPS=1000000 by default; BENCH_PG_URL=postgres://...
//! adds PostgreSQL in a throwaway database). Generating the data takes a minute or two.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

use diesel::connection::SimpleConnection;

mod generated;
use diesel::prelude::*;
use generated::generate;
use std::time::{Duration, Instant};
use tipline::db::DbTarget;
use tipline::staff::{Actor, Role};
use tipline::triage::work::{QueueFilter, queue};

fn time<F: FnMut()>(mut f: F) -> (Duration, Duration) {
    for _ in 0..20 {
        f();
    }
    let mut samples: Vec<Duration> = (0..300)
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

fn run(name: &str, url: &str, n: usize) {
    let target = DbTarget::parse(url).expect("url");
    let mut conn = target.connect().expect("connect");
    tipline::db::migrate(&mut conn).expect("migrate");
    tipline::triage::routing::seed_units(&mut conn).expect("seed");
    let have: i64 = tipline::db::schema::tips::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    if (have as usize) < n {
        generate(
            &mut conn,
            n - have as usize,
            target.backend == tipline::db::Backend::Postgres,
        );
    }
    let officer = Actor {
        id: "x".into(),
        username: "bench".into(),
        role: Role::Officer,
        unit: Some("ps-xidu".into()),
    };
    let county = Actor {
        id: "y".into(),
        username: "bench2".into(),
        role: Role::Supervisor,
        unit: None,
    };
    let (base_med, base_p99) = time(|| conn.batch_execute("SELECT 1").expect("select 1"));
    println!(
        "| {name} | baseline: SELECT 1 | {:.3} | {:.3} | 1.0 |",
        base_med.as_secs_f64() * 1e3,
        base_p99.as_secs_f64() * 1e3
    );
    let key = generated::route_key();
    let cases: Vec<(&str, &Actor, QueueFilter)> = vec![
        (
            "station officer, newest first",
            &officer,
            QueueFilter::default(),
        ),
        (
            "station officer, status=received",
            &officer,
            QueueFilter {
                status: Some("received".into()),
                ..Default::default()
            },
        ),
        (
            "station officer, oldest first",
            &officer,
            QueueFilter {
                oldest_first: true,
                ..Default::default()
            },
        ),
        (
            "county supervisor, all units",
            &county,
            QueueFilter::default(),
        ),
        (
            "county supervisor, category=outflow",
            &county,
            QueueFilter {
                category: Some("outflow".into()),
                ..Default::default()
            },
        ),
    ];
    for (label, actor, filter) in cases {
        let (items, _) = queue(&mut conn, actor, &key, &filter).expect("queue");
        assert_eq!(items.len(), 50, "{label}: a full first page");
        let (med, p99) = time(|| {
            queue(&mut conn, actor, &key, &filter).expect("queue");
        });
        println!(
            "| {name} | {label} | {:.3} | {:.3} | {:.1} |",
            med.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            med.as_secs_f64() / base_med.as_secs_f64()
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and friends: nothing to list.
    }
    let n: usize = std::env::var("BENCH_TIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("queue first page (50 rows), {n} tips; times in ms over 300 runs");
    println!();
    println!("| backend | query | median ms | p99 ms | ratio to baseline |");
    println!("|---|---|---|---|---|");
    let dir = std::env::temp_dir().join(format!("tipline-queue-bench-{n}"));
    let _ = std::fs::create_dir_all(&dir);
    run("sqlite", &format!("sqlite://{}/bench.db", dir.display()), n);
    if let Ok(admin) = std::env::var("BENCH_PG_URL") {
        let db = format!("tipline_queue_bench_{n}");
        let mut c = PgConnection::establish(&admin).expect("BENCH_PG_URL");
        let _ = c.batch_execute(&format!("CREATE DATABASE {db}"));
        let url = format!("{}/{db}", &admin[..admin.rfind('/').unwrap_or(admin.len())]);
        run("postgres", &url, n);
    }
}
