//! Names bound to the model: the references of a filter (`{{ Dimension('listing__country') }}`,
//! `{{ TimeDimension(...) }}`, `{{ Entity(...) }}`, `{{ Metric('x', group_by=[...]) }}` and the bare
//! item names MetricFlow reads in a filter's SQL) and the group-by items of a query, read once
//! against the model into typed targets ([`Item`]) and metric ids ([`MetricRef`]).
//!
//! Resolution binds every filter of the project (`Filter::bound`, after the metrics that do not
//! resolve are left out, so [`MetricId`]s do not move); a query's own filters and group-by items
//! are bound by the same functions when the query is planned ([`Filter::bind`], [`bind_item`]).
//! What depends on the query (which semantic model an element is reached from, and along which
//! join path) is decided by the planner's one join-path search (`plan::find_path`) on the bound
//! target; nothing reads a reference's text again.
//!
//! A problem found while binding (an unknown granularity or date part, a grain on a dimension that
//! is not a time dimension, an unknown metric) is kept with the reference and reported by whoever
//! uses it, as a parse error is: where the filter is planned, once per place
//! (validation keeps the first report of a code at a span).

use super::{ElementPath, Filter, MetricId, Model};
use crate::diag::{codes, Diagnostic};
use crate::expr::{self, RefKind, Reference, Segment, Template};
use crate::source::Span;
use crate::time::{DatePart, Grain, TimeGrain};
use std::sync::Arc;

/// What a group-by item or filter reference points at, independent of the source model.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    MetricTime {
        grain: Option<TimeGrain>,
        date_part: Option<DatePart>,
    },
    /// A dimension or entity named `element`, reached over the entity `links`: the names as
    /// written (for output names, SQL and messages) and `path`, the same bound to element ids
    /// (what the join-path search reads; [`super::ElementId::UNKNOWN`] for a name no model has).
    Element {
        links: Vec<String>,
        element: String,
        path: ElementPath,
        grain: Option<TimeGrain>,
        date_part: Option<DatePart>,
    },
}

impl Target {
    /// An element target, its names bound to ids.
    pub fn element(
        model: &Model,
        links: Vec<String>,
        element: String,
        grain: Option<TimeGrain>,
        date_part: Option<DatePart>,
    ) -> Target {
        let path = model.element_path(&links, &element);
        Target::Element {
            links,
            element,
            path,
            grain,
            date_part,
        }
    }
}

/// A reference read against the model: its target and its output column name.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The output column name, as MetricFlow names it.
    pub out: String,
    pub target: Target,
    pub span: Span,
    /// A time dimension queried without a granularity, at its own.
    pub own_grain: bool,
}

impl Item {
    pub fn is_metric_time(&self) -> bool {
        matches!(self.target, Target::MetricTime { .. })
    }

    pub fn grain(&self) -> Option<&TimeGrain> {
        match &self.target {
            Target::MetricTime { grain, .. } | Target::Element { grain, .. } => grain.as_ref(),
        }
    }

    pub fn date_part(&self) -> Option<DatePart> {
        match &self.target {
            Target::MetricTime { date_part, .. } | Target::Element { date_part, .. } => *date_part,
        }
    }

    /// The standard grain of a time item without a date part.
    pub fn standard_grain(&self) -> Option<Grain> {
        if self.date_part().is_some() {
            return None;
        }
        self.grain().and_then(TimeGrain::standard)
    }

    /// The entity links and element of an element item, as written; `None` for metric_time.
    pub fn element(&self) -> Option<(&[String], &str)> {
        match &self.target {
            Target::Element { links, element, .. } => Some((links, element)),
            Target::MetricTime { .. } => None,
        }
    }

    /// The element path of an element item, bound to ids; `None` for metric_time.
    pub fn path(&self) -> Option<&ElementPath> {
        match &self.target {
            Target::Element { path, .. } => Some(path),
            Target::MetricTime { .. } => None,
        }
    }
}

