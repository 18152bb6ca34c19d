//! Diagnostics in a filter point at the exact character of the file, in every YAML scalar style:
//! plain, single-quoted (`''` escapes), double-quoted (backslash escapes, a line break folded to a
//! space), literal (`|`) and folded (`>`) blocks. Each case puts the mistake after the escapes or
//! line breaks that make the value differ from the file text, and asserts the text under the span
//! and its line and column.

use tally_core::diag::{codes, Diagnostic};
use tally_core::load::{load_files, LoadOptions};
use tally_core::model::{spec_to_model, Model};
use tally_core::validate::validate_model;

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
    let (spec, mut diags) = load_files(&files, None, &LoadOptions::default());
    let (model, more) = spec_to_model(spec);
    diags.extend(more);
    diags.extend(validate_model(&model));
    (model, diags)
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
