//! The summary handler: a scheduled event in, one report out.
//!
//! The window comes from the event's `time`, never the wall clock, so a late
//! or retried invocation reports the same window and the same numbers.
//! Dedup windows that have closed are flushed first (so their follow-ups
//! are never later than the next summary); then the report is read and
//! rendered ([`crate::report`]) and sent once ([`crate::job`]).

use serde_json::{json, Value};
use tracing::{info, warn};
use trailwatch_aws::flood::{FloodControl, Flushed, DEDUP_WINDOW, FLUSH_GRACE};
use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{now, JobError, Ran, Retry, Runner};
use trailwatch_core::summary::Window;

pub use crate::config::SummarySettings;
use crate::job::SendSummary;
use crate::report::Reader;

/// Why a summary could not be made, and whether a retry helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    /// Not a scheduled event with a time: a retry reads the same event.
    #[error("{0}")]
    Event(String),
    #[error(transparent)]
    Job(#[from] JobError),
}

impl Retry for SummaryError {
    fn retryable(&self) -> bool {
        match self {
            SummaryError::Event(_) => false,
            SummaryError::Job(e) => e.retryable(),
        }
    }
}

/// The handler's fixed parts, built once per cold start.
pub struct Summarizer<S> {
    pub store: S,
    pub outputs: Outputs,
    pub settings: SummarySettings,
}

impl<S: ObjectStore + Clone> Summarizer<S> {
    /// Sends the summary of the window before the event's time, once.
    pub async fn handle(&self, event: &Value) -> Result<Value, SummaryError> {
        let window = self.window(event)?;
        let runner = Runner::new(self.store.clone(), &self.settings.state_bucket, self.outputs.clone());
        let lease = now() + 300;
        let flood = FloodControl::new(self.store.clone(), &self.settings.state_bucket, DEDUP_WINDOW, FLUSH_GRACE);
        let flushed = flood.flush(&runner, now(), lease).await.unwrap_or_else(|e| {
            warn!(error = %e, "could not flush dedup windows; the detection function's schedule will");
            Flushed::default()
        });
        let summary = Reader { store: &self.store, settings: &self.settings }.summary(&window).await?;
        let (file, report) = (&summary.file, &summary.report);
        let job = SendSummary::new(&window, report, file)?;
        if let Ran::Duplicate = runner.run(SendSummary::ticket(&window, lease), &job).await? {
            info!(window = %window.label(), "summary already sent");
        }
        info!(
            window = %window.label(),
            records = file.stats.records,
            files = file.stats.files,
            delivered = file.coverage.delivered,
            unprocessed = file.coverage.unprocessed_total,
            silent = file.coverage.silent.len(),
            unreadable_shards = summary.unreadable_shards,
            state_lists = summary.requests.lists,
            state_gets = summary.requests.gets,
            rollups_written = summary.requests.puts,
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

    /// The window ending before the event's time.
    fn window(&self, event: &Value) -> Result<Window, SummaryError> {
        let time = event.get("time").and_then(Value::as_str).ok_or_else(|| {
            SummaryError::Event("the event has no `time`: expected an EventBridge scheduled event".into())
        })?;
        let at = Window::parse_time(time).map_err(|e| SummaryError::Event(e.to_string()))?;
        Window::ending_before(at, self.settings.window).map_err(|e| SummaryError::Event(e.to_string()))
    }
}
