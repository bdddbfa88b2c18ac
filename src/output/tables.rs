//! The metric tables of a run (INTERFACE.md, "Run outputs"): what each reported number is,
//! computed from integer accumulators (with the attack-sampling weights of each mechanism),
//! and `summary.csv`, `replicates.csv`, `breakdown.csv`.
//!
//! Owns: the definition, weighting and format of every reported number, and the Pareto
//! test. May not write files (`files.rs`) nor simulate.

use crate::engine::time::HOUR;
use crate::model::Mechanism;
use crate::output::metrics::{exposure_bin_hours, Cell, Group, TheftAcc, RATE_BIN};
use crate::study::experiment::Experiment;
use crate::study::runner::{replicate_seed, RunResult};
use crate::world::app::DeviceTrust;

/// The metrics of one group of users, as reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub users: u64,
    pub active_days: u64,
    pub prompts_per_user_day: Option<f64>,
    pub mfa_prompts_per_user_day: Option<f64>,
    pub unintended_prompts_per_user_day: Option<f64>,
    pub p95_user_prompts_per_day: Option<f64>,
    pub prompt_minutes_per_user_month: Option<f64>,
    pub evaluations_per_user_day: Option<f64>,
    /// Entra evaluations of the users' own sessions: the user rows of `signins.csv`.
    pub evaluations: u64,
    /// Simulated thefts (before weighting back to real rates).
    pub thefts: u64,
    /// Share of attacks (lures, infections, push attacks, ...) that gave the attacker an
    /// artefact it can present from elsewhere.
    pub attack_success_share: Option<f64>,
    /// Share of thefts that gave the attacker working access at least once.
    pub access_share: Option<f64>,
    /// Simulated thefts that ever gave working access, and their expected number per
    /// 1,000 users per year: the thefts that matter, beside those that stole something
    /// useless (a bound copy, a cookie that died before its first use).
    pub thefts_with_access: u64,
    pub thefts_with_access_per_1000_users_year: Option<f64>,
    /// Simulated thefts still working when the attacker's window ended: their exposure,
    /// and every mean and percentile that includes them, is a lower bound.
    pub censored_thefts: u64,
    /// Expected thefts per 1,000 users per year, in all and by mechanism.
    pub thefts_per_1000_users_year: Option<f64>,
    pub thefts_by_mechanism_per_1000_users_year: [Option<f64>; Mechanism::COUNT],
    /// Expected attacker-hours per 1,000 users per year, by mechanism.
    pub attacker_hours_by_mechanism: [Option<f64>; Mechanism::COUNT],
    pub exposure_hours_mean: Option<f64>,
    pub exposure_hours_p50: Option<f64>,
    pub exposure_hours_p95: Option<f64>,
    pub contained_1h_share: Option<f64>,
    pub contained_24h_share: Option<f64>,
    pub censored_share: Option<f64>,
    /// Expected hours of attacker access per 1,000 users per year: the exposure axis.
    pub attacker_hours_per_1000_users_year: Option<f64>,
    pub exposure_hours_cae_mean: Option<f64>,
    pub exposure_hours_noncae_mean: Option<f64>,
    pub exposure_hours_by_artefact: [Option<f64>; 3],
    pub fatigue_attack_success_rate: Option<f64>,
    pub fatigue_successes_per_1000_users_year: Option<f64>,
    /// The users' own accesses that were denied, over all their accesses (Entra
    /// evaluations and accesses answered by a cached token alike).
    pub denied_access_share: Option<f64>,
    /// Denied accesses per worked day: each costs the user time, like a prompt.
    pub denied_prompts_per_user_day: Option<f64>,
    /// With the design's report-only policies enforced: prompts per user-day and denied
    /// share. `None` when the design has no report-only policy.
    pub reportonly_prompts_per_user_day: Option<f64>,
    pub reportonly_denied_share: Option<f64>,
}

fn ratio(num: f64, den: u64) -> Option<f64> {
    (den > 0).then(|| num / den as f64)
}

fn fratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// The weight of each mechanism's simulated thefts: real attempts per simulated attempt.
pub fn mechanism_weights(exp: &Experiment) -> [f64; Mechanism::COUNT] {
    exp.sampling().map(|f| if f > 0.0 { 1.0 / f } else { 0.0 })
}

