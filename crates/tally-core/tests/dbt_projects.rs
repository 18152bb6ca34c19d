//! dbt projects as dbt reads them: relations from profiles.yml and configs, packages, legacy time
//! spines, Jinja in YAML. Each test writes a small project into a temporary directory; the
//! environment (`HOME`, `DBT_PROFILES_DIR`, `env_var()`) is injected, never the process's.

use std::collections::BTreeMap;
use std::path::Path;
use tally_core::dbt::DbtOptions;
use tally_core::diag::{self, Diagnostic};
use tally_core::load::{load_project, LoadOptions};
use tally_core::model::{Model, Relation};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("write");
    }
}

fn opts(env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        dbt: DbtOptions {
            env: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..DbtOptions::default()
        },
        ..LoadOptions::default()
    }
}

const PROFILES: &str =
    "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: target/shop.duckdb}\n";

const ORDERS_SM: &str = "semantic_models:
  - name: orders
    model: ref('orders')
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: order_id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: amount, agg: sum}
metrics:
  - name: amount
    type: simple
    type_params: {measure: amount}
  - name: amount_to_date
    type: cumulative
    type_params: {measure: amount}
";

fn load(files: &[(&str, &str)], o: &LoadOptions) -> (Model, Vec<Diagnostic>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    let (model, diags) =
        tally_core::pipeline::load_model(dir.path(), o, &tally_templates::builtin());
    (model, diags, dir)
}

fn relation(m: &Model, name: &str) -> String {
    match &m.semantic_model(name).expect("semantic model").1.relation {
        Relation::Table(t) => t.clone(),
        other => panic!("not a table: {other:?}"),
    }
}

fn errors(m: &Model, d: &[Diagnostic]) -> String {
    diag::render_human(&m.sources, d, false)
}

#[test]
fn configs_apply_in_dbts_precedence() {
    let project = "name: shop\nprofile: shop\nmodels:\n  shop:\n    +schema: everything\n    marts:\n      +schema: marts\n      +database: warehouse\n";
    let sm = |name: &str| {
        format!("  - name: {name}\n    model: ref('{name}')\n    entities: [{{name: {name}_id, type: primary}}]\n    dimensions: [{{name: d_{name}, type: categorical}}]\n")
    };
    let yaml = format!(
        "models:\n  - name: from_yaml\n    config: {{schema: yaml_schema, alias: yaml_alias}}\n  - name: from_sql\n    config: {{schema: yaml_schema}}\nsemantic_models:\n{}{}{}{}",
        sm("plain"),
        sm("from_yaml"),
        sm("from_sql"),
        sm("top")
    );
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", project),
            ("profiles.yml", PROFILES),
            ("models/marts/plain.sql", "select 1"),
            ("models/marts/from_yaml.sql", "select 1"),
            (
                "models/marts/from_sql.sql",
                "{{ config(schema='sql_schema') }}\nselect 1",
            ),
            ("models/top.sql", "select 1"),
            ("models/marts/models.yml", &yaml),
        ],
        &opts(&[]),
    );
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    // The folder's config beats the project's; YAML beats the folder; SQL config() beats YAML.
    assert_eq!(
        relation(&m, "plain"),
        "\"warehouse\".\"main_marts\".\"plain\""
    );
    assert_eq!(
        relation(&m, "from_yaml"),
        "\"warehouse\".\"main_yaml_schema\".\"yaml_alias\""
    );
    assert_eq!(
        relation(&m, "from_sql"),
        "\"warehouse\".\"main_sql_schema\".\"from_sql\""
    );
    // The target's database is the DuckDB file's stem; the project-level schema applies.
    assert_eq!(relation(&m, "top"), "\"shop\".\"main_everything\".\"top\"");
}

#[test]
fn the_duckdb_targets_path_is_the_default_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("profiles.yml", PROFILES),
        ],
    );
    let (spec, d) = load_project(dir.path(), &opts(&[]));
    assert!(d.is_empty(), "{d:?}");
    let dbt = spec.dbt.expect("dbt info");
    assert_eq!(dbt.duckdb_path.as_deref(), Some("target/shop.duckdb"));
    let t = dbt.target.expect("target");
    assert_eq!(
        (t.database.as_deref(), t.schema.as_str()),
        (Some("shop"), "main")
    );
}

