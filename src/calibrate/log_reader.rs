//! Reading tenants' sign-in logs, for `calibrate`: Microsoft Graph `auditLogs/signIns`
//! (v1.0 and beta; one page, many pages, JSON lines or an array), the Entra admin center's
//! CSV download, Log Analytics `SigninLogs` exports (CSV or JSON, nested or flattened
//! columns) and the simulator's own `signins.csv`.
//!
//! Files are streamed: a row is read, turned into a [`SignIn`] and handed on, so memory does
//! not grow with the file. Rows that cannot be read are counted and the first few reported
//! with their position; only a file that is not a sign-in log at all is an error.
//!
//! What is kept of a row is what the population model can use. Names, IP addresses and
//! device names are never kept: a user is a 64-bit hash of the user id or UPN.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::engine::calendar::{parse_log_timestamp, TimestampError, LOG_YEARS};
use crate::error::{open_regular, plural, InputError};
use crate::model::{Credential, MfaMethod};
use crate::world::app::{App, Client, DeviceTrust};

/// The export a file was recognised as.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogFormat {
    /// Graph `signIns` pages (`{"value": [...]}`) or an array of sign-in objects.
    GraphJson,
    /// One JSON sign-in object (or page) per line.
    JsonLines,
    AdminCenterCsv,
    LogAnalyticsCsv,
    LogAnalyticsJson,
    /// Azure Monitor diagnostic-settings records (`{"time", "category", "properties"}`),
    /// as a storage account or an Event Hub receives them.
    AzureMonitor,
    /// The simulator's `signins.csv` (`run --signin-log`).
    SimulatorCsv,
    /// The simulator's `signins.parquet` (`run --signin-log-format parquet`).
    SimulatorParquet,
}

impl LogFormat {
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::GraphJson => "Graph signIns JSON",
            LogFormat::JsonLines => "JSON lines",
            LogFormat::AdminCenterCsv => "Entra admin center CSV",
            LogFormat::LogAnalyticsCsv => "Log Analytics SigninLogs CSV",
            LogFormat::LogAnalyticsJson => "Log Analytics SigninLogs JSON",
            LogFormat::AzureMonitor => "Azure Monitor sign-in records",
            LogFormat::SimulatorCsv => "sessionsim signins.csv",
            LogFormat::SimulatorParquet => "sessionsim signins.parquet",
        }
    }

    /// sessionsim's own log (CSV or Parquet).
    pub fn simulator(self) -> bool {
        matches!(self, LogFormat::SimulatorCsv | LogFormat::SimulatorParquet)
    }
}

/// What a sign-in was for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    App(App),
    /// Windows sign-in or unlock (the PRT), not an app.
    DeviceSignIn,
    /// An app the simulator does not model.
    Other,
}

/// One sign-in, as much of it as the population model uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SignIn {
    /// Hash of the UPN (or user id): users are told apart, never named.
    pub user: u64,
    /// Seconds since 1970-01-01 UTC.
    pub at: i64,
    pub target: Target,
    pub client: Option<Client>,
    pub interactive: bool,
    /// The user was asked for credentials and answered (see `is_prompt`).
    pub prompt: bool,
    /// `None` when the log has no device columns.
    pub device: Option<DeviceTrust>,
    pub compliant: Option<bool>,
    pub credential: Option<Credential>,
    pub mfa: Option<MfaMethod>,
    pub trusted_location: Option<bool>,
    /// The value of the `--group-by` field.
    pub group: Option<String>,
    pub error_code: u32,
}

/// How one file was read.
#[derive(Clone, Debug, Default)]
pub struct ReadReport {
    pub format: Option<LogFormat>,
    /// Rows seen (good and bad).
    pub rows: u64,
    /// Rows turned into sign-ins.
    pub used: u64,
    /// Rows that could not be read; the first few with their position in `bad_examples`.
    pub bad: u64,
    pub bad_examples: Vec<String>,
    /// Simulated attacker rows (not the tenant's users).
    pub attacker_rows: u64,
    /// Rows dated outside the years [`LOG_YEARS`], or with an offset beyond ±14:00 (also
    /// counted in `bad`).
    pub out_of_range: u64,
    /// Rows of apps the simulator does not model, by app name.
    pub other_apps: BTreeMap<String, u64>,
    /// Legacy-authentication rows (Exchange ActiveSync, IMAP, "Other clients", ...) by
    /// client: left out, as they are neither prompts nor the use of an app (a phone with
    /// a stored password polls all day).
    pub legacy: BTreeMap<String, u64>,
    /// Sign-ins of service principals and managed identities (not users): left out.
    pub not_user_rows: u64,
    /// Azure Monitor or Log Analytics rows of other categories than sign-ins (`AuditLogs`,
    /// ...), by category: left out.
    pub other_categories: BTreeMap<String, u64>,
    /// Rows that say neither `isInteractive`, `signInEventTypes`, nor a table or category
    /// (nor, for the admin center's CSV, an interactive or non-interactive file name):
    /// read as non-interactive unless they show a second factor.
    pub interactive_unknown: u64,
    /// The simulator's runs read (design, replicate), the first few.
    pub runs: Vec<(String, String)>,
    /// The simulator's runs in the file, read or left out, the first few.
    pub seen_runs: Vec<(String, String)>,
    /// Simulator rows of other runs than `--design`/`--replicate`: left out.
    pub other_run_rows: u64,
    /// Members of an archive that are not sign-in logs, with why (the first few): left
    /// out; and how many in all.
    pub skipped_members: Vec<String>,
    pub skipped_members_total: u64,
    /// What the file holds when it is not a sign-in log (the keys of its first object).
    first_keys: Vec<String>,
}

/// Distinct names kept in a report's tallies (apps, clients, categories).
const MAX_TALLY: usize = 10_000;

fn tally(map: &mut BTreeMap<String, u64>, name: &str) {
    if let Some(n) = map.get_mut(name) {
        *n += 1;
    } else if map.len() < MAX_TALLY {
        map.insert(crate::error::clip(name, 100).into_owned(), 1);
    }
}

/// The largest entries of a tally, `name (count)`, for messages.
pub fn top_of(map: &BTreeMap<String, u64>, n: usize) -> String {
    let mut top: Vec<(&String, &u64)> = map.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = top
        .iter()
        .take(n)
        .map(|(k, v)| format!("{k} ({v})"))
        .collect();
    format!(
        "{}{}",
        shown.join(", "),
        if top.len() > n { ", ..." } else { "" }
    )
}

/// How many malformed rows are described one by one.
const BAD_EXAMPLES: usize = 5;
/// Longest JSON line read as one row (a Graph page of 1,000 sign-ins is about 5 MB).
const MAX_LINE: u64 = 64 << 20;

impl ReadReport {
    /// Adds the counts of another part of the same file (a member of a zip archive).
    fn absorb(&mut self, other: ReadReport) {
        if self.format.is_none() {
            self.format = other.format;
        }
        self.rows += other.rows;
        self.used += other.used;
        self.bad += other.bad;
        for e in other.bad_examples {
            if self.bad_examples.len() < BAD_EXAMPLES {
                self.bad_examples.push(e);
            }
        }
        self.attacker_rows += other.attacker_rows;
        self.out_of_range += other.out_of_range;
        for (map, add) in [
            (&mut self.other_apps, other.other_apps),
            (&mut self.legacy, other.legacy),
            (&mut self.other_categories, other.other_categories),
        ] {
            for (k, v) in add {
                if let Some(n) = map.get_mut(&k) {
                    *n += v;
                } else if map.len() < MAX_TALLY {
                    map.insert(k, v);
                }
            }
        }
        self.not_user_rows += other.not_user_rows;
        self.interactive_unknown += other.interactive_unknown;
        for (mine, theirs) in [
            (&mut self.runs, other.runs),
            (&mut self.seen_runs, other.seen_runs),
        ] {
            for r in theirs {
                if !mine.contains(&r) && mine.len() < MAX_RUNS {
                    mine.push(r);
                }
            }
        }
        self.other_run_rows += other.other_run_rows;
        for m in other.skipped_members {
            if self.skipped_members.len() < BAD_EXAMPLES {
                self.skipped_members.push(m);
            }
        }
        self.skipped_members_total += other.skipped_members_total;
        if self.first_keys.is_empty() {
            self.first_keys = other.first_keys;
        }
    }

    fn bad_row(&mut self, position: String, why: impl fmt::Display) {
        self.bad += 1;
        if self.bad_examples.len() < BAD_EXAMPLES {
            let why = why.to_string();
            self.bad_examples
                .push(format!("{position}: {}", crate::error::clip(&why, 200)));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loose field types: the same field is a bool in Graph, "True" in a CSV, a JSON string in a
// Log Analytics CSV. Each accepts every shape and keeps `None` for what it cannot use.

/// Text, whatever JSON type carried it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text {
    fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim)
    }
}

/// A boolean: `true`, `"True"`, `"Yes"`, `1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Flag(Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Text::deserialize(d)?;
        Ok(Flag(t.get().and_then(
            |v| match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
        )))
    }
}

/// An object or array, or a string holding one (Log Analytics' dynamic columns in CSV).
#[derive(Clone, Debug, PartialEq)]
struct Nested<T>(Option<T>);

