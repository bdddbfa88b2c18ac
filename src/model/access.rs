//! The user's evaluations: which session an access uses, what the rules say of it, the
//! prompt that renews it, and access tokens.
//!
//! Every judgement is delegated to a rule module: validity to `revocation`, what a session
//! lacks to `sign_in_frequency`, token lifetimes to `tokens`, CAE to `cae`, persistence and
//! third-party app sessions to `cookies`. What is particular to the user is here: the user
//! holds the PRT and the device, can answer prompts, and merges the PRT's freshness into
//! browser and app sessions (MODEL.md §2).

use rand::Rng;

use crate::engine::time::{Duration, SimTime};
use crate::model::action::{Artefact, Observer};
use crate::model::revocation::validity;
use crate::model::rules::{Asker, Protected, Requirement, RuleKey};
use crate::model::session::{AccessToken, Actor, Loss, Outcome, Prt, Reason, Session, StepKind};
use crate::model::sign_in_frequency::{self as sif, Claims, Holder, Need, Verdict};
use crate::model::sim::{Assessment, Effective, Slot, UserSim, Via, NO_DEADLINE};
use crate::model::warm::{dated_back, WarmSlot};
use crate::model::{cae, cookies, tokens};
use crate::policy::{RiskLevel, Sif};
use crate::world::app::{App, Client};

