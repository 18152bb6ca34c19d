//! `tally serve` (and `tally mcp --transport http`): one axum server with MCP at `/mcp` and a small
//! JSON API under `/v1`, behind the same guards.
//!
//! Guards, in order, on every route: the `Host` header must name this server (loopback names, or
//! the hosts allowed for a non-loopback bind), a browser `Origin` must be one configured (none by
//! default), and with a token every route but `/healthz` needs `Authorization: Bearer <token>`.
//! Bodies are capped; queries take a slot of the executor (503 when none is free) and run under the
//! statement timeout. CORS headers are sent only for configured origins.

use crate::error::ServeError;
use crate::mcp::McpServer;
use crate::params::{
    self, DimensionValuesParams, ListMetricsParams, ListSavedQueriesParams, MetricsSearchParams,
    QueryParams,
};
use crate::service::{self, Service};
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tally_core::diag::codes;

/// How the HTTP server is exposed.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    pub bind: Option<SocketAddr>,
    /// The bearer token clients must send; required for a non-loopback bind.
    pub token: Option<String>,
    /// Extra `Host` names to accept (for a non-loopback bind behind a name).
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the server (with CORS headers); none by default.
    pub allowed_origins: Vec<String>,
    /// Serve only `/mcp` (`tally mcp --transport http`), not the JSON API.
    pub mcp_only: bool,
}

/// The default address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8484";

/// Refuse to expose the server beyond this machine without a token.
pub fn check_bind(addr: &SocketAddr, token: Option<&str>) -> Result<(), ServeError> {
    if !addr.ip().is_loopback() && token.is_none_or(str::is_empty) {
        return Err(ServeError::new(
            codes::SERVE_CONFIG,
            500,
            format!("refusing to listen on {addr} without a token: it is not a loopback address"),
        )
        .with_help("set TALLY_SERVE_TOKEN (or --token-file FILE) so clients must send `Authorization: Bearer <token>`, or bind to 127.0.0.1"));
    }
    Ok(())
}

#[derive(Clone)]
struct App {
    service: Arc<Service>,
    opts: Arc<HttpOptions>,
    hosts: Arc<Vec<String>>,
}

fn json_response(status: u16, v: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, serde_json::to_string_pretty(v).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.to_json())
    }
}

/// The hosts a `Host` header may name: loopback names, the bound address, configured names.
fn allowed_hosts(opts: &HttpOptions) -> Vec<String> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(a) = opts.bind {
        if !a.ip().is_unspecified() {
            hosts.push(a.ip().to_string());
        }
    }
    hosts.extend(opts.allowed_hosts.iter().cloned());
    hosts
}

/// The host part of a `Host` header (`[::1]:80` -> `::1`, `localhost:80` -> `localhost`).
fn host_name(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => h,
    }
}

/// Equal strings, compared in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_name)
        .or_else(|| req.uri().host());
    let host_ok = host.is_some_and(|h| app.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
    if !host_ok {
        return ServeError::new(
            codes::SERVE_ORIGIN,
            403,
            format!(
                "the Host header `{}` does not name this server",
                host.unwrap_or("")
            ),
        )
        .with_help("requests must address the server by a loopback name (localhost, 127.0.0.1) or an --allow-host name; this refusal stops DNS-rebinding attacks")
        .into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !app.opts.allowed_origins.iter().any(|o| o == origin) {
            return ServeError::new(
                codes::SERVE_ORIGIN,
                403,
                format!("requests from the web origin `{origin}` are not allowed"),
            )
            .with_help(
                "browser pages may call the server only from origins given with --allow-origin",
            )
            .into_response();
        }
    }
    if let Some(token) = app.opts.token.as_deref() {
        if req.uri().path() != "/healthz" {
            let sent = headers
                .get(header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or("");
            if !same_secret(sent.trim().as_bytes(), token.as_bytes()) {
                let mut r = ServeError::new(
                    codes::SERVE_AUTH,
                    401,
                    if sent.is_empty() {
                        "this server needs a bearer token".to_string()
                    } else {
                        "the bearer token is wrong".to_string()
                    },
                )
                .with_help("send `Authorization: Bearer <token>` with the server's token (TALLY_SERVE_TOKEN or its --token-file)")
                .into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return r;
            }
        }
    }
    next.run(req).await
}

/// Read a JSON body of at most `limit` bytes into `T` (an empty body is `{}`).
async fn read_json<T: serde::de::DeserializeOwned>(
    body: Body,
    limit: usize,
) -> Result<T, ServeError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ServeError::new(
            codes::SERVE_LIMIT,
            413,
            format!("the request body is larger than the server's limit of {limit} bytes"),
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return params::parse(None);
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ServeError::params(format!("the request body is not JSON: {e}")))?;
    params::parse(Some(v))
}

