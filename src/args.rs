//! Command-line arguments.

use crate::choices::*;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// What `tally --help` says first.
const ABOUT: &str = "Metrics as code: check, graph, compile and run metric queries";

#[derive(Parser, Debug)]
#[command(name = "tally", version, about = ABOUT)]
pub(crate) struct Cli {
    /// The project directory (default: the current directory).
    #[arg(long, global = true)]
    pub project: Option<PathBuf>,
    /// What `$source_schema` in node relations stands for.
    #[arg(long, global = true)]
    pub source_schema: Option<String>,
    /// dbt projects: the directory of profiles.yml (default: $DBT_PROFILES_DIR, the project, ~/.dbt).
    #[arg(long, global = true)]
    pub profiles_dir: Option<PathBuf>,
    /// dbt projects: the profile to use (default: `profile:` in dbt_project.yml).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// dbt projects: the target of the profile (default: the profile's `target:`).
    #[arg(long, global = true)]
    pub target: Option<String>,
    /// dbt projects: variables for var(), a YAML or JSON mapping (`--vars '{key: value}'`).
    #[arg(long, global = true)]
    pub vars: Option<String>,
    /// Read the semantic layer from dbt's semantic manifest (`target/semantic_manifest.json`,
    /// written by `dbt parse`) instead of the project's YAML files.
    #[arg(long, global = true, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Let the project read files outside its directory (`paths:`, `csv:`, `duckdb:`, symbolic
    /// links). Off by default: checking a stranger's project reads nothing else.
    #[arg(long, global = true)]
    pub allow_outside_project: bool,
    /// Colour in diagnostics: auto (on a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// The materialisation cache of `sql:` semantic models on the local DuckDB (`tally query`,
    /// `check`, `tree`) and the validation cache of project states: on, off, or refresh (rebuild
    /// what the command uses, validate again).
    #[arg(long, global = true, value_enum, default_value_t = CacheMode::On)]
    pub cache: CacheMode,
    /// Say more on stderr (what the cache did).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// `--cache`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheMode {
    On,
    Off,
    Refresh,
}

impl Cli {
    /// Parse the command line: `Cli::try_parse_from`, with the command tree of
    /// [`Cli::command_for`]. The subcommands' own arguments are built only for the subcommand
    /// given (`#[command(defer = true)]` on [`Command`]). clap's command tree is freed at once
    /// (about 0.17M instructions): kept to the end of the process, it stayed out of reach of the
    /// load's allocations, which then took about 50 more fresh pages of memory (page faults cost
    /// more than the freeing).
    pub(crate) fn parse_args(argv: &[OsString]) -> Result<Cli, clap::Error> {
        let mut cmd = Cli::command_for(argv);
        let parsed = cmd
            .try_get_matches_from_mut(argv)
            .and_then(|mut m| Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut cmd)));
        drop(cmd);
        parsed
    }

    /// clap's command tree for `argv`. When its first argument names a subcommand (`tally sql
    /// ...`, the usual case), the tree holds that subcommand alone under the top level's own
    /// flags and settings; else the whole tree (`tally`, `--help`, `--version`, `help`, a
    /// misspelt subcommand and its suggestion). clap copies every global flag into every
    /// subcommand of the tree it parses with when it builds the top level (11 flags into 18
    /// subcommands: about 5% of a warm `tally sql`); with one subcommand, into one. Anything
    /// after the subcommand's name is parsed by the subcommand itself, so both trees give the
    /// same result or the same error (`tests::one_subcommand_parses_as_the_whole_tree`).
    pub(crate) fn command_for(argv: &[OsString]) -> clap::Command {
        let full = Cli::command();
        let Some(sub) = argv
            .get(1)
            .and_then(|a| a.to_str())
            .and_then(|name| full.get_subcommands().find(|s| s.get_name() == name))
            .cloned()
        else {
            return full;
        };
        let mut lean = clap::Command::new("tally")
            .version(env!("CARGO_PKG_VERSION"))
            .about(ABOUT)
            .subcommand_required(full.is_subcommand_required_set())
            .arg_required_else_help(full.is_arg_required_else_help_set());
        for a in full.get_arguments() {
            lean = lean.arg(a.clone());
        }
        for g in full.get_groups() {
            lean = lean.group(g.clone());
        }
        lean.subcommand(sub)
    }

    /// The dbt flags as load options (the environment is the process's).
    pub(crate) fn dbt_options(&self) -> tally_core::dbt::DbtOptions {
        tally_core::dbt::DbtOptions {
            profiles_dir: self.profiles_dir.clone(),
            profile: self.profile.clone(),
            target: self.target.clone(),
            vars: self.vars.clone(),
            env: None,
            consulted: tally_core::dbt::Consulted::default(),
        }
    }
}

