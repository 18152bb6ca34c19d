//! Business durations on semantic models (`business_durations:`): the model's relation becomes a
//! query that adds one column per duration, computed from the business clock
//! ([`crate::calendar::duration`]) with two equi-join lookups (the clock row of the start's UTC day
//! and of the end's). The query is Jinja over the macro library (`cast_date`, `cast_timestamp`,
//! `epoch_seconds`, `seconds_between`, `cast_string`, `cast_integer`), so the one text renders for every dialect; no
//! time-zone function is emitted.

use super::{Dimension, Relation, SemanticModel};
use crate::calendar::clock::{Clock, LazyClock};
use crate::calendar::duration::{
    clock_columns, clock_relations_sql, clock_row, is_ident, slots, ClockForm, CLOCK_MARK,
    RANGE_CLOCK_MARK,
};
use crate::calendar::{Calendar, Calendars, Schedule};
use crate::diag::{codes, Diagnostic};
use crate::literal::Literal;
use crate::spec::calendar::BusinessDuration;
use crate::spec::{self, SString};
use std::sync::{Arc, OnceLock};

/// A semantic model's relation with its business durations added as columns. A scan reads it
/// only when it projects one of `columns` (or an expression that mentions one), and then with
/// only the durations it projects ([`Wrapped::read_by`], [`Wrapped::relation_of`]); other
/// queries read the model's own relation and pay nothing for the clock: its clocks are expanded,
/// and the durations' SQL (which depends on the widest clock) written, only when first read.
#[derive(Debug, Clone)]
pub struct Wrapped {
    /// The relation with every duration, made when first read ([`Self::relation`]); the
    /// materialisation cache replaces it by the table it made of it ([`Self::set_relation`]),
    /// which serves a scan of any of the durations.
    relation: OnceLock<Relation>,
    pub columns: Vec<String>,
    /// Each duration's definition as text, calendars written out ([`Self::definitions`]).
    definitions: OnceLock<Vec<(String, String)>>,
    /// The clocks the durations read, in all (one per schedule; shared with the project's
    /// calendars, so each is expanded once).
    clocks: Vec<Arc<LazyClock>>,
    /// `clocks` expanded ([`Self::clocks`]).
    expanded: OnceLock<Vec<Arc<Clock>>>,
    /// Each duration's calendar as declared (a schedule, or a calendar chosen by a column), in
    /// `columns` order.
    pub calendars: Vec<String>,
    /// Each duration's timestamps and calendar over the model's relation, for the range check
    /// ([`super::business_range`]).
    pub endpoints: Vec<super::business_range::Endpoint>,
    /// Each duration's SQL before the clock's width is known, in `columns` order.
    planned: Vec<Pending>,
    /// The SQL each duration adds to the relation, in `columns` order ([`Self::pieces`]).
    pieces: OnceLock<Vec<Piece>>,
    /// The model's own relation as the wrapped relation reads it (a table or `(query)`).
    from: String,
    span: crate::source::Span,
}

/// What one duration adds to the relation with business durations. Its columns are named by its
/// position among all the model's durations (`tally_bd<n>_...`, the clock rows `tally_bh<n>...`),
/// so a relation with some of the durations names each of them as the one with all does.
#[derive(Debug, Clone)]
struct Piece {
    /// Columns of the model's rows it needs (start, calendar, end or second of day).
    inner: Vec<String>,
    /// The duration's column.
    outer: String,
    /// The equi-join lookups of its clock rows.
    joins: String,
    /// A deadline's range join (after every lookup).
    range_join: String,
}

/// One duration as planned, turned into its [`Piece`] once the clock's width is known.
#[derive(Debug, Clone)]
struct Pending {
    /// Its position among the model's durations, from 1.
    n: usize,
    name: String,
    start: String,
    calendar: String,
    kind: Kind,
    /// The clocks its calendar can select (positions in `Wrapped::clocks`).
    clocks: Vec<usize>,
    /// Its definition but the calendars' ([`Wrapped::definitions`]).
    head: String,
}

