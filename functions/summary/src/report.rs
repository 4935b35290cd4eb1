//! What the summary reports, read from the state and log buckets: the
//! window's statistics hour by hour (each closed hour's rollup and any shard
//! filed after it; an hour without a rollup from its shards, read
//! concurrently, a bounded number at a time, and rolled up once it has
//! closed: see [`trailwatch_aws::rollup`]), the log files delivered in the
//! window (for coverage), the integrity records of its digests, and the
//! previous window's aggregate to compare with.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use tracing::warn;
use trailwatch_aws::ports::{Failure, FailureKind, ObjectStore};
use trailwatch_aws::rollup::{hour_path, is_closed, Requests, Rollups};
use trailwatch_aws::runner::now;
use trailwatch_aws::runner::JobError;
use trailwatch_aws::state::{INTEGRITY, SUMMARIES};
use trailwatch_core::digest::delivered::IntegrityRecord;
use trailwatch_core::key::{classify_key, KeyKind};
use trailwatch_core::summary::{
    coverage, digest_coverage, parse_file_time, render, Delivered, Report, SummaryFile, Window,
};
use trailwatch_core::StatsShard;

use crate::config::SummarySettings;

/// The report of a window, and what went into it.
pub struct Summary {
    pub file: SummaryFile,
    pub report: Report,
    pub unreadable_shards: u64,
    /// State-bucket requests the statistics took.
    pub requests: Requests,
}

/// Reads what a window's summary is made of.
pub struct Reader<'a, S> {
    pub store: &'a S,
    pub settings: &'a SummarySettings,
}

/// What the shards of a window add up to.
#[derive(Default)]
struct Merged {
    stats: StatsShard,
    processed: BTreeSet<String>,
    incomplete: Vec<String>,
    unreadable_shards: u64,
    rejected_alerts: u64,
    folded_findings: u64,
    requests: Requests,
}

fn listing(f: Failure) -> JobError {
    JobError::call("reading the buckets failed", f)
}

