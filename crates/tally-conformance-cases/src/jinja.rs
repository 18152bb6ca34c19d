//! The Jinja environment of MetricFlow's check queries and where filters (DuckDB SQL).

use minijinja::value::{Kwargs, Rest, ValueOrKwargs};
use minijinja::{Environment, Error as JinjaError, ErrorKind, UndefinedBehavior, Value as JValue};

use crate::datetime::*;
use crate::fixtures::quote_str;
use crate::{Case, DATE_PARTS, GRANULARITIES};

pub(crate) fn jerr(msg: impl Into<String>) -> JinjaError {
    JinjaError::new(ErrorKind::InvalidOperation, msg.into())
}

/// Positional and keyword arguments of a Python-style helper call.
pub(crate) struct Args {
    func: &'static str,
    pos: Vec<Option<JValue>>,
    kw: Vec<(String, Option<JValue>)>,
}

impl Args {
    fn new(func: &'static str, args: Rest<ValueOrKwargs>) -> Result<Args, JinjaError> {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        for a in args.into_values() {
            if a.is_kwargs() {
                let kwargs = Kwargs::try_from(a)?;
                let names: Vec<String> = kwargs.args().map(str::to_string).collect();
                for name in names {
                    let v: JValue = kwargs.get(&name)?;
                    kw.push((name, Some(v)));
                }
            } else {
                pos.push(Some(a));
            }
        }
        Ok(Args { func, pos, kw })
    }

    /// Takes the argument at position `idx` or named `name`.
    fn take(&mut self, idx: usize, name: &str) -> Result<Option<JValue>, JinjaError> {
        let positional = self.pos.get_mut(idx).and_then(Option::take);
        let keyword = self
            .kw
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.take());
        match (positional, keyword) {
            (Some(_), Some(_)) => Err(jerr(format!("{}(): `{name}` given twice", self.func))),
            (Some(v), None) | (None, Some(v)) => {
                Ok((!v.is_none() && !v.is_undefined()).then_some(v))
            }
            (None, None) => Ok(None),
        }
    }

    fn required(&mut self, idx: usize, name: &str) -> Result<JValue, JinjaError> {
        self.take(idx, name)?
            .ok_or_else(|| jerr(format!("{}(): missing argument `{name}`", self.func)))
    }

    fn string(&mut self, idx: usize, name: &str) -> Result<String, JinjaError> {
        Ok(value_text(&self.required(idx, name)?))
    }

    fn opt_string(&mut self, idx: usize, name: &str) -> Result<Option<String>, JinjaError> {
        Ok(self.take(idx, name)?.map(|v| value_text(&v)))
    }

    fn finish(self) -> Result<(), JinjaError> {
        if self.pos.iter().any(Option::is_some) {
            return Err(jerr(format!("{}(): too many arguments", self.func)));
        }
        if let Some((n, _)) = self.kw.iter().find(|(_, v)| v.is_some()) {
            return Err(jerr(format!(
                "{}(): unexpected keyword argument `{n}`",
                self.func
            )));
        }
        Ok(())
    }
}

pub(crate) fn value_text(v: &JValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

pub(crate) fn check_enum(kind: &str, value: &str, allowed: &[&str]) -> Result<String, JinjaError> {
    let lower = value.to_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(jerr(format!("unknown {kind} {value:?}")))
    }
}

/// Python-style list literal of strings: `['a', 'b']`.
pub(crate) fn py_list(v: Option<JValue>) -> Result<String, JinjaError> {
    let Some(v) = v else {
        return Ok("[]".into());
    };
    if let Some(s) = v.as_str() {
        // A bare string is a one-element path.
        return Ok(format!("['{s}']"));
    }
    let items: Vec<String> = v
        .try_iter()?
        .map(|item| format!("'{}'", value_text(&item)))
        .collect();
    Ok(format!("[{}]", items.join(", ")))
}

pub(crate) fn cast_ts(expr: &str) -> String {
    format!("CAST({expr} AS TIMESTAMP)")
}

