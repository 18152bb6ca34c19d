use super::*;

#[test]
fn filter_dimension() {
    let f = fx("{{ Dimension('booking__is_instant') }}");
    let t = f.filter().expect("parses");
    assert_eq!(t.span, f.span);
    assert_eq!(t.segments.len(), 1);
    let Segment::Ref(r) = &t.segments[0] else {
        panic!("not a reference")
    };
    assert_eq!(r.kind, RefKind::Dimension);
    assert_eq!(r.name, "booking__is_instant");
    assert!(r.entity_path.is_empty() && r.grain.is_none() && r.date_part.is_none());
    assert_eq!(f.at(r.span), "Dimension('booking__is_instant')");
}

#[test]
fn filter_keeps_sql_with_spans() {
    let text = "{{ Dimension('booking__is_instant') }} = true AND x > 1";
    let f = fx(text);
    let t = f.filter().expect("parses");
    assert_eq!(t.segments.len(), 2);
    let Segment::Sql { text: sql, span } = &t.segments[1] else {
        panic!("not SQL")
    };
    assert_eq!(sql, " = true AND x > 1");
    assert_eq!(f.at(*span), " = true AND x > 1");

    let f = fx("x = 1 AND {{Dimension(\"a__b\")}}<>'{' OR {{ Entity('listing') }} IS NULL");
    let t = f.filter().expect("parses");
    let kinds: Vec<String> = t
        .segments
        .iter()
        .map(|s| match s {
            Segment::Sql { text, span } => {
                assert_eq!(f.at(*span), text);
                format!("sql:{text}")
            }
            Segment::Ref(r) => format!("ref:{}", f.at(r.span)),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "sql:x = 1 AND ",
            "ref:Dimension(\"a__b\")",
            "sql:<>'{' OR ",
            "ref:Entity('listing')",
            "sql: IS NULL"
        ]
    );
}

#[test]
fn filter_plain_sql() {
    let f = fx("is_deleted = false");
    let t = f.filter().expect("parses");
    assert_eq!(t.references().count(), 0);
    assert_eq!(
        render_filter(&t, &mut |_| unreachable!()).expect("renders"),
        "is_deleted = false"
    );
    let t = fx("").filter().expect("empty filter parses");
    assert!(t.segments.is_empty());
}

#[test]
fn filter_dimension_entity_path() {
    let r = one_ref("{{ Dimension('listing__country_latest', entity_path=['booking']) }}");
    assert_eq!(r.kind, RefKind::Dimension);
    assert_eq!(r.name, "listing__country_latest");
    assert_eq!(r.entity_path, strs(&["booking"]));
    let r = one_ref("{{Dimension( name = 'x__y' , entity_path = ( 'a' , 'b' , ) , )}}");
    assert_eq!(r.name, "x__y");
    assert_eq!(r.entity_path, strs(&["a", "b"]));
    let r = one_ref("{{ Dimension(dimension_name='x__y', entity_path=[]) }}");
    assert_eq!(r.name, "x__y");
    assert!(r.entity_path.is_empty());
    let r = one_ref("{{ Dimension('x__y', None) }}");
    assert!(r.entity_path.is_empty());
}

#[test]
fn filter_time_dimension_forms() {
    let r = one_ref("{{ TimeDimension('metric_time', 'day') }}");
    assert_eq!(r.kind, RefKind::TimeDimension);
    assert_eq!(r.name, "metric_time");
    assert_eq!(r.grain.as_deref(), Some("day"));

    let r = one_ref("{{ TimeDimension('metric_time', time_granularity_name='MONTH') }}");
    assert_eq!(r.grain.as_deref(), Some("month"));

    let f =
        fx("{{ TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year') }}");
    let t = f.filter().expect("parses");
    let r = t.references().next().expect("a reference");
    assert_eq!(r.name, "booking__ds");
    assert_eq!(r.grain.as_deref(), Some("month"));
    assert_eq!(r.entity_path, strs(&["x"]));
    assert_eq!(r.date_part.as_deref(), Some("year"));
    assert_eq!(
        f.at(r.span),
        "TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year')"
    );

    let r = one_ref("{{ TimeDimension('metric_time', None, [], None, 'dow') }}");
    assert_eq!(r.grain, None);
    assert_eq!(r.date_part.as_deref(), Some("dow"));

    // MetricFlow accepts `descending=` here and ignores it.
    let r = one_ref("{{ TimeDimension('metric_time', 'day', descending=True) }}");
    assert_eq!(r.grain.as_deref(), Some("day"));
}

