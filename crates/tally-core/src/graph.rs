//! The project as a graph: semantic models, entities, dimensions, measures, metrics, people and
//! teams, with typed edges; renderers for Mermaid, Graphviz DOT and JSON; and the lineage of one
//! metric.
//!
//! Edges, each from the thing that flows to the thing it flows into:
//!
//! | kind | from -> to | label |
//! |---|---|---|
//! | `input-of` | measure -> metric, metric -> metric | how it is used: `numerator`, `base`, an alias, an offset |
//! | `joins-to` | semantic model -> semantic model | the entity; only to a model on which it is a key, as the planner joins |
//! | `drives` | driver metric -> metric | from the metric's `drivers` |
//! | `owned-by` | metric -> person or team | the RACI role |
//! | `member-of` | person -> team | |
//! | `has` | semantic model -> entity, dimension or measure | the entity's type |
//!
//! Node ids are stable and readable: `semantic_model:orders`, `entity:customer`,
//! `dimension:orders.status` (dimensions belong to their model), `measure:revenue`,
//! `metric:revenue_total`, `person:ana`, `team:analytics`. Nodes are inserted sorted by id and
//! edges sorted by (from, kind, to, label), so every rendering is deterministic.

use crate::diag::{codes, Diagnostic};
use crate::model::{
    Filter, FilterRef, MeasureRef, Metric, MetricInput, MetricKind, Model, Relation, SemanticModel,
};
use crate::spec::EntityType;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    SemanticModel,
    Entity,
    Dimension,
    Measure,
    Metric,
    Person,
    Team,
}

impl NodeKind {
    /// The prefix of ids of this kind (`metric` in `metric:bookings`).
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::SemanticModel => "semantic_model",
            NodeKind::Entity => "entity",
            NodeKind::Dimension => "dimension",
            NodeKind::Measure => "measure",
            NodeKind::Metric => "metric",
            NodeKind::Person => "person",
            NodeKind::Team => "team",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum EdgeKind {
    #[serde(rename = "input-of")]
    InputOf,
    #[serde(rename = "joins-to")]
    JoinsTo,
    #[serde(rename = "drives")]
    Drives,
    #[serde(rename = "owned-by")]
    OwnedBy,
    #[serde(rename = "member-of")]
    MemberOf,
    #[serde(rename = "has")]
    Has,
}

impl EdgeKind {
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::InputOf => "input-of",
            EdgeKind::JoinsTo => "joins-to",
            EdgeKind::Drives => "drives",
            EdgeKind::OwnedBy => "owned-by",
            EdgeKind::MemberOf => "member-of",
            EdgeKind::Has => "has",
        }
    }
}

/// A node of the project graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Stable id: `<kind>:<name>` (`dimension:<model>.<name>` for dimensions).
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    /// What to show: the object's label, a person's full name, else its name.
    pub label: String,
    /// A short description: a metric's type, a measure's aggregation, a model's relation, a
    /// dimension's type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An edge of the project graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The project graph: a petgraph graph plus an index from ids to nodes.
#[derive(Clone, Debug, Default)]
pub struct ProjectGraph {
    pub graph: DiGraph<Node, Edge>,
    ids: BTreeMap<String, NodeIndex>,
}

impl ProjectGraph {
    /// The node with this id (`metric:bookings`).
    pub fn node(&self, id: &str) -> Option<NodeIndex> {
        self.ids.get(id).copied()
    }

    /// Nodes in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_indices().map(|i| &self.graph[i])
    }

    /// Edges as (from, edge, to), in insertion (sorted) order.
    pub fn edges(&self) -> impl Iterator<Item = (&Node, &Edge, &Node)> {
        self.graph
            .edge_references()
            .map(|e| (&self.graph[e.source()], e.weight(), &self.graph[e.target()]))
    }
}

/// What a rendering shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Metrics, their owners (and the teams of those owners) and drivers: the metric tree. The
    /// default, and what `to_mermaid` is meant for.
    #[default]
    MetricTree,
    /// Every node and edge.
    Full,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GraphOptions {
    pub view: View,
    /// Draw people and teams with `owned-by` and `member-of` edges. Off by default: on a real
    /// project every metric has several owners and the arrows bury the tree
    /// (`tally tree` shows owners as labels instead).
    pub owners: bool,
}

impl GraphOptions {
    pub fn metric_tree() -> GraphOptions {
        GraphOptions {
            view: View::MetricTree,
            owners: false,
        }
    }
    pub fn full() -> GraphOptions {
        GraphOptions {
            view: View::Full,
            owners: false,
        }
    }
    /// The same view with owners drawn as nodes and edges.
    pub fn with_owners(self) -> GraphOptions {
        GraphOptions {
            owners: true,
            ..self
        }
    }
}

