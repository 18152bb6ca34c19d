//! The `tally` command line. The only crate that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is the CLI's job

mod args;
mod calendars;
mod check;
mod ci;
mod database;
mod docs;
mod output;
mod report;
mod serve;
mod tree;

use args::{Cli, Command, QueryArgs};
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
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    report::install_bug_hook();
    // A panic has printed its bug diagnostic (E0901) through the hook.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(report::EXIT_BUG),
    }
}

struct Ctx {
    project: PathBuf,
    opts: LoadOptions,
    color: bool,
    /// The command prints JSON: its own errors are printed as JSON diagnostics on stdout too.
    json: bool,
}

impl Ctx {
    fn print_diags(&self, model: &Model, diags: &[Diagnostic]) {
        eprint!("{}", diag::render_human(&model.sources, diags, self.color));
    }

    /// Load the project; on errors print them and return the exit code.
    fn load(&self) -> Result<Model, u8> {
        let (model, diags) = tally_core::pipeline::load_model(&self.project, &self.opts);
        if diags.iter().any(|d| d.code == diag::codes::IO) && model.semantic_models.is_empty() {
            self.print_diags(&model, &diags);
            return Err(EXIT_USAGE);
        }
        let errors = diags.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            self.print_diags(&model, &diags);
            eprintln!("error: the project has {errors} error(s); run `tally validate` for details");
            return Err(EXIT_PROBLEMS);
        }
        Ok(model)
    }
}

fn run(cli: Cli) -> u8 {
    let color = match cli.color.as_str() {
        "always" => true,
        "never" => false,
        _ => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
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
    match cli.command {
        Command::Validate { format } if ci::handles_validate_format(&format) => {
            ci::validate(&ctx, &format)
        }
        Command::Validate { format } => validate(&ctx, &format),
        Command::Sql {
            query,
            dialect,
            stage,
        } => sql(&ctx, &query, dialect.as_deref(), &stage),
        Command::Query {
            query,
            duckdb,
            format,
        } => query_cmd(&ctx, &query, duckdb.as_deref(), &format),
        Command::List { what, search } => list(&ctx, &what, search.as_deref()),
        Command::Model { format: _ } => model_cmd(&ctx),
        Command::Graph {
            format,
            full,
            owners,
        } => graph(&ctx, &format, full, owners),
        Command::Lineage { metric, format } => lineage(&ctx, &metric, &format),
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
                grain: &grain,
                period: period.as_deref(),
                as_of: as_of.as_deref(),
                compare: &compare,
                format: &format,
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
            &generator,
            conversations,
            seed,
            duckdb.as_deref(),
            force,
        ),
        Command::Test { filter, format } => ci::test(&ctx, filter.as_deref(), &format),
        Command::Schema { kind, write } => schema(&ctx, &kind, write.as_deref()),
        Command::Calendars {
            action,
            calendar,
            format,
            dialect,
        } => calendars::run(
            &ctx,
            &action,
            calendar.as_deref(),
            &format,
            dialect.as_deref(),
        ),
        Command::Diff {
            base,
            format,
            data,
            duckdb,
        } => ci::diff(&ctx, &base, &format, data, duckdb.as_deref()),
        Command::Mcp { transport, serve } => serve::mcp(&ctx, &transport, &serve),
        Command::Serve { serve } => serve::http(&ctx, &serve),
        Command::Docs { action } => docs::run(&ctx, action),
        Command::Check(a) => check::run(&ctx, &a),
    }
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
fn schema(ctx: &Ctx, kind: &str, write: Option<&std::path::Path>) -> u8 {
    use tally_core::schema::{schema_text, SchemaKind};
    let Some(dir) = write else {
        let kind = SchemaKind::by_name(kind).unwrap_or(SchemaKind::Project);
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

fn validate(ctx: &Ctx, format: &str) -> u8 {
    let (model, diags) = tally_core::pipeline::load_model(&ctx.project, &ctx.opts);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_json(&model.sources, &diags)).expect("json")
        ),
        "github" => print!("{}", diag::render_github(&model.sources, &diags)),
        _ => {
            eprint!("{}", diag::render_human(&model.sources, &diags, ctx.color));
            if errors == 0 {
                eprintln!(
                    "ok: {} semantic models, {} metrics, {} saved queries; {warnings} warning(s)",
                    model.semantic_models.len(),
                    model.metrics.len(),
                    model.saved_queries.len()
                );
            } else {
                eprintln!("{errors} error(s), {warnings} warning(s)");
            }
        }
    }
    if diags.iter().any(|d| d.code == diag::codes::IO) && model.semantic_models.is_empty() {
        return EXIT_USAGE;
    }
    if errors > 0 {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
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
        req.where_.push(tally_core::model::Filter {
            text: w.clone(),
            span: tally_core::source::Span::DUMMY,
        });
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

fn pick_dialect(model: &Model, name: Option<&str>) -> Result<&'static dyn Dialect, u8> {
    let name = name
        .or(model.default_dialect.as_deref())
        .unwrap_or("duckdb");
    match dialect::by_name(name) {
        Some(d) => Ok(d),
        None => {
            let mut msg = format!(
                "error[E0404]: unknown dialect `{name}`; dialects: {}",
                dialect::NAMES.join(", ")
            );
            if let Some(s) = diag::did_you_mean(name, dialect::NAMES.iter().copied()) {
                msg.push_str(&format!("\n  help: did you mean `{s}`?"));
            }
            eprintln!("{msg}");
            Err(EXIT_USAGE)
        }
    }
}

fn compile(
    ctx: &Ctx,
    model: &Model,
    q: &QueryArgs,
    d: &dyn Dialect,
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

fn sql(ctx: &Ctx, q: &QueryArgs, dialect: Option<&str>, stage: &str) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let d = match pick_dialect(&model, dialect) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let compiled = match compile(ctx, &model, q, d) {
        Ok(c) => c,
        Err(c) => return c,
    };
    match stage {
        "plan" => println!(
            "{}",
            serde_json::to_string_pretty(&compiled.plan).expect("plan serialises")
        ),
        _ => print!("{}", compiled.sql),
    }
    EXIT_OK
}

/// The database to use: the `--duckdb` flag (the user's own choice), else `duckdb:` of tally.yml,
/// which must stay inside the project unless --allow-outside-project.
fn database_path(
    ctx: &Ctx,
    model_db: Option<String>,
    flag: Option<&Path>,
) -> Result<Option<PathBuf>, u8> {
    if let Some(f) = flag {
        return Ok(Some(f.to_path_buf()));
    }
    let Some(p) = model_db else { return Ok(None) };
    let path = ctx.project.join(p);
    let reader = tally_core::files::FileReader::new(&ctx.project, ctx.opts.allow_outside_project);
    if let Err(e) = reader.check_inside(&path) {
        eprintln!(
            "error[{}]: the DuckDB database (`duckdb:` in tally.yml or the dbt target's `path:`): {}",
            diag::codes::OUTSIDE_PROJECT,
            e.message()
        );
        eprintln!("  help: pass --allow-outside-project to trust this project with more, or --duckdb PATH");
        return Err(EXIT_USAGE);
    }
    Ok(Some(path))
}

fn query_cmd(ctx: &Ctx, q: &QueryArgs, duckdb: Option<&Path>, format: &str) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let compiled = match compile(ctx, &model, q, &dialect::DuckDb) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let conn = match open_database(ctx, duckdb) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if let Err(c) = install_clocks(&conn, &model) {
        return c;
    }
    run_query(&conn, &model, q, &compiled, format)
}

