//! One user's session lifecycle as a discrete-event simulation.
//!
//! [`UserSim`] owns a small [`EventQueue`] of the user's (and their attacker's) actions and
//! of the evaluations those actions set in motion: sign-in frequency deadlines while the
//! user is active (idealised mode), access-token renewals (realistic mode), and revocations
//! reaching CAE-capable apps. Every evaluation is reported to an [`Observer`]: `trace`
//! prints them, population runs aggregate them.
//!
//! The rules follow MODEL.md §2–§6; `docs/model.md` lists each with its parameter.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::app::{App, Client, DeviceTrust};
use crate::model::params::{ModelParams, TenantSettings, TokenMode};
use crate::model::rules::{Access, Asker, Protected, Requirement, RuleKey, RuleTable};
use crate::model::session::{
    idle_expired, AccessToken, Actor, Loss, Outcome, Prt, Reason, Record, Revocations, Session,
    StepKind,
};
use crate::policy::{CaeMode, Persistence, RiskLevel, Sif};
use crate::queue::{EventQueue, ScheduleError};
use crate::time::{Duration, SimTime};

/// How the user proves who they are at a primary sign-in (MODEL.md §1).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Credential {
    #[default]
    Password,
    /// Windows Hello for Business: the PRT carries an MFA claim; not password-based.
    WindowsHello,
    /// Passkey / FIDO2: phishing-resistant, satisfies MFA, not password-based.
    Passkey,
}

impl Credential {
    pub fn parse(text: &str) -> Result<Credential, String> {
        match text {
            "password" => Ok(Credential::Password),
            "whfb" | "windows_hello" => Ok(Credential::WindowsHello),
            "passkey" => Ok(Credential::Passkey),
            other => Err(crate::app::unknown_name(
                "credential",
                other,
                &["password", "whfb", "passkey"],
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Credential::Password => "password",
            Credential::WindowsHello => "whfb",
            Credential::Passkey => "passkey",
        }
    }

    fn password_based(self) -> bool {
        self == Credential::Password
    }

    /// Strong credentials carry an MFA claim by themselves.
    fn gives_mfa(self) -> bool {
        self != Credential::Password
    }
}

/// What an attacker can copy (MODEL.md §8).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Artefact {
    /// The browser's Entra session cookie (pass-the-cookie).
    Cookie,
    /// A refresh token of a native app (the broker's, on a device with a PRT).
    RefreshToken,
    /// The PRT with its session key.
    Prt,
}

impl Artefact {
    pub const ALL: [Artefact; 3] = [Artefact::Cookie, Artefact::RefreshToken, Artefact::Prt];

    pub fn name(self) -> &'static str {
        match self {
            Artefact::Cookie => "cookie",
            Artefact::RefreshToken => "refresh_token",
            Artefact::Prt => "prt",
        }
    }

    pub fn parse(text: &str) -> Result<Artefact, String> {
        Artefact::ALL
            .into_iter()
            .find(|a| a.name() == text)
            .ok_or_else(|| {
                crate::app::unknown_name("artefact", text, &["cookie", "refresh_token", "prt"])
            })
    }

    fn client(self) -> Client {
        match self {
            Artefact::Cookie => Client::Browser,
            Artefact::RefreshToken | Artefact::Prt => Client::Native,
        }
    }
}

/// Something that happens to the user's sessions: a scripted scenario step or a generated
/// population activity.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Windows (device) sign-in, then, with an app, an access to it.
    SignIn {
        app: Option<App>,
        client: Client,
    },
    /// Continuous interaction with the app until `until`.
    Use {
        app: App,
        client: Client,
        until: SimTime,
    },
    /// Background requests by the app until `until` (sync, an upload).
    Background {
        app: App,
        client: Client,
        until: SimTime,
    },
    /// One access, possibly to a protected action or authentication context.
    Open {
        app: App,
        client: Client,
        protected: Option<Protected>,
    },
    Lock,
    Unlock,
    /// Signs out of a shared device: the user's profile, with its browser, PRT and app
    /// sessions, is removed (shared device mode).
    SignOut,
    OpenBrowser,
    CloseBrowser,
    PasswordChange,
    RevokeSessions,
    RevokeMfaSessions,
    DisableAccount,
    /// Identity Protection raises (or clears) the user's risk.
    SetUserRisk(RiskLevel),
    SetSignInRisk(RiskLevel),
    /// The attacker copies an artefact.
    Steal {
        artefact: Artefact,
    },
    /// The attacker replays the stolen artefact against `app` until `until`. With
    /// `trusted_ip`, Entra sees the request from an allowed location (a proxy in the
    /// victim's network) while resources see the attacker's own address.
    AttackerUse {
        app: App,
        until: SimTime,
        trusted_ip: bool,
    },
}

/// Receives every evaluation.
pub trait Observer {
    fn record(&mut self, record: &Record);
}

impl Observer for Vec<Record> {
    fn record(&mut self, record: &Record) {
        self.push(*record);
    }
}