fn metric_id(name: &str) -> String {
    format!("metric:{name}")
}

fn owner_id(model: &Model, name: &str) -> String {
    if model.teams.contains_key(name) && !model.people.contains_key(name) {
        format!("team:{name}")
    } else {
        format!("person:{name}")
    }
}

fn agg_text(m: &crate::model::Measure) -> String {
    use crate::model::AggKind;
    let f = match m.agg {
        AggKind::Sum => "sum".to_string(),
        AggKind::Min => "min".to_string(),
        AggKind::Max => "max".to_string(),
        AggKind::CountDistinct => "count_distinct".to_string(),
        AggKind::Average => "average".to_string(),
        AggKind::Percentile { p, discrete, .. } => {
            format!("percentile_{}({p})", if discrete { "disc" } else { "cont" })
        }
    };
    format!("{f}({})", m.expr)
}

fn relation_text(r: &Relation) -> String {
    match r {
        Relation::Table(t) => t.clone(),
        Relation::Query(..) => "sql query".to_string(),
    }
}

/// How a metric input is used, for edge labels: its alias and offset.
fn input_label(role: Option<&str>, i: &MetricInput) -> Option<String> {
    let mut parts: Vec<String> = role.map(str::to_string).into_iter().collect();
    if let Some(a) = &i.alias {
        parts.push(format!("as {a}"));
    }
    if let Some(w) = &i.offset_window {
        parts.push(format!("offset {w}"));
    }
    if let Some(g) = &i.offset_to_grain {
        parts.push(format!("to start of {g}"));
    }
    if !i.filters.is_empty() {
        parts.push("filtered".to_string());
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The measures a metric reads directly, with their role.
fn direct_measures(m: &Metric) -> Vec<(&MeasureRef, Option<&'static str>)> {
    match &m.kind {
        MetricKind::Simple(r) => vec![(r, None)],
        MetricKind::Cumulative { measure, .. } => vec![(measure, None)],
        MetricKind::Conversion {
            base, conversion, ..
        } => {
            vec![(base, Some("base")), (conversion, Some("conversion"))]
        }
        _ => vec![],
    }
}

/// The metrics a metric reads directly, with their edge label.
fn direct_inputs(m: &Metric) -> Vec<(&MetricInput, Option<String>)> {
    match &m.kind {
        MetricKind::Ratio {
            numerator,
            denominator,
        } => vec![
            (numerator, input_label(Some("numerator"), numerator)),
            (denominator, input_label(Some("denominator"), denominator)),
        ],
        MetricKind::Derived { inputs, .. } => {
            inputs.iter().map(|i| (i, input_label(None, i))).collect()
        }
        _ => vec![],
    }
}

fn roles(m: &Metric) -> Vec<(&'static str, &str)> {
    let o = &m.owners;
    o.accountable
        .iter()
        .map(|n| ("accountable", n.as_str()))
        .chain(o.responsible.iter().map(|n| ("responsible", n.as_str())))
        .chain(o.consulted.iter().map(|n| ("consulted", n.as_str())))
        .chain(o.informed.iter().map(|n| ("informed", n.as_str())))
        .collect()
}

/// Build the graph of a model.
pub fn build_graph(model: &Model) -> ProjectGraph {
    let mut b = GraphBuilder::default();
    let holders = key_holders(model);
    for sm in &model.semantic_models {
        b.semantic_model(sm, &holders);
    }
    for m in model.metrics.values() {
        b.metric(m, model);
    }
    b.roster(model);
    b.finish()
}

/// The semantic models on which each entity is a key, found once (a scan of every model per
/// entity made the graph quadratic in the number of semantic models).
fn key_holders(model: &Model) -> HashMap<&str, Vec<&SemanticModel>> {
    let mut holders: HashMap<&str, Vec<&SemanticModel>> = HashMap::new();
    for t in &model.semantic_models {
        for (i, x) in t.entities.iter().enumerate() {
            // As `SemanticModel::entity` does, the first entity of a name counts.
            let first = t.entities.iter().position(|y| y.name == x.name) == Some(i);
            if first && x.kind != EntityType::Foreign {
                holders.entry(x.name.as_str()).or_default().push(t);
            }
        }
    }
    holders
}

/// Nodes by id and edges `(from, kind, to, label)`, sorted, before they become a [`ProjectGraph`].
#[derive(Default)]
struct GraphBuilder {
    nodes: BTreeMap<String, Node>,
    edges: BTreeSet<(String, EdgeKind, String, Option<String>)>,
}

impl GraphBuilder {
    /// A node of `kind` with id `<kind>:<key>`; the first one added under an id is kept.
    fn node(
        &mut self,
        kind: NodeKind,
        key: String,
        name: &str,
        label: Option<&str>,
        detail: Option<String>,
    ) {
        let id = format!("{}:{key}", kind.name());
        self.nodes.entry(id.clone()).or_insert(Node {
            id,
            kind,
            name: name.to_string(),
            label: label.unwrap_or(name).to_string(),
            detail,
        });
    }

    fn edge(&mut self, from: String, kind: EdgeKind, to: String, label: Option<String>) {
        self.edges.insert((from, kind, to, label));
    }

    /// A semantic model, its entities, dimensions and measures, and the models it joins to.
    fn semantic_model(
        &mut self,
        sm: &SemanticModel,
        key_holders: &HashMap<&str, Vec<&SemanticModel>>,
    ) {
        let smid = format!("semantic_model:{}", sm.name);
        self.node(
            NodeKind::SemanticModel,
            sm.name.clone(),
            &sm.name,
            sm.label.as_deref(),
            Some(relation_text(&sm.relation)),
        );
        for e in &sm.entities {
            self.node(NodeKind::Entity, e.name.clone(), &e.name, None, None);
            self.edge(
                smid.clone(),
                EdgeKind::Has,
                format!("entity:{}", e.name),
                Some(entity_type(e.kind).to_string()),
            );
        }
        for d in &sm.dimensions {
            let detail = match d.time_grain {
                Some(g) => format!("time ({g})"),
                None => "categorical".to_string(),
            };
            self.node(
                NodeKind::Dimension,
                format!("{}.{}", sm.name, d.name),
                &d.name,
                d.label.as_deref(),
                Some(detail),
            );
            self.edge(
                smid.clone(),
                EdgeKind::Has,
                format!("dimension:{}.{}", sm.name, d.name),
                None,
            );
        }
        for m in &sm.measures {
            self.node(
                NodeKind::Measure,
                m.name.clone(),
                &m.name,
                m.label.as_deref(),
                Some(agg_text(m)),
            );
            self.edge(
                smid.clone(),
                EdgeKind::Has,
                format!("measure:{}", m.name),
                None,
            );
        }
        // Joins go only to models on which the entity is a key (the planner's fan-out rule).
        for e in &sm.entities {
            for t in key_holders.get(e.name.as_str()).into_iter().flatten() {
                if t.name != sm.name {
                    self.edge(
                        smid.clone(),
                        EdgeKind::JoinsTo,
                        format!("semantic_model:{}", t.name),
                        Some(e.name.clone()),
                    );
                }
            }
        }
    }

    /// A metric and its edges: measures and metrics it reads, drivers, owners.
    fn metric(&mut self, m: &Metric, model: &Model) {
        self.node(
            NodeKind::Metric,
            m.name.clone(),
            &m.name,
            m.label.as_deref(),
            Some(m.type_name().to_string()),
        );
        let mid = metric_id(&m.name);
        for (r, role) in direct_measures(m) {
            self.edge(
                format!("measure:{}", r.name),
                EdgeKind::InputOf,
                mid.clone(),
                role.map(str::to_string),
            );
        }
        for (i, label) in direct_inputs(m) {
            if model.metrics.contains_key(&i.name) {
                self.edge(metric_id(&i.name), EdgeKind::InputOf, mid.clone(), label);
            }
        }
        for d in &m.drivers {
            if model.metrics.contains_key(d) {
                self.edge(metric_id(d), EdgeKind::Drives, mid.clone(), None);
            }
        }
        for (role, owner) in roles(m) {
            if model.people.contains_key(owner) || model.teams.contains_key(owner) {
                self.edge(
                    mid.clone(),
                    EdgeKind::OwnedBy,
                    owner_id(model, owner),
                    Some(role.to_string()),
                );
            }
        }
    }

    /// People, their teams, and teams.
    fn roster(&mut self, model: &Model) {
        for p in model.people.values() {
            self.node(
                NodeKind::Person,
                p.name.clone(),
                &p.name,
                p.full_name.as_deref(),
                None,
            );
            for t in &p.teams {
                if model.teams.contains_key(t) {
                    self.edge(
                        format!("person:{}", p.name),
                        EdgeKind::MemberOf,
                        format!("team:{t}"),
                        None,
                    );
                }
            }
        }
        for t in model.teams.values() {
            self.node(
                NodeKind::Team,
                t.name.clone(),
                &t.name,
                None,
                t.description.clone(),
            );
        }
    }

    /// The graph: nodes in id order, then every edge whose ends exist.
    fn finish(self) -> ProjectGraph {
        let mut g = ProjectGraph::default();
        for (id, n) in self.nodes {
            let i = g.graph.add_node(n);
            g.ids.insert(id, i);
        }
        for (from, kind, to, label) in self.edges {
            if let (Some(a), Some(b)) = (g.node(&from), g.node(&to)) {
                g.graph.add_edge(a, b, Edge { kind, label });
            }
        }
        g
    }
}

fn entity_type(t: EntityType) -> &'static str {
    match t {
        EntityType::Primary => "primary",
        EntityType::Unique => "unique",
        EntityType::Foreign => "foreign",
        EntityType::Natural => "natural",
    }
}

/// The nodes and edges a view shows, as indices into the graph, in graph order.
fn visible(
    g: &ProjectGraph,
    opts: &GraphOptions,
) -> (Vec<NodeIndex>, Vec<petgraph::graph::EdgeIndex>) {
    let (nodes, edges) = visible_view(g, opts);
    if opts.owners {
        return (nodes, edges);
    }
    let is_owner = |i: NodeIndex| matches!(g.graph[i].kind, NodeKind::Person | NodeKind::Team);
    let nodes = nodes.into_iter().filter(|i| !is_owner(*i)).collect();
    let edges = edges
        .into_iter()
        .filter(|e| {
            let (a, b) = g.graph.edge_endpoints(*e).expect("edge");
            !is_owner(a) && !is_owner(b)
        })
        .collect();
    (nodes, edges)
}

fn visible_view(
    g: &ProjectGraph,
    opts: &GraphOptions,
) -> (Vec<NodeIndex>, Vec<petgraph::graph::EdgeIndex>) {
    if opts.view == View::Full {
        return (
            g.graph.node_indices().collect(),
            g.graph.edge_indices().collect(),
        );
    }
    // Metrics, and the people and teams that own one (with the teams those people are in).
    let mut keep: BTreeSet<NodeIndex> = BTreeSet::new();
    for i in g.graph.node_indices() {
        if g.graph[i].kind == NodeKind::Metric {
            keep.insert(i);
            for e in g.graph.edges_directed(i, Direction::Outgoing) {
                if e.weight().kind == EdgeKind::OwnedBy {
                    keep.insert(e.target());
                }
            }
        }
    }
    let owners: Vec<NodeIndex> = keep
        .iter()
        .copied()
        .filter(|i| g.graph[*i].kind == NodeKind::Person)
        .collect();
    for p in owners {
        for e in g.graph.edges_directed(p, Direction::Outgoing) {
            if e.weight().kind == EdgeKind::MemberOf {
                keep.insert(e.target());
            }
        }
    }
    let nodes: Vec<NodeIndex> = g
        .graph
        .node_indices()
        .filter(|i| keep.contains(i))
        .collect();
    let edges = g
        .graph
        .edge_indices()
        .filter(|e| {
            let (a, b) = g.graph.edge_endpoints(*e).expect("edge");
            matches!(
                g.graph[*e].kind,
                EdgeKind::InputOf | EdgeKind::Drives | EdgeKind::OwnedBy | EdgeKind::MemberOf
            ) && keep.contains(&a)
                && keep.contains(&b)
        })
        .collect();
    (nodes, edges)
}

// ----- Mermaid -------------------------------------------------------------------------------------

/// Mermaid ids: letters, digits and underscores, unique.
fn mermaid_ids(g: &ProjectGraph, nodes: &[NodeIndex]) -> BTreeMap<NodeIndex, String> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeMap::new();
    for &i in nodes {
        let base: String = g.graph[i]
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut id = base.clone();
        let mut n = 1;
        while !used.insert(id.clone()) {
            n += 1;
            id = format!("{base}_{n}");
        }
        out.insert(i, id);
    }
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A Mermaid flowchart. The default view is the metric tree.
pub fn to_mermaid(g: &ProjectGraph, opts: &GraphOptions) -> String {
    let (nodes, edges) = visible(g, opts);
    let ids = mermaid_ids(g, &nodes);
    let mut out = String::from("flowchart LR\n");
    let mut classes: BTreeMap<NodeKind, Vec<&str>> = BTreeMap::new();
    for &i in &nodes {
        let n = &g.graph[i];
        let mut text = mermaid_text(&n.label);
        if let Some(d) = &n.detail {
            if n.kind != NodeKind::Team {
                text.push_str(&format!("<br/><small>{}</small>", mermaid_text(d)));
            }
        }
        let id = &ids[&i];
        let shape = match n.kind {
            NodeKind::Metric => format!("{id}[\"{text}\"]"),
            NodeKind::Measure => format!("{id}([\"{text}\"])"),
            NodeKind::SemanticModel => format!("{id}[(\"{text}\")]"),
            NodeKind::Entity => format!("{id}{{{{\"{text}\"}}}}"),
            NodeKind::Dimension => format!("{id}[/\"{text}\"/]"),
            NodeKind::Person => format!("{id}((\"{text}\"))"),
            NodeKind::Team => format!("{id}[[\"{text}\"]]"),
        };
        out.push_str(&format!("  {shape}\n"));
        classes.entry(n.kind).or_default().push(id);
    }
    for e in edges {
        let (a, b) = g.graph.edge_endpoints(e).expect("edge");
        let w = &g.graph[e];
        let arrow = match w.kind {
            EdgeKind::InputOf => "-->",
            EdgeKind::Drives => "-.->",
            EdgeKind::OwnedBy => "-.-",
            EdgeKind::MemberOf => "-.-",
            EdgeKind::JoinsTo => "==>",
            EdgeKind::Has => "---",
        };
        let label = match (w.kind, &w.label) {
            (EdgeKind::InputOf, None) | (EdgeKind::Has, None) => String::new(),
            (EdgeKind::InputOf, Some(l))
            | (EdgeKind::Has, Some(l))
            | (EdgeKind::JoinsTo, Some(l))
            | (EdgeKind::OwnedBy, Some(l)) => {
                format!("|\"{}\"|", mermaid_text(l))
            }
            (k, _) => format!("|{}|", k.name()),
        };
        out.push_str(&format!("  {} {arrow}{label} {}\n", ids[&a], ids[&b]));
    }
    for (kind, members) in &classes {
        let style = match kind {
            NodeKind::Metric => "fill:#e8f0fe,stroke:#1a73e8",
            NodeKind::Measure => "fill:#e6f4ea,stroke:#188038",
            NodeKind::SemanticModel => "fill:#fef7e0,stroke:#b06000",
            NodeKind::Entity => "fill:#fce8e6,stroke:#c5221f",
            NodeKind::Dimension => "fill:#f1f3f4,stroke:#5f6368",
            NodeKind::Person => "fill:#f3e8fd,stroke:#8430ce",
            NodeKind::Team => "fill:#f3e8fd,stroke:#8430ce",
        };
        out.push_str(&format!("  classDef {} {style}\n", kind.name()));
        out.push_str(&format!("  class {} {}\n", members.join(","), kind.name()));
    }
    out
}

// ----- DOT -----------------------------------------------------------------------------------------

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A Graphviz digraph (`dot -Tsvg`).
pub fn to_dot(g: &ProjectGraph, opts: &GraphOptions) -> String {
    let (nodes, edges) = visible(g, opts);
    let mut out = String::from("digraph project {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for &i in &nodes {
        let n = &g.graph[i];
        let mut label = dot_text(&n.label);
        if let Some(d) = &n.detail {
            label.push_str("\\n");
            label.push_str(&dot_text(d));
        }
        let shape = match n.kind {
            NodeKind::Metric => "box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\"",
            NodeKind::Measure => "ellipse, style=filled, fillcolor=\"#e6f4ea\"",
            NodeKind::SemanticModel => "cylinder, style=filled, fillcolor=\"#fef7e0\"",
            NodeKind::Entity => "hexagon, style=filled, fillcolor=\"#fce8e6\"",
            NodeKind::Dimension => "note",
            NodeKind::Person => "oval, style=filled, fillcolor=\"#f3e8fd\"",
            NodeKind::Team => "box3d, style=filled, fillcolor=\"#f3e8fd\"",
        };
        out.push_str(&format!(
            "  \"{}\" [label=\"{label}\", shape={shape}];\n",
            dot_text(&n.id)
        ));
    }
    for e in edges {
        let (a, b) = g.graph.edge_endpoints(e).expect("edge");
        let w = &g.graph[e];
        let mut attrs = vec![match &w.label {
            Some(l) => format!("label=\"{}\"", dot_text(&format!("{}: {l}", w.kind.name()))),
            None => format!("label=\"{}\"", w.kind.name()),
        }];
        match w.kind {
            EdgeKind::Drives => attrs.push("style=dashed".into()),
            EdgeKind::OwnedBy | EdgeKind::MemberOf => attrs.push("style=dotted".into()),
            EdgeKind::JoinsTo => attrs.push("penwidth=2".into()),
            EdgeKind::Has => attrs.push("arrowhead=none, color=gray".into()),
            EdgeKind::InputOf => {}
        }
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [{}];\n",
            dot_text(&g.graph[a].id),
            dot_text(&g.graph[b].id),
            attrs.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}

// ----- JSON ----------------------------------------------------------------------------------------

/// `{"nodes": [...], "edges": [{"from", "to", "kind", "label"}]}`.
pub fn to_json(g: &ProjectGraph, opts: &GraphOptions) -> serde_json::Value {
    let (nodes, edges) = visible(g, opts);
    let nodes: Vec<serde_json::Value> = nodes
        .iter()
        .map(|&i| serde_json::to_value(&g.graph[i]).expect("nodes serialise"))
        .collect();
    let edges: Vec<serde_json::Value> = edges
        .iter()
        .map(|&e| {
            let (a, b) = g.graph.edge_endpoints(e).expect("edge");
            let w = &g.graph[e];
            let mut v = json!({"from": g.graph[a].id, "to": g.graph[b].id, "kind": w.kind.name()});
            if let Some(l) = &w.label {
                v["label"] = json!(l);
            }
            v
        })
        .collect();
    json!({"nodes": nodes, "edges": edges})
}

// ----- lineage -------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineageKind {
    Metric,
    Measure,
    SemanticModel,
    Dimension,
    Entity,
}

impl LineageKind {
    fn name(self) -> &'static str {
        match self {
            LineageKind::Metric => "metric",
            LineageKind::Measure => "measure",
            LineageKind::SemanticModel => "semantic model",
            LineageKind::Dimension => "dimension",
            LineageKind::Entity => "entity",
        }
    }
}

