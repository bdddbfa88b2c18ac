//! The parallel runner: simulates every design × replicate × user of an experiment.
//!
//! Determinism: every user draws from ChaCha8 streams keyed by (seed, stream, replicate,
//! user). Behaviour (persona, device, workdays, theft) uses a stream shared by all designs,
//! so every design sees the same people doing the same things (common random numbers) and
//! differences between designs come from the designs alone. Draws a design can influence
//! (access-token lifetimes) use a stream keyed by the design index. Results are integer
//! accumulators merged in any order, so the output never depends on the thread count.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::app::{App, DeviceTrust};
use crate::error::InputError;
use crate::experiment::{Design, Experiment, RunOptions};
use crate::metrics::{add_user, Cell, Exposure, UserStats};
use crate::model::{
    Action, Artefact, Credential, Facts, MfaMethod, Observer, Profile, RuleTable, UserSetup,
    UserSim,
};
use crate::policy::{LocationContext, PolicySet, RiskLevel, UserIdentity};
use crate::population::{draw_workdays, plan_day, plan_risk, UserTraits, Workday};
use crate::signinlog::{csv_field, LogUser, Logging};
use crate::threat::plan_theft;
use crate::time::{SimTime, DAY};

/// Accumulated results of a run, one cell per design × replicate.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunResult {
    /// `cells[design][replicate]`.
    pub cells: Vec<Vec<Cell>>,
    pub users_simulated: u64,
    pub user_days_simulated: u64,
    pub events_simulated: u64,
    /// Rows of the user's own evaluations written to the sign-in log.
    pub signin_log_rows: u64,
}

impl RunResult {
    /// Adds another run's accumulators (a shard) to this one, cell by cell.
    pub fn merge(&mut self, other: &RunResult) {
        if self.cells.is_empty() {
            *self = other.clone();
            return;
        }
        for (mine, theirs) in self.cells.iter_mut().zip(&other.cells) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a = std::mem::take(a).merge(b.clone());
            }
        }
        self.users_simulated += other.users_simulated;
        self.user_days_simulated += other.user_days_simulated;
        self.events_simulated += other.events_simulated;
        self.signin_log_rows += other.signin_log_rows;
    }
}

/// Tag of the behaviour stream, in the design-index position of the stream key.
const BEHAVIOUR_STREAM: u64 = u64::MAX;

/// A ChaCha8 stream keyed by (seed, stream, replicate, user): the key is the four numbers
/// themselves, so distinct tuples give independent streams without hashing.
pub fn user_stream(seed: u64, stream: u64, replicate: u64, user: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..24].copy_from_slice(&replicate.to_le_bytes());
    key[24..32].copy_from_slice(&user.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// The seed reported for a replicate (its streams are keyed by the run seed and the
/// replicate index; this single number identifies them in `replicates.csv`).
pub fn replicate_seed(seed: u64, replicate: u32) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(replicate as u64)
}

/// Everything a user simulation of one design reads, shared by all threads: the design
/// with its policies compiled into rule tables, one per user profile.
pub struct DesignEnv<'a> {
    exp: &'a Experiment,
    design: &'a Design,
    design_index: usize,
    /// Rule tables by profile index (see [`profile_index`]).
    tables: Vec<RuleTable>,
}

