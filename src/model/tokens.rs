//! The access-token rule (MODEL.md §3, §4): how long a token lives, whoever it is issued
//! to, the user or an attacker replaying a stolen session. Ordinary tokens live 60–90
//! minutes; CAE tokens may be long-lived (20–28 h). How a CAE session meets sign-in
//! frequency is not documented beyond "Sign-in Frequency is honored with or without CAE"
//! (\[CAE\] FAQ), so it is a parameter, [`CaeUnderSif`] (docs/model.md §5).
//!
//! This module owns: the lifetime range of a token and its expiry. Drawing the lifetime
//! (randomness) is the caller's.

use serde::{Deserialize, Serialize};

use crate::engine::time::{Duration, SimTime};
use crate::model::params::{ModelParams, TokenMode};
use crate::model::rules::Requirement;
use crate::policy::Sif;

/// How the tokens of a CAE-capable app meet a sign-in frequency policy
/// (`[model] cae_tokens_under_sif`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaeUnderSif {
    /// Under any sign-in frequency the app gets ordinary-lifetime tokens, so the
    /// frequency is met at their renewal, as without CAE: prompts come "the token lifetime
    /// ... plus the sign-in frequency interval" after the last one (access-tokens page).
    /// Long-lived tokens only where no sign-in frequency applies. The default.
    #[default]
    Ordinary,
    /// Long-lived tokens that end at the session's periodic deadline (every-time:
    /// ordinary tokens): the first releases' rule.
    Capped,
    /// Long-lived tokens whatever the frequency: it is met at their renewal, up to 28 h
    /// after the deadline.
    Long,
}

impl CaeUnderSif {
    pub fn name(self) -> &'static str {
        match self {
            CaeUnderSif::Ordinary => "ordinary",
            CaeUnderSif::Capped => "capped",
            CaeUnderSif::Long => "long",
        }
    }
}

/// Whether a token for an access with `req` gets the long lifetime: a CAE token, unless
/// the sign-in frequency rule gives it an ordinary one.
pub fn long_lived(cae: bool, req: &Requirement, params: &ModelParams) -> bool {
    cae && match params.cae_tokens_under_sif {
        CaeUnderSif::Ordinary => req.sign_in_frequency.is_none(),
        CaeUnderSif::Capped => req.sign_in_frequency != Some(Sif::EveryTime),
        CaeUnderSif::Long => true,
    }
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

/// When a token issued `now` with `lifetime` expires. Only a long-lived token under the
/// `capped` rule ends early, at the session's next deadline (`deadline`, at least one
/// second on); ordinary tokens, the user's and an attacker's alike, live their lifetime.
/// The deadline is asked for only then: it costs a session evaluation.
pub fn expiry(
    now: SimTime,
    lifetime: Duration,
    long: bool,
    deadline: impl FnOnce() -> SimTime,
    params: &ModelParams,
) -> SimTime {
    let expires = now + lifetime;
    if long && params.cae_tokens_under_sif == CaeUnderSif::Capped {
        expires.min(deadline().max(now + Duration::from_secs(1)))
    } else {
        expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(rule: CaeUnderSif) -> ModelParams {
        ModelParams {
            cae_tokens_under_sif: rule,
            ..ModelParams::default()
        }
    }

    fn req(sif: Option<Sif>) -> Requirement {
        Requirement {
            sign_in_frequency: sif,
            ..Requirement::default()
        }
    }

    #[test]
    fn capped_long_tokens_end_at_the_sign_in_frequency_deadline() {
        let p = with(CaeUnderSif::Capped);
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
    fn only_long_capped_tokens_are_cut_short() {
        // Ordinary tokens live their lifetime under every rule: the user's and the
        // attacker's alike (issue 32: the attacker's were cut at its tolerance).
        for rule in [
            CaeUnderSif::Ordinary,
            CaeUnderSif::Capped,
            CaeUnderSif::Long,
        ] {
            let p = with(rule);
            let now = SimTime::from_secs(100);
            assert_eq!(
                expiry(now, Duration::from_mins(75), false, || unreachable!(), &p),
                SimTime::from_secs(100 + 75 * 60)
            );
        }
        let p = with(CaeUnderSif::Long);
        assert_eq!(
            expiry(
                SimTime::ZERO,
                Duration::from_hours(24),
                true,
                || unreachable!(),
                &p
            ),
            SimTime::from_secs(24 * 3600)
        );
    }

    #[test]
    fn which_cae_tokens_are_long_lived() {
        let hour = Some(Sif::Periodic(Duration::from_hours(1)));
        let every = Some(Sif::EveryTime);
        let cases = [
            (CaeUnderSif::Ordinary, [true, false, false]),
            (CaeUnderSif::Capped, [true, true, false]),
            (CaeUnderSif::Long, [true, true, true]),
        ];
        for (rule, want) in cases {
            let p = with(rule);
            for (sif, w) in [None, hour, every].into_iter().zip(want) {
                assert_eq!(long_lived(true, &req(sif), &p), w, "{rule:?} {sif:?}");
                assert!(!long_lived(false, &req(sif), &p));
            }
        }
        assert_eq!(
            lifetime_range(false, TokenMode::Idealised, &ModelParams::default()),
            None
        );
    }
}
