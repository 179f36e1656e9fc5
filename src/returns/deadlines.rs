//! Deadlines: a return is due on the report day (the 28th by default) for the report month
//! that ended the day before; sent after that day it is late, and not sent by then it is
//! missing. Reminders go to each township's liaisons that have not sent yet, a few days before
//! the day and on it, through the outbox with no content.

use super::{ReturnError, Review, townships};
use crate::crypto::seal::{Recipient, Sealer};
use crate::db::DbConn;
use crate::db::schema::{return_reminders, staff, township_returns};
use crate::notify::Job;
use crate::reports::period::{Period, midnight};
use crate::rewards::calendar;
use diesel::prelude::*;
use serde::Serialize;

/// Days before the report day the first reminder goes.
pub const REMIND_DAYS_BEFORE: i64 = 3;
/// Reminders go from this hour (Asia/Shanghai), not at midnight.
pub const REMIND_HOUR: i64 = 8;

/// The first moment a return for `p` is late: the end of the report day (Asia/Shanghai).
pub fn deadline(p: &Period) -> i64 {
    midnight(p.end) + 86_400
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Sent by the report day.
    Submitted,
    /// Sent after the report day.
    Late,
    /// Not sent, and the report day is over.
    Missing,
    /// Not sent yet, and the report day has not passed.
    Due,
}

impl State {
    pub fn zh(self) -> &'static str {
        match self {
            State::Submitted => "按时报送",
            State::Late => "逾期报送",
            State::Missing => "未报送",
            State::Due => "尚未到期",
        }
    }
}

/// One township's line on the county's page for a month.
#[derive(Debug, Clone, Serialize)]
pub struct TownshipLine {
    pub township: String,
    pub name: String,
    pub state: State,
    /// The hour the first version was sent.
    pub sent_hour: Option<i64>,
    /// The latest version's review and id.
    pub review: Option<Review>,
    pub return_id: Option<String>,
    pub version: Option<i32>,
}

/// Every township's state for month `p` as of `now`.
pub fn month_status(
    conn: &mut DbConn,
    p: &Period,
    now: i64,
) -> Result<Vec<TownshipLine>, ReturnError> {
    let rows: Vec<(String, String, i32, i64, String)> = township_returns::table
        .filter(township_returns::period.eq(p.label()))
        .order((township_returns::township, township_returns::version))
        .select((
            township_returns::id,
            township_returns::township,
            township_returns::version,
            township_returns::sent_hour,
            township_returns::status,
        ))
        .load(conn)?;
    let due = deadline(p);
    Ok(townships()
        .map(|t| {
            let mine: Vec<&(String, String, i32, i64, String)> =
                rows.iter().filter(|r| r.1 == t.code).collect();
            let first = mine.iter().map(|r| r.3).min();
            let last = mine.last();
            let state = match first {
                Some(h) if h >= due => State::Late,
                Some(_) => State::Submitted,
                None if now >= due => State::Missing,
                None => State::Due,
            };
            TownshipLine {
                township: t.code.into(),
                name: t.zh.into(),
                state,
                sent_hour: first,
                review: last.map(|r| Review::parse(&r.4)),
                return_id: last.map(|r| r.0.clone()),
                version: last.map(|r| r.2),
            }
        })
        .collect())
}

/// How many townships were in each state in one month.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MonthCounts {
    pub month: String,
    pub submitted: usize,
    pub late: usize,
    pub missing: usize,
    pub due: usize,
}

impl MonthCounts {
    fn of(month: String, lines: &[TownshipLine]) -> MonthCounts {
        let n = |s: State| lines.iter().filter(|l| l.state == s).count();
        MonthCounts {
            month,
            submitted: n(State::Submitted),
            late: n(State::Late),
            missing: n(State::Missing),
            due: n(State::Due),
        }
    }
}

/// Counts for `p`.
pub fn counts(conn: &mut DbConn, p: &Period, now: i64) -> Result<MonthCounts, ReturnError> {
    Ok(MonthCounts::of(p.label(), &month_status(conn, p, now)?))
}

/// The twelve months ending with `p`, oldest first.
pub fn history(
    conn: &mut DbConn,
    p: &Period,
    report_day: u8,
    now: i64,
) -> Result<Vec<MonthCounts>, ReturnError> {
    p.trailing(12, report_day)
        .iter()
        .map(|m| counts(conn, m, now))
        .collect()
}