impl<T> Default for Nested<T> {
    fn default() -> Self {
        Nested(None)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Nested<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Nested<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object, an array or JSON text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Nested<T>, E> {
                let v = v.trim();
                // Plain words (the admin center's `Status` column says `Success`; `az`
                // writes `None` for null) are not JSON: nothing nested to read.
                if !(v.starts_with('{') || v.starts_with('[')) {
                    return Ok(Nested(None));
                }
                match serde_json::from_str(v) {
                    Ok(t) => Ok(Nested(Some(t))),
                    // An empty array where an object is expected, or the reverse: nothing
                    // to read. Otherwise `[]` is an empty list, as in JSON (no named
                    // network, for instance), so that a CSV says what the JSON says.
                    Err(_) if v == "[]" || v == "{}" => Ok(Nested(None)),
                    Err(e) => Err(E::custom(format!("JSON text in a column: {e}"))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Nested<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Nested(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Nested<T>, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(|t| Nested(Some(t)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Nested<T>, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Nested<T>, E> {
                Ok(Nested(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// One row, under every name the exports give its fields. Graph uses camelCase, Log
// Analytics PascalCase, the admin center English headers; the simulator writes Graph's
// names with `status_errorCode` and `deviceTrustType` flattened.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawDevice {
    #[serde(rename = "trustType", alias = "TrustType")]
    trust_type: Text,
    #[serde(rename = "isCompliant", alias = "IsCompliant")]
    is_compliant: Flag,
    #[serde(rename = "browser", alias = "Browser")]
    browser: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawStatus {
    #[serde(rename = "errorCode", alias = "ErrorCode")]
    error_code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAuthDetail {
    #[serde(rename = "authenticationMethod", alias = "AuthenticationMethod")]
    method: Text,
    #[serde(rename = "succeeded", alias = "Succeeded")]
    succeeded: Flag,
    #[serde(
        rename = "authenticationStepRequirement",
        alias = "AuthenticationStepRequirement"
    )]
    step: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawNetwork {
    #[serde(rename = "networkType", alias = "NetworkType")]
    network_type: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSignIn {
    #[serde(
        rename = "createdDateTime",
        alias = "CreatedDateTime",
        alias = "Date (UTC)",
        alias = "Date"
    )]
    created: Text,
    #[serde(rename = "TimeGenerated", alias = "timeGenerated")]
    time_generated: Text,
    #[serde(rename = "userId", alias = "UserId", alias = "User ID")]
    user_id: Text,
    #[serde(
        rename = "userPrincipalName",
        alias = "UserPrincipalName",
        alias = "Username"
    )]
    upn: Text,
    #[serde(
        rename = "appDisplayName",
        alias = "AppDisplayName",
        alias = "Application"
    )]
    app: Text,
    #[serde(rename = "appId", alias = "AppId", alias = "Application ID")]
    app_id: Text,
    #[serde(rename = "resourceDisplayName", alias = "ResourceDisplayName")]
    resource: Text,
    /// The admin center's `Resource` (Log Analytics' `Resource` is something else: the
    /// resource provider).
    #[serde(rename = "Resource")]
    admin_resource: Text,
    #[serde(
        rename = "clientAppUsed",
        alias = "ClientAppUsed",
        alias = "Client app"
    )]
    client_app: Text,
    #[serde(rename = "isInteractive", alias = "IsInteractive")]
    is_interactive: Flag,
    #[serde(rename = "signInEventTypes", alias = "SignInEventTypes")]
    event_types: Nested<Vec<String>>,
    #[serde(rename = "deviceDetail", alias = "DeviceDetail")]
    device: Nested<RawDevice>,
    #[serde(
        rename = "deviceTrustType",
        alias = "Join Type",
        alias = "DeviceDetail_trustType",
        alias = "DeviceDetail.trustType",
        alias = "deviceDetail.trustType"
    )]
    flat_trust: Text,
    #[serde(
        rename = "isCompliant",
        alias = "Compliant",
        alias = "DeviceDetail_isCompliant",
        alias = "DeviceDetail.isCompliant",
        alias = "deviceDetail.isCompliant"
    )]
    flat_compliant: Flag,
    #[serde(
        rename = "Browser",
        alias = "DeviceDetail_browser",
        alias = "DeviceDetail.browser"
    )]
    flat_browser: Text,
    /// Log Analytics exports of `union SigninLogs, AADNonInteractiveUserSignInLogs`: a
    /// column typed `dynamic` in one table and `string` in the other comes out as a pair,
    /// each filled on its own table's rows.
    #[serde(rename = "DeviceDetail_dynamic")]
    device_dynamic: Nested<RawDevice>,
    #[serde(rename = "DeviceDetail_string")]
    device_string: Nested<RawDevice>,
    #[serde(rename = "status", alias = "Status")]
    status: Nested<RawStatus>,
    #[serde(rename = "Status_dynamic")]
    status_dynamic: Nested<RawStatus>,
    #[serde(rename = "Status_string")]
    status_string: Nested<RawStatus>,
    #[serde(rename = "mfaDetail", alias = "MfaDetail")]
    mfa_detail: Nested<RawMfaDetail>,
    #[serde(rename = "MfaDetail_dynamic")]
    mfa_detail_dynamic: Nested<RawMfaDetail>,
    #[serde(rename = "MfaDetail_string")]
    mfa_detail_string: Nested<RawMfaDetail>,
    #[serde(
        rename = "status_errorCode",
        alias = "Sign-in error code",
        alias = "ResultType",
        alias = "Status_errorCode",
        alias = "status.errorCode"
    )]
    flat_error: Text,
    #[serde(rename = "authenticationDetails", alias = "AuthenticationDetails")]
    auth_details: Nested<Vec<RawAuthDetail>>,
    #[serde(rename = "authenticationMethod")]
    flat_credential: Text,
    #[serde(
        rename = "mfaAuthMethod",
        alias = "Multifactor authentication auth method"
    )]
    flat_mfa: Text,
    #[serde(
        rename = "incomingTokenType",
        alias = "IncomingTokenType",
        alias = "Incoming token type"
    )]
    incoming_token: Text,
    #[serde(rename = "networkLocationDetails", alias = "NetworkLocationDetails")]
    networks: Nested<Vec<RawNetwork>>,
    #[serde(rename = "networkType")]
    flat_network: Text,
    /// Log Analytics' table (`SigninLogs`, `AADNonInteractiveUserSignInLogs`, ...) and
    /// category (`SignInLogs`, `NonInteractiveUserSignInLogs`, ...): which kind of sign-in
    /// a row is when `IsInteractive` is not exported.
    #[serde(rename = "Type")]
    table: Text,
    #[serde(rename = "Category", alias = "category")]
    category: Text,
    /// The simulator's `actor` (`user` or `attacker`).
    actor: Text,
    /// The simulator's run: one design and replicate is one tenant.
    design: Text,
    replicate: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMfaDetail {
    #[serde(rename = "authMethod", alias = "AuthMethod")]
    auth_method: Text,
}

// ---------------------------------------------------------------------------------------
// From a raw row to a sign-in.

/// How Graph, Log Analytics and the admin center spell device trust, old names and new.
pub fn parse_trust(text: &str) -> Option<DeviceTrust> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.as_str();
    Some(match t {
        "" | "none" | "unknown" => DeviceTrust::Unmanaged,
        "azuread" | "azure ad joined" | "microsoft entra joined" | "entra joined" => {
            DeviceTrust::EntraJoined
        }
        "serverad"
        | "hybrid azure ad joined"
        | "microsoft entra hybrid joined"
        | "hybrid joined" => DeviceTrust::HybridJoined,
        "workplace" | "azure ad registered" | "microsoft entra registered" | "registered" => {
            DeviceTrust::Registered
        }
        _ => return None,
    })
}

/// The simulator's app for a Graph app or resource name (or app id).
pub fn classify_app(name: &str) -> Target {
    let n = name.trim().to_ascii_lowercase();
    if n.is_empty() {
        return Target::Other;
    }
    for app in App::ALL {
        if n == app.display_name().to_ascii_lowercase() || n == app.graph_app_id() {
            return Target::App(app);
        }
    }
    let has = |w: &str| n.contains(w);
    if n == "windows sign in" || n == "38aa3b87-a06d-4817-b275-7a316988d93b" {
        Target::DeviceSignIn
    } else if has("exchange") || has("outlook") {
        Target::App(App::Exchange)
    } else if has("sharepoint") || has("onedrive") {
        Target::App(App::Sharepoint)
    } else if has("teams") || has("skype") {
        Target::App(App::Teams)
    } else if n == "officehome"
        || n == "office 365"
        || has("office home")
        || has("microsoft 365 portal")
        || has("office365 shell")
    {
        Target::App(App::OfficeWeb)
    } else if has("azure portal") || has("azure management") || has("service management") {
        Target::App(App::AzurePortal)
    } else if has("graph") {
        Target::App(App::Graph)
    } else {
        Target::Other
    }
}

/// A first-factor credential as the log names it.
pub fn parse_credential(method: &str) -> Option<Credential> {
    let m = method.trim().to_ascii_lowercase();
    if m.contains("windows hello") {
        Some(Credential::WindowsHello)
    } else if m.contains("passkey") || m.contains("fido2") {
        Some(Credential::Passkey)
    } else if m == "password" || m == "password hash sync" || m == "pass-through authentication" {
        Some(Credential::Password)
    } else {
        None
    }
}

/// A second-factor method as the log names it. The log does not show number matching;
/// Microsoft has enforced it for every Authenticator push since May 2023 (docs/model.md,
/// "Calibration"), so a push is read as a push with number matching.
pub fn parse_mfa(method: &str) -> Option<MfaMethod> {
    let m = method.trim().to_ascii_lowercase();
    if m.contains("passkey") || m.contains("fido2") || m.contains("windows hello") {
        Some(MfaMethod::Passkey)
    } else if m.contains("mobile app notification")
        || m.contains("authenticator")
        || m.contains("push")
        || m.contains("text message")
        || m.contains("sms")
        || m.contains("phone call")
        || m.contains("voice")
        || m.contains("oath")
        || m.contains("verification code")
    {
        // Codes by text, call or token are typed in like a number match and cannot be
        // approved blindly: the simulator's nearest method.
        Some(MfaMethod::PushNumberMatch)
    } else {
        None
    }
}

/// Interrupt codes of an interactive row that asks the user to sign in (again): MFA
/// required (50074, 50076, 50079, 50072), no session (50058), sign-in frequency (70044),
/// remember-MFA expired (50078), password changed or reset (50133, 50142), session revoked
/// (50173), "Stay signed in?" (50140). The success row of the same sign-in usually follows
/// within the minute; prompts are counted once per app and 15-minute slot.
const INTERRUPTS: [u32; 11] = [
    50074, 50076, 50079, 50072, 50058, 70044, 50078, 50133, 50142, 50173, 50140,
];

/// Whether a successful interactive row shows the user answering a prompt rather than a
/// silent single sign-on: the simulator logs one interactive row per prompt; real logs
/// also log browser single sign-on with the PRT or a session as interactive, which the
/// incoming token type (`primaryRefreshToken`, `refreshToken`, ...) or authentication
/// details that are all "Previously satisfied" give away.
fn is_prompt(raw: &RawSignIn, simulator: bool, interactive: bool, error_code: u32) -> bool {
    if simulator || !interactive {
        return interactive;
    }
    if INTERRUPTS.contains(&error_code) {
        return true;
    }
    if error_code != 0 {
        return false;
    }
    if let Some(t) = raw.incoming_token.get() {
        if !t.is_empty() && !t.eq_ignore_ascii_case("none") {
            return false;
        }
    }
    if let Some(details) = &raw.auth_details.0 {
        let answered = details.iter().any(|d| {
            d.succeeded.0 != Some(false)
                && d.method.get().is_some_and(|m| {
                    !m.is_empty() && !m.eq_ignore_ascii_case("Previously satisfied")
                })
        });
        if !details.is_empty() && !answered {
            return false;
        }
    }
    true
}

