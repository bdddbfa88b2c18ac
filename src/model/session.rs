//! The artefacts of one user's sessions and the vocabulary of evaluations.
//!
//! Everything here is plain data; the rules that judge it live in the rule modules
//! (`revocation.rs`, `sign_in_frequency.rs`, `cae.rs`, `tokens.rs`, `cookies.rs`, `prt.rs`).

use crate::engine::time::{Duration, SimTime};
use crate::model::action::Artefact;
use crate::model::rules::{Protected, Requirement};
use crate::world::app::{App, Client};

/// Who caused an evaluation (the trace's `actor` column).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    User,
    Attacker,
}

impl Actor {
    pub fn name(self) -> &'static str {
        match self {
            Actor::User => "user",
            Actor::Attacker => "attacker",
        }
    }
}

/// The result of one evaluation (the trace's `outcome` column, INTERFACE.md).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The user must authenticate interactively (and is assumed to do so at once).
    Prompt,
    /// Access granted from an existing session or token.
    Silent,
    /// A background request waits for the next user interaction.
    Deferred,
    /// Blocked, revoked, or the attacker lost access.
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Prompt => "prompt",
            Outcome::Silent => "silent",
            Outcome::Deferred => "deferred",
            Outcome::Denied => "denied",
        }
    }
}

/// Why an evaluation came out as it did (the trace's `reason` column).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    // Prompts (or, for background requests and attackers, what stopped them).
    InitialSignIn,
    SifExpired,
    EveryTime,
    MfaRequired,
    /// The MFA claim outlived the tenant's remember-MFA period: a prompt the sign-in
    /// frequency design did not intend (MODEL.md §3, §9).
    RememberMfaExpired,
    PasswordChangeRequired,
    SessionRevoked,
    MfaSessionsRevoked,
    PasswordChanged,
    SessionExpired,
    BrowserClosed,
    // Silent.
    PrtRenewed,
    PrtSso,
    SessionValid,
    WithinTolerance,
    TokenValid,
    TokenRenewed,
    AppSession,
    // Denied.
    AccountDisabled,
    BlockedByPolicy,
    GrantNotSatisfied,
    CaeRevoked,
    TokenExpired,
    LocationBlocked,
    TokenProtection,
    NoArtefact,
    DeviceNotTrusted,
    /// A stolen artefact bound to the victim's device key fails when replayed elsewhere.
    DeviceBound,
    // Thefts (attacker rows of an attack step).
    /// The attacker obtained a working artefact.
    ArtefactStolen,
    /// The user ignored the lure or refused the push.
    NotFooled,
    /// A phishing-resistant credential or method does not work on the attacker's page.
    PhishingResistant,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::InitialSignIn => "initial_sign_in",
            Reason::SifExpired => "sif_expired",
            Reason::EveryTime => "every_time",
            Reason::MfaRequired => "mfa_required",
            Reason::RememberMfaExpired => "remember_mfa_expired",
            Reason::PasswordChangeRequired => "password_change_required",
            Reason::SessionRevoked => "session_revoked",
            Reason::MfaSessionsRevoked => "mfa_sessions_revoked",
            Reason::PasswordChanged => "password_changed",
            Reason::SessionExpired => "session_expired",
            Reason::BrowserClosed => "browser_closed",
            Reason::PrtRenewed => "prt_renewed",
            Reason::PrtSso => "prt_sso",
            Reason::SessionValid => "session_valid",
            Reason::WithinTolerance => "within_tolerance",
            Reason::TokenValid => "token_valid",
            Reason::TokenRenewed => "token_renewed",
            Reason::AppSession => "app_session",
            Reason::AccountDisabled => "account_disabled",
            Reason::BlockedByPolicy => "blocked_by_policy",
            Reason::GrantNotSatisfied => "grant_not_satisfied",
            Reason::CaeRevoked => "cae_revoked",
            Reason::TokenExpired => "token_expired",
            Reason::LocationBlocked => "location_blocked",
            Reason::TokenProtection => "token_protection",
            Reason::NoArtefact => "no_artefact",
            Reason::DeviceNotTrusted => "device_not_trusted",
            Reason::DeviceBound => "device_bound",
            Reason::ArtefactStolen => "artefact_stolen",
            Reason::NotFooled => "not_fooled",
            Reason::PhishingResistant => "phishing_resistant",
        }
    }

    /// Prompts that the sign-in frequency design did not intend: a remember-MFA conflict.
    /// (Per-app prompts on devices without a broker are counted by the caller.)
    pub fn is_unintended(self) -> bool {
        matches!(self, Reason::RememberMfaExpired)
    }
}

