//! YAML text from a node tree, in block style (what people write), scalars quoted when a plain
//! scalar would read differently.

use tally_core::yaml::{Node, NodeKind};

pub fn to_yaml(doc: &Node) -> String {
    let mut out = String::new();
    emit(doc, 0, &mut out);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Several documents separated by `---`.
pub fn documents(docs: &[Node]) -> String {
    docs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn is_collection(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Seq(v) => !v.is_empty(),
        NodeKind::Map(v) => !v.is_empty(),
        _ => false,
    }
}

fn emit(n: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match &n.kind {
        NodeKind::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(&scalar(k));
                out.push(':');
                if is_collection(v) {
                    out.push('\n');
                    emit(v, indent + 2, out);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(v));
                    out.push('\n');
                }
            }
        }
        NodeKind::Seq(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                if is_collection(item) {
                    out.push('\n');
                    emit(item, indent + 2, out);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        _ => {
            out.push_str(&pad);
            out.push_str(&scalar(n));
            out.push('\n');
        }
    }
}

/// A scalar (or an empty collection, or a collection used as a key) on one line.
fn scalar(n: &Node) -> String {
    match &n.kind {
        NodeKind::Null => "null".into(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Float(f) if f.is_nan() => ".nan".into(),
        NodeKind::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        NodeKind::Float(f) => format!("{f:?}"),
        NodeKind::Str(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '.'))
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !s.ends_with(' ')
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "nan" | "inf"
                );
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
            }
        }
        NodeKind::Seq(_) | NodeKind::Map(_) => flow(n),
    }
}

/// Flow style (JSON-like) for collections inside a line.
fn flow(n: &Node) -> String {
    match &n.kind {
        NodeKind::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        NodeKind::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => scalar(n),
    }
}

#[cfg(test)]
mod tests {
    use tally_core::source::FileId;

    #[test]
    fn round_trips_through_the_parser() {
        let text = "metrics:\n  - name: a\n    type: simple\n    filter: \"{{ Dimension('x__y') }} = 'a'\"\n    n: 3\n    e: []\n";
        let docs = tally_core::yaml::parse(FileId(0), text).unwrap();
        let out = super::documents(&docs);
        let again = tally_core::yaml::parse(FileId(0), &out).unwrap();
        assert_eq!(super::documents(&again), out);
        assert!(
            out.contains("filter: \"{{ Dimension('x__y') }} = 'a'\""),
            "{out}"
        );
    }
}
