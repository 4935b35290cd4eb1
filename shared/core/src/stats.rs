//! Mergeable statistics. Each scanned file yields a [`StatsShard`]; shards
//! merge by adding counts and uniting sets, in any order with the same result,
//! so a summary reads small shards instead of re-reading the logs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::record::{Fact, RecordFacts};
use crate::rule::Severity;

/// Counts by a text key, sorted for stable output.
pub type Counts = BTreeMap<String, u64>;

/// Console sign-ins of one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCounts {
    pub with_mfa: u64,
    pub without_mfa: u64,
    pub failed: u64,
}

/// Findings of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    pub title: String,
    pub severity: Severity,
    pub count: u64,
    pub principals: Counts,
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
    /// Source IPs seen for people (IAM users, root, Identity Center).
    pub human_source_ips: BTreeMap<String, BTreeSet<String>>,
    /// By rule id.
    pub findings: BTreeMap<String, RuleCounts>,
    /// Matches silenced by a suppression, by rule id.
    pub suppressed: Counts,
}

fn bump(counts: &mut Counts, key: &str) {
    bump_by(counts, key, 1);
}

fn bump_by(counts: &mut Counts, key: &str, n: u64) {
    match counts.get_mut(key) {
        Some(c) => *c += n,
        None => {
            counts.insert(key.to_string(), n);
        }
    }
}

fn merge_counts(into: &mut Counts, from: &Counts) {
    for (k, v) in from {
        bump_by(into, k, *v);
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

impl StatsShard {
    /// Counts one record.
    pub fn observe(&mut self, facts: &RecordFacts<'_, '_>) {
        self.records += 1;
        let time = facts.get(Fact::EventTime);
        keep_min(&mut self.first_event_time, time);
        keep_max(&mut self.last_event_time, time);
        let account = facts.account_id().unwrap_or("unknown");
        let region = facts.get(Fact::Region).unwrap_or("unknown");
        bump(&mut self.account_regions, &format!("{account}/{region}"));
        let source = facts.get(Fact::EventSource).unwrap_or("unknown");
        let name = facts.get(Fact::EventName).unwrap_or("unknown");
        bump(&mut self.events, &format!("{source}:{name}"));
        let principal = facts.principal().unwrap_or("unknown");
        bump(&mut self.principals, principal);
        if let Some(ip) = facts.get(Fact::SourceIp) {
            bump(&mut self.source_ips, ip);
            if facts.is_human() {
                let ips = self.human_source_ips.entry(principal.to_string()).or_default();
                if !ips.contains(ip) {
                    ips.insert(ip.to_string());
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

    /// Counts one finding.
    pub fn observe_finding(&mut self, finding: &Finding) {
        let rule = &finding.rule;
        let counts = self.findings.entry(rule.id.clone()).or_insert_with(|| RuleCounts {
            title: rule.title.clone(),
            severity: rule.severity,
            count: 0,
            principals: Counts::new(),
        });
        counts.count += 1;
        bump(&mut counts.principals, finding.principal_arn.as_deref().unwrap_or("unknown"));
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
        }
        for (who, ips) in &other.human_source_ips {
            self.human_source_ips.entry(who.clone()).or_default().extend(ips.iter().cloned());
        }
        for (id, counts) in &other.findings {
            match self.findings.get_mut(id) {
                Some(mine) => {
                    mine.count += counts.count;
                    merge_counts(&mut mine.principals, &counts.principals);
                }
                None => {
                    self.findings.insert(id.clone(), counts.clone());
                }
            }
        }
    }
}

/// The `n` largest entries, largest first (ties by key).
pub fn top(counts: &Counts, n: usize) -> Vec<(&str, u64)> {
    let mut all: Vec<(&str, u64)> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    all.truncate(n);
    all
}
