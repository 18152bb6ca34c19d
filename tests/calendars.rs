//! Business calendars through the CLI: the range warning of queries whose data leaves a
//! calendar's `range` (E0809), and `tally calendars check` against real warehouse copies of the
//! business clock, loaded from `tally calendars export`: on DuckDB (`--duckdb FILE`, E0810) and on
//! PostgreSQL (the printed check query run through `psql`; `TALLY_POSTGRES` from
//! `scripts/postgres`, skipped without it except under CI).

mod common;
mod duckdb_files;

use common::{p, project, tally, write};
use duckdb_files::duckdb_file;
use std::path::{Path, PathBuf};
use std::process::Command;

const TALLY_YML: &str = "name: bh\n";

/// A project with two calendars (`office`, `support`) and a tickets model whose business
/// duration reads `office` (range 2026-01-01..2026-03-31).
fn calendars_project(holiday: bool) -> String {
    let exceptions = if holiday {
        "\n    exceptions: [{date: 2026-02-16, closed: true, name: Presidents Day}]"
    } else {
        ""
    };
    format!(
        "business_calendars:
  - name: office
    timezone: America/New_York
    weekly: {{weekdays: [\"09:00-17:00\"]}}{exceptions}
    range: {{start: 2026-01-01, end: 2026-03-31}}
  - name: support
    timezone: Europe/Dublin
    weekly: {{every_day: [\"08:00-20:00\"]}}
    range: {{start: 2026-01-01, end: 2026-12-31}}
semantic_models:
  - name: tickets
    node_relation: {{schema_name: main, alias: tickets}}
    defaults: {{agg_time_dimension: opened_at}}
    entities: [{{name: ticket, type: primary, expr: id}}]
    dimensions:
      - {{name: opened_at, type: time, type_params: {{time_granularity: day}}}}
    measures:
      - {{name: ticket_count, agg: sum, expr: '1'}}
      - {{name: response_business_minutes_total, agg: sum, expr: response_business_minutes}}
    business_durations:
      - name: response_business_minutes
        start: opened_at
        end: replied_at
        calendar: office
        unit: minute
metrics:
  - name: ticket_count
    type: simple
    type_params: {{measure: ticket_count}}
  - name: response_business_minutes_total
    type: simple
    type_params: {{measure: response_business_minutes_total}}
"
    )
}

fn bh_project() -> (tempfile::TempDir, PathBuf) {
    project(&[
        ("tally.yml", TALLY_YML),
        ("models/bh.yml", &calendars_project(false)),
    ])
}

/// A database with tickets opened at these timestamps, each answered an hour later.
fn tickets_db(dir: &Path, name: &str, opened: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let rows: Vec<String> = opened
        .iter()
        .enumerate()
        .map(|(i, t)| format!("({i}, TIMESTAMP '{t}', TIMESTAMP '{t}' + INTERVAL 1 HOUR)"))
        .collect();
    duckdb_file(
        &path,
        &format!(
            "CREATE TABLE tickets (id INTEGER, opened_at TIMESTAMP, replied_at TIMESTAMP);
             INSERT INTO tickets VALUES {};",
            rows.join(", ")
        ),
    );
    path
}

/// Mondays 15:00 UTC (10:00 in New York): an hour of business time each.
const INSIDE: [&str; 2] = ["2026-01-05 15:00:00", "2026-03-02 15:00:00"];

fn query(root: &Path, db: &Path, extra: &[&str]) -> common::Out {
    let mut args = vec![
        "--project",
        p(root),
        "query",
        "--metrics",
        "ticket_count,response_business_minutes_total",
        "--duckdb",
        p(db),
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

#[test]
fn a_query_inside_the_calendar_range_does_not_warn() {
    let (dir, root) = bh_project();
    let db = tickets_db(dir.path(), "inside.duckdb", &INSIDE);
    let out = query(&root, &db, &["--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ticket_count,response_business_minutes_total\r\n2,120.0\r\n"
    );
    assert!(!out.stderr.contains("E0809"), "{}", out.stderr);
}

#[test]
fn a_query_whose_data_leaves_the_calendar_range_warns_and_keeps_its_results() {
    let (dir, root) = bh_project();
    let mut opened = INSIDE.to_vec();
    // Before the range, and after it (its reply too): NULL durations, counted once per row.
    opened.extend(["2025-12-29 15:00:00", "2026-05-04 15:00:00"]);
    let db = tickets_db(dir.path(), "outside.duckdb", &opened);
    // Uncached, the check reads the model's table; cached (the default: built, then read), the
    // table of the relation with durations.
    for cache in ["off", "on", "on"] {
        let out = query(&root, &db, &["--format", "csv", "--cache", cache]);
        assert_eq!(out.code, 0, "{cache}: {}", out.stderr);
        assert!(
            out.stderr.contains("2 row(s) of semantic model `tickets`"),
            "{cache}: {}",
            out.stderr
        );
    }
    assert!(dir.path().join("outside.tally-cache.duckdb").is_file());
    let out = query(&root, &db, &["--format", "csv"]);
    assert_eq!(
        out.code, 0,
        "the warning leaves the exit code alone: {}",
        out.stderr
    );
    assert_eq!(
        out.stdout, "ticket_count,response_business_minutes_total\r\n4,120.0\r\n",
        "the rows outside count as tickets; their durations are NULL"
    );
    common::assert_contains(
        &out.stderr,
        &[
            "warning[E0809]",
            "2 row(s) of semantic model `tickets` have a timestamp outside the range of business calendar `office` (2026-01-01 to 2026-03-31)",
            "timestamps outside run from 2025-12-29 15:00:00 to 2026-05-04 16:00:00",
            "(`response_business_minutes`) are NULL",
            "models/bh.yml",
            "extend `range:` of calendar `office`",
        ],
    );
    assert_eq!(out.stderr.matches("E0809").count(), 1, "{}", out.stderr);

    // JSON: stdout stays the rows; the warning is a JSON diagnostic on stderr.
    let out = query(&root, &db, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).expect("rows as JSON");
    assert_eq!(rows[0]["ticket_count"], 4, "{rows}");
    let diags: serde_json::Value = serde_json::from_str(&out.stderr).expect("JSON diagnostics");
    assert_eq!(diags[0]["code"], "E0809", "{diags}");
    assert_eq!(diags[0]["severity"], "warning", "{diags}");

    // `tally tree` warns once, after its queries (one per metric and period).
    let out = tally(&[
        "--project",
        p(&root),
        "tree",
        "response_business_minutes_total",
        "--as-of",
        "2026-03-31",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("response_business_minutes_total"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr.matches("warning[E0809]").count(),
        1,
        "{}",
        out.stderr
    );

    // A query that reads no business duration runs no check.
    let out = tally(&[
        "--project",
        p(&root),
        "query",
        "--metrics",
        "ticket_count",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("E0809"), "{}", out.stderr);
}

// ----- tally calendars check ---------------------------------------------------------------------

/// `tally calendars export --format sql --dialect X` of the project.
fn export_sql(root: &Path, dialect: &str) -> String {
    let out = tally(&[
        "--project",
        p(root),
        "calendars",
        "export",
        "--format",
        "sql",
        "--dialect",
        dialect,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

fn check_duckdb(root: &Path, db: &Path) -> common::Out {
    tally(&[
        "--project",
        p(root),
        "calendars",
        "check",
        "--duckdb",
        p(db),
    ])
}

/// The (calendar, reason) pairs of `check --duckdb`'s output.
fn reported(out: &common::Out) -> Vec<(String, String)> {
    out.stdout
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

fn pair(c: &str, r: &str) -> (String, String) {
    (c.to_string(), r.to_string())
}

#[test]
fn calendars_check_finds_stale_and_partial_copies_on_duckdb() {
    let (dir, root) = bh_project();
    let sql = export_sql(&root, "duckdb");
    let fresh = |name: &str, then: &str| {
        let db = dir.path().join(name);
        duckdb_file(&db, &format!("{sql}\n{then}"));
        db
    };

    let current = fresh("current.duckdb", "");
    let out = check_duckdb(&root, &current);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("ok: 2 business clock copies"),
        "{}",
        out.stderr
    );

    // Rows deleted in the middle: same fingerprint and range, fewer rows.
    let holes = fresh(
        "holes.duckdb",
        "DELETE FROM tally_bh__office WHERE day_utc BETWEEN DATE '2026-02-01' AND DATE '2026-02-03';",
    );
    let out = check_duckdb(&root, &holes);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        reported(&out),
        vec![pair("office", "rows")],
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("office\trows\t"), "{}", out.stdout);
    common::assert_contains(
        &out.stderr,
        &[
            "error[E0810]",
            "1 of 2 business clock copies",
            "office (rows)",
        ],
    );

    // The range cut at its end, a row edited, the table dropped.
    let cut = fresh(
        "cut.duckdb",
        "DELETE FROM tally_bh__support WHERE day_utc > DATE '2026-12-01';
         UPDATE tally_bh__office SET cum_s = cum_s + 60 WHERE day_utc = DATE '2026-03-31';",
    );
    let out = check_duckdb(&root, &cut);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        reported(&out),
        vec![pair("office", "rows"), pair("support", "range")],
        "{}",
        out.stdout
    );
    let gone = fresh("gone.duckdb", "DROP TABLE tally_bh__support;");
    let out = check_duckdb(&root, &gone);
    assert_eq!(
        reported(&out),
        vec![pair("support", "missing")],
        "{}",
        out.stdout
    );

    // The calendar changes in the project (a holiday): the copy has another fingerprint.
    write(&root, &[("models/bh.yml", &calendars_project(true))]);
    let out = check_duckdb(&root, &current);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        reported(&out),
        vec![pair("office", "fingerprint")],
        "{}",
        out.stdout
    );

    // A file that is not there is an error, not "all current".
    let out = check_duckdb(&root, &dir.path().join("nothing.duckdb"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("E0001"), "{}", out.stderr);
}

// ----- PostgreSQL --------------------------------------------------------------------------------

/// A database of its own on the PostgreSQL server of `TALLY_POSTGRES`, dropped on drop.
struct PgDatabase {
    conninfo: String,
    name: String,
    scratch: tempfile::TempDir,
}

impl PgDatabase {
    fn create(conninfo: &str) -> PgDatabase {
        let db = PgDatabase {
            conninfo: conninfo.to_string(),
            name: format!("tally_calendars_{}", std::process::id()),
            scratch: tempfile::tempdir().expect("temp dir"),
        };
        db.psql_on(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {0}; CREATE DATABASE {0};", db.name),
        )
        .expect("create a database");
        db
    }

    fn psql_on(&self, dbname: &str, script: &str) -> Result<String, String> {
        let path = self.scratch.path().join("script.sql");
        std::fs::write(&path, script).expect("write script");
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
            ])
            .arg(format!("{} dbname={dbname}", self.conninfo))
            .arg("-f")
            .arg(&path)
            .env("PGTZ", "UTC")
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn psql(&self, script: &str) -> Result<String, String> {
        self.psql_on(&self.name, script)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = self.psql_on(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE);", self.name),
        );
    }
}

/// (calendar, reason) of the check query's rows as psql prints them.
fn pg_reported(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

#[test]
fn calendars_check_finds_stale_and_partial_copies_on_postgres() {
    let Some(conninfo) = tally_conformance::required_env(
        "TALLY_POSTGRES",
        "calendars_check_finds_stale_and_partial_copies_on_postgres",
    ) else {
        return;
    };
    let (_dir, root) = bh_project();
    let pg = PgDatabase::create(&conninfo);
    let export = export_sql(&root, "postgres");
    let check = || {
        let out = tally(&[
            "--project",
            p(&root),
            "calendars",
            "check",
            "--dialect",
            "postgres",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    pg.psql(&export).expect("the export loads on PostgreSQL");
    let current = check();
    assert_eq!(pg_reported(&pg.psql(&current).expect("check runs")), vec![]);

    // Rows deleted from the copy.
    pg.psql("DELETE FROM tally_bh__office WHERE day_utc BETWEEN DATE '2026-02-01' AND DATE '2026-02-03';")
        .expect("delete");
    let rows = pg_reported(&pg.psql(&current).expect("check runs"));
    assert_eq!(rows, vec![pair("office", "rows")]);

    // A fresh copy, then a holiday added to the project: its check sees another fingerprint.
    pg.psql("DROP TABLE tally_bh__office; DROP TABLE tally_bh__support;")
        .expect("drop");
    pg.psql(&export).expect("the export loads again");
    assert_eq!(pg_reported(&pg.psql(&current).expect("check runs")), vec![]);
    write(&root, &[("models/bh.yml", &calendars_project(true))]);
    let changed = check();
    assert_eq!(
        pg_reported(&pg.psql(&changed).expect("check runs")),
        vec![pair("office", "fingerprint")]
    );

    // A missing copy is PostgreSQL's own error, naming the relation (README).
    pg.psql("DROP TABLE tally_bh__support;").expect("drop");
    let err = pg
        .psql(&changed)
        .expect_err("a missing table fails the check");
    assert!(err.contains("tally_bh__support"), "{err}");
}

// ----- warehouse emulators -----------------------------------------------------------------------

/// Loads each dialect's export and runs its check query, current then after rows are deleted:
/// Snowflake on the fakesnow emulator, BigQuery through sqlglot to DuckDB; the check parsed by
/// sqlglot for Trino, Redshift and Databricks. Prints JSON: per dialect the (calendar, reason)
/// rows of both runs, or `parsed`, or the error.
const EMULATORS_PY: &str = r#"
import json, sys
import sqlglot

bundle = json.load(open(sys.argv[1]))
delete = bundle["delete"]

def statements(sql):
    return [s.strip() for s in sql.split(";\n") if s.strip()]

def pairs(rows):
    return [[str(r[0]), str(r[1])] for r in rows]

def fakesnow_run(b):
    import fakesnow, snowflake.connector
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="tally", schema="public")
        cur = conn.cursor()
        for s in statements(b["export"]):
            cur.execute(s)
        cur.execute(b["check"])
        current = pairs(cur.fetchall())
        cur.execute(delete)
        cur.execute(b["check"])
        return [current, pairs(cur.fetchall())]

def bigquery_run(b):
    import duckdb
    conn = duckdb.connect()
    def run(sql):
        for t in sqlglot.transpile(sql, read="bigquery", write="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE):
            conn.execute(t)
    for s in statements(b["export"]):
        run(s)
    check = sqlglot.transpile(b["check"], read="bigquery", write="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
    current = pairs(conn.execute(check).fetchall())
    run(delete)
    return [current, pairs(conn.execute(check).fetchall())]

out = {}
for name, b in bundle["dialects"].items():
    try:
        if name == "snowflake":
            out[name] = fakesnow_run(b)
        elif name == "bigquery":
            out[name] = bigquery_run(b)
        else:
            sqlglot.parse(b["check"], read={"databricks": "databricks", "trino": "trino", "redshift": "redshift"}[name], error_level=sqlglot.ErrorLevel.RAISE)
            out[name] = "parsed"
    except Exception as e:
        out[name] = "error: " + str(e).splitlines()[0]
print(json.dumps(out))
"#;

#[test]
fn calendars_check_runs_on_warehouse_emulators() {
    let Some(python) = tally_conformance::required_env(
        "TALLY_WAREHOUSES_PYTHON",
        "calendars_check_runs_on_warehouse_emulators",
    ) else {
        return;
    };
    let (dir, root) = bh_project();
    let mut dialects = serde_json::Map::new();
    for d in ["snowflake", "bigquery", "databricks", "trino", "redshift"] {
        let out = tally(&["--project", p(&root), "calendars", "check", "--dialect", d]);
        assert_eq!(out.code, 0, "{d}: {}", out.stderr);
        dialects.insert(
            d.to_string(),
            serde_json::json!({"export": export_sql(&root, d), "check": out.stdout}),
        );
    }
    let bundle = serde_json::json!({
        "dialects": dialects,
        "delete": "DELETE FROM tally_bh__office WHERE day_utc BETWEEN DATE '2026-02-01' AND DATE '2026-02-03'",
    });
    let (input, script) = (
        dir.path().join("bundle.json"),
        dir.path().join("emulators.py"),
    );
    std::fs::write(&input, bundle.to_string()).expect("write bundle");
    std::fs::write(&script, EMULATORS_PY).expect("write script");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&input)
        .current_dir(dir.path())
        .output()
        .expect("run the emulators");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    let runs = serde_json::json!([[], [["office", "rows"]]]);
    assert_eq!(got["snowflake"], runs, "{got}");
    assert_eq!(got["bigquery"], runs, "{got}");
    for d in ["databricks", "trino", "redshift"] {
        assert_eq!(got[d], "parsed", "{got}");
    }
}
