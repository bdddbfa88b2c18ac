//! A precision target (`run --precision 5%`, `precision` in the experiment): replicates
//! are added in batches until every paired difference that decides the frontier and the
//! recommendation ([`crate::output::compare::deciding_pairs`]) has a 95% half-width within
//! the target share of the larger of the two designs' values, or `max_replicates` is
//! reached.
//!
//! Determinism: replicate `k` draws from streams keyed by (seed, k), whatever batch it is
//! in, and each batch's size is a function of the results so far, which do not depend on
//! the thread count. So a precision run gives the same bytes on any number of threads,
//! and its tables are those of `run --replicates N` with the `N` it reached.

use crate::error::InputError;
use crate::output::compare::{self, PrecisionOutcome};
use crate::output::tables::{summarize, t95};
use crate::study::experiment::{Experiment, RunOptions};
use crate::study::runner::{self, RunResult};

/// Refuses what a precision run cannot do: rows (written design by design, so batches
/// would reorder them) and shards (which cannot agree on when to stop).
pub fn check(exp: &Experiment, opts: &RunOptions) -> Result<(), InputError> {
    if exp.precision.is_none() {
        return Ok(());
    }
    let why = if opts.signin_log || opts.per_user {
        "a precision target adds replicates in batches, and the sign-in log and users.csv are written design by design: leave out --signin-log and --per-user, or run with --replicates N (the count a precision run reached)"
    } else if opts.shard.is_some() {
        "shards cannot agree on when to stop adding replicates: run the precision target once without --shard, then shard with --replicates N (the count it reached)"
    } else {
        return Ok(());
    };
    Err(if opts.precision.is_some() {
        InputError::new("<command line>", why).field("--precision")
    } else {
        InputError::new(&exp.path, why).field("precision")
    })
}

/// The replicates of the next batch: the fewest with which the widest half-width would
/// be within the target if the spread stays as measured (the half-width goes as
/// `t(n − 1) / √n`), at least one more, at most twice as many, never beyond `max`.
///
/// Batches only add replicates, so falling short costs nothing but another batch, while
/// overshooting simulates replicates that were not needed: the estimate has no margin, and
/// the doubling cap keeps a noisy early estimate from overshooting far.
pub fn next_replicates(n: u32, worst: f64, target: f64, max: u32) -> u32 {
    let cap = (2 * n).max(n + 1).min(max);
    if !(worst.is_finite() && target > 0.0) {
        return cap;
    }
    let at =
        |m: u32| worst * (t95(m as u64 - 1) / t95(n as u64 - 1)) * (n as f64 / m as f64).sqrt();
    (n + 1..=cap).find(|&m| at(m) <= target).unwrap_or(cap)
}

/// Runs `exp` in batches of replicates until its precision target is met or
/// `max_replicates` is reached. Returns the accumulators of every replicate, the
/// experiment with the replicates reached, and what was reached.
pub fn run_to_precision(
    exp: &Experiment,
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> std::io::Result<(RunResult, Experiment, PrecisionOutcome)> {
    let target = exp.precision.unwrap_or(0.05);
    let max = exp.max_replicates.max(exp.replicates).max(2);
    let mut done = 0;
    let mut n = exp.replicates.max(2).min(max);
    let mut result = RunResult::default();
    let mut batches = Vec::new();
    loop {
        let mut batch = exp.clone();
        batch.replicates = n;
        let part = runner::run(
            &batch,
            &RunOptions {
                first_replicate: done,
                ..opts.clone()
            },
            progress,
            None,
        )?;
        result.append_replicates(part);
        done = n;
        batches.push(n);
        let summaries = summarize(&batch, &result);
        let decision = compare::decide(&batch, &summaries);
        let worst = compare::worst_relative_half_width(&decision, &summaries);
        let met = worst.is_none_or(|w| w <= target);
        if met || n >= max {
            return Ok((
                result,
                batch,
                PrecisionOutcome {
                    target,
                    reached: worst,
                    replicates: n,
                    max_replicates: max,
                    batches,
                },
            ));
        }
        n = next_replicates(n, worst.unwrap_or(f64::INFINITY), target, max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_toward_the_target_within_bounds() {
        // 8 replicates at 7%: t(7)/√8 × 7% ≤ 5% first at 14 (t(13)/√14).
        assert_eq!(next_replicates(8, 0.07, 0.05, 100), 14);
        assert_eq!(
            next_replicates(3, 0.50, 0.05, 100),
            6,
            "at most twice as many"
        );
        assert_eq!(
            next_replicates(10, 0.0501, 0.05, 100),
            11,
            "at least one more"
        );
        assert_eq!(
            next_replicates(90, 0.5, 0.05, 100),
            100,
            "never past the maximum"
        );
        assert_eq!(next_replicates(3, f64::INFINITY, 0.05, 100), 6);
    }
}
