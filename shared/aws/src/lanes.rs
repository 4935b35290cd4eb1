//! One alert per event and rule, whichever lane sees the event first.
//!
//! An event can reach trailwatch twice: as it happens (EventBridge, or a
//! CloudWatch Logs subscription) and minutes later in its log file. Before
//! a job alerts on a finding, it claims `lanes/<rule>/<eventID>` for its own
//! ledger entry (a conditional create). The claim names the entry, so:
//!
//! - the first job to claim alerts; a retry of that job finds its own claim
//!   and goes on;
//! - another job finds the claim and asks the holder's ledger entry: a
//!   holder that is `done`, or that sent (or folded) an alert of the rule,
//!   has it covered ([`Lane::Theirs`]: the finding is dropped); a holder
//!   still working makes this job back off (a retry comes later); a holder
//!   that gave up before its send was confirmed (an invocation that failed,
//!   an entry that expired) is taken over with `If-Match`, so the event is
//!   still alerted: a holder that stopped between a send and its record may
//!   have sent it, the same one window the ledger has (a possible repeat,
//!   never a loss).
//!
//! Best-effort delivery means the real-time lane misses some events: their
//! file finds no claim and alerts as it always did.

use serde::{Deserialize, Serialize};

use crate::ledger::{Marker, MarkerState};
use crate::ports::{get_json, Condition, Failure, FailureKind, ObjectStore, Result};

/// Where the claims live in the state bucket.
pub const LANES: &str = "lanes/";

/// The claim of `rule` on `event_id`. Both come from records: anything but
/// letters, digits, `-`, `_` and `.` is escaped, so a key has one shape.
pub fn claim_key(event_id: &str, rule: &str) -> String {
    format!("{LANES}{}/{}", escape(rule), escape(event_id))
}

/// `text` as one part of a state key: at most 200 bytes, anything but
/// letters, digits, `-`, `_` and `.` escaped as `%XX`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes().take(200) {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Who holds an event's claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LaneClaim {
    /// The holder's ledger entry (its key in the state bucket).
    owner: String,
    /// Seconds since the epoch, when it was claimed.
    at: u64,
}

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lane {
    /// This job alerts on the finding.
    Mine,
    /// Another job (named by its ledger entry) has it covered.
    Theirs(String),
}

/// What the holder's ledger entry says about the rule.
enum Holder {
    Covered,
    Working,
    GaveUp,
}

/// The claims in a state bucket.
#[derive(Debug, Clone)]
pub struct EventClaims<S> {
    store: S,
    bucket: String,
}

impl<S: ObjectStore> EventClaims<S> {
    pub fn new(store: S, bucket: impl Into<String>) -> Self {
        EventClaims { store, bucket: bucket.into() }
    }

    /// Claims `rule` on `event_id` for the ledger entry `owner` (see the
    /// module docs). A holder still at work is a transient failure.
    pub async fn claim(&self, event_id: &str, rule: &str, owner: &str, now: u64) -> Result<Lane> {
        let key = claim_key(event_id, rule);
        let body = |at| serde_json::to_vec(&LaneClaim { owner: owner.to_string(), at }).unwrap_or_default();
        match self.store.put_if(&self.bucket, &key, body(now), Condition::Absent).await {
            Ok(_) => return Ok(Lane::Mine),
            Err(f) if f.kind == FailureKind::PreconditionFailed => {}
            Err(f) => return Err(f),
        }
        let (held, version): (LaneClaim, String) = get_json(&self.store, &self.bucket, &key, "a lane claim").await?;
        if held.owner == owner {
            return Ok(Lane::Mine);
        }
        match self.holder(&held.owner, rule, now).await? {
            Holder::Covered => Ok(Lane::Theirs(held.owner)),
            Holder::Working => {
                Err(Failure::new(FailureKind::Transient, format!("{} is alerting on event {event_id} now", held.owner)))
            }
            Holder::GaveUp => match self.store.put_if(&self.bucket, &key, body(now), Condition::Matches(version)).await
            {
                Ok(_) => Ok(Lane::Mine),
                Err(f) if f.kind == FailureKind::PreconditionFailed => {
                    Err(Failure::new(FailureKind::Transient, format!("event {event_id} was claimed again meanwhile")))
                }
                Err(f) => Err(f),
            },
        }
    }

