//! The business clock on tally's local DuckDB: SQL compiled with `ClockForm::Relation` reads the
//! clocks from temporary tables, only the clocks a statement reads are created, and both forms
//! give the same rows.

use tally_core::dialect::Dialect::DuckDb;
use tally_core::model::Model;
use tally_core::pipeline::ClockForm;
use tally_core::plan::QueryRequest;
use tally_duckdb::engine::{self, ResultTable};

mod common;

fn sql(model: &Model, metric: &str, by: &str, form: ClockForm) -> String {
    let req = QueryRequest::of(&[metric], &[by], &[] as &[&str]);
    tally_core::pipeline::compile_with(model, DuckDb, form, &req)
        .unwrap_or_else(|d| panic!("{metric}: {d:?}"))
        .sql
}

/// The temporary clock tables of the connection, sorted.
fn clock_tables(conn: &duckdb::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT table_name FROM duckdb_tables() WHERE temporary \
             AND table_name LIKE 'tally_bh\\_\\_%' ESCAPE '\\' ORDER BY table_name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn only_the_clocks_a_statement_reads_are_created() {
    let model = common::load_valid(&common::repository());
    let conn = engine::open(None).unwrap();
    // No business duration: no clock.
    let plain = sql(
        &model,
        "conversation_volume",
        "metric_time__month",
        ClockForm::Relation,
    );
    assert!(!plain.contains("tally_bh__"));
    assert_eq!(
        tally_duckdb::clock::install_read(&conn, &model, &plain).unwrap(),
        0
    );
    assert!(clock_tables(&conn).is_empty());
    // A business-time metric: the clocks of the calendars of the durations it reads, not the
    // other calendars of its model nor of the project. `conversations` uses five calendars
    // (`support_workspace`, and `support_by_team`'s schedules).
    let by_team = [
        "office_08_17",
        "office_08_18",
        "support_workspace",
        "technical_hours",
        "tier1_hours",
    ];
    for (metric, calendars) in [
        // `conversation_replies`: its one duration, in `support_workspace`.
        ("reply_time_business_median", &["support_workspace"][..]),
        // `first_response_business_minutes`, in `support_workspace`.
        (
            "first_response_time_business_median",
            &["support_workspace"],
        ),
        // The SLA's minutes (a filter) and the decided count, in `support_workspace`.
        ("first_response_sla_breach_rate", &["support_workspace"]),
        // `first_response_team_business_minutes`, in `support_by_team`: every schedule it can
        // select (its map's and its default).
        ("team_first_response_time_business_median", &by_team),
    ] {
        let conn = engine::open(None).unwrap();
        let text = sql(&model, metric, "metric_time__month", ClockForm::Relation);
        let n = tally_duckdb::clock::install_read(&conn, &model, &text).unwrap();
        let expected: Vec<String> = calendars.iter().map(|c| format!("tally_bh__{c}")).collect();
        assert_eq!(clock_tables(&conn), expected, "{metric}");
        assert_eq!(n, expected.len());
        // The self-contained form inlines the rows of those calendars and no other.
        let inline = sql(&model, metric, "metric_time__month", ClockForm::Inline);
        for c in by_team {
            assert_eq!(
                inline.contains(&format!("('{c}', DATE '")),
                calendars.contains(&c),
                "{metric}: rows of {c}"
            );
        }
    }
    // The clock of `conversations` has the five calendars in all (what the materialisation
    // cache's relation with every duration reads).
    let conversations = model
        .semantic_models
        .iter()
        .find(|s| s.name == "conversations")
        .and_then(|s| s.business.as_ref())
        .unwrap();
    let mut all: Vec<&str> = conversations
        .clocks()
        .iter()
        .map(|c| c.calendar.as_str())
        .collect();
    all.sort();
    assert_eq!(all, by_team);
    let all = tally_duckdb::clock::relation_clocks(&model).len();
    let replies = sql(
        &model,
        "reply_time_business_median",
        "metric_time__month",
        ClockForm::Relation,
    );
    assert!(
        tally_duckdb::clock::read_by(tally_duckdb::clock::relation_clocks(&model), &replies).len()
            < all
    );
}

#[test]
fn relation_form_reads_tables_and_names_fingerprints_inline_form_is_self_contained() {
    let model = common::load_valid(&common::repository());
    let m = "first_response_time_business_median";
    let relation = sql(&model, m, "metric_time__month", ClockForm::Relation);
    let inline = sql(&model, m, "metric_time__month", ClockForm::Inline);
    let fp = &tally_duckdb::clock::relation_clocks(&model)
        .into_iter()
        .find(|c| c.calendar == "support_workspace")
        .unwrap()
        .fingerprint;
    assert!(relation.contains("FROM tally_bh__support_workspace"));
    assert!(relation.contains(&format!("fingerprint {fp}")));
    assert!(!relation.contains("VALUES"));
    assert!(!inline.contains("tally_bh__"));
    assert!(inline.contains("VALUES"));
    // The default `compile` is the self-contained form.
    let req = QueryRequest::of(&[m], &["metric_time__month"], &[] as &[&str]);
    assert_eq!(
        tally_core::pipeline::compile(&model, DuckDb, &req)
            .unwrap()
            .sql,
        inline
    );
    // Relation form for every dialect parses back (compile_with checks it) and differs from the
    // inline form only where the clock goes.
    for d in tally_core::dialect::Dialect::ALL {
        tally_core::pipeline::compile_with(&model, d, ClockForm::Relation, &req)
            .unwrap_or_else(|e| panic!("{d}: {e:?}"));
    }
}

fn sorted(mut t: ResultTable) -> ResultTable {
    t.rows
        .sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    t
}

/// Every metric of the project that reads business durations, by month, gives the same rows with the clock inlined and read from its temporary tables, on generated data.
#[test]
fn both_forms_give_the_same_rows_for_every_business_time_metric() {
    let model = common::load_valid(&common::repository());
    let conn = engine::open(None).unwrap();
    common::generate(&conn, 1_000, 11);
    let mut compared = Vec::new();
    let by = "metric_time__month";
    for metric in model.metrics.keys() {
        let req = QueryRequest::of(&[metric.as_str()], &[by], &[] as &[&str]);
        let relation =
            tally_core::pipeline::compile_with(&model, DuckDb, ClockForm::Relation, &req)
                .unwrap_or_else(|d| panic!("{metric}: {d:?}"));
        let inline = sql(&model, metric, by, ClockForm::Inline);
        if inline == relation.sql {
            continue; // no business duration
        }
        tally_duckdb::clock::install_read(&conn, &model, &relation.sql).unwrap();
        let a = sorted(engine::run(&conn, &relation.sql).unwrap());
        let b = sorted(engine::run(&conn, &inline).unwrap());
        assert!(!a.rows.is_empty(), "{metric}: no rows");
        assert!(common::same_rows(&a, &b), "{metric}: {a:?} vs {b:?}");
        compared.push(format!("{metric} by {by}"));
    }
    // The project's business-time metrics (`metrics/business_hours.yml`, the office-hours
    // reconciliation of `models/calendars.yml`): 17 read business durations.
    assert!(compared.len() >= 17, "{compared:?}");
    assert!(compared
        .iter()
        .any(|c| c.starts_with("team_first_response_time_business_median ")));
    assert!(compared
        .iter()
        .any(|c| c.starts_with("first_response_sla_breach_rate ")));
}

/// A deadline's range join reads the clock's relation itself in the relation form (the clock step
/// the lookups share is materialised), and that step in the inline form; in both, the open days
/// listed under their bucket of business time and the next, joined on the target's bucket.
#[test]
fn a_deadlines_range_join_reads_the_clock_relation_itself_in_the_relation_form() {
    let model = common::load_valid(&common::repository());
    let m = "first_response_sla_breaches";
    let range_join = |form: ClockForm| {
        let text = sql(&model, m, "metric_time__month", form);
        let joins: Vec<String> = text
            .split("LEFT JOIN ")
            .skip(1)
            .filter(|j| j.contains(".cum_s <"))
            .map(str::to_string)
            .collect();
        assert_eq!(joins.len(), 1, "one range join in\n{text}");
        assert!(
            text.contains("LEFT JOIN tally_bh AS "),
            "the lookups: {text}"
        );
        joins[0].clone()
    };
    let relation = range_join(ClockForm::Relation);
    let inside = relation.strip_prefix('(').map(str::trim_start);
    assert!(
        inside.is_some_and(|r| r.starts_with("SELECT ")),
        "{relation}"
    );
    assert!(
        relation.contains("FROM tally_bh__support_workspace /* fingerprint "),
        "{relation}"
    );
    let inline = range_join(ClockForm::Inline);
    assert!(inline.contains("FROM tally_bh AS tally_r "), "{inline}");
    // Both forms join on the target's bucket (a hash join), then check the range.
    for join in [&relation, &inline] {
        assert!(join.contains(".tally_bucket = CAST(FLOOR("), "{join}");
    }
}