/// FNV-1a: a stable 64-bit hash (the same user gets the same key in every file and run).
pub fn user_key(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.trim().to_ascii_lowercase().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Client apps of legacy authentication, as `clientAppUsed` names them (Graph's `signIn`
/// resource: "Legacy authentication clients include Exchange ActiveSync, IMAP, MAPI, SMTP,
/// POP, and other clients"; Conditional Access' list of legacy clients for the rest).
/// They sign in with a stored password, without prompts, all day: neither prompts nor the
/// use of a modelled app.
pub fn is_legacy_client(client: &str) -> bool {
    let c = client.trim().to_ascii_lowercase();
    const LEGACY: [&str; 17] = [
        "exchange activesync",
        "other clients",
        "imap",
        "imap4",
        "pop",
        "pop3",
        "smtp",
        "authenticated smtp",
        "mapi",
        "mapi over http",
        "autodiscover",
        "exchange web services",
        "exchange online powershell",
        "offline address book",
        "outlook anywhere (rpc over http)",
        "outlook service",
        "reporting web services",
    ];
    LEGACY.contains(&c.as_str()) || c.starts_with("other clients")
}

/// Which sign-ins a Log Analytics table (`Type`) or a diagnostic category (`Category`,
/// Azure Monitor's `category`) holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Table {
    Interactive,
    NonInteractive,
    /// Service principals and managed identities: not users.
    NotUsers,
    /// Not sign-ins at all (`AuditLogs`, `ProvisioningLogs`, ...).
    Other,
}

fn table_of(name: &str) -> Option<Table> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("aad").unwrap_or(&n);
    Some(match n {
        "" => return None,
        "signinlogs" => Table::Interactive,
        "noninteractiveusersigninlogs" => Table::NonInteractive,
        "serviceprincipalsigninlogs" | "managedidentitysigninlogs" => Table::NotUsers,
        _ => Table::Other,
    })
}

/// A method that is only ever a second factor, whatever step the log files it under:
/// real records label the authenticator step "Primary authentication" or leave
/// `authenticationStepRequirement` empty. Passkeys and Windows Hello are first factors
/// that satisfy MFA on their own; "Passwordless phone sign-in" is a first factor.
pub fn second_factor_method(method: &str) -> Option<MfaMethod> {
    let m = method.trim().to_ascii_lowercase();
    if m.contains("passwordless") || parse_credential(method).is_some() {
        return None;
    }
    parse_mfa(method).filter(|x| *x != MfaMethod::Passkey)
}

/// Why a row was not used.
enum Skip {
    Bad(String),
    Attacker,
    Legacy(String),
    NotUser,
    OtherCategory(String),
}

/// What a row's file or wrapper says about it.
#[derive(Clone, Copy, Debug, Default)]
struct Context<'a> {
    /// Interactive or not, by the admin center's file name.
    interactive_file: Option<bool>,
    /// An Azure Monitor record's `category` and `time`.
    category: Option<&'a str>,
    time: Option<&'a str>,
}

fn convert(
    raw: RawSignIn,
    format: LogFormat,
    group: Option<String>,
    context: Context,
    report: &mut ReadReport,
) -> Result<SignIn, Skip> {
    if raw.actor.get() == Some("attacker") {
        return Err(Skip::Attacker);
    }
    let table_name = context
        .category
        .or(raw.category.get())
        .filter(|c| !c.is_empty())
        .or(raw.table.get());
    let table = table_name.and_then(table_of);
    match table {
        Some(Table::NotUsers) => return Err(Skip::NotUser),
        Some(Table::Other) => {
            return Err(Skip::OtherCategory(
                table_name.unwrap_or_default().to_string(),
            ))
        }
        _ => {}
    }
    if let Some(c) = raw.client_app.get() {
        if is_legacy_client(c) {
            return Err(Skip::Legacy(c.to_string()));
        }
    }
    let when = raw
        .created
        .get()
        .filter(|t| !t.is_empty())
        .or(raw.time_generated.get().filter(|t| !t.is_empty()))
        .or(context.time);
    let at = match when {
        Some(t) => match parse_log_timestamp(t) {
            Ok(at) => at,
            Err(TimestampError::NotATime) => {
                return Err(Skip::Bad(format!(
                    "`{}` is not a time",
                    crate::error::clip(t, 60)
                )))
            }
            Err(TimestampError::OffsetOutOfRange) => {
                report.out_of_range += 1;
                return Err(Skip::Bad(format!(
                    "`{}`: its offset from UTC is beyond ±14:00",
                    crate::error::clip(t, 60)
                )));
            }
            Err(TimestampError::OutOfRange) => {
                report.out_of_range += 1;
                return Err(Skip::Bad(format!(
                    "`{}` is outside the years {}-{}",
                    crate::error::clip(t, 60),
                    LOG_YEARS.0,
                    LOG_YEARS.1
                )));
            }
        },
        None => return Err(Skip::Bad("no createdDateTime/TimeGenerated".into())),
    };
    // The UPN first: every export has it (the simulator's has nothing else), so one user
    // gets one key across files of different kinds.
    let who = raw
        .upn
        .get()
        .filter(|u| !u.is_empty())
        .or(raw.user_id.get().filter(|u| !u.is_empty()))
        .ok_or_else(|| Skip::Bad("no userId or userPrincipalName".into()))?;
    let user = user_key(who);
    let app_name = raw.app.get().unwrap_or("");
    let mut target = classify_app(app_name);
    if target == Target::Other {
        let by_resource = match format {
            LogFormat::AdminCenterCsv => raw.admin_resource.get(),
            _ => raw.resource.get(),
        }
        .map_or(Target::Other, classify_app);
        let by_id = raw.app_id.get().map_or(Target::Other, classify_app);
        target = if by_id != Target::Other {
            by_id
        } else {
            by_resource
        };
    }
    if target == Target::Other {
        let name = if app_name.is_empty() {
            "(no app name)"
        } else {
            app_name
        };
        tally(&mut report.other_apps, name);
    }
    let device_detail = raw
        .device
        .0
        .as_ref()
        .or(raw.device_dynamic.0.as_ref())
        .or(raw.device_string.0.as_ref());
    let trust_text = device_detail
        .and_then(|d| d.trust_type.get())
        .or(raw.flat_trust.get());
    let device = match (
        trust_text,
        device_detail.is_some() || raw.flat_trust.0.is_some(),
    ) {
        (Some(t), _) => parse_trust(t),
        (None, true) => Some(DeviceTrust::Unmanaged),
        (None, false) => None,
    };
    let compliant = device_detail
        .and_then(|d| d.is_compliant.0)
        .or(raw.flat_compliant.0);
    let client = match raw.client_app.get() {
        Some(c) if c.to_ascii_lowercase().contains("browser") => Some(Client::Browser),
        Some(c) if !c.is_empty() => Some(Client::Native),
        _ => {
            let b = device_detail
                .and_then(|d| d.browser.get())
                .or(raw.flat_browser.get());
            match b {
                Some(b) if b.to_ascii_lowercase().starts_with("rich client") => {
                    Some(Client::Native)
                }
                Some(b) if !b.is_empty() => Some(Client::Browser),
                _ => None,
            }
        }
    };
    let code_text = raw
        .status
        .0
        .as_ref()
        .or(raw.status_dynamic.0.as_ref())
        .or(raw.status_string.0.as_ref())
        .and_then(|s| s.error_code.get())
        .or(raw.flat_error.get())
        .unwrap_or("0");
    let error_code = if code_text.is_empty()
        || code_text.eq_ignore_ascii_case("none")
        || code_text.eq_ignore_ascii_case("null")
    {
        0
    } else {
        code_text
            .parse::<u64>()
            .map(|c| c.min(u32::MAX as u64) as u32)
            .map_err(|_| Skip::Bad(format!("error code `{code_text}` is not a number")))?
    };
    let mut credential = raw.flat_credential.get().and_then(parse_credential);
    let mut mfa = raw.flat_mfa.get().and_then(parse_mfa);
    for detail in [
        &raw.mfa_detail,
        &raw.mfa_detail_dynamic,
        &raw.mfa_detail_string,
    ] {
        if let Some(m) = detail.0.as_ref().and_then(|d| d.auth_method.get()) {
            mfa = mfa.or(parse_mfa(m));
        }
    }
    if let Some(details) = &raw.auth_details.0 {
        // The steps come in the order they were taken: once a first factor has been
        // given, another method is the second factor, whatever its step says.
        let mut first_factor = false;
        for d in details.iter().filter(|d| d.succeeded.0 != Some(false)) {
            let Some(m) = d.method.get() else { continue };
            let secondary = d.step.get().is_some_and(|s| {
                // "Secondary authentication" in older logs, "Multifactor
                // authentication" in newer ones.
                let s = s.to_ascii_lowercase();
                s.contains("secondary") || s.contains("multifactor") || s.contains("multi-factor")
            });
            if secondary {
                mfa = mfa.or(parse_mfa(m));
            } else if let Some(x) = second_factor_method(m) {
                // Filed under "Primary authentication" or no step at all: the method
                // itself says it is a second factor.
                mfa = mfa.or(Some(x));
            } else if first_factor {
                // A passkey or Windows Hello after a password.
                mfa = mfa.or(parse_mfa(m));
            } else if let Some(c) = parse_credential(m) {
                credential = credential.or(Some(c));
                first_factor = true;
            }
        }
    }
    let interactive = match (raw.is_interactive.0, &raw.event_types.0, table) {
        (Some(i), _, _) => i,
        (None, Some(types), _) => types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("interactiveUser")),
        (None, None, Some(t)) => t == Table::Interactive,
        // The admin center's downloads say it by file (`InteractiveSignIns_...csv`,
        // `NonInteractiveSignIns_...csv`); without that, a row with an MFA method shown was
        // interactive.
        (None, None, None) => match context.interactive_file {
            Some(i) => i,
            None => {
                report.interactive_unknown += 1;
                matches!(format, LogFormat::AdminCenterCsv)
                    && raw.flat_mfa.get().is_some_and(|m| !m.is_empty())
            }
        },
    };
    let trusted_location = match (&raw.networks.0, raw.flat_network.0.is_some()) {
        (Some(nets), _) => Some(nets.iter().any(|n| {
            n.network_type
                .get()
                .is_some_and(|t| t.eq_ignore_ascii_case("trustedNamedLocation"))
        })),
        (None, true) => Some(raw.flat_network.get() == Some("trustedNamedLocation")),
        (None, false) => None,
    };
    let simulator = format.simulator();
    Ok(SignIn {
        user,
        at,
        target,
        client,
        interactive,
        // Signing in to Windows is not an Entra prompt (the PRT comes with it).
        prompt: is_prompt(&raw, simulator, interactive, error_code)
            && (simulator || target != Target::DeviceSignIn),
        device,
        compliant,
        credential,
        mfa,
        trusted_location,
        group,
        error_code,
    })
}

