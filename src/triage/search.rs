//! Search by identifier (issue 15): an officer types a phone number, plate, ID number, venue or
//! person name, in any spelling, and finds the tips that name it. The value is normalized as
//! linking does (`crypto::blind`), looked up in the blind index, and every candidate is
//! confirmed by decrypting it: a tag is only a bucket. Results are scoped like the queue; tips
//! of other units are only counted, and a county-only tip is never counted for a reader
//! outside the county brigade (the reporter asked that nobody else learn it exists).
//!
//! Each search is audited with the kinds searched and the number of results, never the value,
//! and limited per officer (`SearchLimiter`): each search is a probe of the index.

use super::links::{LINE_COLUMNS, LineRow, Linker, MAX_CANDIDATES, TipLine, names_of};
use super::work::{TriageError, audited};
use crate::audit::{self, Entry, Outcome};
use crate::crypto::blind::{self, Kind};
use crate::db::DbConn;
use crate::db::schema::{blind_index, tips};
use crate::intake::catalog::COUNTY_UNIT;
use crate::staff::Actor;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Longest value accepted (characters): longer than any identifier or name.
pub const MAX_QUERY_CHARS: usize = 100;

/// Searches one officer may run per window, per node. A day's real work is a few dozen; a
/// script walking the phone-number space is stopped after this many.
pub const SEARCHES_PER_WINDOW: u32 = 30;
pub const WINDOW_SECS: i64 = 600;

/// What one value is searched as: each kind it could be, with its normalized form.
pub fn interpret(value: &str, kind: Option<Kind>) -> Vec<(Kind, String)> {
    let as_kind = |k: Kind| match k {
        Kind::Phone => blind::normalize_phone(value),
        Kind::IdNumber => blind::normalize_id_number(value),
        Kind::Plate => blind::normalize_plate(value),
        Kind::Venue => blind::normalize_venue(value),
        Kind::Person => blind::normalize_person(value),
    };
    match kind {
        Some(k) => as_kind(k).map(|n| vec![(k, n)]).unwrap_or_default(),
        None => {
            // A number or a plate is that, and not also a name.
            let exact: Vec<(Kind, String)> = [Kind::Phone, Kind::IdNumber, Kind::Plate]
                .into_iter()
                .filter_map(|k| as_kind(k).map(|n| (k, n)))
                .collect();
            if !exact.is_empty() {
                return exact;
            }
            [Kind::Venue, Kind::Person]
                .into_iter()
                .filter_map(|k| as_kind(k).map(|n| (k, n)))
                .collect()
        }
    }
}

/// One tip found: its metadata (never content) and the kinds it matched.
#[derive(Debug, Serialize)]
pub struct Hit {
    #[serde(flatten)]
    pub tip: TipLine,
    pub matched: Vec<Kind>,
}

#[derive(Debug, Serialize)]
pub struct SearchResult {
    /// The kinds the value was searched as.
    pub kinds: Vec<Kind>,
    /// Tips the reader may open, newest first.
    pub items: Vec<Hit>,
    /// Tips in units the reader does not see that name it: only how many.
    pub elsewhere: usize,
    /// True when the lookup stopped after `MAX_CANDIDATES` candidates.
    pub truncated: bool,
}

/// Searches the tips that name `value` (as `kind`, or every kind it could be). Audited as
/// `tip.search` with object `search:{kinds}:{results}`; the value is never written anywhere.
pub fn search(
    conn: &mut DbConn,
    l: &Linker,
    actor: &Actor,
    value: &str,
    kind: Option<Kind>,
) -> Result<SearchResult, TriageError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_QUERY_CHARS {
        return Err(TriageError::BadInput("a search is 1 to 100 characters"));
    }
    let wanted = interpret(value, kind);
    if wanted.is_empty() {
        return Err(TriageError::BadInput(
            "not a phone, plate, ID number, venue or name",
        ));
    }
    let kinds: Vec<Kind> = wanted.iter().map(|(k, _)| *k).collect();
    let kind_codes = kinds.iter().map(|k| k.code()).collect::<Vec<_>>().join("+");
    if !actor.role.reads_tips() {
        // Refused and audited as such by `audited`, before anything is looked up.
        return audited(conn, l.signer, actor, "tip.search", "search", |_| {
            Err(TriageError::Forbidden)
        });
    }
    // The audit entry carries the number of results, so it is appended after the lookup, in
    // the same transaction, with the head locked first as every audited read does.
    let mut r = conn.transaction::<_, TriageError, _>(|c| {
        audit::lock_head(c)?;
        let r = find(c, l, actor, &wanted)?;
        let object = format!("search:{kind_codes}:{}", r.items.len());
        audit::append(
            c,
            l.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: "tip.search",
                object: &object,
                outcome: Outcome::Ok,
            },
        )?;
        Ok(r)
    })?;
    r.kinds = kinds;
    Ok(r)
}

