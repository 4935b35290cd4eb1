//! One digest as it is delivered to S3, checked on arrival: its signature
//! (from its metadata), where it was written, its link to the previous
//! digest (still there, unchanged, and ending where this one starts), and
//! the hashes of the log files it lists. The detection function does the
//! reads; this module decides and words the alert.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{DigestFile, PublicKeys, Signature};
use crate::alert::{Alert, AlertKind};
use crate::rule::Severity;
use crate::text::printable;

/// What was found where this digest says its predecessor is.
#[derive(Debug, Clone)]
pub enum Previous {
    /// The digest names none (the first of a chain).
    None,
    /// It names one that is not there.
    Missing(String),
    /// It names one, read and parsed.
    Found(String, Box<DigestFile>),
    /// It names one that is there but is not a digest any more.
    Unreadable(String, String),
}

/// One thing wrong with a delivered digest or the files it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "failure")]
pub enum IntegrityFailure {
    DigestUnreadable {
        reason: String,
    },
    NoSignature,
    InvalidSignature,
    UnknownKey {
        fingerprint: String,
    },
    MalformedSignature {
        reason: String,
    },
    Moved {
        written_as: String,
    },
    PreviousDigestMissing {
        key: String,
    },
    PreviousDigestChanged {
        key: String,
    },
    Gap {
        from: String,
        to: String,
    },
    LogFileModified {
        key: String,
    },
    LogFileDeleted {
        key: String,
    },
    /// A listed log file that exists but cannot be read (access denied, a
    /// disabled KMS key): it cannot be vouched for, and someone may have
    /// made it so on purpose.
    LogFileUnreadable {
        key: String,
        reason: String,
    },
}

impl IntegrityFailure {
    /// True when the digest itself cannot be trusted, so it vouches for no
    /// log file (as opposed to failures of the chain or of listed files).
    pub fn discredits_digest(&self) -> bool {
        matches!(
            self,
            IntegrityFailure::DigestUnreadable { .. }
                | IntegrityFailure::NoSignature
                | IntegrityFailure::InvalidSignature
                | IntegrityFailure::UnknownKey { .. }
                | IntegrityFailure::MalformedSignature { .. }
                | IntegrityFailure::Moved { .. }
        )
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            IntegrityFailure::DigestUnreadable { reason } => format!("the digest file cannot be read: {reason}"),
            IntegrityFailure::NoSignature => "the digest has no signature metadata (x-amz-meta-signature)".into(),
            IntegrityFailure::InvalidSignature => {
                "the digest's signature does not match its content: the digest was changed".into()
            }
            IntegrityFailure::UnknownKey { fingerprint } => {
                format!("no CloudTrail public key has the digest's fingerprint {fingerprint}")
            }
            IntegrityFailure::MalformedSignature { reason } => format!("the digest's signature is malformed: {reason}"),
            IntegrityFailure::Moved { written_as } => format!("the digest says it was written as {written_as}"),
            IntegrityFailure::PreviousDigestMissing { key } => format!("the previous digest is gone (deleted): {key}"),
            IntegrityFailure::PreviousDigestChanged { key } => {
                format!("the previous digest no longer has the hash this digest records: {key}")
            }
            IntegrityFailure::Gap { from, to } => {
                format!(
                    "no digest covers {from} to {to}: logging or log file validation was off, or digests were deleted"
                )
            }
            IntegrityFailure::LogFileModified { key } => {
                format!("log file modified (its SHA-256 is not the one the digest records): {key}")
            }
            IntegrityFailure::LogFileDeleted { key } => format!("log file deleted: {key}"),
            IntegrityFailure::LogFileUnreadable { key, reason } => format!("log file cannot be read: {key}: {reason}"),
        }
    }
}

