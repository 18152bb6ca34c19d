//! Semantic diff of two models: what changed between a base version of a project (a git ref) and
//! the working tree, which metrics that affects, and who must know.
//!
//! [`diff_models`] is pure: it compares two resolved [`Model`]s.
//! - Metrics are added, removed, renamed (a removed and an added metric with the same definition)
//!   or changed; a change lists each field that differs (type, measure, aggregation, filter,
//!   formula, inputs, grain, owners, ...) and whether it can move the metric's values.
//! - Semantic models, project variables and the project's macro files are compared too; a change
//!   there affects the metrics that read the changed measure, dimension (in a filter or as the
//!   aggregation time) or model.
//! - Affected metrics are propagated downstream to ratio and derived metrics that use them
//!   (values may change) and up the `drivers` trees (informational).
//! - Everyone accountable, consulted or informed on an affected metric is listed.
//!
//! [`render_markdown`] writes a pull-request comment; the [`ModelDiff`] itself serialises to JSON.

use crate::expr;
use crate::model::{
    AggKind, Filter, MeasureRef, Metric, MetricInput, MetricKind, Model, Relation, SemanticModel,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What happened to an object.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Renamed,
    Changed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One field that differs. `None` means the field is absent on that side.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The change can move the values of a metric (a definition change, not documentation).
    pub affects_values: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricChange {
    pub name: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    pub metric_type: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SemanticModelChange {
    pub name: String,
    pub kind: ChangeKind,
    pub changes: Vec<FieldChange>,
}

/// A metric whose definition or values may have changed, or that sits above one in a driver tree.
#[derive(Clone, Debug, Serialize)]
pub struct AffectedMetric {
    pub name: String,
    /// Its values may move (its definition, an input or its source changed). `false`: only
    /// documentation, owners, or a driver changed.
    pub values_may_change: bool,
    /// The metric exists only in the base.
    pub removed: bool,
    pub reasons: Vec<String>,
    pub accountable: Vec<String>,
    pub consulted: Vec<String>,
    pub informed: Vec<String>,
}

/// A person or team who must know, with the affected metrics by role.
#[derive(Clone, Debug, Serialize)]
pub struct Notify {
    pub name: String,
    /// `person`, `team`, or `unknown` (not in the roster).
    pub kind: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// A team's members.
    pub members: Vec<String>,
    pub accountable: Vec<String>,
    pub consulted: Vec<String>,
    pub informed: Vec<String>,
}

/// The semantic difference between two models.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelDiff {
    pub metrics: Vec<MetricChange>,
    pub semantic_models: Vec<SemanticModelChange>,
    /// Project variables (`vars:` in tally.yml).
    pub vars: Vec<FieldChange>,
    /// The project's macro files (`templates/*.sql`).
    pub macros: Vec<FieldChange>,
    pub affected: Vec<AffectedMetric>,
    pub notify: Vec<Notify>,
}

impl ModelDiff {
    /// Nothing changed that tally can see.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.semantic_models.is_empty()
            && self.vars.is_empty()
            && self.macros.is_empty()
    }

    fn count(&self, kind: ChangeKind) -> usize {
        self.metrics.iter().filter(|m| m.kind == kind).count()
    }
}

// ----- fields ------------------------------------------------------------------------------------

struct Field {
    name: String,
    value: String,
    affects: bool,
}

fn field(name: impl Into<String>, value: impl Into<String>, affects: bool) -> Field {
    Field {
        name: name.into(),
        value: value.into(),
        affects,
    }
}

fn agg_text(agg: &AggKind, expr: &str) -> String {
    match agg {
        AggKind::Sum => format!("sum({expr})"),
        AggKind::Min => format!("min({expr})"),
        AggKind::Max => format!("max({expr})"),
        AggKind::CountDistinct => format!("count_distinct({expr})"),
        AggKind::Average => format!("average({expr})"),
        AggKind::Percentile {
            p,
            discrete,
            approximate,
        } => {
            let mut s = format!("percentile({expr}, {p})");
            if *discrete {
                s.push_str(" discrete");
            }
            if *approximate {
                s.push_str(" approximate");
            }
            s
        }
    }
}

