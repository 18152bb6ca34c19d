//! One result cell: [`Value`], the type of a query's rows (the engine), of metric tests' fixture
//! and expected cells, and of the conformance runner's tables. The rules that differ between
//! them are functions on the one type: [`fmt::Display`] is how tally prints a cell (tables, CSV),
//! [`Value::written`] how a test's cell reads in a diff, [`Value::to_json`] the JSON output;
//! the comparisons (the metric-test runner's tolerance, MetricFlow's conformance rules) live with
//! their runners and read cells through [`Value::as_f64`] and [`Value::time_micros`].

use crate::timeval::Ts;
use std::fmt;

/// A cell of a result row, a fixture table or an expected row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A date or timestamp, formatted `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`.
    Time(String),
}

/// How tally prints a cell: NULL as nothing, whole floats with one decimal (`2.0`), text and
/// times as they are.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Text(s) | Value::Time(s) => f.write_str(s),
        }
    }
}

/// A cell as a test writes it ([`Value::written`]).
pub struct Written<'a>(&'a Value);

impl fmt::Display for Written<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("NULL"),
            Value::Float(x) => write!(f, "{x}"),
            other => write!(f, "{other}"),
        }
    }
}

impl Value {
    /// The cell in JSON: numbers as numbers (a float that is not finite as null), times as text.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::json!(i),
            Value::Float(x) => serde_json::Number::from_f64(*x)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) | Value::Time(s) => serde_json::Value::String(s.clone()),
        }
    }

    /// The cell as a test writes it: `NULL`, floats in their shortest form (`2`, `2.5`), the
    /// rest as [`fmt::Display`] prints it.
    pub fn written(&self) -> Written<'_> {
        Written(self)
    }

    /// A YAML scalar (as JSON): null, a boolean, an integer, a float or text; `None` for a list
    /// or mapping.
    pub fn from_json(v: &serde_json::Value) -> Option<Value> {
        Some(match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Text(s.clone()),
            _ => return None,
        })
    }

    /// A CSV field: an empty unquoted field is NULL, integers, decimals and `true`/`false` are
    /// typed, anything else (and any quoted field) is text.
    pub fn from_csv(text: &str, quoted: bool) -> Value {
        if quoted {
            return Value::Text(text.to_string());
        }
        if text.is_empty() {
            return Value::Null;
        }
        match text {
            "true" | "TRUE" | "True" => return Value::Bool(true),
            "false" | "FALSE" | "False" => return Value::Bool(false),
            _ => {}
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        if looks_numeric(text) {
            if let Ok(f) = text.parse::<f64>() {
                return Value::Float(f);
            }
        }
        Value::Text(text.to_string())
    }

    /// An integer or a float as a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The time `micros` microseconds after 1970-01-01 00:00:00, as a [`Value::Time`]
    /// (`YYYY-MM-DD HH:MM:SS[.ffffff]`).
    pub fn time_from_micros(micros: i64) -> Value {
        const DAY: i64 = 86_400_000_000;
        Value::Time(
            Ts {
                days: micros.div_euclid(DAY),
                micros: micros.rem_euclid(DAY),
            }
            .format(),
        )
    }

    /// A [`Value::Time`] as microseconds since 1970-01-01 00:00:00 (a date at midnight); `None`
    /// for other cells and for a time outside the form `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`.
    pub fn time_micros(&self) -> Option<i64> {
        let Value::Time(s) = self else {
            return None;
        };
        let (ts, _) = Ts::parse(s)?;
        ts.days
            .checked_mul(86_400_000_000)
            .and_then(|d| d.checked_add(ts.micros))
    }
}

/// Digits with an optional sign, decimal point and exponent (not `inf` or `NaN`).
fn looks_numeric(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_written_and_json() {
        let cells = [
            Value::Null,
            Value::Bool(true),
            Value::Int(-3),
            Value::Float(2.0),
            Value::Float(2.5),
            Value::Text("a b".into()),
            Value::Time("2026-01-01".into()),
        ];
        let printed: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            printed,
            ["", "true", "-3", "2.0", "2.5", "a b", "2026-01-01"]
        );
        let written: Vec<String> = cells.iter().map(|c| c.written().to_string()).collect();
        assert_eq!(
            written,
            ["NULL", "true", "-3", "2", "2.5", "a b", "2026-01-01"]
        );
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(Value::Time("2026-01-01".into()).to_json(), "2026-01-01");
    }

    #[test]
    fn times_as_microseconds() {
        let t = |s: &str| Value::Time(s.into()).time_micros();
        assert_eq!(t("1970-01-02"), Some(86_400_000_000));
        assert_eq!(t("1970-01-02 00:00:00"), t("1970-01-02"));
        assert_eq!(t("1969-12-31 23:59:59.5"), Some(-500_000));
        assert_eq!(t("not a time"), None);
        for us in [0, -1, 1_500_000, 1_767_225_600_000_000, -86_400_000_000] {
            assert_eq!(Value::time_from_micros(us).time_micros(), Some(us));
        }
        assert_eq!(
            Value::time_from_micros(1_500_000),
            Value::Time("1970-01-01 00:00:01.500000".into())
        );
        assert_eq!(Value::Text("1970-01-02".into()).time_micros(), None);
    }
}
