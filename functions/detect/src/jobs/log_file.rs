//! The log-file job, through the runner's claim → work → deliver → write →
//! finish:
//!
//! 1. **scan** the file as it streams from S3 (on a blocking thread),
//!    grouping findings as they are found, with caps;
//! 2. **drop** what the real-time lane alerted on already
//!    ([`super::cross_lane`]), then **fold** repeats: each (rule, principal, account) group either opens
//!    its dedup window and alerts, or folds into the open window's follow-up
//!    ([`trailwatch_aws::flood`]); folds are settled in the ledger entry, so
//!    a retry counts them once;
//! 3. **count** threshold rules across files ([`trailwatch_aws::thresholds`]),
//!    and **settle** first-seen profiles ([`trailwatch_aws::profiles`]): only
//!    the invocation whose conditional add took a new value alerts on it;
//! 4. the runner sends the alerts, then writes the file's **statistics
//!    shard** (with the alerts refused for good and the time to alert of
//!    those sent, [`super::timing`]), then marks it done.
//!
//! A file that can never be read is not retried: its good records' findings
//! and an "unreadable log file" alert are sent and it is marked done. A read
//! interrupted mid-stream is retried, never reported as a corrupt file.

use tracing::{info, warn};
use trailwatch_aws::ports::{whole_body, FailureKind, ObjectStore};
use trailwatch_aws::runner::{now, Batch, Held, Job, JobError, SideRecord, Work};
use trailwatch_aws::state::{shard_key, ShardFile};
use trailwatch_aws::thresholds::ThresholdStore;
use trailwatch_core::alert::{alerts_for_groups, first_seen_alert, threshold_alert, Alert, FileContext};
use trailwatch_core::grouped::Grouped;
use trailwatch_core::key::LogKey;
use trailwatch_core::profile::report::NewThisPeriod;
use trailwatch_core::ScanSummary;

use super::ctx::{run_once, Ctx};
use super::timing::{Timing, FILE_LANE};
use super::{cross_lane, fold};
use crate::envelope::ObjectRef;
use crate::outcome::Handled;

/// Processes one log file, exactly once.
pub async fn run<S: ObjectStore + Clone + 'static>(
    ctx: &Ctx<'_, S>,
    object: ObjectRef,
    log: LogKey,
) -> Result<Handled, JobError> {
    let job = LogFile { ctx, uri: object.uri(), object, log };
    run_once(ctx, &job.object, &job).await
}

struct LogFile<'a, S> {
    ctx: &'a Ctx<'a, S>,
    object: ObjectRef,
    log: LogKey,
    uri: String,
}

impl<S: ObjectStore + Clone + 'static> Job<S> for LogFile<'_, S> {
    type Outcome = Handled;

    async fn work(&self, held: &mut Held<'_, S>) -> Result<Work<Handled>, JobError> {
        let Some((summary, mut found)) = self.scan().await? else {
            info!(bucket = %self.object.bucket, key = %self.object.key, "object no longer exists; skipped");
            return Ok(Work::Gone(Handled::Missing));
        };
        let log = &self.log;
        let file = FileContext { source: &self.uri, account_id: Some(&log.account_id), region: Some(&log.region) };
        let covered = cross_lane::drop_covered(self.ctx, held, &mut found).await?;
        let folded = fold::repeats(self.ctx, held, &mut found, file).await?;
        let mut alerts = alerts_for_groups(file, &found, summary.complete, self.ctx.limits);
        alerts.extend(self.threshold_alerts(&found).await?);
        let (first_seen, news) = self.first_seen_alerts(&found).await?;
        alerts.extend(first_seen);
        info!(
            bucket = %self.object.bucket,
            key = %self.object.key,
            records = summary.records,
            findings = summary.findings,
            suppressed = summary.suppressed,
            problems = summary.problems,
            alerts = alerts.len(),
            folded,
            covered,
            quiet = found.quiet_findings(),
            "scanned"
        );
        for p in found.problems.iter().take(20) {
            warn!(account = %log.account_id, region = %log.region, problem = %p, "log file problem");
        }
        let handled = Handled::Processed {
            records: summary.records,
            findings: summary.findings,
            alerts: alerts.len(),
            problems: summary.problems,
        };
        let mut shard = self.shard(&summary, folded);
        shard.stats.new_this_period = news;
        let key = shard_key(log, &self.object.bucket, &self.object.key);
        let timing = Timing::of(self.ctx, FILE_LANE, &alerts);
        let batch = Batch::new(alerts, handled).counting(summary.records, summary.findings);
        Ok(batch
            .writing_after(move |settled| {
                shard.rejected_alerts = settled.rejected.len() as u64;
                shard.stats.time_to_alert = timing.measure(settled, now());
                Ok(vec![SideRecord::json(key, "statistics shard", &shard)?])
            })
            .into())
    }
}

