//! The tree picture: a tidy left-to-right layout (roots on the left, each depth a column; each
//! subtree packed below its upper neighbours column by column, parents centred beside their
//! children) drawn as SVG, alone or in a self-contained HTML page. The width grows with the
//! depth, not with the number of metrics, so a tree of 50+ metrics stays about a screen wide and
//! scrolls down. Nodes carry the metric (its label wrapped on two lines), its value and change
//! (or gap to target), target and status (colour), the accountable owner, and the edge from the
//! parent: a formula input's contribution (green when it moved the parent the way its direction
//! prefers, red otherwise) or `driver` for co-movement; driver edges are dashed.

use super::render::{num, opt, pct, signed, Header};
use super::{DisplayNode, EdgeKind, NodeFacts};
use indexmap::IndexMap;

/// Box width, column gap, the vertical gap between boxes, the margin.
const W: f64 = 224.0;
const GAP_X: f64 = 36.0;
const GAP_Y: f64 = 12.0;
const MARGIN: f64 = 24.0;
/// Height of a text line and of a box without its title's second line.
const LINE: f64 = 16.0;
const BASE_H: f64 = 78.0;
const REPEAT_H: f64 = 30.0;
/// Width of a title line: 13px semibold in a 204px text column, in em.
const TITLE_EM: f64 = 204.0 / 13.0;

/// A node placed on the canvas.
struct Placed<'a> {
    node: &'a DisplayNode,
    /// Top edge (before the margin and the header).
    y: f64,
    h: f64,
    depth: usize,
    parent: Option<usize>,
    title: Vec<String>,
}

impl Placed<'_> {
    fn mid(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

/// The width of `s` in em, in a bold sans-serif as wide as the widest common fallback (DejaVu
/// Sans Bold, which headless Linux browsers pick for `system-ui`): an estimate that errs wide, so
/// a title never leaves its box in the fonts a reader has.
fn width_em(s: &str) -> f64 {
    s.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | ' ' => 0.36,
            '.' | ',' | ':' | ';' | '!' | '\'' | '|' => 0.4,
            'f' | 't' | '(' | ')' | '[' | ']' | '-' => 0.5,
            'r' | '_' => 0.52,
            'm' => 1.05,
            'w' => 0.94,
            'M' | 'W' => 1.1,
            'a'..='z' | '0'..='9' => 0.72,
            _ => 0.82,
        })
        .sum()
}

/// The title of a node wrapped on at most two lines (the second clipped).
fn title_lines(title: &str) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in title.split_whitespace() {
        let cur = lines.last_mut().expect("a line");
        if cur.is_empty() || width_em(cur) + width_em(" ") + width_em(word) <= TITLE_EM {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    let mut out: Vec<String> = lines.into_iter().take(3).collect();
    if out.len() == 3 {
        out.pop();
        let second = out.pop().unwrap_or_default();
        out.push(format!("{} …", clip_em(&second, TITLE_EM - width_em(" …"))));
    }
    out.into_iter().map(|l| clip_em(&l, TITLE_EM)).collect()
}

/// `s` clipped with an ellipsis to at most `em` wide.
fn clip_em(s: &str, em: f64) -> String {
    if width_em(s) <= em {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        let next = format!("{out}{c}");
        if width_em(&next) + width_em("…") > em {
            break;
        }
        out = next;
    }
    out.push('…');
    out
}

/// Lay out the forest: the nodes with their top edge, height and depth.
fn layout<'a>(roots: &'a [DisplayNode], facts: &IndexMap<String, NodeFacts>) -> Vec<Placed<'a>> {
    let mut placed = Vec::new();
    // The bottom edge reached so far in each column, across everything already placed.
    let mut bottom: Vec<f64> = Vec::new();
    for r in roots {
        place(r, 0, None, facts, &mut placed, &mut bottom);
    }
    placed
}

