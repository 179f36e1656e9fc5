//! Working a unit's tips: the queue (metadata only, keyset pagination), opening a tip (decrypted
//! for that person, audited), transitions, assignment, priority and tags, sealed notes. Each
//! action checks role and unit, and writes its audit entry in the same transaction; refused
//! attempts are audited too.

pub use super::gate::{TriageError, entered_by};
pub(crate) use super::gate::{audited, move_status, reaches, route_intact, scoped_tip};
use super::reader::open_payload;
use super::routing::{Route, RouteKey};
use super::states;
use crate::crypto::random_bytes;
use crate::crypto::seal::{Opener, Recipient, Sealer};
use crate::db::schema::{staff, tip_events, tip_notes, tips};
use crate::db::{DbConn, now_unix};
use crate::staff::{Actor, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde::Serialize;

/// What a change that seals something needs: the audit signer, the sealer and the office key.
pub struct Desk<'a> {
    pub signer: &'a SigningKey,
    pub sealer: &'a Sealer,
    pub office: &'a Recipient,
    /// Staff notices are sealed to the relay key.
    pub relay: &'a Recipient,
    /// Outgoing SMS and mail to reporters are sealed to the edge's relay key (issue 18).
    pub reporter_relay: &'a Recipient,
    /// For links in staff notices.
    pub public_url: &'a str,
    /// Checks each tip's routing binding before any action on it.
    pub route: &'a RouteKey,
}

#[derive(Debug, Default, Clone)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    pub township: Option<String>,
    pub channel: Option<String>,
    pub priority: Option<i32>,
    pub tag: Option<String>,
    /// Only tips at most this many days old.
    pub max_age_days: Option<i64>,
    pub oldest_first: bool,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// Only tips assigned to the reader (`Mine`) or to nobody (`Nobody`).
    pub assigned: Option<Assigned>,
}

/// The queue's assignment filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assigned {
    Mine,
    Nobody,
}