fn wants_csv(headers: &HeaderMap, q: &FormatQuery) -> Result<bool, ServeError> {
    match q.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ServeError::params(format!(
            "unknown format `{other}`; formats: json, csv"
        ))),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"))),
    }
}

#[derive(serde::Deserialize, Default)]
struct FormatQuery {
    format: Option<String>,
    search: Option<String>,
    full: Option<bool>,
}

async fn healthz(State(app): State<App>) -> Response {
    let loaded = app.service.loaded();
    json_response(
        200,
        &json!({
            "status": "ok",
            "project": loaded.model.name,
            "metrics": loaded.model.metrics.len(),
            "generation": app.service.project.generation(),
            "queries_running": app.service.executor.running(),
        }),
    )
}

async fn openapi() -> Response {
    json_response(200, &crate::openapi::document())
}

fn limit(app: &App) -> usize {
    app.service.executor.limits.max_body_bytes
}

async fn metrics(
    State(app): State<App>,
    Query(q): Query<FormatQuery>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServeError> {
    let mut p: ListMetricsParams = if method == Method::POST {
        read_json(body, limit(&app)).await?
    } else {
        ListMetricsParams::default()
    };
    if let Some(s) = q.search.clone() {
        p.search = Some(params::Names(vec![s]));
    }
    if wants_csv(&headers, &q)? {
        return Ok(csv_response(app.service.list_metrics(&p).await?, false));
    }
    Ok(json_response(
        200,
        &crate::catalog::metrics_json(&app.service.loaded(), &p),
    ))
}

async fn saved_queries(
    State(app): State<App>,
    Query(q): Query<FormatQuery>,
    method: Method,
    body: Body,
) -> Result<Response, ServeError> {
    let mut p: ListSavedQueriesParams = if method == Method::POST {
        read_json(body, limit(&app)).await?
    } else {
        ListSavedQueriesParams::default()
    };
    if q.search.is_some() {
        p.search = q.search;
    }
    Ok(json_response(200, &app.service.list_saved_queries(&p)))
}

async fn dimensions(State(app): State<App>, body: Body) -> Result<Response, ServeError> {
    let p: MetricsSearchParams = read_json(body, limit(&app)).await?;
    Ok(json_response(200, &app.service.get_dimensions(&p).await?))
}

async fn entities(State(app): State<App>, body: Body) -> Result<Response, ServeError> {
    let p: MetricsSearchParams = read_json(body, limit(&app)).await?;
    Ok(json_response(200, &app.service.get_entities(&p).await?))
}

async fn dimension_values(State(app): State<App>, body: Body) -> Result<Response, ServeError> {
    let p: DimensionValuesParams = read_json(body, limit(&app)).await?;
    Ok(json_response(200, &app.service.dimension_values(&p).await?))
}

fn csv_response(text: String, truncated: bool) -> Response {
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        "x-tally-truncated",
        HeaderValue::from_static(if truncated { "true" } else { "false" }),
    );
    r
}

async fn query(
    State(app): State<App>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServeError> {
    let csv = wants_csv(&headers, &q)?;
    let p: QueryParams = read_json(body, limit(&app)).await?;
    let r = app.service.query(&p).await?;
    if csv {
        return Ok(csv_response(service::csv_text(&r.table), r.truncated));
    }
    Ok(json_response(
        200,
        &json!({
            "columns": r.table.columns,
            "rows": r.records(),
            "row_count": r.table.rows.len(),
            "truncated": r.truncated,
            "row_limit": r.row_limit,
            "sql": r.sql,
            "warnings": r.warnings,
        }),
    ))
}

async fn compile(State(app): State<App>, body: Body) -> Result<Response, ServeError> {
    let p: QueryParams = read_json(body, limit(&app)).await?;
    let c = app.service.compile(&p)?;
    Ok(json_response(
        200,
        &json!({"sql": c.sql, "dialect": c.dialect}),
    ))
}

async fn graph(State(app): State<App>, Query(q): Query<FormatQuery>) -> Response {
    json_response(200, &app.service.graph(q.full.unwrap_or(false)))
}

async fn lineage(
    State(app): State<App>,
    Path(metric): Path<String>,
) -> Result<Response, ServeError> {
    Ok(json_response(200, &app.service.lineage(&metric)?))
}

async fn reload(State(app): State<App>) -> Result<Response, ServeError> {
    let service = app.service.clone();
    let generation = tokio::task::spawn_blocking(move || service.project.reload())
        .await
        .map_err(|e| ServeError::new(codes::SERVE_CONFIG, 500, format!("reload failed: {e}")))??;
    Ok(json_response(
        200,
        &json!({"reloaded": true, "generation": generation}),
    ))
}

async fn not_found(uri: axum::http::Uri) -> Response {
    ServeError::new(
        codes::SERVE_PARAMS,
        404,
        format!("no route `{}`", uri.path()),
    )
    .with_help("see /openapi.json for the routes")
    .into_response()
}

/// The MCP endpoint's settings: the same hosts and origins as the guard, rmcp's own body cap.
fn mcp_config(
    opts: &HttpOptions,
    hosts: &[String],
    max_body: usize,
) -> rmcp::transport::StreamableHttpServerConfig {
    rmcp::transport::StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts.iter().cloned())
        .with_allowed_origins(opts.allowed_origins.iter().cloned())
        .enforce_origin_validation()
        .with_max_request_body_bytes(max_body)
}

