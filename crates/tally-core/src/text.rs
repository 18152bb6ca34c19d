//! Text helpers shared by the CLI and the dbt loader, importing nothing.

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

#[cfg(test)]
mod tests {
    use super::split_list;

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
