//! The continuous access evaluation rule (MODEL.md §5): which access tokens are CAE tokens,
//! and when a CAE-capable resource rejects one, whoever holds it.
//!
//! This module owns: CAE eligibility, the propagation delay of critical events, the
//! SharePoint exception for user risk, and strict location enforcement. It does not issue
//! tokens (`tokens.rs`) or decide what happens after a rejection (the caller goes back to
//! Entra with its session).

use crate::engine::time::SimTime;
use crate::model::params::ModelParams;
use crate::model::revocation::Revocations;
use crate::model::rules::{Access, Requirement};
use crate::model::session::AccessToken;
use crate::policy::CaeMode;
use crate::world::app::App;

/// Whether a token for `app` is a CAE token: the resource is CAE-capable, the tenant has
/// CAE on, and no policy disables it.
pub fn applies(app: App, tenant_cae: bool, req: &Requirement) -> bool {
    app.cae_capable() && tenant_cae && req.cae != CaeMode::Disabled
}

/// When a critical event at `event` reaches CAE-capable resources: after the propagation
/// delay (MODEL.md §5: near real time, up to 15 minutes).
pub fn reaches(event: SimTime, params: &ModelParams) -> SimTime {
    event + params.cae_propagation_delay
}

/// The critical events that apply to `tok` for `app`: the latest revocation-type event and,
/// except for SharePoint, the latest high-user-risk event, each if the token was issued
/// before it.
fn events_for(
    tok: &AccessToken,
    app: App,
    rev: &Revocations,
    risk_event: Option<SimTime>,
) -> impl Iterator<Item = SimTime> {
    let tok = *tok;
    [
        rev.critical_event,
        risk_event.filter(|_| risk_is_critical_for(app)),
    ]
    .into_iter()
    .flatten()
    .filter(move |e| tok.cae && tok.issued <= *e)
}

/// Whether a CAE-capable resource rejects `tok` now: it was issued before a critical event
/// that has propagated. High user risk is not a critical event for SharePoint.
pub fn rejects(
    tok: &AccessToken,
    app: App,
    rev: &Revocations,
    risk_event: Option<SimTime>,
    now: SimTime,
    params: &ModelParams,
) -> bool {
    // Asked on every access with a cached token, nearly always of one that is not a CAE
    // token or meets no critical event: answered before building the events.
    if !tok.cae || (rev.critical_event.is_none() && risk_event.is_none()) {
        return false;
    }
    events_for(tok, app, rev, risk_event).any(|e| now >= reaches(e, params))
}

/// When a resource will reject `tok` for a critical event that has not propagated yet.
pub fn pending_rejection(
    tok: &AccessToken,
    app: App,
    rev: &Revocations,
    risk_event: Option<SimTime>,
    now: SimTime,
    params: &ModelParams,
) -> Option<SimTime> {
    events_for(tok, app, rev, risk_event)
        .map(|e| reaches(e, params))
        .filter(|t| *t > now)
        .min()
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

    fn at(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn critical_events_reach_cae_tokens_after_the_delay() {
        let p = ModelParams::default(); // 15 minutes
        let rev = Revocations {
            critical_event: Some(at(100)),
            ..Revocations::default()
        };
        let t = token(50);
        assert!(!rejects(&t, App::Exchange, &rev, None, at(999), &p));
        assert!(rejects(&t, App::Exchange, &rev, None, at(1000), &p));
        assert_eq!(
            pending_rejection(&t, App::Exchange, &rev, None, at(500), &p),
            Some(at(1000))
        );
        assert_eq!(
            pending_rejection(&t, App::Exchange, &rev, None, at(1000), &p),
            None
        );
        // Tokens issued after the event are fine; non-CAE tokens are never rejected.
        assert!(!rejects(
            &token(150),
            App::Exchange,
            &rev,
            None,
            at(5000),
            &p
        ));
        let plain = AccessToken { cae: false, ..t };
        assert!(!rejects(&plain, App::Exchange, &rev, None, at(5000), &p));
    }

    #[test]
    fn user_risk_is_not_critical_for_sharepoint() {
        let p = ModelParams::default();
        let rev = Revocations::default();
        let risk = Some(at(100));
        assert!(rejects(
            &token(50),
            App::Exchange,
            &rev,
            risk,
            at(10_000),
            &p
        ));
        assert!(!rejects(
            &token(50),
            App::Sharepoint,
            &rev,
            risk,
            at(10_000),
            &p
        ));
    }
}
