//! Look-ups on a resolved [`Model`]: by name through the [`ModelIndex`] hash indexes, the
//! rendered-SQL cache, time spines and custom granularities.

use super::{
    Measure, MeasureRef, Metric, MetricId, Model, ModelIndex, Relation, SemanticModel, TimeSpine,
};
use crate::diag::Diagnostic;
use crate::time::Grain;
use std::sync::Arc;

/// Every part of the tables that table-backed semantic models read (`sql:` relations are read
/// when the SQL stage renders them for a dialect: `sql::reads`).
fn table_relations(models: &[SemanticModel]) -> std::collections::BTreeSet<String> {
    models
        .iter()
        .filter_map(|m| match &m.relation {
            Relation::Table(t) => Some(crate::text::relation_parts(t)),
            Relation::Query(..) => None,
        })
        .flatten()
        .collect()
}

impl ModelIndex {
    pub fn build(models: &[SemanticModel]) -> ModelIndex {
        let mut ix = ModelIndex {
            built_for: models.len(),
            elements: super::elements::Elements::build(models),
            ..ModelIndex::default()
        };
        ix.model_names = Arc::new(models.iter().map(|m| m.name.to_ascii_lowercase()).collect());
        ix.table_relations = Arc::new(table_relations(models));
        for (mi, m) in models.iter().enumerate() {
            for (i, x) in m.measures.iter().enumerate() {
                ix.measures.entry(x.name.clone()).or_insert((mi, i));
            }
        }
        ix
    }
}

