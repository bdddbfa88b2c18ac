//! What Conditional Access asks of one kind of access, resolved against the facts of the
//! user and device that do not change during a run.
//!
//! The policy layer answers with a [`Decision`] (grant clauses, session controls). The model
//! needs a smaller question answered on every evaluation: "may this access proceed, and
//! does it need MFA, a password change, or a fresh sign-in?". [`Requirement`] is that
//! answer, resolved once per distinct context and cached in [`RuleTable`], so the per-event
//! hot path does an array index instead of policy matching.

use crate::model::action::Credential;
use crate::model::session::Reason;
use crate::policy::{
    AuthFlow, CaeMode, Combos, Decision, GrantControl, LocationContext, Operator, Persistence,
    Platform, PolicySet, RiskLevel, Sif, SignInContext, Target, UserIdentity,
};
use crate::world::app::{App, Client, DeviceTrust};
use std::sync::OnceLock;

/// The user's second factor (MODEL.md §1).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MfaMethod {
    /// Authenticator push without number matching.
    #[default]
    Push,
    /// Push with number matching.
    PushNumberMatch,
    /// Passkey / FIDO2 / Windows Hello for Business: phishing-resistant.
    Passkey,
}

impl MfaMethod {
    pub const ALL: [MfaMethod; 3] = [
        MfaMethod::Push,
        MfaMethod::PushNumberMatch,
        MfaMethod::Passkey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MfaMethod::Push => "push",
            MfaMethod::PushNumberMatch => "push_number_match",
            MfaMethod::Passkey => "passkey",
        }
    }

    pub fn parse(text: &str) -> Result<MfaMethod, String> {
        MfaMethod::ALL
            .into_iter()
            .find(|m| m.name() == text)
            .ok_or_else(|| {
                crate::world::app::unknown_name(
                    "MFA method",
                    text,
                    &["push", "push_number_match", "passkey"],
                )
            })
    }
}

/// Whether access may proceed at all.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Access {
    #[default]
    Allowed,
    /// A policy with the `block` grant applies.
    Blocked,
    /// A grant control the user cannot satisfy here (compliant device required on a
    /// non-compliant device, an authentication strength their method lacks).
    Unsatisfiable,
}

/// What report-only policies would have done, reported beside the enforced outcome.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WouldHave {
    pub applies: bool,
    pub block: bool,
    pub mfa: bool,
    pub sign_in_frequency: Option<Sif>,
}

/// The resolved requirement for one kind of access. Small and `Copy` for the hot path.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub access: Access,
    /// MFA is required (grant `mfa` or an authentication strength).
    pub mfa: bool,
    /// Grant `passwordChange`: only meaningful while the user is at risk.
    pub password_change: bool,
    pub sign_in_frequency: Option<Sif>,
    pub mfa_frequency: Option<Sif>,
    pub persistent_browser: Option<Persistence>,
    pub cae: CaeMode,
    pub token_protection: bool,
    /// At least one enforced policy applied (sign-in log `conditionalAccessStatus`).
    pub policy_applied: bool,
    /// An authentication strength asks for a method the user lacks but can register
    /// during sign-in: the user is sent to combined registration, then signs in with it
    /// (concept-authentication-strength-how-it-works).
    pub registers_method: bool,
    pub report_only: WouldHave,
}

/// The static facts a grant is resolved against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Facts {
    pub device: DeviceTrust,
    pub compliant: bool,
    pub mfa_method: MfaMethod,
    /// The primary credential: with the MFA method, what authentication strengths see.
    pub credential: Credential,
}

impl Facts {
    /// The method combinations the user can present for an authentication strength: Windows
    /// Hello on a device with an Entra identity, a passkey (as credential or second factor),
    /// password plus push when the second factor is a push.
    pub fn combinations(&self) -> Combos {
        let mut c = Combos::NONE;
        if self.credential == Credential::WindowsHello && self.device != DeviceTrust::Unmanaged {
            c = c.union(Combos::WINDOWS_HELLO);
        }
        if self.credential == Credential::Passkey || self.mfa_method == MfaMethod::Passkey {
            c = c.union(Combos::FIDO2);
        }
        if matches!(
            self.mfa_method,
            MfaMethod::Push | MfaMethod::PushNumberMatch
        ) {
            c = c.union(Combos::PASSWORD_PUSH);
        }
        c
    }
}

