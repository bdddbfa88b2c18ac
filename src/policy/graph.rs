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

use super::conditions::{Conditions, LocationSel};
use super::graph_conditions::conditions;
use super::json::{self, Node, Obj, Walker};
use super::known;
use super::{
    AuthStrength, CaeMode, Combos, GrantClause, GrantControl, GrantSet, Operator, Persistence,
    Policy, PolicyState, SessionControls, Sif,
};

/// Longest display name kept whole; the Entra admin center accepts 256 characters.
const MAX_DISPLAY_NAME: usize = 256;

/// How a folder of exports is loaded.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Skip (and count) files that fail to load, instead of failing on the first.
    pub skip_invalid: bool,
}

/// What loading a file or folder found, file by file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Files whose policies were loaded.
    pub loaded: usize,
    /// Authentication-strength exports used to resolve custom strengths.
    pub strengths: usize,
    /// Files that hold something else, and what.
    pub skipped: Vec<(PathBuf, String)>,
    /// Files that failed to load (with `skip_invalid`), and why.
    pub failed: Vec<InputError>,
}

/// What a JSON document holds, judged from its first object.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DocKind {
    Policies,
    Strengths,
    /// Not for us: a group, a named location, an ARM template, ...
    Other(String),
}

/// The objects a document lists: itself, an array's items, or a list response's `value`.
fn items(doc: &Value) -> Vec<&Value> {
    match doc {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m)
            if m.get("value").is_some_and(Value::is_array) && !m.contains_key("conditions") =>
        {
            m["value"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        }
        other => vec![other],
    }
}

fn classify(doc: &Value) -> DocKind {
    if let Value::Object(m) = doc {
        let schema = m.get("$schema").and_then(Value::as_str).unwrap_or_default();
        if schema.contains("deploymentTemplate")
            || (m.contains_key("resources") && m.contains_key("contentVersion"))
        {
            return DocKind::Other("an Azure Resource Manager template".into());
        }
    }
    let Some(first) = items(doc).into_iter().find(|v| v.is_object()) else {
        // An empty list, or nulls: let the policy parser say what it is.
        return DocKind::Policies;
    };
    let Value::Object(m) = first else {
        return DocKind::Policies;
    };
    let ty = m
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let has = |k: &str| m.contains_key(k);
    if ty.ends_with("conditionalaccesspolicy")
        || has("conditions")
        || has("grantControls")
        || has("sessionControls")
    {
        DocKind::Policies
    } else if ty.ends_with("authenticationstrengthpolicy") || has("allowedCombinations") {
        DocKind::Strengths
    } else if ty.ends_with(".group") || has("groupTypes") || has("securityEnabled") {
        DocKind::Other("group objects".into())
    } else if ty.contains("namedlocation") || has("ipRanges") || has("countriesAndRegions") {
        DocKind::Other("named locations".into())
    } else if has("state") || has("displayName") || has("id") {
        // Looks like a policy with its conditions missing: the parser names what is wrong.
        DocKind::Policies
    } else {
        let keys: Vec<&str> = m.keys().map(String::as_str).take(5).collect();
        let keys = keys.join(", ");
        // Export tools wrap a policy in their own record ({"ExportDate": ..,
        // "PolicyConfig": {policy}}): point at it rather than only refuse.
        let is_policy = |v: &Value| v.get("conditions").is_some_and(Value::is_object);
        let wrapped = m
            .iter()
            .find(|(_, v)| is_policy(v) || v.as_array().is_some_and(|a| a.iter().any(is_policy)));
        DocKind::Other(match wrapped {
            Some((key, _)) => {
                let path = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!(".{key}")
                } else {
                    format!(".[{}]", Value::from(key.as_str()))
                };
                format!(
                    "an object with keys {keys}, whose policy is under `{key}` (give sessionsim that value, e.g. `jq '{path}' FILE`)"
                )
            }
            None => format!("an object with keys {keys}"),
        })
    }
}

/// The authentication strengths of a strengths export.
fn strengths_of(file: &Path, doc: &Value, warnings: &mut Vec<String>) -> Vec<AuthStrength> {
    let mut out = Vec::new();
    for (i, item) in items(doc).into_iter().enumerate() {
        let Value::Object(m) = item else { continue };
        let id = m.get("id").and_then(Value::as_str);
        let name = m
            .get("displayName")
            .and_then(Value::as_str)
            .or(id)
            .unwrap_or("(unnamed)");
        let mut allowed = Combos::NONE;
        for c in m
            .get("allowedCombinations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            match Combos::parse(c) {
                Some(x) => allowed = allowed.union(x),
                None => warnings.push(format!(
                    "{}: [{i}].allowedCombinations: unknown authentication method combination `{c}`",
                    file.display()
                )),
            }
        }
        out.push(AuthStrength {
            name: name.to_string(),
            id: id.map(str::to_string),
            allowed,
            resolved: true,
        });
    }
    out
}

