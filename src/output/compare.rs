//! Decisions with stated confidence (MODEL.md §9): designs share random numbers, so they
//! are compared by paired differences with 95% intervals; a design is dominated only when
//! another is significantly better on one axis and not significantly worse on the other;
//! designs that deny more access than the budget are neither on the frontier nor
//! recommended. `comparisons.csv`, the `pareto` column, `report.md` and `frontier.svg` all
//! read the one [`Decision`] made here.
//!
//! Owns: the reference design, significance, dominance, the frontier, the recommendation
//! and the differences that decide them (which `--precision` drives). May not simulate.

use crate::output::tables::{num, t95, DesignSummary, Metrics};
use crate::study::experiment::Experiment;

/// A metric compared between designs: its column name, a short label for prose, and how to
/// read it.
#[derive(Copy, Clone)]
pub struct Compared {
    pub column: &'static str,
    pub label: &'static str,
    pub get: fn(&Metrics) -> Option<f64>,
}

/// The metrics of `comparisons.csv`, in its row order.
pub const COMPARED: [Compared; 5] = [
    Compared {
        column: "prompts_per_user_day",
        label: "prompts per user-day",
        get: |m| m.prompts_per_user_day,
    },
    Compared {
        column: "mfa_prompts_per_user_day",
        label: "MFA prompts per user-day",
        get: |m| m.mfa_prompts_per_user_day,
    },
    Compared {
        column: "attacker_hours_per_1000_users_year",
        label: "attacker-hours per 1,000 users-year",
        get: |m| m.attacker_hours_per_1000_users_year,
    },
    Compared {
        column: "thefts_with_access_per_1000_users_year",
        label: "thefts that worked per 1,000 users-year",
        get: |m| m.thefts_with_access_per_1000_users_year,
    },
    Compared {
        column: "denied_access_share",
        label: "share of accesses denied",
        get: |m| m.denied_access_share,
    },
];

/// The fatigue axis of the trade-off.
pub const PROMPTS: Compared = COMPARED[0];
/// The exposure axis of the trade-off.
pub const EXPOSURE: Compared = COMPARED[2];

/// A paired difference `a − b` of one metric: the difference of the pooled values (what
/// `summary.csv` shows), and the 95% half-width from the replicates' paired differences
/// (every design saw the same users, work and attacks in a replicate). `ci95` is `None`
/// with a single replicate.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Paired {
    pub difference: f64,
    pub ci95: Option<f64>,
    /// The larger of the two designs' values (absolute): what a precision target is
    /// relative to.
    pub scale: f64,
}

impl Paired {
    /// -1 when `a` is significantly lower, +1 significantly higher, 0 when the interval
    /// holds zero. Without an interval (one replicate), the point estimates decide.
    pub fn sign(&self) -> i8 {
        let bound = self.ci95.unwrap_or(0.0);
        if self.difference > bound {
            1
        } else if self.difference < -bound {
            -1
        } else {
            0
        }
    }

    /// The half-width as a share of the larger of the two values (0 when both are 0).
    pub fn relative_half_width(&self) -> Option<f64> {
        let ci = self.ci95?;
        if self.scale > 0.0 {
            Some(ci / self.scale)
        } else {
            Some(if ci > 0.0 { f64::INFINITY } else { 0.0 })
        }
    }
}

/// The paired difference `a − b` of one metric, or `None` when either design lacks it.
pub fn paired(a: &DesignSummary, b: &DesignSummary, metric: Compared) -> Option<Paired> {
    let (pa, pb) = ((metric.get)(&a.pooled)?, (metric.get)(&b.pooled)?);
    let diffs: Option<Vec<f64>> = a
        .replicates
        .iter()
        .zip(&b.replicates)
        .map(|(x, y)| Some((metric.get)(x)? - (metric.get)(y)?))
        .collect();
    let ci95 = diffs.and_then(|d| {
        let n = d.len();
        (n >= 2 && n == a.replicates.len() && n == b.replicates.len()).then(|| {
            let mean = d.iter().sum::<f64>() / n as f64;
            let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t95(n as u64 - 1) * (var / n as f64).sqrt()
        })
    });
    Some(Paired {
        difference: pa - pb,
        ci95,
        scale: pa.abs().max(pb.abs()),
    })
}

