//! `sessionsim whatif`: evaluates one sign-in against a policy set, like Entra's What If
//! tool (INTERFACE.md).
//!
//! The binary builds a [`WhatifRequest`] from its arguments; [`run`] turns the text
//! arguments into a [`SignInContext`] (bad values are [`InputError`]s naming the option),
//! loads the policies and returns a [`WhatifReport`] that renders as a table for people or
//! as the JSON object INTERFACE.md specifies. Nothing here prints.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::InputError;
use crate::policy::{
    role_id, summarize_grant, AuthFlow, GrantSummary, GuestType, LocationContext, Outcome,
    Platform, Policy, PolicySet, RiskLevel, SessionControls, SignInContext, Target, UserIdentity,
};
use crate::world::app::{App, Client, DeviceTrust};

/// What the sign-in asks for, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetArg {
    /// `--app`: an app name (`exchange`, ...) or an application id.
    App(String),
    /// `--user-action`: `urn:user:registersecurityinfo` or `urn:user:registerdevice`.
    UserAction(String),
    /// `--auth-context`: `c1` to `c25`.
    AuthContext(String),
}

/// The `whatif` arguments, as text: [`run`] validates them.
#[derive(Clone, Debug)]
pub struct WhatifRequest {
    pub policies: PathBuf,
    pub user: Option<String>,
    pub groups: Vec<String>,
    /// Role template ids or the names of [`crate::policy::ADMIN_ROLES`].
    pub roles: Vec<String>,
    pub guest: bool,
    /// `--guest-type`: the kind of guest (implies `--guest`); `b2bCollaborationGuest` when
    /// only `--guest` is given.
    pub guest_type: Option<String>,
    pub target: Option<TargetArg>,
    pub device: String,
    pub compliant: bool,
    pub client: String,
    pub platform: String,
    pub location: String,
    pub user_risk: String,
    pub sign_in_risk: String,
    /// `--auth-flow`: `device_code` or `authentication_transfer`; empty for an ordinary
    /// sign-in.
    pub auth_flow: Option<String>,
    /// `--device-attribute NAME=VALUE`: attributes for device filters.
    pub device_attributes: Vec<String>,
}

/// The name errors about arguments use in place of a file.
const COMMAND_LINE: &str = "<command line>";

fn arg_error(option: &str, message: impl Into<String>) -> InputError {
    InputError::new(COMMAND_LINE, message).field(option)
}

/// The user id used when `--user` is not given.
pub const DEFAULT_USER: &str = "whatif-user";

