//! Combining every applicable policy into one [`Decision`].
//!
//! Rules (concept-conditional-access-policies.md, MODEL.md §3 and §7):
//! - all applicable policies apply; any `block` blocks;
//! - grant clauses accumulate: every clause must be satisfied, each with its own AND/OR
//!   operator and authentication strength;
//! - session controls take the most restrictive value: the shortest sign-in frequency,
//!   every-time over periodic (for full and MFA-only reauthentication separately), `never`
//!   over `always` for persistence, [`CaeMode::stricter`] for CAE, and token protection if
//!   any policy asks for it.

use super::{AuthStrength, CaeMode, Decision, GrantControl, Operator, Persistence, Policy, Sif};

impl Decision {
    /// Adds one applicable policy's grant and session controls.
    pub(crate) fn add(&mut self, policy: &Policy) {
        self.grant.block |= policy.block;
        if let Some(clause) = &policy.grant {
            self.grant.clauses.push(clause.clone());
        }
        let s = &mut self.session;
        let p = &policy.session;
        s.sign_in_frequency = Sif::stricter(s.sign_in_frequency, p.sign_in_frequency);
        s.mfa_frequency = Sif::stricter(s.mfa_frequency, p.mfa_frequency);
        s.persistent_browser = Persistence::stricter(s.persistent_browser, p.persistent_browser);
        s.cae = CaeMode::stricter(s.cae, p.cae);
        s.token_protection |= p.token_protection;
    }
}

/// The combined grant flattened to one list, as `whatif` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantSummary {
    pub block: bool,
    pub operator: Operator,
    /// Control names (`mfa`, `compliantDevice`, ...). When a policy's OR clause cannot be
    /// folded into the others, it appears as one entry `(compliantDevice OR mfa)` and the
    /// operator between entries is AND.
    pub controls: Vec<String>,
    /// The authentication strength every clause's strength together requires.
    pub auth_strength: Option<AuthStrength>,
}

/// The names of one policy's grant controls, in Entra's prompt order; unmodelled controls
/// by their Graph names.
pub fn control_names(policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    if policy.block {
        out.push("block".to_string());
    }
    if let Some(clause) = &policy.grant {
        for c in clause.controls.iter() {
            if c == GrantControl::Other && !policy.grant_other.is_empty() {
                out.extend(policy.grant_other.iter().cloned());
            } else {
                out.push(c.name().to_string());
            }
        }
    }
    out
}

