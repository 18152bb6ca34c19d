//! The subprocess mode: each input is written to a temporary project and run by the `tally`
//! binary under a memory limit and a deadline, so aborts (a stack overflow, an allocation
//! failure) and runaway work are caught too. Queries run on a sample database whose bytes must not
//! change.

use crate::Input;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tally_core::diag::codes;

/// Limits of one `tally` run.
#[derive(Clone, Debug)]
pub struct Limits {
    pub time: Duration,
    /// Virtual memory, in KiB (`ulimit -v`).
    pub memory_kib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(20),
            memory_kib: 4 << 20,
        }
    }
}

/// The result of one run: exit code (None when killed by a signal), output, time.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// Run `tally args...` with the limits.
pub fn run_tally(tally: &Path, args: &[String], limits: &Limits) -> std::io::Result<Run> {
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} 2>/dev/null; exec \"$0\" \"$@\"",
            limits.memory_kib
        ))
        .arg(tally)
        .args(args)
        .env("NO_COLOR", "1")
        // Mutants are one-off projects: never remembered in the user's validation cache.
        .env("TALLY_CACHE", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > limits.time {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(Run {
        code: status.code(),
        stdout,
        stderr,
        timed_out,
        elapsed: started.elapsed(),
    })
}

/// Write an input as a project directory.
pub fn write_project(input: &Input, dir: &Path) -> std::io::Result<()> {
    if let Some(c) = &input.config {
        std::fs::write(dir.join("tally.yml"), c)?;
    }
    for (name, text) in &input.files {
        // Seeds name files inside the project; a mutated name never leaves it.
        let safe: PathBuf = Path::new(name)
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        let path = dir.join(safe);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Run `tally validate` and `tally sql` (and `tally query` on `database`, if given) on an input;
/// the problems found.
pub fn check_input(
    tally: &Path,
    input: &Input,
    database: Option<&Path>,
    limits: &Limits,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let Ok(dir) = tempfile::tempdir() else {
        return vec![(
            "harness".into(),
            "cannot create a temporary directory".into(),
        )];
    };
    // The project lives in a subdirectory, so `..` from it stays in the temporary directory.
    let root = dir.path().join("project");
    if std::fs::create_dir_all(&root).is_err() || write_project(input, &root).is_err() {
        return vec![("harness".into(), "cannot write the project".into())];
    }
    let project = root.to_string_lossy().into_owned();
    let mut runs: Vec<Vec<String>> = vec![vec![
        "--project".into(),
        project.clone(),
        "validate".into(),
        "--format".into(),
        "json".into(),
    ]];
    let q = &input.query;
    let mut flags: Vec<String> = Vec::new();
    for m in &q.metrics {
        flags.extend(["--metrics".into(), m.clone()]);
    }
    for g in &q.group_by {
        flags.extend(["--group-by".into(), g.clone()]);
    }
    for w in &q.where_ {
        flags.extend(["--where".into(), w.clone()]);
    }
    for o in &q.order {
        flags.push(format!("--order={o}"));
    }
    if let Some(l) = q.limit {
        flags.extend(["--limit".into(), l.to_string()]);
    }
    let mut sql = vec![
        "--project".into(),
        project.clone(),
        "sql".into(),
        "--dialect".into(),
        q.dialect.clone(),
    ];
    sql.extend(flags.iter().cloned());
    runs.push(sql);
    if let Some(db) = database {
        let mut query = vec![
            "--project".into(),
            project,
            "query".into(),
            "--duckdb".into(),
            db.to_string_lossy().into_owned(),
        ];
        query.extend(flags);
        runs.push(query);
    }
    for args in runs {
        // A process argument cannot hold a NUL byte (the in-process mode covers those).
        let args: Vec<String> = args.iter().map(|a| a.replace('\0', "")).collect();
        let what = args.get(2).cloned().unwrap_or_default();
        let r = match run_tally(tally, &args, limits) {
            Ok(r) => r,
            Err(e) => {
                problems.push(("harness".into(), format!("cannot run tally: {e}")));
                continue;
            }
        };
        if r.timed_out {
            problems.push((
                "timeout".into(),
                format!("`tally {what}` ran over {:?}", limits.time),
            ));
            continue;
        }
        match r.code {
            None => problems.push((
                "abort".into(),
                format!("`tally {what}` was killed by a signal: {}", tail(&r.stderr)),
            )),
            Some(0..=2) => {}
            Some(c) => problems.push(("exit-code".into(), format!("`tally {what}` exited {c}"))),
        }
        if r.stderr.contains("panicked at") {
            problems.push(("panic".into(), tail(&r.stderr)));
        }
        if r.stderr.contains("E0901") || r.stdout.contains("E0901") {
            problems.push(("E0901".into(), tail(&r.stderr)));
        }
        if what == "validate" {
            check_json(&r.stdout, &mut problems);
        } else if r.code != Some(0)
            && !r.stderr.contains("error[E")
            && !r.stderr.contains("error: ")
        {
            problems.push((
                "uncoded".into(),
                format!("`tally {what}`: {}", tail(&r.stderr)),
            ));
        }
    }
    problems
}

/// Every diagnostic of `validate --format json` has a known code.
fn check_json(stdout: &str, problems: &mut Vec<(String, String)>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(stdout) else {
        if !stdout.is_empty() {
            problems.push(("json".into(), "validate printed invalid JSON".into()));
        }
        return;
    };
    for d in v.as_array().into_iter().flatten() {
        let code = d["code"].as_str().unwrap_or("");
        if !codes::ALL.iter().any(|(c, _)| *c == code) {
            problems.push(("unknown-code".into(), code.to_string()));
        }
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
