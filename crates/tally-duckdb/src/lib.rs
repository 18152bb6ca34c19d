pub use duckdb;
pub mod cache;
pub mod check_testing;
pub mod engine;
pub mod testing;
