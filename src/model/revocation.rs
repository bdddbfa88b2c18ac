//! The revocation and expiry rule (MODEL.md §2, §4, §6): whether a copy of an artefact still
//! works, whoever holds it.
//!
//! An artefact is a [`Session`] of one [`Artefact`] kind. The user's own cookie, refresh
//! tokens and PRT and the attacker's stolen copies of them are all checked here, against the
//! same [`Revocations`] of the user's account: Entra keeps revocation state per user, not
//! per copy.
//!
//! This module owns: what revokes what (revoke sessions, password changes, device disable),
//! and idle expiry by kind. It does not know who holds the copy.

use crate::engine::time::{Duration, SimTime};
use crate::model::action::Artefact;
use crate::model::params::ModelParams;
use crate::model::session::{idle_expired, Loss, Session};

/// The facts a revocation check needs, shared by user and attacker copies of a session.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Revocations {
    /// `signInSessionsValidFromDateTime` (revoke sessions).
    pub sessions_valid_from: Option<SimTime>,
    pub password_changed_at: Option<SimTime>,
    /// An administrator reset the password in the Entra admin center: besides
    /// password-based artefacts, refresh tokens obtained without a password end too
    /// (cookies obtained without one survive; \[RT\] token revocation table).
    pub admin_reset_at: Option<SimTime>,
    /// Revoke MFA sessions: MFA claims of app sessions older than this no longer count.
    pub mfa_valid_from: Option<SimTime>,
    /// The latest CAE critical event (password change, revoke, disable, high user risk).
    pub critical_event: Option<SimTime>,
    /// The device was disabled in Entra (a response action): its PRT no longer works.
    pub device_disabled: bool,
}

impl Revocations {
    /// Why an artefact of `kind` issued at `issued` is revoked, if it is.
    ///
    /// - Revoke sessions ends every refresh token and session cookie issued before it
    ///   (seed 004, \[Revoke\]); it ends the PRT only when `revoke_sessions_invalidates_prt`.
    /// - A password change ends password-based artefacts only: Windows Hello and passkey
    ///   sessions survive it (\[RT\] token revocation table). An administrator's reset in the
    ///   Entra admin center also ends refresh tokens obtained without a password, but not
    ///   such cookies (same table); the PRT follows its own page: only a password-based PRT
    ///   ends (\[PRT\] "How is a PRT invalidated?").
    /// - Disabling the device ends its PRT (\[PRT\] "invalid device").
    pub fn check(
        &self,
        kind: Artefact,
        issued: SimTime,
        password_based: bool,
        params: &ModelParams,
    ) -> Option<Loss> {
        let revoked = self.sessions_valid_from.is_some_and(|t| issued < t);
        match kind {
            Artefact::Prt => {
                if self.device_disabled {
                    return Some(Loss::Revoked);
                }
                if revoked && params.revoke_sessions_invalidates_prt {
                    return Some(Loss::Revoked);
                }
            }
            Artefact::Cookie => {
                if revoked {
                    return Some(Loss::Revoked);
                }
            }
            Artefact::RefreshToken => {
                if revoked {
                    return Some(Loss::Revoked);
                }
                if self.admin_reset_at.is_some_and(|t| issued < t) {
                    return Some(Loss::PasswordChanged);
                }
            }
        }
        if password_based && self.password_changed_at.is_some_and(|t| issued < t) {
            return Some(Loss::PasswordChanged);
        }
        None
    }

    /// The MFA claim that still counts. "Revoke MFA sessions" makes apps ask for MFA again
    /// but leaves browser sessions alone (seed 004), so only app sessions lose the claim.
    pub fn mfa_claim(&self, mfa: Option<SimTime>, browser: bool) -> Option<SimTime> {
        if browser {
            return mfa;
        }
        mfa.filter(|m| self.mfa_valid_from.is_none_or(|v| *m >= v))
    }
}

/// How long an artefact of `kind` lives without use (MODEL.md §2, §4).
pub fn idle_lifetime(kind: Artefact, persistent: bool, params: &ModelParams) -> Duration {
    match kind {
        Artefact::Cookie if persistent => params.persistent_cookie_lifetime,
        Artefact::Cookie => params.nonpersistent_cookie_idle,
        Artefact::RefreshToken => params.refresh_token_lifetime,
        Artefact::Prt => params.prt_lifetime,
    }
}

