//! Text helpers shared by the CLI, the dbt loader, the model's index and the planner's CTE names,
//! importing no module of the crate.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Split a comma-separated list, keeping commas inside parentheses, brackets, braces and quotes;
/// items are trimmed, empty ones dropped. A closing bracket that closes nothing ends the list, so
/// the arguments of a call can be split from the text after its `(`.
pub fn split_list(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in s.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => {
                    depth -= 1;
                    cur.push(c);
                }
                ',' if depth == 0 => {
                    if !cur.trim().is_empty() {
                        out.push(cur.trim().to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The parts of a qualified relation name (`"db"."Schema".claim` -> `db`, `schema`, `claim`),
/// without quotes, lower-cased.
pub(crate) fn relation_parts(name: &str) -> Vec<String> {
    // Plain identifiers, or identifiers in double quotes without a quote or dot of their own,
    // joined by dots (the common cases: dbt's relations are `"db"."schema"."table"`) split
    // without the tokenizer, whose code a short process then never has to fault in.
    fn part(p: &str) -> Option<&str> {
        match p.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
            Some(inner) => (!inner.is_empty() && !inner.contains('"')).then_some(inner),
            None => (p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then_some(p),
        }
    }
    match name.split('.').map(part).collect::<Option<Vec<_>>>() {
        Some(parts) => parts.into_iter().map(str::to_ascii_lowercase).collect(),
        None => tokenized_parts(name),
    }
}

/// [`relation_parts`] by sqlparser's tokenizer (any quoting), else the name's words.
fn tokenized_parts(name: &str) -> Vec<String> {
    match Tokenizer::new(&GenericDialect {}, name).tokenize() {
        Ok(tokens) => tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w.value.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        Err(_) => words(name),
    }
}

/// Every identifier-like word of a text, lower-cased.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{relation_parts, split_list, tokenized_parts};

    /// The split without the tokenizer says what the tokenizer says.
    #[test]
    fn relation_parts_agree_with_the_tokenizer() {
        for name in [
            "claim",
            "Main.Claim",
            r#""db"."Schema"."claim""#,
            r#""my db"."sch""ema".t"#,
            r#""a.b".c"#,
            r#"db . schema . t"#,
            r#""Ünïcode"."ta ble""#,
            r#"x."y""#,
        ] {
            assert_eq!(relation_parts(name), tokenized_parts(name), "{name}");
        }
    }

    #[test]
    fn split_keeps_object_syntax_together() {
        assert_eq!(
            split_list("metric_time__month, TimeDimension('metric_time', 'week'),listing__country"),
            vec![
                "metric_time__month",
                "TimeDimension('metric_time', 'week')",
                "listing__country"
            ]
        );
    }

    #[test]
    fn split_stops_at_the_end_of_a_call() {
        assert_eq!(
            split_list("materialized='table', tags=['a', 'b'], meta={'x': 1}) }} select 1"),
            vec!["materialized='table'", "tags=['a', 'b']", "meta={'x': 1}"]
        );
    }

    #[test]
    fn split_keeps_quoted_commas_and_drops_empty_items() {
        assert_eq!(split_list("'a,b', \"c\" ,,"), vec!["'a,b'", "\"c\""]);
    }
}
