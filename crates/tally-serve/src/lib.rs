//! tally's servers: `tally mcp` (the Model Context Protocol, dbt-mcp's semantic-layer tools) and
//! `tally serve` (MCP plus an HTTP JSON API), safe by default.
//!
//! - `project`: the loaded project and its reload (an `Arc` swapped whole);
//! - `exec`: the locked-down read-only DuckDB, statement timeout, row cap, concurrency limit;
//! - `params`: the tools' parameter types (also the HTTP request bodies);
//! - `query`: parameters -> tally `QueryRequest`; `guard`: what a client's filter may contain;
//! - `catalog`: the listing tools; `service`: every operation, shared by both servers;
//! - `mcp`: the MCP server (rmcp); `http`: the axum server and its guards; `openapi`: the API
//!   description.

pub mod catalog;
pub mod error;
pub mod exec;
pub mod guard;
pub mod http;
pub mod mcp;
pub mod openapi;
pub mod params;
pub mod project;
pub mod query;
pub mod service;

pub use error::ServeError;
pub use service::{Service, Settings};
