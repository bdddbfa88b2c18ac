//! Parameters of the session model: tenant settings an administrator chooses, and the
//! behaviour constants Microsoft documents. Every default here is listed in `docs/model.md`
//! with its source; none is hard-coded elsewhere.

use serde::{Deserialize, Serialize};

use crate::engine::time::Duration;

/// Tenant-wide settings outside Conditional Access (scenario `[tenant]`, design `tenant`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantSettings {
    /// "Remember multifactor authentication on trusted devices": how long a browser's
    /// remember-MFA cookie lasts. `0d` turns the feature off (the default in a new tenant,
    /// seed 003).
    pub remember_mfa: Duration,
    /// Whether the "Stay signed in?" (KMSI) prompt is shown after a browser sign-in.
    pub kmsi: bool,
    /// Continuous access evaluation for CAE-capable clients and resources.
    pub cae: bool,
    /// The tenant runs Security Defaults, not Conditional Access: the design's policies
    /// stand for what Security Defaults enforce (`models/policies/security-defaults.json`),
    /// and access tokens get the lifetime of a tenant without Conditional Access
    /// (`no_ca_access_token`).
    pub security_defaults: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            remember_mfa: Duration::ZERO,
            kmsi: true,
            cae: true,
            security_defaults: false,
        }
    }
}

/// How access tokens are modelled.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenMode {
    /// No access tokens: Entra evaluates every access, and checks sign-in frequency at the
    /// exact deadline while the user is active. What the seed's worked examples show.
    Idealised,
    /// Every access token lasts exactly this long (a scenario's `access_token_lifetime`).
    Fixed(Duration),
    /// Lifetimes drawn uniformly from the range (population runs: 60–90 min).
    Random { min: Duration, max: Duration },
}

impl TokenMode {
    /// Whether there are no access tokens. Asked on every access: a test of the variant
    /// alone, where the derived `==` is a general comparison of two values, fields
    /// included, that the compiler did not reduce to one (docs/performance.md, "eleventh
    /// session").
    #[inline]
    pub fn is_idealised(self) -> bool {
        matches!(self, TokenMode::Idealised)
    }
}

