//! Semantic validation of a resolved [`Model`]: the checks that need the whole project.
//!
//! [`crate::model::spec_to_model`] already checks names, duplicates, measure and metric references,
//! aggregation time dimensions, percentiles, owners and cycles, and leaves out what it cannot
//! resolve. The rules here run on what is left, so a broken object is reported once, by resolution,
//! and not again here. They are MetricFlow's remaining semantic rules plus tally's own:
//!
//! | code | rule |
//! |---|---|
//! | E0111 | labels are unique among metrics, among semantic models, and among the dimensions and the measures of one semantic model |
//! | E0106 | a semantic model with measures has a primary entity |
//! | E0110 | a non-additive dimension has the grain of its measure's aggregation time dimension |
//! | E0112 | at most one natural entity per semantic model, and only with a validity window |
//! | E0113 | a validity window is one `is_start` and one `is_end` time dimension, on a model keyed by a natural entity and without measures |
//! | E0402 | a dimension reached through an entity lives on one semantic model (not two at the same distance) |
//! | E0403 | a foreign entity has somewhere to join to (warning) |
//! | E0206 | a derived formula names only its inputs and uses every input (warning); an alias is not the name of another input; an input has `offset_window` or `offset_to_grain`, not both |
//! | E0102 | an input alias is a valid name |
//! | E0211 | `offset_to_grain` is a standard grain |
//! | E0207 | a cumulative window or grain_to_date uses a standard grain; a window is not empty |
//! | E0208 | conversion constant properties are dimensions or entities of each side; conversion measures count; no filter on the conversion measure (warning) |
//! | E0212 | a metric's `time_granularity` is not finer than its measures' aggregation time dimensions |
//! | E0203, E0204, E0206, E0402 | every metric plans on its own: filters parse and every reference is reachable from the measures it filters, formulas are valid |
//! | E0209 | saved queries plan: group-by items, order items and filters resolve, the limit is not negative |
//! | E0210 | at most one time spine per grain; a day-or-finer spine exists when a metric needs one (cumulative, offsets, `join_to_timespine`); custom granularity names are unique and not standard names; a spine at least as fine as the finest time dimension (warning) |
//!
//! Filters and formulas are checked by planning a one-metric query per metric with the planner, so
//! a project validates exactly as its queries will plan. Where the planner does not support a metric
//! yet (cumulative and conversion metrics, offsets, metric filters) the filters of that metric are
//! checked here with the planner's join rules ([`resolve_element`]).
//!
//! The model keeps no spans for some values (labels, windows, constant properties, time spines);
//! those are found again in the source text of their object, so every diagnostic still points at
//! the value it is about.

use crate::diag::{self, codes, Diagnostic};
use crate::dialect::{self, Dialect};
use crate::expr::{self, RefKind, Reference};
use crate::model::{AggKind, Filter, MeasureRef, Metric, MetricKind, Model, Validity};
use crate::plan::{plan_query, QueryRequest};
use crate::source::Span;
use crate::spec::{EntityType, ProjectConfiguration};
use crate::time::{Grain, TimeGrain, Window};
use crate::yaml::{self, Spanned};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Run every semantic check on a model. Diagnostics are sorted and carry spans.
pub fn validate_model(model: &Model) -> Vec<Diagnostic> {
    let dialect: &dyn Dialect = model
        .default_dialect
        .as_deref()
        .and_then(dialect::by_name)
        .unwrap_or(&dialect::DuckDb);
    let mut boundaries: Vec<Span> = model
        .semantic_models
        .iter()
        .map(|s| s.span)
        .chain(model.metrics.values().map(|m| m.span))
        .chain(model.saved_queries.values().map(|q| q.span))
        .filter(|s| !s.is_dummy())
        .collect();
    boundaries.sort();
    let mut v = Validator {
        model,
        dialect,
        diags: Vec::new(),
        boundaries,
    };
    if let Some(name) = model
        .default_dialect
        .as_deref()
        .filter(|n| dialect::by_name(n).is_none())
    {
        v.diags.push(
            Diagnostic::error(codes::INVALID_VALUE, format!("unknown dialect `{name}`"))
                .at(model.default_dialect_span)
                .with_label("not a dialect tally knows")
                .with_suggestion(name, dialect::NAMES.iter().copied())
                .with_help(format!("dialects: {}", dialect::NAMES.join(", "))),
        );
    }
    v.labels();
    v.semantic_models();
    v.joins();
    for m in model.metrics.values() {
        v.metric_params(m);
        v.metric_time_granularity(m);
    }
    v.time_spines();
    // Static checks first: when the planner reports the same problem at the same place, the
    // first report (with its help lines) is kept.
    for m in model.metrics.values() {
        v.plan_metric(m);
    }
    v.saved_queries();
    v.diags
        .extend(crate::fragments::check_model(model, dialect));
    let texts = v.spanned_texts();
    let mut out = dedup(v.diags);
    for d in &mut out {
        d.span = in_source(&texts, model, d.span);
        for l in &mut d.labels {
            l.span = in_source(&texts, model, l.span);
        }
    }
    diag::sort(&mut out);
    out
}

/// Move spans that point inside quoted or block-scalar strings of the model (filters, formulas,
/// saved-query items) to the file text they stand for: for diagnostics made after validation, by
/// the planner at query time.
pub fn relocate_spans(model: &Model, diags: &mut [Diagnostic]) {
    let v = Validator {
        model,
        dialect: &dialect::DuckDb,
        diags: Vec::new(),
        boundaries: Vec::new(),
    };
    let texts = v.spanned_texts();
    for d in diags {
        d.span = in_source(&texts, model, d.span);
        for l in &mut d.labels {
            l.span = in_source(&texts, model, l.span);
        }
    }
}

/// Spans inside a string value (a reference in a filter) are byte offsets into the value, added to
/// the start of the value's span. When the value is quoted or a block scalar in the file, the
/// value and the file text differ (quotes, escapes, indentation); move such a span to the file
/// text it stands for, by aligning the value with the text of its scalar.
fn in_source(texts: &[(Span, &str)], model: &Model, span: Span) -> Span {
    if span.is_dummy() {
        return span;
    }
    let holder = texts
        .iter()
        .filter(|(s, _)| s.file == span.file && s.start <= span.start && span.end <= s.end)
        .min_by_key(|(s, _)| s.end - s.start);
    let Some(&(outer, value)) = holder else {
        return span;
    };
    let Some(src) = model.sources.text(outer) else {
        return span;
    };
    if src == value {
        return span;
    }
    let map = align(src, value);
    let vs = (span.start - outer.start) as usize;
    let ve = (span.end - outer.start) as usize;
    if vs > value.len() || ve > value.len() {
        return span;
    }
    let start = map[vs];
    let end = if ve > vs { map[ve - 1] + 1 } else { start };
    Span::new(
        span.file,
        outer.start as usize + start,
        outer.start as usize + end.max(start),
    )
}

