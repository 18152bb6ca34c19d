//! Several `tally` processes on one project and one database at once: the first use generates the
//! sample database once, under a lock, and publishes it by rename; every reader sees a whole
//! database; `query` and `test` run side by side.

mod common;

use common::{copy_dir, p};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of the repository's project in a temporary directory, with a small sample database
/// configured (generated on first use).
fn project_copy(dir: &Path) -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = dir.join("project");
    for sub in ["models", "metrics", "templates"] {
        copy_dir(&repo.join(sub), &root.join(sub));
    }
    let cfg = std::fs::read_to_string(repo.join("tally.yml"))
        .expect("tally.yml")
        .replace("conversations: 20000", "conversations: 1000");
    assert!(cfg.contains("conversations: 1000"));
    std::fs::write(root.join("tally.yml"), cfg).expect("write tally.yml");
    root
}

fn spawn(root: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("--project")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        // The validation cache beside the project copy, in the test's temporary directory.
        .env(
            "TALLY_CACHE_DIR",
            root.parent().expect("parent").join("tally-cache"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tally")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const QUERY: &[&str] = &[
    "query",
    "--metrics",
    "conversation_volume",
    "--group-by",
    "metric_time__month",
];

#[test]
fn concurrent_first_queries_generate_once_and_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = project_copy(dir.path());
    let db = root.join(".tally/support.duckdb");
    assert!(!db.exists());
    let children: Vec<_> = (0..4).map(|_| spawn(&root, QUERY)).collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", text(o));
    }
    let first = &outs[0].stdout;
    assert!(!first.is_empty());
    for o in &outs[1..] {
        assert_eq!(&o.stdout, first, "{}", text(o));
    }
    // Generated exactly once; the others waited for it.
    let generated = outs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("note[E0011]: wrote"))
        .count();
    assert_eq!(
        generated,
        1,
        "{}",
        outs.iter().map(text).collect::<Vec<_>>().join("\n")
    );
    let leftovers: Vec<String> = std::fs::read_dir(db.parent().expect("dir"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn parallel_queries_and_tests_share_one_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = project_copy(dir.path());
    // First use, alone.
    let first = spawn(&root, QUERY).wait_with_output().expect("wait");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let db = root.join(".tally/support.duckdb");
    let before = std::fs::read(&db).expect("db");
    let mut children = Vec::new();
    for i in 0..6 {
        children.push(if i % 2 == 0 {
            spawn(&root, QUERY)
        } else {
            spawn(&root, &["test"])
        });
    }
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        if i % 2 == 0 {
            assert_eq!(o.stdout, first.stdout);
        }
    }
    assert!(
        std::fs::read(&db).expect("db") == before,
        "readers changed the database"
    );
    let _ = p(&db);
}

fn run(root: &Path, args: &[&str]) -> Output {
    spawn(root, args).wait_with_output().expect("wait")
}

/// The materialisation cache across processes: the first query builds the `sql:` relation it
/// reads and keeps its result, the next reads both (`-v` says which), a query on the clock is
/// never kept, the rows are those of `--cache off`, concurrent
/// queries agree (a process that finds the cache file held runs uncached), `tally cache status`
/// lists the table and `clear` removes the file.
#[test]
fn the_cache_is_built_once_reused_and_shared_by_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = project_copy(dir.path());
    let mut verbose = QUERY.to_vec();
    verbose.push("-v");
    let first = run(&root, &verbose);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("cache: conversations: built in"), "{err}");
    assert!(err.contains("cache: result of the query: kept ("), "{err}");
    let cache = root.join(".tally/support.tally-cache.duckdb");
    assert!(cache.is_file());
    let second = run(&root, &verbose);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("cache: conversations: hit"), "{err}");
    // The whole result again: read, not computed.
    assert!(err.contains("cache: result of the query: hit ("), "{err}");
    assert_eq!(second.stdout, first.stdout);
    // A filter on the clock: its answer changes with the day, so it is never kept.
    let mut today = verbose.clone();
    today.extend([
        "--where",
        "{{ TimeDimension('metric_time', 'day') }} <= now()",
    ]);
    for _ in 0..2 {
        let o = run(&root, &today);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("cache: result of the query: not kept: the SQL reads `now`"),
            "{err}"
        );
    }
    // `current_date` too (the local engine defines it where DuckDB lacks it): never kept, and
    // every sample row is before a date a thousand years from now.
    let mut date = verbose.clone();
    date.extend([
        "--where",
        "{{ TimeDimension('metric_time', 'day') }} < current_date + 365000",
    ]);
    let o = run(&root, &date);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(o.stdout, first.stdout, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cache: result of the query: not kept: the SQL reads `current_date`"),
        "{err}"
    );
    // Refresh computes it again.
    let mut refresh = verbose.clone();
    refresh.extend(["--cache", "refresh"]);
    let again = run(&root, &refresh);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("cache: result of the query: kept ("), "{err}");
    assert_eq!(again.stdout, first.stdout);
    let mut off = QUERY.to_vec();
    off.extend(["--cache", "off", "-v"]);
    let plain = run(&root, &off);
    assert_eq!(plain.stdout, first.stdout, "{}", text(&plain));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("cache: off"));
    let children: Vec<_> = (0..4).map(|_| spawn(&root, &verbose)).collect();
    for c in children {
        let o = c.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(o.stdout, first.stdout, "{}", text(&o));
    }
    let status = run(&root, &["cache", "status"]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("conversations ") && l.contains("fresh")),
        "{}",
        text(&status)
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("kept query results: 1 (") && l.ends_with("1 fresh, 0 stale")),
        "{}",
        text(&status)
    );
    let cleared = run(&root, &["cache", "clear"]);
    assert_eq!(cleared.status.code(), Some(0), "{}", text(&cleared));
    assert!(!cache.exists());
    // Something that is not tally's where the cache would be: left alone, the query runs.
    std::fs::create_dir(&cache).expect("mkdir");
    let blocked = run(&root, &verbose);
    assert_eq!(blocked.stdout, first.stdout, "{}", text(&blocked));
    assert!(String::from_utf8_lossy(&blocked.stderr).contains("cache: not used"));
    assert!(cache.is_dir());
    assert_ne!(run(&root, &["cache", "clear"]).status.code(), Some(0));
}