fn time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Checks what can be checked without reading the log files.
pub fn check_digest(
    bucket: &str,
    key: &str,
    file: &DigestFile,
    signature: Option<(&str, Option<&str>)>,
    keys: &PublicKeys,
    previous: &Previous,
) -> Vec<IntegrityFailure> {
    let mut failures = Vec::new();
    let digest = &file.digest;
    match signature {
        None => failures.push(IntegrityFailure::NoSignature),
        Some((hex, algorithm)) => match keys.verify(file, hex, algorithm) {
            Signature::Valid => {}
            Signature::Invalid => failures.push(IntegrityFailure::InvalidSignature),
            Signature::UnknownKey(fingerprint) => failures.push(IntegrityFailure::UnknownKey { fingerprint }),
            Signature::Malformed(reason) => failures.push(IntegrityFailure::MalformedSignature { reason }),
        },
    }
    if digest.digest_s3_bucket != bucket || digest.digest_s3_object != key {
        let written_as = format!("s3://{}/{}", digest.digest_s3_bucket, digest.digest_s3_object);
        failures.push(IntegrityFailure::Moved { written_as });
    }
    match previous {
        Previous::None => {}
        Previous::Missing(key) => failures.push(IntegrityFailure::PreviousDigestMissing { key: key.clone() }),
        Previous::Unreadable(key, _) => failures.push(IntegrityFailure::PreviousDigestChanged { key: key.clone() }),
        Previous::Found(key, prev) => {
            let recorded = digest.previous_digest_hash_value.as_deref().unwrap_or("");
            if !recorded.eq_ignore_ascii_case(&prev.sha256) {
                failures.push(IntegrityFailure::PreviousDigestChanged { key: key.clone() });
            }
            let continuous = time(&prev.digest.digest_end_time)
                .zip(time(&digest.digest_start_time))
                .is_some_and(|(end, start)| (start - end).whole_seconds().abs() <= 60);
            if !continuous {
                failures.push(IntegrityFailure::Gap {
                    from: prev.digest.digest_end_time.clone(),
                    to: digest.digest_start_time.clone(),
                });
            }
        }
    }
    failures
}

/// The critical alert for a digest with failures. `id` is stable for the
/// digest object, so a retry does not send it twice.
pub fn integrity_alert(
    digest_uri: &str,
    file: Option<&DigestFile>,
    region: Option<&str>,
    failures: &[IntegrityFailure],
) -> Alert {
    let account = file.map(|f| f.digest.aws_account_id.as_str());
    let mut details = String::new();
    let _ = writeln!(details, "Digest: {}", printable(digest_uri, 2000));
    if let Some(f) = file {
        let _ = writeln!(
            details,
            "Account {}, region {}, logs delivered {} to {}",
            printable(&f.digest.aws_account_id, 100),
            printable(region.unwrap_or("-"), 100),
            printable(&f.digest.digest_start_time, 100),
            printable(&f.digest.digest_end_time, 100)
        );
    }
    let _ = writeln!(details, "\nWhat failed ({}):", failures.len());
    for failure in failures.iter().take(100) {
        let _ = writeln!(details, "  - {}", printable(&failure.describe(), 2000));
    }
    if failures.len() > 100 {
        let _ = writeln!(details, "  ... and {} more.", failures.len() - 100);
    }
    let mut alert = Alert::new(
        "integrity",
        AlertKind::Integrity,
        Severity::Critical,
        "log-integrity",
        "CloudTrail log integrity failure",
    )
    .at(account, region)
    .with_text(
        "CloudTrail signs an hourly digest of every log file it delivers. A changed or deleted log file, a digest \
         that does not verify, or an hour without a digest means the record of what happened in this account can \
         no longer be trusted: covering tracks looks exactly like this.",
        "Find who can write to or delete from the trail bucket (bucket policy, IAM, S3 server access logs or \
         CloudTrail data events on the bucket), restore deleted objects from versions, and run `trailwatch \
         validate` on a copy of the bucket for the full picture.",
    )
    .with_details(details)
    .with_source(digest_uri);
    alert.count = failures.len() as u64;
    alert
}

