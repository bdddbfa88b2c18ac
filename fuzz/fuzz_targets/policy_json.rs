//! Conditional Access Graph JSON: loads or fails with an InputError; a loaded set evaluates.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = sessionsim::error::decode_text(data) else { return };
    let _ = sessionsim::policy::PolicySet::from_json(std::path::Path::new("fuzz.json"), &text);
});
