//! Every page but the metric pages: home, lists of metrics, semantic models, saved queries,
//! people and teams, and the diagnostics of `tally validate`.

use crate::catalog::{self, Catalog, ROLES};
use crate::metric_page::{agg_text, owner};
use crate::paths;
use crate::picture::{EdgeStyle, NodeStyle, PicNode, Picture};
use crate::render::{self, Common};
use crate::{SiteFile, SiteOptions};
use minijinja::Environment;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use tally_core::diag;
use tally_core::model::{MeasureRef, Metric, MetricKind, Model, Relation};
use tally_core::spec::EntityType;

pub(crate) fn all(
    env: &Environment<'static>,
    cat: &Catalog,
    common: &Common,
    opts: &SiteOptions,
) -> Vec<SiteFile> {
    let mut out = vec![
        home(env, cat, common, opts),
        metrics_index(env, cat, common),
        models_index(env, cat, common),
        owners_index(env, cat, common),
        saved_queries_index(env, cat, common),
        diagnostics(env, cat, common),
    ];
    for (i, _) in cat.model.semantic_models.iter().enumerate() {
        out.push(model_page(env, cat, common, i));
    }
    for p in cat.model.people.values() {
        out.push(owner_page(env, cat, common, &p.name, "person"));
    }
    for t in cat.model.teams.values() {
        out.push(owner_page(env, cat, common, &t.name, "team"));
    }
    for sq in cat.model.saved_queries.values() {
        out.push(saved_query_page(env, cat, common, opts, &sq.name));
    }
    out
}

/// A metric in a list: name, label, type, first sentence, accountable owner.
fn metric_row(cat: &Catalog, m: &Metric) -> Value {
    json!({
        "name": m.name,
        "label": m.label,
        "type": m.type_name(),
        "summary": catalog::summary(m.description.as_deref()),
        "href": paths::metric(&m.name),
        "accountable": m.owners.accountable.as_deref().map(|a| owner(cat, a)),
        "tags": m.tags,
    })
}

fn home(env: &Environment, cat: &Catalog, common: &Common, opts: &SiteOptions) -> SiteFile {
    let model = cat.model;
    // The metric tree: metrics linked by `drivers:` or as formula inputs.
    let mut linked: BTreeSet<&str> = BTreeSet::new();
    let mut edges: BTreeSet<(&str, &str, bool)> = BTreeSet::new();
    for m in model.metrics.values() {
        for d in &m.drivers {
            if model.metrics.contains_key(d) {
                edges.insert((d.as_str(), m.name.as_str(), true));
            }
        }
        for i in m.input_metrics() {
            if model.metrics.contains_key(&i.name) {
                edges.insert((i.name.as_str(), m.name.as_str(), false));
            }
        }
    }
    for (a, b, _) in &edges {
        linked.insert(a);
        linked.insert(b);
    }
    // Roots: metrics that have drivers or inputs and feed nothing else.
    let feeds: BTreeSet<&str> = edges.iter().map(|(a, _, _)| *a).collect();
    let roots: Vec<Value> = model
        .metrics
        .values()
        .filter(|m| linked.contains(m.name.as_str()) && !feeds.contains(m.name.as_str()))
        .map(|m| metric_row(cat, m))
        .collect();
    let (trees, note) = trees(cat, &linked, &edges, &feeds, opts.max_picture_nodes);
    let tags: BTreeSet<&str> = model
        .metrics
        .values()
        .flat_map(|m| m.tags.iter().map(String::as_str))
        .collect();
    let ctx = json!({
        "title": "Home",
        "trees": trees,
        "picture_note": note,
        "roots": roots,
        "counts": {
            "metrics": model.metrics.len(),
            "models": model.semantic_models.len(),
            "saved_queries": model.saved_queries.len(),
            "people": model.people.len(),
            "teams": model.teams.len(),
            "tests": model.metric_tests.len(),
        },
        "tags": tags,
    });
    render::page(env, "home.html", paths::HOME, common, ctx)
}

/// At most this many trees are drawn on the home page (the largest first).
const MAX_TREES: usize = 24;