fn filters_text(filters: &[&Filter]) -> String {
    filters
        .iter()
        .map(|f| f.text.trim().to_string())
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn input_text(i: &MetricInput, rename: &dyn Fn(&str) -> String) -> String {
    let mut s = rename(&i.name);
    if let Some(a) = &i.alias {
        s.push_str(&format!(" as {a}"));
    }
    if !i.filters.is_empty() {
        s.push_str(&format!(
            " where {}",
            filters_text(&i.filters.iter().collect::<Vec<_>>())
        ));
    }
    if let Some(w) = &i.offset_window {
        s.push_str(&format!(" offset {w}"));
    }
    if let Some(g) = &i.offset_to_grain {
        s.push_str(&format!(" offset to {g}"));
    }
    s
}

/// The measure fields of a simple, cumulative or conversion metric, under `prefix`.
fn measure_fields(model: &Model, r: &MeasureRef, prefix: &str, out: &mut Vec<Field>) {
    let sm = &model.semantic_models[r.model];
    let m = model.measure(r);
    out.push(field(format!("{prefix}measure"), r.name.clone(), true));
    let mut agg = agg_text(&m.agg, &m.expr);
    if let Some(n) = &m.non_additive {
        agg.push_str(&format!(
            " non-additive over {} ({:?}{})",
            n.dimension,
            n.window_choice,
            if n.window_groupings.is_empty() {
                String::new()
            } else {
                format!(" by {}", n.window_groupings.join(", "))
            }
        ));
    }
    out.push(field(format!("{prefix}aggregation"), agg, true));
    out.push(field(
        format!("{prefix}agg_time_dimension"),
        m.agg_time_dimension.clone(),
        true,
    ));
    out.push(field(
        format!("{prefix}semantic_model"),
        sm.name.clone(),
        true,
    ));
    let mut opts = Vec::new();
    if let Some(f) = r.fill_nulls_with {
        opts.push(format!("fill_nulls_with {f}"));
    }
    if r.join_to_timespine {
        opts.push("join_to_timespine".to_string());
    }
    if !opts.is_empty() {
        out.push(field(format!("{prefix}options"), opts.join(", "), true));
    }
}

/// Every comparable field of a metric. `rename` maps base metric names to head names.
fn metric_fields(model: &Model, m: &Metric, rename: &dyn Fn(&str) -> String) -> Vec<Field> {
    let mut out = vec![field("type", m.type_name(), true)];
    let mut filters: Vec<&Filter> = m.filters.iter().collect();
    match &m.kind {
        MetricKind::Simple(r) => {
            measure_fields(model, r, "", &mut out);
            filters.extend(r.filters.iter());
        }
        MetricKind::Ratio {
            numerator,
            denominator,
        } => {
            out.push(field("numerator", input_text(numerator, rename), true));
            out.push(field("denominator", input_text(denominator, rename), true));
        }
        MetricKind::Derived { expr, inputs } => {
            out.push(field("formula", expr.text.trim(), true));
            out.push(field(
                "inputs",
                inputs
                    .iter()
                    .map(|i| input_text(i, rename))
                    .collect::<Vec<_>>()
                    .join(", "),
                true,
            ));
        }
        MetricKind::Cumulative {
            measure,
            window,
            grain_to_date,
            period_agg,
        } => {
            measure_fields(model, measure, "", &mut out);
            filters.extend(measure.filters.iter());
            let w = match (window, grain_to_date) {
                (Some(w), _) => format!("window {w}"),
                (None, Some(g)) => format!("grain_to_date {g}"),
                (None, None) => "all time".to_string(),
            };
            out.push(field("window", w, true));
            out.push(field(
                "period_agg",
                format!("{period_agg:?}").to_lowercase(),
                true,
            ));
        }
        MetricKind::Conversion {
            base,
            conversion,
            entity,
            calculation,
            window,
            constant_properties,
        } => {
            measure_fields(model, base, "base ", &mut out);
            measure_fields(model, conversion, "conversion ", &mut out);
            filters.extend(base.filters.iter());
            filters.extend(conversion.filters.iter());
            let mut s = format!("entity {entity}, {calculation:?}");
            if let Some(w) = window {
                s.push_str(&format!(", window {w}"));
            }
            for p in constant_properties {
                s.push_str(&format!(
                    ", {} = {}",
                    p.base_property, p.conversion_property
                ));
            }
            out.push(field("conversion", s, true));
        }
    }
    if !filters.is_empty() {
        out.push(field("filter", filters_text(&filters), true));
    }
    if let Some(g) = &m.time_granularity {
        out.push(field("grain", g.to_string(), true));
    }
    let o = &m.owners;
    if let Some(a) = &o.accountable {
        out.push(field("accountable", a.clone(), false));
    }
    for (name, list) in [
        ("responsible", &o.responsible),
        ("consulted", &o.consulted),
        ("informed", &o.informed),
    ] {
        if !list.is_empty() {
            out.push(field(name, list.join(", "), false));
        }
    }
    // Direction, maturity, targets and alerts: reported, never a value change.
    for (name, text) in crate::targets::describe::fields(model, &m.name) {
        out.push(field(name, text, false));
    }
    if !m.drivers.is_empty() {
        out.push(field(
            "drivers",
            m.drivers
                .iter()
                .map(|d| rename(d))
                .collect::<Vec<_>>()
                .join(", "),
            false,
        ));
    }
    if let Some(l) = &m.label {
        out.push(field("label", l.clone(), false));
    }
    if let Some(d) = &m.description {
        out.push(field("description", d.trim(), false));
    }
    if !m.tags.is_empty() {
        out.push(field("tags", m.tags.join(", "), false));
    }
    out
}

/// The definition of a metric apart from its name: equal definitions under different names are a
/// rename. The measure's name is left out (the newer dbt spec names a metric's measure after it).
fn definition(fields: &[Field]) -> String {
    fields
        .iter()
        .filter(|f| f.affects && f.name != "measure")
        .map(|f| format!("{}={}", f.name, f.value))
        .collect::<Vec<_>>()
        .join("\n")
}

fn compare(before: &[Field], after: &[Field]) -> Vec<FieldChange> {
    let mut names: Vec<&str> = after.iter().map(|f| f.name.as_str()).collect();
    for f in before {
        if !names.contains(&f.name.as_str()) {
            names.push(&f.name);
        }
    }
    let mut out = Vec::new();
    for n in names {
        let b = before.iter().find(|f| f.name == n);
        let a = after.iter().find(|f| f.name == n);
        if b.map(|f| &f.value) != a.map(|f| &f.value) {
            out.push(FieldChange {
                field: n.to_string(),
                before: b.map(|f| f.value.clone()),
                after: a.map(|f| f.value.clone()),
                affects_values: a.or(b).is_some_and(|f| f.affects),
            });
        }
    }
    out
}

/// What a semantic-model field is about, to find the metrics it affects.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// The whole model (its relation, entities, defaults).
    Model,
    Measure(String),
    Dimension(String),
    /// Documentation only.
    Nothing,
}

