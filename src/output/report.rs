//! Decision-ready outputs: `frontier.svg` (the fatigue/exposure trade-off) and `report.md`
//! (the frontier, the best design under a prompt budget, and each design against the
//! baseline, in plain words).

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::model::Mechanism;
use crate::output::{t95, DesignSummary, Metrics};
use crate::study::experiment::Experiment;
use crate::world::threat::Mode;

/// Lowest exposure drawn on the log axis: zero exposure is drawn here.
const Y_FLOOR: f64 = 0.01;

/// Designs on the Pareto frontier, sorted by prompts.
pub fn frontier(summaries: &[DesignSummary]) -> Vec<&DesignSummary> {
    let mut f: Vec<&DesignSummary> = summaries
        .iter()
        .filter(|s| s.pareto == Some(true))
        .collect();
    f.sort_by(|a, b| {
        let key = |s: &DesignSummary| s.point().unwrap_or((0.0, 0.0));
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    f
}

fn point(s: &DesignSummary) -> Option<(f64, f64)> {
    s.point()
}

/// `frontier.svg`: one numbered point per design with 95% error bars from the replicates,
/// the frontier as a line, and a key of the numbers on the right.
pub fn frontier_svg(exp: &Experiment, summaries: &[DesignSummary]) -> Result<String, String> {
    let points: Vec<(usize, &DesignSummary, (f64, f64))> = summaries
        .iter()
        .enumerate()
        .filter_map(|(i, s)| point(s).map(|p| (i, s, p)))
        .collect();
    let (w, h) = (1100u32, 700u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (plot, key) = root.split_horizontally(760);
        let max_x = points
            .iter()
            .map(|(_, s, p)| p.0 + s.prompts_ci95.unwrap_or(0.0))
            .fold(0.0, f64::max);
        let max_y = points
            .iter()
            .map(|(_, s, p)| p.1 + s.attacker_hours_ci95.unwrap_or(0.0))
            .fold(0.0, f64::max);
        let x_range = 0.0..(max_x * 1.1).max(0.1);
        // Exposure spans minutes to weeks: a log axis, with zero drawn at the floor.
        let y_range = (Y_FLOOR..(max_y * 2.0).max(1.0)).log_scale();
        let title = format!("{}: prompt fatigue against exposure", exp.name);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("Fatigue: interactive prompts per user per working day")
            .y_desc("Exposure: attacker-hours per 1,000 users per year (log scale)")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        let line: Vec<(f64, f64)> = frontier(summaries)
            .into_iter()
            .filter_map(point)
            .map(|(x, y)| (x, y.max(Y_FLOOR)))
            .collect();
        chart
            .draw_series(LineSeries::new(line, RGBColor(200, 30, 45).stroke_width(2)))
            .map_err(|e| e.to_string())?;
        let grey = RGBColor(120, 120, 120);
        for (i, s, (x, y)) in &points {
            let y = &y.max(Y_FLOOR);
            let colour = if s.pareto == Some(true) {
                RGBColor(200, 30, 45)
            } else {
                grey
            };
            if let Some(ci) = s.prompts_ci95 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x - ci, *y), (x + ci, *y)],
                        colour.stroke_width(1),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            if let Some(ci) = s.attacker_hours_ci95 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*x, (y - ci).max(Y_FLOOR)), (*x, y + ci)],
                        colour.stroke_width(1),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(std::iter::once(Circle::new((*x, *y), 6, colour.filled())))
                .map_err(|e| e.to_string())?;
            // The number sits beside the point, offset in pixels so it does not cover it.
            let label = EmptyElement::at((*x, *y))
                + Text::new(
                    format!("{}", i + 1),
                    (7, -16),
                    ("sans-serif", 13).into_font().color(&BLACK),
                );
            chart
                .draw_series(std::iter::once(label))
                .map_err(|e| e.to_string())?;
        }
        key.draw(&Text::new(
            "Designs (* and red: on the frontier)",
            (10, 30),
            ("sans-serif", 16),
        ))
        .map_err(|e| e.to_string())?;
        for (row, (i, s, _)) in points.iter().enumerate() {
            let mark = if s.pareto == Some(true) { "*" } else { " " };
            let label = format!("{:>2}{mark} {}", i + 1, s.name);
            key.draw(&Text::new(
                label,
                (10, 60 + 20 * row as i32),
                ("sans-serif", 13),
            ))
            .map_err(|e| e.to_string())?;
        }
        if points.is_empty() {
            plot.draw(&Text::new(
                "No design has both a prompt rate and an exposure (is the threat model off?)",
                (80, 300),
                ("sans-serif", 16),
            ))
            .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

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
        .filter(|s| point(s).is_some_and(|(x, _)| x <= budget))
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
        .filter_map(|s| point(s).map(|p| (s, p)))
        .filter(|(_, (x, _))| *x <= budget)
        .min_by(|a, b| {
            a.1 .1
                .partial_cmp(&b.1 .1)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(s, _)| s)
}

/// `exposure.svg`: per design, the share of thefts still working against hours since the
/// attacker's first access (Kaplan–Meier, censored at the end of the attacker's window).
pub fn exposure_svg(exp: &Experiment, summaries: &[DesignSummary]) -> Result<String, String> {
    let (w, h) = (1100u32, 700u32);
    let horizon = exp.population.threat.attacker_horizon.as_hours_f64();
    // Tableau 20: pairs of a strong and a light shade, so up to 20 designs stay distinct.
    let palette = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(174, 199, 232),
        RGBColor(255, 187, 120),
        RGBColor(152, 223, 138),
        RGBColor(255, 152, 150),
        RGBColor(197, 176, 213),
        RGBColor(196, 156, 148),
        RGBColor(247, 182, 210),
        RGBColor(199, 199, 199),
        RGBColor(219, 219, 141),
        RGBColor(158, 218, 229),
    ];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (plot, key) = root.split_horizontally(760);
        let title = format!("{}: how long stolen access keeps working", exp.name);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..horizon.max(1.0), 0.0..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("Hours since the attacker's first access")
            .y_desc("Share of thefts still working (Kaplan-Meier)")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut drawn = 0;
        for (i, s) in summaries.iter().enumerate() {
            if s.survival.is_empty() {
                continue;
            }
            let colour = palette[i % palette.len()];
            // A step function: each drop happens at the end of its bin.
            let mut steps = Vec::with_capacity(2 * s.survival.len() + 1);
            let mut last = 1.0;
            for &(x, y) in &s.survival {
                steps.push((x.min(horizon), last));
                steps.push((x.min(horizon), y));
                last = y;
            }
            steps.push((horizon, last));
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            key.draw(&Rectangle::new(
                [(10, 54 + 20 * drawn), (24, 66 + 20 * drawn)],
                colour.filled(),
            ))
            .map_err(|e| e.to_string())?;
            key.draw(&Text::new(
                format!("{:>2} {}", i + 1, s.name),
                (30, 54 + 20 * drawn),
                ("sans-serif", 13),
            ))
            .map_err(|e| e.to_string())?;
            drawn += 1;
        }
        key.draw(&Text::new("Designs", (10, 30), ("sans-serif", 16)))
            .map_err(|e| e.to_string())?;
        if drawn == 0 {
            plot.draw(&Text::new(
                "No design had a theft (is the threat model off?)",
                (80, 300),
                ("sans-serif", 16),
            ))
            .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One sentence on what drives a design's exposure.
fn vector_sentence(s: &DesignSummary) -> String {
    let m = &s.pooled;
    let total = m.attacker_hours_per_1000_users_year.unwrap_or(0.0);
    let mut parts: Vec<(f64, Mechanism)> = Mechanism::ALL
        .iter()
        .filter_map(|mech| {
            m.attacker_hours_by_mechanism[mech.index()]
                .filter(|h| *h > 0.0)
                .map(|h| (h, *mech))
        })
        .collect();
    parts.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let Some(&(top_hours, top)) = parts.first() else {
        return "no simulated theft gave the attacker access".into();
    };
    let share = if total > 0.0 { top_hours / total } else { 0.0 };
    let why = match top {
        Mechanism::Aitm => "phishing proxies capture the session of a sign-in the user makes; more prompts make users likelier to complete one, and only phishing-resistant credentials, device-based grants or short sign-in frequency limit it",
        Mechanism::Infostealer => "malware copies cookies and refresh tokens from the user's device; persistent cookies and apps without a broker leave more to take",
        Mechanism::PushBombing => "an attacker with the password gets in where no MFA is asked of its sign-in, or when a push is approved",
        Mechanism::DeviceCompromise => "control of a device yields tokens minted from its PRT, which carry its device claims",
        Mechanism::DeviceCode => "device-code phishing works with any method, phishing-resistant ones included, unless an authentication-flows policy blocks the flow",
        Mechanism::Injected => "one scripted theft per user (conditional mode)",
    };
    format!(
        "{:.0}% of attacker-hours come from {}: {why}",
        share * 100.0,
        mechanism_label(top)
    )
}

/// What each design's report-only policies would do if enforced: the design simulated
/// again with them on, same users, same work, same attacks. Nothing when no design has
/// report-only policies.
fn report_only_section(r: &mut String, exp: &Experiment, summaries: &[DesignSummary]) {
    let rows: Vec<(&DesignSummary, usize, usize)> = exp
        .designs
        .iter()
        .zip(summaries)
        .filter(|(d, _)| d.report_only_count() > 0)
        .map(|(d, s)| (s, d.report_only_count(), d.policies.len()))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(r, "## What the report-only policies would do\n");
    let _ = writeln!(r, "Report-only policies (`enabledForReportingButNotEnforced`) change nothing for users, so the numbers above leave them out. Each design that has some was simulated again with them enforced, with the same users doing the same work (`reportonly_*` columns):\n");
    let _ = writeln!(r, "| design | report-only policies | prompts per user-day | with them enforced | accesses denied | with them enforced |");
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for (s, ro, total) in rows {
        let m = &s.pooled;
        let _ = writeln!(
            r,
            "| {} | {ro} of {total} | {} | {} | {} | {} |",
            s.name,
            fmt(m.prompts_per_user_day, 2),
            fmt(m.reportonly_prompts_per_user_day, 2),
            pct_or_na(m.denied_access_share),
            pct_or_na(m.reportonly_denied_share),
        );
    }
    let _ = writeln!(r);
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

pub fn report_md(exp: &Experiment, summaries: &[DesignSummary]) -> String {
    let mut r = String::new();
    let threat = &exp.population.threat;
    let _ = writeln!(r, "# {}: results\n", exp.name);
    if let Some(d) = &exp.description {
        let _ = writeln!(r, "{d}\n");
    }
    let _ = writeln!(
        r,
        "{} users of the `{}` population over {} days, {} replicates, seed {}; {} designs. \
Fatigue is interactive prompts per user per working day.",
        exp.users,
        exp.population.name,
        exp.days,
        exp.replicates,
        exp.seed,
        summaries.len()
    );
    let _ = writeln!(r, "{}\n", how_the_study_starts(exp));
    let _ = match threat.mode {
        Mode::Rates => writeln!(
            r,
            "Exposure is the expected hours of attacker access per 1,000 users per year: thefts \
happen through AiTM phishing, infostealers, push bombing, device compromise and device-code \
phishing at the rates of the population's threat model, succeed or fail against each design, \
and each theft lasts until the design, a detection or an expiry ends it. Intervals are 95% \
confidence intervals over replicates.\n"
        ),
        Mode::Conditional => writeln!(
            r,
            "Exposure is the mean hours an attacker kept working access after one scripted theft \
per user (conditional mode: every design suffers the same thefts), scaled by `thefts_per_user_year` \
to attacker-hours per 1,000 users per year. Intervals are 95% confidence intervals over \
replicates.\n"
        ),
    };

    let _ = writeln!(r, "## The frontier\n");
    let f = frontier(summaries);
    if f.is_empty() {
        let _ = writeln!(r, "No design has both a prompt rate and an exposure, so there is no trade-off to show (is the threat model off?).\n");
    } else {
        let _ = writeln!(r, "These designs are not beaten on both prompts and exposure by any other; choose among them:\n");
        let _ = writeln!(r, "| design | prompts per user-day | attacker-hours per 1,000 users-year | thefts per 1,000 users-year | hours per theft (mean) | thefts cut within 1 h | accesses denied |");
        let _ = writeln!(r, "|---|---|---|---|---|---|---|");
        for s in &f {
            let m = &s.pooled;
            let _ = writeln!(
                r,
                "| {} | {} ± {} | {} ± {} | {} | {} | {} | {} |",
                s.name,
                fmt(m.prompts_per_user_day, 2),
                fmt(s.prompts_ci95, 2),
                fmt(m.attacker_hours_per_1000_users_year, 1),
                fmt(s.attacker_hours_ci95, 1),
                fmt(m.thefts_per_1000_users_year, 2),
                fmt(m.exposure_hours_mean, 1),
                m.contained_1h_share
                    .map_or("n/a".into(), |x| format!("{:.0}%", x * 100.0)),
                pct_or_na(m.denied_access_share),
            );
        }
        let denying: Vec<String> = f
            .iter()
            .filter(|s| denies_too_much(s, exp.denied_budget))
            .map(|s| {
                format!(
                    "{} denies {} of its users' accesses",
                    s.name,
                    pct_or_na(s.pooled.denied_access_share)
                )
            })
            .collect();
        if !denying.is_empty() {
            let _ = writeln!(
                r,
                "\nRead with care: {}. Refused access costs no prompt and leaves the attacker little to use, so such a design can sit on the frontier without being usable; it is never recommended below (`denied_budget`: {}).",
                denying.join("; "),
                pct(exp.denied_budget)
            );
        }
        let dominated: Vec<&str> = summaries
            .iter()
            .filter(|s| s.pareto == Some(false))
            .map(|s| s.name.as_str())
            .collect();
        if !dominated.is_empty() {
            let _ = writeln!(r, "\nDominated (another design has fewer prompts and no more exposure, or less exposure and no more prompts): {}.", dominated.join(", "));
        }
        let _ = writeln!(r);
    }

    let budget = exp.prompt_budget;
    let denied_budget = exp.denied_budget;
    let skipped = denied_over_budget(summaries, budget, denied_budget);
    let prompts = if budget == 1.0 { "prompt" } else { "prompts" };
    let _ = writeln!(r, "## Best design within {budget} {prompts} per user-day\n");
    match best_under_budget(summaries, budget, denied_budget) {
        Some(s) => {
            let _ = writeln!(
                r,
                "**{}**: {} prompts per user-day and {} attacker-hours per 1,000 users per year, the least exposure of the designs within the budget.\n",
                s.name,
                fmt(s.pooled.prompts_per_user_day, 2),
                fmt(s.pooled.attacker_hours_per_1000_users_year, 1)
            );
        }
        None if !skipped.is_empty() => {
            let _ = writeln!(r, "No design within {budget} {prompts} per user-day keeps denied access within the {} denied-access budget. Set `prompt_budget` or `denied_budget` in the experiment to ask for other budgets.\n", pct(denied_budget));
        }
        None => {
            let _ = writeln!(r, "No design stays within {budget} {prompts} per user-day. Set `prompt_budget` in the experiment to ask for another budget.\n");
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(r, "Designs within the prompt budget that were not considered, because they refuse too much legitimate access (a denied access costs the user time like a prompt, and the work is not done):\n");
        for s in &skipped {
            let _ = writeln!(
                r,
                "- **{}**: skipped: denies {} of users' accesses, above the {} denied-access budget (`denied_budget`).",
                s.name,
                pct_or_na(s.pooled.denied_access_share),
                pct(denied_budget)
            );
        }
        let _ = writeln!(r);
    }

    report_only_section(&mut r, exp, summaries);

    if threat.mode == Mode::Rates {
        let _ = writeln!(r, "## How each design is attacked\n");
        let _ = writeln!(r, "Expected thefts per 1,000 users per year by mechanism (attacker-hours in brackets), and what drives the design's exposure.\n");
        let mechanisms = [
            Mechanism::Aitm,
            Mechanism::Infostealer,
            Mechanism::PushBombing,
            Mechanism::DeviceCompromise,
            Mechanism::DeviceCode,
        ];
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
        for s in summaries {
            let _ = writeln!(r, "- **{}**: {}.", s.name, vector_sentence(s));
        }
        let _ = writeln!(r);
    }

    if let Some(base) = summaries.first() {
        let _ = writeln!(r, "## Each design against the baseline ({})\n", base.name);
        let _ = writeln!(r, "Differences are paired: every design saw the same simulated users doing the same work, and faced the same attacks.\n");
        let _ = writeln!(r, "| design | change in prompts per user-day | change in attacker-hours per 1,000 users-year | change in thefts per 1,000 users-year | change in push-bombing success |");
        let _ = writeln!(r, "|---|---|---|---|---|");
        let cell = |d: Option<(f64, Option<f64>)>, decimals: usize| match d {
            Some((m, Some(ci))) => format!("{m:+.decimals$} (± {ci:.decimals$})"),
            Some((m, None)) => format!("{m:+.decimals$}"),
            None => "n/a".into(),
        };
        for s in summaries.iter().skip(1) {
            let diff = |f: fn(&Metrics) -> Option<f64>| {
                paired_difference(&s.replicates, &base.replicates, f)
            };
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} | {} |",
                s.name,
                cell(diff(|m| m.prompts_per_user_day), 2),
                cell(diff(|m| m.attacker_hours_per_1000_users_year), 1),
                cell(diff(|m| m.thefts_per_1000_users_year), 2),
                cell(diff(|m| m.fatigue_attack_success_rate), 4),
            );
        }
        let _ = writeln!(r);
    }

    let censored = summaries
        .iter()
        .filter_map(|s| s.pooled.censored_share)
        .fold(0.0, f64::max);
    let _ = writeln!(r, "## Read with care\n");
    if censored > 0.0 {
        let _ = writeln!(
            r,
            "- Up to {:.0}% of thefts in a design were still working when the attacker's window ({}) ended: their exposure is a lower bound.",
            censored * 100.0,
            threat.attacker_horizon
        );
    }
    if threat.mode == Mode::Rates {
        let _ = writeln!(r, "- Attack rates and susceptibility coefficients are assumptions or coarse public figures (docs/model.md, \"Threat model\"): compare designs with them; do not read the levels as a forecast for your tenant.");
        let _ = writeln!(r, "- Attacks are oversampled (each mechanism's `attempts_per_user` simulated attempts per user over the run) and weighted back to the real rates (`attack_sampling` in `manifest.json`); the `thefts` column counts simulated thefts.");
    }
    let _ = writeln!(r, "- Every assumption behind these numbers, with its source, is in `docs/model.md`; the parameters used are in `manifest.json`.");
    r
}
