//! The Graph JSON loader on files shaped like real exports: list responses with
//! annotations and nulls everywhere, beta fields, single policies, bare arrays, folders of
//! one-policy files, UTF-16 and UTF-8 BOM encodings, and the error paths.

use std::path::{Path, PathBuf};

use sessionsim::engine::time::Duration;
use sessionsim::policy::{
    AppSel, AuthStrength, CaeMode, ClientAppType, Combos, DeviceState, GrantControl, GuestType,
    LoadOptions, LocationSel, Operator, Persistence, Platform, PlatformSel, PolicySet, PolicyState,
    RiskLevel, Sif,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/policies")
        .join(name)
}

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/policies")
        .join(name)
}

fn load(path: &Path) -> (PolicySet, Vec<String>) {
    PolicySet::load(path).unwrap_or_else(|e| panic!("{} should load: {e}", path.display()))
}

#[test]
fn beta_export_with_annotations_everywhere_loads() {
    let (set, warnings) = load(&data("beta-export.json"));
    assert_eq!(set.len(), 4);
    let guests = &set.policies[0];
    assert_eq!(guests.display_name, "Guests: phishing-resistant MFA");
    assert_eq!(guests.state, PolicyState::Enabled);
    // Each listed guest type, and only those.
    let types = guests.conditions.users.include_guests;
    assert!(types.contains(GuestType::B2bCollaborationGuest));
    assert!(types.contains(GuestType::InternalGuest));
    assert!(!types.contains(GuestType::ServiceProvider));
    assert!(!guests.conditions.users.include_all);
    let clause = guests
        .grant
        .as_ref()
        .expect("an authentication strength clause");
    assert_eq!(
        clause.auth_strength,
        Some(AuthStrength::phishing_resistant())
    );
    assert!(clause
        .controls
        .contains(GrantControl::AuthenticationStrength));

    let legacy = &set.policies[1];
    assert_eq!(legacy.state, PolicyState::ReportOnly);
    assert_eq!(
        legacy.conditions.devices.exclude_states,
        vec![DeviceState::Compliant, DeviceState::DomainJoined]
    );
    assert!(!legacy.conditions.users.exclude_guests.is_empty());
    assert_eq!(
        legacy.conditions.resources.include_apps,
        vec![AppSel::Office365]
    );
    assert_eq!(
        legacy.conditions.client_app_types,
        vec![
            ClientAppType::Browser,
            ClientAppType::MobileAppsAndDesktopClients
        ]
    );
    assert_eq!(
        legacy.conditions.platforms.exclude,
        vec![PlatformSel::One(Platform::Linux)]
    );
    assert_eq!(
        legacy.conditions.locations.exclude,
        vec![LocationSel::AllTrusted]
    );
    assert_eq!(
        legacy.grant.as_ref().map(|g| g.operator),
        Some(Operator::Or)
    );

    let session = &set.policies[2].session;
    assert_eq!(session.sign_in_frequency, None);
    assert_eq!(
        session.mfa_frequency,
        Some(Sif::Periodic(Duration::from_hours(8)))
    );
    assert_eq!(session.cae, CaeMode::StrictLocation);
    assert!(session.token_protection);
    assert_eq!(set.policies[3].state, PolicyState::Disabled);
    assert!(set.policies[3].block);

    // The one genuinely unknown field is reported, with its path and policy; annotations,
    // nulls and empty beta fields are not.
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("value[2].conditions.agentIdRiskLevels")
            && warnings[0].contains("Session: MFA every 8 h"),
        "{}",
        warnings[0]
    );
}

