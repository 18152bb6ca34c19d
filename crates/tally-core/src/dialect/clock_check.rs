//! `tally calendars check`: the query that tells whether the warehouse copies of business clocks
//! (the relations `tally_bh__<calendar>` loaded from `tally calendars export`) are what the
//! project's calendars expand to. Per calendar it aggregates its relation once (rows, the smallest
//! and largest fingerprint, first and last day, the sum of `cum_s`) and compares with the clock
//! tally computes; it returns one row per stale calendar and none when every copy is current:
//!
//! | column | |
//! |---|---|
//! | `calendar_id` | the calendar |
//! | `reason` | `fingerprint` (a row has another fingerprint: the calendar changed since the copy was loaded), `range` (same fingerprint, another first or last day: rows cut at an end), `rows` (same fingerprint and range, another number of rows or another sum of `cum_s`: rows deleted, duplicated or edited; also an empty copy) |
//! | `fingerprint`, `row_count`, `first_day`, `last_day` | what the copy holds (its largest fingerprint) |
//!
//! A missing relation is the warehouse's own error (an unknown table); `tally calendars check
//! --duckdb FILE` looks the relations up in DuckDB's catalogue first and reports them `missing`.
//! Names are written with the dialect's identifier quoting and literals (`Dialect::ident`,
//! `Dialect::string_literal`).

use super::Dialect;
use crate::calendar::clock::Clock;
use crate::calendar::duration::clock_relation;

/// The columns of the check query, in order.
pub const CHECK_COLUMNS: [&str; 6] = [
    "calendar_id",
    "reason",
    "fingerprint",
    "row_count",
    "first_day",
    "last_day",
];

/// What a current copy of `clock` holds: rows, first and last day, the sum of `cum_s`.
fn expected(clock: &Clock) -> Option<(usize, String, String, i128)> {
    let (first, last) = (clock.days.first()?, clock.days.last()?);
    let sum: i128 = clock.days.iter().map(|d| i128::from(d.cum_s)).sum();
    Some((
        clock.days.len(),
        first.day.to_string(),
        last.day.to_string(),
        sum,
    ))
}

impl Dialect {
    /// The staleness check of these clocks' warehouse copies (see the module's documentation);
    /// the `SELECT`s of the calendars joined by `UNION ALL`.
    pub fn clock_check_query(self, clocks: &[Clock]) -> String {
        clocks
            .iter()
            .filter_map(|c| self.clock_check_select(c))
            .collect::<Vec<_>>()
            .join("\nUNION ALL\n")
    }

    fn clock_check_select(self, clock: &Clock) -> Option<String> {
        let (rows, first, last, sum) = expected(clock)?;
        let id = |s: &str| self.ident(s);
        let fp = self.string_literal(&clock.fingerprint);
        let (first, last) = (format!("DATE '{first}'"), format!("DATE '{last}'"));
        let t = "tally_check";
        let col = |c: &str| format!("{t}.{}", id(c));
        let (n, fp_lo, fp_hi, lo, hi, cum) = (
            col("row_count"),
            col("fp_lo"),
            col("fingerprint"),
            col("first_day"),
            col("last_day"),
            col("cum_sum"),
        );
        let same_fp = format!("{fp_lo} = {fp} AND {fp_hi} = {fp}");
        let same_range = format!("{lo} = {first} AND {hi} = {last}");
        let same_rows = format!("{n} = {rows} AND {cum} = {sum}");
        let [c_id, c_reason, c_fp, c_n, c_first, c_last] = CHECK_COLUMNS.map(id);
        Some(format!(
            "SELECT {name} AS {c_id}, \
             CASE WHEN {n} = 0 THEN 'rows' WHEN NOT ({same_fp}) THEN 'fingerprint' \
             WHEN NOT ({same_range}) THEN 'range' ELSE 'rows' END AS {c_reason}, \
             {fp_hi} AS {c_fp}, {n} AS {c_n}, {lo} AS {c_first}, {hi} AS {c_last}\n\
             FROM (SELECT COUNT(*) AS {c_n}, MIN(fingerprint) AS {}, MAX(fingerprint) AS {c_fp}, \
             MIN(day_utc) AS {c_first}, MAX(day_utc) AS {c_last}, SUM(cum_s) AS {} FROM {}) AS {t}\n\
             WHERE CASE WHEN {same_fp} AND {same_range} AND {same_rows} THEN 0 ELSE 1 END = 1",
            id("fp_lo"),
            id("cum_sum"),
            id(&clock_relation(&clock.calendar)),
            name = self.string_literal(&clock.calendar),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::clock::ClockDay;

    fn clock(name: &str) -> Clock {
        let day = |d: i8, cum_s: i64| ClockDay {
            day: jiff::civil::date(2026, 1, d),
            cum_s,
            slots: vec![(28_800, 61_200)],
        };
        Clock {
            calendar: name.into(),
            fingerprint: "0123abcd".into(),
            day_seconds: 32_400.0,
            days: vec![day(1, 0), day(2, 32_400)],
        }
    }

    #[test]
    fn the_check_compares_fingerprint_range_and_rows() {
        let sql = Dialect::Postgres.clock_check_query(&[clock("support")]);
        assert!(
            sql.starts_with(
                "SELECT 'support' AS calendar_id, CASE WHEN tally_check.row_count = 0 THEN 'rows'"
            ),
            "{sql}"
        );
        for part in [
            "tally_check.fp_lo = '0123abcd' AND tally_check.fingerprint = '0123abcd'",
            "tally_check.first_day = DATE '2026-01-01' AND tally_check.last_day = DATE '2026-01-02'",
            "tally_check.row_count = 2 AND tally_check.cum_sum = 32400",
            "FROM tally_bh__support) AS tally_check",
        ] {
            assert!(sql.contains(part), "{part}\n{sql}");
        }
    }

    #[test]
    fn names_are_quoted_per_dialect() {
        // Resolution refuses such names (E0102); the query quotes them anyway.
        let sql = Dialect::Snowflake.clock_check_query(&[clock("it's")]);
        assert!(sql.starts_with("SELECT 'it''s' AS"), "{sql}");
        assert!(sql.contains("FROM \"TALLY_BH__IT'S\")"), "{sql}");
        let sql = Dialect::Databricks.clock_check_query(&[clock("it's")]);
        assert!(sql.starts_with("SELECT 'it\\'s' AS"), "{sql}");
        assert!(sql.contains("FROM `tally_bh__it's`)"), "{sql}");
    }

    #[test]
    fn the_check_parses_back_in_every_dialect() {
        let clocks = [clock("support"), clock("tier1_hours")];
        for d in Dialect::ALL {
            let sql = d.clock_check_query(&clocks);
            assert_eq!(sql.matches("UNION ALL").count(), 1, "{sql}");
            crate::sql::parse_back(d, &sql).unwrap_or_else(|e| panic!("{}: {e}\n{sql}", d.name()));
        }
    }
}
