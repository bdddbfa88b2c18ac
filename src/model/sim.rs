//! One user's session lifecycle as a discrete-event simulation.
//!
//! [`UserSim`] owns a small [`EventQueue`] of the user's (and their attacker's) actions and
//! of the evaluations those actions set in motion: sign-in frequency deadlines while the
//! user is active (idealised mode), access-token renewals (realistic mode), and revocations
//! reaching CAE-capable apps. Every evaluation is reported to an [`Observer`]: `trace`
//! prints them, population runs aggregate them.
//!
//! The rules follow MODEL.md §2–§6; `docs/model.md` lists each with its parameter.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::app::{App, Client};
use crate::model::action::{Action, Artefact, Observer, UserSetup};
use crate::model::params::{ModelParams, TokenMode};
use crate::model::rules::{Protected, Requirement, RuleTable};
use crate::model::session::{
    AccessToken, Actor, Loss, Outcome, Prt, Reason, Record, Revocations, Session, StepKind,
};
use crate::policy::RiskLevel;
use crate::queue::{EventQueue, ScheduleError};
use crate::time::{Duration, SimTime};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Foreground,
    Background,
    Attacker { trusted_ip: bool },
}

#[derive(Copy, Clone, Debug)]
pub(super) struct Activity {
    pub(super) app: App,
    pub(super) client: Client,
    pub(super) kind: Kind,
    pub(super) until: SimTime,
    /// Generation: a check event carrying an older generation is stale (lazy cancellation).
    pub(super) gen: u32,
    pub(super) live: bool,
    /// A background request was deferred and waits for an interaction with its session.
    pub(super) waiting: bool,
}

#[derive(Copy, Clone, Debug)]
pub(super) enum Event {
    Action(Action),
    /// Re-evaluate an activity: a deadline, a token renewal or a revocation reaching it.
    Check {
        activity: u16,
        gen: u32,
    },
    End {
        activity: u16,
    },
}

/// What led to a user's access, for the reason a silent evaluation reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Via {
    /// The user (or app) asked for access.
    Access,
    /// A Windows sign-in that may have renewed the PRT just before.
    DeviceSignIn { prt_renewed: bool },
    /// An access token ran out and the client renewed it.
    Renewal,
}

/// Which authentication session an access uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Browser,
    /// The PRT/broker, shared by native apps on devices with an Entra identity.
    Broker,
    /// One app's own refresh token, on a device without a broker.
    App(App),
}

/// What an access needs before it can proceed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Need {
    Full,
    Mfa,
    PasswordChange,
}

/// The session an access would use, merged from its own slot and the PRT.
#[derive(Copy, Clone, Debug)]
pub(super) struct Effective {
    pub(super) auth: SimTime,
    pub(super) mfa: Option<SimTime>,
    /// The slot itself is empty: the PRT signs the user in (SSO).
    pub(super) prt_only: bool,
}

#[derive(Copy, Clone, Debug)]
pub(super) enum Assessment {
    Silent(Reason, Effective),
    Need(Need, Reason, Option<Effective>),
    Denied(Reason),
}

/// What the attacker holds.
#[derive(Copy, Clone, Debug)]
pub(super) struct Stolen {
    pub(super) artefact: Artefact,
    pub(super) session: Session,
    pub(super) tokens: [AccessToken; App::COUNT],
}

