//! Test kit: starts the real `tipline` binary on a random port with a fresh data dir, keys dir
//! and database (SQLite by default; PostgreSQL when TEST_DATABASE_URL points at a server, one
//! new database per test), and offers the helpers the tests share.
#![allow(dead_code)]

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tipline::crypto::keyring::Keyring;
use tipline::db::{DbConn, DbTarget};
use tipline::web::captcha::CaptchaService;

mod load;
mod mail;
mod pages;
mod provider;
#[allow(unused_imports)]
pub use load::*;
#[allow(unused_imports)]
pub use mail::*;
#[allow(unused_imports)]
pub use pages::*;
#[allow(unused_imports)]
pub use provider::*;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub output: Arc<Mutex<String>>,
    pub client: reqwest::Client,
    pub env: Vec<(String, String)>,
}

pub fn pg_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A fresh database URL: a new PostgreSQL database, or a SQLite file in `dir`.
pub fn fresh_database(dir: &Path) -> String {
    match pg_admin_url() {
        Some(admin) => {
            let name = format!(
                "tipline_test_{}",
                hex::encode(tipline::crypto::random_bytes::<6>().unwrap())
            );
            let mut conn = PgConnection::establish(&admin).expect("connect to TEST_DATABASE_URL");
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            match admin.rfind('/') {
                Some(i) => format!("{}/{name}", &admin[..i]),
                None => panic!("TEST_DATABASE_URL needs a database name"),
            }
        }
        None => format!("sqlite://{}/data/tipline.db", dir.display()),
    }
}

pub struct Options {
    pub captcha: bool,
    pub rate_limit: &'static str,
    pub extra_env: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            captcha: false,
            rate_limit: "off",
            extra_env: Vec::new(),
        }
    }
}

