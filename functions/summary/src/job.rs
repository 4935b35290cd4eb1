//! The summary job, through the exactly-once runner: deliver the report,
//! then store the window's aggregate (`summaries/<window>.json`, which the
//! next window compares with), then done. The ledger entry
//! `summary/<window>` keeps a retry from sending it again.

use trailwatch_aws::ports::ObjectStore;
use trailwatch_aws::runner::{Batch, Held, Job, JobError, SideRecord, Ticket, Work};
use trailwatch_aws::state::SUMMARIES;
use trailwatch_core::alert::{Alert, AlertKind};
use trailwatch_core::summary::{Report, SummaryFile, Window};
use trailwatch_core::Severity;

/// One window's report to send and aggregate to store.
pub struct SendSummary {
    alert: Alert,
    record: SideRecord,
}

impl SendSummary {
    pub fn new(window: &Window, report: &Report, file: &SummaryFile) -> Result<SendSummary, JobError> {
        let severity = report.severity.unwrap_or(Severity::Info);
        let alert = Alert::new("summary", AlertKind::Summary, severity, "summary", &report.subject)
            .with_details(report.body.clone());
        let key = format!("{SUMMARIES}{}.json", window.label());
        Ok(SendSummary { alert, record: SideRecord::json(key, "summary", file)? })
    }

    /// The window's entry, held until `lease`. Every attempt is the same
    /// owner: a retry takes over the claim of an attempt that stopped at once.
    pub fn ticket(window: &Window, lease: u64) -> Ticket {
        Ticket::new("summary", window.label(), lease).owner("summary")
    }
}

impl<S: ObjectStore> Job<S> for SendSummary {
    type Outcome = ();

    async fn work(&self, _: &mut Held<'_, S>) -> Result<Work<()>, JobError> {
        Ok(Batch::new(vec![self.alert.clone()], ()).writing(self.record.clone()).into())
    }
}
