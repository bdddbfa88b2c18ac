//! User populations (`models/populations/*.toml`): personas with shares, their devices,
//! clients, credentials, work patterns and app use, and the generator that turns a persona
//! into one user's days of actions.
//!
//! Every number in a shipped population file is listed in `docs/model.md` with its source,
//! or marked there as an illustrative default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::Deserialize;
use toml::Spanned;

use crate::engine::time::{parse_time, Duration, SimTime, DAY, MINUTE};
use crate::error::{line_col, read_text, InputError};
use crate::model::{Action, Credential, Facts, MfaMethod, Profile, Protected};
use crate::policy::{GuestType, LocationContext, Platform, RiskLevel, UserIdentity};
use crate::world::app::{unknown_name, App, Client, DeviceTrust};
pub use crate::world::draw::{instant, pick, poisson, DurationDist, Workday};
use crate::world::draw::{round_seconds, PoissonCount};
use crate::world::threat::{RawThreat, Threat};

/// Which client a persona's app runs in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientChoice {
    Browser,
    Native,
    /// Per user: the browser with the persona's `browser_share`, else the native app.
    Either,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppUse {
    pub app: Spanned<String>,
    #[serde(default = "default_either")]
    pub client: ClientChoice,
    /// The app syncs in the background for the whole workday (mail, chat).
    #[serde(default)]
    pub background: bool,
    /// Foreground sessions per workday (Poisson mean).
    #[serde(default)]
    pub sessions: f64,
    #[serde(default = "default_session_length")]
    pub session_length: DurationDist,
}

fn default_either() -> ClientChoice {
    ClientChoice::Either
}
fn default_session_length() -> DurationDist {
    DurationDist::Exponential {
        mean: Duration::from_mins(15),
    }
}

/// What a user does at the end of the workday.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfDay {
    /// Locks the device overnight.
    Lock,
    /// Signs out of a shared device: the profile and its sessions go.
    SignOut,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkPattern {
    pub start: Spanned<String>,
    pub start_jitter: Duration,
    pub length: Duration,
    pub length_jitter: Duration,
    /// Chance of working on a weekday (leave and sickness make it less than one).
    pub workday_share: f64,
    pub weekend_share: f64,
    pub lunch: DurationDist,
    /// Short breaks (device locked) per workday, Poisson mean.
    pub breaks: f64,
    pub break_length: DurationDist,
    pub meetings: f64,
    pub meeting_length: DurationDist,
    /// Share of meetings held online in Teams; the rest are in a room with the device locked.
    pub meetings_in_teams: f64,
    /// Browser restarts per workday, Poisson mean.
    pub browser_restarts: f64,
    /// Chance the browser is closed overnight.
    pub browser_closed_overnight: f64,
    pub end_of_day: EndOfDay,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitive {
    #[serde(default)]
    pub register_security_info_per_week: f64,
    #[serde(default)]
    pub auth_context: Option<Spanned<String>>,
    #[serde(default)]
    pub auth_context_per_week: f64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRates {
    /// High user-risk detections per user-year.
    #[serde(default)]
    pub user_risk_per_year: f64,
    /// Risky sign-ins (high) per user-year.
    #[serde(default)]
    pub sign_in_risk_per_year: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPersona {
    name: String,
    share: Spanned<f64>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    devices: Spanned<BTreeMap<String, f64>>,
    #[serde(default)]
    compliant: f64,
    #[serde(default = "half")]
    browser_share: f64,
    #[serde(default)]
    credentials: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default)]
    mfa: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default = "half")]
    kmsi_accept: f64,
    /// Share who tick "Don't ask again for X days" when the tenant remembers MFA; by
    /// default the users who answer "Stay signed in?" yes (no published figure).
    #[serde(default)]
    remember_mfa_accept: Option<f64>,
    #[serde(default = "one")]
    trusted_location: f64,
    #[serde(default)]
    platform: Option<Spanned<String>>,
    /// The persona's users are guests or external users of this Graph type.
    #[serde(default)]
    guest: Option<Spanned<String>>,
    /// The named location ids the users' sign-ins fall in, at a trusted place and
    /// elsewhere, so that a tenant's location policies resolve.
    #[serde(default)]
    named_location: NamedLocations,
    /// Attributes of the users' devices (those with an Entra identity) for device filters.
    #[serde(default)]
    device_attributes: Option<Spanned<BTreeMap<String, String>>>,
    work: WorkPattern,
    apps: Vec<AppUse>,
    #[serde(default)]
    sensitive: Sensitive,
    #[serde(default)]
    risk: RiskRates,
}

