//! Decisions with stated confidence (issue 34): the reference design, paired comparisons in
//! `comparisons.csv`, dominance on paired intervals, designs that deny too much set apart,
//! shards that say so, and `users` with one meaning.

mod common;

use common::*;
use sessionsim::output::compare::{decide, paired, ReferenceWhy, EXPOSURE, PROMPTS};
use sessionsim::output::{dominates, DesignSummary, Metrics};
use sessionsim::study::experiment::Experiment;

fn metrics(prompts: f64, exposure: f64) -> Metrics {
    Metrics {
        prompts_per_user_day: Some(prompts),
        attacker_hours_per_1000_users_year: Some(exposure),
        denied_access_share: Some(0.0),
        ..Metrics::default()
    }
}

/// A design whose replicates have these (prompts, exposure); pooled is their mean.
fn design(name: &str, reps: &[(f64, f64)]) -> DesignSummary {
    let n = reps.len() as f64;
    let (p, e) = reps
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    DesignSummary {
        name: name.into(),
        pooled: metrics(p, e),
        replicates: reps.iter().map(|(x, y)| metrics(*x, *y)).collect(),
        ..DesignSummary::default()
    }
}

fn tiny() -> Experiment {
    Experiment::load(&root().join("tests/data/tiny.toml")).unwrap()
}

#[test]
fn a_design_is_dominated_only_when_the_paired_difference_is_significant() {
    // b has (slightly) more prompts and more exposure than a by points, but the paired
    // differences swing both ways: indistinguishable, so b stays on the frontier. c is
    // worse than a on both axes in every replicate: dominated.
    let a = design("a", &[(1.00, 100.0), (1.00, 50.0), (1.00, 150.0)]);
    let b = design("b", &[(1.02, 110.0), (0.98, 40.0), (1.03, 165.0)]);
    let c = design("c", &[(2.00, 200.0), (2.00, 150.0), (2.00, 250.0)]);
    assert!(
        dominates(a.point().unwrap(), b.point().unwrap()),
        "by points, a dominates b"
    );
    let e = paired(&b, &a, EXPOSURE).unwrap();
    assert_eq!(e.sign(), 0, "{e:?}");
    assert_eq!(paired(&b, &a, PROMPTS).unwrap().sign(), 0);
    let s = vec![a, b, c];
    let d = decide(&tiny(), &s);
    assert_eq!(d.pareto, vec![Some(true), Some(true), Some(false)]);
    assert_eq!(d.dominated_by, vec![None, None, Some(0)]);
    assert_eq!(d.reference, 0);
    assert_eq!(d.reference_why, ReferenceWhy::First);
}

#[test]
fn one_replicate_compares_points() {
    let a = design("a", &[(1.0, 100.0)]);
    let b = design("b", &[(1.1, 110.0)]);
    let d = decide(&tiny(), &[a, b]);
    assert!(!d.intervals);
    assert_eq!(d.pareto, vec![Some(true), Some(false)]);
}

