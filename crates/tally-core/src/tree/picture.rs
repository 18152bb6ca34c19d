//! The tree picture: a tidy top-down layout (each subtree packed against its left neighbours
//! level by level, parents centred over their children) drawn as SVG, alone or in a
//! self-contained HTML page. Nodes carry the metric, its value and change, target and status
//! (colour), and the accountable owner as a label; formula edges carry the child's contribution,
//! driver edges are dashed and labelled as co-movement.

use super::render::{num, opt, pct, signed, Header};
use super::{DisplayNode, EdgeKind, NodeFacts};
use indexmap::IndexMap;

const W: f64 = 244.0;
const H: f64 = 84.0;
const GAP_X: f64 = 24.0;
const GAP_Y: f64 = 78.0;
const MARGIN: f64 = 24.0;

/// A node placed on the canvas.
struct Placed<'a> {
    node: &'a DisplayNode,
    x: f64,
    depth: usize,
    parent: Option<usize>,
}

/// Lay out the forest: returns the nodes with their centre x (before the margin) and depth.
fn layout(roots: &[DisplayNode]) -> Vec<Placed<'_>> {
    let mut placed = Vec::new();
    // The right edge reached so far at each depth, across everything already placed.
    let mut right: Vec<f64> = Vec::new();
    for r in roots {
        place(r, 0, None, &mut placed, &mut right);
    }
    placed
}

/// Place a subtree; returns its root's index. Children first, then the parent over them; the
/// whole subtree then shifts right until no level overlaps what is already there.
fn place<'a>(
    n: &'a DisplayNode,
    depth: usize,
    parent: Option<usize>,
    placed: &mut Vec<Placed<'a>>,
    right: &mut Vec<f64>,
) -> usize {
    let me = placed.len();
    placed.push(Placed {
        node: n,
        x: 0.0,
        depth,
        parent,
    });
    let first_child = placed.len();
    let kids: Vec<usize> = n
        .children
        .iter()
        .map(|c| place(c, depth + 1, Some(me), placed, right))
        .collect();
    let x = match (kids.first(), kids.last()) {
        (Some(&a), Some(&b)) => (placed[a].x + placed[b].x) / 2.0,
        _ => 0.0,
    };
    // Where the node itself may go at its depth.
    let min_here = right
        .get(depth)
        .map(|r| r + GAP_X + W / 2.0)
        .unwrap_or(W / 2.0);
    let shift = (min_here - x).max(0.0);
    placed[me].x = x + shift;
    if shift > 0.0 {
        for p in placed.iter_mut().skip(first_child) {
            p.x += shift;
        }
        // The children's levels moved: recompute the right edges they reached.
        for p in placed.iter().skip(first_child) {
            bump(right, p.depth, p.x + W / 2.0);
        }
    }
    bump(right, depth, placed[me].x + W / 2.0);
    me
}

fn bump(right: &mut Vec<f64>, depth: usize, edge: f64) {
    if right.len() <= depth {
        right.resize(depth + 1, f64::NEG_INFINITY);
    }
    right[depth] = right[depth].max(edge);
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Fill and stroke for a status.
fn colours(status: Option<&str>) -> (&'static str, &'static str) {
    match status {
        Some("on_track") => ("#dcfce7", "#15803d"),
        Some("at_risk") => ("#fef3c7", "#b45309"),
        Some("off_track") => ("#fee2e2", "#b91c1c"),
        Some("immature") | Some("no_data") => ("#f1f5f9", "#64748b"),
        _ => ("#ffffff", "#475569"),
    }
}

/// Whether a change is good, bad or unknown for a metric's direction.
fn judged(direction: Option<&str>, change: f64) -> Option<bool> {
    match direction {
        Some("higher_is_better") => Some(change >= 0.0),
        Some("lower_is_better") => Some(change <= 0.0),
        _ => None,
    }
}

/// The SVG picture of the forest.
pub fn to_svg(
    header: &Header,
    roots: &[DisplayNode],
    facts: &IndexMap<String, NodeFacts>,
) -> String {
    let placed = layout(roots);
    let width = placed.iter().map(|p| p.x + W / 2.0).fold(W, f64::max) + 2.0 * MARGIN;
    let depth = placed.iter().map(|p| p.depth).max().unwrap_or(0);
    let top = MARGIN + 36.0;
    let height = top + (depth as f64 + 1.0) * (H + GAP_Y) - GAP_Y + MARGIN;
    let cx = |p: &Placed| MARGIN + p.x;
    let cy = |p: &Placed| top + p.depth as f64 * (H + GAP_Y);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img">
<title>Metric tree, {} {} vs {}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{MARGIN}" y="{}" font-size="15" font-weight="600" fill="#0f172a">{} {} vs {}  ·  = formula input (contribution to the parent's change)  ·  dashed: driver (co-movement, not causation)</text>
"##,
        esc(&header.grain),
        esc(&header.period),
        esc(header.compare_period.as_deref().unwrap_or(&header.compare)),
        MARGIN + 4.0,
        esc(&header.grain),
        esc(&header.period),
        esc(header.compare_period.as_deref().unwrap_or(&header.compare)),
    );
    // Edges under the nodes.
    for p in &placed {
        let Some(parent) = p.parent.map(|i| &placed[i]) else {
            continue;
        };
        s.push_str(&edge_svg(
            parent,
            p,
            cx(parent),
            cy(parent) + H,
            cx(p),
            cy(p),
            facts,
        ));
    }
    for p in &placed {
        s.push_str(&node_svg(p.node, cx(p) - W / 2.0, cy(p), facts));
    }
    s.push_str("</svg>\n");
    s
}

