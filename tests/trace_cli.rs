//! `sessionsim trace` run as a user runs it, on every scenario in `models/scenarios/`.

mod common;

use common::*;

fn scenario(name: &str) -> std::path::PathBuf {
    root().join("models/scenarios").join(name)
}

fn prompts(name: &str) -> Vec<String> {
    times(&trace(&scenario(name)), "user", "prompt")
}

#[test]
fn seed_example_1_continuous_work_prompts_at_0100() {
    assert_eq!(prompts("seed-1-continuous-work.toml"), ["01:00"]);
}

#[test]
fn seed_example_2_background_upload_prompts_at_0245() {
    let rows = trace(&scenario("seed-2-background-upload.toml"));
    assert_eq!(times(&rows, "user", "prompt"), ["02:45"]);
    // The background request at the deadline waited for the interaction.
    assert_eq!(times(&rows, "user", "deferred"), ["01:00"]);
}

#[test]
fn seed_example_3_within_cycle_prompts_at_0100() {
    assert_eq!(prompts("seed-3a-return-within-cycle.toml"), ["01:00"]);
}

#[test]
fn seed_example_3_outside_cycle_prompts_at_0545() {
    let rows = trace(&scenario("seed-3b-return-outside-cycle.toml"));
    assert_eq!(times(&rows, "user", "prompt"), ["05:45"]);
    assert!(rows
        .iter()
        .any(|r| r["at"] == "04:45" && r["reason"] == "prt_renewed"));
}

#[test]
fn registered_devices_do_not_renew_sif_on_unlock() {
    assert_eq!(
        prompts("registered-device-difference.toml"),
        ["00:00", "04:45", "05:45"]
    );
}

#[test]
fn every_time_never_prompts_twice_within_five_minutes() {
    let rows = trace(&scenario("every-time-tolerance.toml"));
    assert_eq!(times(&rows, "user", "prompt"), ["00:00", "00:06", "00:12"]);
    let tolerated: Vec<_> = rows
        .iter()
        .filter(|r| r["reason"] == "within_tolerance")
        .map(|r| r["at"].clone())
        .collect();
    assert_eq!(tolerated, ["00:03", "00:10"]);
}

#[test]
fn non_persistent_cookie_dies_with_the_browser() {
    let rows = trace(&scenario("nonpersistent-cookie-restart.toml"));
    assert_eq!(times(&rows, "user", "prompt"), ["00:00", "01:05"]);
    assert!(rows
        .iter()
        .any(|r| r["at"] == "01:05" && r["reason"] == "browser_closed"));
    assert_eq!(prompts("persistent-cookie-restart.toml"), ["00:00"]);
}

#[test]
fn revocation_reaches_cae_apps_after_the_propagation_delay() {
    let rows = trace(&scenario("revocation.toml"));
    let find = |at: &str, app: &str| {
        rows.iter()
            .find(|r| r["at"] == at && r["app"] == app)
            .map(|r| (r["outcome"].clone(), r["reason"].clone()))
    };
    // "Revoke sessions" takes a few minutes (revoke_sessions_delay, 5 min).
    assert_eq!(find("01:00", "office_web"), None);
    assert_eq!(
        find("01:05", "office_web"),
        Some(("prompt".into(), "session_revoked".into()))
    );
    assert_eq!(
        find("01:15", "sharepoint"),
        Some(("prompt".into(), "session_revoked".into()))
    );
    assert_eq!(
        find("02:00", "office_web"),
        Some(("denied".into(), "account_disabled".into()))
    );
    assert_eq!(
        find("02:15", "sharepoint"),
        Some(("denied".into(), "account_disabled".into()))
    );
}

