//! Execution benchmarks: every metric of the repository's project (plus the benchmark-only
//! cumulative and offset metrics of `benches/time_metrics.yml`) by month on generated Intercom
//! data, tally's SQL against the hand-written SQL of `benches/sql/`, checked to return the same
//! rows, median of `--runs` runs each (the two alternate).

use crate::compile::request;
use crate::{machine, median, ms, Options};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::{Model, Relation};
use tally_duckdb::engine::{self, ResultTable, Value};

const METRICS_SQL: &str = include_str!("../benches/sql/intercom.sql");
const TIME_SQL: &str = include_str!("../benches/sql/time.sql");
const TIME_METRICS: &str = include_str!("../benches/time_metrics.yml");
/// The hand-made calendar table the hand-written business-time queries read.
const CALENDARS_SQL: &str = include_str!("../benches/sql/calendars.sql");

/// The goal: tally's SQL at most this many times the hand-written SQL's time.
const GOAL_RATIO: f64 = 1.2;

/// One hand-written query: the metric, the group-by item, the SQL (with `{{ model }}` holes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HandQuery {
    pub metric: String,
    pub group_by: String,
    pub sql: String,
}

/// Split a file of `-- metric: NAME [by ITEM]` sections into queries (comments before the first
/// section are the file's header).
pub(crate) fn parse_sections(text: &str) -> Vec<HandQuery> {
    let mut out: Vec<HandQuery> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("-- metric: ") {
            let mut words = rest.split_whitespace();
            let metric = words.next().unwrap_or_default().to_string();
            let group_by = match (words.next(), words.next()) {
                (Some("by"), Some(item)) => item.to_string(),
                _ => "metric_time__month".to_string(),
            };
            out.push(HandQuery {
                metric,
                group_by,
                sql: String::new(),
            });
        } else if let Some(q) = out.last_mut() {
            q.sql.push_str(line);
            q.sql.push('\n');
        }
    }
    for q in &mut out {
        q.sql = q.sql.trim().trim_end_matches(';').trim().to_string();
    }
    out
}

/// Every hand-written query: the project's metrics (`benches/sql/intercom.sql`), then the
/// benchmark-only time metrics (`benches/sql/time.sql`).
fn hand_queries() -> Vec<HandQuery> {
    let mut queries = parse_sections(METRICS_SQL);
    queries.extend(parse_sections(TIME_SQL));
    queries
}

