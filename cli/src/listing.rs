//! What reading a bucket found and did, shared by `source` (which shows it)
//! and `bucket` (which fills it): the types an opened file comes in, and the
//! listing's counts for the closing line.

use std::io::Read;

use crate::render::count;

/// An opened log file, streaming.
pub type Body = Box<dyn Read + Send + 'static>;

/// A file opened, or why it could not be (naming what failed).
pub type Opened = Result<Body, String>;

/// What listing the buckets did, for the closing line.
#[derive(Debug, Default)]
pub struct Listing {
    /// The `s3://` locations given.
    pub roots: Vec<String>,
    pub accounts: std::collections::BTreeSet<String>,
    pub regions: std::collections::BTreeSet<String>,
    pub days: std::collections::BTreeSet<String>,
    /// Every account and region folder seen (for coverage), in any kept account.
    pub account_regions: std::collections::BTreeSet<(String, String)>,
    /// Folders left out (not listed), by reason.
    pub skipped: std::collections::BTreeMap<trailwatch_core::layout::Skip, u64>,
    /// Log files listed but left out by the account, region or time in their names.
    pub files_skipped: u64,
    /// ListObjectsV2 requests made (pages included).
    pub list_requests: u64,
}

impl Listing {
    /// `in 3 accounts × 2 regions × 4 days (s3://b/p: folders skipped 2 by account, 40 by the
    /// time range; 88 files skipped by name; 12 list requests)`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "in {} × {} × {} ({}",
            count(self.accounts.len() as u64, "account", "accounts"),
            count(self.regions.len() as u64, "region", "regions"),
            count(self.days.len() as u64, "day", "days"),
            self.roots.join(", ")
        );
        let skipped: Vec<String> = self.skipped.iter().map(|(why, n)| format!("{n} {}", why.describe())).collect();
        if !skipped.is_empty() {
            text.push_str(&format!(": folders skipped {}", skipped.join(", ")));
        }
        if self.files_skipped > 0 {
            text.push_str(&format!("; {} skipped by name", count(self.files_skipped, "file", "files")));
        }
        text.push_str(&format!("; {})", count(self.list_requests, "list request", "list requests")));
        text
    }
}
