//! The assignments and conditions of one policy, and whether a sign-in meets them.
//!
//! Every condition is checked in a fixed order (users, target resources, client apps,
//! platforms, locations, devices, user risk, sign-in risk) and the first one that excludes
//! the sign-in is returned as a [`Reason`], which is cheap to produce (no allocation: the
//! engine evaluates thousands of contexts per user) and rendered to text only when asked.
//!
//! Exclusions beat inclusions within a condition, as in Entra
//! (concept-conditional-access-users-groups.md). An unconfigured condition matches
//! everything; see docs/policies.md for each condition's sources.

use crate::world::app::{Client, DeviceTrust};

use super::filter::{DeviceFacts, DeviceFilter, FilterMode};
use super::known;
use super::{
    AuthFlow, GuestTypes, Platform, Policy, PolicyState, RiskLevel, SignInContext, Target,
};

/// Users, groups and roles in and out of scope (`conditions.users`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Users {
    /// `includeUsers: ["All"]`.
    pub include_all: bool,
    /// Guest types in scope: every type for `includeUsers: ["GuestsOrExternalUsers"]`, the
    /// listed ones for `includeGuestsOrExternalUsers`.
    pub include_guests: GuestTypes,
    /// Ids, lower-case.
    pub include_users: Vec<String>,
    pub include_groups: Vec<String>,
    /// Role template ids.
    pub include_roles: Vec<String>,
    pub exclude_guests: GuestTypes,
    pub exclude_users: Vec<String>,
    pub exclude_groups: Vec<String>,
    pub exclude_roles: Vec<String>,
}

/// An entry of `includeApplications` / `excludeApplications`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppSel {
    All,
    /// The Office 365 app group ([`crate::world::app::App::in_office365_group`]).
    Office365,
    /// `MicrosoftAdminPortals`.
    AdminPortals,
    /// An application id, lower-case.
    Id(String),
}

impl AppSel {
    fn matches(&self, target: &Target) -> bool {
        match (self, target) {
            (AppSel::All, Target::App(_) | Target::OtherApp(_)) => true,
            (AppSel::Office365, Target::App(app)) => app.in_office365_group(),
            (AppSel::AdminPortals, Target::App(app)) => known::is_admin_portal(*app),
            (AppSel::Id(id), Target::App(app)) => known::app_has_id(*app, id),
            (AppSel::Id(id), Target::OtherApp(other)) => id.eq_ignore_ascii_case(other),
            _ => false,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            AppSel::All => "All",
            AppSel::Office365 => "Office365",
            AppSel::AdminPortals => known::ADMIN_PORTALS,
            AppSel::Id(id) => id,
        }
    }
}

/// Target resources (`conditions.applications`): apps, user actions or authentication
/// contexts. A policy that targets user actions or contexts does not apply to a plain app
/// sign-in, and an app policy does not apply to a user action or a context request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub include_apps: Vec<AppSel>,
    pub exclude_apps: Vec<AppSel>,
    /// `urn:user:registersecurityinfo`, `urn:user:registerdevice`.
    pub user_actions: Vec<String>,
    /// `c1` .. `c25`.
    pub auth_contexts: Vec<String>,
}

impl Resources {
    pub fn all_apps() -> Self {
        Resources {
            include_apps: vec![AppSel::All],
            ..Resources::default()
        }
    }

    /// `includeApplications: ["All"]` with no exclusion: what persistent browser and
    /// "disable CAE" require.
    pub fn is_all_apps(&self) -> bool {
        self.include_apps.contains(&AppSel::All) && self.exclude_apps.is_empty()
    }
}

/// `conditions.clientAppTypes` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAppType {
    All,
    Browser,
    MobileAppsAndDesktopClients,
    /// Legacy protocols (`exchangeActiveSync`, `other`, ...): the simulated clients are all
    /// modern, so these never match.
    Legacy(String),
}

impl ClientAppType {
    fn matches(&self, client: Client) -> bool {
        match self {
            ClientAppType::All => true,
            ClientAppType::Browser => client == Client::Browser,
            ClientAppType::MobileAppsAndDesktopClients => client == Client::Native,
            ClientAppType::Legacy(_) => false,
        }
    }
}

/// `includePlatforms` / `excludePlatforms` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformSel {
    All,
    One(Platform),
    /// `windowsPhone` and future values: no simulated device runs them.
    Other(String),
}

impl PlatformSel {
    fn matches(&self, p: Platform) -> bool {
        match self {
            PlatformSel::All => true,
            PlatformSel::One(x) => *x == p,
            PlatformSel::Other(_) => false,
        }
    }
}

/// `conditions.platforms`; an empty include list means "any platform".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Platforms {
    pub include: Vec<PlatformSel>,
    pub exclude: Vec<PlatformSel>,
}

