//! FROM clauses: join paths from a semantic model along entities, fan-out-safe joins (with partition
//! and validity-window conditions), and group-by items as expressions over them.

use super::items::{item_out, Item, Target};
use super::spine_column;
use super::{join_path, Planner};
use crate::diag::{codes, Diagnostic};
use crate::model::{Model, Validity};
use crate::spec::EntityType;
use crate::sql::{CmpOp, Expr, Join, JoinKind, TableRef};
use crate::time::{DatePart, Grain, TimeGrain};
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// One hop of a join path: over entity `entity` to model `to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Hop {
    pub entity: String,
    pub to: usize,
}

/// A chain of joins from the root model: one alias per hop.
#[derive(Clone, Debug)]
struct Chain {
    hops: Vec<Hop>,
    aliases: Vec<String>,
}

/// What a join of a FROM clause is made for, so that it is made once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum JoinKey {
    /// The time spine, cross-joined (dimension-only queries with time items).
    TimeSpine,
    /// The relation of a metric filter, by its CTE.
    MetricFilter(String),
    /// A time spine joined for its custom granularity columns, on a truncated time (the time
    /// expression as the plan writes it).
    CustomGranularity { relation: String, time: String },
}

/// A FROM clause under construction: a root model and the joins added for items and filters.
pub(crate) struct FromBuilder {
    pub model: usize,
    pub alias: String,
    /// metric_time in this FROM clause: its expression and the grain of that expression.
    pub time: Option<(Expr, Grain)>,
    /// How dimension models are joined: LEFT OUTER for metric queries, FULL OUTER for
    /// dimension-only queries.
    pub join_kind: JoinKind,
    chains: Vec<Chain>,
    pub joins: Vec<Join>,
    /// Joins other than entity hops (time spines, metric filters), by a key, -> alias.
    keyed: IndexMap<JoinKey, String>,
    aliases: BTreeSet<String>,
}

impl FromBuilder {
    pub fn new(model: usize, alias: &str, join_kind: JoinKind) -> FromBuilder {
        let mut aliases = BTreeSet::new();
        aliases.insert(alias.to_string());
        FromBuilder {
            model,
            alias: alias.to_string(),
            time: None,
            join_kind,
            chains: Vec::new(),
            joins: Vec::new(),
            keyed: IndexMap::new(),
            aliases,
        }
    }

    pub fn fresh_alias(&mut self, base: &str) -> String {
        let mut a = base.to_string();
        let mut i = 1;
        while self.aliases.contains(&a) {
            i += 1;
            a = format!("{base}_{i}");
        }
        self.aliases.insert(a.clone());
        a
    }

    /// The alias of the join made under `key`, if any.
    pub fn keyed(&self, key: &JoinKey) -> Option<String> {
        self.keyed.get(key).cloned()
    }

    pub fn add_keyed(&mut self, key: JoinKey, alias: &str, join: Join) {
        self.keyed.insert(key, alias.to_string());
        self.joins.push(join);
    }

    /// The root relation.
    pub fn root(&self, planner: &mut Planner) -> TableRef {
        let name = planner.scan_name(self.model);
        TableRef::Cte {
            alias: (name != self.alias).then(|| self.alias.clone()),
            name,
        }
    }
}

impl<'m> Planner<'m> {
    /// A FROM clause over the scan of `model`, with metric_time on its dimension `atd`.
    pub(crate) fn fact_from(
        &mut self,
        model: usize,
        atd: Option<&str>,
        join_kind: JoinKind,
    ) -> FromBuilder {
        let alias = self.scan_name(model);
        let mut fb = FromBuilder::new(model, &alias, join_kind);
        if let Some(atd) = atd {
            self.project_element(model, atd);
            let grain = self.cx.model.semantic_models[model]
                .dimension(atd)
                .and_then(|d| d.time_grain)
                .unwrap_or(Grain::Day);
            fb.time = Some((Expr::col(&alias, atd), grain));
        }
        fb
    }

