//! Diagnostics in a filter point at the exact character of the file, in every YAML scalar style:
//! plain, single-quoted (`''` escapes), double-quoted (backslash escapes, a line break folded to a
//! space), literal (`|`) and folded (`>`) blocks. Each case puts the mistake after the escapes or
//! line breaks that make the value differ from the file text, and asserts the text under the span
//! and its line and column.

mod common;

use tally_core::diag::{codes, Diagnostic};
use tally_core::load::LoadOptions;
use tally_core::model::{Filter, MetricKind, Model};
use tally_core::source::Span;
use tally_core::yaml::value_offsets;

const MODELS: &str = "\
semantic_models:
  - name: orders
    node_relation: {alias: orders, schema_name: shop}
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: order, type: primary, expr: order_id}
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: status, type: categorical}
    measures:
      - {name: revenue, agg: sum, expr: amount}
";

/// The first lines of the metrics file; the case adds the `filter:` key.
const HEAD: &str = "\
metrics:
  - name: paid_revenue
    type: simple
    type_params: {measure: revenue}
";

fn run(filter: &str) -> (Model, Vec<Diagnostic>) {
    let metrics = format!("{HEAD}{filter}");
    let files = [
        ("models/shop.yml", MODELS),
        ("metrics/m.yml", metrics.as_str()),
    ];
    common::from_files(&files, None)
}

/// The filter gives exactly one error, of `code`, whose span covers `text` at `(line, column)`.
fn check(filter: &str, code: &str, text: &str, at: (usize, usize)) {
    let (model, diags) = run(filter);
    let rendered = tally_core::diag::render_human(&model.sources, &diags, false);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{rendered}");
    let d = errors[0];
    assert_eq!(d.code, code, "{rendered}");
    assert_eq!(model.sources.text(d.span), Some(text), "{rendered}");
    let (file, line, column) = model.sources.location(d.span).expect("a file span");
    assert_eq!(file, "metrics/m.yml");
    assert_eq!((line, column), at, "{rendered}");
}

/// Like [`check`], for a case that gives other errors too (a cumulative metric without a time
/// spine, a metric that cannot be planned): exactly one error of `code`, at `text`.
fn check_one(case: &str, code: &str, text: &str, at: (usize, usize)) {
    let (model, diags) = run(case);
    let rendered = tally_core::diag::render_human(&model.sources, &diags, false);
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() && d.code == code)
        .collect();
    assert_eq!(errors.len(), 1, "{rendered}");
    let d = errors[0];
    assert_eq!(model.sources.text(d.span), Some(text), "{rendered}");
    let (file, line, column) = model.sources.location(d.span).expect("a file span");
    assert_eq!(file, "metrics/m.yml");
    assert_eq!((line, column), at, "{rendered}");
}

#[test]
fn reference_in_plain_scalar() {
    check(
        "    filter: 1 = 1 AND {{ Dimension('order__statuss') }} = 'paid'\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (5, 26),
    );
}

#[test]
fn parse_error_in_plain_scalar() {
    check(
        "    filter: 1 = 1 AND {{ Dimenson('order__status') }} = 'paid'\n",
        codes::EXPRESSION,
        "Dimenson",
        (5, 26),
    );
}

#[test]
fn reference_in_single_quoted_scalar() {
    check(
        "    filter: '{{ Dimension(''order__status'') }} = ''paid'' AND {{ Dimension(''order__statuss'') }} IS NOT NULL'\n",
        codes::FILTER_REFERENCE,
        "Dimension(''order__statuss'')",
        (5, 67),
    );
}

#[test]
fn parse_error_in_single_quoted_scalar() {
    check(
        "    filter: '{{ Dimension(''order__status'') }} = ''paid'' AND {{ Dimenson(''order__status'') }} IS NOT NULL'\n",
        codes::EXPRESSION,
        "Dimenson",
        (5, 67),
    );
}

#[test]
fn reference_in_double_quoted_scalar() {
    check(
        "    filter: \"{{ Dimension(\\\"order__status\\\") }} = 'caf\\u00e9'\\tAND {{ Dimension('order__statuss') }} IS NOT NULL\"\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (5, 71),
    );
}

#[test]
fn parse_error_in_double_quoted_scalar() {
    check(
        "    filter: \"{{ Dimension(\\\"order__status\\\") }} = 'caf\\u00e9'\\tAND {{ Dimenson('order__status') }} IS NOT NULL\"\n",
        codes::EXPRESSION,
        "Dimenson",
        (5, 71),
    );
}

#[test]
fn reference_in_double_quoted_line_break_scalar() {
    check(
        "    filter: \"{{ Dimension('order__status') }} = 'paid'\n      AND {{ Dimension('order__statuss') }} IS NOT NULL\"\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (6, 14),
    );
}

#[test]
fn parse_error_in_double_quoted_line_break_scalar() {
    check(
        "    filter: \"{{ Dimension('order__status') }} = 'paid'\n      AND {{ Dimenson('order__status') }} IS NOT NULL\"\n",
        codes::EXPRESSION,
        "Dimenson",
        (6, 14),
    );
}

