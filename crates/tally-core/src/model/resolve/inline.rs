//! Simple metrics that carry their own aggregation: the measure made for them.

use super::{type_name, Resolver};
use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, Measure, MeasureRef, Model, NonAdditive};
use crate::spec::{self, Agg, MetricType, WindowChoice};
use crate::yaml::Spanned;

impl Resolver<'_> {
    /// A simple metric that carries its own aggregation becomes a measure of its semantic model,
    /// named like the metric (dbt's latest spec, MetricFlow's `metric_aggregation_params`).
    pub(super) fn inline_measure(
        &mut self,
        a: &InlineAgg<'_>,
        model: &mut Model,
    ) -> Option<MeasureRef> {
        let Some(smn) = a.semantic_model else {
            self.err(
                Diagnostic::error(
                    codes::METRIC_PARAMS,
                    format!(
                        "simple metric `{}` has `agg` but no semantic model",
                        a.name.value
                    ),
                )
                .at(a.agg.span)
                .with_help(
                    "define the metric under its model's `metrics:` (dbt's latest spec), or add `semantic_model: <name>`",
                ),
            );
            return None;
        };
        let Some((mi, sm)) = model.semantic_model(&smn.value) else {
            let d = Diagnostic::error(
                codes::METRIC_PARAMS,
                format!("unknown semantic model `{}`", smn.value),
            )
            .at(smn.span)
            .with_suggestion(
                &smn.value,
                model.semantic_models.iter().map(|s| s.name.as_str()),
            )
            .with_help("a simple metric aggregates the rows of one semantic model");
            self.err(d);
            return None;
        };
        let atd = a.agg_time_dimension.cloned().or_else(|| {
            sm.default_agg_time_dimension
                .clone()
                .map(Spanned::synthetic)
        });
        let Some(atd) = atd else {
            self.err(
                Diagnostic::error(
                    codes::AGG_TIME_DIMENSION,
                    format!(
                        "metric `{}` has no aggregation time dimension",
                        a.name.value
                    ),
                )
                .at(a.name.span)
                .with_help("set `agg_time_dimension` on the metric, or on its model"),
            );
            return None;
        };
        if !sm
            .dimensions
            .iter()
            .any(|d| d.name == atd.value && d.is_time())
        {
            let time_dims: Vec<&str> = sm
                .dimensions
                .iter()
                .filter(|d| d.is_time())
                .map(|d| d.name.as_str())
                .collect();
            let span = if atd.span.is_dummy() {
                a.name.span
            } else {
                atd.span
            };
            self.err(
                Diagnostic::error(
                    codes::AGG_TIME_DIMENSION,
                    format!(
                        "aggregation time dimension `{}` of metric `{}` is not a time dimension of `{}`",
                        atd.value, a.name.value, sm.name
                    ),
                )
                .at(span)
                .with_suggestion(&atd.value, time_dims.iter().copied())
                .with_help(format!(
                    "time dimensions of `{}`: {}",
                    sm.name,
                    if time_dims.is_empty() {
                        "none".to_string()
                    } else {
                        time_dims.join(", ")
                    }
                )),
            );
            return None;
        }
        let fake = spec::Measure {
            name: a.name.clone(),
            agg: a.agg.clone(),
            expr: a.expr.cloned(),
            description: None,
            label: None,
            create_metric: false,
            agg_params: a.agg_params.clone(),
            non_additive_dimension: a.non_additive.cloned(),
            agg_time_dimension: None,
            config: None,
            meta: None,
        };
        let (kind, expr) = self.resolve_measure(
            &fake,
            a.agg.value,
            a.expr,
            a.agg_params.as_ref(),
            a.agg.span,
        )?;
        let sm = &mut model.semantic_models[mi];
        sm.measures.push(Measure {
            name: a.name.value.clone(),
            agg: kind,
            expr,
            agg_time_dimension: atd.value,
            non_additive: a.non_additive.map(|n| NonAdditive {
                dimension: n.name.value.clone(),
                dimension_span: crate::yaml::value_span(&self.spec.sources, &n.name),
                window_choice: n
                    .window_choice
                    .as_ref()
                    .map(|w| w.value)
                    .unwrap_or(WindowChoice::Min),
                window_groupings: n.window_groupings.iter().map(|g| g.value.clone()).collect(),
            }),
            label: None,
            label_span: crate::source::Span::DUMMY,
            span: a.name.span,
        });
        Some(MeasureRef {
            model: mi,
            measure: sm.measures.len() - 1,
            name: a.name.value.clone(),
            filters: vec![],
            join_to_timespine: false,
            fill_nulls_with: None,
            span: a.name.span,
        })
    }

    /// The measure behind a simple metric named as the input of a cumulative or conversion metric
    /// (MetricFlow 0.210+, dbt's latest spec): the input metric's filters, `join_to_timespine` and
    /// `fill_nulls_with` carry over, followed by the input's own filters.
    pub(super) fn simple_metric_measure(
        &mut self,
        of: &spec::Metric,
        input: &spec::Input,
        model: &Model,
    ) -> Option<MeasureRef> {
        let spec = self.spec;
        let Some(x) = spec
            .metrics
            .iter()
            .find(|x| x.name.value == input.name.value)
        else {
            let d = Diagnostic::error(
                codes::UNKNOWN_METRIC,
                format!("unknown metric `{}`", input.name.value),
            )
            .at(input.name.span)
            .with_label(format!("input of `{}`", of.name.value))
            .with_suggestion(
                &input.name.value,
                spec.metrics
                    .iter()
                    .filter(|x| x.metric_type.value == MetricType::Simple)
                    .map(|x| x.name.value.as_str()),
            )
            .with_help("the input of a cumulative or conversion metric is a simple metric");
            self.err(d);
            return None;
        };
        if x.metric_type.value != MetricType::Simple {
            self.err(
                Diagnostic::error(
                    codes::METRIC_PARAMS,
                    format!(
                        "input `{}` of `{}` is a {} metric",
                        input.name.value,
                        of.name.value,
                        type_name(x.metric_type.value)
                    ),
                )
                .at(input.name.span)
                .with_secondary(x.name.span, "defined here")
                .with_help("the input of a cumulative or conversion metric is a simple metric"),
            );
            return None;
        }
        let tp = x.type_params.as_ref();
        let mut r = match tp.and_then(|t| t.measure.as_ref()) {
            Some(mi) => self.measure_ref(model, mi)?,
            // Reported where the simple metric itself is resolved.
            None => self.inline.get(&x.name.value).cloned().flatten()?,
        };
        let mut filters: Vec<Filter> = x
            .filter
            .iter()
            .map(|f| Filter::located(f, &self.spec.sources))
            .collect();
        filters.append(&mut r.filters);
        filters.extend(
            input
                .filter
                .iter()
                .map(|f| Filter::located(f, &self.spec.sources)),
        );
        r.filters = filters;
        r.name = x.name.value.clone();
        r.span = input.name.span;
        if tp
            .and_then(|t| t.join_to_timespine)
            .or(x.join_to_timespine)
            .unwrap_or(false)
        {
            r.join_to_timespine = true;
        }
        if let Some(f) = tp
            .and_then(|t| t.fill_nulls_with.as_ref())
            .or(x.fill_nulls_with.as_ref())
        {
            r.fill_nulls_with = Some(f.value);
        }
        Some(r)
    }
}

