//! The detection handler: decodes an invocation into jobs and runs them.
//!
//! A notification (S3, EventBridge, SNS, SQS, CloudTrail's own) names
//! objects; each becomes one [`Job`] (a log file, a digest file, or nothing
//! to do), run through the exactly-once runner. A CloudTrail record that
//! arrives on its own (EventBridge, CloudWatch Logs) is the real-time job. The EventBridge schedule is
//! the flush job. What each job does is in [`crate::jobs`].
//!
//! SQS batches answer with `batchItemFailures` (every message that failed,
//! so the queue's own redrive policy keeps what fails for good); other
//! triggers fail as a whole when an object failed in a way a retry can fix,
//! after every other object was processed. At the Lambda boundary
//! ([`trailwatch_aws::runner::settle`]) a failure no retry can fix is
//! reported and the invocation finishes.

use std::sync::Arc;

use serde_json::{json, Value};
use tracing::{info, warn};
use trailwatch_aws::flood::{FloodControl, Flushed, DEDUP_WINDOW, FLUSH_GRACE};
use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::profiles::{AnyProfiles, Profiles};
use trailwatch_aws::runner::{Retry, Runner};
use trailwatch_core::alert::AlertLimits;
use trailwatch_core::Engine;

use crate::envelope::{self, Item, ObjectRef, Subject};
use crate::intake::TrailEvent;
use crate::jobs::{flush, Ctx, Job};
use crate::keys::KeyCache;
pub use crate::outcome::{Handled, ProcessError};

/// The handler's fixed parts, built once per cold start.
pub struct Detector<S> {
    runner: Runner<S>,
    engine: Arc<Engine>,
    pub limits: AlertLimits,
    /// CloudTrail's public keys, to verify digest files as they arrive;
    /// `None` skips digests.
    keys: Option<Arc<KeyCache>>,
    /// Dedup windows: length and flush grace in seconds (0: no folding).
    dedup_window: u64,
    flush_grace: u64,
    /// First-seen profiles and their cache (emptied at each invocation).
    profiles: Option<Profiles<AnyProfiles>>,
}

