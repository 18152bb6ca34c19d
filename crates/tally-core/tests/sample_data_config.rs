//! `sample_data:` in tally.yml is typed: its keys are checked like every other key (a typo is
//! E0003 with a "did you mean"), the generator is one of those tally has (E0004), and omitted
//! keys take their documented defaults.

use tally_core::diag;
use tally_core::load::{load_files, LoadOptions};
use tally_core::spec::{SampleData, SampleGenerator};

fn load(config: &str) -> (Option<SampleData>, String) {
    let (spec, diags) = load_files(&[], Some(config), &LoadOptions::default());
    let text = diag::render_human(&spec.sources, &diags, false);
    (spec.config.sample_data, text)
}

#[test]
fn sample_data_keys_are_typed_with_defaults() {
    let (sample, text) = load("name: p\nsample_data: {conversations: 300}\n");
    assert_eq!(text, "");
    assert_eq!(
        sample,
        Some(SampleData {
            generator: SampleGenerator::Intercom,
            conversations: 300,
            seed: 42,
        })
    );
    let (sample, _) = load("name: p\nsample_data: {generator: intercom, seed: 7}\n");
    assert_eq!(sample.map(|s| (s.conversations, s.seed)), Some((20_000, 7)));
}

#[test]
fn a_misspelt_sample_data_key_is_an_error_with_a_suggestion() {
    let (_, text) = load("name: p\nsample_data: {generator: intercom, conversatons: 300}\n");
    insta::assert_snapshot!(text);
}

#[test]
fn an_unknown_generator_is_an_error() {
    let (_, text) = load("name: p\nsample_data: {generator: shopify}\n");
    insta::assert_snapshot!(text);
}
