//! Mutations: of YAML nodes (structure-aware), of text, and of query flags.

use crate::emit;
use crate::rng::Rng;
use crate::{Input, Query};
use tally_core::source::{FileId, Span};
use tally_core::yaml::{self, Node, NodeKind};

/// Strings a hostile or careless user might write where a name, a filter or an expression goes.
pub const HOSTILE: &[&str] = &[
    "",
    " ",
    "*",
    "x; DROP TABLE users; --",
    "1) OR (1=1",
    "(((",
    ")",
    "/* never closed",
    "-- a comment",
    "'unterminated",
    "\"",
    "{{",
    "}}",
    "{%",
    "{#",
    "{{ Dimension('x') }",
    "{{ Dimension('') }}",
    "{{ Dimension('a__b__c__d__e') }} = 1",
    "{{ TimeDimension('metric_time', 'fortnight') }} > 1",
    "{{ Entity('') }}",
    "{{ Metric('nope', group_by=['x']) }} > 0",
    "{{ Metric('x', group_by=[]) }}",
    "{{ var('nope') }}",
    "{{ 1/0 }}",
    "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}",
    "{{ self }}",
    "{{ ''.__class__ }}",
    "read_text('/etc/passwd')",
    "(SELECT * FROM read_csv('/etc/passwd'))",
    "a__b",
    "__",
    "Name With Spaces",
    "ünïcödé",
    "\u{0}",
    "\u{feff}",
    "metric_time__fortnight",
    "metric_time__day__extra",
    "TimeDimension('metric_time', 'month')",
    "Dimension('x__y').grain('month')",
    "-metric_time",
    "9223372036854775808",
    "-1",
    "1e400",
    "<<",
    "$source_schema",
    "select 1; select 2",
    "select",
];

/// A mutated copy of `seed` (sometimes crossed with another seed).
pub fn mutate(seed: &Input, all: &[Input], rng: &mut Rng) -> Input {
    let mut input = seed.clone();
    input.query = query(seed, rng);
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(10) {
            0..=5 => node_mutation(&mut input, all, rng),
            6..=7 => text_mutation(&mut input, rng),
            8 => config_mutation(&mut input, rng),
            _ => {} // the query alone
        }
    }
    input
}

/// A file to mutate: a YAML file (not CSV, unless it is the only kind).
fn pick_file(input: &Input, rng: &mut Rng) -> Option<usize> {
    let yaml: Vec<usize> = (0..input.files.len())
        .filter(|&i| !input.files[i].0.ends_with(".csv"))
        .collect();
    if yaml.is_empty() || rng.one_in(12) {
        (!input.files.is_empty()).then(|| rng.below(input.files.len()))
    } else {
        Some(yaml[rng.below(yaml.len())])
    }
}

fn node_mutation(input: &mut Input, all: &[Input], rng: &mut Rng) {
    let Some(i) = pick_file(input, rng) else {
        return;
    };
    if input.files[i].0.ends_with(".csv") {
        return text_mutation_at(input, i, rng);
    }
    let Ok(mut docs) = yaml::parse(FileId(0), &input.files[i].1) else {
        return text_mutation_at(input, i, rng);
    };
    if docs.is_empty() {
        return;
    }
    // A subtree from another seed's file, for crossing over.
    let donor = all
        .get(rng.below(all.len()))
        .and_then(|s| s.files.get(rng.below(s.files.len().max(1))))
        .filter(|(n, _)| !n.ends_with(".csv"))
        .and_then(|(_, t)| yaml::parse(FileId(0), t).ok())
        .and_then(|d| d.into_iter().next());
    let d = rng.below(docs.len());
    let count = count_nodes(&docs[d]);
    let target = rng.below(count);
    let op = rng.below(9);
    let mut n = 0usize;
    visit_mut(&mut docs[d], &mut n, target, &mut |node| match op {
        0 => delete_entry(node, rng),
        1 => duplicate_entry(node, rng),
        2 => swap_entries(node, rng),
        3 => change_type(node, rng),
        4 | 5 => inject(node, rng),
        6 => {
            if let Some(donor) = &donor {
                let c = count_nodes(donor);
                let mut k = 0;
                let pick = rng.below(c);
                if let Some(sub) = nth(donor, &mut k, pick) {
                    *node = sub.clone();
                }
            }
        }
        7 => rename_key(node, rng),
        _ => wrap(node, rng),
    });
    if rng.one_in(10) {
        // Junk or a second document.
        docs.push(scalar_node(NodeKind::Str(
            rng.pick(HOSTILE).copied().unwrap_or("x").into(),
        )));
    }
    input.files[i].1 = emit::documents(&docs);
}

