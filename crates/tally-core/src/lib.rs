//! tally's compiler core. See ARCHITECTURE.md for the stage table.
pub mod diag;
pub mod source;
pub mod spec;
pub mod yaml;
pub mod load;
pub mod model;
pub mod time;
pub mod dialect;
pub mod sql;
pub mod timeval;
pub mod jinja;
pub mod pipeline;
pub mod expr;
pub mod plan;