/// `named_location = { trusted = "id", untrusted = "id" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedLocations {
    #[serde(default)]
    pub trusted: Option<String>,
    #[serde(default)]
    pub untrusted: Option<String>,
}

fn half() -> f64 {
    0.5
}
fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "default_domain")]
    domain: String,
    #[serde(default)]
    remediation: Remediation,
    #[serde(default)]
    threat: RawThreat,
    persona: Vec<RawPersona>,
}

fn default_domain() -> String {
    "contoso.example".into()
}

/// How long risk lasts when no policy remediates it (an administrator dismisses it, or
/// the detection ages out).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Remediation {
    pub user_risk_duration: Duration,
    pub sign_in_risk_duration: Duration,
}

impl Default for Remediation {
    fn default() -> Self {
        Remediation {
            user_risk_duration: Duration::from_days(1),
            sign_in_risk_duration: Duration::from_hours(1),
        }
    }
}

/// One app a persona uses, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct AppPlan {
    pub app: App,
    pub client: ClientChoice,
    pub background: bool,
    pub sessions: f64,
    pub session_length: DurationDist,
}

/// A validated persona.
#[derive(Clone, Debug)]
pub struct Persona {
    pub name: String,
    pub share: f64,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub devices: [f64; 4],
    pub compliant: f64,
    pub browser_share: f64,
    pub credentials: [f64; 3],
    pub mfa: [f64; 3],
    pub kmsi_accept: f64,
    /// `None`: the users who accept "Stay signed in?" tick remember-MFA too.
    pub remember_mfa_accept: Option<f64>,
    pub trusted_location: f64,
    pub platform: Platform,
    pub guest: Option<GuestType>,
    pub named_location: NamedLocations,
    /// Lower-case attribute names without `device.`, with their values.
    pub device_attributes: Vec<(String, String)>,
    pub start: Duration,
    pub work: WorkPattern,
    pub apps: Vec<AppPlan>,
    pub register_info_per_week: f64,
    pub auth_context: Option<Protected>,
    pub auth_context_per_week: f64,
    pub risk: RiskRates,
}

/// A validated population.
#[derive(Clone, Debug)]
pub struct Population {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub domain: String,
    pub remediation: Remediation,
    pub threat: Threat,
    /// The `[threat]` table as written, for an experiment's overrides.
    pub threat_table: toml::Table,
    pub personas: Vec<Persona>,
}

struct Ctx<'a> {
    path: &'a Path,
    source: &'a str,
}

impl Ctx<'_> {
    fn at<T>(&self, s: &Spanned<T>, field: String, msg: impl Into<String>) -> InputError {
        let (l, c) = line_col(self.source, s.span().start);
        InputError::new(self.path, msg)
            .position(format!("{l}:{c}"))
            .field(field)
    }
}

/// Shares must be in [0, 1] and sum to one (within rounding).
const SHARE_TOLERANCE: f64 = 1e-6;

fn mix<const N: usize>(
    cx: &Ctx,
    field: String,
    raw: &Spanned<BTreeMap<String, f64>>,
    names: [&str; N],
) -> Result<[f64; N], InputError> {
    let mut out = [0.0; N];
    for (k, v) in raw.get_ref() {
        let i = names
            .iter()
            .position(|n| n == k)
            .ok_or_else(|| cx.at(raw, field.clone(), unknown_name("key", k, &names)))?;
        if !(0.0..=1.0).contains(v) || !v.is_finite() {
            return Err(cx.at(
                raw,
                format!("{field}.{k}"),
                format!("share {v} is not between 0 and 1"),
            ));
        }
        out[i] = *v;
    }
    let sum: f64 = out.iter().sum();
    if (sum - 1.0).abs() > SHARE_TOLERANCE {
        return Err(cx.at(raw, field, format!("shares sum to {sum}, not 1")));
    }
    Ok(out)
}

