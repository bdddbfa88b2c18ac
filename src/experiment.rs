//! Experiments (`experiments/*.toml`): designs × replicates × users over a population, and
//! the parallel runner that simulates them.
//!
//! Determinism: every user draws from ChaCha8 streams keyed by (seed, stream, replicate,
//! user). Behaviour (persona, device, workdays, theft) uses a stream shared by all designs,
//! so every design sees the same people doing the same things (common random numbers) and
//! differences between designs come from the designs alone. Draws a design can influence
//! (access-token lifetimes) use a stream keyed by the design index. Results are integer
//! accumulators merged in any order, so the output never depends on the thread count.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Deserialize;
use toml::Spanned;

use crate::app::{App, DeviceTrust};
use crate::error::{line_col, read_text, InputError};
use crate::metrics::{add_user, Cell, UserStats};
use crate::model::{
    Action, Credential, Facts, MfaMethod, ModelParams, Profile, RuleTable, TenantSettings,
    TokenMode, UserSetup, UserSim,
};
use crate::policy::{
    CaeMode, LocationContext, Persistence, Policy, PolicySet, RiskLevel, SessionControls, Sif,
    UserIdentity,
};
use crate::population::{draw_workdays, plan_day, plan_risk, Population, UserTraits, Workday};
use crate::scenario::{load_policy_set, resolve};
use crate::threat::plan_theft;
use crate::time::{parse_duration, SimTime, DAY};

/// Largest accepted sizes: beyond them a run would not finish on any machine this tool
/// targets, so the input is almost certainly a typo.
pub const MAX_USERS: u64 = 100_000_000;
pub const MAX_DAYS: u64 = 3_650;
pub const MAX_REPLICATES: u64 = 1_000;
pub const MAX_DESIGNS: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    population: Spanned<String>,
    users: Spanned<i64>,
    days: Spanned<i64>,
    #[serde(default = "one")]
    replicates: Spanned<i64>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    model: ModelParams,
    #[serde(default)]
    access_tokens: Option<Spanned<String>>,
    #[serde(default)]
    design: Vec<RawDesign>,
    #[serde(default)]
    sweep: Option<RawSweep>,
}

/// `[sweep]`: a base design expanded into the grid of every listed value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    /// Prefix of the generated design names.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    policies: Option<Spanned<String>>,
    #[serde(default)]
    tenant: TenantSettings,
    #[serde(default)]
    access_tokens: Option<Spanned<String>>,
    #[serde(default)]
    sign_in_frequency: Vec<Spanned<String>>,
    #[serde(default)]
    persistent_browser: Vec<Spanned<String>>,
    /// `on`, `off`, `strict_location`.
    #[serde(default)]
    cae: Vec<Spanned<String>>,
    #[serde(default)]
    remember_mfa: Vec<Spanned<String>>,
    #[serde(default)]
    token_protection: Vec<bool>,
    /// MFA method mixes that replace every persona's `mfa` shares.
    #[serde(default)]
    mfa: Vec<Spanned<std::collections::BTreeMap<String, f64>>>,
}

fn one() -> Spanned<i64> {
    Spanned::new(0..0, 1)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    name: Spanned<String>,
    #[serde(default)]
    policies: Option<Spanned<String>>,
    #[serde(default)]
    sign_in_frequency: Option<Spanned<String>>,
    #[serde(default)]
    persistent_browser: Option<Spanned<String>>,
    #[serde(default)]
    tenant: TenantSettings,
    #[serde(default)]
    access_tokens: Option<Spanned<String>>,
}

/// One design: a policy set and tenant settings.
#[derive(Clone, Debug)]
pub struct Design {
    pub name: String,
    pub policies: PolicySet,
    /// Where the policies came from, for the manifest.
    pub policies_path: Option<PathBuf>,
    pub sign_in_frequency: Option<Sif>,
    pub persistent_browser: Option<Persistence>,
    pub tenant: TenantSettings,
    pub tokens: TokenMode,
    /// CAE session control and token protection added by a sweep.
    pub cae_mode: CaeMode,
    pub token_protection: bool,
    /// Replaces every persona's MFA method shares (push, number matching, passkey).
    pub mfa_mix: Option<[f64; 3]>,
}

