//! The digest files and log files `validate` (and the summary's digest
//! coverage) reads: from local copies (a synced bucket), or straight from
//! `s3://bucket/prefix` (feature `s3`). A local digest's own signature comes
//! from a `.signature` sidecar file; an object's from its user metadata
//! (`x-amz-meta-signature`, `x-amz-meta-signature-algorithm`), as CloudTrail
//! writes it. Log files are opened in order, objects a few requests ahead.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use trailwatch_core::digest::chain::FoundDigest;
use trailwatch_core::digest::DigestFile;
use trailwatch_core::key::parse_log_file_name;
use trailwatch_core::limits;

use crate::inputs;
use crate::listing::Body;
use crate::source::is_s3;

/// The digests (parsed, or why not), the log files, and the listings that failed.
pub struct Found {
    pub digests: Vec<FoundDigest>,
    /// Digests that could not be read or parsed, each naming its location.
    pub unreadable: Vec<String>,
    pub logs: Logs,
    /// Listings that failed (a denied prefix), each naming the prefix: the rest was read.
    pub problems: Vec<String>,
}

/// The log files found: local paths and `s3://` URIs, and how to read them.
pub struct Logs {
    /// Every log file found (its path or `s3://bucket/key`), in name order.
    pub present: Vec<String>,
    #[cfg(feature = "s3")]
    remote: Option<crate::bucket::Remote>,
}

/// One log file asked for.
pub enum Reading {
    Body(Body),
    /// It is not there.
    Missing,
    /// It is there (or may be) and could not be read: why, in words.
    Failed(String),
}

impl Logs {
    /// Opens the log files at `locations` in order and hands each to `read`.
    /// A local path is opened only when it was found (a file elsewhere, a
    /// link, a FIFO is never opened); an object is asked for in any case,
    /// so a denied one is told apart from a deleted one.
    pub fn read_each(&self, locations: &[&str], read: &mut dyn FnMut(usize, Reading)) {
        let found: HashSet<&str> = self.present.iter().map(String::as_str).collect();
        #[cfg(feature = "s3")]
        let object = |l: &str| crate::bucket::parse_uri(l).ok().filter(|(_, key)| !key.is_empty());
        #[cfg(feature = "s3")]
        let objects: Vec<(String, String)> = locations.iter().filter_map(|l| object(l)).collect();
        #[cfg(feature = "s3")]
        let object_refs: Vec<(&str, &str)> = objects.iter().map(|(b, k)| (b.as_str(), k.as_str())).collect();
        #[cfg(feature = "s3")]
        let mut opened = self.remote.as_ref().map(|r| r.open_in_order(&object_refs));
        for (n, location) in locations.iter().enumerate() {
            let reading = if is_s3(Path::new(location)) {
                #[cfg(feature = "s3")]
                let reading = match object(location).and(opened.as_mut()).and_then(|o| o.next_object()) {
                    Some(Ok(object)) => Reading::Body(object.body),
                    Some(Err((trailwatch_aws::ports::FailureKind::NotFound, _))) => Reading::Missing,
                    Some(Err((_, why))) => Reading::Failed(why),
                    None => Reading::Failed("not an S3 object this trailwatch reads".into()),
                };
                #[cfg(not(feature = "s3"))]
                let reading = Reading::Failed("built without S3 support".into());
                reading
            } else if found.contains(location) {
                match File::open(location) {
                    Ok(file) => Reading::Body(Box::new(file)),
                    Err(e) => Reading::Failed(e.to_string()),
                }
            } else {
                Reading::Missing
            };
            read(n, reading);
        }
    }
}

fn overlaps(d: &DigestFile, since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> bool {
    let t = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
    let (Some(start), Some(end)) = (t(&d.digest.digest_start_time), t(&d.digest.digest_end_time)) else {
        return true;
    };
    since.is_none_or(|s| end >= s) && until.is_none_or(|u| start < u)
}

/// The newest digest's own signature, when a `.signature` file (its
/// `x-amz-meta-signature`, hex) lies next to it.
fn sidecar_signature(path: &Path) -> Option<String> {
    let mut name = path.as_os_str().to_owned();
    name.push(".signature");
    let bytes = limits::read_regular(Path::new(&name), limits::MAX_SIGNATURE_BYTES).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_string()).filter(|s| !s.is_empty())
}

/// A digest read (bounded by [`limits::MAX_DIGEST_BYTES`]) and parsed,
/// kept when its time overlaps `[since, until)`; or why it could not be.
fn parse_digest(
    location: String,
    bytes: std::io::Result<Vec<u8>>,
    signature: Option<(String, Option<String>)>,
    (since, until): (Option<OffsetDateTime>, Option<OffsetDateTime>),
    found: &mut Found,
) {
    match bytes.map_err(|e| e.to_string()).and_then(|b| DigestFile::parse(&b).map_err(|e| e.to_string())) {
        Ok(file) if overlaps(&file, since, until) => found.digests.push(FoundDigest { location, signature, file }),
        Ok(_) => {}
        Err(e) => found.unreadable.push(format!("{location}: {e}")),
    }
}

