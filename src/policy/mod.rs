//! Conditional Access policies: the Graph JSON loader, evaluation against one sign-in, and
//! the combination of every applicable policy into one decision (MODEL.md §7,
//! docs/policies.md).
//!
//! - [`PolicySet::load`] reads Graph `conditionalAccessPolicy` JSON (`graph`,
//!   `graph_conditions`, with paths kept by `json`);
//! - [`PolicySet::evaluate`] checks each policy's [`Conditions`] against a [`SignInContext`]
//!   (`conditions`, device filters in `filter`) and combines the applicable ones
//!   (`combine`); [`PolicySet::explain`] says why each policy applied or not.
//!
//! The simulator's hot path never calls into this module per event: the model evaluates each
//! distinct sign-in context once and caches the [`Decision`] (see `model::RuleTable`).

mod combine;
mod conditions;
mod eval;
mod filter;
mod graph;
mod graph_conditions;
mod json;
mod known;
pub mod whatif;

use std::path::Path;

use crate::engine::time::Duration;
use crate::error::InputError;
use crate::world::app::{App, Client, DeviceTrust};

pub use combine::{summarize_grant, GrantSummary};
pub use conditions::{
    AppSel, ClientAppType, Conditions, DeviceState, Devices, LocationSel, Locations, PlatformSel,
    Platforms, Reason, Resources, Unmet, UserList, Users,
};
pub use eval::{Outcome, Verdict};
pub use filter::{attribute_name, Attr, DeviceFilter, FilterMode, Literal, Op, Rule};
pub use graph::{LoadOptions, LoadReport};
pub use known::{role_id, ADMIN_ROLES, AZURE_PORTAL_APP_ID};

/// Sign-in frequency interval.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sif {
    /// `frequencyInterval: everyTime`: full reauthentication each time the session is
    /// evaluated, with the 5-minute tolerance (MODEL.md §3).
    EveryTime,
    /// `timeBased` with `value` hours or days.
    Periodic(Duration),
}

impl Sif {
    /// Most restrictive of two: every-time beats periodic; the shorter period wins.
    pub fn stricter(a: Option<Sif>, b: Option<Sif>) -> Option<Sif> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(Sif::EveryTime), _) | (_, Some(Sif::EveryTime)) => Some(Sif::EveryTime),
            (Some(Sif::Periodic(x)), Some(Sif::Periodic(y))) => Some(Sif::Periodic(x.min(y))),
        }
    }

    /// `every_time`, or a duration string such as `4h`.
    pub fn parse(text: &str) -> Result<Sif, crate::engine::time::TimeParseError> {
        if text.trim() == "every_time" {
            Ok(Sif::EveryTime)
        } else {
            crate::engine::time::parse_duration(text).map(Sif::Periodic)
        }
    }
}

impl Sif {
    /// Checks that Entra can express the interval: `every_time`, or whole hours from 1 hour
    /// to 365 days (the portal offers 1–23 hours or 1–365 days).
    pub fn check_entra_range(self) -> Result<Sif, String> {
        match self {
            Sif::EveryTime => Ok(self),
            Sif::Periodic(d) => {
                let s = d.as_secs();
                if s % crate::engine::time::HOUR != 0
                    || !(crate::engine::time::HOUR..=365 * crate::engine::time::DAY).contains(&s)
                {
                    Err(format!(
                        "sign-in frequency {d} is outside what Entra allows: whole hours from 1h to 365d, or every_time"
                    ))
                } else {
                    Ok(self)
                }
            }
        }
    }
}

impl std::fmt::Display for Sif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sif::EveryTime => f.write_str("every_time"),
            Sif::Periodic(d) => write!(f, "{d}"),
        }
    }
}

/// Persistent browser session control (`sessionControls.persistentBrowser.mode`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Persistence {
    Always,
    Never,
}

