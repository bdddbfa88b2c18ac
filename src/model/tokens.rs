//! The access-token rule (MODEL.md §3, §4): how long a token lives, whoever it is issued
//! to. Ordinary tokens live 60–90 minutes; CAE tokens are long-lived (20–28 h) but do not
//! carry a session past its sign-in frequency deadline ("Sign-in Frequency will be honored
//! with or without CAE", \[CAE\] FAQ).
//!
//! This module owns: the lifetime range of a token and its expiry. Drawing the lifetime
//! (randomness) is the caller's.

use crate::engine::time::{Duration, SimTime};
use crate::model::params::{ModelParams, TokenMode};
use crate::model::rules::Requirement;
use crate::policy::Sif;

/// Whether a CAE token gets the long lifetime. Under every-time sign-in frequency, which
/// Entra honours with or without CAE, each token request is a reauthentication, so the
/// simulator issues an ordinary-lifetime token instead (an assumption: Microsoft does not
/// document the lifetime in this case).
pub fn long_lived(cae: bool, req: &Requirement, params: &ModelParams) -> bool {
    cae && !(params.cae_tokens_honour_sif && req.sign_in_frequency == Some(Sif::EveryTime))
}

/// The range a token's lifetime is drawn from: `None` in idealised mode, where there are
/// no access tokens.
pub fn lifetime_range(
    long: bool,
    mode: TokenMode,
    params: &ModelParams,
) -> Option<(Duration, Duration)> {
    match mode {
        _ if long => Some((params.cae_token_min, params.cae_token_max)),
        TokenMode::Idealised => None,
        TokenMode::Fixed(d) => Some((d, d)),
        TokenMode::Random { min, max } => Some((min, max)),
    }
}

/// When a token issued `now` with `lifetime` expires: a CAE token ends at the session's
/// next deadline (`deadline`, at least one second on) when CAE honours sign-in frequency.
/// The deadline is asked for only then: it costs a session evaluation, and most tokens are
/// not CAE tokens.
pub fn expiry(
    now: SimTime,
    lifetime: Duration,
    cae: bool,
    deadline: impl FnOnce() -> SimTime,
    params: &ModelParams,
) -> SimTime {
    let expires = now + lifetime;
    if cae && params.cae_tokens_honour_sif {
        expires.min(deadline().max(now + Duration::from_secs(1)))
    } else {
        expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cae_tokens_end_at_the_sign_in_frequency_deadline() {
        let p = ModelParams::default();
        let now = SimTime::from_secs(0);
        let deadline = SimTime::from_secs(3600);
        assert_eq!(
            expiry(now, Duration::from_hours(24), true, || deadline, &p),
            deadline
        );
        assert_eq!(
            expiry(now, Duration::from_hours(24), false, || unreachable!(), &p),
            SimTime::from_secs(24 * 3600)
        );
        // A deadline already passed still gives the token one second.
        assert_eq!(
            expiry(
                SimTime::from_secs(10),
                Duration::from_hours(1),
                true,
                || now,
                &p
            ),
            SimTime::from_secs(11)
        );
    }

    #[test]
    fn every_time_gets_ordinary_tokens_even_with_cae() {
        let p = ModelParams::default();
        let every = Requirement {
            sign_in_frequency: Some(Sif::EveryTime),
            ..Requirement::default()
        };
        assert!(!long_lived(true, &every, &p));
        assert!(long_lived(true, &Requirement::default(), &p));
        assert!(!long_lived(false, &Requirement::default(), &p));
        assert_eq!(lifetime_range(false, TokenMode::Idealised, &p), None);
    }
}
