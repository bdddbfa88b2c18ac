//! Random draws shared by the world's generators (populations and the threat model):
//! duration distributions, shares, instants, Poisson counts, and the workdays that both
//! plan activity on. Every draw takes the caller's stream, so results depend only on the
//! seed.

use rand::Rng;
use rand_distr::{Distribution, Exp, Normal, Poisson};
use serde::Deserialize;

use crate::engine::time::{Duration, SimTime};

/// A random duration: fixed, uniform, normal (truncated at zero) or exponential.
#[derive(Clone, Debug, PartialEq)]
pub enum DurationDist {
    Fixed(Duration),
    Uniform { min: Duration, max: Duration },
    Normal { mean: Duration, sd: Duration },
    Exponential { mean: Duration },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDist {
    Fixed(Duration),
    Table {
        #[serde(default)]
        min: Option<Duration>,
        #[serde(default)]
        max: Option<Duration>,
        #[serde(default)]
        mean: Option<Duration>,
        #[serde(default)]
        sd: Option<Duration>,
    },
}

impl<'de> Deserialize<'de> for DurationDist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match RawDist::deserialize(d)? {
            RawDist::Fixed(v) => Ok(DurationDist::Fixed(v)),
            RawDist::Table { min: Some(min), max: Some(max), mean: None, sd: None } => {
                if max < min {
                    return Err(D::Error::custom(format!("max {max} is less than min {min}")));
                }
                Ok(DurationDist::Uniform { min, max })
            }
            RawDist::Table { min: None, max: None, mean: Some(mean), sd: Some(sd) } => {
                Ok(DurationDist::Normal { mean, sd })
            }
            RawDist::Table { min: None, max: None, mean: Some(mean), sd: None } => {
                Ok(DurationDist::Exponential { mean })
            }
            _ => Err(D::Error::custom(
                "a duration distribution is a duration (\"30m\"), {min, max} (uniform), {mean, sd} (normal) or {mean} (exponential)",
            )),
        }
    }
}

impl serde::Serialize for DurationDist {
    /// The same forms the files use, for the manifest.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let entries: Vec<(&str, Duration)> = match *self {
            DurationDist::Fixed(d) => return d.serialize(s),
            DurationDist::Uniform { min, max } => vec![("min", min), ("max", max)],
            DurationDist::Normal { mean, sd } => vec![("mean", mean), ("sd", sd)],
            DurationDist::Exponential { mean } => vec![("mean", mean)],
        };
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

impl DurationDist {
    pub fn sample<R: Rng>(&self, rng: &mut R) -> Duration {
        let secs = match *self {
            DurationDist::Fixed(d) => return d,
            DurationDist::Uniform { min, max } => {
                return Duration::from_secs(rng.random_range(min.as_secs()..=max.as_secs()))
            }
            DurationDist::Normal { mean, sd } => {
                match Normal::new(mean.as_secs() as f64, sd.as_secs() as f64) {
                    Ok(n) => n.sample(rng),
                    Err(_) => mean.as_secs() as f64,
                }
            }
            DurationDist::Exponential { mean } => {
                match Exp::new(1.0 / mean.as_secs().max(1) as f64) {
                    Ok(e) => e.sample(rng),
                    Err(_) => mean.as_secs() as f64,
                }
            }
        };
        Duration::from_secs(secs.max(0.0).round() as u64)
    }

    pub fn mean(&self) -> Duration {
        match *self {
            DurationDist::Fixed(d) => d,
            DurationDist::Uniform { min, max } => {
                Duration::from_secs((min.as_secs() + max.as_secs()) / 2)
            }
            DurationDist::Normal { mean, .. } | DurationDist::Exponential { mean } => mean,
        }
    }
}

/// Picks an index from shares that sum to one.
pub fn pick<R: Rng>(rng: &mut R, shares: &[f64]) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, s) in shares.iter().enumerate() {
        acc += s;
        if u < acc {
            return i;
        }
    }
    // Rounding: the last non-zero share.
    shares.iter().rposition(|s| *s > 0.0).unwrap_or(0)
}

/// One workday's bounds, drawn ahead so that threats can target moments of activity.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Workday {
    pub start: SimTime,
    pub end: SimTime,
}

/// A Poisson count with the given mean (zero for a mean of zero or less).
pub fn poisson<R: Rng>(rng: &mut R, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    match Poisson::new(mean) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}

/// A uniformly random instant in `[from, to)`.
pub fn instant<R: Rng>(rng: &mut R, from: SimTime, to: SimTime) -> SimTime {
    if to <= from {
        return from;
    }
    SimTime::from_secs(rng.random_range(from.as_secs()..to.as_secs()))
}
