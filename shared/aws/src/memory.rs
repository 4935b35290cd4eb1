//! In-memory stand-ins for the ports, with fault injection, for unit tests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use trailwatch_core::alert::Alert;

use crate::output::{Message, Output, Sent};
use crate::ports::{Condition, Failure, FailureKind, Listed, Object, ObjectStore, PublicKey, PublicKeySource, Result};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fault: the next `times` operations named `op` ("get", "put", "delete",
/// "list") on keys containing `needle` fail with `kind`.
#[derive(Debug, Clone)]
struct Fault {
    op: &'static str,
    needle: String,
    kind: FailureKind,
    /// Matching operations that still succeed before the fault starts.
    skip: usize,
    times: usize,
}

/// (bucket, key) to a value.
type ByObject<T> = Arc<Mutex<BTreeMap<(String, String), T>>>;

/// Buckets in a map. Clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: ByObject<Vec<u8>>,
    etags: ByObject<String>,
    metadata: ByObject<HashMap<String, String>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    broken_bodies: Arc<Mutex<Vec<BrokenBody>>>,
    writes: Arc<std::sync::atomic::AtomicU64>,
}

/// Bodies that break after so many bytes: (key needle, bytes, times, with
/// an error (or by ending early)).
type BrokenBody = (String, usize, usize, bool);

/// A body that fails after some bytes, like a dropped connection.
struct Breaking {
    data: Cursor<Vec<u8>>,
    left: usize,
    error: bool,
}

impl std::io::Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 && self.error {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected: connection reset"));
        }
        let n = buf.len().min(self.left);
        let read = self.data.read(&mut buf[..n])?;
        self.left -= read;
        Ok(read)
    }
}

