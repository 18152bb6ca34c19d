//! The repository root is itself a tally project (Intercom support metrics, see docs/intercom.md):
//! it must load and resolve without errors, every metric must plan on its own and by the group-by
//! items the docs use, and every saved query must compile to SQL that parses back.

use std::path::{Path, PathBuf};
use tally_core::diag::render_human;
use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::{plan_query, QueryRequest};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[allow(
    clippy::print_stderr,
    reason = "a test helper outside #[test]: shows the project's warnings in the test's output"
)]
fn load() -> Model {
    // The same stages as `tally validate`: load, resolve, semantic validation.
    let (model, diags) = tally_core::pipeline::load_model(
        &project_root(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(
        errors.is_empty(),
        "the project has errors:\n{}",
        render_human(&model.sources, &errors, false)
    );
    if !diags.is_empty() {
        eprintln!("{}", render_human(&model.sources, &diags, false));
    }
    model
}

fn req(metrics: &[&str], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, wheres)
}

/// Compile a request to SQL (plan, render, parse back), or panic with the diagnostics.
fn compile(model: &Model, r: &QueryRequest) -> String {
    if let Err(d) = plan_query(model, r) {
        panic!(
            "{:?} by {:?} does not plan:\n{}",
            r.metrics,
            r.group_by,
            render_human(&model.sources, &d, false)
        );
    }
    match tally_core::pipeline::compile(model, Dialect::DuckDb, r) {
        Ok(c) => c.sql,
        Err(d) => panic!(
            "{:?} by {:?} does not compile:\n{}",
            r.metrics,
            r.group_by,
            render_human(&model.sources, &d, false)
        ),
    }
}

/// Write the SQL where a developer can run it against the sample database, when asked to.
fn dump(name: &str, sql: &str) {
    if let Some(dir) = std::env::var_os("TALLY_DUMP_SQL") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the dump directory");
        std::fs::write(dir.join(format!("{name}.sql")), sql).expect("write the SQL");
    }
}

const METRICS: &[&str] = &[
    "conversation_volume",
    "outbound_conversation_volume",
    "tagged_conversations",
    "tagged_mature_conversations",
    "tagged_resolved_conversations",
    "tag_resolution_rate",
    "mature_conversations",
    "resolved_conversations",
    "resolution_rate",
    "teammate_resolution_rate",
    "first_closed_conversations",
    "reopened_conversations",
    "reopen_rate",
    "abandonment_eligible_conversations",
    "abandoned_conversations",
    "abandonment_rate",
    "resolution_time_average",
    "resolution_time_median",
    "first_response_time_average",
    "first_response_time_median",
    "first_response_time_business_median",
    "first_response_time_business_average",
    "team_first_response_time_business_median",
    "team_first_response_time_business_average",
    "time_to_first_close_business_median",
    "time_to_first_close_business_average",
    "time_to_last_close_business_median",
    "time_to_last_close_business_average",
    "first_response_sla_attainment",
    "first_responses",
    "first_response_sla_breaches",
    "first_response_sla_decided",
    "first_response_sla_breach_rate",
    "reply_time_business_median",
    "reply_time_business_average",
    "office_hours_reconciled_conversations",
    "office_hours_admin_reply_mismatches",
    "office_hours_first_close_mismatches",
    "office_hours_last_close_mismatches",
    "first_response_time_p90",
    "conversations_without_teammate_reply",
    "unanswered_conversations",
    "rated_conversations",
    "positive_ratings",
    "csat",
    "average_rating",
    "closed_conversations",
    "repeat_contacts",
    "repeat_contact_rate",
    "customers_with_closed_conversations",
    "repeat_contacting_customers",
    "repeat_contact_customer_rate",
    "help_center_sessions",
    "self_served_sessions",
    "self_serve_resolution_rate",
    "article_views",
    "anonymous_article_views",
    "identified_article_views",
    "resolving_article_views",
    "article_resolution_rate",
    "automated_resolutions",
    "automated_resolution_rate",
    "fin_conversations",
    "fin_automated_resolution_rate",
    "fin_resolutions",
    "fin_reported_resolution_rate",
    "proactive_messages_sent",
    "proactive_messages_delivered",
    "proactive_messages_opened",
    "proactive_messages_clicked",
    "proactive_messages_replied",
    "proactive_open_rate",
    "proactive_click_rate",
    "conversations_resolved_without_repeat_contact",
    "resolved_without_repeat_contact_rate",
    // Intercom's conversation statistics (metrics/statistics.yml).
    "new_inbound_conversations",
    "time_to_assignment_average",
    "time_to_assignment_median",
    "time_to_admin_reply_average",
    "time_to_admin_reply_median",
    "time_to_first_close_average",
    "time_to_first_close_median",
    "time_to_last_close_average",
    "time_to_last_close_median",
    "time_to_last_human_close_average",
    "time_to_last_human_close_median",
    "reply_time_average",
    "reply_time_median",
    "conversation_median_reply_time_median",
    // CSAT as Intercom attributes it (metrics/csat_attribution.yml).
    "rating_eligible_conversations",
    "rated_eligible_conversations",
    "rating_response_rate",
    "teammate_rated_conversations",
    "teammate_positive_ratings",
    "teammate_csat",
    "fin_answered_sessions",
    "fin_closed_conversations",
    "funnel_articles_resolution_rate",
    "funnel_automated_resolution_rate",
    "funnel_self_serve_resolution_rate",
    "human_served_conversations",
    "human_served_conversations_previous_period",
    "human_served_csat",
    "human_served_csat_previous_period",
    "human_served_first_response_time_median",
    "human_served_first_response_time_median_previous_period",
    "human_served_time_to_close_median",
    "human_served_time_to_close_median_previous_period",
    "people_seeking_support",
    "proactive_messages_reacted",
    "resolved_support_sessions",
    "session_article_views",
    "sessions_human_after_self_serve",
    "sessions_human_from_start",
    "sessions_resolved_self_serve",
    "sessions_stopped_seeking",
    "support_sessions",
    "unfollowed_article_views",
];

