//! Business durations in a project: the SQL compiles for every dialect from one plan (no
//! time-zone function), queries that do not read a duration do not join the clock, and `tally
//! diff` reports a calendar change with the business-time metrics it moves and their owners.

use std::path::Path;
use tally_core::dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;

const TALLY_YML: &str = "name: shop\npeople:\n  - {name: ana, full_name: Ana Lima}\n";

fn models(hours: &str) -> String {
    format!(
        r#"
business_calendars:
  - name: office
    timezone: Europe/Dublin
    weekly: {{weekdays: ["{hours}"]}}
    range: {{start: 2026-01-01, end: 2026-12-31}}
  - name: by_team
    by: team_id
    map: {{"1": office}}
    default: office
semantic_models:
  - name: tickets
    node_relation: {{alias: tickets, schema_name: shop}}
    defaults: {{agg_time_dimension: created_at}}
    entities:
      - {{name: ticket, type: primary, expr: id}}
    dimensions:
      - {{name: created_at, type: time, type_params: {{time_granularity: day}}}}
      - {{name: team_id, type: categorical}}
    business_durations:
      - {{name: response_minutes, start: created_at, end: replied_at, calendar: by_team}}
    measures:
      - {{name: tickets, agg: count, expr: id}}
      - {{name: response_minutes_median, agg: median, expr: response_minutes}}
metrics:
  - name: ticket_count
    label: Tickets
    type: simple
    type_params: {{measure: tickets}}
  - name: response_time_business_median
    label: Median response (business minutes)
    type: simple
    type_params: {{measure: response_minutes_median}}
    owners: {{accountable: ana}}
  - name: sla_tickets
    label: Tickets answered within an hour of business time
    type: simple
    type_params: {{measure: tickets}}
    filter: "{{{{ Dimension('ticket__response_minutes') }}}} <= 60"
"#
    )
}

fn load(dir: &Path, hours: &str) -> Model {
    load_yml(dir, &models(hours))
}

/// Load the project `TALLY_YML` with `yml` as its one models file; no error.
fn load_yml(dir: &Path, yml: &str) -> Model {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("tally.yml"), TALLY_YML).unwrap();
    std::fs::write(dir.join("models/m.yml"), yml).unwrap();
    let (model, diags) =
        tally_core::pipeline::load_model(dir, &LoadOptions::default(), &tally_templates::builtin());
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(
        errors.is_empty(),
        "{}",
        tally_core::diag::render_human(&model.sources, &errors, false)
    );
    model
}

#[test]
fn compiles_for_every_dialect_and_joins_the_clock_only_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "09:00-17:00");
    for d in dialect::Dialect::ALL {
        let name = d.name();
        for metric in ["response_time_business_median", "sla_tickets"] {
            let req = QueryRequest::of::<&str, &str, &str>(&[metric], &["metric_time__month"], &[]);
            let sql = tally_core::pipeline::compile(&model, d, &req)
                .unwrap_or_else(|e| {
                    panic!(
                        "{name} {metric}: {}",
                        tally_core::diag::render_human(&model.sources, &e, false)
                    )
                })
                .sql;
            assert!(
                sql.contains("tally_bh"),
                "{name} {metric}: the clock is joined"
            );
            let lower = sql.to_ascii_lowercase();
            for f in [
                "timezone",
                "at time zone",
                "convert_tz",
                "from_utc_timestamp",
            ] {
                assert!(!lower.contains(f), "{name}: `{f}` in\n{sql}");
            }
        }
        let req = QueryRequest::of::<&str, &str, &str>(&["ticket_count"], &[], &[]);
        let sql = tally_core::pipeline::compile(&model, d, &req).unwrap().sql;
        assert!(
            !sql.contains("tally_bh"),
            "{name}: no clock without a duration"
        );
    }
}

