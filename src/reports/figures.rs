//! The month's figures, counted in the database: tips received, verified, unfounded and marked
//! duplicate, rewards approved and paid (count and amount), by township, category and channel.
//! A tip counts where it was on the day it was received; decisions count in the month they
//! were made. Tips deleted by retention still count, through their tombstones.

use super::period::Period;
use super::{ReportError, Scope};
use crate::db::DbConn;
use crate::db::schema::{
    payouts, report_tombstones, reward_signatures, rewards, tip_events, tips, units,
};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// The decisions a report counts, as tip states.
pub const DECISIONS: [&str; 3] = ["verified", "unfounded", "duplicate"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub received: i64,
    pub verified: i64,
    pub unfounded: i64,
    pub duplicate: i64,
    pub rewards_approved: i64,
    pub approved_fen: i64,
    pub rewards_paid: i64,
    pub paid_fen: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.received += o.received;
        self.verified += o.verified;
        self.unfounded += o.unfounded;
        self.duplicate += o.duplicate;
        self.rewards_approved += o.rewards_approved;
        self.approved_fen += o.approved_fen;
        self.rewards_paid += o.rewards_paid;
        self.paid_fen += o.paid_fen;
    }

    /// Adds `n` to a measure by name (the names tombstones use).
    fn bump(&mut self, measure: &str, n: i64) {
        match measure {
            "received" => self.received += n,
            "verified" => self.verified += n,
            "unfounded" => self.unfounded += n,
            "duplicate" => self.duplicate += n,
            _ => {}
        }
    }
}

/// Township, category, channel.
pub type Key = (String, String, String);

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub cells: BTreeMap<Key, Counts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Township,
    Category,
    Channel,
}

impl Figures {
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.cells.values() {
            t.add(c);
        }
        t
    }

    /// Sums over the other two dimensions.
    pub fn by(&self, dim: Dim) -> BTreeMap<String, Counts> {
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        for ((town, cat, chan), c) in &self.cells {
            let k = match dim {
                Dim::Township => town,
                Dim::Category => cat,
                Dim::Channel => chan,
            };
            out.entry(k.clone()).or_default().add(c);
        }
        out
    }
}

/// The units a scope covers.
fn units_of(conn: &mut DbConn, scope: &Scope) -> Result<Vec<String>, ReportError> {
    Ok(match scope {
        Scope::County => units::table.select(units::code).load(conn)?,
        Scope::Unit(u) => vec![u.clone()],
    })
}