fn scalar_node(kind: NodeKind) -> Node {
    Node {
        span: Span::DUMMY,
        kind,
    }
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.kind {
        NodeKind::Seq(v) => v.iter().map(count_nodes).sum(),
        NodeKind::Map(v) => v.iter().map(|(k, v)| count_nodes(k) + count_nodes(v)).sum(),
        _ => 0,
    }
}

fn nth<'a>(n: &'a Node, k: &mut usize, target: usize) -> Option<&'a Node> {
    if *k == target {
        return Some(n);
    }
    *k += 1;
    match &n.kind {
        NodeKind::Seq(v) => v.iter().find_map(|c| nth(c, k, target)),
        NodeKind::Map(v) => v
            .iter()
            .find_map(|(a, b)| nth(a, k, target).or_else(|| nth(b, k, target))),
        _ => None,
    }
}

/// Apply `f` to the `target`-th node in pre-order.
fn visit_mut(n: &mut Node, k: &mut usize, target: usize, f: &mut dyn FnMut(&mut Node)) -> bool {
    if *k == target {
        f(n);
        return true;
    }
    *k += 1;
    match &mut n.kind {
        NodeKind::Seq(v) => v.iter_mut().any(|c| visit_mut(c, k, target, f)),
        NodeKind::Map(v) => v
            .iter_mut()
            .any(|(a, b)| visit_mut(a, k, target, f) || visit_mut(b, k, target, f)),
        _ => false,
    }
}

fn delete_entry(n: &mut Node, rng: &mut Rng) {
    match &mut n.kind {
        NodeKind::Map(v) if !v.is_empty() => {
            let i = rng.below(v.len());
            v.remove(i);
        }
        NodeKind::Seq(v) if !v.is_empty() => {
            let i = rng.below(v.len());
            v.remove(i);
        }
        _ => n.kind = NodeKind::Null,
    }
}

fn duplicate_entry(n: &mut Node, rng: &mut Rng) {
    match &mut n.kind {
        NodeKind::Map(v) if !v.is_empty() => {
            let i = rng.below(v.len());
            let e = v[i].clone();
            v.push(e);
        }
        NodeKind::Seq(v) if !v.is_empty() => {
            let i = rng.below(v.len());
            let e = v[i].clone();
            v.insert(i, e);
        }
        _ => {}
    }
}

fn swap_entries(n: &mut Node, rng: &mut Rng) {
    match &mut n.kind {
        NodeKind::Map(v) if v.len() >= 2 => {
            let (a, b) = (rng.below(v.len()), rng.below(v.len()));
            // Swap the values of two keys.
            let va = v[a].1.clone();
            v[a].1 = v[b].1.clone();
            v[b].1 = va;
        }
        NodeKind::Seq(v) if v.len() >= 2 => {
            let (a, b) = (rng.below(v.len()), rng.below(v.len()));
            v.swap(a, b);
        }
        _ => {}
    }
}

