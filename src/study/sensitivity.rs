//! `sessionsim sensitivity`: how the decision depends on the model's assumptions. Each
//! parameter that `docs/model.md` marks as an assumption is varied across the range that
//! `docs/sensitivity.md` documents, one at a time, the others at the experiment's values.
//!
//! - Attack rates only rescale the counts of their mechanism: the simulation with the
//!   experiment's rates is reweighted (the accumulators are read again with the rate's
//!   weight, [`crate::output::tables::mechanism_weights`]), which is exact and costs no
//!   simulation, so their ranges are walked on a fine grid.
//! - Every other assumption changes what happens: each value is simulated again with the
//!   experiment's seed, so every run sees the same users, work and attacks (common random
//!   numbers) and differences come from the assumption alone.

use crate::engine::time::{Duration, HOUR};
use crate::output::compare::{self, Paired, PrecisionOutcome, EXPOSURE, PROMPTS};
use crate::output::sensitivity::{Findings, Point, Varied};
use crate::output::tables::{summarize, DesignSummary};
use crate::study::experiment::{Experiment, RunOptions};
use crate::study::runner::{self, RunResult};
use crate::world::draw::DurationDist;
use crate::world::threat::Threat;

/// How a value is obtained.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// The experiment's simulation, reweighted.
    Reweighted,
    /// Simulated again with common random numbers.
    Simulated,
}

/// One assumed parameter and its documented range.
pub struct Assumption {
    /// The parameter, as in the population's `[threat]` table.
    pub parameter: &'static str,
    /// What it is, for the report.
    pub what: &'static str,
    pub method: Method,
    /// The experiment's value (for per-device parameters, the personal-device value).
    pub current: fn(&Threat) -> f64,
    /// The values tried, from low to high, from the current value.
    pub values: fn(f64) -> Vec<f64>,
    pub set: fn(&mut Threat, f64),
}

/// Multiples of the current rate, a quarter to four times.
fn rate_grid(v: f64) -> Vec<f64> {
    [0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0]
        .iter()
        .map(|m| m * v)
        .collect()
}

fn scale4(a: &mut [f64; 4], to: f64, from: f64) {
    if from > 0.0 {
        for x in a.iter_mut() {
            *x *= to / from;
        }
    }
}

/// Personal devices: registered and unmanaged (`DeviceTrust` order: joined, hybrid,
/// registered, unmanaged).
const PERSONAL: usize = 3;

fn hours(v: f64) -> DurationDist {
    DurationDist::Exponential {
        mean: Duration::from_secs((v * HOUR as f64).round() as u64),
    }
}

fn mean_hours(d: &DurationDist) -> f64 {
    d.mean().as_secs() as f64 / HOUR as f64
}

