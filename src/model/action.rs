//! What happens to a user's sessions (actions, from a scenario or a population's day plan),
//! who the user is (credential, setup), and the observer that receives every evaluation.

use crate::engine::time::SimTime;
use crate::model::params::{TenantSettings, TokenMode};
use crate::model::rules::Protected;
use crate::model::session::Record;
use crate::policy::RiskLevel;
use crate::world::app::{App, Client, DeviceTrust};

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
    pub const ALL: [Credential; 3] = [
        Credential::Password,
        Credential::WindowsHello,
        Credential::Passkey,
    ];

    pub fn parse(text: &str) -> Result<Credential, String> {
        match text {
            "password" => Ok(Credential::Password),
            "whfb" | "windows_hello" => Ok(Credential::WindowsHello),
            "passkey" => Ok(Credential::Passkey),
            other => Err(crate::world::app::unknown_name(
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

    pub(crate) fn password_based(self) -> bool {
        self == Credential::Password
    }

    /// Strong credentials carry an MFA claim by themselves.
    pub(crate) fn gives_mfa(self) -> bool {
        self != Credential::Password
    }

    /// Windows Hello and passkeys are bound to the genuine sign-in origin: they do not work
    /// on an attacker's reverse proxy (MODEL.md §1, \[AiTM\]).
    pub fn phishing_resistant(self) -> bool {
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
                crate::world::app::unknown_name(
                    "artefact",
                    text,
                    &["cookie", "refresh_token", "prt"],
                )
            })
    }

    pub(crate) fn client(self) -> Client {
        match self {
            Artefact::Cookie => Client::Browser,
            Artefact::RefreshToken | Artefact::Prt => Client::Native,
        }
    }

    /// Whether the artefact gets the attacker into `app`. The session cookie signs in to
    /// every web app (SSO); a Microsoft refresh token is a family refresh token that
    /// first-party apps share ([Token tactics]), but a third-party app does not accept it;
    /// a PRT gets tokens for every app.
    pub fn serves(self, app: App) -> bool {
        match self {
            Artefact::Cookie | Artefact::Prt => true,
            Artefact::RefreshToken => app != App::SamlApp,
        }
    }
}

/// How a theft happens (MODEL.md §8; docs/model.md, "Threat model").
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    /// Adversary-in-the-middle phishing: a reverse proxy captures the session cookie issued
    /// at the sign-in the user makes on it.
    Aitm,
    /// Malware on the user's device copies what is on disk (and in the running browser).
    Infostealer,
    /// An attacker holding the password sends MFA pushes until one is approved.
    PushBombing,
    /// Control of the user's device: its PRT (or, with a TPM, PRT-derived cookies).
    DeviceCompromise,
    /// The user enters an attacker's device code at the genuine device login page.
    DeviceCode,
    /// The conditional mode's scripted theft: one per user, at a random moment of work.
    Injected,
}

impl Mechanism {
    pub const ALL: [Mechanism; 6] = [
        Mechanism::Aitm,
        Mechanism::Infostealer,
        Mechanism::PushBombing,
        Mechanism::DeviceCompromise,
        Mechanism::DeviceCode,
        Mechanism::Injected,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name in files and output columns.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Aitm => "aitm",
            Mechanism::Infostealer => "infostealer",
            Mechanism::PushBombing => "push_bombing",
            Mechanism::DeviceCompromise => "device_compromise",
            Mechanism::DeviceCode => "device_code",
            Mechanism::Injected => "injected",
        }
    }
}

/// One attack event: a lure, an infection, one push of a push-bombing attack, a device
/// compromise. `attack` identifies the attack (the pushes of one attack share it); `draw`
/// is a uniform number in `0..2^32` that decides, against the user's susceptibility at that
/// moment, whether the user falls for it (common random numbers: the same draw under every
/// design); `aux` is a second one for what the attacker does next (minting a refresh
/// token from a cookie). `hardware_keys`: the device's keys are in a TPM. `trusted_ip`:
/// the attacker works from an allowed location (`threat.trusted_ip_share`), for the
/// phishing proxy's sign-in as for the replays that follow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub mechanism: Mechanism,
    pub attack: u32,
    pub draw: u32,
    pub aux: u32,
    pub hardware_keys: bool,
    pub trusted_ip: bool,
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
    /// The user changes the password: password-based sessions end.
    PasswordChange,
    /// An administrator resets the password in the Entra admin center: every refresh token
    /// and session cookie ends, password-based or not.
    PasswordReset,
    RevokeSessions,
    /// "Revoke sessions" takes effect, `revoke_sessions_delay` after the request at
    /// `requested`: sessions issued before the request stop working.
    SessionsRevoked {
        requested: SimTime,
    },
    RevokeMfaSessions,
    DisableAccount,
    /// Identity Protection raises (or clears) the user's risk.
    SetUserRisk(RiskLevel),
    SetSignInRisk(RiskLevel),
    /// An administrator disables the user's device in Entra: its PRT stops working.
    DisableDevice,
    /// The attacker copies an artefact. `attack` names the planned attack whose own
    /// stream decides what follows (`u32::MAX` for a scenario's scripted copy).
    Steal {
        artefact: Artefact,
        attack: u32,
    },
    /// An attack: the user may fall for it, and the attacker may obtain artefacts.
    Attack(Attempt),
    /// The attacker replays every stolen artefact that serves `app` until `until`. With
    /// `trusted_ip`, Entra sees the request from an allowed location (a proxy in the
    /// victim's network) while resources see the attacker's own address.
    AttackerUse {
        app: App,
        until: SimTime,
        trusted_ip: bool,
    },
    /// The attacker holds every stolen artefact, for every app of the attack plan (see
    /// [`crate::model::UserSim::set_attacker_apps`]), until `until`: from now on, whether
    /// each still works is followed at every event that can change it, used or not.
    AttackerHold {
        until: SimTime,
        trusted_ip: bool,
    },
    /// One session of the attacker: it uses what it holds until `until`, when its browser
    /// closes.
    AttackerSession {
        until: SimTime,
    },
    /// The attacker's browser closes: the web apps' tokens and a third-party app's own
    /// cookie go with it; the imported Entra cookie is imported again next session.
    AttackerBrowserClosed,
}

impl Action {
    /// The user's own work with the device, browser and apps (what a day plan holds). It
    /// changes the user's sessions, tokens and activities, and the account's state in one
    /// way alone: a sign-in that a password-change policy makes change the password while
    /// the user's risk is raised (the account's revocations, risk and state otherwise come
    /// from the other actions). Where that cannot happen, a theft's copy leaves it out.
    pub fn is_user_work(&self) -> bool {
        matches!(
            self,
            Action::SignIn { .. }
                | Action::Use { .. }
                | Action::Background { .. }
                | Action::Open { .. }
                | Action::Lock
                | Action::Unlock
                | Action::SignOut
                | Action::OpenBrowser
                | Action::CloseBrowser
        )
    }
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
    /// Whether the user ticks "Don't ask again for X days" when the tenant remembers MFA:
    /// only then is the remember-MFA cookie set (howto-mfa-mfasettings).
    pub remember_mfa_accept: bool,
    /// A guest or external user: "revoke sessions" does not end their sign-in sessions
    /// (Graph `revokeSignInSessions`), and CAE does not support guest accounts (\[CAE\]).
    pub guest: bool,
    pub tenant: TenantSettings,
    pub tokens: TokenMode,
}
