//! JSON Schemas for the project files, generated from the serde types in [`crate::spec`] with
//! schemars (`tally schema`), so that editors running yaml-language-server complete and check keys.
//!
//! Two schemas: one for the semantic-layer YAML files (semantic models, metrics, saved queries,
//! project configuration, metric tests, in MetricFlow's and dbt's shapes) and one for `tally.yml`.
//! The schema follows what the loader accepts: shorthand forms (a metric input written as its
//! name, a filter written as one string), `str_or_map:` structs and spanned values. Unknown keys
//! are errors for tally, so every object the spec types describe closes with
//! `additionalProperties: false`; free-form maps (`meta`, `config`, `vars`) stay open.

use crate::spec::{
    Columns, Metric, MetricTest, OneOrMany, ProjectConfiguration, ProjectFile, Row, SavedQuery,
    SemanticModel, TestTable,
};
use crate::yaml::Spanned;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};
use std::borrow::Cow;

/// Which file a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    /// The semantic-layer YAML files under `models/`, `metrics/`, ... (and dbt's schema files).
    Project,
    /// `tally.yml`, the project settings.
    Config,
}

impl SchemaKind {
    pub const ALL: [SchemaKind; 2] = [SchemaKind::Project, SchemaKind::Config];

    /// The name users pass to `tally schema` and the file name `tally schema --write` uses.
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::Project => "project",
            SchemaKind::Config => "tally-yml",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Project => "tally-project.schema.json",
            SchemaKind::Config => "tally-config.schema.json",
        }
    }

    pub fn by_name(name: &str) -> Option<SchemaKind> {
        SchemaKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One semantic-layer YAML file. MetricFlow's directory format writes one singular key per YAML
/// document (`semantic_model:`, `metric:`, ...); dbt's schema files write lists (`semantic_models:`,
/// `metrics:`, ...). Both can mix with dbt's own keys (`models`, `sources`, ...), which tally ignores.
#[derive(JsonSchema)]
#[allow(dead_code)] // Only its schema is used.
#[schemars(title = "tally project file")]
struct ProjectYaml {
    /// One semantic model (MetricFlow's directory format).
    semantic_model: Option<SemanticModel>,
    /// Semantic models: a table or query with its entities, dimensions and measures.
    semantic_models: Option<Vec<SemanticModel>>,
    /// One metric (MetricFlow's directory format).
    metric: Option<Metric>,
    /// Metrics: simple, ratio, cumulative, derived or conversion; tally's `owners` and `drivers`.
    metrics: Option<Vec<Metric>>,
    /// One saved query (MetricFlow's directory format).
    saved_query: Option<SavedQuery>,
    /// Saved queries: named metric queries.
    saved_queries: Option<Vec<SavedQuery>>,
    /// Time spines and their custom granularities.
    project_configuration: Option<ProjectConfiguration>,
    /// One metric test.
    metric_test: Option<MetricTest>,
    /// tally: metric tests, each with fixture rows, a query and the expected rows (`tally test`).
    metric_tests: Option<Vec<MetricTest>>,
    /// tally: the columns and types of source tables, shared by the metric tests.
    test_tables: Option<Vec<TestTable>>,
    /// tally: business calendars (office hours in an IANA zone, exceptions, versions) for
    /// `business_durations:` on semantic models.
    business_calendars: Option<Vec<crate::spec::calendar::BusinessCalendar>>,
    /// tally: named lists of exceptions that calendars include (`include_exceptions`).
    holiday_sets: Option<Vec<crate::spec::calendar::HolidaySet>>,
    /// dbt models; in dbt's latest semantic-layer spec a model with `semantic_model:` is a semantic
    /// model (entities and dimensions on its columns, metrics under it). Other keys are dbt's.
    models: Option<Vec<crate::spec_latest::ModelEntry>>,
}

/// The schema of one kind of file, as JSON (draft 2020-12).
pub fn schema(kind: SchemaKind) -> Value {
    let generator =
        SchemaGenerator::new(schemars::generate::SchemaSettings::draft2020_12().for_deserialize());
    let mut schema = match kind {
        SchemaKind::Project => generator.into_root_schema_for::<ProjectYaml>(),
        SchemaKind::Config => {
            let mut s = generator.into_root_schema_for::<ProjectFile>();
            s.insert("title".into(), json!("tally.yml"));
            s
        }
    };
    schema.insert(
        "$id".into(),
        json!(format!("https://tally.dev/schemas/{}", kind.file_name())),
    );
    let mut value = schema.to_value();
    close_objects(&mut value);
    loosen_scalars(&mut value);
    if kind == SchemaKind::Project {
        // dbt's own keys may share the file; tally ignores them.
        if let Some(props) = value.get_mut("properties").and_then(Value::as_object_mut) {
            for key in crate::spec::DBT_KEYS.iter().filter(|k| **k != "models") {
                props.insert(
                    (*key).to_string(),
                    json!({"description": "dbt's own key: tally ignores it."}),
                );
            }
        }
        // dbt's model and column properties are open: tally reads only the semantic ones.
        if let Some(defs) = value.get_mut("$defs").and_then(Value::as_object_mut) {
            for name in ["ModelEntry", "ModelColumn"] {
                if let Some(d) = defs.get_mut(name).and_then(Value::as_object_mut) {
                    d.remove("additionalProperties");
                }
            }
        }
    }
    value
}

/// The schema as pretty-printed JSON with a trailing newline (what `tally schema` prints).
pub fn schema_text(kind: SchemaKind) -> String {
    let mut s = serde_json::to_string_pretty(&schema(kind)).expect("a JSON value serialises");
    s.push('\n');
    s
}

/// Close every object schema that lists its properties: tally rejects unknown keys.
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, child) in map.iter_mut() {
                close_objects(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// What the loader accepts beyond the serde types' letter: enum values in any case (MetricFlow's
/// own manifests write `type: SIMPLE`, `agg: SUM`), and a number or boolean where an `expr` is
/// expected (`expr: 1` counts rows).
fn loosen_scalars(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                let upper: Vec<Value> = values
                    .iter()
                    .filter_map(|x| x.as_str())
                    .map(|x| Value::String(x.to_ascii_uppercase()))
                    .filter(|x| !values.contains(x))
                    .collect();
                values.extend(upper);
            }
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                if let Some(Value::Object(expr)) = props.get_mut("expr") {
                    if expr.get("type") == Some(&json!(["string", "null"])) {
                        expr.insert(
                            "type".into(),
                            json!(["string", "number", "boolean", "null"]),
                        );
                    }
                }
            }
            for (_, child) in map.iter_mut() {
                loosen_scalars(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(loosen_scalars),
        _ => {}
    }
}

// ----- hand-written schemas for the types with their own deserializers -------------------------

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [one, {"type": "array", "items": one}]
        })
    }
}

