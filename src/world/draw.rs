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
        Duration::from_secs(round_seconds(secs))
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

const TWO_TO_52: f64 = 4_503_599_627_370_496.0;

/// `x.max(0.0).round() as u64`, without `f64::round`, which is a libm call on the
/// baseline x86-64 target and showed in profiles (draws of durations and workdays).
/// Exact: below 2^53, `x - trunc(x)` is computed without rounding; at and above, `x` is
/// a whole number; `as` saturates at both ends (and maps NaN to 0) as before.
#[inline]
pub fn round_seconds(x: f64) -> u64 {
    let x = x.max(0.0);
    // Every duration drawn: below 2^52 the conversions go through `i64`, each one
    // instruction on x86-64, where `u64`'s take several. The same values: below 2^52 the
    // truncation fits either type, converts back exactly, and adding one cannot saturate.
    if x < TWO_TO_52 {
        let whole = x as i64;
        let up = x - whole as f64 >= 0.5;
        return whole as u64 + u64::from(up);
    }
    let whole = x as u64;
    if x - whole as f64 >= 0.5 {
        whole.saturating_add(1)
    } else {
        whole
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
    PoissonCount::new(mean).sample(rng)
}

/// A Poisson count whose distribution is set up once (zero for a mean of zero or less):
/// [`poisson`] without computing `exp(-mean)` again for every count (day plans draw about
/// ten counts a workday).
#[derive(Copy, Clone, Debug)]
pub struct PoissonCount(Option<Poisson<f64>>);

impl PoissonCount {
    pub fn new(mean: f64) -> Self {
        PoissonCount(if mean > 0.0 {
            Poisson::new(mean).ok()
        } else {
            None
        })
    }

    pub fn sample<R: Rng>(&self, rng: &mut R) -> u64 {
        // By reference, not a copy of the ~90-byte distribution (its rejection method's
        // constants) for every count.
        self.0.as_ref().map_or(0, |p| p.sample(rng) as u64)
    }
}

/// A uniformly random instant in `[from, to)`.
pub fn instant<R: Rng>(rng: &mut R, from: SimTime, to: SimTime) -> SimTime {
    if to <= from {
        return from;
    }
    SimTime::from_secs(rng.random_range(from.as_secs()..to.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn round_seconds_is_round_half_away_from_zero() {
        let cases = [
            0.0,
            -3.7,
            f64::NAN,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            2.4999999999999996,
            1e15 + 0.5,
            4503599627370495.5,
            TWO_TO_52 - 1.0,
            TWO_TO_52,
            TWO_TO_52 + 1.0,
            9007199254740993.0,
            1.8446744073709552e19,
            1e30,
            f64::INFINITY,
        ];
        for x in cases {
            assert_eq!(round_seconds(x), x.max(0.0).round() as u64, "{x}");
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100_000 {
            let x: f64 = rng.random::<f64>() * 10f64.powi(rng.random_range(0..17));
            assert_eq!(round_seconds(x), x.round() as u64, "{x}");
        }
    }

    /// The count as the day plans drew it before it was set up once: `rand_distr`'s
    /// Poisson made for each count.
    fn poisson_made_each_time<R: Rng>(rng: &mut R, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        match Poisson::new(mean) {
            Ok(p) => p.sample(rng) as u64,
            Err(_) => 0,
        }
    }

    #[test]
    fn a_poisson_count_draws_as_poisson_does() {
        for mean in [
            -1.0,
            0.0,
            1e-3,
            0.3,
            2.0,
            6.0,
            11.99,
            12.0,
            40.0,
            f64::NAN,
            f64::INFINITY,
        ] {
            let count = PoissonCount::new(mean);
            let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            let mut b = a.clone();
            for _ in 0..2_000 {
                assert_eq!(
                    count.sample(&mut a),
                    poisson_made_each_time(&mut b, mean),
                    "mean {mean}"
                );
            }
            assert_eq!(
                a.random::<u64>(),
                b.random::<u64>(),
                "same draws used, mean {mean}"
            );
        }
    }
}