fn find(
    c: &mut DbConn,
    l: &Linker,
    actor: &Actor,
    wanted: &[(Kind, String)],
) -> Result<SearchResult, TriageError> {
    if !actor.role.reads_tips() {
        return Err(TriageError::Forbidden);
    }
    let mut candidates: Vec<String> = Vec::new();
    let mut truncated = false;
    for (kind, normalized) in wanted {
        let ids: Vec<String> = blind_index::table
            .filter(blind_index::kind.eq(kind.code()))
            .filter(blind_index::tag.eq(l.blind.tag(*kind, normalized)))
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
        let matched: Vec<Kind> = wanted
            .iter()
            .filter(|(k, n)| theirs.iter().any(|t| t.kind == *k && &t.normalized == n))
            .map(|(k, _)| *k)
            .collect();
        if matched.is_empty() {
            continue; // a bucket neighbour, not a match
        }
        let (row, county_only): (LineRow, bool) = tips::table
            .filter(tips::id.eq(&id))
            .select((LINE_COLUMNS, tips::county_only))
            .first(c)?;
        let line = TipLine::from(row);
        // A tip whose routing binding fails is listed to the county brigade only, and not
        // even counted elsewhere (it may have been county-only).
        let intact = super::work::route_intact(c, l.route, &id)?.unwrap_or(false);
        if super::work::reaches(actor, &line.unit, intact) {
            items.push(Hit { tip: line, matched });
        } else if intact && (!county_only || actor.sees_unit(COUNTY_UNIT)) {
            elsewhere += 1;
        }
    }
    items.sort_by(|a, b| {
        (b.tip.created_hour, &b.tip.public_ref).cmp(&(a.tip.created_hour, &a.tip.public_ref))
    });
    Ok(SearchResult {
        kinds: Vec::new(),
        items,
        elsewhere,
        truncated,
    })
}

/// Searches per officer per window, in this node's memory. Keyed by staff id; the table
/// holds no search values and empties every window.
#[derive(Default)]
pub struct SearchLimiter {
    windows: Mutex<(i64, HashMap<String, u32>)>,
}

impl SearchLimiter {
    /// `Err(seconds to wait)` once `actor` has used up this window.
    pub fn check(&self, actor: &Actor, now: i64) -> Result<(), u64> {
        let window = now.div_euclid(WINDOW_SECS);
        let Ok(mut guard) = self.windows.lock() else {
            return Err(1);
        };
        let (current, counts) = &mut *guard;
        if *current != window {
            *current = window;
            counts.clear();
        }
        let n = counts.entry(actor.id.clone()).or_insert(0);
        if *n >= SEARCHES_PER_WINDOW {
            return Err((WINDOW_SECS - now.rem_euclid(WINDOW_SECS)).max(1) as u64);
        }
        *n += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::Role;

    #[test]
    fn numbers_are_not_also_names() {
        let k: Vec<Kind> = interpret("138 1234 5678", None)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(k, vec![Kind::Phone]);
        let k: Vec<Kind> = interpret("老三", None)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(k.contains(&Kind::Person), "{k:?}");
        assert!(interpret("x", None).is_empty());
    }

    #[test]
    fn each_officer_has_a_window_of_searches() {
        let l = SearchLimiter::default();
        let a = |id: &str| Actor {
            id: id.into(),
            username: id.into(),
            role: Role::Officer,
            unit: None,
        };
        for _ in 0..SEARCHES_PER_WINDOW {
            assert!(l.check(&a("one"), 1_000_000).is_ok());
        }
        assert!(l.check(&a("one"), 1_000_001).is_err());
        assert!(l.check(&a("two"), 1_000_001).is_ok());
        assert!(l.check(&a("one"), 1_000_000 + WINDOW_SECS).is_ok());
    }
}
