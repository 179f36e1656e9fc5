//! The actix app: routes, shared state, and the helpers every handler uses.

pub mod access;
pub mod api;
pub mod captcha;
pub mod errors;
pub mod headers;
pub mod pages;
pub mod ratelimit;
pub mod returns_kit;
pub mod reward_form;
pub mod reward_text;
pub mod sms;
pub mod staff;
pub mod submission;

use crate::config::Config;
use crate::crypto::receipt::Receipt;
use crate::db::Pool;
use crate::intake::store::{PublicStatus, lookup_status};
use crate::intake::{Intake, Submitted};
use actix_web::{HttpRequest, HttpResponse, web};
use errors::ApiError;
use std::sync::atomic::Ordering;
use tipline_views::Lang;

/// Multipart submissions being read, sealed and committed at once; bounds memory under a flood
/// of large uploads (each holds at most one file's plaintext and its sealed files until COMMIT).
pub const UPLOAD_SLOTS: usize = 4;

/// Refused web forms whose files are being decoded and sealed to be held for the corrected
/// form (issue 16), at once. A form that finds it taken is not made to wait: it comes back
/// asking for its files again. One keeps a flood of refused uploads to one decode at a time.
pub const HOLD_SLOTS: usize = 1;

/// Counters for /metrics. Those that a reporter's action moves are published per period
/// (`access::PeriodCounter`, issue 13): `tipline_tips_created_total` and the like show the
/// number as of the last boundary.
#[derive(Default)]
pub struct Metrics {
    pub tips_created: access::PeriodCounter,
    pub tips_replayed: access::PeriodCounter,
    pub status_checks: access::PeriodCounter,
    pub responses: access::ResponseCounts,
}

impl Metrics {
    /// Counters published every `period` seconds (the digest period).
    pub fn with_period(period: u64) -> Self {
        let m = Self::default();
        m.responses
            .period
            .store(period.max(1) as i64, Ordering::Relaxed);
        m
    }

    fn period(&self) -> i64 {
        match self.responses.period.load(Ordering::Relaxed) {
            p if p > 0 => p,
            _ => 3600,
        }
    }

    /// Counts one reporter's action on `counter`.
    pub fn count(&self, counter: &access::PeriodCounter) {
        counter.add(crate::db::now_unix(), self.period());
    }

    pub fn count_submission(&self, s: &Submitted) {
        match s {
            Submitted::Created(_) => self.count(&self.tips_created),
            Submitted::Replayed(_) => self.count(&self.tips_replayed),
        };
    }

    pub fn render(&self) -> String {
        let (now, p) = (crate::db::now_unix(), self.period());
        let counters = format!(
            "# TYPE tipline_tips_created_total counter\ntipline_tips_created_total {}\n\
             # TYPE tipline_tips_replayed_total counter\ntipline_tips_replayed_total {}\n\
             # TYPE tipline_status_checks_total counter\ntipline_status_checks_total {}\n",
            self.tips_created.published(now, p),
            self.tips_replayed.published(now, p),
            self.status_checks.published(now, p),
        );
        counters + &self.responses.render()
    }
}

/// Keys the staff side uses. The opener exists only where the office private key is present
/// (the police zone).
pub struct StaffKeys {
    pub signer: ed25519_dalek::SigningKey,
    pub opener: Option<crate::crypto::seal::Opener>,
    pub totp_key: crate::crypto::Secret32,
    pub csrf_key: crate::crypto::Secret32,
    /// Login lock rows are keyed by a hash of (username, client network) under this key.
    pub lock_key: crate::crypto::Secret32,
    /// The blind-index subkeys; only beside the office key (police zone), which confirms
    /// what they find.
    pub blind: Option<crate::crypto::blind::BlindKeys>,
    /// Checks that a tip's routing columns are the ones intake bound to it.
    pub route: crate::triage::routing::RouteKey,
}

pub struct AppState {
    pub config: Config,
    pub intake: Intake,
    pub pool: Pool,
    pub captcha: captcha::CaptchaService,
    pub limiter: ratelimit::RateLimiter,
    /// Searches by identifier per officer (issue 15): each one probes the blind index.
    pub searches: crate::triage::search::SearchLimiter,
    pub uploads: std::sync::Arc<tokio::sync::Semaphore>,
    /// Forms that came back decoding files to hold them (`HOLD_SLOTS`), apart from `uploads`:
    /// a flood of refused forms never waits for, nor makes wait, a resident's upload.
    pub holds: std::sync::Arc<tokio::sync::Semaphore>,
    pub metrics: Metrics,
    pub staff: StaffKeys,
    /// The SMS provider whose webhook `/api/v1/sms/inbound` serves; `None` when SMS is off.
    pub sms: Option<std::sync::Arc<dyn crate::notify::sms::Provider>>,
}

