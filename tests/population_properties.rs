//! Population-level properties (issue 8): prompt counts are monotone in sign-in frequency
//! with everything else fixed, and shards merged equal a single run, for any shard count.

use std::path::PathBuf;

use proptest::prelude::*;
use sessionsim::study::experiment::{Experiment, RunOptions};
use sessionsim::study::runner::{run, RunResult};

fn experiment(text: &str) -> Experiment {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/generated.toml");
    Experiment::parse(&path, text).unwrap_or_else(|e| panic!("{e}"))
}

fn prompts(result: &RunResult, design: usize) -> u64 {
    result.cells[design].iter().map(|c| c.total().prompts).sum()
}

#[test]
fn prompts_are_monotone_in_sign_in_frequency() {
    // Idealised tokens: the designs differ in the sign-in frequency alone, and every design
    // sees the same users doing the same work (common random numbers).
    let sifs = ["1h", "2h", "4h", "8h", "12h", "1d", "2d", "7d", "30d"];
    for seed in [1u64, 2, 3] {
        let mut text = format!(
            "name = \"mono\"\npopulation = \"../../models/populations/quickstart.toml\"\nusers = 120\ndays = 10\nreplicates = 1\nseed = {seed}\naccess_tokens = \"idealised\"\n"
        );
        for s in sifs {
            text.push_str(&format!(
                "[[design]]\nname = \"{s}\"\nsign_in_frequency = \"{s}\"\n"
            ));
        }
        let exp = experiment(&text);
        let result = run(&exp, &RunOptions::default(), &|_, _| {}, None).unwrap();
        let counts: Vec<u64> = (0..sifs.len()).map(|d| prompts(&result, d)).collect();
        for (i, w) in counts.windows(2).enumerate() {
            assert!(
                w[0] >= w[1],
                "seed {seed}: {} gave {} prompts, {} gave {}: {counts:?}",
                sifs[i],
                w[0],
                sifs[i + 1],
                w[1]
            );
        }
        assert!(
            counts[0] > counts[sifs.len() - 1],
            "the property is not vacuous: {counts:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, rng_seed: proptest::test_runner::RngSeed::Fixed(6182161), ..ProptestConfig::default() })]

    #[test]
    fn shards_merged_equal_a_single_run(shards in 1u32..6, seed in 0u64..1000, users in 1u64..40) {
        let text = format!(
            "name = \"shards\"\npopulation = \"../../models/populations/quickstart.toml\"\nusers = {users}\ndays = 3\nreplicates = 2\nseed = {seed}\n[[design]]\nname = \"a\"\n[[design]]\nname = \"b\"\nsign_in_frequency = \"4h\"\n"
        );
        let exp = experiment(&text);
        let single = run(&exp, &RunOptions::default(), &|_, _| {}, None).unwrap();
        let mut merged = RunResult::default();
        for k in 1..=shards {
            let part = run(&exp, &RunOptions { shard: Some((k, shards)), ..RunOptions::default() }, &|_, _| {}, None).unwrap();
            merged.merge(&part).unwrap();
        }
        prop_assert_eq!(merged, single);
    }
}
