//! Starting the portal: configuration, database, migrations, keys, then the HTTP listeners.

use crate::config::Config;
use crate::crypto::seal::Sealer;
use crate::db::{self, Backend, DbError, DbTarget};
use crate::intake::writer::TipStore;
use crate::intake::{Intake, store};
use crate::keys::{KeyCheckError, KeyOutcome, load_or_init};
use crate::web::{
    self, AppState, Metrics, access, captcha::CaptchaService, headers, ratelimit::RateLimiter,
};
use actix_web::dev::Service;
use actix_web::{App, HttpServer, web as aw};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyCheckError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("random number generator failed")]
    Random,
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Zone(String),
}

/// Connects, migrates, seeds the units and loads (or, on first start, creates) the keys.
pub fn prepare(
    config: &Config,
) -> Result<(DbTarget, Arc<crate::crypto::keyring::Keyring>), StartError> {
    let target = DbTarget::parse(&config.database_url)?;
    let mut conn = target.connect()?;
    // One lock over all three steps: nodes started together must not both seed or both record
    // (or generate) the keys of a fresh database.
    let outcome = db::under_start_lock(&mut conn, |conn| -> Result<_, StartError> {
        db::migrate(conn)?;
        if crate::triage::routing::seed_units(conn)? {
            tracing::info!("seeded the county brigade and one police station per township");
        }
        Ok(load_or_init(
            conn,
            &config.keys_dir,
            config.keys_passphrase_file.as_deref(),
        )?)
    })?;
    let keys = match outcome {
        KeyOutcome::Generated(k) => {
            let dir =
                std::fs::canonicalize(&config.keys_dir).unwrap_or_else(|_| config.keys_dir.clone());
            println!(
                "Generated new keys in {}.\n\
                 BACK THEM UP NOW, separately from the database and from {}: without them no stored tip can be opened.\n\
                 The database only records their fingerprints.",
                dir.display(),
                config.data_dir.display()
            );
            k
        }
        KeyOutcome::Adopted(k) => {
            println!(
                "Recorded the keys in {} for this new database.",
                config.keys_dir.display()
            );
            k
        }
        KeyOutcome::Matched(k) => k,
    };
    check_zone(config, &keys)?;
    if config.split.mode == crate::ferry::Mode::Police {
        crate::keys::record_police_node(&mut conn, &keys)?;
    }
    Ok((target, Arc::new(keys)))
}

/// A node serves only the zone its keys dir was split for (issue 18): an intake node that
/// found `office.key` or the police peppers would defeat the split.
fn check_zone(config: &Config, keys: &crate::crypto::keyring::Keyring) -> Result<(), StartError> {
    use crate::crypto::keyring::Zone;
    use crate::ferry::Mode;
    let mode = config.split.mode;
    let ok = match mode {
        Mode::Single => keys.zone == Zone::Single,
        Mode::Intake => keys.zone == Zone::Intake && keys.office_opener().is_none(),
        Mode::Police => keys.zone == Zone::Police,
    };
    if ok {
        return Ok(());
    }
    Err(StartError::Zone(format!(
        "TIPLINE_MODE is {} but the keys dir {} is for the {} zone{}. Split a complete keys dir \
         with `tipline keys split` and give each node its own part (docs/operator-guide.md \
         section 12).",
        mode.as_str(),
        config.keys_dir.display(),
        keys.zone.as_str(),
        if mode == Mode::Intake && keys.office_opener().is_some() {
            " and holds office.key, which must never be at the intake node"
        } else {
            ""
        }
    )))
}

/// The HPKE public keys of the other zone's nodes this node trusts (a police node opens the
/// epochs its intake nodes sealed; an intake node opens the reply rows its police node sealed).
pub fn trusted_senders(
    target: &DbTarget,
) -> Result<Vec<crate::crypto::seal::KemPublic>, StartError> {
    use crate::db::schema::ferry_nodes;
    use diesel::prelude::*;
    let mut c = target.connect()?;
    let rows: Vec<Vec<u8>> = ferry_nodes::table
        .select(ferry_nodes::kem_public)
        .load(&mut c)
        .map_err(DbError::from)?;
    Ok(rows
        .iter()
        .filter_map(|b| crate::crypto::seal::kem_public_from_bytes(b).ok())
        .collect())
}

