//! Counterfactual accuracy of `calibrate` (issue 33), as an architect uses it: a known
//! population is run under the tenant's design with its sign-in log; `calibrate` fits a
//! population to that log with the design's policies and a Graph directory export, and
//! no template or group-by; then the original and the fitted populations are both run
//! under the logged design and under designs the log never saw, and their prompts per
//! working user-day compared. `scripts/calibration-roundtrip.py` is the same check at
//! full size; docs/model.md ("Calibration") has its table and what misses and why.
//!
//! That the same rows as a Graph page or Azure Monitor records fit the same population
//! byte for byte is `tests/calibrate_cli.rs`; here the CSV log is used.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::*;

/// Runs sessionsim, asserting success.
fn sessionsim(args: &[&str]) {
    let o = run(args);
    assert!(o.status.success(), "sessionsim {args:?}: {}", stderr(&o));
}

/// A file of the project.
fn project(path: &str) -> PathBuf {
    root().join(path)
}

/// An experiment of one design, without the threat model (prompts only).
fn experiment(dir: &Path, name: &str, population: &Path, policies: &str, seed: u64) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let policies = project("models/policies").join(policies);
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\npopulation = {population:?}\nusers = {USERS}\ndays = 14\nreplicates = 1\nseed = {seed}\n[threat]\nenabled = false\n[[design]]\nname = \"d\"\npolicies = {policies:?}\n"
        ),
    )
    .unwrap();
    path
}

const USERS: u32 = 2000;

fn rows_of(path: &Path) -> Vec<HashMap<String, String>> {
    csv_rows(&std::fs::read_to_string(path).unwrap())
}

/// Prompts per worked user-day, overall ("all") and by device type, with the user-days.
fn prompts_by_device(out: &Path) -> BTreeMap<String, (f64, u64)> {
    let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows_of(&out.join("users.csv")) {
        let p: u64 = r["prompts"].parse().unwrap();
        let d: u64 = r["active_days"].parse().unwrap();
        for key in ["all".to_string(), r["device"].clone()] {
            let e = sums.entry(key).or_default();
            e.0 += p;
            e.1 += d;
        }
    }
    sums.into_iter()
        .map(|(k, (p, d))| (k, (p as f64 / d.max(1) as f64, d)))
        .collect()
}

/// A Graph `users?$expand=memberOf` page for the log's users: each user holds their
/// persona's groups and roles in the original population, as the tenant's directory would
/// say.
fn directory(population: &Path, log: &Path, out: &Path) {
    let pop: toml::Value = toml::from_str(&std::fs::read_to_string(population).unwrap()).unwrap();
    let mut personas: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
    for p in pop["persona"].as_array().unwrap() {
        let list = |k: &str| -> Vec<String> {
            p.get(k)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        personas.insert(
            p["name"].as_str().unwrap().to_string(),
            (list("groups"), list("roles")),
        );
    }
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    for r in rows_of(log) {
        users
            .entry(r["userPrincipalName"].clone())
            .or_insert(r["persona"].clone());
    }
    let value: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, (upn, persona))| {
            let (groups, roles) = &personas[persona];
            let mut member: Vec<serde_json::Value> = groups
                .iter()
                .map(|g| serde_json::json!({"@odata.type": "#microsoft.graph.group", "id": g}))
                .collect();
            member.extend(roles.iter().map(|r| {
                serde_json::json!({"@odata.type": "#microsoft.graph.directoryRole", "id": format!("obj-{r}"), "roleTemplateId": r})
            }));
            serde_json::json!({"id": format!("id-{i}"), "userPrincipalName": upn, "memberOf": member})
        })
        .collect();
    std::fs::write(out, serde_json::json!({ "value": value }).to_string()).unwrap();
}

/// Runs `population` under the `logged` design (seed 11) with its sign-in log, in
/// `dir/logged`: the log's path.
fn logged_run(dir: &Path, population: &Path, logged: &str) -> PathBuf {
    let log_exp = experiment(dir, "logged", population, logged, 11);
    let out = dir.join("logged");
    sessionsim(&[
        "run",
        log_exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--signin-log",
        "--quiet",
    ]);
    out.join("signins.csv")
}