/// `includeLocations` / `excludeLocations` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocationSel {
    All,
    AllTrusted,
    /// A named location id, lower-case. The all-zero id is "MFA Trusted IPs", which counts
    /// as a trusted location.
    Named(String),
}

impl LocationSel {
    fn matches(&self, ctx: &SignInContext) -> bool {
        match self {
            LocationSel::All => true,
            LocationSel::AllTrusted => ctx.location.trusted,
            LocationSel::Named(id) => {
                (id == known::MFA_TRUSTED_IPS && ctx.location.trusted)
                    || ctx
                        .location
                        .named_location
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(id))
            }
        }
    }

    pub fn label(&self) -> &str {
        match self {
            LocationSel::All => "All",
            LocationSel::AllTrusted => "AllTrusted",
            LocationSel::Named(id) => id,
        }
    }
}

/// `conditions.locations`; an empty include list means "any location".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locations {
    pub include: Vec<LocationSel>,
    pub exclude: Vec<LocationSel>,
}

/// A legacy device state that `excludeStates` / `excludeDevices` can name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// Marked compliant by Intune.
    Compliant,
    /// Microsoft Entra hybrid joined.
    DomainJoined,
}

impl DeviceState {
    fn matches(self, ctx: &SignInContext) -> bool {
        match self {
            DeviceState::Compliant => ctx.compliant && ctx.device != DeviceTrust::Unmanaged,
            DeviceState::DomainJoined => ctx.device == DeviceTrust::HybridJoined,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DeviceState::Compliant => "Compliant",
            DeviceState::DomainJoined => "DomainJoined",
        }
    }
}

/// `conditions.devices` (filter for devices) and the legacy `conditions.deviceStates`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Devices {
    pub filter: Option<DeviceFilter>,
    /// States excluded from scope; the include side can only be `All`.
    pub exclude_states: Vec<DeviceState>,
}

/// A condition no simulated sign-in meets (the policy targets workload identities, insider
/// risk, the device code flow, ...). It keeps the policy out of scope, with an explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    /// The JSON path of the condition.
    pub field: String,
    pub why: String,
}

/// All of a policy's assignments and conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    pub users: Users,
    pub resources: Resources,
    /// Empty: every client app type (concept-conditional-access-policies.md).
    pub client_app_types: Vec<ClientAppType>,
    pub platforms: Platforms,
    pub locations: Locations,
    pub devices: Devices,
    /// `None`: not configured. `Some(levels)`: the risk must be one of them.
    pub user_risk: Option<Vec<RiskLevel>>,
    pub sign_in_risk: Option<Vec<RiskLevel>>,
    /// `authenticationFlows.transferMethods`: `None` when not configured; else the policy
    /// applies only to sign-ins that use one of these flows.
    pub auth_flows: Option<Vec<AuthFlow>>,
    pub unmet: Vec<Unmet>,
}

impl Conditions {
    /// All users, all cloud apps, nothing else: the scenario shorthand's scope.
    pub fn all_users_all_apps() -> Self {
        Conditions {
            users: Users {
                include_all: true,
                ..Users::default()
            },
            resources: Resources::all_apps(),
            ..Conditions::default()
        }
    }

    /// Whether any condition beyond users and resources is configured. "Disable CAE" only
    /// works without them (concept-conditional-access-session.md).
    pub fn has_extra_conditions(&self) -> bool {
        !self
            .client_app_types
            .iter()
            .all(|c| *c == ClientAppType::All)
            || !self.platforms.include.is_empty()
            || !self.platforms.exclude.is_empty()
            || !self.locations.include.is_empty()
            || !self.locations.exclude.is_empty()
            || self.devices.filter.is_some()
            || !self.devices.exclude_states.is_empty()
            || self.user_risk.is_some()
            || self.sign_in_risk.is_some()
            || self.auth_flows.is_some()
            || !self.unmet.is_empty()
    }