fn change_type(n: &mut Node, rng: &mut Rng) {
    let text = match &n.kind {
        NodeKind::Str(s) => s.clone(),
        NodeKind::Int(i) => i.to_string(),
        _ => "x".into(),
    };
    n.kind = match rng.below(8) {
        0 => NodeKind::Null,
        1 => NodeKind::Bool(rng.one_in(2)),
        2 => NodeKind::Int(match rng.below(4) {
            0 => i64::MAX,
            1 => i64::MIN,
            2 => -1,
            _ => text.len() as i64,
        }),
        3 => NodeKind::Float(match rng.below(3) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            _ => 0.5,
        }),
        4 => NodeKind::Str(text),
        5 => NodeKind::Seq(vec![n.clone()]),
        6 => NodeKind::Map(vec![(scalar_node(NodeKind::Str(text)), n.clone())]),
        _ => NodeKind::Seq(Vec::new()),
    };
}

fn inject(n: &mut Node, rng: &mut Rng) {
    let deep;
    let hostile = if rng.one_in(12) {
        // Deeply nested parentheses, for the expression parsers.
        let d = [60, 1_000, 100_000][rng.below(3)];
        deep = format!("{}x{}", "(".repeat(d), ")".repeat(d));
        deep.as_str()
    } else {
        rng.pick(HOSTILE).copied().unwrap_or("")
    };
    match &mut n.kind {
        NodeKind::Str(s) => {
            *s = match rng.below(4) {
                0 => hostile.to_string(),
                1 => format!("{s}{hostile}"),
                2 => format!("{hostile}{s}"),
                _ => format!("({s}) AND {hostile}"),
            }
        }
        NodeKind::Map(v) if !v.is_empty() => {
            let i = rng.below(v.len());
            v[i].1 = scalar_node(NodeKind::Str(hostile.into()));
        }
        _ => n.kind = NodeKind::Str(hostile.into()),
    }
}

fn rename_key(n: &mut Node, rng: &mut Rng) {
    if let NodeKind::Map(v) = &mut n.kind {
        if v.is_empty() {
            return;
        }
        let i = rng.below(v.len());
        if let NodeKind::Str(k) = &mut v[i].0.kind {
            *k = match rng.below(4) {
                0 => format!("{k}s"),
                1 => k.chars().skip(1).collect(),
                2 => "<<".into(),
                _ => k.to_uppercase(),
            };
        }
    }
}

/// Wrap a node a few levels deep (deep nesting beyond the limit is a text mutation).
fn wrap(n: &mut Node, rng: &mut Rng) {
    for _ in 0..1 + rng.below(5) {
        let inner = n.clone();
        n.kind = if rng.one_in(2) {
            NodeKind::Seq(vec![inner])
        } else {
            NodeKind::Map(vec![(scalar_node(NodeKind::Str("a".into())), inner)])
        };
    }
}

