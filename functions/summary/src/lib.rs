//! The summary Lambda: on a schedule, merge the window's statistics shards,
//! check coverage, and send one readable report, exactly once.
//!
//! # Layout
//!
//! - [`handler`]: the event's window, the dedup flush, then the summary job;
//!   the error that says whether a retry helps.
//! - [`report`]: shards, deliveries, integrity records and the previous
//!   window, read and rendered into the report.
//! - [`job`]: the summary job, through the exactly-once runner of
//!   [`trailwatch_aws::runner`].
//! - [`config`]: settings from the environment.

pub mod config;
pub mod handler;
pub mod job;
pub mod report;
