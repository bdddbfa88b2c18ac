//! Experiment TOML: parses or fails with an InputError. Relative paths resolve against the
//! repository's `experiments/` folder, so real populations and policies can be reached.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments/fuzz.toml"));
        let _ = sessionsim::study::experiment::Experiment::parse(path, text);
    }
});
