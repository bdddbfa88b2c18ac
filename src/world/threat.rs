//! The threat model (MODEL.md §8; docs/model.md, "Threat model"): how often each attack
//! mechanism is tried on a user, how users respond to it, what the attacker does with what
//! it stole, and how the theft is detected. Parameters come from a population's `[threat]`
//! table; every default is listed in `docs/model.md` with its source or marked as an
//! assumption.
//!
//! Two modes:
//! - `rates` (default): attacks arrive at per-user-year rates (per device type where they
//!   differ); whether one succeeds depends on the design and on the user's state at that
//!   moment (`model::theft`). Attempts are oversampled so that each user faces about a
//!   mechanism's `attempts_per_user` over the run, and every result is weighted back to the
//!   real rate ([`Threat::sampling`]): an unbiased estimate with far less noise. Attempts
//!   cost one event each; only successful ones cost a copy of the timeline.
//! - `conditional`: the first release's controlled comparison, one scripted theft per user
//!   at a random moment of work, the artefact drawn from `artefacts`.
//!
//! This module owns the plan (when attacks happen, what the attacker does afterwards). It
//! does not decide whether an attack succeeds.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::engine::time::{Duration, SimTime};
use crate::model::{Action, Artefact, Attempt, Habituation, Mechanism, Susceptibility};
use crate::world::app::{App, DeviceTrust};
use crate::world::draw::{instant, pick, poisson, DurationDist, Workday};

/// What the administrator does once a theft is detected (MODEL.md §6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    RevokeSessions,
    PasswordReset,
    DisableAccount,
    DisableDevice,
}

impl Response {
    pub fn action(self) -> Action {
        match self {
            Response::RevokeSessions => Action::RevokeSessions,
            Response::PasswordReset => Action::PasswordReset,
            Response::DisableAccount => Action::DisableAccount,
            Response::DisableDevice => Action::DisableDevice,
        }
    }
}

/// How a theft is chosen.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Attacks at rates; thefts follow from the design.
    Rates,
    /// One scripted theft per user (exposure conditional on a theft).
    Conditional,
}

/// A rate or a share that may differ per device type: one number for all, or a table
/// keyed by device type (missing types get 0).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PerDevice {
    All(f64),
    Each(BTreeMap<String, f64>),
}

impl PerDevice {
    fn resolve(&self, field: &str) -> Result<[f64; 4], (String, String)> {
        match self {
            PerDevice::All(v) => Ok([*v; 4]),
            PerDevice::Each(m) => {
                let mut out = [0.0; 4];
                for (k, v) in m {
                    let d = DeviceTrust::parse(k).map_err(|e| (format!("{field}.{k}"), e))?;
                    out[d.index()] = *v;
                }
                Ok(out)
            }
        }
    }
}

