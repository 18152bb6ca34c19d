//! PostgreSQL against DuckDB: tally's SQL for the same query must return the same rows on both.
//!
//! Needs a PostgreSQL server: `./scripts/test` starts a throwaway one with `scripts/postgres` and sets
//! `TALLY_POSTGRES` to its connection settings (libpq `key=value` words, without `dbname`). Without
//! it the test prints a skip line and passes, except under CI (`CI=true`), where it fails.
//!
//! The test talks to PostgreSQL through the `psql` client (no driver crate). It creates one database
//! for the run (`tally_test_<pid>`, dropped at the end) and loads two data sets into it, each once:
//! MetricFlow's fixture tables (schema `mf_src`, as in the conformance runner) and a small Intercom
//! sample (schema `intercom`, 2,000 conversations, seed 42). Tables are created in DuckDB first, then
//! exported to CSV and copied into PostgreSQL tables of the matching column types.
//!
//! Compared: every MetricFlow conformance case (tally's DuckDB SQL on DuckDB against tally's
//! PostgreSQL SQL on PostgreSQL, not against the case's check query: that is the conformance test's
//! job), and every metric of the repository's Intercom project, alone and by `metric_time__month`.
//! Results are compared with the conformance runner's rules ([`conformance::compare`]): numbers within
//! a relative 1e-6, NULLs equal, dates and timestamps as instants, row order ignored unless the case
//! checks it. A query that tally cannot compile or run for DuckDB is skipped (nothing to compare).
//!
//! Prints one line per disagreement and the closing line `postgres: N passed, N failed, N skipped`.
//! Every comparison must agree except those listed in `postgres_known_disagreements.txt` (a ratchet:
//! a listed one that now agrees is reported so the list can shrink). Set `TALLY_UPDATE_POSTGRES=1`
//! to rewrite the list from the current results. While working on a few comparisons,
//! `TALLY_POSTGRES_FILTER=<substring of their ids>` runs only those, and `TALLY_POSTGRES_KEEP=1` keeps
//! the run's database for a look with `scripts/postgres psql -d tally_test_<pid>`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tally_conformance::crosscheck::{self, Query, Suite, INTERCOM_SCHEMA};
use tally_conformance::{self as conformance, Case, Table, Value};
use tally_core::dialect::{self, Dialect};

const KNOWN_LIST: &str = "tests/postgres_known_disagreements.txt";
/// How psql prints NULL (its CSV output prints NULL and '' alike otherwise).
const NULL_MARK: &str = "<tally:null>";
const SPLIT_MARK: &str = "<tally:split>";

// ---------------------------------------------------------------------------------------------
// psql
// ---------------------------------------------------------------------------------------------

/// A PostgreSQL database reached through `psql`.
struct Pg {
    /// libpq connection words, without `dbname`.
    conninfo: String,
    dbname: String,
    /// Where scripts for `psql -f` are written.
    scratch: PathBuf,
}

impl Pg {
    fn on(&self, dbname: &str) -> Pg {
        Pg {
            conninfo: self.conninfo.clone(),
            dbname: dbname.to_string(),
            scratch: self.scratch.clone(),
        }
    }

    /// Runs a psql script (SQL and backslash commands) and returns its standard output. Stops at the
    /// first error, which is returned with psql's message.
    fn script(&self, script: &str) -> Result<String, String> {
        let path = self.scratch.join("script.sql");
        fs::write(&path, script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        // A later `dbname` word overrides an earlier one, so ours wins over one in TALLY_POSTGRES.
        let conn = format!("{} dbname={}", self.conninfo, self.dbname);
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "--csv", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(&conn)
            .arg("-f")
            .arg(&path)
            .env("PGTZ", "UTC")
            .env("PGCLIENTENCODING", "UTF8")
            .env("PGOPTIONS", "-c statement_timeout=120000")
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(err.trim().replace(&format!("psql:{}:", path.display()), ""));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("psql output is not UTF-8: {e}"))
    }

