//! The stable diagnostic codes. A code never changes meaning once released; `docs/errors.md` is
//! generated from [`ALL`] by a test, so the table there is always complete.

macro_rules! codes {
    ($($name:ident = $code:literal : $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $name: &str = $code;
        )*
        /// Every code with its one-line summary, in code order.
        pub const ALL: &[(&str, &str)] = &[$(($code, $summary)),*];
    };
}

codes! {
    // E00xx: reading files.
    IO = "E0001": "A project file or directory could not be read.";
    YAML_SYNTAX = "E0002": "A YAML file is not valid YAML.";
    UNKNOWN_KEY = "E0003": "A mapping has a key that tally does not know (often a typo).";
    INVALID_VALUE = "E0004": "A value has the wrong type or is not one of the allowed values.";
    MISSING_KEY = "E0005": "A required key is missing.";
    DUPLICATE_KEY = "E0006": "A mapping has the same key twice.";
    UNKNOWN_DOCUMENT = "E0007": "A YAML document has a top-level key that neither tally nor dbt reads.";
    CONFIG = "E0008": "tally.yml is invalid (unknown variable, bad relation template).";
    // E002x: dbt projects.
    DBT_PROJECT = "E0020": "dbt_project.yml is invalid (no name, model-paths not a list, vars not a mapping, an unknown key).";
    DBT_PROFILE = "E0021": "The dbt profile cannot be used: no profiles.yml, an unknown profile or target, a target without type or schema.";
    DBT_JINJA = "E0022": "Jinja in dbt YAML that tally cannot render: an unset var() or env_var(), an unknown doc(), a macro call, bad --vars.";
    JSON_SYNTAX = "E0014": "A JSON file (dbt's semantic manifest, `--manifest`) is not valid JSON.";
    OUTSIDE_PROJECT = "E0009": "A path (`paths:`, `csv:`, `duckdb:`, a symbolic link) leads outside the project directory.";
    USAGE = "E0010": "A command-line flag has an invalid value (out of range, or a file tally must not replace).";
    NOTE = "E0011": "A note on what a command did, not a problem: dbt's manifest is newer than the YAML read, sample data was generated first, objects with errors were left out of a diff.";
    // E01xx: names and semantic models.
    DUPLICATE_NAME = "E0101": "Two objects of the same kind share a name.";
    INVALID_NAME = "E0102": "A name is not a lower-case identifier, or uses the reserved `__` separator or a reserved word.";
    UNKNOWN_MEASURE = "E0103": "A metric refers to a measure that no semantic model defines.";
    AGG_TIME_DIMENSION = "E0104": "A measure has no usable aggregation time dimension.";
    TIME_DIMENSION_PARAMS = "E0105": "A time dimension lacks a time granularity, or a categorical one has one.";
    PRIMARY_ENTITY = "E0106": "A semantic model with measures, or with dimensions, has no primary entity.";
    ELEMENT_CONFLICT = "E0107": "The same element name means different things in different semantic models.";
    PERCENTILE_PARAMS = "E0108": "A percentile measure lacks a percentile between 0 and 1, or another aggregation has percentile params.";
    NODE_RELATION = "E0109": "A semantic model has no relation to read from (node_relation, model or sql).";
    NON_ADDITIVE = "E0110": "A non-additive dimension is not a time dimension of its model, or its window groupings are unknown.";
    LABEL = "E0111": "Two objects of the same kind share a label.";
    ENTITY_TYPE = "E0112": "An entity has an invalid type or combination of types.";
    VALIDITY_WINDOW = "E0113": "A validity window (slowly changing dimension) is not one start and one end time dimension on a model keyed by a natural entity, without measures.";
    // E02xx: metrics.
    UNKNOWN_METRIC = "E0201": "A reference names a metric that does not exist.";
    METRIC_CYCLE = "E0202": "Derived metrics depend on each other in a cycle.";
    EXPRESSION = "E0203": "An expression (derived formula, filter or SQL snippet) does not parse.";
    FILTER_REFERENCE = "E0204": "A filter refers to a dimension, entity or metric that cannot be reached.";
    METRIC_PARAMS = "E0205": "A metric's type_params do not fit its type.";
    DERIVED_INPUT = "E0206": "A derived metric's inputs are invalid (alias clashes, unused inputs, unknown names in the formula).";
    CUMULATIVE_PARAMS = "E0207": "A cumulative metric has both a window and grain_to_date, or an invalid window.";
    CONVERSION_PARAMS = "E0208": "A conversion metric's base and conversion measures, entity or constant properties are invalid.";
    SAVED_QUERY = "E0209": "A saved query refers to unknown metrics or group-by items.";
    TIME_SPINE = "E0210": "The time spine configuration is invalid.";
    GRANULARITY = "E0211": "An unknown time granularity or date part.";
    METRIC_TIME_GRANULARITY = "E0212": "A metric's time_granularity is finer than the grain of its measures' aggregation time dimensions.";
    // E03xx: owners and metric trees.
    UNKNOWN_OWNER = "E0301": "An owner is not a person or team in the roster of tally.yml.";
    ACCOUNTABLE = "E0302": "A metric with owners must have exactly one accountable owner.";
    DRIVER_CYCLE = "E0303": "Metric drivers form a cycle.";
    UNKNOWN_DRIVER = "E0304": "A driver names a metric that does not exist.";
    // E031x: targets, alerts and checks (`tally check`).
    TARGET = "E0310": "A target is invalid: a period that does not fit its grain, overlapping ranges, a ramp without from/to/start/end, a bad tolerance, pacing on a non-additive metric, a slice on an unknown dimension.";
    DIRECTION = "E0311": "A metric with targets or worse/better conditions has no `direction`.";
    ALERT = "E0312": "An alert is invalid: no condition or several, an unknown target, a bad `for`, severity, no_data, threshold or anomaly setting.";
    NOTIFY = "E0313": "A notification recipient is not a RACI role of the metric or a person or team of the roster, or an endpoint or `checks:` setting is invalid.";
    TARGET_FILE = "E0314": "A target's CSV file cannot be read or does not have the columns `period,<slice dimensions…>,value`.";
    CHECK_STATUS = "E0316": "`tally check`: a metric is at risk or off track against a target, or an alert fires (a finding in github and sarif output, not a project error).";
    // E04xx: joins and queries.
    UNKNOWN_GROUP_BY = "E0401": "A group-by item, order item or filter reference is not reachable from the queried metrics.";
    AMBIGUOUS_JOIN = "E0402": "An entity is reachable by several equally short join paths.";
    FAN_OUT = "E0403": "A join would multiply rows (many-to-one in the wrong direction).";
    INVALID_QUERY = "E0404": "A query is malformed (no metrics or group-by, bad limit, bad time bound, bad order item).";
    UNSUPPORTED = "E0405": "The query uses a feature this dialect or tally does not support yet.";
    DATABASE = "E0406": "DuckDB failed to run a query (a runtime error such as a failed cast or a missing table).";
    // E05xx: metric tests (`metric_tests:`, `test_tables:`; run by `tally test`).
    TEST_UNKNOWN_METRIC = "E0501": "A metric test queries a metric or saved query that does not exist.";
    TEST_FIXTURE = "E0502": "A metric test's fixture or expected rows are malformed (no query, a list row of the wrong length, a non-scalar value, an unreadable CSV file, an invalid column type, a table given twice).";
    TEST_MISSING_COLUMN = "E0503": "A fixture row and its table disagree on columns: a row names a column the table does not declare, or the project's SQL reads a column the fixture lacks.";
    TEST_MISSING_TABLE = "E0504": "A metric test's query reads a table that none of its fixtures (or `test_tables:`) provides.";
    TEST_EXPECTED_COLUMN = "E0505": "A metric test expects a column its query does not return.";
    TEST_EXECUTION = "E0506": "DuckDB rejected a metric test's fixture data or query.";
    TEST_FAILED = "E0507": "A metric test's actual rows differ from its expected rows.";
    // E06xx: serving (`tally serve`, `tally mcp`).
    SERVE_AUTH = "E0601": "A server request lacks the right bearer token (HTTP 401).";
    SERVE_ORIGIN = "E0602": "A server request has a Host or Origin header the server does not allow (HTTP 403).";
    SERVE_LIMIT = "E0603": "A server request is over a limit: body size (413), concurrent requests (503) or the statement timeout (504).";
    SERVE_PARAMS = "E0604": "A server request's parameters are malformed: unknown field, wrong type, unknown dialect or format.";
    SERVE_FILTER = "E0605": "A where filter holds SQL the server refuses: several statements, comments, sub-queries or statement keywords.";
    SERVE_EXECUTION = "E0606": "DuckDB could not run a compiled query for a server request.";
    SERVE_CONFIG = "E0607": "The server cannot start: a non-loopback address without a token, an unreadable token file, an unusable database.";
    // E08xx: business calendars (`business_calendars:`, `holiday_sets:`, `business_durations:`).
    CALENDAR_ZONE = "E0801": "A business calendar's time zone is not an IANA zone in tally's tz database.";
    CALENDAR_HOURS = "E0802": "Office hours are malformed: not `HH:MM-HH:MM`, empty, longer than a day, or hours beside `by`.";
    CALENDAR_OVERLAP = "E0803": "Office-hours intervals overlap (in one day, or an overnight shift into the next day).";
    CALENDAR_VERSIONS = "E0804": "A calendar's versions are not in increasing `effective_from` order.";
    CALENDAR_EXCEPTION = "E0805": "A calendar exception is invalid: a bad or duplicate date, `closed` with `hours`, neither, or `from` after `to`.";
    UNKNOWN_CALENDAR = "E0806": "A business duration, calendar `map`/`default` or `include_exceptions` names a calendar or holiday set that does not exist.";
    CALENDAR_RANGE = "E0807": "A calendar's `range` starts after it ends.";
    BUSINESS_DURATION = "E0808": "A business duration or deadline is invalid: an unknown unit or open_end, a start or end that is not a column, a `by` column missing, both or neither of `end` and `after`, a negative `after`.";
    CALENDAR_OUT_OF_RANGE = "E0809": "A query read business durations of rows with a timestamp outside their calendar's `range` (a warning: those durations are NULL; results and exit code unchanged).";
    CALENDAR_STALE = "E0810": "`tally calendars check --duckdb`: a warehouse copy of a business clock (`tally_bh__<calendar>`) is missing or stale (another fingerprint, rows missing or changed, another range).";
    // E09xx: bugs in tally.
    BUG = "E0901": "A bug in tally, not in the project: generated SQL that does not parse in the target dialect, a broken internal invariant, a panic (severity `bug`; please report it).";
}

/// Generated SQL that does not parse back is one kind of bug in tally.
pub const GENERATED_SQL: &str = BUG;
