//! Business durations: tally's compiled SQL on DuckDB against the independent reference.
//!
//! - `sql_matches_reference_on_random_rows`: a project with five calendars (Europe/Dublin with
//!   exceptions, a recurring holiday, a multi-day closure and a schedule change; New York with a
//!   lunch break and a holiday set; Kathmandu's overnight shift across UTC midnight; Lord Howe's
//!   30-minute DST; a New York night shift whose end falls in the spring-forward gap) chosen per
//!   row by a column; 4,000 random spans through the compiled SQL, compared row by row in exact
//!   seconds with the day-walk reference of `tally-core/tests/calendar_reference` (shared by path).
//! - `postgres_sql_matches_reference_on_random_rows`: the same spans through tally's PostgreSQL SQL
//!   on PostgreSQL (`TALLY_POSTGRES`, from `scripts/postgres`), compared with the reference.
//! - `large_clocks_are_relations_created_by_tally`: calendars past the inline limit read from
//!   temporary tables tally creates (and equal to the export's DDL), still equal to the reference.
//! - `edge_cases`: hand-computed spans (Friday 17:59 to Monday 08:01, a holiday on a weekend,
//!   Christmas Eve's custom hours, a multi-day closure, an overnight shift across UTC midnight,
//!   spring-forward and fall-back nights, a schedule change mid-span, end before start, open
//!   spans, outside the range).
//! - `sample_data_reconciles_with_intercom_statistics`: the repository's Intercom project on
//!   generated data: tally's business durations equal the generator's `statistics_time_to_*`
//!   (computed in Rust by the generator's own office-hours walk), and the business-time metrics
//!   answer by team.

#[path = "../../tally-core/tests/calendar_reference/mod.rs"]
mod calendar_reference;
mod common;

use std::path::Path;

use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_duckdb::engine::{self, Value};

const PROJECT: &str = r#"
business_calendars:
  - name: dublin
    timezone: Europe/Dublin
    weekly: {weekdays: ["08:00-18:00"], sat: ["10:00-14:00"]}
    exceptions:
      - {date: 2020-12-25, closed: true, name: Christmas Day, recurring: annually}
      - {date: 2026-12-24, hours: ["09:00-13:00"], name: Christmas Eve}
      - {from: 2026-08-03, to: 2026-08-07, closed: true, name: Offsite}
      - {date: 2026-03-14, closed: true, name: A holiday on a Saturday}
    versions:
      - {effective_from: 2026-04-01, weekly: {weekdays: ["09:00-17:30"], sat: ["10:00-14:00"]}}
    range: {start: 2026-01-01, end: 2026-12-31}
  - name: new_york
    timezone: America/New_York
    weekly: {weekdays: ["09:00-12:00", "13:00-17:00"]}
    include_exceptions: [us_holidays]
    range: {start: 2026-01-01, end: 2026-12-31}
  - name: kathmandu
    timezone: Asia/Kathmandu
    weekly: {weekdays: ["22:00-06:00"]}
    range: {start: 2026-01-01, end: 2026-12-31}
  - name: lord_howe
    timezone: Australia/Lord_Howe
    weekly: {every_day: ["01:00-03:00", "09:00-17:00"]}
    range: {start: 2026-01-01, end: 2026-12-31}
  - name: new_york_night
    timezone: America/New_York
    weekly: {every_day: ["00:30-02:30"]}
    range: {start: 2026-01-01, end: 2026-12-31}
  - name: by_team
    by: team
    map: {d: dublin, n: new_york, k: kathmandu, l: lord_howe, y: new_york_night}
    default: dublin
holiday_sets:
  - name: us_holidays
    exceptions: [{date: 2026-07-03, closed: true, name: Independence Day (observed)}]