#[test]
fn reference_in_literal_scalar() {
    check(
        "    filter: |\n      {{ Dimension('order__status') }} = 'paid'\n        AND {{ Dimension('order__statuss') }} IS NOT NULL\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (7, 16),
    );
}

#[test]
fn parse_error_in_literal_scalar() {
    check(
        "    filter: |\n      {{ Dimension('order__status') }} = 'paid'\n        AND {{ Dimenson('order__status') }} IS NOT NULL\n",
        codes::EXPRESSION,
        "Dimenson",
        (7, 16),
    );
}

#[test]
fn reference_in_folded_scalar() {
    check(
        "    filter: >\n      {{ Dimension('order__status') }} = 'paid'\n      AND {{ Dimension('order__statuss') }} IS NOT NULL\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (7, 14),
    );
}

#[test]
fn parse_error_in_folded_scalar() {
    check(
        "    filter: >\n      {{ Dimension('order__status') }} = 'paid'\n      AND {{ Dimenson('order__status') }} IS NOT NULL\n",
        codes::EXPRESSION,
        "Dimenson",
        (7, 14),
    );
}

/// An escape that writes a character found literally further on: the offset map follows the
/// escapes, where matching characters of the value with the text would jump ahead.
#[test]
fn reference_after_escapes_of_later_characters() {
    check(
        "    filter: \"\\x41 = \\x41 AND {{ Dimension('order__statuss') }} IS NOT NULL\"\n",
        codes::FILTER_REFERENCE,
        "Dimension('order__statuss')",
        (5, 33),
    );
}

/// Every filter, formula and saved-query item of a model, with its span.
fn expressions(model: &Model) -> Vec<(Span, &str)> {
    let mut texts: Vec<(Span, &str)> = Vec::new();
    for m in model.metrics.values() {
        let mut filters: Vec<&Filter> = m.filters.iter().collect();
        match &m.kind {
            MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
                filters.extend(&r.filters)
            }
            MetricKind::Conversion {
                base, conversion, ..
            } => filters.extend(base.filters.iter().chain(&conversion.filters)),
            MetricKind::Derived { expr, inputs } => {
                texts.push((expr.span, expr.text.as_str()));
                filters.extend(inputs.iter().flat_map(|i| &i.filters));
            }
            MetricKind::Ratio {
                numerator,
                denominator,
            } => filters.extend(numerator.filters.iter().chain(&denominator.filters)),
        }
        texts.extend(filters.iter().map(|f| (f.span, f.text.as_str())));
    }
    for q in model.saved_queries.values() {
        texts.extend(q.where_.iter().map(|f| (f.span, f.text.as_str())));
        texts.extend(
            q.group_by
                .iter()
                .chain(&q.order_by)
                .map(|g| (g.span, g.value.as_str())),
        );
    }
    texts.retain(|(s, _)| !s.is_dummy());
    texts
}

/// Every expression of the model has an exact offset map: its YAML text decodes to the value the
/// parser produced. Returns how many were checked.
fn all_have_offset_maps(model: &Model) -> usize {
    let texts = expressions(model);
    for &(span, value) in &texts {
        let file = model.sources.get(span.file).expect("a file");
        let map = value_offsets(&file.text, span.start as usize, span.end as usize, value);
        assert!(
            map.is_some(),
            "{:?}: {value:?}",
            model.sources.location(span)
        );
    }
    texts.len()
}

#[test]
fn every_expression_of_the_repository_project_has_an_offset_map() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (model, _) = tally_core::pipeline::load_model(
        &root,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    assert!(all_have_offset_maps(&model) > 20);
}

