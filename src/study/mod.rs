//! Studies: what a user asks the tool to run, and running it.
//!
//! - [`experiment`]: designs × population × replicates, from `experiments/*.toml`;
//! - [`runner`]: simulates every design × replicate × user in parallel, following each
//!   theft in a copy of the user's timeline;
//! - [`job`]: a run from start to written folder; [`merge`]: shards into one run's files;
//! - [`scenario`]: one scripted user (`trace`); [`validate`]: checks any input file.
//!
//! Calibration, which runs studies of its own, is `crate::calibrate`.
//!
//! Owns: the plan of a run and its determinism (streams keyed by seed, design, replicate and
//! user). May not judge evaluations (`crate::model`) nor format results (`crate::output`).

pub mod experiment;
pub mod job;
pub mod merge;
pub mod precision;
pub mod runner;
pub mod scenario;
pub mod sensitivity;
pub mod validate;

// Moved to `crate::calibrate` (issue 33); the old path stays for code written against it.
pub use crate::calibrate;
