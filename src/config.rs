//! One Config: built-in defaults, then `tipline.toml` (if present), then `TIPLINE_*` variables.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0} is not valid TOML: {1}")]
    Toml(PathBuf, String),
    #[error("{name} has an invalid value: {why}")]
    Invalid { name: &'static str, why: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    Off,
    PerMinute(u32),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub keys_dir: PathBuf,
    /// A file holding the passphrase of protected key files (never the passphrase itself).
    pub keys_passphrase_file: Option<PathBuf>,
    /// Where the audit head is anchored every hour (`audit-anchors.log`, append only): meant to
    /// be another machine's mount, out of reach of whoever can write to the database.
    pub audit_anchor_dir: Option<PathBuf>,
    pub listen: String,
    pub admin_listen: Option<String>,
    pub public_url: String,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub captcha: bool,
    pub rate_limit: RateLimit,
    /// Largest single attachment, bytes.
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
    /// Largest image, in pixels, kept after re-encoding.
    pub max_image_pixels: u64,
    /// Images decoded at once in this process (about 190 MB each for a 48-megapixel photo).
    pub image_decodes: usize,
    /// Seconds an epoch key lives before a new one is sealed.
    pub epoch_seconds: u64,
    /// Hours an initial staff password (from `user add` or `user reset-password`) stays usable
    /// unused (`TIPLINE_INITIAL_PASSWORD_HOURS`, 72 by default, at most 720).
    pub initial_password_hours: i64,
    /// Seconds between digest passes: staff notices of new tips and reporters' messages, the
    /// blind index, deferred audit entries and the intake counters in /metrics. An hour by
    /// default, each pass at a random point of its period: work a reporter's action triggers
    /// must not happen seconds after it (issue 13). Tests shorten it.
    pub digest_seconds: u64,
    pub workers: usize,
    /// Outgoing mail: `smtp://host:port`, `smtps://user:pass@host` (lettre URL syntax). From
    /// `TIPLINE_SMTP_URL`, or the file named by `TIPLINE_SMTP_URL_FILE` (credentials stay out
    /// of the environment and the config file). Unset: mail waits in the outbox.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// The authserv-id our receiving mail server writes into `Authentication-Results`
    /// (`TIPLINE_MAIL_AUTHSERV_ID`, e.g. `mx.office.example`). When set, only mail whose
    /// topmost result with this id says `dmarc=pass` gets an acknowledgement (the tip is stored
    /// either way); headers with any other id are ignored, since a sender can write them.
    pub mail_authserv_id: Option<String>,
    /// Days a reporter's phone number or address is kept (sealed) to answer them.
    pub contact_retention_days: i64,
    /// Where the monthly report is mailed (the office), and the day of the month it goes out
    /// (Asia/Shanghai); a report month ends the day before.
    pub report_mail_to: Vec<String>,
    pub report_day: u8,
    /// The SMS provider (`TIPLINE_SMS_*`); `None` when SMS is off.
    pub sms: Option<SmsConfig>,
    /// The office's contact details shown to the public.
    pub office: OfficeContact,
    /// Largest email accepted by `ingest-email` or the IMAP poller, bytes (whole message).
    pub max_email_bytes: usize,
    /// The mailbox the server polls for emailed tips; `None` when `TIPLINE_IMAP_URL` is unset.
    pub imap: Option<ImapConfig>,
    /// Split zones (issue 18): which routes this node serves and which ferry it runs.
    pub split: SplitConfig,
}

