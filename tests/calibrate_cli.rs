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
use sessionsim::calibrate::log_reader::{read_log, LogFormat, ReadOptions, SignIn, Target};
use sessionsim::world::app::DeviceTrust;
use sessionsim::world::population::Population;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/data/signins").join(name)
}

fn read(name: &str) -> (sessionsim::calibrate::log_reader::ReadReport, Vec<SignIn>) {
    let mut rows = Vec::new();
    let report = read_log(&fixture(name), &ReadOptions::default(), &mut |s| {
        rows.push(s)
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (report, rows)
}

fn by_user(rows: &[SignIn], upn: &str) -> Vec<SignIn> {
    let key = sessionsim::calibrate::log_reader::user_key(upn);
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

/// `--directory` (issue 33): the groups and roles of the log's users come from a Graph
/// `users?$expand=memberOf` page, so that a role-targeted policy finds its users in the
/// fitted population; without it none does.
#[test]
fn a_directory_gives_fitted_personas_the_roles_policies_name() {
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
    let log = out.join("signins.csv");
    // The admins (their persona column) are Global Administrators in the directory.
    let mut users = std::collections::BTreeMap::new();
    for r in csv_rows(&std::fs::read_to_string(&log).unwrap()) {
        if r["actor"] == "user" {
            users.insert(r["userPrincipalName"].clone(), r["persona"].clone());
        }
    }
    let value: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, (upn, persona))| {
            let member = if persona == "admin" {
                serde_json::json!([{"@odata.type": "#microsoft.graph.directoryRole", "id": "obj", "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator"}])
            } else {
                serde_json::json!([{"@odata.type": "#microsoft.graph.group", "id": "not-named-by-policies"}])
            };
            serde_json::json!({"id": format!("id-{i}"), "userPrincipalName": upn, "displayName": "Someone", "memberOf": member})
        })
        .collect();
    let directory = dir.join("users.json");
    std::fs::write(&directory, serde_json::json!({"value": value}).to_string()).unwrap();
    let policies = root().join(ROUND_TRIP_POLICIES);
    std::fs::create_dir(dir.join("m")).unwrap();
    let fit = |name: &str, with: bool| {
        let fitted = dir.join("m").join(name);
        let mut args = vec![
            "calibrate",
            log.to_str().unwrap(),
            "--out",
            fitted.to_str().unwrap(),
            "--policies",
            policies.to_str().unwrap(),
            "--rounds",
            "1",
            "--force",
            "--quiet",
        ];
        if with {
            args.extend(["--directory", directory.to_str().unwrap()]);
        }
        let o = run_ok(&args);
        (std::fs::read_to_string(&fitted).unwrap(), stderr(&o))
    };
    let (with, warnings) = fit("with.toml", true);
    let population = Population::load(&dir.join("m/with.toml")).unwrap();
    let admins: Vec<_> = population
        .personas
        .iter()
        .filter(|p| {
            p.roles
                .iter()
                .any(|r| r == "62e90394-69f5-4237-9190-012177145e10")
        })
        .collect();
    assert!(!admins.is_empty(), "{with}");
    // Only what the policies name is kept, and no name is copied.
    assert!(!with.contains("not-named-by-policies") && !with.contains("Someone"));
    assert!(
        !warnings.contains("apply to no simulated user"),
        "{warnings}"
    );
    let (_, warnings) = fit("without.toml", false);
    assert!(
        warnings.contains("apply to no simulated user"),
        "{warnings}"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 33: the shapes tenants really export.

/// `calibrate LOG --out OUT` with a fast fit, and extra arguments.
fn calibrate_quick(log: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rounds",
        "1",
        "--simulated-users",
        "20",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn azure_monitor_records_are_read_in_every_layout_their_category_saying_interactive() {
    use sessionsim::model::{Credential, MfaMethod};
    // An Event Hub message (`{"records": [...]}`, pretty-printed), a storage account's
    // PT1H.json (one record per line) and the same gzipped.
    let (report, rows) = read("azure-monitor-eventhub.json");
    for other in ["azure-monitor-pt1h.json", "azure-monitor-pt1h.json.gz"] {
        let (r, same) = read(other);
        assert_eq!(same, rows, "{other}");
        assert_eq!(r.format, Some(LogFormat::AzureMonitor), "{other}");
    }
    assert_eq!(report.format, Some(LogFormat::AzureMonitor));
    // 12 records: a service principal's and a legacy client's are left out.
    assert_eq!(
        (report.rows, report.used, report.bad, report.not_user_rows),
        (12, 10, 0, 1),
        "{:?}",
        report.bad_examples
    );
    assert_eq!(report.legacy.get("Exchange ActiveSync"), Some(&1));
    assert_eq!(report.interactive_unknown, 0);
    for (upn, trust) in [
        ("alice@contoso.example", DeviceTrust::EntraJoined),
        ("bob@contoso.example", DeviceTrust::Unmanaged),
        ("carol@contoso.example", DeviceTrust::HybridJoined),
        ("dave@contoso.example", DeviceTrust::Registered),
    ] {
        let mine = by_user(&rows, upn);
        assert!(
            !mine.is_empty() && mine.iter().all(|s| s.device == Some(trust)),
            "{upn}"
        );
    }
    // bob's MFA sign-in has no isInteractive: its category (SignInLogs) says it is
    // interactive, and it is a prompt; NonInteractiveUserSignInLogs rows are not.
    let bob = by_user(&rows, "bob@contoso.example");
    assert!(bob
        .iter()
        .any(|s| s.interactive && s.prompt && s.error_code == 0));
    assert!(bob.iter().any(|s| !s.interactive && !s.prompt));
    // Second factors filed under "Primary authentication" are told by their method.
    assert!(bob
        .iter()
        .any(|s| s.mfa == Some(MfaMethod::PushNumberMatch)
            && s.credential == Some(Credential::Password)));
    let carol = by_user(&rows, "carol@contoso.example");
    assert!(carol
        .iter()
        .any(|s| s.mfa.is_some() && s.credential == Some(Credential::Password)));
    let dave = by_user(&rows, "dave@contoso.example");
    assert!(dave.iter().any(|s| s.mfa.is_some()));
    let alice = by_user(&rows, "alice@contoso.example");
    assert!(alice
        .iter()
        .any(|s| s.credential == Some(Credential::WindowsHello) && s.mfa.is_none()));
    // The records one after another, without a wrapper (as a script concatenates them).
    let text = std::fs::read_to_string(fixture("azure-monitor-pt1h.json")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let pretty = tmp.path().join("records.json");
    std::fs::write(
        &pretty,
        records
            .iter()
            .map(|r| serde_json::to_string_pretty(r).unwrap())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let mut again = Vec::new();
    read_log(&pretty, &ReadOptions::default(), &mut |s| again.push(s)).unwrap();
    assert_eq!(again, rows);
}

#[test]
fn a_log_analytics_union_export_reads_its_dynamic_and_string_pairs_and_its_table() {
    // `union SigninLogs, AADNonInteractiveUserSignInLogs` as CSV, without IsInteractive:
    // the same sign-ins as the Azure Monitor records, read from `DeviceDetail_dynamic` on
    // interactive rows and `DeviceDetail_string` on the others, interactive by `Type`.
    let (report, rows) = read("loganalytics-union.csv");
    assert_eq!(report.format, Some(LogFormat::LogAnalyticsCsv));
    assert_eq!((report.rows, report.used, report.bad), (11, 10, 0));
    assert_eq!(report.interactive_unknown, 0);
    let (_, records) = read("azure-monitor-eventhub.json");
    assert_eq!(rows, records);
    // Without Type and Category nothing says which rows are interactive: a warning.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("loganalytics-union.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !["Type", "Category"].contains(&&headers[i]))
        .collect();
    let path = tmp.path().join("no-type.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(keep.iter().map(|&i| &headers[i])).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        w.write_record(keep.iter().map(|&i| &rec[i])).unwrap();
    }
    w.flush().unwrap();
    let o = calibrate_quick(&path, &tmp.path().join("f.toml"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("10 of its 11 rows say neither isInteractive nor the table"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn group_by_a_nested_field_reads_log_analytics_json_columns() {
    // The README's example, `--group-by deviceDetail.operatingSystem`, on Log Analytics
    // CSV: `DeviceDetail` (or its `_dynamic`/`_string` pair) is JSON text.
    for name in ["loganalytics-union.csv", "loganalytics-signinlogs.csv"] {
        let options = ReadOptions {
            group_by: Some("deviceDetail.operatingSystem".into()),
            ..ReadOptions::default()
        };
        let mut rows = Vec::new();
        read_log(&fixture(name), &options, &mut |s| rows.push(s)).unwrap();
        let alice = by_user(&rows, "alice@contoso.example");
        assert!(
            !alice.is_empty()
                && alice
                    .iter()
                    .all(|s| s.group.as_deref().is_some_and(|g| g.starts_with("Windows"))),
            "{name}: {:?}",
            alice.iter().map(|s| &s.group).collect::<Vec<_>>()
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = calibrate_quick(
        &fixture("loganalytics-union.csv"),
        &tmp.path().join("f.toml"),
        &["--group-by", "deviceDetail.operatingSystem"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tmp.path().join("f.toml")).unwrap();
    assert!(text.contains("name = \"Windows10\""), "{text}");
}

/// Rows of a Graph JSON-lines log: `users` users, each signing in to `app` at 09:00
/// (interactively, MFA by push) and 14:00 on the weekdays from `first` (a date) for
/// `days` days.
fn jsonl(users: std::ops::Range<u32>, app: &str, client: &str, first: &str, days: u32) -> String {
    let (y, m, d): (i32, u32, u32) = {
        let p: Vec<&str> = first.split('-').collect();
        (
            p[0].parse().unwrap(),
            p[1].parse().unwrap(),
            p[2].parse().unwrap(),
        )
    };
    let mut out = String::new();
    for u in users {
        for day in 0..days {
            for (hour, interactive) in [(9, true), (14, false)] {
                out.push_str(
                    &serde_json::json!({
                        "createdDateTime": format!("{y:04}-{m:02}-{:02}T{hour:02}:{:02}:00Z", d + day, u % 60),
                        "userPrincipalName": format!("u{u}@contoso.example"),
                        "appDisplayName": app,
                        "clientAppUsed": client,
                        "isInteractive": interactive,
                        "status": {"errorCode": 0},
                        "deviceDetail": {"trustType": "Azure AD joined", "operatingSystem": "Windows10"},
                        "authenticationDetails": if interactive {
                            serde_json::json!([{"authenticationMethod": "Mobile app notification", "succeeded": true, "authenticationStepRequirement": ""}])
                        } else {
                            serde_json::json!([])
                        },
                    })
                    .to_string(),
                );
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn legacy_authentication_is_neither_a_prompt_nor_a_personas_app() {
    // Regression: a phone's Exchange ActiveSync, signing in with a stored password all
    // day, became a persona that works 23 h 59 min a day.
    let tmp = tempfile::tempdir().unwrap();
    let mut log = jsonl(
        0..20,
        "Microsoft Teams",
        "Mobile Apps and Desktop clients",
        "2026-03-02",
        5,
    );
    for hour in 0..24 {
        for u in 20..24 {
            log.push_str(&format!(
                "{{\"createdDateTime\":\"2026-03-03T{hour:02}:30:00Z\",\"userPrincipalName\":\"u{u}@contoso.example\",\"appDisplayName\":\"Office 365 Exchange Online\",\"clientAppUsed\":\"Exchange ActiveSync\",\"isInteractive\":true,\"status\":{{\"errorCode\":0}}}}\n"
            ));
        }
    }
    let path = tmp.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let out = tmp.path().join("f.toml");
    let o = calibrate_quick(&path, &out, &[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("96 sign-ins of legacy authentication left out (Exchange ActiveSync (96))"),
        "{err}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("sign-ins of 20 users"), "{text}");
    assert!(!text.contains("app = \"exchange\""), "{text}");
}

#[test]
fn files_of_different_periods_are_each_measured_against_their_own_days() {
    // Regression: a January export and a June export were measured against one window
    // of six months, and the fit was a population that never signs in (exit 0).
    let tmp = tempfile::tempdir().unwrap();
    let january = tmp.path().join("january.jsonl");
    let june = tmp.path().join("june.jsonl");
    // Two working weeks each (Monday 5 January, Monday 1 June 2026), other users.
    let two_weeks = |users: std::ops::Range<u32>, first: &str| {
        let mut text = jsonl(users.clone(), "Microsoft Teams", "Browser", first, 5);
        let (a, b) = first.rsplit_once('-').unwrap();
        let next = format!("{a}-{:02}", b.parse::<u32>().unwrap() + 7);
        text.push_str(&jsonl(users, "Microsoft Teams", "Browser", &next, 5));
        text
    };
    std::fs::write(&january, two_weeks(0..10, "2026-01-05")).unwrap();
    std::fs::write(&june, two_weeks(10..20, "2026-06-01")).unwrap();
    let out = tmp.path().join("f.toml");
    let o = run(&[
        "calibrate",
        january.to_str().unwrap(),
        june.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rounds",
        "2",
        "--simulated-users",
        "40",
        "--quiet",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("the logs cover 2 separate periods"), "{err}");
    let p = Population::load(&out).unwrap();
    for persona in &p.personas {
        assert!(
            persona.work.workday_share > 0.8,
            "{}: workday_share {}",
            persona.name,
            persona.work.workday_share
        );
    }
}

#[test]
fn users_whose_only_apps_are_unmodelled_are_left_out_of_the_population_and_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = jsonl(0..30, "Microsoft Teams", "Browser", "2026-03-09", 5);
    log.push_str(&jsonl(30..40, "Salesforce", "Browser", "2026-03-09", 5));
    let path = tmp.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let out = tmp.path().join("f.toml");
    let policies = root().join("models/policies/baseline.json");
    let o = calibrate_quick(&path, &out, &["--policies", policies.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("10 users") && err.contains("left out of the population"),
        "{err}"
    );
    // The personas kept make the whole population, and the observed prompts are theirs:
    // one a day each.
    assert!(err.contains("fitted in") && err.contains("(100%)"), "{err}");
    let check = csv_rows(&std::fs::read_to_string(tmp.path().join("calibration.csv")).unwrap());
    let all = check.iter().find(|r| r["scope"] == "all").unwrap();
    assert_eq!(all["observed_user_days"], "150", "{all:?}");
    assert_eq!(all["observed_prompts_per_user_day"], "1.0000", "{all:?}");
    let v = run(&["validate", out.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn gzip_and_zip_downloads_are_read_as_the_files_they_hold() {
    use std::io::Write as _;
    // The admin center's two CSV files in a zip, with a note that is left out; each
    // member says by its name whether its rows are interactive.
    let (report, rows) = read("admin-download.zip");
    let (_, inter) = read("admin-interactive.csv");
    let (_, non) = read("admin-noninteractive.csv");
    assert_eq!(rows, [inter, non].concat());
    assert_eq!(report.format, Some(LogFormat::AdminCenterCsv));
    assert_eq!(
        report.skipped_members.len(),
        1,
        "{:?}",
        report.skipped_members
    );
    assert!(report.skipped_members[0].starts_with("readme.txt: not a sign-in log"));
    // A gzipped CSV (regression: "invalid utf-8 CSV").
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("SigninLogs.csv.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(&std::fs::read(fixture("loganalytics-signinlogs.csv")).unwrap())
        .unwrap();
    e.finish().unwrap();
    let mut unzipped = Vec::new();
    read_log(&gz, &ReadOptions::default(), &mut |s| unzipped.push(s)).unwrap();
    assert_eq!(unzipped, read("loganalytics-signinlogs.csv").1);
    // A damaged one is refused by name.
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    let o = calibrate_quick(&gz, &tmp.path().join("f.toml"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SigninLogs.csv.gz: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sessionsims_own_log_of_several_runs_is_refused_and_one_run_is_read_from_csv_or_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let exp = root().join("tests/data/tiny.toml");
    for (name, format) in [("csv", "csv"), ("parquet", "parquet")] {
        run_ok(&[
            "run",
            exp.to_str().unwrap(),
            "--out",
            dir.join(name).to_str().unwrap(),
            "--users",
            "30",
            "--signin-log",
            "--signin-log-format",
            format,
            "--quiet",
        ]);
    }
    let csv_log = dir.join("csv/signins.csv");
    // Two designs × two replicates: refused, with the way to pick one.
    let o = calibrate_quick(&csv_log, &dir.join("all.toml"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("signins.csv")
            && err.contains("several simulated runs")
            && err.contains("--design NAME --replicate N"),
        "{err}"
    );
    let o = calibrate_quick(
        &csv_log,
        &dir.join("bad.toml"),
        &["--design", "nope", "--replicate", "0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("design `sif-4h` replicate 1"),
        "{}",
        stderr(&o)
    );
    // One run, from the CSV and from the Parquet file: the same population.
    let mut texts = Vec::new();
    for (log, out) in [
        (csv_log.clone(), "a.toml"),
        (dir.join("parquet/signins.parquet"), "b.toml"),
    ] {
        let o = calibrate_quick(
            &log,
            &dir.join(out),
            &["--design", "sif-4h", "--replicate", "1"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        texts.push(personas_text(&std::fs::read_to_string(dir.join(out)).unwrap()).to_string());
    }
    assert_eq!(texts[0], texts[1]);
    let (report, _) = {
        let mut rows = Vec::new();
        let options = ReadOptions {
            design: Some("sif-4h".into()),
            replicate: Some("1".into()),
            ..ReadOptions::default()
        };
        let r = read_log(&dir.join("parquet/signins.parquet"), &options, &mut |s| {
            rows.push(s)
        })
        .unwrap();
        (r, rows)
    };
    assert_eq!(report.format, Some(LogFormat::SimulatorParquet));
}

#[test]
fn template_names_a_shipped_population_and_a_second_calibration_shares_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let log = fixture("graph-beta-page.json");
    let policies = root().join("models/policies/baseline.json");
    let p = policies.to_str().unwrap();
    // `--help` names quickstart as the default template: it is accepted by name.
    let o = calibrate_quick(
        &log,
        &tmp.path().join("a.toml"),
        &["--template", "quickstart", "--policies", p],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = calibrate_quick(
        &log,
        &tmp.path().join("b.toml"),
        &["--template", "enterprise", "--policies", p],
    );
    assert!(
        o.status.success(),
        "a second calibration in the same folder: {}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(tmp.path().join("b.toml")).unwrap();
    assert!(
        text.contains("models/populations/enterprise.toml (built in)"),
        "{text}"
    );
    let check = std::fs::read_to_string(tmp.path().join("calibration.csv")).unwrap();
    assert!(check.starts_with("scope,key,"), "{check}");
    let o = calibrate_quick(&log, &tmp.path().join("c.toml"), &["--template", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--template") && stderr(&o).contains("quickstart, enterprise, byod"),
        "{}",
        stderr(&o)
    );
    // A calibration.csv that calibrate did not write is the user's: never replaced
    // without --force.
    std::fs::write(tmp.path().join("calibration.csv"), "my notes\n").unwrap();
    let o = calibrate_quick(&log, &tmp.path().join("d.toml"), &["--policies", p]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("calibration.csv")).unwrap(),
        "my notes\n"
    );
}

#[test]
fn a_file_that_is_not_a_sign_in_log_says_what_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let users = tmp.path().join("users.json");
    std::fs::write(
        &users,
        r#"{"value":[{"id":"1","userPrincipalName":"a@contoso.example","displayName":"A","memberOf":[]}]}"#,
    )
    .unwrap();
    let audit = tmp.path().join("audit.json");
    std::fs::write(
        &audit,
        r#"{"records":[{"time":"2026-03-10T10:00:00Z","category":"AuditLogs","operationName":"Add member to group","properties":{"activityDateTime":"2026-03-10T10:00:00Z","activityDisplayName":"Add member to group"}}]}"#,
    )
    .unwrap();
    for (file, needle) in [
        (users, "Graph users: give them to --directory"),
        (audit, "other categories than sign-ins: AuditLogs (1)"),
        (
            root().join("tests/data/signins/not-a-log.csv"),
            "no time column",
        ),
    ] {
        let o = calibrate_quick(&file, &tmp.path().join("f.toml"), &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()) && err.contains(needle),
            "{err}"
        );
    }
}

#[test]
fn calibration_csv_has_a_residual_per_cell_and_a_miss_over_10_percent_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = root().join("models/policies/baseline.json");
    // 30 users asked to sign in to Teams every 15 minutes all day: no behaviour the fit
    // can reach (browser restarts stop at 12 a day) gives 36 prompts a day.
    let mut log = String::new();
    for u in 0..30 {
        for day in 9..14 {
            for q in 32..68 {
                log.push_str(&format!(
                    "{{\"createdDateTime\":\"2026-03-{day:02}T{:02}:{:02}:00Z\",\"userPrincipalName\":\"u{u}@contoso.example\",\"appDisplayName\":\"Microsoft Teams\",\"clientAppUsed\":\"Browser\",\"isInteractive\":true,\"status\":{{\"errorCode\":0}},\"deviceDetail\":{{\"trustType\":\"\"}},\"authenticationDetails\":[{{\"authenticationMethod\":\"Password\",\"succeeded\":true}}]}}\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
    }
    let path = tmp.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let out = tmp.path().join("fitted.toml");
    let o = calibrate_quick(&path, &out, &["--policies", policies.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("differ from the log's by")
            && err.contains("more than 10%")
            && err.contains("the largest miss is persona"),
        "{err}"
    );
    let check = csv_rows(&std::fs::read_to_string(tmp.path().join("calibration.csv")).unwrap());
    for r in &check {
        assert_eq!(r["population"], "fitted");
        if let (Ok(o), Ok(s)) = (
            r["observed_prompts_per_user_day"].parse::<f64>(),
            r["simulated_prompts_per_user_day"].parse::<f64>(),
        ) {
            let residual: f64 = r["residual"].parse().unwrap();
            assert!((residual - (s - o)).abs() < 1e-3, "{r:?}");
        }
    }
    // Cells per persona, and per persona × device type and app.
    for scope in [
        "all",
        "persona",
        "device",
        "app",
        "persona_device",
        "persona_app",
    ] {
        assert!(
            check.iter().any(|r| r["scope"] == scope),
            "{scope}: {check:?}"
        );
    }
    let all = check.iter().find(|r| r["scope"] == "all").unwrap();
    let persona_days: u64 = check
        .iter()
        .filter(|r| r["scope"] == "persona")
        .map(|r| r["observed_user_days"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(all["observed_user_days"], persona_days.to_string());
}

#[test]
fn the_fitted_file_says_per_persona_what_was_fitted_how_and_from_how_many_users() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = root().join("models/policies/baseline.json");
    let out = tmp.path().join("fitted.toml");
    let o = calibrate_quick(
        &fixture("graph-beta-page.json"),
        &out,
        &["--policies", policies.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let blocks: Vec<&str> = text.split("# --- ").skip(1).collect();
    assert!(!blocks.is_empty());
    for block in blocks {
        let header: Vec<&str> = block
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('#'))
            .collect();
        let users: u64 = header[0].split(' ').nth(1).unwrap().parse().unwrap();
        let has = |prefix: &str| header.iter().find(|l| l.starts_with(prefix)).copied();
        let log = has("# fitted from the log, over its ").unwrap_or_else(|| panic!("{block}"));
        assert!(
            log.contains(&format!("its {users} user")) && log.contains("devices"),
            "{log}"
        );
        let sim = has("# fitted by simulation to the log's ").unwrap_or_else(|| panic!("{block}"));
        assert!(
            sim.contains("work.start")
                && sim.contains("kmsi_accept")
                && sim.contains("20 simulated users, 1 round"),
            "{sim}"
        );
        let template = has("# from the template (").unwrap_or_else(|| panic!("{block}"));
        assert!(
            template.contains("quickstart") && template.contains("work.lunch"),
            "{template}"
        );
        // A value is in one list only.
        assert!(!template.contains("kmsi_accept") && !log.contains("work.start"));
    }
}

/// The simulator's rows as a tenant exports them: Graph objects with every step under
/// "Primary authentication", as real records file them.
fn as_signin(r: &HashMap<String, String>) -> serde_json::Value {
    let prompt = r["isInteractive"] == "true";
    let step = |m: &str| {
        serde_json::json!({"authenticationMethod": m, "succeeded": true,
            "authenticationStepRequirement": "Primary authentication"})
    };
    let mut details = vec![step(&r["authenticationMethod"])];
    if !r["mfaAuthMethod"].is_empty() {
        details.push(step(&r["mfaAuthMethod"]));
    }
    let code: u64 = if prompt {
        0
    } else {
        r["status_errorCode"].parse().unwrap()
    };
    serde_json::json!({
        "createdDateTime": r["createdDateTime"],
        "userPrincipalName": r["userPrincipalName"],
        "appDisplayName": r["appDisplayName"],
        "clientAppUsed": r["clientAppUsed"],
        "status": {"errorCode": code},
        "deviceDetail": {"trustType": r["deviceTrustType"], "isCompliant": r["isCompliant"] == "true"},
        "authenticationDetails": details,
        "networkLocationDetails": if r["networkType"].is_empty() {
            serde_json::json!([])
        } else {
            serde_json::json!([{"networkType": r["networkType"]}])
        },
    })
}

#[test]
fn the_same_rows_as_a_graph_page_or_azure_monitor_records_fit_the_same_population() {
    // One run's rows as sessionsim's CSV, as a Graph page on one line (isInteractive)
    // and as Azure Monitor records (interactive by category only): the readers must
    // agree, so the fitted populations and checks are the same bytes.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_ok(&[
        "run",
        root().join("tests/data/tiny.toml").to_str().unwrap(),
        "--out",
        dir.join("run").to_str().unwrap(),
        "--users",
        "60",
        "--signin-log",
        "--quiet",
    ]);
    let rows: Vec<HashMap<String, String>> =
        csv_rows(&std::fs::read_to_string(dir.join("run/signins.csv")).unwrap())
            .into_iter()
            .filter(|r| r["design"] == "sif-4h" && r["replicate"] == "0")
            .collect();
    let mut page = Vec::new();
    let mut records = String::new();
    for r in &rows {
        let mut s = as_signin(r);
        let prompt = r["isInteractive"] == "true";
        records.push_str(
            &serde_json::json!({
                "time": r["createdDateTime"],
                "category": if prompt { "SignInLogs" } else { "NonInteractiveUserSignInLogs" },
                "properties": s.clone(),
            })
            .to_string(),
        );
        records.push('\n');
        s["isInteractive"] = serde_json::Value::Bool(prompt);
        page.push(s);
    }
    std::fs::write(
        dir.join("page.json"),
        serde_json::json!({"value": page}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("records.json"), records).unwrap();
    let policies = root().join("models/policies/baseline.json");
    let mut fits = Vec::new();
    for (name, log, extra) in [
        (
            "csv",
            dir.join("run/signins.csv"),
            vec!["--design", "sif-4h", "--replicate", "0"],
        ),
        ("graph", dir.join("page.json"), vec![]),
        ("azure", dir.join("records.json"), vec![]),
    ] {
        std::fs::create_dir(dir.join(name)).unwrap();
        let out = dir.join(name).join("fitted.toml");
        let mut args = vec!["--policies", policies.to_str().unwrap()];
        args.extend(extra);
        let o = calibrate_quick(&log, &out, &args);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let text = std::fs::read_to_string(&out).unwrap();
        let check = std::fs::read_to_string(dir.join(name).join("calibration.csv")).unwrap();
        fits.push((name, personas_text(&text).to_string(), check));
    }
    for (name, text, check) in &fits[1..] {
        assert!(
            text == &fits[0].1,
            "{name} fits another population than the CSV"
        );
        assert!(check == &fits[0].2, "{name}: another check than the CSV's");
    }
}