/// The assumptions varied, in the order of `sensitivity.csv` (docs/sensitivity.md).
pub fn assumptions() -> Vec<Assumption> {
    vec![
        Assumption {
            parameter: "aitm.lures_per_user_year",
            what: "AiTM phishing lures per user-year",
            method: Method::Reweighted,
            current: |t| t.aitm.lures_per_user_year,
            values: rate_grid,
            set: |t, v| t.aitm.lures_per_user_year = v,
        },
        Assumption {
            parameter: "infostealer.per_user_year",
            what: "infostealer infections per user-year (personal devices; managed ones in proportion)",
            method: Method::Reweighted,
            current: |t| t.infostealer.per_user_year[PERSONAL],
            values: rate_grid,
            set: |t, v| {
                let from = t.infostealer.per_user_year[PERSONAL];
                scale4(&mut t.infostealer.per_user_year, v, from)
            },
        },
        Assumption {
            parameter: "push_bombing.attacks_per_user_year",
            what: "push-bombing attacks per user-year",
            method: Method::Reweighted,
            current: |t| t.push_bombing.attacks_per_user_year,
            values: rate_grid,
            set: |t, v| t.push_bombing.attacks_per_user_year = v,
        },
        Assumption {
            parameter: "device_compromise.per_user_year",
            what: "device compromises per user-year (personal devices; managed ones in proportion)",
            method: Method::Reweighted,
            current: |t| t.device_compromise.per_user_year[PERSONAL],
            values: rate_grid,
            set: |t, v| {
                let from = t.device_compromise.per_user_year[PERSONAL];
                scale4(&mut t.device_compromise.per_user_year, v, from)
            },
        },
        Assumption {
            parameter: "device_code.lures_per_user_year",
            what: "device-code phishing lures per user-year",
            method: Method::Reweighted,
            current: |t| t.device_code.lures_per_user_year,
            values: rate_grid,
            set: |t, v| t.device_code.lures_per_user_year = v,
        },
        Assumption {
            parameter: "habituation",
            what: "habituation: how much each daily prompt raises the chance of completing a phished sign-in or approving a push (aitm, device_code and push_bombing together)",
            method: Method::Simulated,
            current: |t| t.aitm.habituation,
            values: |_| vec![0.0, 0.05, 0.1, 0.2, 0.35, 0.5],
            set: |t, v| {
                t.aitm.habituation = v;
                t.device_code.habituation = v;
                t.push_bombing.habituation = v;
            },
        },
        Assumption {
            parameter: "detected_share",
            what: "share of thefts the SOC detects and responds to",
            method: Method::Simulated,
            current: |t| t.detected_share,
            values: |_| vec![0.2, 0.5, 0.8],
            set: |t, v| t.detected_share = v,
        },
        Assumption {
            parameter: "detection_delay",
            what: "mean hours from a theft's first use to the SOC's response (exponential)",
            method: Method::Simulated,
            current: |t| mean_hours(&t.detection_delay),
            values: |_| vec![6.0, 24.0, 72.0],
            set: |t, v| t.detection_delay = hours(v),
        },
        Assumption {
            parameter: "risk_detected_share",
            what: "share of thefts Identity Protection flags, raising the user's risk",
            method: Method::Simulated,
            current: |t| t.risk_detected_share,
            values: |_| vec![0.1, 0.3, 0.5],
            set: |t, v| t.risk_detected_share = v,
        },
        Assumption {
            parameter: "attacker.mint_refresh_token",
            what: "share of attackers who turn a stolen cookie into a refresh token",
            method: Method::Simulated,
            current: |t| t.attacker.mint_refresh_token,
            values: |_| vec![0.0, 0.5, 1.0],
            set: |t, v| t.attacker.mint_refresh_token = v,
        },
        Assumption {
            parameter: "attacker.session_gap",
            what: "mean hours between the attacker's sessions (exponential)",
            method: Method::Simulated,
            current: |t| mean_hours(&t.attacker.session_gap),
            values: |_| vec![2.0, 8.0, 24.0],
            set: |t, v| t.attacker.session_gap = hours(v),
        },
        Assumption {
            parameter: "tpm_share",
            what: "share of personal devices whose keys are in a TPM (infostealer and device compromise; managed devices unchanged)",
            method: Method::Simulated,
            current: |t| t.infostealer.tpm_share[PERSONAL],
            values: |_| vec![0.3, 0.6, 0.9],
            set: |t, v| {
                for a in [&mut t.infostealer.tpm_share, &mut t.device_compromise.tpm_share] {
                    a[2] = v;
                    a[3] = v;
                }
            },
        },
    ]
}

/// What the recommendation is measured against: the reference, or, when the
/// recommendation is the reference, the runner-up (the eligible design within the prompt
/// budget with the least exposure after it).
fn comparator(d: &compare::Decision, summaries: &[DesignSummary]) -> Option<usize> {
    let r = d.recommended?;
    if r != d.reference {
        return Some(d.reference);
    }
    (0..summaries.len())
        .filter(|&i| i != r && d.within_budget[i] && !d.over_denied_budget[i])
        .filter_map(|i| summaries[i].point().map(|p| (i, p.1)))
        .min_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.0.cmp(&b.0))
        })
        .map(|(i, _)| i)
}

/// What one value of one assumption gives, against the base decision.
#[allow(clippy::too_many_arguments)]
fn point(
    exp: &Experiment,
    summaries: &[DesignSummary],
    parameter: &str,
    value: f64,
    is_current: bool,
    method: Method,
    base: Option<usize>,
    versus: Option<usize>,
) -> Point {
    let d = compare::decide(exp, summaries);
    let names = |ids: &[usize]| {
        ids.iter()
            .map(|i| summaries[*i].name.clone())
            .collect::<Vec<_>>()
    };
    let against = |i: usize, m| -> Option<Paired> {
        // The comparator minus the design: positive is an advantage (fewer).
        compare::paired(&summaries[versus?], &summaries[i], m)
    };
    Point {
        parameter: parameter.to_string(),
        value,
        is_current,
        method: match method {
            Method::Reweighted => "reweighted",
            Method::Simulated => "simulated",
        },
        recommended: d.recommended.map(|i| summaries[i].name.clone()),
        frontier: names(&d.frontier),
        advantage_hours: base.and_then(|b| against(b, EXPOSURE)),
        advantage_prompts: base.and_then(|b| against(b, PROMPTS)),
        closest_rival: base.and_then(|b| {
            (0..summaries.len())
                .filter(|&i| i != b && d.within_budget[i] && !d.over_denied_budget[i])
                .filter_map(|i| {
                    compare::paired(&summaries[i], &summaries[b], EXPOSURE).map(|p| (i, p))
                })
                .min_by(|x, y| {
                    x.1.difference
                        .partial_cmp(&y.1.difference)
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(x.0.cmp(&y.0))
                })
                .map(|(i, p)| (summaries[i].name.clone(), p))
        }),
        new_versus_base: match (d.recommended, base) {
            (Some(r), Some(b)) if r != b => compare::paired(&summaries[r], &summaries[b], EXPOSURE),
            _ => None,
        },
    }
}

