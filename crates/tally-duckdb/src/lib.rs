pub use duckdb;
pub mod check_testing;
pub mod engine;
pub mod testing;
