//! The loader for Microsoft Graph `conditionalAccessPolicy` JSON.
//!
//! Accepts what tenants export (MODEL.md §7): one policy object, an array of policies, or a
//! list response `{"@odata.context": ..., "value": [...]}`, from v1.0 or beta; a folder of
//! such files loads as one set, files in name order. Text may carry a UTF-8 BOM or be
//! UTF-16 with a BOM ([`crate::error::read_text`]). `@odata.*` annotations are ignored and
//! `null` is accepted wherever a value may be absent. Unknown fields are listed in the
//! returned warnings; errors name the file, the policy's `displayName` and the JSON path.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::time::{Duration, MAX_SECONDS};
use crate::error::{read_text, InputError};

use super::conditions::Conditions;
use super::graph_conditions::conditions;
use super::json::{self, Node, Obj, Walker};
use super::known;
use super::{
    AuthStrength, CaeMode, GrantClause, GrantControl, GrantSet, Operator, Persistence, Policy,
    PolicyState, SessionControls, Sif,
};

/// Longest display name kept whole; the Entra admin center accepts 256 characters.
const MAX_DISPLAY_NAME: usize = 256;

/// Loads a policy file or a folder of policy files. Returns the policies and the warnings.
pub(crate) fn load(path: &Path) -> Result<(Vec<Policy>, Vec<String>), InputError> {
    let mut warnings = Vec::new();
    let policies = if path.is_dir() {
        let files = json_files(path)?;
        let mut all = Vec::new();
        for file in files {
            let text = read_text(&file)?;
            all.extend(parse_text(&file, &text, &mut warnings)?);
        }
        all
    } else {
        let text = read_text(path)?;
        parse_text(path, &text, &mut warnings)?
    };
    duplicate_ids(path, &policies, &mut warnings);
    Ok((policies, warnings))
}

/// The `.json` files of a folder, sorted by file name so the set's order (and every result
/// that depends on it) is the same on every machine.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| InputError::new(dir, format!("cannot read the folder: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| InputError::new(dir, format!("cannot read the folder: {e}")))?;
        let path = entry.path();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(InputError::new(
            dir,
            "the folder holds no .json policy files",
        ));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Warns about ids that appear twice. A set, not a list: 100,000 policies must not take
/// quadratic time (regression: they took 60 s to validate).
fn duplicate_ids(path: &Path, policies: &[Policy], warnings: &mut Vec<String>) {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for p in policies {
        if p.id.is_empty() {
            continue;
        }
        if !seen.insert(p.id.as_str()) {
            warnings.push(format!(
                "{}: policy id {} appears more than once (policy \"{}\"): both copies are evaluated",
                path.display(),
                p.id,
                p.display_name
            ));
        }
    }
}

/// Parses one document's text.
pub(crate) fn parse_text(
    file: &Path,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Policy>, InputError> {
    let doc = json::parse_document(file, text)?;
    let mut out = Vec::new();
    match &doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let prefix = format!("[{i}]");
                out.extend(policy(file, item, &prefix, i, warnings)?);
            }
        }
        Value::Object(map) if map.contains_key("value") && !map.contains_key("conditions") => {
            for key in map.keys() {
                if key == "@odata.nextLink" {
                    warnings.push(format!(
                        "{}: @odata.nextLink: the file holds one page of a paged list; later pages are not loaded",
                        file.display()
                    ));
                } else if key != "value" && !json::is_annotation(key) {
                    warnings.push(format!(
                        "{}: {key}: unknown field beside `value` ignored",
                        file.display()
                    ));
                }
            }
            match &map["value"] {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let prefix = format!("value[{i}]");
                        out.extend(policy(file, item, &prefix, i, warnings)?);
                    }
                }
                other => {
                    return Err(InputError::new(
                        file,
                        format!(
                            "a list response needs an array of policies in `value`, found {}",
                            json::type_name(other)
                        ),
                    )
                    .field("value"))
                }
            }
        }
        Value::Object(_) => out.extend(policy(file, &doc, "", 0, warnings)?),
        other => {
            return Err(InputError::new(
                file,
                format!(
                    "expected a policy object, an array of policies or a list response {{\"value\": [...]}}, found {}",
                    json::type_name(other)
                ),
            ))
        }
    }
    Ok(out)
}