/// Place a subtree; returns its root's index. Children first, then the parent beside them; the
/// whole subtree then shifts down until no column overlaps what is already there.
fn place<'a>(
    n: &'a DisplayNode,
    depth: usize,
    parent: Option<usize>,
    facts: &IndexMap<String, NodeFacts>,
    placed: &mut Vec<Placed<'a>>,
    bottom: &mut Vec<f64>,
) -> usize {
    let me = placed.len();
    let title = facts
        .get(&n.metric)
        .and_then(|f| f.label.clone())
        .unwrap_or_else(|| n.metric.clone());
    let title = title_lines(&title);
    let h = if n.repeat {
        REPEAT_H
    } else {
        BASE_H + LINE * (title.len() as f64 - 1.0)
    };
    placed.push(Placed {
        node: n,
        y: 0.0,
        h,
        depth,
        parent,
        title,
    });
    let first_child = placed.len();
    let kids: Vec<usize> = n
        .children
        .iter()
        .map(|c| place(c, depth + 1, Some(me), facts, placed, bottom))
        .collect();
    let y = match (kids.first(), kids.last()) {
        (Some(&a), Some(&b)) => (placed[a].mid() + placed[b].mid()) / 2.0 - h / 2.0,
        _ => 0.0,
    };
    let min_here = bottom.get(depth).map(|b| b + GAP_Y).unwrap_or(0.0).max(0.0);
    let shift = (min_here - y).max(0.0);
    placed[me].y = y + shift;
    if shift > 0.0 {
        for p in placed.iter_mut().skip(first_child) {
            p.y += shift;
        }
        for p in placed.iter().skip(first_child) {
            bump(bottom, p.depth, p.y + p.h);
        }
    }
    bump(bottom, depth, placed[me].y + h);
    me
}

fn bump(bottom: &mut Vec<f64>, depth: usize, edge: f64) {
    if bottom.len() <= depth {
        bottom.resize(depth + 1, f64::NEG_INFINITY);
    }
    bottom[depth] = bottom[depth].max(edge);
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
    let placed = layout(roots, facts);
    let depth = placed.iter().map(|p| p.depth).max().unwrap_or(0);
    let width = (depth as f64 + 1.0) * (W + GAP_X) - GAP_X + 2.0 * MARGIN;
    let top = MARGIN + 56.0;
    let height = placed.iter().map(|p| p.y + p.h).fold(0.0, f64::max) + top + MARGIN;
    let x_of = |p: &Placed| MARGIN + p.depth as f64 * (W + GAP_X);
    let vs = if header.vs_target() {
        "target".to_string()
    } else {
        header
            .compare_period
            .clone()
            .unwrap_or_else(|| header.compare.clone())
    };
    let what = if header.vs_target() {
        "gap to target"
    } else {
        "change"
    };
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img">
<title>Metric tree, {g} {p} vs {vs}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{MARGIN}" y="{ty}" font-size="14" font-weight="600" fill="#0f172a">{g} {p} vs {vs}</text>
<text x="{MARGIN}" y="{ty2}" font-size="11.5" fill="#475569">solid: formula input, its contribution to the parent's {what} (adds up; green: the way the parent's direction prefers)  ·  dashed: driver (co-movement, not causation)</text>
{legend}"##,
        legend = legend(MARGIN, MARGIN + 30.0),
        g = esc(&header.grain),
        p = esc(&header.period),
        vs = esc(&vs),
        ty = MARGIN + 2.0,
        ty2 = MARGIN + 18.0,
    );
    for p in &placed {
        let Some(parent) = p.parent.map(|i| &placed[i]) else {
            continue;
        };
        s.push_str(&edge_svg(
            p.node,
            x_of(parent) + W,
            top + parent.mid(),
            x_of(p),
            top + p.mid(),
        ));
    }
    for p in &placed {
        let direction = p
            .parent
            .and_then(|i| facts.get(&placed[i].node.metric))
            .and_then(|f| f.standing.direction.as_deref());
        s.push_str(&node_svg(
            p,
            (x_of(p), top + p.y),
            facts,
            direction,
            header.vs_target(),
        ));
    }
    s.push_str("</svg>\n");
    s
}

