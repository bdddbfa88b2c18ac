//! Combining the applicable policies: block wins, grant clauses accumulate with their own
//! operators and strengths, session controls take the most restrictive value, report-only
//! policies are kept apart.

use std::path::Path;

use sessionsim::engine::time::Duration;
use sessionsim::policy::{
    AuthStrength, CaeMode, Combos, GrantControl, LocationContext, Operator, Persistence, Platform,
    PolicySet, RiskLevel, Sif, SignInContext, Target, UserIdentity,
};
use sessionsim::world::app::{App, Client, DeviceTrust};

/// A policy for all users and all apps with the given grant and session controls (JSON).
fn policy(name: &str, state: &str, grant: &str, session: &str) -> serde_json::Value {
    let parse = |s: &str| -> serde_json::Value { serde_json::from_str(s).expect("test JSON") };
    serde_json::json!({
        "id": format!("id-{name}"), "displayName": name, "state": state,
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
        "grantControls": parse(grant),
        "sessionControls": parse(session),
    })
}

fn set(policies: &[serde_json::Value]) -> (PolicySet, Vec<String>) {
    let doc = serde_json::json!({"@odata.context": "x", "value": policies});
    PolicySet::from_json(Path::new("set.json"), &doc.to_string()).expect("set loads")
}

fn ctx() -> SignInContext {
    SignInContext {
        user: UserIdentity {
            id: "bob".into(),
            ..UserIdentity::default()
        },
        target: Target::App(App::Sharepoint),
        client: Client::Browser,
        platform: Platform::Windows,
        location: LocationContext::default(),
        device: DeviceTrust::Unmanaged,
        compliant: false,
        user_risk: RiskLevel::None,
        sign_in_risk: RiskLevel::None,
        auth_flow: None,
        device_attributes: Vec::new(),
    }
}

const NO_GRANT: &str = "null";
const NO_SESSION: &str = "null";

fn sif(value: u32, unit: &str) -> String {
    format!(
        r#"{{"signInFrequency": {{"isEnabled": true, "value": {value}, "type": "{unit}", "frequencyInterval": "timeBased", "authenticationType": "primaryAndSecondaryAuthentication"}}}}"#
    )
}

#[test]
fn block_wins_over_everything() {
    let (s, _) = set(&[
        policy(
            "mfa",
            "enabled",
            r#"{"operator": "OR", "builtInControls": ["mfa"]}"#,
            NO_SESSION,
        ),
        policy(
            "block",
            "enabled",
            r#"{"operator": "OR", "builtInControls": ["block"]}"#,
            NO_SESSION,
        ),
    ]);
    let e = s.evaluate(&ctx());
    assert!(e.enforced.grant.block);
    assert_eq!(e.applied, vec!["mfa", "block"]);
}

#[test]
fn grant_clauses_keep_their_operator_and_strength() {
    let (s, _) = set(&[
        policy(
            "compliant or mfa",
            "enabled",
            r#"{"operator": "OR", "builtInControls": ["compliantDevice", "mfa"]}"#,
            NO_SESSION,
        ),
        policy(
            "phishing-resistant",
            "enabled",
            r#"{"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004", "displayName": "Phishing-resistant MFA"}}"#,
            NO_SESSION,
        ),
        policy(
            "hybrid and mfa",
            "enabled",
            r#"{"operator": "AND", "builtInControls": ["domainJoinedDevice", "mfa"]}"#,
            NO_SESSION,
        ),
    ]);
    let grant = s.evaluate(&ctx()).enforced.grant;
    assert!(!grant.block);
    assert_eq!(grant.clauses.len(), 3);
    let first = &grant.clauses[0];
    assert_eq!(first.operator, Operator::Or);
    assert!(
        first.controls.contains(GrantControl::CompliantDevice)
            && first.controls.contains(GrantControl::Mfa)
    );
    assert_eq!(first.policy, "compliant or mfa");
    assert_eq!(
        grant.clauses[1].auth_strength,
        Some(AuthStrength::phishing_resistant())
    );
    assert!(grant.clauses[1]
        .controls
        .contains(GrantControl::AuthenticationStrength));
    assert_eq!(grant.clauses[2].operator, Operator::And);
}

