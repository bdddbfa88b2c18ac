//! The world the sessions live in: the vocabulary of apps, devices and clients ([`app`]),
//! the users (populations, [`population`]), the attacks on them ([`threat`]), and the random
//! draws both plan with ([`draw`]). Fitting populations to a tenant's sign-in logs is
//! `crate::calibrate`'s.
//!
//! Owns: what happens to whom and when (workdays, app use, risk events, attack attempts and
//! what an attacker does after a theft). May not decide what an evaluation comes to: that
//! is the session model's (`crate::model`). [`app`] is a leaf that every layer may use.

pub mod app;
pub mod draw;
pub mod population;
pub mod threat;

// Moved to `crate::calibrate` (issue 33); the old paths stay for code written against them.
pub use crate::calibrate::{directory, fit, log_reader as signin_log};