/// What tells two group-by items apart as columns of a relation, read from the bound target:
/// metric_time or an element path (ids), with the date part or else the grain their output name
/// carries (the typed counterpart of [`item_out`]: two items have the same key exactly when they
/// have the same output name, for names the model knows).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemKey {
    MetricTime(ItemPeriod),
    Element(ElementPath, ItemPeriod),
}

/// The period part of an [`ItemKey`]: a date part wins over a grain, as in the output name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemPeriod {
    DatePart(DatePart),
    Grain(Option<TimeGrain>),
}

impl Item {
    /// The item's typed key ([`ItemKey`]).
    pub fn key(&self) -> ItemKey {
        let (grain, date_part) = match &self.target {
            Target::MetricTime { grain, date_part }
            | Target::Element {
                grain, date_part, ..
            } => (grain, date_part),
        };
        let period = match date_part {
            Some(p) => ItemPeriod::DatePart(*p),
            None => ItemPeriod::Grain(grain.clone()),
        };
        match &self.target {
            Target::MetricTime { .. } => ItemKey::MetricTime(period),
            Target::Element { path, .. } => ItemKey::Element(path.clone(), period),
        }
    }
}

/// `a__b__c` from path parts.
pub fn join_path(links: &[String], element: &str) -> String {
    let mut parts: Vec<&str> = links.iter().map(String::as_str).collect();
    parts.push(element);
    parts.join("__")
}

/// The output name of a target.
pub fn item_out(target: &Target) -> String {
    let (base, grain, date_part) = match target {
        Target::MetricTime { grain, date_part } => ("metric_time".to_string(), grain, date_part),
        Target::Element {
            links,
            element,
            grain,
            date_part,
            ..
        } => (join_path(links, element), grain, date_part),
    };
    match (date_part, grain) {
        (Some(p), _) => format!("{base}__extract_{}", p.name()),
        (None, Some(g)) => format!("{base}__{g}"),
        (None, None) => base,
    }
}

/// A `{{ Metric('x', group_by=[...]) }}` reference, its metric bound to an id.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRef {
    /// The metric's name as written.
    pub name: String,
    /// The metric it names, or the unknown-metric diagnostic (E0201, with "did you mean").
    pub metric: Result<MetricId, Diagnostic>,
    /// The group-by items as written (they name the metric's relation).
    pub group_by: Vec<String>,
    /// The group-by items bound, one per item (spans exact in the file).
    pub items: Vec<Result<Item, Diagnostic>>,
    /// The whole reference.
    pub span: Span,
}

/// One reference of a filter, bound.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterRef {
    /// metric_time, a dimension, a time dimension or an entity.
    Item(Result<Item, Diagnostic>),
    Metric(MetricRef),
}

/// A parsed filter bound to the model: the template with the bare item names of its SQL read as
/// references, and one bound reference per reference of the template, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundFilter {
    pub template: Template,
    pub refs: Vec<FilterRef>,
}

impl BoundFilter {
    /// The items the filter references (metric references left out, unbound items too).
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.refs.iter().filter_map(|r| match r {
            FilterRef::Item(Ok(i)) => Some(i),
            _ => None,
        })
    }

    /// The metric references of the filter.
    pub fn metrics(&self) -> impl Iterator<Item = &MetricRef> {
        self.refs.iter().filter_map(|r| match r {
            FilterRef::Metric(m) => Some(m),
            FilterRef::Item(_) => None,
        })
    }
}

impl Filter {
    /// Bind the parsed filter against `model` (see [`bind_filter`]); a filter that does not parse
    /// stays unbound (its parse error is reported instead).
    pub fn bind(&mut self, model: &Model) {
        self.bound = self
            .template()
            .ok()
            .map(|t| Arc::new(bind_filter(model, t)));
    }

    /// This filter bound against `model`: a copy whose references are bound, for a filter made
    /// with a query (the project's are bound by resolution).
    pub fn bound_in(&self, model: &Model) -> Filter {
        let mut f = self.clone();
        if f.bound.is_none() {
            f.bind(model);
        }
        f
    }
}

