//! Staff notifications: an email (or SMS) when a tip lands in someone's queue or a reporter
//! writes, saying only that there is something and where to look: never tip content. Each
//! person chooses the events and channels; their address is sealed to the relay key like a
//! reporter's, so the database alone does not hold staff addresses either.

use super::Job;
use super::outbox::{OutboxError, enqueue};
pub use super::staff_contact::{CHANNELS, EVENTS, StaffContact};
use super::staff_contact::{open_contact, parse_notify};
use crate::crypto::CryptoError;
use crate::crypto::seal::{Opener, Recipient, Sealer};
use crate::db::schema::{staff, tips};
use crate::db::{DbConn, DbError};
use crate::staff::Actor;
use crate::triage::reader::forget_keys;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Prefs {
    pub events: Vec<String>,
    pub channels: Vec<String>,
    pub has_email: bool,
    pub has_phone: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PrefsError {
    #[error("unknown event or channel (events: new_tip, message; channels: email, sms)")]
    Unknown,
    #[error("not a mail address")]
    BadEmail,
    #[error("not a phone number")]
    BadPhone,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealing failed")]
    Crypto(#[from] CryptoError),
}

impl From<diesel::result::Error> for PrefsError {
    fn from(e: diesel::result::Error) -> Self {
        PrefsError::Db(DbError::Query(e))
    }
}

/// What a person has chosen (addresses are only said to exist, never shown back).
pub fn prefs(
    conn: &mut DbConn,
    actor: &Actor,
    relay: Option<&Opener>,
) -> Result<Prefs, PrefsError> {
    let (notify, contact): (String, Option<Vec<u8>>) = staff::table
        .filter(staff::id.eq(&actor.id))
        .select((staff::notify, staff::contact))
        .first(conn)?;
    let (events, channels) = parse_notify(&notify);
    let c = match (contact, relay) {
        (Some(ct), Some(r)) => open_contact(conn, r, &actor.id, &ct).unwrap_or_default(),
        _ => StaffContact::default(),
    };
    Ok(Prefs {
        events,
        channels,
        has_email: c.email.is_some(),
        has_phone: c.phone.is_some(),
    })
}

/// A person's choice: events, channels, and (when given) where. `None` keeps the stored
/// address; an empty string removes it.
pub struct Choice<'a> {
    pub events: &'a [String],
    pub channels: &'a [String],
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Sets what a person hears about, and where.
pub fn set_prefs(
    conn: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    relay_opener: Option<&Opener>,
    actor: &Actor,
    choice: &Choice,
) -> Result<(), PrefsError> {
    let (events, channels) = (choice.events, choice.channels);
    if events.iter().any(|e| !EVENTS.contains(&e.as_str()))
        || channels.iter().any(|c| !CHANNELS.contains(&c.as_str()))
    {
        return Err(PrefsError::Unknown);
    }
    let (email, phone) = (choice.email, choice.phone);
    if let Some(e) = email.filter(|e| !e.is_empty())
        && e.parse::<lettre::Address>().is_err()
    {
        return Err(PrefsError::BadEmail);
    }
    if let Some(p) = phone.filter(|p| !p.is_empty()) {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(6..=15).contains(&digits) || p.chars().any(|c| !"+0123456789 -()".contains(c)) {
            return Err(PrefsError::BadPhone);
        }
    }
    conn.transaction::<_, PrefsError, _>(|c| {
        // Write lock first (as every staff write does): on SQLite a read-then-write
        // transaction that upgrades late fails with "database is locked" when another PUT of
        // the same person commits in between.
        crate::audit::lock_head(c)?;
        let mut current = match (
            staff::table
                .filter(staff::id.eq(&actor.id))
                .select(staff::contact)
                .first::<Option<Vec<u8>>>(c)?,
            relay_opener,
        ) {
            (Some(ct), Some(r)) => open_contact(c, r, &actor.id, &ct)?,
            _ => StaffContact::default(),
        };
        if let Some(e) = email {
            current.email = Some(e.trim().to_string()).filter(|e| !e.is_empty());
        }
        if let Some(p) = phone {
            current.phone = Some(super::contact::normalize_phone(p)).filter(|p| !p.is_empty());
        }
        forget_keys(c, "staff_contact", &actor.id).map_err(|_| CryptoError::Seal)?;
        let sealed_contact = if current == StaffContact::default() {
            None
        } else {
            let json = zeroize::Zeroizing::new(
                serde_json::to_vec(&current).map_err(|_| CryptoError::Seal)?,
            );
            let s = sealer.seal(relay, "staff_contact", &actor.id, &json)?;
            crate::db::sealed::insert_sealed_key(c, &s.epoch_row)?;
            crate::db::sealed::insert_sealed_key(c, &s.dek_row)?;
            Some(s.ciphertext)
        };
        let notify: Vec<&str> = events
            .iter()
            .chain(channels.iter())
            .map(String::as_str)
            .collect();
        diesel::update(staff::table.filter(staff::id.eq(&actor.id)))
            .set((
                staff::contact.eq(sealed_contact),
                staff::notify.eq(notify.join(",")),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Who hears about `event` for tips of `unit`: active officers and supervisors of that unit
/// who chose the event (county-wide supervisors are not paged for every station's tip).
fn listeners(conn: &mut DbConn, unit: &str, event: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String, String)> = staff::table
        .filter(staff::unit_code.eq(unit))
        .filter(staff::disabled.eq(false))
        .filter(staff::role.eq_any(["officer", "supervisor"]))
        .filter(staff::contact.is_not_null())
        .select((staff::id, staff::notify))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, n)| parse_notify(n).0.iter().any(|e| e == event))
        .map(|(id, _)| id)
        .collect())
}

/// Queues a notice for each listener, inside the caller's transaction.
pub fn notify_unit(
    c: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    unit: &str,
    event: &str,
    params: Vec<String>,
) -> Result<usize, OutboxError> {
    let ids = listeners(c, unit, event)?;
    for id in &ids {
        let job = Job::Staff {
            staff_id: id.clone(),
            template: format!("staff_{event}"),
            params: params.clone(),
        };
        enqueue(c, sealer, relay, &job)?;
    }
    Ok(ids.len())
}

/// One digest notice per unit with tips in `rows` (tip id, unit): "N tips", with the queue's
/// address, to each listener of that unit for `event`.
fn notify_units(
    c: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    rows: &[(String, String)],
    event: &str,
    public_url: &str,
) -> Result<(), OutboxError> {
    let mut per_unit: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, unit) in rows {
        *per_unit.entry(unit.as_str()).or_default() += 1;
    }
    for (unit, n) in per_unit {
        notify_unit(
            c,
            sealer,
            relay,
            unit,
            event,
            vec![n.to_string(), format!("{public_url}/staff/tips")],
        )?;
    }
    Ok(())
}

/// The notifier's pass: tips not yet announced, one notice per unit and listener ("3 new
/// tips"), then marked announced. Returns the number of tips announced.
pub fn announce_new_tips(
    conn: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    public_url: &str,
) -> Result<usize, OutboxError> {
    // Most passes find nothing, and must not take the write lock (SQLite) or open a
    // transaction just to learn that.
    let pending: Option<String> = tips::table
        .filter(tips::staff_notified.eq(false))
        .select(tips::id)
        .first(conn)
        .optional()?;
    if pending.is_none() {
        return Ok(0);
    }
    conn.transaction::<_, OutboxError, _>(|c| {
        let unannounced = tips::table
            .filter(tips::staff_notified.eq(false))
            .select((tips::id, tips::unit_code))
            .limit(1000);
        // Several nodes announce: on PostgreSQL each takes the rows no other node holds, so a
        // batch is announced once. SQLite has one writer, and this runs inside its transaction.
        let rows: Vec<(String, String)> = if let DbConn::Pg(pg) = c {
            unannounced.for_update().skip_locked().load(pg)?
        } else {
            // Take SQLite's write lock before reading, like every other writer, so the
            // transaction never has to upgrade a stale read snapshot.
            crate::audit::lock_head(c)?;
            unannounced.load(c)?
        };
        if rows.is_empty() {
            return Ok(0);
        }
        notify_units(c, sealer, relay, &rows, "new_tip", public_url)?;
        let ids: Vec<&String> = rows.iter().map(|(id, _)| id).collect();
        diesel::update(tips::table.filter(tips::id.eq_any(ids)))
            .set(tips::staff_notified.eq(true))
            .execute(c)?;
        Ok(rows.len())
    })
}

/// The digest pass's notices: new tips, then tips a reporter wrote on. Returns how many tips
/// were announced, either way.
pub fn announce(
    conn: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    public_url: &str,
) -> Result<usize, OutboxError> {
    Ok(announce_new_tips(conn, sealer, relay, public_url)?
        + announce_messages(conn, sealer, relay, public_url)?)
}

/// "Reporters wrote on N tips", per unit and listener, for tips a reporter wrote on since the
/// last digest. Never which tip: a notice naming the tip, handed to a mail or SMS provider,
/// would tie that provider's record of the hour to one reporter's thread (issue 13).
pub fn announce_messages(
    conn: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    public_url: &str,
) -> Result<usize, OutboxError> {
    let pending: Option<String> = tips::table
        .filter(tips::reporter_wrote.eq(true))
        .select(tips::id)
        .first(conn)
        .optional()?;
    if pending.is_none() {
        return Ok(0);
    }
    conn.transaction::<_, OutboxError, _>(|c| {
        let flagged = tips::table
            .filter(tips::reporter_wrote.eq(true))
            .select((tips::id, tips::unit_code))
            .limit(1000);
        let rows: Vec<(String, String)> = if let DbConn::Pg(pg) = c {
            flagged.for_update().skip_locked().load(pg)?
        } else {
            crate::audit::lock_head(c)?;
            flagged.load(c)?
        };
        notify_units(c, sealer, relay, &rows, "message", public_url)?;
        let ids: Vec<&String> = rows.iter().map(|(id, _)| id).collect();
        diesel::update(tips::table.filter(tips::id.eq_any(ids)))
            .set(tips::reporter_wrote.eq(false))
            .execute(c)?;
        Ok(rows.len())
    })
}