/// Which reminder is due at `now`, if any: (month, kind). `before` from 08:00 three days
/// before the report day, `on_day` from 08:00 on it.
pub fn reminder_at(report_day: u8, now: i64) -> Option<(Period, &'static str)> {
    let today = calendar::day_of(now);
    let current = Period::containing(today, report_day);
    let hour = (now - midnight(today)) / 3600;
    // On the report day itself a new month has begun; the month due today is the one before.
    let previous = current.previous(report_day);
    if previous.end == today && hour >= REMIND_HOUR {
        return Some((previous, "on_day"));
    }
    let from = midnight(current.end) - REMIND_DAYS_BEFORE * 86_400 + REMIND_HOUR * 3600;
    (now >= from && now < midnight(current.end)).then_some((current, "before"))
}

/// Queues the reminder due at `now`, once across nodes, to the active liaisons (with an
/// address) of townships that have not sent that month's return. Returns how many went.
pub fn remind_due(
    conn: &mut DbConn,
    sealer: &Sealer,
    relay: &Recipient,
    report_day: u8,
    now: i64,
) -> Result<usize, ReturnError> {
    let Some((p, kind)) = reminder_at(report_day, now) else {
        return Ok(0);
    };
    let label = p.label();
    conn.transaction(|c| {
        let done: i64 = return_reminders::table
            .filter(return_reminders::period.eq(&label))
            .filter(return_reminders::kind.eq(kind))
            .count()
            .get_result(c)?;
        if done > 0 {
            return Ok(0);
        }
        diesel::insert_into(return_reminders::table)
            .values((
                return_reminders::period.eq(&label),
                return_reminders::kind.eq(kind),
                return_reminders::created_at.eq(crate::db::hour_floor(now)),
            ))
            .execute(c)?;
        let sent: Vec<String> = township_returns::table
            .filter(township_returns::period.eq(&label))
            .select(township_returns::township)
            .distinct()
            .load(c)?;
        let ids: Vec<(String, Option<String>)> = staff::table
            .filter(staff::role.eq("liaison"))
            .filter(staff::disabled.eq(false))
            .filter(staff::contact.is_not_null())
            .select((staff::id, staff::township))
            .load(c)?;
        let mut n = 0;
        for (id, township) in ids {
            if township.is_none_or(|t| sent.contains(&t)) {
                continue;
            }
            let job = Job::Staff {
                staff_id: id,
                template: "return_reminder".into(),
                params: Vec::new(),
            };
            crate::notify::outbox::enqueue(c, sealer, relay, &job).map_err(|e| match e {
                crate::notify::outbox::OutboxError::Db(d) => ReturnError::Db(d),
                crate::notify::outbox::OutboxError::Crypto(_) => ReturnError::Crypto,
            })?;
            n += 1;
        }
        Ok(n)
    })
    .or_else(|e| match e {
        // Another node recorded it first.
        ReturnError::Db(crate::db::DbError::Query(ref q)) if crate::db::is_unique_violation(q) => {
            Ok(0)
        }
        e => Err(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, h: i64) -> i64 {
        midnight(calendar::parse(day).unwrap()) + h * 3600
    }

    #[test]
    fn reminders_fall_before_and_on_the_report_day() {
        let label = |r: Option<(Period, &str)>| r.map(|(p, k)| (p.label(), k.to_string()));
        assert_eq!(label(reminder_at(28, at("2026-11-24", 12))), None);
        assert_eq!(label(reminder_at(28, at("2026-11-25", 7))), None);
        assert_eq!(
            label(reminder_at(28, at("2026-11-25", 8))),
            Some(("2026-11".into(), "before".into()))
        );
        assert_eq!(
            label(reminder_at(28, at("2026-11-27", 23))),
            Some(("2026-11".into(), "before".into()))
        );
        assert_eq!(label(reminder_at(28, at("2026-11-28", 7))), None);
        assert_eq!(
            label(reminder_at(28, at("2026-11-28", 8))),
            Some(("2026-11".into(), "on_day".into()))
        );
        assert_eq!(label(reminder_at(28, at("2026-11-29", 9))), None);
    }

    #[test]
    fn late_is_after_the_report_day() {
        let p = Period::parse("2026-11", 28).unwrap();
        assert!(at("2026-11-28", 23) < deadline(&p));
        assert_eq!(at("2026-11-29", 0), deadline(&p));
    }
}
