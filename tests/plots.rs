//! The plots as a person reads them (issue 34): `frontier.svg`'s log axis ranged from the
//! data with plain labels, the prompt budget, labels that do not collide, designs over the
//! denied-access budget marked and never on the frontier line, the legend for the bars;
//! `exposure.svg`'s first-48-hours view and censoring ticks. When `rsvg-convert` is
//! installed, both are also rendered to PNG (`scripts/render-plots.sh` does the same for
//! any run) so that a renderer accepts them.

mod common;

use common::*;

fn texts(doc: &roxmltree::Document) -> Vec<(String, f64, f64, Option<String>)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| {
            Some((
                n.text()?.to_string(),
                n.attribute("x")?.parse().ok()?,
                n.attribute("y")?.parse().ok()?,
                n.attribute("class").map(str::to_string),
            ))
        })
        .collect()
}

fn run_quickstart_with_a_blocker(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let text = format!(
        "name = \"plots\"\npopulation = \"{pop}\"\nusers = 80\ndays = 3\nreplicates = 2\nseed = 3\n\
[[design]]\nname = \"none\"\n\
[[design]]\nname = \"mfa\"\npolicies = \"{mfa}\"\n\
[[design]]\nname = \"mfa-4h\"\npolicies = \"{mfa}\"\nsign_in_frequency = \"4h\"\n\
[[design]]\nname = \"mfa-4h-never\"\npolicies = \"{mfa}\"\nsign_in_frequency = \"4h\"\npersistent_browser = \"never\"\n\
[[design]]\nname = \"strict-location\"\npolicies = \"{strict}\"\n",
        pop = root().join("models/populations/quickstart.toml").display(),
        mfa = root().join("models/policies/mfa-all-users.json").display(),
        strict = root().join("models/policies/strict-location.json").display(),
    );
    let path = temp_file(dir, "plots.toml", &text);
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn the_frontier_plot_reads_as_a_person_needs() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_quickstart_with_a_blocker(&dir);
    let svg = std::fs::read_to_string(out.join("frontier.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let t = texts(&doc);
    let all: String = t
        .iter()
        .map(|x| x.0.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Axis labels are plain numbers: no "1000.0", no "0.01" floor unless the data is there.
    for (text, _, _, _) in &t {
        assert!(!text.ends_with(".0"), "label {text:?}");
    }
    assert!(all.contains("prompt budget: 1 per user-day"), "{all}");
    assert!(all.contains("bars: 95% confidence intervals over replicates"));
    assert!(all.contains("strict-location (denies too much"), "{all}");
    // The denied design is drawn hollow and never joined by the frontier line.
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    assert_eq!(
        summary
            .iter()
            .find(|r| r["design"] == "strict-location")
            .unwrap()["pareto"],
        "false"
    );
    let points: Vec<(f64, f64, String)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("design-point"))
        .map(|n| {
            (
                n.attribute("cx").unwrap().parse().unwrap(),
                n.attribute("cy").unwrap().parse().unwrap(),
                n.attribute("fill").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(points.len(), 5);
    assert_eq!(points[4].2, "#ffffff", "the blocker is hollow");
    let line = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("frontier"))
        .map(|n| n.attribute("points").unwrap().to_string())
        .unwrap_or_default();
    let blocker = format!("{:.1},{:.1}", points[4].0, points[4].1);
    assert!(!line.contains(&blocker), "{line} joins {blocker}");
    // Number labels do not collide with each other.
    let labels: Vec<&(String, f64, f64, Option<String>)> = t
        .iter()
        .filter(|x| x.3.as_deref() == Some("point-label"))
        .collect();
    assert_eq!(labels.len(), 5);
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            let apart = (a.1 - b.1).abs() >= 7.0 * a.0.len().max(b.0.len()) as f64
                || (a.2 - b.2).abs() >= 12.0;
            assert!(apart, "labels {a:?} and {b:?} overlap");
        }
    }
    render(&out.join("frontier.svg"));
}

#[test]
fn the_exposure_plot_shows_the_first_48_hours_and_censoring() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_quickstart_with_a_blocker(&dir);
    let svg = std::fs::read_to_string(out.join("exposure.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let all: String = texts(&doc)
        .into_iter()
        .map(|x| x.0)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("The first 48 hours"), "{all}");
    assert!(all.contains("The whole attacker window (336 h"), "{all}");
    assert!(all.contains("censored: still working at the window's end"));
    // Curves are told apart by colour and, past ten designs, dash: no two alike here.
    let styles: std::collections::BTreeSet<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            (
                n.attribute("stroke").unwrap_or("").to_string(),
                n.attribute("stroke-dasharray").unwrap_or("").to_string(),
            )
        })
        .collect();
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let with_thefts = summary.iter().filter(|r| r["thefts"] != "0").count();
    assert_eq!(styles.len(), with_thefts, "{styles:?}");
    render(&out.join("exposure.svg"));
}

/// Renders an SVG to PNG with rsvg-convert when it is installed.
fn render(svg: &std::path::Path) {
    let png = svg.with_extension("png");
    match std::process::Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg)
        .output()
    {
        Ok(o) => {
            assert!(
                o.status.success(),
                "rsvg-convert: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
        }
        Err(_) => eprintln!("rsvg-convert not installed: {} not rendered", svg.display()),
    }
}
