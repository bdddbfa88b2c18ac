//! The attacker's replays (MODEL.md §8): how Entra and the resources treat a stolen copy
//! of an artefact.
//!
//! An attacker is a holder of a copy who lacks the user's device and factors. Its copy is
//! judged by the same rule modules as the user's sessions: `revocation` (validity),
//! `sign_in_frequency` (what the session lacks), `cae` and `tokens`, `cookies` (a
//! third-party app's own cookie). The only difference is what the holder can do about a
//! demand: the attacker cannot authenticate, so any demand ends its access.

use crate::engine::time::{Duration, SimTime};
use crate::model::action::{Artefact, Observer};
use crate::model::revocation::{self, validity};
use crate::model::rules::{Asker, Requirement, RuleKey};
use crate::model::session::{AccessToken, Actor, Loss, Outcome, Reason, StepKind};
use crate::model::sign_in_frequency::{self as sif, Claims, Holder, Verdict};
use crate::model::sim::{Kind, Stolen, UserSim, NO_DEADLINE};
use crate::model::{cae, cookies, tokens};
use crate::world::app::{App, Client};

impl UserSim<'_> {
    /// Starts the attacker's replay of every stolen artefact that serves `app`: a scripted
    /// use until `until`, or (`standing`) the artefact held for the attacker's window.
    pub(super) fn start_attacker<O: Observer>(
        &mut self,
        now: SimTime,
        app: App,
        until: SimTime,
        trusted_ip: bool,
        standing: bool,
        obs: &mut O,
    ) {
        for i in 0..self.state.stolen.len() {
            let s = self.state.stolen[i];
            if s.artefact.serves(app) {
                let kind = Kind::Attacker {
                    trusted_ip,
                    stolen: i as u8,
                    standing,
                };
                self.start_activity(now, app, s.artefact.client(), kind, until, obs);
            }
        }
    }

    pub(super) fn attacker_key(&self, app: App, s: &Stolen, trusted_ip: bool) -> RuleKey {
        // Device claims stop counting once the device is disabled.
        let victim_device = s.as_victim_device && !self.state.revocations.device_disabled;
        let asker = Asker::replay(victim_device, trusted_ip);
        RuleKey {
            app,
            protected: None,
            client: s.artefact.client(),
            asker,
            user_risk: self.state.user_risk,
            sign_in_risk: s.sign_in_risk,
        }
    }

    fn attacker_claims(&self, s: &Stolen) -> (Claims, Holder) {
        let browser = s.artefact == Artefact::Cookie;
        let claims = Claims {
            auth: s.session.auth,
            mfa: s.session.mfa,
            mfa_valid: self.state.revocations.mfa_claim(s.session.mfa, browser),
        };
        // The attacker never authenticates: the newest authentication its copy carries
        // is its last interactive one.
        let holder = Holder {
            last_interactive: Some(s.session.auth.max(s.session.mfa.unwrap_or(SimTime::ZERO))),
            remembered_mfa: false,
        };
        (claims, holder)
    }

    /// Why the replay of stolen artefact `i` fails at Entra now, if it does.
    pub(super) fn attacker_assess(
        &self,
        now: SimTime,
        i: usize,
        app: App,
        trusted_ip: bool,
    ) -> Result<Requirement, Reason> {
        let Some(s) = self.state.stolen.get(i) else {
            return Err(Reason::NoArtefact);
        };
        if self.state.disabled {
            return Err(Reason::AccountDisabled);
        }
        // A copy bound to the victim's device key cannot sign requests elsewhere ([PRT]).
        if s.device_bound {
            return Err(Reason::DeviceBound);
        }
        if s.device_token && self.state.revocations.device_disabled {
            return Err(Reason::SessionRevoked);
        }
        // Token protection binds the sign-in session of native apps on devices with an
        // Entra identity (MODEL.md §7): a refresh token for an app in the policy's scope,
        // replayed from another device, is refused.
        if s.artefact == Artefact::RefreshToken
            && self.setup.device.has_broker()
            && self
                .user_requirement(app, Client::Native, None)
                .token_protection
        {
            return Err(Reason::TokenProtection);
        }
        if let Err(loss) = validity(
            s.artefact,
            &s.session,
            &self.state.revocations,
            self.params,
            now,
        ) {
            return Err(match loss {
                Loss::PasswordChanged => Reason::PasswordChanged,
                Loss::Expired => Reason::SessionExpired,
                _ => Reason::SessionRevoked,
            });
        }
        let req = self
            .rules
            .requirement(&self.attacker_key(app, s, trusted_ip));
        if let Some(r) = req.denial() {
            return Err(r);
        }
        let (claims, holder) = self.attacker_claims(s);
        match sif::check(&req, claims, holder, now, self.limits()) {
            Verdict::Demands(_, reason) => Err(reason),
            Verdict::Satisfied | Verdict::WithinTolerance => Ok(req),
        }
    }

    /// Strict location enforcement (MODEL.md §5), for a replay where Entra saw an allowed
    /// address but the resource sees the attacker's own. Without a trusted-address mismatch
    /// Entra's own evaluation already applies the location policies.
    fn strict_location_blocks(&self, i: usize, app: App, trusted_ip: bool) -> bool {
        let Some(s) = self.state.stolen.get(i) else {
            return false;
        };
        if !trusted_ip {
            return false;
        }
        let lookup = |trusted| self.rules.requirement(&self.attacker_key(app, s, trusted));
        cae::strict_location_blocks(app, self.cae_on(), &lookup(true), &lookup(false))
    }

    /// When the attacker's session of artefact `i` next stops being accepted, for idealised
    /// checks: every replay request is an evaluation, so every-time ends at its tolerance.
    /// From where the attacker is (`trusted_ip`): the requirement there is the one whose
    /// deadline ends access (regression: with the outside one, a deadline that had passed
    /// at an allowed location was re-checked every second until the copy expired).
    pub(super) fn attacker_deadline(
        &self,
        now: SimTime,
        i: usize,
        app: App,
        trusted_ip: bool,
    ) -> SimTime {
        let Some(s) = self.state.stolen.get(i) else {
            return now;
        };
        let req = self
            .rules
            .requirement(&self.attacker_key(app, s, trusted_ip));
        let (claims, holder) = self.attacker_claims(s);
        sif::deadline(&req, claims, holder, self.limits(), true)
    }

    /// Whether stolen artefact `i` still gets the attacker into `app` while it only holds
    /// it: a held access token that the resource still accepts, or a copy Entra would
    /// still honour. Nothing is used, so nothing slides or is issued. Reports the first
    /// evaluation and the end.
    pub(super) fn attacker_holds<O: Observer>(
        &mut self,
        now: SimTime,
        i: usize,
        app: App,
        trusted_ip: bool,
        is_check: bool,
        obs: &mut O,
    ) -> Outcome {
        let Some(stolen) = self.state.stolen.get(i).copied() else {
            return Outcome::Denied;
        };
        let tok = stolen.tokens[app.index()];
        let realistic = !self.setup.tokens.is_idealised();
        let held_token = realistic && tok.valid_at(now) && !self.cae_rejects(now, app, &tok);
        let verdict = if held_token {
            Ok(())
        } else {
            self.attacker_assess(now, i, app, trusted_ip).map(|_| ())
        };
        match verdict {
            Err(reason) => {
                let reason = if realistic && tok.valid_at(now) {
                    Reason::CaeRevoked
                } else {
                    reason
                };
                self.attacker_row(
                    obs,
                    StepKind::Holds,
                    now,
                    i,
                    app,
                    Outcome::Denied,
                    reason,
                    false,
                    None,
                );
                Outcome::Denied
            }
            Ok(()) => {
                if !is_check {
                    let reason = if held_token {
                        Reason::TokenValid
                    } else {
                        Reason::SessionValid
                    };
                    self.attacker_row(
                        obs,
                        StepKind::Holds,
                        now,
                        i,
                        app,
                        Outcome::Silent,
                        reason,
                        false,
                        None,
                    );
                }
                Outcome::Silent
            }
        }
    }

    /// When an attacker activity on artefact `i` must next be evaluated. In use: at its
    /// token's renewal (realistic) or its session's next deadline (idealised). Held: at the
    /// first moment it could stop working without anything else happening: its token's
    /// expiry or a pending CAE cut, the session's deadline, or idle expiry. Events that
    /// change the account's state re-check held artefacts at once (`check_held`).
    pub(super) fn attacker_next_check(
        &self,
        now: SimTime,
        i: usize,
        app: App,
        held: bool,
        trusted_ip: bool,
    ) -> SimTime {
        let Some(s) = self.state.stolen.get(i) else {
            return NO_DEADLINE;
        };
        // The attacker's own third-party app cookie needs no renewal and meets no deadline.
        if cookies::app_session_answers(app, s.artefact.client(), None, s.app_session) {
            return NO_DEADLINE;
        }
        let realistic = !self.setup.tokens.is_idealised();
        let tok = s.tokens[app.index()];
        if !held {
            return if realistic {
                tok.expires
            } else {
                self.attacker_deadline(now, i, app, trusted_ip)
            };
        }
        if realistic && tok.valid_at(now) {
            // A held token the resource accepts answers by itself (`attacker_holds`): only
            // its expiry or a CAE cut can change that. The session's deadline and idle
            // expiry matter once it is gone, and the check at its expiry sees them.
            // (Checking at a deadline already passed re-ran the check every second until
            // the token expired: two thirds of all events, for no change of outcome.)
            let cut = cae::pending_rejection(
                &tok,
                app,
                &self.state.revocations,
                self.state.risk_event,
                now,
                self.params,
            );
            return cut.map_or(tok.expires, |c| c.min(tok.expires));
        }
        let idle = revocation::idle_lifetime(s.artefact, s.session.persistent, self.params);
        self.attacker_deadline(now, i, app, trusted_ip)
            .min(s.session.last_used + idle)
    }

    /// One replay of stolen artefact `i` against `app`.
    pub(super) fn attacker_access<O: Observer>(
        &mut self,
        now: SimTime,
        i: usize,
        app: App,
        trusted_ip: bool,
        is_check: bool,
        obs: &mut O,
    ) -> Outcome {
        let Some(stolen) = self.state.stolen.get(i).copied() else {
            return Outcome::Denied;
        };
        let client = stolen.artefact.client();
        let row = |sim: &Self, obs: &mut O, outcome, reason, entra, req| {
            sim.attacker_row(
                obs,
                StepKind::AttackerUse,
                now,
                i,
                app,
                outcome,
                reason,
                entra,
                req,
            )
        };
        // The attacker's own third-party app cookie answers without Entra, like the user's.
        if cookies::app_session_answers(app, client, None, stolen.app_session) {
            if !is_check {
                row(self, obs, Outcome::Silent, Reason::AppSession, false, None);
            }
            return Outcome::Silent;
        }
        if self.strict_location_blocks(i, app, trusted_ip) {
            row(
                self,
                obs,
                Outcome::Denied,
                Reason::LocationBlocked,
                false,
                None,
            );
            return Outcome::Denied;
        }
        let realistic = !self.setup.tokens.is_idealised();
        let mut cae_cut = false;
        let tok = stolen.tokens[app.index()];
        if realistic && tok.valid_at(now) {
            if self.cae_rejects(now, app, &tok) {
                // The resource cut the token; the attacker goes back to Entra below.
                cae_cut = true;
            } else {
                if !is_check {
                    row(self, obs, Outcome::Silent, Reason::TokenValid, false, None);
                }
                return Outcome::Silent;
            }
        }
        match self.attacker_assess(now, i, app, trusted_ip) {
            Err(reason) => {
                let reason = if cae_cut { Reason::CaeRevoked } else { reason };
                // A copy that cannot even be presented never reaches Entra.
                let entra = !matches!(reason, Reason::NoArtefact | Reason::DeviceBound);
                row(self, obs, Outcome::Denied, reason, entra, None);
                Outcome::Denied
            }
            // Idealised checks are silent unless access ends.
            Ok(_) if is_check && !realistic => Outcome::Silent,
            Ok(req) => {
                let is_cae = cae::applies(app, self.cae_on(), &req);
                // Standard CAE location enforcement meets an address mismatch (Entra saw an
                // allowed address, the resource another) with an ordinary-lifetime token
                // instead of a long-lived one.
                let long = tokens::long_lived(is_cae, &req, self.params) && !trusted_ip;
                let lifetime = if realistic {
                    self.token_lifetime(long)
                } else {
                    Duration::ZERO
                };
                let deadline = || self.attacker_deadline(now, i, app, trusted_ip);
                let expires = tokens::expiry(now, lifetime, long, deadline, self.params);
                let s = &mut self.state.stolen[i];
                s.session.last_used = now;
                s.tokens[app.index()] = AccessToken {
                    issued: now,
                    expires,
                    cae: is_cae,
                };
                if cookies::app_keeps_own_session(app, client) {
                    s.app_session = true;
                }
                let reason = if is_check {
                    Reason::TokenRenewed
                } else {
                    Reason::SessionValid
                };
                row(self, obs, Outcome::Silent, reason, true, Some(req));
                Outcome::Silent
            }
        }
    }

    /// Reports one evaluation of the attacker's replay of artefact `i`.
    #[allow(clippy::too_many_arguments)]
    fn attacker_row<O: Observer>(
        &self,
        obs: &mut O,
        step: StepKind,
        now: SimTime,
        i: usize,
        app: App,
        outcome: Outcome,
        reason: Reason,
        entra: bool,
        requirement: Option<Requirement>,
    ) {
        let artefact = self.state.stolen.get(i).map(|s| s.artefact);
        obs.record(&crate::model::Record {
            at: now,
            actor: Actor::Attacker,
            step,
            app: Some(app),
            client: artefact.map_or(Client::Browser, |a| a.client()),
            protected: None,
            outcome,
            reason,
            mfa: false,
            entra,
            unintended: false,
            requirement,
            artefact,
            stolen: i as u8,
        });
    }
}
