//! The closed sets of values the command line takes (`--format`, `--color`, `--stage`,
//! `--dialect`, `--grain`, actions, generators, kinds), as clap `ValueEnum`s: clap rejects any
//! other value (reported as a coded diagnostic by [`crate::usage`]), help lists the possible
//! values, and the commands match on these enums instead of strings. The sets that core already
//! has as enums (dialects, grains, schema kinds, generators, `--fail-on`) map onto them here.

use clap::builder::PossibleValue;
use clap::ValueEnum;
use tally_core::dialect::Dialect;

/// The name a value has on the command line (for output that echoes the flag).
pub(crate) fn name<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// `--color`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Color {
    /// On when stderr is a terminal and `NO_COLOR` is unset.
    Auto,
    Always,
    Never,
}

/// `--dialect`: core's [`Dialect`] with its names and aliases, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DialectArg(pub Dialect);

const DIALECTS: [DialectArg; 7] = [
    DialectArg(Dialect::ALL[0]),
    DialectArg(Dialect::ALL[1]),
    DialectArg(Dialect::ALL[2]),
    DialectArg(Dialect::ALL[3]),
    DialectArg(Dialect::ALL[4]),
    DialectArg(Dialect::ALL[5]),
    DialectArg(Dialect::ALL[6]),
];

impl ValueEnum for DialectArg {
    fn value_variants<'a>() -> &'a [Self] {
        &DIALECTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).aliases(self.0.aliases().iter().copied()))
    }
}

/// `tally validate --format` and `tally test --format`: diagnostics for people or CI.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DiagFormat {
    Human,
    Json,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    Junit,
    Sarif,
}

/// `tally check --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckFormat {
    Human,
    /// docs/check-json.md.
    Json,
    Markdown,
    Github,
    Junit,
    Sarif,
}

/// `tally check --fail-on`: core's [`tally_core::targets::FailOn`].
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailOnArg {
    #[value(name = "at_risk")]
    AtRisk,
    #[value(name = "off_track")]
    OffTrack,
    Never,
}

impl FailOnArg {
    pub(crate) fn fail_on(self) -> tally_core::targets::FailOn {
        use tally_core::targets::FailOn;
        match self {
            FailOnArg::AtRisk => FailOn::AtRisk,
            FailOnArg::OffTrack => FailOn::OffTrack,
            FailOnArg::Never => FailOn::Never,
        }
    }
}

/// `tally check --notify`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Notify nobody.
    None,
    /// Print the notifications.
    DryRun,
    /// Deliver them and update the state file.
    Send,
}

/// `tally sql --stage`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The SQL for the dialect.
    Sql,
    /// The relational plan as JSON.
    Plan,
}

/// `tally sql --clock`: how business clocks appear in the SQL (`tally_core`'s `ClockForm`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClockArg {
    /// Self-contained: constant rows up to 5,000 clock days, `tally_bh__<calendar>` past them.
    Inline,
    /// Read from the relations `tally_bh__<calendar>` (what `tally query` runs on DuckDB).
    Relation,
}

impl ClockArg {
    pub(crate) fn form(self) -> tally_core::pipeline::ClockForm {
        match self {
            ClockArg::Inline => tally_core::pipeline::ClockForm::Inline,
            ClockArg::Relation => tally_core::pipeline::ClockForm::Relation,
        }
    }
}

/// `tally query --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueryFormat {
    Table,
    /// RFC 4180, as `mf query --csv` writes it.
    Csv,
    Json,
}

/// `tally graph --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    Mermaid,
    /// Graphviz.
    Dot,
    Json,
}

/// `tally tree --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TreeFormat {
    Text,
    Json,
    Mermaid,
    Svg,
    Html,
}

/// `tally tree --grain`: the period a tree compares.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TreeGrain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TreeGrain {
    pub(crate) fn grain(self) -> tally_core::time::Grain {
        use tally_core::time::Grain;
        match self {
            TreeGrain::Day => Grain::Day,
            TreeGrain::Week => Grain::Week,
            TreeGrain::Month => Grain::Month,
            TreeGrain::Quarter => Grain::Quarter,
            TreeGrain::Year => Grain::Year,
        }
    }
}

/// `tally tree --compare`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    /// The previous period.
    Previous,
    /// The same period a year earlier.
    Year,
    /// The metric's target for the period.
    Target,
}

/// `tally lineage --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineageFormat {
    Text,
    Json,
}

/// `tally model --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModelFormat {
    Json,
}

/// `tally diff --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DiffFormat {
    /// A pull-request comment.
    Markdown,
    Json,
}

/// `tally list WHAT`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListWhat {
    Metrics,
    Dimensions,
    Entities,
    SavedQueries,
}

/// `tally sample-data GENERATOR`: core's [`tally_core::spec::SampleGenerator`].
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generator {
    /// The Intercom support project's tables.
    Intercom,
}

impl Generator {
    pub(crate) fn generator(self) -> tally_core::spec::SampleGenerator {
        match self {
            Generator::Intercom => tally_core::spec::SampleGenerator::Intercom,
        }
    }
}

/// `tally calendars ACTION`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CalendarsAction {
    /// The project's business calendars.
    List,
    /// A calendar's business clock for a warehouse.
    Export,
    /// The query that finds stale warehouse copies.
    Check,
}

/// `tally calendars --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    /// A dbt seed.
    Csv,
    /// `CREATE TABLE tally_bh__CALENDAR AS ...`.
    Sql,
}

/// `tally cache ACTION`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheAction {
    /// The cache's tables: model, rows, fresh or stale.
    Status,
    /// Delete the cache.
    Clear,
}

/// `tally schema KIND`: core's [`tally_core::schema::SchemaKind`].
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SchemaArg {
    /// Semantic-layer YAML: models, metrics, saved queries, metric tests.
    Project,
    /// The project settings.
    TallyYml,
}

impl SchemaArg {
    pub(crate) fn kind(self) -> tally_core::schema::SchemaKind {
        use tally_core::schema::SchemaKind;
        match self {
            SchemaArg::Project => SchemaKind::Project,
            SchemaArg::TallyYml => SchemaKind::Config,
        }
    }
}

/// `tally mcp --transport`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// For desktop clients that start `tally mcp`.
    Stdio,
    /// Streamable HTTP at /mcp.
    Http,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every dialect of core is a `--dialect` value under its name, and its aliases parse.
    #[test]
    fn dialect_values_are_cores() {
        for d in Dialect::ALL {
            assert_eq!(DialectArg::from_str(d.name(), true), Ok(DialectArg(d)));
            for a in d.aliases() {
                assert_eq!(DialectArg::from_str(a, true), Ok(DialectArg(d)));
            }
        }
        assert_eq!(
            DialectArg::from_str("PostgreSQL", true),
            Ok(DialectArg(Dialect::Postgres))
        );
        assert!(DialectArg::from_str("snowflak", true).is_err());
    }

    /// The CLI's names of core's enums are core's names.
    #[test]
    fn names_of_core_enums_agree() {
        for k in SchemaArg::value_variants() {
            assert_eq!(name(k), k.kind().name());
        }
        for g in Generator::value_variants() {
            assert_eq!(name(g), g.generator().name());
        }
        for g in TreeGrain::value_variants() {
            assert_eq!(name(g), g.grain().name());
        }
        for f in FailOnArg::value_variants() {
            assert_eq!(
                tally_core::targets::FailOn::parse(&name(f)),
                Some(f.fail_on())
            );
        }
    }
}
