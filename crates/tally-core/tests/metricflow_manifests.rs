//! Every MetricFlow manifest loads and validates without errors.

mod common;

#[test]
fn all_metricflow_manifests_validate_cleanly() {
    let dir = common::metricflow_dir().join("manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("manifests directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in names {
        let (model, diags) = common::load_manifest(&name);
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
        assert!(
            errors.is_empty(),
            "{name}:\n{}",
            common::render(&model, &errors)
        );
        assert!(!model.metrics.is_empty(), "{name} has metrics");
    }
}

#[test]
fn simple_manifest_counts() {
    let (model, _) = common::load_manifest("simple_manifest");
    assert!(model.semantic_models.len() >= 10);
    assert!(model.metrics.contains_key("bookings"));
    assert!(model.metrics.contains_key("booking_value"));
    assert!(!model.time_spines.is_empty());
    // count -> sum of a case expression.
    let (mi, i) = model.find_measure("referred_bookings").expect("measure");
    let m = &model.semantic_models[mi].measures[i];
    assert_eq!(
        m.expr,
        "CASE WHEN referrer_id IS NOT NULL THEN 1 ELSE 0 END"
    );
}
