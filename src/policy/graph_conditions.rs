//! Reading `conditions` of a Graph `conditionalAccessPolicy` into [`Conditions`].
//!
//! Every value is checked for type (errors name the JSON path); unknown values of known
//! enumerations become warnings and never match, so a policy that uses a newer Graph value
//! still loads and stays conservative (it applies to fewer sign-ins, never more).

use crate::error::InputError;

use super::conditions::{
    AppSel, ClientAppType, Conditions, DeviceState, Devices, LocationSel, Locations, PlatformSel,
    Platforms, Resources, Unmet, Users,
};
use super::filter::{self, DeviceFilter, FilterMode};
use super::json::{self, Node, Obj, Walker};
use super::known;
use super::{AuthFlow, GuestType, GuestTypes, Platform, RiskLevel};

/// Reads `conditions` (which may be null: the policy then applies to nobody).
pub(crate) fn conditions(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Conditions, InputError> {
    let Some(o) = w.object(node)? else {
        w.warn(
            node.path(),
            "missing: without users and applications the policy applies to no sign-in",
        );
        return Ok(Conditions::default());
    };
    let users_node = o.get("users");
    let mut c = Conditions {
        users: users(w, users_node.node())?,
        resources: resources(w, o.get("applications").node())?,
        client_app_types: client_app_types(w, o.get("clientAppTypes").node())?,
        platforms: platforms(w, o.get("platforms").node())?,
        locations: locations(w, o.get("locations").node())?,
        devices: devices(w, o.get("devices").node())?,
        user_risk: risk_levels(w, o.get("userRiskLevels").node())?,
        sign_in_risk: risk_levels(w, o.get("signInRiskLevels").node())?,
        auth_flows: None,
        unmet: Vec::new(),
    };
    legacy_device_states(w, o.get("deviceStates").node(), &mut c.devices)?;
    if c.devices.filter.is_some() && !c.devices.exclude_states.is_empty() {
        w.warn(
            &json::join(o.path(), "devices"),
            "a device filter and device states together: Entra does not allow both; both are applied",
        );
    }
    workload_and_other_unmet(w, &o, &mut c)?;
    if json::is_empty_value(users_node.value) && c.unmet.is_empty() {
        w.warn(&users_node.path, "missing: the policy applies to no user");
    }
    // A condition the simulator does not know narrows the policy's scope in Entra in ways
    // it cannot evaluate: the policy is taken not to apply, never to apply to everyone.
    for (key, _) in o.take_unread() {
        let field = json::join(o.path(), key);
        w.warn(
            &field,
            "unknown condition: the simulator cannot evaluate it, so the policy is taken not to apply",
        );
        c.unmet.push(Unmet {
            field,
            why: "the policy has a condition the simulator does not know".into(),
        });
    }
    w.finish(&o);
    Ok(c)
}

/// A directory object id: kept lower-case; a template placeholder gets a warning.
fn object_id(w: &mut Walker<'_>, text: &str, path: &str) -> String {
    if known::is_placeholder(text) {
        w.warn(
            path,
            format!("`{text}` is a template placeholder, not an id: replace it with a real id (until then it matches nothing)"),
        );
    }
    text.trim().to_ascii_lowercase()
}

fn users(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Users, InputError> {
    let mut u = Users::default();
    let Some(o) = w.condition(node)? else {
        return Ok(u);
    };
    for (s, p) in w.strings(o.get("includeUsers").node())? {
        match s.to_ascii_lowercase().as_str() {
            "all" => u.include_all = true,
            "none" => {}
            "guestsorexternalusers" => u.include_guests = GuestTypes::ALL,
            _ => u.include_users.push(object_id(w, s, &p)),
        }
    }
    for (s, p) in w.strings(o.get("excludeUsers").node())? {
        match s.to_ascii_lowercase().as_str() {
            "guestsorexternalusers" => u.exclude_guests = GuestTypes::ALL,
            "all" | "none" => w.warn(
                &p,
                format!("`{s}` is not meaningful in excludeUsers: ignored"),
            ),
            _ => u.exclude_users.push(object_id(w, s, &p)),
        }
    }
    let lists: [(&'static str, &mut Vec<String>); 4] = [
        ("includeGroups", &mut u.include_groups),
        ("excludeGroups", &mut u.exclude_groups),
        ("includeRoles", &mut u.include_roles),
        ("excludeRoles", &mut u.exclude_roles),
    ];
    for (key, list) in lists {
        for (s, p) in w.strings(o.get(key).node())? {
            list.push(object_id(w, s, &p));
        }
    }
    u.include_guests.0 |= guests(w, o.get("includeGuestsOrExternalUsers").node())?.0;
    u.exclude_guests.0 |= guests(w, o.get("excludeGuestsOrExternalUsers").node())?.0;
    w.finish(&o);
    Ok(u)
}

/// `conditionalAccessGuestsOrExternalUsers`: the guest types it names, each honoured
/// separately (a policy for service providers does not match a B2B collaboration guest).
fn guests(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<GuestTypes, InputError> {
    let mut set = GuestTypes::default();
    let Some(o) = w.condition(node)? else {
        return Ok(set);
    };
    let types_node = o.get("guestOrExternalUserTypes");
    // A comma-separated flags string in Graph; some tools write an array.
    let types: Vec<String> = match types_node.value {
        serde_json::Value::Array(_) => w
            .strings(types_node.node())?
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect(),
        _ => w
            .string(types_node.node())?
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    for t in types.iter().filter(|t| !t.eq_ignore_ascii_case("none")) {
        match GuestType::parse(t) {
            Ok(g) => set.insert(g),
            Err(e) => w.warn(&types_node.path, format!("{e}; it matches no user")),
        }
    }
    let tenants = o.get("externalTenants");
    if let Some(t) = w.object(tenants.node())? {
        let kind = w.string(t.get("membershipKind").node())?;
        if kind.is_some_and(|k| k.eq_ignore_ascii_case("enumerated")) {
            // An empty list names no tenant, so no guest's home tenant is in it (template
            // repositories publish it so, with their partners' ids removed).
            if json::is_empty_value(t.get("members").value) {
                w.warn(
                    &tenants.path,
                    "specific external tenants, but the list is empty: no guest matches",
                );
                set = GuestTypes::default();
            } else {
                w.warn(
                    &tenants.path,
                    "specific external tenants: the simulator does not know a guest's home tenant, so every guest matches",
                );
            }
        }
        t.skip("members");
        w.finish(&t);
    }
    w.finish(&o);
    Ok(set)
}

fn resources(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Resources, InputError> {
    let mut r = Resources::default();
    let Some(o) = w.condition(node)? else {
        w.warn(node.path(), "missing: the policy targets no resource");
        return Ok(r);
    };
    r.include_apps = app_list(w, o.get("includeApplications").node(), true)?;
    r.exclude_apps = app_list(w, o.get("excludeApplications").node(), false)?;
    for (s, p) in w.strings(o.get("includeUserActions").node())? {
        let lower = s.to_ascii_lowercase();
        if lower != "urn:user:registersecurityinfo" && lower != "urn:user:registerdevice" {
            w.warn(
                &p,
                format!("unknown user action `{s}`: expected urn:user:registersecurityinfo or urn:user:registerdevice"),
            );
        }
        r.user_actions.push(lower);
    }
    for (s, p) in w.strings(o.get("includeAuthenticationContextClassReferences").node())? {
        let lower = s.trim().to_ascii_lowercase();
        let valid = lower
            .strip_prefix('c')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=25).contains(&n));
        if !valid {
            w.warn(
                &p,
                format!("`{s}` is not an authentication context id (c1 to c25)"),
            );
        }
        r.auth_contexts.push(lower);
    }
    let filter = o.get("applicationFilter");
    if !json::is_empty_value(filter.value) {
        w.warn(
            &filter.path,
            "filter for applications uses custom security attributes, which simulated apps do not carry: it adds or removes no app",
        );
    }
    let kinds = [
        !r.include_apps.is_empty(),
        !r.user_actions.is_empty(),
        !r.auth_contexts.is_empty(),
    ];
    match kinds.iter().filter(|k| **k).count() {
        0 => w.warn(
            o.path(),
            "no application, user action or authentication context is included: the policy applies to nothing",
        ),
        1 => {}
        _ => w.warn(
            o.path(),
            "more than one kind of target (apps, user actions, authentication contexts): Entra allows only one; each is matched separately",
        ),
    }
    w.finish(&o);
    Ok(r)
}

fn app_list(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
    include: bool,
) -> Result<Vec<AppSel>, InputError> {
    let mut out = Vec::new();
    for (s, p) in w.strings(node)? {
        let sel = match s.to_ascii_lowercase().as_str() {
            "all" => {
                if !include {
                    w.warn(&p, "`All` in excludeApplications excludes every app");
                }
                AppSel::All
            }
            "none" => continue,
            "office365" => AppSel::Office365,
            "microsoftadminportals" => AppSel::AdminPortals,
            _ => {
                // Graph names applications by appId; a display name here (an export
                // tool's "Office 365") matches nothing in Entra either.
                if !known::is_guid(s) && !known::is_placeholder(s) {
                    w.warn(
                        &p,
                        format!("`{}` is not an application id (a GUID) nor one of All, None, Office365, MicrosoftAdminPortals: it matches no application (a display name?)", crate::error::clip(s, 80)),
                    );
                }
                AppSel::Id(object_id(w, s, &p))
            }
        };
        out.push(sel);
    }
    Ok(out)
}

fn client_app_types(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
) -> Result<Vec<ClientAppType>, InputError> {
    let mut out = Vec::new();
    for (s, p) in w.strings(node)? {
        out.push(match s.to_ascii_lowercase().as_str() {
            "all" => ClientAppType::All,
            "browser" => ClientAppType::Browser,
            "mobileappsanddesktopclients" => ClientAppType::MobileAppsAndDesktopClients,
            "exchangeactivesync" | "eassupported" | "easunsupported" | "other" => {
                ClientAppType::Legacy(s.to_string())
            }
            _ => {
                w.warn(
                    &p,
                    format!("unknown client app type `{s}`: it matches no simulated client"),
                );
                ClientAppType::Legacy(s.to_string())
            }
        });
    }
    Ok(out)
}

fn platforms(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Platforms, InputError> {
    let mut out = Platforms::default();
    let Some(o) = w.condition(node)? else {
        return Ok(out);
    };
    for (key, list) in [
        ("includePlatforms", &mut out.include),
        ("excludePlatforms", &mut out.exclude),
    ] {
        for (s, p) in w.strings(o.get(key).node())? {
            list.push(if s.eq_ignore_ascii_case("all") {
                PlatformSel::All
            } else if let Ok(one) = Platform::parse(s) {
                PlatformSel::One(one)
            } else {
                if !s.eq_ignore_ascii_case("windowsPhone") {
                    w.warn(
                        &p,
                        format!("unknown platform `{s}`: it matches no simulated device"),
                    );
                }
                PlatformSel::Other(s.to_string())
            });
        }
    }
    w.finish(&o);
    Ok(out)
}

fn locations(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Locations, InputError> {
    let mut out = Locations::default();
    let Some(o) = w.condition(node)? else {
        return Ok(out);
    };
    for (key, list) in [
        ("includeLocations", &mut out.include),
        ("excludeLocations", &mut out.exclude),
    ] {
        for (s, p) in w.strings(o.get(key).node())? {
            list.push(match s.to_ascii_lowercase().as_str() {
                "all" => LocationSel::All,
                "alltrusted" => LocationSel::AllTrusted,
                // The all-zero id is "MFA Trusted IPs" here, not a placeholder.
                known::MFA_TRUSTED_IPS => LocationSel::Named(known::MFA_TRUSTED_IPS.into()),
                _ => LocationSel::Named(object_id(w, s, &p)),
            });
        }
    }
    w.finish(&o);
    Ok(out)
}

fn devices(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<Devices, InputError> {
    let mut out = Devices::default();
    let Some(o) = w.condition(node)? else {
        return Ok(out);
    };
    let filter_node = o.get("deviceFilter");
    if let Some(f) = w.object(filter_node.node())? {
        out.filter = device_filter(w, &f)?;
        w.finish(&f);
    }
    // Beta `includeDevices`/`excludeDevices` and the deprecated `*DeviceStates` names.
    for key in ["includeDevices", "includeDeviceStates"] {
        include_states(w, o.get(key).node())?;
    }
    for key in ["excludeDevices", "excludeDeviceStates"] {
        exclude_states(w, o.get(key).node(), &mut out.exclude_states)?;
    }
    w.finish(&o);
    Ok(out)
}

fn device_filter(w: &mut Walker<'_>, f: &Obj<'_>) -> Result<Option<DeviceFilter>, InputError> {
    let mode_node = f.get("mode");
    let rule_node = f.get("rule");
    let Some(rule_text) = w.string(rule_node.node())? else {
        if !mode_node.value.is_null() {
            w.warn(&rule_node.path, "device filter without a rule: ignored");
        }
        return Ok(None);
    };
    if rule_text.trim().is_empty() {
        w.warn(&rule_node.path, "empty device filter rule: ignored");
        return Ok(None);
    }
    let mode = match w.string(mode_node.node())? {
        Some(m) if m.eq_ignore_ascii_case("include") => FilterMode::Include,
        Some(m) if m.eq_ignore_ascii_case("exclude") => FilterMode::Exclude,
        Some(m) => {
            return Err(w.error(
                &mode_node.path,
                format!("unknown device filter mode `{m}`: expected include or exclude"),
            ))
        }
        None => {
            return Err(w.error(
                &mode_node.path,
                "a device filter needs a mode: include or exclude",
            ))
        }
    };
    let parsed = filter::parse(rule_text).map_err(|e| {
        w.error(
            &rule_node.path,
            format!(
                "device filter rule `{}`: {e}",
                crate::error::clip(rule_text, 200)
            ),
        )
    })?;
    for unknown in &parsed.unknown {
        w.warn(&rule_node.path, format!("{unknown}; treated as null"));
    }
    let unmodelled = parsed.rule.unmodelled();
    if !unmodelled.is_empty() {
        w.warn(
            &rule_node.path,
            format!(
                "{} has no value unless the population gives its devices one (persona device_attributes): until then it is null (a positive operator is false, a negative one true)",
                unmodelled.join(", ")
            ),
        );
    }
    // The simulator's devices are finite (trust type × compliance × platform), so whether
    // a rule can ever match is decided exactly by trying them all.
    let (matches, total) = filter::match_count(&parsed.rule);
    let scope = match (mode, matches) {
        (FilterMode::Include, 0) => Some("matches no device, so the policy never applies"),
        (FilterMode::Exclude, m) if m == total => {
            Some("matches every device, so the policy never applies")
        }
        _ => None,
    };
    if let Some(scope) = scope {
        w.warn(
            &rule_node.path,
            format!("device filter `{rule_text}` ({} mode) {scope}", mode.name()),
        );
    }
    Ok(Some(DeviceFilter {
        mode,
        rule: parsed.rule,
        text: rule_text.to_string(),
    }))
}

fn include_states(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<(), InputError> {
    for (s, p) in w.strings(node)? {
        if !s.eq_ignore_ascii_case("all") {
            w.warn(
                &p,
                format!("`{s}`: only `All` can be included; treated as All"),
            );
        }
    }
    Ok(())
}

fn exclude_states(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
    out: &mut Vec<DeviceState>,
) -> Result<(), InputError> {
    for (s, p) in w.strings(node)? {
        let state = match s.to_ascii_lowercase().as_str() {
            "compliant" => DeviceState::Compliant,
            "domainjoined" => DeviceState::DomainJoined,
            _ => {
                w.warn(
                    &p,
                    format!(
                        "unknown device state `{s}`: expected Compliant or DomainJoined; ignored"
                    ),
                );
                continue;
            }
        };
        if !out.contains(&state) {
            out.push(state);
        }
    }
    Ok(())
}

/// Legacy `conditions.deviceStates {includeStates, excludeStates}`.
fn legacy_device_states(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
    devices: &mut Devices,
) -> Result<(), InputError> {
    let Some(o) = w.condition(node)? else {
        return Ok(());
    };
    include_states(w, o.get("includeStates").node())?;
    exclude_states(
        w,
        o.get("excludeStates").node(),
        &mut devices.exclude_states,
    )?;
    w.finish(&o);
    Ok(())
}

/// `None` when the list is null or empty (condition not configured).
fn risk_levels(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
) -> Result<Option<Vec<RiskLevel>>, InputError> {
    let items = w.strings(node)?;
    if items.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (s, p) in items {
        match RiskLevel::parse(s) {
            Ok(level) => out.push(level),
            Err(_) if s.eq_ignore_ascii_case("hidden") => {
                w.warn(&p, "`hidden` risk is not simulated: it matches no sign-in")
            }
            Err(_) => w.warn(
                &p,
                format!("unknown risk level `{s}`: expected low, medium, high or none; ignored"),
            ),
        }
    }
    Ok(Some(out))
}

/// Conditions no simulated user sign-in meets (workload identities, insider risk), and the
/// authentication flows condition. Reading them keeps them out of the unknown-field
/// warnings.
fn workload_and_other_unmet(
    w: &mut Walker<'_>,
    o: &Obj<'_>,
    c: &mut Conditions,
) -> Result<(), InputError> {
    let sp_risk = o.get("servicePrincipalRiskLevels");
    if !w.strings(sp_risk.node())?.is_empty() {
        c.unmet.push(Unmet {
            field: sp_risk.path.clone(),
            why: "the policy targets workload identities (service principal risk)".into(),
        });
    }
    let clients = o.get("clientApplications");
    if let Some(co) = w.condition(clients.node())? {
        let include = co.get("includeServicePrincipals");
        let filter = co.get("servicePrincipalFilter");
        if !w.strings(include.node())?.is_empty() || !json::is_empty_value(filter.value) {
            c.unmet.push(Unmet {
                field: clients.path.clone(),
                why: "the policy targets workload identities, not users".into(),
            });
        }
        co.skip("excludeServicePrincipals");
        w.finish(&co);
    }
    let insider = o.get("insiderRiskLevels");
    if !json::is_empty_value(insider.value) {
        c.unmet.push(Unmet {
            field: insider.path.clone(),
            why: "insider risk is not simulated: no simulated user has an insider risk level"
                .into(),
        });
    }
    let flows = o.get("authenticationFlows");
    if let Some(fo) = w.condition(flows.node())? {
        let methods = fo.get("transferMethods");
        // Graph writes the flags as one comma-separated string ("deviceCodeFlow,
        // authenticationTransfer"); exports sometimes carry a list.
        let mut listed: Vec<(String, String)> = Vec::new();
        if let Some(text) = methods.value.as_str() {
            for part in text.split(',').filter(|p| !p.trim().is_empty()) {
                listed.push((part.trim().to_string(), methods.path.clone()));
            }
        } else {
            for (s, p) in w.strings(methods.node())? {
                listed.push((s.to_string(), p.to_string()));
            }
        }
        if !listed.is_empty() {
            let mut parsed = Vec::new();
            for (s, p) in &listed {
                match AuthFlow::parse(s) {
                    Some(f) => parsed.push(f),
                    None => w.warn(p, format!(
                        "unknown authentication flow `{s}`: expected deviceCodeFlow or authenticationTransfer; it matches no sign-in"
                    )),
                }
            }
            c.auth_flows = Some(parsed);
        }
        w.finish(&fo);
    }
    Ok(())
}
