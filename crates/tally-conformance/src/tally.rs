//! Runs MetricFlow's integration cases through tally's public pipeline.
//!
//! Each case becomes a [`QueryRequest`] exactly as a user would state it on the command line (group-by
//! items, where filter, time constraint, order, limit, saved query); the manifest is loaded with the
//! normal loader and compiled with [`tally_core::pipeline::compile`] for DuckDB.

use crate::Case;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::{Filter, Model};
use tally_core::plan::QueryRequest;
use tally_core::source::Span;
use tally_core::yaml::Spanned;

/// Compiles cases with tally, loading each manifest once.
#[derive(Default)]
pub struct TallyCompiler {
    models: RefCell<BTreeMap<PathBuf, std::rc::Rc<Model>>>,
}

/// The request a case states.
pub fn case_request(model: &Model, case: &Case) -> Result<QueryRequest, String> {
    let mut req = match &case.saved_query_name {
        Some(name) => QueryRequest::from_saved_query(model, name).map_err(|d| d.message)?,
        None => QueryRequest::default(),
    };
    let s = |v: &str| Spanned::synthetic(v.to_string());
    req.metrics.extend(case.metrics.iter().map(|m| s(m)));
    req.group_by.extend(case.group_bys.iter().map(|g| s(g)));
    req.order_by.extend(case.order_bys.iter().map(|o| s(o)));
    if let Some(w) = &case.where_filter {
        req.where_.push(Filter::new(w.clone(), Span::DUMMY));
    }
    if let Some((a, b)) = &case.time_constraint {
        req.start_time = Some(a.clone());
        req.end_time = Some(b.clone());
    }
    if case.limit.is_some() {
        req.limit = case.limit;
    }
    req.min_max_only = case.min_max_only;
    req.no_group_by = !case.apply_group_by;
    Ok(req)
}

impl TallyCompiler {
    fn model(&self, dir: &Path) -> Result<std::rc::Rc<Model>, String> {
        if let Some(m) = self.models.borrow().get(dir) {
            return Ok(m.clone());
        }
        let (model, diags) = tally_core::pipeline::load_model(
            dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            return Err(tally_core::diag::render_human(
                &model.sources,
                &errors,
                false,
            ));
        }
        let m = std::rc::Rc::new(model);
        self.models
            .borrow_mut()
            .insert(dir.to_path_buf(), m.clone());
        Ok(m)
    }

    /// tally's DuckDB SQL for a case, or the rendered diagnostics.
    pub fn compile(&self, case: &Case, dir: &Path) -> Result<String, String> {
        self.compile_with(case, dir, Dialect::DuckDb)
    }

    /// tally's SQL for a case in `dialect`, or the rendered diagnostics.
    pub fn compile_with(
        &self,
        case: &Case,
        dir: &Path,
        dialect: Dialect,
    ) -> Result<String, String> {
        let model = self.model(dir)?;
        let req = case_request(&model, case)?;
        tally_core::pipeline::compile(&model, dialect, &req)
            .map(|c| c.sql)
            .map_err(|d| {
                tally_core::diag::render_human(&model.sources, &d, false)
                    .trim()
                    .to_string()
            })
    }
}
