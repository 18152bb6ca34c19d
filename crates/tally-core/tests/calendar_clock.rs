//! The business clock against an independent reference.
//!
//! - `reference`: a day-by-day walk over local dates: each date's open intervals (its own lookup
//!   of versions and exceptions), each endpoint turned into an instant with jiff's zoned
//!   conversion (a gap detected by the round trip, moved to the transition found with
//!   `TimeZone::preceding`), unioned and intersected with `[start, end)`. It shares no code with
//!   `calendar::clock`.
//! - `sampler`: brute force, minute by minute: a minute is open when its local wall-clock time is
//!   inside its date's hours (or the previous date's overnight spill). It checks the reference on
//!   short spans whose interval endpoints are not in a fall-back fold (where "wall-clock time in
//!   the interval" and "instants between the endpoints" legitimately differ).
//! - property tests: the clock equals the reference; additivity; 0 <= business <= wall clock;
//!   24/7 equals wall clock; a closed exception removes exactly its date's open time; weekly
//!   periodicity for a UTC calendar; zones with odd DST (Europe/Dublin, Australia/Lord_Howe,
//!   Asia/Kathmandu, America/New_York).

mod calendar_reference;

use calendar_reference::{ref_hours, ref_instant, reference, sampler};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use proptest::prelude::*;
use tally_core::calendar::clock::{self, Clock};
use tally_core::calendar::{DateException, DayHours, Schedule, Week};

const ZONES: &[&str] = &[
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/New_York",
    "UTC",
];

fn schedule(zone: &str, versions: Vec<(Date, Week)>, exceptions: Vec<DateException>) -> Schedule {
    Schedule {
        name: "cal".into(),
        span: Default::default(),
        timezone: zone.into(),
        tz: TimeZone::get(zone).unwrap(),
        versions,
        exceptions,
        range: (Date::constant(2019, 1, 1), Date::constant(2031, 12, 31)),
        day_seconds: 8.0 * 3600.0,
    }
}

// ----- helpers ---------------------------------------------------------------------------------

fn ts(s: &str) -> i64 {
    let dt: DateTime = s.parse().unwrap();
    dt.to_zoned(TimeZone::UTC).unwrap().timestamp().as_second()
}

fn week_weekdays(a: u32, b: u32) -> Week {
    let mut w: Week = Default::default();
    for d in w.iter_mut().take(5) {
        *d = vec![(a, b)];
    }
    w
}

fn h(hh: u32, mm: u32) -> u32 {
    hh * 3600 + mm * 60
}

// ----- fixed cases -----------------------------------------------------------------------------

#[test]
fn friday_evening_to_monday_morning() {
    let s = schedule(
        "Europe/Dublin",
        vec![(Date::MIN, week_weekdays(h(8, 0), h(18, 0)))],
        vec![],
    );
    let c = clock::expand(&s);
    // 2026-03-06 is a Friday; Dublin is on GMT then.
    let (a, b) = (ts("2026-03-06 17:59"), ts("2026-03-09 08:01"));
    assert_eq!(c.duration(a, b), Some(120));
    assert_eq!(reference(&s, a, b), 120);
    assert_eq!(sampler(&s, a, b), Some(120));
    assert_eq!(c.duration(b, a), None, "end before start");
}

#[test]
fn spring_forward_and_fall_back_days() {
    // New York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00. Open 00:00-06:00 daily.
    let mut w: Week = Default::default();
    for d in w.iter_mut() {
        *d = vec![(0, h(6, 0))];
    }
    let s = schedule("America/New_York", vec![(Date::MIN, w)], vec![]);
    let c = clock::expand(&s);
    let day = |d: &str| {
        let a = ts(&format!("{d} 00:00"));
        (a, a + 2 * 86_400)
    };
    let (a, b) = day("2026-03-07");
    // The spring-forward day (local 03-08) has 5 real open hours, its neighbours 6.
    let n = c.duration(a, b).unwrap();
    assert_eq!(n, reference(&s, a, b));
    let (a, b) = (ts("2026-03-08 05:00"), ts("2026-03-08 10:00")); // local 00:00 EST -> 06:00 EDT
    assert_eq!(c.duration(a, b), Some(5 * 3600));
    let (a, b) = (ts("2026-11-01 04:00"), ts("2026-11-01 12:00")); // local 00:00 EDT -> 07:00 EST
    assert_eq!(c.duration(a, b), Some(7 * 3600));
    assert_eq!(reference(&s, a, b), 7 * 3600);
}