/// Runs the sensitivity study: the experiment as it is, then each assumption across its
/// range. `progress` is told of each run as it finishes, and `label` of each run as it
/// starts.
/// With a precision target (`precision`, `--precision`), the experiment as it is runs to
/// it first, and every value is then simulated with the replicates it reached.
pub fn run(
    exp: &Experiment,
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    label: &dyn Fn(&str),
) -> std::io::Result<(RunResult, Experiment, Option<PrecisionOutcome>, Findings)> {
    label("the experiment as it is");
    let (base_result, exp, precision) = if exp.precision.is_some() {
        let (r, e, p) = crate::study::precision::run_to_precision(exp, opts, progress)?;
        (r, e, Some(p))
    } else {
        (runner::run(exp, opts, progress, None)?, exp.clone(), None)
    };
    let exp = &exp;
    let base_summaries = summarize(exp, &base_result);
    let base_decision = compare::decide(exp, &base_summaries);
    let base = base_decision.recommended;
    let versus = comparator(&base_decision, &base_summaries);
    let mut points = Vec::new();
    let mut varied = Vec::new();
    for a in assumptions() {
        let current = (a.current)(&exp.population.threat);
        let mut values = (a.values)(current);
        if !values
            .iter()
            .any(|v| (v - current).abs() <= 1e-12 * current.abs().max(1.0))
        {
            values.push(current);
            values.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
        }
        varied.push(Varied {
            parameter: a.parameter.to_string(),
            what: a.what.to_string(),
            current,
            low: values.first().copied().unwrap_or(current),
            high: values.last().copied().unwrap_or(current),
        });
        values.dedup();
        for v in values {
            let is_current = (v - current).abs() <= 1e-12 * current.abs().max(1.0);
            let mut e = exp.clone();
            (a.set)(&mut e.population.threat, v);
            let summaries = if is_current {
                base_summaries.clone()
            } else {
                match a.method {
                    Method::Reweighted => summarize(&e, &base_result),
                    Method::Simulated => {
                        label(&format!(
                            "{} = {}",
                            a.parameter,
                            crate::output::plots::axis_label(v)
                        ));
                        summarize(&e, &runner::run(&e, opts, progress, None)?)
                    }
                }
            };
            points.push(point(
                &e,
                &summaries,
                a.parameter,
                v,
                is_current,
                a.method,
                base,
                versus,
            ));
        }
    }
    let findings = Findings {
        reference: base_summaries[base_decision.reference].name.clone(),
        versus: versus.map(|i| base_summaries[i].name.clone()),
        recommended: base.map(|i| base_summaries[i].name.clone()),
        varied,
        points,
    };
    Ok((base_result, exp.clone(), precision, findings))
}

/// Runs the sensitivity study and writes, into `dir` (replaced as a whole), the run's files
/// for the experiment as it is (its `report.md` with the robustness found), and
/// `sensitivity.csv` and `sensitivity.svg`.
pub fn run_to_dir(
    exp: &Experiment,
    opts: &RunOptions,
    dir: &std::path::Path,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
    label: &dyn Fn(&str),
) -> anyhow::Result<Findings> {
    use anyhow::Context;
    let started = std::time::Instant::now();
    let out = crate::output::OutputDir::create(dir, opts.force)
        .with_context(|| format!("creating the output folder {}", dir.display()))?;
    crate::study::precision::check(exp, opts)?;
    let (result, exp, precision, findings) = run(exp, opts, progress, label)?;
    let exp = &exp;
    let wall = started.elapsed().as_secs_f64();
    let info = crate::output::RunInfo {
        threads,
        wall_seconds: wall,
        user_days_per_second: result.user_days_simulated as f64 / wall.max(1e-9),
        events_per_second: result.events_simulated as f64 / wall.max(1e-9),
    };
    let cx = crate::output::report::ReportContext {
        shard: None,
        precision,
        robustness: Some(crate::output::sensitivity::robustness(&findings)),
    };
    crate::output::write_results_with(&out, exp, &result, &info, &cx)?;
    out.write(
        "sensitivity.csv",
        &crate::output::sensitivity::sensitivity_csv(&findings)?,
    )?;
    out.write(
        "sensitivity.svg",
        crate::output::sensitivity::sensitivity_svg(&exp.name, &findings).as_bytes(),
    )?;
    out.commit()
        .with_context(|| format!("writing results to {}", dir.display()))?;
    Ok(findings)
}

/// Simulations a sensitivity study runs: the experiment, and one per simulated value that
/// is not the experiment's own (for a progress bar).
pub fn simulations(exp: &Experiment) -> u64 {
    1 + assumptions()
        .iter()
        .filter(|a| a.method == Method::Simulated)
        .map(|a| {
            let current = (a.current)(&exp.population.threat);
            (a.values)(current)
                .iter()
                .filter(|v| (*v - current).abs() > 1e-12 * current.abs().max(1.0))
                .count() as u64
        })
        .sum::<u64>()
}