impl MemoryStore {
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        let slot = (bucket.to_string(), key.to_string());
        lock(&self.etags).insert(slot.clone(), self.next_etag());
        lock(&self.objects).insert(slot, body.into());
    }

    /// Every write gets a new ETag, as in S3 (content alone would repeat).
    fn next_etag(&self) -> String {
        format!("\"w{}\"", self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
    }

    /// Makes the next `times` bodies of keys containing `needle` fail after `bytes` bytes.
    pub fn break_body(&self, needle: &str, bytes: usize, times: usize) {
        lock(&self.broken_bodies).push((needle.to_string(), bytes, times, true));
    }

    /// Makes the next `times` bodies of keys containing `needle` end, without
    /// an error, after `bytes` bytes (the announced size stays the whole).
    pub fn cut_body(&self, needle: &str, bytes: usize, times: usize) {
        lock(&self.broken_bodies).push((needle.to_string(), bytes, times, false));
    }

    /// Inserts an object with a given ETag (as S3 returns it, quoted).
    pub fn insert_with_etag(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>, etag: &str) {
        self.insert(bucket, key, body);
        lock(&self.etags).insert((bucket.to_string(), key.to_string()), etag.to_string());
    }

    /// Removes an object (as if someone deleted it).
    pub fn remove(&self, bucket: &str, key: &str) {
        lock(&self.objects).remove(&(bucket.to_string(), key.to_string()));
    }

    /// Sets an object's user metadata (as `x-amz-meta-*` without the prefix).
    pub fn set_metadata(&self, bucket: &str, key: &str, metadata: &[(&str, &str)]) {
        let map = metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        lock(&self.metadata).insert((bucket.to_string(), key.to_string()), map);
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(&(bucket.to_string(), key.to_string())).cloned()
    }

    pub fn keys(&self, bucket: &str) -> Vec<String> {
        lock(&self.objects).keys().filter(|(b, _)| b == bucket).map(|(_, k)| k.clone()).collect()
    }

    /// Makes the next `times` `op` calls on keys containing `needle` fail.
    pub fn fail(&self, op: &'static str, needle: &str, kind: FailureKind, times: usize) {
        lock(&self.faults).push(Fault { op, needle: needle.to_string(), kind, skip: 0, times });
    }

    /// Like [`MemoryStore::fail`], after `skip` matching calls have succeeded
    /// (e.g. the third write of a ledger entry).
    pub fn fail_after(&self, op: &'static str, needle: &str, kind: FailureKind, skip: usize, times: usize) {
        lock(&self.faults).push(Fault { op, needle: needle.to_string(), kind, skip, times });
    }

    /// One write, checked and applied under one lock (as S3 does atomically).
    fn write(&self, bucket: &str, key: &str, body: Vec<u8>, condition: Option<Condition>) -> Result<String> {
        let mut objects = lock(&self.objects);
        let mut etags = lock(&self.etags);
        let slot = (bucket.to_string(), key.to_string());
        let unquote = |e: &str| e.trim_matches('"').to_string();
        let allowed = match &condition {
            None => true,
            Some(Condition::Absent) => !objects.contains_key(&slot),
            Some(Condition::Matches(want)) => {
                objects.contains_key(&slot) && etags.get(&slot).map(|e| unquote(e)) == Some(unquote(want))
            }
        };
        if !allowed {
            return Err(Failure::new(
                FailureKind::PreconditionFailed,
                format!("s3://{bucket}/{key}: {condition:?} failed"),
            ));
        }
        let etag = self.next_etag();
        etags.insert(slot.clone(), etag.clone());
        objects.insert(slot, body);
        Ok(etag)
    }

    fn fault(&self, op: &str, key: &str) -> Result<()> {
        let mut faults = lock(&self.faults);
        if let Some(f) = faults.iter_mut().find(|f| f.op == op && key.contains(&f.needle) && f.times > 0) {
            if f.skip > 0 {
                f.skip -= 1;
                return Ok(());
            }
            f.times -= 1;
            return Err(Failure::new(f.kind, format!("injected {op} failure on {key}")));
        }
        Ok(())
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        self.fault("get", key)?;
        let body = self
            .object(bucket, key)
            .ok_or_else(|| Failure::new(FailureKind::NotFound, format!("s3://{bucket}/{key} not found")))?;
        let etag = lock(&self.etags).get(&(bucket.to_string(), key.to_string())).cloned();
        let metadata = lock(&self.metadata).get(&(bucket.to_string(), key.to_string())).cloned().unwrap_or_default();
        let size = Some(body.len() as u64);
        let mut broken = lock(&self.broken_bodies);
        let reader: crate::ports::Body = match broken.iter_mut().find(|(n, _, t, _)| key.contains(n.as_str()) && *t > 0)
        {
            Some((_, bytes, times, error)) => {
                *times -= 1;
                Box::new(Breaking { data: Cursor::new(body), left: *bytes, error: *error })
            }
            None => Box::new(Cursor::new(body)),
        };
        Ok(Object { etag, size, metadata, body: reader })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, only_if_absent: bool) -> Result<()> {
        self.fault("put", key)?;
        let condition = only_if_absent.then_some(Condition::Absent);
        self.write(bucket, key, body, condition).map(drop)
    }

    async fn put_if(&self, bucket: &str, key: &str, body: Vec<u8>, condition: Condition) -> Result<String> {
        self.fault("put", key)?;
        self.write(bucket, key, body, Some(condition))
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.fault("delete", key)?;
        lock(&self.objects).remove(&(bucket.to_string(), key.to_string()));
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>> {
        self.fault("list", prefix)?;
        Ok(lock(&self.objects)
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), v)| Listed { key: k.clone(), size: v.len() as u64 })
            .collect())
    }

    async fn list_prefixes(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        self.fault("list", prefix)?;
        let mut out: Vec<String> = lock(&self.objects)
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .filter_map(|(_, k)| k[prefix.len()..].find('/').map(|i| k[..prefix.len() + i + 1].to_string()))
            .collect();
        out.dedup();
        Ok(out)
    }
}