/// Weighted sum over mechanisms of one accumulated number, in mechanism order.
fn weighted(g: &Group, w: &[f64; Mechanism::COUNT], f: impl Fn(&TheftAcc) -> u64) -> f64 {
    g.thefts.iter().zip(w).map(|(t, w)| f(t) as f64 * w).sum()
}

/// Exposure histogram bins (ended, censored) weighted over mechanisms, in bin order.
pub fn weighted_exposure_bins(g: &Group, w: &[f64; Mechanism::COUNT]) -> Vec<(u32, f64, f64)> {
    let mut bins: std::collections::BTreeMap<u32, (f64, f64)> = Default::default();
    for (t, w) in g.thefts.iter().zip(w) {
        for (b, c) in &t.ended.bins {
            bins.entry(*b).or_default().0 += *c as f64 * w;
        }
        for (b, c) in &t.censored.bins {
            bins.entry(*b).or_default().1 += *c as f64 * w;
        }
    }
    bins.into_iter().map(|(b, (e, c))| (b, e, c)).collect()
}

/// The bin holding quantile `q` of weighted bins, by the nearest-rank method.
fn weighted_quantile(bins: &[(u32, f64, f64)], q: f64) -> Option<u32> {
    let total: f64 = bins.iter().map(|(_, e, c)| e + c).sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut seen = 0.0;
    for (b, e, c) in bins {
        seen += e + c;
        // A relative tolerance keeps the rank stable against rounding of the weights.
        if seen >= rank * (1.0 - 1e-12) {
            return Some(*b);
        }
    }
    bins.last().map(|(b, _, _)| *b)
}

impl Metrics {
    pub fn of(g: &Group, exp: &Experiment) -> Metrics {
        let w = mechanism_weights(exp);
        let hours = |secs: f64| secs / HOUR as f64;
        let user_years = g.window_days as f64 / 365.0;
        let per_1000 = |x: f64| fratio(x * 1000.0, user_years);
        let thefts = weighted(g, &w, |t| t.thefts);
        let per_theft = |x: f64| fratio(x, thefts);
        let bins = weighted_exposure_bins(g, &w);
        let window_hours = exp.population.threat.attacker_horizon.as_hours_f64();
        let push = &g.thefts[Mechanism::PushBombing.index()];
        let push_w = w[Mechanism::PushBombing.index()];
        let mut by_mechanism = [None; Mechanism::COUNT];
        let mut hours_by_mechanism = [None; Mechanism::COUNT];
        for m in Mechanism::ALL {
            let (t, wm) = (&g.thefts[m.index()], w[m.index()]);
            if wm > 0.0 {
                by_mechanism[m.index()] = per_1000(t.thefts as f64 * wm);
                hours_by_mechanism[m.index()] = per_1000(hours(t.exposure_seconds as f64 * wm));
            }
        }
        Metrics {
            users: g.users,
            active_days: g.active_days,
            prompts_per_user_day: ratio(g.prompts as f64, g.active_days),
            mfa_prompts_per_user_day: ratio(g.mfa_prompts as f64, g.active_days),
            unintended_prompts_per_user_day: ratio(g.unintended_prompts as f64, g.active_days),
            p95_user_prompts_per_day: g.user_rate.quantile_bin(0.95).map(|b| b as f64 * RATE_BIN),
            prompt_minutes_per_user_month: ratio(
                g.prompt_seconds as f64 / 60.0 * 30.0,
                g.window_days,
            ),
            evaluations_per_user_day: ratio(g.evaluations as f64, g.active_days),
            evaluations: g.evaluations,
            thefts: g.thefts.iter().map(|t| t.thefts).sum(),
            attack_success_share: fratio(thefts, weighted(g, &w, |t| t.attempts)),
            access_share: per_theft(weighted(g, &w, |t| t.with_access)),
            thefts_with_access: g.thefts.iter().map(|t| t.with_access).sum(),
            thefts_with_access_per_1000_users_year: if w.iter().any(|x| *x > 0.0) {
                per_1000(weighted(g, &w, |t| t.with_access))
            } else {
                None
            },
            censored_thefts: g.thefts.iter().map(|t| t.censored.count()).sum(),
            thefts_per_1000_users_year: if w.iter().any(|x| *x > 0.0) {
                per_1000(thefts)
            } else {
                None
            },
            thefts_by_mechanism_per_1000_users_year: by_mechanism,
            attacker_hours_by_mechanism: hours_by_mechanism,
            exposure_hours_mean: per_theft(hours(weighted(g, &w, |t| t.exposure_seconds))),
            // A bin's upper edge can pass the window's end; no exposure does.
            exposure_hours_p50: weighted_quantile(&bins, 0.5)
                .map(|b| exposure_bin_hours(b as usize).min(window_hours)),
            exposure_hours_p95: weighted_quantile(&bins, 0.95)
                .map(|b| exposure_bin_hours(b as usize).min(window_hours)),
            contained_1h_share: per_theft(weighted(g, &w, |t| t.contained_1h)),
            contained_24h_share: per_theft(weighted(g, &w, |t| t.contained_24h)),
            censored_share: per_theft(weighted(g, &w, |t| t.censored.count())),
            attacker_hours_per_1000_users_year: per_1000(hours(weighted(g, &w, |t| {
                t.exposure_seconds
            }))),
            exposure_hours_cae_mean: per_theft(hours(weighted(g, &w, |t| t.cae_seconds))),
            exposure_hours_noncae_mean: per_theft(hours(weighted(g, &w, |t| t.noncae_seconds))),
            exposure_hours_by_artefact: [0, 1, 2].map(|i| {
                fratio(
                    hours(weighted(g, &w, |t| t.by_artefact_seconds[i])),
                    weighted(g, &w, |t| t.by_artefact[i]),
                )
            }),
            fatigue_attack_success_rate: ratio(push.thefts as f64, push.attempts),
            fatigue_successes_per_1000_users_year: (push_w > 0.0)
                .then(|| per_1000(push.thefts as f64 * push_w))
                .flatten(),
            denied_access_share: ratio(g.denied as f64, g.accesses),
            denied_prompts_per_user_day: ratio(g.denied as f64, g.active_days),
            reportonly_prompts_per_user_day: None,
            reportonly_denied_share: None,
        }
    }

