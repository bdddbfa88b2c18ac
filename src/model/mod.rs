//! The session model of one user (MODEL.md §2–§6): artefacts, the rules that change them,
//! and the discrete-event driver.

mod access;
pub mod action;
mod attack;
pub mod params;
pub mod rules;
pub mod session;
pub mod sim;

pub use action::{Action, Artefact, Credential, Observer, UserSetup};
pub use params::{ModelParams, TenantSettings, TokenMode};
pub use rules::{
    Access, Asker, Facts, MfaMethod, Profile, Protected, Requirement, RuleKey, RuleTable,
};
pub use session::{Actor, Outcome, Reason, Record, StepKind};
pub use sim::UserSim;
