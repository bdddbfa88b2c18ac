//! `sessionsim calibrate` as a user runs it (issue 12): real export shapes load, bad rows
//! are counted with their position, a file that is not a log is refused, and a simulated
//! log of a known population round-trips: calibrate recovers its device mix, browser share
//! and working hours, and re-simulating the same design with the fitted population gives
//! the same prompts per user-day within 15%, from the CSV and from the same rows written
//! as a Graph `signIns` page.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use sessionsim::world::app::DeviceTrust;
use sessionsim::world::population::Population;
use sessionsim::world::signin_log::{read_log, LogFormat, ReadOptions, SignIn, Target};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/data/signins").join(name)
}

fn read(name: &str) -> (sessionsim::world::signin_log::ReadReport, Vec<SignIn>) {
    let mut rows = Vec::new();
    let report = read_log(&fixture(name), &ReadOptions::default(), &mut |s| {
        rows.push(s)
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (report, rows)
}

fn by_user(rows: &[SignIn], upn: &str) -> Vec<SignIn> {
    let key = sessionsim::world::signin_log::user_key(upn);
    rows.iter().filter(|s| s.user == key).cloned().collect()
}

#[test]
fn every_export_shape_loads_with_devices_clients_and_apps() {
    for (name, format, rows) in [
        ("graph-v1-page.json", LogFormat::GraphJson, 26),
        ("graph-beta-page.json", LogFormat::GraphJson, 33),
        ("graph-lines.jsonl", LogFormat::JsonLines, 11),
        ("admin-interactive.csv", LogFormat::AdminCenterCsv, 26),
        ("admin-noninteractive.csv", LogFormat::AdminCenterCsv, 18),
        (
            "loganalytics-signinlogs.csv",
            LogFormat::LogAnalyticsCsv,
            26,
        ),
        (
            "loganalytics-signinlogs.json",
            LogFormat::LogAnalyticsJson,
            12,
        ),
    ] {
        let (report, signins) = read(name);
        assert_eq!(report.format, Some(format), "{name}");
        assert_eq!(
            (report.rows, report.used, report.bad),
            (rows, rows, 0),
            "{name}: {:?}",
            report.bad_examples
        );
        // The four users behave alike in every file: alice on an Entra joined compliant PC,
        // bob on an unmanaged device in the browser, carol on hybrid joined, dave on a
        // registered phone.
        for (upn, trust) in [
            ("alice@contoso.example", DeviceTrust::EntraJoined),
            ("bob@contoso.example", DeviceTrust::Unmanaged),
            ("carol@contoso.example", DeviceTrust::HybridJoined),
            ("dave@contoso.example", DeviceTrust::Registered),
        ] {
            let mine = by_user(&signins, upn);
            if mine.is_empty() {
                continue;
            }
            assert!(
                mine.iter().all(|s| s.device == Some(trust)),
                "{name}: {upn} {:?}",
                mine.iter().map(|s| s.device).collect::<Vec<_>>()
            );
        }
        let bob = by_user(&signins, "bob@contoso.example");
        assert!(
            bob.iter()
                .all(|s| s.client == Some(sessionsim::world::app::Client::Browser)),
            "{name}"
        );
        assert!(
            signins.iter().any(|s| matches!(s.target, Target::App(_))),
            "{name}"
        );
        assert!(
            report.other_apps.contains_key("Fabrikam Expenses") || name.starts_with("admin-non"),
            "{name}: {:?}",
            report.other_apps
        );
    }
}

#[test]
fn the_admin_centers_two_downloads_say_interactive_by_file_name() {
    let (_, inter) = read("admin-interactive.csv");
    let (_, non) = read("admin-noninteractive.csv");
    assert!(inter.iter().all(|s| s.interactive));
    assert!(non.iter().all(|s| !s.interactive && !s.prompt));
    // Browser single sign-on with the PRT is interactive but not a prompt; bob's MFA is.
    let alice = by_user(&inter, "alice@contoso.example");
    assert!(
        alice.iter().all(|s| !s.prompt),
        "alice signs in silently with her PRT"
    );
    let bob = by_user(&inter, "bob@contoso.example");
    assert!(bob.iter().any(|s| s.prompt && s.mfa.is_some()));
}

#[test]
fn beta_authentication_details_give_credentials_and_methods() {
    let (_, rows) = read("graph-beta-page.json");
    use sessionsim::model::Credential;
    let alice = by_user(&rows, "alice@contoso.example");
    assert!(alice
        .iter()
        .any(|s| s.credential == Some(Credential::WindowsHello)));
    let carol = by_user(&rows, "carol@contoso.example");
    assert!(carol
        .iter()
        .any(|s| s.credential == Some(Credential::Passkey)
            || s.mfa == Some(sessionsim::model::MfaMethod::Passkey)));
}

#[test]
fn malformed_rows_are_counted_with_their_line_and_the_rest_fitted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fitted.toml");
    let o = run(&[
        "calibrate",
        fixture("malformed.jsonl").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--rounds",
        "1",
        "--simulated-users",
        "20",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 of 10 rows could not be read"), "{err}");
    assert!(err.contains("line 4:") && err.contains("line 8:"), "{err}");
    // The population written loads.
    Population::load(&out).unwrap();
    let v = run(&["validate", out.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn a_file_that_is_not_a_sign_in_log_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fitted.toml");
    let policy = root().join("models/policies/baseline.json");
    for (file, needle) in [
        (fixture("not-a-log.csv"), "no time column"),
        (policy.clone(), "not a sign-in log"),
        (tmp.path().join("missing.json"), "file not found"),
        (tmp.path().to_path_buf(), "a folder"),
    ] {
        let o = run(&[
            "calibrate",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()) && err.contains(needle),
            "{err}"
        );
        assert!(!err.contains("panicked"));
        assert!(!out.exists(), "no output after an error");
    }
}

#[test]
fn command_line_mistakes_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fitted.toml");
    let log = fixture("graph-lines.jsonl");
    let log = log.to_str().unwrap();
    let o = run(&[
        "calibrate",
        log,
        "--out",
        out.to_str().unwrap(),
        "--utc-offset",
        "+25:00",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--utc-offset"));
    let o = run(&[
        "calibrate",
        fixture("admin-interactive.csv").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--group-by",
        "costCenter",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--group-by `costCenter`"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&out, "# mine\n").unwrap();
    let o = run(&["calibrate", log, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "# mine\n",
        "never overwritten"
    );
}

// ---------------------------------------------------------------------------------------
// The round trip.

const ROUND_TRIP_USERS: u32 = 800;

/// An experiment over `population` with the MFA-for-everyone design, no attacks.
/// The design of the round trip: the baseline set (MFA for all, SIF for admins and
/// unmanaged browsers, ...). In a steady start MFA for all alone prompts about 0.06 times
/// per user-day, a few hundred prompts in this study, whose sampling noise (±10%) would
/// swamp a 15% check; the baseline prompts ten times as often.
const ROUND_TRIP_POLICIES: &str = "models/policies/baseline.json";

fn experiment(dir: &Path, name: &str, population: &Path) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\npopulation = \"{}\"\nusers = {ROUND_TRIP_USERS}\ndays = 14\nreplicates = 1\nseed = 11\n[threat]\nenabled = false\n[[design]]\nname = \"mfa\"\npolicies = \"{}\"\n",
            population.display(),
            root().join(ROUND_TRIP_POLICIES).display()
        ),
    )
    .unwrap();
    path
}

fn run_ok(args: &[&str]) -> std::process::Output {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn prompts(dir: &Path) -> f64 {
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    csv_rows(&summary)[0]["prompts_per_user_day"]
        .parse()
        .unwrap()
}

/// The simulator's rows written as one Graph `signIns` page, the way Entra logs them: a
/// prompt is an interactive row that succeeded with the methods used, other rows keep their
/// code; the persona is a custom `department` field (as a KQL join would add).
fn graph_page(rows: &[HashMap<String, String>]) -> String {
    let value: Vec<serde_json::Value> = rows
        .iter()
        .filter(|r| r["actor"] == "user")
        .map(|r| {
            let prompt = r["isInteractive"] == "true";
            let mut details = vec![serde_json::json!({
                "authenticationMethod": r["authenticationMethod"],
                "succeeded": true,
                "authenticationStepRequirement": "Primary authentication"
            })];
            // Every row names the user's second factor too, as the simulated CSV does, so
            // both carry the same facts (a real log shows it where MFA was performed).
            if !r["mfaAuthMethod"].is_empty() {
                details.push(serde_json::json!({
                    "authenticationMethod": r["mfaAuthMethod"],
                    "succeeded": true,
                    "authenticationStepRequirement": "Secondary authentication"
                }));
            }
            let code: u64 = if prompt {
                0
            } else {
                r["status_errorCode"].parse().unwrap()
            };
            serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "createdDateTime": r["createdDateTime"],
                "userPrincipalName": r["userPrincipalName"],
                "userId": r["userPrincipalName"],
                "appDisplayName": r["appDisplayName"],
                "clientAppUsed": r["clientAppUsed"],
                "isInteractive": prompt,
                "status": {"errorCode": code, "failureReason": "Other."},
                "deviceDetail": {
                    "deviceId": "",
                    "trustType": r["deviceTrustType"],
                    "isCompliant": r["isCompliant"] == "true",
                },
                "authenticationDetails": details,
                "networkLocationDetails": if r["networkType"].is_empty() {
                    serde_json::json!([])
                } else {
                    serde_json::json!([{"networkType": r["networkType"], "networkNames": ["HQ"]}])
                },
                "department": r["persona"],
            })
        })
        .collect();
    serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
        "value": value,
    })
    .to_string()
}

fn persona<'a>(p: &'a Population, name: &str) -> &'a sessionsim::world::population::Persona {
    p.personas
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| panic!("persona {name}"))
}