/// Replace every `{{ name }}` by the rendered SQL of semantic model `name`, in parentheses.
fn fill_models(model: &Model, sql: &str) -> Result<String, String> {
    let mut out = sql.to_string();
    for (i, sm) in model.semantic_models.iter().enumerate() {
        let hole = format!("{{{{ {} }}}}", sm.name);
        if !out.contains(&hole) {
            continue;
        }
        let relation = match (
            &sm.relation,
            model.render_model_sql(i, Dialect::DuckDb.name()),
        ) {
            (_, Some(r)) => format!("(\n{}\n)", r.map_err(|d| d.message)?),
            (Relation::Table(t), None) => t.clone(),
            (Relation::Query(..), None) => return Err(format!("{}: no SQL", sm.name)),
        };
        out = out.replace(&hole, &relation);
    }
    if out.contains("{{") {
        return Err(format!("unknown semantic model in {sql}"));
    }
    Ok(out)
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    println!("## Execution benchmarks\n");
    println!("machine: {}\n", machine());
    let dir = std::env::temp_dir().join(format!("tally-bench-exec-{}", std::process::id()));
    let result = project_copy(&opts.project, &dir).and_then(|()| {
        for &n in &opts.conversations {
            run_size(opts, &dir, n)?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The repository's project with the benchmark-only metrics added, in `dir`.
fn project_copy(project: &Path, dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for part in ["tally.yml", "models", "metrics", "templates"] {
        let from = project.join(part);
        if from.exists() {
            copy_tree(&from, &dir.join(part)).map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    std::fs::write(dir.join("metrics/bench_time_metrics.yml"), TIME_METRICS)
        .map_err(|e| e.to_string())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// The generator version recorded in a sample database (`tally_sample_metadata`): `None` when it
/// records none (a database of a generator before versions were recorded); an error when the file
/// cannot be opened (never a reason to generate it again). Opened as the benchmark opens it
/// (read-write: a write-ahead log left by an interrupted run is replayed).
pub(crate) fn generator_version(db: &Path) -> Result<Option<String>, String> {
    let conn = engine::open(Some(db)).map_err(|e| format!("{}: {e}", db.display()))?;
    let sql = format!(
        "SELECT value FROM intercom.{} WHERE key = 'generator_version'",
        tally_sample::METADATA_TABLE
    );
    let found = match conn.prepare(&sql) {
        Ok(mut stmt) => stmt.query_row([], |r| r.get::<_, String>(0)).ok(),
        // No metadata table: not a database of a versioned generator.
        Err(_) => None,
    };
    Ok(found)
}

pub(crate) fn database(opts: &Options, n: usize) -> Result<PathBuf, String> {
    let current = tally_sample::GENERATOR_VERSION;
    if let (Some(db), 1) = (&opts.duckdb, opts.conversations.len()) {
        let found = generator_version(db)?;
        if found.as_deref() != Some(current) {
            eprintln!(
                "warning: {} was written by generator version {} (current: {current})",
                db.display(),
                found.as_deref().unwrap_or("unknown")
            );
        }
        return Ok(db.clone());
    }
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let dir = PathBuf::from(home).join(".cache/tally-bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = dir.join(format!("intercom-{n}.duckdb"));
    let stale = db.exists() && {
        let found = generator_version(&db)?;
        let stale = found.as_deref() != Some(current);
        if stale {
            eprintln!(
                "{} was written by generator version {} (current: {current}): generating it again",
                db.display(),
                found.as_deref().unwrap_or("unknown")
            );
        }
        stale
    };
    if !db.exists() || stale {
        let tally = std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("tally");
        eprintln!("generating {n} conversations into {} ...", db.display());
        let t = Instant::now();
        let status = Command::new(tally)
            .args([
                "sample-data",
                "intercom",
                "--conversations",
                &n.to_string(),
                "--duckdb",
            ])
            .arg(&db)
            .args(stale.then_some("--force"))
            .arg("--project")
            .arg(&opts.project)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("tally sample-data failed".into());
        }
        eprintln!("generated in {:.0} s", t.elapsed().as_secs_f64());
    }
    Ok(db)
}

fn run_size(opts: &Options, project: &Path, n: usize) -> Result<(), String> {
    let db = database(opts, n)?;
    let (model, diags) = tally_core::pipeline::load_model(
        project,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    if diags.iter().any(|d| d.is_error()) {
        return Err(tally_core::diag::render_human(
            &model.sources,
            &diags,
            false,
        ));
    }
    let mut model = model;
    let conn = engine::open(Some(&db)).map_err(|e| e.to_string())?;
    setup(&conn)?;
    limit_memory(&conn, opts)?;
    let mut queries = hand_queries();
    queries.retain(|q| opts.picks(&q.metric));
    let covered: Vec<&str> = queries.iter().map(|q| q.metric.as_str()).collect();
    let missing: Vec<&String> = model
        .metrics
        .keys()
        .filter(|m| !covered.contains(&m.as_str()))
        .collect();
    println!(
        "{n} conversations ({}), by month unless stated, median of {} runs (alternating); ratio = tally / hand-written, flagged over {GOAL_RATIO}:\n",
        db.display(),
        opts.runs
    );
    if !missing.is_empty() && opts.only.is_none() {
        println!("metrics without hand-written SQL: {missing:?}\n");
    }
    if opts.tables {
        println!("`--tables`: each `sql:` semantic model a query reads is stored once as a table (schema `{TABLES_SCHEMA}` of the database, reused by later runs while its SQL is the same) and both sides read the tables: the figures are of the SQL each side adds on top of the models, which is what `tally query` runs once its materialisation cache holds them (business durations are still computed by the query, from the model's table). Storing a model is timed apart (below the table).\n");
    }
    println!("wall time, and CPU time of the process (DuckDB's threads; the machine may be shared: CPU time moves less with its load); the ratio is CPU time's:\n");
    println!("| metric | rows | tally | hand-written | tally CPU | hand-written CPU | ratio | same rows |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let (mut total_tally, mut total_hand) = (Duration::ZERO, Duration::ZERO);
    let mut worst = (0.0_f64, String::new());
    let mut failed: Vec<String> = Vec::new();
    let mut stored = StoredModels::default();
    for q in &queries {
        if opts.tables {
            if let Err(e) = stored.read_from_tables(&conn, &mut model, q) {
                println!("| {} | | **failed**: {e} | | | | | |", q.metric);
                failed.push(q.metric.clone());
                continue;
            }
        }
        let tally_sql = local_sql(&conn, &model, q)?;
        let hand_sql = fill_models(&model, &q.sql)?;
        let timed = |side: &str, sql: &str| -> Result<(Timing, ResultTable), String> {
            let (t, cpu) = (Instant::now(), process_cpu());
            let r = engine::run(&conn, sql).map_err(|e| format!("{} ({side}): {e}", q.metric))?;
            Ok(((t.elapsed(), process_cpu().saturating_sub(cpu)), r))
        };
        // The first run of each gives the rows compared; the two alternate so that load from
        // other processes falls on both alike. A side that fails (DuckDB out of memory under
        // `--memory-limit`, most likely) is a row of its own, with what the other side did, and
        // the pass goes on: on 10M a pass takes hours.
        let ((t, a), (h, b)) = match (
            timed("tally's SQL", &tally_sql),
            timed("hand-written SQL", &hand_sql),
        ) {
            (Ok(t), Ok(h)) => (t, h),
            (t, h) => {
                let side = |r: &Result<(Timing, ResultTable), String>| match r {
                    Ok(((_, cpu), _)) => format!("{:.0} ms CPU", ms(*cpu)),
                    Err(e) => format!("**failed**: {}", e.lines().next().unwrap_or_default()),
                };
                println!("| {} | | {} | {} | | | | |", q.metric, side(&t), side(&h));
                failed.push(q.metric.clone());
                continue;
            }
        };
        let agree = same_rows(&a, &b);
        let (mut ta, mut tb) = (vec![t], vec![h]);
        for _ in 1..opts.runs {
            ta.push(timed("tally's SQL", &tally_sql)?.0);
            tb.push(timed("hand-written SQL", &hand_sql)?.0);
        }
        let (ta, tb) = (medians(&ta), medians(&tb));
        total_tally += ta.1;
        total_hand += tb.1;
        let ratio = ta.1.as_secs_f64() / tb.1.as_secs_f64().max(1e-9);
        if ratio > worst.0 {
            worst = (ratio, q.metric.clone());
        }
        let by = if q.group_by == "metric_time__month" {
            String::new()
        } else {
            format!(" (by {})", q.group_by)
        };
        println!(
            "| {}{by} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {ratio:.2}{} | {} |",
            q.metric,
            a.rows.len(),
            ms(ta.0),
            ms(tb.0),
            ms(ta.1),
            ms(tb.1),
            if ratio > GOAL_RATIO { " **over**" } else { "" },
            match &agree {
                Ok(()) => "yes".to_string(),
                Err(e) => format!("**no**: {e}"),
            }
        );
    }
    println!(
        "\ntotal CPU: tally {:.2} s, hand-written {:.2} s ({:.2}x); worst ratio {:.2} ({})\n",
        total_tally.as_secs_f64(),
        total_hand.as_secs_f64(),
        total_tally.as_secs_f64() / total_hand.as_secs_f64().max(1e-9),
        worst.0,
        worst.1
    );
    if !failed.is_empty() {
        println!("failed (not in the totals): {}\n", failed.join(", "));
    }
    if opts.tables {
        println!("models stored as tables (CPU time of storing each; reused: stored by an earlier run):\n");
        println!("| model | rows | stored | CPU |");
        println!("|---|---:|---|---:|");
        for s in &stored.log {
            println!(
                "| {} | {} | {} | {} |",
                s.model,
                s.rows,
                if s.reused { "reused" } else { "now" },
                s.cpu.map_or(String::new(), |c| format!("{:.0} ms", ms(c)))
            );
        }
        println!();
    }
    Ok(())
}

/// The schema of the benchmark's database that `exec --tables` stores models in.
const TABLES_SCHEMA: &str = "bench_models";

/// `exec --tables`: the `sql:` semantic models stored as tables so far, by position in the model.
#[derive(Default)]
struct StoredModels {
    tables: std::collections::BTreeMap<usize, String>,
    /// Models that could not be stored (out of memory), not tried again.
    failed: std::collections::BTreeMap<usize, String>,
    log: Vec<Stored>,
}

struct Stored {
    model: String,
    rows: i64,
    reused: bool,
    cpu: Option<Duration>,
}

impl StoredModels {
    /// Store every `sql:` semantic model that `q` reads on either side (a `{{ model }}` of the
    /// hand-written SQL, a relation of tally's plan) as a table, once, and point `model` at it.
    /// The table is named by a digest of the SQL as DuckDB runs it: a changed model (its `sql:`,
    /// a macro) is another table, and the model's tables of other SQL are dropped.
    fn read_from_tables(
        &mut self,
        conn: &tally_duckdb::duckdb::Connection,
        model: &mut Model,
        q: &HandQuery,
    ) -> Result<(), String> {
        let req = request(std::slice::from_ref(&q.metric), &[q.group_by.as_str()], &[]);
        let plan = tally_core::pipeline::compile_with(
            model,
            Dialect::DuckDb,
            tally_core::pipeline::ClockForm::Relation,
            &req,
        )
        .map_err(|d| tally_core::diag::render_human(&model.sources, &d, false))?
        .plan;
        let mut read: std::collections::BTreeSet<usize> =
            tally_duckdb::cache::relations_read(&plan)
                .into_iter()
                .map(|(i, _)| i)
                .collect();
        for (i, sm) in model.semantic_models.iter().enumerate() {
            if q.sql.contains(&format!("{{{{ {} }}}}", sm.name)) {
                read.insert(i);
            }
        }
        for i in read {
            if let Some(why) = self.failed.get(&i) {
                return Err(format!("{why} (earlier)"));
            }
            if self.tables.contains_key(&i)
                || !matches!(model.semantic_models[i].relation, Relation::Query(..))
            {
                continue;
            }
            let name = model.semantic_models[i].name.clone();
            let sql = match model.render_model_sql(i, Dialect::DuckDb.name()) {
                Some(r) => r.map_err(|d| format!("{name}: {}", d.message))?,
                None => continue,
            };
            let digest = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                sql.hash(&mut h);
                h.finish()
            };
            let table_name = format!("m_{name}_{digest:016x}");
            let table = format!("{TABLES_SCHEMA}.{table_name}");
            let exists: bool = conn
                .query_row(
                    "SELECT count(*) > 0 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                    [TABLES_SCHEMA, table_name.as_str()],
                    |r| r.get(0),
                )
                .map_err(|e| e.to_string())?;
            let cpu = if exists {
                None
            } else {
                eprintln!("storing {name} as {table} ...");
                let mut script = format!("CREATE SCHEMA IF NOT EXISTS {TABLES_SCHEMA};\n");
                let mut stmt = conn
                    .prepare(
                        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND starts_with(table_name, ?)",
                    )
                    .map_err(|e| e.to_string())?;
                let old: Vec<String> = stmt
                    .query_map([TABLES_SCHEMA, &format!("m_{name}_")], |r| r.get(0))
                    .and_then(|rows| rows.collect())
                    .map_err(|e| e.to_string())?;
                for o in old {
                    script.push_str(&format!("DROP TABLE {TABLES_SCHEMA}.{o};\n"));
                }
                // The rows' order is not kept: DuckDB then streams them into the table instead
                // of holding what it cannot write in order (10M conversations' model ran out of
                // 12 GB keeping it).
                script.push_str(&format!(
                    "SET preserve_insertion_order = false;\nCREATE TABLE {table} AS\n{sql}\n;\n"
                ));
                let start = process_cpu();
                let stored = conn.execute_batch(&script);
                let _ = conn.execute_batch("RESET preserve_insertion_order");
                if let Err(e) = stored {
                    let why = format!(
                        "storing {name}: {}",
                        e.to_string().lines().next().unwrap_or_default()
                    );
                    self.failed.insert(i, why.clone());
                    return Err(why);
                }
                Some(process_cpu().saturating_sub(start))
            };
            let rows: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .map_err(|e| e.to_string())?;
            self.log.push(Stored {
                model: name,
                rows,
                reused: exists,
                cpu,
            });
            model.read_model_from(i, &table);
            self.tables.insert(i, table);
        }
        Ok(())
    }
}

/// Wall time and CPU time of one run.
type Timing = (Duration, Duration);

/// The medians of wall and CPU times, each on its own.
fn medians(runs: &[Timing]) -> Timing {
    (
        median(runs.iter().map(|t| t.0).collect()),
        median(runs.iter().map(|t| t.1).collect()),
    )
}

/// CPU time (user and system) of this process so far, every thread (`utime` and `stime` of
/// /proc/self/stat, in clock ticks of 10 ms): DuckDB runs the queries on threads of this process.
fn process_cpu() -> Duration {
    crate::cache::stat_ticks(11)
}

/// `tally-bench explain --only METRIC [--tables] [--duckdb FILE]`: for each matching metric, the time DuckDB
/// takes to plan (`EXPLAIN`: parse, bind, optimise) and to run tally's SQL and the hand-written SQL,
/// then `EXPLAIN ANALYZE` of both (operator timings), to find where a ratio over the goal goes.
pub(crate) fn explain(opts: &Options) -> Result<(), String> {
    let n = *opts.conversations.first().ok_or("no --conversations")?;
    if opts.sql.is_empty() && opts.only.is_none() {
        return Err("explain needs --only METRIC or --sql FILE".into());
    }
    let dir = std::env::temp_dir().join(format!("tally-bench-explain-{}", std::process::id()));
    let result = project_copy(&opts.project, &dir).and_then(|()| {
        let db = database(opts, n)?;
        let (mut model, _) = tally_core::pipeline::load_model(
            &dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        let conn = engine::open(Some(&db)).map_err(|e| e.to_string())?;
        setup(&conn)?;
        limit_memory(&conn, opts)?;
        if !opts.sql.is_empty() {
            return explain_files(&conn, &model, opts);
        }
        let only = opts.only.as_deref().unwrap_or_default();
        let mut queries = hand_queries();
        queries.retain(|q| only.split(',').any(|o| q.metric == o.trim()));
        let mut stored = StoredModels::default();
        for q in &queries {
            if opts.tables {
                stored.read_from_tables(&conn, &mut model, q)?;
            }
            let tally_sql = local_sql(&conn, &model, q)?;
            let hand_sql = fill_models(&model, &q.sql)?;
            if let Some(out) = &opts.dir {
                let write = |kind: &str, sql: &str| {
                    let file = out.join(format!("{}.{kind}.sql", q.metric));
                    std::fs::write(&file, sql).map_err(|e| format!("{}: {e}", file.display()))
                };
                write("tally", &tally_sql)?;
                write("hand", &hand_sql)?;
            }
            explain_one(&conn, &format!("{} (tally)", q.metric), &tally_sql)?;
            explain_one(&conn, &format!("{} (hand-written)", q.metric), &hand_sql)?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `explain --sql FILE ..`: the clocks each file reads installed, `EXPLAIN ANALYZE` of each, then
/// (with `--runs N`) every file run N times in rounds (the order alternating), median wall and
/// CPU time, and whether its rows are the first file's.
fn explain_files(
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    opts: &Options,
) -> Result<(), String> {
    let mut files = Vec::new();
    for file in &opts.sql {
        let sql = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        tally_duckdb::clock::install_read(conn, model, &sql).map_err(|e| e.to_string())?;
        explain_one(conn, &file.display().to_string(), &sql)?;
        files.push((file.display().to_string(), sql));
    }
    if opts.runs < 2 {
        return Ok(());
    }
    let timed = |sql: &str| -> Result<(Timing, ResultTable), String> {
        let (t, cpu) = (Instant::now(), process_cpu());
        let r = engine::run(conn, sql).map_err(|e| e.to_string())?;
        Ok(((t.elapsed(), process_cpu().saturating_sub(cpu)), r))
    };
    let mut times: Vec<Vec<Timing>> = vec![Vec::new(); files.len()];
    let mut rows: Vec<Option<ResultTable>> = vec![None; files.len()];
    for round in 0..opts.runs {
        for k in 0..files.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                files.len() - 1 - k
            };
            let (t, r) = timed(&files[i].1).map_err(|e| format!("{}: {e}", files[i].0))?;
            times[i].push(t);
            rows[i].get_or_insert(r);
        }
    }
    println!(
        "median of {} runs, load average {}:\n",
        opts.runs,
        crate::loadavg()
    );
    println!("| file | wall | CPU | rows | same rows as the first |");
    println!("|---|---:|---:|---:|---|");
    for (i, (name, _)) in files.iter().enumerate() {
        let (wall, cpu) = medians(&times[i]);
        let (first, this) = (rows[0].as_ref(), rows[i].as_ref());
        let same = match (first, this) {
            (Some(a), Some(b)) => match same_rows(a, b) {
                Ok(()) => "yes".to_string(),
                Err(e) => format!("**no**: {e}"),
            },
            _ => "-".to_string(),
        };
        let n_rows = this.map_or(0, |r| r.rows.len());
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {n_rows} | {same} |",
            ms(wall),
            ms(cpu)
        );
    }
    Ok(())
}

/// tally's SQL for a hand-written query's metric as `tally query` runs it on DuckDB: the business
/// clocks read from temporary tables (`ClockForm::Relation`), created on `conn`.
fn local_sql(
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    q: &HandQuery,
) -> Result<String, String> {
    compiled_sql(conn, model, q, tally_core::pipeline::ClockForm::Relation)
}

/// tally's SQL for a hand-written query's metric with the clocks in `form`, the clocks it reads
/// created on `conn`.
fn compiled_sql(
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    q: &HandQuery,
    form: tally_core::pipeline::ClockForm,
) -> Result<String, String> {
    let req = request(std::slice::from_ref(&q.metric), &[q.group_by.as_str()], &[]);
    let sql = tally_core::pipeline::compile_with(model, Dialect::DuckDb, form, &req)
        .map_err(|d| tally_core::diag::render_human(&model.sources, &d, false))?
        .sql;
    tally_duckdb::clock::install_read(conn, model, &sql).map_err(|e| e.to_string())?;
    Ok(sql)
}

fn explain_one(
    conn: &tally_duckdb::duckdb::Connection,
    what: &str,
    sql: &str,
) -> Result<(), String> {
    let timed = |sql: &str| -> Result<(Duration, ResultTable), String> {
        let t = Instant::now();
        let r = engine::run(conn, sql).map_err(|e| format!("{what}: {e}"))?;
        Ok((t.elapsed(), r))
    };
    let (plan, _) = timed(&format!("EXPLAIN {sql}"))?;
    let (run, result) = timed(sql)?;
    let (_, analyzed) = timed(&format!("EXPLAIN ANALYZE {sql}"))?;
    println!(
        "## {what}: {} kB of SQL, plan {:.0} ms, run {:.0} ms, {} rows\n",
        sql.len() / 1024,
        ms(plan),
        ms(run),
        result.rows.len()
    );
    for row in &analyzed.rows {
        if let Some(text) = row.last() {
            println!("{text}");
        }
    }
    Ok(())
}

/// The benchmark's own relations in schema `bench`: the day time spine of the benchmark-only
/// metrics and the hand-made calendar table of `benches/sql/calendars.sql`. Written only when
/// they are missing or their SQL changed (`bench.setup_version` holds a digest of it): any write
/// changes the database file's state, and with it every entry of tally's cache beside it.
fn setup(conn: &tally_duckdb::duckdb::Connection) -> Result<(), String> {
    const SPINE: &str = "CREATE SCHEMA IF NOT EXISTS bench;
         CREATE TABLE IF NOT EXISTS bench.time_spine AS
           SELECT CAST(range AS DATE) AS ds FROM range(DATE '2015-01-01', DATE '2035-01-01', INTERVAL 1 DAY);";
    let version = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (SPINE, CALENDARS_SQL).hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let current: Option<String> = conn
        .query_row("SELECT v FROM bench.setup_version", [], |r| r.get(0))
        .ok();
    if current.as_deref() == Some(version.as_str()) {
        return Ok(());
    }
    conn.execute_batch(SPINE).map_err(|e| e.to_string())?;
    conn.execute_batch(CALENDARS_SQL)
        .map_err(|e| format!("benches/sql/calendars.sql: {e}"))?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE bench.setup_version AS SELECT '{version}' AS v"
    ))
    .map_err(|e| e.to_string())
}

/// `--memory-limit SIZE`: DuckDB's memory limit for this connection (it spills larger operators
/// to a temporary directory beside the database); DuckDB's default is 80% of the machine's memory.
fn limit_memory(conn: &tally_duckdb::duckdb::Connection, opts: &Options) -> Result<(), String> {
    let Some(size) = &opts.memory_limit else {
        return Ok(());
    };
    conn.execute_batch(&format!(
        "SET memory_limit = '{}'",
        size.replace('\'', "''")
    ))
    .map_err(|e| format!("--memory-limit {size}: {e}"))
}

/// Whether two results have the same rows (in any order; numbers within a relative 1e-9).
pub(crate) fn same_rows(a: &ResultTable, b: &ResultTable) -> Result<(), String> {
    if a.columns != b.columns {
        return Err(format!("columns {:?} vs {:?}", a.columns, b.columns));
    }
    if a.rows.len() != b.rows.len() {
        return Err(format!("{} rows vs {}", a.rows.len(), b.rows.len()));
    }
    let key = |r: &Vec<Value>| r.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    let mut ra: Vec<&Vec<Value>> = a.rows.iter().collect();
    let mut rb: Vec<&Vec<Value>> = b.rows.iter().collect();
    ra.sort_by_key(|r| key(r));
    rb.sort_by_key(|r| key(r));
    for (x, y) in ra.iter().zip(&rb) {
        for (u, v) in x.iter().zip(y.iter()) {
            if !same_value(u, v) {
                return Err(format!("{u} vs {v} in row {}", key(x).join(", ")));
            }
        }
    }
    Ok(())
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn same_value(u: &Value, v: &Value) -> bool {
    match (number(u), number(v)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => u.to_string() == v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_carry_their_metric_and_group_by() {
        let qs = parse_sections(
            "-- header\n\n-- metric: a\nSELECT 1;\n\n-- metric: b by metric_time__day\nSELECT\n  2;\n",
        );
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].metric, "a");
        assert_eq!(qs[0].group_by, "metric_time__month");
        assert_eq!(qs[0].sql, "SELECT 1");
        assert_eq!(qs[1].group_by, "metric_time__day");
        assert_eq!(qs[1].sql, "SELECT\n  2");
    }

    /// Metrics of the project without hand-written SQL in `benches/sql` yet, sorted.
    const NOT_HAND_WRITTEN_YET: &[&str] = &[];

    #[test]
    fn hand_written_sql_covers_every_metric_of_the_project() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir =
            std::env::temp_dir().join(format!("tally-bench-exec-test-{}", std::process::id()));
        project_copy(&root, &dir).unwrap();
        let (model, diags) = tally_core::pipeline::load_model(
            &dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!diags.iter().any(|d| d.is_error()));
        let queries = hand_queries();
        // Every metric has hand-written SQL, except the ones listed as not written yet
        // (`tally-bench exec` prints them too). The list may only shrink.
        let mut missing: Vec<&str> = model
            .metrics
            .keys()
            .filter(|m| !queries.iter().any(|q| &q.metric == *m))
            .map(String::as_str)
            .collect();
        missing.sort_unstable();
        assert_eq!(
            missing, NOT_HAND_WRITTEN_YET,
            "metrics without hand-written SQL"
        );
        for q in &queries {
            assert!(model.metrics.contains_key(&q.metric), "{}", q.metric);
            let sql = fill_models(&model, &q.sql).unwrap();
            tally_core::sql::parse_back(Dialect::DuckDb, &sql).unwrap();
        }
    }

    /// The repository's project (with the benchmark-only metrics) and `conversations` generated
    /// conversations in a DuckDB file, the benchmark's own relations set up, all in a temporary
    /// directory.
    struct Sample {
        conn: tally_duckdb::duckdb::Connection,
        project: PathBuf,
        _tmp: tempfile::TempDir,
    }

    impl Sample {
        fn new(conversations: usize) -> Sample {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
            let tmp = tempfile::tempdir().unwrap();
            let project = tmp.path().join("project");
            project_copy(&root, &project).unwrap();
            let conn = engine::open(Some(&tmp.path().join("sample.duckdb"))).unwrap();
            let opts = tally_sample::SampleOptions {
                conversations,
                ..Default::default()
            };
            tally_sample::generate_intercom(&conn, &opts).unwrap();
            setup(&conn).unwrap();
            Sample {
                conn,
                project,
                _tmp: tmp,
            }
        }

        /// The project's model (loaded without errors).
        fn load(&self) -> Model {
            let (model, diags) = tally_core::pipeline::load_model(
                &self.project,
                &LoadOptions::default(),
                &tally_templates::builtin(),
            );
            assert!(!diags.iter().any(|d| d.is_error()));
            model
        }
    }

    /// Every hand-written query returns the same rows as tally's SQL for its metric, on generated
    /// sample data (2,000 conversations, in a temporary DuckDB file), the comparison that
    /// `tally-bench exec` makes on 1M conversations.
    #[test]
    fn hand_written_sql_agrees_with_tally_on_sample_data() {
        let sample = Sample::new(2_000);
        let (model, conn) = (sample.load(), &sample.conn);
        let queries = hand_queries();
        let mut disagreements = Vec::new();
        let mut business = 0;
        for q in &queries {
            let tally_sql = local_sql(conn, &model, q).unwrap();
            let tally_rows = engine::run(conn, &tally_sql).unwrap();
            let hand_rows = engine::run(conn, &fill_models(&model, &q.sql).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", q.metric));
            assert!(!tally_rows.rows.is_empty(), "{}: no rows", q.metric);
            if let Err(e) = same_rows(&tally_rows, &hand_rows) {
                disagreements.push(format!("{}: {e}", q.metric));
            }
            if tally_sql.contains("tally_bh__") {
                business += 1;
            }
        }
        assert!(disagreements.is_empty(), "{disagreements:#?}");
        // The business-time metrics ran as `tally query` runs them, the clock read from its
        // temporary tables (tally-duckdb's `tests/clock_form.rs` compares both forms).
        assert!(business >= 14, "{business} business-time metrics");
    }

    /// `exec --tables`: with the `sql:` models each query reads stored as tables, tally's SQL
    /// reads the tables (its business durations computed over them) and returns the rows it
    /// returns without them, and so does the hand-written SQL; a second run reuses the tables.
    #[test]
    fn queries_over_stored_models_return_the_same_rows() {
        let sample = Sample::new(1_000);
        let (model, mut over_tables) = (sample.load(), sample.load());
        let conn = &sample.conn;
        let queries = hand_queries();
        let mut stored = StoredModels::default();
        let (mut problems, mut over_stored) = (Vec::new(), 0);
        for q in &queries {
            let before = engine::run(conn, &local_sql(conn, &model, q).unwrap()).unwrap();
            stored.read_from_tables(conn, &mut over_tables, q).unwrap();
            let sql = local_sql(conn, &over_tables, q).unwrap();
            let hand = fill_models(&over_tables, &q.sql).unwrap();
            // Both sides read stored models, or neither (a query of table-backed models only).
            let reads = |text: &str| text.contains(&format!("{TABLES_SCHEMA}.m_"));
            if reads(&sql) != reads(&hand) {
                problems.push(format!("{}: only one side reads stored models", q.metric));
            }
            over_stored += usize::from(reads(&sql));
            let after = engine::run(conn, &sql).unwrap();
            let hand_rows = engine::run(conn, &hand).unwrap();
            for (what, r) in [
                ("tally", same_rows(&before, &after)),
                ("hand", same_rows(&after, &hand_rows)),
            ] {
                if let Err(e) = r {
                    problems.push(format!("{} ({what}): {e}", q.metric));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(
            over_stored >= 100,
            "{over_stored} queries read stored models"
        );
        assert!(stored.log.len() >= 8, "{} models stored", stored.log.len());
        assert!(stored.log.iter().all(|s| !s.reused && s.rows > 0));
        // Another run finds every table stored.
        let (mut again, mut fresh) = (StoredModels::default(), sample.load());
        for q in &queries {
            again.read_from_tables(conn, &mut fresh, q).unwrap();
        }
        assert_eq!(again.log.len(), stored.log.len());
        assert!(again.log.iter().all(|s| s.reused));
    }

    /// A cached database records its generator's version; one without it, or with another, is
    /// regenerated by `database`; a file that cannot be opened is an error, not a reason to.
    #[test]
    fn the_generator_version_is_read_from_the_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let versioned = tmp.path().join("v.duckdb");
        let conn = engine::open(Some(&versioned)).unwrap();
        conn.execute_batch(&format!(
            "CREATE SCHEMA intercom; CREATE TABLE intercom.{} (key VARCHAR, value VARCHAR); \
             INSERT INTO intercom.{0} VALUES ('as_of', 'x'), ('generator_version', '4');",
            tally_sample::METADATA_TABLE
        ))
        .unwrap();
        drop(conn);
        assert_eq!(generator_version(&versioned).unwrap().as_deref(), Some("4"));
        let bare = tmp.path().join("bare.duckdb");
        drop(engine::open(Some(&bare)).unwrap());
        assert_eq!(generator_version(&bare).unwrap(), None);
        let text = tmp.path().join("notes.txt");
        std::fs::write(&text, "not a database").unwrap();
        assert!(generator_version(&text).is_err());
    }

    #[test]
    fn rows_compare_in_any_order_with_tolerance() {
        let t = |rows: Vec<Vec<Value>>| ResultTable {
            columns: vec!["k".into(), "v".into()],
            rows,
        };
        let a = t(vec![
            vec![Value::Text("x".into()), Value::Int(2)],
            vec![Value::Text("y".into()), Value::Float(0.1 + 0.2)],
        ]);
        let b = t(vec![
            vec![Value::Text("y".into()), Value::Float(0.3)],
            vec![Value::Text("x".into()), Value::Float(2.0)],
        ]);
        assert!(same_rows(&a, &b).is_ok());
        let c = t(vec![
            vec![Value::Text("y".into()), Value::Float(0.31)],
            vec![Value::Text("x".into()), Value::Float(2.0)],
        ]);
        assert!(same_rows(&a, &c).is_err());
    }
}
