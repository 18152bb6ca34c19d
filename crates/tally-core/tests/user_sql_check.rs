//! The self-check of generated SQL (E0901, a bug in tally) parses tally's SQL, not the user's:
//! a semantic model's `sql:` is checked on its own and reported where the user wrote it (E0203),
//! by validation in the project's dialect and by the SQL stage in any other.

mod common;

use tally_core::diag::{codes, Diagnostic};
use tally_core::dialect::Dialect;
use tally_core::load::{load_files, LoadOptions};
use tally_core::plan::QueryRequest;

/// Valid DuckDB (and Snowflake), not BigQuery or PostgreSQL: `* EXCLUDE (...)`.
const MODELS: &str = "semantic_models:
  - name: orders
    sql: |
      SELECT * EXCLUDE (junk) FROM (SELECT 1 AS order_id, CAST('2025-01-03' AS DATE) AS ordered_at, 2 AS junk) AS t
    defaults:
      agg_time_dimension: ordered_at
    entities:
      - name: order
        type: primary
        expr: order_id
    dimensions:
      - name: ordered_at
        type: time
        type_params:
          time_granularity: day
    measures:
      - name: order_count
        agg: count
        expr: order_id
";

const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params:
      measure: order_count
";

fn request() -> QueryRequest {
    QueryRequest::of::<&str, &str, &str>(&["orders"], &["metric_time__month"], &[])
}

fn codes_of(diags: &[Diagnostic]) -> Vec<&str> {
    diags.iter().map(|d| d.code).collect()
}

#[test]
fn a_models_sql_is_checked_in_the_dialect_written_and_reported_where_it_was_written() {
    let (model, diags) = common::from_files(
        &[("models/orders.yml", MODELS), ("metrics/m.yml", METRICS)],
        None,
    );
    assert!(
        !diags.iter().any(Diagnostic::is_error),
        "{}",
        common::render(&model, &diags)
    );
    // Validation parsed the model's SQL in the project's dialect (DuckDB: no `dialect:`).
    assert!(model.sql_checked_in("duckdb"));
    assert!(!model.sql_checked_in("bigquery"));

    let duck = tally_core::query::compile(&model, Dialect::DuckDb, &request()).expect("compiles");
    // The user's SQL is in the query as written (the stub is only what the self-check parses).
    assert!(
        duck.sql.contains("SELECT * EXCLUDE (junk) FROM"),
        "{}",
        duck.sql
    );
    assert!(!duck.sql.contains("tally_user_sql"), "{}", duck.sql);
    let snow =
        tally_core::query::compile(&model, Dialect::Snowflake, &request()).expect("compiles");
    assert!(snow.sql.contains("EXCLUDE (junk)"), "{}", snow.sql);

    for d in [Dialect::BigQuery, Dialect::Postgres] {
        let errs = tally_core::query::compile(&model, d, &request()).expect_err("does not parse");
        assert_eq!(codes_of(&errs), vec![codes::EXPRESSION], "{errs:?}");
        let e = &errs[0];
        assert!(
            e.message.contains(&format!(
                "the `sql:` of semantic model `orders` does not parse as {}",
                d.name()
            )),
            "{}",
            e.message
        );
        // At the model's `sql:` in its file, not at the generated SQL.
        let text = common::render(&model, &errs);
        assert!(text.contains("models/orders.yml:4:"), "{text}");
        assert!(!e.help.is_empty());
    }
}

#[test]
fn without_validation_the_sql_stage_checks_the_projects_dialect_too() {
    // Not one query in any dialect: without validation (a library caller that skips it) the SQL
    // stage still reports it as the user's, never as tally's bug.
    let broken = MODELS.replace("SELECT * EXCLUDE (junk) FROM", "SELECT FROM WHERE (");
    let (spec, diags) = load_files(
        &[("models/orders.yml", &broken), ("metrics/m.yml", METRICS)],
        None,
        &LoadOptions::default(),
    );
    assert!(diags.is_empty(), "{diags:?}");
    let (model, _) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
    assert!(!model.sql_checked_in("duckdb"));
    let errs =
        tally_core::query::compile(&model, Dialect::DuckDb, &request()).expect_err("reported");
    assert_eq!(codes_of(&errs), vec![codes::EXPRESSION], "{errs:?}");

    // Validation reports it the same way (E0203), and does not mark the project's SQL checked.
    let found = tally_core::validate::validate_model(&model);
    assert!(
        found.iter().any(|d| d.code == codes::EXPRESSION),
        "{found:?}"
    );
    assert!(!model.sql_checked_in("duckdb"));
}