pub async fn serve(config: Config) -> Result<(), StartError> {
    let (target, keys) = prepare(&config)?;
    // A ledger file for the townships' returns that does not read stops the start (issue 20).
    crate::returns::ledger::check().map_err(StartError::Transport)?;
    if !config.captcha {
        tracing::warn!(
            "TIPLINE_CAPTCHA=off: captchas are disabled. Development and tests only, never production."
        );
        eprintln!("WARNING: captchas are OFF (TIPLINE_CAPTCHA=off). Development and tests only.");
    }
    if !config.office.unset.is_empty() {
        let unset = config.office.unset.join(", ");
        tracing::warn!(
            %unset,
            "the office's contact details are placeholders: residents see no number to call or place to go until these are set"
        );
        eprintln!(
            "WARNING: office contact details not set ({unset}); the public pages show placeholders."
        );
    }
    let workers = if config.workers > 0 {
        config.workers
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    };
    crate::intake::decode_gate::DECODES.set_slots(config.image_decodes);
    let pool = db::pool(&target, (workers as u32 * 4).max(8))?;
    let store = match target.backend {
        Backend::Sqlite | Backend::Postgres => TipStore::start(&target, true)?,
    };
    crate::intake::journal::spawn_mover(&target)?;
    crate::intake::journal::spawn_checkpointer(&target)?;
    let sealer = Arc::new(
        Sealer::new(
            keys.node.clone(),
            Duration::from_secs(config.epoch_seconds.max(1)),
            10_000,
        )
        .follow_rotations(
            keys.dir.clone(),
            vec![
                (crate::crypto::keyring::OFFICE, keys.office.key_id.clone()),
                (crate::crypto::keyring::RELAY, keys.relay.key_id.clone()),
            ],
        )
        .follow_only_recorded({
            // Its own connection, not the pool's: sealing may happen while a request holds a
            // pooled connection. One small query per new epoch.
            let target = target.clone();
            Box::new(move |kind, key_id| {
                target
                    .connect()
                    .and_then(|mut c| crate::keys::is_recorded(&mut c, kind, key_id))
                    .unwrap_or(false)
            })
        }),
    );
    let opener = match config.split.mode {
        crate::ferry::Mode::Single => keys.office_opener(),
        _ => {
            let peers = trusted_senders(&target)?;
            keys.set_peers(peers.clone());
            let source = target.clone();
            keys.set_peer_source(std::sync::Arc::new(move || trusted_senders(&source).ok()));
            // A node trusted later (`ferry trust` while this node serves) is looked up when a
            // seal opens with none of the known ones: no restart (the guide's second intake
            // node).
            let target = target.clone();
            keys.office_opener_trusting(peers)
                .map(|o| o.reload_senders_with(Box::new(move || trusted_senders(&target).ok())))
        }
    };
    let staff = web::StaffKeys {
        signer: keys.audit_signer(),
        blind: opener
            .as_ref()
            .map(|_| crate::crypto::blind::BlindKeys::new(&keys.peppers.blind_index)),
        opener,
        totp_key: crate::crypto::subkey(&keys.peppers.token, "totp-secrets"),
        csrf_key: crate::crypto::subkey(&keys.peppers.token, "csrf"),
        route: crate::triage::routing::RouteKey::new(&keys),
        lock_key: crate::crypto::subkey(&keys.peppers.token, "login-network"),
    };
    let sms = config.sms.as_ref().map(crate::notify::sms::provider);
    if let Some(p) = &sms {
        tracing::info!(provider = p.name(), "SMS webhook and sending enabled");
        if !config.public_url.starts_with("https://") {
            tracing::warn!(
                "TIPLINE_PUBLIC_URL is not https: the SMS webhook is checked against it, and the \
                 provider should call it over HTTPS"
            );
        }
    }
    let state = aw::Data::new(AppState {
        staff,
        captcha: CaptchaService::new(
            crate::crypto::subkey(&keys.peppers.token, "captcha"),
            config.captcha,
        ),
        searches: Default::default(),
        limiter: RateLimiter::new(config.rate_limit, config.trusted_proxies.clone())
            .map_err(|_| StartError::Random)?,
        intake: Intake {
            keys,
            sealer,
            store,
        },
        pool: pool.clone(),
        uploads: Arc::new(tokio::sync::Semaphore::new(web::UPLOAD_SLOTS)),
        holds: Arc::new(tokio::sync::Semaphore::new(web::HOLD_SLOTS)),
        metrics: Metrics::with_period(config.digest_seconds),
        config: config.clone(),
        sms: sms.clone(),
    });

    // The outbox worker: delivers mail and SMS; any number of nodes may run one.
    let transports = std::sync::Arc::new(crate::notify::Transports {
        mail: match &config.smtp_url {
            Some(url) => Some(
                crate::notify::mail::Mailer::new(url, &config.mail_from)
                    .map_err(StartError::Transport)?,
            ),
            None => None,
        },
        sms: sms.map(|p| {
            Box::new(crate::notify::sms::Outgoing(p)) as Box<dyn crate::notify::SmsSender>
        }),
    });
    let worker_state = state.clone();
    let worker_id =
        hex::encode(crate::crypto::random_bytes::<8>().map_err(|_| StartError::Random)?);
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            let st = worker_state.clone();
            let t = transports.clone();
            let w = worker_id.clone();
            let _ = aw::block(move || {
                // Epoch keys live their minute, not until the next seal (issue 13, item 10).
                st.intake.sealer.drop_expired();
                let relay = st.intake.keys.relay_opener()?;
                let mut c = st.pool.get().ok()?;
                let worker = crate::notify::outbox::Worker {
                    relay: &relay,
                    relay_to: &st.intake.keys.relay,
                    sealer: &st.intake.sealer,
                    transports: &t,
                    id: &w,
                    skip: if st.config.split.mode == crate::ferry::Mode::Police {
                        "reporter"
                    } else {
                        ""
                    },
                };
                if let Err(e) = crate::notify::outbox::run_once(&mut c, &worker) {
                    tracing::error!(error = %e, "outbox pass failed");
                }
                Some(())
            })
            .await;
        }
    });

    // The digest pass (issue 13): what a reporter's action triggers, done once a period at a
    // random point of it, never seconds after the action: staff notices (how many new tips,
    // how many tips with a reporter's message, never which), the blind index and its
    // `tip.index` entries, deferred audit entries, and the intake counters in /metrics.
    let digest = state.clone();
    let period = config.digest_seconds.max(1);
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(next_digest_in(period, crate::db::now_unix())).await;
            let st = digest.clone();
            let _ = aw::block(move || {
                let mut c = st.pool.get().ok()?;
                if let Err(e) = crate::notify::staff::announce(
                    &mut c,
                    &st.intake.sealer,
                    &st.intake.keys.relay,
                    &st.config.public_url,
                ) {
                    tracing::error!(error = %e, "announcing new tips failed");
                }
                // The blind index, where this node holds the office key (police zone).
                if let Some(l) = st.linker()
                    && let Err(e) = crate::triage::links::index_pending(&mut c, &l)
                {
                    tracing::error!(error = %e, "indexing tips failed");
                }
                if let Err(e) =
                    crate::audit::flush_deferred(&mut c, &st.staff.signer, crate::db::now_unix())
                {
                    tracing::error!(error = %e, "chaining deferred audit entries failed");
                }
                Some(())
            })
            .await;
        }
    });

    // The IMAP poller: emailed tips (one node at a time on PostgreSQL, see intake::imap).
    if let Some(imap) = config.imap.clone() {
        let st = state.clone();
        let target = target.clone();
        actix_web::rt::spawn(async move {
            let desk = crate::intake::email::MailDesk {
                intake: &st.intake,
                pool: &st.pool,
                config: &st.config,
            };
            crate::intake::imap::Poller::new(imap, target)
                .run(desk)
                .await;
        });
    }

    // Housekeeping: expired retry tokens and spent captchas; rewards past their claim period;
    // the monthly report when it is due.
    // And every hour, the audit head anchored outside the database (audit::anchor).
    let house = state.clone();
    let last_anchor = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN));
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let st = house.clone();
            let last_anchor = last_anchor.clone();
            let _ = aw::block(move || {
                let mut c = st.pool.get().ok()?;
                if let Some(dir) = &st.config.audit_anchor_dir {
                    use std::sync::atomic::Ordering;
                    let now = crate::db::now_unix();
                    let last = last_anchor.load(Ordering::Relaxed);
                    if now.saturating_sub(last) >= crate::audit::anchor::EVERY_SECONDS {
                        match crate::audit::anchor::anchor_now(&mut c, dir) {
                            Ok(_) => last_anchor.store(now, Ordering::Relaxed),
                            Err(e) => {
                                tracing::error!(error = %e, "anchoring the audit head failed")
                            }
                        }
                    }
                }
                let _ = store::purge_expired(&mut c);
                if let Err(e) = crate::notify::contact::purge_expired(&mut c) {
                    tracing::error!(error = %e, "purging contact envelopes failed");
                }
                if let Err(e) = crate::rewards::payouts::expire_due(&mut c, &st.office()) {
                    tracing::error!(error = %e, "expiring rewards failed");
                }
                let office = st.office();
                let mailing = crate::reports::mailer::Mailing {
                    office: &office,
                    to: &st.config.report_mail_to,
                    report_day: st.config.report_day,
                    public_url: &st.config.public_url,
                };
                match crate::reports::mailer::send_due(&mut c, &mailing) {
                    Ok(Some(month)) => {
                        tracing::info!(%month, "monthly report queued for the office")
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "monthly report failed"),
                }
                // Issue 20: the townships' liaisons are reminded of the return on the 28th.
                if let Err(e) = crate::returns::deadlines::remind_due(
                    &mut c,
                    &st.intake.sealer,
                    &st.intake.keys.relay,
                    st.config.report_day,
                    crate::db::now_unix(),
                ) {
                    tracing::error!(error = %e, "township return reminders failed");
                }
                Some(())
            })
            .await;
        }
    });

    // The ferry (split zones): import what arrived, export what waits.
    if config.split.mode != crate::ferry::Mode::Single && config.split.every_seconds > 0 {
        let st = state.clone();
        let every = config.split.every_seconds;
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(every));
            loop {
                tick.tick().await;
                let st = st.clone();
                let _ = aw::block(move || {
                    let mut c = st.pool.get().ok()?;
                    if let Err(e) = crate::ferry::pass::pass(&mut c, &st.config, &st.intake.keys) {
                        tracing::error!(error = %e, "ferry pass failed");
                    }
                    Some(())
                })
                .await;
            }
        });
    }
    if config.split.mode != crate::ferry::Mode::Single {
        println!(
            "split zones: this node is the {} node",
            config.split.mode.as_str()
        );
    }

    let mode = config.split.mode;
    let https = config.public_url.starts_with("https://");
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(headers::security_headers(https))
            .wrap_fn(|req, srv| {
                let started = Instant::now();
                let method = req.method().to_string();
                let route = req.match_pattern().unwrap_or_else(|| "-".into());
                let state = req.app_data::<aw::Data<AppState>>().cloned();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    if let Some(state) = state {
                        let ms = started.elapsed().as_millis() as u64;
                        let status = res.status().as_u16();
                        access::record(&state.metrics.responses, &method, &route, status, ms);
                    }
                    Ok(res)
                }
            })
            .configure(web::configure_for(mode))
    })
    .workers(workers)
    .bind(&config.listen)
    .map_err(|e| StartError::Bind(config.listen.clone(), e))?;
    for addr in server.addrs() {
        println!("tipline listening on http://{addr}");
    }
    let server = server.run();

    if let Some(admin) = &config.admin_listen {
        let admin_state = state.clone();
        let admin_server = HttpServer::new(move || {
            App::new()
                .app_data(admin_state.clone())
                .route("/healthz", aw::get().to(web::healthz))
                .route("/metrics", aw::get().to(web::metrics))
        })
        .workers(1)
        .bind(admin)
        .map_err(|e| StartError::Bind(admin.clone(), e))?;
        for addr in admin_server.addrs() {
            println!("admin (healthz, metrics) on http://{addr}");
        }
        actix_web::rt::spawn(admin_server.run());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server
        .await
        .map_err(|e| StartError::Bind(config.listen.clone(), e))
}

/// How long until the next digest pass: a random point in the next period (aligned to the
/// clock, so passes do not drift towards the moment the server started). Short periods (tests)
/// just wait the period.
fn next_digest_in(period: u64, now: i64) -> Duration {
    if period < 60 {
        return Duration::from_secs(period);
    }
    let p = period as i64;
    let jitter = crate::crypto::random_bytes::<8>()
        .map(|b| (u64::from_be_bytes(b) % period) as i64)
        .unwrap_or(p / 2);
    let start = now - now.rem_euclid(p) + p;
    Duration::from_secs((start + jitter - now).max(1) as u64)
}
