//! Generated tips for the benches: realistic metadata (category, township, status, unit
//! routing, three years of hours) and placeholder ciphertext, 1,000 rows a statement.

use diesel::connection::SimpleConnection;
use std::time::Instant;
use tipline::db::DbConn;
use tipline::intake::catalog::{CATEGORIES, COUNTY_UNIT, TOWNSHIPS, station_code};
use tipline::triage::routing::{Route, RouteKey};

const STATUSES: &[&str] = &[
    "received",
    "triaging",
    "assigned",
    "investigating",
    "verified",
    "unfounded",
    "closed",
];

/// The routing key the generated tips are bound with (`route_mac`).
#[allow(dead_code)]
pub fn route_key() -> RouteKey {
    RouteKey::from_secret(tipline::crypto::Secret32::from_bytes([9u8; 32]))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Inserts `n` tips with realistic metadata and placeholder ciphertext, 1,000 rows a statement.
pub fn generate(conn: &mut DbConn, n: usize, pg: bool) {
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
    let key = route_key();
    let started = Instant::now();
    for chunk in 0..n.div_ceil(1000) {
        let mut sql = String::from(
            "INSERT INTO tips (id, public_ref, channel, category, township, unit_code, status, priority, county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, attachment_count, route_mac) VALUES ",
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
            let id = format!("{k:032x}");
            let mac = key.seal(&Route {
                tip_id: &id,
                unit: &unit,
                county_only: county,
                category: cat.code,
                township: town.code,
            });
            sql.push_str(&format!(
                "('{id}', 'B{k:09}', 'web', '{}', '{}', '{unit}', '{status}', {}, {}, {hour}, {hour}, {}, {}, {payload}, 0, {})",
                cat.code,
                town.code,
                (r >> 40) % 4,
                if county { "TRUE" } else { "FALSE" },
                blob(&tipline::crypto::sha256(&k.to_be_bytes())),
                blob(&[1u8; 32]),
                blob(&mac),
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

/// A decision event for every generated tip that is verified or unfounded, a day after it
/// arrived, so the monthly report has decisions to count.
#[allow(dead_code)]
pub fn decide(conn: &mut DbConn) {
    conn.batch_execute(
        "INSERT INTO tip_events (id, tip_id, at, actor, from_status, to_status) \
         SELECT 'bench' || id, id, created_hour + 86400, 'staff:bench', 'investigating', status \
         FROM tips WHERE status IN ('verified', 'unfounded') \
         AND NOT EXISTS (SELECT 1 FROM tip_events e WHERE e.tip_id = tips.id)",
    )
    .expect("decision events");
}