/// What the state bucket keeps of one verified digest, for the summary's
/// coverage: which log files a valid digest vouched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityRecord {
    pub digest: String,
    pub account_id: String,
    pub region: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    /// `s3://bucket/key` of each log file whose hash matched.
    pub verified: Vec<String>,
    pub failures: Vec<IntegrityFailure>,
}

#[cfg(test)]
mod tests {
    use super::super::forge::{ChainWriter, Signer};
    use super::*;
    use time::macros::datetime;

    #[test]
    fn delivered_digests_are_checked_against_key_place_and_predecessor() {
        let signer = Signer::new(11);
        let keys = signer.public_keys();
        let mut w = ChainWriter::new(&signer, "b", "123456789012", "us-east-1", None);
        let first = w.digest(datetime!(2026-11-20 09:00 UTC), &[]);
        let second = w.digest(datetime!(2026-11-20 10:00 UTC), &[]);
        let late = w.digest(datetime!(2026-11-20 12:00 UTC), &[]);
        let found = |d: &super::super::forge::Forged| Previous::Found(d.key.clone(), Box::new(d.file.clone()));
        let sig = Some((second.signature.as_str(), Some("SHA256withRSA")));
        let check = |prev: &Previous, key: &str, sig| check_digest("b", key, &second.file, sig, &keys, prev);

        assert_eq!(check(&found(&first), &second.key, sig), []);
        assert_eq!(check(&found(&first), &second.key, None), [IntegrityFailure::NoSignature]);
        assert_eq!(check(&found(&first), "elsewhere", sig).len(), 1);
        assert_eq!(
            check(&Previous::Missing(first.key.clone()), &second.key, sig),
            [IntegrityFailure::PreviousDigestMissing { key: first.key.clone() }]
        );
        let mut changed = first.file.clone();
        changed.sha256 = "00".repeat(32);
        assert_eq!(
            check(&Previous::Found(first.key.clone(), Box::new(changed)), &second.key, sig),
            [IntegrityFailure::PreviousDigestChanged { key: first.key.clone() }]
        );
        let gap = check_digest("b", &late.key, &late.file, Some((&late.signature, None)), &keys, &found(&second));
        assert_eq!(
            gap,
            [IntegrityFailure::Gap { from: "2026-11-20T11:00:00Z".into(), to: "2026-11-20T12:00:00Z".into() }]
        );
        let forged = Signer::new(12).sign(&second.file);
        assert_eq!(check(&found(&first), &second.key, Some((&forged, None))), [IntegrityFailure::InvalidSignature]);
    }

    #[test]
    fn the_alert_is_critical_and_names_account_region_and_failures() {
        let signer = Signer::new(11);
        let mut w = ChainWriter::new(&signer, "b", "123456789012", "us-east-1", None);
        let d = w.digest(datetime!(2026-11-20 09:00 UTC), &[]);
        let failures = [
            IntegrityFailure::LogFileDeleted { key: "s3://b/AWSLogs/x.json.gz".into() },
            IntegrityFailure::LogFileModified { key: "s3://b/AWSLogs/y\u{1b}[2J.json.gz".into() },
        ];
        let alert = integrity_alert(&format!("s3://b/{}", d.key), Some(&d.file), Some("us-east-1"), &failures);
        assert_eq!(alert.title, "CloudTrail log integrity failure");
        assert_eq!(alert.where_text(), "123456789012 (us-east-1)");
        assert_eq!(alert.severity, Severity::Critical);
        assert!(alert.details.contains("log file deleted: s3://b/AWSLogs/x.json.gz"), "{}", alert.details);
        assert!(alert.details.contains("y\\u{1b}[2J.json.gz"), "escaped: {}", alert.details);
        assert_eq!((alert.rule.as_str(), alert.severity), ("log-integrity", Severity::Critical));
    }
}
