//! Calibration (`sessionsim calibrate`): a population fitted to the tenant's own sign-in
//! logs, and checked by simulating it under the tenant's policies.
//!
//! - [`log_reader`]: reading logs. Every export shape (Graph pages and JSON lines, Azure
//!   Monitor records, the admin center's and Log Analytics' CSV, sessionsim's own CSV and
//!   Parquet; gzip and zip) streamed into [`log_reader::SignIn`]s;
//! - [`directory`]: the groups and directory roles of the log's users (`--directory`);
//! - [`fit`]: fitting. Per-user, per-day aggregates ([`fit::LogSummary`]), personas, the
//!   first estimates and the population file;
//! - [`pipeline`]: the whole command, reading, fitting and correcting by simulation;
//! - [`check`]: checking. The fitted population simulated against the log, cell by cell,
//!   and `calibration.csv`.
//!
//! Owns: what a tenant's log says about its users, and how far a population reproduces
//! it. Uses the simulation as a black box (`crate::study::runner`) and the sign-in log it
//! writes (`crate::output::signinlog`), read back by [`log_reader`] like any other log.

pub mod check;
pub mod directory;
pub mod fit;
pub mod log_reader;
pub mod pipeline;

pub use check::{
    calibration_csv, is_calibration_csv, is_predictions_csv, predictions_csv, CheckRow,
};
pub use pipeline::{calibrate, CalibrateOptions, Calibration, Prediction, Progress};
