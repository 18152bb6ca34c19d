//! The materialisation cache (`tally_duckdb::cache`) on the repository's Intercom project and
//! generated data in a temporary database file: every metric gives the same rows with and without
//! the cache, and entries are rebuilt when a source table, a model's SQL or a var changes.

use std::collections::BTreeSet;
use std::path::Path;

use tally_core::dialect::Dialect::DuckDb;
use tally_core::model::{Model, Relation};
use tally_core::pipeline::ClockForm;
use tally_core::plan::QueryRequest;
use tally_duckdb::cache::{self, Mode, Outcome, Status};
use tally_duckdb::engine::{self, ResultTable};

mod common;
use common::repository;

fn load_from(root: &Path) -> Model {
    common::load_valid(root)
}

fn load_project() -> Model {
    load_from(&repository())
}

/// The repository's project files (tally.yml, models, metrics, templates) copied into `to`.
fn copy_project(to: &Path) {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let root = repository();
    std::fs::copy(root.join("tally.yml"), to.join("tally.yml")).unwrap();
    for d in ["models", "metrics", "templates"] {
        copy_dir(&root.join(d), &to.join(d));
    }
}

/// A database file with 1,000 generated conversations, in `dir`.
fn database(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("support.duckdb");
    let conn = engine::open(Some(&path)).expect("create the database");
    common::generate(&conn, 1_000, 7);
    drop(conn);
    path
}

fn request(metric: &str) -> QueryRequest {
    QueryRequest::of(&[metric], &["metric_time__month"], &[] as &[&str])
}

fn sorted(mut t: ResultTable) -> ResultTable {
    t.rows
        .sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    t
}

/// Run a metric by month through the cache session (as `tally query` does: compile with the
/// business clocks read from temporary tables, cache the relations the plan reads, compile
/// again, create the clocks the SQL still reads).
fn run_cached(
    conn: &duckdb::Connection,
    session: &mut cache::Session,
    model: &mut Model,
    metric: &str,
) -> ResultTable {
    let local = |model: &Model| {
        tally_core::pipeline::compile_with(model, DuckDb, ClockForm::Relation, &request(metric))
            .expect("compiles")
    };
    let compiled = local(model);
    let used = cache::relations_read(&compiled.plan);
    let sql = if session.prepare(conn, model, &used) {
        local(model).sql
    } else {
        compiled.sql
    };
    // The result kept by an earlier run, else the query (its result kept), as `tally query`.
    let table = session
        .run_query(conn, model, metric, &sql)
        .unwrap_or_else(|e| panic!("{metric}: {e:?}"));
    sorted(table)
}

fn result_events(session: &cache::Session) -> Vec<Outcome> {
    session.results.iter().map(|r| r.outcome.clone()).collect()
}

fn run_plain(conn: &duckdb::Connection, model: &Model, metric: &str) -> ResultTable {
    let sql = tally_core::pipeline::compile(model, DuckDb, &request(metric))
        .expect("compiles")
        .sql;
    sorted(engine::run(conn, &sql).unwrap_or_else(|e| panic!("{metric}: {e}")))
}

