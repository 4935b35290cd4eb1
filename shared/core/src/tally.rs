//! Counting the matches of threshold rules ([`crate::threshold`]): per
//! rule, per value of its `by` fields, per epoch-aligned window, with caps.
//! A file's [`Tallies`] merge with other files' (the detection function
//! keeps them in the state bucket; the CLI across the files it reads).
//!
//! Memory stays flat whatever the number of matches:
//! - at most [`MAX_TALLIES`] keys (more are counted as dropped);
//! - distinct values are kept as 64-bit hashes, and only up to twice the
//!   rule's count (at most [`MAX_DISTINCT`]): enough to decide exactly
//!   whether the threshold is reached, also after merging, and an alert past
//!   that says "N or more";
//! - sample events (what an alert lists) are shared out of one budget of
//!   [`SAMPLE_BUDGET`]: when it is spent, the tallies furthest from their
//!   threshold give theirs back (and take new ones as their matches go on),
//!   so the samples stay with the tallies that alert.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::event::AlertEvent;
use crate::finding::Finding;
use crate::threshold::{GroupField, Threshold};

/// Distinct keys (rule, values, window) one scan keeps; more are counted as dropped.
pub const MAX_TALLIES: usize = 10_000;
/// Distinct values kept per tally, at most (see the module's notes).
pub const MAX_DISTINCT: usize = 1_000;
/// Sample events one tally keeps.
const SAMPLES: usize = 5;
/// Sample events all the tallies of one scan keep together.
pub const SAMPLE_BUDGET: usize = 1_000;

/// One (rule, values of `by`, window)'s count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub rule: String,
    /// The values of `by`, in its order.
    pub key: Vec<String>,
    /// The window's start, seconds since the epoch.
    pub window_start: i64,
    pub count: u64,
    /// Hashes of the distinct values of `distinct` (capped), when the rule
    /// counts those. Parts written before hashing held the values: they are
    /// read and hashed.
    #[serde(deserialize_with = "hashed")]
    pub distinct: BTreeSet<u64>,
    /// More distinct values were seen than are kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_capped: bool,
    pub samples: Vec<AlertEvent>,
}

impl Tally {
    /// What is compared with the threshold: matches, or distinct values.
    pub fn measure(&self, threshold: &Threshold) -> u64 {
        if threshold.distinct.is_some() {
            self.distinct.len() as u64
        } else {
            self.count
        }
    }

    /// Adds another file's tally of the same key and window.
    pub fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.distinct_capped |= other.distinct_capped;
        for v in &other.distinct {
            if self.distinct.len() >= MAX_DISTINCT {
                self.distinct_capped |= !self.distinct.contains(v);
                continue;
            }
            self.distinct.insert(*v);
        }
        for s in &other.samples {
            if self.samples.len() < SAMPLES {
                self.samples.push(s.clone());
            }
        }
    }
}

