//! Township returns (issue 20): on the 28th of every month each township's liaison sends the
//! county anti-drug office its progress, a work summary, its base-ledger figures, the table of
//! people screened for outflow trafficking (signed and stamped, as a scan) and photos of its
//! activities (2018 plan, section 五(六)).
//!
//! Everything but the township, the month, the version and the hour it was sent is sealed to
//! the office key, like a tip. The people table holds personal data of suspects: it is sealed
//! on its own and only the county brigade opens it, each read audited. A liaison sees only
//! their own township's returns and the comments on them; anyone else from another township
//! gets "not found". Every version is kept: a return sent back is corrected by a new version.

pub mod deadlines;
pub mod export;
pub mod files;
pub mod ledger;
pub mod people;

use crate::audit::{self, Entry, Outcome};
use crate::crypto::random_bytes;
use crate::crypto::seal::{Opener, Recipient, Sealer};
use crate::db::schema::{return_files, staff, township_returns};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, DbError, hour_floor};
use crate::intake::catalog;
use crate::reports::period::Period;
use crate::rewards::calendar;
use crate::staff::{Actor, Role};
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use files::{FileError, FileKind};
use people::{Person, TableError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest progress or summary text.
pub const MAX_TEXT: usize = 20_000;
/// Largest ledger figure.
pub const MAX_COUNT: i64 = 1_000_000;
/// How many months back a liaison may still file (a missed month can be caught up).
pub const MONTHS_BACK: usize = 12;

/// What returns need of the node: keys and settings.
pub struct Desk<'a> {
    pub signer: &'a SigningKey,
    pub sealer: &'a Sealer,
    pub office: &'a Recipient,
    pub opener: Option<&'a Opener>,
    pub report_day: u8,
    pub max_pixels: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReturnError {
    #[error("no such return")]
    NotFound,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the month is YYYY-MM, within the last 12 report months and not in the future")]
    BadMonth,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("this month's return was already sent; it can be corrected only once sent back")]
    AlreadyFiled,
    #[error("only a return waiting for review can be accepted or sent back")]
    NotReviewable,
    #[error("{0}")]
    Table(#[from] TableError),
    #[error("{0}")]
    File(#[from] FileError),
    #[error("the office key is not on this node")]
    NoOfficeKey,
    #[error("sealed data could not be opened")]
    Crypto,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReturnError {
    fn from(e: diesel::result::Error) -> Self {
        ReturnError::Db(DbError::Query(e))
    }
}

impl From<crate::crypto::CryptoError> for ReturnError {
    fn from(_: crate::crypto::CryptoError) -> Self {
        ReturnError::Crypto
    }
}

impl From<crate::triage::reader::ReadError> for ReturnError {
    fn from(e: crate::triage::reader::ReadError) -> Self {
        match e {
            crate::triage::reader::ReadError::NotFound => ReturnError::Crypto,
            crate::triage::reader::ReadError::Db(d) => ReturnError::Db(d),
            crate::triage::reader::ReadError::Crypto(_) => ReturnError::Crypto,
        }
    }
}

/// Where a return stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// Sent, waiting for the county.
    Submitted,
    Accepted,
    /// Sent back with a comment; the liaison corrects it with a new version.
    SentBack,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Submitted => "submitted",
            Review::Accepted => "accepted",
            Review::SentBack => "sent_back",
        }
    }

    pub fn parse(s: &str) -> Review {
        match s {
            "accepted" => Review::Accepted,
            "sent_back" => Review::SentBack,
            _ => Review::Submitted,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Review::Submitted => "待审核",
            Review::Accepted => "已通过",
            Review::SentBack => "已退回",
        }
    }
}

/// Who reads returns: a liaison (their township only) or the county brigade (every township).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Liaison(String),
    County,
}

/// The townships that file returns: every township of the catalog but "other".
pub fn townships() -> impl Iterator<Item = &'static catalog::Choice> {
    catalog::TOWNSHIPS
        .iter()
        .filter(|t| t.code != catalog::UNKNOWN_TOWNSHIP)
}

