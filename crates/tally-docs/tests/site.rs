//! The docs site built from real projects: every page there, every internal link and anchor
//! resolving, user text escaped, deterministic output, the output directory rules, and the
//! server's regeneration. The browser checks are in `browser.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tally_core::load::LoadOptions;
use tally_core::model::{Metric, Model};
use tally_docs::{MetricSection, Site, SiteOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn site_of(dir: &Path) -> (Model, Site) {
    let (model, diags) =
        tally_core::pipeline::load_model(dir, &LoadOptions::default(), &tally_templates::builtin());
    let site = tally_docs::generate(&model, &diags, &SiteOptions::for_model(&model));
    (model, site)
}

fn text<'a>(site: &'a Site, path: &str) -> &'a str {
    let f = site
        .file(path)
        .unwrap_or_else(|| panic!("the site has no {path}"));
    std::str::from_utf8(&f.bytes).expect("utf-8")
}

const TALLY_YML: &str = "name: shop
people:
  - {name: ann, full_name: Ann \"Lee\" <ann>, email: ann@example.com, title: Head of Finance}
  - {name: bob, full_name: Bob Ray}
teams:
  - {name: finance, description: Money <b>matters</b>, members: [ann]}
";

const MODELS: &str = "semantic_models:
  - name: orders
    description: One row per order.
    node_relation: {schema_name: shop, alias: orders}
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: id}, {name: customer, type: foreign, expr: customer_id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: is_paid, type: categorical}
    measures:
      - {name: order_count, agg: sum, expr: '1'}
      - {name: revenue_total, agg: sum, expr: amount}
  - name: customers
    node_relation: {schema_name: shop, alias: customers}
    entities: [{name: customer, type: primary, expr: id}]
    dimensions:
      - {name: region, type: categorical}
";

