//! The flush job, on the schedule: send the follow-up of every dedup window
//! that has closed, each once ([`trailwatch_aws::flood`]), and roll up the
//! statistics shards of the hours that have closed ([`trailwatch_aws::rollup`]).

use tracing::{info, warn};
use trailwatch_aws::flood::Flushed;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::rollup::{latest_closed, Requests, Rollups};
use trailwatch_aws::runner::{now, JobError};

use super::ctx::Ctx;

/// Shards read at once when rolling up an hour.
const ROLLUP_READS: usize = 16;

/// Sends the follow-ups of the closed windows and rolls up closed hours.
pub async fn run<S: ObjectStore + Clone + 'static>(ctx: &Ctx<'_, S>) -> Result<Flushed, JobError> {
    let flushed = ctx.flood.flush(ctx.runner, now(), ctx.deadline).await?;
    info!(follow_ups = flushed.follow_ups, folded_events = flushed.folded_events, "dedup windows flushed");
    // The last two closed hours (one missed schedule is caught up); a failure
    // here leaves the rollup to the next schedule or the summary.
    let store = ctx.runner.store();
    let rollups = Rollups { store, bucket: ctx.runner.state_bucket(), concurrency: ROLLUP_READS };
    for hour in latest_closed(now(), 2) {
        let mut requests = Requests::default();
        match rollups.close(&hour, &mut requests).await {
            Ok(true) => info!(hour, shards = requests.gets - 2, "hour rolled up"),
            Ok(false) => {}
            Err(e) => warn!(hour, error = %e, "could not roll up the hour; the next schedule will"),
        }
    }
    Ok(flushed)
}
