//! The validation cache (`src/vcache.rs`): a project state that validated is not validated again
//! by the next command, its warnings replayed; any change to what the load read is a miss; errors
//! are never recorded; concurrent writers and an unusable cache directory are harmless. Every run
//! here sets `TALLY_CACHE_DIR` to a directory of the test's own; `-v` says what the cache did.

mod common;

use common::{assert_contains, p, tally_env, write, Out};
use std::path::{Path, PathBuf};

const MODELS: &str = "semantic_models:
  - name: orders
    node_relation: {schema_name: shop, alias: orders}
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: channel, type: categorical}
    measures:
      - {name: order_count, agg: sum, expr: '1'}
      - {name: revenue_total, agg: sum, expr: amount}
";

/// `odd` does not use its input `orders`: a warning (E-code with a label, a secondary label and
/// a help line), so the project validates with one warning.
const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
  - name: odd
    type: derived
    type_params: {expr: revenue * 2, metrics: [revenue, orders]}
";

const REPLAYED: &str = "validation: replayed from";
const RECORDED: &str = "validation: recorded in";

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

fn project() -> Project {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("project");
    write(
        &root,
        &[
            ("tally.yml", "name: shop\n"),
            ("models/orders.yml", MODELS),
            ("metrics/metrics.yml", METRICS),
        ],
    );
    let cache = dir.path().join("cache");
    Project {
        _dir: dir,
        root,
        cache,
    }
}

