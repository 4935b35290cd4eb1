//! The summary handler: a scheduled event in, one report out.
//!
//! The window comes from the event's `time`, never the wall clock, so a late
//! or retried invocation reports the same window and the same numbers. The
//! window's statistics shards are merged hour by hour (each hour's shards
//! read concurrently, a bounded number at a time), so memory follows the
//! merged aggregate, not the number of shards. Coverage compares the log
//! files delivered in the window (listed from the log bucket) with the shards.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tracing::{info, warn};
use trailwatch_aws::flood::{FloodControl, Flushed, DEDUP_WINDOW, FLUSH_GRACE};
use trailwatch_aws::ledger::{Claim, Ledger};
use trailwatch_aws::output::deliver::Delivery;
use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::{FailureKind, ObjectStore};
use trailwatch_aws::rate::RateLimiter;
use trailwatch_aws::state::{ShardFile, INTEGRITY, SHARDS, SUMMARIES};
use trailwatch_core::alert::{Alert, AlertKind};
use trailwatch_core::digest::delivered::IntegrityRecord;
use trailwatch_core::key::{classify_key, KeyKind};
use trailwatch_core::summary::{coverage, digest_coverage, parse_file_time, render, Delivered, SummaryFile, Window};
use trailwatch_core::StatsShard;

/// Why a summary could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SummaryError(pub String);

/// Settings, fixed at cold start.
#[derive(Debug, Clone)]
pub struct SummarySettings {
    pub state_bucket: String,
    pub log_bucket: String,
    /// The trail's S3 key prefix (with its trailing `/`), or empty.
    pub log_prefix: String,
    pub window: Duration,
    pub gap: Duration,
    /// Shards read at once.
    pub concurrency: usize,
    /// Unprocessed or incomplete files named in the report.
    pub list_cap: usize,
}

pub struct Summarizer<S> {
    pub store: S,
    pub outputs: Outputs,
    pub settings: SummarySettings,
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
}

impl<S: ObjectStore + Clone> Summarizer<S> {
    /// Sends the summary of the window before the event's time, once (the
    /// ledger entry `summary/<window>` keeps a retry from sending it again).
    /// Dedup windows that have closed are flushed first, so their
    /// follow-ups are never later than the next summary.
    pub async fn handle(&self, event: &Value) -> Result<Value, SummaryError> {
        let time = event
            .get("time")
            .and_then(Value::as_str)
            .ok_or_else(|| SummaryError("the event has no `time`: expected an EventBridge scheduled event".into()))?;
        let at = Window::parse_time(time).map_err(|e| SummaryError(e.to_string()))?;
        let window = Window::ending_before(at, self.settings.window).map_err(|e| SummaryError(e.to_string()))?;
        let ledger = Ledger::new(self.store.clone(), self.settings.state_bucket.clone());
        let limiter = RateLimiter::new(self.store.clone(), self.settings.state_bucket.clone());
        let delivery = Delivery { ledger: &ledger, limiter: &limiter, outputs: &self.outputs };
        let lease = unix_now() + 300;
        let flood =
            FloodControl::new(self.store.clone(), self.settings.state_bucket.clone(), DEDUP_WINDOW, FLUSH_GRACE);
        let flushed = flood.flush(&delivery, &ledger, unix_now(), lease).await.unwrap_or_else(|f| {
            warn!(error = %f.message, "could not flush dedup windows; the detection function's schedule will");
            Flushed::default()
        });
        let merged = self.merge_shards(&window).await?;
        let (delivered, known) = self.deliveries(&window).await?;
        let previous = self.previous(&window).await;
        let mut coverage = coverage(
            &window,
            &delivered,
            &merged.processed,
            merged.incomplete,
            &known,
            self.settings.gap,
            self.settings.list_cap,
        );
        let (digests, verified) = self.integrity(&window).await?;
        coverage.digests = digest_coverage(&window, &delivered, digests, &verified, self.settings.list_cap);
        coverage.rejected_alerts = merged.rejected_alerts;
        coverage.folded_findings = merged.folded_findings;
        let report = render(&window, &merged.stats, &coverage, previous.as_ref());

        let file = SummaryFile::new(&window, merged.stats, coverage);
        let body = serde_json::to_vec(&file).map_err(|e| SummaryError(e.to_string()))?;
        let key = format!("{SUMMARIES}{}.json", window.label());
        self.store.put(&self.settings.state_bucket, &key, body, false).await.map_err(|f| SummaryError(f.message))?;

        let severity = report.severity.unwrap_or(trailwatch_core::Severity::Info);
        let alert =
            Alert::new("summary", AlertKind::Summary, severity, "summary", &report.subject).with_details(report.body);
        let fail = |f: trailwatch_aws::Failure| SummaryError(format!("sending the summary failed: {}", f.message));
        match ledger.claim("summary", &window.label(), None, "summary", lease, unix_now()).await.map_err(fail)? {
            Claim::Duplicate => info!(window = %window.label(), "summary already sent"),
            Claim::Go(mut entry) => {
                if let Err(f) = delivery.deliver(&mut entry, std::slice::from_ref(&alert)).await {
                    let _ = ledger.release(&mut entry, unix_now()).await;
                    return Err(fail(f));
                }
                ledger.finish(&mut entry, 0, 0, unix_now()).await.map_err(fail)?;
            }
        }
        info!(
            window = %window.label(),
            records = file.stats.records,
            files = file.stats.files,
            delivered = file.coverage.delivered,
            unprocessed = file.coverage.unprocessed_total,
            silent = file.coverage.silent.len(),
            unreadable_shards = merged.unreadable_shards,
            "summary published"
        );
        Ok(json!({
            "window": window.label(),
            "subject": report.subject,
            "records": file.stats.records,
            "delivered": file.coverage.delivered,
            "processed": file.coverage.processed,
            "follow_ups": flushed.follow_ups,
        }))
    }

