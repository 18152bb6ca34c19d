//! Resolution of targets, alerts, endpoints and `checks:` (spec -> [`Checks`]), with spanned
//! diagnostics (E0310–E0314). Check tests (`check_tests:`) are checked after resolution, by
//! [`crate::pipeline`].

use crate::diag::{codes, Diagnostic};
use crate::load::ProjectSpec;
use crate::model::checks::{
    Alert, Band, Bands, ChangeVs, CheckConfig, Checks, Condition, Direction, Endpoints, FailOn,
    Level, MetricChecks, Op, Pacing, Routing, Severity, SmtpConfig, Status, Target, TargetEntry,
    ROLES,
};
use crate::model::{AggKind, MetricKind, Model};
use crate::period::{parse_duration_seconds, parse_periods, Period, GRAINS};
use crate::source::Span;
use crate::spec::targets as spec;
use crate::time::Grain;
use crate::yaml::Spanned;

/// Resolve the checks of a project against its resolved model.
pub(super) fn resolve(spec: &ProjectSpec, model: &Model) -> (Checks, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut checks = Checks {
        endpoints: endpoints(spec, model),
        config: config(spec, &mut diags),
        ..Checks::default()
    };
    for m in &spec.metrics {
        let has = m.direction.is_some()
            || m.maturity.is_some()
            || !m.targets.is_empty()
            || !m.alerts.is_empty();
        if !has || !model.metrics.contains_key(&m.name.value) {
            continue;
        }
        let mut r = MetricResolver {
            spec,
            model,
            metric: m,
            diags: &mut diags,
        };
        let mc = r.resolve();
        checks.metrics.insert(m.name.value.clone(), mc);
    }
    (checks, diags)
}

fn endpoints(spec: &ProjectSpec, model: &Model) -> indexmap::IndexMap<String, Endpoints> {
    let conv = |n: &Option<spec::Endpoints>, email: Option<&String>| {
        let n = n.clone().unwrap_or_default();
        let s = |x: Option<Spanned<String>>| x.map(|v| v.value);
        Endpoints {
            slack_webhook_env: s(n.slack_webhook_env),
            webhook_env: s(n.webhook_env),
            email: s(n.email).or_else(|| email.cloned()),
            slack_user: s(n.slack_user),
        }
    };
    let mut out = indexmap::IndexMap::new();
    for t in &spec.config.teams {
        if model.teams.contains_key(&t.name.value) {
            out.insert(t.name.value.clone(), conv(&t.notify, None));
        }
    }
    for p in &spec.config.people {
        out.insert(p.name.value.clone(), conv(&p.notify, p.email.as_ref()));
    }
    out
}

fn config(spec: &ProjectSpec, diags: &mut Vec<Diagnostic>) -> CheckConfig {
    let Some(c) = &spec.config.checks else {
        return CheckConfig::default();
    };
    let mut out = CheckConfig {
        as_of: c.as_of.as_ref().map(|a| a.value.clone()),
        state: c.state.as_ref().map(|s| s.value.clone()),
        ..CheckConfig::default()
    };
    if let Some(f) = &c.default_fail_on {
        out.fail_on = FailOn::parse(&f.value);
        if out.fail_on.is_none() {
            diags.push(
                Diagnostic::error(codes::NOTIFY, format!("unknown fail_on `{}`", f.value))
                    .at(f.span)
                    .with_suggestion(&f.value, ["at_risk", "off_track", "never"])
                    .with_help("use at_risk, off_track or never"),
            );
        }
    }
    if let Some(s) = &c.smtp {
        let security = s
            .security
            .as_ref()
            .map(|x| x.value.clone())
            .unwrap_or_else(|| "plain".into());
        if !["plain", "starttls", "tls"].contains(&security.as_str()) {
            let sp = s.security.as_ref().map(|x| x.span).unwrap_or(s.host.span);
            diags.push(
                Diagnostic::error(codes::NOTIFY, format!("unknown SMTP security `{security}`"))
                    .at(sp)
                    .with_suggestion(&security, ["plain", "starttls", "tls"])
                    .with_help("use plain, starttls or tls"),
            );
        }
        let port = s.port.as_ref().map(|p| p.value).unwrap_or(25);
        if !(1..=65535).contains(&port) {
            let sp = s.port.as_ref().map(|p| p.span).unwrap_or(s.host.span);
            diags.push(
                Diagnostic::error(codes::NOTIFY, format!("SMTP port {port} is out of range"))
                    .at(sp)
                    .with_help("use a port from 1 to 65535 (25, 465 or 587 usually)"),
            );
        }
        out.smtp = Some(SmtpConfig {
            host: s.host.value.clone(),
            port: port.clamp(1, 65535) as u16,
            from: s.from.value.clone(),
            security,
            username_env: s.username_env.as_ref().map(|x| x.value.clone()),
            password_env: s.password_env.as_ref().map(|x| x.value.clone()),
        });
    }
    out
}

