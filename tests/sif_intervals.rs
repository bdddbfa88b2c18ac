//! The documented effect of realistic access tokens (MODEL.md §3): with 60–90 min tokens,
//! a 1 h sign-in frequency prompts 1 to 2.5 h apart.

use std::path::Path;

use sessionsim::output::metrics::Group;
use sessionsim::study::experiment::{Experiment, RunOptions};
use sessionsim::study::runner::run;

#[test]
fn one_hour_sif_prompts_one_to_two_and_a_half_hours_apart() {
    let exp = Experiment::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/continuous-1h.toml"
    )))
    .unwrap();
    let result = run(&exp, &RunOptions::default(), &|_, _| {}, None).unwrap();
    let mut g = Group::default();
    for c in &result.cells[0] {
        g.merge(&c.total());
    }
    let bins = g.prompt_intervals.bins();
    let total: u64 = bins.iter().sum();
    assert!(total > 1000, "enough intervals to judge: {total}");
    let below: u64 = bins[..60].iter().sum();
    let above: u64 = bins[151..].iter().sum();
    assert_eq!(below, 0, "no prompts less than 1 h apart");
    assert_eq!(above, 0, "no prompts more than 2.5 h apart");
    // Not a fixed cadence: the gap is set by the random lifetime of the token whose
    // renewal finds the deadline passed.
    let short: u64 = bins[60..75].iter().sum();
    let long: u64 = bins[75..151].iter().sum();
    assert!(short > 0 && long > 0, "short {short}, long {long}");
}

#[test]
fn a_token_renewed_just_before_the_deadline_stretches_the_gap_to_two_and_a_half_hours() {
    // The upper end of the range, scripted: see models/scenarios/realistic-tokens-2h30.toml.
    let scenario = sessionsim::study::scenario::Scenario::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/scenarios/realistic-tokens-2h30.toml"
    )))
    .unwrap();
    let prompts: Vec<String> = scenario
        .run()
        .iter()
        .filter(|r| r.outcome == sessionsim::model::Outcome::Prompt)
        .map(|r| r.at.to_string())
        .collect();
    assert_eq!(prompts, ["00:00", "02:29"]);
}
