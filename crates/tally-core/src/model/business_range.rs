//! The range check of business durations: a business duration is NULL when a timestamp it reads
//! falls on a UTC day outside its calendar's `range` (the clock lookup finds no row). A query that
//! reads business durations on the local DuckDB runs this check beside it: one aggregate over the
//! semantic model's own relation (no clock join; or over the table the materialisation cache made
//! of the relation with durations, which holds each duration's calendar and timestamps), counting per calendar the rows with a timestamp
//! outside the range and the earliest and latest such timestamp. Each calendar with rows outside
//! becomes a warning (E0809). The SQL is Jinja over the macro library (`cast_date`), like the
//! wrapped relation, so it renders for every dialect.

use super::business::Wrapped;
use super::{Relation, SemanticModel};
use crate::calendar::Schedule;
use crate::diag::{codes, Diagnostic};
use crate::value::Value;

/// What the range check reads of one business duration: its timestamps (a start, and an end for
/// a duration) and its calendar, as SQL over the model's relation (Jinja, aliased `tally_base`).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub duration: String,
    pub timestamps: Vec<String>,
    /// The calendar's name as SQL: a string literal, or a CASE over the `by` column.
    pub calendar: String,
}

/// The calendars a wrapped relation's clocks stand for, with their ranges, in clock order.
fn schedules<'a>(w: &Wrapped, cals: &'a crate::calendar::Calendars) -> Vec<&'a Schedule> {
    w.clock_calendars()
        .filter_map(|c| cals.schedule(c))
        .collect()
}

/// `(c = 'cal' AND CAST(t AS DATE) NOT BETWEEN first AND last)`: a timestamp outside the range of
/// calendar `s` (NULL, not true, for a NULL timestamp). Calendar names are identifiers (E0102), so
/// the literal needs no escaping.
fn outside(s: &Schedule, c: &str, t: &str) -> String {
    format!(
        "({c} = '{}' AND {{{{ cast_date('{}') }}}} NOT BETWEEN DATE '{}' AND DATE '{}')",
        s.name,
        t.replace('\\', "\\\\").replace('\'', "\\'"),
        s.range.0,
        s.range.1
    )
}

/// The range check of semantic model `sm`'s business durations (Jinja text; one row), or None
/// when it has none. Columns per calendar `i` (in [`schedules`] order): `tally_n{i}` the rows
/// with a timestamp outside the range, `tally_lo{i}_{j}` / `tally_hi{i}_{j}` the earliest and
/// latest of timestamp `j` outside it.
pub fn range_check_sql(sm: &SemanticModel, cals: &crate::calendar::Calendars) -> Option<String> {
    let w = sm.business.as_ref()?;
    let scheds = schedules(w, cals);
    if scheds.is_empty() || w.endpoints.is_empty() {
        return None;
    }
    // The business relation as a table (the materialisation cache built it) already holds each
    // duration's calendar and timestamps (`tally_bd{n}_c`, `_s`, `_e`): a scan of three columns.
    // Otherwise the model's own relation, without the clock.
    let cached = w.table();
    let mut inner = Vec::new();
    let mut pairs = Vec::new(); // (calendar column, timestamp column)
    for (i, e) in w.endpoints.iter().enumerate() {
        let n = i + 1;
        let c = format!("tally_c{i}");
        match cached {
            Some(_) => inner.push(format!("tally_bd{n}_c AS {c}")),
            None => inner.push(format!("{} AS {c}", e.calendar)),
        }
        for (j, t) in e.timestamps.iter().enumerate() {
            let col = format!("tally_t{i}_{j}");
            match cached {
                Some(_) => inner.push(format!("tally_bd{n}_{} AS {col}", ["s", "e"][j.min(1)])),
                None => inner.push(format!("{t} AS {col}")),
            }
            pairs.push((c.clone(), col));
        }
    }
    let mut cols = Vec::new();
    for (i, s) in scheds.iter().enumerate() {
        let any: Vec<String> = pairs.iter().map(|(c, t)| outside(s, c, t)).collect();
        cols.push(format!(
            "SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS tally_n{i}",
            any.join(" OR ")
        ));
        for (j, (c, t)) in pairs.iter().enumerate() {
            let o = outside(s, c, t);
            cols.push(format!(
                "MIN(CASE WHEN {o} THEN {t} END) AS tally_lo{i}_{j}"
            ));
            cols.push(format!(
                "MAX(CASE WHEN {o} THEN {t} END) AS tally_hi{i}_{j}"
            ));
        }
    }
    let from = match (cached, &sm.relation) {
        (Some(t), _) | (None, Relation::Table(t)) => t.clone(),
        (None, Relation::Query(q, _)) => format!("({q}\n)"),
    };
    Some(format!(
        "SELECT {}\nFROM (SELECT {} FROM {from} AS tally_base) AS tally_m",
        cols.join(",\n  "),
        inner.join(", ")
    ))
}

/// A value as an instant for ordering (a time, else its text).
fn order_key(v: &Value) -> (Option<i64>, String) {
    (v.time_micros(), v.to_string())
}

/// The warnings (E0809) of a range check's row: one per calendar with rows outside its range.
pub fn range_warnings(
    sm: &SemanticModel,
    cals: &crate::calendar::Calendars,
    columns: &[String],
    row: &[Value],
) -> Vec<Diagnostic> {
    let Some(w) = sm.business.as_ref() else {
        return Vec::new();
    };
    let get = |name: &str| {
        columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .and_then(|i| row.get(i))
    };
    let n_pairs: usize = w.endpoints.iter().map(|e| e.timestamps.len()).sum();
    let mut out = Vec::new();
    for (i, s) in schedules(w, cals).iter().enumerate() {
        let n = get(&format!("tally_n{i}"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as u64;
        if n == 0 {
            continue;
        }
        let seen = |kind: &str| -> Vec<&Value> {
            (0..n_pairs)
                .filter_map(|j| get(&format!("tally_{kind}{i}_{j}")))
                .filter(|v| **v != Value::Null)
                .collect()
        };
        let lo = seen("lo").into_iter().min_by_key(|v| order_key(v));
        let hi = seen("hi").into_iter().max_by_key(|v| order_key(v));
        out.push(warning(sm, w, s, n, lo, hi));
    }
    out
}

fn warning(
    sm: &SemanticModel,
    w: &Wrapped,
    s: &Schedule,
    n: u64,
    lo: Option<&Value>,
    hi: Option<&Value>,
) -> Diagnostic {
    let seen = match (lo, hi) {
        (Some(a), Some(b)) if a == b => format!("; the timestamp outside is {a}"),
        (Some(a), Some(b)) => format!("; timestamps outside run from {a} to {b}"),
        _ => String::new(),
    };
    let durations: Vec<String> = w
        .endpoints
        .iter()
        .map(|e| format!("`{}`", e.duration))
        .collect();
    Diagnostic::warning(
        codes::CALENDAR_OUT_OF_RANGE,
        format!(
            "{n} row(s) of semantic model `{}` have a timestamp outside the range of business calendar `{}` ({} to {}){seen}; their business durations ({}) are NULL",
            sm.name,
            s.name,
            s.range.0,
            s.range.1,
            durations.join(", ")
        ),
    )
    .at(s.span)
    .with_help(format!(
        "extend `range:` of calendar `{}` to cover the data (add `versions:` if its hours changed), or filter those rows out; the results are unchanged",
        s.name
    ))
}
