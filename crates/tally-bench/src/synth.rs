//! The synthetic project generator: a MetricFlow project of a chosen number of metrics, written as
//! YAML files so that benchmarks measure reading and parsing as well as resolution and validation.
//!
//! Shape, for a target of `M` metrics (`M >= 200`):
//! - semantic models of ten measures and [`DIMENSIONS`] categorical dimensions each (plus a day
//!   time dimension), with a primary entity of their own and a foreign entity `customer`, joined to
//!   one `customers` dimension model (region, segment, signup date);
//! - 50 wide derived metrics (`wide_00` ... `wide_49`), each summing 100 simple metrics;
//! - of the other metrics: half simple (one per measure, every fourth with a filter), 15% ratios,
//!   20% derived chains of depth [`CHAIN_DEPTH`], 5% cumulative (trailing window, month-to-date,
//!   all time), the rest derived metrics with an offset window (month over month).
//!
//! Generated projects load with zero diagnostics (a unit test checks it).

use std::fmt::Write as _;
use std::path::Path;

/// Measures per semantic model.
pub(crate) const MEASURES: usize = 10;
/// Categorical dimensions per semantic model.
pub(crate) const DIMENSIONS: usize = 8;
/// Depth of the derived chains: level 1 reads two simple metrics, level k reads level k-1.
pub(crate) const CHAIN_DEPTH: usize = 5;
/// Wide derived metrics and the inputs each sums.
pub(crate) const WIDE_METRICS: usize = 50;
pub(crate) const WIDE_INPUTS: usize = 100;
/// Metrics per YAML file.
const METRICS_PER_FILE: usize = 100;
/// Semantic models per YAML file.
const MODELS_PER_FILE: usize = 20;

/// What a generated project holds, for the benchmark tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub semantic_models: usize,
    pub measures: usize,
    pub dimensions: usize,
    pub simple: usize,
    pub ratio: usize,
    pub chains: usize,
    pub cumulative: usize,
    pub offset: usize,
    pub wide: usize,
}

impl Shape {
    pub(crate) fn for_metrics(total: usize) -> Shape {
        let total = total.max(200);
        let rest = total - WIDE_METRICS;
        let simple = rest / 2;
        let ratio = rest * 15 / 100;
        let chains = rest * 20 / 100 / CHAIN_DEPTH;
        let cumulative = rest * 5 / 100;
        let offset = rest - simple - ratio - chains * CHAIN_DEPTH - cumulative;
        let semantic_models = simple.div_ceil(MEASURES);
        Shape {
            semantic_models,
            measures: simple,
            // The dimensions of the fact models plus those of `customers`.
            dimensions: semantic_models * (DIMENSIONS + 1) + 3,
            simple,
            ratio,
            chains,
            cumulative,
            offset,
            wide: WIDE_METRICS,
        }
    }

    pub(crate) fn metrics(&self) -> usize {
        self.simple
            + self.ratio
            + self.chains * CHAIN_DEPTH
            + self.cumulative
            + self.offset
            + self.wide
    }
}

fn model_name(i: usize) -> String {
    format!("sm{i:05}")
}

fn simple_name(i: usize) -> String {
    format!("simple_{i:05}")
}

/// The entity of fact model `i`.
fn entity_name(i: usize) -> String {
    format!("ent{i:05}")
}

pub(crate) fn wide_name(i: usize) -> String {
    format!("wide_{i:02}")
}

pub(crate) fn chain_name(chain: usize, level: usize) -> String {
    format!("chain_{chain:05}_d{level}")
}

pub(crate) fn ratio_name(i: usize) -> String {
    format!("ratio_{i:05}")
}

pub(crate) fn cumulative_name(i: usize) -> String {
    format!("cumulative_{i:05}")
}

pub(crate) fn offset_name(i: usize) -> String {
    format!("offset_{i:05}")
}

/// The simple metrics wide metric `w` sums: 100 consecutive simple metrics starting at `20 w`
/// (wrapping), so neighbouring wide metrics share inputs and a wide query reads many models.
pub(crate) fn wide_inputs(shape: &Shape, w: usize) -> Vec<String> {
    (0..WIDE_INPUTS)
        .map(|k| simple_name((w * 20 + k) % shape.simple))
        .collect()
}