/// Builds the sign-in context from the text arguments.
pub fn context(req: &WhatifRequest) -> Result<SignInContext, InputError> {
    let target =
        match &req.target {
            None => return Err(InputError::new(
                COMMAND_LINE,
                "say what the sign-in is for: --app APP, --user-action URN or --auth-context cN",
            )),
            Some(TargetArg::App(text)) => parse_app(text).map_err(|m| arg_error("--app", m))?,
            Some(TargetArg::UserAction(text)) => {
                parse_user_action(text).map_err(|m| arg_error("--user-action", m))?
            }
            Some(TargetArg::AuthContext(text)) => {
                parse_auth_context(text).map_err(|m| arg_error("--auth-context", m))?
            }
        };
    let device = DeviceTrust::parse(req.device.trim()).map_err(|m| arg_error("--device", m))?;
    if req.compliant && device == DeviceTrust::Unmanaged {
        return Err(arg_error(
            "--compliant",
            "an unmanaged device has no Entra identity, so it cannot be compliant: give --device entra_joined, hybrid_joined or registered",
        ));
    }
    let clean = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Ok(SignInContext {
        user: UserIdentity {
            id: req
                .user
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .unwrap_or(DEFAULT_USER)
                .to_string(),
            groups: clean(&req.groups),
            roles: req
                .roles
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| role_id(r))
                .collect(),
            guest: match req.guest_type.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => {
                    Some(GuestType::parse(t).map_err(|m| arg_error("--guest-type", m))?)
                }
                _ if req.guest => Some(GuestType::B2bCollaborationGuest),
                _ => None,
            },
        },
        target,
        client: Client::parse(req.client.trim()).map_err(|m| arg_error("--client", m))?,
        platform: Platform::parse(&req.platform).map_err(|m| arg_error("--platform", m))?,
        location: LocationContext::parse(&req.location).map_err(|m| arg_error("--location", m))?,
        device,
        compliant: req.compliant,
        user_risk: RiskLevel::parse(req.user_risk.trim())
            .map_err(|m| arg_error("--user-risk", m))?,
        sign_in_risk: RiskLevel::parse(req.sign_in_risk.trim())
            .map_err(|m| arg_error("--sign-in-risk", m))?,
        device_attributes: req
            .device_attributes
            .iter()
            .map(|a| {
                let (k, v) = a.split_once('=').ok_or_else(|| {
                    arg_error(
                        "--device-attribute",
                        format!("`{a}`: expected NAME=VALUE, e.g. deviceOwnership=Company"),
                    )
                })?;
                let k = super::filter::attribute_name(k.trim())
                    .map_err(|m| arg_error("--device-attribute", m))?;
                Ok((k, v.trim().to_string()))
            })
            .collect::<Result<_, InputError>>()?,
        auth_flow: match req.auth_flow.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("device_code") => Some(AuthFlow::DeviceCode),
            Some("authentication_transfer") => Some(AuthFlow::AuthenticationTransfer),
            Some(other) => {
                return Err(arg_error(
                    "--auth-flow",
                    crate::world::app::unknown_name(
                        "authentication flow",
                        other,
                        &["device_code", "authentication_transfer"],
                    ),
                ))
            }
        },
    })
}

fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn parse_app(text: &str) -> Result<Target, String> {
    let text = text.trim();
    match App::parse(text) {
        Ok(app) => Ok(Target::App(app)),
        Err(_) if text.eq_ignore_ascii_case(crate::policy::AZURE_PORTAL_APP_ID) => {
            Ok(Target::App(App::AzurePortal))
        }
        Err(_) if is_guid(text) => Ok(Target::OtherApp(text.to_ascii_lowercase())),
        Err(e) => Err(format!("{e}, or an application id")),
    }
}

fn parse_user_action(text: &str) -> Result<Target, String> {
    const ACTIONS: [&str; 2] = ["urn:user:registersecurityinfo", "urn:user:registerdevice"];
    let lower = text.trim().to_ascii_lowercase();
    let full = if lower.starts_with("urn:") {
        lower
    } else {
        format!("urn:user:{lower}")
    };
    if ACTIONS.contains(&full.as_str()) {
        Ok(Target::UserAction(full))
    } else {
        Err(crate::world::app::unknown_name(
            "user action",
            text,
            &ACTIONS,
        ))
    }
}

fn parse_auth_context(text: &str) -> Result<Target, String> {
    let lower = text.trim().to_ascii_lowercase();
    let valid = lower
        .strip_prefix('c')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=25).contains(&n));
    if valid {
        Ok(Target::AuthContext(lower))
    } else {
        Err(format!(
            "unknown authentication context `{text}`: expected c1 to c25"
        ))
    }
}

/// A policy's controls as `whatif --json` shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantReport {
    pub block: bool,
    pub controls: Vec<String>,
    pub operator: &'static str,
    pub authentication_strength: Option<String>,
}

impl GrantReport {
    fn from_summary(s: &GrantSummary) -> Self {
        GrantReport {
            block: s.block,
            controls: s.controls.clone(),
            operator: s.operator.name(),
            authentication_strength: s.auth_strength.as_ref().map(|a| a.name().to_string()),
        }
    }
}

/// Session controls as `whatif --json` shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReport {
    /// `"4h"`, `"1d"`, `"every_time"`, or null.
    pub sign_in_frequency: Option<String>,
    /// The MFA-only sign-in frequency (`authenticationType: secondaryAuthentication`).
    pub mfa_frequency: Option<String>,
    pub persistent_browser: Option<&'static str>,
    pub continuous_access_evaluation: &'static str,
    pub token_protection: bool,
}

