//! trailwatch's edge to AWS: the ports the Lambda handlers are written
//! against, their AWS SDK implementations, in-memory stand-ins for tests,
//! and the layout of the state bucket.
//!
//! # Layout
//!
//! - [`ports`]: `ObjectStore`, `AlertSink` and `PublicKeySource`, the traits handlers take.
//! - [`s3`], [`sns`], [`cloudtrail`]: the SDK implementations.
//! - [`memory`]: in-memory implementations with fault injection.
//! - [`ledger`]: the exactly-once ledger (claims, intents, outcomes) in the state bucket.
//! - [`state`]: the state bucket's layout and statistics shards.
//! - [`config`]: building SDK clients once at start-up.
//! - `testing` (feature `test-harness`): a moto server for integration tests.

pub mod cloudtrail;
pub mod config;
pub mod ledger;
pub mod memory;
pub mod ports;
pub mod s3;
pub mod sns;
pub mod state;
#[cfg(feature = "test-harness")]
pub mod testing;

pub use ports::{AlertSink, Failure, FailureKind, ObjectStore, PublicKeySource};