/// One owner of a metric.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OwnerRef {
    pub metric: String,
    pub role: String,
    pub owner: String,
    /// `person` or `team`.
    pub kind: String,
}

/// A node of a lineage tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineageNode {
    pub kind: LineageKind,
    pub name: String,
    /// How the parent uses this node: `numerator`, `as x, offset 1 month`, `base`, `filter`,
    /// `input filter`, `measure filter`, `reads`, `drives`, `used as ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A metric's type, a measure's aggregation and column expression, a model's relation, a
    /// filter dimension's model and column expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<OwnerRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<LineageNode>,
}

/// The lineage of one metric: what it reads (down to source columns), what reads it, who owns
/// what along the way.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lineage {
    pub metric: String,
    /// The metric with its inputs, their measures, the semantic models those read, and the
    /// dimensions filters use.
    pub upstream: LineageNode,
    /// Metrics that use this one as an input (and theirs, recursively), and metrics it drives.
    pub downstream: Vec<LineageNode>,
    /// Metrics that drive this one (its `drivers`).
    pub drivers: Vec<String>,
    /// Every owner of every metric in the lineage, sorted.
    pub owners: Vec<OwnerRef>,
}

fn owners_of(model: &Model, m: &Metric) -> Vec<OwnerRef> {
    roles(m)
        .into_iter()
        .map(|(role, owner)| OwnerRef {
            metric: m.name.clone(),
            role: role.to_string(),
            owner: owner.to_string(),
            kind: if owner_id(model, owner).starts_with("team:") {
                "team"
            } else {
                "person"
            }
            .to_string(),
        })
        .collect()
}

