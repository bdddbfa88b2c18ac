//! Issue 3, "done when": `trace` reproduces the seed examples with the policies given as
//! Graph JSON. Each seed scenario that uses the `sign_in_frequency = "1h"` shorthand is
//! rewritten to `policies = ".../models/policies/sif-1h.json"` and must print the same
//! timeline.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trace(scenario: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sessionsim"))
        .arg("trace")
        .arg(scenario)
        .current_dir(root())
        .output()
        .expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        scenario.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn seed_examples_trace_the_same_with_graph_json_policies() {
    let policies = root().join("models/policies/sif-1h.json");
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("models/scenarios")).expect("scenarios") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("seed-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let shorthand = "sign_in_frequency = \"1h\"";
        if !text.lines().any(|l| l.trim() == shorthand) {
            continue;
        }
        let rewritten: String = text
            .lines()
            .map(|l| {
                if l.trim() == shorthand {
                    format!("policies = {:?}", policies.display().to_string())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let copy = dir.path().join(name);
        std::fs::write(&copy, rewritten).expect("write");
        assert_eq!(trace(&path), trace(&copy), "{name}");
        checked += 1;
    }
    assert!(
        checked >= 4,
        "the four seed examples were checked ({checked})"
    );
}
