//! Warnings and notes through the selected renderer (issue #12, step 5): a project's warnings
//! reach every command once, in its format (human text on stderr; with JSON output, one JSON
//! array of diagnostics on stderr, so stdout stays the command's JSON); the range warning (E0809)
//! of `tally test` fixtures; `tally calendars --duckdb` for export and list.

mod common;
mod duckdb_files;

use common::{p, project, tally, transcript};
use duckdb_files::duckdb_file;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Business hours and tickets (`office` covers 2026-01-01..2026-03-31), a target for `tally
/// check`, a derived metric with an unused input (warning E0206) and, with `tests`, a metric test
/// whose fixture rows leave the calendar's range.
fn files(tests: bool) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("tally.yml", "name: bh\n".to_string()),
        (
            "models/bh.yml",
            "business_calendars:
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
      - {name: response_minutes, agg: sum, expr: response_business_minutes}
    business_durations:
      - {name: response_business_minutes, start: opened_at, end: replied_at, calendar: office, unit: minute}
"
            .to_string(),
        ),
        (
            "metrics/metrics.yml",
            "metrics:
  - {name: ticket_count, type: simple, type_params: {measure: ticket_count}}
  - name: response_minutes
    type: simple
    type_params: {measure: response_minutes}
    direction: lower_is_better
    targets:
      - {name: plan, grain: month, values: [{from: 2026-01, value: 1000}]}
  - name: tickets_again
    type: derived
    type_params:
      expr: a
      metrics: [{name: ticket_count, alias: a}, {name: response_minutes, alias: b}]
"
            .to_string(),
        ),
    ];
    if tests {
        f.push((
            "metrics/tests.yml",
            "metric_tests:
  - name: response_minutes_total
    given:
      - table: main.tickets
        rows:
          - {id: 1, opened_at: 2026-01-05 15:00:00, replied_at: 2026-01-05 16:00:00}
          - {id: 2, opened_at: 2025-12-29 15:00:00, replied_at: 2025-12-29 16:00:00}
    query: {metrics: [ticket_count, response_minutes]}
    expect:
      rows: [{ticket_count: 2, response_minutes: 60}]
"
            .to_string(),
        ));
    }
    f
}

/// The project (`dir/project`) and its database `dir/bh.duckdb`: one ticket inside the range and
/// one before it.
fn bh(tests: bool) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let f = files(tests);
    let refs: Vec<(&str, &str)> = f.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let (dir, root) = project(&refs);
    let db = dir.path().join("bh.duckdb");
    duckdb_file(
        &db,
        "CREATE TABLE tickets (id INTEGER, opened_at TIMESTAMP, replied_at TIMESTAMP);
         INSERT INTO tickets VALUES
           (1, TIMESTAMP '2026-01-05 15:00:00', TIMESTAMP '2026-01-05 16:00:00'),
           (2, TIMESTAMP '2025-12-29 15:00:00', TIMESTAMP '2025-12-29 16:00:00');",
    );
    (dir, root, db)
}

fn run(root: &Path, args: &[&str]) -> common::Out {
    let mut all = vec!["--project", p(root)];
    all.extend_from_slice(args);
    tally(&all)
}

/// The codes of a JSON array of diagnostics.
fn codes(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("not a JSON array of diagnostics ({e}):\n{json}"));
    v.as_array()
        .expect("an array")
        .iter()
        .map(|d| d["code"].as_str().expect("a code").to_string())
        .collect()
}

