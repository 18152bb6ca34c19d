//! Join paths: which semantic model a group-by item is on and the entity joins that reach it.
//! One search serves planning, validation ([`crate::validate`]) and the graph ([`crate::graph`]):
//! [`find_path`], with MetricFlow's shortened entity paths ([`PlanCtx::infer_path`]) on top.

use super::items::{item_out, Item, Target};
use super::PlanCtx;
use crate::model::{Metric, Model};
use crate::spec::EntityType;
use crate::time::{Grain, TimeGrain};
use std::collections::BTreeSet;

/// One hop of a join path: over entity `entity` to model `to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Hop {
    pub entity: String,
    pub to: usize,
}

impl<'m> PlanCtx<'m> {
    /// Find the join path from model `from` along entity links to a model that has `element`
    /// (see [`find_path`]).
    pub(crate) fn resolve_path(
        &self,
        from: usize,
        links: &[String],
        element: &str,
    ) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        find_path(self.model, from, links, element)
    }

    /// The shortest of several paths (see [`pick_path`]).
    pub(crate) fn pick_path(
        &self,
        found: Vec<(Vec<Hop>, usize)>,
        links: &[String],
    ) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        pick_path(self.model, found, links)
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
        let models = &self.model.semantic_models;
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
    pub(crate) fn resolved_time_grain(
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
            self.model.semantic_models[m]
                .dimension(element)
                .and_then(|d| d.time_grain)
        })
    }

    /// The group-by names valid from a model, as MetricFlow lists them: metric_time, the model's
    /// entities, its own dimensions and entities under each entity naming its rows, and the
    /// dimensions and entities of the models one or two joins away under the entities joined on.
    pub(crate) fn reachable_names(&self, from: usize) -> Vec<String> {
        valid_group_by_names(self.model, from)
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
