//! tally's built-in macro library, embedded: `templates/macros.sql` (the base definitions) and
//! `templates/dialects/<name>.sql` (each dialect's overrides), as the [`Templates`] value
//! tally-core's API takes where a project is resolved (`pipeline::load_model`,
//! `model::spec_to_model`).
//!
//! tally-core does not embed these files itself: it receives them as data, so that it reads no file
//! outside its own crate (`cargo package -p tally-core` works) and its inputs are visible. Every
//! crate that loads projects (the `tally` binary, the engine's test runner, the servers, docs,
//! benchmarks, conformance, fuzzing, the examples) calls [`builtin`], the one list of the files.

use std::sync::OnceLock;
use tally_core::dialect::Dialect;
use tally_core::jinja::Templates;

/// The base macro library, `templates/macros.sql`.
pub const BASE: &str = include_str!("../templates/macros.sql");

/// A dialect's overrides of the base library, `templates/dialects/<name>.sql`.
pub fn dialect(d: Dialect) -> &'static str {
    match d {
        Dialect::BigQuery => include_str!("../templates/dialects/bigquery.sql"),
        Dialect::Databricks => include_str!("../templates/dialects/databricks.sql"),
        Dialect::DuckDb => include_str!("../templates/dialects/duckdb.sql"),
        Dialect::Postgres => include_str!("../templates/dialects/postgres.sql"),
        Dialect::Redshift => include_str!("../templates/dialects/redshift.sql"),
        Dialect::Snowflake => include_str!("../templates/dialects/snowflake.sql"),
        Dialect::Trino => include_str!("../templates/dialects/trino.sql"),
    }
}

/// The built-in templates: [`BASE`] and every dialect's overrides (built once; a clone shares them).
pub fn builtin() -> Templates {
    static BUILTIN: OnceLock<Templates> = OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            Dialect::ALL.iter().fold(Templates::new(BASE), |t, d| {
                t.with_dialect(d.name(), dialect(*d))
            })
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_has_its_overrides() {
        let t = builtin();
        assert_eq!(t.base(), BASE);
        for d in Dialect::ALL {
            assert_eq!(t.dialect(d.name()), dialect(d));
            assert!(t.dialect(d.name()).contains("overrides"), "{d}");
        }
    }
}