    /// Adds the `reportonly_*` numbers from the same users under the design's
    /// report-only shadow (none when the design has no report-only policy).
    pub fn with_report_only(mut self, shadow: Option<&Group>) -> Metrics {
        if let Some(g) = shadow {
            self.reportonly_prompts_per_user_day = ratio(g.prompts as f64, g.active_days);
            self.reportonly_denied_share = ratio(g.denied as f64, g.accesses);
        }
        self
    }
}

/// The share of thefts still working against hours since the attacker's first access: a
/// Kaplan–Meier estimate over the weighted exposure bins, censored at the end of each
/// attacker window. Returns `(hours, share)` steps starting at `(0, 1)`; thefts that never
/// gave access end at zero.
pub fn survival(g: &Group, exp: &Experiment) -> Vec<(f64, f64)> {
    survival_and_censoring(g, exp).0
}

/// `(hours, share still working)` points.
pub type Steps = Vec<(f64, f64)>;

/// [`survival`], and where thefts were censored: `(hours, share still working)` at each
/// bin holding censored thefts (the ticks of `exposure.svg`).
pub fn survival_and_censoring(g: &Group, exp: &Experiment) -> (Steps, Steps) {
    let w = mechanism_weights(exp);
    let bins = weighted_exposure_bins(g, &w);
    let mut at_risk: f64 = bins.iter().map(|(_, e, c)| e + c).sum();
    let mut share = 1.0;
    let mut out = vec![(0.0, 1.0)];
    let mut censored_at = Vec::new();
    if at_risk <= 0.0 {
        return (Vec::new(), Vec::new());
    }
    for (b, ended, censored) in bins {
        if ended > 0.0 && at_risk > 0.0 {
            share *= 1.0 - ended / at_risk;
            out.push((exposure_bin_hours(b as usize), share));
        }
        if censored > 0.0 {
            censored_at.push((exposure_bin_hours(b as usize), share));
        }
        at_risk -= ended + censored;
    }
    (out, censored_at)
}

/// Fixed-decimal text for a number; empty when there is none.
pub(crate) fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => String::new(),
    }
}