#[test]
fn single_policy_with_every_time_and_null_value_and_type() {
    let (set, warnings) = load(&data("single-policy.json"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(set.len(), 1);
    let p = &set.policies[0];
    assert_eq!(p.session.sign_in_frequency, Some(Sif::EveryTime));
    assert_eq!(
        p.conditions.sign_in_risk,
        Some(vec![RiskLevel::High, RiskLevel::Medium])
    );
    assert_eq!(
        p.conditions.user_risk, None,
        "an empty list is not configured"
    );
}

#[test]
fn utf16_and_utf8_bom_files_load_like_plain_utf8() {
    let (plain, _) = load(&data("single-policy.json"));
    for name in ["utf16le-bom.json", "utf16be-bom.json", "utf8-bom.json"] {
        let (set, warnings) = load(&data(name));
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        assert_eq!(set.len(), 1, "{name}");
        assert_eq!(set.policies[0].display_name, plain.policies[0].display_name);
        assert_eq!(set.policies[0].conditions, plain.policies[0].conditions);
        assert_eq!(set.policies[0].session, plain.policies[0].session);
    }
}

#[test]
fn bare_array_loads_with_named_locations() {
    let (set, _) = load(&data("array.json"));
    assert_eq!(set.len(), 2);
    assert!(set.policies[0].block);
    assert_eq!(
        set.policies[0].conditions.client_app_types,
        vec![
            ClientAppType::Legacy("exchangeActiveSync".into()),
            ClientAppType::Legacy("other".into())
        ]
    );
    // The all-zero location is "MFA Trusted IPs", not a placeholder.
    let excl = &set.policies[1].conditions.locations.exclude;
    assert_eq!(excl.len(), 2);
    assert_eq!(
        excl[1],
        LocationSel::Named("00000000-0000-0000-0000-000000000000".into())
    );
}

#[test]
fn a_folder_of_one_policy_files_loads_in_file_name_order() {
    let (set, warnings) = load(&data("export-folder"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: Vec<&str> = set
        .policies
        .iter()
        .map(|p| p.display_name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "Admins: MFA",
            "Compliant or hybrid joined device",
            "Register security info: MFA"
        ]
    );
    assert_eq!(set.policies[1].state, PolicyState::ReportOnly);
}

#[test]
fn the_model_library_loads_without_warnings() {
    for entry in std::fs::read_dir(model("")).expect("models/policies exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let (_, warnings) = load(&path);
            assert!(warnings.is_empty(), "{}: {warnings:#?}", path.display());
        }
    }
    let (none, _) = load(&model("none.json"));
    assert!(none.is_empty());
    let (baseline, _) = load(&model("baseline.json"));
    assert_eq!(baseline.len(), 6);
    let (sif, _) = load(&model("sif-1h.json"));
    assert_eq!(
        sif.policies[0].session.sign_in_frequency,
        Some(Sif::Periodic(Duration::from_hours(1)))
    );
    let (admins, _) = load(&model("admins-4h-never-persistent.json"));
    assert_eq!(
        admins.policies[0].session.persistent_browser,
        Some(Persistence::Never)
    );
    assert!(admins.policies[0]
        .conditions
        .users
        .include_roles
        .contains(&"62e90394-69f5-4237-9190-012177145e10".to_string()));
    let (risky, _) = load(&model("risky-users-password-change-every-time.json"));
    let clause = risky.policies[0].grant.as_ref().expect("grant");
    assert_eq!(clause.operator, Operator::And);
    assert!(clause.controls.contains(GrantControl::Mfa));
    assert!(clause.controls.contains(GrantControl::PasswordChange));
}

#[test]
fn template_placeholders_are_warned_about_by_field() {
    let (set, warnings) = load(&data("placeholders.json"));
    assert_eq!(set.len(), 1);
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    for (needle, field) in [
        ("<<BreakGlassGroupId>>", "conditions.users.excludeGroups[0]"),
        ("{{PilotGroup}}", "conditions.users.includeGroups[0]"),
        (
            "00000000-0000-0000-0000-000000000000",
            "conditions.users.excludeUsers[0]",
        ),
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(needle) && w.contains(field) && w.contains("placeholder")),
            "{needle} at {field}: {warnings:#?}"
        );
    }
}

#[test]
fn unknown_values_and_unmodelled_controls_are_warned_not_dropped() {
    let text = r#"{
      "displayName": "Odd policy", "state": "enabled",
      "conditions": {
        "applications": {"includeApplications": ["All"], "includeUserActions": []},
        "users": {"includeUsers": ["All"]},
        "platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windowsPhone", "amigaOS"]},
        "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.extensionAttribute1 -eq \"SAW\""}},
        "futureCondition": {"mode": "on"}
      },
      "grantControls": {"operator": "OR", "builtInControls": ["mfa", "approvedApplication"], "termsOfUse": ["tou-1"]},
      "sessionControls": {"cloudAppSecurity": {"isEnabled": true, "cloudAppSecurityType": "monitorOnly"},
                          "disableResilienceDefaults": true}
    }"#;
    let (set, warnings) = PolicySet::from_json(Path::new("odd.json"), text).expect("loads");
    let p = &set.policies[0];
    assert!(p
        .grant
        .as_ref()
        .is_some_and(|g| g.controls.contains(GrantControl::Other)));
    assert_eq!(
        p.grant_other,
        vec!["approvedApplication", "termsOfUse:tou-1"]
    );
    let expect = [
        "conditions.futureCondition",
        "amigaOS",
        "device.extensionAttribute1",
        "approvedApplication",
        "terms of use",
        "sessionControls.cloudAppSecurity",
        "sessionControls.disableResilienceDefaults",
    ];
    for needle in expect {
        assert!(
            warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {warnings:#?}"
        );
    }
    assert!(
        !warnings.iter().any(|w| w.contains("windowsPhone")),
        "windowsPhone is a known Graph value: {warnings:#?}"
    );
}

