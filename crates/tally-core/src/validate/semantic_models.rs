//! Semantic-model rules: primary entities, non-additive dimensions, natural entities and validity windows.

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::model::Validity;
use crate::spec::EntityType;

impl<'m> Validator<'m> {
    pub(super) fn semantic_models(&mut self) {
        let model = self.model;
        for (mi, sm) in model.semantic_models.iter().enumerate() {
            // model.rs reports a model with dimensions and no key entity; this is the case it leaves.
            let reported = !sm.dimensions.is_empty() && sm.key_entities().next().is_none();
            if !sm.measures.is_empty() && sm.primary_entity_name().is_none() && !reported {
                let d = Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!("semantic model `{}` has measures but no primary entity", sm.name),
                )
                .at(sm.span)
                .with_label("no entity of `type: primary` and no `primary_entity`")
                .with_help(
                    "add an entity of `type: primary`, or `primary_entity: <name>` naming what one row is \
                     (MetricFlow needs it to qualify the model's own dimensions)",
                );
                self.push(d);
            }
            // A non-additive dimension has the grain of the aggregation time dimension.
            for (i, m) in sm.measures.iter().enumerate() {
                let (Some(na), Some(ids)) = (&m.non_additive, model.non_additive_ids(mi, i)) else {
                    continue;
                };
                let (Some((_, nd)), Some((_, atd))) = (
                    model.dimension_of(mi, ids.dimension),
                    model.dimension_of(mi, model.agg_time_id(mi, i)),
                ) else {
                    continue;
                };
                if let (Some(ng), Some(ag)) = (nd.time_grain, atd.time_grain) {
                    if ng != ag {
                        let at = super::at_or(na.dimension_span, m.span);
                        self.push(
                            Diagnostic::error(
                                codes::NON_ADDITIVE,
                                format!(
                                    "non-additive dimension `{}` of measure `{}` has grain `{ng}`, but its aggregation time dimension `{}` has grain `{ag}`",
                                    nd.name, m.name, atd.name
                                ),
                            )
                            .at(at)
                            .with_label(format!("grain `{ng}`"))
                            .with_secondary(atd.span, format!("grain `{ag}`"))
                            .with_help("a balance is taken per period of the aggregation time: use a non-additive dimension of the same grain"),
                        );
                    }
                }
            }
            // Natural entities and validity windows (slowly changing dimensions).
            let naturals: Vec<_> = sm
                .entities
                .iter()
                .filter(|e| e.kind == EntityType::Natural)
                .collect();
            let validity: Vec<_> = sm
                .dimensions
                .iter()
                .filter(|d| d.validity.is_some())
                .collect();
            if naturals.len() > 1 {
                self.push(
                    Diagnostic::error(
                        codes::ENTITY_TYPE,
                        format!("semantic model `{}` has {} natural entities", sm.name, naturals.len()),
                    )
                    .at(naturals[1].span)
                    .with_label("second natural entity")
                    .with_secondary(naturals[0].span, "first natural entity")
                    .with_help("a semantic model has at most one natural entity: the key its validity window is defined for"),
                );
            }
            if let (Some(n), true) = (naturals.first(), validity.is_empty()) {
                self.push(
                    Diagnostic::error(
                        codes::ENTITY_TYPE,
                        format!("natural entity `{}` of `{}` needs a validity window", n.name, sm.name),
                    )
                    .at(n.span)
                    .with_label("natural entity")
                    .with_help(
                        "natural entities key slowly changing dimensions: add two time dimensions with \
                         `validity_params` (`is_start: true` and `is_end: true`), or make the entity primary or unique",
                    ),
                );
            }
            if !validity.is_empty() {
                self.validity_window(sm, &validity, !naturals.is_empty());
            }
        }
    }

    pub(super) fn validity_window(
        &mut self,
        sm: &crate::model::SemanticModel,
        dims: &[&crate::model::Dimension],
        has_natural: bool,
    ) {
        let starts = dims
            .iter()
            .filter(|d| d.validity == Some(Validity::Start))
            .count();
        let ends = dims
            .iter()
            .filter(|d| d.validity == Some(Validity::End))
            .count();
        let names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
        if dims.len() != 2 || starts != 1 || ends != 1 {
            let nth = |v: Validity, n: usize| {
                dims.iter()
                    .filter(|d| d.validity == Some(v))
                    .nth(n)
                    .map(|d| d.span)
            };
            let (at, label) = match (nth(Validity::Start, 1), nth(Validity::End, 1)) {
                (Some(s), _) => (s, "a second `is_start` dimension"),
                (None, Some(e)) => (e, "a second `is_end` dimension"),
                (None, None) => (dims[0].span, "validity dimension"),
            };
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!(
                        "the validity window of `{}` needs one `is_start` and one `is_end` time dimension, found {starts} start and {ends} end among {}",
                        sm.name,
                        names.join(", ")
                    ),
                )
                .at(at)
                .with_label(label)
                .with_help("mark one time dimension `validity_params: {is_start: true}` and another `validity_params: {is_end: true}`"),
            );
        }
        if !has_natural {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!("semantic model `{}` has a validity window but no natural entity", sm.name),
                )
                .at(sm.span)
                .with_label("no entity of `type: natural`")
                .with_help("the validity window is joined on the natural key: declare it as an entity of `type: natural`"),
            );
        }
        if let Some(e) = sm
            .entities
            .iter()
            .find(|e| matches!(e.kind, EntityType::Primary | EntityType::Unique))
        {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!("semantic model `{}` has a validity window and a {} entity `{}`", sm.name, if e.kind == EntityType::Primary { "primary" } else { "unique" }, e.name),
                )
                .at(e.span)
                .with_label("not supported with a validity window")
                .with_help("rows of a slowly changing dimension are keyed by the natural entity and the window: make this entity `natural` or `foreign`"),
            );
        }
        if let Some(m) = sm.measures.first() {
            self.push(
                Diagnostic::error(
                    codes::VALIDITY_WINDOW,
                    format!(
                        "semantic model `{}` has both a validity window and measures",
                        sm.name
                    ),
                )
                .at(m.span)
                .with_label("measure on a slowly changing dimension")
                .with_help("move the measures to a semantic model without validity params"),
            );
        }
    }

    // ----- joins -------------------------------------------------------------------------------
}
