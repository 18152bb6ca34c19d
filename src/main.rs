//! The `tally` command line. The only crate that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is the CLI's job

mod args;
mod cache;
mod calendars;
mod check;
mod choices;
mod ci;
mod database;
mod docs;
mod output;
mod project;
mod report;
mod serve;
mod tree;
mod usage;
mod vcache;

use args::{Cli, Command, QueryArgs};
use choices::{DialectArg, GraphFormat, LineageFormat, ListWhat, QueryFormat, Stage};
use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_core::diag::{self, Diagnostic};
use tally_core::dialect::{self, Dialect};
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::yaml::Spanned;

/// Exit codes (documented in the README).
const EXIT_OK: u8 = 0;
const EXIT_PROBLEMS: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        // A bad flag or value is a coded diagnostic too (E0010, E0004 for a dialect).
        Err(e) => return ExitCode::from(usage::report(&e, &argv)),
    };
    report::install_bug_hook();
    // A panic has printed its bug diagnostic (E0901) through the hook.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(code) => ExitCode::from(code),
        Err(_) if report::was_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(_) => ExitCode::from(report::EXIT_BUG),
    }
}

struct Ctx {
    project: PathBuf,
    opts: LoadOptions,
    color: bool,
    /// The command prints JSON: its own errors are printed as JSON diagnostics on stdout too.
    json: bool,
    /// `--cache`: the materialisation cache of queries run on the local DuckDB.
    cache: tally_duckdb::cache::Mode,
    /// `-v`: say what the cache did.
    verbose: bool,
    /// How often the project's files were read (`project::debug_loads`).
    loads: std::cell::Cell<u32>,
    /// The database settings of the project, read with it (`project::database_settings`).
    database: std::cell::OnceCell<project::DatabaseSettings>,
}

impl Ctx {
    /// Print diagnostics of the project: human text on stderr, or JSON on stdout when the
    /// command prints JSON.
    fn print_diags(&self, model: &Model, diags: &[Diagnostic]) {
        report::print_in(self, &model.sources, diags);
    }

    /// Load the project; on errors print them and return the exit code.
    fn load(&self) -> Result<Model, u8> {
        project::load_valid(self)
    }
}

fn run(cli: Cli) -> u8 {
    let color = match cli.color {
        choices::Color::Always => true,
        choices::Color::Never => false,
        choices::Color::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let ctx = Ctx {
        project: cli.project.clone().unwrap_or_else(|| PathBuf::from(".")),
        opts: LoadOptions {
            source_schema: cli.source_schema.clone(),
            dbt: cli.dbt_options(),
            manifest: cli.manifest.clone(),
            allow_outside_project: cli.allow_outside_project,
        },
        color,
        json: cli.command.prints_json(),
        cache: cache::mode(cli.cache),
        verbose: cli.verbose,
        loads: Default::default(),
        database: Default::default(),
    };
    if cli.manifest.is_none() && !matches!(cli.command, Command::Schema { .. }) {
        if let Some(m) = tally_core::load::newer_manifest(&ctx.project) {
            eprintln!(
                "note: {} is newer than the project's YAML files; tally reads the YAML.\n      To read dbt's rendered manifest instead, pass `--manifest {}`.",
                m.display(),
                m.display()
            );
        }
    }
    if let Err(msg) = check_flags(&cli.command) {
        return report::fail(
            &ctx,
            Diagnostic::error(diag::codes::USAGE, msg).with_help("see `tally help`"),
            EXIT_USAGE,
        );
    }
    let code = match cli.command {
        Command::Validate { format } => project::validate(&ctx, format),
        Command::Sql {
            query,
            dialect,
            stage,
        } => sql(&ctx, &query, dialect, stage),
        Command::Query {
            query,
            duckdb,
            format,
        } => query_cmd(&ctx, &query, duckdb.as_deref(), format),
        Command::List { what, search } => list(&ctx, what, search.as_deref()),
        Command::Model { format: _ } => model_cmd(&ctx),
        Command::Graph {
            format,
            full,
            owners,
        } => graph(&ctx, format, full, owners),
        Command::Lineage { metric, format } => lineage(&ctx, &metric, format),
        Command::Tree {
            root,
            grain,
            period,
            as_of,
            compare,
            by,
            format,
            duckdb,
        } => tree::run(
            &ctx,
            &tree::TreeArgs {
                root: root.as_deref(),
                grain,
                period: period.as_deref(),
                as_of: as_of.as_deref(),
                compare,
                format,
                by: by.as_deref(),
                duckdb: duckdb.as_deref(),
            },
        ),
        Command::SampleData {
            generator,
            conversations,
            seed,
            duckdb,
            force,
        } => sample_data(
            &ctx,
            generator.generator(),
            conversations,
            seed,
            duckdb.as_deref(),
            force,
        ),
        Command::Test { filter, format } => ci::test(&ctx, filter.as_deref(), format),
        Command::Cache { action, duckdb } => cache::run(&ctx, action, duckdb.as_deref()),
        Command::Schema { kind, write } => schema(&ctx, kind.kind(), write.as_deref()),
        Command::Calendars {
            action,
            calendar,
            format,
            dialect,
            duckdb,
        } => calendars::run(
            &ctx,
            action,
            calendar.as_deref(),
            format,
            dialect,
            duckdb.as_deref(),
        ),
        Command::Diff {
            base,
            format,
            data,
            duckdb,
        } => ci::diff(&ctx, &base, format, data, duckdb.as_deref()),
        Command::Mcp { transport, serve } => serve::mcp(&ctx, transport, &serve),
        Command::Serve { serve } => serve::http(&ctx, &serve),
        Command::Docs { action } => docs::run(&ctx, action),
        Command::Check(a) => check::run(&ctx, &a),
    };
    project::debug_loads(&ctx);
    code
}

/// `tally model`: the resolved model as canonical JSON.
fn model_cmd(ctx: &Ctx) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let dump = tally_core::model_dump::dump(&model);
    println!("{}", serde_json::to_string_pretty(&dump).expect("json"));
    EXIT_OK
}

