//! The final SELECT: relations combined on the group-by keys, metrics computed from their columns;
//! then order and limit.

use super::items::{Item, Target};
use super::metrics::MetricExpr;
use super::Planner;
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::expr;
use crate::sql::{Expr, Join, JoinKind, Select, SelectItem, SqlPart, TableRef};

impl<'m> Planner<'m> {
    /// The (CTE, column) of a plain aggregation leaf.
    fn leaf_ref(&self, id: usize) -> Option<(String, String)> {
        self.leaves.get(id).cloned().flatten()
    }

    fn collect_relations(&self, e: &MetricExpr, out: &mut Vec<String>) -> Option<()> {
        let mut add = |c: String| {
            if !out.contains(&c) {
                out.push(c);
            }
        };
        match e {
            MetricExpr::Leaf(id, _) => add(self.leaf_ref(*id)?.0),
            MetricExpr::Col { cte, .. } => add(cte.clone()),
            MetricExpr::Ratio(a, b) => {
                self.collect_relations(a, out)?;
                self.collect_relations(b, out)?;
            }
            MetricExpr::Formula(_, inputs) => {
                for i in inputs.values() {
                    self.collect_relations(i, out)?;
                }
            }
        }
        Some(())
    }

    /// A SELECT computing `metrics` from their relations, combined on `keys`.
    pub(crate) fn combine_select(
        &mut self,
        metrics: &[(String, MetricExpr)],
        keys: &[String],
    ) -> Option<Select> {
        let mut rels = Vec::new();
        for (_, e) in metrics {
            if self.collect_relations(e, &mut rels).is_none() {
                self.err(Diagnostic::error(
                    codes::INVALID_QUERY,
                    "a metric of the query could not be planned",
                ));
                return None;
            }
        }
        let mut body = Select::default();
        let Some(first) = rels.first().cloned() else {
            self.err(Diagnostic::error(
                codes::INVALID_QUERY,
                "the query reads no measures",
            ));
            return None;
        };
        if rels.len() >= 3 && !keys.is_empty() {
            // Three or more relations: every combination of keys once (a UNION of each relation's
            // keys), then each relation left-joined to it. Chaining FULL OUTER JOINs instead needs
            // the COALESCE of every earlier relation's key in each join condition, which grows
            // with the square of the number of relations.
            let keys_of = |r: &String| Select {
                columns: keys
                    .iter()
                    .map(|k| SelectItem {
                        expr: Expr::bare(k),
                        alias: Some(k.clone()),
                    })
                    .collect(),
                from: Some(TableRef::Cte {
                    name: r.clone(),
                    alias: None,
                }),
                ..Select::default()
            };
            let mut all = keys_of(&first);
            all.union = rels[1..].iter().map(keys_of).collect();
            let keys_cte = self.add_cte(
                "group_keys",
                "Every combination of group-by values of the aggregations below".to_string(),
                all,
            );
            body.from = Some(TableRef::Cte {
                name: keys_cte.clone(),
                alias: None,
            });
            for r in &rels {
                body.joins.push(Join {
                    kind: JoinKind::Left,
                    table: TableRef::Cte {
                        name: r.clone(),
                        alias: None,
                    },
                    on: keys
                        .iter()
                        .map(|k| {
                            Expr::NullSafeEq(
                                Box::new(Expr::col(&keys_cte, k)),
                                Box::new(Expr::col(r, k)),
                            )
                        })
                        .collect(),
                });
            }
            for k in keys {
                body.columns.push(SelectItem {
                    expr: Expr::col(&keys_cte, k),
                    alias: Some(k.clone()),
                });
            }
            return self.metric_columns(body, metrics, false);
        }
        body.from = Some(TableRef::Cte {
            name: first,
            alias: None,
        });
        for i in 1..rels.len() {
            let on: Vec<Expr> = keys
                .iter()
                .map(|k| {
                    let left = Expr::Coalesce(rels[..i].iter().map(|r| Expr::col(r, k)).collect());
                    Expr::NullSafeEq(Box::new(left), Box::new(Expr::col(&rels[i], k)))
                })
                .collect();
            body.joins.push(Join {
                kind: if keys.is_empty() {
                    JoinKind::Cross
                } else {
                    JoinKind::FullOuter
                },
                table: TableRef::Cte {
                    name: rels[i].clone(),
                    alias: None,
                },
                on,
            });
        }
        let single = rels.len() == 1;
        for k in keys {
            let e = if single {
                Expr::bare(k)
            } else {
                Expr::Coalesce(rels.iter().map(|r| Expr::col(r, k)).collect())
            };
            body.columns.push(SelectItem {
                expr: e,
                alias: Some(k.clone()),
            });
        }
        self.metric_columns(body, metrics, single)
    }

