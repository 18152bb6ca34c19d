//! Join rules: ambiguous dimensions (E0402) and foreign entities with nothing to join to (E0403).

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::model::ElementId;
use std::collections::{BTreeMap, BTreeSet};

impl<'m> Validator<'m> {
    pub(super) fn joins(&mut self) {
        let model = self.model;
        let models = &model.semantic_models;
        // Element ids sort as their names do.
        let entities: BTreeSet<ElementId> = (0..models.len())
            .flat_map(|i| model.model_elements(i).entities.iter().copied())
            .collect();
        for id in entities {
            let e = model.element_name(id);
            let with: Vec<usize> = (0..models.len())
                .filter(|&i| model.entity_of(i, id).is_some())
                .collect();
            // The models whose (first) entity `e` is not foreign.
            let keyed = model.keyed_by(id);
            // A foreign entity whose every other occurrence is foreign joins nowhere.
            if keyed.is_empty() && with.len() > 1 {
                let (_, first) = model.entity_of(with[0], id).expect("filtered");
                let others: Vec<&str> =
                    with[1..].iter().map(|&i| models[i].name.as_str()).collect();
                self.push(
                    Diagnostic::warning(
                        codes::FAN_OUT,
                        format!(
                            "entity `{e}` is foreign on every semantic model that has it ({}, {}): nothing can be joined through it",
                            models[with[0]].name,
                            others.join(", ")
                        ),
                    )
                    .at(first.span)
                    .with_label("foreign here and everywhere else")
                    .with_help(format!(
                        "joining foreign to foreign would multiply rows, so tally never does it; add a semantic model whose rows are one `{e}` each (`type: primary`), or make `{e}` primary or unique where it is a key"
                    )),
                );
            }
            if keyed.len() < 2 {
                continue;
            }
            // Dimensions reachable as `e__d` on more than one keyed model.
            let mut dims: BTreeMap<ElementId, Vec<usize>> = BTreeMap::new();
            for &i in keyed {
                for &d in &model.model_elements(i).dimensions {
                    dims.entry(d).or_default().push(i);
                }
            }
            for (did, holders) in dims {
                if holders.len() < 2 {
                    continue;
                }
                let d = model.element_name(did);
                let primary = holders
                    .iter()
                    .filter(|&&i| model.model_elements(i).primary == Some(id))
                    .count();
                // The planner prefers the one model on which `e` is the primary entity.
                if primary == 1 {
                    continue;
                }
                // Ambiguous only from a model that has `e` but not the dimension (the others find
                // it on themselves, with no join).
                if !with.iter().any(|i| !holders.contains(i)) && primary == 0 {
                    continue;
                }
                let a = &models[holders[0]];
                let b = &models[holders[1]];
                let (_, da) = model.dimension_of(holders[0], did).expect("holder");
                let (_, db) = model.dimension_of(holders[1], did).expect("holder");
                self.push(
                    Diagnostic::error(
                        codes::AMBIGUOUS_JOIN,
                        format!(
                            "`{e}__{d}` is ambiguous: semantic models `{}` and `{}` both have `{e}` as a key and a dimension `{d}`",
                            a.name, b.name
                        ),
                    )
                    .at(db.span)
                    .with_label(format!("`{d}` on `{}`", b.name))
                    .with_secondary(da.span, format!("`{d}` on `{}`", a.name))
                    .with_help(format!(
                        "rename one of the dimensions, or make `{e}` the primary entity of exactly one of these models"
                    )),
                );
            }
        }
    }

    // ----- metrics -----------------------------------------------------------------------------
}