pub fn township_zh(code: &str) -> &str {
    catalog::township(code).map(|t| t.zh).unwrap_or(code)
}

/// The township of a liaison account.
pub fn township_of(c: &mut DbConn, actor: &Actor) -> Result<Option<String>, ReturnError> {
    if actor.role != Role::Liaison {
        return Ok(None);
    }
    Ok(staff::table
        .filter(staff::id.eq(&actor.id))
        .select(staff::township)
        .first::<Option<String>>(c)
        .optional()?
        .flatten())
}

fn deny(c: &mut DbConn, signer: &SigningKey, actor: &Actor, action: &str, object: &str) {
    let _ = audit::record(
        c,
        signer,
        &Entry {
            actor: &actor.audit_name(),
            action,
            object,
            outcome: Outcome::Denied,
        },
    );
}

/// The viewer an actor is, or a refusal (audited).
pub fn viewer(
    c: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    action: &str,
) -> Result<Viewer, ReturnError> {
    if let Some(t) = township_of(c, actor)? {
        return Ok(Viewer::Liaison(t));
    }
    if actor.in_county_brigade() {
        return Ok(Viewer::County);
    }
    deny(c, signer, actor, action, "route");
    Err(ReturnError::Forbidden)
}

/// The county brigade only (status page, review, export, people tables); audited refusal.
pub fn require_county(
    c: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    action: &str,
) -> Result<(), ReturnError> {
    if actor.role != Role::Liaison && actor.in_county_brigade() {
        return Ok(());
    }
    deny(c, signer, actor, action, "route");
    Err(ReturnError::Forbidden)
}

/// A file's description, inside the sealed body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileMeta {
    pub id: String,
    pub kind: FileKind,
    pub content_type: String,
    pub size: u64,
}

/// The sealed body of one version.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Content {
    pub progress: String,
    pub summary: String,
    pub ledger: BTreeMap<String, i64>,
    pub files: Vec<FileMeta>,
    pub people_rows: usize,
}

