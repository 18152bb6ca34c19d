//! Every dialect compiles every MetricFlow conformance case and every metric of the repository's
//! Intercom project, and its SQL parses back with sqlparser in that dialect. A case a dialect cannot
//! express must fail with a coded diagnostic listed in [`EXPECTED_UNSUPPORTED`] with its reason.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_core::dialect::{self, Dialect};
use tally_core::load::LoadOptions;
use tally_core::model::{Filter, Model};
use tally_core::plan::QueryRequest;
use tally_core::source::Span;
use tally_core::yaml::Spanned;

/// (dialect, case id, diagnostic code, why): cases a dialect cannot compute.
const EXPECTED_UNSUPPORTED: &[(&str, &str, &str, &str)] = &[(
    "redshift",
    "itest_measure_aggregations::discrete_percentile_agg",
    "E0405",
    "Redshift's PERCENTILE_DISC is a window function, not an aggregate",
)];

/// The conformance cases that cannot run on DuckDB (see the tally-conformance runner) are
/// skipped for every dialect: they need an approximate discrete percentile.
const SKIP_FEATURE: &str = "APPROXIMATE_DISCRETE_PERCENTILE_AGGREGATION";

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

/// A conformance case, as much of it as a query needs.
#[derive(Default, Debug)]
struct Case {
    id: String,
    manifest: String,
    req: QueryRequest,
    saved_query: Option<String>,
    skip: bool,
}

