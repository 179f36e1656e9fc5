//! Report months. The 2018 plan has townships report on the 28th of every month, so by default a
//! report month runs from the 28th of the month before to the 27th and is mailed on the 28th
//! (Asia/Shanghai, which has no daylight saving). With `TIPLINE_REPORT_DAY=1` report months are
//! calendar months, mailed on the 1st of the next. Months tile: every day is in exactly one.

use super::ReportError;
use crate::rewards::calendar;
use time::{Date, Month};

const SHANGHAI_OFFSET_SECONDS: i64 = 8 * 3600;
/// Julian day number of 1970-01-01.
const EPOCH_JULIAN: i64 = 2_440_588;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub year: i32,
    pub month: u8,
    /// First day, inclusive.
    pub first: Date,
    /// The day after the last day: the day the report is due.
    pub end: Date,
}

fn month_start(year: i32, month: i32, day: u8) -> Date {
    let total = year * 12 + month - 1;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    let m = Month::try_from(m0 as u8 + 1).unwrap_or(Month::January);
    Date::from_calendar_date(y, m, day).unwrap_or(Date::MIN)
}

/// Unix time of 00:00 Asia/Shanghai on `d`.
pub fn midnight(d: Date) -> i64 {
    (d.to_julian_day() as i64 - EPOCH_JULIAN) * 86_400 - SHANGHAI_OFFSET_SECONDS
}

impl Period {
    /// Report month `year-month` for reports due on `report_day`.
    pub fn of(year: i32, month: u8, report_day: u8) -> Period {
        let (first, end) = if report_day <= 1 {
            (
                month_start(year, month as i32, 1),
                month_start(year, month as i32 + 1, 1),
            )
        } else {
            (
                month_start(year, month as i32 - 1, report_day),
                month_start(year, month as i32, report_day),
            )
        };
        Period {
            year,
            month,
            first,
            end,
        }
    }

    /// `YYYY-MM`, as typed in forms, URLs and the CLI.
    pub fn parse(label: &str, report_day: u8) -> Result<Period, ReportError> {
        let bad = || ReportError::BadMonth;
        let label = label.trim();
        if label.len() != 7 || label.as_bytes()[4] != b'-' {
            return Err(bad());
        }
        let year: i32 = label[..4].parse().map_err(|_| bad())?;
        let month: u8 = label[5..].parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period::of(year, month, report_day))
    }

    /// The report month a day belongs to.
    pub fn containing(day: Date, report_day: u8) -> Period {
        let (y, m) = (day.year(), u8::from(day.month()));
        if report_day > 1 && day.day() >= report_day {
            let next = month_start(y, m as i32 + 1, 1);
            Period::of(next.year(), u8::from(next.month()), report_day)
        } else {
            Period::of(y, m, report_day)
        }
    }

    pub fn current(report_day: u8) -> Period {
        Period::containing(calendar::today(), report_day)
    }

    pub fn previous(&self, report_day: u8) -> Period {
        let d = month_start(self.year, self.month as i32 - 1, 1);
        Period::of(d.year(), u8::from(d.month()), report_day)
    }

    pub fn label(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn start_unix(&self) -> i64 {
        midnight(self.first)
    }

    pub fn end_unix(&self) -> i64 {
        midnight(self.end)
    }

    /// The last day, inclusive, as `YYYY-MM-DD`.
    pub fn last_day(&self) -> String {
        calendar::format(self.end.previous_day().unwrap_or(self.end))
    }

    pub fn first_day(&self) -> String {
        calendar::format(self.first)
    }

    /// Whether the period is still running at `now`.
    pub fn open_at(&self, now: i64) -> bool {
        now < self.end_unix()
    }

    /// The `n` report months that end with this one, oldest first.
    pub fn trailing(&self, n: usize, report_day: u8) -> Vec<Period> {
        let mut out = vec![*self];
        while out.len() < n {
            let p = out[out.len() - 1].previous(report_day);
            out.push(p);
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        calendar::parse(s).unwrap()
    }

    #[test]
    fn months_end_the_day_before_the_report_day_and_tile() {
        let p = Period::parse("2026-11", 28).unwrap();
        assert_eq!(
            (p.first_day(), p.last_day()),
            ("2026-10-28".into(), "2026-11-27".into())
        );
        let jan = Period::parse("2026-01", 28).unwrap();
        assert_eq!(jan.first_day(), "2025-12-28");
        assert_eq!(Period::containing(d("2026-11-28"), 28).label(), "2026-12");
        assert_eq!(Period::containing(d("2026-11-27"), 28).label(), "2026-11");
        assert_eq!(Period::containing(d("2026-12-31"), 28).label(), "2027-01");
        let cal = Period::parse("2026-02", 1).unwrap();
        assert_eq!(
            (cal.first_day(), cal.last_day()),
            ("2026-02-01".into(), "2026-02-28".into())
        );
        let mut p = Period::parse("2024-01", 28).unwrap();
        for _ in 0..40 {
            let next = Period::containing(p.end, 28);
            assert_eq!(next.first, p.end, "{}", p.label());
            p = next;
        }
        for bad in ["2026-13", "2026-1", "26-11-01", "2026/11", "", "9999-01"] {
            assert!(Period::parse(bad, 28).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_start_at_shanghai_midnight() {
        // 2026-11-01 00:00 +08:00 is 2026-10-31 16:00 UTC.
        assert_eq!(midnight(d("2026-11-01")), 1_793_462_400);
        assert_eq!(calendar::day_of(midnight(d("2026-11-01"))), d("2026-11-01"));
        assert_eq!(
            calendar::day_of(midnight(d("2026-11-01")) - 1),
            d("2026-10-31")
        );
    }
}