/// The mutable state of one user's sessions.
#[derive(Clone, Debug)]
pub(super) struct State {
    pub(super) locked: bool,
    pub(super) browser_open: bool,
    pub(super) cookie: Option<Session>,
    pub(super) cookie_loss: Loss,
    pub(super) prt: Option<Prt>,
    pub(super) prt_loss: Loss,
    pub(super) native: [Option<Session>; App::COUNT],
    pub(super) native_loss: [Loss; App::COUNT],
    /// Remember-MFA cookie: when MFA was done, and until when it is remembered.
    pub(super) remember_mfa: Option<(SimTime, SimTime)>,
    /// The third-party app's own session cookie, live while the browser stays open.
    pub(super) saml_session: bool,
    pub(super) last_interactive: Option<SimTime>,
    pub(super) revocations: Revocations,
    /// Latest high-user-risk event (a CAE critical event except for SharePoint).
    pub(super) risk_event: Option<SimTime>,
    pub(super) disabled: bool,
    pub(super) user_risk: RiskLevel,
    pub(super) sign_in_risk: RiskLevel,
    pub(super) tokens: [[AccessToken; App::COUNT]; 2],
    pub(super) stolen: Option<Stolen>,
}

impl State {
    pub(super) fn new() -> Self {
        State {
            locked: false,
            browser_open: true,
            cookie: None,
            cookie_loss: Loss::Never,
            prt: None,
            prt_loss: Loss::Never,
            native: [None; App::COUNT],
            native_loss: [Loss::Never; App::COUNT],
            remember_mfa: None,
            saml_session: false,
            last_interactive: None,
            revocations: Revocations::default(),
            risk_event: None,
            disabled: false,
            user_risk: RiskLevel::None,
            sign_in_risk: RiskLevel::None,
            tokens: [[AccessToken::default(); App::COUNT]; 2],
            stolen: None,
        }
    }
}

/// One user's simulation. Create it, [`schedule`](Self::schedule) actions, then
/// [`run_until`](Self::run_until).
pub struct UserSim<'a> {
    pub(super) params: &'a ModelParams,
    pub(super) rules: &'a RuleTable,
    pub(super) setup: UserSetup,
    pub(super) rng: ChaCha8Rng,
    pub(super) queue: EventQueue<Event>,
    pub(super) state: State,
    pub(super) activities: Vec<Activity>,
    pub(super) events: u64,
    /// Set by the prompt being recorded: a per-app prompt on a device without a broker.
    pub(super) per_app_prompt: bool,
}

/// Time a stale or paused activity check is pushed back by when nothing else bounds it.
pub(super) const NO_DEADLINE: SimTime = SimTime::NEVER;

impl<'a> UserSim<'a> {
    /// `rules` must be filled ([`RuleTable::fill_all`]) for the profile of this user.
    pub fn new(
        params: &'a ModelParams,
        rules: &'a RuleTable,
        setup: UserSetup,
        rng: ChaCha8Rng,
    ) -> Self {
        UserSim {
            params,
            rules,
            setup,
            rng,
            queue: EventQueue::new(),
            state: State::new(),
            activities: Vec::new(),
            events: 0,
            per_app_prompt: false,
        }
    }

