//! Folding repeats into dedup windows, for every job that alerts on
//! findings (a log file, a real-time event).

use trailwatch_aws::flood::Admission;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{now, Held, JobError};
use trailwatch_core::alert::{group_alert, FileContext};
use trailwatch_core::grouped::Grouped;

use super::ctx::Ctx;

/// Groups per job that go through flood control (the most severe); the
/// rest go to the overflow alert as before.
const FLOOD_GROUPS: usize = 50;

/// Folds the groups whose dedup window is open (settled in the entry, so a
/// retry counts them once) and returns how many findings were folded. What
/// stays in `found` alerts now.
pub(super) async fn repeats<S: ObjectStore + Clone>(
    ctx: &Ctx<'_, S>,
    held: &mut Held<'_, S>,
    found: &mut Grouped,
    file: FileContext<'_>,
) -> Result<u64, JobError> {
    let failed = |f| JobError::call("dedup windows failed", f);
    let mut folded: Vec<(String, Option<String>)> = Vec::new();
    let mut new_folds = Vec::new();
    let mut folded_findings = 0;
    for group in found.groups().into_iter().take(FLOOD_GROUPS) {
        let alert = group_alert(file, group, ctx.limits);
        let fold_id = format!("fold:{}", alert.id);
        let first = group.first();
        let admitted = !held.settled(&fold_id)
            && ctx.flood.admit(&alert, &first.rule.title, file.source, now()).await.map_err(failed)?
                == Admission::First;
        if !admitted {
            folded_findings += group.count;
            folded.push((first.rule.id.clone(), first.principal_arn.clone()));
            if !held.settled(&fold_id) {
                new_folds.push(fold_id);
            }
        }
    }
    if !new_folds.is_empty() {
        held.settle(&new_folds).await.map_err(failed)?;
    }
    if !folded.is_empty() {
        found.retain(|g| !folded.contains(&(g.first().rule.id.clone(), g.first().principal_arn.clone())));
    }
    Ok(folded_findings)
}
