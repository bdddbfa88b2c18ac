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

/// Runs the binary and returns its output with its own peak resident memory in MB.
///
/// `wait4`'s `ru_maxrss` alone is not the child's: Linux folds into it the peak of the
/// memory the child had before `exec`, which is the test process's (spawned with
/// `CLONE_VM`). A test process that grew, say by symbolising panics' backtraces under
/// `RUST_BACKTRACE` in another test of the same binary, then made every child look as
/// big (194 MB for a 76 MB child in CI). So the child's own high-water mark (`VmHWM`,
/// per address space, so after `exec` the child's alone) is also sampled while it runs,
/// and `ru_maxrss` is believed only when it is above what the test process itself held.
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
    // `spawn` returns once the child has exec'd: from here its VmHWM is its own.
    let parent_peak_kb = high_water_kb("/proc/self/status").unwrap_or(u64::MAX);
    let child_status = format!("/proc/{}/status", child.id());
    let mut sampled_kb = 0;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // Sampled before each look, so the last sample is at most one pause old.
        if let Some(kb) = high_water_kb(&child_status) {
            sampled_kb = sampled_kb.max(kb);
        }
        let pid = unsafe { libc::wait4(child.id() as i32, &mut status, libc::WNOHANG, &mut usage) };
        if pid == child.id() as i32 {
            break;
        }
        assert_eq!(pid, 0, "wait4");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // ru_maxrss is in kilobytes on Linux.
    let reaped_kb = usage.ru_maxrss as u64;
    let peak_kb = if reaped_kb > parent_peak_kb {
        reaped_kb
    } else {
        sampled_kb
    };
    use std::os::unix::process::ExitStatusExt;
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    eprintln!(
        "peak memory of {args:?}: {} MB (wait4 {} MB, sampled {} MB, test process {} MB)",
        peak_kb / 1024,
        reaped_kb / 1024,
        sampled_kb / 1024,
        parent_peak_kb / 1024
    );
    (output, peak_kb / 1024)
}

/// `VmHWM` of a `/proc/PID/status` file in kB, if it has one (an exited child has none).
fn high_water_kb(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