#[test]
fn diff_reports_calendar_changes_and_the_metrics_they_move() {
    let base_dir = tempfile::tempdir().unwrap();
    let head_dir = tempfile::tempdir().unwrap();
    let base = load(base_dir.path(), "09:00-17:00");
    let head = load(head_dir.path(), "08:00-18:00");
    let d = tally_core::diff::diff_models(&base, &head);
    let change = d
        .semantic_models
        .iter()
        .find(|c| c.name == "tickets")
        .expect("tickets changed");
    assert!(change
        .changes
        .iter()
        .any(|f| f.field == "business duration `response_minutes`" && f.affects_values));
    let affected: Vec<&str> = d.affected.iter().map(|a| a.name.as_str()).collect();
    assert!(
        affected.contains(&"response_time_business_median"),
        "{affected:?}"
    );
    assert!(affected.contains(&"sla_tickets"), "{affected:?}");
    assert!(!affected.contains(&"ticket_count"), "{affected:?}");
    let owner = d
        .affected
        .iter()
        .find(|a| a.name == "response_time_business_median")
        .unwrap();
    assert_eq!(owner.accountable, vec!["ana".to_string()]);
    let md = tally_core::diff::render_markdown(&d, "base", "head");
    assert!(md.contains("08:00") || md.contains("28800"), "{md}");
}

/// The clock travels as constant rows in each dialect's form, or, past the inline limit, as the
/// relations `tally_bh__<calendar>`.
#[test]
fn the_clock_is_constant_rows_or_a_relation() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "09:00-17:00");
    let req = QueryRequest::of::<&str, &str, &str>(
        &["response_time_business_median"],
        &["metric_time__month"],
        &[],
    );
    for (name, form) in [
        ("duckdb", "(VALUES\n('office', DATE '2026-01-01', CAST("),
        ("postgres", "(VALUES\n('office', DATE '2026-01-01', CAST("),
        ("trino", "(VALUES\n('office', DATE '2026-01-01', CAST("),
        ("redshift", "(VALUES\n('office', DATE '2026-01-01', CAST("),
        ("snowflake", "(VALUES\n('office', DATE '2026-01-01', CAST("),
        (
            "bigquery",
            "(SELECT f[OFFSET(0)] AS calendar_id, CAST(f[OFFSET(1)] AS DATE) AS day_utc, CAST(f[OFFSET(2)] AS INT64) AS cum_s,",
        ),
        (
            "databricks",
            "FROM VALUES\n('office', DATE '2026-01-01', CAST(",
        ),
    ] {
        let d: dialect::Dialect = name.parse().unwrap();
        let sql = tally_core::pipeline::compile(&model, d, &req).unwrap().sql;
        let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let form = form.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&form),
            "{name}: `{form}` in\n{}",
            &sql[..sql.len().min(3000)]
        );
        assert!(!sql.contains("tally_bh__"), "{name}: no relation");
        assert!(
            !sql.contains("__tally_business_clock_rows__"),
            "{name}: the mark is replaced"
        );
        assert!(!sql.contains("UNION ALL"), "{name}: no UNION ALL of rows");
        if name == "bigquery" {
            assert!(
                sql.contains("UNNEST(SPLIT('office,2026-01-01,0,"),
                "bigquery: the rows in one string"
            );
        }
    }
    // Fifteen years: 5,479 rows, past the inline limit of 5,000.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("tally.yml"), TALLY_YML).unwrap();
    std::fs::write(
        dir.path().join("models/m.yml"),
        models("09:00-17:00").replace("end: 2026-12-31", "end: 2040-12-31"),
    )
    .unwrap();
    let (model, diags) = tally_core::pipeline::load_model(
        dir.path(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    assert!(diags.iter().all(|d| !d.is_error()));
    for d in dialect::Dialect::ALL {
        let name = d.name();
        let sql = tally_core::pipeline::compile(&model, d, &req).unwrap().sql;
        assert!(sql.contains("FROM tally_bh__office"), "{name}: {sql}");
        assert!(!sql.contains("VALUES"), "{name}: no constant rows");
    }
}

/// A deadline (`after:`) is a time dimension compiled for every dialect; its mistakes are E0808
/// with their span: both `end` and `after`, neither, a negative `after`, a `business_day` unit,
/// `open_end` on a deadline.
#[test]
fn deadlines_compile_everywhere_and_their_mistakes_are_coded() {
    let dir = tempfile::tempdir().unwrap();
    let good = models("09:00-17:00").replace(
        "    measures:\n",
        "      - {name: due_at, start: created_at, after: 4, unit: hour, calendar: by_team}\n    measures:\n",
    );
    let model = load_yml(dir.path(), &good);
    let sm = model
        .semantic_models
        .iter()
        .find(|m| m.name == "tickets")
        .unwrap();
    assert!(sm.dimension("due_at").unwrap().is_time());
    for d in dialect::Dialect::ALL {
        let req =
            QueryRequest::of::<&str, &str, &str>(&["ticket_count"], &["ticket__due_at__day"], &[]);
        let sql = tally_core::pipeline::compile(&model, d, &req)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {}",
                    d.name(),
                    tally_core::diag::render_human(&model.sources, &e, false)
                )
            })
            .sql;
        assert!(sql.contains("tally_bh2d"), "{}: the range join", d.name());
        assert!(!sql.to_ascii_lowercase().contains("timezone"));
    }
    let cases = [
        (
            "{name: x, start: created_at, end: replied_at, after: 5, calendar: office}",
            "has both `end` and `after`",
        ),
        (
            "{name: x, start: created_at, calendar: office}",
            "has neither `end` nor `after`",
        ),
        (
            "{name: x, start: created_at, after: -5, calendar: office}",
            "`after: -5` is not a business time to add",
        ),
        (
            "{name: x, start: created_at, after: 2, unit: business_day, calendar: office}",
            "unknown unit `business_day` for a deadline",
        ),
        (
            "{name: x, start: created_at, after: 2, open_end: as_of, calendar: office}",
            "`open_end` is for durations",
        ),
    ];
    for (entry, message) in cases {
        let bad = good.replace(
            "    measures:\n",
            &format!("      - {entry}\n    measures:\n"),
        );
        std::fs::write(dir.path().join("models/m.yml"), &bad).unwrap();
        let (_, diags) = tally_core::pipeline::load_model(
            dir.path(),
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        // (The model's durations are left out with the broken entry, so the metric filtering
        // on one may be reported too.)
        let errors: Vec<_> = diags.iter().filter(|d| d.code == "E0808").collect();
        assert_eq!(errors.len(), 1, "{entry}: {diags:?}");
        assert!(
            errors[0].message.contains(message),
            "{entry}: {}",
            errors[0].message
        );
    }
}