struct MetricResolver<'a> {
    spec: &'a ProjectSpec,
    model: &'a Model,
    metric: &'a crate::spec::Metric,
    diags: &'a mut Vec<Diagnostic>,
}

fn parse_grain(g: &Spanned<String>, what: &str, code: &'static str) -> Result<Grain, Diagnostic> {
    match Grain::parse(&g.value).filter(|x| GRAINS.contains(x)) {
        Some(x) => Ok(x),
        None => Err(Diagnostic::error(
            code,
            format!("`{}` is not a grain {what} can use", g.value),
        )
        .at(g.span)
        .with_suggestion(&g.value, GRAINS.iter().map(|g| g.name()))
        .with_help("use day, week, month, quarter or year")),
    }
}

/// `10%` -> relative 0.10, `5` -> absolute 5.
pub(super) fn parse_band(s: &Spanned<String>, code: &'static str) -> Result<Band, Diagnostic> {
    let t = s.value.trim();
    let (num, relative) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(Band {
            amount: if relative { v / 100.0 } else { v },
            relative,
        }),
        _ => Err(Diagnostic::error(
            code,
            format!(
                "`{}` is not an amount: write `10%` (relative) or `5` (absolute)",
                s.value
            ),
        )
        .at(s.span)
        .with_label("a non-negative number, optionally with %")
        .with_help(
            "`10%` is 10% of the target (or of the compared value); `5` is 5 in the metric's unit",
        )),
    }
}