#[test]
fn profiles_come_from_home_when_the_project_has_none() {
    let home = tempfile::tempdir().expect("home");
    write(
        home.path(),
        &[(
            ".dbt/profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev: {type: postgres, dbname: wh, schema: \"{{ env_var('USER_SCHEMA') }}\", host: localhost}\n",
        )],
    );
    let h = home.path().to_str().expect("utf-8");
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("models/orders.sql", "select 1"),
            ("models/orders.yml", ORDERS_SM),
            ("models/metricflow_time_spine.sql", "select 1"),
        ],
        &opts(&[("HOME", h), ("USER_SCHEMA", "dbt_ana")]),
    );
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    assert_eq!(relation(&m, "orders"), "\"wh\".\"dbt_ana\".\"orders\"");
    // The legacy spine: a model named metricflow_time_spine, read at `date_day`, grain day.
    let spine = m.time_spines.first().expect("legacy spine");
    assert_eq!(
        spine.relation,
        "\"wh\".\"dbt_ana\".\"metricflow_time_spine\""
    );
    assert_eq!(spine.column, "date_day");
}

#[test]
fn without_a_spine_a_cumulative_metric_still_fails_as_in_dbt() {
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("profiles.yml", PROFILES),
            ("models/orders.sql", "select 1"),
            ("models/orders.yml", ORDERS_SM),
        ],
        &opts(&[]),
    );
    assert!(m.time_spines.is_empty());
    assert!(d.iter().any(|d| d.code == "E0210"), "{}", errors(&m, &d));
}

#[test]
fn packages_are_read_only_when_they_define_semantic_models() {
    let pkg_sm = "semantic_models:\n  - name: pkg_events\n    model: ref('events')\n    entities: [{name: event, type: primary, expr: id}]\n    dimensions: [{name: kind, type: categorical}]\n";
    let (m, d, _dir) = load(
        &[
            (
                "dbt_project.yml",
                "name: shop\nprofile: shop\nmodels:\n  analytics:\n    +database: from_root\n",
            ),
            ("profiles.yml", PROFILES),
            ("models/orders.sql", "select 1"),
            ("models/orders.yml", ORDERS_SM),
            ("models/metricflow_time_spine.sql", "select 1"),
            (
                "dbt_packages/analytics/dbt_project.yml",
                "name: analytics\nmodel-paths: [src]\nmodels:\n  analytics:\n    +schema: events\n",
            ),
            ("dbt_packages/analytics/src/events.sql", "select 1"),
            ("dbt_packages/analytics/src/events.yml", pkg_sm),
            ("dbt_packages/utils/dbt_project.yml", "name: utils\n"),
            (
                "dbt_packages/utils/models/bad.yml",
                "metrics:\n  - {name: legacy, calculation_method: sum}\n",
            ),
        ],
        &opts(&[]),
    );
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    // The package's own configs apply, and the root project's configs for the package win.
    assert_eq!(
        relation(&m, "pkg_events"),
        "\"from_root\".\"main_events\".\"events\""
    );
    assert!(m.metric("legacy").is_none());
}

#[test]
fn sources_and_tally_yml_relations() {
    let yaml = "sources:\n  - name: raw\n    tables: [{name: events, identifier: raw_events}]\nsemantic_models:\n  - name: events\n    model: source('raw', 'events')\n    entities: [{name: event, type: primary, expr: id}]\n    dimensions: [{name: kind, type: categorical}]\n  - name: people\n    model: ref('people')\n    entities: [{name: person, type: primary, expr: id}]\n    dimensions: [{name: name, type: categorical}]\n";
    let files = [
        ("dbt_project.yml", "name: shop\nprofile: shop\n"),
        ("profiles.yml", PROFILES),
        ("models/people.sql", "select 1"),
        ("models/s.yml", yaml),
    ];
    let (m, d, _dir) = load(&files, &opts(&[]));
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    assert_eq!(relation(&m, "events"), "\"shop\".\"raw\".\"raw_events\"");
    assert_eq!(relation(&m, "people"), "\"shop\".\"main\".\"people\"");
    // tally.yml's relations settings win over dbt's naming.
    let mut with_tally = files.to_vec();
    with_tally.push(("tally.yml", "relations: {ref_schema: analytics}\n"));
    let (m, _, _dir) = load(&with_tally, &opts(&[]));
    assert_eq!(relation(&m, "people"), "analytics.people");
}

#[test]
fn an_unknown_ref_is_reported_with_the_models_there_are() {
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("profiles.yml", PROFILES),
            ("models/order.sql", "select 1"),
            ("models/metricflow_time_spine.sql", "select 1"),
            ("models/orders.yml", ORDERS_SM),
        ],
        &opts(&[]),
    );
    let e = d
        .iter()
        .find(|d| d.code == "E0109")
        .unwrap_or_else(|| panic!("{}", errors(&m, &d)));
    assert!(
        e.help.iter().any(|h| h.contains("did you mean `order`")),
        "{e:?}"
    );
    let (file, line, _) = m.sources.location(e.span).expect("located");
    assert_eq!((file.as_str(), line), ("models/orders.yml", 3));
}

