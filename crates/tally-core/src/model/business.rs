//! Business durations on semantic models (`business_durations:`): the model's relation becomes a
//! query that adds one column per duration, computed from the business clock
//! ([`crate::calendar::duration`]) with two equi-join lookups (the clock row of the start's UTC day
//! and of the end's). The query is Jinja over the macro library (`cast_date`, `cast_timestamp`,
//! `seconds_between`, `cast_string`, `cast_integer`), so the one text renders for every dialect; no
//! time-zone function is emitted.

use super::{Dimension, Relation, SemanticModel};
use crate::calendar::clock::{self, Clock};
use crate::calendar::duration::{
    clock_columns, clock_relations_sql, clock_row, is_ident, slots, ClockForm, CLOCK_MARK,
};
use crate::calendar::{Calendar, Calendars, Schedule};
use crate::diag::{codes, Diagnostic};
use crate::literal::Literal;
use crate::spec::calendar::BusinessDuration;
use crate::spec::{self, SString};
use std::sync::Arc;

/// A semantic model's relation with its business durations added as columns. A scan reads it
/// only when it projects one of `columns` (or an expression that mentions one); other queries
/// read the model's own relation and pay nothing for the clock.
#[derive(Debug, Clone)]
pub struct Wrapped {
    pub relation: Relation,
    pub columns: Vec<String>,
    /// Each duration's definition as text, calendars written out (for `tally diff`).
    pub definitions: Vec<(String, String)>,
    /// The clocks the durations read.
    pub clocks: Vec<Arc<Clock>>,
    /// Each duration's timestamps and calendar over the model's relation, for the range check
    /// ([`super::business_range`]).
    pub endpoints: Vec<super::business_range::Endpoint>,
}

impl Wrapped {
    /// The clock rows of the calendars the durations read, in all.
    pub fn clock_rows(&self) -> usize {
        self.clocks.iter().map(|c| c.days.len()).sum()
    }
    /// Whether the SQL of `form` reads the clocks from the relations `tally_bh__<calendar>`.
    pub fn reads_relations(&self, form: ClockForm) -> bool {
        form.reads_relations(self.clock_rows())
    }
    /// The rendered relation with the clock written in `form`: the relations
    /// `tally_bh__<calendar>`, or constant rows written by `values_table` (the SQL stage's
    /// `Dialect::values_table`).
    pub fn with_clock(
        &self,
        rendered: &str,
        form: ClockForm,
        values_table: impl Fn(&str, &[&str], &[Vec<Literal>]) -> String,
    ) -> String {
        let mark = format!("SELECT * FROM {CLOCK_MARK}");
        if !rendered.contains(&mark) {
            return rendered.to_string();
        }
        let k = slots(&self.clocks);
        if self.reads_relations(form) {
            return rendered.replace(&mark, &clock_relations_sql(&self.clocks, k));
        }
        let cols = clock_columns(k);
        let cols: Vec<&str> = cols.iter().map(|c| c.as_str()).collect();
        let rows: Vec<Vec<Literal>> = self
            .clocks
            .iter()
            .flat_map(|c| c.days.iter().map(move |d| clock_row(c, d, k)))
            .collect();
        let values = values_table("tally_bh_rows", &cols, &rows);
        rendered.replace(&mark, &format!("SELECT * FROM {values}"))
    }
    /// Whether a scan projecting these (name, SQL expression) pairs needs the durations.
    pub fn used_by<'a>(
        &self,
        projected: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> bool {
        projected
            .into_iter()
            .any(|(name, expr)| self.columns.iter().any(|c| c == name || mentions(expr, c)))
    }
}

/// `text` holds `name` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Text inside a single-quoted Jinja string literal.
fn jinja_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// What one duration (or deadline) needs in SQL.
struct Planned<'a> {
    d: &'a BusinessDuration,
    start: String,
    calendar: String,
    kind: Kind,
}

