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
    trusted_proxies: Vec<ipnet::IpNet>,
    windows: Mutex<(i64, HashMap<[u8; 16], u32>)>,
}

impl RateLimiter {
    pub fn new(
        limit: RateLimit,
        trusted_proxies: Vec<ipnet::IpNet>,
    ) -> Result<Self, crate::crypto::CryptoError> {
        Ok(Self {
            limit,
            key: Secret32::random()?,
            trusted_proxies,
            windows: Mutex::new((0, HashMap::new())),
        })
    }

    fn trusted(&self, ip: &IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
            IpAddr::V4(_) => *ip,
        };
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For when
    /// the peer is one of our proxies.
    pub(crate) fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusted(&peer) {
            return Some(peer);
        }
        let forwarded = req.headers().get("x-forwarded-for")?.to_str().ok()?;
        forwarded
            .rsplit(',')
            .filter_map(|h| h.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.trusted(ip))
            .or(Some(peer))
    }

    /// The client's network for login locks: the address for IPv4 (an IPv4-mapped IPv6 peer
    /// included), the /64 for IPv6 (one subscriber's whole prefix), "unknown" when there is no
    /// client address. Never stored: it only goes into a keyed hash.
    pub fn network(&self, req: &HttpRequest) -> String {
        match self.client(req) {
            Some(ip) => network_of(ip),
            None => "unknown".into(),
        }
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

pub fn network_of(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    match ip {
        IpAddr::V4(v4) => format!("v4:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("v6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn limiter(proxies: &[&str]) -> RateLimiter {
        let nets = proxies.iter().map(|p| p.parse().unwrap()).collect();
        RateLimiter::new(RateLimit::PerMinute(1), nets).unwrap()
    }

    fn client_of(l: &RateLimiter, peer: &str, xff: Option<&str>) -> Option<IpAddr> {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(xff) = xff {
            req = req.insert_header(("x-forwarded-for", xff));
        }
        l.client(&req.to_http_request())
    }

    #[test]
    fn networks_are_the_ipv4_address_or_the_ipv6_slash_64() {
        let n = |s: &str| network_of(s.parse().unwrap());
        assert_eq!(n("198.51.100.9"), "v4:198.51.100.9");
        assert_ne!(n("198.51.100.9"), n("198.51.100.10"));
        assert_eq!(n("::ffff:198.51.100.9"), "v4:198.51.100.9");
        assert_eq!(n("2001:db8:1:2:aaaa::1"), n("2001:db8:1:2:bbbb::7"));
        assert_ne!(n("2001:db8:1:2::1"), n("2001:db8:1:3::1"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_ranges() {
        let l = limiter(&["10.0.0.0/24", "fd00::/8"]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A proxy inside a trusted range: the nearest untrusted hop is the client.
        assert_eq!(
            client_of(&l, "10.0.0.7:443", Some("198.51.100.9, 10.0.0.3")),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_of(&l, "[fd00::2]:443", Some("2001:db8::1")),
            ip("2001:db8::1")
        );
        // An IPv4 proxy seen through a dual-stack socket.
        assert_eq!(
            client_of(&l, "[::ffff:10.0.0.9]:443", Some("198.51.100.10")),
            ip("198.51.100.10")
        );
        // Outside the range: the header is the client's own claim and is ignored.
        assert_eq!(
            client_of(&l, "10.0.1.7:443", Some("198.51.100.9")),
            ip("10.0.1.7")
        );
        // A trusted proxy without the header: no client known (one shared "unknown" bucket).
        assert_eq!(client_of(&l, "10.0.0.7:443", None), None);
    }
}
