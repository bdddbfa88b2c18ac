//! Sharded runs: `run --shard K/N` simulates the users `u` with `u % N == K - 1` and saves
//! its integer accumulators; `merge` adds the shards up and writes the files a single run
//! would have written. Because every user's streams depend only on (seed, design,
//! replicate, user) and accumulators are integers, the merged files are byte-identical to
//! an unsharded run (the manifest's `run` section and `wall_seconds` excepted).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{read_text, InputError};
use crate::output::{file_sha256, path_sha256, OutputDir, RunInfo};
use crate::study::experiment::{Experiment, RunOptions};
use crate::study::runner::RunResult;

/// The file a shard writes beside its results.
pub const ACCUMULATORS: &str = "accumulators.json";

/// What a shard saved: enough to check that shards belong together, and to finish the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    pub tool_version: String,
    /// The experiment path as the run was given it (the manifest shows it), and absolute.
    pub experiment_arg: PathBuf,
    pub experiment: PathBuf,
    pub experiment_sha256: Option<String>,
    pub population_sha256: Option<String>,
    /// SHA-256 of each design's policy file or folder (none for designs without one).
    pub policies_sha256: Vec<Option<String>>,
    pub users: u64,
    pub days: u32,
    pub replicates: u32,
    pub seed: u64,
    /// How users started (`--start`, `--warmup`): shards of one run must agree. Shards
    /// written before the steady start have none: a cold start without warm-up.
    #[serde(default)]
    pub steady_start: bool,
    #[serde(default)]
    pub warmup_days: u32,
    /// Some design's policy folder had files that failed to load, which the run left
    /// out (`--skip-invalid`): the merge loads the experiment the same way.
    #[serde(default)]
    pub policy_files_left_out: bool,
    pub designs: Vec<String>,
    pub shard: (u32, u32),
    pub wall_seconds: f64,
    pub result: RunResult,
    /// SHA-256 of `result` as written: an edited counter is refused.
    pub result_sha256: String,
}

/// The checksum of a shard's accumulators.
fn result_checksum(result: &RunResult) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(result).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ShardFile {
    pub fn new(exp: &Experiment, shard: (u32, u32), result: &RunResult, wall_seconds: f64) -> Self {
        ShardFile {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            experiment_arg: exp.path.clone(),
            experiment: std::fs::canonicalize(&exp.path).unwrap_or_else(|_| exp.path.clone()),
            experiment_sha256: file_sha256(&exp.path),
            population_sha256: file_sha256(&exp.population.path),
            policies_sha256: exp
                .designs
                .iter()
                .map(|d| d.policies_path.as_deref().and_then(path_sha256))
                .collect(),
            users: exp.users,
            days: exp.days,
            replicates: exp.replicates,
            seed: exp.seed,
            steady_start: exp.steady_start,
            warmup_days: exp.warmup_days,
            policy_files_left_out: exp.designs.iter().any(|d| !d.policies_left_out.is_empty()),
            designs: exp.designs.iter().map(|d| d.name.clone()).collect(),
            shard,
            wall_seconds,
            result: result.clone(),
            result_sha256: result_checksum(result),
        }
    }

    /// Everything that must agree between shards of one run.
    fn identity(&self) -> impl PartialEq + std::fmt::Debug + '_ {
        (
            &self.tool_version,
            &self.experiment_sha256,
            &self.population_sha256,
            &self.policies_sha256,
            self.users,
            self.days,
            self.replicates,
            self.seed,
            // How the run started and loaded (nested: tuples compare up to 12 fields).
            (
                self.steady_start,
                self.warmup_days,
                self.policy_files_left_out,
            ),
            &self.designs,
            self.shard.1,
        )
    }
}

fn load_shard(dir: &Path) -> Result<ShardFile, InputError> {
    let path = dir.join(ACCUMULATORS);
    let text = read_text(&path).map_err(|e| {
        InputError::new(
            &path,
            format!(
                "{}: is {} the output of `run --shard K/N`?",
                e.message,
                dir.display()
            ),
        )
    })?;
    let shard: ShardFile = serde_json::from_str(&text).map_err(|e| {
        InputError::new(&path, format!("not a shard accumulator file: {e}")).position(format!(
            "{}:{}",
            e.line(),
            e.column()
        ))
    })?;
    if result_checksum(&shard.result) != shard.result_sha256 {
        return Err(InputError::new(
            &path,
            "the accumulators do not match their checksum: the file was edited or damaged",
        )
        .field("result"));
    }
    Ok(shard)
}

