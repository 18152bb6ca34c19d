//! Metric references checked across the model: inputs exist, no cycles.

use super::Resolver;
use crate::diag::{codes, Diagnostic};
use crate::model::{Metric, MetricId, Model};
use indexmap::IndexMap;

impl Resolver<'_> {
    /// Input metrics exist; derived metrics and drivers have no cycles.
    pub(super) fn check_metric_references(&mut self, model: &mut Model) {
        let names: Vec<String> = model.metrics.keys().cloned().collect();
        let mut bad: Vec<String> = Vec::new();
        for m in model.metrics.values() {
            for i in m.input_metrics() {
                if !model.metrics.contains_key(&i.name) {
                    let d = Diagnostic::error(
                        codes::UNKNOWN_METRIC,
                        format!("unknown metric `{}`", i.name),
                    )
                    .at(i.span)
                    .with_label(format!("input of `{}`", m.name))
                    .with_suggestion(&i.name, names.iter().map(String::as_str));
                    self.diags.push(d);
                    bad.push(m.name.clone());
                }
            }
            for d in &m.drivers {
                if !model.metrics.contains_key(d) {
                    let span = self
                        .spec
                        .metrics
                        .iter()
                        .find(|x| x.name.value == m.name)
                        .and_then(|x| x.drivers.iter().find(|s| &s.value == d))
                        .map(|s| s.span)
                        .unwrap_or(m.span);
                    self.diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_DRIVER,
                            format!("unknown driver metric `{d}`"),
                        )
                        .at(span)
                        .with_suggestion(d, names.iter().map(String::as_str))
                        .with_help("`drivers` lists metrics of this project that move this metric"),
                    );
                }
            }
        }
        // Cycles among inputs, and among drivers.
        for (edges_of, code, what) in [
            (0u8, codes::METRIC_CYCLE, "derived metrics"),
            (1u8, codes::DRIVER_CYCLE, "drivers"),
        ] {
            let edges = |m: &Metric| -> Vec<String> {
                if edges_of == 0 {
                    m.input_metrics().iter().map(|i| i.name.clone()).collect()
                } else {
                    m.drivers.clone()
                }
            };
            let mut state: IndexMap<String, u8> = IndexMap::new();
            let mut reported = false;
            for start in &names {
                if reported {
                    break;
                }
                let mut stack: Vec<(String, Vec<String>)> = Vec::new();
                if state.get(start).copied().unwrap_or(0) != 0 {
                    continue;
                }
                stack.push((start.clone(), edges(&model.metrics[start])));
                state.insert(start.clone(), 1);
                while let Some((node, mut rest)) = stack.pop() {
                    if let Some(next) = rest.pop() {
                        stack.push((node, rest));
                        match state.get(&next).copied().unwrap_or(0) {
                            0 => {
                                if let Some(nm) = model.metrics.get(&next) {
                                    state.insert(next.clone(), 1);
                                    stack.push((next.clone(), edges(nm)));
                                }
                            }
                            1 => {
                                let mut cycle: Vec<String> =
                                    stack.iter().map(|(n, _)| n.clone()).collect();
                                if let Some(p) = cycle.iter().position(|n| *n == next) {
                                    cycle.drain(..p);
                                }
                                cycle.push(next.clone());
                                let span = model.metrics[&next].span;
                                self.diags.push(
                                    Diagnostic::error(
                                        code,
                                        format!("{what} form a cycle: {}", cycle.join(" -> ")),
                                    )
                                    .at(span)
                                    .with_help("break the cycle: a metric cannot depend on itself"),
                                );
                                bad.extend(cycle);
                                reported = true;
                                break;
                            }
                            _ => {}
                        }
                    } else {
                        state.insert(node, 2);
                    }
                }
            }
            if edges_of == 1 {
                // Driver cycles do not make metrics unqueryable.
                bad.retain(|_| true);
            }
        }
        // Leave metrics with dangling inputs or input cycles out, transitively.
        let mut changed = !bad.is_empty();
        let mut bad: std::collections::BTreeSet<String> = bad.into_iter().collect();
        while changed {
            changed = false;
            for m in model.metrics.values() {
                if !bad.contains(&m.name) && m.input_metrics().iter().any(|i| bad.contains(&i.name))
                {
                    bad.insert(m.name.clone());
                    changed = true;
                }
            }
        }
        model.metrics.retain(|n, _| !bad.contains(n));
        bind_inputs(model);
    }
}

/// Bind every input to the metric it names. Run once the metrics with dangling inputs are left
/// out, so every input finds its metric and the ids do not move afterwards.
fn bind_inputs(model: &mut Model) {
    for i in 0..model.metrics.len() {
        let ids: Vec<MetricId> = model.metrics[i]
            .input_metrics()
            .iter()
            .map(|input| model.metric_id(&input.name).unwrap_or(MetricId::UNBOUND))
            .collect();
        for (input, id) in model.metrics[i].input_metrics_mut().into_iter().zip(ids) {
            input.metric = id;
        }
    }
}
