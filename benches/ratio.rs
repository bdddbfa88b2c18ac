//! The engine's speed against the floor, in one run (issue 15): user-days per second of the
//! performance workload on one thread, per 1,000 events per second of a bare per-user heap
//! event loop with ChaCha8 draws measured beside it on the same machine and moment.
//!
//! `cargo bench --bench ratio [-- USERS]` (default 20,000 users of experiments/bench.toml).
//! Prints the figures; never a threshold.

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sessionsim::engine::queue::EventQueue;
use sessionsim::engine::time::{Duration, SimTime};
use sessionsim::study::experiment::Experiment;
use sessionsim::study::runner::DesignEnv;

/// The bare loop: 16 pending events per "user", each pop schedules one more at a random
/// delay, `events` in all. Returns events per second.
fn bare_loop(events: u64) -> f64 {
    let mut q: EventQueue<u32> = EventQueue::new();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let start = Instant::now();
    let mut done = 0u64;
    while done < events {
        q.clear();
        for i in 0..16 {
            let _ = q.schedule_at(SimTime::from_secs(rng.random_range(0..3600)), i);
        }
        let mut n = 0u64;
        while let Some((t, e)) = q.pop() {
            n += 1;
            if n < 10_000 {
                let _ = q.schedule_at(t + Duration::from_secs(rng.random_range(1..3600)), e);
            }
        }
        done += n;
    }
    std::hint::black_box(&q);
    done as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let users: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exp = Experiment::load(&root.join("experiments/bench.toml")).expect("bench.toml loads");
    let env = DesignEnv::prepare(&exp, 0);
    // Warm up both (rule tables are built on first use).
    let _ = env.simulate(0, 0..200);
    let _ = bare_loop(1_000_000);

    let floor_before = bare_loop(50_000_000);
    let start = Instant::now();
    let cell = env.simulate(0, 0..users);
    let secs = start.elapsed().as_secs_f64();
    let floor_after = bare_loop(50_000_000);
    let floor = (floor_before + floor_after) / 2.0;

    let events: u64 = cell.groups.iter().map(|g| g.events).sum();
    let user_days = users as f64 * exp.days as f64;
    let per_sec = user_days / secs;
    println!(
        "bare loop:        {:.1} M events/s (before {:.1}, after {:.1})",
        floor / 1e6,
        floor_before / 1e6,
        floor_after / 1e6
    );
    println!(
        "workload:         {users} users x {} days in {secs:.2} s on 1 thread",
        exp.days
    );
    println!(
        "                  {per_sec:.0} user-days/s, {:.1} M events/s, {:.1} events/user-day",
        events as f64 / secs / 1e6,
        events as f64 / user_days
    );
    println!(
        "ratio:            {:.2} user-days/s per 1,000 bare-loop events/s",
        per_sec / (floor / 1000.0)
    );
}
