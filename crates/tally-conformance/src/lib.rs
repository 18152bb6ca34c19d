//! Conformance harness: runs MetricFlow's integration cases against tally.
//!
//! The data lives in a MetricFlow conformance folder (see its `README.md`): `cases/itest_*.yaml`
//! (integration cases with hand-written Jinja check queries), `fixtures/<group>/<table>.yaml` (the
//! source tables) and `manifests/<name>/` (the semantic manifests, with `$source_schema`
//! placeholders).
//!
//! [`run`] loads every fixture into an in-memory DuckDB (schema [`SOURCE_SCHEMA`]), writes a copy of
//! each manifest with `$source_schema` replaced by that schema, and for every case asks the caller's
//! `compile` callback for tally's SQL, executes it, renders and executes the case's check query and
//! compares both tables with MetricFlow's comparison rules ([`compare`]). It prints nothing.

pub mod crosscheck;
pub mod tally;

use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use duckdb::arrow::datatypes::{DataType, IntervalUnit, TimeUnit as ArrowTimeUnit};
use duckdb::types::ValueRef;
use minijinja::value::{Kwargs, Rest, ValueOrKwargs};
use minijinja::{Environment, Error as JinjaError, ErrorKind, UndefinedBehavior, Value as JValue};
use saphyr::{LoadableYamlNode, Scalar, Yaml};

/// Schema that [`run`] loads the fixture tables into.
pub const SOURCE_SCHEMA: &str = "mf_src";

/// The `required_features` value whose percentile kind DuckDB lacks.
const APPROXIMATE_DISCRETE: &str = "APPROXIMATE_DISCRETE_PERCENTILE_AGGREGATION";

const KNOWN_FEATURES: &[&str] = &[
    "CONTINUOUS_PERCENTILE_AGGREGATION",
    "DISCRETE_PERCENTILE_AGGREGATION",
    "APPROXIMATE_CONTINUOUS_PERCENTILE_AGGREGATION",
    APPROXIMATE_DISCRETE,
];

