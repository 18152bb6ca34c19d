//! Time spines of a dbt project, as dbt writes them into the semantic manifest.
//!
//! A model entry with the `time_spine:` property (dbt 1.9 and later) is a time spine: its relation
//! is the model's, its primary column is `standard_granularity_column` with the `granularity:` of
//! that column in `columns:`, plus its custom granularities. A model named `metricflow_time_spine`
//! without that property is the legacy spine (`date_day`, grain day), included when the project has
//! semantic models.

use super::relations::DbtRelation;
use super::scalar_text;
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use crate::spec::{
    CustomGranularity, NodeRelation, ProjectConfiguration, TimeSpine, TimeSpinePrimaryColumn,
    TimeSpineTableConfiguration,
};
use crate::yaml::{Node, NodeKind, Spanned};

/// The legacy time spine model's name.
pub const LEGACY_MODEL: &str = "metricflow_time_spine";

fn spanned(n: &Node) -> Option<Spanned<String>> {
    Some(Spanned {
        span: n.span,
        value: scalar_text(n)?,
    })
}

/// The time spine of one model entry of schema YAML, if it declares one. `relation` is the relation
/// dbt builds for the model (None: the model has no SQL file, which dbt reports and ignores).
pub fn spine_of_entry(
    entry: &Node,
    relation: Option<&DbtRelation>,
    diags: &mut Vec<Diagnostic>,
) -> Option<TimeSpine> {
    let ts = entry.get("time_spine")?;
    let name = entry.get("name").and_then(spanned)?;
    if matches!(ts.kind, NodeKind::Null) {
        return None;
    }
    let Some(relation) = relation else {
        diags.push(
            Diagnostic::warning(
                codes::TIME_SPINE,
                format!("time spine `{}` is not a model of the project", name.value),
            )
            .at(name.span)
            .with_label("no SQL file defines this model")
            .with_help("dbt ignores properties of models it cannot find: add the model's SQL file under the model paths"),
        );
        return None;
    };
    let Some(col) = ts.get("standard_granularity_column").and_then(spanned) else {
        diags.push(
            Diagnostic::error(codes::TIME_SPINE, format!("time spine `{}` has no `standard_granularity_column`", name.value))
                .at(ts.span)
                .with_label("which column holds the spine's dates?")
                .with_help("write `time_spine: {standard_granularity_column: date_day}` and give that column a `granularity:` under `columns:`"),
        );
        return None;
    };
    let columns = match entry.get("columns") {
        Some(Node {
            kind: NodeKind::Seq(c),
            ..
        }) => c.as_slice(),
        _ => &[],
    };
    let column = columns
        .iter()
        .find(|c| c.get("name").and_then(scalar_text).as_deref() == Some(col.value.as_str()));
    let Some(column) = column else {
        let names: Vec<String> = columns
            .iter()
            .filter_map(|c| c.get("name").and_then(scalar_text))
            .collect();
        diags.push(
            Diagnostic::error(
                codes::TIME_SPINE,
                format!(
                    "time spine column `{}` is not under `columns:` of model `{}`",
                    col.value, name.value
                ),
            )
            .at(col.span)
            .with_label("not a listed column")
            .with_suggestion(&col.value, names.iter().map(String::as_str))
            .with_help(format!(
                "add `columns: [{{name: {}, granularity: day}}]` to the model",
                col.value
            )),
        );
        return None;
    };
    let Some(grain) = column.get("granularity").and_then(spanned) else {
        diags.push(
            Diagnostic::error(
                codes::TIME_SPINE,
                format!("time spine column `{}` has no `granularity`", col.value),
            )
            .at(column.get("name").map(|n| n.span).unwrap_or(column.span))
            .with_label("needs a granularity")
            .with_help("give the column its grain: `granularity: day`"),
        );
        return None;
    };
    let mut custom = Vec::new();
    match ts.get("custom_granularities") {
        Some(Node {
            kind: NodeKind::Seq(items),
            ..
        }) => {
            for c in items {
                let cname = match &c.kind {
                    NodeKind::Map(_) => c.get("name").and_then(spanned),
                    _ => spanned(c),
                };
                match cname {
                    Some(n) => custom.push(CustomGranularity {
                        name: n,
                        column_name: c.get("column_name").and_then(spanned),
                    }),
                    None => diags.push(
                        Diagnostic::error(codes::TIME_SPINE, "a custom granularity has no `name`")
                            .at(c.span)
                            .with_label("needs a name")
                            .with_help("write `{name: fiscal_quarter, column_name: fiscal_quarter_col}`"),
                    ),
                }
            }
        }
        None | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => {}
        Some(other) => diags.push(
            Diagnostic::error(codes::TIME_SPINE, format!("`custom_granularities` must be a list, found {}", other.type_name()))
                .at(other.span)
                .with_label("expected a list")
                .with_help("write `custom_granularities: [{name: fiscal_quarter, column_name: fiscal_quarter_col}]`"),
        ),
    }
    let at = |value: &str, span: Span| Spanned {
        span,
        value: value.to_string(),
    };
    Some(TimeSpine {
        node_relation: NodeRelation {
            alias: at(&relation.alias, name.span),
            schema_name: Some(at(&relation.schema, name.span)),
            database: relation.database.as_deref().map(|d| at(d, name.span)),
            relation_name: Some(at(&relation.relation_name, name.span)),
        },
        primary_column: TimeSpinePrimaryColumn {
            name: col,
            time_granularity: grain,
        },
        custom_granularities: custom,
    })
}

