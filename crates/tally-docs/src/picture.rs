//! Pictures of graphs as inline SVG, laid out by `layout-rs` (a Graphviz-like layered layout) at
//! generation time, so they show with JavaScript off. This module only describes the graph and
//! decorates layout-rs's SVG: links on nodes, a title, ids made unique per picture, the site's
//! font. No layout is computed here.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::{Point, Position};
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

/// What a node stands for; sets its colours (the page's legend explains them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStyle {
    /// The metric the page is about.
    Focus,
    Metric,
    Measure,
    SemanticModel,
    Column,
}

impl NodeStyle {
    fn colors(self) -> (u32, u32) {
        // (fill, line) as RRGGBB; text is black on each fill (contrast above 12:1).
        match self {
            NodeStyle::Focus => (0xffe08a, 0x7a5900),
            NodeStyle::Metric => (0xe3ecfb, 0x1f4e9c),
            NodeStyle::Measure => (0xe2f3e5, 0x23692f),
            NodeStyle::SemanticModel => (0xfdebd8, 0x8a4b0f),
            NodeStyle::Column => (0xeeeeee, 0x555555),
        }
    }
}

/// How an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeStyle {
    /// Data flows: an input, a measure, a model read.
    Flow,
    /// A `drivers:` relation of the metric tree.
    Drives,
}

#[derive(Clone, Debug)]
pub struct PicNode {
    pub label: String,
    /// A second, smaller line (a type, an aggregation).
    pub detail: Option<String>,
    pub style: NodeStyle,
    /// A link relative to the page the picture is on.
    pub href: Option<String>,
}

/// A graph to draw: nodes, and edges as indices into `nodes`.
#[derive(Clone, Debug, Default)]
pub struct Picture {
    pub nodes: Vec<PicNode>,
    pub edges: Vec<(usize, usize, EdgeStyle)>,
}

const FONT_SIZE: usize = 13;
/// Space kept around each node, in pixels.
const HALO: f64 = 24.0;

impl Picture {
    /// Add a node, returning its index.
    pub fn node(&mut self, n: PicNode) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    /// Render as an inline `<svg>` element. `id` makes the SVG's internal ids unique on the page;
    /// `title` is its accessible name.
    pub fn to_svg(&self, id: &str, title: &str) -> String {
        let mut vg = VisualGraph::new(Orientation::LeftToRight);
        let mut handles = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let text = match &n.detail {
                Some(d) => format!("{}\n{}", clip(&n.label), clip(d)),
                None => clip(&n.label),
            };
            let (fill, line) = n.style.colors();
            let look = StyleAttr::new(
                Color::new((line << 8) | 0xff),
                if n.style == NodeStyle::Focus { 3 } else { 1 },
                Some(Color::new((fill << 8) | 0xff)),
                6,
                FONT_SIZE,
            );
            let size = text_size(&text);
            let shape = ShapeKind::new_box(&text);
            let mut el = Element::create_with_properties(
                shape,
                look,
                Orientation::LeftToRight,
                size,
                format!("data-n=\"{i}\""),
            );
            // A smaller halo than layout-rs's default (60) keeps large trees compact.
            el.pos = Position::new(Point::zero(), size, Point::zero(), Point::splat(HALO));
            handles.push(vg.add_node(el));
        }
        for &(a, b, style) in &self.edges {
            let look = StyleAttr::new(Color::new(0x44444eff), 1, None, 0, FONT_SIZE);
            let line = match style {
                EdgeStyle::Flow => LineStyleKind::Normal,
                EdgeStyle::Drives => LineStyleKind::Dashed,
            };
            let arrow = Arrow::new(
                LineEndKind::None,
                LineEndKind::Arrow,
                line,
                "",
                &look,
                &None,
                &None,
            );
            vg.add_edge(arrow, handles[a], handles[b]);
        }
        let mut svg = SVGWriter::new();
        vg.do_it(false, false, false, &mut svg);
        self.decorate(svg.finalize(), id, title)
    }

    /// Links, title and unique ids on layout-rs's SVG text.
    fn decorate(&self, raw: String, id: &str, title: &str) -> String {
        let mut s = raw;
        if let Some(start) = s.find("<svg") {
            s.drain(..start);
        }
        s = fit_to_nodes(s);
        s = s
            .replace("id=\"arrow", &format!("id=\"{id}-arrow"))
            .replace("href=\"#arrow", &format!("href=\"#{id}-arrow"))
            .replace("id=\"startarrow\"", &format!("id=\"{id}-startarrow\""))
            .replace("id=\"endarrow\"", &format!("id=\"{id}-endarrow\""))
            .replace("url(#startarrow)", &format!("url(#{id}-startarrow)"))
            .replace("url(#endarrow)", &format!("url(#{id}-endarrow)"))
            .replace("font-family: Times, serif;", "")
            .replace(
                "<svg ",
                &format!(
                    "<svg class=\"picture\" role=\"group\" aria-labelledby=\"{id}-title\" focusable=\"false\" "
                ),
            );
        // The title as the first child of <svg>.
        if let Some(end) = s.find('>') {
            s.insert_str(
                end + 1,
                &format!("<title id=\"{id}-title\">{}</title>", escape(title)),
            );
        }
        // Each node's rectangle group becomes a link (layout-rs writes `<g PROPS> <rect/> </g>`).
        for (i, n) in self.nodes.iter().enumerate() {
            let open = format!("<g data-n=\"{i}\">");
            let Some(at) = s.find(&open) else { continue };
            let Some(close_rel) = s[at..].find("</g>") else {
                continue;
            };
            let close = at + close_rel + "</g>".len();
            let name = match &n.detail {
                Some(d) => format!("{} ({d})", n.label),
                None => n.label.clone(),
            };
            let inner = s[at + open.len()..close].to_string();
            let replacement = match &n.href {
                Some(h) => format!(
                    "<a href=\"{}\" class=\"node\"><title>{}</title><g>{inner}</a>",
                    escape(h),
                    escape(&name)
                ),
                None => format!("<g class=\"node\"><title>{}</title>{inner}", escape(&name)),
            };
            s.replace_range(at..close, &replacement);
        }
        s
    }
}

