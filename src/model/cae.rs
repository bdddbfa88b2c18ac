//! The continuous access evaluation rule (MODEL.md §5): which access tokens are CAE tokens,
//! and when a CAE-capable resource rejects one, whoever holds it.
//!
//! This module owns: CAE eligibility, the propagation delay of critical events, the
//! SharePoint exception for user risk, and strict location enforcement. It does not issue
//! tokens (`tokens.rs`) or decide what happens after a rejection (the caller goes back to
//! Entra with its session).

use crate::app::App;
use crate::model::revocation::Revocations;
use crate::model::rules::{Access, Requirement};
use crate::model::session::AccessToken;
use crate::policy::CaeMode;
use crate::time::{Duration, SimTime};

/// Whether a token for `app` is a CAE token: the resource is CAE-capable, the tenant has
/// CAE on, and no policy disables it.
pub fn applies(app: App, tenant_cae: bool, req: &Requirement) -> bool {
    app.cae_capable() && tenant_cae && req.cae != CaeMode::Disabled
}

/// Whether a CAE-capable resource rejects `tok` now: it was issued before a critical event
/// that has propagated (`delay`). High user risk is not a critical event for SharePoint.
pub fn rejects(
    tok: &AccessToken,
    app: App,
    rev: &Revocations,
    risk_event: Option<SimTime>,
    now: SimTime,
    delay: Duration,
) -> bool {
    if !tok.cae {
        return false;
    }
    let hit = |event: Option<SimTime>| event.is_some_and(|e| tok.issued <= e && now >= e + delay);
    hit(rev.critical_event) || (app != App::Sharepoint && hit(risk_event))
}

/// Whether a user-risk event is a critical event for `app`.
pub fn risk_is_critical_for(app: App) -> bool {
    app != App::Sharepoint
}

/// Strict location enforcement: Entra saw an allowed address (`at_entra`), but the resource
/// sees the request's own address (`from_own_ip`). A CAE-capable resource applies the
/// location policies to that address at once when a policy that applies to it sets
/// `strictLocation` ([CAE-strict]).
pub fn strict_location_blocks(
    app: App,
    tenant_cae: bool,
    at_entra: &Requirement,
    from_own_ip: &Requirement,
) -> bool {
    app.cae_capable()
        && tenant_cae
        && from_own_ip.cae == CaeMode::StrictLocation
        && (from_own_ip.access != Access::Allowed || from_own_ip.mfa && !at_entra.mfa)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(issued: u64) -> AccessToken {
        AccessToken {
            issued: SimTime::from_secs(issued),
            expires: SimTime::NEVER,
            cae: true,
        }
    }

    #[test]
    fn critical_events_reach_cae_tokens_after_the_delay() {
        let rev = Revocations {
            critical_event: Some(SimTime::from_secs(100)),
            ..Revocations::default()
        };
        let d = Duration::from_secs(900);
        let t = token(50);
        assert!(!rejects(
            &t,
            App::Exchange,
            &rev,
            None,
            SimTime::from_secs(999),
            d
        ));
        assert!(rejects(
            &t,
            App::Exchange,
            &rev,
            None,
            SimTime::from_secs(1000),
            d
        ));
        // Tokens issued after the event are fine; non-CAE tokens are never rejected.
        assert!(!rejects(
            &token(150),
            App::Exchange,
            &rev,
            None,
            SimTime::from_secs(5000),
            d
        ));
        let plain = AccessToken { cae: false, ..t };
        assert!(!rejects(
            &plain,
            App::Exchange,
            &rev,
            None,
            SimTime::from_secs(5000),
            d
        ));
    }

    #[test]
    fn user_risk_is_not_critical_for_sharepoint() {
        let rev = Revocations::default();
        let risk = Some(SimTime::from_secs(100));
        let now = SimTime::from_secs(10_000);
        let d = Duration::from_secs(900);
        assert!(rejects(&token(50), App::Exchange, &rev, risk, now, d));
        assert!(!rejects(&token(50), App::Sharepoint, &rev, risk, now, d));
    }
}