/// `model` value of a case -> manifest directory name under `manifests/`.
const MODELS: &[(&str, &str)] = &[
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

const GRANULARITIES: &[&str] = &[
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

const DATE_PARTS: &[&str] = &["year", "quarter", "month", "week", "day", "dow", "doy"];

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
    /// `file::name`, the id used in [`Report`].
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

fn parse_case(file: &str, doc: &Yaml) -> Result<Case, String> {
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

// ---------------------------------------------------------------------------------------------
// YAML helpers
// ---------------------------------------------------------------------------------------------

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in rd {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        );
        if is_yaml && path.is_file() {
            out.push(path);
        }
    }
    Ok(out)
}

fn load_yaml_file(path: &Path) -> Result<Vec<Yaml<'static>>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Loading from `&str` goes through a char iterator, so nothing borrows from `text`.
    Yaml::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn untag<'a, 'b>(y: &'a Yaml<'b>) -> &'a Yaml<'b> {
    match y {
        Yaml::Tagged(_, inner) => untag(inner),
        other => other,
    }
}

fn scalar<'a, 'b>(y: &'a Yaml<'b>) -> Option<&'a Scalar<'b>> {
    match untag(y) {
        Yaml::Value(s) => Some(s),
        _ => None,
    }
}

fn is_null(y: &Yaml) -> bool {
    matches!(scalar(y), Some(Scalar::Null)) || matches!(untag(y), Yaml::BadValue)
}

/// Any non-null scalar as text (`True` for booleans, as Python's YAML would print them).
fn scalar_string(y: &Yaml) -> Option<String> {
    match untag(y) {
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        Yaml::Value(s) => match s {
            Scalar::Null => None,
            Scalar::Boolean(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Scalar::Integer(i) => Some(i.to_string()),
            Scalar::FloatingPoint(f) => Some(f.to_string()),
            Scalar::String(s) => Some(s.to_string()),
        },
        _ => None,
    }
}

fn opt_string(y: &Yaml) -> Result<Option<String>, String> {
    if is_null(y) {
        return Ok(None);
    }
    scalar_string(y)
        .map(Some)
        .ok_or_else(|| "not a string".to_string())
}

fn string_list(y: &Yaml) -> Result<Vec<String>, String> {
    match untag(y) {
        Yaml::Sequence(items) => items
            .iter()
            .map(|i| scalar_string(i).ok_or_else(|| "list item is not a string".to_string()))
            .collect(),
        v if is_null(v) => Ok(Vec::new()),
        _ => Err("not a list".into()),
    }
}

fn bool_value(y: &Yaml) -> Result<bool, String> {
    match scalar(y) {
        Some(Scalar::Boolean(b)) => Ok(*b),
        Some(Scalar::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(true),
            "false" | "no" => Ok(false),
            _ => Err(format!("not a boolean: {s:?}")),
        },
        _ => Err("not a boolean".into()),
    }
}

fn mapping_entries<'a, 'b>(y: &'a Yaml<'b>) -> Option<Vec<(String, &'a Yaml<'b>)>> {
    match untag(y) {
        Yaml::Mapping(map) => map
            .iter()
            .map(|(k, v)| scalar_string(k).map(|k| (k, v)))
            .collect(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

struct Fixture {
    table: String,
    columns: Vec<(String, &'static str)>,
    rows: Vec<Vec<Option<String>>>,
}

fn parse_fixture(path: &Path) -> Result<Fixture, String> {
    let docs = load_yaml_file(path)?;
    let docs: Vec<&Yaml> = docs.iter().filter(|d| !is_null(d)).collect();
    let err = |e: &str| format!("{}: {e}", path.display());
    if docs.len() != 1 {
        return Err(err("expected exactly one document"));
    }
    let top = mapping_entries(docs[0]).ok_or_else(|| err("not a mapping"))?;
    if top.len() != 1 || top[0].0 != "table_snapshot" {
        return Err(err("expected the single key `table_snapshot`"));
    }
    let (mut table, mut columns, mut rows) = (None, Vec::new(), Vec::new());
    for (key, value) in
        mapping_entries(top[0].1).ok_or_else(|| err("table_snapshot is not a mapping"))?
    {
        match key.as_str() {
            "table_name" => table = scalar_string(value),
            "column_definitions" => {
                let Yaml::Sequence(defs) = untag(value) else {
                    return Err(err("column_definitions is not a list"));
                };
                for def in defs {
                    let entries =
                        mapping_entries(def).ok_or_else(|| err("bad column definition"))?;
                    let get = |k: &str| {
                        entries
                            .iter()
                            .find(|(n, _)| n == k)
                            .and_then(|(_, v)| scalar_string(v))
                    };
                    let name = get("name").ok_or_else(|| err("column without name"))?;
                    let ty = get("type").ok_or_else(|| err("column without type"))?;
                    let sql_type = match ty.as_str() {
                        "STRING" => "VARCHAR",
                        "TIME" => "TIMESTAMP",
                        "FLOAT" => "DOUBLE",
                        "INT" => "BIGINT",
                        "BOOLEAN" => "BOOLEAN",
                        other => return Err(err(&format!("unknown column type {other:?}"))),
                    };
                    columns.push((name, sql_type));
                }
            }
            "rows" => {
                let items = match untag(value) {
                    Yaml::Sequence(items) => items.as_slice(),
                    v if is_null(v) => &[],
                    _ => return Err(err("rows is not a list")),
                };
                for row in items {
                    let Yaml::Sequence(cells) = untag(row) else {
                        return Err(err("row is not a list"));
                    };
                    rows.push(cells.iter().map(scalar_string).collect::<Vec<_>>());
                }
            }
            other => return Err(err(&format!("unknown key `{other}`"))),
        }
    }
    let table = table.ok_or_else(|| err("missing table_name"))?;
    if columns.is_empty() {
        return Err(err("no columns"));
    }
    if let Some(bad) = rows.iter().position(|r| r.len() != columns.len()) {
        return Err(err(&format!(
            "row {} has {} values, expected {}",
            bad + 1,
            rows[bad].len(),
            columns.len()
        )));
    }
    Ok(Fixture {
        table,
        columns,
        rows,
    })
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn fixture_literal(value: &Option<String>, sql_type: &str) -> Result<String, String> {
    let Some(v) = value else {
        return Ok("NULL".into());
    };
    Ok(match sql_type {
        "VARCHAR" => quote_str(v),
        "BOOLEAN" => match v.to_ascii_lowercase().as_str() {
            "true" => "TRUE".into(),
            "false" => "FALSE".into(),
            _ => return Err(format!("not a boolean: {v:?}")),
        },
        "TIMESTAMP" => format!("CAST({} AS TIMESTAMP)", quote_str(&truncate_fraction(v))),
        other => format!("CAST({} AS {other})", quote_str(v)),
    })
}

/// DuckDB's TIMESTAMP holds microseconds; the nanosecond spine has 9 fractional digits.
fn truncate_fraction(v: &str) -> String {
    match v.find('.') {
        Some(dot) if v.len() > dot + 7 && v[dot + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            v[..dot + 7].to_string()
        }
        _ => v.to_string(),
    }
}

/// Creates `schema` and loads all fixture tables of `<metricflow_dir>/fixtures/*/*.yaml` into it.
pub fn load_fixtures(
    conn: &duckdb::Connection,
    metricflow_dir: &Path,
    schema: &str,
) -> Result<(), String> {
    let root = metricflow_dir.join("fixtures");
    let mut groups: Vec<PathBuf> = fs::read_dir(&root)
        .map_err(|e| format!("cannot read {}: {e}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    let mut files = Vec::new();
    for group in groups {
        let mut f = yaml_files(&group)?;
        f.sort();
        files.extend(f);
    }
    if files.is_empty() {
        return Err(format!("no fixtures under {}", root.display()));
    }
    let sql_err = |what: &str, e: duckdb::Error| format!("{what}: {e}");
    conn.execute_batch(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        quote_ident(schema)
    ))
    .map_err(|e| sql_err("create schema", e))?;
    let mut seen = std::collections::HashSet::new();
    for path in files {
        let fixture = parse_fixture(&path)?;
        if !seen.insert(fixture.table.clone()) {
            return Err(format!("duplicate fixture table {}", fixture.table));
        }
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(&fixture.table));
        let cols: Vec<String> = fixture
            .columns
            .iter()
            .map(|(n, t)| format!("{} {t}", quote_ident(n)))
            .collect();
        let mut sql = format!(
            "BEGIN TRANSACTION;\nCREATE OR REPLACE TABLE {qualified} ({});\n",
            cols.join(", ")
        );
        for chunk in fixture.rows.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len());
            for (i, row) in chunk.iter().enumerate() {
                let lits = row
                    .iter()
                    .zip(&fixture.columns)
                    .map(|(v, (_, t))| fixture_literal(v, t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{} row {}: {e}", path.display(), i + 1))?;
                values.push(format!("({})", lits.join(", ")));
            }
            sql.push_str(&format!(
                "INSERT INTO {qualified} VALUES {};\n",
                values.join(",\n")
            ));
        }
        sql.push_str("COMMIT;\n");
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(format!("loading {}: {e}", path.display()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Jinja
// ---------------------------------------------------------------------------------------------

fn jerr(msg: impl Into<String>) -> JinjaError {
    JinjaError::new(ErrorKind::InvalidOperation, msg.into())
}

/// Positional and keyword arguments of a Python-style helper call.
struct Args {
    func: &'static str,
    pos: Vec<Option<JValue>>,
    kw: Vec<(String, Option<JValue>)>,
}

impl Args {
    fn new(func: &'static str, args: Rest<ValueOrKwargs>) -> Result<Args, JinjaError> {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        for a in args.into_values() {
            if a.is_kwargs() {
                let kwargs = Kwargs::try_from(a)?;
                let names: Vec<String> = kwargs.args().map(str::to_string).collect();
                for name in names {
                    let v: JValue = kwargs.get(&name)?;
                    kw.push((name, Some(v)));
                }
            } else {
                pos.push(Some(a));
            }
        }
        Ok(Args { func, pos, kw })
    }

    /// Takes the argument at position `idx` or named `name`.
    fn take(&mut self, idx: usize, name: &str) -> Result<Option<JValue>, JinjaError> {
        let positional = self.pos.get_mut(idx).and_then(Option::take);
        let keyword = self
            .kw
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.take());
        match (positional, keyword) {
            (Some(_), Some(_)) => Err(jerr(format!("{}(): `{name}` given twice", self.func))),
            (Some(v), None) | (None, Some(v)) => {
                Ok((!v.is_none() && !v.is_undefined()).then_some(v))
            }
            (None, None) => Ok(None),
        }
    }

    fn required(&mut self, idx: usize, name: &str) -> Result<JValue, JinjaError> {
        self.take(idx, name)?
            .ok_or_else(|| jerr(format!("{}(): missing argument `{name}`", self.func)))
    }

    fn string(&mut self, idx: usize, name: &str) -> Result<String, JinjaError> {
        Ok(value_text(&self.required(idx, name)?))
    }

    fn opt_string(&mut self, idx: usize, name: &str) -> Result<Option<String>, JinjaError> {
        Ok(self.take(idx, name)?.map(|v| value_text(&v)))
    }

    fn finish(self) -> Result<(), JinjaError> {
        if self.pos.iter().any(Option::is_some) {
            return Err(jerr(format!("{}(): too many arguments", self.func)));
        }
        if let Some((n, _)) = self.kw.iter().find(|(_, v)| v.is_some()) {
            return Err(jerr(format!(
                "{}(): unexpected keyword argument `{n}`",
                self.func
            )));
        }
        Ok(())
    }
}

fn value_text(v: &JValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

fn check_enum(kind: &str, value: &str, allowed: &[&str]) -> Result<String, JinjaError> {
    let lower = value.to_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(jerr(format!("unknown {kind} {value:?}")))
    }
}

/// Python-style list literal of strings: `['a', 'b']`.
fn py_list(v: Option<JValue>) -> Result<String, JinjaError> {
    let Some(v) = v else {
        return Ok("[]".into());
    };
    if let Some(s) = v.as_str() {
        // A bare string is a one-element path.
        return Ok(format!("['{s}']"));
    }
    let items: Vec<String> = v
        .try_iter()?
        .map(|item| format!("'{}'", value_text(&item)))
        .collect();
    Ok(format!("[{}]", items.join(", ")))
}

fn cast_ts(expr: &str) -> String {
    format!("CAST({expr} AS TIMESTAMP)")
}

fn render_time_constraint(
    expr: &str,
    start: Option<&str>,
    stop: Option<&str>,
) -> Result<String, String> {
    let mut parts = Vec::new();
    if let Some(start) = start {
        parse_datetime(start)?;
        parts.push(format!(
            "{} >= {}",
            cast_ts(expr),
            cast_ts(&quote_str(start))
        ));
    }
    if let Some(stop) = stop {
        let micros = parse_datetime(stop)?;
        let next = if stop.len() == 10 {
            format_date(micros + MICROS_PER_DAY)
        } else {
            format_timestamp(micros + 1_000_000)
        };
        parts.push(format!(
            "{} < {}",
            cast_ts(expr),
            cast_ts(&quote_str(&next))
        ));
    }
    if parts.is_empty() {
        return Err("render_time_constraint(): give start_time or stop_time".into());
    }
    Ok(parts.join(" AND "))
}

fn build_env(schema: &str, for_where_filter: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);

    env.add_global("source_schema", schema.to_string());
    env.add_global("double_data_type_name", "DOUBLE");
    env.add_global("mf_time_spine_source", format!("{schema}.mf_time_spine"));
    let enum_map = |values: &[&str]| {
        JValue::from(
            values
                .iter()
                .map(|v| (v.to_uppercase(), JValue::from(*v)))
                .collect::<std::collections::BTreeMap<String, JValue>>(),
        )
    };
    env.add_global("TimeGranularity", enum_map(GRANULARITIES));
    env.add_global("DatePart", enum_map(DATE_PARTS));

    env.add_function(
        "render_date_trunc",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_date_trunc", args)?;
            let expr = a.string(0, "expr")?;
            let grain = a.string(1, "granularity")?;
            a.finish()?;
            let grain = check_enum("granularity", &grain, GRANULARITIES)?;
            Ok(format!("DATE_TRUNC('{grain}', {})", cast_ts(&expr)))
        },
    );
    env.add_function(
        "render_time_constraint",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_time_constraint", args)?;
            let expr = a.string(0, "expr")?;
            let start = a.opt_string(1, "start_time")?;
            let stop = a.opt_string(2, "stop_time")?;
            a.finish()?;
            render_time_constraint(&expr, start.as_deref(), stop.as_deref()).map_err(jerr)
        },
    );
    env.add_function(
        "render_date_sub",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_date_sub", args)?;
            let alias = a.string(0, "table_alias")?;
            let column = a.string(1, "column_alias")?;
            let count = a.required(2, "count")?;
            let grain = a.string(3, "granularity")?;
            a.finish()?;
            let count = count.as_i64().ok_or_else(|| {
                jerr(format!(
                    "render_date_sub(): count {count} is not an integer"
                ))
            })?;
            let grain = check_enum("granularity", &grain, GRANULARITIES)?;
            let (count, grain) = if grain == "quarter" {
                (count * 3, "month".to_string())
            } else {
                (count, grain)
            };
            Ok(format!("{alias}.{column} - INTERVAL {count} {grain}"))
        },
    );
    env.add_function(
        "render_date_add",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_date_add", args)?;
            let expr = a.string(0, "date_column")?;
            let count = a.string(1, "count_column")?;
            let grain = a.string(2, "granularity")?;
            a.finish()?;
            let grain = check_enum("granularity", &grain, GRANULARITIES)?;
            Ok(if grain == "quarter" {
                format!("{expr} + INTERVAL ({count} * 3) month")
            } else {
                format!("{expr} + INTERVAL {count} {grain}")
            })
        },
    );
    env.add_function(
        "render_extract",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_extract", args)?;
            let expr = a.string(0, "expr")?;
            let part = a.string(1, "date_part")?;
            a.finish()?;
            let part = check_enum("date part", &part, DATE_PARTS)?;
            let part = if part == "dow" {
                "isodow".to_string()
            } else {
                part
            };
            Ok(format!("EXTRACT({part} FROM {})", cast_ts(&expr)))
        },
    );
    env.add_function(
        "render_percentile_expr",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("render_percentile_expr", args)?;
            let expr = a.string(0, "expr")?;
            let p = a.string(1, "percentile")?;
            let discrete = a.required(2, "use_discrete_percentile")?.is_true();
            let approximate = a.required(3, "use_approximate_percentile")?.is_true();
            a.finish()?;
            match (discrete, approximate) {
                (false, false) => Ok(format!(
                    "PERCENTILE_CONT({p}) WITHIN GROUP (ORDER BY ({expr}))"
                )),
                (true, false) => Ok(format!(
                    "PERCENTILE_DISC({p}) WITHIN GROUP (ORDER BY ({expr}))"
                )),
                (false, true) => Ok(format!("approx_quantile({expr}, {p})")),
                (true, true) => Err(jerr(
                    "approximate discrete percentile is not available on DuckDB",
                )),
            }
        },
    );
    env.add_function("generate_random_uuid", || "GEN_RANDOM_UUID()".to_string());
    env.add_function(
        "cast_to_ts",
        |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
            let mut a = Args::new("cast_to_ts", args)?;
            let lit = a.string(0, "string_literal")?;
            a.finish()?;
            Ok(cast_ts(&quote_str(&lit)))
        },
    );

    if for_where_filter {
        env.add_function(
            "render_dimension_template",
            |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
                let mut a = Args::new("render_dimension_template", args)?;
                let name = a.string(0, "dimension_name")?;
                let path = py_list(a.take(1, "entity_path")?)?;
                a.finish()?;
                Ok(format!("{{{{ Dimension('{name}', entity_path={path}) }}}}"))
            },
        );
        env.add_function(
            "render_entity_template",
            |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
                let mut a = Args::new("render_entity_template", args)?;
                let name = a.string(0, "entity_name")?;
                let path = py_list(a.take(1, "entity_path")?)?;
                a.finish()?;
                Ok(format!("{{{{ Entity('{name}', entity_path={path}) }}}}"))
            },
        );
        env.add_function(
            "render_metric_template",
            |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
                let mut a = Args::new("render_metric_template", args)?;
                let name = a.string(0, "metric_name")?;
                let group_by = py_list(a.take(1, "group_by")?)?;
                a.finish()?;
                Ok(format!("{{{{ Metric('{name}', group_by={group_by}) }}}}"))
            },
        );
        env.add_function(
            "render_time_dimension_template",
            |args: Rest<ValueOrKwargs>| -> Result<String, JinjaError> {
                let mut a = Args::new("render_time_dimension_template", args)?;
                let name = a.string(0, "time_dimension_name")?;
                let grain = a.opt_string(1, "time_granularity")?;
                let path = py_list(a.take(2, "entity_path")?)?;
                a.finish()?;
                Ok(match grain {
                    Some(g) => {
                        format!("{{{{ TimeDimension('{name}', '{g}', entity_path={path}) }}}}")
                    }
                    None => format!("{{{{ TimeDimension('{name}', entity_path={path}) }}}}"),
                })
            },
        );
    }
    env
}