fn model_fields(sm: &SemanticModel) -> Vec<(Field, Target)> {
    let mut out = Vec::new();
    let rel = match &sm.relation {
        Relation::Table(t) => format!("table {t}"),
        Relation::Query(q, _) => q.trim().to_string(),
    };
    out.push((field("relation", rel, true), Target::Model));
    if let Some(p) = sm.primary_entity_name() {
        out.push((field("primary entity", p, true), Target::Model));
    }
    if let Some(d) = &sm.default_agg_time_dimension {
        out.push((
            field("default agg_time_dimension", d.clone(), true),
            Target::Model,
        ));
    }
    for e in &sm.entities {
        out.push((
            field(
                format!("entity `{}`", e.name),
                format!("{:?}: {}", e.kind, e.expr).to_lowercase(),
                true,
            ),
            Target::Model,
        ));
    }
    for d in &sm.dimensions {
        let kind = match d.time_grain {
            Some(g) => format!("time ({g})"),
            None => "categorical".to_string(),
        };
        let mut v = format!("{kind}: {}", d.expr.trim());
        if let Some(val) = d.validity {
            v.push_str(&format!(" (validity {val:?})").to_lowercase());
        }
        out.push((
            field(format!("dimension `{}`", d.name), v, true),
            Target::Dimension(d.name.clone()),
        ));
    }
    for m in &sm.measures {
        let mut v = format!(
            "{} by {}",
            agg_text(&m.agg, m.expr.trim()),
            m.agg_time_dimension
        );
        if let Some(n) = &m.non_additive {
            v.push_str(&format!(", non-additive over {}", n.dimension));
        }
        out.push((
            field(format!("measure `{}`", m.name), v, true),
            Target::Measure(m.name.clone()),
        ));
    }
    if let Some(l) = &sm.label {
        out.push((field("label", l.clone(), false), Target::Nothing));
    }
    if let Some(d) = &sm.description {
        out.push((field("description", d.trim(), false), Target::Nothing));
    }
    out
}

// ----- dependencies -------------------------------------------------------------------------------

/// The measures a metric reads directly: (semantic model, measure, agg time dimension).
fn metric_measures<'a>(model: &'a Model, m: &'a Metric) -> Vec<(&'a str, &'a str, &'a str)> {
    let refs: Vec<&MeasureRef> = match &m.kind {
        MetricKind::Simple(r) => vec![r],
        MetricKind::Cumulative { measure, .. } => vec![measure],
        MetricKind::Conversion {
            base, conversion, ..
        } => vec![base, conversion],
        _ => vec![],
    };
    refs.into_iter()
        .map(|r| {
            let sm = &model.semantic_models[r.model];
            let ms = model.measure(r);
            (
                sm.name.as_str(),
                ms.name.as_str(),
                ms.agg_time_dimension.as_str(),
            )
        })
        .collect()
}

/// Every filter a metric applies itself (metric, input and measure filters).
fn metric_filters(m: &Metric) -> Vec<&Filter> {
    let mut out: Vec<&Filter> = m.filters.iter().collect();
    for i in m.input_metrics() {
        out.extend(i.filters.iter());
    }
    match &m.kind {
        MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
            out.extend(r.filters.iter())
        }
        MetricKind::Conversion {
            base, conversion, ..
        } => {
            out.extend(base.filters.iter());
            out.extend(conversion.filters.iter());
        }
        _ => {}
    }
    out
}

/// The element names (entities and dimensions) a metric's filters refer to.
fn filter_elements(m: &Metric) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in metric_filters(m) {
        match expr::parse_filter(&f.text, f.span) {
            Ok(t) => {
                for r in t.references() {
                    out.extend(r.entity_path.iter().cloned());
                    out.extend(expr::split_dunder(&r.name));
                }
            }
            Err(_) => out.extend(
                f.text
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .flat_map(expr::split_dunder)
                    .filter(|w| !w.is_empty()),
            ),
        }
    }
    out
}

/// Whether a change to `target` of semantic model `sm` can move metric `m`'s values.
fn depends_on(model: &Model, m: &Metric, sm: &str, target: &Target) -> bool {
    let measures = metric_measures(model, m);
    match target {
        Target::Nothing => false,
        Target::Model => measures.iter().any(|(s, _, _)| *s == sm),
        Target::Measure(name) => measures.iter().any(|(s, n, _)| *s == sm && n == name),
        Target::Dimension(name) => {
            measures.iter().any(|(s, _, atd)| *s == sm && atd == name)
                || filter_elements(m).contains(name)
        }
    }
}

/// Macro names defined in a macro file (`{% macro name(`).
fn macro_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("macro ") {
        let after = &rest[i + 6..];
        let name: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let before = &rest[..i];
        if !name.is_empty() && before.trim_end().ends_with(['%', '-']) {
            out.push(name);
        }
        rest = after;
    }
    out
}

/// All the SQL a semantic model carries: its relation and element expressions.
fn model_sql(sm: &SemanticModel) -> String {
    let mut s = match &sm.relation {
        Relation::Table(t) => t.clone(),
        Relation::Query(q, _) => q.clone(),
    };
    for e in &sm.entities {
        s.push('\n');
        s.push_str(&e.expr);
    }
    for d in &sm.dimensions {
        s.push('\n');
        s.push_str(&d.expr);
    }
    for m in &sm.measures {
        s.push('\n');
        s.push_str(&m.expr);
    }
    s
}

fn uses_var(sql: &str, var: &str) -> bool {
    let compact: String = sql.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains(&format!("var('{var}'")) || compact.contains(&format!("var(\"{var}\""))
}

// ----- the diff -----------------------------------------------------------------------------------

