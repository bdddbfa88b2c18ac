//! Scripted single-user scenarios (`models/scenarios/*.toml`) and the `trace` command.
//!
//! A scenario names one user's device, client and policies, then lists steps at scenario
//! times. `trace` runs them through the session model and prints one CSV row per
//! evaluation (INTERFACE.md, "Trace output").

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::engine::time::{parse_duration, parse_time, SimTime};
use crate::error::{line_col, read_text, InputError};
use crate::model::{
    Action, Artefact, Attempt, Credential, Facts, Mechanism, MfaMethod, ModelParams, Profile,
    Protected, Record, RuleTable, TenantSettings, TokenMode, UserSetup, UserSim,
};
use crate::policy::{
    GuestType, LocationContext, Persistence, Platform, PolicySet, RiskLevel, Sif, UserIdentity,
};
use crate::world::app::{unknown_name, App, Client, DeviceTrust};

/// The step actions a scenario accepts (INTERFACE.md), plus the risk extensions.
pub const STEP_NAMES: &[&str] = &[
    "sign_in",
    "use",
    "background",
    "lock",
    "unlock",
    "open_browser",
    "close_browser",
    "open",
    "password_change",
    "password_reset",
    "revoke_sessions",
    "revoke_mfa_sessions",
    "disable_account",
    "user_risk",
    "sign_in_risk",
    "disable_device",
    "steal",
    "attacker_use",
    "aitm",
    "infostealer",
    "push_bombing",
    "device_code",
    "device_compromise",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    description: Option<String>,
    device: Spanned<String>,
    #[serde(default)]
    compliant: bool,
    #[serde(default)]
    client: Option<Spanned<String>>,
    #[serde(default)]
    credential: Option<Spanned<String>>,
    #[serde(default)]
    mfa_method: Option<Spanned<String>>,
    #[serde(default)]
    platform: Option<Spanned<String>>,
    #[serde(default)]
    location: Option<Spanned<String>>,
    #[serde(default)]
    sign_in_frequency: Option<Spanned<String>>,
    #[serde(default)]
    persistent_browser: Option<Spanned<String>>,
    #[serde(default)]
    policies: Option<Spanned<String>>,
    #[serde(default)]
    access_token_lifetime: Option<Spanned<String>>,
    /// Attributes of the device for device filters (`deviceOwnership = "Company"`, ...).
    #[serde(default)]
    device_attributes: std::collections::BTreeMap<String, String>,
    #[serde(default = "default_true")]
    kmsi_accept: bool,
    /// Ticks "Don't ask again for X days" when the tenant remembers MFA.
    #[serde(default = "default_true")]
    remember_mfa_accept: bool,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    user: RawUser,
    #[serde(default)]
    tenant: TenantSettings,
    #[serde(default)]
    model: ModelParams,
    #[serde(default)]
    step: Vec<RawStep>,
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUser {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    /// A guest: `true` (a B2B collaboration guest) or a Graph guest type name.
    #[serde(default)]
    guest: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Spanned<String>,
    #[serde(rename = "do")]
    action: Spanned<String>,
    #[serde(default)]
    app: Option<Spanned<String>>,
    #[serde(default)]
    until: Option<Spanned<String>>,
    #[serde(default)]
    client: Option<Spanned<String>>,
    #[serde(default)]
    auth_context: Option<Spanned<String>>,
    #[serde(default)]
    user_action: Option<Spanned<String>>,
    #[serde(default)]
    artefact: Option<Spanned<String>>,
    #[serde(default)]
    level: Option<Spanned<String>>,
    #[serde(default)]
    trusted_ip: Option<bool>,
    /// Infostealer and device compromise: the device's keys are in a TPM (default true).
    #[serde(default)]
    tpm: Option<bool>,
}

/// A parsed, validated scenario.
#[derive(Debug)]
pub struct Scenario {
    pub path: PathBuf,
    pub description: Option<String>,
    pub setup: UserSetup,
    pub profile: Profile,
    pub params: ModelParams,
    pub policies: PolicySet,
    pub seed: u64,
    pub steps: Vec<(SimTime, Action)>,
    /// Legal but suspicious settings, for stderr.
    pub warnings: Vec<String>,
}

/// Builds errors that point at a span of the scenario file.
struct Ctx<'a> {
    path: &'a Path,
    source: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, spanned: &Spanned<T>, field: &str, message: impl Into<String>) -> InputError {
        let (line, col) = line_col(self.source, spanned.span().start);
        InputError::new(self.path, message)
            .position(format!("{line}:{col}"))
            .field(field)
    }

    fn parse<T, E: std::fmt::Display>(
        &self,
        spanned: &Spanned<String>,
        field: &str,
        f: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, InputError> {
        f(spanned.get_ref()).map_err(|e| self.err(spanned, field, e.to_string()))
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, InputError> {
        let source = read_text(path)?;
        Scenario::parse(path, &source)
    }

    /// Validates scenario text; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, source: &str) -> Result<Scenario, InputError> {
        let raw: RawScenario =
            toml::from_str(source).map_err(|e| InputError::from_toml(path, source, &e))?;
        let cx = Ctx { path, source };
        let mut warnings = Vec::new();

        let device = cx.parse(&raw.device, "device", DeviceTrust::parse)?;
        let client = match &raw.client {
            Some(c) => cx.parse(c, "client", Client::parse)?,
            None => Client::Browser,
        };
        let credential = match &raw.credential {
            Some(c) => cx.parse(c, "credential", Credential::parse)?,
            None => Credential::Password,
        };
        if credential == Credential::WindowsHello && device == DeviceTrust::Unmanaged {
            let c = raw
                .credential
                .as_ref()
                .map(|c| cx.err(c, "credential", ""))
                .map(|e| e.position);
            return Err(InputError::new(
                path,
                "Windows Hello for Business needs a joined, hybrid-joined or registered device",
            )
            .field("credential")
            .position(c.flatten().unwrap_or_default()));
        }
        let mfa_method = match &raw.mfa_method {
            Some(m) => cx.parse(m, "mfa_method", MfaMethod::parse)?,
            None => MfaMethod::Push,
        };
        let platform = match &raw.platform {
            Some(p) => cx.parse(p, "platform", parse_platform)?,
            None => Platform::Windows,
        };
        let location = match &raw.location {
            Some(l) => cx.parse(l, "location", parse_location)?,
            None => LocationContext {
                trusted: true,
                named_location: None,
            },
        };
        let tokens = match &raw.access_token_lifetime {
            Some(t) => {
                let d = cx.parse(t, "access_token_lifetime", parse_duration)?;
                if d.is_zero() {
                    return Err(cx.err(t, "access_token_lifetime", "must be longer than zero"));
                }
                TokenMode::Fixed(d)
            }
            None => TokenMode::Idealised,
        };
        raw.model
            .check()
            .map_err(|(field, msg)| InputError::new(path, msg).field(format!("model.{field}")))?;

        let sif = match &raw.sign_in_frequency {
            Some(s) => {
                let sif = cx.parse(s, "sign_in_frequency", Sif::parse)?;
                let sif = sif
                    .check_entra_range()
                    .map_err(|e| cx.err(s, "sign_in_frequency", e))?;
                if sif == Sif::Periodic(crate::engine::time::Duration::ZERO) {
                    return Err(cx.err(
                        s,
                        "sign_in_frequency",
                        "must be longer than zero (or `every_time`)",
                    ));
                }
                Some(sif)
            }
            None => None,
        };
        let persistent = match &raw.persistent_browser {
            Some(p) => Some(cx.parse(p, "persistent_browser", Persistence::parse)?),
            None => None,
        };
        let policies = match &raw.policies {
            Some(p) => {
                if sif.is_some() || persistent.is_some() {
                    return Err(cx.err(
                        p,
                        "policies",
                        "give either `policies` or the `sign_in_frequency`/`persistent_browser` shorthand, not both",
                    ));
                }
                let file = resolve(path, p.get_ref());
                let (set, policy_warnings) =
                    load_policy_set(&file).map_err(|e| e.referenced_by(path, "policies"))?;
                warnings.extend(policy_warnings);
                set
            }
            None => PolicySet::shorthand(sif, persistent),
        };
        if !raw.tenant.remember_mfa.is_zero() && (sif.is_some() || raw.policies.is_some()) {
            warnings.push(format!(
                "{}: remember MFA ({}) together with sign-in frequency policies may prompt users unexpectedly; Microsoft advises turning remember MFA off first",
                path.display(),
                raw.tenant.remember_mfa
            ));
        }

        let steps = parse_steps(&cx, &raw.step, client)?;
        let identity = UserIdentity {
            id: raw.user.id.unwrap_or_else(|| "user@contoso.example".into()),
            groups: raw.user.groups,
            roles: raw.user.roles,
            guest: match &raw.user.guest {
                None | Some(toml::Value::Boolean(false)) => None,
                Some(toml::Value::Boolean(true)) => Some(GuestType::B2bCollaborationGuest),
                Some(toml::Value::String(t)) => Some(
                    GuestType::parse(t)
                        .map_err(|e| InputError::new(path, e).field("user.guest"))?,
                ),
                Some(_) => {
                    return Err(InputError::new(
                        path,
                        "`guest` is true, false or a guest type such as \"serviceProvider\"",
                    )
                    .field("user.guest"))
                }
            },
        };
        Ok(Scenario {
            path: path.to_path_buf(),
            description: raw.description,
            setup: UserSetup {
                device,
                credential,
                kmsi_accept: raw.kmsi_accept,
                remember_mfa_accept: raw.remember_mfa_accept,
                guest: identity.guest.is_some(),
                tenant: raw.tenant,
                tokens,
            },
            profile: Profile {
                identity,
                facts: Facts {
                    device,
                    compliant: raw.compliant,
                    mfa_method,
                    credential,
                },
                platform,
                location,
                device_attributes: raw
                    .device_attributes
                    .iter()
                    .map(|(k, v)| {
                        crate::policy::attribute_name(k)
                            .map(|k| (k, v.clone()))
                            .map_err(|e| {
                                InputError::new(path, e).field(format!("device_attributes.{k}"))
                            })
                    })
                    .collect::<Result<_, _>>()?,
            },
            params: raw.model,
            policies,
            seed: raw.seed,
            steps,
            warnings,
        })
    }

    /// Runs the scenario and returns every evaluation in time order.
    pub fn run(&self) -> Vec<Record> {
        let rules = RuleTable::new(self.profile.clone(), &self.policies);
        let rng = UserSim::rng_from_seed(self.seed);
        let mut sim = UserSim::new(&self.params, &rules, self.setup.clone(), rng);
        for (at, action) in &self.steps {
            // Steps are validated to be in time order before the run starts, and the queue
            // is at time zero, so scheduling cannot fail.
            let _ = sim.schedule(*at, *action);
        }
        let mut records = Vec::new();
        sim.run_until(SimTime::NEVER, &mut records);
        records
    }
}

