//! Targets, alerts and their evaluation (`tally check`): tally's metric direction, target series
//! with tolerance bands, alert conditions, routing by RACI role, and the statuses of a metric's
//! periods.
//!
//! - [`spec`] (in [`crate::spec::targets`]): the YAML as written (`direction`, `maturity`, `targets`, `alerts` on metrics;
//!   `notify` on people and teams and `checks:` in tally.yml).
//! - [`period`] (in [`crate::period`], below `model`): calendar periods of a grain (parse, shift,
//!   label).
//! - the resolved types ([`Checks`], [`Target`], [`Alert`], ...) are held by the model
//!   ([`crate::model::checks`], re-exported here); resolution (spec -> [`Checks`], E031x) is part
//!   of model resolution (`model/resolve/targets.rs`), and check tests are checked by
//!   [`crate::pipeline`] with [`check_test::check_all`].
//! - [`status`]: a value against a target: gap, bands, pacing, the [`Status`].
//! - [`eval`]: the evaluation API: [`eval::requests`] says which series to read, and
//!   [`eval::evaluate`] turns the values read into evaluations and alert states; pure, no I/O.
//! - [`query`]: the SQL of one series request (the compiled metric query joined to its target
//!   series as a `VALUES` relation).
//! - [`standing`]: one metric's target and status in one period (for `tally tree`).
//! - [`check_test`]: check tests (`check_tests:`) checked and compared with an evaluation.
//! - [`describe`]: targets and alerts as text fields for `tally diff`.
//! - [`state`]: episodes across runs (fire once, escalate, resolve) and the notifications to send.

pub mod check_test;
pub mod describe;
pub mod eval;
pub mod query;
/// The spec types, with the other spec types ([`crate::spec::targets`]).
pub use crate::spec::targets as spec;
pub mod standing;
pub mod state;
pub mod status;

/// Calendar periods of a grain, below `model` ([`crate::period`]).
pub use crate::period;
pub use period::Period;
pub use spec::{Direction, Pacing};
pub use status::Status;

/// The resolved checks, held by the model ([`crate::model::checks`]).
pub use crate::model::checks::{
    Alert, Band, Bands, ChangeVs, CheckConfig, Checks, Condition, Endpoints, FailOn, Level,
    MetricChecks, Op, Routing, Severity, SmtpConfig, Target, TargetEntry, ROLES,
};
