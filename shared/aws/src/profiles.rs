//! First-seen profiles in a store: the [`ProfileStore`] port (DynamoDB in
//! [`crate::dynamo`], [`MemoryProfiles`] for tests), and [`Profiles`], which
//! settles a log file's batch against it with a per-invocation cache.
//!
//! A batch is settled before its alerts are sent: each value new to a
//! profile is added with a conditional write that only one invocation wins
//! (absent, aged out, or added by this same file before), and only the
//! winner alerts. A retry of the file finds its own values and alerts again,
//! with the same alert ids, which the ledger has already settled; a second
//! file with the same new value finds it added and alerts nothing. Known
//! values cost reads: their last-seen time is written again only once it
//! moved a day ([`trailwatch_core::profile::LAST_SEEN_STEP_SECS`]).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;
use trailwatch_core::profile::batch::{Candidate, Plan, Write};
use trailwatch_core::profile::report::NewThisPeriod;
use trailwatch_core::profile::{Batch, Book, Profile, ProfileId};

use crate::ports::{Failure, FailureKind, Result};

/// Where profiles are kept.
pub trait ProfileStore: Send + Sync {
    /// The stored profiles among `ids` (absent ones are left out).
    fn get(&self, ids: &[ProfileId]) -> impl Future<Output = Result<Vec<(ProfileId, Profile)>>> + Send;

    /// One write, with its condition; `false` when the condition failed (an
    /// add another batch won, a touch of a value that is gone).
    fn write(&self, write: &Write) -> impl Future<Output = Result<bool>> + Send;
}

/// Profiles one invocation keeps in its cache; past it the cache starts over.
pub const MAX_CACHED: usize = 100_000;

/// The stores the detection function can be given.
#[derive(Clone)]
pub enum AnyProfiles {
    Memory(MemoryProfiles),
    Dynamo(crate::dynamo::DynamoProfiles),
}

impl ProfileStore for AnyProfiles {
    async fn get(&self, ids: &[ProfileId]) -> Result<Vec<(ProfileId, Profile)>> {
        match self {
            AnyProfiles::Memory(m) => m.get(ids).await,
            AnyProfiles::Dynamo(d) => d.get(ids).await,
        }
    }

    async fn write(&self, write: &Write) -> Result<bool> {
        match self {
            AnyProfiles::Memory(m) => m.write(write).await,
            AnyProfiles::Dynamo(d) => d.write(write).await,
        }
    }
}

/// A batch settled: the matches that alert (with when their key was first
/// seen), and what it cost.
#[derive(Debug, Default)]
pub struct Settled {
    pub alerts: Vec<(Candidate, i64)>,
    /// New values still learning.
    pub learning: usize,
    /// Profiles read from the store (not from the cache).
    pub reads: usize,
    /// Writes made.
    pub writes: usize,
    /// Adds another batch won.
    pub lost: usize,
    /// The principals, regions and networks this batch added, for the summary.
    pub news: NewThisPeriod,
}

/// A store with a cache that lives as long as this value: one invocation.
pub struct Profiles<P> {
    store: P,
    /// Profiles read or written by this invocation; `None`: absent.
    cache: AsyncMutex<HashMap<ProfileId, Option<Profile>>>,
}

impl<P: ProfileStore> Profiles<P> {
    pub fn new(store: P) -> Profiles<P> {
        Profiles { store, cache: AsyncMutex::new(HashMap::new()) }
    }

    pub fn store(&self) -> &P {
        &self.store
    }

    /// Starts an invocation: the cache is emptied.
    pub async fn clear(&self) {
        self.cache.lock().await.clear();
    }

    /// Settles `batch` (see the module docs).
    pub async fn settle(&self, batch: &Batch) -> Result<Settled> {
        let mut settled = Settled::default();
        if batch.is_empty() {
            return Ok(settled);
        }
        let mut cache = self.cache.lock().await;
        if cache.len() > MAX_CACHED {
            cache.clear();
        }
        let missing: Vec<ProfileId> = batch.profile_ids().into_iter().filter(|id| !cache.contains_key(id)).collect();
        if !missing.is_empty() {
            settled.reads = missing.len();
            let found: HashMap<ProfileId, Profile> = self.store.get(&missing).await?.into_iter().collect();
            for id in missing {
                let profile = found.get(&id).cloned();
                cache.insert(id, profile);
            }
        }
        let plan: Plan = batch.plan(|id| cache.get(id).and_then(Option::as_ref));
        let absent: BTreeSet<ProfileId> =
            plan.writes.iter().map(Write::profile).filter(|id| matches!(cache.get(*id), Some(None))).cloned().collect();
        let mut applied = Vec::with_capacity(plan.writes.len());
        let mut book = Book::default();
        for write in &plan.writes {
            let done = self.store.write(write).await?;
            settled.writes += 1;
            applied.push(done);
            let id = write.profile().clone();
            if done {
                // The cache follows the write, as the store made it.
                book.restore(id.clone(), cache.get(&id).cloned().flatten());
                book.write(write);
                cache.insert(id.clone(), book.get(&id).cloned());
            } else {
                settled.lost += usize::from(matches!(write, Write::Add { .. }));
                cache.remove(&id);
            }
        }
        settled.learning = plan.learning();
        settled.news = NewThisPeriod::of_plan(&plan, &applied, |id| absent.contains(id));
        settled.alerts = plan.alerts(&applied).map(|(c, since)| (c.clone(), since)).collect();
        Ok(settled)
    }
}