/// The `[threat]` table as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreat {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub thefts_per_user_year: Option<f64>,
    #[serde(default)]
    pub artefacts: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub apps: Option<Vec<String>>,
    #[serde(default)]
    pub attacker_horizon: Option<Duration>,
    #[serde(default)]
    pub trusted_ip_share: Option<f64>,
    #[serde(default)]
    pub detected_share: Option<f64>,
    #[serde(default)]
    pub detection_delay: Option<DurationDist>,
    #[serde(default)]
    pub response: Option<Vec<Response>>,
    #[serde(default)]
    pub device_response: Option<Vec<Response>>,
    #[serde(default)]
    pub risk_detected_share: Option<f64>,
    #[serde(default)]
    pub risk_detection_delay: Option<DurationDist>,
    #[serde(default)]
    pub attacker_sign_in_risk_share: Option<f64>,
    #[serde(default)]
    pub attacker: Option<RawAttacker>,
    #[serde(default)]
    pub aitm: Option<RawLure>,
    #[serde(default)]
    pub device_code: Option<RawLure>,
    #[serde(default)]
    pub infostealer: Option<RawDeviceThreat>,
    #[serde(default)]
    pub device_compromise: Option<RawDeviceThreat>,
    #[serde(default, alias = "fatigue")]
    pub push_bombing: Option<RawPush>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttacker {
    pub session_gap: Option<DurationDist>,
    pub session_length: Option<DurationDist>,
    pub mint_refresh_token: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLure {
    pub attempts_per_user: Option<f64>,
    pub lures_per_user_year: Option<f64>,
    pub base: Option<f64>,
    pub habituation: Option<f64>,
    pub first_use_delay: Option<DurationDist>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeviceThreat {
    pub attempts_per_user: Option<f64>,
    pub per_user_year: Option<PerDevice>,
    pub tpm_share: Option<PerDevice>,
    pub first_use_delay: Option<DurationDist>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPush {
    pub attempts_per_user: Option<f64>,
    pub attacks_per_user_year: Option<f64>,
    pub pushes_per_attack: Option<u32>,
    pub push_interval: Option<Duration>,
    pub base_approval: Option<f64>,
    pub habituation: Option<f64>,
    pub number_matching_factor: Option<f64>,
}

/// A lure-driven mechanism (AiTM, device code): lures at a rate; the user falls for one
/// with [`Habituation::probability`] of the prompts they are used to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lure {
    /// Simulated lures per user over the run (oversampling target).
    pub attempts_per_user: f64,
    pub lures_per_user_year: f64,
    pub base: f64,
    pub habituation: f64,
    pub first_use_delay: DurationDist,
}

/// A mechanism on the user's device (infostealer, device compromise).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceThreat {
    /// Simulated attempts per user over the run (oversampling target).
    pub attempts_per_user: f64,
    /// Per user-year, by device type ([`DeviceTrust::index`] order).
    pub per_user_year: [f64; 4],
    /// Share of devices whose keys are in a TPM, by device type.
    pub tpm_share: [f64; 4],
    pub first_use_delay: DurationDist,
}

/// Push bombing: an attacker with the password sends pushes one at a time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Push {
    /// Simulated attacks per user over the run (oversampling target).
    pub attempts_per_user: f64,
    pub attacks_per_user_year: f64,
    pub pushes_per_attack: u32,
    pub push_interval: Duration,
    pub base_approval: f64,
    pub habituation: f64,
    pub number_matching_factor: f64,
}

/// What the attacker does with what it stole: sessions at a rate, not continuously.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attacker {
    pub session_gap: DurationDist,
    pub session_length: DurationDist,
    pub mint_refresh_token: f64,
}

/// Validated threat parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threat {
    pub enabled: bool,
    pub mode: Mode,
    /// Conditional mode: the rate one theft per user stands for, and what it takes.
    pub thefts_per_user_year: f64,
    pub artefacts: [f64; 3],
    /// Apps the attacker replays against; empty means every app the user uses.
    pub apps: Vec<App>,
    /// How long after a theft the attacker keeps trying (the observation window).
    pub attacker_horizon: Duration,
    /// Share of thefts where Entra sees the attacker from an allowed location.
    pub trusted_ip_share: f64,
    pub detected_share: f64,
    pub detection_delay: DurationDist,
    pub response: Vec<Response>,
    /// Added to the response for thefts from the user's device (infostealer, compromise).
    pub device_response: Vec<Response>,
    /// Identity Protection raises the user's risk to high after a theft's first use.
    pub risk_detected_share: f64,
    pub risk_detection_delay: DurationDist,
    /// Identity Protection flags the attacker's sign-ins as risky in real time.
    pub attacker_sign_in_risk_share: f64,
    pub attacker: Attacker,
    pub aitm: Lure,
    pub device_code: Lure,
    pub infostealer: DeviceThreat,
    pub device_compromise: DeviceThreat,
    pub push_bombing: Push,
}