/// Counts a row that was not used.
fn skipped(report: &mut ReadReport, position: String, why: Skip) {
    match why {
        Skip::Attacker => report.attacker_rows += 1,
        Skip::Bad(why) => report.bad_row(position, why),
        Skip::Legacy(client) => tally(&mut report.legacy, &client),
        Skip::NotUser => report.not_user_rows += 1,
        Skip::OtherCategory(c) => tally(&mut report.other_categories, &c),
    }
}

// ---------------------------------------------------------------------------------------
// Files.

/// What `read_log` needs besides the file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// A field or column whose value names the user's persona (`--group-by`); nested JSON
    /// fields are written with dots (`deviceDetail.operatingSystem`).
    pub group_by: Option<String>,
    /// sessionsim's own logs: the design and the replicate to read (`--design`,
    /// `--replicate`); the rows of other runs are left out.
    pub design: Option<String>,
    pub replicate: Option<String>,
}

/// Runs of a simulated log named in messages.
const MAX_RUNS: usize = 16;

/// Reads one log file, calling `each` for every sign-in in file order. A gzip file is
/// decompressed as it is read; each member of a zip archive is read as a log of its own
/// name; sessionsim's `signins.parquet` is read by columns.
pub fn read_log(
    path: &Path,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
) -> Result<ReadReport, InputError> {
    let (file, _) = open_regular(path)?;
    let mut input = BufReader::with_capacity(1 << 16, file);
    let magic = input
        .fill_buf()
        .map_err(|e| InputError::new(path, format!("cannot read: {e}")))?;
    if magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PK\x05\x06") {
        return read_zip(path, input.into_inner(), options, each);
    }
    if magic.starts_with(b"PAR1") {
        let report = read_parquet(path, input.into_inner(), options, each)?;
        return require_rows(path, report, options);
    }
    read_stream(path, input, options, each)
}

/// Reads a sign-in log from any reader (`name` only names it in messages): gzip, the
/// encoding and the format are recognised from its first bytes, then rows are streamed.
pub fn read_stream<'r, R: Read + 'r>(
    path: &Path,
    input: R,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
) -> Result<ReadReport, InputError> {
    let report = read_any(path, Box::new(input), options, each, 0)?;
    require_rows(path, report, options)
}

/// Prefix of the message of a file that is not a sign-in log.
const NOT_A_LOG: &str = "not a sign-in log";

fn is_not_a_log(e: &InputError) -> bool {
    e.message.starts_with(NOT_A_LOG)
}

/// A stream, decompressed if it is gzip (`depth` counts the containers it is in).
fn read_any(
    path: &Path,
    input: Box<dyn Read + '_>,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
    depth: u8,
) -> Result<ReadReport, InputError> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let magic = input
        .fill_buf()
        .map_err(|e| InputError::new(path, format!("cannot read: {e}")))?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        if depth >= 2 {
            return Err(InputError::new(
                path,
                "compressed more than twice over: decompress it first",
            ));
        }
        // Several gzip members one after the other are one file (`cat a.gz b.gz`).
        return read_any(
            path,
            Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            options,
            each,
            depth + 1,
        );
    }
    if magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PAR1") {
        return Err(InputError::new(
            path,
            "a zip archive or Parquet file inside an archive: calibrate reads those only as files of their own; extract it first",
        ));
    }
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .strip_bom(true)
        .build(input);
    let mut input = BufReader::with_capacity(1 << 16, decoded);
    let first = loop {
        let buf = input
            .fill_buf()
            .map_err(|e| InputError::new(path, format!("cannot read: {e}")))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let c = buf[i];
                input.consume(i);
                break Some(c);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    };
    let mut report = ReadReport::default();
    match first {
        None => return Err(not_a_log(path, "the file is empty")),
        Some(b'[') => read_json_document(path, input, options, &mut report, each)?,
        Some(b'{') => read_json_lines(path, input, options, &mut report, each)?,
        Some(_) => read_csv(path, input, options, &mut report, each)?,
    }
    Ok(report)
}

/// A zip archive: each member is a log of its own (the admin center's download holds the
/// interactive and the non-interactive sign-ins, told apart by their names). Members that
/// are not sign-in logs (a readme) are left out and listed.
fn read_zip(
    path: &Path,
    file: std::fs::File,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
) -> Result<ReadReport, InputError> {
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| InputError::new(path, format!("a damaged zip archive: {e}")))?;
    let mut total = ReadReport::default();
    let mut logs = 0usize;
    let mut members = 0usize;
    for i in 0..archive.len() {
        let member = archive
            .by_index(i)
            .map_err(|e| InputError::new(path, format!("member {}: {e}", i + 1)))?;
        let name = match member.name() {
            Ok(n) => n.into_owned(),
            Err(_) => format!("member {}", i + 1),
        };
        let base = name.rsplit('/').next().unwrap_or_default();
        // Folders, and what macOS and editors add.
        if member.is_dir() || name.starts_with("__MACOSX/") || base.starts_with('.') {
            continue;
        }
        members += 1;
        let member_path = Path::new(&format!("{}/{}", path.display(), name)).to_path_buf();
        let report = read_any(&member_path, Box::new(member), options, each, 1)
            .and_then(|r| require_rows(&member_path, r, options));
        match report {
            Ok(r) => {
                logs += 1;
                total.absorb(r);
            }
            Err(e) if is_not_a_log(&e) => {
                let why = e.message.split(". calibrate reads").next().unwrap_or("");
                total.skipped_members_total += 1;
                if total.skipped_members.len() < BAD_EXAMPLES {
                    total.skipped_members.push(format!(
                        "{}: {}",
                        crate::error::clip(&name, 100),
                        crate::error::clip(why, 200)
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    if logs == 0 {
        let why = match total.skipped_members.first() {
            Some(first) => format!(
                "none of its {} is a sign-in log (first: {first})",
                plural(members as u64, "member")
            ),
            None => "the zip archive holds no file".to_string(),
        };
        return Err(not_a_log(path, &why));
    }
    Ok(total)
}

/// sessionsim's `signins.parquet`, read row by row through the same columns as its CSV.
///
/// The `parquet` crate asserts on some damaged metadata (a negative column offset, found
/// by mutating a log): its calls run in batches under [`quietly`], so that a damaged file
/// is an input error rather than a panic.
fn read_parquet(
    path: &Path,
    file: std::fs::File,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
) -> Result<ReadReport, InputError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let damaged = |why: String| {
        InputError::new(
            path,
            format!("a damaged or unsupported Parquet file: {why}"),
        )
    };
    let reader = quietly(|| SerializedFileReader::new(file))
        .map_err(damaged)?
        .map_err(|e| damaged(e.to_string()))?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut report = ReadReport::default();
    let columns = Columns::new(path, &csv::StringRecord::from(names), options, true)?;
    report.format = Some(columns.format);
    let mut rows = quietly(|| reader.get_row_iter(None))
        .map_err(damaged)?
        .map_err(|e| damaged(e.to_string()))?;
    /// Rows decoded per call into the `parquet` crate.
    const BATCH: usize = 4096;
    let mut number = 0u64;
    loop {
        let batch = quietly(|| {
            let mut batch = Vec::with_capacity(BATCH);
            for row in rows.by_ref().take(BATCH) {
                batch.push(row.map(|r| parquet_record(&r)));
            }
            batch
        })
        .map_err(damaged)?;
        if batch.is_empty() {
            break;
        }
        for record in batch {
            let record = record.map_err(|e| damaged(e.to_string()))?;
            number += 1;
            report.rows += 1;
            columns.row(
                path,
                &record,
                format!("row {number}"),
                options,
                &mut report,
                each,
            )?;
        }
    }
    Ok(report)
}

/// A Parquet row as the text fields of a CSV record.
fn parquet_record(row: &parquet::record::Row) -> csv::StringRecord {
    use parquet::record::Field;
    let mut record = csv::StringRecord::new();
    let mut text = String::new();
    for (_, field) in row.get_column_iter() {
        text.clear();
        let value: &str = match field {
            Field::Null => "",
            Field::Bool(b) => {
                if *b {
                    "true"
                } else {
                    "false"
                }
            }
            Field::Str(s) => s,
            Field::TimestampMicros(us) => {
                text.push_str(&iso_time(us.div_euclid(1_000_000)));
                &text
            }
            Field::TimestampMillis(ms) => {
                text.push_str(&iso_time(ms.div_euclid(1_000)));
                &text
            }
            other => {
                use std::fmt::Write as _;
                let _ = write!(text, "{other}");
                &text
            }
        };
        record.push_field(value);
    }
    record
}

/// Runs `f`, turning a panic into its message, which is not printed: for third-party
/// code that asserts on damaged input. Reading runs on one thread, before any
/// simulation, so silencing the panic hook meanwhile hides no one else's.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.map_err(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the reader stopped".to_string());
        format!("{} (the reader stopped)", crate::error::clip(&why, 200))
    })
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ`.
fn iso_time(seconds: i64) -> String {
    let (y, m, d) = crate::engine::calendar::civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// A file that gave no usable row is refused, saying what it holds instead.
fn require_rows(
    path: &Path,
    report: ReadReport,
    options: &ReadOptions,
) -> Result<ReadReport, InputError> {
    if report.used > 0 || report.attacker_rows > 0 {
        return Ok(report);
    }
    let why = if !report.other_categories.is_empty() {
        format!(
            "it holds records of other categories than sign-ins: {}",
            top_of(&report.other_categories, 5)
        )
    } else if report.not_user_rows > 0 && report.rows == report.not_user_rows + report.bad {
        format!(
            "it holds only sign-ins of service principals and managed identities ({}); calibrate fits users: export SignInLogs (and NonInteractiveUserSignInLogs)",
            plural(report.not_user_rows, "row")
        )
    } else if !report.legacy.is_empty() {
        return Err(InputError::new(
            path,
            format!(
                "no usable sign-in: its {} are legacy authentication ({}), which the simulator does not model; export a period with modern sign-ins",
                plural(report.rows, "row"),
                top_of(&report.legacy, 5)
            ),
        ));
    } else if report.other_run_rows > 0 {
        return Err(InputError::new(
            path,
            format!(
                "no row of {}: the log holds {}",
                run_filter_text(options),
                runs_text(&report.seen_runs)
            ),
        )
        .field("--design"));
    } else {
        match report.bad_examples.first() {
            Some(e) => format!(
                "no row could be read as a sign-in ({} rows; first: {e}){}",
                report.rows,
                describe_keys(&report.first_keys)
            ),
            None => "no sign-in rows".to_string(),
        }
    };
    Err(not_a_log(path, &why))
}

/// `--design a --replicate 0`, as given.
fn run_filter_text(options: &ReadOptions) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &options.design {
        parts.push(format!("--design {d}"));
    }
    if let Some(r) = &options.replicate {
        parts.push(format!("--replicate {r}"));
    }
    parts.join(" ")
}

/// `design `a` replicate 0, design `b` replicate 0, ...`
pub fn runs_text(runs: &[(String, String)]) -> String {
    let listed: Vec<String> = runs
        .iter()
        .map(|(d, r)| format!("design `{d}` replicate {r}"))
        .collect();
    format!(
        "{}{}",
        listed.join(", "),
        if runs.len() >= MAX_RUNS { ", ..." } else { "" }
    )
}

/// What a JSON file holds instead of sign-ins, from the keys of its first object.
fn describe_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let has = |k: &str| keys.iter().any(|x| x.eq_ignore_ascii_case(k));
    if has("conditions") && (has("grantControls") || has("sessionControls")) {
        "; it holds Conditional Access policies: give them to --policies".into()
    } else if has("memberOf")
        || (has("userPrincipalName")
            && (has("accountEnabled") || has("displayName") || has("mail")))
    {
        "; it holds Graph users: give them to --directory".into()
    } else if has("activityDisplayName") || has("activityDateTime") {
        "; it holds Entra audit log entries (directoryAudits), not sign-ins".into()
    } else {
        format!(
            "; its first object has the keys {}",
            crate::error::clip(&keys.join(", "), 200)
        )
    }
}

/// Longest `--group-by` value kept, in characters: a group names a persona; a longer
/// value is cut (saying by how much), so a hostile column cannot fill memory.
const MAX_GROUP_CHARS: usize = 200;

fn clip_group(g: String) -> String {
    match crate::error::clip(&g, MAX_GROUP_CHARS) {
        std::borrow::Cow::Borrowed(_) => g,
        std::borrow::Cow::Owned(c) => c,
    }
}

fn not_a_log(path: &Path, why: &str) -> InputError {
    InputError::new(
        path,
        format!(
            "{NOT_A_LOG}: {why}. calibrate reads Graph signIns JSON (pages, arrays or JSON lines), Azure Monitor sign-in records (storage account or Event Hub), the admin center's CSV download, Log Analytics SigninLogs exports and sessionsim's signins.csv or signins.parquet, each also gzipped or zipped"
        ),
    )
}

/// The `--group-by` value of a JSON row: a dotted path, matched without regard to case.
/// Walks the row without building it (issue 35: a 60 MB row made a 1 GB tree): only the
/// value at the path is kept. Where several keys match a part, the one that sorts first
/// wins (and of equal keys the last), as it did when the row was read into a map.
fn json_group(text: &str, field: &str) -> Option<String> {
    let parts: Vec<&str> = field.split('.').collect();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = GroupSeed { path: &parts }.deserialize(&mut de).ok()??;
    match value {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Finds the value at `path` in a JSON value, skipping everything else.
struct GroupSeed<'a> {
    path: &'a [&'a str],
}

impl<'de> DeserializeSeed<'de> for GroupSeed<'_> {
    type Value = Option<serde_json::Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.path.is_empty() {
            return serde_json::Value::deserialize(d).map(Some);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupSeed<'_> {
    type Value = Option<serde_json::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (part, rest) = (self.path[0], &self.path[1..]);
        let mut best: Option<(String, Option<serde_json::Value>)> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !key.eq_ignore_ascii_case(part) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let found = map.next_value_seed(GroupSeed { path: rest })?;
            if best
                .as_ref()
                .is_none_or(|(k, _)| key.as_ref() <= k.as_str())
            {
                best = Some((key.into_owned(), found));
            }
        }
        Ok(best.and_then(|(_, v)| v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn json_row(
    text: &str,
    format: LogFormat,
    position: String,
    options: &ReadOptions,
    report: &mut ReadReport,
    each: &mut dyn FnMut(SignIn),
) {
    report.rows += 1;
    // An Azure Monitor diagnostic record carries the sign-in in `properties`, and says in
    // `category` which kind of sign-in it is.
    let record = if text.contains("\"properties\"") {
        serde_json::from_str::<Record>(text)
            .ok()
            .filter(|r| r.properties.is_some_and(|p| p.get().starts_with('{')))
    } else {
        None
    };
    let (row, context) = match &record {
        Some(r) => {
            if report.format.is_none() || report.format == Some(LogFormat::GraphJson) {
                report.format = Some(LogFormat::AzureMonitor);
            }
            let context = Context {
                interactive_file: None,
                category: r.category.get(),
                time: r.time.get(),
            };
            (r.properties.map_or(text, |p| p.get()), context)
        }
        None => (text, Context::default()),
    };
    let raw: RawSignIn = match serde_json::from_str(row) {
        Ok(r) => r,
        Err(e) => {
            note_keys(report, row);
            return report.bad_row(position, e);
        }
    };
    let group = options.group_by.as_deref().and_then(|f| {
        json_group(row, f).or_else(|| record.is_some().then(|| json_group(text, f)).flatten())
    });
    let group = group.map(clip_group);
    match convert(raw, format, group, context, report) {
        Ok(s) => {
            report.used += 1;
            each(s)
        }
        Err(why) => {
            if matches!(why, Skip::Bad(_)) {
                note_keys(report, row);
            }
            skipped(report, position, why)
        }
    }
}

/// Keeps the keys of the first object that was not a sign-in, to say what the file holds
/// if none is.
fn note_keys(report: &mut ReadReport, text: &str) {
    if report.used > 0 || !report.first_keys.is_empty() {
        return;
    }
    if let Ok(map) = serde_json::from_str::<BTreeMap<String, IgnoredAny>>(text) {
        report.first_keys = map
            .into_keys()
            .take(12)
            .map(|k| crate::error::clip(&k, 60).into_owned())
            .collect();
    }
}

/// An Azure Monitor diagnostic record: `{"time", "category", "properties": {signIn},
/// ...}` (resource logs' common schema).
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(default)]
    category: Text,
    #[serde(default)]
    time: Text,
}

/// Bytes read since the element under way began, shared by the reader that counts them
/// and the visitors that start elements.
#[derive(Default)]
struct Budget {
    used: std::cell::Cell<u64>,
    over: std::cell::Cell<bool>,
}

impl Budget {
    fn start_element(&self) {
        self.used.set(0);
    }
}

/// Ends the read when one element of a JSON document passes [`MAX_LINE`]: the parser
/// would hold it whole (issue 35: a pretty-printed object with a 500 MB field took
/// 1.7 GB).
struct Budgeted<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Budgeted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.budget.used.get() + n as u64;
        self.budget.used.set(used);
        if used > MAX_LINE {
            self.budget.over.set(true);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "element too long",
            ));
        }
        Ok(n)
    }
}

