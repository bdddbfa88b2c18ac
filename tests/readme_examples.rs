//! The README runs as written (issue 35). Every `$ sessionsim ...` example in it is run
//! and its output compared with the README's, line for line (a line `  ...` stands for
//! any lines). The other examples (the quickstart, the cluster recipe's commands, the
//! calibration on the shipped sample logs) run in a copy of the repository's inputs in
//! an ignored test: they take minutes in a test build.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A shell example: its command lines joined (continuations with `\`), and, for `$`
/// examples, the output the README shows.
#[derive(Debug)]
struct Example {
    command: String,
    output: Option<Vec<String>>,
}

/// The examples of the README's ```sh blocks.
fn examples() -> Vec<Example> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```") {
            in_block = line.trim() == "```sh" && !in_block;
            continue;
        }
        if !in_block || line.trim().is_empty() {
            continue;
        }
        let prompt = line.trim_start().strip_prefix("$ ");
        let mut command = prompt.unwrap_or(line).trim().to_string();
        while command.ends_with('\\') {
            command.pop();
            let next = lines.next().unwrap_or_default();
            command.push(' ');
            command.push_str(next.trim());
        }
        // A comment after the command is not part of it.
        if let Some(i) = command.find("  #") {
            command.truncate(i);
        }
        let output = prompt.map(|_| {
            let mut expected = Vec::new();
            while let Some(next) = lines.peek() {
                if next.trim_start().starts_with("```") || next.trim_start().starts_with("$ ") {
                    break;
                }
                expected.push(lines.next().unwrap().to_string());
            }
            expected
        });
        out.push(Example {
            command: command.trim().to_string(),
            output,
        });
    }
    out
}

/// Runs a README command in `dir` through `sh`, with the tested binary first on PATH.
fn shell(command: &str, dir: &Path) -> std::process::Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sessionsim"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new("sh")
        .args(["-c", command])
        .env("PATH", path)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Whether `actual` matches `expected`, where an expected line `...` (indented or not)
/// stands for any lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => {
            actual.first().is_some_and(|a| a.trim_end() == e.trim_end())
                && matches(rest, &actual[1..])
        }
    }
}

#[test]
fn every_example_with_its_output_prints_that_output() {
    let shown: Vec<Example> = examples()
        .into_iter()
        .filter(|e| e.output.is_some())
        .collect();
    assert!(shown.len() >= 3, "{shown:?}");
    for e in shown {
        assert!(
            e.command.starts_with("sessionsim "),
            "examples call sessionsim: {}",
            e.command
        );
        let o = shell(&e.command, &root());
        assert!(o.status.success(), "{}: {}", e.command, stderr(&o));
        let text = stdout(&o);
        let actual: Vec<&str> = text.lines().collect();
        let expected = e.output.unwrap();
        assert!(
            matches(&expected, &actual),
            "{}\nREADME shows:\n{}\nit prints:\n{}",
            e.command,
            expected.join("\n"),
            text
        );
    }
}

/// Copies the inputs the examples read into a fresh folder.
fn inputs_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("cp")
        .args(["-r", "experiments", "models", "tests"])
        .arg(tmp.path())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::create_dir(tmp.path().join("output")).unwrap();
    tmp
}

#[test]
#[ignore = "runs the README's studies: minutes in a test build"]
fn every_other_example_runs_as_written() {
    let dir = inputs_copy();
    for e in examples().into_iter().filter(|e| e.output.is_none()) {
        let c = &e.command;
        // Set-up and tooling (the test suite itself, the profile-guided build, Slurm,
        // PATH) are not examples of the tool.
        if c.starts_with("cargo test")
            || c.starts_with("cargo install")
            || c.starts_with("export ")
            || c.starts_with("scripts/")
            || c.starts_with("experiments/cluster/")
            || c.contains("exports/")
        {
            continue;
        }
        let command = c.replace("cargo run --release --", "sessionsim");
        eprintln!("$ {command}");
        let o = shell(&command, dir.path());
        assert!(o.status.success(), "{c}: {}", stderr(&o));
    }
}

#[test]
fn the_readme_names_every_command_and_flag_of_the_command_table() {
    // Flags the binary accepts that the README's command table must show.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for flag in [
        "--skip-invalid",
        "--signin-log-attackers",
        "--per-user",
        "--signin-log-format",
        "--force",
    ] {
        assert!(readme.contains(flag), "{flag}");
    }
    assert!(
        readme.contains("about 3 minutes"),
        "the build time is stated"
    );
}