/// The status colours, as a row of swatches.
fn legend(x: f64, y: f64) -> String {
    let mut s = String::from(r#"<g class="legend">"#);
    let mut at = x;
    for (status, text) in [
        (Some("on_track"), "on track"),
        (Some("at_risk"), "at risk"),
        (Some("off_track"), "off track"),
        (Some("immature"), "immature / no data"),
        (None, "no target"),
    ] {
        let (fill, stroke) = colours(status);
        s.push_str(&format!(
            r##"<rect x="{at:.1}" y="{y:.1}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11.5" fill="#334155">{text}</text>"##,
            at + 19.0,
            y + 11.5
        ));
        at += 19.0 + text.chars().count() as f64 * 6.4 + 18.0;
    }
    s.push_str(&format!(
        r##"<rect x="{at:.1}" y="{:.1}" width="12" height="12" rx="6" fill="#fee2e2" stroke="#b91c1c" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11.5" fill="#334155">dot: the worst status below</text></g>
"##,
        y + 1.0,
        at + 17.0,
        y + 11.5
    ));
    s
}

fn edge_svg(n: &DisplayNode, x1: f64, y1: f64, x2: f64, y2: f64) -> String {
    let mx = (x1 + x2) / 2.0;
    let path = format!("M{x1:.1},{y1:.1} C{mx:.1},{y1:.1} {mx:.1},{y2:.1} {x2:.1},{y2:.1}");
    let (stroke, dash, width) = match n.edge {
        Some(EdgeKind::Formula) => ("#334155", "", 1.8),
        _ => ("#94a3b8", r#" stroke-dasharray="6 4""#, 1.4),
    };
    format!(
        r##"<path class="edge" d="{path}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash}/>
"##
    )
}

/// The node's last line: the edge from its parent (role and contribution, or `driver`).
fn edge_label(n: &DisplayNode, parent_direction: Option<&str>) -> (String, &'static str) {
    match n.edge {
        Some(EdgeKind::Formula) => {
            let colour = match n.contribution.and_then(|c| judged(parent_direction, c)) {
                Some(true) => "#15803d",
                Some(false) => "#b91c1c",
                None => "#334155",
            };
            let role = clip(n.role.as_deref().unwrap_or(""), 11);
            match n.contribution {
                Some(c) => (format!("{role} {}", signed(c)), colour),
                None => (role, colour),
            }
        }
        Some(EdgeKind::Influence) => ("driver".into(), "#64748b"),
        None => (String::new(), "#334155"),
    }
}

fn node_svg(
    p: &Placed,
    (x, y): (f64, f64),
    facts: &IndexMap<String, NodeFacts>,
    parent_direction: Option<&str>,
    vs_target: bool,
) -> String {
    let n = p.node;
    let f = facts.get(&n.metric);
    if n.repeat {
        return format!(
            r##"<g class="node repeat" data-metric="{m}"><rect x="{x:.1}" y="{y:.1}" width="{W}" height="{REPEAT_H}" rx="8" fill="#f8fafc" stroke="#94a3b8" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="#475569">{t} (above)</text><title>{m} (shown above)</title></g>
"##,
            m = esc(&n.metric),
            tx = x + 10.0,
            ty = y + 19.0,
            t = esc(&clip(&n.metric, 20)),
        );
    }
    let status = f.and_then(|f| f.standing.status.as_deref());
    let (fill, stroke) = colours(status);
    let (line2, line3, owner) = match f {
        Some(f) => {
            let mut l2 = opt(f.values.current);
            match (vs_target, f.change) {
                (false, Some(c)) => {
                    l2.push_str(&format!("   Δ {} {}", signed(c), pct(f.change_pct)))
                }
                (true, Some(c)) => {
                    l2.push_str(&format!("   gap {} {}", signed(c), pct(f.change_pct)))
                }
                _ => {}
            }
            let l3 = match (f.standing.target, status) {
                (Some(t), Some(s)) => format!("target {}  ·  {}", num(t), s.replace('_', " ")),
                (None, Some(s)) => s.replace('_', " "),
                _ if vs_target => "no target".to_string(),
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
            r#"<rect class="badge" x="{:.1}" y="{:.1}" width="12" height="12" rx="6" fill="{bf}" stroke="{bs}" stroke-width="2"><title>worst below: {r}</title></rect>"#,
            x + W - 18.0,
            y + 6.0
        )
    });
    let mut texts = String::new();
    let mut ty = y + 18.0;
    for line in &p.title {
        texts.push_str(&format!(
            r##"<text x="{:.1}" y="{ty:.1}" font-size="13" font-weight="600" fill="#0f172a">{}</text>"##,
            x + 10.0,
            esc(line)
        ));
        ty += LINE;
    }
    texts.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="12.5" fill="#0f172a">{}</text><text x="{:.1}" y="{:.1}" font-size="11.5" fill="#334155">{}</text>"##,
        x + 10.0,
        ty + 1.0,
        esc(&line2),
        x + 10.0,
        ty + LINE + 1.0,
        esc(&line3),
    ));
    let last = ty + 2.0 * LINE + 2.0;
    if !owner.is_empty() {
        texts.push_str(&format!(
            r##"<text class="owner" x="{:.1}" y="{last:.1}" font-size="10.5" fill="#6d28d9">@{}</text>"##,
            x + 10.0,
            esc(&clip(&owner, 14))
        ));
    }
    let (label, colour) = edge_label(n, parent_direction);
    if !label.is_empty() {
        texts.push_str(&format!(
            r##"<text class="via" x="{:.1}" y="{last:.1}" font-size="10.5" text-anchor="end" fill="{colour}">{}</text>"##,
            x + W - 10.0,
            esc(&label)
        ));
    }
    format!(
        r##"<g class="node" data-metric="{}" data-status="{}"><rect x="{x:.1}" y="{y:.1}" width="{W}" height="{:.1}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"/>{}{texts}<title>{}</title></g>
"##,
        esc(&n.metric),
        status.unwrap_or(""),
        p.h,
        badge.unwrap_or_default(),
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
main {{ padding: 12px; width: max-content; }}
</style></head>
<body><header><h1>Metric tree: {} {} vs {}</h1></header>
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

    fn overlaps(a: &Placed, b: &Placed) -> bool {
        a.depth == b.depth && a.y < b.y + b.h + GAP_Y - 1e-9 && b.y < a.y + a.h + GAP_Y - 1e-9
    }

    #[test]
    fn nodes_never_overlap_and_parents_sit_beside_their_children() {
        let mut root = leaf("root");
        let mut a = leaf("a");
        a.children = (0..5).map(|i| leaf(&format!("a{i}"))).collect();
        let mut b = leaf("b");
        b.children = vec![leaf("b0")];
        root.children = vec![a, b, leaf("c")];
        let roots = vec![root];
        let placed = layout(&roots, &IndexMap::new());
        for (i, p) in placed.iter().enumerate() {
            for q in placed.iter().skip(i + 1) {
                assert!(!overlaps(p, q), "{} and {}", p.node.metric, q.node.metric);
            }
            let kids: Vec<&Placed> = placed.iter().filter(|c| c.parent == Some(i)).collect();
            if let (Some(f), Some(l)) = (kids.first(), kids.last()) {
                let centre = (f.mid() + l.mid()) / 2.0;
                assert!((p.mid() - centre).abs() < 1e-9 || p.mid() > centre);
            }
        }
    }

    /// Fifty metrics under one root, five levels deep: the picture stays narrow (it grows down).
    #[test]
    fn fifty_metrics_stay_under_1600_pixels_wide() {
        let mut root = leaf("root");
        for i in 0..7 {
            let mut mid = leaf(&format!("m{i}"));
            mid.children = (0..6).map(|j| leaf(&format!("m{i}_{j}"))).collect();
            root.children.push(mid);
        }
        let header = Header {
            grain: "month".into(),
            period: "2026-05-01".into(),
            compare: "previous".into(),
            compare_period: Some("2026-04-01".into()),
        };
        let svg = to_svg(&header, std::slice::from_ref(&root), &IndexMap::new());
        let width: f64 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert_eq!(svg.matches("class=\"node\"").count(), 50);
        assert!(width < 1600.0, "{width}");
        let placed = layout(std::slice::from_ref(&root), &IndexMap::new());
        for (i, p) in placed.iter().enumerate() {
            for q in placed.iter().skip(i + 1) {
                assert!(!overlaps(p, q), "{} and {}", p.node.metric, q.node.metric);
            }
        }
    }

    #[test]
    fn long_titles_wrap_on_two_lines() {
        assert_eq!(
            title_lines("Resolved without repeat contact (north star)"),
            vec!["Resolved without repeat", "contact (north star)"]
        );
        assert_eq!(title_lines("csat"), vec!["csat"]);
        let long = title_lines(&"word ".repeat(30));
        assert_eq!(long.len(), 2);
        assert!(long.iter().all(|l| width_em(l) <= TITLE_EM));
        // 27 characters, wider than the column in a bold fallback font: two lines.
        assert_eq!(
            title_lines("Mature tagged conversations"),
            vec!["Mature tagged", "conversations"]
        );
    }
}
