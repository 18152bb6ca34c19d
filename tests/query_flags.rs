//! `tally query` and `tally sql` on a small claims project whose semantic models are named like the
//! tables they read: `--min-max-only`, `--no-dedupe`, CSV output as RFC 4180 (Python's `csv`
//! module, which `mf query --csv` uses), and queries that run although a CTE named like its table
//! would be a circular reference.

mod common;
mod duckdb_files;

use common::{p, tally};
use std::path::Path;

/// The claims project (shared with tally-core's `tests/output_shape.rs`).
const CLAIMS: &str = include_str!("fixtures/claims/claims.yml");

/// The project and a DuckDB database with its tables, in a temporary directory.
fn claims() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let (dir, project) = common::project(&[("claims.yml", CLAIMS)]);
    let db = dir.path().join("claims.duckdb");
    duckdb_files::duckdb_file(
        &db,
        "CREATE TABLE claim (claim_id VARCHAR, claim_date DATE, status VARCHAR, amount BIGINT);
         INSERT INTO claim VALUES ('c1', '2024-01-01', 'open', 10), ('c2', '2024-01-05', 'open', 5), ('c3', '2024-02-03', NULL, 7);
         CREATE TABLE claim_detail (claim_id VARCHAR, pcd_id VARCHAR, line_kind VARCHAR);
         INSERT INTO claim_detail VALUES ('c1', 'd1', 'a'), ('c2', 'd2', 'b'), ('c3', 'd1', 'a');
         CREATE TABLE policy_coverage_detail (pcd_id VARCHAR, policy_id VARCHAR, coverage_type VARCHAR);
         INSERT INTO policy_coverage_detail VALUES ('d1', 'p1', 'fire'), ('d2', 'p2', 'flood');
         CREATE TABLE policy (policy_id VARCHAR, policy_number VARCHAR);
         INSERT INTO policy VALUES ('p1', 'N-1'), ('p2', 'N-2');",
    );
    (dir, project, db)
}

fn query(project: &Path, db: &Path, args: &[&str]) -> common::Out {
    let mut all = vec!["--project", p(project), "query", "--duckdb", p(db)];
    all.extend_from_slice(args);
    tally(&all)
}

/// The query's result as CSV; the query must succeed.
fn csv(project: &Path, db: &Path, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--format", "csv"]);
    let out = query(project, db, &all);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out.stdout
}

/// The query fails with exit 1, `message` on stderr and no result on stdout.
fn refused(project: &Path, db: &Path, args: &[&str], message: &str) {
    let out = query(project, db, args);
    assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
    assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    assert_eq!(out.stdout, "", "{args:?}");
}

#[test]
fn models_named_like_their_tables_query_on_duckdb() {
    let (_dir, project, db) = claims();
    let out = csv(
        &project,
        &db,
        &[
            "--metrics",
            "claim_amount",
            "--group-by",
            "claim_identifier__policy_coverage_detail__coverage_type,claim_identifier__status",
        ],
    );
    assert_eq!(
        out,
        "claim_identifier__status,claim_identifier__policy_coverage_detail__coverage_type,claim_amount\r\n\
         open,fire,10\r\nopen,flood,5\r\n,fire,7\r\n"
    );
}

#[test]
fn csv_keeps_a_row_whose_only_column_is_null() {
    let (_dir, project, db) = claims();
    let out = csv(&project, &db, &["--group-by", "claim_identifier__status"]);
    // Python's csv module (and `mf query --csv`) writes the NULL row as `""`, never as an empty
    // line that no reader can tell from no row.
    assert_eq!(out, "claim_identifier__status\r\nopen\r\n\"\"\r\n");
}

#[test]
fn no_dedupe_returns_every_row() {
    let (_dir, project, db) = claims();
    let out = csv(
        &project,
        &db,
        &["--group-by", "claim_identifier__status", "--no-dedupe"],
    );
    assert_eq!(out, "claim_identifier__status\r\nopen\r\nopen\r\n\"\"\r\n");
    refused(
        &project,
        &db,
        &[
            "--metrics",
            "claim_amount",
            "--group-by",
            "claim_identifier__status",
            "--no-dedupe",
        ],
        "cannot have metrics",
    );
}

