//! Per-node, in-memory limits on public POSTs (DESIGN.md section 5). Clients are told apart by
//! a keyed hash of their address under a key that lives only in this process, so the table
//! never holds an IP address and means nothing after a restart. The captcha is the real gate.
//!
//! An IPv6 client is its /64 (`client_network`): one home line gets a /64 or more, so counting
//! full addresses would give a spammer 2^64 clients. Each route also has a ceiling for all
//! clients together (`GLOBAL_FACTOR` times the per-client limit), which bounds what any number
//! of networks can cost; past it every client waits for the next minute.

use crate::config::RateLimit;
use crate::crypto::{Secret32, keyed_hash};
use actix_web::HttpRequest;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// A route's ceiling for all clients together, in per-client limits.
pub const GLOBAL_FACTOR: u32 = 20;

/// Captcha pictures and sounds a client may fetch per minute, in per-client POST limits: a page
/// shows one picture and may play its sound, and each form sent fetches a new one.
pub const MEDIA_FACTOR: u32 = 4;

/// The network a client address stands for: an IPv4 address itself (also when it arrives as
/// `::ffff:a.b.c.d`), an IPv6 address its /64. Used wherever clients are told apart.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// What a limit is counted for: public POSTs (every form and API write shares one budget per
/// client) or captcha media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Post,
    CaptchaMedia,
}

pub struct RateLimiter {
    limit: RateLimit,
    key: Secret32,
    trusted_proxies: Vec<ipnet::IpNet>,
    windows: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    minute: i64,
    clients: HashMap<(Scope, [u8; 16]), u32>,
    routes: HashMap<String, u32>,
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
            windows: Mutex::new(Windows::default()),
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

    /// `Err(seconds)` when the client must wait: a public POST.
    pub fn check(&self, req: &HttpRequest) -> Result<(), u64> {
        self.check_in(req, Scope::Post)
    }

    /// `Err(seconds)` when the client, or all clients together on this route, must wait.
    pub fn check_in(&self, req: &HttpRequest, scope: Scope) -> Result<(), u64> {
        let RateLimit::PerMinute(max) = self.limit else {
            return Ok(());
        };
        let max = match scope {
            Scope::Post => max,
            Scope::CaptchaMedia => max.saturating_mul(MEDIA_FACTOR),
        };
        let who = self
            .client(req)
            .map(|ip| client_network(ip).to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut id = [0u8; 16];
        id.copy_from_slice(&keyed_hash(&self.key, &[who.as_bytes()])[..16]);
        // The route's pattern (`/captcha/{file}`), not the path: ids must not make new routes.
        let route = req
            .match_pattern()
            .unwrap_or_else(|| req.path().to_string());
        let now = crate::db::now_unix();
        let minute = now / 60;
        let wait = (60 - now.rem_euclid(60)).max(1) as u64;
        let Ok(mut guard) = self.windows.lock() else {
            return Ok(());
        };
        let w = &mut *guard;
        if w.minute != minute {
            w.minute = minute;
            w.clients.clear();
            w.routes.clear();
        }
        let n = w.clients.entry((scope, id)).or_insert(0);
        *n = n.saturating_add(1);
        if *n > max {
            return Err(wait);
        }
        let all = w.routes.entry(route).or_insert(0);
        *all = all.saturating_add(1);
        if *all > max.saturating_mul(GLOBAL_FACTOR) {
            return Err(wait);
        }
        Ok(())
    }
}

/// The client network of `client_network` as the text that goes into a login lock's keyed hash.
pub fn network_of(ip: IpAddr) -> String {
    match client_network(ip) {
        IpAddr::V4(v4) => format!("v4:{v4}"),
        IpAddr::V6(v6) => format!("v6:{v6}/64"),
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

    fn from(l: &RateLimiter, client: &str, path: &str) -> Result<(), u64> {
        let req = TestRequest::post()
            .uri(path)
            .peer_addr("10.0.0.7:443".parse().unwrap())
            .insert_header(("x-forwarded-for", client))
            .to_http_request();
        l.check(&req)
    }

    #[test]
    fn one_ipv6_slash_64_is_one_client() {
        assert_eq!(
            client_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_network("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        let l = limiter(&["10.0.0.0/24"]);
        assert!(from(&l, "2001:db8:1:2::1", "/").is_ok());
        // Another address of the same /64 is the same client: limited.
        assert!(from(&l, "2001:db8:1:2::ffff:1", "/").is_err());
        assert!(from(&l, "2001:db8:1:2:dead:beef:0:7", "/").is_err());
        // The next /64 is another client.
        assert!(from(&l, "2001:db8:1:3::1", "/").is_ok());
    }

    #[test]
    fn every_route_has_a_ceiling_for_all_clients_together() {
        let l = limiter(&["10.0.0.0/24"]);
        let ceiling = GLOBAL_FACTOR as usize;
        for i in 0..ceiling {
            assert!(from(&l, &format!("2001:db8:{i:x}::1"), "/").is_ok(), "{i}");
        }
        // A fresh network past the ceiling waits; another route is not affected.
        assert!(from(&l, "2001:db8:ffff::1", "/").is_err());
        assert!(from(&l, "198.51.100.77", "/").is_err());
        assert!(from(&l, "2001:db8:fffe::1", "/status").is_ok());
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
