//! Retention (`tipline retention run [--dry-run]`): contact details purged after N days, and
//! tips closed as unfounded or out of scope deleted M months after they were closed, per
//! category, from the `retention` policy document. A deleted tip leaves only its counts for
//! the monthly report (`report_tombstones`); its ciphertexts and their keys are gone, and the
//! database is compacted afterwards (SQLite: secure_delete is on for every connection, then a
//! WAL checkpoint and VACUUM; PostgreSQL: VACUUM), so deleted means gone from the files too.

pub mod rules;

use crate::audit::{self, Entry, Outcome};
use crate::db::DbConn;
use crate::db::schema::{
    attachment_chunks, attachments, blind_index, case_tips, messages, report_tombstones, rewards,
    sealed_keys, tip_events, tip_notes, tips,
};
use crate::reports::figures::DECISIONS;
use crate::rewards::calendar;
use crate::triage::reader::{ReadError, forget_keys};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use rules::Rules;
use std::collections::BTreeMap;

pub use rules::RETENTION_DOC;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Rules(#[from] rules::RulesError),
    #[error("reading the policy failed: {0}")]
    Policy(String),
    #[error(transparent)]
    Keys(#[from] crate::triage::reader::ReadError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What the rules in force would do now.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Tips whose contact envelope is due to go.
    pub contacts: Vec<String>,
    /// Tips due to be deleted, with the state they were closed from.
    pub tips: Vec<(String, String)>,
    /// Per category: (contacts, unfounded tips, out-of-scope tips).
    pub by_category: BTreeMap<String, (usize, usize, usize)>,
    /// Tips that the rules would delete but that have a reward: kept.
    pub kept_with_reward: usize,
}

#[derive(Debug, Default, Clone)]
pub struct Done {
    pub contacts: usize,
    pub tips: usize,
    pub attachments: usize,
}

/// The unix time `months` calendar months before `now` (Asia/Shanghai days).
fn months_before(now: i64, months: u32) -> i64 {
    let today = calendar::day_of(now);
    let total = today.year() * 12 + u8::from(today.month()) as i32 - 1 - months as i32;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = time::Month::try_from(m0 as u8 + 1).unwrap_or(time::Month::January);
    let day = today.day().min(time::util::days_in_month(month, y));
    let d = time::Date::from_calendar_date(y, month, day).unwrap_or(today);
    crate::reports::period::midnight(d)
}

pub fn rules(conn: &mut DbConn) -> Result<Rules, RetentionError> {
    let d = crate::rewards::policy::document(conn, RETENTION_DOC, None)
        .map_err(|e| RetentionError::Policy(e.to_string()))?;
    Ok(Rules::from_toml(&d.body)?)
}

pub fn plan(conn: &mut DbConn, rules: &Rules, now: i64) -> Result<Plan, RetentionError> {
    let mut plan = Plan::default();
    let with_contact: Vec<(String, String, i64)> = tips::table
        .filter(tips::contact.is_not_null())
        .select((tips::id, tips::category, tips::created_hour))
        .load(conn)?;
    for (id, category, created) in with_contact {
        let days = rules.for_category(&category).contact_days.unwrap_or(180);
        if created < now - days as i64 * 86_400 {
            plan.by_category.entry(category).or_default().0 += 1;
            plan.contacts.push(id);
        }
    }
    // Closed tips and when they were closed, from their history.
    let closed: Vec<(String, String, String, i64)> = tip_events::table
        .inner_join(tips::table)
        .filter(tips::status.eq("closed"))
        .filter(tip_events::to_status.eq("closed"))
        .filter(tip_events::from_status.eq_any(["unfounded", "out_of_scope"]))
        .select((
            tips::id,
            tips::category,
            tip_events::from_status,
            tip_events::at,
        ))
        .load(conn)?;
    for (id, category, from, closed_at) in closed {
        let rule = rules.for_category(&category);
        let months = if from == "unfounded" {
            rule.unfounded_months
        } else {
            rule.out_of_scope_months
        };
        let Some(months) = months else { continue };
        if closed_at >= months_before(now, months) {
            continue;
        }
        let rewarded: i64 = rewards::table
            .filter(rewards::tip_id.eq(&id))
            .count()
            .get_result(conn)?;
        if rewarded > 0 {
            plan.kept_with_reward += 1;
            continue;
        }
        let e = plan.by_category.entry(category).or_default();
        if from == "unfounded" {
            e.1 += 1;
        } else {
            e.2 += 1;
        }
        plan.tips.push((id, from));
    }
    Ok(plan)
}

/// Purges one tip's contact envelope and its keys.
pub fn purge_contact(c: &mut DbConn, tip_id: &str) -> Result<(), ReadError> {
    diesel::update(tips::table.filter(tips::id.eq(tip_id)))
        .set((
            tips::contact.eq(None::<Vec<u8>>),
            tips::contact_alias.eq(None::<Vec<u8>>),
            tips::contact_purge_at.eq(None::<i64>),
        ))
        .execute(c)?;
    forget_keys(c, "contact", tip_id)?;
    Ok(())
}

fn day(unix: i64) -> String {
    calendar::format(calendar::day_of(unix))
}

/// Adds `n` to a tombstone count.
fn tombstone(
    c: &mut DbConn,
    key: (&str, &str, &str, &str, &str),
    day: &str,
) -> Result<(), RetentionError> {
    let (measure, township, category, channel, unit) = key;
    let row = report_tombstones::table.filter(
        report_tombstones::day
            .eq(day)
            .and(report_tombstones::measure.eq(measure))
            .and(report_tombstones::township.eq(township))
            .and(report_tombstones::category.eq(category))
            .and(report_tombstones::channel.eq(channel))
            .and(report_tombstones::unit_code.eq(unit)),
    );
    let updated = diesel::update(row)
        .set(report_tombstones::n.eq(report_tombstones::n + 1))
        .execute(c)?;
    if updated == 0 {
        diesel::insert_into(report_tombstones::table)
            .values((
                report_tombstones::day.eq(day),
                report_tombstones::measure.eq(measure),
                report_tombstones::township.eq(township),
                report_tombstones::category.eq(category),
                report_tombstones::channel.eq(channel),
                report_tombstones::unit_code.eq(unit),
                report_tombstones::n.eq(1_i64),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Deletes one tip and everything that hangs on it, leaving its report counts. Returns the
/// number of attachments deleted.
pub fn delete_tip(c: &mut DbConn, tip_id: &str) -> Result<usize, RetentionError> {
    let (township, category, channel, unit, created): (String, String, String, String, i64) =
        tips::table
            .filter(tips::id.eq(tip_id))
            .select((
                tips::township,
                tips::category,
                tips::channel,
                tips::unit_code,
                tips::created_hour,
            ))
            .first(c)?;
    let dims = |m| {
        (
            m,
            township.as_str(),
            category.as_str(),
            channel.as_str(),
            unit.as_str(),
        )
    };
    tombstone(c, dims("received"), &day(created))?;
    let decided: Vec<(String, i64)> = tip_events::table
        .filter(tip_events::tip_id.eq(tip_id))
        .filter(tip_events::to_status.eq_any(DECISIONS))
        .select((tip_events::to_status, tip_events::at))
        .load(c)?;
    for (status, at) in &decided {
        tombstone(c, dims(status.as_str()), &day(*at))?;
    }
    let files: Vec<String> = attachments::table
        .filter(attachments::tip_id.eq(tip_id))
        .select(attachments::id)
        .load(c)?;
    for a in &files {
        diesel::delete(attachment_chunks::table.filter(attachment_chunks::attachment_id.eq(a)))
            .execute(c)?;
        forget_keys(c, "attachment", a)?;
    }
    diesel::delete(attachments::table.filter(attachments::tip_id.eq(tip_id))).execute(c)?;
    let message_ids: Vec<String> = messages::table
        .filter(messages::tip_id.eq(tip_id))
        .select(messages::id)
        .load(c)?;
    for m in &message_ids {
        forget_keys(c, "message", m)?;
    }
    diesel::delete(messages::table.filter(messages::tip_id.eq(tip_id))).execute(c)?;
    let note_ids: Vec<String> = tip_notes::table
        .filter(tip_notes::tip_id.eq(tip_id))
        .select(tip_notes::id)
        .load(c)?;
    for n in &note_ids {
        forget_keys(c, "note", n)?;
    }
    diesel::delete(tip_notes::table.filter(tip_notes::tip_id.eq(tip_id))).execute(c)?;
    diesel::delete(tip_events::table.filter(tip_events::tip_id.eq(tip_id))).execute(c)?;
    forget_keys(c, "contact", tip_id)?;
    forget_keys(c, "tip", tip_id)?;
    diesel::delete(
        sealed_keys::table
            .filter(sealed_keys::recipient_key_id.eq(crate::crypto::reply::reply_key_id(tip_id))),
    )
    .execute(c)?;
    diesel::delete(blind_index::table.filter(blind_index::tip_id.eq(tip_id))).execute(c)?;
    diesel::delete(case_tips::table.filter(case_tips::tip_id.eq(tip_id))).execute(c)?;
    diesel::update(tips::table.filter(tips::duplicate_of.eq(tip_id)))
        .set(tips::duplicate_of.eq(None::<String>))
        .execute(c)?;
    diesel::delete(tips::table.filter(tips::id.eq(tip_id))).execute(c)?;
    Ok(files.len())
}

fn audited(
    c: &mut DbConn,
    signer: &SigningKey,
    action: &str,
    tip_id: &str,
) -> Result<(), RetentionError> {
    audit::append(
        c,
        signer,
        &Entry {
            actor: "retention",
            action,
            object: &format!("tip:{tip_id}"),
            outcome: Outcome::Ok,
        },
    )?;
    Ok(())
}

/// Carries out a plan: each tip in its own transaction with its audit entry, then compacts
/// the database so the deleted bytes leave the files.
pub fn run(conn: &mut DbConn, signer: &SigningKey, plan: &Plan) -> Result<Done, RetentionError> {
    let mut done = Done::default();
    for id in &plan.contacts {
        conn.transaction::<_, RetentionError, _>(|c| {
            audit::lock_head(c)?;
            purge_contact(c, id)?;
            audited(c, signer, "retention.contact", id)
        })?;
        done.contacts += 1;
    }
    for (id, _) in &plan.tips {
        done.attachments += conn.transaction::<_, RetentionError, _>(|c| {
            audit::lock_head(c)?;
            let n = delete_tip(c, id)?;
            audited(c, signer, "retention.delete", id)?;
            Ok(n)
        })?;
        done.tips += 1;
    }
    if done.contacts + done.tips > 0 {
        compact(conn)?;
    }
    Ok(done)
}

/// Rewrites the database files without the deleted pages.
pub fn compact(conn: &mut DbConn) -> Result<(), RetentionError> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?,
        DbConn::Pg(c) => c.batch_execute("VACUUM (ANALYZE)")?,
    }
    Ok(())
}