impl SessionReport {
    fn from_controls(s: &SessionControls) -> Self {
        SessionReport {
            sign_in_frequency: s.sign_in_frequency.map(|f| f.to_string()),
            mfa_frequency: s.mfa_frequency.map(|f| f.to_string()),
            persistent_browser: s.persistent_browser.map(|p| p.name()),
            continuous_access_evaluation: s.cae.name(),
            token_protection: s.token_protection,
        }
    }

    fn is_default(&self) -> bool {
        *self == SessionReport::from_controls(&SessionControls::default())
    }
}

/// A policy that applies (or would, for report-only).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    pub display_name: String,
    pub id: String,
    pub state: &'static str,
    /// Null when the policy has no grant controls.
    pub grant_controls: Option<GrantReport>,
    pub session_controls: SessionReport,
}

impl PolicyReport {
    fn new(p: &Policy) -> Self {
        let grant = summarize_grant(&[p]);
        let mut grant_report = GrantReport::from_summary(&grant);
        // One policy's own operator, even when a single control makes it moot.
        if let Some(clause) = &p.grant {
            grant_report.operator = clause.operator.name();
        }
        PolicyReport {
            display_name: p.display_name.clone(),
            id: p.id.clone(),
            state: p.state.name(),
            grant_controls: (!grant.controls.is_empty()).then_some(grant_report),
            session_controls: SessionReport::from_controls(&p.session),
        }
    }
}

/// A policy that does not apply, with the first condition that excluded it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotAppliedReport {
    pub display_name: String,
    pub id: String,
    pub reason: String,
}

/// The combined effect of the report-only policies that would apply.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WouldHaveReport {
    pub grant: GrantReport,
    pub session: SessionReport,
}

/// The sign-in that was evaluated, echoed back.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInReport {
    pub user: String,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    /// The guest type, when the user is a guest.
    pub guest: Option<&'static str>,
    pub target: String,
    pub client: &'static str,
    pub platform: &'static str,
    pub device: &'static str,
    pub compliant: bool,
    pub location: String,
    pub user_risk: &'static str,
    pub sign_in_risk: &'static str,
}

impl SignInReport {
    fn new(ctx: &SignInContext) -> Self {
        SignInReport {
            user: ctx.user.id.clone(),
            groups: ctx.user.groups.clone(),
            roles: ctx.user.roles.clone(),
            guest: ctx.user.guest.map(|g| g.name()),
            target: match &ctx.target {
                Target::App(app) => app.name().to_string(),
                Target::OtherApp(id) => id.clone(),
                Target::UserAction(a) => a.clone(),
                Target::AuthContext(c) => c.clone(),
            },
            client: ctx.client.name(),
            platform: ctx.platform.name(),
            device: ctx.device.name(),
            compliant: ctx.compliant,
            location: match (&ctx.location.named_location, ctx.location.trusted) {
                (Some(id), true) => format!("{id} (trusted)"),
                (Some(id), false) => format!("{id} (untrusted)"),
                (None, true) => "trusted".into(),
                (None, false) => "untrusted".into(),
            },
            user_risk: ctx.user_risk.name(),
            sign_in_risk: ctx.sign_in_risk.name(),
        }
    }
}

/// The answer: INTERFACE.md's keys first, then extensions (`wouldHave`, `signIn`,
/// `warnings`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatifReport {
    pub applied: Vec<PolicyReport>,
    pub report_only: Vec<PolicyReport>,
    pub not_applied: Vec<NotAppliedReport>,
    /// The combined grant of the enforced policies.
    pub grant: GrantReport,
    /// The combined session controls of the enforced policies.
    pub session: SessionReport,
    /// What the report-only policies would add, combined among themselves.
    pub would_have: WouldHaveReport,
    pub sign_in: SignInReport,
    /// Load warnings (also printed on stderr by the binary).
    pub warnings: Vec<String>,
}

