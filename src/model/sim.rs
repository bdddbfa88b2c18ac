//! One user's session lifecycle as a discrete-event simulation: the driver.
//!
//! [`UserSim`] owns a small [`EventQueue`] of the user's (and their attacker's) actions and
//! of the evaluations those actions set in motion: sign-in frequency deadlines while the
//! user is active (idealised mode), access-token renewals (realistic mode), and revocations
//! reaching CAE-capable apps. Every evaluation is reported to an [`Observer`]: `trace`
//! prints them, population runs aggregate them.
//!
//! The driver schedules; it decides nothing. What an evaluation comes to is decided by the
//! rule modules (`revocation`, `sign_in_frequency`, `cae`, `tokens`, `cookies`, `prt`),
//! through the user's view (`access.rs`), the attacker's (`attack.rs`) and the attack
//! mechanisms (`theft.rs`).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::queue::{EventQueue, OrderKey, ScheduleError};
use crate::engine::time::{Duration, SimTime};
use crate::model::action::{Action, Artefact, Mechanism, Observer, UserSetup};
use crate::model::params::ModelParams;
use crate::model::revocation::Revocations;
use crate::model::rules::{Protected, Requirement, RuleTable};
use crate::model::session::{
    AccessToken, Actor, Loss, Outcome, Prt, Reason, Record, Session, StepKind,
};
use crate::model::sign_in_frequency::{Limits, Need};
use crate::model::theft::Susceptibility;
use crate::model::warm::WarmStart;
use crate::policy::RiskLevel;
use crate::world::app::{App, Client};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Foreground,
    Background,
    /// The attacker replaying stolen artefact `stolen` (an index into the stolen list).
    /// A `standing` activity follows the artefact for the attacker's whole window: used
    /// during attacker sessions, held (checked without requests) between them.
    Attacker {
        trusted_ip: bool,
        stolen: u8,
        standing: bool,
    },
}

// Asked of every activity start and end: a test of the variant alone, where the derived
// `==` is a general comparison of two values, the attacker variant's fields included, that
// the compiler did not reduce to one (docs/performance.md, "eleventh session").
impl Kind {
    #[inline]
    pub(super) fn is_foreground(self) -> bool {
        matches!(self, Kind::Foreground)
    }

    /// The user's own work, foreground or background.
    #[inline]
    pub(super) fn is_users(self) -> bool {
        matches!(self, Kind::Foreground | Kind::Background)
    }
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
    /// When the activity's current check is due (meaningful while `gen` is current).
    pub(super) check_at: SimTime,
}

#[derive(Copy, Clone, Debug)]
pub(super) enum Event {
    Action(Action),
    /// Re-evaluate an activity: a deadline, a token renewal or a revocation reaching it.
    Check {
        activity: u16,
        gen: u32,
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
    /// A third-party app's own session cookie answers: Entra is not asked.
    AppSession,
    Need(Need, Reason, Option<Effective>),
    Denied(Reason),
}

/// A copy of one artefact in the attacker's hands.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Stolen {
    pub artefact: Artefact,
    pub session: Session,
    /// Bound to the victim's device key (a TPM-held session key): refused when replayed
    /// from any other device (\[PRT\]).
    pub device_bound: bool,
    /// Presents the victim's device identity (a PRT with its key, or tokens minted from
    /// it), so device-based policies see the victim's device until it is disabled.
    pub as_victim_device: bool,
    /// One of the device's own tokens (the broker's refresh token): disabling the device
    /// ends it (\[PRT\]: "all tokens on the device are invalidated"). Tokens the attacker
    /// minted for itself are not the device's.
    pub device_token: bool,
    /// The attacker's access tokens, per app.
    pub tokens: [AccessToken; App::COUNT],
    /// A third-party app's own session cookie in the attacker's browser.
    pub app_session: bool,
    /// Identity Protection flags the attacker's sign-ins with this risk.
    pub sign_in_risk: RiskLevel,
}

impl Stolen {
    pub fn new(artefact: Artefact, session: Session) -> Self {
        Stolen {
            artefact,
            session,
            device_bound: false,
            as_victim_device: false,
            device_token: false,
            tokens: [AccessToken::default(); App::COUNT],
            app_session: false,
            sign_in_risk: RiskLevel::None,
        }
    }
}