/// The stable 64-bit hash a distinct value is kept as (the same in every
/// run and version: parts from other files are merged by it).
pub fn distinct_hash(value: &str) -> u64 {
    let digest = Sha256::digest(value.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

fn hashed<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Kept {
        Hash(u64),
        Value(String),
    }
    let kept: Vec<Kept> = Vec::deserialize(d)?;
    Ok(kept
        .into_iter()
        .map(|k| match k {
            Kept::Hash(h) => h,
            Kept::Value(v) => distinct_hash(&v),
        })
        .collect())
}

/// A rule's threshold as the counting needs it, read once.
#[derive(Debug, Clone, Copy)]
struct Limits {
    window: i64,
    count: u64,
    /// The rule counts distinct values.
    distinct: bool,
    distinct_cap: usize,
}

/// The tallies of one scan.
#[derive(Debug, Default)]
pub struct Tallies {
    /// By a hash of (rule, values of `by`) and the window's start: the
    /// rule and values are kept once, in the tally.
    pub tallies: BTreeMap<(u64, i64), Tally>,
    /// Matches not tallied because [`MAX_TALLIES`] keys were reached.
    pub dropped: u64,
    /// Each rule's limits, parsed once.
    limits: HashMap<String, Limits>,
    /// Sample events held by all the tallies.
    samples_held: usize,
    /// The tallies that reached their threshold hold most of the budget:
    /// the others take no more samples.
    samples_closed: bool,
}

impl Tallies {
    /// Counts a finding of a threshold rule.
    pub fn add(&mut self, f: &Finding) {
        let Some(threshold) = &f.rule.threshold else { return };
        let limits = match self.limits.get(&f.rule.id) {
            Some(&limits) => limits,
            None => {
                // Checked when the rule loaded; a window that does not parse counts nothing.
                let Ok(window) = threshold.window_secs() else { return };
                let cap = usize::try_from(threshold.count.saturating_mul(2)).unwrap_or(MAX_DISTINCT);
                let limits = Limits {
                    window,
                    count: threshold.count,
                    distinct: threshold.distinct.is_some(),
                    distinct_cap: cap.min(MAX_DISTINCT),
                };
                self.limits.insert(f.rule.id.clone(), limits);
                limits
            }
        };
        let at = f
            .event_time
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .map_or(0, |t| t.unix_timestamp());
        let start = at.div_euclid(limits.window) * limits.window;
        let mut hasher = FxHasher::default();
        f.rule.id.hash(&mut hasher);
        for b in &threshold.by {
            value_of(*b, f).hash(&mut hasher);
        }
        let slot = (hasher.finish(), start);
        match self.tallies.get(&slot) {
            // Another (rule, values) with the same 64-bit hash: as rare as
            // any such collision, and counted as dropped, never mixed in.
            Some(t)
                if t.rule != f.rule.id
                    || !t.key.iter().map(String::as_str).eq(threshold.by.iter().map(|b| value_of(*b, f))) =>
            {
                self.dropped += 1;
                return;
            }
            Some(_) => {}
            None if self.tallies.len() >= MAX_TALLIES => {
                self.dropped += 1;
                return;
            }
            None => {
                let tally = Tally {
                    rule: f.rule.id.clone(),
                    key: threshold.by.iter().map(|b| value_of(*b, f).to_string()).collect(),
                    window_start: start,
                    count: 0,
                    distinct: BTreeSet::new(),
                    distinct_capped: false,
                    samples: Vec::new(),
                };
                self.tallies.insert(slot, tally);
            }
        }
        let Some(tally) = self.tallies.get_mut(&slot) else { return };
        tally.count += 1;
        if let Some(d) = threshold.distinct {
            let h = distinct_hash(value_of(d, f));
            if tally.distinct.len() < limits.distinct_cap {
                tally.distinct.insert(h);
            } else if !tally.distinct.contains(&h) {
                tally.distinct_capped = true;
            }
        }
        if tally.samples.len() >= SAMPLES {
            return;
        }
        let reached = tally.measure(threshold) >= limits.count;
        if self.samples_held >= SAMPLE_BUDGET && !self.samples_closed {
            self.make_room();
        }
        if self.samples_held < SAMPLE_BUDGET && (reached || !self.samples_closed) {
            if let Some(tally) = self.tallies.get_mut(&slot) {
                // Room for one at a time: most tallies never hold a second.
                tally.samples.reserve_exact(1);
                tally.samples.push(AlertEvent::of(f));
                self.samples_held += 1;
            }
        }
    }

    /// What a reader must be told when matches went uncounted.
    pub fn dropped_note(&self) -> Option<String> {
        (self.dropped > 0).then(|| {
            format!(
                "note: {} matches of threshold rules not counted: more than {MAX_TALLIES} (rule, key, window) counts at once",
                self.dropped
            )
        })
    }

    /// Takes the samples back from the tallies furthest from their
    /// threshold until half the budget is free; when the tallies that
    /// reached theirs hold more than half, the others take no more.
    fn make_room(&mut self) {
        let limits = &self.limits;
        let progress = |t: &Tally| match limits.get(&t.rule) {
            Some(l) => {
                let measure = if l.distinct { t.distinct.len() as u64 } else { t.count };
                measure as f64 / l.count.max(1) as f64
            }
            None => 0.0,
        };
        let mut holders: Vec<(f64, (u64, i64))> = self
            .tallies
            .iter()
            .filter(|(_, t)| !t.samples.is_empty() && progress(t) < 1.0)
            .map(|(k, t)| (progress(t), *k))
            .collect();
        holders.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, key) in holders {
            if self.samples_held <= SAMPLE_BUDGET / 2 {
                break;
            }
            if let Some(t) = self.tallies.get_mut(&key) {
                self.samples_held -= t.samples.len();
                // Its allocation too: an empty tally holds no room for samples.
                t.samples = Vec::new();
            }
        }
        if self.samples_held > SAMPLE_BUDGET / 2 {
            self.samples_closed = true;
        }
    }
}

