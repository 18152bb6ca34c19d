//! Every dialect compiles every MetricFlow conformance case and every metric of the repository's
//! Intercom project, and its SQL parses back with sqlparser in that dialect. A case a dialect cannot
//! express must fail with a coded diagnostic listed in [`EXPECTED_UNSUPPORTED`] with its reason.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_conformance_cases::{self as cases, Case};
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

/// The conformance cases, read by the same DuckDB-free loader as the conformance runner
/// (`tally-conformance-cases`): `model` mapped to a manifest directory, where filters through
/// MetricFlow's first Jinja pass. Cases that cannot run on DuckDB (an approximate discrete
/// percentile, [`Case::skip_reason`]) are skipped for every dialect.
fn load_cases() -> Vec<Case> {
    cases::load_cases(&common::metricflow_dir()).expect("conformance cases")
}

/// The request of a case against its model (a saved query's, extended by the case's items).
fn request(model: &Model, case: &Case) -> QueryRequest {
    let mut req = match &case.saved_query_name {
        Some(name) => QueryRequest::from_saved_query(model, name)
            .unwrap_or_else(|d| panic!("{}: {}", case.id(), d.message)),
        None => QueryRequest::default(),
    };
    let s = |v: &String| Spanned::synthetic(v.clone());
    req.metrics.extend(case.metrics.iter().map(s));
    req.group_by.extend(case.group_bys.iter().map(s));
    req.order_by.extend(case.order_bys.iter().map(s));
    req.where_.extend(
        case.where_filter
            .iter()
            .map(|w| Filter::new(w.clone(), Span::DUMMY)),
    );
    if case.limit.is_some() {
        req.limit = case.limit;
    }
    if let Some((start, end)) = &case.time_constraint {
        req.start_time = Some(start.clone());
        req.end_time = Some(end.clone());
    }
    req.min_max_only = case.min_max_only;
    req.no_group_by = !case.apply_group_by;
    req
}

