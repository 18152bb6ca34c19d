//! `tally serve` in process on a loopback port: the JSON API, MCP over streamable HTTP, and every
//! refusal of the security defaults (token, Host, Origin, body size, filters, timeout, busy).

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tally_serve::exec::Limits;
use tally_serve::http::HttpOptions;
use tally_serve::Settings;

fn intercom(settings: Settings, opts: HttpOptions) -> Server {
    start(service(&repo_root(), Some(sample_db()), settings), opts)
}

#[test]
fn catalog_and_query_on_the_intercom_project() {
    let s = intercom(Settings::default(), HttpOptions::default());
    let h = request(s.addr, "/healthz", None, &[]);
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.json()["project"], "intercom_support");

    let m = request(s.addr, "/v1/metrics?search=csat", None, &[]);
    assert_eq!(m.status, 200, "{}", m.body);
    let names: Vec<String> = m
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    // Every metric whose name matches, the exact match first (`teammate_csat` also matches).
    assert_eq!(names.first().map(String::as_str), Some("csat"), "{names:?}");
    assert!(names.iter().all(|n| n.contains("csat")), "{names:?}");
    assert_eq!(m.json()[0]["owners"]["accountable"], "aisha_khan");

    let d = post(s.addr, "/v1/dimensions", &json!({"metrics": ["csat"]}));
    assert_eq!(d.status, 200, "{}", d.body);
    let dims = d.json();
    let find = |n: &str| {
        dims.as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .cloned()
    };
    assert_eq!(find("metric_time").expect("metric_time")["type"], "TIME");
    assert_eq!(
        find("team__team_name").expect("team name")["type"],
        "CATEGORICAL"
    );

    let q = post(
        s.addr,
        "/v1/query",
        &json!({"metrics": ["csat"], "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}],
                "order_by": [{"name": "metric_time", "descending": true}], "limit": 2}),
    );
    assert_eq!(q.status, 200, "{}", q.body);
    let q = q.json();
    assert_eq!(q["columns"], json!(["metric_time__month", "csat"]));
    assert_eq!(q["row_count"], 2);
    assert_eq!(q["truncated"], false);
    assert!(
        q["sql"].as_str().unwrap().contains("ORDER BY"),
        "{}",
        q["sql"]
    );

    // A filter on today's date: the server's connections have `current_date` (the bundled
    // DuckDB lacks it; `tally_duckdb::engine::install_date_functions`). Every sample row is
    // before a date a thousand years from now.
    let unfiltered = post(
        s.addr,
        "/v1/query",
        &json!({"metrics": ["csat"], "group_by": ["metric_time__month"]}),
    );
    assert_eq!(unfiltered.status, 200, "{}", unfiltered.body);
    let today = post(
        s.addr,
        "/v1/query",
        &json!({"metrics": ["csat"], "group_by": ["metric_time__month"],
                "where": "{{ TimeDimension('metric_time', 'day') }} < current_date + 365000 and today() = current_date"}),
    );
    assert_eq!(today.status, 200, "{}", today.body);
    assert_eq!(today.json()["rows"], unfiltered.json()["rows"]);
    assert!(today.json()["row_count"].as_u64().unwrap() > 1);

    let csv = request(
        s.addr,
        "/v1/query?format=csv",
        Some(
            &json!({"metrics": ["csat"], "group_by": ["metric_time__month"], "limit": 2})
                .to_string(),
        ),
        &[],
    );
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("metric_time__month,csat\r\n"),
        "{}",
        csv.body
    );

    let c = post(
        s.addr,
        "/v1/compile",
        &json!({"metrics": ["csat"], "dialect": "snowflake"}),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.json()["dialect"], "snowflake");

    let v = post(
        s.addr,
        "/v1/dimension-values",
        &json!({"dimension": "team__team_name", "limit": 2}),
    );
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["values"].as_array().unwrap().len(), 2);
    assert_eq!(v.json()["truncated"], true);

    let bad = post(s.addr, "/v1/query", &json!({"metrics": ["csatt"]}));
    assert_eq!(bad.status, 404, "{}", bad.body);
    assert_eq!(bad.json()["code"], "E0201");
    assert!(bad.json()["error"]
        .as_str()
        .unwrap()
        .contains("did you mean `csat`?"));

    let typo = post(s.addr, "/v1/query", &json!({"metric": ["csat"]}));
    assert_eq!(typo.status, 400, "{}", typo.body);
    assert_eq!(typo.json()["code"], "E0604");
    assert!(
        typo.json()["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `metrics`?"),
        "{}",
        typo.body
    );
}

