//! `tally mcp`: the Model Context Protocol server (rmcp, the official Rust SDK).
//!
//! dbt-mcp's seven semantic-layer tools are served from dbt-mcp's own contract snapshot
//! (`contract/`): same names, titles, descriptions, input and output schemas, so a client written
//! for dbt-mcp works unchanged. `get_metrics_compiled_sql` adds an optional `dialect`, and
//! `openWorldHint` is false. Results follow dbt-mcp's `structured_output`: `structuredContent` is
//! `{"result": ...}` and one text block carries the same result. tally's own tools are prefixed
//! `tally_` so they cannot collide with dbt-mcp's.

use crate::error::ServeError;
use crate::params::{self, DimensionValuesParams, ListMetricsParams, ListSavedQueriesParams};
use crate::service::Service;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, MetaObject, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{json, Value};
use std::sync::Arc;

/// dbt-mcp's contract snapshot of its semantic-layer tools (see `contract/SOURCE.md`).
pub const DBT_MCP_CONTRACT: &str =
    include_str!("../contract/dbt-mcp-semantic-layer-tools.contract.json");

/// The names of dbt-mcp's seven semantic-layer tools.
pub const DBT_TOOLS: [&str; 7] = [
    "list_metrics",
    "list_saved_queries",
    "get_dimensions",
    "get_entities",
    "get_dimension_values",
    "query_metrics",
    "get_metrics_compiled_sql",
];

const INSTRUCTIONS: &str = "tally serves a dbt Semantic Layer (MetricFlow) project from a local \
directory. Start with list_metrics, then get_dimensions for a metric; query_metrics runs a query \
on the project's DuckDB and get_metrics_compiled_sql shows its SQL (for any of tally's dialects). \
`metric_time` is the time dimension of every metric. Rows are capped; a truncated result says so \
in its last text block: never sum a truncated result.";

/// The tools `tools/list` returns, as JSON: dbt-mcp's seven, then tally's own.
pub fn tool_definitions() -> Vec<Value> {
    let contract: Vec<Value> = serde_json::from_str(DBT_MCP_CONTRACT).unwrap_or_default();
    let mut out = Vec::new();
    for name in DBT_TOOLS {
        let Some(t) = contract.iter().find(|t| t["name"] == json!(name)) else {
            continue;
        };
        let mut input = t["input_schema"].clone();
        if name == "get_metrics_compiled_sql" {
            input["properties"]["dialect"] = json!({
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": null,
                "description": format!(
                    "tally: the SQL dialect to compile for: {} (default: the project's `dialect`, else duckdb)",
                    tally_core::dialect::Dialect::names().collect::<Vec<_>>().join(", ")
                ),
                "title": "Dialect"
            });
        }
        let mut annotations = t["annotations"].clone();
        annotations["openWorldHint"] = json!(false);
        out.push(json!({
            "name": name,
            "title": t["title"],
            "description": t["description"],
            "inputSchema": input,
            "outputSchema": t["output_schema"],
            "annotations": annotations,
        }));
    }
    out.extend(tally_tools());
    out
}

fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
        o.entry("properties").or_insert_with(|| json!({}));
    }
    v
}

fn tally_tools() -> Vec<Value> {
    let ro = |title: &str| {
        json!({"title": title, "readOnlyHint": true, "destructiveHint": false,
               "idempotentHint": true, "openWorldHint": false})
    };
    let result_any =
        json!({"type": "object", "properties": {"result": {}}, "required": ["result"]});
    vec![
        json!({
            "name": "tally_metric_lineage",
            "title": "Metric Lineage and Owners",
            "description": "tally: a metric's lineage: its inputs down to semantic models, measures and source columns, the metrics that depend on it, and its owners (accountable, responsible, consulted, informed) from the project's roster.",
            "inputSchema": schema_of::<params::MetricParams>(),
            "outputSchema": result_any,
            "annotations": ro("Metric Lineage and Owners"),
        }),
        json!({
            "name": "tally_metric_tree",
            "title": "Metric Tree",
            "description": "tally: the metric tree: every metric, the metrics that drive it (`drivers:`), its inputs and its owners, as nodes and edges.",
            "inputSchema": schema_of::<params::NoParams>(),
            "outputSchema": result_any,
            "annotations": ro("Metric Tree"),
        }),
        json!({
            "name": "tally_validate",
            "title": "Validate Project",
            "description": "tally: check the project as it is on disk now and return every problem (stable code, file, line, column, message, help).",
            "inputSchema": schema_of::<params::NoParams>(),
            "outputSchema": result_any,
            "annotations": ro("Validate Project"),
        }),
        json!({
            "name": "tally_run_metric_tests",
            "title": "Run Metric Tests",
            "description": "tally: run the project's metric tests (fixture rows in, expected rows out), each on its own in-memory DuckDB; the project's database is not touched.",
            "inputSchema": schema_of::<params::TestsParams>(),
            "outputSchema": result_any,
            "annotations": ro("Run Metric Tests"),
        }),
    ]
}

/// The MCP server: one per session, all sharing the [`Service`].
#[derive(Clone)]
pub struct McpServer {
    pub service: Arc<Service>,
}

/// A successful result: `structuredContent {"result": value}` and one text block.
fn success(value: Value) -> CallToolResult {
    let text = match &value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(json!({ "result": value }));
    r
}

