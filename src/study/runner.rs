//! The parallel runner: simulates every design × replicate × user of an experiment.
//!
//! Determinism: every user draws from ChaCha8 streams keyed by (seed, stream, replicate,
//! user). Behaviour (persona, device, workdays, theft) uses a stream shared by all designs,
//! so every design sees the same people doing the same things (common random numbers) and
//! differences between designs come from the designs alone. Draws a design can influence
//! (access-token lifetimes) use a second stream, also shared by all designs: they are
//! taken in the order the design issues tokens, and two identical designs take the same
//! ones. Results are integer accumulators merged in any order, so the output never
//! depends on the thread count.

use std::sync::OnceLock;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::engine::time::{Duration, SimTime, DAY};
use crate::error::InputError;
use crate::model::warm::WarmStart;
use crate::model::{
    Action, Artefact, Credential, Mechanism, MfaMethod, Observer, RuleTable, Stop, Susceptibility,
    Theft, TheftMode, UserSetup, UserSim,
};
use crate::output::metrics::{add_user, AttackWatch, Cell, Exposure, UserStats};
use crate::output::signinlog::{
    csv_field, user_principal_name, LogBuffer, LogUser, Logging, UserSide,
};
use crate::policy::{GrantControl, PolicySet, PolicyState, RiskLevel};
use crate::study::experiment::{Design, Experiment, RunOptions};
use crate::world::app::{App, Client, DeviceTrust};
use crate::world::population::{
    draw_workdays, plan_day, plan_risk, DayCounts, Population, UserTraits, Workday,
};
use crate::world::threat::{follow_up, plan_attacks, AttackPlan};

/// Accumulated results of a run, one cell per design × replicate.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunResult {
    /// `cells[design][replicate]`.
    pub cells: Vec<Vec<Cell>>,
    /// `report_only[design][replicate]`: the design simulated again with its report-only
    /// policies enforced ([`Design::report_only_enforced`]), same users and draws; no
    /// replicates for a design without report-only policies. Indexed like `cells`, so
    /// shards line up and merge like them, and no shadow is ever a design of its own.
    pub report_only: Vec<Vec<Cell>>,
    pub users_simulated: u64,
    pub user_days_simulated: u64,
    pub events_simulated: u64,
    /// Rows of the user's own evaluations written to the sign-in log.
    pub signin_log_rows: u64,
}

impl RunResult {
    /// Appends the replicates of a later batch (a run from `first_replicate` on) to each
    /// design's, and adds its counters: the result of running both batches at once.
    pub fn append_replicates(&mut self, later: RunResult) {
        if self.cells.is_empty() {
            *self = later;
            return;
        }
        for (mine, theirs) in self
            .cells
            .iter_mut()
            .zip(later.cells)
            .chain(self.report_only.iter_mut().zip(later.report_only))
        {
            mine.extend(theirs);
        }
        self.users_simulated += later.users_simulated;
        self.user_days_simulated += later.user_days_simulated;
        self.events_simulated += later.events_simulated;
        self.signin_log_rows += later.signin_log_rows;
    }

    /// Adds another run's accumulators (a shard), cell by cell. Refuses shards whose cells
    /// do not line up with these (a deleted cell, a resized histogram) and counts that
    /// would overflow, instead of dropping or wrapping them.
    pub fn merge(&mut self, other: &RunResult) -> Result<(), String> {
        if self.cells.is_empty() {
            *self = other.clone();
            return Ok(());
        }
        let shape = |cells: &[Vec<Cell>]| -> Vec<Vec<usize>> {
            cells
                .iter()
                .map(|reps| reps.iter().map(|c| c.groups.len()).collect())
                .collect()
        };
        if shape(&self.cells) != shape(&other.cells)
            || shape(&self.report_only) != shape(&other.report_only)
        {
            return Err(
                "its cells (designs × replicates × groups) differ from the other shards'".into(),
            );
        }
        let mut ok = true;
        for (mine, theirs) in self
            .cells
            .iter_mut()
            .zip(&other.cells)
            .chain(self.report_only.iter_mut().zip(&other.report_only))
        {
            for (a, b) in mine.iter_mut().zip(theirs) {
                ok &= a.try_merge(b);
            }
        }
        for (a, b) in [
            (&mut self.users_simulated, other.users_simulated),
            (&mut self.user_days_simulated, other.user_days_simulated),
            (&mut self.events_simulated, other.events_simulated),
            (&mut self.signin_log_rows, other.signin_log_rows),
        ] {
            match a.checked_add(b) {
                Some(v) => *a = v,
                None => ok = false,
            }
        }
        if ok {
            Ok(())
        } else {
            Err(
                "its counts overflow when added to the other shards', or a histogram was resized"
                    .into(),
            )
        }
    }
}

/// Tag of the behaviour stream, in the design-index position of the stream key.
const BEHAVIOUR_STREAM: u64 = u64::MAX;
/// Tag of the stream of the steady start's shares (`model::warm`), shared by all designs.
const WARM_START_STREAM: u64 = u64::MAX - 1;
/// Tag of the model's own stream (access-token lifetimes), shared by all designs too: a
/// design's results depend on what it is, not on where the experiment lists it, and two
/// identical designs give identical results (keyed by the design index, a design was
/// "dominated" by its own copy through token-lifetime noise alone).
const MODEL_STREAM: u64 = u64::MAX - 2;

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
    /// Rule tables by profile index (see [`profile_index`]), each made the first time a
    /// user with that profile is simulated: a table is about 390 KB (5,440 entries, most
    /// never evaluated) and most of the 144 profiles per persona never occur, so making all
    /// of them cost ~200 MB of RSS.
    tables: Vec<OnceLock<RuleTable<'a>>>,
    susceptibility: Susceptibility,
    /// Oversampling factor of each attack mechanism ([`crate::world::threat::Threat::sampling`]).
    sampling: [f64; Mechanism::COUNT],
    copies: CopyScope,
    /// Each persona's counts per workday, set up once.
    day_counts: Vec<DayCounts>,
}

/// What a theft's copy keeps of the user's timeline.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum CopyScope {
    /// The attacker's timeline alone ([`UserSim::keep_attacker_only`]), when nothing the
    /// user does can change what the attacker holds.
    AttackerOnly,
    /// The user's timeline too, its days planned as the user's own, in the copies where
    /// the user's risk is raised or will be within the attacker's window: the design can
    /// then make the user change the password at a sign-in
    /// ([`user_sign_in_can_change_password`]), which ends the attacker's password-based
    /// artefacts and remediates the risk (so the risk policy no longer stops the
    /// attacker's other artefacts at their next renewal). Without a raised risk no sign-in
    /// asks for it.
    WithUserWorkWhenRisky,
    /// The user's timeline in every copy: the reference tests hold the others to.
    #[cfg_attr(not(test), allow(dead_code))]
    WithUserWork,
}