/// Flag values clap accepts but tally cannot honour: a usage error (exit 2, E0010).
fn check_flags(command: &Command) -> Result<(), String> {
    let limit = match command {
        Command::Sql { query, .. } | Command::Query { query, .. } => query.limit,
        _ => None,
    };
    if let Some(l) = limit.filter(|l| *l > i64::MAX as u64) {
        return Err(format!(
            "--limit {l} is larger than {}, the largest limit SQL takes",
            i64::MAX
        ));
    }
    if let Command::SampleData { conversations, .. } = command {
        use tally_sample::{MAX_CONVERSATIONS, MIN_CONVERSATIONS};
        if !(MIN_CONVERSATIONS..=MAX_CONVERSATIONS).contains(conversations) {
            return Err(format!(
                "--conversations {conversations} is out of range: give {MIN_CONVERSATIONS} to {MAX_CONVERSATIONS}"
            ));
        }
    }
    Ok(())
}

/// `tally schema`: print one JSON Schema, or write both into a directory.
fn schema(ctx: &Ctx, kind: tally_core::schema::SchemaKind, write: Option<&std::path::Path>) -> u8 {
    use tally_core::schema::{schema_text, SchemaKind};
    let Some(dir) = write else {
        print!("{}", schema_text(kind));
        return EXIT_OK;
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        let d = Diagnostic::error(
            diag::codes::IO,
            format!("cannot create {}: {e}", dir.display()),
        )
        .with_help("pass a directory you can write to");
        return report::fail(ctx, d, EXIT_USAGE);
    }
    for kind in SchemaKind::ALL {
        let path = dir.join(kind.file_name());
        if let Err(e) = std::fs::write(&path, schema_text(kind)) {
            let d = Diagnostic::error(
                diag::codes::IO,
                format!("cannot write {}: {e}", path.display()),
            )
            .with_help("pass a directory you can write to");
            return report::fail(ctx, d, EXIT_USAGE);
        }
        eprintln!("wrote {}", path.display());
    }
    EXIT_OK
}

/// Build a query request from the command-line flags.
fn request(model: &Model, q: &QueryArgs) -> Result<QueryRequest, Vec<Diagnostic>> {
    let mut req = match &q.saved_query {
        Some(name) => QueryRequest::from_saved_query(model, name).map_err(|d| vec![d])?,
        None => QueryRequest::default(),
    };
    let spanned = |v: &[String]| -> Vec<Spanned<String>> {
        v.iter()
            .flat_map(|s| args::split_list(s))
            .map(Spanned::synthetic)
            .collect()
    };
    req.metrics.extend(spanned(&q.metrics));
    req.group_by.extend(spanned(&q.group_by));
    req.order_by.extend(spanned(&q.order));
    for w in &q.where_ {
        req.where_.push(tally_core::model::Filter::new(
            w.clone(),
            tally_core::source::Span::DUMMY,
        ));
    }
    if q.limit.is_some() {
        req.limit = q.limit;
    }
    req.start_time = q.start_time.clone();
    req.end_time = q.end_time.clone();
    req.min_max_only |= q.min_max_only;
    req.no_group_by |= q.no_dedupe;
    Ok(req)
}