/// The lineage of `metric`, or UNKNOWN_METRIC with a "did you mean".
pub fn lineage(model: &Model, metric: &str) -> Result<Lineage, Diagnostic> {
    let Some(m) = model.metric(metric) else {
        return Err(
            Diagnostic::error(codes::UNKNOWN_METRIC, format!("unknown metric `{metric}`"))
                .with_label("no metric of this name")
                .with_suggestion(metric, model.metrics.keys().map(String::as_str))
                .with_help("`tally list metrics` lists the project's metrics"),
        );
    };
    let mut path = Vec::new();
    let upstream = upstream_node(model, m, None, &mut path);
    let mut path = vec![m.name.clone()];
    let downstream = downstream_nodes(model, &m.name, &mut path);
    let mut owners: BTreeSet<OwnerRef> = BTreeSet::new();
    collect_owners(&upstream, &mut owners);
    for d in &downstream {
        collect_owners(d, &mut owners);
    }
    Ok(Lineage {
        metric: m.name.clone(),
        upstream,
        downstream,
        drivers: m.drivers.clone(),
        owners: owners.into_iter().collect(),
    })
}

fn collect_owners(n: &LineageNode, out: &mut BTreeSet<OwnerRef>) {
    out.extend(n.owners.iter().cloned());
    for c in &n.children {
        collect_owners(c, out);
    }
}

