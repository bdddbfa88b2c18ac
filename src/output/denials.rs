//! Why a design denies access: which of its policies refuse the users' accesses, the
//! share of the denied accesses each refuses, and the condition that made it apply, so
//! that an architect can fix the population or the design (`report.md`, "Designs that
//! deny too much access").
//!
//! The simulation counts denied accesses but not the policy behind each; this estimates
//! the split from the population's profiles: every persona × device × compliance ×
//! credential × MFA method × location, weighted by its share, and every app the persona
//! uses, weighted by its sessions, evaluated like the simulation does (`RuleTable`). Each
//! enabled policy is evaluated alone; what would stop it denying (a trusted or named
//! location, a compliant managed device, a passkey, the other client) names the cause.

use crate::model::{Asker, Credential, MfaMethod, RuleKey, RuleTable};
use crate::policy::{LocationSel, PolicySet, PolicyState, RiskLevel};
use crate::study::experiment::{Design, Experiment};
use crate::world::app::{App, Client, DeviceTrust};
use crate::world::population::{ClientChoice, UserTraits};

/// What would have let the access through, when the policy alone refuses it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// A trusted location, or the named location given (the policy excludes it).
    Location(Option<String>),
    /// A compliant, Entra-joined device.
    Device,
    /// A passkey (phishing-resistant method).
    Method,
    /// The other client (browser or native app).
    Client(Client),
    /// Nothing the population can change: the policy blocks these users and apps.
    Unconditional,
}

/// One policy that denies the users' accesses under a design.
#[derive(Clone, Debug, PartialEq)]
pub struct Denier {
    pub policy: String,
    /// Share of the design's denied accesses this policy refuses on its own (several
    /// policies may refuse the same access, so shares can add up to more than 1).
    pub share: f64,
    /// The cause behind most of them, its share of this policy's denials, and the personas
    /// whose accesses it denies, by weight.
    pub cause: Cause,
    pub cause_share: f64,
    pub personas: Vec<String>,
}

/// As [`deniers`], for what the design's report-only policies would deny if enforced:
/// each is evaluated alone, as an enabled policy. Shares are of the accesses they would
/// deny between them.
pub fn report_only_deniers(exp: &Experiment, design: &Design) -> Vec<Denier> {
    let enforced = Design {
        policies: PolicySet {
            policies: design
                .policies
                .policies
                .iter()
                .filter(|p| p.state == PolicyState::ReportOnly)
                .map(|p| crate::policy::Policy {
                    state: PolicyState::Enabled,
                    ..p.clone()
                })
                .collect(),
        },
        ..design.clone()
    };
    deniers(exp, &enforced).1
}

/// Per enabled policy: its denied weight, the weight of each cause, the weight per persona.
type PerPolicy = (f64, Vec<(Cause, f64)>, Vec<f64>);