#[test]
fn every_metric_gives_the_same_rows_with_and_without_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let plain_model = load_project();
    let plain = engine::open_project_database(&db).unwrap();
    let (conn, mut session) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert!(
        matches!(session.status, Status::Attached(_)),
        "{:?}",
        session.status
    );
    let mut model = load_project();
    let metrics: Vec<String> = plain_model.metrics.keys().cloned().collect();
    assert!(metrics.len() > 40);
    let mut problems = Vec::new();
    for m in &metrics {
        let expected = run_plain(&plain, &plain_model, m);
        // Twice: the first run may build, the second reads.
        for round in 0..2 {
            let got = run_cached(&conn, &mut session, &mut model, m);
            if !common::same_rows(&expected, &got) {
                problems.push(format!("{m} (round {round}): {expected:?} vs {got:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Each metric's result was kept by its first run and read by its second.
    for (i, m) in metrics.iter().enumerate() {
        let pair = &session.results[2 * i..2 * i + 2];
        assert!(
            pair.iter().all(|r| &r.what == m)
                && matches!(pair[0].outcome, Outcome::Built { .. })
                && matches!(pair[1].outcome, Outcome::Hit { .. }),
            "{m}: {pair:?}"
        );
    }
    // Every `sql:` model some metric reads was cached (built once, read after).
    let built: BTreeSet<(&str, bool)> = session
        .events
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Built { .. }))
        .map(|e| (e.model.as_str(), e.business))
        .collect();
    assert!(built.contains(&("conversations", false)), "{built:?}");
    let built_count = session
        .events
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Built { .. }))
        .count();
    assert_eq!(built_count, built.len(), "each relation built once");
    assert!(session
        .events
        .iter()
        .all(|e| !matches!(e.outcome, Outcome::Skipped(_))));
    // The model now reads tables of the cache catalog.
    let conv = model
        .semantic_models
        .iter()
        .find(|s| s.name == "conversations")
        .unwrap();
    assert!(
        matches!(&conv.relation, Relation::Table(t) if t.starts_with("tally_cache.main.m_")),
        "{:?}",
        conv.relation
    );
    // The user's database was not written: it is read-only, the cache is beside it.
    assert!(cache::cache_path(&db).is_file());
    drop(conn);
    let entries = cache::entries(&db).unwrap();
    assert_eq!(entries.len(), built_count);
    assert!(entries.iter().all(|e| e.fresh));
}

fn events_of(session: &cache::Session, model: &str) -> Vec<Outcome> {
    session
        .events
        .iter()
        .filter(|e| e.model == model && !e.business)
        .map(|e| e.outcome.clone())
        .collect()
}

