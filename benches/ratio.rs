//! The engine's speed against the floor, in one run (issue 15): user-days per second of the
//! performance workload on one thread, per 1,000 events per second of a bare per-user heap
//! event loop with ChaCha8 draws measured beside it on the same machine and moment.
//!
//! `cargo bench --bench ratio [-- USERS ROUNDS [EXPERIMENT]]` (default 5,000 users of
//! experiments/bench.toml, 7 rounds; another experiment file, such as
//! experiments/bench-user-only.toml, measures its first design instead). Each round times
//! the same users between two short bare-loop runs, and the ratio reported is the median
//! of the rounds': on a shared machine whose speed drifts by a third from hour to hour, a
//! single pair of measurements minutes apart cannot be read to better than that. Beside
//! it, the same ratio against a plain `std` heap loop (the first release's queue), and the
//! speed-up from 1 thread to every core. Prints the figures; never a threshold.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sessionsim::engine::queue::EventQueue;
use sessionsim::engine::time::SimTime;
use sessionsim::output::metrics::Cell;
use sessionsim::study::experiment::Experiment;
use sessionsim::study::runner::DesignEnv;

/// A queue the bare loop runs on: times in seconds, an event a small number.
trait FloorQueue {
    fn clear(&mut self);
    fn push(&mut self, at: u64, event: u32);
    fn pop(&mut self) -> Option<(u64, u32)>;
}

impl FloorQueue for EventQueue<u32> {
    fn clear(&mut self) {
        EventQueue::clear(self);
    }
    fn push(&mut self, at: u64, event: u32) {
        let _ = self.schedule_at(SimTime::from_secs(at), event);
    }
    fn pop(&mut self) -> Option<(u64, u32)> {
        EventQueue::pop(self).map(|(t, e)| (t.as_secs(), e))
    }
}

/// A plain `std` binary heap of `(time, sequence)` pairs, as the first release's queue was
/// when issue 15 measured its ratio of 11.9: `EventQueue` has since become faster on the
/// bare loop (packed keys), which raises the floor the ratio divides by. Reported beside
/// the ratio, never instead of it.
#[derive(Default)]
struct PlainHeap {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    next_seq: u64,
}

impl FloorQueue for PlainHeap {
    fn clear(&mut self) {
        self.heap.clear();
        self.next_seq = 0;
    }
    fn push(&mut self, at: u64, event: u32) {
        self.heap.push(Reverse((at, self.next_seq, event)));
        self.next_seq += 1;
    }
    fn pop(&mut self) -> Option<(u64, u32)> {
        self.heap.pop().map(|Reverse((t, _, e))| (t, e))
    }
}

/// The bare loop: 16 pending events per "user", each pop schedules one more at a random
/// delay, `events` in all. Returns events per second.
fn bare_loop(q: &mut impl FloorQueue, events: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let start = Instant::now();
    let mut done = 0u64;
    while done < events {
        q.clear();
        for i in 0..16 {
            q.push(rng.random_range(0..3600), i);
        }
        let mut n = 0u64;
        while let Some((t, e)) = q.pop() {
            n += 1;
            if n < 10_000 {
                q.push(t + rng.random_range(1..3600), e);
            }
        }
        done += n;
    }
    std::hint::black_box(q);
    done as f64 / start.elapsed().as_secs_f64()
}

/// One round: the same users simulated between two bare-loop measurements, so that both
/// terms of the ratio see the machine in the same state.
struct Round {
    floor: f64,
    /// The bare loop's events/s on a [`PlainHeap`], measured beside `floor`.
    plain_floor: f64,
    user_days_per_sec: f64,
    events: u64,
    secs: f64,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.user_days_per_sec / (self.floor / 1000.0)
    }

    fn plain_ratio(&self) -> f64 {
        self.user_days_per_sec / (self.plain_floor / 1000.0)
    }
}

