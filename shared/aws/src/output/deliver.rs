//! Sending an object's alerts to every output through the exactly-once
//! ledger: for each output, each batch is written down before it is sent and
//! its outcome after (see [`crate::ledger`] for the guarantee and its one
//! window). Ledger ids are `<output>:<alert id>`, so each output settles on
//! its own.
//!
//! Per message, an output either takes it, refuses it for good (recorded as
//! rejected, logged, counted in the summary) or fails it for now (retried
//! here with backoff). When the primary output (SNS) still fails, the
//! invocation fails and Lambda retries what is left; the other outputs are
//! tried only after the primary has settled, so they never hold it up, and
//! when one of them still fails after its retries the message is recorded
//! as undelivered rather than failing the file. Messages whose outcome is
//! unknown (an earlier attempt wrote them down and stopped; a whole call
//! failed) are sent again marked as possible repeats.

use std::time::Duration;

use tracing::{error, warn};
use trailwatch_core::alert::Alert;

use super::{Message, Outputs, Route};
use crate::ledger::{Entry, Ledger, Rejected};
use crate::ports::{Failure, FailureKind, ObjectStore, Result};
use crate::rate::RateLimiter;

/// Tries per batch within one invocation.
const PRIMARY_ATTEMPTS: u32 = 3;
const OTHER_ATTEMPTS: u32 = 4;

/// The ledger id of an alert on an output.
pub fn ledger_id(output: &str, alert: &Alert) -> String {
    format!("{output}:{}", alert.id)
}

/// What the ledger, the outputs and the rate cap need to send alerts.
pub struct Delivery<'a, S> {
    pub ledger: &'a Ledger<S>,
    pub limiter: &'a RateLimiter<S>,
    pub outputs: &'a Outputs,
}

impl<S: ObjectStore> Delivery<'_, S> {
    /// Sends what the ledger entry does not show as settled, output by
    /// output, the primary first.
    pub async fn deliver(&self, entry: &mut Entry, alerts: &[Alert]) -> Result<()> {
        for route in self.outputs.routes() {
            self.deliver_to(route, entry, alerts).await?;
        }
        Ok(())
    }

    async fn deliver_to(&self, route: &Route, entry: &mut Entry, alerts: &[Alert]) -> Result<()> {
        let name = route.name();
        let uncertain = entry.marker.uncertain();
        let pending: Vec<Message> = alerts
            .iter()
            .filter(|a| route.filter.accepts(a))
            .filter(|a| !entry.marker.settled(&ledger_id(name, a)))
            .map(|a| {
                let mut alert = a.clone();
                alert.possible_repeat |= uncertain.contains(&ledger_id(name, a));
                Message::new(alert, entry.key(), name)
            })
            .collect();
        let mut rest = &pending[..];
        while !rest.is_empty() {
            let want = rest.len().min(route.output.max_batch().max(1));
            let n = self.limiter.acquire(name, route.per_second, want).await?;
            let (batch, after) = rest.split_at(n.clamp(1, want));
            rest = after;
            let ids: Vec<String> = batch.iter().map(|m| ledger_id(name, &m.alert)).collect();
            self.ledger.intend(entry, &ids).await?;
            self.send_batch(route, entry, batch.to_vec()).await?;
        }
        Ok(())
    }

    async fn send_batch(&self, route: &Route, entry: &mut Entry, mut todo: Vec<Message>) -> Result<()> {
        let name = route.name();
        let attempts = if route.primary { PRIMARY_ATTEMPTS } else { OTHER_ATTEMPTS };
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            let (published, mut rejected, again) = match route.output.send(&todo).await {
                Ok(results) => sort_results(name, &todo, results),
                Err(f) if f.kind == FailureKind::Transient && !last => {
                    // The output may have carried the call out before it failed
                    // (a timeout): what is sent again says it may repeat.
                    warn!(output = name, attempt, error = %f.message, "sending failed; trying again");
                    todo.iter_mut().for_each(|m| m.alert.possible_repeat = true);
                    backoff(route.primary, attempt).await;
                    continue;
                }
                Err(f) if route.primary => return Err(f),
                Err(f) if f.kind == FailureKind::Permanent => {
                    let refused =
                        todo.iter().map(|m| Rejected { id: ledger_id(name, &m.alert), reason: f.message.clone() });
                    (Vec::new(), refused.collect(), Vec::new())
                }
                Err(f) => (Vec::new(), Vec::new(), todo.iter().map(|m| (m.clone(), f.clone())).collect()),
            };
            if last && !route.primary {
                // Given up: recorded as undelivered, never failing the file.
                rejected.extend(again.iter().map(|(m, f)| Rejected {
                    id: ledger_id(name, &m.alert),
                    reason: format!("gave up after {attempts} tries: {}", f.message),
                }));
            }
            self.ledger.record(entry, &published, &rejected).await?;
            for r in &rejected {
                error!(output = name, alert = %r.id, reason = %r.reason, "an alert was not delivered; recorded, not retried");
            }
            if again.is_empty() || !route.primary && last {
                return Ok(());
            }
            if last {
                return Err(Failure::new(
                    FailureKind::Transient,
                    format!("{name}: {} alerts still failing", again.len()),
                ));
            }
            backoff(route.primary, attempt).await;
            todo = again.into_iter().map(|(m, _)| m).collect();
        }
        Ok(())
    }
}

type Sorted = (Vec<String>, Vec<Rejected>, Vec<(Message, Failure)>);

/// (taken ids, refused for good, to try again).
fn sort_results(output: &str, batch: &[Message], results: Vec<Result<()>>) -> Sorted {
    let (mut published, mut rejected, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for (message, result) in batch.iter().zip(results) {
        let id = ledger_id(output, &message.alert);
        match result {
            Ok(()) => published.push(id),
            Err(f) if f.kind == FailureKind::Permanent => rejected.push(Rejected { id, reason: f.message }),
            Err(f) => again.push((message.clone(), f)),
        }
    }
    (published, rejected, again)
}

async fn backoff(primary: bool, attempt: u32) {
    let base = if primary { 100 } else { 500 };
    let factor = if primary { 4u64 } else { 2 };
    let jitter = fastrand::u64(0..base / 2);
    tokio::time::sleep(Duration::from_millis(base * factor.pow(attempt - 1) + jitter)).await;
}
