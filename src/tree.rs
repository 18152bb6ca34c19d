//! `tally tree`: the metric tree with each metric's value in the current and the comparison
//! period (one compiled query per metric and grain on DuckDB), its change, each formula input's
//! contribution, drivers as co-movement, and an optional mix/rate split of the root by one
//! dimension. The math and the renderings are in `tally_core::tree`.

use crate::choices::{Compare, TreeFormat, TreeGrain};
use crate::{Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::collections::BTreeMap;
use std::path::Path;
use tally_core::model::{MetricKind, Model};
use tally_core::plan::QueryRequest;
use tally_core::targets::period::{parse_as_of, Period};
use tally_core::targets::standing;
use tally_core::time::Grain;
use tally_core::timeval::Ts;
use tally_core::tree::{self, attribution, render, Values};
use tally_duckdb::duckdb::Connection;
use tally_duckdb::engine::Value;

/// The flags of `tally tree`.
pub(crate) struct TreeArgs<'a> {
    pub root: Option<&'a str>,
    pub grain: TreeGrain,
    pub period: Option<&'a str>,
    pub as_of: Option<&'a str>,
    pub compare: Compare,
    pub format: TreeFormat,
    pub by: Option<&'a str>,
    pub duckdb: Option<&'a Path>,
}

pub(crate) fn run(ctx: &Ctx, args: &TreeArgs) -> u8 {
    let mut model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let structure = tree::build(&model);
    let roots = match roots(&model, &structure, args.root) {
        Ok(r) => r,
        Err(msg) => return usage(ctx, &msg),
    };
    let grain = args.grain.grain();
    let (conn, mut session) = match crate::open::open_database(
        ctx,
        args.duckdb,
        crate::open::WithoutDatabase::InMemory,
    ) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let as_of = match args.as_of.map(parse_time) {
        Some(Some(t)) => t,
        Some(None) => {
            return usage(
                ctx,
                "--as-of takes a date or timestamp: 2026-06-30 or 2026-06-30 23:59:59",
            )
        }
        None => data_cut_off(&conn).unwrap_or_else(now),
    };
    let current = match args.period.map(parse_time) {
        Some(Some(t)) => t.trunc(grain),
        Some(None) => {
            return usage(
                ctx,
                "--period takes a date in the period: 2026-05, 2026-05-01 or 2026",
            )
        }
        None => as_of.trunc(grain),
    };
    let base = if args.compare == Compare::Year {
        current.add(-1, Grain::Year).trunc(grain)
    } else {
        current.add(-1, grain)
    };
    let metrics = structure.reachable(&roots);
    let requests = metrics
        .iter()
        .map(|m| crate::cache::metric_request(m, grain.name(), &[]));
    crate::cache::prepare_requests(ctx, &mut session, &conn, &mut model, requests);
    let mut values = BTreeMap::new();
    for m in &metrics {
        match metric_values(&model, &conn, m, grain, base, current) {
            Ok(v) => {
                values.insert(m.clone(), v);
            }
            Err(msg) => return database_error(ctx, &format!("{m}: {msg}")),
        }
    }
    // A date alone names its last second, as in `tally check`.
    let at = args
        .as_of
        .and_then(parse_as_of)
        .or_else(|| parse_as_of(&as_of.format()));
    let standing = at
        .map(|at| standings(&model, &values, grain, current, at))
        .unwrap_or_default();
    let baseline = if args.compare == Compare::Target {
        // The gap to target is the change: each metric's target stands in for the base period.
        for (m, v) in values.iter_mut() {
            v.base = standing.get(m).and_then(|s| s.target);
        }
        tree::Baseline::Target
    } else {
        tree::Baseline::Period
    };
    let facts = tree::evaluate(&model, &structure, &metrics, &values, &standing, baseline);
    let display = tree::display(&structure, &roots, &facts);
    let header = render::Header {
        grain: grain.name().to_string(),
        period: day(current),
        compare: crate::choices::name(&args.compare),
        compare_period: (baseline == tree::Baseline::Period).then(|| day(base)),
    };
    let mix = match args.by {
        Some(dim) => match mix_rate(&model, &conn, &roots[0], dim, grain, base, current) {
            Ok(m) => Some(m),
            Err(msg) => return database_error(ctx, &format!("--by {dim}: {msg}")),
        },
        None => None,
    };
    print!(
        "{}",
        output(
            args.format,
            &header,
            &display,
            &facts,
            mix.as_ref(),
            &roots[0],
            args.by
        )
    );
    let read = metrics
        .iter()
        .map(|m| crate::cache::metric_request(m, grain.name(), &[]));
    crate::calendars::warn_out_of_range_of(ctx, &conn, &mut session, &model, read);
    crate::cache::report(ctx, &mut session);
    EXIT_OK
}