    /// Add the metrics' columns to a combining SELECT.
    fn metric_columns(
        &mut self,
        mut body: Select,
        metrics: &[(String, MetricExpr)],
        single: bool,
    ) -> Option<Select> {
        for (name, e) in metrics {
            let x = self.metric_expr(e, single)?;
            // A column already named after the metric needs no alias.
            let expr = match x {
                Expr::Col {
                    table: None,
                    name: ref c,
                } if c == name => x,
                x => Expr::MetricValue(Box::new(x)),
            };
            body.columns.push(SelectItem {
                expr,
                alias: Some(name.clone()),
            });
        }
        Some(body)
    }

    fn column_expr(&self, cte: &str, col: &str, fill: Option<i64>, single: bool) -> Expr {
        let c = if single {
            Expr::bare(col)
        } else {
            Expr::col(cte, col)
        };
        match fill {
            Some(v) => Expr::Coalesce(vec![c, Expr::Int(v)]),
            None => c,
        }
    }

    fn metric_expr(&self, e: &MetricExpr, single: bool) -> Option<Expr> {
        Some(match e {
            MetricExpr::Leaf(id, fill) => {
                let (cte, col) = self.leaf_ref(*id)?;
                self.column_expr(&cte, &col, *fill, single)
            }
            MetricExpr::Col { cte, col, fill } => self.column_expr(cte, col, *fill, single),
            MetricExpr::Ratio(n, den) => {
                let n = self.metric_expr(n, single)?;
                let den = self.metric_expr(den, single)?;
                Expr::SafeDivide(Box::new(n), Box::new(den))
            }
            MetricExpr::Formula(f, inputs) => {
                // The formula's text with each input in place (parenthesised unless a column).
                let mut failed = false;
                let mut parts = Vec::new();
                for (t, is_input) in f.tokens.iter().zip(f.input_flags()) {
                    let input = if is_input {
                        inputs.get(&t.name())
                    } else {
                        None
                    };
                    let Some(input) = input else {
                        parts.push(SqlPart::Text(t.text.clone()));
                        continue;
                    };
                    match self.metric_expr(input, single) {
                        Some(x) => parts.push(SqlPart::Expr(match input {
                            MetricExpr::Leaf(_, None) | MetricExpr::Col { fill: None, .. } => x,
                            _ => Expr::Paren(Box::new(x)),
                        })),
                        None => failed = true,
                    }
                }
                if failed {
                    return None;
                }
                Expr::Splice(parts)
            }
        })
    }

    pub(crate) fn order_and_limit(
        &mut self,
        body: &mut Select,
        req: &super::QueryRequest,
        columns: &[String],
        items: &[Item],
    ) {
        for o in &req.order_by {
            let loc = crate::yaml::locate(&self.model.sources, o.span, &o.value);
            let (r, desc) = match expr::parse_order_item_at(&o.value, &loc) {
                Ok(x) => x,
                Err(d) => {
                    self.err(d);
                    continue;
                }
            };
            // An order item names a metric or a group-by item.
            let name = if r.entity_path.is_empty() && columns.contains(&r.name) {
                Some(r.name.clone())
            } else {
                match self.reference_to_item(&r) {
                    Some(it) => {
                        if columns.contains(&it.out) {
                            Some(it.out)
                        } else {
                            // `metric_time` without grain matches metric_time at any grain in the query.
                            items
                                .iter()
                                .find(|x| {
                                    matches!(
                                        (&x.target, &it.target),
                                        (
                                            Target::MetricTime { .. },
                                            Target::MetricTime {
                                                grain: None,
                                                date_part: None
                                            }
                                        )
                                    )
                                })
                                .map(|x| x.out.clone())
                                .or_else(|| {
                                    // A shortened entity path matches the full one.
                                    items
                                        .iter()
                                        .find(|x| x.out.ends_with(&format!("__{}", it.out)))
                                        .map(|x| x.out.clone())
                                })
                        }
                    }
                    None => None,
                }
            };
            match name {
                Some(n) => body.order_by.push((Expr::bare(&n), desc)),
                None => {
                    let mut d = Diagnostic::error(
                        codes::INVALID_QUERY,
                        format!(
                            "cannot order by `{}`: it is not a queried metric or group-by item",
                            o.value
                        ),
                    )
                    .at(o.span);
                    if let Some(s) = did_you_mean(&r.name, columns.iter().map(String::as_str)) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.err(d.with_help(format!("the query's columns: {}", columns.join(", "))));
                }
            }
        }
        body.limit = req.limit;
    }
}