impl<'a> DesignEnv<'a> {
    /// Compiles design `design_index` of `exp` (its policies, for every user profile).
    pub fn prepare(exp: &'a Experiment, design_index: usize) -> DesignEnv<'a> {
        let design = &exp.designs[design_index];
        DesignEnv {
            exp,
            design,
            design_index,
            tables: build_tables(exp, &design.policies),
        }
    }

    /// Simulates the given users of one replicate on this thread (benchmarks, tests).
    pub fn simulate(&self, replicate: u32, users: std::ops::Range<u64>) -> Cell {
        let rows = RowsWanted {
            signins: false,
            users: false,
        };
        simulate_chunk(self, &RunOptions::default(), replicate, users, rows).cell
    }
}

const MFA_METHODS: usize = 3;

fn profile_index(
    persona: usize,
    device: DeviceTrust,
    compliant: bool,
    mfa: MfaMethod,
    trusted: bool,
) -> usize {
    let m = MfaMethod::ALL.iter().position(|x| *x == mfa).unwrap_or(0);
    ((((persona * 4 + device.index()) * 2 + compliant as usize) * MFA_METHODS + m) * 2)
        + trusted as usize
}

fn build_tables(exp: &Experiment, policies: &PolicySet) -> Vec<RuleTable> {
    let personas = exp.population.personas.len();
    let n = personas * 4 * 2 * MFA_METHODS * 2;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let trusted = i % 2 == 1;
            let m = (i / 2) % MFA_METHODS;
            let compliant = (i / (2 * MFA_METHODS)) % 2 == 1;
            let device = DeviceTrust::ALL[(i / (4 * MFA_METHODS)) % 4];
            let persona = &exp.population.personas[i / (16 * MFA_METHODS)];
            let mut t = RuleTable::new(Profile {
                identity: UserIdentity {
                    id: format!("{}@{}", persona.name, exp.population.domain),
                    groups: persona.groups.clone(),
                    roles: persona.roles.clone(),
                    guest: false,
                },
                facts: Facts {
                    device,
                    compliant,
                    mfa_method: MfaMethod::ALL[m],
                },
                platform: persona.platform,
                location: LocationContext {
                    trusted,
                    named_location: None,
                },
            });
            // Population runs only produce no risk or high risk.
            t.fill(policies, &[RiskLevel::None, RiskLevel::High]);
            t
        })
        .collect()
}

/// Reusable per-thread buffers.
struct Scratch {
    workdays: Vec<Option<Workday>>,
    plan: Vec<(SimTime, Action)>,
    apps: Vec<App>,
}

/// Receives the optional per-row outputs, in (design, replicate, user) order.
pub trait RowSink {
    fn write(&mut self, signins: &[u8], users: &[u8]) -> std::io::Result<()>;
}

/// What one chunk of users produced.
#[derive(Default)]
struct ChunkOut {
    cell: Cell,
    users: u64,
    days: u64,
    signins: Vec<u8>,
    user_rows: Vec<u8>,
    log_rows: u64,
}

impl ChunkOut {
    fn new(personas: usize) -> Self {
        ChunkOut {
            cell: Cell::new(personas),
            ..ChunkOut::default()
        }
    }

    /// Adds another chunk's counts (its rows are written separately, in order).
    fn absorb(&mut self, other: ChunkOut) {
        self.cell = std::mem::take(&mut self.cell).merge(other.cell);
        self.users += other.users;
        self.days += other.days;
        self.log_rows += other.log_rows;
    }
}

/// Users per parallel work item. Smaller when rows are written, to bound the memory that
/// rows of chunks waiting for their turn can take.
const CHUNK: u64 = 256;
const CHUNK_WITH_ROWS: u64 = 32;

/// Runs every design × replicate × user. `progress` is told how many users finished, and
/// how many events they took, as chunks of users finish.
/// With a `sink` (sign-in log, per-user table), rows are streamed to it in user order.
pub fn run(
    exp: &Experiment,
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    mut sink: Option<&mut dyn RowSink>,
) -> std::io::Result<RunResult> {
    let mut result = RunResult::default();
    let rows = RowsWanted {
        signins: sink.is_some() && opts.signin_log,
        users: sink.is_some() && opts.per_user,
    };
    let chunk = if rows.signins || rows.users {
        CHUNK_WITH_ROWS
    } else {
        CHUNK
    };
    for di in 0..exp.designs.len() {
        let env = DesignEnv::prepare(exp, di);
        let mut reps = Vec::with_capacity(exp.replicates as usize);
        for rep in 0..exp.replicates {
            let chunks = exp.users.div_ceil(chunk);
            let work = |c: u64| {
                let out = simulate_chunk(
                    &env,
                    opts,
                    rep,
                    c * chunk..((c + 1) * chunk).min(exp.users),
                    rows,
                );
                progress(out.users, out.cell.total().events);
                out
            };
            let mut total = ChunkOut::new(exp.population.personas.len());
            match sink.as_deref_mut() {
                None => {
                    let out = (0..chunks).into_par_iter().map(work).reduce(
                        ChunkOut::default,
                        |mut a, b| {
                            a.absorb(b);
                            a
                        },
                    );
                    total.absorb(out);
                }
                Some(sink) => {
                    // Batches of chunks run in parallel; their rows are written in order.
                    let batch = 4 * rayon::current_num_threads() as u64;
                    let mut start = 0;
                    while start < chunks {
                        let end = (start + batch).min(chunks);
                        let outs: Vec<ChunkOut> = (start..end).into_par_iter().map(work).collect();
                        for out in outs {
                            sink.write(&out.signins, &out.user_rows)?;
                            total.absorb(out);
                        }
                        start = end;
                    }
                }
            }
            result.users_simulated += total.users;
            result.user_days_simulated += total.days;
            result.events_simulated += total.cell.total().events;
            result.signin_log_rows += total.log_rows;
            reps.push(total.cell);
        }
        result.cells.push(reps);
    }
    Ok(result)
}