/// Where emailed tips are fetched from (`TIPLINE_IMAP_*`).
#[derive(Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    /// `imaps://`: TLS from the first byte. Plain `imap://` is accepted for loopback only.
    pub tls: bool,
    pub user: String,
    pub password: zeroize::Zeroizing<String>,
    pub mailbox: String,
    pub poll_seconds: u64,
    /// Where a stored message goes; `None` deletes it (the default: the mailbox then keeps no
    /// copy of the tip or the sender's address).
    pub move_to: Option<String>,
    /// Where refused messages go, for an operator to look at; never deleted by us.
    pub quarantine: String,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("mailbox", &self.mailbox)
            .field("poll_seconds", &self.poll_seconds)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// Reads `TIPLINE_IMAP_URL` (`imaps://user%40example.org@imap.example.org/INBOX`) and the
    /// settings that go with it. The password comes from `TIPLINE_IMAP_PASSWORD` or the file
    /// named by `TIPLINE_IMAP_PASSWORD_FILE`, never from the URL, which appears in process
    /// listings and config files.
    fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(raw) = env("TIPLINE_IMAP_URL") else {
            return Ok(None);
        };
        let bad = |why: &str| ConfigError::Invalid {
            name: "TIPLINE_IMAP_URL",
            why: why.to_string(),
        };
        let url = url::Url::parse(&raw).map_err(|_| bad("not a URL"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            _ => return Err(bad("expected imap:// or imaps://")),
        };
        if url.password().is_some() {
            return Err(bad(
                "put the password in TIPLINE_IMAP_PASSWORD or TIPLINE_IMAP_PASSWORD_FILE, not in the URL",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !tls && !loopback {
            // The password and every tip would cross the network in the clear.
            return Err(bad(
                "plain imap:// is allowed to this machine only; use imaps://",
            ));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("not UTF-8 after percent-decoding"))
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(bad(
                "no user name (imaps://USER@HOST/MAILBOX; write @ in it as %40)",
            ));
        }
        let mailbox = decode(url.path().trim_start_matches('/'))?;
        let password = secret("TIPLINE_IMAP_PASSWORD")?.ok_or(ConfigError::Invalid {
            name: "TIPLINE_IMAP_PASSWORD",
            why: "TIPLINE_IMAP_URL is set but neither TIPLINE_IMAP_PASSWORD nor TIPLINE_IMAP_PASSWORD_FILE is".into(),
        })?;
        let poll_seconds = match env("TIPLINE_IMAP_POLL_SECONDS") {
            Some(v) => parse_usize("TIPLINE_IMAP_POLL_SECONDS", &v)?.clamp(1, 86_400) as u64,
            None => 60,
        };
        Ok(Some(Self {
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            tls,
            user,
            password: zeroize::Zeroizing::new(password),
            mailbox: if mailbox.is_empty() {
                "INBOX".into()
            } else {
                mailbox
            },
            poll_seconds,
            move_to: env("TIPLINE_IMAP_MOVE_TO"),
            quarantine: env("TIPLINE_IMAP_QUARANTINE").unwrap_or_else(|| "Quarantine".into()),
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    keys_dir: Option<PathBuf>,
    keys_passphrase_file: Option<PathBuf>,
    audit_anchor_dir: Option<PathBuf>,
    listen: Option<String>,
    admin_listen: Option<String>,
    public_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    captcha: Option<String>,
    rate_limit: Option<String>,
    max_attachment_bytes: Option<usize>,
    max_attachments: Option<usize>,
    max_image_pixels: Option<u64>,
    image_decodes: Option<usize>,
    epoch_seconds: Option<u64>,
    initial_password_hours: Option<usize>,
    digest_seconds: Option<u64>,
    workers: Option<usize>,
    mail_from: Option<String>,
    contact_retention_days: Option<usize>,
    report_mail_to: Option<String>,
    report_day: Option<usize>,
    sms: Option<SmsFileConfig>,
    office: Option<OfficeFileConfig>,
}

/// The office's contact details, shown on the report form, the status page and the reward
/// instructions in both languages. The 2018 plan names the county anti-drug office (县禁毒办)
/// and the public security bureau but gives no number, address or hours: those ship as marked
/// placeholders, and `serve` warns at start until an operator sets them.
#[derive(Debug, Clone)]
pub struct OfficeContact {
    pub name_zh: String,
    pub name_en: String,
    /// Hotline numbers, as they are dialled.
    pub hotlines: Vec<String>,
    pub address_zh: String,
    pub address_en: String,
    pub hours_zh: String,
    pub hours_en: String,
    /// Where rewards are collected.
    pub payout_zh: String,
    pub payout_en: String,
    /// The settings still at their placeholder.
    pub unset: Vec<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficeFileConfig {
    name_zh: Option<String>,
    name_en: Option<String>,
    hotlines: Option<Vec<String>>,
    address_zh: Option<String>,
    address_en: Option<String>,
    hours_zh: Option<String>,
    hours_en: Option<String>,
    payout_office_zh: Option<String>,
    payout_office_en: Option<String>,
}

impl OfficeContact {
    fn load(f: OfficeFileConfig) -> Self {
        let mut unset = Vec::new();
        let mut pick =
            |name: &'static str, file: Option<String>, default: Result<&str, &str>| match (
                env(name).or(file),
                default,
            ) {
                (Some(v), _) => v,
                (None, Ok(d)) => d.to_string(),
                (None, Err(placeholder)) => {
                    unset.push(name);
                    placeholder.to_string()
                }
            };
        let name_zh = pick(
            "TIPLINE_OFFICE_NAME_ZH",
            f.name_zh,
            Ok("衡阳县禁毒委员会办公室（县禁毒办）"),
        );
        let name_en = pick(
            "TIPLINE_OFFICE_NAME_EN",
            f.name_en,
            Ok("Hengyang County Narcotics Control Office"),
        );
        let hotlines = pick(
            "TIPLINE_OFFICE_HOTLINES",
            f.hotlines.map(|h| h.join(",")),
            Err("【待设置 NOT SET】"),
        )
        .split(',')
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
        let address_zh = pick(
            "TIPLINE_OFFICE_ADDRESS_ZH",
            f.address_zh,
            Err("【待设置：办公地址】"),
        );
        let address_en = pick(
            "TIPLINE_OFFICE_ADDRESS_EN",
            f.address_en,
            Err("[NOT SET: office address]"),
        );
        let hours_zh = pick(
            "TIPLINE_OFFICE_HOURS_ZH",
            f.hours_zh,
            Err("【待设置：办公时间】"),
        );
        let hours_en = pick(
            "TIPLINE_OFFICE_HOURS_EN",
            f.hours_en,
            Err("[NOT SET: opening hours]"),
        );
        let payout_zh = pick(
            "TIPLINE_PAYOUT_OFFICE_ZH",
            f.payout_office_zh,
            Ok("县公安局禁毒大队"),
        );
        let payout_en = pick(
            "TIPLINE_PAYOUT_OFFICE_EN",
            f.payout_office_en,
            Ok("the county public security bureau's anti-drug brigade"),
        );
        Self {
            name_zh,
            name_en,
            hotlines,
            address_zh,
            address_en,
            hours_zh,
            hours_en,
            payout_zh,
            payout_en,
            unset,
        }
    }
}

pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A secret setting: `NAME`, or the first line of the file `NAME_FILE`.
fn secret(name: &'static str) -> Result<Option<String>, ConfigError> {
    if let Some(v) = env(name) {
        return Ok(Some(v));
    }
    let file_var = format!("{name}_FILE");
    match env(&file_var) {
        None => Ok(None),
        Some(path) => std::fs::read_to_string(&path)
            .map(|t| t.lines().next().map(|l| l.trim().to_string()))
            .map_err(|e| ConfigError::Invalid {
                name,
                why: format!("cannot read {path}: {e}"),
            }),
    }
}

/// One trusted proxy: an address (`10.0.0.5`) or a range (`10.0.0.0/24`, `fd00::/8`).
fn parse_proxy(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn parse_on_off(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            why: "expected on or off".into(),
        }),
    }
}

fn parse_rate(v: &str) -> Result<RateLimit, ConfigError> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(RateLimit::Off);
    }
    v.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .map(RateLimit::PerMinute)
        .ok_or(ConfigError::Invalid {
            name: "TIPLINE_RATE_LIMIT",
            why: "expected a positive number of requests per minute, or off".into(),
        })
}

pub(crate) fn parse_usize(name: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.parse().map_err(|_| ConfigError::Invalid {
        name,
        why: "expected a whole number".into(),
    })
}

impl Config {
    /// Loads `tipline.toml` from the working directory (or `TIPLINE_CONFIG`), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let path = PathBuf::from(env("TIPLINE_CONFIG").unwrap_or_else(|| "tipline.toml".into()));
        let file = if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| ConfigError::Read(path.clone(), e))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| ConfigError::Toml(path.clone(), e.to_string()))?
        } else {
            FileConfig::default()
        };
        Self::from_parts(file)
    }

    fn from_parts(f: FileConfig) -> Result<Self, ConfigError> {
        let data_dir = env("TIPLINE_DATA_DIR")
            .map(PathBuf::from)
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let keys_dir = env("TIPLINE_KEYS_DIR")
            .map(PathBuf::from)
            .or(f.keys_dir)
            .unwrap_or_else(|| PathBuf::from("keys"));
        let keys_passphrase_file = env("TIPLINE_KEYS_PASSPHRASE_FILE")
            .map(PathBuf::from)
            .or(f.keys_passphrase_file);
        // The URL may carry the database password: `_FILE` keeps it out of the environment.
        let database_url = secret("TIPLINE_DATABASE_URL")?
            .or(f.database_url)
            .unwrap_or_else(|| format!("sqlite://{}/tipline.db", data_dir.display()));
        let listen = env("TIPLINE_LISTEN")
            .or(f.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let public_url = env("TIPLINE_PUBLIC_URL")
            .or(f.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let proxies_raw: Vec<String> = match env("TIPLINE_TRUSTED_PROXIES") {
            Some(v) => v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            None => f.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = proxies_raw
            .iter()
            .map(|s| {
                parse_proxy(s).ok_or_else(|| ConfigError::Invalid {
                    name: "TIPLINE_TRUSTED_PROXIES",
                    why: format!(
                        "{s:?}: expected a comma-separated list of IP addresses or CIDR ranges"
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let captcha = match env("TIPLINE_CAPTCHA").or(f.captcha) {
            Some(v) => parse_on_off("TIPLINE_CAPTCHA", &v)?,
            None => true,
        };
        let rate_limit = match env("TIPLINE_RATE_LIMIT").or(f.rate_limit) {
            Some(v) => parse_rate(&v)?,
            None => RateLimit::PerMinute(30),
        };
        let num = |name: &'static str,
                   file: Option<usize>,
                   default: usize|
         -> Result<usize, ConfigError> {
            match env(name) {
                Some(v) => parse_usize(name, &v),
                None => Ok(file.unwrap_or(default)),
            }
        };
        Ok(Self {
            database_url,
            data_dir,
            keys_dir,
            keys_passphrase_file,
            audit_anchor_dir: env("TIPLINE_AUDIT_ANCHOR_DIR")
                .map(PathBuf::from)
                .or(f.audit_anchor_dir),
            admin_listen: env("TIPLINE_ADMIN_LISTEN").or(f.admin_listen),
            listen,
            public_url,
            trusted_proxies,
            captcha,
            rate_limit,
            max_attachment_bytes: num(
                "TIPLINE_MAX_ATTACHMENT_BYTES",
                f.max_attachment_bytes,
                10 * 1024 * 1024,
            )?,
            max_attachments: num("TIPLINE_MAX_ATTACHMENTS", f.max_attachments, 5)?,
            max_image_pixels: num(
                "TIPLINE_MAX_IMAGE_PIXELS",
                f.max_image_pixels.map(|v| v as usize),
                16_000_000,
            )? as u64,
            image_decodes: num(
                "TIPLINE_IMAGE_DECODES",
                f.image_decodes,
                crate::intake::decode_gate::DECODE_SLOTS,
            )?,
            epoch_seconds: num(
                "TIPLINE_EPOCH_SECONDS",
                f.epoch_seconds.map(|v| v as usize),
                60,
            )? as u64,
            initial_password_hours: num(
                "TIPLINE_INITIAL_PASSWORD_HOURS",
                f.initial_password_hours,
                crate::staff::accounts::INITIAL_PASSWORD_HOURS as usize,
            )?
            .clamp(1, 720) as i64,
            digest_seconds: num(
                "TIPLINE_DIGEST_SECONDS",
                f.digest_seconds.map(|v| v as usize),
                3600,
            )?
            .max(1) as u64,
            workers: num("TIPLINE_WORKERS", f.workers, 0)?,
            smtp_url: secret("TIPLINE_SMTP_URL")?.filter(|u| !u.is_empty()),
            contact_retention_days: num(
                "TIPLINE_CONTACT_RETENTION_DAYS",
                f.contact_retention_days,
                180,
            )?
            .clamp(1, 3650) as i64,
            report_mail_to: env("TIPLINE_REPORT_MAIL_TO")
                .or(f.report_mail_to)
                .map(|v| {
                    v.split(',')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            report_day: match num("TIPLINE_REPORT_DAY", f.report_day, 28)? {
                d @ 1..=28 => d as u8,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "TIPLINE_REPORT_DAY",
                        why: "a day of the month from 1 to 28".into(),
                    });
                }
            },
            max_email_bytes: num("TIPLINE_MAX_EMAIL_BYTES", None, 25 * 1024 * 1024)?.max(1024),
            imap: ImapConfig::from_env()?,
            mail_authserv_id: env("TIPLINE_MAIL_AUTHSERV_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            mail_from: env("TIPLINE_MAIL_FROM")
                .or(f.mail_from)
                .unwrap_or_else(|| "tipline@localhost".into()),
            sms: SmsConfig::load(f.sms.unwrap_or_default())?,
            office: OfficeContact::load(f.office.unwrap_or_default()),
            split: SplitConfig::from_env()?,
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
    }

    /// Largest request body we accept: every attachment at its cap plus room for the fields.
    pub fn max_body_bytes(&self) -> usize {
        self.max_attachment_bytes * self.max_attachments + 256 * 1024
    }
}

/// A secret setting held in memory: wiped on drop, never printed.
#[derive(Clone)]
pub struct SecretText(zeroize::Zeroizing<String>);

impl SecretText {
    pub fn new(s: String) -> Self {
        Self(zeroize::Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    /// Twilio, or any gateway speaking its webhook and Messages API.
    Twilio,
    /// Tencent Cloud SMS (reply callback, API 3.0 `SendSms`).
    Tencent,
}

/// SMS settings: the `[sms]` table of `tipline.toml` (`provider`, `account`, `from`, `api_url`,
/// `app_id`, `sign`, `region`, `templates`), or `TIPLINE_SMS_*` (the environment wins).
/// Secrets come only from the environment or the files their `_FILE` variables name.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    /// Twilio Account SID; Tencent SecretId.
    pub account: String,
    /// Twilio auth token (signs webhooks, authenticates API calls); Tencent SecretKey.
    pub token: SecretText,
    /// Tencent only: the secret the callback URL must carry as `?token=` (Tencent signs nothing).
    pub callback_token: Option<SecretText>,
    /// Twilio sender: a phone number, or a Messaging Service SID (`MG...`).
    pub from: Option<String>,
    /// API base URL; the provider's own by default (tests point it at a local server).
    pub api_url: String,
    /// Tencent: SmsSdkAppId, signature name, region, and tipline template -> approved TemplateId.
    pub app_id: Option<String>,
    pub sign_name: Option<String>,
    pub region: String,
    pub templates: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsFileConfig {
    provider: Option<String>,
    account: Option<String>,
    from: Option<String>,
    api_url: Option<String>,
    app_id: Option<String>,
    sign: Option<String>,
    region: Option<String>,
    templates: Option<String>,
}

fn sms_invalid(name: &'static str, why: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        why: why.into(),
    }
}

impl SmsConfig {
    fn load(f: SmsFileConfig) -> Result<Option<Self>, ConfigError> {
        let provider = match env("TIPLINE_SMS_PROVIDER").or(f.provider).as_deref() {
            None | Some("off") | Some("none") => return Ok(None),
            Some("twilio") => SmsProvider::Twilio,
            Some("tencent") => SmsProvider::Tencent,
            Some(_) => {
                return Err(sms_invalid(
                    "TIPLINE_SMS_PROVIDER",
                    "expected twilio, tencent or off",
                ));
            }
        };
        let account = env("TIPLINE_SMS_ACCOUNT").or(f.account).ok_or_else(|| {
            sms_invalid(
                "TIPLINE_SMS_ACCOUNT",
                "required with an SMS provider (Twilio Account SID or Tencent SecretId)",
            )
        })?;
        let token = secret("TIPLINE_SMS_TOKEN")?
            .filter(|t| !t.is_empty())
            .map(SecretText::new)
            .ok_or_else(|| {
                sms_invalid(
                    "TIPLINE_SMS_TOKEN",
                    "required with an SMS provider (Twilio auth token or Tencent SecretKey); \
                     set it or TIPLINE_SMS_TOKEN_FILE",
                )
            })?;
        let callback_token = secret("TIPLINE_SMS_CALLBACK_TOKEN")?
            .filter(|t| !t.is_empty())
            .map(SecretText::new);
        let templates = env("TIPLINE_SMS_TEMPLATES")
            .or(f.templates)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => Err(sms_invalid(
                    "TIPLINE_SMS_TEMPLATES",
                    "expected template=TemplateId pairs separated by commas",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let default_api = match provider {
            SmsProvider::Twilio => "https://api.twilio.com",
            SmsProvider::Tencent => "https://sms.tencentcloudapi.com",
        };
        let c = SmsConfig {
            provider,
            account,
            token,
            callback_token,
            from: env("TIPLINE_SMS_FROM").or(f.from),
            api_url: env("TIPLINE_SMS_API_URL")
                .or(f.api_url)
                .unwrap_or_else(|| default_api.into())
                .trim_end_matches('/')
                .to_string(),
            app_id: env("TIPLINE_SMS_APP_ID").or(f.app_id),
            sign_name: env("TIPLINE_SMS_SIGN").or(f.sign),
            region: env("TIPLINE_SMS_REGION")
                .or(f.region)
                .unwrap_or_else(|| "ap-guangzhou".into()),
            templates,
        };
        if !(c.api_url.starts_with("https://") || c.api_url.starts_with("http://")) {
            return Err(sms_invalid(
                "TIPLINE_SMS_API_URL",
                "expected an http(s) URL",
            ));
        }
        match provider {
            SmsProvider::Twilio if c.from.is_none() => Err(sms_invalid(
                "TIPLINE_SMS_FROM",
                "required with Twilio: the sender number or Messaging Service SID",
            )),
            SmsProvider::Tencent if c.callback_token.is_none() => Err(sms_invalid(
                "TIPLINE_SMS_CALLBACK_TOKEN",
                "required with Tencent: its reply callback is unsigned, so the callback URL must \
                 carry this secret as ?token=",
            )),
            SmsProvider::Tencent if c.app_id.is_none() || c.sign_name.is_none() => {
                Err(sms_invalid(
                    "TIPLINE_SMS_APP_ID",
                    "Tencent needs TIPLINE_SMS_APP_ID (SmsSdkAppId) and TIPLINE_SMS_SIGN (the \
                     approved signature name)",
                ))
            }
            SmsProvider::Tencent if !c.templates.iter().any(|(k, _)| k == "receipt") => {
                Err(sms_invalid(
                    "TIPLINE_SMS_TEMPLATES",
                    "Tencent sends only approved templates: map at least receipt=TemplateId",
                ))
            }
            _ => Ok(Some(c)),
        }
    }

    /// The approved provider template for one of ours, if configured.
    pub fn template_id(&self, template: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|(k, _)| k == template)
            .map(|(_, v)| v.as_str())
    }
}

/// Which routes a node serves (`TIPLINE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything on one node (today's deployment; the default).
    #[default]
    Single,
    /// Internet side: public form, API, SMS webhook, mail intake, status, messages, rekey.
    Intake,
    /// Intranet side: staff pages and the staff API.
    Police,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Intake => "intake",
            Mode::Police => "police",
        }
    }
}

/// Split-zone settings.
#[derive(Debug, Clone, Default)]
pub struct SplitConfig {
    pub mode: Mode,
    /// Where this node writes bundles for the other zone (`TIPLINE_FERRY_OUTBOX`).
    pub outbox: Option<PathBuf>,
    /// Where bundles from the other zone arrive (`TIPLINE_FERRY_INBOX`).
    pub inbox: Option<PathBuf>,
    /// Seconds between the ferry passes of `serve` (`TIPLINE_FERRY_SECONDS`, 60; 0: off, for
    /// a timer running `tipline ferry export` / `import`).
    pub every_seconds: u64,
    /// Without a return channel (`TIPLINE_FERRY_ONE_WAY=on`), the intake node deletes a tip's
    /// sealed content this many days after sending it (`TIPLINE_FERRY_KEEP_DAYS`, 30).
    pub keep_days: i64,
    pub one_way: bool,
    /// Where this node keeps a copy of each bundle it wrote, for `tipline ferry export
    /// --again SEQ` (`TIPLINE_FERRY_SENT`; default `DATA_DIR/ferry-sent`).
    pub sent: Option<PathBuf>,
}

impl Config {
    /// Where the ferry keeps a copy of each bundle written (`TIPLINE_FERRY_SENT`).
    pub fn ferry_sent_dir(&self) -> PathBuf {
        self.split
            .sent
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ferry-sent"))
    }
}

impl SplitConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = match env("TIPLINE_MODE").as_deref() {
            None | Some("single") => Mode::Single,
            Some("intake") => Mode::Intake,
            Some("police") => Mode::Police,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "TIPLINE_MODE",
                    why: "expected single, intake or police".into(),
                });
            }
        };
        let num = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            env(name)
                .map(|v| parse_usize(name, &v))
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        let one_way = match env("TIPLINE_FERRY_ONE_WAY").as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "TIPLINE_FERRY_ONE_WAY",
                    why: "expected on or off".into(),
                });
            }
        };
        Ok(Self {
            mode,
            outbox: env("TIPLINE_FERRY_OUTBOX").map(PathBuf::from),
            inbox: env("TIPLINE_FERRY_INBOX").map(PathBuf::from),
            every_seconds: num("TIPLINE_FERRY_SECONDS", 60)? as u64,
            keep_days: num("TIPLINE_FERRY_KEEP_DAYS", 30)?.clamp(1, 3650) as i64,
            one_way,
            sent: env("TIPLINE_FERRY_SENT").map(PathBuf::from),
        })
    }
}