fn metrics_yml(revenue_description: &str) -> String {
    format!(
        "metrics:
  - name: orders
    label: Orders
    description: Every order placed.
    type: simple
    type_params: {{measure: order_count}}
    owners: {{accountable: bob}}
  - name: revenue
    label: Revenue <i>net</i>
    description: '{revenue_description}'
    type: simple
    type_params: {{measure: revenue_total}}
    filter: \"{{{{ Dimension('order__is_paid') }}}}\"
    owners: {{accountable: ann, informed: [bob]}}
  - name: average_order_value
    type: ratio
    description: Revenue per order, of paid orders.
    type_params: {{numerator: revenue, denominator: orders}}
    drivers: [orders]
    owners: {{accountable: ann, consulted: [finance]}}
saved_queries:
  - name: revenue_by_month
    description: Monthly revenue.
    query_params: {{metrics: [revenue], group_by: [\"TimeDimension('metric_time', 'month')\"]}}
"
    )
}

fn write_project(dir: &Path, revenue_description: &str) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(dir.join("metrics")).unwrap();
    std::fs::write(dir.join("tally.yml"), TALLY_YML).unwrap();
    std::fs::write(dir.join("models/orders.yml"), MODELS).unwrap();
    std::fs::write(
        dir.join("metrics/metrics.yml"),
        metrics_yml(revenue_description),
    )
    .unwrap();
}

/// Every `href="..."` and `src="..."` value of an HTML text.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').expect("closed attribute");
            out.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

/// Resolve `link` from `page` to (site path, anchor).
fn resolve(page: &str, link: &str) -> (String, Option<String>) {
    let (path, anchor) = match link.split_once('#') {
        Some((p, a)) => (p, Some(a.to_string())),
        None => (link, None),
    };
    if path.is_empty() {
        return (page.to_string(), anchor);
    }
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop();
    for c in path.split('/') {
        match c {
            ".." => {
                parts.pop();
            }
            "." => {}
            c => parts.push(c),
        }
    }
    (parts.join("/"), anchor)
}

/// Check that every internal link of every page resolves to a file of the site, and every
/// anchor to an id on the target page. Returns how many links were checked.
fn check_links(site: &Site) -> usize {
    let files: BTreeMap<&str, &[u8]> = site
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.bytes.as_slice()))
        .collect();
    let mut checked = 0;
    let mut broken = Vec::new();
    for f in site.files.iter().filter(|f| f.path.ends_with(".html")) {
        let html = std::str::from_utf8(&f.bytes).unwrap();
        for l in links(html) {
            if l.starts_with("mailto:") || l.starts_with("http://") || l.starts_with("https://") {
                continue;
            }
            let (target, anchor) = resolve(&f.path, &l);
            checked += 1;
            match files.get(target.as_str()) {
                None => broken.push(format!("{}: {l} -> {target}", f.path)),
                Some(bytes) => {
                    if let Some(a) = anchor {
                        let t = std::str::from_utf8(bytes).unwrap();
                        if !t.contains(&format!("id=\"{a}\"")) {
                            broken.push(format!("{}: {l}: no id {a} in {target}", f.path));
                        }
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    checked
}

#[test]
fn the_repository_project_answers_who_owns_csat_how_it_is_computed_and_what_drives_it() {
    let (model, site) = site_of(&repo());
    for m in model.metrics.keys() {
        assert!(site.file(&tally_docs::paths::metric(m)).is_some(), "{m}");
    }
    for sm in &model.semantic_models {
        assert!(site
            .file(&tally_docs::paths::semantic_model(&sm.name))
            .is_some());
    }
    for p in model.people.keys() {
        assert!(site.file(&tally_docs::paths::person(p)).is_some());
    }
    for t in model.teams.keys() {
        assert!(site.file(&tally_docs::paths::team(t)).is_some());
    }
    let csat = text(&site, "metrics/csat.html");
    // Who owns it: the accountable owner with name, title and e-mail.
    let owners = &csat[csat.find("id=\"owners\"").unwrap()..csat.find("id=\"lineage\"").unwrap()];
    assert!(owners.contains("accountable"));
    assert!(owners.contains("Aisha Khan"));
    assert!(owners.contains("mailto:aisha.khan@acme.io"));
    assert!(owners.contains("Support Quality Lead"));
    // How it is computed: numerator / denominator, linked.
    assert!(csat.contains("<a href=\"../metrics/positive_ratings.html\">positive_ratings</a> / <a href=\"../metrics/rated_conversations.html\">rated_conversations</a>"), "formula");
    // What drives it: its drivers, linked, and the lineage picture.
    for d in [
        "first_response_time_median",
        "resolution_time_median",
        "reopen_rate",
    ] {
        assert!(
            csat.contains(&format!("href=\"../metrics/{d}.html\"")),
            "{d}"
        );
    }
    assert!(csat.contains("<svg class=\"picture\""));
    assert!(csat.contains("Lineage of CSAT"));
    // The SQL in every dialect, and the tests that cover it.
    for d in tally_core::dialect::Dialect::names() {
        assert!(csat.contains(&format!("id=\"sql-{d}\"")), "{d}");
    }
    assert!(csat.contains("tally query --metrics csat --group-by metric_time__month"));
    assert!(
        !csat.contains("No metric test queries this metric"),
        "csat has tests"
    );
    // The home page draws the metric tree and links every metric in it.
    let home = text(&site, "index.html");
    assert!(home.contains("<svg class=\"picture\""));
    assert!(home.contains("href=\"metrics/csat.html\""));
    // The search index covers descriptions and owners.
    let index = text(&site, "assets/search/index-0.js");
    assert!(index.starts_with("tallySearchChunk(["));
    assert!(index.contains("Aisha Khan"));
    assert!(index.contains("share of rated inbound conversations"));
    let checked = check_links(&site);
    assert!(checked > 1000, "only {checked} links");
}

#[test]
fn user_text_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        "Paid revenue <script>alert(\"x\")</script> & more",
    );
    let (model, site) = site_of(dir.path());
    assert!(model.metrics.contains_key("revenue"));
    for f in &site.files {
        if f.path.ends_with(".html") {
            let html = std::str::from_utf8(&f.bytes).unwrap();
            assert!(!html.contains("<script>alert"), "{}", f.path);
            assert!(!html.contains("<i>net</i>"), "{}", f.path);
            assert!(!html.contains("<b>matters"), "{}", f.path);
            assert!(!html.contains("<ann>"), "{}", f.path);
        }
    }
    let page = text(&site, "metrics/revenue.html");
    assert!(
        page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;")
            || page.contains("&lt;script&gt;alert")
    );
    assert!(
        page.contains("Revenue &lt;i&gt;net&lt;&#x2f;i&gt;")
            || page.contains("Revenue &lt;i&gt;net")
    );
    // In the search index the text is JSON data that the page inserts as text, never as HTML.
    let index = text(&site, "assets/search/index-0.js");
    assert!(index.contains("<script>alert(\\\"x\\\")</script>"));
    let js = text(&site, "assets/site.js");
    assert!(!js.contains("innerHTML"));
    check_links(&site);
}

#[test]
fn a_small_project_has_owners_pages_models_and_saved_queries() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), "Paid orders only.");
    let (_, site) = site_of(dir.path());
    let ann = text(&site, "people/ann.html");
    assert!(ann.contains("Accountable for"));
    assert!(ann.contains("href=\"../metrics/revenue.html\""));
    assert!(ann.contains("href=\"../metrics/average_order_value.html\""));
    assert!(
        ann.contains("Through the team"),
        "ann's team finance is consulted"
    );
    let bob = text(&site, "people/bob.html");
    let informed = &bob[bob.find("Informed for").unwrap()..];
    assert!(informed.contains("href=\"../metrics/revenue.html\""));
    let finance = text(&site, "teams/finance.html");
    assert!(finance.contains("Consulted for"));
    assert!(finance.contains("href=\"../people/ann.html\""));
    let orders = text(&site, "models/orders.html");
    assert!(orders.contains("id=\"measure-revenue_total\""));
    assert!(
        orders.contains("href=\"../models/customers.html\""),
        "joins to customers"
    );
    let customers = text(&site, "models/customers.html");
    assert!(customers.contains("Joined from"));
    assert!(customers.contains("href=\"../models/orders.html\""));
    let sq = text(&site, "saved-queries/revenue_by_month.html");
    assert!(sq.contains("tally query --saved-query revenue_by_month"));
    assert!(sq.contains("SELECT"));
    let diags = text(&site, "diagnostics.html");
    assert!(diags.contains("None: <code>tally validate</code> finds no problem"));
    let aov = text(&site, "metrics/average_order_value.html");
    assert!(aov.contains("Driven by"));
    assert!(aov.contains("href=\"../metrics/orders.html\">Orders</a>"));
    check_links(&site);
}