impl Default for Threat {
    /// The defaults of every parameter (see `docs/model.md`, "Threat model").
    fn default() -> Self {
        let none = DurationDist::Fixed(Duration::ZERO);
        Threat {
            enabled: true,
            mode: Mode::Rates,
            thefts_per_user_year: 0.01,
            artefacts: [0.7, 0.25, 0.05],
            apps: Vec::new(),
            attacker_horizon: Duration::from_days(14),
            trusted_ip_share: 0.0,
            detected_share: 0.5,
            detection_delay: DurationDist::Exponential {
                mean: Duration::from_hours(24),
            },
            response: vec![Response::RevokeSessions, Response::PasswordReset],
            device_response: vec![Response::DisableDevice],
            risk_detected_share: 0.3,
            risk_detection_delay: DurationDist::Uniform {
                min: Duration::ZERO,
                max: Duration::from_hours(48),
            },
            attacker_sign_in_risk_share: 0.1,
            attacker: Attacker {
                session_gap: DurationDist::Exponential {
                    mean: Duration::from_hours(8),
                },
                session_length: DurationDist::Fixed(Duration::from_hours(1)),
                mint_refresh_token: 0.5,
            },
            aitm: Lure {
                attempts_per_user: 50.0,
                lures_per_user_year: 4.0,
                base: 0.001,
                habituation: 0.2,
                first_use_delay: none.clone(),
            },
            device_code: Lure {
                attempts_per_user: 50.0,
                lures_per_user_year: 1.0,
                base: 0.001,
                habituation: 0.2,
                first_use_delay: none.clone(),
            },
            infostealer: DeviceThreat {
                attempts_per_user: 0.5,
                // entra_joined, hybrid_joined, registered, unmanaged
                per_user_year: [0.001, 0.001, 0.004, 0.004],
                tpm_share: [0.95, 0.95, 0.6, 0.6],
                first_use_delay: DurationDist::Exponential {
                    mean: Duration::from_days(2),
                },
            },
            device_compromise: DeviceThreat {
                attempts_per_user: 0.5,
                per_user_year: [0.0005, 0.0005, 0.002, 0.002],
                tpm_share: [0.95, 0.95, 0.6, 0.6],
                first_use_delay: none,
            },
            push_bombing: Push {
                attempts_per_user: 1.0,
                attacks_per_user_year: 0.003,
                pushes_per_attack: 10,
                push_interval: Duration::from_mins(1),
                base_approval: 0.01,
                habituation: 0.2,
                number_matching_factor: 0.1,
            },
        }
    }
}

type FieldError = (String, String);

fn probability(name: &str, v: Option<f64>, default: f64) -> Result<f64, FieldError> {
    let v = v.unwrap_or(default);
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err((
            name.into(),
            format!("{v} is not a probability between 0 and 1"),
        ))
    }
}

fn attempts(name: &str, v: Option<f64>, default: f64) -> Result<f64, FieldError> {
    let v = v.unwrap_or(default);
    if v.is_finite() && v > 0.0 && v <= 1000.0 {
        Ok(v)
    } else {
        Err((
            name.into(),
            format!(
                "{v} is not a number of simulated attempts per user between 0 (excluded) and 1000"
            ),
        ))
    }
}

fn rate(name: &str, v: Option<f64>, default: f64) -> Result<f64, FieldError> {
    let v = v.unwrap_or(default);
    // Rates above 10,000 per year are a unit mistake, and would make Poisson draws slow.
    if v.is_finite() && (0.0..=10_000.0).contains(&v) {
        Ok(v)
    } else {
        Err((
            name.into(),
            format!("{v} is not a rate between 0 and 10000"),
        ))
    }
}

fn per_device(
    name: &str,
    v: &Option<PerDevice>,
    default: [f64; 4],
    check: fn(&str, Option<f64>, f64) -> Result<f64, FieldError>,
) -> Result<[f64; 4], FieldError> {
    let Some(v) = v else {
        return Ok(default);
    };
    let values = v.resolve(name)?;
    for (d, x) in DeviceTrust::ALL.iter().zip(values) {
        check(&format!("{name}.{}", d.name()), Some(x), 0.0)?;
    }
    Ok(values)
}

fn lure(name: &str, raw: &Option<RawLure>, d: &Lure) -> Result<Lure, FieldError> {
    let r = raw.clone().unwrap_or_default();
    Ok(Lure {
        attempts_per_user: attempts(
            &format!("{name}.attempts_per_user"),
            r.attempts_per_user,
            d.attempts_per_user,
        )?,
        lures_per_user_year: rate(
            &format!("{name}.lures_per_user_year"),
            r.lures_per_user_year,
            d.lures_per_user_year,
        )?,
        base: probability(&format!("{name}.base"), r.base, d.base)?,
        habituation: rate(&format!("{name}.habituation"), r.habituation, d.habituation)?,
        first_use_delay: r
            .first_use_delay
            .unwrap_or_else(|| d.first_use_delay.clone()),
    })
}