/// The dialect of the flag (clap has parsed it), else named by tally.yml, else DuckDB; an unknown
/// name in tally.yml is E0004 (the one unknown-dialect diagnostic, with its "did you mean").
fn pick_dialect(ctx: &Ctx, model: &Model, flag: Option<DialectArg>) -> Result<Dialect, u8> {
    let name = match (flag, model.default_dialect.as_deref()) {
        (Some(DialectArg(d)), _) => return Ok(d),
        (None, Some(n)) => n,
        (None, None) => return Ok(Dialect::DuckDb),
    };
    name.parse::<Dialect>().map_err(|e| {
        ctx.print_diags(model, &[e.diagnostic().at(model.default_dialect_span)]);
        EXIT_USAGE
    })
}

/// DuckDB's error running a query, with a hint for the errors that have a known cause.
fn database_error(e: &str) -> Diagnostic {
    let d = Diagnostic::error(
        diag::codes::DATABASE,
        format!("DuckDB could not run the query: {e}"),
    );
    match database::ambiguity_hint(e) {
        Some(hint) => d.with_help(hint),
        None => d,
    }
}

fn compile(
    ctx: &Ctx,
    model: &Model,
    q: &QueryArgs,
    d: Dialect,
) -> Result<tally_core::pipeline::Compiled, u8> {
    let req = match request(model, q) {
        Ok(r) => r,
        Err(diags) => {
            ctx.print_diags(model, &diags);
            return Err(EXIT_PROBLEMS);
        }
    };
    tally_core::pipeline::compile(model, d, &req).map_err(|diags| {
        ctx.print_diags(model, &diags);
        EXIT_PROBLEMS
    })
}

fn sql(ctx: &Ctx, q: &QueryArgs, dialect: Option<DialectArg>, stage: Stage) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let d = match pick_dialect(ctx, &model, dialect) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let compiled = match compile(ctx, &model, q, d) {
        Ok(c) => c,
        Err(c) => return c,
    };
    match stage {
        Stage::Plan => println!(
            "{}",
            serde_json::to_string_pretty(&compiled.plan).expect("plan serialises")
        ),
        Stage::Sql => print!("{}", compiled.sql),
    }
    EXIT_OK
}

fn query_cmd(ctx: &Ctx, q: &QueryArgs, duckdb: Option<&Path>, format: QueryFormat) -> u8 {
    let mut model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let mut compiled = match compile(ctx, &model, q, dialect::Dialect::DuckDb) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let (conn, mut session) =
        match project::open_database(ctx, duckdb, project::WithoutDatabase::InMemory) {
            Ok(c) => c,
            Err(c) => return c,
        };
    if let Err(c) = install_clocks(ctx, &conn, &model) {
        return c;
    }
    // The `sql:` relations the query reads, materialised once (`tally cache`).
    if cache::prepare(ctx, &mut session, &conn, &mut model, [&compiled.plan]) {
        compiled = match compile(ctx, &model, q, dialect::Dialect::DuckDb) {
            Ok(c) => c,
            Err(c) => return c,
        };
    }
    run_query(ctx, &conn, &model, q, &compiled, format)
}

/// The business clocks too large to inline, as temporary tables of the session
/// (`tally_duckdb::clock`). Errors are printed; the exit code returned.
fn install_clocks(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
) -> Result<(), u8> {
    tally_duckdb::clock::install(conn, model).map_err(|e| {
        let d = Diagnostic::error(
            diag::codes::DATABASE,
            format!("cannot create the business clock tables in DuckDB: {e}"),
        );
        report::fail(ctx, d, EXIT_PROBLEMS)
    })
}

fn run_query(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    q: &QueryArgs,
    compiled: &tally_core::pipeline::Compiled,
    format: QueryFormat,
) -> u8 {
    match tally_duckdb::engine::run(conn, &compiled.sql) {
        Ok(mut table) => {
            // Without an order (no --order, none in the saved query) the database returns groups
            // in any order; print them sorted by the group-by columns (the leading columns).
            let saved_order = q
                .saved_query
                .as_ref()
                .and_then(|n| model.saved_queries.get(n))
                .is_some_and(|sq| !sq.order_by.is_empty());
            if q.order.is_empty() && !saved_order {
                table.rows.sort_by(|a, b| output::compare_rows(a, b));
            }
            print!("{}", output::render(&table, format));
            calendars::warn_out_of_range(ctx, conn, model, &compiled.plan.query);
            EXIT_OK
        }
        Err(e) => {
            let d = database_error(&e.to_string())
                .with_help("see the SQL with `tally sql` and the same flags");
            report::fail(ctx, d, EXIT_PROBLEMS)
        }
    }
}