impl Persistence {
    /// `never` beats `always` when policies disagree.
    pub fn stricter(a: Option<Persistence>, b: Option<Persistence>) -> Option<Persistence> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(Persistence::Never), _) | (_, Some(Persistence::Never)) => {
                Some(Persistence::Never)
            }
            _ => Some(Persistence::Always),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Persistence::Always => "always",
            Persistence::Never => "never",
        }
    }

    pub fn parse(text: &str) -> Result<Persistence, String> {
        match text {
            "always" => Ok(Persistence::Always),
            "never" => Ok(Persistence::Never),
            other => Err(crate::world::app::unknown_name(
                "persistent browser mode",
                other,
                &["always", "never"],
            )),
        }
    }
}

/// Continuous access evaluation session control
/// (`sessionControls.continuousAccessEvaluation.mode`). Without the control CAE is on for
/// capable clients and resources (MODEL.md §5).
///
/// Variants are ordered by how strict they are when policies disagree (see
/// [`CaeMode::stricter`]), so `max` gives the combined mode.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaeMode {
    #[default]
    Default,
    /// `disabled`: no CAE; tokens live their normal lifetime.
    Disabled,
    /// `strictLocation`: an IP outside the allowed locations is blocked instantly.
    StrictLocation,
}

impl CaeMode {
    /// Combines two policies' modes. Microsoft documents no rule; the simulator takes the
    /// most secure explicit choice: strict location beats disabled (it needs CAE on), and
    /// an explicit `disabled` beats a policy that does not configure CAE at all.
    pub fn stricter(a: CaeMode, b: CaeMode) -> CaeMode {
        a.max(b)
    }

    /// The Graph name (`default` when no policy sets the control).
    pub fn name(self) -> &'static str {
        match self {
            CaeMode::Default => "default",
            CaeMode::Disabled => "disabled",
            CaeMode::StrictLocation => "strictLocation",
        }
    }
}

/// A grant control that a policy can require. Stored as bits in [`GrantSet`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum GrantControl {
    Mfa = 1,
    CompliantDevice = 2,
    DomainJoinedDevice = 4,
    PasswordChange = 8,
    AuthenticationStrength = 16,
    /// Grant controls the simulator does not model (approved client app, terms of use,
    /// app protection policy): treated as satisfied, and listed in a load warning.
    Other = 32,
}

impl GrantControl {
    /// In the order Entra prompts for them (concept-conditional-access-policies.md).
    pub const ALL: [GrantControl; 6] = [
        GrantControl::Mfa,
        GrantControl::AuthenticationStrength,
        GrantControl::CompliantDevice,
        GrantControl::DomainJoinedDevice,
        GrantControl::PasswordChange,
        GrantControl::Other,
    ];

    /// The Graph `builtInControls` name (`other` for controls the simulator does not model).
    pub fn name(self) -> &'static str {
        match self {
            GrantControl::Mfa => "mfa",
            GrantControl::CompliantDevice => "compliantDevice",
            GrantControl::DomainJoinedDevice => "domainJoinedDevice",
            GrantControl::PasswordChange => "passwordChange",
            GrantControl::AuthenticationStrength => "authenticationStrength",
            GrantControl::Other => "other",
        }
    }
}

/// A set of grant controls, as bits.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GrantSet(pub u16);