/// For each byte of `value` (and its end), the byte of `src` it was written as: each character
/// of the value is matched with its next occurrence in the source; a character written as an
/// escape (which has no literal occurrence) stays at the current position.
fn align(src: &str, value: &str) -> Vec<usize> {
    let mut map = vec![0; value.len() + 1];
    let mut j = 0;
    for (b, c) in value.char_indices() {
        let found = src[j..].find(c).map(|k| j + k);
        let at = found.unwrap_or(j);
        for k in 0..c.len_utf8() {
            map[b + k] = at + k;
        }
        if found.is_some() {
            j = at + c.len_utf8();
        }
    }
    map[value.len()] = j;
    map
}

/// Keep the first diagnostic of each code at each place.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen: BTreeSet<(&'static str, Span, String)> = BTreeSet::new();
    let mut out = Vec::new();
    for d in diags {
        let key = if d.span.is_dummy() {
            (d.code, d.span, d.message.clone())
        } else {
            (d.code, d.span, String::new())
        };
        if seen.insert(key) {
            out.push(d);
        }
    }
    out
}

/// The planner's join rule ([`crate::plan::find_path`]), as the model the element is found on:
/// `Ok` with that model, `Err` with the candidates (empty when no model has it).
pub(crate) fn resolve_element(
    model: &Model,
    from: usize,
    links: &[String],
    element: &str,
) -> Result<usize, Vec<usize>> {
    crate::plan::find_path(model, from, links, element)
        .map(|(_, m)| m)
        .map_err(|found| found.into_iter().map(|(_, m)| m).collect())
}

/// A reference's entity path and element, with a trailing grain taken off as the planner does
/// (`order__ordered_at__month` -> links `[order]`, element `ordered_at`); `None` for `metric_time`.
pub(crate) fn reference_path(r: &Reference) -> Option<(Vec<String>, String)> {
    let mut parts: Vec<String> = r.entity_path.clone();
    parts.extend(expr::split_dunder(&r.name));
    if r.kind != RefKind::Entity && r.grain.is_none() && parts.len() >= 2 {
        let last = parts.last().expect("len checked").clone();
        if Grain::parse(&last).is_some_and(|g| g.name() == last) {
            let is_metric_time = parts.len() == 2 && parts[0] == "metric_time";
            if is_metric_time || parts.len() >= 3 {
                parts.pop();
            }
        }
    }
    if parts.len() == 1 && parts[0] == "metric_time" {
        return None;
    }
    let element = parts.pop().unwrap_or_default();
    Some((parts, element))
}

/// Whether a name is a lower-case identifier without `__` (the rule of `model.rs`).
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The first whole-word occurrence of `word` in `text[start..end]`, as a byte range.
fn find_word_in(text: &str, start: usize, end: usize, word: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let hay = text.get(start..end)?;
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let s = start + from + i;
        let e = s + word.len();
        let before = s == 0 || !is_word_char(bytes[s - 1]);
        let after = e >= bytes.len() || !is_word_char(bytes[e]);
        if before && after {
            return Some((s, e));
        }
        from += i + word.len().max(1);
    }
    None
}

/// What a reference points at once its grain suffix is taken off (the planner's reading).
struct Target {
    metric_time: bool,
    links: Vec<String>,
    element: String,
}

struct Validator<'m> {
    model: &'m Model,
    dialect: &'m dyn Dialect,
    diags: Vec<Diagnostic>,
    /// Spans of the names of top-level objects, sorted: the text of one object runs from its name
    /// to the next name in the same file. Used to find a key's value when the model kept no span.
    boundaries: Vec<Span>,
}