/// The scenario step or generated activity that caused an evaluation (`step` column).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StepKind {
    SignIn,
    Use,
    Background,
    Unlock,
    Open,
    AttackerUse,
    /// The attacker holds a stolen artefact between uses: whether it still works, without
    /// a request (no sign-in log row).
    Holds,
    /// A scripted copy of an artefact (`steal`), or the conditional mode's theft.
    Steal,
    /// Attacks (MODEL.md §8, docs/model.md "Threat model").
    Aitm,
    Infostealer,
    PushBombing,
    DeviceCompromise,
    DeviceCode,
}

impl StepKind {
    pub fn name(self) -> &'static str {
        match self {
            StepKind::SignIn => "sign_in",
            StepKind::Use => "use",
            StepKind::Background => "background",
            StepKind::Unlock => "unlock",
            StepKind::Open => "open",
            StepKind::AttackerUse => "attacker_use",
            StepKind::Holds => "holds",
            StepKind::Steal => "steal",
            StepKind::Aitm => "aitm",
            StepKind::Infostealer => "infostealer",
            StepKind::PushBombing => "push_bombing",
            StepKind::DeviceCompromise => "device_compromise",
            StepKind::DeviceCode => "device_code",
        }
    }
}

/// One evaluation, as observers see it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Record {
    pub at: SimTime,
    pub actor: Actor,
    pub step: StepKind,
    pub app: Option<App>,
    pub client: Client,
    pub protected: Option<Protected>,
    pub outcome: Outcome,
    pub reason: Reason,
    /// The prompt included a second-factor ceremony.
    pub mfa: bool,
    /// Entra evaluated the request (false when a cached access token answered it).
    pub entra: bool,
    /// A prompt the sign-in frequency design did not intend: a remember-MFA conflict, or
    /// a per-app prompt that a shared broker session would have answered (MODEL.md §9).
    pub unintended: bool,
    /// The requirement that applied, when policies were consulted.
    pub requirement: Option<Requirement>,
    /// The stolen artefact an attacker row is about, and its index in the attacker's list.
    pub artefact: Option<Artefact>,
    pub stolen: u8,
}

/// Why a session slot is empty: shown as the reason of the prompt that refills it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Loss {
    /// The slot never held a session: the user's first sign-in in it.
    #[default]
    Never,
    /// The user signed out of the device (shared devices at the end of a shift): the next
    /// sign-in is a first one again, but not the first ever (`model::warm`).
    SignedOut,
    BrowserClosed,
    Expired,
    Revoked,
    PasswordChanged,
}

impl Loss {
    pub fn reason(self) -> Reason {
        match self {
            Loss::Never | Loss::SignedOut => Reason::InitialSignIn,
            Loss::BrowserClosed => Reason::BrowserClosed,
            Loss::Expired => Reason::SessionExpired,
            Loss::Revoked => Reason::SessionRevoked,
            Loss::PasswordChanged => Reason::PasswordChanged,
        }
    }
}

/// An authentication session: the Entra session cookie of a browser, the broker's session
/// on a device with a PRT, or one app's refresh token on a device without one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Last full (primary) authentication: what sign-in frequency counts from.
    pub auth: SimTime,
    /// Last second-factor authentication, if any.
    pub mfa: Option<SimTime>,
    /// When Entra issued the artefact: revocations compare against it.
    pub issued: SimTime,
    /// Last use: sliding expiry counts from it.
    pub last_used: SimTime,
    /// Survives a browser restart (browser sessions only).
    pub persistent: bool,
    /// Obtained with a password, so a password change revokes it (MODEL.md §6).
    pub password_based: bool,
}

/// A cached access token for one (client, app).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessToken {
    pub issued: SimTime,
    pub expires: SimTime,
    /// Issued as a CAE long-lived token: rejected by the resource after critical events.
    pub cae: bool,
}

impl AccessToken {
    pub fn valid_at(&self, now: SimTime) -> bool {
        now < self.expires
    }
}

/// The Primary Refresh Token of a joined, hybrid-joined or registered device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Prt {
    /// Last renewal by an unlock or Windows sign-in (joined/hybrid), or by a native app's
    /// interactive authentication through WAM (registered).
    pub renewed: SimTime,
    pub mfa: Option<SimTime>,
    pub issued: SimTime,
    pub last_used: SimTime,
    pub password_based: bool,
}

impl Prt {
    /// The PRT as a session: its renewal is the authentication sign-in frequency counts
    /// from (MODEL.md §2).
    pub fn session(&self) -> Session {
        Session {
            auth: self.renewed,
            mfa: self.mfa,
            issued: self.issued,
            last_used: self.last_used,
            persistent: true,
            password_based: self.password_based,
        }
    }
}

/// Idle expiry of a session slot.
pub fn idle_expired(last_used: SimTime, lifetime: Duration, now: SimTime) -> bool {
    now >= last_used + lifetime
}