impl GrantSet {
    pub fn contains(self, c: GrantControl) -> bool {
        self.0 & c as u16 != 0
    }
    pub fn insert(&mut self, c: GrantControl) {
        self.0 |= c as u16;
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The controls in the set, in [`GrantControl::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = GrantControl> {
        GrantControl::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
}

/// The authentication method combinations a simulated user can present (MODEL.md §1), as a
/// bit set: Windows Hello for Business, a FIDO2 key or passkey, and password plus an
/// Authenticator push (with or without number matching: the same method mode).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Combos(pub u8);

impl Combos {
    pub const NONE: Combos = Combos(0);
    pub const WINDOWS_HELLO: Combos = Combos(1);
    pub const FIDO2: Combos = Combos(2);
    pub const PASSWORD_PUSH: Combos = Combos(4);
    pub const ALL: Combos = Combos(7);

    /// [`Combos::union`] in constant expressions.
    pub const fn union_const(self, other: Combos) -> Combos {
        Combos(self.0 | other.0)
    }

    pub fn union(self, other: Combos) -> Combos {
        Combos(self.0 | other.0)
    }

    pub fn intersection(self, other: Combos) -> Combos {
        Combos(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Reads one Graph `allowedCombinations` entry (`"password,microsoftAuthenticatorPush"`,
    /// `"fido2"`, ...; the order of the modes does not matter). `Some(NONE)` for a valid
    /// combination no simulated user presents (SMS, OATH, TAP, certificates, federated);
    /// `None` for text that names no known method mode.
    pub fn parse(text: &str) -> Option<Combos> {
        const KNOWN: &[&str] = &[
            "password",
            "voice",
            "hardwareoath",
            "softwareoath",
            "sms",
            "fido2",
            "windowshelloforbusiness",
            "microsoftauthenticatorpush",
            "devicebasedpush",
            "temporaryaccesspassonetime",
            "temporaryaccesspassmultiuse",
            "email",
            "x509certificatesinglefactor",
            "x509certificatemultifactor",
            "federatedsinglefactor",
            "federatedmultifactor",
            "qrcodepin",
        ];
        let mut modes: Vec<String> = text
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| !m.is_empty())
            .collect();
        if modes.is_empty() || !modes.iter().all(|m| KNOWN.contains(&m.as_str())) {
            return None;
        }
        modes.sort();
        Some(
            match modes.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["windowshelloforbusiness"] => Combos::WINDOWS_HELLO,
                ["fido2"] => Combos::FIDO2,
                ["microsoftauthenticatorpush", "password"] => Combos::PASSWORD_PUSH,
                _ => Combos::NONE,
            },
        )
    }
}

/// An authentication strength: the method combinations it allows, of those the simulated
/// users can present (concept-authentication-strengths: a user satisfies it with any one
/// allowed combination).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthStrength {
    /// `mfa`, `passwordless`, `phishingResistant`, or a custom strength's display name.
    pub name: String,
    /// The strength's id (built-in ids end in 2, 3, 4), for resolving custom strengths.
    pub id: Option<String>,
    pub allowed: Combos,
    /// False for a custom strength whose combinations the export did not carry: until a
    /// strengths export resolves it, it allows only phishing-resistant combinations.
    pub resolved: bool,
}

impl AuthStrength {
    fn builtin(name: &str, id: &str, allowed: Combos) -> AuthStrength {
        AuthStrength {
            name: name.into(),
            id: Some(id.into()),
            allowed,
            resolved: true,
        }
    }

    /// Multifactor authentication strength: every combination that satisfies MFA.
    pub fn mfa() -> AuthStrength {
        Self::builtin("mfa", known::STRENGTH_MFA, Combos::ALL)
    }

    /// Passwordless MFA strength (Authenticator phone sign-in is not simulated).
    pub fn passwordless() -> AuthStrength {
        Self::builtin(
            "passwordless",
            known::STRENGTH_PASSWORDLESS,
            Combos::WINDOWS_HELLO.union(Combos::FIDO2),
        )
    }

    /// Phishing-resistant MFA strength: Windows Hello, FIDO2, multifactor certificates.
    pub fn phishing_resistant() -> AuthStrength {
        Self::builtin(
            "phishingResistant",
            known::STRENGTH_PHISHING_RESISTANT,
            Combos::WINDOWS_HELLO.union(Combos::FIDO2),
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a user who can present `presented` satisfies it.
    pub fn allows(&self, presented: Combos) -> bool {
        !self.allowed.intersection(presented).is_empty()
    }

    /// Both strengths at once (two policies that each require one).
    pub fn and(&self, other: &AuthStrength) -> AuthStrength {
        if self == other {
            return self.clone();
        }
        AuthStrength {
            name: format!("{} + {}", self.name, other.name),
            id: None,
            allowed: self.allowed.intersection(other.allowed),
            resolved: self.resolved && other.resolved,
        }
    }
}

/// How a policy's grant controls combine (`grantControls.operator`); AND when absent.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Operator {
    #[default]
    And,
    Or,
}

impl Operator {
    pub fn name(self) -> &'static str {
        match self {
            Operator::And => "AND",
            Operator::Or => "OR",
        }
    }
}

/// One policy's grant controls: all of them (AND) or one of them (OR).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrantClause {
    pub operator: Operator,
    pub controls: GrantSet,
    pub auth_strength: Option<AuthStrength>,
    /// `displayName` of the policy that contributed the clause, for explanations.
    pub policy: String,
}

/// The combined grant: blocked if any applicable policy blocks, otherwise every clause must
/// be satisfied (policies combine with AND; each clause keeps its own operator).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Grant {
    pub block: bool,
    pub clauses: Vec<GrantClause>,
}

/// Combined session controls, most restrictive wins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionControls {
    /// Sign-in frequency for a full reauthentication
    /// (`authenticationType: primaryAndSecondaryAuthentication`, the default).
    pub sign_in_frequency: Option<Sif>,
    /// Sign-in frequency that asks only for the second factor
    /// (`authenticationType: secondaryAuthentication`).
    pub mfa_frequency: Option<Sif>,
    pub persistent_browser: Option<Persistence>,
    pub cae: CaeMode,
    /// Token protection (`secureSignInSession`): refresh tokens bound to the device.
    pub token_protection: bool,
}

/// What the applicable policies require of one sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Decision {
    pub grant: Grant,
    pub session: SessionControls,
}

/// Risk level of a user or a sign-in (Identity Protection).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskLevel {
    #[default]
    None,
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(text: &str) -> Result<RiskLevel, String> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(RiskLevel::None),
            "low" => Ok(RiskLevel::Low),
            "medium" => Ok(RiskLevel::Medium),
            "high" => Ok(RiskLevel::High),
            _ => Err(crate::world::app::unknown_name(
                "risk level",
                text,
                &["none", "low", "medium", "high"],
            )),
        }
    }
}

/// Device platform as Conditional Access sees it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Platform {
    #[default]
    Windows,
    MacOs,
    Ios,
    Android,
    Linux,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Windows,
        Platform::MacOs,
        Platform::Ios,
        Platform::Android,
        Platform::Linux,
    ];

    /// The Graph name (`windows`, `macOS`, `iOS`, `android`, `linux`).
    pub fn name(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::MacOs => "macOS",
            Platform::Ios => "iOS",
            Platform::Android => "android",
            Platform::Linux => "linux",
        }
    }

    /// Parses a Graph platform name, in any case.
    pub fn parse(text: &str) -> Result<Platform, String> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Platform::ALL.iter().map(|p| p.name()).collect();
                crate::world::app::unknown_name("platform", text, &names)
            })
    }
}

/// What the sign-in asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    App(App),
    /// Any other application id (from `whatif --app GUID`).
    OtherApp(String),
    /// A user action such as `urn:user:registersecurityinfo`.
    UserAction(String),
    /// An authentication context class reference, `c1` to `c25`.
    AuthContext(String),
}

/// A kind of guest or external user (Graph `conditionalAccessGuestOrExternalUserTypes`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GuestType {
    InternalGuest,
    B2bCollaborationGuest,
    B2bCollaborationMember,
    B2bDirectConnectUser,
    OtherExternalUser,
    ServiceProvider,
}

impl GuestType {
    pub const ALL: [GuestType; 6] = [
        GuestType::InternalGuest,
        GuestType::B2bCollaborationGuest,
        GuestType::B2bCollaborationMember,
        GuestType::B2bDirectConnectUser,
        GuestType::OtherExternalUser,
        GuestType::ServiceProvider,
    ];

    /// The Graph name.
    pub fn name(self) -> &'static str {
        match self {
            GuestType::InternalGuest => "internalGuest",
            GuestType::B2bCollaborationGuest => "b2bCollaborationGuest",
            GuestType::B2bCollaborationMember => "b2bCollaborationMember",
            GuestType::B2bDirectConnectUser => "b2bDirectConnectUser",
            GuestType::OtherExternalUser => "otherExternalUser",
            GuestType::ServiceProvider => "serviceProvider",
        }
    }

    pub fn parse(text: &str) -> Result<GuestType, String> {
        GuestType::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = GuestType::ALL.iter().map(|g| g.name()).collect();
                crate::world::app::unknown_name("guest or external user type", text, &names)
            })
    }
}

/// A set of guest types, as bits.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GuestTypes(pub u8);

impl GuestTypes {
    pub const ALL: GuestTypes = GuestTypes(0b11_1111);

    pub fn insert(&mut self, g: GuestType) {
        self.0 |= 1 << g as u8;
    }

    pub fn contains(self, g: GuestType) -> bool {
        self.0 & (1 << g as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Graph names, comma-separated.
    pub fn names(self) -> String {
        GuestType::ALL
            .iter()
            .filter(|g| self.contains(**g))
            .map(|g| g.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who signs in: the user's id and memberships as policies see them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UserIdentity {
    pub id: String,
    pub groups: Vec<String>,
    /// Directory role template ids (e.g. Global Administrator
    /// `62e90394-69f5-4237-9190-012177145e10`).
    pub roles: Vec<String>,
    /// The kind of guest or external user, for a user who is one.
    pub guest: Option<GuestType>,
}

/// Where the sign-in comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LocationContext {
    pub trusted: bool,
    /// Id of the named location the IP falls in, if any.
    pub named_location: Option<String>,
}

impl LocationContext {
    /// `trusted`, `untrusted`, or a named location id, which (as in scenarios) counts as
    /// trusted; `untrusted:ID` names a location that is not marked trusted.
    pub fn parse(text: &str) -> Result<LocationContext, String> {
        let text = text.trim();
        match text {
            "trusted" => Ok(LocationContext {
                trusted: true,
                named_location: None,
            }),
            "untrusted" => Ok(LocationContext::default()),
            "" => Err("empty location: use `trusted`, `untrusted` or a named location id".into()),
            _ => match text.strip_prefix("untrusted:") {
                Some(id) if !id.trim().is_empty() => Ok(LocationContext {
                    trusted: false,
                    named_location: Some(id.trim().to_string()),
                }),
                Some(_) => Err("`untrusted:` needs a named location id after it".into()),
                None => Ok(LocationContext {
                    trusted: true,
                    named_location: Some(text.to_string()),
                }),
            },
        }
    }
}

/// One sign-in, as Conditional Access evaluates it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignInContext {
    pub user: UserIdentity,
    pub target: Target,
    pub client: Client,
    pub platform: Platform,
    pub location: LocationContext,
    pub device: DeviceTrust,
    pub compliant: bool,
    pub user_risk: RiskLevel,
    pub sign_in_risk: RiskLevel,
    /// The authentication flow, when it is one that `authenticationFlows` can target.
    pub auth_flow: Option<AuthFlow>,
    /// Device attributes beyond trust type, compliance and platform, for device filters
    /// (lower-case names without `device.`; see [`filter::attribute_name`]).
    pub device_attributes: Vec<(String, String)>,
}

/// Authentication flows that `conditions.authenticationFlows.transferMethods` targets
/// (concept-authentication-flows).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthFlow {
    /// `deviceCodeFlow`: a code entered on another device signs this one in.
    DeviceCode,
    /// `authenticationTransfer`: a sign-in handed from a PC app to a mobile app.
    AuthenticationTransfer,
}

impl AuthFlow {
    /// The Graph `transferMethods` value.
    pub fn name(self) -> &'static str {
        match self {
            AuthFlow::DeviceCode => "deviceCodeFlow",
            AuthFlow::AuthenticationTransfer => "authenticationTransfer",
        }
    }

    pub fn parse(text: &str) -> Option<AuthFlow> {
        [AuthFlow::DeviceCode, AuthFlow::AuthenticationTransfer]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// State of a policy (`state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyState {
    Enabled,
    Disabled,
    /// `enabledForReportingButNotEnforced`.
    ReportOnly,
}

impl PolicyState {
    /// The Graph `state` value.
    pub fn name(self) -> &'static str {
        match self {
            PolicyState::Enabled => "enabled",
            PolicyState::Disabled => "disabled",
            PolicyState::ReportOnly => "enabledForReportingButNotEnforced",
        }
    }
}

/// The policy representation the evaluator works on. Built from Graph JSON or from a
/// scenario's shorthand.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub display_name: String,
    pub state: PolicyState,
    /// Who and what the policy applies to.
    pub conditions: Conditions,
    /// `builtInControls: ["block"]`: blocks whatever else is required.
    pub block: bool,
    /// The grant controls, `None` when the policy grants without requirements (session
    /// controls only) or blocks.
    pub grant: Option<GrantClause>,
    /// Graph names of grant controls counted as [`GrantControl::Other`] (approved client
    /// app, terms of use, ...), for explanations.
    pub grant_other: Vec<String>,
    pub session: SessionControls,
}

impl Policy {
    /// An enabled policy for all users and all cloud apps with the given controls.
    pub fn all_users_all_apps(
        id: &str,
        display_name: &str,
        grant: Option<GrantClause>,
        session: SessionControls,
    ) -> Self {
        Policy {
            id: id.into(),
            display_name: display_name.into(),
            state: PolicyState::Enabled,
            conditions: Conditions::all_users_all_apps(),
            block: false,
            grant,
            grant_other: Vec::new(),
            session,
        }
    }

