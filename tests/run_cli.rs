//! `sessionsim run` as a user runs it: outputs, determinism across runs and thread counts,
//! and the statistical shape of the results.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

const RESULT_FILES: [&str; 4] = [
    "summary.csv",
    "replicates.csv",
    "breakdown.csv",
    "comparisons.csv",
];

fn run_into(experiment: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", experiment, "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
    o
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn summary(dir: &Path) -> HashMap<String, HashMap<String, String>> {
    csv_rows(&read(dir, "summary.csv"))
        .into_iter()
        .map(|r| (r["design"].clone(), r))
        .collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

/// The manifest without its `run` section (wall time, threads), which is the only part
/// allowed to differ between runs of the same inputs.
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
fn a_tiny_experiment_writes_every_file_with_the_documented_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny");
    run_into("tests/data/tiny.toml", &out, &[]);
    let s = read(&out, "summary.csv");
    let header = s.lines().next().unwrap();
    // The keys first, then every metric with its interval right beside it (issue 34).
    assert!(header.starts_with(
        "design,users,days,replicates,pareto,prompts_per_user_day,prompts_per_user_day_ci95,mfa_prompts_per_user_day,mfa_prompts_per_user_day_ci95,"
    ), "{header}");
    let columns: Vec<&str> = header.split(',').collect();
    for c in [
        "p95_user_prompts_per_day",
        "prompt_minutes_per_user_month",
        "thefts",
        "exposure_hours_mean",
        "exposure_hours_p95",
        "contained_1h_share",
        "fatigue_attack_success_rate",
    ] {
        assert!(columns.contains(&c), "{c} kept");
    }
    for (i, c) in columns.iter().enumerate() {
        if let Some(metric) = c.strip_suffix("_ci95") {
            assert_eq!(columns[i - 1], metric, "{c} sits beside its metric");
        }
    }
    let rows = summary(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows["defaults"]["users"], "300");
    assert_eq!(csv_rows(&read(&out, "replicates.csv")).len(), 4);
    let breakdown = csv_rows(&read(&out, "breakdown.csv"));
    assert!(breakdown
        .iter()
        .any(|r| r["device"] == "unmanaged" && r["persona"] == "contractor"));
    // `users` means simulated users per replicate in every table (issue 34).
    let users: f64 = breakdown
        .iter()
        .filter(|r| r["design"] == "defaults")
        .map(|r| r["users"].parse::<f64>().unwrap())
        .sum();
    assert!(
        (users - 300.0).abs() < 1.0,
        "breakdown groups add up to the users of a replicate: {users}"
    );
    let m = manifest_without_timing(&out);
    assert_eq!(m["counters"]["users_simulated"], 300 * 2 * 2);
    // 7 days and the default warm-up of 7 more, simulated and not counted.
    assert_eq!(m["counters"]["user_days_simulated"], 300 * 2 * 2 * (7 + 7));
    assert_eq!(m["start"]["mode"], "steady");
    assert_eq!(m["start"]["warmup_days"], 7);
    assert!(m["counters"]["events_simulated"].as_u64().unwrap() > 10_000);
    assert_eq!(m["experiment"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn same_seed_gives_identical_bytes_and_thread_count_does_not_matter() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    run_into("tests/data/tiny.toml", &a, &["--threads", "1"]);
    run_into("tests/data/tiny.toml", &b, &["--threads", "2"]);
    run_into("tests/data/tiny.toml", &c, &["--threads", "2"]);
    for f in RESULT_FILES {
        assert_eq!(read(&a, f), read(&b, f), "{f}: 1 thread vs 2 threads");
        assert_eq!(read(&b, f), read(&c, f), "{f}: two runs with the same seed");
    }
    assert_eq!(manifest_without_timing(&a), manifest_without_timing(&b));
}

#[test]
fn a_different_seed_gives_different_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_into("tests/data/tiny.toml", &a, &[]);
    run_into("tests/data/tiny.toml", &b, &["--seed", "8"]);
    assert_ne!(read(&a, "summary.csv"), read(&b, "summary.csv"));
    assert_eq!(manifest_without_timing(&b)["seed"], 8);
}

#[test]
fn overrides_change_the_size_of_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    run_into(
        "tests/data/tiny.toml",
        &out,
        &["--users", "50", "--days", "3", "--replicates", "1"],
    );
    let rows = summary(&out);
    assert_eq!(rows["defaults"]["users"], "50");
    assert_eq!(rows["defaults"]["days"], "3");
    assert_eq!(rows["defaults"]["replicates"], "1");
    assert_eq!(
        rows["defaults"]["prompts_per_user_day_ci95"], "",
        "no interval from one replicate"
    );
}

#[test]
fn prompts_rise_as_sign_in_frequency_shortens() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("trend");
    run_into("tests/data/sif-trend.toml", &out, &[]);
    let rows = summary(&out);
    let rate: Vec<f64> = ["none", "7d", "1d", "4h", "1h"]
        .iter()
        .map(|d| num(&rows[*d], "prompts_per_user_day"))
        .collect();
    for w in rate.windows(2) {
        assert!(
            w[1] > w[0],
            "prompt rates should rise as SIF shortens: {rate:?}"
        );
    }
    let exposure: Vec<f64> = ["none", "1d", "1h"]
        .iter()
        .map(|d| num(&rows[*d], "exposure_hours_mean"))
        .collect();
    assert!(
        exposure[0] > exposure[1] && exposure[1] > exposure[2],
        "exposure should fall: {exposure:?}"
    );
}

