//! `--out` never touches what sessionsim did not write (issue 35): folders beside it that
//! look like staging folders, files put into it during a run, FIFOs and devices given to
//! `calibrate --out`, a population and a check table on one path, a shard given to
//! `merge --out`. A bad `--out` exits 2 before any work. All run the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn assert_bad_out(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` in {err}");
    }
}

fn run_tiny(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--users",
        "20",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run(&args)
}

#[test]
fn folders_beside_out_that_look_like_staging_are_left_alone() {
    // Regression: any `.NAME.tmp-DIGITS` beside --out whose number was not a running
    // process was deleted, and `.NAME.old-DIGITS` renamed to NAME.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let staging_like = tmp.path().join(".results.tmp-999999999");
    let old_like = tmp.path().join(".results.old-999999998");
    for d in [&staging_like, &old_like] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("summary.csv"), b"someone else's").unwrap();
    }
    let o = run_tiny(&out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for d in [&staging_like, &old_like] {
        assert_eq!(
            std::fs::read(d.join("summary.csv")).unwrap(),
            b"someone else's",
            "{} untouched",
            d.display()
        );
    }
    // `results` holds the run's results, not the folder renamed.
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.starts_with("design,"), "{summary}");
    // Nothing else appeared beside it: the run's staging folder went.
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".results.old-999999998",
            ".results.tmp-999999999",
            "results"
        ]
    );
}

#[test]
fn a_running_shards_staging_folder_survives_a_run_beside_it() {
    // On shared storage another node's run is alive though its process number is not
    // ours: its staging folder's lock says so. A run beside it leaves it alone.
    /// Ends the long run however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let child = bin()
        .args([
            "run",
            "experiments/bench.toml",
            "--users",
            "400000",
            "--threads",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(tmp.path().join("shard-1"))
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let staging = || -> Option<PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(".shard-1.sessionsim-tmp-"))
    };
    let mut found = None;
    for _ in 0..400 {
        found = staging();
        if found
            .as_ref()
            .is_some_and(|p| p.join(".sessionsim-staging").exists())
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let found = found.expect("the long run stages its results");
    let o = run_tiny(&tmp.path().join("shard-2"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(found.is_dir(), "the running shard's staging folder is kept");
    drop(child);
}

#[test]
fn calibrate_out_refuses_a_fifo_a_folder_and_a_link_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let log = root().join("tests/data/signins/graph-lines.jsonl");
    let fifo = tmp.path().join("pipe.toml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let folder = tmp.path().join("folder.toml");
    std::fs::create_dir(&folder).unwrap();
    let target = tmp.path().join("target.txt");
    std::fs::write(&target, b"mine").unwrap();
    let link = tmp.path().join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for (out, what) in [
        (&fifo, "not a regular file"),
        (&folder, "a folder"),
        (&link, "a symbolic link"),
    ] {
        let o = run(&[
            "calibrate",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "--quiet",
        ]);
        assert_bad_out(
            &o,
            &[out.file_name().unwrap().to_str().unwrap(), "--out", what],
        );
        assert!(
            !stderr(&o).contains("rows,"),
            "refused before reading: {}",
            stderr(&o)
        );
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(folder.is_dir());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"mine");
}

#[test]
fn calibrate_never_writes_the_population_and_the_check_table_on_one_path() {
    // Regression: `--out DIR/calibration.csv --policies P` said the population was
    // written, then overwrote it with the check table.
    let tmp = tempfile::tempdir().unwrap();
    let log = root().join("tests/data/signins/graph-lines.jsonl");
    let out = tmp.path().join("calibration.csv");
    let o = run(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--policies",
        "models/policies/baseline.json",
        "--quiet",
    ]);
    assert_bad_out(&o, &["calibration.csv", "--out", "another name"]);
    assert!(!out.exists());
    // Nor onto one of its inputs.
    let copy = tmp.path().join("log.jsonl");
    std::fs::copy(&log, &copy).unwrap();
    let o = run(&[
        "calibrate",
        copy.to_str().unwrap(),
        "--out",
        copy.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert_bad_out(&o, &["log.jsonl", "inputs"]);
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&log).unwrap());
}

#[test]
fn a_bad_calibrate_out_exits_2_before_any_work() {
    // Regression: a missing folder, a folder or `.` exited 1 once all the work was done.
    let tmp = tempfile::tempdir().unwrap();
    let log = root().join("tests/data/signins/graph-lines.jsonl");
    let missing = tmp.path().join("no-such-folder/fitted.toml");
    for (out, needle) in [
        (missing.to_str().unwrap(), "does not exist"),
        (".", "folder"),
        (tmp.path().to_str().unwrap(), "a folder"),
    ] {
        let o = run(&["calibrate", log.to_str().unwrap(), "--out", out, "--quiet"]);
        assert_bad_out(&o, &["--out", needle]);
        assert!(!stderr(&o).contains("rows,"), "{}", stderr(&o));
        assert_eq!(
            stderr(&o).matches(out).count(),
            1,
            "the path once: {}",
            stderr(&o)
        );
    }
}

/// A two-design experiment of 20 users in `dir`.
fn experiment(dir: &Path) -> PathBuf {
    let pop = root().join("models/populations/quickstart.toml");
    let pol = root().join("models/policies/mfa-all-users.json");
    let path = dir.join("m.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"m\"\npopulation = \"{}\"\nusers = 20\ndays = 2\nseed = 1\n[[design]]\nname = \"d\"\npolicies = \"{}\"\n",
            pop.display(),
            pol.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn merge_out_refuses_its_own_inputs() {
    // Regression: `merge --out` onto one of its shards destroyed its signins.csv and
    // accumulators.json.
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path());
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = tmp.path().join(format!("shard-{k}"));
        let o = run(&[
            "run",
            exp.to_str().unwrap(),
            "--quiet",
            "--signin-log",
            "--shard",
            &format!("{k}/2"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        shards.push(out);
    }
    let before = std::fs::read(shards[0].join("signins.csv")).unwrap();
    for out in [shards[0].clone(), tmp.path().to_path_buf()] {
        for force in [false, true] {
            let mut args = vec![
                "merge".to_string(),
                shards[0].display().to_string(),
                shards[1].display().to_string(),
                "--out".into(),
                out.display().to_string(),
            ];
            if force {
                args.push("--force".into());
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = run(&refs);
            assert_bad_out(&o, &["--out", "shard-1"]);
        }
    }
    assert_eq!(
        std::fs::read(shards[0].join("signins.csv")).unwrap(),
        before
    );
    assert!(shards[0].join("accumulators.json").is_file());
    // A bad --out is refused before the shards are read.
    let o = run(&[
        "merge",
        tmp.path().join("missing-shard").to_str().unwrap(),
        "--out",
        exp.to_str().unwrap(),
    ]);
    assert_bad_out(&o, &["m.toml", "not a folder"]);
}