#[derive(Copy, Clone)]
struct RowsWanted {
    signins: bool,
    users: bool,
}

fn simulate_chunk(
    env: &DesignEnv,
    opts: &RunOptions,
    rep: u32,
    users: std::ops::Range<u64>,
    rows: RowsWanted,
) -> ChunkOut {
    let exp = env.exp;
    let (shard, shards) = opts.shard.map_or((0, 1), |(k, n)| (k as u64 - 1, n as u64));
    let mut out = ChunkOut::new(exp.population.personas.len());
    let mut scratch = Scratch {
        workdays: Vec::new(),
        plan: Vec::new(),
        apps: Vec::new(),
    };
    let setup = UserSetup {
        device: DeviceTrust::Unmanaged,
        credential: Credential::Password,
        kmsi_accept: false,
        tenant: env.design.tenant.clone(),
        tokens: env.design.tokens,
    };
    let mut sim = UserSim::new(&exp.params, &env.tables[0], setup, user_stream(0, 0, 0, 0));
    for u in users {
        if u % shards != shard {
            continue;
        }
        let log = rows.signins.then_some(&mut out.signins);
        let user = simulate_user(env, rep, u, &mut sim, &mut scratch, &mut out.cell, log);
        out.days += env.exp.days as u64;
        out.users += 1;
        out.log_rows += user.log_rows;
        if rows.users {
            user.write_row(env, rep, u, &mut out.user_rows);
        }
    }
    out
}

/// What one simulated user came to, for `users.csv`.
struct UserOutcome {
    traits: UserTraits,
    stats_row: [u64; 5],
    theft: Option<(Artefact, Exposure)>,
    fatigue: Option<f64>,
    log_rows: u64,
}

impl UserOutcome {
    fn write_row(&self, env: &DesignEnv, rep: u32, user: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        let t = &self.traits;
        let persona = &env.exp.population.personas[t.persona];
        let [active, prompts, mfa, unintended, evaluations] = self.stats_row;
        let (artefact, hours, censored) = match self.theft {
            Some((a, e)) => (
                a.name(),
                format!("{:.4}", e.total.as_hours_f64()),
                e.censored.to_string(),
            ),
            None => ("", String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&env.design.name),
            rep,
            user,
            csv_field(&persona.name),
            t.device.name(),
            t.compliant,
            t.credential.name(),
            t.mfa_method.name(),
            active,
            prompts,
            mfa,
            unintended,
            evaluations,
            artefact,
            hours,
            censored,
            self.fatigue.map_or(String::new(), |p| format!("{p:.6}")),
        );
    }
}