/// The largest number in a shard's accumulators.
fn largest_count(result: &RunResult) -> u64 {
    fn walk(v: &serde_json::Value) -> u64 {
        match v {
            serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
            serde_json::Value::Array(a) => a.iter().map(walk).max().unwrap_or(0),
            serde_json::Value::Object(o) => o.values().map(walk).max().unwrap_or(0),
            _ => 0,
        }
    }
    serde_json::to_value(result).map_or(0, |v| walk(&v))
}

/// What every run's accumulators satisfy, checked on each shard before any is added:
/// each theft ends or is censored once; thefts with access, contained within 1 h and 24 h,
/// and holding each artefact are among the thefts; users with a prompt rate among the
/// users; no histogram's total overflows. A shard that breaks one was edited, and
/// adding it would give numbers no run can (or overflow where no sum is checked).
fn check_counts(result: &RunResult) -> Result<(), String> {
    use crate::output::metrics::Group;
    fn total(mut bins: impl Iterator<Item = u64>) -> Option<u64> {
        bins.try_fold(0u64, |a, b| a.checked_add(b))
    }
    let check = |g: &Group| -> Result<(), String> {
        let rated = total(g.user_rate.bins().iter().copied())
            .ok_or("the prompt-rate histogram's total overflows")?;
        if rated > g.users {
            return Err(format!("{rated} users with a prompt rate, of {}", g.users));
        }
        total(g.prompt_intervals.bins().iter().copied())
            .ok_or("the prompt-interval histogram's total overflows")?;
        for (m, t) in crate::model::Mechanism::ALL.iter().zip(&g.thefts) {
            let ended = total(t.ended.bins.values().copied());
            let censored = total(t.censored.bins.values().copied());
            let finished = ended.zip(censored).and_then(|(a, b)| a.checked_add(b));
            if finished != Some(t.thefts) {
                return Err(format!(
                    "{}: {} thefts, but {} exposures",
                    m.name(),
                    t.thefts,
                    finished.map_or("overflowing".to_string(), |f| f.to_string())
                ));
            }
            for (what, n) in [
                ("with access", t.with_access),
                ("contained_1h", t.contained_1h),
                ("contained_24h", t.contained_24h),
                ("with a cookie", t.by_artefact[0]),
                ("with a refresh token", t.by_artefact[1]),
                ("with a PRT", t.by_artefact[2]),
            ] {
                if n > t.thefts {
                    return Err(format!("{}: {n} thefts {what}, of {}", m.name(), t.thefts));
                }
            }
        }
        Ok(())
    };
    for (d, reps) in result.cells.iter().chain(&result.report_only).enumerate() {
        for (r, cell) in reps.iter().enumerate() {
            for (i, g) in cell.groups.iter().enumerate() {
                check(g).map_err(|e| format!("cell {d}/{r}, group {i}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Merges shard folders into `out`, as one unit.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> anyhow::Result<RunResult> {
    // A bad --out is refused before any work; one of the shards as --out would be
    // replaced by the merge (issue 35: its signins.csv and accumulators.json were lost).
    let out_canonical = std::fs::canonicalize(out).ok();
    for dir in dirs {
        let inside = match (&out_canonical, std::fs::canonicalize(dir)) {
            (Some(o), Ok(d)) => d.starts_with(o),
            _ => false,
        };
        if inside {
            return Err(InputError::new(
                out,
                format!(
                    "is, or holds, the shard folder {} that merge reads: the merged results would replace it; give another --out",
                    dir.display()
                ),
            )
            .field("--out")
            .into());
        }
    }
    crate::output::check_replaceable(out, force)?;
    let shards: Vec<ShardFile> = dirs
        .iter()
        .map(|d| load_shard(d))
        .collect::<Result<_, _>>()?;
    let first = shards.first().ok_or_else(|| {
        InputError::new("<command line>", "merge needs at least one shard folder")
    })?;
    let n = first.shard.1;
    // A set of the given shard numbers, not a table of all `n`: a tampered count must not
    // make us allocate for it.
    let mut seen = std::collections::BTreeSet::new();
    for (s, dir) in shards.iter().zip(dirs) {
        if s.identity() != first.identity() {
            return Err(InputError::new(
                dir.join(ACCUMULATORS),
                format!("this shard belongs to a different run than {} (experiment, population, policy files, seed, size, start, designs or shard count differ)", dirs[0].display()),
            )
            .into());
        }
        let k = s.shard.0;
        if k == 0 || k > n || !seen.insert(k) {
            return Err(InputError::new(
                dir.join(ACCUMULATORS),
                format!("shard {k}/{n} is given twice or is out of range"),
            )
            .into());
        }
    }
    // The first gap is at most one past the shards given.
    if let Some(missing) = (1..=n).find(|k| !seen.contains(k)) {
        return Err(
            InputError::new("<command line>", format!("shard {missing}/{n} is missing")).into(),
        );
    }
    for (s, dir) in shards.iter().zip(dirs) {
        check_counts(&s.result).map_err(|why| {
            InputError::new(
                dir.join(ACCUMULATORS),
                format!("shard {}/{n}'s accumulators are inconsistent: {why}; the file was edited or damaged", s.shard.0),
            )
        })?;
    }
    // Add up in shard order (integers: any order gives the same sums), each shard with
    // its own folder (issue 35: the folders were paired in the command line's order, so
    // a message named another shard).
    let mut ordered: Vec<(&ShardFile, &PathBuf)> = shards.iter().zip(dirs).collect();
    ordered.sort_by_key(|(s, _)| s.shard.0);
    let mut total = RunResult::default();
    for (s, _) in &ordered {
        if let Err(why) = total.merge(&s.result) {
            // The shard that holds the largest count is the one that does not fit.
            let (s, dir) = ordered
                .iter()
                .max_by_key(|(s, _)| (largest_count(&s.result), std::cmp::Reverse(s.shard.0)))
                .copied()
                .unwrap_or((s, &dirs[0]));
            return Err(InputError::new(
                dir.join(ACCUMULATORS),
                format!(
                    "cannot add shard {}/{n}: {why} (it holds a count of {}, more than any run produces; the file was edited or damaged)",
                    s.shard.0,
                    largest_count(&s.result)
                ),
            )
            .into());
        }
    }
    let ordered: Vec<&ShardFile> = ordered.into_iter().map(|(s, _)| s).collect();
    // The path as given when merging from the same folder (so the manifest matches a
    // single run's), else the absolute one.
    let path = if first.experiment_arg.exists() {
        &first.experiment_arg
    } else {
        &first.experiment
    };
    // Shards that left broken policy files out (`--skip-invalid`) are merged with the
    // experiment loaded the same way; the folders' fingerprints below cover those files.
    let skip_before = crate::policy::skip_invalid();
    crate::policy::set_skip_invalid(skip_before || first.policy_files_left_out);
    let loaded = Experiment::load(path);
    crate::policy::set_skip_invalid(skip_before);
    let mut exp = loaded?;
    exp.apply(&RunOptions {
        users: Some(first.users),
        days: Some(first.days),
        replicates: Some(first.replicates),
        seed: Some(first.seed),
        steady_start: Some(first.steady_start),
        warmup_days: Some(first.warmup_days),
        ..RunOptions::default()
    })?;
    let policies: Vec<Option<String>> = exp
        .designs
        .iter()
        .map(|d| d.policies_path.as_deref().and_then(path_sha256))
        .collect();
    if file_sha256(&exp.path) != first.experiment_sha256
        || file_sha256(&exp.population.path) != first.population_sha256
        || policies != first.policies_sha256
    {
        return Err(InputError::new(
            &exp.path,
            "the experiment, its population or a design's policy file changed since the shards ran",
        )
        .into());
    }
    // The cells must be the experiment's: designs × replicates × device types × personas.
    let groups = crate::world::app::DeviceTrust::ALL.len() * exp.population.personas.len();
    let fits = total.cells.len() == exp.designs.len()
        && total.cells.iter().all(|reps| {
            reps.len() == exp.replicates as usize && reps.iter().all(|c| c.groups.len() == groups)
        });
    if !fits {
        return Err(InputError::new(
            dirs[0].join(ACCUMULATORS),
            "the shards' cells do not match the experiment's designs, replicates and personas",
        )
        .into());
    }
    let wall: f64 = ordered.iter().map(|s| s.wall_seconds).sum();
    let run = RunInfo {
        threads: 0,
        wall_seconds: wall,
        user_days_per_second: total.user_days_simulated as f64 / wall.max(1e-9),
        events_per_second: total.events_simulated as f64 / wall.max(1e-9),
    };
    let staged = OutputDir::create(out, force)?;
    crate::output::write_results(&staged, &exp, &total, None, &run)?;
    staged.commit()?;
    Ok(total)
}