#[test]
fn trace_output_has_the_documented_columns_and_vocabulary() {
    for entry in std::fs::read_dir(root().join("models/scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = run(&["trace", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
        let text = stdout(&out);
        assert!(
            text.starts_with("at,actor,step,app,outcome,reason"),
            "{}",
            path.display()
        );
        let mut last = String::new();
        for row in csv_rows(&text) {
            assert!(["user", "attacker"].contains(&row["actor"].as_str()));
            assert!(["prompt", "silent", "deferred", "denied"].contains(&row["outcome"].as_str()));
            assert!(
                !row["reason"].is_empty()
                    && row["reason"]
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_')
            );
            // Rows come in time order ("Nd HH:MM" sorts correctly once the day is padded).
            let key = sortable(&row["at"]);
            assert!(
                key >= last,
                "{}: time went back at {}",
                path.display(),
                row["at"]
            );
            last = key;
        }
    }
}

fn sortable(at: &str) -> String {
    match at.split_once(' ') {
        Some((d, t)) => format!("{:>6} {t:0<8}", d.trim_end_matches('d')),
        None => format!("{:>6} {at:0<8}", 0),
    }
}

/// (time, outcome, reason) of the attacker's rows for one app.
fn attacker(
    rows: &[std::collections::HashMap<String, String>],
    app: &str,
) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r["actor"] == "attacker" && r["app"] == app)
        .map(|r| (r["at"].clone(), r["outcome"].clone(), r["reason"].clone()))
        .collect()
}

fn row(at: &str, outcome: &str, reason: &str) -> (String, String, String) {
    (at.into(), outcome.into(), reason.into())
}

#[test]
fn a_cookie_stolen_under_sif_1h_stops_working_at_the_deadline() {
    let rows = trace(&scenario("attacker-sif-deadline.toml"));
    assert_eq!(
        attacker(&rows, "sharepoint"),
        [
            row("00:30", "silent", "session_valid"),
            row("01:00", "denied", "sif_expired")
        ]
    );
    // The user, who can sign in, is prompted at the same deadline and carries on.
    assert_eq!(times(&rows, "user", "prompt"), ["00:00", "01:00"]);
}

#[test]
fn revoke_sessions_cuts_cae_apps_at_the_delay_and_others_at_token_expiry() {
    let rows = trace(&scenario("attacker-revocation-cae.toml"));
    assert_eq!(
        attacker(&rows, "sharepoint"),
        [
            row("00:20", "silent", "session_valid"),
            row("00:55", "denied", "cae_revoked")
        ]
    );
    assert_eq!(
        attacker(&rows, "office_web"),
        [
            row("00:20", "silent", "session_valid"),
            row("01:20", "denied", "session_revoked")
        ]
    );
}

#[test]
fn strict_location_blocks_the_attacker_in_cae_apps_at_once() {
    let rows = trace(&scenario("attacker-strict-location.toml"));
    assert_eq!(
        attacker(&rows, "exchange"),
        [row("00:20", "denied", "location_blocked")]
    );
    assert_eq!(
        attacker(&rows, "office_web"),
        [row("00:20", "silent", "session_valid")]
    );
}

#[test]
fn a_prt_replayed_through_an_allowed_location_passes_a_location_allow_list() {
    // Regression: copies presenting the victim's device were always seen from outside,
    // even with `trusted_ip`, so an allow-list stopped every PRT theft.
    let rows = trace(&scenario("attacker-prt-allowed-location.toml"));
    let outside = row("01:05", "denied", "blocked_by_policy");
    let allowed = row("02:05", "silent", "session_valid");
    assert_eq!(
        attacker(&rows, "teams"),
        [outside.clone(), outside, allowed.clone(), allowed]
    );
}

#[test]
fn a_token_protected_refresh_token_fails_when_replayed() {
    let rows = trace(&scenario("attacker-token-protection.toml"));
    assert_eq!(
        attacker(&rows, "exchange"),
        [row("00:40", "denied", "token_protection")]
    );
    let rows = trace(&scenario("attacker-refresh-token-unbound.toml"));
    assert_eq!(
        attacker(&rows, "exchange"),
        [row("00:40", "silent", "session_valid")]
    );
}

