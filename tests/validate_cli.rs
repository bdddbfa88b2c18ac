//! `sessionsim validate` on each kind of file: good files pass, bad ones exit 2 with a
//! message naming the file and the field, and legal but suspicious ones warn.

mod common;

use common::*;

fn validate(files: &[&str]) -> std::process::Output {
    let mut args = vec!["validate"];
    args.extend_from_slice(files);
    run(&args)
}

#[test]
fn every_shipped_model_file_validates() {
    let mut files = Vec::new();
    for dir in [
        "models/scenarios",
        "models/populations",
        "models/policies",
        "experiments",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml" || x == "json") {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let o = validate(&refs);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), files.len());
}

/// Writes `text` into `tests/data/` (so relative model paths resolve), validates it, and
/// returns (exit code, stderr).
fn check(name: &str, text: &str) -> (Option<i32>, String) {
    let path = root()
        .join("tests/data")
        .join(format!(".{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let o = validate(&[path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    (o.status.code(), stderr(&o))
}

const POPULATION_HEAD: &str = "name = \"p\"\n[[persona]]\nname = \"a\"\nshare = 1.0\ndevices = { unmanaged = 1.0 }\n[persona.work]\nstart = \"09:00\"\nstart_jitter = \"0s\"\nlength = \"8h\"\nlength_jitter = \"0s\"\nworkday_share = 1.0\nweekend_share = 0.0\nlunch = \"30m\"\nbreaks = 1\nbreak_length = \"5m\"\nmeetings = 0\nmeeting_length = \"30m\"\nmeetings_in_teams = 0.0\nbrowser_restarts = 0\nbrowser_closed_overnight = 0.0\nend_of_day = \"lock\"\n";

#[test]
fn bad_populations_name_the_field() {
    let ok = format!("{POPULATION_HEAD}[[persona.apps]]\napp = \"exchange\"\n");
    assert_eq!(check("pop-ok.toml", &ok).0, Some(0));
    let cases = [
        (
            ok.replace("unmanaged = 1.0", "unmanaged = 0.7"),
            "persona[0].devices",
            "sum to 0.7",
        ),
        (
            ok.replace("unmanaged = 1.0", "unmanagd = 1.0"),
            "persona[0].devices",
            "did you mean `unmanaged`",
        ),
        (
            ok.replace("app = \"exchange\"", "app = \"exchage\""),
            "persona[0].apps[0].app",
            "did you mean `exchange`",
        ),
        (
            ok.replace("share = 1.0", "share = 0.5"),
            "persona[].share",
            "sum to 0.5",
        ),
        (
            ok.replace("length = \"8h\"", "length = \"-8h\""),
            ".toml:",
            "not a duration",
        ),
        (
            ok.replace("start = \"09:00\"", "start = \"24:30\""),
            "persona[0].work.start",
            "before 24:00",
        ),
        (
            ok.replace("breaks = 1", "breaks = 1e9"),
            "persona[0].work.breaks",
            "rate",
        ),
    ];
    for (text, field, msg) in cases {
        let (code, err) = check("pop.toml", &text);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(field) && err.contains(msg),
            "expected {field} / {msg}: {err}"
        );
    }
}

#[test]
fn bad_experiments_name_the_field() {
    let ok = "name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 10\ndays = 2\n[[design]]\nname = \"a\"\n";
    assert_eq!(check("exp-ok.toml", ok).0, Some(0));
    let cases = [
        (
            ok.replace("byod.toml", "nope.toml"),
            "population",
            "does not exist",
        ),
        (
            format!("{ok}[[design]]\nname = \"a\"\n"),
            "design[1].name",
            "duplicate design name",
        ),
        (
            format!("{ok}[[design]]\nname = \"b\"\nsign_in_frequency = \"30m\"\n"),
            "design[1].sign_in_frequency",
            "outside what Entra allows",
        ),
        (
            format!("{ok}[[design]]\nname = \"b\"\nsign_in_frequency = \"400d\"\n"),
            "design[1].sign_in_frequency",
            "outside what Entra allows",
        ),
        (
            format!("{ok}[[design]]\nname = \"b\"\npolicies = \"missing.json\"\n"),
            "design[1].policies",
            "does not exist",
        ),
        (
            ok.replace("users = 10", "users = 0"),
            "users",
            "between 1 and",
        ),
        (
            ok.replace("name = \"x\"", "name = \"../x\""),
            "name",
            "output folder",
        ),
        (
            format!("start_date = \"2026-01-06\"\n{ok}"),
            "start_date",
            "Monday",
        ),
    ];
    for (text, field, msg) in cases {
        let (code, err) = check("exp.toml", &text);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(field) && err.contains(msg),
            "expected {field} / {msg}: {err}"
        );
    }
}

#[test]
fn suspicious_settings_warn_but_pass() {
    let exp = "name = \"x\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 10\ndays = 2\n[[design]]\nname = \"a\"\nsign_in_frequency = \"4h\"\ntenant = { remember_mfa = \"14d\" }\n";
    let (code, err) = check("warn.toml", exp);
    assert_eq!(code, Some(0));
    assert!(
        err.contains("warning") && err.contains("remember MFA"),
        "{err}"
    );
    let policy = r#"{"displayName":"never","state":"enabled","id":"<<policyId>>","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"devices":{"deviceFilter":{"mode":"include","rule":"device.trustType -eq \"AzureAD\" -and device.trustType -eq \"ServerAD\""}}},"grantControls":{"operator":"OR","builtInControls":["block"]}}"#;
    let (code, err) = check("never.json", policy);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("matches no device"), "{err}");
    assert!(
        err.contains("placeholder") || err.contains("<<policyId>>"),
        "{err}"
    );
}

