//! The client-side search index: one record per metric, semantic model, saved query, person and
//! team, split into script files of [`CHUNK`] records (`assets/search/index-N.js`, each calling
//! `tallySearchChunk([...])`). Scripts rather than JSON because browsers refuse `fetch` on
//! `file://`; split so that a 10,000-metric catalog loads its index in pieces, and only when the
//! search box is first used. MiniSearch builds the index in the browser.

use crate::catalog::{self, Catalog};
use crate::paths;
use crate::SiteFile;
use serde_json::{json, Value};

/// Records per index file.
pub(crate) const CHUNK: usize = 2000;

fn records(cat: &Catalog) -> Vec<Value> {
    let model = cat.model;
    let mut out = Vec::new();
    for m in model.metrics.values() {
        let owners: Vec<String> = catalog::roles(m)
            .into_iter()
            .map(|(_, o)| {
                let d = cat.owner_display(o);
                if d == o {
                    d
                } else {
                    format!("{d} {o}")
                }
            })
            .collect();
        out.push(json!({
            "kind": "metric",
            "name": m.name,
            "label": m.label.clone().unwrap_or_default(),
            "description": m.description.clone().unwrap_or_default(),
            "owners": owners.join(" "),
            "tags": m.tags.join(" "),
            "url": paths::metric(&m.name),
        }));
    }
    for sm in &model.semantic_models {
        out.push(json!({
            "kind": "semantic model",
            "name": sm.name,
            "label": sm.label.clone().unwrap_or_default(),
            "description": sm.description.clone().unwrap_or_default(),
            "owners": "",
            "tags": "",
            "url": paths::semantic_model(&sm.name),
        }));
    }
    for sq in model.saved_queries.values() {
        out.push(json!({
            "kind": "saved query",
            "name": sq.name,
            "label": "",
            "description": sq.description.clone().unwrap_or_default(),
            "owners": "",
            "tags": "",
            "url": paths::saved_query(&sq.name),
        }));
    }
    for p in model.people.values() {
        out.push(json!({
            "kind": "person",
            "name": p.name,
            "label": p.full_name.clone().unwrap_or_default(),
            "description": p.title.clone().unwrap_or_default(),
            "owners": p.email.clone().unwrap_or_default(),
            "tags": p.teams.join(" "),
            "url": paths::person(&p.name),
        }));
    }
    for t in model.teams.values() {
        out.push(json!({
            "kind": "team",
            "name": t.name,
            "label": "",
            "description": t.description.clone().unwrap_or_default(),
            "owners": t.members.join(" "),
            "tags": "",
            "url": paths::team(&t.name),
        }));
    }
    for (i, r) in out.iter_mut().enumerate() {
        r["id"] = json!(i);
    }
    out
}

/// The index files.
pub(crate) fn index_files(cat: &Catalog) -> Vec<SiteFile> {
    records(cat)
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let body = serde_json::to_string(chunk).expect("records serialise");
            SiteFile {
                path: format!("assets/search/index-{i}.js"),
                bytes: format!("tallySearchChunk({body});\n").into_bytes(),
            }
        })
        .collect()
}
