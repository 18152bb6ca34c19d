//! Semantic models: relations, entities, dimensions, measures and their consistency across models.

use super::Resolver;
use crate::diag::{codes, Diagnostic};
use crate::model::{
    AggKind, Dimension, Entity, Measure, Model, NonAdditive, Relation, SemanticModel, Validity,
};
use crate::source::Span;
use crate::spec::{self, Agg, EntityType, WindowChoice};
use crate::time::Grain;
use crate::yaml::Spanned;
use indexmap::IndexMap;

impl Resolver<'_> {
    pub(super) fn relation_name(&mut self, r: &spec::NodeRelation) -> Option<String> {
        if let Some(rn) = &r.relation_name {
            return Some(self.subst_schema(rn));
        }
        let mut parts = Vec::new();
        if let Some(db) = &r.database {
            parts.push(self.subst_schema(db));
        }
        if let Some(s) = &r.schema_name {
            parts.push(self.subst_schema(s));
        }
        parts.push(self.subst_schema(&r.alias));
        Some(parts.join("."))
    }

    /// Replace `$source_schema` with the configured schema.
    pub(super) fn subst_schema(&mut self, s: &Spanned<String>) -> String {
        if !s.value.contains("$source_schema") {
            return s.value.clone();
        }
        match &self.spec.config.relations.source_schema {
            Some(schema) => s.value.replace("$source_schema", &schema.value),
            None => {
                // Report once per project, at the first use.
                if !self
                    .diags
                    .iter()
                    .any(|d| d.code == codes::CONFIG && d.message.contains("$source_schema"))
                {
                    self.err(
                        Diagnostic::error(codes::CONFIG, "`$source_schema` is used but not set")
                            .at(s.span)
                            .with_label("needs a schema")
                            .with_help("set `relations: {source_schema: <schema>}` in tally.yml, or pass --source-schema <schema>"),
                    );
                }
                s.value.replace("$source_schema", "source_schema")
            }
        }
    }

    pub(super) fn resolve_semantic_model(
        &mut self,
        sm: &spec::SemanticModel,
    ) -> Option<SemanticModel> {
        let relation = self.semantic_model_relation(sm)?;
        // Entities, dimensions and measures of a semantic model share one namespace.
        let mut names: IndexMap<String, Span> = IndexMap::new();
        let entities = self.resolve_entities(sm, &mut names);
        let primaries = self.check_primary_entities(sm, &entities);
        let dimensions = self.resolve_dimensions(sm, &mut names);
        let default_atd = sm
            .defaults
            .as_ref()
            .and_then(|d| d.agg_time_dimension.clone());
        let measures =
            self.resolve_measures(sm, &mut names, default_atd.as_ref(), &dimensions, &entities);
        if (!measures.is_empty() || !dimensions.is_empty())
            && sm.primary_entity.is_none()
            && primaries == 0
            && !entities.iter().any(|e| e.kind != EntityType::Foreign)
            && !dimensions.is_empty()
        {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!(
                        "semantic model `{}` has dimensions but no primary entity",
                        sm.name.value
                    ),
                )
                .at(sm.name.span)
                .with_help("add an entity of `type: primary`, or `primary_entity: <name>`"),
            );
        }
        let mut out = SemanticModel {
            name: sm.name.value.clone(),
            span: sm.name.span,
            label: sm.label.as_ref().map(|l| l.value.clone()),
            label_span: label_span(&self.spec.sources, sm.label.as_ref()),
            description: sm.description.clone(),
            relation,
            primary_entity: sm.primary_entity.as_ref().map(|p| p.value.clone()),
            default_agg_time_dimension: default_atd.map(|d| d.value),
            entities,
            dimensions,
            measures,
            business: None,
        };
        super::super::business::apply(&mut out, sm, &self.calendars, &mut self.diags);
        Some(out)
    }

    /// What a semantic model reads: its `sql:`, its `node_relation` or the table of its `model:`.
    fn semantic_model_relation(&mut self, sm: &spec::SemanticModel) -> Option<Relation> {
        if let Some(sql) = &sm.sql {
            return Some(Relation::Query(sql.value.as_str().into(), sql.span));
        }
        if let Some(r) = &sm.node_relation {
            return Some(Relation::Table(self.relation_name(r)?));
        }
        if let Some(m) = &sm.model {
            return Some(Relation::Table(self.resolve_ref(m)?));
        }
        self.err(
            Diagnostic::error(
                codes::NODE_RELATION,
                format!(
                    "semantic model `{}` has nothing to read from",
                    sm.name.value
                ),
            )
            .at(sm.name.span)
            .with_help(
                "add `model: ref('table')`, a `node_relation`, or tally's `sql:` with a query",
            ),
        );
        None
    }

    /// Check an element's name and record it in the model's namespace; `true` (and an error) when
    /// the model already defines the name.
    fn is_duplicate_element(
        &mut self,
        names: &mut IndexMap<String, Span>,
        sm: &spec::SemanticModel,
        n: &Spanned<String>,
        what: &str,
    ) -> bool {
        self.check_name(n, what);
        let Some(prev) = names.get(&n.value) else {
            names.insert(n.value.clone(), n.span);
            return false;
        };
        self.err(
            Diagnostic::error(
                codes::DUPLICATE_NAME,
                format!(
                    "`{}` is defined twice in semantic model `{}`",
                    n.value, sm.name.value
                ),
            )
            .at(n.span)
            .with_secondary(*prev, "first defined here")
            .with_help("entities, dimensions and measures of a semantic model share one namespace"),
        );
        true
    }

    fn resolve_entities(
        &mut self,
        sm: &spec::SemanticModel,
        names: &mut IndexMap<String, Span>,
    ) -> Vec<Entity> {
        let mut entities = Vec::new();
        for e in &sm.entities {
            if self.is_duplicate_element(names, sm, &e.name, "entity") {
                continue;
            }
            entities.push(Entity {
                name: e.name.value.clone(),
                kind: e.entity_type.value,
                expr: e
                    .expr
                    .as_ref()
                    .map(|x| x.value.clone())
                    .unwrap_or_else(|| e.name.value.clone()),
                span: e.name.span,
            });
        }
        entities
    }

    /// At most one primary entity, and not both one and `primary_entity:`; returns how many
    /// primary entities the model has.
    fn check_primary_entities(&mut self, sm: &spec::SemanticModel, entities: &[Entity]) -> usize {
        let primaries = entities
            .iter()
            .filter(|e| e.kind == EntityType::Primary)
            .count();
        if primaries > 1 {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!(
                        "semantic model `{}` has {primaries} primary entities",
                        sm.name.value
                    ),
                )
                .at(sm.name.span)
                .with_help("a semantic model has at most one primary entity"),
            );
        }
        if let (Some(pe), true) = (&sm.primary_entity, primaries > 0) {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    "`primary_entity` is set but the model also has a primary entity",
                )
                .at(pe.span)
                .with_help("remove `primary_entity`, or make the entity non-primary"),
            );
        }
        primaries
    }

    fn resolve_dimensions(
        &mut self,
        sm: &spec::SemanticModel,
        names: &mut IndexMap<String, Span>,
    ) -> Vec<Dimension> {
        let mut dimensions = Vec::new();
        for d in &sm.dimensions {
            if self.is_duplicate_element(names, sm, &d.name, "dimension") {
                continue;
            }
            let (time_grain, validity) = match d.dimension_type.value {
                spec::DimensionType::Time => self.time_dimension_params(d),
                spec::DimensionType::Categorical => {
                    self.check_categorical_params(d);
                    (None, None)
                }
            };
            dimensions.push(Dimension {
                name: d.name.value.clone(),
                time_grain,
                validity,
                expr: d
                    .expr
                    .as_ref()
                    .map(|x| x.value.clone())
                    .unwrap_or_else(|| d.name.value.clone()),
                is_partition: d.is_partition,
                label: d.label.as_ref().map(|l| l.value.clone()),
                label_span: label_span(&self.spec.sources, d.label.as_ref()),
                span: d.name.span,
            });
        }
        dimensions
    }

    /// A time dimension's granularity (required) and validity-window role.
    fn time_dimension_params(&mut self, d: &spec::Dimension) -> (Option<Grain>, Option<Validity>) {
        let tp = d.type_params.as_ref();
        let g = match tp.and_then(|t| t.time_granularity.as_ref()) {
            Some(g) => self.grain(g),
            None => {
                self.err(
                    Diagnostic::error(
                        codes::TIME_DIMENSION_PARAMS,
                        format!("time dimension `{}` has no time granularity", d.name.value),
                    )
                    .at(d.name.span)
                    .with_help("add `type_params: {time_granularity: day}`"),
                );
                None
            }
        };
        let v = tp.and_then(|t| t.validity_params.as_ref()).and_then(|v| {
            if v.is_start {
                Some(Validity::Start)
            } else if v.is_end {
                Some(Validity::End)
            } else {
                None
            }
        });
        (g, v)
    }

    /// A categorical dimension with a time granularity is a warning.
    fn check_categorical_params(&mut self, d: &spec::Dimension) {
        if d.type_params
            .as_ref()
            .and_then(|t| t.time_granularity.as_ref())
            .is_some()
        {
            self.err(
                Diagnostic::warning(
                    codes::TIME_DIMENSION_PARAMS,
                    format!(
                        "categorical dimension `{}` has a time granularity",
                        d.name.value
                    ),
                )
                .at(d.name.span)
                .with_help("use `type: time`, or remove the granularity"),
            );
        }
    }

    fn resolve_measures(
        &mut self,
        sm: &spec::SemanticModel,
        names: &mut IndexMap<String, Span>,
        default_atd: Option<&Spanned<String>>,
        dimensions: &[Dimension],
        entities: &[Entity],
    ) -> Vec<Measure> {
        let mut measures = Vec::new();
        for m in &sm.measures {
            if self.is_duplicate_element(names, sm, &m.name, "measure") {
                continue;
            }
            let Some(atd) = m.agg_time_dimension.as_ref().or(default_atd) else {
                self.err(
                    Diagnostic::error(
                        codes::AGG_TIME_DIMENSION,
                        format!("measure `{}` has no aggregation time dimension", m.name.value),
                    )
                    .at(m.name.span)
                    .with_help("set `agg_time_dimension` on the measure, or `defaults: {agg_time_dimension: ...}` on the semantic model"),
                );
                continue;
            };
            if !self.check_agg_time_dimension(sm, m, atd, dimensions) {
                continue;
            }
            let Some((agg, expr)) = self.resolve_measure(
                m,
                m.agg.value,
                m.expr.as_ref(),
                m.agg_params.as_ref(),
                m.agg.span,
            ) else {
                continue;
            };
            let non_additive = m.non_additive_dimension.as_ref().map(|n| {
                self.check_non_additive(sm, n, dimensions, entities);
                NonAdditive {
                    dimension: n.name.value.clone(),
                    dimension_span: crate::yaml::value_span(&self.spec.sources, &n.name),
                    window_choice: n
                        .window_choice
                        .as_ref()
                        .map(|w| w.value)
                        .unwrap_or(WindowChoice::Min),
                    window_groupings: n.window_groupings.iter().map(|g| g.value.clone()).collect(),
                }
            });
            measures.push(Measure {
                name: m.name.value.clone(),
                agg,
                expr,
                agg_time_dimension: atd.value.clone(),
                non_additive,
                label: m.label.as_ref().map(|l| l.value.clone()),
                label_span: label_span(&self.spec.sources, m.label.as_ref()),
                span: m.name.span,
            });
        }
        measures
    }

    /// A measure's aggregation time dimension is a time dimension of its model; `false` (and an
    /// error) when not.
    fn check_agg_time_dimension(
        &mut self,
        sm: &spec::SemanticModel,
        m: &spec::Measure,
        atd: &Spanned<String>,
        dimensions: &[Dimension],
    ) -> bool {
        match dimensions.iter().find(|d| d.name == atd.value) {
            Some(d) if d.is_time() => true,
            Some(_) => {
                self.err(
                    Diagnostic::error(
                        codes::AGG_TIME_DIMENSION,
                        format!("aggregation time dimension `{}` of measure `{}` is not a time dimension", atd.value, m.name.value),
                    )
                    .at(atd.span)
                    .with_help("point it at a dimension of `type: time`"),
                );
                false
            }
            None => {
                let time_dims: Vec<&str> = dimensions
                    .iter()
                    .filter(|d| d.is_time())
                    .map(|d| d.name.as_str())
                    .collect();
                self.err(
                    Diagnostic::error(
                        codes::AGG_TIME_DIMENSION,
                        format!("aggregation time dimension `{}` of measure `{}` is not a dimension of `{}`", atd.value, m.name.value, sm.name.value),
                    )
                    .at(atd.span)
                    .with_suggestion(&atd.value, time_dims.iter().copied())
                    .with_help(format!("time dimensions of `{}`: {}", sm.name.value, if time_dims.is_empty() { "none".to_string() } else { time_dims.join(", ") })),
                );
                false
            }
        }
    }

    /// A non-additive dimension is a time dimension of the model, its window groupings entities.
    fn check_non_additive(
        &mut self,
        sm: &spec::SemanticModel,
        n: &spec::NonAdditiveDimension,
        dimensions: &[Dimension],
        entities: &[Entity],
    ) {
        if !dimensions
            .iter()
            .any(|d| d.name == n.name.value && d.is_time())
        {
            self.err(
                Diagnostic::error(
                    codes::NON_ADDITIVE,
                    format!("non-additive dimension `{}` is not a time dimension of `{}`", n.name.value, sm.name.value),
                )
                .at(n.name.span)
                .with_suggestion(&n.name.value, dimensions.iter().filter(|d| d.is_time()).map(|d| d.name.as_str()))
                .with_help("the non-additive dimension is the time dimension a balance is taken at (for example a snapshot date)"),
            );
        }
        for g in &n.window_groupings {
            if !entities.iter().any(|e| e.name == g.value) {
                self.err(
                    Diagnostic::error(
                        codes::NON_ADDITIVE,
                        format!(
                            "window grouping `{}` is not an entity of `{}`",
                            g.value, sm.name.value
                        ),
                    )
                    .at(g.span)
                    .with_suggestion(&g.value, entities.iter().map(|e| e.name.as_str())),
                );
            }
        }
    }

    /// Normalise an aggregation: returns the aggregation and the SQL expression it aggregates.
    pub(super) fn resolve_measure(
        &mut self,
        m: &spec::Measure,
        agg: Agg,
        expr: Option<&Spanned<String>>,
        params: Option<&spec::AggParams>,
        agg_span: Span,
    ) -> Option<(AggKind, String)> {
        let e = expr
            .map(|x| x.value.clone())
            .unwrap_or_else(|| m.name.value.clone());
        let kind = match agg {
            Agg::Sum => AggKind::Sum,
            Agg::Min => AggKind::Min,
            Agg::Max => AggKind::Max,
            Agg::CountDistinct => AggKind::CountDistinct,
            Agg::Average => AggKind::Average,
            Agg::Count => {
                return Some((
                    AggKind::Sum,
                    format!("CASE WHEN {e} IS NOT NULL THEN 1 ELSE 0 END"),
                ))
            }
            Agg::SumBoolean => {
                return Some((AggKind::Sum, format!("CASE WHEN {e} THEN 1 ELSE 0 END")))
            }
            Agg::Median => AggKind::Percentile {
                p: 0.5,
                discrete: params.is_some_and(|p| p.use_discrete_percentile),
                approximate: params.is_some_and(|p| p.use_approximate_percentile),
            },
            Agg::Percentile => {
                let Some(p) = params.and_then(|p| p.percentile.clone()) else {
                    self.err(
                        Diagnostic::error(
                            codes::PERCENTILE_PARAMS,
                            format!("percentile measure `{}` has no percentile", m.name.value),
                        )
                        .at(agg_span)
                        .with_help("add `agg_params: {percentile: 0.9}`"),
                    );
                    return None;
                };
                if !(0.0..=1.0).contains(&p.value) || p.value == 0.0 || p.value == 1.0 {
                    self.err(
                        Diagnostic::error(
                            codes::PERCENTILE_PARAMS,
                            format!("percentile {} is not strictly between 0 and 1", p.value),
                        )
                        .at(p.span)
                        .with_help("write the percentile as a fraction: 0.9 for p90"),
                    );
                    return None;
                }
                let pr = params.expect("checked above");
                AggKind::Percentile {
                    p: p.value,
                    discrete: pr.use_discrete_percentile,
                    approximate: pr.use_approximate_percentile,
                }
            }
        };
        if !matches!(agg, Agg::Percentile | Agg::Median) {
            if let Some(p) = params.and_then(|p| p.percentile.as_ref()) {
                self.err(
                    Diagnostic::error(
                        codes::PERCENTILE_PARAMS,
                        "only percentile measures take a percentile",
                    )
                    .at(p.span)
                    .with_help("remove `agg_params`, or use `agg: percentile`"),
                );
            }
        }
        Some((kind, e))
    }

    /// The relation of `model: ref('x')` (or `ref('package', 'x')`, `source('s', 't')`): tally.yml's
    /// `relations:` settings first, then the relation dbt builds (a dbt project with a target),
    /// else the bare name.
    pub(super) fn resolve_ref(&mut self, m: &Spanned<String>) -> Option<String> {
        let call = crate::dbt::relations::parse_call(&m.value).filter(|(f, a)| {
            (f == "ref" && (a.len() == 1 || a.len() == 2)) || (f == "source" && a.len() == 2)
        });
        let Some((func, args)) = call else {
            self.err(
                Diagnostic::error(
                    codes::NODE_RELATION,
                    format!("expected `ref('name')`, found `{}`", m.value),
                )
                .at(m.span)
                .with_help("write `model: ref('table_name')`"),
            );
            return None;
        };
        let spec = self.spec;
        let dbt = spec.dbt.as_ref().filter(|d| d.target.is_some());
        if func == "source" {
            if let Some(r) = dbt.and_then(|d| d.source_relation(&args[0], &args[1])) {
                return Some(r.relation_name.clone());
            }
            if let Some(d) = dbt {
                let known: Vec<String> =
                    d.sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
                let wanted = format!("{}.{}", args[0], args[1]);
                self.err(
                    Diagnostic::error(
                        codes::NODE_RELATION,
                        format!("no source table `{wanted}` in the project's sources"),
                    )
                    .at(m.span)
                    .with_label("unknown source")
                    .with_suggestion(&wanted, known.iter().map(String::as_str))
                    .with_help(
                        "sources are declared under `sources:` in YAML under the model paths",
                    ),
                );
                return None;
            }
            return Some(format!("{}.{}", args[0], args[1]));
        }
        let name = args.last().cloned().unwrap_or_default();
        let package = (args.len() == 2).then(|| args[0].as_str());
        let rel = &spec.config.relations;
        if let Some(r) = rel.refs.get(&name) {
            return Some(r.value.clone());
        }
        if let Some(s) = &rel.ref_schema {
            return Some(format!("{}.{}", s.value, name));
        }
        if let Some(d) = dbt {
            if let Some(r) = d.model_relation(package, &name) {
                return Some(r.relation_name.clone());
            }
            let known: Vec<&str> = d.models.keys().map(|(_, n)| n.as_str()).collect();
            self.err(
                Diagnostic::error(
                    codes::NODE_RELATION,
                    format!(
                        "`{}` refers to a model the dbt project does not have",
                        m.value
                    ),
                )
                .at(m.span)
                .with_label("no enabled model of this name")
                .with_suggestion(&name, known.iter().copied())
                .with_help(
                    "a model is a .sql or .py file under the model paths of dbt_project.yml",
                ),
            );
            return None;
        }
        Some(name)
    }

    /// An element name must mean the same kind of thing in every semantic model that has it.
    pub(super) fn check_element_consistency(&mut self, model: &Model) {
        let mut kinds: IndexMap<&str, (&str, Span)> = IndexMap::new();
        for sm in &model.semantic_models {
            let items = sm
                .entities
                .iter()
                .map(|e| (e.name.as_str(), "entity", e.span))
                .chain(sm.dimensions.iter().map(|d| {
                    (
                        d.name.as_str(),
                        if d.is_time() {
                            "time dimension"
                        } else {
                            "categorical dimension"
                        },
                        d.span,
                    )
                }))
                .chain(
                    sm.measures
                        .iter()
                        .map(|m| (m.name.as_str(), "measure", m.span)),
                );
            for (name, kind, span) in items {
                match kinds.get(name) {
                    Some((k, prev)) if *k != kind => {
                        let d = Diagnostic::error(
                            codes::ELEMENT_CONFLICT,
                            format!("`{name}` is a {kind} here but a {k} elsewhere"),
                        )
                        .at(span)
                        .with_secondary(*prev, format!("a {k} here"))
                        .with_help(
                            "an element name must mean one kind of thing across semantic models",
                        );
                        self.diags.push(d);
                    }
                    Some(_) => {}
                    None => {
                        kinds.insert(name, (kind, span));
                    }
                }
            }
        }
        // A measure name must be unique across models.
        let mut measures: IndexMap<&str, Span> = IndexMap::new();
        for sm in &model.semantic_models {
            for m in &sm.measures {
                if let Some(prev) = measures.get(m.name.as_str()) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!("measure `{}` is defined in two semantic models", m.name),
                        )
                        .at(m.span)
                        .with_secondary(*prev, "first defined here"),
                    );
                } else {
                    measures.insert(&m.name, m.span);
                }
            }
        }
    }
}

/// The characters of a label's value in the file, [`Span::DUMMY`] without a label.
pub(super) fn label_span(
    sources: &crate::source::SourceMap,
    label: Option<&crate::yaml::Spanned<String>>,
) -> crate::source::Span {
    label.map_or(crate::source::Span::DUMMY, |l| {
        crate::yaml::value_span(sources, l)
    })
}
