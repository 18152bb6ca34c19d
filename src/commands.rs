//! What the two binaries share: the context of a command (`Ctx`), the exit codes, and the
//! commands that run no SQL on DuckDB (`validate`, `sql`, `list`, `model`, `graph`, `lineage`,
//! `schema`, `docs`, `calendars` but `check --duckdb`, `diff` but `--data`). The lean `tally` binary runs these itself and hands every other command to
//! `tally-engine` (`handoff`); `tally-engine` runs them all.

use crate::args::{Cli, Command, QueryArgs};
use crate::choices::{self, DialectArg, GraphFormat, LineageFormat, ListWhat, Stage};
use crate::{args, project, report, table};
use std::io::IsTerminal;
use std::path::PathBuf;
use tally_core::diag::{self, Diagnostic};
use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::pipeline::{ClockForm, NothingParsed, ParsedBefore};
use tally_core::plan::QueryRequest;
use tally_core::yaml::Spanned;

/// Exit codes (documented in the README).
pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_PROBLEMS: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;

pub(crate) struct Ctx {
    pub(crate) project: PathBuf,
    pub(crate) opts: LoadOptions,
    pub(crate) color: bool,
    /// The command prints JSON: its own errors are printed as JSON diagnostics on stdout too.
    pub(crate) json: bool,
    /// The format of the command's warnings and notes (`report::warn`).
    pub(crate) diag_format: choices::DiagFormat,
    /// Warnings not printed yet (every format but human; `report::flush`).
    pub(crate) pending: std::cell::RefCell<report::Pending>,
    /// `--cache`: the materialisation cache of queries run on the local DuckDB.
    pub(crate) cache: crate::args::CacheMode,
    /// `-v`: say what the cache did.
    pub(crate) verbose: bool,
    /// How often the project's files were read (`project::debug_loads`).
    pub(crate) loads: std::cell::Cell<u32>,
    /// The database settings of the project, read with it (`project::database_settings`).
    pub(crate) database: std::cell::OnceCell<project::DatabaseSettings>,
    /// The validation cache's entry of the project state loaded first (`vcache`): it remembers
    /// the generated SQL that parsed back.
    pub(crate) validated: std::cell::OnceCell<crate::vcache::Slot>,
}

impl Ctx {
    /// Print diagnostics of the project: human text on stderr, or JSON on stdout when the
    /// command prints JSON.
    pub(crate) fn print_diags(&self, model: &Model, diags: &[Diagnostic]) {
        report::print_in(self, &model.sources, diags);
    }

    /// Load the project; on errors print them and return the exit code.
    pub(crate) fn load(&self) -> Result<Model, u8> {
        project::load_valid(self)
    }
}

