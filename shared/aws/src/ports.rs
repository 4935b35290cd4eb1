//! The small traits the Lambda handlers are written against. Each has an AWS
//! SDK implementation ([`crate::s3`], [`crate::cloudtrail`]) and an in-memory
//! one ([`crate::memory`]) for tests; alert outputs are in [`crate::output`].

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::pin::Pin;

/// A streaming object body, read on a blocking thread.
pub type Body = Box<dyn Read + Send + 'static>;

/// Why a store or sink call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The object does not exist.
    NotFound,
    /// A conditional write found the object already there.
    PreconditionFailed,
    /// Throttling, a 5xx, a timeout, a dropped connection: try again.
    Transient,
    /// Anything else (access denied, bad request): retrying alone will not help.
    Permanent,
}

/// A failed call, with what went wrong in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure { kind, message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

/// An object opened for reading.
pub struct Object {
    pub etag: Option<String>,
    pub size: Option<u64>,
    /// User metadata (`x-amz-meta-*`, without the prefix): a digest's
    /// `signature` and `signature-algorithm`.
    pub metadata: HashMap<String, String>,
    pub body: Body,
}

/// The precondition of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: create, never overwrite.
    Absent,
    /// `If-Match: <etag>`: replace only the version that was read.
    Matches(String),
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// S3, or a stand-in.
pub trait ObjectStore: Send + Sync {
    /// Opens an object for streaming.
    fn get(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Object>> + Send;

    /// Reads a small object whole.
    fn get_small(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Vec<u8>>> + Send {
        async move {
            let object = self.get(bucket, key).await?;
            read_whole(object.body, &format!("s3://{bucket}/{key}")).await
        }
    }

    /// Writes an object; with `only_if_absent`, fails with
    /// [`FailureKind::PreconditionFailed`] when it already exists.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        only_if_absent: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Writes an object only if it is absent ([`Condition::Absent`]) or
    /// still has the given ETag ([`Condition::Matches`]); fails with
    /// [`FailureKind::PreconditionFailed`] otherwise. Returns the new ETag.
    fn put_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: Condition,
    ) -> impl Future<Output = Result<String>> + Send;

    fn delete(&self, bucket: &str, key: &str) -> impl Future<Output = Result<()>> + Send;

    /// Every object under a prefix (all pages).
    fn list(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<Listed>>> + Send;

    /// The "folders" one level below a prefix: `AWSLogs/` gives
    /// `AWSLogs/123456789012/`, ... (all pages).
    fn list_prefixes(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// One of CloudTrail's public keys: its fingerprint and DER bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub fingerprint: String,
    pub der: Vec<u8>,
}

/// CloudTrail's `ListPublicKeys`, or a stand-in. Object-safe (the handler
/// holds it as `Arc<dyn PublicKeySource>`).
pub trait PublicKeySource: Send + Sync {
    /// The keys of `region` (each region signs its own digests) valid at
    /// some time between `start` and `end` (seconds since the epoch).
    fn public_keys<'a>(
        &'a self,
        region: &'a str,
        start: i64,
        end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PublicKey>>> + Send + 'a>>;
}

/// Reads a (small) body to its end on a blocking thread, at most
/// [`MAX_WHOLE_BYTES`]; a failed read is transient (the stream dropped), an
/// object past the bound permanent. `what` names it in the error.
pub async fn read_whole(body: Body, what: &str) -> Result<Vec<u8>> {
    read_at_most(body, what, MAX_WHOLE_BYTES).await
}

/// The most any object is read whole: digests, ledger entries, statistics
/// shards, integrity records, threshold parts, summaries (the same bound as
/// a digest file in the CLI; all of them are kilobytes in practice).
pub const MAX_WHOLE_BYTES: u64 = trailwatch_core::limits::MAX_DIGEST_BYTES;

async fn read_at_most(body: Body, what: &str, limit: u64) -> Result<Vec<u8>> {
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        body.take(limit + 1).read_to_end(&mut bytes).map(|_| bytes)
    })
    .await
    .map_err(|e| Failure::new(FailureKind::Transient, e.to_string()))?
    .map_err(|e| Failure::new(FailureKind::Transient, format!("reading {what}: {e}")))?;
    if read.len() as u64 > limit {
        // A retry reads the same object: this will not pass by trying again.
        return Err(Failure::new(
            FailureKind::Permanent,
            format!("{what} is larger than {limit} bytes, the most read whole: refused"),
        ));
    }
    Ok(read)
}

/// Reads a small JSON object and the ETag to update it with. `what` names
/// the kind of object in the error when it does not parse.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    store: &impl ObjectStore,
    bucket: &str,
    key: &str,
    what: &str,
) -> Result<(T, String)> {
    let object = store.get(bucket, key).await?;
    let etag = object.etag.clone().unwrap_or_default();
    let bytes = read_whole(object.body, key).await?;
    let value = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::new(FailureKind::Permanent, format!("{key} is not {what}: {e}")))?;
    Ok((value, etag))
}

/// A body that must deliver `size` bytes: ending early is a dropped stream
/// (an I/O error a retry can fix), not a truncated file.
pub fn whole_body(body: Body, size: Option<u64>) -> Body {
    match size {
        Some(size) => Box::new(WholeBody { inner: body, expected: size, read: 0 }),
        None => body,
    }
}

struct WholeBody {
    inner: Body,
    expected: u64,
    read: u64,
}

impl Read for WholeBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if n == 0 && !buf.is_empty() && self.read < self.expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                format!("the object ended after {} of {} bytes", self.read, self.expected),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_an_object_past_the_bound_when_read_whole_then_a_permanent_error_not_a_growing_buffer() {
        let body = |n: usize| -> Body { Box::new(std::io::Cursor::new(vec![b' '; n])) };
        assert_eq!(read_at_most(body(10), "s3://b/k", 10).await.unwrap().len(), 10);
        let error = read_at_most(body(11), "s3://b/k", 10).await.unwrap_err();
        assert_eq!(error.kind, FailureKind::Permanent);
        assert!(error.message.contains("s3://b/k is larger than 10 bytes"), "{error}");
    }
}
