pub use duckdb;
pub mod cache;
pub mod engine;
pub mod testing;
