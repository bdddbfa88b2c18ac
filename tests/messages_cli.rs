//! Messages name the input and the field, never blame sessionsim for input a user can
//! produce, escape what they copy into TOML, and count in words (issue 35). All run the
//! real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn calibrate(log: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "calibrate".to_string(),
        log.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--rounds".into(),
        "1".into(),
        "--simulated-users".into(),
        "10".into(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

/// A CSV log: `header` then one row per user and day from `row(user, day)`.
fn csv_log(dir: &Path, name: &str, header: &str, row: impl Fn(u32, u32) -> String) -> PathBuf {
    let mut text = format!("{header}\n");
    for day in 5..12 {
        for user in 0..20 {
            text.push_str(&row(user, day));
            text.push('\n');
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn assert_exit(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("please report"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` in {err}");
    }
}

#[test]
fn a_log_without_a_client_column_fits_apps_as_either() {
    // Regression: "calibrate wrote a population it cannot read (please report this)".
    let tmp = tempfile::tempdir().unwrap();
    let log = csv_log(
        tmp.path(),
        "log.csv",
        "createdDateTime,userPrincipalName,appDisplayName,isInteractive",
        |u, d| format!("2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Microsoft Teams,True"),
    );
    let out = tmp.path().join("fitted.toml");
    let o = calibrate(&log, &out, &[]);
    assert_exit(&o, 0, &[]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("app = \"teams\"") && text.contains("client = \"either\""),
        "{text}"
    );
    assert!(text.contains("does not say the client"), "{text}");
}

#[test]
fn a_log_of_unmodelled_apps_or_of_attackers_only_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fitted.toml");
    let log = csv_log(
        tmp.path(),
        "salesforce.csv",
        "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive",
        |u, d| format!("2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Salesforce,Browser,True"),
    );
    let o = calibrate(&log, &out, &[]);
    assert_exit(&o, 2, &["salesforce.csv", "Salesforce", "models"]);
    assert!(!out.exists());
    // The simulator's own log, attacker rows only.
    let log = csv_log(
        tmp.path(),
        "attackers.csv",
        "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,actor,outcome",
        |u, d| {
            format!("2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Microsoft Teams,Browser,True,attacker,silent")
        },
    );
    let o = calibrate(&log, &out, &[]);
    assert_exit(&o, 2, &["attackers.csv", "attacker rows"]);
    assert!(!out.exists());
}

#[test]
fn newlines_in_file_names_and_group_values_stay_in_their_comments() {
    // Regression: a file name holding a newline injected a key into the population.
    let tmp = tempfile::tempdir().unwrap();
    let log = csv_log(
        tmp.path(),
        "log\nname = \"injected\"\n.csv",
        "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,department",
        |u, d| {
            let dept = if u % 2 == 0 {
                "\"sales\nroles = [\"\"62e90394-69f5-4237-9190-012177145e10\"\"]\""
            } else {
                "other"
            };
            format!(
                "2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Microsoft Teams,Browser,True,{dept}"
            )
        },
    );
    let out = tmp.path().join("fitted.toml");
    let o = calibrate(&log, &out, &["--group-by", "department"]);
    assert_exit(&o, 0, &[]);
    let population = sessionsim::world::population::Population::load(&out).unwrap();
    assert_eq!(population.name, "fitted");
    assert!(population.personas.iter().all(|p| p.roles.is_empty()));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("log\\nname = \"injected\"\\n.csv"), "{text}");
}

#[test]
fn a_group_called_other_does_not_collide_with_the_smaller_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let log = csv_log(
        tmp.path(),
        "log.csv",
        "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,department",
        |u, d| {
            let dept = if u < 10 {
                "other".to_string()
            } else {
                format!("team{u}")
            };
            format!(
                "2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Microsoft Teams,Browser,True,{dept}"
            )
        },
    );
    let out = tmp.path().join("fitted.toml");
    let o = run(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--group-by",
        "department",
        "--rounds",
        "1",
        "--simulated-users",
        "10",
        "--quiet",
    ]);
    assert_exit(&o, 0, &[]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("name = \"other (2)\""), "{text}");
}

#[test]
fn seeds_of_2_to_the_63_or_more_are_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    for seed in ["9223372036854775808", "18446744073709551615"] {
        for command in ["run", "sensitivity"] {
            let o = run(&[
                command,
                "tests/data/tiny.toml",
                "--quiet",
                "--seed",
                seed,
                "--out",
                out.to_str().unwrap(),
            ]);
            assert_exit(&o, 2, &["--seed", seed]);
        }
        let o = run(&[
            "calibrate",
            "tests/data/signins/graph-lines.jsonl",
            "--out",
            tmp.path().join("f.toml").to_str().unwrap(),
            "--seed",
            seed,
        ]);
        assert_exit(&o, 2, &["--seed", seed]);
    }
    assert!(!out.exists());
    // The largest accepted seed runs, and --seed 0 with the check (whose stream would
    // have wrapped past 2^63).
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--users",
        "10",
        "--seed",
        "9223372036854775807",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0, &[]);
    let o = calibrate(
        &root().join("tests/data/signins/graph-lines.jsonl"),
        &tmp.path().join("f.toml"),
        &["--seed", "0", "--policies", "models/policies/baseline.json"],
    );
    assert_exit(&o, 0, &[]);
}

#[test]
fn a_file_of_the_wrong_kind_is_named_as_such() {
    // Regression: `validate README.md` said "expected '.', '='", and `trace` of an
    // experiment "unknown field 'name'".
    let o = run(&["validate", "README.md"]);
    assert_exit(
        &o,
        2,
        &[
            "README.md",
            "not a scenario, population, experiment or policy file",
            "not TOML",
        ],
    );
    let o = run(&["trace", "experiments/quickstart.toml"]);
    assert_exit(
        &o,
        2,
        &[
            "quickstart.toml",
            "is an experiment, not a scenario",
            "sessionsim run",
        ],
    );
    let o = run(&["trace", "README.md"]);
    assert_exit(&o, 2, &["README.md", "not a scenario", "not TOML"]);
    let o = run(&[
        "run",
        "models/scenarios/seed-3b-return-outside-cycle.toml",
        "--quiet",
    ]);
    assert_exit(
        &o,
        2,
        &["is a scenario, not an experiment", "sessionsim trace"],
    );
    let o = run(&["run", "models/populations/quickstart.toml", "--quiet"]);
    assert_exit(&o, 2, &["is a population, not an experiment"]);
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "calibrate",
        "tests/data/signins/graph-lines.jsonl",
        "--out",
        tmp.path().join("f.toml").to_str().unwrap(),
        "--template",
        "experiments/quickstart.toml",
    ]);
    assert_exit(&o, 2, &["--template", "is an experiment, not a population"]);
}

#[test]
fn counts_of_one_are_singular() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("one.toml");
    std::fs::write(
        &exp,
        format!(
            "name = \"one\"\npopulation = \"{}\"\nusers = 1\ndays = 1\nreplicates = 1\nseed = 1\n[[design]]\nname = \"d\"\npolicies = \"{}\"\n",
            root().join("models/populations/quickstart.toml").display(),
            root().join("models/policies/none.json").display()
        ),
    )
    .unwrap();
    let o = run(&["validate", exp.to_str().unwrap()]);
    assert_exit(&o, 0, &[]);
    assert!(
        stdout(&o).contains("1 design x 1 replicate x 1 user x 1 day"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "run",
        exp.to_str().unwrap(),
        "--threads",
        "1",
        "--out",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert_exit(
        &o,
        0,
        &["1 user x 1 day x 1 design x 1 replicate", "on 1 thread:"],
    );
    let report = std::fs::read_to_string(tmp.path().join("out/report.md")).unwrap();
    assert!(
        report.contains("1 prompt per user-day")
            && report.starts_with("# one: results\n")
            && report.contains("1 user of the"),
        "{report}"
    );
    // One persona.
    let log = csv_log(
        tmp.path(),
        "log.csv",
        "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive",
        |u, d| format!("2026-01-{d:02}T09:{u:02}:00Z,u{u}@x.example,Microsoft Teams,Browser,True"),
    );
    let o = run(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        tmp.path().join("f.toml").to_str().unwrap(),
        "--rounds",
        "1",
        "--simulated-users",
        "10",
    ]);
    assert_exit(&o, 0, &["1 persona fitted"]);
}
