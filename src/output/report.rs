//! `report.md`: the decision first (the recommended design, its paired advantage over the
//! reference with an interval, its robustness to the model's assumptions, the precision
//! reached), then what each design is, the designs set apart for denying access, the
//! frontier with paired differences, each design against the reference, the attack
//! mechanisms, and what to read with care. Every judgement comes from
//! [`crate::output::compare::Decision`].

use std::fmt::Write as _;

use crate::model::Mechanism;
use crate::output::compare::{self, Decision, Paired, ReferenceWhy, EXPOSURE, PROMPTS};
use crate::output::{t95, DesignSummary, Metrics};
use crate::study::experiment::{Design, Experiment};
use crate::world::threat::Mode;

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.decimals$}"))
}

/// A share as a percentage with at most two decimals: `92%`, `1.5%`, `0.25%`.
fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p > 0.0 && p < 0.005 {
        return "< 0.01%".into();
    }
    let t = format!("{p:.2}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    format!("{t}%")
}

fn pct_or_na(v: Option<f64>) -> String {
    v.map_or("n/a".into(), pct)
}

/// Mean and 95% CI half-width of paired per-replicate differences (design − baseline).
/// Every design sees the same simulated users in a replicate, so differences are paired.
pub fn paired_difference(
    design: &[Metrics],
    baseline: &[Metrics],
    f: fn(&Metrics) -> Option<f64>,
) -> Option<(f64, Option<f64>)> {
    let diffs: Option<Vec<f64>> = design
        .iter()
        .zip(baseline)
        .map(|(a, b)| Some(f(a)? - f(b)?))
        .collect();
    let diffs = diffs?;
    if diffs.is_empty() {
        return None;
    }
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let ci = (diffs.len() > 1).then(|| {
        let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
        t95(diffs.len() as u64 - 1) * (var / n).sqrt()
    });
    Some((mean, ci))
}

/// Whether a design denies more of its users' own accesses than `denied_budget` allows
/// (a share, 0.01 = 1%): its few prompts are refused access, not convenience, so it is
/// never recommended. A design with no access at all denies nothing.
pub fn denies_too_much(s: &DesignSummary, denied_budget: f64) -> bool {
    s.pooled
        .denied_access_share
        .is_some_and(|x| x > denied_budget)
}

/// Designs within the prompt budget that [`denies_too_much`] rules out, in design order.
pub fn denied_over_budget(
    summaries: &[DesignSummary],
    budget: f64,
    denied_budget: f64,
) -> Vec<&DesignSummary> {
    summaries
        .iter()
        .filter(|s| s.point().is_some_and(|(x, _)| x <= budget))
        .filter(|s| denies_too_much(s, denied_budget))
        .collect()
}

/// The design with the least exposure among those within the prompt budget that deny at
/// most `denied_budget` of their users' accesses.
pub fn best_under_budget(
    summaries: &[DesignSummary],
    budget: f64,
    denied_budget: f64,
) -> Option<&DesignSummary> {
    summaries
        .iter()
        .filter(|s| !denies_too_much(s, denied_budget))
        .filter_map(|s| s.point().map(|p| (s, p)))
        .filter(|(_, (x, _))| *x <= budget)
        .min_by(|a, b| {
            a.1 .1
                .partial_cmp(&b.1 .1)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(s, _)| s)
}

/// What each design's report-only policies would do if enforced: the design simulated
/// again with them on, same users, same work, same attacks. Nothing when no design has
/// report-only policies.
fn report_only_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary]) {
    let rows: Vec<(&Design, &DesignSummary)> = exp
        .designs
        .iter()
        .zip(summaries)
        .filter(|(d, _)| d.report_only_count() > 0)
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(r, "## What the report-only policies would do\n");
    let _ = writeln!(r, "Report-only policies (`enabledForReportingButNotEnforced`) change nothing for users, so the numbers above leave them out. Each design that has some was simulated again with them enforced, with the same users doing the same work (`reportonly_*` columns):\n");
    let _ = writeln!(r, "| design | report-only policies | prompts per user-day | with them enforced | accesses denied | with them enforced |");
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for (d, s) in &rows {
        let m = &s.pooled;
        let _ = writeln!(
            r,
            "| {} | {} of {} | {} | {} | {} | {} |",
            s.name,
            d.report_only_count(),
            d.policies.len(),
            fmt(m.prompts_per_user_day, 2),
            fmt(m.reportonly_prompts_per_user_day, 2),
            pct_or_na(m.denied_access_share),
            pct_or_na(m.reportonly_denied_share),
        );
    }
    let _ = writeln!(r);
    // Enforcing them would deny more than the budget allows: say which would deny, and
    // why, before anyone switches them on.
    for (design, s) in rows {
        let m = &s.pooled;
        if m.reportonly_denied_share.unwrap_or(0.0) <= exp.denied_budget {
            continue;
        }
        let deniers = crate::output::denials::report_only_deniers(exp, design);
        if deniers.is_empty() {
            continue;
        }
        let _ = writeln!(
            r,
            "Enforced, the report-only policies of **{}** would deny {} of accesses. Which would deny (estimated as for the designs that deny too much, each policy alone):
",
            s.name,
            pct_or_na(m.reportonly_denied_share)
        );
        denier_lines(r, exp, &deniers, "- ", "would deny");
        let _ = writeln!(r);
    }
}

