//! The detection Lambda: every new CloudTrail log file in S3 becomes
//! readable alerts on SNS (and Slack and webhooks), exactly once.
//!
//! # Layout
//!
//! - [`envelope`]: decoding S3, EventBridge, SNS, SQS and CloudTrail notifications.
//! - [`handler`]: claim, scan, fold repeats, send, record: the per-object
//!   flow, and the scheduled flush of dedup windows.
//! - [`integrity`]: digest files verified on arrival, through the same flow.
//! - [`config`]: settings from the environment and the rules to load.

pub mod config;
pub mod envelope;
pub mod handler;
pub mod integrity;
