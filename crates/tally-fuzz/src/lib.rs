//! A structure-aware fuzzing harness for tally that runs on stable Rust.
//!
//! Inputs are projects (YAML files, `tally.yml`, CSV fixtures) and query flags, made from a seed
//! corpus (`seeds/`: MetricFlow manifests, and the repository's own project) by mutations at the
//! level of YAML nodes (delete, duplicate or swap keys, change a scalar's type, copy a subtree
//! elsewhere, inject hostile strings into names, filters and expressions), of the text (deep
//! nesting, truncation, stray bytes), and of the query flags. Everything is a function of the seed:
//! the same seed gives the same inputs.
//!
//! Each input runs through the whole pipeline (load, resolve, validate, metric-test checks, plan
//! and SQL in two dialects, the renderers), in-process under `catch_unwind` on a thread with the
//! main thread's stack size ([`run::execute`]), or as `tally` subprocesses with a time and memory
//! limit ([`subprocess`]), which also catches aborts. The oracle: no panic, no abort, bounded time,
//! every diagnostic a known code, every error of a project file located, and never E0901 (a bug).

pub mod emit;
pub mod mutate;
pub mod rng;
pub mod run;
pub mod seeds;
pub mod subprocess;

use std::time::{Duration, Instant};

/// A project and a query to run on it.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// `tally.yml`, if any.
    pub config: Option<String>,
    /// Project files, `(path, text)`: YAML, and CSV fixtures of metric tests.
    pub files: Vec<(String, String)>,
    pub query: Query,
}

/// Query flags, as `tally sql` takes them.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub metrics: Vec<String>,
    pub group_by: Vec<String>,
    pub where_: Vec<String>,
    pub order: Vec<String>,
    pub limit: Option<u64>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub dialect: String,
}

impl Input {
    /// The input as one text (for crash files): each file after a `#### path` line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(c) = &self.config {
            out.push_str("#### tally.yml\n");
            out.push_str(c);
            out.push('\n');
        }
        for (name, text) in &self.files {
            out.push_str(&format!("#### {name}\n{text}\n"));
        }
        out.push_str(&format!("#### query\n{:?}\n", self.query));
        out
    }
}

/// What a campaign found.
#[derive(Debug, Default)]
pub struct Report {
    pub executions: u64,
    pub findings: Vec<Finding>,
    /// Inputs that produced at least one error diagnostic (a measure of how deep inputs get).
    pub rejected: u64,
    /// Inputs that validated and compiled a query.
    pub compiled: u64,
    pub slowest: Duration,
}

/// One broken promise, with the input that broke it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: String,
    pub detail: String,
    pub input: Input,
}

/// Campaign settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Stop after this many executions...
    pub max_execs: u64,
    /// ...or after this long, whichever comes first.
    pub max_time: Duration,
    /// An execution slower than this is a finding.
    pub time_limit: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            max_execs: 2_000,
            max_time: Duration::from_secs(3600),
            time_limit: Duration::from_secs(5),
        }
    }
}

/// Run a campaign in-process on the given seeds.
pub fn campaign(seeds: &[Input], cfg: &Config, mut progress: impl FnMut(&Report)) -> Report {
    let mut report = Report::default();
    let mut rng = rng::Rng::new(cfg.seed);
    let started = Instant::now();
    run::quiet_panics();
    while report.executions < cfg.max_execs && started.elapsed() < cfg.max_time {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate::mutate(seed, seeds, &mut rng);
        let outcome = run::execute(&input, cfg.time_limit);
        report.executions += 1;
        report.slowest = report.slowest.max(outcome.elapsed);
        if outcome.rejected {
            report.rejected += 1;
        }
        if outcome.compiled {
            report.compiled += 1;
        }
        for (kind, detail) in outcome.problems {
            report.findings.push(Finding {
                kind,
                detail,
                input: input.clone(),
            });
        }
        if report.executions % 100 == 0 {
            progress(&report);
        }
    }
    report
}