/// Counts one period for one scope.
pub fn count(conn: &mut DbConn, scope: &Scope, p: &Period) -> Result<Figures, ReportError> {
    let units = &units_of(conn, scope)?;
    let (from, to) = (p.start_unix(), p.end_unix());
    let mut cells: BTreeMap<Key, Counts> = BTreeMap::new();

    let received = tips::table
        .filter(tips::created_hour.ge(from).and(tips::created_hour.lt(to)))
        .filter(tips::unit_code.eq_any(units))
        .group_by((tips::township, tips::category, tips::channel))
        .select((tips::township, tips::category, tips::channel, count_star()))
        .load::<(String, String, String, i64)>(conn)?;
    for (t, c, ch, n) in received {
        cells.entry((t, c, ch)).or_default().received += n;
    }

    for status in DECISIONS {
        let rows = tip_events::table
            .inner_join(tips::table)
            .filter(
                tip_events::to_status
                    .eq(status)
                    .and(tip_events::at.ge(from))
                    .and(tip_events::at.lt(to)),
            )
            .filter(tips::unit_code.eq_any(units))
            .group_by((tips::township, tips::category, tips::channel))
            .select((tips::township, tips::category, tips::channel, count_star()))
            .load::<(String, String, String, i64)>(conn)?;
        for (t, c, ch, n) in rows {
            cells.entry((t, c, ch)).or_default().bump(status, n);
        }
    }

    // A reward is approved when its last step (always finance's) signs.
    let approved = reward_signatures::table
        .inner_join(rewards::table.inner_join(tips::table))
        .filter(
            reward_signatures::step
                .eq(rewards::signed_steps - 1)
                .and(rewards::status.eq_any(["claimable", "paid", "expired"]))
                .and(reward_signatures::at.ge(from))
                .and(reward_signatures::at.lt(to)),
        )
        .filter(tips::unit_code.eq_any(units))
        .select((
            tips::township,
            tips::category,
            tips::channel,
            rewards::amount_fen,
        ))
        .load::<(String, String, String, i64)>(conn)?;
    for (t, c, ch, fen) in approved {
        let e = cells.entry((t, c, ch)).or_default();
        e.rewards_approved += 1;
        e.approved_fen += fen;
    }

    let (first, end) = (p.first_day(), crate::rewards::calendar::format(p.end));
    let paid = payouts::table
        .inner_join(rewards::table.inner_join(tips::table))
        .filter(
            payouts::state
                .eq("paid")
                .and(payouts::paid_on.ge(first.clone()))
                .and(payouts::paid_on.lt(end.clone())),
        )
        .filter(tips::unit_code.eq_any(units))
        .select((
            tips::township,
            tips::category,
            tips::channel,
            payouts::amount_fen,
        ))
        .load::<(String, String, String, i64)>(conn)?;
    for (t, c, ch, fen) in paid {
        let e = cells.entry((t, c, ch)).or_default();
        e.rewards_paid += 1;
        e.paid_fen += fen;
    }

    let kept = report_tombstones::table
        .filter(
            report_tombstones::day
                .ge(first)
                .and(report_tombstones::day.lt(end)),
        )
        .filter(report_tombstones::unit_code.eq_any(units))
        .select((
            report_tombstones::township,
            report_tombstones::category,
            report_tombstones::channel,
            report_tombstones::measure,
            report_tombstones::n,
        ))
        .load::<(String, String, String, String, i64)>(conn)?;
    for (t, c, ch, measure, n) in kept {
        cells.entry((t, c, ch)).or_default().bump(&measure, n);
    }
    Ok(Figures { cells })
}

/// Received and verified per report month, for the trend chart.
#[derive(Debug, Clone, Serialize)]
pub struct MonthTotal {
    pub month: String,
    pub received: i64,
    pub verified: i64,
}

pub fn trend(
    conn: &mut DbConn,
    scope: &Scope,
    months: &[Period],
) -> Result<Vec<MonthTotal>, ReportError> {
    let mut out = Vec::with_capacity(months.len());
    for p in months {
        let f = count_totals(conn, scope, p)?;
        out.push(MonthTotal {
            month: p.label(),
            received: f.received,
            verified: f.verified,
        });
    }
    Ok(out)
}

/// Received and verified only: the cheap part of `count`, for the trend.
fn count_totals(conn: &mut DbConn, scope: &Scope, p: &Period) -> Result<Counts, ReportError> {
    let units = &units_of(conn, scope)?;
    let (from, to) = (p.start_unix(), p.end_unix());
    let received: i64 = tips::table
        .filter(tips::created_hour.ge(from).and(tips::created_hour.lt(to)))
        .filter(tips::unit_code.eq_any(units))
        .select(count_star())
        .first(conn)?;
    let verified: i64 = tip_events::table
        .inner_join(tips::table)
        .filter(
            tip_events::to_status
                .eq("verified")
                .and(tip_events::at.ge(from))
                .and(tip_events::at.lt(to)),
        )
        .filter(tips::unit_code.eq_any(units))
        .select(count_star())
        .first(conn)?;
    let (first, end) = (p.first_day(), crate::rewards::calendar::format(p.end));
    let kept = report_tombstones::table
        .filter(
            report_tombstones::day
                .ge(first)
                .and(report_tombstones::day.lt(end))
                .and(report_tombstones::measure.eq_any(["received", "verified"])),
        )
        .filter(report_tombstones::unit_code.eq_any(units))
        .select((report_tombstones::measure, report_tombstones::n))
        .load::<(String, i64)>(conn)?;
    let mut c = Counts {
        received,
        verified,
        ..Counts::default()
    };
    for (m, n) in kept {
        c.bump(&m, n);
    }
    Ok(c)
}
