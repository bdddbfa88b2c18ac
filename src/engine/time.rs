//! Simulated time.
//!
//! Time is an integer count of **seconds** since the start of a simulation (a scenario's
//! `00:00`, or midnight of day 0 of an experiment). Floats never enter the clock, so two
//! events that the model places at the same second compare equal on every machine.
//!
//! Two text forms are parsed here:
//! - durations: `30s`, `5m`, `1h`, `1h30m`, `7d` (units may be combined, largest first);
//! - scenario times: `HH:MM` or `HH:MM:SS`, optionally prefixed by a day, `2d 04:45`.
//!
//! Sign-in frequency additionally accepts `every_time`; that is `policy::Sif`, in the policy layer.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds in a minute, hour and day, named so that arithmetic reads as units.
pub const MINUTE: u64 = 60;
pub const HOUR: u64 = 60 * MINUTE;
pub const DAY: u64 = 24 * HOUR;

/// The longest duration or time any input may name: 100 years. Refusing larger values keeps
/// every sum of a time and a duration far from `u64` overflow.
pub const MAX_SECONDS: u64 = 100 * 366 * DAY;

/// A span of simulated time, in whole seconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

/// An instant of simulated time: whole seconds since the simulation started.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_secs(s: u64) -> Self {
        Duration(s)
    }
    pub const fn from_mins(m: u64) -> Self {
        Duration(m * MINUTE)
    }
    pub const fn from_hours(h: u64) -> Self {
        Duration(h * HOUR)
    }
    pub const fn from_days(d: u64) -> Self {
        Duration(d * DAY)
    }
    pub const fn as_secs(self) -> u64 {
        self.0
    }
    pub fn as_hours_f64(self) -> f64 {
        self.0 as f64 / HOUR as f64
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any simulation reaches; used for "never".
    pub const NEVER: SimTime = SimTime(u64::MAX);

    pub const fn from_secs(s: u64) -> Self {
        SimTime(s)
    }
    pub const fn as_secs(self) -> u64 {
        self.0
    }
    /// Whole days since the start (day 0 is the first day).
    pub const fn day(self) -> u64 {
        self.0 / DAY
    }
    /// Seconds since the start of this time's day.
    pub const fn second_of_day(self) -> u64 {
        self.0 % DAY
    }
    /// `self + d`, saturating at [`SimTime::NEVER`] so "never" plus anything stays never.
    pub fn saturating_add(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: Duration) -> SimTime {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for SimTime {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl Sub for SimTime {
    type Output = Duration;
    /// Saturating: a negative span is zero. Callers compare times before subtracting when the
    /// sign matters.
    fn sub(self, rhs: SimTime) -> Duration {
        self.saturating_since(rhs)
    }
}

/// Why a duration or time string was refused. The caller adds the file and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    #[error("empty value")]
    Empty,
    #[error("`{0}` is not a duration: use a number with a unit, e.g. `30s`, `5m`, `1h30m`, `7d`")]
    BadDuration(String),
    #[error("`{0}` is not a time: use `HH:MM`, `HH:MM:SS` or a day prefix like `2d 04:45`")]
    BadTime(String),
    #[error("`{0}` is too large: at most 100 years")]
    TooLarge(String),
}

/// Parses a duration such as `30s`, `5m`, `1h30m`, `7d` or `2d12h`.
///
/// Units: `d`, `h`, `m`, `s`, each at most once and largest first. A bare `0` is zero.
/// Zero is allowed here; callers that need a positive duration check for it, because zero
/// is meaningful in some places (`remember_mfa = "0d"` turns the feature off).
pub fn parse_duration(text: &str) -> Result<Duration, TimeParseError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(TimeParseError::Empty);
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || TimeParseError::BadDuration(text.to_string());
    let mut total: u64 = 0;
    let mut digits = String::new();
    // Units must appear in this order, each at most once.
    let order = ['d', 'h', 'm', 's'];
    let mut next_unit = 0usize;
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            if digits.len() >= 12 {
                return Err(TimeParseError::TooLarge(text.to_string()));
            }
            digits.push(ch);
            continue;
        }
        let unit_pos = order[next_unit..]
            .iter()
            .position(|u| *u == ch)
            .ok_or_else(bad)?;
        if digits.is_empty() {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let unit = match ch {
            'd' => DAY,
            'h' => HOUR,
            'm' => MINUTE,
            _ => 1,
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| TimeParseError::TooLarge(text.to_string()))?;
        digits.clear();
        next_unit += unit_pos + 1;
    }
    if !digits.is_empty() {
        // A number with no unit: ambiguous, so refuse it rather than guess seconds.
        return Err(bad());
    }
    if total > MAX_SECONDS {
        return Err(TimeParseError::TooLarge(text.to_string()));
    }
    Ok(Duration(total))
}

