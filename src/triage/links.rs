//! Linking related tips (issue 6): the blind index (what a tip names, as truncated keyed
//! hashes), related tips confirmed by decrypting, cases and duplicates.
//!
//! Indexing runs where the office private key is (police zone): a background pass over tips
//! whose `index_version` is behind `NORMALIZATION_VERSION`, and opening a tip indexes it at
//! once. The intake path does not change: an intake node holds neither the office key nor the
//! blind-index subkeys.

use super::gate::{TriageError, audited, move_status, scoped_tip};
use super::reader::open_payload;
use super::routing::{Route, RouteKey};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::blind::{self, BlindKeys, Found, Kind, NORMALIZATION_VERSION, TipText};
use crate::crypto::seal::Opener;
use crate::db::schema::{blind_index, case_tips, cases, tips};
use crate::db::{DbConn, now_unix};
use crate::staff::Actor;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde::Serialize;

/// Tips indexed per background pass (one transaction, one audit entry).
pub const INDEX_BATCH: i64 = 50;

/// Candidates decrypted for one lookup at most; beyond that the index is too coarse for the
/// volume (raise `TAG_BYTES`), and the lookup says it stopped early.
pub(crate) const MAX_CANDIDATES: usize = 500;

/// Tips one case may hold.
const MAX_CASE_TIPS: usize = 200;

/// What linking needs: the audit signer, the office key to open tips, the blind-index keys.
pub struct Linker<'a> {
    pub signer: &'a SigningKey,
    pub opener: &'a Opener,
    pub blind: &'a BlindKeys,
    /// A tip whose routing columns do not match their binding counts as county-only.
    pub route: &'a RouteKey,
}

/// What the reader may learn of a tip in a list (related tips, a case).
enum Sight {
    /// In the reader's units: listed.
    Listed,
    /// In another unit: only counted ("other units hold N").
    Counted,
    /// Not even counted: a county-only tip (or one whose routing was rewritten, which may have
    /// been county-only) for a reader outside the county brigade (issue 13 item 8). The
    /// reporter asked that the local station not learn the county holds a tip about this person.
    Hidden,
}

/// Where a tip in a list stands for `actor`.
fn sight(c: &mut DbConn, key: &RouteKey, actor: &Actor, tip_id: &str) -> QueryResult<Sight> {
    let (unit, county_only, category, township, mac) = tips::table
        .filter(tips::id.eq(tip_id))
        .select((
            tips::unit_code,
            tips::county_only,
            tips::category,
            tips::township,
            tips::route_mac,
        ))
        .first::<(String, bool, String, String, Option<Vec<u8>>)>(c)?;
    let intact = key.holds(
        &Route {
            tip_id,
            unit: &unit,
            county_only,
            category: &category,
            township: &township,
        },
        mac.as_deref(),
    );
    let county = actor.in_county_brigade();
    Ok(if (county_only || !intact) && !county {
        Sight::Hidden
    } else if actor.sees_unit(&unit) {
        Sight::Listed
    } else {
        Sight::Counted
    })
}

/// Decrypts a tip and lists what it names.
pub(crate) fn names_of(
    c: &mut DbConn,
    opener: &Opener,
    tip_id: &str,
) -> Result<Vec<Found>, TriageError> {
    let payload = open_payload(c, opener, tip_id)?;
    let v: serde_json::Value = serde_json::from_slice(&payload).map_err(|_| TriageError::Crypto)?;
    Ok(blind::extract(&TipText::from_payload(&v)))
}

/// Replaces a tip's index rows with the tags of `found` and records the version.
pub fn write_index(
    c: &mut DbConn,
    keys: &BlindKeys,
    tip_id: &str,
    found: &[Found],
) -> Result<(), TriageError> {
    diesel::delete(blind_index::table.filter(blind_index::tip_id.eq(tip_id))).execute(c)?;
    let mut rows: Vec<(&'static str, Vec<u8>)> = found
        .iter()
        .map(|f| (f.kind.code(), keys.tag(f.kind, &f.normalized)))
        .collect();
    rows.sort();
    rows.dedup();
    for (kind, tag) in rows {
        diesel::insert_into(blind_index::table)
            .values((
                blind_index::kind.eq(kind),
                blind_index::tag.eq(tag),
                blind_index::tip_id.eq(tip_id),
            ))
            .execute(c)?;
    }
    diesel::update(tips::table.filter(tips::id.eq(tip_id)))
        .set(tips::index_version.eq(NORMALIZATION_VERSION))
        .execute(c)?;
    Ok(())
}

/// Indexes a tip whose payload the caller has already opened, if its index is out of date.
pub fn ensure_indexed(
    c: &mut DbConn,
    keys: &BlindKeys,
    tip_id: &str,
    payload: &serde_json::Value,
) -> Result<(), TriageError> {
    let version: i32 = tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::index_version)
        .first(c)?;
    if version < NORMALIZATION_VERSION {
        write_index(
            c,
            keys,
            tip_id,
            &blind::extract(&TipText::from_payload(payload)),
        )?;
    }
    Ok(())
}

