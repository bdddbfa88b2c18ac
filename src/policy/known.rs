//! Well-known identifiers that Conditional Access policies use, and template placeholders.
//!
//! Each table names its source; `docs/policies.md` lists them with URLs.

use crate::world::app::App;

use super::AuthStrength;

/// The Azure portal's own application id. Microsoft's mandatory-MFA page lists it for the
/// Azure portal, the Entra admin center and the Intune admin center
/// (entra-docs `identity/authentication/concept-mandatory-multifactor-authentication.md`).
pub const AZURE_PORTAL_APP_ID: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// `MicrosoftAdminPortals`: the app group that covers the Azure portal, the Entra, Intune,
/// Exchange, Microsoft 365, Defender, Purview and Teams admin centers
/// (entra-docs `concept-conditional-access-cloud-apps.md`, "Microsoft Admin Portals").
pub const ADMIN_PORTALS: &str = "MicrosoftAdminPortals";

/// The legacy "MFA Trusted IPs" location. Exports show it as the all-zero id; the
/// location-condition page says it counts among "All trusted locations". The id itself is
/// not on a Microsoft page we could verify, so treating it as trusted is an assumption
/// (documented in docs/policies.md).
pub const MFA_TRUSTED_IPS: &str = "00000000-0000-0000-0000-000000000000";

/// Whether `id` (any case) targets `app`, besides the group names (`All`, `Office365`,
/// `MicrosoftAdminPortals`): the app's own [`App::graph_app_id`], and for the Azure portal
/// also its portal app id. (The Azure portal's `graph_app_id` is "Windows Azure Service
/// Management API", which covers the portal: concept-conditional-access-cloud-apps.md.)
pub fn app_has_id(app: App, id: &str) -> bool {
    app.graph_app_id().eq_ignore_ascii_case(id)
        || (app == App::AzurePortal && AZURE_PORTAL_APP_ID.eq_ignore_ascii_case(id))
}

/// Whether `app` is one of the Microsoft admin portals.
pub fn is_admin_portal(app: App) -> bool {
    app == App::AzurePortal
}

/// Ids of the built-in authentication strengths (Graph `List
/// authenticationStrengthPolicies`).
pub const STRENGTH_MFA: &str = "00000000-0000-0000-0000-000000000002";
pub const STRENGTH_PASSWORDLESS: &str = "00000000-0000-0000-0000-000000000003";
pub const STRENGTH_PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";

/// The built-in authentication strengths by id: `…0002` Multifactor authentication,
/// `…0003` Passwordless MFA, `…0004` Phishing-resistant MFA.
pub fn builtin_strength(id: &str) -> Option<AuthStrength> {
    match id.to_ascii_lowercase().as_str() {
        STRENGTH_MFA => Some(AuthStrength::mfa()),
        STRENGTH_PASSWORDLESS => Some(AuthStrength::passwordless()),
        STRENGTH_PHISHING_RESISTANT => Some(AuthStrength::phishing_resistant()),
        _ => None,
    }
}

/// Built-in directory roles that Microsoft's "Require MFA for administrators" policy
/// targets, by template id (entra-docs `role-based-access-control/permissions-reference.md`).
/// `whatif --roles` accepts these names as well as ids.
pub const ADMIN_ROLES: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
];

/// A role's template id from its name (`Global Administrator`, `global_administrator`,
/// `global-administrator`), or the text itself when it is not a known name.
pub fn role_id(text: &str) -> String {
    let normal = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], " ");
    let wanted = normal(text.trim());
    ADMIN_ROLES
        .iter()
        .find(|(name, _)| normal(name) == wanted)
        .map_or_else(
            || text.trim().to_ascii_lowercase(),
            |(_, id)| id.to_string(),
        )
}

/// Whether an id looks like a template placeholder rather than a real object id:
/// `<<groupId>>`, `{{groupId}}`, `<groupId>`, `${groupId}`, `%groupId%`,
/// `REPLACE-WITH-GROUP-ID`, `CHANGEME`, the all-zero GUID, or an all-`x` GUID. Public
/// baselines ship with these for the user to replace.
pub fn is_placeholder(id: &str) -> bool {
    let s = id.trim();
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("replace") || lower.starts_with("changeme") {
        return true;
    }
    if s.contains("<<") || s.contains(">>") || s.contains("{{") || s.contains("}}") {
        return true;
    }
    if (s.starts_with('<') && s.ends_with('>'))
        || s.starts_with("${")
        || (s.len() > 2 && s.starts_with('%') && s.ends_with('%'))
    {
        return true;
    }
    guid_shaped(s, |c| c.is_ascii_alphanumeric())
        && (s.chars().all(|c| c == '0' || c == '-')
            || s.chars().all(|c| c == 'x' || c == 'X' || c == '-'))
}

/// Whether `s` is 8-4-4-4-12 characters for which `digit` holds, joined by hyphens.
fn guid_shaped(s: &str, digit: impl Fn(char) -> bool) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                digit(c)
            }
        })
}

/// Whether `s` has the shape of a GUID (8-4-4-4-12 hexadecimal digits), as every object
/// id and application id in a Graph export does.
pub fn is_guid(s: &str) -> bool {
    guid_shaped(s.trim(), |c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "<<BreakGlassGroupId>>",
            "{{groupId}}",
            "<group id>",
            "${GROUP}",
            "%GroupId%",
            "REPLACE-WITH-BREAKGLASS-GROUP-ID",
            "CHANGEME",
            "00000000-0000-0000-0000-000000000000",
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in [
            "62e90394-69f5-4237-9190-012177145e10",
            "00000000-0000-0000-0000-000000000002",
            "Finance",
            "All",
        ] {
            assert!(!is_placeholder(real), "{real}");
        }
    }

    #[test]
    fn strengths_map_by_id() {
        assert_eq!(
            builtin_strength("00000000-0000-0000-0000-000000000004"),
            Some(AuthStrength::phishing_resistant())
        );
        assert_eq!(builtin_strength("custom"), None);
    }

    #[test]
    fn role_names_resolve_to_template_ids() {
        assert_eq!(
            role_id("Global Administrator"),
            "62e90394-69f5-4237-9190-012177145e10"
        );
        assert_eq!(
            role_id("global_administrator"),
            "62e90394-69f5-4237-9190-012177145e10"
        );
        assert_eq!(role_id("ABC"), "abc");
    }

    #[test]
    fn the_azure_portal_has_two_ids() {
        assert!(app_has_id(App::AzurePortal, AZURE_PORTAL_APP_ID));
        assert!(app_has_id(
            App::AzurePortal,
            "797F4846-BA00-4FD7-BA43-DAC1F8F63013"
        ));
        assert!(!app_has_id(App::Exchange, AZURE_PORTAL_APP_ID));
    }
}
