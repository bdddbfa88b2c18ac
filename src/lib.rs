//! sessionsim: a deterministic discrete-event simulator of Microsoft Entra ID session
//! lifecycles.
//!
//! The library does all the work; `src/main.rs` only parses arguments, shows progress and
//! maps errors to exit codes. The library never prints and never exits.
//!
//! Layers, each a folder; a layer uses only the layers above it in this list:
//!
//! ```text
//! engine  time, queue                      integer time; the (time, sequence) event order
//! policy  Graph JSON, conditions, combine  what Conditional Access requires of one sign-in
//!         whatif                           (world::app is the shared vocabulary)
//! model   rulebook: revocation, sign_in_frequency, cae, tokens, cookies, prt, rules
//!         holders: access (user), attack (attacker), theft (mechanisms); sim (driver)
//! world   app, draw, population, threat    who does what when; which attacks, how often
//! study   experiment, runner, job, merge,  running what the user asked for
//!         scenario, validate
//! output  metrics, signinlog, tables,      numbers and files
//!         report, files
//! calibrate  log_reader, fit, directory,   a population fitted to the tenant's sign-in
//!         pipeline, check                  logs, checked by simulating it
//! ```
//!
//! `world::app` (apps, devices, clients) is a leaf every layer may use, and `output`'s
//! accumulators are what `study::runner` streams into. [`error`] carries input errors that
//! name the file, line and field.

pub mod calibrate;
pub mod engine;
pub mod error;
pub mod model;
pub mod output;
pub mod policy;
pub mod study;
pub mod world;
