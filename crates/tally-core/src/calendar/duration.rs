//! The business clock as SQL: the relation names and columns of the clock, and its rows. Which
//! form the clock takes is decided where SQL is produced for a target ([`ClockForm`], an option of
//! the SQL stage): self-contained SQL (warehouses, `tally sql`) writes it as constant rows
//! (`Dialect::values_table`: a `VALUES` list, Spark's inline table, BigQuery's split string) when
//! the ranges of the calendars a relation reads total at most [`INLINE_MAX_ROWS`] UTC days, and
//! reads the relations `tally_bh__<calendar>` otherwise (written by `tally calendars export`); a
//! relation reads the calendars of the durations it computes, no other. SQL run by tally on its
//! local DuckDB reads the relations whatever their size (tally-duckdb's `clock` creates them as
//! temporary tables of its session). Semantic models' business durations use them
//! (`model/business.rs`): their Jinja text holds [`CLOCK_MARK`] where the clock goes, filled in by
//! the SQL stage once the dialect and the form are known.

use super::clock::{self, Clock};
use crate::literal::Literal;
use std::sync::Arc;

/// Clock rows inlined into the SQL at most (summed over the calendars of the durations a relation
/// computes): about 300 kB of SQL, well below BigQuery's 1 MB query text and Snowflake's 16,384
/// `VALUES` rows; more than 13 years of one calendar.
pub const INLINE_MAX_ROWS: usize = 5000;

/// Where the clock's constant rows go in a wrapped relation's text.
pub const CLOCK_MARK: &str = "__tally_business_clock_rows__";

/// The relation a deadline's range join reads in a wrapped relation's text: in the relation form
/// the clock's relations themselves, read by that join alone (the engine narrows the scan to the
/// days the join's targets can reach: on DuckDB a shared `tally_bh` step is materialised for its
/// several readers and scanned whole, every start against all its calendar's days), else the
/// `tally_bh` step (constant rows written once).
pub const RANGE_CLOCK_MARK: &str = "__tally_business_clock_range__";

/// How the SQL stage writes the business clock of a relation with business durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClockForm {
    /// Self-contained SQL (warehouses, `tally sql`): the clock's rows as constants when the
    /// calendars a relation reads total at most [`INLINE_MAX_ROWS`] days, else the relations
    /// `tally_bh__<calendar>` (loaded by `tally calendars export`).
    #[default]
    Inline,
    /// Always the relations `tally_bh__<calendar>`: SQL run by tally on its local DuckDB, which
    /// creates them as temporary tables of its session (constant rows cost DuckDB seconds of
    /// planning: 3,650 rows bound at every reference).
    Relation,
}

impl ClockForm {
    /// Whether clocks of `rows` rows in all are read from their relations.
    pub fn reads_relations(self, rows: usize) -> bool {
        self == ClockForm::Relation || rows > INLINE_MAX_ROWS
    }
}

/// The clocks read from their relations, as one `UNION ALL` with the columns of `k` slots
/// (narrower clocks padded with zeros). A comment names each calendar's fingerprint, so the text
/// changes with the calendar's definition (the materialisation cache is keyed by the text).
pub fn clock_relations_sql(clocks: &[Arc<Clock>], k: usize) -> String {
    clocks
        .iter()
        .map(|c| {
            let ck = c.max_slots().max(1);
            let cols: Vec<String> = clock_columns(k)
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    if i >= 4 + 2 * ck {
                        format!("0 AS {n}")
                    } else {
                        n
                    }
                })
                .collect();
            format!(
                "SELECT {} FROM {} /* fingerprint {} */",
                cols.join(", "),
                clock_relation(&c.calendar),
                comment_safe(&c.fingerprint)
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL ")
}

/// Text that cannot end a `/* */` comment.
fn comment_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .collect()
}

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
