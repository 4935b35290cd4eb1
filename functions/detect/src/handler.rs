//! The detection handler: a notification in, alerts out, exactly once.
//!
//! For each announced object that is a CloudTrail log:
//!
//! 1. **claim** it in the ledger ([`trailwatch_aws::ledger`]): conditional
//!    writes only, so a concurrent invocation backs off instead of alerting
//!    too; an entry that says `done` means a redelivery, which is skipped;
//! 2. **scan** it as it streams from S3 (on a blocking thread);
//! 3. **fold** repeats: each (rule, principal, account) group either opens
//!    its dedup window and alerts, or folds into the open window's follow-up
//!    ([`trailwatch_aws::flood`]);
//! 4. **send** the alerts to every output through the ledger
//!    ([`trailwatch_aws::output::deliver`]): each batch is written down
//!    before it is sent and its outcome after, so a retry sends only what is
//!    left;
//! 5. write the file's **statistics shard**, then mark it **done** (a failed
//!    final write fails the invocation; the retry sends nothing again).
//!
//! A failure that a retry can fix (throttling, 5xx, a dropped stream, SNS
//! down) returns an error: Lambda retries, then the event goes to the
//! dead-letter queue. A file that can never be read is not retried: its good
//! records' findings and an "unreadable log file" alert are published and it
//! is marked done.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tracing::{info, warn};
use trailwatch_aws::flood::{Admission, FloodControl, Flushed, DEDUP_WINDOW, FLUSH_GRACE};
use trailwatch_aws::ledger::{Claim, Entry, Ledger};
use trailwatch_aws::output::deliver::Delivery;
use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::{whole_body, Failure, FailureKind, ObjectStore};
use trailwatch_aws::rate::RateLimiter;
use trailwatch_aws::state::{shard_key, ShardFile};
use trailwatch_aws::thresholds::ThresholdStore;
use trailwatch_core::alert::{alerts_for_groups, group_alert, Alert, AlertLimits, FileContext};
use trailwatch_core::grouped::Grouped;
use trailwatch_core::key::{classify_key, KeyKind, LogKey};
use trailwatch_core::threshold::threshold_alert;
use trailwatch_core::Engine;

use crate::envelope::{self, ObjectRef};
use crate::integrity::KeyCache;

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a log file (digest, Insight, folder, ...).
    Skipped(&'static str),
    /// Already processed: a redelivered notification.
    Duplicate,
    /// Deleted between the notification and the read.
    Missing,
    Processed {
        records: u64,
        findings: u64,
        alerts: usize,
        problems: u64,
    },
    /// A digest file, verified with the log files it lists.
    Verified {
        log_files: usize,
        failures: usize,
    },
}

/// Why an object could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri}: {message}")]
pub struct ProcessError {
    pub uri: String,
    pub message: String,
}

/// Groups per file that go through flood control (the most severe); the
/// rest go to the file's digest alert as before.
const FLOOD_GROUPS: usize = 50;

/// The handler's fixed parts, built once per cold start.
pub struct Detector<S> {
    pub engine: Arc<Engine>,
    pub store: S,
    pub outputs: Outputs,
    pub state_bucket: String,
    pub limits: AlertLimits,
    /// CloudTrail's public keys, to verify digest files as they arrive;
    /// `None` skips digests.
    pub keys: Option<Arc<KeyCache>>,
    /// Dedup windows: length and flush grace in seconds (0: no folding).
    pub dedup_window: u64,
    pub flush_grace: u64,
}

impl<S> Detector<S> {
    /// A detector with the default alert limits and dedup window, and digest
    /// verification off.
    pub fn new(engine: Arc<Engine>, store: S, outputs: impl Into<Outputs>, state_bucket: impl Into<String>) -> Self {
        Detector {
            engine,
            store,
            outputs: outputs.into(),
            state_bucket: state_bucket.into(),
            limits: AlertLimits::default(),
            keys: None,
            dedup_window: DEDUP_WINDOW,
            flush_grace: FLUSH_GRACE,
        }
    }