/// The static description of one simulated user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserSetup {
    pub device: DeviceTrust,
    pub credential: Credential,
    /// Answer to the "Stay signed in?" prompt when it is shown.
    pub kmsi_accept: bool,
    pub tenant: TenantSettings,
    pub tokens: TokenMode,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Foreground,
    Background,
    Attacker { trusted_ip: bool },
}

#[derive(Copy, Clone, Debug)]
struct Activity {
    app: App,
    client: Client,
    kind: Kind,
    until: SimTime,
    /// Generation: a check event carrying an older generation is stale (lazy cancellation).
    gen: u32,
    live: bool,
    /// A background request was deferred and waits for an interaction with its session.
    waiting: bool,
}

#[derive(Copy, Clone, Debug)]
enum Event {
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
enum Via {
    /// The user (or app) asked for access.
    Access,
    /// A Windows sign-in that may have renewed the PRT just before.
    DeviceSignIn { prt_renewed: bool },
    /// An access token ran out and the client renewed it.
    Renewal,
}

/// Which authentication session an access uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Slot {
    Browser,
    /// The PRT/broker, shared by native apps on devices with an Entra identity.
    Broker,
    /// One app's own refresh token, on a device without a broker.
    App(App),
}

/// What an access needs before it can proceed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Need {
    Full,
    Mfa,
    PasswordChange,
}

/// The session an access would use, merged from its own slot and the PRT.
#[derive(Copy, Clone, Debug)]
struct Effective {
    auth: SimTime,
    mfa: Option<SimTime>,
    /// The slot itself is empty: the PRT signs the user in (SSO).
    prt_only: bool,
}

#[derive(Copy, Clone, Debug)]
enum Assessment {
    Silent(Reason, Effective),
    Need(Need, Reason, Option<Effective>),
    Denied(Reason),
}

/// What the attacker holds.
#[derive(Copy, Clone, Debug)]
struct Stolen {
    artefact: Artefact,
    session: Session,
    tokens: [AccessToken; App::COUNT],
}

/// The mutable state of one user's sessions.
#[derive(Clone, Debug)]
struct State {
    locked: bool,
    browser_open: bool,
    cookie: Option<Session>,
    cookie_loss: Loss,
    prt: Option<Prt>,
    prt_loss: Loss,
    native: [Option<Session>; App::COUNT],
    native_loss: [Loss; App::COUNT],
    /// Remember-MFA cookie: when MFA was done, and until when it is remembered.
    remember_mfa: Option<(SimTime, SimTime)>,
    /// The third-party app's own session cookie, live while the browser stays open.
    saml_session: bool,
    last_interactive: Option<SimTime>,
    revocations: Revocations,
    /// Latest high-user-risk event (a CAE critical event except for SharePoint).
    risk_event: Option<SimTime>,
    disabled: bool,
    user_risk: RiskLevel,
    sign_in_risk: RiskLevel,
    tokens: [[AccessToken; App::COUNT]; 2],
    stolen: Option<Stolen>,
}

impl State {
    fn new() -> Self {
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
    params: &'a ModelParams,
    rules: &'a RuleTable,
    setup: UserSetup,
    rng: ChaCha8Rng,
    queue: EventQueue<Event>,
    state: State,
    activities: Vec<Activity>,
    events: u64,
    /// Set by the prompt being recorded: a per-app prompt on a device without a broker.
    per_app_prompt: bool,
}

/// Time a stale or paused activity check is pushed back by when nothing else bounds it.
const NO_DEADLINE: SimTime = SimTime::NEVER;

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