/// A duration between two timestamps, or a deadline some business time after the start.
enum Kind {
    Duration {
        end: String,
        divisor: &'static str,
    },
    /// `after:` in seconds.
    Deadline {
        seconds: i64,
    },
}

/// Add the model's business durations: wrap its relation and declare each duration as a
/// categorical dimension (unless the model declares one of that name).
pub fn apply(
    out: &mut SemanticModel,
    sm: &spec::SemanticModel,
    cals: &Calendars,
    diags: &mut Vec<Diagnostic>,
) {
    if sm.business_durations.is_empty() {
        return;
    }
    let known: Vec<&str> = cals.declared.iter().map(|s| s.as_str()).collect();
    let mut planned = Vec::new();
    let mut schedules: Vec<&Schedule> = Vec::new();
    for d in &sm.business_durations {
        let Some(p) = plan(out, d, cals, &known, diags) else {
            continue;
        };
        for s in cals.schedules_of(&d.calendar.value) {
            if !schedules.iter().any(|o| o.name == s.name) {
                schedules.push(s);
            }
        }
        planned.push(p);
    }
    if planned.len() != sm.business_durations.len() || schedules.is_empty() {
        return;
    }
    let clocks: Vec<Arc<Clock>> = schedules
        .iter()
        .map(|s| Arc::new(clock::expand(s)))
        .collect();
    let sql = wrapped_sql(&out.relation, &planned, &clocks);
    let span = match &out.relation {
        Relation::Query(_, span) => *span,
        Relation::Table(_) => out.span,
    };
    out.business = Some(Wrapped {
        relation: Relation::Query(sql, span),
        columns: planned.iter().map(|p| p.d.name.value.clone()).collect(),
        definitions: planned
            .iter()
            .map(|p| (p.d.name.value.clone(), definition(p, cals)))
            .collect(),
        clocks,
        endpoints: planned.iter().map(endpoint).collect(),
    });
    for p in &planned {
        if out.dimension(&p.d.name.value).is_none() {
            out.dimensions.push(Dimension {
                name: p.d.name.value.clone(),
                time_grain: match p.kind {
                    Kind::Duration { .. } => None,
                    Kind::Deadline { .. } => Some(crate::time::Grain::Second),
                },
                validity: None,
                expr: p.d.name.value.clone(),
                is_partition: false,
                label: p.d.label.as_ref().map(|l| l.value.clone()),
                label_span: crate::source::Span::DUMMY,
                span: p.d.name.span,
            });
        }
    }
}

/// What the range check reads of a planned duration: its start, its end (a duration's), its
/// calendar.
fn endpoint(p: &Planned) -> super::business_range::Endpoint {
    let mut timestamps = vec![p.start.clone()];
    if let Kind::Duration { end, .. } = &p.kind {
        timestamps.push(end.clone());
    }
    super::business_range::Endpoint {
        duration: p.d.name.value.clone(),
        timestamps,
        calendar: p.calendar.clone(),
    }
}

/// One entry of `business_durations:` checked and turned into SQL pieces (None after reporting
/// its mistakes).
fn plan<'a>(
    out: &SemanticModel,
    d: &'a BusinessDuration,
    cals: &Calendars,
    known: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<Planned<'a>> {
    let Some(cal) = cals.calendars.get(&d.calendar.value) else {
        if !known.contains(&d.calendar.value.as_str()) {
            diags.push(crate::calendar::resolve::unknown_calendar(
                &d.calendar,
                known,
                "a calendar",
            ));
        }
        return None;
    };
    let start = column(out, &d.start, diags);
    let kind = match (&d.end, &d.after) {
        (Some(end), None) => duration(out, d, end, diags),
        (None, Some(after)) => super::business_deadline::check(d, after, diags)
            .map(|seconds| Kind::Deadline { seconds }),
        (end, _) => {
            diags.push(super::business_deadline::end_or_after(d, end.is_some()));
            None
        }
    };
    let calendar = match cal {
        Calendar::Schedule(s) => format!("'{}'", s.name),
        Calendar::ByColumn(sel) => {
            let by = column(out, &SString::new(d.calendar.span, sel.by.clone()), diags)?;
            let mut case = format!("CASE {{{{ cast_string('{}') }}}}", jinja_str(&by));
            for (k, v) in &sel.map {
                case.push_str(&format!(" WHEN '{k}' THEN '{v}'"));
            }
            case.push_str(&format!(" ELSE '{}' END", sel.default));
            case
        }
    };
    Some(Planned {
        d,
        start: start?,
        calendar,
        kind: kind?,
    })
}