    /// Sets the dedup window and the flush grace (seconds).
    pub fn with_dedup(mut self, window: u64, grace: u64) -> Self {
        self.dedup_window = window;
        self.flush_grace = grace;
        self
    }

    /// Verifies digest files as they arrive, with these keys.
    pub fn with_keys(mut self, keys: KeyCache) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// S3 ETags arrive with quotes from GetObject and without in notifications.
pub(crate) fn normalize_etag(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string()).filter(|e| !e.is_empty())
}

impl<S: ObjectStore + Clone + 'static> Detector<S> {
    /// Handles one invocation payload. SQS batches answer with
    /// `batchItemFailures`; other triggers fail as a whole when any object
    /// failed (after every other object was processed). A scheduled event
    /// flushes the follow-ups of closed dedup windows.
    pub async fn handle(&self, event: &Value, deadline: u64) -> Result<Value, ProcessError> {
        if envelope::is_schedule(event) {
            let flushed = self.flush(deadline).await?;
            return Ok(json!({"follow_ups": flushed.follow_ups, "folded_events": flushed.folded_events}));
        }
        let items = envelope::decode(event);
        let sqs = envelope::is_sqs(event);
        let mut failures = Vec::new();
        let mut first_error = None;
        let mut outcomes = Vec::new();
        for item in items {
            let objects = match item.objects {
                Ok(objects) => objects,
                Err(message) => {
                    warn!(message_id = item.message_id.as_deref(), error = %message, "undecodable notification");
                    let error = ProcessError { uri: "notification".into(), message };
                    failures.extend(item.message_id.clone());
                    first_error.get_or_insert(error);
                    continue;
                }
            };
            if objects.is_empty() {
                info!(message_id = item.message_id.as_deref(), "notification names no new object (test event?)");
            }
            let mut item_failed = false;
            for object in &objects {
                match self.process(object, deadline).await {
                    Ok(outcome) => outcomes.push(json!({"object": object.uri(), "outcome": format!("{outcome:?}")})),
                    Err(e) => {
                        warn!(bucket = %object.bucket, key = %object.key, error = %e.message, "processing failed; will be retried");
                        item_failed = true;
                        first_error.get_or_insert(e);
                    }
                }
            }
            if item_failed {
                failures.extend(item.message_id);
            }
        }
        if sqs {
            let failures: Vec<Value> = failures.iter().map(|id| json!({"itemIdentifier": id})).collect();
            return Ok(json!({"batchItemFailures": failures}));
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(json!({"objects": outcomes})),
        }
    }

    /// The ledger in the state bucket.
    pub(crate) fn ledger(&self) -> Ledger<S> {
        Ledger::new(self.store.clone(), self.state_bucket.clone())
    }

    fn flood(&self) -> FloodControl<S> {
        FloodControl::new(self.store.clone(), self.state_bucket.clone(), self.dedup_window, self.flush_grace)
    }

    /// Sends alerts through the ledger entry to every output.
    pub(crate) async fn deliver(&self, entry: &mut Entry, alerts: &[Alert]) -> Result<(), Failure> {
        let ledger = self.ledger();
        let limiter = RateLimiter::new(self.store.clone(), self.state_bucket.clone());
        Delivery { ledger: &ledger, limiter: &limiter, outputs: &self.outputs }.deliver(entry, alerts).await
    }

    /// Sends the follow-ups of the dedup windows that have closed.
    pub async fn flush(&self, deadline: u64) -> Result<Flushed, ProcessError> {
        let ledger = self.ledger();
        let limiter = RateLimiter::new(self.store.clone(), self.state_bucket.clone());
        let delivery = Delivery { ledger: &ledger, limiter: &limiter, outputs: &self.outputs };
        let flushed = self.flood().flush(&delivery, &ledger, now(), deadline).await.map_err(|f| ProcessError {
            uri: "dedup windows".into(),
            message: format!("sending follow-ups failed: {}", f.message),
        })?;
        info!(follow_ups = flushed.follow_ups, folded_events = flushed.folded_events, "dedup windows flushed");
        Ok(flushed)
    }

    /// Folds the groups whose dedup window is open (recorded in the entry,
    /// so a retry counts them once) and returns how many findings were
    /// folded. What stays in `found` alerts now.
    async fn fold_repeats(
        &self,
        entry: &mut Entry,
        found: &mut Grouped,
        file: FileContext<'_>,
    ) -> Result<u64, Failure> {
        let flood = self.flood();
        let mut folded: Vec<(String, Option<String>)> = Vec::new();
        let mut new_folds = Vec::new();
        let mut folded_findings = 0;
        for group in found.groups().into_iter().take(FLOOD_GROUPS) {
            let alert = group_alert(file, group, self.limits);
            let fold_id = format!("fold:{}", alert.id);
            let first = group.first();
            let admitted = if entry.marker.settled(&fold_id) {
                false
            } else {
                flood.admit(&alert, &first.rule.title, file.source, now()).await? == Admission::First
            };
            if !admitted {
                folded_findings += group.count;
                folded.push((first.rule.id.clone(), first.principal_arn.clone()));
                if !entry.marker.settled(&fold_id) {
                    new_folds.push(fold_id);
                }
            }
        }
        if !new_folds.is_empty() {
            self.ledger().record(entry, &new_folds, &[]).await?;
        }
        if !folded.is_empty() {
            found.retain(|g| !folded.contains(&(g.first().rule.id.clone(), g.first().principal_arn.clone())));
        }
        Ok(folded_findings)
    }

    /// Claims an object in the ledger for this attempt.
    pub(crate) async fn claim(&self, object: &ObjectRef, deadline: u64) -> Result<Option<Entry>, Failure> {
        let etag = normalize_etag(object.etag.as_deref());
        let owner = format!("{:016x}", fastrand::u64(..));
        match self.ledger().claim(&object.bucket, &object.key, etag, &owner, deadline, now()).await? {
            Claim::Duplicate => {
                info!(bucket = %object.bucket, key = %object.key, "already processed; duplicate notification");
                Ok(None)
            }
            Claim::Go(entry) => Ok(Some(entry)),
        }
    }

    /// Hands an object back for a retry after a failure (what was recorded
    /// stays). If even that fails, the claim lapses at this invocation's
    /// deadline and a retry takes it over then.
    pub(crate) async fn give_back(&self, entry: &mut Entry) {
        if let Err(f) = self.ledger().release(entry, now()).await {
            warn!(error = %f.message, "could not release the claim; a retry takes it over after this invocation's deadline");
        }
    }

    /// Processes one object. `deadline` (seconds since the epoch) is when
    /// this invocation ends: a claim left by a crashed invocation is taken
    /// over once its deadline has passed.
    pub async fn process(&self, object: &ObjectRef, deadline: u64) -> Result<Outcome, ProcessError> {
        let uri = object.uri();
        let fail = |message: String| ProcessError { uri: uri.clone(), message };
        let log = match classify_key(&object.key, object.size) {
            KeyKind::Log(log) => log,
            KeyKind::Digest if self.keys.is_some() => return self.process_digest(object, deadline).await,
            other => {
                let reason = other.skip_reason().unwrap_or("not a log");
                info!(bucket = %object.bucket, key = %object.key, reason, "skipped");
                return Ok(Outcome::Skipped(reason));
            }
        };
        let Some(mut entry) = self.claim(object, deadline).await.map_err(|f| fail(f.message))? else {
            return Ok(Outcome::Duplicate);
        };

        let opened = match self.store.get(&object.bucket, &object.key).await {
            Ok(opened) => opened,
            Err(f) if f.kind == FailureKind::NotFound => {
                info!(bucket = %object.bucket, key = %object.key, "object no longer exists; skipped");
                self.give_back(&mut entry).await;
                return Ok(Outcome::Missing);
            }
            Err(f) => {
                self.give_back(&mut entry).await;
                return Err(fail(f.message));
            }
        };

        let engine = self.engine.clone();
        let source = uri.clone();
        // A body that ends before its announced size is a dropped stream, not a corrupt file.
        let body = whole_body(opened.body, opened.size);
        let limits = self.limits;
        let (summary, found) = tokio::task::spawn_blocking(move || {
            // Grouped as found, with caps: memory stays flat however many records match.
            let mut found = Grouped::new(limits);
            let summary = engine.scan(&source, body, &mut found);
            (summary, found)
        })
        .await
        .map_err(|e| fail(format!("scan task failed: {e}")))?;
        if let Some(p) = found.retryable_problem() {
            self.give_back(&mut entry).await;
            return Err(fail(format!("reading the object was interrupted: {p}")));
        }

        let file = FileContext { source: &uri, account_id: Some(&log.account_id), region: Some(&log.region) };
        let mut found = found;
        let folded = match self.fold_repeats(&mut entry, &mut found, file).await {
            Ok(folded) => folded,
            Err(f) => {
                self.give_back(&mut entry).await;
                return Err(fail(format!("dedup windows failed: {}", f.message)));
            }
        };
        let mut alerts = alerts_for_groups(file, &found, summary.complete, self.limits);
        let thresholds = ThresholdStore::new(self.store.clone(), self.state_bucket.clone());
        let engine = self.engine.clone();
        match thresholds
            .record(&found.tallies, &uri, |id| engine.rules().find(|r| r.id == id).map(|r| r.as_ref()))
            .await
        {
            Ok(reached) => {
                alerts.extend(reached.iter().filter_map(|(rule, tally)| threshold_alert(rule, tally, &uri)));
            }
            Err(f) => {
                self.give_back(&mut entry).await;
                return Err(fail(format!("counting threshold rules failed: {}", f.message)));
            }
        }
        let alert_count = alerts.len();
        if let Err(f) = self.deliver(&mut entry, &alerts).await {
            self.give_back(&mut entry).await;
            return Err(fail(format!("publishing alerts failed: {}", f.message)));
        }
        let rejected = entry.marker.rejected.len() as u64;

        let shard = ShardFile {
            source: uri.clone(),
            account_id: log.account_id.clone(),
            region: log.region.clone(),
            time: log.time.clone(),
            complete: summary.complete,
            stats: summary.stats.clone(),
            rejected_alerts: rejected,
            folded_findings: folded,
        };
        let shard_body = serde_json::to_vec(&shard).map_err(|e| fail(e.to_string()))?;
        if let Err(f) =
            self.store.put(&self.state_bucket, &shard_key(&log, &object.bucket, &object.key), shard_body, false).await
        {
            self.give_back(&mut entry).await;
            return Err(fail(format!("writing the statistics shard failed: {}", f.message)));
        }
        if let Err(f) = self.ledger().finish(&mut entry, summary.records, summary.findings, now()).await {
            self.give_back(&mut entry).await;
            return Err(fail(format!("marking the object done failed (a retry sends nothing again): {}", f.message)));
        }
        info!(
            bucket = %object.bucket,
            key = %object.key,
            records = summary.records,
            findings = summary.findings,
            suppressed = summary.suppressed,
            problems = summary.problems,
            alerts = alert_count,
            rejected_alerts = rejected,
            folded,
            quiet = found.quiet_findings(),
            "processed"
        );
        log_problems(&log, &found);
        Ok(Outcome::Processed {
            records: summary.records,
            findings: summary.findings,
            alerts: alert_count,
            problems: summary.problems,
        })
    }
}

fn log_problems(log: &LogKey, found: &Grouped) {
    for p in found.problems.iter().take(20) {
        warn!(account = %log.account_id, region = %log.region, problem = %p, "log file problem");
    }
}
