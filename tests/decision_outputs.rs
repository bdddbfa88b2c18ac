//! Sweeps, the Pareto flags, frontier.svg and report.md.

mod common;

use common::*;
use sessionsim::output::{dominates, DesignSummary, Metrics};
use sessionsim::study::experiment::Experiment;

#[test]
fn a_sweep_expands_to_the_full_grid_with_readable_names() {
    let exp = Experiment::load(&root().join("tests/data/sweep.toml")).unwrap();
    let names: Vec<&str> = exp.designs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 1 + 3 * 2 * 2);
    assert_eq!(names[0], "defaults");
    assert_eq!(names[1], "sif=1h,persist=always,cae=on");
    assert_eq!(names[2], "sif=1h,persist=always,cae=strict_location");
    assert_eq!(
        names[12],
        "sif=every_time,persist=never,cae=strict_location"
    );
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    // Each generated design carries the base policies plus one policy with its controls.
    let base = exp.designs[1].policies.len();
    assert_eq!(base, 2, "mfa-all-users.json plus the sweep policy");
}

#[test]
fn sweeps_over_every_dimension_parse_and_bad_values_are_refused() {
    let dir = root().join("tests/data");
    let text = |sweep: &str| {
        format!("name = \"s\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 5\ndays = 1\n[sweep]\n{sweep}\n")
    };
    let ok = Experiment::parse(&dir.join("x.toml"), &text("remember_mfa = [\"0d\", \"14d\"]\ntoken_protection = [false, true]\nmfa = [{ push = 1.0 }, { push_number_match = 0.5, passkey = 0.5 }]")).unwrap();
    let names: Vec<&str> = ok.designs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 8);
    assert!(
        names.contains(
            &"remember_mfa=14d,token_protection=on,mfa=push_number_match:0.5+passkey:0.5"
        ),
        "{names:?}"
    );
    for (bad, field) in [
        ("sign_in_frequency = [\"1x\"]", "sweep.sign_in_frequency[0]"),
        (
            "persistent_browser = [\"sometimes\"]",
            "sweep.persistent_browser[0]",
        ),
        ("cae = [\"strict\"]", "sweep.cae[0]"),
        ("mfa = [{ push = 0.5 }]", "sweep.mfa[0]"),
        (
            "policies = \"nope.json\"\nsign_in_frequency = [\"1h\"]",
            "sweep.policies",
        ),
    ] {
        let err = Experiment::parse(&dir.join("x.toml"), &text(bad)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{bad}: {err}");
    }
    let err = Experiment::parse(&dir.join("x.toml"), &text("")).unwrap_err();
    assert!(err.to_string().contains("at least one list"), "{err}");
}

fn design(name: &str, prompts: f64, exposure: f64) -> DesignSummary {
    let m = Metrics {
        prompts_per_user_day: Some(prompts),
        attacker_hours_per_1000_users_year: Some(exposure),
        ..Metrics::default()
    };
    DesignSummary {
        name: name.into(),
        pooled: m.clone(),
        replicates: vec![m],
        prompts_ci95: None,
        mfa_ci95: None,
        exposure_ci95: None,
        attacker_hours_ci95: None,
        survival: Vec::new(),
        pareto: None,
        ..DesignSummary::default()
    }
}

#[test]
fn pareto_flags_on_a_hand_made_case() {
    // a and c trade off; b is beaten by a on both; d ties a on prompts with more exposure.
    let pts = [
        ("a", 1.0, 10.0),
        ("b", 2.0, 12.0),
        ("c", 3.0, 1.0),
        ("d", 1.0, 11.0),
    ];
    let flags: Vec<bool> = pts
        .iter()
        .map(|(_, x, y)| {
            !pts.iter()
                .any(|(_, qx, qy)| dominates((*qx, *qy), (*x, *y)))
        })
        .collect();
    assert_eq!(flags, [true, false, true, false]);
    let summaries: Vec<DesignSummary> = pts.iter().map(|(n, x, y)| design(n, *x, *y)).collect();
    let best = sessionsim::output::report::best_under_budget(&summaries, 2.0, 0.01).unwrap();
    assert_eq!(best.name, "a", "least exposure within 2 prompts per day");
    assert!(sessionsim::output::report::best_under_budget(&summaries, 0.5, 0.01).is_none());
}

#[test]
fn the_run_writes_a_legible_frontier_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let o = run(&[
        "run",
        "tests/data/sweep.toml",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(out.join("frontier.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("frontier.svg is well-formed XML");
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("class") == Some("design-point"))
        .count();
    assert_eq!(circles, 13, "one point per design");
    let texts: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        texts.contains("prompts per user per working day"),
        "x axis title"
    );
    assert!(
        texts.contains("attacker-hours per 1,000 users per year"),
        "y axis title"
    );
    assert!(
        texts.contains("sif=1h,persist=always,cae=on"),
        "designs are named in the key"
    );
    // The summary's Pareto flags match the report's frontier.
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## The frontier"));
    // The decision comes first, then the designs' contents.
    assert!(report.find("## Recommendation").unwrap() < report.find("## The designs").unwrap());
    assert!(report.contains("## Each design against the reference (defaults)"));
    assert!(report.contains("(the first design listed; set `reference"));
    for row in &summary {
        let listed = report.contains(&format!("| {} |", row["design"]));
        assert!(listed, "{} appears in the report", row["design"]);
    }
    let frontier: Vec<&str> = summary
        .iter()
        .filter(|r| r["pareto"] == "true")
        .map(|r| r["design"].as_str())
        .collect();
    assert!(!frontier.is_empty());
    let frontier_section = report
        .split("## The frontier")
        .nth(1)
        .unwrap()
        .split("## Each design")
        .next()
        .unwrap();
    for name in frontier {
        assert!(
            frontier_section.contains(&format!("| {name} |"))
                || frontier_section.contains(&format!("| {name} (recommended) |")),
            "{name} in the frontier table"
        );
    }
    // The vector mix: every design's thefts by mechanism, and what drives its exposure.
    assert!(report.contains("## How the designs are attacked"));
    assert!(report.contains("| design | AiTM phishing | infostealers | push bombing |"));
    // exposure.svg: one survival curve per design with thefts, named in the key.
    let svg = std::fs::read_to_string(out.join("exposure.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("exposure.svg is well-formed XML");
    let texts: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        texts.contains("Share of thefts still working"),
        "y axis title"
    );
    assert!(texts.contains("sif=every_time,persist=never,cae=strict_location"));
    let curves = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .count();
    assert!(curves >= 13, "a curve per design: {curves}");
}