/// The environment every test node gets: its database, captcha and rate-limit switches, two
/// workers, and the test's extra variables.
fn node_env(db_url: &str, opts: &Options) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("TIPLINE_DATABASE_URL".into(), db_url.to_string()),
        (
            "TIPLINE_CAPTCHA".into(),
            if opts.captcha { "on" } else { "off" }.into(),
        ),
        ("TIPLINE_RATE_LIMIT".into(), opts.rate_limit.into()),
        ("TIPLINE_WORKERS".into(), "2".into()),
        // The digest pass (notices, blind index, deferred audit, intake counters) runs hourly at a
        // random point in production; tests that wait for it run it every two seconds.
        // tests/anonymity.rs puts the production hour back.
        ("TIPLINE_DIGEST_SECONDS".into(), "2".into()),
    ];
    for (k, v) in &opts.extra_env {
        env.push((k.to_string(), v.clone()));
    }
    env
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tipline")
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(dir.path());
        let env = node_env(&db_url, &opts);
        Self::spawn(dir, db_url, env).await.expect("server starts")
    }

    /// Two nodes started at the same moment on one fresh database (so their migrations race)
    /// and one keys dir, each in its own working dir: a scale-out deployment in miniature.
    pub async fn start_pair(opts: Options) -> (Server, Server) {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let db_url = fresh_database(dir_a.path());
        let mut env = node_env(&db_url, &opts);
        let keys = dir_a.path().join("keys").display().to_string();
        env.push(("TIPLINE_KEYS_DIR".into(), keys));
        let (a, b) = tokio::join!(
            Self::spawn(dir_a, db_url.clone(), env.clone()),
            Self::spawn(dir_b, db_url, env)
        );
        (a.expect("node A starts"), b.expect("node B starts"))
    }

    /// Starts the binary in `dir` with `env`; `Err(output)` when it exits instead of listening.
    pub async fn spawn(
        dir: tempfile::TempDir,
        db_url: String,
        env: Vec<(String, String)>,
    ) -> Result<Server, String> {
        let mut cmd = Command::new(bin());
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TIPLINE_LISTEN", "127.0.0.1:0")
            .env("TIPLINE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("tipline listening on ") {
                        let _ = tx.send(addr.to_string());
                    }
                    out.lock().unwrap().push_str(&line);
                    out.lock().unwrap().push('\n');
                }
            });
        }
        drop(tx);
        let base =
            tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).ok())
                .await
                .unwrap();
        let Some(base) = base else {
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            return Err(output.lock().unwrap().clone());
        };
        // reqwest has no built-in crypto provider in this build (see notify::sms): install ring
        // for every client this test process builds.
        tipline::notify::sms::install_tls_provider();
        // No idle connection reuse: the server may close an idle keep-alive connection while a
        // test runs a slow CLI step, and reusing it would fail the next request.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Ok(Server {
            child,
            base,
            dir,
            db_url,
            output,
            client,
            env,
        })
    }

    /// Stops the server and starts it again on the same data, keys and database.
    pub async fn restart(mut self) -> Result<Server, String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let (db_url, env) = (self.db_url.clone(), self.env.clone());
        drop(self);
        Self::spawn(dir, db_url, env).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn keys_dir(&self) -> PathBuf {
        match self.env.iter().find(|(k, _)| k == "TIPLINE_KEYS_DIR") {
            Some((_, dir)) => PathBuf::from(dir),
            None => self.dir.path().join("keys"),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The admin listener's base URL (`TIPLINE_ADMIN_LISTEN=127.0.0.1:0`), from the line the
    /// server prints once it listens.
    pub async fn admin_url(&self) -> String {
        for _ in 0..50 {
            let found = self.log().lines().find_map(|l| {
                l.strip_prefix("admin (healthz, metrics) on ")
                    .map(str::to_string)
            });
            if let Some(url) = found {
                return url;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no admin listener address printed: {}", self.log());
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let admin = self.admin_url().await;
        let r = self
            .client
            .get(format!("{admin}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }

    pub fn db(&self) -> DbConn {
        let mut conn = DbTarget::parse(&self.db_url).unwrap().connect().unwrap();
        // Tips the server committed into the intake journal (issue 19) and has not moved yet
        // are moved now, so a test reads `tips` as staff would.
        tipline::intake::journal::drain(&mut conn).unwrap();
        conn
    }

    pub fn keyring(&self) -> Keyring {
        Keyring::load(&self.keys_dir()).unwrap()
    }

    pub fn captcha_service(&self) -> CaptchaService {
        let ring = self.keyring();
        CaptchaService::new(
            tipline::crypto::subkey(&ring.peppers.token, "captcha"),
            true,
        )
    }

    /// Solves a captcha id the way only a holder of the keys dir can.
    pub fn solve(&self, id: &str) -> String {
        let answer = self
            .captcha_service()
            .answer(id, tipline::db::now_unix())
            .unwrap();
        String::from_utf8(answer).unwrap()
    }

    pub async fn captcha(&self) -> (String, String) {
        let v: serde_json::Value = self
            .client
            .get(self.url("/api/v1/captcha"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        let answer = self.solve(&id);
        (id, answer)
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .unwrap()
            .n
    }

    /// Every byte the server has written under its data dir (the SQLite file, WAL, anything).
    pub fn data_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.data_dir()) {
            for e in entries.flatten() {
                if let Ok(b) = std::fs::read(e.path()) {
                    all.extend_from_slice(&b);
                }
            }
        }
        all
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tip(description: &str) -> serde_json::Value {
    serde_json::json!({
        "category": "trafficking",
        "township": "xidu",
        "description": description,
        "location": "西渡镇某村三组",
        "people": "绰号“老三”",
    })
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn is_receipt(s: &str) -> bool {
    s.len() == 24
        && s.split('-').count() == 5
        && s.split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit()))
}

impl Server {
    /// Everything the database holds, as bytes a thief would get: the SQLite files, or on
    /// PostgreSQL every row of every table as text (bytea shows as hex).
    pub fn database_dump(&self) -> Vec<u8> {
        if !self.db_url.starts_with("postgres") {
            return self.data_bytes();
        }
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut conn = self.db();
        let mut out = Vec::new();
        for table in [
            "keyring",
            "units",
            "unit_townships",
            "tips",
            "sealed_keys",
            "attachments",
            "attachment_chunks",
            "idempotency",
            "spent_tokens",
            "staff",
            "sessions",
            "api_tokens",
            "audit_log",
            "tip_events",
            "tip_notes",
            "messages",
            "outbox",
            "blind_index",
            "cases",
            "case_tips",
        ] {
            let rows = diesel::sql_query(format!("SELECT CAST(t AS TEXT) AS v FROM {table} t"))
                .load::<Row>(&mut conn)
                .unwrap();
            for r in rows {
                out.extend_from_slice(r.v.as_bytes());
                out.push(b'\n');
            }
        }
        out
    }

    /// True if `secret` appears in the database dump, raw or hex-encoded.
    pub fn database_holds(&self, secret: &[u8]) -> bool {
        let dump = self.database_dump();
        contains(&dump, secret) || contains(&dump, hex::encode(secret).as_bytes())
    }
}

/// A small JPEG carrying an EXIF block with a GPS-looking marker.
pub fn jpeg_with_exif(marker: &str) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    // APP1 "Exif\0\0" + a little-endian TIFF header with an empty IFD, then the marker.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(marker.as_bytes());
    let len = (exif.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

impl Server {
    /// Runs a `tipline` subcommand against this server's database and keys.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_command(args).output().unwrap()
    }

    /// A `tipline` subcommand against this server's database and keys, not yet started.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a `tipline` subcommand with `input` on its standard input and `extra` added to the
    /// server's environment.
    pub fn cli_with_input(
        &self,
        args: &[&str],
        input: &[u8],
        extra: &[(&str, &str)],
    ) -> std::process::Output {
        use std::io::Write;
        let mut cmd = self.cli_command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        // The child may stop reading early (an oversized message): a broken pipe is fine.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        let _ = writer.join();
        out
    }

    /// Creates a user from the CLI (with a final password, `--keep-password`) and returns a
    /// bearer token for them with every scope (the role still limits it).
    pub fn staff_token(&self, username: &str, role: &str, unit: Option<&str>) -> String {
        let pw = self.dir.path().join(format!("{username}.pw"));
        std::fs::write(&pw, "correct horse battery staple\n").unwrap();
        let mut args = vec![
            "user",
            "add",
            "--username",
            username,
            "--role",
            role,
            "--password-file",
            pw.to_str().unwrap(),
            "--keep-password",
        ];
        if let Some(u) = unit {
            args.extend(["--unit", u]);
        }
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self.cli(&["token", "issue", "--username", username, "--scope", "all"]);
        assert!(
            out.status.success(),
            "token issue: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    }

    pub async fn staff_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn staff_post(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Files a public tip and returns (tip id, receipt) for it.
    pub async fn public_tip(
        &self,
        category: &str,
        township: &str,
        description: &str,
    ) -> (String, String) {
        self.public_tip_with(&serde_json::json!({"category": category, "township": township, "description": description}))
            .await
    }

    /// Files a public tip with any of the API's fields and returns (tip id, receipt) for it.
    pub async fn public_tip_with(&self, tip: &serde_json::Value) -> (String, String) {
        let r = self.post_json("/api/v1/tips", tip).await;
        assert_eq!(r.status(), 201);
        let receipt = r.json::<serde_json::Value>().await.unwrap()["receipt"]
            .as_str()
            .unwrap()
            .to_string();
        let hash = tipline::crypto::receipt::Receipt::parse(&receipt)
            .unwrap()
            .hash(&self.keyring().peppers.receipt);
        use tipline::db::schema::tips;
        let mut conn = self.db();
        let id: String = tips::table
            .filter(tips::receipt_hash.eq(&hash.0[..]))
            .select(tips::id)
            .first(&mut conn)
            .unwrap();
        (id, receipt)
    }

    /// Moves a tip from received to verified, as `officer`.
    pub async fn verify_tip(&self, officer: &str, tip: &str) {
        for to in ["assigned", "investigating", "verified"] {
            let r = self
                .staff_post(
                    officer,
                    &format!("/api/v1/staff/tips/{tip}/transition"),
                    &serde_json::json!({ "to": to }),
                )
                .await;
            assert_eq!(r.status(), 204, "transition to {to}");
        }
    }
}
