//! Metric trees: the structure (`build`), values and attribution (`evaluate`), and renderings
//! (`render`: text, JSON, Mermaid; `picture`: a laid-out SVG in a self-contained HTML page).
//!
//! A metric's children are its formula inputs (a ratio's numerator and denominator, a derived
//! metric's inputs: exact arithmetic edges) and its `drivers:` (influence edges: co-movement, not
//! causation). Cycles cannot occur: resolution rejects them. A child with several parents
//! appears under each; in a rendering it is expanded the first time and referenced afterwards.
//! No I/O here: the caller supplies the values of each metric in the two periods.

pub mod attribution;
pub mod formula;
pub mod picture;
pub mod render;

use crate::model::{AggKind, Metric, MetricKind, Model};
use attribution::Method;
use formula::{Arith, Shape};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The kind of an edge from a metric to a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// An input of the metric's formula: its contribution adds up to the parent's change.
    Formula,
    /// A `drivers:` entry: influence, shown as co-movement, never as a share of the change.
    Influence,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edge {
    pub child: String,
    pub kind: EdgeKind,
    /// `numerator`, `denominator`, the input's name in a derived formula, or `driver`.
    pub role: String,
}

/// Every metric's children, in the model's order of metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MetricTree {
    pub children: IndexMap<String, Vec<Edge>>,
}

/// The children of every metric: formula inputs first (in formula order), then drivers.
pub fn build(model: &Model) -> MetricTree {
    let mut children = IndexMap::new();
    for (name, m) in &model.metrics {
        let mut edges: Vec<Edge> = Vec::new();
        let mut push = |child: &str, kind: EdgeKind, role: String| {
            if model.metrics.contains_key(child)
                && !edges.iter().any(|e| e.child == child && e.kind == kind)
            {
                edges.push(Edge {
                    child: child.to_string(),
                    kind,
                    role,
                });
            }
        };
        match &m.kind {
            MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                push(&numerator.name, EdgeKind::Formula, "numerator".into());
                push(&denominator.name, EdgeKind::Formula, "denominator".into());
            }
            MetricKind::Derived { inputs, .. } => {
                for i in inputs {
                    push(&i.name, EdgeKind::Formula, i.output_name().to_string());
                }
            }
            _ => {}
        }
        for d in &m.drivers {
            push(d, EdgeKind::Influence, "driver".into());
        }
        children.insert(name.clone(), edges);
    }
    MetricTree { children }
}

impl MetricTree {
    pub fn edges(&self, metric: &str) -> &[Edge] {
        self.children.get(metric).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Metrics that are nobody's child and have children: the tops of the forest.
    pub fn roots(&self) -> Vec<String> {
        let has_parent: HashSet<&str> = self
            .children
            .values()
            .flatten()
            .map(|e| e.child.as_str())
            .collect();
        self.children
            .iter()
            .filter(|(n, e)| !e.is_empty() && !has_parent.contains(n.as_str()))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Every metric reachable from `roots`, each once, roots first (breadth first).
    pub fn reachable(&self, roots: &[String]) -> Vec<String> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        let mut queue: std::collections::VecDeque<String> = roots.iter().cloned().collect();
        while let Some(m) = queue.pop_front() {
            if !seen.insert(m.clone()) {
                continue;
            }
            queue.extend(self.edges(&m).iter().map(|e| e.child.clone()));
            out.push(m);
        }
        out
    }
}

/// A metric's values in the comparison period (`base`) and the current one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Values {
    pub base: Option<f64>,
    pub current: Option<f64>,
}

impl Values {
    pub fn change(&self) -> Option<f64> {
        Some(self.current? - self.base?)
    }
    pub fn change_pct(&self) -> Option<f64> {
        let b = self.base?;
        (b != 0.0).then(|| self.change().map(|c| c / b.abs()))?
    }
}

/// Target and status of a metric in the current period, supplied by the caller (`tally check`'s
/// evaluation). Status names are check's: on_track, at_risk, off_track, no_target, no_data,
/// immature.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Standing {
    pub target: Option<f64>,
    pub status: Option<String>,
    pub direction: Option<String>,
}

/// How much of a metric's change one child explains.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    pub child: String,
    pub role: String,
    pub value: f64,
    /// The contribution as a share of the parent's change (None when the change is 0).
    pub share: Option<f64>,
}

