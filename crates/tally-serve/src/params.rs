//! The parameters of the semantic-layer tools: dbt-mcp's (same names and shapes), read leniently
//! as agents send them (a list as a JSON-encoded string, a group-by item as a plain name). The
//! HTTP API takes the same types as request bodies.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// A list of names: a JSON array of strings, or one string (a JSON-encoded array, or one name).
#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(transparent)]
pub struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a list of names (strings)"))?
        {
            Raw::Many(v) => Ok(Names(v)),
            Raw::One(s) => {
                let t = s.trim();
                if t.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(t)
                        .map(Names)
                        .map_err(|e| {
                            serde::de::Error::custom(format!(
                                "a list given as text must be a JSON array of strings: {e}"
                            ))
                        })
                } else if t.is_empty() {
                    Ok(Names(Vec::new()))
                } else {
                    Ok(Names(vec![t.to_string()]))
                }
            }
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMetricsParams {
    /// Substrings of metric names; a metric matching any is listed (at most 20 terms).
    #[serde(default)]
    pub search: Option<Names>,
    /// Only metrics whose `meta` (or `config.meta`) has every one of these key-value pairs.
    #[serde(default)]
    pub meta_filter: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSavedQueriesParams {
    /// A substring of the name, label or description.
    #[serde(default)]
    pub search: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSearchParams {
    /// Metric names from list_metrics.
    pub metrics: Names,
    /// A substring of the names to return.
    #[serde(default)]
    pub search: Option<String>,
}

fn default_values_limit() -> u64 {
    100
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionValuesParams {
    /// The dimension, as a group-by name (`conversation__channel`).
    pub dimension: String,
    /// Metrics to scope the values to.
    #[serde(default)]
    pub metrics: Option<Names>,
    /// Distinct values to return at most (default 100).
    #[serde(default = "default_values_limit")]
    pub limit: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupByType {
    Dimension,
    TimeDimension,
    Entity,
}

/// A group-by item: `{name, type, grain}` as dbt-mcp sends it, or a plain name in tally's syntax
/// (`metric_time__month`, `TimeDimension('metric_time', 'month')`).
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum GroupByParam {
    Item {
        name: String,
        #[serde(rename = "type")]
        kind: GroupByType,
        #[serde(default)]
        grain: Option<String>,
    },
    Name(String),
}

impl<'de> Deserialize<'de> for GroupByParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupByParam, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Item {
            name: String,
            #[serde(rename = "type")]
            kind: GroupByType,
            #[serde(default)]
            grain: Option<String>,
        }
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::String(s) => Ok(GroupByParam::Name(s)),
            other => serde_json::from_value::<Item>(other)
                .map(|i| GroupByParam::Item {
                    name: i.name,
                    kind: i.kind,
                    grain: i.grain,
                })
                .map_err(|e| {
                    serde::de::Error::custom(format!(
                        "a group_by item is {{\"name\", \"type\": \"dimension\"|\"time_dimension\"|\"entity\", \"grain\"}} or a name: {e}"
                    ))
                }),
        }
    }
}

/// An order item: `{name, descending, grain}`, or a name (a leading `-` sorts descending).
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum OrderByParam {
    Item {
        name: String,
        #[serde(default)]
        descending: bool,
        #[serde(default)]
        grain: Option<String>,
    },
    Name(String),
}

impl<'de> Deserialize<'de> for OrderByParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OrderByParam, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Item {
            name: String,
            #[serde(default)]
            descending: bool,
            #[serde(default)]
            grain: Option<String>,
        }
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::String(s) => Ok(OrderByParam::Name(s)),
            other => serde_json::from_value::<Item>(other)
                .map(|i| OrderByParam::Item {
                    name: i.name,
                    descending: i.descending,
                    grain: i.grain,
                })
                .map_err(|e| {
                    serde::de::Error::custom(format!(
                        "an order_by item is {{\"name\", \"descending\", \"grain\"}} or a name: {e}"
                    ))
                }),
        }
    }
}

/// A list given as a JSON array or as a JSON-encoded string of one.
fn lenient_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim_start().starts_with('[') => {
            serde_json::from_str(&s)
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
        Some(serde_json::Value::Array(a)) => serde_json::from_value(serde_json::Value::Array(a))
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(other) => serde_json::from_value(serde_json::Value::Array(vec![other]))
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A metric query: `query_metrics` and `get_metrics_compiled_sql` (with `dialect`), and the HTTP
/// API's `/v1/query` and `/v1/compile` (which also take `saved_query`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// Metric names from list_metrics.
    #[serde(default)]
    pub metrics: Names,
    #[serde(default, deserialize_with = "lenient_list")]
    pub group_by: Option<Vec<GroupByParam>>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub order_by: Option<Vec<OrderByParam>>,
    /// A where filter in dbt's syntax: `{{ Dimension('conversation__channel') }} = 'email'`.
    #[serde(default, rename = "where")]
    pub where_: Option<String>,
    #[serde(default)]
    pub limit: Option<u64>,
    /// The SQL dialect of `get_metrics_compiled_sql` (default: the project's, else duckdb).
    #[serde(default)]
    pub dialect: Option<String>,
    /// Run a saved query of the project (its metrics, group-by, filters and order), adding these.
    #[serde(default)]
    pub saved_query: Option<String>,
}

/// `tally_metric_lineage`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricParams {
    /// A metric's name.
    pub metric: String,
}

/// `tally_run_metric_tests`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsParams {
    /// Only tests whose name contains this text.
    #[serde(default)]
    pub filter: Option<String>,
}

/// No parameters.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Parse tool arguments (a JSON object, or nothing) into `T`, with the reason on failure.
pub fn parse<T: serde::de::DeserializeOwned>(
    args: Option<serde_json::Value>,
) -> Result<T, crate::error::ServeError> {
    let v = args.unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        let mut err = crate::error::ServeError::params(format!("invalid parameters: {msg}"));
        if let Some(field) = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            let expected: Vec<&str> = msg
                .split("expected ")
                .nth(1)
                .map(|r| {
                    r.split(['`', ',', ' '])
                        .filter(|w| !w.is_empty() && *w != "one" && *w != "of" && *w != "or")
                        .collect()
                })
                .unwrap_or_default();
            if let Some(s) = tally_core::diag::did_you_mean(field, expected.iter().copied()) {
                err = err.with_help(format!("did you mean `{s}`?"));
            }
        }
        err
    })
}