/// An uploaded file before cleaning.
pub struct Upload {
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

/// What a liaison sends.
pub struct Filing {
    pub month: String,
    pub progress: String,
    pub summary: String,
    pub ledger: BTreeMap<String, i64>,
    pub people: Vec<Person>,
    pub uploads: Vec<Upload>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Filed {
    pub id: String,
    pub month: String,
    pub version: i32,
    /// Unix hour it was sent.
    pub sent_hour: i64,
    pub late: bool,
}

/// A report month a liaison may file for at `now`: the current one or one of the twelve before.
pub fn fileable(label: &str, report_day: u8, now: i64) -> Result<Period, ReturnError> {
    let p = Period::parse(label, report_day).map_err(|_| ReturnError::BadMonth)?;
    let current = Period::containing(calendar::day_of(now), report_day);
    let allowed = current.trailing(MONTHS_BACK + 1, report_day);
    if allowed.iter().any(|a| a.label() == p.label()) {
        Ok(p)
    } else {
        Err(ReturnError::BadMonth)
    }
}

fn check_text(field: &'static str, s: &str) -> Result<(), ReturnError> {
    let bad = |message: &str| ReturnError::Invalid {
        field,
        message: message.into(),
    };
    if s.trim().is_empty() {
        return Err(bad("required"));
    }
    if s.chars().count() > MAX_TEXT || s.contains('\0') {
        return Err(bad("too long (at most 20,000 characters)"));
    }
    Ok(())
}

fn check_ledger(given: &BTreeMap<String, i64>) -> Result<BTreeMap<String, i64>, ReturnError> {
    let l = ledger::current();
    for (code, n) in given {
        if !l.knows(code) {
            return Err(ReturnError::Invalid {
                field: "ledger",
                message: format!("unknown ledger category {code}"),
            });
        }
        if !(0..=MAX_COUNT).contains(n) {
            return Err(ReturnError::Invalid {
                field: "ledger",
                message: format!("{code}: a count from 0 to {MAX_COUNT}"),
            });
        }
    }
    Ok(l.categories
        .iter()
        .map(|c| (c.code.clone(), given.get(&c.code).copied().unwrap_or(0)))
        .collect())
}

fn new_id() -> Result<String, ReturnError> {
    Ok(hex::encode(random_bytes::<16>()?))
}

fn seal_into(
    c: &mut DbConn,
    desk: &Desk,
    kind: &str,
    id: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, ReturnError> {
    let sealed = desk.sealer.seal(desk.office, kind, id, plaintext)?;
    insert_sealed_key(c, &sealed.epoch_row)?;
    insert_sealed_key(c, &sealed.dek_row)?;
    Ok(sealed.ciphertext)
}

fn open_with(
    c: &mut DbConn,
    desk: &Desk,
    kind: &str,
    id: &str,
    ct: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, ReturnError> {
    let opener = desk.opener.ok_or(ReturnError::NoOfficeKey)?;
    Ok(crate::triage::reader::open_sealed(c, opener, kind, id, ct)?)
}

/// Whether a return sent in `sent_hour` for `p` is late: after the report day (the 28th).
pub fn is_late(p: &Period, sent_hour: i64) -> bool {
    sent_hour >= deadlines::deadline(p)
}

type Head = (String, i32, String, i64, Vec<u8>);

/// The latest version of a township's return for a month: (id, version, status, first hour, body).
fn latest(c: &mut DbConn, township: &str, period: &str) -> Result<Option<Head>, ReturnError> {
    let first: Option<i64> = township_returns::table
        .filter(township_returns::township.eq(township))
        .filter(township_returns::period.eq(period))
        .select(diesel::dsl::min(township_returns::sent_hour))
        .first(c)?;
    let Some(first) = first else {
        return Ok(None);
    };
    let (id, version, status, body) = township_returns::table
        .filter(township_returns::township.eq(township))
        .filter(township_returns::period.eq(period))
        .order(township_returns::version.desc())
        .select((
            township_returns::id,
            township_returns::version,
            township_returns::status,
            township_returns::body,
        ))
        .first::<(String, i32, String, Vec<u8>)>(c)?;
    Ok(Some((id, version, status, first, body)))
}

/// A liaison files their township's return for a month, or corrects one that was sent back
/// (a new version; the old one is kept). `now` is the time of sending; only its hour is kept.
pub fn file(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    f: Filing,
    now: i64,
) -> Result<Filed, ReturnError> {
    let Some(township) = township_of(conn, actor)? else {
        deny(conn, desk.signer, actor, "return.file", "route");
        return Err(ReturnError::Forbidden);
    };
    let p = fileable(&f.month, desk.report_day, now)?;
    check_text("progress", &f.progress)?;
    check_text("summary", &f.summary)?;
    let ledger = check_ledger(&f.ledger)?;
    let people = people::check(f.people)?;
    let scans = f
        .uploads
        .iter()
        .filter(|u| u.kind == FileKind::Scan)
        .count();
    let photos = f.uploads.len() - scans;
    if scans > 1 || photos > files::MAX_PHOTOS {
        return Err(FileError::TooMany.into());
    }
    // Decoding and re-encoding happen before the transaction: they take a while.
    let mut cleaned = Vec::with_capacity(f.uploads.len());
    for u in &f.uploads {
        let (bytes, content_type) = files::clean(u.kind, &u.bytes, desk.max_pixels)?;
        cleaned.push((u.kind, bytes, content_type));
    }
    let sent_hour = hour_floor(now);
    let label = p.label();
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let prior = latest(c, &township, &label)?;
        let (version, mut kept, first_hour) = match &prior {
            None => (1, Vec::new(), sent_hour),
            Some((id, v, status, first, body)) if Review::parse(status) == Review::SentBack => {
                let old: Content = serde_json::from_slice(&open_with(c, desk, "return", id, body)?)
                    .map_err(|_| ReturnError::Crypto)?;
                (*v + 1, old.files, *first)
            }
            Some(_) => return Err(ReturnError::AlreadyFiled),
        };
        // A new scan replaces the old one; new photos join the kept ones.
        if cleaned.iter().any(|(k, _, _)| *k == FileKind::Scan) {
            kept.retain(|m| m.kind != FileKind::Scan);
        }
        if kept.iter().filter(|m| m.kind == FileKind::Photo).count() + photos > files::MAX_PHOTOS {
            return Err(FileError::TooMany.into());
        }
        let id = new_id()?;
        diesel::insert_into(township_returns::table)
            .values((
                township_returns::id.eq(&id),
                township_returns::township.eq(&township),
                township_returns::period.eq(&label),
                township_returns::version.eq(version),
                township_returns::sent_hour.eq(sent_hour),
                township_returns::filed_by.eq(&actor.id),
                township_returns::status.eq(Review::Submitted.as_str()),
                township_returns::body.eq(Vec::<u8>::new()),
                township_returns::people.eq(Vec::<u8>::new()),
            ))
            .execute(c)?;
        let mut metas = kept;
        for (kind, bytes, content_type) in &cleaned {
            let file_id = new_id()?;
            let ct = seal_into(c, desk, "return_file", &file_id, bytes)?;
            diesel::insert_into(return_files::table)
                .values((
                    return_files::id.eq(&file_id),
                    return_files::return_id.eq(&id),
                    return_files::body.eq(&ct),
                ))
                .execute(c)?;
            metas.push(FileMeta {
                id: file_id,
                kind: *kind,
                content_type: content_type.clone(),
                size: bytes.len() as u64,
            });
        }
        let content = Content {
            progress: f.progress.clone(),
            summary: f.summary.clone(),
            ledger: ledger.clone(),
            files: metas,
            people_rows: people.len(),
        };
        let body = serde_json::to_vec(&content).map_err(|_| ReturnError::Crypto)?;
        let body = seal_into(c, desk, "return", &id, &body)?;
        let table = serde_json::to_vec(&people).map_err(|_| ReturnError::Crypto)?;
        let table = seal_into(c, desk, "return_people", &id, &table)?;
        diesel::update(township_returns::table.filter(township_returns::id.eq(&id)))
            .set((
                township_returns::body.eq(&body),
                township_returns::people.eq(&table),
            ))
            .execute(c)?;
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: if version == 1 {
                    "return.file"
                } else {
                    "return.correct"
                },
                object: &format!("return:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(Filed {
            id,
            month: label.clone(),
            version,
            sent_hour,
            late: is_late(&p, first_hour),
        })
    })
    .map_err(|e| match e {
        // Two filings of the same version at once: the database keeps one.
        ReturnError::Db(DbError::Query(ref q)) if crate::db::is_unique_violation(q) => {
            ReturnError::AlreadyFiled
        }
        e => e,
    })
}

/// One version in a return's history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionLine {
    pub id: String,
    pub version: i32,
    pub sent_hour: i64,
    pub status: Review,
}

