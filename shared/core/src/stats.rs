//! Mergeable statistics. Each scanned file yields a [`StatsShard`]; shards
//! merge by adding counts and uniting sets, in any order with the same result,
//! so a summary reads small shards instead of re-reading the logs.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::record::{Fact, RecordFacts};
use crate::rule::{Rule, Severity};

/// Counts by a text key. A hash map for speed on the per-record path;
/// serialized sorted by key, so the same counts always give the same JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(FxHashMap<String, u64>);

impl Counts {
    pub fn new() -> Self {
        Counts::default()
    }

    pub fn get(&self, key: &str) -> Option<&u64> {
        self.0.get(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &u64)> {
        self.0.iter()
    }

    /// Sorted by key.
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_unstable();
        all
    }

    /// Adds `n` to `key`, allocating only for a new key.
    pub fn add(&mut self, key: &str, n: u64) {
        match self.0.get_mut(key) {
            Some(c) => *c += n,
            None => {
                self.0.insert(key.to_string(), n);
            }
        }
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.sorted())
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        FxHashMap::deserialize(deserializer).map(Counts)
    }
}

/// Console sign-ins of one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCounts {
    /// `MFAUsed` exactly `Yes`, compared as CIS compares it (case-sensitive),
    /// so a `YES` counts without MFA, as the no-MFA rule alerts on it.
    pub with_mfa: u64,
    /// IAM users and root signing in with a password alone.
    pub without_mfa: u64,
    pub failed: u64,
    /// Sign-ins through an identity provider (IAM Identity Center, SAML,
    /// web identity): CloudTrail logs them with `MFAUsed: No` because MFA,
    /// if any, happened at the provider, so they are neither.
    #[serde(default)]
    pub via_idp: u64,
}

/// Findings of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    pub title: String,
    pub severity: Severity,
    pub count: u64,
    pub principals: Counts,
    /// False for rules that count without alerting (compliance grade, dry run).
    #[serde(default = "alerting", skip_serializing_if = "is_alerting")]
    pub alerts: bool,
    /// True for a rule in a dry run (which [`RuleCounts::alerts`] says is
    /// not sent), to tell it from a compliance-grade rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl RuleCounts {
    /// No findings yet of `rule`.
    pub fn of(rule: &Rule) -> Self {
        RuleCounts {
            title: rule.title.clone(),
            severity: rule.severity,
            count: 0,
            principals: Counts::new(),
            alerts: rule.alerts(),
            dry_run: crate::Grade::of(rule) == crate::Grade::DryRun,
        }
    }

    /// Counts one finding, by `principal`.
    pub fn observe(&mut self, principal: Option<&str>) {
        self.count += 1;
        bump(&mut self.principals, principal.unwrap_or("unknown"));
    }

    /// The rule's grade as far as the statistics know it (a threshold rule
    /// that sends counts as `alerts` here).
    pub fn grade(&self) -> crate::Grade {
        match (self.alerts, self.dry_run) {
            (true, _) => crate::Grade::Alerts,
            (false, true) => crate::Grade::DryRun,
            (false, false) => crate::Grade::CountedOnly,
        }
    }
}

fn alerting() -> bool {
    true
}

fn is_alerting(alerts: &bool) -> bool {
    *alerts
}

/// Statistics of one or more log files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsShard {
    pub files: u64,
    pub records: u64,
    /// Read problems (bad records, unreadable files).
    pub problems: u64,
    pub first_event_time: Option<String>,
    pub last_event_time: Option<String>,
    /// By `account/region`.
    pub account_regions: Counts,
    /// By `eventSource:eventName`.
    pub events: Counts,
    pub principals: Counts,
    pub source_ips: Counts,
    /// By errorCode.
    pub errors: Counts,
    /// AccessDenied / UnauthorizedOperation errors by principal.
    pub denied_by_principal: Counts,
    pub console_logins: BTreeMap<String, LoginCounts>,
    /// Root's own actions, by event name.
    pub root_events: Counts,
    /// Write calls to IAM, by principal.
    pub iam_changes_by_principal: Counts,
    /// Source IPs seen for people (IAM users, root, Identity Center), at most
    /// [`MAX_IPS_PER_PERSON`] each.
    pub human_source_ips: BTreeMap<String, BTreeSet<String>>,
    /// By rule id.
    pub findings: BTreeMap<String, RuleCounts>,
    /// Matches silenced by a suppression, by rule id.
    pub suppressed: Counts,
    /// Time from event to alert, by lane (`file`, `eventbridge`,
    /// `cloudwatch-logs`): filled where alerts are sent, not by a scan.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub time_to_alert: crate::latency::ByLane,
    /// What the first-seen profiles found new: principals, account regions,
    /// networks (bounded, see [`crate::profile::report::NewThisPeriod`]).
    #[serde(skip_serializing_if = "crate::profile::report::NewThisPeriod::is_empty")]
    pub new_this_period: crate::profile::report::NewThisPeriod,
}

