//! `sessionsim sensitivity` (issue 34): each assumption across its documented range, rates
//! by reweighting, the rest simulated again with common random numbers; the sentence a
//! reader can act on.

mod common;

use common::*;
use sessionsim::output::compare::Paired;
use sessionsim::output::sensitivity::{robustness, Findings, Point, Varied};
use sessionsim::output::summarize;
use sessionsim::study::experiment::{Experiment, RunOptions};
use sessionsim::study::runner::run as simulate;

#[test]
fn reweighting_a_rate_gives_what_simulating_it_again_gives() {
    // Scaling a mechanism's rate scales its oversampling down by as much: the simulated
    // attempts are the same, so reading the experiment's accumulators with the new weight
    // is exact.
    let exp = Experiment::load(&root().join("tests/data/tiny.toml")).unwrap();
    let exp = Experiment { users: 60, ..exp };
    let base = simulate(&exp, &RunOptions::default(), &|_, _| {}, None).unwrap();
    let mut scaled = exp.clone();
    scaled.population.threat.aitm.lures_per_user_year *= 2.8;
    let again = simulate(&scaled, &RunOptions::default(), &|_, _| {}, None).unwrap();
    assert_eq!(base.cells, again.cells, "the same simulated attempts");
    let (a, b) = (summarize(&scaled, &base), summarize(&scaled, &again));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.pooled, y.pooled);
    }
    let plain = summarize(&exp, &base);
    let aitm = sessionsim::model::Mechanism::Aitm.index();
    let (p, q) = (
        plain[0].pooled.thefts_by_mechanism_per_1000_users_year[aitm].unwrap(),
        a[0].pooled.thefts_by_mechanism_per_1000_users_year[aitm].unwrap(),
    );
    assert!((q / p - 2.8).abs() < 1e-9, "{p} -> {q}");
}

fn point(value: f64, current: bool, recommended: &str, advantage: f64) -> Point {
    Point {
        parameter: "habituation".into(),
        value,
        is_current: current,
        method: "simulated",
        recommended: Some(recommended.into()),
        frontier: vec!["x".into(), "y".into()],
        advantage_hours: Some(Paired {
            difference: advantage,
            ci95: Some(1.0),
            scale: 10.0,
        }),
        advantage_prompts: None,
        new_versus_base: None,
        closest_rival: None,
    }
}

#[test]
fn the_report_says_which_value_overturns_the_recommendation() {
    let f = Findings {
        reference: "ref".into(),
        versus: Some("ref".into()),
        recommended: Some("x".into()),
        varied: vec![
            Varied {
                parameter: "habituation".into(),
                what: "habituation".into(),
                current: 0.2,
                low: 0.0,
                high: 0.5,
            },
            Varied {
                parameter: "detected_share".into(),
                what: "detection".into(),
                current: 0.5,
                low: 0.2,
                high: 0.8,
            },
        ],
        points: vec![
            point(0.0, false, "y", -3.0),
            point(0.1, false, "x", 2.0),
            point(0.2, true, "x", 5.0),
            point(0.5, false, "x", 9.0),
            Point {
                parameter: "detected_share".into(),
                ..point(0.5, true, "x", 5.0)
            },
        ],
    };
    let r = robustness(&f);
    assert!(
        r.headline
            .starts_with("Robust to 1 of 2 assumptions varied"),
        "{}",
        r.headline
    );
    assert!(
        r.headline.contains(
            "if `habituation` is 0 or lower, **y** is recommended instead (at 0.1 the recommendation holds)"
        ),
        "{}",
        r.headline
    );
    let svg = sessionsim::output::sensitivity::sensitivity_svg("t", &f);
    roxmltree::Document::parse(&svg).expect("well-formed");
    assert!(svg.contains("0 → y"), "the overturning end is named");
}

#[test]
fn the_sensitivity_command_writes_its_table_chart_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sens");
    let o = run(&[
        "sensitivity",
        "tests/data/tiny.toml",
        "--users",
        "40",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&std::fs::read_to_string(out.join("sensitivity.csv")).unwrap());
    let parameters: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["parameter"].as_str()).collect();
    for p in [
        "aitm.lures_per_user_year",
        "infostealer.per_user_year",
        "push_bombing.attacks_per_user_year",
        "device_compromise.per_user_year",
        "device_code.lures_per_user_year",
        "habituation",
        "detected_share",
        "detection_delay",
        "attacker.mint_refresh_token",
        "attacker.session_gap",
        "tpm_share",
    ] {
        assert!(parameters.contains(p), "{p} varied");
        let current = rows
            .iter()
            .filter(|r| r["parameter"] == p && r["current"] == "true")
            .count();
        assert_eq!(current, 1, "{p} has its current value once");
        assert!(rows.iter().filter(|r| r["parameter"] == p).count() >= 3);
    }
    assert!(rows
        .iter()
        .filter(|r| r["parameter"] == "aitm.lures_per_user_year")
        .all(|r| r["method"] == "reweighted"));
    assert!(rows
        .iter()
        .filter(|r| r["parameter"] == "habituation")
        .all(|r| r["method"] == "simulated"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("**Robustness**: Robust to "), "{report}");
    assert!(report.contains("## Robustness to the model's assumptions"));
    let svg = std::fs::read_to_string(out.join("sensitivity.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("sensitivity.svg is well-formed");
    for f in [
        "summary.csv",
        "comparisons.csv",
        "frontier.svg",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // Determinism: the same bytes on one thread.
    let one = tmp.path().join("one");
    let o = run(&[
        "sensitivity",
        "tests/data/tiny.toml",
        "--users",
        "40",
        "--threads",
        "1",
        "--out",
        one.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success());
    for f in [
        "sensitivity.csv",
        "sensitivity.svg",
        "report.md",
        "summary.csv",
    ] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(one.join(f)).unwrap(),
            "{f} differs between thread counts"
        );
    }
}

#[test]
fn a_bad_experiment_for_sensitivity_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "bad.toml", "name = \"x\"\nusers = 0\n");
    let o = run(&["sensitivity", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.toml"), "{}", stderr(&o));
    // A file of another kind is named as such, as `run` names it.
    let o = run(&["sensitivity", "README.md", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not an experiment"), "{}", stderr(&o));
}

#[test]
fn a_sensitivity_study_with_a_precision_target_runs_every_value_with_the_replicates_reached() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sens");
    let o = run(&[
        "sensitivity",
        "tests/data/tiny.toml",
        "--users",
        "40",
        "--precision",
        "40%",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("**Precision**: target ±40%"), "{report}");
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let reached: u32 = summary[0]["replicates"].parse().unwrap();
    assert!(reached >= 2);
    assert!(
        report.contains(&format!("{reached} replicates")),
        "{report}"
    );
}
