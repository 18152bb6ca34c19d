//! The CTE builder: every CTE a plan makes is named, deduplicated and ordered here.
//!
//! It owns the CTE name allocator (names never shadow a relation the query reads, see
//! [`super::names`]), the scans (one CTE per semantic model read, projecting the columns the rest of
//! the plan asks for) and the CTEs after the scans, in dependency order. Builders hand it a
//! `Select` and get back the name of the CTE that computes it: a `Select` identical to an earlier
//! one is not added again.

use super::names::ReservedNames;
use crate::model::{ElementId, Model, Relation};
use crate::sql::{Cte, Expr, Select, SelectItem, TableRef};
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// The CTEs of a plan under construction.
pub(crate) struct CteBuilder {
    /// Relation names the query may read, which no CTE may take.
    reserved: ReservedNames,
    /// Names of the CTEs made so far, lower-cased (scans are named after their semantic models).
    names: BTreeSet<String>,
    /// Columns each semantic model's scan CTE projects: element name -> SQL expr.
    scans: IndexMap<usize, IndexMap<String, String>>,
    /// The CTE name of each semantic model's scan.
    scan_names: IndexMap<usize, String>,
    /// The CTEs after the scans, in dependency order.
    ctes: Vec<Cte>,
}

impl CteBuilder {
    pub(crate) fn new(reserved: ReservedNames) -> CteBuilder {
        CteBuilder {
            reserved,
            names: BTreeSet::new(),
            scans: IndexMap::new(),
            scan_names: IndexMap::new(),
            ctes: Vec::new(),
        }
    }

    /// A CTE name not used yet, not the name of a relation the query may read (see
    /// [`super::names`]), and not the name of a semantic model, which names its scan; names
    /// compare case-insensitively.
    pub(crate) fn fresh_name(&mut self, base: &str) -> String {
        self.allocate_name(base, false)
    }

    fn allocate_name(&mut self, base: &str, for_scan: bool) -> String {
        let taken = |n: &str, s: &Self| {
            s.names.contains(&n.to_ascii_lowercase())
                || s.reserved.is_relation(n)
                || (!for_scan && s.reserved.is_model(n))
        };
        let mut name = base.to_string();
        let mut i = 1;
        while taken(&name, self) {
            i += 1;
            name = format!("{base}_{i}");
        }
        self.names.insert(name.to_ascii_lowercase());
        name
    }

    /// Add a CTE under a fresh name derived from `base`; returns the name. A CTE that computes
    /// exactly what an earlier one does is not added again: the earlier one's name is returned.
    pub(crate) fn add(&mut self, base: &str, comment: String, select: Select) -> String {
        if let Some(c) = self.ctes.iter().find(|c| c.select == select) {
            return c.name.clone();
        }
        let name = self.fresh_name(base);
        self.ctes.push(Cte {
            name: name.clone(),
            comment,
            select,
        });
        name
    }

    /// The CTE name of a semantic model's scan: the model's name, unless a relation the query
    /// reads has that name.
    pub(crate) fn scan_name(&mut self, model: &Model, sm: usize) -> String {
        if let Some(n) = self.scan_names.get(&sm) {
            return n.clone();
        }
        let name = self.allocate_name(&model.semantic_models[sm].name, true);
        self.scan_names.insert(sm, name.clone());
        name
    }

    /// Ask the scan of semantic model `sm` to project `column` as `expr_sql`.
    pub(crate) fn project(&mut self, sm: usize, column: &str, expr_sql: &str) {
        self.scans
            .entry(sm)
            .or_default()
            .entry(column.to_string())
            .or_insert_with(|| expr_sql.to_string());
    }

    /// Ask the scan of semantic model `sm` to project a dimension or entity (by id) under its
    /// name; nothing when the model has no element of that id.
    pub(crate) fn project_element(&mut self, model: &Model, sm: usize, element: ElementId) {
        let e = if let Some((_, d)) = model.dimension_of(sm, element) {
            &d.expr
        } else if let Some((_, en)) = model.entity_of(sm, element) {
            &en.expr
        } else {
            return;
        };
        self.project(sm, model.element_name(element), e);
    }

    /// Every CTE of the plan: the scans, then the others in the order they were made (taken out
    /// of the builder).
    pub(crate) fn finish(&mut self, model: &Model) -> Vec<Cte> {
        let scanned: Vec<usize> = self.scans.keys().copied().collect();
        for m in scanned {
            self.scan_name(model, m);
        }
        let mut out: Vec<Cte> = self
            .scans
            .iter()
            .map(|(sm, cols)| scan_cte(model, *sm, cols, &self.scan_names[sm]))
            .collect();
        out.append(&mut self.ctes);
        out
    }
}

/// The CTE reading semantic model `sm` under `name`, projecting `cols`.
fn scan_cte(model: &Model, sm: usize, cols: &IndexMap<String, String>, name: &str) -> Cte {
    let m = &model.semantic_models[sm];
    // Business durations (`calendar::duration`): the clock joins only when used, for the
    // durations the scan reads and only those; a table the materialisation cache made of the
    // relation with every duration serves any of them.
    let business = m
        .business
        .as_ref()
        .map(|b| (b, b.read_by(cols.iter())))
        .filter(|(_, read)| !read.is_empty());
    let subset;
    let relation = match &business {
        None => &m.relation,
        Some((b, read)) if b.table().is_some() || read.len() == b.columns.len() => b.relation(),
        Some((b, read)) => {
            subset = b.relation_of(read);
            &subset
        }
    };
    let (from, what) = match relation {
        Relation::Table(t) => (
            TableRef::Table {
                name: t.clone(),
                alias: None,
            },
            t.clone(),
        ),
        Relation::Query(q, _) => (
            TableRef::Subquery {
                sql: std::sync::Arc::clone(q),
                model: sm,
                business: business.is_some(),
                durations: business.map(|(_, read)| read).unwrap_or_default(),
                alias: format!("{}_sql", m.name),
            },
            "its SQL query".to_string(),
        ),
    };
    let columns = cols
        .iter()
        .map(|(name, e)| SelectItem {
            expr: if is_simple_ident(e) {
                Expr::bare(e)
            } else {
                Expr::UserSql {
                    text: e.clone(),
                    span: m.span,
                }
            },
            alias: Some(name.clone()),
        })
        .collect();
    Cte {
        name: name.to_string(),
        comment: format!("Read semantic model {} from {what}", m.name),
        select: Select {
            columns,
            from: Some(from),
            ..Select::default()
        },
    }
}

fn is_simple_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