/// A successful attack: what the attacker obtained, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Theft {
    pub at: SimTime,
    pub mechanism: Mechanism,
    pub attack: u32,
    pub stolen: Vec<Stolen>,
}

/// What to do with a successful attack.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TheftMode {
    /// Hand the attacker the artefacts in this timeline (scenarios: one timeline).
    Install,
    /// Stop the run and hand the theft to the caller, which follows it in a copy of this
    /// simulation so that the user's own timeline never sees the attack (population runs).
    Report,
    /// Attacks do nothing (the copy that follows one theft ignores the others).
    Ignore,
}

/// Why [`UserSim::run_until`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every event before the end was processed.
    Reached,
    /// An attack succeeded in [`TheftMode::Report`]: take it with [`UserSim::take_theft`]
    /// and call `run_until` again to go on.
    Theft,
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
    /// A remember-MFA cookie was set before (the warm start dates only the first back).
    pub(super) remember_mfa_before: bool,
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
    pub(super) stolen: Vec<Stolen>,
    /// What the user has seen so far, for habituation (MODEL.md §8): interactive prompts,
    /// prompts with an MFA ceremony, and days with a device sign-in.
    pub(super) prompts_seen: u32,
    pub(super) mfa_prompts_seen: u32,
    pub(super) days_worked: u32,
    pub(super) last_work_day: Option<u64>,
    /// Attacks that already succeeded (their remaining pushes are not sent).
    pub(super) done_attacks: Vec<u32>,
    /// An attacker session is under way: standing activities are used, not just held.
    pub(super) attacker_active: bool,
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
            remember_mfa_before: false,
            saml_session: false,
            last_interactive: None,
            revocations: Revocations::default(),
            risk_event: None,
            disabled: false,
            user_risk: RiskLevel::None,
            sign_in_risk: RiskLevel::None,
            tokens: [[AccessToken::default(); App::COUNT]; 2],
            stolen: Vec::new(),
            prompts_seen: 0,
            mfa_prompts_seen: 0,
            days_worked: 0,
            last_work_day: None,
            done_attacks: Vec::new(),
            attacker_active: false,
        }
    }
}

/// One user's simulation. Create it, [`schedule`](Self::schedule) actions, then
/// [`run_until`](Self::run_until). It can be cloned mid-run, to follow a theft in a copy
/// whose future diverges from the user's own.
#[derive(Clone)]
pub struct UserSim<'a> {
    pub(super) params: &'a ModelParams,
    pub(super) rules: &'a RuleTable<'a>,
    pub(super) setup: UserSetup,
    pub(super) rng: ChaCha8Rng,
    pub(super) queue: EventQueue<Event>,
    pub(super) state: State,
    pub(super) activities: Vec<Activity>,
    /// Activity ends, latest first. They are kept beside the queue, where a third of all
    /// events would be these, and applied in the queue's order: each holds the place
    /// ([`OrderKey`]) it would have had there.
    pub(super) pending_ends: Vec<(OrderKey, u16)>,
    /// The first of `pending_ends` (or past every event): one comparison per event.
    pub(super) next_end: OrderKey,
    pub(super) events: u64,
    /// Set by the prompt being recorded: a per-app prompt on a device without a broker.
    pub(super) per_app_prompt: bool,
    /// How likely the user falls for attacks; `None` (scenarios): every attack that the
    /// design does not stop succeeds.
    pub(super) susceptibility: Option<&'a Susceptibility>,
    pub(super) theft_mode: TheftMode,
    pub(super) pending_theft: Option<Theft>,
    /// Apps an attacker session replays against (bit per [`App::index`]).
    pub(super) attacker_apps: u16,
    /// Population runs date the first sessions back to a steady state ([`super::warm`]);
    /// scenarios start from nothing, as scripted.
    pub(super) warm: Option<WarmStart>,
}

/// Time a stale or paused activity check is pushed back by when nothing else bounds it.
pub(super) const NO_DEADLINE: SimTime = SimTime::NEVER;

