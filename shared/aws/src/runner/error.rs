//! How a job ends short of done, and what the Lambda boundary does with it.
//!
//! Every error says whether a retry can help ([`Retry::retryable`]). At the
//! boundary ([`settle`]) a retryable error fails the invocation, so Lambda
//! retries it and at last puts it in the dead-letter queue; a permanent one
//! is logged as an error and the invocation finishes, since no retry would
//! go differently.

use std::fmt::Display;

use serde_json::{json, Value};

use crate::ports::{Failure, FailureKind};

/// Whether trying the same work again can succeed.
pub trait Retry {
    fn retryable(&self) -> bool;
}

impl Retry for Failure {
    /// Throttling, a 5xx, a dropped stream, a conditional write that lost a
    /// race: yes. A missing object or a refusal (access denied): not alone.
    fn retryable(&self) -> bool {
        matches!(self.kind, FailureKind::Transient | FailureKind::PreconditionFailed)
    }
}

/// Why a job stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A call to a store failed at `step`; retryable when the failure is.
    #[error("{step}: {failure}")]
    Call { step: String, failure: Failure },
    /// The job's own input exists but cannot be read (access denied, a
    /// disabled KMS key). Retryable on purpose: the invocation fails, so the
    /// event ends in the dead-letter queue (and its alarm), where it waits
    /// for the permission to be fixed and a redrive; finishing would skip
    /// the log file for good.
    #[error("{step}: {failure} (left for the dead-letter queue until this is fixed)")]
    Unreadable { step: String, failure: Failure },
    /// The primary output did not take every alert. Always retryable: the
    /// invocation fails so that Lambda retries what is left (and at last
    /// dead-letters it), whatever the output said; alerts are never dropped
    /// because an output is down or misconfigured.
    #[error("publishing alerts failed: {0}")]
    Delivery(Failure),
    /// Something to be written would not serialize (a bug): a retry would
    /// fail the same way.
    #[error("{what} could not be serialized: {message}")]
    Encode { what: &'static str, message: String },
    /// The invocation asked for something that cannot be done (an event
    /// without what it needs): a retry would fail the same way.
    #[error("{0}")]
    Input(String),
}

impl JobError {
    /// `failure` at `step` ("writing the statistics shard failed").
    pub fn call(step: impl Into<String>, failure: Failure) -> JobError {
        JobError::Call { step: step.into(), failure }
    }

    /// Reading the job's input failed at `step`: refusals become
    /// [`JobError::Unreadable`] (dead-lettered, never skipped), the rest
    /// keep their kind.
    pub fn reading(step: impl Into<String>, failure: Failure) -> JobError {
        match failure.kind {
            FailureKind::Permanent => JobError::Unreadable { step: step.into(), failure },
            _ => JobError::call(step, failure),
        }
    }

    /// A fault a retry can get past that is not a store's answer (a read
    /// interrupted mid-stream, a worker thread lost).
    pub fn transient(step: impl Into<String>, message: impl Into<String>) -> JobError {
        JobError::call(step, Failure::new(FailureKind::Transient, message))
    }

    /// `value` as JSON, or an [`JobError::Encode`] naming `what`.
    pub fn encode<T: serde::Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Vec<u8>, JobError> {
        serde_json::to_vec(value).map_err(|e| JobError::Encode { what, message: e.to_string() })
    }
}

impl Retry for JobError {
    fn retryable(&self) -> bool {
        match self {
            JobError::Call { failure, .. } => failure.retryable(),
            JobError::Delivery(_) | JobError::Unreadable { .. } => true,
            JobError::Encode { .. } | JobError::Input(_) => false,
        }
    }
}

/// The Lambda boundary: a retryable error fails the invocation; a permanent
/// one is reported (an error in the log, and the response says so) and the
/// invocation finishes.
pub fn settle<E: Retry + Display>(result: Result<Value, E>) -> Result<Value, E> {
    match result {
        Err(e) if !e.retryable() => {
            tracing::error!(error = %e, retryable = false, "failed for good: reported, not retried");
            Ok(json!({"failed": e.to_string(), "retried": false}))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_fails_retryable_errors_and_finishes_permanent_ones() {
        let transient = Failure::new(FailureKind::Transient, "throttled");
        let denied = Failure::new(FailureKind::Permanent, "access denied");
        // (error, fails the invocation)
        let cases = [
            (JobError::call("reading", transient.clone()), true),
            (JobError::call("reading", denied.clone()), false),
            (JobError::call("claiming", Failure::new(FailureKind::PreconditionFailed, "raced")), true),
            (JobError::Delivery(denied.clone()), true),
            (JobError::reading("reading the log file", denied), true),
            (JobError::Input("no time".into()), false),
            (JobError::Encode { what: "a shard", message: "bad".into() }, false),
        ];
        for (error, fails) in cases {
            assert_eq!(error.retryable(), fails, "{error}");
            let settled = settle::<JobError>(Err(error.clone()));
            assert_eq!(settled.is_err(), fails, "{error}");
            if !fails {
                assert_eq!(settled.unwrap()["failed"], error.to_string());
            }
        }
        assert_eq!(settle::<JobError>(Ok(json!(1))).unwrap(), json!(1));
    }
}

#[cfg(test)]
mod log_line {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// GIVEN the functions' JSON logging WHEN a permanent failure is settled
    /// THEN its log line matches the template's metric filter (the alarm on
    /// permanent failures counts it), and a retryable one's does not exist.
    #[test]
    fn the_permanent_failure_log_line_matches_the_templates_metric_filter() {
        let template = include_str!("../../../../template.yaml");
        let line = template.lines().find(|l| l.contains("FilterPattern") && l.contains("retryable")).unwrap();
        let pattern = line.split_once("FilterPattern:").unwrap().1.trim().trim_matches('\'');
        let pattern = trailwatch_core::Pattern::parse(pattern).unwrap();

        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = crate::config::json_logs("info", move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _ = settle::<JobError>(Err(JobError::Input("no time".into())));
            let _ = settle::<JobError>(Err(JobError::call("reading", Failure::new(FailureKind::Transient, "x"))));
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged: Vec<&str> = text.lines().collect();
        assert_eq!(logged.len(), 1, "{text}");
        assert!(pattern.matches_json(logged[0]).unwrap(), "{} does not match {pattern}", logged[0]);
    }
}
