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

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{file_name, DigestFile, PublicKeys, Signature};
use crate::key::parse_log_file_name;
use crate::summary::parse_file_time;

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
fn chain_key(name: &str) -> Option<(String, bool)> {
    let stem = name.strip_suffix(".json.gz").or_else(|| name.strip_suffix(".json"))?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(stem) => (stem, true),
        None => (stem, false),
    };
    let (head, _time) = stem.rsplit_once('_')?;
    head.contains("_CloudTrail-Digest_").then(|| (head.to_string(), backfill))
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
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

/// A digest found under another name than the key it was written to (an
/// `s3://` location is compared whole; a local path by its file name).
fn moved(d: &FoundDigest) -> Option<DigestProblem> {
    let digest = &d.file.digest;
    let expected = format!("s3://{}/{}", digest.digest_s3_bucket, digest.digest_s3_object);
    let same =
        if d.location.starts_with("s3://") { d.location == expected } else { file_name(&d.location) == d.file.name() };
    (!same).then(|| DigestProblem::Moved(format!("written as {expected}")))
}

/// What became of a log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    /// Its hash is the one a digest lists.
    Valid,
    /// Its hash differs from the one a digest lists.
    Modified,
    /// A digest lists it and it is not there.
    Deleted,
    /// It is there, inside the time the digests cover, and no digest lists it.
    NotListed,
    /// It could not be read to compute its hash.
    Unreadable(String),
}

impl LogStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LogStatus::Valid => "valid",
            LogStatus::Modified => "modified",
            LogStatus::Deleted => "deleted",
            LogStatus::NotListed => "not listed in any digest",
            LogStatus::Unreadable(_) => "unreadable",
        }
    }
}

/// Every log file the digests list: (file name, the entry's S3 key, expected hash).
pub fn listed_logs(found: &[FoundDigest]) -> Vec<(String, String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in found {
        for entry in &d.file.digest.log_files {
            let name = file_name(&entry.s3_object).to_string();
            if seen.insert(name.clone()) {
                out.push((name, format!("s3://{}/{}", entry.s3_bucket, entry.s3_object), entry.hash_value.clone()));
            }
        }
    }
    out
}

/// The log files among `present` (file names) that no digest lists although
/// the digests of their account and region cover their delivery time.
/// Files delivered after the newest digest are not yet covered and left out.
pub fn not_listed<'a>(present: &[&'a str], found: &[FoundDigest]) -> Vec<&'a str> {
    let listed: HashSet<String> = listed_logs(found).into_iter().map(|(name, _, _)| name).collect();
    // Per account/region: the span the digests cover.
    let mut spans: HashMap<(String, String), (OffsetDateTime, OffsetDateTime)> = HashMap::new();
    for d in found {
        let digest = &d.file.digest;
        let Some(region) = chain_key(d.file.name()).and_then(|(key, _)| key.split('_').nth(2).map(str::to_string))
        else {
            continue;
        };
        let (Some(start), Some(end)) = (parse_time(&digest.digest_start_time), parse_time(&digest.digest_end_time))
        else {
            continue;
        };
        let span = spans.entry((digest.aws_account_id.clone(), region)).or_insert((start, end));
        span.0 = span.0.min(start);
        span.1 = span.1.max(end);
    }
    present
        .iter()
        .filter(|name| !listed.contains(**name))
        .filter(|name| {
            let Some((account, region, time)) = parse_log_file_name(name) else { return false };
            let Some(delivered) = parse_file_time(&time) else { return false };
            spans.get(&(account, region)).is_some_and(|(start, end)| *start <= delivered && delivered < *end)
        })
        .copied()
        .collect()
}
