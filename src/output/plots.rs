//! The plots of a run: `frontier.svg` (the fatigue/exposure trade-off) and `exposure.svg`
//! (how long stolen access keeps working).

use plotters::prelude::*;

use crate::output::DesignSummary;
use crate::study::experiment::Experiment;

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
