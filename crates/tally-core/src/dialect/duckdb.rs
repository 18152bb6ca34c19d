//! DuckDB: tally's embedded engine, and the dialect every query is executed in by the test suite.

use super::{within_group, Capabilities, PercentileSpec};

pub(super) struct DuckDb;

impl Capabilities for DuckDb {
    fn double_type(&self) -> &'static str {
        "DOUBLE"
    }
    /// Exact percentiles as ordered-set aggregates; the approximate continuous one is
    /// `APPROX_QUANTILE(expr, p)`. DuckDB has no approximate discrete percentile.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        match (spec.approximate, spec.discrete) {
            (false, _) => Ok(within_group(expr, spec)),
            (true, false) => Ok(format!("APPROX_QUANTILE({expr}, {})", spec.p)),
            (true, true) => Err("DuckDB has no approximate discrete percentile".into()),
        }
    }
}
