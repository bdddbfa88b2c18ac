//! Bounded fuzzing of the text parsers and loaders: durations, times, scenarios,
//! populations and experiments. Arbitrary text, and real files with random edits, either
//! parse or fail with an `InputError` naming the file; nothing panics or hangs, and a
//! scenario that parses also runs. (Policy JSON is fuzzed in `policy_fuzz.rs`; longer
//! campaigns use the cargo-fuzz targets in `fuzz/`.)

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sessionsim::engine::time::{parse_duration, parse_time};
use sessionsim::study::experiment::Experiment;
use sessionsim::study::scenario::Scenario;
use sessionsim::world::population::Population;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// A random edit of a valid file: delete, insert or replace a span, or swap a token for one
/// of the values the parsers treat specially.
fn mutated(base: String) -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "\"\"",
        "-1",
        "0",
        "1e309",
        "\"99999999d\"",
        "\"25:61\"",
        "\"every_time\"",
        "[]",
        "{}",
        "\"unmanaged\"",
        "\"hybrid_join\"",
        "nan",
        "true",
        "\"2d 04:45\"",
        "\"0s\"",
        "[[step]]",
        "\"\\u0000\"",
        "\"sharepont\"",
        "1.5",
        "\"1h30m\"",
        "9223372036854775807",
    ]);
    let len = base.len().max(1);
    (0..len, 0..len, 0u8..4, tokens, "[ -~\\n]{0,8}").prop_map(move |(a, b, kind, token, noise)| {
        let (lo, hi) = (a.min(b), a.max(b).min(a.min(b) + 24));
        let mut s = base.clone();
        let (lo, hi) = (floor(&s, lo), floor(&s, hi));
        match kind {
            0 => s.replace_range(lo..hi, ""),
            1 => s.insert_str(lo, &noise),
            2 => s.replace_range(lo..hi, token),
            _ => s.replace_range(lo..hi, &noise),
        }
        s
    })
}

fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, rng_seed: proptest::test_runner::RngSeed::Fixed(6182161), ..ProptestConfig::default() })]

    #[test]
    fn durations_and_times_never_panic(text in "\\PC{0,16}") {
        if let Ok(d) = parse_duration(&text) {
            prop_assert_eq!(parse_duration(&d.to_string()), Ok(d));
        }
        if let Ok(t) = parse_time(&text) {
            prop_assert_eq!(parse_time(&t.to_string()), Ok(t));
        }
    }

    #[test]
    fn durations_and_times_from_their_alphabet(text in "[0-9dhms: ]{0,12}") {
        let _ = parse_duration(&text);
        let _ = parse_time(&text);
    }

    #[test]
    fn mutated_scenarios_parse_or_fail_cleanly_and_run(text in mutated(read("models/scenarios/seed-2-background-upload.toml"))) {
        let path = root().join("models/scenarios/fuzz.toml");
        match Scenario::parse(&path, &text) {
            Ok(s) => {
                // Keep the run bounded: mutations can stretch a step to decades.
                if s.steps.iter().all(|(t, a)| t.as_secs() < 400 * 86_400 && !long(a)) {
                    let records = s.run();
                    prop_assert!(records.windows(2).all(|w| w[0].at <= w[1].at));
                }
            }
            Err(e) => prop_assert_eq!(e.file, path),
        }
    }

    #[test]
    fn arbitrary_text_as_a_scenario_fails_cleanly(text in "\\PC{0,200}") {
        let path = Path::new("x.toml");
        if let Err(e) = Scenario::parse(path, &text) {
            prop_assert_eq!(e.file.as_path(), path);
        }
    }

    #[test]
    fn mutated_populations_parse_or_fail_cleanly(text in mutated(read("models/populations/byod.toml"))) {
        let path = root().join("models/populations/fuzz.toml");
        if let Err(e) = Population::parse(&path, &text) {
            prop_assert_eq!(e.file, path);
        }
    }

    #[test]
    fn mutated_experiments_parse_or_fail_cleanly(text in mutated(read("experiments/sif-sweep.toml"))) {
        let path = root().join("experiments/fuzz.toml");
        if let Err(e) = Experiment::parse(&path, &text) {
            // The error names the experiment, or the file it refers to.
            prop_assert!(e.file == path || e.file.starts_with(root().join("models")), "{}", e);
        }
    }
}

fn long(a: &sessionsim::model::Action) -> bool {
    use sessionsim::model::Action::*;
    match a {
        Use { until, .. } | Background { until, .. } | AttackerUse { until, .. } => {
            until.as_secs() > 400 * 86_400
        }
        _ => false,
    }
}
