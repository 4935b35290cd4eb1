//! Counting the matches of threshold rules ([`crate::threshold`]): per
//! rule, per value of its `by` fields, per epoch-aligned window, with caps.
//! A file's [`Tallies`] merge with other files' (the detection function
//! keeps them in the state bucket; the CLI across the files it reads).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::event::AlertEvent;
use crate::finding::{cut, Finding};
use crate::threshold::{GroupField, Threshold};

/// Distinct keys (rule, values, window) one scan keeps; more are counted as dropped.
pub const MAX_TALLIES: usize = 10_000;
/// Distinct values kept per tally (enough to decide; more are not needed).
const MAX_DISTINCT: usize = 1_000;
const SAMPLES: usize = 5;

/// One (rule, values of `by`, window)'s count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub rule: String,
    /// The values of `by`, in its order.
    pub key: Vec<String>,
    /// The window's start, seconds since the epoch.
    pub window_start: i64,
    pub count: u64,
    /// Distinct values of `distinct` (capped), when the rule counts those.
    pub distinct: BTreeSet<String>,
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
        for v in &other.distinct {
            if self.distinct.len() >= MAX_DISTINCT {
                break;
            }
            self.distinct.insert(v.clone());
        }
        for s in &other.samples {
            if self.samples.len() < SAMPLES {
                self.samples.push(s.clone());
            }
        }
    }
}

/// The tallies of one scan.
#[derive(Debug, Default)]
pub struct Tallies {
    pub tallies: BTreeMap<(String, Vec<String>, i64), Tally>,
    /// Matches not tallied because [`MAX_TALLIES`] keys were reached.
    pub dropped: u64,
    /// Each rule's window in seconds, parsed once.
    windows: std::collections::HashMap<String, i64>,
}

impl Tallies {
    /// Counts a finding of a threshold rule.
    pub fn add(&mut self, f: &Finding) {
        let Some(threshold) = &f.rule.threshold else { return };
        let window = match self.windows.get(&f.rule.id) {
            Some(&window) => window,
            None => {
                // Checked when the rule loaded; a window that does not parse counts nothing.
                let Ok(window) = threshold.window_secs() else { return };
                self.windows.insert(f.rule.id.clone(), window);
                window
            }
        };
        let at = f
            .event_time
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .map_or(0, |t| t.unix_timestamp());
        let start = at.div_euclid(window) * window;
        let key: Vec<String> = threshold.by.iter().map(|b| value_of(*b, f).to_string()).collect();
        let slot = (f.rule.id.clone(), key, start);
        if !self.tallies.contains_key(&slot) && self.tallies.len() >= MAX_TALLIES {
            self.dropped += 1;
            return;
        }
        let tally = self.tallies.entry(slot).or_insert_with_key(|(rule, key, start)| Tally {
            rule: rule.clone(),
            key: key.clone(),
            window_start: *start,
            count: 0,
            distinct: BTreeSet::new(),
            samples: Vec::new(),
        });
        tally.count += 1;
        if let Some(d) = threshold.distinct {
            if tally.distinct.len() < MAX_DISTINCT {
                tally.distinct.insert(cut(value_of(d, f), 500));
            }
        }
        if tally.samples.len() < SAMPLES {
            tally.samples.push(AlertEvent::of(f));
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
}