/// The metric columns shared by summary, replicates and breakdown (after their keys).
const METRIC_COLUMNS: &[&str] = &[
    "prompts_per_user_day",
    "mfa_prompts_per_user_day",
    "unintended_prompts_per_user_day",
    "p95_user_prompts_per_day",
    "prompt_minutes_per_user_month",
    "evaluations_per_user_day",
    "evaluations",
    "thefts",
    "thefts_per_1000_users_year",
    "thefts_aitm_per_1000_users_year",
    "thefts_infostealer_per_1000_users_year",
    "thefts_push_bombing_per_1000_users_year",
    "thefts_device_compromise_per_1000_users_year",
    "thefts_device_code_per_1000_users_year",
    "attack_success_share",
    "access_share",
    "thefts_with_access",
    "thefts_with_access_per_1000_users_year",
    "censored_thefts",
    "exposure_hours_mean",
    "exposure_hours_p50",
    "exposure_hours_p95",
    "contained_1h_share",
    "contained_24h_share",
    "censored_share",
    "attacker_hours_per_1000_users_year",
    "exposure_hours_cae_mean",
    "exposure_hours_noncae_mean",
    "exposure_hours_cookie_mean",
    "exposure_hours_refresh_token_mean",
    "exposure_hours_prt_mean",
    "fatigue_attack_success_rate",
    "fatigue_successes_per_1000_users_year",
    "denied_access_share",
    "denied_prompts_per_user_day",
    "reportonly_prompts_per_user_day",
    "reportonly_denied_share",
];

fn metric_values(m: &Metrics) -> Vec<String> {
    vec![
        num(m.prompts_per_user_day),
        num(m.mfa_prompts_per_user_day),
        num(m.unintended_prompts_per_user_day),
        num(m.p95_user_prompts_per_day),
        num(m.prompt_minutes_per_user_month),
        num(m.evaluations_per_user_day),
        m.evaluations.to_string(),
        m.thefts.to_string(),
        num(m.thefts_per_1000_users_year),
        num(m.thefts_by_mechanism_per_1000_users_year[Mechanism::Aitm.index()]),
        num(m.thefts_by_mechanism_per_1000_users_year[Mechanism::Infostealer.index()]),
        num(m.thefts_by_mechanism_per_1000_users_year[Mechanism::PushBombing.index()]),
        num(m.thefts_by_mechanism_per_1000_users_year[Mechanism::DeviceCompromise.index()]),
        num(m.thefts_by_mechanism_per_1000_users_year[Mechanism::DeviceCode.index()]),
        num(m.attack_success_share),
        num(m.access_share),
        m.thefts_with_access.to_string(),
        num(m.thefts_with_access_per_1000_users_year),
        m.censored_thefts.to_string(),
        num(m.exposure_hours_mean),
        num(m.exposure_hours_p50),
        num(m.exposure_hours_p95),
        num(m.contained_1h_share),
        num(m.contained_24h_share),
        num(m.censored_share),
        num(m.attacker_hours_per_1000_users_year),
        num(m.exposure_hours_cae_mean),
        num(m.exposure_hours_noncae_mean),
        num(m.exposure_hours_by_artefact[0]),
        num(m.exposure_hours_by_artefact[1]),
        num(m.exposure_hours_by_artefact[2]),
        num(m.fatigue_attack_success_rate),
        num(m.fatigue_successes_per_1000_users_year),
        num(m.denied_access_share),
        num(m.denied_prompts_per_user_day),
        num(m.reportonly_prompts_per_user_day),
        num(m.reportonly_denied_share),
    ]
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
pub fn t95(df: u64) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df as usize - 1],
        31..=40 => 2.021,
        41..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Half-width of the 95% confidence interval of the mean of `xs` (None with fewer than two).
pub fn ci95(xs: &[f64]) -> Option<f64> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(t95(n as u64 - 1) * (var / n as f64).sqrt())
}

/// One design's summary line.
#[derive(Clone, Debug, Default)]
pub struct DesignSummary {
    pub name: String,
    pub pooled: Metrics,
    pub replicates: Vec<Metrics>,
    pub prompts_ci95: Option<f64>,
    pub mfa_ci95: Option<f64>,
    pub exposure_ci95: Option<f64>,
    /// Interval of the exposure axis: attacker-hours per 1,000 users per year.
    pub attacker_hours_ci95: Option<f64>,
    pub thefts_with_access_ci95: Option<f64>,
    pub denied_ci95: Option<f64>,
    /// Kaplan–Meier share of thefts still working against hours (pooled).
    pub survival: Vec<(f64, f64)>,
    /// Where thefts were censored (still working at the end of the attacker's window):
    /// hours and the share still working there.
    pub censored_at: Vec<(f64, f64)>,
    pub pareto: Option<bool>,
}