/// Parses the arguments, loads the policies and evaluates the sign-in.
pub fn run(req: &WhatifRequest) -> Result<WhatifReport, InputError> {
    let ctx = context(req)?;
    let (set, mut warnings) = PolicySet::load(&req.policies)?;
    check_names(req, &ctx, &set, &mut warnings)?;
    Ok(evaluate(&set, &ctx, warnings))
}

/// The ids the policies name, lower-case.
#[derive(Default)]
struct Named {
    users: std::collections::BTreeSet<String>,
    groups: std::collections::BTreeSet<String>,
    roles: std::collections::BTreeSet<String>,
    locations: std::collections::BTreeSet<String>,
}

fn named(set: &PolicySet) -> Named {
    use crate::policy::conditions::LocationSel;
    let mut n = Named::default();
    for p in &set.policies {
        let u = &p.conditions.users;
        n.users
            .extend(u.include_users.iter().chain(&u.exclude_users).cloned());
        n.groups
            .extend(u.include_groups.iter().chain(&u.exclude_groups).cloned());
        n.roles
            .extend(u.include_roles.iter().chain(&u.exclude_roles).cloned());
        let l = &p.conditions.locations;
        for sel in l.include.iter().chain(&l.exclude) {
            if let LocationSel::Named(id) = sel {
                n.locations.insert(id.to_ascii_lowercase());
            }
        }
    }
    n
}

/// At most this many ids listed in a message.
const LISTED: usize = 10;

fn listed(ids: &std::collections::BTreeSet<String>) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    let shown: Vec<&str> = ids.iter().take(LISTED).map(String::as_str).collect();
    let more = ids.len().saturating_sub(LISTED);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Refuses a `--location` or `--roles` value that is neither a known name nor an id
/// (issue 35: `--location untrustd` was taken as a trusted named location and
/// `--roles global_admin` as a role id, so policies silently stopped applying), and
/// warns about ids no policy names.
fn check_names(
    req: &WhatifRequest,
    ctx: &SignInContext,
    set: &PolicySet,
    warnings: &mut Vec<String>,
) -> Result<(), InputError> {
    let named = named(set);
    if let Some(id) = &ctx.location.named_location {
        let lower = id.to_ascii_lowercase();
        if !named.locations.contains(&lower) {
            if !is_guid(id) {
                let mut msg = format!(
                    "`{}` is not a location: give `trusted`, `untrusted`, or a named location id (a GUID, or `untrusted:ID` for a location not marked trusted); the policies name {}",
                    crate::error::clip(req.location.trim(), 100),
                    listed(&named.locations)
                );
                if let Some(best) =
                    crate::world::app::did_you_mean(req.location.trim(), &["trusted", "untrusted"])
                {
                    msg.push_str(&format!("; did you mean `{best}`?"));
                }
                return Err(arg_error("--location", msg));
            }
            warnings.push(format!(
                "--location: no policy names the location `{id}`, so it counts only as {} (the policies name {})",
                if ctx.location.trusted { "a trusted location" } else { "an untrusted location" },
                listed(&named.locations)
            ));
        }
    }
    let role_names: Vec<String> = crate::policy::ADMIN_ROLES
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase().replace(' ', "_"))
        .collect();
    for (text, id) in req
        .roles
        .iter()
        .filter(|r| !r.trim().is_empty())
        .zip(&ctx.user.roles)
    {
        let known = crate::policy::ADMIN_ROLES.iter().any(|(_, rid)| rid == id);
        if !known && !is_guid(id) {
            let names: Vec<&str> = role_names.iter().map(String::as_str).collect();
            let lower = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
            let hint = names
                .iter()
                .find(|n| n.starts_with(&lower))
                .copied()
                .or_else(|| crate::world::app::did_you_mean(&lower, &names));
            return Err(arg_error(
                "--roles",
                format!(
                    "`{}` is not a directory role: give a role template id (a GUID) or one of {}{}",
                    crate::error::clip(text.trim(), 100),
                    names.join(", "),
                    hint.map_or(String::new(), |h| format!("; did you mean `{h}`?"))
                ),
            ));
        }
        if !named.roles.contains(id) {
            warnings.push(format!(
                "--roles: no policy includes or excludes the role `{}` ({id}); it changes nothing here",
                text.trim()
            ));
        }
    }
    for g in &ctx.user.groups {
        if !named.groups.contains(g) {
            warnings.push(format!(
                "--groups: no policy includes or excludes the group `{g}`; check the id (it changes nothing here)"
            ));
        }
    }
    if req.user.as_deref().is_some_and(|u| !u.trim().is_empty())
        && !named.users.is_empty()
        && !named.users.contains(&ctx.user.id.to_ascii_lowercase())
    {
        warnings.push(format!(
            "--user: no policy names the user `{}`; only policies for all users (or for its groups and roles) apply",
            ctx.user.id
        ));
    }
    Ok(())
}