fn render_with(env: &Environment<'_>, source: &str) -> Result<String, String> {
    env.render_str(source, ()).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        msg
    })
}

/// First Jinja pass of a case's `where_filter` (MetricFlow renders it with the check-query helpers
/// plus the `render_*_template` helpers).
pub fn render_where_filter(raw: &str, schema: &str) -> Result<String, String> {
    render_with(&build_env(schema, true), raw)
}

/// Renders a case's check query for DuckDB with the fixture tables in `schema`.
pub fn render_check_query(case: &Case, schema: &str) -> Result<String, String> {
    render_with(&build_env(schema, false), &case.check_query)
}

// ---------------------------------------------------------------------------------------------
// Date/time helpers (proleptic Gregorian, UTC, microseconds since 1970-01-01)
// ---------------------------------------------------------------------------------------------

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD[ T]HH:MM[:SS[.f+]]` into microseconds since the epoch
/// (digits past the sixth fractional one are ignored). Also reads dates and timestamps that other
/// engines print, e.g. PostgreSQL's text output in the cross-engine test.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("not a date/time: {s:?}");
    let num = |t: &str| -> Result<i64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let s = s.trim();
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let dp: Vec<&str> = date.split('-').collect();
    if dp.len() != 3 {
        return Err(bad());
    }
    let (y, m, d) = (num(dp[0])?, num(dp[1])?, num(dp[2])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut micros = days_from_civil(y, m, d) * MICROS_PER_DAY;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let tp: Vec<&str> = hms.split(':').collect();
        if tp.len() < 2 || tp.len() > 3 {
            return Err(bad());
        }
        let h = num(tp[0])?;
        let mi = num(tp[1])?;
        let sec = if tp.len() == 3 { num(tp[2])? } else { 0 };
        if h > 23 || mi > 59 || sec > 60 {
            return Err(bad());
        }
        micros += ((h * 60 + mi) * 60 + sec) * 1_000_000;
        if let Some(frac) = frac {
            num(frac)?;
            let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
            micros += num(&digits)?;
        }
    }
    Ok(micros)
}

fn format_date(micros: i64) -> String {
    let (y, m, d) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` when there are fractional seconds.
