//! The independent reference for business durations, used only by tests (here and in
//! tally-duckdb's `business_hours.rs`, which includes this file by path).
//!
//! - `reference`: a day-by-day walk over local dates: each date's open intervals (its own lookup
//!   of versions and exceptions), each endpoint turned into an instant with jiff's zoned
//!   conversion (a gap detected by the round trip, moved to the transition found with
//!   `TimeZone::preceding`), unioned and intersected with `[start, end)`. It shares no code with
//!   `calendar::clock`.
//! - `sampler`: brute force, minute by minute: a minute is open when its local wall-clock time is
//!   inside its date's hours (or the previous date's overnight spill). It checks the reference on
//!   short spans whose interval endpoints are not in a fall-back fold (where "wall-clock time in
//!   the interval" and "instants between the endpoints" legitimately differ).
#![allow(dead_code)]

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use tally_core::calendar::{DayHours, Schedule};

/// A date's hours, looked up without `Schedule`'s helpers.
pub(crate) fn ref_hours(s: &Schedule, d: Date) -> DayHours {
    for e in s.exceptions.iter().rev() {
        let hit = if e.annually {
            (e.from.month(), e.from.day()) == (d.month(), d.day())
        } else {
            e.from <= d && d <= e.to
        };
        if hit {
            return e.hours.clone();
        }
    }
    let mut week = &s.versions[0].1;
    for (from, w) in &s.versions {
        if *from <= d {
            week = w;
        }
    }
    let wd = match d.weekday() {
        jiff::civil::Weekday::Monday => 0,
        jiff::civil::Weekday::Tuesday => 1,
        jiff::civil::Weekday::Wednesday => 2,
        jiff::civil::Weekday::Thursday => 3,
        jiff::civil::Weekday::Friday => 4,
        jiff::civil::Weekday::Saturday => 5,
        jiff::civil::Weekday::Sunday => 6,
    };
    week[wd].clone()
}

/// Local date `d` at `secs` seconds of wall-clock time, as an instant.
pub(crate) fn ref_instant(tz: &TimeZone, d: Date, secs: u32) -> i64 {
    let dt: DateTime = d.to_datetime(Time::midnight()) + jiff::Span::new().seconds(secs as i64);
    let z = dt.to_zoned(tz.clone()).unwrap();
    if z.datetime() == dt {
        // Unambiguous, or a fold (jiff's default picks the earlier offset).
        z.timestamp().as_second()
    } else {
        // A gap: the instant of the transition that made it.
        tz.preceding(z.timestamp() + jiff::SignedDuration::from_secs(1))
            .next()
            .unwrap()
            .timestamp()
            .as_second()
    }
}

pub(crate) fn ref_intervals(s: &Schedule, start: i64, end: i64) -> Vec<(i64, i64)> {
    let first =
        s.tz.to_datetime(Timestamp::from_second(start).unwrap())
            .date();
    let last =
        s.tz.to_datetime(Timestamp::from_second(end).unwrap())
            .date();
    let mut d = first.checked_sub(jiff::Span::new().days(2)).unwrap();
    let stop = last.checked_add(jiff::Span::new().days(1)).unwrap();
    let mut iv = Vec::new();
    while d <= stop {
        for (a, b) in ref_hours(s, d) {
            iv.push((ref_instant(&s.tz, d, a), ref_instant(&s.tz, d, b)));
        }
        d = d.tomorrow().unwrap();
    }
    iv.sort();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in iv {
        match merged.last_mut() {
            Some(l) if a <= l.1 => l.1 = l.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Open seconds in `[start, end)`.
pub(crate) fn reference(s: &Schedule, start: i64, end: i64) -> i64 {
    ref_intervals(s, start, end)
        .into_iter()
        .map(|(a, b)| (b.min(end) - a.max(start)).max(0))
        .sum()
}

/// Minute by minute; None when an interval endpoint near the span is in a fold.
pub(crate) fn sampler(s: &Schedule, start: i64, end: i64) -> Option<i64> {
    let first =
        s.tz.to_datetime(Timestamp::from_second(start).unwrap())
            .date();
    let last =
        s.tz.to_datetime(Timestamp::from_second(end).unwrap())
            .date();
    let mut d = first.checked_sub(jiff::Span::new().days(2)).unwrap();
    while d <= last.tomorrow().unwrap() {
        for (a, b) in ref_hours(s, d) {
            for x in [a, b] {
                let dt = d.to_datetime(Time::midnight()) + jiff::Span::new().seconds(x as i64);
                if s.tz.to_ambiguous_zoned(dt).is_ambiguous() {
                    return None;
                }
            }
        }
        d = d.tomorrow().unwrap();
    }
    let mut open = 0;
    let mut m = start;
    while m < end {
        let ldt = s.tz.to_datetime(Timestamp::from_second(m).unwrap());
        let secs = ldt.time().hour() as u32 * 3600
            + ldt.time().minute() as u32 * 60
            + ldt.time().second() as u32;
        let today = ref_hours(s, ldt.date());
        let yesterday = ref_hours(s, ldt.date().yesterday().unwrap());
        let is_open = today.iter().any(|(a, b)| *a <= secs && secs < *b)
            || yesterday
                .iter()
                .any(|(a, b)| *a <= secs + 86_400 && secs + 86_400 < *b);
        if is_open {
            open += 60;
        }
        m += 60;
    }
    Some(open)
}