semantic_models:
  - name: spans
    node_relation: {alias: spans, schema_name: src}
    entities:
      - {name: span, type: primary, expr: id}
    dimensions:
      - {name: span_id, type: categorical, expr: id}
      - {name: team, type: categorical}
    business_durations:
      - {name: business_seconds, start: started_at, end: ended_at, calendar: by_team, unit: second}
      - {name: new_york_minutes, start: started_at, end: ended_at, calendar: new_york, unit: minute}
      - {name: dublin_age_seconds, start: started_at, end: ended_at, calendar: dublin, unit: second, open_end: as_of}
"#;

const AS_OF: &str = "2026-12-30 00:00:00";

fn load_project(dir: &Path) -> Model {
    load_project_text(dir, PROJECT)
}

fn load_project_text(dir: &Path, project: &str) -> Model {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("tally.yml"),
        format!("name: bh\ndialect: duckdb\nvars:\n  as_of: '{AS_OF}'\n"),
    )
    .unwrap();
    std::fs::write(dir.join("models/spans.yml"), project).unwrap();
    common::load_valid(dir)
}

/// Epoch seconds of a naive UTC timestamp.
fn ts(s: &str) -> i64 {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second()
}

fn fmt(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .datetime()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

struct Row {
    id: String,
    team: Option<&'static str>,
    start: i64,
    end: Option<i64>,
}

/// The business-duration columns checked, in the order of [`Results`].
const COLUMNS: [&str; 3] = ["business_seconds", "new_york_minutes", "dublin_age_seconds"];

/// Per span id: (business_seconds, new_york_minutes, dublin_age_seconds).
type Results = std::collections::BTreeMap<String, [Option<f64>; 3]>;

/// The statements creating and filling `src.spans` (test data only, never users' values).
fn spans_sql(rows: &[Row]) -> Vec<String> {
    let mut out = vec![
        "CREATE SCHEMA src; CREATE TABLE src.spans (id VARCHAR, team VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP);".to_string(),
    ];
    for chunk in rows.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                format!(
                    "('{}', {}, TIMESTAMP '{}', {})",
                    r.id,
                    r.team.map_or("NULL".to_string(), |t| format!("'{t}'")),
                    fmt(r.start),
                    r.end
                        .map_or("NULL".to_string(), |e| format!("TIMESTAMP '{}'", fmt(e)))
                )
            })
            .collect();
        out.push(format!(
            "INSERT INTO src.spans VALUES {};",
            values.join(", ")
        ));
    }
    out
}

/// Each column's query (`span__span_id` and the duration) compiled for the dialect.
fn compiled_queries(model: &Model, d: Dialect) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|column| {
            let group_by = ["span__span_id".to_string(), format!("span__{column}")];
            let req = QueryRequest::of::<&str, String, &str>(&[], &group_by, &[]);
            let compiled = tally_core::pipeline::compile(model, d, &req).unwrap_or_else(|d| {
                panic!(
                    "{}",
                    tally_core::diag::render_human(&model.sources, &d, false)
                )
            });
            assert!(
                !compiled.sql.to_ascii_lowercase().contains("timezone"),
                "no time-zone function in the SQL"
            );
            compiled.sql
        })
        .collect()
}

/// The spans table on DuckDB, the compiled SQL's rows by id.
fn run(model: &Model, rows: &[Row]) -> Results {
    let conn = engine::open(None).unwrap();
    for s in spans_sql(rows) {
        conn.execute_batch(&s).unwrap();
    }
    // Clocks too large to inline become temporary tables (nothing when they are inline).
    tally_duckdb::clock::install(&conn, model).unwrap();
    let num = |v: &Value| match v {
        Value::Null => None,
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        other => panic!("not a number: {other:?}"),
    };
    let mut out = Results::new();
    for (k, sql) in compiled_queries(model, Dialect::DuckDb).iter().enumerate() {
        for r in engine::run(&conn, sql).unwrap().rows {
            let Value::Text(id) = &r[0] else { panic!("id") };
            out.entry(id.clone()).or_insert([None; 3])[k] = num(&r[1]);
        }
    }
    out
}

