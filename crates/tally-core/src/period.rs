//! Calendar periods of a grain (day, ISO week, month, quarter, year): parsing as written in
//! targets (`2026-01`, `2026-01-05`, `2026-Q1`, `2026`), arithmetic and labels. No clock.

use crate::time::Grain;
use jiff::civil::{Date, DateTime};
use jiff::ToSpan;
use serde::Serialize;
use std::fmt;

/// One period: its grain and first day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub grain: Grain,
    pub start: Date,
}

/// The grains a target or alert may use.
pub const GRAINS: &[Grain] = &[
    Grain::Day,
    Grain::Week,
    Grain::Month,
    Grain::Quarter,
    Grain::Year,
];

impl Period {
    /// The period of `grain` that contains `d`.
    pub fn containing(grain: Grain, d: Date) -> Period {
        let start = match grain {
            Grain::Week => {
                let back = d.weekday().to_monday_zero_offset() as i64;
                d.checked_sub(back.days()).unwrap_or(d)
            }
            Grain::Month => d.first_of_month(),
            Grain::Quarter => {
                let m = ((d.month() - 1) / 3) * 3 + 1;
                Date::new(d.year(), m, 1).unwrap_or(d)
            }
            Grain::Year => d.first_of_year(),
            _ => d,
        };
        Period { grain, start }
    }

    /// Parse a period as written for `grain`; the text must name a period start of that grain.
    pub fn parse(grain: Grain, text: &str) -> Result<Period, String> {
        let t = text.trim();
        let bad = |what: &str| {
            Err(format!(
                "`{t}` is not a {} period: write {what}",
                grain.name()
            ))
        };
        match grain {
            Grain::Year => match t.parse::<i16>() {
                Ok(y) if (1..=9999).contains(&y) => Ok(Period {
                    grain,
                    start: Date::new(y, 1, 1).map_err(|e| e.to_string())?,
                }),
                _ => bad("a year such as `2026`"),
            },
            Grain::Quarter => {
                let Some((y, q)) = t.split_once("-Q").or_else(|| t.split_once("-q")) else {
                    return bad("a quarter such as `2026-Q1`");
                };
                match (y.parse::<i16>(), q.parse::<i8>()) {
                    (Ok(y), Ok(q)) if (1..=4).contains(&q) && (1..=9999).contains(&y) => {
                        Ok(Period {
                            grain,
                            start: Date::new(y, (q - 1) * 3 + 1, 1).map_err(|e| e.to_string())?,
                        })
                    }
                    _ => bad("a quarter such as `2026-Q1`"),
                }
            }
            Grain::Month => {
                let d = if t.len() == 7 {
                    format!("{t}-01")
                } else {
                    t.to_string()
                };
                match d.parse::<Date>() {
                    Ok(d) if d.day() == 1 => Ok(Period { grain, start: d }),
                    _ => bad("a month such as `2026-01`"),
                }
            }
            Grain::Week => match t.parse::<Date>() {
                Ok(d) if d.weekday() == jiff::civil::Weekday::Monday => {
                    Ok(Period { grain, start: d })
                }
                Ok(_) => bad("the Monday that starts an ISO week, such as `2026-01-05`"),
                Err(_) => bad("a date such as `2026-01-05` (a Monday)"),
            },
            Grain::Day => match t.parse::<Date>() {
                Ok(d) => Ok(Period { grain, start: d }),
                Err(_) => bad("a date such as `2026-01-05`"),
            },
            _ => Err(format!(
                "targets use day, week, month, quarter or year, not {}",
                grain.name()
            )),
        }
    }

    /// The period `n` periods later (earlier for negative `n`).
    pub fn shift(self, n: i64) -> Period {
        let span = match self.grain {
            Grain::Week => (7 * n).days(),
            Grain::Month => n.months(),
            Grain::Quarter => (3 * n).months(),
            Grain::Year => n.years(),
            _ => n.days(),
        };
        Period {
            grain: self.grain,
            start: self.start.checked_add(span).unwrap_or(self.start),
        }
    }

    pub fn next(self) -> Period {
        self.shift(1)
    }

    /// The first day after the period.
    pub fn end(self) -> Date {
        self.next().start
    }

    /// The same period a year earlier (the period containing the day a year before the start).
    pub fn year_ago(self) -> Period {
        let d = self.start.checked_sub(1.year()).unwrap_or(self.start);
        Period::containing(self.grain, d)
    }

    /// How many periods `other` is after `self`.
    pub fn steps_to(self, other: Period) -> i64 {
        match self.grain {
            Grain::Month | Grain::Quarter | Grain::Year => {
                let m = |d: Date| d.year() as i64 * 12 + d.month() as i64;
                let per = match self.grain {
                    Grain::Month => 1,
                    Grain::Quarter => 3,
                    _ => 12,
                };
                (m(other.start) - m(self.start)) / per
            }
            Grain::Week => days_between(self.start, other.start) / 7,
            _ => days_between(self.start, other.start),
        }
    }