    /// `Ok` when the policy is enabled or report-only and the sign-in meets its
    /// conditions; otherwise the first condition that excluded it.
    pub fn check(&self, ctx: &SignInContext) -> Result<(), Reason> {
        if self.state == PolicyState::Disabled {
            return Err(Reason::Disabled);
        }
        self.conditions.check(ctx)
    }
}

/// A set of policies, evaluated together.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
}

/// The full answer for one sign-in: the enforced decision, what report-only policies would
/// have done, and which policies applied.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub enforced: Decision,
    pub report_only: Decision,
    /// Names of enabled policies that applied.
    pub applied: Vec<String>,
    pub report_only_applied: Vec<String>,
}

impl PolicySet {
    /// No policies: Entra's defaults.
    pub fn empty() -> Self {
        PolicySet::default()
    }

    /// The scenario shorthand: one enabled policy for all users and all apps carrying the
    /// given sign-in frequency and persistent browser controls.
    pub fn shorthand(sif: Option<Sif>, persistent_browser: Option<Persistence>) -> Self {
        if sif.is_none() && persistent_browser.is_none() {
            return PolicySet::empty();
        }
        PolicySet {
            policies: vec![Policy::all_users_all_apps(
                "shorthand",
                "scenario shorthand",
                None,
                SessionControls {
                    sign_in_frequency: sif,
                    persistent_browser,
                    ..SessionControls::default()
                },
            )],
        }
    }

