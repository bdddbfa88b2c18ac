//! `merge` under hostile shards (issue 35): policy folders fingerprinted as the loader
//! reads them (sub-folders too, streamed), every counter checked, the wrong shard named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sessionsim::study::merge::ShardFile;

fn assert_input_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` in {err}");
    }
}

/// An experiment of 40 users over `policies` (relative to `dir`).
fn experiment(dir: &Path, policies: &str) -> PathBuf {
    let pop = root().join("models/populations/quickstart.toml");
    let path = dir.join("m.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"m\"\npopulation = \"{}\"\nusers = 40\ndays = 3\nseed = 1\n[[design]]\nname = \"d\"\npolicies = \"{policies}\"\n",
            pop.display()
        ),
    )
    .unwrap();
    path
}

fn shard(exp: &Path, dir: &Path, k: u32) -> PathBuf {
    let out = dir.join(format!("shard-{k}"));
    let o = run(&[
        "run",
        exp.to_str().unwrap(),
        "--quiet",
        "--shard",
        &format!("{k}/2"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn merge(dirs: &[&Path], out: &Path) -> Output {
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

#[test]
fn shards_that_ran_different_policies_from_a_sub_folder_are_refused() {
    // Regression: a folder's fingerprint hashed its top-level files only, while the
    // loader reads sub-folders: two designs merged into 3.44 prompts per user-day.
    let tmp = tempfile::tempdir().unwrap();
    let policies = root().join("models/policies");
    let sub = tmp.path().join("pol/tenant");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(policies.join("mfa-all-users.json"), sub.join("p.json")).unwrap();
    let exp = experiment(tmp.path(), "pol");
    let a = shard(&exp, tmp.path(), 1);
    std::fs::copy(policies.join("sif-1h.json"), sub.join("p.json")).unwrap();
    let b = shard(&exp, tmp.path(), 2);
    let out = tmp.path().join("merged");
    assert_input_error(&merge(&[&a, &b], &out), &["different run"]);
    assert!(!out.exists());
}

#[test]
fn an_unrelated_big_file_in_a_policy_folder_is_not_read() {
    // Regression: a 1 GB file beside the policies was read whole to hash the folder
    // (0.98 GB). 150 MB here; the loader does not read it, nor does the fingerprint.
    let tmp = tempfile::tempdir().unwrap();
    let pol = tmp.path().join("pol");
    std::fs::create_dir(&pol).unwrap();
    std::fs::copy(
        root().join("models/policies/mfa-all-users.json"),
        pol.join("p.json"),
    )
    .unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(pol.join("export.zip")).unwrap();
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..150 {
            f.write_all(&chunk).unwrap();
        }
    }
    let exp = experiment(tmp.path(), "pol");
    let (o, mb) = run_measured(&[
        "run",
        exp.to_str().unwrap(),
        "--quiet",
        "--shard",
        "1/2",
        "--out",
        tmp.path().join("s1").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(mb < 100, "peak memory {mb} MB");
}

/// Rewrites a shard's accumulators with `edit`, and their checksum to match (what a
/// determined editor does).
fn tamper(dir: &Path, edit: impl FnOnce(&mut ShardFile)) {
    use sha2::{Digest, Sha256};
    let path = dir.join("accumulators.json");
    let mut s: ShardFile = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut s);
    let bytes = serde_json::to_vec(&s.result).unwrap();
    s.result_sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
}

/// The first group of the first cell that suffered a theft, and the mechanism.
fn theft_group(s: &mut ShardFile) -> &mut sessionsim::output::metrics::TheftAcc {
    s.result.cells[0][0]
        .groups
        .iter_mut()
        .flat_map(|g| g.thefts.iter_mut())
        .find(|t| t.thefts > 0)
        .expect("a theft in the shard")
}

#[test]
fn contained_counts_that_would_wrap_are_refused_naming_the_shard() {
    // Regression: contained_1h and contained_24h were added without a check and wrapped.
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        &root()
            .join("models/policies/baseline.json")
            .display()
            .to_string(),
    );
    let a = shard(&exp, tmp.path(), 1);
    let b = shard(&exp, tmp.path(), 2);
    for field in ["contained_1h", "contained_24h"] {
        let copy = tmp.path().join(format!("b-{field}"));
        std::fs::create_dir(&copy).unwrap();
        for f in std::fs::read_dir(&b).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
        }
        tamper(&copy, |s| {
            let t = theft_group(s);
            match field {
                "contained_1h" => t.contained_1h = u64::MAX,
                _ => t.contained_24h = u64::MAX,
            }
        });
        let out = tmp.path().join("merged");
        let o = merge(&[&a, &copy], &out);
        assert_input_error(
            &o,
            &[&format!("b-{field}/accumulators.json"), field, "shard 2/2"],
        );
        assert!(!out.exists());
    }
}

#[test]
fn an_overflowing_count_names_the_shard_that_holds_it() {
    // Regression: the shards were paired with the command line's folders after being
    // sorted by number, so the message named a healthy shard.
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        &root()
            .join("models/policies/baseline.json")
            .display()
            .to_string(),
    );
    let a = shard(&exp, tmp.path(), 1);
    let b = shard(&exp, tmp.path(), 2);
    tamper(&a, |s| s.result.cells[0][0].groups[0].events = u64::MAX - 1);
    for order in [[&a, &b], [&b, &a]] {
        let o = merge(
            &[order[0].as_path(), order[1].as_path()],
            &tmp.path().join("m"),
        );
        let err = stderr(&o);
        assert_input_error(&o, &["shard-1/accumulators.json", "shard 1/2"]);
        assert!(!err.contains("shard-2"), "{err}");
    }
}
