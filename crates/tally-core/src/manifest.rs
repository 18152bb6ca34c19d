//! dbt's semantic manifest (`target/semantic_manifest.json`, written by `dbt parse`) as an input.
//!
//! The manifest is MetricFlow's `PydanticSemanticManifest`: `semantic_models`, `metrics`,
//! `saved_queries` and `project_configuration`, every Jinja already rendered by dbt and every
//! relation resolved (`node_relation` with database, schema, alias and the quoted
//! `relation_name`). Its objects are MetricFlow's directory format (which [`crate::spec`] reads)
//! written as JSON, with three differences this module irons out before decoding into the same
//! spec types:
//! - filters are objects, `{"where_filters": [{"where_sql_template": "..."}]}`, not strings;
//! - windows are objects, `{"count": 7, "granularity": "day"}`, not `"7 day"`;
//! - absent values are written as `null`, and objects carry keys tally has no use for: `metadata`
//!   (dbt's record of the YAML an object came from) and `datatype` (dbt-core 1.12, always null).
//!
//! Values keep their spans in the JSON file, so every later diagnostic points at file, line and
//! column of the manifest. Keys tally does not know are warnings here, not errors: the manifest is
//! written by a program, and a newer dbt may add fields.

use crate::diag::{codes, Diagnostic, Severity};
use crate::source::FileId;
use crate::spec::{Metric, ProjectConfiguration, SavedQuery, SemanticModel};
use crate::yaml::{self, Node, NodeKind};
use std::cell::RefCell;

/// What a semantic manifest holds, as spec types.
#[derive(Debug, Default)]
pub struct Manifest {
    pub semantic_models: Vec<SemanticModel>,
    pub metrics: Vec<Metric>,
    pub saved_queries: Vec<SavedQuery>,
    pub project_configurations: Vec<ProjectConfiguration>,
}

/// Keys of manifest objects that carry nothing tally uses.
const IGNORED_KEYS: &[&str] = &["metadata", "datatype"];

const TOP_LEVEL: &[&str] = &[
    "semantic_models",
    "metrics",
    "saved_queries",
    "project_configuration",
];

/// Read the text of a semantic manifest (file `file` of the source map).
pub fn read_manifest(file: FileId, text: &str) -> (Manifest, Vec<Diagnostic>) {
    let mut out = Manifest::default();
    let mut diags = Vec::new();
    let root = match crate::json::parse(file, text) {
        Ok(n) => n,
        Err(d) => {
            diags.push(d);
            return (out, diags);
        }
    };
    let NodeKind::Map(entries) = &root.kind else {
        diags.push(
            Diagnostic::error(
                codes::INVALID_VALUE,
                format!("expected a JSON object, found {}", root.type_name()),
            )
            .at(root.span)
            .with_label("not a semantic manifest")
            .with_help("pass dbt's target/semantic_manifest.json (written by `dbt parse`)"),
        );
        return (out, diags);
    };
    let cell = RefCell::new(Vec::new());
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let v = normalise(v);
        match key {
            "semantic_models" => decode_list(&v, &mut out.semantic_models, &cell),
            "metrics" => decode_list(&v, &mut out.metrics, &cell),
            "saved_queries" => decode_list(&v, &mut out.saved_queries, &cell),
            "project_configuration" => {
                if let Some(pc) = yaml::decode::<ProjectConfiguration>(&v, &cell) {
                    out.project_configurations.push(pc);
                }
            }
            _ => cell.borrow_mut().push(
                Diagnostic::warning(
                    codes::UNKNOWN_KEY,
                    format!("unknown key `{key}` in the semantic manifest"),
                )
                .at(k.span)
                .with_suggestion(key, TOP_LEVEL.iter().copied())
                .with_help(format!("tally reads {}", TOP_LEVEL.join(", "))),
            ),
        }
    }
    for mut d in cell.into_inner() {
        if d.code == codes::UNKNOWN_KEY && d.severity == Severity::Error {
            d.severity = Severity::Warning;
            d.help.push(
                "tally ignores this key of the semantic manifest (written by a newer dbt?)"
                    .to_string(),
            );
        }
        diags.push(d);
    }
    drop_fusion_measures(&mut out);
    (out, diags)
}

/// dbt Fusion writes a measure (`create_metric: true`, `agg` defaulting to sum) beside every
/// latest-spec simple metric, for older readers. The metric's `metric_aggregation_params` are the
/// definition; such a measure would only define the metric a second time, so it is dropped.
fn drop_fusion_measures(m: &mut Manifest) {
    let own: Vec<(String, String)> = m
        .metrics
        .iter()
        .filter_map(|x| {
            let p = x.type_params.as_ref()?.metric_aggregation_params.as_ref()?;
            Some((p.semantic_model.value.clone(), x.name.value.clone()))
        })
        .collect();
    for sm in &mut m.semantic_models {
        sm.measures.retain(|ms| {
            !own.iter()
                .any(|(s, n)| *s == sm.name.value && *n == ms.name.value)
        });
    }
}