impl Requirement {
    /// Why access is refused whatever the session, if it is (a block, or a grant the
    /// holder cannot satisfy).
    pub fn denial(&self) -> Option<Reason> {
        match self.access {
            Access::Allowed => None,
            Access::Blocked => Some(Reason::BlockedByPolicy),
            Access::Unsatisfiable => Some(Reason::GrantNotSatisfied),
        }
    }

    /// Resolves a policy decision against static facts. Only the user (`can_register`)
    /// can register a method during sign-in; an attacker lacks what it takes.
    pub fn resolve(
        decision: &Decision,
        report_only: &Decision,
        facts: &Facts,
        applied: bool,
        can_register: bool,
    ) -> Self {
        let mut req = Requirement {
            sign_in_frequency: decision.session.sign_in_frequency,
            mfa_frequency: decision.session.mfa_frequency,
            persistent_browser: decision.session.persistent_browser,
            cae: decision.session.cae,
            token_protection: decision.session.token_protection,
            policy_applied: applied,
            ..Requirement::default()
        };
        let (access, needs) = resolve_grant(decision, facts, can_register);
        req.access = access;
        req.mfa = needs.mfa;
        req.password_change = needs.password_change;
        req.registers_method = needs.registers;
        let (ro_access, ro_needs) = resolve_grant(report_only, facts, can_register);
        req.report_only = WouldHave {
            applies: !report_only.grant.clauses.is_empty()
                || report_only.grant.block
                || report_only.session != Default::default(),
            block: ro_access != Access::Allowed,
            mfa: ro_needs.mfa,
            sign_in_frequency: report_only.session.sign_in_frequency,
        };
        req
    }
}

/// Methods a user can register in combined registration during sign-in: a passkey
/// (FIDO2) and the Authenticator app (push). Windows Hello for Business cannot be
/// registered there (concept-authentication-strength-how-it-works).
const REGISTRABLE: Combos = Combos::FIDO2.union_const(Combos::PASSWORD_PUSH);

/// What a grant asks of the sign-in beyond the device facts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct GrantNeeds {
    mfa: bool,
    password_change: bool,
    /// A method registered on the spot (combined registration), then used.
    registers: bool,
}

impl GrantNeeds {
    const MFA: GrantNeeds = GrantNeeds {
        mfa: true,
        password_change: false,
        registers: false,
    };

    fn add(&mut self, other: GrantNeeds) {
        self.mfa |= other.mfa;
        self.password_change |= other.password_change;
        self.registers |= other.registers;
    }
}

/// The access the combined grant gives, and what it needs for it.
fn resolve_grant(decision: &Decision, facts: &Facts, can_register: bool) -> (Access, GrantNeeds) {
    let none = GrantNeeds::default();
    if decision.grant.block {
        return (Access::Blocked, none);
    }
    let compliant = facts.compliant && facts.device != DeviceTrust::Unmanaged;
    let domain_joined = facts.device == DeviceTrust::HybridJoined;
    let presented = facts.combinations();
    let mut needs = GrantNeeds::default();
    for clause in &decision.grant.clauses {
        let c = clause.controls;
        let strength_ok = clause
            .auth_strength
            .as_ref()
            .is_none_or(|s| s.allows(presented));
        // A strength the user cannot meet with what they have, but can with a method they
        // register on the spot: registration, then an MFA sign-in. Only otherwise blocked.
        let strength_by_registering = !strength_ok
            && can_register
            && clause
                .auth_strength
                .as_ref()
                .is_some_and(|s| s.resolved && s.allows(REGISTRABLE));
        // Each control: Some(true) satisfied by a fact, Some(false) never satisfiable here,
        // None satisfiable by prompting (MFA, password change), with what that needs.
        let mut options: Vec<(Option<bool>, GrantNeeds)> = Vec::new();
        if c.contains(GrantControl::CompliantDevice) {
            options.push((Some(compliant), none));
        }
        if c.contains(GrantControl::DomainJoinedDevice) {
            options.push((Some(domain_joined), none));
        }
        if c.contains(GrantControl::Mfa) {
            options.push((None, GrantNeeds::MFA));
        }
        if c.contains(GrantControl::AuthenticationStrength) || clause.auth_strength.is_some() {
            options.push(if strength_ok {
                (None, GrantNeeds::MFA)
            } else if strength_by_registering {
                (
                    None,
                    GrantNeeds {
                        registers: true,
                        ..GrantNeeds::MFA
                    },
                )
            } else {
                (Some(false), none)
            });
        }
        if c.contains(GrantControl::PasswordChange) {
            options.push((
                None,
                GrantNeeds {
                    password_change: true,
                    ..none
                },
            ));
        }
        if c.contains(GrantControl::Other) {
            options.push((Some(true), none));
        }
        if options.is_empty() {
            continue;
        }
        match clause.operator {
            Operator::And => {
                for (fact, option) in options {
                    match fact {
                        Some(false) => return (Access::Unsatisfiable, none),
                        Some(true) => {}
                        None => needs.add(option),
                    }
                }
            }
            Operator::Or => {
                if options.iter().any(|(f, _)| *f == Some(true)) {
                    continue;
                }
                // Prefer MFA over a password change when either would do: it is what
                // the sign-in UI offers first. Prefer what needs no registration when
                // either would do.
                match options
                    .iter()
                    .filter(|(f, _)| f.is_none())
                    .max_by_key(|(_, o)| (o.mfa, !o.registers))
                {
                    Some((_, option)) => needs.add(*option),
                    None => return (Access::Unsatisfiable, none),
                }
            }
        }
    }
    (Access::Allowed, needs)
}

