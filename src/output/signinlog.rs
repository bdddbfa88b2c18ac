//! The simulated sign-in log (`signins.csv`, `--signin-log`) and the per-user table
//! (`users.csv`, `--per-user`).
//!
//! Column names follow Entra's sign-in log where one fits (`createdDateTime`,
//! `userPrincipalName`, `appDisplayName`, `clientAppUsed`, `isInteractive`,
//! `deviceTrustType`, `status_errorCode`, `conditionalAccessStatus`,
//! `sessionLifetimePolicy`, `authenticationRequirement`, `isCompliant`,
//! `authenticationMethod`, `mfaAuthMethod`, `networkType`), so the same queries work on
//! both, and `calibrate` can fit a population from a simulated log as from a real one. The
//! simulator's own columns (`design`, `replicate`, `persona`, `actor`, `outcome`, `reason`)
//! come last.

use crate::engine::calendar::{civil_from_days, iso8601};
use crate::engine::time::{SimTime, DAY};
use crate::model::{Access, Actor, Credential, MfaMethod, Observer, Outcome, Reason, Record};
use crate::policy::Sif;
use crate::world::app::{App, Client, DeviceTrust};

/// The header of `signins.csv`.
pub const SIGNIN_HEADER: &str = "createdDateTime,userPrincipalName,appDisplayName,clientAppUsed,isInteractive,deviceTrustType,status_errorCode,conditionalAccessStatus,sessionLifetimePolicy,authenticationRequirement,isCompliant,authenticationMethod,mfaAuthMethod,networkType,design,replicate,persona,actor,outcome,reason\n";

/// The file format of the sign-in log (`--signin-log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigninLogFormat {
    /// `signins.csv`.
    #[default]
    Csv,
    /// `signins.parquet` ([`crate::output::signin_parquet`]).
    Parquet,
}

impl SigninLogFormat {
    /// Reads `csv` or `parquet`.
    pub fn parse(text: &str) -> Result<SigninLogFormat, crate::error::InputError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(SigninLogFormat::Csv),
            "parquet" => Ok(SigninLogFormat::Parquet),
            _ => Err(crate::error::InputError::new(
                "<command line>",
                format!(
                    "`{}` is not a sign-in log format: give csv or parquet",
                    crate::error::clip(text, 40)
                ),
            )
            .field("--signin-log-format")),
        }
    }

    /// The log's file name in the output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            SigninLogFormat::Csv => "signins.csv",
            SigninLogFormat::Parquet => "signins.parquet",
        }
    }
}

/// The header of `users.csv`.
pub const USERS_HEADER: &str = "design,replicate,user,persona,device,compliant,credential,mfa_method,active_days,prompts,mfa_prompts,unintended_prompts,evaluations,attacks,thefts,exposure_hours,thefts_censored\n";

/// The error code Entra logs for an evaluation with this outcome and reason (see
/// `docs/model.md`, "Sign-in log"). Silent successes and completed prompts log 0 in their
/// success row; a prompt is logged by its interrupt code, which is what analysts count.
pub fn error_code(outcome: Outcome, reason: Reason) -> u32 {
    match (outcome, reason) {
        (Outcome::Silent, _) => 0,
        (_, Reason::SifExpired | Reason::EveryTime) => {
            if outcome == Outcome::Deferred {
                70043 // refresh token expired by sign-in frequency
            } else {
                70044 // session expired by sign-in frequency
            }
        }
        // MFA aged out under remember-MFA.
        (_, Reason::RememberMfaExpired) => 50078,
        // MFA required: 50076 on a non-interactive refresh, 50074 interactively.
        (Outcome::Deferred, Reason::MfaRequired | Reason::MfaSessionsRevoked) => 50076,
        (_, Reason::MfaRequired | Reason::MfaSessionsRevoked) => 50074,
        (_, Reason::PasswordChanged) => 50133,
        (_, Reason::SessionRevoked | Reason::CaeRevoked) => 50173,
        (_, Reason::AccountDisabled) => 50057,
        (_, Reason::BlockedByPolicy | Reason::LocationBlocked) => 53003,
        (_, Reason::GrantNotSatisfied) => 53000,
        (_, Reason::PasswordChangeRequired) => 50142,
        // The refresh token or session expired from inactivity.
        (_, Reason::SessionExpired | Reason::TokenExpired) => 700082,
        (_, Reason::TokenProtection | Reason::DeviceNotTrusted) => 50097,
        // No session (never signed in, or the browser closed on a non-persistent cookie).
        (_, Reason::InitialSignIn | Reason::BrowserClosed) => 50058,
        _ => 0,
    }
}

