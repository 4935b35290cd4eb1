//! What was new in a window, and why: the rows of `trailwatch query
//! --report first-seen` and the "new this period" lines of the summary,
//! read from profiles (a [`Book`]) after the window's files were settled.

use std::collections::BTreeSet;

use super::{Book, ProfileId, AWS_INTERNAL, SEEN};

/// One value first seen in the window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NewValue {
    /// Seconds since the epoch.
    pub first: i64,
    pub account: String,
    /// The principal key (`role/deploy`), or empty for the account's own profiles.
    pub principal: String,
    /// A dimension name, or `principal` for a principal first seen.
    pub dimension: String,
    pub value: String,
    /// Why it counts as new: `new principal`, `first activity of the
    /// account`, or `new after N days of history`.
    pub why: String,
}

/// Splits a profile key into account and principal.
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('|').unwrap_or((key, ""))
}

/// Every value (and key) first seen in `[from, to)`, oldest first.
pub fn new_in(book: &Book, from: i64, to: i64) -> Vec<NewValue> {
    let since = |key: &str| book.get(&ProfileId::seen(key)).map(|p| p.since);
    let mut out = Vec::new();
    for (id, profile) in book.iter() {
        let (account, principal) = split_key(&id.key);
        if id.dimension == SEEN {
            if (from..to).contains(&profile.since) {
                let (dimension, value, why) = if principal.is_empty() {
                    ("account", account, "first activity of the account")
                } else {
                    ("principal", principal, "new principal")
                };
                out.push(NewValue {
                    first: profile.since,
                    account: account.into(),
                    principal: principal.into(),
                    dimension: dimension.into(),
                    value: value.into(),
                    why: why.into(),
                });
            }
            continue;
        }
        let key_since = since(&id.key);
        for (value, seen) in &profile.values {
            if !(from..to).contains(&seen.first) {
                continue;
            }
            let why = match key_since {
                Some(s) if seen.first - s < 60 => "with the key's first activity".to_string(),
                Some(s) => format!("new after {} days of history", (seen.first - s) / 86_400),
                None => "history unknown".to_string(),
            };
            out.push(NewValue {
                first: seen.first,
                account: account.into(),
                principal: principal.into(),
                dimension: id.dimension.clone(),
                value: value.clone(),
                why,
            });
        }
    }
    out.sort();
    out
}

/// The summary's "new this period": principals, regions (per account) and
/// networks (outside AWS) first seen in the window, each list sorted and
/// cut at `max` entries (with the number left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewThisPeriod {
    pub principals: Vec<String>,
    pub regions: Vec<String>,
    pub networks: Vec<String>,
    pub left_out: usize,
}

impl NewThisPeriod {
    pub fn of(rows: &[NewValue], max: usize) -> NewThisPeriod {
        let mut principals = BTreeSet::new();
        let mut regions = BTreeSet::new();
        let mut networks = BTreeSet::new();
        for row in rows {
            match row.dimension.as_str() {
                "principal" => principals.insert(format!("{} in {}", row.principal, row.account)),
                "region" if row.principal.is_empty() => regions.insert(format!("{} in {}", row.value, row.account)),
                "network" if row.value != AWS_INTERNAL && !row.why.starts_with("with the key") => {
                    networks.insert(format!("{} ({})", row.value, row.principal))
                }
                _ => false,
            };
        }
        let mut left_out = 0;
        let mut cut = |set: BTreeSet<String>| {
            left_out += set.len().saturating_sub(max);
            set.into_iter().take(max).collect()
        };
        NewThisPeriod { principals: cut(principals), regions: cut(regions), networks: cut(networks), left_out }
    }

    /// Lines of text: one per kind that has entries.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, list) in [("principals", &self.principals), ("regions", &self.regions), ("networks", &self.networks)]
        {
            if !list.is_empty() {
                out.push(format!("New {what}: {}", list.join(", ")));
            }
        }
        if self.left_out > 0 {
            out.push(format!("({} more not listed)", self.left_out));
        }
        out
    }
}