/// Whether a user's own sign-in can change the account's password under `policies`: an
/// enabled policy grants with a password change (Microsoft's risky-user template). Then a
/// theft's copy must keep the user's work while the user's risk is raised
/// ([`CopyScope::WithUserWorkWhenRisky`]).
fn user_sign_in_can_change_password(policies: &PolicySet) -> bool {
    policies.policies.iter().any(|p| {
        p.state == PolicyState::Enabled
            && p.grant
                .as_ref()
                .is_some_and(|g| g.controls.contains(GrantControl::PasswordChange))
    })
}

impl<'a> DesignEnv<'a> {
    /// Compiles design `design_index` of `exp` (its policies, for every user profile).
    pub fn prepare(exp: &'a Experiment, design_index: usize) -> DesignEnv<'a> {
        DesignEnv::prepare_as(exp, design_index, &exp.designs[design_index])
    }

    /// Compiles `design` in the place of design `design_index`: its users draw exactly
    /// what that design's users draw (the report-only shadow of a design).
    pub fn prepare_as(
        exp: &'a Experiment,
        design_index: usize,
        design: &'a Design,
    ) -> DesignEnv<'a> {
        DesignEnv {
            exp,
            design,
            design_index,
            tables: (0..exp.population.personas.len() * PROFILES_PER_PERSONA)
                .map(|_| OnceLock::new())
                .collect(),
            susceptibility: exp.population.threat.susceptibility(),
            sampling: exp.sampling(),
            day_counts: exp.population.personas.iter().map(DayCounts::of).collect(),
            copies: if user_sign_in_can_change_password(&design.policies) {
                CopyScope::WithUserWorkWhenRisky
            } else {
                CopyScope::AttackerOnly
            },
        }
    }

    /// The rule table of profile `index`, built on first use.
    fn rules(&self, index: usize) -> &RuleTable<'a> {
        self.tables[index].get_or_init(|| {
            RuleTable::new(
                self.exp.population.profile(&profile_traits(index)),
                &self.design.policies,
            )
        })
    }

    /// Simulates the given users of one replicate on this thread (benchmarks, tests).
    pub fn simulate(&self, replicate: u32, users: std::ops::Range<u64>) -> Cell {
        let rows = RowsWanted {
            signins: false,
            users: false,
        };
        let mut outs = simulate_chunk(
            std::slice::from_ref(self),
            &RunOptions::default(),
            replicate,
            users,
            rows,
        );
        outs.pop().map_or_else(Cell::default, |out| out.cell)
    }
}

const MFA_METHODS: usize = 3;
const CREDENTIALS: usize = Credential::ALL.len();
/// Rule tables per persona: device × compliant × MFA method × trusted location × credential.
const PROFILES_PER_PERSONA: usize = 4 * 2 * MFA_METHODS * 2 * CREDENTIALS;

/// The rule table of a user's profile: everything about the user that policies see.
fn profile_index(persona: usize, t: &UserTraits) -> usize {
    let m = MfaMethod::ALL
        .iter()
        .position(|x| *x == t.mfa_method)
        .unwrap_or(0);
    let c = Credential::ALL
        .iter()
        .position(|x| *x == t.credential)
        .unwrap_or(0);
    ((((persona * 4 + t.device.index()) * 2 + t.compliant as usize) * MFA_METHODS + m) * 2
        + t.trusted_location as usize)
        * CREDENTIALS
        + c
}

/// The traits that profile `i` stands for (the inverse of [`profile_index`]).
fn profile_traits(i: usize) -> UserTraits {
    let c = i % CREDENTIALS;
    let rest = i / CREDENTIALS;
    let trusted = rest % 2 == 1;
    let m = (rest / 2) % MFA_METHODS;
    let compliant = (rest / (2 * MFA_METHODS)) % 2 == 1;
    let device = DeviceTrust::ALL[(rest / (4 * MFA_METHODS)) % 4];
    let persona = rest / (16 * MFA_METHODS);
    let traits = UserTraits {
        persona,
        device,
        compliant,
        credential: Credential::ALL[c],
        mfa_method: MfaMethod::ALL[m],
        kmsi_accept: false,
        remember_mfa_accept: false,
        signs_out: false,
        trusted_location: trusted,
        clients: Vec::new(),
    };
    debug_assert_eq!(profile_index(persona, &traits), i);
    traits
}

/// Reusable per-thread buffers.
#[derive(Default)]
struct Scratch {
    plan: Vec<(SimTime, Action)>,
    /// The current user's preamble, when each design draws its own.
    preamble: Preamble,
    /// The current user's plans, when the designs are simulated together.
    shared: SharedPlans,
}

/// One user's plans, drawn once and replayed to every design when a run simulates its
/// designs user by user ([`run_together`]): the preamble ([`Preamble::draw`]) and the plan
/// of every day. They come from the behaviour stream alone (the module's "common random
/// numbers"), so every design draws the same ones; drawing them once saves each further
/// design the planning's draws, about a fifth of a user-day (docs/performance.md,
/// "twelfth session").
#[derive(Default)]
struct SharedPlans {
    /// What the plans were drawn from: the behaviour stream after the user's traits, and
    /// the traits planning reads. A design replays them only when its own user is in the
    /// same state, which makes the replay exact by construction: the same stream state
    /// draws the same plans.
    from: Option<(ChaCha8Rng, usize, DeviceTrust, Vec<Client>, bool)>,
    /// Its actions in time order.
    preamble: Preamble,
    /// Every day's plan, each in time order.
    days: Vec<(SimTime, Action)>,
    /// Where each day's plan ends in `days`.
    ends: Vec<usize>,
}