fn probability(
    cx: &Ctx,
    field: String,
    v: f64,
    anchor: &Spanned<String>,
) -> Result<f64, InputError> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(cx.at(
            anchor,
            field,
            format!("{v} is not a probability between 0 and 1"),
        ))
    }
}

fn rate(cx: &Ctx, field: String, v: f64, anchor: &Spanned<String>) -> Result<f64, InputError> {
    // Rates above 10,000 per period are a unit mistake, and would make Poisson draws slow.
    if v.is_finite() && (0.0..=10_000.0).contains(&v) {
        Ok(v)
    } else {
        Err(cx.at(
            anchor,
            field,
            format!("{v} is not a rate between 0 and 10000"),
        ))
    }
}

impl Population {
    /// The share of users on each device type ([`DeviceTrust::index`] order).
    pub fn device_mix(&self) -> [f64; 4] {
        let mut mix = [0.0; 4];
        for p in &self.personas {
            for (m, d) in mix.iter_mut().zip(p.devices) {
                *m += p.share * d;
            }
        }
        mix
    }

    /// What policies see of a user with these traits (rule tables are built per profile).
    pub fn profile(&self, t: &UserTraits) -> Profile {
        let persona = &self.personas[t.persona];
        Profile {
            identity: UserIdentity {
                id: format!("{}@{}", persona.name, self.domain),
                groups: persona.groups.clone(),
                roles: persona.roles.clone(),
                guest: persona.guest,
            },
            facts: Facts {
                device: t.device,
                compliant: t.compliant,
                mfa_method: t.mfa_method,
                credential: t.credential,
            },
            platform: persona.platform,
            location: LocationContext {
                trusted: t.trusted_location,
                named_location: if t.trusted_location {
                    persona.named_location.trusted.clone()
                } else {
                    persona.named_location.untrusted.clone()
                },
            },
            device_attributes: if t.device == DeviceTrust::Unmanaged {
                Vec::new()
            } else {
                persona.device_attributes.clone()
            },
        }
    }

    pub fn load(path: &Path) -> Result<Population, InputError> {
        let source = read_text(path)?;
        Population::parse(path, &source)
    }