/// Why the reference design is the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceWhy {
    /// `reference = "NAME"` in the experiment.
    Named,
    /// The design named `current`.
    Current,
    /// The first design listed.
    First,
}

/// The decision a run's results support, made once and read by every output.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub reference: usize,
    pub reference_why: ReferenceWhy,
    /// Designs over the denied-access budget: never on the frontier, never recommended.
    pub over_denied_budget: Vec<bool>,
    /// Per design: on the frontier (`Some(true)`), dominated or over the denied budget
    /// (`Some(false)`), no point (`None`).
    pub pareto: Vec<Option<bool>>,
    /// For each design off the frontier (and within the denied budget), a design that
    /// dominates it: the one with the fewest prompts among those that do.
    pub dominated_by: Vec<Option<usize>>,
    /// Frontier designs, by prompts.
    pub frontier: Vec<usize>,
    /// The design with the least exposure among the frontier designs within the prompt
    /// budget (or, when none is, among the eligible designs within it).
    pub recommended: Option<usize>,
    /// Eligible designs within the prompt budget whose exposure the recommendation does
    /// not beat significantly: the recommendation is indistinguishable from them at this
    /// precision.
    pub ties: Vec<usize>,
    /// Designs within the prompt budget (`prompt_budget`).
    pub within_budget: Vec<bool>,
    /// Whether the run had intervals (two replicates or more): without them, points decide.
    pub intervals: bool,
}

/// The reference design of `exp`: its `reference`, else the design named `current`, else
/// the first.
pub fn reference(exp: &Experiment) -> (usize, ReferenceWhy) {
    if let Some(name) = &exp.reference {
        if let Some(i) = exp.designs.iter().position(|d| &d.name == name) {
            return (i, ReferenceWhy::Named);
        }
    }
    match exp.designs.iter().position(|d| d.name == "current") {
        Some(i) => (i, ReferenceWhy::Current),
        None => (0, ReferenceWhy::First),
    }
}

/// Whether `b` dominates `a` with paired intervals: significantly better on one axis and
/// not significantly worse on the other.
pub fn dominates_paired(b: &DesignSummary, a: &DesignSummary) -> bool {
    let (Some(p), Some(e)) = (paired(b, a, PROMPTS), paired(b, a, EXPOSURE)) else {
        return false;
    };
    let (sp, se) = (p.sign(), e.sign());
    (sp < 0 && se <= 0) || (se < 0 && sp <= 0)
}

fn over_budget(s: &DesignSummary, denied_budget: f64) -> bool {
    s.pooled
        .denied_access_share
        .is_some_and(|x| x > denied_budget)
}

fn by_point(summaries: &[DesignSummary], ids: &mut [usize]) {
    ids.sort_by(|a, b| {
        let key = |i: &usize| summaries[*i].point().unwrap_or((0.0, 0.0));
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(b))
    });
}

