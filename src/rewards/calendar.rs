//! Calendar days in Asia/Shanghai and working days (China's public holidays and make-up working
//! days, from a per-year data document). China has kept UTC+8 without daylight saving since 1991,
//! so the local day is a fixed offset from UTC.

use super::RewardError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration, Month, Weekday};

pub const DEFAULT_CALENDAR: &str = include_str!("defaults/calendar-cn.toml");
const SHANGHAI_OFFSET_SECONDS: i64 = 8 * 3600;

/// The Asia/Shanghai calendar day of a unix time.
pub fn day_of(unix: i64) -> Date {
    let days = (unix + SHANGHAI_OFFSET_SECONDS).div_euclid(86_400);
    Date::from_julian_day(EPOCH_JULIAN + days as i32).unwrap_or(Date::MIN)
}

/// Julian day number of 1970-01-01.
const EPOCH_JULIAN: i32 = 2_440_588;

pub fn today() -> Date {
    day_of(crate::db::now_unix())
}

/// `YYYY-MM-DD`, as stored and shown.
pub fn format(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn parse(s: &str) -> Option<Date> {
    let s = s.trim();
    if s.len() != 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return None;
    }
    let y: i32 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(5..7)?.parse().ok()?;
    let d: u8 = s.get(8..10)?.parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// The same day `months` later, or the month's last day when it is shorter (31 Dec + 2 months
/// is 28 or 29 Feb).
pub fn add_months(d: Date, months: u32) -> Date {
    let total = d.year() * 12 + (u8::from(d.month()) as i32 - 1) + months as i32;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(m0 as u8 + 1).unwrap_or(Month::January);
    let last = time::util::days_in_month(month, y);
    Date::from_calendar_date(y, month, d.day().min(last)).unwrap_or(d)
}

#[derive(Deserialize)]
struct YearDoc {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

#[derive(Deserialize)]
struct CalendarDoc {
    years: BTreeMap<String, YearDoc>,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<Date>,
    workdays: BTreeSet<Date>,
    years: BTreeSet<i32>,
}

fn expand(entry: &str, year: i32) -> Result<Vec<Date>, RewardError> {
    let bad = || RewardError::Policy(format!("calendar {year}: bad day or range {entry:?}"));
    let (first, last) = match entry.split_once("..") {
        Some((a, b)) => (parse(a).ok_or_else(bad)?, parse(b).ok_or_else(bad)?),
        None => {
            let d = parse(entry).ok_or_else(bad)?;
            (d, d)
        }
    };
    if first.year() != year
        || last.year() != year
        || last < first
        || last - first > Duration::days(31)
    {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        out.push(d);
        d = d.next_day().ok_or_else(bad)?;
    }
    Ok(out)
}

impl Calendar {
    pub fn from_toml(text: &str) -> Result<Self, RewardError> {
        let doc: CalendarDoc =
            toml::from_str(text).map_err(|e| RewardError::Policy(format!("calendar: {e}")))?;
        let mut cal = Calendar::default();
        for (year, y) in doc.years {
            let year: i32 = year
                .parse()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| RewardError::Policy(format!("calendar: bad year {year:?}")))?;
            cal.years.insert(year);
            for h in &y.holidays {
                cal.holidays.extend(expand(h, year)?);
            }
            for w in &y.workdays {
                for d in expand(w, year)? {
                    if cal.holidays.contains(&d) {
                        return Err(RewardError::Policy(format!(
                            "calendar: {} is both a holiday and a working day",
                            format(d)
                        )));
                    }
                    cal.workdays.insert(d);
                }
            }
        }
        Ok(cal)
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// Whether the calendar holds the official schedule for this year.
    pub fn knows_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The day `n` working days after `from` (the day itself does not count).
    pub fn add_working_days(&self, from: Date, n: u32) -> Date {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            match d.next_day() {
                Some(next) => d = next,
                None => return d,
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        parse(s).unwrap()
    }

    #[test]
    fn shanghai_day_turns_at_16_utc() {
        // 2026-11-28T15:59:59Z is 23:59:59 in Shanghai; a second later it is the 29th.
        assert_eq!(format(day_of(1_795_881_599)), "2026-11-28");
        assert_eq!(format(day_of(1_795_881_600)), "2026-11-29");
    }

    #[test]
    fn spring_festival_and_make_up_days_count_right() {
        let cal = Calendar::from_toml(DEFAULT_CALENDAR).unwrap();
        // Friday 13 Feb 2026, then Saturday 14 Feb is a make-up working day, then nine days
        // off (15-23 Feb), then 24 Feb.
        assert!(cal.is_working_day(day("2026-02-14")));
        assert!(!cal.is_working_day(day("2026-02-16")));
        assert_eq!(
            format(cal.add_working_days(day("2026-02-13"), 1)),
            "2026-02-14"
        );
        assert_eq!(
            format(cal.add_working_days(day("2026-02-13"), 2)),
            "2026-02-24"
        );
        // Fifteen working days from the day before National Day 2026: 30 Sep, then 1-7 Oct off,
        // 10 Oct (Saturday) is a working day: 8, 9, 10, 12-16, 19-23, 26, 27.
        assert_eq!(
            format(cal.add_working_days(day("2026-09-30"), 15)),
            "2026-10-27"
        );
    }

    #[test]
    fn unknown_years_count_weekends_only() {
        let cal = Calendar::from_toml(DEFAULT_CALENDAR).unwrap();
        assert!(!cal.knows_year(2031));
        // Friday 3 Jan 2031 + 1 working day = Monday 6 Jan.
        assert_eq!(
            format(cal.add_working_days(day("2031-01-03"), 1)),
            "2031-01-06"
        );
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(format(add_months(day("2026-12-31"), 2)), "2027-02-28");
        assert_eq!(format(add_months(day("2027-12-31"), 2)), "2028-02-29");
        assert_eq!(format(add_months(day("2026-11-29"), 2)), "2027-01-29");
    }

    #[test]
    fn bad_documents_are_refused() {
        assert!(Calendar::from_toml("[years.2026]\nholidays = [\"2026-02-30\"]").is_err());
        assert!(Calendar::from_toml("[years.2026]\nholidays = [\"2025-01-01\"]").is_err());
        let both = "[years.2026]\nholidays = [\"2026-01-01\"]\nworkdays = [\"2026-01-01\"]";
        assert!(Calendar::from_toml(both).is_err());
        assert!(parse("2026-1-01").is_none());
    }
}