fn text_mutation(input: &mut Input, rng: &mut Rng) {
    if let Some(i) = pick_file(input, rng) {
        text_mutation_at(input, i, rng);
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn text_mutation_at(input: &mut Input, i: usize, rng: &mut Rng) {
    let text = &mut input.files[i].1;
    let at = floor_boundary(text, rng.below(text.len() + 1));
    match rng.below(9) {
        0 => text.truncate(at),
        1 => text.insert_str(at, rng.pick(HOSTILE).copied().unwrap_or("")),
        2 => {
            // Deep block nesting: a list of lists, or mappings.
            let depth = [50, 99, 100, 101, 500, 10_000][rng.below(6)];
            let deep = if rng.one_in(2) {
                format!("{}x\n", "- ".repeat(depth))
            } else {
                let mut s = String::new();
                for d in 0..depth.min(6_000) {
                    s.push_str(&" ".repeat(d));
                    s.push_str("a:\n");
                }
                s
            };
            if rng.one_in(2) {
                *text = deep;
            } else {
                text.push_str(&format!("\nextra:\n  {}", deep.replace('\n', "\n  ")));
            }
        }
        3 => {
            let depth = [10, 200, 300, 5_000][rng.below(4)];
            text.insert_str(at, &format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        }
        4 => {
            // Delete a line.
            let lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let k = rng.below(lines.len());
                *text = lines
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
        5 => {
            // Re-indent a line.
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            if !lines.is_empty() {
                let k = rng.below(lines.len());
                lines[k] = format!("{}{}", " ".repeat(rng.below(5)), lines[k].trim_start());
                *text = lines.join("\n");
            }
        }
        6 => {
            // Anchors, aliases and merge keys.
            text.push_str("\nbase: &b {name: x, type: simple}\nother:\n  <<: *b\n  label: y\n");
        }
        7 => {
            // A very long line.
            text.insert_str(at, &"y".repeat(1 << (10 + rng.below(10))));
        }
        _ => {
            let a = floor_boundary(text, rng.below(text.len() + 1));
            let b = floor_boundary(text, rng.below(text.len() + 1));
            let (a, b) = (a.min(b), a.max(b));
            let chunk = text[a..b].to_string();
            let at = floor_boundary(text, at);
            text.insert_str(at, &chunk);
        }
    }
}

fn config_mutation(input: &mut Input, rng: &mut Rng) {
    let extra = [
        "dialect: nosuch\n",
        "dialect: bigquery\n",
        "paths: [\"../../..\"]\n",
        "paths: [\"/\"]\n",
        "duckdb: ../outside.duckdb\n",
        "vars: {x: 1}\n",
        "relations:\n  source_schema: \"x; drop\"\n",
        "relations:\n  source_schema: \"a.b.c.d\"\n",
        "people: [{name: a}, {name: a}]\n",
        "---\njunk: 1\n",
        "- a list\n",
    ];
    let line = rng.pick(&extra).copied().unwrap_or("");
    let c = input.config.get_or_insert_with(String::new);
    if rng.one_in(3) {
        *c = line.to_string();
    } else {
        c.push('\n');
        c.push_str(line);
    }
}

/// Query flags: names from the seed (so queries reach the planner), sometimes hostile.
fn query(seed: &Input, rng: &mut Rng) -> Query {
    let names = crate::seeds::names(seed);
    let pick_name = |rng: &mut Rng| -> String {
        if rng.one_in(8) {
            rng.pick(HOSTILE).copied().unwrap_or("").to_string()
        } else {
            rng.pick(&names).cloned().unwrap_or_default()
        }
    };
    let mut q = Query {
        dialect: [
            "duckdb",
            "postgres",
            "snowflake",
            "bigquery",
            "databricks",
            "redshift",
            "trino",
        ][rng.below(7)]
        .to_string(),
        ..Query::default()
    };
    for _ in 0..1 + rng.below(2) {
        q.metrics.push(pick_name(rng));
    }
    for _ in 0..rng.below(3) {
        let g = match rng.below(4) {
            0 => "metric_time".to_string(),
            1 => format!(
                "metric_time__{}",
                ["day", "week", "month", "quarter", "year", "fortnight"][rng.below(6)]
            ),
            _ => {
                let (a, b) = (pick_name(rng), pick_name(rng));
                format!("{a}__{b}")
            }
        };
        q.group_by.push(g);
    }
    if rng.one_in(3) {
        let (a, b) = (pick_name(rng), pick_name(rng));
        q.where_.push(match rng.below(3) {
            0 => format!("{{{{ Dimension('{a}__{b}') }}}} = 'x'"),
            1 => rng.pick(HOSTILE).copied().unwrap_or("").to_string(),
            _ => format!(
                "{{{{ TimeDimension('metric_time', 'day') }}}} >= '2020-01-01' AND {}",
                rng.pick(HOSTILE).copied().unwrap_or("")
            ),
        });
    }
    if rng.one_in(4) {
        q.order.push(format!("-{}", q.metrics[0]));
    }
    if rng.one_in(4) {
        q.limit = Some([0, 1, 100, i64::MAX as u64][rng.below(4)]);
    }
    if rng.one_in(5) {
        q.start_time = Some(
            [
                "2020-01-01",
                "not a date",
                "2020-13-45",
                "9999-12-31 23:59:59",
            ][rng.below(4)]
            .into(),
        );
    }
    q
}