#[test]
fn filter_grain_in_name_and_parameter() {
    // The same grain twice is dropped from the name, as MetricFlow does.
    let r = one_ref("{{ TimeDimension('metric_time__day', 'day') }}");
    assert_eq!(r.name, "metric_time");
    assert_eq!(r.grain.as_deref(), Some("day"));
    // Without a grain parameter the name is left for the resolver.
    let r = one_ref("{{ TimeDimension('metric_time__week') }}");
    assert_eq!(r.name, "metric_time__week");
    assert_eq!(r.grain, None);
    filter_err(
        "{{ TimeDimension('metric_time__day', 'month') }}",
        "'month'",
        "ends in the granularity `day` but `month` is given too",
        "remove the `__day` suffix",
    );
}

#[test]
fn filter_methods() {
    let f = fx("{{ Dimension('metric_time').grain('week') }} > '2024-01-01'");
    let t = f.filter().expect("parses");
    let r = t.references().next().expect("a reference");
    assert_eq!(r.kind, RefKind::Dimension);
    assert_eq!(r.grain.as_deref(), Some("week"));
    assert_eq!(f.at(r.span), "Dimension('metric_time').grain('week')");

    let r = one_ref("{{ Dimension('booking__ds').date_part('year') }}");
    assert_eq!(r.date_part.as_deref(), Some("year"));
    assert_eq!(r.grain, None);

    let r = one_ref(
        "{{ Dimension('booking__ds') . grain ( time_granularity = 'Day' ) . date_part('month') }}",
    );
    assert_eq!(r.grain.as_deref(), Some("day"));
    assert_eq!(r.date_part.as_deref(), Some("month"));

    let r = one_ref("{{ TimeDimension('metric_time').grain('month') }}");
    assert_eq!(r.grain.as_deref(), Some("month"));

    // MetricFlow allows `.descending()` on a Dimension in a filter and ignores it.
    let r = one_ref("{{ Dimension('listing__country').descending(True) }}");
    assert_eq!(r.name, "listing__country");
}

#[test]
fn filter_entity_and_metric() {
    let r = one_ref("{{ Entity('listing') }}");
    assert_eq!((r.kind, r.name.as_str()), (RefKind::Entity, "listing"));
    let r = one_ref("{{ Entity('listing', entity_path=['user']) }}");
    assert_eq!(r.entity_path, strs(&["user"]));
    let r = one_ref("{{ Metric('bookings', group_by=['listing']) }}");
    assert_eq!(r.kind, RefKind::Metric);
    assert_eq!(r.name, "bookings");
    assert_eq!(r.group_by, strs(&["listing"]));
    let r = one_ref("{{ Metric('bookings', ['listing', 'user']) }}");
    assert_eq!(r.group_by, strs(&["listing", "user"]));
    let r = one_ref("{{ Metric(metric_name=\"bookings\", group_by=[\"listing\",]) }}");
    assert_eq!(r.group_by, strs(&["listing"]));
}

#[test]
fn filter_whitespace_control_and_comments() {
    let f = fx("a  {{- Dimension('x__y') -}}  = 1 {# note #} AND b");
    let t = f.filter().expect("parses");
    let sql: Vec<&str> = t
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Sql { text, .. } => Some(text.as_str()),
            Segment::Ref(_) => None,
        })
        .collect();
    assert_eq!(sql, ["a", "= 1 ", " AND b"]);
    let out = render_filter(&t, &mut |r| Ok(format!("<{}>", r.name))).expect("renders");
    assert_eq!(out, "a<x__y>= 1  AND b");
}