fn decode_list<'a, T: serde::Deserialize<'a>>(
    node: &'a Node,
    out: &mut Vec<T>,
    cell: &'a RefCell<Vec<Diagnostic>>,
) {
    match &node.kind {
        NodeKind::Seq(items) => out.extend(items.iter().filter_map(|i| yaml::decode(i, cell))),
        NodeKind::Null => {}
        _ => cell.borrow_mut().push(
            Diagnostic::error(
                codes::INVALID_VALUE,
                format!("expected a list, found {}", node.type_name()),
            )
            .at(node.span)
            .with_label("expected a list of objects")
            .with_help("regenerate the manifest with `dbt parse`"),
        ),
    }
}

/// The manifest's JSON shapes rewritten into MetricFlow's YAML shapes (see the module doc): nulls
/// and `metadata` dropped, filter objects as lists of strings, window objects as strings. Spans
/// stay those of the JSON text.
fn normalise(node: &Node) -> Node {
    let kind = match &node.kind {
        NodeKind::Map(entries) => {
            if let Some(filters) = where_filters(node) {
                NodeKind::Seq(filters)
            } else if let Some(window) = window(node) {
                NodeKind::Str(window)
            } else {
                NodeKind::Map(
                    entries
                        .iter()
                        .filter(|(k, v)| {
                            v.kind != NodeKind::Null
                                && !k.as_str().is_some_and(|k| IGNORED_KEYS.contains(&k))
                        })
                        .map(|(k, v)| (k.clone(), normalise(v)))
                        .collect(),
                )
            }
        }
        NodeKind::Seq(items) => NodeKind::Seq(items.iter().map(normalise).collect()),
        other => other.clone(),
    };
    Node {
        span: node.span,
        kind,
    }
}

/// `{"where_filters": [{"where_sql_template": "..."}]}` as the list of its templates.
fn where_filters(node: &Node) -> Option<Vec<Node>> {
    let entries = node.entries();
    if entries.len() != 1 || entries[0].0.as_str() != Some("where_filters") {
        return None;
    }
    match &entries[0].1.kind {
        NodeKind::Seq(items) => Some(
            items
                .iter()
                .map(|f| match f.get("where_sql_template") {
                    Some(t) => t.clone(),
                    None => normalise(f),
                })
                .collect(),
        ),
        NodeKind::Null => Some(Vec::new()),
        _ => None,
    }
}

/// `{"count": 7, "granularity": "day"}` as `7 day`.
fn window(node: &Node) -> Option<String> {
    let entries = node.entries();
    if entries.len() != 2 {
        return None;
    }
    let count = node.get("count")?;
    let grain = node.get("granularity")?.as_str()?;
    let count = match &count.kind {
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Str(s) => s.clone(),
        _ => return None,
    };
    Some(format!("{count} {}", grain.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_windows_become_yaml_shapes() {
        let text = r#"{"metrics": [{"name": "m", "type": "derived", "label": null,
            "filter": {"where_filters": [{"where_sql_template": "{{ Dimension('a__b') }} = 1"}]},
            "metadata": {"repo_file_path": "models/x.yml"},
            "type_params": {"expr": "x - y", "metrics": [{"name": "x"},
              {"name": "x", "alias": "y", "offset_window": {"count": 7, "granularity": "day"}}]}}]}"#;
        let (m, diags) = read_manifest(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        let metric = &m.metrics[0];
        assert_eq!(metric.filter.0[0].value, "{{ Dimension('a__b') }} = 1");
        assert_eq!(
            &text[metric.filter.0[0].span.range()],
            r#""{{ Dimension('a__b') }} = 1""#
        );
        let inputs = metric
            .type_params
            .as_ref()
            .unwrap()
            .metrics
            .as_ref()
            .unwrap();
        assert_eq!(inputs[1].offset_window.as_ref().unwrap().value, "7 day");
    }

    #[test]
    fn fusion_back_compat_measures_are_dropped() {
        let text = r#"{"semantic_models": [{"name": "orders", "node_relation": {"alias": "orders"},
              "measures": [{"name": "revenue", "agg": "sum", "create_metric": true},
                           {"name": "legacy", "agg": "max"}]}],
            "metrics": [{"name": "revenue", "type": "simple", "type_params": {"expr": "amount",
              "metric_aggregation_params": {"semantic_model": "orders", "agg": "average"}}}]}"#;
        let (m, diags) = read_manifest(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        let names: Vec<&str> = m.semantic_models[0]
            .measures
            .iter()
            .map(|x| x.name.value.as_str())
            .collect();
        assert_eq!(names, ["legacy"]);
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let text = r#"{"metrics": [], "future_key": 1,
            "semantic_models": [{"name": "s", "node_relation": {"alias": "t"}, "new_field": 2}]}"#;
        let (m, diags) = read_manifest(FileId(0), text);
        assert_eq!(m.semantic_models.len(), 1);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| d.severity == Severity::Warning));
    }
}