    // ----- paths ---------------------------------------------------------------------------------

    /// Find the join path from model `from` along entity links to a model that has `element`
    /// (see [`find_path`]).
    pub(crate) fn resolve_path(
        &self,
        from: usize,
        links: &[String],
        element: &str,
    ) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        find_path(self.cx.model, from, links, element)
    }

    /// The shortest of several paths (see [`pick_path`]).
    fn pick_path(
        &self,
        found: Vec<(Vec<Hop>, usize)>,
        links: &[String],
    ) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        pick_path(self.cx.model, found, links)
    }

    /// MetricFlow lets an entity path be shortened to its last links (`user__home_state` for
    /// `listing__user__home_state` when `user` is only reachable through `listing`): the paths from
    /// `from` of at most [`MAX_JOIN_HOPS`] joins whose last hops are `links` and end on a model with
    /// `element`. The output column is named by the full path, as MetricFlow names it.
    pub(crate) fn infer_path(
        &self,
        from: usize,
        links: &[String],
        element: &str,
    ) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        let models = &self.cx.model.semantic_models;
        // MetricFlow matches the given links as a suffix of the entity paths of the valid group-by
        // items, which are at most MAX_JOIN_HOPS joins long: only a path shorter than that can be
        // completed at its front.
        if links.is_empty() || links.len() >= MAX_JOIN_HOPS {
            return Err(Vec::new());
        }
        let mut found = Vec::new();
        let mut frontier: Vec<(Vec<Hop>, usize)> = vec![(Vec::new(), from)];
        for _ in 0..MAX_JOIN_HOPS {
            let mut next = Vec::new();
            for (hops, cur) in &frontier {
                for e in &models[*cur].entities {
                    // No cycles: a path joins on an entity once.
                    if hops.iter().any(|h| h.entity == e.name) {
                        continue;
                    }
                    for (ti, t) in models.iter().enumerate() {
                        if ti == *cur || ti == from || hops.iter().any(|h| h.to == ti) {
                            continue;
                        }
                        if t.entity(&e.name)
                            .is_some_and(|te| te.kind != EntityType::Foreign)
                        {
                            let mut h = hops.clone();
                            h.push(Hop {
                                entity: e.name.clone(),
                                to: ti,
                            });
                            next.push((h, ti));
                        }
                    }
                }
            }
            for (hops, m) in &next {
                let ends_with_links = hops.len() > links.len()
                    && hops[hops.len() - links.len()..]
                        .iter()
                        .map(|h| &h.entity)
                        .eq(links.iter());
                let sm = &models[*m];
                if ends_with_links
                    && (sm.dimension(element).is_some() || sm.entity(element).is_some())
                {
                    found.push((hops.clone(), *m));
                }
            }
            if !found.is_empty() {
                break;
            }
            frontier = next;
        }
        self.pick_path(found, links)
    }

    /// Rewrite group-by items whose entity path is a shortened form of a longer path (see
    /// [`Self::infer_path`]) to the full path, which names their output column.
    pub(crate) fn infer_item_paths(&mut self, items: &mut Vec<Item>, metrics: &[&str]) {
        let mut roots: Vec<usize> = Vec::new();
        for m in metrics {
            for r in self.metric_measures(m, 0) {
                if !roots.contains(&r.model) {
                    roots.push(r.model);
                }
            }
        }
        if metrics.is_empty() {
            roots = (0..self.cx.model.semantic_models.len()).collect();
        }
        for it in items.iter_mut() {
            let Target::Element { links, element, .. } = &it.target else {
                continue;
            };
            // A time dimension without an explicit grain is at the grain it has on its model.
            if it.own_grain {
                if let Some(g) = self.resolved_time_grain(&roots, links, element) {
                    if let Target::Element { grain, .. } = &mut it.target {
                        *grain = Some(TimeGrain::Standard(g));
                    }
                    it.out = item_out(&it.target);
                }
            }
            let Target::Element { links, element, .. } = &it.target else {
                continue;
            };
            if links.is_empty()
                || roots
                    .iter()
                    .any(|r| self.resolve_path(*r, links, element).is_ok())
            {
                continue;
            }
            let inferred = roots
                .iter()
                .find_map(|r| self.infer_path(*r, links, element).ok());
            if let Some((hops, _)) = inferred {
                let full: Vec<String> = hops.iter().map(|h| h.entity.clone()).collect();
                if let Target::Element { links, .. } = &mut it.target {
                    *links = full;
                }
                it.out = item_out(&it.target);
            }
        }
        let mut seen = BTreeSet::new();
        items.retain(|i| seen.insert(i.out.clone()));
    }

    /// The grain of a time dimension on the model the first root reaching it reaches.
    fn resolved_time_grain(
        &self,
        roots: &[usize],
        links: &[String],
        element: &str,
    ) -> Option<Grain> {
        roots.iter().find_map(|r| {
            let (_, m) = match self.resolve_path(*r, links, element) {
                Err(c) if c.is_empty() => self.infer_path(*r, links, element).ok()?,
                x => x.ok()?,
            };
            self.cx.model.semantic_models[m]
                .dimension(element)
                .and_then(|d| d.time_grain)
        })
    }

    /// The path from `from` to the model of an element, or a diagnostic.
    fn element_path(
        &mut self,
        from: usize,
        links: &[String],
        element: &str,
        item: &Item,
    ) -> Option<(Vec<Hop>, usize)> {
        let res = match self.resolve_path(from, links, element) {
            Err(c) if c.is_empty() => self.infer_path(from, links, element),
            r => r,
        };
        match res {
            Ok(x) => Some(x),
            Err(candidates) => {
                let name = join_path(links, element);
                if candidates.is_empty() {
                    let reachable = self.reachable_names(from);
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_GROUP_BY,
                        format!(
                            "`{name}` cannot be reached from semantic model `{}`",
                            self.cx.model.semantic_models[from].name
                        ),
                    )
                    .at(item.span)
                    .with_suggestion(&name, reachable.iter().map(String::as_str));
                    let same: Vec<&str> = reachable
                        .iter()
                        .filter(|n| **n != name && n.ends_with(&format!("__{element}")))
                        .map(String::as_str)
                        .collect();
                    let root = &self.cx.model.semantic_models[from].name;
                    if !same.is_empty() {
                        d = d.with_help(format!(
                            "`{element}` is reachable from `{root}` as {}; an entity path names the entities joined on, at most {MAX_JOIN_HOPS} joins",
                            same.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ));
                    } else {
                        if let Some(owner) =
                            self.cx.model.semantic_models.iter().find(|m| {
                                m.dimension(element).is_some() || m.entity(element).is_some()
                            })
                        {
                            d = d.with_help(format!(
                                "`{element}` is on semantic model `{}`, which `{root}` does not reach within {MAX_JOIN_HOPS} joins (MetricFlow's limit); an entity path names the entities joined on",
                                owner.name
                            ));
                        }
                        let closest = closest_names(&name, &reachable, 5);
                        if !closest.is_empty() {
                            d = d.with_help(format!(
                                "the valid group-by items of `{root}` closest to it: {}",
                                closest
                                    .iter()
                                    .map(|n| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ));
                        }
                    }
                    if links.is_empty() && self.element_exists(element) {
                        d = d.with_help("qualify a dimension with the entity it belongs to, e.g. `listing__country`");
                    }
                    self.err(d);
                } else {
                    let names: Vec<String> = candidates
                        .iter()
                        .map(|(_, m)| self.cx.model.semantic_models[*m].name.clone())
                        .collect();
                    self.err(
                        Diagnostic::error(
                            codes::AMBIGUOUS_JOIN,
                            format!(
                                "`{name}` is reachable through several semantic models: {}",
                                names.join(", ")
                            ),
                        )
                        .at(item.span)
                        .with_help("qualify it with a longer entity path"),
                    );
                }
                None
            }
        }
    }

    /// The group-by names valid from a model, as MetricFlow lists them: metric_time, the model's
    /// entities, its own dimensions and entities under each entity naming its rows, and the
    /// dimensions and entities of the models one or two joins away under the entities joined on.
    fn reachable_names(&self, from: usize) -> Vec<String> {
        valid_group_by_names(self.cx.model, from)
    }

    /// Whether `from` reaches every element item (directly or by a shortened path).
    pub(crate) fn reaches(&self, from: usize, links: &[String], element: &str) -> Option<usize> {
        match self.resolve_path(from, links, element) {
            Ok((h, _)) => Some(h.len()),
            Err(c) if c.is_empty() => self
                .infer_path(from, links, element)
                .ok()
                .map(|(h, _)| h.len()),
            Err(_) => None,
        }
    }

    // ----- joins ---------------------------------------------------------------------------------

    /// Add the joins of a path; returns the alias of the last relation.
    ///
    /// As in MetricFlow, each multi-hop path to a different model is joined as its own chain (two
    /// dimensions reached through the same bridge model from different final models join the bridge
    /// twice); a path that is a prefix of a chain reuses it, and a chain extends when a longer path
    /// continues it.
    fn ensure_chain(&mut self, fb: &mut FromBuilder, hops: &[Hop]) -> String {
        if hops.is_empty() {
            return fb.alias.clone();
        }
        if let Some(c) = fb
            .chains
            .iter()
            .find(|c| c.hops.len() >= hops.len() && c.hops[..hops.len()] == *hops)
        {
            return c.aliases[hops.len() - 1].clone();
        }
        let (ci, start) = match fb.chains.iter().position(|c| hops.starts_with(&c.hops)) {
            Some(ci) => (ci, fb.chains[ci].hops.len()),
            None => {
                fb.chains.push(Chain {
                    hops: Vec::new(),
                    aliases: Vec::new(),
                });
                (fb.chains.len() - 1, 0)
            }
        };
        for i in start..hops.len() {
            let hop = &hops[i];
            let (prev_alias, prev_model) = if i == 0 {
                (fb.alias.clone(), fb.model)
            } else {
                (fb.chains[ci].aliases[i - 1].clone(), hops[i - 1].to)
            };
            let base: String = hops[..=i]
                .iter()
                .map(|h| h.entity.as_str())
                .collect::<Vec<_>>()
                .join("__");
            let alias = fb.fresh_alias(&base);
            self.project_element(prev_model, &hop.entity);
            self.project_element(hop.to, &hop.entity);
            let mut on = vec![Expr::eq(
                Expr::col(&prev_alias, &hop.entity),
                Expr::col(&alias, &hop.entity),
            )];
            on.extend(self.partition_conditions(fb, hop.to, &alias));
            on.extend(self.validity_conditions(fb, hop.to, &alias));
            fb.joins.push(Join {
                kind: fb.join_kind,
                table: TableRef::Cte {
                    name: self.scan_name(hop.to),
                    alias: Some(alias.clone()),
                },
                on,
            });
            fb.chains[ci].hops.push(hop.clone());
            fb.chains[ci].aliases.push(alias);
        }
        fb.chains[ci].aliases[hops.len() - 1].clone()
    }

    /// Partitions with the same name on the root model and a joined model must match: a
    /// partitioned model is keyed by its entity and its partition.
    fn partition_conditions(&mut self, fb: &FromBuilder, to: usize, alias: &str) -> Vec<Expr> {
        let root = &self.cx.model.semantic_models[fb.model];
        let target = &self.cx.model.semantic_models[to];
        let mut pairs = Vec::new();
        for d in target.dimensions.iter().filter(|d| d.is_partition) {
            if let Some(r) = root.dimension(&d.name).filter(|r| r.is_partition) {
                let g = match (r.time_grain, d.time_grain) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                pairs.push((d.name.clone(), g));
            }
        }
        let mut out = Vec::new();
        for (name, g) in pairs {
            self.project_element(fb.model, &name);
            self.project_element(to, &name);
            let l = Expr::col(&fb.alias, &name);
            let r = Expr::col(alias, &name);
            out.push(match g {
                Some(g) => Expr::eq(Expr::Trunc(g, Box::new(l)), Expr::Trunc(g, Box::new(r))),
                None => Expr::eq(l, r),
            });
        }
        out
    }

    /// A model with a validity window (slowly changing dimension) joins the row valid at the fact's
    /// metric_time: `start <= time AND (time < end OR end IS NULL)`.
    fn validity_conditions(&mut self, fb: &FromBuilder, to: usize, alias: &str) -> Vec<Expr> {
        let Some((time, _)) = fb.time.clone() else {
            return Vec::new();
        };
        let target = &self.cx.model.semantic_models[to];
        let start = target
            .dimensions
            .iter()
            .find(|d| d.validity == Some(Validity::Start))
            .map(|d| (d.name.clone(), d.time_grain.unwrap_or(Grain::Day)));
        let end = target
            .dimensions
            .iter()
            .find(|d| d.validity == Some(Validity::End))
            .map(|d| (d.name.clone(), d.time_grain.unwrap_or(Grain::Day)));
        let mut out = Vec::new();
        if let Some((s, g)) = start {
            self.project_element(to, &s);
            out.push(Expr::cmp(
                Expr::Trunc(g, Box::new(time.clone())),
                CmpOp::Ge,
                Expr::Trunc(g, Box::new(Expr::col(alias, &s))),
            ));
        }
        if let Some((e, g)) = end {
            self.project_element(to, &e);
            let end_col = Expr::col(alias, &e);
            out.push(Expr::Or(vec![
                Expr::cmp(
                    Expr::Trunc(g, Box::new(time)),
                    CmpOp::Lt,
                    Expr::Trunc(g, Box::new(end_col.clone())),
                ),
                Expr::IsNull(Box::new(end_col)),
            ]));
        }
        out
    }

    /// A custom granularity of a time expression: the time spine is joined on the expression at the
    /// spine's grain and the custom column is read from it.
    pub(crate) fn custom_grain_col(
        &mut self,
        fb: &mut FromBuilder,
        time: Expr,
        name: &str,
    ) -> Option<Expr> {
        let Some((spine, column)) = self.cx.model.custom_granularity(name) else {
            self.err(
                Diagnostic::error(codes::GRANULARITY, format!("unknown time granularity `{name}`"))
                    .with_help("custom granularities are columns of a time spine: list them under `custom_granularities`"),
            );
            return None;
        };
        let (relation, spine_col, spine_grain, column) = (
            spine.relation.clone(),
            spine.column.clone(),
            spine.grain,
            column.to_string(),
        );
        let on_expr = Expr::Trunc(spine_grain, Box::new(time));
        let key = JoinKey::CustomGranularity {
            relation: relation.clone(),
            time: format!("{on_expr:?}"),
        };
        let alias = match fb.keyed(&key) {
            Some(a) => a,
            None => {
                let alias = fb.fresh_alias(&format!("{name}_spine"));
                let join = Join {
                    kind: JoinKind::Left,
                    table: TableRef::Table {
                        name: relation,
                        alias: Some(alias.clone()),
                    },
                    on: vec![Expr::eq(
                        on_expr,
                        spine_column(Expr::col(&alias, &spine_col)),
                    )],
                };
                fb.add_keyed(key, &alias, join);
                alias
            }
        };
        Some(spine_column(Expr::col(&alias, &column)))
    }

    /// A time expression at a granularity or date part.
    pub(crate) fn time_expr(
        &mut self,
        fb: &mut FromBuilder,
        col: Expr,
        col_grain: Grain,
        grain: Option<&TimeGrain>,
        part: Option<DatePart>,
    ) -> Option<Expr> {
        if let Some(p) = part {
            return Some(Expr::Extract(p, Box::new(col)));
        }
        match grain {
            Some(TimeGrain::Standard(g)) => Some(Expr::Trunc(*g, Box::new(col))),
            Some(TimeGrain::Custom(c)) => self.custom_grain_col(fb, col, c),
            None => Some(Expr::Trunc(col_grain, Box::new(col))),
        }
    }

    /// The SQL expression of an item in a FROM clause; adds the joins it needs.
    pub(crate) fn fact_item_expr(&mut self, fb: &mut FromBuilder, item: &Item) -> Option<Expr> {
        match &item.target {
            Target::MetricTime { grain, date_part } => {
                let Some((col, g)) = fb.time.clone() else {
                    self.err(
                        Diagnostic::error(
                            codes::UNKNOWN_GROUP_BY,
                            format!(
                                "`{}` is not available here: there is no aggregation time",
                                item.out
                            ),
                        )
                        .at(item.span)
                        .with_help(
                            "metric_time is the aggregation time dimension of the queried metrics",
                        ),
                    );
                    return None;
                };
                self.time_expr(fb, col, g, grain.as_ref(), *date_part)
            }
            Target::Element {
                links,
                element,
                grain,
                date_part,
            } => {
                let (hops, target) = self.element_path(fb.model, links, element, item)?;
                let alias = self.ensure_chain(fb, &hops);
                self.project_element(target, element);
                let col = Expr::col(&alias, element);
                let dim_grain = self.cx.model.semantic_models[target]
                    .dimension(element)
                    .and_then(|d| d.time_grain);
                match dim_grain {
                    Some(g) => self.time_expr(fb, col, g, grain.as_ref(), *date_part),
                    None => Some(col),
                }
            }
        }
    }
}