/// A duration's end (with `open_end`) and unit.
fn duration(
    out: &SemanticModel,
    d: &BusinessDuration,
    end: &SString,
    diags: &mut Vec<Diagnostic>,
) -> Option<Kind> {
    let end = column(out, end, diags)?;
    let divisor = unit(d.unit.as_ref(), diags)?;
    let end = match d.open_end.as_ref().map(|o| o.value.as_str()) {
        None | Some("null") => end,
        Some("as_of") => format!("COALESCE({end}, {{{{ timestamp_literal(var('as_of')) }}}})"),
        Some(other) => {
            diags.push(
                Diagnostic::error(codes::BUSINESS_DURATION, format!("unknown open_end `{other}`"))
                    .at(d.open_end.as_ref().map(|o| o.span).unwrap_or_default())
                    .with_help("`null` (an open span has no duration) or `as_of` (its age so far, up to the project variable `as_of`)"),
            );
            return None;
        }
    };
    Some(Kind::Duration { end, divisor })
}

/// A duration's definition with its calendars written out, so that `tally diff` sees a calendar
/// change as a change of every duration that uses it.
fn definition(p: &Planned, cals: &Calendars) -> String {
    let d = p.d;
    let to = match (&d.end, &d.after) {
        (Some(e), _) => e.value.clone(),
        (None, Some(a)) => format!("+{}", a.value),
        (None, None) => String::new(),
    };
    let mut s = format!(
        "{} -> {} in {} ({}{})\n",
        d.start.value,
        to,
        d.calendar.value,
        d.unit.as_ref().map_or("minute", |u| u.value.as_str()),
        d.open_end
            .as_ref()
            .map_or(String::new(), |o| format!(", open_end {}", o.value))
    );
    if let Some(Calendar::ByColumn(sel)) = cals.calendars.get(&d.calendar.value) {
        s.push_str(&format!(
            "by {}: {:?}, default {}\n",
            sel.by, sel.map, sel.default
        ));
    }
    for sch in cals.schedules_of(&d.calendar.value) {
        s.push_str(&format!("calendar {}:\n{}", sch.name, sch.canonical()));
    }
    s
}

/// A timestamp of the model: a dimension's (or entity's) expression, or a column name.
fn column(sm: &SemanticModel, name: &SString, diags: &mut Vec<Diagnostic>) -> Option<String> {
    if let Some(d) = sm.dimension(&name.value) {
        return Some(format!("({})", d.expr));
    }
    if let Some(e) = sm.entity(&name.value) {
        return Some(format!("({})", e.expr));
    }
    if is_ident(&name.value) {
        return Some(name.value.clone());
    }
    diags.push(
        Diagnostic::error(
            codes::BUSINESS_DURATION,
            format!(
                "`{}` is neither a dimension of the model nor a column name",
                name.value
            ),
        )
        .at(name.span)
        .with_suggestion(&name.value, sm.dimensions.iter().map(|d| d.name.as_str()))
        .with_help("name a column of the model's relation or one of its dimensions"),
    );
    None
}