/// The four largest deniers, a line each: the policy, its share of the denials, and why.
fn denier_lines(
    r: &mut String,
    exp: &Experiment,
    deniers: &[crate::output::denials::Denier],
    bullet: &str,
    verb: &str,
) {
    for dn in deniers.iter().take(4) {
        let _ = writeln!(
            r,
            "{bullet}`{}` {verb} {} of them: {}.",
            dn.policy,
            pct(dn.share),
            crate::output::denials::explain(dn, exp)
        );
    }
}

fn mechanism_label(m: Mechanism) -> &'static str {
    match m {
        Mechanism::Aitm => "AiTM phishing",
        Mechanism::Infostealer => "infostealers",
        Mechanism::PushBombing => "push bombing",
        Mechanism::DeviceCompromise => "device compromise",
        Mechanism::DeviceCode => "device-code phishing",
        Mechanism::Injected => "injected thefts",
    }
}

/// `report.md`.
/// One sentence on how the users start (docs/model.md, "Steady state").
pub fn how_the_study_starts(exp: &Experiment) -> String {
    let warmup = match exp.warmup_days {
        0 => "no warm-up".to_string(),
        1 => "a warm-up of 1 day before day 0 (simulated, not counted)".to_string(),
        d => format!("a warm-up of {d} days before day 0 (simulated, not counted)"),
    };
    if exp.steady_start {
        format!(
            "The study starts in a steady state, as a tenant in operation: each user's first access through a session (browser cookie, broker, app) finds the session the user has held since before the study, authenticated a uniformly random share of its renewal interval ago, and {warmup} settles the rest (PRT renewals, browser restarts, prompts seen so far). So the numbers do not depend on the study's length (`start = \"steady\"`; docs/model.md, \"Steady state\")."
        )
    } else {
        format!(
            "The study starts cold (`start = \"cold\"`), as a new tenant: nobody holds a session, so the first days are full of first sign-ins, which count as prompts; {warmup}."
        )
    }
}

/// What a run adds to its report beyond the summaries: whether it is a shard, the
/// precision it reached, and the robustness the `sensitivity` command found.
#[derive(Clone, Debug, Default)]
pub struct ReportContext {
    pub shard: Option<(u32, u32)>,
    pub precision: Option<compare::PrecisionOutcome>,
    pub robustness: Option<Robustness>,
}

/// The findings of `sessionsim sensitivity`, for the report: the sentence a reader can act
/// on, and one line per assumption.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Robustness {
    /// "Robust to N of M assumptions; ...".
    pub headline: String,
    pub lines: Vec<String>,
}

/// A value with its 95% half-width: `1.42 ± 0.07`, with more decimals (up to 4) when the
/// half-width would read as zero.
fn pm(v: Option<f64>, ci: Option<f64>, decimals: usize) -> String {
    match (v, ci) {
        (Some(v), Some(ci)) => {
            let mut decimals = decimals;
            while decimals < 4 && ci > 0.0 && ci < 0.5 * 10f64.powi(-(decimals as i32)) {
                decimals += 1;
            }
            format!("{v:.decimals$} ± {ci:.decimals$}")
        }
        (Some(v), None) => format!("{v:.decimals$}"),
        _ => "n/a".into(),
    }
}

/// A paired difference: `+16.2 ± 1.2`, with `°` when its interval holds zero.
fn diff(p: Option<Paired>, decimals: usize) -> String {
    match p {
        Some(p) => {
            let mark = if p.ci95.is_some() && p.sign() == 0 {
                "°"
            } else {
                ""
            };
            let decimals = enough_decimals(p, decimals);
            match p.ci95 {
                Some(ci) => format!("{:+.decimals$} ± {ci:.decimals$}{mark}", p.difference),
                None => format!("{:+.decimals$}", p.difference),
            }
        }
        None => "n/a".into(),
    }
}

