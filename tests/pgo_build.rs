//! `scripts/pgo-build.sh`, the profile-guided build for large studies. The whole build is
//! two more release builds (~10 minutes on 2 cores), so that test is ignored by default:
//! `cargo test --test pgo_build -- --ignored`.

mod common;

use std::path::Path;
use std::process::Command;

use common::root;

fn script() -> Command {
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/pgo-build.sh"))
        .current_dir(root());
    c
}

#[test]
fn an_unknown_argument_is_refused_before_any_build() {
    let o = script().arg("--fast").output().expect("bash runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown argument '--fast'"), "{err}");
    assert!(o.stdout.is_empty(), "no binary path is printed");
}

#[test]
#[ignore = "two more release builds (~10 minutes); run with --ignored"]
fn the_pgo_binary_writes_the_plain_builds_bytes() {
    let o = script().output().expect("bash runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // The script compares the bench, the quickstart with its sign-in log and the SIF
    // sweep, file by file, and says so only when every file matched.
    assert!(
        err.contains("outputs identical to the plain release build's"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let binary = out.trim();
    assert!(Path::new(binary).is_file(), "{binary}");
    let run = Command::new(binary)
        .args(["validate", "experiments/quickstart.toml"])
        .current_dir(root())
        .output()
        .expect("the PGO binary runs");
    assert!(run.status.success());
}