/// The same on PostgreSQL through `psql` (`TALLY_POSTGRES`: libpq connection words without
/// `dbname`, as `scripts/postgres` prints them), in a database of its own dropped at the end.
fn run_postgres(conninfo: &str, model: &Model, rows: &[Row]) -> Results {
    use std::process::Command;
    let scratch = tempfile::tempdir().unwrap();
    let dbname = format!("tally_bh_{}", std::process::id());
    let psql = |db: &str, script: &str| -> String {
        let path = scratch.path().join("script.sql");
        std::fs::write(&path, script).unwrap();
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "--csv", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(format!("{conninfo} dbname={db}"))
            .arg("-f")
            .arg(&path)
            .env("PGTZ", "UTC")
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {dbname};\nCREATE DATABASE {dbname};\n"),
    );
    psql(&dbname, &spans_sql(rows).join("\n"));
    let mut out = Results::new();
    for (k, sql) in compiled_queries(model, Dialect::Postgres)
        .iter()
        .enumerate()
    {
        let text = psql(&dbname, &format!("\\pset null '<null>'\n{sql};\n"));
        for line in text.lines().skip(1) {
            let (id, v) = line.split_once(',').expect("two columns");
            let v = (v != "<null>").then(|| v.parse::<f64>().expect("a number"));
            out.entry(id.to_string()).or_insert([None; 3])[k] = v;
        }
    }
    psql("postgres", &format!("DROP DATABASE {dbname};\n"));
    out
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn expected(model: &Model, cal: &str, start: i64, end: Option<i64>) -> Option<f64> {
    let s = model.calendars.schedule(cal).unwrap();
    let end = end?;
    (end >= start).then(|| calendar_reference::reference(s, start, end) as f64)
}

fn team_calendar(team: Option<&str>) -> &'static str {
    match team {
        Some("n") => "new_york",
        Some("k") => "kathmandu",
        Some("l") => "lord_howe",
        Some("y") => "new_york_night",
        _ => "dublin",
    }
}

/// `n` random spans over the calendars' year (a fixed seed).
fn random_rows(n: usize) -> Vec<Row> {
    let teams = [
        Some("d"),
        Some("n"),
        Some("k"),
        Some("l"),
        Some("y"),
        Some("x"),
        None,
    ];
    let lo = ts("2026-01-03 00:00:00");
    let span = ts("2026-12-28 00:00:00") - lo;
    let mut rng = Rng(16);
    let mut rows = Vec::new();
    for i in 0..n {
        let mut start = lo + rng.below(span as u64);
        if rng.below(3) == 0 {
            start -= start % 900; // on the quarter hour, where intervals begin and end
        }
        let len = match rng.below(4) {
            0 => rng.below(3 * 3600),
            1 => rng.below(4 * 86_400),
            2 => rng.below(60 * 86_400),
            _ => rng.below(86_400) - 3600, // sometimes before the start
        };
        let end = (rng.below(20) != 0).then(|| (start + len).min(ts("2026-12-31 23:59:59")));
        rows.push(Row {
            id: format!("r{i}"),
            team: teams[rng.below(teams.len() as u64) as usize],
            start,
            end,
        });
    }
    rows
}

