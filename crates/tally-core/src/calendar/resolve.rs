//! `business_calendars:` and `holiday_sets:` checked into [`Calendars`]. Every mistake is a
//! spanned diagnostic (E0801-E0807) with help; a calendar with errors is left out.

use super::spec::{self, Exception, Weekly};
use super::{Calendar, Calendars, DateException, DayHours, Schedule, Selector, Week};
use crate::diag::{codes, Diagnostic};
use crate::spec::SString;
use jiff::civil::Date;

const DAY: u32 = 86_400;
const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The tz database built into tally (jiff's bundled copy, `tzdb-bundle-always`), the same on
/// every machine. jiff's default database is the system's `/usr/share/zoneinfo` when there is
/// one, whose opening walks the whole directory (3.2M instructions and hundreds of system calls,
/// once per process).
fn tz_db() -> &'static jiff::tz::TimeZoneDatabase {
    static DB: std::sync::OnceLock<jiff::tz::TimeZoneDatabase> = std::sync::OnceLock::new();
    DB.get_or_init(jiff::tz::TimeZoneDatabase::bundled)
}

/// Resolve the project's calendars.
pub fn resolve(
    calendars: &[spec::BusinessCalendar],
    holiday_sets: &[spec::HolidaySet],
    diags: &mut Vec<Diagnostic>,
) -> Calendars {
    let mut out = Calendars {
        declared: calendars.iter().map(|c| c.name.value.clone()).collect(),
        ..Calendars::default()
    };
    let mut seen_sets: Vec<&str> = Vec::new();
    for h in holiday_sets {
        if seen_sets.contains(&h.name.value.as_str()) {
            diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("holiday set `{}` is declared twice", h.name.value),
                )
                .at(h.name.span)
                .with_help("give each holiday set its own name"),
            );
        }
        seen_sets.push(&h.name.value);
    }
    for c in calendars {
        if out.calendars.contains_key(&c.name.value) {
            diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("business calendar `{}` is declared twice", c.name.value),
                )
                .at(c.name.span)
                .with_help("give each calendar its own name"),
            );
            continue;
        }
        let before = diags.len();
        let cal = if c.by.is_some() {
            selector(c, diags).map(Calendar::ByColumn)
        } else {
            schedule(c, holiday_sets, diags).map(Calendar::Schedule)
        };
        if let Some(cal) = cal {
            if diags[before..].iter().all(|d| !d.is_error()) {
                out.calendars.insert(c.name.value.clone(), cal);
            }
        }
    }
    check_selectors(calendars, &out, diags);
    out.make_clocks();
    out
}

fn selector(c: &spec::BusinessCalendar, diags: &mut Vec<Diagnostic>) -> Option<Selector> {
    let by = c.by.as_ref()?;
    let Some(default) = &c.default else {
        diags.push(
            Diagnostic::error(
                codes::MISSING_KEY,
                format!(
                    "calendar `{}` chooses by `{}` but has no `default`",
                    c.name.value, by.value
                ),
            )
            .at(c.name.span)
            .with_help("add `default: <calendar>` for rows whose key is not in `map`"),
        );
        return None;
    };
    if c.timezone.is_some() || c.weekly.is_some() || !c.versions.is_empty() {
        diags.push(
            Diagnostic::error(
                codes::CALENDAR_HOURS,
                format!("calendar `{}` has `by` and its own hours", c.name.value),
            )
            .at(by.span)
            .with_help("a calendar either declares hours (timezone, weekly) or chooses another calendar per row (by, map, default)"),
        );
        return None;
    }
    Some(Selector {
        name: c.name.value.clone(),
        span: c.name.span,
        by: by.value.clone(),
        map: c
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        default: default.value.clone(),
    })
}

/// `map` and `default` name calendars with hours.
fn check_selectors(
    calendars: &[spec::BusinessCalendar],
    out: &Calendars,
    diags: &mut Vec<Diagnostic>,
) {
    let schedules: Vec<&str> = calendars
        .iter()
        .filter(|c| c.by.is_none())
        .map(|c| c.name.value.as_str())
        .collect();
    for c in calendars.iter().filter(|c| c.by.is_some()) {
        for target in c.map.values().chain(c.default.iter()) {
            if !schedules.contains(&target.value.as_str()) {
                diags.push(unknown_calendar(
                    target,
                    &schedules,
                    "a calendar with hours",
                ));
            }
        }
        let _ = out;
    }
}