/// A return as its readers see it (never the people table).
#[derive(Debug, Clone, Serialize)]
pub struct ReturnView {
    pub id: String,
    pub township: String,
    pub month: String,
    pub version: i32,
    pub sent_hour: i64,
    pub status: Review,
    /// Whether the month's first version was sent after the report day.
    pub late: bool,
    pub content: Content,
    /// The county's comment when it sent this version back.
    pub comment: Option<String>,
    pub reviewed_by: Option<String>,
    /// Every version of this township's return for the month, oldest first.
    pub versions: Vec<VersionLine>,
}

type Row = (String, String, String, i32, i64, String, Option<String>);

/// Loads a return the actor may see: 404 for another township's (audited as denied).
fn visible(
    c: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    action: &str,
) -> Result<(Viewer, Row), ReturnError> {
    let v = viewer(c, desk.signer, actor, action)?;
    let row: Option<Row> = township_returns::table
        .filter(township_returns::id.eq(id))
        .select((
            township_returns::id,
            township_returns::township,
            township_returns::period,
            township_returns::version,
            township_returns::sent_hour,
            township_returns::status,
            township_returns::reviewed_by,
        ))
        .first(c)
        .optional()?;
    match row {
        Some(r) if v == Viewer::County || v == Viewer::Liaison(r.1.clone()) => Ok((v, r)),
        Some(_) => {
            deny(c, desk.signer, actor, action, &format!("return:{id}"));
            Err(ReturnError::NotFound)
        }
        None => Err(ReturnError::NotFound),
    }
}

