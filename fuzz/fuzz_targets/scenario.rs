//! Scenario TOML: parses or fails with an InputError; a parsed scenario of bounded length runs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("fuzz.toml");
    if let Ok(s) = sessionsim::study::scenario::Scenario::parse(path, text) {
        if s.steps.iter().all(|(t, _)| t.as_secs() < 30 * 86_400) && s.steps.len() < 200 {
            let _ = s.run();
        }
    }
});