/// A validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub population: Population,
    pub users: u64,
    pub days: u32,
    pub replicates: u32,
    pub seed: u64,
    pub params: ModelParams,
    pub designs: Vec<Design>,
    pub warnings: Vec<String>,
}

struct Ctx<'a> {
    path: &'a Path,
    source: &'a str,
}

impl Ctx<'_> {
    fn at<T>(
        &self,
        s: &Spanned<T>,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> InputError {
        let e = InputError::new(self.path, msg).field(field);
        if s.span().is_empty() {
            return e;
        }
        let (l, c) = line_col(self.source, s.span().start);
        e.position(format!("{l}:{c}"))
    }
}

fn bounded(cx: &Ctx, v: &Spanned<i64>, field: &str, max: u64) -> Result<u64, InputError> {
    let n = *v.get_ref();
    if n < 1 || n as u64 > max {
        return Err(cx.at(
            v,
            field,
            format!("{n} is out of range: between 1 and {max}"),
        ));
    }
    Ok(n as u64)
}

fn parse_tokens(
    cx: &Ctx,
    s: &Spanned<String>,
    field: &str,
    params: &ModelParams,
) -> Result<TokenMode, InputError> {
    match s.get_ref().as_str() {
        "realistic" => Ok(params.realistic_tokens()),
        "idealised" | "idealized" => Ok(TokenMode::Idealised),
        other => match parse_duration(other) {
            Ok(d) if !d.is_zero() => Ok(TokenMode::Fixed(d)),
            _ => Err(cx.at(
                s,
                field,
                format!(
                    "`{other}`: expected `realistic`, `idealised` or a token lifetime like `75m`"
                ),
            )),
        },
    }
}

impl Experiment {
    pub fn load(path: &Path) -> Result<Experiment, InputError> {
        let source = read_text(path)?;
        Experiment::parse(path, &source)
    }

