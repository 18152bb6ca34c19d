//! `tally docs generate` and `tally docs serve`: the metric catalog (crate `tally-docs`).

use crate::args::DocsAction;
use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tally_core::diag;
use tally_core::load::LoadOptions;
use tally_docs::{Site, SiteOptions};

pub(crate) fn run(ctx: &Ctx, action: DocsAction) -> u8 {
    match action {
        DocsAction::Generate { out } => generate(ctx, out),
        DocsAction::Serve { bind } => serve(ctx, &bind),
    }
}

/// Load the project and build its site; `Err` with the exit code when the project cannot be read.
fn build(ctx: &Ctx) -> Result<(Site, usize, usize), u8> {
    let loaded = crate::project::load(ctx);
    if loaded.unreadable() {
        ctx.print_diags(&loaded.model, &loaded.diags);
        return Err(EXIT_USAGE);
    }
    let errors = loaded.errors();
    let (model, diags) = (loaded.model, loaded.diags);
    let site = tally_docs::generate(&model, &diags, &SiteOptions::for_model(&model));
    Ok((site, model.metrics.len(), errors))
}

fn generate(ctx: &Ctx, out: Option<PathBuf>) -> u8 {
    let out = out.unwrap_or_else(|| ctx.project.join(".tally").join("docs"));
    let (site, metrics, errors) = match build(ctx) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match tally_docs::output::write_site(&site, &out) {
        Ok(summary) => {
            eprintln!(
                "wrote the catalog ({metrics} metrics, {} files) to {}; open {}",
                summary.written,
                out.display(),
                out.join("index.html").display()
            );
            if errors > 0 {
                let text = format!("the project has {errors} error(s); objects with errors are left out, and the site lists the problems on diagnostics.html");
                report::note(ctx, text, Some("see them with `tally validate`".into()));
            }
            EXIT_OK
        }
        Err(e) => report::fail(
            ctx,
            tally_core::diag::Diagnostic::error(tally_core::diag::codes::IO, e.to_string())
                .with_help(e.help()),
            EXIT_USAGE,
        ),
    }
}

fn serve(ctx: &Ctx, bind: &str) -> u8 {
    let addr: SocketAddr = match bind.parse() {
        Ok(a) => a,
        Err(_) => {
            let d = diag::Diagnostic::error(
                diag::codes::USAGE,
                format!("`{bind}` is not an address and port"),
            )
            .with_help("for example --bind 127.0.0.1:8080");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    // The first build reports an unreadable project like every other command.
    if let Err(code) = build(ctx) {
        return code;
    }
    let project: PathBuf = ctx.project.clone();
    let opts: LoadOptions = ctx.opts.clone();
    let build: tally_docs::serve::Build = Arc::new(move || site_for(&project, &opts));
    let log: tally_docs::serve::Log = Arc::new(|line: &str| eprintln!("{line}"));
    match tally_docs::serve::start(
        addr,
        ctx.project.clone(),
        Duration::from_secs(1),
        build,
        log,
    ) {
        Ok(server) => {
            eprintln!(
                "serving the catalog at http://{}/ (regenerated when project files change; Ctrl-C stops)",
                server.addr()
            );
            server.wait();
            EXIT_OK
        }
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::InvalidInput {
                EXIT_USAGE
            } else {
                EXIT_PROBLEMS
            };
            let d =
                diag::Diagnostic::error(diag::codes::IO, format!("cannot serve on {addr}: {e}"))
                    .with_help("pass a free loopback address with --bind, like 127.0.0.1:8485");
            report::fail(ctx, d, code)
        }
    }
}

fn site_for(project: &Path, opts: &LoadOptions) -> Site {
    let (model, diags) =
        tally_core::pipeline::load_model(project, opts, &tally_templates::builtin());
    tally_docs::generate(&model, &diags, &SiteOptions::for_model(&model))
}
