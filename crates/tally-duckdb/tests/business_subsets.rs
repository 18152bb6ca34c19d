//! A relation with some of a model's business durations (what a query that reads only those
//! scans, `Wrapped::relation_of`) against the relation with all of them, on generated data: the
//! same rows, and the same values in every column it has (the model's columns, each duration's
//! inputs and the durations themselves), reading the clocks of the calendars of its durations
//! and no other. Every set of one or two durations of the Intercom project's models and a few
//! larger ones drawn at random (seeded).

use tally_core::dialect::Dialect::DuckDb;
use tally_core::model::Model;
use tally_core::pipeline::ClockForm;
use tally_duckdb::engine;

mod common;

/// The relation of semantic model `index` with the durations `durations`, rendered for the
/// local DuckDB (the clock read from its temporary tables, created here).
fn relation(conn: &duckdb::Connection, model: &Model, index: usize, durations: &[usize]) -> String {
    let sql = tally_core::sql::user::render_relation(
        model,
        index,
        Some(durations),
        DuckDb,
        ClockForm::Relation,
    )
    .expect("a sql: relation")
    .expect("renders");
    tally_duckdb::clock::install_read(conn, model, &sql).expect("clocks");
    sql.to_string()
}

/// The sets of durations compared, out of `n`: every set of one or two, and `extra` more drawn
/// with a fixed seed (a 64-bit LCG), at least three large when there are enough durations.
fn subsets(n: usize, extra: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for i in 0..n {
        for j in i + 1..n {
            out.push(vec![i, j]);
        }
    }
    let mut state: u64 = 0x5eed_0fd0_1a71_0500;
    for _ in 0..extra {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let mask = (state >> 33) as usize % (1 << n);
        let set: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
        if set.len() > 2 && !out.contains(&set) {
            out.push(set);
        }
    }
    out
}

#[test]
fn a_relation_with_some_durations_agrees_with_the_one_with_all() {
    let model = common::load_valid(&common::repository());
    let conn = engine::open(None).unwrap();
    common::generate(&conn, 1_000, 23);
    let mut compared = Vec::new();
    let mut fewer_clocks = 0;
    for (index, sm) in model.semantic_models.iter().enumerate() {
        let Some(b) = &sm.business else {
            continue;
        };
        let all = b.all();
        let full = relation(&conn, &model, index, &all);
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE tally_test_full AS {full}"
        ))
        .unwrap();
        let rows = engine::run(&conn, "SELECT count(*) FROM tally_test_full").unwrap();
        assert!(
            !matches!(rows.rows[0][0], engine::Value::Int(0)),
            "{}: no rows",
            sm.name
        );
        for set in subsets(all.len(), 24) {
            let sub = relation(&conn, &model, index, &set);
            // Its clock: the calendars of the set's durations (every schedule of a calendar
            // chosen by a column), no other.
            let mut want: Vec<&str> = set
                .iter()
                .flat_map(|&i| model.calendars.schedules_of(&b.calendars[i]))
                .map(|s| s.name.as_str())
                .collect();
            want.sort();
            want.dedup();
            let mut read: Vec<&str> =
                tally_duckdb::clock::read_by(tally_duckdb::clock::relation_clocks(&model), &sub)
                    .into_iter()
                    .map(|c| c.calendar.as_str())
                    .collect();
            read.sort();
            assert_eq!(read, want, "{} {set:?}: the clocks read", sm.name);
            if read.len() < b.clocks().len() {
                fewer_clocks += 1;
            }
            // Only the durations of the set are computed.
            for (i, name) in b.columns.iter().enumerate() {
                assert_eq!(
                    sub.contains(&format!(" AS {name},")) || sub.contains(&format!(" AS {name}\n")),
                    set.contains(&i),
                    "{} {set:?}: `{name}` in\n{sub}",
                    sm.name
                );
            }
            let columns = engine::run(&conn, &format!("SELECT * FROM ({sub}) LIMIT 0"))
                .unwrap()
                .columns;
            let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
            let cols = cols.join(", ");
            // Both ways, with duplicates (EXCEPT ALL compares NULLs as equal).
            let differ = format!(
                "SELECT (SELECT count(*) FROM (SELECT {cols} FROM tally_test_full EXCEPT ALL SELECT {cols} FROM ({sub}))), \
                 (SELECT count(*) FROM (SELECT {cols} FROM ({sub}) EXCEPT ALL SELECT {cols} FROM tally_test_full)), \
                 (SELECT count(*) FROM ({sub})) - (SELECT count(*) FROM tally_test_full)"
            );
            let got = engine::run(&conn, &differ).unwrap();
            assert_eq!(
                got.rows[0],
                vec![engine::Value::Int(0); 3],
                "{} {set:?}: rows only in the full relation, only in the subset's, count difference",
                sm.name
            );
            compared.push(format!("{} {set:?}", sm.name));
        }
    }
    // `conversations` has six durations (6 + 15 sets of one or two, and larger ones);
    // `conversation_replies` one.
    assert!(
        compared
            .iter()
            .filter(|c| c.starts_with("conversations "))
            .count()
            > 21,
        "{compared:?}"
    );
    assert!(
        compared
            .iter()
            .any(|c| c.starts_with("conversations [") && c.matches(',').count() >= 2),
        "{compared:?}"
    );
    assert!(compared
        .iter()
        .any(|c| c.starts_with("conversation_replies ")));
    // `conversations`' sets without `first_response_team_business_minutes` read one calendar of
    // its five.
    assert!(fewer_clocks > 10, "{fewer_clocks}");
}
