//! The digest of a loaded project: a name for everything resolution and validation read, so that a
//! caller may remember that a project state validated (and with which warnings) and skip the
//! validation of an unchanged project (the CLI's validation cache, `src/vcache.rs`).
//!
//! Resolution and validation are pure functions of the [`ProjectSpec`] (and of tally's code and
//! built-in macros, which the caller adds as `salt`): they read no file and no environment. The
//! spec in turn is a function of what the load read: every file kept as a source (name, path and
//! bytes: a changed byte, a new file found or a file gone changes it), the project's macro files,
//! the options (`--vars`, `--target`, `--profile`, `--profiles-dir`, `--source-schema`, ...)
//! and, for a dbt project, what the dbt loader consulted besides its sources
//! ([`crate::dbt::DbtInfo::consulted`]: every environment variable `env_var()` and the profile
//! lookup asked for, with its value or its absence; every file it read and did not keep, such as
//! a `profiles.yml` outside the project, a package's `dbt_project.yml`, models' SQL and doc
//! blocks; every existence check and directory listing). So the digest hashes those inputs, never
//! the spec that was made of them: the loader's diagnostics and the options are hashed too. The
//! spec is destructured field by field, so a field added to it cannot be left out of the digest
//! without a compile error (a field made from the inputs above is named and not hashed).