/// Simulates one user and adds them to `cell`; with `log`, appends their sign-in log rows.
fn simulate_user<'a>(
    env: &'a DesignEnv<'a>,
    rep: u32,
    user: u64,
    sim: &mut UserSim<'a>,
    s: &mut Scratch,
    cell: &mut Cell,
    log: Option<&mut Vec<u8>>,
) -> UserOutcome {
    let exp = env.exp;
    let pop = &exp.population;
    let mut brng = user_stream(exp.seed, BEHAVIOUR_STREAM, rep as u64, user);
    let traits = UserTraits::draw(&mut brng, pop, env.design.mfa_mix.as_ref());
    let persona = &pop.personas[traits.persona];
    draw_workdays(&mut brng, persona, exp.days, &mut s.workdays);
    s.plan.clear();
    plan_risk(&mut brng, pop, &traits, exp.days, &mut s.plan);
    s.apps.clear();
    if pop.threat.apps.is_empty() {
        for a in &persona.apps {
            if !s.apps.contains(&a.app) {
                s.apps.push(a.app);
            }
        }
    } else {
        s.apps.extend_from_slice(&pop.threat.apps);
    }
    let theft = plan_theft(&mut brng, &pop.threat, &s.workdays, &s.apps, &mut s.plan);

    let table = profile_index(
        traits.persona,
        traits.device,
        traits.compliant,
        traits.mfa_method,
        traits.trusted_location,
    );
    let setup = UserSetup {
        device: traits.device,
        credential: traits.credential,
        kmsi_accept: traits.kmsi_accept,
        tenant: env.design.tenant.clone(),
        tokens: env.design.tokens,
    };
    sim.reset(
        &env.tables[table],
        setup,
        user_stream(exp.seed, env.design_index as u64, rep as u64, user),
    );
    for (at, a) in s.plan.drain(..) {
        let _ = sim.schedule(at, a);
    }
    // Fatigue is counted on whole days before the incident response: until then the user's
    // timeline is exactly what it would be without the injected theft.
    let horizon = SimTime::from_secs(exp.days as u64 * DAY);
    let fatigue_end = theft
        .as_ref()
        .and_then(|t| t.response_at)
        .map_or(horizon, |t| SimTime::from_secs(t.day() * DAY).min(horizon));
    let stats = UserStats::new(
        fatigue_end,
        exp.params.prompt_cost,
        exp.params.mfa_cost,
        traits.device,
    );
    let end = theft.as_ref().map_or(horizon, |t| t.ends.max(horizon));
    let (stats, log_rows) = match log {
        None => {
            let mut stats = stats;
            drive(sim, s, pop, &traits, &mut brng, end, &mut stats);
            (stats, 0)
        }
        Some(out) => {
            let upn = format!("user{user}@{}", pop.domain);
            let mut logging = Logging {
                inner: stats,
                user: LogUser {
                    start_day: exp.start_day,
                    upn: &upn,
                    device: traits.device,
                    design: &env.design.name,
                    replicate: rep,
                    until: fatigue_end,
                },
                out,
                rows: 0,
            };
            drive(sim, s, pop, &traits, &mut brng, end, &mut logging);
            (logging.inner, logging.rows)
        }
    };

    let active_days = s
        .workdays
        .iter()
        .enumerate()
        .filter(|(d, w)| w.is_some() && (*d as u64) < fatigue_end.day())
        .count() as u64;
    let exposure = theft
        .as_ref()
        .map(|t| (t.artefact, stats.exposure(&s.apps, t.ends)));
    let fatigue = (active_days > 0).then(|| {
        pop.threat.fatigue.success_probability(
            traits.mfa_method,
            stats.mfa_prompts as f64 / active_days as f64,
        )
    });
    let group = cell.group_mut(traits.device, traits.persona, pop.personas.len());
    add_user(
        group,
        &stats,
        active_days,
        fatigue_end.day(),
        exposure,
        fatigue,
        sim.events(),
    );
    UserOutcome {
        stats_row: [
            active_days,
            stats.prompts,
            stats.mfa_prompts,
            stats.unintended,
            stats.evaluations,
        ],
        traits,
        theft: exposure,
        fatigue,
        log_rows,
    }
}

/// Plans each workday just before it starts and runs the simulation to `end`.
fn drive<O: Observer>(
    sim: &mut UserSim,
    s: &mut Scratch,
    pop: &crate::population::Population,
    traits: &UserTraits,
    brng: &mut ChaCha8Rng,
    end: SimTime,
    obs: &mut O,
) {
    for (day, w) in s.workdays.iter().enumerate() {
        if let Some(w) = w {
            plan_day(brng, pop, traits, *w, &mut s.plan);
            for (at, a) in s.plan.drain(..) {
                let _ = sim.schedule(at, a);
            }
        }
        sim.run_until(SimTime::from_secs((day as u64 + 1) * DAY), obs);
    }
    sim.run_until(end, obs);
}

/// Total users the run will simulate (for a progress bar).
pub fn total_users(exp: &Experiment, opts: &RunOptions) -> u64 {
    let per_rep = match opts.shard {
        // Users u with u % n == k - 1.
        Some((k, n)) => (exp.users + n as u64 - k as u64) / n as u64,
        None => exp.users,
    };
    per_rep * exp.replicates as u64 * exp.designs.len() as u64
}

/// Refuses a `K/N` shard spec that is not well formed.
pub fn parse_shard(text: &str) -> Result<(u32, u32), InputError> {
    let bad = || {
        InputError::new(
            "<command line>",
            format!("--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/3"),
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u32 = k.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}
