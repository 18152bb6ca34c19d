//! FROM clauses: join paths from a semantic model along entities, fan-out-safe joins (with partition
//! and validity-window conditions), and group-by items as expressions over them.

use super::items::{Item, Target};
use super::paths::{closest_names, Hop, Path, MAX_JOIN_HOPS};
use super::{join_path, spine_column, Planner};
use crate::diag::{codes, Diagnostic};
use crate::model::{ElementId, ElementPath, Validity};
use crate::sql::{CmpOp, Expr, Join, JoinKind, TableRef};
use crate::time::{DatePart, Grain, TimeGrain};
use indexmap::IndexMap;
use std::collections::BTreeSet;

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
    pub(crate) fn new(model: usize, alias: &str, join_kind: JoinKind) -> FromBuilder {
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

    pub(crate) fn fresh_alias(&mut self, base: &str) -> String {
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
    pub(crate) fn keyed(&self, key: &JoinKey) -> Option<String> {
        self.keyed.get(key).cloned()
    }

    pub(crate) fn add_keyed(&mut self, key: JoinKey, alias: &str, join: Join) {
        self.keyed.insert(key, alias.to_string());
        self.joins.push(join);
    }

    /// The root relation.
    pub(crate) fn root(&self, planner: &mut Planner) -> TableRef {
        let name = planner.scan_name(self.model);
        TableRef::Cte {
            alias: (name != self.alias).then(|| self.alias.clone()),
            name,
        }
    }
}

impl<'m> Planner<'m> {
    /// A FROM clause over the scan of `model`, with metric_time on its dimension `atd` (a
    /// measure's aggregation time dimension, by id).
    pub(crate) fn fact_from(
        &mut self,
        model: usize,
        atd: Option<ElementId>,
        join_kind: JoinKind,
    ) -> FromBuilder {
        let alias = self.scan_name(model);
        let mut fb = FromBuilder::new(model, &alias, join_kind);
        if let Some(atd) = atd {
            self.project_element(model, atd);
            let grain = self
                .cx
                .model
                .time_grain_on(model, atd)
                .unwrap_or(Grain::Day);
            let name = self.cx.model.element_name(atd);
            fb.time = Some((Expr::col(&alias, name), grain));
        }
        fb
    }

    /// The path from `from` to the model of an element, or a diagnostic.
    fn element_path(
        &mut self,
        from: usize,
        links: &[String],
        element: &str,
        path: &ElementPath,
        item: &Item,
    ) -> Option<Path> {
        match self.cx.item_path_from(from, path) {
            Ok(x) => Some(x),
            Err(candidates) => {
                let name = join_path(links, element);
                if candidates.is_empty() {
                    let reachable = self.cx.reachable_names(from);
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
                        if let Some(owner) = (0..self.cx.model.semantic_models.len())
                            .find(|&m| self.cx.model.has_element(m, path.element))
                            .map(|m| &self.cx.model.semantic_models[m])
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
                    if links.is_empty() && self.cx.model.is_element(path.element) {
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
            let model = self.cx.model;
            let base: String = hops[..=i]
                .iter()
                .map(|h| model.element_name(h.entity))
                .collect::<Vec<_>>()
                .join("__");
            let alias = fb.fresh_alias(&base);
            self.project_element(prev_model, hop.entity);
            self.project_element(hop.to, hop.entity);
            let entity = model.element_name(hop.entity);
            let mut on = vec![Expr::eq(
                Expr::col(&prev_alias, entity),
                Expr::col(&alias, entity),
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
            fb.chains[ci].hops.push(*hop);
            fb.chains[ci].aliases.push(alias);
        }
        fb.chains[ci].aliases[hops.len() - 1].clone()
    }

    /// Partitions with the same name on the root model and a joined model must match: a
    /// partitioned model is keyed by its entity and its partition.
    fn partition_conditions(&mut self, fb: &FromBuilder, to: usize, alias: &str) -> Vec<Expr> {
        let model = self.cx.model;
        let target = &model.semantic_models[to];
        let ids = &model.model_elements(to).dimensions;
        let mut pairs = Vec::new();
        for (d, &id) in target
            .dimensions
            .iter()
            .zip(ids)
            .filter(|(d, _)| d.is_partition)
        {
            if let Some((_, r)) = model
                .dimension_of(fb.model, id)
                .filter(|(_, r)| r.is_partition)
            {
                let g = match (r.time_grain, d.time_grain) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                pairs.push((id, d.name.clone(), g));
            }
        }
        let mut out = Vec::new();
        for (id, name, g) in pairs {
            self.project_element(fb.model, id);
            self.project_element(to, id);
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
        let model = self.cx.model;
        let ids = &model.model_elements(to).dimensions;
        let bound = |v: Validity| {
            model.semantic_models[to]
                .dimensions
                .iter()
                .zip(ids)
                .find(|(d, _)| d.validity == Some(v))
                .map(|(d, &id)| (id, d.name.as_str(), d.time_grain.unwrap_or(Grain::Day)))
        };
        let (start, end) = (bound(Validity::Start), bound(Validity::End));
        let mut out = Vec::new();
        if let Some((id, s, g)) = start {
            self.project_element(to, id);
            out.push(Expr::cmp(
                Expr::Trunc(g, Box::new(time.clone())),
                CmpOp::Ge,
                Expr::Trunc(g, Box::new(Expr::col(alias, s))),
            ));
        }
        if let Some((id, e, g)) = end {
            self.project_element(to, id);
            let end_col = Expr::col(alias, e);
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
                path,
                grain,
                date_part,
            } => {
                let (hops, target) = self.element_path(fb.model, links, element, path, item)?;
                let alias = self.ensure_chain(fb, &hops);
                self.project_element(target, path.element);
                let col = Expr::col(&alias, element);
                match self.cx.model.time_grain_on(target, path.element) {
                    Some(g) => self.time_expr(fb, col, g, grain.as_ref(), *date_part),
                    None => Some(col),
                }
            }
        }
    }
}