fn bump(counts: &mut Counts, key: &str) {
    counts.add(key, 1);
}

/// Counts `a` + `sep` + `b`, building the key in `scratch`.
fn bump_pair(counts: &mut Counts, scratch: &mut String, a: &str, sep: char, b: &str) {
    scratch.clear();
    scratch.push_str(a);
    scratch.push(sep);
    scratch.push_str(b);
    counts.add(scratch, 1);
}

fn merge_counts(into: &mut Counts, from: &Counts) {
    for (k, v) in from.iter() {
        into.add(k, *v);
    }
}

fn keep_min(slot: &mut Option<String>, candidate: Option<&str>) {
    if let Some(c) = candidate {
        if slot.as_deref().is_none_or(|s| c < s) {
            *slot = Some(c.to_string());
        }
    }
}

fn keep_max(slot: &mut Option<String>, candidate: Option<&str>) {
    if let Some(c) = candidate {
        if slot.as_deref().is_none_or(|s| c > s) {
            *slot = Some(c.to_string());
        }
    }
}

/// At most this many source IPs are kept per person (the lowest, so that
/// merging stays order-independent); enough to tell "new IP" in a summary
/// without letting one odd principal grow a shard without bound.
pub const MAX_IPS_PER_PERSON: usize = 64;

fn cap_ips(ips: &mut BTreeSet<String>) {
    while ips.len() > MAX_IPS_PER_PERSON {
        ips.pop_last();
    }
}

impl StatsShard {
    /// Counts one record.
    pub fn observe(&mut self, facts: &RecordFacts<'_, '_>) {
        self.records += 1;
        let time = facts.get(Fact::EventTime);
        keep_min(&mut self.first_event_time, time);
        keep_max(&mut self.last_event_time, time);
        let account = facts.account_id().unwrap_or("unknown");
        let region = facts.get(Fact::Region).unwrap_or("unknown");
        let mut scratch = String::with_capacity(96);
        bump_pair(&mut self.account_regions, &mut scratch, account, '/', region);
        let source = facts.get(Fact::EventSource).unwrap_or("unknown");
        let name = facts.get(Fact::EventName).unwrap_or("unknown");
        bump_pair(&mut self.events, &mut scratch, source, ':', name);
        let principal = facts.principal().unwrap_or("unknown");
        bump(&mut self.principals, principal);
        if let Some(ip) = facts.get(Fact::SourceIp) {
            bump(&mut self.source_ips, ip);
            if facts.is_human() {
                let ips = self.human_source_ips.entry(principal.to_string()).or_default();
                if !ips.contains(ip) {
                    ips.insert(ip.to_string());
                    cap_ips(ips);
                }
            }
        }
        if let Some(code) = facts.get(Fact::ErrorCode) {
            bump(&mut self.errors, code);
            if code.starts_with("AccessDenied") || code.ends_with("UnauthorizedOperation") {
                bump(&mut self.denied_by_principal, principal);
            }
        }
        if name == "ConsoleLogin" {
            let login = self.console_logins.entry(principal.to_string()).or_default();
            if facts.failed() {
                login.failed += 1;
            } else if !matches!(facts.get(Fact::IdentityType), Some("IAMUser" | "Root")) {
                login.via_idp += 1;
            } else if facts.get(Fact::MfaUsed) == Some("Yes") {
                login.with_mfa += 1;
            } else {
                login.without_mfa += 1;
            }
        }
        if facts.is_root() {
            bump(&mut self.root_events, name);
        }
        if source == "iam.amazonaws.com" && facts.read_only() == Some(false) && !facts.failed() {
            bump(&mut self.iam_changes_by_principal, principal);
        }
    }

    /// Adds the findings of rule `id` counted elsewhere.
    pub fn add_rule_counts(&mut self, id: &str, counts: RuleCounts) {
        match self.findings.get_mut(id) {
            Some(mine) => {
                mine.count += counts.count;
                merge_counts(&mut mine.principals, &counts.principals);
            }
            None => {
                self.findings.insert(id.to_string(), counts);
            }
        }
    }

    /// Counts one match that a suppression silenced.
    pub fn observe_suppressed(&mut self, rule_id: &str) {
        bump(&mut self.suppressed, rule_id);
    }