    pub fn parse(path: &Path, source: &str) -> Result<Experiment, InputError> {
        let raw: RawExperiment =
            toml::from_str(source).map_err(|e| InputError::from_toml(path, source, &e))?;
        let cx = Ctx { path, source };
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.')
        {
            return Err(cx.at(
                &raw.name,
                "name",
                "use letters, digits, `-`, `_` and `.` only: the name becomes the output folder",
            ));
        }
        let users = bounded(&cx, &raw.users, "users", MAX_USERS)?;
        let days = bounded(&cx, &raw.days, "days", MAX_DAYS)? as u32;
        let replicates = bounded(&cx, &raw.replicates, "replicates", MAX_REPLICATES)? as u32;
        raw.model
            .check()
            .map_err(|(f, m)| InputError::new(path, m).field(format!("model.{f}")))?;
        let pop_path = resolve(path, raw.population.get_ref());
        if !pop_path.exists() {
            return Err(cx.at(
                &raw.population,
                "population",
                format!(
                    "{} does not exist (paths are relative to the experiment file)",
                    pop_path.display()
                ),
            ));
        }
        let population = Population::load(&pop_path)?;
        let default_tokens = match &raw.access_tokens {
            Some(s) => parse_tokens(&cx, s, "access_tokens", &raw.model)?,
            None => raw.model.realistic_tokens(),
        };
        let mut warnings = Vec::new();
        let mut designs: Vec<Design> = Vec::with_capacity(raw.design.len());
        for (i, d) in raw.design.iter().enumerate() {
            let f = |n: &str| format!("design[{i}].{n}");
            let dname = d.name.get_ref().trim().to_string();
            if dname.is_empty() {
                return Err(cx.at(&d.name, f("name"), "a design needs a name"));
            }
            if designs.iter().any(|x| x.name == dname) {
                return Err(cx.at(
                    &d.name,
                    f("name"),
                    format!("duplicate design name `{dname}`"),
                ));
            }
            let sif = match &d.sign_in_frequency {
                Some(s) => match Sif::parse(s.get_ref()) {
                    Ok(Sif::Periodic(p)) if p.is_zero() => {
                        return Err(cx.at(
                            s,
                            f("sign_in_frequency"),
                            "must be longer than zero (or `every_time`)",
                        ))
                    }
                    Ok(v) => Some(v),
                    Err(e) => return Err(cx.at(s, f("sign_in_frequency"), e.to_string())),
                },
                None => None,
            };
            let persistent = match &d.persistent_browser {
                Some(s) => Some(
                    Persistence::parse(s.get_ref())
                        .map_err(|e| cx.at(s, f("persistent_browser"), e))?,
                ),
                None => None,
            };
            let (mut policies, policies_path) = match &d.policies {
                Some(p) => {
                    let file = resolve(path, p.get_ref());
                    if !file.exists() {
                        return Err(cx.at(
                            p,
                            f("policies"),
                            format!(
                                "{} does not exist (paths are relative to the experiment file)",
                                file.display()
                            ),
                        ));
                    }
                    let (set, w) = load_policy_set(&file)?;
                    warnings.extend(w);
                    (set, Some(file))
                }
                None => (PolicySet::empty(), None),
            };
            if sif.is_some() || persistent.is_some() {
                // The shorthand adds one policy for all users and apps to the design's set.
                policies
                    .policies
                    .extend(PolicySet::shorthand(sif, persistent).policies);
            }
            let tokens = match &d.access_tokens {
                Some(s) => parse_tokens(&cx, s, &f("access_tokens"), &raw.model)?,
                None => default_tokens,
            };
            if !d.tenant.remember_mfa.is_zero() && !policies.is_empty() {
                warnings.push(format!(
                    "{}: design `{dname}`: remember MFA ({}) together with Conditional Access sign-in frequency may prompt users unexpectedly; Microsoft advises turning remember MFA off first",
                    path.display(),
                    d.tenant.remember_mfa
                ));
            }
            designs.push(Design {
                name: dname,
                policies,
                policies_path,
                sign_in_frequency: sif,
                persistent_browser: persistent,
                tenant: d.tenant.clone(),
                tokens,
                cae_mode: CaeMode::Default,
                token_protection: false,
                mfa_mix: None,
            });
        }
        if let Some(sweep) = &raw.sweep {
            for d in expand_sweep(&cx, sweep, &raw.model, default_tokens, &mut warnings)? {
                if designs.iter().any(|x| x.name == d.name) {
                    return Err(InputError::new(path, format!("duplicate design name `{}` from the sweep", d.name)).field("sweep"));
                }
                designs.push(d);
            }
        }
        if designs.is_empty() {
            return Err(InputError::new(path, "an experiment needs at least one [[design]] or a [sweep]").field("design"));
        }
        if designs.len() > MAX_DESIGNS {
            return Err(InputError::new(path, format!("{} designs: at most {MAX_DESIGNS}", designs.len())).field("design"));
        }
        Ok(Experiment {
            path: path.to_path_buf(),
            name,
            description: raw.description,
            population,
            users,
            days,
            replicates,
            seed: raw.seed,
            params: raw.model,
            designs,
            warnings,
        })
    }
}

/// One value of one sweep dimension: its label in the design name and what it sets.
#[derive(Clone, Debug)]
enum SweepValue {
    Sif(Option<Sif>),
    Persist(Option<Persistence>),
    Cae(bool, CaeMode),
    RememberMfa(crate::time::Duration),
    TokenProtection(bool),
    Mfa([f64; 3]),
}