impl Wrapped {
    /// The relation with every duration (made on first use; or the table the materialisation
    /// cache made of it).
    pub fn relation(&self) -> &Relation {
        self.relation.get_or_init(|| self.relation_of(&self.all()))
    }
    /// Replace the relation with every duration (by the table the materialisation cache made).
    pub fn set_relation(&mut self, relation: Relation) {
        self.relation = OnceLock::from(relation);
    }
    /// Read the model's own rows from `table` (where they were stored) instead of its `sql:`:
    /// the relations with durations are made again over it, the durations still computed.
    pub fn read_rows_from(&mut self, table: &str) {
        self.from = table.to_string();
        self.relation = OnceLock::new();
    }
    /// The table that replaced the relation with every duration, if any (nothing is expanded).
    pub fn table(&self) -> Option<&String> {
        match self.relation.get() {
            Some(Relation::Table(t)) => Some(t),
            _ => None,
        }
    }
    /// The clocks the durations read, in all (one per schedule), expanded on first use.
    pub fn clocks(&self) -> &[Arc<Clock>] {
        self.expanded
            .get_or_init(|| self.clocks.iter().map(|c| c.get().clone()).collect())
    }
    /// The clocks the durations read, unexpanded (shared with the project's calendars).
    pub fn lazy_clocks(&self) -> &[Arc<LazyClock>] {
        &self.clocks
    }
    /// The calendars of [`Self::clocks`], in order, without expanding them.
    pub fn clock_calendars(&self) -> impl Iterator<Item = &str> {
        self.clocks.iter().map(|c| c.calendar())
    }
    /// Each duration's definition as text with its calendars written out, so that `tally diff`
    /// sees a calendar change as a change of every duration that uses it (made on first use).
    pub fn definitions(&self) -> &[(String, String)] {
        self.definitions.get_or_init(|| {
            self.planned
                .iter()
                .map(|p| {
                    let mut s = p.head.clone();
                    for c in p.clocks.iter().filter_map(|&c| self.clocks.get(c)) {
                        let sch = c.schedule();
                        s.push_str(&format!("calendar {}:\n{}", sch.name, sch.canonical()));
                    }
                    (p.name.clone(), s)
                })
                .collect()
        })
    }
    /// Whether any of the clocks has been expanded (by this model or another that shares it).
    pub fn is_expanded(&self) -> bool {
        self.clocks.iter().any(|c| c.is_expanded())
    }
    /// The SQL of each duration, made on first use (with the interval slots of the model's
    /// widest clock, which expands the clocks).
    fn pieces(&self) -> &[Piece] {
        self.pieces.get_or_init(|| {
            let k = slots(self.clocks());
            self.planned.iter().map(|p| piece(p, k)).collect()
        })
    }
    /// The clocks the durations `durations` (positions in `columns`) read: those their calendars
    /// can select (every schedule of a calendar chosen by a column), in `clocks` order; every
    /// clock when none is known (so that the SQL stays valid).
    pub fn clocks_of(&self, durations: &[usize]) -> Vec<Arc<Clock>> {
        let mut used = vec![false; self.clocks.len()];
        for p in durations.iter().filter_map(|&i| self.planned.get(i)) {
            for &c in &p.clocks {
                if let Some(u) = used.get_mut(c) {
                    *u = true;
                }
            }
        }
        let clocks = self.clocks();
        if !used.contains(&true) {
            return clocks.to_vec();
        }
        clocks
            .iter()
            .zip(used)
            .filter(|(_, u)| *u)
            .map(|(c, _)| c.clone())
            .collect()
    }
    /// The clock rows of the calendars the durations `durations` read, in all.
    pub fn clock_rows(&self, durations: &[usize]) -> usize {
        self.clocks_of(durations).iter().map(|c| c.days.len()).sum()
    }
    /// Whether the SQL of `form` with the durations `durations` reads their clocks from the
    /// relations `tally_bh__<calendar>`.
    pub fn reads_relations(&self, durations: &[usize], form: ClockForm) -> bool {
        form.reads_relations(self.clock_rows(durations))
    }
    /// The rendered relation with the durations `durations` ([`Self::relation_of`]) with its
    /// clock written in `form`: the clocks of those durations' calendars and no other, as the
    /// relations `tally_bh__<calendar>` or as constant rows written by `values_table` (the SQL
    /// stage's `Dialect::values_table`). The rows keep the interval slots of the model's widest
    /// clock, which the durations' SQL reads.
    pub fn with_clock(
        &self,
        rendered: &str,
        durations: &[usize],
        form: ClockForm,
        values_table: impl Fn(&str, &[&str], &[Vec<Literal>]) -> String,
    ) -> String {
        let mark = format!("SELECT * FROM {CLOCK_MARK}");
        if !rendered.contains(&mark) {
            return rendered.to_string();
        }
        let k = slots(self.clocks());
        let clocks = self.clocks_of(durations);
        if self.reads_relations(durations, form) {
            let relations = clock_relations_sql(&clocks, k);
            return rendered
                .replace(RANGE_CLOCK_MARK, &format!("(\n{relations}\n)"))
                .replace(&mark, &relations);
        }
        let cols = clock_columns(k);
        let cols: Vec<&str> = cols.iter().map(|c| c.as_str()).collect();
        let rows: Vec<Vec<Literal>> = clocks
            .iter()
            .flat_map(|c| c.days.iter().map(move |d| clock_row(c, d, k)))
            .collect();
        let values = values_table("tally_bh_rows", &cols, &rows);
        rendered
            .replace(RANGE_CLOCK_MARK, "tally_bh")
            .replace(&mark, &format!("SELECT * FROM {values}"))
    }
    /// Whether a scan projecting these (name, SQL expression) pairs needs the durations.
    pub fn used_by<'a>(
        &self,
        projected: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> bool {
        !self.read_by(projected).is_empty()
    }
    /// The durations (positions in `columns`, ascending) a scan projecting these (name, SQL
    /// expression) pairs reads: those projected under their name or mentioned by an expression.
    pub fn read_by<'a>(
        &self,
        projected: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Vec<usize> {
        let mut read = vec![false; self.columns.len()];
        for (name, expr) in projected {
            for (i, c) in self.columns.iter().enumerate() {
                read[i] = read[i] || c == name || mentions(expr, c);
            }
        }
        (0..read.len()).filter(|&i| read[i]).collect()
    }
    /// Every duration (positions in `columns`).
    pub fn all(&self) -> Vec<usize> {
        (0..self.columns.len()).collect()
    }
    /// The relation with the durations `durations` (positions in `columns`; unknown ones are
    /// ignored) and only those: their clock lookups and range joins, no other's. Each row of the
    /// model's relation once, as in the relation with every duration (each lookup matches at
    /// most one clock row), and each duration's column computed as there.
    pub fn relation_of(&self, durations: &[usize]) -> Relation {
        let bh = clock_step(slots(self.clocks()));
        let mut inner = vec!["tally_base.*".to_string()];
        let mut outer = vec!["tally_m.*".to_string()];
        let (mut joins, mut range_joins) = (String::new(), String::new());
        let pieces = self.pieces();
        for p in durations.iter().filter_map(|&i| pieces.get(i)) {
            inner.extend(p.inner.iter().cloned());
            outer.push(p.outer.clone());
            joins.push_str(&p.joins);
            range_joins.push_str(&p.range_join);
        }
        joins.push_str(&range_joins);
        Relation::Query(
            format!(
                "WITH tally_bh AS (\n{bh}\n),\ntally_m AS (\nSELECT {} FROM {} AS tally_base\n)\nSELECT {}\nFROM tally_m{joins}",
                inner.join(", "),
                self.from,
                outer.join(",\n  ")
            )
            .into(),
            self.span,
        )
    }
}