fn edge_svg(
    parent: &Placed,
    child: &Placed,
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    facts: &IndexMap<String, NodeFacts>,
) -> String {
    let n = child.node;
    let my = (y1 + y2) / 2.0;
    let path = format!("M{x1:.1},{y1:.1} C{x1:.1},{my:.1} {x2:.1},{my:.1} {x2:.1},{y2:.1}");
    let direction = facts
        .get(&parent.node.metric)
        .and_then(|f| f.standing.direction.as_deref());
    let (stroke, dash, label) = match n.edge {
        Some(EdgeKind::Formula) => {
            let colour = match n.contribution.and_then(|c| judged(direction, c)) {
                Some(true) => "#15803d",
                Some(false) => "#b91c1c",
                None => "#334155",
            };
            let label = match n.contribution {
                Some(c) => format!("{} {}", n.role.as_deref().unwrap_or(""), signed(c)),
                None => n.role.clone().unwrap_or_default(),
            };
            (colour, "", label)
        }
        _ => (
            "#94a3b8",
            r#" stroke-dasharray="6 4""#,
            "driver".to_string(),
        ),
    };
    let width = if n.edge == Some(EdgeKind::Formula) {
        2.0
    } else {
        1.4
    };
    // The label sits just above the child, where labels of siblings never overlap.
    let lx = x2;
    let my = y2 - 12.0;
    let lw = label.chars().count() as f64 * 6.6 + 10.0;
    format!(
        r##"<g class="edge"><path d="{path}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash}/>
<rect x="{:.1}" y="{:.1}" width="{lw:.1}" height="17" rx="4" fill="#ffffff" fill-opacity="0.92"/><text x="{lx:.1}" y="{:.1}" font-size="11.5" text-anchor="middle" fill="{stroke}">{}</text></g>
"##,
        lx - lw / 2.0,
        my - 10.0,
        my + 3.0,
        esc(&label)
    )
}