/// One background pass: indexes up to `INDEX_BATCH` tips whose index is behind the current
/// normalization, in one transaction with one audit entry (a machine read is still a read).
/// Several nodes may run it on PostgreSQL: each takes rows no other node holds.
pub fn index_pending(conn: &mut DbConn, l: &Linker) -> Result<usize, TriageError> {
    // Most passes find nothing: look before taking the write lock.
    let pending: Option<String> = tips::table
        .filter(tips::index_version.lt(NORMALIZATION_VERSION))
        .select(tips::id)
        .first(conn)
        .optional()?;
    if pending.is_none() {
        return Ok(0);
    }
    conn.transaction::<_, TriageError, _>(|c| {
        audit::lock_head(c)?;
        let due = tips::table
            .filter(tips::index_version.lt(NORMALIZATION_VERSION))
            .order(tips::created_hour)
            .select(tips::id)
            .limit(INDEX_BATCH);
        let ids: Vec<String> = if let DbConn::Pg(pg) = c {
            due.for_update().skip_locked().load(pg)?
        } else {
            due.load(c)?
        };
        if ids.is_empty() {
            return Ok(0);
        }
        for id in &ids {
            let found = match names_of(c, l.opener, id) {
                Ok(f) => f,
                // A tip that does not open (its keys purged or retired) names nothing we can
                // read; mark it indexed so it does not block every later pass.
                Err(TriageError::Crypto) | Err(TriageError::NotFound) => {
                    tracing::warn!(tip = %id, "tip payload did not open; indexed as naming nothing");
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            write_index(c, l.blind, id, &found)?;
        }
        audit::append(
            c,
            l.signer,
            &Entry {
                actor: "system:indexer",
                action: "tip.index",
                object: &format!("tips:{}", ids.len()),
                outcome: Outcome::Ok,
            },
        )?;
        Ok(ids.len())
    })
}

/// Marks every tip for re-indexing (operators, after restoring an old backup; tests).
pub fn reset_index(conn: &mut DbConn) -> Result<usize, TriageError> {
    Ok(diesel::update(tips::table)
        .set(tips::index_version.eq(0))
        .execute(conn)?)
}

/// One thing a related tip shares with the tip being read, as the tip being read writes it.
#[derive(Debug, Serialize)]
pub struct Shared {
    pub kind: Kind,
    pub value: String,
}

/// Metadata of a tip in a list (related tips, a case): never content.
#[derive(Debug, Serialize)]
pub struct TipLine {
    pub id: String,
    pub public_ref: String,
    pub status: String,
    pub township: String,
    pub unit: String,
    pub created_hour: i64,
    pub duplicate_of: Option<String>,
}

pub(crate) type LineRow = (String, String, String, String, String, i64, Option<String>);

pub(crate) const LINE_COLUMNS: (
    tips::id,
    tips::public_ref,
    tips::status,
    tips::township,
    tips::unit_code,
    tips::created_hour,
    tips::duplicate_of,
) = (
    tips::id,
    tips::public_ref,
    tips::status,
    tips::township,
    tips::unit_code,
    tips::created_hour,
    tips::duplicate_of,
);

impl From<LineRow> for TipLine {
    fn from(r: LineRow) -> Self {
        TipLine {
            id: r.0,
            public_ref: r.1,
            status: r.2,
            township: r.3,
            unit: r.4,
            created_hour: r.5,
            duplicate_of: r.6,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RelatedTip {
    #[serde(flatten)]
    pub tip: TipLine,
    pub shared: Vec<Shared>,
}

#[derive(Debug, Serialize)]
pub struct Related {
    /// Tips the reader may open, oldest first.
    pub items: Vec<RelatedTip>,
    /// Tips outside the reader's unit that name the same things: only how many ("ask the
    /// county brigade").
    pub elsewhere: usize,
    /// True when the lookup stopped after `MAX_CANDIDATES` candidates.
    pub truncated: bool,
}

/// Tips that name what this tip names. Candidates come from the blind index; each is
/// confirmed by decrypting it and comparing normalized values. Audited as `tip.related`.
pub fn related(
    conn: &mut DbConn,
    l: &Linker,
    actor: &Actor,
    tip_id: &str,
) -> Result<Related, TriageError> {
    let object = format!("tip:{tip_id}");
    audited(conn, l.signer, actor, "tip.related", &object, |c| {
        if scoped_tip(c, l.route, actor, tip_id)?.is_none() {
            return Err(TriageError::NotFound);
        }
        let mine = names_of(c, l.opener, tip_id)?;
        let version: i32 = tips::table
            .filter(tips::id.eq(tip_id))
            .select(tips::index_version)
            .first(c)?;
        if version < NORMALIZATION_VERSION {
            write_index(c, l.blind, tip_id, &mine)?;
        }
        let mut candidates: Vec<String> = Vec::new();
        let mut truncated = false;
        for f in &mine {
            let ids: Vec<String> = blind_index::table
                .filter(blind_index::kind.eq(f.kind.code()))
                .filter(blind_index::tag.eq(l.blind.tag(f.kind, &f.normalized)))
                .filter(blind_index::tip_id.ne(tip_id))
                .select(blind_index::tip_id)
                .load(c)?;
            for id in ids {
                if !candidates.contains(&id) {
                    if candidates.len() >= MAX_CANDIDATES {
                        truncated = true;
                        break;
                    }
                    candidates.push(id);
                }
            }
        }
        let mut items = Vec::new();
        let mut elsewhere = 0;
        for id in candidates {
            let theirs = match names_of(c, l.opener, &id) {
                Ok(t) => t,
                Err(TriageError::Crypto) | Err(TriageError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            let shared: Vec<Shared> = mine
                .iter()
                .filter(|m| {
                    theirs
                        .iter()
                        .any(|t| t.kind == m.kind && t.normalized == m.normalized)
                })
                .map(|m| Shared {
                    kind: m.kind,
                    value: m.written.clone(),
                })
                .collect();
            if shared.is_empty() {
                continue; // a bucket neighbour, not a match
            }
            match sight(c, l.route, actor, &id)? {
                Sight::Listed => {
                    let line: TipLine = tips::table
                        .filter(tips::id.eq(&id))
                        .select(LINE_COLUMNS)
                        .first::<LineRow>(c)?
                        .into();
                    items.push(RelatedTip { tip: line, shared });
                }
                Sight::Counted => elsewhere += 1,
                Sight::Hidden => {}
            }
        }
        items.sort_by(|a, b| {
            (a.tip.created_hour, &a.tip.public_ref).cmp(&(b.tip.created_hour, &b.tip.public_ref))
        });
        Ok(Related {
            items,
            elsewhere,
            truncated,
        })
    })
}

// ---- cases ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct CaseRef {
    pub id: String,
    pub public_ref: String,
}

#[derive(Debug, Serialize)]
pub struct CaseTip {
    #[serde(flatten)]
    pub tip: TipLine,
    pub added_by: String,
    pub added_at: i64,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub id: String,
    pub public_ref: String,
    pub unit: String,
    pub created_by: String,
    pub created_at: i64,
    /// The tips the reader may see, in the order they were reported.
    pub tips: Vec<CaseTip>,
    /// Tips of the case in units the reader does not see: only how many.
    pub elsewhere: usize,
}

/// The case a tip is in, if any.
pub fn case_of(c: &mut DbConn, tip_id: &str) -> Result<Option<CaseRef>, TriageError> {
    Ok(case_tips::table
        .inner_join(cases::table)
        .filter(case_tips::tip_id.eq(tip_id))
        .select((cases::id, cases::public_ref))
        .first::<(String, String)>(c)
        .optional()?
        .map(|(id, public_ref)| CaseRef { id, public_ref }))
}

/// A case's unit, if the actor sees it (else the case does not exist for them).
fn scoped_case(c: &mut DbConn, actor: &Actor, case_id: &str) -> Result<CaseRef, TriageError> {
    cases::table
        .filter(cases::id.eq(case_id))
        .select((cases::id, cases::public_ref, cases::unit_code))
        .first::<(String, String, String)>(c)
        .optional()?
        .filter(|(_, _, unit)| actor.sees_unit(unit))
        .map(|(id, public_ref, _)| CaseRef { id, public_ref })
        .ok_or(TriageError::NotFound)
}

/// Puts a tip the actor sees into a case; a tip is in at most one case.
fn link(
    c: &mut DbConn,
    route: &RouteKey,
    actor: &Actor,
    case_id: &str,
    tip_id: &str,
) -> Result<(), TriageError> {
    if scoped_tip(c, route, actor, tip_id)?.is_none() {
        return Err(TriageError::NotFound);
    }
    if let Some(other) = case_of(c, tip_id)? {
        return Err(TriageError::Refused {
            code: "already_in_case",
            message: format!("this tip is already in case {}", other.public_ref),
        });
    }
    let n: i64 = case_tips::table
        .filter(case_tips::case_id.eq(case_id))
        .count()
        .get_result(c)?;
    if n as usize >= MAX_CASE_TIPS {
        return Err(TriageError::BadInput("a case holds at most 200 tips"));
    }
    diesel::insert_into(case_tips::table)
        .values((
            case_tips::tip_id.eq(tip_id),
            case_tips::case_id.eq(case_id),
            case_tips::added_by.eq(actor.audit_name()),
            case_tips::added_at.eq(now_unix()),
        ))
        .execute(c)?;
    Ok(())
}

/// Records, inside the transaction, that a tip was linked or unlinked (one entry per tip, so
/// the tip's audit trail shows it).
fn audit_tip(
    c: &mut DbConn,
    signer: &SigningKey,
    actor: &Actor,
    action: &str,
    tip_id: &str,
) -> Result<(), TriageError> {
    audit::append(
        c,
        signer,
        &Entry {
            actor: &actor.audit_name(),
            action,
            object: &format!("tip:{tip_id}"),
            outcome: Outcome::Ok,
        },
    )?;
    Ok(())
}

/// Opens a case holding `tip_ids` (at least one; every one visible to the actor and in no
/// other case). The case belongs to the first tip's unit.
pub fn create_case(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    tip_ids: &[String],
) -> Result<CaseRef, TriageError> {
    if tip_ids.is_empty() || tip_ids.len() > MAX_CASE_TIPS {
        return Err(TriageError::BadInput("a case starts with 1 to 200 tips"));
    }
    let id = hex::encode(crate::crypto::random_bytes::<16>()?);
    let public_ref = format!(
        "C{}",
        crate::crypto::receipt::random_digits(8).map_err(|_| TriageError::Crypto)?
    );
    let object = format!("case:{id}");
    audited(conn, signer, actor, "case.create", &object, |c| {
        let Some((unit, _)) = scoped_tip(c, route, actor, &tip_ids[0])? else {
            return Err(TriageError::NotFound);
        };
        diesel::insert_into(cases::table)
            .values((
                cases::id.eq(&id),
                cases::public_ref.eq(&public_ref),
                cases::unit_code.eq(&unit),
                cases::created_by.eq(actor.audit_name()),
                cases::created_at.eq(now_unix()),
            ))
            .execute(c)?;
        for tip in tip_ids {
            if case_tips::table
                .filter(case_tips::case_id.eq(&id))
                .filter(case_tips::tip_id.eq(tip))
                .count()
                .get_result::<i64>(c)?
                > 0
            {
                continue; // named twice
            }
            link(c, route, actor, &id, tip)?;
            audit_tip(c, signer, actor, "case.link", tip)?;
        }
        Ok(CaseRef {
            id: id.clone(),
            public_ref: public_ref.clone(),
        })
    })
}

/// Adds a tip to a case.
pub fn add_to_case(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    case_id: &str,
    tip_id: &str,
) -> Result<(), TriageError> {
    let object = format!("case:{case_id}");
    audited(conn, signer, actor, "case.link", &object, |c| {
        scoped_case(c, actor, case_id)?;
        link(c, route, actor, case_id, tip_id)?;
        audit_tip(c, signer, actor, "case.link", tip_id)
    })
}

/// Takes a tip out of a case.
pub fn remove_from_case(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    case_id: &str,
    tip_id: &str,
) -> Result<(), TriageError> {
    let object = format!("case:{case_id}");
    audited(conn, signer, actor, "case.unlink", &object, |c| {
        scoped_case(c, actor, case_id)?;
        if scoped_tip(c, route, actor, tip_id)?.is_none() {
            return Err(TriageError::NotFound);
        }
        let n = diesel::delete(
            case_tips::table
                .filter(case_tips::case_id.eq(case_id))
                .filter(case_tips::tip_id.eq(tip_id)),
        )
        .execute(c)?;
        if n == 0 {
            return Err(TriageError::NotFound);
        }
        audit_tip(c, signer, actor, "case.unlink", tip_id)
    })
}

/// A case and the tips the reader may see, in the order they were reported. Audited.
pub fn view_case(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    case_id: &str,
) -> Result<CaseView, TriageError> {
    let object = format!("case:{case_id}");
    audited(conn, signer, actor, "case.read", &object, |c| {
        scoped_case(c, actor, case_id)?;
        let (id, public_ref, unit, created_by, created_at) = cases::table
            .filter(cases::id.eq(case_id))
            .select((
                cases::id,
                cases::public_ref,
                cases::unit_code,
                cases::created_by,
                cases::created_at,
            ))
            .first::<(String, String, String, String, i64)>(c)?;
        let rows: Vec<(LineRow, (String, i64))> = case_tips::table
            .inner_join(tips::table)
            .filter(case_tips::case_id.eq(case_id))
            .order((tips::created_hour.asc(), tips::public_ref.asc()))
            .select((LINE_COLUMNS, (case_tips::added_by, case_tips::added_at)))
            .load(c)?;
        let mut tips_seen = Vec::new();
        let mut elsewhere = 0;
        for (line, (added_by, added_at)) in rows {
            let tip = TipLine::from(line);
            match sight(c, route, actor, &tip.id)? {
                Sight::Listed => tips_seen.push(CaseTip {
                    tip,
                    added_by,
                    added_at,
                }),
                Sight::Counted => elsewhere += 1,
                Sight::Hidden => {}
            }
        }
        Ok(CaseView {
            id,
            public_ref,
            unit,
            created_by,
            created_at,
            tips: tips_seen,
            elsewhere,
        })
    })
}

/// Marks a tip a duplicate of another: the state machine's `duplicate`, and `duplicate_of`
/// pointing at the original (the original's own original if it is a duplicate itself).
pub fn mark_duplicate(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    tip_id: &str,
    of: &str,
) -> Result<(), TriageError> {
    let object = format!("tip:{tip_id}");
    audited(conn, signer, actor, "tip.duplicate", &object, |c| {
        let Some((_, from)) = scoped_tip(c, route, actor, tip_id)? else {
            return Err(TriageError::NotFound);
        };
        if scoped_tip(c, route, actor, of)?.is_none() {
            return Err(TriageError::NotFound);
        }
        let original = tips::table
            .filter(tips::id.eq(of))
            .select(tips::duplicate_of)
            .first::<Option<String>>(c)?
            .unwrap_or_else(|| of.to_string());
        if original == tip_id {
            return Err(TriageError::BadInput(
                "a tip cannot be a duplicate of itself",
            ));
        }
        move_status(c, actor, tip_id, &from, "duplicate")?;
        diesel::update(tips::table.filter(tips::id.eq(tip_id)))
            .set(tips::duplicate_of.eq(Some(&original)))
            .execute(c)?;
        Ok(())
    })
}

/// The id of a tip (`T…`) or case (`C…`) given its reference, as officers quote it. Scope is
/// checked by the action the id is then used for.
pub fn id_by_ref(c: &mut DbConn, public_ref: &str) -> Result<Option<String>, TriageError> {
    let r = public_ref.trim().to_ascii_uppercase();
    Ok(if r.starts_with('C') {
        cases::table
            .filter(cases::public_ref.eq(r))
            .select(cases::id)
            .first(c)
            .optional()?
    } else {
        tips::table
            .filter(tips::public_ref.eq(r))
            .select(tips::id)
            .first(c)
            .optional()?
    })
}
