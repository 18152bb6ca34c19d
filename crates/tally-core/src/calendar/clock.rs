//! The business clock: a calendar expanded into one row per UTC day of its range, holding the
//! open seconds before that day (`cum_s`) and the day's open intervals as seconds since 00:00 UTC.
//!
//! `B(t) = cum_s(day(t)) + sum_k max(0, min(sod(t), e_k) - s_k)` is the open seconds from the start
//! of the range to instant `t`, and a business duration is `B(end) - B(start)`.
//!
//! Expansion: each local date's open intervals (the version in force, or the date's exception)
//! are turned into UTC instants with the tz database (a time in a spring-forward gap moves to the
//! first instant after the gap; one in a fall-back fold takes the earlier offset), merged, then
//! split at UTC midnights.

use super::Schedule;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::sync::{Arc, OnceLock};

pub const DAY: i64 = 86_400;

/// One UTC day of a clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockDay {
    pub day: Date,
    /// Open seconds from the start of the range to 00:00 UTC of `day`.
    pub cum_s: i64,
    /// Open intervals `[s, e)` in seconds since 00:00 UTC of `day`, sorted, disjoint.
    pub slots: Vec<(i64, i64)>,
}

/// A calendar's business clock over its range.
#[derive(Debug, Clone)]
pub struct Clock {
    pub calendar: String,
    pub fingerprint: String,
    /// Seconds in one business day of this calendar (`unit: business_day`).
    pub day_seconds: f64,
    pub days: Vec<ClockDay>,
}

/// A calendar's clock, expanded on first use ([`LazyClock::get`]) and then kept for every reader
/// (threads and clones share it through its `Arc`): a load resolves every calendar, but only a
/// query, check or export that reads a clock's rows pays for expanding it.
#[derive(Debug)]
pub struct LazyClock {
    schedule: Schedule,
    clock: OnceLock<Arc<Clock>>,
}

impl LazyClock {
    pub fn new(schedule: Schedule) -> Self {
        LazyClock {
            schedule,
            clock: OnceLock::new(),
        }
    }
    /// The calendar's name (no expansion).
    pub fn calendar(&self) -> &str {
        &self.schedule.name
    }
    /// The calendar the clock is made of.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    /// The clock, expanded the first time it is asked for.
    pub fn get(&self) -> &Arc<Clock> {
        self.clock.get_or_init(|| Arc::new(expand(&self.schedule)))
    }
    /// Whether the clock has been expanded.
    pub fn is_expanded(&self) -> bool {
        self.clock.get().is_some()
    }
}

/// Seconds since the Unix epoch of 00:00 UTC on `d`.
pub fn utc_midnight(d: Date) -> i64 {
    let epoch = Date::constant(1970, 1, 1);
    let days = (d - epoch).get_days() as i64;
    days * DAY
}

/// The instant of local date `d` plus `secs` seconds of wall-clock time in `tz` (seconds may pass
/// midnight), by the gap and fold rules above.
pub fn local_instant(tz: &TimeZone, d: Date, secs: u32) -> i64 {
    let extra_days = (secs / 86_400) as i32;
    let rest = secs % 86_400;
    let day = d
        .checked_add(jiff::Span::new().days(extra_days))
        .unwrap_or(d);
    let time = Time::new(
        (rest / 3600) as i8,
        (rest % 3600 / 60) as i8,
        (rest % 60) as i8,
        0,
    )
    .unwrap_or(Time::midnight());
    let dt = DateTime::from_parts(day, time);
    let amb = tz.to_ambiguous_timestamp(dt);
    let ts = match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt),
        // Fold: the earlier offset, i.e. the first occurrence.
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt),
        // Gap: the transition itself, the first instant after the gap.
        AmbiguousOffset::Gap { after, .. } => after.to_timestamp(dt).map(|early| {
            tz.following(early)
                .next()
                .map(|t| t.timestamp())
                .unwrap_or(early)
        }),
    };
    ts.map(|t| t.as_second()).unwrap_or(0)
}

/// Expand a calendar over its range.
pub fn expand(s: &Schedule) -> Clock {
    let (r0, r1) = s.range;
    let lo = utc_midnight(r0);
    let hi = utc_midnight(r1) + DAY;
    let mut intervals: Vec<(i64, i64)> = Vec::new();
    let mut d = r0.checked_sub(jiff::Span::new().days(3)).unwrap_or(r0);
    let last = r1.checked_add(jiff::Span::new().days(1)).unwrap_or(r1);
    while d <= last {
        for (a, b) in s.hours_on(d) {
            let (ta, tb) = (local_instant(&s.tz, d, *a), local_instant(&s.tz, d, *b));
            let (ta, tb) = (ta.max(lo), tb.min(hi));
            if ta < tb {
                intervals.push((ta, tb));
            }
        }
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    intervals.sort();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in intervals {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let n_days = ((hi - lo) / DAY) as usize;
    let mut days: Vec<ClockDay> = Vec::with_capacity(n_days);
    let mut day = r0;
    for _ in 0..n_days {
        days.push(ClockDay {
            day,
            cum_s: 0,
            slots: Vec::new(),
        });
        day = day.tomorrow().unwrap_or(day);
    }
    for (a, b) in merged {
        let mut i = ((a - lo) / DAY) as usize;
        while i < n_days {
            let base = lo + i as i64 * DAY;
            if base >= b {
                break;
            }
            let (sa, sb) = ((a - base).max(0), (b - base).min(DAY));
            if sa < sb {
                days[i].slots.push((sa, sb));
            }
            i += 1;
        }
    }
    let mut cum = 0;
    for d in &mut days {
        d.cum_s = cum;
        cum += d.slots.iter().map(|(a, b)| b - a).sum::<i64>();
    }
    Clock {
        calendar: s.name.clone(),
        fingerprint: s.fingerprint(),
        day_seconds: s.day_seconds,
        days,
    }
}

impl Clock {
    /// The most open intervals in any UTC day.
    pub fn max_slots(&self) -> usize {
        self.days.iter().map(|d| d.slots.len()).max().unwrap_or(0)
    }

    /// `B(t)` for `t` in seconds since the epoch (fractional allowed); None outside the range.
    pub fn at(&self, t: f64) -> Option<f64> {
        let first = self.days.first()?;
        let lo = utc_midnight(first.day) as f64;
        let i = ((t - lo) / DAY as f64).floor();
        if i < 0.0 || i as usize >= self.days.len() {
            return None;
        }
        let d = &self.days[i as usize];
        let sod = t - lo - i * DAY as f64;
        Some(
            d.cum_s as f64
                + d.slots
                    .iter()
                    .map(|(s, e)| (sod.min(*e as f64) - *s as f64).max(0.0))
                    .sum::<f64>(),
        )
    }

    /// Open seconds in `[start, end)` (epoch seconds); None when `end < start` or either is
    /// outside the range.
    pub fn duration(&self, start: i64, end: i64) -> Option<i64> {
        if end < start {
            return None;
        }
        Some((self.at(end as f64)? - self.at(start as f64)?) as i64)
    }
}