/// Makes the decision for a run's summaries.
pub fn decide(exp: &Experiment, summaries: &[DesignSummary]) -> Decision {
    let n = summaries.len();
    let (reference, reference_why) = match reference(exp) {
        // Summaries that are not the experiment's designs (made by hand) fall back on the
        // first rather than pointing past the end.
        (i, _) if i >= n => (0, ReferenceWhy::First),
        r => r,
    };
    let over: Vec<bool> = summaries
        .iter()
        .map(|s| over_budget(s, exp.denied_budget))
        .collect();
    let eligible: Vec<usize> = (0..n)
        .filter(|i| !over[*i] && summaries[*i].point().is_some())
        .collect();
    let mut dominated_by = vec![None; n];
    for &a in &eligible {
        let mut doms: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&b| b != a && dominates_paired(&summaries[b], &summaries[a]))
            .collect();
        by_point(summaries, &mut doms);
        dominated_by[a] = doms.first().copied();
    }
    let mut frontier: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|i| dominated_by[*i].is_none())
        .collect();
    // Paired dominance need not be transitive: should every design be dominated (a
    // cycle), the points decide.
    if frontier.is_empty() && !eligible.is_empty() {
        frontier = eligible
            .iter()
            .copied()
            .filter(|&a| {
                let pa = summaries[a].point();
                !eligible.iter().any(|&b| {
                    matches!((summaries[b].point(), pa), (Some(q), Some(p)) if crate::output::dominates(q, p))
                })
            })
            .collect();
        for &i in &frontier {
            dominated_by[i] = None;
        }
    }
    by_point(summaries, &mut frontier);
    let pareto: Vec<Option<bool>> = (0..n)
        .map(|i| summaries[i].point().map(|_| frontier.contains(&i)))
        .collect();
    let within = |i: &usize| {
        summaries[*i]
            .point()
            .is_some_and(|(x, _)| x <= exp.prompt_budget)
    };
    let least_exposure = |ids: &mut dyn Iterator<Item = usize>| {
        ids.min_by(|a, b| {
            let y = |i: usize| summaries[i].point().map_or(f64::INFINITY, |p| p.1);
            y(*a)
                .partial_cmp(&y(*b))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(b))
        })
    };
    let recommended = least_exposure(&mut frontier.iter().copied().filter(within))
        .or_else(|| least_exposure(&mut eligible.iter().copied().filter(within)));
    let ties = match recommended {
        Some(r) => eligible
            .iter()
            .copied()
            .filter(within)
            .filter(|&i| i != r)
            .filter(|&i| {
                paired(&summaries[r], &summaries[i], EXPOSURE).is_some_and(|d| d.sign() == 0)
            })
            .collect(),
        None => Vec::new(),
    };
    Decision {
        reference,
        reference_why,
        over_denied_budget: over,
        pareto,
        dominated_by,
        frontier,
        recommended,
        ties,
        within_budget: (0..n).map(|i| within(&i)).collect(),
        intervals: summaries.iter().all(|s| s.replicates.len() >= 2),
    }
}

/// A pair of designs compared in `comparisons.csv`: `design − versus`.
pub type Pair = (usize, usize);

/// The pairs of `comparisons.csv`: every design against the reference, then each frontier
/// design against its frontier neighbour with fewer prompts (unless that pair is there
/// already).
pub fn compared_pairs(d: &Decision, designs: usize) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = (0..designs)
        .filter(|i| *i != d.reference)
        .map(|i| (i, d.reference))
        .collect();
    for w in d.frontier.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let known = pairs
            .iter()
            .any(|&(a, b)| (a, b) == (hi, lo) || (a, b) == (lo, hi));
        if !known {
            pairs.push((hi, lo));
        }
    }
    pairs
}

/// The paired differences that decide the frontier and the recommendation, with the
/// metric each is on: frontier neighbours (both axes), each dominated design against its
/// dominator (both axes), the recommendation against the reference (both axes) and
/// against every other frontier design within the prompt budget (exposure).
pub fn deciding_pairs(d: &Decision) -> Vec<(Pair, Compared)> {
    let mut out: Vec<(Pair, Compared)> = Vec::new();
    let mut add = |p: Pair, m: Compared| {
        if p.0 != p.1
            && !out
                .iter()
                .any(|(q, c)| c.column == m.column && (*q == p || *q == (p.1, p.0)))
        {
            out.push((p, m));
        }
    };
    for w in d.frontier.windows(2) {
        add((w[1], w[0]), PROMPTS);
        add((w[1], w[0]), EXPOSURE);
    }
    for (a, b) in d.dominated_by.iter().enumerate() {
        if let Some(b) = b {
            add((a, *b), PROMPTS);
            add((a, *b), EXPOSURE);
        }
    }
    if let Some(r) = d.recommended {
        add((r, d.reference), PROMPTS);
        add((r, d.reference), EXPOSURE);
        for &f in &d.frontier {
            if d.within_budget[f] {
                add((r, f), EXPOSURE);
            }
        }
    }
    out
}

