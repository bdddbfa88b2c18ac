//! The resources users sign in to, and the devices and clients they use.
//!
//! These enums are small `Copy` types so that the per-event hot path indexes arrays with them
//! instead of comparing strings. Names in files (`exchange`, `entra_joined`, ...) are parsed
//! here, with a "did you mean" hint for near misses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A resource (cloud app) a user accesses. See MODEL.md §1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum App {
    Exchange,
    Sharepoint,
    Teams,
    OfficeWeb,
    AzurePortal,
    Graph,
    SamlApp,
}

impl App {
    pub const ALL: [App; 7] = [
        App::Exchange,
        App::Sharepoint,
        App::Teams,
        App::OfficeWeb,
        App::AzurePortal,
        App::Graph,
        App::SamlApp,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in files and output.
    pub fn name(self) -> &'static str {
        match self {
            App::Exchange => "exchange",
            App::Sharepoint => "sharepoint",
            App::Teams => "teams",
            App::OfficeWeb => "office_web",
            App::AzurePortal => "azure_portal",
            App::Graph => "graph",
            App::SamlApp => "saml_app",
        }
    }

    /// The name Entra's sign-in log shows in `appDisplayName`.
    pub fn display_name(self) -> &'static str {
        match self {
            App::Exchange => "Office 365 Exchange Online",
            App::Sharepoint => "Office 365 SharePoint Online",
            App::Teams => "Microsoft Teams",
            App::OfficeWeb => "OfficeHome",
            App::AzurePortal => "Azure Portal",
            App::Graph => "Microsoft Graph",
            App::SamlApp => "Contoso SAML App",
        }
    }

    /// The application id a Conditional Access policy uses to target this resource.
    ///
    /// Well-known first-party ids (Microsoft's "Verify first-party Microsoft applications in
    /// sign-in reports" list and the CA "cloud apps" picker). The SAML app is a made-up
    /// third-party id: tenants target their own apps by their own ids.
    pub fn graph_app_id(self) -> &'static str {
        match self {
            App::Exchange => "00000002-0000-0ff1-ce00-000000000000",
            App::Sharepoint => "00000003-0000-0ff1-ce00-000000000000",
            App::Teams => "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
            App::OfficeWeb => "4765445b-32c6-49b0-83e6-1d93765276ca",
            App::AzurePortal => "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            App::Graph => "00000003-0000-0000-c000-000000000000",
            App::SamlApp => "5a1bb0c2-9f1e-4d6c-8a3e-5a3a0b7c0001",
        }
    }

    /// Whether the resource is part of the `Office365` app group in Conditional Access.
    pub fn in_office365_group(self) -> bool {
        matches!(
            self,
            App::Exchange | App::Sharepoint | App::Teams | App::OfficeWeb
        )
    }

    /// CAE-capable resource providers reject tokens after critical events (MODEL.md §5).
    /// Office web apps and third-party apps are not CAE-capable.
    pub fn cae_capable(self) -> bool {
        matches!(
            self,
            App::Exchange | App::Sharepoint | App::Teams | App::Graph
        )
    }

    /// Whether the app re-checks Entra on schedule, so sign-in frequency reaches it. A
    /// third-party SAML app that keeps its own session cookie does not (MODEL.md §1).
    pub fn honours_sif(self) -> bool {
        !matches!(self, App::SamlApp)
    }

    pub fn from_name(text: &str) -> Option<App> {
        App::ALL.into_iter().find(|a| a.name() == text)
    }

    /// Parses a name or a Graph app id (case-insensitive for ids).
    pub fn parse(text: &str) -> Result<App, String> {
        if let Some(app) = App::from_name(text) {
            return Ok(app);
        }
        if let Some(app) = App::ALL
            .into_iter()
            .find(|a| a.graph_app_id().eq_ignore_ascii_case(text))
        {
            return Ok(app);
        }
        let names: Vec<&str> = App::ALL.iter().map(|a| a.name()).collect();
        Err(unknown_name("app", text, &names))
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the device is known to Entra ID (MODEL.md §1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceTrust {
    EntraJoined,
    HybridJoined,
    Registered,
    Unmanaged,
}

impl DeviceTrust {
    pub const ALL: [DeviceTrust; 4] = [
        DeviceTrust::EntraJoined,
        DeviceTrust::HybridJoined,
        DeviceTrust::Registered,
        DeviceTrust::Unmanaged,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            DeviceTrust::EntraJoined => "entra_joined",
            DeviceTrust::HybridJoined => "hybrid_joined",
            DeviceTrust::Registered => "registered",
            DeviceTrust::Unmanaged => "unmanaged",
        }
    }

    /// The `trustType` device property that device filters test: `AzureAD` for joined,
    /// `ServerAD` for hybrid joined, `Workplace` for registered; none for unmanaged.
    pub fn graph_trust_type(self) -> Option<&'static str> {
        match self {
            DeviceTrust::EntraJoined => Some("AzureAD"),
            DeviceTrust::HybridJoined => Some("ServerAD"),
            DeviceTrust::Registered => Some("Workplace"),
            DeviceTrust::Unmanaged => None,
        }
    }

    /// The value the sign-in log shows in `deviceDetail.trustType`.
    pub fn sign_in_log_name(self) -> &'static str {
        match self {
            DeviceTrust::EntraJoined => "Azure AD joined",
            DeviceTrust::HybridJoined => "Hybrid Azure AD joined",
            DeviceTrust::Registered => "Azure AD registered",
            DeviceTrust::Unmanaged => "",
        }
    }

    /// Joined and hybrid-joined devices get a PRT at Windows sign-in, and an unlock or
    /// Windows sign-in renews it every 4 hours, which satisfies sign-in frequency (MODEL.md §2).
    pub fn prt_from_device_sign_in(self) -> bool {
        matches!(self, DeviceTrust::EntraJoined | DeviceTrust::HybridJoined)
    }

    /// Registered devices hold a PRT through the WAM plugin, shared by native apps, but an
    /// unlock does not satisfy sign-in frequency (MODEL.md §2).
    pub fn has_broker(self) -> bool {
        !matches!(self, DeviceTrust::Unmanaged)
    }

    pub fn parse(text: &str) -> Result<DeviceTrust, String> {
        DeviceTrust::ALL
            .into_iter()
            .find(|d| d.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = DeviceTrust::ALL.iter().map(|d| d.name()).collect();
                unknown_name("device type", text, &names)
            })
    }
}

