//! Helpers shared by the CLI test files: run the `tally` binary, temporary directories, paths.
#![allow(dead_code)] // Each test file uses its own subset.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the `tally` binary built for these tests, without colour.
pub(crate) fn tally(args: &[&str]) -> Out {
    tally_env(args, &[], &[])
}

/// Run `tally` with the environment variables `remove`d, then `set`.
pub(crate) fn tally_env(args: &[&str], set: &[(&str, String)], remove: &[&str]) -> Out {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tally"));
    // The validation cache in a directory of this run only (tests write only in temp dirs).
    let cache = tempfile::tempdir().expect("temp dir");
    c.args(args)
        .env("NO_COLOR", "1")
        .env("TALLY_CACHE_DIR", cache.path());
    for k in remove {
        c.env_remove(k);
    }
    for (k, v) in set {
        c.env(k, v);
    }
    let out = c.output().expect("run tally");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub(crate) fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
pub(crate) fn metricflow_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/metricflow")
}

/// Write `(relative path, text)` files under `root`.
pub(crate) fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("write");
    }
}

/// A run as one text for a snapshot: the exit code, stdout and stderr, with each `(path, name)`
/// replaced (temporary directories differ from run to run).
pub(crate) fn transcript(out: &Out, replace: &[(&Path, &str)]) -> String {
    let mut text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    );
    for (path, name) in replace {
        text = text.replace(p(path), name);
    }
    text
}

/// A project of `files` in a fresh temporary directory, at `dir/project`.
pub(crate) fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("project");
    write(&root, files);
    (dir, root)
}

/// The `orders` semantic model of the small shop projects the CLI tests write (table
/// `shop.orders`): entity `order`, time dimension `ordered_at`, the categorical `dimension`, the
/// measures `order_count` and `revenue_total`, and `extra_measures` (YAML list items).
pub(crate) fn shop_models(dimension: &str, extra_measures: &str) -> String {
    format!(
        "semantic_models:
  - name: orders
    node_relation: {{schema_name: shop, alias: orders}}
    defaults: {{agg_time_dimension: ordered_at}}
    entities: [{{name: order, type: primary, expr: id}}]
    dimensions:
      - {{name: ordered_at, type: time, type_params: {{time_granularity: day}}}}
      - {{name: {dimension}, type: categorical}}
    measures:
      - {{name: order_count, agg: sum, expr: '1'}}
      - {{name: revenue_total, agg: sum, expr: amount}}
{extra_measures}"
    )
}

/// Run `git -C dir ARGS` as a fixed user, without the machine's git configuration; panics with
/// git's stderr when it fails.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=tally",
            "-c",
            "user.email=tally@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Commit everything under `dir` (`git add -A`, `git commit -m message`).
pub(crate) fn git_commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// Assert that `text` contains each of `needles`, showing `text` when one is missing.
#[track_caller]
pub(crate) fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
    }
}

/// Copy the directory tree `from` to `to` (created).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}
