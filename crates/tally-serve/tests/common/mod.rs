//! Helpers for the server tests: the repository's project on a small generated Intercom dataset,
//! an in-process server on a free loopback port, and an HTTP client.
#![allow(dead_code)] // Each test file uses its own subset.

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tally_serve::http::HttpOptions;
use tally_serve::project::ProjectOptions;
use tally_serve::{Service, Settings};

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A small Intercom sample database (1,000 conversations), made once per test binary in a
/// temporary directory.
pub(crate) fn sample_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("support.duckdb");
        let conn = tally_duckdb::engine::open(Some(&path)).expect("create database");
        let opts = tally_sample::SampleOptions {
            conversations: 1000,
            seed: 42,
            schema: "intercom".into(),
            progress: false,
        };
        tally_sample::generate_intercom(&conn, &opts).expect("sample data");
        drop(conn);
        (dir, path)
    });
    path
}

pub(crate) fn service(root: &Path, duckdb: Option<&Path>, settings: Settings) -> Arc<Service> {
    let opts = ProjectOptions {
        root: root.to_path_buf(),
        duckdb: duckdb.map(Path::to_path_buf),
        ..ProjectOptions::default()
    };
    Arc::new(Service::open(opts, settings).expect("service").0)
}

/// A server running on its own thread until dropped.
pub(crate) struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) fn start(service: Arc<Service>, opts: HttpOptions) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let opts = HttpOptions {
        bind: Some(opts.bind.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())),
        ..opts
    };
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let r = tally_serve::http::serve(
                service,
                opts,
                |a| {
                    let _ = tx.send(a);
                },
                async {
                    let _ = stopped.await;
                },
            )
            .await;
            if let Err(e) = r {
                panic!("server failed: {e}");
            }
        });
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("server bound");
    Server {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// One request; `body` `None` sends a GET.
pub(crate) fn request(
    addr: SocketAddr,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let url = format!("http://{addr}{path}");
    let agent = agent();
    let result = match body {
        None => {
            let mut r = agent.get(&url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        Some(b) => {
            let mut r = agent.post(&url).header("content-type", "application/json");
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(b)
        }
    };
    let mut resp = result.unwrap_or_else(|e| panic!("request {path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn post(addr: SocketAddr, path: &str, body: &Value) -> Reply {
    request(addr, path, Some(&body.to_string()), &[])
}

/// The JSON-RPC messages in an MCP HTTP response: a JSON body or an event stream.
pub(crate) fn rpc_messages(reply: &Reply) -> Vec<Value> {
    if reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return vec![reply.json()];
    }
    reply
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

/// A minimal MCP client over streamable HTTP: initialize, then requests on the session.
pub(crate) struct McpHttp {
    pub addr: SocketAddr,
    pub session: Option<String>,
    next: u64,
    pub headers: Vec<(String, String)>,
}

impl McpHttp {
    pub(crate) fn connect(addr: SocketAddr, headers: &[(&str, &str)]) -> McpHttp {
        let mut c = McpHttp {
            addr,
            session: None,
            next: 1,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let (reply, msgs) = c.send(
            "initialize",
            serde_json::json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "tally-tests", "version": "1"}
            }),
        );
        assert_eq!(reply.status, 200, "initialize: {}", reply.body);
        assert!(
            msgs[0]["result"]["serverInfo"]["name"] == "tally",
            "{msgs:?}"
        );
        c.session = reply.header("mcp-session-id").map(String::from);
        c.notify("notifications/initialized");
        c
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = self.headers.clone();
        h.push((
            "accept".into(),
            "application/json, text/event-stream".into(),
        ));
        h.push(("mcp-protocol-version".into(), "2025-06-18".into()));
        if let Some(s) = &self.session {
            h.push(("mcp-session-id".into(), s.clone()));
        }
        h
    }

    pub(crate) fn raw(&self, body: &Value) -> Reply {
        let h = self.headers();
        let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        request(self.addr, "/mcp", Some(&body.to_string()), &refs)
    }

    pub(crate) fn send(&mut self, method: &str, params: Value) -> (Reply, Vec<Value>) {
        let id = self.next;
        self.next += 1;
        let reply = self.raw(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        let msgs: Vec<Value> = rpc_messages(&reply)
            .into_iter()
            .filter(|m| m["id"] == serde_json::json!(id))
            .collect();
        (reply, msgs)
    }

    pub(crate) fn notify(&self, method: &str) {
        let r = self.raw(&serde_json::json!({"jsonrpc": "2.0", "method": method}));
        assert!(r.status < 300, "{method}: {} {}", r.status, r.body);
    }

    /// `tools/call`, returning the call's result object.
    pub(crate) fn call(&mut self, tool: &str, args: Value) -> Value {
        let (reply, msgs) = self.send(
            "tools/call",
            serde_json::json!({"name": tool, "arguments": args}),
        );
        assert_eq!(reply.status, 200, "{tool}: {}", reply.body);
        msgs.first()
            .map(|m| m["result"].clone())
            .unwrap_or_else(|| panic!("{tool}: no response in {}", reply.body))
    }
}