/// A query that reads business durations has one range check per model read (one aggregate over
/// the model's own relation, no clock), a query without durations none; both checks, and the
/// staleness check of the project's clocks, parse back in every dialect.
#[test]
fn range_checks_and_the_staleness_check_parse_back_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "09:00-17:00");
    let cals = &model.calendars;
    let clocks: Vec<_> = cals
        .calendars
        .keys()
        .filter_map(|n| cals.schedule(n))
        .map(tally_core::calendar::clock::expand)
        .collect();
    assert_eq!(clocks.len(), 1, "the selector stands for `office`");
    let reads =
        QueryRequest::of::<&str, &str, &str>(&["sla_tickets"], &["metric_time__month"], &[]);
    let plain = QueryRequest::of::<&str, &str, &str>(&["ticket_count"], &[], &[]);
    for d in dialect::Dialect::ALL {
        let name = d.name();
        let query = tally_core::pipeline::compile(&model, d, &reads)
            .unwrap()
            .plan
            .query;
        let checks = tally_core::sql::range_check::range_checks(&model, &query, d).unwrap();
        assert_eq!(checks.len(), 1, "{name}");
        let sql = &checks[0].sql;
        assert!(!sql.contains("tally_bh"), "{name}: no clock in\n{sql}");
        assert!(
            sql.contains("FROM shop.tickets AS tally_base"),
            "{name}: {sql}"
        );
        assert!(
            sql.contains("NOT BETWEEN DATE '2026-01-01' AND DATE '2026-12-31'"),
            "{name}: {sql}"
        );
        tally_core::sql::parse_back(d, sql).unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        let query = tally_core::pipeline::compile(&model, d, &plain)
            .unwrap()
            .plan
            .query;
        assert!(
            tally_core::sql::range_check::range_checks(&model, &query, d)
                .unwrap()
                .is_empty(),
            "{name}: no check without a duration"
        );
        // Cached (the relation with durations made a table), the check reads that table's
        // columns of each duration's calendar and timestamps.
        let mut sm = model.semantic_models[0].clone();
        sm.business
            .as_mut()
            .unwrap()
            .set_relation(tally_core::model::Relation::Table(
                "tally_cache.main.t".into(),
            ));
        let text = tally_core::model::business_range::range_check_sql(&sm, cals).unwrap();
        assert!(
            text.contains("SELECT tally_bd1_c AS tally_c0, tally_bd1_s AS tally_t0_0, tally_bd1_e AS tally_t0_1 FROM tally_cache.main.t AS tally_base"),
            "{text}"
        );
        let check = d.clock_check_query(&clocks);
        assert!(check.contains("tally_bh__office"), "{name}: {check}");
        tally_core::sql::parse_back(d, &check).unwrap_or_else(|e| panic!("{name}: {e}\n{check}"));
    }
}