fn generate_from_config(
    ctx: &Ctx,
    path: &Path,
    cfg: &tally_core::spec::SampleData,
) -> Result<(), u8> {
    let generator = cfg.generator;
    let conversations = cfg.conversations.min(usize::MAX as u64) as usize;
    let seed = cfg.seed;
    eprintln!(
        "note: {} does not exist; generating {} sample data ({conversations} conversations, seed {seed}) first",
        path.display(),
        generator.name()
    );
    // Concurrent first runs: one generates under the lock, the others wait and then read it.
    match publish_sample(ctx, generator, conversations, seed, path, true) {
        0 => Ok(()),
        c => Err(c),
    }
}

/// Generate sample data and publish it at `path` (see [`database::publish`]).
fn publish_sample(
    ctx: &Ctx,
    generator: tally_core::spec::SampleGenerator,
    conversations: usize,
    seed: u64,
    path: &Path,
    only_if_missing: bool,
) -> u8 {
    use tally_sample::{MAX_CONVERSATIONS, MIN_CONVERSATIONS};
    if !(MIN_CONVERSATIONS..=MAX_CONVERSATIONS).contains(&conversations) {
        let d = Diagnostic::error(
            diag::codes::USAGE,
            format!("{conversations} conversations is out of range"),
        )
        .with_help(format!("give {MIN_CONVERSATIONS} to {MAX_CONVERSATIONS}"));
        return report::fail(ctx, d, EXIT_USAGE);
    }
    let mut summary = None;
    let result = database::publish(path, only_if_missing, |tmp| {
        let conn = tally_duckdb::engine::open(Some(tmp))
            .map_err(|e| format!("cannot create DuckDB database {}: {e}", tmp.display()))?;
        let opts = tally_sample::SampleOptions {
            conversations,
            seed,
            schema: "intercom".into(),
            progress: std::io::stderr().is_terminal(),
        };
        let s = match generator {
            tally_core::spec::SampleGenerator::Intercom => {
                tally_sample::generate_intercom(&conn, &opts)
            }
        }
        .map_err(|e| format!("sample data generation failed: {e}"))?;
        // Closing checkpoints the write-ahead log into the file before it is renamed.
        conn.close()
            .map_err(|(_, e)| format!("cannot close {}: {e}", tmp.display()))?;
        summary = Some(s);
        Ok(())
    });
    match result {
        Ok(database::Published::AlreadyThere) => {
            eprintln!(
                "note: {} was generated meanwhile by another tally",
                path.display()
            );
            EXIT_OK
        }
        Ok(database::Published::Generated) => {
            if let Some(summary) = summary {
                let rows: u64 = summary.tables.iter().map(|(_, n)| n).sum();
                eprintln!(
                    "note: wrote {} tables ({rows} rows) to {}, as of {}",
                    summary.tables.len(),
                    path.display(),
                    summary.as_of
                );
            }
            EXIT_OK
        }
        Err(e) => report::fail(
            ctx,
            Diagnostic::error(diag::codes::IO, e)
                .with_help("check that the directory exists and is writable"),
            EXIT_PROBLEMS,
        ),
    }
}

fn sample_data(
    ctx: &Ctx,
    generator: tally_core::spec::SampleGenerator,
    conversations: usize,
    seed: u64,
    duckdb: Option<&Path>,
    force: bool,
) -> u8 {
    let path = match duckdb {
        Some(p) => p.to_path_buf(),
        None => {
            // tally.yml's `duckdb:` only: a dbt target's database is dbt's to build.
            let settings = project::database_settings(ctx);
            let setting = settings.setting.filter(|_| !settings.from_dbt);
            match project::database_path(ctx, setting.as_deref(), None) {
                Ok(Some(p)) => p,
                Ok(None) => ctx.project.join(".tally/support.duckdb"),
                Err(c) => return c,
            }
        }
    };
    // Never destroy what tally did not make: only a DuckDB database, and only with --force.
    match database::inspect(&path) {
        Err(why) => {
            let d = Diagnostic::error(
                diag::codes::USAGE,
                format!("refusing to write {}: {why}", path.display()),
            )
            .with_help("give another path with --duckdb");
            return report::fail(ctx, d, EXIT_USAGE);
        }
        Ok(database::Target::DuckDb) if !force => {
            let d = Diagnostic::error(
                diag::codes::USAGE,
                format!("{} already exists", path.display()),
            )
            .with_help(
                "pass --force to replace this DuckDB database, or give another path with --duckdb",
            );
            return report::fail(ctx, d, EXIT_USAGE);
        }
        Ok(_) => {}
    }
    publish_sample(ctx, generator, conversations, seed, &path, false)
}

