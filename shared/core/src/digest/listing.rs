//! Which file of a copy is the one a digest lists. A digest names each log
//! file by bucket and key; a copy of the bucket keeps the key below the trail
//! root (`AWSLogs/…`), so the file a listing means is the one at the listing
//! digest's own trail root plus that key, and no other. A file of the same
//! name anywhere else (an original kept in another date folder while the
//! listed one was altered) is an unexpected copy: it never satisfies a
//! listing, and it is reported.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use super::chain::{chain_key, parse_time, FoundDigest};
use super::{file_name, trail_key};
use crate::key::parse_log_file_name;
use crate::summary::parse_file_time;

/// One log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its file name.
    pub name: String,
    /// `s3://bucket/key`, as the digest names it.
    pub uri: String,
    /// Where its copy must be: the trail root the listing digest lies in,
    /// then the key below the trail root; for a digest read from S3, the
    /// object the digest names (`uri`). `None` when the digest does not
    /// lie where it was written (moved) or the key has no `AWSLogs` part:
    /// then no file can stand for it.
    pub location: Option<String>,
    /// The SHA-256 (hex) of its uncompressed content.
    pub hash: String,
}

impl Listed {
    /// The location when known, else the S3 URI.
    pub fn shown(&self) -> &str {
        self.location.as_deref().unwrap_or(&self.uri)
    }
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
    /// It has the name of a listed file but lies somewhere else: a copy,
    /// which never stands for the listed file.
    UnexpectedCopy,
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
            LogStatus::UnexpectedCopy => "unexpected copy",
            LogStatus::Unreadable(_) => "unreadable",
        }
    }
}

/// Every log file the digests list, once per location (or URI when it has
/// none), in the digests' order.
pub fn listed_logs(found: &[FoundDigest]) -> Vec<Listed> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in found {
        let root = d.root();
        let written = format!("s3://{}/{}", d.file.digest.digest_s3_bucket, d.file.digest.digest_s3_object);
        for entry in &d.file.digest.log_files {
            let uri = format!("s3://{}/{}", entry.s3_bucket, entry.s3_object);
            let location = if d.location.starts_with("s3://") {
                // Read from the bucket where it was written: the object exactly as it is listed.
                (d.location == written).then(|| uri.clone())
            } else {
                root.zip(trail_key(&entry.s3_object)).map(|(root, key)| format!("{root}{key}"))
            };
            if seen.insert(location.clone().unwrap_or_else(|| uri.clone())) {
                let name = file_name(&entry.s3_object).to_string();
                out.push(Listed { name, uri, location, hash: entry.hash_value.clone() });
            }
        }
    }
    out
}

/// The verdict on each present log file (by location) that lies at no
/// listed location: an [`LogStatus::UnexpectedCopy`] when it has a listed
/// file's name, [`LogStatus::NotListed`] when the digests of its account
/// and region cover its delivery time; files delivered after the newest
/// digest are not yet covered and left out.
pub fn unlisted<'a>(present: &[&'a str], listed: &[Listed], found: &[FoundDigest]) -> Vec<(&'a str, LogStatus)> {
    let locations: HashSet<&str> = listed.iter().filter_map(|l| l.location.as_deref()).collect();
    let names: HashSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    let spans = covered_spans(found);
    let mut out = Vec::new();
    for path in present.iter().copied().filter(|p| !locations.contains(p)) {
        let name = file_name(path);
        if names.contains(name) {
            out.push((path, LogStatus::UnexpectedCopy));
            continue;
        }
        let Some((account, region, time)) = parse_log_file_name(name) else { continue };
        let Some(delivered) = parse_file_time(&time) else { continue };
        if spans.get(&(account, region)).is_some_and(|(start, end)| *start <= delivered && delivered < *end) {
            out.push((path, LogStatus::NotListed));
        }
    }
    out
}

/// Per account and region: the span of time the digests cover.
fn covered_spans(found: &[FoundDigest]) -> HashMap<(String, String), (OffsetDateTime, OffsetDateTime)> {
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
    spans
}
