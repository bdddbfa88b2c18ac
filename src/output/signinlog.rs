//! The simulated sign-in log (`signins.csv`, `--signin-log`) and the per-user table
//! (`users.csv`, `--per-user`).
//!
//! Column names follow Entra's sign-in log where one fits (`createdDateTime`,
//! `userPrincipalName`, `appDisplayName`, `clientAppUsed`, `isInteractive`,
//! `deviceTrustType`, `status_errorCode`, `conditionalAccessStatus`,
//! `sessionLifetimePolicy`, `authenticationRequirement`, `isCompliant`,
//! `authenticationMethod`, `mfaAuthMethod`, `networkType`), so the same queries work on
//! both, and `calibrate` can fit a population from a simulated log as from a real one. The
//! simulator's own columns (`design`, `replicate`, `persona`, `actor`, `outcome`, `reason`)
//! come last.

use std::io::Write;

use crate::engine::calendar::iso8601;
use crate::engine::time::SimTime;
use crate::model::{Access, Actor, Credential, MfaMethod, Observer, Outcome, Reason, Record};
use crate::policy::Sif;
use crate::world::app::DeviceTrust;

/// The header of `signins.csv`.
pub const SIGNIN_HEADER: &str = "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,deviceTrustType,status_errorCode,conditionalAccessStatus,sessionLifetimePolicy,authenticationRequirement,isCompliant,authenticationMethod,mfaAuthMethod,networkType,design,replicate,persona,actor,outcome,reason\n";

/// The header of `users.csv`.
pub const USERS_HEADER: &str = "design,replicate,user,persona,device,compliant,credential,mfa_method,active_days,prompts,mfa_prompts,unintended_prompts,evaluations,attacks,thefts,exposure_hours,thefts_censored\n";

/// The error code Entra logs for an evaluation with this outcome and reason (see
/// `docs/model.md`, "Sign-in log"). Silent successes and completed prompts log 0 in their
/// success row; a prompt is logged by its interrupt code, which is what analysts count.
pub fn error_code(outcome: Outcome, reason: Reason) -> u32 {
    match (outcome, reason) {
        (Outcome::Silent, _) => 0,
        (_, Reason::SifExpired | Reason::EveryTime) => {
            if outcome == Outcome::Deferred {
                70043 // refresh token expired by sign-in frequency
            } else {
                70044 // session expired by sign-in frequency
            }
        }
        // MFA aged out under remember-MFA.
        (_, Reason::RememberMfaExpired) => 50078,
        // MFA required: 50076 on a non-interactive refresh, 50074 interactively.
        (Outcome::Deferred, Reason::MfaRequired | Reason::MfaSessionsRevoked) => 50076,
        (_, Reason::MfaRequired | Reason::MfaSessionsRevoked) => 50074,
        (_, Reason::PasswordChanged) => 50133,
        (_, Reason::SessionRevoked | Reason::CaeRevoked) => 50173,
        (_, Reason::AccountDisabled) => 50057,
        (_, Reason::BlockedByPolicy | Reason::LocationBlocked) => 53003,
        (_, Reason::GrantNotSatisfied) => 53000,
        (_, Reason::PasswordChangeRequired) => 50142,
        // The refresh token or session expired from inactivity.
        (_, Reason::SessionExpired | Reason::TokenExpired) => 700082,
        (_, Reason::TokenProtection | Reason::DeviceNotTrusted) => 50097,
        // No session (never signed in, or the browser closed on a non-persistent cookie).
        (_, Reason::InitialSignIn | Reason::BrowserClosed) => 50058,
        _ => 0,
    }
}

/// What identifies the user's rows in the log.
pub struct LogUser<'a> {
    pub start_day: i64,
    pub upn: &'a str,
    pub device: DeviceTrust,
    pub compliant: bool,
    pub credential: Credential,
    pub mfa_method: MfaMethod,
    pub trusted_location: bool,
    pub design: &'a str,
    pub replicate: u32,
    /// The user's persona (a simulator column: `calibrate --group-by persona` reads it).
    pub persona: &'a str,
    /// The user's own rows before this time are logged (the run's horizon; zero in the
    /// copy that follows a theft, whose user rows are another timeline).
    pub until: SimTime,
}

/// An observer that forwards to an inner observer and appends log rows.
pub struct Logging<'a, O> {
    pub inner: O,
    pub user: LogUser<'a>,
    pub out: &'a mut Vec<u8>,
    pub rows: u64,
}

/// How Entra's sign-in log names a first-factor credential (`authenticationDetails`'
/// `authenticationMethod`).
pub fn credential_log_name(c: Credential) -> &'static str {
    match c {
        Credential::Password => "Password",
        Credential::WindowsHello => "Windows Hello for Business",
        Credential::Passkey => "Passkey (device-bound)",
    }
}

/// How Entra's sign-in log names a second-factor method. Number matching is not shown in
/// the log: every Authenticator push reads "Mobile app notification".
pub fn mfa_log_name(m: MfaMethod) -> &'static str {
    match m {
        MfaMethod::Push | MfaMethod::PushNumberMatch => "Mobile app notification",
        MfaMethod::Passkey => "Passkey (device-bound)",
    }
}

fn session_policy(r: &Record) -> &'static str {
    match (r.reason, r.requirement.and_then(|q| q.sign_in_frequency)) {
        (Reason::EveryTime, _) | (_, Some(Sif::EveryTime)) => "signInFrequencyEveryTime",
        (_, Some(Sif::Periodic(_))) => "signInFrequencyPeriodicReauthentication",
        (Reason::RememberMfaExpired, _) => "rememberMultifactorAuthenticationOnTrustedDevices",
        _ => "",
    }
}

fn ca_status(r: &Record) -> &'static str {
    match r.requirement {
        Some(q) if q.access != Access::Allowed => "failure",
        Some(q) if q.policy_applied => "success",
        Some(_) => "notApplied",
        None => "",
    }
}

impl<O: Observer> Observer for Logging<'_, O> {
    fn record(&mut self, r: &Record) {
        self.inner.record(r);
        if !r.entra || (r.actor == Actor::User && r.at >= self.user.until) {
            return;
        }
        let u = &self.user;
        let interactive = r.outcome == Outcome::Prompt;
        let requirement = match r.requirement {
            Some(q) if q.mfa => "multiFactorAuthentication",
            _ => "singleFactorAuthentication",
        };
        // The user's device, credential and place; the attacker's are not the user's.
        let user_row = r.actor == Actor::User;
        let pick = |s: &'static str| if user_row { s } else { "" };
        let _ = writeln!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            iso8601(u.start_day, r.at),
            u.upn,
            r.app.map_or("Windows Sign In", |a| a.display_name()),
            r.client.client_app_used(),
            interactive,
            pick(u.device.sign_in_log_name()),
            error_code(r.outcome, r.reason),
            ca_status(r),
            session_policy(r),
            requirement,
            pick(if u.compliant { "true" } else { "false" }),
            pick(credential_log_name(u.credential)),
            pick(mfa_log_name(u.mfa_method)),
            pick(if u.trusted_location {
                "trustedNamedLocation"
            } else {
                ""
            }),
            csv_field(u.design),
            u.replicate,
            csv_field(u.persona),
            r.actor.name(),
            r.outcome.name(),
            r.reason.name(),
        );
        if r.actor == Actor::User {
            self.rows += 1;
        }
    }
}

/// Quotes a CSV field when it needs it (design names may contain commas).
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(
            csv_field("sif=4h,persist=never"),
            "\"sif=4h,persist=never\""
        );
    }
}
