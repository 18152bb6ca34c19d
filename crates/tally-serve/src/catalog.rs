//! The listing tools: metrics (dbt-mcp's CSV with its size rules), saved queries, and the
//! dimensions and entities a set of metrics can be grouped by.
//!
//! Which group-by items a metric accepts is decided by the planner itself: every candidate
//! (`metric_time`, each dimension under its model's primary entity, each entity) is planned with the
//! metric, and the ones that plan are the answer. So the tools never offer an item that
//! `query_metrics` would then refuse. Candidates reached through two or more entity hops
//! (`e1__e2__dim`) are not listed (they can still be queried).

use crate::params::{ListMetricsParams, ListSavedQueriesParams};
use crate::project::Loaded;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tally_core::dialect;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::spec::EntityType;
use tally_core::time::Grain;

/// dbt-mcp's defaults: metrics listed with their dimensions and entities when at most this many
/// match, and the size budget of the CSV.
pub const METRICS_RELATED_MAX: usize = 10;
pub const MAX_RESPONSE_CHARS: usize = 16_000;
const MAX_SEARCH_TERMS: usize = 20;

/// A group-by candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub name: String,
    pub kind: CandidateKind,
    /// The finest grain of a time dimension.
    pub grain: Option<Grain>,
    pub label: Option<String>,
    /// The dimension's own name (without the entity prefix), for descriptions and metadata.
    pub element: String,
    pub entity_type: Option<EntityType>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    Categorical,
    Time,
    Entity,
}

/// The group-by items one metric accepts, in candidate order.
#[derive(Clone, Debug, Default)]
pub struct Accepted {
    pub items: Vec<Candidate>,
}

fn candidates(model: &Model) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let finest = model
        .semantic_models
        .iter()
        .flat_map(|sm| sm.dimensions.iter().filter_map(|d| d.time_grain))
        .min();
    out.push(Candidate {
        name: "metric_time".into(),
        kind: CandidateKind::Time,
        grain: finest.or(Some(Grain::Day)),
        label: None,
        element: "metric_time".into(),
        entity_type: None,
    });
    let mut seen = std::collections::BTreeSet::new();
    for sm in &model.semantic_models {
        let Some(prefix) = sm.primary_entity_name() else {
            continue;
        };
        for d in &sm.dimensions {
            let name = format!("{prefix}__{}", d.name);
            if seen.insert(name.clone()) {
                out.push(Candidate {
                    name,
                    kind: if d.is_time() {
                        CandidateKind::Time
                    } else {
                        CandidateKind::Categorical
                    },
                    grain: d.time_grain,
                    label: d.label.clone(),
                    element: d.name.clone(),
                    entity_type: None,
                });
            }
        }
    }
    for (mi, sm) in model.semantic_models.iter().enumerate() {
        for (e, &id) in sm.entities.iter().zip(&model.model_elements(mi).entities) {
            if seen.insert(e.name.clone()) {
                // An entity's type is where it is a key, if it is one anywhere.
                let kind = model
                    .keyed_by(id)
                    .first()
                    .and_then(|&m| model.entity_of(m, id))
                    .map_or(EntityType::Foreign, |(_, x)| x.kind);
                out.push(Candidate {
                    name: e.name.clone(),
                    kind: CandidateKind::Entity,
                    grain: None,
                    label: None,
                    element: e.name.clone(),
                    entity_type: Some(kind),
                });
            }
        }
    }
    out
}

/// The group-by items `metric` accepts (cached per loaded project).
pub fn accepted(loaded: &Loaded, metric: &str) -> Arc<Accepted> {
    if let Ok(cache) = loaded.accepted.lock() {
        if let Some(a) = cache.get(metric) {
            return a.clone();
        }
    }
    let model = &loaded.model;
    let items = candidates(model)
        .into_iter()
        .filter(|c| {
            let req = QueryRequest::of(&[metric], &[c.name.as_str()], &[] as &[&str]);
            tally_core::pipeline::plan(model, dialect::Dialect::DuckDb, &req).is_ok()
        })
        .collect();
    let a = Arc::new(Accepted { items });
    if let Ok(mut cache) = loaded.accepted.lock() {
        cache.insert(metric.to_string(), a.clone());
    }
    a
}

/// The items every metric of `metrics` accepts, in candidate order.
pub fn common(loaded: &Loaded, metrics: &[String]) -> Vec<Candidate> {
    let mut sets = metrics.iter().map(|m| accepted(loaded, m));
    let Some(first) = sets.next() else {
        return Vec::new();
    };
    let mut items = first.items.clone();
    for s in sets {
        items.retain(|c| s.items.iter().any(|x| x.name == c.name));
    }
    items
}

