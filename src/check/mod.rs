//! `tally check`: evaluate targets and alerts at `--as-of`, print them, notify owners.
//!
//! One compiled query per series (metric, grain, slice dimensions; see `tally_core::targets`),
//! run on DuckDB; `--sql` prints them for a warehouse dialect instead. The state file gives
//! once-per-episode notifications; `--notify dry-run` prints the payloads without sending or
//! writing the state.

pub(crate) mod notify;
pub(crate) mod output;

use super::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
pub(crate) use crate::args::CheckArgs;
use crate::choices::{CheckFormat, DialectArg, FailOnArg, Notify};
use crate::open::WithoutDatabase;
use std::path::{Path, PathBuf};
use tally_core::diag::{self, Diagnostic};
use tally_core::model::Model;
use tally_core::targets::eval::{self, SeriesRequest, Values};
use tally_core::targets::period::parse_as_of;
use tally_core::targets::state::{self, Notice, State};
use tally_core::targets::{query, FailOn};

/// The evaluation time: the flag, else tally.yml's `checks.as_of` (a `{{ var('x') }}` reads the
/// project variable), else now.
pub(crate) fn evaluation_time(
    model: &Model,
    flag: Option<&str>,
) -> Result<jiff::civil::DateTime, String> {
    let text = match flag {
        Some(f) => f.to_string(),
        None => match &model.checks.config.as_of {
            Some(c) => {
                let t = c.trim();
                match t
                    .strip_prefix("{{")
                    .and_then(|x| x.strip_suffix("}}"))
                    .map(str::trim)
                    .and_then(|x| x.strip_prefix("var("))
                    .and_then(|x| x.strip_suffix(')'))
                {
                    Some(name) => {
                        let name = name.trim().trim_matches(['\'', '"']);
                        match model.vars.get(name) {
                            Some(serde_json::Value::String(s)) => s.clone(),
                            _ => return Err(format!("checks.as_of reads var('{name}'), which is not a string variable of tally.yml")),
                        }
                    }
                    None => t.to_string(),
                }
            }
            None => jiff::Zoned::now()
                .with_time_zone(jiff::tz::TimeZone::UTC)
                .datetime()
                .to_string(),
        },
    };
    parse_as_of(&text).ok_or_else(|| {
        format!("`{text}` is not an evaluation time: write `2026-06-30` or `2026-06-30 23:59:59`")
    })
}

fn fail_on(model: &Model, flag: Option<FailOnArg>) -> FailOn {
    flag.map(FailOnArg::fail_on)
        .or(model.checks.config.fail_on)
        .unwrap_or(FailOn::OffTrack)
}

