//! Per-node, in-memory limits on public POSTs (DESIGN.md section 5). Clients are told apart by
//! a keyed hash of their address under a key that lives only in this process, so the table
//! never holds an IP address and means nothing after a restart. The captcha is the real gate.

use crate::config::RateLimit;
use crate::crypto::{Secret32, keyed_hash};
use actix_web::HttpRequest;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub struct RateLimiter {
    limit: RateLimit,
    key: Secret32,
    trusted_proxies: Vec<IpAddr>,
    windows: Mutex<(i64, HashMap<[u8; 16], u32>)>,
}

impl RateLimiter {
    pub fn new(
        limit: RateLimit,
        trusted_proxies: Vec<IpAddr>,
    ) -> Result<Self, crate::crypto::CryptoError> {
        Ok(Self {
            limit,
            key: Secret32::random()?,
            trusted_proxies,
            windows: Mutex::new((0, HashMap::new())),
        })
    }

    /// The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For when
    /// the peer is one of our proxies.
    fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req.headers().get("x-forwarded-for")?.to_str().ok()?;
        forwarded
            .rsplit(',')
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.trusted_proxies.contains(ip))
            .or(Some(peer))
    }

    /// `Err(seconds)` when the client must wait.
    pub fn check(&self, req: &HttpRequest) -> Result<(), u64> {
        let RateLimit::PerMinute(max) = self.limit else {
            return Ok(());
        };
        let who = self
            .client(req)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut id = [0u8; 16];
        id.copy_from_slice(&keyed_hash(&self.key, &[who.as_bytes()])[..16]);
        let now = crate::db::now_unix();
        let minute = now / 60;
        let Ok(mut guard) = self.windows.lock() else {
            return Ok(());
        };
        let (window, counts) = &mut *guard;
        if *window != minute {
            *window = minute;
            counts.clear();
        }
        let n = counts.entry(id).or_insert(0);
        *n += 1;
        if *n > max {
            Err((60 - now.rem_euclid(60)).max(1) as u64)
        } else {
            Ok(())
        }
    }
}