fn device_threat(
    name: &str,
    raw: &Option<RawDeviceThreat>,
    d: &DeviceThreat,
) -> Result<DeviceThreat, FieldError> {
    let r = raw.clone().unwrap_or_default();
    Ok(DeviceThreat {
        attempts_per_user: attempts(
            &format!("{name}.attempts_per_user"),
            r.attempts_per_user,
            d.attempts_per_user,
        )?,
        per_user_year: per_device(
            &format!("{name}.per_user_year"),
            &r.per_user_year,
            d.per_user_year,
            rate,
        )?,
        tpm_share: per_device(
            &format!("{name}.tpm_share"),
            &r.tpm_share,
            d.tpm_share,
            probability,
        )?,
        first_use_delay: r
            .first_use_delay
            .unwrap_or_else(|| d.first_use_delay.clone()),
    })
}

impl Threat {
    /// Applies defaults and checks ranges. Errors name the field.
    pub fn from_raw(raw: &RawThreat) -> Result<Threat, FieldError> {
        let d = Threat::default();
        let artefacts = match &raw.artefacts {
            None => d.artefacts,
            Some(m) => {
                let mut out = [0.0; 3];
                for (k, v) in m {
                    let Ok(a) = Artefact::parse(k) else {
                        return Err((
                            format!("artefacts.{k}"),
                            crate::world::app::unknown_name(
                                "artefact",
                                k,
                                &["cookie", "refresh_token", "prt"],
                            ),
                        ));
                    };
                    let i = Artefact::ALL.iter().position(|x| *x == a).unwrap_or(0);
                    out[i] = probability(&format!("artefacts.{k}"), Some(*v), 0.0)?;
                }
                let sum: f64 = out.iter().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    return Err(("artefacts".into(), format!("shares sum to {sum}, not 1")));
                }
                out
            }
        };
        let apps = match &raw.apps {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, a)| App::parse(a).map_err(|e| (format!("apps[{i}]"), e)))
                .collect::<Result<_, _>>()?,
        };
        let horizon = raw.attacker_horizon.unwrap_or(d.attacker_horizon);
        if horizon.is_zero() {
            return Err(("attacker_horizon".into(), "must be longer than zero".into()));
        }
        let a = raw.attacker.clone().unwrap_or_default();
        let p = raw.push_bombing.clone().unwrap_or_default();
        let dp = &d.push_bombing;
        let pushes = p.pushes_per_attack.unwrap_or(dp.pushes_per_attack);
        if pushes == 0 || pushes > 1000 {
            return Err((
                "push_bombing.pushes_per_attack".into(),
                format!("{pushes} is not between 1 and 1000"),
            ));
        }
        let push_interval = p.push_interval.unwrap_or(dp.push_interval);
        if push_interval.is_zero() {
            return Err((
                "push_bombing.push_interval".into(),
                "must be longer than zero".into(),
            ));
        }
        let session_length = a
            .session_length
            .unwrap_or_else(|| d.attacker.session_length.clone());
        if session_length.mean().is_zero() {
            return Err((
                "attacker.session_length".into(),
                "must be longer than zero".into(),
            ));
        }
        let session_gap = a
            .session_gap
            .unwrap_or_else(|| d.attacker.session_gap.clone());
        if session_gap.mean().is_zero() {
            return Err((
                "attacker.session_gap".into(),
                "must be longer than zero".into(),
            ));
        }
        Ok(Threat {
            enabled: raw.enabled.unwrap_or(d.enabled),
            mode: raw.mode.unwrap_or(d.mode),
            thefts_per_user_year: rate(
                "thefts_per_user_year",
                raw.thefts_per_user_year,
                d.thefts_per_user_year,
            )?,
            artefacts,
            apps,
            attacker_horizon: horizon,
            trusted_ip_share: probability(
                "trusted_ip_share",
                raw.trusted_ip_share,
                d.trusted_ip_share,
            )?,
            detected_share: probability("detected_share", raw.detected_share, d.detected_share)?,
            detection_delay: raw.detection_delay.clone().unwrap_or(d.detection_delay),
            response: raw.response.clone().unwrap_or(d.response),
            device_response: raw.device_response.clone().unwrap_or(d.device_response),
            risk_detected_share: probability(
                "risk_detected_share",
                raw.risk_detected_share,
                d.risk_detected_share,
            )?,
            risk_detection_delay: raw
                .risk_detection_delay
                .clone()
                .unwrap_or(d.risk_detection_delay),
            attacker_sign_in_risk_share: probability(
                "attacker_sign_in_risk_share",
                raw.attacker_sign_in_risk_share,
                d.attacker_sign_in_risk_share,
            )?,
            attacker: Attacker {
                session_gap,
                session_length,
                mint_refresh_token: probability(
                    "attacker.mint_refresh_token",
                    a.mint_refresh_token,
                    d.attacker.mint_refresh_token,
                )?,
            },
            aitm: lure("aitm", &raw.aitm, &d.aitm)?,
            device_code: lure("device_code", &raw.device_code, &d.device_code)?,
            infostealer: device_threat("infostealer", &raw.infostealer, &d.infostealer)?,
            device_compromise: device_threat(
                "device_compromise",
                &raw.device_compromise,
                &d.device_compromise,
            )?,
            push_bombing: Push {
                attempts_per_user: attempts(
                    "push_bombing.attempts_per_user",
                    p.attempts_per_user,
                    dp.attempts_per_user,
                )?,
                attacks_per_user_year: rate(
                    "push_bombing.attacks_per_user_year",
                    p.attacks_per_user_year,
                    dp.attacks_per_user_year,
                )?,
                pushes_per_attack: pushes,
                push_interval,
                base_approval: probability(
                    "push_bombing.base_approval",
                    p.base_approval,
                    dp.base_approval,
                )?,
                habituation: rate("push_bombing.habituation", p.habituation, dp.habituation)?,
                number_matching_factor: probability(
                    "push_bombing.number_matching_factor",
                    p.number_matching_factor,
                    dp.number_matching_factor,
                )?,
            },
        })
    }

    /// How users respond to attacks, for the session model.
    pub fn susceptibility(&self) -> Susceptibility {
        let h = |base, habituation| Habituation { base, habituation };
        Susceptibility {
            aitm: h(self.aitm.base, self.aitm.habituation),
            push: h(
                self.push_bombing.base_approval,
                self.push_bombing.habituation,
            ),
            number_matching_factor: self.push_bombing.number_matching_factor,
            device_code: h(self.device_code.base, self.device_code.habituation),
            mint_refresh_token: self.attacker.mint_refresh_token,
        }
    }

    /// Simulated attempts of a mechanism per user over the run: the oversampling target.
    pub fn attempts_per_user(&self, m: Mechanism) -> f64 {
        match m {
            Mechanism::Aitm => self.aitm.attempts_per_user,
            Mechanism::DeviceCode => self.device_code.attempts_per_user,
            Mechanism::PushBombing => self.push_bombing.attempts_per_user,
            Mechanism::Infostealer => self.infostealer.attempts_per_user,
            Mechanism::DeviceCompromise => self.device_compromise.attempts_per_user,
            Mechanism::Injected => 1.0,
        }
    }

    /// A mechanism's real rate per user-year on a device type.
    pub fn rate(&self, m: Mechanism, device: DeviceTrust) -> f64 {
        match (self.enabled, self.mode, m) {
            (false, _, _) => 0.0,
            (_, Mode::Conditional, Mechanism::Injected) => self.thefts_per_user_year,
            (_, Mode::Conditional, _) | (_, Mode::Rates, Mechanism::Injected) => 0.0,
            (_, Mode::Rates, Mechanism::Aitm) => self.aitm.lures_per_user_year,
            (_, Mode::Rates, Mechanism::DeviceCode) => self.device_code.lures_per_user_year,
            (_, Mode::Rates, Mechanism::PushBombing) => self.push_bombing.attacks_per_user_year,
            (_, Mode::Rates, Mechanism::Infostealer) => {
                self.infostealer.per_user_year[device.index()]
            }
            (_, Mode::Rates, Mechanism::DeviceCompromise) => {
                self.device_compromise.per_user_year[device.index()]
            }
        }
    }

    /// The oversampling factor of each mechanism: simulated attempts per real attempt.
    /// Attempts are simulated at `rate × factor`, so that a user with the population's
    /// mean rate faces the mechanism's `attempts_per_user` attempts over `days`; every
    /// count is divided by the factor when reported. `device_mix` is the population's
    /// share of each device type. Zero for mechanisms that never happen.
    pub fn sampling(&self, device_mix: [f64; 4], days: u32) -> [f64; Mechanism::COUNT] {
        let years = days as f64 / 365.0;
        Mechanism::ALL.map(|m| {
            let mean: f64 = DeviceTrust::ALL
                .iter()
                .map(|d| device_mix[d.index()] * self.rate(m, *d))
                .sum();
            if mean <= 0.0 || years <= 0.0 {
                0.0
            } else {
                // Injected thefts: exactly one per user, whatever the rate.
                self.attempts_per_user(m) / (mean * years)
            }
        })
    }
}

