//! `tally-bench serve`: a load test of `query_metrics` over MCP (streamable HTTP) on loopback.
//!
//! An in-process `tally serve` on the repository's project and generated Intercom data; `--clients`
//! threads each open an MCP session and call `query_metrics` with a rotation of queries until
//! `--requests` calls are made or `--seconds` pass (both bounded). Prints throughput, latency
//! percentiles, errors and resident memory before and after; fails when any call fails.

use crate::{ms, Options};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The queries the clients rotate through (dbt-mcp's parameter shapes).
fn queries() -> Vec<Value> {
    let month = json!({"name": "metric_time", "type": "time_dimension", "grain": "MONTH"});
    vec![
        json!({"metrics": ["csat"], "group_by": [month]}),
        json!({"metrics": ["conversation_volume", "resolution_rate"], "group_by": [month, {"name": "team__team_name", "type": "dimension"}]}),
        json!({"metrics": ["first_response_time_median"], "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "WEEK"}], "order_by": [{"name": "metric_time", "descending": true}], "limit": 10}),
        json!({"metrics": ["resolved_without_repeat_contact_rate"], "group_by": [month], "where": "{{ Dimension('conversation__channel') }} = 'email'"}),
    ]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Session {
    agent: ureq::Agent,
    url: String,
    session: String,
    next: u64,
}

fn rpc_result(body: &str, id: u64) -> Option<Value> {
    let msgs: Vec<Value> = match serde_json::from_str::<Value>(body) {
        Ok(v) => vec![v],
        Err(_) => body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect(),
    };
    msgs.into_iter()
        .find(|m| m["id"] == json!(id))
        .map(|m| m["result"].clone())
}

impl Session {
    fn open(addr: std::net::SocketAddr) -> Result<Session, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("http://{addr}/mcp");
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tally-bench", "version": "1"}}});
        let resp = agent
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .send(init.to_string())
            .map_err(|e| e.to_string())?;
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or("no MCP session id")?
            .to_string();
        let mut s = Session {
            agent,
            url,
            session,
            next: 1,
        };
        s.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(s)
    }

    fn post(&mut self, body: &Value) -> Result<String, String> {
        let mut resp = self
            .agent
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-06-18")
            .send(body.to_string())
            .map_err(|e| e.to_string())?;
        if resp.status().as_u16() >= 300 {
            return Err(format!("HTTP {}", resp.status()));
        }
        resp.body_mut().read_to_string().map_err(|e| e.to_string())
    }

    fn query(&mut self, args: &Value) -> Result<(), String> {
        let id = self.next;
        self.next += 1;
        let body = self.post(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "query_metrics", "arguments": args}}))?;
        let result = rpc_result(&body, id).ok_or("no response")?;
        if result["isError"] == json!(true) {
            return Err(result["content"][0]["text"]
                .as_str()
                .unwrap_or("error")
                .to_string());
        }
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let conversations = opts.conversations.first().copied().unwrap_or(20_000);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = match &opts.duckdb {
        Some(d) => d.clone(),
        None => {
            let path = tmp.path().join("support.duckdb");
            eprintln!(
                "generating {conversations} conversations into {}",
                path.display()
            );
            let conn = tally_duckdb::engine::open(Some(&path)).map_err(|e| e.to_string())?;
            let o = tally_sample::SampleOptions {
                conversations,
                seed: 42,
                schema: "intercom".into(),
                progress: false,
            };
            tally_sample::generate_intercom(&conn, &o).map_err(|e| e.to_string())?;
            path
        }
    };
    let clients = opts.clients.max(1);
    let settings = tally_serve::Settings {
        limits: tally_serve::exec::Limits {
            max_concurrent: clients,
            ..Default::default()
        },
        ..Default::default()
    };
    let project = tally_serve::project::ProjectOptions {
        root: opts.project.clone(),
        duckdb: Some(db),
        ..Default::default()
    };
    let (service, _) = tally_serve::Service::open(project, settings).map_err(|e| e.text())?;
    let service = Arc::new(service);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let service = service.clone();
        std::thread::spawn(move || {
            rt.block_on(tally_serve::http::serve(
                service,
                tally_serve::http::HttpOptions {
                    bind: Some("127.0.0.1:0".parse().expect("address")),
                    ..Default::default()
                },
                |a| {
                    let _ = tx.send(a);
                },
                async {
                    let _ = stopped.await;
                },
            ))
        })
    };
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the server did not start".to_string())?;

    // Warm up: each query once (the per-metric caches, DuckDB's first reads).
    let qs = Arc::new(queries());
    let mut warm = Session::open(addr)?;
    for q in qs.iter() {
        warm.query(q)?;
    }
    let rss_before = rss_kib();
    let total = opts.requests.max(1);
    let budget = Duration::from_secs(opts.seconds.max(1));
    let issued = Arc::new(AtomicUsize::new(0));
    // Resident memory when half the calls are made, to tell growth from a one-time fill of
    // DuckDB's caches.
    let rss_half = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let issued = issued.clone();
            let qs = qs.clone();
            let rss_half = rss_half.clone();
            std::thread::spawn(move || -> (Vec<Duration>, Vec<String>) {
                let mut lat = Vec::new();
                let mut errors = Vec::new();
                let mut s = match Session::open(addr) {
                    Ok(s) => s,
                    Err(e) => return (lat, vec![e]),
                };
                loop {
                    let n = issued.fetch_add(1, Ordering::SeqCst);
                    if n >= total || start.elapsed() > budget {
                        break;
                    }
                    if n == total / 2 {
                        rss_half.store(rss_kib() as usize, Ordering::SeqCst);
                    }
                    let q = &qs[(n + c) % qs.len()];
                    let t = Instant::now();
                    match s.query(q) {
                        Ok(()) => lat.push(t.elapsed()),
                        Err(e) => errors.push(e),
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let (l, e) = w
            .join()
            .map_err(|_| "a client thread panicked".to_string())?;
        lat.extend(l);
        errors.extend(e);
    }
    let wall = start.elapsed();
    let rss_after = rss_kib();
    let _ = stop.send(());
    let _ = server.join();
    lat.sort();
    println!("## query_metrics over MCP (streamable HTTP, loopback)\n");
    println!(
        "{conversations} conversations, {clients} clients, {} queries in rotation, {} calls in {:.2} s",
        qs.len(),
        lat.len() + errors.len(),
        wall.as_secs_f64()
    );
    println!();
    println!(
        "| throughput | p50 | p90 | p99 | max | errors | RSS after warm-up | at half | at end |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {:.1} calls/s | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} MiB | {} MiB | {} MiB |",
        lat.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.90)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default()),
        errors.len(),
        rss_before / 1024,
        rss_half.load(Ordering::SeqCst) / 1024,
        rss_after / 1024
    );
    if let Some(e) = errors.first() {
        return Err(format!("{} calls failed; the first: {e}", errors.len()));
    }
    Ok(())
}
