//! The order of a query's group-by columns: MetricFlow's (`mf query` and the dbt Semantic Layer
//! APIs, whose default is its "legacy type-grouped" column order).
//!
//! MetricFlow groups the output columns by kind: time dimensions (metric_time among them), then
//! entities, then dimensions, then metrics in the requested order. Within a kind the columns come in
//! the order of the data set MetricFlow builds: first the elements of the measure's own semantic
//! model (in the order they are defined there, metric_time after its time dimensions), then those
//! of each joined model in the order of the joins (the join that brings the most items first, then
//! the model with the fewest group-by items, then model order), a model two joins away right after
//! the model it is joined through. The same element at several grains comes from the finest grain
//! up, date parts after grains. The order the items were requested in plays no part.

use super::items::Item;
use super::paths::Hop;
use super::PlanCtx;
use crate::model::SemanticModel;
use crate::spec::EntityType;
use crate::time::{DatePart, Grain, TimeGrain};

/// Where an item's column comes in MetricFlow's output, as a sortable key.
type Key = (u8, usize, usize, usize, usize, usize);

impl<'m> PlanCtx<'m> {
    /// Sort group-by items into MetricFlow's output order for a query whose rows come from the
    /// semantic model `root` (the first measure's, or the model a query without metrics reads).
    /// Items that `root` cannot reach keep their relative order after the others.
    pub(crate) fn order_items_as_metricflow(
        &self,
        items: &mut [Item],
        root: usize,
        metric_query: bool,
    ) {
        let paths: Vec<Option<(Vec<Hop>, usize)>> =
            items.iter().map(|it| self.item_path(root, it)).collect();
        // Joins by their first hop, ranked as MetricFlow picks join candidates.
        let mut joins: Vec<(Hop, usize, usize)> = Vec::new();
        for (hops, _) in paths.iter().flatten() {
            let Some(first) = hops.first() else { continue };
            match joins.iter_mut().find(|(h, _, _)| h == first) {
                Some(j) => j.1 += 1,
                None => joins.push((*first, 1, 0)),
            }
        }
        for (first, _, size) in joins.iter_mut() {
            let mut models = vec![first.to];
            for (hops, _) in paths.iter().flatten() {
                if hops.first() == Some(&*first) && hops.len() > 1 && !models.contains(&hops[1].to)
                {
                    models.push(hops[1].to);
                }
            }
            *size = models
                .iter()
                .map(|m| self.group_by_item_count(*m, metric_query))
                .sum();
        }
        joins.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.to.cmp(&b.0.to)));
        let mut keyed: Vec<(Key, usize)> = items
            .iter()
            .zip(&paths)
            .enumerate()
            .map(|(i, (it, path))| (self.output_key(it, path.as_ref(), &joins), i))
            .collect();
        keyed.sort();
        let sorted: Vec<Item> = keyed.iter().map(|(_, i)| items[*i].clone()).collect();
        items.clone_from_slice(&sorted);
    }

    /// The path from `root` to an item's model (the same resolution as planning uses).
    pub(crate) fn item_path(&self, root: usize, it: &Item) -> Option<(Vec<Hop>, usize)> {
        self.item_path_from(root, it.path()?).ok()
    }

    pub(crate) fn output_key(
        &self,
        it: &Item,
        path: Option<&(Vec<Hop>, usize)>,
        joins: &[(Hop, usize, usize)],
    ) -> Key {
        let grain = grain_rank(it.grain(), it.date_part());
        let Some(element) = it.path().map(|p| p.element) else {
            // metric_time: a time dimension of the measure's model, after its own.
            return (0, 0, 1, 0, 0, grain);
        };
        let Some((hops, model)) = path else {
            return (3, usize::MAX, 0, 0, 0, 0);
        };
        let is_time = it.grain().is_some() || it.date_part().is_some();
        let (kind, index) = match self.model.dimension_of(*model, element) {
            Some((i, _)) => (if is_time { 0 } else { 2 }, i),
            None => (
                1,
                self.model
                    .entity_of(*model, element)
                    .map_or(usize::MAX, |(i, _)| i),
            ),
        };
        let block = match hops.first() {
            None => 0,
            Some(first) => {
                1 + joins
                    .iter()
                    .position(|(h, _, _)| h == first)
                    .unwrap_or(joins.len())
            }
        };
        // (metric_time, at 0, 0, 1, follows the measure model's own time dimensions.)
        (kind, block, 0, hops.len(), index, grain)
    }

    /// How many group-by items a semantic model's data set offers as MetricFlow counts them (each
    /// time dimension at every grain and date part, under each entity naming its rows, plus
    /// metric_time when the model has measures and the query metrics): MetricFlow tries the
    /// smaller data sets first when several joins bring as many items.
    pub(crate) fn group_by_item_count(&self, model: usize, metric_query: bool) -> usize {
        let sm: &SemanticModel = &self.model.semantic_models[model];
        let time_specs =
            |g: Grain| Grain::ALL.iter().filter(|x| **x >= g).count() + DatePart::ALL.len();
        let own_primary = self
            .model
            .model_elements(model)
            .primary_entity
            .is_some_and(|p| self.model.entity_of(model, p).is_none());
        let links = 1
            + sm.entities
                .iter()
                .filter(|e| e.kind != EntityType::Foreign)
                .count()
            + usize::from(own_primary);
        let per_link: usize = sm
            .dimensions
            .iter()
            .map(|d| d.time_grain.map_or(1, time_specs))
            .sum::<usize>()
            + sm.entities.len();
        let metric_time = if metric_query && !sm.measures.is_empty() {
            time_specs(Grain::Day)
        } else {
            0
        };
        links * per_link + metric_time
    }
}

/// Finer grains first, a date part after every grain.
fn grain_rank(grain: Option<&TimeGrain>, part: Option<DatePart>) -> usize {
    match (part, grain) {
        (Some(p), _) => 100 + DatePart::ALL.iter().position(|x| *x == p).unwrap_or(0),
        (None, Some(TimeGrain::Standard(g))) => Grain::ALL.iter().position(|x| x == g).unwrap_or(0),
        (None, Some(TimeGrain::Custom(_))) => 50,
        (None, None) => 0,
    }
}