/// E0805 for a name that is not a calendar.
pub fn unknown_calendar(name: &SString, known: &[&str], what: &str) -> Diagnostic {
    Diagnostic::error(
        codes::UNKNOWN_CALENDAR,
        format!("unknown business calendar `{}`", name.value),
    )
    .at(name.span)
    .with_label(format!("not {what} of `business_calendars:`"))
    .with_suggestion(&name.value, known.iter().copied())
    .with_help(format!(
        "declared calendars: {}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

fn schedule(
    c: &spec::BusinessCalendar,
    holiday_sets: &[spec::HolidaySet],
    diags: &mut Vec<Diagnostic>,
) -> Option<Schedule> {
    let tz_name = c
        .timezone
        .as_ref()
        .map(|t| t.value.clone())
        .unwrap_or_else(|| "UTC".into());
    let tz = match &c.timezone {
        None => jiff::tz::TimeZone::UTC,
        Some(t) => match tz_db().get(&t.value) {
            Ok(tz) => tz,
            Err(_) => {
                let names: Vec<String> = tz_db().available().map(|n| n.to_string()).collect();
                diags.push(
                    Diagnostic::error(
                        codes::CALENDAR_ZONE,
                        format!("unknown time zone `{}`", t.value),
                    )
                    .at(t.span)
                    .with_label("not an IANA time zone in tally's tz database")
                    .with_suggestion(&t.value, names.iter().map(|s| s.as_str()))
                    .with_help("use an IANA name such as `Europe/Dublin` or `America/New_York`"),
                );
                return None;
            }
        },
    };
    let first = week(c.weekly.as_ref(), diags);
    let mut versions = vec![(Date::MIN, first)];
    let mut last: Option<&SString> = None;
    for v in &c.versions {
        let Some(d) = date(&v.effective_from, diags) else {
            continue;
        };
        if let Some(prev) = last {
            if let Ok(pd) = prev.value.parse::<Date>() {
                if d <= pd {
                    diags.push(
                        Diagnostic::error(
                            codes::CALENDAR_VERSIONS,
                            format!(
                                "version effective from {d} is not after the previous one ({pd})"
                            ),
                        )
                        .at(v.effective_from.span)
                        .with_secondary(prev.span, "previous version")
                        .with_help(
                            "list `versions:` in increasing `effective_from` order, one per date",
                        ),
                    );
                }
            }
        }
        last = Some(&v.effective_from);
        versions.push((d, week(Some(&v.weekly), diags)));
    }
    let mut exceptions = Vec::new();
    for e in &c.exceptions {
        exceptions.extend(exception(e, diags));
    }
    for inc in &c.include_exceptions {
        match holiday_sets.iter().find(|h| h.name.value == inc.value) {
            Some(h) => {
                for e in &h.exceptions {
                    exceptions.extend(exception(e, diags));
                }
            }
            None => diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_CALENDAR,
                    format!("unknown holiday set `{}`", inc.value),
                )
                .at(inc.span)
                .with_label("not in `holiday_sets:`")
                .with_suggestion(
                    &inc.value,
                    holiday_sets.iter().map(|h| h.name.value.as_str()),
                )
                .with_help("declare it under the top-level `holiday_sets:` key"),
            ),
        }
    }
    check_duplicate_dates(c, &exceptions, diags);
    let range = match &c.range {
        None => (Date::constant(2020, 1, 1), Date::constant(2030, 12, 31)),
        Some(r) => {
            let (s, e) = (date(&r.start, diags)?, date(&r.end, diags)?);
            if s > e {
                diags.push(
                    Diagnostic::error(
                        codes::CALENDAR_RANGE,
                        format!("range starts ({s}) after it ends ({e})"),
                    )
                    .at(r.start.span)
                    .with_secondary(r.end.span, "end")
                    .with_help("`range: {start, end}` are inclusive dates, start first"),
                );
                return None;
            }
            (s, e)
        }
    };
    let day_seconds = match &c.day_hours {
        Some(h) if h.value > 0.0 && h.value <= 24.0 => h.value * 3600.0,
        Some(h) => {
            diags.push(
                Diagnostic::error(
                    codes::CALENDAR_HOURS,
                    format!("day_hours {} is not in (0, 24]", h.value),
                )
                .at(h.span)
                .with_help("the hours of one business day, for `unit: business_day`"),
            );
            return None;
        }
        None => default_day_seconds(&versions.last()?.1),
    };
    Some(Schedule {
        name: c.name.value.clone(),
        span: c.name.span,
        timezone: tz_name,
        tz,
        versions,
        exceptions,
        range,
        day_seconds,
    })
}

/// The open seconds of a week divided by its open days (8 hours for an empty week).
fn default_day_seconds(w: &Week) -> f64 {
    let open: Vec<u32> = w
        .iter()
        .map(|d| d.iter().map(|(s, e)| e - s).sum())
        .filter(|s| *s > 0)
        .collect();
    if open.is_empty() {
        8.0 * 3600.0
    } else {
        open.iter().map(|s| *s as f64).sum::<f64>() / open.len() as f64
    }
}

fn check_duplicate_dates(
    c: &spec::BusinessCalendar,
    ex: &[DateException],
    diags: &mut Vec<Diagnostic>,
) {
    for (i, a) in ex.iter().enumerate() {
        for b in &ex[..i] {
            let clash = match (a.annually, b.annually) {
                (false, false) => a.from <= b.to && b.from <= a.to,
                (true, true) => a.from.month() == b.from.month() && a.from.day() == b.from.day(),
                _ => false,
            };
            if clash {
                diags.push(
                    Diagnostic::error(
                        codes::CALENDAR_EXCEPTION,
                        format!(
                            "calendar `{}` has two exceptions on {} ({} and {})",
                            c.name.value,
                            a.from,
                            b.name.as_deref().unwrap_or("unnamed"),
                            a.name.as_deref().unwrap_or("unnamed")
                        ),
                    )
                    .at(c.name.span)
                    .with_help(
                        "one exception per date: merge them into one `hours:` list or drop one",
                    ),
                );
                return;
            }
        }
    }
}

fn date(s: &SString, diags: &mut Vec<Diagnostic>) -> Option<Date> {
    match s.value.trim().parse::<Date>() {
        Ok(d) => Some(d),
        Err(_) => {
            diags.push(
                Diagnostic::error(
                    codes::CALENDAR_EXCEPTION,
                    format!("`{}` is not a date", s.value),
                )
                .at(s.span)
                .with_help("write dates as YYYY-MM-DD, for example 2026-12-25"),
            );
            None
        }
    }
}

fn exception(e: &Exception, diags: &mut Vec<Diagnostic>) -> Option<DateException> {
    let anchor = e.date.as_ref().or(e.from.as_ref()).or(e.to.as_ref());
    let Some(anchor) = anchor else {
        diags.push(
            Diagnostic::error(
                codes::CALENDAR_EXCEPTION,
                "an exception has no `date` (or `from` and `to`)",
            )
            .at(e
                .closed
                .as_ref()
                .map(|c| c.span)
                .or(e.recurring.as_ref().map(|r| r.span))
                .unwrap_or_default())
            .with_help("write `date: 2026-12-25` or `from: 2026-08-03` and `to: 2026-08-07`"),
        );
        return None;
    };
    let (from, to) = match (&e.date, &e.from, &e.to) {
        (Some(d), None, None) => {
            let d = date(d, diags)?;
            (d, d)
        }
        (None, Some(f), Some(t)) => {
            let (fd, td) = (date(f, diags)?, date(t, diags)?);
            if fd > td {
                diags.push(
                    Diagnostic::error(
                        codes::CALENDAR_EXCEPTION,
                        format!("exception runs from {fd} to an earlier date {td}"),
                    )
                    .at(f.span)
                    .with_help("`from` and `to` are inclusive, `from` first"),
                );
                return None;
            }
            (fd, td)
        }
        _ => {
            diags.push(
                Diagnostic::error(
                    codes::CALENDAR_EXCEPTION,
                    "an exception needs either `date` or both `from` and `to`",
                )
                .at(anchor.span)
                .with_help("write `date: 2026-12-25`, or `from: 2026-08-03` with `to: 2026-08-07`"),
            );
            return None;
        }
    };
    let closed = e.closed.as_ref().is_some_and(|c| c.value);
    let hours = match (&e.hours, closed) {
        (Some(_), true) => {
            diags.push(
                Diagnostic::error(codes::CALENDAR_EXCEPTION, "an exception is both `closed` and has `hours`")
                    .at(anchor.span)
                    .with_help("drop `closed: true` to open with these hours, or drop `hours` to close all day"),
            );
            return None;
        }
        (Some(h), false) => day_hours(h, diags)?,
        (None, true) => Vec::new(),
        (None, false) => {
            diags.push(
                Diagnostic::error(
                    codes::CALENDAR_EXCEPTION,
                    "an exception has neither `closed: true` nor `hours`",
                )
                .at(anchor.span)
                .with_help("add `closed: true` or `hours: [\"09:00-13:00\"]`"),
            );
            return None;
        }
    };
    let annually = match &e.recurring {
        None => false,
        Some(r) if r.value == "annually" => true,
        Some(r) => {
            diags.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("unknown recurrence `{}`", r.value),
                )
                .at(r.span)
                .with_help("the only recurrence is `annually`"),
            );
            return None;
        }
    };
    if annually && from != to {
        diags.push(
            Diagnostic::error(
                codes::CALENDAR_EXCEPTION,
                "a recurring exception must be one `date`",
            )
            .at(anchor.span)
            .with_help("declare one recurring exception per date"),
        );
        return None;
    }
    Some(DateException {
        from,
        to,
        annually,
        hours,
        name: e.name.clone(),
    })
}