    /// The share of the period elapsed at `as_of` (0 before it, 1 after it).
    pub fn elapsed_share(self, as_of: DateTime) -> f64 {
        let start = self.start.to_datetime(jiff::civil::Time::midnight());
        let end = self.end().to_datetime(jiff::civil::Time::midnight());
        if as_of <= start {
            return 0.0;
        }
        if as_of >= end {
            return 1.0;
        }
        let total = seconds_between(start, end);
        let done = seconds_between(start, as_of);
        if total <= 0.0 {
            1.0
        } else {
            done / total
        }
    }

    /// The period's name as targets write it.
    pub fn label(self) -> String {
        let d = self.start;
        match self.grain {
            Grain::Year => format!("{:04}", d.year()),
            Grain::Quarter => format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Grain::Month => format!("{:04}-{:02}", d.year(), d.month()),
            _ => d.to_string(),
        }
    }
}

fn days_between(a: Date, b: Date) -> i64 {
    (b.to_datetime(jiff::civil::Time::midnight())
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0)
        - a.to_datetime(jiff::civil::Time::midnight())
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .unwrap_or(0))
        / 86_400
}

fn seconds_between(a: DateTime, b: DateTime) -> f64 {
    let s = |x: DateTime| {
        x.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .unwrap_or(0)
    };
    (s(b) - s(a)) as f64
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

/// Parse an evaluation time: `2026-06-30`, `2026-06-30 23:59:59` or `2026-06-30T23:59:59`.
pub fn parse_as_of(text: &str) -> Option<DateTime> {
    let t = text.trim();
    if let Ok(dt) = t.replace(' ', "T").parse::<DateTime>() {
        return Some(dt);
    }
    t.parse::<Date>()
        .ok()
        .map(|d| d.to_datetime(jiff::civil::Time::new(23, 59, 59, 0).unwrap_or_default()))
}

/// Parse `7 days`, `24 hours`, `2 weeks` into seconds.
pub fn parse_duration_seconds(text: &str) -> Option<i64> {
    let mut it = text.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    let unit = it.next().unwrap_or("days");
    if it.next().is_some() || n < 0 {
        return None;
    }
    let per = match Grain::parse(unit)? {
        Grain::Minute => 60,
        Grain::Hour => 3_600,
        Grain::Day => 86_400,
        Grain::Week => 7 * 86_400,
        _ => return None,
    };
    Some(n * per)
}

/// Parse `2 periods` (or `2`) into a count of at least 1.
pub fn parse_periods(text: &str) -> Option<i64> {
    let mut it = text.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    match it.next() {
        None | Some("period") | Some("periods") if n >= 1 && it.next().is_none() => Some(n),
        _ => None,
    }
}

/// `as_of` plus `seconds`.
pub fn add_seconds(d: DateTime, seconds: i64) -> DateTime {
    d.checked_add(seconds.seconds()).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_labels_periods() {
        let m = Period::parse(Grain::Month, "2026-02").unwrap();
        assert_eq!(m.label(), "2026-02");
        assert_eq!(m.next().label(), "2026-03");
        assert_eq!(m.shift(-2).label(), "2025-12");
        assert_eq!(m.year_ago().label(), "2025-02");
        assert!(Period::parse(Grain::Month, "2026-02-03").is_err());
        let w = Period::parse(Grain::Week, "2026-01-05").unwrap();
        assert!(Period::parse(Grain::Week, "2026-01-06").is_err());
        assert_eq!(w.next().label(), "2026-01-12");
        let q = Period::parse(Grain::Quarter, "2026-Q3").unwrap();
        assert_eq!(q.start.to_string(), "2026-07-01");
        assert_eq!(
            Period::parse(Grain::Month, "2026-01")
                .unwrap()
                .steps_to(Period {
                    grain: Grain::Month,
                    start: q.start
                }),
            6
        );
        assert_eq!(m.steps_to(m.shift(5)), 5);
        assert_eq!(w.steps_to(w.shift(3)), 3);
    }

    #[test]
    fn elapsed_share_of_a_month() {
        let m = Period::parse(Grain::Month, "2026-06").unwrap();
        let as_of = parse_as_of("2026-06-16 00:00:00").unwrap();
        assert!((m.elapsed_share(as_of) - 0.5).abs() < 1e-9);
        assert_eq!(m.shift(-1).elapsed_share(as_of), 1.0);
        assert_eq!(parse_periods("2 periods"), Some(2));
        assert_eq!(parse_duration_seconds("7 days"), Some(604_800));
    }
}
