//! Join paths: which semantic model a group-by item is on and the entity joins that reach it.
//! One search serves planning, validation ([`crate::validate`]) and the graph ([`crate::graph`]):
//! [`find_path`], with MetricFlow's shortened entity paths ([`PlanCtx::infer_path`]) on top.

use super::items::{item_out, Item, Target};
use super::PlanCtx;
use crate::model::{ElementId, ElementPath, Metric, Model};
use crate::spec::EntityType;
use crate::time::{Grain, TimeGrain};
use std::collections::BTreeSet;

/// One hop of a join path: over entity `entity` to model `to`. Ids compare as their names do, so
/// paths sort as by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Hop {
    pub entity: ElementId,
    pub to: usize,
}

/// A join path: the hops from the root model, and the model reached.
pub(crate) type Path = (Vec<Hop>, usize);

impl<'m> PlanCtx<'m> {
    /// Find the join path from model `from` along the entity links of `path` to a model that
    /// has its element (see [`find_path`]).
    pub(crate) fn resolve_path(&self, from: usize, path: &ElementPath) -> Result<Path, Vec<Path>> {
        find_path(self.model, from, path)
    }

    /// [`Self::resolve_path`], or when no model has the element along those links, the path
    /// MetricFlow infers from a shortened one ([`Self::infer_path`]): how planning resolves an
    /// item.
    pub(crate) fn item_path_from(
        &self,
        from: usize,
        path: &ElementPath,
    ) -> Result<Path, Vec<Path>> {
        match self.resolve_path(from, path) {
            Err(c) if c.is_empty() => self.infer_path(from, path),
            r => r,
        }
    }

    /// MetricFlow lets an entity path be shortened to its last links (`user__home_state` for
    /// `listing__user__home_state` when `user` is only reachable through `listing`): the paths from
    /// `from` of at most [`MAX_JOIN_HOPS`] joins whose last hops are `path`'s links and end on a
    /// model with its element. The output column is named by the full path, as MetricFlow names it.
    pub(crate) fn infer_path(&self, from: usize, path: &ElementPath) -> Result<Path, Vec<Path>> {
        let model = self.model;
        let links = &path.links;
        // MetricFlow matches the given links as a suffix of the entity paths of the valid group-by
        // items, which are at most MAX_JOIN_HOPS joins long: only a path shorter than that can be
        // completed at its front.
        if links.is_empty() || links.len() >= MAX_JOIN_HOPS {
            return Err(Vec::new());
        }
        let mut found = Vec::new();
        let mut frontier: Vec<Path> = vec![(Vec::new(), from)];
        for _ in 0..MAX_JOIN_HOPS {
            let mut next = Vec::new();
            for (hops, cur) in &frontier {
                for &e in &model.model_elements(*cur).entities {
                    // No cycles: a path joins on an entity once.
                    if hops.iter().any(|h| h.entity == e) {
                        continue;
                    }
                    for &ti in model.keyed_by(e) {
                        if ti == *cur || ti == from || hops.iter().any(|h| h.to == ti) {
                            continue;
                        }
                        let mut h = hops.clone();
                        h.push(Hop { entity: e, to: ti });
                        next.push((h, ti));
                    }
                }
            }
            for (hops, m) in &next {
                let ends_with_links = hops.len() > links.len()
                    && hops[hops.len() - links.len()..]
                        .iter()
                        .map(|h| h.entity)
                        .eq(links.iter().copied());
                if ends_with_links && model.has_element(*m, path.element) {
                    found.push((hops.clone(), *m));
                }
            }
            if !found.is_empty() {
                break;
            }
            frontier = next;
        }
        pick_path(model, found, links)
    }

    /// Rewrite group-by items whose entity path is a shortened form of a longer path (see
    /// [`Self::infer_path`]) to the full path, which names their output column.
    pub(crate) fn infer_item_paths(&mut self, items: &mut Vec<Item>, metrics: &[&Metric]) {
        let mut roots: Vec<usize> = Vec::new();
        for m in metrics {
            for r in self.metric_measures(m, 0) {
                if !roots.contains(&r.model) {
                    roots.push(r.model);
                }
            }
        }
        if metrics.is_empty() {
            roots = (0..self.model.semantic_models.len()).collect();
        }
        for it in items.iter_mut() {
            let Some(path) = it.path().cloned() else {
                continue;
            };
            // A time dimension without an explicit grain is at the grain it has on its model.
            if it.own_grain {
                if let Some(g) = self.resolved_time_grain(&roots, &path) {
                    if let Target::Element { grain, .. } = &mut it.target {
                        *grain = Some(TimeGrain::Standard(g));
                    }
                    it.out = item_out(&it.target);
                }
            }
            if path.links.is_empty() || roots.iter().any(|r| self.resolve_path(*r, &path).is_ok()) {
                continue;
            }
            let inferred = roots.iter().find_map(|r| self.infer_path(*r, &path).ok());
            if let Some((hops, _)) = inferred {
                if let Target::Element {
                    links, path: ids, ..
                } = &mut it.target
                {
                    *links = hops
                        .iter()
                        .map(|h| self.model.element_name(h.entity).to_string())
                        .collect();
                    ids.links = hops.iter().map(|h| h.entity).collect();
                }
                it.out = item_out(&it.target);
            }
        }
        let mut seen = BTreeSet::new();
        items.retain(|i| seen.insert(i.out.clone()));
    }