#[test]
fn jinja_errors_point_at_the_call() {
    let yaml = "metrics:\n  - name: m\n    label: \"{{ env_var('NOT_SET') }}\"\n    type: simple\n    type_params: {measure: x}\n";
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("profiles.yml", PROFILES),
            ("models/m.yml", yaml),
        ],
        &opts(&[]),
    );
    let e = d
        .iter()
        .find(|d| d.code == "E0022")
        .unwrap_or_else(|| panic!("{}", errors(&m, &d)));
    let (file, line, col) = m.sources.location(e.span).expect("located");
    assert_eq!((file.as_str(), line, col), ("models/m.yml", 3, 25));
    assert!(e.message.contains("NOT_SET"), "{e:?}");
}

#[test]
fn a_projects_generate_schema_name_override_names_its_relations() {
    let macro_sql = "{% macro generate_schema_name(custom_schema_name, node) -%}\n    {%- if custom_schema_name is none -%}{{ target.schema }}\n    {%- elif target.name == 'dev' -%}{{ target.schema }}_{{ node.fqn[1] }}_{{ custom_schema_name | trim }}\n    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n{%- endmacro %}\n";
    let (m, d, _dir) = load(
        &[
            (
                "dbt_project.yml",
                "name: shop\nprofile: shop\nmodels:\n  shop:\n    marts:\n      +schema: analytics\n",
            ),
            ("profiles.yml", PROFILES),
            ("macros/get_custom_schema.sql", macro_sql),
            ("models/marts/orders.sql", "select 1"),
            ("models/metricflow_time_spine.sql", "select 1"),
            ("models/marts/orders.yml", ORDERS_SM),
        ],
        &opts(&[]),
    );
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    assert_eq!(
        relation(&m, "orders"),
        "\"shop\".\"main_marts_analytics\".\"orders\""
    );
    assert_eq!(
        m.time_spines[0].relation,
        "\"shop\".\"main\".\"metricflow_time_spine\""
    );
}

#[test]
fn without_profiles_yml_refs_are_bare_names_and_tally_says_why() {
    let (m, d, _dir) = load(
        &[
            ("dbt_project.yml", "name: shop\nprofile: shop\n"),
            ("models/orders.sql", "select 1"),
            ("models/metricflow_time_spine.sql", "select 1"),
            ("models/orders.yml", ORDERS_SM),
        ],
        &opts(&[]),
    );
    let w = d
        .iter()
        .find(|d| d.code == "E0021")
        .unwrap_or_else(|| panic!("{}", errors(&m, &d)));
    assert!(!w.is_error(), "{w:?}");
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    assert_eq!(relation(&m, "orders"), "orders");
    assert_eq!(m.time_spines[0].relation, "metricflow_time_spine");
}

#[test]
fn seeds_are_relations_too() {
    let yaml = "seeds:\n  - name: raw_stores\n    config: {alias: stores}\nsemantic_models:\n  - name: customers\n    model: ref('raw_customers')\n    entities: [{name: customer, type: primary, expr: id}]\n    dimensions: [{name: region, type: categorical}]\n  - name: stores\n    model: ref('raw_stores')\n    entities: [{name: store, type: primary, expr: id}]\n    dimensions: [{name: city, type: categorical}]\n";
    let (m, d, _dir) = load(
        &[
            (
                "dbt_project.yml",
                "name: shop\nprofile: shop\nseeds:\n  shop:\n    +schema: raw\n",
            ),
            ("profiles.yml", PROFILES),
            ("seeds/raw_customers.csv", "id,region\n1,emea\n"),
            ("seeds/raw_stores.csv", "id,city\n1,Lyon\n"),
            ("seeds/properties.yml", yaml),
            (
                "models/sm.yml",
                yaml.split_once("semantic_models:")
                    .map(|(_, r)| r)
                    .map(|r| format!("semantic_models:{r}"))
                    .as_deref()
                    .unwrap_or(""),
            ),
        ],
        &opts(&[]),
    );
    assert!(!d.iter().any(|d| d.is_error()), "{}", errors(&m, &d));
    assert_eq!(
        relation(&m, "customers"),
        "\"shop\".\"main_raw\".\"raw_customers\""
    );
    assert_eq!(relation(&m, "stores"), "\"shop\".\"main_raw\".\"stores\"");
}
