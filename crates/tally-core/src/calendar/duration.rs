//! The business clock as SQL: the relation names and columns of the clock, and its rows inline
//! (a `UNION ALL` of rows in a CTE) when the calendars' ranges total at most [`INLINE_MAX_ROWS`]
//! days; otherwise the relations `tally_bh__<calendar>` (written by `tally calendars export`, or
//! created by tally's DuckDB engine). Semantic models' business durations use them
//! (`model/business.rs`).

use super::clock::{self, Clock};

/// Clock rows inlined into the SQL at most (summed over the calendars a model's durations use).
pub const INLINE_MAX_ROWS: usize = 5000;

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

/// One clock row's values, as SQL literals (unused slots are `0, 0`).
fn row_values(clock: &Clock, d: &clock::ClockDay, k: usize) -> Vec<String> {
    let mut v = vec![
        format!("'{}'", clock.calendar),
        format!("DATE '{}'", d.day),
        d.cum_s.to_string(),
        format!("{:.1}", clock.day_seconds),
    ];
    for i in 0..k {
        let (s, e) = d.slots.get(i).copied().unwrap_or((0, 0));
        v.push(s.to_string());
        v.push(e.to_string());
    }
    v
}

/// The clocks as `SELECT` rows joined by `UNION ALL`, nested as a balanced tree of parenthesised
/// pairs (a left-deep chain of thousands of branches is slow to parse and bind). Jinja: the first
/// row's types go through `cast_integer`/`cast_double`.
pub fn inline_rows(clocks: &[Clock], k: usize) -> String {
    let cols = clock_columns(k);
    let mut rows: Vec<String> = Vec::new();
    for c in clocks {
        for d in &c.days {
            let vals = row_values(c, d, k);
            if rows.is_empty() {
                let typed: Vec<String> = vals
                    .iter()
                    .zip(&cols)
                    .enumerate()
                    .map(|(i, (v, n))| match i {
                        0 | 1 => format!("{v} AS {n}"),
                        3 => format!("{{{{ cast_double('{v}') }}}} AS {n}"),
                        _ => format!("{{{{ cast_integer('{v}') }}}} AS {n}"),
                    })
                    .collect();
                rows.push(format!("SELECT {}", typed.join(", ")));
            } else {
                rows.push(format!("SELECT {}", vals.join(", ")));
            }
        }
    }
    balanced_union(&rows)
}

fn balanced_union(rows: &[String]) -> String {
    match rows.len() {
        0 => String::new(),
        1 => rows[0].clone(),
        n => {
            let (a, b) = rows.split_at(n / 2);
            format!("({})\nUNION ALL ({})", balanced_union(a), balanced_union(b))
        }
    }
}
