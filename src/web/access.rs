//! The access log and its counters. A line carries method, route pattern, status and latency,
//! never the path's values, the query string, the client address or the user agent.
//!
//! Public requests that succeed are logged only at debug level: the journal stamps each line to
//! the microsecond, so an info line for `POST /api/v1/tips 201` would record the second a tip
//! was filed, while the database keeps only the hour (DESIGN.md section 1: no exact time at
//! intake). They are counted instead, per class of status, in `/metrics`. Staff requests and
//! server errors are logged at info and warn.

use std::sync::atomic::{AtomicU64, Ordering};

/// A counter of reporters' actions that `/metrics` shows only as of the last period boundary
/// (an hour by default): a count rising once per tip would let every scrape time each tip to
/// its interval (issue 13). The shown value is the number of events in periods that are over;
/// it moves only at a boundary, whenever the scrape comes.
#[derive(Default)]
pub struct PeriodCounter {
    /// (events in periods before `period`, events in `period`, `period`)
    state: std::sync::Mutex<(u64, u64, i64)>,
}

impl PeriodCounter {
    pub fn add(&self, now: i64, period: i64) {
        let bucket = now.div_euclid(period.max(1));
        if let Ok(mut s) = self.state.lock() {
            if bucket > s.2 {
                *s = (s.0 + s.1, 0, bucket);
            }
            s.1 += 1;
        }
    }

    /// The count of events in periods that ended before `now`.
    pub fn published(&self, now: i64, period: i64) -> u64 {
        let bucket = now.div_euclid(period.max(1));
        self.state
            .lock()
            .map(|s| if bucket > s.2 { s.0 + s.1 } else { s.0 })
            .unwrap_or(0)
    }
}

/// Response counts by zone (public, staff) and status class (1xx-2xx, 3xx, 4xx, 5xx). Public
/// responses include every filed tip, so they are published per period like the intake
/// counters; staff responses count at once.
#[derive(Default)]
pub struct ResponseCounts {
    counts: [[AtomicU64; 4]; 2],
    public: [PeriodCounter; 4],
    /// Seconds per published period for public counts; 0 means an hour.
    pub period: std::sync::atomic::AtomicI64,
}

impl ResponseCounts {
    fn period(&self) -> i64 {
        match self.period.load(Ordering::Relaxed) {
            p if p > 0 => p,
            _ => 3600,
        }
    }
}

const CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];
const ZONES: [&str; 2] = ["public", "staff"];

fn class(status: u16) -> usize {
    match status {
        0..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        _ => 3,
    }
}

/// Staff pages and the staff API; everything else (forms, status, SMS webhook, assets) is public.
pub fn is_staff_route(route: &str) -> bool {
    route == "/staff" || route.starts_with("/staff/") || route.starts_with("/api/v1/staff")
}

/// Recording a payout happens with the reporter at the counter: its access line would time the
/// reporter's visit (issue 13), so it is logged at debug like public requests. The audit log
/// keeps the hour (audit::defer).
pub fn is_counter_route(route: &str) -> bool {
    route == "/staff/payouts" || route == "/api/v1/staff/payouts"
}

impl ResponseCounts {
    pub fn count(&self, staff: bool, status: u16) {
        if staff {
            self.counts[1][class(status)].fetch_add(1, Ordering::Relaxed);
        } else {
            self.public[class(status)].add(crate::db::now_unix(), self.period());
        }
    }

    /// Prometheus text for `tipline_http_responses_total`.
    pub fn render(&self) -> String {
        self.render_at(crate::db::now_unix())
    }

    /// The same, as of `now`: public counts as of the last period boundary before it.
    pub fn render_at(&self, now: i64) -> String {
        let mut out = String::from("# TYPE tipline_http_responses_total counter\n");
        for (z, zone) in ZONES.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = if z == 0 {
                    self.public[c].published(now, self.period())
                } else {
                    self.counts[z][c].load(Ordering::Relaxed)
                };
                out.push_str(&format!(
                    "tipline_http_responses_total{{zone=\"{zone}\",class=\"{class}\"}} {n}\n"
                ));
            }
        }
        out
    }
}

/// Counts one response and writes its access line at the level its zone and status call for.
pub fn record(counts: &ResponseCounts, method: &str, route: &str, status: u16, ms: u64) {
    let staff = is_staff_route(route);
    counts.count(staff, status);
    if status >= 500 {
        tracing::warn!(target: "tipline::access", method = %method, route = %route, status, ms);
    } else if staff && !(method == "POST" && is_counter_route(route)) {
        tracing::info!(target: "tipline::access", method = %method, route = %route, status, ms);
    } else {
        tracing::debug!(target: "tipline::access", method = %method, route = %route, status, ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_counts_move_only_at_the_boundary() {
        let c = PeriodCounter::default();
        let h: i64 = 1_800_000_000; // on the hour
        c.add(h + 10, 3600);
        c.add(h + 20, 3600);
        assert_eq!(
            c.published(h + 21, 3600),
            0,
            "not within the hour of the events"
        );
        assert_eq!(c.published(h + 3599, 3600), 0);
        assert_eq!(c.published(h + 3600, 3600), 2, "at the boundary");
        c.add(h + 3700, 3600);
        assert_eq!(c.published(h + 3701, 3600), 2);
        assert_eq!(c.published(h + 7300, 3600), 3);
    }

    #[test]
    fn zones_follow_the_route_pattern() {
        assert!(is_staff_route("/staff"));
        assert!(is_staff_route("/staff/tips/{id}"));
        assert!(is_staff_route("/api/v1/staff/tips"));
        assert!(!is_staff_route("/api/v1/tips"));
        assert!(!is_staff_route("/staffing"));
        assert!(!is_staff_route("-"));
    }

    #[test]
    fn counts_render_per_zone_and_class() {
        let c = ResponseCounts::default();
        c.count(false, 201);
        c.count(false, 201);
        c.count(false, 429);
        c.count(true, 303);
        c.count(true, 500);
        // Staff counts at once; public ones only once their period is over.
        let text = c.render();
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"2xx\"} 0\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"staff\",class=\"3xx\"} 1\n"));
        let text = c.render_at(crate::db::now_unix() + 3600);
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"2xx\"} 2\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"4xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"staff\",class=\"3xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"staff\",class=\"5xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"5xx\"} 0\n"));
    }
}
