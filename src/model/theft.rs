//! How artefacts get stolen (MODEL.md §8; docs/model.md, "Threat model"): each attack
//! mechanism decides, from the user's state at that moment and the design's policies,
//! whether the attack succeeds and what the attacker obtains.
//!
//! - **AiTM phishing**: the user falls for a lure with a probability that rises with the
//!   prompts they are used to; the proxy captures the session cookie of the sign-in the
//!   user makes through it, unless the credential or the MFA method is phishing-resistant
//!   or Entra refuses that sign-in.
//! - **Infostealer**: copies what is on disk (persistent cookies, refresh tokens of apps
//!   without a broker) and a non-persistent cookie only while the browser runs; artefacts
//!   bound to a TPM-held session key cannot be replayed elsewhere (\[PRT\]).
//! - **Push bombing**: one push at a time, approved or not; the password alone suffices
//!   where no MFA is asked.
//! - **Device compromise**: the attacker mints refresh tokens from the PRT on the device
//!   (TPM) or exports the PRT with its session key (no TPM).
//! - **Device code phishing**: the user signs in at the genuine page, so phishing-resistant
//!   methods do not help; an `authenticationFlows` policy or a device-based grant does.
//!
//! This module owns those decisions. What the attacker then does with its copies is
//! `attack.rs`; when attacks happen is the threat model's plan (`crate::world::threat`).

use serde::Serialize;

use crate::engine::time::SimTime;
use crate::model::action::{Artefact, Attempt, Mechanism, Observer};
use crate::model::cookies;
use crate::model::rules::{Asker, MfaMethod, Requirement, RuleKey};
use crate::model::session::{Actor, Outcome, Reason, Record, Session, StepKind};
use crate::model::sim::{Stolen, Theft, TheftMode, UserSim};
use crate::policy::RiskLevel;
use crate::world::app::{App, Client, DeviceTrust};

/// The app a phishing kit impersonates and signs in to (Office's home page, which AiTM
/// kits proxy), and the resource an attacker's device-code client asks for.
pub const PHISHED_APP: App = App::OfficeWeb;
pub const DEVICE_CODE_APP: App = App::Graph;

/// The chance that a user falls for one unsolicited lure or push:
/// `base × (1 + habituation × r)`, clamped to [0, 1], where `r` is the legitimate prompts
/// per worked day the user has seen so far (MODEL.md §8: habituation).
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Habituation {
    pub base: f64,
    pub habituation: f64,
}

impl Habituation {
    pub fn probability(&self, prompts_per_day: f64) -> f64 {
        (self.base * (1.0 + self.habituation * prompts_per_day.max(0.0))).clamp(0.0, 1.0)
    }
}

/// How users respond to attacks. Built by the threat model from a population's
/// `[threat]` table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Susceptibility {
    /// Per AiTM lure; `r` counts interactive prompts.
    pub aitm: Habituation,
    /// Per push; `r` counts prompts with an MFA ceremony.
    pub push: Habituation,
    /// Multiplies the push approval chance with number matching.
    pub number_matching_factor: f64,
    /// Per device-code lure; `r` counts interactive prompts.
    pub device_code: Habituation,
    /// Share of stolen cookies the attacker also turns into a refresh token with token
    /// tooling, which outlives the cookie's idle expiry.
    pub mint_refresh_token: f64,
}

/// A uniform draw in `0..2^32` against a probability.
fn below(draw: u32, p: f64) -> bool {
    (draw as f64) < p * 4_294_967_296.0
}

