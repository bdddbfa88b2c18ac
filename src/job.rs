//! A run as one job: simulate an experiment and write every output file, atomically.
//!
//! The binary calls [`run_to_dir`] inside the thread pool it built; everything else (the
//! files, their order, the rows streamed to disk) is decided here.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use crate::experiment::{Experiment, RunOptions};
use crate::output::{self, OutputDir, RunInfo};
use crate::runner::{self, RowSink, RunResult};
use crate::signinlog::{SIGNIN_HEADER, USERS_HEADER};

/// Streams `signins.csv` and `users.csv` into the staged output folder.
struct FileSink {
    signins: Option<BufWriter<File>>,
    users: Option<BufWriter<File>>,
}

impl RowSink for FileSink {
    fn write(&mut self, signins: &[u8], users: &[u8]) -> std::io::Result<()> {
        if let Some(w) = &mut self.signins {
            w.write_all(signins)?;
        }
        if let Some(w) = &mut self.users {
            w.write_all(users)?;
        }
        Ok(())
    }
}

fn open_with_header(out: &OutputDir, name: &str, header: &str) -> std::io::Result<BufWriter<File>> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out.staged(name))?);
    w.write_all(header.as_bytes())?;
    Ok(w)
}

/// What a finished run reports.
pub struct JobReport {
    pub result: RunResult,
    pub run: RunInfo,
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
    // Wall-clock timing, for the manifest's `run` section only: no result depends on it.
    let started = Instant::now();
    let out = OutputDir::create(dir)
        .with_context(|| format!("creating the output folder {}", dir.display()))?;
    let mut sink = FileSink {
        signins: opts
            .signin_log
            .then(|| open_with_header(&out, "signins.csv", SIGNIN_HEADER))
            .transpose()?,
        users: opts
            .per_user
            .then(|| open_with_header(&out, "users.csv", USERS_HEADER))
            .transpose()?,
    };
    let wants_rows = opts.signin_log || opts.per_user;
    let result = runner::run(
        exp,
        opts,
        progress,
        if wants_rows { Some(&mut sink) } else { None },
    )
    .with_context(|| format!("writing rows into {}", dir.display()))?;
    for w in [sink.signins.take(), sink.users.take()]
        .into_iter()
        .flatten()
    {
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo {
        threads,
        wall_seconds: wall,
        user_days_per_second: result.user_days_simulated as f64 / wall.max(1e-9),
        events_per_second: result.events_simulated as f64 / wall.max(1e-9),
    };
    write_results(&out, exp, &result, opts.shard, &run)?;
    if let Some(shard) = opts.shard {
        let file = crate::merge::ShardFile::new(exp, shard, &result, wall);
        out.write(crate::merge::ACCUMULATORS, &serde_json::to_vec(&file)?)?;
    }
    out.commit()
        .with_context(|| format!("writing results to {}", dir.display()))?;
    Ok(JobReport { result, run })
}

/// Writes the summary files of a finished (or merged) run into a staged folder.
pub fn write_results(
    out: &OutputDir,
    exp: &Experiment,
    result: &RunResult,
    shard: Option<(u32, u32)>,
    run: &RunInfo,
) -> anyhow::Result<()> {
    let summaries = output::summarize(exp, result);
    out.write("summary.csv", &output::summary_csv(exp, &summaries)?)?;
    out.write("replicates.csv", &output::replicates_csv(exp, &summaries)?)?;
    out.write("breakdown.csv", &output::breakdown_csv(exp, result)?)?;
    out.write(
        "manifest.json",
        &output::manifest_json(exp, result, shard, run)?,
    )?;
    let svg = crate::report::frontier_svg(exp, &summaries)
        .map_err(|e| anyhow::anyhow!("drawing frontier.svg: {e}"))?;
    out.write("frontier.svg", svg.as_bytes())?;
    let svg = crate::report::exposure_svg(exp, &summaries)
        .map_err(|e| anyhow::anyhow!("drawing exposure.svg: {e}"))?;
    out.write("exposure.svg", svg.as_bytes())?;
    out.write(
        "report.md",
        crate::report::report_md(exp, &summaries).as_bytes(),
    )?;
    Ok(())
}
