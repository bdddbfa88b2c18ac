//! Studies: what a user asks the tool to run, and running it.
//!
//! - [`experiment`]: designs × population × replicates, from `experiments/*.toml`;
//! - [`runner`]: simulates every design × replicate × user in parallel, following each
//!   theft in a copy of the user's timeline;
//! - [`job`]: a run from start to written folder; [`merge`]: shards into one run's files;
//! - [`scenario`]: one scripted user (`trace`); [`validate`]: checks any input file;
//! - [`calibrate`]: a population fitted to the tenant's sign-in logs, checked by simulation.
//!
//! Owns: the plan of a run and its determinism (streams keyed by seed, design, replicate and
//! user). May not judge evaluations (`crate::model`) nor format results (`crate::output`).

pub mod calibrate;
pub mod experiment;
pub mod job;
pub mod merge;
pub mod precision;
pub mod runner;
pub mod scenario;
pub mod sensitivity;
pub mod validate;