/// An error result: the diagnostic text, with `structuredContent` where the tool's output schema
/// has room for an error.
fn failure(tool: &str, e: &ServeError) -> CallToolResult {
    let text = e.text();
    let mut r = CallToolResult::error(vec![ContentBlock::text(text.clone())]);
    r.structured_content = match tool {
        "get_dimension_values" => Some(json!({"result": {"error": text}})),
        "list_metrics" | "query_metrics" | "get_metrics_compiled_sql" => {
            Some(json!({ "result": text }))
        }
        _ => None,
    };
    let mut meta = serde_json::Map::new();
    meta.insert("tally/code".into(), json!(e.code));
    r.meta = Some(MetaObject(meta));
    r
}

impl McpServer {
    pub fn new(service: Arc<Service>) -> McpServer {
        McpServer { service }
    }

    /// Run one tool; `None` for a tool that does not exist.
    pub async fn call(&self, name: &str, args: Option<Value>) -> Option<CallToolResult> {
        if !tool_exists(name) {
            return None;
        }
        let s = &self.service;
        let out: Result<CallToolResult, ServeError> = async {
            Ok(match name {
                "list_metrics" => {
                    let p: ListMetricsParams = params::parse(args)?;
                    success(Value::String(s.list_metrics(&p).await?))
                }
                "list_saved_queries" => {
                    let p: ListSavedQueriesParams = params::parse(args)?;
                    success(s.list_saved_queries(&p))
                }
                "get_dimensions" => success(s.get_dimensions(&params::parse(args)?).await?),
                "get_entities" => success(s.get_entities(&params::parse(args)?).await?),
                "get_dimension_values" => {
                    let p: DimensionValuesParams = params::parse(args)?;
                    success(s.dimension_values(&p).await?)
                }
                "query_metrics" => {
                    let p: params::QueryParams = params::parse(args)?;
                    if p.dialect.is_some() {
                        return Err(ServeError::params(
                            "query_metrics has no `dialect`; it runs on DuckDB (get_metrics_compiled_sql takes one)",
                        ));
                    }
                    let r = s.query(&p).await?;
                    let text = serde_json::to_string_pretty(&r.records()).unwrap_or_default();
                    let mut out = success(Value::String(text));
                    let mut meta = serde_json::Map::new();
                    meta.insert("tally/truncated".into(), json!(r.truncated));
                    meta.insert("tally/row_limit".into(), json!(r.row_limit));
                    meta.insert("tally/row_count".into(), json!(r.table.rows.len()));
                    let warnings = r.warnings.as_array().cloned().unwrap_or_default();
                    for w in &warnings {
                        out.content.push(ContentBlock::text(format!(
                            "Warning ({}): {}",
                            w["code"].as_str().unwrap_or_default(),
                            w["message"].as_str().unwrap_or_default()
                        )));
                    }
                    if !warnings.is_empty() {
                        meta.insert("tally/warnings".into(), r.warnings.clone());
                    }
                    out.meta = Some(MetaObject(meta));
                    if r.truncated {
                        out.content.push(ContentBlock::text(format!(
                            "Note: the result was truncated to the server's row limit of {} rows; \
                             do not sum or average it. Add a `limit`, a coarser grain or a `where` filter.",
                            r.row_limit
                        )));
                    }
                    out
                }
                "get_metrics_compiled_sql" => {
                    let p: params::QueryParams = params::parse(args)?;
                    success(Value::String(s.compile(&p)?.sql))
                }
                "tally_metric_lineage" => {
                    let p: params::MetricParams = params::parse(args)?;
                    success(s.lineage(&p.metric)?)
                }
                "tally_metric_tree" => {
                    let _: params::NoParams = params::parse(args)?;
                    success(s.graph(false))
                }
                "tally_validate" => {
                    let _: params::NoParams = params::parse(args)?;
                    success(s.validate())
                }
                "tally_run_metric_tests" => {
                    let p: params::TestsParams = params::parse(args)?;
                    success(s.run_tests(&p).await?)
                }
                other => return Err(ServeError::params(format!("unknown tool `{other}`"))),
            })
        }
        .await;
        Some(out.unwrap_or_else(|e| failure(name, &e)))
    }
}

fn tool_exists(name: &str) -> bool {
    DBT_TOOLS.contains(&name)
        || matches!(
            name,
            "tally_metric_lineage"
                | "tally_metric_tree"
                | "tally_validate"
                | "tally_run_metric_tests"
        )
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tally", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools: Vec<Tool> = tool_definitions()
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| McpError::internal_error(format!("tool definitions: {e}"), None))?;
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.map(Value::Object);
        match self.call(&request.name, args).await {
            Some(r) => Ok(r.into()),
            None => Err(McpError::invalid_params(
                format!(
                    "unknown tool `{}`; tools: {}",
                    request.name,
                    tool_definitions()
                        .iter()
                        .filter_map(|t| t["name"].as_str().map(String::from))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            )),
        }
    }
}

/// Serve MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(service: Arc<Service>) -> Result<(), String> {
    use rmcp::ServiceExt;
    let running = McpServer::new(service)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP initialisation failed: {e}"))?;
    running
        .waiting()
        .await
        .map(|_| ())
        .map_err(|e| format!("MCP server stopped: {e}"))
}