use crate::diag::Diagnostic;
use crate::load::{LoadOptions, ProjectSpec};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The hex SHA-256 digest of a loaded project: `spec` and `load_diags` as `load_project` returned
/// them for `opts`, and the caller's `salt` (tally's version and build).
pub fn project_digest(
    spec: &ProjectSpec,
    load_diags: &[Diagnostic],
    opts: &LoadOptions,
    salt: &[u8],
) -> String {
    let ProjectSpec {
        root,
        sources,
        config,
        semantic_models,
        metrics,
        saved_queries,
        project_configurations,
        templates,
        metric_tests,
        test_tables,
        check_tests,
        business_calendars,
        holiday_sets,
        dbt,
    } = spec;
    let mut h = Hasher(Sha256::new());
    h.bytes(b"tally project digest 2");
    h.bytes(env!("CARGO_PKG_VERSION").as_bytes());
    h.bytes(salt);
    h.bytes(root.as_os_str().as_encoded_bytes());
    // The files' bytes as they are, by their SHA-256 (computed once per file: the store of parsed
    // YAML names them by it too).
    for (_, f) in sources.files() {
        h.bytes(f.name.as_bytes());
        h.bytes(f.path.as_os_str().as_encoded_bytes());
        h.bytes(&f.sha256());
    }
    for (name, text) in templates {
        h.bytes(name.as_bytes());
        h.bytes(text.as_bytes());
    }
    // How the load was asked, and what it reported.
    h.debug(&(opts, load_diags));
    // What the load made of them is a function of the files and options hashed above, and, for
    // a dbt project, of what it consulted outside its sources (the environment, files read and
    // not kept, existence checks, listings), written down by the loader in order: hashed as
    // answered. The spec made of them is not hashed (its `Debug` form cost as much as loading).
    let _made_of_the_inputs = (
        config,
        semantic_models,
        metrics,
        saved_queries,
        project_configurations,
        metric_tests,
        test_tables,
        check_tests,
        business_calendars,
        holiday_sets,
    );
    if let Some(dbt) = dbt {
        h.bytes(b"dbt");
        for c in &dbt.consulted {
            h.bytes(c.kind.as_bytes());
            h.bytes(c.key.as_bytes());
            match &c.answer {
                Some(a) => {
                    h.0.update([1]);
                    h.bytes(a.as_bytes());
                }
                None => h.0.update([0]),
            }
        }
    }
    let d = h.0.finalize();
    let mut hex = String::with_capacity(64);
    for b in d.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

struct Hasher(Sha256);

impl Hasher {
    /// A length-prefixed field, so that two fields cannot run into each other.
    fn bytes(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn debug(&mut self, v: &dyn std::fmt::Debug) {
        let _ = write!(self, "{v:?}");
        self.0.update([0xff]);
    }
}

impl std::fmt::Write for Hasher {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// The SHA-256 of `parts`, one after the other (a name for bytes the caller keeps, such as the
/// CLI's file of parsed YAML).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_files;

    fn digest(files: &[(&str, &str)], opts: &LoadOptions) -> String {
        let (spec, diags) = load_files(files, None, opts);
        project_digest(&spec, &diags, opts, b"build")
    }

    const MODEL: &str = "semantic_models:\n  - name: orders\n    model: ref('orders')\n    entities: [{name: order, type: primary}]\n    measures: [{name: n, agg: count, expr: '1'}]\n";

    #[test]
    fn the_digest_follows_every_byte_file_and_option() {
        let opts = LoadOptions::default();
        let base = digest(&[("a.yml", MODEL)], &opts);
        assert_eq!(base, digest(&[("a.yml", MODEL)], &opts), "deterministic");
        assert_eq!(base.len(), 64);
        let edited = MODEL.replace("agg: count", "agg: sum");
        assert_ne!(base, digest(&[("a.yml", &edited)], &opts), "a changed byte");
        assert_ne!(base, digest(&[("b.yml", MODEL)], &opts), "a renamed file");
        assert_ne!(
            base,
            digest(&[("a.yml", MODEL), ("b.yml", "metrics: []\n")], &opts),
            "a new file"
        );
        let other = LoadOptions {
            source_schema: Some("raw".into()),
            ..LoadOptions::default()
        };
        assert_ne!(base, digest(&[("a.yml", MODEL)], &other), "an option");
        let (spec, diags) = load_files(&[("a.yml", MODEL)], None, &opts);
        assert_ne!(base, project_digest(&spec, &diags, &opts, b"other build"));
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let opts = LoadOptions::default();
        assert_ne!(
            digest(&[("a.yml", "metrics: []\n"), ("b.yml", "\n")], &opts),
            digest(&[("a.yml", "metrics: []\n\n"), ("b.yml", "")], &opts)
        );
    }

    #[test]
    fn a_dbt_load_is_keyed_by_what_it_consulted() {
        use crate::dbt::{Consult, DbtInfo};
        let opts = LoadOptions::default();
        let with = |consulted: Vec<Consult>| {
            let (mut spec, diags) = load_files(&[("a.yml", MODEL)], None, &opts);
            spec.dbt = Some(DbtInfo {
                consulted,
                ..DbtInfo::default()
            });
            project_digest(&spec, &diags, &opts, b"build")
        };
        let ask = |kind: &'static str, key: &str, answer: Option<&str>| Consult {
            kind,
            key: key.into(),
            answer: answer.map(str::to_string),
        };
        let base = with(vec![ask("env", "SCHEMA", Some("main"))]);
        assert_eq!(base, with(vec![ask("env", "SCHEMA", Some("main"))]));
        assert_ne!(
            base,
            with(vec![ask("env", "SCHEMA", Some("prod"))]),
            "a value"
        );
        assert_ne!(base, with(vec![ask("env", "SCHEMA", None)]), "unset");
        assert_ne!(
            base,
            with(vec![ask("env", "SCHEMA", Some(""))]),
            "set empty"
        );
        assert_ne!(
            base,
            with(vec![ask("env", "OTHER", Some("main"))]),
            "a name"
        );
        assert_ne!(
            base,
            with(vec![ask("read", "SCHEMA", Some("main"))]),
            "a kind"
        );
        assert_ne!(
            base,
            with(vec![
                ask("env", "SCHEMA", Some("main")),
                ask("list", "m", Some(""))
            ]),
            "one more question"
        );
        assert_ne!(base, with(Vec::new()), "none");
        assert_ne!(
            with(Vec::new()),
            digest(&[("a.yml", MODEL)], &opts),
            "a dbt project"
        );
    }
}