impl SharedPlans {
    /// Draws the preamble and the plans of every day from `brng` (the behaviour stream
    /// after `traits`), as [`simulate_user`] and [`Driver::plan_next`] would, unless they
    /// were drawn from this same state already.
    ///
    /// Each plan is kept in time order, equal times in the order drawn (a stable sort),
    /// so that each design's queue finds it sorted. The queue orders a plan by (time,
    /// order given): the same order as the plan drawn, so each event pops at the same
    /// place (its sequence number is another, unseen).
    fn prepare(
        &mut self,
        brng: &ChaCha8Rng,
        env: &DesignEnv,
        traits: &UserTraits,
        counts: &DayCounts,
    ) {
        let same = self
            .from
            .as_ref()
            .is_some_and(|(rng, persona, device, clients, signs_out)| {
                rng == brng
                    && *persona == traits.persona
                    && *device == traits.device
                    && *clients == traits.clients
                    && *signs_out == traits.signs_out
            });
        if same {
            return;
        }
        let mut rng = brng.clone();
        self.preamble.draw(&mut rng, env, traits);
        self.preamble.actions.sort_by_key(|(at, _)| *at);
        let pop = &env.exp.population;
        self.days.clear();
        self.ends.clear();
        for w in &self.preamble.workdays {
            if let Some(w) = w {
                let start = self.days.len();
                plan_day(&mut rng, pop, traits, counts, *w, &mut self.days);
                self.days[start..].sort_by_key(|(at, _)| *at);
            }
            self.ends.push(self.days.len());
        }
        self.from = Some((
            brng.clone(),
            traits.persona,
            traits.device,
            traits.clients.clone(),
            traits.signs_out,
        ));
    }

    /// The plan of day `day`, in time order.
    fn day(&self, day: usize) -> &[(SimTime, Action)] {
        let start = if day == 0 { 0 } else { self.ends[day - 1] };
        &self.days[start..self.ends[day]]
    }
}

/// What a user does over the run, drawn before the first day is planned.
#[derive(Default)]
struct Preamble {
    /// Which days they work.
    workdays: Vec<Option<Workday>>,
    /// Their risk detections and the attacks on them.
    actions: Vec<(SimTime, Action)>,
    /// The apps an attacker replays against.
    apps: Vec<App>,
    /// The attacks' own plans, indexed by the attack ids in `actions`.
    attacks: Vec<AttackPlan>,
}

impl Preamble {
    /// Draws the preamble from the behaviour stream after the user's traits.
    fn draw(&mut self, brng: &mut ChaCha8Rng, env: &DesignEnv, traits: &UserTraits) {
        let exp = env.exp;
        let pop = &exp.population;
        let persona = &pop.personas[traits.persona];
        let first = exp.first_day();
        draw_workdays(
            brng,
            persona,
            first,
            exp.simulated_days(),
            &mut self.workdays,
        );
        self.actions.clear();
        // Risk detections are part of the warm-up's history; attacks are counted, so they
        // come on counted days only.
        plan_risk(
            brng,
            pop,
            traits,
            first,
            exp.simulated_days(),
            &mut self.actions,
        );
        self.apps.clear();
        if pop.threat.apps.is_empty() {
            for a in &persona.apps {
                if !self.apps.contains(&a.app) {
                    self.apps.push(a.app);
                }
            }
        } else {
            self.apps.extend_from_slice(&pop.threat.apps);
        }
        plan_attacks(
            brng,
            &pop.threat,
            &env.sampling,
            traits.device,
            &self.workdays[exp.warmup_days as usize..],
            exp.days,
            &mut self.actions,
            &mut self.attacks,
        );
    }
}

/// Receives the optional per-row outputs, in (design, replicate, user) order: sign-in log
/// rows in the form [`RunOptions::signin_log_format`] asks for (the sink may take them),
/// and `users.csv` rows.
pub trait RowSink {
    fn write(&mut self, signins: &mut LogBuffer, users: &[u8]) -> std::io::Result<()>;
}

/// What one chunk of users produced.
#[derive(Default)]
struct ChunkOut {
    cell: Cell,
    users: u64,
    days: u64,
    signins: LogBuffer,
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

    /// Adds a replicate's total to the run's counters and returns its cell.
    fn count_into(self, result: &mut RunResult) -> Cell {
        result.users_simulated += self.users;
        result.user_days_simulated += self.days;
        result.events_simulated += self.cell.total().events;
        result.signin_log_rows += self.log_rows;
        self.cell
    }

    /// Adds another chunk's counts (its rows are written separately, in order).
    fn absorb(&mut self, other: ChunkOut) {
        self.cell = std::mem::take(&mut self.cell).merge(other.cell);
        self.users += other.users;
        self.days += other.days;
        self.log_rows += other.log_rows;
    }
}

/// Users per parallel work item.
const CHUNK: u64 = 256;
/// Users per work item when rows are written, at most: rows of the chunks waiting for
/// their turn are held in memory.
const MAX_USERS_WITH_ROWS: u64 = 32;
/// User-days per work item when rows are written: a user's rows grow with the days
/// simulated (32 users of 30 days; 9 users of 100 days).
const USER_DAYS_WITH_ROWS: u64 = MAX_USERS_WITH_ROWS * 30;

/// Users per parallel work item when rows are written (design by design): few enough
/// that the waiting chunks' rows stay bounded whatever the number of days. Results do not
/// depend on it (counts merge exactly, rows are written in user order).
fn users_per_item_with_rows(days: u32) -> u64 {
    (USER_DAYS_WITH_ROWS / u64::from(days.max(1))).clamp(1, MAX_USERS_WITH_ROWS)
}

/// Users per parallel work item without rows, when each user is simulated under
/// `designs` designs together: [`CHUNK`] simulations, so that small runs still split
/// evenly between threads.
fn users_per_item(designs: usize) -> u64 {
    CHUNK.div_ceil(designs.max(1) as u64)
}

