//! Population TOML: parses or fails with an InputError.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sessionsim::world::population::Population::parse(std::path::Path::new("fuzz.toml"), text);
    }
});
