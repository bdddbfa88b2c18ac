//! The plots of a run, written as plain SVG so that axes, labels and marks are exactly
//! what a reader needs: `frontier.svg` (the fatigue/exposure trade-off: a log exposure
//! axis ranged from the data, the prompt budget, 95% interval bars, numbered points whose
//! labels do not collide, the paired frontier, designs that deny too much marked apart)
//! and `exposure.svg` (how long stolen access keeps working: the first 48 hours and the
//! whole attacker window side by side, censoring ticks, one distinct colour and dash per
//! design).
//!
//! Every coordinate is printed with fixed decimals, so the bytes depend only on the data.

use std::fmt::Write as _;

use crate::output::compare::{self, Decision};
use crate::output::DesignSummary;
use crate::study::experiment::Experiment;

const WIDTH: f64 = 1100.0;
const HEIGHT: f64 = 700.0;
const FONT: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

const RED: &str = "#c81e2d";
const GREY: &str = "#7a7a7a";
const ORANGE: &str = "#e07b00";
const BLUE: &str = "#1f5fa8";

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Svg {
    out: String,
}

impl Svg {
    fn new(w: f64, h: f64) -> Svg {
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="{FONT}">"#
        );
        let _ = writeln!(
            out,
            r##"<rect x="0" y="0" width="{w:.0}" height="{h:.0}" fill="#ffffff"/>"##
        );
        Svg { out }
    }

    #[allow(clippy::too_many_arguments)] // a line is its two ends and its stroke
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64, extra: &str) {
        let _ = writeln!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"{extra}/>"#
        );
    }

    fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, text: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}"{extra}>{}</text>"#,
            esc(text)
        );
    }

    fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, extra: &str) {
        if points.is_empty() {
            return;
        }
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"{extra}/>"#,
            pts.join(" ")
        );
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// A number as an axis label: `0`, `0.5`, `1`, `1,000`, `0.01`; never `1000.0`.
pub fn axis_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let text = if a >= 1.0 && (a - a.round()).abs() < 1e-9 {
        let digits = format!("{:.0}", a);
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        grouped
    } else {
        let t = format!("{a:.6}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if v < 0.0 {
        format!("−{text}")
    } else {
        text
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A plot area mapping data to pixels: linear x, linear or log10 y.
struct Area {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
    log_y: bool,
}

impl Area {
    fn px(&self, x: f64) -> f64 {
        let t = (x - self.x.0) / (self.x.1 - self.x.0);
        self.left + t.clamp(-0.02, 1.02) * (self.right - self.left)
    }

    fn py(&self, y: f64) -> f64 {
        let t = if self.log_y {
            let y = y.max(self.y.0);
            (y.log10() - self.y.0.log10()) / (self.y.1.log10() - self.y.0.log10())
        } else {
            (y - self.y.0) / (self.y.1 - self.y.0)
        };
        self.bottom - t.clamp(-0.02, 1.02) * (self.bottom - self.top)
    }

    fn frame(&self, svg: &mut Svg) {
        svg.line(
            self.left,
            self.bottom,
            self.right,
            self.bottom,
            "#333333",
            1.0,
            "",
        );
        svg.line(
            self.left,
            self.top,
            self.left,
            self.bottom,
            "#333333",
            1.0,
            "",
        );
    }

    /// Vertical grid lines and labels at `ticks`.
    fn x_ticks(&self, svg: &mut Svg, ticks: &[f64]) {
        for &t in ticks {
            let x = self.px(t);
            svg.line(x, self.top, x, self.bottom, "#e6e6e6", 1.0, "");
            svg.line(x, self.bottom, x, self.bottom + 5.0, "#333333", 1.0, "");
            svg.text(x, self.bottom + 19.0, 12.0, "middle", &axis_label(t), "");
        }
    }

    /// Horizontal grid lines at `ticks`, labelled where `labelled`.
    fn y_ticks(&self, svg: &mut Svg, ticks: &[(f64, bool)]) {
        for &(t, labelled) in ticks {
            let y = self.py(t);
            let colour = if labelled { "#d9d9d9" } else { "#f0f0f0" };
            svg.line(self.left, y, self.right, y, colour, 1.0, "");
            if labelled {
                svg.line(self.left - 5.0, y, self.left, y, "#333333", 1.0, "");
                svg.text(self.left - 8.0, y + 4.0, 12.0, "end", &axis_label(t), "");
            }
        }
    }
}

/// Linear ticks from `lo` to `hi`.
fn linear_ticks(lo: f64, hi: f64, target: f64) -> Vec<f64> {
    let step = nice_step(hi - lo, target);
    let mut out = Vec::new();
    let mut k = (lo / step).ceil() as i64;
    while (k as f64) * step <= hi + step * 1e-9 {
        out.push(k as f64 * step);
        k += 1;
    }
    out
}

/// Log ticks: every 1, 2, 5 × 10^k within the range, labelled at powers of ten (and at 2
/// and 5 when the range spans three and a half decades or less).
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, bool)> {
    let decades = hi.log10() - lo.log10();
    let mut out = Vec::new();
    let mut k = lo.log10().floor() as i32;
    while 10f64.powi(k) <= hi * (1.0 + 1e-9) {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(k);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push((v, m == 1.0 || decades <= 3.5));
            }
        }
        k += 1;
    }
    out
}