impl MetricResolver<'_> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn resolve(&mut self) -> MetricChecks {
        let m = self.metric;
        let direction = m.direction.as_ref().map(|d| d.value);
        let maturity_seconds = m.maturity.as_ref().and_then(|s| {
            let v = parse_duration_seconds(&s.value);
            if v.is_none() {
                self.err(
                    Diagnostic::error(codes::TARGET, format!("`{}` is not a duration", s.value))
                        .at(s.span)
                        .with_help("write a count and a unit: `7 days`, `24 hours`, `2 weeks`"),
                );
            }
            v
        });
        let needs_direction = !m.targets.is_empty()
            || m.alerts.iter().any(|a| {
                a.when.worse_by.is_some() || a.when.better_by.is_some() || a.when.status.is_some()
            });
        if needs_direction && direction.is_none() {
            self.err(
                Diagnostic::error(
                    codes::DIRECTION,
                    format!(
                        "metric `{}` has targets or worse/better alerts but no `direction`",
                        m.name.value
                    ),
                )
                .at(m.name.span)
                .with_help(
                    "add `direction: higher_is_better`, `lower_is_better` or `target_is_best`",
                ),
            );
        }
        let mut targets: Vec<Target> = Vec::new();
        for t in &m.targets {
            if targets.iter().any(|x| x.name == t.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!(
                            "target `{}` is defined twice on `{}`",
                            t.name.value, m.name.value
                        ),
                    )
                    .at(t.name.span)
                    .with_help("target names are unique per metric: rename or remove one"),
                );
                continue;
            }
            if let Some(x) = self.target(t) {
                targets.push(x);
            }
        }
        let mut alerts: Vec<Alert> = Vec::new();
        for a in &m.alerts {
            if alerts.iter().any(|x| x.name == a.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!(
                            "alert `{}` is defined twice on `{}`",
                            a.name.value, m.name.value
                        ),
                    )
                    .at(a.name.span)
                    .with_help("alert names are unique per metric: rename or remove one"),
                );
                continue;
            }
            if let Some(x) = self.alert(a, &targets, direction) {
                alerts.push(x);
            }
        }
        MetricChecks {
            metric: m.name.value.clone(),
            span: m.name.span,
            direction,
            maturity_seconds,
            targets,
            alerts,
        }
    }

    fn is_additive(&self) -> bool {
        let Some(metric) = self.model.metrics.get(&self.metric.name.value) else {
            return false;
        };
        match &metric.kind {
            MetricKind::Simple(r) => self
                .model
                .semantic_models
                .get(r.model)
                .and_then(|sm| sm.measures.get(r.measure))
                .is_some_and(|ms| matches!(ms.agg, AggKind::Sum) && ms.non_additive.is_none()),
            _ => false,
        }
    }

    fn target(&mut self, t: &spec::Target) -> Option<Target> {
        let grain = match parse_grain(&t.grain, "a target", codes::TARGET) {
            Ok(g) => g,
            Err(d) => {
                self.err(d);
                return None;
            }
        };
        let bands = self.bands(t.tolerance.as_ref());
        let pacing = t.pacing.as_ref().map(|p| p.value).unwrap_or_default();
        if pacing != Pacing::None && !self.is_additive() {
            let sp = t.pacing.as_ref().map(|p| p.span).unwrap_or(t.name.span);
            self.err(
                Diagnostic::error(
                    codes::TARGET,
                    format!(
                        "pacing `{}` needs an additive metric; `{}` is not a sum or count",
                        if pacing == Pacing::Prorate { "prorate" } else { "project" },
                        self.metric.name.value
                    ),
                )
                .at(sp)
                .with_help("rates, averages and medians are compared period to date as they are: use `pacing: none`"),
            );
        }
        let mut entries = Vec::new();
        self.values(grain, &t.values, &[], &mut entries);
        let mut slice_dims: Vec<String> = Vec::new();
        for s in &t.slices {
            let dims: Vec<String> = s.where_.keys().cloned().collect();
            if slice_dims.is_empty() {
                slice_dims = dims.clone();
            } else if dims != slice_dims {
                let sp = s
                    .where_
                    .values()
                    .next()
                    .map(|v| v.span)
                    .unwrap_or(t.name.span);
                self.err(
                    Diagnostic::error(
                        codes::TARGET,
                        format!(
                            "the slices of target `{}` use different dimensions: [{}] and [{}]",
                            t.name.value,
                            slice_dims.join(", "),
                            dims.join(", ")
                        ),
                    )
                    .at(sp)
                    .with_help(
                        "every slice of a target names the same dimensions, in the same order",
                    ),
                );
                continue;
            }
            let values: Vec<String> = s.where_.values().map(|v| v.value.clone()).collect();
            self.values(grain, &s.values, &values, &mut entries);
        }
        if let (Some(file), Some(id)) = (&t.file, t.file_id) {
            self.csv(grain, file, id, &mut slice_dims, &mut entries);
        }
        self.check_overlaps(&t.name.value, &entries);
        Some(Target {
            name: t.name.value.clone(),
            span: t.name.span,
            grain,
            bands,
            pacing,
            slice_dims,
            entries,
        })
    }

    fn bands(&mut self, tol: Option<&spec::Tolerance>) -> Bands {
        let mut b = Bands::default();
        let Some(tol) = tol else { return b };
        if let Some(a) = &tol.at_risk {
            match parse_band(a, codes::TARGET) {
                Ok(x) => b.at_risk = x,
                Err(d) => self.err(d),
            }
        }
        if let Some(o) = &tol.off_track {
            match parse_band(o, codes::TARGET) {
                Ok(x) => b.off_track = x,
                Err(d) => self.err(d),
            }
        } else if tol.at_risk.is_some() {
            b.off_track = b.at_risk;
        }
        if b.at_risk.relative == b.off_track.relative && b.off_track.amount < b.at_risk.amount {
            let sp = tol.off_track.as_ref().map(|s| s.span).unwrap_or_default();
            self.err(
                Diagnostic::error(
                    codes::TARGET,
                    "the off_track band is narrower than the at_risk band",
                )
                .at(sp)
                .with_label("narrower than at_risk")
                .with_help("off_track must be at least as wide as at_risk"),
            );
        }
        b
    }

    fn period(&mut self, grain: Grain, s: &Spanned<String>) -> Option<Period> {
        match Period::parse(grain, &s.value) {
            Ok(p) => Some(p),
            Err(msg) => {
                self.err(
                    Diagnostic::error(codes::TARGET, msg)
                        .at(s.span)
                        .with_label(format!("the target's grain is {}", grain.name()))
                        .with_help("a period names the first period of the grain: 2026-01 (month), 2026-01-05 (a Monday, week), 2026-Q1, 2026"),
                );
                None
            }
        }
    }

    fn values(
        &mut self,
        grain: Grain,
        values: &[spec::TargetValue],
        slice: &[String],
        out: &mut Vec<TargetEntry>,
    ) {
        for v in values {
            let span = v
                .period
                .as_ref()
                .or(v.from.as_ref())
                .map(|s| s.span)
                .or(v.value.as_ref().map(|x| x.span))
                .unwrap_or_default();
            let (from, to) = match (&v.period, &v.from) {
                (Some(p), None) if v.to.is_none() => {
                    let Some(p) = self.period(grain, p) else {
                        continue;
                    };
                    (p, Some(p))
                }
                (None, Some(f)) => {
                    let Some(f) = self.period(grain, f) else {
                        continue;
                    };
                    let to = match &v.to {
                        Some(t) => match self.period(grain, t) {
                            Some(x) => Some(x),
                            None => continue,
                        },
                        None => None,
                    };
                    if to.is_some_and(|t| t < f) {
                        self.err(
                            Diagnostic::error(codes::TARGET, "`to` comes before `from`")
                                .at(v.to.as_ref().map(|t| t.span).unwrap_or(span))
                                .with_help("a range runs from `from` to `to`, both included"),
                        );
                        continue;
                    }
                    (f, to)
                }
                _ => {
                    self.err(
                        Diagnostic::error(codes::TARGET, "a target value needs either `period` or `from` (with an optional `to`)")
                            .at(span)
                            .with_help("`{period: 2026-01, value: 60}` or `{from: 2026-02, to: 2026-06, value: 55}`"),
                    );
                    continue;
                }
            };
            let level = match (&v.value, &v.ramp) {
                (Some(x), None) => Level::Constant(x.value),
                (None, Some(r)) => {
                    if r.value != "linear" {
                        self.err(
                            Diagnostic::error(codes::TARGET, format!("unknown ramp `{}`", r.value))
                                .at(r.span)
                                .with_suggestion(&r.value, ["linear"])
                                .with_help("the ramp is `linear`"),
                        );
                        continue;
                    }
                    match (&v.start, &v.end, to) {
                        (Some(s), Some(e), Some(t)) if t > from => Level::Linear {
                            start: s.value,
                            end: e.value,
                        },
                        _ => {
                            self.err(
                                Diagnostic::error(codes::TARGET, "a ramp needs `from` before `to` and both `start` and `end`")
                                    .at(r.span)
                                    .with_help("`{from: 2026-02, to: 2026-06, ramp: linear, start: 55, end: 30}`"),
                            );
                            continue;
                        }
                    }
                }
                _ => {
                    self.err(
                        Diagnostic::error(codes::TARGET, "a target value needs `value`, or `ramp` with `start` and `end` (not both)")
                            .at(span)
                            .with_help("`{period: 2026-01, value: 60}` or `{from: 2026-02, to: 2026-06, ramp: linear, start: 55, end: 30}`"),
                    );
                    continue;
                }
            };
            out.push(TargetEntry {
                slice: slice.to_vec(),
                from,
                to,
                level,
            });
        }
    }

    fn csv(
        &mut self,
        grain: Grain,
        file: &Spanned<String>,
        id: crate::source::FileId,
        slice_dims: &mut Vec<String>,
        out: &mut Vec<TargetEntry>,
    ) {
        let Some(src) = self.spec.sources.get(id) else {
            return;
        };
        let text = src.text.clone();
        let whole = Span::new(id, 0, text.lines().next().map(str::len).unwrap_or(0));
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = match rdr.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                self.err(
                    Diagnostic::error(codes::TARGET_FILE, format!("unreadable CSV: {e}"))
                        .at(file.span)
                        .with_help(
                            "the file is CSV with a header `period,<slice dimensions…>,value`",
                        ),
                );
                return;
            }
        };
        let dims: Vec<String> = header
            .iter()
            .skip(1)
            .take(header.len().saturating_sub(2))
            .cloned()
            .collect();
        let ok = header.len() >= 2
            && header[0] == "period"
            && header[header.len() - 1] == "value"
            && (slice_dims.is_empty() || *slice_dims == dims || dims.is_empty());
        if !ok {
            let want = if slice_dims.is_empty() {
                "period,<slice dimensions…>,value".to_string()
            } else {
                format!("period,{},value", slice_dims.join(","))
            };
            self.err(
                Diagnostic::error(codes::TARGET_FILE, format!("the header `{}` is not `{want}`", header.join(",")))
                    .at(whole)
                    .with_secondary(file.span, "target file named here")
                    .with_help("the first column is `period`, the last `value`, the ones between the slice dimensions"),
            );
            return;
        }
        if slice_dims.is_empty() {
            *slice_dims = dims.clone();
        }
        for rec in rdr.records() {
            let Ok(rec) = rec else { continue };
            let pos = rec.position().map(|p| p.byte() as usize).unwrap_or(0);
            let line_len = text[pos.min(text.len())..]
                .lines()
                .next()
                .map(str::len)
                .unwrap_or(0);
            let sp = Span::new(id, pos, pos + line_len);
            let cells: Vec<&str> = rec.iter().map(str::trim).collect();
            let period = Period::parse(grain, cells.first().copied().unwrap_or(""));
            let value = cells.last().and_then(|v| v.parse::<f64>().ok());
            match (period, value) {
                (Ok(p), Some(v)) if cells.len() == header.len() => out.push(TargetEntry {
                    slice: cells[1..cells.len() - 1].iter().map(|s| s.to_string()).collect(),
                    from: p,
                    to: Some(p),
                    level: Level::Constant(v),
                }),
                (Err(msg), _) => self.err(
                    Diagnostic::error(codes::TARGET_FILE, msg)
                        .at(sp)
                        .with_help(format!("the target's grain is {}", grain.name())),
                ),
                _ => self.err(
                    Diagnostic::error(codes::TARGET_FILE, "a target row needs a period, one cell per slice dimension and a numeric value")
                        .at(sp)
                        .with_help(format!("the header has {} columns", header.len())),
                ),
            }
        }
    }

    fn check_overlaps(&mut self, target: &str, entries: &[TargetEntry]) {
        for (i, a) in entries.iter().enumerate() {
            for b in &entries[..i] {
                if a.slice != b.slice {
                    continue;
                }
                let before = |x: &TargetEntry, y: &TargetEntry| x.to.is_some_and(|t| t < y.from);
                if !(before(a, b) || before(b, a)) {
                    self.err(
                        Diagnostic::error(
                            codes::TARGET,
                            format!(
                                "target `{target}` has overlapping values at {}{}",
                                a.from.max(b.from),
                                if a.slice.is_empty() { String::new() } else { format!(" for slice [{}]", a.slice.join(", ")) }
                            ),
                        )
                        .at(self.metric.name.span)
                        .with_help("value ranges of one slice must not overlap; end the earlier one with `to:`"),
                    );
                    return;
                }
            }
        }
    }

    fn alert(
        &mut self,
        a: &spec::Alert,
        targets: &[Target],
        direction: Option<Direction>,
    ) -> Option<Alert> {
        let w = &a.when;
        let forms = [
            w.status.is_some(),
            w.threshold.is_some(),
            w.change_vs.is_some(),
            w.anomaly.is_some(),
        ];
        if forms.iter().filter(|x| **x).count() != 1 {
            self.err(
                Diagnostic::error(codes::ALERT, format!("alert `{}` needs exactly one condition", a.name.value))
                    .at(a.name.span)
                    .with_help("`when:` takes one of `{target, status}`, `threshold`, `change_vs` (with worse_by or better_by) or `anomaly`"),
            );
            return None;
        }
        let mut grain = match &a.grain {
            Some(g) => match parse_grain(g, "an alert", codes::ALERT) {
                Ok(g) => Some(g),
                Err(d) => {
                    self.err(d);
                    return None;
                }
            },
            None => None,
        };
        let condition = if let Some(st) = &w.status {
            let (condition, target_grain) = self.status_condition(a, st, targets)?;
            grain.get_or_insert(target_grain);
            condition
        } else if let Some(t) = &w.threshold {
            self.threshold_condition(t)?
        } else if let Some(vs) = &w.change_vs {
            self.change_condition(w, vs, direction)?
        } else {
            self.anomaly_condition(w.anomaly.as_ref()?)?
        };
        let for_periods = self.alert_for_periods(a);
        let severity = self.alert_severity(a);
        let no_data_fires = self.alert_no_data_fires(a);
        let routing = self.routing(&a.notify);
        Some(Alert {
            name: a.name.value.clone(),
            span: a.name.span,
            grain: grain.unwrap_or(Grain::Month),
            condition,
            for_periods,
            by: a.by.iter().map(|b| b.value.clone()).collect(),
            severity,
            routing,
            no_data_fires,
        })
    }

    /// `when: {status, target}`: the status reached and the target it is read against (named, or
    /// the metric's only one); with the target's grain, the alert's default.
    fn status_condition(
        &mut self,
        a: &spec::Alert,
        st: &Spanned<String>,
        targets: &[Target],
    ) -> Option<(Condition, Grain)> {
        let at_least = match st.value.as_str() {
            "at_risk" => Status::AtRisk,
            "off_track" => Status::OffTrack,
            _ => {
                self.err(
                    Diagnostic::error(codes::ALERT, format!("unknown status `{}`", st.value))
                        .at(st.span)
                        .with_suggestion(&st.value, ["at_risk", "off_track"])
                        .with_help("an alert fires on `at_risk` (or worse) or `off_track`"),
                );
                return None;
            }
        };
        let target = match (&a.when.target, targets.len()) {
            (Some(t), _) => {
                let Some(found) = targets.iter().find(|x| x.name == t.value) else {
                    self.err(
                        Diagnostic::error(
                            codes::ALERT,
                            format!(
                                "metric `{}` has no target `{}`",
                                self.metric.name.value, t.value
                            ),
                        )
                        .at(t.span)
                        .with_suggestion(&t.value, targets.iter().map(|x| x.name.as_str()))
                        .with_help("`when.target` names a target of the same metric"),
                    );
                    return None;
                };
                found
            }
            (None, 1) => &targets[0],
            (None, _) => {
                self.err(
                    Diagnostic::error(
                        codes::ALERT,
                        format!("alert `{}` must name its target", a.name.value),
                    )
                    .at(st.span)
                    .with_help(format!(
                        "add `target:` with one of: {}",
                        targets
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                return None;
            }
        };
        let condition = Condition::Status {
            target: target.name.clone(),
            at_least,
        };
        Some((condition, target.grain))
    }

    /// `when: {threshold: {op, value}}`.
    fn threshold_condition(&mut self, t: &spec::Threshold) -> Option<Condition> {
        let op = match t.op.value.as_str() {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            _ => {
                self.err(
                    Diagnostic::error(codes::ALERT, format!("unknown operator `{}`", t.op.value))
                        .at(t.op.span)
                        .with_suggestion(&t.op.value, ["gt", "gte", "lt", "lte"])
                        .with_help("use gt, gte, lt or lte"),
                );
                return None;
            }
        };
        Some(Condition::Threshold {
            op,
            value: t.value.value,
        })
    }

    /// `when: {change_vs, worse_by | better_by}`: not for `target_is_best` metrics.
    fn change_condition(
        &mut self,
        w: &spec::When,
        vs: &Spanned<String>,
        direction: Option<Direction>,
    ) -> Option<Condition> {
        let vs_kind = match vs.value.as_str() {
            "previous_period" => ChangeVs::PreviousPeriod,
            "same_period_last_year" => ChangeVs::SamePeriodLastYear,
            _ => {
                self.err(
                    Diagnostic::error(codes::ALERT, format!("unknown comparison `{}`", vs.value))
                        .at(vs.span)
                        .with_suggestion(&vs.value, ["previous_period", "same_period_last_year"])
                        .with_help("use previous_period or same_period_last_year"),
                );
                return None;
            }
        };
        let (amount, worse) = match (&w.worse_by, &w.better_by) {
            (Some(x), None) => (x, true),
            (None, Some(x)) => (x, false),
            _ => {
                self.err(
                    Diagnostic::error(
                        codes::ALERT,
                        "`change_vs` needs exactly one of `worse_by` or `better_by`",
                    )
                    .at(vs.span)
                    .with_help("`{change_vs: previous_period, worse_by: 20%}`"),
                );
                return None;
            }
        };
        if direction == Some(Direction::TargetIsBest) {
            self.err(
                Diagnostic::error(
                    codes::ALERT,
                    "worse and better are not defined for `target_is_best` metrics",
                )
                .at(amount.span)
                .with_help("use a `threshold` condition or a target status"),
            );
            return None;
        }
        match parse_band(amount, codes::ALERT) {
            Ok(by) => Some(Condition::Change {
                vs: vs_kind,
                worse,
                by,
            }),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    /// `when: {anomaly: {method, lookback, threshold}}` (robust z, 13 periods, 3.5 by default).
    fn anomaly_condition(&mut self, an: &spec::Anomaly) -> Option<Condition> {
        if let Some(m) = &an.method {
            if m.value != "robust_z" {
                self.err(
                    Diagnostic::error(
                        codes::ALERT,
                        format!("unknown anomaly method `{}`", m.value),
                    )
                    .at(m.span)
                    .with_suggestion(&m.value, ["robust_z"])
                    .with_help("the method is `robust_z` (median and MAD)"),
                );
                return None;
            }
        }
        let lookback = match &an.lookback {
            Some(l) => match parse_periods(&l.value) {
                Some(n) if n >= 3 => n,
                _ => {
                    self.err(
                        Diagnostic::error(
                            codes::ALERT,
                            format!("`{}` is not a lookback of at least 3 periods", l.value),
                        )
                        .at(l.span)
                        .with_help("write `lookback: 13 periods`"),
                    );
                    return None;
                }
            },
            None => 13,
        };
        let threshold = an.threshold.as_ref().map(|t| t.value).unwrap_or(3.5);
        Some(Condition::Anomaly {
            lookback,
            threshold,
        })
    }

    /// `for: N periods` (1 when absent or unreadable).
    fn alert_for_periods(&mut self, a: &spec::Alert) -> i64 {
        let Some(f) = &a.for_ else {
            return 1;
        };
        parse_periods(&f.value).unwrap_or_else(|| {
            self.err(
                Diagnostic::error(
                    codes::ALERT,
                    format!("`{}` is not a number of periods", f.value),
                )
                .at(f.span)
                .with_help("write `for: 2 periods`"),
            );
            1
        })
    }

    /// `severity:` low, warn (the default, also for an unknown one) or high.
    fn alert_severity(&mut self, a: &spec::Alert) -> Severity {
        match a.severity.as_ref().map(|s| (s.value.as_str(), s.span)) {
            None | Some(("warn", _)) => Severity::Warn,
            Some(("low", _)) => Severity::Low,
            Some(("high", _)) => Severity::High,
            Some((other, span)) => {
                self.err(
                    Diagnostic::error(codes::ALERT, format!("unknown severity `{other}`"))
                        .at(span)
                        .with_suggestion(other, ["low", "warn", "high"])
                        .with_help("use low, warn or high"),
                );
                Severity::Warn
            }
        }
    }

    /// `no_data: fire` (otherwise a period without data is skipped).
    fn alert_no_data_fires(&mut self, a: &spec::Alert) -> bool {
        match a.no_data.as_ref().map(|s| (s.value.as_str(), s.span)) {
            None | Some(("ignore", _)) => false,
            Some(("fire", _)) => true,
            Some((other, span)) => {
                self.err(
                    Diagnostic::error(codes::ALERT, format!("unknown no_data behaviour `{other}`"))
                        .at(span)
                        .with_suggestion(other, ["ignore", "fire"])
                        .with_help("use ignore or fire"),
                );
                false
            }
        }
    }

    fn recipients(&mut self, names: &[Spanned<String>]) -> Vec<String> {
        let owners = self.metric.owners.clone().unwrap_or_default();
        let mut out = Vec::new();
        for n in names {
            if ROLES.contains(&n.value.as_str()) {
                let role_set = match n.value.as_str() {
                    "accountable" => !owners.accountable.is_empty(),
                    "responsible" => !owners.responsible.is_empty(),
                    "consulted" => !owners.consulted.is_empty(),
                    _ => !owners.informed.is_empty(),
                };
                if !role_set {
                    self.err(
                        Diagnostic::error(
                            codes::NOTIFY,
                            format!(
                                "metric `{}` has no `{}` owner to notify",
                                self.metric.name.value, n.value
                            ),
                        )
                        .at(n.span)
                        .with_help(format!(
                            "add `owners: {{{}: …}}` to the metric, or name a person or team",
                            n.value
                        )),
                    );
                    continue;
                }
            } else if !self.model.people.contains_key(&n.value)
                && !self.model.teams.contains_key(&n.value)
            {
                let cands: Vec<&str> = ROLES
                    .iter()
                    .copied()
                    .chain(self.model.people.keys().map(String::as_str))
                    .chain(self.model.teams.keys().map(String::as_str))
                    .collect();
                self.err(
                    Diagnostic::error(codes::NOTIFY, format!("unknown recipient `{}`", n.value))
                        .at(n.span)
                        .with_suggestion(&n.value, cands)
                        .with_help("name a RACI role (responsible, accountable, consulted, informed) or a person or team of tally.yml"),
                );
                continue;
            }
            out.push(n.value.clone());
        }
        out
    }

    fn routing(&mut self, n: &spec::Notify) -> Routing {
        match n {
            spec::Notify::Default => Routing {
                firing: vec!["responsible".into()],
                escalate: None,
                resolved: vec!["responsible".into()],
            },
            spec::Notify::Roles(r) => {
                let firing = self.recipients(r);
                Routing {
                    resolved: firing.clone(),
                    firing,
                    escalate: None,
                }
            }
            spec::Notify::Full(m) => {
                let firing = self.recipients(&m.firing);
                let escalate = m.after.as_ref().map(|e| {
                    if e.periods.value < 1 {
                        self.err(
                            Diagnostic::error(
                                codes::NOTIFY,
                                "escalation needs `periods` of at least 1",
                            )
                            .at(e.periods.span)
                            .with_help("`after: {periods: 3, add: [accountable]}`"),
                        );
                    }
                    (e.periods.value.max(1), self.recipients(&e.add))
                });
                let resolved = match &m.resolved {
                    Some(r) => self.recipients(r),
                    None => firing.clone(),
                };
                Routing {
                    firing,
                    escalate,
                    resolved,
                }
            }
        }
    }
}