impl Assigned {
    /// `me` or `none`, as the queue's `assigned` parameter writes it.
    pub fn parse(s: &str) -> Option<Assigned> {
        match s {
            "me" => Some(Assigned::Mine),
            "none" => Some(Assigned::Nobody),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct QueueItem {
    pub id: String,
    pub public_ref: String,
    pub channel: String,
    pub category: String,
    pub township: String,
    pub unit: String,
    pub status: String,
    pub priority: i32,
    pub county_only: bool,
    pub created_hour: i64,
    pub tags: Vec<String>,
    /// The staff id of the officer it is assigned to.
    pub assigned_to: Option<String>,
    /// Their username, for people.
    pub assignee: Option<String>,
    pub attachments: i32,
    /// Messages from the reporter nobody has read yet.
    pub unread_messages: i32,
    /// Whether unit, county-only, category and township are the ones intake bound to this tip
    /// (issue 13 item 9). `false` means the database was written around the application (or
    /// the tip predates the binding): only the county brigade sees such a tip, flagged.
    pub route_intact: bool,
}

/// The columns the queue shows: metadata only, never content.
type QueueColumns = (
    tips::id,
    tips::public_ref,
    tips::channel,
    tips::category,
    tips::township,
    tips::unit_code,
    tips::status,
    tips::priority,
    tips::county_only,
    tips::created_hour,
    tips::tags,
    tips::assigned_to,
    tips::attachment_count,
    tips::unread_messages,
    tips::route_mac,
);
const QUEUE_COLUMNS: QueueColumns = (
    tips::id,
    tips::public_ref,
    tips::channel,
    tips::category,
    tips::township,
    tips::unit_code,
    tips::status,
    tips::priority,
    tips::county_only,
    tips::created_hour,
    tips::tags,
    tips::assigned_to,
    tips::attachment_count,
    tips::unread_messages,
    tips::route_mac,
);

type QueueRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    bool,
    i64,
    String,
    Option<String>,
    i32,
    i32,
    Option<Vec<u8>>,
);

impl QueueItem {
    /// A queue row, its routing binding checked.
    fn checked(r: QueueRow, key: &RouteKey) -> Self {
        let route_intact = key.holds(
            &Route {
                tip_id: &r.0,
                unit: &r.5,
                county_only: r.8,
                category: &r.3,
                township: &r.4,
            },
            r.14.as_deref(),
        );
        QueueItem {
            id: r.0,
            public_ref: r.1,
            channel: r.2,
            category: r.3,
            township: r.4,
            unit: r.5,
            status: r.6,
            priority: r.7,
            county_only: r.8,
            created_hour: r.9,
            tags: tags_of(&r.10),
            assigned_to: r.11,
            assignee: None,
            attachments: r.12,
            unread_messages: r.13,
            route_intact,
        }
    }
}

fn tags_of(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn encode_cursor(hour: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{hour}:{id}"))
}

fn decode_cursor(c: &str) -> Result<(i64, String), TriageError> {
    let raw = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| TriageError::BadInput("bad cursor"))?;
    let text = String::from_utf8(raw).map_err(|_| TriageError::BadInput("bad cursor"))?;
    let (h, id) = text
        .split_once(':')
        .ok_or(TriageError::BadInput("bad cursor"))?;
    Ok((
        h.parse().map_err(|_| TriageError::BadInput("bad cursor"))?,
        id.to_string(),
    ))
}

fn require_reader(actor: &Actor) -> Result<(), TriageError> {
    if actor.role.reads_tips() {
        Ok(())
    } else {
        Err(TriageError::Forbidden)
    }
}

/// The unit filter for an actor: `None` means every unit (county supervisors).
fn scope(actor: &Actor) -> Option<String> {
    if actor.sees_all() {
        None
    } else {
        actor.unit.clone()
    }
}

/// The queue: metadata only, never content; newest or oldest first, keyset pagination.
pub fn queue(
    conn: &mut DbConn,
    actor: &Actor,
    route: &RouteKey,
    f: &QueueFilter,
) -> Result<(Vec<QueueItem>, Option<String>), TriageError> {
    require_reader(actor)?;
    let limit = f.limit.unwrap_or(50).clamp(1, 200);
    let mut q = tips::table.into_boxed();
    if let Some(unit) = scope(actor) {
        if actor.in_county_brigade() {
            // The county brigade is told about a tip moved out of it (or anywhere) by a
            // database write: its queue lists every tip whose binding fails, flagged.
            let moved = moved_elsewhere(conn, route, &unit)?;
            q = q.filter(tips::unit_code.eq(unit).or(tips::id.eq_any(moved)));
        } else {
            q = q.filter(tips::unit_code.eq(unit));
        }
    }
    if let Some(s) = &f.status {
        q = q.filter(tips::status.eq(s.clone()));
    }
    if let Some(s) = &f.category {
        q = q.filter(tips::category.eq(s.clone()));
    }
    if let Some(s) = &f.township {
        q = q.filter(tips::township.eq(s.clone()));
    }
    if let Some(s) = &f.channel {
        q = q.filter(tips::channel.eq(s.clone()));
    }
    if let Some(p) = f.priority {
        q = q.filter(tips::priority.eq(p));
    }
    if let Some(t) = &f.tag {
        q = q.filter(tips::tags.like(format!("%,{t},%")));
    }
    match f.assigned {
        Some(Assigned::Mine) => q = q.filter(tips::assigned_to.eq(actor.id.clone())),
        Some(Assigned::Nobody) => q = q.filter(tips::assigned_to.is_null()),
        None => {}
    }
    if let Some(days) = f.max_age_days {
        q = q.filter(tips::created_hour.ge(now_unix() - days.clamp(0, 36_500) * 86_400));
    }
    if let Some(c) = &f.cursor {
        let (h, id) = decode_cursor(c)?;
        q = if f.oldest_first {
            q.filter(
                tips::created_hour
                    .gt(h)
                    .or(tips::created_hour.eq(h).and(tips::id.gt(id))),
            )
        } else {
            q.filter(
                tips::created_hour
                    .lt(h)
                    .or(tips::created_hour.eq(h).and(tips::id.lt(id))),
            )
        };
    }
    q = if f.oldest_first {
        q.order((tips::created_hour.asc(), tips::id.asc()))
    } else {
        q.order((tips::created_hour.desc(), tips::id.desc()))
    };
    let rows: Vec<QueueRow> = q.select(QUEUE_COLUMNS).limit(limit + 1).load(conn)?;
    let more = rows.len() as i64 > limit;
    let mut items: Vec<QueueItem> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| QueueItem::checked(r, route))
        .collect();
    name_assignees(conn, &mut items)?;
    let next = if more {
        items.last().map(|i| encode_cursor(i.created_hour, &i.id))
    } else {
        None
    };
    // A tip whose routing does not match its binding may be a county-only tip moved to this
    // unit by a database write: outside the county brigade it is not shown at all.
    let county = actor.in_county_brigade();
    let items = items
        .into_iter()
        .filter(|i| i.route_intact || county)
        .collect();
    Ok((items, next))
}

/// The tips outside `unit` whose routing columns do not match their binding.
fn moved_elsewhere(
    conn: &mut DbConn,
    route: &RouteKey,
    unit: &str,
) -> Result<Vec<String>, TriageError> {
    type Row = (String, String, bool, String, String, Option<Vec<u8>>);
    let rows: Vec<Row> = tips::table
        .filter(tips::unit_code.ne(unit))
        .select((
            tips::id,
            tips::unit_code,
            tips::county_only,
            tips::category,
            tips::township,
            tips::route_mac,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(id, unit, county_only, category, township, mac)| {
            !route.holds(
                &Route {
                    tip_id: id,
                    unit,
                    county_only: *county_only,
                    category,
                    township,
                },
                mac.as_deref(),
            )
        })
        .map(|r| r.0)
        .collect())
}

/// Fills in the username of each item's assignee (one query for the page).
fn name_assignees(conn: &mut DbConn, items: &mut [QueueItem]) -> Result<(), TriageError> {
    let mut ids: Vec<String> = items.iter().filter_map(|i| i.assigned_to.clone()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let names: std::collections::HashMap<String, String> = staff::table
        .filter(staff::id.eq_any(&ids))
        .select((staff::id, staff::username))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for i in items {
        i.assignee = i.assigned_to.as_ref().and_then(|a| names.get(a).cloned());
    }
    Ok(())
}

/// Tips per status in the actor's scope. Outside the county brigade a tip whose routing
/// binding fails is not counted (it does not exist for them); the county brigade counts it
/// whatever its unit column says, as its queue lists it.
pub fn counts(
    conn: &mut DbConn,
    actor: &Actor,
    route: &RouteKey,
) -> Result<Vec<(String, i64)>, TriageError> {
    require_reader(actor)?;
    if actor.sees_all() && actor.in_county_brigade() {
        // Every tip reaches this reader, bound or not: the counts come from the status index
        // alone (issue 19: checking a million bindings took 7 s per queue page).
        let mut out: Vec<(String, i64)> = tips::table
            .group_by(tips::status)
            .select((tips::status, diesel::dsl::count_star()))
            .load(conn)?;
        out.sort();
        return Ok(out);
    }
    let mut q = tips::table
        .select((
            tips::id,
            tips::unit_code,
            tips::status,
            tips::county_only,
            tips::category,
            tips::township,
            tips::route_mac,
        ))
        .into_boxed();
    let county = actor.in_county_brigade();
    if !county && let Some(unit) = scope(actor) {
        q = q.filter(tips::unit_code.eq(unit));
    }
    type Row = (
        String,
        String,
        String,
        bool,
        String,
        String,
        Option<Vec<u8>>,
    );
    let mut out: Vec<(String, i64)> = Vec::new();
    for (id, unit, status, county_only, category, township, mac) in q.load::<Row>(conn)? {
        let intact = route.holds(
            &Route {
                tip_id: &id,
                unit: &unit,
                county_only,
                category: &category,
                township: &township,
            },
            mac.as_deref(),
        );
        if !reaches(actor, &unit, intact) {
            continue;
        }
        match out.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => out.push((status, 1)),
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `change` on a tip in one transaction with its audit entry; refusals are audited too.
fn act<T>(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    action: &str,
    id: &str,
    change: impl FnOnce(&mut DbConn, &str) -> Result<T, TriageError>,
) -> Result<T, TriageError> {
    let object = format!("tip:{id}");
    audited(conn, signer, actor, action, &object, |c| {
        let Some((_, status)) = scoped_tip(c, route, actor, id)? else {
            return Err(TriageError::NotFound);
        };
        change(c, &status)
    })
}

#[derive(Serialize)]
pub struct TipEvent {
    pub at: i64,
    pub actor: String,
    pub from: String,
    pub to: String,
}

#[derive(Serialize)]
pub struct TipNote {
    pub at: i64,
    pub author: String,
    pub body: String,
}

#[derive(Serialize)]
pub struct TipView {
    #[serde(flatten)]
    pub meta: QueueItem,
    /// The decrypted payload: what the reporter wrote. Never contact details.
    pub report: serde_json::Value,
    pub events: Vec<TipEvent>,
    pub notes: Vec<TipNote>,
    /// The conversation with the reporter; opening the tip marks it read.
    pub messages: Vec<super::messages::Message>,
    pub next_states: Vec<&'static str>,
    /// The case this tip was linked into, if any.
    pub case: Option<super::links::CaseRef>,
    /// The tip this one repeats, when it was marked a duplicate.
    pub duplicate_of: Option<String>,
    /// Who entered the tip by hand (hotline, box) and saw its receipt: they may not verify it
    /// or handle its reward.
    pub entered_by: Option<String>,
    /// The hour the reporter last exchanged the receipt on the web (hour precision only).
    pub receipt_exchanged_hour: Option<i64>,
}

/// Opens a tip for one person: audited in the same transaction as the read.
pub fn open_tip(
    conn: &mut DbConn,
    signer: &SigningKey,
    opener: &Opener,
    blind: Option<&crate::crypto::blind::BlindKeys>,
    route: &RouteKey,
    actor: &Actor,
    id: &str,
) -> Result<TipView, TriageError> {
    act(conn, signer, route, actor, "tip.read", id, |c, status| {
        let r: QueueRow = tips::table
            .filter(tips::id.eq(id))
            .select(QUEUE_COLUMNS)
            .first(c)?;
        let meta = QueueItem::checked(r, route);
        // Refused (as if absent, and audited as denied) outside the county brigade; the county
        // brigade reads it with the flag.
        if !meta.route_intact && !actor.in_county_brigade() {
            return Err(TriageError::NotFound);
        }
        let payload = open_payload(c, opener, id)?;
        let mut report: serde_json::Value =
            serde_json::from_slice(&payload).map_err(|_| TriageError::Crypto)?;
        // Defence in depth: a contact envelope is a separate object, but never let one through.
        if let Some(o) = report.as_object_mut() {
            o.remove("contact");
            // Readers see the hour a tip came in, never the second (issue 13). Payloads sealed
            // before that rule hold the second; it is cut here, so no officer is shown it.
            if let Some(at) = o.get("submitted_at").and_then(|v| v.as_i64()) {
                o.insert("submitted_at".into(), crate::db::hour_floor(at).into());
            }
        }
        // Index it now if the background pass has not yet, so its related tips show at once.
        if let Some(keys) = blind {
            super::links::ensure_indexed(c, keys, id, &report)?;
        }
        let events = tip_events::table
            .filter(tip_events::tip_id.eq(id))
            .order(tip_events::at)
            .select((
                tip_events::at,
                tip_events::actor,
                tip_events::from_status,
                tip_events::to_status,
            ))
            .load::<(i64, String, String, String)>(c)?
            .into_iter()
            .map(|(at, actor, from, to)| TipEvent {
                at,
                actor,
                from,
                to,
            })
            .collect();
        let note_rows = tip_notes::table
            .filter(tip_notes::tip_id.eq(id))
            .order(tip_notes::at)
            .select((tip_notes::id, tip_notes::author, tip_notes::at))
            .load::<(String, String, i64)>(c)?;
        let mut notes = Vec::with_capacity(note_rows.len());
        for (note_id, author, at) in note_rows {
            let body = super::reader::open_object(c, opener, "note", &note_id, "tip_notes")?;
            notes.push(TipNote {
                at,
                author,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let messages =
            super::messages::for_office(c, opener, id).map_err(|_| TriageError::Crypto)?;
        super::messages::mark_read(c, id).map_err(|_| TriageError::Crypto)?;
        let (duplicate_of, clerk, receipt_exchanged_hour) = tips::table
            .filter(tips::id.eq(id))
            .select((
                tips::duplicate_of,
                tips::entered_by,
                tips::receipt_exchanged_hour,
            ))
            .first::<(Option<String>, Option<String>, Option<i64>)>(c)?;
        let entered_by = match clerk {
            Some(staff_id) => staff::table
                .filter(staff::id.eq(&staff_id))
                .select(staff::username)
                .first::<String>(c)
                .optional()?,
            None => None,
        };
        let mut meta = [meta];
        name_assignees(c, &mut meta)?;
        let [meta] = meta;
        Ok(TipView {
            entered_by,
            receipt_exchanged_hour,
            case: super::links::case_of(c, id)?,
            duplicate_of,
            meta,
            messages,
            report,
            events,
            notes,
            next_states: states::next_states(status).to_vec(),
        })
    })
}

/// Moves a tip to another state, with an optional sealed note.
pub fn transition(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    to: &str,
    note: Option<&str>,
) -> Result<(), TriageError> {
    if !states::STATUSES.contains(&to) {
        return Err(TriageError::BadInput("unknown status"));
    }
    let action = format!("tip.transition.{to}");
    act(
        conn,
        desk.signer,
        desk.route,
        actor,
        &action,
        id,
        |c, from| {
            move_status(c, actor, id, from, to)?;
            if let Some(text) = note.filter(|n| !n.trim().is_empty()) {
                insert_note(c, desk, actor, id, text)?;
            }
            Ok(())
        },
    )
}

fn insert_note(
    c: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    tip_id: &str,
    text: &str,
) -> Result<(), TriageError> {
    if text.chars().count() > 10_000 {
        return Err(TriageError::BadInput("note too long"));
    }
    let note_id = hex::encode(random_bytes::<12>()?);
    let sealed = desk
        .sealer
        .seal(desk.office, "note", &note_id, text.as_bytes())?;
    crate::db::sealed::insert_sealed_key(c, &sealed.epoch_row)?;
    crate::db::sealed::insert_sealed_key(c, &sealed.dek_row)?;
    diesel::insert_into(tip_notes::table)
        .values((
            tip_notes::id.eq(&note_id),
            tip_notes::tip_id.eq(tip_id),
            tip_notes::author.eq(actor.audit_name()),
            tip_notes::at.eq(now_unix()),
            tip_notes::body.eq(&sealed.ciphertext),
        ))
        .execute(c)?;
    Ok(())
}

/// Adds an internal note, sealed to the office key.
pub fn add_note(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    text: &str,
) -> Result<(), TriageError> {
    if text.trim().is_empty() {
        return Err(TriageError::BadInput("empty note"));
    }
    act(
        conn,
        desk.signer,
        desk.route,
        actor,
        "tip.note",
        id,
        |c, _| insert_note(c, desk, actor, id, text),
    )
}

/// Assigns a tip to an officer of the tip's unit (or clears the assignment).
pub fn assign(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    id: &str,
    username: Option<&str>,
) -> Result<(), TriageError> {
    act(conn, signer, route, actor, "tip.assign", id, |c, _| {
        let assignee = match username {
            None => None,
            Some(u) => {
                let (sid, role, unit): (String, String, Option<String>) = staff::table
                    .filter(staff::username.eq(u))
                    .filter(staff::disabled.eq(false))
                    .select((staff::id, staff::role, staff::unit_code))
                    .first(c)
                    .optional()?
                    .ok_or(TriageError::BadInput("no such officer"))?;
                let tip_unit: String = tips::table
                    .filter(tips::id.eq(id))
                    .select(tips::unit_code)
                    .first(c)?;
                let role_ok = Role::parse(&role).is_some_and(Role::reads_tips);
                let sees = Actor {
                    id: sid.clone(),
                    username: u.to_string(),
                    role: Role::parse(&role).unwrap_or(Role::Auditor),
                    unit,
                };
                let intact = route_intact(c, route, id)?.unwrap_or(false);
                if !role_ok || !reaches(&sees, &tip_unit, intact) {
                    return Err(TriageError::BadInput("that person cannot work this tip"));
                }
                Some(sid)
            }
        };
        diesel::update(tips::table.filter(tips::id.eq(id)))
            .set((
                tips::assigned_to.eq(assignee),
                tips::updated_at.eq(now_unix()),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Sets priority (0-3) and/or tags (letters, digits, dash; at most 10).
pub fn set_triage(
    conn: &mut DbConn,
    signer: &SigningKey,
    route: &RouteKey,
    actor: &Actor,
    id: &str,
    priority: Option<i32>,
    tags: Option<&[String]>,
) -> Result<(), TriageError> {
    if priority.is_some_and(|p| !(0..=3).contains(&p)) {
        return Err(TriageError::BadInput("priority is 0 to 3"));
    }
    let tag_text = match tags {
        None => None,
        Some(list) => {
            if list.len() > 10
                || list.iter().any(|t| {
                    t.is_empty()
                        || t.chars().count() > 32
                        || !t
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
                })
            {
                return Err(TriageError::BadInput(
                    "tags: at most 10, letters, digits, - and _",
                ));
            }
            Some(if list.is_empty() {
                String::new()
            } else {
                format!(",{},", list.join(","))
            })
        }
    };
    act(conn, signer, route, actor, "tip.triage", id, |c, _| {
        if let Some(p) = priority {
            diesel::update(tips::table.filter(tips::id.eq(id)))
                .set(tips::priority.eq(p))
                .execute(c)?;
        }
        if let Some(t) = &tag_text {
            diesel::update(tips::table.filter(tips::id.eq(id)))
                .set(tips::tags.eq(t))
                .execute(c)?;
        }
        Ok(())
    })
}

/// Writes to the reporter from the tip page: sealed to the office and the reply key, audited.
pub fn post_message(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    id: &str,
    body: &str,
) -> Result<(), TriageError> {
    let n = body.trim().chars().count();
    if n == 0 || n > super::messages::MAX_MESSAGE_CHARS {
        return Err(TriageError::BadInput("a message is 1 to 2,000 characters"));
    }
    act(
        conn,
        desk.signer,
        desk.route,
        actor,
        "tip.message",
        id,
        |c, _| {
            let s = super::messages::Sealing {
                sealer: desk.sealer,
                office: desk.office,
                relay: desk.relay,
                public_url: desk.public_url,
            };
            super::messages::append(
                c,
                &s,
                id,
                super::messages::Direction::Police,
                Some(&actor.username),
                body,
            )
            .and_then(|()| forward_to_reporter(c, desk, id, body))
            .map_err(|e| match e {
                super::messages::MessageError::Db(d) => TriageError::Db(d),
                super::messages::MessageError::Length => {
                    TriageError::BadInput("a message is 1 to 2,000 characters")
                }
                super::messages::MessageError::NotFound => TriageError::NotFound,
                super::messages::MessageError::Crypto(_) => TriageError::Crypto,
            })
        },
    )
}

/// A reporter who wrote by SMS or email gets the reply that way too (through the outbox, in the
/// same transaction as the message).
fn forward_to_reporter(
    c: &mut DbConn,
    desk: &Desk,
    id: &str,
    body: &str,
) -> Result<(), super::messages::MessageError> {
    let has_contact: bool = tips::table
        .filter(tips::id.eq(id))
        .select(tips::contact.is_not_null())
        .first(c)?;
    if has_contact {
        let job = crate::notify::Job::Reporter {
            tip_id: id.to_string(),
            template: "new_message".into(),
            params: vec![body.trim().to_string()],
        };
        crate::notify::outbox::enqueue(c, desk.sealer, desk.reporter_relay, &job)?;
    }
    Ok(())
}

/// The public reference of a tip, if the tip exists.
pub fn public_ref_of(c: &mut DbConn, tip_id: &str) -> QueryResult<Option<String>> {
    tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::public_ref)
        .first::<String>(c)
        .optional()
}
