//! What trailwatch keeps in its state bucket, and where.
//!
//! ```text
//! markers/<log bucket>/<log key>                  the ledger entry of each object (see `ledger`)
//! shards/YYYY/MM/DD/HH/<log bucket>/<log key>.json the file's statistics (hour of the file name's time)
//! shards/YYYY/MM/DD/HH/_events/<lane>/<event id>.json  a real-time event's times to alert (hour it was sent)
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

/// The shard of a real-time event (`hour_path` is `YYYY/MM/DD/HH` of when
/// its alerts were sent); the event id comes from a record, so it is
/// escaped as lane claims are.
pub fn event_shard_key(hour_path: &str, lane: &str, event_id: &str) -> String {
    let (lane, id) = (crate::lanes::escape(lane), crate::lanes::escape(event_id));
    format!("{SHARDS}{hour_path}/_events/{lane}/{id}.json")
}

/// A statistics shard with where it came from: a log file's, or a
/// real-time event's (`event_lane` set: it holds the times to alert of the
/// event's alerts only, and is no processed log file).
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
    /// The lane of a real-time event's shard (`eventbridge`,
    /// `cloudwatch-logs`); absent for a log file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_lane: Option<String>,
}