/// Runs every design × replicate × user. `progress` is told how many users finished, and
/// how many events they took, as chunks of users finish.
/// With a `sink` (sign-in log, per-user table), rows are streamed to it in user order.
pub fn run(
    exp: &Experiment,
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    sink: Option<&mut dyn RowSink>,
) -> std::io::Result<RunResult> {
    let mut result = RunResult::default();
    let rows = RowsWanted {
        signins: opts.signin_log,
        users: opts.per_user,
    };
    let Some(sink) = sink.filter(|_| rows.signins || rows.users) else {
        run_together(exp, opts, progress, &mut result, DESIGNS_TOGETHER);
        return Ok(result);
    };
    let chunk = users_per_item_with_rows(exp.simulated_days());
    for di in 0..exp.designs.len() {
        let env = DesignEnv::prepare(exp, di);
        let reps = run_design(&env, opts, rows, chunk, progress, &mut *sink, &mut result)?;
        result.cells.push(reps);
        // The shadow runs right after its design, with no rows: it is not a design of its
        // own, only the `reportonly_*` numbers of this one.
        let shadow = exp.designs[di].report_only_enforced();
        let reps = match &shadow {
            Some(design) => {
                let env = DesignEnv::prepare_as(exp, di, design);
                run_envs(std::slice::from_ref(&env), opts, progress, &mut result)
                    .pop()
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        result.report_only.push(reps);
    }
    Ok(result)
}

/// Designs (report-only shadows counted) simulated together at most: each keeps its rule
/// tables alive while it runs, ~6 MB on the enterprise population, so a sweep of many
/// designs holds a bounded number at once and keeps 7/8 of what sharing saves
/// (docs/performance.md, "twelfth session").
const DESIGNS_TOGETHER: usize = 8;

/// [`run`] without rows: every design and report-only shadow, user by user, a group of
/// at most `together` designs at a time ([`DESIGNS_TOGETHER`]; a design with its shadow
/// is one group however small). Each user is simulated under every design of
/// the group before the next user, so that the designs replay the user's plans instead of
/// drawing them again ([`SharedPlans`]). The cells are the same as running the designs one
/// after another, which rows need (they are written in design order).
fn run_together(
    exp: &Experiment,
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    result: &mut RunResult,
    together: usize,
) {
    let shadows: Vec<Option<Design>> = exp
        .designs
        .iter()
        .map(Design::report_only_enforced)
        .collect();
    let mut next = 0;
    while next < shadows.len() {
        // Each design, followed by its shadow when it has one.
        let mut envs = Vec::new();
        let first = next;
        while next < shadows.len() {
            let size = 1 + usize::from(shadows[next].is_some());
            if !envs.is_empty() && envs.len() + size > together {
                break;
            }
            envs.push(DesignEnv::prepare(exp, next));
            if let Some(design) = &shadows[next] {
                envs.push(DesignEnv::prepare_as(exp, next, design));
            }
            next += 1;
        }
        let mut cells = run_envs(&envs, opts, progress, result).into_iter();
        for shadow in &shadows[first..next] {
            result.cells.push(cells.next().unwrap_or_default());
            result.report_only.push(match shadow {
                Some(_) => cells.next().unwrap_or_default(),
                None => Vec::new(),
            });
        }
    }
}

/// Runs every replicate × user of `envs` together, adds the counters to `result`, and
/// returns each one's cells (one per replicate), in the order of `envs`.
fn run_envs(
    envs: &[DesignEnv],
    opts: &RunOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
    result: &mut RunResult,
) -> Vec<Vec<Cell>> {
    let Some(exp) = envs.first().map(|env| env.exp) else {
        return Vec::new();
    };
    let personas = exp.population.personas.len();
    let none = RowsWanted {
        signins: false,
        users: false,
    };
    let mut cells: Vec<Vec<Cell>> = envs.iter().map(|_| Vec::new()).collect();
    let chunk = users_per_item(envs.len());
    for rep in opts.first_replicate..exp.replicates {
        let chunks = exp.users.div_ceil(chunk);
        let work = |c: u64| {
            let range = c * chunk..((c + 1) * chunk).min(exp.users);
            let outs = simulate_chunk(envs, opts, rep, range, none);
            progress(
                outs.iter().map(|o| o.users).sum(),
                outs.iter().map(|o| o.cell.total().events).sum(),
            );
            outs
        };
        let outs = (0..chunks)
            .into_par_iter()
            .map(work)
            .reduce(Vec::new, |mut a, b| {
                if a.is_empty() {
                    return b;
                }
                for (a, b) in a.iter_mut().zip(b) {
                    a.absorb(b);
                }
                a
            });
        let mut outs = outs.into_iter();
        for env_cells in &mut cells {
            let mut total = ChunkOut::new(personas);
            total.absorb(outs.next().unwrap_or_default());
            env_cells.push(total.count_into(result));
        }
    }
    cells
}

/// Runs every replicate × user of one (compiled) design with rows, streaming them to
/// `sink` in user order, and adds the counters to `result`; returns its cells, one per
/// replicate.
fn run_design(
    env: &DesignEnv,
    opts: &RunOptions,
    rows: RowsWanted,
    chunk: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
    sink: &mut (dyn RowSink + '_),
    result: &mut RunResult,
) -> std::io::Result<Vec<Cell>> {
    let exp = env.exp;
    let mut reps = Vec::with_capacity(exp.replicates as usize);
    for rep in opts.first_replicate..exp.replicates {
        let chunks = exp.users.div_ceil(chunk);
        let work = |c: u64| {
            let range = c * chunk..((c + 1) * chunk).min(exp.users);
            let out = simulate_chunk(std::slice::from_ref(env), opts, rep, range, rows)
                .pop()
                .unwrap_or_default();
            progress(out.users, out.cell.total().events);
            out
        };
        let mut total = ChunkOut::new(exp.population.personas.len());
        // Batches of chunks run in parallel; their rows are written in order.
        let batch = 4 * rayon::current_num_threads() as u64;
        let mut start = 0;
        while start < chunks {
            let end = (start + batch).min(chunks);
            let outs: Vec<ChunkOut> = (start..end).into_par_iter().map(work).collect();
            for mut out in outs {
                sink.write(&mut out.signins, &out.user_rows)?;
                total.absorb(out);
            }
            start = end;
        }
        reps.push(total.count_into(result));
    }
    Ok(reps)
}

#[derive(Copy, Clone)]
struct RowsWanted {
    signins: bool,
    users: bool,
}

/// Simulates `users` of one replicate under each of `envs`, user by user (every design of
/// a user before the next user, so that they share the user's plans), and returns
/// each design's chunk, in the order of `envs`. Rows are written per design: a caller that
/// wants them passes one design.
fn simulate_chunk(
    envs: &[DesignEnv],
    opts: &RunOptions,
    rep: u32,
    users: std::ops::Range<u64>,
    rows: RowsWanted,
) -> Vec<ChunkOut> {
    let Some(first) = envs.first() else {
        return Vec::new();
    };
    let exp = first.exp;
    let (shard, shards) = opts.shard.map_or((0, 1), |(k, n)| (k as u64 - 1, n as u64));
    let mut outs: Vec<ChunkOut> = envs
        .iter()
        .map(|_| {
            let mut out = ChunkOut::new(exp.population.personas.len());
            out.signins = LogBuffer::new(opts.signin_log_format);
            out
        })
        .collect();
    let mut scratch = Scratch::default();
    let mut sims: Vec<UserSim> = envs
        .iter()
        .map(|env| {
            let setup = UserSetup {
                device: DeviceTrust::Unmanaged,
                credential: Credential::Password,
                kmsi_accept: false,
                remember_mfa_accept: false,
                guest: false,
                tenant: env.design.tenant.clone(),
                tokens: env.design.effective_tokens(&exp.params),
            };
            UserSim::new(&exp.params, env.rules(0), setup, user_stream(0, 0, 0, 0))
        })
        .collect();
    let share_plans = envs.len() > 1;
    for u in users {
        if u % shards != shard {
            continue;
        }
        for ((env, sim), out) in envs.iter().zip(&mut sims).zip(&mut outs) {
            let log = rows.signins.then_some(&mut out.signins);
            let user = simulate_user(
                env,
                rep,
                u,
                sim,
                &mut scratch,
                &mut out.cell,
                log,
                opts.signin_log_attackers,
                share_plans,
            );
            out.days += exp.simulated_days() as u64;
            out.users += 1;
            out.log_rows += user.log_rows;
            if rows.users {
                user.write_row(env, rep, u, &mut out.user_rows);
            }
        }
    }
    outs
}

/// What one simulated user came to, for `users.csv`.
struct UserOutcome {
    traits: UserTraits,
    stats_row: [u64; 5],
    attacks: u64,
    thefts: u64,
    exposure: Duration,
    censored: u64,
    log_rows: u64,
}

impl UserOutcome {
    fn write_row(&self, env: &DesignEnv, rep: u32, user: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        let t = &self.traits;
        let persona = &env.exp.population.personas[t.persona];
        let [active, prompts, mfa, unintended, evaluations] = self.stats_row;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.4},{}",
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
            self.attacks,
            self.thefts,
            self.exposure.as_hours_f64(),
            self.censored,
        );
    }
}

/// Simulates one user and adds them to `cell`; with `log`, appends their sign-in log rows
/// (and, with `log_attackers`, the rows of the attackers of their thefts).
/// The user's own timeline never sees an attack: each successful attack stops it, and a
/// copy follows the theft (its attacker, detection and response) to the end of the
/// attacker's window, while the original goes on as if nothing happened. With
/// `share_plans`, the user's plans are drawn once into `s.shared` and replayed to the
/// next design that simulates the same user.
#[allow(clippy::too_many_arguments)]
fn simulate_user<'a>(
    env: &'a DesignEnv<'_>,
    rep: u32,
    user: u64,
    sim: &mut UserSim<'a>,
    s: &mut Scratch,
    cell: &mut Cell,
    mut log: Option<&mut LogBuffer>,
    log_attackers: bool,
    share_plans: bool,
) -> UserOutcome {
    let exp = env.exp;
    let pop = &exp.population;
    let mut brng = user_stream(exp.seed, BEHAVIOUR_STREAM, rep as u64, user);
    let traits = UserTraits::draw(&mut brng, pop, env.design.mfa_mix.as_ref());
    let counts = &env.day_counts[traits.persona];
    // The plans, drawn here or replayed (then `brng` is not drawn from again); the
    // preamble's actions go to the plan buffer, which the queue drains.
    let preamble = if share_plans {
        s.shared.prepare(&brng, env, &traits, counts);
        s.plan.clear();
        s.plan.extend_from_slice(&s.shared.preamble.actions);
        &s.shared.preamble
    } else {
        s.preamble.draw(&mut brng, env, &traits);
        std::mem::swap(&mut s.plan, &mut s.preamble.actions);
        &s.preamble
    };
    let Preamble {
        workdays,
        apps,
        attacks,
        ..
    } = preamble;

    let table = profile_index(traits.persona, &traits);
    let setup = UserSetup {
        device: traits.device,
        credential: traits.credential,
        kmsi_accept: traits.kmsi_accept,
        remember_mfa_accept: traits.remember_mfa_accept,
        guest: pop.personas[traits.persona].guest.is_some(),
        tenant: env.design.tenant.clone(),
        tokens: env.design.effective_tokens(&exp.params),
    };
    sim.reset(
        env.rules(table),
        setup,
        user_stream(exp.seed, MODEL_STREAM, rep as u64, user),
    );
    sim.set_threat(Some(&env.susceptibility), TheftMode::Report);
    sim.set_warm_start(exp.steady_start.then(|| {
        WarmStart::draw(&mut user_stream(
            exp.seed,
            WARM_START_STREAM,
            rep as u64,
            user,
        ))
    }));
    sim.set_attacker_apps(apps);
    sim.schedule_plan(&mut s.plan);
    let horizon = exp.horizon();
    let group = cell.group_mut(traits.device, traits.persona, pop.personas.len());
    let mut outcome = UserOutcome {
        traits: traits.clone(),
        stats_row: [0; 5],
        attacks: attacks.len() as u64,
        thefts: 0,
        exposure: Duration::ZERO,
        censored: 0,
        log_rows: 0,
    };
    for a in attacks {
        group.thefts[a.mechanism.index()].attempts += 1;
    }
    let mut stats = UserStats::new(&exp.params, traits.device, exp.counted_from());
    // Only the sign-in log names the user.
    let upn = if let Some(LogBuffer::Csv(_)) = log {
        user_principal_name(user, &pop.domain)
    } else {
        String::new()
    };
    let log_user = LogUser {
        start_day: exp.clock_start_day(),
        user,
        upn: &upn,
        side: UserSide {
            device: traits.device,
            compliant: traits.compliant,
            credential: traits.credential,
            mfa_method: traits.mfa_method,
            trusted_location: traits.trusted_location,
        },
        design: &env.design.name,
        design_index: env.design_index as u32,
        replicate: rep,
        persona: &pop.personas[traits.persona].name,
        persona_index: traits.persona as u32,
        from: exp.counted_from(),
        until: horizon,
    };
    // Attacker rows of the copies, logged after the user's own.
    let mut attacker_log = log
        .as_deref()
        .map_or_else(LogBuffer::default, LogBuffer::new_like);
    let mut run = Driver {
        pop,
        traits: &traits,
        counts,
        workdays,
        brng,
        plans: share_plans.then_some(&s.shared),
        next_day: 0,
        first_day: exp.first_day(),
    };
    let mut plan = std::mem::take(&mut s.plan);
    // The attackers' rows are made only when asked for (`--signin-log-attackers`): they
    // are about half of a log's rows, and a tenant's log does not hold them.
    let logging_wanted = log.is_some() && log_attackers;
    let mut on_theft = |sim: &UserSim<'a>, run: &Driver, theft: Theft, plan: &mut Vec<_>| {
        let (exposure, events) = follow(
            env,
            sim,
            run,
            plan,
            &theft,
            attacks,
            apps,
            logging_wanted.then_some((&log_user, &mut attacker_log)),
        );
        group.thefts[theft.mechanism.index()].add(&exposure);
        group.events += events;
        outcome.thefts += 1;
        outcome.exposure = outcome.exposure + exposure.total;
        outcome.censored += u64::from(exposure.censored);
    };
    let log_rows = match log.as_deref_mut() {
        None => {
            run.drive(sim, horizon, &mut plan, &mut stats, &mut on_theft);
            0
        }
        Some(out) => {
            let mut logging = Logging {
                inner: stats,
                user: LogUser { ..log_user },
                out,
                rows: 0,
            };
            run.drive(sim, horizon, &mut plan, &mut logging, &mut on_theft);
            stats = logging.inner;
            logging.rows
        }
    };
    s.plan = plan;
    if let Some(out) = log {
        out.append(&mut attacker_log);
    }
    let active_days = workdays[exp.warmup_days as usize..]
        .iter()
        .filter(|w| w.is_some())
        .count() as u64;
    let group = cell.group_mut(traits.device, traits.persona, pop.personas.len());
    add_user(group, &stats, active_days, exp.days as u64, sim.events());
    outcome.stats_row = [
        active_days,
        stats.prompts,
        stats.mfa_prompts,
        stats.unintended,
        stats.evaluations,
    ];
    outcome.log_rows = log_rows;
    outcome
}

