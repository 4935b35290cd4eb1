//! The summary Lambda: on a schedule, merge the window's statistics shards,
//! check coverage, and send one readable report.
//!
//! # Layout
//!
//! - [`handler`]: window, shards, coverage, report, publish.
//! - [`config`]: settings from the environment.

pub mod config;
pub mod handler;
