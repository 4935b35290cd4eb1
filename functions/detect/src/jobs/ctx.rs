//! What every job works with, and the small steps they share.

use std::sync::Arc;

use tracing::info;
use trailwatch_aws::flood::FloodControl;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::profiles::{AnyProfiles, Profiles};
use trailwatch_aws::runner::{Job, JobError, Ran, Runner, Ticket};
use trailwatch_core::alert::AlertLimits;
use trailwatch_core::Engine;

use crate::envelope::ObjectRef;
use crate::keys::KeyCache;
use crate::outcome::Handled;

/// What the jobs of one invocation work with: the handler's fixed parts and
/// the invocation's deadline (seconds since the epoch), when its claims lapse.
pub struct Ctx<'a, S> {
    pub runner: &'a Runner<S>,
    pub engine: &'a Arc<Engine>,
    pub limits: AlertLimits,
    /// `None`: digests are not verified.
    pub keys: Option<&'a KeyCache>,
    pub flood: FloodControl<S>,
    pub deadline: u64,
    /// First-seen profiles, with this invocation's cache; `None`: not kept.
    pub profiles: Option<&'a Profiles<AnyProfiles>>,
}

/// Runs `job` on `object` through the runner, under the entry of the
/// object's version; an entry already `done` is a redelivered notification.
pub(super) async fn run_once<S, J>(ctx: &Ctx<'_, S>, object: &ObjectRef, job: &J) -> Result<Handled, JobError>
where
    S: ObjectStore + Clone,
    J: Job<S, Outcome = Handled>,
{
    match ctx.runner.run(ticket(object, ctx.deadline), job).await? {
        Ran::Duplicate => Ok(duplicate(object)),
        Ran::Done(handled) => Ok(handled),
    }
}

/// The ledger entry of an object's version, held until the deadline.
fn ticket(object: &ObjectRef, deadline: u64) -> Ticket {
    Ticket::new(&object.bucket, &object.key, deadline).version(normalize_etag(object.etag.as_deref()))
}

/// S3 ETags arrive with quotes from GetObject and without in notifications.
fn normalize_etag(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string()).filter(|e| !e.is_empty())
}

/// A redelivered notification: the object's entry says `done`.
fn duplicate(object: &ObjectRef) -> Handled {
    info!(bucket = %object.bucket, key = %object.key, "already processed; duplicate notification");
    Handled::Duplicate
}