/// Resolves a path written in a file relative to that file's folder.
pub fn resolve(file: &Path, relative: &str) -> PathBuf {
    let rel = Path::new(relative);
    if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(rel)
    }
}

/// Loads a Graph JSON policy file or folder.
pub fn load_policy_set(path: &Path) -> Result<(PolicySet, Vec<String>), InputError> {
    PolicySet::load(path)
}

pub fn parse_platform(text: &str) -> Result<Platform, String> {
    match text.to_ascii_lowercase().as_str() {
        "windows" => Ok(Platform::Windows),
        "macos" => Ok(Platform::MacOs),
        "ios" => Ok(Platform::Ios),
        "android" => Ok(Platform::Android),
        "linux" => Ok(Platform::Linux),
        _ => Err(unknown_name(
            "platform",
            text,
            &["windows", "macOS", "iOS", "android", "linux"],
        )),
    }
}

/// `trusted`, `untrusted`, or a named location id (which counts as trusted only when the
/// policy set marks it so; scenarios treat a named location as trusted).
pub fn parse_location(text: &str) -> Result<LocationContext, String> {
    match text {
        "trusted" => Ok(LocationContext {
            trusted: true,
            named_location: None,
        }),
        "untrusted" => Ok(LocationContext {
            trusted: false,
            named_location: None,
        }),
        "" => Err("empty location: use `trusted`, `untrusted` or a named location id".into()),
        id => Ok(LocationContext {
            trusted: true,
            named_location: Some(id.to_string()),
        }),
    }
}