    pub fn parse(path: &Path, source: &str) -> Result<Population, InputError> {
        let raw: RawPopulation =
            toml::from_str(source).map_err(|e| InputError::from_toml(path, source, &e))?;
        let cx = Ctx { path, source };
        if raw.persona.is_empty() {
            return Err(
                InputError::new(path, "a population needs at least one [[persona]]")
                    .field("persona"),
            );
        }
        let mut personas = Vec::with_capacity(raw.persona.len());
        let mut names = std::collections::HashSet::new();
        for (i, p) in raw.persona.iter().enumerate() {
            let f = |name: &str| format!("persona[{i}].{name}");
            if !names.insert(p.name.clone()) {
                return Err(cx.at(
                    &p.devices,
                    f("name"),
                    format!("duplicate persona name `{}`", p.name),
                ));
            }
            let share = *p.share.get_ref();
            if !(0.0..=1.0).contains(&share) {
                return Err(cx.at(
                    &p.share,
                    f("share"),
                    format!("{share} is not between 0 and 1"),
                ));
            }
            let devices = mix(
                &cx,
                f("devices"),
                &p.devices,
                DeviceTrust::ALL.map(|d| d.name()),
            )?;
            let credentials = match &p.credentials {
                Some(c) => mix(&cx, f("credentials"), c, ["password", "whfb", "passkey"])?,
                None => [1.0, 0.0, 0.0],
            };
            if credentials[1] > 0.0 && devices[3] >= 1.0 {
                return Err(InputError::new(path, "Windows Hello for Business needs devices with an Entra identity, but every device is unmanaged").field(f("credentials")));
            }
            let mfa = match &p.mfa {
                Some(m) => mix(&cx, f("mfa"), m, MfaMethod::ALL.map(|m| m.name()))?,
                None => [0.0, 1.0, 0.0],
            };
            let anchor = &p.work.start;
            let start = parse_time(anchor.get_ref())
                .map_err(|e| cx.at(anchor, f("work.start"), e.to_string()))?;
            if start.as_secs() >= DAY {
                return Err(cx.at(
                    anchor,
                    f("work.start"),
                    "the workday must start before 24:00",
                ));
            }
            let w = &p.work;
            if w.length.is_zero() || w.length.as_secs() > DAY {
                return Err(cx.at(
                    anchor,
                    f("work.length"),
                    format!("{} is not a workday length between 1s and 24h", w.length),
                ));
            }
            for (name, v) in [
                ("compliant", p.compliant),
                ("browser_share", p.browser_share),
                ("kmsi_accept", p.kmsi_accept),
                ("remember_mfa_accept", p.remember_mfa_accept.unwrap_or(0.0)),
                ("trusted_location", p.trusted_location),
            ] {
                probability(&cx, f(name), v, anchor)?;
            }
            for (name, v) in [
                ("work.workday_share", w.workday_share),
                ("work.weekend_share", w.weekend_share),
                ("work.meetings_in_teams", w.meetings_in_teams),
                ("work.browser_closed_overnight", w.browser_closed_overnight),
            ] {
                probability(&cx, f(name), v, anchor)?;
            }
            for (name, v) in [
                ("work.breaks", w.breaks),
                ("work.meetings", w.meetings),
                ("work.browser_restarts", w.browser_restarts),
                (
                    "sensitive.register_security_info_per_week",
                    p.sensitive.register_security_info_per_week,
                ),
                (
                    "sensitive.auth_context_per_week",
                    p.sensitive.auth_context_per_week,
                ),
                ("risk.user_risk_per_year", p.risk.user_risk_per_year),
                ("risk.sign_in_risk_per_year", p.risk.sign_in_risk_per_year),
            ] {
                rate(&cx, f(name), v, anchor)?;
            }
            let platform = match &p.platform {
                Some(s) => Platform::parse(s.get_ref()).map_err(|e| cx.at(s, f("platform"), e))?,
                None => Platform::Windows,
            };
            let mut apps = Vec::with_capacity(p.apps.len());
            for (j, a) in p.apps.iter().enumerate() {
                let app = App::parse(a.app.get_ref())
                    .map_err(|e| cx.at(&a.app, f(&format!("apps[{j}].app")), e))?;
                rate(&cx, f(&format!("apps[{j}].sessions")), a.sessions, &a.app)?;
                apps.push(AppPlan {
                    app,
                    client: a.client,
                    background: a.background,
                    sessions: a.sessions,
                    session_length: a.session_length.clone(),
                });
            }
            if apps.is_empty() {
                return Err(cx.at(anchor, f("apps"), "a persona needs at least one app"));
            }
            let auth_context = match &p.sensitive.auth_context {
                Some(s) => Some(
                    Protected::parse_auth_context(s.get_ref())
                        .map_err(|e| cx.at(s, f("sensitive.auth_context"), e))?,
                ),
                None => None,
            };
            if auth_context.is_none() && p.sensitive.auth_context_per_week > 0.0 {
                return Err(cx.at(
                    anchor,
                    f("sensitive.auth_context"),
                    "auth_context_per_week needs `auth_context` (e.g. \"c1\")",
                ));
            }
            let guest = match &p.guest {
                Some(g) => {
                    Some(GuestType::parse(g.get_ref()).map_err(|e| cx.at(g, f("guest"), e))?)
                }
                None => None,
            };
            let mut device_attributes = Vec::new();
            if let Some(attrs) = &p.device_attributes {
                for (k, v) in attrs.get_ref() {
                    let name = crate::policy::attribute_name(k)
                        .map_err(|e| cx.at(attrs, f(&format!("device_attributes.{k}")), e))?;
                    device_attributes.push((name, v.clone()));
                }
            }
            personas.push(Persona {
                name: p.name.clone(),
                share,
                groups: p.groups.clone(),
                roles: p.roles.clone(),
                devices,
                compliant: p.compliant,
                browser_share: p.browser_share,
                credentials,
                mfa,
                kmsi_accept: p.kmsi_accept,
                remember_mfa_accept: p.remember_mfa_accept,
                trusted_location: p.trusted_location,
                platform,
                guest,
                named_location: p.named_location.clone(),
                device_attributes,
                start: Duration::from_secs(start.as_secs()),
                work: p.work.clone(),
                apps,
                register_info_per_week: p.sensitive.register_security_info_per_week,
                auth_context,
                auth_context_per_week: p.sensitive.auth_context_per_week,
                risk: p.risk.clone(),
            });
        }
        let total: f64 = personas.iter().map(|p| p.share).sum();
        if (total - 1.0).abs() > SHARE_TOLERANCE {
            return Err(
                InputError::new(path, format!("persona shares sum to {total}, not 1"))
                    .field("persona[].share"),
            );
        }
        let threat = Threat::from_raw(&raw.threat)
            .map_err(|(field, msg)| InputError::new(path, msg).field(format!("threat.{field}")))?;
        // The file parsed above, so it parses as a table too.
        let threat_table = toml::from_str::<toml::Table>(source)
            .ok()
            .and_then(|mut t| t.remove("threat"))
            .and_then(|v| match v {
                toml::Value::Table(t) => Some(t),
                _ => None,
            })
            .unwrap_or_default();
        Ok(Population {
            path: path.to_path_buf(),
            name: raw.name,
            description: raw.description,
            domain: raw.domain,
            remediation: raw.remediation,
            threat,
            threat_table,
            personas,
        })
    }

