//! The exactly-once ledger: one small JSON object per announced S3 object
//! (`markers/<bucket>/<key>` in the state bucket), changed only by
//! conditional writes, so two invocations can never both believe they own
//! an object, and every alert is written down *before* it is published.
//!
//! The life of an entry:
//!
//! 1. [`Ledger::claim`]: created with `If-None-Match: *`. If it exists: a
//!    `done` entry for the same object version is a duplicate delivery; a
//!    live claim (its lease runs until the claiming invocation's deadline)
//!    makes this invocation back off; anything else (a lapsed claim, a
//!    `partial` entry, a new version of the object) is taken over with
//!    `If-Match` on the entry's ETag, so of two concurrent takeovers one wins.
//! 2. [`Ledger::intend`] before each `PublishBatch`: the alert ids about to
//!    be sent. [`Ledger::record`] after it: which were sent, which SNS
//!    refused for good (sender faults), each a conditional write.
//! 3. [`Ledger::finish`]: `done`. [`Ledger::release`] on a failure a retry can
//!    fix: `partial`, lease over, so the retry need not wait.
//!
//! **The remaining window.** An alert is uncertain only when an invocation
//! stops after SNS accepted its batch and before `record` was written (a
//! crash, a timeout, or S3 refusing that write). The retry sends those
//! alerts (intended, not recorded) again, marked as possible repeats: at most
//! one batch (10 messages) per object per such failure. Nothing is lost;
//! nothing else is sent twice.

use serde::{Deserialize, Serialize};

use crate::ports::{get_json, Condition, Failure, FailureKind, ObjectStore, Result};
use crate::state::marker_key;

/// Where an object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkerState {
    /// An invocation is working on it until `lease`.
    Claimed,
    /// An attempt stopped; a retry takes it over.
    Partial,
    /// Alerts published (or refused for good) and statistics written.
    Done,
}

/// An alert SNS refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub id: String,
    pub reason: String,
}

/// The ledger entry of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub state: MarkerState,
    /// The object version (its ETag) this entry is about.
    pub etag: Option<String>,
    /// Seconds since the Unix epoch: for `claimed`, when the claim lapses;
    /// otherwise when it was written.
    pub at: u64,
    /// Who holds the claim (the invocation's request id).
    #[serde(default)]
    pub owner: String,
    /// Alert ids written down before a `PublishBatch`.
    #[serde(default)]
    pub intended: Vec<String>,
    /// Alert ids SNS accepted.
    #[serde(default)]
    pub published: Vec<String>,
    /// Alerts SNS refused for good.
    #[serde(default)]
    pub rejected: Vec<Rejected>,
    #[serde(default)]
    pub records: u64,
    #[serde(default)]
    pub findings: u64,
}

impl Marker {
    /// Intended before an earlier attempt stopped, with no word of the outcome.
    pub fn uncertain(&self) -> Vec<String> {
        self.intended
            .iter()
            .filter(|id| !self.published.contains(id) && !self.rejected.iter().any(|r| &r.id == *id))
            .cloned()
            .collect()
    }

    /// Whether an alert of `rule` was sent, or folded into a dedup window
    /// (ids `<output>:<rule>|<principal>`, `fold:<rule>|<principal>`). One
    /// only written down as intended may or may not have gone out.
    pub fn settled_rule(&self, rule: &str) -> bool {
        self.published.iter().any(|id| {
            id.split_once(':').and_then(|(_, alert)| alert.strip_prefix(rule)).is_some_and(|rest| rest.starts_with('|'))
        })
    }

    /// Published or refused for good: not to be sent again.
    pub fn settled(&self, id: &str) -> bool {
        self.published.iter().any(|p| p == id) || self.rejected.iter().any(|r| r.id == id)
    }
}

/// An entry this invocation holds: its content and the ETag to update it with.
#[derive(Debug, Clone)]
pub struct Entry {
    key: String,
    version: String,
    pub marker: Marker,
}

impl Entry {
    /// The entry's key in the state bucket: names what it is about.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The outcome of a claim.
#[derive(Debug)]
pub enum Claim {
    /// This invocation owns the object.
    Go(Entry),
    /// Already done for this version of the object.
    Duplicate,
}

/// The ledger in a state bucket.
#[derive(Debug, Clone)]
pub struct Ledger<S> {
    store: S,
    bucket: String,
}

/// The entry as JSON. An entry that would not serialize is never written
/// (an empty body would read as a corrupt entry).
fn body(marker: &Marker) -> Result<Vec<u8>> {
    serde_json::to_vec(marker)
        .map_err(|e| Failure::new(FailureKind::Permanent, format!("a ledger entry would not serialize: {e}")))
}

impl<S: ObjectStore> Ledger<S> {
    pub fn new(store: S, bucket: impl Into<String>) -> Self {
        Ledger { store, bucket: bucket.into() }
    }