fn parse_steps(
    cx: &Ctx,
    raw: &[RawStep],
    default_client: Client,
) -> Result<Vec<(SimTime, Action)>, InputError> {
    let mut steps = Vec::with_capacity(raw.len());
    let mut previous: Option<SimTime> = None;
    for (i, s) in raw.iter().enumerate() {
        let field = |name: &str| format!("step[{i}].{name}");
        let at = cx.parse(&s.at, &field("at"), parse_time)?;
        if let Some(prev) = previous {
            if at < prev {
                return Err(cx.err(
                    &s.at,
                    &field("at"),
                    format!(
                        "{at} is before the previous step's time {prev}: list steps in time order"
                    ),
                ));
            }
        }
        previous = Some(at);
        let name = s.action.get_ref().as_str();
        if !STEP_NAMES.contains(&name) {
            return Err(cx.err(
                &s.action,
                &field("do"),
                unknown_name("step", name, STEP_NAMES),
            ));
        }
        let client = match &s.client {
            Some(c) => cx.parse(c, &field("client"), Client::parse)?,
            None => default_client,
        };
        let app = match &s.app {
            Some(a) => Some(cx.parse(a, &field("app"), App::parse)?),
            None => None,
        };
        let until = match &s.until {
            Some(u) => {
                let t = cx.parse(u, &field("until"), parse_time)?;
                if t <= at {
                    return Err(cx.err(u, &field("until"), format!("{t} is not after the step's time {at}: `until` must be later than `at`")));
                }
                Some(t)
            }
            None => None,
        };
        let needs = |what: Option<()>, key: &str| -> Result<(), InputError> {
            what.ok_or_else(|| cx.err(&s.action, &field(key), format!("`{name}` needs `{key}`")))
        };
        let refuse = |present: bool, key: &str| -> Result<(), InputError> {
            if present {
                Err(cx.err(
                    &s.action,
                    &field(key),
                    format!("`{key}` has no meaning for `{name}`"),
                ))
            } else {
                Ok(())
            }
        };
        let takes_app = matches!(
            name,
            "sign_in" | "use" | "background" | "open" | "attacker_use"
        );
        let takes_until = matches!(name, "use" | "background" | "attacker_use");
        refuse(app.is_some() && !takes_app, "app")?;
        refuse(until.is_some() && !takes_until, "until")?;
        refuse(
            s.client.is_some() && !matches!(name, "sign_in" | "use" | "background" | "open"),
            "client",
        )?;
        refuse(
            (s.auth_context.is_some() || s.user_action.is_some()) && name != "open",
            "auth_context",
        )?;
        refuse(s.artefact.is_some() && name != "steal", "artefact")?;
        refuse(
            s.level.is_some() && !matches!(name, "user_risk" | "sign_in_risk"),
            "level",
        )?;
        refuse(
            s.trusted_ip.is_some() && name != "attacker_use",
            "trusted_ip",
        )?;
        refuse(
            s.tpm.is_some() && !matches!(name, "infostealer" | "device_compromise"),
            "tpm",
        )?;
        if matches!(name, "use" | "background" | "open" | "attacker_use") {
            needs(app.map(|_| ()), "app")?;
        }
        if takes_until {
            needs(until.map(|_| ()), "until")?;
        }
        let app_or = app.unwrap_or(App::OfficeWeb);
        let until_or = until.unwrap_or(at);
        let action = match name {
            "sign_in" => Action::SignIn { app, client },
            "use" => Action::Use {
                app: app_or,
                client,
                until: until_or,
            },
            "background" => Action::Background {
                app: app_or,
                client,
                until: until_or,
            },
            "open" => {
                let protected = match (&s.auth_context, &s.user_action) {
                    (Some(_), Some(_)) => {
                        return Err(cx.err(
                            &s.action,
                            &field("auth_context"),
                            "give `auth_context` or `user_action`, not both",
                        ));
                    }
                    (Some(c), None) => {
                        Some(cx.parse(c, &field("auth_context"), Protected::parse_auth_context)?)
                    }
                    (None, Some(u)) => {
                        Some(cx.parse(u, &field("user_action"), Protected::parse_user_action)?)
                    }
                    (None, None) => None,
                };
                Action::Open {
                    app: app_or,
                    client,
                    protected,
                }
            }
            "lock" => Action::Lock,
            "unlock" => Action::Unlock,
            "open_browser" => Action::OpenBrowser,
            "close_browser" => Action::CloseBrowser,
            "password_change" => Action::PasswordChange,
            "password_reset" => Action::PasswordReset,
            "revoke_sessions" => Action::RevokeSessions,
            "revoke_mfa_sessions" => Action::RevokeMfaSessions,
            "disable_account" => Action::DisableAccount,
            "disable_device" => Action::DisableDevice,
            "aitm" | "infostealer" | "push_bombing" | "device_code" | "device_compromise" => {
                let mechanism = match name {
                    "aitm" => Mechanism::Aitm,
                    "infostealer" => Mechanism::Infostealer,
                    "push_bombing" => Mechanism::PushBombing,
                    "device_code" => Mechanism::DeviceCode,
                    _ => Mechanism::DeviceCompromise,
                };
                // A scripted attack: the user falls for it; whether it succeeds is the
                // design's and the user's credentials' business.
                Action::Attack(Attempt {
                    mechanism,
                    attack: i as u32,
                    draw: 0,
                    aux: u32::MAX,
                    hardware_keys: s.tpm.unwrap_or(true),
                    // A scenario places the attacker per step (`attacker_use`'s
                    // `trusted_ip`); its phishing proxy is outside.
                    trusted_ip: false,
                })
            }
            "user_risk" | "sign_in_risk" => {
                let level = s.level.as_ref().ok_or_else(|| {
                    cx.err(
                        &s.action,
                        &field("level"),
                        format!("`{name}` needs `level`"),
                    )
                })?;
                let level = cx.parse(level, &field("level"), RiskLevel::parse)?;
                if name == "user_risk" {
                    Action::SetUserRisk(level)
                } else {
                    Action::SetSignInRisk(level)
                }
            }
            "steal" => {
                let a = s.artefact.as_ref().ok_or_else(|| {
                    cx.err(&s.action, &field("artefact"), "`steal` needs `artefact`")
                })?;
                Action::Steal {
                    artefact: cx.parse(a, &field("artefact"), Artefact::parse)?,
                    attack: u32::MAX,
                }
            }
            "attacker_use" => Action::AttackerUse {
                app: app_or,
                until: until_or,
                trusted_ip: s.trusted_ip.unwrap_or(false),
            },
            _ => unreachable!("checked against STEP_NAMES above"),
        };
        steps.push((at, action));
    }
    Ok(steps)
}