    /// Replaces `[threat]` entries with an experiment's: tables merge key by key, any other
    /// value replaces the population's. Errors name the field (under `threat.`).
    pub fn override_threat(&mut self, overrides: &toml::Table) -> Result<(), (String, String)> {
        fn merge(base: &mut toml::Table, over: &toml::Table) {
            for (k, v) in over {
                match (base.get_mut(k), v) {
                    (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
                    _ => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut table = self.threat_table.clone();
        merge(&mut table, overrides);
        let raw: RawThreat = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| ("threat".to_string(), e.message().trim().to_string()))?;
        self.threat = Threat::from_raw(&raw).map_err(|(f, m)| (format!("threat.{f}"), m))?;
        self.threat_table = table;
        Ok(())
    }
}

/// The drawn, fixed traits of one simulated user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserTraits {
    pub persona: usize,
    pub device: DeviceTrust,
    pub compliant: bool,
    pub credential: Credential,
    pub mfa_method: MfaMethod,
    pub kmsi_accept: bool,
    /// Ticks "Don't ask again for X days" (remember MFA).
    pub remember_mfa_accept: bool,
    pub trusted_location: bool,
    /// Client of each app the persona uses, in the persona's app order.
    pub clients: Vec<Client>,
}

impl UserTraits {
    /// Draws one user. `mfa_mix` replaces the persona's MFA method shares (a sweep over
    /// the method mix); the number of random draws is the same either way, so the other
    /// traits stay identical across designs.
    pub fn draw<R: Rng>(
        rng: &mut R,
        population: &Population,
        mfa_mix: Option<&[f64; 3]>,
    ) -> UserTraits {
        let shares: Vec<f64> = population.personas.iter().map(|p| p.share).collect();
        let persona = pick(rng, &shares);
        let p = &population.personas[persona];
        let device = DeviceTrust::ALL[pick(rng, &p.devices)];
        let compliant = device != DeviceTrust::Unmanaged && rng.random_bool(p.compliant);
        let mut credential = [
            Credential::Password,
            Credential::WindowsHello,
            Credential::Passkey,
        ][pick(rng, &p.credentials)];
        if credential == Credential::WindowsHello && device == DeviceTrust::Unmanaged {
            // Windows Hello needs a device with an Entra identity.
            credential = Credential::Password;
        }
        let mfa_method = MfaMethod::ALL[pick(rng, mfa_mix.unwrap_or(&p.mfa))];
        let kmsi_accept = rng.random_bool(p.kmsi_accept);
        let trusted_location = rng.random_bool(p.trusted_location);
        let clients = p
            .apps
            .iter()
            .map(|a| match a.client {
                ClientChoice::Browser => Client::Browser,
                ClientChoice::Native => Client::Native,
                ClientChoice::Either => {
                    if rng.random_bool(p.browser_share) {
                        Client::Browser
                    } else {
                        Client::Native
                    }
                }
            })
            .collect();
        // Drawn last, and only when the persona sets a share, so that populations without
        // one draw exactly as before.
        let remember_mfa_accept = match p.remember_mfa_accept {
            Some(share) => rng.random_bool(share),
            None => kmsi_accept,
        };
        UserTraits {
            persona,
            device,
            compliant,
            credential,
            mfa_method,
            kmsi_accept,
            remember_mfa_accept,
            trusted_location,
            clients,
        }
    }
}

/// Draws which days the user works and when, from day number `first_day` (a Monday: day
/// numbers that are multiples of 7 are Mondays) for `days` days.
pub fn draw_workdays<R: Rng>(
    rng: &mut R,
    persona: &Persona,
    first_day: u64,
    days: u32,
    out: &mut Vec<Option<Workday>>,
) {
    out.clear();
    let w = &persona.work;
    let start_jitter = Normal::new(0.0, w.start_jitter.as_secs() as f64).ok();
    let length_jitter = Normal::new(0.0, w.length_jitter.as_secs() as f64).ok();
    for day in 0..days as u64 {
        let weekend = day % 7 >= 5;
        let p = if weekend {
            w.weekend_share
        } else {
            w.workday_share
        };
        if !rng.random_bool(p) {
            out.push(None);
            continue;
        }
        let jitter = |n: &Option<Normal<f64>>, rng: &mut R| n.map_or(0.0, |n| n.sample(rng));
        let start = (persona.start.as_secs() as f64 + jitter(&start_jitter, rng))
            .clamp(0.0, (DAY - MINUTE) as f64);
        let length = (w.length.as_secs() as f64 + jitter(&length_jitter, rng))
            .clamp(30.0 * MINUTE as f64, (DAY - MINUTE) as f64);
        let start = SimTime::from_secs((first_day + day) * DAY + round_seconds(start));
        out.push(Some(Workday {
            start,
            end: start + Duration::from_secs(round_seconds(length)),
        }));
    }
}

/// A persona's counts per workday, as distributions set up once per run instead of once
/// per count ([`PoissonCount`]).
#[derive(Clone, Debug)]
pub struct DayCounts {
    /// Sessions of each of the persona's apps, in its order.
    sessions: Vec<PoissonCount>,
    breaks: PoissonCount,
    meetings: PoissonCount,
    browser_restarts: PoissonCount,
    /// Uses of the authentication context: its weekly rate over five workdays.
    auth_context: PoissonCount,
}

impl DayCounts {
    pub fn of(p: &Persona) -> Self {
        DayCounts {
            sessions: p
                .apps
                .iter()
                .map(|a| PoissonCount::new(a.sessions))
                .collect(),
            breaks: PoissonCount::new(p.work.breaks),
            meetings: PoissonCount::new(p.work.meetings),
            browser_restarts: PoissonCount::new(p.work.browser_restarts),
            auth_context: PoissonCount::new(p.auth_context_per_week / 5.0),
        }
    }
}

/// Generates one workday's actions, in any order (the queue sorts them by time). `counts`
/// are the persona's ([`DayCounts::of`]).
pub fn plan_day<R: Rng>(
    rng: &mut R,
    population: &Population,
    traits: &UserTraits,
    counts: &DayCounts,
    day: Workday,
    plan: &mut Vec<(SimTime, Action)>,
) {
    let p = &population.personas[traits.persona];
    let w = &p.work;
    let (start, end) = (day.start, day.end);
    // Arrive: a Windows sign-in or unlock renews the PRT on joined devices.
    plan.push((
        start,
        Action::SignIn {
            app: None,
            client: Client::Native,
        },
    ));
    for ((a, client), sessions) in p.apps.iter().zip(&traits.clients).zip(&counts.sessions) {
        if a.background {
            plan.push((
                start,
                Action::Background {
                    app: a.app,
                    client: *client,
                    until: end,
                },
            ));
        }
        for _ in 0..sessions.sample(rng) {
            let len = a
                .session_length
                .sample(rng)
                .max(Duration::from_secs(MINUTE));
            let at = instant(rng, start, end);
            plan.push((
                at,
                Action::Use {
                    app: a.app,
                    client: *client,
                    until: (at + len).min(end),
                },
            ));
        }
    }
    // Lunch around the middle of the day, then short breaks: the device is locked.
    let mid = start + Duration::from_secs((end - start).as_secs() / 2);
    let lunch = w.lunch.sample(rng);
    if !lunch.is_zero() {
        plan.push((mid, Action::Lock));
        plan.push(((mid + lunch).min(end), Action::Unlock));
    }
    for _ in 0..counts.breaks.sample(rng) {
        let at = instant(rng, start, end);
        plan.push((at, Action::Lock));
        plan.push(((at + w.break_length.sample(rng)).min(end), Action::Unlock));
    }
    let teams = p
        .apps
        .iter()
        .zip(&traits.clients)
        .find(|(a, _)| a.app == App::Teams)
        .map(|(_, c)| *c);
    for _ in 0..counts.meetings.sample(rng) {
        let at = instant(rng, start, end);
        let len = w
            .meeting_length
            .sample(rng)
            .max(Duration::from_secs(MINUTE));
        match teams {
            Some(client) if rng.random_bool(w.meetings_in_teams) => plan.push((
                at,
                Action::Use {
                    app: App::Teams,
                    client,
                    until: (at + len).min(end),
                },
            )),
            _ => {
                plan.push((at, Action::Lock));
                plan.push(((at + len).min(end), Action::Unlock));
            }
        }
    }
    for _ in 0..counts.browser_restarts.sample(rng) {
        let at = instant(rng, start, end);
        plan.push((at, Action::CloseBrowser));
        plan.push((
            at + Duration::from_secs(MINUTE).min(end - at),
            Action::OpenBrowser,
        ));
    }
    // Sensitive actions: weekly rates spread over five workdays.
    if rng.random_bool((p.register_info_per_week / 5.0).min(1.0)) {
        plan.push((
            instant(rng, start, end),
            Action::Open {
                app: App::Graph,
                client: Client::Browser,
                protected: Some(Protected::RegisterSecurityInfo),
            },
        ));
    }
    if let Some(ctx) = p.auth_context {
        for _ in 0..counts.auth_context.sample(rng) {
            plan.push((
                instant(rng, start, end),
                Action::Open {
                    app: App::Sharepoint,
                    client: Client::Browser,
                    protected: Some(ctx),
                },
            ));
        }
    }
    match w.end_of_day {
        EndOfDay::Lock => plan.push((end, Action::Lock)),
        EndOfDay::SignOut => plan.push((end, Action::SignOut)),
    }
    if rng.random_bool(w.browser_closed_overnight) {
        plan.push((end, Action::CloseBrowser));
    }
}

/// Risk detections over `days` days from day number `first_day` (any day, any hour), with
/// their automatic end.
pub fn plan_risk<R: Rng>(
    rng: &mut R,
    population: &Population,
    traits: &UserTraits,
    first_day: u64,
    days: u32,
    plan: &mut Vec<(SimTime, Action)>,
) {
    let p = &population.personas[traits.persona];
    let start = SimTime::from_secs(first_day * DAY);
    let horizon = SimTime::from_secs((first_day + days as u64) * DAY);
    let years = days as f64 / 365.0;
    for _ in 0..poisson(rng, p.risk.user_risk_per_year * years) {
        let at = instant(rng, start, horizon);
        plan.push((at, Action::SetUserRisk(RiskLevel::High)));
        plan.push((
            at + population.remediation.user_risk_duration,
            Action::SetUserRisk(RiskLevel::None),
        ));
    }
    for _ in 0..poisson(rng, p.risk.sign_in_risk_per_year * years) {
        let at = instant(rng, start, horizon);
        plan.push((at, Action::SetSignInRisk(RiskLevel::High)));
        plan.push((
            at + population.remediation.sign_in_risk_duration,
            Action::SetSignInRisk(RiskLevel::None),
        ));
    }
}