fn unit(u: Option<&SString>, diags: &mut Vec<Diagnostic>) -> Option<&'static str> {
    match u.map(|u| u.value.as_str()) {
        None | Some("minute") => Some("60.0"),
        Some("second") => Some("1"),
        Some("hour") => Some("3600.0"),
        Some("business_day") => Some("day_s"),
        Some(other) => {
            let span = u.map(|u| u.span).unwrap_or_default();
            diags.push(
                Diagnostic::error(codes::BUSINESS_DURATION, format!("unknown unit `{other}`"))
                    .at(span)
                    .with_suggestion(other, ["second", "minute", "hour", "business_day"])
                    .with_help("units: second, minute, hour, business_day"),
            );
            None
        }
    }
}

/// The relation with the durations as columns; the clock is [`CLOCK_MARK`], written by the SQL
/// stage in the form of its target ([`Wrapped::with_clock`]).
fn wrapped_sql(base: &Relation, planned: &[Planned], clocks: &[Arc<Clock>]) -> String {
    let k = slots(clocks);
    let bh = format!("SELECT * FROM {CLOCK_MARK}");
    let from = match base {
        Relation::Table(t) => t.clone(),
        Relation::Query(q, _) => format!("({q}\n)"),
    };
    let mut inner = vec!["tally_base.*".to_string()];
    let mut outer = vec!["tally_m.*".to_string()];
    let mut joins = String::new();
    let mut deadline_joins = String::new();
    for (i, p) in planned.iter().enumerate() {
        let n = i + 1;
        inner.push(format!("{} AS tally_bd{n}_s", p.start));
        inner.push(format!("{} AS tally_bd{n}_c", p.calendar));
        let (s, bs) = (format!("tally_m.tally_bd{n}_s"), format!("tally_bh{n}s"));
        let mut lookups = vec![(bs.clone(), s.clone())];
        match &p.kind {
            Kind::Duration { end, divisor } => {
                inner.push(format!("{end} AS tally_bd{n}_e"));
                let (e, be) = (format!("tally_m.tally_bd{n}_e"), format!("tally_bh{n}e"));
                let divisor = if *divisor == "day_s" {
                    format!("{be}.day_s")
                } else {
                    divisor.to_string()
                };
                outer.push(format!(
                    "CASE WHEN {e} >= {s} THEN ({} - {}) / {divisor} END AS {}",
                    b_of(&e, &be, k),
                    b_of(&s, &bs, k),
                    p.d.name.value
                ));
                lookups.push((be, e));
            }
            Kind::Deadline { seconds } => {
                inner.push(format!(
                    "{} AS tally_bd{n}_sod",
                    super::business_deadline::second_of_day(&jinja_str(&p.start))
                ));
                let (column, join) = super::business_deadline::sql(n, *seconds, k);
                outer.push(format!("{column} AS {}", p.d.name.value));
                deadline_joins.push_str(&join);
            }
        }
        for (alias, t) in lookups {
            joins.push_str(&format!(
                "\nLEFT JOIN tally_bh AS {alias} ON {alias}.calendar_id = tally_m.tally_bd{n}_c AND {alias}.day_utc = {{{{ cast_date('{t}') }}}}"
            ));
        }
    }
    joins.push_str(&deadline_joins);
    format!(
        "WITH tally_bh AS (\n{bh}\n),\ntally_m AS (\nSELECT {} FROM {from} AS tally_base\n)\nSELECT {}\nFROM tally_m{joins}",
        inner.join(", "),
        outer.join(",\n  ")
    )
}

/// `B(t)` against the clock row `alias`.
fn b_of(t: &str, alias: &str, k: usize) -> String {
    let sod = format!("{{{{ seconds_between(cast_timestamp(cast_date('{t}')), '{t}') }}}}");
    let mut s = format!("({alias}.cum_s");
    for i in 1..=k {
        s.push_str(&format!(
            " + GREATEST(0, LEAST({sod}, {alias}.e{i}) - {alias}.s{i})"
        ));
    }
    s.push(')');
    s
}
