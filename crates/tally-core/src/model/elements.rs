//! Element names bound to ids: every dimension, time dimension and entity name of the project
//! (and every `primary_entity:`) gets an [`ElementId`] once, when the model is resolved, with the
//! places it occurs: per name, the semantic models that have a dimension or an entity of that
//! name and the models keyed by it; per semantic model, the ids of its entities and dimensions.
//!
//! Binding ([`super::bind`]) turns a reference's text into an [`ElementPath`] (entity links and
//! element as ids) once; the join-path search (`plan::paths`), the planner, validation and the
//! graph then ask these tables by id and never look an element up by its text. Names stay for
//! rendering (SQL column names, output names, diagnostics).
//!
//! Names of elements written elsewhere in the project are bound here too: per measure, its
//! aggregation time dimension and its non-additive dimension with its window groupings (in the
//! per-model tables, [`ModelElements`]); per conversion metric, its entity and its constant
//! properties ([`bind_metric_elements`], on the metric itself). A name no semantic model has
//! binds to [`ElementId::UNKNOWN`] (resolution reports it, at its span, before anything reads the
//! id).
//!
//! Ids are given in the names' sorted order, so ids compare as their names do: anything sorted by
//! id (join paths, candidates in a message) comes out as it would sorted by name.

use super::{Dimension, Entity, MetricKind, Model, SemanticModel};
use crate::spec::EntityType;
use crate::time::Grain;
use std::collections::HashMap;

/// An element name of the project (a dimension, time dimension or entity name, or a
/// `primary_entity:`), interned: the same name on several semantic models is one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElementId(pub u32);

impl ElementId {
    /// A name no semantic model has: found on no model, joined on by no path.
    pub const UNKNOWN: ElementId = ElementId(u32::MAX);

    fn index(self) -> usize {
        self.0 as usize
    }
}

/// An element reference bound to ids: the entity links joined on, then the element.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ElementPath {
    pub links: Vec<ElementId>,
    pub element: ElementId,
}

/// The ids of one semantic model's elements, parallel to its `entities` and `dimensions`.
#[derive(Debug, Default)]
pub struct ModelElements {
    pub entities: Vec<ElementId>,
    pub dimensions: Vec<ElementId>,
    /// `primary_entity:` (the rows' entity named without a column), if set.
    pub primary_entity: Option<ElementId>,
    /// The primary entity: the `primary` entity, else `primary_entity:`.
    pub primary: Option<ElementId>,
    /// Parallel to `measures`: each measure's aggregation time dimension
    /// ([`ElementId::UNKNOWN`] if no model has that name).
    pub agg_time: Vec<ElementId>,
    /// Parallel to `measures`: each measure's non-additive dimension and window groupings, for
    /// a semi-additive measure.
    pub non_additive: Vec<Option<NonAdditiveIds>>,
}

/// A measure's `non_additive_dimension` bound to ids: the dimension, then the window groupings
/// (entities), in the order written ([`ElementId::UNKNOWN`] for a name no model has; resolution
/// reports a name that is not a time dimension or an entity of the measure's model).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NonAdditiveIds {
    pub dimension: ElementId,
    pub window_groupings: Vec<ElementId>,
}

/// Where each element name occurs, by id.
#[derive(Debug, Default)]
pub(crate) struct Elements {
    ids: HashMap<String, ElementId>,
    names: Vec<String>,
    /// Per id: the grain of the first time dimension of that name (in model order), if any.
    time_grain: Vec<Option<Grain>>,
    /// Per id: whether some semantic model has a dimension or an entity of that name.
    is_element: Vec<bool>,
    /// Per id: the semantic models (ascending) whose first entity of that name is not foreign.
    keyed_by: Vec<Vec<usize>>,
    /// Per semantic model: its elements' ids.
    models: Vec<ModelElements>,
}

impl Elements {
    pub(crate) fn build(models: &[SemanticModel]) -> Elements {
        let mut all: Vec<&str> = Vec::new();
        for m in models {
            all.extend(m.entities.iter().map(|e| e.name.as_str()));
            all.extend(m.dimensions.iter().map(|d| d.name.as_str()));
            all.extend(m.primary_entity.as_deref());
        }
        all.sort_unstable();
        all.dedup();
        let n = all.len();
        let mut ex = Elements {
            ids: all
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        s.to_string(),
                        ElementId(u32::try_from(i).unwrap_or(u32::MAX)),
                    )
                })
                .collect(),
            names: all.iter().map(|s| s.to_string()).collect(),
            time_grain: vec![None; n],
            is_element: vec![false; n],
            keyed_by: vec![Vec::new(); n],
            models: Vec::with_capacity(models.len()),
        };
        for (mi, m) in models.iter().enumerate() {
            let me = ModelElements {
                entities: m.entities.iter().map(|e| ex.ids[&e.name]).collect(),
                dimensions: m.dimensions.iter().map(|d| ex.ids[&d.name]).collect(),
                primary_entity: m.primary_entity.as_ref().map(|p| ex.ids[p]),
                primary: m.primary_entity_name().map(|p| ex.ids[p]),
                agg_time: m
                    .measures
                    .iter()
                    .map(|x| ex.id_or_unknown(&x.agg_time_dimension))
                    .collect(),
                non_additive: m
                    .measures
                    .iter()
                    .map(|x| {
                        x.non_additive.as_ref().map(|n| NonAdditiveIds {
                            dimension: ex.id_or_unknown(&n.dimension),
                            window_groupings: n
                                .window_groupings
                                .iter()
                                .map(|g| ex.id_or_unknown(g))
                                .collect(),
                        })
                    })
                    .collect(),
            };
            for (d, id) in m.dimensions.iter().zip(&me.dimensions) {
                ex.is_element[id.index()] = true;
                let g = &mut ex.time_grain[id.index()];
                if g.is_none() {
                    *g = d.time_grain;
                }
            }
            for (i, (e, id)) in m.entities.iter().zip(&me.entities).enumerate() {
                ex.is_element[id.index()] = true;
                // Only the first entity of a name counts (as `SemanticModel::entity` finds it).
                let first = me.entities.iter().position(|x| x == id) == Some(i);
                if first && e.kind != EntityType::Foreign {
                    ex.keyed_by[id.index()].push(mi);
                }
            }
            ex.models.push(me);
        }
        ex
    }

    fn id_or_unknown(&self, name: &str) -> ElementId {
        self.ids.get(name).copied().unwrap_or(ElementId::UNKNOWN)
    }
}