fn upstream_node(
    model: &Model,
    m: &Metric,
    role: Option<String>,
    path: &mut Vec<String>,
) -> LineageNode {
    let mut node = LineageNode {
        kind: LineageKind::Metric,
        name: m.name.clone(),
        role,
        detail: Some(format!("{} metric", m.type_name())),
        owners: owners_of(model, m),
        children: Vec::new(),
    };
    if path.contains(&m.name) {
        // Cycles are errors of resolution; show the repeat and stop.
        node.detail = Some("cycle".into());
        return node;
    }
    path.push(m.name.clone());
    let measure_models: BTreeSet<usize> = direct_measures(m).iter().map(|(r, _)| r.model).collect();
    for (i, label) in direct_inputs(m) {
        if let Some(im) = model.metric_by_id(i.metric) {
            let mut child = upstream_node(model, im, label.or(Some("input".into())), path);
            let models = metric_models(model, im);
            child
                .children
                .extend(filter_nodes(model, &i.filters, &models, "input filter"));
            node.children.push(child);
        }
    }
    for (r, role) in direct_measures(m) {
        node.children.push(measure_node(model, r, role));
    }
    let models: BTreeSet<usize> = if measure_models.is_empty() {
        metric_models(model, m)
    } else {
        measure_models
    };
    node.children
        .extend(filter_nodes(model, &m.filters, &models, "filter"));
    path.pop();
    node
}

