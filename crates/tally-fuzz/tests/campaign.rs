//! The fuzzing campaign in the test suite: a short deterministic in-process run, a few inputs
//! through the `tally` binary (aborts, exit codes, the database unchanged), and the inputs that
//! once crashed or hung tally, kept as regression tests.

use std::path::PathBuf;
use std::time::Duration;
use tally_fuzz::{campaign, mutate, rng::Rng, run, seeds, subprocess, Config, Input, Query};

fn show(findings: &[tally_fuzz::Finding]) -> String {
    findings
        .iter()
        .take(3)
        .map(|f| format!("{}: {}\n{}", f.kind, f.detail, f.input.to_text()))
        .collect::<Vec<_>>()
        .join("\n=====\n")
}

#[test]
fn short_campaign_finds_nothing() {
    let corpus = seeds::all();
    assert!(corpus.len() >= 4, "seeds: {}", corpus.len());
    let cfg = Config {
        seed: 2026,
        max_execs: 2_000,
        max_time: Duration::from_secs(300),
        time_limit: Duration::from_secs(20),
    };
    let report = campaign(&corpus, &cfg, |_| {});
    assert_eq!(report.executions, 2_000);
    // The mutations reach past the loader: some inputs still compile a query.
    assert!(report.compiled > 0, "{report:?}");
    assert!(report.findings.is_empty(), "{}", show(&report.findings));
}

#[test]
fn campaigns_are_deterministic() {
    let corpus = seeds::all();
    let texts = |seed| {
        let mut rng = Rng::new(seed);
        (0..20)
            .map(|_| {
                let s = &corpus[rng.below(corpus.len())];
                mutate::mutate(s, &corpus, &mut rng).to_text()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(5), texts(5));
    assert_ne!(texts(5), texts(6));
}

/// The `tally` binary beside this test's executable (target/release/deps/..).
fn tally_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join(format!("tally{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn subprocess_runs_abort_nothing_and_leave_the_database_unchanged() {
    let tally = tally_bin();
    assert!(
        tally.is_file(),
        "build the workspace first: {}",
        tally.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.duckdb");
    let limits = subprocess::Limits::default();
    let gen = subprocess::run_tally(
        &tally,
        &[
            "sample-data".into(),
            "intercom".into(),
            "--conversations".into(),
            "1000".into(),
            "--duckdb".into(),
            db.to_string_lossy().into_owned(),
        ],
        &limits,
    )
    .unwrap();
    assert_eq!(gen.code, Some(0), "{}", gen.stderr);
    let before = std::fs::read(&db).unwrap();
    let corpus = seeds::all();
    let mut rng = Rng::new(77);
    let mut findings = Vec::new();
    for _ in 0..24 {
        let seed = &corpus[rng.below(corpus.len())];
        let input = mutate::mutate(seed, &corpus, &mut rng);
        for p in subprocess::check_input(&tally, &input, Some(&db), &limits) {
            findings.push(format!("{p:?}\n{}", input.to_text()));
        }
    }
    assert!(
        findings.is_empty(),
        "{}",
        findings[..findings.len().min(3)].join("\n====\n")
    );
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the database changed"
    );
}

fn project(files: &[(&str, &str)]) -> Input {
    Input {
        config: None,
        files: files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        query: Query {
            metrics: vec!["m".into()],
            dialect: "duckdb".into(),
            ..Query::default()
        },
    }
}

/// Inputs that crashed, hung or slipped through before, each a regression test.
#[test]
fn former_crashes_stay_fixed() {
    let deep_list = format!("{}x\n", "- ".repeat(10_000));
    let mut deep_map = String::new();
    for d in 0..6_000 {
        deep_map.push_str(&" ".repeat(d));
        deep_map.push_str("a:\n");
    }
    let model = "semantic_models:\n  - name: s\n    node_relation: {schema_name: x, alias: t}\n    defaults: {agg_time_dimension: ds}\n    entities: [{name: e, type: primary}]\n    dimensions: [{name: ds, type: time, type_params: {time_granularity: day}}]\n    measures: [{name: n, agg: sum, expr: '1'}]\n";
    let metric = "metrics:\n  - name: m\n    type: simple\n    type_params: {measure: n}\n";
    let cases: Vec<(&str, Input)> = vec![
        ("deep block list", project(&[("a.yml", &deep_list)])),
        ("deep block mapping", project(&[("a.yml", &deep_map)])),
        (
            "jinja loops in sql",
            project(&[(
                "a.yml",
                &format!(
                    "{}{metric}",
                    model.replace(
                        "node_relation: {schema_name: x, alias: t}",
                        "sql: \"{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}\"",
                    )
                ),
            )]),
        ),
        (
            "unbalanced filter",
            project(&[(
                "a.yml",
                &format!("{model}metrics:\n  - name: m\n    type: simple\n    type_params: {{measure: n}}\n    filter: \"{{{{ Dimension('e__ds') }}}} = (1\"\n"),
            )]),
        ),
        (
            "star expr",
            project(&[("a.yml", &model.replace("expr: '1'", "expr: '*'"))]),
        ),
    ];
    // Found by the campaign: a metric test querying metric_time alone needs a time spine; the
    // error had no location.
    let spine_test = "metric_tests:\n  - name: t\n    given: [{table: x.t, rows: [{ds: 2026-01-01}]}]\n    query: {group_by: [metric_time__month]}\n    expect: {rows: []}\n";
    let cases: Vec<(&str, Input)> = cases
        .into_iter()
        .chain([
            (
                "metric test needing a time spine",
                project(&[("a.yml", &format!("{model}{metric}")), ("t.yml", spine_test)]),
            ),
            (
                "a filter breaking out of its parentheses",
                Input {
                    query: Query {
                        metrics: vec!["m".into()],
                        where_: vec!["1 = 1) OR (1 = 1".into()],
                        dialect: "duckdb".into(),
                        ..Query::default()
                    },
                    ..project(&[("a.yml", &format!("{model}{metric}"))])
                },
            ),
            (
                "a byte order mark inside a filter",
                project(&[(
                    "a.yml",
                    &format!("{model}{metric}    filter: \"\u{feff}{{{{ Dimension('e__nope') }}}} = 1\"\n"),
                )]),
            ),
        ])
        .collect();
    run::quiet_panics();
    for (what, input) in cases {
        let out = run::execute(&input, Duration::from_secs(20));
        assert!(out.problems.is_empty(), "{what}: {:?}", out.problems);
        assert!(
            out.rejected || !out.compiled,
            "{what}: should be rejected with a diagnostic"
        );
    }
}
