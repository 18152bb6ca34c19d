//! The business clock as SQL: the relation names and columns of the clock, and its rows. The
//! clock reaches the warehouse as constant rows (`Dialect::values_table`: a `VALUES` list, Spark's
//! inline table, BigQuery's split string) when the calendars' ranges total at most
//! [`INLINE_MAX_ROWS`] UTC days, and as the relations `tally_bh__<calendar>` otherwise (written by
//! `tally calendars export`; tally's DuckDB engine creates them in its session). Semantic models'
//! business durations use them (`model/business.rs`): their Jinja text holds [`CLOCK_MARK`] where
//! the rows go, filled in by the SQL stage once the dialect is known.

use super::clock::{self, Clock};
use crate::literal::Literal;
use std::sync::Arc;

/// Clock rows inlined into the SQL at most (summed over the calendars a model's durations use):
/// about 300 kB of SQL, well below BigQuery's 1 MB query text and Snowflake's 16,384 `VALUES`
/// rows; more than 13 years of one calendar.
pub const INLINE_MAX_ROWS: usize = 5000;

/// Where the clock's constant rows go in a wrapped relation's text.
pub const CLOCK_MARK: &str = "__tally_business_clock_rows__";

/// The relation a calendar's clock is read from when it is not inlined.
pub fn clock_relation(calendar: &str) -> String {
    format!("tally_bh__{calendar}")
}

pub(crate) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// A key of a calendar's `map` that may be written between single quotes in any dialect.
pub fn is_safe_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/'))
}

/// The clock's columns for `k` interval slots.
pub fn clock_columns(k: usize) -> Vec<String> {
    let mut c = vec![
        "calendar_id".to_string(),
        "day_utc".into(),
        "cum_s".into(),
        "day_s".into(),
    ];
    for i in 1..=k {
        c.push(format!("s{i}"));
        c.push(format!("e{i}"));
    }
    c
}

/// One clock row (unused slots are `0, 0`).
pub fn clock_row(clock: &Clock, d: &clock::ClockDay, k: usize) -> Vec<Literal> {
    let mut v = vec![
        Literal::Text(clock.calendar.clone()),
        Literal::Date(d.day),
        Literal::Integer(d.cum_s),
        Literal::Double(clock.day_seconds),
    ];
    for i in 0..k {
        let (s, e) = d.slots.get(i).copied().unwrap_or((0, 0));
        v.push(Literal::Integer(s));
        v.push(Literal::Integer(e));
    }
    v
}

/// The interval slots of the widest clock (at least one).
pub fn slots(clocks: &[Arc<Clock>]) -> usize {
    clocks
        .iter()
        .map(|c| c.max_slots())
        .max()
        .unwrap_or(0)
        .max(1)
}
