//! A run as one job: simulate an experiment and write every output file, atomically.
//!
//! The binary calls [`run_to_dir`] inside the thread pool it built; everything else (the
//! files, their order, the rows streamed to disk) is decided here.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use crate::model::Actor;
use crate::output::signin_parquet::ParquetLog;
use crate::output::signinlog::{
    drop_attacker_rows, LogBuffer, LogNames, SigninLogFormat, SIGNIN_HEADER, USERS_HEADER,
};
use crate::output::stream::Writeback;
use crate::output::{OutputDir, RunInfo};
use crate::study::experiment::{Experiment, RunOptions};
use crate::study::runner::{self, RowSink, RunResult};

/// Streams the sign-in log and `users.csv` into the staged output folder.
struct FileSink {
    signins: Option<BufWriter<Writeback>>,
    parquet: Option<ParquetLog>,
    users: Option<BufWriter<Writeback>>,
    /// Keep the simulated attackers' rows in the sign-in log (`--signin-log-attackers`).
    attackers: bool,
}

impl RowSink for FileSink {
    fn write(&mut self, signins: &mut LogBuffer, users: &[u8]) -> std::io::Result<()> {
        if !self.attackers {
            // A tenant's log holds its users' sign-ins; the simulated attackers' replays
            // are about half the rows of a run with thefts (issue 35).
            match signins {
                LogBuffer::Csv(rows) => drop_attacker_rows(rows),
                LogBuffer::Typed(rows) => rows.retain(|r| r.actor == Actor::User),
            }
        }
        match signins {
            LogBuffer::Csv(rows) => {
                if let Some(w) = &mut self.signins {
                    w.write_all(rows)?;
                }
            }
            LogBuffer::Typed(rows) => {
                if let Some(w) = &mut self.parquet {
                    w.write(std::mem::take(rows))?;
                }
            }
        }
        if let Some(w) = &mut self.users {
            w.write_all(users)?;
        }
        Ok(())
    }
}

fn open_with_header(
    out: &OutputDir,
    name: &str,
    header: &str,
) -> std::io::Result<BufWriter<Writeback>> {
    let file = Writeback::new(File::create(out.staged(name))?);
    let mut w = BufWriter::with_capacity(1 << 20, file);
    w.write_all(header.as_bytes())?;
    Ok(w)
}

/// The names behind the numbers of typed sign-in rows.
fn log_names(exp: &Experiment) -> LogNames {
    LogNames {
        start_day: exp.clock_start_day(),
        domain: exp.population.domain.clone(),
        designs: exp.designs.iter().map(|d| d.name.clone()).collect(),
        personas: exp
            .population
            .personas
            .iter()
            .map(|p| p.name.clone())
            .collect(),
    }
}

/// What a finished run reports.
pub struct JobReport {
    pub result: RunResult,
    pub run: RunInfo,
    /// The replicates run: the experiment's, or what a precision target reached.
    pub replicates: u32,
    pub precision: Option<crate::output::compare::PrecisionOutcome>,
}

/// Runs `exp` and writes its results into `dir`, replacing it as a whole.
pub fn run_to_dir(
    exp: &Experiment,
    opts: &RunOptions,
    dir: &Path,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<JobReport> {
    use anyhow::Context;
    crate::study::precision::check(exp, opts)?;
    // Wall-clock timing, for the manifest's `run` section only: no result depends on it.
    let started = Instant::now();
    // Its errors name the folder (a bad --out is an input error, exit 2).
    let out = OutputDir::create(dir, opts.force)?;
    let format = opts.signin_log_format;
    let mut sink = FileSink {
        signins: (opts.signin_log && format == SigninLogFormat::Csv)
            .then(|| open_with_header(&out, format.file_name(), SIGNIN_HEADER))
            .transpose()?,
        parquet: (opts.signin_log && format == SigninLogFormat::Parquet)
            .then(|| ParquetLog::create(&out.staged(format.file_name()), log_names(exp), threads))
            .transpose()?,
        users: opts
            .per_user
            .then(|| open_with_header(&out, "users.csv", USERS_HEADER))
            .transpose()?,
        attackers: opts.signin_log_attackers,
    };
    let wants_rows = opts.signin_log || opts.per_user;
    let (result, reached, precision) = if exp.precision.is_some() {
        let (result, reached, outcome) =
            crate::study::precision::run_to_precision(exp, opts, progress)?;
        (result, Some(reached), Some(outcome))
    } else {
        let result = runner::run(
            exp,
            opts,
            progress,
            if wants_rows { Some(&mut sink) } else { None },
        )
        .with_context(|| format!("writing rows into {}", dir.display()))?;
        (result, None, None)
    };
    let exp = reached.as_ref().unwrap_or(exp);
    if let Some(p) = sink.parquet.take() {
        p.finish()
            .with_context(|| format!("writing signins.parquet into {}", dir.display()))?;
    }
    for w in [sink.signins.take(), sink.users.take()]
        .into_iter()
        .flatten()
    {
        w.into_inner()
            .map_err(|e| e.into_error())?
            .into_inner()
            .sync_all()?;
    }
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo {
        threads,
        wall_seconds: wall,
        user_days_per_second: result.user_days_simulated as f64 / wall.max(1e-9),
        events_per_second: result.events_simulated as f64 / wall.max(1e-9),
    };
    let cx = crate::output::report::ReportContext {
        shard: opts.shard,
        precision: precision.clone(),
        robustness: None,
    };
    crate::output::write_results_with(&out, exp, &result, &run, &cx)?;
    if let Some(shard) = opts.shard {
        let file = crate::study::merge::ShardFile::new(exp, shard, &result, wall);
        out.write(
            crate::study::merge::ACCUMULATORS,
            &serde_json::to_vec(&file)?,
        )?;
    }
    out.commit()
        .with_context(|| format!("writing results to {}", dir.display()))?;
    Ok(JobReport {
        result,
        run,
        replicates: exp.replicates,
        precision,
    })
}