/// The persona sections of a fitted file (everything after the header comments).
fn personas_text(text: &str) -> &str {
    &text[text.find("# --- ").unwrap()..]
}

#[test]
fn a_simulated_log_round_trips_through_calibrate_from_csv_and_from_a_graph_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let original = root().join("models/populations/quickstart.toml");
    let exp = experiment(dir, "original", &original);
    let out = dir.join("original-out");
    run_ok(&[
        "run",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--signin-log",
        "--quiet",
    ]);
    let observed = prompts(&out);
    let log = out.join("signins.csv");
    let policies = root().join(ROUND_TRIP_POLICIES);
    // Calibrate on the CSV, personas by the persona column.
    let fitted = dir.join("models").join("fitted.toml");
    std::fs::create_dir(dir.join("models")).unwrap();
    let o = run_ok(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        fitted.to_str().unwrap(),
        "--group-by",
        "persona",
        "--policies",
        policies.to_str().unwrap(),
        "--quiet",
    ]);
    // The check: printed and written, overall within 15%.
    let check = csv_rows(&std::fs::read_to_string(dir.join("models/calibration.csv")).unwrap());
    let all = check.iter().find(|r| r["scope"] == "all").unwrap();
    let error: f64 = all["relative_error"].parse().unwrap();
    assert!(error.abs() < 0.15, "calibration.csv: {all:?}");
    assert!(
        stdout(&o).contains("observed") && stdout(&o).contains("exchange"),
        "{}",
        stdout(&o)
    );
    assert!(check
        .iter()
        .any(|r| r["scope"] == "device" && r["key"] == "unmanaged"));

    // What was recovered.
    let orig = Population::load(&original).unwrap();
    let fit = Population::load(&fitted).unwrap();
    for (a, b) in orig.device_mix().iter().zip(fit.device_mix()) {
        assert!(
            (a - b).abs() < 0.05,
            "device mix {:?} vs {:?}",
            orig.device_mix(),
            fit.device_mix()
        );
    }
    let (ow, fw) = (
        persona(&orig, "office_worker"),
        persona(&fit, "office_worker"),
    );
    assert!(
        (ow.browser_share - fw.browser_share).abs() < 0.1,
        "browser share {} vs {}",
        ow.browser_share,
        fw.browser_share
    );
    let minutes = |d: sessionsim::engine::time::Duration| d.as_secs() as f64 / 60.0;
    assert!(
        (minutes(ow.start) - minutes(fw.start)).abs() <= 20.0,
        "start"
    );
    assert!(
        (minutes(ow.work.length) - minutes(fw.work.length)).abs() <= 45.0,
        "length {} vs {}",
        ow.work.length,
        fw.work.length
    );
    assert!((ow.work.workday_share - fw.work.workday_share).abs() < 0.05);
    for p in &fit.personas {
        assert!(!p.apps.is_empty(), "{}", p.name);
    }
    // Names, IPs and device names are never copied.
    let text = std::fs::read_to_string(&fitted).unwrap();
    assert!(
        !text.contains("user0@") && !text.contains("@contoso.example"),
        "no user names"
    );

    // Re-simulating the same design with the fitted population.
    let again = dir.join("again-out");
    run_ok(&[
        "run",
        experiment(dir, "again", &fitted).to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ]);
    let simulated = prompts(&again);
    assert!(
        (simulated - observed).abs() / observed < 0.15,
        "prompts per user-day: {observed} from the original population, {simulated} from the fitted one"
    );

    // The same rows as a Graph page give the same population.
    let rows = csv_rows(&std::fs::read_to_string(&log).unwrap());
    let page = dir.join("signins-page.json");
    std::fs::write(&page, graph_page(&rows)).unwrap();
    let from_graph = dir.join("models").join("from-graph.toml");
    run_ok(&[
        "calibrate",
        page.to_str().unwrap(),
        "--out",
        from_graph.to_str().unwrap(),
        "--group-by",
        "department",
        "--policies",
        policies.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    let graph_text = std::fs::read_to_string(&from_graph).unwrap();
    let graph_text = graph_text.replace("`department`", "`persona`");
    assert!(
        personas_text(&graph_text) == personas_text(&text),
        "the same population from the same rows:\n{}\n---\n{}",
        personas_text(&graph_text),
        personas_text(&text)
    );
    let check = csv_rows(&std::fs::read_to_string(dir.join("models/calibration.csv")).unwrap());
    let all = check.iter().find(|r| r["scope"] == "all").unwrap();
    let observed_graph: f64 = all["observed_prompts_per_user_day"].parse().unwrap();
    assert!(
        (observed_graph - observed).abs() / observed < 0.15,
        "prompts read from the Graph page: {observed_graph} vs {observed}"
    );
    let again = dir.join("graph-again-out");
    run_ok(&[
        "run",
        experiment(dir, "graph-again", &from_graph)
            .to_str()
            .unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ]);
    let simulated = prompts(&again);
    assert!(
        (simulated - observed).abs() / observed < 0.15,
        "{observed} vs {simulated}"
    );
}

#[test]
fn calibrate_is_deterministic_and_thread_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let log = fixture("graph-beta-page.json");
    let mut texts = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("t{threads}.toml"));
        run_ok(&[
            "calibrate",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--rounds",
            "2",
            "--simulated-users",
            "40",
            "--quiet",
        ]);
        texts.push(std::fs::read_to_string(&out).unwrap());
    }
    // Only the name (from the file name) differs.
    assert!(
        personas_text(&texts[0]) == personas_text(&texts[1]),
        "1 and 2 threads differ"
    );
    assert_eq!(texts[0].replace("\"t1\"", "\"t2\""), texts[1]);
}

#[test]
fn a_utc_offset_moves_the_working_day() {
    let tmp = tempfile::tempdir().unwrap();
    let log = fixture("graph-beta-page.json");
    let start = |offset: &str| {
        let out = tmp
            .path()
            .join(format!("o{}.toml", offset.replace(':', "")));
        run_ok(&[
            "calibrate",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--utc-offset",
            offset,
            "--rounds",
            "1",
            "--simulated-users",
            "40",
            "--quiet",
        ]);
        let p = Population::load(&out).unwrap();
        p.personas[0].start.as_secs() as i64
    };
    let (utc, plus2) = (start("+00:00"), start("+02:00"));
    assert!((plus2 - utc - 7200).abs() <= 15 * 60, "{utc} vs {plus2}");
}