fn scalar(y: &saphyr::Yaml) -> Option<String> {
    use saphyr::{Scalar, Yaml};
    match y {
        Yaml::Value(Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        Yaml::Tagged(_, inner) => scalar(inner),
        _ => None,
    }
}

fn list(y: &saphyr::Yaml) -> Vec<String> {
    match y {
        saphyr::Yaml::Sequence(items) => items.iter().filter_map(scalar).collect(),
        _ => Vec::new(),
    }
}

fn entries<'a, 'b>(y: &'a saphyr::Yaml<'b>) -> Vec<(String, &'a saphyr::Yaml<'b>)> {
    match y {
        saphyr::Yaml::Mapping(m) => m
            .iter()
            .filter_map(|(k, v)| scalar(k).map(|k| (k, v)))
            .collect(),
        saphyr::Yaml::Tagged(_, inner) => entries(inner),
        _ => Vec::new(),
    }
}

/// The first Jinja pass of a where filter: MetricFlow's `render_*_template` helpers produce
/// `{{ Dimension('x', entity_path=[...]) }}` text; the check-query helpers produce DuckDB SQL.
fn render_where(raw: &str) -> String {
    use minijinja::value::{Rest, Value, ValueOrKwargs};
    fn list(v: Option<&Value>) -> String {
        let items: Vec<String> = v
            .and_then(|v| v.try_iter().ok())
            .map(|it| {
                it.map(|i| format!("'{}'", i.as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        format!("[{}]", items.join(", "))
    }
    /// Argument `i`, or the keyword argument `name`.
    fn kw(args: &[Value], i: usize, name: &str) -> Option<Value> {
        if let Some(v) = args.get(i).filter(|v| !v.is_kwargs() && !v.is_none()) {
            return Some(v.clone());
        }
        args.last()
            .filter(|v| v.is_kwargs())
            .and_then(|k| k.get_attr(name).ok())
            .filter(|v| !v.is_undefined() && !v.is_none())
    }
    let mut env = minijinja::Environment::new();
    let grains: BTreeMap<String, String> = [
        "day", "week", "month", "quarter", "year", "hour", "minute", "second",
    ]
    .iter()
    .map(|g| (g.to_uppercase(), g.to_string()))
    .collect();
    env.add_global("TimeGranularity", Value::from(grains));
    env.add_function("render_dimension_template", |args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        let name = kw(&args, 0, "dimension_name").unwrap_or_default();
        format!(
            "{{{{ Dimension('{name}', entity_path={}) }}}}",
            list(kw(&args, 1, "entity_path").as_ref())
        )
    });
    env.add_function("render_entity_template", |args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        let name = kw(&args, 0, "entity_name").unwrap_or_default();
        format!(
            "{{{{ Entity('{name}', entity_path={}) }}}}",
            list(kw(&args, 1, "entity_path").as_ref())
        )
    });
    env.add_function("render_metric_template", |args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        let name = kw(&args, 0, "metric_name").unwrap_or_default();
        format!(
            "{{{{ Metric('{name}', group_by={}) }}}}",
            list(kw(&args, 1, "group_by").as_ref())
        )
    });
    env.add_function(
        "render_time_dimension_template",
        |args: Rest<ValueOrKwargs>| {
            let args = args.into_values();
            let name = kw(&args, 0, "time_dimension_name").unwrap_or_default();
            let path = list(kw(&args, 2, "entity_path").as_ref());
            match kw(&args, 1, "time_granularity") {
                Some(g) => format!("{{{{ TimeDimension('{name}', '{g}', entity_path={path}) }}}}"),
                None => format!("{{{{ TimeDimension('{name}', entity_path={path}) }}}}"),
            }
        },
    );
    env.add_function("cast_to_ts", |s: String| {
        format!("CAST('{}' AS TIMESTAMP)", s.replace('\'', "''"))
    });
    env.add_function("render_date_trunc", |e: String, g: String| {
        format!("DATE_TRUNC('{g}', CAST({e} AS TIMESTAMP))")
    });
    env.add_function("render_time_constraint", |args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        let e = kw(&args, 0, "expr").unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(s) = kw(&args, 1, "start_time") {
            parts.push(format!(
                "CAST({e} AS TIMESTAMP) >= CAST('{s}' AS TIMESTAMP)"
            ));
        }
        if let Some(s) = kw(&args, 2, "stop_time") {
            // The exact bound does not matter for compiling.
            parts.push(format!(
                "CAST({e} AS TIMESTAMP) <= CAST('{s}' AS TIMESTAMP)"
            ));
        }
        parts.join(" AND ")
    });
    env.render_str(raw, ())
        .unwrap_or_else(|e| panic!("where filter {raw:?}: {e}"))
}

fn load_cases() -> Vec<Case> {
    let dir = common::metricflow_dir().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).expect("case file");
        use saphyr::LoadableYamlNode;
        let docs = saphyr::Yaml::load_from_str(&text).expect("case YAML");
        for doc in &docs {
            let Some((_, body)) = entries(doc)
                .into_iter()
                .find(|(k, _)| k == "integration_test")
            else {
                continue;
            };
            let mut case = Case::default();
            let mut name = String::new();
            let s = |v: &str| Spanned::synthetic(v.to_string());
            for (k, v) in entries(body) {
                match k.as_str() {
                    "name" => name = scalar(v).unwrap_or_default(),
                    "model" => {
                        let m = scalar(v).unwrap_or_default();
                        case.manifest = MODELS
                            .iter()
                            .find(|(x, _)| *x == m)
                            .map(|(_, d)| d.to_string())
                            .unwrap_or_else(|| panic!("unknown model {m}"));
                    }
                    "metrics" => case.req.metrics = list(v).iter().map(|m| s(m)).collect(),
                    "group_bys" => case.req.group_by.extend(list(v).iter().map(|m| s(m))),
                    "group_by_objs" => {
                        if let saphyr::Yaml::Sequence(items) = v {
                            for item in items {
                                let e: BTreeMap<String, String> = entries(item)
                                    .into_iter()
                                    .filter_map(|(k, v)| scalar(v).map(|v| (k, v)))
                                    .collect();
                                let n = &e["name"];
                                let g = e.get("grain").map(|g| g.to_lowercase());
                                let p = e.get("date_part").map(|p| p.to_lowercase());
                                let item = match (g, p) {
                                    (None, None) => n.clone(),
                                    (Some(g), None) => format!("TimeDimension('{n}', '{g}')"),
                                    (None, Some(p)) => {
                                        format!("TimeDimension('{n}', date_part_name='{p}')")
                                    }
                                    (Some(g), Some(p)) => {
                                        format!("TimeDimension('{n}', '{g}', date_part_name='{p}')")
                                    }
                                };
                                case.req.group_by.push(s(&item));
                            }
                        }
                    }
                    "where_filter" => {
                        if let Some(w) = scalar(v) {
                            case.req.where_.push(Filter {
                                text: render_where(&w),
                                span: Span::DUMMY,
                            });
                        }
                    }
                    "time_constraint" => {
                        let t = list(v);
                        case.req.start_time = t.first().cloned();
                        case.req.end_time = t.get(1).cloned();
                    }
                    "order_bys" => case.req.order_by = list(v).iter().map(|m| s(m)).collect(),
                    "limit" => case.req.limit = scalar(v).and_then(|l| l.parse().ok()),
                    "saved_query_name" => case.saved_query = scalar(v),
                    "min_max_only" => case.req.min_max_only = scalar(v).as_deref() == Some("true"),
                    "apply_group_by" => {
                        case.req.no_group_by = scalar(v).as_deref() == Some("false")
                    }
                    "required_features" => case.skip = list(v).iter().any(|f| f == SKIP_FEATURE),
                    _ => {}
                }
            }
            case.id = format!("{stem}::{name}");
            out.push(case);
        }
    }
    out
}

