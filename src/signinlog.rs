//! The simulated sign-in log (`signins.csv`, `--signin-log`) and the per-user table
//! (`users.csv`, `--per-user`).
//!
//! Column names follow Entra's sign-in log where one fits (`createdDateTime`,
//! `userPrincipalName`, `appDisplayName`, `clientAppUsed`, `isInteractive`,
//! `deviceTrustType`, `status_errorCode`, `conditionalAccessStatus`,
//! `sessionLifetimePolicy`), so the same queries work on both. The simulator's own columns
//! (`design`, `replicate`, `actor`, `outcome`, `reason`) come last.

use std::io::Write;

use crate::app::DeviceTrust;
use crate::model::{Access, Actor, Observer, Outcome, Reason, Record};
use crate::policy::Sif;
use crate::time::{SimTime, DAY};

/// The header of `signins.csv`.
pub const SIGNIN_HEADER: &str = "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,deviceTrustType,status_errorCode,conditionalAccessStatus,sessionLifetimePolicy,authenticationRequirement,design,replicate,actor,outcome,reason\n";

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

/// ISO 8601 UTC text for a simulated time, counting from `start_day` (days since
/// 1970-01-01).
pub fn iso8601(start_day: i64, t: SimTime) -> String {
    let day = start_day + (t.as_secs() / DAY) as i64;
    let (y, m, d) = civil_from_days(day);
    let s = t.second_of_day();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a date: use YYYY-MM-DD");
    let parts: Vec<&str> = text.trim().split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(format!("`{text}` is not a calendar date"));
    }
    Ok(days)
}

/// Day of the week, 0 = Monday.
pub fn weekday(days_since_epoch: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    (days_since_epoch + 3).rem_euclid(7)
}

/// What identifies the user's rows in the log.
pub struct LogUser<'a> {
    pub start_day: i64,
    pub upn: &'a str,
    pub device: DeviceTrust,
    pub design: &'a str,
    pub replicate: u32,
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
        let _ = writeln!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            iso8601(u.start_day, r.at),
            u.upn,
            r.app.map_or("Windows Sign In", |a| a.display_name()),
            r.client.client_app_used(),
            interactive,
            if r.actor == Actor::Attacker {
                ""
            } else {
                u.device.sign_in_log_name()
            },
            error_code(r.outcome, r.reason),
            ca_status(r),
            session_policy(r),
            requirement,
            csv_field(u.design),
            u.replicate,
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
    fn dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(parse_date("2026-01-05").map(weekday), Ok(0), "a Monday");
        for d in [-1000, 0, 365, 20_000, 20_454] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("26-1-5").is_err());
        let start = parse_date("2026-01-05").unwrap();
        assert_eq!(
            iso8601(start, SimTime::from_secs(DAY + 3661)),
            "2026-01-06T01:01:01Z"
        );
    }

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(
            csv_field("sif=4h,persist=never"),
            "\"sif=4h,persist=never\""
        );
    }
}