fn versions(c: &mut DbConn, township: &str, period: &str) -> Result<Vec<VersionLine>, ReturnError> {
    let rows: Vec<(String, i32, i64, String)> = township_returns::table
        .filter(township_returns::township.eq(township))
        .filter(township_returns::period.eq(period))
        .order(township_returns::version)
        .select((
            township_returns::id,
            township_returns::version,
            township_returns::sent_hour,
            township_returns::status,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, version, sent_hour, s)| VersionLine {
            id,
            version,
            sent_hour,
            status: Review::parse(&s),
        })
        .collect())
}

/// Opens one version of a return for its liaison or the county; audited.
pub fn read(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
) -> Result<ReturnView, ReturnError> {
    let (_, (id, township, period, version, sent_hour, status, reviewed_by)) =
        visible(conn, desk, actor, id, "return.read")?;
    let p = Period::parse(&period, desk.report_day).map_err(|_| ReturnError::BadMonth)?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let (body, comment): (Vec<u8>, Option<Vec<u8>>) = township_returns::table
            .filter(township_returns::id.eq(&id))
            .select((township_returns::body, township_returns::comment))
            .first(c)?;
        let content: Content = serde_json::from_slice(&open_with(c, desk, "return", &id, &body)?)
            .map_err(|_| ReturnError::Crypto)?;
        let comment = match comment {
            Some(ct) => Some(
                String::from_utf8_lossy(&open_with(c, desk, "return_comment", &id, &ct)?)
                    .into_owned(),
            ),
            None => None,
        };
        let versions = versions(c, &township, &period)?;
        let first = versions.first().map_or(sent_hour, |v| v.sent_hour);
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: "return.read",
                object: &format!("return:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(ReturnView {
            late: is_late(&p, first),
            id: id.clone(),
            township: township.clone(),
            month: period.clone(),
            version,
            sent_hour,
            status: Review::parse(&status),
            content,
            comment,
            reviewed_by: reviewed_by.clone(),
            versions,
        })
    })
}

/// The people table of a return: the county brigade only, every read audited (`action` is
/// `return.people.read` for the page and API, `return.people.export` for a download).
pub fn people_table(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    action: &str,
) -> Result<(String, String, Vec<Person>), ReturnError> {
    require_county(conn, desk.signer, actor, action)?;
    let (_, (id, township, period, ..)) = visible(conn, desk, actor, id, action)?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let ct: Vec<u8> = township_returns::table
            .filter(township_returns::id.eq(&id))
            .select(township_returns::people)
            .first(c)?;
        let rows: Vec<Person> =
            serde_json::from_slice(&open_with(c, desk, "return_people", &id, &ct)?)
                .map_err(|_| ReturnError::Crypto)?;
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action,
                object: &format!("return:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok((township.clone(), period.clone(), rows))
    })
}

