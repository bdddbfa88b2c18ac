//! sessionsim: a deterministic discrete-event simulator of Microsoft Entra ID session
//! lifecycles.
//!
//! The library does all the work; `src/main.rs` only parses arguments, shows progress and
//! maps errors to exit codes. The library never prints and never exits.
//!
//! Modules, one per domain concept:
//! - [`time`]: integer simulated time and the duration/time text forms;
//! - [`queue`]: the per-user event queue ordered by `(time, insertion sequence)`;
//! - [`app`]: resources, device trust types and clients;
//! - [`policy`]: Conditional Access policies from Graph JSON, evaluation and combination;
//! - [`error`]: input errors that name the file, line and field.

pub mod app;
pub mod draw;
pub mod error;
pub mod experiment;
pub mod job;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod output;
pub mod policy;
pub mod population;
pub mod queue;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod signinlog;
pub mod threat;
pub mod time;
pub mod validate;
pub mod whatif;
