//! The detection Lambda: every new CloudTrail log file in S3 becomes
//! readable alerts on SNS (and Slack and webhooks), exactly once; every
//! digest file is verified as it arrives.
//!
//! # Layout
//!
//! - [`handler`]: the thin dispatcher: an invocation decoded into jobs, each
//!   run, the answer Lambda expects (`batchItemFailures` for SQS).
//! - [`jobs`]: what an invocation can be asked to do, one module per job
//!   (log file, digest file, dedup flush, real-time event), each through the exactly-once
//!   runner of [`trailwatch_aws::runner`].
//! - [`envelope`]: decoding S3, EventBridge, SNS, SQS and CloudTrail notifications.
//! - [`intake`]: CloudTrail records that arrive one by one (EventBridge's
//!   CloudTrail events, CloudWatch Logs subscriptions): the real-time lane.
//! - [`outcome`]: what handling came to, and the error that says whether a
//!   retry helps.
//! - [`keys`]: CloudTrail's public keys, cached for the digest job.
//! - [`config`]: settings from the environment and the rules to load.

pub mod config;
pub mod envelope;
pub mod handler;
pub mod intake;
pub mod jobs;
pub mod keys;
pub mod outcome;