    /// Runs one query and returns its typed result.
    fn query(&self, sql: &str) -> Result<Table, String> {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        // `\gdesc` gives the column types without running the query; then the query runs.
        let script =
            format!("\\pset null '{NULL_MARK}'\n{sql}\n\\gdesc\n\\echo '{SPLIT_MARK}'\n{sql}\n;\n");
        let out = self.script(&script)?;
        let (desc, rows) = out
            .split_once(&format!("{SPLIT_MARK}\n"))
            .ok_or("psql printed no result")?;
        let desc = parse_csv(desc)?;
        let types: Vec<String> = desc.iter().skip(1).map(|r| r[1].clone()).collect();
        let mut rows = parse_csv(rows)?.into_iter();
        let columns = rows.next().ok_or("psql printed no header")?;
        if columns.len() != types.len() {
            return Err(format!(
                "psql described {} columns but returned {}",
                types.len(),
                columns.len()
            ));
        }
        let mut table = Table {
            columns,
            rows: Vec::new(),
        };
        for row in rows {
            let cells = row
                .iter()
                .zip(&types)
                .map(|(cell, ty)| pg_value(cell, ty))
                .collect::<Result<Vec<_>, _>>()?;
            table.rows.push(cells);
        }
        Ok(table)
    }
}

/// RFC 4180 CSV as psql writes it: fields quoted when they hold a comma, quote or line break.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field in psql output".into());
    }
    if !at_field_start || !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// A cell of psql's text output, read by its PostgreSQL type (as `\gdesc` names it).
fn pg_value(cell: &str, ty: &str) -> Result<Value, String> {
    if cell == NULL_MARK {
        return Ok(Value::Null);
    }
    let bad = |what: &str| format!("cannot read {cell:?} as {what} (type {ty})");
    let base = ty.split('(').next().unwrap_or(ty).trim();
    Ok(match base {
        "smallint" | "integer" | "bigint" => Value::Int(cell.parse().map_err(|_| bad("integer"))?),
        "numeric" | "real" | "double precision" => Value::Float(match cell {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => cell.parse().map_err(|_| bad("number"))?,
        }),
        "boolean" => match cell {
            "t" => Value::Bool(true),
            "f" => Value::Bool(false),
            _ => return Err(bad("boolean")),
        },
        "date" | "timestamp" | "timestamp without time zone" => {
            Value::time_from_micros(conformance::parse_datetime(cell)?)
        }
        "timestamp with time zone" => {
            // `2020-01-01 10:00:00+00` (the session is UTC) or with a `+05:30` offset.
            let cut = cell
                .rfind(['+', '-'])
                .filter(|&i| i > 10)
                .ok_or_else(|| bad("timestamp with time zone"))?;
            let (ts, offset) = cell.split_at(cut);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let mut hm = offset[1..].split(':');
            let h: i64 = hm
                .next()
                .unwrap_or("0")
                .parse()
                .map_err(|_| bad("offset"))?;
            let m: i64 = hm
                .next()
                .unwrap_or("0")
                .parse()
                .map_err(|_| bad("offset"))?;
            let micros = conformance::parse_datetime(ts)?;
            Value::time_from_micros(micros - sign * (h * 3600 + m * 60) * 1_000_000)
        }
        _ => Value::Text(cell.to_string()),
    })
}

// ---------------------------------------------------------------------------------------------
// Loading data: DuckDB -> CSV -> PostgreSQL
// ---------------------------------------------------------------------------------------------

