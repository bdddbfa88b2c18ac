//! Benchmarks of the hot paths (docs/performance.md): the event queue, one simulated
//! user-day, policy evaluation per sign-in, and a whole small experiment.
//!
//! `cargo bench` runs them; numbers are for comparison between versions of the code on
//! one machine, never thresholds.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sessionsim::engine::queue::EventQueue;
use sessionsim::engine::time::SimTime;
use sessionsim::policy::{
    LocationContext, Platform, PolicySet, RiskLevel, SignInContext, Target, UserIdentity,
};
use sessionsim::study::experiment::{Experiment, RunOptions};
use sessionsim::study::runner::{self, DesignEnv};
use sessionsim::world::app::{App, Client, DeviceTrust};

fn root(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A per-user heap event loop with ChaCha8 and no model logic: the floor the model's
/// events/s are compared with.
fn queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue");
    const EVENTS: u64 = 10_000;
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("schedule_pop_chacha8", |b| {
        let mut q: EventQueue<u32> = EventQueue::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        b.iter(|| {
            q.clear();
            for i in 0..16 {
                let _ = q.schedule_at(SimTime::from_secs(rng.random_range(0..3600)), i);
            }
            let mut n = 0;
            while let Some((t, e)) = q.pop() {
                n += 1;
                if n < EVENTS {
                    let _ = q.schedule_at(
                        t + sessionsim::engine::time::Duration::from_secs(
                            rng.random_range(1..3600),
                        ),
                        e,
                    );
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

fn user_days(c: &mut Criterion) {
    let exp = Experiment::load(&root("experiments/bench.toml")).expect("bench.toml loads");
    let env = DesignEnv::prepare(&exp, 0);
    let mut g = c.benchmark_group("simulation");
    const USERS: u64 = 200;
    g.throughput(Throughput::Elements(USERS * exp.days as u64));
    g.bench_function("user_days_enterprise_baseline", |b| {
        let mut first = 0;
        b.iter(|| {
            first += USERS;
            black_box(env.simulate(0, first..first + USERS))
        })
    });
    g.finish();
}

fn policy_evaluation(c: &mut Criterion) {
    let (set, _) = PolicySet::load(&root("models/policies/baseline.json")).expect("baseline loads");
    let ctx = SignInContext {
        user: UserIdentity {
            id: "u".into(),
            groups: vec!["g".into()],
            roles: vec![],
            guest: None,
        },
        target: Target::App(App::Sharepoint),
        client: Client::Browser,
        platform: Platform::Windows,
        location: LocationContext {
            trusted: false,
            named_location: None,
        },
        device: DeviceTrust::Unmanaged,
        compliant: false,
        user_risk: RiskLevel::None,
        sign_in_risk: RiskLevel::None,
        auth_flow: None,
        device_attributes: Vec::new(),
    };
    c.bench_function("policy_evaluate_baseline_one_sign_in", |b| {
        b.iter(|| black_box(set.evaluate(black_box(&ctx))))
    });
}

/// An experiment of `experiments/`, cut to `users` users and one replicate.
fn small(file: &str, users: u64) -> Experiment {
    let mut exp = Experiment::load(&root(file)).expect("the experiment loads");
    exp.apply(&RunOptions {
        users: Some(users),
        replicates: Some(1),
        ..RunOptions::default()
    })
    .expect("overrides");
    exp
}

fn small_experiment(c: &mut Criterion) {
    let exp = small("experiments/quickstart.toml", 200);
    let mut g = c.benchmark_group("experiment");
    g.sample_size(10);
    g.bench_function("quickstart_200_users", |b| {
        b.iter(|| {
            black_box(runner::run(&exp, &RunOptions::default(), &|_, _| {}, None).expect("runs"))
        })
    });
    g.finish();
}

/// Discards the rows of a run that asks for them: a run with rows goes design by design.
struct Discard;

impl runner::RowSink for Discard {
    fn write(
        &mut self,
        signins: &mut sessionsim::output::signinlog::LogBuffer,
        _users: &[u8],
    ) -> std::io::Result<()> {
        black_box(signins);
        Ok(())
    }
}

/// A sweep of 14 designs (the SIF sweep, 300 users, 1 replicate): without rows its designs
/// run together and share each user's plans; with `users.csv` rows (discarded) they run
/// design by design, as before the twelfth session (docs/performance.md).
fn sweep(c: &mut Criterion) {
    let exp = small("experiments/sif-sweep.toml", 300);
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        exp.users * exp.days as u64 * exp.designs.len() as u64,
    ));
    g.bench_function("sif_sweep_300_users_designs_together", |b| {
        b.iter(|| {
            black_box(runner::run(&exp, &RunOptions::default(), &|_, _| {}, None).expect("runs"))
        })
    });
    let rows = RunOptions {
        per_user: true,
        ..RunOptions::default()
    };
    g.bench_function("sif_sweep_300_users_design_by_design", |b| {
        b.iter(|| {
            black_box(runner::run(&exp, &rows, &|_, _| {}, Some(&mut Discard)).expect("runs"))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    queue,
    user_days,
    policy_evaluation,
    small_experiment,
    sweep
);
criterion_main!(benches);
