//! The warehouse dialects' SQL executed on engines of their family, compared with DuckDB.
//!
//! Needs the Python tools of `scripts/python/warehouses.txt` (pyspark, fakesnow, sqlglot): `./scripts/test`
//! and `./scripts/warehouses` make that venv with `scripts/pyenv` (and install Java for Spark when it
//! is missing) and set `TALLY_WAREHOUSES_PYTHON` to its interpreter. Without it the test prints a
//! skip line and passes, except under CI (`CI=true`), where it fails.
//!
//! The queries are those of `tests/postgres.rs` ([`Suite`]): every MetricFlow conformance case and
//! every Intercom metric, alone and by `metric_time__month`. The test writes, in a temporary
//! directory, the input tables (CSV files with their DuckDB column types) and every query's SQL in
//! each warehouse dialect, then runs `scripts/python/warehouses.py` on it, which executes or parses
//! each statement and writes back the rows or the error. The checks:
//!
//! | check | dialect | how |
//! |---|---|---|
//! | `spark` | databricks | executed on Apache Spark in local mode (pyspark) |
//! | `fakesnow` | snowflake | executed on the fakesnow emulator (Snowflake SQL translated to DuckDB) |
//! | `snowflake-rules` | snowflake | rules Snowflake enforces and the emulator does not (ranking windows need an ORDER BY) |
//! | `bigquery` | bigquery | transpiled by sqlglot from BigQuery to DuckDB and executed there |
//! | `trino` | trino | parsed by sqlglot (a second parser beside sqlparser) |
//! | `redshift` | redshift | parsed by sqlglot |
//!
//! Executed results are compared with DuckDB's rows for tally's DuckDB SQL by the conformance runner's
//! rules ([`conformance::compare`]: numbers within a relative 1e-6, NULLs equal, dates and timestamps
//! as instants, row order only where the case checks it). A query DuckDB cannot run is skipped, as
//! are the conformance cases the conformance runner skips.
//!
//! Known limits of the emulators (and SQL a dialect cannot express) are listed with their reason in
//! `warehouse_known_limits.txt` (`check | id | reason`): never skipped, they must fail, and one that
//! passes fails the test so that the list stays true. Prints one line per failure and
//! `<check>: N passed, N failed, N skipped` per check. `TALLY_WAREHOUSES_FILTER=<substring of ids>`
//! runs only some queries; `TALLY_WAREHOUSES_CHECKS=spark,bigquery` only some checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value as Json};
use tally_conformance::crosscheck::{self, Suite, INTERCOM_SCHEMA};
use tally_conformance::{self as conformance, Case, Table, Value};
use tally_core::dialect;

const KNOWN_LIST: &str = "tests/warehouse_known_limits.txt";
const NULL_MARK: &str = "<tally:null>";

/// (check, dialect, whether it returns rows), in report order.
const CHECKS: &[(&str, &str, bool)] = &[
    ("spark", "databricks", true),
    ("fakesnow", "snowflake", true),
    ("snowflake-rules", "snowflake", false),
    ("bigquery", "bigquery", true),
    ("trino", "trino", false),
    ("redshift", "redshift", false),
];

fn runner() -> PathBuf {
    crosscheck::repo_root().join("scripts/python/warehouses.py")
}

fn selected_checks() -> Vec<(&'static str, &'static str, bool)> {
    let only = std::env::var("TALLY_WAREHOUSES_CHECKS").ok();
    CHECKS
        .iter()
        .copied()
        .filter(|(c, _, _)| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x.trim() == *c))
        })
        .collect()
}

fn selected(id: &str) -> bool {
    std::env::var("TALLY_WAREHOUSES_FILTER").map_or(true, |f| id.contains(&f))
}

#[derive(Debug)]
enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// The known limits: (check, id) -> reason. Every line needs a reason.
fn known_limits() -> BTreeMap<(String, String), String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(KNOWN_LIST);
    let text = fs::read_to_string(&path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, " | ").map(str::trim).collect();
        assert!(
            parts.len() == 3 && !parts[2].is_empty(),
            "{KNOWN_LIST}:{}: expected `check | id | reason`, got {line:?}",
            n + 1
        );
        assert!(
            CHECKS.iter().any(|(c, _, _)| *c == parts[0]),
            "{KNOWN_LIST}:{}: unknown check `{}`",
            n + 1,
            parts[0]
        );
        out.insert(
            (parts[0].to_string(), parts[1].to_string()),
            parts[2].to_string(),
        );
    }
    out
}

