//! Text, JSON and Mermaid renderings of an evaluated metric tree.

use super::{DisplayNode, EdgeKind, NodeFacts};
use indexmap::IndexMap;
use serde::Serialize;

/// What a rendering shows besides the tree: the periods compared.
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    pub grain: String,
    /// The current period's start (`2026-05-01`).
    pub period: String,
    /// The comparison period's start, or `target`.
    pub compare: String,
    pub compare_period: Option<String>,
}

/// The JSON document of `tally tree --format json` (documented in the README).
#[derive(Clone, Debug, Serialize)]
pub struct Report<'a> {
    pub schema: &'static str,
    #[serde(flatten)]
    pub header: &'a Header,
    pub roots: &'a [DisplayNode],
    pub metrics: &'a IndexMap<String, NodeFacts>,
}

pub const JSON_SCHEMA_ID: &str = "tally.tree/v1";

pub fn to_json(
    header: &Header,
    roots: &[DisplayNode],
    facts: &IndexMap<String, NodeFacts>,
) -> serde_json::Value {
    serde_json::to_value(Report {
        schema: JSON_SCHEMA_ID,
        header,
        roots,
        metrics: facts,
    })
    .unwrap_or(serde_json::Value::Null)
}

/// A number for people: counts without decimals, rates with three significant decimals.
pub fn num(v: f64) -> String {
    // Rounding noise around zero (a held input's contribution) is zero.
    let v = if v.abs() < 5e-13 { 0.0 } else { v };
    let a = v.abs();
    let s = if a >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    };
    if s.starts_with("-0.000") && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

pub fn signed(v: f64) -> String {
    let s = num(v);
    match s.strip_prefix('-') {
        Some(abs) => format!("−{abs}"),
        None => format!("+{s}"),
    }
}

pub fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "–".into())
}

pub fn pct(v: Option<f64>) -> String {
    v.map(|p| {
        let s = format!("{:.1}%", p * 100.0);
        match s.strip_prefix('-') {
            Some(abs) => format!("−{abs}"),
            None => format!("+{s}"),
        }
    })
    .unwrap_or_default()
}

impl Header {
    /// Whether the tree compares with the targets (`--compare target`): a change is a gap.
    pub fn vs_target(&self) -> bool {
        self.compare == "target"
    }
}

/// The one-line summary of a metric: value, change (or gap to target), target and status.
pub fn summary(f: &NodeFacts, vs_target: bool) -> String {
    let mut s = opt(f.values.current);
    if !vs_target {
        s.push_str(&format!(" (was {})", opt(f.values.base)));
        if let Some(c) = f.change {
            s.push_str(&format!("  Δ {}", signed(c)));
            if let Some(p) = f.change_pct {
                s.push_str(&format!(" ({})", pct(Some(p))));
            }
        }
    }
    if let Some(t) = f.standing.target {
        s.push_str(&format!("  target {}", num(t)));
    }
    if let Some(g) = f.standing.gap {
        s.push_str(&format!("  gap {}", signed(g)));
        if let Some(p) = f.standing.gap_pct {
            s.push_str(&format!(" ({})", pct(Some(p))));
        }
    }
    if let Some(st) = &f.standing.status {
        s.push_str(&format!("  [{st}]"));
    }
    if let Some(r) = f
        .rolled_up_status
        .as_ref()
        .filter(|r| Some(*r) != f.standing.status.as_ref())
    {
        s.push_str(&format!("  (below: {r})"));
    }
    s
}

/// The indented tree a support lead reads top-down.
pub fn to_text(
    header: &Header,
    roots: &[DisplayNode],
    facts: &IndexMap<String, NodeFacts>,
) -> String {
    let mut out = format!(
        "{} {} vs {}\n",
        header.grain,
        header.period,
        header.compare_period.as_deref().unwrap_or(&header.compare)
    );
    let t = Text {
        facts,
        vs_target: header.vs_target(),
    };
    for r in roots {
        out.push('\n');
        t.line(&mut out, r, "", "");
        t.notes(&mut out, &r.metric, "│  ");
        let kids = &r.children;
        for (i, c) in kids.iter().enumerate() {
            t.node(&mut out, c, "", i + 1 == kids.len());
        }
    }
    out.push_str(if t.vs_target {
        "\n= formula input (its contribution adds up to the parent's gap to target)   ~ driver (co-movement, not causation)\n"
    } else {
        "\n= formula input (its contribution adds up to the parent's change)   ~ driver (co-movement, not causation)\n"
    });
    out
}

struct Text<'a> {
    facts: &'a IndexMap<String, NodeFacts>,
    vs_target: bool,
}