/// A metric's change split among its formula inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribution {
    pub method: Method,
    pub contributions: Vec<Contribution>,
    /// Why the method was chosen or what to keep in mind (fallbacks, filtered inputs).
    pub note: Option<String>,
}

/// A driver's move next to its parent's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoMovement {
    pub driver: String,
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    /// `with` (same sign as the parent's change), `against`, or `flat`; None without values.
    pub moved: Option<&'static str>,
    pub label: &'static str,
}

/// Everything known about one metric in a tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeFacts {
    pub metric: String,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub accountable: Option<String>,
    pub responsible: Vec<String>,
    pub values: Values,
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    #[serde(flatten)]
    pub standing: Standing,
    /// The worst status of the metric and everything under it.
    pub rolled_up_status: Option<String>,
    pub attribution: Option<Attribution>,
    pub drivers: Vec<CoMovement>,
}

/// Every metric's facts, in the order of the tree.
pub type Facts = IndexMap<String, NodeFacts>;

/// How bad a status is, for the rolled-up status (higher is worse); None: not a judgement.
pub fn status_rank(s: &str) -> Option<u8> {
    match s {
        "on_track" => Some(1),
        "at_risk" => Some(2),
        "off_track" => Some(3),
        _ => None,
    }
}

const CO_MOVEMENT: &str = "co-movement, not causation";

/// Values, attribution and co-movement of every metric in `metrics`.
pub fn evaluate(
    model: &Model,
    tree: &MetricTree,
    metrics: &[String],
    values: &BTreeMap<String, Values>,
    standing: &BTreeMap<String, Standing>,
) -> IndexMap<String, NodeFacts> {
    let mut out = IndexMap::new();
    for name in metrics {
        let Some(m) = model.metrics.get(name) else {
            continue;
        };
        let v = values.get(name).copied().unwrap_or_default();
        let drivers = tree
            .edges(name)
            .iter()
            .filter(|e| e.kind == EdgeKind::Influence)
            .map(|e| {
                co_movement(
                    &e.child,
                    v,
                    values.get(&e.child).copied().unwrap_or_default(),
                )
            })
            .collect();
        out.insert(
            name.clone(),
            NodeFacts {
                metric: name.clone(),
                label: m.label.clone(),
                kind: m.type_name(),
                accountable: m.owners.accountable.clone(),
                responsible: m.owners.responsible.clone(),
                values: v,
                change: v.change(),
                change_pct: v.change_pct(),
                standing: standing.get(name).cloned().unwrap_or_default(),
                rolled_up_status: None,
                attribution: attribute(model, m, tree, values),
                drivers,
            },
        );
    }
    roll_up(tree, &mut out);
    out
}

fn co_movement(driver: &str, parent: Values, child: Values) -> CoMovement {
    let moved = match (parent.change(), child.change()) {
        (Some(p), Some(c)) if p == 0.0 || c == 0.0 => Some("flat"),
        (Some(p), Some(c)) if (p > 0.0) == (c > 0.0) => Some("with"),
        (Some(_), Some(_)) => Some("against"),
        _ => None,
    };
    CoMovement {
        driver: driver.to_string(),
        change: child.change(),
        change_pct: child.change_pct(),
        moved,
        label: CO_MOVEMENT,
    }
}

/// The worst status of each metric and its descendants (formula and driver edges alike).
fn roll_up(tree: &MetricTree, facts: &mut IndexMap<String, NodeFacts>) {
    fn worst(
        m: &str,
        tree: &MetricTree,
        facts: &IndexMap<String, NodeFacts>,
        memo: &mut BTreeMap<String, Option<String>>,
    ) -> Option<String> {
        if let Some(w) = memo.get(m) {
            return w.clone();
        }
        let mut best: Option<String> = facts
            .get(m)
            .and_then(|f| f.standing.status.clone())
            .filter(|s| status_rank(s).is_some());
        for e in tree.edges(m) {
            if let Some(s) = worst(&e.child, tree, facts, memo) {
                if status_rank(&s) > best.as_deref().and_then(status_rank) {
                    best = Some(s);
                }
            }
        }
        memo.insert(m.to_string(), best.clone());
        best
    }
    let mut memo = BTreeMap::new();
    let names: Vec<String> = facts.keys().cloned().collect();
    for n in names {
        let w = worst(&n, tree, facts, &mut memo);
        if let Some(f) = facts.get_mut(&n) {
            f.rolled_up_status = w;
        }
    }
}

