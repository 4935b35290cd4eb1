//! Hourly rollups of the statistics shards: once an hour has closed, its
//! shards (one per log file: 11,000 an hour for 55 accounts × 17 regions)
//! are merged into one object, `rollups/YYYY/MM/DD/HH.json`, so that a daily
//! summary reads 24 rollups instead of 270,000 shards.
//!
//! The first reader of a closed hour without a rollup merges its shards and
//! creates the rollup with a conditional write (`If-None-Match: *`): exactly
//! one rollup per hour, whoever comes first. A shard filed after its hour's
//! rollup (a log file processed late) is not lost: every reader lists the
//! hour's shard keys (one LIST per 1,000 keys, no GET) and reads, besides
//! the rollup, only the shards the rollup does not hold.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use tracing::warn;
use trailwatch_core::StatsShard;

use crate::ports::{Condition, FailureKind, ObjectStore, Result};
use crate::state::{ShardFile, SHARDS};

pub const ROLLUPS: &str = "rollups/";

/// The schedule rolls an hour up this long after it ends: most of its log
/// files have been processed by then (a later shard is still read, beside
/// the rollup).
pub const ROLLUP_GRACE: Duration = Duration::from_secs(15 * 60);

/// `rollups/YYYY/MM/DD/HH.json`.
pub fn rollup_key(hour_path: &str) -> String {
    format!("{ROLLUPS}{hour_path}.json")
}

/// The merged statistics shards of one hour (of log file delivery times).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourStats {
    /// `YYYY/MM/DD/HH`.
    pub hour: String,
    pub stats: StatsShard,
    /// `s3://bucket/key` of every log file whose shard is merged in.
    pub processed: BTreeSet<String>,
    /// Those not read to their end.
    pub incomplete: Vec<String>,
    /// Real-time events' shards merged in (`s3://_events/<lane>/<id>`):
    /// counted in the statistics, not as log files.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub events: BTreeSet<String>,
    /// Shards that could not be parsed (their log files show as unprocessed).
    pub unreadable_shards: u64,
    pub rejected_alerts: u64,
    pub folded_findings: u64,
}

impl HourStats {
    /// Adds a shard read from `source` (its key, as [`source_of`] names it).
    fn add(&mut self, shard: ShardFile, source: Option<String>) {
        self.stats.merge(&shard.stats);
        self.rejected_alerts += shard.rejected_alerts;
        self.folded_findings += shard.folded_findings;
        if shard.event_lane.is_some() {
            // A real-time event's times to alert: no log file.
            self.events.extend(source);
            return;
        }
        if !shard.complete {
            self.incomplete.push(shard.source.clone());
        }
        self.processed.insert(shard.source);
    }
}

/// What reading an hour took, for the summary's log line and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub lists: u64,
    pub gets: u64,
    pub puts: u64,
}

/// `YYYY/MM/DD/HH` of the hour starting at `start`.
pub fn hour_path(start: time::OffsetDateTime) -> String {
    format!("{:04}/{:02}/{:02}/{:02}", start.year(), start.month() as u8, start.day(), start.hour())
}

/// Whether the hour starting at `start` has ended at `now` (Unix seconds).
/// The summary rolls up every ended hour it reads (it reads their shards
/// anyway); the schedule waits [`ROLLUP_GRACE`] more ([`latest_closed`]).
pub fn is_closed(start: time::OffsetDateTime, now: u64) -> bool {
    i64::try_from(now).is_ok_and(|now| now >= start.unix_timestamp() + 3600)
}

/// The `count` latest hours closed at `now`, newest first.
pub fn latest_closed(now: u64, count: usize) -> Vec<String> {
    let Ok(now) = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(i64::MAX)) else {
        return Vec::new();
    };
    let last = now - time::Duration::seconds(3600 + ROLLUP_GRACE.as_secs() as i64);
    let start = last.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0));
    let Ok(start) = start else { return Vec::new() };
    (0..count).map(|n| hour_path(start - time::Duration::hours(n as i64))).collect()
}

/// The log file a shard key stands for: `shards/<hour>/<bucket>/<key>.json` → `s3://<bucket>/<key>`.
fn source_of(shard_key: &str, hour_path: &str) -> Option<String> {
    let rest = shard_key.strip_prefix(SHARDS)?.strip_prefix(hour_path)?.strip_prefix('/')?;
    Some(format!("s3://{}", rest.strip_suffix(".json")?))
}

