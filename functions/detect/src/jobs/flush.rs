//! The flush job, on the schedule: send the follow-up of every dedup window
//! that has closed, each once ([`trailwatch_aws::flood`]).

use tracing::info;
use trailwatch_aws::flood::Flushed;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{now, JobError};

use super::ctx::Ctx;

/// Sends the follow-ups of the closed windows.
pub async fn run<S: ObjectStore + Clone + 'static>(ctx: &Ctx<'_, S>) -> Result<Flushed, JobError> {
    let flushed = ctx.flood.flush(ctx.runner, now(), ctx.deadline).await?;
    info!(follow_ups = flushed.follow_ups, folded_events = flushed.folded_events, "dedup windows flushed");
    Ok(flushed)
}
