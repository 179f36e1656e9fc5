//! The access log and its counters. A line carries method, route pattern, status and latency,
//! never the path's values, the query string, the client address or the user agent.
//!
//! Public requests that succeed are logged only at debug level: the journal stamps each line to
//! the microsecond, so an info line for `POST /api/v1/tips 201` would record the second a tip
//! was filed, while the database keeps only the hour (DESIGN.md section 1: no exact time at
//! intake). They are counted instead, per class of status, in `/metrics`. Staff requests and
//! server errors are logged at info and warn.

use std::sync::atomic::{AtomicU64, Ordering};

/// Response counts by zone (public, staff) and status class (1xx-2xx, 3xx, 4xx, 5xx).
#[derive(Default)]
pub struct ResponseCounts {
    counts: [[AtomicU64; 4]; 2],
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

impl ResponseCounts {
    pub fn count(&self, staff: bool, status: u16) {
        self.counts[usize::from(staff)][class(status)].fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text for `tipline_http_responses_total`.
    pub fn render(&self) -> String {
        let mut out = String::from("# TYPE tipline_http_responses_total counter\n");
        for (z, zone) in ZONES.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                out.push_str(&format!(
                    "tipline_http_responses_total{{zone=\"{zone}\",class=\"{class}\"}} {}\n",
                    self.counts[z][c].load(Ordering::Relaxed)
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
    } else if staff {
        tracing::info!(target: "tipline::access", method = %method, route = %route, status, ms);
    } else {
        tracing::debug!(target: "tipline::access", method = %method, route = %route, status, ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = c.render();
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"2xx\"} 2\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"4xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"staff\",class=\"3xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"staff\",class=\"5xx\"} 1\n"));
        assert!(text.contains("tipline_http_responses_total{zone=\"public\",class=\"5xx\"} 0\n"));
    }
}