/// A weekly block into seven days of intervals; per-day keys override `weekdays` and `every_day`.
fn week(w: Option<&Weekly>, diags: &mut Vec<Diagnostic>) -> Week {
    let mut out: Week = Default::default();
    let Some(w) = w else { return out };
    let per_day = [&w.mon, &w.tue, &w.wed, &w.thu, &w.fri, &w.sat, &w.sun];
    let mut spans: [Vec<&SString>; 7] = Default::default();
    // Each list is parsed (and reported) once, however many days share it.
    let weekdays = w
        .weekdays
        .as_ref()
        .map(|l| day_hours(l, diags).unwrap_or_default());
    let every_day = w
        .every_day
        .as_ref()
        .map(|l| day_hours(l, diags).unwrap_or_default());
    for (i, day) in out.iter_mut().enumerate() {
        if let Some(src) = per_day[i].as_ref() {
            *day = day_hours(src, diags).unwrap_or_default();
            spans[i] = src.iter().collect();
        } else if let (true, Some(h), Some(src)) = (i < 5, &weekdays, &w.weekdays) {
            *day = h.clone();
            spans[i] = src.iter().collect();
        } else if let (Some(h), Some(src)) = (&every_day, &w.every_day) {
            *day = h.clone();
            spans[i] = src.iter().collect();
        }
    }
    // An overnight shift must not run into the next day's first interval.
    for i in 0..7 {
        let next = (i + 1) % 7;
        for (k, (_, e)) in out[i].iter().enumerate() {
            if *e > DAY {
                let spill = e - DAY;
                if let Some(j) = out[next].iter().position(|(s, _)| *s < spill) {
                    diags.push(
                        Diagnostic::error(
                            codes::CALENDAR_OVERLAP,
                            format!(
                                "{}'s overnight interval runs until {} on {}, into its interval from {}",
                                DAY_KEYS[i],
                                super::hhmm(spill),
                                DAY_KEYS[next],
                                super::hhmm(out[next][j].0)
                            ),
                        )
                        .at(spans[i].get(k).map(|s| s.span).unwrap_or_default())
                        .with_secondary(spans[next].get(j).map(|s| s.span).unwrap_or_default(), "this interval")
                        .with_help("end the overnight shift when the next day opens, or start the next day later"),
                    );
                }
            }
        }
    }
    out
}