/// The whole application: `/mcp`, the JSON API, the guards.
pub fn router(service: Arc<Service>, opts: HttpOptions) -> Router {
    let hosts = allowed_hosts(&opts);
    let max_body = service.executor.limits.max_body_bytes;
    let mcp_service = {
        let s = service.clone();
        rmcp::transport::StreamableHttpService::new(
            move || Ok(McpServer::new(s.clone())),
            Arc::new(rmcp::transport::streamable_http_server::session::local::LocalSessionManager::default()),
            mcp_config(&opts, &hosts, max_body),
        )
    };
    let app = App {
        service,
        opts: Arc::new(opts.clone()),
        hosts: Arc::new(hosts),
    };
    let mut router = Router::new().route_service("/mcp", mcp_service);
    if !opts.mcp_only {
        router = router
            .route("/healthz", get(healthz))
            .route("/openapi.json", get(openapi))
            .route("/v1/metrics", get(metrics).post(metrics))
            .route("/v1/metrics/{metric}/lineage", get(lineage))
            .route("/v1/saved-queries", get(saved_queries).post(saved_queries))
            .route("/v1/dimensions", post(dimensions))
            .route("/v1/entities", post(entities))
            .route("/v1/dimension-values", post(dimension_values))
            .route("/v1/query", post(query))
            .route("/v1/compile", post(compile))
            .route("/v1/graph", get(graph))
            .route("/v1/reload", post(reload));
    }
    let mut router = router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app.clone());
    if !app.opts.allowed_origins.is_empty() {
        let origins: Vec<HeaderValue> = app
            .opts
            .allowed_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        router = router.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::ACCEPT,
                    header::HeaderName::from_static("mcp-session-id"),
                    header::HeaderName::from_static("mcp-protocol-version"),
                ]),
        );
    }
    router
}

/// Bind and serve until `shutdown` resolves. Returns the bound address through `on_bound` first
/// (port 0 picks a free port).
pub async fn serve(
    service: Arc<Service>,
    opts: HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr: SocketAddr = match opts.bind {
        Some(a) => a,
        None => DEFAULT_BIND.parse().expect("default address"),
    };
    check_bind(&addr, opts.token.as_deref())?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ServeError::new(
            codes::SERVE_CONFIG,
            500,
            format!("cannot listen on {addr}: {e}"),
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let opts = HttpOptions {
        bind: Some(bound),
        ..opts
    };
    on_bound(bound);
    axum::serve(listener, router(service, opts))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::new(codes::SERVE_CONFIG, 500, format!("server error: {e}")))
}

/// Reload the project when its files change (checked every `every`), until the process ends.
pub fn watch(service: Arc<Service>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = {
            let s = service.clone();
            tokio::task::spawn_blocking(move || s.project.fingerprint())
                .await
                .unwrap_or(0)
        };
        loop {
            tokio::time::sleep(every).await;
            let s = service.clone();
            let now = tokio::task::spawn_blocking(move || s.project.fingerprint())
                .await
                .unwrap_or(last);
            if now != last {
                last = now;
                let s = service.clone();
                // A project with errors keeps the last good one serving.
                let _ = tokio::task::spawn_blocking(move || s.project.reload()).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_without_ports() {
        assert_eq!(host_name("localhost:8484"), "localhost");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("evil.example:80"), "evil.example");
    }

    #[test]
    fn non_loopback_needs_a_token() {
        let any: SocketAddr = "0.0.0.0:8484".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:8484".parse().unwrap();
        assert_eq!(check_bind(&any, None).unwrap_err().code, "E0607");
        assert!(check_bind(&any, Some("")).is_err());
        assert!(check_bind(&any, Some("s3cret")).is_ok());
        assert!(check_bind(&lo, None).is_ok());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
