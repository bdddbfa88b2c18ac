//! The sign-in frequency rule (MODEL.md §3) and the MFA claims it checks: what a session
//! with given claims lacks for a [`Requirement`], and when it will next lack something.
//!
//! The user and the attacker are both judged here. They differ only in the [`Holder`]
//! facts: the user's last interactive authentication (any session) and remember-MFA
//! cookie, against a stolen copy's own authentication and no remembered MFA. What the
//! holder then does about a demand (the user prompts, the attacker loses access) is the
//! caller's business.
//!
//! This module owns: periodic and every-time sign-in frequency, the every-time tolerance,
//! the MFA claim and its frequency, the remember-MFA cap, and the password-change grant.

use crate::engine::time::{Duration, SimTime};
use crate::model::params::{ModelParams, TenantSettings};
use crate::model::rules::Requirement;
use crate::model::session::Reason;
use crate::policy::Sif;

/// What an access needs before it can proceed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// A full (primary) authentication.
    Full,
    /// The second factor only.
    Mfa,
    /// A password change (risky-user remediation).
    PasswordChange,
}

/// The authentication claims a session carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// Last full authentication: what sign-in frequency counts from.
    pub auth: SimTime,
    /// The MFA claim as issued.
    pub mfa: Option<SimTime>,
    /// The MFA claim that still counts after "revoke MFA sessions".
    pub mfa_valid: Option<SimTime>,
}

/// Facts about whoever presents the session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The holder's last interactive authentication: what the every-time tolerance counts
    /// from. For the user, the last prompt in any session (MODEL.md §3: never two
    /// every-time prompts within 5 minutes); for a stolen copy, the newest authentication
    /// it carries (the attacker never authenticates).
    pub last_interactive: Option<SimTime>,
    /// A remember-MFA cookie in this browser skips a missing MFA claim (users only).
    pub remembered_mfa: bool,
}

/// The verdict on a session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Satisfied,
    /// Satisfied only because an every-time policy's tolerance covers it.
    WithinTolerance,
    Demands(Need, Reason),
}

/// Rule parameters: the every-time tolerance and the tenant's remember-MFA period
/// (`Duration::ZERO` when off).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub every_time_tolerance: Duration,
    pub remember_mfa: Duration,
}

impl Limits {
    /// The limits of a model and a tenant: the only place these two are read.
    pub fn of(params: &ModelParams, tenant: &TenantSettings) -> Limits {
        Limits {
            every_time_tolerance: params.every_time_tolerance,
            remember_mfa: tenant.remember_mfa,
        }
    }

    /// When a remember-MFA cookie set by an MFA at `mfa` runs out, if the tenant has one.
    pub fn remembered_until(&self, mfa: SimTime) -> Option<SimTime> {
        (!self.remember_mfa.is_zero()).then(|| mfa + self.remember_mfa)
    }
}

fn within(last: Option<SimTime>, now: SimTime, tolerance: Duration) -> bool {
    last.is_some_and(|t| now - t < tolerance)
}

/// What a session with `claims`, presented by `holder`, lacks for `req` now.
///
/// Order follows what Entra asks first: a fresh primary authentication (sign-in frequency,
/// every-time), then MFA (missing claim, MFA frequency, remember-MFA cap), then a password
/// change.
pub fn check(
    req: &Requirement,
    claims: Claims,
    holder: Holder,
    now: SimTime,
    limits: Limits,
) -> Verdict {
    let tolerance = limits.every_time_tolerance;
    let mut tolerated = false;
    match req.sign_in_frequency {
        Some(Sif::EveryTime) => {
            if within(holder.last_interactive, now, tolerance) {
                tolerated = true;
            } else {
                return Verdict::Demands(Need::Full, Reason::EveryTime);
            }
        }
        // A deadline is reached at `auth + SIF` exactly (docs/model.md §1).
        Some(Sif::Periodic(d)) if now >= claims.auth + d => {
            return Verdict::Demands(Need::Full, Reason::SifExpired);
        }
        _ => {}
    }
    if req.mfa {
        match claims.mfa_valid {
            Some(m) => {
                match req.mfa_frequency {
                    Some(Sif::EveryTime) if !within(holder.last_interactive, now, tolerance) => {
                        return Verdict::Demands(Need::Mfa, Reason::EveryTime);
                    }
                    Some(Sif::Periodic(d)) if now >= m + d => {
                        return Verdict::Demands(Need::Mfa, Reason::SifExpired);
                    }
                    _ => {}
                }
                // Remember-MFA caps the MFA claim: modern-auth clients re-check it on each
                // refresh, and in the browser the most restrictive lifetime wins
                // ([MFA-prompts]; docs/model.md, "remember MFA").
                let cap = limits.remember_mfa;
                if !cap.is_zero() && now >= m + cap {
                    return Verdict::Demands(Need::Mfa, Reason::RememberMfaExpired);
                }
            }
            None if !holder.remembered_mfa => {
                let why = if claims.mfa.is_some() {
                    Reason::MfaSessionsRevoked
                } else {
                    Reason::MfaRequired
                };
                return Verdict::Demands(Need::Mfa, why);
            }
            None => {}
        }
    }
    if req.password_change {
        return Verdict::Demands(Need::PasswordChange, Reason::PasswordChangeRequired);
    }
    if tolerated {
        Verdict::WithinTolerance
    } else {
        Verdict::Satisfied
    }
}

