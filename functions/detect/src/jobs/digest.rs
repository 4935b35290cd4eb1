//! The digest job: a digest file verified as it arrives, through the
//! runner's claim → work → deliver → write → finish:
//!
//! 1. read the digest and its signature metadata; check the signature with
//!    CloudTrail's public key of that fingerprint ([`KeyCache`]);
//! 2. read the previous digest it names: still there, unchanged, ending
//!    where this one starts (a missing hour shows up here, when the next
//!    digest arrives);
//! 3. hash every log file it lists, eight at a time, as they stream;
//! 4. any failure raises one critical alert naming the account, region,
//!    files and what failed; what the digest vouched for is written to the
//!    state bucket (an integrity record) for the summary's coverage.
//!
//! A read that can succeed on retry (throttling, a dropped stream,
//! `ListPublicKeys` down) fails the invocation so Lambda retries; nothing is
//! taken for tampering because of it.

use futures::stream::{self, StreamExt};
use tracing::{info, warn};
use trailwatch_aws::ports::{read_whole, Failure, FailureKind, ObjectStore};
use trailwatch_aws::runner::{Batch, Held, Job, JobError, Retry, SideRecord, Work};
use trailwatch_aws::state::integrity_key;
use trailwatch_core::digest::delivered::{check_digest, integrity_alert, IntegrityFailure, IntegrityRecord, Previous};
use trailwatch_core::digest::{log_file_sha256, DigestFile};
use trailwatch_core::key::DigestKey;

use super::ctx::{run_once, Ctx};
use crate::envelope::ObjectRef;
use crate::keys::KeyCache;
use crate::outcome::Handled;

/// Log files hashed at once.
const CONCURRENCY: usize = 8;

/// Verifies one digest file, exactly once (skipped when no keys are set).
pub async fn run<S: ObjectStore + Clone + 'static>(
    ctx: &Ctx<'_, S>,
    object: ObjectRef,
    key: DigestKey,
) -> Result<Handled, JobError> {
    let Some(keys) = ctx.keys else { return Ok(Handled::Skipped("CloudTrail digest file")) };
    let job = Digest { store: ctx.runner.store(), keys, uri: object.uri(), object, key };
    run_once(ctx, &job.object, &job).await
}

struct Digest<'a, S> {
    store: &'a S,
    keys: &'a KeyCache,
    object: ObjectRef,
    key: DigestKey,
    uri: String,
}

/// What checking a digest found: the file (unless unreadable), what failed,
/// and the log files it vouched for.
type Checked = (Option<DigestFile>, Vec<IntegrityFailure>, Vec<String>);

impl<S: ObjectStore + Clone + 'static> Job<S> for Digest<'_, S> {
    type Outcome = Handled;

    async fn work(&self, _: &mut Held<'_, S>) -> Result<Work<Handled>, JobError> {
        let checked = self.verify().await.map_err(|f| JobError::reading("reading the digest failed", f))?;
        let Some((file, failures, verified)) = checked else { return Ok(Work::Gone(Handled::Missing)) };
        let region = self.key.region.as_deref();
        let alerts = if failures.is_empty() {
            Vec::new()
        } else {
            vec![integrity_alert(&self.uri, file.as_ref(), region, &failures)]
        };
        let (account_id, digest_start_time, digest_end_time) = match &file {
            Some(f) => {
                (f.digest.aws_account_id.clone(), f.digest.digest_start_time.clone(), f.digest.digest_end_time.clone())
            }
            // An unreadable digest: the account from its key, no times.
            None => (self.key.account_id.clone(), String::new(), String::new()),
        };
        let record = IntegrityRecord {
            digest: self.uri.clone(),
            account_id,
            region: region.map_or_else(String::new, str::to_string),
            digest_start_time,
            digest_end_time,
            verified,
            failures: failures.clone(),
        };
        for failure in &failures {
            warn!(bucket = %self.object.bucket, key = %self.object.key, failure = %failure.describe(), "integrity failure");
        }
        info!(bucket = %self.object.bucket, key = %self.object.key, log_files = record.verified.len(), failures = failures.len(), "digest verified");
        let handled = Handled::Verified { log_files: record.verified.len(), failures: failures.len() };
        let key = integrity_key(&hour_path(&record.digest_start_time), &self.object.bucket, &self.object.key);
        let record = SideRecord::json(key, "integrity record", &record)?;
        Ok(Batch::new(alerts, handled).counting(0, failures.len() as u64).writing(record).into())
    }
}

