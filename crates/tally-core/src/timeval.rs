//! Small civil-time arithmetic for time constraints (no time-zone, proleptic Gregorian), so the
//! compiler needs no date crate and no clock.

use crate::time::Grain;

/// A naive timestamp with microsecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts {
    pub days: i64,
    pub micros: i64,
}

/// A timestamp in plans is shown as its text (`2020-01-01 00:00:00`).
impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.format())
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Ts {
    /// Midnight of a civil date.
    pub const fn date(y: i64, m: i64, d: i64) -> Ts {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Ts {
            days: era * 146097 + doe - 719468,
            micros: 0,
        }
    }

    /// Parse `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]` or with a `T` separator.
    /// Returns the timestamp and whether a time part was given.
    pub fn parse(s: &str) -> Option<(Ts, bool)> {
        let s = s.trim();
        let (date, time) = match s.find([' ', 'T']) {
            Some(i) => (&s[..i], Some(s[i + 1..].trim())),
            None => (s, None),
        };
        let mut dp = date.split('-');
        let y: i64 = dp.next()?.parse().ok()?;
        let m: i64 = dp.next()?.parse().ok()?;
        let d: i64 = dp.next()?.parse().ok()?;
        if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let days = days_from_civil(y, m, d);
        if civil_from_days(days) != (y, m, d) {
            return None;
        }
        let mut micros = 0i64;
        if let Some(t) = time {
            let (hms, frac) = match t.find('.') {
                Some(i) => (&t[..i], Some(&t[i + 1..])),
                None => (t, None),
            };
            let mut tp = hms.split(':');
            let h: i64 = tp.next()?.parse().ok()?;
            let mi: i64 = tp.next().unwrap_or("0").parse().ok()?;
            let se: i64 = tp.next().unwrap_or("0").parse().ok()?;
            if tp.next().is_some() || h > 23 || mi > 59 || se > 60 {
                return None;
            }
            micros = ((h * 60 + mi) * 60 + se) * 1_000_000;
            if let Some(f) = frac {
                let digits: String = f.chars().take(6).collect();
                if !digits.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let padded = format!("{digits:0<6}");
                micros += padded.parse::<i64>().ok()?;
            }
        }
        Some((Ts { days, micros }, time.is_some()))
    }

    pub fn format(&self) -> String {
        let (y, m, d) = civil_from_days(self.days);
        let secs = self.micros / 1_000_000;
        let us = self.micros % 1_000_000;
        let base = format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        if us == 0 {
            base
        } else {
            format!("{base}.{us:06}")
        }
    }

    fn norm(days: i64, micros: i64) -> Ts {
        let day = 86_400_000_000i64;
        Ts {
            days: days + micros.div_euclid(day),
            micros: micros.rem_euclid(day),
        }
    }

    pub fn trunc(&self, g: Grain) -> Ts {
        let (y, m, _) = civil_from_days(self.days);
        match g {
            Grain::Nanosecond | Grain::Microsecond => *self,
            Grain::Millisecond => Ts {
                days: self.days,
                micros: self.micros - self.micros % 1000,
            },
            Grain::Second => Ts {
                days: self.days,
                micros: self.micros - self.micros % 1_000_000,
            },
            Grain::Minute => Ts {
                days: self.days,
                micros: self.micros - self.micros % 60_000_000,
            },
            Grain::Hour => Ts {
                days: self.days,
                micros: self.micros - self.micros % 3_600_000_000,
            },
            Grain::Day => Ts {
                days: self.days,
                micros: 0,
            },
            // 1970-01-01 was a Thursday; Monday-based weeks.
            Grain::Week => Ts {
                days: self.days - (self.days + 3).rem_euclid(7),
                micros: 0,
            },
            Grain::Month => Ts {
                days: days_from_civil(y, m, 1),
                micros: 0,
            },
            Grain::Quarter => Ts {
                days: days_from_civil(y, (m - 1) / 3 * 3 + 1, 1),
                micros: 0,
            },
            Grain::Year => Ts {
                days: days_from_civil(y, 1, 1),
                micros: 0,
            },
        }
    }

    pub fn add(&self, count: i64, g: Grain) -> Ts {
        let months = |n: i64| {
            let (y, m, d) = civil_from_days(self.days);
            let total = y * 12 + (m - 1) + n;
            let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            let last = civil_from_days(days_from_civil(ny + (nm / 12), nm % 12 + 1, 1) - 1).2;
            Ts {
                days: days_from_civil(ny, nm, d.min(last)),
                micros: self.micros,
            }
        };
        match g {
            Grain::Nanosecond => *self,
            Grain::Microsecond => Ts::norm(self.days, self.micros + count),
            Grain::Millisecond => Ts::norm(self.days, self.micros + count * 1000),
            Grain::Second => Ts::norm(self.days, self.micros + count * 1_000_000),
            Grain::Minute => Ts::norm(self.days, self.micros + count * 60_000_000),
            Grain::Hour => Ts::norm(self.days, self.micros + count * 3_600_000_000),
            Grain::Day => Ts {
                days: self.days + count,
                micros: self.micros,
            },
            Grain::Week => Ts {
                days: self.days + 7 * count,
                micros: self.micros,
            },
            Grain::Month => months(count),
            Grain::Quarter => months(3 * count),
            Grain::Year => months(12 * count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_format_and_arithmetic() {
        let (t, has_time) = Ts::parse("2020-01-31").unwrap();
        assert!(!has_time);
        assert_eq!(t.format(), "2020-01-31 00:00:00");
        assert_eq!(t.add(1, Grain::Month).format(), "2020-02-29 00:00:00");
        assert_eq!(t.trunc(Grain::Quarter).format(), "2020-01-01 00:00:00");
        // 2020-01-01 was a Wednesday; its ISO week starts on Monday 2019-12-30.
        let (w, _) = Ts::parse("2020-01-01").unwrap();
        assert_eq!(w.trunc(Grain::Week).format(), "2019-12-30 00:00:00");
        let (s, has_time) = Ts::parse("2020-01-01 23:59:59.5").unwrap();
        assert!(has_time);
        assert_eq!(
            s.add(1, Grain::Second).format(),
            "2020-01-02 00:00:00.500000"
        );
        assert!(Ts::parse("2020-02-30").is_none());
        assert!(Ts::parse("yesterday").is_none());
    }
}