/// The value of `field` in a finding (`-` when it has none).
fn value_of(field: GroupField, f: &Finding) -> &str {
    let v = match field {
        GroupField::Principal => &f.principal_arn,
        GroupField::Account => &f.account_id,
        GroupField::Region => &f.region,
        GroupField::SourceIp => &f.source_ip,
        GroupField::UserAgent => &f.user_agent,
        GroupField::EventName => &f.event_name,
        GroupField::Request => &f.request_parameters,
    };
    v.as_deref().unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::threshold_alert;
    use crate::engine::{Collect, Engine, EngineOptions};
    use crate::rule::RuleSet;
    use crate::threshold::tests::RULE;

    fn read(who: &str, secret: &str, time: &str) -> String {
        format!(
            r#"{{"eventName":"GetSecretValue","eventTime":"{time}","recipientAccountId":"123456789012","awsRegion":"us-east-1","userIdentity":{{"arn":"arn:aws:iam::123456789012:user/{who}"}},"requestParameters":{{"secretId":"{secret}"}}}}"#
        )
    }

    fn tallies(records: &[String]) -> (Tallies, RuleSet) {
        let set = RuleSet::from_toml(RULE, "t.toml").unwrap();
        let engine = Engine::new(&set, EngineOptions::default()).unwrap();
        let mut sink = Collect::default();
        engine.scan("f", std::io::Cursor::new(format!(r#"{{"Records":[{}]}}"#, records.join(","))), &mut sink);
        let mut t = Tallies::default();
        for f in &sink.findings {
            t.add(f);
        }
        (t, set)
    }

    #[test]
    fn counts_distinct_values_per_key_in_epoch_aligned_windows() {
        let (t, set) = tallies(&[
            read("a", "s1", "2026-11-20T10:01:00Z"),
            read("a", "s1", "2026-11-20T10:02:00Z"),
            read("a", "s2", "2026-11-20T10:09:59Z"),
            // The next window: counted apart, though 2 minutes later.
            read("a", "s3", "2026-11-20T10:11:00Z"),
            read("b", "s1", "2026-11-20T10:03:00Z"),
        ]);
        let rule = &set.all_rules()[0];
        let threshold = rule.threshold.as_ref().unwrap();
        let mut got: Vec<(String, i64, u64, u64)> = t
            .tallies
            .values()
            .map(|x| {
                (x.key[0].rsplit('/').next().unwrap().to_string(), x.window_start % 3600, x.count, x.measure(threshold))
            })
            .collect();
        got.sort();
        assert_eq!(got, [("a".into(), 0, 3, 2), ("a".into(), 600, 1, 1), ("b".into(), 0, 1, 1)]);
    }

    #[test]
    fn merged_tallies_reach_the_threshold_and_make_one_alert() {
        let (mut first, set) =
            tallies(&[read("a", "s1", "2026-11-20T10:01:00Z"), read("a", "s2", "2026-11-20T10:02:00Z")]);
        let (second, _) = tallies(&[read("a", "s3", "2026-11-20T10:05:00Z")]);
        let rule = &set.all_rules()[0];
        let threshold = rule.threshold.as_ref().unwrap();
        let total = first.tallies.values_mut().next().unwrap();
        assert_eq!(total.measure(threshold), 2);
        total.merge(second.tallies.values().next().unwrap());
        assert_eq!(total.measure(threshold), 3);
        let alert = threshold_alert(rule, total, "s3://logs/f").unwrap();
        assert_eq!(alert.title, "Secrets burst: 3 distinct request values in 10m");
        assert_eq!(alert.principal.as_deref(), Some("arn:aws:iam::123456789012:user/a"));
        assert!(alert.id.starts_with("threshold|secret-burst|"), "{}", alert.id);
        assert_eq!(alert.events.len(), 3);
    }

    #[test]
    fn distinct_values_are_kept_up_to_twice_the_count_and_the_alert_says_or_more() {
        let reads: Vec<String> = (0..10).map(|i| read("a", &format!("s{i}"), "2026-11-20T10:01:00Z")).collect();
        let (t, set) = tallies(&reads);
        let rule = &set.all_rules()[0];
        let tally = t.tallies.values().next().unwrap();
        // The rule alerts at 3: 6 hashes are kept, and the rest is known to exist.
        assert_eq!((tally.count, tally.distinct.len(), tally.distinct_capped), (10, 6, true));
        let alert = threshold_alert(rule, tally, "f").unwrap();
        assert_eq!(alert.title, "Secrets burst: 6 or more distinct request values in 10m");
    }

    #[test]
    fn parts_written_with_values_merge_with_parts_written_with_hashes() {
        let (t, set) = tallies(&[read("a", "s1", "2026-11-20T10:01:00Z")]);
        let threshold = set.all_rules()[0].threshold.clone().unwrap();
        let mut ours = t.tallies.values().next().unwrap().clone();
        // A part from before hashing: the same secret and two others, by value.
        let mut old = serde_json::to_value(&ours).unwrap();
        old["distinct"] = serde_json::json!([r#"{"secretId":"s1"}"#, r#"{"secretId":"s2"}"#, r#"{"secretId":"s3"}"#]);
        let old: Tally = serde_json::from_value(old).unwrap();
        ours.merge(&old);
        assert_eq!(ours.measure(&threshold), 3, "s1 is one value whichever way it was kept");
        let back: Tally = serde_json::from_str(&serde_json::to_string(&ours).unwrap()).unwrap();
        assert_eq!(back, ours);
    }

    #[test]
    fn samples_stay_within_one_budget_and_with_the_tallies_that_alert() {
        let hot: Vec<String> =
            (0..3).map(|i| read("hot", &format!("s{i}"), &format!("2026-11-20T10:0{i}:00Z"))).collect();
        // Many principals reading one secret each, more than the budget of samples.
        let many: Vec<String> =
            (0..SAMPLE_BUDGET + 500).map(|i| read(&format!("u{i}"), "s", "2026-11-20T10:05:00Z")).collect();
        for reads in [[hot.clone(), many.clone()].concat(), [many, hot].concat()] {
            let (t, set) = tallies(&reads);
            let held: usize = t.tallies.values().map(|x| x.samples.len()).sum();
            assert!(held <= SAMPLE_BUDGET, "{held} samples held");
            assert_eq!(t.tallies.len(), SAMPLE_BUDGET + 501);
            let hot = t.tallies.values().find(|x| x.key[0].ends_with("/hot")).unwrap();
            let alert = threshold_alert(&set.all_rules()[0], hot, "f").unwrap();
            assert_eq!(alert.events.len(), 3, "the tally that alerts keeps its events");
        }
    }
}
