//! The session model of one user (MODEL.md §2–§8).
//!
//! The rulebook: each rule of MODEL.md is a set of pure functions in a file named after it,
//! which the user and the attacker both evaluate through.
//! - [`revocation`]: what revokes or expires an artefact, whoever holds a copy;
//! - [`sign_in_frequency`]: what a session lacks (SIF, every-time tolerance, MFA claims,
//!   remember-MFA, password change);
//! - [`prt`]: when the PRT renews; [`cookies`]: persistence and third-party app cookies;
//! - [`tokens`]: access-token lifetimes; [`cae`]: continuous access evaluation;
//! - [`rules`]: what Conditional Access requires of one kind of access (cached per user).
//!
//! The holders and the driver:
//! - `access.rs`: the user's view (slots, PRT single sign-on, prompts);
//! - `attack.rs`: the attacker's replays; [`theft`]: how attacks obtain artefacts;
//! - [`sim`]: the per-user event driver, which schedules and decides nothing.

mod access;
pub mod action;
mod attack;
pub mod cae;
pub mod cookies;
pub mod params;
pub mod prt;
pub mod revocation;
pub mod rules;
pub mod session;
pub mod sign_in_frequency;
pub mod sim;
pub mod theft;
pub mod tokens;
pub mod warm;

pub use action::{Action, Artefact, Attempt, Credential, Mechanism, Observer, UserSetup};
pub use params::{ModelParams, TenantSettings, TokenMode};
pub use revocation::Revocations;
pub use rules::{
    Access, Asker, Facts, MfaMethod, Profile, Protected, Requirement, RuleKey, RuleTable,
};
pub use session::{Actor, Outcome, Reason, Record, StepKind};
pub use sim::{Stolen, Stop, Theft, TheftMode, UserSim};
pub use theft::{Habituation, Susceptibility};
