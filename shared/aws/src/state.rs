//! What trailwatch keeps in its state bucket, and where.
//!
//! ```text
//! markers/<log bucket>/<log key>                  one per log object: claimed, partial or done
//! shards/YYYY/MM/DD/HH/<log bucket>/<log key>.json the file's statistics (hour of the file name's time)
//! summaries/<window>.json                          merged statistics of a summary window
//! integrity/YYYY/MM/DD/HH/<log bucket>/<digest key>.json  what a verified digest vouched for (hour of its start)
//! ```

use serde::{Deserialize, Serialize};
use trailwatch_core::key::LogKey;
use trailwatch_core::StatsShard;

pub const MARKERS: &str = "markers/";
pub const SHARDS: &str = "shards/";
pub const SUMMARIES: &str = "summaries/";
pub const INTEGRITY: &str = "integrity/";

/// `hour_path` is `YYYY/MM/DD/HH` of the digest's start.
pub fn integrity_key(hour_path: &str, bucket: &str, key: &str) -> String {
    format!("{INTEGRITY}{hour_path}/{bucket}/{key}.json")
}

pub fn marker_key(bucket: &str, key: &str) -> String {
    format!("{MARKERS}{bucket}/{key}")
}

pub fn shard_key(log: &LogKey, bucket: &str, key: &str) -> String {
    format!("{SHARDS}{}/{bucket}/{key}.json", log.hour_path())
}

/// Where a log file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkerState {
    /// An invocation is working on it.
    Claimed,
    /// Some alerts went out, then something failed; `published` says which.
    Partial,
    /// Alerts published and statistics written.
    Done,
}

/// The processed marker of one log object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub state: MarkerState,
    pub etag: Option<String>,
    /// Seconds since the Unix epoch: for `claimed`, when the claim lapses
    /// (the claiming invocation's deadline); otherwise when it was written.
    pub at: u64,
    /// Ids of the alerts already published (see `Alert::id`).
    #[serde(default)]
    pub published: Vec<String>,
    #[serde(default)]
    pub records: u64,
    #[serde(default)]
    pub findings: u64,
}

/// A statistics shard with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// `s3://bucket/key` of the log file.
    pub source: String,
    pub account_id: String,
    pub region: String,
    /// The file name's time, `YYYYMMDDTHHmmZ`.
    pub time: String,
    /// False when the file could not be read to its end.
    pub complete: bool,
    pub stats: StatsShard,
}