/// What identifies the user's rows in the log.
pub struct LogUser<'a> {
    pub start_day: i64,
    /// The user's number, and its name in the log ([`user_principal_name`]; only CSV rows
    /// carry the text).
    pub user: u64,
    pub upn: &'a str,
    /// The user's device, credential and place, as the user's rows show them.
    pub side: UserSide,
    /// The design's name, and its place in the experiment (what typed rows carry).
    pub design: &'a str,
    pub design_index: u32,
    pub replicate: u32,
    /// The user's persona (a simulator column: `calibrate --group-by persona` reads it),
    /// and its place in the population.
    pub persona: &'a str,
    pub persona_index: u32,
    /// The user's own rows from `from` (the end of the warm-up) and before `until` are
    /// logged (the run's horizon; zero in the copy that follows a theft, whose user rows
    /// are another timeline).
    pub from: SimTime,
    pub until: SimTime,
}

/// The log's name for user number `user`.
pub fn user_principal_name(user: u64, domain: &str) -> String {
    format!("user{user}@{domain}")
}

/// The text columns of a [`LogRow`], in `signins.csv`'s order.
pub const TEXT_COLUMNS: [&str; 12] = [
    "appDisplayName",
    "clientAppUsed",
    "deviceTrustType",
    "conditionalAccessStatus",
    "sessionLifetimePolicy",
    "authenticationRequirement",
    "authenticationMethod",
    "mfaAuthMethod",
    "networkType",
    "actor",
    "outcome",
    "reason",
];

/// One row of the sign-in log with its values typed: what a writer other than CSV
/// (Parquet) takes, so it need not parse text back. The user, design and persona are
/// numbers; the writer knows their names ([`LogNames`]). The text columns are kept as the
/// model's own small values and named by [`LogRow::text`] when written: a row is 48
/// bytes, not the 232 of twelve `&str`s, and rows waiting for the writer were a third of
/// a run's peak memory with a Parquet log (`docs/performance.md`, ninth session).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LogRow {
    pub at: SimTime,
    pub user: u64,
    pub design: u32,
    pub replicate: u32,
    pub persona: u32,
    /// `None` for Windows sign-in.
    pub app: Option<App>,
    pub client: Client,
    pub actor: Actor,
    pub outcome: Outcome,
    pub reason: Reason,
    pub ca_status: CaStatus,
    pub session_policy: SessionPolicy,
    /// `authenticationRequirement` is multi-factor.
    pub mfa_required: bool,
    /// The user's device, credential and place: `None` in attacker rows (the attacker's
    /// are not the user's).
    pub user_side: Option<UserSide>,
}

/// The user's own columns of a row: the same in all of a user's rows.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct UserSide {
    pub device: DeviceTrust,
    pub compliant: bool,
    pub credential: Credential,
    pub mfa_method: MfaMethod,
    pub trusted_location: bool,
}

/// `conditionalAccessStatus`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CaStatus {
    /// No policy was consulted (a cached token answered).
    NotEvaluated,
    Failure,
    Success,
    NotApplied,
}

impl CaStatus {
    pub fn name(self) -> &'static str {
        match self {
            CaStatus::NotEvaluated => "",
            CaStatus::Failure => "failure",
            CaStatus::Success => "success",
            CaStatus::NotApplied => "notApplied",
        }
    }
}

/// `sessionLifetimePolicy`: the session control that decided the evaluation, if any.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionPolicy {
    None,
    EveryTime,
    Periodic,
    RememberMfa,
}