#[test]
fn a_changed_source_table_model_sql_or_var_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let metric = "conversation_volume";
    let first = {
        let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
        let mut model = load_project();
        let rows = run_cached(&conn, &mut s, &mut model, metric);
        assert!(matches!(
            events_of(&s, "conversations")[..],
            [Outcome::Built {
                replaced: false,
                ..
            }]
        ));
        rows
    };
    // Unchanged: a hit, same rows.
    {
        let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
        let mut model = load_project();
        assert!(common::same_rows(
            &first,
            &run_cached(&conn, &mut s, &mut model, metric)
        ));
        assert!(matches!(
            events_of(&s, "conversations")[..],
            [Outcome::Hit { .. }]
        ));
        assert!(matches!(result_events(&s)[..], [Outcome::Hit { .. }]));
    }
    // A source table changes: half of the conversations' rows go.
    {
        let rw = engine::open(Some(&db)).unwrap();
        rw.execute_batch("DELETE FROM intercom.conversation_history WHERE rowid % 2 = 0")
            .unwrap();
    }
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    let mut model = load_project();
    let after = run_cached(&conn, &mut s, &mut model, metric);
    assert!(matches!(
        events_of(&s, "conversations")[..],
        [Outcome::Built { replaced: true, .. }]
    ));
    // The result kept before the change is stale: computed and kept again.
    assert!(
        matches!(result_events(&s)[..], [Outcome::Built { .. }]),
        "{:?}",
        s.results
    );
    // The first write after the change removed what was built against the old state (the old
    // result among them): nothing stale is left.
    assert!(
        matches!(s.pruned, Some((tables, results)) if tables >= 1 && results >= 1),
        "{:?}",
        s.pruned
    );
    drop(conn);
    assert!(cache::entries(&db).unwrap().iter().all(|e| e.fresh));
    let kept = cache::results(&db).unwrap();
    assert_eq!(kept.fresh, kept.count);
    let (conn, s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    let plain = engine::open_project_database(&db).unwrap();
    assert!(common::same_rows(
        &after,
        &run_plain(&plain, &load_project(), metric)
    ));
    assert!(!common::same_rows(&first, &after), "the data changed");

    // A var the model's SQL reads changes: another table, built, with the new var's rows.
    let copy = tempfile::tempdir().unwrap();
    copy_project(copy.path());
    let yml = copy.path().join("tally.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    assert!(text.contains("reopen_window_days: 7"));
    std::fs::write(
        &yml,
        text.replace("reopen_window_days: 7", "reopen_window_days: 1"),
    )
    .unwrap();
    let mut model2 = load_from(copy.path());
    let mut s2 = s;
    s2.events.clear();
    let with_var = run_cached(&conn, &mut s2, &mut model2, "reopen_rate");
    let conv_events = events_of(&s2, "conversations");
    assert!(
        matches!(
            conv_events[..],
            [Outcome::Built {
                replaced: false,
                ..
            }]
        ),
        "{conv_events:?}"
    );
    assert!(common::same_rows(
        &with_var,
        &run_plain(&plain, &load_from(copy.path()), "reopen_rate")
    ));
    assert!(!common::same_rows(
        &with_var,
        &run_plain(&plain, &load_project(), "reopen_rate")
    ));
    // The model's SQL changes: another table again.
    let conv = copy.path().join("models/conversations.yml");
    let text = std::fs::read_to_string(&conv).unwrap();
    let edited = text.replacen("ON a.id = v.admin_id", "ON a.id = v.admin_id AND TRUE", 1);
    assert_ne!(text, edited);
    std::fs::write(&conv, edited).unwrap();
    let mut model3 = load_from(copy.path());
    s2.events.clear();
    run_cached(&conn, &mut s2, &mut model3, "reopen_rate");
    let conv_events = events_of(&s2, "conversations");
    assert!(
        matches!(
            conv_events[..],
            [Outcome::Built {
                replaced: false,
                ..
            }]
        ),
        "{conv_events:?}"
    );
    // SQL that calls a function of chance or of the clock is never cached: neither the
    // relation nor a result that reads it. The rows are still the query's.
    let text = std::fs::read_to_string(&conv).unwrap();
    let edited = text.replacen("AND TRUE", "AND random() < 2", 1);
    assert_ne!(text, edited);
    std::fs::write(&conv, edited).unwrap();
    for _ in 0..2 {
        s2.events.clear();
        s2.results.clear();
        let rows = run_cached(&conn, &mut s2, &mut load_from(copy.path()), "reopen_rate");
        assert!(common::same_rows(&rows, &with_var));
        let conv_events = events_of(&s2, "conversations");
        assert!(
            matches!(&conv_events[..], [Outcome::Skipped(why)] if why.contains("`random`")),
            "{conv_events:?}"
        );
        assert!(
            matches!(&result_events(&s2)[..], [Outcome::Skipped(why)] if why.contains("`random`")),
            "{:?}",
            s2.results
        );
    }
    // Refresh rebuilds what is used even when fresh.
    drop(conn);
    drop(plain);
    let (conn, mut s3) = engine::open_project_database_cached(&db, Mode::Refresh).unwrap();
    let mut model3 = load_project();
    run_cached(&conn, &mut s3, &mut model3, metric);
    assert!(matches!(
        events_of(&s3, "conversations")[..],
        [Outcome::Built { replaced: true, .. }]
    ));
}

/// The relation with business durations reads the clock from its temporary tables, so its SQL
/// text no longer holds the clock's rows: the key holds each calendar's fingerprint, and a changed
/// calendar is another table (not the stale one), with the new calendar's rows.
#[test]
fn a_changed_calendar_is_another_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let metric = "first_response_time_business_median";
    let business_events = |s: &cache::Session| -> Vec<Outcome> {
        s.events
            .iter()
            .filter(|e| e.model == "conversations" && e.business)
            .map(|e| e.outcome.clone())
            .collect()
    };
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    let first = run_cached(&conn, &mut s, &mut load_project(), metric);
    assert!(matches!(
        business_events(&s)[..],
        [Outcome::Built {
            replaced: false,
            ..
        }]
    ));
    s.events.clear();
    assert!(common::same_rows(
        &first,
        &run_cached(&conn, &mut s, &mut load_project(), metric)
    ));
    assert!(matches!(business_events(&s)[..], [Outcome::Hit { .. }]));

    // The workspace's hours change.
    let copy = tempfile::tempdir().unwrap();
    copy_project(copy.path());
    let cals = copy.path().join("models/calendars.yml");
    let text = std::fs::read_to_string(&cals).unwrap();
    let edited = text.replacen(
        "weekly: {weekdays: [\"08:00-20:00\"]}",
        "weekly: {weekdays: [\"09:00-17:00\"]}",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(&cals, edited).unwrap();
    s.events.clear();
    let changed = run_cached(&conn, &mut s, &mut load_from(copy.path()), metric);
    let events = business_events(&s);
    assert!(
        matches!(
            events[..],
            [Outcome::Built {
                replaced: false,
                ..
            }]
        ),
        "{events:?}"
    );
    let plain = engine::open_project_database(&db).unwrap();
    assert!(common::same_rows(
        &changed,
        &run_plain(&plain, &load_from(copy.path()), metric)
    ));
    assert!(
        !common::same_rows(&first, &changed),
        "the hours changed the durations"
    );
    // Both tables stay, each valid for its own calendar.
    s.events.clear();
    assert!(common::same_rows(
        &first,
        &run_cached(&conn, &mut s, &mut load_project(), metric)
    ));
    assert!(matches!(business_events(&s)[..], [Outcome::Hit { .. }]));
}

#[test]
fn off_attaches_nothing_and_a_foreign_cache_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (_conn, s) = engine::open_project_database_cached(&db, Mode::Off).unwrap();
    assert_eq!(s.status, Status::Off);
    assert!(!cache::cache_path(&db).exists());
    // A file that is not a DuckDB database where the cache would be: not touched, not used.
    std::fs::write(cache::cache_path(&db), "my notes").unwrap();
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert!(matches!(s.status, Status::Unavailable(_)), "{:?}", s.status);
    let mut model = load_project();
    let rows = run_cached(&conn, &mut s, &mut model, "conversation_volume");
    assert!(!rows.rows.is_empty());
    assert_eq!(
        std::fs::read_to_string(cache::cache_path(&db)).unwrap(),
        "my notes"
    );
    assert!(cache::clear(&db).is_err());
}