fn output(
    format: TreeFormat,
    header: &render::Header,
    display: &[tree::DisplayNode],
    facts: &tree::Facts,
    mix: Option<&attribution::MixRate>,
    root: &str,
    by: Option<&str>,
) -> String {
    match format {
        TreeFormat::Json => {
            let mut v = render::to_json(header, display, facts);
            if let (Some(m), Some(obj)) = (mix, v.as_object_mut()) {
                obj.insert(
                    "mix_rate".into(),
                    serde_json::json!({"metric": root, "by": by, "split": m}),
                );
            }
            format!("{}\n", serde_json::to_string_pretty(&v).expect("json"))
        }
        TreeFormat::Mermaid => render::to_mermaid(header, display, facts),
        TreeFormat::Svg => tree::picture::to_svg(header, display, facts),
        TreeFormat::Html => tree::picture::to_html(header, display, facts),
        TreeFormat::Text => {
            let mut s = render::to_text(header, display, facts);
            if let Some(m) = mix {
                s.push_str(&mix_text(root, by.unwrap_or(""), m));
            }
            s
        }
    }
}

fn usage(ctx: &Ctx, msg: &str) -> u8 {
    let d = tally_core::diag::Diagnostic::error(tally_core::diag::codes::USAGE, msg);
    crate::report::fail(ctx, d, EXIT_USAGE)
}

fn database_error(ctx: &Ctx, msg: &str) -> u8 {
    let d = tally_core::diag::Diagnostic::error(tally_core::diag::codes::DATABASE, msg);
    crate::report::fail(ctx, d, EXIT_PROBLEMS)
}

/// The roots: the one asked for, else every metric at the top of a tree.
fn roots(model: &Model, t: &tree::MetricTree, root: Option<&str>) -> Result<Vec<String>, String> {
    match root {
        Some(r) if model.metrics.contains_key(r) => Ok(vec![r.to_string()]),
        Some(r) => {
            let mut msg = format!("unknown metric `{r}`");
            if let Some(s) =
                tally_core::diag::did_you_mean(r, model.metrics.keys().map(String::as_str))
            {
                msg.push_str(&format!("\n  help: did you mean `{s}`?"));
            }
            Err(msg)
        }
        None => {
            let r = t.roots();
            if r.is_empty() {
                Err(
                    "no metric tree in the project: no ratio or derived metric and no `drivers:`"
                        .into(),
                )
            } else {
                Ok(r)
            }
        }
    }
}

/// Each metric's target and status in the current period (`tally check`'s judgement, with
/// maturity and pacing at `as_of`); metrics without direction, targets or maturity have none.
fn standings(
    model: &Model,
    values: &BTreeMap<String, Values>,
    grain: Grain,
    current: Ts,
    at: jiff::civil::DateTime,
) -> BTreeMap<String, tree::Standing> {
    let Ok(date) = day(current).parse::<jiff::civil::Date>() else {
        return BTreeMap::new();
    };
    let period = Period::containing(grain, date);
    let mut out = BTreeMap::new();
    for (m, v) in values {
        let Some(s) = standing::standing(model, m, grain, period, v.current, at) else {
            continue;
        };
        let gap = s.target.zip(v.current).map(|(t, v)| v - t);
        out.insert(
            m.clone(),
            tree::Standing {
                target_name: s.target_name,
                target: s.target,
                status: Some(s.status.name().to_string()),
                direction: s.direction.map(|d| d.name().to_string()),
                gap,
                gap_pct: gap
                    .zip(s.target)
                    .filter(|(_, t)| *t != 0.0)
                    .map(|(g, t)| g / t.abs()),
            },
        );
    }
    out
}

/// `2026-05`, `2026`, `2026-05-01` or a timestamp.
fn parse_time(s: &str) -> Option<Ts> {
    let s = s.trim();
    let full = match s.len() {
        4 => format!("{s}-01-01"),
        7 => format!("{s}-01"),
        _ => s.to_string(),
    };
    Ts::parse(&full).map(|(t, _)| t)
}

fn day(t: Ts) -> String {
    t.format()[..10].to_string()
}

fn now() -> Ts {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ts {
        days: secs.div_euclid(86_400),
        micros: secs.rem_euclid(86_400) * 1_000_000,
    }
}

