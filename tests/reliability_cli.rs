//! Interrupted runs, unwritable outputs and absurd sizes: the tool never leaves a half
//! file behind and says clearly what went wrong.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

fn start_long_run(out: &Path) -> std::process::Child {
    bin()
        .args([
            "run",
            "experiments/bench.toml",
            "--users",
            "400000",
            "--days",
            "30",
            "--threads",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts")
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn an_interrupted_run_leaves_the_previous_results_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    // Killed before it finishes, with no earlier results: no output folder at all.
    let mut child = start_long_run(&out);
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!out.exists(), "no partial output folder");
    // A complete run, then an interrupted one into the same folder: the complete results stay.
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = listing(&out);
    assert!(before.iter().any(|(n, _)| n == "summary.csv"));
    let mut child = start_long_run(&out);
    std::thread::sleep(Duration::from_millis(1500));
    // Terminated, as a scheduler or a user would (SIGINT is ignored by background jobs
    // of non-interactive shells, so CI could not rely on it).
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!(
        listing(&out),
        before,
        "the previous complete results are untouched"
    );
    // The next run cleans up what the killed runs left and replaces the folder as a whole.
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--users",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["results"],
        "no staging folders left behind: {names:?}"
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary.lines().nth(1).unwrap().contains(",20,"),
        "new results, not a mix: {summary}"
    );
}

#[test]
fn an_unwritable_output_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = file.join("results");
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--users",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    // A path through a file is a bad --out, refused before any work.
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("output folder") && err.contains("a-file"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn absurd_sizes_are_refused_before_any_work_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tmp.path().join("x");
    for args in [
        vec!["--users", "1000000000000"],
        vec!["--days", "1000000"],
        vec!["--users", "100000000", "--days", "3650"],
    ] {
        let mut a = vec![
            "run",
            "tests/data/tiny.toml",
            "--quiet",
            "--out",
            x.to_str().unwrap(),
        ];
        a.extend(args.iter().copied());
        let started = std::time::Instant::now();
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "refused before any work"
        );
        let err = stderr(&o);
        assert!(
            err.contains("between 1 and") || err.contains("limit"),
            "{args:?}: {err}"
        );
    }
    assert!(!tmp.path().join("x").exists());
}