impl Text<'_> {
    fn line(&self, out: &mut String, n: &DisplayNode, prefix: &str, branch: &str) {
        let f = self.facts.get(&n.metric);
        let mark = match n.edge {
            Some(EdgeKind::Formula) => format!("= {} ", n.role.as_deref().unwrap_or("")),
            Some(EdgeKind::Influence) => "~ ".to_string(),
            None => String::new(),
        };
        let owner = f
            .and_then(|f| f.accountable.as_deref())
            .map(|a| format!("  @{a}"))
            .unwrap_or_default();
        let mut s = format!("{prefix}{branch}{mark}{}", n.metric);
        if n.repeat {
            s.push_str("  (shown above)");
        } else if let Some(f) = f {
            s.push_str(&format!("  {}", summary(f, self.vs_target)));
        }
        if let Some(c) = n.contribution {
            s.push_str(&format!("  → contributes {}", signed(c)));
        }
        s.push_str(&owner);
        out.push_str(s.trim_end());
        out.push('\n');
    }

    fn node(&self, out: &mut String, n: &DisplayNode, prefix: &str, last: bool) {
        self.line(out, n, prefix, if last { "└─ " } else { "├─ " });
        let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
        if !n.repeat {
            let bar = if n.children.is_empty() {
                "   "
            } else {
                "│  "
            };
            self.notes(out, &n.metric, &format!("{inner}{bar}"));
        }
        for (i, c) in n.children.iter().enumerate() {
            self.node(out, c, &inner, i + 1 == n.children.len());
        }
    }

    fn notes(&self, out: &mut String, metric: &str, indent: &str) {
        let Some(a) = self.facts.get(metric).and_then(|f| f.attribution.as_ref()) else {
            return;
        };
        if let Some(u) = a.unexplained.filter(|u| u.abs() > 1e-9) {
            out.push_str(&format!(
                "{indent}unexplained by the inputs' targets: {}\n",
                signed(u)
            ));
        }
        if let Some(note) = &a.note {
            out.push_str(&format!(
                "{indent}({}) {note}\n",
                a.method.name().replace('_', "-")
            ));
        }
    }
}

fn mermaid_id(i: usize) -> String {
    format!("n{i}")
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// Mermaid flowchart: formula edges solid with the contribution, drivers dotted; status classes.
pub fn to_mermaid(
    header: &Header,
    roots: &[DisplayNode],
    facts: &IndexMap<String, NodeFacts>,
) -> String {
    let vs_target = header.vs_target();
    let mut out = String::from("flowchart TD\n");
    let mut next = 0usize;
    let mut classes: Vec<(String, &'static str)> = Vec::new();
    for r in roots {
        mermaid_node(&mut out, r, facts, vs_target, &mut next, &mut classes);
    }
    out.push_str("  classDef on_track fill:#dcfce7,stroke:#15803d\n");
    out.push_str("  classDef at_risk fill:#fef3c7,stroke:#b45309\n");
    out.push_str("  classDef off_track fill:#fee2e2,stroke:#b91c1c\n");
    out.push_str("  classDef repeat stroke-dasharray:4 3,fill:#f8fafc\n");
    for (id, class) in classes {
        out.push_str(&format!("  class {id} {class}\n"));
    }
    out
}

fn mermaid_node(
    out: &mut String,
    n: &DisplayNode,
    facts: &IndexMap<String, NodeFacts>,
    vs_target: bool,
    next: &mut usize,
    classes: &mut Vec<(String, &'static str)>,
) -> String {
    let id = mermaid_id(*next);
    *next += 1;
    let f = facts.get(&n.metric);
    let mut label = n.metric.clone();
    if let Some(f) = f.filter(|_| !n.repeat) {
        label.push_str(&format!("<br/>{}", opt(f.values.current)));
        match (vs_target, f.change) {
            (false, Some(c)) => label.push_str(&format!(" Δ {}", signed(c))),
            (true, Some(c)) => label.push_str(&format!(" gap {}", signed(c))),
            _ => {}
        }
        if let (Some(t), Some(st)) = (f.standing.target, &f.standing.status) {
            label.push_str(&format!(
                "<br/>target {} · {}",
                num(t),
                st.replace('_', " ")
            ));
        } else if let Some(st) = &f.standing.status {
            label.push_str(&format!("<br/>{}", st.replace('_', " ")));
        }
        if let Some(a) = &f.accountable {
            label.push_str(&format!("<br/>@{a}"));
        }
    }
    out.push_str(&format!("  {id}[\"{}\"]\n", mermaid_escape(&label)));
    if n.repeat {
        classes.push((id.clone(), "repeat"));
    } else if let Some(s) = f.and_then(|f| f.standing.status.as_deref()) {
        let class = match s {
            "on_track" => Some("on_track"),
            "at_risk" => Some("at_risk"),
            "off_track" => Some("off_track"),
            _ => None,
        };
        if let Some(c) = class {
            classes.push((id.clone(), c));
        }
    }
    for c in &n.children {
        let cid = mermaid_node(out, c, facts, vs_target, next, classes);
        match c.edge {
            Some(EdgeKind::Formula) => {
                let l = c
                    .contribution
                    .map(signed)
                    .unwrap_or_else(|| c.role.clone().unwrap_or_default());
                out.push_str(&format!("  {id} -->|\"{}\"| {cid}\n", mermaid_escape(&l)));
            }
            _ => out.push_str(&format!("  {id} -.->|co-moves| {cid}\n")),
        }
    }
    id
}
