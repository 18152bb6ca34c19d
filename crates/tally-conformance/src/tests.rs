use super::*;
use crate::crosscheck::metricflow_dir;
use std::cell::RefCell;

fn table(columns: &[&str], rows: Vec<Vec<Value>>) -> Table {
    Table {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn fixtures_conn() -> duckdb::Connection {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    load_fixtures(&conn, &metricflow_dir(), SOURCE_SCHEMA).unwrap();
    conn
}

fn scalar_i64(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap()
}

#[test]
fn conformance_loads_fixtures() {
    let conn = fixtures_conn();
    let tables = scalar_i64(
        &conn,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{SOURCE_SCHEMA}'"
        ),
    );
    assert_eq!(tables, 41);
    let count = |t: &str| scalar_i64(&conn, &format!("SELECT COUNT(*) FROM {SOURCE_SCHEMA}.{t}"));
    assert_eq!(count("fct_bookings"), 287);
    assert_eq!(count("mf_time_spine"), 14976);
    assert_eq!(count("dim_users"), 12);
    assert_eq!(count("fct_animals"), 1);
    assert_eq!(count("mf_time_spine_nanosecond"), 30);
    // Booleans, nulls, types.
    assert!(
        scalar_i64(
            &conn,
            "SELECT COUNT(*) FROM mf_src.fct_bookings WHERE is_instant"
        ) > 0
    );
    assert!(
        scalar_i64(
            &conn,
            "SELECT COUNT(*) FROM mf_src.fct_bookings WHERE NOT is_instant"
        ) > 0
    );
    assert!(
        scalar_i64(
            &conn,
            "SELECT COUNT(*) FROM mf_src.fct_bookings WHERE referrer_id IS NULL"
        ) > 0
    );
    assert_eq!(
        scalar_i64(
            &conn,
            "SELECT COUNT(*) FROM mf_src.dim_listings_latest WHERE country = 'cote d''ivoire'"
        ),
        1
    );
    let t = query_table(
        &conn,
        "SELECT ds, booking_value, is_instant, guest_id FROM mf_src.fct_bookings ORDER BY ds, booking_value LIMIT 1",
    )
    .unwrap();
    assert_eq!(t.columns, ["ds", "booking_value", "is_instant", "guest_id"]);
    assert!(matches!(t.rows[0][0], Value::Time(_)), "{:?}", t.rows[0]);
    assert!(matches!(t.rows[0][1], Value::Float(_)), "{:?}", t.rows[0]);
    assert!(matches!(t.rows[0][2], Value::Bool(_)), "{:?}", t.rows[0]);
    assert!(matches!(t.rows[0][3], Value::Text(_)), "{:?}", t.rows[0]);
    let types = query_table(
        &conn,
        "SELECT column_name, data_type FROM information_schema.columns \
         WHERE table_schema = 'mf_src' AND table_name = 'dim_listings_latest' ORDER BY ordinal_position",
    )
    .unwrap();
    let types: Vec<String> = types
        .rows
        .iter()
        .map(|r| format!("{} {}", shown(&r[0]), shown(&r[1])))
        .collect();
    assert!(
        types.contains(&"\"capacity\" \"BIGINT\"".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"\"is_lux\" \"BOOLEAN\"".to_string()),
        "{types:?}"
    );
}

#[test]
fn conformance_all_check_queries_render_and_run() {
    let dir = metricflow_dir();
    let cases = load_cases(&dir).unwrap();
    let conn = fixtures_conn();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        if case.skip_reason().is_some() {
            assert!(
                render_check_query(case, SOURCE_SCHEMA).is_err(),
                "{}",
                case.id()
            );
            continue;
        }
        let sql = match render_check_query(case, SOURCE_SCHEMA) {
            Ok(sql) => sql,
            Err(e) => {
                failures.push(format!("{}: render: {e}", case.id()));
                continue;
            }
        };
        assert!(!sql.contains("{{") && !sql.contains("{%"), "{}", case.id());
        match query_table(&conn, &sql) {
            Ok(t) => {
                ran += 1;
                if t.rows.is_empty() && !case.allow_empty {
                    failures.push(format!("{}: empty result", case.id()));
                }
                if t.columns.is_empty() {
                    failures.push(format!("{}: no columns", case.id()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}\n{sql}", case.id())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(ran, 172);
}

/// The harness proof: with the check query itself as "tally's SQL", every case must pass.
#[test]
fn conformance_run_with_check_queries_as_compiler_passes() {
    let dir = metricflow_dir();
    let seen_dirs = RefCell::new(std::collections::BTreeSet::new());
    let compile = |case: &Case, manifest_dir: &Path| -> Result<String, String> {
        assert!(manifest_dir.is_dir(), "{}", manifest_dir.display());
        assert_eq!(
            manifest_dir.file_name().unwrap().to_str().unwrap(),
            case.model
        );
        seen_dirs.borrow_mut().insert(manifest_dir.to_path_buf());
        render_check_query(case, SOURCE_SCHEMA)
    };
    let report = run(&dir, &compile, None).unwrap();
    let failures: Vec<String> = report
        .failures()
        .map(|(id, msg)| format!("{id}: {msg}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{}\n{}",
        report.summary_line(),
        failures.join("\n\n")
    );
    assert_eq!(report.failed(), 0);
    assert_eq!(report.results.len(), load_cases(&dir).unwrap().len());
    assert_eq!(report.passed(), 172);
    assert_eq!(report.skipped(), 1);
    assert_eq!(report.summary_line(), "172 passed, 0 failed, 1 skipped");
    // Manifests were copied with `$source_schema` replaced, and removed afterwards.
    for d in seen_dirs.borrow().iter() {
        assert!(!d.exists(), "{} not cleaned up", d.display());
    }
}

#[test]
fn conformance_run_reports_failures_and_filters() {
    let dir = metricflow_dir();
    let compile = |case: &Case, manifest_dir: &Path| -> Result<String, String> {
        let text = fs::read_to_string(manifest_dir.join("project_configuration.yaml")).unwrap();
        assert!(!text.contains("$source_schema") && text.contains("mf_src.mf_time_spine"));
        match case.name.as_str() {
            "simple_expr_metric" => Err("no such metric".into()),
            "expr_metric" => Ok("SELECT nope FROM nowhere".into()),
            "constrained_metric" => Ok(
                "SELECT 1 AS instant_booking_value, DATE '2020-01-01' AS metric_time__day".into(),
            ),
            "identifier_constrained_metric" => panic!("boom"),
            _ => render_check_query(case, SOURCE_SCHEMA),
        }
    };
    let report = run(&dir, &compile, Some("itest_metrics::")).unwrap();
    assert!(report
        .results
        .iter()
        .all(|(id, _)| id.starts_with("itest_metrics::")));
    let outcome = |name: &str| {
        report
            .results
            .iter()
            .find(|(id, _)| id == &format!("itest_metrics::{name}"))
            .map(|(_, o)| o.clone())
            .unwrap()
    };
    assert!(
        matches!(outcome("simple_expr_metric"), Outcome::Fail(m) if m.contains("compile error: no such metric"))
    );
    assert!(
        matches!(outcome("expr_metric"), Outcome::Fail(m) if m.starts_with("tally SQL failed"))
    );
    assert!(
        matches!(outcome("constrained_metric"), Outcome::Fail(m) if m.starts_with("rows differ"))
    );
    assert!(
        matches!(outcome("identifier_constrained_metric"), Outcome::Fail(m) if m.contains("boom"))
    );
    assert_eq!(report.failed(), 4);
    assert_eq!(report.passed() + 4, report.results.len());

    let one = run(&dir, &compile, Some("order_desc_with_granularity")).unwrap();
    assert_eq!(one.results.len(), 1);
    assert_eq!(one.summary_line(), "1 passed, 0 failed, 0 skipped");
}

// ---------------------------------------------------------------------------------------------
// compare
// ---------------------------------------------------------------------------------------------

#[test]
fn conformance_compare_tolerance_and_types() {
    let case = Case::default();
    let e = table(&["a", "b"], vec![vec![Value::Int(1), Value::Float(1.0)]]);
    // Relative tolerance 1e-6.
    let a = table(
        &["a", "b"],
        vec![vec![Value::Int(1), Value::Float(1.0000005)]],
    );
    assert!(compare(&case, &e, &a).is_ok());
    let a = table(
        &["a", "b"],
        vec![vec![Value::Int(1), Value::Float(1.00001)]],
    );
    let err = compare(&case, &e, &a).unwrap_err();
    assert!(
        err.starts_with("rows differ: 1 expected rows missing, 1 unexpected rows"),
        "{err}"
    );
    assert!(
        err.contains("- 1 | 1.0") && err.contains("+ 1 | 1.00001"),
        "{err}"
    );
    // Integers and floats compare as numbers.
    let a = table(&["a", "b"], vec![vec![Value::Float(1.0), Value::Int(1)]]);
    assert!(compare(&case, &e, &a).is_ok());
    assert!(compare(
        &case,
        &table(&["x"], vec![vec![Value::Int(1_000_000_000)]]),
        &table(&["x"], vec![vec![Value::Int(1_000_000_001)]])
    )
    .is_ok());
    assert!(compare(
        &case,
        &table(&["x"], vec![vec![Value::Int(10)]]),
        &table(&["x"], vec![vec![Value::Int(11)]])
    )
    .is_err());
    assert!(compare(
        &case,
        &table(&["x"], vec![vec![Value::Int(i64::MAX)]]),
        &table(&["x"], vec![vec![Value::Int(i64::MAX)]])
    )
    .is_ok());
    // Zero is only close to zero.
    assert!(compare(
        &case,
        &table(&["x"], vec![vec![Value::Float(0.0)]]),
        &table(&["x"], vec![vec![Value::Float(1e-12)]])
    )
    .is_err());
    // NaN equals NaN, and nothing else.
    let nan = table(&["x"], vec![vec![Value::Float(f64::NAN)]]);
    assert!(compare(&case, &nan, &nan.clone()).is_ok());
    assert!(compare(&case, &nan, &table(&["x"], vec![vec![Value::Float(1.0)]])).is_err());
    assert!(compare(&case, &nan, &table(&["x"], vec![vec![Value::Null]])).is_err());
    // NULL only equals NULL; text and bool are exact; types do not mix.
    let n = table(&["x"], vec![vec![Value::Null]]);
    assert!(compare(&case, &n, &n.clone()).is_ok());
    assert!(compare(&case, &n, &table(&["x"], vec![vec![Value::Int(0)]])).is_err());
    let t = table(&["x"], vec![vec![Value::Text("1".into())]]);
    assert!(compare(&case, &t, &table(&["x"], vec![vec![Value::Int(1)]])).is_err());
    assert!(compare(
        &case,
        &t,
        &table(&["x"], vec![vec![Value::Text("1 ".into())]])
    )
    .is_err());
    let b = table(&["x"], vec![vec![Value::Bool(true)]]);
    assert!(compare(&case, &b, &table(&["x"], vec![vec![Value::Bool(false)]])).is_err());
    assert!(compare(&case, &b, &table(&["x"], vec![vec![Value::Int(1)]])).is_err());
}

#[test]
fn conformance_compare_columns_and_order() {
    let case = Case::default();
    let e = table(
        &["m", "d"],
        vec![
            vec![Value::Int(1), Value::Text("a".into())],
            vec![Value::Int(2), Value::Text("b".into())],
            vec![Value::Null, Value::Text("c".into())],
        ],
    );
    // Columns are matched by name and rows by value.
    let a = table(
        &["d", "m"],
        vec![
            vec![Value::Text("c".into()), Value::Null],
            vec![Value::Text("b".into()), Value::Float(2.0)],
            vec![Value::Text("a".into()), Value::Int(1)],
        ],
    );
    assert!(compare(&case, &e, &a).is_ok());
    // Column names must match exactly.
    let bad = table(&["D", "m"], a.rows.clone());
    let err = compare(&case, &e, &bad).unwrap_err();
    assert!(err.starts_with("column names differ"), "{err}");
    assert!(
        err.contains("missing [\"d\"]") && err.contains("unexpected [\"D\"]"),
        "{err}"
    );
    let err = compare(&case, &e, &table(&["d"], vec![])).unwrap_err();
    assert!(err.contains("missing [\"m\"]"), "{err}");
    // Row multiplicity matters.
    let mut dup = a.clone();
    dup.rows.push(dup.rows[0].clone());
    let err = compare(&case, &e, &dup).unwrap_err();
    assert!(
        err.contains("0 expected rows missing, 1 unexpected rows (expected 3 rows, actual 4)"),
        "{err}"
    );
    assert!(err.contains("columns: d | m"), "{err}");

    // check_order: rows (and columns) compared in order.
    let ordered = Case {
        check_order: true,
        ..Case::default()
    };
    assert!(compare(&ordered, &e, &e.clone()).is_ok());
    let mut rev = e.clone();
    rev.rows.reverse();
    let err = compare(&ordered, &e, &rev).unwrap_err();
    assert!(
        err.starts_with("ordered rows differ at 2 positions"),
        "{err}"
    );
    assert!(
        err.contains("row 0: - 1 | \"a\"") && err.contains("row 0: + NULL | \"c\""),
        "{err}"
    );
    assert!(compare(&case, &e, &rev).is_ok());
    let swapped = table(
        &["d", "m"],
        e.rows
            .iter()
            .map(|r| vec![r[1].clone(), r[0].clone()])
            .collect(),
    );
    assert!(compare(&ordered, &e, &swapped)
        .unwrap_err()
        .starts_with("column order differs"));
}

#[test]
fn conformance_compare_empty_tables() {
    let e = table(&["x"], vec![]);
    let a = table(&["x"], vec![]);
    let err = compare(&Case::default(), &e, &a).unwrap_err();
    assert!(err.contains("expected table is empty"), "{err}");
    let allow = Case {
        allow_empty: true,
        ..Case::default()
    };
    assert!(compare(&allow, &e, &a).is_ok());
    assert!(compare(&allow, &e, &table(&["x"], vec![vec![Value::Int(1)]])).is_err());
    assert!(compare(&allow, &table(&["x"], vec![vec![Value::Int(1)]]), &a).is_err());
}

#[test]
fn conformance_compare_float_noise_does_not_reorder_rows() {
    // Two rows tied on the float column in expected; rounding noise in actual would flip them if
    // floats led the sort key.
    let case = Case::default();
    let e = table(
        &["a_value", "b_day"],
        vec![
            vec![Value::Float(0.3), Value::Int(1)],
            vec![Value::Float(0.3), Value::Int(2)],
        ],
    );
    let a = table(
        &["a_value", "b_day"],
        vec![
            vec![Value::Float(0.1 + 0.2), Value::Int(1)],
            vec![Value::Float(0.3), Value::Int(2)],
        ],
    );
    assert!(compare(&case, &e, &a).is_ok());
}

#[test]
fn conformance_compare_long_diff_is_truncated() {
    let case = Case::default();
    let e = table(&["x"], (0..100).map(|i| vec![Value::Int(i)]).collect());
    let a = table(&["x"], (100..200).map(|i| vec![Value::Int(i)]).collect());
    let err = compare(&case, &e, &a).unwrap_err();
    assert!(err.lines().count() < 30, "{err}");
    assert!(err.ends_with("... 180 more"), "{err}");
}

#[test]
fn conformance_query_table_types() {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let t = query_table(
        &conn,
        "SELECT 1 AS i, 2.5::DOUBLE AS f, 0.05 * 3 AS dec, SUM(x) AS h, 'x' AS s, TRUE AS b, NULL AS n, \
         DATE '2020-01-02' AS d, TIMESTAMP '2020-01-02 03:04:05.5' AS ts, 'NaN'::DOUBLE AS nan \
         FROM (VALUES (1), (2)) v(x)",
    )
    .unwrap();
    assert_eq!(
        t.columns,
        ["i", "f", "dec", "h", "s", "b", "n", "d", "ts", "nan"]
    );
    let r = &t.rows[0];
    assert!(matches!(r[0], Value::Int(1)));
    assert!(matches!(r[1], Value::Float(x) if x == 2.5));
    assert!(
        matches!(r[2], Value::Float(x) if (x - 0.15).abs() < 1e-12),
        "{:?}",
        r[2]
    );
    assert!(matches!(r[3], Value::Int(3)), "{:?}", r[3]);
    assert!(matches!(&r[4], Value::Text(s) if s == "x"));
    assert!(matches!(r[5], Value::Bool(true)));
    assert!(matches!(r[6], Value::Null));
    assert_eq!(shown(&r[7]), "2020-01-02 00:00:00");
    assert_eq!(shown(&r[8]), "2020-01-02 03:04:05.500000");
    assert!(matches!(r[9], Value::Float(x) if x.is_nan()));

    // DATE and TIMESTAMP compare as timestamps.
    let d = query_table(&conn, "SELECT DATE '2020-01-01' AS t").unwrap();
    let ts = query_table(&conn, "SELECT TIMESTAMP '2020-01-01 00:00:00' AS t").unwrap();
    let tz = query_table(&conn, "SELECT TIMESTAMP '2020-01-01 00:00:01' AS t").unwrap();
    assert!(compare(&Case::default(), &d, &ts).is_ok());
    assert!(compare(&Case::default(), &d, &tz).is_err());

    // Zero-row results keep their columns.
    let empty = query_table(&conn, "SELECT 1 AS a, 'x' AS b WHERE FALSE").unwrap();
    assert_eq!(empty.columns, ["a", "b"]);
    assert!(empty.rows.is_empty());
    assert!(query_table(&conn, "SELECT * FROM missing_table").is_err());
}

#[test]
fn conformance_report_counts() {
    let report = Report {
        results: vec![
            ("f::a".into(), Outcome::Pass),
            ("f::b".into(), Outcome::Fail("x".into())),
            ("f::c".into(), Outcome::Skip("y".into())),
            ("f::d".into(), Outcome::Pass),
        ],
    };
    assert_eq!(
        (report.passed(), report.failed(), report.skipped()),
        (2, 1, 1)
    );
    assert_eq!(report.summary_line(), "2 passed, 1 failed, 1 skipped");
    assert_eq!(report.failures().collect::<Vec<_>>(), [("f::b", "x")]);
}

#[test]
fn conformance_compare_diff_pairs_rows_by_text_keys() {
    let row = |n: i64, s: &str| vec![Value::Int(n), Value::Text(s.into())];
    let e = table(&["count", "state"], vec![row(1, "WA"), row(3, "CA")]);
    let a = table(&["count", "state"], vec![row(2, "WA"), row(6, "CA")]);
    let err = compare(&Case::default(), &e, &a).unwrap_err();
    let lines: Vec<&str> = err.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "  - 3 | \"CA\"",
            "  + 6 | \"CA\"",
            "  - 1 | \"WA\"",
            "  + 2 | \"WA\""
        ],
        "{err}"
    );
}

#[test]
fn conformance_times_compare_by_value_and_never_equal_text() {
    let case = Case::default();
    let t = |s: &str| table(&["t"], vec![vec![Value::Time(s.into())]]);
    let text = table(
        &["t"],
        vec![vec![Value::Text("2020-01-01 00:00:00".into())]],
    );
    // A date and the timestamp at its midnight are one time, however written.
    assert!(compare(&case, &t("2020-01-01"), &t("2020-01-01 00:00:00")).is_ok());
    assert!(compare(&case, &t("2020-01-01 00:00:00.000001"), &t("2020-01-01")).is_err());
    // Text that reads like a time is still text.
    assert!(compare(&case, &t("2020-01-01 00:00:00"), &text).is_err());
    // Rows sort by the time's value, not by its text (`T` sorts after a space).
    let e = table(
        &["t", "x"],
        vec![
            vec![Value::Time("2020-01-01T23:00".into()), Value::Int(1)],
            vec![Value::Time("2020-01-01 23:30".into()), Value::Int(2)],
        ],
    );
    let a = table(
        &["t", "x"],
        vec![
            vec![
                Value::time_from_micros(1_577_919_600_000_000),
                Value::Int(1),
            ],
            vec![
                Value::time_from_micros(1_577_921_400_000_000),
                Value::Int(2),
            ],
        ],
    );
    assert!(compare(&case, &e, &a).is_ok());
    assert_eq!(
        shown(&Value::time_from_micros(1_577_880_000_000_000)),
        "2020-01-01 12:00:00"
    );
    assert_eq!(shown(&Value::Text("a".into())), "\"a\"");
    assert_eq!(shown(&Value::Float(2.0)), "2.0");
    assert_eq!(shown(&Value::Null), "NULL");
}