/// Profiles in memory, with the store's conditions, and fault injection.
#[derive(Clone, Default)]
pub struct MemoryProfiles {
    book: Arc<Mutex<Book>>,
    /// The next writes to fail with this kind: (kind, how many).
    faults: Arc<Mutex<Vec<FailureKind>>>,
    /// Calls made: gets, writes.
    pub calls: Arc<Mutex<(usize, usize)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryProfiles {
    /// Starts from a book (an imported profile file).
    pub fn with(book: Book) -> MemoryProfiles {
        MemoryProfiles { book: Arc::new(Mutex::new(book)), ..Default::default() }
    }

    /// Makes the next `times` writes fail with `kind`.
    pub fn fail_writes(&self, kind: FailureKind, times: usize) {
        lock(&self.faults).extend(std::iter::repeat_n(kind, times));
    }

    pub fn book(&self) -> Book {
        lock(&self.book).clone()
    }
}

impl ProfileStore for MemoryProfiles {
    async fn get(&self, ids: &[ProfileId]) -> Result<Vec<(ProfileId, Profile)>> {
        lock(&self.calls).0 += 1;
        let book = lock(&self.book);
        let wanted: BTreeSet<&ProfileId> = ids.iter().collect();
        Ok(wanted.into_iter().filter_map(|id| book.get(id).map(|p| (id.clone(), p.clone()))).collect())
    }

    async fn write(&self, write: &Write) -> Result<bool> {
        lock(&self.calls).1 += 1;
        if let Some(kind) = lock(&self.faults).pop() {
            return Err(Failure::new(kind, format!("injected write failure on {}", write.profile().key)));
        }
        Ok(lock(&self.book).write(write))
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub profiles: usize,
    /// Values written.
    pub values: usize,
    /// Values the store had already (kept as they are).
    pub kept: usize,
}

/// Seeds a store from a profile file (`trailwatch scan --profiles` over a
/// copy of past logs): each key's first and last times, and every value
/// the store does not have yet. Live values are never overwritten, so an
/// import can run while the function works, and again.
pub async fn import<P: ProfileStore>(store: &P, book: &Book) -> Result<Imported> {
    let mut done = Imported::default();
    for (id, profile) in book.iter() {
        done.profiles += 1;
        if id.dimension == trailwatch_core::profile::SEEN {
            let seen =
                trailwatch_core::profile::Seen { first: profile.since, last: profile.last, origin: String::new() };
            store.write(&Write::Key { profile: id.clone(), seen }).await?;
            continue;
        }
        for (value, seen) in &profile.values {
            let seen = trailwatch_core::profile::Seen { origin: String::new(), ..seen.clone() };
            let add = Write::Add {
                profile: id.clone(),
                value: value.clone(),
                seen,
                stale_before: i64::MIN,
                evict: Vec::new(),
            };
            if store.write(&add).await? {
                done.values += 1;
            } else {
                done.kept += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_core::profile::{ProfileId, Seen};

    #[tokio::test]
    async fn given_a_profile_file_when_imported_twice_then_values_are_seeded_once_and_live_ones_kept() {
        let mut book = Book::default();
        let id = ProfileId::new("111122223333|user/alice", "network");
        let add = |value: &str, first: i64| Write::Add {
            profile: id.clone(),
            value: value.into(),
            seen: Seen { first, last: first, origin: String::new() },
            stale_before: i64::MIN,
            evict: Vec::new(),
        };
        book.write(&Write::Key { profile: ProfileId::seen("111122223333|user/alice"), seen: Seen::at(100) });
        book.write(&add("192.0.2.0/24", 100));
        book.write(&add("198.51.100.0/24", 200));
        let store = MemoryProfiles::default();
        store.write(&add("198.51.100.0/24", 5_000)).await.unwrap();
        let first = import(&store, &book).await.unwrap();
        assert_eq!(first, Imported { profiles: 2, values: 1, kept: 1 });
        let stored = store.book();
        assert_eq!(stored.get(&id).unwrap().values["198.51.100.0/24"].first, 5_000, "the live value is kept");
        assert_eq!(stored.get(&ProfileId::seen("111122223333|user/alice")).unwrap().since, 100);
        assert_eq!(import(&store, &book).await.unwrap(), Imported { profiles: 2, values: 0, kept: 2 });
    }
}
