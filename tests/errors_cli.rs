//! Bad input exits with code 2 and a message naming the file and the field or line.

mod common;

use common::*;

fn refuse(text: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "bad.toml", text);
    for cmd in ["trace", "validate"] {
        let out = run(&[cmd, path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{cmd} should exit 2 for {text:?}"
        );
        let err = stderr(&out);
        assert!(
            err.contains("bad.toml"),
            "{cmd}: message should name the file: {err}"
        );
        for e in expect {
            assert!(
                err.contains(e),
                "{cmd}: message should contain {e:?}: {err}"
            );
        }
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            out.stdout.is_empty() || cmd == "validate" && !stdout(&out).contains("ok"),
            "no partial output"
        );
    }
}

#[test]
fn unknown_device_type_names_the_field_and_suggests() {
    refuse(
        "device = \"hybrid_join\"\n",
        &["bad.toml:1:10", "device", "did you mean `hybrid_joined`"],
    );
}

#[test]
fn bad_time_names_the_step_field_and_line() {
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"25:61\"\ndo = \"lock\"\n",
        &["bad.toml:3:", "step[0].at", "25:61"],
    );
}

#[test]
fn until_before_at_is_refused() {
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"use\"\napp = \"exchange\"\nuntil = \"00:30\"\n",
        &["bad.toml:6:", "step[0].until", "must be later than `at`"],
    );
}

#[test]
fn unknown_step_is_refused_with_a_hint() {
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"lok\"\n",
        &["bad.toml:4:", "step[0].do", "did you mean `lock`"],
    );
}

#[test]
fn unknown_app_and_missing_fields_are_refused() {
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"open\"\napp = \"sharepont\"\n",
        &["step[0].app", "did you mean `sharepoint`"],
    );
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"use\"\napp = \"teams\"\n",
        &["step[0].until", "needs `until`"],
    );
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"lock\"\napp = \"teams\"\n",
        &["step[0].app", "no meaning"],
    );
}

#[test]
fn steps_out_of_order_and_unknown_keys_are_refused() {
    refuse("device = \"unmanaged\"\n[[step]]\nat = \"02:00\"\ndo = \"lock\"\n[[step]]\nat = \"01:00\"\ndo = \"unlock\"\n", &["step[1].at", "time order"]);
    refuse(
        "device = \"unmanaged\"\n[[step]]\nat = \"01:00\"\ndo = \"lock\"\nfoo = 1\n",
        &["bad.toml:5:", "unknown field `foo`"],
    );
    refuse("device = \n", &["bad.toml:1:"]);
    refuse(
        "device = \"unmanaged\"\nsign_in_frequency = \"0h\"\n",
        &["sign_in_frequency", "outside what Entra allows"],
    );
    refuse(
        "device = \"unmanaged\"\n[model]\nprt_lifetime = \"0d\"\n",
        &["model.prt_lifetime"],
    );
}

#[test]
fn missing_and_binary_files_are_refused() {
    let out = run(&["trace", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/file.toml: file not found"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.toml");
    std::fs::write(&path, [0xC3u8, 0x28, 0x00, 0xFF]).unwrap();
    let out = run(&["trace", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