#[test]
fn overnight_shift_across_utc_midnight() {
    // Sydney-less example: Kathmandu (+05:45), open 22:00-06:00 Monday night.
    let mut w: Week = Default::default();
    w[0] = vec![(h(22, 0), h(30, 0))];
    let s = schedule("Asia/Kathmandu", vec![(Date::MIN, w)], vec![]);
    let c = clock::expand(&s);
    // Monday 2026-06-01 22:00 +05:45 = 16:15 UTC; Tuesday 06:00 = 00:15 UTC.
    let (a, b) = (ts("2026-06-01 12:00"), ts("2026-06-02 12:00"));
    assert_eq!(c.duration(a, b), Some(8 * 3600));
    let (a, b) = (ts("2026-06-01 23:00"), ts("2026-06-02 00:10"));
    assert_eq!(c.duration(a, b), Some(70 * 60));
    assert_eq!(reference(&s, a, b), 70 * 60);
}

#[test]
fn schedule_change_mid_span_and_exceptions() {
    let v1 = week_weekdays(h(9, 0), h(17, 0));
    let v2 = week_weekdays(h(8, 0), h(18, 0));
    let ex = vec![
        DateException {
            from: Date::constant(2026, 12, 24),
            to: Date::constant(2026, 12, 24),
            annually: false,
            hours: vec![(h(9, 0), h(13, 0))],
            name: None,
        },
        DateException {
            from: Date::constant(2020, 12, 25),
            to: Date::constant(2020, 12, 25),
            annually: true,
            hours: vec![],
            name: None,
        },
    ];
    let s = schedule(
        "UTC",
        vec![(Date::MIN, v1), (Date::constant(2026, 12, 23), v2)],
        ex,
    );
    let c = clock::expand(&s);
    // Tue 22nd: 8h (old), Wed 23rd: 10h (new), Thu 24th: 4h (custom), Fri 25th: closed.
    let (a, b) = (ts("2026-12-22 00:00"), ts("2026-12-26 00:00"));
    assert_eq!(c.duration(a, b), Some((8 + 10 + 4) * 3600));
    assert_eq!(reference(&s, a, b), (8 + 10 + 4) * 3600);
}

// ----- properties ------------------------------------------------------------------------------

fn arb_day() -> impl Strategy<Value = DayHours> {
    // Up to two intervals on a 15-minute grid; the second may run past midnight.
    (0u32..4, 0u32..96, 1u32..40, 0u32..20, 1u32..40).prop_map(|(n, a, la, gap, lb)| {
        let q = 900;
        let mut out = Vec::new();
        if n >= 1 {
            let (s, e) = (a * q, (a + la) * q);
            out.push((s, e));
            if n >= 2 && e + gap * q < 86_400 {
                let s2 = e + gap * q + q;
                out.push((s2, s2 + lb * q));
            }
        }
        out.retain(|(s, _)| *s < 86_400);
        out
    })
}

fn arb_week() -> impl Strategy<Value = Week> {
    proptest::collection::vec(arb_day(), 7).prop_map(|v| {
        let mut w: Week = Default::default();
        for (i, d) in v.into_iter().enumerate() {
            w[i] = d;
        }
        // No overnight spill into the next day's first interval (resolution rejects it).
        for i in 0..7 {
            let next_first = w[(i + 1) % 7].first().map(|x| x.0);
            if let (Some(last), Some(nf)) = (w[i].last_mut(), next_first) {
                if last.1 > 86_400 + nf {
                    last.1 = 86_400 + nf;
                }
            }
            w[i].retain(|(a, b)| a < b);
        }
        w
    })
}

