//! Sign-in logs as `calibrate` reads them (every format, with and without `--group-by`):
//! rows are read or counted as bad, a file is read or refused; nothing panics, and what is
//! read folds into the per-user summary and its moments.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessionsim::calibrate::fit::{FitOptions, LogSummary};
use sessionsim::calibrate::log_reader::{read_stream, ReadOptions};

fuzz_target!(|data: &[u8]| {
    for group_by in [None, Some("department"), Some("deviceDetail.operatingSystem")] {
        let options = ReadOptions {
            group_by: group_by.map(str::to_string),
            ..ReadOptions::default()
        };
        let mut summary = LogSummary::new(3600);
        let name = std::path::Path::new("fuzz.log");
        if read_stream(name, data, &options, &mut |s| summary.add(&s)).is_ok() {
            let fit = FitOptions::default();
            let views = summary.user_views(&fit);
            let all: Vec<usize> = (0..views.len()).collect();
            let _ = summary.moments(&views, &all, &fit);
            let _ = summary.prompts_by_device(&views);
        }
    }
});
