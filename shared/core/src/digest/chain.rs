//! A set of digests checked together, as `aws cloudtrail validate-logs`
//! does but on what is at hand: each digest's signature, the links between
//! consecutive digests (previous object, hash and signature), hours with no
//! digest, digests that were deleted, and log files that no digest lists.
//!
//! A digest's own signature lives in its object metadata, which local copies
//! lose. The next digest carries it too (`previousDigestSignature`), so
//! every digest but the newest of a chain is verified from its successor;
//! the newest needs its metadata (a `.signature` file next to it, see
//! [`FoundDigest`]) or is reported as not yet verifiable. Verifying a digest
//! with the signature its successor names is sound whatever the successor
//! is: a signature over changed content would not verify.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{file_name, trail_key, DigestFile, PublicKeys, Signature};

/// A digest found (a local file or an S3 object), parsed.
#[derive(Debug, Clone)]
pub struct FoundDigest {
    /// Where it was found (path or `s3://` URI).
    pub location: String,
    pub file: DigestFile,
    /// Its own signature (hex) and algorithm, from the object's metadata,
    /// when known.
    pub signature: Option<(String, Option<String>)>,
}

impl FoundDigest {
    /// The trail root of the copy it was found in: its location without the
    /// key below the trail root it was written to (`copy/` for
    /// `copy/AWSLogs/…`, `s3://bucket/prefix/` for an object). `None` when
    /// it does not lie at that key: it was moved, and vouches for nothing.
    pub fn root(&self) -> Option<&str> {
        let written = trail_key(&self.file.digest.digest_s3_object)?;
        let root = self.location.strip_suffix(written)?;
        (root.is_empty() || root.ends_with('/')).then_some(root)
    }
}

/// What is wrong with a digest, worst first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "problem", content = "detail")]
pub enum DigestProblem {
    /// The signature does not match the content: the digest was changed.
    InvalidSignature,
    /// A digest the chain names is not there: it was deleted.
    Missing,
    /// The previous digest is not the one this digest names, or its hash differs.
    BrokenChain(String),
    /// Found somewhere other than the bucket and key it names.
    Moved(String),
    /// Its key is not among the public keys given.
    UnknownKey(String),
    /// The signature cannot be read.
    MalformedSignature(String),
    /// No signature known (the newest digest of a local copy).
    NotVerifiable,
    /// No public keys were given: the signature was not checked.
    SignatureNotChecked,
}

/// The verdict on one digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestReport {
    pub location: String,
    pub name: String,
    pub account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub log_files: usize,
    /// Empty when the digest is valid.
    pub problems: Vec<DigestProblem>,
}

impl DigestReport {
    /// `valid`, or the worst problem in words.
    pub fn status(&self) -> &'static str {
        match self.problems.iter().min() {
            None => "valid",
            Some(DigestProblem::InvalidSignature) => "invalid signature",
            Some(DigestProblem::Missing) => "missing",
            Some(DigestProblem::BrokenChain(_)) => "broken chain",
            Some(DigestProblem::Moved(_)) => "moved",
            Some(DigestProblem::UnknownKey(_)) => "unknown key",
            Some(DigestProblem::MalformedSignature(_)) => "malformed signature",
            Some(DigestProblem::NotVerifiable) => "not verifiable",
            Some(DigestProblem::SignatureNotChecked) => "signature not checked",
        }
    }

    /// True when something is wrong, not merely unverifiable.
    pub fn is_failure(&self) -> bool {
        self.problems.iter().any(|p| !matches!(p, DigestProblem::NotVerifiable | DigestProblem::SignatureNotChecked))
    }
}

/// A stretch of time with no digest between two that exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub chain: String,
    pub from: String,
    pub to: String,
    /// The digest after the gap names no predecessor: digests (or logging)
    /// stopped and started again.
    pub restarted: bool,
}

/// The digests of one trail in one account and region, from their names
/// (`<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<time>[_backfill].json.gz`).
pub(crate) fn chain_key(name: &str) -> Option<(String, bool)> {
    let stem = name.strip_suffix(".json.gz").or_else(|| name.strip_suffix(".json"))?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(stem) => (stem, true),
        None => (stem, false),
    };
    let (head, _time) = stem.rsplit_once('_')?;
    head.contains("_CloudTrail-Digest_").then(|| (head.to_string(), backfill))
}

pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Checks every digest: signatures, chain links, moves; returns one report
/// per digest (plus one per digest named but absent, inside the stretch the
/// found digests cover) and the gaps. With `keys` absent, signatures are not
/// checked and say so.
pub fn check(found: &[FoundDigest], keys: Option<&PublicKeys>) -> (Vec<DigestReport>, Vec<Gap>) {
    let mut chains: BTreeMap<String, Vec<&FoundDigest>> = BTreeMap::new();
    let mut backfills = Vec::new();
    for d in found {
        match chain_key(d.file.name()) {
            Some((key, false)) => chains.entry(key).or_default().push(d),
            Some((_, true)) => backfills.push(d),
            None => chains.entry(format!("{} (unrecognised name)", d.file.name())).or_default().push(d),
        }
    }
    let mut reports = Vec::new();
    let mut gaps = Vec::new();
    for (chain, mut digests) in chains {
        digests.sort_by(|a, b| a.file.digest.digest_end_time.cmp(&b.file.digest.digest_end_time));
        let by_name: HashMap<&str, &FoundDigest> = digests.iter().map(|d| (d.file.name(), *d)).collect();
        // The signature each digest's successor names for it.
        let mut named_signature: HashMap<&str, &str> = HashMap::new();
        for d in &digests {
            if let (Some(prev), Some(sig)) =
                (&d.file.digest.previous_digest_s3_object, &d.file.digest.previous_digest_signature)
            {
                named_signature.insert(file_name(prev), sig);
            }
        }
        for (i, d) in digests.iter().enumerate() {
            let mut report = report_for(d);
            let digest = &d.file.digest;
            let own = d.signature.as_ref().map(|(s, a)| (s.as_str(), a.as_deref()));
            let signature = own.or_else(|| named_signature.get(d.file.name()).map(|s| (*s, None)));
            report.problems.extend(signature_problem(&d.file, signature, keys));
            if let Some(problem) = moved(d) {
                report.problems.push(problem);
            }
            if let Some(prev_key) = &digest.previous_digest_s3_object {
                let prev_name = file_name(prev_key);
                match by_name.get(prev_name) {
                    Some(prev) => {
                        if let Some(want) = &digest.previous_digest_hash_value {
                            if !want.eq_ignore_ascii_case(&prev.file.sha256) {
                                report.problems.push(DigestProblem::BrokenChain(format!(
                                    "the previous digest {prev_name} does not have the hash this digest records"
                                )));
                            }
                        }
                    }
                    // Named but absent, after an earlier digest of the chain: deleted.
                    None if i > 0 => {
                        let mut missing = report_for(d);
                        missing.location = prev_key.clone();
                        missing.name = prev_name.to_string();
                        missing.digest_end_time = digest.digest_start_time.clone();
                        missing.digest_start_time = digests[i - 1].file.digest.digest_end_time.clone();
                        missing.log_files = 0;
                        missing.problems = vec![DigestProblem::Missing];
                        reports.push(missing);
                    }
                    None => {}
                }
            }
            if i > 0 {
                let before = &digests[i - 1].file.digest;
                let linked =
                    digest.previous_digest_s3_object.as_deref().map(file_name) == Some(digests[i - 1].file.name());
                let restarted = digest.previous_digest_s3_object.is_none();
                let continuous = parse_time(&before.digest_end_time)
                    .zip(parse_time(&digest.digest_start_time))
                    .is_some_and(|(end, start)| (start - end).whole_seconds().abs() <= 60);
                if !continuous || restarted {
                    gaps.push(Gap {
                        chain: chain.clone(),
                        from: before.digest_end_time.clone(),
                        to: digest.digest_start_time.clone(),
                        restarted,
                    });
                }
                if !linked
                    && !restarted
                    && by_name.contains_key(digest.previous_digest_s3_object.as_deref().map(file_name).unwrap_or(""))
                {
                    report.problems.push(DigestProblem::BrokenChain(format!(
                        "names {} as its predecessor, but {} comes before it",
                        digest.previous_digest_s3_object.as_deref().map(file_name).unwrap_or("-"),
                        digests[i - 1].file.name()
                    )));
                }
            }
            report.problems.sort();
            report.problems.dedup();
            reports.push(report);
        }
    }
    for d in backfills {
        let mut report = report_for(d);
        let own = d.signature.as_ref().map(|(s, a)| (s.as_str(), a.as_deref()));
        report.problems.extend(signature_problem(&d.file, own, keys));
        if let Some(problem) = moved(d) {
            report.problems.push(problem);
        }
        reports.push(report);
    }
    (reports, gaps)
}

fn report_for(d: &FoundDigest) -> DigestReport {
    let digest = &d.file.digest;
    DigestReport {
        location: d.location.clone(),
        name: d.file.name().to_string(),
        account_id: digest.aws_account_id.clone(),
        digest_start_time: digest.digest_start_time.clone(),
        digest_end_time: digest.digest_end_time.clone(),
        log_files: digest.log_files.len(),
        problems: Vec::new(),
    }
}

fn signature_problem(
    file: &DigestFile,
    signature: Option<(&str, Option<&str>)>,
    keys: Option<&PublicKeys>,
) -> Option<DigestProblem> {
    let Some((hex, algorithm)) = signature else { return Some(DigestProblem::NotVerifiable) };
    let Some(keys) = keys else { return Some(DigestProblem::SignatureNotChecked) };
    match keys.verify(file, hex, algorithm) {
        Signature::Valid => None,
        Signature::Invalid => Some(DigestProblem::InvalidSignature),
        Signature::UnknownKey(fingerprint) => Some(DigestProblem::UnknownKey(fingerprint)),
        Signature::Malformed(why) => Some(DigestProblem::MalformedSignature(why)),
    }
}

/// A digest found somewhere other than the key it was written to: an
/// `s3://` location is compared whole; a local path must end with the key
/// below the trail root (`AWSLogs/…`), as `aws s3 sync` lays it out.
fn moved(d: &FoundDigest) -> Option<DigestProblem> {
    let digest = &d.file.digest;
    let expected = format!("s3://{}/{}", digest.digest_s3_bucket, digest.digest_s3_object);
    let same = if d.location.starts_with("s3://") { d.location == expected } else { d.root().is_some() };
    (!same).then(|| DigestProblem::Moved(format!("written as {expected}")))
}
