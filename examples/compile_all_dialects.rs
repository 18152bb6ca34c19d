//! A small program that uses tally as a library: load a project, then print one metric's SQL in
//! every dialect tally knows.
//!
//! ```text
//! cargo run --release --example compile_all_dialects -- examples/starter revenue
//! cargo run --release --example compile_all_dialects -- . conversations metric_time__month
//! ```
//!
//! Arguments: the project directory, the metric, then any group-by items. Diagnostics are printed
//! the way `tally validate` prints them; the exit code is 1 when the project or the query has errors.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line example: it prints

use std::path::PathBuf;
use std::process::ExitCode;

use tally_core::diag::render_human;
use tally_core::dialect;
use tally_core::load::LoadOptions;
use tally_core::pipeline;
use tally_core::plan::QueryRequest;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, metric, group_by @ ..] = args.as_slice() else {
        eprintln!("usage: compile_all_dialects PROJECT_DIR METRIC [GROUP_BY...]");
        return ExitCode::from(2);
    };
    let (model, diags) = pipeline::load_model(
        &PathBuf::from(project),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    if diags.iter().any(|d| d.is_error()) {
        eprint!("{}", render_human(&model.sources, &diags, false));
        return ExitCode::from(1);
    }
    let request = QueryRequest::of(&[metric.as_str()], group_by, &[] as &[&str]);
    let results: Vec<_> = dialect::Dialect::ALL
        .iter()
        .map(|d| (d.name(), pipeline::compile(&model, *d, &request)))
        .collect();
    // A mistake in the query (an unknown metric) fails in every dialect alike: say it once.
    if let Some(Err(first)) = results.first().map(|(_, r)| r) {
        if results.iter().all(|(_, r)| r.is_err()) {
            eprint!("{}", render_human(&model.sources, first, false));
            return ExitCode::from(1);
        }
    }
    let mut failed = false;
    for (name, result) in results {
        match result {
            Ok(compiled) => println!("-- {name}\n{}\n", compiled.sql.trim_end()),
            Err(diags) => {
                // What one warehouse cannot compute (E0405 and the like).
                eprintln!("-- {name}");
                eprint!("{}", render_human(&model.sources, &diags, false));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