#[test]
fn a_design_over_the_denied_budget_is_never_on_the_frontier_nor_recommended() {
    let mut blocker = design("blocker", &[(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]);
    blocker.pooled.denied_access_share = Some(0.9);
    let ok = design("ok", &[(0.5, 100.0), (0.5, 90.0), (0.5, 110.0)]);
    let d = decide(&tiny(), &[blocker, ok]);
    assert_eq!(d.pareto, vec![Some(false), Some(true)]);
    assert_eq!(d.frontier, vec![1]);
    assert_eq!(d.recommended, Some(1));
    assert_eq!(d.dominated_by[0], None, "set apart, not dominated");
}

fn experiment_file(dir: &tempfile::TempDir, extra: &str, designs: &str) -> std::path::PathBuf {
    let text = format!(
        "name = \"ref\"\npopulation = \"{}\"\nusers = 60\ndays = 3\nreplicates = 2\nseed = 5\n{extra}\n{designs}",
        root().join("models/populations/quickstart.toml").display()
    );
    temp_file(dir, "ref.toml", &text)
}

const DESIGNS: &str = "[[design]]\nname = \"defaults\"\n[[design]]\nname = \"current\"\nsign_in_frequency = \"1d\"\n[[design]]\nname = \"sif-4h\"\nsign_in_frequency = \"4h\"\n";

#[test]
fn the_reference_is_named_else_current_else_first_and_the_report_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::load(&experiment_file(&dir, "", DESIGNS)).unwrap();
    let s = vec![DesignSummary::default(); 3];
    let d = decide(&exp, &s);
    assert_eq!((d.reference, d.reference_why), (1, ReferenceWhy::Current));
    let named =
        Experiment::load(&experiment_file(&dir, "reference = \"sif-4h\"", DESIGNS)).unwrap();
    let d = decide(&named, &s);
    assert_eq!((d.reference, d.reference_why), (2, ReferenceWhy::Named));

    // The run: comparisons.csv has every design against the reference, each metric.
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        experiment_file(&dir, "reference = \"sif-4h\"", DESIGNS)
            .to_str()
            .unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("comparisons.csv")).unwrap();
    assert!(text.starts_with("design,versus,metric,difference,difference_ci95,"));
    let rows = csv_rows(&text);
    for design in ["defaults", "current"] {
        for metric in [
            "prompts_per_user_day",
            "mfa_prompts_per_user_day",
            "attacker_hours_per_1000_users_year",
            "thefts_with_access_per_1000_users_year",
            "denied_access_share",
        ] {
            let row = rows
                .iter()
                .find(|r| r["design"] == design && r["versus"] == "sif-4h" && r["metric"] == metric)
                .unwrap_or_else(|| panic!("{design} vs sif-4h on {metric}"));
            assert!(!row["difference"].is_empty(), "{row:?}");
            assert!(!row["difference_ci95"].is_empty(), "{row:?}");
        }
    }
    // The difference is the difference of the summary's pooled values.
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let value = |d: &str, c: &str| -> f64 {
        summary.iter().find(|r| r["design"] == d).unwrap()[c]
            .parse()
            .unwrap()
    };
    let row = rows
        .iter()
        .find(|r| r["design"] == "defaults" && r["metric"] == "prompts_per_user_day")
        .unwrap();
    let diff: f64 = row["difference"].parse().unwrap();
    assert!(
        (diff
            - (value("defaults", "prompts_per_user_day")
                - value("sif-4h", "prompts_per_user_day")))
        .abs()
            < 2e-4
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("**sif-4h** (named by `reference` in the experiment)")
            || report.contains("It is the reference design itself (named by `reference`"),
        "{report}"
    );
    assert!(report.contains("## Each design against the reference (sif-4h)"));
}

#[test]
fn an_unknown_reference_is_refused_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment_file(&dir, "reference = \"nope\"", DESIGNS);
    let o = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("ref.toml") && err.contains("reference"),
        "{err}"
    );
    assert!(err.contains("no design is named `nope`"), "{err}");
    for (bad, field) in [
        ("precision = \"0%\"", "precision"),
        ("precision = \"five\"", "precision"),
        ("precision = 1.5", "precision"),
        ("max_replicates = 0", "max_replicates"),
        ("max_replicates = 1", "max_replicates"),
    ] {
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("reference = \"nope\"", bad);
        let p = temp_file(&dir, "bad.toml", &text);
        let o = run(&["validate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("bad.toml") && stderr(&o).contains(field),
            "{bad}: {}",
            stderr(&o)
        );
    }
    let o = run(&["run", path.to_str().unwrap(), "--precision", "x%"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_shards_report_says_it_is_a_shard_and_counts_its_own_users() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s1");
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--shard",
        "1/2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("**This is shard 1 of 2**: it simulated 150 of the experiment's 300 users"),
        "{report}"
    );
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    assert!(summary.iter().all(|r| r["users"] == "150"), "{summary:?}");
    let replicates = csv_rows(&std::fs::read_to_string(out.join("replicates.csv")).unwrap());
    assert!(replicates.iter().all(|r| r["users"] == "150"));
}

#[test]
fn a_location_allow_list_that_blocks_everyone_is_explained_with_the_persona_setting() {
    let dir = tempfile::tempdir().unwrap();
    let designs = format!(
        "[[design]]\nname = \"mfa\"\npolicies = \"{}\"\n[[design]]\nname = \"strict-location\"\npolicies = \"{}\"\n",
        root().join("models/policies/mfa-all-users.json").display(),
        root().join("models/policies/strict-location.json").display()
    );
    let path = experiment_file(&dir, "", &designs);
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let denied = report
        .split("## Designs that deny too much access")
        .nth(1)
        .unwrap_or_else(|| panic!("{report}"))
        .split("\n## ")
        .next()
        .unwrap();
    assert!(denied.contains("- **strict-location** denies "), "{denied}");
    assert!(
        denied.contains("`Block untrusted locations - strict location enforcement (CAE)` denies 100% of them: it applies outside trusted locations")
            && denied.contains("`trusted_location`"),
        "{denied}"
    );
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let strict = summary
        .iter()
        .find(|r| r["design"] == "strict-location")
        .unwrap();
    assert_eq!(strict["pareto"], "false");
    let pick = report.split("## Recommendation\n\n").nth(1).unwrap();
    assert!(pick.starts_with("**mfa**"), "{pick}");
}

#[test]
fn a_country_allow_list_names_the_missing_named_location_of_the_personas() {
    // Issue 34's example: a tenant's country allow-list blocks every simulated user,
    // because no persona is placed in its named location.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("models/policies/strict-location.json"))
        .unwrap()
        .replace(
            "\"excludeLocations\": [\n            \"AllTrusted\"\n          ]",
            "\"excludeLocations\": [\"0f9c2a44-1b7e-4c0e-9d1a-3a5e8f6b7c21\"]",
        )
        .replace(
            "Block untrusted locations - strict location enforcement (CAE)",
            "CA010: Block outside allowed countries",
        );
    assert!(text.contains("0f9c2a44"), "the fixture changed: {text}");
    let policy = temp_file(&dir, "country.json", &text);
    let designs = format!(
        "[[design]]\nname = \"none\"\n[[design]]\nname = \"countries\"\npolicies = \"{}\"\n",
        policy.display()
    );
    let path = experiment_file(&dir, "", &designs);
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("`CA010: Block outside allowed countries` denies 100% of them: it applies outside the named location `0f9c2a44-1b7e-4c0e-9d1a-3a5e8f6b7c21`")
            && report.contains("`named_location.trusted = \"0f9c2a44-1b7e-4c0e-9d1a-3a5e8f6b7c21\"`"),
        "{report}"
    );
}

