//! Results: the accumulators a run streams into ([`metrics`], and the sign-in log and
//! per-user rows, [`signinlog`]), and the files made of them: the CSV tables ([`tables`]),
//! `frontier.svg`, `exposure.svg` and `report.md` ([`report`]), the manifest and the atomic
//! folder ([`files`]).
//!
//! Owns: every number's definition and format. May not simulate: it reads accumulators
//! that `crate::study::runner` filled, in a fixed order, so the bytes depend only on the
//! inputs.

pub mod compare;
pub mod denials;
pub mod files;
pub mod metrics;
pub mod plots;
pub mod report;
pub mod sensitivity;
pub mod signin_parquet;
pub mod signinlog;
pub mod stream;
pub mod tables;

pub use files::{
    check_new_file, check_replaceable, file_sha256, manifest_json, path_sha256, remove_staging,
    same_file, write_dir_atomically, write_file_atomically, OutputDir, RunInfo,
};
pub use tables::{
    breakdown_csv, ci95, dominates, replicates_csv, summarize, summary_csv, survival, t95,
    DesignSummary, Metrics,
};

use crate::study::experiment::Experiment;
use crate::study::runner::RunResult;

/// Writes the summary files of a finished (or merged) run into a staged folder.
pub fn write_results(
    out: &OutputDir,
    exp: &Experiment,
    result: &RunResult,
    shard: Option<(u32, u32)>,
    run: &RunInfo,
) -> anyhow::Result<()> {
    let cx = report::ReportContext {
        shard,
        ..report::ReportContext::default()
    };
    write_results_with(out, exp, result, run, &cx)
}

/// [`write_results`] with what the report says beyond the summaries (the precision a
/// `--precision` run reached, the robustness `sensitivity` found).
pub fn write_results_with(
    out: &OutputDir,
    exp: &Experiment,
    result: &RunResult,
    run: &RunInfo,
    cx: &report::ReportContext,
) -> anyhow::Result<()> {
    let shard = cx.shard;
    check_report_only(exp, result)?;
    let summaries = tables::summarize(exp, result);
    let decision = compare::decide(exp, &summaries);
    out.write("summary.csv", &tables::summary_csv(exp, &summaries)?)?;
    out.write(
        "comparisons.csv",
        &compare::comparisons_csv(&decision, &summaries)?,
    )?;
    out.write("replicates.csv", &tables::replicates_csv(exp, &summaries)?)?;
    out.write("breakdown.csv", &tables::breakdown_csv(exp, result)?)?;
    out.write(
        "manifest.json",
        &files::manifest_json(exp, result, shard, run)?,
    )?;
    let svg = plots::frontier_svg(exp, &summaries)
        .map_err(|e| anyhow::anyhow!("drawing frontier.svg: {e}"))?;
    out.write("frontier.svg", svg.as_bytes())?;
    let svg = plots::exposure_svg(exp, &summaries)
        .map_err(|e| anyhow::anyhow!("drawing exposure.svg: {e}"))?;
    out.write("exposure.svg", svg.as_bytes())?;
    out.write(
        "report.md",
        report::report_with(exp, &summaries, cx).as_bytes(),
    )?;
    Ok(())
}

/// Refuses accumulators whose report-only shadows do not line up with the experiment's
/// designs (merged shards of another tool version, or edited ones): each design with
/// report-only policies has one cell per replicate, shaped like its own; the others none.
fn check_report_only(exp: &Experiment, result: &RunResult) -> anyhow::Result<()> {
    let fits = result.report_only.len() == exp.designs.len()
        && exp
            .designs
            .iter()
            .zip(&result.report_only)
            .zip(&result.cells)
            .all(|((d, shadow), cells)| {
                if d.report_only_count() == 0 {
                    return shadow.is_empty();
                }
                shadow.len() == cells.len()
                    && shadow
                        .iter()
                        .zip(cells)
                        .all(|(a, b)| a.groups.len() == b.groups.len())
            });
    if !fits {
        return Err(crate::error::InputError::new(
            &exp.path,
            "the accumulators' report-only cells do not match the experiment's designs with report-only policies",
        )
        .field("design")
        .into());
    }
    Ok(())
}
