//! Helpers shared by the CLI test files: run the `tally` binary, temporary directories, paths.
#![allow(dead_code)] // Each test file uses its own subset.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the `tally` binary built for these tests, without colour.
pub fn tally(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tally");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
pub fn metricflow_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/metricflow")
}

/// A fresh directory under the test target's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Write `(relative path, text)` files under `root`.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("write");
    }
}

/// A run as one text for a snapshot: the exit code, stdout and stderr, with each `(path, name)`
/// replaced (temporary directories differ from run to run).
pub fn transcript(out: &Out, replace: &[(&Path, &str)]) -> String {
    let mut text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    );
    for (path, name) in replace {
        text = text.replace(p(path), name);
    }
    text
}
