pub use duckdb;
pub mod cache;
pub mod check_testing;
pub mod clock;
pub mod engine;
pub mod testing;
