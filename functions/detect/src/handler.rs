//! The detection handler: a notification in, alerts out, exactly once.
//!
//! For each announced object that is a CloudTrail log:
//!
//! 1. **claim** it: a conditional write of its marker in the state bucket,
//!    so a concurrent duplicate invocation backs off instead of alerting too;
//!    a marker that says `done` means a redelivery, which is skipped;
//! 2. **scan** it as it streams from S3 (on a blocking thread);
//! 3. **publish** the grouped alerts (one `PublishBatch`), remembering in the
//!    marker which ones went out, so a retry after a partial failure sends
//!    only the rest;
//! 4. write the file's **statistics shard**, then mark it **done**.
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
use trailwatch_aws::ports::{AlertSink, Failure, FailureKind, ObjectStore};
use trailwatch_aws::state::{marker_key, shard_key, Marker, MarkerState, ShardFile};
use trailwatch_core::alert::{alerts_for_file, Alert, AlertLimits, FileContext};
use trailwatch_core::engine::Collect;
use trailwatch_core::key::{classify_key, KeyKind, LogKey};
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

/// The handler's fixed parts, built once per cold start.
pub struct Detector<S, A> {
    pub engine: Arc<Engine>,
    pub store: S,
    pub sink: A,
    pub state_bucket: String,
    pub limits: AlertLimits,
    /// CloudTrail's public keys, to verify digest files as they arrive;
    /// `None` skips digests.
    pub keys: Option<Arc<KeyCache>>,
}

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// S3 ETags arrive with quotes from GetObject and without in notifications.
pub(crate) fn normalize_etag(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string()).filter(|e| !e.is_empty())
}

pub(crate) enum Claim {
    /// Process it; these alert ids were already published by an earlier try.
    Go(Vec<String>),
    Duplicate,
}

