//! `tally mcp` and `tally serve` as processes: the same query through the CLI, MCP over stdio, MCP
//! over streamable HTTP and the HTTP JSON API returns identical rows and byte-identical SQL.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A small Intercom database made by `tally sample-data` in a fresh temporary directory.
pub fn sample_db(dir: &Path) -> PathBuf {
    let db = dir.join("support.duckdb");
    let out = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "1000",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    db
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `tally <args>` that listens on a free port; the address is read from its stderr.
fn spawn_http(args: &[&str]) -> (Proc, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("TALLY_SERVE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tally");
    let stderr = child.stderr.take().expect("stderr");
    let proc = Proc(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("tally exited before listening")
            .expect("read stderr");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .expect("address")
                .parse()
                .expect("socket address");
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (proc, addr)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(
    addr: SocketAddr,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut r = agent()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let mut resp = r.send(body.to_string()).expect("request");
    let session = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let status = resp.status().as_u16();
    (
        status,
        session,
        resp.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// JSON-RPC messages of an MCP HTTP reply (JSON, or server-sent events).
fn rpc(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

const INIT: &str = r#"{"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tally-tests", "version": "1"}}"#;

/// Call tools over MCP streamable HTTP; the results in order.
fn mcp_http(addr: SocketAddr, calls: &[(&str, Value)]) -> Vec<Value> {
    let accept = ("accept", "application/json, text/event-stream");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": serde_json::from_str::<Value>(INIT).unwrap()});
    let (status, session, body) = post(addr, "/mcp", &init, &[accept]);
    assert_eq!(status, 200, "{body}");
    let session = session.expect("session id");
    let h = [
        accept,
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, body) = post(
        addr,
        "/mcp",
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        &h,
    );
    assert!(status < 300, "{status} {body}");
    calls
        .iter()
        .enumerate()
        .map(|(i, (tool, args))| {
            let id = i + 1;
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
            let (status, _, body) = post(addr, "/mcp", &msg, &h);
            assert_eq!(status, 200, "{body}");
            rpc(&body)
                .into_iter()
                .find(|m| m["id"] == json!(id))
                .unwrap_or_else(|| panic!("no response in {body}"))["result"]
                .clone()
        })
        .collect()
}

/// MCP over stdio: newline-delimited JSON-RPC on the child's stdin and stdout.
struct Stdio_ {
    _proc: Proc,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Stdio_ {
    fn start(args: &[&str]) -> Stdio_ {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tally mcp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut s = Stdio_ {
            _proc: Proc(child),
            stdin,
            stdout,
        };
        let init: Value = serde_json::from_str(INIT).unwrap();
        let r = s.request(0, "initialize", init);
        assert_eq!(r["result"]["serverInfo"]["name"], "tally", "{r}");
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, v: &Value) {
        writeln!(self.stdin, "{v}").expect("write");
        self.stdin.flush().expect("flush");
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("read");
            assert!(n > 0, "tally mcp closed stdout");
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line}"));
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    fn call(&mut self, id: u64, tool: &str, args: Value) -> Value {
        self.request(id, "tools/call", json!({"name": tool, "arguments": args}))["result"].clone()
    }
}

fn text_result(r: &Value) -> String {
    assert_eq!(r["isError"], false, "{r}");
    r["structuredContent"]["result"]
        .as_str()
        .expect("string result")
        .to_string()
}

#[test]
fn cli_mcp_stdio_mcp_http_and_http_api_agree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_db(dir.path());
    let root = repo_root();
    let base = ["--project", p(&root)];
    let filter = "{{ Dimension('team__team_name') }} <> 'Sales'";

    // Two queries: without an order (rows come in tally's default order) and with order and limit.
    struct Case {
        cli: Vec<&'static str>,
        mcp: Value,
    }
    let cases = [
        Case {
            cli: vec![
                "--metrics",
                "csat,conversation_volume",
                "--group-by",
                "metric_time__month,team__team_name",
            ],
            mcp: json!({"metrics": ["csat", "conversation_volume"],
                        "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"},
                                     {"name": "team__team_name", "type": "dimension"}],
                        "where": filter}),
        },
        Case {
            cli: vec![
                "--metrics",
                "csat",
                "--group-by",
                "metric_time__month",
                "--order",
                "-metric_time__month",
                "--limit",
                "3",
            ],
            mcp: json!({"metrics": ["csat"],
                        "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}],
                        "order_by": [{"name": "metric_time", "descending": true}],
                        "limit": 3}),
        },
    ];

    let mut stdio = Stdio_::start(&[&base[..], &["mcp", "--duckdb", p(&db)]].concat());
    let (_mcp_proc, mcp_addr) = spawn_http(
        &[
            &base[..],
            &[
                "mcp",
                "--transport",
                "http",
                "--bind",
                "127.0.0.1:0",
                "--duckdb",
                p(&db),
                "--no-watch",
            ],
        ]
        .concat(),
    );
    let (_api_proc, api_addr) = spawn_http(
        &[
            &base[..],
            &[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--duckdb",
                p(&db),
                "--no-watch",
            ],
        ]
        .concat(),
    );

    for (i, case) in cases.iter().enumerate() {
        let mut cli_args: Vec<&str> = base.to_vec();
        cli_args.push("query");
        cli_args.extend(&case.cli);
        if i == 0 {
            cli_args.extend(["--where", filter]);
        }
        cli_args.extend(["--duckdb", p(&db), "--format", "json"]);
        let cli = tally(&cli_args);
        assert_eq!(cli.code, 0, "{}", cli.stderr);
        let cli_rows = cli.stdout.trim_end().to_string();
        let mut sql_args: Vec<&str> = base.to_vec();
        sql_args.push("sql");
        sql_args.extend(&case.cli);
        if i == 0 {
            sql_args.extend(["--where", filter]);
        }
        let cli_sql = tally(&sql_args);
        assert_eq!(cli_sql.code, 0, "{}", cli_sql.stderr);
        let rows: Vec<Value> = serde_json::from_str(&cli_rows).expect("CLI JSON");
        assert!(rows.len() >= 3, "{cli_rows}");

        // MCP over stdio.
        let id = 10 + 2 * i as u64;
        let stdio_rows = text_result(&stdio.call(id, "query_metrics", case.mcp.clone()));
        let stdio_sql =
            text_result(&stdio.call(id + 1, "get_metrics_compiled_sql", case.mcp.clone()));
        assert_eq!(stdio_rows, cli_rows, "MCP stdio rows");
        assert_eq!(stdio_sql, cli_sql.stdout, "MCP stdio SQL");

        // MCP over streamable HTTP.
        let http = mcp_http(
            mcp_addr,
            &[
                ("query_metrics", case.mcp.clone()),
                ("get_metrics_compiled_sql", case.mcp.clone()),
            ],
        );
        assert_eq!(text_result(&http[0]), cli_rows, "MCP HTTP rows");
        assert_eq!(text_result(&http[1]), cli_sql.stdout, "MCP HTTP SQL");

        // The HTTP JSON API.
        let (status, _, body) = post(api_addr, "/v1/query", &case.mcp, &[]);
        assert_eq!(status, 200, "{body}");
        let api: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(api["rows"], Value::Array(rows.clone()), "HTTP API rows");
        assert_eq!(
            api["sql"].as_str().unwrap(),
            cli_sql.stdout,
            "HTTP API query SQL"
        );
        let (status, _, body) = post(api_addr, "/v1/compile", &case.mcp, &[]);
        assert_eq!(status, 200, "{body}");
        let compiled: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            compiled["sql"].as_str().unwrap(),
            cli_sql.stdout,
            "HTTP API compile SQL"
        );
    }

    // Another dialect: the same SQL from `tally sql --dialect` and get_metrics_compiled_sql.
    let cli_sql = tally(
        &[
            &base[..],
            &[
                "sql",
                "--metrics",
                "csat",
                "--group-by",
                "metric_time__month",
                "--dialect",
                "bigquery",
            ],
        ]
        .concat(),
    );
    assert_eq!(cli_sql.code, 0, "{}", cli_sql.stderr);
    let mcp_sql = text_result(&stdio.call(
        99,
        "get_metrics_compiled_sql",
        json!({"metrics": ["csat"], "group_by": ["metric_time__month"], "dialect": "bigquery"}),
    ));
    assert_eq!(mcp_sql, cli_sql.stdout);
}

#[test]
fn mcp_in_the_repository_root_lists_metrics_and_gets_csat_by_month() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_db(dir.path());
    let root = repo_root();
    let mut stdio = Stdio_::start(&["--project", p(&root), "mcp", "--duckdb", p(&db)]);
    let tools = stdio.request(1, "tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "list_metrics",
        "list_saved_queries",
        "get_dimensions",
        "get_entities",
        "get_dimension_values",
        "query_metrics",
        "get_metrics_compiled_sql",
    ] {
        assert!(names.contains(&t), "{t} in {names:?}");
    }
    let list = text_result(&stdio.call(2, "list_metrics", json!({})));
    for m in [
        "csat",
        "resolution_rate",
        "conversation_volume",
        "resolved_without_repeat_contact_rate",
    ] {
        assert!(
            list.lines().any(|l| l.starts_with(&format!("{m},"))),
            "{m} in {list}"
        );
    }
    let r = stdio.call(3, "query_metrics", json!({"metrics": ["csat"], "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}]}));
    let rows: Vec<Value> = serde_json::from_str(&text_result(&r)).expect("rows");
    assert!(rows.len() >= 6);
    assert!(rows.iter().all(|r| r["metric_time__month"]
        .as_str()
        .is_some_and(|m| m.ends_with("-01 00:00:00"))));
    assert!(rows
        .iter()
        .any(|r| r["csat"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c))));
}

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--project", p(&repo_root()), "serve", "--bind", "0.0.0.0:0"])
        .env_remove("TALLY_SERVE_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[E0607]") && err.contains("without a token"),
        "{err}"
    );
    // The token never comes from the command line.
    let out = tally(&["serve", "--token", "x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn serve_takes_its_token_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_db(dir.path());
    let root = repo_root();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "file-token\n").expect("write token");
    let get = |addr: SocketAddr, token: Option<&str>| {
        let mut r = agent().get(format!("http://{addr}/v1/saved-queries"));
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.call().expect("request").status().as_u16()
    };
    let (_p, addr) = spawn_http(&[
        "--project",
        p(&root),
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--duckdb",
        p(&db),
        "--no-watch",
        "--token-file",
        p(&token_file),
    ]);
    assert_eq!(get(addr, None), 401);
    assert_eq!(get(addr, Some("other")), 401);
    assert_eq!(get(addr, Some("file-token")), 200);

    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args([
            "--project",
            p(&root),
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--duckdb",
            p(&db),
            "--no-watch",
        ])
        .env("TALLY_SERVE_TOKEN", "env-token")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let _proc = Proc(child);
    let line = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on http://"))
        .expect("listening");
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(get(addr, None), 401);
    assert_eq!(get(addr, Some("env-token")), 200);

    // An empty token file is refused rather than serving without a token.
    std::fs::write(&token_file, "  \n").expect("write token");
    let out = tally(&[
        "--project",
        p(&root),
        "serve",
        "--token-file",
        p(&token_file),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("error[E0607]") && out.stderr.contains("empty"),
        "{}",
        out.stderr
    );
}