    /// A generator for a seed, for callers that do not derive streams themselves.
    pub fn rng_from_seed(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Reuses this simulation's allocations for another user.
    pub fn reset(&mut self, rules: &'a RuleTable, setup: UserSetup, rng: ChaCha8Rng) {
        self.rules = rules;
        self.setup = setup;
        self.rng = rng;
        self.queue.clear();
        self.state = State::new();
        self.activities.clear();
        self.events = 0;
    }

    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The random stream of this user, for generators that share it.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub fn schedule(&mut self, at: SimTime, action: Action) -> Result<(), ScheduleError> {
        self.queue
            .schedule_at(at, Event::Action(action))
            .map(|_| ())
    }

    /// Processes every event before `end` (all of them with [`SimTime::NEVER`]).
    pub fn run_until<O: Observer>(&mut self, end: SimTime, obs: &mut O) {
        while let Some(t) = self.queue.peek_time() {
            if t >= end {
                break;
            }
            let Some((now, event)) = self.queue.pop() else {
                break;
            };
            self.events += 1;
            match event {
                Event::Action(a) => self.on_action(now, a, obs),
                Event::Check { activity, gen } => self.on_check(now, activity as usize, gen, obs),
                Event::End { activity } => self.on_end(now, activity as usize),
            }
        }
    }

    // ---- actions ----------------------------------------------------------------------

    pub(super) fn on_action<O: Observer>(&mut self, now: SimTime, action: Action, obs: &mut O) {
        match action {
            Action::SignIn { app, client } => self.sign_in(now, app, client, obs),
            Action::Use { app, client, until } => {
                self.start_activity(now, app, client, Kind::Foreground, until, obs)
            }
            Action::Background { app, client, until } => {
                self.start_activity(now, app, client, Kind::Background, until, obs)
            }
            Action::Open {
                app,
                client,
                protected,
            } => {
                if client == Client::Browser {
                    self.state.browser_open = true;
                }
                self.user_access(
                    now,
                    StepKind::Open,
                    app,
                    client,
                    protected,
                    true,
                    Via::Access,
                    obs,
                );
            }
            Action::Lock => self.state.locked = true,
            Action::Unlock => self.unlock(now, obs),
            Action::SignOut => self.sign_out(),
            Action::OpenBrowser => self.state.browser_open = true,
            Action::CloseBrowser => self.close_browser(),
            Action::PasswordChange => {
                self.state.revocations.password_changed_at = Some(now);
                // A password change remediates user risk (Identity Protection).
                self.state.user_risk = RiskLevel::None;
                self.critical_event(now);
            }
            Action::PasswordReset => {
                // An administrator's reset in the Entra admin center revokes every refresh
                // token, password-based or not (docs/sources.md, Q5).
                self.state.revocations.password_changed_at = Some(now);
                self.state.revocations.sessions_valid_from = Some(now);
                self.state.user_risk = RiskLevel::None;
                self.critical_event(now);
            }
            Action::RevokeSessions => {
                self.state.revocations.sessions_valid_from = Some(now);
                self.critical_event(now);
            }
            Action::RevokeMfaSessions => {
                self.state.revocations.mfa_valid_from = Some(now);
                self.state.remember_mfa = None;
                // Not a CAE critical event: it only changes what the next sign-in asks.
            }
            Action::DisableAccount => {
                self.state.disabled = true;
                self.critical_event(now);
            }
            Action::SetUserRisk(level) => {
                self.state.user_risk = level;
                if level == RiskLevel::High {
                    self.state.risk_event = Some(now);
                    self.schedule_cae_checks(now, true);
                }
            }
            Action::SetSignInRisk(level) => self.state.sign_in_risk = level,
            Action::Steal { artefact } => self.steal(now, artefact),
            Action::AttackerUse {
                app,
                until,
                trusted_ip,
            } => self.start_activity(
                now,
                app,
                Client::Native,
                Kind::Attacker { trusted_ip },
                until,
                obs,
            ),
        }
    }

    /// A Windows sign-in: renews the PRT on joined devices, then accesses `app` if given.
    pub(super) fn sign_in<O: Observer>(
        &mut self,
        now: SimTime,
        app: Option<App>,
        client: Client,
        obs: &mut O,
    ) {
        self.state.locked = false;
        let renewed = self.renew_prt_on_device_sign_in(now);
        match app {
            Some(app) => {
                if client == Client::Browser {
                    self.state.browser_open = true;
                }
                self.user_access(
                    now,
                    StepKind::SignIn,
                    app,
                    client,
                    None,
                    true,
                    Via::DeviceSignIn {
                        prt_renewed: renewed,
                    },
                    obs,
                );
            }
            None if self.setup.device.prt_from_device_sign_in() => {
                let (outcome, reason) = if self.state.disabled {
                    (Outcome::Denied, Reason::AccountDisabled)
                } else if renewed {
                    (Outcome::Silent, Reason::PrtRenewed)
                } else {
                    (Outcome::Silent, Reason::SessionValid)
                };
                self.emit(
                    obs,
                    now,
                    Actor::User,
                    StepKind::SignIn,
                    None,
                    client,
                    None,
                    outcome,
                    reason,
                    false,
                    true,
                    None,
                );
            }
            None => {}
        }
    }

    pub(super) fn unlock<O: Observer>(&mut self, now: SimTime, obs: &mut O) {
        self.state.locked = false;
        if self.renew_prt_on_device_sign_in(now) {
            self.emit(
                obs,
                now,
                Actor::User,
                StepKind::Unlock,
                None,
                Client::Native,
                None,
                Outcome::Silent,
                Reason::PrtRenewed,
                false,
                true,
                None,
            );
        }
        // Foreground work paused by the lock resumes: an interaction, so an evaluation.
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            if a.live && a.kind == Kind::Foreground && a.until > now {
                self.evaluate_activity(now, i, false, obs);
            }
        }
    }

