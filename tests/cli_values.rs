//! The closed sets of flag values (clap `ValueEnum`s): a value outside one is a coded usage
//! diagnostic (E0010, E0004 for a dialect) with the values and a "did you mean", in text or, when
//! the rest of the command line asks for JSON, as JSON on stdout; help lists the values. Nothing
//! here reads a project: clap refuses before anything runs.

mod common;

use common::{assert_contains, tally, transcript};

/// Each bad value: the whole run is snapshotted (exit code, stdout, stderr).
#[test]
fn a_value_outside_a_closed_set_is_a_coded_usage_error() {
    for (name, args) in [
        (
            "sql_stage",
            &["sql", "--metrics", "x", "--stage", "plna"][..],
        ),
        (
            "query_format",
            &["query", "--metrics", "x", "--format", "jsn"],
        ),
        ("list_what", &["list", "metrcs"]),
        ("check_fail_on", &["check", "--fail-on", "off-track"]),
        ("tree_grain", &["tree", "--grain", "wek"]),
        ("global_color", &["--color", "sometimes", "validate"]),
        ("unknown_flag", &["validate", "--frmat", "json"]),
        ("no_close_value", &["graph", "--format", "png"]),
    ] {
        let out = tally(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        insta::assert_snapshot!(name, transcript(&out, &[]));
    }
}

#[test]
fn a_bad_value_is_suggested_and_listed() {
    let out = tally(&["sql", "--metrics", "x", "--stage", "plna"]);
    assert_contains(
        &out.stderr,
        &[
            "error[E0010]: `plna` is not a value of --stage",
            "help: did you mean `plan`?",
            "help: --stage takes: sql, plan",
        ],
    );
    assert_eq!(out.stdout, "");
}

/// An unknown dialect from the flag is the one unknown-dialect diagnostic (E0004), as from
/// tally.yml; case does not matter and aliases are accepted (clap checks, core names).
#[test]
fn a_bad_dialect_is_e0004_with_a_suggestion() {
    for flag in [
        &["sql", "--metrics", "x", "--dialect", "snowflak"][..],
        &["calendars", "export", "--dialect", "snowflak"],
        &["check", "--sql", "--dialect", "snowflak"],
    ] {
        let out = tally(flag);
        assert_eq!(out.code, 2, "{flag:?}");
        assert_contains(
            &out.stderr,
            &[
                "error[E0004]: unknown dialect `snowflak`",
                "did you mean `snowflake`?",
                "dialects: bigquery, databricks, duckdb, postgres, redshift, snowflake, trino",
            ],
        );
    }
}

/// A command asked for JSON gets clap's errors as JSON diagnostics on stdout too.
#[test]
fn a_json_command_gets_its_flag_errors_as_json() {
    for args in [
        &[
            "query",
            "--metrics",
            "x",
            "--format",
            "json",
            "--limit",
            "ten",
        ][..],
        &["validate", "--format", "json", "--no-such-flag"],
        &["graph", "--format", "json", "--full=maybe"],
    ] {
        let out = tally(args);
        assert_eq!(out.code, 2, "{args:?}");
        assert_eq!(out.stderr, "", "{args:?}");
        let diags: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
        assert_eq!(diags[0]["code"], "E0010", "{args:?}: {diags}");
        assert_eq!(diags[0]["severity"], "error", "{args:?}: {diags}");
    }
    // The bad value is the format itself: nothing asks for JSON.
    let out = tally(&["validate", "--format", "jsonn"]);
    assert_eq!(out.stdout, "");
    assert_contains(&out.stderr, &["error[E0010]", "did you mean `json`?"]);
}

/// Help lists every value of every closed set.
#[test]
fn help_lists_the_possible_values() {
    for (args, values) in [
        (&["-h"][..], "[possible values: auto, always, never]"),
        (&["-h"], "[possible values: on, off, refresh]"),
        (&["sql", "-h"], "[possible values: sql, plan]"),
        (
            &["sql", "-h"],
            "[possible values: bigquery, databricks, duckdb, postgres, redshift, snowflake, trino]",
        ),
        (
            &["validate", "-h"],
            "[possible values: human, json, github, junit, sarif]",
        ),
        (
            &["check", "-h"],
            "[possible values: at_risk, off_track, never]",
        ),
        (&["check", "-h"], "[possible values: none, dry-run, send]"),
        (
            &["tree", "-h"],
            "[possible values: day, week, month, quarter, year]",
        ),
        (&["tree", "-h"], "[possible values: previous, year, target]"),
        (
            &["tree", "-h"],
            "[possible values: text, json, mermaid, svg, html]",
        ),
        (
            &["list", "-h"],
            "[possible values: metrics, dimensions, entities, saved-queries]",
        ),
        (&["cache", "-h"], "[possible values: status, clear]"),
        (
            &["calendars", "-h"],
            "[possible values: list, export, check]",
        ),
        (&["schema", "-h"], "[possible values: project, tally-yml]"),
        (&["mcp", "-h"], "[possible values: stdio, http]"),
        (&["sample-data", "-h"], "[possible values: intercom]"),
        (&["diff", "-h"], "[possible values: markdown, json]"),
    ] {
        let out = tally(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_contains(&out.stdout, &[values]);
    }
}