/// The trace CSV for a list of records: `at,actor,step,app,outcome,reason` followed by
/// `client,mfa,target,artefact` (the stolen artefact an attacker row is about).
pub fn trace_csv(records: &[Record]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "at", "actor", "step", "app", "outcome", "reason", "client", "mfa", "target", "artefact",
    ])?;
    for r in records {
        let target = r.protected.map(|p| p.label()).unwrap_or_default();
        w.write_record([
            r.at.to_string().as_str(),
            r.actor.name(),
            r.step.name(),
            r.app.map_or("", |a| a.name()),
            r.outcome.name(),
            r.reason.name(),
            // Device-level rows (a PRT renewal at unlock) belong to no client.
            if r.app.is_some() { r.client.name() } else { "" },
            if r.mfa { "true" } else { "false" },
            target.as_str(),
            r.artefact.map_or("", |a| a.name()),
        ])?;
    }
    w.flush()?;
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// `sessionsim trace FILE`: the scenario's timeline as CSV.
pub fn trace_file(path: &Path) -> anyhow::Result<(String, Vec<String>)> {
    let scenario = Scenario::load(path).map_err(|e| {
        crate::study::validate::wrong_kind(path, crate::study::validate::FileKind::Scenario, e)
    })?;
    let records = scenario.run();
    Ok((trace_csv(&records)?, scenario.warnings))
}