/// Graph pages and Log Analytics exports: `{"value": [...]}` or `[...]`, streamed one
/// element at a time.
fn read_json_document<R: Read>(
    path: &Path,
    input: R,
    options: &ReadOptions,
    report: &mut ReadReport,
    each: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let budget = Budget::default();
    let mut de = serde_json::Deserializer::from_reader(Budgeted {
        inner: input,
        budget: &budget,
    });
    // One value, or several one after the other: export scripts append one array per page
    // to the same file, and a page of one sign-in as a bare object.
    loop {
        budget.start_element();
        let seed = Document {
            options,
            report: &mut *report,
            each: &mut *each,
            format: None,
            budget: &budget,
            line: None,
        };
        let done = seed.deserialize(&mut de);
        if budget.over.get() {
            return Err(InputError::new(
                path,
                format!(
                    "one element (after row {}) is longer than {} MiB: not a sign-in log, or a damaged file",
                    report.rows,
                    MAX_LINE >> 20
                ),
            ));
        }
        done.map_err(|e| json_error(path, &e))?;
        if de.end().is_ok() {
            return Ok(());
        }
    }
}

fn json_error(path: &Path, e: &serde_json::Error) -> InputError {
    if e.is_io() {
        // A damaged gzip stream, or a read error.
        return InputError::new(path, format!("cannot read: {e}"));
    }
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the position goes in its own place.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    InputError::new(path, format!("broken JSON: {msg}")).position(format!(
        "{}:{}",
        e.line(),
        e.column()
    ))
}

/// The top level of a JSON document: a page, an array of rows, or an array of pages.
struct Document<'a> {
    options: &'a ReadOptions,
    report: &'a mut ReadReport,
    each: &'a mut dyn FnMut(SignIn),
    format: Option<LogFormat>,
    budget: &'a Budget,
    /// The line of a JSON-lines file the document is on, for positions.
    line: Option<u64>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Graph page ({\"value\": [...]}) or an array of sign-ins")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_value = false;
        // The other members: a page's `@odata` links, or the fields of a bare sign-in,
        // kept as their JSON text (a tree of values would take several times its size).
        let mut fields = String::from("{");
        while let Some(key) = map.next_key::<String>()? {
            // Graph's pages hold `value`; an Event Hub message or a storage account's
            // blob of Azure Monitor records holds `records`.
            if (key == "value" || key == "records") && !saw_value {
                saw_value = true;
                fields = String::new();
                map.next_value_seed(Rows {
                    options: self.options,
                    report: self.report,
                    each: self.each,
                    format: self.format.unwrap_or(LogFormat::GraphJson),
                    budget: self.budget,
                    line: self.line,
                })?;
            } else if saw_value || key.starts_with('@') {
                map.next_value::<IgnoredAny>()?;
            } else {
                let value = map.next_value::<Box<RawValue>>()?;
                if fields.len() > 1 {
                    fields.push(',');
                }
                fields.push_str(&serde_json::Value::String(key).to_string());
                fields.push(':');
                fields.push_str(value.get());
            }
        }
        if self.report.format.is_none() {
            self.report.format = Some(LogFormat::GraphJson);
        }
        if !saw_value {
            // One sign-in on its own.
            fields.push('}');
            let text = fields;
            let position = match self.line {
                Some(n) => format!("line {n}"),
                None => format!("object {}", self.report.rows + 1),
            };
            let format = self.report.format.unwrap_or(LogFormat::GraphJson);
            json_row(
                &text,
                format,
                position,
                self.options,
                self.report,
                self.each,
            );
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Rows {
            options: self.options,
            report: self.report,
            each: self.each,
            format: self.format.unwrap_or(LogFormat::GraphJson),
            budget: self.budget,
            line: self.line,
        }
        .visit_seq(seq)
    }
}

/// The rows of a page or array; each element is kept as text until it is read, so a bad
/// element is counted and skipped.
struct Rows<'a> {
    options: &'a ReadOptions,
    report: &'a mut ReadReport,
    each: &'a mut dyn FnMut(SignIn),
    format: LogFormat,
    budget: &'a Budget,
    line: Option<u64>,
}