/// The context of the command line `cli`.
pub(crate) fn context(cli: &Cli) -> Ctx {
    let color = match cli.color {
        choices::Color::Always => true,
        choices::Color::Never => false,
        choices::Color::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    Ctx {
        project: cli.project.clone().unwrap_or_else(|| PathBuf::from(".")),
        opts: LoadOptions {
            source_schema: cli.source_schema.clone(),
            dbt: cli.dbt_options(),
            manifest: cli.manifest.clone(),
            allow_outside_project: cli.allow_outside_project,
        },
        color,
        json: cli.command.prints_json(),
        diag_format: cli.command.diag_format(),
        pending: Default::default(),
        cache: cli.cache,
        verbose: cli.verbose,
        loads: Default::default(),
        database: Default::default(),
        validated: Default::default(),
    }
}

/// Run `command` if it runs no SQL on DuckDB; otherwise give it back untouched (nothing printed)
/// for `tally-engine`.
pub(crate) fn run(ctx: &Ctx, command: Command) -> Result<u8, Command> {
    let runs_no_sql = matches!(
        command,
        Command::Validate { .. }
            | Command::Sql { .. }
            | Command::List { .. }
            | Command::Model { .. }
            | Command::Graph { .. }
            | Command::Lineage { .. }
            | Command::Schema { .. }
            | Command::Docs { .. }
            // `diff --data` runs the metrics on DuckDB (`ci::diff`, in the engine).
            | Command::Diff { data: false, .. }
    ) || matches!(
        // `check --duckdb` and `export --duckdb` run SQL (`calendars`, in the engine).
        &command,
        Command::Calendars { action, duckdb, .. }
            if *action == choices::CalendarsAction::List || duckdb.is_none()
    );
    if !runs_no_sql {
        return Err(command);
    }
    if let Err(code) = prelude(ctx, &command) {
        return Ok(code);
    }
    Ok(match command {
        Command::Validate { format } => project::validate(ctx, format),
        Command::Sql {
            query,
            dialect,
            stage,
            clock,
        } => sql(ctx, &query, dialect, stage, clock.form()),
        Command::List { what, search } => list(ctx, what, search.as_deref()),
        Command::Model { format: _ } => model_cmd(ctx),
        Command::Graph {
            format,
            full,
            owners,
        } => graph(ctx, format, full, owners),
        Command::Lineage { metric, format } => lineage(ctx, &metric, format),
        Command::Schema { kind, write } => schema(ctx, kind.kind(), write.as_deref()),
        Command::Docs { action } => crate::docs::run(ctx, action),
        Command::Diff {
            base,
            format,
            data: false,
            duckdb: _,
        } => crate::diff::run(ctx, &base, format, None),
        Command::Calendars {
            action,
            calendar,
            format,
            dialect,
            duckdb,
        } => crate::calendar_export::run(
            ctx,
            action,
            calendar.as_deref(),
            format,
            dialect,
            duckdb.is_some(),
        ),
        other => return Err(other),
    })
}

/// What every command does before its own work: the note on a newer dbt manifest, and the flag
/// values clap accepts but tally cannot honour (exit 2, E0010). `Err` holds the exit code.
pub(crate) fn prelude(ctx: &Ctx, command: &Command) -> Result<(), u8> {
    if ctx.opts.manifest.is_none() && !matches!(command, Command::Schema { .. }) {
        if let Some(m) = tally_core::load::newer_manifest(&ctx.project) {
            report::note(
                ctx,
                format!(
                    "{} is newer than the project's YAML files; tally reads the YAML",
                    m.display()
                ),
                Some(format!(
                    "to read dbt's rendered manifest instead, pass `--manifest {}`",
                    m.display()
                )),
            );
        }
    }
    if let Err(msg) = check_flags(command) {
        return Err(report::fail(
            ctx,
            Diagnostic::error(diag::codes::USAGE, msg).with_help("see `tally help`"),
            EXIT_USAGE,
        ));
    }
    Ok(())
}

/// Flag values clap accepts but tally cannot honour: a usage error (exit 2, E0010). The
/// engine checks `sample-data`'s own.
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
    Ok(())
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
pub(crate) fn request(model: &Model, q: &QueryArgs) -> Result<QueryRequest, Vec<Diagnostic>> {
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
pub(crate) fn pick_dialect(
    ctx: &Ctx,
    model: &Model,
    flag: Option<DialectArg>,
) -> Result<Dialect, u8> {
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

pub(crate) fn compile(
    ctx: &Ctx,
    model: &Model,
    q: &QueryArgs,
    d: Dialect,
    clock: ClockForm,
) -> Result<tally_core::pipeline::Compiled, u8> {
    let req = match request(model, q) {
        Ok(r) => r,
        Err(diags) => {
            ctx.print_diags(model, &diags);
            return Err(EXIT_PROBLEMS);
        }
    };
    let memo: &dyn ParsedBefore = match ctx.validated.get() {
        Some(slot) => slot,
        None => &NothingParsed,
    };
    tally_core::pipeline::compile_remembering(model, d, clock, &req, memo).map_err(|diags| {
        ctx.print_diags(model, &diags);
        EXIT_PROBLEMS
    })
}

fn sql(
    ctx: &Ctx,
    q: &QueryArgs,
    dialect: Option<DialectArg>,
    stage: Stage,
    clock: ClockForm,
) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let d = match pick_dialect(ctx, &model, dialect) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let compiled = match compile(ctx, &model, q, d, clock) {
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
    // The process ends with this command: freeing the project's model and the plan one
    // allocation at a time would be most of a millisecond for nothing (2.6M instructions on the
    // repository's project; they hold no file or lock).
    std::mem::forget(compiled);
    std::mem::forget(model);
    EXIT_OK
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
    print!("{}", table::simple_table(&header, &rows));
    EXIT_OK
}