/// Expands `[sweep]` into designs, one per point of the grid, named after their values
/// (`sif=4h,persist=never,cae=strict_location`). Dimensions vary in the order written
/// here, the last fastest.
fn expand_sweep(
    cx: &Ctx,
    sweep: &RawSweep,
    params: &ModelParams,
    default_tokens: TokenMode,
    warnings: &mut Vec<String>,
) -> Result<Vec<Design>, InputError> {
    let mut dims: Vec<Vec<(String, SweepValue)>> = Vec::new();
    let label_none = |t: &str| t == "none";
    if !sweep.sign_in_frequency.is_empty() {
        let mut v = Vec::new();
        for (i, s) in sweep.sign_in_frequency.iter().enumerate() {
            let t = s.get_ref().trim();
            let sif = if label_none(t) {
                None
            } else {
                match Sif::parse(t) {
                    Ok(Sif::Periodic(d)) if d.is_zero() => return Err(cx.at(s, format!("sweep.sign_in_frequency[{i}]"), "must be longer than zero")),
                    Ok(x) => Some(x),
                    Err(e) => return Err(cx.at(s, format!("sweep.sign_in_frequency[{i}]"), e.to_string())),
                }
            };
            v.push((format!("sif={t}"), SweepValue::Sif(sif)));
        }
        dims.push(v);
    }
    if !sweep.persistent_browser.is_empty() {
        let mut v = Vec::new();
        for (i, s) in sweep.persistent_browser.iter().enumerate() {
            let t = s.get_ref().trim();
            let p = if label_none(t) {
                None
            } else {
                Some(Persistence::parse(t).map_err(|e| cx.at(s, format!("sweep.persistent_browser[{i}]"), e))?)
            };
            v.push((format!("persist={t}"), SweepValue::Persist(p)));
        }
        dims.push(v);
    }
    if !sweep.cae.is_empty() {
        let mut v = Vec::new();
        for (i, s) in sweep.cae.iter().enumerate() {
            let t = s.get_ref().trim();
            let val = match t {
                "on" => SweepValue::Cae(true, CaeMode::Default),
                "off" => SweepValue::Cae(false, CaeMode::Disabled),
                "strict_location" => SweepValue::Cae(true, CaeMode::StrictLocation),
                other => return Err(cx.at(s, format!("sweep.cae[{i}]"), crate::app::unknown_name("CAE setting", other, &["on", "off", "strict_location"]))),
            };
            v.push((format!("cae={t}"), val));
        }
        dims.push(v);
    }
    if !sweep.remember_mfa.is_empty() {
        let mut v = Vec::new();
        for (i, s) in sweep.remember_mfa.iter().enumerate() {
            let d = parse_duration(s.get_ref()).map_err(|e| cx.at(s, format!("sweep.remember_mfa[{i}]"), e.to_string()))?;
            v.push((format!("remember_mfa={d}"), SweepValue::RememberMfa(d)));
        }
        dims.push(v);
    }
    if !sweep.token_protection.is_empty() {
        dims.push(
            sweep
                .token_protection
                .iter()
                .map(|b| (format!("token_protection={}", if *b { "on" } else { "off" }), SweepValue::TokenProtection(*b)))
                .collect(),
        );
    }
    if !sweep.mfa.is_empty() {
        let mut v = Vec::new();
        for (i, m) in sweep.mfa.iter().enumerate() {
            let mut shares = [0.0; 3];
            for (k, x) in m.get_ref() {
                let j = MfaMethod::ALL.iter().position(|mm| mm.name() == k).ok_or_else(|| {
                    cx.at(m, format!("sweep.mfa[{i}]"), crate::app::unknown_name("MFA method", k, &["push", "push_number_match", "passkey"]))
                })?;
                if !(0.0..=1.0).contains(x) {
                    return Err(cx.at(m, format!("sweep.mfa[{i}].{k}"), format!("{x} is not between 0 and 1")));
                }
                shares[j] = *x;
            }
            let sum: f64 = shares.iter().sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(cx.at(m, format!("sweep.mfa[{i}]"), format!("shares sum to {sum}, not 1")));
            }
            let label = MfaMethod::ALL
                .iter()
                .zip(shares)
                .filter(|(_, x)| *x > 0.0)
                .map(|(mm, x)| if x >= 1.0 { mm.name().to_string() } else { format!("{}:{x}", mm.name()) })
                .collect::<Vec<_>>()
                .join("+");
            v.push((format!("mfa={label}"), SweepValue::Mfa(shares)));
        }
        dims.push(v);
    }
    if dims.is_empty() {
        return Err(InputError::new(cx.path, "a [sweep] needs at least one list of values (e.g. sign_in_frequency = [\"1h\", \"4h\"])").field("sweep"));
    }
    let points: usize = dims.iter().map(|d| d.len()).product();
    if points > MAX_DESIGNS {
        return Err(InputError::new(cx.path, format!("the sweep makes {points} designs: at most {MAX_DESIGNS}")).field("sweep"));
    }
    let (base_policies, policies_path) = match &sweep.policies {
        Some(p) => {
            let file = resolve(cx.path, p.get_ref());
            if !file.exists() {
                return Err(cx.at(p, "sweep.policies", format!("{} does not exist (paths are relative to the experiment file)", file.display())));
            }
            let (set, w) = load_policy_set(&file)?;
            warnings.extend(w);
            (set, Some(file))
        }
        None => (PolicySet::empty(), None),
    };
    let tokens = match &sweep.access_tokens {
        Some(s) => parse_tokens(cx, s, "sweep.access_tokens", params)?,
        None => default_tokens,
    };
    let mut out = Vec::with_capacity(points);
    for k in 0..points {
        // Mixed-radix digits of k, the last dimension fastest.
        let mut rem = k;
        let mut picks = vec![0; dims.len()];
        for (d, dim) in dims.iter().enumerate().rev() {
            picks[d] = rem % dim.len();
            rem /= dim.len();
        }
        let mut name_parts = Vec::new();
        let mut design = Design {
            name: String::new(),
            policies: base_policies.clone(),
            policies_path: policies_path.clone(),
            sign_in_frequency: None,
            persistent_browser: None,
            tenant: sweep.tenant.clone(),
            tokens,
            cae_mode: CaeMode::Default,
            token_protection: false,
            mfa_mix: None,
        };
        for (d, dim) in dims.iter().enumerate() {
            let (label, value) = &dim[picks[d]];
            name_parts.push(label.clone());
            match value {
                SweepValue::Sif(x) => design.sign_in_frequency = *x,
                SweepValue::Persist(x) => design.persistent_browser = *x,
                SweepValue::Cae(on, mode) => {
                    design.tenant.cae = *on;
                    design.cae_mode = *mode;
                }
                SweepValue::RememberMfa(x) => design.tenant.remember_mfa = *x,
                SweepValue::TokenProtection(x) => design.token_protection = *x,
                SweepValue::Mfa(x) => design.mfa_mix = Some(*x),
            }
        }
        let joined = name_parts.join(",");
        design.name = match &sweep.name {
            Some(prefix) => format!("{prefix}:{joined}"),
            None => joined.clone(),
        };
        let session = SessionControls {
            sign_in_frequency: design.sign_in_frequency,
            persistent_browser: design.persistent_browser,
            cae: design.cae_mode,
            token_protection: design.token_protection,
            ..SessionControls::default()
        };
        if session != SessionControls::default() {
            design.policies.policies.push(Policy::all_users_all_apps("sweep", &format!("sweep: {joined}"), None, session));
        }
        out.push(design);
    }
    Ok(out)
}

