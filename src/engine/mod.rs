//! The engine: simulated time and the per-user event queue.
//!
//! Owns: integer time and its text forms ([`time`]), calendar dates ([`calendar`]), the
//! `(time, insertion sequence)` event order ([`queue`]). Knows nothing of Entra, users or policies; every other layer
//! may use it.

pub mod calendar;
pub mod queue;
pub mod time;
