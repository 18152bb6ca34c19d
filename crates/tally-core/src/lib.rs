//! tally's compiler core. See ARCHITECTURE.md for the stage table.
pub mod diag;
pub mod source;
pub mod spec;
pub mod yaml;
