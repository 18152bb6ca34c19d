//! `tally check` end to end: statuses, alerts, output formats, exit codes, the state file
//! (one message per episode, escalation, resolution) and real sends to servers started here:
//! an HTTP listener on 127.0.0.1 (Slack incoming webhook and generic JSON webhook) and an SMTP
//! sink written with std's TcpListener.

mod common;

use common::{assert_contains, p, shop_models, Out};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const METRICS: &str = "metrics:
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
    direction: higher_is_better
    owners: {accountable: ana, responsible: [sales]}
    targets:
      - name: plan
        grain: month
        values:
          - {from: 2026-01, value: 100}
        slices:
          - {where: {order__team: b}, values: [{from: 2026-01, value: 40}]}
          - {where: {order__team: a}, values: [{from: 2026-01, value: 60}]}
        tolerance: {at_risk: 10%, off_track: 25%}
    alerts:
      - name: revenue_off_plan
        when: {target: plan, status: off_track}
        for: 2 periods
        severity: high
        notify: {firing: [responsible], after: {periods: 2, add: [accountable]}, resolved: [responsible]}
      - name: revenue_drop
        when: {change_vs: previous_period, worse_by: 30%}
        notify: [responsible]
";

/// Monthly revenue: Jan 100, Feb 95, Mar 80, Apr 70, May 60, Jun 65, Jul 100 (team a and b).
const MONTHS: &[(&str, f64, f64)] = &[
    ("2026-01-10", 60.0, 40.0),
    ("2026-02-10", 55.0, 40.0),
    ("2026-03-10", 45.0, 35.0),
    ("2026-04-10", 40.0, 30.0),
    ("2026-05-10", 28.0, 32.0),
    ("2026-06-10", 30.0, 35.0),
    ("2026-07-10", 60.0, 40.0),
];

fn tally_yml(smtp_port: u16) -> String {
    format!(
        "name: shop
duckdb: data.duckdb
people:
  - {{name: ana, full_name: Ana Lima, email: ana@shop.test, teams: [sales]}}
teams:
  - name: sales
    members: [ana]
    notify: {{slack_webhook_env: SALES_SLACK, webhook_env: SALES_HOOK}}
checks:
  as_of: '2026-05-31 23:59:59'
  smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tally@shop.test}}
"
    )
}

fn project(smtp_port: u16) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = common::project(&[
        ("tally.yml", &tally_yml(smtp_port)),
        ("models/orders.yml", &shop_models("team", "")),
        ("metrics/revenue.yml", METRICS),
    ]);
    let conn = tally_duckdb::duckdb::Connection::open(root.join("data.duckdb")).expect("db");
    conn.execute_batch(
        "CREATE SCHEMA shop; CREATE TABLE shop.orders (id INTEGER, ordered_at DATE, team VARCHAR, amount DOUBLE);",
    )
    .expect("schema");
    let mut id = 0;
    for (day, a, b) in MONTHS {
        for (team, amount) in [("a", a), ("b", b)] {
            id += 1;
            conn.execute(
                "INSERT INTO shop.orders VALUES (?, CAST(? AS DATE), ?, ?)",
                tally_duckdb::duckdb::params![id, day, team, amount],
            )
            .expect("insert");
        }
    }
    drop(conn);
    (dir, root)
}

fn tally_env(args: &[&str], env: &[(&str, String)]) -> Out {
    let mut set = vec![
        ("TALLY_NOTIFY_TIMEOUT_MS", "2000".to_string()),
        ("TALLY_NOTIFY_BACKOFF_MS", "10".to_string()),
    ];
    set.extend(env.iter().cloned());
    common::tally_env(args, &set, &["SALES_SLACK", "SALES_HOOK"])
}

fn check(root: &Path, extra: &[&str], env: &[(&str, String)]) -> Out {
    let mut args = vec!["check", "--project", p(root)];
    args.extend_from_slice(extra);
    tally_env(&args, env)
}

/// The notification endpoints of team sales (Slack and the generic webhook) at `port`.
fn endpoints(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SALES_SLACK", format!("http://127.0.0.1:{port}/slack")),
        ("SALES_HOOK", format!("http://127.0.0.1:{port}/hook")),
    ]
}

/// An HTTP listener answering every POST with `status`, recording (path, body).
fn http_server(status: u16) -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rec = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            rec.lock()
                .expect("lock")
                .push((path, String::from_utf8_lossy(&body).into_owned()));
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
        }
    });
    (port, seen)
}