#[test]
fn a_non_persistent_stolen_cookie_dies_after_a_day_unused_and_a_persistent_one_does_not() {
    let rows = trace(&scenario("attacker-cookie-nonpersistent.toml"));
    assert_eq!(
        attacker(&rows, "office_web"),
        [
            row("00:30", "silent", "session_valid"),
            row("1d 01:00", "denied", "session_expired")
        ]
    );
    let rows = trace(&scenario("attacker-cookie-persistent.toml"));
    assert_eq!(
        attacker(&rows, "office_web"),
        [
            row("00:30", "silent", "session_valid"),
            row("1d 01:00", "silent", "session_valid")
        ]
    );
}

/// (time, step, app, outcome, reason) of every row of one actor.
fn rows_of(
    rows: &[std::collections::HashMap<String, String>],
    actor: &str,
) -> Vec<(String, String, String, String, String)> {
    rows.iter()
        .filter(|r| r["actor"] == actor)
        .map(|r| {
            (
                r["at"].clone(),
                r["step"].clone(),
                r["app"].clone(),
                r["outcome"].clone(),
                r["reason"].clone(),
            )
        })
        .collect()
}

fn step_row(
    at: &str,
    step: &str,
    app: &str,
    outcome: &str,
    reason: &str,
) -> (String, String, String, String, String) {
    (
        at.into(),
        step.into(),
        app.into(),
        outcome.into(),
        reason.into(),
    )
}

#[test]
fn the_risky_user_template_changes_the_password_and_clears_the_risk() {
    let rows = trace(&scenario("risky-user-password-change.toml"));
    let user = rows_of(&rows, "user");
    assert_eq!(
        user[2],
        step_row("01:10", "open", "office_web", "prompt", "every_time")
    );
    assert_eq!(rows[2]["mfa"], "true", "the template asks for MFA too");
    // Risk cleared: no more every-time prompts.
    assert_eq!(
        user[3],
        step_row("01:20", "open", "office_web", "silent", "session_valid")
    );
    // The change ended the app's password-based refresh token.
    assert_eq!(
        user[4],
        step_row("01:30", "open", "teams", "prompt", "password_changed")
    );
}

#[test]
fn revoking_mfa_sessions_clears_remembered_mfa_and_leaves_conditional_access_claims() {
    let rows = trace(&scenario("revoke-mfa-sessions.toml"));
    let user: Vec<_> = rows.iter().filter(|r| r["actor"] == "user").collect();
    let brief = |r: &std::collections::HashMap<String, String>| {
        format!(
            "{} {} {} {} mfa={}",
            r["at"], r["app"], r["outcome"], r["reason"], r["mfa"]
        )
    };
    let got: Vec<String> = user.iter().map(|r| brief(r)).collect();
    assert_eq!(
        got,
        [
            "00:00 office_web prompt initial_sign_in mfa=true",
            "00:00 teams prompt initial_sign_in mfa=true",
            // Remembered: the sign-in after a browser restart skips MFA.
            "00:31 office_web prompt browser_closed mfa=false",
            // The revocation cleared the remember-MFA cookie: MFA again.
            "01:07 office_web prompt browser_closed mfa=true",
            // The app's MFA claim, which Conditional Access required, still counts.
            "01:10 teams silent session_valid mfa=false",
        ]
    );
}

#[test]
fn revoking_mfa_sessions_as_seed_004_saw_it_makes_apps_redo_mfa() {
    let rows = trace(&scenario("revoke-mfa-sessions-before-2025.toml"));
    let user = rows_of(&rows, "user");
    assert_eq!(
        user[2],
        step_row("01:10", "open", "office_web", "silent", "session_valid")
    );
    assert_eq!(
        user[3],
        step_row("01:10", "open", "teams", "prompt", "mfa_sessions_revoked")
    );
}

