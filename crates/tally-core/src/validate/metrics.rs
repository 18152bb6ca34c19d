//! Metric parameters: formulas, inputs, windows, conversions and time granularities.

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::model::is_valid_name;
use crate::model::{
    AggKind, ConstantProperty, DerivedFormula, MeasureRef, Metric, MetricId, MetricInput,
    MetricKind,
};
use crate::source::Span;
use crate::time::{Grain, TimeGrain, Window};
use std::collections::BTreeSet;

impl<'m> Validator<'m> {
    /// The parameters of a metric: its inputs, then its type's own.
    pub(super) fn metric_params(&mut self, m: &Metric) {
        for i in m.input_metrics() {
            self.input_params(m, i);
        }
        match &m.kind {
            MetricKind::Derived {
                expr: formula,
                inputs,
            } => self.derived_formula(m, formula, inputs),
            MetricKind::Cumulative {
                window,
                grain_to_date,
                ..
            } => self.cumulative_params(m, window.as_ref(), grain_to_date.as_ref()),
            MetricKind::Conversion {
                base,
                conversion,
                window,
                constant_properties,
                ..
            } => {
                if let Some(w) = window {
                    let at = super::at_or(m.spans.window, m.span);
                    self.window_is_standard(w, at, codes::CONVERSION_PARAMS, "window");
                }
                self.constant_properties(base, conversion, constant_properties);
                self.conversion_measures(m, base, conversion);
            }
            MetricKind::Simple(_) | MetricKind::Ratio { .. } => {}
        }
    }

