use super::*;

fn gb(text: &str) -> Reference {
    fx(text)
        .group_by()
        .unwrap_or_else(|d| panic!("{text}: {d:?}"))
}

fn gb_err(text: &str, covered: &str, message: &str, help: &str) {
    let f = fx(text);
    let d = f.group_by().expect_err(text);
    assert_err(&f, &d, covered, message, help);
}

#[test]
fn group_by_dunder_names() {
    for name in [
        "metric_time",
        "metric_time__month",
        "listing__country_latest",
        "listing__user__home_state_latest",
    ] {
        let f = fx(name);
        let r = f.group_by().expect("parses");
        assert_eq!(r.kind, RefKind::Dimension);
        assert_eq!(r.name, name);
        assert_eq!(r.grain, None);
        assert_eq!(r.date_part, None);
        assert_eq!(f.at(r.span), name);
    }
    let f = fx("  listing__country  ");
    let r = f.group_by().expect("parses");
    assert_eq!(f.at(r.span), "listing__country");
}

#[test]
fn group_by_extract_suffix() {
    let r = gb("metric_time__extract_year");
    assert_eq!(r.name, "metric_time");
    assert_eq!(r.date_part.as_deref(), Some("year"));
    assert_eq!(r.grain, None);
    let r = gb("booking__ds__extract_DOW");
    assert_eq!(r.name, "booking__ds");
    assert_eq!(r.date_part.as_deref(), Some("dow"));
    gb_err(
        "metric_time__extract_",
        "__extract_",
        "no date part",
        "metric_time__extract_year",
    );
}

#[test]
fn group_by_object_syntax() {
    let f = fx("TimeDimension('metric_time', 'month')");
    let r = f.group_by().expect("parses");
    assert_eq!(r.kind, RefKind::TimeDimension);
    assert_eq!(
        (r.name.as_str(), r.grain.as_deref()),
        ("metric_time", Some("month"))
    );
    assert_eq!(f.at(r.span), "TimeDimension('metric_time', 'month')");

    let r = gb("Dimension('listing__country')");
    assert_eq!(
        (r.kind, r.name.as_str()),
        (RefKind::Dimension, "listing__country")
    );
    let r = gb("Entity('listing')");
    assert_eq!((r.kind, r.name.as_str()), (RefKind::Entity, "listing"));
    let r = gb("Dimension('metric_time').grain('week')");
    assert_eq!(r.grain.as_deref(), Some("week"));
    // Saved queries may wrap the object in `{{ }}`.
    let f = fx(" {{ Dimension('listing__country', entity_path=['booking']) }} ");
    let r = f.group_by().expect("parses");
    assert_eq!(r.entity_path, strs(&["booking"]));
    assert_eq!(
        f.at(r.span),
        "Dimension('listing__country', entity_path=['booking'])"
    );
    let r = gb("{{TimeDimension('metric_time','day')}}");
    assert_eq!(r.grain.as_deref(), Some("day"));
    // A metric is not required to have group_by here; the planner decides what to do with it.
    let r = gb("Metric('bookings')");
    assert_eq!(r.kind, RefKind::Metric);
}

#[test]
fn group_by_errors() {
    gb_err("", "", "empty group-by item", "metric_time__month");
    gb_err("   ", "   ", "empty group-by item", "metric_time__month");
    gb_err(
        "listing__country latest",
        " ",
        "is not allowed in the name",
        "listing__country_latest",
    );
    gb_err(
        "listing.country",
        ".",
        "is not allowed",
        "listing__country_latest",
    );
    gb_err("listing____country", "__", "empty part", "two underscores");
    gb_err("listing__", "__", "empty part", "two underscores");
    gb_err(
        "Dimensoin('x')",
        "Dimensoin",
        "unknown function",
        "did you mean `Dimension`?",
    );
    gb_err(
        "Dimension('x') extra",
        "extra",
        "after the reference",
        "separate entries",
    );
    gb_err("{{ Dimension('x')", "{{", "unterminated `{{`", "}}");
    gb_err(
        "{{ Dimension('x') }} y",
        "y",
        "unexpected text after `}}`",
        "separate entries",
    );
    gb_err("{{ }}", "{{ }}", "empty `{{ }}`", "one reference");
    gb_err(
        "Dimension('x') }}",
        "}}",
        "unexpected `}}`",
        "one reference",
    );
    gb_err(
        "Dimension('x'",
        "'x'",
        "expected `,` or `)` in the call of `Dimension` at the end",
        "close the call",
    );
    gb_err(
        "Entity('listing').descending(True)",
        "descending",
        "can't be used with `Entity` here",
        "order_by",
    );
}