/// The business clocks too large to inline, as temporary tables of the session
/// (`tally_duckdb::clock`). Errors are printed; the exit code returned.
fn install_clocks(conn: &tally_duckdb::duckdb::Connection, model: &Model) -> Result<(), u8> {
    tally_duckdb::clock::install(conn, model).map_err(|e| {
        eprintln!(
            "error[{}]: cannot create the business clock tables in DuckDB: {e}",
            diag::codes::DATABASE
        );
        EXIT_PROBLEMS
    })
}

/// The project's DuckDB database for reading (`--duckdb`, else tally.yml's `duckdb:`, else a dbt
/// DuckDB target's `path:`; sample data generated first when configured and missing), or a sealed
/// in-memory database when the project names none. Errors are printed; the exit code returned.
fn open_database(ctx: &Ctx, duckdb: Option<&Path>) -> Result<tally_duckdb::duckdb::Connection, u8> {
    let (spec, _) = tally_core::load::load_project(&ctx.project, &ctx.opts);
    // tally.yml's `duckdb:`, else a dbt DuckDB target's `path:`.
    let db_setting = spec
        .config
        .duckdb
        .as_ref()
        .map(|s| s.value.clone())
        .or_else(|| spec.dbt.as_ref().and_then(|d| d.duckdb_path.clone()));
    let from_dbt = spec.config.duckdb.is_none() && db_setting.is_some();
    let sample = spec.config.sample_data.clone();
    drop(spec);
    let path = database_path(ctx, db_setting, duckdb)?;
    if let Some(p) = path
        .as_deref()
        .filter(|p| from_dbt && duckdb.is_none() && !p.exists())
    {
        let d = Diagnostic::error(
            diag::codes::IO,
            format!(
                "the dbt target's DuckDB database `{}` does not exist",
                p.display()
            ),
        )
        .with_help(
            "build it with `dbt build` (or `dbt seed` and `dbt run`), or pass --duckdb FILE",
        );
        return Err(report::fail(ctx, d, EXIT_USAGE));
    }
    if let Some(p) = &path {
        if !p.exists() {
            if let Some(cfg) = sample.as_ref().filter(|_| duckdb.is_none()) {
                generate_from_config(ctx, p, cfg)?;
            }
        }
    }
    let opened = match path.as_deref() {
        // Never create a database tally was asked to read: a mistyped path is an error.
        Some(p) if !p.is_file() => {
            eprintln!(
                "error[{}]: DuckDB database {} does not exist (or is not a file)",
                diag::codes::IO,
                p.display()
            );
            eprintln!("  help: check the path, or create the database first (`tally sample-data intercom --duckdb PATH`)");
            return Err(EXIT_USAGE);
        }
        Some(p) => tally_duckdb::engine::open_project_database(p),
        None => tally_duckdb::engine::open_sandboxed_in_memory()
            .and_then(|c| tally_duckdb::engine::seal(&c).map(|()| c)),
    };
    opened.map_err(|e| {
        eprintln!(
            "error[{}]: cannot open DuckDB database: {e}",
            diag::codes::IO
        );
        EXIT_USAGE
    })
}

