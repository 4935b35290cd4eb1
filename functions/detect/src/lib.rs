//! The detection Lambda: every new CloudTrail log file in S3 becomes
//! readable alerts on SNS, exactly once.
//!
//! # Layout
//!
//! - [`envelope`]: decoding S3, EventBridge, SNS, SQS and CloudTrail notifications.
//! - [`handler`]: claim, scan, publish, record: the per-object flow.
//! - [`delivery`]: alerts through the ledger: intent, `PublishBatch`, outcome, retries.
//! - [`integrity`]: digest files verified on arrival, through the same flow.
//! - [`config`]: settings from the environment and the rules to load.

pub mod config;
pub mod delivery;
pub mod envelope;
pub mod handler;
pub mod integrity;