pub(crate) fn render_time_constraint(
    expr: &str,
    start: Option<&str>,
    stop: Option<&str>,
) -> Result<String, String> {
    let mut parts = Vec::new();
    if let Some(start) = start {
        parse_datetime(start)?;
        parts.push(format!(
            "{} >= {}",
            cast_ts(expr),
            cast_ts(&quote_str(start))
        ));
    }
    if let Some(stop) = stop {
        let micros = parse_datetime(stop)?;
        let next = if stop.len() == 10 {
            format_date(micros + MICROS_PER_DAY)
        } else {
            format_timestamp(micros + 1_000_000)
        };
        parts.push(format!(
            "{} < {}",
            cast_ts(expr),
            cast_ts(&quote_str(&next))
        ));
    }
    if parts.is_empty() {
        return Err("render_time_constraint(): give start_time or stop_time".into());
    }
    Ok(parts.join(" AND "))
}

pub(crate) fn build_env(schema: &str, for_where_filter: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    add_globals(&mut env, schema);
    add_check_query_helpers(&mut env);
    if for_where_filter {
        add_where_filter_helpers(&mut env);
    }
    env
}

/// The schema, type and enum globals of the check queries.
fn add_globals(env: &mut Environment<'static>, schema: &str) {
    env.add_global("source_schema", schema.to_string());
    env.add_global("double_data_type_name", "DOUBLE");
    env.add_global("mf_time_spine_source", format!("{schema}.mf_time_spine"));
    let enum_map = |values: &[&str]| {
        JValue::from(
            values
                .iter()
                .map(|v| (v.to_uppercase(), JValue::from(*v)))
                .collect::<std::collections::BTreeMap<String, JValue>>(),
        )
    };
    env.add_global("TimeGranularity", enum_map(GRANULARITIES));
    env.add_global("DatePart", enum_map(DATE_PARTS));
}

/// MetricFlow's SQL helpers of the check queries, as DuckDB SQL.
fn add_check_query_helpers(env: &mut Environment<'static>) {
    env.add_function("render_date_trunc", helpers::render_date_trunc);
    env.add_function("render_time_constraint", helpers::render_time_constraint);
    env.add_function("render_date_sub", helpers::render_date_sub);
    env.add_function("render_date_add", helpers::render_date_add);
    env.add_function("render_extract", helpers::render_extract);
    env.add_function("render_percentile_expr", helpers::render_percentile_expr);
    env.add_function("generate_random_uuid", || "GEN_RANDOM_UUID()".to_string());
    env.add_function("cast_to_ts", helpers::cast_to_ts);
}

/// The `render_*_template` helpers of where filters: each writes a tally Jinja reference.
fn add_where_filter_helpers(env: &mut Environment<'static>) {
    env.add_function(
        "render_dimension_template",
        helpers::render_dimension_template,
    );
    env.add_function("render_entity_template", helpers::render_entity_template);
    env.add_function("render_metric_template", helpers::render_metric_template);
    env.add_function(
        "render_time_dimension_template",
        helpers::render_time_dimension_template,
    );
}

/// The helpers, one function each, named as in Jinja.
mod helpers {
    use super::*;

    type Helper = Result<String, JinjaError>;

    pub(super) fn render_date_trunc(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_date_trunc", args)?;
        let expr = a.string(0, "expr")?;
        let grain = a.string(1, "granularity")?;
        a.finish()?;
        let grain = check_enum("granularity", &grain, GRANULARITIES)?;
        Ok(format!("DATE_TRUNC('{grain}', {})", cast_ts(&expr)))
    }

    pub(super) fn render_time_constraint(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_time_constraint", args)?;
        let expr = a.string(0, "expr")?;
        let start = a.opt_string(1, "start_time")?;
        let stop = a.opt_string(2, "stop_time")?;
        a.finish()?;
        super::render_time_constraint(&expr, start.as_deref(), stop.as_deref()).map_err(jerr)
    }

    pub(super) fn render_date_sub(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_date_sub", args)?;
        let alias = a.string(0, "table_alias")?;
        let column = a.string(1, "column_alias")?;
        let count = a.required(2, "count")?;
        let grain = a.string(3, "granularity")?;
        a.finish()?;
        let count = count.as_i64().ok_or_else(|| {
            jerr(format!(
                "render_date_sub(): count {count} is not an integer"
            ))
        })?;
        let grain = check_enum("granularity", &grain, GRANULARITIES)?;
        let (count, grain) = if grain == "quarter" {
            (count * 3, "month".to_string())
        } else {
            (count, grain)
        };
        Ok(format!("{alias}.{column} - INTERVAL {count} {grain}"))
    }