fn format_timestamp(micros: i64) -> String {
    let day_micros = micros.rem_euclid(MICROS_PER_DAY);
    let secs = day_micros / 1_000_000;
    let frac = day_micros % 1_000_000;
    let mut out = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(micros),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/// A result cell. DATE and TIMESTAMP values both become [`Value::Timestamp`].
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Microseconds since 1970-01-01 00:00:00 (UTC for TIMESTAMPTZ).
    Timestamp(i64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Timestamp(t) => f.write_str(&format_timestamp(*t)),
        }
    }
}

/// A query result: column names and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn convert_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(b),
        ValueRef::TinyInt(i) => Value::Int(i.into()),
        ValueRef::SmallInt(i) => Value::Int(i.into()),
        ValueRef::Int(i) => Value::Int(i.into()),
        ValueRef::BigInt(i) => Value::Int(i),
        ValueRef::HugeInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::UHugeInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::UTinyInt(i) => Value::Int(i.into()),
        ValueRef::USmallInt(i) => Value::Int(i.into()),
        ValueRef::UInt(i) => Value::Int(i.into()),
        ValueRef::UBigInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::Float(x) => Value::Float(x.into()),
        ValueRef::Double(x) => Value::Float(x),
        ValueRef::Decimal(d) => Value::Float(
            d.to_string()
                .parse()
                .unwrap_or(d.value() as f64 / 10f64.powi(d.scale().into())),
        ),
        ValueRef::Timestamp(unit, t) => Value::Timestamp(unit.to_micros(t)),
        ValueRef::Date32(d) => Value::Timestamp(i64::from(d) * MICROS_PER_DAY),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => Value::Text(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        ValueRef::Time64(unit, t) => {
            let micros = unit.to_micros(t);
            Value::Text(format_timestamp(micros)[11..].to_string())
        }
        ValueRef::Interval {
            months,
            days,
            nanos,
        } => Value::Text(format!("{months} months {days} days {nanos} ns")),
        other => match other.as_str() {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Text(format!("{:?}", other.to_owned())),
        },
    }
}