/// Bind a parsed filter: bare item names in its SQL become references, then every reference is
/// read against the model ([`bind_item`], metric names to [`MetricId`]s).
pub fn bind_filter(model: &Model, template: &Template) -> BoundFilter {
    let template = bare_references(model, template);
    let refs = template
        .references()
        .map(|r| {
            if r.kind == RefKind::Metric {
                FilterRef::Metric(bind_metric_ref(model, r))
            } else {
                FilterRef::Item(bind_item(model, r))
            }
        })
        .collect();
    BoundFilter { template, refs }
}

fn bind_metric_ref(model: &Model, r: &Reference) -> MetricRef {
    let metric = model.metric_id(&r.name).ok_or_else(|| {
        Diagnostic::error(
            codes::UNKNOWN_METRIC,
            format!("unknown metric `{}`", r.name),
        )
        .at(r.span)
        .with_suggestion(&r.name, model.metrics.keys().map(String::as_str))
    });
    MetricRef {
        name: r.name.clone(),
        metric,
        group_by: r.group_by.clone(),
        items: r
            .group_by_items
            .iter()
            .map(|g| bind_item(model, g))
            .collect(),
        span: r.span,
    }
}

impl Model {
    /// A granularity name: standard, or custom (a column of a time spine).
    pub fn parse_time_grain(&self, s: &str) -> Option<TimeGrain> {
        if let Some(g) = Grain::parse(s) {
            return Some(TimeGrain::Standard(g));
        }
        let l = s.trim().to_ascii_lowercase();
        self.custom_granularity(&l).map(|_| TimeGrain::Custom(l))
    }

    /// Every granularity name, standard then custom, for suggestions.
    pub fn grain_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Grain::names().map(str::to_string).collect();
        for s in &self.time_spines {
            names.extend(s.custom_granularities.iter().map(|(n, _)| n.clone()));
        }
        names
    }
}

/// Read a reference (a group-by item, an order item, a filter's reference) against the model:
/// its entity path and element (a trailing granularity taken off), metric_time, its grain and
/// date part. Which semantic model the element is on is decided per query, by the join-path search.
pub fn bind_item(model: &Model, r: &Reference) -> Result<Item, Diagnostic> {
    let mut parts: Vec<String> = r.entity_path.clone();
    parts.extend(expr::split_dunder(&r.name));
    let mut grain = match &r.grain {
        Some(g) => Some(model.parse_time_grain(g).ok_or_else(|| {
            let names = model.grain_names();
            Diagnostic::error(
                codes::GRANULARITY,
                format!("unknown time granularity `{g}`"),
            )
            .at(r.span)
            .with_suggestion(g, names.iter().map(String::as_str))
        })?),
        None => None,
    };
    let date_part = match &r.date_part {
        Some(p) => Some(DatePart::parse(p).ok_or_else(|| {
            Diagnostic::error(codes::GRANULARITY, format!("unknown date part `{p}`"))
                .at(r.span)
                .with_suggestion(p, DatePart::ALL.iter().map(|d| d.name()))
        })?),
        None => None,
    };
    // A trailing granularity in a dunder name (`metric_time__month`, `booking__ds__alien_day`).
    if r.kind != RefKind::Entity && grain.is_none() && parts.len() >= 2 {
        let last = parts.last().expect("len checked").to_ascii_lowercase();
        let g = match Grain::parse(&last) {
            Some(g) if g.name() == last => Some(TimeGrain::Standard(g)),
            _ => model
                .custom_granularity(&last)
                .map(|_| TimeGrain::Custom(last.clone())),
        };
        if let Some(g) = g {
            let is_metric_time = parts.len() == 2 && parts[0] == "metric_time";
            if is_metric_time || parts.len() >= 3 {
                grain = Some(g);
                parts.pop();
            }
        } else if let Some(d) = misspelt_grain(model, &parts, r.span) {
            return Err(d);
        }
    }
    if r.kind == RefKind::Metric {
        return Err(Diagnostic::error(
            codes::UNSUPPORTED,
            "metrics cannot be used as group-by items",
        )
        .at(r.span)
        .with_help("group by dimensions, entities or metric_time"));
    }
    if parts.len() == 1 && parts[0] == "metric_time" {
        let target = Target::MetricTime { grain, date_part };
        return Ok(Item {
            out: item_out(&target),
            target,
            span: r.span,
            own_grain: false,
        });
    }
    let element = parts.pop().unwrap_or_default();
    let links = parts;
    let id = model.element_id_or_unknown(&element);
    let time_grain = model.element_grain(id);
    if grain.is_some() && time_grain.is_none() && model.is_element(id) {
        return Err(Diagnostic::error(
            codes::INVALID_QUERY,
            format!("`{element}` is not a time dimension, so it has no granularity"),
        )
        .at(r.span)
        .with_help(format!(
            "group by `{}` without a granularity",
            join_path(&links, &element)
        )));
    }
    // A time dimension queried without a grain is at its own grain: the grain of the dimension
    // on the model the item resolves to (set once paths are known), else the first one found.
    let own_grain = grain.is_none() && time_grain.is_some();
    let grain = grain.or(time_grain.map(TimeGrain::Standard));
    let target = Target::element(model, links, element, grain, date_part);
    Ok(Item {
        out: item_out(&target),
        target,
        span: r.span,
        own_grain,
    })
}

