//! One page per metric: what it is, how it is computed (formula, filters, grain, SQL per dialect),
//! where it comes from and what depends on it (lineage as a picture and as lists), who owns it,
//! which tests cover it, and example queries.

use crate::catalog::{self, Catalog, ROLES};
use crate::paths;
use crate::picture::{EdgeStyle, NodeStyle, PicNode, Picture};
use crate::render::{self, Common};
use crate::{SiteFile, SiteOptions};
use minijinja::Environment;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tally_core::graph::{self, LineageKind, LineageNode};
use tally_core::model::{AggKind, Measure, MeasureRef, Metric, MetricInput, MetricKind};
use tally_core::plan::QueryRequest;
use tally_core::time::Grain;

/// Every metric page, in metric order; the work is split over threads.
pub(crate) fn pages(
    env: &Environment<'static>,
    cat: &Catalog,
    common: &Common,
    opts: &SiteOptions,
) -> Vec<SiteFile> {
    let metrics: Vec<&Metric> = cat.model.metrics.values().collect();
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    }
    .clamp(1, 64);
    let chunk = metrics.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = metrics
            .chunks(chunk)
            .map(|ms| {
                s.spawn(move || {
                    ms.iter()
                        .map(|m| page(env, cat, common, opts, m))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a metric page worker panicked"))
            .collect()
    })
}

fn page(
    env: &Environment,
    cat: &Catalog,
    common: &Common,
    opts: &SiteOptions,
    m: &Metric,
) -> SiteFile {
    let model = cat.model;
    let path = paths::metric(&m.name);
    let (formula, definition) = formula(cat, m);
    let location = model
        .sources
        .location(m.span)
        .map(|(f, l, _)| format!("{f}:{l}"));
    let lineage = graph::lineage(model, &m.name).ok();
    let (svg, picture_note) = match &lineage {
        Some(l) => lineage_picture(cat, m, l, opts.max_picture_nodes),
        None => (None, None),
    };
    let upstream: Vec<Value> = lineage
        .as_ref()
        .map(|l| l.upstream.children.iter().map(|n| tree(cat, n)).collect())
        .unwrap_or_default();
    let downstream: Vec<Value> = lineage
        .as_ref()
        .map(|l| l.downstream.iter().map(|n| tree(cat, n)).collect())
        .unwrap_or_default();
    let owners: Vec<Value> = ROLES
        .iter()
        .map(|role| {
            let names: Vec<&str> = catalog::roles(m)
                .into_iter()
                .filter(|(r, _)| r == role)
                .map(|(_, n)| n)
                .collect();
            json!({"role": role, "owners": names.iter().map(|n| owner(cat, n)).collect::<Vec<_>>()})
        })
        .collect();
    let (group_by, sql) = sql_for_dialects(cat, m, opts);
    let mut examples = vec![format!("tally query --metrics {}", m.name)];
    if let Some(g) = &group_by {
        examples[0].push_str(&format!(" --group-by {g}"));
        examples.push(format!(
            "tally query --metrics {} --group-by {g},<dimension> --start-time 2026-01-01",
            m.name
        ));
    }
    examples.push(format!(
        "tally sql --metrics {}{} --dialect snowflake",
        m.name,
        group_by
            .as_ref()
            .map(|g| format!(" --group-by {g}"))
            .unwrap_or_default()
    ));
    examples.push(format!("tally lineage {}", m.name));
    let link = |n: &String| json!({"name": n, "label": cat.metric_display(n), "href": paths::metric(n), "exists": model.metrics.contains_key(n)});
    let sections: Vec<Value> = opts
        .sections
        .iter()
        .filter_map(|s| {
            s.rows(model, m).map(|rows| {
                json!({"title": s.title(), "rows": rows.into_iter().map(|(t, v)| json!({"term": t, "text": v})).collect::<Vec<_>>()})
            })
        })
        .collect();
    let ctx = json!({
        "title": m.label.clone().unwrap_or_else(|| m.name.clone()),
        "metric": {
            "name": m.name,
            "label": m.label,
            "description": m.description,
            "type": m.type_name(),
            "tags": m.tags,
            "location": location,
            "grain": m.time_granularity.map(Grain::name),
        },
        "formula": formula,
        "definition": definition,
        "filters": m.filters.iter().map(|f| f.text.clone()).collect::<Vec<_>>(),
        "drivers": m.drivers.iter().map(link).collect::<Vec<_>>(),
        "drives": cat.drives.get(&m.name).map(|s| s.iter().map(link).collect::<Vec<_>>()).unwrap_or_default(),
        "used_by": cat.used_by.get(&m.name).map(|s| s.iter().map(link).collect::<Vec<_>>()).unwrap_or_default(),
        "owners": owners,
        "has_owners": !catalog::roles(m).is_empty(),
        "accountable": m.owners.accountable.as_deref().map(|a| owner(cat, a)),
        "tests": cat.tests.get(&m.name).map(|ts| ts.iter().map(|t| json!({"name": t.name, "description": t.description, "location": t.location, "how": t.how})).collect::<Vec<_>>()).unwrap_or_default(),
        "saved_queries": cat.saved_queries.get(&m.name).map(|s| s.iter().map(|n| json!({"name": n, "href": paths::saved_query(n)})).collect::<Vec<_>>()).unwrap_or_default(),
        "svg": svg,
        "picture_note": picture_note,
        "upstream": upstream,
        "downstream": downstream,
        "sql": sql,
        "group_by": group_by,
        "examples": examples,
        "sections": sections,
    });
    render::page(env, "metric.html", &path, common, ctx)
}

/// An owner as the pages show it.
pub(crate) fn owner(cat: &Catalog, name: &str) -> Value {
    let p = cat.model.people.get(name);
    json!({
        "name": name,
        "display": cat.owner_display(name),
        "kind": cat.owner_kind(name),
        "href": cat.owner_path(name),
        "email": p.and_then(|p| p.email.clone()),
        "title": p.and_then(|p| p.title.clone()),
    })
}

/// A piece of formula text, linked when it names a metric, measure or model.
fn part(text: impl Into<String>, href: Option<String>) -> Value {
    json!({"text": text.into(), "href": href})
}

fn metric_part(cat: &Catalog, name: &str) -> Value {
    let href = cat
        .model
        .metrics
        .contains_key(name)
        .then(|| paths::metric(name));
    part(name, href)
}

pub(crate) fn agg_text(m: &Measure) -> String {
    let f = match m.agg {
        AggKind::Sum => "sum".to_string(),
        AggKind::Min => "min".to_string(),
        AggKind::Max => "max".to_string(),
        AggKind::CountDistinct => "count distinct".to_string(),
        AggKind::Average => "average".to_string(),
        AggKind::Percentile {
            p,
            discrete,
            approximate,
        } => format!(
            "{}{} percentile {p}",
            if approximate { "approximate " } else { "" },
            if discrete { "discrete" } else { "continuous" }
        ),
    };
    format!("{f}({})", m.expr)
}

/// A measure reference: `sum(expr)` of measure `name` on model `x`, with its filters.
fn measure_parts(cat: &Catalog, r: &MeasureRef) -> Vec<Value> {
    let model = cat.model;
    let sm = &model.semantic_models[r.model];
    let ms = model.measure(r);
    let mut parts = vec![
        part("measure ", None),
        part(
            &ms.name,
            Some(format!(
                "{}#measure-{}",
                paths::semantic_model(&sm.name),
                paths::slug(&ms.name)
            )),
        ),
        part(format!(" = {} on ", agg_text(ms)), None),
        part(&sm.name, Some(paths::semantic_model(&sm.name))),
        part(format!(", by {}", ms.agg_time_dimension), None),
    ];
    for f in &r.filters {
        parts.push(part(format!("; where {}", f.text), None));
    }
    if let Some(v) = r.fill_nulls_with {
        parts.push(part(format!("; empty periods as {v}"), None));
    }
    if r.join_to_timespine {
        parts.push(part("; joined to the time spine", None));
    }
    if let Some(na) = &ms.non_additive {
        parts.push(part(format!("; non-additive over {}", na.dimension), None));
    }
    parts
}

fn input_parts(cat: &Catalog, i: &MetricInput) -> Vec<Value> {
    let mut parts = vec![metric_part(cat, &i.name)];
    if let Some(a) = &i.alias {
        parts.push(part(format!(" as {a}"), None));
    }
    if let Some(w) = &i.offset_window {
        parts.push(part(format!(", {w} earlier"), None));
    }
    if let Some(g) = &i.offset_to_grain {
        parts.push(part(format!(", at the start of the {g}"), None));
    }
    for f in &i.filters {
        parts.push(part(format!("; where {}", f.text), None));
    }
    parts
}

/// The formula as one line of linked parts, and the definition as (term, parts) rows.
fn formula(cat: &Catalog, m: &Metric) -> (Vec<Value>, Vec<Value>) {
    let row = |term: &str, parts: Vec<Value>| json!({"term": term, "parts": parts});
    let model = cat.model;
    match &m.kind {
        MetricKind::Simple(r) => (
            vec![part(agg_text(model.measure(r)), None)],
            vec![row("Measure", measure_parts(cat, r))],
        ),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => (
            vec![
                metric_part(cat, &numerator.name),
                part(" / ", None),
                metric_part(cat, &denominator.name),
            ],
            vec![
                row("Numerator", input_parts(cat, numerator)),
                row("Denominator", input_parts(cat, denominator)),
            ],
        ),
        MetricKind::Derived { expr, inputs } => {
            let names: BTreeMap<&str, &str> = inputs
                .iter()
                .map(|i| (i.output_name(), i.name.as_str()))
                .collect();
            (
                formula_parts(cat, &expr.text, &names),
                inputs
                    .iter()
                    .map(|i| row("Input", input_parts(cat, i)))
                    .collect(),
            )
        }
        MetricKind::Cumulative {
            measure,
            window,
            grain_to_date,
            period_agg,
        } => {
            let span = match (window, grain_to_date) {
                (Some(w), _) => format!("over the trailing {w}"),
                (None, Some(g)) => format!("from the start of each {g} to date"),
                (None, None) => "over all time".to_string(),
            };
            (
                vec![part(
                    format!("{} {span}", agg_text(model.measure(measure))),
                    None,
                )],
                vec![
                    row("Measure", measure_parts(cat, measure)),
                    row("Accumulates", vec![part(span, None)]),
                    row(
                        "Coarser periods take",
                        vec![part(format!("{period_agg:?}").to_lowercase(), None)],
                    ),
                ],
            )
        }
        MetricKind::Conversion {
            base,
            conversion,
            entity,
            calculation,
            window,
            constant_properties,
            ..
        } => {
            let within = window
                .as_ref()
                .map(|w| format!(" within {w}"))
                .unwrap_or_default();
            let calc = format!("{calculation:?}");
            let mut def = vec![
                row("Base events", measure_parts(cat, base)),
                row("Conversions", measure_parts(cat, conversion)),
                row("Entity", vec![part(entity, None)]),
                row("Calculation", vec![part(calc.clone(), None)]),
            ];
            if !within.is_empty() {
                def.push(row("Window", vec![part(within.trim(), None)]));
            }
            for c in constant_properties {
                def.push(row(
                    "Same value of",
                    vec![part(
                        format!("{} = {}", c.base_property, c.conversion_property),
                        None,
                    )],
                ));
            }
            let f = if calc == "ConversionRate" {
                format!("{} / {} per {entity}{within}", conversion.name, base.name)
            } else {
                format!(
                    "{} following {} per {entity}{within}",
                    conversion.name, base.name
                )
            };
            (vec![part(f, None)], def)
        }
    }
}

/// A derived formula with the input names linked to their metrics.
fn formula_parts(cat: &Catalog, text: &str, names: &BTreeMap<&str, &str>) -> Vec<Value> {
    let mut parts = Vec::new();
    let mut plain = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_alphabetic() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &text[i..end];
            match names.get(word) {
                Some(metric) if cat.model.metrics.contains_key(*metric) => {
                    if !plain.is_empty() {
                        parts.push(part(std::mem::take(&mut plain), None));
                    }
                    parts.push(part(word, Some(paths::metric(metric))));
                }
                _ => plain.push_str(word),
            }
        } else {
            plain.push(c);
        }
    }
    if !plain.is_empty() {
        parts.push(part(plain, None));
    }
    parts
}

