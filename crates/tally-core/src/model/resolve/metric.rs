//! Metrics: inputs, measure references and the per-type parameters, one function per metric
//! type; [`Resolver::resolve_metric`] picks the type's and adds what every metric has.

use super::inline::inline_agg;
use super::{type_name, Resolver};
use crate::diag::{codes, Diagnostic};
use crate::model::{
    ConstantProperty, DerivedFormula, ElementId, Filter, MeasureRef, Metric, MetricId, MetricInput,
    MetricKind, MetricSpans, Model,
};
use crate::source::Span;
use crate::spec::{
    self, ConversionCalculation, MetricType, MetricTypeParams as TypeParams, PeriodAgg,
};
use crate::yaml::{value_span, Spanned};
use indexmap::IndexMap;

impl Resolver<'_> {
    pub(super) fn measure_ref(&mut self, model: &Model, input: &spec::Input) -> Option<MeasureRef> {
        match model.find_measure(&input.name.value) {
            Some((mi, i)) => Some(MeasureRef {
                model: mi,
                measure: i,
                name: input.name.value.clone(),
                filters: self.filters(&input.filter.0),
                join_to_timespine: input.join_to_timespine,
                fill_nulls_with: input.fill_nulls_with.as_ref().map(|f| f.value),
                span: input.name.span,
            }),
            None => {
                let d = Diagnostic::error(
                    codes::UNKNOWN_MEASURE,
                    format!("unknown measure `{}`", input.name.value),
                )
                .at(input.name.span)
                .with_label("no semantic model defines this measure")
                .with_suggestion(&input.name.value, model.measure_names());
                self.err(d);
                None
            }
        }
    }

    /// Filters of a project file, each parsed with the spans of its scalar.
    fn filters(&self, filters: &[Spanned<String>]) -> Vec<Filter> {
        filters
            .iter()
            .map(|f| Filter::located(f, &self.spec.sources))
            .collect()
    }

    /// The characters of an optional value in the file, [`Span::DUMMY`] when it is absent.
    fn value_at(&self, s: Option<&Spanned<String>>) -> Span {
        s.map_or(Span::DUMMY, |s| value_span(&self.spec.sources, s))
    }

    pub(super) fn metric_input(&mut self, input: &spec::Input) -> MetricInput {
        MetricInput {
            name: input.name.value.clone(),
            metric: MetricId::UNBOUND,
            alias: input.alias.as_ref().map(|a| a.value.clone()),
            filters: self.filters(&input.filter.0),
            offset_window: input.offset_window.as_ref().and_then(|w| self.window(w)),
            offset_to_grain: input
                .offset_to_grain
                .as_ref()
                .and_then(|g| self.time_grain(g)),
            span: input.name.span,
            alias_span: self.value_at(input.alias.as_ref()),
            offset_to_grain_span: self.value_at(input.offset_to_grain.as_ref()),
        }
    }

    /// A metric of the project: its type's parameters, then what every metric has. `None` (and
    /// a diagnostic) when its parameters do not resolve.
    pub(super) fn resolve_metric(&mut self, m: &spec::Metric, model: &mut Model) -> Option<Metric> {
        let tp = m.type_params.clone().unwrap_or_default();
        let mut spans = MetricSpans {
            label: self.value_at(m.label.as_ref()),
            time_granularity: self.value_at(m.time_granularity.as_ref()),
            ..MetricSpans::default()
        };
        let kind = match m.metric_type.value {
            MetricType::Simple => self.simple_metric(m, &tp, model)?,
            MetricType::Ratio => self.ratio_metric(m, &tp)?,
            MetricType::Derived => self.derived_metric(m, &tp)?,
            MetricType::Cumulative => self.cumulative_metric(m, &tp, model, &mut spans)?,
            MetricType::Conversion => self.conversion_metric(m, &tp, model, &mut spans)?,
        };
        let time_granularity = match &m.time_granularity {
            Some(g) => self.grain(g),
            None => None,
        };
        let owners = self.resolve_owners(m, model);
        Some(Metric {
            name: m.name.value.clone(),
            span: m.name.span,
            label: m.label.as_ref().map(|l| l.value.clone()),
            description: m.description.clone(),
            kind,
            filters: self.filters(&m.filter.0),
            time_granularity,
            owners,
            drivers: m.drivers.iter().map(|d| d.value.clone()).collect(),
            tags: m.tags.clone(),
            hidden: m.hidden || tp.is_private == Some(true),
            spans,
        })
    }

    /// E0205: a metric of type `m` lacks `what`.
    fn missing_param(&mut self, m: &spec::Metric, what: &str, help: &str) {
        self.err(
            Diagnostic::error(
                codes::METRIC_PARAMS,
                format!(
                    "{} metric `{}` has no {what}",
                    type_name(m.metric_type.value),
                    m.name.value
                ),
            )
            .at(m.metric_type.span)
            .with_help(help.to_string()),
        );
    }

    fn simple_metric(
        &mut self,
        m: &spec::Metric,
        tp: &TypeParams,
        model: &Model,
    ) -> Option<MetricKind> {
        let mut measure = if let Some(input) = &tp.measure {
            self.measure_ref(model, input)?
        } else if inline_agg(m).is_some() {
            self.inline.get(&m.name.value).cloned().flatten()?
        } else {
            self.missing_param(
                m,
                "measure",
                "add `type_params: {measure: <measure>}`, or `agg:` and `expr:` (newer dbt spec)",
            );
            return None;
        };
        if let Some(j) = tp.join_to_timespine.or(m.join_to_timespine) {
            measure.join_to_timespine |= j;
        }
        if let Some(f) = tp.fill_nulls_with.as_ref().or(m.fill_nulls_with.as_ref()) {
            measure.fill_nulls_with = Some(f.value);
        }
        Some(MetricKind::Simple(measure))
    }

    fn ratio_metric(&mut self, m: &spec::Metric, tp: &TypeParams) -> Option<MetricKind> {
        let (Some(n), Some(d)) = (
            tp.numerator.as_ref().or(m.numerator.as_deref()),
            tp.denominator.as_ref().or(m.denominator.as_deref()),
        ) else {
            self.missing_param(
                m,
                "numerator and denominator",
                "add `type_params: {numerator: <metric>, denominator: <metric>}`",
            );
            return None;
        };
        Some(MetricKind::Ratio {
            numerator: self.metric_input(n),
            denominator: self.metric_input(d),
        })
    }

    fn derived_metric(&mut self, m: &spec::Metric, tp: &TypeParams) -> Option<MetricKind> {
        let Some(expr) = tp.expr.as_ref().or(m.expr.as_ref()) else {
            self.missing_param(
                m,
                "expr",
                "add `type_params: {expr: <formula over input metrics>}`",
            );
            return None;
        };
        let Some(inputs) = tp.metrics.as_ref().or(m.input_metrics.as_ref()) else {
            self.missing_param(m, "input metrics", "add `type_params: {metrics: [...]}`");
            return None;
        };
        let inputs: Vec<MetricInput> = inputs.iter().map(|i| self.metric_input(i)).collect();
        let mut seen: IndexMap<&str, Span> = IndexMap::new();
        for i in &inputs {
            if let Some(prev) = seen.get(i.output_name()) {
                self.err(
                    Diagnostic::error(
                        codes::DERIVED_INPUT,
                        format!(
                            "two inputs of `{}` are called `{}`",
                            m.name.value,
                            i.output_name()
                        ),
                    )
                    .at(i.span)
                    .with_secondary(*prev, "first here")
                    .with_help("give one of them an `alias`"),
                );
            }
            seen.insert(i.output_name(), i.span);
        }
        let names: Vec<&str> = inputs.iter().map(MetricInput::output_name).collect();
        Some(MetricKind::Derived {
            expr: DerivedFormula::located(expr, &self.spec.sources, &names),
            inputs,
        })
    }

    fn cumulative_metric(
        &mut self,
        m: &spec::Metric,
        tp: &TypeParams,
        model: &Model,
        spans: &mut MetricSpans,
    ) -> Option<MetricKind> {
        let ctp = tp.cumulative_type_params.clone().unwrap_or_default();
        let measure = if let Some(input) = tp.measure.as_ref() {
            self.measure_ref(model, input)?
        } else if let Some(input) = ctp.metric.as_ref().or(m.input_metric.as_deref()) {
            self.simple_metric_measure(m, input, model)?
        } else {
            self.missing_param(
                m,
                "input",
                "add `input_metric: <simple metric>` (or legacy `type_params: {measure: <measure>}`)",
            );
            return None;
        };
        let window_s = ctp
            .window
            .as_ref()
            .or(tp.window.as_ref())
            .or(m.window.as_ref());
        let gtd_s = ctp
            .grain_to_date
            .as_ref()
            .or(tp.grain_to_date.as_ref())
            .or(m.grain_to_date.as_ref());
        if let (Some(w), Some(_)) = (window_s, gtd_s) {
            self.err(
                Diagnostic::error(
                    codes::CUMULATIVE_PARAMS,
                    "a cumulative metric takes a window or grain_to_date, not both",
                )
                .at(w.span)
                .with_help("remove one of them"),
            );
            return None;
        }
        spans.window = self.value_at(window_s);
        spans.grain_to_date = self.value_at(gtd_s);
        let window = match window_s {
            Some(w) => Some(self.window(w)?),
            None => None,
        };
        let grain_to_date = match gtd_s {
            Some(g) => Some(self.time_grain(g)?),
            None => None,
        };
        Some(MetricKind::Cumulative {
            measure,
            window,
            grain_to_date,
            period_agg: ctp
                .period_agg
                .as_ref()
                .or(m.period_agg.as_ref())
                .map(|p| p.value)
                .unwrap_or(PeriodAgg::First),
        })
    }

    fn conversion_metric(
        &mut self,
        m: &spec::Metric,
        tp: &TypeParams,
        model: &Model,
        spans: &mut MetricSpans,
    ) -> Option<MetricKind> {
        let ctp = tp.conversion_type_params.clone().unwrap_or_default();
        // Legacy measures, or (MetricFlow 0.210+, dbt's latest spec) simple metrics.
        let base_in = ctp.base_measure.as_ref().map(|b| (b, false)).or_else(|| {
            ctp.base_metric
                .as_ref()
                .or(m.base_metric.as_deref())
                .map(|b| (b, true))
        });
        let conv_in = ctp
            .conversion_measure
            .as_ref()
            .map(|c| (c, false))
            .or_else(|| {
                ctp.conversion_metric
                    .as_ref()
                    .or(m.conversion_metric.as_deref())
                    .map(|c| (c, true))
            });
        let (Some((b, b_metric)), Some((c, c_metric)), Some(e)) =
            (base_in, conv_in, ctp.entity.as_ref().or(m.entity.as_ref()))
        else {
            self.missing_param(
                m,
                "base, conversion and entity",
                "a conversion metric needs `entity`, `base_metric` and `conversion_metric` (legacy: conversion_type_params with base_measure, conversion_measure and entity)",
            );
            return None;
        };
        let base = if b_metric {
            self.simple_metric_measure(m, b, model)
        } else {
            self.measure_ref(model, b)
        };
        let conversion = if c_metric {
            self.simple_metric_measure(m, c, model)
        } else {
            self.measure_ref(model, c)
        };
        let window_s = ctp.window.as_ref().or(m.window.as_ref());
        spans.window = self.value_at(window_s);
        let window = match window_s {
            Some(w) => Some(self.window(w)?),
            None => None,
        };
        let (base, conversion) = (base?, conversion?);
        for (r, input) in [(&base, b), (&conversion, c)] {
            let sm = &model.semantic_models[r.model];
            if sm.entity(&e.value).is_none() {
                self.err(
                    Diagnostic::error(codes::CONVERSION_PARAMS, format!("entity `{}` is not in semantic model `{}` of measure `{}`", e.value, sm.name, input.name.value))
                        .at(e.span)
                        .with_suggestion(&e.value, sm.entities.iter().map(|x| x.name.as_str()))
                        .with_help("a conversion entity must be an entity of both the base and the conversion measure's semantic model"),
                );
                return None;
            }
        }
        let properties = if ctp.constant_properties.is_empty() {
            &m.constant_properties
        } else {
            &ctp.constant_properties
        };
        Some(MetricKind::Conversion {
            base,
            conversion,
            entity: e.value.clone(),
            // Bound once the semantic models are final (`elements::bind_metric_elements`).
            entity_id: ElementId::UNKNOWN,
            calculation: ctp
                .calculation
                .as_ref()
                .or(m.calculation.as_ref())
                .map(|c| c.value)
                .unwrap_or(ConversionCalculation::ConversionRate),
            window,
            constant_properties: properties
                .iter()
                .map(|p| ConstantProperty {
                    base_property: p.base_property.value.clone(),
                    conversion_property: p.conversion_property.value.clone(),
                    base_span: value_span(&self.spec.sources, &p.base_property),
                    conversion_span: value_span(&self.spec.sources, &p.conversion_property),
                    base_id: ElementId::UNKNOWN,
                    conversion_id: ElementId::UNKNOWN,
                })
                .collect(),
        })
    }
}