/// Loads a policy file, or a folder of exports (recursively, in path order so the set's
/// order, and every result that depends on it, is the same on every machine). In a
/// folder, files that hold something else (groups, named locations, ARM templates) are
/// skipped and reported, authentication-strength exports resolve custom strengths, and a
/// file that fails to load is an error unless `skip_invalid`. Returns the policies, the
/// warnings (grouped: one line per kind of warning) and what each file came to.
pub(crate) fn load(
    path: &Path,
    options: LoadOptions,
) -> Result<(Vec<Policy>, Vec<String>, LoadReport), InputError> {
    let mut warnings = Vec::new();
    let mut report = LoadReport::default();
    let mut policies = Vec::new();
    let mut strengths = Vec::new();
    if path.is_dir() {
        let files = json_files(path)?;
        for file in files {
            // Parsed once, and the text dropped before the policies are read from the
            // tree: a big file's peak memory is its tree, not three copies.
            let loaded = read_policy_text(&file).and_then(|text| {
                let doc = json::parse_document(&file, &text)?;
                Ok((classify(&doc), doc))
            });
            let outcome = loaded.and_then(|(kind, doc)| match kind {
                DocKind::Policies => parse_doc(&file, &doc, &mut warnings).map(|p| {
                    report.loaded += 1;
                    policies.extend(p);
                }),
                DocKind::Strengths => {
                    report.strengths += 1;
                    strengths.extend(strengths_of(&file, &doc, &mut warnings));
                    Ok(())
                }
                DocKind::Other(what) => {
                    report.skipped.push((file.clone(), what));
                    Ok(())
                }
            });
            if let Err(e) = outcome {
                if options.skip_invalid {
                    report.failed.push(e);
                } else {
                    return Err(e);
                }
            }
        }
        if report.loaded == 0 && report.failed.is_empty() {
            return Err(InputError::new(
                path,
                format!(
                    "the folder holds no Conditional Access policy file ({} other JSON files skipped)",
                    report.skipped.len()
                ),
            ));
        }
    } else {
        let text = read_policy_text(path)?;
        let doc = json::parse_document(path, &text)?;
        drop(text);
        if let DocKind::Other(what) = classify(&doc) {
            return Err(InputError::new(
                path,
                format!("not a Conditional Access policy file: it holds {what}"),
            ));
        }
        policies = parse_doc(path, &doc, &mut warnings)?;
        report.loaded = 1;
    }
    resolve_strengths(&mut policies, &strengths, &mut warnings);
    duplicate_ids(path, &policies, &mut warnings);
    Ok((policies, group_warnings(warnings), report))
}

/// Largest policy export read: Entra holds at most 195 policies, well under 1 MB as
/// exported; a file far bigger is not an export, and reading it would cost about 14 times
/// its size (issue 35: a 60 MB file took 1.9 GB).
pub const MAX_POLICY_BYTES: u64 = 16 << 20;

/// A policy file's text, refused beyond [`MAX_POLICY_BYTES`] before it is read.
fn read_policy_text(path: &Path) -> Result<String, InputError> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_POLICY_BYTES {
        return Err(InputError::new(
            path,
            format!(
                "{} MiB: a policy export is far smaller (Entra holds at most 195 policies, under 1 MB as exported); files over {} MiB are not read",
                len >> 20,
                MAX_POLICY_BYTES >> 20
            ),
        ));
    }
    read_text(path)
}

/// The `.json` files under a folder, recursively (hidden folders and links to folders are
/// not followed), sorted by path.
pub(crate) fn json_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| InputError::new(&d, format!("cannot read the folder: {e}")))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| InputError::new(&d, format!("cannot read the folder: {e}")))?;
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if kind.is_dir() && !hidden {
                pending.push(path);
            } else if kind.is_file()
                && path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        return Err(InputError::new(
            dir,
            "the folder holds no .json policy files",
        ));
    }
    files.sort();
    Ok(files)
}

/// Separates the parts of a warning a policy walker writes (file, policy, the rest), so
/// that repeated warnings can be grouped.
pub(crate) const PART: char = '\u{1f}';