    /// Loads Graph JSON: a file (one policy, an array, or a `{"value": [...]}` list
    /// response) or a folder of `.json` files, loaded in file-name order. Returns the set
    /// and the warnings (unknown fields, placeholders, controls the simulator does not
    /// model); the library never prints them.
    pub fn load(path: &Path) -> Result<(PolicySet, Vec<String>), InputError> {
        PolicySet::load_listing_failures(path).map(|(set, warnings, _)| (set, warnings))
    }

    /// As [`PolicySet::load`], also returning the files of a folder that failed to load
    /// and were left out (`--skip-invalid`), each with why: a design that lost some of
    /// its policies must say so where its results are read, not only on the terminal.
    pub fn load_listing_failures(
        path: &Path,
    ) -> Result<(PolicySet, Vec<String>, Vec<String>), InputError> {
        let options = LoadOptions {
            skip_invalid: SKIP_INVALID.load(std::sync::atomic::Ordering::Relaxed),
        };
        let (set, mut warnings, report) = PolicySet::load_with(path, options)?;
        for (file, what) in &report.skipped {
            warnings.push(format!("{}: skipped: {what}", file.display()));
        }
        for e in &report.failed {
            warnings.push(format!("skipped a file that does not load: {e}"));
        }
        let failed = report.failed.iter().map(ToString::to_string).collect();
        Ok((set, warnings, failed))
    }