/// Compile in a dialect: `Ok(sql)` (already parsed back by the pipeline, and parsed again here),
/// or the codes and messages of the diagnostics.
fn compile(model: &Model, d: Dialect, req: &QueryRequest) -> Result<String, Vec<(String, String)>> {
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
    for (_, dir) in cases::MODELS {
        let (model, diags) = common::load_manifest(dir);
        assert!(diags.iter().all(|d| !d.is_error()), "{dir} has errors");
        models.insert(dir.to_string(), model);
    }
    let mut problems = Vec::new();
    let mut unsupported_seen = Vec::new();
    let mut compiled = 0;
    for case in &cases {
        if case.skip_reason().is_some() {
            continue;
        }
        let model = &models[&case.model];
        let req = request(model, case);
        // Cases that fail on DuckDB are the conformance runner's business; every other dialect
        // must then compile whatever DuckDB compiles.
        if compile(model, dialect::Dialect::DuckDb, &req).is_err() {
            continue;
        }
        same_plan_in_every_dialect(model, &req, &case.id(), &mut problems);
        for d in dialect::Dialect::ALL {
            let expected = EXPECTED_UNSUPPORTED
                .iter()
                .find(|(n, id, _, _)| *n == d.name() && *id == case.id());
            match (compile(model, d, &req), expected) {
                (Ok(_), None) => compiled += 1,
                (Ok(_), Some(_)) => problems.push(format!(
                    "{} {}: compiles, but is listed as unsupported",
                    d.name(),
                    case.id()
                )),
                (Err(e), Some((_, _, code, _))) if e.iter().all(|(c, _)| c == code) => {
                    unsupported_seen.push((d.name(), case.id()));
                }
                (Err(e), _) => problems.push(format!("{} {}: {e:?}", d.name(), case.id())),
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

/// The plan (`tally sql --stage plan`) knows no dialect: every dialect that can compute the query
/// gets the plan DuckDB gets.
fn same_plan_in_every_dialect(
    model: &Model,
    req: &QueryRequest,
    id: &str,
    problems: &mut Vec<String>,
) {
    let plan = |d: Dialect| {
        tally_core::pipeline::plan(model, d, req)
            .ok()
            .map(|p| serde_json::to_string(&p).expect("a plan serialises"))
    };
    let Some(base) = plan(dialect::Dialect::DuckDb) else {
        return;
    };
    for d in dialect::Dialect::ALL {
        if let Some(p) = plan(d) {
            if p != base {
                problems.push(format!("{} {id}: the plan differs from DuckDB's", d.name()));
            }
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_intercom_metric_compiles_in_every_dialect() {
    let (model, diags) = tally_core::pipeline::load_model(
        &project_root(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
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
            same_plan_in_every_dialect(&model, &req, name, &mut problems);
            for d in dialect::Dialect::ALL {
                if let Err(e) = compile(&model, d, &req) {
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
    let lib = tally_core::jinja::MacroLibrary {
        builtin: tally_templates::builtin(),
        project_macros: Vec::new(),
    };
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
    for d in dialect::Dialect::ALL {
        for stmt in statements {
            let sql = tally_core::jinja::render_sql(stmt, Span::DUMMY, &lib, d.name(), &vars)
                .unwrap_or_else(|e| panic!("{}: {}", d.name(), e.message));
            assert!(!sql.contains("{{"), "{sql}");
            if let Err(e) = tally_core::sql::parse_back(d, &sql) {
                panic!("{}: {e}\n{sql}", d.name());
            }
        }
    }
}

/// The string_literal macro escapes exactly as the dialect does in generated SQL.
#[test]
fn string_literal_macro_agrees_with_the_dialect() {
    let lib = tally_core::jinja::MacroLibrary {
        builtin: tally_templates::builtin(),
        project_macros: Vec::new(),
    };
    let mut vars = indexmap::IndexMap::new();
    let value = "it's a \\ back\tslash\nand a newline";
    vars.insert("v".to_string(), serde_json::json!(value));
    for d in dialect::Dialect::ALL {
        let sql = tally_core::jinja::render_sql(
            "{{ string_literal(var('v')) }}",
            Span::DUMMY,
            &lib,
            d.name(),
            &vars,
        )
        .unwrap();
        assert_eq!(sql, d.string_literal(value), "{}", d.name());
        let stmt = format!("SELECT {sql}");
        tally_core::sql::parse_back(d, &stmt).unwrap_or_else(|e| panic!("{}: {e}", d.name()));
    }
}

#[test]
fn dialect_names_and_did_you_mean() {
    use dialect::Dialect;
    assert_eq!(Dialect::ALL.len(), 7);
    for d in Dialect::ALL {
        assert_eq!(d.name().parse::<Dialect>(), Ok(d));
        assert_eq!(d.name().to_uppercase().parse::<Dialect>(), Ok(d));
        assert_eq!(d.to_string(), d.name());
        // serde spells it as `--dialect` does.
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.name()));
        assert_eq!(serde_json::from_str::<Dialect>(&json).unwrap(), d);
    }
    assert_eq!("postgresql".parse::<Dialect>(), Ok(Dialect::Postgres));
    assert_eq!(
        serde_json::from_str::<Dialect>("\"postgresql\"").unwrap(),
        Dialect::Postgres
    );
    let unknown = "oracle".parse::<Dialect>().unwrap_err();
    assert_eq!(unknown.diagnostic().code, "E0004");
    let d = "snowflak".parse::<Dialect>().unwrap_err().diagnostic();
    assert!(
        d.help
            .iter()
            .any(|h| h.contains("did you mean `snowflake`")),
        "{:?}",
        d.help
    );
    assert_eq!(
        tally_core::diag::did_you_mean("snowflak", Dialect::names()),
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
    let (model, diags) = tally_core::pipeline::load_model(
        &project.0,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
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
    for d in dialect::Dialect::ALL {
        let req = QueryRequest {
            metrics: vec![
                Spanned::synthetic("revenue".to_string()),
                Spanned::synthetic("late_revenue".to_string()),
            ],
            ..QueryRequest::default()
        };
        let sql = compile(&model, d, &req).unwrap_or_else(|e| panic!("{}: {e:?}", d.name()));
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
    let snowflake = compile(&model, dialect::Dialect::Snowflake, &req).unwrap();
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
    let (model, more) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
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
    let names = |text: &str| -> Vec<String> {
        text.split("macro ")
            .skip(1)
            .filter_map(|rest| rest.split('(').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect()
    };
    let base = names(tally_templates::BASE);
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
    for d in dialect::Dialect::ALL {
        for n in names(tally_templates::dialect(d)) {
            assert!(
                base.contains(&n),
                "{} overrides unknown macro {n}",
                d.name()
            );
        }
    }
}
