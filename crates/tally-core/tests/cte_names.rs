//! CTE names keep clear of the relations the query reads, and only of those (`plan::names`).

use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let (model, diags) = tally_core::pipeline::load_model(
        dir.path(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (dir, model)
}

/// The names of the CTEs of the query's SQL (DuckDB's), in order. The SQL's, not the plan's: the
/// plan is the same for every dialect, and the SQL stage names a CTE otherwise when the dialect's
/// rendering of a `sql:` model reads a relation of its name (`sql::reads`).
fn cte_names(m: &Model, metrics: &[&str], group_by: &[&str]) -> (Vec<String>, String) {
    let req = QueryRequest::of(metrics, group_by, &[] as &[&str]);
    let c = tally_core::pipeline::compile(m, Dialect::DuckDb, &req).expect("compiles");
    let names: Vec<String> = c
        .sql
        .lines()
        .filter_map(|l| l.strip_prefix("WITH ").or_else(|| l.strip_prefix(", ")))
        .filter_map(|l| l.strip_suffix(" AS ("))
        .map(str::to_string)
        .collect();
    assert_eq!(names.len(), c.plan.query.ctes.len(), "{}", c.sql);
    (names, c.sql)
}

/// Orders read from a table, and a second, unrelated model whose `sql:` reads `{unrelated}`.
fn project(orders_relation: &str, unrelated: &str) -> String {
    format!(
        r#"semantic_models:
  - name: orders
    {orders_relation}
    defaults: {{agg_time_dimension: ordered_at}}
    entities:
      - {{name: order, type: primary, expr: order_id}}
    dimensions:
      - {{name: ordered_at, type: time, type_params: {{time_granularity: day}}}}
      - {{name: region, type: categorical}}
    measures:
      - {{name: revenue, agg: sum, expr: amount}}
      - {{name: order_count, agg: count, expr: order_id}}
  - name: audit_log
    sql: "select l.id, l.at from {unrelated} as l"
    defaults: {{agg_time_dimension: at}}
    entities:
      - {{name: entry, type: primary, expr: id}}
    dimensions:
      - {{name: at, type: time, type_params: {{time_granularity: day}}}}
    measures:
      - {{name: entries, agg: count, expr: id}}
metrics:
  - {{name: revenue, type: simple, type_params: {{measure: revenue}}}}
  - {{name: order_count, type: simple, type_params: {{measure: order_count}}}}
  - name: revenue_per_order
    type: ratio
    type_params: {{numerator: revenue, denominator: order_count}}
  - {{name: entries, type: simple, type_params: {{measure: entries}}}}
"#
    )
}

const QUERY: (&[&str], &[&str]) = (
    &["revenue", "revenue_per_order"],
    &["metric_time__month", "order__region"],
);

#[test]
fn an_unrelated_models_sql_does_not_rename_the_querys_ctes() {
    // The CTE names of the query when nothing reads a table named like them.
    let (_d, plain) = load(&[(
        "m.yml",
        &project("node_relation: {alias: orders_raw}", "audit.entries"),
    )]);
    let (names, _) = cte_names(&plain, QUERY.0, QUERY.1);
    assert!(names.len() >= 2, "{names:?}");
    // An unrelated model's `sql:` reads a table named like each of them: the query does not read
    // that model, so its CTEs keep their names and its SQL is the same, byte for byte.
    for taken in &names {
        let (_d2, m) = load(&[(
            "m.yml",
            &project("node_relation: {alias: orders_raw}", taken),
        )]);
        let (again, sql) = cte_names(&m, QUERY.0, QUERY.1);
        assert_eq!(again, names, "with `{taken}` read by audit_log");
        let (_, plain_sql) = cte_names(&plain, QUERY.0, QUERY.1);
        assert_eq!(sql, plain_sql);
        // A query that reads that model renames the CTE that would shadow the table.
        let (with_audit, sql) = cte_names(&m, &["revenue", "entries"], &["metric_time__month"]);
        assert!(
            !with_audit.iter().any(|n| n.eq_ignore_ascii_case(taken)),
            "a CTE is named `{taken}`, which audit_log reads:\n{sql}"
        );
    }
}

#[test]
fn a_cte_named_like_a_table_the_querys_own_sql_reads_is_renamed() {
    let (_d, plain) = load(&[(
        "m.yml",
        &project("node_relation: {alias: orders_raw}", "audit.entries"),
    )]);
    let (names, _) = cte_names(&plain, QUERY.0, QUERY.1);
    for taken in &names {
        // The query's own model reads, in its `sql:`, a table named like one of its CTEs (in
        // another case and schema).
        let relation = format!(
            "sql: \"select o.* from Raw.{} as o join raw.orders_raw using (order_id)\"",
            taken.to_ascii_uppercase()
        );
        let (_d2, m) = load(&[("m.yml", &project(&relation, "audit.entries"))]);
        let (renamed, sql) = cte_names(&m, QUERY.0, QUERY.1);
        assert_eq!(renamed.len(), names.len(), "{sql}");
        for n in &renamed {
            assert!(
                !n.eq_ignore_ascii_case(taken) && n != "raw" && n != "orders_raw",
                "CTE `{n}` shadows a relation the query reads:\n{sql}"
            );
        }
        // The CTE that had the table's name has another (CTEs named after it follow).
        let at = names.iter().position(|n| n == taken).expect("listed");
        assert_ne!(renamed[at], *taken, "{sql}");
    }
}

#[test]
fn relations_read_by_users_expressions_are_reserved_too() {
    // A dimension whose expression is a sub-query reading a table named like a CTE of the query.
    let (_d, plain) = load(&[(
        "m.yml",
        &project("node_relation: {alias: orders_raw}", "audit.entries"),
    )]);
    let (names, _) = cte_names(&plain, QUERY.0, QUERY.1);
    let last = names.last().expect("a CTE").clone();
    let yaml = project("node_relation: {alias: orders_raw}", "audit.entries").replace(
        "- {name: region, type: categorical}",
        &format!(
            "- {{name: region, type: categorical, expr: \"(select max(r.name) from {last} as r where r.id = order_id)\"}}"
        ),
    );
    let (_d2, m) = load(&[("m.yml", &yaml)]);
    let (renamed, sql) = cte_names(&m, QUERY.0, QUERY.1);
    assert!(!renamed.contains(&last), "{sql}");
}
