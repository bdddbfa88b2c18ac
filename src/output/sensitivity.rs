//! The outputs of `sessionsim sensitivity`: `sensitivity.csv` (one row per assumption and
//! value), `sensitivity.svg` (a tornado of the recommendation's advantage over the
//! reference across each assumption's range) and the robustness sentences of `report.md`.
//! `crate::study::sensitivity` runs the simulations.

use std::fmt::Write as _;

use crate::output::compare::Paired;
use crate::output::plots::axis_label;
use crate::output::report::Robustness;
use crate::output::tables::num;

/// One assumption varied, and its range.
#[derive(Clone, Debug, PartialEq)]
pub struct Varied {
    pub parameter: String,
    pub what: String,
    pub current: f64,
    pub low: f64,
    pub high: f64,
}

/// The decision at one value of one assumption.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub parameter: String,
    pub value: f64,
    /// The experiment's own value.
    pub is_current: bool,
    /// `reweighted` or `simulated`.
    pub method: &'static str,
    pub recommended: Option<String>,
    pub frontier: Vec<String>,
    /// The experiment's recommendation against [`Findings::versus`], that design minus
    /// it: positive is an advantage (fewer attacker-hours, fewer prompts).
    pub advantage_hours: Option<Paired>,
    pub advantage_prompts: Option<Paired>,
    /// When another design is recommended here: its exposure minus the experiment's
    /// recommendation's.
    pub new_versus_base: Option<Paired>,
    /// The eligible design within the prompt budget whose exposure comes closest to the
    /// experiment's recommendation here, and its exposure minus the recommendation's.
    pub closest_rival: Option<(String, Paired)>,
}

/// Everything the sensitivity study found.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    pub reference: String,
    /// What the recommendation's advantage is measured against: the reference, or the
    /// runner-up when the recommendation is the reference.
    pub versus: Option<String>,
    /// The experiment's recommendation (at every assumption's current value).
    pub recommended: Option<String>,
    pub varied: Vec<Varied>,
    pub points: Vec<Point>,
}

impl Findings {
    fn points_of<'a>(&'a self, parameter: &'a str) -> impl Iterator<Item = &'a Point> + 'a {
        self.points.iter().filter(move |p| p.parameter == parameter)
    }

    /// Whether a point overturns the experiment's recommendation.
    fn overturns(&self, p: &Point) -> bool {
        p.recommended != self.recommended
    }
}

/// `sensitivity.csv`.
pub fn sensitivity_csv(f: &Findings) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "parameter",
        "value",
        "current",
        "method",
        "recommended",
        "recommendation_changed",
        "frontier",
        "frontier_changed",
        "versus",
        "advantage_attacker_hours",
        "advantage_attacker_hours_ci95",
        "advantage_prompts",
        "advantage_prompts_ci95",
    ])?;
    for v in &f.varied {
        let base_frontier = f
            .points_of(&v.parameter)
            .find(|p| p.is_current)
            .map(|p| p.frontier.clone())
            .unwrap_or_default();
        for p in f.points_of(&v.parameter) {
            w.write_record([
                p.parameter.as_str(),
                &format!("{}", p.value),
                &p.is_current.to_string(),
                p.method,
                p.recommended.as_deref().unwrap_or(""),
                &f.overturns(p).to_string(),
                &p.frontier.join(";"),
                &(p.frontier != base_frontier).to_string(),
                f.versus.as_deref().unwrap_or(""),
                &num(p.advantage_hours.map(|a| a.difference)),
                &num(p.advantage_hours.and_then(|a| a.ci95)),
                &num(p.advantage_prompts.map(|a| a.difference)),
                &num(p.advantage_prompts.and_then(|a| a.ci95)),
            ])?;
        }
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error().into())
}

fn value(v: f64) -> String {
    axis_label((v * 1e6).round() / 1e6)
}

/// What overturns the recommendation along one assumption: on each side of the current
/// value, the tested value nearest to it that recommends another design, that design, and
/// the next tested value toward the current one (where the recommendation still holds).
fn overturn_sides(f: &Findings, v: &Varied) -> Vec<String> {
    let points: Vec<&Point> = f.points_of(&v.parameter).collect();
    let Some(cur) = points.iter().position(|p| p.is_current) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Below: walk down from the current value to the first value that overturns.
    if let Some(i) = (0..cur).rev().find(|&i| f.overturns(points[i])) {
        let holds = points[i + 1];
        out.push(format!(
            "if `{}` is {} or lower, **{}** is recommended instead (at {} the recommendation holds){}",
            v.parameter,
            value(points[i].value),
            points[i].recommended.as_deref().unwrap_or("no design"),
            value(holds.value),
            tie(points[i])
        ));
    }
    if let Some(i) = (cur + 1..points.len()).find(|&i| f.overturns(points[i])) {
        let holds = points[i - 1];
        out.push(format!(
            "if `{}` is {} or higher, **{}** is recommended instead (at {} the recommendation holds){}",
            v.parameter,
            value(points[i].value),
            points[i].recommended.as_deref().unwrap_or("no design"),
            value(holds.value),
            tie(points[i])
        ));
    }
    out
}