#[test]
fn sign_in_frequency_forms() {
    let policy = |sif: &str| {
        format!(
            r#"{{"displayName": "P", "state": "enabled",
                "conditions": {{"applications": {{"includeApplications": ["All"]}}, "users": {{"includeUsers": ["All"]}}}},
                "sessionControls": {{"signInFrequency": {sif}}}}}"#
        )
    };
    let load = |sif: &str| PolicySet::from_json(Path::new("p.json"), &policy(sif));
    let sif_of = |sif: &str| load(sif).expect("loads").0.policies[0].session.clone();
    assert_eq!(
        sif_of(
            r#"{"isEnabled": true, "value": 2, "type": "days", "frequencyInterval": "timeBased"}"#
        )
        .sign_in_frequency,
        Some(Sif::Periodic(Duration::from_days(2)))
    );
    // isEnabled false switches the control off whatever else it says.
    assert_eq!(
        sif_of(r#"{"isEnabled": false, "value": 2, "type": "days"}"#).sign_in_frequency,
        None
    );
    // An all-null object (exports of policies without SIF) is no control.
    assert_eq!(
        sif_of(r#"{"isEnabled": null, "value": null, "type": null, "frequencyInterval": null}"#)
            .sign_in_frequency,
        None
    );
    let mfa_only = sif_of(
        r#"{"isEnabled": true, "frequencyInterval": "everyTime", "authenticationType": "secondaryAuthentication"}"#,
    );
    assert_eq!(mfa_only.mfa_frequency, Some(Sif::EveryTime));
    assert_eq!(mfa_only.sign_in_frequency, None);
    for (bad, field) in [
        (
            r#"{"isEnabled": true, "value": 0, "type": "hours"}"#,
            "sessionControls.signInFrequency.value",
        ),
        (
            r#"{"isEnabled": true, "value": 3, "type": "weeks"}"#,
            "sessionControls.signInFrequency.type",
        ),
        (
            r#"{"isEnabled": true, "value": "4", "type": "hours"}"#,
            "sessionControls.signInFrequency.value",
        ),
        (r#"{"isEnabled": true}"#, "sessionControls.signInFrequency"),
        (
            r#"{"isEnabled": "yes"}"#,
            "sessionControls.signInFrequency.isEnabled",
        ),
    ] {
        let err = load(bad).expect_err(bad);
        assert_eq!(err.field.as_deref(), Some(field), "{bad}: {err}");
        assert!(err.message.contains("policy \"P\""), "{err}");
    }
}

#[test]
fn malformed_json_gives_line_and_column() {
    let err = PolicySet::load(&data("malformed.json")).expect_err("malformed");
    assert_eq!(err.position.as_deref(), Some("4:3"));
    assert!(
        err.to_string()
            .contains("malformed.json:4:3: malformed JSON"),
        "{err}"
    );
}

#[test]
fn a_policy_wrapped_in_an_export_record_is_pointed_at() {
    // The shape of a public export tool (Jhope188/ConditionalAccessPolicies): the
    // policy sits under `PolicyConfig` beside the tool's own metadata.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrapped.json");
    let policy = std::fs::read_to_string(data("single-policy.json")).unwrap();
    let text = format!(
        "{{\"ExportDate\": \"2025-01-01\", \"SourceTenantId\": \"t\", \"PolicyConfig\": {policy}}}"
    );
    std::fs::write(&path, text).unwrap();
    let err = PolicySet::load(&path).expect_err("a wrapper is not a policy file");
    let message = err.to_string();
    assert!(
        message.contains("wrapped.json: not a Conditional Access policy file")
            && message.contains("under `PolicyConfig`")
            && message.contains("jq '.PolicyConfig'"),
        "{message}"
    );
}

#[test]
fn an_empty_array_for_an_unset_condition_reads_as_null_with_a_warning() {
    // AlexFilipin/ConditionalAccess templates write `"locations": []`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty-array.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("single-policy.json")).unwrap())
            .unwrap();
    doc["conditions"]["locations"] = serde_json::json!([]);
    doc["conditions"]["platforms"] = serde_json::json!([]);
    std::fs::write(&path, doc.to_string()).unwrap();
    let (set, warnings) = load(&path);
    assert_eq!(set.len(), 1);
    let locations = &set.policies[0].conditions.locations;
    assert!(locations.include.is_empty() && locations.exclude.is_empty());
    for field in ["conditions.locations", "conditions.platforms"] {
        assert!(
            warnings.iter().any(
                |w| w.contains(field) && w.contains("an empty array where Graph has an object")
            ),
            "{field}: {warnings:#?}"
        );
    }
    // A non-empty array is still refused.
    doc["conditions"]["locations"] = serde_json::json!(["All"]);
    std::fs::write(&path, doc.to_string()).unwrap();
    let err = PolicySet::load(&path).expect_err("an array of names is not a locations object");
    assert!(
        err.to_string()
            .contains("expected an object, found an array"),
        "{err}"
    );
}

#[test]
fn a_location_block_that_allows_no_location_is_warned_about() {
    // Jhope188/ConditionalAccessPolicies publishes "Countries not Allowed" with its
    // allowed locations removed: it blocks everyone everywhere.
    let text = r#"{"displayName": "Block countries", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
        "locations": {"includeLocations": ["All"], "excludeLocations": []}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}"#;
    let (_, warnings) = PolicySet::from_json(Path::new("t.json"), text).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("conditions.locations") && w.contains("no place is allowed")),
        "{warnings:#?}"
    );
    // An allow-list with its allowed place, and a block of one place, are not warned about.
    for locations in [
        r#""includeLocations": ["All"], "excludeLocations": ["AllTrusted"]"#,
        r#""includeLocations": ["0f2a8b3c-1d4e-4f5a-9b6c-7d8e9f0a1b2c"], "excludeLocations": []"#,
    ] {
        let text = text.replace(
            r#""includeLocations": ["All"], "excludeLocations": []"#,
            locations,
        );
        let (_, warnings) = PolicySet::from_json(Path::new("t.json"), &text).unwrap();
        assert!(
            !warnings.iter().any(|w| w.contains("no place is allowed")),
            "{locations}: {warnings:#?}"
        );
    }
}