impl UserSim<'_> {
    /// Interactive prompts and MFA prompts per worked day the user has seen so far.
    fn prompt_rates(&self) -> (f64, f64) {
        let days = self.state.days_worked.max(1) as f64;
        (
            self.state.prompts_seen as f64 / days,
            self.state.mfa_prompts_seen as f64 / days,
        )
    }

    /// Whether the user falls for it: always in scenarios (no susceptibility).
    fn falls_for(&self, h: impl Fn(&Susceptibility) -> f64, draw: u32) -> bool {
        match self.susceptibility {
            None => true,
            Some(s) => below(draw, h(s)),
        }
    }

    /// What the design asks of a sign-in the attacker makes (or relays) as `asker`.
    fn attacker_sign_in(&self, app: App, client: Client, asker: Asker) -> Requirement {
        let key = RuleKey {
            app,
            protected: None,
            client,
            asker,
            user_risk: self.state.user_risk,
            sign_in_risk: RiskLevel::None,
        };
        self.rules.requirement(&key)
    }

    /// A session the attacker's own browser gets at a sign-in now. The attacker answers
    /// "Stay signed in?" with yes itself (AiTM kits force it), unless a persistent-browser
    /// control decides.
    fn attacker_cookie(&self, now: SimTime, req: &Requirement, mfa: bool) -> Session {
        Session {
            auth: now,
            mfa: mfa.then_some(now),
            issued: now,
            last_used: now,
            persistent: cookies::persistent(req.persistent_browser, self.setup.tenant.kmsi, true),
            password_based: true,
        }
    }

    /// Token tooling: a refresh token minted from a stolen cookie, with its claims.
    fn minted(&self, now: SimTime, from: &Session, attempt: &Attempt) -> Option<Stolen> {
        let share = self.susceptibility.map_or(0.0, |s| s.mint_refresh_token);
        below(attempt.aux, share).then(|| {
            Stolen::new(
                Artefact::RefreshToken,
                Session {
                    issued: now,
                    last_used: now,
                    persistent: true,
                    ..*from
                },
            )
        })
    }

    pub(super) fn attack<O: Observer>(&mut self, now: SimTime, attempt: Attempt, obs: &mut O) {
        if self.theft_mode == TheftMode::Ignore || self.state.done_attacks.contains(&attempt.attack)
        {
            return;
        }
        let (step, app, result) = match attempt.mechanism {
            Mechanism::Aitm => (StepKind::Aitm, Some(PHISHED_APP), self.aitm(now, &attempt)),
            Mechanism::PushBombing => (
                StepKind::PushBombing,
                Some(PHISHED_APP),
                self.push(now, &attempt),
            ),
            Mechanism::DeviceCode => (
                StepKind::DeviceCode,
                Some(DEVICE_CODE_APP),
                self.device_code(now, &attempt),
            ),
            Mechanism::Infostealer => (StepKind::Infostealer, None, self.on_disk(now, &attempt)),
            Mechanism::DeviceCompromise => (
                StepKind::DeviceCompromise,
                None,
                self.device_compromise(now, &attempt),
            ),
            Mechanism::Injected => return,
        };
        let stolen = match result {
            Err(reason) => {
                self.attack_row(obs, now, step, app, Outcome::Denied, reason, None);
                return;
            }
            Ok(stolen) => stolen,
        };
        for s in &stolen {
            let (outcome, reason) = if s.device_bound {
                (Outcome::Denied, Reason::DeviceBound)
            } else {
                (Outcome::Silent, Reason::ArtefactStolen)
            };
            self.attack_row(obs, now, step, app, outcome, reason, Some(s.artefact));
        }
        if stolen.is_empty() {
            self.attack_row(
                obs,
                now,
                step,
                app,
                Outcome::Denied,
                Reason::NoArtefact,
                None,
            );
        }
        self.deliver(now, attempt.mechanism, attempt.attack, stolen);
    }

    /// Hands the attacker what an attack obtained. In a population run the theft stops
    /// the run for the caller to follow, unless nothing taken can be replayed elsewhere
    /// (then it is no theft at all).
    fn deliver(&mut self, now: SimTime, mechanism: Mechanism, attack: u32, stolen: Vec<Stolen>) {
        match self.theft_mode {
            TheftMode::Ignore => {}
            TheftMode::Install => self.state.stolen.extend(stolen),
            TheftMode::Report => {
                if stolen.iter().any(|s| !s.device_bound) {
                    self.state.done_attacks.push(attack);
                    self.pending_theft = Some(Theft {
                        at: now,
                        mechanism,
                        attack,
                        stolen,
                    });
                }
            }
        }
    }

    fn aitm(&self, now: SimTime, attempt: &Attempt) -> Result<Vec<Stolen>, Reason> {
        let (prompts, _) = self.prompt_rates();
        if !self.falls_for(|s| s.aitm.probability(prompts), attempt.draw) {
            return Err(Reason::NotFooled);
        }
        // Windows Hello and passkeys are bound to the genuine origin: the user's usual
        // credential does not work on the proxy, and the simulated user does not fall
        // back to a password (an assumption, docs/model.md).
        if self.setup.credential.phishing_resistant() {
            return Err(Reason::PhishingResistant);
        }
        let req = self.attacker_sign_in(PHISHED_APP, Client::Browser, Asker::proxy(attempt));
        if let Some(r) = req.denial() {
            return Err(r);
        }
        if req.mfa && self.rules.profile().facts.mfa_method == MfaMethod::Passkey {
            return Err(Reason::PhishingResistant);
        }
        let cookie = self.attacker_cookie(now, &req, req.mfa);
        let mut out = vec![Stolen::new(Artefact::Cookie, cookie)];
        out.extend(self.minted(now, &cookie, attempt));
        Ok(out)
    }

    fn push(&self, now: SimTime, attempt: &Attempt) -> Result<Vec<Stolen>, Reason> {
        let method = self.rules.profile().facts.mfa_method;
        if method == MfaMethod::Passkey {
            return Err(Reason::PhishingResistant);
        }
        let req = self.attacker_sign_in(PHISHED_APP, Client::Browser, Asker::proxy(attempt));
        if let Some(r) = req.denial() {
            return Err(r);
        }
        // Where the design asks no MFA of the attacker's sign-in, the password suffices.
        if req.mfa {
            let (_, mfa_prompts) = self.prompt_rates();
            let approves = self.falls_for(
                |s| {
                    let nm = if method == MfaMethod::PushNumberMatch {
                        s.number_matching_factor
                    } else {
                        1.0
                    };
                    s.push.probability(mfa_prompts) * nm
                },
                attempt.draw,
            );
            if !approves {
                return Err(Reason::NotFooled);
            }
        }
        let cookie = self.attacker_cookie(now, &req, req.mfa);
        let mut out = vec![Stolen::new(Artefact::Cookie, cookie)];
        out.extend(self.minted(now, &cookie, attempt));
        Ok(out)
    }

    fn device_code(&self, now: SimTime, attempt: &Attempt) -> Result<Vec<Stolen>, Reason> {
        let (prompts, _) = self.prompt_rates();
        if !self.falls_for(|s| s.device_code.probability(prompts), attempt.draw) {
            return Err(Reason::NotFooled);
        }
        // The user authenticates at the genuine device login page with their usual
        // methods, so phishing resistance does not help; the flow condition and device
        // grants do (a device-based grant cannot be met: error 530033).
        let req = self.attacker_sign_in(DEVICE_CODE_APP, Client::Native, Asker::AttackerDeviceCode);
        if let Some(r) = req.denial() {
            return Err(r);
        }
        let cred = self.setup.credential;
        Ok(vec![Stolen::new(
            Artefact::RefreshToken,
            Session {
                auth: now,
                mfa: (req.mfa || cred.gives_mfa()).then_some(now),
                issued: now,
                last_used: now,
                persistent: true,
                password_based: cred.password_based(),
            },
        )])
    }

    /// What an infostealer finds on the device now.
    fn on_disk(&self, now: SimTime, attempt: &Attempt) -> Result<Vec<Stolen>, Reason> {
        let mut out = Vec::new();
        let broker = self.setup.device.has_broker();
        // The browser's Entra cookie: persistent ones are on disk; a non-persistent one
        // lives in the running browser only.
        if let Some(c) = self.stolen_cookie(now) {
            if c.persistent || self.state.browser_open {
                let mut s = Stolen::new(Artefact::Cookie, c);
                // A cookie issued through PRT single sign-on carries the PRT's session key
                // ([PRT] "How are browser cookies protected"): bound when that key is in a
                // TPM.
                s.device_bound =
                    broker && attempt.hardware_keys && self.params.prt_sso_cookies_device_bound;
                out.push(s);
            }
        }
        if broker {
            // The broker keeps app refresh tokens encrypted and signs their use with the
            // PRT's session key ([PRT] "How are app tokens protected").
            if let Some(p) = self.prt_session(now) {
                let mut s = Stolen::new(Artefact::RefreshToken, p);
                s.device_bound = attempt.hardware_keys;
                // Without a TPM the copy comes with the key that signs its requests: it
                // presents the device, and dies with it.
                s.as_victim_device = true;
                s.device_token = true;
                out.push(s);
            }
        } else if let Some(rt) = self.freshest_app_token(now) {
            // Apps without a broker keep their own refresh tokens in their cache: bearer
            // tokens any device can redeem.
            out.push(Stolen::new(Artefact::RefreshToken, rt));
        }
        Ok(out)
    }

    fn device_compromise(&self, now: SimTime, attempt: &Attempt) -> Result<Vec<Stolen>, Reason> {
        let mut out = self.on_disk(now, attempt)?;
        if self.setup.device == DeviceTrust::Unmanaged {
            return Ok(out);
        }
        let Some(prt) = self.prt_session(now) else {
            return Ok(out);
        };
        if attempt.hardware_keys {
            // The key stays in the TPM, but code on the device can have it sign a PRT
            // cookie and redeem it for a refresh token that carries the PRT's MFA and
            // device claims (pass-the-PRT-cookie; Mollema 2020).
            let mut s = Stolen::new(
                Artefact::RefreshToken,
                Session {
                    issued: now,
                    last_used: now,
                    ..prt
                },
            );
            s.as_victim_device = true;
            out.push(s);
        } else {
            // Without a TPM the session key can be exported with the PRT: the attacker
            // replays the PRT itself, as the victim's device.
            let mut s = Stolen::new(Artefact::Prt, prt);
            s.as_victim_device = true;
            s.device_token = true;
            out.push(s);
        }
        Ok(out)
    }

    /// The user's browser cookie as Entra would accept it now, carrying the PRT's freshness
    /// on devices with single sign-on.
    fn stolen_cookie(&self, now: SimTime) -> Option<Session> {
        self.valid_cookie(now).ok().map(|c| {
            let eff = self.effective(now, PHISHED_APP, Client::Browser).ok();
            Session {
                auth: eff.map_or(c.auth, |e| e.auth),
                mfa: eff.map_or(c.mfa, |e| e.mfa),
                ..c
            }
        })
    }

    /// The most recently used app refresh token, on a device without a broker.
    fn freshest_app_token(&self, now: SimTime) -> Option<Session> {
        App::ALL
            .into_iter()
            .filter_map(|a| self.valid_native(now, a).ok())
            .max_by_key(|s| s.last_used)
    }

    pub(super) fn prt_session(&self, now: SimTime) -> Option<Session> {
        if !self.prt_valid(now) {
            return None;
        }
        self.state.prt.map(|p| p.session())
    }

    /// A scripted copy of one artefact (`steal`), and the conditional mode's theft.
    pub(super) fn steal<O: Observer>(
        &mut self,
        now: SimTime,
        artefact: Artefact,
        attack: u32,
        _obs: &mut O,
    ) {
        let session = match artefact {
            Artefact::Cookie => self.stolen_cookie(now),
            Artefact::RefreshToken if self.setup.device.has_broker() => self.prt_session(now),
            Artefact::RefreshToken => self.freshest_app_token(now),
            Artefact::Prt => self.prt_session(now),
        };
        let stolen: Vec<Stolen> = session
            .map(|session| {
                let mut s = Stolen::new(artefact, session);
                s.as_victim_device = artefact == Artefact::Prt;
                s
            })
            .into_iter()
            .collect();
        if stolen.is_empty() {
            return;
        }
        // The attack's id, so that its follow-up (where the attacker is, its sessions, a
        // detection) comes from its own stream (regression: every conditional-mode theft
        // shared one, so `trusted_ip_share` and `detected_share` were all or nothing).
        self.deliver(now, Mechanism::Injected, attack, stolen);
    }

    #[allow(clippy::too_many_arguments)]
    fn attack_row<O: Observer>(
        &self,
        obs: &mut O,
        now: SimTime,
        step: StepKind,
        app: Option<App>,
        outcome: Outcome,
        reason: Reason,
        artefact: Option<Artefact>,
    ) {
        obs.record(&Record {
            at: now,
            actor: Actor::Attacker,
            step,
            app,
            client: artefact.map_or(Client::Browser, |a| a.client()),
            protected: None,
            outcome,
            reason,
            mfa: false,
            // A decision of the simulation, not a request: attempts are oversampled, so they
            // stay out of the sign-in log (the thefts' replays are logged).
            entra: false,
            unintended: false,
            requirement: None,
            artefact,
            stolen: 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn habituation_raises_the_chance_linearly_and_stays_a_probability() {
        let h = Habituation {
            base: 0.01,
            habituation: 0.2,
        };
        assert!((h.probability(0.0) - 0.01).abs() < 1e-12);
        assert!((h.probability(5.0) - 0.02).abs() < 1e-12);
        let sure = Habituation {
            base: 0.9,
            habituation: 1.0,
        };
        assert_eq!(sure.probability(10.0), 1.0);
    }

    #[test]
    fn draws_compare_against_the_whole_u32_range() {
        assert!(below(0, 1e-9));
        assert!(!below(0, 0.0));
        assert!(below(u32::MAX, 1.0));
        assert!(!below(u32::MAX / 2 + 1, 0.5));
    }
}
