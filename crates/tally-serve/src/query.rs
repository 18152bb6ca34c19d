//! dbt-mcp's query parameters as a tally [`QueryRequest`]: group-by items `{name, type, grain}`
//! become tally's names (`metric_time__month`), order items must name a metric or a group-by item
//! (as dbt-mcp requires), the where filter passes [`crate::guard`].

use crate::error::ServeError;
use crate::params::{GroupByParam, GroupByType, OrderByParam, QueryParams};
use tally_core::diag::codes;
use tally_core::model::{Filter, Model};
use tally_core::plan::QueryRequest;
use tally_core::source::Span;
use tally_core::yaml::Spanned;

/// A group-by item in tally's syntax.
fn group_by_name(g: &GroupByParam) -> Result<(String, String), ServeError> {
    match g {
        GroupByParam::Name(n) => Ok((n.trim().to_string(), n.trim().to_string())),
        GroupByParam::Item { name, kind, grain } => {
            let name = name.trim().to_string();
            let item = match (kind, grain.as_deref().map(str::trim)) {
                (GroupByType::Entity, Some(_)) => {
                    return Err(ServeError::params(format!(
                        "the entity `{name}` has a grain; grains apply to time dimensions"
                    )))
                }
                (_, Some(g)) if !g.is_empty() => format!("{name}__{}", g.to_ascii_lowercase()),
                _ => name.clone(),
            };
            Ok((name, item))
        }
    }
}

/// Build the request (a saved query first, when named, then the parameters on top).
pub fn request(model: &Model, p: &QueryParams) -> Result<QueryRequest, ServeError> {
    let mut req = match &p.saved_query {
        Some(name) => QueryRequest::from_saved_query(model, name)
            .map_err(|d| ServeError::from_diagnostics(&model.sources, &[d]))?,
        None => QueryRequest::default(),
    };
    for m in &p.metrics.0 {
        let m = m.trim();
        if !m.is_empty() {
            req.metrics.push(Spanned::synthetic(m.to_string()));
        }
    }
    let mut groups: Vec<(String, String)> = Vec::new();
    for g in p.group_by.iter().flatten() {
        let (name, item) = group_by_name(g)?;
        req.group_by.push(Spanned::synthetic(item.clone()));
        groups.push((name, item));
    }
    for o in p.order_by.iter().flatten() {
        let (name, descending, grain) = match o {
            OrderByParam::Name(n) => {
                let n = n.trim();
                match n.strip_prefix('-') {
                    Some(rest) => (rest.trim().to_string(), true, None),
                    None => (n.to_string(), false, None),
                }
            }
            OrderByParam::Item {
                name,
                descending,
                grain,
            } => (name.trim().to_string(), *descending, grain.clone()),
        };
        let item = if req.metrics.iter().any(|m| m.value == name) {
            name.clone()
        } else if let Some((base, item)) = groups.iter().find(|(n, i)| *n == name || *i == name) {
            match grain.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
                Some(g) => format!("{base}__{}", g.to_ascii_lowercase()),
                None => item.clone(),
            }
        } else if req.group_by.iter().any(|g| g.value == name) {
            name.clone()
        } else {
            return Err(ServeError::new(
                codes::INVALID_QUERY,
                422,
                format!("Order by `{name}` not found in metrics or group by"),
            )
            .with_help("order by a queried metric or a group_by item"));
        };
        let item = if descending { format!("-{item}") } else { item };
        req.order_by.push(Spanned::synthetic(item));
    }
    if let Some(w) = &p.where_ {
        let w = strip_quotes(w.trim());
        if !w.is_empty() {
            // Parsed once: the guard reads the parse the planner uses.
            let filter = Filter::new(w.to_string(), Span::DUMMY);
            crate::guard::check_filter(&filter)?;
            req.where_.push(filter);
        }
    }
    if p.limit.is_some() {
        req.limit = p.limit;
    }
    if req.metrics.is_empty() && req.group_by.is_empty() {
        return Err(ServeError::params(
            "the query has no metrics and no group_by; name at least one metric (see list_metrics)",
        ));
    }
    Ok(req)
}

/// Agents often wrap the filter in one more pair of quotes; dbt-mcp strips them.
fn strip_quotes(w: &str) -> &str {
    if w.len() >= 2 && w.starts_with('"') && w.ends_with('"') {
        &w[1..w.len() - 1]
    } else {
        w
    }
}

/// Whether the rows come in an asked-for order (the request's or its saved query's).
pub fn has_order(req: &QueryRequest) -> bool {
    !req.order_by.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Names;

    fn model() -> Model {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let (m, diags) = tally_core::pipeline::load_model(
            &root,
            &tally_core::load::LoadOptions::default(),
            &tally_templates::builtin(),
        );
        assert!(!diags.iter().any(|d| d.is_error()));
        m
    }

    #[test]
    fn dbt_mcp_items_become_tally_names() {
        let m = model();
        let p = QueryParams {
            metrics: Names(vec!["csat".into()]),
            group_by: Some(vec![
                GroupByParam::Item {
                    name: "metric_time".into(),
                    kind: GroupByType::TimeDimension,
                    grain: Some("MONTH".into()),
                },
                GroupByParam::Name("team__team_name".into()),
            ]),
            order_by: Some(vec![
                OrderByParam::Item {
                    name: "metric_time".into(),
                    descending: true,
                    grain: None,
                },
                OrderByParam::Name("-csat".into()),
            ]),
            where_: Some("\"{{ Dimension('team__team_name') }} = 'Billing'\"".into()),
            limit: Some(3),
            ..QueryParams::default()
        };
        let r = request(&m, &p).expect("request");
        let v = |x: &[Spanned<String>]| x.iter().map(|s| s.value.clone()).collect::<Vec<_>>();
        assert_eq!(v(&r.group_by), ["metric_time__month", "team__team_name"]);
        assert_eq!(v(&r.order_by), ["-metric_time__month", "-csat"]);
        assert_eq!(
            r.where_[0].text,
            "{{ Dimension('team__team_name') }} = 'Billing'"
        );
        assert_eq!(r.limit, Some(3));
    }

    #[test]
    fn order_items_must_be_queried() {
        let m = model();
        let p = QueryParams {
            metrics: Names(vec!["csat".into()]),
            order_by: Some(vec![OrderByParam::Name("conversation_volume".into())]),
            ..QueryParams::default()
        };
        let e = request(&m, &p).expect_err("unknown order");
        assert!(
            e.message
                .contains("Order by `conversation_volume` not found"),
            "{e}"
        );
    }
}
