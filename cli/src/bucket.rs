//! Reading CloudTrail files straight from S3 (feature `s3`): the AWS SDK
//! with the default credential chain, each bucket's client in the bucket's
//! own region, a listing that descends the key layout level by level only
//! into folders the command can want, and GETs a few ahead of the reader,
//! each body streamed into it (no temporary files).

use std::collections::{HashMap, VecDeque};

use anyhow::Context;
use aws_sdk_s3::config::Region;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use trailwatch_aws::ports::{FailureKind, Listed, Object, ObjectStore};
use trailwatch_aws::s3::{bucket_region, S3Store};
use trailwatch_core::key::{classify_key, KeyKind};
use trailwatch_core::layout::{folder, DateLevel, Folder, Scope, Skip};

use crate::listing::{Listing, Opened};

/// What listing found: (bucket, object) in key order, what the listing did,
/// and the listings that failed.
pub type Found = (Vec<(String, Listed)>, Listing, Vec<String>);

/// GET requests in flight ahead of the reader.
pub const FETCH_AHEAD: usize = 16;
/// Folders listed at once.
const LIST_AHEAD: usize = 32;

/// The S3 clients, one per bucket (in its region), and the runtime they run on.
pub struct Remote {
    runtime: Runtime,
    config: trailwatch_aws::config::SdkConfig,
    stores: HashMap<String, S3Store>,
}

/// `s3://bucket/prefix` → (bucket, prefix); the prefix may be empty.
pub fn parse_uri(uri: &str) -> anyhow::Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").with_context(|| format!("'{uri}' is not an s3:// location"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        anyhow::bail!("'{uri}' names no bucket");
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

impl Remote {
    /// Credentials and settings from the environment (the default chain;
    /// `AWS_ENDPOINT_URL` for an emulator); each bucket's region asked of S3.
    pub fn connect(uris: &[String]) -> anyhow::Result<Remote> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the S3 client's runtime")?;
        let config = runtime.block_on(async {
            let config = trailwatch_aws::config::sdk_config().await;
            match config.region() {
                Some(_) => config,
                // Only to ask where each bucket is.
                None => config.to_builder().region(Region::new("us-east-1")).build(),
            }
        });
        let mut remote = Remote { runtime, config, stores: HashMap::new() };
        for uri in uris {
            remote.add_bucket(&parse_uri(uri)?.0);
        }
        Ok(remote)
    }

    /// A client for one more bucket (a digest may list objects in another
    /// bucket than the one given), in the bucket's region.
    pub fn add_bucket(&mut self, bucket: &str) {
        if self.stores.contains_key(bucket) {
            return;
        }
        let config = &self.config;
        let store = self.runtime.block_on(async {
            let client = trailwatch_aws::config::s3_client(config);
            // A bucket whose region cannot be learnt is read in the
            // configured one; its listing then says what is wrong.
            let client = match bucket_region(&client, bucket).await {
                Ok(Some(region)) if config.region().is_none_or(|r| r.as_ref() != region) => {
                    trailwatch_aws::config::s3_client(&config.to_builder().region(Region::new(region)).build())
                }
                _ => client,
            };
            S3Store::new(client)
        });
        self.stores.insert(bucket.to_string(), store);
    }

    /// The log files under each location that `scope` can want, in key
    /// order, what the listing did, and the listings that failed.
    pub fn list(&self, uris: &[String], scope: &Scope) -> anyhow::Result<Found> {
        let mut listing = Listing::default();
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for uri in uris {
            let (bucket, prefix) = parse_uri(uri)?;
            let store = self.stores[&bucket].clone();
            listing.roots.push(uri.clone());
            let found = self.runtime.block_on(walk(store, &bucket, prefix, scope, &mut listing, &mut problems));
            files.extend(found.into_iter().map(|l| (bucket.clone(), l)));
        }
        files.sort_by(|a, b| (&a.0, &a.1.key).cmp(&(&b.0, &b.1.key)));
        files.dedup_by(|a, b| a.0 == b.0 && a.1.key == b.1.key);
        Ok((files, listing, problems))
    }

    /// Opens the objects in order: up to [`FETCH_AHEAD`] requests in flight,
    /// each body read only as the caller reads it.
    pub fn open_in_order<'a>(&'a self, objects: &[(&str, &str)]) -> Opener<'a> {
        let pending = objects.iter().map(|(b, k)| (b.to_string(), k.to_string())).collect();
        Opener { remote: self, pending, in_flight: VecDeque::new() }
    }
}