/// One policy. `prefix` is its path in the document (`value[3]`, or empty for a single
/// policy); `index` its position, used to name it when it has no `displayName`.
fn policy(
    file: &Path,
    value: &Value,
    prefix: &str,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<Option<Policy>, InputError> {
    let name = value.get("displayName").and_then(Value::as_str);
    let id = value.get("id").and_then(Value::as_str);
    let label = match (name, id) {
        (Some(n), _) => format!("\"{}\"", crate::error::clip(n, MAX_DISPLAY_NAME)),
        (None, Some(id)) => format!("with id {id}"),
        (None, None) if prefix.is_empty() => "(no displayName)".to_string(),
        (None, None) => format!("#{} (no displayName)", index + 1),
    };
    let mut w = Walker {
        file,
        label,
        warnings,
    };
    let Some(o) = w.object(Node::new(value, prefix))? else {
        w.warn(prefix, "null entry skipped");
        return Ok(None);
    };
    // Some tools wrap the policies in their own object ({"policies": [...]}); say so
    // rather than complain about a missing `state`.
    if let Value::Object(map) = value {
        let looks_like_policy = ["state", "conditions", "displayName", "id"]
            .iter()
            .any(|k| map.contains_key(*k));
        if !looks_like_policy {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
            return Err(w.error(
                prefix,
                format!(
                    "this is not a conditionalAccessPolicy (no state, conditions, displayName or id; keys: {}): expected a policy, an array of policies or a list response {{\"value\": [...]}}",
                    keys.join(", ")
                ),
            ));
        }
    }
    let display_name = w.string(o.get("displayName").node())?;
    let id = w
        .string(o.get("id").node())?
        .unwrap_or_default()
        .to_string();
    let display_name = match display_name {
        // Names travel with every explanation and grant clause: an absurd one is cut
        // (regression: a 10 MB display name made a 5-user run take 21 s).
        Some(n) if n.chars().count() > MAX_DISPLAY_NAME => {
            w.warn(
                &json::join(prefix, "displayName"),
                format!(
                    "{} characters long: cut to {MAX_DISPLAY_NAME}",
                    n.chars().count()
                ),
            );
            crate::error::clip(n, MAX_DISPLAY_NAME).into_owned()
        }
        Some(n) => n.to_string(),
        None => {
            w.warn(
                &json::join(prefix, "displayName"),
                "missing: the policy is named by its id or position",
            );
            if id.is_empty() {
                format!("policy #{}", index + 1)
            } else {
                id.clone()
            }
        }
    };
    if super::known::is_placeholder(&id) {
        w.warn(
            &json::join(prefix, "id"),
            format!("`{id}` is a template placeholder, not a policy id: results will name the policy by it"),
        );
    }
    let state = state(&mut w, &o)?;
    for meta in [
        "createdDateTime",
        "modifiedDateTime",
        "deletedDateTime",
        "templateId",
        "description",
    ] {
        o.skip(meta);
    }
    let conditions = conditions(&mut w, o.get("conditions").node())?;
    let grant = grant_controls(&mut w, o.get("grantControls").node(), &display_name)?;
    let mut session = session_controls(&mut w, o.get("sessionControls").node())?;
    check_consistency(&mut w, prefix, &conditions, &grant, &mut session);
    w.finish(&o);
    Ok(Some(Policy {
        id,
        display_name,
        state,
        conditions,
        block: grant.block,
        grant: grant.clause,
        grant_other: grant.other,
        session,
    }))
}

fn state(w: &mut Walker<'_>, o: &Obj<'_>) -> Result<PolicyState, InputError> {
    let node = o.get("state");
    match w.string(node.node())? {
        Some(s) if s.eq_ignore_ascii_case("enabled") => Ok(PolicyState::Enabled),
        Some(s) if s.eq_ignore_ascii_case("disabled") => Ok(PolicyState::Disabled),
        Some(s) if s.eq_ignore_ascii_case("enabledForReportingButNotEnforced") => {
            Ok(PolicyState::ReportOnly)
        }
        Some(s) => Err(w.error(
            &node.path,
            format!("unknown state `{s}`: expected enabled, disabled or enabledForReportingButNotEnforced"),
        )),
        None => Err(w.error(
            &node.path,
            "missing: expected enabled, disabled or enabledForReportingButNotEnforced",
        )),
    }
}

/// What `grantControls` amounts to.
struct GrantRead {
    block: bool,
    clause: Option<GrantClause>,
    /// Graph names of controls the simulator treats as satisfied.
    other: Vec<String>,
}

fn grant_controls(
    w: &mut Walker<'_>,
    node: Node<'_, '_>,
    display_name: &str,
) -> Result<GrantRead, InputError> {
    let mut read = GrantRead {
        block: false,
        clause: None,
        other: Vec::new(),
    };
    let Some(o) = w.object(node)? else {
        return Ok(read);
    };
    let op_node = o.get("operator");
    let operator = match w.string(op_node.node())? {
        None => Operator::And,
        Some(s) if s.eq_ignore_ascii_case("and") => Operator::And,
        Some(s) if s.eq_ignore_ascii_case("or") => Operator::Or,
        Some(s) => {
            return Err(w.error(
                &op_node.path,
                format!("unknown operator `{s}`: expected AND or OR"),
            ))
        }
    };
    let mut controls = GrantSet::default();
    let mut mfa_listed = false;
    for (s, p) in w.strings(o.get("builtInControls").node())? {
        match s.to_ascii_lowercase().as_str() {
            "block" => read.block = true,
            "mfa" => {
                mfa_listed = true;
                controls.insert(GrantControl::Mfa);
            }
            "compliantdevice" => controls.insert(GrantControl::CompliantDevice),
            "domainjoineddevice" => controls.insert(GrantControl::DomainJoinedDevice),
            "passwordchange" => controls.insert(GrantControl::PasswordChange),
            "approvedapplication" | "compliantapplication" | "riskremediation" => {
                w.warn(&p, format!("`{s}` is not modelled: treated as satisfied"));
                controls.insert(GrantControl::Other);
                read.other.push(s.to_string());
            }
            _ => {
                w.warn(
                    &p,
                    format!("unknown grant control `{s}`: treated as satisfied"),
                );
                controls.insert(GrantControl::Other);
                read.other.push(s.to_string());
            }
        }
    }
    for (key, what) in [
        ("customAuthenticationFactors", "custom control"),
        ("termsOfUse", "terms of use"),
    ] {
        let child = o.get(key);
        for (s, _) in w.strings(child.node())? {
            w.warn(
                &child.path,
                format!("{what} `{s}` is not modelled: treated as satisfied"),
            );
            controls.insert(GrantControl::Other);
            read.other.push(format!("{key}:{s}"));
        }
    }
    let strength = authentication_strength(w, &o)?;
    if strength.is_some() {
        controls.insert(GrantControl::AuthenticationStrength);
    }
    if read.block && !controls.is_empty() {
        w.warn(
            o.path(),
            "block together with other grant controls: Entra does not allow this; block wins",
        );
    }
    if controls.contains(GrantControl::PasswordChange)
        && (operator == Operator::Or || !(mfa_listed || strength.is_some()))
    {
        w.warn(
            o.path(),
            "passwordChange must come with mfa (or an authentication strength) and the AND operator (Graph conditionalAccessGrantControls)",
        );
    }
    if !read.block && !controls.is_empty() {
        read.clause = Some(GrantClause {
            operator,
            controls,
            auth_strength: strength,
            policy: display_name.to_string(),
        });
    }
    w.finish(&o);
    Ok(read)
}

/// `authenticationStrength`: a built-in id, or a custom strength judged by its embedded
/// `allowedCombinations`; unknown custom strengths count as MFA, with a warning.
fn authentication_strength(
    w: &mut Walker<'_>,
    grant: &Obj<'_>,
) -> Result<Option<AuthStrength>, InputError> {
    let node = grant.get("authenticationStrength");
    let Some(o) = w.object(node.node())? else {
        return Ok(None);
    };
    let id = w.string(o.get("id").node())?;
    let name = w.string(o.get("displayName").node())?;
    let combos: Vec<&str> = w
        .strings(o.get("allowedCombinations").node())?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    // The strength object repeats the whole authenticationStrengthPolicy (timestamps,
    // policyType, combinationConfigurations, ...): none of it matters beyond the above, so
    // its other fields are not reported as unknown.
    let strength = id
        .and_then(known::builtin_strength)
        .or_else(|| known::strength_from_combinations(&combos));
    match (strength, id) {
        (Some(s), _) => Ok(Some(s)),
        (None, None) if name.is_none() => Ok(None),
        (None, _) => {
            w.warn(
                &node.path,
                format!(
                    "custom authentication strength {} without allowedCombinations: treated as multifactor authentication",
                    name.or(id).unwrap_or_default()
                ),
            );
            Ok(Some(AuthStrength::Mfa))
        }
    }
}

fn session_controls(w: &mut Walker<'_>, node: Node<'_, '_>) -> Result<SessionControls, InputError> {
    let mut s = SessionControls::default();
    let Some(o) = w.object(node)? else {
        return Ok(s);
    };
    sign_in_frequency(w, &o, &mut s)?;

    let pb = o.get("persistentBrowser");
    if let Some(po) = w.object(pb.node())? {
        let enabled = w.boolean(po.get("isEnabled").node())?;
        let mode_node = po.get("mode");
        let mode = w.string(mode_node.node())?;
        if enabled != Some(false) {
            match mode {
                Some(m) => {
                    let parsed = Persistence::parse(&m.to_ascii_lowercase())
                        .map_err(|e| w.error(&mode_node.path, e))?;
                    s.persistent_browser = Some(parsed);
                }
                None if enabled == Some(true) => w.warn(
                    &mode_node.path,
                    "persistent browser enabled without a mode: ignored",
                ),
                None => {}
            }
        }
        w.finish(&po);
    }

    let cae = o.get("continuousAccessEvaluation");
    if let Some(co) = w.object(cae.node())? {
        let mode_node = co.get("mode");
        s.cae = match w.string(mode_node.node())? {
            None => CaeMode::Default,
            Some(m) if m.eq_ignore_ascii_case("disabled") => CaeMode::Disabled,
            Some(m) if m.eq_ignore_ascii_case("strictLocation") => CaeMode::StrictLocation,
            Some(m) if m.eq_ignore_ascii_case("strictEnforcement") => {
                w.warn(
                    &mode_node.path,
                    "strictEnforcement (the earlier name of strict enforcement) is read as strictLocation",
                );
                CaeMode::StrictLocation
            }
            Some(m) => {
                w.warn(&mode_node.path, format!("unknown CAE mode `{m}`: ignored"));
                CaeMode::Default
            }
        };
        w.finish(&co);
    }

    let tp = o.get("secureSignInSession");
    if let Some(to) = w.object(tp.node())? {
        s.token_protection = w.boolean(to.get("isEnabled").node())?.unwrap_or(true);
        w.finish(&to);
    }

    // Controls that change what an app shows or how outages are handled, not when users
    // authenticate: read, reported when on, not modelled.
    for key in [
        "applicationEnforcedRestrictions",
        "cloudAppSecurity",
        "globalSecureAccessFilteringProfile",
        "networkAccessSecurity",
    ] {
        let child = o.get(key);
        if let Some(co) = w.object(child.node())? {
            let enabled = w.boolean(co.get("isEnabled").node())?;
            if enabled != Some(false) && !json::is_empty_value(child.value) {
                w.warn(&child.path, "session control not modelled: ignored");
            }
            // Its other settings (cloudAppSecurityType, profileId...) belong to it.
        }
    }
    let resilience = o.get("disableResilienceDefaults");
    if w.boolean(resilience.node())? == Some(true) {
        w.warn(
            &resilience.path,
            "disabling resilience defaults only matters during an Entra outage, which is not simulated",
        );
    }
    w.finish(&o);
    Ok(s)
}

fn sign_in_frequency(
    w: &mut Walker<'_>,
    session: &Obj<'_>,
    s: &mut SessionControls,
) -> Result<(), InputError> {
    let node = session.get("signInFrequency");
    let Some(o) = w.object(node.node())? else {
        return Ok(());
    };
    let enabled = w.boolean(o.get("isEnabled").node())?;
    let interval_node = o.get("frequencyInterval");
    let interval = w.string(interval_node.node())?;
    let value_node = o.get("value");
    let value = w.integer(value_node.node())?;
    let type_node = o.get("type");
    let unit = w.string(type_node.node())?;
    let auth_node = o.get("authenticationType");
    let auth = w.string(auth_node.node())?;
    w.finish(&o);
    if enabled == Some(false) {
        return Ok(());
    }
    let sif = match interval {
        Some(i) if i.eq_ignore_ascii_case("everyTime") => Sif::EveryTime,
        Some(i) if !i.eq_ignore_ascii_case("timeBased") => {
            return Err(w.error(
                &interval_node.path,
                format!("unknown frequencyInterval `{i}`: expected timeBased or everyTime"),
            ))
        }
        _ => {
            let (Some(value), Some(unit)) = (value, unit) else {
                if enabled == Some(true) {
                    return Err(w.error(
                        node.path.as_str(),
                        "a time-based sign-in frequency needs `value` and `type` (hours or days)",
                    ));
                }
                // Exports of policies without SIF carry an all-null object.
                return Ok(());
            };
            let unit_secs = if unit.eq_ignore_ascii_case("hours") {
                crate::engine::time::HOUR
            } else if unit.eq_ignore_ascii_case("days") {
                crate::engine::time::DAY
            } else {
                return Err(w.error(
                    &type_node.path,
                    format!("unknown sign-in frequency type `{unit}`: expected hours or days"),
                ));
            };
            let secs = u64::try_from(value)
                .ok()
                .filter(|v| *v >= 1)
                .and_then(|v| v.checked_mul(unit_secs))
                .filter(|secs| *secs <= MAX_SECONDS)
                .ok_or_else(|| {
                    w.error(
                        &value_node.path,
                        format!("sign-in frequency must be a positive number of {unit}, at most 100 years; found {value}"),
                    )
                })?;
            // The same limits as a TOML `sign_in_frequency` (regression: JSON accepted a
            // 36,500-day SIF that TOML refused).
            Sif::Periodic(Duration::from_secs(secs))
                .check_entra_range()
                .map_err(|e| w.error(&value_node.path, e))?
        }
    };
    match auth {
        Some(a) if a.eq_ignore_ascii_case("secondaryAuthentication") => s.mfa_frequency = Some(sif),
        Some(a) if !a.eq_ignore_ascii_case("primaryAndSecondaryAuthentication") => {
            return Err(w.error(
                &auth_node.path,
                format!("unknown authenticationType `{a}`: expected primaryAndSecondaryAuthentication or secondaryAuthentication"),
            ))
        }
        _ => s.sign_in_frequency = Some(sif),
    }
    Ok(())
}

/// Cross-field rules Entra enforces when a policy is saved; a file can break them, so they
/// are reported, and where the docs say a control does not work, it is dropped.
fn check_consistency(
    w: &mut Walker<'_>,
    prefix: &str,
    c: &Conditions,
    grant: &GrantRead,
    session: &mut SessionControls,
) {
    let session_path = json::join(prefix, "sessionControls");
    if session.persistent_browser.is_some() && !c.resources.is_all_apps() {
        w.warn(
            &json::join(&session_path, "persistentBrowser"),
            "persistent browser session requires All resources without exclusions (howto-conditional-access-session-lifetime); applied anyway",
        );
    }
    if session.cae == CaeMode::Disabled && (!c.resources.is_all_apps() || c.has_extra_conditions())
    {
        w.warn(
            &json::join(&session_path, "continuousAccessEvaluation.mode"),
            "disabling CAE only works with All resources and no other conditions (concept-conditional-access-session); ignored",
        );
        session.cae = CaeMode::Default;
    }
    // A blocking policy's session controls do nothing, except CAE's: strict location
    // enforcement is configured exactly on a location-blocking policy
    // (concept-continuous-access-evaluation-strict-enforcement).
    let without_cae = SessionControls {
        cae: CaeMode::Default,
        ..session.clone()
    };
    if grant.block && without_cae != SessionControls::default() {
        w.warn(
            &session_path,
            "session controls on a blocking policy never take effect",
        );
    }
}