/// The request of a case against its model (a saved query's, extended by the case's items).
fn request(model: &Model, case: &Case) -> QueryRequest {
    let Some(name) = &case.saved_query else {
        return case.req.clone();
    };
    let mut req = QueryRequest::from_saved_query(model, name)
        .unwrap_or_else(|d| panic!("{}: {}", case.id, d.message));
    let c = case.req.clone();
    req.metrics.extend(c.metrics);
    req.group_by.extend(c.group_by);
    req.order_by.extend(c.order_by);
    req.where_.extend(c.where_);
    if c.limit.is_some() {
        req.limit = c.limit;
    }
    if c.start_time.is_some() {
        req.start_time = c.start_time;
        req.end_time = c.end_time;
    }
    req.min_max_only = c.min_max_only;
    req.no_group_by = c.no_group_by;
    req
}

/// Compile in a dialect: `Ok(sql)` (already parsed back by the pipeline, and parsed again here),
/// or the codes and messages of the diagnostics.
fn compile(
    model: &Model,
    d: &dyn Dialect,
    req: &QueryRequest,
) -> Result<String, Vec<(String, String)>> {
    match tally_core::pipeline::compile(model, d, req) {
        Ok(c) => {
            if let Err(e) = tally_core::sql::parse_back(d, &c.sql) {
                return Err(vec![("E0901".into(), e)]);
            }
            Ok(c.sql)
        }
        Err(diags) => Err(diags
            .iter()
            .filter(|x| x.is_error())
            .map(|x| (x.code.to_string(), x.message.clone()))
            .collect()),
    }
}