/// Command-line overrides and run-time choices.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub users: Option<u64>,
    pub days: Option<u32>,
    pub replicates: Option<u32>,
    pub seed: Option<u64>,
    /// Simulate only the users of shard `k` (1-based) of `n`.
    pub shard: Option<(u32, u32)>,
}

impl Experiment {
    /// Applies command-line overrides, refusing out-of-range values.
    pub fn apply(&mut self, opts: &RunOptions) -> Result<(), InputError> {
        let arg = |m: String| InputError::new("<command line>", m);
        if let Some(u) = opts.users {
            if u == 0 || u > MAX_USERS {
                return Err(arg(format!("--users {u}: between 1 and {MAX_USERS}")));
            }
            self.users = u;
        }
        if let Some(d) = opts.days {
            if d == 0 || d as u64 > MAX_DAYS {
                return Err(arg(format!("--days {d}: between 1 and {MAX_DAYS}")));
            }
            self.days = d;
        }
        if let Some(r) = opts.replicates {
            if r == 0 || r as u64 > MAX_REPLICATES {
                return Err(arg(format!(
                    "--replicates {r}: between 1 and {MAX_REPLICATES}"
                )));
            }
            self.replicates = r;
        }
        if let Some(s) = opts.seed {
            self.seed = s;
        }
        Ok(())
    }
}

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