/// Fitted against original prompts per working user-day, as a relative error, for each
/// design: (design, scope, error, share of the original's user-days).
fn round_trip(population: &str, logged: &str, others: &[&str]) -> Vec<(String, String, f64, f64)> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let population = project(population);
    let log = logged_run(dir, &population, logged);
    let users = dir.join("users.json");
    directory(&population, &log, &users);
    let fitted = dir.join("fitted.toml");
    let policies = project("models/policies").join(logged);
    sessionsim(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        fitted.to_str().unwrap(),
        "--policies",
        policies.to_str().unwrap(),
        "--directory",
        users.to_str().unwrap(),
        "--quiet",
    ]);
    let mut errors = Vec::new();
    for design in std::iter::once(&logged).chain(others) {
        let mut result = Vec::new();
        for (kind, pop) in [("original", &population), ("fitted", &fitted)] {
            let exp = experiment(dir, &format!("{kind}-{design}"), pop, design, 12);
            let out = dir.join(format!("out-{kind}-{design}"));
            sessionsim(&[
                "run",
                exp.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--quiet",
                "--per-user",
            ]);
            result.push(prompts_by_device(&out));
        }
        let (original, fitted) = (&result[0], &result[1]);
        let total = original["all"].1 as f64;
        for (scope, (o, days)) in original {
            let f = fitted.get(scope).map_or(0.0, |x| x.0);
            if *o > 0.0 {
                errors.push((
                    design.to_string(),
                    scope.clone(),
                    (f - o) / o,
                    *days as f64 / total,
                ));
            }
        }
    }
    errors
}

/// The goals of issue 33 that `errors` misses: the logged design within 15% overall and
/// 25% for each device type with 10% of user-days; other designs within `other_goal`
/// overall (20% in the issue).
fn misses(errors: &[(String, String, f64, f64)], logged: &str, other_goal: f64) -> Vec<String> {
    errors
        .iter()
        .filter(|(design, scope, err, share)| {
            let goal = match (design == logged, scope == "all") {
                (true, true) => Some(0.15),
                (true, false) if *share >= 0.10 => Some(0.25),
                (false, true) => Some(other_goal),
                _ => None,
            };
            goal.is_some_and(|g| err.abs() > g)
        })
        .map(|(d, s, e, _)| format!("{d} {s} {:+.1}%", e * 100.0))
        .collect()
}

#[test]
fn an_office_tenant_fitted_from_its_log_predicts_other_designs_within_20_percent() {
    let errors = round_trip(
        "models/populations/enterprise.toml",
        "baseline.json",
        &["mfa-all-users.json", "sif-1h.json"],
    );
    let missed = misses(&errors, "baseline.json", 0.20);
    assert!(missed.is_empty(), "{missed:?} in {errors:?}");
}

#[test]
fn a_hospital_fitted_from_its_log_reproduces_its_design_and_mfa_for_all() {
    // Night-shift nurses who sign out of shared PCs, physicians on phones whose apps hold
    // long-lived CAE tokens, admins. Under a 1-hour sign-in frequency the fitted
    // physicians prompt about a quarter less than the real ones: their log shows one
    // renewal per app and day, whatever their use (docs/model.md, "Calibration",
    // identifiability; issue 33 is open on it). The bound below keeps that gap from
    // growing; the goal is 20%.
    let errors = round_trip(
        "tests/data/populations/hospital.toml",
        "baseline.json",
        &["mfa-all-users.json", "sif-1h.json"],
    );
    let missed: Vec<String> = misses(&errors, "baseline.json", 0.20)
        .into_iter()
        .filter(|m| !m.starts_with("sif-1h.json all"))
        .collect();
    assert!(missed.is_empty(), "{missed:?} in {errors:?}");
    let sif = errors
        .iter()
        .find(|(d, s, _, _)| d == "sif-1h.json" && s == "all")
        .expect("sif-1h measured");
    assert!(
        sif.2.abs() <= 0.30,
        "sif-1h {:+.1}% in {errors:?}",
        sif.2 * 100.0
    );
}