/// Parses a scenario time: `HH:MM`, `HH:MM:SS`, optionally prefixed by `Nd ` (`2d 04:45`).
///
/// Hours may exceed 23 (`27:00` is `1d 03:00`); minutes and seconds must be below 60.
pub fn parse_time(text: &str) -> Result<SimTime, TimeParseError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(TimeParseError::Empty);
    }
    let bad = || TimeParseError::BadTime(text.to_string());
    let (day, clock) = match s.split_once(char::is_whitespace) {
        Some((d, rest)) => {
            let d = d.strip_suffix('d').ok_or_else(bad)?;
            if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) || d.len() > 6 {
                return Err(bad());
            }
            (d.parse::<u64>().map_err(|_| bad())?, rest.trim())
        }
        None => (0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let num = |p: &str, max_len: usize| -> Result<u64, TimeParseError> {
        if p.is_empty() || p.len() > max_len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse::<u64>().map_err(|_| bad())
    };
    let h = num(parts[0], 6)?;
    let m = num(parts[1], 2)?;
    let sec = if parts.len() == 3 {
        num(parts[2], 2)?
    } else {
        0
    };
    if m >= 60 || sec >= 60 {
        return Err(bad());
    }
    let total = day * DAY + h * HOUR + m * MINUTE + sec;
    if total > MAX_SECONDS {
        return Err(TimeParseError::TooLarge(text.to_string()));
    }
    Ok(SimTime(total))
}

impl fmt::Display for SimTime {
    /// The scenario form: `HH:MM`, with `:SS` only when non-zero and `Nd ` only after day 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = self.day();
        let rem = self.second_of_day();
        let (h, m, s) = (rem / HOUR, (rem % HOUR) / MINUTE, rem % MINUTE);
        if day > 0 {
            write!(f, "{day}d ")?;
        }
        write!(f, "{h:02}:{m:02}")?;
        if s > 0 {
            write!(f, ":{s:02}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Duration {
    /// The shortest duration string that parses back to the same value (`1h30m`, `7d`, `0s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rem = self.0;
        if rem == 0 {
            return f.write_str("0s");
        }
        for (unit, suffix) in [(DAY, 'd'), (HOUR, 'h'), (MINUTE, 'm'), (1, 's')] {
            if rem >= unit {
                write!(f, "{}{}", rem / unit, suffix)?;
                rem %= unit;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_time(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * DAY);
        assert_eq!(
            parse_duration("2d12h").unwrap().as_secs(),
            2 * DAY + 12 * HOUR
        );
        assert_eq!(parse_duration(" 0 ").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0d").unwrap(), Duration::ZERO);
    }

    #[test]
    fn durations_refuse_ambiguous_or_disordered_text() {
        for bad in [
            "",
            "5",
            "h",
            "1x",
            "30m1h",
            "1h1h",
            "-5m",
            "1.5h",
            "every_time",
            "1 h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(
            parse_duration("999999999999d"),
            Err(TimeParseError::TooLarge(_))
        ));
        assert!(matches!(
            parse_duration("9999999999999999999999s"),
            Err(TimeParseError::TooLarge(_))
        ));
    }

    #[test]
    fn times_parse_with_and_without_day() {
        assert_eq!(parse_time("00:00").unwrap().as_secs(), 0);
        assert_eq!(
            parse_time("04:45").unwrap().as_secs(),
            4 * HOUR + 45 * MINUTE
        );
        assert_eq!(
            parse_time("01:02:03").unwrap().as_secs(),
            HOUR + 2 * MINUTE + 3
        );
        assert_eq!(
            parse_time("2d 04:45").unwrap().as_secs(),
            2 * DAY + 4 * HOUR + 45 * MINUTE
        );
        assert_eq!(
            parse_time("27:00").unwrap(),
            parse_time("1d 03:00").unwrap()
        );
    }

    #[test]
    fn times_refuse_malformed_text() {
        for bad in [
            "", "4:6:7:8", "04:60", "04:00:60", "d 04:00", "2 04:00", "ab:cd", "04", "-1:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "00:00",
            "01:00",
            "02:45",
            "1d 05:45",
            "03:04:05",
            "12d 23:59:59",
        ] {
            assert_eq!(parse_time(s).unwrap().to_string(), s);
        }
        for s in ["0s", "30s", "5m", "1h30m", "7d", "2d12h", "1d1h1m1s"] {
            assert_eq!(parse_duration(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn never_saturates() {
        assert_eq!(SimTime::NEVER + Duration::from_days(1), SimTime::NEVER);
        assert_eq!(SimTime::ZERO - SimTime::from_secs(5), Duration::ZERO);
    }
}