#[test]
fn built_in_strengths_map_by_id() {
    for (id, strength) in [
        ("00000000-0000-0000-0000-000000000002", AuthStrength::mfa()),
        (
            "00000000-0000-0000-0000-000000000003",
            AuthStrength::passwordless(),
        ),
        (
            "00000000-0000-0000-0000-000000000004",
            AuthStrength::phishing_resistant(),
        ),
    ] {
        let grant = format!(r#"{{"operator": "OR", "authenticationStrength": {{"id": "{id}"}}}}"#);
        let (s, warnings) = set(&[policy("p", "enabled", &grant, NO_SESSION)]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            s.policies[0]
                .grant
                .as_ref()
                .and_then(|g| g.auth_strength.clone()),
            Some(strength)
        );
    }
}

#[test]
fn custom_strengths_allow_exactly_their_combinations() {
    // A custom "passkey or TAP" strength, as exports embed it: password + push fails it.
    let custom = r#"{"operator": "OR", "authenticationStrength": {"id": "c0ffee00-0000-4000-8000-000000000000", "displayName": "Passkey or TAP", "policyType": "custom", "allowedCombinations": ["fido2", "temporaryAccessPassOneTime"]}}"#;
    let (s, warnings) = set(&[policy("p", "enabled", custom, NO_SESSION)]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let strength = s.policies[0]
        .grant
        .as_ref()
        .and_then(|g| g.auth_strength.clone())
        .unwrap();
    assert_eq!(strength.name, "Passkey or TAP");
    assert!(strength.allows(Combos::FIDO2));
    assert!(!strength.allows(Combos::PASSWORD_PUSH));
    assert!(!strength.allows(Combos::WINDOWS_HELLO));
    // "Modern MFA" allowing password + Authenticator push (modes in any order).
    let modern = r#"{"operator": "OR", "authenticationStrength": {"id": "c0ffee00-0000-4000-8000-000000000001", "displayName": "Modern MFA", "allowedCombinations": ["microsoftAuthenticatorPush, password", "windowsHelloForBusiness", "bogusMethod"]}}"#;
    let (s, warnings) = set(&[policy("p", "enabled", modern, NO_SESSION)]);
    let strength = s.policies[0]
        .grant
        .as_ref()
        .and_then(|g| g.auth_strength.clone())
        .unwrap();
    assert!(strength.allows(Combos::PASSWORD_PUSH) && strength.allows(Combos::WINDOWS_HELLO));
    assert!(!strength.allows(Combos::FIDO2));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("unknown authentication method combination `bogusMethod`")),
        "{warnings:?}"
    );
    // Named by id only: unresolved, taken as phishing-resistant, with one warning.
    let opaque = r#"{"operator": "OR", "authenticationStrength": {"id": "c0ffee00-0000-4000-8000-000000000000"}}"#;
    let (s, _) = set(&[policy("p", "enabled", opaque, NO_SESSION)]);
    let strength = s.policies[0]
        .grant
        .as_ref()
        .and_then(|g| g.auth_strength.clone())
        .unwrap();
    assert!(!strength.resolved);
    assert!(strength.allows(Combos::FIDO2) && !strength.allows(Combos::PASSWORD_PUSH));
}

#[test]
fn the_shortest_sign_in_frequency_wins_and_every_time_beats_periodic() {
    let (s, _) = set(&[
        policy("1 day", "enabled", NO_GRANT, &sif(1, "days")),
        policy("4 hours", "enabled", NO_GRANT, &sif(4, "hours")),
    ]);
    assert_eq!(
        s.evaluate(&ctx()).enforced.session.sign_in_frequency,
        Some(Sif::Periodic(Duration::from_hours(4)))
    );
    let every_time = r#"{"signInFrequency": {"isEnabled": true, "value": null, "type": null, "frequencyInterval": "everyTime", "authenticationType": "primaryAndSecondaryAuthentication"}}"#;
    let (s, _) = set(&[
        policy("4 hours", "enabled", NO_GRANT, &sif(4, "hours")),
        policy("every time", "enabled", NO_GRANT, every_time),
    ]);
    assert_eq!(
        s.evaluate(&ctx()).enforced.session.sign_in_frequency,
        Some(Sif::EveryTime)
    );
}

#[test]
fn secondary_authentication_sets_the_mfa_frequency_only() {
    let mfa_8h = r#"{"signInFrequency": {"isEnabled": true, "value": 8, "type": "hours", "frequencyInterval": "timeBased", "authenticationType": "secondaryAuthentication"}}"#;
    let (s, _) = set(&[
        policy("mfa 8h", "enabled", NO_GRANT, mfa_8h),
        policy("full 1d", "enabled", NO_GRANT, &sif(1, "days")),
    ]);
    let session = s.evaluate(&ctx()).enforced.session;
    assert_eq!(
        session.mfa_frequency,
        Some(Sif::Periodic(Duration::from_hours(8)))
    );
    assert_eq!(
        session.sign_in_frequency,
        Some(Sif::Periodic(Duration::from_days(1)))
    );
}