impl UserSim<'_> {
    pub(super) fn slot(&self, app: App, client: Client) -> Slot {
        match client {
            Client::Browser => Slot::Browser,
            Client::Native if self.setup.device.has_broker() => Slot::Broker,
            Client::Native => Slot::App(app),
        }
    }

    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
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
        self.rules.requirement(&key)
    }

    pub(super) fn prt_valid(&self, now: SimTime) -> bool {
        self.prt_check(now).is_ok()
    }

    fn prt_check(&self, now: SimTime) -> Result<Prt, Loss> {
        let Some(p) = self.state.prt else {
            return Err(self.state.prt_loss);
        };
        if self.state.disabled {
            return Err(Loss::Revoked);
        }
        validity(
            Artefact::Prt,
            &p.session(),
            &self.state.revocations,
            self.params,
            now,
        )
        .map(|()| p)
    }

    pub(super) fn valid_cookie(&self, now: SimTime) -> Result<Session, Loss> {
        let Some(c) = self.state.cookie else {
            return Err(self.state.cookie_loss);
        };
        validity(
            Artefact::Cookie,
            &c,
            &self.state.revocations,
            self.params,
            now,
        )
        .map(|()| c)
    }

    pub(super) fn valid_native(&self, now: SimTime, app: App) -> Result<Session, Loss> {
        let Some(s) = self.state.native[app.index()] else {
            return Err(self.state.native_loss[app.index()]);
        };
        validity(
            Artefact::RefreshToken,
            &s,
            &self.state.revocations,
            self.params,
            now,
        )
        .map(|()| s)
    }

    /// The session an access would use: its own slot merged with the PRT, whose fresh
    /// renewal satisfies sign-in frequency on joined devices (MODEL.md §2).
    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    pub(super) fn effective(
        &self,
        now: SimTime,
        app: App,
        client: Client,
    ) -> Result<Effective, Loss> {
        let prt = if self.setup.device.has_broker() {
            self.prt_check(now)
        } else {
            Err(Loss::Never)
        };
        let own = match self.slot(app, client) {
            Slot::Browser => self.valid_cookie(now),
            Slot::Broker => Err(prt.err().unwrap_or(Loss::Never)),
            Slot::App(a) => self.valid_native(now, a),
        };
        match (own, prt.ok()) {
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

    pub(super) fn remembered(&self, now: SimTime) -> Option<SimTime> {
        self.state
            .remember_mfa
            .filter(|(_, until)| now < *until)
            .map(|(done, _)| done)
    }

    /// The claims of an effective session, after "revoke MFA sessions".
    fn claims(&self, eff: Effective, client: Client) -> Claims {
        Claims {
            auth: eff.auth,
            mfa: eff.mfa,
            mfa_valid: self
                .state
                .revocations
                .mfa_claim(eff.mfa, client == Client::Browser),
        }
    }

    fn holder(&self, now: SimTime, client: Client) -> Holder {
        Holder {
            last_interactive: self.state.last_interactive,
            remembered_mfa: client == Client::Browser && self.remembered(now).is_some(),
        }
    }

    /// What an access by the user needs, without changing anything.
    pub(super) fn assess(
        &self,
        now: SimTime,
        app: App,
        client: Client,
        protected: Option<Protected>,
    ) -> Assessment {
        let req = self.user_requirement(app, client, protected);
        self.assess_with(now, app, client, protected, &req)
    }

    /// [`UserSim::assess`] with the access's requirement already looked up.
    fn assess_with(
        &self,
        now: SimTime,
        app: App,
        client: Client,
        protected: Option<Protected>,
        req: &Requirement,
    ) -> Assessment {
        // A third-party app with its own session cookie does not go back to Entra while
        // that cookie lives: not for sign-in frequency, a revocation or a disabled account
        // ([Revoke]: Entra "can't directly revoke a session token issued by an application").
        if cookies::app_session_answers(app, client, protected, self.state.saml_session) {
            return Assessment::AppSession;
        }
        if self.state.disabled {
            return Assessment::Denied(Reason::AccountDisabled);
        }
        // A disabled device has no broker: its apps cannot get tokens through it ([PRT]).
        if self.state.revocations.device_disabled && self.slot(app, client) == Slot::Broker {
            return Assessment::Denied(Reason::DeviceNotTrusted);
        }
        if let Some(r) = req.denial() {
            return Assessment::Denied(r);
        }
        let eff = match self.effective(now, app, client) {
            Ok(e) => e,
            Err(loss) => return Assessment::Need(Need::Full, loss.reason(), None),
        };
        match sif::check(
            req,
            self.claims(eff, client),
            self.holder(now, client),
            now,
            self.limits(),
        ) {
            Verdict::Demands(need, reason) => Assessment::Need(need, reason, Some(eff)),
            Verdict::WithinTolerance => Assessment::Silent(Reason::WithinTolerance, eff),
            Verdict::Satisfied if eff.prt_only => Assessment::Silent(Reason::PrtSso, eff),
            Verdict::Satisfied => Assessment::Silent(Reason::SessionValid, eff),
        }
    }

    /// The earliest time a silent session of this kind stops being silent, for idealised
    /// checks while the user is active.
    pub(super) fn deadline(&self, now: SimTime, app: App, client: Client) -> SimTime {
        if cookies::app_session_answers(app, client, None, self.state.saml_session) {
            return NO_DEADLINE;
        }
        let Ok(eff) = self.effective(now, app, client) else {
            return now;
        };
        let req = self.user_requirement(app, client, None);
        sif::deadline(
            &req,
            self.claims(eff, client),
            self.holder(now, client),
            self.limits(),
            false,
        )
    }

    /// One access by the user: from a cached token, or an Entra evaluation that may prompt.
    // Most accesses find a usable token: that path is inlined by force into the callers,
    // the evaluation stays out of line (docs/performance.md, "eleventh session").
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
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
        let realistic = !self.setup.tokens.is_idealised();
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
        self.evaluated_access(now, step, app, client, protected, interactive, via, obs)
    }

    /// [`UserSim::user_access`] without a usable cached token: Entra evaluates the access.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn evaluated_access<O: Observer>(
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
        let realistic = !self.setup.tokens.is_idealised();
        let req = self.user_requirement(app, client, protected);
        let (outcome, mut reason, mfa, entra) =
            match self.assess_with(now, app, client, protected, &req) {
                Assessment::AppSession => (Outcome::Silent, Reason::AppSession, false, false),
                Assessment::Denied(r) => (Outcome::Denied, r, false, true),
                Assessment::Silent(r, eff) => {
                    self.touch(now, app, client, eff);
                    (Outcome::Silent, r, false, true)
                }
                // A tenant in operation: the slot's session exists already.
                Assessment::Need(Need::Full, Reason::InitialSignIn, None)
                    if self.held_since_before(app, client, &req) =>
                {
                    self.adopt_held_session(now, app, client, &req);
                    (Outcome::Silent, Reason::SessionValid, false, true)
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
                        self.state.prompts_seen += 1;
                        if mfa {
                            self.state.mfa_prompts_seen += 1;
                        }
                        (Outcome::Prompt, r, mfa, true)
                    } else {
                        (Outcome::Deferred, r, false, true)
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
            if cookies::app_keeps_own_session(app, client) {
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
            entra,
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
        cae::rejects(
            tok,
            app,
            &self.state.revocations,
            self.state.risk_event,
            now,
            self.params,
        )
    }

    pub(super) fn issue_token(
        &mut self,
        now: SimTime,
        app: App,
        client: Client,
        req: &Requirement,
    ) {
        let is_cae = cae::applies(app, self.cae_on(), req);
        let long = tokens::long_lived(is_cae, req, self.params);
        let lifetime = self.token_lifetime(long);
        let deadline = || self.deadline(now, app, client);
        let expires = tokens::expiry(now, lifetime, long, deadline, self.params);
        self.state.tokens[client.index()][app.index()] = AccessToken {
            issued: now,
            expires,
            cae: is_cae,
        };
    }

    /// Draws an access token's lifetime from this design's stream.
    pub(super) fn token_lifetime(&mut self, long: bool) -> Duration {
        match tokens::lifetime_range(long, self.setup.tokens, self.params) {
            None => Duration::ZERO,
            Some((min, max)) if max <= min => min,
            Some((min, max)) => {
                Duration::from_secs(self.rng.random_range(min.as_secs()..=max.as_secs()))
            }
        }
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

    /// Whether the user's first access through a slot finds a session the user has held
    /// since before the study (`model::warm`): in a steady start, for a slot that never
    /// held one and whose session survives the end of a day (refresh tokens, the PRT, a
    /// persistent cookie). A non-persistent cookie dies with the browser, so a tenant in
    /// operation signs in afresh there too.
    fn held_since_before(&self, app: App, client: Client, req: &Requirement) -> bool {
        self.warm.is_some()
            && self.first_in_slot(self.slot(app, client))
            && self.persistence(client, app, Some(req))
    }

    /// Gives the slot the session a tenant in operation would hold: authenticated (with
    /// MFA where `req` asks for it) a share of the renewal interval ago
    /// ([`WarmStart::session_age`](crate::model::warm::WarmStart::session_age)).
    fn adopt_held_session(&mut self, now: SimTime, app: App, client: Client, req: &Requirement) {
        let Some(w) = self.warm else {
            return;
        };
        let slot = self.slot(app, client);
        let age = w.session_age(warm_slot(slot), req, self.limits().remember_mfa);
        let auth = dated_back(now, age);
        let cred = self.setup.credential;
        let session = Session {
            auth,
            mfa: (req.mfa || cred.gives_mfa()).then_some(auth),
            issued: now,
            last_used: now,
            persistent: true,
            password_based: cred.password_based(),
        };
        let st = &mut self.state;
        match slot {
            Slot::Browser => st.cookie = Some(session),
            Slot::Broker => {
                st.prt = Some(Prt {
                    renewed: auth,
                    mfa: session.mfa,
                    issued: now,
                    last_used: now,
                    password_based: session.password_based,
                })
            }
            Slot::App(a) => st.native[a.index()] = Some(session),
        }
    }

    /// Whether the slot has never held a session: the user's first sign-in in it.
    fn first_in_slot(&self, slot: Slot) -> bool {
        let st = &self.state;
        match slot {
            Slot::Browser => st.cookie.is_none() && st.cookie_loss == Loss::Never,
            Slot::Broker => st.prt.is_none() && st.prt_loss == Loss::Never,
            Slot::App(a) => {
                st.native[a.index()].is_none() && st.native_loss[a.index()] == Loss::Never
            }
        }
    }

    /// Whether a new browser session cookie for the user is persistent.
    pub(super) fn persistence(&self, client: Client, app: App, req: Option<&Requirement>) -> bool {
        if client != Client::Browser {
            return true;
        }
        let req = req
            .copied()
            .unwrap_or_else(|| self.user_requirement(app, client, None));
        cookies::persistent(
            req.persistent_browser,
            self.setup.tenant.kmsi,
            self.setup.kmsi_accept,
        )
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
            eff.and_then(|e| {
                self.state
                    .revocations
                    .mfa_claim(e.mfa, client == Client::Browser)
            })
        };
        let auth = if full {
            now
        } else {
            eff.map_or(now, |e| e.auth)
        };
        let slot = self.slot(app, client);
        let limits = self.limits();
        let persistent = self.persistence(client, app, Some(req));
        let session = Session {
            auth,
            mfa: mfa_claim,
            issued: now,
            last_used: now,
            persistent,
            password_based: cred.password_based(),
        };
        // A policy that grants access with a password change (the risky-user template)
        // is satisfied by this prompt whatever else it asked for: the user changes the
        // password, which remediates the risk (Identity Protection) and ends the user's
        // other password-based sessions.
        if req.password_change && self.state.user_risk != RiskLevel::None {
            self.change_password(now);
        }
        let warm = self.warm;
        // The remember-MFA cookie is set only when the user ticks "Don't ask again"
        // (howto-mfa-mfasettings).
        let ticks = self.setup.remember_mfa_accept;
        let st = &mut self.state;
        match slot {
            Slot::Browser => {
                st.cookie = Some(session);
                if mfa_done && ticks && limits.remembered_until(now).is_some() {
                    let done = match warm.filter(|_| !st.remember_mfa_before) {
                        Some(w) => dated_back(now, w.remember_mfa_age(limits.remember_mfa)),
                        None => now,
                    };
                    st.remember_mfa = limits.remembered_until(done).map(|until| (done, until));
                    st.remember_mfa_before = true;
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

fn warm_slot(slot: Slot) -> WarmSlot {
    match slot {
        Slot::Browser => WarmSlot::Browser,
        Slot::Broker => WarmSlot::Broker,
        Slot::App(a) => WarmSlot::App(a),
    }
}