impl fmt::Display for DeviceTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of client that asks Entra for tokens.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    Browser,
    Native,
}

impl Client {
    pub const ALL: [Client; 2] = [Client::Browser, Client::Native];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Client::Browser => "browser",
            Client::Native => "native",
        }
    }

    /// The sign-in log's `clientAppUsed` for this client.
    pub fn client_app_used(self) -> &'static str {
        match self {
            Client::Browser => "Browser",
            Client::Native => "Mobile Apps and Desktop clients",
        }
    }

    pub fn parse(text: &str) -> Result<Client, String> {
        Client::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .ok_or_else(|| unknown_name("client", text, &["browser", "native"]))
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// "unknown app `sharepont`: expected one of ...; did you mean `sharepoint`?"
pub fn unknown_name(what: &str, text: &str, known: &[&str]) -> String {
    let mut msg = format!(
        "unknown {what} `{text}`: expected one of {}",
        known.join(", ")
    );
    if let Some(best) = did_you_mean(text, known) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    msg
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(text: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance, for "did you mean" hints only (short strings, off the hot path).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for app in App::ALL {
            assert_eq!(App::parse(app.name()), Ok(app));
            assert_eq!(App::parse(app.graph_app_id()), Ok(app));
        }
        for d in DeviceTrust::ALL {
            assert_eq!(DeviceTrust::parse(d.name()), Ok(d));
        }
    }

    #[test]
    fn typos_get_a_hint() {
        let err = DeviceTrust::parse("hybrid_join").unwrap_err();
        assert!(err.contains("did you mean `hybrid_joined`"), "{err}");
        let err = App::parse("sharepont").unwrap_err();
        assert!(err.contains("did you mean `sharepoint`"), "{err}");
        let err = App::parse("zzzzzzzzzz").unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
    }
}
