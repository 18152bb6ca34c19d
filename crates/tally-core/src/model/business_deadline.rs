//! Business deadlines (`after:` on an entry of `business_durations:`): the instant at which a
//! given amount of business time has elapsed since a start, the inverse of the business clock.
//!
//! With `B(t)` the open seconds before `t` ([`crate::calendar::clock`]) and `T = B(start) + N`,
//! the deadline is the earliest instant `t >= start` with `B(t) >= T`. In SQL: the start's clock
//! row (an equi-join, as for a duration) gives `T`; the deadline's UTC day is the one clock row of
//! the calendar whose open seconds cover `T` (`cum_s < T <= cum_s + open seconds of the day`, a
//! range join that matches at most one row, since the days' cumulative seconds only grow); within
//! that day, `T - cum_s` seconds are walked through the day's open intervals. No time-zone
//! function, the same Jinja for every dialect. `N = 0` gives the start itself; a start or a
//! deadline outside the calendar's range gives NULL.

use crate::calendar::duration::RANGE_CLOCK_MARK;
use crate::diag::{codes, Diagnostic};
use crate::spec::calendar::BusinessDuration;
use crate::yaml::Spanned;

/// `after` in seconds (with the entry's `unit`), or the reported mistake.
pub(super) fn check(
    d: &BusinessDuration,
    after: &Spanned<i64>,
    diags: &mut Vec<Diagnostic>,
) -> Option<i64> {
    if let Some(o) = &d.open_end {
        diags.push(
            Diagnostic::error(
                codes::BUSINESS_DURATION,
                "`open_end` is for durations; a deadline (`after:`) has no end",
            )
            .at(o.span)
            .with_help("drop `open_end`, or write `end:` instead of `after:` for a duration"),
        );
        return None;
    }
    let unit = d.unit.as_ref();
    let multiplier = match unit.map(|u| u.value.as_str()) {
        None | Some("minute") => 60,
        Some("second") => 1,
        Some("hour") => 3600,
        Some(other) => {
            diags.push(
                Diagnostic::error(
                    codes::BUSINESS_DURATION,
                    format!("unknown unit `{other}` for a deadline"),
                )
                .at(unit.map(|u| u.span).unwrap_or_default())
                .with_suggestion(other, ["second", "minute", "hour"])
                .with_help("a deadline's `after` is in second, minute or hour (business days are not a fixed number of seconds)"),
            );
            return None;
        }
    };
    match after.value.checked_mul(multiplier) {
        Some(s) if s >= 0 => Some(s),
        _ => {
            diags.push(
                Diagnostic::error(
                    codes::BUSINESS_DURATION,
                    format!("`after: {}` is not a business time to add", after.value),
                )
                .at(after.span)
                .with_help(
                    "a whole number of units, 0 or more (e.g. `after: 60` with `unit: minute`)",
                ),
            );
            None
        }
    }
}

/// The mistake of an entry with both `end` and `after`, or neither.
pub(super) fn end_or_after(d: &BusinessDuration, both: bool) -> Diagnostic {
    let (msg, span) = if both {
        (
            format!("`{}` has both `end` and `after`", d.name.value),
            d.after.as_ref().map_or(d.name.span, |a| a.span),
        )
    } else {
        (
            format!("`{}` has neither `end` nor `after`", d.name.value),
            d.name.span,
        )
    };
    Diagnostic::error(codes::BUSINESS_DURATION, msg)
        .at(span)
        .with_help("`end: <timestamp>` measures a duration; `after: <amount>` gives the deadline that much business time after `start`")
}

/// The whole seconds since 00:00 UTC of a timestamp expression (Jinja over the macro library;
/// `expr` is already escaped for a single-quoted Jinja string).
pub(super) fn second_of_day(expr: &str) -> String {
    format!(
        "{{{{ cast_integer(seconds_between(cast_timestamp(cast_date('{expr}')), '{expr}')) }}}}"
    )
}

/// The deadline column of entry `n` (`seconds` after its start, clock rows of `k` slots, the
/// calendar's SQL `calendar`: a string literal or the row's choice) and the range join it needs,
/// placed after the start's clock row `tally_bh<n>s` is joined (the join reads
/// [`RANGE_CLOCK_MARK`], which the SQL stage writes for the clock's form).
///
/// The range join is an equi-join on a bucket of the target `T`: a day's open seconds are at most
/// a day's (86,400), so the day with `cum_s < T <= cum_s + open` has `cum_s` in the bucket
/// `floor(T / 86400)` or the one before. Each open day of the clock is listed under its own bucket
/// and the next, and the join matches `T`'s bucket, then checks the range on the few days listed
/// there: a hash join on every database, instead of a range join that compares each row with
/// every day of the calendar (on DuckDB, 10M conversations against two years of days took 20 s
/// of CPU that way, in tally's SQL and in the hand-written alike).
pub(super) fn sql(n: usize, seconds: i64, k: usize, calendar: &str) -> (String, String) {
    let bs = format!("tally_bh{n}s");
    if seconds == 0 {
        return (
            format!("CASE WHEN {bs}.calendar_id IS NOT NULL THEN tally_m.tally_bd{n}_s END"),
            String::new(),
        );
    }
    let sod = format!("tally_m.tally_bd{n}_sod");
    let mut target = format!("({bs}.cum_s");
    for i in 1..=k {
        target.push_str(&format!(
            " + GREATEST(0, LEAST({sod}, {bs}.e{i}) - {bs}.s{i})"
        ));
    }
    target.push_str(&format!(" + {seconds})"));
    let bd = format!("tally_bh{n}d");
    let open_of = |alias: &str| -> Vec<String> {
        (1..=k)
            .map(|i| format!("{alias}.e{i} - {alias}.s{i}"))
            .collect()
    };
    let open = open_of(&bd);
    let bucket = |x: &str| format!("{{{{ cast_integer('FLOOR({x} / 86400.0)') }}}}");
    let days = format!(
        "(\nSELECT tally_r.*, {} + tally_k.k AS tally_bucket FROM {RANGE_CLOCK_MARK} AS tally_r CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) AS tally_k WHERE {} > 0\n)",
        bucket("tally_r.cum_s"),
        open_of("tally_r").join(" + ")
    );
    let join = format!(
        "\nLEFT JOIN {days} AS {bd} ON {bd}.calendar_id = {calendar} AND {bd}.tally_bucket = {} AND {bd}.cum_s < {target} AND {bd}.cum_s + {} >= {target}",
        bucket(&target),
        open.join(" + ")
    );
    // Walk the remaining seconds r = T - cum_s through the day's intervals.
    let r = format!("({target} - {bd}.cum_s)");
    let mut offset = "CASE".to_string();
    let mut before = String::from("0");
    for (i, len) in open.iter().enumerate() {
        let i = i + 1;
        let upto = format!("{before} + {len}");
        offset.push_str(&format!(
            " WHEN {r} <= {upto} THEN {bd}.s{i} + {r} - ({before})"
        ));
        before = upto;
    }
    offset.push_str(" END");
    let column =
        format!("{{{{ dateadd('second', '({offset})', cast_timestamp('{bd}.day_utc')) }}}}");
    (column, join)
}
