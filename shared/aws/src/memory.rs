//! In-memory stand-ins for the ports, with fault injection, for unit tests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use trailwatch_core::alert::Alert;

use crate::ports::{AlertSink, Failure, FailureKind, Listed, Object, ObjectStore, PublicKey, PublicKeySource, Result};

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
}

impl MemoryStore {
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        lock(&self.objects).insert((bucket.to_string(), key.to_string()), body.into());
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
        lock(&self.faults).push(Fault { op, needle: needle.to_string(), kind, times });
    }

    fn fault(&self, op: &str, key: &str) -> Result<()> {
        let mut faults = lock(&self.faults);
        if let Some(f) = faults.iter_mut().find(|f| f.op == op && key.contains(&f.needle) && f.times > 0) {
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
        let etag = lock(&self.etags)
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .unwrap_or_else(|| format!("\"{:x}\"", body.len() * 31 + body.first().copied().unwrap_or(0) as usize));
        let metadata = lock(&self.metadata).get(&(bucket.to_string(), key.to_string())).cloned().unwrap_or_default();
        Ok(Object { etag: Some(etag), size: Some(body.len() as u64), metadata, body: Box::new(Cursor::new(body)) })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, only_if_absent: bool) -> Result<()> {
        self.fault("put", key)?;
        let mut objects = lock(&self.objects);
        let slot = (bucket.to_string(), key.to_string());
        if only_if_absent && objects.contains_key(&slot) {
            return Err(Failure::new(FailureKind::PreconditionFailed, format!("s3://{bucket}/{key} exists")));
        }
        objects.insert(slot, body);
        Ok(())
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

/// Keeps what was published. Clones share the same list.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    published: Arc<Mutex<Vec<Alert>>>,
    failures: Arc<Mutex<usize>>,
}

impl MemorySink {
    pub fn published(&self) -> Vec<Alert> {
        lock(&self.published).clone()
    }

    /// Makes the next `calls` publish calls fail as a whole (transient).
    pub fn fail_next(&self, calls: usize) {
        *lock(&self.failures) = calls;
    }
}

impl AlertSink for MemorySink {
    async fn publish(&self, alerts: &[Alert]) -> Result<Vec<Result<()>>> {
        {
            let mut failures = lock(&self.failures);
            if *failures > 0 {
                *failures -= 1;
                return Err(Failure::new(FailureKind::Transient, "injected publish failure"));
            }
        }
        lock(&self.published).extend_from_slice(alerts);
        Ok(vec![Ok(()); alerts.len()])
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