/// Lists `prefix` level by level: the folders `scope` keeps are listed in
/// turn, the others counted in `listing.skipped`.
async fn walk(
    store: S3Store,
    bucket: &str,
    prefix: String,
    scope: &Scope,
    listing: &mut Listing,
    problems: &mut Vec<String>,
) -> Vec<Listed> {
    let mut files = Vec::new();
    let mut level = vec![prefix];
    while !level.is_empty() {
        let mut next = Vec::new();
        for chunk in level.chunks(LIST_AHEAD) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|prefix| {
                    let (store, bucket, prefix) = (store.clone(), bucket.to_string(), prefix.clone());
                    tokio::spawn(async move { store.list_level(&bucket, &prefix).await })
                })
                .collect();
            for task in tasks {
                listing.list_requests += 1;
                let (objects, folders) = match task.await {
                    Ok(Ok(level)) => level,
                    Ok(Err(failure)) => {
                        problems.push(format!("{failure} (the rest is read)"));
                        continue;
                    }
                    Err(e) => {
                        problems.push(format!("listing s3://{bucket}: {e}"));
                        continue;
                    }
                };
                for object in objects {
                    match want_object(scope, &object) {
                        Ok(true) => files.push(object),
                        Ok(false) => {}
                        Err(_) => listing.files_skipped += 1,
                    }
                }
                for path in folders {
                    let found = folder(&path);
                    match scope.keep(&found) {
                        Ok(()) => {
                            note(listing, &found);
                            next.push(path);
                        }
                        Err(skip) => *listing.skipped.entry(skip).or_default() += 1,
                    }
                }
            }
        }
        level = next;
    }
    files
}

/// A log file the scope wants (`Ok(true)`), another object to pass over
/// silently (folder markers; digests unless the scope reads the
/// `CloudTrail-Digest` folders), or a log file left out and why.
fn want_object(scope: &Scope, object: &Listed) -> Result<bool, Skip> {
    match classify_key(&object.key, Some(object.size)) {
        KeyKind::Log(key) => scope.keep_log(&key).map(|()| true),
        KeyKind::Digest(_) => Ok(scope.kinds.iter().any(|k| k == "CloudTrail-Digest")),
        // Loose JSON files outside the layout, as in a local directory.
        KeyKind::Other => {
            let name = object.key.rsplit('/').next().unwrap_or("");
            Ok((name.ends_with(".json") || name.ends_with(".json.gz")) && !name.contains("_CloudTrail-Digest_"))
        }
        _ => Ok(false),
    }
}

/// Counts the accounts, regions and days a kept folder adds.
fn note(listing: &mut Listing, found: &Folder) {
    match found {
        Folder::Account { account } => {
            listing.accounts.insert(account.clone());
        }
        Folder::Region { account, region, .. } => {
            listing.regions.insert(region.clone());
            listing.account_regions.insert((account.clone(), region.clone()));
        }
        Folder::Dated { level: DateLevel::Day, start, .. } => {
            listing.days.insert(start.date().to_string());
        }
        _ => {}
    }
}

/// Objects opened in order, a few requests ahead.
pub struct Opener<'a> {
    remote: &'a Remote,
    pending: VecDeque<(String, String)>,
    in_flight: VecDeque<JoinHandle<Result<Object, (FailureKind, String)>>>,
}

impl Opener<'_> {
    /// The next object whole (body and user metadata), or why not: whether
    /// it is not there ([`FailureKind::NotFound`]) and what failed in words.
    pub fn next_object(&mut self) -> Option<Result<Object, (FailureKind, String)>> {
        while self.in_flight.len() < FETCH_AHEAD {
            let Some((bucket, key)) = self.pending.pop_front() else { break };
            let store = self.remote.stores.get(&bucket).cloned();
            self.in_flight.push_back(self.remote.runtime.spawn(async move {
                let store = store.ok_or_else(|| (FailureKind::Permanent, format!("no client for bucket {bucket}")))?;
                // The caller names the object: the failure need not.
                let named = format!("GetObject s3://{bucket}/{key}: ");
                store.get(&bucket, &key).await.map_err(|failure| {
                    let message = failure.message.strip_prefix(&named).unwrap_or(&failure.message);
                    (failure.kind, format!("GetObject: {message}"))
                })
            }));
        }
        let task = self.in_flight.pop_front()?;
        Some(self.remote.runtime.block_on(task).unwrap_or_else(|e| Err((FailureKind::Transient, e.to_string()))))
    }
}

impl Iterator for Opener<'_> {
    type Item = Opened;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_object()?.map(|object| object.body).map_err(|(_, message)| message))
    }
}

impl Drop for Opener<'_> {
    fn drop(&mut self) {
        for task in &self.in_flight {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(parse_uri("s3://logs").unwrap(), ("logs".into(), String::new()));
        assert_eq!(parse_uri("s3://logs/AWSLogs/o-1/").unwrap(), ("logs".into(), "AWSLogs/o-1/".into()));
        assert!(parse_uri("s3:///x").is_err());
        assert!(parse_uri("logs/x").is_err());
    }
}
