pub use duckdb;
pub mod clock;
pub mod engine;
pub mod testing;