/// The estimated share of accesses a design denies for policy reasons, and its deniers by
/// share (largest first).
pub fn deniers(exp: &Experiment, design: &Design) -> (f64, Vec<Denier>) {
    let pop = &exp.population;
    let enabled: Vec<PolicySet> = design
        .policies
        .policies
        .iter()
        .filter(|p| p.state == PolicyState::Enabled)
        .map(|p| PolicySet {
            policies: vec![p.clone()],
        })
        .collect();
    let mut total = 0.0;
    let mut denied = 0.0;
    // Per enabled policy: denied weight, weight per cause, weight per persona.
    let mut per: Vec<PerPolicy> = enabled
        .iter()
        .map(|_| (0.0, Vec::new(), vec![0.0; pop.personas.len()]))
        .collect();
    for (pi, persona) in pop.personas.iter().enumerate() {
        let mfa_mix = design.mfa_mix.unwrap_or(persona.mfa);
        for device in DeviceTrust::ALL {
            let wd = persona.share * persona.devices[device.index()];
            if wd <= 0.0 {
                continue;
            }
            let compliance: &[(bool, f64)] = if device == DeviceTrust::Unmanaged {
                &[(false, 1.0)]
            } else {
                &[(true, persona.compliant), (false, 1.0 - persona.compliant)]
            };
            for &(compliant, wc) in compliance {
                for (ci, cred) in [
                    Credential::Password,
                    Credential::WindowsHello,
                    Credential::Passkey,
                ]
                .into_iter()
                .enumerate()
                {
                    let cred =
                        if cred == Credential::WindowsHello && device == DeviceTrust::Unmanaged {
                            Credential::Password
                        } else {
                            cred
                        };
                    for (mi, mfa) in MfaMethod::ALL.into_iter().enumerate() {
                        for (trusted, wl) in [
                            (true, persona.trusted_location),
                            (false, 1.0 - persona.trusted_location),
                        ] {
                            let w = wd * wc * persona.credentials[ci] * mfa_mix[mi] * wl;
                            if w <= 0.0 {
                                continue;
                            }
                            let traits = UserTraits {
                                persona: pi,
                                device,
                                compliant,
                                credential: cred,
                                mfa_method: mfa,
                                kmsi_accept: false,
                                remember_mfa_accept: false,
                                signs_out: false,
                                trusted_location: trusted,
                                clients: Vec::new(),
                            };
                            let profile = pop.profile(&traits);
                            let table = RuleTable::new(profile.clone(), &design.policies);
                            for plan in &persona.apps {
                                for (client, wk) in clients(plan.client, persona.browser_share) {
                                    let wa = w * plan.sessions.max(0.0) * wk;
                                    if wa <= 0.0 {
                                        continue;
                                    }
                                    total += wa;
                                    let key = key(plan.app, client);
                                    if table.requirement(&key).denial().is_none() {
                                        continue;
                                    }
                                    denied += wa;
                                    for (set, acc) in enabled.iter().zip(&mut per) {
                                        let alone = RuleTable::new(profile.clone(), set);
                                        if alone.requirement(&key).denial().is_none() {
                                            continue;
                                        }
                                        acc.0 += wa;
                                        acc.2[pi] += wa;
                                        let cause = cause(&traits, exp, set, plan.app, client);
                                        match acc.1.iter_mut().find(|(c, _)| *c == cause) {
                                            Some((_, x)) => *x += wa,
                                            None => acc.1.push((cause, wa)),
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out: Vec<Denier> = enabled
        .iter()
        .zip(per)
        .filter(|(_, acc)| acc.0 > 0.0)
        .map(|(set, (w, causes, personas))| {
            let (cause, cw) = causes
                .into_iter()
                .max_by(|a, b| {
                    a.1.partial_cmp(&b.1)
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(b.0.cmp(&a.0))
                })
                .unwrap_or((Cause::Unconditional, w));
            let mut named: Vec<(f64, &str)> = personas
                .iter()
                .zip(&pop.personas)
                .filter(|(x, _)| **x > 0.0)
                .map(|(x, p)| (*x, p.name.as_str()))
                .collect();
            named.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
            Denier {
                policy: set.policies[0].display_name.clone(),
                share: if denied > 0.0 { w / denied } else { 0.0 },
                cause,
                cause_share: cw / w,
                personas: named.into_iter().map(|(_, n)| n.to_string()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.share
            .partial_cmp(&a.share)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    (if total > 0.0 { denied / total } else { 0.0 }, out)
}

fn clients(choice: ClientChoice, browser_share: f64) -> Vec<(Client, f64)> {
    match choice {
        ClientChoice::Browser => vec![(Client::Browser, 1.0)],
        ClientChoice::Native => vec![(Client::Native, 1.0)],
        ClientChoice::Either => vec![
            (Client::Browser, browser_share),
            (Client::Native, 1.0 - browser_share),
        ],
    }
}

fn key(app: App, client: Client) -> RuleKey {
    RuleKey {
        app,
        protected: None,
        client,
        asker: Asker::User,
        user_risk: RiskLevel::None,
        sign_in_risk: RiskLevel::None,
    }
}

/// The first change to the user's situation that stops `set` (one policy) denying the
/// access: the location, the device, the method, the client; else none.
fn cause(
    traits: &UserTraits,
    exp: &Experiment,
    set: &PolicySet,
    app: App,
    client: Client,
) -> Cause {
    let pop = &exp.population;
    let denies = |t: &UserTraits, client: Client| {
        RuleTable::new(pop.profile(t), set)
            .requirement(&key(app, client))
            .denial()
            .is_some()
    };
    let policy = &set.policies[0];
    // Each location the policy leaves out, as a place the users could be.
    let mut places: Vec<Option<String>> = Vec::new();
    for sel in &policy.conditions.locations.exclude {
        match sel {
            LocationSel::Named(id) => places.push(Some(id.clone())),
            LocationSel::AllTrusted | LocationSel::All => places.push(None),
        }
    }
    if !policy.conditions.locations.include.is_empty() && places.is_empty() {
        places.push(None);
    }
    for place in places {
        let mut t = traits.clone();
        t.trusted_location = true;
        let mut profile = pop.profile(&t);
        profile.location.named_location = place.clone();
        let stops = RuleTable::new(profile, set)
            .requirement(&key(app, client))
            .denial()
            .is_none();
        if stops {
            return Cause::Location(place);
        }
    }
    let mut managed = traits.clone();
    managed.device = DeviceTrust::EntraJoined;
    managed.compliant = true;
    if !denies(&managed, client) {
        return Cause::Device;
    }
    let mut passkey = traits.clone();
    passkey.mfa_method = MfaMethod::Passkey;
    passkey.credential = Credential::Passkey;
    if !denies(&passkey, client) {
        return Cause::Method;
    }
    let other = match client {
        Client::Browser => Client::Native,
        Client::Native => Client::Browser,
    };
    if !denies(traits, other) {
        return Cause::Client(client);
    }
    Cause::Unconditional
}

/// The condition that made a policy deny, and what to change, in a sentence.
pub fn explain(d: &Denier, exp: &Experiment) -> String {
    let personas = |f: &dyn Fn(&crate::world::population::Persona) -> String| {
        d.personas
            .iter()
            .filter_map(|n| exp.population.personas.iter().find(|p| &p.name == n))
            .map(|p| format!("{} {}", p.name, f(p)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let who = match d.personas.len() {
        0 => String::new(),
        1 => format!("persona `{}`", d.personas[0]),
        _ => format!(
            "personas {}",
            d.personas
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match &d.cause {
        Cause::Location(Some(id)) => format!(
            "it applies outside the named location `{id}`, and no simulated user of {who} is in it: give those personas `named_location.trusted = \"{id}\"` with a `trusted_location` share if your users work from there, or exclude them from the policy"
        ),
        Cause::Location(None) => format!(
            "it applies outside trusted locations, and the users of {who} are rarely or never in one (`trusted_location`: {}): raise that share if your users work from trusted networks",
            personas(&|p| format!("{}", p.trusted_location))
        ),
        Cause::Device => format!(
            "its grant needs a compliant or managed device, and the users of {who} use unmanaged or non-compliant devices for these accesses (unmanaged share of `devices`, and `compliant`: {})",
            personas(&|p| format!("{} and {}", p.devices[DeviceTrust::Unmanaged.index()], p.compliant))
        ),
        Cause::Method => format!(
            "its grant needs an authentication strength the users of {who} lack (`mfa`, `credentials`): a passkey would meet it"
        ),
        Cause::Client(c) => format!(
            "it applies to {} access, which {who} use for these apps (the apps' `client`, `browser_share`)",
            match c {
                Client::Browser => "browser",
                Client::Native => "native-app",
            }
        ),
        Cause::Unconditional => format!(
            "it blocks these apps for {who} whatever their location, device and method: check its users and apps"
        ),
    }
}