/// The semantic models of every measure a metric reads.
fn metric_models(model: &Model, m: &Metric) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut stack = vec![m];
    let mut seen = BTreeSet::new();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.name.clone()) {
            continue;
        }
        out.extend(direct_measures(x).iter().map(|(r, _)| r.model));
        stack.extend(
            x.input_metrics()
                .iter()
                .filter_map(|i| model.metric_by_id(i.metric)),
        );
    }
    out
}

fn measure_node(model: &Model, r: &MeasureRef, role: Option<&str>) -> LineageNode {
    let ms = model.measure(r);
    let sm = &model.semantic_models[r.model];
    let mut children = vec![LineageNode {
        kind: LineageKind::SemanticModel,
        name: sm.name.clone(),
        role: Some("reads".into()),
        detail: Some(relation_text(&sm.relation)),
        owners: vec![],
        children: vec![],
    }];
    children.extend(filter_nodes(
        model,
        &r.filters,
        &[r.model].into(),
        "measure filter",
    ));
    LineageNode {
        kind: LineageKind::Measure,
        name: ms.name.clone(),
        role: role.map(str::to_string),
        detail: Some(format!(
            "{}, time dimension {}",
            agg_text(ms),
            ms.agg_time_dimension
        )),
        owners: vec![],
        children,
    }
}

