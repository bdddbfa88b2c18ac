//! Conditional Access policies: the Graph JSON loader, evaluation against one sign-in, and
//! the combination of every applicable policy into one decision (MODEL.md §7).
//!
//! The simulator's hot path never calls into this module per event: the model evaluates each
//! distinct sign-in context once and caches the [`Decision`] (see `model::DecisionCache`).

use crate::app::{App, Client, DeviceTrust};
use crate::time::Duration;

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
    pub fn parse(text: &str) -> Result<Sif, crate::time::TimeParseError> {
        if text.trim() == "every_time" {
            Ok(Sif::EveryTime)
        } else {
            crate::time::parse_duration(text).map(Sif::Periodic)
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
            other => Err(crate::app::unknown_name(
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
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaeMode {
    #[default]
    Default,
    /// `strictLocation`: an IP outside the allowed locations is blocked instantly.
    StrictLocation,
    /// `disabled`: no CAE; tokens live their normal lifetime.
    Disabled,
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
}

/// Built-in authentication strengths, weakest to strongest.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthStrength {
    Mfa,
    Passwordless,
    PhishingResistant,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    And,
    Or,
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
    pub fn parse(text: &str) -> Result<RiskLevel, String> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(RiskLevel::None),
            "low" => Ok(RiskLevel::Low),
            "medium" => Ok(RiskLevel::Medium),
            "high" => Ok(RiskLevel::High),
            _ => Err(crate::app::unknown_name(
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

/// Who signs in: the user's id and memberships as policies see them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UserIdentity {
    pub id: String,
    pub groups: Vec<String>,
    /// Directory role template ids (e.g. Global Administrator
    /// `62e90394-69f5-4237-9190-012177145e10`).
    pub roles: Vec<String>,
    pub guest: bool,
}

/// Where the sign-in comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LocationContext {
    pub trusted: bool,
    /// Id of the named location the IP falls in, if any.
    pub named_location: Option<String>,
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
}

/// State of a policy (`state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyState {
    Enabled,
    Disabled,
    /// `enabledForReportingButNotEnforced`.
    ReportOnly,
}

/// The policy representation the evaluator works on. Built from Graph JSON or from a
/// scenario's shorthand.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub display_name: String,
    pub state: PolicyState,
    /// Applies to every user and every cloud app: the only form the shorthand needs.
    pub all_users_all_apps: bool,
    pub grant: Option<GrantClause>,
    pub session: SessionControls,
}

/// A set of policies, evaluated together.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
}

/// The full answer for one sign-in: the enforced decision, what report-only policies would
/// have done, and which policies applied or not.
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
            policies: vec![Policy {
                id: "shorthand".into(),
                display_name: "scenario shorthand".into(),
                state: PolicyState::Enabled,
                all_users_all_apps: true,
                grant: None,
                session: SessionControls {
                    sign_in_frequency: sif,
                    persistent_browser,
                    ..SessionControls::default()
                },
            }],
        }
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Evaluates every policy against one sign-in and combines the applicable ones.
    pub fn evaluate(&self, _ctx: &SignInContext) -> Evaluation {
        let mut eval = Evaluation::default();
        for p in &self.policies {
            if p.state == PolicyState::Disabled || !p.all_users_all_apps {
                continue;
            }
            let (decision, names) = match p.state {
                PolicyState::ReportOnly => (&mut eval.report_only, &mut eval.report_only_applied),
                _ => (&mut eval.enforced, &mut eval.applied),
            };
            names.push(p.display_name.clone());
            if let Some(clause) = &p.grant {
                decision.grant.clauses.push(clause.clone());
            }
            let s = &mut decision.session;
            s.sign_in_frequency = Sif::stricter(s.sign_in_frequency, p.session.sign_in_frequency);
            s.mfa_frequency = Sif::stricter(s.mfa_frequency, p.session.mfa_frequency);
            s.persistent_browser =
                Persistence::stricter(s.persistent_browser, p.session.persistent_browser);
            s.cae = s.cae.max(p.session.cae);
            s.token_protection |= p.session.token_protection;
        }
        eval
    }
}