/// The group-by of the example query and the SQL of each dialect (or why there is none).
fn sql_for_dialects(cat: &Catalog, m: &Metric, opts: &SiteOptions) -> (Option<String>, Vec<Value>) {
    let grain = match m.time_granularity {
        Some(g) if g > Grain::Month => g,
        _ => Grain::Month,
    };
    let by_time = format!("metric_time__{}", grain.name());
    let with_time = QueryRequest::of(&[m.name.as_str()], &[by_time.as_str()], &[] as &[&str]);
    let alone = QueryRequest::of(&[m.name.as_str()], &[] as &[&str], &[] as &[&str]);
    let primary = opts.dialects.first().copied();
    let group_by = match primary {
        Some(d) if tally_core::pipeline::plan(cat.model, d, &with_time).is_ok() => Some(by_time),
        Some(_) => None,
        None => Some(by_time),
    };
    let req = if group_by.is_some() {
        &with_time
    } else {
        &alone
    };
    let sql = opts
        .dialects
        .iter()
        .map(|d| match tally_core::pipeline::compile(cat.model, *d, req) {
            Ok(c) => json!({"dialect": d.name(), "sql": c.sql, "error": null}),
            Err(diags) => json!({
                "dialect": d.name(),
                "sql": null,
                "error": diags.iter().map(|x| format!("{}: {}", x.code, x.message)).collect::<Vec<_>>().join("; "),
            }),
        })
        .collect();
    (group_by, sql)
}