/// Follows one theft in a copy of the user's simulation, from the theft to the end of the
/// attacker's window (or until every stolen artefact has lost access), and returns its
/// exposure and the events the copy took. With `log`, the copy's attacker rows are appended
/// to it. The copy holds the attacker's timeline alone ([`UserSim::keep_attacker_only`])
/// unless the user's work can reach the attacker ([`CopyScope`]): then it keeps it, and
/// goes on planning the user's days with a clone of `run`.
#[allow(clippy::too_many_arguments)]
fn follow<'a>(
    env: &'a DesignEnv<'_>,
    sim: &UserSim<'a>,
    run: &Driver<'a, '_>,
    plan: &mut Vec<(SimTime, Action)>,
    theft: &Theft,
    attacks: &[AttackPlan],
    apps: &[App],
    log: Option<(&LogUser, &mut LogBuffer)>,
) -> (Exposure, u64) {
    let exp = env.exp;
    let seed = attacks
        .get(theft.attack as usize)
        .map_or(theft.attack as u64, |a| a.seed);
    let mut arng = ChaCha8Rng::seed_from_u64(seed);
    let mut f = follow_up(
        &mut arng,
        &exp.population.threat,
        theft.mechanism,
        theft.at,
        exp.population.remediation.user_risk_duration,
    );
    let mut copy = sim.clone();
    let mut theft = theft.clone();
    if f.risky_sign_ins {
        for st in &mut theft.stolen {
            st.sign_in_risk = RiskLevel::High;
        }
    }
    copy.install_theft(&theft);
    // The attacker's sessions over its whole window, sorted once into the queue's batch
    // rather than heaped one by one (the same order).
    copy.schedule_plan(&mut f.actions);
    let keep_user_work = match env.copies {
        CopyScope::AttackerOnly => false,
        CopyScope::WithUserWorkWhenRisky => copy.user_risk_raised_before(f.ends),
        CopyScope::WithUserWork => true,
    };
    copy.become_theft_copy(arng);
    let mut days = if keep_user_work {
        Some(run.clone())
    } else {
        copy.keep_attacker_only();
        None
    };
    let days = days.as_mut().map(|d| (d, plan));
    let kinds: Vec<Artefact> = theft.stolen.iter().map(|s| s.artefact).collect();
    let mut watch = AttackWatch::new(&kinds, apps);
    let events_before = copy.events();
    match log {
        None => follow_copy(&mut copy, f.ends, &mut watch, days),
        Some((user, out)) => {
            let mut logging = Logging {
                inner: watch,
                // The copy's user rows are another timeline: only attacker rows are logged.
                user: LogUser {
                    until: SimTime::ZERO,
                    ..*user
                },
                out,
                rows: 0,
            };
            follow_copy(&mut copy, f.ends, &mut logging, days);
            watch = logging.inner;
        }
    }
    (watch.exposure(f.ends), copy.events() - events_before)
}

