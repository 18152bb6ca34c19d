//! Business calendars as written: `business_calendars:` and `holiday_sets:` (top-level keys of any
//! project YAML file), and `business_durations:` on semantic models. Everything is checked by
//! [`crate::calendar::resolve`]; these types only carry spans.

use crate::spec::SString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A business calendar: office hours in an IANA time zone, or a choice of calendar per row.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusinessCalendar {
    /// The calendar's name, unique in the project.
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    /// IANA time zone (`Europe/Dublin`); the hours are local wall-clock times in it.
    #[serde(default)]
    pub timezone: Option<SString>,
    /// Open hours per weekday, local, half-open `HH:MM-HH:MM` intervals.
    #[serde(default)]
    pub weekly: Option<Weekly>,
    /// Dates whose hours differ from the week: closed days, custom hours, recurring holidays.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// Holiday sets (`holiday_sets:`) whose exceptions apply too.
    #[serde(default)]
    pub include_exceptions: Vec<SString>,
    /// Schedule changes: each version's `weekly` applies from its `effective_from` (a local date)
    /// to the next version; the top-level `weekly` applies before the first.
    #[serde(default)]
    pub versions: Vec<Version>,
    /// The dates the business clock covers (default 2020-01-01 to 2030-12-31).
    #[serde(default)]
    pub range: Option<DateRange>,
    /// A calendar chosen per row: the column of the semantic model holding the key.
    #[serde(default)]
    pub by: Option<SString>,
    /// Key value -> calendar name (with `by`).
    #[serde(default)]
    pub map: indexmap::IndexMap<String, SString>,
    /// The calendar for keys not in `map` (with `by`).
    #[serde(default)]
    pub default: Option<SString>,
    /// Hours in one business day, for `unit: business_day` (default: the open hours of the
    /// week divided by its open days).
    #[serde(default)]
    pub day_hours: Option<crate::yaml::Spanned<f64>>,
}

/// Open intervals per weekday: `weekdays` (Monday to Friday) and per-day keys, which override it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Weekly {
    #[serde(default)]
    pub weekdays: Option<Vec<SString>>,
    #[serde(default)]
    pub every_day: Option<Vec<SString>>,
    #[serde(default)]
    pub mon: Option<Vec<SString>>,
    #[serde(default)]
    pub tue: Option<Vec<SString>>,
    #[serde(default)]
    pub wed: Option<Vec<SString>>,
    #[serde(default)]
    pub thu: Option<Vec<SString>>,
    #[serde(default)]
    pub fri: Option<Vec<SString>>,
    #[serde(default)]
    pub sat: Option<Vec<SString>>,
    #[serde(default)]
    pub sun: Option<Vec<SString>>,
}

/// One date (`date`) or an inclusive run of dates (`from`, `to`) with other hours.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Exception {
    #[serde(default)]
    pub date: Option<SString>,
    #[serde(default)]
    pub from: Option<SString>,
    #[serde(default)]
    pub to: Option<SString>,
    /// Closed all day.
    #[serde(default)]
    pub closed: Option<crate::yaml::Spanned<bool>>,
    /// The day's hours instead of the week's.
    #[serde(default)]
    pub hours: Option<Vec<SString>>,
    #[serde(default)]
    pub name: Option<String>,
    /// `annually`: the same month and day every year.
    #[serde(default)]
    pub recurring: Option<SString>,
}

/// A schedule change.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Version {
    pub effective_from: SString,
    pub weekly: Weekly,
}

/// Inclusive local dates.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DateRange {
    pub start: SString,
    pub end: SString,
}

/// A named list of exceptions that calendars include.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct HolidaySet {
    pub name: SString,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

/// A column of a semantic model computed in business time: the open seconds between two
/// timestamps under a calendar (`end:`), or the instant a given amount of business time after a
/// timestamp (`after:`, a deadline).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusinessDuration {
    /// The column's name (usable in measures' `expr`, as a dimension and in filters).
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    /// The start timestamp: a column of the model's relation, or a time dimension's name.
    pub start: SString,
    /// The end timestamp (a duration), or none with `after:` (a deadline).
    #[serde(default)]
    pub end: Option<SString>,
    /// A deadline instead of a duration: the column is the earliest instant at which this much
    /// business time (in `unit`: second, minute or hour) has elapsed since `start`.
    #[serde(default)]
    pub after: Option<crate::yaml::Spanned<i64>>,
    /// A calendar of `business_calendars:`.
    pub calendar: SString,
    /// second | minute | hour | business_day (default minute).
    #[serde(default)]
    pub unit: Option<SString>,
    /// What an open span (end NULL) measures: `null` (default) or `as_of` (the age so far, up to
    /// the project variable `as_of`).
    #[serde(default)]
    pub open_end: Option<SString>,
}
