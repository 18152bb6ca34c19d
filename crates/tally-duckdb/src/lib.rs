pub use duckdb;
pub mod engine;
pub mod testing;
