//! The user's evaluations: which session an access uses, whether it is still good, what
//! Conditional Access asks of it, the prompt that renews it, and access tokens.

use crate::app::{App, Client};
use crate::model::action::Observer;
use crate::model::params::TokenMode;
use crate::model::rules::{Access, Asker, Protected, Requirement, RuleKey};
use crate::model::session::{
    idle_expired, AccessToken, Actor, Loss, Outcome, Prt, Reason, Session, StepKind,
};
use crate::model::sim::{Assessment, Effective, Need, Slot, UserSim, Via, NO_DEADLINE};
use crate::policy::{CaeMode, Persistence, RiskLevel, Sif};
use crate::time::{Duration, SimTime};
use rand::Rng;

impl UserSim<'_> {
    // ---- the user's evaluations -------------------------------------------------------

    pub(super) fn slot(&self, app: App, client: Client) -> Slot {
        match client {
            Client::Browser => Slot::Browser,
            Client::Native if self.setup.device.has_broker() => Slot::Broker,
            Client::Native => Slot::App(app),
        }
    }

    pub(super) fn user_requirement(
        &self,
        app: App,
        client: Client,
        protected: Option<Protected>,
    ) -> Requirement {
        let key = RuleKey {
            app,
            protected,
            client,
            asker: Asker::User,
            user_risk: self.state.user_risk,
            sign_in_risk: self.state.sign_in_risk,
        };
        self.rules.lookup(&key).unwrap_or_default()
    }

    pub(super) fn prt_valid(&self, now: SimTime) -> bool {
        let Some(p) = self.state.prt else {
            return false;
        };
        if self.state.disabled || idle_expired(p.last_used, self.params.prt_lifetime, now) {
            return false;
        }
        let rev = &self.state.revocations;
        if p.password_based && rev.password_changed_at.is_some_and(|t| p.issued < t) {
            return false;
        }
        if self.params.revoke_sessions_invalidates_prt
            && rev.sessions_valid_from.is_some_and(|t| p.issued < t)
        {
            return false;
        }
        true
    }

    pub(super) fn prt_loss(&self, now: SimTime) -> Loss {
        let Some(p) = self.state.prt else {
            return self.state.prt_loss;
        };
        self.state
            .revocations
            .check(p.issued, p.password_based)
            .or_else(|| {
                idle_expired(p.last_used, self.params.prt_lifetime, now).then_some(Loss::Expired)
            })
            .unwrap_or(Loss::Revoked)
    }

    pub(super) fn valid_cookie(&self, now: SimTime) -> Result<Session, Loss> {
        let Some(c) = self.state.cookie else {
            return Err(self.state.cookie_loss);
        };
        if let Some(loss) = self.state.revocations.check(c.issued, c.password_based) {
            return Err(loss);
        }
        let lifetime = if c.persistent {
            self.params.persistent_cookie_lifetime
        } else {
            self.params.nonpersistent_cookie_idle
        };
        if idle_expired(c.last_used, lifetime, now) {
            return Err(Loss::Expired);
        }
        Ok(c)
    }

    pub(super) fn valid_native(&self, now: SimTime, app: App) -> Result<Session, Loss> {
        let Some(s) = self.state.native[app.index()] else {
            return Err(self.state.native_loss[app.index()]);
        };
        if let Some(loss) = self.state.revocations.check(s.issued, s.password_based) {
            return Err(loss);
        }
        if idle_expired(s.last_used, self.params.refresh_token_lifetime, now) {
            return Err(Loss::Expired);
        }
        Ok(s)
    }

    /// The session an access would use: its own slot merged with the PRT, whose fresh
    /// renewal satisfies sign-in frequency on joined devices (MODEL.md §2).
    pub(super) fn effective(
        &self,
        now: SimTime,
        app: App,
        client: Client,
    ) -> Result<Effective, Loss> {
        let own = match self.slot(app, client) {
            Slot::Browser => self.valid_cookie(now),
            Slot::Broker => Err(self.prt_loss(now)),
            Slot::App(a) => self.valid_native(now, a),
        };
        let prt = if self.setup.device.has_broker() && self.prt_valid(now) {
            self.state.prt
        } else {
            None
        };
        match (own, prt) {
            (Ok(s), Some(p)) => Ok(Effective {
                auth: s.auth.max(p.renewed),
                mfa: s.mfa.max(p.mfa),
                prt_only: false,
            }),
            (Ok(s), None) => Ok(Effective {
                auth: s.auth,
                mfa: s.mfa,
                prt_only: false,
            }),
            (Err(_), Some(p)) => Ok(Effective {
                auth: p.renewed,
                mfa: p.mfa,
                prt_only: true,
            }),
            (Err(loss), None) => Err(loss),
        }
    }

    pub(super) fn within_tolerance(&self, now: SimTime) -> bool {
        self.state
            .last_interactive
            .is_some_and(|t| now - t < self.params.every_time_tolerance)
    }

    pub(super) fn remembered(&self, now: SimTime) -> Option<SimTime> {
        self.state
            .remember_mfa
            .filter(|(_, until)| now < *until)
            .map(|(done, _)| done)
    }

    /// What an access by the user needs, without changing anything.
    pub(super) fn assess(
        &self,
        now: SimTime,
        app: App,
        client: Client,
        protected: Option<Protected>,
    ) -> Assessment {
        if self.state.disabled {
            return Assessment::Denied(Reason::AccountDisabled);
        }
        let req = self.user_requirement(app, client, protected);
        match req.access {
            Access::Blocked => return Assessment::Denied(Reason::BlockedByPolicy),
            Access::Unsatisfiable => return Assessment::Denied(Reason::GrantNotSatisfied),
            Access::Allowed => {}
        }
        // A third-party app with its own session cookie does not go back to Entra while
        // that cookie lives (MODEL.md §1, `honours_sif`).
        if !app.honours_sif()
            && client == Client::Browser
            && protected.is_none()
            && self.state.saml_session
        {
            if let Ok(eff) = self.effective(now, app, client) {
                return Assessment::Silent(Reason::AppSession, eff);
            }
        }
        let eff = match self.effective(now, app, client) {
            Ok(e) => e,
            Err(loss) => return Assessment::Need(Need::Full, loss.reason(), None),
        };
        let mut tolerated = false;
        match req.sign_in_frequency {
            Some(Sif::EveryTime) => {
                if self.within_tolerance(now) {
                    tolerated = true;
                } else {
                    return Assessment::Need(Need::Full, Reason::EveryTime, Some(eff));
                }
            }
            Some(Sif::Periodic(d)) if now >= eff.auth + d => {
                return Assessment::Need(Need::Full, Reason::SifExpired, Some(eff));
            }
            _ => {}
        }
        if req.mfa {
            let rev = &self.state.revocations;
            match rev.mfa_claim(eff.mfa) {
                Some(m) => {
                    match req.mfa_frequency {
                        Some(Sif::EveryTime) if !self.within_tolerance(now) => {
                            return Assessment::Need(Need::Mfa, Reason::EveryTime, Some(eff));
                        }
                        Some(Sif::Periodic(d)) if now >= m + d => {
                            return Assessment::Need(Need::Mfa, Reason::SifExpired, Some(eff));
                        }
                        _ => {}
                    }
                    // Remember-MFA caps the MFA claim: modern-auth clients re-check it on
                    // each refresh, and in the browser the most restrictive lifetime wins
                    // (docs/model.md, "remember MFA").
                    let cap = self.setup.tenant.remember_mfa;
                    if !cap.is_zero() && now >= m + cap {
                        return Assessment::Need(Need::Mfa, Reason::RememberMfaExpired, Some(eff));
                    }
                }
                None => {
                    if !(client == Client::Browser && self.remembered(now).is_some()) {
                        let why = if eff.mfa.is_some() {
                            Reason::MfaSessionsRevoked
                        } else {
                            Reason::MfaRequired
                        };
                        return Assessment::Need(Need::Mfa, why, Some(eff));
                    }
                }
            }
        }
        if req.password_change {
            return Assessment::Need(
                Need::PasswordChange,
                Reason::PasswordChangeRequired,
                Some(eff),
            );
        }
        let reason = if tolerated {
            Reason::WithinTolerance
        } else if eff.prt_only {
            Reason::PrtSso
        } else {
            Reason::SessionValid
        };
        Assessment::Silent(reason, eff)
    }

    /// The earliest time a silent session of this kind stops being silent, for idealised
    /// checks while the user is active.
    pub(super) fn deadline(&self, now: SimTime, app: App, client: Client) -> SimTime {
        let Ok(eff) = self.effective(now, app, client) else {
            return now;
        };
        let req = self.user_requirement(app, client, None);
        let mut t = NO_DEADLINE;
        if !app.honours_sif() && client == Client::Browser && self.state.saml_session {
            return t;
        }
        if let Some(Sif::Periodic(d)) = req.sign_in_frequency {
            t = t.min(eff.auth + d);
        }
        if req.mfa {
            if let Some(m) = self.state.revocations.mfa_claim(eff.mfa) {
                if let Some(Sif::Periodic(d)) = req.mfa_frequency {
                    t = t.min(m + d);
                }
                let cap = self.setup.tenant.remember_mfa;
                if !cap.is_zero() {
                    t = t.min(m + cap);
                }
            }
        }
        t
    }

    /// One access by the user: from a cached token, or an Entra evaluation that may prompt.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn user_access<O: Observer>(
        &mut self,
        now: SimTime,
        step: StepKind,
        app: App,
        client: Client,
        protected: Option<Protected>,
        interactive: bool,
        via: Via,
        obs: &mut O,
    ) -> Outcome {
        let realistic = self.setup.tokens != TokenMode::Idealised;
        if realistic && protected.is_none() && self.token_usable(now, app, client) {
            self.emit(
                obs,
                now,
                Actor::User,
                step,
                Some(app),
                client,
                None,
                Outcome::Silent,
                Reason::TokenValid,
                false,
                false,
                None,
            );
            return Outcome::Silent;
        }
        let req = self.user_requirement(app, client, protected);
        let (outcome, mut reason, mfa) = match self.assess(now, app, client, protected) {
            Assessment::Denied(r) => (Outcome::Denied, r, false),
            Assessment::Silent(r, eff) => {
                self.touch(now, app, client, eff);
                (Outcome::Silent, r, false)
            }
            Assessment::Need(need, r, eff) => {
                if interactive {
                    self.per_app_prompt = need == Need::Full
                        && matches!(
                            r,
                            Reason::InitialSignIn | Reason::SifExpired | Reason::SessionExpired
                        )
                        && self.another_app_is_fresh(now, app, client, &req);
                    let mfa = self.complete_prompt(now, app, client, need, &req, eff);
                    (Outcome::Prompt, r, mfa)
                } else {
                    (Outcome::Deferred, r, false)
                }
            }
        };
        if outcome == Outcome::Silent {
            match via {
                Via::DeviceSignIn { prt_renewed: true } => reason = Reason::PrtRenewed,
                Via::Renewal if reason == Reason::SessionValid => reason = Reason::TokenRenewed,
                _ => {}
            }
        }
        if matches!(outcome, Outcome::Silent | Outcome::Prompt) {
            if !app.honours_sif() && client == Client::Browser {
                self.state.saml_session = true;
            }
            if realistic && protected.is_none() {
                self.issue_token(now, app, client, &req);
            }
        }
        self.emit(
            obs,
            now,
            Actor::User,
            step,
            Some(app),
            client,
            protected,
            outcome,
            reason,
            mfa,
            true,
            Some(req),
        );
        self.per_app_prompt = false;
        outcome
    }

    /// On a device without a broker, whether another native app holds a session that a
    /// shared broker would have used to answer this access silently (MODEL.md §4: one
    /// refresh token per app means one prompt per app).
    pub(super) fn another_app_is_fresh(
        &self,
        now: SimTime,
        app: App,
        client: Client,
        req: &Requirement,
    ) -> bool {
        if self.slot(app, client) != Slot::App(app) {
            return false;
        }
        App::ALL.into_iter().filter(|a| *a != app).any(|other| {
            match self.valid_native(now, other) {
                Ok(s) => match req.sign_in_frequency {
                    Some(Sif::Periodic(d)) => now < s.auth + d,
                    Some(Sif::EveryTime) => false,
                    None => true,
                },
                Err(_) => false,
            }
        })
    }

    pub(super) fn token_usable(&self, now: SimTime, app: App, client: Client) -> bool {
        let tok = self.state.tokens[client.index()][app.index()];
        tok.valid_at(now) && !self.cae_rejects(now, app, &tok)
    }

    /// A CAE-capable resource rejects a CAE token issued before a critical event once the
    /// event has propagated (MODEL.md §5).
    pub(super) fn cae_rejects(&self, now: SimTime, app: App, tok: &AccessToken) -> bool {
        if !tok.cae {
            return false;
        }
        let delay = self.params.cae_propagation_delay;
        let hit =
            |event: Option<SimTime>| event.is_some_and(|e| tok.issued <= e && now >= e + delay);
        hit(self.state.revocations.critical_event)
            || (app != App::Sharepoint && hit(self.state.risk_event))
    }

    pub(super) fn issue_token(
        &mut self,
        now: SimTime,
        app: App,
        client: Client,
        req: &Requirement,
    ) {
        let cae = app.cae_capable() && self.cae_active() && req.cae != CaeMode::Disabled;
        let lifetime = self.token_lifetime(self.long_lived(cae, req));
        let mut expires = now + lifetime;
        if cae && self.params.cae_tokens_honour_sif {
            // "Sign-in Frequency is honored with or without CAE": a long-lived token does
            // not carry the session past its sign-in frequency deadline.
            expires = expires.min(
                self.deadline(now, app, client)
                    .max(now + Duration::from_secs(1)),
            );
        }
        self.state.tokens[client.index()][app.index()] = AccessToken {
            issued: now,
            expires,
            cae,
        };
    }

    /// Whether a CAE token gets the long lifetime. Under every-time sign-in frequency, which
    /// Entra honours with or without CAE, each token request is a reauthentication, so the
    /// simulator issues an ordinary-lifetime token instead (an assumption: Microsoft does
    /// not document the lifetime in this case).
    pub(super) fn long_lived(&self, cae: bool, req: &Requirement) -> bool {
        cae && !(self.params.cae_tokens_honour_sif && req.sign_in_frequency == Some(Sif::EveryTime))
    }

    pub(super) fn token_lifetime(&mut self, cae: bool) -> Duration {
        let (min, max) = match self.setup.tokens {
            _ if cae => (self.params.cae_token_min, self.params.cae_token_max),
            TokenMode::Idealised => return Duration::ZERO,
            TokenMode::Fixed(d) => return d,
            TokenMode::Random { min, max } => (min, max),
        };
        if max <= min {
            return min;
        }
        Duration::from_secs(self.rng.random_range(min.as_secs()..=max.as_secs()))
    }

    /// A silent access refreshes the slot: sliding lifetimes restart, and SSO through the
    /// PRT issues the slot a fresh session.
    pub(super) fn touch(&mut self, now: SimTime, app: App, client: Client, eff: Effective) {
        let cred = self.setup.credential;
        let persistent = self.persistence(client, app, None);
        match self.slot(app, client) {
            Slot::Browser => {
                let st = &mut self.state;
                match (&mut st.cookie, eff.prt_only) {
                    (Some(c), false) => c.last_used = now,
                    _ => {
                        st.cookie = Some(Session {
                            auth: eff.auth,
                            mfa: eff.mfa,
                            issued: now,
                            last_used: now,
                            persistent,
                            password_based: cred.password_based(),
                        })
                    }
                }
                if let Some(p) = &mut st.prt {
                    p.last_used = now;
                }
            }
            Slot::Broker => {
                if let Some(p) = &mut self.state.prt {
                    p.last_used = now;
                }
            }
            Slot::App(a) => {
                if let Some(s) = &mut self.state.native[a.index()] {
                    s.last_used = now;
                }
            }
        }
    }

    /// Whether a new browser session cookie is persistent: the persistent-browser control
    /// when a policy sets it, else the user's answer to "Stay signed in?" when the tenant
    /// shows it (MODEL.md §4).
    pub(super) fn persistence(&self, client: Client, app: App, req: Option<&Requirement>) -> bool {
        if client != Client::Browser {
            return true;
        }
        let req = req
            .copied()
            .unwrap_or_else(|| self.user_requirement(app, client, None));
        match req.persistent_browser {
            Some(Persistence::Always) => true,
            Some(Persistence::Never) => false,
            None => self.setup.tenant.kmsi && self.setup.kmsi_accept,
        }
    }

    /// The user completes an interactive prompt now. Returns whether it included an MFA
    /// ceremony.
    pub(super) fn complete_prompt(
        &mut self,
        now: SimTime,
        app: App,
        client: Client,
        need: Need,
        req: &Requirement,
        eff: Option<Effective>,
    ) -> bool {
        let cred = self.setup.credential;
        let full = need != Need::Mfa;
        let remembered = if client == Client::Browser {
            self.remembered(now)
        } else {
            None
        };
        // Remember-MFA skips the second factor of a browser sign-in, unless the prompt is
        // an MFA-frequency re-check.
        let skip_mfa = remembered.is_some() && need != Need::Mfa;
        let mfa_done = (req.mfa || need == Need::Mfa) && !skip_mfa;
        let mfa_claim = if mfa_done || cred.gives_mfa() {
            Some(now)
        } else if let Some(done) = remembered.filter(|_| skip_mfa) {
            Some(done)
        } else {
            eff.and_then(|e| self.state.revocations.mfa_claim(e.mfa))
        };
        let auth = if full {
            now
        } else {
            eff.map_or(now, |e| e.auth)
        };
        let persistent = self.persistence(client, app, Some(req));
        let session = Session {
            auth,
            mfa: mfa_claim,
            issued: now,
            last_used: now,
            persistent,
            password_based: cred.password_based(),
        };
        if need == Need::PasswordChange {
            self.state.revocations.password_changed_at = Some(now);
            self.state.user_risk = RiskLevel::None;
        }
        let slot = self.slot(app, client);
        let st = &mut self.state;
        match slot {
            Slot::Browser => {
                st.cookie = Some(session);
                let remember = self.setup.tenant.remember_mfa;
                if mfa_done && !remember.is_zero() {
                    st.remember_mfa = Some((now, now + remember));
                }
            }
            Slot::Broker => {
                // An interactive WAM authentication issues a new PRT (MODEL.md §2).
                st.prt = Some(Prt {
                    renewed: auth,
                    mfa: mfa_claim,
                    issued: now,
                    last_used: now,
                    password_based: cred.password_based(),
                });
            }
            Slot::App(a) => st.native[a.index()] = Some(session),
        }
        st.last_interactive = Some(now);
        self.resume_waiting(now, slot);
        mfa_done
    }
}
