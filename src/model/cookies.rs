//! The browser cookie rules (MODEL.md §1, §4): whether a new Entra session cookie is
//! persistent, and when a third-party app's own session cookie answers instead of Entra.
//!
//! This module owns: the persistent-browser control against "Stay signed in?", and the
//! `honours_sif` exception of third-party apps. Cookie lifetimes are in `revocation.rs`.

use crate::model::rules::Protected;
use crate::policy::Persistence;
use crate::world::app::{App, Client};

/// Whether a new browser session cookie is persistent: the persistent-browser control when
/// a policy sets it (it overrides KMSI), else the answer to "Stay signed in?" when the
/// tenant shows it (\[KMSI\], seed 001).
pub fn persistent(control: Option<Persistence>, kmsi_shown: bool, accepts_kmsi: bool) -> bool {
    match control {
        Some(Persistence::Always) => true,
        Some(Persistence::Never) => false,
        None => kmsi_shown && accepts_kmsi,
    }
}

/// Whether the app's own session cookie answers this access without going back to Entra:
/// a third-party app that keeps its own cookie does not re-check Entra while the cookie
/// lives, so neither sign-in frequency nor a revocation reaches it (MODEL.md §1, seed 001:
/// apps comply "as long as they don't drop their own cookies").
pub fn app_session_answers(
    app: App,
    client: Client,
    protected: Option<Protected>,
    has_app_session: bool,
) -> bool {
    !app.honours_sif() && client == Client::Browser && protected.is_none() && has_app_session
}

/// Whether a successful browser access leaves the app holding its own session cookie.
pub fn app_keeps_own_session(app: App, client: Client) -> bool {
    !app.honours_sif() && client == Client::Browser
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_persistent_browser_control_overrides_stay_signed_in() {
        assert!(!persistent(Some(Persistence::Never), true, true));
        assert!(persistent(Some(Persistence::Always), false, false));
        assert!(persistent(None, true, true));
        assert!(!persistent(None, false, true));
        assert!(!persistent(None, true, false));
    }

    #[test]
    fn only_third_party_browser_apps_answer_from_their_own_cookie() {
        assert!(app_session_answers(
            App::SamlApp,
            Client::Browser,
            None,
            true
        ));
        assert!(!app_session_answers(
            App::SamlApp,
            Client::Browser,
            None,
            false
        ));
        assert!(!app_session_answers(
            App::Exchange,
            Client::Browser,
            None,
            true
        ));
        assert!(!app_session_answers(
            App::SamlApp,
            Client::Native,
            None,
            true
        ));
    }
}