/// Whether a copy of an artefact still works now: not revoked and not idle-expired.
pub fn validity(
    kind: Artefact,
    s: &Session,
    rev: &Revocations,
    params: &ModelParams,
    now: SimTime,
) -> Result<(), Loss> {
    if let Some(loss) = rev.check(kind, s.issued, s.password_based, params) {
        return Err(loss);
    }
    if idle_expired(s.last_used, idle_lifetime(kind, s.persistent, params), now) {
        return Err(Loss::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(issued: u64, password_based: bool) -> Session {
        Session {
            auth: SimTime::from_secs(issued),
            mfa: None,
            issued: SimTime::from_secs(issued),
            last_used: SimTime::from_secs(issued),
            persistent: false,
            password_based,
        }
    }

    #[test]
    fn revoke_sessions_ends_cookies_and_refresh_tokens_issued_before_it() {
        let p = ModelParams::default();
        let rev = Revocations {
            sessions_valid_from: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let now = SimTime::from_secs(200);
        for kind in [Artefact::Cookie, Artefact::RefreshToken] {
            assert_eq!(
                validity(kind, &session(50, false), &rev, &p, now),
                Err(Loss::Revoked)
            );
            assert_eq!(validity(kind, &session(150, false), &rev, &p, now), Ok(()));
        }
    }

    #[test]
    fn revoke_sessions_reaches_the_prt_only_when_the_parameter_says_so() {
        let rev = Revocations {
            sessions_valid_from: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let now = SimTime::from_secs(200);
        let mut p = ModelParams {
            revoke_sessions_invalidates_prt: false,
            ..ModelParams::default()
        };
        assert_eq!(
            validity(Artefact::Prt, &session(50, false), &rev, &p, now),
            Ok(())
        );
        p.revoke_sessions_invalidates_prt = true;
        assert_eq!(
            validity(Artefact::Prt, &session(50, false), &rev, &p, now),
            Err(Loss::Revoked)
        );
    }

    #[test]
    fn password_changes_spare_passkey_and_windows_hello_sessions() {
        let p = ModelParams::default();
        let rev = Revocations {
            password_changed_at: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let now = SimTime::from_secs(200);
        assert_eq!(
            validity(Artefact::Cookie, &session(50, true), &rev, &p, now),
            Err(Loss::PasswordChanged)
        );
        assert_eq!(
            validity(Artefact::Cookie, &session(50, false), &rev, &p, now),
            Ok(())
        );
    }

    #[test]
    fn an_admin_reset_ends_passkey_refresh_tokens_but_not_passkey_cookies() {
        let p = ModelParams::default();
        let rev = Revocations {
            password_changed_at: Some(SimTime::from_secs(100)),
            admin_reset_at: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let now = SimTime::from_secs(200);
        assert_eq!(
            validity(Artefact::Cookie, &session(50, false), &rev, &p, now),
            Ok(())
        );
        assert_eq!(
            validity(Artefact::RefreshToken, &session(50, false), &rev, &p, now),
            Err(Loss::PasswordChanged)
        );
        assert_eq!(
            validity(Artefact::Prt, &session(50, false), &rev, &p, now),
            Ok(())
        );
    }

    #[test]
    fn revoking_mfa_sessions_leaves_browser_claims_alone() {
        let rev = Revocations {
            mfa_valid_from: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let claim = Some(SimTime::from_secs(50));
        assert_eq!(rev.mfa_claim(claim, true), claim);
        assert_eq!(rev.mfa_claim(claim, false), None);
    }

    #[test]
    fn a_disabled_device_ends_its_prt() {
        let p = ModelParams::default();
        let rev = Revocations {
            device_disabled: true,
            ..Revocations::default()
        };
        assert_eq!(
            validity(
                Artefact::Prt,
                &session(50, false),
                &rev,
                &p,
                SimTime::from_secs(60)
            ),
            Err(Loss::Revoked)
        );
    }

    #[test]
    fn idle_artefacts_expire_by_kind() {
        let p = ModelParams::default();
        let rev = Revocations::default();
        let s = session(0, false);
        let day = SimTime::from_secs(24 * 3600);
        assert_eq!(
            validity(Artefact::Cookie, &s, &rev, &p, day),
            Err(Loss::Expired)
        );
        assert_eq!(validity(Artefact::RefreshToken, &s, &rev, &p, day), Ok(()));
    }
}