/// One file of a return (listed in that version's body); audited.
pub fn file_bytes(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    file_id: &str,
) -> Result<(FileMeta, zeroize::Zeroizing<Vec<u8>>), ReturnError> {
    let (_, (id, ..)) = visible(conn, desk, actor, id, "return.file.read")?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let body: Vec<u8> = township_returns::table
            .filter(township_returns::id.eq(&id))
            .select(township_returns::body)
            .first(c)?;
        let content: Content = serde_json::from_slice(&open_with(c, desk, "return", &id, &body)?)
            .map_err(|_| ReturnError::Crypto)?;
        let meta = content
            .files
            .into_iter()
            .find(|m| m.id == file_id)
            .ok_or(ReturnError::NotFound)?;
        let ct: Vec<u8> = return_files::table
            .filter(return_files::id.eq(&meta.id))
            .select(return_files::body)
            .first(c)
            .optional()?
            .ok_or(ReturnError::NotFound)?;
        let bytes = open_with(c, desk, "return_file", &meta.id, &ct)?;
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: "return.file.read",
                object: &format!("return:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok((meta, bytes))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    SendBack,
}

/// The county accepts a return or sends it back with a comment the liaison sees.
pub fn review(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    decision: Decision,
    comment: &str,
) -> Result<(), ReturnError> {
    require_county(conn, desk.signer, actor, "return.review")?;
    let (_, (id, ..)) = visible(conn, desk, actor, id, "return.review")?;
    let comment = comment.trim();
    // Sending back needs a comment; accepting may carry one.
    if decision == Decision::SendBack || !comment.is_empty() {
        check_text("comment", comment)?;
    }
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let status: String = township_returns::table
            .filter(township_returns::id.eq(&id))
            .select(township_returns::status)
            .first(c)?;
        if Review::parse(&status) != Review::Submitted {
            return Err(ReturnError::NotReviewable);
        }
        let sealed = if comment.is_empty() {
            None
        } else {
            Some(seal_into(
                c,
                desk,
                "return_comment",
                &id,
                comment.as_bytes(),
            )?)
        };
        let to = match decision {
            Decision::Accept => Review::Accepted,
            Decision::SendBack => Review::SentBack,
        };
        diesel::update(
            township_returns::table
                .filter(township_returns::id.eq(&id))
                .filter(township_returns::status.eq(Review::Submitted.as_str())),
        )
        .set((
            township_returns::status.eq(to.as_str()),
            township_returns::comment.eq(sealed),
            township_returns::reviewed_by.eq(actor.audit_name()),
        ))
        .execute(c)?;
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: match decision {
                    Decision::Accept => "return.accept",
                    Decision::SendBack => "return.send_back",
                },
                object: &format!("return:{id}"),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

/// A line of a liaison's own list: metadata only.
#[derive(Debug, Clone, Serialize)]
pub struct OwnLine {
    pub id: String,
    pub month: String,
    pub version: i32,
    pub sent_hour: i64,
    pub status: Review,
}

/// A liaison's township and every version of its returns, newest month first.
pub fn own(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
) -> Result<(String, Vec<OwnLine>), ReturnError> {
    let Some(township) = township_of(conn, actor)? else {
        deny(conn, desk.signer, actor, "return.list", "route");
        return Err(ReturnError::Forbidden);
    };
    let rows: Vec<(String, String, i32, i64, String)> = township_returns::table
        .filter(township_returns::township.eq(&township))
        .order((
            township_returns::period.desc(),
            township_returns::version.desc(),
        ))
        .select((
            township_returns::id,
            township_returns::period,
            township_returns::version,
            township_returns::sent_hour,
            township_returns::status,
        ))
        .limit(200)
        .load(conn)?;
    Ok((
        township,
        rows.into_iter()
            .map(|(id, month, version, sent_hour, s)| OwnLine {
                id,
                month,
                version,
                sent_hour,
                status: Review::parse(&s),
            })
            .collect(),
    ))
}

/// Which townships have an active liaison, and who.
#[derive(Debug, Clone, Serialize)]
pub struct Cover {
    pub township: String,
    pub name: String,
    pub liaisons: Vec<String>,
}

pub fn cover(conn: &mut DbConn) -> Result<Vec<Cover>, ReturnError> {
    let rows: Vec<(String, Option<String>)> = staff::table
        .filter(staff::role.eq(Role::Liaison.as_str()))
        .filter(staff::disabled.eq(false))
        .order(staff::username)
        .select((staff::username, staff::township))
        .load(conn)?;
    Ok(townships()
        .map(|t| Cover {
            township: t.code.into(),
            name: t.zh.into(),
            liaisons: rows
                .iter()
                .filter(|(_, tw)| tw.as_deref() == Some(t.code))
                .map(|(u, _)| u.clone())
                .collect(),
        })
        .collect())
}
