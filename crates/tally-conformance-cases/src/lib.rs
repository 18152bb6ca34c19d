//! MetricFlow's conformance cases, read without DuckDB and without tally.
//!
//! The data lives in a MetricFlow conformance folder (see its `README.md`): `cases/itest_*.yaml`
//! (integration cases with hand-written Jinja check queries), `fixtures/<group>/<table>.yaml` (the
//! source tables) and `manifests/<name>/` (the semantic manifests, with `$source_schema`
//! placeholders). This crate reads them: [`load_cases`] (each case normalised, its `model` mapped to
//! a manifest directory, its where filter through the first Jinja pass), [`fixture_scripts`] (each
//! fixture table as one DuckDB SQL script), [`render_check_query`] and [`render_where_filter`] (the
//! Jinja environment of MetricFlow's check-query helpers), [`prepare_manifests`] and the date/time
//! scalars ([`parse_datetime`], [`format_timestamp`]).
//!
//! It is its own crate, apart from the DuckDB runner (`tally-conformance`), so that tally-core's
//! dialect tests can share it as a dev-dependency without DuckDB in their build: a cargo feature
//! would not do, because `cargo test --workspace` unifies features and would link DuckDB into
//! tally-core's tests anyway. It does not depend on tally-core either (no dev-dependency cycle).

mod datetime;
mod fixtures;
mod jinja;
mod yaml;

pub use datetime::{format_date, format_timestamp, parse_datetime, MICROS_PER_DAY};
pub use fixtures::{create_schema_sql, fixture_scripts, quote_ident, quote_str};
pub use jinja::{render_check_query, render_where_filter};

use std::fs;
use std::path::Path;

use saphyr::{Scalar, Yaml};
use yaml::*;

/// Schema that the runner loads the fixture tables into, and that where filters are rendered for.
pub const SOURCE_SCHEMA: &str = "mf_src";

/// The `required_features` value whose percentile kind DuckDB lacks.
pub const APPROXIMATE_DISCRETE: &str = "APPROXIMATE_DISCRETE_PERCENTILE_AGGREGATION";

const KNOWN_FEATURES: &[&str] = &[
    "CONTINUOUS_PERCENTILE_AGGREGATION",
    "DISCRETE_PERCENTILE_AGGREGATION",
    "APPROXIMATE_CONTINUOUS_PERCENTILE_AGGREGATION",
    APPROXIMATE_DISCRETE,
];

/// `model` value of a case -> manifest directory name under `manifests/`.
pub const MODELS: &[(&str, &str)] = &[
    ("SIMPLE_MODEL", "simple_manifest"),
    ("SIMPLE_MODEL_NON_DS", "non_sm_manifest"),
    (
        "UNPARTITIONED_MULTI_HOP_JOIN_MODEL",
        "multi_hop_join_manifest",
    ),
    (
        "PARTITIONED_MULTI_HOP_JOIN_MODEL",
        "partitioned_multi_hop_join_manifest",
    ),
    ("EXTENDED_DATE_MODEL", "extended_date_manifest"),
    ("SCD_MODEL", "scd_manifest"),
];

pub(crate) const GRANULARITIES: &[&str] = &[
    "nanosecond",
    "microsecond",
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
];