    async fn holder(&self, entry: &str, rule: &str, now: u64) -> Result<Holder> {
        let marker: Marker = match get_json(&self.store, &self.bucket, entry, "a ledger entry").await {
            Ok((marker, _)) => marker,
            Err(f) if f.kind == FailureKind::NotFound => return Ok(Holder::GaveUp),
            Err(f) => return Err(f),
        };
        Ok(match marker.state {
            _ if marker.state == MarkerState::Done || marker.settled_rule(rule) => Holder::Covered,
            MarkerState::Claimed if marker.at > now => Holder::Working,
            _ => Holder::GaveUp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Claim, Ledger};
    use crate::memory::MemoryStore;

    const STATE: &str = "state";

    async fn entry(ledger: &Ledger<MemoryStore>, key: &str, lease: u64) -> crate::ledger::Entry {
        match ledger.claim("_events", key, None, key, lease, 100).await.unwrap() {
            Claim::Go(entry) => entry,
            Claim::Duplicate => panic!("duplicate"),
        }
    }

    #[test]
    fn keys_escape_what_records_may_hold() {
        assert_eq!(claim_key("6f0c-11ee", "root-login"), "lanes/root-login/6f0c-11ee");
        assert_eq!(claim_key("../x y", "r"), "lanes/r/..%2Fx%20y");
    }

    /// GIVEN the real-time lane claimed an event and finished WHEN its file
    /// claims it THEN the file lane has nothing to send; a retry of the
    /// real-time job still finds the event its own.
    #[tokio::test]
    async fn the_first_lane_keeps_the_event() {
        let store = MemoryStore::default();
        let (ledger, claims) = (Ledger::new(store.clone(), STATE), EventClaims::new(store.clone(), STATE));
        let mut live = entry(&ledger, "ev-1", 1_000).await;
        assert_eq!(claims.claim("ev-1", "root", live.key(), 100).await.unwrap(), Lane::Mine);
        assert_eq!(claims.claim("ev-1", "root", live.key(), 101).await.unwrap(), Lane::Mine, "a retry");
        let err = claims.claim("ev-1", "root", "markers/logs/file", 102).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient, "the holder is still at work");
        ledger.finish(&mut live, 1, 1, 103).await.unwrap();
        let theirs = claims.claim("ev-1", "root", "markers/logs/file", 104).await.unwrap();
        assert_eq!(theirs, Lane::Theirs(live.key().to_string()));
        assert_eq!(claims.claim("ev-1", "other-rule", "markers/logs/file", 104).await.unwrap(), Lane::Mine);
    }

    /// GIVEN a holder that gave up before its send was confirmed WHEN the
    /// file claims THEN it takes the event over; GIVEN one whose send was
    /// recorded before a later step failed THEN it keeps it.
    #[tokio::test]
    async fn a_holder_that_gave_up_is_taken_over_unless_it_may_have_sent() {
        let store = MemoryStore::default();
        let (ledger, claims) = (Ledger::new(store.clone(), STATE), EventClaims::new(store.clone(), STATE));
        let mut quiet = entry(&ledger, "ev-2", 1_000).await;
        claims.claim("ev-2", "root", quiet.key(), 100).await.unwrap();
        ledger.release(&mut quiet, 101).await.unwrap();
        let mut file = match ledger.claim("logs", "file", None, "f", 1_000, 100).await.unwrap() {
            Claim::Go(entry) => entry,
            Claim::Duplicate => panic!("duplicate"),
        };
        assert_eq!(claims.claim("ev-2", "root", file.key(), 102).await.unwrap(), Lane::Mine);
        ledger.finish(&mut file, 1, 1, 102).await.unwrap();
        let back = claims.claim("ev-2", "root", quiet.key(), 103).await.unwrap();
        assert_eq!(back, Lane::Theirs("markers/logs/file".into()), "the retry of the gone job steps aside");

        let mut sent = entry(&ledger, "ev-3", 1_000).await;
        claims.claim("ev-3", "root", sent.key(), 100).await.unwrap();
        ledger.intend(&mut sent, &["sns:root|arn:aws:iam::1:root".into()]).await.unwrap();
        ledger.record(&mut sent, &["sns:root|arn:aws:iam::1:root".into()], &[]).await.unwrap();
        ledger.release(&mut sent, 101).await.unwrap();
        assert!(matches!(claims.claim("ev-3", "root", "markers/logs/file", 102).await.unwrap(), Lane::Theirs(_)));
    }

    /// GIVEN the state bucket failing WHEN claiming THEN the failure is the
    /// caller's (its job fails and is retried), never a silent `Mine`.
    #[tokio::test]
    async fn faults_fail_the_claim() {
        let store = MemoryStore::default();
        let claims = EventClaims::new(store.clone(), STATE);
        store.fail("put", "lanes/", FailureKind::Transient, 1);
        assert_eq!(claims.claim("ev-4", "root", "m", 100).await.unwrap_err().kind, FailureKind::Transient);
        assert_eq!(claims.claim("ev-4", "root", "m", 100).await.unwrap(), Lane::Mine);
    }
}