/// Every file of the project, as (relative path, text).
pub(crate) fn project_files(total_metrics: usize) -> (Shape, Vec<(String, String)>) {
    let shape = Shape::for_metrics(total_metrics);
    let mut files = Vec::new();
    files.push((
        "project.yml".to_string(),
        "project_configuration:\n  time_spine_table_configurations:\n    - location: bench.time_spine\n      column_name: ds\n      grain: day\n".to_string(),
    ));

    // Semantic models.
    let mut text = String::from("semantic_models:\n");
    text.push_str(
        "  - name: customers\n    description: One row per customer.\n    node_relation: {schema_name: bench, alias: customers}\n    defaults: {agg_time_dimension: signup_ds}\n    entities:\n      - {name: customer, type: primary, expr: id}\n    dimensions:\n      - {name: region, type: categorical}\n      - {name: segment, type: categorical}\n      - {name: signup_ds, type: time, type_params: {time_granularity: day}}\n",
    );
    files.push(("models/customers.yml".to_string(), text));
    const AGGS: [&str; 5] = ["sum", "count", "count_distinct", "max", "average"];
    let mut text = String::new();
    for m in 0..shape.semantic_models {
        if m % MODELS_PER_FILE == 0 {
            text = String::from("semantic_models:\n");
        }
        let name = model_name(m);
        let _ = write!(
            text,
            "  - name: {name}\n    description: Synthetic facts {m}.\n    node_relation: {{schema_name: bench, alias: fact_{m:05}}}\n    defaults: {{agg_time_dimension: ds}}\n    entities:\n      - {{name: {}, type: primary, expr: id}}\n      - {{name: customer, type: foreign, expr: customer_id}}\n    dimensions:\n      - {{name: ds, type: time, type_params: {{time_granularity: day}}}}\n",
            entity_name(m)
        );
        for d in 0..DIMENSIONS {
            let _ = writeln!(
                text,
                "      - {{name: d{d:02}, type: categorical, expr: \"lower(col_{d:02})\"}}"
            );
        }
        text.push_str("    measures:\n");
        for k in 0..MEASURES {
            let idx = m * MEASURES + k;
            if idx >= shape.measures {
                break;
            }
            let _ = writeln!(
                text,
                "      - {{name: measure_{idx:05}, agg: {}, expr: x{k:02}}}",
                AGGS[k % AGGS.len()]
            );
        }
        if m % MODELS_PER_FILE == MODELS_PER_FILE - 1 || m + 1 == shape.semantic_models {
            files.push((
                format!("models/facts_{:04}.yml", m / MODELS_PER_FILE),
                std::mem::take(&mut text),
            ));
        }
    }

    // Metrics, as YAML items; chunked into files afterwards.
    let mut items: Vec<String> = Vec::with_capacity(shape.metrics());
    for i in 0..shape.simple {
        let m = i / MEASURES;
        let filter = if i % 4 == 3 {
            format!(
                "\n    filter: \"{{{{ Dimension('{}__d{:02}') }}}} = 'a'\"",
                entity_name(m),
                i % DIMENSIONS
            )
        } else {
            String::new()
        };
        items.push(format!(
            "  - name: {}\n    description: Simple metric {i}.\n    type: simple\n    type_params: {{measure: measure_{i:05}}}{filter}\n",
            simple_name(i)
        ));
    }
    for i in 0..shape.ratio {
        // Numerator and denominator from the same model, as ratios usually are.
        let a = (i * 2) % shape.simple;
        let b = (a + 1) % shape.simple;
        items.push(format!(
            "  - name: {}\n    description: Ratio {i}.\n    type: ratio\n    type_params: {{numerator: {}, denominator: {}}}\n",
            ratio_name(i),
            simple_name(a),
            simple_name(b)
        ));
    }
    for c in 0..shape.chains {
        for level in 1..=CHAIN_DEPTH {
            let s = simple_name((c * 3 + level) % shape.simple);
            let (expr, inputs) = if level == 1 {
                let t = simple_name((c * 3) % shape.simple);
                (format!("{t} - {s}"), vec![t, s])
            } else {
                let prev = chain_name(c, level - 1);
                (format!("{prev} * 2 + {s}"), vec![prev, s])
            };
            items.push(format!(
                "  - name: {}\n    description: Derived chain {c}, level {level}.\n    type: derived\n    type_params:\n      expr: {expr}\n      metrics: [{}]\n",
                chain_name(c, level),
                inputs.join(", ")
            ));
        }
    }
    for i in 0..shape.cumulative {
        let measure = format!("measure_{:05}", (i * 7) % shape.measures);
        let params = match i % 3 {
            0 => "window: 7 days".to_string(),
            1 => "grain_to_date: month".to_string(),
            _ => String::new(),
        };
        let params = if params.is_empty() {
            String::new()
        } else {
            format!(", {params}")
        };
        items.push(format!(
            "  - name: {}\n    description: Cumulative {i}.\n    type: cumulative\n    type_params: {{measure: {measure}{params}}}\n",
            cumulative_name(i)
        ));
    }
    for i in 0..shape.offset {
        let s = simple_name((i * 5) % shape.simple);
        items.push(format!(
            "  - name: {}\n    description: Month over month {i}.\n    type: derived\n    type_params:\n      expr: this_period - last_period\n      metrics:\n        - {{name: {s}, alias: this_period}}\n        - {{name: {s}, alias: last_period, offset_window: 1 month}}\n",
            offset_name(i)
        ));
    }
    for w in 0..shape.wide {
        let inputs = wide_inputs(&shape, w);
        items.push(format!(
            "  - name: {}\n    description: Wide derived metric {w}.\n    type: derived\n    type_params:\n      expr: {}\n      metrics: [{}]\n",
            wide_name(w),
            inputs.join(" + "),
            inputs.join(", ")
        ));
    }
    for (n, chunk) in items.chunks(METRICS_PER_FILE).enumerate() {
        let mut text = String::from("metrics:\n");
        for item in chunk {
            text.push_str(item);
        }
        files.push((format!("metrics/metrics_{n:04}.yml"), text));
    }
    (shape, files)
}

/// Write a project of `total_metrics` metrics under `dir` (created; emptied first).
pub(crate) fn write_project(dir: &Path, total_metrics: usize) -> std::io::Result<Shape> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let (shape, files) = project_files(total_metrics);
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::load::LoadOptions;

    #[test]
    fn shape_adds_up_to_the_target() {
        for n in [200, 1000, 2500, 10_000] {
            assert_eq!(Shape::for_metrics(n).metrics(), n);
        }
    }

    #[test]
    fn generated_projects_load_without_diagnostics() {
        let dir =
            std::env::temp_dir().join(format!("tally-bench-synth-test-{}", std::process::id()));
        let shape = write_project(&dir, 1000).unwrap();
        let (model, diags) = tally_core::pipeline::load_model(
            &dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        let rendered = tally_core::diag::render_human(&model.sources, &diags, false);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(diags.is_empty(), "{rendered}");
        assert_eq!(model.metrics.len(), shape.metrics());
        assert_eq!(model.semantic_models.len(), shape.semantic_models + 1);
    }
}