/// An SMTP sink: accepts every message, records its DATA.
fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rec = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let _ = s.write_all(b"220 sink ESMTP\r\n");
            let mut data: Option<String> = None;
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if let Some(d) = data.as_mut() {
                    if line == ".\r\n" {
                        rec.lock()
                            .expect("lock")
                            .push(data.take().unwrap_or_default());
                        let _ = s.write_all(b"250 queued\r\n");
                    } else {
                        d.push_str(&line);
                    }
                    continue;
                }
                let cmd = line.to_ascii_uppercase();
                let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                    b"250 sink\r\n"
                } else if cmd.starts_with("DATA") {
                    data = Some(String::new());
                    b"354 go ahead\r\n"
                } else if cmd.starts_with("QUIT") {
                    let _ = s.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = s.write_all(reply);
            }
        }
    });
    (port, seen)
}

#[test]
fn statuses_and_alerts_at_as_of() {
    let (_d, root) = project(1);
    let out = check(&root, &["--format", "json"], &[]);
    assert_eq!(out.code, 1, "off_track fails by default\n{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let evals = v["evaluations"].as_array().expect("evaluations");
    let find = |team: Option<&str>| {
        evals
            .iter()
            .find(|e| e["slice"].get("order__team").and_then(|t| t.as_str()) == team)
            .unwrap_or_else(|| panic!("no evaluation for {team:?}: {evals:?}"))
    };
    // May (the period of as_of): 60 against 100 with bands 10%/25% -> off_track.
    let all = find(None);
    assert_eq!(all["period"], "2026-05");
    assert_eq!(all["value"], 60.0);
    assert_eq!(all["target_value"], 100.0);
    assert_eq!(all["status"], "off_track");
    assert_eq!(all["previous"]["value"], 70.0);
    // Team b has its own target 40: 32 is 20% short -> at_risk; team a's 28 is far from 60.
    assert_eq!(find(Some("b"))["target_value"], 40.0);
    assert_eq!(find(Some("b"))["status"], "at_risk");
    assert_eq!(find(Some("a"))["status"], "off_track");
    let alerts = v["alerts"].as_array().expect("alerts");
    let alert = |n: &str| alerts.iter().find(|a| a["alert"] == n).expect("alert");
    // Alerts look at the latest complete period (May; as_of names its last second): off track
    // in April and May -> firing.
    let off = alert("revenue_off_plan");
    assert_eq!(off["period"], "2026-05");
    assert_eq!(off["state"], "firing");
    assert_eq!(off["held_periods"], 2);
    assert_eq!(off["notify"][0]["name"], "sales");
    assert_eq!(off["notify"][0]["role"], "responsible");
    // May 60 vs April 70 is 14% worse: under the 30% threshold.
    assert_eq!(alert("revenue_drop")["state"], "ok");

    let never = check(&root, &["--fail-on", "never"], &[]);
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert_contains(
        &never.stdout,
        &[
            "Ana Lima (ana), accountable",
            "notifies sales: slack, webhook",
        ],
    );
    // An earlier evaluation time: February is on track (95 within 10% of 100).
    let feb = check(
        &root,
        &["--as-of", "2026-02-28 23:59:59", "--format", "json"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&feb.stdout).expect("json");
    assert_eq!(v["evaluations"][0]["status"], "on_track", "{v}");
    assert_eq!(feb.code, 0, "{}", feb.stderr);
}

#[test]
fn formats_and_sql() {
    let (_d, root) = project(1);
    for (args, needle) in [
        (
            &["--format", "markdown", "--fail-on", "never"][..],
            "| revenue |  | plan | 2026-05 | 60 | 100 | off_track |",
        ),
        (
            &["--format", "github"][..],
            "::error file=metrics/revenue.yml,line=8",
        ),
        (
            &["--format", "junit"][..],
            "<testcase name=\"alert revenue_off_plan\" classname=\"revenue\"",
        ),
    ] {
        assert_contains(&check(&root, args, &[]).stdout, &[needle]);
    }
    let sarif = check(&root, &["--format", "sarif"], &[]);
    let s: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("sarif");
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "E0316");
    // --sql: the target series is data joined to the compiled query, in the warehouse's dialect.
    let sql = check(&root, &["--sql", "--dialect", "snowflake"], &[]);
    assert_eq!(sql.code, 0, "{}", sql.stderr);
    assert_contains(
        &sql.stdout,
        &[
            "-- revenue per month by order__team",
            "CAST('b' AS VARCHAR) AS tally_t0, 40.0 AS tally_target",
            "CAST(NULL AS VARCHAR) AS tally_t0, 100.0 AS tally_target",
            "LEFT JOIN tally_targets ts",
        ],
    );
    let bad = check(&root, &["revenu"], &[]);
    assert_eq!(bad.code, 2);
    assert_contains(&bad.stderr, &["did you mean `revenue`?"]);
}

#[test]
fn one_message_per_episode_escalation_and_resolution_through_real_servers() {
    let (http_port, http) = http_server(200);
    let (smtp_port, mails) = smtp_sink();
    let (_d, root) = project(smtp_port);
    let state = root.join(".tally/check-state.json");
    let env = endpoints(http_port);
    // Dry run: payloads printed, nothing sent, no state written.
    let dry = check(&root, &["--notify", "dry-run"], &env);
    assert!(
        dry.stderr
            .contains("would send slack to sales ($SALES_SLACK)"),
        "{}",
        dry.stderr
    );
    assert!(http.lock().expect("lock").is_empty());
    assert!(!state.exists());

    // May 31: revenue_off_plan fires -> one Slack message and one webhook call to sales.
    let first = check(&root, &["--notify", "send"], &env);
    assert_eq!(first.code, 1, "{}", first.stderr);
    {
        let got = http.lock().expect("lock");
        assert_eq!(got.len(), 2, "{got:?}");
        let slack = got.iter().find(|(p, _)| p == "/slack").expect("slack");
        let body: serde_json::Value = serde_json::from_str(&slack.1).expect("json");
        assert!(
            body["text"]
                .as_str()
                .expect("text")
                .contains("revenue_off_plan on revenue is firing for 2026-05"),
            "{body}"
        );
        let hook = got.iter().find(|(p, _)| p == "/hook").expect("hook");
        let body: serde_json::Value = serde_json::from_str(&hook.1).expect("json");
        assert_eq!(body["kind"], "firing");
        assert_eq!(body["since"], "2026-04");
    }
    assert!(state.exists());
    // The same evaluation again: the episode is open, nothing is re-sent.
    let again = check(&root, &["--notify", "send"], &env);
    assert_eq!(again.code, 1);
    assert_eq!(
        http.lock().expect("lock").len(),
        2,
        "fired once per episode"
    );

    // June 30: June is off track too -> third period, escalation to the accountable (e-mail).
    let july = check(
        &root,
        &["--notify", "send", "--as-of", "2026-06-30 23:59:59"],
        &env,
    );
    assert!(
        july.stderr
            .contains("sent escalated revenue_off_plan to ana via email"),
        "{}",
        july.stderr
    );
    {
        let m = mails.lock().expect("lock");
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("To: ana@shop.test"), "{}", m[0]);
        assert!(
            m[0].contains("escalated revenue_off_plan on revenue"),
            "{}",
            m[0]
        );
    }
    // July 31: July is back on plan -> resolved, sent to the responsible team.
    let aug = check(
        &root,
        &["--notify", "send", "--as-of", "2026-07-31 23:59:59"],
        &env,
    );
    assert!(
        aug.stderr
            .contains("sent resolved revenue_off_plan to sales"),
        "{}",
        aug.stderr
    );
    let text = std::fs::read_to_string(&state).expect("state");
    let s: serde_json::Value = serde_json::from_str(&text).expect("state json");
    assert_eq!(
        s["episodes"].as_object().expect("episodes").len(),
        0,
        "{text}"
    );
}