#[test]
fn a_query_reports_the_project_warning_and_the_range_warning_once() {
    let (dir, root, db) = bh(false);
    let out = run(
        &root,
        &[
            "query",
            "--metrics",
            "response_minutes",
            "--duckdb",
            p(&db),
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        out.stderr.matches("warning[E0206]").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("warning[E0809]").count(),
        1,
        "{}",
        out.stderr
    );
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn json_commands_print_their_warnings_as_one_json_array_on_stderr() {
    let (_dir, root, db) = bh(false);
    let db = p(&db);
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &[
                "query",
                "--metrics",
                "response_minutes",
                "--duckdb",
                db,
                "--format",
                "json",
            ],
            &["E0206", "E0809"],
        ),
        (&["graph", "--format", "json"], &["E0206"]),
        (&["lineage", "ticket_count", "--format", "json"], &["E0206"]),
        (&["model"], &["E0206"]),
        (&["test", "--format", "json"], &["E0206"]),
        (
            &[
                "tree",
                "response_minutes",
                "--as-of",
                "2026-01-31",
                "--duckdb",
                db,
                "--format",
                "json",
            ],
            &["E0206", "E0809"],
        ),
    ];
    for (args, want) in cases {
        let out = run(&root, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let _: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{}", out.stdout));
        assert_eq!(codes(&out.stderr), want, "{args:?}");
    }
}

#[test]
fn check_prints_its_warnings_in_its_format() {
    let (dir, root, db) = bh(false);
    let check = |format: &str| {
        run(
            &root,
            &[
                "check",
                "--as-of",
                "2026-01-31",
                "--duckdb",
                p(&db),
                "--format",
                format,
            ],
        )
    };
    let out = check("json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("the check report as JSON");
    assert!(report.is_object(), "{report}");
    assert_eq!(codes(&out.stderr), ["E0206", "E0809"]);
    insta::assert_snapshot!("check_json_stderr", out.stderr);

    // SARIF: the warnings are results of the document; nothing on stderr.
    let out = check("sarif");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let sarif: Value = serde_json::from_str(&out.stdout).expect("SARIF");
    let rules: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["ruleId"].as_str().expect("rule"))
        .collect();
    assert!(
        rules.contains(&"E0206") && rules.contains(&"E0809"),
        "{sarif}"
    );

    // GitHub: annotations on stdout.
    let out = check("github");
    assert_eq!(out.stderr, "");
    common::assert_contains(
        &out.stdout,
        &["::warning file=", "title=E0206::", "title=E0809::"],
    );

    // JUnit: a passing case holding them.
    let out = check("junit");
    assert_eq!(out.stderr, "");
    common::assert_contains(
        &out.stdout,
        &["<system-out>", "warning[E0206]", "warning[E0809]"],
    );

    // Human: text on stderr, after the report on stdout.
    let out = check("human");
    insta::assert_snapshot!("check_human", transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn metric_tests_warn_of_fixture_rows_outside_a_calendar_range() {
    let (dir, root, _db) = bh(true);
    let out = run(&root, &["test"]);
    assert_eq!(
        out.code, 0,
        "the warning does not fail the test: {}",
        out.stderr
    );
    assert_eq!(
        out.stdout.matches("warning[E0809]").count(),
        1,
        "{}",
        out.stdout
    );
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));

    let out = run(&root, &["test", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["passed"], 1, "{v}");
    let test = &v["tests"][0];
    assert_eq!(test["status"], "passed", "{v}");
    assert_eq!(test["diagnostics"][0]["code"], "E0809", "{v}");
    assert_eq!(test["diagnostics"][0]["severity"], "warning", "{v}");
    // The project's own warning, apart from the tests.
    assert_eq!(codes(&out.stderr), ["E0206"]);
}

#[test]
fn calendars_export_loads_a_duckdb_file_and_list_refuses_one() {
    let (dir, root, _db) = bh(false);
    let warehouse = dir.path().join("warehouse.duckdb");
    let check = || run(&root, &["calendars", "check", "--duckdb", p(&warehouse)]);
    let out = run(&root, &["calendars", "export", "--duckdb", p(&warehouse)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    common::assert_contains(
        &out.stderr,
        &["wrote 1 business clock table(s)", "tally_bh__office"],
    );
    let out = check();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("are current"), "{}", out.stderr);
    // Again, after the calendar changed: the copy is replaced, current again.
    let models = root.join("models/bh.yml");
    let text = std::fs::read_to_string(&models).expect("read");
    std::fs::write(&models, text.replace("09:00-17:00", "08:00-16:00")).expect("write");
    assert_eq!(check().code, 1, "stale after the change");
    let out = run(&root, &["calendars", "export", "--duckdb", p(&warehouse)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(check().code, 0);

    let mut refused = String::new();
    for args in [
        &["calendars", "list", "--duckdb", p(&warehouse)][..],
        &[
            "calendars",
            "export",
            "--format",
            "csv",
            "--duckdb",
            p(&warehouse),
        ],
        &[
            "calendars",
            "export",
            "--dialect",
            "snowflake",
            "--duckdb",
            p(&warehouse),
        ],
        &["calendars", "export", "--duckdb", p(&models)],
    ] {
        let out = run(&root, args);
        assert_eq!(out.code, 2, "{args:?}");
        refused.push_str(&transcript(&out, &[(dir.path(), "[tmp]")]));
    }
    insta::assert_snapshot!(refused);
}

#[test]
fn a_failing_json_command_prints_only_json() {
    let (_dir, root, db) = bh(false);
    // A compile error after the project's warning: one array on stdout, the warning first.
    let out = run(
        &root,
        &[
            "query",
            "--metrics",
            "nope",
            "--duckdb",
            p(&db),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(codes(&out.stdout), ["E0206", "E0201"]);
    assert_eq!(out.stderr, "");
}