#[test]
fn filter_strings_with_escapes_and_braces() {
    let r = one_ref(r#"{{ Dimension("x__y" ) }}"#);
    assert_eq!(r.name, "x__y");
    // `}}` inside a SQL string after the reference is just SQL.
    let t = fx("{{ Dimension('a__b') }} = '}}'")
        .filter()
        .expect("parses");
    assert_eq!(t.segments.len(), 2);
}

#[test]
fn render_filter_substitutes_and_stops_at_errors() {
    let t = fx("{{ Dimension('a__b') }} = 1 AND {{ TimeDimension('metric_time', 'day') }} > x")
        .filter()
        .expect("parses");
    let out = render_filter(&t, &mut |r| {
        Ok(match r.kind {
            RefKind::Dimension => "a.b".to_string(),
            _ => format!("DATE_TRUNC('{}', ts)", r.grain.as_deref().unwrap_or("day")),
        })
    })
    .expect("renders");
    assert_eq!(out, "a.b = 1 AND DATE_TRUNC('day', ts) > x");
    let e = render_filter(&t, &mut |r| {
        Err(Diagnostic::error(codes::FILTER_REFERENCE, "nope").at(r.span))
    })
    .expect_err("the callback fails");
    assert_eq!(e.code, codes::FILTER_REFERENCE);
}

#[test]
fn filter_unknown_function_suggests() {
    let d = fx("{{ Dimesion('a__b') }}").filter().expect_err("unknown");
    assert_eq!(d.help[0], "did you mean `Dimension`?");
    filter_err(
        "x AND {{ Dimesion('a__b') }}",
        "Dimesion",
        "unknown function `Dimesion`",
        "did you mean `Dimension`?",
    );
    filter_err(
        "{{ dimension('a__b') }}",
        "dimension",
        "unknown function",
        "did you mean `Dimension`?",
    );
    filter_err(
        "{{ TimeDimention('metric_time') }}",
        "TimeDimention",
        "unknown function",
        "did you mean `TimeDimension`?",
    );
    filter_err(
        "{{ booking__is_instant }}",
        "booking__is_instant",
        "is not a reference",
        "Dimension('booking__is_instant')",
    );
}

#[test]
fn filter_unknown_method_suggests() {
    filter_err(
        "{{ Dimension('metric_time').grian('day') }}",
        "grian",
        "unknown method `grian`",
        "did you mean `grain`?",
    );
    filter_err(
        "{{ Dimension('metric_time').datepart('day') }}",
        "datepart",
        "unknown method",
        "did you mean `date_part`?",
    );
    filter_err(
        "{{ Entity('listing').grain('day') }}",
        "grain",
        "can't be used with `Entity`",
        "only Dimension and TimeDimension",
    );
    filter_err(
        "{{ Metric('bookings', ['listing']).descending(True) }}",
        "descending",
        "can't be used with `Metric` here",
        "order_by",
    );
}

#[test]
fn filter_statements_rejected() {
    filter_err(
        "{% if x %}a = 1{% endif %}",
        "{% if x %}",
        "are not supported",
        "combined with AND",
    );
    filter_err(
        "a {% if x",
        "{%",
        "are not supported",
        "write the condition in SQL",
    );
}

#[test]
fn filter_unterminated() {
    filter_err(
        "x = 1 AND {{ Dimension('a__b')",
        "{{",
        "unterminated `{{`",
        "close the reference with `}}`",
    );
    filter_err(
        "{{ Dimension('a__b) }} = 'c'",
        "'a__b) ",
        "unterminated string",
        "matching '",
    );
    filter_err(
        "{{ Dimension('a__b) ",
        "'a__b) ",
        "unterminated string",
        "matching '",
    );
    filter_err("x {# note", "{#", "unterminated Jinja comment", "#}");
}

#[test]
fn filter_argument_errors() {
    filter_err("{{ }}", "{{ }}", "empty `{{ }}`", "one reference");
    filter_err(
        "{{ Dimension(booking__is_instant) }}",
        "booking__is_instant",
        "expected a quoted name",
        "'booking__is_instant'",
    );
    filter_err(
        "{{ Dimension() }}",
        "Dimension()",
        "needs a name",
        "Dimension('",
    );
    filter_err(
        "{{ Dimension('a__b', entity_pth=['x']) }}",
        "entity_pth",
        "has no parameter `entity_pth`",
        "did you mean `entity_path`?",
    );
    filter_err(
        "{{ Dimension('a__b', ['x'], ['y']) }}",
        "['y']",
        "too many arguments",
        "Dimension(name, entity_path)",
    );
    filter_err(
        "{{ Dimension(name='a__b', 'x') }}",
        "'x'",
        "positional argument after a keyword",
        "keyword",
    );
    filter_err(
        "{{ TimeDimension('a__b', 'day', time_granularity_name='week') }}",
        "time_granularity_name='week'",
        "given twice",
        "once",
    );
    filter_err(
        "{{ Dimension('a__b', entity_path='x') }}",
        "'x'",
        "must be a list of names, not a string",
        "['x']",
    );
    filter_err("{{ Dimension('') }}", "''", "is empty", "write a name");
    filter_err(
        "{{ Dimension('a b') }}",
        "'a b'",
        "not allowed in the name",
        "letters",
    );
    filter_err(
        "{{ Dimension('a__b') = 'x' }}",
        "=",
        "unexpected `=`",
        "write comparisons in SQL",
    );
    filter_err(
        "{{ Dimension('a__b' }}",
        "}}",
        "expected `,` or `)`",
        "close the call",
    );
    filter_err(
        "{{ Dimension('a__b', entity_path=['x' 'y']) }}",
        "'y'",
        "expected `,` or `]`",
        "separate names",
    );
    filter_err(
        "{{ Dimension('a__b', [1]) }}",
        "1",
        "expected a quoted name in the list",
        "list",
    );
    filter_err(
        "{{ Dimension 'x' }}",
        "'x'",
        "expected `(` after `Dimension`",
        "call it",
    );
    filter_err(
        "{{ Dimension('x').grain() }}",
        "grain()",
        "needs one argument",
        ".grain('month')",
    );
    filter_err(
        "{{ Dimension('x').grain('day', 'week') }}",
        "'week'",
        "takes one argument",
        ".grain('month')",
    );
    filter_err(
        "{{ Dimension('x').grain(g='day') }}",
        "g",
        "has no parameter `g`",
        ".grain('month')",
    );
    filter_err(
        "{{ Dimension('x'). }}",
        "}}",
        "expected a method name",
        ".grain('month')",
    );
    filter_err(
        "{{ Dimension('x') | lower }}",
        "|",
        "unexpected `|`",
        "one reference",
    );
    filter_err(
        "{{ 'x' }}",
        "'x'",
        "expected a reference",
        "Dimension('...')",
    );
    filter_err(
        "{{ TimeDimension('x', descending=1) }}",
        "1",
        "must be True or False",
        "True or False",
    );
}

#[test]
fn filter_grain_set_twice() {
    let f = fx("{{ TimeDimension('metric_time', 'day').grain('week') }}");
    let d = f.filter().expect_err("grain twice");
    assert_err(&f, &d, "grain('week')", "already set", "once");
    assert_eq!(d.labels.len(), 1);
    assert_eq!(f.at(d.labels[0].span), "'day'");
}

#[test]
fn filter_metric_needs_group_by() {
    filter_err(
        "{{ Metric('bookings') }} > 10",
        "Metric('bookings')",
        "needs `group_by`",
        "group_by=['listing']",
    );
}

#[test]
fn filter_with_dummy_span_does_not_panic() {
    let d = parse_filter("{{ Dimesion('x') }}", Span::DUMMY).expect_err("unknown");
    assert!(d.span.is_dummy());
    assert_eq!(d.code, codes::EXPRESSION);
}

#[test]
fn never_panics_on_odd_input() {
    let inputs = [
        "{",
        "{{",
        "}}",
        "{{-",
        "-}}",
        "{{ -}}",
        "{#",
        "{#-#}",
        "{{ Dimension('é') }}",
        "é{{",
        "{{ Dimension('x').grain('day').date_part('year').grain('x') }}",
        "{{(((",
        "{{ [ }}",
        "{{ Dimension(['a'], ) }}",
        "{{ Dimension('a', entity_path=[) }}",
        "{{ Dimension('\\",
        "{{ Dimension('a\\'b') }}",
        "'",
        "\"",
        "`",
        "/*",
        "--",
        "(",
        ")",
        "-",
        "- ",
        "__",
        "a____b",
        "x__extract_",
        "__extract_year",
        "Dimension(",
        "Metric('m').descending(",
        "{{ Dimension('x') }} trailing",
        "ü(",
        "a.b",
        "(1e",
        ".5e+",
        "1.e3",
        "$1",
    ];
    for s in inputs {
        let span = Span::new(FileId(0), 10, 10 + s.len());
        let _ = parse_filter(s, span);
        let _ = parse_group_by(s, span);
        let _ = parse_order_item(s, span);
        let _ = parse_formula(s, span);
        let _ = parse_filter(s, Span::DUMMY);
        let _ = parse_group_by(s, Span::DUMMY);
    }
    // Every prefix and suffix of some well-formed inputs, cut at each character boundary.
    let samples = [
        "a = 'é' AND {{- TimeDimension('booking__ds', 'month', entity_path=['x'], \
         date_part_name=\"year\") -}} {# c #} > {{ Dimension('m').grain('day') }}",
        "-{{ Metric('bookings', group_by=('listing',)).descending(True) }}",
        "CASE WHEN \"a\"\"b\" > 0.5e3 THEN COALESCE(x, 0) ELSE 'it''s' END /* ü */",
    ];
    for s in samples {
        for (i, _) in s.char_indices() {
            for part in [&s[..i], &s[i..]] {
                let span = Span::new(FileId(0), 0, part.len());
                let _ = parse_filter(part, span);
                let _ = parse_group_by(part, span);
                let _ = parse_order_item(part, span);
                let _ = parse_formula(part, span);
            }
        }
    }
}

#[test]
fn reference_display_is_object_syntax() {
    let r = one_ref(
        "{{ TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year') }}",
    );
    assert_eq!(
        r.to_string(),
        "TimeDimension('booking__ds', entity_path=['x']).grain('month').date_part('year')"
    );
    let r = one_ref("{{ Metric('bookings', ['listing', 'user']) }}");
    assert_eq!(
        r.to_string(),
        "Metric('bookings', group_by=['listing', 'user'])"
    );
}