/// The PostgreSQL column type holding the same values as a DuckDB one.
fn pg_type(duck: &str) -> Result<String, String> {
    let t = duck.to_ascii_uppercase();
    Ok(match t.as_str() {
        "VARCHAR" => "TEXT".into(),
        "BOOLEAN" => "BOOLEAN".into(),
        "TINYINT" | "SMALLINT" | "UTINYINT" => "SMALLINT".into(),
        "INTEGER" | "USMALLINT" => "INTEGER".into(),
        "BIGINT" | "UINTEGER" => "BIGINT".into(),
        "HUGEINT" | "UBIGINT" => "NUMERIC(38, 0)".into(),
        "FLOAT" => "REAL".into(),
        "DOUBLE" => "DOUBLE PRECISION".into(),
        "DATE" => "DATE".into(),
        "TIME" => "TIME".into(),
        "TIMESTAMP" => "TIMESTAMP".into(),
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMPTZ".into(),
        t if t.starts_with("DECIMAL") => t.replacen("DECIMAL", "NUMERIC", 1),
        _ => return Err(format!("no PostgreSQL type for DuckDB's {duck}")),
    })
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Copies every table of `schema` from DuckDB into a new schema of the same name in PostgreSQL.
fn copy_schema(duck: &duckdb::Connection, pg: &Pg, schema: &str) -> Result<usize, String> {
    let tables = crosscheck::export_schema(duck, schema, &pg.scratch, NULL_MARK)?;
    let q_schema = quote_ident(schema);
    let mut script =
        format!("DROP SCHEMA IF EXISTS {q_schema} CASCADE;\nCREATE SCHEMA {q_schema};\n");
    for t in &tables {
        let qualified = format!("{q_schema}.{}", quote_ident(&t.table));
        let csv_text = t.csv.to_string_lossy();
        let defs = t
            .columns
            .iter()
            .map(|(c, ty)| Ok(format!("{} {}", quote_ident(c), pg_type(ty)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("{schema}.{}: {e}", t.table))?;
        let _ = writeln!(script, "CREATE TABLE {qualified} ({});", defs.join(", "));
        let _ = writeln!(
            script,
            "\\copy {qualified} FROM '{csv_text}' WITH (FORMAT csv, NULL '{NULL_MARK}')"
        );
    }
    let _ = writeln!(script, "ANALYZE;");
    pg.script(&script)
        .map_err(|e| format!("loading schema {schema} into PostgreSQL: {e}"))?;
    Ok(tables.len())
}

/// A database for this run, dropped on drop.
struct RunDatabase {
    admin: Pg,
    name: String,
}

impl RunDatabase {
    fn create(admin: Pg) -> Result<RunDatabase, String> {
        // Databases left behind by runs that died (their process is gone) are dropped first.
        let existing =
            admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'tally\\_test\\_%'")?;
        for row in &existing.rows {
            let Some(Value::Text(name)) = row.first() else {
                continue;
            };
            let pid = name.trim_start_matches("tally_test_");
            if !Path::new("/proc").join(pid).exists() {
                let _ = admin.script(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE);",
                    quote_ident(name)
                ));
            }
        }
        let name = format!("tally_test_{}", std::process::id());
        admin.script(&format!(
            "DROP DATABASE IF EXISTS {q} WITH (FORCE);\nCREATE DATABASE {q} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';",
            q = quote_ident(&name)
        ))?;
        Ok(RunDatabase { admin, name })
    }
}

impl Drop for RunDatabase {
    #[allow(
        clippy::print_stdout,
        reason = "a test helper outside #[test]: says which database TALLY_POSTGRES_KEEP kept"
    )]
    fn drop(&mut self) {
        if std::env::var_os("TALLY_POSTGRES_KEEP").is_some() {
            println!("postgres: kept database {}", self.name);
            return;
        }
        let _ = self.admin.script(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE);",
            quote_ident(&self.name)
        ));
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let path = std::env::temp_dir().join(format!("tally-postgres-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create scratch directory");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether `TALLY_POSTGRES_FILTER` (a substring of comparison ids, for working on a few) selects `id`.
fn selected(id: &str) -> bool {
    std::env::var("TALLY_POSTGRES_FILTER").map_or(true, |f| id.contains(&f))
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

enum Verdict {
    Agree,
    Disagree(String),
    /// Nothing to compare: tally cannot compile or run the query for DuckDB.
    Skip(String),
}

/// Runs `query` on both engines (tally's DuckDB SQL on DuckDB, its PostgreSQL SQL on PostgreSQL)
/// and compares the rows.
fn compare_engines(
    suite: &Suite,
    duck: &duckdb::Connection,
    pg: &Pg,
    postgres: Dialect,
    query: &Query,
) -> Verdict {
    if let Some(reason) = &query.skip {
        return Verdict::Skip(reason.clone());
    }
    let expected = match suite.expected(duck, query) {
        Ok(t) => t,
        Err(e) => return Verdict::Skip(e),
    };
    let pg_sql = match suite.compile(query, postgres) {
        Ok(s) => s,
        Err(e) => return Verdict::Disagree(format!("no PostgreSQL SQL: {e}")),
    };
    let actual = match pg.query(&pg_sql) {
        Ok(t) => t,
        Err(e) => {
            return Verdict::Disagree(format!(
                "PostgreSQL fails: {e}\n  SQL: {}",
                pg_sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        }
    };
    // Agreement is the question here, so an empty result is fine when both engines return it.
    let case = Case {
        allow_empty: true,
        ..query.case.clone()
    };
    match conformance::compare(&case, &expected, &actual) {
        Ok(()) => Verdict::Agree,
        Err(e) => Verdict::Disagree(format!("results differ (- DuckDB, + PostgreSQL): {e}")),
    }
}

#[test]
fn postgres_agrees_with_duckdb() {
    let Some(conninfo) =
        tally_conformance::required_env("TALLY_POSTGRES", "postgres_agrees_with_duckdb")
    else {
        return;
    };
    let postgres = dialect::Dialect::Postgres;
    let scratch = Scratch::new();
    let admin = Pg {
        conninfo,
        dbname: "postgres".into(),
        scratch: scratch.0.clone(),
    };
    let db = RunDatabase::create(admin).expect("create the test database on PostgreSQL");
    let pg = db.admin.on(&db.name);

    let duck = duckdb::Connection::open_in_memory().expect("open DuckDB");
    let suite = Suite::load(&duck).expect("the compared queries and their data");
    copy_schema(&duck, &pg, conformance::SOURCE_SCHEMA).expect("copy the conformance fixtures");
    copy_schema(&duck, &pg, INTERCOM_SCHEMA).expect("copy the Intercom sample");
    let mut results = Vec::new();
    for query in &suite.queries {
        if selected(&query.id) {
            let verdict = compare_engines(&suite, &duck, &pg, postgres, query);
            results.push((query.id.clone(), verdict));
        }
    }

    let known_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(KNOWN_LIST);
    let known_text = fs::read_to_string(&known_path).unwrap_or_default();
    let known: BTreeSet<&str> = known_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut unexpected = Vec::new();
    let mut now_agree = Vec::new();
    let mut disagreeing = Vec::new();
    for (id, verdict) in &results {
        match verdict {
            Verdict::Agree => {
                passed += 1;
                if known.contains(id.as_str()) {
                    now_agree.push(id.as_str());
                }
            }
            Verdict::Disagree(msg) => {
                failed += 1;
                disagreeing.push(id.as_str());
                let mark = if known.contains(id.as_str()) {
                    "known"
                } else {
                    unexpected.push(id.as_str());
                    "FAIL"
                };
                println!("{mark} {id}: {msg}");
            }
            Verdict::Skip(reason) => {
                skipped += 1;
                println!("skip {id}: {reason}");
            }
        }
    }
    println!("postgres: {passed} passed, {failed} failed, {skipped} skipped");
    if std::env::var_os("TALLY_UPDATE_POSTGRES").is_some() {
        assert!(
            std::env::var_os("TALLY_POSTGRES_FILTER").is_none(),
            "TALLY_UPDATE_POSTGRES needs every comparison: unset TALLY_POSTGRES_FILTER"
        );
        let mut text = String::from(
            "# Comparisons where PostgreSQL and DuckDB disagree today (see tests/postgres.rs).\n\
             # Rewritten by TALLY_UPDATE_POSTGRES=1 ./scripts/test -- postgres\n",
        );
        for id in &disagreeing {
            text.push_str(id);
            text.push('\n');
        }
        fs::write(&known_path, text).expect("write the known disagreements");
        return;
    }
    if !now_agree.is_empty() {
        println!(
            "{} known disagreement(s) now agree; remove them from {KNOWN_LIST}: {now_agree:?}",
            now_agree.len()
        );
    }
    assert!(
        unexpected.is_empty(),
        "PostgreSQL and DuckDB disagree on {} comparison(s) not in {KNOWN_LIST}: {unexpected:#?}",
        unexpected.len()
    );
}