impl JsonSchema for Columns {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Columns".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Column names, or a mapping of column name to SQL type (a null type is inferred from the values).",
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
            ]
        })
    }
}

impl JsonSchema for Row {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Row".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A row: a mapping of column to value, or a list of values in the order of `columns`.",
            "anyOf": [{"type": "object"}, {"type": "array"}]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def<'a>(v: &'a Value, name: &str) -> &'a Value {
        &v["$defs"][name]
    }

    #[test]
    fn project_schema_closes_objects_and_accepts_shorthands() {
        let v = schema(SchemaKind::Project);
        assert_eq!(v["additionalProperties"], json!(false));
        assert!(v["properties"]["metrics"].is_object());
        // dbt's own keys are allowed.
        assert!(v["properties"]["models"].is_object());
        let metric = def(&v, "Metric");
        assert_eq!(metric["additionalProperties"], json!(false));
        assert!(metric["properties"]["owners"].is_object());
        assert!(metric["required"]
            .as_array()
            .unwrap()
            .contains(&json!("name")));
        // An input is a name or a mapping.
        let input = def(&v, "Input");
        let any = input["anyOf"].as_array().unwrap();
        assert_eq!(any[0]["type"], json!("string"));
        assert_eq!(any[1]["properties"]["name"]["type"], json!("string"));
        // `filter:` is one string or a list.
        let filter = &metric["properties"]["filter"]["anyOf"];
        assert_eq!(filter[1]["type"], json!("array"));
        // Enums are their snake_case spellings.
        let text = schema_text(SchemaKind::Project);
        assert!(text.contains("\"count_distinct\""));
        assert!(text.contains("\"conversion_rate\""));
    }

    #[test]
    fn project_schema_covers_the_latest_dbt_spec() {
        let v = schema(SchemaKind::Project);
        let entry = def(&v, "ModelEntry");
        // dbt's own model and column properties stay open; the semantic keys are described.
        assert!(entry.get("additionalProperties").is_none());
        assert!(def(&v, "ModelColumn").get("additionalProperties").is_none());
        for key in [
            "semantic_model",
            "agg_time_dimension",
            "metrics",
            "derived_semantics",
        ] {
            assert!(entry["properties"][key].is_object(), "{key}");
        }
        let metric = def(&v, "ModelMetric");
        assert_eq!(metric["additionalProperties"], json!(false));
        for key in [
            "agg",
            "percentile_type",
            "hidden",
            "input_metrics",
            "input_metric",
        ] {
            assert!(metric["properties"][key].is_object(), "{key}");
        }
        // `semantic_model: true` and `entity: primary` are shorthands.
        let smc = def(&v, "SemanticModelConfig");
        assert_eq!(smc["anyOf"][0]["type"], json!("boolean"));
        let ent = def(&v, "ColumnEntity");
        assert_eq!(ent["anyOf"].as_array().unwrap().len(), 2);
        let text = schema_text(SchemaKind::Project);
        assert!(text.contains("\"window_agg\""));
    }

    #[test]
    fn config_schema_describes_tally_yml() {
        let v = schema(SchemaKind::Config);
        assert_eq!(v["title"], json!("tally.yml"));
        for key in ["dialect", "duckdb", "vars", "people", "teams", "relations"] {
            assert!(v["properties"][key].is_object(), "{key}");
        }
        assert_eq!(v["additionalProperties"], json!(false));
        // vars is a free mapping.
        assert_ne!(
            v["properties"]["vars"]["additionalProperties"],
            json!(false)
        );
    }
}
