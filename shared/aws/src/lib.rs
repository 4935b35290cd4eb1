//! trailwatch's edge to AWS: the ports the Lambda handlers are written
//! against, their AWS SDK implementations, in-memory stand-ins for tests,
//! and the layout of the state bucket.
//!
//! # Layout
//!
//! - [`ports`]: `ObjectStore` and `PublicKeySource`, the traits handlers take.
//! - [`output`]: the alert outputs (SNS, Slack, webhook), their filters, and
//!   delivery through the ledger.
//! - [`s3`], [`cloudtrail`]: the SDK implementations of the ports.
//! - [`profiles`]: first-seen profiles settled against a store, with a
//!   per-invocation cache; [`dynamo`]: the store on DynamoDB.
//! - [`secrets`]: output URLs and signing secrets from Secrets Manager or SSM.
//! - [`flood`]: dedup windows across files, and their follow-ups.
//! - [`thresholds`]: threshold rules counted across files.
//! - [`rate`]: the cap on messages per second across invocations.
//! - [`memory`]: in-memory implementations with fault injection.
//! - [`runner`]: the exactly-once runner every job goes through (claim, work,
//!   deliver, write, finish; the claim given back on every other way out),
//!   and the errors that say whether a retry helps.
//! - [`lanes`]: one alert per event and rule across lanes (real time, files).
//! - [`ledger`]: the exactly-once ledger (claims, intents, outcomes) in the state bucket.
//! - [`state`]: the state bucket's layout and statistics shards.
//! - [`rollup`]: hourly rollups of the shards, created once per closed hour.
//! - [`config`]: building SDK clients once at start-up.
//! - `testing` (feature `test-harness`): a moto server for integration tests.

pub mod cloudtrail;
pub mod config;
pub mod dynamo;
pub mod flood;
pub mod lanes;
pub mod ledger;
pub mod memory;
pub mod output;
pub mod ports;
pub mod profiles;
pub mod rate;
pub mod rollup;
pub mod runner;
pub mod s3;
pub mod secrets;
pub mod state;
#[cfg(feature = "test-harness")]
pub mod testing;
pub mod thresholds;

pub use output::{Output, Outputs, Route};
pub use ports::{Failure, FailureKind, ObjectStore, PublicKeySource};