/// A lineage node as nested lists.
fn tree(cat: &Catalog, n: &LineageNode) -> Value {
    json!({
        "kind": kind_name(n.kind),
        "name": n.name,
        "role": n.role,
        "detail": n.detail,
        "href": node_href(cat, n),
        "children": n.children.iter().map(|c| tree(cat, c)).collect::<Vec<_>>(),
    })
}

fn kind_name(k: LineageKind) -> &'static str {
    match k {
        LineageKind::Metric => "metric",
        LineageKind::Measure => "measure",
        LineageKind::SemanticModel => "semantic model",
        LineageKind::Dimension => "dimension",
        LineageKind::Entity => "entity",
    }
}

fn node_href(cat: &Catalog, n: &LineageNode) -> Option<String> {
    let model = cat.model;
    match n.kind {
        LineageKind::Metric => model
            .metrics
            .contains_key(&n.name)
            .then(|| paths::metric(&n.name)),
        LineageKind::SemanticModel => model
            .semantic_model(&n.name)
            .map(|_| paths::semantic_model(&n.name)),
        LineageKind::Measure => model.find_measure(&n.name).map(|(mi, _)| {
            format!(
                "{}#measure-{}",
                paths::semantic_model(&model.semantic_models[mi].name),
                paths::slug(&n.name)
            )
        }),
        LineageKind::Dimension | LineageKind::Entity => None,
    }
}