#[test]
fn never_persistent_prompts_more_than_always_when_browsers_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("persist");
    run_into("tests/data/persistence.toml", &out, &[]);
    let rows = summary(&out);
    let (always, never) = (
        num(&rows["always"], "prompts_per_user_day"),
        num(&rows["never"], "prompts_per_user_day"),
    );
    assert!(never > always * 1.2, "never {never} vs always {always}");
}

#[test]
fn bad_experiments_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name = \"x\"\npopulation = \"nope.toml\"\nusers = 10\ndays = 1\n[[design]]\nname = \"a\"\n", "population"),
        ("name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 1000000000000\ndays = 1\n[[design]]\nname = \"a\"\n", "users"),
        ("name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 10\ndays = 1000000\n[[design]]\nname = \"a\"\n", "days"),
        ("name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 10\ndays = 1\n[[design]]\nname = \"a\"\n[[design]]\nname = \"a\"\n", "duplicate design name"),
        ("name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 10\ndays = 1\n", "design"),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        // Place the file where the relative population path resolves.
        let path = root()
            .join("tests/data")
            .join(format!(".bad-{i}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let out_dir = dir.path().join(format!("o{i}"));
        let o = run(&[
            "run",
            path.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--quiet",
        ]);
        let _ = std::fs::remove_file(&path);
        assert_eq!(o.status.code(), Some(2), "case {i}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "case {i}: {}", stderr(&o));
        assert!(!out_dir.exists(), "case {i}: no output on bad input");
    }
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--users",
        "0",
        "--quiet",
        "--out",
        dir.path().join("z").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--shard",
        "4/3",
        "--quiet",
        "--out",
        dir.path().join("z").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_sign_in_log_has_one_user_row_per_counted_evaluation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("log");
    run_into(
        "tests/data/tiny.toml",
        &out,
        &["--signin-log", "--per-user", "--users", "60"],
    );
    let log = read(&out, "signins.csv");
    assert!(log.starts_with("createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,deviceTrustType,status_errorCode,conditionalAccessStatus,sessionLifetimePolicy"));
    let rows = csv_rows(&log);
    let user_rows = rows.iter().filter(|r| r["actor"] == "user").count() as u64;
    let evaluations: u64 = csv_rows(&read(&out, "summary.csv"))
        .iter()
        .map(|r| r["evaluations"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(user_rows, evaluations);
    assert!(rows.iter().all(
        |r| r["createdDateTime"].starts_with("2026-01-") && r["createdDateTime"].ends_with('Z')
    ));
    assert!(rows
        .iter()
        .any(|r| r["isInteractive"] == "true" && r["status_errorCode"] != "0"));
    // Per-user rows: one per user, design and replicate, in that order.
    let users = csv_rows(&read(&out, "users.csv"));
    assert_eq!(users.len(), 60 * 2 * 2);
    assert_eq!(
        (
            users[0]["design"].as_str(),
            users[0]["replicate"].as_str(),
            users[0]["user"].as_str()
        ),
        ("defaults", "0", "0")
    );
    let prompts: u64 = users
        .iter()
        .map(|r| r["prompts"].parse::<u64>().unwrap())
        .sum();
    let prompt_rows = rows
        .iter()
        .filter(|r| r["actor"] == "user" && r["outcome"] == "prompt")
        .count() as u64;
    assert_eq!(
        prompts, prompt_rows,
        "users.csv and signins.csv agree on prompts"
    );
    // The log is the same whatever the thread count.
    let again = tmp.path().join("log2");
    run_into(
        "tests/data/tiny.toml",
        &again,
        &[
            "--signin-log",
            "--per-user",
            "--users",
            "60",
            "--threads",
            "1",
        ],
    );
    assert_eq!(log, read(&again, "signins.csv"));
    assert_eq!(read(&out, "users.csv"), read(&again, "users.csv"));
}

#[test]
fn attacker_rows_go_into_the_sign_in_log_only_when_asked_for() {
    // Issue 35: the quickstart's log was 45% simulated attacker rows, unannounced.
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    let with = tmp.path().join("with");
    run_into(
        "experiments/quickstart.toml",
        &plain,
        &["--signin-log", "--users", "100"],
    );
    run_into(
        "experiments/quickstart.toml",
        &with,
        &["--signin-log-attackers", "--users", "100"],
    );
    let users_only = read(&plain, "signins.csv");
    let all = read(&with, "signins.csv");
    let actors = |text: &str| -> (usize, usize) {
        let rows = csv_rows(text);
        let a = rows.iter().filter(|r| r["actor"] == "attacker").count();
        (rows.len() - a, a)
    };
    let (u1, a1) = actors(&users_only);
    let (u2, a2) = actors(&all);
    assert_eq!(a1, 0, "no attacker row without the flag");
    assert!(a2 > 0, "the flag keeps them");
    assert_eq!(u1, u2, "the same user rows");
    // The users' rows are the same bytes, in the same order.
    let without: Vec<&str> = all.lines().filter(|l| !l.contains(",attacker,")).collect();
    assert_eq!(users_only.lines().collect::<Vec<_>>(), without);
    // The other files do not depend on the log.
    for f in ["summary.csv", "replicates.csv", "breakdown.csv"] {
        assert_eq!(read(&plain, f), read(&with, f), "{f}");
    }
}

#[test]
fn three_shards_merged_give_the_bytes_of_a_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    run_into("tests/data/tiny.toml", &single, &[]);
    let mut shards = Vec::new();
    for k in 1..=3 {
        let dir = tmp.path().join(format!("shard{k}"));
        run_into(
            "tests/data/tiny.toml",
            &dir,
            &["--shard", &format!("{k}/3"), "--threads", "1"],
        );
        assert!(dir.join("accumulators.json").exists());
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    // Shards given out of order merge the same.
    let o = run(&[
        "merge",
        shards[2].to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in RESULT_FILES {
        assert_eq!(read(&single, f), read(&merged, f), "{f}");
    }
    assert_eq!(
        manifest_without_timing(&single),
        manifest_without_timing(&merged)
    );
    // A missing shard, a duplicate, or a shard of another run is refused.
    let o = run(&[
        "merge",
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("shard 3/3 is missing"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "merge",
        shards[0].to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let other = tmp.path().join("other");
    run_into(
        "tests/data/tiny.toml",
        &other,
        &["--shard", "3/3", "--seed", "99"],
    );
    let o = run(&[
        "merge",
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        other.to_str().unwrap(),
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different run"), "{}", stderr(&o));
    let o = run(&[
        "merge",
        single.to_str().unwrap(),
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "a non-shard folder is refused");
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn cae_on_gives_less_exposure_than_cae_off() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cae");
    run_into("tests/data/cae.toml", &out, &[]);
    let rows = summary(&out);
    let (on, off) = (
        num(&rows["cae-on"], "exposure_hours_mean"),
        num(&rows["cae-off"], "exposure_hours_mean"),
    );
    assert!(on < off, "CAE on {on} h vs off {off} h");
    let (on, off) = (
        num(&rows["cae-on"], "exposure_hours_cae_mean"),
        num(&rows["cae-off"], "exposure_hours_cae_mean"),
    );
    assert!(on < off, "CAE-capable apps: on {on} h vs off {off} h");
}

#[test]
fn more_legitimate_prompts_raise_mfa_fatigue_success() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fatigue");
    let o = run(&[
        "run",
        "experiments/sif-sweep.toml",
        "--users",
        "150",
        "--days",
        "7",
        "--replicates",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&read(&out, "summary.csv"));
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                num(r, "mfa_prompts_per_user_day"),
                num(r, "fatigue_attack_success_rate"),
            )
        })
        .collect();
    points.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let (least, most) = (points[0], points[points.len() - 1]);
    assert!(
        most.0 > least.0 * 2.0,
        "the sweep spans prompt rates: {points:?}"
    );
    assert!(
        most.1 > least.1,
        "success rises with MFA prompts: {points:?}"
    );
}

#[test]
fn shards_of_one_start_merge_and_shards_of_different_starts_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    run_into("tests/data/tiny.toml", &single, &["--warmup", "14d"]);
    let shard = |k: u32, warmup: &str| {
        let dir = tmp.path().join(format!("shard{k}-{warmup}"));
        run_into(
            "tests/data/tiny.toml",
            &dir,
            &["--shard", &format!("{k}/2"), "--warmup", warmup],
        );
        dir
    };
    let (a, b, b0) = (shard(1, "14d"), shard(2, "14d"), shard(2, "0d"));
    let merged = tmp.path().join("merged");
    let o = run(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&single, "summary.csv"), read(&merged, "summary.csv"));
    assert_eq!(manifest_without_timing(&single)["start"]["warmup_days"], 14);
    let o = run(&[
        "merge",
        a.to_str().unwrap(),
        b0.to_str().unwrap(),
        "--out",
        tmp.path().join("mixed").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("start"), "{}", stderr(&o));
}

#[test]
fn the_sign_in_log_starts_at_day_0_after_the_warm_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("log");
    run_into("tests/data/tiny.toml", &out, &["--signin-log"]);
    let log = read(&out, "signins.csv");
    let first = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .min()
        .unwrap();
    // tests/data/tiny.toml starts on the default start date, Monday 2026-01-05: the
    // warm-up's week before it is simulated, not logged.
    assert!(first.starts_with("2026-01-05"), "first row at {first}");
}

#[test]
fn the_oversampling_note_names_only_mechanisms_that_were_simulated() {
    let tmp = tempfile::tempdir().unwrap();
    let population =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/populations/quickstart.toml");
    let write = |name: &str, threat: &str| {
        let path = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "name = \"{name}\"\npopulation = {population:?}\nusers = 40\ndays = 7\nreplicates = 1\nseed = 3\n{threat}[[design]]\nname = \"d\"\n"
            ),
        )
        .unwrap();
        path
    };
    // No threat: nothing was oversampled, so there is nothing to weigh back (a note of
    // "x0.000" factors once told users to divide by zero).
    let quiet = write("no-threat", "[threat]\nenabled = false\n");
    let o = run_into(
        quiet.to_str().unwrap(),
        &tmp.path().join("a"),
        &["--per-user"],
    );
    assert!(!stderr(&o).contains("oversampled"), "{}", stderr(&o));
    // With the threat model the note names each oversampled mechanism by a real factor.
    let attacked = write("threat", "");
    let o = run_into(
        attacked.to_str().unwrap(),
        &tmp.path().join("b"),
        &["--per-user"],
    );
    let err = stderr(&o);
    assert!(err.contains("oversampled (aitm x"), "{err}");
    assert!(!err.contains("x0.000"), "{err}");
}

#[test]
fn files_left_out_with_skip_invalid_are_named_in_the_manifest_and_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let data = root().join("tests/data/policies");
    std::fs::copy(data.join("mfa-enforced.json"), policies.join("a-mfa.json")).unwrap();
    std::fs::copy(data.join("malformed.json"), policies.join("b-broken.json")).unwrap();
    let experiment = tmp.path().join("exp.toml");
    std::fs::write(
        &experiment,
        format!(
            "name = \"left-out\"\npopulation = {:?}\nusers = 50\ndays = 7\nreplicates = 1\n\
             [[design]]\nname = \"folder\"\npolicies = \"policies\"\n",
            root().join("models/populations/quickstart.toml")
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let exp = experiment.to_str().unwrap();
    // Without the flag the broken file stops the run; with it, the run says what it lost.
    let o = run(&["run", exp, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    run_into(exp, &out, &["--skip-invalid"]);
    let manifest: serde_json::Value = serde_json::from_str(&read(&out, "manifest.json")).unwrap();
    let left_out = manifest["designs"][0]["policy_files_left_out"]
        .as_array()
        .unwrap();
    assert_eq!(left_out.len(), 1, "{left_out:?}");
    assert!(left_out[0].as_str().unwrap().contains("b-broken.json"));
    assert_eq!(manifest["designs"][0]["policy_count"], 1);
    let report = read(&out, "report.md");
    assert!(
        report.contains("left out (`--skip-invalid`): 1 file that failed to load")
            && report.contains("b-broken.json"),
        "{report}"
    );
    // Shards run so merge into the same bytes (the merge loads the folder as they did).
    let mut shards = Vec::new();
    for k in 1..=2 {
        let dir = tmp.path().join(format!("shard{k}"));
        run_into(exp, &dir, &["--skip-invalid", "--shard", &format!("{k}/2")]);
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    let o = run(&[
        "merge",
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in ["summary.csv", "report.md"] {
        assert_eq!(read(&merged, file), read(&out, file), "{file}");
    }
}

#[test]
fn the_report_says_a_location_design_is_a_best_case_when_no_attacker_is_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |share: &str| {
        let experiment = tmp.path().join(format!("exp{share}.toml"));
        std::fs::write(
            &experiment,
            format!(
                "name = \"allow-list\"\npopulation = {:?}\nusers = 40\ndays = 7\nreplicates = 1\n{share}\n\
                 [[design]]\nname = \"allow-list\"\npolicies = {:?}\n",
                root().join("models/populations/quickstart.toml"),
                root().join("models/policies/trusted-locations-only.json")
            ),
        )
        .unwrap();
        let out = tmp.path().join(format!("out{}", share.len()));
        run_into(experiment.to_str().unwrap(), &out, &[]);
        read(&out, "report.md")
    };
    let note =
        "**Location conditions meet only attackers outside.** `allow-list` has location conditions";
    let report = write("");
    assert!(report.contains(note), "{report}");
    let report = write("[threat]\ntrusted_ip_share = 0.3");
    assert!(
        !report.contains("Location conditions meet only"),
        "{report}"
    );
}
