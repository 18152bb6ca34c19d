pub use duckdb;
pub mod cache;
pub mod check_testing;
pub mod clock;
pub mod clock_check;
pub mod engine;
pub mod testing;