/// Evaluates an already-loaded set.
pub fn evaluate(set: &PolicySet, ctx: &SignInContext, warnings: Vec<String>) -> WhatifReport {
    let mut applied = Vec::new();
    let mut report_only = Vec::new();
    let mut not_applied = Vec::new();
    for v in set.explain(ctx) {
        match v.outcome {
            Outcome::Applied => applied.push(v.policy),
            Outcome::ReportOnly => report_only.push(v.policy),
            Outcome::NotApplied(reason) => not_applied.push(NotAppliedReport {
                display_name: v.policy.display_name.clone(),
                id: v.policy.id.clone(),
                reason,
            }),
        }
    }
    let eval = set.evaluate(ctx);
    WhatifReport {
        grant: GrantReport::from_summary(&summarize_grant(&applied)),
        session: SessionReport::from_controls(&eval.enforced.session),
        would_have: WouldHaveReport {
            grant: GrantReport::from_summary(&summarize_grant(&report_only)),
            session: SessionReport::from_controls(&eval.report_only.session),
        },
        applied: applied.iter().map(|p| PolicyReport::new(p)).collect(),
        report_only: report_only.iter().map(|p| PolicyReport::new(p)).collect(),
        not_applied,
        sign_in: SignInReport::new(ctx),
        warnings,
    }
}

impl WhatifReport {
    /// The JSON object, pretty-printed, keys in INTERFACE.md's order.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let s = &self.sign_in;
        let mut who = format!("user {}", s.user);
        if !s.groups.is_empty() {
            who.push_str(&format!(", groups {}", s.groups.join(",")));
        }
        if !s.roles.is_empty() {
            who.push_str(&format!(", roles {}", s.roles.join(",")));
        }
        if let Some(g) = s.guest {
            who.push_str(&format!(", guest ({g})"));
        }
        let _ = writeln!(out, "Sign-in: {who}");
        let _ = writeln!(
            out,
            "  to {} with {} on {}, {} device{}, {} location, user risk {}, sign-in risk {}",
            s.target,
            s.client,
            s.platform,
            s.device,
            if s.compliant { " (compliant)" } else { "" },
            s.location,
            s.user_risk,
            s.sign_in_risk
        );

        let width = self
            .applied
            .iter()
            .chain(&self.report_only)
            .map(|p| p.display_name.chars().count())
            .chain(
                self.not_applied
                    .iter()
                    .map(|p| p.display_name.chars().count()),
            )
            .max()
            .unwrap_or(0)
            .min(60);
        let policy_rows = |out: &mut String, title: &str, list: &[PolicyReport]| {
            let _ = writeln!(out, "\n{title} ({}):", list.len());
            if list.is_empty() {
                let _ = writeln!(out, "  none");
            }
            for p in list {
                let _ = writeln!(
                    out,
                    "  {:<width$}  grant: {}; session: {}",
                    p.display_name,
                    p.grant_controls.as_ref().map_or("none".into(), grant_text),
                    session_text(&p.session_controls)
                );
            }
        };
        policy_rows(&mut out, "Applied", &self.applied);
        policy_rows(&mut out, "Report-only, would apply", &self.report_only);
        let _ = writeln!(out, "\nNot applied ({}):", self.not_applied.len());
        if self.not_applied.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for p in &self.not_applied {
            let _ = writeln!(out, "  {:<width$}  {}", p.display_name, p.reason);
        }
        let _ = writeln!(out, "\nResult:");
        let _ = writeln!(out, "  grant:   {}", grant_text(&self.grant));
        let _ = writeln!(out, "  session: {}", session_text(&self.session));
        if !self.report_only.is_empty() {
            let _ = writeln!(
                out,
                "  report-only would add: grant {}; session {}",
                grant_text(&self.would_have.grant),
                session_text(&self.would_have.session)
            );
        }
        out
    }
}