/// Plans a user's workdays just before they start and runs their simulation. A theft's
/// copy that keeps the user's work clones it, to plan the same days.
#[derive(Clone)]
struct Driver<'a, 's> {
    pop: &'a Population,
    traits: &'s UserTraits,
    counts: &'a DayCounts,
    workdays: &'s [Option<Workday>],
    brng: ChaCha8Rng,
    /// The days' plans drawn beforehand from `brng` ([`SharedPlans`]), if any: then `brng`
    /// is not drawn from.
    plans: Option<&'s SharedPlans>,
    /// The next day to plan, and the day number of day 0 ([`Experiment::first_day`]).
    next_day: usize,
    first_day: u64,
}

impl Driver<'_, '_> {
    /// Plans the next day, if any is left, and returns the end of the day it planned.
    fn plan_next(
        &mut self,
        sim: &mut UserSim,
        plan: &mut Vec<(SimTime, Action)>,
    ) -> Option<SimTime> {
        let day = self.next_day;
        let w = self.workdays.get(day)?;
        if let Some(w) = w {
            match self.plans {
                Some(plans) => plan.extend_from_slice(plans.day(day)),
                None => plan_day(&mut self.brng, self.pop, self.traits, self.counts, *w, plan),
            }
            sim.schedule_plan(plan);
        }
        self.next_day += 1;
        Some(SimTime::from_secs((self.first_day + day as u64 + 1) * DAY))
    }

    /// Runs the user's own timeline to `end`, handing each theft to `on_theft`.
    fn drive<'a, O: Observer>(
        &mut self,
        sim: &mut UserSim<'a>,
        end: SimTime,
        plan: &mut Vec<(SimTime, Action)>,
        obs: &mut O,
        on_theft: &mut impl FnMut(&UserSim<'a>, &Self, Theft, &mut Vec<(SimTime, Action)>),
    ) {
        loop {
            let until = match self.plan_next(sim, plan) {
                Some(t) => t.min(end),
                None => end,
            };
            while sim.run_until(until, obs) == Stop::Theft {
                if let Some(theft) = sim.take_theft() {
                    on_theft(sim, self, theft, plan);
                }
            }
            if until >= end {
                break;
            }
        }
    }
}