/// The longest entity path MetricFlow resolves (its `MAX_JOIN_HOPS`): a group-by item is at most
/// two joins away from the measure's semantic model.
pub(crate) const MAX_JOIN_HOPS: usize = 2;

/// The planner's join rule: from semantic model `from`, follow the entity `links` through models on
/// which the link is a key (primary, unique or natural), and find the nearest model that has
/// `element` (a dimension or entity). `Ok` with the path when there is exactly one (or exactly one
/// ending on a model whose primary entity is the last link); `Err` with the candidates otherwise
/// (empty when no model has it). Validation and the graph use the same rule.
pub(crate) fn find_path(
    model: &Model,
    from: usize,
    links: &[String],
    element: &str,
) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
    let models = &model.semantic_models;
    let mut states: Vec<(Vec<Hop>, usize)> = vec![(Vec::new(), from)];
    // As in MetricFlow, an entity path is either one link naming the root model's own rows (a
    // local element: `booking__is_instant`) or the entities joined on, one per hop, at most
    // MAX_JOIN_HOPS of them: `listing__user__home_state` is not `listing` kept local, then `user`.
    let local = links.len() == 1;
    if links.len() > MAX_JOIN_HOPS {
        return Err(Vec::new());
    }
    for link in links {
        let mut next = Vec::new();
        for (hops, cur) in &states {
            let m = &models[*cur];
            // `primary_entity:` names the rows' entity without a column: it qualifies local
            // dimensions only.
            if m.entity(link).is_none() && m.primary_entity.as_deref() == Some(link.as_str()) {
                if local {
                    next.push((hops.clone(), *cur));
                }
                continue;
            }
            let Some(e) = m.entity(link) else { continue };
            if local && e.kind != EntityType::Foreign {
                next.push((hops.clone(), *cur));
            }
            // The models on which `link` is a key, from the model's index.
            for ti in model.models_keyed_by(link) {
                if ti == *cur || ti == from || hops.iter().any(|h| h.to == ti) {
                    continue;
                }
                let mut h = hops.clone();
                h.push(Hop {
                    entity: link.clone(),
                    to: ti,
                });
                next.push((h, ti));
            }
        }
        states = next;
    }
    let found: Vec<(Vec<Hop>, usize)> = states
        .into_iter()
        .filter(|(_, m)| {
            let sm = &models[*m];
            sm.dimension(element).is_some() || sm.entity(element).is_some()
        })
        .collect();
    pick_path(model, found, links)
}