/// The shared clock step `tally_bh` of a relation with durations: the clock rows ([`CLOCK_MARK`],
/// which the SQL stage writes in the target's form) with, for each of the `k` interval slots, its
/// opening and closing as seconds since the epoch (`s<i>_at`, `e<i>_at`: the UTC day's midnight
/// plus `s<i>`, `e<i>`). A duration's clock then reads the timestamp's own epoch seconds against
/// them ([`b_of`]) instead of working out each row's second of the day from its date: the
/// arithmetic is done once per clock row, not twice per row of the model (on DuckDB the cast of
/// every timestamp to its day and back made single-calendar durations 1.3-1.6x the hand-written
/// SQL's time over a stored model).
fn clock_step(k: usize) -> String {
    let day = "{{ epoch_seconds(cast_timestamp('tally_c.day_utc')) }}";
    let mut cols = vec!["tally_c.*".to_string()];
    for i in 1..=k {
        cols.push(format!("{day} + tally_c.s{i} AS s{i}_at"));
        cols.push(format!("{day} + tally_c.e{i} AS e{i}_at"));
    }
    format!(
        "SELECT {} FROM (\nSELECT * FROM {CLOCK_MARK}\n) AS tally_c",
        cols.join(", ")
    )
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
#[derive(Debug, Clone)]
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
        let mut of = Vec::new();
        for s in cals.schedules_of(&d.calendar.value) {
            let at = match schedules.iter().position(|o| o.name == s.name) {
                Some(at) => at,
                None => {
                    schedules.push(s);
                    schedules.len() - 1
                }
            };
            of.push(at);
        }
        planned.push((p, of));
    }
    if planned.len() != sm.business_durations.len() || schedules.is_empty() {
        return;
    }
    // Not expanded here: only when a query, check or export reads the rows (`Wrapped::clocks`).
    let clocks: Vec<Arc<LazyClock>> = schedules
        .iter()
        .map(|s| {
            cals.clock(&s.name)
                .cloned()
                .unwrap_or_else(|| Arc::new(LazyClock::new((*s).clone())))
        })
        .collect();
    let span = match &out.relation {
        Relation::Query(_, span) => *span,
        Relation::Table(_) => out.span,
    };
    let from = match &out.relation {
        Relation::Table(t) => t.clone(),
        Relation::Query(q, _) => format!("({q}\n)"),
    };
    let pending = planned
        .iter()
        .enumerate()
        .map(|(i, (p, of))| Pending {
            n: i + 1,
            name: p.d.name.value.clone(),
            start: p.start.clone(),
            calendar: p.calendar.clone(),
            kind: p.kind.clone(),
            clocks: of.clone(),
            head: definition_head(p, cals),
        })
        .collect();
    let (planned, _): (Vec<Planned>, Vec<Vec<usize>>) = planned.into_iter().unzip();
    out.business = Some(Wrapped {
        relation: OnceLock::new(),
        columns: planned.iter().map(|p| p.d.name.value.clone()).collect(),
        definitions: OnceLock::new(),
        clocks,
        expanded: OnceLock::new(),
        calendars: planned.iter().map(|p| p.d.calendar.value.clone()).collect(),
        endpoints: planned.iter().map(endpoint).collect(),
        planned: pending,
        pieces: OnceLock::new(),
        from,
        span,
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

/// A duration's definition but its calendars, which [`Wrapped::definitions`] writes out (the
/// schedules its calendar can select, in `Calendars::schedules_of` order).
fn definition_head(p: &Planned, cals: &Calendars) -> String {
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

/// The SQL duration `n` (its position among the model's durations, from 1) adds to the relation
/// with durations; the clock is [`CLOCK_MARK`], written by the SQL stage in the form of its
/// target ([`Wrapped::with_clock`]), with `k` interval slots per row.
fn piece(p: &Pending, k: usize) -> Piece {
    let n = p.n;
    let mut inner = vec![
        format!("{} AS tally_bd{n}_s", p.start),
        format!("{} AS tally_bd{n}_c", p.calendar),
    ];
    let (s, bs) = (format!("tally_m.tally_bd{n}_s"), format!("tally_bh{n}s"));
    // A calendar named by the duration (a string literal, not a column's choice) is a constant
    // of the joins: the database filters the clock rows once and joins on the day alone.
    let calendar = if p.calendar.starts_with('\'') {
        p.calendar.clone()
    } else {
        format!("tally_m.tally_bd{n}_c")
    };
    let mut lookups = vec![(bs.clone(), s.clone())];
    let (outer, range_join) = match &p.kind {
        Kind::Duration { end, divisor } => {
            inner.push(format!("{end} AS tally_bd{n}_e"));
            let (e, be) = (format!("tally_m.tally_bd{n}_e"), format!("tally_bh{n}e"));
            let divisor = if *divisor == "day_s" {
                format!("{be}.day_s")
            } else {
                (*divisor).to_string()
            };
            let outer = format!(
                "CASE WHEN {e} >= {s} THEN ({} - {}) / {divisor} END AS {}",
                b_of(&e, &be, k),
                b_of(&s, &bs, k),
                p.name
            );
            lookups.push((be, e));
            (outer, String::new())
        }
        Kind::Deadline { seconds } => {
            inner.push(format!(
                "{} AS tally_bd{n}_sod",
                super::business_deadline::second_of_day(&jinja_str(&p.start))
            ));
            let (column, join) = super::business_deadline::sql(n, *seconds, k, &calendar);
            (format!("{column} AS {}", p.name), join)
        }
    };
    let joins = lookups
        .iter()
        .map(|(alias, t)| format!(
            "\nLEFT JOIN tally_bh AS {alias} ON {alias}.calendar_id = {calendar} AND {alias}.day_utc = {{{{ cast_date('{t}') }}}}"
        ))
        .collect();
    Piece {
        inner,
        outer,
        joins,
        range_join,
    }
}

/// `B(t)` against the clock row `alias` of `t`'s UTC day: the open seconds before that day
/// (`cum_s`) plus those of each interval up to `t`, in epoch seconds ([`clock_step`]).
fn b_of(t: &str, alias: &str, k: usize) -> String {
    let at = format!("{{{{ epoch_seconds('{t}') }}}}");
    let mut s = format!("({alias}.cum_s");
    for i in 1..=k {
        s.push_str(&format!(
            " + GREATEST(0, LEAST({at}, {alias}.e{i}_at) - {alias}.s{i}_at)"
        ));
    }
    s.push(')');
    s
}