impl DesignSummary {
    /// The design as a point of the trade-off: (prompts per user-day, attacker-hours per
    /// 1,000 users per year).
    pub fn point(&self) -> Option<(f64, f64)> {
        Some((
            self.pooled.prompts_per_user_day?,
            self.pooled.attacker_hours_per_1000_users_year?,
        ))
    }
}

fn collect(values: impl Iterator<Item = Option<f64>>) -> Option<Vec<f64>> {
    values.collect()
}

/// The report-only shadow cells of design `design` (none when it has no report-only
/// policy).
fn shadow_cells(result: &RunResult, design: usize) -> Option<&[Cell]> {
    result
        .report_only
        .get(design)
        .filter(|reps| !reps.is_empty())
        .map(Vec::as_slice)
}

/// Summaries of every design, with the Pareto flags.
pub fn summarize(exp: &Experiment, result: &RunResult) -> Vec<DesignSummary> {
    let mut out: Vec<DesignSummary> = exp
        .designs
        .iter()
        .zip(&result.cells)
        .enumerate()
        .map(|(di, (d, reps))| {
            let shadow = shadow_cells(result, di);
            let mut pooled = Group::default();
            for c in reps {
                pooled.merge(&c.total());
            }
            let pooled_shadow = shadow.map(|cells| {
                let mut g = Group::default();
                for c in cells {
                    g.merge(&c.total());
                }
                g
            });
            let replicates: Vec<Metrics> = reps
                .iter()
                .enumerate()
                .map(|(r, c)| {
                    let s = shadow.and_then(|cells| cells.get(r)).map(Cell::total);
                    Metrics::of(&c.total(), exp).with_report_only(s.as_ref())
                })
                .collect();
            let ci = |f: fn(&Metrics) -> Option<f64>| {
                collect(replicates.iter().map(f)).and_then(|v| ci95(&v))
            };
            DesignSummary {
                name: d.name.clone(),
                pooled: Metrics::of(&pooled, exp).with_report_only(pooled_shadow.as_ref()),
                prompts_ci95: ci(|m| m.prompts_per_user_day),
                mfa_ci95: ci(|m| m.mfa_prompts_per_user_day),
                exposure_ci95: ci(|m| m.exposure_hours_mean),
                attacker_hours_ci95: ci(|m| m.attacker_hours_per_1000_users_year),
                thefts_with_access_ci95: ci(|m| m.thefts_with_access_per_1000_users_year),
                denied_ci95: ci(|m| m.denied_access_share),
                survival: survival_and_censoring(&pooled, exp).0,
                censored_at: survival_and_censoring(&pooled, exp).1,
                replicates,
                pareto: None,
            }
        })
        .collect();
    let decision = crate::output::compare::decide(exp, &out);
    for (s, p) in out.iter_mut().zip(decision.pareto) {
        s.pareto = p;
    }
    out
}

/// `a` dominates `b`: no worse on both axes and better on one (fewer prompts, less exposure).
pub fn dominates(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.0 && a.1 <= b.1 && (a.0 < b.0 || a.1 < b.1)
}

fn csv_text(header: Vec<String>, rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error().into())
}

fn header(keys: &[&str]) -> Vec<String> {
    keys.iter()
        .chain(METRIC_COLUMNS)
        .map(|s| s.to_string())
        .collect()
}

/// The metrics `summary.csv` gives a 95% interval for, each beside its `_ci95` column.
fn summary_ci(s: &DesignSummary, column: &str) -> Option<Option<f64>> {
    Some(match column {
        "prompts_per_user_day" => s.prompts_ci95,
        "mfa_prompts_per_user_day" => s.mfa_ci95,
        "thefts_with_access_per_1000_users_year" => s.thefts_with_access_ci95,
        "exposure_hours_mean" => s.exposure_ci95,
        "attacker_hours_per_1000_users_year" => s.attacker_hours_ci95,
        "denied_access_share" => s.denied_ci95,
        _ => return None,
    })
}

