//! `tally diff` (what changed since a git ref, what it affects and who must know): the base
//! version read with `git ls-tree`/`git show`, loaded and resolved, compared with the working
//! tree. It runs no SQL, so the lean `tally` runs it; `--data` (the values that move, on DuckDB)
//! is the engine's (`ci::diff`), which passes its part in.

use crate::choices::DiffFormat;
use crate::{report, Ctx, EXIT_OK, EXIT_USAGE};
use std::path::{Path, PathBuf};
use std::process::Command;
use tally_core::diag::{codes, Diagnostic};
use tally_core::model::Model;

/// Run git in `dir`; stdout, or the first line of stderr.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .next()
            .unwrap_or("git failed")
            .trim()
            .to_string())
    }
}

fn git_text(dir: &Path, args: &[&str]) -> Result<String, String> {
    git(dir, args).map(|b| {
        String::from_utf8_lossy(&b)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    })
}

const NOT_MODEL_FILES: &[&str] = &[
    "tally.yml",
    "tally.yaml",
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "selectors.yml",
];

/// The project as it was at a commit: its files read with `git show`, loaded and resolved.
fn base_model(
    ctx: &Ctx,
    toplevel: &Path,
    prefix: &str,
    commit: &str,
) -> Result<(Model, usize), String> {
    let listing = git(
        toplevel,
        &["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit],
    )?;
    let rel: Vec<String> = listing
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter_map(|p| p.strip_prefix(prefix).map(str::to_string))
        .collect();
    let show = |r: &str| -> Result<String, String> {
        git(toplevel, &["show", &format!("{commit}:{prefix}{r}")])
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let config_name = ["tally.yml", "tally.yaml"]
        .into_iter()
        .find(|n| rel.iter().any(|r| r == n));
    let config = match config_name {
        Some(n) => Some(show(n)?),
        None => None,
    };
    let is_project = config.is_some() || rel.iter().any(|r| r == "dbt_project.yml");
    let paths: Vec<String> = match &config {
        Some(c) => tally_core::load::load_files(&[], Some(c), &ctx.opts)
            .0
            .config
            .paths
            .clone(),
        None => Vec::new(),
    };
    let mut dirs: Vec<String> = paths
        .iter()
        .map(|p| p.trim_matches('/').to_string())
        .collect();
    if dirs.is_empty() && is_project {
        for d in ["models", "metrics", "semantic_models"] {
            if rel.iter().any(|r| r.starts_with(&format!("{d}/"))) {
                dirs.push(d.to_string());
            }
        }
    }
    let scan_all = dirs.is_empty();
    let wanted = |r: &str| -> bool {
        let parts: Vec<&str> = r.split('/').collect();
        if parts.iter().any(|p| p.starts_with('.'))
            || parts[..parts.len() - 1]
                .iter()
                .any(|p| tally_core::load::SKIP_DIRS.contains(p))
        {
            return false;
        }
        let ext_ok = r.ends_with(".yml") || r.ends_with(".yaml") || r.ends_with(".csv");
        if scan_all {
            ext_ok && !(parts.len() == 1 && NOT_MODEL_FILES.contains(&parts[0]))
        } else {
            ext_ok
                && dirs
                    .iter()
                    .any(|d| d == "." || r.starts_with(&format!("{d}/")))
        }
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let mut templates: Vec<(String, String)> = Vec::new();
    for r in &rel {
        if wanted(r) {
            files.push((r.clone(), show(r)?));
        } else if let Some(name) = r.strip_prefix("templates/") {
            if name.ends_with(".sql") && !name.contains('/') {
                templates.push((name.to_string(), show(r)?));
            }
        }
    }
    files.sort();
    templates.sort();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (mut spec, mut diags) = tally_core::load::load_files(&pairs, config.as_deref(), &ctx.opts);
    spec.root = ctx.project.clone();
    spec.templates = templates;
    if is_project && rel.iter().any(|r| r == "dbt_project.yml") {
        // A dbt project's relations come from profiles.yml and SQL files, outside what is read
        // here: the working tree's stand in for the base's (FIXME: read them at the commit).
        spec.dbt = tally_core::load::load_project(&ctx.project, &ctx.opts)
            .0
            .dbt;
    }
    let (model, more) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
    diags.extend(more);
    diags.extend(tally_core::pipeline::check_tests(&model));
    let errors = diags.iter().filter(|d| d.is_error()).count();
    Ok((model, errors))
}

/// What `--data` adds to the report: the metrics' values by month under both definitions, as
/// JSON (`data`) and as Markdown; computed on DuckDB (`ci::value_changes`, engine only).
pub(crate) type DataChanges<'a> =
    &'a dyn Fn(&mut Model, &mut Model, &tally_core::diff::ModelDiff) -> (serde_json::Value, String);

/// `tally diff --base <ref> [--format markdown|json]`, and with `data` (`--data`, in the engine)
/// the values that move.
pub(crate) fn run(ctx: &Ctx, base: &str, format: DiffFormat, data: Option<DataChanges<'_>>) -> u8 {
    let toplevel = match git_text(&ctx.project, &["rev-parse", "--show-toplevel"]) {
        Ok(t) => PathBuf::from(t),
        Err(e) => {
            let d = Diagnostic::error(
                codes::IO,
                format!(
                    "`{}` is not in a git repository: {e}",
                    ctx.project.display()
                ),
            )
            .with_help(
                "`tally diff` compares the project with a git ref; run it inside the repository",
            );
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let prefix = git_text(&ctx.project, &["rev-parse", "--show-prefix"]).unwrap_or_default();
    let commit = match git_text(
        &ctx.project,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ],
    ) {
        Ok(c) if !c.is_empty() => c,
        _ => {
            let d = Diagnostic::error(codes::IO, format!("unknown git ref `{base}`"))
                .with_help("pass a branch, tag or commit: `--base origin/main` (in CI, fetch it first: `git fetch origin main`)");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let (mut base_model, base_errors) = match base_model(ctx, &toplevel, &prefix, &commit) {
        Ok(x) => x,
        Err(e) => {
            let d = Diagnostic::error(
                codes::IO,
                format!("cannot read the project at `{base}`: {e}"),
            )
            .with_help("check that the project directory exists at that ref");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let loaded = crate::project::load(ctx);
    if loaded.unreadable() {
        ctx.print_diags(&loaded.model, &loaded.diags);
        return EXIT_USAGE;
    }
    loaded.report_warnings(ctx);
    let (mut head, head_diags) = (loaded.model, loaded.diags);
    if base_errors > 0 {
        let text = format!("the project at `{base}` has {base_errors} error(s); objects with errors are left out of the comparison");
        report::note(ctx, text, None);
    }
    let head_errors = head_diags.iter().filter(|d| d.is_error()).count();
    if head_errors > 0 {
        let text = format!("the working tree has {head_errors} error(s) (see `tally validate`); objects with errors are left out of the comparison");
        report::note(ctx, text, None);
    }
    let d = tally_core::diff::diff_models(&base_model, &head);
    let values = data.map(|f| f(&mut base_model, &mut head, &d));
    match format {
        DiffFormat::Json => {
            let mut v = serde_json::to_value(&d).expect("diff serialises");
            if let Some(obj) = v.as_object_mut() {
                let mut out = serde_json::Map::new();
                out.insert("base".into(), serde_json::Value::String(base.to_string()));
                out.insert(
                    "base_commit".into(),
                    serde_json::Value::String(commit.clone()),
                );
                out.insert(
                    "head".into(),
                    serde_json::Value::String("working tree".into()),
                );
                out.extend(std::mem::take(obj));
                if let Some((json, _)) = &values {
                    out.insert("data".into(), json.clone());
                }
                v = serde_json::Value::Object(out);
            }
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        DiffFormat::Markdown => {
            print!(
                "{}",
                tally_core::diff::render_markdown(&d, base, "working tree")
            );
            if let Some((_, markdown)) = &values {
                print!("{markdown}");
            }
        }
    }
    EXIT_OK
}