/// The lineage picture: inputs flow left to right into the metric, and on to its dependents.
fn lineage_picture(
    cat: &Catalog,
    m: &Metric,
    l: &graph::Lineage,
    max_nodes: usize,
) -> (Option<String>, Option<String>) {
    let page = paths::metric(&m.name);
    let root = paths::root_of(&page);
    let mut pic = Picture::default();
    let mut ids: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut edges: std::collections::BTreeSet<(usize, usize, bool)> = Default::default();
    let mut add = |pic: &mut Picture, n: &LineageNode, focus: bool| -> usize {
        let key = (kind_name(n.kind).to_string(), n.name.clone());
        if let Some(&i) = ids.get(&key) {
            return i;
        }
        let style = if focus {
            NodeStyle::Focus
        } else {
            match n.kind {
                LineageKind::Metric => NodeStyle::Metric,
                LineageKind::Measure => NodeStyle::Measure,
                LineageKind::SemanticModel => NodeStyle::SemanticModel,
                LineageKind::Dimension | LineageKind::Entity => NodeStyle::Column,
            }
        };
        let label = match n.kind {
            LineageKind::Metric => cat.metric_display(&n.name),
            _ => n.name.clone(),
        };
        let detail = match n.kind {
            LineageKind::Metric => n.detail.clone(),
            LineageKind::Measure => Some("measure".into()),
            LineageKind::SemanticModel => Some("semantic model".into()),
            LineageKind::Dimension => Some("dimension in a filter".into()),
            LineageKind::Entity => Some("entity in a filter".into()),
        };
        let i = pic.node(PicNode {
            label,
            detail,
            style,
            href: node_href(cat, n).map(|h| format!("{root}{h}")),
        });
        ids.insert(key, i);
        i
    };
    fn up(
        pic: &mut Picture,
        n: &LineageNode,
        parent: usize,
        add: &mut dyn FnMut(&mut Picture, &LineageNode, bool) -> usize,
        edges: &mut std::collections::BTreeSet<(usize, usize, bool)>,
    ) {
        let i = add(pic, n, false);
        edges.insert((i, parent, false));
        for c in &n.children {
            up(pic, c, i, add, edges);
        }
    }
    fn down(
        pic: &mut Picture,
        n: &LineageNode,
        parent: usize,
        add: &mut dyn FnMut(&mut Picture, &LineageNode, bool) -> usize,
        edges: &mut std::collections::BTreeSet<(usize, usize, bool)>,
    ) {
        let i = add(pic, n, false);
        edges.insert((parent, i, n.role.as_deref() == Some("drives")));
        for c in &n.children {
            down(pic, c, i, add, edges);
        }
    }
    let focus = add(&mut pic, &l.upstream, true);
    for c in &l.upstream.children {
        up(&mut pic, c, focus, &mut add, &mut edges);
    }
    for c in &l.downstream {
        down(&mut pic, c, focus, &mut add, &mut edges);
    }
    for d in &l.drivers {
        if cat.model.metrics.contains_key(d) {
            let n = LineageNode {
                kind: LineageKind::Metric,
                name: d.clone(),
                role: Some("drives".into()),
                detail: cat
                    .model
                    .metrics
                    .get(d)
                    .map(|x| format!("{} metric", x.type_name())),
                owners: vec![],
                children: vec![],
            };
            let i = add(&mut pic, &n, false);
            edges.insert((i, focus, true));
        }
    }
    if pic.nodes.len() > max_nodes {
        return (
            None,
            Some(format!(
                "The lineage has {} nodes, too many to draw; the lists below show it all.",
                pic.nodes.len()
            )),
        );
    }
    pic.edges = edges
        .into_iter()
        .filter(|(a, b, _)| a != b)
        .map(|(a, b, dashed)| {
            (
                a,
                b,
                if dashed {
                    EdgeStyle::Drives
                } else {
                    EdgeStyle::Flow
                },
            )
        })
        .collect();
    let title = format!(
        "Lineage of {}: its inputs down to semantic models and filter columns, the metrics that drive it, and the metrics that depend on it",
        cat.metric_display(&m.name)
    );
    (Some(pic.to_svg("lineage", &title)), None)
}
