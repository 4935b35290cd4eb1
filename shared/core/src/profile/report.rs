//! What was new in a window, and why: the rows of `trailwatch query
//! --report first-seen` and the "new this period" lines of the summary,
//! read from profiles (a [`Book`]) after the window's files were settled.

use std::collections::BTreeSet;

use super::batch::{Plan, Write};
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
/// networks (outside AWS, of principals known before) first seen, each a
/// sorted set of at most [`MAX_NEW`] (the lowest kept, so that merging
/// stays order-independent; `left_out` counts the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NewThisPeriod {
    pub principals: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    pub networks: BTreeSet<String>,
    pub left_out: u64,
}

/// Entries kept per kind in [`NewThisPeriod`].
pub const MAX_NEW: usize = 50;

impl NewThisPeriod {
    /// From report rows.
    pub fn of(rows: &[NewValue]) -> NewThisPeriod {
        let mut out = NewThisPeriod::default();
        for row in rows {
            let key = if row.principal.is_empty() {
                row.account.clone()
            } else {
                format!("{}|{}", row.account, row.principal)
            };
            let new_key = row.dimension == "principal" || row.why.starts_with("with the key");
            out.note(&key, &row.dimension, &row.value, new_key);
        }
        out
    }

    /// From a settled plan: what its applied writes added; `was_absent`
    /// says which profiles the store did not have before.
    pub fn of_plan(plan: &Plan, applied: &[bool], was_absent: impl Fn(&ProfileId) -> bool) -> NewThisPeriod {
        let mut out = NewThisPeriod::default();
        let new_keys: BTreeSet<&str> = plan
            .writes
            .iter()
            .zip(applied)
            .filter_map(|(w, done)| match w {
                Write::Key { profile, .. } if *done && was_absent(profile) => Some(profile.key.as_str()),
                _ => None,
            })
            .collect();
        for (write, done) in plan.writes.iter().zip(applied) {
            match write {
                Write::Key { profile, .. } if *done && new_keys.contains(profile.key.as_str()) => {
                    out.note(&profile.key, "principal", "", true)
                }
                Write::Add { profile, value, .. } if *done => {
                    out.note(&profile.key, &profile.dimension, value, new_keys.contains(profile.key.as_str()))
                }
                _ => {}
            }
        }
        out
    }

    fn note(&mut self, key: &str, dimension: &str, value: &str, new_key: bool) {
        let (account, principal) = split_key(key);
        match dimension {
            "principal" if !principal.is_empty() => self.principals.insert(format!("{principal} in {account}")),
            "region" if principal.is_empty() => self.regions.insert(format!("{value} in {account}")),
            "network" if !principal.is_empty() && value != AWS_INTERNAL && !new_key => {
                self.networks.insert(format!("{value} ({principal})"))
            }
            _ => false,
        };
        self.cap();
    }

    fn cap(&mut self) {
        for set in [&mut self.principals, &mut self.regions, &mut self.networks] {
            while set.len() > MAX_NEW {
                set.pop_last();
                self.left_out += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &NewThisPeriod) {
        self.principals.extend(other.principals.iter().cloned());
        self.regions.extend(other.regions.iter().cloned());
        self.networks.extend(other.networks.iter().cloned());
        self.left_out += other.left_out;
        self.cap();
    }

    pub fn is_empty(&self) -> bool {
        self.principals.is_empty() && self.regions.is_empty() && self.networks.is_empty()
    }

    /// Lines of text, at most `limit` entries each: one per kind that has entries.
    pub fn lines(&self, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut more = self.left_out;
        for (what, set) in [("principals", &self.principals), ("regions", &self.regions), ("networks", &self.networks)]
        {
            if !set.is_empty() {
                let shown: Vec<String> =
                    set.iter().take(limit).map(|v| crate::text::printable(v, 300).into_owned()).collect();
                more += set.len().saturating_sub(limit) as u64;
                out.push(format!("New {what}: {}", shown.join(", ")));
            }
        }
        if more > 0 {
            out.push(format!("({more} more not listed)"));
        }
        out
    }
}
