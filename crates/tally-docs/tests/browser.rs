//! The docs site of the repository's project in a real headless browser: Chromium (Debian's) driven
//! by playwright-core, both installed by `scripts/browser`, which `scripts/test` runs and which sets
//! `TALLY_BROWSER` and `TALLY_NODE_MODULES`. Without them the test says it is skipped, and fails
//! under CI (`CI=true`). The checks are in `tests/browser/check.cjs`: every page loads without
//! console errors and its links resolve, search finds a metric by a word of its description, the
//! SQL switcher works, the pages read with JavaScript off; screenshots are kept (the path is
//! printed).

use std::path::PathBuf;
use std::process::Command;
use tally_core::load::LoadOptions;
use tally_docs::SiteOptions;

#[test]
fn the_site_works_in_a_headless_browser() {
    let (Some(browser), Some(modules)) = (
        std::env::var_os("TALLY_BROWSER"),
        std::env::var_os("TALLY_NODE_MODULES"),
    ) else {
        let msg = "browser checks skipped: TALLY_BROWSER and TALLY_NODE_MODULES are not set (run `eval \"$(scripts/browser)\"`, as scripts/test does)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("{msg}");
        return;
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (model, diags) = tally_core::pipeline::load_model(
        &repo,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let site = tally_docs::generate(&model, &diags, &SiteOptions::for_model(&model));
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("site");
    tally_docs::output::write_site(&site, &out).expect("write the site");
    // Screenshots outlive the test: under the target directory's temporary folder.
    let artefacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs-browser");
    let _ = std::fs::remove_dir_all(&artefacts);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check.cjs");
    let run = Command::new("node")
        .arg(&script)
        .arg(&out)
        .arg(&artefacts)
        .env("TALLY_BROWSER", browser)
        .env("NODE_PATH", modules)
        .output()
        .expect("run node (scripts/browser installs it)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        run.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"));
    assert!(artefacts.join("docs-home.png").is_file());
    assert!(artefacts.join("docs-metric.png").is_file());
}