impl<'m> Validator<'m> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Every string value that is parsed as an expression, with its span: filters, formulas and
    /// saved-query items.
    fn spanned_texts(&self) -> Vec<(Span, &'m str)> {
        let model = self.model;
        let mut out: Vec<(Span, &'m str)> = Vec::new();
        let filters = |fs: &'m [Filter], out: &mut Vec<(Span, &'m str)>| {
            out.extend(fs.iter().map(|f| (f.span, f.text.as_str())));
        };
        for m in model.metrics.values() {
            filters(&m.filters, &mut out);
            match &m.kind {
                MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
                    filters(&r.filters, &mut out)
                }
                MetricKind::Conversion {
                    base, conversion, ..
                } => {
                    filters(&base.filters, &mut out);
                    filters(&conversion.filters, &mut out);
                }
                MetricKind::Derived { expr, inputs } => {
                    out.push((expr.span, expr.text.as_str()));
                    for i in inputs {
                        filters(&i.filters, &mut out);
                    }
                }
                MetricKind::Ratio {
                    numerator,
                    denominator,
                } => {
                    filters(&numerator.filters, &mut out);
                    filters(&denominator.filters, &mut out);
                }
            }
        }
        for sq in model.saved_queries.values() {
            filters(&sq.where_, &mut out);
            out.extend(
                sq.group_by
                    .iter()
                    .chain(&sq.order_by)
                    .map(|g| (g.span, g.value.as_str())),
            );
        }
        out.retain(|(s, _)| !s.is_dummy());
        out
    }

    // ----- finding text the model kept no span for ---------------------------------------------

    /// The text after `span` up to the next object in the same file, as a byte range.
    fn region(&self, span: Span) -> Option<(usize, usize, &'m str)> {
        if span.is_dummy() {
            return None;
        }
        let text = self.model.sources.get(span.file)?.text.as_str();
        let end = self
            .boundaries
            .iter()
            .filter(|b| b.file == span.file && b.start > span.start)
            .map(|b| b.start as usize)
            .min()
            .unwrap_or(text.len());
        let start = (span.end as usize).min(text.len());
        Some((start, end.max(start), text))
    }

    /// The first whole-word occurrence of `word` after `span`, within its object.
    fn find_word(&self, span: Span, word: &str) -> Option<Span> {
        let (start, end, text) = self.region(span)?;
        find_word_in(text, start, end, word).map(|(s, e)| Span::new(span.file, s, e))
    }

    /// The values of `key:` after `span` within its object, in order, without quotes.
    fn find_values(&self, span: Span, key: &str) -> Vec<(Span, &'m str)> {
        let mut out = Vec::new();
        let Some((start, end, text)) = self.region(span) else {
            return out;
        };
        let bytes = text.as_bytes();
        let mut pos = start;
        while let Some((_, ke)) = find_word_in(text, pos, end, key) {
            pos = ke;
            let mut i = ke;
            while i < end && bytes[i] == b' ' {
                i += 1;
            }
            if i >= end || bytes[i] != b':' {
                continue;
            }
            i += 1;
            while i < end && bytes[i] == b' ' {
                i += 1;
            }
            let (vs, ve) = match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) if i < end => {
                    let close = text[i + 1..end]
                        .find(q as char)
                        .map(|c| i + 1 + c)
                        .unwrap_or(end);
                    (i + 1, close)
                }
                _ => {
                    let mut e = i;
                    while e < end && !matches!(bytes[e], b'\n' | b'\r' | b',' | b'}' | b']' | b'#')
                    {
                        e += 1;
                    }
                    let v = text[i..e].trim_end();
                    (i, i + v.len())
                }
            };
            out.push((Span::new(span.file, vs, ve), &text[vs..ve]));
        }
        out
    }

    /// The span of `key: value` 's value after `span`, or of the first value of `key`.
    fn find_value(&self, span: Span, key: &str, value: Option<&str>) -> Option<Span> {
        self.find_values(span, key)
            .into_iter()
            .find(|(_, v)| value.is_none_or(|x| *v == x))
            .map(|(s, _)| s)
    }

    // ----- labels ------------------------------------------------------------------------------

    fn labels(&mut self) {
        let mut metrics: Vec<&Metric> = self.model.metrics.values().collect();
        metrics.sort_by_key(|m| m.span);
        let items: Vec<(Span, &str, Option<&str>)> = metrics
            .iter()
            .map(|m| (m.span, m.name.as_str(), m.label.as_deref()))
            .collect();
        self.unique_labels("metric", &items);
        let mut sms: Vec<_> = self.model.semantic_models.iter().collect();
        sms.sort_by_key(|s| s.span);
        let items: Vec<(Span, &str, Option<&str>)> = sms
            .iter()
            .map(|s| (s.span, s.name.as_str(), s.label.as_deref()))
            .collect();
        self.unique_labels("semantic model", &items);
        for sm in &self.model.semantic_models {
            let dims: Vec<_> = sm
                .dimensions
                .iter()
                .map(|d| (d.span, d.name.as_str(), d.label.as_deref()))
                .collect();
            self.unique_labels(&format!("dimension of `{}`", sm.name), &dims);
            let measures: Vec<_> = sm
                .measures
                .iter()
                .map(|d| (d.span, d.name.as_str(), d.label.as_deref()))
                .collect();
            self.unique_labels(&format!("measure of `{}`", sm.name), &measures);
        }
    }

    fn unique_labels(&mut self, kind: &str, items: &[(Span, &str, Option<&str>)]) {
        let mut seen: BTreeMap<&str, (Span, &str)> = BTreeMap::new();
        for &(span, name, label) in items {
            let Some(label) = label else { continue };
            let at = self.find_value(span, "label", Some(label)).unwrap_or(span);
            match seen.get(label) {
                Some(&(prev_at, prev)) => {
                    let d = Diagnostic::error(
                        codes::LABEL,
                        format!("label `{label}` of {kind} `{name}` is already the label of `{prev}`"),
                    )
                    .at(at)
                    .with_label("duplicate label")
                    .with_secondary(prev_at, format!("label of `{prev}`"))
                    .with_help(format!(
                        "labels name objects in BI tools and must tell them apart: give `{name}` another label"
                    ));
                    self.push(d);
                }
                None => {
                    seen.insert(label, (at, name));
                }
            }
        }
    }

    // ----- semantic models ---------------------------------------------------------------------

    fn semantic_models(&mut self) {
        let model = self.model;
        for sm in &model.semantic_models {
            // model.rs reports a model with dimensions and no key entity; this is the case it leaves.
            let reported = !sm.dimensions.is_empty() && sm.key_entities().next().is_none();
            if !sm.measures.is_empty() && sm.primary_entity_name().is_none() && !reported {
                let d = Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!("semantic model `{}` has measures but no primary entity", sm.name),
                )
                .at(sm.span)
                .with_label("no entity of `type: primary` and no `primary_entity`")
                .with_help(
                    "add an entity of `type: primary`, or `primary_entity: <name>` naming what one row is \
                     (MetricFlow needs it to qualify the model's own dimensions)",
                );
                self.push(d);
            }
            // A non-additive dimension has the grain of the aggregation time dimension.
            for m in &sm.measures {
                let Some(na) = &m.non_additive else { continue };
                let (Some(nd), Some(atd)) = (
                    sm.dimension(&na.dimension),
                    sm.dimension(&m.agg_time_dimension),
                ) else {
                    continue;
                };
                if let (Some(ng), Some(ag)) = (nd.time_grain, atd.time_grain) {
                    if ng != ag {
                        let at = self.find_word(m.span, &na.dimension).unwrap_or(m.span);
                        self.push(
                            Diagnostic::error(
                                codes::NON_ADDITIVE,
                                format!(
                                    "non-additive dimension `{}` of measure `{}` has grain `{ng}`, but its aggregation time dimension `{}` has grain `{ag}`",
                                    nd.name, m.name, atd.name
                                ),
                            )
                            .at(at)
                            .with_label(format!("grain `{ng}`"))
                            .with_secondary(atd.span, format!("grain `{ag}`"))
                            .with_help("a balance is taken per period of the aggregation time: use a non-additive dimension of the same grain"),
                        );
                    }
                }
            }
            // Natural entities and validity windows (slowly changing dimensions).
            let naturals: Vec<_> = sm
                .entities
                .iter()
                .filter(|e| e.kind == EntityType::Natural)
                .collect();
            let validity: Vec<_> = sm
                .dimensions
                .iter()
                .filter(|d| d.validity.is_some())
                .collect();
            if naturals.len() > 1 {
                self.push(
                    Diagnostic::error(
                        codes::ENTITY_TYPE,
                        format!("semantic model `{}` has {} natural entities", sm.name, naturals.len()),
                    )
                    .at(naturals[1].span)
                    .with_label("second natural entity")
                    .with_secondary(naturals[0].span, "first natural entity")
                    .with_help("a semantic model has at most one natural entity: the key its validity window is defined for"),
                );
            }
            if let (Some(n), true) = (naturals.first(), validity.is_empty()) {
                self.push(
                    Diagnostic::error(
                        codes::ENTITY_TYPE,
                        format!("natural entity `{}` of `{}` needs a validity window", n.name, sm.name),
                    )
                    .at(n.span)
                    .with_label("natural entity")
                    .with_help(
                        "natural entities key slowly changing dimensions: add two time dimensions with \
                         `validity_params` (`is_start: true` and `is_end: true`), or make the entity primary or unique",
                    ),
                );
            }
            if !validity.is_empty() {
                self.validity_window(sm, &validity, !naturals.is_empty());
            }
        }
    }

    fn validity_window(
        &mut self,
        sm: &crate::model::SemanticModel,
        dims: &[&crate::model::Dimension],
        has_natural: bool,
    ) {
        let starts = dims
            .iter()
            .filter(|d| d.validity == Some(Validity::Start))
            .count();
        let ends = dims
            .iter()
            .filter(|d| d.validity == Some(Validity::End))
            .count();
        let names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
        if dims.len() != 2 || starts != 1 || ends != 1 {
            let nth = |v: Validity, n: usize| {
                dims.iter()
                    .filter(|d| d.validity == Some(v))
                    .nth(n)
                    .map(|d| d.span)
            };
            let (at, label) = match (nth(Validity::Start, 1), nth(Validity::End, 1)) {
                (Some(s), _) => (s, "a second `is_start` dimension"),
                (None, Some(e)) => (e, "a second `is_end` dimension"),
                (None, None) => (dims[0].span, "validity dimension"),
            };
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!(
                        "the validity window of `{}` needs one `is_start` and one `is_end` time dimension, found {starts} start and {ends} end among {}",
                        sm.name,
                        names.join(", ")
                    ),
                )
                .at(at)
                .with_label(label)
                .with_help("mark one time dimension `validity_params: {is_start: true}` and another `validity_params: {is_end: true}`"),
            );
        }
        if !has_natural {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!("semantic model `{}` has a validity window but no natural entity", sm.name),
                )
                .at(sm.span)
                .with_label("no entity of `type: natural`")
                .with_help("the validity window is joined on the natural key: declare it as an entity of `type: natural`"),
            );
        }
        if let Some(e) = sm
            .entities
            .iter()
            .find(|e| matches!(e.kind, EntityType::Primary | EntityType::Unique))
        {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!("semantic model `{}` has a validity window and a {} entity `{}`", sm.name, if e.kind == EntityType::Primary { "primary" } else { "unique" }, e.name),
                )
                .at(e.span)
                .with_label("not supported with a validity window")
                .with_help("rows of a slowly changing dimension are keyed by the natural entity and the window: make this entity `natural` or `foreign`"),
            );
        }
        if let Some(m) = sm.measures.first() {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!(
                        "semantic model `{}` has both a validity window and measures",
                        sm.name
                    ),
                )
                .at(m.span)
                .with_label("measure on a slowly changing dimension")
                .with_help("move the measures to a semantic model without validity params"),
            );
        }
    }

    // ----- joins -------------------------------------------------------------------------------

    fn joins(&mut self) {
        let models = &self.model.semantic_models;
        let mut entities: BTreeSet<&str> = BTreeSet::new();
        for sm in models {
            for e in &sm.entities {
                entities.insert(&e.name);
            }
        }
        for e in entities {
            let with: Vec<usize> = (0..models.len())
                .filter(|&i| models[i].entity(e).is_some())
                .collect();
            let keyed: Vec<usize> = with
                .iter()
                .copied()
                .filter(|&i| {
                    models[i]
                        .entity(e)
                        .is_some_and(|x| x.kind != EntityType::Foreign)
                })
                .collect();
            // A foreign entity whose every other occurrence is foreign joins nowhere.
            if keyed.is_empty() && with.len() > 1 {
                let first = models[with[0]].entity(e).expect("filtered");
                let others: Vec<&str> =
                    with[1..].iter().map(|&i| models[i].name.as_str()).collect();
                self.push(
                    Diagnostic::warning(
                        codes::FAN_OUT,
                        format!(
                            "entity `{e}` is foreign on every semantic model that has it ({}, {}): nothing can be joined through it",
                            models[with[0]].name,
                            others.join(", ")
                        ),
                    )
                    .at(first.span)
                    .with_label("foreign here and everywhere else")
                    .with_help(format!(
                        "joining foreign to foreign would multiply rows, so tally never does it; add a semantic model whose rows are one `{e}` each (`type: primary`), or make `{e}` primary or unique where it is a key"
                    )),
                );
            }
            if keyed.len() < 2 {
                continue;
            }
            // Dimensions reachable as `e__d` on more than one keyed model.
            let mut dims: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for &i in &keyed {
                for d in &models[i].dimensions {
                    dims.entry(&d.name).or_default().push(i);
                }
            }
            for (d, holders) in dims {
                if holders.len() < 2 {
                    continue;
                }
                let primary = holders
                    .iter()
                    .filter(|&&i| models[i].primary_entity_name() == Some(e))
                    .count();
                // The planner prefers the one model on which `e` is the primary entity.
                if primary == 1 {
                    continue;
                }
                // Ambiguous only from a model that has `e` but not the dimension (the others find
                // it on themselves, with no join).
                if !with.iter().any(|i| !holders.contains(i)) && primary == 0 {
                    continue;
                }
                let a = &models[holders[0]];
                let b = &models[holders[1]];
                let da = a.dimension(d).expect("holder");
                let db = b.dimension(d).expect("holder");
                self.push(
                    Diagnostic::error(
                        codes::AMBIGUOUS_JOIN,
                        format!(
                            "`{e}__{d}` is ambiguous: semantic models `{}` and `{}` both have `{e}` as a key and a dimension `{d}`",
                            a.name, b.name
                        ),
                    )
                    .at(db.span)
                    .with_label(format!("`{d}` on `{}`", b.name))
                    .with_secondary(da.span, format!("`{d}` on `{}`", a.name))
                    .with_help(format!(
                        "rename one of the dimensions, or make `{e}` the primary entity of exactly one of these models"
                    )),
                );
            }
        }
    }

    // ----- metrics -----------------------------------------------------------------------------

    fn metric_params(&mut self, m: &Metric) {
        let model = self.model;
        for i in m.input_metrics() {
            if i.offset_window.is_some() && i.offset_to_grain.is_some() {
                self.push(
                    Diagnostic::error(
                        codes::DERIVED_INPUT,
                        format!("input `{}` of `{}` has both `offset_window` and `offset_to_grain`", i.name, m.name),
                    )
                    .at(self.find_value(i.span, "offset_to_grain", None).unwrap_or(i.span))
                    .with_label("second offset")
                    .with_help("offset an input by a window (`offset_window: 1 week`) or to the start of a grain (`offset_to_grain: month`), not both"),
                );
            }
            if let Some(TimeGrain::Custom(g)) = &i.offset_to_grain {
                self.push(
                    Diagnostic::error(
                        codes::GRANULARITY,
                        format!(
                            "`offset_to_grain` of input `{}` is the custom granularity `{g}`",
                            i.name
                        ),
                    )
                    .at(self
                        .find_value(i.span, "offset_to_grain", None)
                        .unwrap_or(i.span))
                    .with_label("custom granularity")
                    .with_help(format!(
                        "use a standard granularity: {}",
                        Grain::names().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
            if let Some(a) = &i.alias {
                let at = self.find_value(i.span, "alias", Some(a)).unwrap_or(i.span);
                if !is_valid_name(a) {
                    self.push(
                        Diagnostic::error(codes::INVALID_NAME, format!("invalid alias `{a}` for input `{}`", i.name))
                            .at(at)
                            .with_label("aliases are lower-case letters, digits and single underscores")
                            .with_help("an alias names a column in the formula: use a name such as `bookings_last_week`"),
                    );
                } else if let Some(other) = m
                    .input_metrics()
                    .into_iter()
                    .find(|o| o.name == *a && o.output_name() != a.as_str())
                {
                    // MetricFlow's rule: an alias may not be the name of another input, or the
                    // formula would read `a` as this input while the metric `a` is also an input.
                    self.push(
                        Diagnostic::error(
                            codes::DERIVED_INPUT,
                            format!(
                                "alias `{a}` of input `{}` is the name of another input of `{}`",
                                i.name, m.name
                            ),
                        )
                        .at(at)
                        .with_label(format!("in the formula `{a}` means `{}`", i.name))
                        .with_secondary(other.span, format!("metric `{a}` is also an input"))
                        .with_help(format!(
                            "pick an alias that is not the name of an input, such as `{}_{a}`",
                            i.name
                        )),
                    );
                }
            }
        }
        match &m.kind {
            MetricKind::Derived {
                expr: formula,
                inputs,
            } => {
                let parsed = match expr::parse_formula(&formula.text, formula.span) {
                    Ok(f) => f,
                    Err(d) => {
                        self.push(d);
                        return;
                    }
                };
                let names: Vec<&str> = inputs.iter().map(|i| i.output_name()).collect();
                let mut used: BTreeSet<String> = BTreeSet::new();
                for id in parsed.identifiers() {
                    let n = id.name();
                    if names.contains(&n.as_str()) {
                        used.insert(n);
                        continue;
                    }
                    let mut d = Diagnostic::error(
                        codes::DERIVED_INPUT,
                        format!(
                            "`{n}` in the formula of `{}` is not one of its inputs",
                            m.name
                        ),
                    )
                    .at(id.span)
                    .with_label("not an input")
                    .with_suggestion(&n, names.iter().copied());
                    d = if model.metrics.contains_key(&n) {
                        d.with_help(format!("`{n}` is a metric: add it to the inputs (`metrics:`) to use it in the formula"))
                    } else {
                        d.with_help(format!(
                            "the formula can use its inputs: {}",
                            names.join(", ")
                        ))
                    };
                    self.push(d);
                }
                for i in inputs {
                    if !used.contains(i.output_name()) {
                        self.push(
                            Diagnostic::warning(
                                codes::DERIVED_INPUT,
                                format!(
                                    "input `{}` of `{}` is not used in its formula",
                                    i.output_name(),
                                    m.name
                                ),
                            )
                            .at(i.span)
                            .with_label("unused input")
                            .with_secondary(formula.span, "the formula")
                            .with_help("use it in `expr`, or remove it from the inputs"),
                        );
                    }
                }
            }
            MetricKind::Cumulative {
                window,
                grain_to_date,
                ..
            } => {
                if let Some(w) = window {
                    let at = self.find_value(m.span, "window", None).unwrap_or(m.span);
                    self.window_is_standard(w, at, codes::CUMULATIVE_PARAMS, "window");
                    if w.count == 0 {
                        self.push(
                            Diagnostic::error(codes::CUMULATIVE_PARAMS, format!("the window of `{}` is empty", m.name))
                                .at(at)
                                .with_label("a window of 0 periods")
                                .with_help("give a window of at least one period, such as `7 days`, or remove it to accumulate over all time"),
                        );
                    }
                }
                if let Some(TimeGrain::Custom(g)) = grain_to_date {
                    self.push(
                        Diagnostic::error(
                            codes::CUMULATIVE_PARAMS,
                            format!(
                                "`grain_to_date` of `{}` is the custom granularity `{g}`",
                                m.name
                            ),
                        )
                        .at(self
                            .find_value(m.span, "grain_to_date", None)
                            .unwrap_or(m.span))
                        .with_label("custom granularity")
                        .with_help(format!(
                            "use a standard granularity: {}",
                            Grain::names().collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            }
            MetricKind::Conversion {
                base,
                conversion,
                window,
                constant_properties,
                ..
            } => {
                if let Some(w) = window {
                    let at = self.find_value(m.span, "window", None).unwrap_or(m.span);
                    self.window_is_standard(w, at, codes::CONVERSION_PARAMS, "window");
                }
                let bsm = &model.semantic_models[base.model];
                let csm = &model.semantic_models[conversion.model];
                for p in constant_properties {
                    for (name, key, sm, side) in [
                        (&p.base_property, "base_property", bsm, "base"),
                        (
                            &p.conversion_property,
                            "conversion_property",
                            csm,
                            "conversion",
                        ),
                    ] {
                        if sm.dimension(name).is_some() || sm.entity(name).is_some() {
                            continue;
                        }
                        let candidates: Vec<&str> = sm
                            .dimensions
                            .iter()
                            .map(|d| d.name.as_str())
                            .chain(sm.entities.iter().map(|e| e.name.as_str()))
                            .collect();
                        self.push(
                            Diagnostic::error(
                                codes::CONVERSION_PARAMS,
                                format!("constant property `{name}` is not a dimension or entity of `{}`, the {side} measure's semantic model", sm.name),
                            )
                            .at(self.find_value(m.span, key, Some(name)).unwrap_or(m.span))
                            .with_label(format!("not on `{}`", sm.name))
                            .with_suggestion(name, candidates.iter().copied())
                            .with_help(format!("`{key}` names a dimension or entity of `{}`", sm.name)),
                        );
                    }
                }
                for (r, side) in [(base, "base"), (conversion, "conversion")] {
                    let ms = model.measure(r);
                    let counts = match ms.agg {
                        AggKind::CountDistinct => true,
                        AggKind::Sum => {
                            ms.expr.trim() == "1"
                                || (ms.expr.starts_with("CASE WHEN ")
                                    && ms.expr.ends_with(" IS NOT NULL THEN 1 ELSE 0 END"))
                        }
                        _ => false,
                    };
                    if !counts {
                        self.push(
                            Diagnostic::error(
                                codes::CONVERSION_PARAMS,
                                format!("the {side} measure `{}` of conversion metric `{}` does not count rows", ms.name, m.name),
                            )
                            .at(self.find_word(m.span, &ms.name).unwrap_or(m.span))
                            .with_label("not a count")
                            .with_secondary(ms.span, "defined here")
                            .with_help("conversion measures count events: use `agg: count`, `count_distinct`, or `sum` of `1`"),
                        );
                    }
                }
                if let Some(f) = conversion.filters.first() {
                    self.push(
                        Diagnostic::warning(
                            codes::CONVERSION_PARAMS,
                            format!("the conversion measure `{}` of `{}` has a filter", conversion.name, m.name),
                        )
                        .at(f.span)
                        .with_label("filter on the conversion measure")
                        .with_help("MetricFlow does not fully support filters on the conversion input; filter the base measure or the metric instead"),
                    );
                }
            }
            MetricKind::Simple(_) | MetricKind::Ratio { .. } => {}
        }
    }

    fn window_is_standard(&mut self, w: &Window, at: Span, code: &'static str, what: &str) {
        if let TimeGrain::Custom(g) = &w.grain {
            self.push(
                Diagnostic::error(
                    code,
                    format!("the {what} `{w}` uses the custom granularity `{g}`"),
                )
                .at(at)
                .with_label("custom granularity")
                .with_help(format!(
                    "use a standard granularity: {}",
                    Grain::names().collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }

    /// Every measure a metric reads, through its inputs.
    fn measures_of(&self, name: &str) -> Vec<&'m MeasureRef> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.collect_measures(name, &mut out, &mut seen);
        out
    }

    fn collect_measures(
        &self,
        name: &str,
        out: &mut Vec<&'m MeasureRef>,
        seen: &mut BTreeSet<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let Some(m) = self.model.metric(name) else {
            return;
        };
        match &m.kind {
            MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => out.push(r),
            MetricKind::Conversion {
                base, conversion, ..
            } => {
                out.push(base);
                out.push(conversion);
            }
            MetricKind::Ratio { .. } | MetricKind::Derived { .. } => {
                for i in m.input_metrics() {
                    self.collect_measures(&i.name, out, seen);
                }
            }
        }
    }

    /// The semantic models a metric's filters apply to (for a conversion metric, the base side).
    fn filter_models(&self, name: &str) -> BTreeSet<usize> {
        let Some(m) = self.model.metric(name) else {
            return BTreeSet::new();
        };
        if let MetricKind::Conversion { base, .. } = &m.kind {
            return [base.model].into();
        }
        self.measures_of(name).iter().map(|r| r.model).collect()
    }

    fn metric_time_granularity(&mut self, m: &Metric) {
        let Some(g) = m.time_granularity else { return };
        let model = self.model;
        let mut coarsest: Option<(Grain, &crate::model::Dimension)> = None;
        for r in self.measures_of(&m.name) {
            let sm = &model.semantic_models[r.model];
            let Some(atd) = sm.dimension(&model.measure(r).agg_time_dimension) else {
                continue;
            };
            let dg = atd.time_grain.unwrap_or(Grain::Day);
            if coarsest.is_none_or(|(c, _)| dg > c) {
                coarsest = Some((dg, atd));
            }
        }
        let Some((min, atd)) = coarsest else { return };
        if g < min {
            let valid: Vec<&str> = Grain::ALL
                .iter()
                .filter(|x| **x >= min)
                .map(|x| x.name())
                .collect();
            self.push(
                Diagnostic::error(
                    codes::METRIC_TIME_GRANULARITY,
                    format!("`time_granularity` of `{}` is `{g}`, finer than the grain `{min}` of its aggregation time dimension `{}`", m.name, atd.name),
                )
                .at(self.find_value(m.span, "time_granularity", Some(g.name())).unwrap_or(m.span))
                .with_label(format!("finer than `{min}`"))
                .with_secondary(atd.span, format!("`{}` has grain `{min}`", atd.name))
                .with_help(format!("a metric cannot be shown finer than its data: use one of {}", valid.join(", "))),
            );
        }
    }

    // ----- planning ----------------------------------------------------------------------------

    /// Plan a one-metric query; where the planner cannot plan this kind of metric yet, check the
    /// metric's own filters here.
    fn plan_metric(&mut self, m: &Metric) {
        let req = QueryRequest {
            metrics: vec![Spanned::new(m.span, m.name.clone())],
            ..QueryRequest::default()
        };
        let mut complete = true;
        let planned = plan_query(self.model, &req).and_then(|plan| {
            crate::sql::user::render_user_sql(self.model, self.dialect, &plan.query).map(|_| plan)
        });
        if let (Ok(plan), Some(_)) = (&planned, &self.model.default_dialect) {
            // What the dialect tally.yml declares cannot compute (a percentile kind it lacks).
            for d in crate::sql::unsupported_diagnostics(self.model, self.dialect, &plan.measures) {
                self.push(d.at_if_unset(m.span));
            }
        }
        if let Err(ds) = planned {
            for mut d in ds {
                if d.code == codes::UNSUPPORTED {
                    complete = false;
                    continue;
                }
                // Conversion params have their own rule above, with the side named.
                if d.code == codes::CONVERSION_PARAMS {
                    continue;
                }
                if d.code == codes::UNKNOWN_GROUP_BY {
                    d.code = codes::FILTER_REFERENCE;
                }
                if d.help.is_empty() {
                    let help = if d.code == codes::FILTER_REFERENCE {
                        "a filter may use dimensions and entities of the filtered measure's semantic model and of models joined to it by entities".to_string()
                    } else {
                        format!("`{}` cannot be queried until this is fixed", m.name)
                    };
                    d = d.with_help(help);
                }
                self.push(d.at_if_unset(m.span));
            }
        }
        if complete {
            return;
        }
        let own = self.filter_models(&m.name);
        for f in &m.filters {
            self.check_filter(f, &own);
        }
        let refs: Vec<&MeasureRef> = match &m.kind {
            MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => vec![r],
            MetricKind::Conversion {
                base, conversion, ..
            } => vec![base, conversion],
            _ => vec![],
        };
        for r in refs {
            for f in &r.filters {
                self.check_filter(f, &[r.model].into());
            }
        }
        for i in m.input_metrics() {
            let models = self.filter_models(&i.name);
            for f in &i.filters {
                self.check_filter(f, &models);
            }
        }
    }

    /// Parse a filter and check that every reference is reachable from each of `models`.
    fn check_filter(&mut self, f: &Filter, models: &BTreeSet<usize>) {
        let template = match expr::parse_filter(&f.text, f.span) {
            Ok(t) => t,
            Err(d) => {
                self.push(d);
                return;
            }
        };
        for r in template.references() {
            self.check_reference(r, models, codes::FILTER_REFERENCE);
        }
    }

    /// Check one reference (from a filter or a group-by item) against the models it applies to.
    fn check_reference(&mut self, r: &Reference, models: &BTreeSet<usize>, code: &'static str) {
        if r.kind == RefKind::Metric {
            if self.model.metric(&r.name).is_none() {
                self.push(
                    Diagnostic::error(code, format!("unknown metric `{}`", r.name))
                        .at(r.span)
                        .with_label("no metric of this name")
                        .with_suggestion(&r.name, self.model.metrics.keys().map(String::as_str))
                        .with_help("`Metric('name', group_by=['entity'])` filters by a metric of this project"),
                );
            }
            for g in &r.group_by {
                let last = expr::split_dunder(g).pop().unwrap_or_default();
                if !models
                    .iter()
                    .any(|&mi| self.resolve_path(mi, &[], &last).is_ok())
                {
                    let names = self.reachable_names(models);
                    self.push(
                        Diagnostic::error(code, format!("`{g}` in the group_by of `{}` cannot be reached", r.name))
                            .at(r.span)
                            .with_suggestion(g, names.iter().map(String::as_str))
                            .with_help("a metric filter groups the metric by an entity of the filtered measure's semantic model"),
                    );
                }
            }
            return;
        }
        let Some(t) = self.target_of(r) else { return };
        if t.metric_time {
            return;
        }
        for &mi in models {
            match self.resolve_path(mi, &t.links, &t.element) {
                Ok(()) => {}
                Err(found) if found.is_empty() => {
                    let name = t
                        .links
                        .iter()
                        .chain([&t.element])
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("__");
                    let names = self.reachable_names(&[mi].into());
                    let exists = self.model.semantic_models.iter().any(|s| {
                        s.dimension(&t.element).is_some() || s.entity(&t.element).is_some()
                    });
                    let mut d = Diagnostic::error(
                        code,
                        format!(
                            "`{name}` cannot be reached from semantic model `{}`",
                            self.model.semantic_models[mi].name
                        ),
                    )
                    .at(r.span)
                    .with_label(if exists {
                        "not reachable through joins"
                    } else {
                        "no dimension or entity of this name"
                    })
                    .with_suggestion(&name, names.iter().map(String::as_str));
                    if t.links.is_empty() && exists {
                        d = d.with_help("qualify a dimension with the entity it belongs to, e.g. `listing__country`");
                    } else {
                        d = d.with_help("a filter may use dimensions and entities of the filtered measure's semantic model and of models joined to it by entities");
                    }
                    self.push(d);
                }
                Err(found) => {
                    let names: Vec<&str> = found
                        .iter()
                        .map(|&i| self.model.semantic_models[i].name.as_str())
                        .collect();
                    self.push(
                        Diagnostic::error(
                            codes::AMBIGUOUS_JOIN,
                            format!(
                                "`{}` is reachable through several semantic models: {}",
                                r.name,
                                names.join(", ")
                            ),
                        )
                        .at(r.span)
                        .with_help("qualify it with a longer entity path"),
                    );
                }
            }
        }
    }

    /// The planner's reading of a reference: entity path, grain suffix, `metric_time`.
    fn target_of(&mut self, r: &Reference) -> Option<Target> {
        let model = self.model;
        let custom = |n: &str| model.custom_granularity(n).is_some();
        if let Some(g) = &r.grain {
            if TimeGrain::parse(g, &custom).is_none() {
                self.push(
                    Diagnostic::error(
                        codes::GRANULARITY,
                        format!("unknown time granularity `{g}`"),
                    )
                    .at(r.span)
                    .with_suggestion(g, Grain::names())
                    .with_help(format!(
                        "granularities: {}",
                        Grain::names().collect::<Vec<_>>().join(", ")
                    )),
                );
                return None;
            }
        }
        if let Some(p) = &r.date_part {
            if crate::time::DatePart::parse(p).is_none() {
                self.push(
                    Diagnostic::error(codes::GRANULARITY, format!("unknown date part `{p}`"))
                        .at(r.span)
                        .with_suggestion(p, crate::time::DatePart::ALL.iter().map(|d| d.name()))
                        .with_help("date parts: year, quarter, month, week, day, dow, doy"),
                );
                return None;
            }
        }
        Some(match reference_path(r) {
            None => Target {
                metric_time: true,
                links: vec![],
                element: String::new(),
            },
            Some((links, element)) => Target {
                metric_time: false,
                links,
                element,
            },
        })
    }

    fn resolve_path(&self, from: usize, links: &[String], element: &str) -> Result<(), Vec<usize>> {
        resolve_element(self.model, from, links, element).map(|_| ())
    }

    /// Names reachable from some of `models` with at most one join, for suggestions.
    fn reachable_names(&self, from: &BTreeSet<usize>) -> Vec<String> {
        let models = &self.model.semantic_models;
        let mut out = vec!["metric_time".to_string()];
        for &f in from {
            for e in &models[f].entities {
                out.push(e.name.clone());
                for (ti, t) in models.iter().enumerate() {
                    let keyed = if ti == f {
                        e.kind != EntityType::Foreign
                    } else {
                        t.entity(&e.name)
                            .is_some_and(|te| te.kind != EntityType::Foreign)
                    };
                    if keyed {
                        out.extend(
                            t.dimensions
                                .iter()
                                .map(|d| format!("{}__{}", e.name, d.name)),
                        );
                        out.extend(
                            t.entities
                                .iter()
                                .filter(|x| x.name != e.name)
                                .map(|x| format!("{}__{}", e.name, x.name)),
                        );
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    // ----- saved queries -----------------------------------------------------------------------

    fn saved_queries(&mut self) {
        let model = self.model;
        for sq in model.saved_queries.values() {
            if let Some(l) = sq.limit.filter(|l| *l < 0) {
                self.push(
                    Diagnostic::error(
                        codes::SAVED_QUERY,
                        format!("saved query `{}` has a negative limit {l}", sq.name),
                    )
                    .at(self.find_value(sq.span, "limit", None).unwrap_or(sq.span))
                    .with_label("negative")
                    .with_help("a limit is a number of rows: 0 or more, or leave it out"),
                );
            }
            if sq.metrics.is_empty() {
                self.dimension_only_saved_query(sq);
                continue;
            }
            // Unknown metrics were reported by resolution; plan the rest.
            let metrics: Vec<Spanned<String>> = sq
                .metrics
                .iter()
                .filter(|m| model.metrics.contains_key(&m.value))
                .cloned()
                .collect();
            if metrics.len() != sq.metrics.len() || (metrics.is_empty() && sq.group_by.is_empty()) {
                continue;
            }
            let req = QueryRequest {
                metrics,
                group_by: sq.group_by.clone(),
                where_: sq.where_.clone(),
                order_by: sq.order_by.clone(),
                limit: sq.limit.map(|l| l.max(0) as u64),
                ..QueryRequest::default()
            };
            let in_items = |s: Span| {
                sq.group_by.iter().chain(&sq.order_by).any(|g| {
                    g.span.file == s.file && g.span.start <= s.start && s.end <= g.span.end
                })
            };
            let mut complete = true;
            let planned = plan_query(model, &req).and_then(|plan| {
                crate::sql::user::render_user_sql(model, self.dialect, &plan.query).map(|_| plan)
            });
            if let Err(ds) = planned {
                for mut d in ds {
                    if d.code == codes::UNSUPPORTED {
                        complete = false;
                        continue;
                    }
                    if matches!(d.code, codes::UNKNOWN_GROUP_BY | codes::INVALID_QUERY)
                        && in_items(d.span)
                    {
                        d.code = codes::SAVED_QUERY;
                    } else if d.code == codes::UNKNOWN_GROUP_BY {
                        d.code = codes::FILTER_REFERENCE;
                    }
                    if d.help.is_empty() {
                        d = d.with_help(format!(
                            "saved query `{}` must plan like `tally query --saved-query {}`",
                            sq.name, sq.name
                        ));
                    }
                    self.push(d.at_if_unset(sq.span));
                }
            }
            if complete {
                continue;
            }
            // The planner cannot plan one of the metrics yet: check the items here.
            let models: BTreeSet<usize> = sq
                .metrics
                .iter()
                .flat_map(|m| self.filter_models(&m.value))
                .collect();
            let mut outputs: Vec<String> = sq.metrics.iter().map(|m| m.value.clone()).collect();
            for g in &sq.group_by {
                match expr::parse_group_by(&g.value, g.span) {
                    Ok(r) => {
                        if models.is_empty() {
                            continue;
                        }
                        self.check_reference(&r, &models, codes::SAVED_QUERY);
                        let mut parts = r.entity_path.clone();
                        parts.extend(expr::split_dunder(&r.name));
                        outputs.push(parts.join("__"));
                    }
                    Err(d) => self.push(d),
                }
            }
            for f in &sq.where_ {
                self.check_filter(f, &models);
            }
            for o in &sq.order_by {
                match expr::parse_order_item(&o.value, o.span) {
                    Ok((r, _)) => {
                        let mut parts = r.entity_path.clone();
                        parts.extend(expr::split_dunder(&r.name));
                        let name = parts.join("__");
                        let ok = outputs.iter().any(|x| {
                            *x == name
                                || x.starts_with(&format!("{name}__"))
                                || name.starts_with(&format!("{x}__"))
                        });
                        if !ok {
                            self.push(
                                Diagnostic::error(codes::SAVED_QUERY, format!("cannot order by `{}`: it is not a queried metric or group-by item", o.value))
                                    .at(o.span)
                                    .with_suggestion(&name, outputs.iter().map(String::as_str))
                                    .with_help(format!("the saved query's columns: {}", outputs.join(", "))),
                            );
                        }
                    }
                    Err(d) => self.push(d),
                }
            }
        }
    }

    /// A saved query without metrics: each group-by item must be reachable from some semantic
    /// model. (The planner picks one root model for all items; this is the per-item part of it.)
    fn dimension_only_saved_query(&mut self, sq: &crate::model::SavedQuery) {
        let all: BTreeSet<usize> = (0..self.model.semantic_models.len()).collect();
        for g in &sq.group_by {
            let r = match expr::parse_group_by(&g.value, g.span) {
                Ok(r) => r,
                Err(d) => {
                    self.push(d);
                    continue;
                }
            };
            let Some(t) = self.target_of(&r) else {
                continue;
            };
            if t.metric_time
                || all
                    .iter()
                    .any(|&mi| self.resolve_path(mi, &t.links, &t.element).is_ok())
            {
                continue;
            }
            let name = t
                .links
                .iter()
                .chain([&t.element])
                .cloned()
                .collect::<Vec<_>>()
                .join("__");
            let names = self.reachable_names(&all);
            self.push(
                Diagnostic::error(
                    codes::SAVED_QUERY,
                    format!(
                        "`{name}` in saved query `{}` is not reachable from any semantic model",
                        sq.name
                    ),
                )
                .at(g.span)
                .with_label("unknown group-by item")
                .with_suggestion(&name, names.iter().map(String::as_str))
                .with_help("group by `<entity>__<dimension>`, an entity, or `metric_time`"),
            );
        }
        for f in &sq.where_ {
            if let Err(d) = expr::parse_filter(&f.text, f.span) {
                self.push(d);
            }
        }
    }

    // ----- time spines -------------------------------------------------------------------------

    /// The project configurations again, parsed from the sources: the model keeps time spines
    /// without spans.
    fn project_configurations(&self) -> Vec<ProjectConfiguration> {
        let mut out = Vec::new();
        for (id, f) in self.model.sources.files() {
            if !f.text.contains("project_configuration") {
                continue;
            }
            let Ok(docs) = yaml::parse(id, &f.text) else {
                continue;
            };
            for doc in &docs {
                if let Some(node) = doc.get("project_configuration") {
                    let cell = RefCell::new(Vec::new());
                    if let Some(pc) = yaml::decode::<ProjectConfiguration>(node, &cell) {
                        out.push(pc);
                    }
                }
            }
        }
        out
    }

    fn time_spines(&mut self) {
        let model = self.model;
        let configs = self.project_configurations();
        // One spine per grain.
        let mut by_grain: BTreeMap<Grain, (Span, String)> = BTreeMap::new();
        let mut custom: BTreeMap<String, Span> = BTreeMap::new();
        for pc in &configs {
            for ts in &pc.time_spines {
                let Some(g) = Grain::parse(&ts.primary_column.time_granularity) else {
                    continue;
                };
                let rel = ts.node_relation.alias.value.clone();
                match by_grain.get(&g) {
                    Some((prev, prev_rel)) => {
                        self.push(
                            Diagnostic::error(
                                codes::TIME_SPINE,
                                format!(
                                    "two time spines have grain `{g}`: `{prev_rel}` and `{rel}`"
                                ),
                            )
                            .at(ts.node_relation.alias.span)
                            .with_label(format!("second `{g}` spine"))
                            .with_secondary(*prev, format!("first `{g}` spine"))
                            .with_help("keep one time spine per granularity"),
                        );
                    }
                    None => {
                        by_grain.insert(g, (ts.node_relation.alias.span, rel));
                    }
                }
                for c in &ts.custom_granularities {
                    let n = c.name.value.to_ascii_lowercase();
                    if Grain::parse(&n).is_some() {
                        self.push(
                            Diagnostic::error(codes::TIME_SPINE, format!("custom granularity `{}` is named like a standard granularity", c.name.value))
                                .at(c.name.span)
                                .with_label("standard granularity name")
                                .with_help("name custom granularities apart from the standard ones, such as `fiscal_quarter`"),
                        );
                    } else if let Some(prev) = custom.get(&n) {
                        self.push(
                            Diagnostic::error(
                                codes::TIME_SPINE,
                                format!("custom granularity `{}` is defined twice", c.name.value),
                            )
                            .at(c.name.span)
                            .with_secondary(*prev, "first defined here")
                            .with_help("custom granularity names are unique across time spines"),
                        );
                    } else {
                        custom.insert(n, c.name.span);
                    }
                }
            }
        }
        for pc in &configs {
            for t in &pc.time_spine_table_configurations {
                let Some(g) = Grain::parse(&t.grain) else {
                    continue;
                };
                let Some((prev, prev_rel)) = by_grain.get(&g) else {
                    continue;
                };
                let rel = &t.location.value;
                let same = rel.rsplit('.').next() == Some(prev_rel.as_str())
                    && model.time_spines.iter().filter(|s| s.grain == g).count() == 1;
                if !same {
                    self.push(
                        Diagnostic::warning(codes::TIME_SPINE, format!("the legacy time spine `{rel}` has grain `{g}`, like the time spine `{prev_rel}`"))
                            .at(t.location.span)
                            .with_label(format!("second `{g}` spine"))
                            .with_secondary(*prev, format!("`{g}` spine under `time_spines`"))
                            .with_help("keep one time spine per granularity: `time_spine_table_configurations` is the legacy form of `time_spines`"),
                    );
                }
            }
        }
        // Cumulative metrics, offsets and join_to_timespine read a day (or finer) spine.
        if model.spine_for(Grain::Day).is_none() {
            let mut needing: Vec<&Metric> = model
                .metrics
                .values()
                .filter(|m| {
                    matches!(m.kind, MetricKind::Cumulative { .. })
                        || m.input_metrics()
                            .iter()
                            .any(|i| i.offset_window.is_some() || i.offset_to_grain.is_some())
                        || match &m.kind {
                            MetricKind::Simple(r) => r.join_to_timespine,
                            _ => false,
                        }
                })
                .collect();
            needing.sort_by_key(|m| m.span);
            if let Some(first) = needing.first() {
                let mut d = Diagnostic::error(
                    codes::TIME_SPINE,
                    format!("metric `{}` needs a time spine of grain `day` or finer, but the project has none", first.name),
                )
                .at(first.span)
                .with_label(format!("{} metric", first.type_name()))
                .with_help(
                    "cumulative metrics, offset inputs and `join_to_timespine` read a table with one row per day: \
                     add `project_configuration: {time_spines: [{node_relation: {alias: ..., schema_name: ...}, primary_column: {name: date_day, time_granularity: day}}]}`",
                )
                .with_help("in a dbt project: give a model of one row per day the `time_spine: {standard_granularity_column: date_day}` property (and `granularity: day` on that column), or name it `metricflow_time_spine`");
                if needing.len() > 1 {
                    let others: Vec<&str> = needing[1..].iter().map(|m| m.name.as_str()).collect();
                    d = d.with_help(format!("so do: {}", others.join(", ")));
                }
                self.push(d);
            }
        }
        // MetricFlow recommends a spine at least as fine as the finest time dimension.
        if let Some(smallest) = model.time_spines.iter().map(|s| s.grain).min() {
            let finest = model
                .semantic_models
                .iter()
                .flat_map(|s| s.dimensions.iter())
                .filter_map(|d| d.time_grain.map(|g| (g, d)))
                .min_by_key(|(g, d)| (*g, d.span));
            if let Some((g, d)) = finest {
                if g < smallest {
                    self.push(
                        Diagnostic::warning(
                            codes::TIME_SPINE,
                            format!("time dimension `{}` has grain `{g}`, finer than the finest time spine (`{smallest}`)", d.name),
                        )
                        .at(d.span)
                        .with_label(format!("grain `{g}`"))
                        .with_help(format!("add a time spine of grain `{g}` so queries at that grain can join to it")),
                    );
                }
            }
        }
    }
}