impl<'a> UserSim<'a> {
    /// `rules` is the table of this user's profile.
    pub fn new(
        params: &'a ModelParams,
        rules: &'a RuleTable<'a>,
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
            pending_ends: Vec::new(),
            next_end: OrderKey::LAST,
            events: 0,
            per_app_prompt: false,
            susceptibility: None,
            theft_mode: TheftMode::Install,
            pending_theft: None,
            attacker_apps: 0,
            warm: None,
        }
    }

    /// A generator for a seed, for callers that do not derive streams themselves.
    pub fn rng_from_seed(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Reuses this simulation's allocations for another user.
    pub fn reset(&mut self, rules: &'a RuleTable<'a>, setup: UserSetup, rng: ChaCha8Rng) {
        self.rules = rules;
        self.setup = setup;
        self.rng = rng;
        self.queue.clear();
        self.state = State::new();
        self.activities.clear();
        self.pending_ends.clear();
        self.next_end = OrderKey::LAST;
        self.events = 0;
        self.pending_theft = None;
        self.attacker_apps = 0;
        self.warm = None;
    }

    /// Dates the user's first sessions back to a steady state ([`super::warm`]).
    pub fn set_warm_start(&mut self, warm: Option<WarmStart>) {
        self.warm = warm;
    }

    /// How attacks are decided and what a successful one does.
    pub fn set_threat(&mut self, susceptibility: Option<&'a Susceptibility>, mode: TheftMode) {
        self.susceptibility = susceptibility;
        self.theft_mode = mode;
    }

    /// The apps an [`Action::AttackerSession`] replays against.
    pub fn set_attacker_apps(&mut self, apps: &[App]) {
        self.attacker_apps = apps.iter().fold(0, |m, a| m | 1 << a.index());
    }

    /// The theft that stopped the run ([`Stop::Theft`]).
    pub fn take_theft(&mut self) -> Option<Theft> {
        self.pending_theft.take()
    }

    /// Gives the attacker a theft's artefacts (in the copy that follows it).
    pub fn install_theft(&mut self, theft: &Theft) {
        self.state.stolen.extend_from_slice(&theft.stolen);
    }

    /// Makes this clone a theft's copy: it draws from `rng` from now on (the attack's own
    /// stream), and the threat is switched off ([`TheftMode::Ignore`]): the copy follows
    /// this one theft, and each later attack on the user is followed in a copy of its own.
    pub fn become_theft_copy(&mut self, rng: ChaCha8Rng) {
        self.rng = rng;
        self.set_threat(None, TheftMode::Ignore);
    }

    /// Makes this copy the attacker's timeline alone: the user's own work still queued or
    /// under way (its actions, activities, their checks and ends) is dropped. What the
    /// attacker holds is judged only by the account's state, which the user's work
    /// ([`Action::is_user_work`]) changes in one way alone: a sign-in that a
    /// password-change policy makes change the password while the user's risk is raised.
    /// Where that cannot happen the runner uses this copy, which follows the theft at the
    /// cost of the attacker's own events, its draws (the attacker's token lifetimes)
    /// independent of how much the user did.
    ///
    /// Later attacks on the user, which the copy would skip when popped
    /// ([`UserSim::become_theft_copy`]), are dropped too.
    pub fn keep_attacker_only(&mut self) {
        for a in &mut self.activities {
            if !matches!(a.kind, Kind::Attacker { .. }) {
                a.live = false;
            }
        }
        let activities = &self.activities;
        let is_attackers = |i: u16| {
            activities
                .get(i as usize)
                .is_some_and(|a| a.live && matches!(a.kind, Kind::Attacker { .. }))
        };
        self.queue.retain(|e| match e {
            Event::Action(a) => {
                !a.is_user_work() && !matches!(a, Action::Attack(_) | Action::Steal { .. })
            }
            Event::Check { activity, .. } => is_attackers(*activity),
        });
        self.pending_ends.retain(|&(_, i)| is_attackers(i));
        self.update_next_end();
    }

    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Whether the user's risk is raised now, or an action waiting to happen before `end`
    /// raises it (a detection of the response, the risk plan).
    pub fn user_risk_raised_before(&self, end: SimTime) -> bool {
        self.state.user_risk != RiskLevel::None
            || self.queue.waiting().any(|(at, e)| {
                at < end
                    && matches!(e, Event::Action(Action::SetUserRisk(level)) if *level != RiskLevel::None)
            })
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn schedule(&mut self, at: SimTime, action: Action) -> Result<(), ScheduleError> {
        self.queue
            .schedule_at(at, Event::Action(action))
            .map(|_| ())
    }

    /// Schedules a plan at once (a day's, a theft's follow-up), draining it (actions in the
    /// past are dropped, as [`UserSim::schedule`] refuses them). The same order as
    /// scheduling them one by one, at a fraction of the cost: the plan is sorted once
    /// instead of heaped.
    pub fn schedule_plan(&mut self, plan: &mut Vec<(SimTime, Action)>) {
        self.queue.schedule_staged(plan, Event::Action);
    }

    /// Processes every event before `end` (all of them with [`SimTime::NEVER`]), or until
    /// an attack succeeds in [`TheftMode::Report`].
    pub fn run_until<O: Observer>(&mut self, end: SimTime, obs: &mut O) -> Stop {
        while let Some((key, event)) = self.queue.pop_keyed_before(end) {
            if self.next_end < key {
                self.end_activities_before(key);
            }
            let now = key.at();
            self.events += 1;
            match event {
                Event::Action(a) => self.on_action(now, a, obs),
                Event::Check { activity, gen } => self.on_check(now, activity as usize, gen, obs),
            }
            if self.pending_theft.is_some() {
                return Stop::Theft;
            }
        }
        let end = OrderKey::first_at(end);
        if self.next_end < end {
            self.end_activities_before(end);
        }
        Stop::Reached
    }

    /// Applies the activity ends that come before `key` in the queue's order.
    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    fn end_activities_before(&mut self, key: OrderKey) {
        while let Some(&(end, activity)) = self.pending_ends.last() {
            if end >= key {
                break;
            }
            self.pending_ends.pop();
            // Counted as the queue events they stand for.
            self.events += 1;
            self.on_end(end.at(), activity as usize);
        }
        self.update_next_end();
    }

    fn update_next_end(&mut self) {
        self.next_end = self.pending_ends.last().map_or(OrderKey::LAST, |e| e.0);
    }

    pub(super) fn limits(&self) -> Limits {
        Limits::of(self.params, &self.setup.tenant)
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
            Action::PasswordChange => self.change_password(now),
            Action::PasswordReset => {
                // An administrator's reset in the Entra admin center ([RT] table).
                self.state.revocations.admin_reset_at = Some(now);
                self.change_password(now);
            }
            Action::RevokeSessions => {
                // An external user's sign-in sessions are not revoked ([Graph-revoke]),
                // and CAE does not support guests: nothing changes for them.
                if !self.setup.guest {
                    self.critical_event(now);
                    let effective = now + self.params.revoke_sessions_delay;
                    if effective == now {
                        self.revoke_sessions(now);
                    } else {
                        // Into the future: scheduling cannot fail.
                        let _ =
                            self.schedule(effective, Action::SessionsRevoked { requested: now });
                    }
                }
            }
            Action::SessionsRevoked { requested } => self.revoke_sessions(requested),
            Action::RevokeMfaSessions => {
                // Per-user MFA only (docs/model.md §7): the remember-MFA cookies go; MFA
                // claims that Conditional Access asked for stay, unless the first
                // releases' reading is chosen.
                if self.params.revoke_mfa_sessions_ends_ca_mfa {
                    self.state.revocations.mfa_valid_from = Some(now);
                }
                self.state.remember_mfa = None;
                // Not a CAE critical event: it only changes what the next sign-in asks.
                self.check_held(now);
            }
            Action::DisableAccount => {
                self.state.disabled = true;
                self.critical_event(now);
            }
            Action::DisableDevice => {
                self.state.revocations.device_disabled = true;
                // The PRT fails at the next token request through the broker.
                self.schedule_cae_checks(now, false);
            }
            Action::SetUserRisk(level) => {
                self.state.user_risk = level;
                if level == RiskLevel::High {
                    self.state.risk_event = Some(now);
                    self.schedule_cae_checks(now, true);
                }
                // Risk-based policies now ask other things of a stolen session.
                self.check_held(now);
            }
            Action::SetSignInRisk(level) => self.state.sign_in_risk = level,
            Action::Steal { artefact, attack } => self.steal(now, artefact, attack, obs),
            Action::Attack(attempt) => self.attack(now, attempt, obs),
            Action::AttackerUse {
                app,
                until,
                trusted_ip,
            } => self.start_attacker(now, app, until, trusted_ip, false, obs),
            Action::AttackerHold { until, trusted_ip } => {
                for app in App::ALL {
                    if self.attacker_apps & (1 << app.index()) != 0 {
                        self.start_attacker(now, app, until, trusted_ip, true, obs);
                    }
                }
            }
            Action::AttackerSession { until } => {
                self.state.attacker_active = true;
                // Each thing the attacker holds is used now: a request per app.
                for i in 0..self.activities.len() {
                    let a = self.activities[i];
                    if a.live && matches!(a.kind, Kind::Attacker { standing: true, .. }) {
                        self.evaluate_activity(now, i, false, obs);
                    }
                }
                let _ = self
                    .queue
                    .schedule_at(until, Event::Action(Action::AttackerBrowserClosed));
            }
            Action::AttackerBrowserClosed => {
                self.state.attacker_active = false;
                let keep = self.params.web_sessions_survive_browser_close;
                for s in &mut self.state.stolen {
                    s.app_session = false;
                    if s.artefact == Artefact::Cookie && !keep {
                        s.tokens = [AccessToken::default(); App::COUNT];
                    }
                }
                // What the attacker holds is now followed passively.
                self.check_held(now);
            }
        }
    }

    /// "Revoke sessions" takes effect: what was issued before `requested` stops working.
    /// Held stolen copies are checked at once.
    pub(super) fn revoke_sessions(&mut self, requested: SimTime) {
        self.state.revocations.sessions_valid_from = Some(requested);
        let now = self.now();
        self.check_held(now);
        // Idealised mode has no tokens: apps in use see the change at once. Realistic
        // tokens outlive it (non-CAE apps to their expiry; CAE apps were reached from the
        // request, `critical_event`).
        if self.setup.tokens.is_idealised() {
            let cae_reach = super::cae::reaches(requested, self.params).max(now);
            for i in 0..self.activities.len() {
                let a = self.activities[i];
                // CAE-capable apps are reached from the request (`critical_event`), not
                // before the revocation takes effect.
                let at = if a.app.cae_capable() && self.cae_on() {
                    cae_reach
                } else {
                    now
                };
                if a.live && !self.is_held(&a) && at < a.until {
                    self.schedule_check(i, at);
                }
            }
        }
    }

    /// Whether CAE applies to this user: the tenant has it on, and the user is not a
    /// guest ("CAE doesn't support Guest user accounts", \[CAE\]).
    pub(super) fn cae_on(&self) -> bool {
        self.setup.tenant.cae && !self.setup.guest
    }

    /// A password change (by the user, SSPR, or an administrator): password-based
    /// artefacts end, user risk is remediated, and it is a CAE critical event.
    pub(super) fn change_password(&mut self, now: SimTime) {
        self.state.revocations.password_changed_at = Some(now);
        self.state.user_risk = RiskLevel::None;
        self.critical_event(now);
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
        if self.state.last_work_day != Some(now.day()) {
            self.state.last_work_day = Some(now.day());
            self.state.days_worked += 1;
        }
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
            if a.live && a.kind.is_foreground() && a.until > now {
                self.evaluate_activity(now, i, false, obs);
            }
        }
    }

    /// Joined and hybrid-joined devices renew the PRT at an unlock or Windows sign-in when
    /// its last renewal is at least `prt_renewal_interval` old, or when it is missing or
    /// invalid (MODEL.md §2). Returns whether it was renewed.
    pub(super) fn renew_prt_on_device_sign_in(&mut self, now: SimTime) -> bool {
        if !self.setup.device.prt_from_device_sign_in()
            || self.state.disabled
            || self.state.revocations.device_disabled
        {
            return false;
        }
        let valid = self.prt_valid(now);
        let st = &mut self.state;
        let cred = self.setup.credential;
        match (&mut st.prt, valid) {
            (Some(prt), true) => {
                prt.last_used = now;
                if super::prt::renewal_due(prt.renewed, now, self.params) {
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
        st.cookie_loss = Loss::SignedOut;
        st.prt = None;
        st.prt_loss = Loss::SignedOut;
        st.native = [None; App::COUNT];
        st.native_loss = [Loss::SignedOut; App::COUNT];
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
        // A web app's own session outlives the browser (concept-session-lifetime): its
        // token answers until it expires, unless the first releases' rule is chosen.
        if !self.params.web_sessions_survive_browser_close {
            st.tokens[Client::Browser.index()] = [AccessToken::default(); App::COUNT];
        }
        for a in &mut self.activities {
            // The attacker's browser is on the attacker's machine.
            if a.live && a.client == Client::Browser && !matches!(a.kind, Kind::Attacker { .. }) {
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
        self.check_held(now);
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            if !a.live || self.is_held(&a) {
                continue;
            }
            if user_risk && !super::cae::risk_is_critical_for(a.app) {
                continue;
            }
            let at = if a.app.cae_capable() && self.cae_on() {
                super::cae::reaches(now, self.params)
            } else if self.setup.tokens.is_idealised() {
                now
            } else {
                continue;
            };
            if at < a.until {
                self.schedule_check(i, at);
            }
        }
    }

    /// Whether an activity is an artefact the attacker holds without using it now.
    pub(super) fn is_held(&self, a: &Activity) -> bool {
        matches!(a.kind, Kind::Attacker { standing: true, .. }) && !self.state.attacker_active
    }

    /// Re-checks at once everything the attacker holds: the account's state changed (a
    /// revocation, a password change, a risk level), and a held artefact may stop working
    /// without anyone using it.
    pub(super) fn check_held(&mut self, now: SimTime) {
        for i in 0..self.activities.len() {
            let a = self.activities[i];
            // Several changes at one instant (a response revokes and resets) need one check.
            if a.live && self.is_held(&a) && now < a.until && a.check_at != now {
                self.schedule_check(i, now);
            }
        }
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
            check_at: SimTime::NEVER,
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
        // An end the queue would refuse (beyond its range) is never reached.
        if let Ok(key) = self.queue.reserve(until) {
            let at = self.pending_ends.partition_point(|&(k, _)| k > key);
            self.pending_ends.insert(at, (key, index as u16));
            self.next_end = self.next_end.min(key);
        }
        if kind.is_foreground() && self.state.locked {
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
        if !kind.is_users() {
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
        if a.kind.is_foreground() && self.state.locked {
            return;
        }
        self.evaluate_activity(now, i, true, obs);
    }

    /// Evaluates an activity now and schedules its next check.
    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    pub(super) fn evaluate_activity<O: Observer>(
        &mut self,
        now: SimTime,
        i: usize,
        is_check: bool,
        obs: &mut O,
    ) {
        let a = self.activities[i];
        let outcome = match a.kind {
            Kind::Attacker {
                trusted_ip, stolen, ..
            } if self.is_held(&a) => {
                self.attacker_holds(now, stolen as usize, a.app, trusted_ip, is_check, obs)
            }
            Kind::Attacker {
                trusted_ip, stolen, ..
            } => self.attacker_access(now, stolen as usize, a.app, trusted_ip, is_check, obs),
            Kind::Foreground | Kind::Background => {
                let interactive = a.kind.is_foreground();
                let step = if interactive {
                    StepKind::Use
                } else {
                    StepKind::Background
                };
                // A check in idealised mode is only an evaluation when something is due.
                if is_check && self.setup.tokens.is_idealised() {
                    if let Assessment::Silent(..) | Assessment::AppSession =
                        self.assess(now, a.app, a.client, None)
                    {
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

    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    pub(super) fn schedule_check(&mut self, i: usize, at: SimTime) {
        let a = &mut self.activities[i];
        a.gen = a.gen.wrapping_add(1);
        a.check_at = at;
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
    /// deadline in idealised mode.
    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    pub(super) fn reschedule(&mut self, now: SimTime, i: usize) {
        let a = self.activities[i];
        let next = match a.kind {
            Kind::Attacker {
                stolen, trusted_ip, ..
            } => {
                self.attacker_next_check(now, stolen as usize, a.app, self.is_held(&a), trusted_ip)
            }
            _ if self.setup.tokens.is_idealised() => self.deadline(now, a.app, a.client),
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
            if a.live
                && a.waiting
                && !matches!(a.kind, Kind::Attacker { .. })
                && self.slot(a.app, a.client) == slot
            {
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
            artefact: None,
            stolen: 0,
        });
    }
}