/// Unknown metric names, with a "did you mean".
pub fn unknown_metrics(model: &Model, metrics: &[String]) -> Option<crate::error::ServeError> {
    let unknown: Vec<&String> = metrics
        .iter()
        .filter(|m| !model.metrics.contains_key(m.as_str()))
        .collect();
    let first = unknown.first()?;
    let mut e = crate::error::ServeError::new(
        tally_core::diag::codes::UNKNOWN_METRIC,
        404,
        format!("unknown metric `{first}`"),
    );
    if let Some(s) = tally_core::diag::did_you_mean(first, model.metrics.keys().map(String::as_str))
    {
        e = e.with_help(format!("did you mean `{s}`?"));
    }
    Some(e.with_help("list_metrics lists the metrics"))
}

/// Granularities a time item can be grouped at, coarsening from its finest grain (as dbt names
/// them: `DAY`, `WEEK`, ...).
fn granularities(finest: Grain) -> Vec<String> {
    Grain::ALL
        .iter()
        .filter(|g| **g >= finest)
        .map(|g| g.name().to_ascii_uppercase())
        .collect()
}

/// `get_dimensions`: the dimensions every metric accepts.
pub fn dimensions(loaded: &Loaded, metrics: &[String], search: Option<&str>) -> Value {
    let items: Vec<Value> = common(loaded, metrics)
        .into_iter()
        .filter(|c| c.kind != CandidateKind::Entity)
        .filter(|c| matches(search, &c.name))
        .map(|c| {
            let mut o = Map::new();
            o.insert("name".into(), json!(c.name));
            o.insert(
                "type".into(),
                json!(if c.kind == CandidateKind::Time {
                    "TIME"
                } else {
                    "CATEGORICAL"
                }),
            );
            if let Some(d) = loaded.extras.dimension_descriptions.get(&c.element) {
                o.insert("description".into(), json!(d));
            }
            if let Some(l) = &c.label {
                o.insert("label".into(), json!(l));
            }
            if let (CandidateKind::Time, Some(g)) = (c.kind, c.grain) {
                o.insert("granularities".into(), json!(granularities(g)));
            }
            if let Some(m) = loaded.extras.dimension_meta.get(&c.element) {
                o.insert("metadata".into(), Value::Object(m.clone()));
            }
            Value::Object(o)
        })
        .collect();
    Value::Array(items)
}

/// `get_entities`: the entities every metric accepts.
pub fn entities(loaded: &Loaded, metrics: &[String], search: Option<&str>) -> Value {
    let items: Vec<Value> = common(loaded, metrics)
        .into_iter()
        .filter(|c| c.kind == CandidateKind::Entity)
        .filter(|c| matches(search, &c.name))
        .map(|c| {
            let t = match c.entity_type {
                Some(EntityType::Primary) => "PRIMARY",
                Some(EntityType::Unique) => "UNIQUE",
                Some(EntityType::Natural) => "NATURAL",
                Some(EntityType::Foreign) => "FOREIGN",
                None => "UNKNOWN",
            };
            json!({"name": c.name, "type": t})
        })
        .collect();
    Value::Array(items)
}

fn matches(search: Option<&str>, name: &str) -> bool {
    search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .is_none_or(|s| name.to_lowercase().contains(&s.to_lowercase()))
}

/// `list_saved_queries`.
pub fn saved_queries(loaded: &Loaded, p: &ListSavedQueriesParams) -> Value {
    let model = &loaded.model;
    let search = p.search.as_deref().map(|s| s.trim().to_lowercase());
    let mut out = Vec::new();
    for sq in model.saved_queries.values() {
        let label = loaded.extras.saved_query_labels.get(&sq.name);
        if let Some(s) = search.as_deref().filter(|s| !s.is_empty()) {
            let hit = sq.name.to_lowercase().contains(s)
                || label.is_some_and(|l| l.to_lowercase().contains(s))
                || sq
                    .description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(s));
            if !hit {
                continue;
            }
        }
        let mut o = Map::new();
        o.insert("name".into(), json!(sq.name));
        if let Some(l) = label {
            o.insert("label".into(), json!(l));
        }
        if let Some(d) = &sq.description {
            o.insert("description".into(), json!(d.trim()));
        }
        o.insert(
            "metrics".into(),
            json!(sq.metrics.iter().map(|m| &m.value).collect::<Vec<_>>()),
        );
        o.insert(
            "group_by".into(),
            json!(sq.group_by.iter().map(|m| &m.value).collect::<Vec<_>>()),
        );
        if !sq.where_.is_empty() {
            let w = if sq.where_.len() == 1 {
                sq.where_[0].text.clone()
            } else {
                sq.where_
                    .iter()
                    .map(|f| format!("({})", f.text))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            o.insert("where".into(), json!(w));
        }
        out.push(Value::Object(o));
    }
    Value::Array(out)
}

/// Compact JSON with sorted keys, as dbt-mcp writes dict cells.
fn sorted_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: std::collections::BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

fn meta_matches(meta: Option<&Map<String, Value>>, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, want)| {
        let want = match want {
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            other => other.clone(),
        };
        meta.and_then(|m| m.get(k)) == Some(&want)
    })
}