/// What the follow-up of an attack needs: the mechanism and the seed of its own stream
/// (the attacker's sessions, detection), drawn when the attack is planned so that every
/// design follows the same attacker.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AttackPlan {
    pub mechanism: Mechanism,
    pub seed: u64,
}

/// Plans every attack on one user over the run: attempts at each mechanism's rate times
/// its sampling factor, each at a uniformly random moment of a random workday, with the
/// draws that decide them. Attack ids index `attacks`.
#[allow(clippy::too_many_arguments)]
pub fn plan_attacks<R: Rng>(
    rng: &mut R,
    threat: &Threat,
    sampling: &[f64; Mechanism::COUNT],
    device: DeviceTrust,
    workdays: &[Option<Workday>],
    days: u32,
    plan: &mut Vec<(SimTime, Action)>,
    attacks: &mut Vec<AttackPlan>,
) {
    attacks.clear();
    let worked: Vec<Workday> = workdays.iter().flatten().copied().collect();
    if !threat.enabled || worked.is_empty() {
        return;
    }
    let years = days as f64 / 365.0;
    for m in Mechanism::ALL {
        let expected = threat.rate(m, device) * sampling[m.index()] * years;
        let count = if m == Mechanism::Injected {
            u64::from(expected > 0.0)
        } else {
            poisson(rng, expected)
        };
        for _ in 0..count {
            let day = worked[rng.random_range(0..worked.len())];
            let at = instant(rng, day.start, day.end);
            let id = attacks.len() as u32;
            let seed = rng.random();
            attacks.push(AttackPlan { mechanism: m, seed });
            let trusted_ip = attacker_trusted_ip(seed, threat);
            let tpm = match m {
                Mechanism::DeviceCompromise => threat.device_compromise.tpm_share,
                _ => threat.infostealer.tpm_share,
            };
            let hardware_keys = rng.random_bool(tpm[device.index()]);
            let pushes = if m == Mechanism::PushBombing {
                threat.push_bombing.pushes_per_attack
            } else {
                1
            };
            for k in 0..pushes {
                let attempt = Attempt {
                    mechanism: m,
                    attack: id,
                    draw: rng.random(),
                    aux: rng.random(),
                    hardware_keys,
                    trusted_ip,
                };
                let when = at
                    + Duration::from_secs(threat.push_bombing.push_interval.as_secs() * k as u64);
                let action = if m == Mechanism::Injected {
                    Action::Steal {
                        artefact: Artefact::ALL[pick(rng, &threat.artefacts)],
                        attack: id,
                    }
                } else {
                    Action::Attack(attempt)
                };
                plan.push((when, action));
            }
        }
    }
}