    /// Findings per severity, highest first.
    pub fn findings_by_severity(&self) -> Vec<(Severity, u64)> {
        let mut out: Vec<(Severity, u64)> = Severity::ALL
            .iter()
            .rev()
            .map(|sev| (*sev, self.findings.values().filter(|r| r.severity == *sev).map(|r| r.count).sum()))
            .collect();
        out.retain(|(_, n)| *n > 0);
        out
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &StatsShard) {
        self.new_this_period.merge(&other.new_this_period);
        self.files += other.files;
        self.records += other.records;
        self.problems += other.problems;
        keep_min(&mut self.first_event_time, other.first_event_time.as_deref());
        keep_max(&mut self.last_event_time, other.last_event_time.as_deref());
        merge_counts(&mut self.account_regions, &other.account_regions);
        merge_counts(&mut self.events, &other.events);
        merge_counts(&mut self.principals, &other.principals);
        merge_counts(&mut self.source_ips, &other.source_ips);
        merge_counts(&mut self.errors, &other.errors);
        merge_counts(&mut self.denied_by_principal, &other.denied_by_principal);
        merge_counts(&mut self.root_events, &other.root_events);
        merge_counts(&mut self.iam_changes_by_principal, &other.iam_changes_by_principal);
        merge_counts(&mut self.suppressed, &other.suppressed);
        for (who, login) in &other.console_logins {
            let mine = self.console_logins.entry(who.clone()).or_default();
            mine.with_mfa += login.with_mfa;
            mine.without_mfa += login.without_mfa;
            mine.failed += login.failed;
            mine.via_idp += login.via_idp;
        }
        for (who, ips) in &other.human_source_ips {
            let mine = self.human_source_ips.entry(who.clone()).or_default();
            mine.extend(ips.iter().cloned());
            cap_ips(mine);
        }
        for (lane, times) in &other.time_to_alert {
            self.time_to_alert.entry(lane.clone()).or_default().merge(times);
        }
        for (id, counts) in &other.findings {
            self.add_rule_counts(id, counts.clone());
        }
    }
}

/// The `n` largest entries, largest first (ties by key).
pub fn top(counts: &Counts, n: usize) -> Vec<(&str, u64)> {
    let mut all = counts.sorted();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Collect, Engine, EngineOptions};
    use crate::rule::RuleSet;

    fn shard(seed: u64, records: usize) -> StatsShard {
        let mut text = Vec::new();
        crate::synth::Generator::new(seed).write_log(records, &mut text).unwrap();
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        engine.scan("s", std::io::Cursor::new(text), &mut Collect::default()).stats
    }

    #[test]
    fn merging_in_any_order_gives_the_same_aggregate() {
        let shards: Vec<StatsShard> = (1..=4).map(|seed| shard(seed, 400)).collect();
        let merge = |order: &[usize]| {
            let mut total = StatsShard::default();
            for &i in order {
                total.merge(&shards[i]);
            }
            total
        };
        let a = merge(&[0, 1, 2, 3]);
        assert_eq!(a, merge(&[3, 1, 0, 2]));
        // (s0 + s1) + (s2 + s3) == s0 + s1 + s2 + s3
        let mut left = merge(&[0, 1]);
        left.merge(&merge(&[2, 3]));
        assert_eq!(a, left);
        assert_eq!(a.records, 1600);
        assert_eq!(a.files, 4);
        // And the JSON form is stable and round-trips.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, serde_json::to_string(&merge(&[2, 0, 3, 1])).unwrap());
        assert_eq!(serde_json::from_str::<StatsShard>(&json).unwrap(), a);
    }

    #[test]
    fn given_a_console_sign_in_when_scanned_then_the_statistics_count_mfa_as_the_no_mfa_rule_does() {
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        // MFAUsed, whether the no-MFA rule alerts, the note in "why it matched".
        for (mfa, alerts, note) in [
            ("Yes", false, None),
            ("No", true, None),
            ("YES", true, Some(r#""YES" (CIS compares case-sensitively: not "Yes")"#)),
            ("yes", true, Some(r#""yes" (CIS compares case-sensitively: not "Yes")"#)),
        ] {
            // GIVEN an IAM user's successful sign-in with this MFAUsed
            let log = format!(
                r#"{{"Records":[{{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice"}},"additionalEventData":{{"MFAUsed":"{mfa}"}},"responseElements":{{"ConsoleLogin":"Success"}}}}]}}"#
            );
            // WHEN it is scanned
            let mut sink = Collect::default();
            let summary = engine.scan("s", std::io::Cursor::new(log), &mut sink);
            // THEN the rule alerts exactly when the statistics count it without MFA
            let rule = "cis-cloudwatch-3-console-login-without-mfa";
            let finding = sink.findings.iter().find(|f| f.rule.id == rule);
            let login = &summary.stats.console_logins["arn:aws:iam::123456789012:user/alice"];
            assert_eq!(finding.is_some(), alerts, "{mfa}");
            assert_eq!((login.without_mfa, login.with_mfa), if alerts { (1, 0) } else { (0, 1) }, "{mfa}");
            // AND a value that differs only in case says why it matched
            let matched = finding.map(|f| f.matched.clone()).unwrap_or_default();
            let shown = matched.iter().find(|(field, _)| field == "additionalEventData.MFAUsed");
            assert_eq!(shown.map(|(_, v)| v[0].as_str()), note, "{mfa}: {matched:?}");
        }
    }
}
