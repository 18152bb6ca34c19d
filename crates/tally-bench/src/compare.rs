//! `tally-bench compare`: the same queries through several compilers as whole processes, side by
//! side. Each `--bin NAME=COMMAND` is a command line template (split on whitespace) with the
//! placeholders `{metrics}`, `{group_by}` (comma-separated) and `{project}`; every command runs in
//! the project directory. Runs are paired: each round runs every command once, in an order that
//! rotates between rounds, so that the machine's load hits them alike. Prints medians, minimums
//! and ratios to the first command. Every command runs with `TALLY_CACHE_DIR` set to a directory
//! of this run (tally's validation cache, README "Performance"), primed by one untimed run of each
//! command: `tally sql` is the warm path (an unchanged project replays its validation) and
//! `tally sql --cache off` the cold one (validated every time).
//!
//! ```text
//! tally-bench compare --bin "new=target/release/tally sql --metrics {metrics} --group-by {group_by}" \
//!     --bin "old=/tmp/tally-old sql --metrics {metrics} --group-by {group_by}" \
//!     --bin "mf=mf query --explain --metrics {metrics} --group-by {group_by}" --runs 20
//! ```

use crate::{median, ms, Options};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The repository's queries when no `--query` is given: `metrics|group_by`.
const QUERIES: [&str; 2] = [
    "resolution_rate,csat|metric_time__month,conversation__team_name",
    "conversation_volume|metric_time__month",
];

struct Bin {
    name: String,
    template: Vec<String>,
}

fn parse_bin(spec: &str) -> Result<Bin, String> {
    let (name, command) = spec
        .split_once('=')
        .ok_or_else(|| format!("--bin takes NAME=COMMAND, got `{spec}`"))?;
    let template: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    if template.is_empty() {
        return Err(format!("--bin {name}: an empty command"));
    }
    Ok(Bin {
        name: name.trim().to_string(),
        template,
    })
}

fn default_bins() -> Result<Vec<Bin>, String> {
    let tally = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("tally");
    let t = tally.to_string_lossy();
    Ok(vec![
        parse_bin(&format!(
            "tally sql={t} sql --metrics {{metrics}} --group-by {{group_by}}"
        ))?,
        parse_bin(&format!(
            "tally sql --cache off={t} sql --cache off --metrics {{metrics}} --group-by {{group_by}}"
        ))?,
        parse_bin(&format!("tally --version={t} --version"))?,
        parse_bin("/bin/true=/bin/true")?,
    ])
}

fn expand(template: &[String], metrics: &str, group_by: &str, project: &str) -> Vec<String> {
    template
        .iter()
        .map(|a| {
            a.replace("{metrics}", metrics)
                .replace("{group_by}", group_by)
                .replace("{project}", project)
        })
        .collect()
}

/// One run of a command: its wall time, or why it failed.
fn once(argv: &[String], dir: &std::path::Path, cache: &Path) -> Result<Duration, String> {
    let t = Instant::now();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env("TALLY_CACHE_DIR", cache)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let took = t.elapsed();
    if out.status.success() {
        Ok(took)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "{} exited with {}: {}",
            argv[0],
            out.status,
            err.lines().next().unwrap_or("")
        ))
    }
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let bins = if opts.bins.is_empty() {
        default_bins()?
    } else {
        opts.bins
            .iter()
            .map(|b| parse_bin(b))
            .collect::<Result<_, _>>()?
    };
    let queries: Vec<String> = if opts.queries.is_empty() {
        QUERIES.iter().map(|q| q.to_string()).collect()
    } else {
        opts.queries.clone()
    };
    let runs = if opts.runs <= 1 { 20 } else { opts.runs };
    let project = opts.project.to_string_lossy().into_owned();
    let cache = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!("## Side by side\n");
    println!("machine: {}\n", crate::machine());
    println!(
        "project {project}; wall time of whole processes, {runs} paired rounds (each round runs every \
         command once, the order rotating)\n"
    );
    for q in &queries {
        let (metrics, group_by) = q.split_once('|').unwrap_or((q.as_str(), ""));
        println!("query: metrics `{metrics}`, group by `{group_by}`\n");
        let argvs: Vec<Vec<String>> = bins
            .iter()
            .map(|b| expand(&b.template, metrics, group_by, &project))
            .collect();
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); bins.len()];
        let mut failed: Vec<Option<String>> = vec![None; bins.len()];
        // CPU time of the children, summed per command (the kernel counts it in ticks of 10 ms,
        // so only the mean over many runs means something).
        let mut cpu: Vec<Duration> = vec![Duration::ZERO; bins.len()];
        // One untimed run of each: the validation cache primed, the files in the page cache.
        for (i, argv) in argvs.iter().enumerate() {
            if let Err(e) = once(argv, &opts.project, cache.path()) {
                failed[i] = Some(e);
            }
        }
        for round in 0..runs {
            for k in 0..bins.len() {
                let i = (k + round) % bins.len();
                if failed[i].is_some() {
                    continue;
                }
                let before = crate::cache::children_cpu();
                let result = once(&argvs[i], &opts.project, cache.path());
                cpu[i] += crate::cache::children_cpu().saturating_sub(before);
                match result {
                    Ok(t) => times[i].push(t),
                    Err(e) => failed[i] = Some(e),
                }
            }
        }
        let first = (!times[0].is_empty()).then(|| median(times[0].clone()));
        println!(
            "| command | median | min | ratio to `{}` | mean CPU time |",
            bins[0].name
        );
        println!("|---|---:|---:|---:|---:|");
        for (i, b) in bins.iter().enumerate() {
            if let Some(e) = &failed[i] {
                println!("| `{}` | failed: {e} | | | |", b.name);
                continue;
            }
            let med = median(times[i].clone());
            let min = times[i].iter().min().copied().unwrap_or_default();
            let ratio = first
                .filter(|f| !f.is_zero())
                .map(|f| format!("{:.2}", med.as_secs_f64() / f.as_secs_f64()))
                .unwrap_or_default();
            let mean_cpu = cpu[i] / times[i].len().max(1) as u32;
            println!(
                "| `{}` | {:.2} ms | {:.2} ms | {ratio} | {:.1} ms |",
                b.name,
                ms(med),
                ms(min),
                ms(mean_cpu)
            );
        }
        println!();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_their_placeholders() {
        let b =
            parse_bin("mf=mf query --explain --metrics {metrics} --group-by {group_by}").unwrap();
        assert_eq!(b.name, "mf");
        assert_eq!(
            expand(&b.template, "a,b", "metric_time__month", "/p"),
            [
                "mf",
                "query",
                "--explain",
                "--metrics",
                "a,b",
                "--group-by",
                "metric_time__month"
            ]
        );
        assert!(parse_bin("no-equals").is_err());
        assert!(parse_bin("x=  ").is_err());
    }
}