    /// `Ok` when the sign-in is in scope, else the first condition that excluded it.
    pub fn check(&self, ctx: &SignInContext) -> Result<(), Reason> {
        if !self.unmet.is_empty() {
            return Err(Reason::Unmet(0));
        }
        self.check_users(ctx)?;
        self.check_resources(ctx)?;
        if !self.client_app_types.is_empty()
            && !self.client_app_types.iter().any(|c| c.matches(ctx.client))
        {
            return Err(Reason::ClientAppType);
        }
        if self
            .platforms
            .exclude
            .iter()
            .any(|p| p.matches(ctx.platform))
        {
            return Err(Reason::PlatformExcluded);
        }
        if !self.platforms.include.is_empty()
            && !self
                .platforms
                .include
                .iter()
                .any(|p| p.matches(ctx.platform))
        {
            return Err(Reason::PlatformNotIncluded);
        }
        if let Some(i) = self.locations.exclude.iter().position(|l| l.matches(ctx)) {
            return Err(Reason::LocationExcluded(i));
        }
        if !self.locations.include.is_empty()
            && !self.locations.include.iter().any(|l| l.matches(ctx))
        {
            return Err(Reason::LocationNotIncluded);
        }
        if let Some(state) = self.devices.exclude_states.iter().find(|s| s.matches(ctx)) {
            return Err(Reason::DeviceStateExcluded(*state));
        }
        if let Some(filter) = &self.devices.filter {
            let facts = DeviceFacts {
                trust: ctx.device,
                compliant: ctx.compliant,
                platform: ctx.platform,
                attributes: &ctx.device_attributes,
            };
            let matched = filter.rule.matches(&facts);
            match filter.mode {
                FilterMode::Include if !matched => {
                    return Err(Reason::DeviceFilter(FilterMode::Include))
                }
                FilterMode::Exclude if matched => {
                    return Err(Reason::DeviceFilter(FilterMode::Exclude))
                }
                _ => {}
            }
        }
        if let Some(levels) = &self.user_risk {
            if !levels.contains(&ctx.user_risk) {
                return Err(Reason::UserRisk);
            }
        }
        if let Some(levels) = &self.sign_in_risk {
            if !levels.contains(&ctx.sign_in_risk) {
                return Err(Reason::SignInRisk);
            }
        }
        if let Some(flows) = &self.auth_flows {
            if !ctx.auth_flow.is_some_and(|f| flows.contains(&f)) {
                return Err(Reason::AuthFlow);
            }
        }
        Ok(())
    }

    fn check_users(&self, ctx: &SignInContext) -> Result<(), Reason> {
        let u = &self.users;
        let user = &ctx.user;
        let position = |list: &[String], values: &[String]| {
            list.iter()
                .position(|id| values.iter().any(|v| v.eq_ignore_ascii_case(id)))
        };
        let own_id = std::slice::from_ref(&user.id);
        if let Some(i) = position(&u.exclude_users, own_id) {
            return Err(Reason::UserExcluded(UserList::Users, i));
        }
        if let Some(i) = position(&u.exclude_groups, &user.groups) {
            return Err(Reason::UserExcluded(UserList::Groups, i));
        }
        if let Some(i) = position(&u.exclude_roles, &user.roles) {
            return Err(Reason::UserExcluded(UserList::Roles, i));
        }
        if user.guest.is_some_and(|g| u.exclude_guests.contains(g)) {
            return Err(Reason::UserExcluded(UserList::Guests, 0));
        }
        let included = u.include_all
            || user.guest.is_some_and(|g| u.include_guests.contains(g))
            || position(&u.include_users, own_id).is_some()
            || position(&u.include_groups, &user.groups).is_some()
            || position(&u.include_roles, &user.roles).is_some();
        if included {
            Ok(())
        } else {
            Err(Reason::UserNotIncluded)
        }
    }

    fn check_resources(&self, ctx: &SignInContext) -> Result<(), Reason> {
        let r = &self.resources;
        match &ctx.target {
            Target::App(_) | Target::OtherApp(_) => {
                if r.include_apps.is_empty() {
                    return Err(Reason::NotAnAppPolicy);
                }
                if let Some(i) = r.exclude_apps.iter().position(|a| a.matches(&ctx.target)) {
                    return Err(Reason::AppExcluded(i));
                }
                if r.include_apps.iter().any(|a| a.matches(&ctx.target)) {
                    Ok(())
                } else {
                    Err(Reason::AppNotIncluded)
                }
            }
            Target::UserAction(action) => {
                if r.user_actions
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(action))
                {
                    Ok(())
                } else {
                    Err(Reason::UserActionNotIncluded)
                }
            }
            Target::AuthContext(c) => {
                if r.auth_contexts.iter().any(|a| a.eq_ignore_ascii_case(c)) {
                    Ok(())
                } else {
                    Err(Reason::AuthContextNotIncluded)
                }
            }
        }
    }
}

/// Which exclusion list removed the user.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserList {
    Users,
    Groups,
    Roles,
    Guests,
}

/// Why a policy does not apply to a sign-in: the first condition that excluded it.
/// Indices point into the policy's own lists; [`Reason::describe`] renders it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Disabled,
    /// Index into [`Conditions::unmet`].
    Unmet(usize),
    UserExcluded(UserList, usize),
    UserNotIncluded,
    /// The policy targets user actions or authentication contexts, not apps.
    NotAnAppPolicy,
    AppExcluded(usize),
    AppNotIncluded,
    UserActionNotIncluded,
    AuthContextNotIncluded,
    ClientAppType,
    PlatformExcluded,
    PlatformNotIncluded,
    LocationExcluded(usize),
    LocationNotIncluded,
    DeviceStateExcluded(DeviceState),
    /// Include mode: the device does not match; exclude mode: it does.
    DeviceFilter(FilterMode),
    UserRisk,
    SignInRisk,
    /// The sign-in does not use a flow in `authenticationFlows.transferMethods`.
    AuthFlow,
}