fn graph(ctx: &Ctx, format: GraphFormat, full: bool, owners: bool) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let g = tally_core::graph::build_graph(&model);
    let mut opts = if full {
        tally_core::graph::GraphOptions::full()
    } else {
        tally_core::graph::GraphOptions::metric_tree()
    };
    if owners {
        opts = opts.with_owners();
    }
    match format {
        GraphFormat::Dot => print!("{}", tally_core::graph::to_dot(&g, &opts)),
        GraphFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&tally_core::graph::to_json(&g, &opts)).expect("json")
        ),
        GraphFormat::Mermaid => print!("{}", tally_core::graph::to_mermaid(&g, &opts)),
    }
    EXIT_OK
}

fn lineage(ctx: &Ctx, metric: &str, format: LineageFormat) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    match tally_core::graph::lineage(&model, metric) {
        Ok(l) => {
            if format == LineageFormat::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&tally_core::graph::lineage_to_json(&l))
                        .expect("json")
                );
            } else {
                print!("{}", tally_core::graph::render_lineage_text(&l));
            }
            EXIT_OK
        }
        Err(d) => {
            ctx.print_diags(&model, &[d]);
            EXIT_PROBLEMS
        }
    }
}

fn list(ctx: &Ctx, what: ListWhat, search: Option<&str>) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let matches = |s: &str| search.is_none_or(|q| s.to_lowercase().contains(&q.to_lowercase()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header: Vec<&str>;
    match what {
        ListWhat::Metrics => {
            header = vec!["metric", "type", "label", "accountable", "description"];
            // Hidden metrics (dbt's `hidden: true`) stay queryable but are not listed.
            for m in model.metrics.values().filter(|m| !m.hidden) {
                if matches(&m.name) || m.label.as_deref().is_some_and(&matches) {
                    rows.push(vec![
                        m.name.clone(),
                        m.type_name().into(),
                        m.label.clone().unwrap_or_default(),
                        m.owners.accountable.clone().unwrap_or_default(),
                        m.description
                            .clone()
                            .unwrap_or_default()
                            .lines()
                            .next()
                            .unwrap_or("")
                            .into(),
                    ]);
                }
            }
        }
        ListWhat::Dimensions => {
            header = vec!["dimension", "type", "semantic model", "group by as"];
            for sm in &model.semantic_models {
                let prefix = sm.primary_entity_name().unwrap_or("");
                for d in &sm.dimensions {
                    if matches(&d.name) {
                        let name = if prefix.is_empty() {
                            d.name.clone()
                        } else {
                            format!("{prefix}__{}", d.name)
                        };
                        rows.push(vec![
                            d.name.clone(),
                            match d.time_grain {
                                Some(g) => format!("time ({g})"),
                                None => "categorical".into(),
                            },
                            sm.name.clone(),
                            name,
                        ]);
                    }
                }
            }
        }
        ListWhat::Entities => {
            header = vec!["entity", "type", "semantic model", "expr"];
            for sm in &model.semantic_models {
                for e in &sm.entities {
                    if matches(&e.name) {
                        rows.push(vec![
                            e.name.clone(),
                            format!("{:?}", e.kind).to_lowercase(),
                            sm.name.clone(),
                            e.expr.clone(),
                        ]);
                    }
                }
            }
        }
        ListWhat::SavedQueries => {
            header = vec!["saved query", "metrics", "group by"];
            for sq in model.saved_queries.values() {
                if matches(&sq.name) {
                    rows.push(vec![
                        sq.name.clone(),
                        sq.metrics
                            .iter()
                            .map(|m| m.value.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                        sq.group_by
                            .iter()
                            .map(|m| m.value.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]);
                }
            }
        }
    }
    print!("{}", output::simple_table(&header, &rows));
    EXIT_OK
}