/// At least `base` decimals, and up to 4 so that a small difference or interval shows two
/// significant digits (`+0.0043 ± 0.0021`, not `+0.00 ± 0.00`).
fn enough_decimals(p: Paired, base: usize) -> usize {
    let smallest = [Some(p.difference), p.ci95]
        .into_iter()
        .flatten()
        .map(f64::abs)
        .filter(|x| *x > 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut d = base;
    // Two significant digits of the smaller of the difference and its half-width.
    while d < 4 && smallest.is_finite() && smallest < 10f64.powi(1 - d as i32) {
        d += 1;
    }
    d
}

/// Decimals that show a metric's differences.
fn decimals(column: &str) -> usize {
    match column {
        "attacker_hours_per_1000_users_year" => 1,
        "denied_access_share" => 4,
        _ => 2,
    }
}

/// A paired change in words: `5.46 ± 0.23 fewer prompts per user-day (significant)`.
fn change(p: Option<Paired>, unit: &str, decimals: usize) -> String {
    let Some(p) = p else {
        return format!("no comparable {unit}");
    };
    let dir = if p.difference < 0.0 { "fewer" } else { "more" };
    let size = p.difference.abs();
    let decimals = enough_decimals(p, decimals);
    match p.ci95 {
        Some(ci) if p.sign() == 0 => format!(
            "{dir} {unit} by {size:.decimals$} ± {ci:.decimals$}, indistinguishable at this precision"
        ),
        Some(ci) => format!("{size:.decimals$} ± {ci:.decimals$} {dir} {unit}"),
        None => format!("{size:.decimals$} {dir} {unit} (one replicate: no interval)"),
    }
}

/// A ratio with two significant figures: `51`, `2.3`, `0.41`.
fn trim_float(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn reference_why(d: &Decision) -> &'static str {
    match d.reference_why {
        ReferenceWhy::Named => "named by `reference` in the experiment",
        ReferenceWhy::Current => "the design named `current`",
        ReferenceWhy::First => {
            "the first design listed; set `reference = \"NAME\"` in the experiment to compare with another"
        }
    }
}

/// Mean hours per theft, marked as a lower bound when some thefts were censored.
fn hours_per_theft(m: &Metrics) -> String {
    match m.exposure_hours_mean {
        Some(h) if m.censored_thefts > 0 => format!("≥ {h:.1}"),
        Some(h) => format!("{h:.1}"),
        None => "n/a".into(),
    }
}

/// `report.md` of a full run, with nothing beyond the summaries.
pub fn report_md(exp: &Experiment, summaries: &[DesignSummary]) -> String {
    report_with(exp, summaries, &ReportContext::default())
}

/// `report.md`.
pub fn report_with(exp: &Experiment, summaries: &[DesignSummary], cx: &ReportContext) -> String {
    let mut r = String::new();
    let d = compare::decide(exp, summaries);
    let threat = &exp.population.threat;
    let _ = writeln!(r, "# {}: results\n", exp.name);
    if let Some(desc) = &exp.description {
        let _ = writeln!(r, "{desc}\n");
    }
    let replicates = summaries
        .first()
        .map_or(exp.replicates as usize, |s| s.replicates.len());
    let users = summaries
        .first()
        .map_or(exp.users, |s| s.pooled.users / replicates.max(1) as u64);
    if let Some((k, n)) = cx.shard {
        let _ = writeln!(
            r,
            "**This is shard {k} of {n}**: it simulated {users} of the experiment's {} users (those numbered `u` with `u % {n} = {}`). Its numbers describe those users only; `sessionsim merge` of all {n} shards writes the study's results.\n",
            exp.users,
            k - 1
        );
    }
    let _ = writeln!(
        r,
        "{} of the `{}` population over {}, {}, seed {}; {}. \
Fatigue is interactive prompts per user per working day.",
        crate::error::plural(users, "user"),
        exp.population.name,
        crate::error::plural(exp.days as u64, "day"),
        crate::error::plural(replicates as u64, "replicate"),
        exp.seed,
        crate::error::plural(summaries.len() as u64, "design")
    );
    let _ = writeln!(r, "{}\n", how_the_study_starts(exp));
    let _ = match threat.mode {
        Mode::Rates => writeln!(
            r,
            "Exposure is the expected hours of attacker access per 1,000 users per year: thefts \
happen through AiTM phishing, infostealers, push bombing, device compromise and device-code \
phishing at the rates of the population's threat model, succeed or fail against each design, \
and each theft lasts until the design, a detection or an expiry ends it. Designs share random \
numbers (the same users, work and attacks in a replicate), so they are compared by paired \
differences; `±` is the half-width of a 95% confidence interval over replicates.\n"
        ),
        Mode::Conditional => writeln!(
            r,
            "Exposure is the mean hours an attacker kept working access after one scripted theft \
per user (conditional mode: every design suffers the same thefts), scaled by `thefts_per_user_year` \
to attacker-hours per 1,000 users per year. `±` is the half-width of a 95% confidence interval \
over replicates; designs are compared by paired differences.\n"
        ),
    };
    recommendation(&mut r, exp, summaries, &d, cx);
    designs_section(&mut r, exp, summaries);
    denied_section(&mut r, exp, summaries, &d);
    frontier_section(&mut r, exp, summaries, &d);
    reference_section(&mut r, summaries, &d);
    report_only_section(&mut r, exp, summaries);
    if threat.mode == Mode::Rates {
        mechanisms_section(&mut r, exp, summaries);
    }
    if let Some(rob) = &cx.robustness {
        let _ = writeln!(r, "## Robustness to the model's assumptions\n");
        let _ = writeln!(r, "{}\n", rob.headline);
        for line in &rob.lines {
            let _ = writeln!(r, "- {line}");
        }
        let _ = writeln!(r, "\nEvery value tried is in `sensitivity.csv`; `sensitivity.svg` draws the recommendation's advantage in attacker-hours at each of them, one bar per assumption.\n");
    }
    read_with_care(&mut r, exp, summaries);
    r
}

fn recommendation(
    r: &mut String,
    exp: &Experiment,
    summaries: &[DesignSummary],
    d: &Decision,
    cx: &ReportContext,
) {
    let _ = writeln!(r, "## Recommendation\n");
    let reference = &summaries[d.reference];
    let budget = exp.prompt_budget;
    match d.recommended {
        Some(i) => {
            let s = &summaries[i];
            let _ = writeln!(
                r,
                "**{}**: {} prompts per user-day and {} attacker-hours per 1,000 users-year, the least exposure among the frontier designs within the budget of {budget} {} per user-day (`prompt_budget`) that deny at most {} of their users' accesses (`denied_budget`).\n",
                s.name,
                pm(s.pooled.prompts_per_user_day, s.prompts_ci95, 2),
                pm(s.pooled.attacker_hours_per_1000_users_year, s.attacker_hours_ci95, 1),
                prompt_word(budget),
                pct(exp.denied_budget)
            );
            if i == d.reference {
                let _ = writeln!(
                    r,
                    "It is the reference design itself ({}): no other design within the budgets is better on exposure.\n",
                    reference_why(d)
                );
            } else {
                let e = compare::paired(s, reference, EXPOSURE);
                let p = compare::paired(s, reference, PROMPTS);
                let t = compare::paired(s, reference, compare::COMPARED[3]);
                let ratio = e.and_then(|e| {
                    let v = reference.pooled.attacker_hours_per_1000_users_year?;
                    (v > 0.0).then(|| (e.difference + v) / v)
                });
                let _ = writeln!(
                    r,
                    "Against the reference, **{}** ({}), paired over the same users and attacks, it has {}{}, {}, and {}.\n",
                    reference.name,
                    reference_why(d),
                    change(e, "attacker-hours per 1,000 users-year", 1),
                    ratio.map_or(String::new(), |x| if x >= 2.0 || x <= 0.5 {
                        format!(" (×{})", trim_float(x))
                    } else {
                        format!(" ({:+.0}%)", (x - 1.0) * 100.0)
                    }),
                    change(p, "prompts per user-day", 2),
                    change(t, "thefts that worked per 1,000 users-year", 2),
                );
            }
            // What more prompts would buy: the next frontier design.
            if let Some(pos) = d.frontier.iter().position(|&f| f == i) {
                if let Some(&next) = d.frontier.get(pos + 1) {
                    let n = &summaries[next];
                    let over = if d.within_budget[next] {
                        ""
                    } else {
                        ", over the prompt budget"
                    };
                    let _ = writeln!(
                        r,
                        "What more prompts would buy: the next design on the frontier, **{}**{over}, differs from it by {} prompts per user-day and {} attacker-hours per 1,000 users-year (paired).\n",
                        n.name,
                        diff(compare::paired(n, s, PROMPTS), 2),
                        diff(compare::paired(n, s, EXPOSURE), 1),
                    );
                }
            }
            if !d.ties.is_empty() {
                let ties: Vec<String> = d
                    .ties
                    .iter()
                    .map(|&j| {
                        format!(
                            "{} ({} attacker-hours, {} prompts per user-day)",
                            summaries[j].name,
                            diff(compare::paired(&summaries[j], s, EXPOSURE), 1),
                            diff(compare::paired(&summaries[j], s, PROMPTS), 2)
                        )
                    })
                    .collect();
                let _ = writeln!(
                    r,
                    "Its exposure is **indistinguishable at this precision** from that of {} (differences from {}; their intervals hold zero). More replicates (`--precision 5%`) would tell them apart; until then, choose among them on prompts.\n",
                    ties.join("; "),
                    s.name
                );
            }
        }
        None => {
            let within = (0..summaries.len()).any(|j| d.within_budget[j]);
            if within {
                let _ = writeln!(r, "No design is recommended: every design within {budget} {} per user-day denies more than {} of its users' accesses (`denied_budget`; see \"Designs that deny too much access\"). Set `prompt_budget` or `denied_budget` in the experiment to ask for other budgets.\n", prompt_word(budget), pct(exp.denied_budget));
            } else {
                let _ = writeln!(r, "No design is recommended: none stays within {budget} {} per user-day. Set `prompt_budget` in the experiment to ask for another budget.\n", prompt_word(budget));
            }
        }
    }
    match &cx.robustness {
        Some(rob) => {
            let _ = writeln!(r, "**Robustness**: {} (details below).\n", rob.headline);
        }
        None => {
            let _ = writeln!(r, "**Robustness** to the model's assumptions was not assessed in this run: `sessionsim sensitivity {}` varies each assumed parameter across its documented range and says which could overturn the recommendation.\n", exp.path.display());
        }
    }
    let worst = compare::worst_relative_half_width(d, summaries);
    match (&cx.precision, worst) {
        (Some(p), _) => {
            let _ = writeln!(r, "**Precision**: {}\n", p.sentence());
        }
        (None, Some(w)) if d.intervals => {
            let _ = writeln!(r, "**Precision**: the widest 95% interval of a difference that decides the frontier or the recommendation is ±{} of the larger of the two designs' values, with {} replicates. `run --precision 5%` adds replicates until every such interval is within ±5%.\n", pct_round(w), summaries.first().map_or(0, |s| s.replicates.len()));
        }
        _ if !d.intervals => {
            let _ = writeln!(r, "**Precision**: one replicate gives no interval, so the frontier and the recommendation compare point estimates; run two replicates or more (or `--precision 5%`) for decisions with stated confidence.\n");
        }
        _ => {}
    }
}

/// A relative half-width as a whole or one-decimal percentage.
fn pct_round(x: f64) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    let p = x * 100.0;
    if p >= 10.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// What a design is made of, in a few words per part.
struct Contents {
    policies: String,
    session: String,
    tenant: String,
}

fn contents(exp: &Experiment, d: &Design) -> Contents {
    let file = d.policies_path.as_ref().map(|p| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let own = d
        .policies
        .policies
        .iter()
        .filter(|p| p.id != "shorthand" && p.id != "sweep")
        .count();
    let policies = match file {
        Some(f) => format!(
            "`{f}` ({own} {})",
            if own == 1 { "policy" } else { "policies" }
        ),
        None => "none".into(),
    };
    let mut session = Vec::new();
    if let Some(s) = d.sign_in_frequency {
        session.push(format!("sign-in frequency {s}"));
    }
    if let Some(p) = d.persistent_browser {
        session.push(format!("persistent browser {}", p.name()));
    }
    match d.cae_mode {
        crate::policy::CaeMode::Disabled => session.push("CAE disabled".into()),
        crate::policy::CaeMode::StrictLocation => session.push("CAE strict location".into()),
        crate::policy::CaeMode::Default => {}
    }
    if d.token_protection {
        session.push("token protection".into());
    }
    if let Some(m) = d.mfa_mix {
        let parts: Vec<String> = crate::model::MfaMethod::ALL
            .iter()
            .zip(m)
            .filter(|(_, x)| *x > 0.0)
            .map(|(k, x)| format!("{} {}", k.name(), pct(x)))
            .collect();
        session.push(format!("MFA methods: {}", parts.join(", ")));
    }
    if d.tokens != exp.params.realistic_tokens() {
        session.push(format!("access tokens {:?}", d.tokens));
    }
    let t = &d.tenant;
    let tenant = if t.security_defaults {
        "Security Defaults".to_string()
    } else {
        format!(
            "remember MFA {}, \"Stay signed in?\" {}, CAE {}",
            if t.remember_mfa.is_zero() {
                "off".to_string()
            } else {
                t.remember_mfa.to_string()
            },
            if t.kmsi { "shown" } else { "hidden" },
            if t.cae { "on" } else { "off" }
        )
    };
    Contents {
        policies,
        session: if session.is_empty() {
            "—".into()
        } else {
            session.join("; ")
        },
        tenant,
    }
}

/// Each design's contents, once; what all designs share, once.
fn designs_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary]) {
    let _ = writeln!(r, "## The designs\n");
    let all: Vec<Contents> = exp.designs.iter().map(|d| contents(exp, d)).collect();
    let same_policies = all.windows(2).all(|w| w[0].policies == w[1].policies);
    let same_tenant = all.windows(2).all(|w| w[0].tenant == w[1].tenant);
    let mut shared = Vec::new();
    if same_policies && all.len() > 1 {
        shared.push(format!("policies {}", all[0].policies));
    }
    if same_tenant && all.len() > 1 {
        shared.push(format!("tenant: {}", all[0].tenant));
    }
    if !shared.is_empty() {
        let _ = writeln!(
            r,
            "All {} designs share {}. They differ in:\n",
            all.len(),
            shared.join("; ")
        );
    }
    let mut head = vec!["#", "design"];
    if !(same_policies && all.len() > 1) {
        head.push("policies");
    }
    head.push("added for all users and apps");
    if !(same_tenant && all.len() > 1) {
        head.push("tenant");
    }
    let _ = writeln!(r, "| {} |", head.join(" | "));
    let _ = writeln!(r, "|{}", "---|".repeat(head.len()));
    for (i, (c, s)) in all.iter().zip(summaries).enumerate() {
        let mut row = vec![(i + 1).to_string(), s.name.clone()];
        if !(same_policies && all.len() > 1) {
            row.push(c.policies.clone());
        }
        row.push(c.session.clone());
        if !(same_tenant && all.len() > 1) {
            row.push(c.tenant.clone());
        }
        let _ = writeln!(r, "| {} |", row.join(" | "));
    }
    // The policies of each file, once.
    let mut seen: Vec<&std::path::Path> = Vec::new();
    let mut listed = Vec::new();
    for d in &exp.designs {
        let Some(path) = d.policies_path.as_deref() else {
            continue;
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let names: Vec<String> = d
            .policies
            .policies
            .iter()
            .filter(|p| p.id != "shorthand" && p.id != "sweep")
            .map(|p| {
                let state = match p.state {
                    crate::policy::PolicyState::Enabled => "",
                    crate::policy::PolicyState::ReportOnly => " (report-only)",
                    _ => " (disabled)",
                };
                format!("{}{state}", p.display_name)
            })
            .collect();
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        listed.push(format!(
            "- `{file}`: {}",
            if names.is_empty() {
                "no policy".to_string()
            } else {
                names.join("; ")
            }
        ));
        // Results of a design that lost policies are results of another design: say so
        // here, not only on the terminal of the run.
        if !d.policies_left_out.is_empty() {
            listed.push(format!(
                "  - **left out (`--skip-invalid`): {} that failed to load**, so this design is not the folder's whole set:",
                crate::error::plural(d.policies_left_out.len() as u64, "file")
            ));
            for why in &d.policies_left_out {
                listed.push(format!("    - {}", crate::error::clip(why, 300)));
            }
        }
    }
    if !listed.is_empty() {
        let _ = writeln!(r, "\nPolicy files:\n");
        for l in listed {
            let _ = writeln!(r, "{l}");
        }
    }
    let _ = writeln!(r);
}

/// Designs over the denied-access budget, set apart before the frontier, with the
/// policies that deny and why.
fn denied_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary], d: &Decision) {
    let over: Vec<usize> = (0..summaries.len())
        .filter(|i| d.over_denied_budget[*i])
        .collect();
    if over.is_empty() {
        return;
    }
    let _ = writeln!(r, "## Designs that deny too much access\n");
    let _ = writeln!(r, "These designs refuse more than {} of their users' own accesses (`denied_budget`). A refused access costs no prompt and leaves an attacker little to use, so such a design looks good on both axes without being usable: it is kept off the frontier and never recommended. Which of its policies deny (estimated over the population's personas, devices, methods, locations and apps; several policies can deny the same access) and the condition that made each apply:\n", pct(exp.denied_budget));
    for i in over {
        let s = &summaries[i];
        let _ = writeln!(
            r,
            "- **{}** denies {} of accesses.",
            s.name,
            pct_or_na(s.pooled.denied_access_share)
        );
        let deniers = exp
            .designs
            .get(i)
            .map(|design| crate::output::denials::deniers(exp, design).1)
            .unwrap_or_default();
        if deniers.is_empty() {
            let _ = writeln!(r, "  No policy denies on its own: the denials come from responses to detected thefts (disabled accounts or devices) or from policies combined.");
        }
        denier_lines(r, exp, &deniers, "  - ", "denies");
    }
    let _ = writeln!(r);
}