/// The metric tree split into its connected trees, each drawn on its own, largest first; and a
/// note for what is not drawn.
fn trees(
    cat: &Catalog,
    linked: &BTreeSet<&str>,
    edges: &BTreeSet<(&str, &str, bool)>,
    feeds: &BTreeSet<&str>,
    max_nodes: usize,
) -> (Vec<Value>, Option<String>) {
    if linked.is_empty() {
        return (
            Vec::new(),
            Some("No metric has drivers or metric inputs yet.".to_string()),
        );
    }
    // Connected components (union-find over the metric names).
    let names: Vec<&str> = linked.iter().copied().collect();
    let pos: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (a, b, _) in edges {
        let (x, y) = (find(&mut parent, pos[a]), find(&mut parent, pos[b]));
        if x != y {
            parent[x.max(y)] = x.min(y);
        }
    }
    let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(n);
    }
    let mut groups: Vec<Vec<&str>> = groups.into_values().collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a[0].cmp(b[0])));
    let mut out = Vec::new();
    let mut skipped = 0;
    for (k, group) in groups.iter().enumerate() {
        if group.len() > max_nodes || out.len() >= MAX_TREES {
            skipped += 1;
            continue;
        }
        let members: BTreeSet<&str> = group.iter().copied().collect();
        let mut pic = Picture::default();
        let mut idx: BTreeMap<&str, usize> = BTreeMap::new();
        let mut tops = Vec::new();
        for &name in group {
            let m = &cat.model.metrics[name];
            let top = !feeds.contains(name);
            if top {
                tops.push(json!({"name": name, "label": cat.metric_display(name), "href": paths::metric(name)}));
            }
            let i = pic.node(PicNode {
                label: cat.metric_display(name),
                detail: Some(m.type_name().to_string()),
                style: if top {
                    NodeStyle::Focus
                } else {
                    NodeStyle::Metric
                },
                href: Some(paths::metric(name)),
            });
            idx.insert(name, i);
        }
        pic.edges = edges
            .iter()
            .filter(|(a, _, _)| members.contains(a))
            .map(|(a, b, d)| {
                (
                    idx[a],
                    idx[b],
                    if *d {
                        EdgeStyle::Drives
                    } else {
                        EdgeStyle::Flow
                    },
                )
            })
            .collect();
        let title = format!(
            "The metric tree of {}: {} metrics, drivers (dashed) and formula inputs (solid) flowing left to right into it",
            tops.iter()
                .map(|t| t["label"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join(", "),
            group.len()
        );
        out.push(json!({
            "id": format!("tree-{}", k + 1),
            "tops": tops,
            "size": group.len(),
            "svg": pic.to_svg(&format!("tree-{}", k + 1), &title),
        }));
    }
    let note = (skipped > 0).then(|| {
        format!(
            "{skipped} more tree(s) are not drawn here (too large, or too many to show on one page); each metric's page draws its own lineage."
        )
    });
    (out, note)
}

fn metrics_index(env: &Environment, cat: &Catalog, common: &Common) -> SiteFile {
    let rows: Vec<Value> = cat
        .model
        .metrics
        .values()
        .map(|m| metric_row(cat, m))
        .collect();
    render::page(
        env,
        "metrics.html",
        paths::METRICS,
        common,
        json!({"title": "Metrics", "metrics": rows}),
    )
}

fn relation(r: &Relation) -> Value {
    match r {
        Relation::Table(t) => json!({"table": t, "sql": null}),
        Relation::Query(q, _) => json!({"table": null, "sql": &**q}),
    }
}

/// The measures a metric reads directly.
fn measures_of(m: &Metric) -> Vec<&MeasureRef> {
    match &m.kind {
        MetricKind::Simple(r) => vec![r],
        MetricKind::Cumulative { measure, .. } => vec![measure],
        MetricKind::Conversion {
            base, conversion, ..
        } => vec![base, conversion],
        _ => vec![],
    }
}

fn entity_type(t: EntityType) -> &'static str {
    match t {
        EntityType::Primary => "primary",
        EntityType::Unique => "unique",
        EntityType::Foreign => "foreign",
        EntityType::Natural => "natural",
    }
}

/// Joins from model `i`: (entity, target model) for each entity that is a key of another model.
fn joins_from(model: &Model, i: usize) -> Vec<(String, String)> {
    let sm = &model.semantic_models[i];
    let ids = &model.model_elements(i).entities;
    let mut out = Vec::new();
    for (e, &id) in sm.entities.iter().zip(ids) {
        for &j in model.keyed_by(id).iter().filter(|&&j| j != i) {
            out.push((e.name.clone(), model.semantic_models[j].name.clone()));
        }
    }
    out
}

fn models_index(env: &Environment, cat: &Catalog, common: &Common) -> SiteFile {
    let rows: Vec<Value> = cat
        .model
        .semantic_models
        .iter()
        .map(|sm| {
            json!({
                "name": sm.name,
                "label": sm.label,
                "summary": catalog::summary(sm.description.as_deref()),
                "href": paths::semantic_model(&sm.name),
                "relation": relation(&sm.relation),
                "entities": sm.entities.len(),
                "dimensions": sm.dimensions.len(),
                "measures": sm.measures.len(),
            })
        })
        .collect();
    render::page(
        env,
        "models.html",
        paths::MODELS,
        common,
        json!({"title": "Semantic models", "models": rows}),
    )
}

