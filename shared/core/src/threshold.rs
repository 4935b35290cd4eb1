//! Threshold rules: a pattern, plus "alert when one principal (or IP, or
//! ...) makes N matches, or N distinct values of a field, within a window".
//!
//! ```toml
//! [rule.threshold]
//! by = ["principal", "account"]   # what to count per (default: principal and account)
//! count = 20                      # alert at this many
//! distinct = "request"            # optional: count distinct values of this field instead of matches
//! window = "10m"                  # 1 minute to 24 hours
//! ```
//!
//! Semantics, exactly: event times are cut into fixed windows aligned to the
//! Unix epoch (`floor(eventTime / window)`; a record without a time falls in
//! window 0). Per rule, per value of `by`, per window, the matches (or the
//! distinct values of `distinct`) are counted; when the count reaches
//! `count`, the rule alerts once for that window. A burst that straddles a
//! window boundary is counted in two windows. Matches of a threshold rule
//! never alert one by one; they are counted in the statistics like any
//! other finding. The CLI counts across every file it is given; the
//! detection function across every file, with each file's counts kept in
//! the state bucket.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::alert::{field, Alert, AlertEvent, AlertKind};
use crate::finding::Finding;
use crate::rule::Rule;
use crate::text::printable;

/// Distinct keys (rule, values, window) one scan keeps; more are counted as dropped.
pub const MAX_TALLIES: usize = 10_000;
/// Distinct values kept per tally (enough to decide; more are not needed).
const MAX_DISTINCT: usize = 1_000;
const SAMPLES: usize = 5;

/// A field of a finding to count per, or to count distinct values of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupField {
    Principal,
    Account,
    Region,
    SourceIp,
    UserAgent,
    EventName,
    /// `requestParameters` as compact JSON (distinct resources asked for).
    Request,
}

impl GroupField {
    pub fn name(self) -> &'static str {
        match self {
            GroupField::Principal => "principal",
            GroupField::Account => "account",
            GroupField::Region => "region",
            GroupField::SourceIp => "source_ip",
            GroupField::UserAgent => "user_agent",
            GroupField::EventName => "event_name",
            GroupField::Request => "request",
        }
    }

    fn of(self, f: &Finding) -> &str {
        let v = match self {
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
}

fn default_by() -> Vec<GroupField> {
    vec![GroupField::Principal, GroupField::Account]
}

/// A rule's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default = "default_by")]
    pub by: Vec<GroupField>,
    pub count: u64,
    #[serde(default)]
    pub distinct: Option<GroupField>,
    pub window: String,
}

impl Threshold {
    /// The window in seconds, checked: 1 minute to 24 hours.
    pub fn window_secs(&self) -> Result<i64, String> {
        let d = humantime::parse_duration(self.window.trim())
            .map_err(|e| format!("threshold window '{}': {e}", self.window))?;
        let secs = d.as_secs() as i64;
        if !(60..=86_400).contains(&secs) {
            return Err(format!("threshold window '{}' must be between 1m and 24h", self.window));
        }
        Ok(secs)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.window_secs()?;
        if self.count < 2 {
            return Err("a threshold count below 2 is a plain rule: leave the threshold out".into());
        }
        if self.by.is_empty() {
            return Err("threshold `by` needs at least one field".into());
        }
        Ok(())
    }
}

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
        let key: Vec<String> = threshold.by.iter().map(|b| b.of(f).to_string()).collect();
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
                tally.distinct.insert(crate::finding::cut(d.of(f), 500));
            }
        }
        if tally.samples.len() < SAMPLES {
            tally.samples.push(AlertEvent::of(f));
        }
    }
}

/// The alert for a tally that reached its rule's threshold (`None` for a
/// rule without one).
pub fn threshold_alert(rule: &Rule, tally: &Tally, source: &str) -> Option<Alert> {
    let threshold = rule.threshold.as_ref()?;
    let measure = tally.measure(threshold);
    let what = match threshold.distinct {
        Some(d) => format!("{measure} distinct {} values", d.name()),
        None => format!("{measure} matches"),
    };
    let by: Vec<String> =
        threshold.by.iter().zip(&tally.key).map(|(b, v)| format!("{}={}", b.name(), printable(v, 200))).collect();
    let start = OffsetDateTime::from_unix_timestamp(tally.window_start)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    let mut alert = Alert::new(
        format!("threshold|{}|{}|{}", rule.id, tally.key.join("|"), tally.window_start),
        AlertKind::Finding,
        rule.severity,
        &rule.id,
        &format!("{}: {what} in {}", rule.title, threshold.window),
    )
    .with_text(&rule.description, &rule.runbook)
    .with_source(source);
    let get = |field: GroupField| threshold.by.iter().position(|b| *b == field).map(|i| tally.key[i].as_str());
    let first = tally.samples.first();
    alert = alert.at(
        get(GroupField::Account).or_else(|| first.and_then(|s| s.account_id.as_deref())),
        first.and_then(|s| s.region.as_deref()),
    );
    alert.principal = field(get(GroupField::Principal).or_else(|| first.and_then(|s| s.principal.as_deref())));
    alert.source_ip = field(get(GroupField::SourceIp));
    alert.count = tally.count;
    alert.events = tally.samples.clone();
    alert.more_events = tally.count.saturating_sub(alert.events.len() as u64);
    let unit = if threshold.distinct.is_some() { "distinct values" } else { "matches" };
    let mut details = format!(
        "Threshold: {} {unit} per {} in one window of {}\n",
        threshold.count,
        by.join(", "),
        printable(&threshold.window, 40)
    );
    let _ =
        writeln!(details, "Window: from {start}; {} matches, {} distinct values", tally.count, tally.distinct.len());
    alert.details = details;
    alert.tags = rule.tags.clone();
    alert.origin = rule.origin.clone();
    Some(alert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Collect, Engine, EngineOptions};
    use crate::rule::RuleSet;

    const RULE: &str = r#"[[rule]]
id = "secret-burst"
title = "Secrets burst"
severity = "high"
pattern = '{ $.eventName = GetSecretValue }'
threshold = { by = ["principal"], count = 3, distinct = "request", window = "10m" }
description = "d"
examples.match = ['{"eventName":"GetSecretValue"}']
examples.no_match = ['{"eventName":"X"}']
"#;

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
    fn bad_thresholds_are_refused_when_rules_load() {
        for (threshold, problem) in [
            (r#"{ count = 1, window = "10m" }"#, "below 2"),
            (r#"{ count = 5, window = "10s" }"#, "between 1m and 24h"),
            (r#"{ count = 5, window = "soon" }"#, "threshold window"),
            (r#"{ count = 5, window = "1h", by = [] }"#, "at least one field"),
            (r#"{ count = 5, window = "1h", by = ["colour"] }"#, "unknown variant"),
        ] {
            let text =
                RULE.replace(r#"{ by = ["principal"], count = 3, distinct = "request", window = "10m" }"#, threshold);
            let error = RuleSet::from_toml(&text, "t.toml").unwrap_err().to_string();
            assert!(error.contains(problem), "{threshold}: {error}");
        }
    }
}