/// A message a [`MemorySink`] took, rendered as the SNS output renders it.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub delivery_id: String,
    pub subject: String,
    pub body: String,
    pub attributes: Vec<(String, String)>,
    pub alert: Alert,
    /// When it was taken (milliseconds since the epoch).
    pub at_millis: u64,
}

/// An output that keeps what it is sent. Clones share the same list.
#[derive(Debug, Clone)]
pub struct MemorySink {
    name: &'static str,
    batch: usize,
    published: Arc<Mutex<Vec<Published>>>,
    failures: Arc<Mutex<usize>>,
    /// Per-alert failures: (alert id needle, kind, times).
    entry_faults: Arc<Mutex<Vec<(String, FailureKind, usize)>>>,
}

impl Default for MemorySink {
    /// Named `sns`, taking 10 messages a call, like the SNS output.
    fn default() -> Self {
        MemorySink::named("sns", 10)
    }
}

impl MemorySink {
    /// A sink standing in for the output `name`.
    pub fn named(name: &'static str, batch: usize) -> Self {
        MemorySink { name, batch, published: Arc::default(), failures: Arc::default(), entry_faults: Arc::default() }
    }

    pub fn published(&self) -> Vec<Published> {
        lock(&self.published).clone()
    }

    /// Makes the next `calls` send calls fail as a whole (transient).
    pub fn fail_next(&self, calls: usize) {
        *lock(&self.failures) = calls;
    }

    /// Makes the next `times` sends of alerts whose id contains `needle`
    /// fail alone in their batch (as `PublishBatch` reports it).
    pub fn fail_entry(&self, needle: &str, kind: FailureKind, times: usize) {
        lock(&self.entry_faults).push((needle.to_string(), kind, times));
    }

    fn take(&self, messages: &[Message]) -> Result<Vec<Result<()>>> {
        {
            let mut failures = lock(&self.failures);
            if *failures > 0 {
                *failures -= 1;
                return Err(Failure::new(FailureKind::Transient, "injected send failure"));
            }
        }
        let mut faults = lock(&self.entry_faults);
        let mut results = Vec::new();
        let at_millis =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        for message in messages {
            let alert = &message.alert;
            match faults.iter_mut().find(|(n, _, t)| alert.id.contains(n.as_str()) && *t > 0) {
                Some((_, kind, times)) => {
                    *times -= 1;
                    results.push(Err(Failure::new(*kind, format!("injected failure of alert {}", alert.id))));
                }
                None => {
                    let email = crate::output::sns::render(alert);
                    lock(&self.published).push(Published {
                        id: alert.id.clone(),
                        delivery_id: message.delivery_id.clone(),
                        subject: email.subject,
                        body: email.body,
                        attributes: email.attributes,
                        alert: alert.clone(),
                        at_millis,
                    });
                    results.push(Ok(()));
                }
            }
        }
        Ok(results)
    }
}

impl Output for MemorySink {
    fn name(&self) -> &str {
        self.name
    }

    fn max_batch(&self) -> usize {
        self.batch
    }

    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a> {
        let result = self.take(messages);
        Box::pin(async move { result })
    }
}

/// A fixed set of public keys; counts the calls (to test caching).
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    keys: Arc<Mutex<Vec<PublicKey>>>,
    calls: Arc<Mutex<usize>>,
}

impl StaticKeys {
    pub fn new(keys: Vec<PublicKey>) -> Self {
        StaticKeys { keys: Arc::new(Mutex::new(keys)), calls: Arc::default() }
    }

    /// Adds a key (a rotation).
    pub fn add(&self, key: PublicKey) {
        lock(&self.keys).push(key);
    }

    pub fn calls(&self) -> usize {
        *lock(&self.calls)
    }
}

impl PublicKeySource for StaticKeys {
    fn public_keys<'a>(
        &'a self,
        _region: &'a str,
        _start: i64,
        _end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PublicKey>>> + Send + 'a>> {
        *lock(&self.calls) += 1;
        let keys = lock(&self.keys).clone();
        Box::pin(async move { Ok(keys) })
    }
}