/// Whether the metric is a median or percentile (no exact decomposition exists).
fn percentile_of(model: &Model, m: &Metric) -> Option<f64> {
    match &m.kind {
        MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
            match model.measure(r).agg {
                AggKind::Percentile { p, .. } => Some(p),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The formula of a ratio or derived metric over its inputs, with the inputs' metric names.
fn formula_of(m: &Metric) -> Option<(Option<Arith>, Vec<String>, Vec<String>, bool)> {
    match &m.kind {
        MetricKind::Ratio {
            numerator,
            denominator,
        } => {
            let arith = Arith::Div(Box::new(Arith::Var(0)), Box::new(Arith::Var(1)));
            let adjusted = [numerator, denominator].iter().any(|i| {
                !i.filters.is_empty() || i.offset_window.is_some() || i.offset_to_grain.is_some()
            });
            Some((
                Some(arith),
                vec![numerator.name.clone(), denominator.name.clone()],
                vec!["numerator".into(), "denominator".into()],
                adjusted || !m.filters.is_empty(),
            ))
        }
        MetricKind::Derived { expr, inputs } => {
            let names: Vec<String> = inputs.iter().map(|i| i.output_name().to_string()).collect();
            let arith = expr
                .parsed
                .as_ref()
                .ok()
                .and_then(|f| formula::parse(f, &names));
            let adjusted = inputs.iter().any(|i| {
                !i.filters.is_empty() || i.offset_window.is_some() || i.offset_to_grain.is_some()
            });
            Some((
                arith,
                inputs.iter().map(|i| i.name.clone()).collect(),
                names,
                adjusted || !m.filters.is_empty(),
            ))
        }
        _ => None,
    }
}

/// Split a metric's change among its formula inputs; None for metrics without a formula.
fn attribute(
    model: &Model,
    m: &Metric,
    tree: &MetricTree,
    values: &BTreeMap<String, Values>,
) -> Option<Attribution> {
    if let Some(p) = percentile_of(model, m) {
        let what = if p == 0.5 {
            "a median".to_string()
        } else {
            format!("percentile {p}")
        };
        return Some(Attribution {
            method: Method::NonDecomposable,
            contributions: Vec::new(),
            note: Some(format!(
                "{what} has no exact decomposition; compare the slices' changes, or use the average as a decomposable companion"
            )),
        });
    }
    let (arith, inputs, roles, adjusted) = formula_of(m)?;
    let _ = tree;
    let non = |note: String| Attribution {
        method: Method::NonDecomposable,
        contributions: Vec::new(),
        note: Some(note),
    };
    let Some(arith) = arith else {
        return Some(non(
            "the formula is not plain arithmetic over its inputs (+ - * /, NULLIF, COALESCE, CAST)"
                .into(),
        ));
    };
    if adjusted {
        return Some(non(
            "an input carries its own filter or time offset, or the metric filters its inputs: the inputs' own values do not make up this metric".into(),
        ));
    }
    let v: Vec<Values> = inputs
        .iter()
        .map(|n| values.get(n).copied().unwrap_or_default())
        .collect();
    let (Some(x0), Some(x1)) = (
        v.iter().map(|v| v.base).collect::<Option<Vec<f64>>>(),
        v.iter().map(|v| v.current).collect::<Option<Vec<f64>>>(),
    ) else {
        return Some(non("an input has no value in one of the periods".into()));
    };
    let (Some(p0), Some(p1)) = (arith.eval(&x0), arith.eval(&x1)) else {
        return Some(non(
            "the formula has no value in one of the periods (NULL or division by zero)".into(),
        ));
    };
    let (method, contributions, mut note) = split(&arith, inputs.len(), &x0, &x1);
    let Some(contributions) = contributions else {
        return Some(non(note.unwrap_or_default()));
    };
    let own = values.get(&m.name).copied().unwrap_or_default();
    let mismatch =
        |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() > 1e-9 * b.abs().max(1.0));
    if mismatch(own.base, p0) || mismatch(own.current, p1) {
        note = Some(format!(
            "the formula over the inputs' values gives {p0} -> {p1}, not the metric's own values; the contributions add up to that change"
        ));
    }
    let total = p1 - p0;
    Some(Attribution {
        method,
        contributions: inputs
            .iter()
            .zip(roles)
            .zip(contributions)
            .map(|((child, role), value)| Contribution {
                child: child.clone(),
                role,
                value,
                share: (total != 0.0).then(|| value / total),
            })
            .collect(),
        note,
    })
}

/// The method for a formula's shape, with the fallback from LMDI to Shapley.
fn split(
    arith: &Arith,
    n: usize,
    x0: &[f64],
    x1: &[f64],
) -> (Method, Option<Vec<f64>>, Option<String>) {
    let f = |x: &[f64]| arith.eval(x);
    let shapley = |why: Option<String>| {
        match attribution::shapley(&f, x0, x1) {
        Some(c) => (Method::Shapley, Some(c), why),
        None => (
            Method::NonDecomposable,
            None,
            Some(format!(
                "{}no exact split: the formula has no value at some mix of the two periods, or more than {} inputs",
                why.map(|w| format!("{w}; ")).unwrap_or_default(),
                attribution::MAX_SHAPLEY_INPUTS
            )),
        ),
    }
    };
    match arith.shape(n) {
        Shape::Linear(c) => (Method::Sum, Some(attribution::linear(&c, x0, x1)), None),
        Shape::Monomial {
            constant,
            exponents,
        } => match attribution::lmdi(constant, &exponents, x0, x1) {
            Some(c) => (Method::Lmdi, Some(c), None),
            None => shapley(Some(
                "LMDI needs positive values in both periods; Shapley values used instead".into(),
            )),
        },
        Shape::Other => shapley(None),
    }
}

/// One node of a rendered tree: a metric under its parent by one edge. A metric already shown
/// elsewhere in the rendering is a reference (`repeat`) without children.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisplayNode {
    pub metric: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The formula contribution of this node to its parent's change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contribution: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeat: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<DisplayNode>,
}

/// The tree under each root, each metric expanded once (depth first, in edge order).
pub fn display(
    tree: &MetricTree,
    roots: &[String],
    facts: &IndexMap<String, NodeFacts>,
) -> Vec<DisplayNode> {
    // Each metric is expanded where it is closest to a root (so a root's direct drivers are not
    // buried under a sibling that also reads them), and referenced everywhere else.
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<(String, usize)> =
        roots.iter().map(|r| (r.clone(), 0)).collect();
    while let Some((m, d)) = queue.pop_front() {
        if depth.contains_key(&m) {
            continue;
        }
        queue.extend(tree.edges(&m).iter().map(|e| (e.child.clone(), d + 1)));
        depth.insert(m, d);
    }
    let mut shown = HashSet::new();
    let mut ctx = Expand {
        tree,
        facts,
        depth: &depth,
        shown: &mut shown,
    };
    roots.iter().map(|r| ctx.expand(r, None, 0)).collect()
}

struct Expand<'a> {
    tree: &'a MetricTree,
    facts: &'a IndexMap<String, NodeFacts>,
    depth: &'a BTreeMap<String, usize>,
    shown: &'a mut HashSet<String>,
}

impl Expand<'_> {
    fn expand(&mut self, metric: &str, via: Option<&Edge>, at: usize) -> DisplayNode {
        let home = self.depth.get(metric).is_none_or(|d| *d == at);
        let repeat = !home || !self.shown.insert(metric.to_string());
        let (tree, facts) = (self.tree, self.facts);
        let mut children = Vec::new();
        if !repeat {
            for e in tree.edges(metric) {
                let mut node = self.expand(&e.child, Some(e), at + 1);
                if e.kind == EdgeKind::Formula {
                    node.contribution = facts
                        .get(metric)
                        .and_then(|f| f.attribution.as_ref())
                        .and_then(|a| {
                            a.contributions
                                .iter()
                                .find(|c| c.child == e.child && c.role == e.role)
                        })
                        .map(|c| c.value);
                }
                children.push(node);
            }
        }
        DisplayNode {
            metric: metric.to_string(),
            edge: via.map(|e| e.kind),
            role: via.map(|e| e.role.clone()),
            contribution: None,
            repeat,
            children,
        }
    }
}