impl<S: ObjectStore> Reader<'_, S> {
    /// The window's summary: merged shards, coverage, the rendered report.
    pub async fn summary(&self, window: &Window) -> Result<Summary, JobError> {
        let merged = self.merge_shards(window).await?;
        let (delivered, known) = self.deliveries(window).await?;
        let previous = self.previous(window).await;
        let settings = self.settings;
        let mut coverage =
            coverage(window, &delivered, &merged.processed, merged.incomplete, &known, settings.gap, settings.list_cap);
        let (digests, verified) = self.integrity(window).await?;
        coverage.digests = digest_coverage(window, &delivered, digests, &verified, settings.list_cap);
        coverage.rejected_alerts = merged.rejected_alerts;
        coverage.folded_findings = merged.folded_findings;
        let report = render(window, &merged.stats, &coverage, previous.as_ref());
        let file = SummaryFile::new(window, merged.stats, coverage);
        Ok(Summary { file, report, unreadable_shards: merged.unreadable_shards, requests: merged.requests })
    }

    /// Reads every JSON object under `prefix<hour>/` for the given hours,
    /// several at a time, and hands each (key, parsed) to `each`. An object
    /// removed between listing and reading (lifecycle) is skipped.
    async fn read_hourly<T: DeserializeOwned>(
        &self,
        prefix: &str,
        hours: &[String],
        mut each: impl FnMut(String, serde_json::Result<T>),
    ) -> Result<(), JobError> {
        let bucket = &self.settings.state_bucket;
        for hour in hours {
            let listed = self.store.list(bucket, &format!("{prefix}{hour}/")).await.map_err(listing)?;
            let mut reads = stream::iter(listed)
                .map(|entry| async move { (self.store.get_small(bucket, &entry.key).await, entry.key) })
                .buffer_unordered(self.settings.concurrency.max(1));
            while let Some((read, key)) = reads.next().await {
                match read {
                    Ok(bytes) => each(key, serde_json::from_slice::<T>(&bytes)),
                    Err(f) if f.kind == FailureKind::NotFound => continue,
                    Err(f) => return Err(listing(f)),
                }
            }
        }
        Ok(())
    }

    async fn merge_shards(&self, window: &Window) -> Result<Merged, JobError> {
        let mut merged = Merged::default();
        let rollups =
            Rollups { store: self.store, bucket: &self.settings.state_bucket, concurrency: self.settings.concurrency };
        let now = now();
        let mut start = window.start;
        while start < window.end {
            let hour = rollups.hour(&hour_path(start), is_closed(start, now), &mut merged.requests).await;
            let hour = hour.map_err(listing)?;
            merged.stats.merge(&hour.stats);
            merged.rejected_alerts += hour.rejected_alerts;
            merged.folded_findings += hour.folded_findings;
            merged.unreadable_shards += hour.unreadable_shards;
            merged.incomplete.extend(hour.incomplete);
            merged.processed.extend(hour.processed);
            start += time::Duration::HOUR;
        }
        Ok(merged)
    }

    /// The digests verified for the window (their records are filed by the
    /// hour the digest starts, so the hour before the window is read too)
    /// and the log files they vouched for.
    async fn integrity(&self, window: &Window) -> Result<(u64, BTreeSet<String>), JobError> {
        let hours = Window { start: window.start - time::Duration::HOUR, end: window.end }.hour_paths();
        let (mut digests, mut verified) = (0, BTreeSet::new());
        self.read_hourly(INTEGRITY, &hours, |key, record: serde_json::Result<IntegrityRecord>| match record {
            Ok(record) => {
                digests += 1;
                verified.extend(record.verified);
            }
            Err(e) => warn!(key, error = %e, "unreadable integrity record"),
        })
        .await?;
        Ok((digests, verified))
    }

    /// The log files delivered in the window, and every account/region that
    /// has a folder in the log bucket.
    async fn deliveries(&self, window: &Window) -> Result<(Vec<Delivered>, BTreeSet<(String, String)>), JobError> {
        let bucket = &self.settings.log_bucket;
        let root = format!("{}AWSLogs/", self.settings.log_prefix);
        let mut accounts = Vec::new();
        for prefix in self.store.list_prefixes(bucket, &root).await.map_err(listing)? {
            let name = prefix[root.len()..].trim_end_matches('/');
            if name.starts_with("o-") {
                accounts.extend(self.store.list_prefixes(bucket, &prefix).await.map_err(listing)?);
            } else {
                accounts.push(prefix);
            }
        }
        let mut delivered = Vec::new();
        let mut known = BTreeSet::new();
        for account in accounts {
            let trail = format!("{account}CloudTrail/");
            for region_prefix in self.store.list_prefixes(bucket, &trail).await.map_err(listing)? {
                let account_id = account.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
                let region = region_prefix[trail.len()..].trim_end_matches('/').to_string();
                known.insert((account_id, region));
                for day in window.day_paths() {
                    for entry in self.store.list(bucket, &format!("{region_prefix}{day}/")).await.map_err(listing)? {
                        if let KeyKind::Log(log) = classify_key(&entry.key, Some(entry.size)) {
                            if let Some(time) = parse_file_time(&log.time) {
                                delivered.push(Delivered {
                                    source: format!("s3://{bucket}/{}", entry.key),
                                    account_id: log.account_id,
                                    region: log.region,
                                    time,
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok((delivered, known))
    }

    /// The previous window's aggregate, when it was stored.
    async fn previous(&self, window: &Window) -> Option<StatsShard> {
        let key = format!("{SUMMARIES}{}.json", window.previous().label());
        match self.store.get_small(&self.settings.state_bucket, &key).await {
            Ok(bytes) => match serde_json::from_slice::<SummaryFile>(&bytes) {
                Ok(file) => Some(file.stats),
                Err(e) => {
                    warn!(key, error = %e, "unreadable previous summary; comparing with nothing");
                    None
                }
            },
            Err(f) if f.kind == FailureKind::NotFound => None,
            Err(f) => {
                warn!(key, error = %f.message, "could not read the previous summary; comparing with nothing");
                None
            }
        }
    }
}