impl<S: ObjectStore + Clone + 'static> Digest<'_, S> {
    /// Reads and checks; `None` when the digest object is gone.
    async fn verify(&self) -> Result<Option<Checked>, Failure> {
        let object = &self.object;
        let opened = match self.store.get(&object.bucket, &object.key).await {
            Ok(opened) => opened,
            Err(f) if f.kind == FailureKind::NotFound => return Ok(None),
            Err(f) => return Err(f),
        };
        let metadata = opened.metadata;
        let bytes = match read_whole(opened.body, &self.uri).await {
            Ok(bytes) => bytes,
            // Too large to be a digest: reported as unreadable, never dropped.
            Err(f) if !f.retryable() => {
                return Ok(Some((None, vec![IntegrityFailure::DigestUnreadable { reason: f.message }], Vec::new())))
            }
            Err(f) => return Err(f),
        };
        let file = match DigestFile::parse(&bytes) {
            Ok(file) => file,
            Err(e) => {
                return Ok(Some((None, vec![IntegrityFailure::DigestUnreadable { reason: e.to_string() }], Vec::new())))
            }
        };
        let keys = self.keys.for_digest(&file, self.key.region.as_deref().unwrap_or("us-east-1")).await?;
        let previous = self.previous(&file).await?;
        let signature =
            metadata.get("signature").map(|s| (s.as_str(), metadata.get("signature-algorithm").map(String::as_str)));
        let mut failures = check_digest(&object.bucket, &object.key, &file, signature, &keys, &previous);
        // A digest that cannot be trusted vouches for nothing; its files are still checked.
        let trusted = !failures.iter().any(IntegrityFailure::discredits_digest);
        let verified = self.hash_log_files(&file, trusted, &mut failures).await?;
        Ok(Some((Some(file), failures, verified)))
    }

    /// Hashes every log file the digest lists; the ones that match when the
    /// digest is `trusted`, sorted. Deleted and modified files are failures.
    async fn hash_log_files(
        &self,
        file: &DigestFile,
        trusted: bool,
        failures: &mut Vec<IntegrityFailure>,
    ) -> Result<Vec<String>, Failure> {
        let checks = stream::iter(file.digest.log_files.clone())
            .map(|entry| async move {
                let uri = format!("s3://{}/{}", entry.s3_bucket, entry.s3_object);
                let hash = match self.store.get(&entry.s3_bucket, &entry.s3_object).await {
                    Ok(log) => Ok(blocking(move || log_file_sha256(log.body)).await?),
                    Err(f) if f.kind == FailureKind::NotFound => Err(None),
                    // Refused for good (access denied, a disabled key): an integrity failure, not a lost check.
                    Err(f) if !f.retryable() => Err(Some(f.message)),
                    Err(f) => return Err(f),
                };
                Ok((uri, hash, entry.hash_value))
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut verified = Vec::new();
        for check in checks {
            let (uri, hash, want) = check?;
            match hash {
                Err(None) => failures.push(IntegrityFailure::LogFileDeleted { key: uri }),
                Err(Some(reason)) => failures.push(IntegrityFailure::LogFileUnreadable { key: uri, reason }),
                Ok(hash) if hash.eq_ignore_ascii_case(&want) => {
                    if trusted {
                        verified.push(uri);
                    }
                }
                Ok(_) => failures.push(IntegrityFailure::LogFileModified { key: uri }),
            }
        }
        verified.sort();
        Ok(verified)
    }

    async fn previous(&self, file: &DigestFile) -> Result<Previous, Failure> {
        let Some(key) = &file.digest.previous_digest_s3_object else { return Ok(Previous::None) };
        let bucket = file.digest.previous_digest_s3_bucket.as_deref().unwrap_or(&self.object.bucket);
        let uri = format!("s3://{bucket}/{key}");
        match self.store.get_small(bucket, key).await {
            Ok(bytes) => Ok(match DigestFile::parse(&bytes) {
                Ok(prev) => Previous::Found(uri, Box::new(prev)),
                Err(e) => Previous::Unreadable(uri, e.to_string()),
            }),
            Err(f) if f.kind == FailureKind::NotFound => Ok(Previous::Missing(uri)),
            // Refused for good or too large: the chain cannot be checked, and that is reported.
            Err(f) if !f.retryable() => Ok(Previous::Unreadable(uri, f.message)),
            Err(f) => Err(f),
        }
    }
}

/// `YYYY/MM/DD/HH` of an RFC 3339 time.
fn hour_path(time: &str) -> String {
    match (time.get(0..4), time.get(5..7), time.get(8..10), time.get(11..13)) {
        (Some(y), Some(m), Some(d), Some(h)) => format!("{y}/{m}/{d}/{h}"),
        _ => "unknown".into(),
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
    fn hours_come_from_times() {
        assert_eq!(hour_path("2026-11-20T09:01:31Z"), "2026/11/20/09");
        assert_eq!(hour_path("x"), "unknown");
    }
}
