//! The comparison of two models: metrics (added, removed, renamed, changed field by field),
//! semantic models, project variables and macro files, and what each change reaches under the
//! metrics (a model, a measure, a dimension) for [`super::affected`].

use super::{ChangeKind, FieldChange, MetricChange, ModelDiff, SemanticModelChange};
use crate::expr;
use crate::model::{
    AggKind, Filter, FilterRef, MeasureRef, Metric, MetricInput, MetricKind, Model, Relation,
    SemanticModel,
};
use std::collections::{BTreeMap, BTreeSet};

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
            ..
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
pub(super) enum Target {
    /// The whole model (its relation, entities, defaults).
    Model,
    Measure(String),
    Dimension(String),
    /// A business duration (its calendar included): the measures and filters that read it.
    Business(String),
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
    for (name, def) in sm.business.iter().flat_map(|b| b.definitions()) {
        out.push((
            field(format!("business duration `{name}`"), def.clone(), true),
            Target::Business(name.clone()),
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

/// The element names (entities and dimensions) a metric's filters refer to.
fn filter_elements(m: &Metric) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in m.all_filters() {
        match &f.bound {
            Some(b) => {
                for r in &b.refs {
                    match r {
                        FilterRef::Item(Ok(i)) => {
                            if let Some((links, element)) = i.element() {
                                out.extend(links.iter().cloned());
                                out.insert(element.to_string());
                            }
                        }
                        FilterRef::Metric(mr) => {
                            out.extend(
                                mr.items
                                    .iter()
                                    .flatten()
                                    .filter_map(|i| i.element().map(|(_, e)| e.to_string())),
                            );
                        }
                        FilterRef::Item(Err(_)) => {}
                    }
                }
            }
            None => out.extend(
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
pub(super) fn depends_on(model: &Model, m: &Metric, sm: &str, target: &Target) -> bool {
    let measures = metric_measures(model, m);
    match target {
        Target::Nothing => false,
        Target::Model => measures.iter().any(|(s, _, _)| *s == sm),
        Target::Measure(name) => measures.iter().any(|(s, n, _)| *s == sm && n == name),
        Target::Dimension(name) => {
            measures.iter().any(|(s, _, atd)| *s == sm && atd == name)
                || filter_elements(m).contains(name)
        }
        Target::Business(name) => {
            let mentions = |e: &str| {
                e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == name)
            };
            measures.iter().any(|(s, n, _)| {
                *s == sm
                    && model
                        .semantic_model(s)
                        .and_then(|(_, x)| x.measure(n))
                        .is_some_and(|x| mentions(&x.expr))
            }) || filter_elements(m).contains(name)
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
        Relation::Query(q, _) => q.to_string(),
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

/// A change under the metrics: (semantic model, what in it, the reason shown).
pub(super) type ModelTarget = (String, Target, String);

/// Compare a base model with a head model.
pub fn diff_models(base: &Model, head: &Model) -> ModelDiff {
    let renames = renamed_metrics(base, head);
    let mut targets: Vec<ModelTarget> = Vec::new();
    let mut diff = ModelDiff {
        metrics: metric_changes(base, head, &renames),
        semantic_models: semantic_model_changes(base, head, &mut targets),
        vars: var_changes(base, head, &mut targets),
        macros: macro_changes(base, head, &mut targets),
        ..ModelDiff::default()
    };
    let affected = super::affected::affected_metrics(base, head, &diff, &targets, &renames);
    diff.notify = super::affected::notify(base, head, &affected);
    diff.affected = affected;
    diff
}

/// Removed metrics whose definition equals an added one's: old name -> new name.
fn renamed_metrics(base: &Model, head: &Model) -> BTreeMap<String, String> {
    let no_rename = |n: &str| n.to_string();
    let added: Vec<&Metric> = head
        .metrics
        .values()
        .filter(|m| !base.metrics.contains_key(&m.name))
        .collect();
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for r in base
        .metrics
        .values()
        .filter(|m| !head.metrics.contains_key(&m.name))
    {
        let def = definition(&metric_fields(base, r, &no_rename));
        if let Some(a) = added.iter().find(|a| {
            !taken.contains(&a.name) && definition(&metric_fields(head, a, &no_rename)) == def
        }) {
            taken.insert(a.name.clone());
            renames.insert(r.name.clone(), a.name.clone());
        }
    }
    renames
}

/// Metrics changed, renamed and added (in the head's order), then removed (in the base's).
fn metric_changes(
    base: &Model,
    head: &Model,
    renames: &BTreeMap<String, String>,
) -> Vec<MetricChange> {
    let no_rename = |n: &str| n.to_string();
    let rename = |n: &str| renames.get(n).cloned().unwrap_or_else(|| n.to_string());
    let change = |m: &Metric, kind, renamed_from, changes| MetricChange {
        name: m.name.clone(),
        kind,
        renamed_from,
        metric_type: m.type_name().into(),
        changes,
    };
    let mut out = Vec::new();
    for m in head.metrics.values() {
        let head_fields = metric_fields(head, m, &no_rename);
        if let Some(b) = base.metrics.get(&m.name) {
            let changes = compare(&metric_fields(base, b, &rename), &head_fields);
            if !changes.is_empty() {
                out.push(change(m, ChangeKind::Changed, None, changes));
            }
        } else if let Some((old, _)) = renames.iter().find(|(_, new)| **new == m.name) {
            let b = &base.metrics[old];
            let changes = compare(&metric_fields(base, b, &rename), &head_fields)
                .into_iter()
                .filter(|c| c.field != "measure")
                .collect();
            out.push(change(m, ChangeKind::Renamed, Some(old.clone()), changes));
        } else {
            out.push(change(m, ChangeKind::Added, None, Vec::new()));
        }
    }
    for m in base.metrics.values() {
        if !head.metrics.contains_key(&m.name) && !renames.contains_key(&m.name) {
            out.push(change(m, ChangeKind::Removed, None, Vec::new()));
        }
    }
    out
}

/// Semantic models added, changed (field by field; each change noted in `targets`) and removed.
fn semantic_model_changes(
    base: &Model,
    head: &Model,
    targets: &mut Vec<ModelTarget>,
) -> Vec<SemanticModelChange> {
    let mut out = Vec::new();
    for sm in &head.semantic_models {
        let Some(b) = base.semantic_models.iter().find(|b| b.name == sm.name) else {
            out.push(SemanticModelChange {
                name: sm.name.clone(),
                kind: ChangeKind::Added,
                changes: Vec::new(),
            });
            continue;
        };
        let (bf, bt): (Vec<Field>, Vec<Target>) = model_fields(b).into_iter().unzip();
        let (hf, ht): (Vec<Field>, Vec<Target>) = model_fields(sm).into_iter().unzip();
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
            targets.push((
                sm.name.clone(),
                target,
                format!("semantic model `{}`: {} changed", sm.name, c.field),
            ));
        }
        if !changes.is_empty() {
            out.push(SemanticModelChange {
                name: sm.name.clone(),
                kind: ChangeKind::Changed,
                changes,
            });
        }
    }
    for b in &base.semantic_models {
        if !head.semantic_models.iter().any(|h| h.name == b.name) {
            out.push(SemanticModelChange {
                name: b.name.clone(),
                kind: ChangeKind::Removed,
                changes: Vec::new(),
            });
        }
    }
    out
}

/// Project variables whose values differ; the models whose SQL reads one go to `targets`.
fn var_changes(base: &Model, head: &Model, targets: &mut Vec<ModelTarget>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut var_names: Vec<&String> = head.vars.keys().collect();
    var_names.extend(base.vars.keys().filter(|k| !head.vars.contains_key(*k)));
    for v in var_names {
        let b = base.vars.get(v).map(json_text);
        let a = head.vars.get(v).map(json_text);
        if a == b {
            continue;
        }
        out.push(FieldChange {
            field: v.clone(),
            before: b,
            after: a,
            affects_values: true,
        });
        for sm in &head.semantic_models {
            if uses_var(&model_sql(sm), v) {
                targets.push((
                    sm.name.clone(),
                    Target::Model,
                    format!("variable `{v}` changed (read by `{}`)", sm.name),
                ));
            }
        }
    }
    out
}

/// The project's macro files that differ; the models whose SQL calls a changed macro go to
/// `targets`.
fn macro_changes(base: &Model, head: &Model, targets: &mut Vec<ModelTarget>) -> Vec<FieldChange> {
    let text = |m: &Model, file: &str| {
        m.macros
            .project_macros
            .iter()
            .find(|(n, _)| n == file)
            .map(|(_, t)| t.clone())
    };
    let mut macro_files: Vec<&(String, String)> = head.macros.project_macros.iter().collect();
    macro_files.extend(
        base.macros
            .project_macros
            .iter()
            .filter(|(n, _)| !head.macros.project_macros.iter().any(|(h, _)| h == n)),
    );
    let mut out = Vec::new();
    for (file, _) in macro_files {
        let (b, a) = (text(base, file), text(head, file));
        if a == b {
            continue;
        }
        let changed = changed_macros(b.as_deref().unwrap_or(""), a.as_deref().unwrap_or(""));
        for sm in &head.semantic_models {
            let sql = model_sql(sm);
            if let Some(mac) = changed.iter().find(|m| sql.contains(&format!("{m}("))) {
                targets.push((
                    sm.name.clone(),
                    Target::Model,
                    format!("macro `{mac}` changed (used by `{}`)", sm.name),
                ));
            }
        }
        out.push(FieldChange {
            field: format!("templates/{file}"),
            before: b,
            after: a,
            affects_values: true,
        });
    }
    out
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
