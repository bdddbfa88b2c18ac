//! The steady-state start (MODEL.md §9, "Steady state"): a study describes a tenant in
//! operation, whose users have held their sessions for a while when the study begins.
//!
//! Two rules, population runs only (`trace` scenarios start from nothing, as scripted):
//!
//! - The user's first access through a session slot that never held a session (the
//!   browser's cookie, the broker of a registered device, an app's refresh token) finds
//!   the session the user has held since before the study, if that session outlives a
//!   day: a refresh token, a PRT, a persistent cookie. It is not a prompt. A
//!   non-persistent cookie dies with the browser, so there the first access signs in, as
//!   it does every morning in a tenant in operation.
//! - That session was last authenticated (with MFA where the access asks for it) a share
//!   `u` of the interval that renews it ago (a periodic sign-in frequency, an MFA
//!   frequency, the remember-MFA cap), `u` uniform in [0, 1) and drawn once per user and
//!   slot from a stream of its own, so every design sees the same `u` (common random
//!   numbers). The first remember-MFA cookie is dated back the same way. A session
//!   renewed every `T` has, at a random moment of a long run, an age about uniform in
//!   [0, T) (the age of a renewal process with cycles of about `T`), so its next deadline
//!   falls uniformly in the next `T`. The cycles are in fact a little longer (the prompt
//!   waits for the next access), an error of the wait over `T`.
//!
//! `study::runner` adds a warm-up that is simulated but not counted, which settles what
//! has a short memory: PRT renewals, browser restarts, risk, the prompts seen so far
//! (habituation). Sessions lost later (a browser closed on a non-persistent cookie, a
//! sign-out, a revocation) start again from a real authentication.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::engine::time::{Duration, SimTime};
use crate::model::rules::Requirement;
use crate::policy::Sif;
use crate::world::app::App;

/// The longest age a session can be dated back by: no interval Entra accepts is longer
/// (sign-in frequency and remember-MFA are at most 365 days). A run's clock starts at
/// least this far from zero, so a dated-back time is never negative.
pub const MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Index of a slot's share in [`WarmStart::shares`].
const BROWSER: usize = 0;
const BROKER: usize = 1;
const REMEMBER_MFA: usize = 2;
const FIRST_APP: usize = 3;
const SLOTS: usize = FIRST_APP + App::COUNT;

/// One user's shares of the interval their first sessions are dated back by.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WarmStart {
    shares: [f64; SLOTS],
}

/// A session slot, as the warm start knows it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WarmSlot {
    Browser,
    Broker,
    App(App),
}

impl WarmStart {
    /// Draws a user's shares from the user's warm-start stream.
    pub fn draw(rng: &mut ChaCha8Rng) -> WarmStart {
        let mut shares = [0.0; SLOTS];
        for s in &mut shares {
            *s = rng.random::<f64>();
        }
        WarmStart { shares }
    }

    fn share(&self, slot: WarmSlot) -> f64 {
        match slot {
            WarmSlot::Browser => self.shares[BROWSER],
            WarmSlot::Broker => self.shares[BROKER],
            WarmSlot::App(a) => self.shares[FIRST_APP + a.index()],
        }
    }

    /// How far back the first authentication in `slot` is dated: its share of the
    /// shortest interval that renews the session under `req` (a periodic sign-in
    /// frequency, an MFA frequency, the remember-MFA cap). No interval, no age: the
    /// session's age then decides nothing.
    pub fn session_age(
        &self,
        slot: WarmSlot,
        req: &Requirement,
        remember_mfa: Duration,
    ) -> Duration {
        let mut interval: Option<Duration> = None;
        let mut shortest = |d: Duration| {
            if !d.is_zero() {
                interval = Some(interval.map_or(d, |i| i.min(d)));
            }
        };
        if let Some(Sif::Periodic(d)) = req.sign_in_frequency {
            shortest(d);
        }
        if req.mfa {
            if let Some(Sif::Periodic(d)) = req.mfa_frequency {
                shortest(d);
            }
            shortest(remember_mfa);
        }
        interval.map_or(Duration::ZERO, |i| scaled(i.min(MAX_AGE), self.share(slot)))
    }

    /// How far back the first remember-MFA cookie is dated: its share of the period.
    pub fn remember_mfa_age(&self, period: Duration) -> Duration {
        scaled(period.min(MAX_AGE), self.shares[REMEMBER_MFA])
    }
}

fn scaled(d: Duration, share: f64) -> Duration {
    // Whole seconds; the share is below 1, so the age is below the interval.
    Duration::from_secs((d.as_secs() as f64 * share).floor() as u64)
}

/// `now` dated back by `age`, never before zero.
pub fn dated_back(now: SimTime, age: Duration) -> SimTime {
    SimTime::from_secs(now.as_secs().saturating_sub(age.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn req(sif: Option<Sif>) -> Requirement {
        Requirement {
            sign_in_frequency: sif,
            ..Requirement::default()
        }
    }

    #[test]
    fn ages_are_uniform_over_the_interval() {
        let r = req(Some(Sif::Periodic(Duration::from_days(90))));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let mut below_half = 0;
        for _ in 0..n {
            let age = WarmStart::draw(&mut rng).session_age(WarmSlot::Browser, &r, Duration::ZERO);
            assert!(age < Duration::from_days(90));
            if age < Duration::from_days(45) {
                below_half += 1;
            }
        }
        let share = below_half as f64 / n as f64;
        assert!((share - 0.5).abs() < 0.02, "{share}");
    }

    #[test]
    fn no_interval_means_no_age() {
        let w = WarmStart::draw(&mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(
            w.session_age(WarmSlot::Broker, &req(None), Duration::ZERO),
            Duration::ZERO
        );
        assert_eq!(
            w.session_age(WarmSlot::Broker, &req(Some(Sif::EveryTime)), Duration::ZERO),
            Duration::ZERO
        );
    }

    #[test]
    fn the_shortest_interval_sets_the_age() {
        let day = Duration::from_days(1);
        let mut r = req(Some(Sif::Periodic(Duration::from_days(30))));
        r.mfa = true;
        r.mfa_frequency = Some(Sif::Periodic(day));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let w = WarmStart::draw(&mut rng);
            assert!(w.session_age(WarmSlot::App(App::Teams), &r, Duration::ZERO) < day);
            // Remember-MFA caps the MFA claim, so it renews the session where MFA is
            // required, and only there.
            r.mfa_frequency = None;
            assert!(w.session_age(WarmSlot::Browser, &r, day) < day);
            r.mfa = false;
            let no_mfa = w.session_age(WarmSlot::Browser, &r, day);
            assert_eq!(no_mfa, w.session_age(WarmSlot::Browser, &r, Duration::ZERO));
            r.mfa = true;
            r.mfa_frequency = Some(Sif::Periodic(day));
        }
    }

    #[test]
    fn dating_back_never_goes_below_zero() {
        assert_eq!(
            dated_back(SimTime::from_secs(10), Duration::from_secs(20)),
            SimTime::ZERO
        );
        assert_eq!(
            dated_back(SimTime::from_secs(30), Duration::from_secs(20)),
            SimTime::from_secs(10)
        );
    }
}