/// The dimensions and entities filters use, resolved from the filtered models as the planner
/// joins, with their model and column expression.
fn filter_nodes(
    model: &Model,
    filters: &[Filter],
    models: &BTreeSet<usize>,
    role: &str,
) -> Vec<LineageNode> {
    let mut out: Vec<LineageNode> = Vec::new();
    for f in filters {
        let Some(bound) = &f.bound else {
            continue;
        };
        for r in &bound.refs {
            let i = match r {
                FilterRef::Metric(m) => {
                    let name = match m
                        .metric
                        .as_ref()
                        .ok()
                        .and_then(|id| model.metric_by_id(*id))
                    {
                        Some(metric) => metric.name.clone(),
                        None => m.name.clone(),
                    };
                    out.push(LineageNode {
                        kind: LineageKind::Metric,
                        name,
                        role: Some(role.into()),
                        detail: Some(format!("grouped by {}", m.group_by.join(", "))),
                        owners: vec![],
                        children: vec![],
                    });
                    continue;
                }
                FilterRef::Item(Ok(i)) => i,
                FilterRef::Item(Err(_)) => continue,
            };
            let (Some((links, element)), Some(path)) = (i.element(), i.path()) else {
                continue;
            };
            let name = crate::model::join_path(links, element);
            let mut resolved: Vec<String> = Vec::new();
            let mut kind = LineageKind::Dimension;
            for &mi in models {
                if let Ok(t) = crate::validate::resolve_element(model, mi, path) {
                    let sm = &model.semantic_models[t];
                    let (dim, ent) = (
                        model.dimension_of(t, path.element),
                        model.entity_of(t, path.element),
                    );
                    let (expr, k) = match (dim, ent) {
                        (Some((_, d)), _) => (d.expr.clone(), LineageKind::Dimension),
                        (None, Some((_, e))) => (e.expr.clone(), LineageKind::Entity),
                        (None, None) => continue,
                    };
                    kind = k;
                    let s = format!("{expr} on {} ({})", sm.name, relation_text(&sm.relation));
                    if !resolved.contains(&s) {
                        resolved.push(s);
                    }
                }
            }
            let node = LineageNode {
                kind,
                name,
                role: Some(role.into()),
                detail: (!resolved.is_empty()).then(|| resolved.join("; ")),
                owners: vec![],
                children: vec![],
            };
            if !out.contains(&node) {
                out.push(node);
            }
        }
    }
    out
}