/// A protected target other than a plain app: user actions and authentication contexts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Protected {
    RegisterSecurityInfo,
    RegisterDevice,
    /// Authentication context `c1`..`c25` (stored as 1..=25).
    AuthContext(u8),
}

impl Protected {
    pub fn parse_user_action(text: &str) -> Result<Protected, String> {
        match text {
            "urn:user:registersecurityinfo" => Ok(Protected::RegisterSecurityInfo),
            "urn:user:registerdevice" => Ok(Protected::RegisterDevice),
            other => Err(crate::world::app::unknown_name(
                "user action",
                other,
                &["urn:user:registersecurityinfo", "urn:user:registerdevice"],
            )),
        }
    }

    pub fn parse_auth_context(text: &str) -> Result<Protected, String> {
        let n = text
            .strip_prefix('c')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=25).contains(n));
        n.map(Protected::AuthContext)
            .ok_or_else(|| format!("unknown authentication context `{text}`: expected c1 to c25"))
    }

    fn target(self) -> Target {
        match self {
            Protected::RegisterSecurityInfo => {
                Target::UserAction("urn:user:registersecurityinfo".into())
            }
            Protected::RegisterDevice => Target::UserAction("urn:user:registerdevice".into()),
            Protected::AuthContext(n) => Target::AuthContext(format!("c{n}")),
        }
    }

    fn slot(self) -> usize {
        match self {
            Protected::RegisterSecurityInfo => 0,
            Protected::RegisterDevice => 1,
            Protected::AuthContext(n) => 1 + n as usize,
        }
    }

    pub fn label(self) -> String {
        match self {
            Protected::RegisterSecurityInfo => "urn:user:registersecurityinfo".into(),
            Protected::RegisterDevice => "urn:user:registerdevice".into(),
            Protected::AuthContext(n) => format!("c{n}"),
        }
    }
}

/// Who is asking: the user from their own device and usual location, or an attacker
/// replaying a stolen artefact from elsewhere.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Asker {
    User,
    /// Replaying a cookie or refresh token from the attacker's own, unmanaged device.
    AttackerOwnDevice,
    /// As `AttackerOwnDevice`, but Entra sees the request from an allowed location (a
    /// proxy inside the victim's network); resources may still see the attacker's address.
    AttackerTrustedIp,
    /// Replaying a PRT with its session key: Entra sees the victim's device.
    AttackerVictimDevice,
    /// As `AttackerVictimDevice`, through an allowed location.
    AttackerVictimDeviceTrustedIp,
    /// The attacker's device-code sign-in (the user authenticates at the genuine device
    /// login page; the token goes to the attacker's own device): `authenticationFlows`
    /// policies see the device code flow.
    AttackerDeviceCode,
}

impl Asker {
    pub const ALL: [Asker; 6] = [
        Asker::User,
        Asker::AttackerOwnDevice,
        Asker::AttackerTrustedIp,
        Asker::AttackerVictimDevice,
        Asker::AttackerVictimDeviceTrustedIp,
        Asker::AttackerDeviceCode,
    ];