/// The attacker's side of one theft: its sessions, and the detections and responses.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowUp {
    /// Every action to schedule, in time order.
    pub actions: Vec<(SimTime, Action)>,
    /// The stolen sign-ins are flagged risky (Identity Protection, real time).
    pub risky_sign_ins: bool,
    /// When the attacker's window closes.
    pub ends: SimTime,
}

fn first_use_delay(threat: &Threat, m: Mechanism) -> &DurationDist {
    match m {
        Mechanism::Aitm => &threat.aitm.first_use_delay,
        Mechanism::DeviceCode => &threat.device_code.first_use_delay,
        Mechanism::Infostealer => &threat.infostealer.first_use_delay,
        Mechanism::DeviceCompromise => &threat.device_compromise.first_use_delay,
        Mechanism::PushBombing | Mechanism::Injected => {
            const NOW: DurationDist = DurationDist::Fixed(Duration::ZERO);
            &NOW
        }
    }
}

/// Whether the attacker of the attack with this `seed` reaches Entra from an allowed
/// location (`trusted_ip_share`). It is the first draw of the attack's own stream, which
/// [`follow_up`] draws first too: the phishing proxy's sign-in that makes the theft and
/// the replays that follow it are seen from the same place.
pub fn attacker_trusted_ip(seed: u64, threat: &Threat) -> bool {
    use rand::SeedableRng;
    // At 0 (every shipped population) or 1 the draw cannot change the answer: no stream
    // is seeded for each planned attack.
    match threat.trusted_ip_share {
        p if p <= 0.0 => false,
        p if p >= 1.0 => true,
        p => rand_chacha::ChaCha8Rng::seed_from_u64(seed).random_bool(p),
    }
}

