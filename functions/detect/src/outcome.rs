//! What handling an invocation's work came to ([`Handled`]) and why some of
//! it could not be done ([`ProcessError`]): shared by the handler and the jobs.

use trailwatch_aws::runner::{JobError, Retry};

/// What happened to one object (or to the scheduled flush).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
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
    /// A record that arrived on its own: its findings, the alerts sent, and
    /// the findings its log file alerted on already.
    Event {
        findings: u64,
        alerts: usize,
        covered: u64,
    },
    /// A digest file, verified with the log files it lists.
    Verified {
        log_files: usize,
        failures: usize,
    },
    /// The follow-ups of closed dedup windows, sent.
    Flushed {
        follow_ups: usize,
        folded_events: u64,
    },
}

/// Why an invocation's work could not be done, and whether a retry helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// A notification that could not be understood: a retry reads the same bytes.
    #[error("notification: {0}")]
    Notification(String),
    /// A job failed on `subject` (`s3://bucket/key`, or the dedup windows).
    #[error("{subject}: {error}")]
    Job { subject: String, error: JobError },
    /// An SQS batch that could not be split into its messages. Retryable on
    /// purpose: failing the invocation keeps every message (retried, then
    /// dead-lettered), where answering would delete them all.
    #[error("SQS batch: {0}")]
    Batch(String),
}

impl ProcessError {
    /// What the failed work was about.
    pub fn subject(&self) -> &str {
        match self {
            ProcessError::Notification(_) => "notification",
            ProcessError::Batch(_) => "SQS batch",
            ProcessError::Job { subject, .. } => subject,
        }
    }
}

impl Retry for ProcessError {
    fn retryable(&self) -> bool {
        match self {
            ProcessError::Notification(_) => false,
            ProcessError::Job { error, .. } => error.retryable(),
            ProcessError::Batch(_) => true,
        }
    }
}