/// Reads hours of statistics from the state bucket, rolling up closed ones.
pub struct Rollups<'a, S> {
    pub store: &'a S,
    pub bucket: &'a str,
    /// Shards read at once.
    pub concurrency: usize,
}

impl<S: ObjectStore> Rollups<'_, S> {
    /// Rolls up a closed hour unless it is already: true when this call wrote it.
    pub async fn close(&self, hour_path: &str, requests: &mut Requests) -> Result<bool> {
        requests.gets += 1;
        match self.store.get_small(self.bucket, &rollup_key(hour_path)).await {
            Ok(_) => return Ok(false),
            Err(f) if f.kind == FailureKind::NotFound => {}
            Err(f) => return Err(f),
        }
        self.hour(hour_path, true, requests).await?;
        Ok(true)
    }

    /// The statistics of one hour: its rollup and any shard filed after it;
    /// without a rollup, its shards, merged, and (when `closed`) written as
    /// its rollup, once.
    pub async fn hour(&self, hour_path: &str, closed: bool, requests: &mut Requests) -> Result<HourStats> {
        let listed = self.store.list(self.bucket, &format!("{SHARDS}{hour_path}/")).await?;
        requests.lists += 1 + listed.len() as u64 / 1000;
        let key = rollup_key(hour_path);
        let existing = match self.store.get_small(self.bucket, &key).await {
            Ok(bytes) => match serde_json::from_slice::<HourStats>(&bytes) {
                Ok(rollup) => Some(rollup),
                Err(e) => {
                    // Read the shards instead; the bad rollup stays for someone to look at.
                    warn!(key, error = %e, "unreadable hourly rollup; reading its shards");
                    None
                }
            },
            Err(f) if f.kind == FailureKind::NotFound => None,
            Err(f) => return Err(f),
        };
        requests.gets += 1;
        let rolled_up = existing.is_some();
        let mut hour = existing.unwrap_or_else(|| HourStats { hour: hour_path.to_string(), ..HourStats::default() });
        let missing: Vec<String> = listed
            .into_iter()
            .map(|l| l.key)
            .filter(|k| {
                source_of(k, hour_path)
                    .is_none_or(|source| !hour.processed.contains(&source) && !hour.events.contains(&source))
            })
            .collect();
        requests.gets += missing.len() as u64;
        let mut reads = stream::iter(missing)
            .map(|key| async move { (self.store.get_small(self.bucket, &key).await, key) })
            .buffer_unordered(self.concurrency.max(1));
        while let Some((read, key)) = reads.next().await {
            match read.map(|bytes| serde_json::from_slice::<ShardFile>(&bytes)) {
                Ok(Ok(shard)) => hour.add(shard, source_of(&key, hour_path)),
                Ok(Err(e)) => {
                    warn!(key, error = %e, "unreadable statistics shard");
                    hour.unreadable_shards += 1;
                }
                // Removed between listing and reading (lifecycle).
                Err(f) if f.kind == FailureKind::NotFound => {}
                Err(f) => return Err(f),
            }
        }
        if closed && !rolled_up {
            let body = serde_json::to_vec(&hour).map_err(|e| {
                crate::ports::Failure::new(FailureKind::Permanent, format!("encoding the rollup {key}: {e}"))
            })?;
            requests.puts += 1;
            match self.store.put_if(self.bucket, &key, body, Condition::Absent).await {
                // Another reader rolled it up first, from the same shards.
                Err(f) if f.kind == FailureKind::PreconditionFailed => {}
                other => {
                    other?;
                }
            }
        }
        Ok(hour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    const HOUR: &str = "2026/11/20/09";

    fn shard(store: &MemoryStore, n: u32, complete: bool) {
        let key = format!("AWSLogs/1/f{n}.json.gz");
        let stats = StatsShard { records: 10, ..StatsShard::default() };
        let file = ShardFile {
            source: format!("s3://logs/{key}"),
            account_id: "111122223333".into(),
            region: "eu-west-1".into(),
            time: "20261120T0905Z".into(),
            complete,
            stats,
            rejected_alerts: 0,
            folded_findings: 1,
            event_lane: None,
        };
        store.insert("state", &format!("{SHARDS}{HOUR}/logs/{key}.json"), serde_json::to_vec(&file).unwrap());
    }

    #[tokio::test]
    async fn a_real_time_events_shard_counts_in_the_statistics_not_as_a_log_file_and_is_read_once() {
        let store = MemoryStore::default();
        let rollups = Rollups { store: &store, bucket: "state", concurrency: 4 };
        shard(&store, 0, true);
        let event = ShardFile {
            source: "eventbridge event e-1".into(),
            complete: true,
            stats: StatsShard { records: 1, ..StatsShard::default() },
            event_lane: Some("eventbridge".into()),
            ..serde_json::from_value(serde_json::json!({
                "source": "", "account_id": "", "region": "", "time": "", "complete": true, "stats": {}
            }))
            .unwrap()
        };
        store.insert(
            "state",
            &crate::state::event_shard_key(HOUR, "eventbridge", "e-1"),
            serde_json::to_vec(&event).unwrap(),
        );
        let mut requests = Requests::default();
        let first = rollups.hour(HOUR, true, &mut requests).await.unwrap();
        assert_eq!((first.stats.records, first.processed.len(), first.events.len()), (11, 1, 1));
        // Read again after the rollup: nothing is read twice.
        let mut requests = Requests::default();
        let again = rollups.hour(HOUR, true, &mut requests).await.unwrap();
        assert_eq!((again.stats.records, requests.gets), (11, 1));
    }

    #[tokio::test]
    async fn a_closed_hour_is_rolled_up_once_and_late_shards_still_count() {
        let store = MemoryStore::default();
        let rollups = Rollups { store: &store, bucket: "state", concurrency: 4 };
        for n in 0..3 {
            shard(&store, n, n != 1);
        }
        // GIVEN an open hour WHEN read THEN its shards count, and no rollup is written.
        let mut requests = Requests::default();
        let open = rollups.hour(HOUR, false, &mut requests).await.unwrap();
        assert_eq!((open.stats.records, open.processed.len(), requests.puts), (30, 3, 0));
        assert!(store.object("state", &rollup_key(HOUR)).is_none());

        // WHEN closed THEN the same numbers, written once.
        let mut requests = Requests::default();
        let first = rollups.hour(HOUR, true, &mut requests).await.unwrap();
        assert_eq!(first, open);
        assert_eq!(requests, Requests { lists: 1, gets: 4, puts: 1 });
        assert_eq!(first.incomplete, ["s3://logs/AWSLogs/1/f1.json.gz"]);
        assert!(!rollups.close(HOUR, &mut Requests::default()).await.unwrap(), "already rolled up");

        // GIVEN a shard filed after the rollup WHEN read THEN the rollup and that shard alone.
        shard(&store, 3, true);
        let mut requests = Requests::default();
        let later = rollups.hour(HOUR, true, &mut requests).await.unwrap();
        assert_eq!(requests, Requests { lists: 1, gets: 2, puts: 0 });
        assert_eq!((later.stats.records, later.processed.len(), later.folded_findings), (40, 4, 4));

        // A bad rollup: its shards are read instead, and it is left alone.
        store.insert("state", &rollup_key(HOUR), b"{not json".to_vec());
        let again = rollups.hour(HOUR, true, &mut Requests::default()).await.unwrap();
        assert_eq!(again.stats.records, 40);
        assert_eq!(store.object("state", &rollup_key(HOUR)).unwrap(), b"{not json");
    }

    #[test]
    fn hours_close_a_grace_after_they_end() {
        use time::macros::datetime;
        let nine = datetime!(2026-11-20 09:00 UTC);
        let at = |t: time::OffsetDateTime| t.unix_timestamp() as u64;
        assert!(!is_closed(nine, at(datetime!(2026-11-20 09:59:59 UTC))));
        assert!(is_closed(nine, at(datetime!(2026-11-20 10:00 UTC))));
        assert_eq!(latest_closed(at(datetime!(2026-11-20 10:14 UTC)), 1), ["2026/11/20/08"]);
        assert_eq!(latest_closed(at(datetime!(2026-11-20 10:15 UTC)), 2), ["2026/11/20/09", "2026/11/20/08"]);
        assert_eq!(latest_closed(at(datetime!(2026-11-21 01:14 UTC)), 1), ["2026/11/20/23"]);
    }

    #[test]
    fn shard_keys_name_their_log_files() {
        let hour = "2026/11/20/09";
        let cases = [
            ("shards/2026/11/20/09/logs/AWSLogs/1/x.json.gz.json", Some("s3://logs/AWSLogs/1/x.json.gz")),
            ("shards/2026/11/20/10/logs/x.json", None),
            ("shards/2026/11/20/09/logs/x.gz", None),
            ("other/2026/11/20/09/logs/x.json", None),
        ];
        for (key, want) in cases {
            assert_eq!(source_of(key, hour).as_deref(), want, "{key}");
        }
    }
}