impl Reason {
    /// A short sentence naming the condition and the Graph field.
    pub fn describe(&self, policy: &Policy) -> String {
        let c = &policy.conditions;
        let pick = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        match *self {
            Reason::Disabled => match policy.state {
                PolicyState::Disabled => "policy is disabled (state: disabled)".into(),
                _ => "policy is not enabled".into(),
            },
            Reason::Unmet(i) => c
                .unmet
                .get(i)
                .map(|u| format!("{} ({})", u.why, u.field))
                .unwrap_or_default(),
            Reason::UserExcluded(UserList::Users, i) => format!(
                "user excluded by excludeUsers ({})",
                pick(&c.users.exclude_users, i)
            ),
            Reason::UserExcluded(UserList::Groups, i) => format!(
                "user excluded by excludeGroups ({})",
                pick(&c.users.exclude_groups, i)
            ),
            Reason::UserExcluded(UserList::Roles, i) => format!(
                "user excluded by excludeRoles ({})",
                pick(&c.users.exclude_roles, i)
            ),
            Reason::UserExcluded(UserList::Guests, _) => {
                format!(
                    "guest or external user excluded ({})",
                    c.users.exclude_guests.names()
                )
            }
            Reason::UserNotIncluded => {
                "user not included by includeUsers, includeGroups or includeRoles".into()
            }
            Reason::NotAnAppPolicy => {
                let what = if !c.resources.user_actions.is_empty() {
                    format!("user actions ({})", c.resources.user_actions.join(", "))
                } else if !c.resources.auth_contexts.is_empty() {
                    format!(
                        "authentication contexts ({})",
                        c.resources.auth_contexts.join(", ")
                    )
                } else {
                    "no app".into()
                };
                format!("app not included: the policy targets {what}")
            }
            Reason::AppExcluded(i) => format!(
                "app excluded by excludeApplications ({})",
                c.resources
                    .exclude_apps
                    .get(i)
                    .map(AppSel::label)
                    .unwrap_or_default()
            ),
            Reason::AppNotIncluded => {
                let list: Vec<&str> = c.resources.include_apps.iter().map(AppSel::label).collect();
                format!(
                    "app not included by includeApplications ({})",
                    list.join(", ")
                )
            }
            Reason::UserActionNotIncluded => {
                if c.resources.user_actions.is_empty() {
                    "user action not included: the policy does not target user actions".into()
                } else {
                    format!(
                        "user action not included by includeUserActions ({})",
                        c.resources.user_actions.join(", ")
                    )
                }
            }
            Reason::AuthContextNotIncluded => {
                if c.resources.auth_contexts.is_empty() {
                    "authentication context not included: the policy does not target authentication contexts".into()
                } else {
                    format!(
                        "authentication context not included by includeAuthenticationContextClassReferences ({})",
                        c.resources.auth_contexts.join(", ")
                    )
                }
            }
            Reason::ClientAppType => "client app type not included by clientAppTypes".into(),
            Reason::PlatformExcluded => "platform excluded by excludePlatforms".into(),
            Reason::PlatformNotIncluded => "platform not included by includePlatforms".into(),
            Reason::LocationExcluded(i) => format!(
                "location excluded by excludeLocations ({})",
                c.locations
                    .exclude
                    .get(i)
                    .map(LocationSel::label)
                    .unwrap_or_default()
            ),
            Reason::LocationNotIncluded => "location not included by includeLocations".into(),
            Reason::DeviceStateExcluded(s) => {
                format!("device excluded by device state ({})", s.name())
            }
            Reason::DeviceFilter(FilterMode::Include) => format!(
                "device does not match the include device filter ({})",
                c.devices
                    .filter
                    .as_ref()
                    .map(|f| f.text.as_str())
                    .unwrap_or_default()
            ),
            Reason::DeviceFilter(FilterMode::Exclude) => format!(
                "device excluded by the device filter ({})",
                c.devices
                    .filter
                    .as_ref()
                    .map(|f| f.text.as_str())
                    .unwrap_or_default()
            ),
            Reason::UserRisk => format!(
                "user risk not included by userRiskLevels ({})",
                levels(c.user_risk.as_deref())
            ),
            Reason::SignInRisk => format!(
                "sign-in risk not included by signInRiskLevels ({})",
                levels(c.sign_in_risk.as_deref())
            ),
            Reason::AuthFlow => format!(
                "authentication flow not included by authenticationFlows.transferMethods ({})",
                c.auth_flows
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn levels(list: Option<&[RiskLevel]>) -> String {
    list.unwrap_or_default()
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}