fn node_svg(n: &DisplayNode, x: f64, y: f64, facts: &IndexMap<String, NodeFacts>) -> String {
    let f = facts.get(&n.metric);
    let title = f
        .and_then(|f| f.label.clone())
        .unwrap_or_else(|| n.metric.clone());
    if n.repeat {
        return format!(
            r##"<g class="node repeat"><rect x="{x:.1}" y="{:.1}" width="{W}" height="{:.1}" rx="8" fill="#f8fafc" stroke="#94a3b8" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#475569">{} (above)</text><title>{}</title></g>
"##,
            y + H / 2.0 - 14.0,
            28.0,
            x + W / 2.0,
            y + H / 2.0 + 4.0,
            esc(&clip(&n.metric, 26)),
            esc(&n.metric)
        );
    }
    let status = f.and_then(|f| f.standing.status.as_deref());
    let (fill, stroke) = colours(status);
    let (line2, line3, owner) = match f {
        Some(f) => {
            let mut l2 = opt(f.values.current);
            if let Some(c) = f.change {
                l2.push_str(&format!("   Δ {} {}", signed(c), pct(f.change_pct)));
            }
            let l3 = match (f.standing.target, status) {
                (Some(t), Some(s)) => format!("target {}  ·  {}", num(t), s.replace('_', " ")),
                (None, Some(s)) => s.replace('_', " "),
                _ => format!("was {}", opt(f.values.base)),
            };
            (l2, l3, f.accountable.clone().unwrap_or_default())
        }
        None => (String::new(), String::new(), String::new()),
    };
    let rolled = f
        .and_then(|f| f.rolled_up_status.as_deref())
        .filter(|r| Some(*r) != status);
    let badge = rolled.map(|r| {
        let (bf, bs) = colours(Some(r));
        format!(
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" rx="6" fill="{bf}" stroke="{bs}" stroke-width="2"><title>below: {r}</title></rect>"#,
            x + W - 18.0,
            y + 6.0
        )
    });
    format!(
        r##"<g class="node" data-metric="{}"><rect x="{x:.1}" y="{y:.1}" width="{W}" height="{H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"/>{}
<text x="{:.1}" y="{:.1}" font-size="13" font-weight="600" fill="#0f172a">{}</text>
<text x="{:.1}" y="{:.1}" font-size="12.5" fill="#0f172a">{}</text>
<text x="{:.1}" y="{:.1}" font-size="11.5" fill="#334155">{}</text>
<text x="{:.1}" y="{:.1}" font-size="11" fill="#6d28d9">{}</text><title>{}</title></g>
"##,
        esc(&n.metric),
        badge.unwrap_or_default(),
        x + 10.0,
        y + 19.0,
        esc(&clip(&title, 26)),
        x + 10.0,
        y + 38.0,
        esc(&line2),
        x + 10.0,
        y + 56.0,
        esc(&line3),
        x + 10.0,
        y + 74.0,
        esc(&if owner.is_empty() {
            String::new()
        } else {
            format!("@{owner}")
        }),
        esc(&n.metric),
    )
}

/// A self-contained HTML page around the SVG (no scripts, no external resources).
pub fn to_html(
    header: &Header,
    roots: &[DisplayNode],
    facts: &IndexMap<String, NodeFacts>,
) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Metric tree · {} {}</title>
<style>
body {{ margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #0f172a; background: #f8fafc; }}
header {{ padding: 12px 24px; background: #0f172a; color: #f8fafc; }}
header h1 {{ font-size: 18px; margin: 0 0 4px; }}
.legend span {{ display: inline-block; margin-right: 14px; font-size: 13px; }}
.legend i {{ display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 5px; vertical-align: -1px; }}
main {{ padding: 12px; width: max-content; }}
</style></head>
<body><header><h1>Metric tree: {} {} vs {}</h1>
<div class="legend"><span><i style="background:#dcfce7;border:2px solid #15803d"></i>on track</span><span><i style="background:#fef3c7;border:2px solid #b45309"></i>at risk</span><span><i style="background:#fee2e2;border:2px solid #b91c1c"></i>off track</span><span><i style="background:#fff;border:2px solid #475569"></i>no target</span><span>edge label: the child's contribution to its parent's change (adds up exactly)</span><span>dashed: driver, co-movement not causation</span><span>dot: the worst status below</span></div></header>
<main>
{}</main></body></html>
"#,
        esc(&header.grain),
        esc(&header.period),
        esc(&header.grain),
        esc(&header.period),
        esc(header.compare_period.as_deref().unwrap_or(&header.compare)),
        to_svg(header, roots, facts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str) -> DisplayNode {
        DisplayNode {
            metric: name.into(),
            edge: Some(EdgeKind::Formula),
            role: None,
            contribution: None,
            repeat: false,
            children: Vec::new(),
        }
    }

    #[test]
    fn nodes_never_overlap_and_parents_sit_over_their_children() {
        let mut root = leaf("root");
        let mut a = leaf("a");
        a.children = (0..5).map(|i| leaf(&format!("a{i}"))).collect();
        let mut b = leaf("b");
        b.children = vec![leaf("b0")];
        root.children = vec![a, b, leaf("c")];
        let roots = vec![root];
        let placed = layout(&roots);
        for (i, p) in placed.iter().enumerate() {
            for q in placed.iter().skip(i + 1) {
                if p.depth == q.depth {
                    assert!(
                        (p.x - q.x).abs() >= W + GAP_X - 1e-9,
                        "{} and {}",
                        p.node.metric,
                        q.node.metric
                    );
                }
            }
            let kids: Vec<&Placed> = placed.iter().filter(|c| c.parent == Some(i)).collect();
            if let (Some(f), Some(l)) = (kids.first(), kids.last()) {
                assert!((p.x - (f.x + l.x) / 2.0).abs() < 1e-9 || p.x > (f.x + l.x) / 2.0);
            }
        }
    }
}