    /// The attacker replaying a stolen copy: as the victim's device when the copy carries
    /// its identity, from an allowed location with `trusted_ip`.
    pub fn replay(victim_device: bool, trusted_ip: bool) -> Asker {
        match (victim_device, trusted_ip) {
            (true, true) => Asker::AttackerVictimDeviceTrustedIp,
            (true, false) => Asker::AttackerVictimDevice,
            (false, true) => Asker::AttackerTrustedIp,
            (false, false) => Asker::AttackerOwnDevice,
        }
    }

    /// The phishing proxy's sign-in (AiTM, push bombing): from the attacker's own
    /// machine, at an allowed location when the attempt's attacker is at one.
    pub fn proxy(attempt: &crate::model::Attempt) -> Asker {
        Asker::replay(false, attempt.trusted_ip)
    }

    fn index(self) -> usize {
        self as usize
    }
}

const TARGETS: usize = App::COUNT + 2 + 25;

const RISKS: usize = 4;
const ASKERS: usize = Asker::ALL.len();

fn risk_index(r: RiskLevel) -> usize {
    match r {
        RiskLevel::None => 0,
        RiskLevel::Low => 1,
        RiskLevel::Medium => 2,
        RiskLevel::High => 3,
    }
}

/// What a rule lookup is keyed by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleKey {
    pub app: App,
    pub protected: Option<Protected>,
    pub client: Client,
    pub asker: Asker,
    pub user_risk: RiskLevel,
    pub sign_in_risk: RiskLevel,
}

/// Everything about a user that policies look at, besides the per-access key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    pub identity: UserIdentity,
    pub facts: Facts,
    pub platform: Platform,
    pub location: LocationContext,
    /// Attributes of the user's device for device filters (`deviceOwnership`, ...).
    pub device_attributes: Vec<(String, String)>,
}

/// Resolved requirements for one profile and policy set, each evaluated the first time its
/// key is looked up.
///
/// Keyed by (target, client, asker, user risk, sign-in risk): at most
/// 34 × 2 × 6 × 4 × 4 entries (`TARGETS` × clients × `ASKERS` × risks × risks). The users of a profile present a few dozen of them, so
/// evaluating every key up front (as the table once did) cost nearly as much as simulating
/// the users of a one-day bench, and a tenth of the quickstart's instructions. Each entry is a
/// [`OnceLock`], so threads share the table and the first to need an entry evaluates it;
/// the policy evaluation is a pure function of the key, so which thread does it cannot
/// change a result.
///
/// Entries are kept in blocks, one for each (target, client, asker) with its 16 risk
/// pairs, and a block is allocated on its first lookup: a whole table (392 KB, measured with five askers) for each
/// profile that occurs was most of a large run's memory (about 60 of the 80 MB at a
/// million users), for the 1% of its entries a run looks up.
pub struct RuleTable<'p> {
    profile: Profile,
    policies: &'p PolicySet,
    blocks: Box<[OnceLock<Box<Block>>]>,
}

/// The entries of one (target, client, asker): every (user risk, sign-in risk).
const BLOCK: usize = RISKS * RISKS;
type Block = [OnceLock<Requirement>; BLOCK];
/// Keys a table answers: [`RuleTable::index`] runs over `0..SLOTS`.
const SLOTS: usize = TARGETS * 2 * ASKERS * BLOCK;