/// The lowest and highest of the rounds.
fn spread(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `-- USERS ROUNDS [EXPERIMENT]`: users simulated in each round, how many rounds, and
    // the workload (`cargo bench` also passes `--bench`, which is neither).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut numbers = args.iter().filter_map(|a| a.parse::<u64>().ok());
    let users = numbers.next().unwrap_or(5_000).max(1);
    let rounds = numbers.next().unwrap_or(7).max(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = args
        .iter()
        .find(|a| a.parse::<u64>().is_err() && !a.starts_with('-'))
        .map_or_else(|| root.join("experiments/bench.toml"), |a| root.join(a));
    let exp = match Experiment::load(&file) {
        Ok(exp) => exp,
        Err(e) => {
            // The loader's message names the file.
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let env = DesignEnv::prepare(&exp, 0);
    // Warm up both (rule tables are built on first use).
    let _ = env.simulate(0, 0..users.min(500));
    let mut queue: EventQueue<u32> = EventQueue::new();
    let mut plain_heap = PlainHeap::default();
    let _ = bare_loop(&mut queue, 1_000_000);
    let _ = bare_loop(&mut plain_heap, 1_000_000);

    let user_days = users as f64 * exp.days as f64;
    let mut all = Vec::new();
    for r in 0..rounds {
        let floor_before = bare_loop(&mut queue, 10_000_000);
        let plain_before = bare_loop(&mut plain_heap, 10_000_000);
        let start = Instant::now();
        let cell = env.simulate(0, 0..users);
        let secs = start.elapsed().as_secs_f64();
        let plain_after = bare_loop(&mut plain_heap, 10_000_000);
        let floor_after = bare_loop(&mut queue, 10_000_000);
        let round = Round {
            floor: (floor_before + floor_after) / 2.0,
            plain_floor: (plain_before + plain_after) / 2.0,
            user_days_per_sec: user_days / secs,
            events: cell.groups.iter().map(|g| g.events).sum(),
            secs,
        };
        println!(
            "round {}: bare loop {:.1} M events/s, {:.0} user-days/s ({:.2} s), ratio {:.2}",
            r + 1,
            round.floor / 1e6,
            round.user_days_per_sec,
            round.secs,
            round.ratio()
        );
        all.push(round);
    }
    let ratios: Vec<f64> = all.iter().map(Round::ratio).collect();
    let (lo, hi) = spread(&ratios);
    let events = all[0].events as f64;
    println!(
        "workload:         {} ({}), {users} users x {} days on 1 thread, {:.1} events/user-day",
        file.display(),
        exp.designs[0].name,
        exp.days,
        events / user_days
    );
    println!(
        "median:           {:.0} user-days/s against a bare loop of {:.1} M events/s",
        median(all.iter().map(|r| r.user_days_per_sec).collect()),
        median(all.iter().map(|r| r.floor).collect()) / 1e6
    );
    println!(
        "ratio:            {:.2} user-days/s per 1,000 bare-loop events/s (median of {rounds} rounds; {lo:.2}-{hi:.2})",
        median(ratios.clone()),
    );
    let plain: Vec<f64> = all.iter().map(Round::plain_ratio).collect();
    let (lo, hi) = spread(&plain);
    println!(
        "plain-heap ratio: {:.2} against a std BinaryHeap loop of {:.1} M events/s, the first release's queue (median; {lo:.2}-{hi:.2})",
        median(plain),
        median(all.iter().map(|r| r.plain_floor).collect()) / 1e6
    );
    scaling(&env, exp.population.personas.len(), users, rounds);
}

/// The same users on one thread and on every core, alternately, in chunks of 256 users as
/// `sessionsim run` does: the speed-up's median, and a check that the counts agree.
fn scaling(env: &DesignEnv, personas: usize, users: u64, rounds: u64) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 {
        println!("speed-up:         one core only; not measured");
        return;
    }
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let start = Instant::now();
        let cell = pool.install(|| {
            (0..users.div_ceil(256))
                .into_par_iter()
                .map(|c| env.simulate(0, c * 256..((c + 1) * 256).min(users)))
                .reduce(|| Cell::new(personas), Cell::merge)
        });
        (start.elapsed().as_secs_f64(), cell)
    };
    let mut speedups = Vec::new();
    for _ in 0..rounds {
        let (one, a) = run(1);
        let (all, b) = run(threads);
        assert!(a == b, "counts differ between 1 and {threads} threads");
        speedups.push(one / all);
    }
    let (lo, hi) = spread(&speedups);
    println!(
        "speed-up:         {:.2}x from 1 to {threads} threads (median of {rounds} rounds; {lo:.2}-{hi:.2}), same counts",
        median(speedups)
    );
}