/// Whether duckdb-rs can decode cells of this Arrow type (it panics on the others).
fn readable(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Timestamp(..)
            | DataType::Date32
            | DataType::Time64(ArrowTimeUnit::Microsecond)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::LargeList(..)
            | DataType::List(..)
            | DataType::Dictionary(..)
            | DataType::Struct(_)
            | DataType::Map(..)
            | DataType::FixedSizeList(..)
            | DataType::Union(..)
    )
}

/// Executes `sql` and collects its result.
pub fn query_table(conn: &duckdb::Connection, sql: &str) -> Result<Table, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut table = Table::default();
    // Per column: None = decode normally, Some(v) = every cell is `v`.
    let mut fixed: Vec<Option<Value>> = Vec::new();
    if let Some(s) = rows.as_ref() {
        table.columns = s.column_names();
        for i in 0..table.columns.len() {
            let dt = s.column_type(i);
            fixed.push(match dt {
                DataType::Null => Some(Value::Null),
                ref t if !readable(t) => Some(Value::Text(format!("<unsupported type {t}>"))),
                _ => None,
            });
        }
    }
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut out = Vec::with_capacity(fixed.len());
        for (i, f) in fixed.iter().enumerate() {
            out.push(match f {
                Some(v) => v.clone(),
                None => convert_value(row.get_ref(i).map_err(|e| e.to_string())?),
            });
        }
        table.rows.push(out);
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 2,
        Value::Timestamp(_) => 3,
        Value::Text(_) => 4,
    }
}