/// A simple metric's own aggregation, from the flat keys (`agg`, `expr`, ...; dbt's latest spec as
/// translated by [`crate::spec_latest`]) or from MetricFlow's `metric_aggregation_params`.
pub(super) struct InlineAgg<'b> {
    name: &'b Spanned<String>,
    semantic_model: Option<&'b Spanned<String>>,
    agg: &'b Spanned<Agg>,
    expr: Option<&'b Spanned<String>>,
    agg_time_dimension: Option<&'b Spanned<String>>,
    agg_params: Option<spec::AggParams>,
    non_additive: Option<&'b spec::NonAdditiveDimension>,
}

/// The inline aggregation of a simple metric that has no `type_params.measure`, if any.
pub(super) fn inline_agg(m: &spec::Metric) -> Option<InlineAgg<'_>> {
    let tp = m.type_params.as_ref();
    if m.metric_type.value != MetricType::Simple || tp.is_some_and(|t| t.measure.is_some()) {
        return None;
    }
    if let Some(p) = tp.and_then(|t| t.metric_aggregation_params.as_ref()) {
        return Some(InlineAgg {
            name: &m.name,
            semantic_model: Some(&p.semantic_model),
            agg: &p.agg,
            expr: tp.and_then(|t| t.expr.as_ref()).or(p.expr.as_ref()),
            agg_time_dimension: p.agg_time_dimension.as_ref(),
            agg_params: p.agg_params.clone(),
            non_additive: p.non_additive_dimension.as_ref(),
        });
    }
    let agg = m.agg.as_ref()?;
    let discrete = m
        .percentile_type
        .as_ref()
        .is_some_and(|t| t.value.eq_ignore_ascii_case("discrete"));
    // dbt's `percentile_type: continuous` is MetricFlow's approximate percentile; without a
    // `percentile_type` the percentile is exact and continuous.
    let approximate = m
        .percentile_type
        .as_ref()
        .is_some_and(|t| t.value.eq_ignore_ascii_case("continuous"));
    let agg_params = m.agg_params.clone().or_else(|| {
        (m.percentile.is_some() || m.percentile_type.is_some()).then(|| spec::AggParams {
            percentile: m.percentile.clone(),
            use_discrete_percentile: discrete,
            use_approximate_percentile: approximate,
        })
    });
    Some(InlineAgg {
        name: &m.name,
        semantic_model: m.semantic_model.as_ref(),
        agg,
        expr: m.expr.as_ref().or(tp.and_then(|t| t.expr.as_ref())),
        agg_time_dimension: m.agg_time_dimension.as_ref(),
        agg_params,
        non_additive: m.non_additive_dimension.as_ref(),
    })
}
