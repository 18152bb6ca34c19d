//! `tally mcp` and `tally serve`: flags to settings, then tally-serve runs the servers.

use crate::args::ServeArgs;
use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tally_core::diag::{codes, Diagnostic};
use tally_serve::exec::Limits;
use tally_serve::http::HttpOptions;
use tally_serve::project::ProjectOptions;
use tally_serve::{Service, Settings};

/// The token from `--token-file` or `TALLY_SERVE_TOKEN`; never from the command line.
fn token(args: &ServeArgs) -> Result<Option<String>, Diagnostic> {
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::error(
                codes::SERVE_CONFIG,
                format!("cannot read the token file {}: {e}", path.display()),
            )
            .with_help("--token-file names a readable file holding the token")
        })?;
        let t = text.trim().to_string();
        if t.is_empty() {
            return Err(Diagnostic::error(
                codes::SERVE_CONFIG,
                format!("the token file {} is empty", path.display()),
            )
            .with_help("write the token into the file"));
        }
        return Ok(Some(t));
    }
    Ok(std::env::var("TALLY_SERVE_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

fn open(ctx: &Ctx, args: &ServeArgs) -> Result<Arc<Service>, u8> {
    let settings = Settings {
        limits: Limits {
            statement_timeout: Duration::from_millis(args.timeout_ms.max(1)),
            max_rows: args.max_rows.max(1),
            max_concurrent: args.max_concurrent.max(1),
            max_body_bytes: args.max_body_bytes.max(1024),
        },
        list_budget: std::env::var("DBT_MCP_SL_MAX_RESPONSE_CHARS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(tally_serve::catalog::MAX_RESPONSE_CHARS),
    };
    let opts = ProjectOptions {
        root: ctx.project.clone(),
        load: ctx.opts.clone(),
        duckdb: args.duckdb.clone(),
    };
    match Service::open(opts, settings) {
        Ok((service, notes)) => {
            for n in notes {
                report::note(ctx, n, None);
            }
            let loaded = service.loaded();
            report::warn(ctx, &loaded.model.sources, &loaded.warnings);
            Ok(Arc::new(service))
        }
        Err(e) => {
            let code = if e.code == tally_core::diag::codes::SERVE_CONFIG {
                EXIT_USAGE
            } else {
                EXIT_PROBLEMS
            };
            Err(report::fail(ctx, e.to_diagnostic(), code))
        }
    }
}

fn runtime(ctx: &Ctx) -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            let d = Diagnostic::error(
                codes::SERVE_CONFIG,
                format!("cannot start the async runtime: {e}"),
            );
            report::fail(ctx, d, EXIT_USAGE)
        })
}

/// `tally mcp`.
pub(crate) fn mcp(ctx: &Ctx, transport: crate::choices::Transport, args: &ServeArgs) -> u8 {
    if transport == crate::choices::Transport::Http {
        return serve_http(ctx, args, true);
    }
    let service = match open(ctx, args) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime(ctx) {
        Ok(r) => r,
        Err(c) => return c,
    };
    match rt.block_on(tally_serve::mcp::serve_stdio(service)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let d = Diagnostic::error(codes::SERVE_CONFIG, format!("the MCP server stopped: {e}"));
            report::fail(ctx, d, EXIT_PROBLEMS)
        }
    }
}

/// `tally serve`.
pub(crate) fn http(ctx: &Ctx, args: &ServeArgs) -> u8 {
    serve_http(ctx, args, false)
}

fn serve_http(ctx: &Ctx, args: &ServeArgs, mcp_only: bool) -> u8 {
    let bind: SocketAddr = match args
        .bind
        .as_deref()
        .unwrap_or(tally_serve::http::DEFAULT_BIND)
        .parse()
    {
        Ok(a) => a,
        Err(e) => {
            let d = Diagnostic::error(
                codes::SERVE_CONFIG,
                format!(
                    "--bind `{}` is not an address: {e}",
                    args.bind.as_deref().unwrap_or("")
                ),
            )
            .with_help("give an address like 127.0.0.1:8484");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let token = match token(args) {
        Ok(t) => t,
        Err(d) => {
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    if let Err(e) = tally_serve::http::check_bind(&bind, token.as_deref()) {
        return report::fail(ctx, e.to_diagnostic(), EXIT_USAGE);
    }
    let service = match open(ctx, args) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime(ctx) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let opts = HttpOptions {
        bind: Some(bind),
        token,
        allowed_hosts: args.allow_host.clone(),
        allowed_origins: args.allow_origin.clone(),
        mcp_only,
    };
    let result = rt.block_on(async {
        if !args.no_watch {
            let _watch = tally_serve::http::watch(service.clone(), Duration::from_secs(2));
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tally_serve::http::serve(
            service,
            opts,
            |addr| {
                let what = if mcp_only {
                    "MCP at /mcp"
                } else {
                    "MCP at /mcp, JSON API under /v1"
                };
                eprintln!("tally: listening on http://{addr} ({what})");
            },
            shutdown,
        )
        .await
    });
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => report::fail(ctx, e.to_diagnostic(), EXIT_USAGE),
    }
}