/// One line per kind of warning: a warning repeated across policies or files (the same
/// field and message) is printed once, with how many times it occurred and where first.
pub(crate) fn group_warnings(warnings: Vec<String>) -> Vec<String> {
    // Array indices differ between copies of one kind of warning: `value[12]` → `value[]`.
    let kind = |text: &str| -> String {
        let mut out = String::with_capacity(text.len());
        let mut in_index = false;
        for c in text.chars() {
            match c {
                '[' => {
                    in_index = true;
                    out.push(c);
                }
                ']' => {
                    in_index = false;
                    out.push(c);
                }
                c if in_index && c.is_ascii_digit() => {}
                c => {
                    in_index = false;
                    out.push(c);
                }
            }
        }
        out
    };
    let mut order: Vec<String> = Vec::new();
    let mut groups: std::collections::HashMap<String, (usize, String)> = Default::default();
    for w in warnings {
        let parts: Vec<&str> = w.split(PART).collect();
        let (display, key) = match parts[..] {
            [file, policy, rest] => (format!("{file}: policy {policy}: {rest}"), kind(rest)),
            _ => (w.clone(), kind(&w)),
        };
        match groups.get_mut(&key) {
            Some((n, _)) => *n += 1,
            None => {
                order.push(key.clone());
                groups.insert(key, (1, display));
            }
        }
    }
    order
        .into_iter()
        .map(|k| {
            let (n, first) = &groups[&k];
            if *n == 1 {
                first.clone()
            } else {
                format!("{first} (and {} more like it)", n - 1)
            }
        })
        .collect()
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
    parse_doc(file, &doc, warnings)
}

/// The policies of a parsed document (one policy, an array, or a list response).
fn parse_doc(
    file: &Path,
    doc: &Value,
    warnings: &mut Vec<String>,
) -> Result<Vec<Policy>, InputError> {
    let mut out = Vec::new();
    match doc {
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
        Value::Object(_) => out.extend(policy(file, doc, "", 0, warnings)?),
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

/// `authenticationStrength`: a built-in id, or a custom strength read from its
/// `allowedCombinations` (concept-authentication-strengths). A custom strength whose
/// combinations the export does not carry stays unresolved until a strengths export in the
/// same folder resolves it ([`resolve_strengths`]).
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
    let combos_node = o.get("allowedCombinations");
    let combos = w.strings(combos_node.node())?;
    // The strength object repeats the whole authenticationStrengthPolicy (timestamps,
    // policyType, combinationConfigurations, ...): none of it matters beyond the above, so
    // its other fields are not reported as unknown.
    if let Some(builtin) = id.and_then(known::builtin_strength) {
        return Ok(Some(builtin));
    }
    if id.is_none() && name.is_none() && combos.is_empty() {
        return Ok(None);
    }
    let label = name.or(id).unwrap_or("(unnamed)").to_string();
    if combos.is_empty() {
        return Ok(Some(AuthStrength {
            name: label,
            id: id.map(str::to_string),
            allowed: Combos::WINDOWS_HELLO.union(Combos::FIDO2),
            resolved: false,
        }));
    }
    Ok(Some(AuthStrength {
        name: label,
        id: id.map(str::to_string),
        allowed: combinations(w, &combos),
        resolved: true,
    }))
}

/// The simulated combinations among Graph `allowedCombinations`, warning about entries that
/// name no known method mode.
fn combinations(w: &mut Walker<'_>, combos: &[(&str, String)]) -> Combos {
    let mut allowed = Combos::NONE;
    for (text, path) in combos {
        match Combos::parse(text) {
            Some(c) => allowed = allowed.union(c),
            None => w.warn(
                path,
                format!("unknown authentication method combination `{text}`: no simulated user presents it"),
            ),
        }
    }
    allowed
}

/// Resolves custom authentication strengths that the policies name only by id, from the
/// `authenticationStrengthPolicy` objects of a strengths export; those still unresolved
/// get one warning each, naming what they fall back to.
pub(crate) fn resolve_strengths(
    policies: &mut [Policy],
    strengths: &[AuthStrength],
    warnings: &mut Vec<String>,
) {
    let mut reported: Vec<String> = Vec::new();
    for p in policies {
        let Some(clause) = p.grant.as_mut() else {
            continue;
        };
        let Some(s) = clause.auth_strength.as_mut() else {
            continue;
        };
        if s.resolved {
            continue;
        }
        let found = strengths.iter().find(|k| {
            k.id.is_some()
                && k.id.as_deref().map(str::to_ascii_lowercase)
                    == s.id.as_deref().map(str::to_ascii_lowercase)
        });
        match found {
            Some(k) => {
                s.allowed = k.allowed;
                s.resolved = true;
            }
            None if !reported.contains(&s.name) => {
                reported.push(s.name.clone());
                warnings.push(format!(
                    "custom authentication strength \"{}\" (policy \"{}\"): the export does not list its allowedCombinations; it is taken to allow only phishing-resistant methods (Windows Hello, FIDO2) until you add its authenticationStrengthPolicy export (GET /identity/conditionalAccess/authenticationStrength/policies) to the policy folder",
                    s.name, p.display_name
                ));
            }
            None => {}
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
    // A location block that excludes nothing blocks everywhere: the shape of an allow-list
    // whose named locations were stripped before publishing (Jhope188's "Countries not
    // Allowed"), which denies every access the policy's users make.
    if grant.block && c.locations.include == [LocationSel::All] && c.locations.exclude.is_empty() {
        w.warn(
            &json::join(prefix, "conditions.locations"),
            "blocks from every location: includeLocations is All and excludeLocations is empty, so no place is allowed (an allow-list whose named locations were removed?)",
        );
    }
}