impl AppState {
    pub fn office(&self) -> crate::rewards::Office<'_> {
        crate::rewards::Office {
            signer: &self.staff.signer,
            sealer: &self.intake.sealer,
            keys: &self.intake.keys,
            opener: self.staff.opener.as_ref(),
        }
    }

    /// What linking needs, where this node holds the office key.
    pub fn linker(&self) -> Option<crate::triage::links::Linker<'_>> {
        Some(crate::triage::links::Linker {
            signer: &self.staff.signer,
            opener: self.staff.opener.as_ref()?,
            blind: self.staff.blind.as_ref()?,
            route: &self.staff.route,
        })
    }

    pub fn desk(&self) -> crate::triage::work::Desk<'_> {
        crate::triage::work::Desk {
            signer: &self.staff.signer,
            sealer: &self.intake.sealer,
            office: &self.intake.keys.office,
            relay: &self.intake.keys.relay,
            reporter_relay: &self.intake.keys.reporter_relay,
            public_url: &self.config.public_url,
            route: &self.staff.route,
        }
    }
}

/// The office's contact details in the page language.
pub fn office_view(config: &Config, lang: Lang) -> tipline_views::Office {
    let o = &config.office;
    let zh = lang == Lang::Zh;
    let pick = |z: &String, e: &String| if zh { z.clone() } else { e.clone() };
    tipline_views::Office {
        name: pick(&o.name_zh, &o.name_en),
        hotlines: o.hotlines.clone(),
        address: pick(&o.address_zh, &o.address_en),
        hours: pick(&o.hours_zh, &o.hours_en),
        payout: pick(&o.payout_zh, &o.payout_en),
    }
}

/// The page language: `?lang=en` or a form's `lang` field; Chinese by default.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let q = req.query_string();
    let en = q.split('&').any(|kv| kv.eq_ignore_ascii_case("lang=en"));
    if en { Lang::En } else { Lang::Zh }
}

/// Runs database work on the blocking pool with a pooled connection.
pub async fn db<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut crate::db::PooledConn, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    web::block(move || {
        let mut conn = st.pool.get().map_err(|_| ApiError::Unavailable)?;
        // Tips this process left in the intake journal are moved into `tips` first, so every
        // reader of `tips` sees them (free when the journal is empty).
        crate::intake::journal::drain_if_pending(&mut conn).map_err(|e| {
            tracing::error!(error = %e, "intake journal: move failed");
            ApiError::Unavailable
        })?;
        f(&mut conn, &st)
    })
    .await
    .map_err(|_| ApiError::Internal)?
}

/// `db` without moving the intake journal first: for work that never reads `tips` and runs
/// on the submission path (a retry token's lookup), so a flood of submissions is not slowed by
/// moving each other's tips.
pub async fn db_intake<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut crate::db::PooledConn, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    web::block(move || {
        let mut conn = st.pool.get().map_err(|_| ApiError::Unavailable)?;
        f(&mut conn, &st)
    })
    .await
    .map_err(|_| ApiError::Internal)?
}

pub fn rate_limit(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    state.limiter.check(req).map_err(ApiError::RateLimited)
}

/// What the receipt holder learns: the coarse status and the rewards they may see.
pub struct ReporterView {
    pub status: PublicStatus,
    pub rewards: Vec<crate::rewards::reporter::ReporterReward>,
    pub messages: Vec<crate::triage::messages::Message>,
}