    /// As [`PolicySet::load`], with explicit options, returning what each file came to
    /// (the skipped and failed files are in the report, not in the warnings).
    pub fn load_with(
        path: &Path,
        options: LoadOptions,
    ) -> Result<(PolicySet, Vec<String>, LoadReport), InputError> {
        let (policies, warnings, report) = graph::load(path, options)?;
        Ok((PolicySet { policies }, warnings, report))
    }

    /// Parses Graph JSON text as if it were the file `name` (for tests and embedded sets).
    pub fn from_json(name: &Path, text: &str) -> Result<(PolicySet, Vec<String>), InputError> {
        let mut warnings = Vec::new();
        let policies = graph::parse_text(name, text, &mut warnings)?;
        Ok((PolicySet { policies }, graph::group_warnings(warnings)))
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

/// Whether [`PolicySet::load`] skips files that fail to load in a folder (the binary's
/// `--skip-invalid`): a process-wide choice, like the command line it comes from.
static SKIP_INVALID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every later [`PolicySet::load`] skip (and report) files that fail to load.
pub fn set_skip_invalid(skip: bool) {
    SKIP_INVALID.store(skip, std::sync::atomic::Ordering::Relaxed);
}

/// Whether [`set_skip_invalid`] asked to skip files that fail to load.
pub fn skip_invalid() -> bool {
    SKIP_INVALID.load(std::sync::atomic::Ordering::Relaxed)
}

/// The files [`PolicySet::load`] reads in a policy folder, in the order it reads them:
/// what a fingerprint of the folder must cover (`output::path_sha256`).
pub fn folder_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, InputError> {
    graph::json_files(dir)
}

/// Checks a policy file or folder for `sessionsim validate`: loads it fully and returns
/// the warnings, or the first error.
pub fn validate_policy_file(path: &Path) -> Result<Vec<String>, InputError> {
    PolicySet::load(path).map(|(_, warnings)| warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cae_modes_combine_most_secure_first() {
        use CaeMode::*;
        assert_eq!(CaeMode::stricter(Default, Disabled), Disabled);
        assert_eq!(CaeMode::stricter(Disabled, StrictLocation), StrictLocation);
        assert_eq!(CaeMode::stricter(StrictLocation, Default), StrictLocation);
    }

    #[test]
    fn platforms_and_locations_parse() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.name()), Ok(p));
        }
        assert_eq!(Platform::parse("MACOS"), Ok(Platform::MacOs));
        assert!(Platform::parse("windowz")
            .unwrap_err()
            .contains("did you mean"));
        assert!(LocationContext::parse("trusted").unwrap().trusted);
        let named = LocationContext::parse("untrusted:abc").unwrap();
        assert_eq!(
            (named.trusted, named.named_location.as_deref()),
            (false, Some("abc"))
        );
        assert!(LocationContext::parse("abc").unwrap().trusted);
        assert!(LocationContext::parse("").is_err());
    }

    #[test]
    fn shorthand_is_one_all_users_all_apps_policy() {
        let set = PolicySet::shorthand(Some(Sif::EveryTime), None);
        assert_eq!(set.len(), 1);
        assert_eq!(set.policies[0].conditions, Conditions::all_users_all_apps());
        assert!(PolicySet::shorthand(None, None).is_empty());
    }
}