pub(crate) const DATE_PARTS: &[&str] = &["year", "quarter", "month", "week", "day", "dow", "doy"];

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One MetricFlow integration case, normalised for tally.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Case file stem, e.g. `itest_metrics`.
    pub file: String,
    pub name: String,
    /// Manifest directory name under `manifests/` (e.g. `simple_manifest`).
    pub model: String,
    pub metrics: Vec<String>,
    /// Group-by items. `group_bys` entries are kept verbatim (dunder names). `group_by_objs`
    /// entries become `TimeDimension('name', 'grain')`, `TimeDimension('name',
    /// date_part_name='part')` (or both), and objects with only a name keep that name verbatim: it
    /// is a dunder name (`metric_time`, `booking__is_instant`, `booking__ds__day`), exactly as
    /// MetricFlow's `DimensionOrEntityParameter` reads it.
    pub group_bys: Vec<String>,
    /// The where filter after the first Jinja pass (`{{ Dimension('x', entity_path=[]) }}` text).
    pub where_filter: Option<String>,
    /// Inclusive `[start, end]` applied to metric_time.
    pub time_constraint: Option<(String, String)>,
    /// Order items, `-` prefix = descending.
    pub order_bys: Vec<String>,
    pub limit: Option<u64>,
    pub saved_query_name: Option<String>,
    pub min_max_only: bool,
    /// `false` = dimension-only query without de-duplication (default `true`).
    pub apply_group_by: bool,
    pub check_order: bool,
    pub allow_empty: bool,
    pub required_features: Vec<String>,
    /// The unrendered Jinja check query.
    pub check_query: String,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            file: String::new(),
            name: String::new(),
            model: String::new(),
            metrics: Vec::new(),
            group_bys: Vec::new(),
            where_filter: None,
            time_constraint: None,
            order_bys: Vec::new(),
            limit: None,
            saved_query_name: None,
            min_max_only: false,
            apply_group_by: true,
            check_order: false,
            allow_empty: false,
            required_features: Vec::new(),
            check_query: String::new(),
        }
    }
}

impl Case {
    /// `file::name`, the id used in the runner's report.
    pub fn id(&self) -> String {
        format!("{}::{}", self.file, self.name)
    }

    /// Why this case cannot run on DuckDB, if it cannot.
    pub fn skip_reason(&self) -> Option<String> {
        self.required_features
            .iter()
            .any(|f| f == APPROXIMATE_DISCRETE)
            .then(|| "DuckDB has no approximate discrete percentile".to_string())
    }
}