fn frontier_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary], d: &Decision) {
    let _ = writeln!(r, "## The frontier\n");
    if d.frontier.is_empty() {
        let _ = writeln!(r, "No design within the denied-access budget has both a prompt rate and an exposure, so there is no trade-off to show (is the threat model off?).\n");
        return;
    }
    let _ = writeln!(r, "No other design within the denied-access budget beats these on one axis without being significantly worse on the other (paired 95% intervals). By prompts:\n");
    let _ = writeln!(r, "| design | prompts per user-day | attacker-hours per 1,000 users-year | thefts that worked per 1,000 users-year | hours per theft (mean) | thefts cut within 1 h | accesses denied |");
    let _ = writeln!(r, "|---|---|---|---|---|---|---|");
    for &i in &d.frontier {
        let s = &summaries[i];
        let m = &s.pooled;
        let mark = if Some(i) == d.recommended {
            " (recommended)"
        } else {
            ""
        };
        let _ = writeln!(
            r,
            "| {}{mark} | {} | {} | {} | {} | {} | {} |",
            s.name,
            pm(m.prompts_per_user_day, s.prompts_ci95, 2),
            pm(
                m.attacker_hours_per_1000_users_year,
                s.attacker_hours_ci95,
                1
            ),
            pm(
                m.thefts_with_access_per_1000_users_year,
                s.thefts_with_access_ci95,
                2
            ),
            hours_per_theft(m),
            m.contained_1h_share
                .map_or("n/a".into(), |x| format!("{:.0}%", x * 100.0)),
            pct_or_na(m.denied_access_share),
        );
    }
    if d.frontier.len() > 1 {
        let _ = writeln!(
            r,
            "\nEach step along the frontier, paired (the next design minus the previous one):\n"
        );
        for w in d.frontier.windows(2) {
            let (a, b) = (&summaries[w[1]], &summaries[w[0]]);
            let p = compare::paired(a, b, PROMPTS);
            let e = compare::paired(a, b, EXPOSURE);
            let same = [p, e]
                .iter()
                .any(|x| x.is_some_and(|x| x.ci95.is_some() && x.sign() == 0));
            let _ = writeln!(
                r,
                "- {} → {}: prompts {}, attacker-hours {}{}",
                b.name,
                a.name,
                diff(p, 2),
                diff(e, 1),
                if same {
                    " (° indistinguishable at this precision on that axis)"
                } else {
                    ""
                }
            );
        }
    }
    let dominated: Vec<String> = (0..summaries.len())
        .filter_map(|i| d.dominated_by[i].map(|b| (i, b)))
        .map(|(i, b)| {
            format!(
                "{} (by {}: prompts {}, attacker-hours {})",
                summaries[i].name,
                summaries[b].name,
                diff(compare::paired(&summaries[b], &summaries[i], PROMPTS), 2),
                diff(compare::paired(&summaries[b], &summaries[i], EXPOSURE), 1)
            )
        })
        .collect();
    if !dominated.is_empty() {
        let _ = writeln!(r, "\nDominated: another design is significantly better on one axis and not significantly worse on the other (the dominating design minus the dominated one):\n");
        for x in dominated {
            let _ = writeln!(r, "- {x}");
        }
    }
    if !d.intervals {
        let _ = writeln!(
            r,
            "\nWith one replicate there are no intervals: dominance compares point estimates."
        );
    }
    let _ = writeln!(r);
    let _ = exp;
}

