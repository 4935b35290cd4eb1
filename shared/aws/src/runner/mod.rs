//! The exactly-once runner: every job (a log file, a digest, a dedup
//! follow-up, a summary) goes through the same life cycle.
//!
//! 1. **claim** the job's ledger entry ([`crate::ledger`]): a `done` entry
//!    means the work was done already ([`Ran::Duplicate`]); a live claim of
//!    another invocation fails this one (retryable);
//! 2. **work**: the job reads and checks ([`Job::work`]); it may settle ids
//!    in the entry as it goes ([`Held`]), so a retry counts them once;
//! 3. **deliver** its alerts to every output through the entry
//!    ([`crate::output::deliver`]): each batch written down before it is
//!    sent and its outcome after;
//! 4. **write** its side records (statistics shards, integrity records) in
//!    the state bucket, built from the entry as delivery left it;
//! 5. **finish**: the entry says `done`.
//!
//! However steps 2 to 5 end short of `done` (an error, or a subject that
//! vanished), the claim is given back in one place, [`Runner::run`], so a
//! retry need not wait for the lease; a give-back that fails is logged, and
//! the claim then lapses at the lease. The guarantee and its one remaining
//! window are those of [`crate::ledger`].

mod error;

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{info, warn};
use trailwatch_core::alert::Alert;

pub use self::error::{settle, JobError, Retry};
use crate::ledger::{Claim, Entry, Ledger, Marker};
use crate::output::deliver::Delivery;
use crate::output::Outputs;
use crate::ports::{Failure, ObjectStore};
use crate::rate::RateLimiter;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The ledger entry a run claims: the one of `bucket/key` (version `etag`),
/// held by `owner` until `lease` (seconds since the epoch).
#[derive(Debug, Clone)]
pub struct Ticket {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub owner: String,
    pub lease: u64,
}

impl Ticket {
    /// The entry of `bucket/key`, any version, for an owner of its own (this
    /// attempt: a live claim of any other attempt makes it back off).
    pub fn new(bucket: impl Into<String>, key: impl Into<String>, lease: u64) -> Ticket {
        Ticket {
            bucket: bucket.into(),
            key: key.into(),
            etag: None,
            owner: format!("{:016x}", fastrand::u64(..)),
            lease,
        }
    }

    /// About this version of the object only (a new version starts over).
    pub fn version(mut self, etag: Option<String>) -> Ticket {
        self.etag = etag;
        self
    }

    /// Held by `owner`: a claim of the same owner is taken over at once.
    pub fn owner(mut self, owner: impl Into<String>) -> Ticket {
        self.owner = owner.into();
        self
    }
}

/// The claimed entry, as a job sees it while it works.
pub struct Held<'a, S> {
    ledger: &'a Ledger<S>,
    entry: &'a mut Entry,
}

impl<S: ObjectStore> Held<'_, S> {
    /// Whether an earlier attempt settled `id` (sent, or folded).
    pub fn settled(&self, id: &str) -> bool {
        self.entry.marker.settled(id)
    }

    /// The entry's key in the state bucket: names this job to the other lane
    /// ([`crate::lanes`]).
    pub fn entry_key(&self) -> &str {
        self.entry.key()
    }

    /// Records `ids` as settled, so that a retry does not count them again.
    pub async fn settle(&mut self, ids: &[String]) -> Result<(), Failure> {
        self.ledger.record(self.entry, ids, &[]).await
    }
}

/// An object a job writes in the state bucket after its alerts are out.
#[derive(Debug, Clone)]
pub struct SideRecord {
    pub key: String,
    /// What it is, in errors: "statistics shard".
    pub what: &'static str,
    pub body: Vec<u8>,
}

impl SideRecord {
    /// `value` as JSON at `key`.
    pub fn json<T: serde::Serialize>(key: String, what: &'static str, value: &T) -> Result<SideRecord, JobError> {
        Ok(SideRecord { key, what, body: JobError::encode(what, value)? })
    }
}

/// Builds the side records from the entry as delivery left it (a shard
/// counts the alerts refused for good).
pub type Records = Box<dyn FnOnce(&Marker) -> Result<Vec<SideRecord>, JobError> + Send>;

/// What a job's work came to.
pub enum Work<O> {
    /// The subject vanished before it was read: nothing is sent or written,
    /// the claim is given back (a re-upload is processed) and the run ends
    /// with `O`.
    Gone(O),
    /// Alerts to deliver, records to write, then done.
    Deliver(Batch<O>),
}

/// Alerts to deliver, the side records to write after them, the counts the
/// entry keeps, and what the run returns.
pub struct Batch<O> {
    pub alerts: Vec<Alert>,
    pub records: Records,
    /// Records read and findings made, kept in the `done` entry.
    pub counts: (u64, u64),
    pub outcome: O,
}

