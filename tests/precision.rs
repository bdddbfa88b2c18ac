//! `run --precision` (issue 34): replicates added in deterministic batches until every
//! deciding paired difference is within the target, or `max_replicates`.

mod common;

use std::path::Path;

use common::*;

fn run_into(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "tests/data/tiny.toml",
        "--users",
        "120",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
    o
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn manifest_without_timing(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&read(dir, "manifest.json")).unwrap();
    v.as_object_mut().unwrap().remove("run");
    v["counters"]
        .as_object_mut()
        .unwrap()
        .remove("wall_seconds");
    v
}

#[test]
fn a_precision_target_gives_the_same_bytes_on_one_and_two_threads_and_is_met() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    run_into(&one, &["--precision", "20%", "--threads", "1"]);
    run_into(&two, &["--precision", "20%", "--threads", "2"]);
    for f in [
        "summary.csv",
        "replicates.csv",
        "breakdown.csv",
        "comparisons.csv",
        "report.md",
        "frontier.svg",
        "exposure.svg",
    ] {
        assert!(
            read(&one, f) == read(&two, f),
            "{f} differs between 1 and 2 threads"
        );
    }
    assert_eq!(manifest_without_timing(&one), manifest_without_timing(&two));
    let report = read(&one, "report.md");
    let line = report
        .lines()
        .find(|l| l.starts_with("**Precision**: target ±20% reached"))
        .unwrap_or_else(|| panic!("{report}"));
    // Every deciding difference is within the target: the widest is said, and at most 20%.
    let widest: f64 = line
        .split("within ±")
        .nth(1)
        .and_then(|x| x.split('%').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(widest <= 20.0, "{line}");
    // The tables are those of a plain run of the replicates reached: replicate k is the
    // same whatever batch it was in.
    let reached = csv_rows(&read(&one, "summary.csv"))[0]["replicates"].clone();
    assert!(
        reached.parse::<u32>().unwrap() > 2,
        "batches were added: {reached}"
    );
    let manifest = manifest_without_timing(&one);
    assert_eq!(manifest["precision"], 0.2);
    assert_eq!(manifest["replicates"].to_string(), reached);
    assert_eq!(manifest["reference"], "defaults");
    let plain = tmp.path().join("plain");
    run_into(&plain, &["--replicates", &reached]);
    for f in [
        "summary.csv",
        "replicates.csv",
        "breakdown.csv",
        "comparisons.csv",
    ] {
        assert!(
            read(&one, f) == read(&plain, f),
            "{f} differs from --replicates {reached}"
        );
    }
}

#[test]
fn max_replicates_stops_a_target_that_is_not_reached_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("tests/data/tiny.toml"))
        .unwrap()
        .replace("../../models/", &format!("{}/models/", root().display()))
        .replace(
            "replicates = 2",
            "replicates = 2\nprecision = \"0.1%\"\nmax_replicates = 3",
        );
    let path = temp_file(&dir, "capped.toml", &text);
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        path.to_str().unwrap(),
        "--users",
        "60",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("not reached"), "{}", stderr(&o));
    let report = read(&out, "report.md");
    assert!(
        report.contains("target ±0.1% **not reached**: `max_replicates` (3) stopped the run"),
        "{report}"
    );
    assert_eq!(csv_rows(&read(&out, "summary.csv"))[0]["replicates"], "3");
}

#[test]
fn a_precision_target_with_rows_or_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for extra in [["--signin-log", ""], ["--shard", "1/2"]] {
        let out = tmp.path().join("x");
        let mut args = vec![
            "run",
            "tests/data/tiny.toml",
            "--precision",
            "5%",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(extra.iter().filter(|a| !a.is_empty()));
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--precision"), "{}", stderr(&o));
    }
}

#[test]
fn oversample_multiplies_every_mechanisms_attempts_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(root().join("tests/data/tiny.toml"))
        .unwrap()
        .replace("../../models/", &format!("{}/models/", root().display()));
    let with = |extra: &str| {
        sessionsim::study::experiment::Experiment::parse(
            &dir.path().join("x.toml"),
            &tiny.replace("seed = 7", &format!("seed = 7\n{extra}")),
        )
    };
    let plain = with("").unwrap();
    let four = with("oversample = 4").unwrap();
    let (a, b) = (&plain.population.threat, &four.population.threat);
    assert_eq!(b.aitm.attempts_per_user, 4.0 * a.aitm.attempts_per_user);
    assert_eq!(
        b.infostealer.attempts_per_user,
        4.0 * a.infostealer.attempts_per_user
    );
    assert_eq!(
        b.push_bombing.attempts_per_user,
        4.0 * a.push_bombing.attempts_per_user
    );
    // The same expected rates: more simulated attempts, each weighted less.
    let (sa, sb) = (plain.sampling(), four.sampling());
    for (x, y) in sa.iter().zip(&sb) {
        assert!((y - 4.0 * x).abs() <= 1e-9 * y.abs(), "{x} {y}");
    }
    for bad in ["oversample = 0", "oversample = -1", "oversample = 1000"] {
        let err = with(bad).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("oversample"), "{bad}: {err}");
    }
}
