//! One alert per event and rule across lanes: before a job alerts on its
//! findings, it claims each (rule, event) for its ledger entry
//! ([`trailwatch_aws::lanes`]); what another job has covered is dropped, so
//! it is neither sent, nor folded, nor counted in a dedup window again.

use futures::{StreamExt, TryStreamExt};
use tracing::info;
use trailwatch_aws::lanes::{EventClaims, Lane};
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{now, Held, JobError};
use trailwatch_core::grouped::Grouped;

use super::ctx::Ctx;

/// Claims in flight at once.
const CONCURRENT_CLAIMS: usize = 8;

/// Drops from `found` the findings another lane alerted on; how many.
pub(super) async fn drop_covered<S: ObjectStore + Clone>(
    ctx: &Ctx<'_, S>,
    held: &Held<'_, S>,
    found: &mut Grouped,
) -> Result<u64, JobError> {
    let known = found.known_events();
    if known.is_empty() {
        return Ok(0);
    }
    let claims = EventClaims::new(ctx.runner.store().clone(), ctx.runner.state_bucket());
    let owner = held.entry_key();
    let lanes: Vec<Option<(String, String)>> = futures::stream::iter(known)
        .map(|(rule, event)| {
            let claims = &claims;
            async move {
                let lane = claims.claim(&event, &rule, owner, now()).await?;
                Ok::<_, trailwatch_aws::Failure>(matches!(lane, Lane::Theirs(_)).then_some((rule, event)))
            }
        })
        .buffered(CONCURRENT_CLAIMS)
        .try_collect()
        .await
        .map_err(|f| JobError::call("claiming events across lanes failed", f))?;
    let covered: Vec<(String, String)> = lanes.into_iter().flatten().collect();
    if !covered.is_empty() {
        info!(entry = owner, covered = covered.len(), "findings another lane alerted on already");
    }
    Ok(found.drop_events(&covered))
}