    /// Reads every JSON object under `prefix<hour>/` for the given hours,
    /// several at a time, and hands each (key, parsed) to `each`. An object
    /// removed between listing and reading (lifecycle) is skipped.
    async fn read_hourly<T: DeserializeOwned>(
        &self,
        prefix: &str,
        hours: &[String],
        mut each: impl FnMut(String, serde_json::Result<T>),
    ) -> Result<(), SummaryError> {
        let bucket = &self.settings.state_bucket;
        for hour in hours {
            let listed =
                self.store.list(bucket, &format!("{prefix}{hour}/")).await.map_err(|f| SummaryError(f.message))?;
            let mut reads = stream::iter(listed)
                .map(|entry| async move { (self.store.get_small(bucket, &entry.key).await, entry.key) })
                .buffer_unordered(self.settings.concurrency.max(1));
            while let Some((read, key)) = reads.next().await {
                match read {
                    Ok(bytes) => each(key, serde_json::from_slice::<T>(&bytes)),
                    Err(f) if f.kind == FailureKind::NotFound => continue,
                    Err(f) => return Err(SummaryError(f.message)),
                }
            }
        }
        Ok(())
    }

    async fn merge_shards(&self, window: &Window) -> Result<Merged, SummaryError> {
        let mut merged = Merged::default();
        self.read_hourly(SHARDS, &window.hour_paths(), |key, shard: serde_json::Result<ShardFile>| match shard {
            Ok(shard) => {
                merged.stats.merge(&shard.stats);
                merged.rejected_alerts += shard.rejected_alerts;
                merged.folded_findings += shard.folded_findings;
                if !shard.complete {
                    merged.incomplete.push(shard.source.clone());
                }
                merged.processed.insert(shard.source);
            }
            Err(e) => {
                // Its log file then shows as unprocessed in the report.
                warn!(key, error = %e, "unreadable statistics shard");
                merged.unreadable_shards += 1;
            }
        })
        .await?;
        Ok(merged)
    }

    /// The digests verified for the window (their records are filed by the
    /// hour the digest starts, so the hour before the window is read too)
    /// and the log files they vouched for.
    async fn integrity(&self, window: &Window) -> Result<(u64, BTreeSet<String>), SummaryError> {
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
    async fn deliveries(&self, window: &Window) -> Result<(Vec<Delivered>, BTreeSet<(String, String)>), SummaryError> {
        let bucket = &self.settings.log_bucket;
        let fail = |f: trailwatch_aws::Failure| SummaryError(f.message);
        let root = format!("{}AWSLogs/", self.settings.log_prefix);
        let mut accounts = Vec::new();
        for prefix in self.store.list_prefixes(bucket, &root).await.map_err(fail)? {
            let name = prefix[root.len()..].trim_end_matches('/');
            if name.starts_with("o-") {
                accounts.extend(self.store.list_prefixes(bucket, &prefix).await.map_err(fail)?);
            } else {
                accounts.push(prefix);
            }
        }
        let mut delivered = Vec::new();
        let mut known = BTreeSet::new();
        for account in accounts {
            let trail = format!("{account}CloudTrail/");
            for region_prefix in self.store.list_prefixes(bucket, &trail).await.map_err(fail)? {
                let account_id = account.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
                let region = region_prefix[trail.len()..].trim_end_matches('/').to_string();
                known.insert((account_id, region));
                for day in window.day_paths() {
                    for entry in self.store.list(bucket, &format!("{region_prefix}{day}/")).await.map_err(fail)? {
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

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