fn model_page(env: &Environment, cat: &Catalog, common: &Common, i: usize) -> SiteFile {
    let model = cat.model;
    let sm = &model.semantic_models[i];
    let path = paths::semantic_model(&sm.name);
    let joins: Vec<Value> = joins_from(model, i)
        .into_iter()
        .map(|(e, t)| json!({"entity": e, "model": t, "href": paths::semantic_model(&t)}))
        .collect();
    let joined_by: Vec<Value> = (0..model.semantic_models.len())
        .filter(|&j| j != i)
        .flat_map(|j| {
            joins_from(model, j)
                .into_iter()
                .filter(|(_, t)| *t == sm.name)
                .map(move |(e, _)| (e, j))
        })
        .map(|(e, j)| {
            let n = &model.semantic_models[j].name;
            json!({"entity": e, "model": n, "href": paths::semantic_model(n)})
        })
        .collect();
    let metrics: Vec<Value> = model
        .metrics
        .values()
        .filter(|m| measures_of(m).iter().any(|r| r.model == i))
        .map(|m| metric_row(cat, m))
        .collect();
    let ctx = json!({
        "title": sm.label.clone().unwrap_or_else(|| sm.name.clone()),
        "model": {
            "name": sm.name,
            "label": sm.label,
            "description": sm.description,
            "relation": relation(&sm.relation),
            "primary_entity": sm.primary_entity_name(),
            "default_agg_time_dimension": sm.default_agg_time_dimension,
            "location": model.sources.location(sm.span).map(|(f, l, _)| format!("{f}:{l}")),
        },
        "entities": sm.entities.iter().map(|e| json!({"name": e.name, "type": entity_type(e.kind), "expr": e.expr})).collect::<Vec<_>>(),
        "dimensions": sm.dimensions.iter().map(|d| json!({
            "name": d.name,
            "slug": paths::slug(&d.name),
            "label": d.label,
            "type": match d.time_grain { Some(g) => format!("time ({g})"), None => "categorical".into() },
            "expr": d.expr,
            "group_by": match sm.primary_entity_name() { Some(p) => format!("{p}__{}", d.name), None => d.name.clone() },
        })).collect::<Vec<_>>(),
        "measures": sm.measures.iter().map(|m| json!({
            "name": m.name,
            "slug": paths::slug(&m.name),
            "label": m.label,
            "agg": agg_text(m),
            "agg_time_dimension": m.agg_time_dimension,
        })).collect::<Vec<_>>(),
        "joins": joins,
        "joined_by": joined_by,
        "metrics": metrics,
    });
    render::page(env, "model.html", &path, common, ctx)
}

fn owners_index(env: &Environment, cat: &Catalog, common: &Common) -> SiteFile {
    let count = |name: &str, role: &str| {
        cat.owns
            .get(name)
            .map_or(0, |v| v.iter().filter(|(_, r)| *r == role).count())
    };
    let people: Vec<Value> = cat
        .model
        .people
        .values()
        .map(|p| {
            json!({
                "owner": owner(cat, &p.name),
                "teams": p.teams.iter().map(|t| json!({"name": t, "href": cat.owner_path(t)})).collect::<Vec<_>>(),
                "accountable": count(&p.name, "accountable"),
                "responsible": count(&p.name, "responsible"),
                "told": count(&p.name, "consulted") + count(&p.name, "informed"),
            })
        })
        .collect();
    let teams: Vec<Value> = cat
        .model
        .teams
        .values()
        .map(|t| {
            json!({
                "owner": owner(cat, &t.name),
                "description": t.description,
                "members": t.members.len(),
                "accountable": count(&t.name, "accountable"),
                "responsible": count(&t.name, "responsible"),
                "told": count(&t.name, "consulted") + count(&t.name, "informed"),
            })
        })
        .collect();
    render::page(
        env,
        "owners.html",
        paths::OWNERS,
        common,
        json!({"title": "People and teams", "people": people, "teams": teams}),
    )
}