/// A list of `HH:MM-HH:MM` intervals, sorted, checked for overlaps.
fn day_hours(list: &[SString], diags: &mut Vec<Diagnostic>) -> Option<DayHours> {
    let mut out: Vec<(u32, u32, &SString)> = Vec::new();
    let mut ok = true;
    for s in list {
        match interval(&s.value) {
            Ok((a, b)) => out.push((a, b, s)),
            Err(why) => {
                ok = false;
                diags.push(
                    Diagnostic::error(codes::CALENDAR_HOURS, format!("`{}` is not an interval of office hours: {why}", s.value))
                        .at(s.span)
                        .with_help("write local times as `HH:MM-HH:MM`, for example `09:00-17:30`; `22:00-06:00` (or `22:00-30:00`) runs past midnight"),
                );
            }
        }
    }
    out.sort_by_key(|(a, b, _)| (*a, *b));
    for w in out.windows(2) {
        if w[1].0 < w[0].1 {
            ok = false;
            diags.push(
                Diagnostic::error(
                    codes::CALENDAR_OVERLAP,
                    format!(
                        "intervals `{}` and `{}` overlap",
                        w[0].2.value, w[1].2.value
                    ),
                )
                .at(w[1].2.span)
                .with_secondary(w[0].2.span, "overlaps this one")
                .with_help("merge them into one interval, or make one end where the other starts"),
            );
        }
    }
    ok.then(|| out.into_iter().map(|(a, b, _)| (a, b)).collect())
}

/// `HH:MM-HH:MM` into seconds from midnight; an end at or before the start runs past midnight.
pub fn interval(s: &str) -> Result<(u32, u32), String> {
    let (a, b) = s.split_once('-').ok_or("no `-` between start and end")?;
    let start = clock_time(a.trim())?;
    let mut end = clock_time(b.trim())?;
    if start >= DAY {
        return Err("the start must be before 24:00".into());
    }
    if end == start {
        return Err("it is empty (end equals start)".into());
    }
    if end < start {
        if end >= DAY {
            return Err("the end is before the start".into());
        }
        end += DAY;
    }
    if end - start > DAY {
        return Err("it is longer than 24 hours".into());
    }
    Ok((start, end))
}

fn clock_time(s: &str) -> Result<u32, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not HH:MM"))?;
    let h: u32 = h.parse().map_err(|_| format!("`{s}` is not HH:MM"))?;
    let m: u32 = m.parse().map_err(|_| format!("`{s}` is not HH:MM"))?;
    if m >= 60 || h > 48 || (h == 48 && m > 0) {
        return Err(format!("`{s}` is not a time of day (up to 48:00)"));
    }
    Ok(h * 3600 + m * 60)
}
