//! Regression tests for what the warehouse execution checks (tally-conformance's `tests/warehouses.rs`)
//! found in the SQL of the warehouse dialects: unordered ranking windows in conversion metrics,
//! the warehouses' different NULL orders, BigQuery's untyped custom-granularity columns and Trino's
//! millisecond timestamps.

mod common;

use tally_core::dialect::{self, Dialect};
use tally_core::plan::QueryRequest;

fn req(metrics: &[&str], group_by: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, &[] as &[&str])
}

fn compile(manifest: &str, d: Dialect, r: &QueryRequest) -> String {
    let (model, diags) = common::load_manifest(manifest);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "{}",
        common::render(&model, &diags)
    );
    match tally_core::pipeline::compile(&model, d, r) {
        Ok(c) => c.sql,
        Err(ds) => panic!("{}: {}", d.name(), common::render(&model, &ds)),
    }
}

/// The text of every `OVER (...)` of `sql` whose call is `ROW_NUMBER()`.
fn row_number_windows(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find("ROW_NUMBER() OVER (") {
        let body = &rest[i + "ROW_NUMBER() OVER (".len()..];
        let mut depth = 1;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(j, _)| j)
            .expect("a closed window");
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

#[test]
fn conversion_events_are_numbered_in_a_stable_order_in_every_dialect() {
    for metric in [
        "visit_buy_conversion_rate",
        "visit_buy_conversion_rate_by_session",
    ] {
        let r = req(&[metric], &["metric_time__day"]);
        for d in dialect::Dialect::ALL {
            let sql = compile("simple_manifest", d, &r);
            let windows = row_number_windows(&sql);
            assert!(windows.len() >= 2, "{}: {metric}:\n{sql}", d.name());
            for w in &windows {
                assert!(
                    w.contains("ORDER BY"),
                    "{}: {metric}: a ranking window without ORDER BY (Spark, Databricks and Snowflake reject it): OVER ({w})",
                    d.name()
                );
            }
            // The event number orders by the event's time first, then the columns of the event.
            let event_id = windows
                .iter()
                .find(|w| !w.contains("PARTITION BY"))
                .expect("the conversion events' numbering");
            let key = event_id.trim_start_matches("ORDER BY ");
            let mut depth = 0;
            let first = key
                .split(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    c == ',' && depth == 0
                })
                .next()
                .unwrap_or_default();
            assert!(
                first.contains("ds"),
                "{}: the event's time comes first: {key}",
                d.name()
            );
            assert!(
                key.to_lowercase().contains("user"),
                "{}: the entity is part of the key: {key}",
                d.name()
            );
        }
    }
}

#[test]
fn final_order_puts_nulls_last_in_every_dialect() {
    let mut r = req(
        &["bookings"],
        &["metric_time__day", "listing__country_latest"],
    );
    r.order_by = vec![
        tally_core::yaml::Spanned::synthetic("-bookings".to_string()),
        tally_core::yaml::Spanned::synthetic("listing__country_latest".to_string()),
    ];
    r.limit = Some(3);
    for d in dialect::Dialect::ALL {
        let sql = compile("simple_manifest", d, &r);
        let order = sql
            .lines()
            .find(|l| l.trim_start().starts_with("ORDER BY "))
            .unwrap_or_else(|| panic!("{}: no ORDER BY:\n{sql}", d.name()));
        let bookings = d.output_ident("bookings");
        let country = d.output_ident("listing__country_latest");
        assert_eq!(
            order.trim(),
            format!("ORDER BY {bookings} DESC NULLS LAST, {country} NULLS LAST"),
            "{}",
            d.name()
        );
    }
}

#[test]
fn the_final_order_puts_nulls_last() {
    for d in dialect::Dialect::ALL {
        assert_eq!(d.order_item("x", true), "x DESC NULLS LAST", "{d}");
    }
}

/// Every qualified reference to `column` in `sql` (`alias.column`): the alias and the text before
/// and after it.
fn references<'a>(sql: &'a str, column: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    let needle = format!(".{column}");
    let mut out = Vec::new();
    for (i, _) in sql.match_indices(&needle) {
        let end = i + needle.len();
        if sql[end..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let start = sql[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '`'))
            .map_or(0, |s| s + 1);
        out.push((&sql[start..i], &sql[..start], &sql[end..]));
    }
    out
}

#[test]
fn bigquery_reads_every_time_spine_column_as_datetime() {
    let queries = [
        req(&["bookings"], &["metric_time__alien_day"]),
        req(&["bookings"], &["booking__ds__alien_day"]),
        req(&["bookings_offset_alien_day"], &["metric_time__day"]),
        req(&[], &["metric_time__alien_day"]),
    ];
    for r in &queries {
        let sql = compile("simple_manifest", dialect::Dialect::BigQuery, r);
        let mut spine_refs = 0;
        for column in ["alien_day", "ds"] {
            for (alias, before, after) in references(&sql, column) {
                // The time spine's columns (a model's own `ds` is truncated or cast where used).
                if column != "alien_day" && !alias.contains("spine") {
                    continue;
                }
                spine_refs += 1;
                assert!(
                    before.ends_with("CAST(") && after.starts_with(" AS DATETIME)"),
                    "an untyped time spine column {alias}.{column} (BigQuery does not compare TIMESTAMP with DATETIME):\n...{}<HERE>{}...\n{sql}",
                    &before[before.len().saturating_sub(60)..],
                    &after[..after.len().min(60)]
                );
            }
        }
        // The day map of a custom offset reads the spine's columns unqualified: cast too.
        for line in sql.lines() {
            let l = line.trim();
            if l.ends_with("AS date_day,") || l.ends_with("AS period,") {
                spine_refs += 1;
                assert!(
                    l.starts_with("CAST(") && l.contains(" AS DATETIME) AS "),
                    "an untyped time spine column: {l}\n{sql}"
                );
            }
        }
        assert!(spine_refs > 0, "no time spine column read:\n{sql}");
    }
}

#[test]
fn trino_keeps_microseconds() {
    let mut r = req(&["bookings"], &["metric_time__day"]);
    r.start_time = Some("2020-01-01".into());
    r.end_time = Some("2020-01-02".into());
    let sql = compile("simple_manifest", dialect::Dialect::Trino, &r);
    assert!(sql.contains("AS TIMESTAMP(6))"), "{sql}");
    assert!(
        !sql.contains("AS TIMESTAMP)"),
        "Trino's TIMESTAMP has milliseconds only:\n{sql}"
    );
    let spine = req(&["bookings_fill_nulls_with_0"], &["metric_time__day"]);
    let sql = compile("simple_manifest", dialect::Dialect::Trino, &spine);
    assert!(!sql.contains("AS TIMESTAMP)"), "{sql}");
}