    fn on_action<O: Observer>(&mut self, now: SimTime, action: Action, obs: &mut O) {
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
    fn sign_in<O: Observer>(
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

    fn unlock<O: Observer>(&mut self, now: SimTime, obs: &mut O) {
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
    fn renew_prt_on_device_sign_in(&mut self, now: SimTime) -> bool {
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

    fn sign_out(&mut self) {
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

    fn close_browser(&mut self) {
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
    fn critical_event(&mut self, now: SimTime) {
        self.state.revocations.critical_event = Some(now);
        self.schedule_cae_checks(now, false);
    }

    fn schedule_cae_checks(&mut self, now: SimTime, user_risk: bool) {
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

    fn cae_active(&self) -> bool {
        self.setup.tenant.cae
    }

    fn steal(&mut self, now: SimTime, artefact: Artefact) {
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

    fn prt_session(&self, now: SimTime) -> Option<Session> {
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

    fn start_activity<O: Observer>(
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

    fn on_end(&mut self, now: SimTime, i: usize) {
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

    fn on_check<O: Observer>(&mut self, now: SimTime, i: usize, gen: u32, obs: &mut O) {
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
    fn evaluate_activity<O: Observer>(
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

    fn schedule_check(&mut self, i: usize, at: SimTime) {
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
    fn reschedule(&mut self, now: SimTime, i: usize) {
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
    fn resume_waiting(&mut self, now: SimTime, slot: Slot) {
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            if a.live && a.waiting && self.slot(a.app, a.client) == slot {
                self.activities[i].waiting = false;
                self.reschedule(now, i);
            }
        }
    }

    // ---- the user's evaluations -------------------------------------------------------

    fn slot(&self, app: App, client: Client) -> Slot {
        match client {
            Client::Browser => Slot::Browser,
            Client::Native if self.setup.device.has_broker() => Slot::Broker,
            Client::Native => Slot::App(app),
        }
    }

    fn user_requirement(
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

    fn prt_valid(&self, now: SimTime) -> bool {
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

    fn prt_loss(&self, now: SimTime) -> Loss {
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

    fn valid_cookie(&self, now: SimTime) -> Result<Session, Loss> {
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

    fn valid_native(&self, now: SimTime, app: App) -> Result<Session, Loss> {
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
    fn effective(&self, now: SimTime, app: App, client: Client) -> Result<Effective, Loss> {
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

    fn within_tolerance(&self, now: SimTime) -> bool {
        self.state
            .last_interactive
            .is_some_and(|t| now - t < self.params.every_time_tolerance)
    }

    fn remembered(&self, now: SimTime) -> Option<SimTime> {
        self.state
            .remember_mfa
            .filter(|(_, until)| now < *until)
            .map(|(done, _)| done)
    }

    /// What an access by the user needs, without changing anything.
    fn assess(
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
                    // Remember-MFA caps the MFA claim of modern-auth clients
                    // (docs/model.md, "remember MFA").
                    let cap = self.setup.tenant.remember_mfa;
                    if client == Client::Native && !cap.is_zero() && now >= m + cap {
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
    fn deadline(&self, now: SimTime, app: App, client: Client) -> SimTime {
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
                if client == Client::Native && !cap.is_zero() {
                    t = t.min(m + cap);
                }
            }
        }
        t
    }

    /// One access by the user: from a cached token, or an Entra evaluation that may prompt.
    #[allow(clippy::too_many_arguments)]
    fn user_access<O: Observer>(
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
    fn another_app_is_fresh(
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

    fn token_usable(&self, now: SimTime, app: App, client: Client) -> bool {
        let tok = self.state.tokens[client.index()][app.index()];
        tok.valid_at(now) && !self.cae_rejects(now, app, &tok)
    }

    /// A CAE-capable resource rejects a CAE token issued before a critical event once the
    /// event has propagated (MODEL.md §5).
    fn cae_rejects(&self, now: SimTime, app: App, tok: &AccessToken) -> bool {
        if !tok.cae {
            return false;
        }
        let delay = self.params.cae_propagation_delay;
        let hit =
            |event: Option<SimTime>| event.is_some_and(|e| tok.issued <= e && now >= e + delay);
        hit(self.state.revocations.critical_event)
            || (app != App::Sharepoint && hit(self.state.risk_event))
    }

    fn issue_token(&mut self, now: SimTime, app: App, client: Client, req: &Requirement) {
        let cae = app.cae_capable() && self.cae_active() && req.cae != CaeMode::Disabled;
        let lifetime = self.token_lifetime(self.long_lived(cae, req));
        let mut expires = now + lifetime;
        if cae && self.params.cae_tokens_honour_sif {
            // "Sign-in Frequency is honored with or without CAE": a long-lived token does
            // not carry the session past its sign-in frequency deadline.
            expires = expires.min(self.deadline(now, app, client).max(now + Duration::from_secs(1)));
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
    fn long_lived(&self, cae: bool, req: &Requirement) -> bool {
        cae && !(self.params.cae_tokens_honour_sif && req.sign_in_frequency == Some(Sif::EveryTime))
    }

    fn token_lifetime(&mut self, cae: bool) -> Duration {
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
    fn touch(&mut self, now: SimTime, app: App, client: Client, eff: Effective) {
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
    fn persistence(&self, client: Client, app: App, req: Option<&Requirement>) -> bool {
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
    fn complete_prompt(
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

    // ---- the attacker -----------------------------------------------------------------

    fn attacker_key(&self, app: App, artefact: Artefact, trusted_ip: bool) -> RuleKey {
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
    fn attacker_assess(
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
            && self.user_requirement(app, Client::Native, None).token_protection
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
    fn strict_location_blocks(&self, app: App, trusted_ip: bool) -> bool {
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

    fn attacker_deadline(&self, now: SimTime, app: App) -> SimTime {
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

    fn attacker_access<O: Observer>(
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
        let step = StepKind::AttackerUse;
        if self.strict_location_blocks(app, trusted_ip) {
            self.emit(
                obs,
                now,
                Actor::Attacker,
                step,
                Some(app),
                client,
                None,
                Outcome::Denied,
                Reason::LocationBlocked,
                false,
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
                        self.emit(
                            obs,
                            now,
                            Actor::Attacker,
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
                self.emit(
                    obs,
                    now,
                    Actor::Attacker,
                    step,
                    Some(app),
                    client,
                    None,
                    Outcome::Denied,
                    reason,
                    false,
                    entra,
                    None,
                );
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
                    expires = expires.min(self.attacker_deadline(now, app).max(now + Duration::from_secs(1)));
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
                self.emit(
                    obs,
                    now,
                    Actor::Attacker,
                    step,
                    Some(app),
                    client,
                    None,
                    Outcome::Silent,
                    reason,
                    false,
                    true,
                    Some(req),
                );
                Outcome::Silent
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit<O: Observer>(
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
