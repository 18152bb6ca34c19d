//! Check tests on embedded DuckDB: the runner behind `tally test` for `check_tests:`.
//!
//! Each test runs on its own in-memory database with its fixture tables (as metric tests do);
//! the series queries `tally check` would run for the expected metrics are compiled, run and
//! evaluated at the test's `as_of` ([`tally_core::targets::eval`]), and the statuses and alerts
//! are compared with the expectations ([`tally_core::targets::check_test::compare`]). Returns
//! results, never prints.

use crate::engine::{self, Value};
use crate::testing::{create_table, Outcome, TestReport, CHECK_TEST};
use tally_core::diag::{codes, Diagnostic};
use tally_core::model::Model;
use tally_core::spec::CheckTest;
use tally_core::targets::check_test::{self, Project};
use tally_core::targets::eval::{self, Observation, SeriesKey, Values};
use tally_core::targets::period::{parse_as_of, Period};
use tally_core::targets::query;

/// What the project offers its check tests.
pub fn project(model: &Model) -> Project<'_> {
    Project::of(model)
}

/// Run the project's check tests whose name contains `filter` (all with `None`), in order.
pub fn run_check_tests(model: &Model, filter: Option<&str>) -> Vec<TestReport> {
    model
        .check_tests
        .iter()
        .filter(|t| filter.is_none_or(|f| t.name.value.contains(f)))
        .map(|t| run_check_test(model, t))
        .collect()
}

fn environment(span: tally_core::source::Span, msg: String) -> Diagnostic {
    Diagnostic::error(codes::TEST_EXECUTION, msg)
        .at(span)
        .with_help("this is an environment problem, not a problem of the test")
}

/// Run one check test on a fresh in-memory DuckDB.
pub fn run_check_test(model: &Model, test: &CheckTest) -> TestReport {
    let mut report = TestReport {
        name: test.name.value.clone(),
        span: test.name.span,
        outcome: Outcome::Error,
        diagnostics: Vec::new(),
        sql: None,
        actual: None,
        kind: CHECK_TEST,
        warnings: Vec::new(),
    };
    let prepared = match check_test::prepare(&project(model), test) {
        Ok(p) => p,
        Err(diags) => {
            report.diagnostics = diags;
            return report;
        }
    };
    let conn = match engine::open_sandboxed_in_memory() {
        Ok(c) => c,
        Err(e) => {
            report.diagnostics.push(environment(
                test.name.span,
                format!("cannot open an in-memory DuckDB: {e}"),
            ));
            return report;
        }
    };
    for t in &prepared.tables {
        if let Err(d) = create_table(&conn, t) {
            report.diagnostics.push(d);
        }
    }
    if !report.diagnostics.is_empty() {
        return report;
    }
    if let Err(e) = engine::seal(&conn) {
        report.diagnostics.push(environment(
            test.name.span,
            format!("cannot sandbox DuckDB: {e}"),
        ));
        return report;
    }
    let requests = eval::requests(model, &prepared.metrics, prepared.as_of);
    let mut values = Values::new();
    let mut sqls = Vec::new();
    for r in &requests {
        let form = tally_core::calendar::duration::ClockForm::Relation;
        let sql = match query::series_sql_with(model, tally_core::dialect::Dialect::DuckDb, form, r)
        {
            Ok(sql) => sql,
            Err(diags) => {
                report.diagnostics = diags
                    .into_iter()
                    .map(|d| d.at_if_unset(test.name.span))
                    .collect();
                return report;
            }
        };
        if let Err(e) = crate::clock::install_read(&conn, model, &sql) {
            report.diagnostics.push(environment(
                test.name.span,
                format!("cannot create the business clock tables: {e}"),
            ));
            return report;
        }
        match engine::run(&conn, &sql) {
            Ok(table) => {
                values.insert(r.key.clone(), observations(&r.key, &table.rows));
            }
            Err(e) => {
                report.diagnostics.push(
                    Diagnostic::error(
                        codes::TEST_EXECUTION,
                        format!(
                            "DuckDB could not run the check query of `{}` on the fixtures: {e}",
                            r.key.metric
                        ),
                    )
                    .at(test.name.span)
                    .with_help("give every table the metric reads, with the columns its SQL uses (see `tally check --sql`)"),
                );
                report.sql = Some(sql);
                return report;
            }
        }
        sqls.push(sql);
    }
    report.sql = Some(sqls.join(";\n\n"));
    let evaluation = eval::evaluate(model, &values, &prepared.metrics, prepared.as_of);
    let mismatches = check_test::compare(&prepared, &evaluation);
    report.outcome = if mismatches.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed {
            diff: check_test::diff_text(&mismatches),
            missing: mismatches.len(),
            unexpected: 0,
        }
    };
    report
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::Text(s) => s.parse().ok(),
        _ => None,
    }
}

/// Rows of a series query (`tally_period`, `tally_s0…`, `tally_value`, `tally_target`) as
/// observations; rows without a period (a NULL time) are left out.
pub fn observations(key: &SeriesKey, rows: &[Vec<Value>]) -> Vec<Observation> {
    let n = key.dims.len();
    rows.iter()
        .filter_map(|row| {
            let period = match row.first()? {
                Value::Time(t) | Value::Text(t) => {
                    let d = parse_as_of(t.get(..10)?)?.date();
                    Period::containing(key.grain, d)
                }
                _ => return None,
            };
            let slice = (0..n)
                .map(|i| match row.get(1 + i) {
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect();
            Some(Observation {
                slice,
                period,
                value: row.get(1 + n).and_then(number),
                target: row.get(2 + n).and_then(number),
            })
        })
        .collect()
}