fn reference_section(r: &mut String, summaries: &[DesignSummary], d: &Decision) {
    if summaries.len() < 2 {
        return;
    }
    let reference = &summaries[d.reference];
    let _ = writeln!(
        r,
        "## Each design against the reference ({})\n",
        reference.name
    );
    let _ = writeln!(r, "The reference is {}. Paired differences (design minus reference) with 95% intervals; ° marks an interval that holds zero (indistinguishable at this precision). Every pair is in `comparisons.csv`.\n", reference_why(d));
    let head: Vec<&str> = compare::COMPARED.iter().map(|c| c.label).collect();
    let _ = writeln!(r, "| design | {} |", head.join(" | "));
    let _ = writeln!(r, "|---|{}", "---|".repeat(head.len()));
    for (i, s) in summaries.iter().enumerate() {
        if i == d.reference {
            continue;
        }
        let cells: Vec<String> = compare::COMPARED
            .iter()
            .map(|c| {
                let p = compare::paired(s, reference, *c);
                if c.column == "denied_access_share" {
                    return match p {
                        Some(p) if p.difference == 0.0 && p.ci95.is_none_or(|c| c == 0.0) => {
                            "0".into()
                        }
                        Some(p) => {
                            let mark = if p.ci95.is_some() && p.sign() == 0 {
                                "°"
                            } else {
                                ""
                            };
                            let sign = if p.difference >= 0.0 { "+" } else { "−" };
                            let ci = p.ci95.map_or(String::new(), |c| format!(" ± {}", pct(c)));
                            format!("{sign}{}{ci}{mark}", pct(p.difference.abs()))
                        }
                        None => "n/a".into(),
                    };
                }
                diff(p, decimals(c.column))
            })
            .collect();
        let _ = writeln!(r, "| {} | {} |", s.name, cells.join(" | "));
    }
    let _ = writeln!(r);
}