/// A total order: NULL < booleans < numbers (NaN last) < timestamps < text.
fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => match (x.is_nan(), y.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            },
            _ => type_rank(a).cmp(&type_rank(b)),
        },
    }
}

/// Python's `math.isclose(a, b, rel_tol=1e-6)`, with NaN equal to NaN.
fn numbers_close(x: f64, y: f64) -> bool {
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if x == y {
        return true;
    }
    if x.is_infinite() || y.is_infinite() {
        return false;
    }
    (x - y).abs() <= 1e-6 * x.abs().max(y.abs())
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) if x == y => true,
        (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        (Value::Text(x), Value::Text(y)) => x == y,
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => numbers_close(x, y),
            _ => false,
        },
    }
}

fn rows_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
}

fn cmp_rows(a: &[Value], b: &[Value], key: &[usize]) -> Ordering {
    for &i in key {
        let o = cmp_values(&a[i], &b[i]);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The table with its columns sorted by name.
fn with_sorted_columns(t: &Table) -> Table {
    let mut idx: Vec<usize> = (0..t.columns.len()).collect();
    idx.sort_by(|&a, &b| t.columns[a].cmp(&t.columns[b]));
    Table {
        columns: idx.iter().map(|&i| t.columns[i].clone()).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| {
                idx.iter()
                    .map(|&i| r.get(i).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect(),
    }
}

fn render_row(row: &[Value]) -> String {
    row.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

const MAX_DIFF_ROWS: usize = 20;

/// Compares tally's result (`actual`) with the check query's (`expected`) by MetricFlow's rules:
/// exact column names; unless `check_order`, columns sorted by name and rows sorted by value; numbers
/// equal within a relative tolerance of 1e-6 (integers and floats alike, NaN equal to NaN); DATE
/// and TIMESTAMP as timestamps; an empty expected table fails unless `allow_empty`. The error
/// starts with a one-line summary, followed by a compact expected(-)/actual(+) diff.
pub fn compare(case: &Case, expected: &Table, actual: &Table) -> Result<(), String> {
    let (exp, act) = if case.check_order {
        (expected.clone(), actual.clone())
    } else {
        (with_sorted_columns(expected), with_sorted_columns(actual))
    };
    if exp.columns != act.columns {
        let missing: Vec<&String> = exp
            .columns
            .iter()
            .filter(|c| !act.columns.contains(c))
            .collect();
        let extra: Vec<&String> = act
            .columns
            .iter()
            .filter(|c| !exp.columns.contains(c))
            .collect();
        let mut msg = if missing.is_empty() && extra.is_empty() {
            "column order differs".to_string()
        } else {
            "column names differ".to_string()
        };
        if !missing.is_empty() {
            msg.push_str(&format!("; missing {missing:?}"));
        }
        if !extra.is_empty() {
            msg.push_str(&format!("; unexpected {extra:?}"));
        }
        msg.push_str(&format!(
            "\n  expected columns: {:?}\n  actual columns:   {:?}",
            exp.columns, act.columns
        ));
        return Err(msg);
    }
    if exp.rows.is_empty() && !case.allow_empty {
        return Err(format!(
            "expected table is empty and allow_empty is not set (actual has {} rows)",
            act.rows.len()
        ));
    }
    let header = format!("  columns: {}", exp.columns.join(" | "));
    if case.check_order {
        let mut lines = Vec::new();
        let (mut differing, mut shown) = (0usize, 0usize);
        for i in 0..exp.rows.len().max(act.rows.len()) {
            let (e, a) = (exp.rows.get(i), act.rows.get(i));
            if matches!((e, a), (Some(e), Some(a)) if rows_equal(e, a)) {
                continue;
            }
            differing += 1;
            if shown < MAX_DIFF_ROWS {
                shown += 1;
                if let Some(e) = e {
                    lines.push(format!("  row {i}: - {}", render_row(e)));
                }
                if let Some(a) = a {
                    lines.push(format!("  row {i}: + {}", render_row(a)));
                }
            }
        }
        if differing == 0 {
            return Ok(());
        }
        let mut msg = format!(
            "ordered rows differ at {differing} positions (expected {} rows, actual {})\n{header}",
            exp.rows.len(),
            act.rows.len()
        );
        push_lines(&mut msg, lines, differing - shown);
        return Err(msg);
    }

    // Sort rows. The sort key takes text, timestamp and boolean columns first (usually group-by
    // items), then integer columns, then float columns: rounding noise in float metric values then
    // cannot reorder rows that exact columns tell apart, and the diff pairs rows by their keys.
    let ncols = exp.columns.len();
    let rank = |c: usize| {
        let cells = || exp.rows.iter().chain(&act.rows).filter_map(|r| r.get(c));
        if cells().any(|v| matches!(v, Value::Float(_))) {
            2
        } else if cells().any(|v| matches!(v, Value::Int(_))) {
            1
        } else {
            0
        }
    };
    let mut key: Vec<usize> = (0..ncols).collect();
    key.sort_by_key(|&c| rank(c));
    let mut erows = exp.rows;
    let mut arows = act.rows;
    erows.sort_by(|a, b| cmp_rows(a, b, &key));
    arows.sort_by(|a, b| cmp_rows(a, b, &key));

    // Merge the sorted rows: `-` rows only in expected, `+` rows only in actual.
    let (mut i, mut j) = (0, 0);
    let (mut missing, mut extra) = (0usize, 0usize);
    let mut lines = Vec::new();
    while i < erows.len() || j < arows.len() {
        let take_expected = match (erows.get(i), arows.get(j)) {
            (Some(e), Some(a)) if rows_equal(e, a) => {
                i += 1;
                j += 1;
                continue;
            }
            (Some(e), Some(a)) => cmp_rows(e, a, &key) != Ordering::Greater,
            (Some(_), None) => true,
            _ => false,
        };
        let line = if take_expected {
            missing += 1;
            i += 1;
            format!("  - {}", render_row(&erows[i - 1]))
        } else {
            extra += 1;
            j += 1;
            format!("  + {}", render_row(&arows[j - 1]))
        };
        if lines.len() < MAX_DIFF_ROWS {
            lines.push(line);
        }
    }
    if missing == 0 && extra == 0 {
        return Ok(());
    }
    let mut msg = format!(
        "rows differ: {missing} expected rows missing, {extra} unexpected rows (expected {} rows, actual {})\n{header}",
        erows.len(),
        arows.len()
    );
    let hidden = missing + extra - lines.len();
    push_lines(&mut msg, lines, hidden);
    Err(msg)
}

fn push_lines(msg: &mut String, lines: Vec<String>, hidden: usize) {
    for l in lines {
        msg.push('\n');
        msg.push_str(&l);
    }
    if hidden > 0 {
        msg.push_str(&format!("\n  ... {hidden} more"));
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Result of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Results of [`run`], in case order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `(file::name, outcome)`.
    pub results: Vec<(String, Outcome)>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Pass))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skip(_)))
            .count()
    }

    /// `N passed, N failed, N skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The failing cases with their messages.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.results.iter().filter_map(|(id, o)| match o {
            Outcome::Fail(msg) => Some((id.as_str(), msg.as_str())),
            _ => None,
        })
    }
}