#[test]
fn min_max_only_returns_the_range_of_one_item() {
    let (_dir, project, db) = claims();
    let out = csv(
        &project,
        &db,
        &[
            "--group-by",
            "claim_identifier__claim_date__month",
            "--min-max-only",
        ],
    );
    assert_eq!(
        out,
        "claim_identifier__claim_date__month__min,claim_identifier__claim_date__month__max\r\n\
         2024-01-01 00:00:00,2024-02-01 00:00:00\r\n"
    );
    let sql = tally(&[
        "--project",
        p(&project),
        "sql",
        "--group-by",
        "claim_identifier__status",
        "--min-max-only",
    ]);
    assert_eq!(sql.code, 0, "{}", sql.stderr);
    assert!(
        sql.stdout.contains("MIN(") && sql.stdout.contains("AS claim_identifier__status__max"),
        "{}",
        sql.stdout
    );
    refused(
        &project,
        &db,
        &[
            "--group-by",
            "claim_identifier__status,claim_identifier__claim_date",
            "--min-max-only",
        ],
        "min_max_only takes exactly one group-by item",
    );
}

#[test]
fn a_group_by_name_too_far_away_is_rejected_with_the_valid_names() {
    let (_dir, project, db) = claims();
    refused(
        &project,
        &db,
        &[
            "--metrics",
            "claim_amount",
            "--group-by",
            "policy__policy_number",
        ],
        "`policy__policy_number` cannot be reached from semantic model `claim`",
    );
}

/// A `sql:` model whose macro (the project's own, on the dialect's `cast_string`) reads a table
/// named like the model on PostgreSQL only: `tally sql` names the model's CTE `line_2` there and
/// `line` in every other dialect, `--stage plan` prints the same plan for every dialect, and the
/// query runs on DuckDB. The claims project's `policy` reads `main.POLICY` in every dialect: its
/// CTE is `policy_2` in all of them (`WITH policy AS (... FROM main.POLICY)` would read itself).
#[test]
fn a_cte_avoids_the_relations_of_the_dialect_it_is_written_for() {
    let line = "semantic_model:
  name: line
  sql: \"select d.pcd_id, d.line_kind from {{ line_source() }} as d\"
  entities:
    - {name: line_id, type: primary, expr: pcd_id}
  dimensions:
    - {name: line_kind, type: categorical}
";
    let macros = "{% macro line_source() %}{% if 'TEXT' in cast_string('x') %}main.line\
                  {% else %}main.claim_detail{% endif %}{% endmacro %}";
    let (dir, project) = common::project(&[
        ("claims.yml", CLAIMS),
        ("line.yml", line),
        ("templates/lines.sql", macros),
    ]);
    let sql = |dialect: &str, group_by: &str, stage: &str| {
        let out = tally(&[
            "--project",
            p(&project),
            "sql",
            "--group-by",
            group_by,
            "--dialect",
            dialect,
            "--stage",
            stage,
        ]);
        assert_eq!(out.code, 0, "{dialect}: {}", out.stderr);
        out.stdout
    };
    let plan = sql("duckdb", "line_id__line_kind", "plan");
    assert!(plan.contains("\"name\": \"line\""), "{plan}");
    for dialect in [
        "bigquery",
        "databricks",
        "duckdb",
        "postgres",
        "redshift",
        "snowflake",
        "trino",
    ] {
        assert_eq!(
            sql(dialect, "line_id__line_kind", "plan"),
            plan,
            "{dialect}"
        );
        let text = sql(dialect, "line_id__line_kind", "sql");
        if dialect == "postgres" {
            assert!(
                text.starts_with("WITH line_2 AS (") && text.contains("from main.line as d"),
                "{text}"
            );
        } else {
            assert!(
                text.starts_with("WITH line AS (") && text.contains("from main.claim_detail as d"),
                "{dialect}: {text}"
            );
        }
        let text = sql(dialect, "policy__policy_number", "sql");
        assert!(
            text.starts_with("WITH policy_2 AS (") && text.contains("FROM policy_2"),
            "{dialect}: {text}"
        );
    }
    let db = dir.path().join("claims.duckdb");
    duckdb_files::duckdb_file(
        &db,
        "CREATE TABLE claim_detail (claim_id VARCHAR, pcd_id VARCHAR, line_kind VARCHAR);
         INSERT INTO claim_detail VALUES ('c1', 'd1', 'a'), ('c2', 'd2', 'b');
         CREATE TABLE policy (policy_id VARCHAR, policy_number VARCHAR);
         INSERT INTO policy VALUES ('p1', 'N-1'), ('p2', 'N-2');",
    );
    let rows = csv(&project, &db, &["--group-by", "line_id__line_kind"]);
    assert_eq!(rows, "line_id__line_kind\r\na\r\nb\r\n");
    let rows = csv(&project, &db, &["--group-by", "policy__policy_number"]);
    assert_eq!(rows, "policy__policy_number\r\nN-1\r\nN-2\r\n");
}