impl Project {
    /// `tally --project ROOT ARGS -v` with the project's cache directory and `env`.
    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut all = vec!["--project", p(&self.root), "-v"];
        all.extend_from_slice(args);
        let mut set = vec![("TALLY_CACHE_DIR", p(&self.cache).to_string())];
        set.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
        tally_env(&all, &set, &["TALLY_CACHE"])
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }

    /// `tally sql` of `odd` by month: succeeds; returns (SQL, stderr).
    fn sql(&self) -> (String, String) {
        let out = self.run(&[
            "sql",
            "--metrics",
            "odd,orders",
            "--group-by",
            "metric_time__month",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        (out.stdout, out.stderr)
    }

    fn entries(&self) -> Vec<String> {
        let dir = self.cache.join("validation");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Project {
    /// The files of parsed YAML (`src/parsed.rs`) in the cache directory.
    fn packs(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.cache.join("validation"))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("parsed-"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

/// The line `-v` prints for the parsed YAML a load read: `hits` of `texts` remembered.
fn parsed(hits: usize, texts: usize) -> String {
    format!("parsed YAML: {hits} of {texts} text(s) from ")
}

#[track_caller]
fn assert_hit(stderr: &str) {
    assert!(
        stderr.contains(REPLAYED) && !stderr.contains(RECORDED),
        "{stderr}"
    );
}

#[track_caller]
fn assert_miss(stderr: &str) {
    assert!(
        stderr.contains(RECORDED) && !stderr.contains(REPLAYED),
        "{stderr}"
    );
}

#[test]
fn an_unchanged_project_is_validated_once_and_any_change_misses() {
    let pr = project();
    let (first, err) = pr.sql();
    assert_miss(&err);
    assert_eq!(pr.entries().len(), 1);
    let tag = std::fs::read_to_string(pr.cache.join("validation/CACHEDIR.TAG")).expect("tag");
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    let (again, err) = pr.sql();
    assert_hit(&err);
    assert_eq!(again, first, "the same SQL");

    // Touched, not changed: the same bytes (and a new modification time) hit.
    let metrics = pr.root.join("metrics/metrics.yml");
    std::fs::write(&metrics, METRICS).expect("rewrite");
    assert_hit(&pr.sql().1);

    // One byte changed (a metric's label), a file added, a file deleted: each misses.
    std::fs::write(
        &metrics,
        METRICS.replace("name: revenue\n", "name: revenue\n    label: R\n"),
    )
    .expect("edit");
    assert_miss(&pr.sql().1);
    assert_hit(&pr.sql().1);
    let extra = pr.root.join("metrics/extra.yml");
    std::fs::write(
        &extra,
        "metrics:\n  - name: twice\n    type: simple\n    type_params: {measure: order_count}\n",
    )
    .expect("add");
    assert_miss(&pr.sql().1);
    std::fs::remove_file(&extra).expect("delete");
    // Back to the state recorded before the file was added: that entry is still there.
    assert_hit(&pr.sql().1);
    std::fs::write(&metrics, METRICS).expect("restore");
    let (restored, err) = pr.sql();
    assert_hit(&err);
    assert_eq!(restored, first);
    assert_eq!(pr.entries().len(), 3, "{:?}", pr.entries());

    // `tally validate` always validates (and records); `--cache off` neither reads nor writes.
    let v = pr.run(&["validate"]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_miss(&v.stderr);
    let off = pr.run(&["sql", "--metrics", "odd", "--cache", "off"]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    assert!(!off.stderr.contains("validation:"), "{}", off.stderr);
    let env_off = pr.run_env(&["sql", "--metrics", "odd"], &[("TALLY_CACHE", "off")]);
    assert!(
        !env_off.stderr.contains("validation:"),
        "{}",
        env_off.stderr
    );
    // `--cache refresh` validates again.
    assert_miss(
        &pr.run(&["sql", "--metrics", "odd", "--cache", "refresh"])
            .stderr,
    );
}

#[test]
fn warnings_are_replayed_identically() {
    let pr = project();
    // `tally docs generate` shows the project's diagnostics on a page: the site made from a
    // replayed validation is byte for byte the site made from a fresh one.
    let site = |name: &str| -> (Out, PathBuf) {
        let out_dir = pr.cache.parent().expect("parent").join(name);
        let out = pr.run(&["docs", "generate", "--out", p(&out_dir)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        (out, out_dir)
    };
    let (fresh, a) = site("site-a");
    assert_miss(&fresh.stderr);
    let (replayed, b) = site("site-b");
    assert_hit(&replayed.stderr);
    let files = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir").flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(dir).expect("inside");
                    out.push((
                        rel.to_string_lossy().into_owned(),
                        std::fs::read(&path).expect("read"),
                    ));
                }
            }
        }
        out.sort();
        out
    };
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), fb.len());
    for ((na, ta), (nb, tb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(
            ta == tb,
            "{na} differs between a fresh and a replayed validation"
        );
    }
    let all: String = fa
        .iter()
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .collect();
    assert_contains(
        &all,
        &["input `orders` of `odd` is not used in its formula"],
    );
    // The entry holds the warning as data: code, span, labels, help.
    let entry = pr.cache.join("validation").join(&pr.entries()[0]);
    let text = std::fs::read_to_string(entry).expect("entry");
    assert_contains(
        &text,
        &[
            "\"severity\":\"warning\"",
            "unused input",
            "the formula",
            "use it in `expr`",
        ],
    );
}

#[test]
fn an_invalid_project_is_never_recorded() {
    let pr = project();
    let metrics = pr.root.join("metrics/metrics.yml");
    std::fs::write(&metrics, METRICS.replace("revenue * 2", "revenu * 2")).expect("break");
    for _ in 0..2 {
        let out = pr.run(&["sql", "--metrics", "orders"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_contains(&out.stderr, &["error["]);
        assert!(!out.stderr.contains("validation:"), "{}", out.stderr);
    }
    assert!(pr.entries().is_empty(), "{:?}", pr.entries());
    // Valid, recorded; broken again: validated again, the error reported.
    std::fs::write(&metrics, METRICS).expect("fix");
    assert_miss(&pr.sql().1);
    std::fs::write(&metrics, METRICS.replace("revenue * 2", "revenu * 2")).expect("break");
    let out = pr.run(&["sql", "--metrics", "orders"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains(REPLAYED), "{}", out.stderr);
}

#[test]
fn a_corrupt_entry_is_validated_and_rewritten() {
    let pr = project();
    let (first, err) = pr.sql();
    assert_miss(&err);
    let entry = pr.cache.join("validation").join(&pr.entries()[0]);
    std::fs::write(&entry, "{\"format\": 1, \"key\": \"nope\"").expect("corrupt");
    let (sql, err) = pr.sql();
    assert_eq!(sql, first);
    assert_contains(&err, &["is not a valid entry; validating", RECORDED]);
    assert_hit(&pr.sql().1);
}

const PARSED_BEFORE: &str = "generated SQL: parsed back before, not again";
const PARSED_NOW: &str = "generated SQL: parsed back, remembered in";

/// The self-check of generated SQL (parsed back with sqlparser) runs once per text and dialect:
/// the next `tally sql` of the same query skips it and prints the same SQL; another query or
/// dialect is checked; `--cache off` always checks and remembers nothing; a changed project is
/// a new entry, checked again.
#[test]
fn generated_sql_is_parsed_back_once_per_text() {
    let pr = project();
    let check = |err: &str, before: bool, now: bool| {
        assert_eq!(err.contains(PARSED_BEFORE), before, "{err}");
        assert_eq!(err.contains(PARSED_NOW), now, "{err}");
    };
    let (first, err) = pr.sql();
    check(&err, false, true);
    let (again, err) = pr.sql();
    assert_eq!(again, first);
    check(&err, true, false);
    let by = ["--group-by", "metric_time__month"];
    let other = pr.run(&[&["sql", "--metrics", "orders"][..], &by[..]].concat());
    assert_eq!(other.code, 0, "{}", other.stderr);
    check(&other.stderr, false, true);
    let postgres = ["sql", "--metrics", "odd,orders", "--dialect", "postgres"];
    let pg = pr.run(&[&postgres[..], &by[..]].concat());
    assert_eq!(pg.code, 0, "{}", pg.stderr);
    check(&pg.stderr, false, true);
    check(
        &pr.run(&[&postgres[..], &by[..]].concat()).stderr,
        true,
        false,
    );
    let off = pr.run(
        &[
            &["--cache", "off", "sql", "--metrics", "odd,orders"][..],
            &by[..],
        ]
        .concat(),
    );
    assert_eq!(off.stdout, first);
    check(&off.stderr, false, false);
    write(
        &pr.root,
        &[(
            "metrics/more.yml",
            "metrics:\n  - {name: more, type: simple, type_params: {measure: order_count}}\n",
        )],
    );
    let (changed, err) = pr.sql();
    assert_eq!(changed, first);
    check(&err, false, true);
}

#[test]
fn concurrent_processes_write_one_entry() {
    let pr = project();
    // Six processes on threads, overlapping, on an empty cache.
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let root = pr.root.clone();
            let cache = pr.cache.clone();
            std::thread::spawn(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
                    .args(["--project", p(&root), "sql", "--metrics", "odd,orders"])
                    .env("NO_COLOR", "1")
                    .env("TALLY_CACHE_DIR", &cache)
                    .env_remove("TALLY_CACHE")
                    .output()
                    .expect("spawn")
            })
        })
        .collect();
    let outs: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("join"))
        .collect();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(o.stdout, outs[0].stdout);
    }
    // One entry per state, no temporary file left behind.
    assert_eq!(pr.entries().len(), 1, "{:?}", pr.entries());
    assert_hit(&pr.sql().1);
}

#[test]
fn an_unusable_cache_directory_is_left_alone() {
    let pr = project();
    let (expected, _) = {
        let out = pr.run_env(&["sql", "--metrics", "odd"], &[("TALLY_CACHE", "off")]);
        (out.stdout, out.stderr)
    };
    // A file where the cache directory would be: nothing is written, the command succeeds.
    std::fs::write(&pr.cache, "not a directory").expect("file");
    let out = pr.run(&["sql", "--metrics", "odd"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, expected);
    assert_contains(&out.stderr, &["validation: not recorded"]);
    assert_eq!(
        std::fs::read_to_string(&pr.cache).expect("file"),
        "not a directory"
    );
    // A directory tally did not make (no tag of its own): neither read nor written.
    std::fs::remove_file(&pr.cache).expect("rm");
    let foreign = pr.cache.join("validation");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    for _ in 0..2 {
        let out = pr.run(&["sql", "--metrics", "odd"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout, expected);
        assert_contains(&out.stderr, &["is not tally's validation cache"]);
    }
    let mut names: Vec<_> = std::fs::read_dir(&foreign)
        .expect("read")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["notes.txt"]);
}

#[cfg(unix)]
#[test]
fn a_read_only_cache_directory_falls_back_silently() {
    use std::os::unix::fs::PermissionsExt;
    let pr = project();
    pr.sql();
    let dir = pr.cache.join("validation");
    let entry = dir.join(&pr.entries()[0]);
    std::fs::remove_file(&entry).expect("rm");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // (Root ignores the mode: then the entry is simply written.)
    let writable = std::fs::write(dir.join("probe"), "").is_ok();
    let out = pr.run(&[
        "sql",
        "--metrics",
        "odd,orders",
        "--group-by",
        "metric_time__month",
    ]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(out.code, 0, "{}", out.stderr);
    if !writable {
        assert_contains(&out.stderr, &["validation: not recorded"]);
    }
    let _ = std::fs::remove_file(dir.join("probe"));
}

#[test]
fn the_cache_command_shows_and_clears_it() {
    let pr = project();
    pr.sql();
    let status = pr.run(&["cache", "status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_contains(
        &status.stdout,
        &["validation cache ", "(1 project state(s))"],
    );
    let cleared = pr.run(&["cache", "clear"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert_contains(&cleared.stdout, &["removed validation cache"]);
    assert!(!pr.cache.join("validation").exists());
    assert!(pr.cache.exists(), "only tally's own directory is removed");
    assert_miss(&pr.sql().1);
}

/// A copy of the dbt fixture project `tests/fixtures/dbt_shop` in a new temporary directory (as
/// `shop/` in it).
fn dbt_shop() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("shop");
    common::copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dbt_shop"),
        &root,
    );
    (dir, root)
}

/// dbt's `env_var()` changes what the load makes of unchanged files: another state.
#[test]
fn an_environment_variable_a_dbt_project_reads_is_part_of_the_state() {
    let (dir, root) = dbt_shop();
    let cache = dir.path().join("cache");
    let sql = |schema: Option<&str>| {
        let mut set = vec![
            ("TALLY_CACHE_DIR", p(&cache).to_string()),
            ("HOME", p(&dir.path().join("no-home")).to_string()),
        ];
        if let Some(s) = schema {
            set.push(("SHOP_SCHEMA", s.to_string()));
        }
        let out = tally_env(
            &[
                "--project",
                p(&root),
                "-v",
                "sql",
                "--metrics",
                "order_total",
            ],
            &set,
            &["DBT_PROFILES_DIR", "SHOP_SCHEMA", "TALLY_CACHE"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out
    };
    let plain = sql(None);
    assert_miss(&plain.stderr);
    assert_hit(&sql(None).stderr);
    let other = sql(Some("analytics"));
    assert_miss(&other.stderr);
    assert_contains(
        &other.stdout,
        &["\"shop\".\"analytics_marts\".\"fct_orders\""],
    );
    assert_hit(&sql(Some("analytics")).stderr);
}

/// A dbt project's state is what its load consulted outside its sources too (`DbtInfo::consulted`
/// hashed in place of the spec): `--vars`, `--target`, a `profiles.yml` outside the project, a
/// model's SQL (its `config()`), a doc block, a package's `dbt_project.yml`, a new model file.
/// Each change misses and prints the SQL a fresh load prints; the same state again hits.
#[test]
fn every_input_a_dbt_project_reads_outside_its_sources_is_part_of_the_state() {
    let (dir, root) = dbt_shop();
    let cache = dir.path().join("cache");
    let profiles = dir.path().join("profiles");
    write(
        &profiles,
        &[(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb, schema: outside}\n",
        )],
    );
    // `tally sql` of order_total by order size (its expression reads `var('big_order')`), with
    // `extra` arguments and environment; checked against the same command with the cache off.
    let sql = |extra: &[&str], env: &[(&str, String)]| {
        let mut args = vec![
            "--project",
            p(&root),
            "-v",
            "sql",
            "--metrics",
            "order_total",
            "--group-by",
            "order__size",
        ];
        args.extend_from_slice(extra);
        let mut set = vec![
            ("TALLY_CACHE_DIR", p(&cache).to_string()),
            ("HOME", p(&dir.path().join("no-home")).to_string()),
        ];
        set.extend(env.iter().cloned());
        let unset = ["DBT_PROFILES_DIR", "SHOP_SCHEMA", "TALLY_CACHE"];
        let out = tally_env(&args, &set, &unset);
        assert_eq!(out.code, 0, "{}", out.stderr);
        args.push("--cache");
        args.push("off");
        let fresh = tally_env(&args, &set, &unset);
        assert_eq!(out.stdout, fresh.stdout, "the SQL of a fresh load");
        out
    };
    // A change: the first run misses, the second hits; both print `expect`.
    let changed = |extra: &[&str], env: &[(&str, String)], expect: &str| {
        let first = sql(extra, env);
        assert_miss(&first.stderr);
        assert_contains(&first.stdout, &[expect]);
        let again = sql(extra, env);
        assert_hit(&again.stderr);
        assert_eq!(first.stdout, again.stdout);
    };
    changed(&[], &[], "\"main_marts\".\"fct_orders\"");
    changed(&["--vars", "{big_order: 60}"], &[], ">= 60");
    changed(&["--target", "prod"], &[], "\"prod_marts\"");
    let outside = [("DBT_PROFILES_DIR", p(&profiles).to_string())];
    changed(&[], &outside, "\"outside_marts\"");
    write(
        &profiles,
        &[(
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb, schema: elsewhere}\n",
        )],
    );
    changed(&[], &outside, "\"elsewhere_marts\"");
    // Back to the project's own profile: that state was recorded first.
    assert_hit(&sql(&[], &[]).stderr);
    let model = root.join("models/marts/orders.sql");
    let text = std::fs::read_to_string(&model).expect("read");
    std::fs::write(&model, text.replace("'fct_orders'", "'fct_orders_v2'")).expect("write");
    changed(&[], &[], "\"fct_orders_v2\"");
    let docs = root.join("models/docs.md");
    let text = std::fs::read_to_string(&docs).expect("read");
    std::fs::write(
        &docs,
        format!("{text}\n{{% docs spare %}}x{{% enddocs %}}\n"),
    )
    .expect("write");
    changed(&[], &[], "\"fct_orders_v2\"");
    let package = root.join("dbt_packages/old_metrics/dbt_project.yml");
    let text = std::fs::read_to_string(&package).expect("read");
    std::fs::write(&package, format!("{text}# edited\n")).expect("write");
    changed(&[], &[], "\"fct_orders_v2\"");
    write(&root, &[("models/marts/extra.sql", "select 1 as id\n")]);
    changed(&[], &[], "\"fct_orders_v2\"");
}

#[test]
fn parsed_yaml_is_remembered_per_text_and_never_changes_an_answer() {
    let pr = project();
    let (first, err) = pr.sql();
    assert_contains(&err, &[&parsed(0, 3)]);
    assert_eq!(pr.packs().len(), 1, "one file for the project");
    let (again, err) = pr.sql();
    assert_contains(&err, &[&parsed(3, 3)]);
    assert_eq!(again, first);

    // One file changed: the two others are remembered, the changed one scanned; the file is
    // written again with the texts this load read, so the next run remembers all three.
    let metrics = pr.root.join("metrics/metrics.yml");
    let edited = METRICS.replace("name: revenue\n", "name: revenue\n    label: R\n");
    std::fs::write(&metrics, &edited).expect("edit");
    assert_contains(&pr.sql().1, &[&parsed(2, 3)]);
    assert_contains(&pr.sql().1, &[&parsed(3, 3)]);
    std::fs::write(&metrics, METRICS).expect("restore");
    assert_contains(&pr.sql().1, &[&parsed(2, 3)]);

    // A file that does not parse is reported exactly as without the cache, and never kept.
    let bad = pr.root.join("metrics/bad.yml");
    std::fs::write(&bad, "metrics:\n  - name: [unclosed\n").expect("bad");
    let off = pr.run(&["validate", "--cache", "off"]);
    for _ in 0..2 {
        let on = pr.run(&["validate"]);
        assert_eq!(on.code, off.code);
        assert_eq!(on.stdout, off.stdout);
        let shown = |e: &str| -> Vec<String> {
            e.lines()
                .filter(|l| !l.starts_with("parsed YAML: ") && !l.starts_with("validation: "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(shown(&on.stderr), shown(&off.stderr));
        assert_contains(&on.stderr, &[&parsed(3, 3)]);
    }
    std::fs::remove_file(&bad).expect("rm");

    // A damaged file (garbage, cut short, one byte changed) is a miss, never a different answer.
    let pack = pr.packs().remove(0);
    let good = std::fs::read(&pack).expect("pack");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last / 2] ^= 0x55;
    for damaged in [
        b"garbage".to_vec(),
        good[..good.len() / 2].to_vec(),
        flipped,
    ] {
        std::fs::write(&pack, &damaged).expect("damage");
        let (sql, err) = pr.sql();
        assert_eq!(sql, first);
        assert!(err.contains("parsed YAML: "), "{err}");
    }
    // `--cache off` neither reads nor writes it; `--cache refresh` scans every text.
    std::fs::remove_file(&pack).expect("rm");
    let off = pr.run(&["sql", "--metrics", "odd", "--cache", "off"]);
    assert!(!off.stderr.contains("parsed YAML"), "{}", off.stderr);
    assert!(pr.packs().is_empty());
    assert_contains(&pr.sql().1, &[&parsed(0, 3)]);
    assert_contains(
        &pr.run(&["sql", "--metrics", "odd", "--cache", "refresh"])
            .stderr,
        &[&parsed(0, 3)],
    );
    assert_contains(&pr.sql().1, &[&parsed(3, 3)]);
}
