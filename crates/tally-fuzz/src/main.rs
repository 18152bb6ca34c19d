//! `tally-fuzz`: run a fuzzing campaign and print executions and findings.
//!
//! ```text
//! tally-fuzz [--seconds N] [--execs N] [--seed S] [--subprocess PATH-TO-TALLY] [--crashes DIR]
//! ```
//! In-process by default (fast: load, validate and compile under `catch_unwind`); with
//! `--subprocess` each input is also run by the `tally` binary under a memory limit and a
//! deadline, which catches aborts. Findings are written to `--crashes DIR` (one file per input)
//! and make the exit code 1.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool: printing is its job

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tally_fuzz::{campaign, mutate, rng::Rng, run, seeds, subprocess, Config, Finding};

fn main() -> ExitCode {
    let mut cfg = Config {
        max_execs: u64::MAX,
        max_time: Duration::from_secs(60),
        ..Config::default()
    };
    let mut tally: Option<PathBuf> = None;
    let mut crashes: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => v,
            None => {
                eprintln!("tally-fuzz: {name} needs a value");
                std::process::exit(2);
            }
        };
        match a.as_str() {
            "--seconds" => cfg.max_time = Duration::from_secs(number(&value("--seconds"))),
            "--execs" => cfg.max_execs = number(&value("--execs")),
            "--seed" => cfg.seed = number(&value("--seed")),
            "--subprocess" => tally = Some(PathBuf::from(value("--subprocess"))),
            "--crashes" => crashes = Some(PathBuf::from(value("--crashes"))),
            "-h" | "--help" => {
                println!("tally-fuzz [--seconds N] [--execs N] [--seed S] [--subprocess PATH-TO-TALLY] [--crashes DIR]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("tally-fuzz: unknown argument `{other}`");
                return ExitCode::from(2);
            }
        }
    }
    let corpus = seeds::all();
    eprintln!(
        "tally-fuzz: {} seeds, seed {}, up to {:?}",
        corpus.len(),
        cfg.seed,
        cfg.max_time
    );
    let findings = match &tally {
        None => {
            let started = Instant::now();
            let report = campaign(&corpus, &cfg, |r| {
                eprint!(
                    "\r{} executions, {} findings, {:.0}/s",
                    r.executions,
                    r.findings.len(),
                    r.executions as f64 / started.elapsed().as_secs_f64().max(1e-9)
                );
            });
            eprintln!();
            println!(
                "executions: {}\nrejected with errors: {}\ncompiled a query: {}\nslowest: {:?}\nfindings: {}",
                report.executions,
                report.rejected,
                report.compiled,
                report.slowest,
                report.findings.len()
            );
            report.findings
        }
        Some(tally) => subprocess_campaign(tally, &corpus, &cfg),
    };
    for (i, f) in findings.iter().enumerate() {
        println!("finding {i}: {}: {}", f.kind, first_line(&f.detail));
        if let Some(dir) = &crashes {
            let _ = std::fs::create_dir_all(dir);
            let path = dir.join(format!("finding-{}-{i}.txt", cfg.seed));
            let _ = std::fs::write(
                &path,
                format!("# {}: {}\n{}", f.kind, f.detail, f.input.to_text()),
            );
        }
    }
    if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn subprocess_campaign(
    tally: &std::path::Path,
    corpus: &[tally_fuzz::Input],
    cfg: &Config,
) -> Vec<Finding> {
    let limits = subprocess::Limits::default();
    let mut rng = Rng::new(cfg.seed);
    let started = Instant::now();
    let mut execs = 0u64;
    let mut findings = Vec::new();
    run::quiet_panics();
    while execs < cfg.max_execs && started.elapsed() < cfg.max_time {
        let seed = &corpus[rng.below(corpus.len())];
        let input = mutate::mutate(seed, corpus, &mut rng);
        for (kind, detail) in subprocess::check_input(tally, &input, None, &limits) {
            findings.push(Finding {
                kind,
                detail,
                input: input.clone(),
            });
        }
        execs += 1;
        eprint!("\r{execs} executions, {} findings", findings.len());
    }
    eprintln!();
    println!("executions: {execs}\nfindings: {}", findings.len());
    findings
}

fn number(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| {
        eprintln!("tally-fuzz: `{s}` is not a number");
        std::process::exit(2);
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