    /// Joined and hybrid-joined devices renew the PRT at an unlock or Windows sign-in when
    /// its last renewal is at least `prt_renewal_interval` old, or when it is missing or
    /// invalid (MODEL.md §2). Returns whether it was renewed.
    pub(super) fn renew_prt_on_device_sign_in(&mut self, now: SimTime) -> bool {
        if !self.setup.device.prt_from_device_sign_in() || self.state.disabled {
            return false;
        }
        let valid = self.prt_valid(now);
        let st = &mut self.state;
        let cred = self.setup.credential;
        match (&mut st.prt, valid) {
            (Some(prt), true) => {
                prt.last_used = now;
                if now - prt.renewed >= self.params.prt_renewal_interval {
                    prt.renewed = now;
                    if cred.gives_mfa() {
                        prt.mfa = Some(now);
                    }
                    true
                } else {
                    false
                }
            }
            _ => {
                st.prt = Some(Prt {
                    renewed: now,
                    mfa: cred.gives_mfa().then_some(now),
                    issued: now,
                    last_used: now,
                    password_based: cred.password_based(),
                });
                true
            }
        }
    }

    pub(super) fn sign_out(&mut self) {
        self.close_browser();
        let st = &mut self.state;
        st.locked = true;
        st.cookie = None;
        st.cookie_loss = Loss::Never;
        st.prt = None;
        st.prt_loss = Loss::Never;
        st.native = [None; App::COUNT];
        st.native_loss = [Loss::Never; App::COUNT];
        st.remember_mfa = None;
        st.tokens = [[AccessToken::default(); App::COUNT]; 2];
        for a in &mut self.activities {
            if a.live && !matches!(a.kind, Kind::Attacker { .. }) {
                a.live = false;
            }
        }
    }

    pub(super) fn close_browser(&mut self) {
        let st = &mut self.state;
        st.browser_open = false;
        st.saml_session = false;
        if let Some(c) = st.cookie {
            if !c.persistent {
                st.cookie = None;
                st.cookie_loss = Loss::BrowserClosed;
            }
        }
        // Web apps keep their tokens in the page: they go with it.
        st.tokens[Client::Browser.index()] = [AccessToken::default(); App::COUNT];
        for a in &mut self.activities {
            // Attacker activities run on the attacker's machine and carry `Client::Native`.
            if a.live && a.client == Client::Browser {
                a.live = false;
            }
        }
    }

    /// A CAE critical event: CAE-capable apps reject tokens after the propagation delay;
    /// in idealised mode other apps see the change at once (they hold no tokens).
    pub(super) fn critical_event(&mut self, now: SimTime) {
        self.state.revocations.critical_event = Some(now);
        self.schedule_cae_checks(now, false);
    }