impl<'p> RuleTable<'p> {
    pub fn new(profile: Profile, policies: &'p PolicySet) -> Self {
        RuleTable {
            profile,
            policies,
            blocks: (0..SLOTS / BLOCK).map(|_| OnceLock::new()).collect(),
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    fn index(key: &RuleKey) -> usize {
        // Protected targets ignore the app, so every app shares their entry.
        let target = match key.protected {
            Some(p) => App::COUNT + p.slot(),
            None => key.app.index(),
        };
        ((((target * 2 + key.client.index()) * ASKERS + key.asker.index()) * RISKS
            + risk_index(key.user_risk))
            * RISKS)
            + risk_index(key.sign_in_risk)
    }

    /// The requirement for `key`, evaluating the policy set on its first lookup.
    #[inline]
    pub fn requirement(&self, key: &RuleKey) -> Requirement {
        // The risk pair is the index's last factor: a key's block is `slot / BLOCK`.
        let slot = Self::index(key);
        // Every access looks up a requirement, and nearly every lookup finds its entry
        // made: that path stays small enough to inline, the first lookup is out of line.
        match self.blocks[slot / BLOCK]
            .get()
            .and_then(|b| b[slot % BLOCK].get())
        {
            Some(req) => *req,
            None => self.first_lookup(slot, key),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_lookup(&self, slot: usize, key: &RuleKey) -> Requirement {
        let block = self.blocks[slot / BLOCK]
            .get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        *block[slot % BLOCK].get_or_init(|| self.evaluate(key))
    }

    /// The sign-in context that `key` stands for.
    pub fn context(&self, key: &RuleKey) -> SignInContext {
        let p = &self.profile;
        // An attacker at an allowed location is where the user is (a proxy in the
        // user's network or country): the user's named location, marked trusted.
        let allowed_location = || LocationContext {
            trusted: true,
            named_location: p.location.named_location.clone(),
        };
        let (device, compliant, location) = match key.asker {
            Asker::User => (p.facts.device, p.facts.compliant, p.location.clone()),
            Asker::AttackerOwnDevice | Asker::AttackerDeviceCode => {
                (DeviceTrust::Unmanaged, false, LocationContext::default())
            }
            Asker::AttackerTrustedIp => (DeviceTrust::Unmanaged, false, allowed_location()),
            Asker::AttackerVictimDevice => (
                p.facts.device,
                p.facts.compliant,
                LocationContext::default(),
            ),
            Asker::AttackerVictimDeviceTrustedIp => {
                (p.facts.device, p.facts.compliant, allowed_location())
            }
        };
        SignInContext {
            user: p.identity.clone(),
            target: match key.protected {
                Some(pr) => pr.target(),
                None => Target::App(key.app),
            },
            client: key.client,
            platform: p.platform,
            location,
            device,
            compliant,
            user_risk: key.user_risk,
            sign_in_risk: key.sign_in_risk,
            auth_flow: (key.asker == Asker::AttackerDeviceCode).then_some(AuthFlow::DeviceCode),
            // The attacker's own device has none of the victim device's attributes.
            device_attributes: match key.asker {
                Asker::User
                | Asker::AttackerVictimDevice
                | Asker::AttackerVictimDeviceTrustedIp => p.device_attributes.clone(),
                _ => Vec::new(),
            },
        }
    }

    fn evaluate(&self, key: &RuleKey) -> Requirement {
        let ctx = self.context(key);
        let eval = self.policies.evaluate(&ctx);
        let facts = Facts {
            device: ctx.device,
            compliant: ctx.compliant,
            ..self.profile.facts.clone()
        };
        Requirement::resolve(
            &eval.enforced,
            &eval.report_only,
            &facts,
            !eval.applied.is_empty(),
            key.asker == Asker::User,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AuthStrength, Grant, GrantClause, GrantSet};

    fn clause(op: Operator, controls: &[GrantControl]) -> GrantClause {
        let mut set = GrantSet::default();
        for c in controls {
            set.insert(*c);
        }
        GrantClause {
            operator: op,
            controls: set,
            auth_strength: None,
            policy: "p".into(),
        }
    }

    fn decide(clauses: Vec<GrantClause>) -> Decision {
        Decision {
            grant: Grant {
                block: false,
                clauses,
            },
            session: Default::default(),
        }
    }

    fn facts(device: DeviceTrust, compliant: bool) -> Facts {
        Facts {
            device,
            compliant,
            mfa_method: MfaMethod::Push,
            credential: Credential::Password,
        }
    }

    #[test]
    fn compliant_or_mfa_needs_mfa_only_off_compliant_devices() {
        let d = decide(vec![clause(
            Operator::Or,
            &[GrantControl::Mfa, GrantControl::CompliantDevice],
        )]);
        let on = resolve_grant(&d, &facts(DeviceTrust::EntraJoined, true), false);
        assert_eq!(on, (Access::Allowed, GrantNeeds::default()));
        let off = resolve_grant(&d, &facts(DeviceTrust::Unmanaged, false), false);
        assert_eq!(off, (Access::Allowed, GrantNeeds::MFA));
    }

    #[test]
    fn compliant_and_mfa_is_unsatisfiable_off_compliant_devices() {
        let d = decide(vec![clause(
            Operator::And,
            &[GrantControl::Mfa, GrantControl::CompliantDevice],
        )]);
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::Registered, false), false).0,
            Access::Unsatisfiable
        );
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::EntraJoined, true), false),
            (Access::Allowed, GrantNeeds::MFA)
        );
    }

    #[test]
    fn phishing_resistant_strength_needs_a_passkey() {
        let mut c = clause(Operator::And, &[]);
        c.auth_strength = Some(AuthStrength::phishing_resistant());
        let d = decide(vec![c]);
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::Unmanaged, false), false).0,
            Access::Unsatisfiable
        );
        let passkey = Facts {
            mfa_method: MfaMethod::Passkey,
            ..facts(DeviceTrust::Unmanaged, false)
        };
        assert_eq!(
            resolve_grant(&d, &passkey, false),
            (Access::Allowed, GrantNeeds::MFA)
        );
    }

    #[test]
    fn windows_hello_and_passkeys_meet_the_phishing_resistant_strength_whatever_the_mfa_method() {
        // Regression: a Windows Hello or passkey user whose MFA method is push was denied.
        let mut c = clause(Operator::And, &[]);
        c.auth_strength = Some(AuthStrength::phishing_resistant());
        let d = decide(vec![c]);
        for (device, credential) in [
            (DeviceTrust::EntraJoined, Credential::WindowsHello),
            (DeviceTrust::Unmanaged, Credential::Passkey),
        ] {
            let f = Facts {
                credential,
                ..facts(device, true)
            };
            assert_eq!(
                resolve_grant(&d, &f, false),
                (Access::Allowed, GrantNeeds::MFA),
                "{credential:?}"
            );
        }
        // Windows Hello does not travel to a device without an Entra identity.
        let f = Facts {
            credential: Credential::WindowsHello,
            ..facts(DeviceTrust::Unmanaged, false)
        };
        assert_eq!(resolve_grant(&d, &f, false).0, Access::Unsatisfiable);
    }

    #[test]
    fn a_user_registers_a_method_a_strength_asks_for_when_it_can_be_registered() {
        // Phishing-resistant: a push user registers a passkey in combined registration
        // (concept-authentication-strength-how-it-works); an attacker cannot.
        let mut c = clause(Operator::And, &[]);
        c.auth_strength = Some(AuthStrength::phishing_resistant());
        let d = decide(vec![c]);
        let push = facts(DeviceTrust::Unmanaged, false);
        assert_eq!(
            resolve_grant(&d, &push, true),
            (
                Access::Allowed,
                GrantNeeds {
                    mfa: true,
                    password_change: false,
                    registers: true
                }
            )
        );
        assert_eq!(resolve_grant(&d, &push, false).0, Access::Unsatisfiable);
        // A strength of Windows Hello alone cannot be met by registering during sign-in.
        let mut c = clause(Operator::And, &[]);
        c.auth_strength = Some(AuthStrength {
            name: "Windows Hello only".into(),
            id: None,
            allowed: Combos::WINDOWS_HELLO,
            resolved: true,
        });
        let d = decide(vec![c]);
        assert_eq!(resolve_grant(&d, &push, true).0, Access::Unsatisfiable);
        // Where a compliant device answers an OR, nobody registers anything.
        let mut c = clause(Operator::Or, &[GrantControl::CompliantDevice]);
        c.auth_strength = Some(AuthStrength::phishing_resistant());
        let d = decide(vec![c]);
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::EntraJoined, true), true),
            (Access::Allowed, GrantNeeds::default())
        );
    }

    #[test]
    fn password_and_push_fail_a_custom_passkey_or_tap_strength() {
        let mut c = clause(Operator::And, &[]);
        c.auth_strength = Some(AuthStrength {
            name: "Passkey or TAP".into(),
            id: None,
            allowed: Combos::FIDO2,
            resolved: true,
        });
        let d = decide(vec![c]);
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::Unmanaged, false), false).0,
            Access::Unsatisfiable,
            "password + push"
        );
        let passkey = Facts {
            mfa_method: MfaMethod::Passkey,
            ..facts(DeviceTrust::Unmanaged, false)
        };
        assert_eq!(resolve_grant(&d, &passkey, false).0, Access::Allowed);
    }

    #[test]
    fn block_wins() {
        let mut d = decide(vec![clause(Operator::Or, &[GrantControl::Mfa])]);
        d.grant.block = true;
        assert_eq!(
            resolve_grant(&d, &facts(DeviceTrust::EntraJoined, true), false).0,
            Access::Blocked
        );
    }

    /// The app and protected target of a target slot (see [`RuleTable::index`]). Protected
    /// targets are looked up with `App::Graph` as a placeholder app: user actions and
    /// authentication contexts are matched by the target, not the app.
    fn target_of(target: usize) -> (App, Option<Protected>) {
        if target < App::COUNT {
            return (App::ALL[target], None);
        }
        let p = match target - App::COUNT {
            0 => Protected::RegisterSecurityInfo,
            1 => Protected::RegisterDevice,
            n => Protected::AuthContext((n - 1) as u8),
        };
        (App::Graph, Some(p))
    }

    const LEVELS: [RiskLevel; 4] = [
        RiskLevel::None,
        RiskLevel::Low,
        RiskLevel::Medium,
        RiskLevel::High,
    ];

    /// Every key a table can be asked for, in slot order.
    fn every_key() -> Vec<RuleKey> {
        let mut keys = Vec::new();
        for target in 0..TARGETS {
            let (app, protected) = target_of(target);
            for client in Client::ALL {
                for asker in Asker::ALL {
                    for user_risk in LEVELS {
                        for sign_in_risk in LEVELS {
                            keys.push(RuleKey {
                                app,
                                protected,
                                client,
                                asker,
                                user_risk,
                                sign_in_risk,
                            });
                        }
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_has_its_own_slot() {
        let none = PolicySet::default();
        let table = RuleTable::new(profile(), &none);
        let mut seen = std::collections::HashSet::new();
        let keys = every_key();
        for key in &keys {
            let i = RuleTable::index(key);
            assert!(i < SLOTS);
            assert!(seen.insert(i), "{key:?} shares slot {i}");
        }
        // ... and every slot belongs to a key.
        assert_eq!(seen.len(), SLOTS);
        assert_eq!(table.blocks.len() * BLOCK, SLOTS);
        assert_eq!(
            Protected::parse_auth_context("c25"),
            Ok(Protected::AuthContext(25))
        );
        assert!(Protected::parse_auth_context("c26").is_err());
        assert!(Protected::parse_auth_context("c0").is_err());
    }

    fn profile() -> Profile {
        Profile {
            identity: UserIdentity {
                id: "u".into(),
                ..Default::default()
            },
            facts: facts(DeviceTrust::Registered, false),
            platform: Platform::Windows,
            location: LocationContext::default(),
            device_attributes: Vec::new(),
        }
    }

    /// A table filled lazily by two threads at once, in opposite orders, answers every key
    /// as a fresh policy evaluation does, on real policies (the repository's baseline set,
    /// with risk, device, location and authentication-context conditions).
    #[test]
    fn a_shared_table_answers_as_a_fresh_evaluation() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies/baseline.json");
        let (policies, _) = PolicySet::load(&path).unwrap();
        let table = RuleTable::new(profile(), &policies);
        let keys = every_key();
        let answers = |order: Vec<&RuleKey>| -> Vec<(usize, Requirement)> {
            order
                .into_iter()
                .map(|k| (RuleTable::index(k), table.requirement(k)))
                .collect()
        };
        let (forward, backward) = std::thread::scope(|s| {
            let f = s.spawn(|| answers(keys.iter().collect()));
            let b = s.spawn(|| answers(keys.iter().rev().collect()));
            (f.join().unwrap(), b.join().unwrap())
        });
        let fresh = RuleTable::new(profile(), &policies);
        let mut differing = 0;
        for (k, key) in keys.iter().enumerate() {
            let expected = fresh.evaluate(key);
            assert_eq!(forward[k], (RuleTable::index(key), expected), "{key:?}");
            assert_eq!(backward[keys.len() - 1 - k].1, expected, "{key:?}");
            differing += (expected != Requirement::default()) as usize;
        }
        // Not a comparison of defaults: the baseline set asks something of over a quarter of
        // the keys (1,440 of 5,440; most authentication contexts are in no policy).
        assert!(differing * 4 > keys.len(), "{differing} of {}", keys.len());
    }
}
