//! E0111: unique labels.

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::model::Metric;
use crate::source::Span;
use std::collections::BTreeMap;

/// An object with a label: its span, name, label and the label's span.
type Labelled<'a> = (Span, &'a str, Option<&'a str>, Span);

impl<'m> Validator<'m> {
    pub(super) fn labels(&mut self) {
        let mut metrics: Vec<&Metric> = self.model.metrics.values().collect();
        metrics.sort_by_key(|m| m.span);
        let items: Vec<Labelled> = metrics
            .iter()
            .map(|m| (m.span, m.name.as_str(), m.label.as_deref(), m.spans.label))
            .collect();
        self.unique_labels("metric", &items);
        let mut sms: Vec<_> = self.model.semantic_models.iter().collect();
        sms.sort_by_key(|s| s.span);
        let items: Vec<Labelled> = sms
            .iter()
            .map(|s| (s.span, s.name.as_str(), s.label.as_deref(), s.label_span))
            .collect();
        self.unique_labels("semantic model", &items);
        for sm in &self.model.semantic_models {
            let dims: Vec<_> = sm
                .dimensions
                .iter()
                .map(|d| (d.span, d.name.as_str(), d.label.as_deref(), d.label_span))
                .collect();
            self.unique_labels(&format!("dimension of `{}`", sm.name), &dims);
            let measures: Vec<_> = sm
                .measures
                .iter()
                .map(|d| (d.span, d.name.as_str(), d.label.as_deref(), d.label_span))
                .collect();
            self.unique_labels(&format!("measure of `{}`", sm.name), &measures);
        }
    }

    pub(super) fn unique_labels(&mut self, kind: &str, items: &[Labelled]) {
        let mut seen: BTreeMap<&str, (Span, &str)> = BTreeMap::new();
        for &(span, name, label, label_span) in items {
            let Some(label) = label else { continue };
            let at = super::at_or(label_span, span);
            match seen.get(label) {
                Some(&(prev_at, prev)) => {
                    let d = Diagnostic::error(
                        codes::LABEL,
                        format!("label `{label}` of {kind} `{name}` is already the label of `{prev}`"),
                    )
                    .at(at)
                    .with_label("duplicate label")
                    .with_secondary(prev_at, format!("label of `{prev}`"))
                    .with_help(format!(
                        "labels name objects in BI tools and must tell them apart: give `{name}` another label"
                    ));
                    self.push(d);
                }
                None => {
                    seen.insert(label, (at, name));
                }
            }
        }
    }

    // ----- semantic models ---------------------------------------------------------------------
}