/// A rectangle in pixels, for label placement.
#[derive(Copy, Clone)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Rect {
    fn overlap(&self, o: &Rect) -> f64 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0.0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0.0);
        w * h
    }
}

/// Places each label beside its point where it overlaps no other label or point: the first
/// free spot of eight around the point, then further out with a leader line. Returns the
/// label's anchor (start-anchored text baseline) and whether it needs a leader.
fn place_labels(points: &[(f64, f64)], labels: &[String], area: &Rect) -> Vec<((f64, f64), bool)> {
    let char_w = 7.0;
    let h = 12.0;
    let mut placed: Vec<Rect> = points
        .iter()
        .map(|(x, y)| Rect {
            x0: x - 6.0,
            y0: y - 6.0,
            x1: x + 6.0,
            y1: y + 6.0,
        })
        .collect();
    let mut out = Vec::with_capacity(points.len());
    for ((px, py), label) in points.iter().zip(labels) {
        let w = char_w * label.chars().count() as f64;
        let mut best: Option<(f64, (f64, f64), bool)> = None;
        'rings: for (ring, radius) in [(0, 9.0), (1, 22.0), (2, 36.0)] {
            for k in 0..8 {
                let angle = -std::f64::consts::FRAC_PI_4 + k as f64 * std::f64::consts::FRAC_PI_4;
                let (dx, dy) = (angle.cos() * radius, angle.sin() * radius);
                // The box sits on the side of the point the offset points to.
                let x0 = if dx > 1.0 {
                    px + dx
                } else if dx < -1.0 {
                    px + dx - w
                } else {
                    px - w / 2.0
                };
                let y1 = if dy > 1.0 {
                    py + dy + h
                } else if dy < -1.0 {
                    py + dy
                } else {
                    py + h / 2.0
                };
                let r = Rect {
                    x0,
                    y0: y1 - h,
                    x1: x0 + w,
                    y1,
                };
                let outside =
                    (r.x0 < area.x0) || (r.x1 > area.x1) || (r.y0 < area.y0) || (r.y1 > area.y1);
                let cost: f64 = placed.iter().map(|o| o.overlap(&r)).sum::<f64>()
                    + if outside { 1e6 } else { 0.0 }
                    + ring as f64 * 0.5;
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    best = Some((cost, (r.x0, r.y1 - 2.0), ring > 0));
                }
                if cost < 1.0 {
                    break 'rings;
                }
            }
        }
        let (_, anchor, leader) = best.unwrap_or((0.0, (px + 8.0, py - 8.0), false));
        placed.push(Rect {
            x0: anchor.0,
            y0: anchor.1 + 2.0 - h,
            x1: anchor.0 + w,
            y1: anchor.1 + 2.0,
        });
        out.push((anchor, leader));
    }
    out
}

/// `frontier.svg`: one numbered point per design with 95% interval bars, the paired
/// frontier joined by a line, the prompt budget, designs over the denied-access budget
/// marked apart, and a key naming the numbers.
pub fn frontier_svg(exp: &Experiment, summaries: &[DesignSummary]) -> Result<String, String> {
    let d = compare::decide(exp, summaries);
    frontier_with(exp, summaries, &d)
}

