//! Calendar dates for simulated time: day 0 of a run is a calendar date (`start_date`, a
//! Monday), and the sign-in log writes ISO 8601 timestamps. Proleptic Gregorian calendar,
//! UTC, no time zones: simulated time has none.

use crate::engine::time::{SimTime, DAY};

/// ISO 8601 UTC text for a simulated time, counting from `start_day` (days since
/// 1970-01-01).
pub fn iso8601(start_day: i64, t: SimTime) -> String {
    let day = start_day + (t.as_secs() / DAY) as i64;
    let (y, m, d) = civil_from_days(day);
    let s = t.second_of_day();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a date: use YYYY-MM-DD");
    let parts: Vec<&str> = text.trim().split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(format!("`{text}` is not a calendar date"));
    }
    Ok(days)
}

/// Parses a sign-in log timestamp into seconds since 1970-01-01 UTC. Accepts what tenants'
/// exports write: ISO 8601 with or without fractions and with `Z`, an offset or none
/// (`2026-01-05T08:30:12.1234567Z`, `2026-01-05 08:30:12`), and the US form of the
/// portal's Log Analytics CSV export (`1/5/2026, 8:30:12.123 AM`; a first number above 12
/// is a day: `21/04/2025, 09:45:54`). Fractions of a second
/// are dropped: simulated time counts whole seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    parse_checked(text).ok()
}

/// [`parse_timestamp`], saying why a text is refused.
fn parse_checked(text: &str) -> Result<i64, TimestampError> {
    use TimestampError::{NotATime, OffsetOutOfRange, OutOfRange};
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        // `get`, not indexing: a multi-byte character where the date ends (`2026-01-0é`)
        // is not a date, and must not panic (issue 35).
        let day = parse_date(t.get(..10).ok_or(NotATime)?).map_err(|_| NotATime)?;
        let rest = t.get(10..).ok_or(NotATime)?;
        if rest.is_empty() {
            return Ok(day * 86_400);
        }
        let rest = rest.strip_prefix(['T', ' ']).ok_or(NotATime)?;
        // Time, then fraction, then zone.
        let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let secs = clock_seconds(clock.split('.').next().ok_or(NotATime)?).ok_or(NotATime)?;
        let offset = match zone {
            "" | "Z" | "z" => 0,
            z => {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let hm = z[1..].replace(':', "");
                if hm.len() != 4 || !hm.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(NotATime);
                }
                let h: i64 = hm[..2].parse().map_err(|_| NotATime)?;
                let m: i64 = hm[2..].parse().map_err(|_| NotATime)?;
                // Real offsets run from -12:00 to +14:00 (`+99:99` is not one).
                if m > 59 || h * 60 + m > MAX_OFFSET_MINUTES {
                    return Err(OffsetOutOfRange);
                }
                sign * (h * 3600 + m * 60)
            }
        };
        return Ok(day * 86_400 + secs - offset);
    }
    // M/D/YYYY[,] h:mm:ss[.fff] [AM|PM]
    let (date, clock) = t.split_once([',', ' ']).ok_or(NotATime)?;
    let mut parts = date.split('/');
    let mut num = || {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or(NotATime)
    };
    let (mut m, mut d, y) = (num()?, num()?, num()?);
    if m > 12 && d <= 12 {
        // A day first (`21/04/2025`): the exporter's locale was not the US one.
        std::mem::swap(&mut m, &mut d);
    }
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(NotATime);
    }
    // Four-digit years, as in the ISO form: `1/1/5881579` would overflow the day count
    // further down, or make a window of millions of days.
    if !(1..=9999).contains(&y) {
        return Err(OutOfRange);
    }
    let (m, d) = (m as u32, d as u32);
    let day = days_from_civil(y, m, d);
    if civil_from_days(day) != (y, m, d) {
        return Err(NotATime);
    }
    let clock = clock.trim();
    let (clock, pm) = match clock.rsplit_once(' ') {
        Some((c, "PM" | "pm")) => (c, Some(true)),
        Some((c, "AM" | "am")) => (c, Some(false)),
        _ => (clock, None),
    };
    let mut secs = clock_seconds(clock.split('.').next().ok_or(NotATime)?).ok_or(NotATime)?;
    if let Some(pm) = pm {
        let hour = secs / 3600;
        if !(1..=12).contains(&hour) {
            return Err(NotATime);
        }
        secs -= hour * 3600;
        secs += (hour % 12 + if pm { 12 } else { 0 }) * 3600;
    }
    Ok(day * 86_400 + secs)
}

/// Largest offset from UTC in a timestamp, in minutes (±14:00, Kiribati's).
const MAX_OFFSET_MINUTES: i64 = 14 * 60;