#[test]
fn a_file_of_unknown_kind_is_refused() {
    let (code, err) = check("what.toml", "answer = 42\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a scenario, population, experiment or policy file"),
        "{err}"
    );
}

#[test]
fn bad_threat_tables_name_the_field_in_populations_and_experiments() {
    let ok = format!("{POPULATION_HEAD}[[persona.apps]]\napp = \"exchange\"\n");
    for (threat, field, says) in [
        (
            "[threat.aitm]\nbase = 3",
            "threat.aitm.base",
            "not a probability",
        ),
        (
            "[threat.infostealer]\nper_user_year = { laptop = 0.1 }",
            "threat.infostealer.per_user_year.laptop",
            "unknown device type `laptop`",
        ),
        (
            "[threat.push_bombing]\nattempts_per_user = 0",
            "threat.push_bombing.attempts_per_user",
            "between 0 (excluded)",
        ),
        (
            "[threat]\nmode = \"sometimes\"",
            ".toml:",
            "unknown variant",
        ),
    ] {
        let (code, err) = check("pop-threat.toml", &format!("{ok}{threat}\n"));
        assert_eq!(code, Some(2), "{threat}: {err}");
        assert!(err.contains(field) && err.contains(says), "{threat}: {err}");
    }
    // An experiment's overrides are checked the same way, against the merged table.
    let exp = "name = \"e\"\npopulation = \"../../models/populations/byod.toml\"\nusers = 5\ndays = 2\n[[design]]\nname = \"d\"\n";
    assert_eq!(check("exp-threat.toml", exp).0, Some(0));
    let (code, err) = check(
        "exp-threat.toml",
        &format!("{exp}[threat.device_compromise]\ntpm_share = {{ unmanaged = 2.0 }}\n"),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("threat.device_compromise.tpm_share.unmanaged"),
        "{err}"
    );
}

#[test]
fn validate_on_a_folder_tree_reports_what_each_file_came_to() {
    let tree = "tests/data/policies/tenant-export";
    let o = validate(&[tree]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a half-written file fails the folder"
    );
    assert!(stderr(&o).contains("half-written.json"), "{}", stderr(&o));
    let o = run(&["validate", "--skip-invalid", tree]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "2 loaded from 2 files; 1 authentication-strength file; 4 files skipped; 1 failed"
        ),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert_eq!(
        err.matches("skipped:").count(),
        4,
        "one line per skipped file: {err}"
    );
    assert!(
        err.contains("failed:") && err.contains("half-written.json"),
        "{err}"
    );
}

#[test]
fn personas_can_describe_the_tenant() {
    let keys = "guest = \"serviceProvider\"\nnamed_location = { trusted = \"hq\", untrusted = \"fr\" }\ndevice_attributes = { deviceOwnership = \"Company\", \"device.displayName\" = \"PAW-1\" }\n";
    let ok = format!("{POPULATION_HEAD}[[persona.apps]]\napp = \"exchange\"\n").replacen(
        "devices = { unmanaged = 1.0 }\n",
        &format!("devices = {{ unmanaged = 1.0 }}\n{keys}"),
        1,
    );
    let (code, err) = check("pop-tenant.toml", &ok);
    assert_eq!(code, Some(0), "{err}\n{ok}");
    for (from, to, field) in [
        ("\"serviceProvider\"", "\"partner\"", "persona[0].guest"),
        (
            "deviceOwnership",
            "colour",
            "persona[0].device_attributes.colour",
        ),
        (
            "deviceOwnership",
            "trustType",
            "persona[0].device_attributes.trustType",
        ),
    ] {
        let bad = ok.replacen(from, to, 1);
        let (code, err) = check("pop-tenant.toml", &bad);
        assert_eq!(code, Some(2), "{to}: {err}\n{bad}");
        assert!(err.contains(field), "{to}: {err}");
    }
}

#[test]
fn remember_mfa_warns_beside_sign_in_frequency_only() {
    let tmp = tempfile::tempdir().unwrap();
    let experiment = |policies: &str| {
        let path = tmp.path().join(format!("{policies}.toml"));
        let population = root().join("models/populations/quickstart.toml");
        let policies = root()
            .join("models/policies")
            .join(format!("{policies}.json"));
        std::fs::write(
            &path,
            format!(
                "name = \"x\"\npopulation = {population:?}\nusers = 10\ndays = 7\n[[design]]\nname = \"d\"\npolicies = {policies:?}\ntenant = {{ remember_mfa = \"14d\" }}\n"
            ),
        )
        .unwrap();
        path
    };
    let with_sif = experiment("sif-1h");
    let o = validate(&[with_sif.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("remember MFA"), "{}", stderr(&o));
    // MFA for all users sets no sign-in frequency: Microsoft's advice does not apply.
    let without = experiment("mfa-all-users");
    let o = validate(&[without.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("remember MFA"), "{}", stderr(&o));
}
