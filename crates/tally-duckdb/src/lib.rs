pub use duckdb;
pub mod engine;
pub mod conformance;
pub mod conformance_tally;
pub mod sample;
