//! `tally docs serve`: the site served from memory on a loopback address, regenerated when the
//! project's files change. Pages served here carry a small script that reloads them after a
//! regeneration (the generated files themselves never do).

use crate::Site;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Builds the site (loads the project and generates it).
pub type Build = Arc<dyn Fn() -> Site + Send + Sync>;
/// Receives progress lines (the CLI prints them).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

struct Shared {
    version: u64,
    files: BTreeMap<String, Vec<u8>>,
}

type SharedState = Arc<RwLock<Shared>>;

fn to_map(site: Site) -> BTreeMap<String, Vec<u8>> {
    site.files.into_iter().map(|f| (f.path, f.bytes)).collect()
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The address it listens on (the port is the system's choice when the bind port was 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Block until the server stops (it stops only when asked, so: until the process ends).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stop serving and wait for the server thread.
    pub fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Build the site, bind `bind` (a loopback address only) and serve; every `poll` the project's
/// files under `watch` are checked, and a change regenerates the site.
pub fn start(
    bind: SocketAddr,
    watch: PathBuf,
    poll: Duration,
    build: Build,
    log: Log,
) -> std::io::Result<Server> {
    if !bind.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{bind} is not a loopback address; `tally docs serve` serves this machine only (use 127.0.0.1 or [::1])"),
        ));
    }
    let listener = std::net::TcpListener::bind(bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let state: SharedState = Arc::new(RwLock::new(Shared {
        version: 1,
        files: to_map(build()),
    }));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    log(&format!("error: cannot listen on {addr}: {e}"));
                    return;
                }
            };
            let watcher = tokio::spawn(watch_loop(state.clone(), watch, poll, build, log.clone()));
            let app = Router::new().fallback(handle).with_state(state);
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            watcher.abort();
            if let Err(e) = served {
                log(&format!("error: the server stopped: {e}"));
            }
        });
    });
    Ok(Server {
        addr,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

async fn watch_loop(state: SharedState, root: PathBuf, poll: Duration, build: Build, log: Log) {
    let mut last = fingerprint(&root);
    loop {
        tokio::time::sleep(poll).await;
        let root2 = root.clone();
        let now = tokio::task::spawn_blocking(move || fingerprint(&root2))
            .await
            .unwrap_or_default();
        if now == last {
            continue;
        }
        last = now;
        let b = build.clone();
        let Ok(site) = tokio::task::spawn_blocking(move || b()).await else {
            log("error: regenerating the site failed");
            continue;
        };
        let version = {
            let mut s = state.write().expect("site lock");
            s.files = to_map(site);
            s.version += 1;
            s.version
        };
        log(&format!(
            "project changed: site regenerated (version {version})"
        ));
    }
}

/// The project's files (YAML, SQL, CSV) with their modification times and sizes, sorted.
/// Hidden directories, `target` and `node_modules` are skipped.
pub fn fingerprint(root: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, Option<SystemTime>, u64)>) {
        if depth > 16 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    walk(&p, depth + 1, out);
                }
            } else if ft.is_file()
                && [".yml", ".yaml", ".sql", ".csv"]
                    .iter()
                    .any(|x| name.ends_with(x))
            {
                if let Ok(md) = e.metadata() {
                    out.push((p, md.modified().ok(), md.len()));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(root, 0, &mut out);
    out.sort();
    out
}

const RELOAD_JS: &str = r#"(function () {
  var seen = null;
  function check() {
    fetch('/__tally/version', {cache: 'no-store'}).then(function (r) { return r.text(); }).then(function (v) {
      if (seen === null) { seen = v; } else if (v !== seen) { location.reload(); }
    }).catch(function () {});
  }
  check();
  setInterval(check, 1000);
})();
"#;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

async fn handle(State(state): State<SharedState>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "__tally/version" {
        let v = state.read().expect("site lock").version;
        return ([(header::CACHE_CONTROL, "no-store")], v.to_string()).into_response();
    }
    if path == "__tally/reload.js" {
        return (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            RELOAD_JS,
        )
            .into_response();
    }
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let s = state.read().expect("site lock");
    let Some(bytes) = s.files.get(&path) else {
        return (StatusCode::NOT_FOUND, format!("no page {path} in the site")).into_response();
    };
    let ct = content_type(&path);
    let body = if path.ends_with(".html") {
        let html = String::from_utf8_lossy(bytes);
        match html.rfind("</body>") {
            Some(i) => format!(
                "{}<script src=\"/__tally/reload.js\"></script>{}",
                &html[..i],
                &html[i..]
            )
            .into_bytes(),
            None => bytes.clone(),
        }
    } else {
        bytes.clone()
    };
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