fn downstream_nodes(model: &Model, name: &str, path: &mut Vec<String>) -> Vec<LineageNode> {
    let mut out = Vec::new();
    let mut users: Vec<(&Metric, Option<String>)> = Vec::new();
    let mut driven: Vec<&Metric> = Vec::new();
    for m in model.metrics.values() {
        for (i, label) in direct_inputs(m) {
            if i.name == name {
                users.push((m, label.or(Some("input".into()))));
            }
        }
        if m.drivers.iter().any(|d| d == name) {
            driven.push(m);
        }
    }
    users.sort_by(|a, b| (&a.0.name, &a.1).cmp(&(&b.0.name, &b.1)));
    driven.sort_by(|a, b| a.name.cmp(&b.name));
    for (m, role) in users {
        let mut node = LineageNode {
            kind: LineageKind::Metric,
            name: m.name.clone(),
            role: role.map(|r| format!("used as {r}")),
            detail: Some(format!("{} metric", m.type_name())),
            owners: owners_of(model, m),
            children: Vec::new(),
        };
        if path.contains(&m.name) {
            node.detail = Some("cycle".into());
        } else {
            path.push(m.name.clone());
            node.children = downstream_nodes(model, &m.name, path);
            path.pop();
        }
        out.push(node);
    }
    for m in driven {
        out.push(LineageNode {
            kind: LineageKind::Metric,
            name: m.name.clone(),
            role: Some("drives".into()),
            detail: Some(format!("{} metric", m.type_name())),
            owners: owners_of(model, m),
            children: Vec::new(),
        });
    }
    out
}

/// The lineage as an indented tree.
pub fn render_lineage_text(l: &Lineage) -> String {
    let mut out = String::new();
    out.push_str(&format!("{}\n", node_line(&l.upstream)));
    if !l.drivers.is_empty() {
        out.push_str(&format!("driven by: {}\n", l.drivers.join(", ")));
    }
    out.push_str("upstream:\n");
    render_children(&l.upstream.children, "  ", &mut out);
    out.push_str("downstream:\n");
    if l.downstream.is_empty() {
        out.push_str("  (nothing uses this metric)\n");
    }
    render_children(&l.downstream, "  ", &mut out);
    out.push_str("owners:\n");
    if l.owners.is_empty() {
        out.push_str("  (none)\n");
    }
    for o in &l.owners {
        out.push_str(&format!(
            "  {}: {} {} ({})\n",
            o.metric, o.role, o.owner, o.kind
        ));
    }
    out
}

fn node_line(n: &LineageNode) -> String {
    let mut s = String::new();
    if let Some(r) = &n.role {
        s.push_str(&format!("[{r}] "));
    }
    s.push_str(&format!("{} {}", n.kind.name(), n.name));
    if let Some(d) = &n.detail {
        s.push_str(&format!(": {d}"));
    }
    if !n.owners.is_empty() {
        let o: Vec<String> = n
            .owners
            .iter()
            .map(|o| format!("{} {}", o.role, o.owner))
            .collect();
        s.push_str(&format!(" (owners: {})", o.join(", ")));
    }
    s
}

fn render_children(children: &[LineageNode], indent: &str, out: &mut String) {
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        out.push_str(&format!(
            "{indent}{}{}\n",
            if last { "└── " } else { "├── " },
            node_line(c)
        ));
        let next = format!("{indent}{}", if last { "    " } else { "│   " });
        render_children(&c.children, &next, out);
    }
}

/// The lineage as JSON.
pub fn lineage_to_json(l: &Lineage) -> serde_json::Value {
    serde_json::to_value(l).expect("lineage serialises")
}
