//! Publishing an object's alerts through the ledger: each batch is written
//! down before `PublishBatch` and its outcome after (see
//! [`trailwatch_aws::ledger`] for the guarantee and its one window).
//!
//! Per alert, SNS either accepts it, refuses it for good (a sender fault:
//! recorded as rejected, logged, counted in the summary; the file is still
//! finished) or fails it for now (retried here with backoff, then the
//! invocation fails and Lambda retries what is left). Alerts whose outcome
//! is unknown (an earlier attempt intended them and stopped; a whole
//! `PublishBatch` call failed) are sent again, marked as possible repeats.

use std::time::Duration;

use tracing::{error, warn};
use trailwatch_aws::ledger::{Entry, Rejected};
use trailwatch_aws::ports::{AlertSink, Failure, FailureKind, ObjectStore};
use trailwatch_core::alert::Alert;

use crate::handler::Detector;

/// Tries per batch within one invocation.
const ATTEMPTS: u32 = 3;

/// An alert sent again after an attempt whose outcome is unknown (an
/// earlier invocation stopped before recording it, or a `PublishBatch` call
/// failed as a whole, which SNS may still have carried out).
fn as_possible_repeat(mut alert: Alert) -> Alert {
    if alert.attributes.iter().any(|(k, _)| k == "possible_repeat") {
        return alert;
    }
    alert.body = format!(
        "Note: sent again after an interrupted attempt; it may repeat a message you already received.\n\n{}",
        alert.body
    );
    alert.attributes.push(("possible_repeat".into(), "true".into()));
    alert
}

impl<S: ObjectStore + Clone + 'static, A: AlertSink> Detector<S, A> {
    /// Publishes what the ledger entry does not show as settled.
    pub(crate) async fn deliver(&self, entry: &mut Entry, alerts: Vec<Alert>) -> Result<(), Failure> {
        let ledger = self.ledger();
        let uncertain = entry.marker.uncertain();
        let pending: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| !entry.marker.settled(&a.id))
            .map(|a| if uncertain.contains(&a.id) { as_possible_repeat(a) } else { a })
            .collect();
        for batch in pending.chunks(10) {
            let ids: Vec<String> = batch.iter().map(|a| a.id.clone()).collect();
            ledger.intend(entry, &ids).await?;
            let mut todo: Vec<Alert> = batch.to_vec();
            for attempt in 1..=ATTEMPTS {
                let (published, rejected, again) = match self.sink.publish(&todo).await {
                    Ok(results) => sort_results(&todo, results),
                    Err(f) if f.kind == FailureKind::Transient && attempt < ATTEMPTS => {
                        // SNS may have carried the call out before it failed (a
                        // timeout): what is sent again says it may repeat.
                        warn!(attempt, error = %f.message, "PublishBatch failed; trying again");
                        todo = todo.into_iter().map(as_possible_repeat).collect();
                        backoff(attempt).await;
                        continue;
                    }
                    Err(f) => return Err(f),
                };
                ledger.record(entry, &published, &rejected).await?;
                for r in &rejected {
                    error!(alert = %r.id, reason = %r.reason, "SNS refused an alert for good; recorded, not retried");
                }
                if again.is_empty() {
                    break;
                }
                if attempt == ATTEMPTS {
                    return Err(Failure::new(FailureKind::Transient, format!("{} alerts still failing", again.len())));
                }
                backoff(attempt).await;
                todo = again;
            }
        }
        Ok(())
    }
}

/// (accepted ids, refused for good, to try again).
fn sort_results(batch: &[Alert], results: Vec<Result<(), Failure>>) -> (Vec<String>, Vec<Rejected>, Vec<Alert>) {
    let (mut published, mut rejected, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for (alert, result) in batch.iter().zip(results) {
        match result {
            Ok(()) => published.push(alert.id.clone()),
            Err(f) if f.kind == FailureKind::Permanent => {
                rejected.push(Rejected { id: alert.id.clone(), reason: f.message })
            }
            Err(_) => again.push(alert.clone()),
        }
    }
    (published, rejected, again)
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1))).await;
}
