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
use crate::metrics::{add_user, Cell, UserStats};
use crate::model::{Action, Credential, Facts, MfaMethod, Profile, RuleTable, UserSetup, UserSim};
use crate::policy::{LocationContext, PolicySet, RiskLevel, UserIdentity};
use crate::population::{draw_workdays, plan_day, plan_risk, UserTraits, Workday};
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

/// Everything a user simulation of one design reads, shared by all threads.
struct DesignEnv<'a> {
    exp: &'a Experiment,
    design: &'a Design,
    design_index: usize,
    /// Rule tables by profile index (see [`profile_index`]).
    tables: Vec<RuleTable>,
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

/// Runs every design × replicate × user. `progress` is told how many users finished.
pub fn run(exp: &Experiment, opts: &RunOptions, progress: &(dyn Fn(u64) + Sync)) -> RunResult {
    let mut result = RunResult::default();
    let (shard, shards) = opts.shard.map_or((0, 1), |(k, n)| (k as u64 - 1, n as u64));
    const CHUNK: u64 = 256;
    for (di, design) in exp.designs.iter().enumerate() {
        let env = DesignEnv {
            exp,
            design,
            design_index: di,
            tables: build_tables(exp, &design.policies),
        };
        let mut reps = Vec::with_capacity(exp.replicates as usize);
        for rep in 0..exp.replicates {
            let chunks = exp.users.div_ceil(CHUNK);
            let cell = (0..chunks)
                .into_par_iter()
                .map(|c| {
                    let mut cell = Cell::new(exp.population.personas.len());
                    let mut scratch = Scratch {
                        workdays: Vec::new(),
                        plan: Vec::new(),
                        apps: Vec::new(),
                    };
                    let setup = UserSetup {
                        device: DeviceTrust::Unmanaged,
                        credential: Credential::Password,
                        kmsi_accept: false,
                        tenant: design.tenant.clone(),
                        tokens: design.tokens,
                    };
                    let mut sim =
                        UserSim::new(&exp.params, &env.tables[0], setup, user_stream(0, 0, 0, 0));
                    let (mut days, mut users) = (0u64, 0u64);
                    for u in (c * CHUNK)..((c + 1) * CHUNK).min(exp.users) {
                        if u % shards != shard {
                            continue;
                        }
                        days += simulate_user(&env, rep, u, &mut sim, &mut scratch, &mut cell);
                        users += 1;
                    }
                    progress(users);
                    (cell, users, days)
                })
                .reduce(
                    || (Cell::default(), 0, 0),
                    |(a, ua, da), (b, ub, db)| (a.merge(b), ua + ub, da + db),
                );
            let (cell, users, days) = cell;
            let cell = if cell.groups.is_empty() {
                Cell::new(exp.population.personas.len())
            } else {
                cell
            };
            result.users_simulated += users;
            result.user_days_simulated += days;
            result.events_simulated += cell.total().events;
            reps.push(cell);
        }
        result.cells.push(reps);
    }
    result
}

/// Simulates one user and adds them to `cell`. Returns the simulated user-days.
fn simulate_user<'a>(
    env: &'a DesignEnv<'a>,
    rep: u32,
    user: u64,
    sim: &mut UserSim<'a>,
    s: &mut Scratch,
    cell: &mut Cell,
) -> u64 {
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
    let mut stats = UserStats::new(
        fatigue_end,
        exp.params.prompt_cost,
        exp.params.mfa_cost,
        traits.device,
    );
    for (day, w) in s.workdays.iter().enumerate() {
        if let Some(w) = w {
            plan_day(&mut brng, pop, &traits, *w, &mut s.plan);
            for (at, a) in s.plan.drain(..) {
                let _ = sim.schedule(at, a);
            }
        }
        sim.run_until(SimTime::from_secs((day as u64 + 1) * DAY), &mut stats);
    }
    let end = theft.as_ref().map_or(horizon, |t| t.ends.max(horizon));
    sim.run_until(end, &mut stats);

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
    exp.days as u64
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