fn tie(p: &Point) -> &'static str {
    match p.new_versus_base {
        Some(d) if d.ci95.is_some() && d.sign() == 0 => {
            ", though there the two are indistinguishable in exposure at this precision"
        }
        _ => "",
    }
}

/// The report's robustness: a sentence a reader can act on, and one line per assumption.
pub fn robustness(f: &Findings) -> Robustness {
    let m = f.varied.len();
    let mut sides = Vec::new();
    let mut robust = 0;
    let mut lines = Vec::new();
    for v in &f.varied {
        let s = overturn_sides(f, v);
        let points: Vec<&Point> = f.points_of(&v.parameter).collect();
        let base_frontier = points
            .iter()
            .find(|p| p.is_current)
            .map(|p| p.frontier.clone());
        let frontier_moves: Vec<String> = points
            .iter()
            .filter(|p| Some(&p.frontier) != base_frontier.as_ref())
            .map(|p| {
                let base = base_frontier.clone().unwrap_or_default();
                let added: Vec<&str> = p
                    .frontier
                    .iter()
                    .filter(|d| !base.contains(d))
                    .map(String::as_str)
                    .collect();
                let dropped: Vec<&str> = base
                    .iter()
                    .filter(|d| !p.frontier.contains(d))
                    .map(String::as_str)
                    .collect();
                let mut what = Vec::new();
                if !added.is_empty() {
                    what.push(format!("joined by {}", added.join(", ")));
                }
                if !dropped.is_empty() {
                    what.push(format!("without {}", dropped.join(", ")));
                }
                format!("{} ({})", value(p.value), what.join("; "))
            })
            .collect();
        let adv: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| p.advantage_hours.map(|a| (p.value, a.difference)))
            .collect();
        let range = match (adv.first(), adv.last(), &f.versus) {
            (Some(a), Some(b), Some(versus)) => format!(
                "; the recommendation has {:+.1} attacker-hours per 1,000 users-year fewer than {versus} at {}, {:+.1} at {}",
                a.1,
                value(a.0),
                b.1,
                value(b.0)
            ),
            _ => String::new(),
        };
        let verdict = if s.is_empty() {
            robust += 1;
            "the recommendation holds".to_string()
        } else {
            s.join("; ")
        };
        let frontier = if frontier_moves.is_empty() {
            "the frontier stays the same".to_string()
        } else {
            format!("the frontier changes at {}", frontier_moves.join(", "))
        };
        lines.push(format!(
            "`{}` ({}; {} here, tried {} to {}): {verdict}; {frontier}{range}.",
            v.parameter,
            v.what,
            value(v.current),
            value(v.low),
            value(v.high)
        ));
        sides.extend(s);
    }
    let headline = match &f.recommended {
        None => format!(
            "no design is recommended with the experiment's values, so there is no recommendation to test; {m} assumptions were varied (see below)"
        ),
        Some(name) if sides.is_empty() => format!(
            "robust to all {m} assumptions varied: **{name}** stays recommended across every documented range (docs/sensitivity.md)"
        ),
        Some(_) => format!(
            "robust to {robust} of {m} assumptions varied across their documented ranges (docs/sensitivity.md); {}",
            sides.join("; ")
        ),
    };
    // The closest call: where a rival within the budgets comes nearest the recommendation.
    let closest = f
        .points
        .iter()
        .filter_map(|p| p.closest_rival.as_ref().map(|(n, d)| (p, n, d)))
        .min_by(|a, b| {
            a.2.difference
                .partial_cmp(&b.2.difference)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let headline = match (closest, &f.recommended) {
        (Some((p, name, d)), Some(_)) if sides.is_empty() => {
            let ci = d.ci95.map_or(String::new(), |c| format!(" ± {c:.1}"));
            format!(
                "{headline}. The closest call: at `{}` = {}, **{name}** has {:+.1}{ci} attacker-hours per 1,000 users-year against it; no other design within the budgets comes closer",
                p.parameter,
                value(p.value),
                d.difference
            )
        }
        _ => headline,
    };
    Robustness {
        headline: capitalise_first(&headline),
        lines,
    }
}

fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `sensitivity.svg`: a tornado of the recommendation's advantage in attacker-hours over
/// [`Findings::versus`], one row per assumption (widest swing on top), a dot per tested value,
/// red where another design is recommended, the experiment's values on a dashed line.
pub fn sensitivity_svg(name: &str, f: &Findings) -> String {
    let rows: Vec<(&Varied, Vec<&Point>)> = {
        let mut r: Vec<(&Varied, Vec<&Point>, f64)> = f
            .varied
            .iter()
            .map(|v| {
                let pts: Vec<&Point> = f.points_of(&v.parameter).collect();
                let adv: Vec<f64> = pts
                    .iter()
                    .filter_map(|p| p.advantage_hours.map(|a| a.difference))
                    .collect();
                let swing = adv.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - adv.iter().copied().fold(f64::INFINITY, f64::min);
                (v, pts, if swing.is_finite() { swing } else { 0.0 })
            })
            .collect();
        r.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
        r.into_iter().map(|(v, p, _)| (v, p)).collect()
    };
    let row_h = 34.0;
    let (left, right, top) = (290.0, 880.0, 90.0);
    let height = top + row_h * rows.len() as f64 + 130.0;
    let width = 1100.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let title = match &f.recommended {
        Some(r) => format!("{name}: how the assumptions move the advantage of {r}"),
        None => format!("{name}: no design is recommended, nothing to test"),
    };
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="32" font-size="18" text-anchor="middle">{}</text>"#,
        width / 2.0,
        esc(&title)
    );
    let versus = match &f.versus {
        Some(v) if *v == f.reference => format!("the reference, {v}"),
        Some(v) => format!("the runner-up, {v} (the recommendation is the reference)"),
        None => "no other design".to_string(),
    };
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="56" font-size="13" text-anchor="middle">attacker-hours per 1,000 users-year fewer than {}; bars span each assumption's documented range</text>"#,
        width / 2.0,
        esc(&versus)
    );
    let all: Vec<f64> = f
        .points
        .iter()
        .filter_map(|p| p.advantage_hours.map(|a| a.difference))
        .collect();
    let (mut lo, mut hi) = (
        all.iter().copied().fold(0.0, f64::min),
        all.iter().copied().fold(0.0, f64::max),
    );
    if hi - lo <= 0.0 {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.08;
    let (lo, hi) = (lo - pad, hi + pad);
    let px = |x: f64| left + (x - lo) / (hi - lo) * (right - left);
    let bottom = top + row_h * rows.len() as f64;
    // Ticks.
    let step = {
        let raw = (hi - lo) / 6.0;
        let mag = 10f64.powf(raw.log10().floor());
        let m = raw / mag;
        mag * if m <= 1.0 {
            1.0
        } else if m <= 2.0 {
            2.0
        } else if m <= 5.0 {
            5.0
        } else {
            10.0
        }
    };
    let mut t = (lo / step).ceil() * step;
    while t <= hi {
        let x = px(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#eeeeee"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            bottom + 18.0,
            esc(&axis_label((t * 1e6).round() / 1e6))
        );
        t += step;
    }
    let zero = px(0.0);
    let _ = writeln!(
        s,
        r##"<line x1="{zero:.1}" y1="{top:.1}" x2="{zero:.1}" y2="{bottom:.1}" stroke="#333333"/>"##
    );
    let current = f
        .points
        .iter()
        .find(|p| p.is_current)
        .and_then(|p| p.advantage_hours.map(|a| a.difference));
    if let Some(c) = current {
        let x = px(c);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#1f5fa8" stroke-width="1.5" stroke-dasharray="6,4"/>"##,
            top - 6.0,
            bottom
        );
    }
    for (k, (v, pts)) in rows.iter().enumerate() {
        let y = top + row_h * (k as f64 + 0.5);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"#,
            left - 10.0,
            y + 4.0,
            esc(&v.parameter)
        );
        let adv: Vec<(f64, &Point)> = pts
            .iter()
            .filter_map(|p| p.advantage_hours.map(|a| (a.difference, *p)))
            .collect();
        if adv.is_empty() {
            continue;
        }
        let a = adv.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
        let b = adv.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="14" fill="#c9d6e8"/>"##,
            px(a),
            y - 7.0,
            (px(b) - px(a)).max(1.0)
        );
        for (x, p) in &adv {
            let colour = if p.recommended != f.recommended {
                "#c81e2d"
            } else {
                "#1f5fa8"
            };
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{colour}"/>"#,
                px(*x)
            );
        }
        // The bar's ends, labelled with the parameter's value there.
        let by = |a: &&(f64, &Point), b: &&(f64, &Point)| {
            a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal)
        };
        let ends = [
            (adv.iter().min_by(by), "end", -8.0),
            (adv.iter().max_by(by), "start", 8.0),
        ];
        for (end, anchor, dx) in ends {
            let Some((x, p)) = end else { continue };
            let mut text = value(p.value);
            if p.recommended != f.recommended {
                text.push_str(&format!(
                    " → {}",
                    p.recommended.as_deref().unwrap_or("none")
                ));
            }
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}" fill="#444444">{}</text>"##,
                px(*x) + dx,
                y + 4.0,
                esc(&text)
            );
        }
    }
    let ly = bottom + 50.0;
    let _ = writeln!(
        s,
        r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#1f5fa8"/>"##,
        left,
        ly - 4.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{ly:.1}" font-size="12">a tested value: the recommendation holds</text>"#,
        left + 10.0
    );
    let _ = writeln!(
        s,
        r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#c81e2d"/>"##,
        left,
        ly + 14.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="12">a tested value where another design is recommended (named at the bar's end when it is one)</text>"#,
        left + 10.0,
        ly + 18.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#1f5fa8" stroke-width="1.5" stroke-dasharray="6,4"/>"##,
        left - 6.0,
        ly + 32.0,
        left + 6.0,
        ly + 32.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="12">the experiment's values; labels at the bars' ends are the assumption's values there</text>"#,
        left + 10.0,
        ly + 36.0
    );
    s.push_str("</svg>\n");
    s
}