/// The SQL's results against the reference, row by row in exact seconds.
fn check_against_reference(model: &Model, rows: &[Row], got: &Results) {
    assert_eq!(got.len(), rows.len());
    let mut bad = Vec::new();
    let as_of = ts(AS_OF);
    for r in rows {
        let want = [
            expected(model, team_calendar(r.team), r.start, r.end),
            expected(model, "new_york", r.start, r.end).map(|s| s / 60.0),
            expected(model, "dublin", r.start, Some(r.end.unwrap_or(as_of))),
        ];
        let have = got[&r.id];
        for k in 0..3 {
            let ok = match (want[k], have[k]) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                _ => false,
            };
            if !ok {
                bad.push(format!(
                    "{} team {:?} {} -> {:?} column {k}: want {:?}, SQL {:?}",
                    r.id,
                    r.team,
                    fmt(r.start),
                    r.end.map(fmt),
                    want[k],
                    have[k]
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

#[test]
fn sql_matches_reference_on_random_rows() {
    let dir = tempfile::tempdir().unwrap();
    let model = load_project(dir.path());
    let rows = random_rows(4000);
    check_against_reference(&model, &rows, &run(&model, &rows));
}

/// The same 4,000 random spans through tally's PostgreSQL SQL on PostgreSQL. Without
/// `TALLY_POSTGRES` (`./scripts/test` and `eval "$(scripts/postgres)"` set it) it prints a skip
/// line and passes, except under CI (`CI=true`), where it fails.
#[test]
fn postgres_sql_matches_reference_on_random_rows() {
    let Ok(conninfo) = std::env::var("TALLY_POSTGRES") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TALLY_POSTGRES is not set (scripts/postgres starts a server)"
        );
        println!("business hours on postgres: skipped (TALLY_POSTGRES is not set)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = load_project(dir.path());
    let rows = random_rows(4000);
    check_against_reference(&model, &rows, &run_postgres(&conninfo, &model, &rows));
}

/// Calendars over 2020-2035 (about 29,000 clock rows, past the inline limit): the SQL reads the
/// relations `tally_bh__<calendar>`, which tally creates on DuckDB as temporary tables, and the
/// results still equal the reference; `tally calendars export --format sql` loads the same tables.
#[test]
fn large_clocks_are_relations_created_by_tally() {
    let dir = tempfile::tempdir().unwrap();
    let project = PROJECT.replace(
        "range: {start: 2026-01-01, end: 2026-12-31}",
        "range: {start: 2020-01-01, end: 2035-12-31}",
    );
    let model = load_project_text(dir.path(), &project);
    let sql = &compiled_queries(&model, Dialect::DuckDb)[0];
    assert!(sql.contains("FROM tally_bh__dublin"), "{sql}");
    assert!(!sql.contains("VALUES"), "no constant rows");
    let rows = random_rows(500);
    check_against_reference(&model, &rows, &run(&model, &rows));
    // Installing twice keeps the tables (their fingerprint matches).
    let conn = engine::open(None).unwrap();
    tally_duckdb::clock::install(&conn, &model).unwrap();
    tally_duckdb::clock::install(&conn, &model).unwrap();
    // The export's DDL builds the same table.
    let dublin = tally_core::calendar::clock::expand(model.calendars.schedule("dublin").unwrap());
    let ddl = tally_core::dialect::values::create_clock_table(&dublin, Dialect::DuckDb);
    let other = engine::open(None).unwrap();
    other.execute_batch(&ddl).unwrap();
    let q = "SELECT * FROM tally_bh__dublin ORDER BY day_utc";
    assert_eq!(
        engine::run(&conn, q).unwrap().rows,
        engine::run(&other, q).unwrap().rows
    );
    assert_eq!(
        engine::run(&other, q).unwrap().rows.len(),
        dublin.days.len()
    );
}

#[test]
fn edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let model = load_project(dir.path());
    // (name, team, start, end, business seconds)
    let cases: &[(&str, Option<&'static str>, &str, Option<&str>, Option<i64>)] = &[
        // Dublin on GMT in March: Friday 17:59 -> Monday 08:01 = 1 + 240 (Saturday 10:00-14:00) + 1 minutes.
        (
            "friday_to_monday",
            Some("d"),
            "2026-03-06 17:59:00",
            Some("2026-03-09 08:01:00"),
            Some(14_520),
        ),
        // Saturday 2026-03-14 is a holiday: no Saturday hours.
        (
            "holiday_on_a_weekend",
            Some("d"),
            "2026-03-14 00:00:00",
            Some("2026-03-15 00:00:00"),
            Some(0),
        ),
        (
            "ordinary_saturday",
            Some("d"),
            "2026-03-07 00:00:00",
            Some("2026-03-08 00:00:00"),
            Some(4 * 3600),
        ),
        // Christmas Eve custom hours 09:00-13:00; Christmas Day closed (recurring), then the weekend.
        (
            "christmas_eve",
            Some("d"),
            "2026-12-24 00:00:00",
            Some("2026-12-26 00:00:00"),
            Some(4 * 3600),
        ),
        (
            "christmas_2026_recurring",
            Some("d"),
            "2026-12-25 00:00:00",
            Some("2026-12-26 00:00:00"),
            Some(0),
        ),
        // The offsite closes Monday to Friday; Saturday 08-08 is open 10:00-14:00 IST (09:00-13:00 UTC).
        (
            "multi_day_closure",
            Some("d"),
            "2026-08-03 00:00:00",
            Some("2026-08-08 10:00:00"),
            Some(3600),
        ),
        // Kathmandu (+05:45) Monday 22:00-06:00 = 16:15-00:15 UTC.
        (
            "overnight_across_utc_midnight",
            Some("k"),
            "2026-06-01 23:00:00",
            Some("2026-06-02 00:10:00"),
            Some(70 * 60),
        ),
        // New York night shift 00:30-02:30: on 2026-03-08 02:30 does not exist (-> 03:00 EDT).
        (
            "spring_forward",
            Some("y"),
            "2026-03-08 00:00:00",
            Some("2026-03-08 12:00:00"),
            Some(5400),
        ),
        // On 2026-11-01 01:00-02:00 happens twice: 00:30 EDT -> 02:30 EST is three hours.
        (
            "fall_back",
            Some("y"),
            "2026-11-01 00:00:00",
            Some("2026-11-01 12:00:00"),
            Some(3 * 3600),
        ),
        // Dublin's hours change on 2026-04-01 (IST): 08:00-18:00 on 03-31, 09:00-17:30 on 04-01.
        (
            "schedule_change_mid_span",
            Some("d"),
            "2026-03-31 00:00:00",
            Some("2026-04-02 00:00:00"),
            Some(66_600),
        ),
        (
            "end_before_start",
            Some("d"),
            "2026-03-10 12:00:00",
            Some("2026-03-10 11:00:00"),
            None,
        ),
        (
            "end_exactly_at_opening",
            Some("d"),
            "2026-03-09 18:00:00",
            Some("2026-03-10 08:00:00"),
            Some(0),
        ),
        ("open_span", Some("d"), "2026-03-10 12:00:00", None, None),
        (
            "outside_the_range",
            Some("d"),
            "2027-02-01 09:00:00",
            Some("2027-02-01 10:00:00"),
            None,
        ),
    ];
    let rows: Vec<Row> = cases
        .iter()
        .map(|(n, team, s, e, _)| Row {
            id: n.to_string(),
            team: *team,
            start: ts(s),
            end: e.map(ts),
        })
        .collect();
    let got = run(&model, &rows);
    for (n, team, s, e, want) in cases {
        assert_eq!(got[*n][0], want.map(|w| w as f64), "{n}");
        // The reference agrees wherever the span is inside the range.
        if *n != "outside_the_range" {
            assert_eq!(
                expected(&model, team_calendar(*team), ts(s), e.map(ts)),
                want.map(|w| w as f64),
                "{n} (reference)"
            );
        }
    }
    // Age so far against as_of for the open span: Dublin hours from 2026-03-10 12:00 to as_of.
    let age = got["open_span"][2].unwrap();
    let s = model.calendars.schedule("dublin").unwrap();
    assert_eq!(
        age,
        calendar_reference::reference(s, ts("2026-03-10 12:00:00"), ts(AS_OF)) as f64
    );
}

#[test]
fn sample_data_reconciles_with_intercom_statistics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (model, diags) = tally_core::pipeline::load_model(
        &root,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    assert!(diags.iter().all(|d| !d.is_error()));
    let conn = engine::open(None).unwrap();
    tally_sample::generate_intercom(
        &conn,
        &tally_sample::SampleOptions {
            conversations: 3_000,
            seed: 7,
            schema: "intercom".into(),
            progress: false,
        },
    )
    .unwrap();
    let query = |metrics: &[&str], group_by: &[&str]| {
        let req = QueryRequest::of::<&str, &str, &str>(metrics, group_by, &[]);
        let c = tally_core::pipeline::compile(&model, Dialect::DuckDb, &req).unwrap_or_else(|d| {
            panic!(
                "{}",
                tally_core::diag::render_human(&model.sources, &d, false)
            )
        });
        engine::run(&conn, &c.sql).unwrap().rows
    };
    let rows = query(
        &[
            "office_hours_reconciled_conversations",
            "office_hours_admin_reply_mismatches",
            "office_hours_first_close_mismatches",
            "office_hours_last_close_mismatches",
        ],
        &[],
    );
    let compared = match &rows[0][0] {
        Value::Int(n) => *n,
        Value::Float(f) => *f as i64,
        other => panic!("{other:?}"),
    };
    assert!(compared > 1000, "only {compared} conversations compared");
    for k in 1..4 {
        assert!(
            matches!(rows[0][k], Value::Int(0))
                || matches!(rows[0][k], Value::Float(f) if f == 0.0),
            "mismatches with Intercom's statistics: {:?}",
            rows[0]
        );
    }
    // Reply times in business minutes are at most the wall-clock ones; SLA breaches happen and
    // are at most the conversations whose SLA is decided.
    let replies = query(
        &[
            "reply_time_business_median",
            "reply_time_median",
            "first_response_sla_breaches",
            "first_response_sla_decided",
        ],
        &[],
    );
    let num = |v: &Value| match v {
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        other => panic!("{other:?}"),
    };
    let r = &replies[0];
    assert!(num(&r[0]) > 0.0 && num(&r[0]) <= num(&r[1]), "{r:?}");
    assert!(num(&r[2]) > 0.0 && num(&r[2]) < num(&r[3]), "{r:?}");
    // The business-time median by team answers, in business minutes below the wall-clock one.
    let by_team = query(
        &[
            "first_response_time_business_median",
            "first_response_time_median",
        ],
        &["team__team_name"],
    );
    assert!(by_team.len() >= 4, "{by_team:?}");
    for r in &by_team {
        if let (Value::Float(b), Value::Float(w)) = (&r[1], &r[2]) {
            assert!(*b >= 0.0 && b <= w, "{r:?}");
        }
    }
}

/// Deadlines (`after:`) of every size, per row's calendar (chosen by the team column as above).
const DEADLINES: [(&str, &str, i64); 5] = [
    ("due_now", "after: 0, unit: second", 0),
    ("due_1s", "after: 1, unit: second", 1),
    ("due_45m", "after: 45, unit: minute", 45 * 60),
    ("due_8h", "after: 8, unit: hour", 8 * 3600),
    ("due_30h", "after: 30, unit: hour", 30 * 3600),
];

/// The reference deadline: walk the open intervals of the day-by-day reference from `start` until
/// `n` open seconds have passed (the earliest instant they have).
fn reference_deadline(model: &Model, cal: &str, start: i64, n: i64) -> i64 {
    if n == 0 {
        return start;
    }
    let s = model.calendars.schedule(cal).unwrap();
    let mut rem = n;
    for (a, b) in calendar_reference::ref_intervals(s, start, start + 90 * 86_400) {
        let lo = a.max(start);
        if b <= lo {
            continue;
        }
        if rem <= b - lo {
            return lo + rem;
        }
        rem -= b - lo;
    }
    panic!("no deadline within 90 days of {}", fmt(start));
}

/// `tally`'s deadlines (the inverse of the business clock: a range join on the clock's cumulative
/// seconds, then a walk through the day's intervals) against the reference on 1,500 random starts
/// over five calendars (DST in Dublin, New York and Lord Howe, Kathmandu's overnight shift across
/// UTC midnight, closures and a schedule change), to the second. Each deadline is declared twice:
/// with the calendar chosen by the team column, and with one fixed calendar (a different one per
/// deadline), so both ways of naming the calendar are checked.
#[test]
fn deadlines_match_reference_on_random_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut project = PROJECT.to_string();
    let fixed = [
        "dublin",
        "new_york",
        "kathmandu",
        "lord_howe",
        "new_york_night",
    ];
    // (dimension, fixed calendar or none for `by_team`, seconds)
    let mut cases: Vec<(String, Option<&str>, i64)> = Vec::new();
    for ((name, after, n), cal) in DEADLINES.into_iter().zip(fixed) {
        project.push_str(&format!(
            "      - {{name: {name}, start: started_at, {after}, calendar: by_team}}\n      - {{name: {name}_{cal}, start: started_at, {after}, calendar: {cal}}}\n"
        ));
        cases.push((name.to_string(), None, n));
        cases.push((format!("{name}_{cal}"), Some(cal), n));
    }
    let model = load_project_text(dir.path(), &project);
    let mut rows = random_rows(1500);
    for r in &mut rows {
        // Deadlines fall well inside the calendars' year.
        r.start = r.start.min(ts("2026-11-30 00:00:00"));
    }
    let conn = engine::open(None).unwrap();
    for s in spans_sql(&rows) {
        conn.execute_batch(&s).unwrap();
    }
    let mut bad = Vec::new();
    for (name, cal, n) in &cases {
        let group_by = ["span__span_id".to_string(), format!("span__{name}")];
        let req = QueryRequest::of::<&str, String, &str>(&[], &group_by, &[]);
        let sql = tally_core::pipeline::compile(&model, Dialect::DuckDb, &req)
            .unwrap()
            .sql;
        assert!(!sql.to_ascii_lowercase().contains("timezone"));
        let result = engine::run(&conn, &sql).unwrap();
        let id_col = result
            .columns
            .iter()
            .position(|c| c == "span__span_id")
            .unwrap();
        let got: std::collections::BTreeMap<String, Value> = result
            .rows
            .into_iter()
            .map(|r| match &r[id_col] {
                Value::Text(id) => (id.clone(), r[1 - id_col].clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got.len(), rows.len());
        for r in &rows {
            let want = fmt(reference_deadline(
                &model,
                cal.unwrap_or(team_calendar(r.team)),
                r.start,
                *n,
            ));
            let have = match &got[&r.id] {
                Value::Time(t) => t.clone(),
                other => format!("{other:?}"),
            };
            if have != want {
                bad.push(format!(
                    "{name} {} team {:?} from {}: want {want}, SQL {have}",
                    r.id,
                    r.team,
                    fmt(r.start)
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

/// A deadline on every dialect from one plan: the SQL parses back in each (no time-zone function).
#[test]
fn deadlines_compile_for_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let project = format!(
        "{PROJECT}      - {{name: due_8h, start: started_at, after: 8, unit: hour, calendar: by_team}}\n"
    );
    let model = load_project_text(dir.path(), &project);
    for d in Dialect::ALL {
        let req =
            QueryRequest::of::<&str, &str, &str>(&[], &["span__span_id", "span__due_8h"], &[]);
        let c = tally_core::pipeline::compile(&model, d, &req).unwrap_or_else(|e| {
            panic!(
                "{d:?}: {}",
                tally_core::diag::render_human(&model.sources, &e, false)
            )
        });
        assert!(c.sql.contains("tally_bh4d"), "{d:?}: the range join");
        assert!(!c.sql.to_ascii_lowercase().contains("timezone"), "{d:?}");
    }
}