/// Compare a base model with a head model.
pub fn diff_models(base: &Model, head: &Model) -> ModelDiff {
    let no_rename = |n: &str| n.to_string();
    let mut diff = ModelDiff::default();
    // Metrics: added and removed, then renames among them, then changes.
    let removed: Vec<&Metric> = base
        .metrics
        .values()
        .filter(|m| !head.metrics.contains_key(&m.name))
        .collect();
    let added: Vec<&Metric> = head
        .metrics
        .values()
        .filter(|m| !base.metrics.contains_key(&m.name))
        .collect();
    let mut renames: BTreeMap<String, String> = BTreeMap::new(); // old -> new
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for r in &removed {
        let def = definition(&metric_fields(base, r, &no_rename));
        if let Some(a) = added.iter().find(|a| {
            !taken.contains(&a.name) && definition(&metric_fields(head, a, &no_rename)) == def
        }) {
            taken.insert(a.name.clone());
            renames.insert(r.name.clone(), a.name.clone());
        }
    }
    let rename = |n: &str| renames.get(n).cloned().unwrap_or_else(|| n.to_string());
    for m in head.metrics.values() {
        let head_fields = metric_fields(head, m, &no_rename);
        if let Some(b) = base.metrics.get(&m.name) {
            let changes = compare(&metric_fields(base, b, &rename), &head_fields);
            if !changes.is_empty() {
                diff.metrics.push(MetricChange {
                    name: m.name.clone(),
                    kind: ChangeKind::Changed,
                    renamed_from: None,
                    metric_type: m.type_name().into(),
                    changes,
                });
            }
        } else if let Some((old, _)) = renames.iter().find(|(_, new)| **new == m.name) {
            let b = &base.metrics[old];
            diff.metrics.push(MetricChange {
                name: m.name.clone(),
                kind: ChangeKind::Renamed,
                renamed_from: Some(old.clone()),
                metric_type: m.type_name().into(),
                changes: compare(&metric_fields(base, b, &rename), &head_fields)
                    .into_iter()
                    .filter(|c| c.field != "measure")
                    .collect(),
            });
        } else {
            diff.metrics.push(MetricChange {
                name: m.name.clone(),
                kind: ChangeKind::Added,
                renamed_from: None,
                metric_type: m.type_name().into(),
                changes: Vec::new(),
            });
        }
    }
    for m in &removed {
        if !renames.contains_key(&m.name) {
            diff.metrics.push(MetricChange {
                name: m.name.clone(),
                kind: ChangeKind::Removed,
                renamed_from: None,
                metric_type: m.type_name().into(),
                changes: Vec::new(),
            });
        }
    }
    // Semantic models, variables and macros. `model_targets` collects (model, target, reason).
    let mut model_targets: Vec<(String, Target, String)> = Vec::new();
    for sm in &head.semantic_models {
        let fields = model_fields(sm);
        match base.semantic_models.iter().find(|b| b.name == sm.name) {
            None => diff.semantic_models.push(SemanticModelChange {
                name: sm.name.clone(),
                kind: ChangeKind::Added,
                changes: Vec::new(),
            }),
            Some(b) => {
                let bfields = model_fields(b);
                let (bf, bt): (Vec<Field>, Vec<Target>) = bfields.into_iter().unzip();
                let (hf, ht): (Vec<Field>, Vec<Target>) = fields.into_iter().unzip();
                let changes = compare(&bf, &hf);
                for c in &changes {
                    let target = hf
                        .iter()
                        .position(|f| f.name == c.field)
                        .map(|i| ht[i].clone())
                        .or_else(|| {
                            bf.iter()
                                .position(|f| f.name == c.field)
                                .map(|i| bt[i].clone())
                        })
                        .unwrap_or(Target::Model);
                    model_targets.push((
                        sm.name.clone(),
                        target,
                        format!("semantic model `{}`: {} changed", sm.name, c.field),
                    ));
                }
                if !changes.is_empty() {
                    diff.semantic_models.push(SemanticModelChange {
                        name: sm.name.clone(),
                        kind: ChangeKind::Changed,
                        changes,
                    });
                }
            }
        }
    }
    for b in &base.semantic_models {
        if !head.semantic_models.iter().any(|h| h.name == b.name) {
            diff.semantic_models.push(SemanticModelChange {
                name: b.name.clone(),
                kind: ChangeKind::Removed,
                changes: Vec::new(),
            });
        }
    }
    let mut var_names: Vec<&String> = head.vars.keys().collect();
    var_names.extend(base.vars.keys().filter(|k| !head.vars.contains_key(*k)));
    for v in var_names {
        let b = base.vars.get(v).map(json_text);
        let a = head.vars.get(v).map(json_text);
        if a != b {
            diff.vars.push(FieldChange {
                field: v.clone(),
                before: b,
                after: a,
                affects_values: true,
            });
            for sm in &head.semantic_models {
                if uses_var(&model_sql(sm), v) {
                    model_targets.push((
                        sm.name.clone(),
                        Target::Model,
                        format!("variable `{v}` changed (read by `{}`)", sm.name),
                    ));
                }
            }
        }
    }
    let mut macro_files: Vec<&(String, String)> = head.macros.project_macros.iter().collect();
    macro_files.extend(
        base.macros
            .project_macros
            .iter()
            .filter(|(n, _)| !head.macros.project_macros.iter().any(|(h, _)| h == n)),
    );
    for (file, _) in macro_files {
        let b = base
            .macros
            .project_macros
            .iter()
            .find(|(n, _)| n == file)
            .map(|(_, t)| t.clone());
        let a = head
            .macros
            .project_macros
            .iter()
            .find(|(n, _)| n == file)
            .map(|(_, t)| t.clone());
        if a != b {
            let changed: BTreeSet<String> =
                changed_macros(b.as_deref().unwrap_or(""), a.as_deref().unwrap_or(""));
            for sm in &head.semantic_models {
                let sql = model_sql(sm);
                if let Some(mac) = changed.iter().find(|m| sql.contains(&format!("{m}("))) {
                    model_targets.push((
                        sm.name.clone(),
                        Target::Model,
                        format!("macro `{mac}` changed (used by `{}`)", sm.name),
                    ));
                }
            }
            diff.macros.push(FieldChange {
                field: format!("templates/{file}"),
                before: b,
                after: a,
                affects_values: true,
            });
        }
    }
    // Affected metrics.
    let mut affected: BTreeMap<String, AffectedMetric> = BTreeMap::new();
    fn mark(
        affected: &mut BTreeMap<String, AffectedMetric>,
        name: &str,
        reason: String,
        values: bool,
        removed: bool,
    ) {
        let e = affected
            .entry(name.to_string())
            .or_insert_with(|| AffectedMetric {
                name: name.to_string(),
                values_may_change: false,
                removed,
                reasons: Vec::new(),
                accountable: Vec::new(),
                consulted: Vec::new(),
                informed: Vec::new(),
            });
        e.values_may_change |= values;
        if !e.reasons.contains(&reason) {
            e.reasons.push(reason);
        }
    }
    for mc in &diff.metrics {
        match mc.kind {
            ChangeKind::Added => mark(&mut affected, &mc.name, "added".into(), true, false),
            ChangeKind::Removed => mark(&mut affected, &mc.name, "removed".into(), true, true),
            ChangeKind::Renamed => {
                let from = mc.renamed_from.clone().unwrap_or_default();
                mark(
                    &mut affected,
                    &mc.name,
                    format!("renamed from `{from}`"),
                    false,
                    false,
                );
                for c in &mc.changes {
                    mark(
                        &mut affected,
                        &mc.name,
                        format!("{} changed", c.field),
                        c.affects_values,
                        false,
                    );
                }
            }
            ChangeKind::Changed => {
                for c in &mc.changes {
                    mark(
                        &mut affected,
                        &mc.name,
                        format!("{} changed", c.field),
                        c.affects_values,
                        false,
                    );
                }
            }
        }
    }
    for (sm, target, reason) in &model_targets {
        for m in head.metrics.values() {
            if depends_on(head, m, sm, target) {
                mark(&mut affected, &m.name, reason.clone(), true, false);
            }
        }
    }
    // Downstream: ratio and derived metrics whose inputs may move.
    loop {
        let mut changed = false;
        for m in head.metrics.values() {
            for i in m.input_metrics() {
                let moved = affected.get(&i.name).is_some_and(|a| a.values_may_change);
                let reason = format!("input `{}` may change", i.name);
                let has = affected
                    .get(&m.name)
                    .is_some_and(|a| a.values_may_change && a.reasons.contains(&reason));
                if moved && !has {
                    mark(&mut affected, &m.name, reason, true, false);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Up the driver trees: a metric whose driver may move (or sits above one that does).
    let mut tree: BTreeSet<String> = affected
        .values()
        .filter(|a| a.values_may_change)
        .map(|a| a.name.clone())
        .collect();
    loop {
        let mut changed = false;
        for m in head.metrics.values() {
            for d in &m.drivers {
                if tree.contains(d) {
                    let reason = format!("driver `{d}` may move");
                    let has = affected
                        .get(&m.name)
                        .is_some_and(|a| a.reasons.contains(&reason));
                    if !has {
                        mark(&mut affected, &m.name, reason, false, false);
                        changed = true;
                    }
                    if tree.insert(m.name.clone()) {
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Owners: the head's, the base's for removed metrics, and both when the owners changed.
    for a in affected.values_mut() {
        let mut sources: Vec<&Metric> = Vec::new();
        if let Some(m) = head.metrics.get(&a.name) {
            sources.push(m);
        }
        let base_name = renames
            .iter()
            .find(|(_, n)| **n == a.name)
            .map(|(o, _)| o.clone())
            .unwrap_or_else(|| a.name.clone());
        if let Some(b) = base.metrics.get(&base_name) {
            let owners_changed = diff.metrics.iter().any(|c| {
                c.name == a.name
                    && c.changes.iter().any(|f| {
                        matches!(f.field.as_str(), "accountable" | "consulted" | "informed")
                    })
            });
            if sources.is_empty() || owners_changed {
                sources.push(b);
            }
        }
        for m in sources {
            let o = &m.owners;
            for (list, names) in [
                (
                    &mut a.accountable,
                    o.accountable.iter().cloned().collect::<Vec<_>>(),
                ),
                (&mut a.consulted, o.consulted.clone()),
                (&mut a.informed, o.informed.clone()),
            ] {
                for n in names {
                    if !list.contains(&n) {
                        list.push(n);
                    }
                }
            }
        }
    }
    // Who must know.
    let mut notify: BTreeMap<String, Notify> = BTreeMap::new();
    for a in affected.values() {
        for (role, names) in [(0, &a.accountable), (1, &a.consulted), (2, &a.informed)] {
            for n in names {
                let e = notify
                    .entry(n.clone())
                    .or_insert_with(|| roster_entry(head, base, n));
                let list = match role {
                    0 => &mut e.accountable,
                    1 => &mut e.consulted,
                    _ => &mut e.informed,
                };
                if !list.contains(&a.name) {
                    list.push(a.name.clone());
                }
            }
        }
    }
    diff.affected = affected.into_values().collect();
    diff.notify = notify.into_values().collect();
    diff
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The macros whose definitions differ between two macro files.
fn changed_macros(before: &str, after: &str) -> BTreeSet<String> {
    fn bodies(text: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in macro_names(text) {
            let start = text.find(&format!("macro {name}(")).unwrap_or(0);
            let end = text[start..]
                .find("endmacro")
                .map(|e| start + e)
                .unwrap_or(text.len());
            out.insert(name, text[start..end].to_string());
        }
        out
    }
    let (b, a) = (bodies(before), bodies(after));
    b.keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect()
}

fn roster_entry(head: &Model, base: &Model, name: &str) -> Notify {
    let person = head.people.get(name).or_else(|| base.people.get(name));
    let team = head.teams.get(name).or_else(|| base.teams.get(name));
    Notify {
        name: name.to_string(),
        kind: if person.is_some() {
            "person"
        } else if team.is_some() {
            "team"
        } else {
            "unknown"
        }
        .into(),
        full_name: person.and_then(|p| p.full_name.clone()),
        email: person.and_then(|p| p.email.clone()),
        members: team.map(|t| t.members.clone()).unwrap_or_default(),
        accountable: Vec::new(),
        consulted: Vec::new(),
        informed: Vec::new(),
    }
}

// ----- markdown -------------------------------------------------------------------------------------

/// Inline code, safe for values that contain backticks.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// Text for a table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn is_long(s: &Option<String>) -> bool {
    s.as_ref()
        .is_some_and(|s| s.contains('\n') || s.chars().count() > 60)
}

/// `field: before → after`, or a pointer to the details block for long values.
fn change_text(c: &FieldChange) -> String {
    if is_long(&c.before) || is_long(&c.after) {
        return format!("{} changed (below)", c.field);
    }
    match (&c.before, &c.after) {
        (Some(b), Some(a)) => format!("{}: {} → {}", c.field, code(b), code(a)),
        (None, Some(a)) => format!("{}: added {}", c.field, code(a)),
        (Some(b), None) => format!("{}: removed (was {})", c.field, code(b)),
        (None, None) => c.field.clone(),
    }
}

/// A line diff (longest common subsequence) with `context` unchanged lines around each change.
pub fn line_diff(before: &str, after: &str, context: usize) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near: Vec<bool> = (0..ops.len())
        .map(|k| {
            let lo = k.saturating_sub(context);
            let hi = (k + context + 1).min(ops.len());
            ops[lo..hi].iter().any(|(c, _)| *c != ' ')
        })
        .collect();
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near[k] {
            if skipped {
                out.push_str("  …\n");
                skipped = false;
            }
            out.push_str(&format!("{c} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}

fn details(title: &str, c: &FieldChange) -> String {
    let body = line_diff(
        c.before.as_deref().unwrap_or(""),
        c.after.as_deref().unwrap_or(""),
        2,
    );
    format!("<details><summary>{title}</summary>\n\n```diff\n{body}```\n\n</details>\n\n")
}

/// The diff as a pull-request comment: a summary line, tables of metric and semantic-model
/// changes, the affected metrics and who must know.
pub fn render_markdown(d: &ModelDiff, base_label: &str, head_label: &str) -> String {
    let mut out = format!("## tally diff: {} → {}\n\n", code(base_label), head_label);
    if d.is_empty() {
        out.push_str("No changes to metrics, semantic models, variables or macros.\n");
        return out;
    }
    let mut summary = Vec::new();
    for (k, word) in [
        (ChangeKind::Changed, "changed"),
        (ChangeKind::Added, "added"),
        (ChangeKind::Removed, "removed"),
        (ChangeKind::Renamed, "renamed"),
    ] {
        let n = d.count(k);
        if n > 0 {
            summary.push(format!(
                "{n} {}{word}",
                if summary.is_empty() {
                    if n == 1 {
                        "metric "
                    } else {
                        "metrics "
                    }
                } else {
                    ""
                }
            ));
        }
    }
    if !d.semantic_models.is_empty() {
        let n = d.semantic_models.len();
        summary.push(format!(
            "{n} semantic model{} changed",
            if n == 1 { "" } else { "s" }
        ));
    }
    let moving = d.affected.iter().filter(|a| a.values_may_change).count();
    summary.push(format!(
        "{moving} metric{} whose values may move, {} affected in all",
        if moving == 1 { "" } else { "s" },
        d.affected.len()
    ));
    out.push_str(&format!("**{}.**\n\n", summary.join(", ")));
    let mut long: Vec<String> = Vec::new();
    if !d.metrics.is_empty() {
        out.push_str(
            "### Metrics\n\n| metric | type | change | what changed |\n|---|---|---|---|\n",
        );
        for m in &d.metrics {
            let what = match m.kind {
                ChangeKind::Renamed => {
                    let mut w = vec![format!(
                        "renamed from {}",
                        code(m.renamed_from.as_deref().unwrap_or(""))
                    )];
                    w.extend(m.changes.iter().map(change_text));
                    w
                }
                _ => m.changes.iter().map(change_text).collect(),
            };
            for c in &m.changes {
                if is_long(&c.before) || is_long(&c.after) {
                    long.push(details(&format!("{}: {}", code(&m.name), c.field), c));
                }
            }
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&m.name),
                m.metric_type,
                m.kind.name(),
                cell(&what.join("<br>"))
            ));
        }
        out.push('\n');
    }
    if !d.semantic_models.is_empty() || !d.vars.is_empty() || !d.macros.is_empty() {
        out.push_str("### Semantic models, variables and macros\n\n| object | change | what changed |\n|---|---|---|\n");
        for s in &d.semantic_models {
            for c in &s.changes {
                if is_long(&c.before) || is_long(&c.after) {
                    long.push(details(&format!("{}: {}", code(&s.name), c.field), c));
                }
            }
            out.push_str(&format!(
                "| semantic model {} | {} | {} |\n",
                code(&s.name),
                s.kind.name(),
                cell(
                    &s.changes
                        .iter()
                        .map(change_text)
                        .collect::<Vec<_>>()
                        .join("<br>")
                )
            ));
        }
        for v in &d.vars {
            out.push_str(&format!(
                "| variable {} | changed | {} |\n",
                code(&v.field),
                cell(&change_text(v))
            ));
        }
        for m in &d.macros {
            long.push(details(&code(&m.field), m));
            out.push_str(&format!(
                "| macros {} | changed | (below) |\n",
                code(&m.field)
            ));
        }
        out.push('\n');
    }
    for l in long {
        out.push_str(&l);
    }
    if !d.affected.is_empty() {
        out.push_str(
            "### Affected metrics\n\n| metric | values | why | accountable |\n|---|---|---|---|\n",
        );
        for a in &d.affected {
            let values = if a.removed {
                "removed"
            } else if a.values_may_change {
                "may move"
            } else {
                "unchanged"
            };
            out.push_str(&format!(
                "| {} | {values} | {} | {} |\n",
                code(&a.name),
                cell(&a.reasons.join("; ")),
                a.accountable.join(", ")
            ));
        }
        out.push('\n');
    }
    if !d.notify.is_empty() {
        out.push_str("### Who must know\n\n| who | accountable for | consulted on | informed of |\n|---|---|---|---|\n");
        for n in &d.notify {
            let mut who = format!("**{}**", n.name);
            match n.kind.as_str() {
                "team" => who.push_str(&format!(" (team: {})", n.members.join(", "))),
                "person" => {
                    let mut bits = Vec::new();
                    if let Some(f) = &n.full_name {
                        bits.push(f.clone());
                    }
                    if let Some(e) = &n.email {
                        bits.push(e.clone());
                    }
                    if !bits.is_empty() {
                        who.push_str(&format!(" ({})", bits.join(", ")));
                    }
                }
                _ => who.push_str(" (not in the roster)"),
            }
            let list = |v: &[String]| v.iter().map(|m| code(m)).collect::<Vec<_>>().join(", ");
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&who),
                list(&n.accountable),
                list(&n.consulted),
                list(&n.informed)
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_files, LoadOptions};
    use crate::model::spec_to_model;

    const TALLY_YML: &str = "name: shop\nvars: {days: 7}\npeople:\n  - {name: ann, full_name: Ann Lee, email: ann@example.com}\n  - {name: bob}\n  - {name: cy}\nteams:\n  - {name: ops, members: [bob, cy]}\n";

    const MODELS: &str = "semantic_models:
  - name: orders
    model: ref('orders')
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: is_paid, type: categorical}
      - {name: channel, type: categorical}
    measures:
      - {name: order_count, agg: sum, expr: '1'}
      - {name: revenue_total, agg: sum, expr: amount}
";

    fn metrics(revenue_filter: &str, extra: &str) -> String {
        format!(
            "metrics:
  - name: orders
    type: simple
    type_params: {{measure: order_count}}
    owners: {{accountable: bob, informed: [ann]}}
  - name: revenue
    type: simple
    type_params: {{measure: revenue_total}}
    filter: \"{revenue_filter}\"
    owners: {{accountable: ann, consulted: [ops]}}
  - name: average_order_value
    type: ratio
    type_params: {{numerator: revenue, denominator: orders}}
    drivers: [orders]
    owners: {{accountable: ann}}
  - name: north_star
    type: derived
    type_params: {{expr: average_order_value * 2, metrics: [average_order_value]}}
    owners: {{accountable: cy, informed: [ops]}}
  - name: headline
    type: simple
    type_params: {{measure: order_count}}
    drivers: [north_star]
    owners: {{accountable: bob}}
{extra}"
        )
    }

    fn model(models: &str, metrics: &str) -> Model {
        let (spec, diags) = load_files(
            &[("models/m.yml", models), ("metrics/m.yml", metrics)],
            Some(TALLY_YML),
            &LoadOptions::default(),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let (m, diags) = spec_to_model(spec);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        m
    }

    fn names(d: &ModelDiff, kind: ChangeKind) -> Vec<String> {
        d.metrics
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.name.clone())
            .collect()
    }

    #[test]
    fn identical_models_have_no_diff() {
        let m = metrics("{{ Dimension('order__is_paid') }}", "");
        let d = diff_models(&model(MODELS, &m), &model(MODELS, &m));
        assert!(
            d.is_empty() && d.affected.is_empty() && d.notify.is_empty(),
            "{d:#?}"
        );
        assert!(render_markdown(&d, "main", "working tree").contains("No changes"));
    }

    #[test]
    fn added_removed_renamed_and_changed_metrics() {
        let base = model(
            MODELS,
            &metrics(
                "{{ Dimension('order__is_paid') }}",
                "  - {name: legacy, type: simple, type_params: {measure: order_count}, filter: \"{{ Dimension('order__channel') }} = 'web'\"}\n  - {name: old_name, type: simple, type_params: {measure: revenue_total}, label: Old}\n",
            ),
        );
        let head = model(
            MODELS,
            &metrics(
                "{{ Dimension('order__is_paid') }} AND {{ Dimension('order__channel') }} = 'web'",
                "  - {name: fresh, type: simple, type_params: {measure: order_count}, filter: \"{{ Dimension('order__channel') }} = 'app'\"}\n  - {name: new_name, type: simple, type_params: {measure: revenue_total}, label: New}\n",
            ),
        );
        let d = diff_models(&base, &head);
        assert_eq!(names(&d, ChangeKind::Added), vec!["fresh"]);
        assert_eq!(names(&d, ChangeKind::Removed), vec!["legacy"]);
        assert_eq!(names(&d, ChangeKind::Renamed), vec!["new_name"]);
        let renamed = d
            .metrics
            .iter()
            .find(|m| m.kind == ChangeKind::Renamed)
            .unwrap();
        assert_eq!(renamed.renamed_from.as_deref(), Some("old_name"));
        assert_eq!(
            renamed
                .changes
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            vec!["label"]
        );
        assert_eq!(names(&d, ChangeKind::Changed), vec!["revenue"]);
        let revenue = d.metrics.iter().find(|m| m.name == "revenue").unwrap();
        assert_eq!(revenue.changes.len(), 1);
        assert_eq!(revenue.changes[0].field, "filter");
        assert!(revenue.changes[0].affects_values);
        // Downstream: the ratio and the derived metric over it may move; `headline` is above the
        // derived metric in a driver tree.
        let aov = d
            .affected
            .iter()
            .find(|a| a.name == "average_order_value")
            .unwrap();
        assert!(aov.values_may_change);
        assert_eq!(aov.reasons, vec!["input `revenue` may change"]);
        let ns = d.affected.iter().find(|a| a.name == "north_star").unwrap();
        assert!(ns.values_may_change);
        let headline = d.affected.iter().find(|a| a.name == "headline").unwrap();
        assert!(!headline.values_may_change);
        assert_eq!(headline.reasons, vec!["driver `north_star` may move"]);
        assert!(
            d.affected.iter().all(|a| a.name != "orders"),
            "{:#?}",
            d.affected
        );
    }

    #[test]
    fn owners_of_affected_metrics_are_collected_by_role() {
        let base = model(MODELS, &metrics("{{ Dimension('order__is_paid') }}", ""));
        let head = model(
            MODELS,
            &metrics("NOT {{ Dimension('order__is_paid') }}", ""),
        );
        let d = diff_models(&base, &head);
        type Who<'a> = (&'a str, &'a str, Vec<String>, Vec<String>, Vec<String>);
        let who: Vec<Who> = d
            .notify
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    n.kind.as_str(),
                    n.accountable.clone(),
                    n.consulted.clone(),
                    n.informed.clone(),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            who,
            vec![
                (
                    "ann",
                    "person",
                    s(&["average_order_value", "revenue"]),
                    s(&[]),
                    s(&[])
                ),
                ("bob", "person", s(&["headline"]), s(&[]), s(&[])),
                ("cy", "person", s(&["north_star"]), s(&[]), s(&[])),
                ("ops", "team", s(&[]), s(&["revenue"]), s(&["north_star"])),
            ]
        );
        let ops = d.notify.iter().find(|n| n.name == "ops").unwrap();
        assert_eq!(ops.members, vec!["bob", "cy"]);
    }

    #[test]
    fn owner_change_notifies_old_and_new_owners_but_moves_no_values() {
        let base = model(MODELS, &metrics("{{ Dimension('order__is_paid') }}", ""));
        let m = metrics("{{ Dimension('order__is_paid') }}", "").replace(
            "owners: {accountable: cy, informed: [ops]}",
            "owners: {accountable: bob}",
        );
        let head = model(MODELS, &m);
        let d = diff_models(&base, &head);
        let ns = d.affected.iter().find(|a| a.name == "north_star").unwrap();
        assert!(!ns.values_may_change);
        assert_eq!(ns.accountable, vec!["bob", "cy"]);
        assert_eq!(d.affected.len(), 1, "{:#?}", d.affected);
    }

    #[test]
    fn semantic_model_changes_reach_the_metrics_that_read_them() {
        let m = metrics("{{ Dimension('order__is_paid') }}", "");
        let base = model(MODELS, &m);
        let head = model(
            &MODELS.replace(
                "name: is_paid, type: categorical",
                "name: is_paid, type: categorical, expr: paid_at IS NOT NULL",
            ),
            &m,
        );
        let d = diff_models(&base, &head);
        assert_eq!(d.semantic_models.len(), 1);
        assert_eq!(d.semantic_models[0].changes[0].field, "dimension `is_paid`");
        let revenue = d.affected.iter().find(|a| a.name == "revenue").unwrap();
        assert_eq!(
            revenue.reasons,
            vec!["semantic model `orders`: dimension `is_paid` changed"]
        );
        assert!(d.affected.iter().all(|a| a.name != "orders"));
        // A measure change reaches only the metrics of that measure.
        let head = model(
            &MODELS.replace("expr: amount", "expr: amount - discount"),
            &m,
        );
        let d = diff_models(&base, &head);
        let moved: Vec<&str> = d
            .affected
            .iter()
            .filter(|a| a.values_may_change)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(moved, vec!["average_order_value", "north_star", "revenue"]);
    }

    #[test]
    fn markdown_is_a_pull_request_comment() {
        let base = model(
            MODELS,
            &metrics(
                "{{ Dimension('order__is_paid') }}",
                "  - {name: legacy, type: simple, type_params: {measure: order_count}}\n",
            ),
        );
        let head = model(
            &MODELS.replace("expr: amount", "expr: amount - discount"),
            &metrics("{{ Dimension('order__is_paid') }}", "")
                .replace("accountable: cy,", "accountable: ann,"),
        );
        let d = diff_models(&base, &head);
        insta::assert_snapshot!(render_markdown(&d, "main", "working tree"));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["metrics"][0]["name"], "revenue");
        assert_eq!(json["metrics"][0]["changes"][0]["field"], "aggregation");
        assert_eq!(json["affected"][0]["name"], "average_order_value");
    }

    #[test]
    fn line_diff_shows_changes_with_context() {
        let a = "a\nb\nc\nd\ne\nf\ng\n";
        let b = "a\nb\nc\nD\ne\nf\ng\n";
        assert_eq!(line_diff(a, b, 1), "  …\n  c\n- d\n+ D\n  e\n");
    }
}