fn arb_schedule() -> impl Strategy<Value = Schedule> {
    (
        0usize..ZONES.len(),
        arb_week(),
        arb_week(),
        0i32..3000,
        proptest::option::of(0i32..3000),
    )
        .prop_map(|(z, w1, w2, change, closed)| {
            let base = Date::constant(2021, 1, 1);
            let mut versions = vec![(Date::MIN, w1)];
            versions.push((
                base.checked_add(jiff::Span::new().days(change)).unwrap(),
                w2,
            ));
            let exceptions = closed
                .map(|c| {
                    let d = base.checked_add(jiff::Span::new().days(c)).unwrap();
                    vec![DateException {
                        from: d,
                        to: d,
                        annually: false,
                        hours: vec![],
                        name: None,
                    }]
                })
                .unwrap_or_default();
            schedule(ZONES[z], versions, exceptions)
        })
}

/// Instants in 2021-2028, on a 15-minute grid half of the time (to hit boundaries), else any second.
fn arb_instant() -> impl Strategy<Value = i64> {
    let lo = ts("2021-01-01 00:00");
    (0i64..(8 * 365 * 96), any::<bool>(), 0i64..900)
        .prop_map(move |(q, exact, s)| lo + q * 900 + if exact { 0 } else { s })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn clock_matches_reference(s in arb_schedule(), a in arb_instant(), len in 0i64..(40 * 86_400)) {
        let c = clock::expand(&s);
        let b = a + len;
        let d = c.duration(a, b).unwrap();
        prop_assert_eq!(d, reference(&s, a, b));
        prop_assert!(d >= 0 && d <= b - a);
        // Additivity at a point inside.
        let m = a + len / 3;
        prop_assert_eq!(d, c.duration(a, m).unwrap() + c.duration(m, b).unwrap());
        // Monotone in the end.
        prop_assert!(c.duration(a, b + 3600).unwrap() >= d);
    }

    #[test]
    fn sampler_agrees_with_reference(s in arb_schedule(), q in 0i64..(8 * 365 * 96), len in 0i64..(3 * 24 * 60)) {
        let a = ts("2021-01-01 00:00") + q * 900;
        let b = a + len * 60;
        if let Some(n) = sampler(&s, a, b) {
            prop_assert_eq!(n, reference(&s, a, b));
        }
    }

    #[test]
    fn closed_exception_removes_exactly_its_open_time(s in arb_schedule(), a in arb_instant(), len in 0i64..(10 * 86_400), pick in 0i64..10) {
        let mut s = s;
        s.exceptions.clear();
        let open = clock::expand(&s);
        let b = a + len;
        // Close a local date near the span.
        let day = s.tz.to_datetime(Timestamp::from_second(a + pick * 86_400 / 10 * (len / 86_400).max(1)).unwrap()).date();
        let own: i64 = ref_hours(&s, day)
            .iter()
            .map(|(x, y)| {
                let (u, v) = (ref_instant(&s.tz, day, *x), ref_instant(&s.tz, day, *y));
                (v.min(b) - u.max(a)).max(0)
            })
            .sum();
        s.exceptions.push(DateException { from: day, to: day, annually: false, hours: vec![], name: None });
        let closed = clock::expand(&s);
        prop_assert_eq!(open.duration(a, b).unwrap() - closed.duration(a, b).unwrap(), own);
    }

    #[test]
    fn twenty_four_seven_is_wall_clock(z in 0usize..ZONES.len(), a in arb_instant(), len in 0i64..(400 * 86_400)) {
        let mut w: Week = Default::default();
        for d in w.iter_mut() { *d = vec![(0, 86_400)]; }
        let s = schedule(ZONES[z], vec![(Date::MIN, w)], vec![]);
        let c = clock::expand(&s);
        prop_assert_eq!(c.duration(a, a + len), Some(len));
    }

    #[test]
    fn utc_calendar_is_weekly_periodic(w in arb_week(), a in arb_instant(), len in 0i64..(20 * 86_400)) {
        let s = schedule("UTC", vec![(Date::MIN, w)], vec![]);
        let c: Clock = clock::expand(&s);
        prop_assert_eq!(c.duration(a, a + len), c.duration(a + 7 * 86_400, a + len + 7 * 86_400));
    }
}