impl SessionPolicy {
    pub fn name(self) -> &'static str {
        match self {
            SessionPolicy::None => "",
            SessionPolicy::EveryTime => "signInFrequencyEveryTime",
            SessionPolicy::Periodic => "signInFrequencyPeriodicReauthentication",
            SessionPolicy::RememberMfa => "rememberMultifactorAuthenticationOnTrustedDevices",
        }
    }
}

/// What a typed row's numbers stand for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogNames {
    /// The run's first day (days since 1970-01-01).
    pub start_day: i64,
    /// The users' domain ([`user_principal_name`]).
    pub domain: String,
    pub designs: Vec<String>,
    pub personas: Vec<String>,
}

/// The sign-in log rows of some users, as the chosen writer takes them: CSV text
/// (`signins.csv`, and `calibrate`'s own simulations) or typed rows (`signins.parquet`).
#[derive(Debug, PartialEq)]
pub enum LogBuffer {
    Csv(Vec<u8>),
    Typed(Vec<LogRow>),
}

impl LogBuffer {
    pub fn new(format: SigninLogFormat) -> LogBuffer {
        match format {
            SigninLogFormat::Csv => LogBuffer::Csv(Vec::new()),
            SigninLogFormat::Parquet => LogBuffer::Typed(Vec::new()),
        }
    }

    /// An empty buffer of the same form.
    pub fn new_like(&self) -> LogBuffer {
        match self {
            LogBuffer::Csv(_) => LogBuffer::Csv(Vec::new()),
            LogBuffer::Typed(_) => LogBuffer::Typed(Vec::new()),
        }
    }

    /// Moves `other`'s rows after this buffer's (both must have the same form).
    pub fn append(&mut self, other: &mut LogBuffer) {
        match (self, other) {
            (LogBuffer::Csv(a), LogBuffer::Csv(b)) => a.append(b),
            (LogBuffer::Typed(a), LogBuffer::Typed(b)) => a.append(b),
            _ => debug_assert!(false, "sign-in log buffers of two forms"),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            LogBuffer::Csv(b) => b.is_empty(),
            LogBuffer::Typed(r) => r.is_empty(),
        }
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::Csv(Vec::new())
    }
}

/// An observer that forwards to an inner observer and appends log rows.
pub struct Logging<'a, O> {
    pub inner: O,
    pub user: LogUser<'a>,
    pub out: &'a mut LogBuffer,
    pub rows: u64,
}

/// How Entra's sign-in log names a first-factor credential (`authenticationDetails`'
/// `authenticationMethod`).
pub fn credential_log_name(c: Credential) -> &'static str {
    match c {
        Credential::Password => "Password",
        Credential::WindowsHello => "Windows Hello for Business",
        Credential::Passkey => "Passkey (device-bound)",
    }
}

/// How Entra's sign-in log names a second-factor method. Number matching is not shown in
/// the log: every Authenticator push reads "Mobile app notification".
pub fn mfa_log_name(m: MfaMethod) -> &'static str {
    match m {
        MfaMethod::Push | MfaMethod::PushNumberMatch => "Mobile app notification",
        MfaMethod::Passkey => "Passkey (device-bound)",
    }
}

fn session_policy(r: &Record) -> SessionPolicy {
    match (r.reason, r.requirement.and_then(|q| q.sign_in_frequency)) {
        (Reason::EveryTime, _) | (_, Some(Sif::EveryTime)) => SessionPolicy::EveryTime,
        (_, Some(Sif::Periodic(_))) => SessionPolicy::Periodic,
        (Reason::RememberMfaExpired, _) => SessionPolicy::RememberMfa,
        _ => SessionPolicy::None,
    }
}

fn ca_status(r: &Record) -> CaStatus {
    match r.requirement {
        Some(q) if q.access != Access::Allowed => CaStatus::Failure,
        Some(q) if q.policy_applied => CaStatus::Success,
        Some(_) => CaStatus::NotApplied,
        None => CaStatus::NotEvaluated,
    }
}

impl<O: Observer> Observer for Logging<'_, O> {
    fn record(&mut self, r: &Record) {
        self.inner.record(r);
        if !r.entra
            || (r.actor == Actor::User && (r.at >= self.user.until || r.at < self.user.from))
        {
            return;
        }
        let row = LogRow::of(&self.user, r);
        match self.out {
            LogBuffer::Csv(out) => write_row(out, &self.user, &row),
            LogBuffer::Typed(rows) => rows.push(row),
        }
        if r.actor == Actor::User {
            self.rows += 1;
        }
    }
}