/// A trailing part that is no granularity after metric_time or a time dimension
/// (`metric_time__mnth`, `booking__ds__wek`), when it names no element either: a misspelt
/// granularity, reported as one (with the item it most likely meant) rather than as an element
/// the join search cannot reach.
fn misspelt_grain(model: &Model, parts: &[String], span: Span) -> Option<Diagnostic> {
    let (last, before) = parts.split_last()?;
    let prev = before.last()?;
    let after_time = match before.len() {
        1 => prev == "metric_time",
        _ => model
            .element_grain(model.element_id_or_unknown(prev))
            .is_some(),
    };
    if !after_time || model.is_element(model.element_id_or_unknown(last)) {
        return None;
    }
    let prefix = before.join("__");
    let grains = model.grain_names();
    let items: Vec<String> = grains.iter().map(|g| format!("{prefix}__{g}")).collect();
    Some(
        Diagnostic::error(
            codes::GRANULARITY,
            format!("unknown time granularity `{last}` in `{prefix}__{last}`"),
        )
        .at(span)
        .with_suggestion(
            &format!("{prefix}__{last}"),
            items.iter().map(String::as_str),
        )
        .with_help(format!(
            "the granularities of `{prefix}`: {}",
            grains.join(", ")
        )),
    )
}

/// MetricFlow evaluates filters over columns named after group-by items, so a filter's SQL may
/// name an item directly (`metric_time__day >= '2020-01-01'`): the bare names the parser found
/// ([`Template::bare_names`]) that name an item are read as references, at their exact spans.
fn bare_references(model: &Model, t: &Template) -> Template {
    let mut names = t
        .bare_names
        .iter()
        .filter(|b| match &t.segments[b.segment] {
            Segment::Sql { text, .. } => names_item(model, &text[b.start..b.end]),
            Segment::Ref(_) => false,
        })
        .peekable();
    if names.peek().is_none() {
        return t.clone();
    }
    let mut segments = Vec::new();
    for (n, seg) in t.segments.iter().enumerate() {
        let Segment::Sql { text, span } = seg else {
            segments.push(seg.clone());
            continue;
        };
        // Each piece of SQL between bare names spans the file's characters between them.
        let (mut last, mut last_at) = (0, span.start);
        while let Some(b) = names.next_if(|b| b.segment == n) {
            if last < b.start {
                segments.push(Segment::Sql {
                    text: text[last..b.start].to_string(),
                    span: Span {
                        start: last_at,
                        end: b.span.start,
                        ..*span
                    },
                });
            }
            segments.push(Segment::Ref(Reference::new(
                RefKind::Dimension,
                &text[b.start..b.end],
                b.span,
            )));
            (last, last_at) = (b.end, b.span.end);
        }
        if last < text.len() {
            segments.push(Segment::Sql {
                text: text[last..].to_string(),
                span: Span {
                    start: last_at,
                    ..*span
                },
            });
        }
    }
    Template {
        segments,
        span: t.span,
        bare_names: Vec::new(),
    }
}

