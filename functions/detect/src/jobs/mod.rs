//! What an invocation can be asked to do: one [`Job`] per announced object
//! or schedule, decoded once, each kind in its own module with one entry
//! point, each run through the exactly-once runner
//! ([`trailwatch_aws::runner`]).
//!
//! - [`log_file`]: a CloudTrail log file: scan, fold repeats, alert, shard.
//! - [`digest`]: a digest file: verify it and the log files it lists.
//! - [`flush`]: the schedule: the follow-ups of closed dedup windows.
//! - [`event`]: one CloudTrail record that arrived on its own (the real-time lane).
//!
//! Shared steps: [`cross_lane`] (one alert per event and rule across lanes),
//! [`fold`] (repeats into dedup windows) and [`timing`] (time to alert, per lane).
//!
//! A new job is a new module here and one arm of [`Job`].

mod cross_lane;
mod ctx;
pub mod digest;
pub mod event;
pub mod flush;
mod fold;
pub mod log_file;
mod timing;

use tracing::info;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_core::key::{classify_key, DigestKey, KeyKind, LogKey};

pub use self::ctx::Ctx;
use crate::envelope::ObjectRef;
use crate::intake::TrailEvent;
use crate::outcome::{Handled, ProcessError};

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A CloudTrail log file.
    LogFile(ObjectRef, LogKey),
    /// A CloudTrail digest file.
    Digest(ObjectRef, DigestKey),
    /// The schedule: send the follow-ups of closed dedup windows.
    Flush,
    /// A CloudTrail record that arrived on its own.
    Event(TrailEvent),
    /// Nothing to do for this object, and why.
    Skip(ObjectRef, &'static str),
}

impl Job {
    /// The job for an announced object; digest files only when they are
    /// verified (`digests`).
    pub fn for_object(object: ObjectRef, digests: bool) -> Job {
        match classify_key(&object.key, object.size) {
            KeyKind::Log(log) => Job::LogFile(object, log),
            KeyKind::Digest(key) if digests => Job::Digest(object, key),
            other => Job::Skip(object, other.skip_reason().unwrap_or("not a log")),
        }
    }

    /// What the job is about, in errors and logs.
    pub fn subject(&self) -> String {
        match self {
            Job::LogFile(object, _) | Job::Digest(object, _) | Job::Skip(object, _) => object.uri(),
            Job::Flush => "dedup windows".into(),
            Job::Event(event) => event.name(),
        }
    }

    /// Runs the job.
    pub async fn run<S: ObjectStore + Clone + 'static>(self, ctx: &Ctx<'_, S>) -> Result<Handled, ProcessError> {
        let subject = self.subject();
        let result = match self {
            Job::LogFile(object, log) => log_file::run(ctx, object, log).await,
            Job::Digest(object, key) => digest::run(ctx, object, key).await,
            Job::Flush => flush::run(ctx)
                .await
                .map(|f| Handled::Flushed { follow_ups: f.follow_ups, folded_events: f.folded_events }),
            Job::Event(event) => event::run(ctx, event).await,
            Job::Skip(object, reason) => {
                info!(bucket = %object.bucket, key = %object.key, reason, "skipped");
                Ok(Handled::Skipped(reason))
            }
        };
        result.map_err(|error| ProcessError::Job { subject, error })
    }
}
