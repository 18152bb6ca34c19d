use super::*;

fn idents(text: &str) -> Vec<String> {
    let f = fx(text);
    let formula = f.formula().unwrap_or_else(|d| panic!("{text}: {d:?}"));
    formula
        .identifiers()
        .map(|t| {
            assert_eq!(f.at(t.span), t.text);
            t.text.clone()
        })
        .collect()
}

fn formula_err(text: &str, covered: &str, message: &str, help: &str) {
    let f = fx(text);
    let d = f.formula().expect_err(text);
    assert_err(&f, &d, covered, message, help);
}

#[test]
fn formula_tokens_and_spans() {
    let f = fx("bookings - bookings_2_weeks_ago");
    let formula = f.formula().expect("parses");
    let kinds: Vec<TokenKind> = formula.tokens.iter().map(|t| t.kind).collect();
    use TokenKind::*;
    assert_eq!(kinds, [Ident, Whitespace, Op, Whitespace, Ident]);
    for t in &formula.tokens {
        assert_eq!(f.at(t.span), t.text);
    }
    assert_eq!(formula.span, f.span);

    let formula = fx("(a+b)/NULLIF(c,0.5e3)||'x''y'")
        .formula()
        .expect("parses");
    let got: Vec<(TokenKind, &str)> = formula
        .tokens
        .iter()
        .map(|t| (t.kind, t.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (LParen, "("),
            (Ident, "a"),
            (Op, "+"),
            (Ident, "b"),
            (RParen, ")"),
            (Op, "/"),
            (Ident, "NULLIF"),
            (LParen, "("),
            (Ident, "c"),
            (Comma, ","),
            (Number, "0.5e3"),
            (RParen, ")"),
            (Op, "||"),
            (String, "'x''y'"),
        ]
    );
}

#[test]
fn formula_number_at_end() {
    // nom's streaming mode would stop `1.0` at the end of input after `1.`.
    let f = fx("x * 1.0").formula().expect("parses");
    let last = f.tokens.last().expect("tokens");
    assert_eq!((last.kind, last.text.as_str()), (TokenKind::Number, "1.0"));
    let f = fx("2.5e-3").formula().expect("parses");
    assert_eq!(f.tokens.len(), 1);
    assert_eq!(f.tokens[0].text, "2.5e-3");
}

#[test]
fn formula_identifiers() {
    assert_eq!(
        idents("bookings - bookings_2_weeks_ago"),
        ["bookings", "bookings_2_weeks_ago"]
    );
    assert_eq!(idents("(a + b) / NULLIF(c, 0)"), ["a", "b", "c"]);
    assert_eq!(idents("CASE WHEN x > 0 THEN y ELSE 0 END"), ["x", "y"]);
    assert_eq!(idents("case when x is not null then y end"), ["x", "y"]);
    assert_eq!(idents("COALESCE(x, 0) * 1.0"), ["x"]);
    assert_eq!(idents("CAST(x AS DOUBLE) / y::numeric"), ["x", "y"]);
    assert_eq!(idents("CAST(x AS my_type)"), ["x"]);
    assert_eq!(idents("EXTRACT(year FROM d) + x"), ["d", "x"]);
    assert_eq!(idents("d + INTERVAL '1' day"), ["d"]);
    assert_eq!(
        idents("x BETWEEN 1 AND 2 OR y IN (1, 2) OR z LIKE 'a%'"),
        ["x", "y", "z"]
    );
    assert_eq!(idents("COUNT(DISTINCT x) + TRUE + FALSE"), ["x"]);
    assert_eq!(
        idents("\"order\" + \"Sum Total\" + `b`"),
        ["\"order\"", "\"Sum Total\"", "`b`"]
    );
    assert_eq!(
        idents("s.x + 1 /* a comment */"),
        Vec::<std::string::String>::new()
    );
    assert_eq!(idents("COALESCE (x, 0)"), ["x"]);
}

#[test]
fn quoted_identifier_names() {
    let f = fx("\"a\"\"b\" + c").formula().expect("parses");
    let ids: Vec<std::string::String> = f.identifiers().map(Token::name).collect();
    assert_eq!(ids, ["a\"b", "c"]);
}

#[test]
fn render_formula_replaces_inputs_only() {
    let f = fx("(a + \"b\") / NULLIF(c, 0) + COALESCE(a, 0) + d")
        .formula()
        .expect("parses");
    let mut seen = Vec::new();
    let out = render_formula(&f, &mut |name| {
        seen.push(name.to_string());
        match name {
            "a" => Some("SUM(x)".to_string()),
            "b" => Some("(m1 / m2)".to_string()),
            "c" => Some("c_sql".to_string()),
            _ => None,
        }
    });
    assert_eq!(
        out,
        "(SUM(x) + (m1 / m2)) / NULLIF(c_sql, 0) + COALESCE(SUM(x), 0) + d"
    );
    assert_eq!(seen, ["a", "b", "c", "a", "d"]);
}

#[test]
fn formula_errors() {
    formula_err("(a + b", "(", "unclosed `(`", "missing `)`");
    formula_err("a + b)", ")", "unmatched `)`", "missing `(`");
    formula_err("a + 'x", "'x", "unterminated string", "close it with '");
    formula_err(
        "a + \"x",
        "\"x",
        "unterminated quoted identifier",
        "close it with \"",
    );
    formula_err("a /* x", "/*", "unterminated comment", "*/");
    formula_err(
        "a -- note\n+ b",
        "-- note",
        "comments are not allowed",
        "/* ... */",
    );
    formula_err("a; drop", ";", "unexpected `;`", "remove the `;`");
    formula_err("{{ a }} + b", "{{", "Jinja is not allowed", "by name");
    formula_err("a ? b", "?", "unexpected character `?`", "SQL expression");
    formula_err(
        "   ",
        "   ",
        "empty formula",
        "bookings - bookings_2_weeks_ago",
    );
    formula_err("", "", "empty formula", "bookings");
}

#[test]
fn keywords_are_case_insensitive() {
    assert!(is_sql_keyword("case") && is_sql_keyword("CASE") && is_sql_keyword("Interval"));
    assert!(!is_sql_keyword("bookings"));
}