#[test]
fn diagnostics_are_listed_and_the_rest_still_documented() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), "Paid orders.");
    let broken = metrics_yml("x").replace("drivers: [orders]", "drivers: [orderz]");
    std::fs::write(dir.path().join("metrics/metrics.yml"), broken).unwrap();
    let (_, site) = site_of(dir.path());
    let diags = text(&site, "diagnostics.html");
    assert!(diags.contains("E0304"), "{diags}");
    assert!(diags.contains("metrics/metrics.yml:"));
    assert!(text(&site, "index.html").contains("class=\"badge badge-error\""));
    assert!(site.file("metrics/orders.html").is_some());
    check_links(&site);
}

#[test]
fn generation_is_deterministic() {
    let (_, a) = site_of(&repo());
    let (_, b) = site_of(&repo());
    assert_eq!(a.files.len(), b.files.len());
    for (x, y) in a.files.iter().zip(&b.files) {
        assert_eq!(x.path, y.path);
        assert!(
            x.bytes == y.bytes,
            "{} differs between two generations",
            x.path
        );
    }
}

struct Targets;

impl MetricSection for Targets {
    fn title(&self) -> &str {
        "Targets"
    }
    fn rows(&self, _model: &Model, metric: &Metric) -> Option<Vec<(String, String)>> {
        (metric.name == "revenue").then(|| vec![("2026".to_string(), "at least <1M>".to_string())])
    }
}

