//! Helpers shared by the integration tests: run the real binary and read its CSV.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sessionsim"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Rows of a CSV text as maps from column name to value.
pub fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().expect("a header row").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("a well-formed row");
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Runs `trace` on a scenario and returns its rows, asserting success.
pub fn trace(scenario: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let out = run(&["trace", scenario.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "trace failed: {}", stderr(&out));
    csv_rows(&stdout(&out))
}

/// The times of rows with the given actor and outcome.
pub fn times(
    rows: &[std::collections::HashMap<String, String>],
    actor: &str,
    outcome: &str,
) -> Vec<String> {
    rows.iter()
        .filter(|r| r["actor"] == actor && r["outcome"] == outcome)
        .map(|r| r["at"].clone())
        .collect()
}

/// Writes `text` to `name` in a fresh temporary directory and returns the path.
pub fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

/// Runs the binary and returns its output with its peak resident memory in MB, from
/// `wait4` (the child's own, not the test process's other children). Linux counts in it
/// the test process's own peak at the moment of the spawn, so these tests never hold big
/// inputs in memory: they write them in pieces. The figure can only be too high.
// The child is reaped by `wait4`, which clippy does not see.
#[allow(clippy::zombie_processes)]
pub fn run_measured(args: &[&str]) -> (Output, u64) {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let child = bin()
        .args(args)
        .current_dir(root())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    use std::os::unix::process::ExitStatusExt;
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    eprintln!("peak memory of {args:?}: {} MB", usage.ru_maxrss / 1024);
    // ru_maxrss is in kilobytes on Linux.
    (output, usage.ru_maxrss as u64 / 1024)
}