impl<S: ObjectStore + Clone> Detector<S> {
    /// A detector with the default alert limits and dedup window, and digest
    /// verification off.
    pub fn new(engine: Arc<Engine>, store: S, outputs: impl Into<Outputs>, state_bucket: impl Into<String>) -> Self {
        Detector {
            runner: Runner::new(store, state_bucket, outputs),
            engine,
            limits: AlertLimits::default(),
            keys: None,
            dedup_window: DEDUP_WINDOW,
            flush_grace: FLUSH_GRACE,
            profiles: None,
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

    /// Keeps first-seen profiles in `store` (without, first-seen rules only count).
    pub fn with_profiles(mut self, store: AnyProfiles) -> Self {
        self.profiles = Some(Profiles::new(store));
        self
    }

    /// The object store (the log bucket and the state bucket).
    pub fn store(&self) -> &S {
        self.runner.store()
    }

    fn ctx(&self, deadline: u64) -> Ctx<'_, S> {
        let store = self.runner.store().clone();
        Ctx {
            runner: &self.runner,
            engine: &self.engine,
            limits: self.limits,
            keys: self.keys.as_deref(),
            flood: FloodControl::new(store, self.runner.state_bucket(), self.dedup_window, self.flush_grace),
            deadline,
            profiles: self.profiles.as_ref(),
        }
    }
}

impl<S: ObjectStore + Clone + 'static> Detector<S> {
    /// Handles one invocation payload. `deadline` (seconds since the epoch)
    /// is when this invocation ends: a claim left by a crashed invocation is
    /// taken over once its deadline has passed.
    pub async fn handle(&self, event: &Value, deadline: u64) -> Result<Value, ProcessError> {
        if let Some(profiles) = &self.profiles {
            profiles.clear().await;
        }
        if let Some(uri) = event.get("import_profiles").and_then(Value::as_str) {
            return self.import_profiles(uri).await;
        }
        if envelope::is_schedule(event) {
            let flushed = self.flush(deadline).await?;
            return Ok(json!({"follow_ups": flushed.follow_ups, "folded_events": flushed.folded_events}));
        }
        let mut failed = Vec::new();
        let mut unattributed = false;
        let mut errors = Vec::new();
        let mut outcomes = Vec::new();
        for item in envelope::decode(event) {
            let message_id = item.message_id.clone();
            match self.item(item, deadline, &mut outcomes).await {
                Ok(()) => {}
                Err(e) => {
                    unattributed |= message_id.is_none();
                    failed.extend(message_id);
                    errors.push(e);
                }
            }
        }
        if envelope::is_sqs(event) {
            // A failure no message id names (a batch that is not SQS's
            // shape) fails the whole invocation: an empty
            // `batchItemFailures` would delete every message.
            if unattributed {
                return Err(ProcessError::Batch(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")));
            }
            let failed: Vec<Value> = failed.iter().map(|id| json!({"itemIdentifier": id})).collect();
            return Ok(json!({"batchItemFailures": failed}));
        }
        // A fault a retry can fix comes first: the invocation must fail for it.
        match errors.iter().position(Retry::retryable).or((!errors.is_empty()).then_some(0)) {
            Some(at) => Err(errors.swap_remove(at)),
            None => Ok(json!({"objects": outcomes})),
        }
    }

    /// Runs the jobs of one notification (one SQS message, or the whole
    /// payload), every one of them; the first error, if any.
    async fn item(&self, item: Item, deadline: u64, outcomes: &mut Vec<Value>) -> Result<(), ProcessError> {
        let subjects = item.subjects.map_err(|message| {
            warn!(message_id = item.message_id.as_deref(), error = %message, "undecodable notification");
            ProcessError::Notification(message)
        })?;
        if subjects.is_empty() {
            info!(message_id = item.message_id.as_deref(), "notification names nothing to do (test event?)");
        }
        let mut first_error: Option<ProcessError> = None;
        for subject in subjects {
            let (what, result) = match subject {
                Subject::Object(object) => (json!({"object": object.uri()}), self.process(&object, deadline).await),
                Subject::Event(event) => (json!({"event": event.name()}), self.process_event(event, deadline).await),
            };
            match result {
                Ok(outcome) => outcomes.push(json!({"subject": what, "outcome": format!("{outcome:?}")})),
                Err(e) => {
                    warn!(subject = e.subject(), error = %e, retryable = e.retryable(), "processing failed");
                    // The retryable one decides for the whole notification.
                    if first_error.as_ref().is_none_or(|f| !f.retryable() && e.retryable()) {
                        first_error = Some(e);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Processes one record that arrived on its own: the real-time job, exactly once.
    pub async fn process_event(&self, event: TrailEvent, deadline: u64) -> Result<Handled, ProcessError> {
        Job::Event(event).run(&self.ctx(deadline)).await
    }

    /// Processes one announced object: its job, exactly once.
    pub async fn process(&self, object: &ObjectRef, deadline: u64) -> Result<Handled, ProcessError> {
        Job::for_object(object.clone(), self.keys.is_some()).run(&self.ctx(deadline)).await
    }

    /// Seeds the profile store from a profile file in the state bucket, under
    /// `profiles/` (`{"import_profiles": "s3://<state bucket>/profiles/seed.json"}`).
    pub async fn import_profiles(&self, uri: &str) -> Result<Value, ProcessError> {
        let refuse = |why: String| ProcessError::Notification(format!("import_profiles {uri}: {why}"));
        let Some(profiles) = &self.profiles else {
            return Err(refuse("this function keeps no profiles (PROFILE_TABLE is not set)".into()));
        };
        let (bucket, key) = trailwatch_aws::config::parse_s3_uri(uri).map_err(|e| refuse(e.to_string()))?;
        if bucket != self.runner.state_bucket() || !key.starts_with("profiles/") {
            return Err(refuse(format!(
                "profile files are read from s3://{}/profiles/ only",
                self.runner.state_bucket()
            )));
        }
        let object = self.runner.store().get(&bucket, &key).await.map_err(|f| refuse(f.message))?;
        let body = trailwatch_aws::ports::whole_body(object.body, object.size);
        let book = tokio::task::spawn_blocking(move || trailwatch_core::profile::Book::load(body))
            .await
            .map_err(|e| refuse(e.to_string()))?
            .map_err(refuse)?;
        let imported =
            trailwatch_aws::profiles::import(profiles.store(), &book).await.map_err(|f| refuse(f.message))?;
        info!(uri, profiles = imported.profiles, values = imported.values, kept = imported.kept, "profiles imported");
        Ok(json!({"imported_profiles": imported}))
    }

    /// Sends the follow-ups of the dedup windows that have closed.
    pub async fn flush(&self, deadline: u64) -> Result<Flushed, ProcessError> {
        let flushed = flush::run(&self.ctx(deadline)).await;
        flushed.map_err(|error| ProcessError::Job { subject: Job::Flush.subject(), error })
    }
}