pub(crate) fn run(ctx: &Ctx, a: &CheckArgs) -> u8 {
    let mut model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    for m in &a.metrics {
        if !model.checks.metrics.contains_key(m) {
            let known: Vec<&str> = model.checks.metrics.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error(
                diag::codes::UNKNOWN_METRIC,
                format!("metric `{m}` has no targets or alerts to check"),
            );
            if let Some(s) = diag::did_you_mean(m, known.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            return report::fail(ctx, d, EXIT_USAGE);
        }
    }
    let as_of = match evaluation_time(&model, a.as_of.as_deref()) {
        Ok(t) => t,
        Err(msg) => {
            return report::fail(ctx, Diagnostic::error(diag::codes::USAGE, msg), EXIT_USAGE);
        }
    };
    let requests = eval::requests(&model, &a.metrics, as_of);
    if a.sql {
        return print_sql(ctx, &model, &requests, a.dialect);
    }
    let values = match read_values(ctx, &mut model, &requests, a.duckdb.as_deref()) {
        Ok(v) => v,
        Err(c) => return c,
    };
    let report = eval::evaluate(&model, &values, &a.metrics, as_of);
    let state_path = state_path(ctx, &model, a.state.as_deref());
    let prev = match read_state(&state_path) {
        Ok(s) => s,
        Err(msg) => {
            return report::fail(ctx, Diagnostic::error(diag::codes::IO, msg), EXIT_USAGE);
        }
    };
    let (mut next, notices) = state::advance(&prev, &report);
    let mut failures = Vec::new();
    match a.notify {
        Notify::DryRun => dry_run(&model, &notices),
        Notify::Send => {
            failures = send_all(&model, &notices, &mut next);
            if let Err(msg) = write_state(&state_path, &next) {
                return report::fail(ctx, Diagnostic::error(diag::codes::IO, msg), EXIT_USAGE);
            }
        }
        Notify::None => {}
    }
    // Notifications were sent before the report is printed, so a delivery failure is reported
    // like any diagnostic of the run: inside a JUnit (a failing case) or SARIF document, else in
    // the format's way for diagnostics (human text or JSON on stderr, GitHub annotations).
    let undelivered: Vec<Diagnostic> = failures
        .iter()
        .map(|f| {
            Diagnostic::error(
                diag::codes::NOTIFY,
                format!("notification not delivered: {f}"),
            )
            .with_help("it is retried on the next run")
        })
        .collect();
    report::warn(ctx, &model.sources, &undelivered);
    // The warnings so far (the project's, the data's, the deliveries') inside a JUnit or SARIF
    // document.
    let warnings = match a.format {
        CheckFormat::Junit | CheckFormat::Sarif => report::take_warnings(ctx),
        _ => Vec::new(),
    };
    print!(
        "{}",
        output::render(&model, &report, &notices, &warnings, a.format)
    );
    let fail = fail_on(&model, a.fail_on);
    if output::fails_with(&model, &report, fail) || !failures.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

fn print_sql(
    ctx: &Ctx,
    model: &Model,
    requests: &[SeriesRequest],
    dialect: Option<DialectArg>,
) -> u8 {
    let d = match super::pick_dialect(ctx, model, dialect) {
        Ok(d) => d,
        Err(c) => return c,
    };
    for r in requests {
        match query::series_sql(model, d, r) {
            Ok(sql) => println!("{}\n{sql};\n", header(r)),
            Err(diags) => {
                ctx.print_diags(model, &diags);
                return EXIT_PROBLEMS;
            }
        }
    }
    EXIT_OK
}

fn header(r: &SeriesRequest) -> String {
    let by = if r.key.dims.is_empty() {
        String::new()
    } else {
        format!(" by {}", r.key.dims.join(", "))
    };
    let target = r
        .target
        .as_ref()
        .map(|t| format!(", target {t}"))
        .unwrap_or_default();
    format!(
        "-- {} per {}{by}, {} to {}{target}",
        r.key.metric,
        r.key.grain.name(),
        r.first,
        r.last
    )
}

/// Run every series query on DuckDB.
fn read_values(
    ctx: &Ctx,
    model: &mut Model,
    requests: &[SeriesRequest],
    flag: Option<&Path>,
) -> Result<Values, u8> {
    let (conn, mut session) = crate::open::open_database(ctx, flag, WithoutDatabase::Refuse)?;
    let wanted = requests
        .iter()
        .map(|r| crate::cache::metric_request(&r.key.metric, r.key.grain.name(), &r.key.dims));
    crate::cache::prepare_requests(ctx, &mut session, &conn, model, wanted);
    let model = &*model;
    let mut values = Values::new();
    for r in requests {
        let form = tally_core::pipeline::ClockForm::Relation;
        let sql = query::series_sql_with(model, tally_core::dialect::Dialect::DuckDb, form, r)
            .map_err(|diags| {
                ctx.print_diags(model, &diags);
                EXIT_PROBLEMS
            })?;
        crate::install_clocks(ctx, &conn, model, &sql)?;
        let table = tally_duckdb::engine::run(&conn, &sql).map_err(|e| {
            let d = crate::database_error(&format!("{e} (the check query of {})", r.key.metric))
                .with_help("see the SQL with `tally check --sql`");
            report::fail(ctx, d, EXIT_PROBLEMS)
        })?;
        values.insert(
            r.key.clone(),
            tally_duckdb::check_testing::observations(&r.key, &table.rows),
        );
    }
    let read = requests
        .iter()
        .map(|r| crate::cache::metric_request(&r.key.metric, r.key.grain.name(), &r.key.dims));
    crate::calendars::warn_out_of_range_of(ctx, &conn, &mut session, model, read);
    crate::cache::report(ctx, &mut session);
    Ok(values)
}

fn state_path(ctx: &Ctx, model: &Model, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => ctx.project.join(
            model
                .checks
                .config
                .state
                .as_deref()
                .unwrap_or(".tally/check-state.json"),
        ),
    }
}

fn read_state(path: &Path) -> Result<State, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("the state file {} is not valid: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(format!(
            "cannot read the state file {}: {e}",
            path.display()
        )),
    }
}

/// Write the state atomically (a temporary file renamed over the old one).
fn write_state(path: &Path, s: &State) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(s).expect("state serialises") + "\n";
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn dry_run(model: &Model, notices: &[Notice]) {
    for n in notices {
        for d in notify::deliveries(&model.checks, n) {
            eprintln!(
                "would send {} to {} ({}): {}",
                d.channel, d.recipient, d.to, d.payload
            );
        }
        if notify::deliveries(&model.checks, n).is_empty() {
            eprintln!("no endpoint for: {}", n.text());
        }
    }
}

fn send_all(model: &Model, notices: &[Notice], next: &mut State) -> Vec<String> {
    let env = |k: &str| std::env::var(k).ok();
    let limits = limits_from_env();
    let mut failures = Vec::new();
    for n in notices {
        let mut ok = true;
        for d in notify::deliveries(&model.checks, n) {
            if let Err(e) = notify::send(&d, model.checks.config.smtp.as_ref(), &env, limits) {
                failures.push(format!(
                    "{} to {} via {}: {e}",
                    n.alert, d.recipient, d.channel
                ));
                ok = false;
            } else {
                eprintln!(
                    "sent {} {} to {} via {}",
                    n.kind.name(),
                    n.alert,
                    d.recipient,
                    d.channel
                );
            }
        }
        if ok {
            next.mark_sent(n);
        }
    }
    failures
}

/// `TALLY_NOTIFY_TIMEOUT_MS` and `TALLY_NOTIFY_BACKOFF_MS` shorten the bounds (tests).
fn limits_from_env() -> notify::Limits {
    let mut l = notify::Limits::default();
    let ms = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(t) = ms("TALLY_NOTIFY_TIMEOUT_MS") {
        l.timeout = std::time::Duration::from_millis(t.clamp(10, 60_000));
    }
    if let Some(b) = ms("TALLY_NOTIFY_BACKOFF_MS") {
        l.backoff = std::time::Duration::from_millis(b.min(10_000));
    }
    l
}
