//! Digest files verified as they arrive, through the detection handler's
//! exactly-once flow (claim, publish, record, done):
//!
//! 1. read the digest and its signature metadata; check the signature with
//!    CloudTrail's public key of that fingerprint ([`KeyCache`]: fetched
//!    once per cold start, again only for a fingerprint not yet seen);
//! 2. read the previous digest it names: still there, unchanged, ending
//!    where this one starts (a missing hour shows up here, when the next
//!    digest arrives);
//! 3. hash every log file it lists, eight at a time, as they stream;
//! 4. any failure raises one critical alert naming the account, region,
//!    files and what failed; what the digest vouched for is recorded in the
//!    state bucket for the summary's coverage.
//!
//! A read that can succeed on retry (throttling, a dropped stream,
//! `ListPublicKeys` down) fails the invocation so Lambda retries; nothing is
//! taken for tampering because of it.

use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt};
use tracing::{info, warn};
use trailwatch_aws::ports::{read_whole, Failure, FailureKind, ObjectStore, PublicKeySource};
use trailwatch_aws::state::integrity_key;
use trailwatch_core::digest::delivered::{check_digest, integrity_alert, IntegrityFailure, IntegrityRecord, Previous};
use trailwatch_core::digest::{log_file_sha256, DigestFile, PublicKeys};

use crate::envelope::ObjectRef;
use crate::handler::{now, Detector, Outcome, ProcessError};

/// Log files hashed at once.
const CONCURRENCY: usize = 8;

/// CloudTrail's public keys, kept for the life of the function instance.
pub struct KeyCache {
    source: Arc<dyn PublicKeySource>,
    keys: Mutex<PublicKeys>,
}

impl KeyCache {
    pub fn new(source: Arc<dyn PublicKeySource>) -> Self {
        KeyCache { source, keys: Mutex::new(PublicKeys::default()) }
    }

    fn cached(&self) -> PublicKeys {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys, with the one that signed `file` (a digest of `region`) if
    /// CloudTrail has it.
    async fn for_digest(&self, file: &DigestFile, region: &str) -> Result<PublicKeys, Failure> {
        let keys = self.cached();
        if keys.contains(&file.digest.digest_public_key_fingerprint) {
            return Ok(keys);
        }
        let at = |text: &str| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_or_else(|_| time::OffsetDateTime::now_utc().unix_timestamp(), |t| t.unix_timestamp())
        };
        let start = at(&file.digest.digest_start_time) - 86_400;
        let end = at(&file.digest.digest_end_time) + 3_600;
        let fetched = self.source.public_keys(region, start, end).await?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for key in fetched {
            if let Err(e) = keys.add_der(&key.fingerprint, &key.der) {
                warn!(fingerprint = %key.fingerprint, error = %e, "unusable public key from ListPublicKeys");
            }
        }
        Ok(keys.clone())
    }
}

/// `us-east-1` from `.../CloudTrail-Digest/us-east-1/2026/...`.
fn region_of(key: &str) -> Option<&str> {
    let mut parts = key.split('/');
    parts.by_ref().find(|p| *p == "CloudTrail-Digest")?;
    parts.next().filter(|r| !r.is_empty())
}

/// `YYYY/MM/DD/HH` of an RFC 3339 time.
fn hour_path(time: &str) -> String {
    match (time.get(0..4), time.get(5..7), time.get(8..10), time.get(11..13)) {
        (Some(y), Some(m), Some(d), Some(h)) => format!("{y}/{m}/{d}/{h}"),
        _ => "unknown".into(),
    }
}

