//! Finding the log files (and digest files) under the paths given on the
//! command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use trailwatch_core::limits;

/// A CloudTrail digest file (`..._CloudTrail-Digest_...json.gz`), by name.
pub fn is_digest_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains("_CloudTrail-Digest_"))
}

/// Whether a file found in a directory is JSON (plain or gzipped).
fn is_json_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") || name.ends_with(".json.gz")
}

/// Log files: regular files named on the command line are taken as they
/// are (FIFOs, devices and sockets are refused: a FIFO would block);
/// directories are searched recursively for `.json` and `.json.gz` files
/// that are not digest files (symbolic links are not followed), in name
/// order.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let files = find(paths, &|p| is_json_name(p) && !is_digest_name(p))?;
    if files.is_empty() {
        bail!("no .json or .json.gz files under {}", display_list(paths));
    }
    Ok(files)
}

/// Every `.json` and `.json.gz` file, digest files included.
pub fn collect_all(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    find(paths, &is_json_name)
}

fn find(paths: &[PathBuf], wanted: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if meta.is_dir() {
            walk(path, wanted, &mut files)?;
        } else {
            limits::check_regular(path).with_context(|| format!("{}", path.display()))?;
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, wanted: &dyn Fn(&Path) -> bool, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}", dir.display()))?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let kind = entry.file_type().with_context(|| format!("{}", entry.path().display()))?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, wanted, files)?;
        } else if kind.is_file() && wanted(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn display_list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