fn mechanism_why(m: Mechanism) -> &'static str {
    match m {
        Mechanism::Aitm => "phishing proxies capture the session of a sign-in the user completes; passkeys and device-based grants stop it, a sign-in frequency only shortens each theft",
        Mechanism::Infostealer => "malware copies cookies and refresh tokens from the user's device; persistent cookies and apps without a broker leave more to take",
        Mechanism::PushBombing => "an attacker with the password gets in where no MFA is asked of its sign-in, or when a push is approved",
        Mechanism::DeviceCompromise => "control of a device yields tokens minted from its PRT, which carry its device claims",
        Mechanism::DeviceCode => "device-code phishing works with any method, phishing-resistant ones included, unless an authentication-flows policy blocks the flow",
        Mechanism::Injected => "one scripted theft per user (conditional mode)",
    }
}

/// The mechanism mix as one table, then one sentence per distinct finding.
fn mechanisms_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary]) {
    let mechanisms = [
        Mechanism::Aitm,
        Mechanism::Infostealer,
        Mechanism::PushBombing,
        Mechanism::DeviceCompromise,
        Mechanism::DeviceCode,
    ];
    let _ = writeln!(r, "## How the designs are attacked\n");
    let _ = writeln!(r, "Expected thefts per 1,000 users-year by mechanism, with their attacker-hours in brackets:\n");
    let _ = writeln!(
        r,
        "| design | {} |",
        mechanisms.map(mechanism_label).join(" | ")
    );
    let _ = writeln!(r, "|---|{}", "---|".repeat(mechanisms.len()));
    for s in summaries {
        let m = &s.pooled;
        let cells: Vec<String> = mechanisms
            .iter()
            .map(|mech| {
                format!(
                    "{} ({})",
                    fmt(m.thefts_by_mechanism_per_1000_users_year[mech.index()], 2),
                    fmt(m.attacker_hours_by_mechanism[mech.index()], 0)
                )
            })
            .collect();
        let _ = writeln!(r, "| {} | {} |", s.name, cells.join(" | "));
    }
    let _ = writeln!(r);
    // Finding 1..: which mechanism brings the most attacker-hours, grouped.
    let share = |s: &DesignSummary, mech: Mechanism| {
        let total = s.pooled.attacker_hours_per_1000_users_year.unwrap_or(0.0);
        let h = s.pooled.attacker_hours_by_mechanism[mech.index()].unwrap_or(0.0);
        (total > 0.0).then(|| h / total)
    };
    let mut findings = Vec::new();
    for mech in mechanisms {
        let top: Vec<(&DesignSummary, f64)> = summaries
            .iter()
            .filter_map(|s| {
                let mine = share(s, mech)?;
                let best = mechanisms
                    .iter()
                    .filter_map(|m| share(s, *m))
                    .fold(0.0, f64::max);
                (mine > 0.0 && mine >= best).then_some((s, mine))
            })
            .collect();
        if top.is_empty() {
            continue;
        }
        let lo = top.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
        let hi = top.iter().map(|x| x.1).fold(0.0, f64::max);
        let range = if (hi - lo) < 0.005 {
            format!("{:.0}%", hi * 100.0)
        } else {
            format!("{:.0}–{:.0}%", lo * 100.0, hi * 100.0)
        };
        let which = if top.len() == summaries.len() {
            format!("all {} designs", summaries.len())
        } else {
            let names: Vec<&str> = top.iter().map(|x| x.0.name.as_str()).collect();
            format!(
                "{} of {} designs ({})",
                top.len(),
                summaries.len(),
                names.join(", ")
            )
        };
        findings.push(format!(
            "{} brings the most attacker-hours in {which}, {range} of them: {}.",
            capitalise(mechanism_label(mech)),
            mechanism_why(mech)
        ));
    }
    // Habituation: AiTM thefts against prompts, across the designs that differ from the
    // one with the most prompts only in the controls added for everyone (the same policy
    // file, tenant and MFA methods), so that prompts are what differs.
    let aitm = Mechanism::Aitm.index();
    let most_prompts = summaries
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.pooled.prompts_per_user_day.map(|p| (i, p)))
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(i, _)| i);
    let alike = |i: usize| {
        let (Some(a), Some(b)) = (
            exp.designs.get(i),
            most_prompts.and_then(|m| exp.designs.get(m)),
        ) else {
            return false;
        };
        a.policies_path == b.policies_path && a.tenant == b.tenant && a.mfa_mix == b.mfa_mix
    };
    let with: Vec<(&DesignSummary, f64, f64)> = summaries
        .iter()
        .enumerate()
        .filter(|(i, _)| alike(*i))
        .map(|(_, s)| s)
        .filter_map(|s| {
            Some((
                s,
                s.pooled.prompts_per_user_day?,
                s.pooled.thefts_by_mechanism_per_1000_users_year[aitm]?,
            ))
        })
        .collect();
    let fewest = with
        .iter()
        .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    let most = with
        .iter()
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    let habituation = exp.population.threat.aitm.habituation;
    if let (Some(lo), Some(hi)) = (fewest, most) {
        if hi.1 > lo.1 && hi.2 > lo.2 * 1.1 && habituation > 0.0 {
            let per = |s: &DesignSummary| {
                let h = s.pooled.attacker_hours_by_mechanism[aitm]?;
                let t = s.pooled.thefts_by_mechanism_per_1000_users_year[aitm]?;
                (t > 0.0).then(|| h / t)
            };
            findings.push(format!(
                "More prompts bring more AiTM thefts: {:.2} per 1,000 users-year under {} ({:.2} prompts per user-day) against {:.2} under {} ({:.2}). This comes from an assumption, habituation (`aitm.habituation` = {habituation}: each prompt per working day makes a user {:.0}% likelier to complete a phished sign-in); with it, a short sign-in frequency raises AiTM thefts and only shortens each one ({} against {} hours per AiTM theft). Guidance that expects short sign-in frequency to reduce phishing assumes no such habituation; `sessionsim sensitivity` shows what changes without it.",
                hi.2,
                hi.0.name,
                hi.1,
                lo.2,
                lo.0.name,
                lo.1,
                habituation * 100.0,
                fmt(per(hi.0), 1),
                fmt(per(lo.0), 1),
            ));
        }
    }
    for f in findings {
        let _ = writeln!(r, "- {f}");
    }
    let _ = writeln!(r);
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn read_with_care(r: &mut String, exp: &Experiment, summaries: &[DesignSummary]) {
    let threat = &exp.population.threat;
    let censored = summaries
        .iter()
        .filter_map(|s| s.pooled.censored_share.map(|c| (c, s)))
        .fold(None, |acc: Option<(f64, &DesignSummary)>, x| match acc {
            Some(a) if a.0 >= x.0 => Some(a),
            _ => Some(x),
        });
    let _ = writeln!(r, "## Read with care\n");
    if let Some((c, s)) = censored.filter(|(c, _)| *c > 0.0) {
        let _ = writeln!(
            r,
            "- **Censored exposure is a lower bound.** Some thefts were still working when the attacker's window (`attacker_horizon`, {}) ended (up to {:.0}% of them, in {}): their attacker-hours, hours per theft (marked ≥) and every exposure percentile count only the window, so the true exposure of those designs is higher. `censored_thefts` in `summary.csv` counts them.",
            threat.attacker_horizon,
            c * 100.0,
            s.name
        );
    }
    // A design that limits where sign-ins may come from stops every attacker the model
    // places outside: with no attacker inside (`trusted_ip_share = 0`), its exposure rests
    // on that assumption alone.
    if threat.trusted_ip_share == 0.0 {
        let located: Vec<&str> = exp
            .designs
            .iter()
            .filter(|d| {
                d.policies.policies.iter().any(|p| {
                    p.state == crate::policy::PolicyState::Enabled
                        && !p.conditions.locations.include.is_empty()
                })
            })
            .map(|d| d.name.as_str())
            .collect();
        if !located.is_empty() {
            let _ = writeln!(
                r,
                "- **Location conditions meet only attackers outside.** {} {} location conditions, and the threat model places no attacker at an allowed location (`trusted_ip_share = 0`): an allow-list then stops every replay and phishing sign-in, so {} exposure is a best case. Attackers rent residential proxies in the victim's country; set `trusted_ip_share` in the experiment's `[threat]` to see how much of it holds.",
                located
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if located.len() == 1 { "has" } else { "have" },
                if located.len() == 1 { "its" } else { "their" }
            );
        }
    }
    if threat.mode == Mode::Rates {
        let _ = writeln!(r, "- Attack rates and susceptibility coefficients are assumptions or coarse public figures (docs/model.md, \"Threat model\"): compare designs with them; do not read the levels as a forecast for your tenant.");
        let _ = writeln!(r, "- Attacks are oversampled (each mechanism's `attempts_per_user` simulated attempts per user over the run) and weighted back to the real rates (`attack_sampling` in `manifest.json`); the `thefts` column counts simulated thefts.");
    }
    let _ = writeln!(r, "- `users` is simulated users per replicate in every table; every assumption behind these numbers, with its source, is in `docs/model.md`; the parameters used are in `manifest.json`.");
}

/// "prompt" for a budget of exactly one, else "prompts".
fn prompt_word(budget: f64) -> &'static str {
    if budget == 1.0 {
        "prompt"
    } else {
        "prompts"
    }
}