#[test]
fn an_admin_reset_keeps_a_passkey_users_browser_session() {
    let rows = trace(&scenario("admin-reset-passkey-user.toml"));
    let user = rows_of(&rows, "user");
    assert_eq!(
        user[2],
        step_row("01:10", "open", "office_web", "silent", "session_valid")
    );
    assert_eq!(
        user[3],
        step_row("01:10", "open", "teams", "prompt", "password_changed")
    );
}

#[test]
fn a_third_party_app_keeps_its_own_cookie_after_a_revoke_for_user_and_attacker() {
    let rows = trace(&scenario("saml-app-after-revoke.toml"));
    let user = rows_of(&rows, "user");
    assert!(user.contains(&step_row(
        "01:30",
        "open",
        "saml_app",
        "silent",
        "app_session"
    )));
    assert!(user.contains(&step_row(
        "01:30",
        "open",
        "office_web",
        "prompt",
        "session_revoked"
    )));
    let attacker = rows_of(&rows, "attacker");
    assert_eq!(
        attacker,
        [
            step_row(
                "00:10",
                "attacker_use",
                "saml_app",
                "silent",
                "session_valid"
            ),
            step_row(
                "01:30",
                "attacker_use",
                "office_web",
                "denied",
                "session_revoked"
            ),
        ],
        "the attacker's SAML app session is never cut by the revoke"
    );
}

#[test]
fn revoking_sessions_invalidates_the_prt() {
    let rows = trace(&scenario("revoke-sessions-prt.toml"));
    assert_eq!(
        rows_of(&rows, "user"),
        [
            step_row("00:00", "sign_in", "sharepoint", "silent", "prt_renewed"),
            step_row("00:40", "open", "sharepoint", "prompt", "session_revoked"),
            step_row("01:00", "unlock", "", "silent", "prt_renewed"),
        ]
    );
}

/// (time, step, app, outcome, reason, artefact) of the attacker's rows.
fn attacker_rows(
    rows: &[std::collections::HashMap<String, String>],
) -> Vec<(String, String, String, String, String, String)> {
    rows.iter()
        .filter(|r| r["actor"] == "attacker")
        .map(|r| {
            (
                r["at"].clone(),
                r["step"].clone(),
                r["app"].clone(),
                r["outcome"].clone(),
                r["reason"].clone(),
                r["artefact"].clone(),
            )
        })
        .collect()
}

fn arow(
    at: &str,
    step: &str,
    app: &str,
    outcome: &str,
    reason: &str,
    artefact: &str,
) -> (String, String, String, String, String, String) {
    (
        at.into(),
        step.into(),
        app.into(),
        outcome.into(),
        reason.into(),
        artefact.into(),
    )
}

#[test]
fn aitm_captures_the_phished_sign_in_and_sif_cuts_its_replay() {
    let rows = trace(&scenario("attack-aitm-sif-cut.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "00:30",
                "aitm",
                "office_web",
                "silent",
                "artefact_stolen",
                "cookie"
            ),
            arow(
                "00:35",
                "attacker_use",
                "exchange",
                "silent",
                "session_valid",
                "cookie"
            ),
            // One hour after the phished sign-in at 00:30, not the user's at 00:00.
            arow(
                "01:30",
                "attacker_use",
                "exchange",
                "denied",
                "sif_expired",
                "cookie"
            ),
        ]
    );
}

#[test]
fn an_infostealer_finds_a_persistent_cookie_and_misses_a_closed_browsers_session_cookie() {
    let rows = trace(&scenario("attack-infostealer-persistent.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "02:00",
                "infostealer",
                "",
                "silent",
                "artefact_stolen",
                "cookie"
            ),
            arow(
                "03:00",
                "attacker_use",
                "office_web",
                "silent",
                "session_valid",
                "cookie"
            ),
        ]
    );
    let rows = trace(&scenario("attack-infostealer-nonpersistent.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [arow(
            "02:00",
            "infostealer",
            "",
            "denied",
            "no_artefact",
            ""
        )],
        "nothing to replay"
    );
}