/// The receipt holder's lookup. Known and unknown receipts take the same path (one keyed hash,
/// one indexed select), so neither the answer's shape nor its timing says which it was.
pub async fn lookup(
    state: &web::Data<AppState>,
    receipt: Receipt,
) -> Result<Option<ReporterView>, ApiError> {
    state.metrics.count(&state.metrics.status_checks);
    let hash = receipt.hash(&state.intake.keys.peppers.receipt);
    db(state, move |conn, st| {
        let Some(status) = lookup_status(conn, &hash).map_err(|e| {
            tracing::error!(error = %e, "status lookup failed");
            ApiError::Internal
        })?
        else {
            return Ok(None);
        };
        let rewards = crate::rewards::reporter::for_receipt(
            conn,
            &st.intake.keys,
            &status.tip_id,
            &receipt,
            status.receipt_private,
        )?;
        let messages =
            crate::triage::messages::for_reporter(conn, &st.intake.keys, &status.tip_id, &receipt)
                .map_err(|e| {
                    tracing::error!(error = %e, "reading the reporter's messages failed");
                    ApiError::Internal
                })?;
        Ok(Some(ReporterView {
            status,
            rewards,
            messages,
        }))
    })
    .await
}

/// A message from the receipt holder to the police; unknown receipts get the status 404.
/// `once` is a message form's one-time token (its fingerprint and hour-rounded expiry), spent
/// with the message: `Ok(false)` when it was already spent, so a reload stores nothing twice.
pub async fn reporter_message(
    state: &web::Data<AppState>,
    receipt: Receipt,
    body: String,
    once: Option<(Vec<u8>, i64)>,
) -> Result<bool, ApiError> {
    let hash = receipt.hash(&state.intake.keys.peppers.receipt);
    let code = if body.trim().is_empty() {
        "required"
    } else {
        "too_long"
    };
    db(state, move |conn, st| {
        use diesel::Connection;
        conn.transaction::<_, ApiError, _>(|c| {
            crate::audit::lock_head_on_sqlite(c).map_err(|_| ApiError::Internal)?;
            let found = lookup_status(c, &hash).map_err(|_| ApiError::Internal)?;
            let tip = found.ok_or(ApiError::ReceiptUnknown)?;
            if let Some((fingerprint, expires)) = &once
                && !crate::intake::store::spend_once(c, fingerprint, *expires)
                    .map_err(|_| ApiError::Internal)?
            {
                return Ok(false);
            }
            let s = crate::triage::messages::Sealing {
                sealer: &st.intake.sealer,
                office: &st.intake.keys.office,
                relay: &st.intake.keys.relay,
                public_url: &st.config.public_url,
            };
            crate::triage::messages::append(
                c,
                &s,
                &tip.tip_id,
                crate::triage::messages::Direction::Reporter,
                None,
                &body,
            )
            .map_err(|e| match e {
                crate::triage::messages::MessageError::Length => {
                    ApiError::Validation(vec![crate::intake::FieldError {
                        field: "body",
                        code,
                    }])
                }
                other => {
                    tracing::error!(error = %other, "storing a reporter message failed");
                    ApiError::Internal
                }
            })?;
            Ok(true)
        })
    })
    .await
}

/// Path and query values that name database rows. Real ids are 32 hex digits, so a value with
/// a NUL or longer than any id names nothing; but PostgreSQL refuses NUL in text and indexes
/// only so long a value (the audit log's object), so such a value is made printable and cut
/// short first. It still names nothing, and the refusal is still audited.
pub(crate) fn key(raw: String) -> String {
    const MAX: usize = 64;
    if raw.len() <= MAX && !raw.contains('\0') {
        return raw;
    }
    let mut out = raw
        .chars()
        .take(MAX)
        .collect::<String>()
        .replace('\0', "\u{fffd}");
    if raw.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Rekeys a receipt; unknown receipts get the same 404 as a status lookup.
pub async fn rekey(state: &web::Data<AppState>, old: Receipt) -> Result<Receipt, ApiError> {
    db(state, move |conn, st| {
        crate::intake::rekey::rekey(conn, &st.intake.keys, &st.intake.sealer, &old)?
            .ok_or(ApiError::ReceiptUnknown)
    })
    .await
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

pub fn hour_iso(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:00:00Z",
        unix.rem_euclid(86_400) / 3600
    )
}

/// The hour in Beijing time (UTC+8, no daylight saving), for people.
pub fn hour_local(unix: i64) -> String {
    let local = unix + 8 * 3600;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}",
        local.rem_euclid(86_400) / 3600
    )
}

/// A resource whose other methods get 405 with an `Allow` header (not the 404 of unknown paths).
pub(crate) fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        let mut resp = if req.path().starts_with("/api/") {
            actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed)
        } else {
            HttpResponse::MethodNotAllowed().finish()
        };
        resp.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        resp
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_for(crate::ferry::Mode::Single)(cfg)
}