/// The project configuration dbt writes: the spines of `time_spine:` entries, and the legacy
/// spine when the project has semantic models and a `metricflow_time_spine` model without the
/// property.
pub fn project_configuration(
    spines: Vec<TimeSpine>,
    legacy: Option<(&DbtRelation, Span)>,
    legacy_is_configured: bool,
    has_semantic_models: bool,
) -> Option<ProjectConfiguration> {
    let mut pc = ProjectConfiguration {
        time_spines: spines,
        ..ProjectConfiguration::default()
    };
    if has_semantic_models && !legacy_is_configured {
        if let Some((rel, span)) = legacy {
            let at = |value: &str| Spanned {
                span,
                value: value.to_string(),
            };
            pc.time_spine_table_configurations
                .push(TimeSpineTableConfiguration {
                    location: at(&rel.relation_name),
                    column_name: at("date_day"),
                    grain: at("day"),
                });
        }
    }
    (!pc.time_spines.is_empty() || !pc.time_spine_table_configurations.is_empty()).then_some(pc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn rel() -> DbtRelation {
        DbtRelation {
            database: Some("dev".into()),
            schema: "main".into(),
            alias: "time_spine".into(),
            relation_name: "\"dev\".\"main\".\"time_spine\"".into(),
        }
    }

    fn entry(text: &str) -> Node {
        crate::yaml::parse(FileId(0), text).unwrap().remove(0)
    }

    #[test]
    fn time_spine_property_becomes_a_spine_with_custom_granularities() {
        let e = entry("name: time_spine\ntime_spine:\n  standard_granularity_column: date_day\n  custom_granularities: [{name: fiscal_quarter, column_name: almost_fiscal_quarter}, {name: retail_month}]\ncolumns:\n  - {name: date_day, granularity: day}\n");
        let mut d = Vec::new();
        let ts = spine_of_entry(&e, Some(&rel()), &mut d).unwrap();
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            ts.node_relation.relation_name.unwrap().value,
            "\"dev\".\"main\".\"time_spine\""
        );
        assert_eq!(ts.primary_column.name.value, "date_day");
        assert_eq!(ts.primary_column.time_granularity.value, "day");
        assert_eq!(ts.custom_granularities.len(), 2);
        assert_eq!(
            ts.custom_granularities[0]
                .column_name
                .as_ref()
                .unwrap()
                .value,
            "almost_fiscal_quarter"
        );
        assert!(ts.custom_granularities[1].column_name.is_none());
    }

    #[test]
    fn a_spine_column_needs_a_granularity() {
        let mut d = Vec::new();
        let e = entry("name: ts\ntime_spine: {standard_granularity_column: date_day}\ncolumns: [{name: date_day}]\n");
        assert!(spine_of_entry(&e, Some(&rel()), &mut d).is_none());
        assert!(d[0].message.contains("granularity"), "{d:?}");
        let mut d = Vec::new();
        let e = entry("name: ts\ntime_spine: {standard_granularity_column: date_dy}\ncolumns: [{name: date_day, granularity: day}]\n");
        assert!(spine_of_entry(&e, Some(&rel()), &mut d).is_none());
        assert!(
            d[0].help
                .iter()
                .any(|h| h.contains("did you mean `date_day`")),
            "{d:?}"
        );
        let mut d = Vec::new();
        let e = entry("name: ts\ncolumns: [{name: date_day, granularity: day}]\n");
        assert!(spine_of_entry(&e, Some(&rel()), &mut d).is_none());
        assert!(d.is_empty());
    }

    #[test]
    fn the_legacy_spine_needs_semantic_models_and_no_property() {
        let r = rel();
        let pc = project_configuration(vec![], Some((&r, Span::DUMMY)), false, true).unwrap();
        assert_eq!(
            pc.time_spine_table_configurations[0].location.value,
            r.relation_name
        );
        assert_eq!(
            pc.time_spine_table_configurations[0].column_name.value,
            "date_day"
        );
        assert!(project_configuration(vec![], Some((&r, Span::DUMMY)), false, false).is_none());
        assert!(project_configuration(vec![], Some((&r, Span::DUMMY)), true, true).is_none());
    }
}