/// A directory that is removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tally-conformance-{}-{nanos}-{n}",
            std::process::id()
        ));
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
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

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

fn run_case(
    conn: &duckdb::Connection,
    case: &Case,
    manifest_dir: &Path,
    compile: &dyn Fn(&Case, &Path) -> Result<String, String>,
) -> Outcome {
    if let Some(reason) = case.skip_reason() {
        return Outcome::Skip(reason);
    }
    let compiled =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compile(case, manifest_dir)));
    let sql = match compiled {
        Ok(Ok(sql)) => sql,
        Ok(Err(e)) => return Outcome::Fail(format!("compile error: {e}")),
        Err(p) => return Outcome::Fail(format!("compiler panicked: {}", panic_message(p))),
    };
    let actual = match query_table(conn, &sql) {
        Ok(t) => t,
        Err(e) => {
            return Outcome::Fail(format!("tally SQL failed: {e}\n  SQL: {}", one_line(&sql)))
        }
    };
    let check_sql = match render_check_query(case, SOURCE_SCHEMA) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(format!("cannot render check query: {e}")),
    };
    let expected = match query_table(conn, &check_sql) {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(format!("check query failed: {e}")),
    };
    match compare(case, &expected, &actual) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn one_line(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 400 {
        format!("{}...", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// Runs every case (or those whose `file::name` contains `filter`) against tally.
///
/// Creates an in-memory DuckDB, loads the fixtures into [`SOURCE_SCHEMA`], writes the manifests with
/// `$source_schema` replaced into a temporary directory, and for each case calls `compile(case,
/// manifest_dir)` (the directory of `case.model` in that copy) for tally's SQL, runs it and the
/// check query, and compares. Compile errors, panics and SQL errors are failures; cases needing an
/// approximate discrete percentile are skipped. Prints nothing.
pub fn run(
    metricflow_dir: &Path,
    compile: &dyn Fn(&Case, &Path) -> Result<String, String>,
    filter: Option<&str>,
) -> Result<Report, String> {
    let cases = load_cases(metricflow_dir)?;
    let conn =
        duckdb::Connection::open_in_memory().map_err(|e| format!("cannot open DuckDB: {e}"))?;
    load_fixtures(&conn, metricflow_dir, SOURCE_SCHEMA)?;
    let tmp = TempDir::new()?;
    prepare_manifests(metricflow_dir, SOURCE_SCHEMA, &tmp.0)?;
    let mut report = Report::default();
    for case in &cases {
        let id = case.id();
        if let Some(f) = filter {
            if !id.contains(f) {
                continue;
            }
        }
        let manifest_dir = tmp.0.join(&case.model);
        let outcome = run_case(&conn, case, &manifest_dir, compile);
        report.results.push((id, outcome));
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