#[test]
fn extra_sections_are_an_extension_point() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), "Paid.");
    let (model, diags) = tally_core::pipeline::load_model(
        dir.path(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let mut opts = SiteOptions::for_model(&model);
    opts.sections.push(Box::new(Targets));
    let site = tally_docs::generate(&model, &diags, &opts);
    let revenue = text(&site, "metrics/revenue.html");
    assert!(revenue.contains(">Targets</h2>"));
    assert!(revenue.contains("at least &lt;1M&gt;"));
    assert!(!text(&site, "metrics/orders.html").contains(">Targets</h2>"));
}

#[test]
fn output_directory_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    write_project(&project, "Paid.");
    let (_, site) = site_of(&project);

    // A non-empty directory tally did not generate is refused, and left alone.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let err = tally_docs::output::write_site(&site, &foreign).unwrap_err();
    assert!(
        err.to_string().contains("not generated by `tally docs`"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    // A file where the directory should be is refused.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(tally_docs::output::write_site(&site, &file).is_err());

    // A new directory is created and filled; the marker lists the files.
    let out = tmp.path().join("out/site");
    let first = tally_docs::output::write_site(&site, &out).unwrap();
    assert_eq!(first.written, site.files.len() - 1);
    assert!(out.join("index.html").is_file());
    assert!(out.join("metrics/revenue.html").is_file());
    let marker = std::fs::read_to_string(out.join(tally_docs::MARKER)).unwrap();
    assert!(marker.lines().any(|l| l == "metrics/revenue.html"));

    // Regenerating replaces tally's files: a removed metric's page goes, a user's file stays.
    std::fs::write(out.join("metrics/keep.txt"), "user file").unwrap();
    let fewer = metrics_yml("Paid.").replace(
        "  - name: average_order_value\n    type: ratio\n    description: Revenue per order, of paid orders.\n    type_params: {numerator: revenue, denominator: orders}\n    drivers: [orders]\n    owners: {accountable: ann, consulted: [finance]}\n",
        "",
    );
    std::fs::write(project.join("metrics/metrics.yml"), fewer).unwrap();
    let (_, site2) = site_of(&project);
    assert!(site2.file("metrics/average_order_value.html").is_none());
    let second = tally_docs::output::write_site(&site2, &out).unwrap();
    assert_eq!(second.removed, first.written);
    assert!(!out.join("metrics/average_order_value.html").exists());
    assert!(out.join("metrics/revenue.html").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("metrics/keep.txt")).unwrap(),
        "user file"
    );

    // A marker that lists paths outside the directory removes nothing outside it.
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::fs::write(
        out.join(tally_docs::MARKER),
        "../victim.txt\n/etc/hostname\nmetrics/../../victim.txt\n",
    )
    .unwrap();
    tally_docs::output::write_site(&site2, &out).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[cfg(unix)]
#[test]
fn output_never_writes_through_a_symbolic_link() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    write_project(&project, "Paid.");
    let (_, site) = site_of(&project);
    let out = tmp.path().join("out");
    tally_docs::output::write_site(&site, &out).unwrap();
    // Replace the metrics directory with a link to somewhere else.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(out.join("metrics")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("metrics")).unwrap();
    assert!(tally_docs::output::write_site(&site, &out).is_err());
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// A GET over plain HTTP/1.1 on loopback; returns (status line, body).
fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.lines().next().unwrap_or("").to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_regenerates_when_the_project_changes() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().to_path_buf();
    write_project(&project, "First description.");
    let p2 = project.clone();
    let build: tally_docs::serve::Build = Arc::new(move || site_of(&p2).1);
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    let log: tally_docs::serve::Log =
        Arc::new(move |l: &str| l2.lock().unwrap().push(l.to_string()));

    let refused = tally_docs::serve::start(
        "0.0.0.0:0".parse().unwrap(),
        project.clone(),
        Duration::from_millis(100),
        build.clone(),
        log.clone(),
    );
    assert!(refused.is_err(), "only loopback addresses");

    let server = tally_docs::serve::start(
        "127.0.0.1:0".parse().unwrap(),
        project.clone(),
        Duration::from_millis(100),
        build,
        log,
    )
    .expect("serve");
    let addr = server.addr();
    let (status, home) = get(addr, "/");
    assert!(status.contains("200"), "{status}");
    assert!(home.contains("/__tally/reload.js"));
    let (_, v1) = get(addr, "/__tally/version");
    let (status, page) = get(addr, "/metrics/revenue.html");
    assert!(status.contains("200"));
    assert!(page.contains("First description."));
    let (status, _) = get(addr, "/metrics/nope.html");
    assert!(status.contains("404"), "{status}");
    let (status, _) = get(addr, "/../../etc/passwd");
    assert!(status.contains("404"), "{status}");

    // Change a description (a different length, so the change shows whatever the clock's
    // resolution), and wait for the regeneration.
    std::thread::sleep(Duration::from_millis(50));
    write_project(&project, "Second, longer description of revenue.");
    let start = Instant::now();
    let mut v2 = v1.clone();
    while v2 == v1 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
        v2 = get(addr, "/__tally/version").1;
    }
    assert_ne!(v1, v2, "the site was not regenerated");
    let (_, page) = get(addr, "/metrics/revenue.html");
    assert!(page.contains("Second, longer description of revenue."));
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("regenerated")));
    server.stop();
}

#[test]
fn site_paths_are_safe_and_unique() {
    let (_, site) = site_of(&repo());
    let mut seen = BTreeSet::new();
    for f in &site.files {
        assert!(tally_docs::paths::is_safe(&f.path), "{}", f.path);
        assert!(seen.insert(f.path.to_lowercase()), "{} twice", f.path);
    }
    assert!(site.file(tally_docs::MARKER).is_some());
    assert!(site.file("assets/minisearch.min.js").is_some());
    assert!(site.file("assets/minisearch.LICENSE.txt").is_some());
}
