//! The attacker: what a theft copies, and how Entra and the resources treat its replay
//! (MODEL.md §8). The attacker can never authenticate, so any demand for a fresh sign-in
//! ends access.

use crate::app::{App, Client};
use crate::model::action::{Artefact, Observer};
use crate::model::params::TokenMode;
use crate::model::rules::{Access, Asker, Requirement, RuleKey};
use crate::model::session::{idle_expired, AccessToken, Actor, Loss, Outcome, Reason, StepKind};
use crate::model::sim::{UserSim, NO_DEADLINE};
use crate::policy::{CaeMode, Sif};
use crate::time::{Duration, SimTime};

impl UserSim<'_> {
    // ---- the attacker -----------------------------------------------------------------

    pub(super) fn attacker_key(&self, app: App, artefact: Artefact, trusted_ip: bool) -> RuleKey {
        let asker = match (artefact, trusted_ip) {
            (Artefact::Prt, _) => Asker::AttackerVictimDevice,
            (_, true) => Asker::AttackerTrustedIp,
            (_, false) => Asker::AttackerOwnDevice,
        };
        RuleKey {
            app,
            protected: None,
            client: artefact.client(),
            asker,
            user_risk: self.state.user_risk,
            sign_in_risk: self.state.sign_in_risk,
        }
    }

    /// Why the attacker's replay fails at Entra now, if it does.
    pub(super) fn attacker_assess(
        &self,
        now: SimTime,
        app: App,
        trusted_ip: bool,
    ) -> Result<Requirement, Reason> {
        let Some(stolen) = self.state.stolen else {
            return Err(Reason::NoArtefact);
        };
        if self.state.disabled {
            return Err(Reason::AccountDisabled);
        }
        // Token protection binds the sign-in session of native apps on devices with an
        // Entra identity (MODEL.md §7): a refresh token for an app in the policy's scope,
        // replayed from another device, is refused.
        if stolen.artefact == Artefact::RefreshToken
            && self.setup.device.has_broker()
            && self
                .user_requirement(app, Client::Native, None)
                .token_protection
        {
            return Err(Reason::TokenProtection);
        }
        let s = stolen.session;
        let rev = &self.state.revocations;
        let revoked = match stolen.artefact {
            Artefact::Prt => {
                (s.password_based && rev.password_changed_at.is_some_and(|t| s.issued < t))
                    || (self.params.revoke_sessions_invalidates_prt
                        && rev.sessions_valid_from.is_some_and(|t| s.issued < t))
            }
            _ => rev.check(s.issued, s.password_based).is_some(),
        };
        if revoked {
            return Err(
                if rev.check(s.issued, s.password_based) == Some(Loss::PasswordChanged) {
                    Reason::PasswordChanged
                } else {
                    Reason::SessionRevoked
                },
            );
        }
        let lifetime = match stolen.artefact {
            Artefact::Cookie if s.persistent => self.params.persistent_cookie_lifetime,
            Artefact::Cookie => self.params.nonpersistent_cookie_idle,
            Artefact::RefreshToken => self.params.refresh_token_lifetime,
            Artefact::Prt => self.params.prt_lifetime,
        };
        if idle_expired(s.last_used, lifetime, now) {
            return Err(Reason::SessionExpired);
        }
        let req = self
            .rules
            .lookup(&self.attacker_key(app, stolen.artefact, trusted_ip))
            .unwrap_or_default();
        match req.access {
            Access::Blocked => return Err(Reason::BlockedByPolicy),
            Access::Unsatisfiable => return Err(Reason::GrantNotSatisfied),
            Access::Allowed => {}
        }
        // The attacker cannot authenticate: any fresh-authentication demand ends access.
        let fresh = |t: SimTime| now - t < self.params.every_time_tolerance;
        match req.sign_in_frequency {
            Some(Sif::EveryTime) if !fresh(s.auth) => return Err(Reason::EveryTime),
            Some(Sif::Periodic(d)) if now >= s.auth + d => return Err(Reason::SifExpired),
            _ => {}
        }
        if req.mfa {
            match rev.mfa_claim(s.mfa) {
                None => return Err(Reason::MfaRequired),
                Some(m) => match req.mfa_frequency {
                    Some(Sif::EveryTime) if !fresh(m) => return Err(Reason::EveryTime),
                    Some(Sif::Periodic(d)) if now >= m + d => return Err(Reason::SifExpired),
                    _ => {}
                },
            }
        }
        if req.password_change {
            return Err(Reason::PasswordChangeRequired);
        }
        Ok(req)
    }

    /// Strict location enforcement (MODEL.md §5): when Entra saw an allowed address but the
    /// resource sees the attacker's own, a CAE-capable resource applies the location
    /// policies to that address at once if a policy that applies to it sets
    /// `strictLocation`. Without a trusted-address mismatch Entra's own evaluation already
    /// applies the location policies.
    pub(super) fn strict_location_blocks(&self, app: App, trusted_ip: bool) -> bool {
        let Some(stolen) = self.state.stolen else {
            return false;
        };
        if !trusted_ip || !app.cae_capable() || !self.cae_active() {
            return false;
        }
        let at_entra = self
            .rules
            .lookup(&self.attacker_key(app, stolen.artefact, true))
            .unwrap_or_default();
        let from_own_ip = self
            .rules
            .lookup(&self.attacker_key(app, stolen.artefact, false))
            .unwrap_or_default();
        from_own_ip.cae == CaeMode::StrictLocation
            && (from_own_ip.access != Access::Allowed || from_own_ip.mfa && !at_entra.mfa)
    }

    pub(super) fn attacker_deadline(&self, now: SimTime, app: App) -> SimTime {
        let Some(stolen) = self.state.stolen else {
            return now;
        };
        let req = self
            .rules
            .lookup(&self.attacker_key(app, stolen.artefact, false))
            .unwrap_or_default();
        match req.sign_in_frequency {
            Some(Sif::Periodic(d)) => stolen.session.auth + d,
            Some(Sif::EveryTime) => stolen.session.auth + self.params.every_time_tolerance,
            None => NO_DEADLINE,
        }
    }

    pub(super) fn attacker_access<O: Observer>(
        &mut self,
        now: SimTime,
        app: App,
        trusted_ip: bool,
        is_check: bool,
        obs: &mut O,
    ) -> Outcome {
        let client = self
            .state
            .stolen
            .map_or(Client::Browser, |s| s.artefact.client());
        if self.strict_location_blocks(app, trusted_ip) {
            self.attacker_row(
                obs,
                now,
                app,
                client,
                Outcome::Denied,
                Reason::LocationBlocked,
                false,
                None,
            );
            return Outcome::Denied;
        }
        let realistic = self.setup.tokens != TokenMode::Idealised;
        let mut cae_cut = false;
        if let Some(tok) = self.state.stolen.map(|s| s.tokens[app.index()]) {
            if realistic && tok.valid_at(now) {
                if self.cae_rejects(now, app, &tok) {
                    // The resource cut the token; the attacker goes back to Entra below.
                    cae_cut = true;
                } else {
                    if !is_check {
                        self.attacker_row(
                            obs,
                            now,
                            app,
                            client,
                            Outcome::Silent,
                            Reason::TokenValid,
                            false,
                            None,
                        );
                    }
                    return Outcome::Silent;
                }
            }
        }
        match self.attacker_assess(now, app, trusted_ip) {
            Err(reason) => {
                let reason = if cae_cut { Reason::CaeRevoked } else { reason };
                // With no artefact there is nothing to send to Entra; a cut CAE token sends
                // the attacker back to Entra, which refuses the refresh.
                let entra = reason != Reason::NoArtefact;
                self.attacker_row(obs, now, app, client, Outcome::Denied, reason, entra, None);
                Outcome::Denied
            }
            // Idealised checks are silent unless access ends.
            Ok(_) if is_check && !realistic => Outcome::Silent,
            Ok(req) => {
                let cae = app.cae_capable() && self.cae_active() && req.cae != CaeMode::Disabled;
                // Standard CAE location enforcement meets an address mismatch (Entra saw an
                // allowed address, the resource another) with an ordinary-lifetime token
                // instead of a long-lived one.
                let lifetime = if realistic {
                    self.token_lifetime(self.long_lived(cae, &req) && !trusted_ip)
                } else {
                    Duration::ZERO
                };
                let mut expires = now + lifetime;
                if cae && self.params.cae_tokens_honour_sif {
                    expires = expires.min(
                        self.attacker_deadline(now, app)
                            .max(now + Duration::from_secs(1)),
                    );
                }
                if let Some(s) = &mut self.state.stolen {
                    s.session.last_used = now;
                    s.tokens[app.index()] = AccessToken {
                        issued: now,
                        expires,
                        cae,
                    };
                }
                let reason = if is_check {
                    Reason::TokenRenewed
                } else {
                    Reason::SessionValid
                };
                self.attacker_row(
                    obs,
                    now,
                    app,
                    client,
                    Outcome::Silent,
                    reason,
                    true,
                    Some(req),
                );
                Outcome::Silent
            }
        }
    }

    /// Reports one evaluation of the attacker's replay.
    #[allow(clippy::too_many_arguments)]
    fn attacker_row<O: Observer>(
        &self,
        obs: &mut O,
        now: SimTime,
        app: App,
        client: Client,
        outcome: Outcome,
        reason: Reason,
        entra: bool,
        requirement: Option<Requirement>,
    ) {
        self.emit(
            obs,
            now,
            Actor::Attacker,
            StepKind::AttackerUse,
            Some(app),
            client,
            None,
            outcome,
            reason,
            false,
            entra,
            requirement,
        );
    }
}
