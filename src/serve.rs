//! `tally mcp` and `tally serve`: flags to settings, then tally-serve runs the servers.

use crate::args::ServeArgs;
use crate::{Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tally_serve::exec::Limits;
use tally_serve::http::HttpOptions;
use tally_serve::project::ProjectOptions;
use tally_serve::{Service, Settings};

/// The token from `--token-file` or `TALLY_SERVE_TOKEN`; never from the command line.
fn token(args: &ServeArgs) -> Result<Option<String>, String> {
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "error[E0607]: cannot read the token file {}: {e}",
                path.display()
            )
        })?;
        let t = text.trim().to_string();
        if t.is_empty() {
            return Err(format!(
                "error[E0607]: the token file {} is empty",
                path.display()
            ));
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
                eprintln!("note: {n}");
            }
            Ok(Arc::new(service))
        }
        Err(e) => {
            eprintln!("{}", e.text());
            Err(if e.code == tally_core::diag::codes::SERVE_CONFIG {
                EXIT_USAGE
            } else {
                EXIT_PROBLEMS
            })
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            EXIT_USAGE
        })
}

/// `tally mcp`.
pub fn mcp(ctx: &Ctx, transport: &str, args: &ServeArgs) -> u8 {
    if transport == "http" {
        return serve_http(ctx, args, true);
    }
    let service = match open(ctx, args) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    match rt.block_on(tally_serve::mcp::serve_stdio(service)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_PROBLEMS
        }
    }
}

/// `tally serve`.
pub fn http(ctx: &Ctx, args: &ServeArgs) -> u8 {
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
            eprintln!(
                "error[E0607]: --bind `{}` is not an address like 127.0.0.1:8484: {e}",
                args.bind.as_deref().unwrap_or("")
            );
            return EXIT_USAGE;
        }
    };
    let token = match token(args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_USAGE;
        }
    };
    if let Err(e) = tally_serve::http::check_bind(&bind, token.as_deref()) {
        eprintln!("{}", e.text());
        return EXIT_USAGE;
    }
    let service = match open(ctx, args) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime() {
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
        Err(e) => {
            eprintln!("{}", e.text());
            EXIT_USAGE
        }
    }
}