/// How far the deciding differences are from a precision target: the largest relative
/// half-width among them (`None` when there is no deciding difference or no interval).
pub fn worst_relative_half_width(d: &Decision, summaries: &[DesignSummary]) -> Option<f64> {
    deciding_pairs(d)
        .into_iter()
        .filter_map(|((a, b), m)| paired(&summaries[a], &summaries[b], m))
        .map(|p| p.relative_half_width().unwrap_or(f64::INFINITY))
        .fold(None, |acc: Option<f64>, x| {
            Some(acc.map_or(x, |a| a.max(x)))
        })
}

/// `comparisons.csv`: `design,versus,metric,difference,difference_ci95,significant`, one
/// row per compared pair ([`compared_pairs`]) and metric ([`COMPARED`]).
pub fn comparisons_csv(d: &Decision, summaries: &[DesignSummary]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "design",
        "versus",
        "metric",
        "difference",
        "difference_ci95",
        "significant",
    ])?;
    for (a, b) in compared_pairs(d, summaries.len()) {
        for m in COMPARED {
            let p = paired(&summaries[a], &summaries[b], m);
            w.write_record([
                summaries[a].name.as_str(),
                summaries[b].name.as_str(),
                m.column,
                &num(p.map(|p| p.difference)),
                &num(p.and_then(|p| p.ci95)),
                &p.filter(|p| p.ci95.is_some())
                    .map_or(String::new(), |p| (p.sign() != 0).to_string()),
            ])?;
        }
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error().into())
}

/// What a precision target (`--precision`, `precision`) reached.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionOutcome {
    /// The target: a share of the larger of the two designs' values.
    pub target: f64,
    /// The widest deciding half-width reached, as that share (`None`: nothing to decide).
    pub reached: Option<f64>,
    pub replicates: u32,
    pub max_replicates: u32,
    /// Replicates after each batch, in order.
    pub batches: Vec<u32>,
}

impl PrecisionOutcome {
    /// Whether every deciding difference is within the target.
    pub fn met(&self) -> bool {
        self.reached.is_none_or(|w| w <= self.target)
    }

    /// The report's sentence.
    pub fn sentence(&self) -> String {
        let pct = |x: f64| {
            if !x.is_finite() {
                "∞".to_string()
            } else if x * 100.0 >= 10.0 {
                format!("{:.0}%", x * 100.0)
            } else {
                format!("{:.1}%", x * 100.0)
            }
        };
        let batches: Vec<String> = self.batches.iter().map(|b| b.to_string()).collect();
        match self.reached {
            None => format!(
                "target ±{} of the larger value: no difference decides the frontier or the recommendation, so {} replicates were enough.",
                pct(self.target),
                self.replicates
            ),
            Some(w) if w <= self.target => format!(
                "target ±{} reached: every difference that decides the frontier or the recommendation has a 95% half-width within ±{} of the larger of the two designs' values, with {} replicates (batches ending at {}).",
                pct(self.target),
                pct(w),
                self.replicates,
                batches.join(", ")
            ),
            Some(w) => format!(
                "target ±{} **not reached**: `max_replicates` ({}) stopped the run with the widest deciding half-width at ±{} of the larger value (batches ending at {}); raise `max_replicates` or accept this precision.",
                pct(self.target),
                self.max_replicates,
                pct(w),
                batches.join(", ")
            ),
        }
    }
}
