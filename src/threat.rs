//! The threat model (MODEL.md §8): token theft with detection and response, and MFA-fatigue
//! (push-bombing) attacks. Parameters come from a population's `[threat]` table; every
//! default is marked in `docs/model.md` as sourced or as an assumption.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::model::{Action, Artefact, MfaMethod};
use crate::population::{instant, pick, DurationDist, Workday};
use crate::time::{Duration, SimTime};

/// What the administrator does once a theft is detected (MODEL.md §6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    RevokeSessions,
    PasswordReset,
    DisableAccount,
}

impl Response {
    pub fn action(self) -> Action {
        match self {
            Response::RevokeSessions => Action::RevokeSessions,
            Response::PasswordReset => Action::PasswordReset,
            Response::DisableAccount => Action::DisableAccount,
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
    pub fatigue: Option<RawFatigue>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFatigue {
    pub attacks_per_user_year: Option<f64>,
    pub pushes_per_attack: Option<u32>,
    pub base_approval: Option<f64>,
    pub habituation: Option<f64>,
    pub number_matching_factor: Option<f64>,
}

/// MFA-fatigue model: each push an attacker sends is approved with probability
/// `base_approval × (1 + habituation × r) × f`, where `r` is the user's legitimate MFA
/// prompts per active day and `f` is `number_matching_factor` with number matching, 1
/// without; passkeys are immune. An attack of `pushes_per_attack` pushes succeeds with
/// `1 − (1 − p)^n`. Microsoft documents the direction, not the numbers (MODEL.md §8): the
/// coefficients are assumptions, echoed in `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fatigue {
    pub attacks_per_user_year: f64,
    pub pushes_per_attack: u32,
    pub base_approval: f64,
    pub habituation: f64,
    pub number_matching_factor: f64,
}

impl Fatigue {
    /// Probability that one attack on this user succeeds.
    pub fn success_probability(&self, method: MfaMethod, mfa_prompts_per_day: f64) -> f64 {
        let factor = match method {
            MfaMethod::Passkey => return 0.0,
            MfaMethod::Push => 1.0,
            MfaMethod::PushNumberMatch => self.number_matching_factor,
        };
        let p =
            (self.base_approval * (1.0 + self.habituation * mfa_prompts_per_day.max(0.0)) * factor)
                .clamp(0.0, 1.0);
        1.0 - (1.0 - p).powi(self.pushes_per_attack as i32)
    }
}

/// Validated threat parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threat {
    /// Inject one theft per simulated user (exposure conditional on a theft).
    pub enabled: bool,
    /// Thefts per user-year: scales conditional exposure to attacker-hours per 1,000
    /// users per year.
    pub thefts_per_user_year: f64,
    /// Shares of cookie, refresh token, PRT.
    pub artefacts: [f64; 3],
    /// Apps the attacker replays against; empty means every app the user uses.
    pub apps: Vec<App>,
    /// How long after the theft the attacker keeps trying (the observation window).
    pub attacker_horizon: Duration,
    /// Share of thefts where Entra sees the attacker from an allowed location.
    pub trusted_ip_share: f64,
    pub detected_share: f64,
    pub detection_delay: DurationDist,
    pub response: Vec<Response>,
    pub fatigue: Fatigue,
}

impl Default for Threat {
    /// The defaults of every parameter (see `docs/model.md`, "Threat").
    fn default() -> Self {
        Threat {
            enabled: true,
            thefts_per_user_year: 0.01,
            artefacts: [0.7, 0.25, 0.05],
            apps: Vec::new(),
            attacker_horizon: Duration::from_days(7),
            trusted_ip_share: 0.0,
            detected_share: 0.5,
            detection_delay: DurationDist::Exponential {
                mean: Duration::from_hours(24),
            },
            response: vec![Response::RevokeSessions, Response::PasswordReset],
            fatigue: Fatigue {
                attacks_per_user_year: 0.01,
                pushes_per_attack: 10,
                base_approval: 0.01,
                habituation: 0.2,
                number_matching_factor: 0.1,
            },
        }
    }
}

impl Threat {
    /// Applies defaults and checks ranges. Errors name the field.
    pub fn from_raw(raw: &RawThreat) -> Result<Threat, (String, String)> {
        let d = Threat::default();
        let prob = |name: &str, v: Option<f64>, default: f64| -> Result<f64, (String, String)> {
            let v = v.unwrap_or(default);
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err((
                    name.into(),
                    format!("{v} is not a probability between 0 and 1"),
                ))
            }
        };
        let nonneg = |name: &str, v: Option<f64>, default: f64| -> Result<f64, (String, String)> {
            let v = v.unwrap_or(default);
            if v.is_finite() && (0.0..=1.0e6).contains(&v) {
                Ok(v)
            } else {
                Err((name.into(), format!("{v} is not a non-negative number")))
            }
        };
        let artefacts = match &raw.artefacts {
            None => d.artefacts,
            Some(m) => {
                let mut out = [0.0; 3];
                for (k, v) in m {
                    let Ok(a) = Artefact::parse(k) else {
                        return Err((
                            format!("artefacts.{k}"),
                            crate::app::unknown_name(
                                "artefact",
                                k,
                                &["cookie", "refresh_token", "prt"],
                            ),
                        ));
                    };
                    let i = Artefact::ALL.iter().position(|x| *x == a).unwrap_or(0);
                    out[i] = prob(&format!("artefacts.{k}"), Some(*v), 0.0)?;
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
        let f = raw.fatigue.clone().unwrap_or_default();
        let pushes = f.pushes_per_attack.unwrap_or(d.fatigue.pushes_per_attack);
        if pushes == 0 || pushes > 1000 {
            return Err((
                "fatigue.pushes_per_attack".into(),
                format!("{pushes} is not between 1 and 1000"),
            ));
        }
        Ok(Threat {
            enabled: raw.enabled.unwrap_or(d.enabled),
            thefts_per_user_year: nonneg(
                "thefts_per_user_year",
                raw.thefts_per_user_year,
                d.thefts_per_user_year,
            )?,
            artefacts,
            apps,
            attacker_horizon: horizon,
            trusted_ip_share: prob("trusted_ip_share", raw.trusted_ip_share, d.trusted_ip_share)?,
            detected_share: prob("detected_share", raw.detected_share, d.detected_share)?,
            detection_delay: raw.detection_delay.clone().unwrap_or(d.detection_delay),
            response: raw.response.clone().unwrap_or(d.response),
            fatigue: Fatigue {
                attacks_per_user_year: nonneg(
                    "fatigue.attacks_per_user_year",
                    f.attacks_per_user_year,
                    d.fatigue.attacks_per_user_year,
                )?,
                pushes_per_attack: pushes,
                base_approval: prob(
                    "fatigue.base_approval",
                    f.base_approval,
                    d.fatigue.base_approval,
                )?,
                habituation: nonneg("fatigue.habituation", f.habituation, d.fatigue.habituation)?,
                number_matching_factor: prob(
                    "fatigue.number_matching_factor",
                    f.number_matching_factor,
                    d.fatigue.number_matching_factor,
                )?,
            },
        })
    }
}

/// One planned theft.
#[derive(Clone, Debug, PartialEq)]
pub struct TheftPlan {
    pub at: SimTime,
    pub artefact: Artefact,
    /// When the administrator responds, if the theft is detected.
    pub response_at: Option<SimTime>,
    pub ends: SimTime,
}

/// Plans the user's theft at a uniformly random moment of a random workday, the attacker's
/// replays against `apps` for the attacker horizon, and the detection response.
pub fn plan_theft<R: Rng>(
    rng: &mut R,
    threat: &Threat,
    workdays: &[Option<Workday>],
    apps: &[App],
    plan: &mut Vec<(SimTime, Action)>,
) -> Option<TheftPlan> {
    let days = workdays.iter().filter(|d| d.is_some()).count();
    if !threat.enabled || days == 0 || apps.is_empty() {
        return None;
    }
    let k = rng.random_range(0..days);
    let day = workdays.iter().flatten().nth(k).copied()?;
    let at = instant(rng, day.start, day.end);
    let artefact = Artefact::ALL[pick(rng, &threat.artefacts)];
    let trusted_ip = rng.random_bool(threat.trusted_ip_share);
    // The attacker's window may run past the last simulated workday: exposure is measured
    // over the whole horizon, not cut by the end of the fatigue window.
    let ends = at + threat.attacker_horizon;
    plan.push((at, Action::Steal { artefact }));
    for app in apps {
        plan.push((
            at,
            Action::AttackerUse {
                app: *app,
                until: ends,
                trusted_ip,
            },
        ));
    }
    let response_at = if rng.random_bool(threat.detected_share) {
        let t = at + threat.detection_delay.sample(rng);
        for r in &threat.response {
            plan.push((t, r.action()));
        }
        Some(t)
    } else {
        None
    };
    Some(TheftPlan {
        at,
        artefact,
        response_at,
        ends,
    })
}