/// layout-rs sizes the picture by the nodes and edges, and also by an estimate of each label's
/// length that it adds to the height, which leaves empty space below small graphs. Size it by the
/// node boxes and edge paths instead.
fn fit_to_nodes(svg: String) -> String {
    let (mut w, mut h) = (0.0f64, 0.0f64);
    let (mut x0, mut y0) = (f64::MAX, f64::MAX);
    let num = |s: &str, attr: &str| -> Option<f64> {
        let k = format!(" {attr}=\"");
        let i = s.find(&k)? + k.len();
        s[i..].split('"').next()?.trim().parse().ok()
    };
    for part in svg.split("<rect").skip(1) {
        let tag = part.split("/>").next().unwrap_or("");
        if let (Some(x), Some(y), Some(rw), Some(rh)) = (
            num(tag, "x"),
            num(tag, "y"),
            num(tag, "width"),
            num(tag, "height"),
        ) {
            w = w.max(x + rw);
            h = h.max(y + rh);
            x0 = x0.min(x);
            y0 = y0.min(y);
        }
    }
    for part in svg.split(" d=\"").skip(1) {
        let d = part.split('"').next().unwrap_or("");
        let nums: Vec<f64> = d
            .split(|c: char| c.is_ascii_alphabetic() || c == ',' || c.is_whitespace())
            .filter_map(|t| t.parse().ok())
            .collect();
        for p in nums.chunks(2) {
            if let [x, y] = p {
                w = w.max(*x);
                h = h.max(*y);
                x0 = x0.min(*x);
                y0 = y0.min(*y);
            }
        }
    }
    if w <= 0.0 || h <= 0.0 {
        return svg;
    }
    let (x0, y0) = ((x0 - 12.0).max(0.0).floor(), (y0 - 12.0).max(0.0).floor());
    let (w, h) = ((w + 12.0 - x0).ceil(), (h + 12.0 - y0).ceil());
    let Some(end) = svg.find('>') else { return svg };
    let head = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"{x0} {y0} {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    format!("{head}{}", &svg[end + 1..])
}

/// Labels longer than this are cut with an ellipsis (the full text is in the node's title).
const MAX_LABEL: usize = 40;

fn clip(s: &str) -> String {
    let s = s.lines().next().unwrap_or("");
    if s.chars().count() <= MAX_LABEL {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(MAX_LABEL - 1).collect();
        c.push('…');
        c
    }
}

/// The size of a node's box for its text in the site's sans-serif font.
fn text_size(text: &str) -> Point {
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(1);
    let lines = text.lines().count().max(1);
    Point::new(
        widest as f64 * FONT_SIZE as f64 * 0.58 + 22.0,
        lines as f64 * FONT_SIZE as f64 * 1.25 + 14.0,
    )
}

/// HTML/XML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_become_links_with_titles_and_escaped_text() {
        let mut p = Picture::default();
        let a = p.node(PicNode {
            label: "<script>alert(1)</script>".into(),
            detail: Some("ratio".into()),
            style: NodeStyle::Focus,
            href: Some("a.html".into()),
        });
        let b = p.node(PicNode {
            label: "b".into(),
            detail: None,
            style: NodeStyle::Metric,
            href: None,
        });
        p.edges.push((a, b, EdgeStyle::Drives));
        let svg = p.to_svg("g1", "A & B");
        assert!(svg.starts_with("<svg class=\"picture\""), "{svg}");
        assert!(svg.contains("<title id=\"g1-title\">A &amp; B</title>"));
        assert!(svg.contains("<a href=\"a.html\" class=\"node\">"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("url(#g1-endarrow)"));
        assert!(!svg.contains("url(#endarrow)"));
        assert_eq!(svg.matches("<a ").count(), svg.matches("</a>").count());
        // Deterministic.
        assert_eq!(svg, p.to_svg("g1", "A & B"));
    }
}