impl<O> Batch<O> {
    pub fn new(alerts: Vec<Alert>, outcome: O) -> Batch<O> {
        Batch { alerts, records: Box::new(|_| Ok(Vec::new())), counts: (0, 0), outcome }
    }

    pub fn counting(mut self, records: u64, findings: u64) -> Batch<O> {
        self.counts = (records, findings);
        self
    }

    /// Writes `record` after delivery.
    pub fn writing(self, record: SideRecord) -> Batch<O> {
        self.writing_after(move |_| Ok(vec![record]))
    }

    /// Writes what `records` builds from the entry once delivery is over.
    pub fn writing_after(
        mut self,
        records: impl FnOnce(&Marker) -> Result<Vec<SideRecord>, JobError> + Send + 'static,
    ) -> Batch<O> {
        self.records = Box::new(records);
        self
    }
}

impl<O> From<Batch<O>> for Work<O> {
    fn from(batch: Batch<O>) -> Work<O> {
        Work::Deliver(batch)
    }
}

/// One kind of work an invocation can be asked to do.
pub trait Job<S>: Sync {
    /// What a finished (or vanished) job reports.
    type Outcome: Send;

    /// Reads and checks, before anything is sent (see the module docs).
    fn work(&self, held: &mut Held<'_, S>) -> impl Future<Output = Result<Work<Self::Outcome>, JobError>> + Send;
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran<O> {
    /// The entry said `done`: nothing was done again.
    Duplicate,
    Done(O),
}

/// The ledger, the outputs and the rate cap, over one state bucket.
#[derive(Clone)]
pub struct Runner<S> {
    store: S,
    bucket: String,
    ledger: Ledger<S>,
    limiter: RateLimiter<S>,
    outputs: Outputs,
}

impl<S: ObjectStore + Clone> Runner<S> {
    pub fn new(store: S, state_bucket: impl Into<String>, outputs: impl Into<Outputs>) -> Runner<S> {
        let bucket = state_bucket.into();
        Runner {
            ledger: Ledger::new(store.clone(), bucket.clone()),
            limiter: RateLimiter::new(store.clone(), bucket.clone()),
            store,
            bucket,
            outputs: outputs.into(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn state_bucket(&self) -> &str {
        &self.bucket
    }

    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// Runs `job` under the entry of `ticket`, exactly once (see the module docs).
    pub async fn run<J: Job<S>>(&self, ticket: Ticket, job: &J) -> Result<Ran<J::Outcome>, JobError> {
        let claimed = self.ledger.claim(&ticket.bucket, &ticket.key, ticket.etag, &ticket.owner, ticket.lease, now());
        let mut entry = match claimed.await.map_err(|f| JobError::call("claiming its ledger entry failed", f))? {
            Claim::Go(entry) => entry,
            Claim::Duplicate => return Ok(Ran::Duplicate),
        };
        let result = self.carry(&mut entry, job).await;
        // The one place a claim is given back: every way short of `done`.
        if !matches!(result, Ok((_, true))) {
            let why = result.as_ref().err().map_or_else(|| "its subject is gone".to_string(), ToString::to_string);
            self.give_back(&mut entry, &why).await;
        }
        result.map(|(outcome, _)| Ran::Done(outcome))
    }

    /// Steps 2 to 5; `true` with the outcome once the entry says `done`.
    async fn carry<J: Job<S>>(&self, entry: &mut Entry, job: &J) -> Result<(J::Outcome, bool), JobError> {
        let batch = match job.work(&mut Held { ledger: &self.ledger, entry }).await? {
            Work::Gone(outcome) => return Ok((outcome, false)),
            Work::Deliver(batch) => batch,
        };
        let delivery = Delivery { ledger: &self.ledger, limiter: &self.limiter, outputs: &self.outputs };
        delivery.deliver(entry, &batch.alerts).await.map_err(JobError::Delivery)?;
        for record in (batch.records)(&entry.marker)? {
            let written = self.store.put(&self.bucket, &record.key, record.body, false).await;
            written.map_err(|f| JobError::call(format!("writing the {} failed", record.what), f))?;
        }
        let (records, findings) = batch.counts;
        self.ledger
            .finish(entry, records, findings, now())
            .await
            .map_err(|f| JobError::call("marking the object done failed (a retry sends nothing again)", f))?;
        info!(entry = entry.key(), alerts = batch.alerts.len(), rejected_alerts = entry.marker.rejected.len(), "done");
        Ok((batch.outcome, true))
    }

    /// Hands the entry back for a retry (what was recorded stays).
    async fn give_back(&self, entry: &mut Entry, why: &str) {
        if let Err(f) = self.ledger.release(entry, now()).await {
            warn!(
                entry = entry.key(),
                why,
                error = %f.message,
                "could not give the claim back; a retry takes it over once this invocation's lease has passed"
            );
        }
    }
}
