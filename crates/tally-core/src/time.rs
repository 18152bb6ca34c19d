//! Time granularities and date parts.

use serde::Serialize;
use std::fmt;

/// A standard time granularity, finest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Grain {
    pub const ALL: [Grain; 11] = [
        Grain::Nanosecond,
        Grain::Microsecond,
        Grain::Millisecond,
        Grain::Second,
        Grain::Minute,
        Grain::Hour,
        Grain::Day,
        Grain::Week,
        Grain::Month,
        Grain::Quarter,
        Grain::Year,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Grain::Nanosecond => "nanosecond",
            Grain::Microsecond => "microsecond",
            Grain::Millisecond => "millisecond",
            Grain::Second => "second",
            Grain::Minute => "minute",
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }

    /// Parse a grain name, accepting plurals (`days`) as MetricFlow does in windows.
    pub fn parse(s: &str) -> Option<Grain> {
        let l = s.trim().to_ascii_lowercase();
        let l = l.strip_suffix('s').unwrap_or(&l);
        Grain::ALL.iter().copied().find(|g| g.name() == l)
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        Grain::ALL.iter().map(|g| g.name())
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A date part for `EXTRACT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatePart {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Dow,
    Doy,
}

impl DatePart {
    pub const ALL: [DatePart; 7] = [
        DatePart::Year,
        DatePart::Quarter,
        DatePart::Month,
        DatePart::Week,
        DatePart::Day,
        DatePart::Dow,
        DatePart::Doy,
    ];
    pub fn name(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Quarter => "quarter",
            DatePart::Month => "month",
            DatePart::Week => "week",
            DatePart::Day => "day",
            DatePart::Dow => "dow",
            DatePart::Doy => "doy",
        }
    }
    pub fn parse(s: &str) -> Option<DatePart> {
        let l = s.trim().to_ascii_lowercase();
        DatePart::ALL.iter().copied().find(|g| g.name() == l)
    }
}

/// A standard granularity, or a custom one defined on a time spine (`fiscal_quarter`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TimeGrain {
    Standard(Grain),
    Custom(String),
}

impl TimeGrain {
    /// A standard grain by name, else a custom one if `is_custom` knows the name.
    pub fn parse(s: &str, is_custom: &dyn Fn(&str) -> bool) -> Option<TimeGrain> {
        if let Some(g) = Grain::parse(s) {
            return Some(TimeGrain::Standard(g));
        }
        let l = s.trim().to_ascii_lowercase();
        if is_custom(&l) {
            return Some(TimeGrain::Custom(l));
        }
        let singular = l.strip_suffix('s').unwrap_or(&l).to_string();
        is_custom(&singular).then_some(TimeGrain::Custom(singular))
    }

    pub fn standard(&self) -> Option<Grain> {
        match self {
            TimeGrain::Standard(g) => Some(*g),
            TimeGrain::Custom(_) => None,
        }
    }
}

impl fmt::Display for TimeGrain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeGrain::Standard(g) => g.fmt(f),
            TimeGrain::Custom(c) => f.write_str(c),
        }
    }
}

/// A window such as `7 days` (or `1 fiscal_quarter`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub count: i64,
    pub grain: TimeGrain,
}

impl Window {
    pub fn parse(s: &str, is_custom: &dyn Fn(&str) -> bool) -> Option<Window> {
        let mut it = s.split_whitespace();
        let count = it.next()?.parse::<i64>().ok()?;
        let grain = TimeGrain::parse(it.next()?, is_custom)?;
        if it.next().is_some() || count < 0 {
            return None;
        }
        Some(Window { count, grain })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.grain)
    }
}
