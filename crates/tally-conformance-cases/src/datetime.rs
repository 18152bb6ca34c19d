//! Date/time scalars (proleptic Gregorian, UTC, microseconds since 1970-01-01).

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD[ T]HH:MM[:SS[.f+]]` into microseconds since the epoch
/// (digits past the sixth fractional one are ignored). Also reads dates and timestamps that other
/// engines print, e.g. PostgreSQL's text output in the cross-engine test.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("not a date/time: {s:?}");
    let num = |t: &str| -> Result<i64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let s = s.trim();
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let dp: Vec<&str> = date.split('-').collect();
    if dp.len() != 3 {
        return Err(bad());
    }
    let (y, m, d) = (num(dp[0])?, num(dp[1])?, num(dp[2])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut micros = days_from_civil(y, m, d) * MICROS_PER_DAY;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let tp: Vec<&str> = hms.split(':').collect();
        if tp.len() < 2 || tp.len() > 3 {
            return Err(bad());
        }
        let h = num(tp[0])?;
        let mi = num(tp[1])?;
        let sec = if tp.len() == 3 { num(tp[2])? } else { 0 };
        if h > 23 || mi > 59 || sec > 60 {
            return Err(bad());
        }
        micros += ((h * 60 + mi) * 60 + sec) * 1_000_000;
        if let Some(frac) = frac {
            num(frac)?;
            let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
            micros += num(&digits)?;
        }
    }
    Ok(micros)
}

/// `YYYY-MM-DD` of a time in microseconds since the epoch.
pub fn format_date(micros: i64) -> String {
    let (y, m, d) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` when there are fractional seconds.
pub fn format_timestamp(micros: i64) -> String {
    let day_micros = micros.rem_euclid(MICROS_PER_DAY);
    let secs = day_micros / 1_000_000;
    let frac = day_micros % 1_000_000;
    let mut out = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(micros),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}
