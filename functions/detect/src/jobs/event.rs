//! The real-time job: one CloudTrail record that arrived on its own
//! (EventBridge, CloudWatch Logs), through the runner under the ledger entry
//! of its event id, so the same event through two intakes, or delivered
//! twice, runs once:
//!
//! 1. **scan** the record with the same engine as a file (`{"Records":[record]}`);
//!    one with no finding ends there, before the ledger;
//! 2. **claim** its findings across lanes ([`super::cross_lane`]): what its
//!    log file alerted on already is dropped, and its file will drop what
//!    this job alerts on;
//! 3. **fold** repeats into dedup windows, as the file lane does;
//! 4. the runner sends the alerts, writes the event's time to alert (a shard
//!    with that alone, [`super::timing`]) and marks the event done.
//!
//! Threshold rules are not counted here: a count needs every event, and
//! the file has them all. Nor are other statistics: the summary counts each
//! event once, from its file.

use std::io::Cursor;

use tracing::info;
use trailwatch_aws::ledger::Marker;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{now, Batch, Held, Job, JobError, Ran, SideRecord, Ticket, Work};
use trailwatch_aws::state::{event_shard_key, ShardFile};
use trailwatch_core::alert::{alerts_for_groups, FileContext};
use trailwatch_core::grouped::Grouped;
use trailwatch_core::StatsShard;

use super::ctx::Ctx;
use super::timing::Timing;
use super::{cross_lane, fold};
use crate::intake::TrailEvent;
use crate::outcome::Handled;

/// The ledger's "bucket" for events: no S3 bucket has this name
/// (underscores are not allowed in bucket names).
pub const EVENTS: &str = "_events";

/// Processes one record that arrived on its own, exactly once.
pub async fn run<S: ObjectStore + Clone + 'static>(ctx: &Ctx<'_, S>, event: TrailEvent) -> Result<Handled, JobError> {
    let job = Event { ctx, source: event.name(), event };
    // A record no rule matches has nothing to send: it costs no ledger
    // entry (a log group's subscription brings every event of the trail).
    if job.scan().is_ok_and(|found| found.findings() == 0) {
        info!(event = %job.event.id, lane = job.event.lane.as_str(), "no findings");
        return Ok(Handled::Event { findings: 0, alerts: 0, covered: 0 });
    }
    match ctx.runner.run(Ticket::new(EVENTS, &job.event.id, ctx.deadline), &job).await? {
        Ran::Duplicate => {
            info!(event = %job.event.id, lane = job.event.lane.as_str(), "already processed; duplicate event");
            Ok(Handled::Duplicate)
        }
        Ran::Done(handled) => Ok(handled),
    }
}

struct Event<'a, S> {
    ctx: &'a Ctx<'a, S>,
    event: TrailEvent,
    source: String,
}

impl<S: ObjectStore + Clone + 'static> Job<S> for Event<'_, S> {
    type Outcome = Handled;

    async fn work(&self, held: &mut Held<'_, S>) -> Result<Work<Handled>, JobError> {
        let mut found = self.scan()?;
        let first = found.groups().first().map(|g| (g.first().account_id.clone(), g.first().region.clone()));
        let (account, region) = first.unwrap_or_default();
        let file = FileContext { source: &self.source, account_id: account.as_deref(), region: region.as_deref() };
        let covered = cross_lane::drop_covered(self.ctx, held, &mut found).await?;
        let folded = fold::repeats(self.ctx, held, &mut found, file).await?;
        let mut alerts = alerts_for_groups(file, &found, true, self.ctx.limits);
        for alert in &mut alerts {
            alert.tags.push(format!("lane:{}", self.event.lane.as_str()));
        }
        let findings = found.findings();
        let lag_seconds = found.groups().first().and_then(|g| lag(g.first().event_time.as_deref()?));
        info!(event = %self.event.id, lane = self.event.lane.as_str(), findings, covered, folded, alerts = alerts.len(), lag_seconds, "scanned");
        let handled = Handled::Event { findings, alerts: alerts.len(), covered };
        let timing = Timing::of(self.ctx, self.event.lane.as_str(), &alerts);
        let (lane, id, source) = (self.event.lane.as_str(), self.event.id.clone(), self.source.clone());
        let batch = Batch::new(alerts, handled).counting(1, findings);
        Ok(batch.writing_after(move |settled| time_to_alert(&timing, settled, lane, &id, source)).into())
    }
}

/// The event's shard: the time to alert of what was sent and the count of
/// what an output refused (nothing when neither), filed by the hour it was sent.
fn time_to_alert(
    timing: &Timing,
    settled: &Marker,
    lane: &str,
    id: &str,
    source: String,
) -> Result<Vec<SideRecord>, JobError> {
    let sent = now();
    let stats = StatsShard { time_to_alert: timing.measure(settled, sent), ..StatsShard::default() };
    if stats.time_to_alert.is_empty() && settled.rejected.is_empty() {
        return Ok(Vec::new());
    }
    let at = time::OffsetDateTime::from_unix_timestamp(sent as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let hour = format!("{:04}/{:02}/{:02}/{:02}", at.year(), u8::from(at.month()), at.day(), at.hour());
    let shard = ShardFile {
        source,
        account_id: String::new(),
        region: String::new(),
        time: String::new(),
        complete: true,
        stats,
        rejected_alerts: settled.rejected.len() as u64,
        folded_findings: 0,
        event_lane: Some(lane.to_string()),
    };
    Ok(vec![SideRecord::json(event_shard_key(&hour, lane, id), "time-to-alert shard", &shard)?])
}

impl<S> Event<'_, S> {
    /// The record through the engine, as the one record of a file.
    fn scan(&self) -> Result<Grouped, JobError> {
        let file = format!("{{\"Records\":[{}]}}", self.event.record);
        let mut found = Grouped::new(self.ctx.limits);
        let summary = self.ctx.engine.scan(&self.source, Cursor::new(file.into_bytes()), &mut found);
        match found.problems.first() {
            Some(problem) if summary.records == 0 => {
                Err(JobError::Input(format!("not a CloudTrail record: {problem}")))
            }
            _ => Ok(found),
        }
    }
}

/// Seconds from the event's `eventTime` to now: how late the lane is (logged
/// with each real-time job, next to when its alerts go out).
fn lag(event_time: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(event_time, &time::format_description::well_known::Rfc3339).ok()?;
    Some((time::OffsetDateTime::now_utc() - at).whole_seconds())
}
