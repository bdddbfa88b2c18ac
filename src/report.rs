//! Decision-ready outputs: `frontier.svg` (the fatigue/exposure trade-off) and `report.md`
//! (the frontier, the best design under a prompt budget, and each design against the
//! baseline, in plain words).

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::experiment::Experiment;
use crate::output::{t95, DesignSummary, Metrics};

/// Lowest exposure drawn on the log axis (36 s): zero exposure is drawn here.
const Y_FLOOR: f64 = 0.01;

/// Designs on the Pareto frontier, sorted by prompts.
pub fn frontier(summaries: &[DesignSummary]) -> Vec<&DesignSummary> {
    let mut f: Vec<&DesignSummary> = summaries
        .iter()
        .filter(|s| s.pareto == Some(true))
        .collect();
    f.sort_by(|a, b| {
        let key = |s: &DesignSummary| {
            (
                s.pooled.prompts_per_user_day.unwrap_or(0.0),
                s.pooled.exposure_hours_mean.unwrap_or(0.0),
            )
        };
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    f
}

fn point(s: &DesignSummary) -> Option<(f64, f64)> {
    Some((
        s.pooled.prompts_per_user_day?,
        s.pooled.exposure_hours_mean?,
    ))
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
            .map(|(_, s, p)| p.1 + s.exposure_ci95.unwrap_or(0.0))
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
            .y_desc("Exposure: mean hours of attacker access per theft (log scale)")
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
            if let Some(ci) = s.exposure_ci95 {
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

/// The design with the least exposure among those within the prompt budget.
pub fn best_under_budget(summaries: &[DesignSummary], budget: f64) -> Option<&DesignSummary> {
    summaries
        .iter()
        .filter_map(|s| point(s).map(|p| (s, p)))
        .filter(|(_, (x, _))| *x <= budget)
        .min_by(|a, b| {
            a.1 .1
                .partial_cmp(&b.1 .1)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(s, _)| s)
}

/// `report.md`.
pub fn report_md(exp: &Experiment, summaries: &[DesignSummary]) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# {}: results\n", exp.name);
    if let Some(d) = &exp.description {
        let _ = writeln!(r, "{d}\n");
    }
    let _ = writeln!(
        r,
        "{} users of the `{}` population over {} days, {} replicates, seed {}; {} designs. \
Fatigue is interactive prompts per user per working day; exposure is the mean hours an \
attacker kept working access after stealing a session artefact (one theft per user, at a \
random moment of work). Intervals are 95% confidence intervals over replicates.\n",
        exp.users,
        exp.population.name,
        exp.days,
        exp.replicates,
        exp.seed,
        summaries.len()
    );

    let _ = writeln!(r, "## The frontier\n");
    let f = frontier(summaries);
    if f.is_empty() {
        let _ = writeln!(r, "No design has both a prompt rate and an exposure, so there is no trade-off to show (is the threat model off?).\n");
    } else {
        let _ = writeln!(r, "These designs are not beaten on both prompts and exposure by any other; choose among them:\n");
        let _ = writeln!(r, "| design | prompts per user-day | exposure hours (mean) | exposure hours (p95) | thefts cut within 1 h |");
        let _ = writeln!(r, "|---|---|---|---|---|");
        for s in &f {
            let m = &s.pooled;
            let _ = writeln!(
                r,
                "| {} | {} ± {} | {} ± {} | {} | {} |",
                s.name,
                fmt(m.prompts_per_user_day, 2),
                fmt(s.prompts_ci95, 2),
                fmt(m.exposure_hours_mean, 1),
                fmt(s.exposure_ci95, 1),
                fmt(m.exposure_hours_p95, 1),
                m.contained_1h_share
                    .map_or("n/a".into(), |x| format!("{:.0}%", x * 100.0)),
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
    let _ = writeln!(r, "## Best design within {budget} prompt(s) per user-day\n");
    match best_under_budget(summaries, budget) {
        Some(s) => {
            let _ = writeln!(
                r,
                "**{}**: {} prompts per user-day and {} hours of exposure per theft, the least exposure of the designs within the budget.\n",
                s.name,
                fmt(s.pooled.prompts_per_user_day, 2),
                fmt(s.pooled.exposure_hours_mean, 1)
            );
        }
        None => {
            let _ = writeln!(r, "No design stays within {budget} prompt(s) per user-day. Set `prompt_budget` in the experiment to ask for another budget.\n");
        }
    }

    if let Some(base) = summaries.first() {
        let _ = writeln!(r, "## Each design against the baseline ({})\n", base.name);
        let _ = writeln!(r, "Differences are paired: every design saw the same simulated users doing the same work.\n");
        let _ = writeln!(r, "| design | change in prompts per user-day | change in exposure hours | change in MFA-fatigue success |");
        let _ = writeln!(r, "|---|---|---|---|");
        let cell = |d: Option<(f64, Option<f64>)>, decimals: usize| match d {
            Some((m, Some(ci))) => format!("{m:+.decimals$} (± {ci:.decimals$})"),
            Some((m, None)) => format!("{m:+.decimals$}"),
            None => "n/a".into(),
        };
        for s in summaries.iter().skip(1) {
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} |",
                s.name,
                cell(
                    paired_difference(&s.replicates, &base.replicates, |m| m.prompts_per_user_day),
                    2
                ),
                cell(
                    paired_difference(&s.replicates, &base.replicates, |m| m.exposure_hours_mean),
                    1
                ),
                cell(
                    paired_difference(&s.replicates, &base.replicates, |m| m
                        .fatigue_attack_success_rate),
                    4
                ),
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
            exp.population.threat.attacker_horizon
        );
    }
    let _ = writeln!(r, "- Every assumption behind these numbers, with its source, is in `docs/model.md`; the parameters used are in `manifest.json`.");
    let _ = writeln!(r, "- The MFA-fatigue coefficients are assumptions (Microsoft documents the direction of the effect, not its size): compare designs with them, do not read the rate as a forecast.");
    r
}