#[test]
fn a_duckdb_database_that_is_not_the_cache_is_never_written_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let path = cache::cache_path(&db);
    {
        let other = tally_duckdb::duckdb::Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TABLE notes AS SELECT 'keep me' AS note")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    match &s.status {
        Status::Unavailable(why) => assert!(why.contains("not tally's cache"), "{why}"),
        other => panic!("{other:?}"),
    }
    let rows = run_cached(&conn, &mut s, &mut load_project(), "conversation_volume");
    assert!(!rows.rows.is_empty());
    drop(conn);
    let err = cache::clear(&db).unwrap_err();
    assert!(err.contains("left alone"), "{err}");
    assert!(cache::entries(&db)
        .unwrap_err()
        .contains("not tally's cache"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let other = tally_duckdb::duckdb::Connection::open(&path).unwrap();
    let tables: Vec<String> = other
        .prepare("SELECT table_name FROM duckdb_tables() ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["notes"]);
}

#[test]
fn the_sealed_connection_still_reads_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (conn, s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert!(s.attached());
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    let err = engine::run(
        &conn,
        &format!("SELECT * FROM read_csv('{}')", csv.display()),
    );
    assert!(err.is_err());
    assert!(conn.execute_batch("ATTACH ':memory:' AS other").is_err());
}

/// Queries read only the business durations they project (uncached, the relation computes only
/// those), while the cache stores the relation with every duration of the model: two queries
/// reading different durations get the rows they get without the cache, the first building the
/// table and the second reading it.
#[test]
fn queries_reading_different_durations_share_one_table_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let plain_model = load_project();
    let plain = engine::open_project_database(&db).unwrap();
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    let mut model = load_project();
    let conversations = model
        .semantic_models
        .iter()
        .position(|m| m.name == "conversations")
        .unwrap();
    let columns = model.semantic_models[conversations]
        .business
        .as_ref()
        .unwrap()
        .columns
        .clone();
    // (metric, the durations of `conversations` its query reads)
    let cases = [
        (
            "first_response_time_business_median",
            vec!["first_response_business_minutes"],
        ),
        (
            "time_to_last_close_business_median",
            vec!["last_close_business_hours"],
        ),
        (
            "first_response_sla_breaches",
            vec![
                "first_response_due_at",
                "first_response_sla_business_minutes",
            ],
        ),
    ];
    for (i, (metric, read)) in cases.iter().enumerate() {
        // Uncached: the scan computes those durations and no other.
        let compiled = tally_core::pipeline::compile_with(
            &plain_model,
            DuckDb,
            ClockForm::Relation,
            &request(metric),
        )
        .unwrap();
        let expected: Vec<usize> = read
            .iter()
            .map(|r| columns.iter().position(|c| c == r).unwrap())
            .collect();
        let scans = scanned_durations(&compiled.plan.query, conversations);
        assert_eq!(scans, vec![expected], "{metric}");
        for c in &columns {
            let alias = format!(" AS {c}");
            let computed = compiled.sql.match_indices(&alias).any(|(at, _)| {
                !compiled.sql[at + alias.len()..]
                    .starts_with(|x: char| x.is_ascii_alphanumeric() || x == '_')
            });
            assert_eq!(computed, read.contains(&c.as_str()), "{metric}: `{c}`");
        }
        s.events.clear();
        let got = run_cached(&conn, &mut s, &mut model, metric);
        assert!(
            common::same_rows(&run_plain(&plain, &plain_model, metric), &got),
            "{metric}"
        );
        let business: Vec<&Outcome> = s
            .events
            .iter()
            .filter(|e| e.model == "conversations" && e.business)
            .map(|e| &e.outcome)
            .collect();
        match i {
            0 => assert!(
                matches!(business[..], [Outcome::Built { .. }]),
                "{business:?}"
            ),
            // The table of the first query serves the others: no event, the model reads it.
            _ => assert!(business.is_empty(), "{metric}: {business:?}"),
        }
    }
    // One table of `conversations` with business durations, holding every duration.
    drop(conn);
    let entries = cache::entries(&db).unwrap();
    let tables: Vec<_> = entries
        .iter()
        .filter(|e| e.model == "conversations" && e.business)
        .collect();
    assert_eq!(tables.len(), 1, "{entries:?}");
    // A new process (a fresh model) reading another duration hits that table.
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    let metric = "time_to_first_close_business_median";
    let got = run_cached(&conn, &mut s, &mut load_project(), metric);
    assert!(common::same_rows(
        &run_plain(&plain, &plain_model, metric),
        &got
    ));
    assert!(
        s.events
            .iter()
            .any(|e| e.business && matches!(e.outcome, Outcome::Hit { .. })),
        "{:?}",
        s.events
    );
}

/// The durations each scan of semantic model `sm` in `q` computes (one list per scan).
fn scanned_durations(q: &tally_core::sql::Query, sm: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for c in &q.ctes {
        if let Some(tally_core::sql::TableRef::Subquery {
            model,
            business: true,
            durations,
            ..
        }) = &c.select.from
        {
            if *model == sm {
                out.push(durations.clone());
            }
        }
    }
    out
}

/// Kept results come back exactly as the query gave them (rows in the query's order, the same
/// values and column names); SQL whose answer changes while the data does not (the clock,
/// chance) and results over the size limit are returned but never kept; a change of the
/// database makes every kept result stale.
#[test]
fn query_results_are_kept_in_order_and_only_when_stable() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let plain = engine::open_project_database(&db).unwrap();
    let ordered = "SELECT hash(id) % 7 AS k, count(*) AS n, min(created_at) AS first, \
                   avg(length(id)) / 3 AS ratio \
                   FROM intercom.conversation_history GROUP BY 1 ORDER BY n DESC, k";
    let expected = engine::run(&plain, ordered).unwrap();
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert!(s.stored_result(&conn, "q", ordered).is_none());
    assert_eq!(s.query(&conn, "q", ordered).unwrap(), expected);
    assert_eq!(s.query(&conn, "q", ordered).unwrap(), expected);
    assert!(matches!(
        result_events(&s)[..],
        [
            Outcome::Built {
                rows: 7,
                replaced: false,
                ..
            },
            Outcome::Hit { rows: 7 }
        ]
    ));
    // Another process later: still a hit, still the same table.
    drop(conn);
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert_eq!(s.stored_result(&conn, "q", ordered), Some(expected.clone()));

    s.results.clear();
    for sql in [
        "SELECT count(*) AS n FROM intercom.conversation_history WHERE created_at < now()",
        "SELECT random() < 2 AS r",
    ] {
        if let Err(e) = engine::run(&plain, sql) {
            panic!("{sql}: {e}");
        }
        for _ in 0..2 {
            s.query(&conn, "clock", sql).unwrap();
        }
    }
    let outcomes = result_events(&s);
    assert_eq!(outcomes.len(), 4);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Skipped(why) if why.contains("changes while the data does not"))),
        "{outcomes:?}"
    );

    s.results.clear();
    let big = format!(
        "SELECT range AS i FROM range({}) ORDER BY i",
        cache::RESULT_ROWS_MAX + 1
    );
    for _ in 0..2 {
        let t = s.query(&conn, "big", &big).unwrap();
        assert_eq!(t.rows.len() as u64, cache::RESULT_ROWS_MAX + 1);
    }
    assert!(
        result_events(&s)
            .iter()
            .all(|o| matches!(o, Outcome::Skipped(why) if why.contains("more than"))),
        "{:?}",
        s.results
    );
    // A query that fails gives its own error, and nothing is kept.
    let bad = "SELECT no_such_column FROM intercom.conversation_history";
    let plain_err = engine::run(&plain, bad).unwrap_err().to_string();
    assert_eq!(
        s.query(&conn, "bad", bad).unwrap_err().to_string(),
        plain_err
    );
    assert!(s.stored_result(&conn, "bad", bad).is_none());
    drop(conn);
    drop(plain);
    assert_eq!(cache::results(&db).unwrap().count, 1);

    // The database changes: the kept result is stale and is computed again.
    {
        let rw = engine::open(Some(&db)).unwrap();
        rw.execute_batch("DELETE FROM intercom.conversation_history WHERE hash(id) % 7 = 0")
            .unwrap();
    }
    assert_eq!(cache::results(&db).unwrap().fresh, 0);
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::On).unwrap();
    assert!(s.stored_result(&conn, "q", ordered).is_none());
    let after = s.query(&conn, "q", ordered).unwrap();
    assert_ne!(after, expected);
    assert_eq!(
        after,
        engine::run(&engine::open_project_database(&db).unwrap(), ordered).unwrap()
    );
    // Off: neither read nor kept.
    drop(conn);
    let (conn, mut s) = engine::open_project_database_cached(&db, Mode::Off).unwrap();
    assert!(s.stored_result(&conn, "q", ordered).is_none());
    s.query(&conn, "q", ordered).unwrap();
    assert!(s.results.is_empty());
}