/// The data's cut-off when the database records one (tally's sample data does, in
/// `tally_sample_metadata`), so the tree of a generated dataset needs no `--as-of`.
fn data_cut_off(conn: &Connection) -> Option<Ts> {
    let schema: String = conn
        .query_row(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'tally_sample_metadata' ORDER BY 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok()?;
    let sql = format!(
        "SELECT value FROM \"{}\".tally_sample_metadata WHERE key = 'as_of'",
        schema.replace('"', "\"\"")
    );
    let v: String = conn.query_row(&sql, [], |r| r.get(0)).ok()?;
    parse_time(&v)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

/// A request for `metrics` by the grain (and `extra` group-by items), from the comparison
/// period's start to the current period's end.
fn request(metrics: &[&str], grain: Grain, extra: &[&str], base: Ts, current: Ts) -> QueryRequest {
    let time = format!("metric_time__{}", grain.name());
    let mut group_by = vec![time.as_str()];
    group_by.extend_from_slice(extra);
    let mut req = QueryRequest::of(metrics, &group_by, &[] as &[&str]);
    req.start_time = Some(base.format());
    req.end_time = Some(current.add(1, grain).add(-1, Grain::Microsecond).format());
    req
}

/// The metric's value in the two periods: one compiled query by the grain.
fn metric_values(
    model: &Model,
    conn: &Connection,
    metric: &str,
    grain: Grain,
    base: Ts,
    current: Ts,
) -> Result<Values, String> {
    let req = request(&[metric], grain, &[], base, current);
    let table = run_request(model, conn, &req)?;
    let mut v = Values::default();
    let (b, c) = (base.format(), current.format());
    for row in &table.rows {
        let key = match row.first() {
            Some(Value::Time(t)) => normalise(t),
            _ => continue,
        };
        let x = row.get(1).and_then(number);
        if key == b {
            v.base = x;
        } else if key == c {
            v.current = x;
        }
    }
    Ok(v)
}

/// `2026-05-01` and `2026-05-01 00:00:00` are the same period start.
fn normalise(t: &str) -> String {
    parse_time(t)
        .map(|t| t.format())
        .unwrap_or_else(|| t.to_string())
}

fn run_request(
    model: &Model,
    conn: &Connection,
    req: &QueryRequest,
) -> Result<tally_duckdb::engine::ResultTable, String> {
    let compiled = tally_core::pipeline::compile_with(
        model,
        tally_core::dialect::Dialect::DuckDb,
        tally_core::pipeline::ClockForm::Relation,
        req,
    )
    .map_err(|diags| {
        diags
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    tally_duckdb::clock::install_read(conn, model, &compiled.sql).map_err(|e| e.to_string())?;
    tally_duckdb::engine::run(conn, &compiled.sql).map_err(|e| e.to_string())
}

/// Mix and rate of a ratio metric by one dimension: its numerator and denominator grouped by the
/// grain and the dimension, in one query.
fn mix_rate(
    model: &Model,
    conn: &Connection,
    root: &str,
    dim: &str,
    grain: Grain,
    base: Ts,
    current: Ts,
) -> Result<attribution::MixRate, String> {
    let Some(MetricKind::Ratio {
        numerator,
        denominator,
    }) = model.metrics.get(root).map(|m| &m.kind)
    else {
        return Err(format!(
            "`{root}` is not a ratio metric; mix and rate split a ratio"
        ));
    };
    if !numerator.filters.is_empty() || !denominator.filters.is_empty() {
        return Err(format!(
            "`{root}` filters its inputs; their values by {dim} would not make up the ratio"
        ));
    }
    let req = request(
        &[numerator.name.as_str(), denominator.name.as_str()],
        grain,
        &[dim],
        base,
        current,
    );
    let table = run_request(model, conn, &req)?;
    let (b, c) = (base.format(), current.format());
    let mut slices: BTreeMap<String, attribution::SliceValues> = BTreeMap::new();
    for row in &table.rows {
        let Some(Value::Time(t)) = row.first() else {
            continue;
        };
        let key = normalise(t);
        let slice = row
            .get(1)
            .map(|v| {
                if *v == Value::Null {
                    "(null)".to_string()
                } else {
                    v.to_string()
                }
            })
            .unwrap_or_default();
        let num = row.get(2).and_then(number).unwrap_or(0.0);
        let den = row.get(3).and_then(number).unwrap_or(0.0);
        let e = slices
            .entry(slice.clone())
            .or_insert(attribution::SliceValues {
                key: slice,
                num0: 0.0,
                den0: 0.0,
                num1: 0.0,
                den1: 0.0,
            });
        if key == b {
            (e.num0, e.den0) = (num, den);
        } else if key == c {
            (e.num1, e.den1) = (num, den);
        }
    }
    let slices: Vec<_> = slices.into_values().collect();
    Ok(attribution::mix_rate(&slices))
}

fn mix_text(root: &str, by: &str, m: &attribution::MixRate) -> String {
    use render::{opt, signed};
    let mut s = format!(
        "\n{root} by {by}: {} -> {}  = mix {} + rate {}",
        opt(m.value0),
        opt(m.value1),
        signed(m.mix_total),
        signed(m.rate_total)
    );
    if m.unexplained != 0.0 {
        s.push_str(&format!(" + unexplained {}", signed(m.unexplained)));
    }
    s.push('\n');
    for e in &m.slices {
        s.push_str(&format!(
            "  {:<28} weight {:.3} -> {:.3}  rate {} -> {}  mix {}  rate {}\n",
            e.key,
            e.weight0,
            e.weight1,
            opt(e.rate0),
            opt(e.rate1),
            signed(e.mix),
            signed(e.rate)
        ));
    }
    s.push_str(
        "  mix: the slice's share of the denominator moved; rate: the slice's own ratio moved\n",
    );
    s
}