/// The shortest of several paths; several of the same length are ambiguous unless one ends on
/// a model whose primary entity is the last link.
fn pick_path(
    model: &Model,
    mut found: Vec<(Vec<Hop>, usize)>,
    links: &[String],
) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
    let models = &model.semantic_models;
    if found.is_empty() {
        return Err(Vec::new());
    }
    let min = found.iter().map(|(h, _)| h.len()).min().unwrap_or(0);
    found.retain(|(h, _)| h.len() == min);
    found.sort();
    found.dedup();
    if found.len() > 1 {
        let last = links.last().cloned().unwrap_or_default();
        let primary: Vec<(Vec<Hop>, usize)> = found
            .iter()
            .filter(|(_, m)| models[*m].primary_entity_name() == Some(last.as_str()))
            .cloned()
            .collect();
        if primary.len() == 1 {
            return Ok(primary.into_iter().next().expect("one"));
        }
        return Err(found);
    }
    Ok(found.into_iter().next().expect("non-empty"))
}

/// Every group-by name valid for a measure of semantic model `from`, following MetricFlow's
/// rules (its `ValidLinkableSpecResolver`): `metric_time`; the model's entities; its dimensions and
/// other entities under each entity naming its rows (primary, unique, natural or `primary_entity:`);
/// and the dimensions and entities of every model reached by one or two joins, each join on an
/// entity of the model before it to a model keyed by that entity, under the entities joined on.
/// Sorted, without duplicates; time dimensions without a grain.
pub(crate) fn valid_group_by_names(model: &Model, from: usize) -> Vec<String> {
    let models = &model.semantic_models;
    let root = &models[from];
    let mut out = vec!["metric_time".to_string()];
    let elements = |m: usize, path: &[&str], out: &mut Vec<String>| {
        let prefix = path.join("__");
        for d in &models[m].dimensions {
            out.push(format!("{prefix}__{}", d.name));
        }
        for e in &models[m].entities {
            if !path.contains(&e.name.as_str()) {
                out.push(format!("{prefix}__{}", e.name));
            }
        }
    };
    let mut local_links: Vec<&str> = root
        .entities
        .iter()
        .filter(|e| e.kind != EntityType::Foreign)
        .map(|e| e.name.as_str())
        .collect();
    if let Some(p) = root.primary_entity.as_deref() {
        local_links.push(p);
    }
    for e in &root.entities {
        out.push(e.name.clone());
    }
    for link in &local_links {
        elements(from, &[*link], &mut out);
    }
    for e1 in &root.entities {
        for t in model.models_keyed_by(&e1.name) {
            if t == from {
                continue;
            }
            elements(t, &[e1.name.as_str()], &mut out);
            for e2 in &models[t].entities {
                if e2.name == e1.name {
                    continue;
                }
                for u in model.models_keyed_by(&e2.name) {
                    if u == from || u == t {
                        continue;
                    }
                    elements(u, &[e1.name.as_str(), e2.name.as_str()], &mut out);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Up to `n` of `candidates` closest to `name` (Jaro-Winkler, ties alphabetical), as MetricFlow
/// lists suggestions for a group-by item it cannot resolve.
fn closest_names<'a>(name: &str, candidates: &'a [String], n: usize) -> Vec<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| {
            (
                strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()),
                c.as_str(),
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}