/// The metrics a listing shows, by name: any search term in the name (at most 20 terms), every
/// `meta_filter` pair in the metric's metadata.
fn select_metrics<'a>(loaded: &'a Loaded, p: &ListMetricsParams) -> Vec<&'a String> {
    let mut terms: Vec<String> = Vec::new();
    for t in p.search.iter().flat_map(|s| s.0.iter()) {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !terms.contains(&t) && terms.len() < MAX_SEARCH_TERMS {
            terms.push(t);
        }
    }
    let mut names: Vec<&String> = loaded.model.metrics.keys().collect();
    names.sort();
    names
        .into_iter()
        .filter(|n| terms.is_empty() || terms.iter().any(|t| n.to_lowercase().contains(t)))
        .filter(|n| {
            p.meta_filter
                .as_ref()
                .is_none_or(|f| meta_matches(loaded.extras.metric_meta.get(n.as_str()), f))
        })
        .collect()
}

/// The HTTP API's metric listing: one object per metric, with its owners.
pub fn metrics_json(loaded: &Loaded, p: &ListMetricsParams) -> Value {
    let model = &loaded.model;
    let items: Vec<Value> = select_metrics(loaded, p)
        .into_iter()
        .map(|n| {
            let m = &model.metrics[n.as_str()];
            json!({
                "name": m.name,
                "type": m.type_name().to_ascii_uppercase(),
                "label": m.label,
                "description": m.description.as_deref().map(str::trim),
                "metadata": loaded.extras.metric_meta.get(n.as_str()),
                "owners": m.owners,
                "tags": m.tags,
            })
        })
        .collect();
    Value::Array(items)
}

/// `list_metrics`: a CSV with dbt-mcp's columns and size rules.
pub fn list_metrics(loaded: &Loaded, p: &ListMetricsParams, budget: usize) -> String {
    let model = &loaded.model;
    let selected = select_metrics(loaded, p);
    let related = selected.len() <= METRICS_RELATED_MAX;
    struct Row {
        name: String,
        kind: String,
        label: String,
        description: String,
        metadata: String,
        dimensions: String,
        entities: String,
    }
    let rows: Vec<Row> = selected
        .iter()
        .map(|n| {
            let m = &model.metrics[n.as_str()];
            let (dims, ents) = if related {
                let a = accepted(loaded, n);
                let d: Vec<&str> = a
                    .items
                    .iter()
                    .filter(|c| c.kind != CandidateKind::Entity)
                    .map(|c| c.name.as_str())
                    .collect();
                let e: Vec<&str> = a
                    .items
                    .iter()
                    .filter(|c| c.kind == CandidateKind::Entity)
                    .map(|c| c.name.as_str())
                    .collect();
                (d.join(","), e.join(","))
            } else {
                (String::new(), String::new())
            };
            Row {
                name: m.name.clone(),
                kind: m.type_name().to_ascii_uppercase(),
                label: m.label.clone().unwrap_or_default(),
                description: m
                    .description
                    .as_deref()
                    .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_default(),
                metadata: loaded
                    .extras
                    .metric_meta
                    .get(n.as_str())
                    .map(|m| sorted_json(&Value::Object(m.clone())))
                    .unwrap_or_default(),
                dimensions: dims,
                entities: ents,
            }
        })
        .collect();
    type Col = (&'static str, fn(&Row) -> &str);
    let all: [Col; 7] = [
        ("name", |r| &r.name),
        ("type", |r| &r.kind),
        ("label", |r| &r.label),
        ("description", |r| &r.description),
        ("metadata", |r| &r.metadata),
        ("dimensions", |r| &r.dimensions),
        ("entities", |r| &r.entities),
    ];
    let present: Vec<Col> = all
        .iter()
        .copied()
        .filter(|(n, get)| matches!(*n, "name" | "type") || rows.iter().any(|r| !get(r).is_empty()))
        .collect();
    let render = |cols: &[Col]| -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let _ = w.write_record(cols.iter().map(|(n, _)| *n));
        for r in &rows {
            let _ = w.write_record(cols.iter().map(|(_, get)| get(r)));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    };
    let mut cols = present;
    let mut text = render(&cols);
    let mut notes = Vec::new();
    // A narrow listing keeps every column, however long.
    if !related {
        for drop in ["description", "metadata"] {
            if text.len() <= budget {
                break;
            }
            if cols.iter().any(|(n, _)| *n == drop) {
                cols.retain(|(n, _)| *n != drop);
                notes.push(format!(
                    "# Note: the `{drop}` column was omitted to fit the response size budget; call list_metrics with `search` (or `meta_filter`) for the metrics you need to see it."
                ));
                text = render(&cols);
            }
        }
    }
    if notes.is_empty() {
        text
    } else {
        format!("{}\n{text}", notes.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::granularities;
    use tally_core::time::Grain;

    #[test]
    fn granularities_coarsen_from_the_finest() {
        assert_eq!(
            granularities(Grain::Day),
            ["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]
        );
        assert_eq!(granularities(Grain::Month), ["MONTH", "QUARTER", "YEAR"]);
        assert_eq!(granularities(Grain::Hour)[0], "HOUR");
    }
}