#[test]
fn predictions_say_how_far_what_the_log_cannot_show_moves_another_design() {
    // Under the baseline, unmanaged devices never keep a persistent cookie, so the log
    // cannot show the "Stay signed in?" answers of the byod population's personal
    // devices; under MFA for all users they decide the prompts. The fitted population's
    // own prediction misses by about 45% (docs/model.md); the range calibrate states must
    // contain the truth, and the logged design's must stay near what the log shows.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let population = project("models/populations/byod.toml");
    let log = logged_run(dir, &population, "baseline.json");
    let fitted = dir.join("fit").join("fitted.toml");
    std::fs::create_dir(fitted.parent().unwrap()).unwrap();
    let policies = |p: &str| project("models/policies").join(p);
    sessionsim(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        fitted.to_str().unwrap(),
        "--policies",
        policies("baseline.json").to_str().unwrap(),
        "--predict",
        policies("mfa-all-users.json").to_str().unwrap(),
        "--quiet",
    ]);
    let rows = rows_of(&fitted.parent().unwrap().join("predictions.csv"));
    assert_eq!(rows.len(), 2, "the logged design, then the predicted one");
    assert_eq!(rows[0]["logged"], "true");
    assert!(rows[0]["design"].ends_with("baseline.json"));
    assert!(rows[1]["design"].ends_with("mfa-all-users.json"));
    assert!(
        rows[1]["unidentified"].contains("kmsi_accept"),
        "{:?}",
        rows[1]
    );
    let f = |r: &HashMap<String, String>, k: &str| r[k].parse::<f64>().unwrap();
    for r in &rows {
        assert!(f(r, "low") <= f(r, "prompts_per_user_day"));
        assert!(f(r, "prompts_per_user_day") <= f(r, "high"));
    }
    let logged = &rows[0];
    assert!(
        f(logged, "high") - f(logged, "low") <= 0.15 * f(logged, "prompts_per_user_day"),
        "the logged design's range stays near the log: {logged:?}"
    );
    // The truth, in users.csv's terms; the range, as factors of calibrate's prediction.
    let mfa = &rows[1];
    let mut measured = Vec::new();
    for (kind, pop) in [("original", &population), ("fitted", &fitted)] {
        let exp = experiment(dir, kind, pop, "mfa-all-users.json", 12);
        let out = dir.join(format!("out-{kind}"));
        sessionsim(&[
            "run",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--per-user",
        ]);
        measured.push(prompts_by_device(&out)["all"].0);
    }
    let (original, fitted_prompts) = (measured[0], measured[1]);
    let central = f(mfa, "prompts_per_user_day");
    let (low, high) = (
        fitted_prompts * f(mfa, "low") / central,
        fitted_prompts * f(mfa, "high") / central,
    );
    assert!(
        (fitted_prompts - original).abs() > 0.2 * original,
        "the fitted population alone misses (else this test shows nothing): {fitted_prompts} against {original}"
    );
    assert!(
        low <= original && original <= high,
        "{original} outside {low} to {high}"
    );
}

#[test]
fn predict_needs_the_logged_policies_and_files_that_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.toml");
    // Paths are relative to the project (`common::run` runs there).
    let calibrate = |extra: &[&str]| {
        let mut args = vec![
            "calibrate",
            "tests/data/signins/graph-v1-page.json",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = calibrate(&["--predict", "models/policies/sif-1h.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--policies"));
    let missing = tmp.path().join("nowhere.json");
    let o = calibrate(&[
        "--policies",
        "models/policies/baseline.json",
        "--predict",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("nowhere.json") && err.contains("--predict"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    // A predictions.csv that calibrate did not write is not replaced without --force.
    std::fs::write(tmp.path().join("predictions.csv"), "mine\n").unwrap();
    let o = calibrate(&[
        "--policies",
        "models/policies/baseline.json",
        "--predict",
        "models/policies/sif-1h.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("predictions.csv") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("predictions.csv")).unwrap(),
        "mine\n"
    );
}

#[test]
fn predictions_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let log = project("tests/data/signins/graph-beta-page.json");
    let policies = |p: &str| project("models/policies").join(p);
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let dir = tmp.path().join(threads);
        std::fs::create_dir(&dir).unwrap();
        let out = dir.join("fitted.toml");
        sessionsim(&[
            "calibrate",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--policies",
            policies("baseline.json").to_str().unwrap(),
            "--predict",
            policies("sif-1h.json").to_str().unwrap(),
            "--threads",
            threads,
            "--simulated-users",
            "60",
            "--quiet",
        ]);
        files.push(std::fs::read(dir.join("predictions.csv")).unwrap());
    }
    assert_eq!(files[0], files[1], "1 and 2 threads differ");
    assert_eq!(String::from_utf8_lossy(&files[0]).lines().count(), 3);
}