/// Plans what follows a theft at `at`: attacker sessions from the first use to the end of
/// the attacker's window, a detection and response with `detected_share`, an Identity
/// Protection user-risk detection with `risk_detected_share` (it ends by itself after
/// `user_risk_duration` unless a policy remediates it first), both counted from the first
/// use. `rng` is the attack's own stream ([`AttackPlan::seed`]).
pub fn follow_up<R: Rng>(
    rng: &mut R,
    threat: &Threat,
    mechanism: Mechanism,
    at: SimTime,
    user_risk_duration: Duration,
) -> FollowUp {
    let ends = at + threat.attacker_horizon;
    let mut actions = Vec::new();
    // The first draw, as in `attacker_trusted_ip`.
    let trusted_ip = rng.random_bool(threat.trusted_ip_share);
    let risky_sign_ins = rng.random_bool(threat.attacker_sign_in_risk_share);
    // The attacker holds what it stole from the theft on; it uses it in sessions.
    actions.push((
        at,
        Action::AttackerHold {
            until: ends,
            trusted_ip,
        },
    ));
    let first = at + first_use_delay(threat, mechanism).sample(rng);
    let mut start = first;
    while start < ends {
        let length = threat
            .attacker
            .session_length
            .sample(rng)
            .max(Duration::from_secs(60));
        let until = (start + length).min(ends);
        actions.push((start, Action::AttackerSession { until }));
        start = until
            + threat
                .attacker
                .session_gap
                .sample(rng)
                .max(Duration::from_secs(60));
    }
    if rng.random_bool(threat.detected_share) {
        let t = first + threat.detection_delay.sample(rng);
        let from_device = matches!(
            mechanism,
            Mechanism::Infostealer | Mechanism::DeviceCompromise
        );
        for r in threat
            .response
            .iter()
            .chain(threat.device_response.iter().filter(|_| from_device))
        {
            actions.push((t, r.action()));
        }
    }
    if rng.random_bool(threat.risk_detected_share) {
        let t = first + threat.risk_detection_delay.sample(rng);
        actions.push((t, Action::SetUserRisk(crate::policy::RiskLevel::High)));
        actions.push((
            t + user_risk_duration,
            Action::SetUserRisk(crate::policy::RiskLevel::None),
        ));
    }
    actions.sort_by_key(|(t, _)| *t);
    FollowUp {
        actions,
        risky_sign_ins,
        ends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::DAY;
    use rand::SeedableRng;

    #[test]
    fn per_device_rates_take_a_number_or_a_table() {
        let raw: RawThreat = toml::from_str(
            "[infostealer]\nper_user_year = { unmanaged = 0.01, entra_joined = 0.001 }\n[device_compromise]\nper_user_year = 0.002",
        )
        .unwrap();
        let t = Threat::from_raw(&raw).unwrap();
        assert_eq!(t.infostealer.per_user_year, [0.001, 0.0, 0.0, 0.01]);
        assert_eq!(t.device_compromise.per_user_year, [0.002; 4]);
        let bad: RawThreat =
            toml::from_str("[infostealer]\nper_user_year = { laptop = 0.01 }").unwrap();
        assert_eq!(
            Threat::from_raw(&bad).unwrap_err().0,
            "infostealer.per_user_year.laptop"
        );
    }

    #[test]
    fn sampling_gives_each_user_about_the_target_attempts() {
        let t = Threat::default();
        let mix = [0.5, 0.0, 0.0, 0.5];
        let s = t.sampling(mix, 365);
        // AiTM: 4 lures a year; 50 simulated lures per user-year means a factor of 12.5.
        assert!((s[Mechanism::Aitm.index()] - 12.5).abs() < 1e-12);
        // Infostealer: mean rate 0.0025 a year, half a simulated infection per user.
        assert!((s[Mechanism::Infostealer.index()] - 200.0).abs() < 1e-9);
        assert_eq!(s[Mechanism::Injected.index()], 0.0);
        let conditional = Threat {
            mode: Mode::Conditional,
            ..Threat::default()
        };
        let c = conditional.sampling(mix, 365);
        assert!((c[Mechanism::Injected.index()] - 100.0).abs() < 1e-9);
        assert_eq!(c[Mechanism::Aitm.index()], 0.0);
    }

    #[test]
    fn planned_attacks_fall_on_workdays_and_pushes_are_spaced() {
        let t = Threat::default();
        let s = t.sampling([0.0, 0.0, 0.0, 1.0], 28);
        let day = |d: u64| Workday {
            start: SimTime::from_secs(d * DAY + 8 * 3600),
            end: SimTime::from_secs(d * DAY + 17 * 3600),
        };
        let workdays: Vec<Option<Workday>> = (0..28).map(|d| Some(day(d))).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut plan, mut attacks) = (Vec::new(), Vec::new());
        let mut pushes = 0;
        for _ in 0..200 {
            plan.clear();
            plan_attacks(
                &mut rng,
                &t,
                &s,
                DeviceTrust::Unmanaged,
                &workdays,
                28,
                &mut plan,
                &mut attacks,
            );
            for (at, a) in &plan {
                let d = at.day();
                if let Action::Attack(attempt) = a {
                    if attempt.mechanism == Mechanism::PushBombing {
                        pushes += 1;
                        continue;
                    }
                }
                assert!(*at >= day(d).start && *at < day(d).end, "{at} is off work");
            }
        }
        assert!(pushes > 0 && pushes % 10 == 0, "{pushes} pushes");
    }

    #[test]
    fn follow_up_sessions_stay_inside_the_attacker_window() {
        let t = Threat::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let at = SimTime::from_secs(1000);
        let f = follow_up(&mut rng, &t, Mechanism::Aitm, at, Duration::from_days(1));
        let sessions: Vec<_> = f
            .actions
            .iter()
            .filter_map(|(s, a)| match a {
                Action::AttackerSession { until } => Some((*s, *until)),
                _ => None,
            })
            .collect();
        assert!(
            matches!(f.actions[0], (t, Action::AttackerHold { until, .. }) if t == at && until == f.ends),
            "the attacker holds its artefacts from the theft to the end of its window"
        );
        assert_eq!(sessions[0].0, at, "AiTM kits replay at once");
        assert!(sessions.len() > 10);
        for w in sessions.windows(2) {
            assert!(w[0].1 <= w[1].0, "sessions do not overlap");
        }
        assert!(sessions.iter().all(|(_, u)| *u <= f.ends));
    }

    #[test]
    fn the_theft_and_its_replays_see_the_attacker_in_the_same_place() {
        let t = Threat {
            trusted_ip_share: 0.5,
            ..Threat::default()
        };
        let mut both = [0; 2];
        for seed in 0..200u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let f = follow_up(&mut rng, &t, Mechanism::Aitm, SimTime::ZERO, Duration::ZERO);
            let Action::AttackerHold { trusted_ip, .. } = f.actions[0].1 else {
                panic!("{:?}", f.actions[0]);
            };
            assert_eq!(attacker_trusted_ip(seed, &t), trusted_ip, "seed {seed}");
            both[usize::from(trusted_ip)] += 1;
        }
        assert!(both[0] > 50 && both[1] > 50, "{both:?}");
    }
}
