//! The staff queue's first page with a million tips, on SQLite and (with BENCH_PG_URL) on
//! PostgreSQL, beside a trivial query on the same connection as the baseline.
//!
//! Run: `cargo bench --bench queue` (BENCH_TIPS=1000000 by default; BENCH_PG_URL=postgres://...
//! adds PostgreSQL in a throwaway database). Generating the data takes a minute or two.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::{Duration, Instant};
use tipline::db::{DbConn, DbTarget};
use tipline::intake::catalog::{CATEGORIES, COUNTY_UNIT, TOWNSHIPS, station_code};
use tipline::staff::{Actor, Role};
use tipline::triage::work::{QueueFilter, queue};

const STATUSES: &[&str] = &[
    "received",
    "triaging",
    "assigned",
    "investigating",
    "verified",
    "unfounded",
    "closed",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Inserts `n` tips with realistic metadata and placeholder ciphertext, 1,000 rows a statement.
fn generate(conn: &mut DbConn, n: usize, pg: bool) {
    let now = tipline::db::now_unix();
    let blob = |b: &[u8]| {
        if pg {
            format!("'\\x{}'", hex(b))
        } else {
            format!("X'{}'", hex(b))
        }
    };
    let payload = blob(&[7u8; 96]);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let started = Instant::now();
    for chunk in 0..n.div_ceil(1000) {
        let mut sql = String::from(
            "INSERT INTO tips (id, public_ref, channel, category, township, unit_code, status, priority, county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, attachment_count) VALUES ",
        );
        for i in 0..1000.min(n - chunk * 1000) {
            let k = chunk * 1000 + i;
            let r = next();
            let town = &TOWNSHIPS[(r % 24) as usize];
            let cat = &CATEGORIES[((r >> 8) % CATEGORIES.len() as u64) as usize];
            let county = (r >> 16) % 5 == 0;
            let unit = if county {
                COUNTY_UNIT.to_string()
            } else {
                station_code(town.code)
            };
            let hour = now - now % 3600 - ((r >> 20) % (3 * 365 * 24)) as i64 * 3600;
            let status = STATUSES[((r >> 32) % STATUSES.len() as u64) as usize];
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('{k:032x}', 'B{k:09}', 'web', '{}', '{}', '{unit}', '{status}', {}, {}, {hour}, {hour}, {}, {}, {payload}, 0)",
                cat.code,
                town.code,
                (r >> 40) % 4,
                if county { "TRUE" } else { "FALSE" },
                blob(&tipline::crypto::sha256(&k.to_be_bytes())),
                blob(&[1u8; 32]),
            ));
        }
        conn.batch_execute(&sql).expect("insert batch");
    }
    conn.batch_execute(if pg { "ANALYZE tips" } else { "ANALYZE" })
        .expect("analyze");
    eprintln!(
        "generated {n} tips in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

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
        let (items, _) = queue(&mut conn, actor, &filter).expect("queue");
        assert_eq!(items.len(), 50, "{label}: a full first page");
        let (med, p99) = time(|| {
            queue(&mut conn, actor, &filter).expect("queue");
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
