//! The Primary Refresh Token rule (MODEL.md §2): when a device sign-in or unlock renews it.
//! Its validity (revocation, idle expiry) is in `revocation.rs`, like every artefact's.

use crate::engine::time::SimTime;
use crate::model::params::ModelParams;

/// An unlock or Windows sign-in renews the PRT only when its last renewal is at least
/// `prt_renewal_interval` old (seed 001: "every 4 hours").
pub fn renewal_due(last_renewed: SimTime, now: SimTime, params: &ModelParams) -> bool {
    now - last_renewed >= params.prt_renewal_interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_only_after_four_hours() {
        let p = ModelParams::default();
        let t0 = SimTime::ZERO;
        assert!(!renewal_due(t0, SimTime::from_secs(4 * 3600 - 1), &p));
        assert!(renewal_due(t0, SimTime::from_secs(4 * 3600), &p));
    }
}