/// The first and the last year a sign-in log's timestamp may fall in: Entra has no
/// sign-in before 1970, and a year past 2100 is a damaged or hostile row. Bounding them
/// bounds the observation window `calibrate` walks (issue 35: rows of years -5877640 and
/// 5881579 made it walk four billion days).
pub const LOG_YEARS: (i64, i64) = (1970, 2100);

/// Why a sign-in log's timestamp was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// Not a time in any shape the exports write.
    NotATime,
    /// A time, but outside the years [`LOG_YEARS`].
    OutOfRange,
    /// A time whose offset from UTC is beyond ±14:00.
    OffsetOutOfRange,
}

/// [`parse_timestamp`] for sign-in logs: also refuses times outside [`LOG_YEARS`].
pub fn parse_log_timestamp(text: &str) -> Result<i64, TimestampError> {
    let t = parse_checked(text)?;
    let first = days_from_civil(LOG_YEARS.0, 1, 1) * 86_400;
    let end = days_from_civil(LOG_YEARS.1 + 1, 1, 1) * 86_400;
    if (first..end).contains(&t) {
        Ok(t)
    } else {
        Err(TimestampError::OutOfRange)
    }
}

/// `HH:MM[:SS]` to seconds of the day.
fn clock_seconds(text: &str) -> Option<i64> {
    let mut it = text.split(':');
    let h: i64 = it.next()?.trim().parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let s: i64 = match it.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if it.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + s.min(59))
}

/// Day of the week, 0 = Monday.
pub fn weekday(days_since_epoch: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    (days_since_epoch + 3).rem_euclid(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_every_export_shape() {
        let t = parse_date("2026-01-05").unwrap() * 86_400 + 8 * 3600 + 30 * 60 + 12;
        for text in [
            "2026-01-05T08:30:12Z",
            "2026-01-05T08:30:12.1234567Z",
            "2026-01-05T09:30:12+01:00",
            "2026-01-05T03:30:12.5-05:00",
            "2026-01-05 08:30:12",
            "1/5/2026, 8:30:12.123 AM",
            "1/5/2026 8:30:12 AM",
        ] {
            assert_eq!(parse_timestamp(text), Some(t), "{text}");
        }
        assert_eq!(
            parse_timestamp("1/5/2026, 12:05:00 AM"),
            Some(t - 8 * 3600 - 25 * 60 - 12)
        );
        assert_eq!(parse_timestamp("1/5/2026, 1:30:12 PM"), Some(t + 5 * 3600));
        assert_eq!(
            parse_timestamp("21/04/2025, 09:45:54.000"),
            parse_timestamp("2025-04-21T09:45:54Z")
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-05T25:00:00Z",
            "2/30/2026 1:00:00 AM",
            "2026-01-05T08:30:12+1",
            // Regression (issue 35): a multi-byte character where the date ends panicked.
            "2026-01-0é",
            "2026-01-0é 08:00:00",
            "2026-01-05T08:30:12+99:99",
            "2026-01-05T08:30:12-14:01",
            "1/1/5881579 0:00:00",
            "1/1/-5877640 0:00:00",
            "1/1/99999999999999999 0:00:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(parse_timestamp("2026-01-05T08:30:12+14:00").is_some());
    }

    #[test]
    fn log_timestamps_are_confined_to_1970_to_2100() {
        assert!(parse_log_timestamp("2026-01-05T08:30:12Z").is_ok());
        assert!(parse_log_timestamp("1970-01-01T00:00:00Z").is_ok());
        assert!(parse_log_timestamp("2100-12-31T23:59:59Z").is_ok());
        for out in [
            "0000-01-01T00:00:00Z",
            "9999-12-31T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2101-01-01T00:00:00Z",
            "1/1/5000 0:00:00",
            "1/1/5881579, 9:00:00 AM",
            "1/1/-5877640, 9:00:00 AM",
        ] {
            assert_eq!(
                parse_log_timestamp(out),
                Err(TimestampError::OutOfRange),
                "{out}"
            );
        }
        assert_eq!(
            parse_log_timestamp("yesterday"),
            Err(TimestampError::NotATime)
        );
        assert_eq!(
            parse_log_timestamp("2026-01-05T09:00:00+99:99"),
            Err(TimestampError::OffsetOutOfRange)
        );
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(parse_date("2026-01-05").map(weekday), Ok(0), "a Monday");
        for d in [-1000, 0, 365, 20_000, 20_454] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("26-1-5").is_err());
        let start = parse_date("2026-01-05").unwrap();
        assert_eq!(
            iso8601(start, SimTime::from_secs(DAY + 3661)),
            "2026-01-06T01:01:01Z"
        );
    }
}