#[test]
fn applications_named_by_display_name_and_replace_me_ids_are_warned_about() {
    // Fortigi/ConditionalAccess names apps by display name; KrpelnikIvan's framework
    // ships `REPLACE-WITH-...` ids. Both match nothing, silently until now.
    let text = r#"{"displayName": "P", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["REPLACE-WITH-BREAKGLASS-GROUP-ID"]},
          "applications": {"includeApplications": ["Office 365", "00000002-0000-0ff1-ce00-000000000000", "Office365"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}"#;
    let (_, warnings) = PolicySet::from_json(Path::new("t.json"), text).unwrap();
    let has = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(
        has("includeApplications[0]: `Office 365` is not an application id"),
        "{warnings:#?}"
    );
    assert!(
        !has("includeApplications[1]") && !has("includeApplications[2]"),
        "{warnings:#?}"
    );
    assert!(
        has("`REPLACE-WITH-BREAKGLASS-GROUP-ID` is a template placeholder"),
        "{warnings:#?}"
    );
}

#[test]
fn a_bad_field_type_names_the_path_and_the_policy() {
    let err = PolicySet::load(&data("bad-type.json")).expect_err("bad type");
    assert_eq!(
        err.field.as_deref(),
        Some("value[1].conditions.users.includeGroups[2]")
    );
    assert!(err.message.contains("policy \"Finance MFA\""), "{err}");
    assert!(
        err.message.contains("expected a string, found a number"),
        "{err}"
    );
    assert!(err.file.ends_with("bad-type.json"));
}

#[test]
fn other_errors_name_their_field() {
    let err = PolicySet::load(&data("bad-state.json")).expect_err("bad state");
    assert_eq!(err.field.as_deref(), Some("state"));
    assert!(err.message.contains("enable"), "{err}");
    let err = PolicySet::load(&data("bad-filter.json")).expect_err("bad filter");
    assert_eq!(
        err.field.as_deref(),
        Some("conditions.devices.deviceFilter.rule")
    );
    assert!(
        err.message.contains("column 18") && err.message.contains("-like"),
        "{err}"
    );
    let err = PolicySet::load(&data("does-not-exist.json")).expect_err("missing");
    assert!(err.message.contains("not found"), "{err}");
    for (text, needle) in [
        ("42", "found a number"),
        ("", "empty"),
        (r#"{"value": {"a": 1}}"#, "array of policies"),
        (
            r#"[{"displayName": "No state", "conditions": null}]"#,
            "state",
        ),
        (
            r#"{"displayName": "X", "state": "enabled", "conditions": []}"#,
            "expected an object",
        ),
        (
            r#"{"displayName": "X", "state": "enabled", "grantControls": {"operator": "XOR"}}"#,
            "XOR",
        ),
        (
            r#"{"policies": [{"displayName": "X"}]}"#,
            "not a conditionalAccessPolicy",
        ),
    ] {
        let err = PolicySet::from_json(Path::new("t.json"), text).expect_err(text);
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

#[test]
fn nulls_and_empty_documents_are_tolerated() {
    let (set, warnings) = PolicySet::from_json(
        Path::new("t.json"),
        r#"{"@odata.context": "x", "value": null}"#,
    )
    .expect("null value");
    assert!(set.is_empty() && warnings.is_empty());
    let (set, warnings) = PolicySet::from_json(
        Path::new("t.json"),
        r#"{"value": [null, {"displayName": "Bare", "state": "disabled", "conditions": null, "grantControls": null, "sessionControls": null}]}"#,
    )
    .expect("nulls");
    assert_eq!(set.len(), 1);
    assert!(
        warnings.iter().any(|w| w.contains("null entry skipped")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("value[1].conditions")),
        "{warnings:?}"
    );
}

#[test]
fn a_folder_without_json_is_an_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
    let err = PolicySet::load(dir.path()).expect_err("no json");
    assert!(err.message.contains("no .json"), "{err}");
}

/// A tenant's export tree, as real export tools leave it: policies in subfolders with
/// OData action annotations, a strengths export, group and named-location objects, an ARM
/// template, a migration table, and a half-written file.
fn tenant_export() -> std::path::PathBuf {
    data("tenant-export")
}

#[test]
fn a_folder_of_exports_loads_recursively_and_skips_what_is_not_a_policy() {
    // Regression: loading was all-or-nothing and did not recurse.
    let err =
        PolicySet::load_with(&tenant_export(), LoadOptions::default()).expect_err("broken file");
    assert!(err.file.ends_with("broken/half-written.json"), "{err}");
    let (set, warnings, report) =
        PolicySet::load_with(&tenant_export(), LoadOptions { skip_invalid: true })
            .expect("loads with skip_invalid");
    assert_eq!(set.len(), 2, "both policies, one in a nested folder");
    assert_eq!(report.loaded, 2);
    assert_eq!(report.strengths, 1);
    assert_eq!(report.failed.len(), 1);
    let skipped: Vec<&str> = report
        .skipped
        .iter()
        .map(|(_, what)| what.as_str())
        .collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    for what in [
        "group objects",
        "named locations",
        "Azure Resource Manager template",
        "an object with keys",
    ] {
        assert!(
            skipped.iter().any(|s| s.contains(what)),
            "{what} in {skipped:?}"
        );
    }
    // `#microsoft.graph.restore` annotations are not unknown fields (regression: 84
    // identical warnings buried the useful ones).
    assert!(
        !warnings.iter().any(|w| w.contains("restore")),
        "{warnings:?}"
    );
    // The custom strength named only by id is resolved from the strengths export.
    let strength = set.policies[0]
        .grant
        .as_ref()
        .and_then(|g| g.auth_strength.clone())
        .expect("a strength");
    assert!(strength.resolved, "{strength:?}");
    assert!(strength.allows(Combos::FIDO2) && !strength.allows(Combos::PASSWORD_PUSH));
}

#[test]
fn repeated_warnings_are_grouped_one_line_per_kind() {
    let one = r#"{"displayName": "P{i}", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}}, "sessionControls": {"futureControl": {"x": 1}}}"#;
    let items: Vec<String> = (0..84)
        .map(|i| one.replace("{i}", &i.to_string()))
        .collect();
    let text = format!("[{}]", items.join(","));
    let (set, warnings) = PolicySet::from_json(Path::new("many.json"), &text).expect("loads");
    assert_eq!(set.len(), 84);
    let about: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("futureControl"))
        .collect();
    assert_eq!(about.len(), 1, "{warnings:?}");
    assert!(about[0].contains("and 83 more like it"), "{}", about[0]);
}

#[test]
fn a_file_that_holds_something_else_is_named_as_such() {
    let err = PolicySet::load(&tenant_export().join("groups/groups.json")).expect_err("groups");
    assert!(err.message.contains("group objects"), "{err}");
}