impl<S: ObjectStore + Clone + 'static> Detector<S> {
    /// Verifies one digest object (see the module docs).
    pub(crate) async fn process_digest(&self, object: &ObjectRef, deadline: u64) -> Result<Outcome, ProcessError> {
        let uri = object.uri();
        let fail = |message: String| ProcessError { uri: uri.clone(), message };
        let Some(cache) = &self.keys else { return Ok(Outcome::Skipped("CloudTrail digest file")) };
        let Some(mut entry) = self.claim(object, deadline).await.map_err(|f| fail(f.message))? else {
            return Ok(Outcome::Duplicate);
        };
        let (file, failures, verified) = match self.verify(object, cache).await {
            Ok(Some(result)) => result,
            Ok(None) => {
                self.give_back(&mut entry).await;
                return Ok(Outcome::Missing);
            }
            Err(f) => {
                self.give_back(&mut entry).await;
                return Err(fail(f.message));
            }
        };
        let region = region_of(&object.key);
        let alerts = if failures.is_empty() {
            Vec::new()
        } else {
            vec![integrity_alert(&uri, file.as_ref(), region, &failures)]
        };
        if let Err(f) = self.deliver(&mut entry, &alerts).await {
            self.give_back(&mut entry).await;
            return Err(fail(format!("publishing the integrity alert failed: {}", f.message)));
        }
        let record = IntegrityRecord {
            digest: uri.clone(),
            account_id: file.as_ref().map(|f| f.digest.aws_account_id.clone()).unwrap_or_default(),
            region: region.unwrap_or_default().to_string(),
            digest_start_time: file.as_ref().map(|f| f.digest.digest_start_time.clone()).unwrap_or_default(),
            digest_end_time: file.as_ref().map(|f| f.digest.digest_end_time.clone()).unwrap_or_default(),
            verified,
            failures: failures.clone(),
        };
        let record_key = integrity_key(&hour_path(&record.digest_start_time), &object.bucket, &object.key);
        let body = serde_json::to_vec(&record).map_err(|e| fail(e.to_string()))?;
        if let Err(f) = self.store.put(&self.state_bucket, &record_key, body, false).await {
            self.give_back(&mut entry).await;
            return Err(fail(format!("writing the integrity record failed: {}", f.message)));
        }
        if let Err(f) = self.ledger().finish(&mut entry, 0, failures.len() as u64, now()).await {
            self.give_back(&mut entry).await;
            return Err(fail(format!("marking the digest done failed: {}", f.message)));
        }
        for failure in &failures {
            warn!(bucket = %object.bucket, key = %object.key, failure = %failure.describe(), "integrity failure");
        }
        info!(bucket = %object.bucket, key = %object.key, log_files = record.verified.len(), failures = failures.len(), "digest verified");
        Ok(Outcome::Verified { log_files: record.verified.len(), failures: failures.len() })
    }

    /// Reads and checks; `None` when the digest object is gone.
    async fn verify(
        &self,
        object: &ObjectRef,
        cache: &KeyCache,
    ) -> Result<Option<(Option<DigestFile>, Vec<IntegrityFailure>, Vec<String>)>, Failure> {
        let opened = match self.store.get(&object.bucket, &object.key).await {
            Ok(opened) => opened,
            Err(f) if f.kind == FailureKind::NotFound => return Ok(None),
            Err(f) => return Err(f),
        };
        let metadata = opened.metadata;
        let bytes = read_whole(opened.body, &object.uri()).await?;
        let file = match DigestFile::parse(&bytes) {
            Ok(file) => file,
            Err(e) => {
                return Ok(Some((None, vec![IntegrityFailure::DigestUnreadable { reason: e.to_string() }], Vec::new())))
            }
        };
        let region = region_of(&object.key).unwrap_or("us-east-1");
        let keys = cache.for_digest(&file, region).await?;
        let previous = self.previous(&file, &object.bucket).await?;
        let signature =
            metadata.get("signature").map(|s| (s.as_str(), metadata.get("signature-algorithm").map(String::as_str)));
        let mut failures = check_digest(&object.bucket, &object.key, &file, signature, &keys, &previous);
        // A digest that cannot be trusted vouches for nothing; its files are still checked.
        let trusted = !failures.iter().any(IntegrityFailure::discredits_digest);
        let mut verified = Vec::new();
        let checks = stream::iter(file.digest.log_files.clone())
            .map(|entry| async move {
                let uri = format!("s3://{}/{}", entry.s3_bucket, entry.s3_object);
                let hash = match self.store.get(&entry.s3_bucket, &entry.s3_object).await {
                    Ok(log) => Some(blocking(move || log_file_sha256(log.body)).await?),
                    Err(f) if f.kind == FailureKind::NotFound => None,
                    Err(f) => return Err(f),
                };
                Ok((uri, hash, entry.hash_value))
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for check in checks {
            let (uri, hash, want) = check?;
            match hash {
                None => failures.push(IntegrityFailure::LogFileDeleted { key: uri }),
                Some(hash) if hash.eq_ignore_ascii_case(&want) => {
                    if trusted {
                        verified.push(uri);
                    }
                }
                Some(_) => failures.push(IntegrityFailure::LogFileModified { key: uri }),
            }
        }
        verified.sort();
        Ok(Some((Some(file), failures, verified)))
    }

    async fn previous(&self, file: &DigestFile, bucket: &str) -> Result<Previous, Failure> {
        let Some(key) = &file.digest.previous_digest_s3_object else { return Ok(Previous::None) };
        let bucket = file.digest.previous_digest_s3_bucket.as_deref().unwrap_or(bucket);
        let uri = format!("s3://{bucket}/{key}");
        match self.store.get_small(bucket, key).await {
            Ok(bytes) => Ok(match DigestFile::parse(&bytes) {
                Ok(prev) => Previous::Found(uri, Box::new(prev)),
                Err(e) => Previous::Unreadable(uri, e.to_string()),
            }),
            Err(f) if f.kind == FailureKind::NotFound => Ok(Previous::Missing(uri)),
            Err(f) => Err(f),
        }
    }
}

/// Runs blocking I/O (a streamed body) off the async threads; a read error
/// is transient (the stream dropped): the invocation is retried.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::new(FailureKind::Transient, e.to_string()))?
        .map_err(|e| Failure::new(FailureKind::Transient, format!("reading failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_hours_come_from_keys_and_times() {
        assert_eq!(region_of("AWSLogs/o-1/123/CloudTrail-Digest/eu-west-1/2026/11/20/x.json.gz"), Some("eu-west-1"));
        assert_eq!(region_of("AWSLogs/123/CloudTrail/eu-west-1/x.json.gz"), None);
        assert_eq!(hour_path("2026-11-20T09:01:31Z"), "2026/11/20/09");
        assert_eq!(hour_path("x"), "unknown");
    }
}