impl<S: ObjectStore + Clone + 'static, A: AlertSink> Detector<S, A> {
    /// Handles one invocation payload. SQS batches answer with
    /// `batchItemFailures`; other triggers fail as a whole when any object
    /// failed (after every other object was processed).
    pub async fn handle(&self, event: &Value, deadline: u64) -> Result<Value, ProcessError> {
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
        let marker = marker_key(&object.bucket, &object.key);
        let etag = normalize_etag(object.etag.as_deref());
        let published_before = match self.claim(&marker, etag.clone(), deadline).await.map_err(|f| fail(f.message))? {
            Claim::Duplicate => {
                info!(bucket = %object.bucket, key = %object.key, "already processed; duplicate notification");
                return Ok(Outcome::Duplicate);
            }
            Claim::Go(published) => published,
        };

        let opened = match self.store.get(&object.bucket, &object.key).await {
            Ok(opened) => opened,
            Err(f) if f.kind == FailureKind::NotFound => {
                info!(bucket = %object.bucket, key = %object.key, "object no longer exists; skipped");
                self.release(&marker, &published_before, etag).await;
                return Ok(Outcome::Missing);
            }
            Err(f) => {
                self.release(&marker, &published_before, etag).await;
                return Err(fail(f.message));
            }
        };
        let etag = normalize_etag(opened.etag.as_deref()).or(etag);

        let engine = self.engine.clone();
        let source = uri.clone();
        let (summary, found) = tokio::task::spawn_blocking(move || {
            let mut found = Collect::default();
            let summary = engine.scan(&source, opened.body, &mut found);
            (summary, found)
        })
        .await
        .map_err(|e| fail(format!("scan task failed: {e}")))?;
        if let Some(p) = found.problems.iter().find(|p| p.is_retryable()) {
            self.release(&marker, &published_before, etag).await;
            return Err(fail(format!("reading the object was interrupted: {p}")));
        }

        let file = FileContext { source: &uri, account_id: Some(&log.account_id), region: Some(&log.region) };
        let alerts = alerts_for_file(file, &found.findings, &found.problems, summary.complete, self.limits);
        let alert_count = alerts.len();
        let published = self.publish(alerts, published_before).await;
        let published = match published {
            Ok(published) => published,
            Err((published, f)) => {
                self.write_marker(&marker, MarkerState::Partial, etag, published, (summary.records, summary.findings))
                    .await;
                return Err(fail(format!("publishing alerts failed: {}", f.message)));
            }
        };

        let shard = ShardFile {
            source: uri.clone(),
            account_id: log.account_id.clone(),
            region: log.region.clone(),
            time: log.time.clone(),
            complete: summary.complete,
            stats: summary.stats.clone(),
        };
        let shard_body = serde_json::to_vec(&shard).map_err(|e| fail(e.to_string()))?;
        if let Err(f) =
            self.store.put(&self.state_bucket, &shard_key(&log, &object.bucket, &object.key), shard_body, false).await
        {
            self.write_marker(&marker, MarkerState::Partial, etag, published, (summary.records, summary.findings))
                .await;
            return Err(fail(format!("writing the statistics shard failed: {}", f.message)));
        }
        self.write_marker(&marker, MarkerState::Done, etag, published, (summary.records, summary.findings)).await;
        info!(
            bucket = %object.bucket,
            key = %object.key,
            records = summary.records,
            findings = summary.findings,
            suppressed = summary.suppressed,
            problems = summary.problems,
            alerts = alert_count,
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

    /// Claims the object's marker (see the module docs).
    pub(crate) async fn claim(&self, marker: &str, etag: Option<String>, deadline: u64) -> Result<Claim, Failure> {
        let claim = |published: Vec<String>| Marker {
            state: MarkerState::Claimed,
            etag: etag.clone(),
            at: deadline,
            published,
            records: 0,
            findings: 0,
        };
        let body = |m: &Marker| serde_json::to_vec(m).unwrap_or_default();
        match self.store.put(&self.state_bucket, marker, body(&claim(Vec::new())), true).await {
            Ok(()) => return Ok(Claim::Go(Vec::new())),
            Err(f) if f.kind == FailureKind::PreconditionFailed => {}
            Err(f) => return Err(f),
        }
        let existing = match self.store.get_small(&self.state_bucket, marker).await {
            Ok(bytes) => serde_json::from_slice::<Marker>(&bytes).ok(),
            // Deleted in between: a concurrent invocation released it.
            Err(f) if f.kind == FailureKind::NotFound => None,
            Err(f) => return Err(f),
        };
        let published = match existing {
            Some(m) if m.state == MarkerState::Done => {
                let same = etag.is_none() || m.etag.is_none() || m.etag == etag;
                if same {
                    return Ok(Claim::Duplicate);
                }
                Vec::new() // The key was overwritten with new content.
            }
            Some(m) if m.state == MarkerState::Claimed && m.at > now() => {
                return Err(Failure::new(FailureKind::Transient, "another invocation is processing this object"));
            }
            Some(m) => m.published,
            None => Vec::new(),
        };
        self.store.put(&self.state_bucket, marker, body(&claim(published.clone())), false).await?;
        Ok(Claim::Go(published))
    }

    /// Gives up a claim so a retry can take the object.
    pub(crate) async fn release(&self, marker: &str, published: &[String], etag: Option<String>) {
        let result = if published.is_empty() {
            self.store.delete(&self.state_bucket, marker).await
        } else {
            let m = Marker {
                state: MarkerState::Partial,
                etag,
                at: now(),
                published: published.to_vec(),
                records: 0,
                findings: 0,
            };
            self.store.put(&self.state_bucket, marker, serde_json::to_vec(&m).unwrap_or_default(), false).await
        };
        if let Err(f) = result {
            warn!(marker, error = %f.message, "could not release the claim; a retry takes it over after this invocation's deadline");
        }
    }

    pub(crate) async fn write_marker(
        &self,
        marker: &str,
        state: MarkerState,
        etag: Option<String>,
        published: Vec<String>,
        counts: (u64, u64),
    ) {
        let (records, findings) = counts;
        let m = Marker { state, etag, at: now(), published, records, findings };
        if let Err(f) =
            self.store.put(&self.state_bucket, marker, serde_json::to_vec(&m).unwrap_or_default(), false).await
        {
            warn!(marker, error = %f.message, "could not write the marker");
        }
    }

    /// Publishes the alerts not published before, ten per call. Returns every
    /// published id, or those published so far and the failure.
    pub(crate) async fn publish(
        &self,
        alerts: Vec<Alert>,
        mut published: Vec<String>,
    ) -> Result<Vec<String>, (Vec<String>, Failure)> {
        let pending: Vec<Alert> = alerts.into_iter().filter(|a| !published.contains(&a.id)).collect();
        for batch in pending.chunks(10) {
            let results = match self.sink.publish(batch).await {
                Ok(results) => results,
                Err(f) => return Err((published, f)),
            };
            let mut failed = None;
            for (alert, result) in batch.iter().zip(results) {
                match result {
                    Ok(()) => published.push(alert.id.clone()),
                    Err(f) => {
                        failed.get_or_insert(f);
                    }
                }
            }
            if let Some(f) = failed {
                return Err((published, f));
            }
        }
        Ok(published)
    }
}

fn log_problems(log: &LogKey, found: &Collect) {
    for p in found.problems.iter().take(20) {
        warn!(account = %log.account_id, region = %log.region, problem = %p, "log file problem");
    }
}