/// The earliest time a satisfied session stops being satisfied without any other change:
/// its sign-in frequency deadline, its MFA claim's frequency or remember-MFA cap, and, with
/// `every_time`, the end of the every-time tolerance (for holders whose every request is an
/// evaluation, such as an attacker's replay loop). [`SimTime::NEVER`] when nothing bounds it.
pub fn deadline(
    req: &Requirement,
    claims: Claims,
    holder: Holder,
    limits: Limits,
    every_time: bool,
) -> SimTime {
    let mut t = SimTime::NEVER;
    match req.sign_in_frequency {
        Some(Sif::Periodic(d)) => t = t.min(claims.auth + d),
        Some(Sif::EveryTime) if every_time => {
            if let Some(last) = holder.last_interactive {
                t = t.min(last + limits.every_time_tolerance);
            }
        }
        _ => {}
    }
    if req.mfa {
        if let Some(m) = claims.mfa_valid {
            if let Some(Sif::Periodic(d)) = req.mfa_frequency {
                t = t.min(m + d);
            }
            if !limits.remember_mfa.is_zero() {
                t = t.min(m + limits.remember_mfa);
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{HOUR, MINUTE};

    fn at(mins: u64) -> SimTime {
        SimTime::from_secs(mins * MINUTE)
    }

    fn claims(auth: u64, mfa: Option<u64>) -> Claims {
        Claims {
            auth: at(auth),
            mfa: mfa.map(at),
            mfa_valid: mfa.map(at),
        }
    }

    const LIMITS: Limits = Limits {
        every_time_tolerance: Duration::from_mins(5),
        remember_mfa: Duration::ZERO,
    };

    fn holder(last: Option<u64>) -> Holder {
        Holder {
            last_interactive: last.map(at),
            remembered_mfa: false,
        }
    }

    #[test]
    fn periodic_sif_expires_exactly_at_the_deadline() {
        let req = Requirement {
            sign_in_frequency: Some(Sif::Periodic(Duration::from_hours(1))),
            ..Requirement::default()
        };
        let c = claims(0, None);
        assert_eq!(
            check(&req, c, holder(None), at(59), LIMITS),
            Verdict::Satisfied
        );
        assert_eq!(
            check(&req, c, holder(None), at(60), LIMITS),
            Verdict::Demands(Need::Full, Reason::SifExpired)
        );
        assert_eq!(
            deadline(&req, c, holder(None), LIMITS, false),
            SimTime::from_secs(HOUR)
        );
    }

    #[test]
    fn every_time_tolerates_five_minutes_after_the_holders_last_authentication() {
        let req = Requirement {
            sign_in_frequency: Some(Sif::EveryTime),
            ..Requirement::default()
        };
        let c = claims(0, None);
        assert_eq!(
            check(&req, c, holder(Some(0)), at(4), LIMITS),
            Verdict::WithinTolerance
        );
        assert_eq!(
            check(&req, c, holder(Some(0)), at(5), LIMITS),
            Verdict::Demands(Need::Full, Reason::EveryTime)
        );
        // Only holders whose every request is evaluated see the tolerance as a deadline.
        assert_eq!(
            deadline(&req, c, holder(Some(0)), LIMITS, false),
            SimTime::NEVER
        );
        assert_eq!(deadline(&req, c, holder(Some(0)), LIMITS, true), at(5));
    }

    #[test]
    fn a_missing_or_revoked_mfa_claim_demands_mfa_unless_remembered() {
        let req = Requirement {
            mfa: true,
            ..Requirement::default()
        };
        assert_eq!(
            check(&req, claims(0, None), holder(None), at(1), LIMITS),
            Verdict::Demands(Need::Mfa, Reason::MfaRequired)
        );
        let revoked = Claims {
            mfa_valid: None,
            ..claims(0, Some(0))
        };
        assert_eq!(
            check(&req, revoked, holder(None), at(1), LIMITS),
            Verdict::Demands(Need::Mfa, Reason::MfaSessionsRevoked)
        );
        let remembered = Holder {
            remembered_mfa: true,
            ..holder(None)
        };
        assert_eq!(
            check(&req, claims(0, None), remembered, at(1), LIMITS),
            Verdict::Satisfied
        );
    }

    #[test]
    fn remember_mfa_caps_the_mfa_claim() {
        let req = Requirement {
            mfa: true,
            ..Requirement::default()
        };
        let limits = Limits {
            remember_mfa: Duration::from_hours(1),
            ..LIMITS
        };
        assert_eq!(
            check(&req, claims(0, Some(0)), holder(None), at(60), limits),
            Verdict::Demands(Need::Mfa, Reason::RememberMfaExpired)
        );
        assert_eq!(
            deadline(&req, claims(0, Some(0)), holder(None), limits, false),
            at(60)
        );
    }

    #[test]
    fn a_password_change_grant_comes_after_authentication_demands() {
        let req = Requirement {
            password_change: true,
            sign_in_frequency: Some(Sif::EveryTime),
            ..Requirement::default()
        };
        assert_eq!(
            check(&req, claims(0, None), holder(Some(0)), at(10), LIMITS),
            Verdict::Demands(Need::Full, Reason::EveryTime)
        );
        assert_eq!(
            check(&req, claims(0, None), holder(Some(9)), at(10), LIMITS),
            Verdict::Demands(Need::PasswordChange, Reason::PasswordChangeRequired)
        );
    }
}