#[test]
fn a_failed_send_is_reported_and_retried_on_the_next_run() {
    let (bad_port, bad) = http_server(500);
    let (_d, root) = project(1);
    let state = root.join(".tally/check-state.json");
    let env = endpoints(bad_port);
    let out = check(&root, &["--notify", "send", "--fail-on", "never"], &env);
    assert_eq!(out.code, 1, "a failed send fails the run\n{}", out.stderr);
    assert!(out.stderr.contains("HTTP 500"), "{}", out.stderr);
    // Three bounded attempts per endpoint, then given up for this run.
    assert_eq!(bad.lock().expect("lock").len(), 6);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    let ep = &s["episodes"]["revenue/revenue_off_plan/"];
    assert_eq!(ep["notified"], false, "{s}");
    // The next run (a working endpoint) delivers it.
    let (ok_port, ok) = http_server(200);
    let env = endpoints(ok_port);
    let out = check(&root, &["--notify", "send", "--fail-on", "never"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ok.lock().expect("lock").len(), 2);
}

#[test]
fn a_failed_send_is_inside_a_junit_or_sarif_document() {
    let (bad_port, _bad) = http_server(500);
    let env = endpoints(bad_port);
    for format in ["junit", "sarif"] {
        let (_d, root) = project(1);
        let out = check(
            &root,
            &["--notify", "send", "--fail-on", "never", "--format", format],
            &env,
        );
        assert_eq!(out.code, 1, "a failed send fails the run\n{}", out.stderr);
        assert!(
            !out.stderr.contains("not delivered"),
            "{format}: the failure is in the document, not on stderr:\n{}",
            out.stderr
        );
        assert!(
            out.stdout.contains("notification not delivered") && out.stdout.contains("HTTP 500"),
            "{format}:\n{}",
            out.stdout
        );
        if format == "junit" {
            // A failing case of its own.
            assert!(out.stdout.contains("type=\"E0313\""), "{}", out.stdout);
        } else {
            let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF");
            let results = doc["runs"][0]["results"].as_array().expect("results");
            assert!(
                results
                    .iter()
                    .any(|r| r["ruleId"] == "E0313" && r["level"] == "error"),
                "{doc}"
            );
        }
    }
}
