//! `sessionsim whatif` run as a user runs it: the real binary against the model policy
//! library, checking exit codes and the JSON object INTERFACE.md specifies.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn whatif(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessionsim"))
        .arg("whatif")
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `whatif --json`, expects exit 0, and parses the object.
fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = whatif(&all);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is an array"))
        .iter()
        .map(|p| p["displayName"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The reason given for the not-applied policy whose name starts with `prefix`.
fn reason(v: &Value, prefix: &str) -> String {
    v["notApplied"]
        .as_array()
        .expect("notApplied")
        .iter()
        .find(|p| {
            p["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .and_then(|p| p["reason"].as_str())
        .unwrap_or_else(|| panic!("{prefix} is not in notApplied: {v:#}"))
        .to_string()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

const BASELINE: &str = "models/policies/baseline.json";

#[test]
fn an_admin_in_the_browser() {
    let v = json(&[
        "--policies",
        BASELINE,
        "--app",
        "azure_portal",
        "--roles",
        "global_administrator",
        "--device",
        "entra_joined",
        "--compliant",
        "--client",
        "browser",
    ]);
    assert_eq!(
        names(&v, "applied"),
        vec![
            "CA001: Require MFA for all users",
            "CA002: Admins - MFA, 4 h sign-in frequency, never persistent"
        ]
    );
    assert!(reason(&v, "CA003").contains("device excluded by the device filter"));
    assert!(reason(&v, "CA004").contains("user actions"));
    assert!(reason(&v, "CA006").contains("userRiskLevels"));
    assert_eq!(v["grant"]["block"], false);
    assert_eq!(strs(&v["grant"]["controls"]), vec!["mfa"]);
    assert_eq!(v["session"]["signInFrequency"], "4h");
    assert_eq!(v["session"]["persistentBrowser"], "never");
    let admins = &v["applied"][1];
    assert_eq!(admins["state"], "enabled");
    assert_eq!(admins["id"], "8d1f3b52-4c6e-4a0b-9f7d-2e5a6c1b0a02");
    assert_eq!(admins["sessionControls"]["signInFrequency"], "4h");
    assert_eq!(strs(&admins["grantControls"]["controls"]), vec!["mfa"]);
    assert_eq!(v["reportOnly"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_user_on_an_unmanaged_device() {
    let v = json(&[
        "--policies",
        BASELINE,
        "--user",
        "dana@contoso.example",
        "--app",
        "sharepoint",
        "--device",
        "unmanaged",
        "--client",
        "browser",
    ]);
    assert_eq!(
        names(&v, "applied"),
        vec![
            "CA001: Require MFA for all users",
            "CA003: Unmanaged devices - browser 1 day sign-in frequency, never persistent"
        ]
    );
    assert!(reason(&v, "CA002").contains("user not included"));
    assert_eq!(v["session"]["signInFrequency"], "1d");
    assert_eq!(v["session"]["persistentBrowser"], "never");
    assert_eq!(v["applied"][1]["grantControls"], Value::Null);
    assert_eq!(v["signIn"]["user"], "dana@contoso.example");

    // The same user in a native app: the unmanaged-device policy targets browsers only.
    let v = json(&[
        "--policies",
        BASELINE,
        "--app",
        "sharepoint",
        "--device",
        "unmanaged",
        "--client",
        "native",
    ]);
    assert!(reason(&v, "CA003").contains("client app type"));
    assert_eq!(v["session"]["signInFrequency"], Value::Null);
}

#[test]
fn a_risky_user() {
    let v = json(&[
        "--policies",
        BASELINE,
        "--app",
        "exchange",
        "--client",
        "native",
        "--device",
        "hybrid_joined",
        "--compliant",
        "--user-risk",
        "high",
    ]);
    assert_eq!(
        names(&v, "applied"),
        vec![
            "CA001: Require MFA for all users",
            "CA006: High user risk - MFA and password change, every time"
        ]
    );
    assert_eq!(v["grant"]["operator"], "AND");
    assert_eq!(strs(&v["grant"]["controls"]), vec!["mfa", "passwordChange"]);
    assert_eq!(v["session"]["signInFrequency"], "every_time");
    let risky = &v["applied"][1]["grantControls"];
    assert_eq!(risky["operator"], "AND");
    assert_eq!(v["signIn"]["userRisk"], "high");
}

#[test]
fn a_user_registering_security_info() {
    let v = json(&[
        "--policies",
        BASELINE,
        "--user-action",
        "urn:user:registersecurityinfo",
        "--device",
        "registered",
    ]);
    assert_eq!(
        names(&v, "applied"),
        vec!["CA004: Register security info - MFA every time"]
    );
    assert!(reason(&v, "CA001").contains("does not target user actions"));
    assert_eq!(strs(&v["grant"]["controls"]), vec!["mfa"]);
    assert_eq!(v["session"]["signInFrequency"], "every_time");
    assert_eq!(v["session"]["persistentBrowser"], Value::Null);
}

#[test]
fn a_protected_action_behind_authentication_context_c1() {
    let v = json(&["--policies", BASELINE, "--auth-context", "c1"]);
    assert_eq!(
        names(&v, "applied"),
        vec!["CA005: Authentication context c1 - MFA every time"]
    );
    assert_eq!(v["session"]["signInFrequency"], "every_time");
    let v = json(&["--policies", BASELINE, "--auth-context", "c2"]);
    assert!(names(&v, "applied").is_empty());
    assert!(reason(&v, "CA005").contains("authentication context not included"));
}

#[test]
fn entra_defaults_apply_nothing() {
    let v = json(&["--policies", "models/policies/none.json", "--app", "teams"]);
    for key in ["applied", "reportOnly", "notApplied"] {
        assert_eq!(v[key].as_array().map(Vec::len), Some(0), "{key}");
    }
    assert_eq!(v["grant"]["block"], false);
    assert_eq!(v["grant"]["controls"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["session"]["signInFrequency"], Value::Null);
    assert_eq!(v["session"]["persistentBrowser"], Value::Null);
}

#[test]
fn report_only_policies_are_listed_apart() {
    let v = json(&[
        "--policies",
        "tests/data/policies/export-folder",
        "--app",
        "exchange",
        "--device",
        "registered",
    ]);
    assert_eq!(
        names(&v, "reportOnly"),
        vec!["Compliant or hybrid joined device"]
    );
    assert!(names(&v, "applied").is_empty());
    assert_eq!(v["grant"]["controls"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["wouldHave"]["grant"]["operator"], "OR");
    assert_eq!(
        strs(&v["wouldHave"]["grant"]["controls"]),
        vec!["compliantDevice", "domainJoinedDevice"]
    );
    assert_eq!(
        v["reportOnly"][0]["state"],
        "enabledForReportingButNotEnforced"
    );
}

#[test]
fn utf16_files_from_windows_powershell_work() {
    let v = json(&[
        "--policies",
        "tests/data/policies/utf16le-bom.json",
        "--app",
        "exchange",
        "--sign-in-risk",
        "high",
    ]);
    assert_eq!(
        names(&v, "applied"),
        vec!["Every-time sign-in for risky sign-ins"]
    );
    assert_eq!(v["session"]["signInFrequency"], "every_time");
}

#[test]
fn the_table_explains_each_policy() {
    let out = whatif(&[
        "--policies",
        BASELINE,
        "--app",
        "sharepoint",
        "--device",
        "unmanaged",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Applied (2):",
        "CA003: Unmanaged devices",
        "Not applied (4):",
        "user not included by includeUsers, includeGroups or includeRoles",
        "session: sign-in frequency 1d, persistent browser never",
    ] {
        assert!(text.contains(needle), "`{needle}` in:\n{text}");
    }
}

#[test]
fn load_warnings_go_to_stderr_and_do_not_fail() {
    let out = whatif(&[
        "--policies",
        "tests/data/policies/placeholders.json",
        "--app",
        "exchange",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("<<BreakGlassGroupId>>"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(3));
}

#[test]
fn malformed_json_exits_2_with_line_and_column() {
    let out = whatif(&[
        "--policies",
        "tests/data/policies/malformed.json",
        "--app",
        "exchange",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("malformed.json:4:3: malformed JSON"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_field_type_exits_2_naming_the_path_and_policy() {
    let out = whatif(&[
        "--policies",
        "tests/data/policies/bad-type.json",
        "--app",
        "exchange",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "bad-type.json: value[1].conditions.users.includeGroups[2]: policy \"Finance MFA\""
        ),
        "{err}"
    );
}

#[test]
fn a_missing_policy_file_exits_2() {
    let out = whatif(&[
        "--policies",
        "models/policies/no-such-design.json",
        "--app",
        "exchange",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no-such-design.json") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn bad_arguments_exit_2_naming_the_option() {
    for (args, needle) in [
        (
            vec!["--app", "exchange", "--device", "spaceship"],
            "--device",
        ),
        (vec!["--app", "sharepont"], "did you mean `sharepoint`"),
        (vec!["--app", "exchange", "--compliant"], "--compliant"),
        (vec!["--auth-context", "c99"], "c1 to c25"),
        (
            vec!["--user-action", "urn:user:resetpassword"],
            "--user-action",
        ),
        (
            vec!["--app", "exchange", "--user-risk", "extreme"],
            "--user-risk",
        ),
        (
            vec!["--app", "exchange", "--platform", "beos"],
            "--platform",
        ),
        (vec![], "--app APP, --user-action URN or --auth-context cN"),
    ] {
        let mut all = vec!["--policies", BASELINE];
        all.extend(args.iter().copied());
        let out = whatif(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    // Two targets at once is a usage error caught by the argument parser.
    let out = whatif(&[
        "--policies",
        BASELINE,
        "--app",
        "exchange",
        "--auth-context",
        "c1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// Names that are not ids (issue 35).

#[test]
fn an_unknown_location_name_is_refused_with_the_valid_values() {
    // Regression: `--location untrustd` was taken as a trusted named location.
    let o = whatif(&[
        "--policies",
        "models/policies/strict-location.json",
        "--app",
        "exchange",
        "--location",
        "untrustd",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "--location",
        "untrustd",
        "`trusted`",
        "GUID",
        "did you mean `untrusted`",
    ] {
        assert!(err.contains(needle), "`{needle}` in {err}");
    }
    // A GUID a policy names is a location; one no policy names is warned about.
    let named = "3f6b2a7e-1d4c-4e9b-a1f0-5c8d7e6b9a21";
    let o = whatif(&[
        "--policies",
        "tests/data/policies/array.json",
        "--app",
        "exchange",
        "--location",
        named,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("--location"), "{}", stderr(&o));
    let o = whatif(&[
        "--policies",
        "tests/data/policies/array.json",
        "--app",
        "exchange",
        "--location",
        "untrusted:11111111-2222-3333-4444-555555555555",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no policy names the location") && stderr(&o).contains(named),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unknown_role_name_is_refused_and_an_unused_id_warned_about() {
    // Regression: `--roles global_admin` was taken as a role id.
    let o = whatif(&[
        "--policies",
        "models/policies/baseline.json",
        "--app",
        "azure_portal",
        "--roles",
        "global_admin",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "--roles",
        "global_admin",
        "not a directory role",
        "did you mean `global_administrator`",
    ] {
        assert!(err.contains(needle), "`{needle}` in {err}");
    }
    let o = whatif(&[
        "--policies",
        "models/policies/baseline.json",
        "--app",
        "exchange",
        "--roles",
        "11111111-2222-3333-4444-555555555555",
        "--groups",
        "no-such-group",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no policy includes or excludes the role"),
        "{err}"
    );
    assert!(
        err.contains("no policy includes or excludes the group `no-such-group`"),
        "{err}"
    );
    // A role a policy names: no warning.
    let o = whatif(&[
        "--policies",
        "models/policies/baseline.json",
        "--app",
        "exchange",
        "--roles",
        "global_administrator",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("--roles"), "{}", stderr(&o));
}

#[test]
fn help_describes_every_option() {
    let o = whatif(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let options: Vec<&str> = help
        .lines()
        .filter(|l| l.trim_start().starts_with("--"))
        .collect();
    assert!(options.len() >= 20, "{help}");
    for line in options {
        let described = line
            .trim()
            .split_once("  ")
            .is_some_and(|(_, text)| text.trim().len() > 10);
        assert!(described, "no description: {line}");
    }
}