/// Flattens the grants of the applicable policies.
///
/// Clauses that need all their controls (AND, or a single control) add their controls to
/// the required list. An OR clause already satisfied by a required control is dropped, since
/// satisfying the required list satisfies it too. If only one OR clause remains and nothing
/// else is required, the summary is that clause with operator OR.
pub fn summarize_grant(policies: &[&Policy]) -> GrantSummary {
    let mut summary = GrantSummary::default();
    if policies.iter().any(|p| p.block) {
        summary.block = true;
        summary.controls.push("block".into());
        return summary;
    }
    let mut required: Vec<String> = Vec::new();
    let mut alternatives: Vec<Vec<String>> = Vec::new();
    for p in policies {
        let Some(clause) = &p.grant else { continue };
        summary.auth_strength = match (summary.auth_strength.take(), &clause.auth_strength) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or_else(|| b.clone()),
        };
        let names = control_names(p);
        if clause.operator == Operator::And || names.len() <= 1 {
            for n in names {
                if !required.contains(&n) {
                    required.push(n);
                }
            }
        } else if !alternatives.contains(&names) {
            alternatives.push(names);
        }
    }
    alternatives.retain(|alt| !alt.iter().any(|n| required.contains(n)));
    let rank = |name: &str| {
        GrantControl::ALL
            .iter()
            .position(|c| c.name() == name)
            .unwrap_or(GrantControl::ALL.len())
    };
    required.sort_by_key(|n| rank(n));
    match (required.is_empty(), alternatives.len()) {
        (true, 1) => {
            summary.operator = Operator::Or;
            summary.controls = alternatives.remove(0);
        }
        _ => {
            summary.operator = Operator::And;
            summary.controls = required;
            for alt in alternatives {
                summary.controls.push(format!("({})", alt.join(" OR ")));
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::Duration;
    use crate::policy::{GrantClause, GrantSet, SessionControls};

    fn policy(
        name: &str,
        op: Operator,
        controls: &[GrantControl],
        session: SessionControls,
    ) -> Policy {
        let mut set = GrantSet::default();
        for c in controls {
            set.insert(*c);
        }
        let grant = (!set.is_empty()).then(|| GrantClause {
            operator: op,
            controls: set,
            auth_strength: None,
            policy: name.into(),
        });
        Policy::all_users_all_apps(name, name, grant, session)
    }

    fn sif(h: u64) -> SessionControls {
        SessionControls {
            sign_in_frequency: Some(Sif::Periodic(Duration::from_hours(h))),
            ..SessionControls::default()
        }
    }

    #[test]
    fn session_controls_take_the_most_restrictive_value() {
        let mut d = Decision::default();
        d.add(&policy("a", Operator::And, &[], sif(24)));
        d.add(&policy("b", Operator::And, &[], sif(4)));
        assert_eq!(
            d.session.sign_in_frequency,
            Some(Sif::Periodic(Duration::from_hours(4)))
        );
        d.add(&policy(
            "c",
            Operator::And,
            &[],
            SessionControls {
                sign_in_frequency: Some(Sif::EveryTime),
                persistent_browser: Some(Persistence::Always),
                ..SessionControls::default()
            },
        ));
        d.add(&policy(
            "d",
            Operator::And,
            &[],
            SessionControls {
                persistent_browser: Some(Persistence::Never),
                mfa_frequency: Some(Sif::Periodic(Duration::from_hours(8))),
                token_protection: true,
                cae: CaeMode::Disabled,
                ..SessionControls::default()
            },
        ));
        assert_eq!(d.session.sign_in_frequency, Some(Sif::EveryTime));
        assert_eq!(d.session.persistent_browser, Some(Persistence::Never));
        assert_eq!(
            d.session.mfa_frequency,
            Some(Sif::Periodic(Duration::from_hours(8)))
        );
        assert!(d.session.token_protection);
        assert_eq!(d.session.cae, CaeMode::Disabled);
    }

    #[test]
    fn grant_clauses_accumulate_and_block_wins() {
        let a = policy(
            "a",
            Operator::Or,
            &[GrantControl::Mfa, GrantControl::CompliantDevice],
            SessionControls::default(),
        );
        let b = policy(
            "b",
            Operator::And,
            &[GrantControl::PasswordChange, GrantControl::Mfa],
            SessionControls::default(),
        );
        let mut d = Decision::default();
        d.add(&a);
        d.add(&b);
        assert_eq!(d.grant.clauses.len(), 2);
        assert!(!d.grant.block);
        let mut blocker = policy("x", Operator::Or, &[], SessionControls::default());
        blocker.block = true;
        d.add(&blocker);
        assert!(d.grant.block);
        assert_eq!(summarize_grant(&[&a, &blocker]).controls, vec!["block"]);
    }

    #[test]
    fn summaries_fold_or_clauses_already_satisfied() {
        let or = policy(
            "a",
            Operator::Or,
            &[GrantControl::Mfa, GrantControl::CompliantDevice],
            SessionControls::default(),
        );
        let and = policy(
            "b",
            Operator::And,
            &[GrantControl::PasswordChange, GrantControl::Mfa],
            SessionControls::default(),
        );
        let s = summarize_grant(&[&or]);
        assert_eq!(
            (s.operator, s.controls.clone()),
            (
                Operator::Or,
                vec!["mfa".to_string(), "compliantDevice".to_string()]
            )
        );
        let s = summarize_grant(&[&or, &and]);
        assert_eq!(
            (s.operator, s.controls),
            (
                Operator::And,
                vec!["mfa".to_string(), "passwordChange".to_string()]
            )
        );
        let joined = policy(
            "c",
            Operator::And,
            &[GrantControl::DomainJoinedDevice],
            SessionControls::default(),
        );
        let s = summarize_grant(&[&or, &joined]);
        assert_eq!(
            s.controls,
            vec![
                "domainJoinedDevice".to_string(),
                "(mfa OR compliantDevice)".to_string()
            ]
        );
        assert_eq!(summarize_grant(&[]), GrantSummary::default());
    }
}
