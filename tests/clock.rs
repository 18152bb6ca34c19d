//! The business clock's form through the CLI: `tally sql` prints self-contained SQL (the clock's
//! rows inlined) unless `--clock relation`; `tally query` reads the clock from temporary tables and
//! gives the rows of the self-contained SQL.

mod common;
use common::{p, tally};
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sql(root: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "--project",
        p(root),
        "sql",
        "--metrics",
        "first_response_time_business_median",
        "--group-by",
        "metric_time__month",
    ];
    args.extend_from_slice(extra);
    let out = tally(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

#[test]
fn tally_sql_is_self_contained_unless_asked_for_the_relation_form() {
    let root = repository();
    let inline = sql(&root, &[]);
    assert!(inline.contains("VALUES"), "{inline}");
    assert!(!inline.contains("tally_bh__"));
    assert_eq!(inline, sql(&root, &["--clock", "inline"]));
    let relation = sql(&root, &["--clock", "relation"]);
    assert!(relation.contains("FROM tally_bh__support_workspace /* fingerprint "));
    assert!(!relation.contains("VALUES"));
    // Another dialect: the relation form too.
    let pg = sql(&root, &["--clock", "relation", "--dialect", "postgres"]);
    assert!(pg.contains("tally_bh__support_workspace"));
    let bad = tally(&[
        "--project",
        p(&root),
        "sql",
        "--metrics",
        "x",
        "--clock",
        "inlined",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("E0010"), "{}", bad.stderr);
}

/// Rows of DuckDB on `db` for `sql`, sorted, as text.
fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = tally_duckdb::engine::open_read_only(db).expect("open");
    let t = tally_duckdb::engine::run(&conn, sql).expect("run");
    let mut out: Vec<String> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    tally_duckdb::engine::Value::Float(f) => format!("{f:.6}"),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn tally_query_reads_the_clock_tables_and_gives_the_inline_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("support.duckdb");
    let out = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "1000",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let root = repository();
    let out = tally(&[
        "--project",
        p(&root),
        "query",
        "--duckdb",
        p(&db),
        "--cache",
        "off",
        "--metrics",
        "first_response_time_business_median",
        "--group-by",
        "metric_time__month",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut got: Vec<String> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|f| match f.parse::<f64>() {
                    Ok(x) if f.contains('.') => format!("{x:.6}"),
                    _ => f.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    got.sort();
    assert!(!got.is_empty());
    let expected = rows(&db, &sql(&root, &[]));
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        // The month as DuckDB's value prints it and as the CSV writes it may differ in form;
        // the values must agree.
        assert_eq!(
            g.rsplit(',').next(),
            e.rsplit(',').next(),
            "{got:?} vs {expected:?}"
        );
    }
}