impl LogRow {
    /// The row an evaluation makes in the log of `u`.
    pub fn of(u: &LogUser, r: &Record) -> LogRow {
        LogRow {
            at: r.at,
            user: u.user,
            design: u.design_index,
            replicate: u.replicate,
            persona: u.persona_index,
            app: r.app,
            client: r.client,
            actor: r.actor,
            outcome: r.outcome,
            reason: r.reason,
            ca_status: ca_status(r),
            session_policy: session_policy(r),
            mfa_required: matches!(r.requirement, Some(q) if q.mfa),
            user_side: (r.actor == Actor::User).then_some(u.side),
        }
    }

    /// `isInteractive`: the user (or attacker) was prompted.
    pub fn interactive(&self) -> bool {
        self.outcome == Outcome::Prompt
    }

    /// `status_errorCode`.
    pub fn error_code(&self) -> u32 {
        error_code(self.outcome, self.reason)
    }

    /// `isCompliant`: empty in attacker rows.
    pub fn compliant(&self) -> Option<bool> {
        self.user_side.map(|s| s.compliant)
    }

    /// The columns named in [`TEXT_COLUMNS`], in their order.
    pub fn text(&self) -> [&'static str; TEXT_COLUMNS.len()] {
        let side = self.user_side;
        let requirement = if self.mfa_required {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        };
        [
            self.app.map_or("Windows Sign In", |a| a.display_name()),
            self.client.client_app_used(),
            side.map_or("", |s| s.device.sign_in_log_name()),
            self.ca_status.name(),
            self.session_policy.name(),
            requirement,
            side.map_or("", |s| credential_log_name(s.credential)),
            side.map_or("", |s| mfa_log_name(s.mfa_method)),
            match side {
                Some(s) if s.trusted_location => "trustedNamedLocation",
                _ => "",
            },
            self.actor.name(),
            self.outcome.name(),
            self.reason.name(),
        ]
    }
}

/// Appends one `signins.csv` row. Bytes are pushed directly rather than through
/// `write!`: formatting machinery cost ~7,000 instructions a row, a quarter of a run
/// with `--signin-log` (see `docs/performance.md`, "Sign-in log").
fn write_row(out: &mut Vec<u8>, u: &LogUser, row: &LogRow) {
    let t = row.text();
    out.reserve(320);
    push_timestamp(out, u.start_day, row.at);
    let interactive = if row.interactive() { "true" } else { "false" };
    for f in [u.upn, t[0], t[1], interactive, t[2]] {
        out.push(b',');
        out.extend_from_slice(f.as_bytes());
    }
    out.push(b',');
    push_u32(out, row.error_code());
    let compliant = match row.compliant() {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    };
    for f in [t[3], t[4], t[5], compliant, t[6], t[7], t[8]] {
        out.push(b',');
        out.extend_from_slice(f.as_bytes());
    }
    out.push(b',');
    push_csv_field(out, u.design);
    out.push(b',');
    push_u32(out, u.replicate);
    out.push(b',');
    push_csv_field(out, u.persona);
    for f in [t[9], t[10], t[11]] {
        out.push(b',');
        out.extend_from_slice(f.as_bytes());
    }
    out.push(b'\n');
}

/// Appends [`iso8601`] of `t` (`YYYY-MM-DDTHH:MM:SSZ`).
fn push_timestamp(out: &mut Vec<u8>, start_day: i64, t: SimTime) {
    let day = start_day + (t.as_secs() / DAY) as i64;
    let (y, m, d) = civil_from_days(day);
    if !(0..=9999).contains(&y) {
        // Never in a run (dates are parsed as four digits), but stay exact.
        out.extend_from_slice(iso8601(start_day, t).as_bytes());
        return;
    }
    let s = t.second_of_day() as u32;
    let y = y as u32;
    let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let [y1, y2] = two(y / 100);
    let [y3, y4] = two(y % 100);
    let [m1, m2] = two(m);
    let [d1, d2] = two(d);
    let [h1, h2] = two(s / 3600);
    let [n1, n2] = two((s % 3600) / 60);
    let [s1, s2] = two(s % 60);
    out.extend_from_slice(&[
        y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2, b'Z',
    ]);
}