#[test]
fn every_conformance_case_compiles_in_every_dialect() {
    let cases = load_cases();
    assert!(cases.len() > 150, "{} cases", cases.len());
    let mut models: BTreeMap<String, Model> = BTreeMap::new();
    for (_, dir) in MODELS {
        let (model, diags) = common::load_manifest(dir);
        assert!(diags.iter().all(|d| !d.is_error()), "{dir} has errors");
        models.insert(dir.to_string(), model);
    }
    let mut problems = Vec::new();
    let mut unsupported_seen = Vec::new();
    let mut compiled = 0;
    for case in &cases {
        if case.skip {
            continue;
        }
        let model = &models[&case.manifest];
        let req = request(model, case);
        // Cases that fail on DuckDB are the conformance runner's business; every other dialect
        // must then compile whatever DuckDB compiles.
        if compile(model, &dialect::DuckDb, &req).is_err() {
            continue;
        }
        for d in dialect::ALL {
            let expected = EXPECTED_UNSUPPORTED
                .iter()
                .find(|(n, id, _, _)| *n == d.name() && *id == case.id);
            match (compile(model, *d, &req), expected) {
                (Ok(_), None) => compiled += 1,
                (Ok(_), Some(_)) => problems.push(format!(
                    "{} {}: compiles, but is listed as unsupported",
                    d.name(),
                    case.id
                )),
                (Err(e), Some((_, _, code, _))) if e.iter().all(|(c, _)| c == code) => {
                    unsupported_seen.push((d.name(), case.id.clone()));
                }
                (Err(e), _) => problems.push(format!("{} {}: {e:?}", d.name(), case.id)),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    for (n, id, _, _) in EXPECTED_UNSUPPORTED {
        assert!(
            unsupported_seen.iter().any(|(a, b)| a == n && b == id),
            "{n} {id} is listed as unsupported but was not compiled"
        );
    }
    assert!(compiled > 7 * 100, "{compiled} compiled");
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_intercom_metric_compiles_in_every_dialect() {
    let (model, diags) = tally_core::pipeline::load_model(&project_root(), &LoadOptions::default());
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(errors.is_empty(), "{}", common::render(&model, &errors));
    let mut problems = Vec::new();
    for name in model.metrics.keys() {
        for group_by in [None, Some("metric_time__month")] {
            let req = QueryRequest {
                metrics: vec![Spanned::synthetic(name.clone())],
                group_by: group_by
                    .map(|g| Spanned::synthetic(g.to_string()))
                    .into_iter()
                    .collect(),
                ..QueryRequest::default()
            };
            for d in dialect::ALL {
                if let Err(e) = compile(&model, *d, &req) {
                    problems.push(format!("{} {name} by {group_by:?}: {e:?}", d.name()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every macro of the library renders in every dialect to SQL that parses back in it.
#[test]
fn every_macro_renders_and_parses_in_every_dialect() {
    let lib = tally_core::jinja::MacroLibrary::default();
    let vars = indexmap::IndexMap::new();
    let statements = [
        "SELECT {{ dateadd('day', 7, 'x') }}, {{ dateadd('hour', -2, 'x') }}, {{ dateadd('week', 2, 'x') }}, \
         {{ dateadd('month', 1, 'x') }}, {{ dateadd('quarter', 1, 'x') }}, {{ dateadd('year', 1, 'x') }}, \
         {{ datediff('second', 'a', 'b') }}, {{ datediff('hour', 'a', 'b') }}, {{ datediff('day', 'a', 'b') }}, \
         {{ datediff('week', 'a', 'b') }}, {{ datediff('month', 'a', 'b') }}, {{ datediff('quarter', 'a', 'b') }}, \
         {{ datediff('year', 'a', 'b') }}, {{ epoch_seconds('x') }}, {{ seconds_between('a', 'b') }}, \
         {{ date_trunc('week', 'x') }}, {{ date_trunc('month', 'x') }}, {{ cast_timestamp('x') }}, \
         {{ cast_date('x') }}, {{ cast_string('x') }}, {{ cast_double('x') }}, {{ cast_integer('x') }}, \
         {{ safe_divide('a', 'b') }}, {{ string_literal('it''s') }}, \
         {{ timestamp_literal('2026-06-30 23:59:59') }}, {{ greatest_not_null('a', 'b') }}, \
         {{ least_not_null('a', 'b') }}, {{ as_boolean('a > b') }}, {{ current_row('k', 'updated_at') }} AS is_current FROM t",
        "SELECT {{ bool_or('p') }}, {{ bool_and('p') }} FROM t GROUP BY k",
        "WITH c AS ({{ fivetran_current('src.history', 'id', 'updated_at') }}) SELECT * FROM c",
        "{{ time_spine('2020-01-01', '2030-12-31') }}",
    ];
    for d in dialect::ALL {
        for stmt in statements {
            let sql = tally_core::jinja::render_sql(stmt, Span::DUMMY, &lib, d.macros(), &vars)
                .unwrap_or_else(|e| panic!("{}: {}", d.name(), e.message));
            assert!(!sql.contains("{{"), "{sql}");
            if let Err(e) = tally_core::sql::parse_back(*d, &sql) {
                panic!("{}: {e}\n{sql}", d.name());
            }
        }
    }
}

/// The string_literal macro escapes exactly as the dialect does in generated SQL.
#[test]
fn string_literal_macro_agrees_with_the_dialect() {
    let lib = tally_core::jinja::MacroLibrary::default();
    let mut vars = indexmap::IndexMap::new();
    let value = "it's a \\ back\tslash\nand a newline";
    vars.insert("v".to_string(), serde_json::json!(value));
    for d in dialect::ALL {
        let sql = tally_core::jinja::render_sql(
            "{{ string_literal(var('v')) }}",
            Span::DUMMY,
            &lib,
            d.macros(),
            &vars,
        )
        .unwrap();
        assert_eq!(sql, d.string_literal(value), "{}", d.name());
        let stmt = format!("SELECT {sql}");
        tally_core::sql::parse_back(*d, &stmt).unwrap_or_else(|e| panic!("{}: {e}", d.name()));
    }
}

#[test]
fn dialect_names_and_did_you_mean() {
    assert_eq!(dialect::NAMES.len(), 7);
    for n in dialect::NAMES {
        assert_eq!(dialect::by_name(n).map(|d| d.name()), Some(*n));
        assert_eq!(
            dialect::by_name(&n.to_uppercase()).map(|d| d.name()),
            Some(*n)
        );
    }
    assert_eq!(
        dialect::by_name("postgresql").map(|d| d.name()),
        Some("postgres")
    );
    assert!(dialect::by_name("oracle").is_none());
    assert_eq!(
        tally_core::diag::did_you_mean("snowflak", dialect::NAMES.iter().copied()),
        Some("snowflake".to_string())
    );
}

const SHOP_MODEL: &str = "\
semantic_models:
  - name: orders
    sql: |
      SELECT order_id, {{ dateadd('day', 1, 'ordered_at') }} AS ordered_at, {{ shop_amount('amount_cents') }} AS amount
      FROM shop.orders
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: order, type: primary, expr: order_id}
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: late_revenue, agg: sum, expr: \"CASE WHEN {{ datediff('day', 'ordered_at', 'ordered_at') }} > 0 THEN amount END\"}
      - {name: amount_p50, agg: percentile, expr: amount, agg_params: {percentile: 0.5, use_approximate_percentile: true}}
metrics:
  - {name: revenue, type: simple, type_params: {measure: revenue}}
  - {name: late_revenue, type: simple, type_params: {measure: late_revenue}}
  - {name: amount_p50, type: simple, type_params: {measure: amount_p50}}
";

/// A project directory in the temporary directory, removed when dropped.
struct TempProject(PathBuf);

impl TempProject {
    fn new(name: &str, files: &[(&str, &str)]) -> TempProject {
        let dir =
            std::env::temp_dir().join(format!("tally-dialects-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        TempProject(dir)
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn project_templates_add_and_override_macros_in_every_dialect() {
    let project = TempProject::new(
        "templates",
        &[
            ("tally.yml", "name: shop\ndialect: postgres\n"),
            ("models/orders.yml", SHOP_MODEL),
            (
                "templates/shop.sql",
                "{%- macro shop_amount(cents) -%}({{ cents }} / 100.0){%- endmacro -%}\n\
                 {%- macro dateadd(unit, count, expr) -%}SHOP_ADD({{ expr }}){%- endmacro -%}\n",
            ),
        ],
    );
    let (model, diags) = tally_core::pipeline::load_model(&project.0, &LoadOptions::default());
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    // The project's dialect (postgres) has no approximate percentile: validation says so, at the
    // measure.
    assert_eq!(errors.len(), 1, "{}", common::render(&model, &errors));
    assert_eq!(errors[0].code, "E0405");
    assert!(
        errors[0].message.contains("PostgreSQL"),
        "{}",
        errors[0].message
    );
    for d in dialect::ALL {
        let req = QueryRequest {
            metrics: vec![
                Spanned::synthetic("revenue".to_string()),
                Spanned::synthetic("late_revenue".to_string()),
            ],
            ..QueryRequest::default()
        };
        let sql = compile(&model, *d, &req).unwrap_or_else(|e| panic!("{}: {e:?}", d.name()));
        // The project's own macro, and its override of tally's `dateadd`, in every dialect.
        assert!(sql.contains("(amount_cents / 100.0) AS amount"), "{sql}");
        assert!(sql.contains("SHOP_ADD(ordered_at)"), "{sql}");
        // A measure's SQL uses the dialect's macros too.
        assert!(!sql.contains("{{"), "{sql}");
    }
    let req = QueryRequest {
        metrics: vec![Spanned::synthetic("late_revenue".to_string())],
        ..QueryRequest::default()
    };
    let snowflake = compile(&model, &dialect::Snowflake, &req).unwrap();
    assert!(
        snowflake.contains("DATEDIFF(day, ordered_at, ordered_at)"),
        "{snowflake}"
    );
}

#[test]
fn an_unknown_dialect_in_tally_yml_is_an_error_with_a_suggestion() {
    let (spec, mut diags) = tally_core::load::load_files(
        &[("models/orders.yml", SHOP_MODEL)],
        Some("name: shop\ndialect: snowflak\n"),
        &LoadOptions::default(),
    );
    let (model, more) = tally_core::model::spec_to_model(spec);
    diags.extend(more);
    diags.extend(tally_core::validate::validate_model(&model));
    let d = diags
        .iter()
        .find(|d| d.message.contains("unknown dialect"))
        .unwrap_or_else(|| panic!("{}", common::render(&model, &diags)));
    assert_eq!(d.code, "E0004");
    assert_eq!(model.sources.text(d.span), Some("snowflak"));
    assert!(
        d.help
            .iter()
            .any(|h| h.contains("did you mean `snowflake`")),
        "{:?}",
        d.help
    );
}

/// The help text of template errors lists every macro of the library, and every dialect's file
/// overrides only macros the base library defines.
#[test]
fn the_macro_list_is_complete() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let names = |text: &str| -> Vec<String> {
        text.split("macro ")
            .skip(1)
            .filter_map(|rest| rest.split('(').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect()
    };
    let base = names(&std::fs::read_to_string(templates.join("macros.sql")).unwrap());
    let listed: Vec<&str> = tally_core::jinja::MACROS
        .iter()
        .map(|m| m.split('(').next().unwrap())
        .collect();
    for n in &base {
        assert!(listed.contains(&n.as_str()), "{n} is not in jinja::MACROS");
    }
    for l in &listed {
        assert!(base.iter().any(|n| n == l), "{l} is listed but not defined");
    }
    for d in dialect::ALL {
        for n in names(d.macros()) {
            assert!(
                base.contains(&n),
                "{} overrides unknown macro {n}",
                d.name()
            );
        }
    }
}