impl<S: ObjectStore + Clone + 'static> LogFile<'_, S> {
    /// Reads and scans the file; `None` when it is gone.
    async fn scan(&self) -> Result<Option<(ScanSummary, Grouped)>, JobError> {
        let store = self.ctx.runner.store();
        let opened = match store.get(&self.object.bucket, &self.object.key).await {
            Ok(opened) => opened,
            Err(f) if f.kind == FailureKind::NotFound => return Ok(None),
            Err(f) => return Err(JobError::reading("reading the object failed", f)),
        };
        let engine = self.ctx.engine.clone();
        let source = self.uri.clone();
        // A body that ends before its announced size is a dropped stream, not a corrupt file.
        let body = whole_body(opened.body, opened.size);
        let limits = self.ctx.limits;
        let profiles = self.ctx.profiles.is_some() && engine.has_first_seen();
        let (summary, found) = tokio::task::spawn_blocking(move || {
            // Grouped as found, with caps: memory stays flat however many records match.
            let mut found = Grouped::new(limits);
            if profiles {
                found = found.with_profiles(engine.profile_batch(&source));
            }
            let summary = engine.scan(&source, body, &mut found);
            (summary, found)
        })
        .await
        .map_err(|e| JobError::transient("scan task failed", e.to_string()))?;
        if let Some(p) = found.retryable_problem() {
            return Err(JobError::transient("reading the object was interrupted", p.to_string()));
        }
        Ok(Some((summary, found)))
    }

    /// Counts the file's threshold tallies across files; the alerts of the
    /// thresholds this file brought to their count.
    async fn threshold_alerts(&self, found: &Grouped) -> Result<Vec<Alert>, JobError> {
        let runner = self.ctx.runner;
        let thresholds = ThresholdStore::new(runner.store().clone(), runner.state_bucket());
        let engine = self.ctx.engine;
        let reached = thresholds
            .record(&found.tallies, &self.uri, |id| engine.rules().find(|r| r.id == id).map(|r| r.as_ref()))
            .await
            .map_err(|f| JobError::call("counting threshold rules failed", f))?;
        Ok(reached.iter().filter_map(|(rule, tally)| threshold_alert(rule, tally, &self.uri)).collect())
    }

    /// Settles the file's first-seen batch against the profiles (before
    /// anything is sent: the conditional adds decide which invocation alerts);
    /// the alerts of the values new after learning, and what was new for the summary.
    async fn first_seen_alerts(&self, found: &Grouped) -> Result<(Vec<Alert>, NewThisPeriod), JobError> {
        let (Some(profiles), Some(batch)) = (self.ctx.profiles, &found.profiles) else {
            return Ok((Vec::new(), NewThisPeriod::default()));
        };
        let settled =
            profiles.settle(batch).await.map_err(|f| JobError::call("settling first-seen profiles failed", f))?;
        info!(
            key = %self.object.key,
            first_seen_alerts = settled.alerts.len(),
            learning = settled.learning,
            profile_reads = settled.reads,
            profile_writes = settled.writes,
            lost = settled.lost,
            "profiles settled"
        );
        let alerts = settled.alerts.iter().map(|(candidate, since)| first_seen_alert(candidate, *since, &self.uri));
        Ok((alerts.collect(), settled.news))
    }

    /// The file's statistics shard (the alerts refused for good are counted
    /// once delivery is over).
    fn shard(&self, summary: &ScanSummary, folded: u64) -> ShardFile {
        ShardFile {
            source: self.uri.clone(),
            account_id: self.log.account_id.clone(),
            region: self.log.region.clone(),
            time: self.log.time.clone(),
            complete: summary.complete,
            stats: summary.stats.clone(),
            rejected_alerts: 0,
            folded_findings: folded,
            event_lane: None,
        }
    }
}