fn owner_page(
    env: &Environment,
    cat: &Catalog,
    common: &Common,
    name: &str,
    kind: &str,
) -> SiteFile {
    let model = cat.model;
    let path = if kind == "person" {
        paths::person(name)
    } else {
        paths::team(name)
    };
    let by_role = |who: &str| -> Vec<Value> {
        ROLES
            .iter()
            .map(|role| {
                let ms: Vec<Value> = cat
                    .owns
                    .get(who)
                    .map(|v| {
                        v.iter()
                            .filter(|(_, r)| r == role)
                            .filter_map(|(m, _)| model.metrics.get(m))
                            .map(|m| metric_row(cat, m))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({"role": role, "metrics": ms})
            })
            .collect()
    };
    let (teams, members, description): (Vec<Value>, Vec<Value>, Option<String>) =
        if kind == "person" {
            let p = &model.people[name];
            (
                p.teams.iter().map(|t| owner(cat, t)).collect(),
                Vec::new(),
                None,
            )
        } else {
            let t = &model.teams[name];
            (
                Vec::new(),
                t.members.iter().map(|m| owner(cat, m)).collect(),
                t.description.clone(),
            )
        };
    // A person is also told about what their teams own.
    let via_teams: Vec<Value> = if kind == "person" {
        model.people[name]
            .teams
            .iter()
            .filter(|t| cat.owns.contains_key(*t))
            .map(|t| json!({"team": owner(cat, t), "roles": by_role(t)}))
            .collect()
    } else {
        Vec::new()
    };
    let ctx = json!({
        "title": cat.owner_display(name),
        "kind": kind,
        "owner": owner(cat, name),
        "description": description,
        "teams": teams,
        "members": members,
        "roles": by_role(name),
        "via_teams": via_teams,
    });
    render::page(env, "owner.html", &path, common, ctx)
}

fn saved_queries_index(env: &Environment, cat: &Catalog, common: &Common) -> SiteFile {
    let rows: Vec<Value> = cat
        .model
        .saved_queries
        .values()
        .map(|sq| {
            json!({
                "name": sq.name,
                "href": paths::saved_query(&sq.name),
                "summary": catalog::summary(sq.description.as_deref()),
                "metrics": sq.metrics.iter().map(|m| json!({"name": m.value, "href": paths::metric(&m.value), "exists": cat.model.metrics.contains_key(&m.value)})).collect::<Vec<_>>(),
            })
        })
        .collect();
    render::page(
        env,
        "saved_queries.html",
        paths::SAVED_QUERIES,
        common,
        json!({"title": "Saved queries", "saved_queries": rows}),
    )
}

fn saved_query_page(
    env: &Environment,
    cat: &Catalog,
    common: &Common,
    opts: &SiteOptions,
    name: &str,
) -> SiteFile {
    let model = cat.model;
    let sq = &model.saved_queries[name];
    let sql = match (
        opts.dialects.first(),
        tally_core::plan::QueryRequest::from_saved_query(model, name),
    ) {
        (Some(d), Ok(req)) => match tally_core::pipeline::compile(model, *d, &req) {
            Ok(c) => json!({"dialect": d.name(), "sql": c.sql, "error": null}),
            Err(ds) => {
                json!({"dialect": d.name(), "sql": null, "error": ds.iter().map(|x| format!("{}: {}", x.code, x.message)).collect::<Vec<_>>().join("; ")})
            }
        },
        (_, Err(d)) => json!({"dialect": "", "sql": null, "error": d.message}),
        (None, _) => Value::Null,
    };
    let ctx = json!({
        "title": name,
        "sq": {
            "name": sq.name,
            "description": sq.description,
            "metrics": sq.metrics.iter().map(|m| json!({"name": m.value, "label": cat.metric_display(&m.value), "href": paths::metric(&m.value), "exists": model.metrics.contains_key(&m.value)})).collect::<Vec<_>>(),
            "group_by": sq.group_by.iter().map(|g| g.value.clone()).collect::<Vec<_>>(),
            "where": sq.where_.iter().map(|w| w.text.clone()).collect::<Vec<_>>(),
            "order_by": sq.order_by.iter().map(|g| g.value.clone()).collect::<Vec<_>>(),
            "limit": sq.limit,
            "location": model.sources.location(sq.span).map(|(f, l, _)| format!("{f}:{l}")),
        },
        "sql": sql,
    });
    render::page(
        env,
        "saved_query.html",
        &paths::saved_query(name),
        common,
        ctx,
    )
}

fn diagnostics(env: &Environment, cat: &Catalog, common: &Common) -> SiteFile {
    let rows: Vec<Value> = cat
        .diags
        .iter()
        .map(|d| {
            json!({
                "code": d.code,
                "severity": d.severity.as_str(),
                "location": cat.model.sources.location(d.span).map(|(f, l, c)| format!("{f}:{l}:{c}")),
                "message": d.message,
                "text": diag::plain_text(&cat.model.sources, d),
            })
        })
        .collect();
    render::page(
        env,
        "diagnostics.html",
        paths::DIAGNOSTICS,
        common,
        json!({"title": "Diagnostics", "diagnostics": rows}),
    )
}