#[test]
fn never_persistent_beats_always_and_disabled_controls_are_off() {
    let always = r#"{"persistentBrowser": {"isEnabled": true, "mode": "always"}}"#;
    let never = r#"{"persistentBrowser": {"isEnabled": true, "mode": "never"}}"#;
    let off = r#"{"persistentBrowser": {"isEnabled": false, "mode": "never"}, "signInFrequency": {"isEnabled": false, "value": 1, "type": "hours"}}"#;
    let (s, _) = set(&[policy("always", "enabled", NO_GRANT, always)]);
    assert_eq!(
        s.evaluate(&ctx()).enforced.session.persistent_browser,
        Some(Persistence::Always)
    );
    let (s, _) = set(&[
        policy("always", "enabled", NO_GRANT, always),
        policy("never", "enabled", NO_GRANT, never),
    ]);
    assert_eq!(
        s.evaluate(&ctx()).enforced.session.persistent_browser,
        Some(Persistence::Never)
    );
    let (s, _) = set(&[policy("off", "enabled", NO_GRANT, off)]);
    let session = s.evaluate(&ctx()).enforced.session;
    assert_eq!(session.persistent_browser, None);
    assert_eq!(session.sign_in_frequency, None);
}

#[test]
fn cae_modes_and_token_protection_combine() {
    let disabled = r#"{"continuousAccessEvaluation": {"mode": "disabled"}}"#;
    let strict = r#"{"continuousAccessEvaluation": {"mode": "strictLocation"}, "secureSignInSession": {"isEnabled": true}}"#;
    let (s, _) = set(&[policy("no cae", "enabled", NO_GRANT, disabled)]);
    assert_eq!(s.evaluate(&ctx()).enforced.session.cae, CaeMode::Disabled);
    let (s, _) = set(&[
        policy("no cae", "enabled", NO_GRANT, disabled),
        policy("strict", "enabled", NO_GRANT, strict),
    ]);
    let session = s.evaluate(&ctx()).enforced.session;
    assert_eq!(session.cae, CaeMode::StrictLocation);
    assert!(session.token_protection);
}

#[test]
fn disabling_cae_needs_all_apps_and_no_other_condition() {
    let doc = serde_json::json!({
        "displayName": "Disable CAE for Exchange", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["00000002-0000-0ff1-ce00-000000000000"]}},
        "sessionControls": {"continuousAccessEvaluation": {"mode": "disabled"}}
    });
    let (s, warnings) =
        PolicySet::from_json(Path::new("cae.json"), &doc.to_string()).expect("loads");
    assert_eq!(s.policies[0].session.cae, CaeMode::Default);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("disabling CAE only works")),
        "{warnings:?}"
    );
}

#[test]
fn report_only_policies_are_evaluated_but_not_enforced() {
    let (s, _) = set(&[
        policy("enforced sif", "enabled", NO_GRANT, &sif(12, "hours")),
        policy(
            "would block",
            "enabledForReportingButNotEnforced",
            r#"{"operator": "OR", "builtInControls": ["block"]}"#,
            &sif(1, "hours"),
        ),
        policy(
            "off",
            "disabled",
            r#"{"operator": "OR", "builtInControls": ["block"]}"#,
            NO_SESSION,
        ),
    ]);
    let e = s.evaluate(&ctx());
    assert_eq!(e.applied, vec!["enforced sif"]);
    assert_eq!(e.report_only_applied, vec!["would block"]);
    assert!(!e.enforced.grant.block);
    assert_eq!(
        e.enforced.session.sign_in_frequency,
        Some(Sif::Periodic(Duration::from_hours(12)))
    );
    assert!(e.report_only.grant.block);
    assert_eq!(
        e.report_only.session.sign_in_frequency,
        Some(Sif::Periodic(Duration::from_hours(1)))
    );
}

/// The seed examples run with `sign_in_frequency = "1h"`; `models/policies/sif-1h.json` is
/// the same design in Graph JSON and must give the same decision for every target.
#[test]
fn sif_1h_json_matches_the_scenario_shorthand() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies/sif-1h.json");
    let (json, _) = PolicySet::load(&path).expect("loads");
    let shorthand = PolicySet::shorthand(Some(Sif::Periodic(Duration::from_hours(1))), None);
    for app in App::ALL {
        for client in Client::ALL {
            for device in DeviceTrust::ALL {
                let mut c = ctx();
                c.target = Target::App(app);
                c.client = client;
                c.device = device;
                assert_eq!(
                    json.evaluate(&c).enforced,
                    shorthand.evaluate(&c).enforced,
                    "{app} {client} {device}"
                );
            }
        }
    }
}