#[test]
fn dunder_helpers() {
    assert_eq!(
        split_dunder("listing__user__home_state_latest"),
        strs(&["listing", "user", "home_state_latest"])
    );
    assert_eq!(split_dunder("metric_time"), strs(&["metric_time"]));
    assert_eq!(
        DunderName::parse("metric_time__month").trailing_grain(),
        Some("month")
    );
    assert_eq!(
        DunderName::parse("booking__ds__week").trailing_grain(),
        Some("week")
    );
    assert_eq!(DunderName::parse("month").trailing_grain(), None);
    assert_eq!(DunderName::parse("listing__country").trailing_grain(), None);
}

// ----- order items --------------------------------------------------------------------------

#[test]
fn order_items() {
    let f = fx("-metric_time__day");
    let (r, desc) = f.order().expect("parses");
    assert!(desc);
    assert_eq!(r.name, "metric_time__day");
    assert_eq!(f.at(r.span), "metric_time__day");

    let (r, desc) = fx("bookings").order().expect("parses");
    assert!(!desc);
    assert_eq!(r.name, "bookings");

    let (r, desc) = fx(" - bookings ").order().expect("parses");
    assert!(desc);
    assert_eq!(r.name, "bookings");

    let f = fx("Metric('bookings').descending(True)");
    let (r, desc) = f.order().expect("parses");
    assert!(desc);
    assert_eq!(r.kind, RefKind::Metric);
    assert_eq!(f.at(r.span), "Metric('bookings').descending(True)");

    let (r, desc) = fx("TimeDimension('metric_time', 'day').descending(False)")
        .order()
        .expect("parses");
    assert!(!desc);
    assert_eq!(r.grain.as_deref(), Some("day"));

    let (_, desc) = fx("TimeDimension('metric_time', 'day', descending=True)")
        .order()
        .expect("parses");
    assert!(desc);
    let (_, desc) = fx("{{ Entity('listing').descending(true) }}")
        .order()
        .expect("parses");
    assert!(desc);
    let (r, desc) = fx("-TimeDimension('metric_time', 'week')")
        .order()
        .expect("parses");
    assert!(desc);
    assert_eq!(r.grain.as_deref(), Some("week"));
    let (r, _) = fx("-metric_time__extract_year").order().expect("parses");
    assert_eq!(r.date_part.as_deref(), Some("year"));
}

#[test]
fn order_item_errors() {
    let f = fx("-Metric('bookings').descending(True)");
    let d = f.order().expect_err("both");
    assert_err(
        &f,
        &d,
        "descending(True)",
        "both by `-` and by `descending`",
        "not both",
    );
    let f = fx("TimeDimension('metric_time', descending=True).descending(False)");
    let d = f.order().expect_err("twice");
    assert_err(&f, &d, "descending(False)", "already set", "once");
    let f = fx(" - ");
    let d = f.order().expect_err("no name");
    assert_err(&f, &d, "-", "without a name", "-bookings");
    let f = fx("");
    let d = f.order().expect_err("empty");
    assert_err(&f, &d, "", "empty order item", "-bookings");
    let f = fx("Metric('bookings').descending('yes')");
    let d = f.order().expect_err("not a bool");
    assert_err(&f, &d, "'yes'", "must be True or False", "True or False");
}
