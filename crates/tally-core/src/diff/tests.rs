//! The diff on small projects written inline.

use super::*;
use crate::load::{load_files, LoadOptions};
use crate::model::spec_to_model;
use crate::model::Model;

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
    let (m, diags) = spec_to_model(spec, &crate::jinja::Templates::new(tally_templates::BASE));
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