#[test]
fn every_expression_of_metricflows_manifests_has_an_offset_map() {
    let dir = common::metricflow_dir().join("manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("MetricFlow's manifests")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut checked = 0;
    for name in &names {
        let (model, _) = common::load_manifest(name);
        checked += all_have_offset_maps(&model);
    }
    assert!(
        names.len() >= 5 && checked > 50,
        "{} manifests, {checked}",
        names.len()
    );
}

// ----- derived formulas ------------------------------------------------------------------------

/// A derived metric over `paid_revenue`; the case adds the `expr:` key (indented for
/// `type_params`).
const DERIVED: &str = "  - name: doubled
    type: derived
    type_params:
      metrics: [paid_revenue]
";

/// The formula gives exactly one error, of `code`, whose span covers `text` at `(line, column)`.
fn check_formula(expr: &str, code: &str, text: &str, at: (usize, usize)) {
    check(&format!("{DERIVED}{expr}"), code, text, at);
}

#[test]
fn formula_name_in_plain_scalar() {
    check_formula(
        "      expr: paid_revenue * 2 + paid_revenu\n",
        codes::DERIVED_INPUT,
        "paid_revenu",
        (9, 32),
    );
}

#[test]
fn formula_name_in_single_quoted_scalar() {
    check_formula(
        "      expr: 'CASE WHEN paid_revenue > 0 THEN ''yes'' END = ''yes'' AND paid_revenu > 1'\n",
        codes::DERIVED_INPUT,
        "paid_revenu",
        (9, 72),
    );
}

#[test]
fn formula_name_in_double_quoted_line_break_scalar() {
    check_formula(
        "      expr: \"paid_revenue\\t* 2\n        + paid_revenu\"\n",
        codes::DERIVED_INPUT,
        "paid_revenu",
        (10, 11),
    );
}

#[test]
fn formula_name_in_literal_scalar() {
    check_formula(
        "      expr: |\n        paid_revenue * 2\n          + paid_revenu\n",
        codes::DERIVED_INPUT,
        "paid_revenu",
        (11, 13),
    );
}

#[test]
fn formula_name_in_folded_scalar() {
    check_formula(
        "      expr: >\n        paid_revenue * 2\n        + paid_revenu\n",
        codes::DERIVED_INPUT,
        "paid_revenu",
        (11, 11),
    );
}

#[test]
fn formula_parse_error_in_double_quoted_scalar() {
    check_formula(
        "      expr: \"'caf\\u00e9' = 'x' OR paid_revenue -- a comment\"\n",
        codes::EXPRESSION,
        "-- a comment",
        (9, 48),
    );
}

#[test]
fn formula_parse_error_in_literal_scalar() {
    check_formula(
        "      expr: |\n        paid_revenue\n          -- a comment\n",
        codes::EXPRESSION,
        "-- a comment",
        (11, 11),
    );
}

/// A saved query's group-by item in a quoted scalar: the reference inside it is found exactly.
#[test]
fn saved_query_group_by_in_double_quoted_scalar() {
    check(
        "saved_queries:\n  - name: by_status\n    query_params:\n      metrics: [paid_revenue]\n      group_by: [\"metric_time\", \"{{ Dimension('order\\x5f_statuss') }}\"]\n",
        codes::SAVED_QUERY,
        "Dimension('order\\x5f_statuss')",
        (9, 37),
    );
}

// ----- group-by items of metric references -----------------------------------------------------

/// A second metric whose filter the case gives (indented for the metric's keys).
const FILTERED: &str = "  - name: big_orders
    type: simple
    type_params: {measure: revenue}
";

/// The group-by items of `Metric(...)` are parsed with the filter, at resolution: an item that
/// cannot be reached is reported at its own characters, inside the single-quoted scalar.
#[test]
fn metric_group_by_item_in_single_quoted_scalar() {
    check_one(
        &format!("{FILTERED}    filter: '{{{{ Metric(''paid_revenue'', group_by=[''order'', ''orderr'']) }}}} > 10'\n"),
        codes::FILTER_REFERENCE,
        "orderr",
        (8, 65),
    );
}

#[test]
fn metric_group_by_item_in_literal_scalar() {
    check_one(
        &format!("{FILTERED}    filter: |\n      {{{{ Metric('paid_revenue',\n         group_by=['orderr']) }}}} > 10\n"),
        codes::FILTER_REFERENCE,
        "orderr",
        (10, 21),
    );
}

// ----- values the model keeps a span for -------------------------------------------------------
// Labels, windows, aliases, time granularities and constant properties: their spans come from
// the YAML layer (the characters of the value in every scalar style), not from searching text.

#[test]
fn duplicate_label_in_double_quoted_scalar() {
    check(
        "    label: 'Paid ''revenue'''\n  - name: other\n    type: simple\n    type_params: {measure: revenue}\n    label: \"Paid \\x27revenue\\x27\"\n",
        codes::LABEL,
        "Paid \\x27revenue\\x27",
        (9, 13),
    );
}

#[test]
fn duplicate_label_in_folded_scalar() {
    check(
        "    label: Paid revenue\n  - name: other\n    type: simple\n    type_params: {measure: revenue}\n    label: >-\n      Paid\n      revenue\n",
        codes::LABEL,
        "Paid\n      revenue",
        (10, 7),
    );
}

#[test]
fn empty_window_in_single_quoted_scalar() {
    check_one(
        "  - name: running\n    type: cumulative\n    type_params: {measure: revenue, window: '0 days'}\n",
        codes::CUMULATIVE_PARAMS,
        "0 days",
        (7, 46),
    );
}

#[test]
fn invalid_alias_in_double_quoted_scalar() {
    check(
        &format!("{DERIVED}      expr: paid_revenue * 2\n  - name: aliased\n    type: derived\n    type_params:\n      expr: \"1\"\n      metrics:\n        - {{name: paid_revenue, alias: \"paid_revenue\\x2Dx\"}}\n"),
        codes::INVALID_NAME,
        "paid_revenue\\x2Dx",
        (15, 40),
    );
}

#[test]
fn time_granularity_in_double_quoted_scalar() {
    check(
        "    time_granularity: \"\\x68our\"\n",
        codes::METRIC_TIME_GRANULARITY,
        "\\x68our",
        (5, 24),
    );
}