    pub(super) fn schedule_cae_checks(&mut self, now: SimTime, user_risk: bool) {
        let delay = self.params.cae_propagation_delay;
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            if !a.live {
                continue;
            }
            // User risk is not a critical event for SharePoint (MODEL.md §5).
            if user_risk && a.app == App::Sharepoint {
                continue;
            }
            let at = if a.app.cae_capable() && self.cae_active() {
                now + delay
            } else if self.setup.tokens == TokenMode::Idealised {
                now
            } else {
                continue;
            };
            if at < a.until {
                self.schedule_check(i, at);
            }
        }
    }

    pub(super) fn cae_active(&self) -> bool {
        self.setup.tenant.cae
    }

    pub(super) fn steal(&mut self, now: SimTime, artefact: Artefact) {
        let session = match artefact {
            Artefact::Cookie => self.valid_cookie(now).ok().map(|c| {
                // With PRT SSO the cookie Entra last issued carries the PRT's freshness.
                let eff = self.effective(now, App::OfficeWeb, Client::Browser).ok();
                Session {
                    auth: eff.map_or(c.auth, |e| e.auth),
                    mfa: eff.map_or(c.mfa, |e| e.mfa),
                    ..c
                }
            }),
            Artefact::RefreshToken => {
                if self.setup.device.has_broker() {
                    self.prt_session(now)
                } else {
                    // The most recently used app's refresh token.
                    App::ALL
                        .into_iter()
                        .filter_map(|a| self.valid_native(now, a).ok())
                        .max_by_key(|s| s.last_used)
                }
            }
            Artefact::Prt => self.prt_session(now),
        };
        self.state.stolen = session.map(|session| Stolen {
            artefact,
            session,
            tokens: [AccessToken::default(); App::COUNT],
        });
    }

    pub(super) fn prt_session(&self, now: SimTime) -> Option<Session> {
        if !self.prt_valid(now) {
            return None;
        }
        self.state.prt.map(|p| Session {
            auth: p.renewed,
            mfa: p.mfa,
            issued: p.issued,
            last_used: p.last_used,
            persistent: true,
            password_based: p.password_based,
        })
    }

    // ---- activities -------------------------------------------------------------------

    pub(super) fn start_activity<O: Observer>(
        &mut self,
        now: SimTime,
        app: App,
        client: Client,
        kind: Kind,
        until: SimTime,
        obs: &mut O,
    ) {
        if until <= now {
            return;
        }
        if client == Client::Browser && !matches!(kind, Kind::Attacker { .. }) {
            self.state.browser_open = true;
        }
        let activity = Activity {
            app,
            client,
            kind,
            until,
            gen: 0,
            live: true,
            waiting: false,
        };
        let index = match self.activities.iter().position(|a| !a.live) {
            Some(i) => {
                // Keep the generation rising so checks of the slot's previous activity stay stale.
                let gen = self.activities[i].gen.wrapping_add(1);
                self.activities[i] = Activity { gen, ..activity };
                i
            }
            None => {
                self.activities.push(activity);
                self.activities.len() - 1
            }
        };
        let _ = self.queue.schedule_at(
            until,
            Event::End {
                activity: index as u16,
            },
        );
        if kind == Kind::Foreground && self.state.locked {
            // Paused until the unlock, which evaluates it.
            return;
        }
        self.evaluate_activity(now, index, false, obs);
    }

    pub(super) fn on_end(&mut self, now: SimTime, i: usize) {
        let Some(a) = self.activities.get_mut(i) else {
            return;
        };
        if !a.live || a.until != now {
            return;
        }
        a.live = false;
        let (app, client, kind) = (a.app, a.client, a.kind);
        if kind != Kind::Foreground && kind != Kind::Background {
            return;
        }
        // Activity keeps the session's sliding lifetime alive.
        match self.slot(app, client) {
            Slot::Browser => {
                if let Some(c) = &mut self.state.cookie {
                    c.last_used = c.last_used.max(now);
                }
            }
            Slot::Broker => {
                if let Some(p) = &mut self.state.prt {
                    p.last_used = p.last_used.max(now);
                }
            }
            Slot::App(a) => {
                if let Some(s) = &mut self.state.native[a.index()] {
                    s.last_used = s.last_used.max(now);
                }
            }
        }
    }

    pub(super) fn on_check<O: Observer>(&mut self, now: SimTime, i: usize, gen: u32, obs: &mut O) {
        let Some(a) = self.activities.get(i).copied() else {
            return;
        };
        if !a.live || a.gen != gen || now >= a.until || a.waiting {
            return;
        }
        if a.kind == Kind::Foreground && self.state.locked {
            return;
        }
        self.evaluate_activity(now, i, true, obs);
    }

    /// Evaluates an activity now and schedules its next check.
    pub(super) fn evaluate_activity<O: Observer>(
        &mut self,
        now: SimTime,
        i: usize,
        is_check: bool,
        obs: &mut O,
    ) {
        let a = self.activities[i];
        let outcome = match a.kind {
            Kind::Attacker { trusted_ip } => {
                self.attacker_access(now, a.app, trusted_ip, is_check, obs)
            }
            Kind::Foreground | Kind::Background => {
                let interactive = a.kind == Kind::Foreground;
                let step = if interactive {
                    StepKind::Use
                } else {
                    StepKind::Background
                };
                // A check in idealised mode is only an evaluation when something is due.
                if is_check && self.setup.tokens == TokenMode::Idealised {
                    if let Assessment::Silent(..) = self.assess(now, a.app, a.client, None) {
                        self.reschedule(now, i);
                        return;
                    }
                }
                let via = if is_check { Via::Renewal } else { Via::Access };
                self.user_access(now, step, a.app, a.client, None, interactive, via, obs)
            }
        };
        match outcome {
            Outcome::Prompt | Outcome::Silent => self.reschedule(now, i),
            Outcome::Deferred => self.activities[i].waiting = true,
            Outcome::Denied => {
                // The app (or the attacker) cannot continue without a new session.
                self.activities[i].live = false;
            }
        }
    }

    pub(super) fn schedule_check(&mut self, i: usize, at: SimTime) {
        let a = &mut self.activities[i];
        a.gen = a.gen.wrapping_add(1);
        let gen = a.gen;
        let _ = self.queue.schedule_at(
            at,
            Event::Check {
                activity: i as u16,
                gen,
            },
        );
    }

    /// Schedules the activity's next check: its token's expiry, or its session's next
    /// sign-in frequency deadline in idealised mode.
    pub(super) fn reschedule(&mut self, now: SimTime, i: usize) {
        let a = self.activities[i];
        let next = match (a.kind, self.setup.tokens) {
            (Kind::Attacker { .. }, TokenMode::Idealised) => self.attacker_deadline(now, a.app),
            (Kind::Attacker { .. }, _) => self
                .state
                .stolen
                .map_or(NO_DEADLINE, |s| s.tokens[a.app.index()].expires),
            (_, TokenMode::Idealised) => self.deadline(now, a.app, a.client),
            _ => self.state.tokens[a.client.index()][a.app.index()].expires,
        };
        if next < a.until {
            // Never schedule at `now` again: that would loop without time advancing.
            self.schedule_check(i, next.max(now + Duration::from_secs(1)));
        }
    }

    /// Resumes background activities that waited for an interaction with `slot`.
    pub(super) fn resume_waiting(&mut self, now: SimTime, slot: Slot) {
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            if a.live && a.waiting && self.slot(a.app, a.client) == slot {
                self.activities[i].waiting = false;
                self.reschedule(now, i);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit<O: Observer>(
        &self,
        obs: &mut O,
        at: SimTime,
        actor: Actor,
        step: StepKind,
        app: Option<App>,
        client: Client,
        protected: Option<Protected>,
        outcome: Outcome,
        reason: Reason,
        mfa: bool,
        entra: bool,
        requirement: Option<Requirement>,
    ) {
        let unintended =
            outcome == Outcome::Prompt && (reason.is_unintended() || self.per_app_prompt);
        obs.record(&Record {
            at,
            actor,
            step,
            app,
            client,
            protected,
            outcome,
            reason,
            mfa,
            entra,
            unintended,
            requirement,
        });
    }
}