/// The routes of a node in `mode` (issue 18): an intake node has no staff routes at all, a
/// police node no public ones; both 404 the other's paths like any unknown path.
pub fn configure_for(mode: crate::ferry::Mode) -> impl Fn(&mut web::ServiceConfig) + Clone {
    use crate::ferry::Mode;
    let public = mode != Mode::Police;
    let staff = mode != Mode::Intake;
    move |cfg: &mut web::ServiceConfig| {
        if public {
            cfg.service(
                resource("/", "GET, POST")
                    .route(web::get().to(pages::index))
                    .route(web::post().to(pages::submit_form)),
            )
            .service(
                resource("/status", "GET, POST")
                    .route(web::get().to(pages::status_form))
                    .route(web::post().to(pages::status_check)),
            )
            .service(resource("/status/rekey", "POST").route(web::post().to(pages::rekey_form)))
            .service(resource("/status/message", "POST").route(web::post().to(pages::message_form)))
            .service(resource("/captcha/{file}", "GET").route(web::get().to(pages::captcha_media)));
        }
        cfg.service(resource("/static/style.css", "GET").route(web::get().to(pages::stylesheet)))
            .service(resource("/openapi.json", "GET").route(web::get().to(api::openapi)));
        if staff {
            cfg.service(web::scope("/staff").configure(staff::configure_pages));
        }
        let mut v1 = web::scope("/api/v1")
            .service(resource("/meta", "GET").route(web::get().to(api::meta)))
            .service(resource("/openapi.json", "GET").route(web::get().to(api::openapi)));
        if public {
            v1 = v1
                .service(resource("/captcha", "GET").route(web::get().to(api::captcha)))
                .service(resource("/tips", "POST").route(web::post().to(api::create_tip)))
                .service(resource("/status", "POST").route(web::post().to(api::status)))
                .service(resource("/status/rekey", "POST").route(web::post().to(api::rekey)))
                .service(resource("/messages", "POST").route(web::post().to(api::message)))
                .service(resource("/sms/inbound", "POST").route(web::post().to(sms::inbound)));
        }
        if staff {
            v1 = v1.service(web::scope("/staff").configure(staff::configure_api));
        }
        cfg.service(v1).default_service(web::to(pages::not_found));
    }
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        pool.get()
            .ok()
            .and_then(|mut c| {
                diesel::connection::SimpleConnection::batch_execute(&mut *c, "SELECT 1").ok()
            })
            .is_some()
    })
    .await
    .unwrap_or(false);
    if ok {
        HttpResponse::Ok().body("ok")
    } else {
        HttpResponse::ServiceUnavailable().body("database unavailable")
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // Saturation: uploads beyond the slots wait up to 30 s and then get 503; decodes beyond
    // the gate wait inside their upload slot.
    let uploading = UPLOAD_SLOTS.saturating_sub(state.uploads.available_permits());
    let decoding = crate::intake::decode_gate::DECODES.in_use();
    let gauges = format!(
        "# TYPE tipline_upload_slots_in_use gauge
tipline_upload_slots_in_use {uploading}
         # TYPE tipline_image_decodes_in_use gauge
tipline_image_decodes_in_use {decoding}
"
    );
    // Split zones: bundles waiting, last sequence per stream, oldest unacknowledged tip.
    let ferry = if state.config.split.mode == crate::ferry::Mode::Single {
        String::new()
    } else {
        let st = state.clone();
        web::block(move || {
            let mut c = st.pool.get().ok()?;
            crate::ferry::pass::status(&mut c, &st.config)
                .ok()
                .map(|s| s.render())
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render() + &gauges + &ferry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_and_free_of_nul() {
        let id = "0f3c9d2e8a7b6c5d4e3f2a1b0c9d8e7f";
        assert_eq!(key(id.into()), id);
        assert_eq!(key("a\0b".into()), "a\u{fffd}b");
        let long = key("x".repeat(5000));
        assert_eq!(long.chars().count(), 65);
        assert!(long.ends_with('…'));
        assert_eq!(key("西".repeat(64)), "西".repeat(64));
    }

    #[test]
    fn hours_format() {
        assert_eq!(hour_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(hour_iso(1_795_906_800), "2026-11-28T23:00:00Z");
        assert_eq!(hour_local(1_795_906_800), "2026-11-29 07");
    }
}
