//! Security headers on every response, and an access log that records the route pattern,
//! never the path's values, the query string, the client address or the user agent.

use actix_web::middleware::DefaultHeaders;

pub const CSP: &str = "default-src 'none'; img-src 'self' data:; media-src 'self' data:; \
    style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn security_headers(https: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ))
        // Pages may carry a receipt; only the stylesheet overrides this.
        .add(("Cache-Control", "no-store"));
    if https {
        h = h.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    h
}
