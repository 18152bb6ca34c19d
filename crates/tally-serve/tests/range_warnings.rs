//! A server query whose data leaves a business calendar's `range` answers its rows with the range
//! warning (E0809) in `warnings`, as `tally query` warns on stderr; a query that reads no business
//! duration, or data inside the range, carries none.

mod common;

use common::{post, start};
use serde_json::json;
use tally_serve::http::HttpOptions;
use tally_serve::Settings;

const PROJECT: &str = "business_calendars:
  - name: office
    timezone: America/New_York
    weekly: {weekdays: [\"09:00-17:00\"]}
    range: {start: 2026-01-01, end: 2026-03-31}
semantic_models:
  - name: tickets
    node_relation: {schema_name: main, alias: tickets}
    defaults: {agg_time_dimension: opened_at}
    entities: [{name: ticket, type: primary, expr: id}]
    dimensions:
      - {name: opened_at, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: ticket_count, agg: sum, expr: '1'}
      - {name: response_business_minutes_total, agg: sum, expr: response_business_minutes}
    business_durations:
      - {name: response_business_minutes, start: opened_at, end: replied_at, calendar: office, unit: minute}
metrics:
  - {name: ticket_count, type: simple, type_params: {measure: ticket_count}}
  - {name: response_business_minutes_total, type: simple, type_params: {measure: response_business_minutes_total}}
";

/// The project and a database of tickets opened at `opened` (answered an hour later).
fn project(opened: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tally.yml"), "name: bh\n").expect("write");
    std::fs::create_dir(dir.path().join("models")).expect("mkdir");
    std::fs::write(dir.path().join("models/bh.yml"), PROJECT).expect("write");
    let rows: Vec<String> = opened
        .iter()
        .enumerate()
        .map(|(i, t)| format!("({i}, TIMESTAMP '{t}', TIMESTAMP '{t}' + INTERVAL 1 HOUR)"))
        .collect();
    let conn = tally_duckdb::engine::open(Some(&dir.path().join("bh.duckdb"))).expect("create");
    conn.execute_batch(&format!(
        "CREATE TABLE tickets (id INTEGER, opened_at TIMESTAMP, replied_at TIMESTAMP);
         INSERT INTO tickets VALUES {};",
        rows.join(", ")
    ))
    .expect("tickets");
    drop(conn);
    dir
}

fn query(dir: &tempfile::TempDir, metrics: &[&str]) -> serde_json::Value {
    let db = dir.path().join("bh.duckdb");
    let service = common::service(dir.path(), Some(&db), Settings::default());
    let s = start(service, HttpOptions::default());
    let r = post(s.addr, "/v1/query", &json!({ "metrics": metrics }));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn a_query_of_data_outside_a_calendar_range_carries_the_warning() {
    let dir = project(&["2026-01-05 15:00:00", "2025-12-29 15:00:00"]);
    let both = ["ticket_count", "response_business_minutes_total"];
    let r = query(&dir, &both);
    assert_eq!(
        r["rows"],
        json!([{"ticket_count": 2, "response_business_minutes_total": 60.0}])
    );
    let w = r["warnings"].as_array().expect("warnings");
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "E0809");
    assert_eq!(w[0]["severity"], "warning");
    assert_eq!(w[0]["file"], "models/bh.yml");
    assert!(
        w[0]["message"].as_str().unwrap().starts_with(
            "1 row(s) of semantic model `tickets` have a timestamp outside the range of business calendar `office`"
        ),
        "{r}"
    );
    // No business duration read: nothing checked, nothing said.
    let r = query(&dir, &["ticket_count"]);
    assert_eq!(r["warnings"], json!([]), "{r}");
}

#[test]
fn a_query_of_data_inside_the_range_has_no_warning() {
    let dir = project(&["2026-01-05 15:00:00"]);
    let r = query(&dir, &["response_business_minutes_total"]);
    assert_eq!(
        r["rows"],
        json!([{"response_business_minutes_total": 60.0}])
    );
    assert_eq!(r["warnings"], json!([]), "{r}");
}