/// A cell the runner wrote: JSON null, boolean, integer, float, string, or `{"ts": "..."}` for
/// dates and timestamps (UTC) and `{"float": "nan"}` for non-finite numbers.
fn cell(v: &Json) -> Result<Value, String> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().ok_or("number out of range")?),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(o) => {
            if let Some(Json::String(ts)) = o.get("ts") {
                Value::time_from_micros(conformance::parse_datetime(ts)?)
            } else if let Some(Json::String(f)) = o.get("float") {
                Value::Float(f.parse().map_err(|_| format!("bad float {f:?}"))?)
            } else {
                return Err(format!("unknown cell {v}"));
            }
        }
        Json::Array(_) => return Err(format!("unknown cell {v}")),
    })
}

fn table(result: &Json) -> Result<Table, String> {
    let columns = result["columns"]
        .as_array()
        .ok_or("result without columns")?
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    let rows = result["rows"]
        .as_array()
        .ok_or("result without rows")?
        .iter()
        .map(|r| {
            r.as_array()
                .ok_or_else(|| "row is not a list".to_string())?
                .iter()
                .map(cell)
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table { columns, rows })
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
#[allow(clippy::too_many_lines)] // one table-driven test of every case
fn warehouse_sql_runs_on_engines_of_its_family() {
    let Some(python) = tally_conformance::required_env(
        "TALLY_WAREHOUSES_PYTHON",
        "warehouse_sql_runs_on_engines_of_its_family",
    ) else {
        return;
    };
    let checks = selected_checks();
    let bundle = tempfile::tempdir().expect("temporary directory");
    let duck = duckdb::Connection::open_in_memory().expect("open DuckDB");
    let suite = Suite::load(&duck).expect("the compared queries and their data");
    let data = bundle.path().join("data");
    let mut tables = Vec::new();
    for schema in [conformance::SOURCE_SCHEMA, INTERCOM_SCHEMA] {
        tables.extend(
            crosscheck::export_schema(&duck, schema, &data, NULL_MARK).expect("export the tables"),
        );
    }
    let tables_json: Vec<Json> = tables
        .iter()
        .map(|t| {
            json!({
                "schema": t.schema,
                "table": t.table,
                "columns": t.columns.iter().map(|(c, ty)| json!([c, ty])).collect::<Vec<_>>(),
                "csv": t.csv.to_string_lossy(),
            })
        })
        .collect();

    // Every query: the expectation from DuckDB, then its SQL for each check's dialect.
    let mut verdicts: BTreeMap<(&str, String), Verdict> = BTreeMap::new();
    let mut expected: BTreeMap<String, (Table, Case)> = BTreeMap::new();
    let mut statements = Vec::new();
    let mut sql_of: BTreeMap<(&str, String), String> = BTreeMap::new();
    for query in suite.queries.iter().filter(|q| selected(&q.id)) {
        let skip = match &query.skip {
            Some(r) => Some(r.clone()),
            None => match suite.expected(&duck, query) {
                Ok(t) => {
                    let case = Case {
                        allow_empty: true,
                        ..query.case.clone()
                    };
                    expected.insert(query.id.clone(), (t, case));
                    None
                }
                Err(e) => Some(e),
            },
        };
        for &(check, dialect_name, _) in &checks {
            let key = (check, query.id.clone());
            if let Some(reason) = &skip {
                verdicts.insert(key, Verdict::Skip(reason.clone()));
                continue;
            }
            let d: dialect::Dialect = dialect_name.parse().expect("a dialect of tally");
            match suite.compile(query, d) {
                // The support funnel's 24-hour sessions end in a recursive walk (over the actions
                // of segments longer than a session): Spark runs every step of a recursive CTE as
                // a job of its own (5-15 s a query in local mode), so each funnel metric runs on
                // Spark once, by month; alone it is compared on DuckDB, PostgreSQL and the other
                // checks here. On Databricks, `spark.sql.cteRecursionLevelLimit` (100) bounds the
                // actions of such a segment (README, "The Conversational Support funnel").
                Ok(sql)
                    if check == "spark"
                        && sql.contains("WITH RECURSIVE")
                        && !query.id.ends_with(" by metric_time__month") =>
                {
                    verdicts.insert(
                        key,
                        Verdict::Skip(
                            "a recursive CTE (the 24-hour session walk): run on local Spark by month only"
                                .into(),
                        ),
                    );
                }
                Ok(sql) => {
                    statements.push(json!({
                        "check": check,
                        "id": query.id,
                        "sql": sql,
                    }));
                    sql_of.insert(key, sql);
                }
                Err(e) => {
                    verdicts.insert(key, Verdict::Fail(format!("does not compile: {e}")));
                }
            }
        }
    }
    let bundle_json = json!({
        "null_mark": NULL_MARK,
        "tables": tables_json,
        "statements": statements,
    });
    let input = bundle.path().join("bundle.json");
    let output = bundle.path().join("results.json");
    fs::write(&input, bundle_json.to_string()).expect("write the bundle");

    let out = Command::new(&python)
        .arg(runner())
        .arg(&input)
        .arg(&output)
        .current_dir(bundle.path())
        .env("TZ", "UTC")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        // Progress (and the engines' own messages) as the run goes, past the test's capture.
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/python/warehouses.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "scripts/python/warehouses.py failed ({}); its messages are above",
        out.status
    );
    let results: Json =
        serde_json::from_str(&fs::read_to_string(&output).expect("read the results"))
            .expect("the results are JSON");
    for r in results.as_array().expect("a list of results") {
        let check = r["check"].as_str().unwrap_or_default();
        let Some(&(check, _, returns_rows)) = CHECKS.iter().find(|(c, _, _)| *c == check) else {
            panic!("the runner reported an unknown check {check:?}");
        };
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let sql = sql_of
            .get(&(check, id.clone()))
            .map(|s| one_line(s))
            .unwrap_or_default();
        let verdict = if let Some(e) = r["error"].as_str() {
            Verdict::Fail(format!("{e}\n  SQL: {sql}"))
        } else if !returns_rows {
            Verdict::Pass
        } else {
            let (exp, case) = &expected[&id];
            match table(r).and_then(|actual| conformance::compare(case, exp, &actual)) {
                Ok(()) => Verdict::Pass,
                Err(e) => Verdict::Fail(format!(
                    "results differ (- DuckDB, + {check}): {e}\n  SQL: {sql}"
                )),
            }
        };
        verdicts.insert((check, id), verdict);
    }
    for (check, id) in sql_of.keys() {
        assert!(
            verdicts.contains_key(&(*check, id.clone())),
            "the runner reported nothing for {check} {id}"
        );
    }

    let known = known_limits();
    let mut unexpected = Vec::new();
    let mut now_pass = Vec::new();
    let mut seen = BTreeSet::new();
    for &(check, _, _) in &checks {
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        for ((c, id), verdict) in &verdicts {
            if *c != check {
                continue;
            }
            let key = (check.to_string(), id.clone());
            seen.insert(key.clone());
            match verdict {
                Verdict::Pass => {
                    passed += 1;
                    if known.contains_key(&key) {
                        now_pass.push(format!("{check} | {id}"));
                    }
                }
                Verdict::Fail(msg) => {
                    failed += 1;
                    match known.get(&key) {
                        Some(reason) => println!("known {check} {id}: {reason}"),
                        None => {
                            println!("FAIL {check} {id}: {msg}");
                            unexpected.push(format!("{check} | {id}"));
                        }
                    }
                }
                Verdict::Skip(reason) => {
                    skipped += 1;
                    println!("skip {check} {id}: {reason}");
                }
            }
        }
        println!("{check}: {passed} passed, {failed} failed, {skipped} skipped");
    }
    let all_queries =
        std::env::var_os("TALLY_WAREHOUSES_FILTER").is_none() && checks.len() == CHECKS.len();
    if all_queries {
        let stale: Vec<_> = known
            .keys()
            .filter(|k| !seen.contains(*k))
            .map(|(c, id)| format!("{c} | {id}"))
            .collect();
        assert!(
            stale.is_empty(),
            "{KNOWN_LIST} lists queries that do not exist: {stale:#?}"
        );
    }
    assert!(
        now_pass.is_empty(),
        "known limits that now pass; remove them from {KNOWN_LIST}: {now_pass:#?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected failure(s) (not in {KNOWN_LIST}): {unexpected:#?}",
        unexpected.len()
    );
}