#[test]
fn push_bombing_gives_the_attacker_a_session_with_mfa() {
    let rows = trace(&scenario("attack-push-bombing.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "00:30",
                "push_bombing",
                "office_web",
                "silent",
                "artefact_stolen",
                "cookie"
            ),
            arow(
                "00:31",
                "attacker_use",
                "sharepoint",
                "silent",
                "session_valid",
                "cookie"
            ),
        ]
    );
}

#[test]
fn device_bound_artefacts_fail_on_replay() {
    let rows = trace(&scenario("attack-device-bound.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "01:00",
                "infostealer",
                "",
                "denied",
                "device_bound",
                "cookie"
            ),
            arow(
                "01:00",
                "infostealer",
                "",
                "denied",
                "device_bound",
                "refresh_token"
            ),
            arow(
                "01:05",
                "attacker_use",
                "teams",
                "denied",
                "device_bound",
                "cookie"
            ),
            arow(
                "01:05",
                "attacker_use",
                "teams",
                "denied",
                "device_bound",
                "refresh_token"
            ),
        ]
    );
}

#[test]
fn disabling_the_device_ends_a_prt_replayed_without_a_tpm() {
    let rows = trace(&scenario("attack-device-compromise.toml"));
    let denied: Vec<_> = attacker_rows(&rows)
        .into_iter()
        .filter(|r| r.3 == "denied")
        .collect();
    assert_eq!(
        denied,
        [
            arow(
                "02:15",
                "attacker_use",
                "teams",
                "denied",
                "session_revoked",
                "refresh_token"
            ),
            arow(
                "02:15",
                "attacker_use",
                "teams",
                "denied",
                "session_revoked",
                "prt"
            ),
        ],
        "Teams is CAE-capable: the disable reaches it after the 15-minute propagation delay"
    );
}

/// Writes a variant of a shipped scenario with some lines replaced, and traces it.
fn trace_variant(
    name: &str,
    edits: &[(&str, &str)],
) -> Vec<std::collections::HashMap<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(scenario(name)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} has `{from}`");
        text = text.replacen(from, to, 1);
    }
    // Keep relative policy paths working from the temporary folder.
    let policies = root().join("models/policies");
    text = text.replace("../policies/", &format!("{}/", policies.display()));
    let path = temp_file(&dir, name, &text);
    trace(&path)
}

#[test]
fn phishing_resistant_methods_defeat_aitm_and_push_bombing() {
    let passkey = [(
        "client = \"browser\"",
        "client = \"browser\"\ncredential = \"passkey\"\nmfa_method = \"passkey\"",
    )];
    let rows = trace_variant("attack-aitm-sif-cut.toml", &passkey);
    assert_eq!(
        attacker_rows(&rows)[0],
        arow(
            "00:30",
            "aitm",
            "office_web",
            "denied",
            "phishing_resistant",
            ""
        )
    );
    let rows = trace_variant("attack-push-bombing.toml", &passkey);
    assert_eq!(
        attacker_rows(&rows)[0],
        arow(
            "00:30",
            "push_bombing",
            "office_web",
            "denied",
            "phishing_resistant",
            ""
        )
    );
}

#[test]
fn device_code_phishing_works_with_passkeys_unless_the_flow_is_blocked() {
    let rows = trace(&scenario("attack-device-code-blocked.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [arow(
            "00:30",
            "device_code",
            "graph",
            "denied",
            "blocked_by_policy",
            ""
        )]
    );
    let rows = trace_variant(
        "attack-device-code-blocked.toml",
        &[("block-device-code-flow.json", "mfa-all-users.json")],
    );
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "00:30",
                "device_code",
                "graph",
                "silent",
                "artefact_stolen",
                "refresh_token"
            ),
            arow(
                "00:31",
                "attacker_use",
                "exchange",
                "silent",
                "session_valid",
                "refresh_token"
            ),
        ]
    );
}