/// Runs a theft's copy to `end`, a day at a time, stopping early once every stolen
/// artefact has lost access.
/// With `days`, the user's days go on being planned as in the user's own timeline.
fn follow_copy(
    sim: &mut UserSim,
    end: SimTime,
    watch: &mut impl Watch,
    mut days: Option<(&mut Driver, &mut Vec<(SimTime, Action)>)>,
) {
    let mut reached = sim.now();
    loop {
        let planned = days
            .as_mut()
            .and_then(|(run, plan)| run.plan_next(sim, plan));
        let until = match planned {
            Some(day_end) => day_end.min(end),
            None => end.min(reached + Duration::from_secs(DAY)),
        };
        sim.run_until(until, watch);
        reached = until;
        if until >= end || watch.done() {
            break;
        }
    }
}

/// An observer of a theft's copy that knows when nothing more can happen.
trait Watch: Observer {
    fn done(&self) -> bool;
}

impl Watch for AttackWatch {
    fn done(&self) -> bool {
        self.all_ended()
    }
}

impl Watch for Logging<'_, AttackWatch> {
    fn done(&self) -> bool {
        self.inner.all_ended()
    }
}

/// Total users the run will simulate (for a progress bar).
pub fn total_users(exp: &Experiment, opts: &RunOptions) -> u64 {
    let per_rep = match opts.shard {
        // Users u with u % n == k - 1.
        Some((k, n)) => (exp.users + n as u64 - k as u64) / n as u64,
        None => exp.users,
    };
    per_rep * exp.replicates as u64 * exp.simulated_designs()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::metrics::{Group, TheftAcc};

    fn result(groups: usize, users: u64) -> RunResult {
        let mut cell = Cell::new(1);
        cell.groups.truncate(groups);
        cell.groups[0] = Group {
            users,
            ..Group::default()
        };
        RunResult {
            cells: vec![vec![cell]],
            users_simulated: users,
            ..RunResult::default()
        }
    }

    /// Writes an experiment of 400 enterprise users over `policies` (a JSON value), with
    /// fixed token lifetimes, so that a theft's copy draws nothing.
    fn copies_experiment(
        dir: &std::path::Path,
        policies: &serde_json::Value,
        cae: bool,
    ) -> Experiment {
        let root = env!("CARGO_MANIFEST_DIR");
        std::fs::write(dir.join("policies.json"), policies.to_string()).unwrap();
        let path = dir.join("copies.toml");
        // CAE tokens' lifetimes are drawn even with fixed tokens: fix them too.
        std::fs::write(
            &path,
            format!(
                r#"
name = "copies"
population = "{root}/models/populations/enterprise.toml"
users = 400
days = 21
seed = 7
access_tokens = "75m"

[model]
cae_token_min = "24h"
cae_token_max = "24h"

[[design]]
name = "d"
policies = "policies.json"
tenant = {{ remember_mfa = "0d", kmsi = false, cae = {cae} }}
"#
            ),
        )
        .unwrap();
        Experiment::load(&path).unwrap()
    }

    /// The baseline policy set, with or without its risky-user password-change policy.
    fn baseline(with_password_change: bool) -> serde_json::Value {
        let root = env!("CARGO_MANIFEST_DIR");
        let text =
            std::fs::read_to_string(format!("{root}/models/policies/baseline.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if !with_password_change {
            let list = v["value"].as_array_mut().unwrap();
            let before = list.len();
            list.retain(|p| !p.to_string().contains("passwordChange"));
            assert_eq!(list.len(), before - 1);
        }
        v
    }

    fn thefts(c: &Cell) -> Vec<TheftAcc> {
        c.groups.iter().flat_map(|g| g.thefts.clone()).collect()
    }

    /// Where no sign-in of the user can change the password, a theft's copy leaves out the
    /// user's work: nothing in it can change what the attacker holds. Keeping the work must
    /// then give the same exposure, theft by theft, where the copy draws nothing (fixed
    /// token lifetimes; drawn ones would shift with the user's draws).
    #[test]
    fn copies_without_the_users_work_find_the_same_exposure() {
        let root = env!("CARGO_MANIFEST_DIR");
        // The baseline without its risky-user policy, with and without CAE, and every
        // other shipped policy set without a password change (real shapes: SIF, persistence,
        // token protection, strict location, device-code blocking, auth contexts).
        let mut cases = vec![(baseline(false), false, "baseline - CA006".to_string())];
        cases.push((baseline(false), true, "baseline - CA006".to_string()));
        let mut files: Vec<_> = std::fs::read_dir(format!("{root}/models/policies"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            if !text.contains("passwordChange") {
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                cases.push((serde_json::from_str(&text).unwrap(), true, name));
            }
        }
        assert!(cases.len() >= 10);
        let mut compared = 0;
        for (policies, cae, name) in cases {
            let dir = tempfile::tempdir().unwrap();
            let exp = copies_experiment(dir.path(), &policies, cae);
            let env = DesignEnv::prepare(&exp, 0);
            assert_eq!(env.copies, CopyScope::AttackerOnly, "{name}");
            let cut = env.simulate(0, 0..exp.users);
            let mut full_env = DesignEnv::prepare(&exp, 0);
            full_env.copies = CopyScope::WithUserWork;
            let full = full_env.simulate(0, 0..exp.users);
            // Strict location enforcement leaves the attacker nothing to compare.
            compared += thefts(&cut).iter().map(|t| t.with_access).sum::<u64>();
            assert!(
                thefts(&cut) == thefts(&full),
                "{name}: exposure moved (cae = {cae})"
            );
            // The cut-down copies did less work for it.
            assert!(cut.total().events < full.total().events, "{name}");
        }
        assert!(compared > 2_000, "too few thefts to compare: {compared}");
    }

    /// Regression: copies once left out the user's work whatever the design. Under the
    /// risky-user policy the user's own sign-in changes the password, which ends the
    /// attacker's password-based artefacts (and remediates the risk): dropping it changed
    /// the exposure. Such a design keeps the user's work in its copies.
    #[test]
    fn a_password_change_at_the_users_sign_in_reaches_the_attacker() {
        let dir = tempfile::tempdir().unwrap();
        let exp = copies_experiment(dir.path(), &baseline(true), true);
        let env = DesignEnv::prepare(&exp, 0);
        assert_eq!(env.copies, CopyScope::WithUserWorkWhenRisky);
        let when_risky = env.simulate(0, 0..exp.users);
        let mut cut_env = DesignEnv::prepare(&exp, 0);
        cut_env.copies = CopyScope::AttackerOnly;
        let cut = cut_env.simulate(0, 0..exp.users);
        assert!(
            thefts(&when_risky) != thefts(&cut),
            "the user's work no longer reaches the attacker: copies could leave it out"
        );
        // Copies where the user's risk stays low can still leave the work out: no sign-in
        // asks for a password change then.
        let mut full_env = DesignEnv::prepare(&exp, 0);
        full_env.copies = CopyScope::WithUserWork;
        let full = full_env.simulate(0, 0..exp.users);
        assert!(thefts(&when_risky) == thefts(&full));
        assert!(when_risky.total().events < full.total().events);
    }

    /// Collects what a run streams, as the CLI's sink would write it.
    #[derive(Default)]
    struct Collect {
        signins: Vec<u8>,
        users: Vec<u8>,
    }

    impl RowSink for Collect {
        fn write(&mut self, signins: &mut LogBuffer, users: &[u8]) -> std::io::Result<()> {
            let LogBuffer::Csv(rows) = signins else {
                panic!("CSV rows asked for");
            };
            self.signins.extend_from_slice(rows);
            self.users.extend_from_slice(users);
            Ok(())
        }
    }

    #[test]
    fn chunks_with_rows_shrink_as_days_grow() {
        assert_eq!(users_per_item_with_rows(7), 32);
        assert_eq!(users_per_item_with_rows(30), 32);
        assert_eq!(users_per_item_with_rows(100), 9);
        assert_eq!(users_per_item_with_rows(3650), 1);
        // Without rows the days do not matter: a design's chunk, shared by the designs
        // run together.
        assert_eq!(users_per_item(1), CHUNK);
        assert_eq!(users_per_item(8), 32);
    }

    /// A run without rows simulates the designs together, user by user, replaying each
    /// user's plans ([`run_together`]); with rows it runs them one after another. The
    /// counts are the same, for designs that differ in policies, in the MFA mix (drawn in
    /// the user's traits) and with a report-only shadow, over several replicates, and in
    /// groups of any size.
    #[test]
    fn designs_run_together_count_as_designs_run_one_by_one() {
        let root = env!("CARGO_MANIFEST_DIR");
        let path = std::path::Path::new(root).join("experiments/quickstart.toml");
        let mut exp = Experiment::load(&path).unwrap();
        exp.users = 300;
        exp.days = 9;
        exp.replicates = 2;
        exp.designs[1].mfa_mix = Some([0.1, 0.2, 0.7]);
        let shadowed = &mut exp.designs[2].policies.policies[0];
        assert_eq!(shadowed.state, PolicyState::Enabled);
        shadowed.state = PolicyState::ReportOnly;
        assert_eq!(exp.simulated_designs(), 6);

        let together = run(&exp, &RunOptions::default(), &|_, _| {}, None).unwrap();
        for group in [1, 2, 3] {
            let mut grouped = RunResult::default();
            run_together(
                &exp,
                &RunOptions::default(),
                &|_, _| {},
                &mut grouped,
                group,
            );
            assert_eq!(grouped, together, "groups of {group} designs");
        }
        let opts = RunOptions {
            per_user: true,
            ..RunOptions::default()
        };
        let mut sink = Collect::default();
        let one_by_one = run(&exp, &opts, &|_, _| {}, Some(&mut sink)).unwrap();
        assert!(
            !sink.users.is_empty(),
            "the second run went design by design"
        );

        assert_eq!(together.cells.len(), 5);
        assert_eq!(together.report_only[2].len(), 2, "the shadow's replicates");
        assert!(together.report_only[0].is_empty());
        assert_eq!(together.cells, one_by_one.cells);
        assert_eq!(together.report_only, one_by_one.report_only);
        assert_eq!(together.users_simulated, 300 * 2 * 6);
        assert_eq!(together.users_simulated, one_by_one.users_simulated);
        assert_eq!(together.user_days_simulated, one_by_one.user_days_simulated);
        assert_eq!(together.events_simulated, one_by_one.events_simulated);
        // The designs differ: the test compares something.
        assert_ne!(together.cells[0], together.cells[3]);
        assert_ne!(together.cells[2], together.report_only[2]);
        // A design whose one policy is report-only enforces nothing: its users live
        // exactly as without policies (common streams, token lifetimes included;
        // regression: keyed by the design index, the two differed by 2.5% in prompts).
        assert_eq!(together.cells[0], together.cells[2]);
    }

    /// The chunk size is a memory bound only: rows, their order and the counts are the
    /// same for any size (chunks of 1, 9 and 32 users of 13 days).
    #[test]
    fn rows_and_counts_do_not_depend_on_the_chunk_size() {
        let dir = tempfile::tempdir().unwrap();
        let exp = copies_experiment(dir.path(), &baseline(true), true);
        let exp = Experiment {
            users: 70,
            days: 13,
            ..exp
        };
        let opts = RunOptions {
            signin_log: true,
            per_user: true,
            ..RunOptions::default()
        };
        let rows = RowsWanted {
            signins: true,
            users: true,
        };
        let env = DesignEnv::prepare(&exp, 0);
        let run = |chunk: u64| {
            let mut sink = Collect::default();
            let mut result = RunResult::default();
            let cells =
                run_design(&env, &opts, rows, chunk, &|_, _| {}, &mut sink, &mut result).unwrap();
            (sink.signins, sink.users, cells, result.events_simulated)
        };
        let (signins, users, cells, events) = run(32);
        assert!(signins.len() > 10_000 && users.len() > 1_000);
        for chunk in [1, 9] {
            let other = run(chunk);
            assert!(
                other.0 == signins,
                "sign-in rows differ with chunks of {chunk}"
            );
            assert!(other.1 == users, "user rows differ with chunks of {chunk}");
            assert_eq!(other.2, cells, "counts differ with chunks of {chunk}");
            assert_eq!(other.3, events);
        }
    }

    #[test]
    fn merging_shards_with_different_cells_is_refused() {
        // Regression: a shard with a deleted cell was silently dropped by `zip`.
        let mut a = result(4, 1);
        assert!(a.merge(&result(4, 2)).is_ok());
        assert_eq!(a.users_simulated, 3);
        assert!(a.merge(&result(3, 1)).is_err());
    }

    #[test]
    fn merging_counts_that_overflow_is_refused() {
        // Regression: overflowing counters wrapped.
        let mut a = result(4, u64::MAX - 1);
        assert!(a.merge(&result(4, 5)).is_err());
    }
}
