//! The paths of the CI formats (annotations, SARIF, JUnit): the project's files named relative to
//! the root of its git work tree. Shared by `tally validate` (`project`) and `tally test` (`ci`).

use crate::Ctx;
use std::path::Path;
use tally_core::model::Model;
use tally_core::source::{SourceFile, SourceMap};

/// The project's directory relative to the root of its git work tree (`""` at the root, else
/// `sub/dir/`), found by looking for `.git` upwards; `""` outside a repository. CI tools resolve
/// annotation paths from the repository root.
fn repo_prefix(project: &Path) -> String {
    let Ok(abs) = project.canonicalize() else {
        return String::new();
    };
    let mut dir: &Path = &abs;
    loop {
        if dir.join(".git").exists() {
            let rel = abs.strip_prefix(dir).unwrap_or(Path::new(""));
            let s = rel.to_string_lossy().replace('\\', "/");
            return if s.is_empty() { s } else { format!("{s}/") };
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return String::new(),
        }
    }
}

/// The same files, named relative to the repository root (file ids are unchanged).
fn rebased(sources: &SourceMap, prefix: &str) -> SourceMap {
    let mut out = SourceMap::new();
    for (_, f) in sources.files() {
        out.add(SourceFile::new(
            format!("{prefix}{}", f.name),
            &f.path,
            f.text.clone(),
        ));
    }
    out
}

/// The project's files named relative to the repository root (annotations, SARIF, JUnit).
pub(crate) fn ci_sources(ctx: &Ctx, model: &Model) -> SourceMap {
    ci_files(ctx, &model.sources)
}

/// `sources` named relative to the repository root.
pub(crate) fn ci_files(ctx: &Ctx, sources: &SourceMap) -> SourceMap {
    rebased(sources, &repo_prefix(&ctx.project))
}
