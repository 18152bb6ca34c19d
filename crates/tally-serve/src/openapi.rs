//! The OpenAPI 3.1 description of `tally serve`'s JSON API, served at `/openapi.json` and committed
//! as `docs/openapi.json` (a test keeps the file current). Request bodies are the MCP tools'
//! parameter types; their JSON Schemas come from the same Rust types (schemars).

use crate::params;
use serde_json::{json, Map, Value};

fn schema<T: schemars::JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
    }
    // Component schemas refer to their definitions under components, not `$defs`.
    let text = v
        .to_string()
        .replace("\"#/$defs/", "\"#/components/schemas/");
    serde_json::from_str(&text).unwrap_or_default()
}

fn body(name: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "default": {"$ref": "#/components/responses/Error"}
    })
}

/// The document.
pub fn document() -> Value {
    let mut schemas = Map::new();
    let mut add = |name: &str, mut s: Value| {
        if let Some(Value::Object(defs)) = s.as_object_mut().and_then(|o| o.remove("$defs")) {
            for (k, v) in defs {
                schemas.insert(k, v);
            }
        }
        schemas.insert(name.to_string(), s);
    };
    add("ListMetricsParams", schema::<params::ListMetricsParams>());
    add(
        "ListSavedQueriesParams",
        schema::<params::ListSavedQueriesParams>(),
    );
    add(
        "MetricsSearchParams",
        schema::<params::MetricsSearchParams>(),
    );
    add(
        "DimensionValuesParams",
        schema::<params::DimensionValuesParams>(),
    );
    add("QueryParams", schema::<params::QueryParams>());
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error", "code"], "properties": {
            "error": {"type": "string", "description": "the diagnostic as text: `error[E0401]: ...` and help lines"},
            "code": {"type": "string", "description": "tally's stable diagnostic code (docs/errors.md)"}}}),
    );
    schemas.insert(
        "QueryResult".into(),
        json!({"type": "object", "required": ["columns", "rows", "row_count", "truncated", "row_limit", "sql"], "properties": {
            "columns": {"type": "array", "items": {"type": "string"}, "description": "column names as MetricFlow names them"},
            "rows": {"type": "array", "items": {"type": "object"}, "description": "one record per row, keys in column order"},
            "row_count": {"type": "integer"},
            "truncated": {"type": "boolean", "description": "true when the server's row limit cut the rows"},
            "row_limit": {"type": "integer"},
            "sql": {"type": "string", "description": "the DuckDB SQL that ran"},
            "warnings": {"type": "array", "items": {"type": "object"}, "description": "diagnostics about the rows, as `tally validate --format json` prints them (code, severity, message, file, line, help): E0809 when business durations are NULL because the data leaves a calendar's range"}}}),
    );
    let format_param = json!({"name": "format", "in": "query", "required": false,
        "schema": {"type": "string", "enum": ["json", "csv"]},
        "description": "json (default) or csv; `Accept: text/csv` also selects CSV"});
    let search_param = json!({"name": "search", "in": "query", "required": false,
        "schema": {"type": "string"}, "description": "a substring of the names to list"});
    let array = json!({"type": "array", "items": {"type": "object"}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tally serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A dbt Semantic Layer (MetricFlow) project served over HTTP: the metric catalog, metric queries on DuckDB and their SQL for any of tally's dialects. Request bodies are the parameter types of the MCP tools served at /mcp (dbt-mcp's semantic-layer tools). Every error is a JSON object with tally's diagnostic code. Loopback only unless started with a token; with a token every route but /healthz needs `Authorization: Bearer <token>`."
        },
        "servers": [{"url": "http://127.0.0.1:8484"}],
        "security": [{}, {"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and the loaded project", "security": [{}],
                "responses": ok("the project's name, metric count and load generation", json!({"type": "object"}))}},
            "/openapi.json": {"get": {"summary": "This document", "responses": ok("OpenAPI 3.1", json!({"type": "object"}))}},
            "/mcp": {"post": {"summary": "The Model Context Protocol (streamable HTTP): dbt-mcp's semantic-layer tools and tally's own",
                "responses": {"200": {"description": "a JSON-RPC response (JSON or an event stream)"}}}},
            "/v1/metrics": {
                "get": {"summary": "List metrics (like list_metrics)", "parameters": [search_param, format_param],
                    "responses": ok("metrics: name, type, label, description, metadata, owners, tags (CSV: dbt-mcp's list_metrics CSV)", array.clone())},
                "post": {"summary": "List metrics with list_metrics's parameters", "parameters": [format_param],
                    "requestBody": body("ListMetricsParams"), "responses": ok("metrics", array.clone())}},
            "/v1/metrics/{metric}/lineage": {"get": {"summary": "A metric's lineage and owners",
                "parameters": [{"name": "metric", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": ok("inputs down to source columns, dependents, owners", json!({"type": "object"}))}},
            "/v1/saved-queries": {
                "get": {"summary": "List saved queries (like list_saved_queries)", "parameters": [search_param],
                    "responses": ok("saved queries: name, label, description, metrics, group_by, where", array.clone())},
                "post": {"summary": "List saved queries with list_saved_queries's parameters",
                    "requestBody": body("ListSavedQueriesParams"), "responses": ok("saved queries", array.clone())}},
            "/v1/dimensions": {"post": {"summary": "The dimensions every given metric can be grouped by (like get_dimensions)",
                "requestBody": body("MetricsSearchParams"), "responses": ok("dimensions: name, type, granularities, label, description, metadata", array.clone())}},
            "/v1/entities": {"post": {"summary": "The entities every given metric can be grouped by (like get_entities)",
                "requestBody": body("MetricsSearchParams"), "responses": ok("entities: name, type", array.clone())}},
            "/v1/dimension-values": {"post": {"summary": "Distinct values of a dimension (like get_dimension_values)",
                "requestBody": body("DimensionValuesParams"),
                "responses": ok("values as strings, nulls dropped", json!({"type": "object", "properties": {"values": {"type": "array", "items": {"type": "string"}}, "truncated": {"type": "boolean"}}}))}},
            "/v1/query": {"post": {"summary": "Run a metric query on DuckDB (like query_metrics)", "parameters": [format_param],
                "requestBody": body("QueryParams"),
                "responses": {
                    "200": {"description": "rows (CSV with `?format=csv`; header `x-tally-truncated`)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueryResult"}}, "text/csv": {"schema": {"type": "string"}}}},
                    "default": {"$ref": "#/components/responses/Error"}}}},
            "/v1/compile": {"post": {"summary": "The SQL of a metric query for a dialect (like get_metrics_compiled_sql)",
                "requestBody": body("QueryParams"),
                "responses": ok("the SQL and its dialect", json!({"type": "object", "properties": {"sql": {"type": "string"}, "dialect": {"type": "string"}}}))}},
            "/v1/graph": {"get": {"summary": "The metric tree: metrics, drivers, inputs, owners",
                "parameters": [{"name": "full", "in": "query", "required": false, "schema": {"type": "boolean"}, "description": "also semantic models, entities, dimensions, measures"}],
                "responses": ok("nodes and edges", json!({"type": "object"}))}},
            "/v1/reload": {"post": {"summary": "Load the project again; requests in flight finish on the previous one",
                "responses": ok("the new load generation", json!({"type": "object"}))}}
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "a refusal or failure: 400 bad parameters, 401 token, 403 Host/Origin, 404 unknown name, 413 body too large, 422 query does not compile or filter refused, 500 DuckDB error, 503 busy, 504 statement timeout",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
        }
    })
}

/// The committed document's text.
pub fn document_text() -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document()).unwrap_or_default()
    )
}
