//! What trailwatch keeps in its state bucket, and where.
//!
//! ```text
//! markers/<log bucket>/<log key>                  the ledger entry of each object (see `ledger`)
//! shards/YYYY/MM/DD/HH/<log bucket>/<log key>.json the file's statistics (hour of the file name's time)
//! rollups/YYYY/MM/DD/HH.json                      an hour's shards merged, once it closed (see `rollup`)
//! summaries/<window>.json                          merged statistics of a summary window
//! integrity/YYYY/MM/DD/HH/<log bucket>/<digest key>.json  what a verified digest vouched for (hour of its start)
//! once/<what>.json                                 things told once (a conditional create decides)
//! flood/...                                        dedup windows and their folds (see `flood`)
//! thresholds/...                                   threshold-rule counts across files (see `thresholds`)
//! rate/<output>/<second>/<n>                       per-second send slots (see `rate`)
//! lanes/<rule>/<event id>                          which job alerts on an event (see `lanes`)
//! ```

use serde::{Deserialize, Serialize};
use trailwatch_core::key::LogKey;
use trailwatch_core::StatsShard;

pub const MARKERS: &str = "markers/";
pub const SHARDS: &str = "shards/";
pub const SUMMARIES: &str = "summaries/";
pub const INTEGRITY: &str = "integrity/";
/// Things to tell people once, decided by a conditional create.
pub const ONCE: &str = "once/";

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
    /// Alerts an output refused for good, or gave up on: recorded, not retried.
    #[serde(default)]
    pub rejected_alerts: u64,
    /// Findings folded into a dedup window's follow-up instead of alerting.
    #[serde(default)]
    pub folded_findings: u64,
}