/// `defer`: clap builds a subcommand's arguments only when that subcommand is parsed (or its
/// help shown); the parent's help needs only the names and the variants' doc comments. An
/// `Args` struct a variant holds or flattens must not have a doc comment: it would be applied
/// when the subcommand is built and replace the variant's description.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub(crate) enum Command {
    /// Evaluate targets and alerts at --as-of, report statuses by owner, notify (tally check).
    Check(CheckArgs),
    /// Check the project and report every problem at once.
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
        format: DiagFormat,
    },
    /// Print the SQL of a metric query (or its plan with --stage plan).
    Sql {
        #[command(flatten)]
        query: QueryArgs,
        /// Target dialect: bigquery, databricks, duckdb, postgres, redshift, snowflake or trino
        /// (default: the project's `dialect:`, else duckdb).
        #[arg(long, value_enum, ignore_case = true)]
        dialect: Option<DialectArg>,
        /// Which stage to show: sql, or plan (the relational plan as JSON).
        #[arg(long, value_enum, default_value_t = Stage::Sql)]
        stage: Stage,
        /// Business clocks: inline (self-contained SQL) or relation (read from
        /// `tally_bh__<calendar>`, as `tally query` runs it on DuckDB).
        #[arg(long, value_enum, default_value_t = ClockArg::Inline)]
        clock: ClockArg,
    },
    /// Run a metric query on DuckDB and print the result.
    Query {
        #[command(flatten)]
        query: QueryArgs,
        /// DuckDB database file (default: `duckdb` in tally.yml).
        #[arg(long)]
        duckdb: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
    },
    /// Print the project graph: the metric tree (metrics, drivers, owners) or everything.
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Show semantic models, entities, dimensions and measures too.
        #[arg(long)]
        full: bool,
        /// Draw owners (people, teams) as nodes with `owned-by` edges.
        #[arg(long)]
        owners: bool,
    },
    /// The metric tree with values, change versus a comparison period, each input's
    /// contribution, drivers as co-movement and status.
    Tree {
        /// The root metric (default: every metric at the top of a tree).
        root: Option<String>,
        #[arg(long, value_enum, default_value_t = TreeGrain::Month)]
        grain: TreeGrain,
        /// The current period: a date in it (2026-05, 2026-05-01); default: the period of --as-of.
        #[arg(long)]
        period: Option<String>,
        /// The evaluation time (default: the data's recorded cut-off, else now).
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// What to compare with: the previous period or the same period a year earlier.
        #[arg(long, value_enum, default_value_t = Compare::Previous)]
        compare: Compare,
        /// Split the root ratio's change by one dimension into mix and rate effects.
        #[arg(long)]
        by: Option<String>,
        #[arg(long, value_enum, default_value_t = TreeFormat::Text)]
        format: TreeFormat,
        /// DuckDB database file (default: `duckdb` in tally.yml).
        #[arg(long)]
        duckdb: Option<PathBuf>,
    },
    /// Show a metric's upstream inputs down to source columns, its dependents and its owners.
    Lineage {
        metric: String,
        #[arg(long, value_enum, default_value_t = LineageFormat::Text)]
        format: LineageFormat,
    },
    /// List metrics, dimensions, entities or saved queries.
    List {
        #[arg(value_enum)]
        what: ListWhat,
        /// Only names containing this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// Print the resolved model (semantic models, metrics with their aggregations, saved queries,
    /// time spines) in a canonical form: the same project in any spec prints the same.
    Model {
        #[arg(long, value_enum, default_value_t = ModelFormat::Json)]
        format: ModelFormat,
    },
    /// Generate a deterministic sample dataset into a DuckDB database.
    SampleData {
        #[arg(value_enum)]
        generator: Generator,
        #[arg(long, default_value_t = 20_000)]
        conversations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// DuckDB database file (default: `duckdb` in tally.yml). Created; an existing DuckDB
        /// database is replaced only with --force, anything else never.
        #[arg(long)]
        duckdb: Option<PathBuf>,
        /// Replace an existing DuckDB database.
        #[arg(long)]
        force: bool,
    },
    /// Run the project's metric tests (`metric_tests:`), each on its own in-memory DuckDB.
    Test {
        /// Only tests whose name contains this text.
        filter: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
        format: DiagFormat,
    },
    /// Business calendars: list them, export a calendar's business clock for a warehouse (a CSV
    /// seed or `CREATE TABLE` SQL), or print the query that finds stale warehouse copies.
    Calendars {
        #[arg(value_enum)]
        action: CalendarsAction,
        /// One calendar (a calendar chosen by column exports the calendars it maps to).
        #[arg(long)]
        calendar: Option<String>,
        /// export: csv (a dbt seed) or sql (CREATE TABLE tally_bh__CALENDAR AS ...).
        #[arg(long, value_enum, default_value_t = ExportFormat::Sql)]
        format: ExportFormat,
        /// The SQL dialect (default: the project's `dialect:`, else duckdb).
        #[arg(long, value_enum, ignore_case = true)]
        dialect: Option<DialectArg>,
        /// check: run the check on this DuckDB database file (read-only) instead of printing the
        /// query; exit code 1 when a copy is missing or stale. export: load the clock tables
        /// into this DuckDB database (replacing earlier copies) instead of printing SQL.
        #[arg(long)]
        duckdb: Option<PathBuf>,
    },
    /// The validation cache and the materialisation cache beside the project's DuckDB database:
    /// `status` lists them (tables: model, rows, fresh or stale), `clear` deletes them.
    Cache {
        #[arg(value_enum)]
        action: CacheAction,
        /// DuckDB database file (default: `duckdb` in tally.yml).
        #[arg(long)]
        duckdb: Option<PathBuf>,
    },
    /// Print the JSON Schema of the project files, for editors (yaml-language-server).
    Schema {
        /// Which file: `project` (semantic-layer YAML: models, metrics, saved queries, metric
        /// tests) or `tally-yml` (the project settings).
        #[arg(value_enum, default_value_t = SchemaArg::Project)]
        kind: SchemaArg,
        /// Write both schemas into this directory instead of printing one.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Serve the project to MCP clients (dbt-mcp's semantic-layer tools and tally's own).
    Mcp {
        /// stdio (for desktop clients that start `tally mcp`) or http (streamable HTTP at /mcp).
        #[arg(long, value_enum, default_value_t = Transport::Stdio)]
        transport: Transport,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Serve the project over HTTP: MCP at /mcp and a JSON API under /v1 (see docs/openapi.json).
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// What changed since a git ref: metrics, semantic models, affected metrics, who must know.
    Diff {
        /// The git ref to compare the working tree with (`main`, `origin/main`, a commit).
        #[arg(long)]
        base: String,
        /// Output format: markdown (a pull-request comment) or json.
        #[arg(long, value_enum, default_value_t = DiffFormat::Markdown)]
        format: DiffFormat,
        /// Also run the affected metrics by month with both definitions on the project's DuckDB.
        #[arg(long)]
        data: bool,
        /// DuckDB database file for --data (default: `duckdb` in tally.yml).
        #[arg(long)]
        duckdb: Option<PathBuf>,
    },
    /// A browsable catalog of the project's metrics: owners, formulas, lineage, SQL, search.
    Docs {
        #[command(subcommand)]
        action: DocsAction,
    },
}

// `tally docs` subcommands. (A plain comment: a doc comment would replace the description of
// `tally docs`, see `Command`.)
#[derive(Subcommand, Debug)]
pub(crate) enum DocsAction {
    /// Write the catalog as a static site (opens from the file system or any static host).
    Generate {
        /// Output directory (default: `.tally/docs` in the project). tally writes only there and
        /// refuses a non-empty directory it did not generate.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve the catalog on a loopback address, regenerating it when project files change.
    Serve {
        /// Address to listen on (loopback only; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
}

// Server flags (`tally serve`, `tally mcp`). The token is never a flag: it comes from
// `TALLY_SERVE_TOKEN` or `--token-file`, so it stays out of `ps` and shell history.
// (A plain comment: a doc comment would replace the subcommand's description, see `Command`.)
#[derive(Args, Debug, Default)]
pub(crate) struct ServeArgs {
    /// Address to listen on (HTTP). Default 127.0.0.1:8484; a non-loopback address needs a token.
    #[arg(long)]
    pub bind: Option<String>,
    /// DuckDB database file (default: `duckdb` in tally.yml). Opened read-only.
    #[arg(long)]
    pub duckdb: Option<PathBuf>,
    /// A file holding the bearer token clients must send (else `TALLY_SERVE_TOKEN`).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Another `Host` name to accept (repeatable); loopback names are always accepted.
    #[arg(long)]
    pub allow_host: Vec<String>,
    /// A browser origin allowed to call the server, with CORS headers (repeatable; none by default).
    #[arg(long)]
    pub allow_origin: Vec<String>,
    /// Rows a query returns at most (more are reported as truncated).
    #[arg(long, default_value_t = 1000)]
    pub max_rows: usize,
    /// Statement timeout in milliseconds; DuckDB is interrupted after it.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Queries running at once; one more is answered 503 (busy).
    #[arg(long, default_value_t = 4)]
    pub max_concurrent: usize,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 65_536)]
    pub max_body_bytes: usize,
    /// Do not reload the project when its files change (POST /v1/reload still does).
    #[arg(long)]
    pub no_watch: bool,
}

// The flags of `tally check`.
// (A plain comment: a doc comment would replace the subcommand's description, see `Command`.)
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct CheckArgs {
    /// Metrics to check (default: every metric with targets or alerts).
    pub metrics: Vec<String>,
    /// The evaluation time (`2026-06-30` or `2026-06-30 23:59:59`); default: `checks.as_of` of
    /// tally.yml, else now (UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Exit 1 when a status or firing alert reaches this level (default: `checks.default_fail_on`,
    /// else off_track).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOnArg>,
    /// none, dry-run (print the notifications), or send (deliver them and update the state file).
    #[arg(long, value_enum, default_value_t = Notify::None)]
    pub notify: Notify,
    /// The state file (default: `checks.state` of tally.yml, else `.tally/check-state.json`).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The DuckDB database to read (default: `duckdb:` of tally.yml).
    #[arg(long, value_name = "FILE")]
    pub duckdb: Option<PathBuf>,
    /// Print the check queries instead of running them.
    #[arg(long)]
    pub sql: bool,
    /// The dialect of `--sql` (default: the project's `dialect:`, else duckdb).
    #[arg(long, value_enum, ignore_case = true)]
    pub dialect: Option<DialectArg>,
}

// Query flags, compatible with `mf query`.
// (A plain comment: a doc comment would replace the subcommand's description, see `Command`.)
#[derive(Args, Debug, Default)]
pub(crate) struct QueryArgs {
    /// Metrics, comma-separated.
    #[arg(long)]
    pub metrics: Vec<String>,
    /// Group-by items, comma-separated: `metric_time__month,listing__country` or
    /// `TimeDimension('metric_time', 'month')`.
    #[arg(long)]
    pub group_by: Vec<String>,
    /// A where filter in dbt's Jinja syntax; repeat to AND several.
    #[arg(long = "where")]
    pub where_: Vec<String>,
    /// Order items, comma-separated; `-` in front for descending.
    #[arg(long, allow_hyphen_values = true)]
    pub order: Vec<String>,
    #[arg(long)]
    pub limit: Option<u64>,
    /// Inclusive start of metric_time (`2024-01-01` or a timestamp).
    #[arg(long)]
    pub start_time: Option<String>,
    /// Inclusive end of metric_time.
    #[arg(long)]
    pub end_time: Option<String>,
    /// Run a saved query of the project.
    #[arg(long)]
    pub saved_query: Option<String>,
    /// Without metrics: only the min and max of the single group-by item (`<item>__min`,
    /// `<item>__max`), as MetricFlow's `min_max_only`.
    #[arg(long)]
    pub min_max_only: bool,
    /// Without metrics: every row, without de-duplicating the group-by values (MetricFlow's
    /// `apply_group_by: false`).
    #[arg(long)]
    pub no_dedupe: bool,
}

/// Split a comma-separated list (one flag given several items).
pub(crate) use tally_core::text::split_list;

impl Command {
    /// The command was asked for JSON output: its own errors are printed as JSON diagnostics too.
    pub(crate) fn prints_json(&self) -> bool {
        match self {
            Command::Validate { format } | Command::Test { format, .. } => {
                *format == DiagFormat::Json
            }
            Command::Query { format, .. } => *format == QueryFormat::Json,
            Command::Graph { format, .. } => *format == GraphFormat::Json,
            Command::Lineage { format, .. } => *format == LineageFormat::Json,
            Command::Model { format } => *format == ModelFormat::Json,
            Command::Diff { format, .. } => *format == DiffFormat::Json,
            Command::Tree { format, .. } => *format == TreeFormat::Json,
            Command::Check(a) => a.format == CheckFormat::Json,
            _ => false,
        }
    }

    /// How the command's warnings and notes are rendered (`report::warn`): in the diagnostic
    /// format it was asked for, JSON for any JSON output, else human text.
    pub(crate) fn diag_format(&self) -> DiagFormat {
        match self {
            Command::Validate { format } | Command::Test { format, .. } => *format,
            Command::Check(a) => match a.format {
                CheckFormat::Json => DiagFormat::Json,
                CheckFormat::Github => DiagFormat::Github,
                CheckFormat::Junit => DiagFormat::Junit,
                CheckFormat::Sarif => DiagFormat::Sarif,
                CheckFormat::Human | CheckFormat::Markdown => DiagFormat::Human,
            },
            _ if self.prints_json() => DiagFormat::Json,
            _ => DiagFormat::Human,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `argv` parsed with `cmd`: the parsed command line's debug form, or clap's error (its
    /// kind and its text).
    fn outcome(mut cmd: clap::Command, argv: &[OsString]) -> String {
        match cmd
            .try_get_matches_from_mut(argv)
            .and_then(|mut m| Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut cmd)))
        {
            Ok(cli) => format!("ok {cli:?}"),
            Err(e) => format!("error {:?}\n{}", e.kind(), e.render()),
        }
    }

    /// Every subcommand, with its help, no arguments, an unknown flag, global flags before and
    /// after its own, bad values and typical command lines: the tree of one subcommand gives
    /// what the whole tree gives. Command lines that do not start with a subcommand's name use
    /// the whole tree.
    #[test]
    fn one_subcommand_parses_as_the_whole_tree() {
        let full = Cli::command();
        let names: Vec<String> = full
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        assert!(names.len() > 10, "{names:?}");
        // Command lines as words (no value here has a space of its own).
        let mut lines: Vec<String> = Vec::new();
        for n in &names {
            lines.extend(
                [
                    "",
                    "--help",
                    "-h",
                    "--version",
                    "--bogus",
                    "--projct x",
                    "--project p -v --color never --cache off",
                    "--cache sometimes",
                    "--format json",
                    "--format nope",
                    "extra words",
                    "--vars {a:1} --manifest m.json --allow-outside-project",
                ]
                .map(|rest| format!("{n} {rest}")),
            );
        }
        lines.extend(
            [
                "sql --metrics a,b --group-by metric_time__month",
                "sql --metrics a --dialect Postgres --stage plan",
                "sql --metrics a --dialect oracle",
                "sql --metrics",
                "query --metrics a --where x>1 --limit 3 --duckdb d",
                "query --metrics a --limit many",
                "list metrics --search rate",
                "list everything",
                "cache status",
                "cache clear --help",
                "cache nothing",
                "validate --format sarif",
                "tree csat --grain week --compare year",
                "lineage",
            ]
            .map(String::from),
        );
        for line in &lines {
            let argv: Vec<OsString> = std::iter::once("tally")
                .chain(line.split_whitespace())
                .map(OsString::from)
                .collect();
            let lean = Cli::command_for(&argv);
            assert_eq!(
                lean.get_subcommands().count(),
                1,
                "{line:?} starts with a subcommand's name"
            );
            assert_eq!(
                outcome(lean, &argv),
                outcome(Cli::command(), &argv),
                "{line:?}"
            );
        }
        for line in ["", "--help", "--version", "help sql", "sqll", "-v sql"] {
            let argv: Vec<OsString> = std::iter::once("tally")
                .chain(line.split_whitespace())
                .map(OsString::from)
                .collect();
            assert_eq!(
                Cli::command_for(&argv).get_subcommands().count(),
                names.len(),
                "{line:?}: the whole tree"
            );
        }
    }
}