fn grant_text(g: &GrantReport) -> String {
    if g.block {
        return "block".into();
    }
    if g.controls.is_empty() {
        return "none (access granted)".into();
    }
    let sep = format!(" {} ", g.operator);
    let mut text = g.controls.join(&sep);
    if let Some(strength) = &g.authentication_strength {
        text.push_str(&format!(" [strength {strength}]"));
    }
    text
}

fn session_text(s: &SessionReport) -> String {
    if s.is_default() {
        return "defaults".into();
    }
    let mut parts = Vec::new();
    if let Some(f) = &s.sign_in_frequency {
        parts.push(format!("sign-in frequency {f}"));
    }
    if let Some(f) = &s.mfa_frequency {
        parts.push(format!("MFA frequency {f}"));
    }
    if let Some(p) = s.persistent_browser {
        parts.push(format!("persistent browser {p}"));
    }
    if s.continuous_access_evaluation != "default" {
        parts.push(format!("CAE {}", s.continuous_access_evaluation));
    }
    if s.token_protection {
        parts.push("token protection".into());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: TargetArg) -> WhatifRequest {
        WhatifRequest {
            policies: PathBuf::from("unused.json"),
            user: None,
            groups: vec![],
            roles: vec!["Global Administrator".into()],
            guest: false,
            guest_type: None,
            target: Some(target),
            device: "unmanaged".into(),
            compliant: false,
            client: "browser".into(),
            platform: "windows".into(),
            location: "untrusted".into(),
            user_risk: "none".into(),
            sign_in_risk: "none".into(),
            auth_flow: None,
            device_attributes: Vec::new(),
        }
    }

    #[test]
    fn arguments_become_a_context() {
        let ctx = context(&request(TargetArg::App("azure_portal".into()))).unwrap();
        assert_eq!(ctx.target, Target::App(App::AzurePortal));
        assert_eq!(
            ctx.user.roles,
            vec!["62e90394-69f5-4237-9190-012177145e10".to_string()]
        );
        assert_eq!(ctx.user.id, DEFAULT_USER);
        let ctx = context(&request(TargetArg::App(
            "11111111-2222-3333-4444-555555555555".into(),
        )))
        .unwrap();
        assert!(matches!(ctx.target, Target::OtherApp(_)));
        let ctx = context(&request(TargetArg::UserAction(
            "registersecurityinfo".into(),
        )))
        .unwrap();
        assert_eq!(
            ctx.target,
            Target::UserAction("urn:user:registersecurityinfo".into())
        );
        let ctx = context(&request(TargetArg::AuthContext("C1".into()))).unwrap();
        assert_eq!(ctx.target, Target::AuthContext("c1".into()));
    }

    #[test]
    fn bad_arguments_name_the_option() {
        let e = context(&request(TargetArg::App("sharepont".into()))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("--app"));
        assert!(
            e.message.contains("did you mean `sharepoint`"),
            "{}",
            e.message
        );
        let e = context(&request(TargetArg::AuthContext("c26".into()))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("--auth-context"));
        let mut r = request(TargetArg::App("exchange".into()));
        r.compliant = true;
        assert_eq!(
            context(&r).unwrap_err().field.as_deref(),
            Some("--compliant")
        );
        r.compliant = false;
        r.platform = "amiga".into();
        assert_eq!(
            context(&r).unwrap_err().field.as_deref(),
            Some("--platform")
        );
        r.platform = "windows".into();
        r.target = None;
        assert!(context(&r).unwrap_err().message.contains("--app"));
    }
}
