//! The business clock for a warehouse: `tally calendars export` writes it as a CSV seed or as
//! `CREATE TABLE` and `INSERT` statements (`dialect::values::create_clock_table`, the relation `tally_bh__<calendar>` that business durations
//! read when a clock is too large to inline); every row carries the calendar's `fingerprint`, the
//! digest of its definition, which `tally calendars check` compares
//! (`Dialect::clock_check_query`, `dialect/clock_check.rs`).

use super::clock::Clock;
use super::duration::clock_columns;

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