/// Appends the decimal digits of `n`.
fn push_u32(out: &mut Vec<u8>, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends [`csv_field`] of `text`.
fn push_csv_field(out: &mut Vec<u8>, text: &str) {
    match csv_field(text) {
        std::borrow::Cow::Borrowed(t) => out.extend_from_slice(t.as_bytes()),
        std::borrow::Cow::Owned(t) => out.extend_from_slice(t.as_bytes()),
    }
}

/// Removes the attacker rows (`actor = attacker`) from `signins.csv` rows, in place. A
/// row ends at a newline outside quotes (design and persona names may hold one); its
/// actor is its third field from the end (outcome and reason never hold a comma).
pub fn drop_attacker_rows(rows: &mut Vec<u8>) {
    let mut keep = 0;
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    while i < rows.len() {
        match rows[i] {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                let row = &rows[start..=i];
                let attacker = row[..row.len() - 1]
                    .rsplitn(4, |b| *b == b',')
                    .nth(2)
                    .is_some_and(|actor| actor == b"attacker");
                if !attacker {
                    rows.copy_within(start..=i, keep);
                    keep += i + 1 - start;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    // A last row without its newline is kept as it is.
    rows.copy_within(start.., keep);
    keep += rows.len() - start;
    rows.truncate(keep);
}

/// Quotes a CSV field when it needs it (design names may contain commas).
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn attacker_rows_are_dropped_whatever_the_names_hold() {
        let rows = "t,u,a,b,true,x,0,d,\"design, with a\nnewline\",1,p,user,prompt,initial_sign_in\n\
                    t,u,a,b,true,x,0,d,\"design, with a\nnewline\",1,p,attacker,silent,session_valid\n\
                    t,u,a,b,true,x,0,d,plain,1,\"attacker,\",user,silent,session_valid\n\
                    t,u,a,b,true,x,0,d,plain,1,p,attacker,denied,sif_expired\n";
        let mut buf = rows.as_bytes().to_vec();
        drop_attacker_rows(&mut buf);
        let kept = String::from_utf8(buf).unwrap();
        assert_eq!(
            kept,
            "t,u,a,b,true,x,0,d,\"design, with a\nnewline\",1,p,user,prompt,initial_sign_in\n\
             t,u,a,b,true,x,0,d,plain,1,\"attacker,\",user,silent,session_valid\n"
        );
        let mut empty = Vec::new();
        drop_attacker_rows(&mut empty);
        assert!(empty.is_empty());
    }

    use super::*;

    /// Rows wait for the writer by the tens of thousands: keep them small (232 bytes when
    /// their text columns were `&str`s).
    #[test]
    fn a_typed_row_stays_small() {
        assert!(
            std::mem::size_of::<LogRow>() <= 56,
            "{}",
            std::mem::size_of::<LogRow>()
        );
    }

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(
            csv_field("sif=4h,persist=never"),
            "\"sif=4h,persist=never\""
        );
    }

    #[test]
    fn direct_formatting_matches_format_macro() {
        for start_day in [-719_468, 0, 20_458, 2_932_896, 2_932_897] {
            for secs in [
                0,
                59,
                3_599,
                86_399,
                86_400,
                31 * 86_400 + 45_296,
                400 * 86_400 + 1,
            ] {
                let t = SimTime::from_secs(secs);
                let mut out = Vec::new();
                push_timestamp(&mut out, start_day, t);
                assert_eq!(String::from_utf8(out).unwrap(), iso8601(start_day, t));
            }
        }
        for n in [0, 7, 10, 53_003, 700_082, u32::MAX] {
            let mut out = Vec::new();
            push_u32(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        let mut out = Vec::new();
        push_csv_field(&mut out, "a,\"b\"");
        assert_eq!(out, b"\"a,\"\"b\"\"\"");
    }
}
