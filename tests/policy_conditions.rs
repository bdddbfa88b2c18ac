//! One test per condition type, each with an include and an exclude case, evaluated the
//! way the engine and `whatif` do: through `PolicySet::explain` / `evaluate`.

use std::path::Path;

use sessionsim::policy::{
    AuthFlow, GuestType, LocationContext, Outcome, Platform, PolicySet, RiskLevel, SignInContext,
    Target, UserIdentity, AZURE_PORTAL_APP_ID,
};
use sessionsim::world::app::{App, Client, DeviceTrust};

/// One enabled policy with the given `conditions` object; users and applications default
/// to All when the caller does not give them.
fn policy(conditions: &str) -> PolicySet {
    let mut c: serde_json::Value = serde_json::from_str(conditions).expect("test JSON");
    let obj = c.as_object_mut().expect("an object");
    obj.entry("users")
        .or_insert(serde_json::json!({"includeUsers": ["All"]}));
    obj.entry("applications")
        .or_insert(serde_json::json!({"includeApplications": ["All"]}));
    let doc = serde_json::json!({
        "displayName": "P", "state": "enabled", "conditions": c,
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    let (set, _) =
        PolicySet::from_json(Path::new("test.json"), &doc.to_string()).expect("policy loads");
    set
}

fn ctx() -> SignInContext {
    SignInContext {
        user: UserIdentity {
            id: "alice@contoso.example".into(),
            groups: vec!["grp-finance".into()],
            roles: vec![],
            guest: None,
        },
        target: Target::App(App::Exchange),
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

/// `Ok` when the policy applies, else the reason `whatif` gives. Also checks that
/// `evaluate` agrees with `explain`.
fn outcome(set: &PolicySet, c: &SignInContext) -> Result<(), String> {
    let verdict = set.explain(c).remove(0).outcome;
    let applied = !set.evaluate(c).applied.is_empty();
    match verdict {
        Outcome::Applied => {
            assert!(applied, "evaluate disagrees with explain");
            Ok(())
        }
        Outcome::NotApplied(reason) => {
            assert!(!applied, "evaluate disagrees with explain: {reason}");
            Err(reason)
        }
        Outcome::ReportOnly => panic!("no report-only policy here"),
    }
}

fn assert_excluded(result: Result<(), String>, needle: &str) {
    match result {
        Ok(()) => panic!("expected not applied ({needle})"),
        Err(reason) => assert!(
            reason.contains(needle),
            "`{reason}` should mention `{needle}`"
        ),
    }
}

#[test]
fn users_include_and_exclude() {
    let c = ctx();
    assert!(outcome(&policy("{}"), &c).is_ok());
    let by_id = policy(r#"{"users": {"includeUsers": ["ALICE@contoso.example"]}}"#);
    assert!(
        outcome(&by_id, &c).is_ok(),
        "ids compare case-insensitively"
    );
    let by_group = policy(r#"{"users": {"includeGroups": ["grp-finance"]}}"#);
    assert!(outcome(&by_group, &c).is_ok());
    let by_role =
        policy(r#"{"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}}"#);
    assert_excluded(outcome(&by_role, &c), "user not included");
    let mut admin = ctx();
    admin.user.roles = vec!["62e90394-69f5-4237-9190-012177145e10".into()];
    assert!(outcome(&by_role, &admin).is_ok());
    assert_excluded(
        outcome(&policy(r#"{"users": {"includeUsers": ["None"]}}"#), &c),
        "user not included",
    );

    // Exclusions beat inclusions, and the reason names the list and the entry.
    let excl_group = policy(
        r#"{"users": {"includeUsers": ["All"], "excludeGroups": ["other", "grp-finance"]}}"#,
    );
    assert_excluded(
        outcome(&excl_group, &c),
        "user excluded by excludeGroups (grp-finance)",
    );
    let excl_user = policy(
        r#"{"users": {"includeGroups": ["grp-finance"], "excludeUsers": ["alice@contoso.example"]}}"#,
    );
    assert_excluded(outcome(&excl_user, &c), "excludeUsers");
    let excl_role = policy(
        r#"{"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}}"#,
    );
    assert!(outcome(&excl_role, &c).is_ok());
    assert_excluded(outcome(&excl_role, &admin), "excludeRoles");
}

#[test]
fn guests_and_external_users_include_and_exclude() {
    let mut guest = ctx();
    guest.user.guest = Some(GuestType::B2bCollaborationGuest);
    let member = ctx();
    let legacy = policy(r#"{"users": {"includeUsers": ["GuestsOrExternalUsers"]}}"#);
    assert!(outcome(&legacy, &guest).is_ok());
    assert_excluded(outcome(&legacy, &member), "user not included");
    let object = policy(
        r#"{"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "all"}}}}"#,
    );
    assert!(outcome(&object, &guest).is_ok());
    assert_excluded(outcome(&object, &member), "user not included");
    let excluded = policy(
        r#"{"users": {"includeUsers": ["All"], "excludeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest"}}}"#,
    );
    assert!(outcome(&excluded, &member).is_ok());
    assert_excluded(
        outcome(&excluded, &guest),
        "guest or external user excluded",
    );
    // Each guest type is honoured separately: a policy for service providers only does not
    // match a B2B collaboration guest (regression: it matched every guest).
    let providers = policy(
        r#"{"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "serviceProvider", "externalTenants": {"membershipKind": "all"}}}}"#,
    );
    assert_excluded(outcome(&providers, &guest), "user not included");
    let mut provider = ctx();
    provider.user.guest = Some(GuestType::ServiceProvider);
    assert!(outcome(&providers, &provider).is_ok());
    // An enumerated list of external tenants matches every guest of its types (the home
    // tenant is not simulated), but an empty one names no tenant: no guest (j0eyv's
    // guest policies exclude such a list, which excluded every guest).
    let exclusion = |members: &str| {
        policy(&format!(
            r#"{{"users": {{"includeUsers": ["All"], "excludeGuestsOrExternalUsers": {{"guestOrExternalUserTypes": "serviceProvider", "externalTenants": {{"membershipKind": "enumerated", "members": {members}}}}}}}}}"#
        ))
    };
    assert_excluded(
        outcome(
            &exclusion(r#"["8f2b1c3d-0000-4000-8000-000000000001"]"#),
            &provider,
        ),
        "guest or external user excluded",
    );
    assert!(outcome(&exclusion("[]"), &provider).is_ok());
}

#[test]
fn applications_include_and_exclude() {
    let at = |app: App| Target::App(app);
    let run = |set: &PolicySet, target: Target| {
        let mut c = ctx();
        c.target = target;
        outcome(set, &c)
    };
    let o365 = policy(r#"{"applications": {"includeApplications": ["Office365"]}}"#);
    for app in [App::Exchange, App::Sharepoint, App::Teams, App::OfficeWeb] {
        assert!(run(&o365, at(app)).is_ok(), "{app}");
    }
    assert_excluded(
        run(&o365, at(App::AzurePortal)),
        "app not included by includeApplications (Office365)",
    );
    assert_excluded(run(&o365, at(App::Graph)), "app not included");

    // The Azure portal: by the admin-portals group, by its own app id, and by Windows Azure
    // Service Management API, which covers it.
    let portals = policy(r#"{"applications": {"includeApplications": ["MicrosoftAdminPortals"]}}"#);
    assert!(run(&portals, at(App::AzurePortal)).is_ok());
    assert_excluded(run(&portals, at(App::Exchange)), "app not included");
    let portal_id = policy(&format!(
        r#"{{"applications": {{"includeApplications": ["{}"]}}}}"#,
        AZURE_PORTAL_APP_ID.to_uppercase()
    ));
    assert!(run(&portal_id, at(App::AzurePortal)).is_ok());
    let wasm = policy(
        r#"{"applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]}}"#,
    );
    assert!(run(&wasm, at(App::AzurePortal)).is_ok());
    assert_excluded(run(&wasm, at(App::Graph)), "app not included");

    let by_id = policy(
        r#"{"applications": {"includeApplications": ["00000003-0000-0ff1-ce00-000000000000", "11111111-2222-3333-4444-555555555555"]}}"#,
    );
    assert!(run(&by_id, at(App::Sharepoint)).is_ok());
    assert!(run(
        &by_id,
        Target::OtherApp("11111111-2222-3333-4444-555555555555".into())
    )
    .is_ok());
    assert_excluded(
        run(
            &by_id,
            Target::OtherApp("99999999-2222-3333-4444-555555555555".into()),
        ),
        "app not included",
    );

    let all_but_o365 = policy(
        r#"{"applications": {"includeApplications": ["All"], "excludeApplications": ["Office365"]}}"#,
    );
    assert!(run(&all_but_o365, at(App::Graph)).is_ok());
    assert!(run(
        &all_but_o365,
        Target::OtherApp("99999999-2222-3333-4444-555555555555".into())
    )
    .is_ok());
    assert_excluded(
        run(&all_but_o365, at(App::Teams)),
        "app excluded by excludeApplications (Office365)",
    );
    let all_but_portals = policy(
        r#"{"applications": {"includeApplications": ["All"], "excludeApplications": ["MicrosoftAdminPortals"]}}"#,
    );
    assert_excluded(
        run(&all_but_portals, at(App::AzurePortal)),
        "MicrosoftAdminPortals",
    );
}

#[test]
fn user_actions_are_separate_from_app_sign_ins() {
    let register =
        policy(r#"{"applications": {"includeUserActions": ["urn:user:registersecurityinfo"]}}"#);
    let all_apps = policy("{}");
    let mut c = ctx();
    assert_excluded(outcome(&register, &c), "the policy targets user actions");
    c.target = Target::UserAction("urn:user:registersecurityinfo".into());
    assert!(outcome(&register, &c).is_ok());
    assert_excluded(outcome(&all_apps, &c), "does not target user actions");
    c.target = Target::UserAction("urn:user:registerdevice".into());
    assert_excluded(
        outcome(&register, &c),
        "user action not included by includeUserActions",
    );
}

#[test]
fn authentication_contexts_include_and_exclude() {
    let c1 = policy(r#"{"applications": {"includeAuthenticationContextClassReferences": ["c1"]}}"#);
    let mut c = ctx();
    assert_excluded(
        outcome(&c1, &c),
        "the policy targets authentication contexts (c1)",
    );
    c.target = Target::AuthContext("c1".into());
    assert!(outcome(&c1, &c).is_ok());
    assert_excluded(
        outcome(&policy("{}"), &c),
        "does not target authentication contexts",
    );
    c.target = Target::AuthContext("c2".into());
    assert_excluded(outcome(&c1, &c), "authentication context not included");
}

#[test]
fn client_app_types_include_and_exclude() {
    let mut native = ctx();
    native.client = Client::Native;
    let browser = ctx();
    let browser_only = policy(r#"{"clientAppTypes": ["browser"]}"#);
    assert!(outcome(&browser_only, &browser).is_ok());
    assert_excluded(
        outcome(&browser_only, &native),
        "client app type not included",
    );
    let apps_only = policy(r#"{"clientAppTypes": ["mobileAppsAndDesktopClients"]}"#);
    assert!(outcome(&apps_only, &native).is_ok());
    assert_excluded(outcome(&apps_only, &browser), "client app type");
    let legacy = policy(r#"{"clientAppTypes": ["exchangeActiveSync", "other"]}"#);
    assert_excluded(outcome(&legacy, &browser), "client app type");
    assert!(outcome(&policy(r#"{"clientAppTypes": ["all"]}"#), &native).is_ok());
    assert!(outcome(&policy(r#"{"clientAppTypes": []}"#), &native).is_ok());
}

#[test]
fn platforms_include_and_exclude() {
    let mut ios = ctx();
    ios.platform = Platform::Ios;
    let windows = ctx();
    let not_ios =
        policy(r#"{"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["iOS"]}}"#);
    assert!(outcome(&not_ios, &windows).is_ok());
    assert_excluded(
        outcome(&not_ios, &ios),
        "platform excluded by excludePlatforms",
    );
    let only_mobile = policy(r#"{"platforms": {"includePlatforms": ["android", "ios"]}}"#);
    assert!(outcome(&only_mobile, &ios).is_ok());
    assert_excluded(outcome(&only_mobile, &windows), "platform not included");
}

#[test]
fn locations_include_and_exclude() {
    let untrusted = ctx();
    let mut trusted = ctx();
    trusted.location = LocationContext::parse("trusted").expect("parses");
    let mut hq = ctx();
    hq.location =
        LocationContext::parse("untrusted:3f6b2a7e-1d4c-4e9b-a1f0-5c8d7e6b9a21").expect("parses");

    let outside = policy(
        r#"{"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}"#,
    );
    assert!(outcome(&outside, &untrusted).is_ok());
    assert_excluded(
        outcome(&outside, &trusted),
        "location excluded by excludeLocations (AllTrusted)",
    );

    let named =
        policy(r#"{"locations": {"includeLocations": ["3F6B2A7E-1D4C-4E9B-A1F0-5C8D7E6B9A21"]}}"#);
    assert!(outcome(&named, &hq).is_ok());
    assert_excluded(outcome(&named, &untrusted), "location not included");
    let not_hq = policy(
        r#"{"locations": {"includeLocations": ["All"], "excludeLocations": ["3f6b2a7e-1d4c-4e9b-a1f0-5c8d7e6b9a21"]}}"#,
    );
    assert_excluded(outcome(&not_hq, &hq), "excludeLocations");

    // "MFA Trusted IPs" (the all-zero id) counts as a trusted location.
    let mfa_ips = policy(
        r#"{"locations": {"includeLocations": ["All"], "excludeLocations": ["00000000-0000-0000-0000-000000000000"]}}"#,
    );
    assert!(outcome(&mfa_ips, &untrusted).is_ok());
    assert_excluded(outcome(&mfa_ips, &trusted), "excludeLocations");
}

#[test]
fn device_filter_include_and_exclude() {
    let device = |trust: DeviceTrust, compliant: bool| {
        let mut c = ctx();
        c.device = trust;
        c.compliant = compliant;
        c
    };
    let unmanaged = device(DeviceTrust::Unmanaged, false);
    let registered = device(DeviceTrust::Registered, false);
    let hybrid = device(DeviceTrust::HybridJoined, false);
    let compliant = device(DeviceTrust::EntraJoined, true);

    // Exclude managed devices (hybrid joined or compliant): the policy covers the rest,
    // including unregistered devices, whose attributes are all null.
    let unmanaged_only = policy(
        r#"{"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True"}}}"#,
    );
    assert!(outcome(&unmanaged_only, &unmanaged).is_ok());
    assert!(outcome(&unmanaged_only, &registered).is_ok());
    assert_excluded(
        outcome(&unmanaged_only, &hybrid),
        "device excluded by the device filter",
    );
    assert_excluded(outcome(&unmanaged_only, &compliant), "device excluded");

    // Include mode with positive operators never matches an unregistered device.
    let joined_only = policy(
        r#"{"devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -in [\"AzureAD\", \"ServerAD\"]"}}}"#,
    );
    assert!(outcome(&joined_only, &hybrid).is_ok());
    assert!(outcome(&joined_only, &compliant).is_ok());
    assert_excluded(
        outcome(&joined_only, &unmanaged),
        "does not match the include device filter",
    );
    assert_excluded(outcome(&joined_only, &registered), "include device filter");

    // Negative operators are true on null attributes.
    let not_compliant = policy(
        r#"{"devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -ne True"}}}"#,
    );
    assert!(outcome(&not_compliant, &unmanaged).is_ok());
    assert!(outcome(&not_compliant, &hybrid).is_ok());
    assert_excluded(outcome(&not_compliant, &compliant), "include device filter");
}

/// Microsoft's published "Require reauthentication and disable browser persistence" rule
/// (`device.trustType -ne "ServerAD" -or device.isCompliant -ne True`, exclude mode) is
/// true on unregistered devices, so it excludes exactly the unmanaged devices it meant to
/// cover, and still covers managed ones. The simulator reproduces that literally.
#[test]
fn the_published_unmanaged_template_rule_excludes_unmanaged_devices() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/policies/template-unmanaged-as-published.json");
    let (set, _) = PolicySet::load(&path).expect("loads");
    let mut unmanaged = ctx();
    unmanaged.device = DeviceTrust::Unmanaged;
    assert_excluded(
        outcome(&set, &unmanaged),
        "device excluded by the device filter",
    );
    let mut managed = ctx();
    managed.device = DeviceTrust::HybridJoined;
    managed.compliant = true;
    assert!(outcome(&set, &managed).is_ok());
}

#[test]
fn legacy_device_states_exclude() {
    let set = policy(
        r#"{"deviceStates": {"includeStates": ["All"], "excludeStates": ["Compliant", "DomainJoined"]}}"#,
    );
    let mut c = ctx();
    assert!(outcome(&set, &c).is_ok(), "unmanaged is in scope");
    c.device = DeviceTrust::Registered;
    assert!(
        outcome(&set, &c).is_ok(),
        "registered, not compliant, is in scope"
    );
    c.compliant = true;
    assert_excluded(
        outcome(&set, &c),
        "device excluded by device state (Compliant)",
    );
    c.device = DeviceTrust::HybridJoined;
    c.compliant = false;
    assert_excluded(outcome(&set, &c), "device state (DomainJoined)");
    let beta =
        policy(r#"{"devices": {"includeDevices": ["All"], "excludeDevices": ["DomainJoined"]}}"#);
    assert_excluded(outcome(&beta, &c), "DomainJoined");
}

#[test]
fn user_risk_and_sign_in_risk_include_and_exclude() {
    let high_user = policy(r#"{"userRiskLevels": ["high"]}"#);
    let mut c = ctx();
    assert_excluded(
        outcome(&high_user, &c),
        "user risk not included by userRiskLevels (high)",
    );
    c.user_risk = RiskLevel::High;
    assert!(outcome(&high_user, &c).is_ok());
    let risky_sign_in = policy(r#"{"signInRiskLevels": ["medium", "high"]}"#);
    assert_excluded(outcome(&risky_sign_in, &c), "sign-in risk not included");
    c.sign_in_risk = RiskLevel::Medium;
    assert!(outcome(&risky_sign_in, &c).is_ok());
    c.sign_in_risk = RiskLevel::Low;
    assert_excluded(
        outcome(&risky_sign_in, &c),
        "signInRiskLevels (medium, high)",
    );
    let none_listed = policy(r#"{"userRiskLevels": ["none"]}"#);
    c.user_risk = RiskLevel::None;
    assert!(outcome(&none_listed, &c).is_ok());
}

#[test]
fn workload_identity_and_other_unmet_conditions_keep_policies_out() {
    let workload = policy(
        r#"{"users": null, "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}}"#,
    );
    assert_excluded(outcome(&workload, &ctx()), "workload identities");
}

#[test]
fn authentication_flow_policies_apply_to_their_flow_only() {
    let device_code = policy(r#"{"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}"#);
    assert_excluded(
        outcome(&device_code, &ctx()),
        "authenticationFlows.transferMethods (deviceCodeFlow)",
    );
    let mut flow = ctx();
    flow.auth_flow = Some(AuthFlow::DeviceCode);
    assert!(outcome(&device_code, &flow).is_ok());
    flow.auth_flow = Some(AuthFlow::AuthenticationTransfer);
    assert_excluded(outcome(&device_code, &flow), "authentication flow");
    // Graph's flags string may list both flows.
    let both = policy(
        r#"{"authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"}}"#,
    );
    assert!(outcome(&both, &flow).is_ok());
}

#[test]
fn the_first_failing_condition_is_the_one_reported() {
    // Users are checked before apps, apps before client types, and so on.
    let set = policy(
        r#"{"users": {"includeUsers": ["All"], "excludeGroups": ["grp-finance"]},
            "applications": {"includeApplications": ["Office365"]},
            "clientAppTypes": ["mobileAppsAndDesktopClients"]}"#,
    );
    let mut c = ctx();
    c.target = Target::App(App::Graph);
    assert_excluded(outcome(&set, &c), "excludeGroups");
    c.user.groups.clear();
    assert_excluded(outcome(&set, &c), "app not included");
    c.target = Target::App(App::Exchange);
    assert_excluded(outcome(&set, &c), "client app type");
    c.client = Client::Native;
    assert!(outcome(&set, &c).is_ok());
}

#[test]
fn disabled_policies_never_apply() {
    let doc = r#"{"displayName": "Off", "state": "disabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}"#;
    let (set, _) = PolicySet::from_json(Path::new("t.json"), doc).expect("loads");
    assert_excluded(outcome(&set, &ctx()), "policy is disabled");
    assert!(!set.evaluate(&ctx()).enforced.grant.block);
}

#[test]
fn a_policy_with_an_unknown_condition_does_not_apply() {
    // Regression: an unknown condition was ignored, so the policy applied to everyone.
    let text = r#"{"displayName": "Future", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
          "agentIdentities": {"includeAgents": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}"#;
    let (set, warnings) = PolicySet::from_json(Path::new("t.json"), text).expect("loads");
    assert_excluded(
        outcome(&set, &ctx()),
        "condition the simulator does not know",
    );
    let about: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("conditions.agentIdentities"))
        .collect();
    assert_eq!(about.len(), 1, "one warning naming the field: {warnings:?}");
    assert!(about[0].contains("taken not to apply"), "{}", about[0]);
}

#[test]
fn device_filters_see_the_attributes_a_population_gives() {
    // Regression: filters such as privileged-workstation-only blocked every admin, because
    // no device had a displayName or systemLabels.
    let paw = policy(
        r#"{"users": {"includeUsers": ["All"]}, "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.displayName -startsWith \"PAW-\" -and device.deviceOwnership -eq \"Company\""}}}"#,
    );
    let mut c = ctx();
    c.device = DeviceTrust::EntraJoined;
    assert!(outcome(&paw, &c).is_ok(), "a plain device is in scope");
    c.device_attributes = vec![
        ("displayname".into(), "PAW-0042".into()),
        ("deviceownership".into(), "Company".into()),
    ];
    assert_excluded(outcome(&paw, &c), "device excluded by the device filter");
    assert_eq!(
        sessionsim::policy::attribute_name("device.systemLabels"),
        Ok("systemlabels".into())
    );
    assert!(sessionsim::policy::attribute_name("trustType").is_err());
    assert!(sessionsim::policy::attribute_name("colour").is_err());
}