    /// Claims the entry of `bucket/key` (version `etag`) until `lease` (see
    /// the module docs). A live claim of another invocation is a transient
    /// failure: the caller fails and Lambda retries later.
    pub async fn claim(
        &self,
        bucket: &str,
        key: &str,
        etag: Option<String>,
        owner: &str,
        lease: u64,
        now: u64,
    ) -> Result<Claim> {
        let marker_key = marker_key(bucket, key);
        let fresh = Marker {
            state: MarkerState::Claimed,
            etag: etag.clone(),
            at: lease,
            owner: owner.to_string(),
            intended: Vec::new(),
            published: Vec::new(),
            rejected: Vec::new(),
            records: 0,
            findings: 0,
        };
        match self.store.put_if(&self.bucket, &marker_key, body(&fresh)?, Condition::Absent).await {
            Ok(version) => return Ok(Claim::Go(Entry { key: marker_key, version, marker: fresh })),
            Err(f) if f.kind == FailureKind::PreconditionFailed => {}
            Err(f) => return Err(f),
        }
        let (existing, version) = self.read(&marker_key).await?;
        let same_version = etag.is_none() || existing.etag.is_none() || existing.etag == etag;
        let mut next = match existing.state {
            MarkerState::Done if same_version => return Ok(Claim::Duplicate),
            MarkerState::Claimed if existing.at > now && existing.owner != owner => {
                return Err(Failure::new(FailureKind::Transient, "another invocation is processing this object"));
            }
            // A new version of the object: start over.
            _ if !same_version => fresh.clone(),
            _ => existing,
        };
        next.state = MarkerState::Claimed;
        next.at = lease;
        next.owner = owner.to_string();
        next.etag = etag.or(next.etag);
        let version = self.write(&marker_key, &next, version).await.map_err(|f| match f.kind {
            FailureKind::PreconditionFailed => {
                Failure::new(FailureKind::Transient, "another invocation took this object over first")
            }
            _ => f,
        })?;
        Ok(Claim::Go(Entry { key: marker_key, version, marker: next }))
    }

    async fn read(&self, key: &str) -> Result<(Marker, String)> {
        get_json(&self.store, &self.bucket, key, "a ledger entry").await
    }

    async fn write(&self, key: &str, marker: &Marker, version: String) -> Result<String> {
        self.store.put_if(&self.bucket, key, body(marker)?, Condition::Matches(version)).await
    }

    /// Updates the entry; fails if anyone else changed it since.
    async fn update(&self, entry: &mut Entry, change: impl FnOnce(&mut Marker)) -> Result<()> {
        let mut next = entry.marker.clone();
        change(&mut next);
        let version = self.write(&entry.key, &next, entry.version.clone()).await.map_err(|f| match f.kind {
            FailureKind::PreconditionFailed => Failure::new(FailureKind::Transient, "the ledger entry was taken over"),
            _ => f,
        })?;
        entry.version = version;
        entry.marker = next;
        Ok(())
    }

    /// Writes down the alerts about to be published.
    pub async fn intend(&self, entry: &mut Entry, ids: &[String]) -> Result<()> {
        self.update(entry, |m| {
            for id in ids {
                if !m.intended.contains(id) {
                    m.intended.push(id.clone());
                }
            }
        })
        .await
    }

    /// Writes down what SNS did with a batch.
    pub async fn record(&self, entry: &mut Entry, published: &[String], rejected: &[Rejected]) -> Result<()> {
        self.update(entry, |m| {
            m.published.extend(published.iter().cloned());
            m.rejected.extend(rejected.iter().cloned());
        })
        .await
    }

    /// Marks the object done.
    pub async fn finish(&self, entry: &mut Entry, records: u64, findings: u64, now: u64) -> Result<()> {
        self.update(entry, |m| {
            m.state = MarkerState::Done;
            m.at = now;
            m.records = records;
            m.findings = findings;
        })
        .await
    }

    /// Gives the object back for a retry (keeps what was recorded).
    pub async fn release(&self, entry: &mut Entry, now: u64) -> Result<()> {
        self.update(entry, |m| {
            m.state = MarkerState::Partial;
            m.at = now;
        })
        .await
    }
}