/// The width a key of these lines needs, in pixels (7 px a character at 12 px).
fn key_width(lines: impl Iterator<Item = usize>) -> f64 {
    lines.map(|n| 7.0 * n as f64).fold(300.0, f64::max)
}

fn frontier_with(
    exp: &Experiment,
    summaries: &[DesignSummary],
    d: &Decision,
) -> Result<String, String> {
    let key = key_width(summaries.iter().map(|s| s.name.chars().count() + 30));
    let mut svg = Svg::new(WIDTH.max(790.0 + key), HEIGHT);
    let title = format!("{}: prompt fatigue against exposure", exp.name);
    svg.text(410.0, 32.0, 20.0, "middle", &title, "");
    let points: Vec<(usize, &DesignSummary, (f64, f64))> = summaries
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.point().map(|p| (i, s, p)))
        .collect();
    let area = {
        let max_x = points
            .iter()
            .map(|(_, s, p)| p.0 + s.prompts_ci95.unwrap_or(0.0))
            .fold(exp.prompt_budget, f64::max);
        let positive: Vec<f64> = points
            .iter()
            .flat_map(|(_, s, p)| {
                let ci = s.attacker_hours_ci95.unwrap_or(0.0);
                [p.1, p.1 - ci]
            })
            .filter(|y| *y > 0.0)
            .collect();
        let min_pos = points
            .iter()
            .map(|(_, _, p)| p.1)
            .filter(|y| *y > 0.0)
            .fold(f64::INFINITY, f64::min);
        let lo = positive
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .max(min_pos / 10.0);
        let hi = points
            .iter()
            .map(|(_, s, p)| p.1 + s.attacker_hours_ci95.unwrap_or(0.0))
            .fold(0.0, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > 0.0 {
            // Whole 1-2-5 steps around the data.
            let down = |v: f64| {
                let k = 10f64.powf(v.log10().floor());
                [5.0, 2.0, 1.0]
                    .into_iter()
                    .map(|m| m * k)
                    .find(|c| *c <= v * 0.8)
                    .unwrap_or(k / 2.0)
            };
            let up = |v: f64| {
                let k = 10f64.powf(v.log10().floor());
                [1.0, 2.0, 5.0, 10.0]
                    .into_iter()
                    .map(|m| m * k)
                    .find(|c| *c >= v * 1.2)
                    .unwrap_or(20.0 * k)
            };
            (down(lo), up(hi))
        } else {
            (0.1, 10.0)
        };
        Area {
            left: 90.0,
            right: 740.0,
            top: 60.0,
            bottom: 610.0,
            x: (0.0, {
                let step = nice_step(max_x * 1.08, 8.0);
                ((max_x * 1.08) / step).ceil() * step
            }),
            y: (lo, hi),
            log_y: true,
        }
    };
    area.y_ticks(&mut svg, &log_ticks(area.y.0, area.y.1));
    area.x_ticks(&mut svg, &linear_ticks(area.x.0, area.x.1, 8.0));
    area.frame(&mut svg);
    svg.text(
        (area.left + area.right) / 2.0,
        area.bottom + 45.0,
        15.0,
        "middle",
        "Fatigue: interactive prompts per user per working day",
        "",
    );
    svg.text(
        0.0,
        0.0,
        15.0,
        "middle",
        "Exposure: attacker-hours per 1,000 users per year (log scale)",
        &format!(
            r#" transform="translate(28,{:.1}) rotate(-90)""#,
            (area.top + area.bottom) / 2.0
        ),
    );
    // The prompt budget.
    if exp.prompt_budget > area.x.0 && exp.prompt_budget < area.x.1 {
        let x = area.px(exp.prompt_budget);
        svg.line(
            x,
            area.top,
            x,
            area.bottom,
            BLUE,
            1.5,
            r#" stroke-dasharray="6,4""#,
        );
        svg.text(
            x + 5.0,
            area.top + 14.0,
            12.0,
            "start",
            &format!(
                "prompt budget: {} per user-day",
                axis_label(exp.prompt_budget)
            ),
            &format!(r#" fill="{BLUE}""#),
        );
    }
    // The frontier, by prompts.
    let line: Vec<(f64, f64)> = d
        .frontier
        .iter()
        .filter_map(|&i| summaries[i].point())
        .map(|(x, y)| (area.px(x), area.py(y)))
        .collect();
    // A broad pale band, not a thin line: where two frontier designs share a prompt rate
    // the segment between them runs along their interval bars, and must still show.
    svg.polyline(
        &line,
        RED,
        FRONTIER_BAND,
        &format!(r#" class="frontier"{FRONTIER_BAND_STYLE}"#),
    );
    let colour = |i: usize| {
        if d.over_denied_budget[i] {
            ORANGE
        } else if d.pareto[i] == Some(true) {
            RED
        } else {
            GREY
        }
    };
    for (i, s, (x, y)) in &points {
        let c = colour(*i);
        let (cx, cy) = (area.px(*x), area.py(*y));
        if let Some(ci) = s.prompts_ci95.filter(|c| *c > 0.0) {
            // Prompts are never negative: an interval reaching below zero stops at the
            // axis, without an end cap (as the exposure bar at the floor), rather than
            // running past it.
            let low = x - ci;
            let (a, b) = (area.px(low.max(area.x.0)), area.px(x + ci));
            svg.line(a, cy, b, cy, c, 1.2, "");
            if low > area.x.0 {
                svg.line(a, cy - 4.0, a, cy + 4.0, c, 1.2, "");
            }
            svg.line(b, cy - 4.0, b, cy + 4.0, c, 1.2, "");
        }
        if let Some(ci) = s.attacker_hours_ci95.filter(|c| *c > 0.0) {
            let (a, b) = (area.py(y - ci), area.py(y + ci));
            svg.line(cx, a, cx, b, c, 1.2, "");
            if y - ci > area.y.0 {
                svg.line(cx - 4.0, a, cx + 4.0, a, c, 1.2, "");
            }
            svg.line(cx - 4.0, b, cx + 4.0, b, c, 1.2, "");
        }
    }
    for (i, _, (x, y)) in &points {
        let c = colour(*i);
        let (cx, cy) = (area.px(*x), area.py(*y));
        if d.over_denied_budget[*i] {
            let _ = writeln!(
                svg.out,
                r##"<circle class="design-point" cx="{cx:.1}" cy="{cy:.1}" r="6" fill="#ffffff" stroke="{c}" stroke-width="2.5"/>"##
            );
            svg.line(cx - 4.0, cy - 4.0, cx + 4.0, cy + 4.0, c, 2.0, "");
            svg.line(cx - 4.0, cy + 4.0, cx + 4.0, cy - 4.0, c, 2.0, "");
        } else {
            let ring = if Some(*i) == d.recommended {
                r##" stroke="#000000" stroke-width="2.5""##
            } else {
                ""
            };
            let r = if Some(*i) == d.recommended { 8 } else { 6 };
            let _ = writeln!(
                svg.out,
                r#"<circle class="design-point" cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{c}"{ring}/>"#
            );
        }
    }
    let pixel: Vec<(f64, f64)> = points
        .iter()
        .map(|(_, _, (x, y))| (area.px(*x), area.py(*y)))
        .collect();
    let labels: Vec<String> = points.iter().map(|(i, _, _)| (i + 1).to_string()).collect();
    let spots = place_labels(
        &pixel,
        &labels,
        &Rect {
            x0: area.left + 2.0,
            y0: area.top,
            x1: area.right,
            y1: area.bottom - 2.0,
        },
    );
    for (((anchor, leader), label), (px, py)) in spots.iter().zip(&labels).zip(&pixel) {
        if *leader {
            let w = 7.0 * label.chars().count() as f64;
            let (tx, ty) = (anchor.0 + w / 2.0, anchor.1 - 5.0);
            svg.line(*px, *py, tx, ty, "#999999", 0.8, "");
        }
        svg.text(
            anchor.0,
            anchor.1,
            12.0,
            "start",
            label,
            r#" class="point-label""#,
        );
    }
    if points.is_empty() {
        svg.text(
            415.0,
            330.0,
            16.0,
            "middle",
            "No design has both a prompt rate and an exposure (is the threat model off?)",
            "",
        );
    }
    // The key.
    let kx = 770.0;
    svg.text(kx, 40.0, 15.0, "start", "Designs", r#" font-weight="bold""#);
    let mut ky = 62.0;
    for (i, s) in summaries.iter().enumerate() {
        let c = colour(i);
        let mut mark = if Some(i) == d.recommended {
            " (recommended)"
        } else if d.over_denied_budget[i] {
            " (denies too much)"
        } else {
            ""
        }
        .to_string();
        // Zero exposure has no place on a log axis: drawn on its floor, and said here.
        if s.point().is_some_and(|(_, y)| y <= 0.0) {
            mark.push_str(" (0 h: on the floor)");
        }
        let _ = writeln!(
            svg.out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{c}"/>"#,
            kx + 4.0,
            ky - 4.0
        );
        svg.text(
            kx + 14.0,
            ky,
            12.0,
            "start",
            &format!("{:>2} {}{mark}", i + 1, s.name),
            "",
        );
        ky += 18.0;
    }
    ky += 10.0;
    let legend: [(&str, &str, &str); 4] = [
        (RED, RED, "on the frontier (paired 95% intervals)"),
        (GREY, GREY, "dominated"),
        ("#ffffff", ORANGE, "crossed: over the denied-access budget"),
        ("#ffffff", "#000000", "ringed: recommended"),
    ];
    for (fill, stroke, t) in legend {
        let _ = writeln!(
            svg.out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"#,
            kx + 4.0,
            ky - 4.0
        );
        svg.text(kx + 14.0, ky, 12.0, "start", t, "");
        ky += 18.0;
    }
    svg.line(
        kx - 2.0,
        ky - 4.0,
        kx + 10.0,
        ky - 4.0,
        RED,
        FRONTIER_BAND,
        FRONTIER_BAND_STYLE,
    );
    svg.text(
        kx + 14.0,
        ky,
        12.0,
        "start",
        "band: the frontier, by prompts",
        "",
    );
    ky += 18.0;
    svg.line(kx - 2.0, ky - 4.0, kx + 10.0, ky - 4.0, GREY, 1.2, "");
    svg.text(
        kx + 14.0,
        ky,
        12.0,
        "start",
        "bars: 95% confidence intervals over replicates",
        "",
    );
    ky += 18.0;
    svg.line(
        kx - 2.0,
        ky - 4.0,
        kx + 10.0,
        ky - 4.0,
        BLUE,
        1.5,
        r#" stroke-dasharray="6,4""#,
    );
    svg.text(
        kx + 14.0,
        ky,
        12.0,
        "start",
        "dashed: prompt budget (prompt_budget)",
        "",
    );
    Ok(svg.finish())
}

/// Width and style of the frontier band in `frontier.svg`.
const FRONTIER_BAND: f64 = 7.0;
const FRONTIER_BAND_STYLE: &str =
    r#" stroke-opacity="0.3" stroke-linecap="round" stroke-linejoin="round""#;

/// Ten strong, distinct colours (Tableau 10); designs beyond ten reuse them with dashes.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const DASHES: [&str; 3] = [
    "",
    r#" stroke-dasharray="8,4""#,
    r#" stroke-dasharray="2,3""#,
];

fn style(i: usize) -> (&'static str, &'static str) {
    (
        PALETTE[i % PALETTE.len()],
        DASHES[(i / PALETTE.len()) % DASHES.len()],
    )
}

/// `exposure.svg`: per design, the share of thefts still working against hours since the
/// attacker's first access (Kaplan–Meier), over the first 48 hours and over the whole
/// attacker window, with a tick where thefts were censored (still working when the window
/// ended: their exposure is a lower bound).
pub fn exposure_svg(exp: &Experiment, summaries: &[DesignSummary]) -> Result<String, String> {
    let horizon = exp
        .population
        .threat
        .attacker_horizon
        .as_hours_f64()
        .max(1.0);
    let key = key_width(summaries.iter().map(|s| s.name.chars().count() + 6));
    let (w, h) = (1400f64.max(1045.0 + key), 700.0);
    let mut svg = Svg::new(w, h);
    svg.text(
        520.0,
        30.0,
        20.0,
        "middle",
        &format!("{}: how long stolen access keeps working", exp.name),
        "",
    );
    let first = horizon.min(48.0);
    let panels = [
        (
            Area {
                left: 80.0,
                right: 500.0,
                top: 70.0,
                bottom: 610.0,
                x: (0.0, first),
                y: (0.0, 1.0),
                log_y: false,
            },
            format!("The first {} hours", axis_label(first)),
        ),
        (
            Area {
                left: 560.0,
                right: 980.0,
                top: 70.0,
                bottom: 610.0,
                x: (0.0, horizon),
                y: (0.0, 1.0),
                log_y: false,
            },
            format!(
                "The whole attacker window ({} h, attacker_horizon)",
                axis_label(horizon)
            ),
        ),
    ];
    for (area, title) in &panels {
        let yt: Vec<(f64, bool)> = linear_ticks(0.0, 1.0, 5.0)
            .into_iter()
            .map(|t| (t, true))
            .collect();
        area.y_ticks(&mut svg, &yt);
        let xt = if area.x.1 <= 48.0 {
            linear_ticks(0.0, area.x.1, 8.0)
        } else {
            // Days, in hours.
            let step = (nice_step(area.x.1 / 24.0, 7.0) * 24.0).max(24.0);
            let mut t = Vec::new();
            let mut v = 0.0;
            while v <= area.x.1 + 1e-9 {
                t.push(v);
                v += step;
            }
            t
        };
        area.x_ticks(&mut svg, &xt);
        area.frame(&mut svg);
        svg.text(
            (area.left + area.right) / 2.0,
            area.top - 10.0,
            14.0,
            "middle",
            title,
            "",
        );
        svg.text(
            (area.left + area.right) / 2.0,
            area.bottom + 45.0,
            14.0,
            "middle",
            "Hours since the attacker's first access",
            "",
        );
        for (i, s) in summaries.iter().enumerate() {
            if s.survival.is_empty() {
                continue;
            }
            let (colour, dash) = style(i);
            // A step function: each drop at the end of its bin.
            let mut steps = Vec::with_capacity(2 * s.survival.len() + 1);
            let mut last = 1.0;
            for &(x, y) in &s.survival {
                if x > area.x.1 {
                    break;
                }
                steps.push((area.px(x), area.py(last)));
                steps.push((area.px(x), area.py(y)));
                last = y;
            }
            steps.push((area.px(area.x.1), area.py(last)));
            svg.polyline(&steps, colour, 2.0, dash);
            for &(x, y) in &s.censored_at {
                if x > area.x.1 {
                    break;
                }
                let (cx, cy) = (area.px(x), area.py(y));
                svg.line(cx, cy - 5.0, cx, cy + 5.0, colour, 1.5, "");
            }
        }
    }
    svg.text(
        0.0,
        0.0,
        15.0,
        "middle",
        "Share of thefts still working (Kaplan-Meier)",
        r#" transform="translate(28,340) rotate(-90)""#,
    );
    let kx = 1010.0;
    svg.text(kx, 60.0, 15.0, "start", "Designs", r#" font-weight="bold""#);
    let mut ky = 82.0;
    let mut drawn = 0;
    for (i, s) in summaries.iter().enumerate() {
        if s.survival.is_empty() {
            continue;
        }
        let (colour, dash) = style(i);
        svg.line(kx, ky - 4.0, kx + 26.0, ky - 4.0, colour, 3.0, dash);
        svg.text(
            kx + 32.0,
            ky,
            12.0,
            "start",
            &format!("{} {}", i + 1, s.name),
            "",
        );
        ky += 18.0;
        drawn += 1;
    }
    ky += 10.0;
    svg.line(kx + 13.0, ky - 9.0, kx + 13.0, ky + 1.0, "#333333", 1.5, "");
    svg.text(
        kx + 32.0,
        ky,
        12.0,
        "start",
        "censored: still working at the window's end",
        "",
    );
    ky += 16.0;
    svg.text(
        kx + 32.0,
        ky,
        12.0,
        "start",
        "(exposure of those designs is a lower bound)",
        "",
    );
    if drawn == 0 {
        svg.text(
            520.0,
            330.0,
            16.0,
            "middle",
            "No theft gave the attacker access",
            "",
        );
    }
    Ok(svg.finish())
}
