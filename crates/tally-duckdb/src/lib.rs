pub use duckdb;
pub mod conformance;
pub mod conformance_tally;
pub mod crosscheck;
pub mod engine;
pub mod sample;
pub mod testing;