#[test]
fn a_compliant_device_grant_stops_aitm_at_the_phished_sign_in() {
    let rows = trace_variant(
        "attack-aitm-sif-cut.toml",
        &[(
            "sif-1h.json",
            "../../tests/data/policies/compliant-all-apps.json",
        )],
    );
    assert_eq!(
        attacker_rows(&rows),
        [arow(
            "00:30",
            "aitm",
            "office_web",
            "denied",
            "grant_not_satisfied",
            ""
        )]
    );
}

#[test]
fn a_risk_detection_lets_risk_based_policies_end_the_attackers_replay() {
    let rows = trace(&scenario("attacker-risk-detection.toml"));
    assert_eq!(
        attacker_rows(&rows),
        [
            arow(
                "00:35",
                "attacker_use",
                "office_web",
                "silent",
                "session_valid",
                "cookie"
            ),
            arow(
                "01:00",
                "attacker_use",
                "office_web",
                "denied",
                "every_time",
                "cookie"
            ),
        ]
    );
}

/// Each row of `actor` as "at app outcome reason", in order.
fn brief(name: &str, actor: &str) -> Vec<String> {
    trace(&scenario(name))
        .iter()
        .filter(|r| r["actor"] == actor)
        .map(|r| format!("{} {} {} {}", r["at"], r["app"], r["outcome"], r["reason"]))
        .collect()
}

#[test]
fn every_time_does_not_prompt_after_a_browser_restart_within_the_resources_session() {
    assert_eq!(
        brief("every-time-browser-restart.toml", "user"),
        [
            "09:00 sharepoint prompt initial_sign_in",
            "09:00 sharepoint silent token_valid",
            "09:32 sharepoint silent token_valid",
            "10:20 sharepoint prompt every_time",
        ]
    );
}

#[test]
fn cae_tokens_meet_sign_in_frequency_by_one_rule_for_user_and_attacker() {
    // Ordinary 75-minute tokens for both: the user prompts at the renewal after each
    // deadline, the attacker is refused at its own renewal.
    assert_eq!(
        brief("cae-tokens-under-sif.toml", "user"),
        [
            "00:00 sharepoint prompt initial_sign_in",
            "00:00 sharepoint silent token_valid",
            "01:15 sharepoint prompt sif_expired",
            "02:30 sharepoint prompt sif_expired",
            "03:45 sharepoint prompt sif_expired",
        ]
    );
    assert_eq!(
        brief("cae-tokens-under-sif.toml", "attacker"),
        [
            "00:30 sharepoint silent session_valid",
            "01:45 sharepoint denied sif_expired",
        ]
    );
}

#[test]
fn revoking_sessions_leaves_a_guest_signed_in() {
    assert_eq!(
        brief("revoke-sessions-guest.toml", "user")[2..],
        [
            "01:30 office_web silent session_valid",
            "01:30 sharepoint silent session_valid",
        ]
    );
}

#[test]
fn remember_mfa_needs_the_user_to_tick_the_box() {
    let rows = trace(&scenario("remember-mfa-not-ticked.toml"));
    let mfa: Vec<_> = rows
        .iter()
        .filter(|r| r["outcome"] == "prompt")
        .map(|r| (r["at"].clone(), r["mfa"].clone()))
        .collect();
    assert_eq!(
        mfa,
        [
            ("00:00".to_string(), "true".to_string()),
            ("00:31".to_string(), "true".to_string())
        ]
    );
}

#[test]
fn a_strength_the_user_can_register_for_sends_them_to_registration_not_a_block() {
    let rows = trace(&scenario("strength-combined-registration.toml"));
    let user: Vec<_> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} mfa={}",
                r["at"], r["outcome"], r["reason"], r["mfa"]
            )
        })
        .collect();
    assert_eq!(
        user,
        [
            "00:00 prompt initial_sign_in mfa=true",
            "00:30 silent session_valid mfa=false"
        ]
    );
}