    /// The grain of a time dimension on the model the first root reaching it reaches.
    pub(crate) fn resolved_time_grain(&self, roots: &[usize], path: &ElementPath) -> Option<Grain> {
        roots.iter().find_map(|r| {
            let (_, m) = self.item_path_from(*r, path).ok()?;
            self.model.time_grain_on(m, path.element)
        })
    }

    /// The group-by names valid from a model ([`queryable_names`]), for "did you mean".
    pub(crate) fn reachable_names(&self, from: usize) -> Vec<String> {
        queryable_names(self.model, [from])
    }

    /// The number of joins from `from` to the element (directly or by a shortened path), if it
    /// is reached.
    pub(crate) fn reaches(&self, from: usize, path: &ElementPath) -> Option<usize> {
        self.item_path_from(from, path).ok().map(|(h, _)| h.len())
    }
}

/// The longest entity path MetricFlow resolves (its `MAX_JOIN_HOPS`): a group-by item is at most
/// two joins away from the measure's semantic model.
pub(crate) const MAX_JOIN_HOPS: usize = 2;

/// The planner's join rule: from semantic model `from`, follow the entity links of `path` through
/// models on which the link is a key (primary, unique or natural), and find the nearest model
/// that has its element (a dimension or entity). `Ok` with the path when there is exactly one (or
/// exactly one ending on a model whose primary entity is the last link); `Err` with the
/// candidates otherwise (empty when no model has it). Validation and the graph use the same rule.
/// Reads element ids only.
pub(crate) fn find_path(model: &Model, from: usize, path: &ElementPath) -> Result<Path, Vec<Path>> {
    let links = &path.links;
    let mut states: Vec<Path> = vec![(Vec::new(), from)];
    // As in MetricFlow, an entity path is either one link naming the root model's own rows (a
    // local element: `booking__is_instant`) or the entities joined on, one per hop, at most
    // MAX_JOIN_HOPS of them: `listing__user__home_state` is not `listing` kept local, then `user`.
    let local = links.len() == 1;
    if links.len() > MAX_JOIN_HOPS {
        return Err(Vec::new());
    }
    for &link in links {
        let mut next = Vec::new();
        for (hops, cur) in &states {
            let entity = model.entity_of(*cur, link);
            // `primary_entity:` names the rows' entity without a column: it qualifies local
            // dimensions only.
            if entity.is_none() && model.model_elements(*cur).primary_entity == Some(link) {
                if local {
                    next.push((hops.clone(), *cur));
                }
                continue;
            }
            let Some((_, e)) = entity else { continue };
            if local && e.kind != EntityType::Foreign {
                next.push((hops.clone(), *cur));
            }
            // The models on which `link` is a key.
            for &ti in model.keyed_by(link) {
                if ti == *cur || ti == from || hops.iter().any(|h| h.to == ti) {
                    continue;
                }
                let mut h = hops.clone();
                h.push(Hop {
                    entity: link,
                    to: ti,
                });
                next.push((h, ti));
            }
        }
        states = next;
    }
    let found: Vec<Path> = states
        .into_iter()
        .filter(|(_, m)| model.has_element(*m, path.element))
        .collect();
    pick_path(model, found, links)
}

/// The shortest of several paths; several of the same length are ambiguous unless one ends on
/// a model whose primary entity is the last link.
fn pick_path(model: &Model, mut found: Vec<Path>, links: &[ElementId]) -> Result<Path, Vec<Path>> {
    if found.is_empty() {
        return Err(Vec::new());
    }
    let min = found.iter().map(|(h, _)| h.len()).min().unwrap_or(0);
    found.retain(|(h, _)| h.len() == min);
    found.sort();
    found.dedup();
    if found.len() > 1 {
        let last = links.last().copied();
        let mut primary = found
            .iter()
            .filter(|(_, m)| last.is_some() && model.model_elements(*m).primary == last);
        if let (Some(one), None) = (primary.next(), primary.next()) {
            return Ok(one.clone());
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
fn valid_group_by_names(model: &Model, from: usize) -> Vec<String> {
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
    let ids = |m: usize| {
        models[m]
            .entities
            .iter()
            .zip(&model.model_elements(m).entities)
    };
    for (e1, &id1) in ids(from) {
        for &t in model.keyed_by(id1) {
            if t == from {
                continue;
            }
            elements(t, &[e1.name.as_str()], &mut out);
            for (e2, &id2) in ids(t) {
                if id2 == id1 {
                    continue;
                }
                for &u in model.keyed_by(id2) {
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

/// The group-by names a user can query from any of the semantic models `from` (each model's
/// [`valid_group_by_names`], merged: sorted, without duplicates): the one list of suggestions
/// for an item that cannot be reached, whether the planner or validation reports it.
pub(crate) fn queryable_names(model: &Model, from: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut from = from.into_iter();
    let Some(first) = from.next() else {
        return vec!["metric_time".to_string()];
    };
    let mut out = valid_group_by_names(model, first);
    let mut more = false;
    for f in from {
        out.extend(valid_group_by_names(model, f));
        more = true;
    }
    if more {
        out.sort();
        out.dedup();
    }
    out
}

/// Up to `n` of `candidates` closest to `name` (Jaro-Winkler, ties alphabetical), as MetricFlow
/// lists suggestions for a group-by item it cannot resolve.
pub(crate) fn closest_names<'a>(name: &str, candidates: &'a [String], n: usize) -> Vec<&'a str> {
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