fn run_query(
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    q: &QueryArgs,
    compiled: &tally_core::pipeline::Compiled,
    format: &str,
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
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "error[{}]: DuckDB could not run the query: {e}",
                diag::codes::DATABASE
            );
            eprintln!("  help: see the SQL with `tally sql` and the same flags");
            EXIT_PROBLEMS
        }
    }
}

fn generate_from_config(
    ctx: &Ctx,
    path: &Path,
    cfg: &tally_core::spec::SampleData,
) -> Result<(), u8> {
    let generator = cfg.generator.name();
    let conversations = cfg.conversations.min(usize::MAX as u64) as usize;
    let seed = cfg.seed;
    eprintln!(
        "note: {} does not exist; generating {generator} sample data ({conversations} conversations, seed {seed}) first",
        path.display()
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
    generator: &str,
    conversations: usize,
    seed: u64,
    path: &Path,
    only_if_missing: bool,
) -> u8 {
    if generator != "intercom" {
        let d = Diagnostic::error(
            diag::codes::CONFIG,
            format!("unknown sample-data generator `{generator}`"),
        )
        .with_help("generators: intercom");
        return report::fail(ctx, d, EXIT_USAGE);
    }
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
        let s = tally_sample::generate_intercom(&conn, &opts)
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
    generator: &str,
    conversations: usize,
    seed: u64,
    duckdb: Option<&Path>,
    force: bool,
) -> u8 {
    let path = match duckdb {
        Some(p) => p.to_path_buf(),
        None => {
            let (spec, _) = tally_core::load::load_project(&ctx.project, &ctx.opts);
            let setting = spec.config.duckdb.map(|p| p.value);
            match database_path(ctx, setting, None) {
                Ok(Some(p)) => p,
                Ok(None) => ctx.project.join(".tally/support.duckdb"),
                Err(c) => return c,
            }
        }
    };
    // Never destroy what tally did not make: only a DuckDB database, and only with --force.
    match database::inspect(&path) {
        Err(why) => {
            eprintln!(
                "error[{}]: refusing to write {}: {why}",
                diag::codes::USAGE,
                path.display()
            );
            eprintln!("  help: give another path with --duckdb");
            return EXIT_USAGE;
        }
        Ok(database::Target::DuckDb) if !force => {
            eprintln!(
                "error[{}]: {} already exists; pass --force to replace this DuckDB database",
                diag::codes::USAGE,
                path.display()
            );
            return EXIT_USAGE;
        }
        Ok(_) => {}
    }
    publish_sample(ctx, generator, conversations, seed, &path, false)
}

fn graph(ctx: &Ctx, format: &str, full: bool, owners: bool) -> u8 {
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
        "dot" => print!("{}", tally_core::graph::to_dot(&g, &opts)),
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&tally_core::graph::to_json(&g, &opts)).expect("json")
        ),
        _ => print!("{}", tally_core::graph::to_mermaid(&g, &opts)),
    }
    EXIT_OK
}

fn lineage(ctx: &Ctx, metric: &str, format: &str) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    match tally_core::graph::lineage(&model, metric) {
        Ok(l) => {
            if format == "json" {
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

fn list(ctx: &Ctx, what: &str, search: Option<&str>) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let matches = |s: &str| search.is_none_or(|q| s.to_lowercase().contains(&q.to_lowercase()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header: Vec<&str>;
    match what {
        "metrics" => {
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
        "dimensions" => {
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
        "entities" => {
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
        _ => {
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
