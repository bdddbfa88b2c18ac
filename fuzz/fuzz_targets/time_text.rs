//! Duration and time strings: parse or refuse; what parses prints back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessionsim::engine::time::{parse_duration, parse_time};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(d) = parse_duration(text) {
        assert_eq!(parse_duration(&d.to_string()), Ok(d));
    }
    if let Ok(t) = parse_time(text) {
        assert_eq!(parse_time(&t.to_string()), Ok(t));
    }
});