/// Loads every case of `<metricflow_dir>/cases/*.yaml`, sorted by file then document order.
pub fn load_cases(metricflow_dir: &Path) -> Result<Vec<Case>, String> {
    let dir = metricflow_dir.join("cases");
    let mut files = yaml_files(&dir)?;
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let docs = load_yaml_file(&path)?;
        for (i, doc) in docs.iter().enumerate() {
            if is_null(doc) {
                continue;
            }
            let case = parse_case(&stem, doc)
                .map_err(|e| format!("{} (document {}): {e}", path.display(), i + 1))?;
            cases.push(case);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for case in &cases {
        if !seen.insert(case.id()) {
            return Err(format!("duplicate case {}", case.id()));
        }
    }
    Ok(cases)
}

pub(crate) fn parse_case(file: &str, doc: &Yaml) -> Result<Case, String> {
    let top = mapping_entries(doc).ok_or("document is not a mapping")?;
    if top.len() != 1 || top[0].0 != "integration_test" {
        return Err("document must have the single key `integration_test`".into());
    }
    let body = top[0].1;
    let entries = mapping_entries(body).ok_or("`integration_test` is not a mapping")?;
    let mut case = Case {
        file: file.to_string(),
        ..Case::default()
    };
    let mut raw_where: Option<String> = None;
    let mut group_by_objs: Vec<String> = Vec::new();
    let mut model: Option<String> = None;
    for (key, value) in entries {
        let field = |e: String| format!("field `{key}`: {e}");
        match key.as_str() {
            "name" => {
                case.name = scalar_string(value).ok_or_else(|| field("not a string".into()))?
            }
            "description" => {}
            "model" => {
                model = Some(scalar_string(value).ok_or_else(|| field("not a string".into()))?)
            }
            "metrics" => case.metrics = string_list(value).map_err(field)?,
            "group_bys" => case.group_bys = string_list(value).map_err(field)?,
            "group_by_objs" => group_by_objs = parse_group_by_objs(value).map_err(field)?,
            "where_filter" => raw_where = opt_string(value).map_err(field)?,
            "time_constraint" => {
                let items = string_list(value).map_err(field)?;
                if items.len() != 2 {
                    return Err(field(format!(
                        "expected [start, end], got {} items",
                        items.len()
                    )));
                }
                case.time_constraint = Some((items[0].clone(), items[1].clone()));
            }
            "order_bys" => case.order_bys = string_list(value).map_err(field)?,
            "limit" => {
                case.limit = match scalar(value) {
                    Some(Scalar::Null) => None,
                    Some(Scalar::Integer(i)) if *i >= 0 => Some(*i as u64),
                    _ => return Err(field("not a non-negative integer".into())),
                }
            }
            "saved_query_name" => case.saved_query_name = opt_string(value).map_err(field)?,
            "min_max_only" => case.min_max_only = bool_value(value).map_err(field)?,
            "apply_group_by" => case.apply_group_by = bool_value(value).map_err(field)?,
            "check_order" => case.check_order = bool_value(value).map_err(field)?,
            "allow_empty" => case.allow_empty = bool_value(value).map_err(field)?,
            "required_features" => {
                case.required_features = string_list(value).map_err(field)?;
                if let Some(f) = case
                    .required_features
                    .iter()
                    .find(|f| !KNOWN_FEATURES.contains(&f.as_str()))
                {
                    return Err(field(format!("unknown feature {f:?}")));
                }
            }
            "check_query" => {
                case.check_query =
                    scalar_string(value).ok_or_else(|| field("not a string".into()))?
            }
            other => return Err(format!("unknown field `{other}`")),
        }
    }
    if case.name.is_empty() {
        return Err("missing `name`".into());
    }
    let ctx = |e: String| format!("case `{}`: {e}", case.name);
    let model = model.ok_or_else(|| ctx("missing `model`".into()))?;
    case.model = MODELS
        .iter()
        .find(|(m, _)| *m == model)
        .map(|(_, dir)| dir.to_string())
        .ok_or_else(|| ctx(format!("unknown model {model:?}")))?;
    if case.check_query.trim().is_empty() {
        return Err(ctx("missing `check_query`".into()));
    }
    case.group_bys.extend(group_by_objs);
    if let Some(raw) = raw_where {
        let rendered = render_where_filter(&raw, SOURCE_SCHEMA)
            .map_err(|e| ctx(format!("where_filter: {e}")))?;
        case.where_filter = Some(rendered);
    }
    Ok(case)
}

fn parse_group_by_objs(value: &Yaml) -> Result<Vec<String>, String> {
    let items = match value {
        Yaml::Sequence(items) => items,
        v if is_null(v) => return Ok(Vec::new()),
        _ => return Err("not a list".into()),
    };
    let mut out = Vec::new();
    for item in items {
        let entries = mapping_entries(item).ok_or("item is not a mapping")?;
        let (mut name, mut grain, mut date_part) = (None, None, None);
        for (k, v) in entries {
            let s = opt_string(v)?;
            match k.as_str() {
                "name" => name = s,
                "grain" => grain = s,
                "date_part" => date_part = s,
                other => return Err(format!("unknown group_by_objs key `{other}`")),
            }
        }
        let name = name.ok_or("group_by_objs item without `name`")?;
        let item = match (grain, date_part) {
            (None, None) => name,
            (Some(g), None) => format!("TimeDimension('{name}', '{}')", g.to_lowercase()),
            (None, Some(p)) => {
                format!(
                    "TimeDimension('{name}', date_part_name='{}')",
                    p.to_lowercase()
                )
            }
            (Some(g), Some(p)) => format!(
                "TimeDimension('{name}', '{}', date_part_name='{}')",
                g.to_lowercase(),
                p.to_lowercase()
            ),
        };
        out.push(item);
    }
    Ok(out)
}

/// Copies `<metricflow_dir>/manifests` into `dest`, replacing `$source_schema` with `schema` in every
/// file.
pub fn prepare_manifests(metricflow_dir: &Path, schema: &str, dest: &Path) -> Result<(), String> {
    fn copy(src: &Path, dst: &Path, schema: &str) -> Result<(), String> {
        fs::create_dir_all(dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
        let rd = fs::read_dir(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
        for entry in rd {
            let path = entry.map_err(|e| format!("{}: {e}", src.display()))?.path();
            let Some(name) = path.file_name() else {
                continue;
            };
            let target = dst.join(name);
            if path.is_dir() {
                copy(&path, &target, schema)?;
            } else {
                let bytes =
                    fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let bytes = match String::from_utf8(bytes) {
                    Ok(text) => text.replace("$source_schema", schema).into_bytes(),
                    Err(e) => e.into_bytes(),
                };
                fs::write(&target, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            }
        }
        Ok(())
    }
    copy(&metricflow_dir.join("manifests"), dest, schema)
}

#[cfg(test)]
mod tests;
