//! Threshold rules across files: each file's counts per (rule, key, window)
//! are kept in the state bucket, and the rule alerts once per window, from
//! whichever file brings the sum to the threshold.
//!
//! ```text
//! thresholds/<tally>/<file>.json   one file's count (and distinct values) for the tally
//! thresholds/<tally>/alerted       created once (If-None-Match: *) by the file that alerts
//! ```
//!
//! Each file writes its part, then lists and adds up every part. S3 lists
//! what was written before, so of files writing at the same time the last
//! one to list sees every part; the conditional create of `alerted` lets
//! exactly one of the files that see the threshold reached alert (a retry of
//! that file finds its own name there and alerts again, which the ledger
//! keeps from being sent twice).

use sha2::{Digest as _, Sha256};
use trailwatch_core::rule::Rule;
use trailwatch_core::tally::{Tallies, Tally};

use crate::ports::{Condition, Failure, FailureKind, ObjectStore, Result};

pub const THRESHOLDS: &str = "thresholds/";
/// Tallies one file takes to the state bucket (each costs a write and a
/// listing); past it, the rest are logged as not counted.
pub const MAX_FILE_TALLIES: usize = 100;

fn hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Threshold counts in a state bucket.
#[derive(Debug, Clone)]
pub struct ThresholdStore<S> {
    store: S,
    bucket: String,
}

impl<S: ObjectStore> ThresholdStore<S> {
    pub fn new(store: S, bucket: impl Into<String>) -> Self {
        ThresholdStore { store, bucket: bucket.into() }
    }

    /// Records the file's tallies and returns, for each that reached its
    /// rule's threshold with this file chosen to alert, the rule and the
    /// tally summed over every file. `rule_of` finds a rule by id.
    pub async fn record<'r>(
        &self,
        tallies: &Tallies,
        source: &str,
        rule_of: impl Fn(&str) -> Option<&'r Rule>,
    ) -> Result<Vec<(&'r Rule, Tally)>> {
        let file = hash(source);
        let mut reached = Vec::new();
        for tally in tallies.tallies.values().take(MAX_FILE_TALLIES) {
            let Some(rule) = rule_of(&tally.rule) else { continue };
            let Some(threshold) = &rule.threshold else { continue };
            let dir = format!(
                "{THRESHOLDS}{}/",
                hash(&format!("{}\n{}\n{}", tally.rule, tally.key.join("\n"), tally.window_start))
            );
            let body = serde_json::to_vec(tally).map_err(|e| Failure::new(FailureKind::Permanent, e.to_string()))?;
            self.store.put(&self.bucket, &format!("{dir}{file}.json"), body, false).await?;
            let mut sum: Option<Tally> = None;
            for listed in self.store.list(&self.bucket, &dir).await? {
                if !listed.key.ends_with(".json") {
                    continue;
                }
                let part = match self.store.get_small(&self.bucket, &listed.key).await {
                    Ok(bytes) => serde_json::from_slice::<Tally>(&bytes)
                        .map_err(|e| {
                            tracing::error!(
                                key = %listed.key,
                                error = %e,
                                "a threshold part is corrupt and not counted: the sum may stay short of the threshold"
                            )
                        })
                        .ok(),
                    Err(f) if f.kind == FailureKind::NotFound => None,
                    Err(f) => return Err(f),
                };
                match (&mut sum, part) {
                    (None, Some(part)) => sum = Some(part),
                    (Some(total), Some(part)) => total.merge(&part),
                    _ => {}
                }
            }
            let Some(sum) = sum else { continue };
            if sum.measure(threshold) < threshold.count {
                continue;
            }
            let marker = format!("{dir}alerted");
            let ours =
                match self.store.put_if(&self.bucket, &marker, file.clone().into_bytes(), Condition::Absent).await {
                    Ok(_) => true,
                    Err(f) if f.kind == FailureKind::PreconditionFailed => {
                        self.store.get_small(&self.bucket, &marker).await? == file.as_bytes()
                    }
                    Err(f) => return Err(f),
                };
            if ours {
                reached.push((rule, sum));
            }
        }
        if tallies.tallies.len() > MAX_FILE_TALLIES {
            tracing::warn!(
                tallies = tallies.tallies.len(),
                kept = MAX_FILE_TALLIES,
                "more threshold tallies in one file than are counted across files"
            );
        }
        Ok(reached)
    }
}