/// A calendar's name is an identifier (it names the relation `tally_bh__<calendar>`): E0102.
#[test]
fn a_calendar_name_that_is_not_an_identifier_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("tally.yml"), TALLY_YML).unwrap();
    std::fs::write(
        dir.path().join("models/m.yml"),
        models("09:00-17:00")
            .replace("- name: office", "- name: \"it's office\"")
            .replace(
                "map: {\"1\": office}\n    default: office",
                "map: {\"1\": \"it's office\"}\n    default: \"it's office\"",
            ),
    )
    .unwrap();
    let (_, diags) = tally_core::pipeline::load_model(
        dir.path(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    assert!(
        diags
            .iter()
            .any(|d| d.code == "E0102" && d.message.contains("it's office")),
        "{diags:?}"
    );
}

/// A query computes only the business durations it reads: their clock lookups, and a deadline's
/// range join only when the deadline is read. Which ones is decided by the plan, the same for
/// every dialect.
#[test]
fn a_query_computes_only_the_durations_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let two = models("09:00-17:00").replace(
        "    measures:\n",
        "      - {name: due_at, start: created_at, after: 4, unit: hour, calendar: by_team}\n    measures:\n",
    );
    let model = load_yml(dir.path(), &two);
    // (metric, group by, durations read, SQL that must be there, SQL that must not)
    let cases: [(&str, &str, &[usize], &[&str], &[&str]); 3] = [
        (
            "response_time_business_median",
            "metric_time__month",
            &[0],
            &["tally_bh1s", "tally_bh1e", " AS response_minutes"],
            &["tally_bh2", "tally_bd2", "AS due_at", "cum_s <"],
        ),
        (
            "ticket_count",
            "ticket__due_at__day",
            &[1],
            &["tally_bh2s", "tally_bh2d", "cum_s <", "AS due_at"],
            &["tally_bh1", "tally_bd1", "AS response_minutes"],
        ),
        (
            "sla_tickets",
            "ticket__due_at__day",
            &[0, 1],
            &["tally_bh1s", "tally_bh1e", "tally_bh2s", "tally_bh2d"],
            &[],
        ),
    ];
    for (metric, by, read, there, not_there) in cases {
        let req = QueryRequest::of::<&str, &str, &str>(&[metric], &[by], &[]);
        let mut plans = Vec::new();
        for d in dialect::Dialect::ALL {
            let compiled = tally_core::pipeline::compile(&model, d, &req)
                .unwrap_or_else(|e| panic!("{} {metric}: {e:?}", d.name()));
            for s in there {
                assert!(
                    compiled.sql.contains(s),
                    "{} {metric}: `{s}` in\n{}",
                    d.name(),
                    compiled.sql
                );
            }
            for s in not_there {
                assert!(
                    !compiled.sql.contains(s),
                    "{} {metric}: `{s}` in\n{}",
                    d.name(),
                    compiled.sql
                );
            }
            let lookups = compiled.sql.matches("LEFT JOIN tally_bh AS").count()
                + compiled.sql.matches("FROM tally_bh AS tally_r").count();
            // Two lookups per duration; a deadline's one lookup and its range join (over the
            // clock's open days listed by bucket).
            assert_eq!(lookups, 2 * read.len(), "{} {metric}", d.name());
            plans.push(serde_json::to_string(&compiled.plan).unwrap());
        }
        assert!(plans.windows(2).all(|w| w[0] == w[1]), "{metric}: one plan");
        let durations = format!(
            "\"durations\":[{}]",
            read.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(plans[0].contains(&durations), "{metric}: {}", plans[0]);
    }
}

/// A query's relation reads the clocks of the calendars of the durations it reads and no other,
/// for every dialect: self-contained SQL inlines the rows of those calendars only, and the inline
/// limit counts those rows (a query of the small calendar's duration is self-contained although
/// the model's calendars together are past the limit).
#[test]
fn a_query_reads_only_the_clocks_of_the_durations_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let yml = models("09:00-17:00")
        .replace(
            "  - name: by_team\n",
            "  - name: night\n    timezone: UTC\n    weekly: {weekdays: [\"22:00-06:00\"]}\n    range: {start: 2026-01-01, end: 2040-12-31}\n  - name: by_team\n",
        )
        .replace(
            "    measures:\n",
            "      - {name: night_minutes, start: created_at, end: replied_at, calendar: night}\n    measures:\n      - {name: night_minutes_max, agg: max, expr: night_minutes}\n",
        )
        + "  - name: night_time_max\n    label: Longest night response\n    type: simple\n    type_params: {measure: night_minutes_max}\n";
    let model = load_yml(dir.path(), &yml);
    let compile = |d: dialect::Dialect, metrics: &[&str]| {
        let req = QueryRequest::of::<&str, &str, &str>(metrics, &["metric_time__month"], &[]);
        tally_core::pipeline::compile(&model, d, &req)
            .unwrap_or_else(|e| panic!("{}: {e:?}", d.name()))
            .sql
    };
    for d in dialect::Dialect::ALL {
        let name = d.name();
        // `by_team` selects `office` only: 365 rows, inlined.
        let office = compile(d, &["response_time_business_median"]);
        assert!(!office.contains("tally_bh__"), "{name}: {office}");
        assert!(!office.contains("night"), "{name}: no row of `night`");
        assert!(
            office.contains("2026-01-01"),
            "{name}: the rows of `office`"
        );
        // `night`: 5,479 rows, past the limit, read from its relation only.
        let night = compile(d, &["night_time_max"]);
        assert!(night.contains("FROM tally_bh__night"), "{name}: {night}");
        assert!(!night.contains("office"), "{name}: no clock of `office`");
        assert!(!night.contains("VALUES"), "{name}: no constant rows");
        // Both: 5,844 rows, both relations.
        let both = compile(d, &["response_time_business_median", "night_time_max"]);
        assert!(both.contains("FROM tally_bh__night"), "{name}: {both}");
        assert!(both.contains("FROM tally_bh__office"), "{name}: {both}");
    }
}