/// Where an element of a JSON document is: `element 3`, or `line 2, row 3`.
fn element_position(line: Option<u64>, index: u64) -> String {
    match line {
        Some(n) => format!("line {n}, row {index}"),
        None => format!("element {index}"),
    }
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of sign-ins")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        self.budget.start_element();
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.budget.start_element();
            let text = raw.get();
            let format = if self.report.format.is_none() {
                let f = json_format(text, self.format);
                self.report.format = Some(f);
                f
            } else {
                self.report.format.unwrap_or(self.format)
            };
            if may_be_page(text) && is_page(text) {
                // An array of pages, as some export scripts write.
                let page: Result<PageRows, _> = serde_json::from_str(text);
                match page {
                    Ok(p) => {
                        for (j, row) in p.value.iter().enumerate() {
                            json_row(
                                row.get(),
                                format,
                                format!("{}, row {j}", element_position(self.line, index)),
                                self.options,
                                self.report,
                                self.each,
                            );
                        }
                    }
                    Err(e) => self.report.bad_row(element_position(self.line, index), e),
                }
            } else {
                json_row(
                    text,
                    format,
                    element_position(self.line, index),
                    self.options,
                    self.report,
                    self.each,
                );
            }
            index += 1;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct PageRows {
    #[serde(alias = "records")]
    value: Vec<Box<RawValue>>,
}

/// The format of a JSON file, from its first row: Log Analytics writes PascalCase
/// (`TimeGenerated`), Graph camelCase; Azure Monitor wraps the sign-in in `properties`.
fn json_format(text: &str, otherwise: LogFormat) -> LogFormat {
    if text.contains("\"properties\"") && text.contains("\"category\"") {
        LogFormat::AzureMonitor
    } else if text.contains("\"TimeGenerated\"") {
        LogFormat::LogAnalyticsJson
    } else {
        otherwise
    }
}

fn may_be_page(text: &str) -> bool {
    text.contains("\"value\"") || text.contains("\"records\"")
}

/// A JSON object that is a page of sign-ins (`value`) or of records (`records`) rather
/// than one sign-in.
fn is_page(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        value: Option<IgnoredAny>,
        #[serde(default)]
        records: Option<IgnoredAny>,
    }
    serde_json::from_str::<Probe>(text).is_ok_and(|p| p.value.is_some() || p.records.is_some())
}

/// Reads up to and including the next newline (or to the end), keeping nothing.
fn skip_line<R: BufRead>(input: &mut R) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

/// A JSON line longer than this is parsed as it streams, element by element, instead of
/// being held whole: a Graph page of 200,000 sign-ins as `ConvertTo-Json -Compress` writes
/// it is one line of 121 MB.
const LINE_IN_MEMORY: u64 = 1 << 20;

/// A buffered reader that bytes already read can be put back in front of.
struct PushBack<R> {
    front: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: BufRead> PushBack<R> {
    fn new(inner: R) -> Self {
        PushBack {
            front: Vec::new(),
            pos: 0,
            inner,
        }
    }

    fn unread(&mut self, bytes: Vec<u8>) {
        let mut front = bytes;
        front.extend_from_slice(&self.front[self.pos..]);
        self.front = front;
        self.pos = 0;
    }
}

impl<R: BufRead> Read for PushBack<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for PushBack<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos < self.front.len() {
            Ok(&self.front[self.pos..])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pos < self.front.len() {
            self.pos += n;
            if self.pos >= self.front.len() {
                // Give back the memory of a long line's start.
                self.front = Vec::new();
                self.pos = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }
}

/// One JSON object per line: a sign-in, or a whole page (one Graph response per line).
/// A file that starts with `{` but is one document over many lines (a pretty-printed
/// page) is read as a document. A line too long to hold is parsed as it streams.
fn read_json_lines<R: Read>(
    path: &Path,
    input: BufReader<R>,
    options: &ReadOptions,
    report: &mut ReadReport,
    each: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let mut input = PushBack::new(input);
    let cannot = |e: std::io::Error| InputError::new(path, format!("cannot read: {e}"));
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut first = true;
    loop {
        line.clear();
        let n = (&mut input)
            .take(LINE_IN_MEMORY)
            .read_until(b'\n', &mut line)
            .map_err(cannot)?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') && n as u64 == LINE_IN_MEMORY {
            first = false;
            input.unread(std::mem::take(&mut line));
            stream_line(path, &mut input, number, options, report, each)?;
            continue;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim(),
            Err(_) => {
                report.rows += 1;
                report.bad_row(format!("line {number}"), "not UTF-8 text");
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        if first {
            first = false;
            // Pretty-printed JSON: the first line alone is not a whole value. Read the
            // line and the rest as one document.
            if serde_json::from_str::<IgnoredAny>(text).is_err() {
                input.unread(std::mem::take(&mut line));
                return read_json_document(path, input, options, report, each);
            }
            report.format = Some(if may_be_page(text) && is_page(text) {
                json_format(text, LogFormat::GraphJson)
            } else {
                json_format(text, LogFormat::JsonLines)
            });
        }
        let format = report.format.unwrap_or(LogFormat::JsonLines);
        if may_be_page(text) && is_page(text) {
            match serde_json::from_str::<PageRows>(text) {
                Ok(p) => {
                    for (j, row) in p.value.iter().enumerate() {
                        json_row(
                            row.get(),
                            format,
                            format!("line {number}, row {j}"),
                            options,
                            report,
                            each,
                        );
                    }
                }
                Err(e) => report.bad_row(format!("line {number}"), e),
            }
        } else {
            json_row(
                text,
                format,
                format!("line {number}"),
                options,
                report,
                each,
            );
        }
    }
    Ok(())
}

/// Parses the JSON value(s) of line `number` as they stream from `input`, one element of
/// a page at a time, then moves to the next line. A line that breaks off or holds an
/// element over [`MAX_LINE`] is counted as a bad row and skipped to its end.
fn stream_line<R: BufRead>(
    path: &Path,
    input: &mut R,
    number: u64,
    options: &ReadOptions,
    report: &mut ReadReport,
    each: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let cannot = |e: std::io::Error| InputError::new(path, format!("cannot read: {e}"));
    let budget = Budget::default();
    loop {
        budget.start_element();
        let done = {
            let mut de = serde_json::Deserializer::from_reader(Budgeted {
                inner: &mut *input,
                budget: &budget,
            });
            Document {
                options,
                report: &mut *report,
                each: &mut *each,
                format: None,
                budget: &budget,
                line: Some(number),
            }
            .deserialize(&mut de)
        };
        let position = format!("line {number}");
        if budget.over.get() {
            report.rows += 1;
            report.bad_row(
                position,
                format!("longer than {} MiB: skipped", MAX_LINE >> 20),
            );
            return skip_line(input).map_err(cannot);
        }
        if let Err(e) = done {
            if e.is_io() {
                return Err(InputError::new(path, format!("cannot read: {e}")));
            }
            report.rows += 1;
            let msg = e.to_string();
            report.bad_row(position, msg.split(" at line ").next().unwrap_or(&msg));
            return skip_line(input).map_err(cannot);
        }
        // After the value: the end of the line, or another value on the same line.
        loop {
            let next = input.fill_buf().map_err(cannot)?.first().copied();
            match next {
                None => return Ok(()),
                Some(b' ' | b'\t' | b'\r') => input.consume(1),
                Some(b'\n') => {
                    input.consume(1);
                    return Ok(());
                }
                Some(b'{' | b'[') => break,
                Some(_) => {
                    report.rows += 1;
                    report.bad_row(position, "text after the JSON value: skipped");
                    return skip_line(input).map_err(cannot);
                }
            }
        }
    }
}

/// Header names as the fields know them: trimmed (the admin center writes `Application ID `),
/// without Log Analytics' ` [UTC]` suffix (`TimeGenerated [UTC]`), and a repeated name
/// (the admin center has `Incoming token type` twice) numbered from its second time on, so
/// that a row never has one field twice. Linear in the number of names (issue 35: a
/// header of 5,000 copies of one name took 47 s when each new name was searched for in
/// all the previous ones, number by number).
fn normalize_headers(headers: &csv::StringRecord) -> csv::StringRecord {
    use std::collections::{HashMap, HashSet};
    let mut out: Vec<String> = Vec::with_capacity(headers.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(headers.len());
    // The next number to try for each repeated name.
    let mut next: HashMap<String, usize> = HashMap::new();
    for h in headers.iter() {
        let mut name = h.trim();
        if let Some(stripped) = name.strip_suffix("[UTC]") {
            name = stripped.trim_end();
        }
        let unique = if seen.contains(name) {
            let n = next.entry(name.to_string()).or_insert(2);
            loop {
                let candidate = format!("{name} ({n})");
                *n += 1;
                if !seen.contains(&candidate) {
                    break candidate;
                }
            }
        } else {
            name.to_string()
        };
        seen.insert(unique.clone());
        out.push(unique);
    }
    csv::StringRecord::from(out)
}

/// Reads CSV sign-in rows from any reader (the simulated rows `calibrate` summarises as
/// they are produced). Unlike [`read_log`], no row at all is not an error.
pub fn read_csv_stream<R: BufRead>(
    name: &Path,
    input: R,
    options: &ReadOptions,
    each: &mut dyn FnMut(SignIn),
) -> Result<ReadReport, InputError> {
    let mut report = ReadReport::default();
    read_csv(name, input, options, &mut report, each)?;
    Ok(report)
}

/// Longest CSV header row: an export's header is a few kilobytes (Log Analytics' has
/// about 80 columns).
pub const MAX_CSV_HEADER: u64 = 1 << 20;
/// Longest CSV row: a Log Analytics row with its JSON columns is tens of kilobytes.
pub const MAX_CSV_ROW: u64 = 16 << 20;

/// Where a CSV reader is within a record, as far as the record's length is concerned:
/// the rules of the `csv` crate's defaults (RFC 4180 quoting; `""` inside quotes; a quote
/// that does not start a field is an ordinary character; `\r` or `\n` ends a record).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum CsvState {
    StartField,
    InField,
    InQuotes,
    /// A quote inside a quoted field: a second one escapes it, anything else closes it.
    QuoteInQuotes,
}

/// Sits between a CSV file and the `csv` reader, which would hold a record of any length
/// in memory (issue 35: a 200 MB header took 1.25 GB; an unterminated quote followed by
/// 1 GB took 2 GB and passed). A header longer than [`MAX_CSV_HEADER`] is an error; a row
/// longer than [`MAX_CSV_ROW`] is ended there (its quote closed), the rest of its line is
/// skipped without being kept, and `cut` counts it so that the row is reported as bad.
struct CsvGuard<R> {
    inner: R,
    state: CsvState,
    /// Bytes of the record under way.
    record: u64,
    header_done: bool,
    /// Bytes to hand out before reading on: the end of a cut record.
    pending: &'static [u8],
    /// Skipping the rest of a cut record's line.
    skipping: bool,
    /// Records cut so far.
    cut: u64,
}

impl<R: BufRead> CsvGuard<R> {
    fn new(inner: R) -> Self {
        CsvGuard {
            inner,
            state: CsvState::StartField,
            record: 0,
            header_done: false,
            pending: b"",
            skipping: false,
            cut: 0,
        }
    }
}

impl<R: BufRead> Read for CsvGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending = &self.pending[n..];
                return Ok(n);
            }
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(0);
            }
            if self.skipping {
                match avail.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.inner.consume(i + 1);
                        self.skipping = false;
                        self.state = CsvState::StartField;
                        self.record = 0;
                    }
                    None => {
                        let n = avail.len();
                        self.inner.consume(n);
                    }
                }
                continue;
            }
            let limit = if self.header_done {
                MAX_CSV_ROW
            } else {
                MAX_CSV_HEADER
            };
            let n = avail.len().min(buf.len());
            let mut taken = 0;
            let mut over = false;
            while taken < n {
                use CsvState::*;
                // Inside a field only a few bytes change anything: skip the others in
                // one step (the byte-by-byte walk cost ~14% of reading a CSV log).
                let run = match self.state {
                    InField => avail[taken..n]
                        .iter()
                        .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
                        .unwrap_or(n - taken),
                    InQuotes => avail[taken..n]
                        .iter()
                        .position(|&b| b == b'"')
                        .unwrap_or(n - taken),
                    _ => 0,
                };
                let room = (limit - self.record) as usize;
                if run > room {
                    taken += room + 1;
                    self.record = limit + 1;
                    over = true;
                    break;
                }
                self.record += run as u64;
                taken += run;
                if taken == n {
                    break;
                }
                let b = avail[taken];
                let end = match (self.state, b) {
                    (StartField | InField | QuoteInQuotes, b'\r' | b'\n') => true,
                    (StartField | QuoteInQuotes, b',') | (InField, b',') => {
                        self.state = StartField;
                        false
                    }
                    (StartField, b'"') => {
                        self.state = InQuotes;
                        false
                    }
                    (StartField | QuoteInQuotes, _) => {
                        self.state = InField;
                        false
                    }
                    (InField, _) => false,
                    (InQuotes, b'"') => {
                        self.state = QuoteInQuotes;
                        false
                    }
                    (InQuotes, _) => false,
                };
                taken += 1;
                if end {
                    self.state = StartField;
                    if self.record > 0 {
                        self.header_done = true;
                    }
                    self.record = 0;
                } else {
                    self.record += 1;
                    if self.record > limit {
                        over = true;
                        break;
                    }
                }
            }
            buf[..taken].copy_from_slice(&avail[..taken]);
            self.inner.consume(taken);
            if over {
                if !self.header_done {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "its first row (the header) is longer than {} MiB",
                            MAX_CSV_HEADER >> 20
                        ),
                    ));
                }
                self.cut += 1;
                self.pending = if self.state == CsvState::InQuotes {
                    b"\"\n"
                } else {
                    b"\n"
                };
                self.skipping = true;
                self.state = CsvState::StartField;
                self.record = 0;
            }
            return Ok(taken);
        }
    }
}