impl Model {
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.get(name)
    }
    /// The id of the metric named `name`.
    pub fn metric_id(&self, name: &str) -> Option<MetricId> {
        self.metrics
            .get_index_of(name)
            .map(|i| MetricId(u32::try_from(i).unwrap_or(u32::MAX)))
    }
    /// Every metric with its id, in project order.
    pub fn metrics_by_id(&self) -> impl Iterator<Item = (MetricId, &Metric)> {
        self.metrics
            .values()
            .enumerate()
            .map(|(i, m)| (MetricId(u32::try_from(i).unwrap_or(u32::MAX)), m))
    }
    /// The metric an id names (`None` for [`MetricId::UNBOUND`]).
    pub fn metric_by_id(&self, id: MetricId) -> Option<&Metric> {
        self.metrics.get_index(id.index()).map(|(_, m)| m)
    }
    pub fn measure(&self, r: &MeasureRef) -> &Measure {
        &self.semantic_models[r.model].measures[r.measure]
    }
    pub fn semantic_model(&self, name: &str) -> Option<(usize, &SemanticModel)> {
        self.semantic_models
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == name)
    }
    fn index(&self) -> Option<&ModelIndex> {
        (self.index.built_for == self.semantic_models.len() && !self.semantic_models.is_empty())
            .then_some(&self.index)
    }
    /// The SQL of semantic model `model` (a `sql:` query) rendered for the dialect named `dialect`
    /// (with its overrides of the built-in templates), or None when the model reads a table.
    /// Read semantic model `model`'s rows from `table` from now on, in place of its relation (a
    /// `sql:` whose rows were stored there): its relations with business durations are made again
    /// over the table (the query still computes the durations), and what was rendered or derived
    /// from its former relation is dropped. A benchmark reads models this way to time only the
    /// SQL a query adds on top of them.
    pub fn read_model_from(&mut self, model: usize, table: &str) {
        let Some(sm) = self.semantic_models.get_mut(model) else {
            return;
        };
        sm.relation = Relation::Table(table.to_string());
        if let Some(b) = sm.business.as_mut() {
            b.read_rows_from(table);
        }
        if let Ok(mut c) = self.rendered_sql.lock() {
            c.retain(|k, _| k.0 != model);
        }
        if let Ok(mut c) = self.relation_reads.lock() {
            c.retain(|k, _| k.0 != model);
        }
        if let Ok(mut c) = self.with_clock.lock() {
            c.retain(|k, _| k.0 != model);
        }
    }

    pub fn render_model_sql(
        &self,
        model: usize,
        dialect: &str,
    ) -> Option<Result<Arc<str>, Diagnostic>> {
        self.render_relation_sql(model, None, dialect)
    }
    /// `f` of [`Self::render_model_sql`]'s rendering, read where the model keeps it instead of
    /// copied out (a `sql:` renders to kilobytes; fragment checks only read it). `f` runs with the
    /// renderings locked, so it must not render.
    pub(crate) fn with_model_sql<R>(
        &self,
        model: usize,
        dialect: &str,
        f: impl FnOnce(&Result<Arc<str>, Diagnostic>) -> R,
    ) -> Option<R> {
        if let Ok(c) = self.rendered_sql.lock() {
            // The key of a rendering without business durations (as `render_relation_sql`'s).
            if let Some(r) = c.get(&(model, dialect.to_string())) {
                return Some(f(r));
            }
        }
        self.render_model_sql(model, dialect).map(|r| f(&r))
    }
    /// [`Self::render_model_sql`], of the relation with the model's business durations
    /// `business` (positions among them: [`super::business::Wrapped::relation_of`]) when given (each
    /// set cached apart).
    pub fn render_relation_sql(
        &self,
        model: usize,
        business: Option<&[usize]>,
        dialect: &str,
    ) -> Option<Result<Arc<str>, Diagnostic>> {
        let sm = self.semantic_models.get(model)?;
        let key = match (&sm.business, business) {
            (Some(_), Some(ds)) => (model, format!("{dialect}#business{ds:?}")),
            _ => (model, dialect.to_string()),
        };
        if let Some(r) = self
            .rendered_sql
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return Some(r);
        }
        let subset;
        let relation = match (&sm.business, business) {
            (Some(b), Some(ds)) => {
                subset = b.relation_of(ds);
                &subset
            }
            _ => &sm.relation,
        };
        let Relation::Query(q, span) = relation else {
            return None;
        };
        let r =
            crate::jinja::render_sql(q, *span, &self.macros, dialect, &self.vars).map(Arc::from);
        if let Ok(mut c) = self.rendered_sql.lock() {
            c.insert(key, r.clone());
        }
        Some(r)
    }
    /// `make()`, the business relation of semantic model `model` rendered for `dialect` (from
    /// `rendered`) with its clock written in `form`, kept for the same `rendered` text.
    pub(crate) fn with_clock_cached(
        &self,
        model: usize,
        durations: &[usize],
        dialect: &str,
        form: crate::calendar::duration::ClockForm,
        rendered: &Arc<str>,
        make: impl FnOnce() -> String,
    ) -> Arc<str> {
        let key = (
            model,
            format!("{dialect}#business{durations:?}#clock#{form:?}"),
        );
        let hit = self.with_clock.lock().ok().and_then(|c| {
            c.get(&key)
                .filter(|(from, _)| Arc::ptr_eq(from, rendered) || from == rendered)
                .map(|(_, out)| out.clone())
        });
        if let Some(out) = hit {
            return out;
        }
        let out: Arc<str> = Arc::from(make());
        if let Ok(mut c) = self.with_clock.lock() {
            c.insert(key, (rendered.clone(), out.clone()));
        }
        out
    }

    /// Every part of the tables that table-backed semantic models read, lower-cased.
    pub(crate) fn table_relation_parts(&self) -> Arc<std::collections::BTreeSet<String>> {
        match self.index() {
            Some(ix) => ix.table_relations.clone(),
            None => Arc::new(table_relations(&self.semantic_models)),
        }
    }

    /// The names of the semantic models, lower-cased.
    pub(crate) fn model_names_lowercase(&self) -> Arc<std::collections::HashSet<String>> {
        match self.index() {
            Some(ix) => ix.model_names.clone(),
            None => Arc::new(
                self.semantic_models
                    .iter()
                    .map(|m| m.name.to_ascii_lowercase())
                    .collect(),
            ),
        }
    }

    /// The relation names a `sql:` relation reads (semantic model, business, dialect name), if
    /// computed from `text` before.
    pub(crate) fn relation_reads_cached(
        &self,
        key: (usize, bool, &'static str),
        text: &str,
    ) -> Option<Arc<std::collections::BTreeSet<String>>> {
        let cache = self.relation_reads.lock().ok()?;
        cache
            .get(&key)
            .filter(|(t, _)| t == text)
            .map(|(_, r)| r.clone())
    }

    pub(crate) fn cache_relation_reads(
        &self,
        key: (usize, bool, &'static str),
        text: &str,
        reads: Arc<std::collections::BTreeSet<String>>,
    ) {
        if let Ok(mut c) = self.relation_reads.lock() {
            c.insert(key, (text.to_string(), reads));
        }
    }

    /// Find a measure by name across all semantic models.
    pub fn find_measure(&self, name: &str) -> Option<(usize, usize)> {
        if let Some(&(mi, i)) = self.index().and_then(|ix| ix.measures.get(name)) {
            // Measures added after the index was built (inline `agg` metrics) are appended, so an
            // indexed measure is still the first of its name.
            if self.semantic_models[mi]
                .measures
                .get(i)
                .is_some_and(|x| x.name == name)
            {
                return Some((mi, i));
            }
        }
        for (mi, m) in self.semantic_models.iter().enumerate() {
            if let Some(i) = m.measures.iter().position(|x| x.name == name) {
                return Some((mi, i));
            }
        }
        None
    }
    /// All measure names, for suggestions.
    pub fn measure_names(&self) -> impl Iterator<Item = &str> {
        self.semantic_models
            .iter()
            .flat_map(|m| m.measures.iter().map(|x| x.name.as_str()))
    }
    /// The time spine with the finest grain at most `grain`, preferring the coarsest such.
    pub fn spine_for(&self, grain: Grain) -> Option<&TimeSpine> {
        self.time_spines
            .iter()
            .filter(|s| s.grain <= grain)
            .max_by_key(|s| s.grain)
    }
    /// A custom granularity by name: (spine, column).
    pub fn custom_granularity(&self, name: &str) -> Option<(&TimeSpine, &str)> {
        self.time_spines.iter().find_map(|s| {
            s.custom_granularities
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| (s, c.as_str()))
        })
    }
    /// The value of a project variable, for `{{ var('x') }}`.
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        self.vars.get(name)
    }
}