/// Bind the element names metrics write to ids (once the semantic models, and so the ids, are
/// final): a conversion metric's entity and its constant properties. Resolution has checked the
/// entity against both measures' models; a constant property that is not an element of its side
/// is reported by validation (and the planner) at its span.
pub(crate) fn bind_metric_elements(model: &mut Model) {
    let ids = &model.index.elements;
    for m in model.metrics.values_mut() {
        if let MetricKind::Conversion {
            entity,
            entity_id,
            constant_properties,
            ..
        } = &mut m.kind
        {
            *entity_id = ids.id_or_unknown(entity);
            for p in constant_properties {
                p.base_id = ids.id_or_unknown(&p.base_property);
                p.conversion_id = ids.id_or_unknown(&p.conversion_property);
            }
        }
    }
}

impl Model {
    fn elements(&self) -> &Elements {
        &self.index.elements
    }

    /// The id of an element name (binding only: later stages keep the id); `None` when no
    /// semantic model has the name.
    pub fn element_id(&self, name: &str) -> Option<ElementId> {
        self.elements().ids.get(name).copied()
    }

    /// The id of an element name, or [`ElementId::UNKNOWN`].
    pub fn element_id_or_unknown(&self, name: &str) -> ElementId {
        self.element_id(name).unwrap_or(ElementId::UNKNOWN)
    }

    /// The name of an element id.
    pub fn element_name(&self, id: ElementId) -> &str {
        self.elements()
            .names
            .get(id.index())
            .map_or("", String::as_str)
    }

    /// Whether some semantic model has a dimension or an entity of this name.
    pub fn is_element(&self, id: ElementId) -> bool {
        self.elements()
            .is_element
            .get(id.index())
            .copied()
            .unwrap_or(false)
    }

    /// The grain of the first time dimension of this name in any semantic model.
    pub fn element_grain(&self, id: ElementId) -> Option<Grain> {
        self.elements()
            .time_grain
            .get(id.index())
            .copied()
            .flatten()
    }

    /// The semantic models (ascending) on which entity `id` is a key (its first entity of that
    /// name is not foreign): the models a join on it can reach.
    pub fn keyed_by(&self, id: ElementId) -> &[usize] {
        self.elements()
            .keyed_by
            .get(id.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The element ids of semantic model `model`.
    pub fn model_elements(&self, model: usize) -> &ModelElements {
        &self.elements().models[model]
    }

    /// The first dimension of semantic model `model` with this name: its index and itself.
    pub fn dimension_of(&self, model: usize, id: ElementId) -> Option<(usize, &Dimension)> {
        let i = self
            .model_elements(model)
            .dimensions
            .iter()
            .position(|d| *d == id)?;
        Some((i, &self.semantic_models[model].dimensions[i]))
    }

    /// The first entity of semantic model `model` with this name: its index and itself.
    pub fn entity_of(&self, model: usize, id: ElementId) -> Option<(usize, &Entity)> {
        let i = self
            .model_elements(model)
            .entities
            .iter()
            .position(|e| *e == id)?;
        Some((i, &self.semantic_models[model].entities[i]))
    }

    /// Whether semantic model `model` has a dimension or an entity of this name.
    pub fn has_element(&self, model: usize, id: ElementId) -> bool {
        let me = self.model_elements(model);
        me.dimensions.contains(&id) || me.entities.contains(&id)
    }

    /// The non-additive dimension and window groupings of measure `measure` of semantic model
    /// `model`, bound to ids; `None` for an additive measure.
    pub fn non_additive_ids(&self, model: usize, measure: usize) -> Option<&NonAdditiveIds> {
        self.model_elements(model)
            .non_additive
            .get(measure)
            .and_then(Option::as_ref)
    }

    /// The aggregation time dimension of measure `measure` of semantic model `model`.
    pub fn agg_time_id(&self, model: usize, measure: usize) -> ElementId {
        self.model_elements(model).agg_time[measure]
    }

    /// The time grain of semantic model `model`'s dimension of this name, if it is a time
    /// dimension.
    pub fn time_grain_on(&self, model: usize, id: ElementId) -> Option<Grain> {
        self.dimension_of(model, id).and_then(|(_, d)| d.time_grain)
    }

    /// A path's links and element bound to ids (binding only).
    pub fn element_path(&self, links: &[String], element: &str) -> ElementPath {
        ElementPath {
            links: links
                .iter()
                .map(|l| self.element_id_or_unknown(l))
                .collect(),
            element: self.element_id_or_unknown(element),
        }
    }
}
