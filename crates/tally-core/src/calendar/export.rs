//! The business clock for a warehouse: `tally calendars export` writes it as a CSV seed or as
//! `CREATE TABLE` and `INSERT` statements (`dialect::values::create_clock_table`, the relation `tally_bh__<calendar>` that business durations
//! read when a clock is too large to inline), and `tally calendars check` prints a query that
//! lists the calendars whose warehouse copy is missing or stale (its `fingerprint` column is the
//! digest of the calendar's definition).

use super::clock::Clock;
use super::duration::{clock_columns, clock_relation};

/// The clock as CSV, with a header and the fingerprint column last.
pub fn csv(clock: &Clock) -> String {
    let k = clock.max_slots().max(1);
    let mut out = clock_columns(k).join(",");
    out.push_str(",fingerprint\n");
    for d in &clock.days {
        let mut row = vec![
            clock.calendar.clone(),
            d.day.to_string(),
            d.cum_s.to_string(),
            format!("{:.1}", clock.day_seconds),
        ];
        for i in 0..k {
            let (s, e) = d.slots.get(i).copied().unwrap_or((0, 0));
            row.push(s.to_string());
            row.push(e.to_string());
        }
        row.push(clock.fingerprint.clone());
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// A query returning the calendars whose warehouse copy has another fingerprint (or no rows).
pub fn check_query(clocks: &[Clock]) -> String {
    clocks
        .iter()
        .map(|c| {
            format!(
                "SELECT '{name}' AS stale_calendar FROM (SELECT COUNT(*) AS n FROM {rel} WHERE fingerprint = '{fp}') AS tally_check WHERE n = 0",
                name = c.calendar,
                rel = clock_relation(&c.calendar),
                fp = c.fingerprint
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}