/// Where the `--group-by` value of a table row is.
#[derive(Debug)]
enum GroupColumn {
    Plain(usize),
    /// A dotted path into JSON text columns (`deviceDetail.operatingSystem` in Log
    /// Analytics' `DeviceDetail`, or its `DeviceDetail_dynamic`/`DeviceDetail_string`
    /// pair): the first non-empty one.
    Json(Vec<usize>, String),
}

/// The columns of a table (CSV or Parquet): its format, and where things are.
struct Columns {
    format: LogFormat,
    headers: csv::StringRecord,
    interactive_file: Option<bool>,
    group: Option<GroupColumn>,
}

impl Columns {
    fn new(
        path: &Path,
        headers: &csv::StringRecord,
        options: &ReadOptions,
        parquet: bool,
    ) -> Result<Columns, InputError> {
        let headers = normalize_headers(headers);
        let has = |name: &str| headers.iter().any(|h| h == name);
        let format = if has("actor") && has("outcome") && has("createdDateTime") {
            if parquet {
                LogFormat::SimulatorParquet
            } else {
                LogFormat::SimulatorCsv
            }
        } else if has("TimeGenerated") {
            LogFormat::LogAnalyticsCsv
        } else if has("Date (UTC)") || has("Date") {
            LogFormat::AdminCenterCsv
        } else if has("createdDateTime") || has("CreatedDateTime") {
            LogFormat::LogAnalyticsCsv
        } else {
            let shown: Vec<&str> = headers.iter().take(8).collect();
            let holds = if has("design") && has("prompts_per_user_day") {
                "; it is a sessionsim results table: run with --signin-log and give its signins.csv"
            } else if has("scope") && has("observed_prompts_per_user_day") {
                "; it is calibrate's own calibration.csv"
            } else if has("at") && has("actor") && has("outcome") {
                "; it is a sessionsim trace"
            } else {
                ""
            };
            return Err(not_a_log(
                path,
                &format!(
                    "no time column (createdDateTime, TimeGenerated or Date (UTC)) among its columns ({}{}){holds}",
                    crate::error::clip(&shown.join(", "), 300),
                    if headers.len() > 8 { ", ..." } else { "" }
                ),
            ));
        };
        let user_column = [
            "userId",
            "UserId",
            "User ID",
            "userPrincipalName",
            "UserPrincipalName",
            "Username",
        ];
        if !user_column.iter().any(|c| has(c)) {
            return Err(not_a_log(
                path,
                "no user column (userPrincipalName, UserId, Username)",
            ));
        }
        let file_name = path
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .to_ascii_lowercase()
                    .replace(['_', '-', ' '], "")
            })
            .unwrap_or_default();
        let interactive_file = if format != LogFormat::AdminCenterCsv {
            None
        } else if file_name.contains("noninteractive") {
            Some(false)
        } else if file_name.contains("interactive") {
            Some(true)
        } else {
            None
        };
        let group = match options.group_by.as_deref() {
            Some(field) => Some(group_column(&headers, field).ok_or_else(|| {
                InputError::new(
                    path,
                    format!("--group-by `{field}`: no such column in this file"),
                )
            })?),
            None => None,
        };
        Ok(Columns {
            format,
            headers,
            interactive_file,
            group,
        })
    }

    /// Reads one row (already counted in `report.rows`). Only a simulated log of several
    /// runs is an error: the rest of it would not be one tenant.
    fn row(
        &self,
        path: &Path,
        record: &csv::StringRecord,
        position: String,
        options: &ReadOptions,
        report: &mut ReadReport,
        each: &mut dyn FnMut(SignIn),
    ) -> Result<(), InputError> {
        let raw: RawSignIn = match record.deserialize(Some(&self.headers)) {
            Ok(r) => r,
            Err(e) => {
                report.bad_row(position, e);
                return Ok(());
            }
        };
        if self.format.simulator() && !simulator_run(path, &raw, options, report)? {
            return Ok(());
        }
        let cell = |i: usize| record.get(i).map(str::trim).filter(|g| !g.is_empty());
        let group = match &self.group {
            None => None,
            Some(GroupColumn::Plain(i)) => cell(*i).map(str::to_string),
            Some(GroupColumn::Json(columns, rest)) => columns
                .iter()
                .find_map(|&i| cell(i))
                .and_then(|text| json_group(text, rest)),
        }
        .map(clip_group);
        let context = Context {
            interactive_file: self.interactive_file,
            ..Context::default()
        };
        match convert(raw, self.format, group, context, report) {
            Ok(s) => {
                report.used += 1;
                each(s)
            }
            Err(why) => skipped(report, position, why),
        }
        Ok(())
    }
}

/// The column of `--group-by FIELD`: a column of that name (or with `_` for `.`), else,
/// for a dotted field, the JSON text column of its first part (Log Analytics CSV exports
/// write `DeviceDetail` as JSON text, or as a `_dynamic`/`_string` pair).
fn group_column(headers: &csv::StringRecord, field: &str) -> Option<GroupColumn> {
    let flat = field.replace('.', "_");
    if let Some(i) = headers.iter().position(|h| {
        let h = h.trim();
        h.eq_ignore_ascii_case(field) || h.eq_ignore_ascii_case(&flat)
    }) {
        return Some(GroupColumn::Plain(i));
    }
    let (head, rest) = field.split_once('.')?;
    let columns: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            let h = h.trim();
            h.eq_ignore_ascii_case(head)
                || ["_dynamic", "_string"].iter().any(|suffix| {
                    // Split on bytes: a header of non-ASCII letters has no char boundary
                    // where the ASCII field name ends.
                    let (name, tail) = h.as_bytes().split_at(h.len().min(head.len()));
                    name.eq_ignore_ascii_case(head.as_bytes())
                        && tail.eq_ignore_ascii_case(suffix.as_bytes())
                })
        })
        .map(|(i, _)| i)
        .collect();
    (!columns.is_empty()).then(|| GroupColumn::Json(columns, rest.to_string()))
}

/// Whether a row of sessionsim's own log is of the run to read. Its designs and
/// replicates are different tenants (or the same tenant again): pooled, each user would
/// sign in once per run. So a log of several runs is refused as soon as a second one
/// shows, unless `--design`/`--replicate` pick one.
fn simulator_run(
    path: &Path,
    raw: &RawSignIn,
    options: &ReadOptions,
    report: &mut ReadReport,
) -> Result<bool, InputError> {
    let design = raw.design.get().unwrap_or("");
    let replicate = raw.replicate.get().unwrap_or("");
    let known = |runs: &[(String, String)]| runs.iter().any(|(d, r)| d == design && r == replicate);
    if !known(&report.seen_runs) && report.seen_runs.len() < MAX_RUNS {
        report
            .seen_runs
            .push((design.to_string(), replicate.to_string()));
    }
    if options.design.as_deref().is_some_and(|d| d != design)
        || options.replicate.as_deref().is_some_and(|r| r != replicate)
    {
        report.other_run_rows += 1;
        return Ok(false);
    }
    if !known(&report.runs) {
        report
            .runs
            .push((design.to_string(), replicate.to_string()));
        if report.runs.len() > 1 {
            return Err(several_runs(path, &report.runs));
        }
    }
    Ok(true)
}

/// The error for a simulated log of several runs.
pub fn several_runs(path: &Path, runs: &[(String, String)]) -> InputError {
    InputError::new(
        path,
        format!(
            "holds the rows of several simulated runs ({}): pooled, each user would be counted once per run, so calibrate reads one; pick it with --design NAME --replicate N (the run's summary.csv lists the designs)",
            runs_text(runs)
        ),
    )
    .field("LOG")
}