#[test]
fn project_resolves_without_errors() {
    let model = load();
    assert_eq!(model.name, "intercom_support");
    for m in METRICS {
        let metric = model
            .metric(m)
            .unwrap_or_else(|| panic!("metric `{m}` is missing"));
        assert!(metric.label.is_some(), "metric `{m}` has no label");
        assert!(
            metric.description.is_some(),
            "metric `{m}` has no description"
        );
        assert!(
            metric.owners.accountable.is_some(),
            "metric `{m}` has no accountable owner"
        );
    }
    assert_eq!(
        model.metrics.len(),
        METRICS.len(),
        "a metric is not listed in METRICS"
    );
    let ns = model
        .metric("resolved_without_repeat_contact_rate")
        .expect("north star");
    for d in [
        "resolution_rate",
        "csat",
        "first_response_time_median",
        "repeat_contact_rate",
        "abandonment_rate",
    ] {
        assert!(
            ns.drivers.iter().any(|x| x == d),
            "the north star is not driven by `{d}`"
        );
    }
}

#[test]
fn every_metric_plans_alone_and_by_month() {
    let model = load();
    for m in METRICS {
        let sql = compile(&model, &req(&[m], &[], &[]));
        dump(m, &sql);
        compile(&model, &req(&[m], &["metric_time__month"], &[]));
    }
}

#[test]
fn readme_queries_plan() {
    let model = load();
    let cases: &[(&str, &[&str], &[&str], &[&str])] = &[
        (
            "readme_first",
            &["resolution_rate", "csat"],
            &["metric_time__month", "conversation__team"],
            &[],
        ),
        (
            "by_team_name",
            &["resolution_rate", "csat"],
            &["metric_time__month", "team__team_name"],
            &[],
        ),
        (
            "by_conversation_team_name",
            &["resolution_rate"],
            &["conversation__team_name"],
            &[],
        ),
        (
            "by_channel",
            &[
                "conversation_volume",
                "first_response_time_median",
                "first_response_time_p90",
                "abandonment_rate",
            ],
            &["metric_time__week", "conversation__channel"],
            &[],
        ),
        (
            "by_assignee",
            &["csat", "average_rating"],
            &["conversation__assignee_name", "admin__job_title"],
            &[],
        ),
        (
            "by_source_type",
            &["conversation_volume", "resolution_rate"],
            &["conversation__source_type"],
            &[],
        ),
        (
            "north_star_tree",
            &[
                "resolved_without_repeat_contact_rate",
                "resolution_rate",
                "csat",
                "first_response_time_median",
                "repeat_contact_rate",
                "abandonment_rate",
            ],
            &["metric_time__month"],
            &[],
        ),
        (
            "articles",
            &["article_views", "article_resolution_rate"],
            &["article__article_title"],
            &[],
        ),
        (
            "contact_role",
            &["conversation_volume", "self_serve_resolution_rate"],
            &["contact__role"],
            &[],
        ),
        (
            "email_only",
            &["resolution_rate", "first_response_time_average"],
            &["metric_time__month"],
            &["{{ Dimension('conversation__channel') }} = 'email'"],
        ),
        (
            "proactive",
            &["proactive_open_rate", "proactive_click_rate"],
            &["content_receipt__content_type"],
            &[],
        ),
    ];
    for (name, metrics, group_by, wheres) in cases {
        let sql = compile(&model, &req(metrics, group_by, wheres));
        dump(name, &sql);
    }
}

#[test]
fn saved_queries_compile() {
    let model = load();
    assert!(model.saved_queries.len() >= 3);
    for name in model.saved_queries.keys() {
        let r = QueryRequest::from_saved_query(&model, name).expect("saved query");
        let sql = compile(&model, &r);
        dump(&format!("saved_{name}"), &sql);
    }
}

#[test]
fn model_sql_renders() {
    let model = load();
    for sm in &model.semantic_models {
        if let tally_core::model::Relation::Query(q, span) = &sm.relation {
            match tally_core::jinja::render_sql(q, *span, &model.macros, "duckdb", &model.vars) {
                Ok(sql) => dump(&format!("model_{}", sm.name), &sql),
                Err(d) => panic!("{}", render_human(&model.sources, &[d], false)),
            }
        }
    }
}
