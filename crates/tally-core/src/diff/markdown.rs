//! The diff as a pull-request comment (Markdown): a summary line, tables of metric and
//! semantic-model changes, long values as line diffs in `<details>`, the affected metrics and who
//! must know.

use super::{ChangeKind, FieldChange, ModelDiff};

/// Inline code, safe for values that contain backticks.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// Text for a table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn is_long(s: &Option<String>) -> bool {
    s.as_ref()
        .is_some_and(|s| s.contains('\n') || s.chars().count() > 60)
}

/// `field: before → after`, or a pointer to the details block for long values.
fn change_text(c: &FieldChange) -> String {
    if is_long(&c.before) || is_long(&c.after) {
        return format!("{} changed (below)", c.field);
    }
    match (&c.before, &c.after) {
        (Some(b), Some(a)) => format!("{}: {} → {}", c.field, code(b), code(a)),
        (None, Some(a)) => format!("{}: added {}", c.field, code(a)),
        (Some(b), None) => format!("{}: removed (was {})", c.field, code(b)),
        (None, None) => c.field.clone(),
    }
}

/// A line diff (longest common subsequence) with `context` unchanged lines around each change.
pub fn line_diff(before: &str, after: &str, context: usize) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near: Vec<bool> = (0..ops.len())
        .map(|k| {
            let lo = k.saturating_sub(context);
            let hi = (k + context + 1).min(ops.len());
            ops[lo..hi].iter().any(|(c, _)| *c != ' ')
        })
        .collect();
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near[k] {
            if skipped {
                out.push_str("  …\n");
                skipped = false;
            }
            out.push_str(&format!("{c} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}

fn details(title: &str, c: &FieldChange) -> String {
    let body = line_diff(
        c.before.as_deref().unwrap_or(""),
        c.after.as_deref().unwrap_or(""),
        2,
    );
    format!("<details><summary>{title}</summary>\n\n```diff\n{body}```\n\n</details>\n\n")
}

/// The diff as a pull-request comment: a summary line, tables of metric and semantic-model
/// changes, the affected metrics and who must know.
pub fn render_markdown(d: &ModelDiff, base_label: &str, head_label: &str) -> String {
    let mut out = format!("## tally diff: {} → {}\n\n", code(base_label), head_label);
    if d.is_empty() {
        out.push_str("No changes to metrics, semantic models, variables or macros.\n");
        return out;
    }
    out.push_str(&format!("**{}.**\n\n", summary(d).join(", ")));
    // Long values are shown as line diffs below the tables.
    let mut long: Vec<String> = Vec::new();
    out.push_str(&metrics_table(d, &mut long));
    out.push_str(&objects_table(d, &mut long));
    for l in long {
        out.push_str(&l);
    }
    out.push_str(&affected_table(d));
    out.push_str(&notify_table(d));
    out
}

/// "3 metrics changed, 1 added, 1 semantic model changed, 4 metrics whose values may move, ...".
fn summary(d: &ModelDiff) -> Vec<String> {
    let mut summary = Vec::new();
    for (k, word) in [
        (ChangeKind::Changed, "changed"),
        (ChangeKind::Added, "added"),
        (ChangeKind::Removed, "removed"),
        (ChangeKind::Renamed, "renamed"),
    ] {
        let n = d.count(k);
        if n > 0 {
            summary.push(format!(
                "{n} {}{word}",
                if summary.is_empty() {
                    if n == 1 {
                        "metric "
                    } else {
                        "metrics "
                    }
                } else {
                    ""
                }
            ));
        }
    }
    if !d.semantic_models.is_empty() {
        let n = d.semantic_models.len();
        summary.push(format!(
            "{n} semantic model{} changed",
            if n == 1 { "" } else { "s" }
        ));
    }
    let moving = d.affected.iter().filter(|a| a.values_may_change).count();
    summary.push(format!(
        "{moving} metric{} whose values may move, {} affected in all",
        if moving == 1 { "" } else { "s" },
        d.affected.len()
    ));
    summary
}

/// The metrics table; the details blocks of long changes go to `long`.
fn metrics_table(d: &ModelDiff, long: &mut Vec<String>) -> String {
    if d.metrics.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "### Metrics\n\n| metric | type | change | what changed |\n|---|---|---|---|\n",
    );
    for m in &d.metrics {
        let what = match m.kind {
            ChangeKind::Renamed => {
                let mut w = vec![format!(
                    "renamed from {}",
                    code(m.renamed_from.as_deref().unwrap_or(""))
                )];
                w.extend(m.changes.iter().map(change_text));
                w
            }
            _ => m.changes.iter().map(change_text).collect(),
        };
        for c in &m.changes {
            if is_long(&c.before) || is_long(&c.after) {
                long.push(details(&format!("{}: {}", code(&m.name), c.field), c));
            }
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            code(&m.name),
            m.metric_type,
            m.kind.name(),
            cell(&what.join("<br>"))
        ));
    }
    out.push('\n');
    out
}

/// The table of semantic models, variables and macro files; details blocks go to `long`.
fn objects_table(d: &ModelDiff, long: &mut Vec<String>) -> String {
    if d.semantic_models.is_empty() && d.vars.is_empty() && d.macros.is_empty() {
        return String::new();
    }
    let mut out = String::from("### Semantic models, variables and macros\n\n| object | change | what changed |\n|---|---|---|\n");
    for s in &d.semantic_models {
        for c in &s.changes {
            if is_long(&c.before) || is_long(&c.after) {
                long.push(details(&format!("{}: {}", code(&s.name), c.field), c));
            }
        }
        out.push_str(&format!(
            "| semantic model {} | {} | {} |\n",
            code(&s.name),
            s.kind.name(),
            cell(
                &s.changes
                    .iter()
                    .map(change_text)
                    .collect::<Vec<_>>()
                    .join("<br>")
            )
        ));
    }
    for v in &d.vars {
        out.push_str(&format!(
            "| variable {} | changed | {} |\n",
            code(&v.field),
            cell(&change_text(v))
        ));
    }
    for m in &d.macros {
        long.push(details(&code(&m.field), m));
        out.push_str(&format!(
            "| macros {} | changed | (below) |\n",
            code(&m.field)
        ));
    }
    out.push('\n');
    out
}

fn affected_table(d: &ModelDiff) -> String {
    if d.affected.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "### Affected metrics\n\n| metric | values | why | accountable |\n|---|---|---|---|\n",
    );
    for a in &d.affected {
        let values = if a.removed {
            "removed"
        } else if a.values_may_change {
            "may move"
        } else {
            "unchanged"
        };
        out.push_str(&format!(
            "| {} | {values} | {} | {} |\n",
            code(&a.name),
            cell(&a.reasons.join("; ")),
            a.accountable.join(", ")
        ));
    }
    out.push('\n');
    out
}

fn notify_table(d: &ModelDiff) -> String {
    if d.notify.is_empty() {
        return String::new();
    }
    let mut out = String::from("### Who must know\n\n| who | accountable for | consulted on | informed of |\n|---|---|---|---|\n");
    for n in &d.notify {
        let mut who = format!("**{}**", n.name);
        match n.kind.as_str() {
            "team" => who.push_str(&format!(" (team: {})", n.members.join(", "))),
            "person" => {
                let mut bits = Vec::new();
                if let Some(f) = &n.full_name {
                    bits.push(f.clone());
                }
                if let Some(e) = &n.email {
                    bits.push(e.clone());
                }
                if !bits.is_empty() {
                    who.push_str(&format!(" ({})", bits.join(", ")));
                }
            }
            _ => who.push_str(" (not in the roster)"),
        }
        let list = |v: &[String]| v.iter().map(|m| code(m)).collect::<Vec<_>>().join(", ");
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&who),
            list(&n.accountable),
            list(&n.consulted),
            list(&n.informed)
        ));
    }
    out.push('\n');
    out
}
