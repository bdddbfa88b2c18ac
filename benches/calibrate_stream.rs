//! Streaming a large sign-in log through `calibrate`'s reader and summary (issue 12): the
//! memory must stay flat however long the log is.
//!
//! A generator writes Graph `signIns` JSON lines (about 3.2 KB a row, like real exports
//! with their policy lists) for 20,000 users over 28 days, as many rows per user-day as the
//! size asks for, straight into the reader: no file, no disk. Peak memory (VmHWM) is
//! printed at 10%, 50% and 100% of the stream.
//!
//! ```text
//! cargo bench --bench calibrate_stream             # 1 GB
//! SESSIONSIM_BENCH_GB=10 cargo bench --bench calibrate_stream
//! ```

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use sessionsim::calibrate::fit::LogSummary;
use sessionsim::calibrate::log_reader::{read_stream, ReadOptions};

const USERS: u64 = 20_000;
const DAYS: u64 = 28;
const APPS: [(&str, &str); 6] = [
    ("Microsoft Teams", "Mobile Apps and Desktop clients"),
    (
        "Office 365 Exchange Online",
        "Mobile Apps and Desktop clients",
    ),
    ("Office 365 SharePoint Online", "Browser"),
    ("OfficeHome", "Browser"),
    ("Windows Sign In", "Mobile Apps and Desktop clients"),
    ("Salesforce", "Browser"),
];
const TRUST: [&str; 4] = [
    "Azure AD joined",
    "Hybrid Azure AD joined",
    "Azure AD registered",
    "",
];

/// Sign-in rows as JSON lines, generated on the fly.
struct Generator {
    target_bytes: u64,
    produced: u64,
    row: u64,
    rows_per_user_day: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Generator {
    fn new(target_bytes: u64) -> Generator {
        let row_bytes = 3_200;
        let rows_per_user_day = (target_bytes / row_bytes / (USERS * DAYS)).max(1);
        Generator {
            target_bytes,
            produced: 0,
            row: 0,
            rows_per_user_day,
            buf: Vec::with_capacity(4096),
            pos: 0,
        }
    }

    fn next_row(&mut self) {
        let r = self.row;
        self.row += 1;
        let user = r % USERS;
        let day = (r / USERS) % DAYS;
        let k = r / (USERS * DAYS);
        let second = 8 * 3600 + (k * 9 * 3600 / self.rows_per_user_day) + (user % 1800);
        let (app, client) = APPS[((user + k) % APPS.len() as u64) as usize];
        let trust = TRUST[(user % 4) as usize];
        let days = 20_458 + day; // 2026-01-05
        let (y, m, d) = sessionsim::engine::calendar::civil_from_days(days as i64);
        let interactive = k.is_multiple_of(7);
        let policies: String = (0..12)
            .map(|i| {
                format!(
                    r#"{{"id":"{i:08}-0000-0000-0000-000000000000","displayName":"CA{i:03} - Baseline policy {i}","enforcedGrantControls":["Mfa"],"enforcedSessionControls":[],"result":"notApplied"}}"#
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        self.buf.clear();
        let _ = std::io::Write::write_fmt(
            &mut self.buf,
            format_args!(
                r#"{{"id":"{r:032x}","createdDateTime":"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z","userDisplayName":"User {user}","userPrincipalName":"user{user}@contoso.example","userId":"{user:08}-1111-2222-3333-444444444444","appId":"00000000-0000-0000-0000-000000000000","appDisplayName":"{app}","ipAddress":"203.0.113.{}","clientAppUsed":"{client}","isInteractive":{interactive},"correlationId":"{r:032x}","conditionalAccessStatus":"success","status":{{"errorCode":0,"failureReason":"Other.","additionalDetails":null}},"deviceDetail":{{"deviceId":"","displayName":"","operatingSystem":"Windows10","browser":"Edge 120.0.0","isCompliant":{},"isManaged":true,"trustType":"{trust}"}},"location":{{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{{"altitude":null,"latitude":47.6,"longitude":-122.1}}}},"authenticationDetails":[{{"authenticationStepDateTime":"2026-01-05T08:00:00Z","authenticationMethod":"Password","authenticationMethodDetail":"Password Hash Sync","succeeded":true,"authenticationStepResultDetail":"Correct password","authenticationStepRequirement":"Primary authentication"}}],"appliedConditionalAccessPolicies":[{policies}]}}"#,
                (second / 3600) % 24,
                (second / 60) % 60,
                second % 60,
                user % 250,
                !user.is_multiple_of(3),
            ),
        );
        self.buf.push(b'\n');
        self.pos = 0;
    }
}

impl Read for Generator {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.produced >= self.target_bytes {
                return Ok(0);
            }
            self.next_row();
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Peak resident memory of this process, from /proc (Linux), in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let gb: f64 = std::env::var("SESSIONSIM_BENCH_GB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let target = (gb * 1e9) as u64;
    let generator = Generator::new(target);
    println!(
        "calibrate_stream: {gb} GB of Graph JSON lines, {USERS} users x {DAYS} days, {} rows per user-day",
        generator.rows_per_user_day
    );
    let mut summary = LogSummary::new(0);
    let started = Instant::now();
    let mut rows = 0u64;
    let total_rows_estimate = target / 3_200;
    let mut marks = [0.1, 0.5].into_iter().peekable();
    let report = read_stream(
        Path::new("(generated)"),
        generator,
        &ReadOptions::default(),
        &mut |s| {
            summary.add(&s);
            rows += 1;
            if let Some(&m) = marks.peek() {
                if rows as f64 >= m * total_rows_estimate as f64 {
                    marks.next();
                    println!(
                        "  {:>3.0}%: {rows} rows, peak memory {:.0} MB",
                        m * 100.0,
                        peak_mb().unwrap_or(f64::NAN)
                    );
                }
            }
        },
    )
    .expect("the generated log reads");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  100%: {} rows ({} bad), {} users; {:.1} s, {:.0} rows/s, {:.0} MB/s; peak memory {:.0} MB",
        report.rows,
        report.bad,
        summary.users(),
        secs,
        report.rows as f64 / secs,
        gb * 1e3 / secs,
        peak_mb().unwrap_or(f64::NAN)
    );
}