    pub(super) fn render_date_add(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_date_add", args)?;
        let expr = a.string(0, "date_column")?;
        let count = a.string(1, "count_column")?;
        let grain = a.string(2, "granularity")?;
        a.finish()?;
        let grain = check_enum("granularity", &grain, GRANULARITIES)?;
        Ok(if grain == "quarter" {
            format!("{expr} + INTERVAL ({count} * 3) month")
        } else {
            format!("{expr} + INTERVAL {count} {grain}")
        })
    }

    pub(super) fn render_extract(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_extract", args)?;
        let expr = a.string(0, "expr")?;
        let part = a.string(1, "date_part")?;
        a.finish()?;
        let part = check_enum("date part", &part, DATE_PARTS)?;
        let part = if part == "dow" {
            "isodow".to_string()
        } else {
            part
        };
        Ok(format!("EXTRACT({part} FROM {})", cast_ts(&expr)))
    }

    pub(super) fn render_percentile_expr(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_percentile_expr", args)?;
        let expr = a.string(0, "expr")?;
        let p = a.string(1, "percentile")?;
        let discrete = a.required(2, "use_discrete_percentile")?.is_true();
        let approximate = a.required(3, "use_approximate_percentile")?.is_true();
        a.finish()?;
        match (discrete, approximate) {
            (false, false) => Ok(format!(
                "PERCENTILE_CONT({p}) WITHIN GROUP (ORDER BY ({expr}))"
            )),
            (true, false) => Ok(format!(
                "PERCENTILE_DISC({p}) WITHIN GROUP (ORDER BY ({expr}))"
            )),
            (false, true) => Ok(format!("approx_quantile({expr}, {p})")),
            (true, true) => Err(jerr(
                "approximate discrete percentile is not available on DuckDB",
            )),
        }
    }

    pub(super) fn cast_to_ts(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("cast_to_ts", args)?;
        let lit = a.string(0, "string_literal")?;
        a.finish()?;
        Ok(cast_ts(&quote_str(&lit)))
    }

    pub(super) fn render_dimension_template(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_dimension_template", args)?;
        let name = a.string(0, "dimension_name")?;
        let path = py_list(a.take(1, "entity_path")?)?;
        a.finish()?;
        Ok(format!("{{{{ Dimension('{name}', entity_path={path}) }}}}"))
    }

    pub(super) fn render_entity_template(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_entity_template", args)?;
        let name = a.string(0, "entity_name")?;
        let path = py_list(a.take(1, "entity_path")?)?;
        a.finish()?;
        Ok(format!("{{{{ Entity('{name}', entity_path={path}) }}}}"))
    }

    pub(super) fn render_metric_template(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_metric_template", args)?;
        let name = a.string(0, "metric_name")?;
        let group_by = py_list(a.take(1, "group_by")?)?;
        a.finish()?;
        Ok(format!("{{{{ Metric('{name}', group_by={group_by}) }}}}"))
    }

    pub(super) fn render_time_dimension_template(args: Rest<ValueOrKwargs>) -> Helper {
        let mut a = Args::new("render_time_dimension_template", args)?;
        let name = a.string(0, "time_dimension_name")?;
        let grain = a.opt_string(1, "time_granularity")?;
        let path = py_list(a.take(2, "entity_path")?)?;
        a.finish()?;
        Ok(match grain {
            Some(g) => format!("{{{{ TimeDimension('{name}', '{g}', entity_path={path}) }}}}"),
            None => format!("{{{{ TimeDimension('{name}', entity_path={path}) }}}}"),
        })
    }
}

pub(crate) fn render_with(env: &Environment<'_>, source: &str) -> Result<String, String> {
    env.render_str(source, ()).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        msg
    })
}

/// First Jinja pass of a case's `where_filter` (MetricFlow renders it with the check-query helpers
/// plus the `render_*_template` helpers).
pub fn render_where_filter(raw: &str, schema: &str) -> Result<String, String> {
    render_with(&build_env(schema, true), raw)
}

/// Renders a case's check query for DuckDB with the fixture tables in `schema`.
pub fn render_check_query(case: &Case, schema: &str) -> Result<String, String> {
    render_with(&build_env(schema, false), &case.check_query)
}
