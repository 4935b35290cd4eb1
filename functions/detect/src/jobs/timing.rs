//! Time to alert, measured where alerts are sent: for each finding alert
//! the primary output took, the time from its earliest event to the end of
//! delivery, kept by lane in the job's statistics shard (see
//! [`trailwatch_core::latency`]) for the summary's percentiles.

use trailwatch_aws::ledger::Marker;
use trailwatch_aws::output::deliver::ledger_id;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_core::alert::{Alert, AlertKind};
use trailwatch_core::latency::{seconds_since, ByLane};

use super::ctx::Ctx;

/// The lane name of log files.
pub const FILE_LANE: &str = "file";

/// What a batch's times to alert are measured from.
pub(super) struct Timing {
    lane: &'static str,
    /// Each finding alert's ledger id on the primary output, with the time
    /// of its earliest event.
    alerts: Vec<(String, String)>,
}

impl Timing {
    pub fn of<S: ObjectStore + Clone>(ctx: &Ctx<'_, S>, lane: &'static str, alerts: &[Alert]) -> Timing {
        let primary = ctx.runner.outputs().routes().iter().find(|r| r.primary).map(|r| r.name().to_string());
        let alerts = primary.map_or_else(Vec::new, |primary| {
            alerts
                .iter()
                .filter(|a| a.kind == AlertKind::Finding)
                .filter_map(|a| Some((ledger_id(&primary, a), earliest(a)?)))
                .collect()
        });
        Timing { lane, alerts }
    }

    /// The times to alert of what the primary output took, `sent` seconds
    /// since the epoch (empty when it took nothing).
    pub fn measure(&self, settled: &Marker, sent: u64) -> ByLane {
        let mut by_lane = ByLane::new();
        for (id, time) in &self.alerts {
            if let Some(seconds) = settled.published.contains(id).then(|| seconds_since(time, sent)).flatten() {
                by_lane.entry(self.lane.to_string()).or_default().observe(seconds);
            }
        }
        by_lane
    }
}

/// The alert's earliest event time (RFC 3339 strings in UTC sort by time).
fn earliest(alert: &Alert) -> Option<String> {
    alert.events.iter().filter_map(|e| e.time.clone()).min()
}