#[test]
fn frontier_neighbours_are_compared_and_decide_the_precision() {
    use sessionsim::output::compare::{compared_pairs, deciding_pairs, worst_relative_half_width};
    // Reference r (first); a, b, c on the frontier by prompts; d dominated by a.
    let r = design("r", &[(3.0, 10.0), (3.0, 11.0), (3.0, 9.0)]);
    let a = design("a", &[(0.2, 100.0), (0.2, 104.0), (0.2, 96.0)]);
    let b = design("b", &[(0.6, 50.0), (0.6, 52.0), (0.6, 48.0)]);
    let c = design("c", &[(1.5, 20.0), (1.5, 21.0), (1.5, 19.0)]);
    let d = design("d", &[(0.4, 200.0), (0.4, 210.0), (0.4, 190.0)]);
    let s = vec![r, a, b, c, d];
    let dec = decide(&tiny(), &s);
    assert_eq!(dec.frontier, vec![1, 2, 3, 0]);
    assert_eq!(dec.dominated_by[4], Some(1));
    assert_eq!(
        dec.recommended,
        Some(2),
        "least exposure within 1 prompt per user-day"
    );
    let pairs = compared_pairs(&dec, s.len());
    // Everyone against the reference, then neighbours not already there.
    assert_eq!(&pairs[..4], &[(1, 0), (2, 0), (3, 0), (4, 0)]);
    assert_eq!(&pairs[4..], &[(2, 1), (3, 2)]);
    let deciding = deciding_pairs(&dec);
    for p in [(2, 1), (3, 2), (0, 3), (4, 1), (2, 0)] {
        assert!(deciding.iter().any(|(q, _)| *q == p), "{p:?} decides");
    }
    let w = worst_relative_half_width(&dec, &s).unwrap();
    assert!(w > 0.0 && w.is_finite(), "{w}");
}

#[test]
fn a_design_and_its_copy_give_the_same_numbers_and_neither_dominates() {
    // Found on a real-export trial: two designs pointing at the same file differed by
    // 2.5% in prompts (token lifetimes were drawn from a stream keyed by the design's
    // place in the experiment), and the report called one dominated by its own copy.
    let tmp = tempfile::tempdir().unwrap();
    let experiment = tmp.path().join("copies.toml");
    let policies = root().join("models/policies/baseline.json");
    std::fs::write(
        &experiment,
        format!(
            "name = \"copies\"\npopulation = {:?}\nusers = 200\ndays = 7\nreplicates = 3\n\
             [[design]]\nname = \"first\"\npolicies = {policies:?}\n\
             [[design]]\nname = \"none\"\n\
             [[design]]\nname = \"copy\"\npolicies = {policies:?}\n",
            root().join("models/populations/quickstart.toml")
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "run",
        experiment.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = csv_rows(&std::fs::read_to_string(out.join("summary.csv")).unwrap());
    let row = |name: &str| {
        let mut r = summary
            .iter()
            .find(|r| r["design"] == name)
            .unwrap()
            .clone();
        r.remove("design");
        r
    };
    assert_eq!(row("first"), row("copy"));
    let comparisons = csv_rows(&std::fs::read_to_string(out.join("comparisons.csv")).unwrap());
    let copy_vs_first: Vec<_> = comparisons
        .iter()
        .filter(|r| r["design"] == "copy" && r["versus"] == "first")
        .collect();
    assert!(!copy_vs_first.is_empty());
    for r in copy_vs_first {
        assert_eq!(r["difference"].parse::<f64>().unwrap(), 0.0, "{r:?}");
        assert_ne!(r["significant"], "true", "{r:?}");
    }
    assert_eq!(row("first")["pareto"], "true");
}
