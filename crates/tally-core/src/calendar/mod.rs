//! Business calendars and business-time durations.
//!
//! - [`spec`] (in [`crate::spec::calendar`]): the YAML as written (`business_calendars:`, `holiday_sets:`, `business_durations:`).
//! - [`resolve`]: checked into [`Calendars`] (IANA zones from jiff's bundled tz database, local
//!   intervals in seconds, versions, exceptions), every mistake a spanned E08xx diagnostic.
//! - [`clock`]: the business clock: per calendar and UTC day, the open seconds before that day
//!   (`cum_s`) and the day's open intervals in seconds since 00:00 UTC. A duration is
//!   `B(end) - B(start)`, two equi-join lookups in SQL, no time-zone function.
//! - [`duration`]: the clock as SQL (its relations, its rows inline); semantic models' business
//!   durations (`model/business.rs`) wrap a model's relation in a query that joins it twice per
//!   duration (Jinja over the macro library, so one text serves all dialects).
//!
//! DST rules: a local endpoint in a spring-forward gap moves to the first instant after the gap;
//! one in a fall-back fold takes the earlier offset. Intervals are half-open.

pub mod clock;
pub mod duration;
pub mod export;
pub mod resolve;
/// The spec types, with the other spec types ([`crate::spec::calendar`]).
pub use crate::spec::calendar as spec;

use crate::source::Span;
use indexmap::IndexMap;

/// A weekday's open intervals: seconds from local midnight, `start < end <= start + 86400`, `end`
/// may pass midnight (an overnight shift).
pub type DayHours = Vec<(u32, u32)>;

/// Monday to Sunday.
pub type Week = [DayHours; 7];

/// Dates whose hours replace the week's.
#[derive(Debug, Clone, PartialEq)]
pub struct DateException {
    pub from: jiff::civil::Date,
    pub to: jiff::civil::Date,
    /// Same month and day every year, before and after `from` too (`from == to`).
    pub annually: bool,
    /// Empty: closed.
    pub hours: DayHours,
    pub name: Option<String>,
}

/// A calendar of office hours.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub span: Span,
    pub timezone: String,
    pub tz: jiff::tz::TimeZone,
    /// (effective from, week), sorted; the first starts at `Date::MIN`.
    pub versions: Vec<(jiff::civil::Date, Week)>,
    pub exceptions: Vec<DateException>,
    /// Inclusive dates the clock covers (read as UTC days).
    pub range: (jiff::civil::Date, jiff::civil::Date),
    /// Seconds in one business day (`unit: business_day`).
    pub day_seconds: f64,
}

/// A calendar chosen per row by a column.
#[derive(Debug, Clone)]
pub struct Selector {
    pub name: String,
    pub span: Span,
    pub by: String,
    pub map: Vec<(String, String)>,
    pub default: String,
}

#[derive(Debug, Clone)]
pub enum Calendar {
    Schedule(Schedule),
    ByColumn(Selector),
}

impl Calendar {
    pub fn name(&self) -> &str {
        match self {
            Calendar::Schedule(s) => &s.name,
            Calendar::ByColumn(s) => &s.name,
        }
    }
}

/// The project's calendars, by name, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct Calendars {
    pub calendars: IndexMap<String, Calendar>,
    /// Every declared name, including calendars left out for their errors (already reported).
    pub declared: Vec<String>,
    /// Each schedule's clock, expanded when first read ([`clock::LazyClock`]), shared by every
    /// semantic model whose business durations use the calendar.
    clocks: IndexMap<String, std::sync::Arc<clock::LazyClock>>,
}

impl Calendars {
    /// The clock of schedule `name` (expanded on first use).
    pub fn clock(&self, name: &str) -> Option<&std::sync::Arc<clock::LazyClock>> {
        self.clocks.get(name)
    }
    /// Make each schedule's (unexpanded) clock; resolution calls it once the calendars are final.
    fn make_clocks(&mut self) {
        self.clocks = self
            .calendars
            .values()
            .filter_map(|c| match c {
                Calendar::Schedule(s) => Some((
                    s.name.clone(),
                    std::sync::Arc::new(clock::LazyClock::new(s.clone())),
                )),
                Calendar::ByColumn(_) => None,
            })
            .collect();
    }
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        match self.calendars.get(name)? {
            Calendar::Schedule(s) => Some(s),
            Calendar::ByColumn(_) => None,
        }
    }
    /// The schedules a calendar stands for (itself, or its map's and default's), deduplicated in
    /// order.
    pub fn schedules_of(&self, name: &str) -> Vec<&Schedule> {
        let mut out: Vec<&Schedule> = Vec::new();
        let mut push = |n: &str| {
            if let Some(s) = self.schedule(n) {
                if !out.iter().any(|o| o.name == s.name) {
                    out.push(s);
                }
            }
        };
        match self.calendars.get(name) {
            Some(Calendar::Schedule(_)) => push(name),
            Some(Calendar::ByColumn(sel)) => {
                for (_, c) in &sel.map {
                    push(c);
                }
                push(&sel.default);
            }
            None => {}
        }
        out
    }
}

impl Schedule {
    /// The week in force on local date `d`.
    pub fn week_on(&self, d: jiff::civil::Date) -> &Week {
        let i = self.versions.partition_point(|(from, _)| *from <= d);
        &self.versions[i.saturating_sub(1)].1
    }
    /// The exception for local date `d`, if any (the last declared wins; resolution rejects
    /// duplicates).
    pub fn exception_on(&self, d: jiff::civil::Date) -> Option<&DateException> {
        self.exceptions.iter().rev().find(|e| {
            if e.annually {
                e.from.month() == d.month() && e.from.day() == d.day()
            } else {
                e.from <= d && d <= e.to
            }
        })
    }
    /// Local date `d`'s open intervals (seconds from its midnight; may pass midnight).
    pub fn hours_on(&self, d: jiff::civil::Date) -> &DayHours {
        match self.exception_on(d) {
            Some(e) => &e.hours,
            None => &self.week_on(d)[d.weekday().to_monday_zero_offset() as usize],
        }
    }
    /// A stable digest of everything that decides the clock, for staleness checks and `tally diff`.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.canonical().as_bytes());
        let out = h.finalize();
        out.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
    /// A canonical text of the definition (for the fingerprint and diffs).
    pub fn canonical(&self) -> String {
        let mut s = format!(
            "tz={};range={}..{};day={}\n",
            self.timezone, self.range.0, self.range.1, self.day_seconds
        );
        let hours = |h: &DayHours| {
            if h.is_empty() {
                "closed".to_string()
            } else {
                h.iter()
                    .map(|(a, b)| format!("{}-{}", hhmm(*a), hhmm(*b)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        for (from, week) in &self.versions {
            let days: Vec<String> = DAYS
                .iter()
                .zip(week.iter())
                .map(|(d, h)| format!("{d} {}", hours(h)))
                .collect();
            s.push_str(&format!("from {from}: {}\n", days.join("; ")));
        }
        for e in &self.exceptions {
            s.push_str(&format!(
                "exception {}{}{}: {}\n",
                e.from,
                if e.to != e.from {
                    format!("..{}", e.to)
                } else {
                    String::new()
                },
                if e.annually { " (annually)" } else { "" },
                hours(&e.hours)
            ));
        }
        s
    }
}

/// `HH:MM` for seconds from midnight (`30:00` past midnight).
pub fn hhmm(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}