/// A business clock is expanded only when something reads its rows: loading the project and
/// compiling a query that reads no business duration expand none; a query that reads one expands
/// the clocks of its calendar, once, shared by every semantic model whose durations use it.
#[test]
fn clocks_are_expanded_only_when_a_query_reads_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    // No metric reads a duration (validation plans every metric), and two models use `office`.
    let yml = models("09:00-17:00");
    let yml = &yml[..yml.find("metrics:\n").unwrap()];
    let yml = format!(
        "{yml}  - name: replies\n    node_relation: {{alias: replies, schema_name: shop}}\n    defaults: {{agg_time_dimension: sent_at}}\n    entities:\n      - {{name: reply, type: primary, expr: id}}\n    dimensions:\n      - {{name: sent_at, type: time, type_params: {{time_granularity: day}}}}\n    business_durations:\n      - {{name: reply_minutes, start: sent_at, end: read_at, calendar: office}}\n    measures:\n      - {{name: reply_count, agg: count, expr: id}}\nmetrics:\n  - name: ticket_count\n    label: Tickets\n    type: simple\n    type_params: {{measure: tickets}}\n"
    );
    let model = load_yml(dir.path(), &yml);
    let wrapped = |name: &str| {
        model
            .semantic_models
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.business.as_ref())
            .unwrap()
    };
    let (tickets, replies) = (wrapped("tickets"), wrapped("replies"));
    assert!(!tickets.is_expanded() && !replies.is_expanded(), "loaded");
    let compile = |d: dialect::Dialect, group_by: &[&str]| {
        let req = QueryRequest::of::<&str, &str, &str>(&["ticket_count"], group_by, &[]);
        tally_core::pipeline::compile(&model, d, &req)
            .unwrap_or_else(|e| panic!("{}: {e:?}", d.name()))
            .sql
    };
    for d in dialect::Dialect::ALL {
        let sql = compile(d, &["metric_time__month", "ticket__team_id"]);
        assert!(!sql.contains("tally_bh"), "{}: {sql}", d.name());
    }
    assert!(
        !tickets.is_expanded() && !replies.is_expanded(),
        "no duration read"
    );
    let sql = compile(dialect::Dialect::DuckDb, &["ticket__response_minutes"]);
    assert!(sql.contains("2026-01-01"), "the rows of `office`: {sql}");
    assert!(tickets.is_expanded() && replies.is_expanded(), "read");
    // One clock, shared.
    assert!(std::sync::Arc::ptr_eq(
        &tickets.clocks()[0],
        &replies.clocks()[0]
    ));
    assert_eq!(tickets.clocks().len(), 1);
}