/// CSV: the admin center's download, Log Analytics' export or the simulator's log, told
/// apart by their headers.
fn read_csv<R: BufRead>(
    path: &Path,
    input: R,
    options: &ReadOptions,
    report: &mut ReadReport,
    each: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(CsvGuard::new(input));
    let headers = reader
        .headers()
        .map_err(|e| not_a_log(path, &format!("no CSV header: {e}")))?
        .clone();
    let columns = Columns::new(path, &headers, options, false)?;
    report.format = Some(columns.format);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        let cut = reader.get_ref().cut;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(InputError::new(path, format!("cannot read: {e}")));
                }
                report.rows += 1;
                report.bad_row(format!("line {line}"), e);
                continue;
            }
        }
        report.rows += 1;
        let position = format!("line {}", record.position().map_or(line, |p| p.line()));
        if reader.get_ref().cut > cut {
            report.bad_row(
                position,
                format!(
                    "a row longer than {} MiB (an unterminated quote?): skipped to the end of its line",
                    MAX_CSV_ROW >> 20
                ),
            );
            continue;
        }
        columns.row(path, &record, position, options, report, each)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(
        name: &str,
        text: &str,
        options: &ReadOptions,
    ) -> Result<(ReadReport, Vec<SignIn>), InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut rows = Vec::new();
        let report = read_log(&path, options, &mut |s| rows.push(s))?;
        Ok((report, rows))
    }

    const GRAPH_ROW: &str = r#"{"id":"1","createdDateTime":"2026-01-05T08:30:12Z","userPrincipalName":"alice@contoso.example","userId":"u-1","appId":"1fec8e78-bce4-4aaf-ab1b-5451cc387264","appDisplayName":"Microsoft Teams","clientAppUsed":"Mobile Apps and Desktop clients","isInteractive":true,"status":{"errorCode":0,"failureReason":null},"deviceDetail":{"deviceId":"d","displayName":"PC-1","operatingSystem":"Windows10","browser":"Rich Client 5.2","isCompliant":true,"isManaged":true,"trustType":"Azure AD joined"},"authenticationDetails":[{"authenticationMethod":"Windows Hello for Business","succeeded":true,"authenticationStepRequirement":"Primary authentication"}],"networkLocationDetails":[{"networkType":"trustedNamedLocation","networkNames":["HQ"]}]}"#;

    #[test]
    fn a_group_column_is_found_whatever_letters_the_other_headers_hold() {
        // Regression (found by the fuzz test in CI): a header of the suffixed length
        // with a two-byte letter where the field name ends was cut inside that letter.
        let headers =
            csv::StringRecord::from(vec!["Lo2026-01-0\u{e9}cation", "DeviceDetail_dynamic"]);
        match group_column(&headers, "deviceDetail.browser") {
            Some(GroupColumn::Json(columns, rest)) => {
                assert_eq!(columns, vec![1]);
                assert_eq!(rest, "browser");
            }
            other => panic!("{other:?}"),
        }
        let only_accented = csv::StringRecord::from(vec!["Lo2026-01-0\u{e9}cation"]);
        assert!(group_column(&only_accented, "deviceDetail.browser").is_none());
    }

    #[test]
    fn a_graph_page_a_bare_array_and_json_lines_give_the_same_rows() {
        let o = ReadOptions::default();
        let page = format!("{{\"@odata.context\":\"x\",\"value\":[{GRAPH_ROW},{GRAPH_ROW}],\"@odata.nextLink\":\"y\"}}");
        let (r1, a) = read_str("page.json", &page, &o).unwrap();
        let (r2, b) = read_str("array.json", &format!("[{GRAPH_ROW},\n{GRAPH_ROW}]"), &o).unwrap();
        let (r3, c) = read_str("lines.jsonl", &format!("{GRAPH_ROW}\n{GRAPH_ROW}\n"), &o).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            (r1.format, r2.format, r3.format),
            (
                Some(LogFormat::GraphJson),
                Some(LogFormat::GraphJson),
                Some(LogFormat::JsonLines)
            )
        );
        let s = &a[0];
        assert_eq!(s.target, Target::App(App::Teams));
        assert_eq!(s.device, Some(DeviceTrust::EntraJoined));
        assert_eq!(s.compliant, Some(true));
        assert_eq!(s.client, Some(Client::Native));
        assert_eq!(s.credential, Some(Credential::WindowsHello));
        assert_eq!(s.trusted_location, Some(true));
        assert!(s.interactive && s.prompt);
    }

    #[test]
    fn bad_rows_are_counted_with_their_line_and_the_rest_are_read() {
        let bad_time = GRAPH_ROW.replace("2026-01-05T08:30:12Z", "last tuesday");
        let text = format!("{GRAPH_ROW}\n{{\"createdDateTime\": \n{bad_time}\n{GRAPH_ROW}\n");
        let (r, rows) = read_str("x.jsonl", &text, &ReadOptions::default()).unwrap();
        assert_eq!((rows.len(), r.bad), (2, 2));
        assert!(
            r.bad_examples[0].starts_with("line 2:"),
            "{:?}",
            r.bad_examples
        );
        assert!(
            r.bad_examples[1].starts_with("line 3:") && r.bad_examples[1].contains("not a time")
        );
    }

    #[test]
    fn a_file_that_is_not_a_sign_in_log_is_refused_by_name() {
        let err = read_str(
            "inventory.csv",
            "name,owner\npc1,it\n",
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a sign-in log"), "{err}");
        let err = read_str(
            "policy.json",
            r#"{"displayName":"x","state":"enabled"}"#,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a sign-in log"), "{err}");
        let err = read_str("empty.json", "  \n", &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = read_str(
            "cut.json",
            &format!("{{\"value\":[{GRAPH_ROW},"),
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("broken JSON"), "{err}");
    }

    #[test]
    fn log_analytics_csv_with_json_columns_and_group_by() {
        let text = "TimeGenerated,UserPrincipalName,AppDisplayName,ClientAppUsed,IsInteractive,ResultType,DeviceDetail,AuthenticationDetails,Department\n\
            \"1/5/2026, 8:30:12.000 AM\",bob@contoso.example,OfficeHome,Browser,True,0,\"{\"\"deviceId\"\":\"\"\"\",\"\"trustType\"\":\"\"\"\",\"\"isCompliant\"\":false}\",\"[{\"\"authenticationMethod\"\":\"\"Password\"\",\"\"succeeded\"\":true}]\",Sales\n";
        let o = ReadOptions {
            group_by: Some("department".into()),
            ..ReadOptions::default()
        };
        let (r, rows) = read_str("la.csv", text, &o).unwrap();
        assert_eq!(r.format, Some(LogFormat::LogAnalyticsCsv));
        let s = &rows[0];
        assert_eq!(s.target, Target::App(App::OfficeWeb));
        assert_eq!(s.device, Some(DeviceTrust::Unmanaged));
        assert_eq!(s.client, Some(Client::Browser));
        assert_eq!(s.credential, Some(Credential::Password));
        assert_eq!(s.group.as_deref(), Some("Sales"));
        assert!(s.prompt);
        let err = read_str(
            "la.csv",
            text,
            &ReadOptions {
                group_by: Some("costCenter".into()),
                ..ReadOptions::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("--group-by `costCenter`"), "{err}");
    }

    #[test]
    fn silent_browser_single_sign_on_is_not_a_prompt() {
        let sso = GRAPH_ROW.replace(
            r#""isInteractive":true"#,
            r#""isInteractive":true,"incomingTokenType":"primaryRefreshToken""#,
        );
        let (_, rows) = read_str("sso.jsonl", &sso, &ReadOptions::default()).unwrap();
        assert!(rows[0].interactive && !rows[0].prompt);
        let previously = GRAPH_ROW.replace("Windows Hello for Business", "Previously satisfied");
        let (_, rows) = read_str("prev.jsonl", &previously, &ReadOptions::default()).unwrap();
        assert!(!rows[0].prompt);
    }

    #[test]
    fn a_second_factor_filed_as_primary_authentication_is_told_by_method_or_order() {
        // Real records file every step under "Primary authentication" (or none): a
        // method that is only ever a second factor is one, and so is a passkey or
        // Windows Hello that follows a password.
        let with = |details: &str| {
            let row = GRAPH_ROW.replace(
                r#"[{"authenticationMethod":"Windows Hello for Business","succeeded":true,"authenticationStepRequirement":"Primary authentication"}]"#,
                details,
            );
            let (_, rows) = read_str("x.jsonl", &row, &ReadOptions::default()).unwrap();
            (rows[0].credential, rows[0].mfa)
        };
        let step = |m: &str, s: &str| {
            format!(
                r#"{{"authenticationMethod":"{m}","succeeded":true,"authenticationStepRequirement":"{s}"}}"#
            )
        };
        let p = "Primary authentication";
        assert_eq!(
            with(&format!(
                "[{},{}]",
                step("Password", p),
                step("Mobile app notification", p)
            )),
            (Some(Credential::Password), Some(MfaMethod::PushNumberMatch))
        );
        assert_eq!(
            with(&format!(
                "[{},{}]",
                step("Password", ""),
                step("Text message", "")
            )),
            (Some(Credential::Password), Some(MfaMethod::PushNumberMatch))
        );
        assert_eq!(
            with(&format!(
                "[{},{}]",
                step("Password", p),
                step("Passkey (device-bound)", p)
            )),
            (Some(Credential::Password), Some(MfaMethod::Passkey))
        );
        assert_eq!(
            with(&format!("[{}]", step("FIDO2 security key", p))),
            (Some(Credential::Passkey), None)
        );
    }

    #[test]
    fn utf16_logs_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u16.jsonl");
        let mut bytes = vec![0xFF, 0xFE];
        for u in GRAPH_ROW.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        std::fs::write(&path, bytes).unwrap();
        let mut n = 0;
        read_log(&path, &ReadOptions::default(), &mut |_| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn app_names_map_to_the_simulated_apps() {
        assert_eq!(
            classify_app("Office 365 Exchange Online"),
            Target::App(App::Exchange)
        );
        assert_eq!(
            classify_app("Microsoft Outlook"),
            Target::App(App::Exchange)
        );
        assert_eq!(
            classify_app("OneDrive SyncEngine"),
            Target::App(App::Sharepoint)
        );
        assert_eq!(classify_app("Windows Sign In"), Target::DeviceSignIn);
        assert_eq!(classify_app("Azure Portal"), Target::App(App::AzurePortal));
        assert_eq!(classify_app("Salesforce"), Target::Other);
        assert_eq!(parse_trust("ServerAd"), Some(DeviceTrust::HybridJoined));
        assert_eq!(parse_trust("Workplace"), Some(DeviceTrust::Registered));
        assert_eq!(
            parse_trust("Microsoft Entra joined"),
            Some(DeviceTrust::EntraJoined)
        );
    }
}