/// The columns of `summary.csv`, in order: the keys, `pareto`, then every metric of
/// [`METRIC_COLUMNS`] with its `_ci95` right after it where it has one (docs/formats.md
/// lists them).
pub fn summary_columns() -> Vec<String> {
    let probe = DesignSummary::default();
    let mut head: Vec<String> = ["design", "users", "days", "replicates", "pareto"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in METRIC_COLUMNS {
        head.push(c.to_string());
        if summary_ci(&probe, c).is_some() {
            head.push(format!("{c}_ci95"));
        }
    }
    head
}

/// Simulated users per replicate: the one meaning of `users` in every table (a shard's
/// own users, not the experiment's).
fn users_per_replicate(users: u64, replicates: usize) -> String {
    if replicates == 0 {
        return users.to_string();
    }
    let r = replicates as u64;
    if users.is_multiple_of(r) {
        (users / r).to_string()
    } else {
        format!("{:.1}", users as f64 / r as f64)
    }
}

/// `summary.csv`: one row per design, pooled over replicates ([`summary_columns`]).
pub fn summary_csv(exp: &Experiment, summaries: &[DesignSummary]) -> Result<Vec<u8>, csv::Error> {
    let rows = summaries
        .iter()
        .map(|s| {
            let m = &s.pooled;
            let values = metric_values(m);
            let mut row = vec![
                s.name.clone(),
                users_per_replicate(m.users, s.replicates.len()),
                exp.days.to_string(),
                s.replicates.len().to_string(),
                s.pareto.map_or(String::new(), |p| p.to_string()),
            ];
            for (c, v) in METRIC_COLUMNS.iter().zip(values) {
                row.push(v);
                if let Some(ci) = summary_ci(s, c) {
                    row.push(num(ci));
                }
            }
            row
        })
        .collect();
    csv_text(summary_columns(), rows)
}

/// `replicates.csv`: one row per design × replicate.
pub fn replicates_csv(
    exp: &Experiment,
    summaries: &[DesignSummary],
) -> Result<Vec<u8>, csv::Error> {
    let rows = summaries
        .iter()
        .flat_map(|s| {
            s.replicates.iter().enumerate().map(move |(r, m)| {
                let mut row = vec![
                    s.name.clone(),
                    r.to_string(),
                    replicate_seed(exp.seed, r as u32).to_string(),
                    m.users.to_string(),
                    exp.days.to_string(),
                ];
                row.extend(metric_values(m));
                row
            })
        })
        .collect();
    csv_text(
        header(&["design", "replicate", "seed", "users", "days"]),
        rows,
    )
}

/// `breakdown.csv`: pooled over replicates, per design × device type × persona.
pub fn breakdown_csv(exp: &Experiment, result: &RunResult) -> Result<Vec<u8>, csv::Error> {
    let personas = exp.population.personas.len();
    let mut rows = Vec::new();
    for (di, (d, reps)) in exp.designs.iter().zip(&result.cells).enumerate() {
        let shadow = shadow_cells(result, di);
        for device in DeviceTrust::ALL {
            for (pi, persona) in exp.population.personas.iter().enumerate() {
                let group = |cells: &[Cell]| {
                    let mut g = Group::default();
                    for c in cells {
                        if let Some(x) = c.groups.get(device.index() * personas + pi) {
                            g.merge(x);
                        }
                    }
                    g
                };
                let g = group(reps);
                if g.users == 0 {
                    continue;
                }
                let s = shadow.map(group);
                let m = Metrics::of(&g, exp).with_report_only(s.as_ref());
                let mut row = vec![
                    d.name.clone(),
                    device.name().to_string(),
                    persona.name.clone(),
                    users_per_replicate(m.users, reps.len()),
                ];
                row.extend(metric_values(&m));
                rows.push(row);
            }
        }
    }
    csv_text(header(&["design", "device", "persona", "users"]), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_dominance_is_weak_on_one_axis_and_strict_on_another() {
        assert!(dominates((1.0, 1.0), (2.0, 2.0)));
        assert!(dominates((1.0, 2.0), (1.0, 3.0)));
        assert!(!dominates((1.0, 1.0), (1.0, 1.0)));
        assert!(!dominates((1.0, 3.0), (2.0, 2.0)));
    }

    #[test]
    fn confidence_interval_uses_student_t() {
        assert_eq!(ci95(&[1.0]), None);
        let ci = ci95(&[1.0, 2.0, 3.0]).unwrap();
        // sd = 1, n = 3, t(2) = 4.303
        assert!((ci - 4.303 / 3f64.sqrt()).abs() < 1e-9);
    }
}
