//! Calendar arithmetic on naive UTC seconds since 1970-01-01, office hours and the sync grid.

pub(crate) const MIN: i64 = 60;
pub(crate) const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) const fn ymd_hms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * DAY + h * HOUR + mi * MIN + s
}

/// `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn fmt_ts(t: i64) -> String {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / HOUR,
        secs % HOUR / MIN,
        secs % MIN
    )
}

pub(crate) const fn day_start(t: i64) -> i64 {
    t.div_euclid(DAY) * DAY
}

/// 0 = Monday … 6 = Sunday.
pub(crate) const fn weekday(t: i64) -> i64 {
    (t.div_euclid(DAY) + 3).rem_euclid(7)
}

pub(crate) const fn hour_of(t: i64) -> i64 {
    t.rem_euclid(DAY) / HOUR
}

/// Opening hours of a team (UTC, whole hours; `end` exclusive).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hours {
    pub weekday: (i64, i64),
    pub weekend: Option<(i64, i64)>,
}

impl Hours {
    fn window(&self, day: i64) -> Option<(i64, i64)> {
        let w = if weekday(day) < 5 {
            Some(self.weekday)
        } else {
            self.weekend
        };
        w.map(|(a, b)| (day + a * HOUR, day + b * HOUR))
    }

    pub(crate) fn is_open(&self, t: i64) -> bool {
        matches!(self.window(day_start(t)), Some((a, b)) if t >= a && t < b)
    }

    /// `t` itself when open, else the next opening time.
    pub(crate) fn next_open(&self, t: i64) -> i64 {
        let mut day = day_start(t);
        for _ in 0..8 {
            if let Some((a, b)) = self.window(day) {
                if t < b {
                    return t.max(a);
                }
            }
            day += DAY;
        }
        t
    }

    /// Seconds of [a, b) that fall inside opening hours (Intercom's office-hours durations).
    pub(crate) fn business_secs(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        let mut total = 0;
        let mut day = day_start(a);
        while day < b {
            if let Some((s, e)) = self.window(day) {
                let lo = s.max(a);
                let hi = e.min(b);
                if hi > lo {
                    total += hi - lo;
                }
            }
            day += DAY;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_clock_roundtrip() {
        let t = ymd_hms(2026, 6, 30, 23, 59, 59);
        assert_eq!(fmt_ts(t), "2026-06-30 23:59:59");
        assert_eq!(weekday(ymd_hms(2026, 6, 29, 12, 0, 0)), 0); // a Monday
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let h = Hours {
            weekday: (8, 18),
            weekend: None,
        };
        let sat = ymd_hms(2026, 6, 27, 10, 0, 0);
        assert!(!h.is_open(sat));
        assert_eq!(h.next_open(sat), ymd_hms(2026, 6, 29, 8, 0, 0));
        assert_eq!(
            h.business_secs(
                ymd_hms(2026, 6, 26, 17, 0, 0),
                ymd_hms(2026, 6, 29, 9, 0, 0)
            ),
            2 * HOUR
        );
    }
}