/// Behaviour constants of Entra ID. Defaults trace to MODEL.md and `docs/sources.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelParams {
    /// An unlock or Windows sign-in renews the PRT only when its last renewal is at least
    /// this old (MODEL.md §2, seed 001).
    pub prt_renewal_interval: Duration,
    /// A PRT unused for this long expires (MODEL.md §2: 14 d; 90 d on some platforms).
    pub prt_lifetime: Duration,
    /// Every-time sign-in frequency does not prompt again within this window of the last
    /// interactive authentication (MODEL.md §3, seed 001 "prompt tolerance").
    pub every_time_tolerance: Duration,
    /// A non-persistent session cookie dies after this long without use (MODEL.md §4).
    pub nonpersistent_cookie_idle: Duration,
    /// A persistent session cookie's sliding lifetime (MODEL.md §4: 90 d; KMSI page 180 d).
    pub persistent_cookie_lifetime: Duration,
    /// Refresh tokens expire after this long unused; also Entra's default "rolling window"
    /// when no sign-in frequency applies (MODEL.md §3, §4).
    pub refresh_token_lifetime: Duration,
    /// CAE-capable resources reject tokens this long after a critical event (MODEL.md §5:
    /// near real time, up to 15 min; the default is the documented upper bound).
    pub cae_propagation_delay: Duration,
    /// Shortest and longest CAE long-lived access token (MODEL.md §4: 20–28 h).
    pub cae_token_min: Duration,
    pub cae_token_max: Duration,
    /// How a CAE-capable app's tokens meet sign-in frequency (Microsoft's CAE FAQ says
    /// only "Sign-in Frequency will be honored with or without CAE"): ordinary tokens
    /// under any sign-in frequency (default), long-lived tokens capped at the deadline, or
    /// long-lived tokens regardless (docs/model.md §5).
    pub cae_tokens_under_sif: crate::model::tokens::CaeUnderSif,
    /// Whether "revoke sessions" also invalidates the PRT. The PRT page's list does not
    /// name it, but the refresh-token page's revocation table revokes every token class
    /// when an administrator revokes a user's refresh tokens, and Graph's
    /// `revokeSignInSessions` asks the user to sign in again "independent of device": yes.
    pub revoke_sessions_invalidates_prt: bool,
    /// Whether a browser session cookie issued through PRT single sign-on is bound to the
    /// device's session key, so that a copy fails elsewhere when the key is in a TPM (PRT
    /// page, "How are browser cookies protected").
    pub prt_sso_cookies_device_bound: bool,
    /// Shortest and longest ordinary access token, drawn uniformly in population runs
    /// (MODEL.md §4: 60–90 min, mean 75).
    pub access_token_min: Duration,
    pub access_token_max: Duration,
    /// Whether a web app's own session (its access token) survives a browser restart:
    /// "if the user closed and opened their browser during the session lifetime, they
    /// aren't prompted for reauthentication"; the resource sends the user back to Entra
    /// only when its own session expires (concept-session-lifetime). The first releases
    /// assumed the page's tokens went with the browser (`false`).
    pub web_sessions_survive_browser_close: bool,
    /// Whether "revoke MFA sessions" also ends MFA claims that Conditional Access
    /// required. Microsoft (Entra what's new, October 2025): it applies to per-user MFA
    /// only, so it clears remember-MFA cookies and nothing else (`false`); seed 004 saw it
    /// make apps ask for MFA again (`true`).
    pub revoke_mfa_sessions_ends_ca_mfa: bool,
    /// How long "revoke sessions" takes to end refresh tokens and session cookies: "a
    /// few minutes" (Graph `revokeSignInSessions`; 5 minutes is our reading). CAE-capable
    /// apps are reached after `cae_propagation_delay` from the request, whichever is
    /// later.
    pub revoke_sessions_delay: Duration,
    /// Ordinary access-token lifetime for first-party clients in a tenant that does not
    /// use Conditional Access (no enforced policy, or Security Defaults): "a default
    /// access token lifetime of two hours for clients such as Microsoft Teams and
    /// Microsoft 365" (access-tokens page).
    pub no_ca_access_token: Duration,
    /// Seconds a user spends on one primary-credential prompt, and on one MFA ceremony,
    /// to express fatigue in minutes (MODEL.md §4: ~30 s reauth on mobile, ~8 s push).
    pub prompt_cost: Duration,
    pub mfa_cost: Duration,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            prt_renewal_interval: Duration::from_hours(4),
            prt_lifetime: Duration::from_days(14),
            every_time_tolerance: Duration::from_mins(5),
            nonpersistent_cookie_idle: Duration::from_hours(24),
            persistent_cookie_lifetime: Duration::from_days(90),
            refresh_token_lifetime: Duration::from_days(90),
            cae_propagation_delay: Duration::from_mins(15),
            cae_token_min: Duration::from_hours(20),
            cae_token_max: Duration::from_hours(28),
            cae_tokens_under_sif: crate::model::tokens::CaeUnderSif::Ordinary,
            revoke_sessions_invalidates_prt: true,
            prt_sso_cookies_device_bound: true,
            access_token_min: Duration::from_mins(60),
            access_token_max: Duration::from_mins(90),
            web_sessions_survive_browser_close: true,
            revoke_mfa_sessions_ends_ca_mfa: false,
            revoke_sessions_delay: Duration::from_mins(5),
            no_ca_access_token: Duration::from_hours(2),
            prompt_cost: Duration::from_secs(30),
            mfa_cost: Duration::from_secs(8),
        }
    }
}

impl ModelParams {
    /// Refuses values that would make the model meaningless (zero lifetimes, inverted
    /// ranges). Returns the offending field and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let positive = [
            ("prt_renewal_interval", self.prt_renewal_interval),
            ("prt_lifetime", self.prt_lifetime),
            ("nonpersistent_cookie_idle", self.nonpersistent_cookie_idle),
            (
                "persistent_cookie_lifetime",
                self.persistent_cookie_lifetime,
            ),
            ("refresh_token_lifetime", self.refresh_token_lifetime),
            ("cae_token_min", self.cae_token_min),
            ("access_token_min", self.access_token_min),
            ("no_ca_access_token", self.no_ca_access_token),
        ];
        for (name, d) in positive {
            if d.is_zero() {
                return Err((name, "must be longer than zero".into()));
            }
        }
        if self.cae_token_max < self.cae_token_min {
            return Err((
                "cae_token_max",
                format!(
                    "{} is shorter than cae_token_min {}",
                    self.cae_token_max, self.cae_token_min
                ),
            ));
        }
        if self.access_token_max < self.access_token_min {
            return Err((
                "access_token_max",
                format!(
                    "{} is shorter than access_token_min {}",
                    self.access_token_max, self.access_token_min
                ),
            ));
        }
        Ok(())
    }

    /// The realistic token mode of population runs.
    pub fn realistic_tokens(&self) -> TokenMode {
        TokenMode::Random {
            min: self.access_token_min,
            max: self.access_token_max,
        }
    }
}
