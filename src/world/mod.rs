//! The world the sessions live in: the vocabulary of apps, devices and clients ([`app`]),
//! the users (populations, [`population`]), the attacks on them ([`threat`]), and the random
//! draws both plan with ([`draw`]), and the tenant's own sign-in logs that populations are
//! fitted from ([`signin_log`], [`fit`]).
//!
//! Owns: what happens to whom and when (workdays, app use, risk events, attack attempts and
//! what an attacker does after a theft). May not decide what an evaluation comes to: that
//! is the session model's (`crate::model`). [`app`] is a leaf that every layer may use.

pub mod app;
pub mod directory;
pub mod draw;
pub mod fit;
pub mod population;
pub mod signin_log;
pub mod threat;