/// Digest files whose time overlaps `[since, until)`, and every log file,
/// under local paths and `s3://` locations.
pub fn find(paths: &[PathBuf], since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> anyhow::Result<Found> {
    let (remote, local): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| is_s3(p));
    let local: Vec<PathBuf> = local.into_iter().cloned().collect();
    let mut found = Found {
        digests: Vec::new(),
        unreadable: Vec::new(),
        logs: Logs {
            present: Vec::new(),
            #[cfg(feature = "s3")]
            remote: None,
        },
        problems: Vec::new(),
    };
    for path in inputs::collect_all(&local)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if inputs::is_digest_name(&path) {
            let bytes = limits::read_regular(&path, limits::MAX_DIGEST_BYTES);
            let signature = sidecar_signature(&path).map(|s| (s, None));
            parse_digest(path.display().to_string(), bytes, signature, (since, until), &mut found);
        } else if parse_log_file_name(&name).is_some() {
            found.logs.present.push(path.display().to_string());
        }
    }
    if !remote.is_empty() {
        let uris: Vec<String> = remote.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        find_remote(&uris, (since, until), &mut found)?;
    }
    Ok(found)
}

/// The most buckets the digests may name for log files to be read from
/// (CloudTrail's own, as a rule): objects in buckets past it are reported
/// unreadable.
#[cfg(feature = "s3")]
const MAX_LOG_BUCKETS: usize = 8;

/// Lists the digest and log files under the `s3://` locations (only the
/// folders that can hold digests of `[since, until)` and the log files they
/// list), reads the digests with their signatures from the objects' metadata.
#[cfg(feature = "s3")]
fn find_remote(
    uris: &[String],
    range: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    found: &mut Found,
) -> anyhow::Result<()> {
    use std::time::Duration;
    use trailwatch_core::key::{classify_key, KeyKind};
    use trailwatch_core::layout::Scope;

    // A digest of `[start, end)` is delivered within the hour after `end`
    // and lists files delivered from `start`: both a little outside the range.
    let hours = |n: u64| Duration::from_secs(n * 3600);
    let scope = Scope {
        kinds: vec!["CloudTrail".into(), "CloudTrail-Digest".into()],
        since: range.0.map(|s| s - hours(2)),
        until: range.1,
        late: hours(2),
        ..Scope::default()
    };
    let mut remote = crate::bucket::Remote::connect(uris)?;
    let (objects, listing, problems) = remote.list(uris, &scope)?;
    if objects.is_empty() && !problems.is_empty() && problems.len() as u64 == listing.list_requests {
        anyhow::bail!("{}", problems.join("; "));
    }
    found.problems.extend(problems);
    let mut digests = Vec::new();
    for (bucket, listed) in objects {
        match classify_key(&listed.key, Some(listed.size)) {
            KeyKind::Digest(_) => digests.push((bucket, listed.key)),
            KeyKind::Log(_) => found.logs.present.push(format!("s3://{bucket}/{}", listed.key)),
            _ => {}
        }
    }
    let refs: Vec<(&str, &str)> = digests.iter().map(|(b, k)| (b.as_str(), k.as_str())).collect();
    let mut opened = remote.open_in_order(&refs);
    for (bucket, key) in &digests {
        let location = format!("s3://{bucket}/{key}");
        match opened.next_object() {
            Some(Ok(object)) => {
                let signature =
                    object.metadata.get("signature").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                let algorithm = object.metadata.get("signature-algorithm").cloned();
                let bytes = limits::read_at_most(object.body, limits::MAX_DIGEST_BYTES);
                parse_digest(location, bytes, signature.map(|s| (s, algorithm)), range, found);
            }
            Some(Err((_, why))) => found.unreadable.push(format!("{location}: {why}")),
            None => found.unreadable.push(format!("{location}: not requested")),
        }
    }
    drop(opened);
    // The buckets the digests list log files in: CloudTrail's own, as a
    // rule; a few others at most (a digest's content is not trusted yet).
    let buckets: std::collections::BTreeSet<&str> =
        found.digests.iter().flat_map(|d| d.file.digest.log_files.iter().map(|l| l.s3_bucket.as_str())).collect();
    for bucket in buckets.into_iter().take(MAX_LOG_BUCKETS) {
        remote.add_bucket(bucket);
    }
    found.logs.remote = Some(remote);
    Ok(())
}

#[cfg(not(feature = "s3"))]
fn find_remote(
    uris: &[String],
    _: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    _: &mut Found,
) -> anyhow::Result<()> {
    anyhow::bail!("{}: this trailwatch was built without S3 support (cargo feature `s3`, on by default)", uris[0])
}