#[test]
fn row_cap_reports_truncation() {
    let settings = Settings {
        limits: Limits {
            max_rows: 3,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let s = intercom(settings, HttpOptions::default());
    let q = post(
        s.addr,
        "/v1/query",
        &json!({"metrics": ["conversation_volume"], "group_by": ["metric_time__day"]}),
    );
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(q.json()["row_count"], 3);
    assert_eq!(q.json()["truncated"], true);
    assert_eq!(q.json()["row_limit"], 3);
}

#[test]
fn token_is_required_when_set() {
    let opts = HttpOptions {
        token: Some("s3cret-token".into()),
        ..HttpOptions::default()
    };
    let s = intercom(Settings::default(), opts);
    let none = request(s.addr, "/v1/metrics", None, &[]);
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(none.json()["code"], "E0601");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = request(
        s.addr,
        "/v1/metrics",
        None,
        &[("authorization", "Bearer s3cret-tokem")],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.json()["error"].as_str().unwrap().contains("wrong"));
    let mcp = request(
        s.addr,
        "/mcp",
        Some("{}"),
        &[("authorization", "Bearer nope")],
    );
    assert_eq!(mcp.status, 401, "MCP is behind the token too: {}", mcp.body);
    let right = request(
        s.addr,
        "/v1/metrics",
        None,
        &[("authorization", "Bearer s3cret-token")],
    );
    assert_eq!(right.status, 200);
    assert_eq!(request(s.addr, "/healthz", None, &[]).status, 200);
}

#[test]
fn foreign_host_and_origin_are_refused() {
    let s = intercom(Settings::default(), HttpOptions::default());
    for path in ["/v1/metrics", "/healthz"] {
        let r = request(s.addr, path, None, &[("host", "evil.example")]);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["code"], "E0602");
        let r = request(s.addr, path, None, &[("origin", "http://evil.example")]);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.header("access-control-allow-origin").is_none());
    }
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let accept = ("accept", "application/json, text/event-stream");
    let r = request(
        s.addr,
        "/mcp",
        Some(&init.to_string()),
        &[accept, ("host", "evil.example:8484")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        s.addr,
        "/mcp",
        Some(&init.to_string()),
        &[accept, ("origin", "https://evil.example")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        s.addr,
        "/mcp",
        Some(&init.to_string()),
        &[accept, ("host", "localhost")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn configured_origin_gets_cors() {
    let opts = HttpOptions {
        allowed_origins: vec!["http://localhost:3000".into()],
        ..HttpOptions::default()
    };
    let s = intercom(Settings::default(), opts);
    let r = request(
        s.addr,
        "/healthz",
        None,
        &[("origin", "http://localhost:3000")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
}

#[test]
fn oversized_body_is_413() {
    let settings = Settings {
        limits: Limits {
            max_body_bytes: 2048,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let s = intercom(settings, HttpOptions::default());
    let big = json!({"metrics": ["csat"], "where": format!("{{{{ Dimension('team__team_name') }}}} = '{}'", "x".repeat(4096))});
    let r = post(s.addr, "/v1/query", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["code"], "E0603");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"pad": "x".repeat(4096)}});
    let r = request(
        s.addr,
        "/mcp",
        Some(&call.to_string()),
        &[("accept", "application/json, text/event-stream")],
    );
    assert_eq!(r.status, 413, "{}", r.body);
}

/// A fingerprint of the database: its tables and their row counts, read on a fresh connection.
fn database_state(path: &std::path::Path) -> Vec<(String, i64)> {
    let conn = tally_duckdb::engine::open_read_only(path).expect("open");
    let tables = tally_duckdb::engine::run(
        &conn,
        "select schema_name || '.' || table_name, estimated_size from duckdb_tables() order by 1",
    )
    .expect("tables");
    let mut out = Vec::new();
    for r in tables.rows {
        let name = r[0].to_string();
        let n = tally_duckdb::engine::run(&conn, &format!("select count(*) from {name}"))
            .expect("count");
        let count = match n.rows[0][0] {
            tally_duckdb::engine::Value::Int(i) => i,
            _ => -1,
        };
        out.push((name, count));
    }
    out
}

#[test]
fn injection_attempts_are_refused_and_the_database_is_unchanged() {
    let db = sample_db();
    let before = database_state(db);
    let bytes_before = std::fs::read(db).expect("read db");
    assert!(
        before.iter().any(|(t, n)| t == "intercom.team" && *n > 0),
        "{before:?}"
    );
    let s = intercom(Settings::default(), HttpOptions::default());
    let attacks = [
        "{{ Dimension('team__team_name') }} = 'x'; DROP TABLE intercom.team",
        "{{ Dimension('team__team_name') }} = 'x'; DELETE FROM intercom.team; --",
        "{{ Dimension('team__team_name') }} IN (SELECT name FROM intercom.team)",
        "1 = 1) UNION ALL (SELECT 1",
        "{{ Dimension('team__team_name') }} = 'x' -- ",
        "{{ Dimension('team__team_name') }} = 'x' OR 1 = (SELECT count(*) FROM read_csv('/etc/passwd'))",
    ];
    for w in attacks {
        for path in ["/v1/query", "/v1/compile"] {
            let r = post(s.addr, path, &json!({"metrics": ["csat"], "where": w}));
            assert_eq!(r.status, 422, "{path} {w}: {}", r.body);
            assert_eq!(r.json()["code"], "E0605", "{w}: {}", r.body);
        }
    }
    // A quote inside a value stays a value: the filter compiles to a string literal.
    let ok = post(
        s.addr,
        "/v1/query",
        &json!({"metrics": ["csat"], "where": "{{ Dimension('team__team_name') }} = 'O''Brien'"}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["row_count"], 1);
    drop(s);
    assert_eq!(database_state(db), before);
    assert!(
        std::fs::read(db).expect("read db") == bytes_before,
        "the database file changed"
    );
}

#[test]
fn the_database_is_read_only_and_locked_down() {
    let db = tally_serve::exec::Database::open(Some(sample_db())).expect("open");
    let conn = db.connect("").expect("connect");
    for sql in [
        "CREATE TABLE intercom.evil (i INTEGER)",
        "DROP TABLE intercom.team",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM read_csv('/etc/hostname')",
        "INSTALL httpfs",
        "ATTACH ':memory:' AS other",
    ] {
        assert!(tally_duckdb::engine::run(&conn, sql).is_err(), "{sql} ran");
    }
}

/// A project whose one metric hashes two billion generated rows: seconds of DuckDB work in
/// constant memory, to exercise the timeout and the concurrency limit.
fn heavy_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("heavy.yml"),
        r#"semantic_model:
  name: numbers
  sql: "select range as id, date '2020-01-01' + cast(range % 1000 as integer) as created_at from range(2000000000)"
  defaults:
    agg_time_dimension: created_at
  entities:
    - name: number
      type: primary
      expr: id
  dimensions:
    - name: created_at
      type: time
      type_params:
        time_granularity: day
  measures:
    - name: heavy_numbers
      agg: max
      expr: "hash(id * 7919)"
---
metric:
  name: heavy_numbers
  type: simple
  type_params:
    measure: heavy_numbers
"#,
    )
    .expect("write");
    dir
}

#[test]
fn a_query_past_the_timeout_is_interrupted() {
    let dir = heavy_project();
    let settings = Settings {
        limits: Limits {
            statement_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Settings::default()
    };
    let s = start(service(dir.path(), None, settings), HttpOptions::default());
    let t = Instant::now();
    let r = post(s.addr, "/v1/query", &json!({"metrics": ["heavy_numbers"]}));
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.json()["code"], "E0603");
    assert!(r.json()["error"].as_str().unwrap().contains("interrupted"));
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    // The slot is free again: the next query is not refused as busy.
    let again = post(s.addr, "/v1/query", &json!({"metrics": ["heavy_numbers"]}));
    assert_eq!(again.status, 504, "{}", again.body);
}

#[test]
fn more_concurrent_queries_than_allowed_get_503() {
    let dir = heavy_project();
    let settings = Settings {
        limits: Limits {
            statement_timeout: Duration::from_secs(4),
            max_concurrent: 1,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let s = start(service(dir.path(), None, settings), HttpOptions::default());
    let addr = s.addr;
    let heavy = json!({"metrics": ["heavy_numbers"]});
    // Wait (on /healthz, which takes no slot) until the first query holds the only slot.
    let wait_running = || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while request(addr, "/healthz", None, &[]).json()["queries_running"] != 1 {
            assert!(Instant::now() < deadline, "the first query never started");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let body = heavy.clone();
    let first = std::thread::spawn(move || post(addr, "/v1/query", &body));
    wait_running();
    let busy = post(addr, "/v1/query", &heavy);
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.json()["code"], "E0603");
    assert!(busy.json()["error"].as_str().unwrap().contains("busy"));
    let first = first.join().expect("first");
    assert_eq!(first.status, 504, "{}", first.body);
    // MCP tools share the same slots and say so as a tool error.
    let mut c = McpHttp::connect(addr, &[]);
    let body = heavy.clone();
    let held = std::thread::spawn(move || post(addr, "/v1/query", &body));
    wait_running();
    let r = c.call("query_metrics", heavy);
    assert_eq!(r["isError"], true, "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("error[E0603]: the server is busy"),
        "{r}"
    );
    assert_eq!(held.join().expect("held").status, 504);
}

#[test]
fn reload_swaps_the_project_without_dropping_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |label: &str| {
        std::fs::write(
            dir.path().join("m.yml"),
            format!(
                r#"semantic_model:
  name: numbers
  sql: "select range as id, date '2020-01-01' + cast(range % 10 as integer) as created_at from range(100)"
  defaults:
    agg_time_dimension: created_at
  entities:
    - name: number
      type: primary
      expr: id
  dimensions:
    - name: created_at
      type: time
      type_params:
        time_granularity: day
  measures:
    - name: numbers
      agg: count
      expr: id
---
metric:
  name: numbers
  label: {label}
  type: simple
  type_params:
    measure: numbers
"#
            ),
        )
        .expect("write");
    };
    write("Before");
    let s = start(
        service(dir.path(), None, Settings::default()),
        HttpOptions::default(),
    );
    let label = |s: &Server| request(s.addr, "/v1/metrics", None, &[]).json()[0]["label"].clone();
    assert_eq!(label(&s), "Before");
    write("After");
    let r = request(s.addr, "/v1/reload", Some(""), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["generation"], 2);
    assert_eq!(label(&s), "After");
    // A broken project is refused and the last good one keeps serving.
    std::fs::write(dir.path().join("m.yml"), "metric: [").expect("write");
    let r = request(s.addr, "/v1/reload", Some(""), &[]);
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(label(&s), "After");
    let q = post(s.addr, "/v1/query", &json!({"metrics": ["numbers"]}));
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(q.json()["rows"][0]["numbers"], 100);
}

#[test]
fn mcp_over_http_lists_dbt_tools_and_queries() {
    let s = intercom(Settings::default(), HttpOptions::default());
    let mut c = McpHttp::connect(s.addr, &[]);
    let (_, msgs) = c.send("tools/list", json!({}));
    let tools = msgs[0]["result"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    let contract: Vec<Value> = serde_json::from_str(tally_serve::mcp::DBT_MCP_CONTRACT).unwrap();
    for want in &contract {
        let name = want["name"].as_str().unwrap();
        let have = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(have["title"], want["title"], "{name}");
        assert_eq!(have["description"], want["description"], "{name}");
        assert_eq!(have["outputSchema"], want["output_schema"], "{name}");
        let mut input = have["inputSchema"].clone();
        if name == "get_metrics_compiled_sql" {
            input["properties"]
                .as_object_mut()
                .unwrap()
                .remove("dialect")
                .expect("dialect is additive");
        }
        assert_eq!(input, want["input_schema"], "{name}");
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint", "title"] {
            assert_eq!(
                have["annotations"][hint], want["annotations"][hint],
                "{name} {hint}"
            );
        }
    }
    assert!(tools.iter().all(|t| {
        let n = t["name"].as_str().unwrap();
        contract.iter().any(|c| c["name"] == n) || n.starts_with("tally_")
    }));

    let r = c.call("list_metrics", json!({"search": "csat"}));
    let csv = r["structuredContent"]["result"].as_str().expect("csv");
    assert!(csv.starts_with("name,type,label,description"), "{csv}");
    assert!(csv.contains("\ncsat,RATIO,"), "{csv}");
    assert!(
        csv.contains("metric_time"),
        "a narrow listing names the dimensions: {csv}"
    );

    let r = c.call("query_metrics", json!({"metrics": ["csat"], "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}]}));
    assert_eq!(r["isError"], false, "{r}");
    let rows: Vec<Value> =
        serde_json::from_str(r["structuredContent"]["result"].as_str().unwrap()).unwrap();
    assert!(rows.len() >= 6, "{rows:?}");
    assert!(
        rows[0]["metric_time__month"].is_string() && rows[0]["csat"].is_number(),
        "{rows:?}"
    );
    assert_eq!(r["_meta"]["tally/truncated"], false);

    let r = c.call(
        "query_metrics",
        json!({"metrics": ["csat"], "group_by": ["no_such__thing"]}),
    );
    assert_eq!(r["isError"], true, "{r}");
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("error[E04"), "{text}");
    assert!(r["_meta"]["tally/code"]
        .as_str()
        .unwrap()
        .starts_with("E04"));

    let r = c.call(
        "get_dimension_values",
        json!({"dimension": "conversation__channel", "metrics": ["conversation_volume"]}),
    );
    assert_eq!(r["isError"], false, "{r}");
    assert!(!r["structuredContent"]["result"]["values"]
        .as_array()
        .unwrap()
        .is_empty());

    let r = c.call("tally_metric_lineage", json!({"metric": "csat"}));
    assert_eq!(r["isError"], false, "{r}");
    assert!(r["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("aisha_khan"));

    let (reply, msgs) = c.send(
        "tools/call",
        json!({"name": "drop_tables", "arguments": {}}),
    );
    assert_eq!(reply.status, 200);
    assert!(
        msgs[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown tool"),
        "{msgs:?}"
    );
}

#[test]
fn openapi_document_is_current() {
    let path = repo_root().join("docs/openapi.json");
    let want = tally_serve::openapi::document_text();
    if std::env::var_os("TALLY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/openapi.json");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/openapi.json is stale: run the tests with TALLY_UPDATE_DOCS=1"
    );
    let s = intercom(Settings::default(), HttpOptions::default());
    let r = request(s.addr, "/openapi.json", None, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::from_str::<Value>(&want).unwrap());
}

#[test]
fn list_metrics_follows_dbt_mcp_size_rules() {
    let settings = Settings {
        list_budget: 2000,
        ..Settings::default()
    };
    let s = intercom(settings, HttpOptions::default());
    let mut c = McpHttp::connect(s.addr, &[]);
    let csv = |r: Value| {
        r["structuredContent"]["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A broad listing over the budget drops `description`, says so, and lists no dimensions.
    let broad = csv(c.call("list_metrics", json!({})));
    assert!(
        broad.starts_with("# Note: the `description` column was omitted"),
        "{broad}"
    );
    let header = broad.lines().find(|l| !l.starts_with('#')).unwrap();
    assert_eq!(header, "name,type,label");
    assert!(broad.lines().count() > 40, "every metric is listed");
    // A narrow one (at most 10 metrics) keeps everything, however long, with dimensions and entities.
    let narrow = csv(c.call(
        "list_metrics",
        json!({"search": ["csat", "conversation_volume"]}),
    ));
    assert!(
        narrow.starts_with("name,type,label,description,dimensions,entities\n"),
        "{narrow}"
    );
    // Substrings: `conversation_volume` also finds `outbound_conversation_volume`.
    let names: Vec<&str> = narrow
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "conversation_volume",
            "csat",
            "human_served_csat",
            "human_served_csat_previous_period",
            "outbound_conversation_volume",
            "teammate_csat"
        ]
    );
    // A list sent as a JSON-encoded string is read as the list.
    let encoded = csv(c.call(
        "list_metrics",
        json!({"search": "[\"csat\", \"conversation_volume\"]"}),
    ));
    assert_eq!(encoded, narrow);
}

#[test]
fn list_metrics_meta_filter_matches_config_meta() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("m.yml"),
        r#"semantic_model:
  name: numbers
  sql: "select range as id, date '2020-01-01' + cast(range % 10 as integer) as created_at from range(100)"
  defaults:
    agg_time_dimension: created_at
  entities:
    - name: number
      type: primary
      expr: id
  dimensions:
    - name: created_at
      type: time
      type_params:
        time_granularity: day
  measures:
    - name: numbers
      agg: count
      expr: id
---
metric:
  name: numbers
  type: simple
  type_params:
    measure: numbers
  config:
    meta: {agent_accessible: true, domain: math}
---
metric:
  name: hidden_numbers
  type: simple
  type_params:
    measure: numbers
  meta: {agent_accessible: false}
"#,
    )
    .expect("write");
    let s = start(
        service(dir.path(), None, Settings::default()),
        HttpOptions::default(),
    );
    let mut c = McpHttp::connect(s.addr, &[]);
    let r = c.call(
        "list_metrics",
        json!({"meta_filter": {"agent_accessible": "true"}}),
    );
    let csv = r["structuredContent"]["result"].as_str().unwrap();
    assert_eq!(
        csv,
        "name,type,metadata,dimensions,entities\nnumbers,SIMPLE,\"{\"\"agent_accessible\"\":true,\"\"domain\"\":\"\"math\"\"}\",\"metric_time,number__created_at\",number\n"
    );
}

#[test]
fn a_reload_does_not_drop_a_query_in_flight() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("m.yml"),
        r#"semantic_model:
  name: numbers
  sql: "select range as id, date '2020-01-01' + cast(range % 1000 as integer) as created_at from range(300000000)"
  defaults:
    agg_time_dimension: created_at
  entities:
    - name: number
      type: primary
      expr: id
  dimensions:
    - name: created_at
      type: time
      type_params:
        time_granularity: day
  measures:
    - name: top_hash
      agg: max
      expr: "hash(id)"
---
metric:
  name: top_hash
  type: simple
  type_params:
    measure: top_hash
"#,
    )
    .expect("write");
    let s = start(
        service(dir.path(), None, Settings::default()),
        HttpOptions::default(),
    );
    let addr = s.addr;
    let query =
        std::thread::spawn(move || post(addr, "/v1/query", &json!({"metrics": ["top_hash"]})));
    let deadline = Instant::now() + Duration::from_secs(10);
    while request(addr, "/healthz", None, &[]).json()["queries_running"] != 1 {
        if query.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let reload = request(addr, "/v1/reload", Some(""), &[]);
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert_eq!(request(addr, "/healthz", None, &[]).json()["generation"], 2);
    let q = query.join().expect("query");
    assert_eq!(
        q.status, 200,
        "the query in flight finished on the project it started with: {}",
        q.body
    );
    assert!(q.json()["rows"][0]["top_hash"].is_number(), "{}", q.body);
}