    /// An input of a ratio or derived metric: one offset at most, a standard `offset_to_grain`, a
    /// valid alias that is not the name of another input.
    fn input_params(&mut self, m: &Metric, i: &MetricInput) {
        let offset_at = super::at_or(i.offset_to_grain_span, i.span);
        if i.offset_window.is_some() && i.offset_to_grain.is_some() {
            self.push(
                Diagnostic::error(
                    codes::DERIVED_INPUT,
                    format!("input `{}` of `{}` has both `offset_window` and `offset_to_grain`", i.name, m.name),
                )
                .at(offset_at)
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
                .at(offset_at)
                .with_label("custom granularity")
                .with_help(format!(
                    "use a standard granularity: {}",
                    Grain::names().collect::<Vec<_>>().join(", ")
                )),
            );
        }
        let Some(a) = &i.alias else { return };
        let at = super::at_or(i.alias_span, i.span);
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

    /// A derived formula parses, names only its inputs, and uses each of them (a warning).
    fn derived_formula(&mut self, m: &Metric, formula: &DerivedFormula, inputs: &[MetricInput]) {
        if let Err(d) = &formula.parsed {
            self.push(d.clone());
            return;
        }
        let names: Vec<&str> = inputs.iter().map(|i| i.output_name()).collect();
        let mut used: BTreeSet<usize> = BTreeSet::new();
        for id in &formula.names {
            if let Some(i) = id.input {
                used.insert(i);
                continue;
            }
            let n = &id.name;
            let mut d = Diagnostic::error(
                codes::DERIVED_INPUT,
                format!(
                    "`{n}` in the formula of `{}` is not one of its inputs",
                    m.name
                ),
            )
            .at(id.token.span)
            .with_label("not an input")
            .with_suggestion(n, names.iter().copied());
            d = if self.model.metrics.contains_key(n) {
                d.with_help(format!(
                    "`{n}` is a metric: add it to the inputs (`metrics:`) to use it in the formula"
                ))
            } else {
                d.with_help(format!(
                    "the formula can use its inputs: {}",
                    names.join(", ")
                ))
            };
            self.push(d);
        }
        for (ix, i) in inputs.iter().enumerate() {
            if !used.contains(&ix) {
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

    /// A cumulative window is standard and not empty; `grain_to_date` is a standard grain.
    fn cumulative_params(
        &mut self,
        m: &Metric,
        window: Option<&Window>,
        grain_to_date: Option<&TimeGrain>,
    ) {
        if let Some(w) = window {
            let at = super::at_or(m.spans.window, m.span);
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
                .at(super::at_or(m.spans.grain_to_date, m.span))
                .with_label("custom granularity")
                .with_help(format!(
                    "use a standard granularity: {}",
                    Grain::names().collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }

    /// A conversion metric's constant properties are dimensions or entities of each side.
    fn constant_properties(
        &mut self,
        base: &MeasureRef,
        conversion: &MeasureRef,
        properties: &[ConstantProperty],
    ) {
        let model = self.model;
        for p in properties {
            for (name, id, at, key, mi, side) in [
                (
                    &p.base_property,
                    p.base_id,
                    p.base_span,
                    "base_property",
                    base.model,
                    "base",
                ),
                (
                    &p.conversion_property,
                    p.conversion_id,
                    p.conversion_span,
                    "conversion_property",
                    conversion.model,
                    "conversion",
                ),
            ] {
                if model.has_element(mi, id) {
                    continue;
                }
                let sm = &model.semantic_models[mi];
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
                    .at(at)
                    .with_label(format!("not on `{}`", sm.name))
                    .with_suggestion(name, candidates.iter().copied())
                    .with_help(format!("`{key}` names a dimension or entity of `{}`", sm.name)),
                );
            }
        }
    }

    /// A conversion metric's measures count rows; a filter on the conversion side is a warning.
    fn conversion_measures(&mut self, m: &Metric, base: &MeasureRef, conversion: &MeasureRef) {
        let model = self.model;
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
                    .at(super::at_or(r.span, m.span))
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

    pub(super) fn window_is_standard(
        &mut self,
        w: &Window,
        at: Span,
        code: &'static str,
        what: &str,
    ) {
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

    /// Every measure metric `id` reads, through its inputs.
    pub(super) fn measures_of(&self, id: MetricId) -> Vec<&'m MeasureRef> {
        let mut out = Vec::new();
        self.collect_measures(id, &mut out, &mut BTreeSet::new());
        out
    }

    /// The measures of metric `id`, following its inputs by id.
    pub(super) fn collect_measures(
        &self,
        id: MetricId,
        out: &mut Vec<&'m MeasureRef>,
        seen: &mut BTreeSet<MetricId>,
    ) {
        if !seen.insert(id) {
            return;
        }
        let Some(m) = self.model.metric_by_id(id) else {
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
                    self.collect_measures(i.metric, out, seen);
                }
            }
        }
    }

    /// The semantic models the filters of metric `id` apply to (for a conversion metric, the base
    /// side); none for [`MetricId::UNBOUND`].
    pub(super) fn filter_models(&self, id: MetricId) -> BTreeSet<usize> {
        let Some(m) = self.model.metric_by_id(id) else {
            return BTreeSet::new();
        };
        if let MetricKind::Conversion { base, .. } = &m.kind {
            return [base.model].into();
        }
        let mut out = Vec::new();
        self.collect_measures(id, &mut out, &mut BTreeSet::new());
        out.iter().map(|r| r.model).collect()
    }

    /// A metric's `time_granularity` is no finer than its measures' aggregation time dimensions.
    pub(super) fn metric_time_granularity(&mut self, id: MetricId, m: &Metric) {
        let Some(g) = m.time_granularity else { return };
        let model = self.model;
        let mut coarsest: Option<(Grain, &crate::model::Dimension)> = None;
        for r in self.measures_of(id) {
            let atd = model.agg_time_id(r.model, r.measure);
            let Some((_, atd)) = model.dimension_of(r.model, atd) else {
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
                .at(super::at_or(m.spans.time_granularity, m.span))
                .with_label(format!("finer than `{min}`"))
                .with_secondary(atd.span, format!("`{}` has grain `{min}`", atd.name))
                .with_help(format!("a metric cannot be shown finer than its data: use one of {}", valid.join(", "))),
            );
        }
    }

    // ----- planning ----------------------------------------------------------------------------
}
