//! Where the log files come from: local paths, or `s3://bucket/prefix`
//! (feature `s3`), read one after another in name order. Local files are
//! found by [`inputs`]; buckets are listed only where the key layout says a
//! file can be wanted, and read with a few requests in flight (see `bucket`).

use std::fs::File;
use std::ops::ControlFlow;
use std::path::PathBuf;

use trailwatch_core::layout::Scope;

use crate::inputs;
use crate::listing::{Body, Listing, Opened};

/// One log file to read.
pub struct Source {
    /// What problems and findings name it by: its path or `s3://bucket/key`.
    pub name: String,
    /// The file name (the last part of the key or path).
    pub file_name: String,
    /// Its size, when known before reading.
    pub size: Option<u64>,
    location: Location,
}

enum Location {
    File(PathBuf),
    #[cfg(feature = "s3")]
    Object {
        bucket: String,
        key: String,
    },
}

/// The log files under the paths given, in order.
pub struct Sources {
    pub files: Vec<Source>,
    /// Set when some path was a bucket.
    pub listing: Option<Listing>,
    /// Listings that failed (a denied prefix), each naming the prefix: the rest was listed.
    pub problems: Vec<String>,
    #[cfg(feature = "s3")]
    remote: Option<crate::bucket::Remote>,
}

/// True when a path on the command line names an S3 location.
pub fn is_s3(path: &std::path::Path) -> bool {
    path.to_str().is_some_and(|p| p.starts_with("s3://"))
}

impl Sources {
    /// Local files under the local paths; under each `s3://` path, the log
    /// files the scope can want (folders outside it are not listed).
    pub fn collect(paths: &[PathBuf], scope: &Scope) -> anyhow::Result<Sources> {
        let (remote, local): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| is_s3(p));
        let local: Vec<PathBuf> = local.into_iter().cloned().collect();
        let mut files = Vec::new();
        if !local.is_empty() {
            for path in inputs::collect(&local)? {
                let size = std::fs::metadata(&path).ok().map(|m| m.len());
                let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
                files.push(Source {
                    name: path.display().to_string(),
                    file_name,
                    size,
                    location: Location::File(path),
                });
            }
        }
        if remote.is_empty() {
            return Ok(Sources {
                files,
                listing: None,
                problems: Vec::new(),
                #[cfg(feature = "s3")]
                remote: None,
            });
        }
        Sources::collect_remote(files, &remote, scope)
    }

    #[cfg(feature = "s3")]
    fn collect_remote(mut files: Vec<Source>, uris: &[&PathBuf], scope: &Scope) -> anyhow::Result<Sources> {
        let uris: Vec<String> = uris.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let remote = crate::bucket::Remote::connect(&uris)?;
        let (objects, listing, problems) = remote.list(&uris, scope)?;
        for (bucket, listed) in objects {
            let file_name = listed.key.rsplit('/').next().unwrap_or("").to_string();
            files.push(Source {
                name: format!("s3://{bucket}/{}", listed.key),
                file_name,
                size: Some(listed.size),
                location: Location::Object { bucket, key: listed.key },
            });
        }
        // Every listing failed (no such bucket, no credentials, denied at the root): nothing to do.
        if files.is_empty() && !problems.is_empty() && problems.len() as u64 == listing.list_requests {
            anyhow::bail!("{}", problems.join("; "));
        }
        // Nothing there at all (as opposed to everything left out): a wrong location.
        let left_out = listing.files_skipped + listing.skipped.values().sum::<u64>();
        if files.is_empty() && problems.is_empty() && left_out == 0 {
            anyhow::bail!("no CloudTrail log files under {} {}", uris.join(", "), listing.describe());
        }
        Ok(Sources { files, listing: Some(listing), problems, remote: Some(remote) })
    }

    #[cfg(not(feature = "s3"))]
    fn collect_remote(_: Vec<Source>, uris: &[&PathBuf], _: &Scope) -> anyhow::Result<Sources> {
        anyhow::bail!(
            "{}: this trailwatch was built without S3 support (cargo feature `s3`, on by default)",
            uris[0].display()
        )
    }

    /// Prints the listing problems (each naming its prefix); how many.
    pub fn report_problems(&self) -> u64 {
        for problem in &self.problems {
            eprintln!("error: {}", trailwatch_core::text::printable(problem, 1000));
        }
        self.problems.len() as u64
    }

    /// The bytes of all the files, when every size is known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Opens the files one after another, in order, and hands each to
    /// `read` (or why it could not be opened) until it returns `Break`.
    /// Objects are requested a few ahead; each body streams as it is read.
    pub fn read_each(
        &self,
        wanted: &dyn Fn(usize, &Source) -> bool,
        read: &mut dyn FnMut(usize, &Source, Opened) -> ControlFlow<()>,
    ) {
        #[cfg(feature = "s3")]
        if let Some(remote) = &self.remote {
            let order: Vec<(usize, &Source)> = self.files.iter().enumerate().filter(|(n, f)| wanted(*n, f)).collect();
            let objects: Vec<(&str, &str)> = order
                .iter()
                .filter_map(|(_, f)| match &f.location {
                    Location::Object { bucket, key } => Some((bucket.as_str(), key.as_str())),
                    Location::File(_) => None,
                })
                .collect();
            let mut opened = remote.open_in_order(&objects);
            for (n, source) in order {
                let body = match &source.location {
                    Location::File(path) => open_file(path),
                    Location::Object { .. } => opened.next().unwrap_or_else(|| Err("not requested".into())),
                };
                if read(n, source, body).is_break() {
                    return;
                }
            }
            return;
        }
        for (n, source) in self.files.iter().enumerate() {
            if !wanted(n, source) {
                continue;
            }
            let body = match &source.location {
                Location::File(path) => open_file(path),
                #[cfg(feature = "s3")]
                Location::Object { .. } => Err("no S3 client".into()),
            };
            if read(n, source, body).is_break() {
                return;
            }
        }
    }
}

fn open_file(path: &std::path::Path) -> Opened {
    File::open(path).map(|f| Box::new(f) as Body).map_err(|e| e.to_string())
}
