//! Whether a SQL text's result can change while the data it reads does not: it calls a function
//! of the clock (`current_date`, `now()`), of chance (`random()`, `uuid()`), of a sequence or of
//! a session setting. The local engine's caches of results keep no such result: a
//! result keyed by its SQL text and its tables' state would otherwise be yesterday's answer.
//!
//! The check reads words, not a parse: an unquoted word of the list anywhere outside a string
//! literal or a quoted identifier counts (a column named `now` written bare counts too, which
//! only costs a cache entry). Words are compared case-insensitively.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The functions and keywords whose value is not a function of the data: the clock, chance,
/// sequences, session state. The SQL dialects tally writes spell them these ways.
const VOLATILE: &[&str] = &[
    // The clock.
    "current_date",
    "current_time",
    "current_timestamp",
    "current_localtime",
    "current_localtimestamp",
    "localtime",
    "localtimestamp",
    "now",
    "today",
    "get_current_time",
    "get_current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "clock_timestamp",
    "timeofday",
    "sysdate",
    "systimestamp",
    "getdate",
    "getutcdate",
    "unix_timestamp",
    // Chance.
    "random",
    "rand",
    "setseed",
    "uuid",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    // Sequences and session state.
    "nextval",
    "currval",
    "current_setting",
    "getvariable",
    "current_query",
];

/// The first word of `sql` (lower-cased) whose value changes without the data changing, if any.
/// SQL the tokenizer cannot read counts as volatile (`"unreadable SQL"`): nothing is cached
/// that is not understood.
pub fn volatile_word(sql: &str) -> Option<String> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Some("unreadable SQL".to_string());
    };
    tokens.into_iter().find_map(|t| match t {
        Token::Word(w) if w.quote_style.is_none() => {
            let lower = w.value.to_ascii_lowercase();
            VOLATILE.contains(&lower.as_str()).then_some(lower)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::volatile_word;

    #[test]
    fn the_clock_chance_and_sequences_are_volatile() {
        for (sql, word) in [
            (
                "SELECT * FROM t WHERE d >= CURRENT_DATE - 7",
                "current_date",
            ),
            ("SELECT now() AS n", "now"),
            ("select Random() from t", "random"),
            ("SELECT nextval('s')", "nextval"),
            (
                "SELECT x FROM t WHERE ts < current_timestamp",
                "current_timestamp",
            ),
            ("SELECT getvariable('v')", "getvariable"),
        ] {
            assert_eq!(volatile_word(sql).as_deref(), Some(word), "{sql}");
        }
    }

    #[test]
    fn data_strings_and_quoted_names_are_not() {
        for sql in [
            "SELECT count(*) AS n, date_trunc('month', created_at) FROM t GROUP BY 2",
            "SELECT 'now' AS label, \"random\" FROM t",
            "SELECT x FROM t WHERE note = 'current_date - 7'",
            "SELECT nowhere, randomly FROM t",
        ] {
            assert_eq!(volatile_word(sql), None, "{sql}");
        }
    }
}