/// Whether a dunder name names metric_time or an element of some semantic model.
fn names_item(model: &Model, word: &str) -> bool {
    match bind_item(
        model,
        &Reference::new(RefKind::Dimension, word, Span::DUMMY),
    ) {
        Ok(Item {
            target: Target::MetricTime { .. },
            ..
        }) => true,
        Ok(Item {
            target: Target::Element { path, .. },
            ..
        }) => model.is_element(path.element),
        Err(_) => false,
    }
}

impl super::Metric {
    /// Every filter the metric applies itself: its own, its measure inputs' and its metric
    /// inputs', in that order.
    pub fn all_filters(&self) -> Vec<&Filter> {
        let mut out: Vec<&Filter> = self.filters.iter().collect();
        for i in self.input_metrics() {
            out.extend(i.filters.iter());
        }
        match &self.kind {
            super::MetricKind::Simple(r) | super::MetricKind::Cumulative { measure: r, .. } => {
                out.extend(r.filters.iter());
            }
            super::MetricKind::Conversion {
                base, conversion, ..
            } => {
                out.extend(base.filters.iter());
                out.extend(conversion.filters.iter());
            }
            _ => {}
        }
        out
    }

    /// [`Self::all_filters`], to bind them.
    fn all_filters_mut(&mut self) -> Vec<&mut Filter> {
        let mut out: Vec<&mut Filter> = self.filters.iter_mut().collect();
        match &mut self.kind {
            super::MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                out.extend(numerator.filters.iter_mut());
                out.extend(denominator.filters.iter_mut());
            }
            super::MetricKind::Derived { inputs, .. } => {
                out.extend(inputs.iter_mut().flat_map(|i| i.filters.iter_mut()));
            }
            super::MetricKind::Simple(r) | super::MetricKind::Cumulative { measure: r, .. } => {
                out.extend(r.filters.iter_mut());
            }
            super::MetricKind::Conversion {
                base, conversion, ..
            } => {
                out.extend(base.filters.iter_mut());
                out.extend(conversion.filters.iter_mut());
            }
        }
        out
    }
}

/// Bind every filter of a resolved model (metrics and saved queries): resolution's last step,
/// once the metrics that do not resolve are left out (so metric ids do not move).
pub(crate) fn bind_model_filters(model: &mut Model) {
    let bound: Vec<Vec<Option<Arc<BoundFilter>>>> = model
        .metrics
        .values()
        .map(|m| {
            m.all_filters()
                .into_iter()
                .map(|f| f.template().ok().map(|t| Arc::new(bind_filter(model, t))))
                .collect()
        })
        .collect();
    for (m, b) in model.metrics.values_mut().zip(bound) {
        for (f, b) in m.all_filters_mut().into_iter().zip(b) {
            f.bound = b;
        }
    }
    let mut saved = std::mem::take(&mut model.saved_queries);
    for sq in saved.values_mut() {
        for f in &mut sq.where_ {
            f.bind(model);
        }
        sq.group_by_items = sq
            .group_by_parsed
            .iter()
            .map(|g| g.clone().and_then(|r| bind_item(model, &r)))
            .collect();
        sq.metric_ids = sq
            .metrics
            .iter()
            .map(|m| model.metric_id(&m.value).unwrap_or(MetricId::UNBOUND))
            .collect();
    }
    model.saved_queries = saved;
}
