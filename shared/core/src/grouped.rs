//! Findings folded into alert groups as a scan produces them, with caps, so
//! that memory stays flat however many records of a file match: a file with
//! millions of matches costs what a file with a thousand does.
//!
//! A group is one rule and one principal. The first [`FULL_GROUPS`] groups
//! keep up to `max_events` findings in full (what an alert lists); later
//! groups keep their first finding; past [`MAX_GROUPS`] groups, findings are
//! only counted per rule. Problems are kept up to [`MAX_PROBLEMS`] and
//! counted after. Every finding is counted somewhere: nothing is dropped
//! silently.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::engine::{Hit, ScanSink};
use crate::error::Error;
use crate::finding::Finding;
use crate::rule::{Rule, Severity};

/// Groups that keep up to `max_events` findings in full.
pub const FULL_GROUPS: usize = 50;
/// Groups kept at all; findings of further groups are counted per rule.
pub const MAX_GROUPS: usize = 1_000;
/// Problems kept in full; the rest are counted.
pub const MAX_PROBLEMS: usize = 50;

/// Bounds on what one log file may send.
#[derive(Debug, Clone, Copy)]
pub struct AlertLimits {
    /// Alerts per file, overflow and problem alert included.
    pub max_alerts: usize,
    /// Events listed in full in one alert; the rest are counted.
    pub max_events: usize,
}

impl Default for AlertLimits {
    fn default() -> Self {
        AlertLimits { max_alerts: 10, max_events: 20 }
    }
}

/// One rule and principal: the findings kept, and how many there were.
#[derive(Debug, Clone)]
pub struct Group {
    /// At least one; the first is the group's first finding.
    pub samples: Vec<Finding>,
    pub count: u64,
}

impl Group {
    pub fn first(&self) -> &Finding {
        &self.samples[0]
    }
}

/// Findings of groups past [`MAX_GROUPS`], per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    pub count: u64,
    pub severity: Severity,
}

/// A file's findings and problems, grouped as they arrive (a [`ScanSink`]).
#[derive(Debug)]
pub struct Grouped {
    limits: AlertLimits,
    groups: Vec<Group>,
    /// Groups by a hash of (rule id, principal); colliding keys share a list.
    index: FxHashMap<u64, Vec<usize>>,
    pub overflow: BTreeMap<String, Overflow>,
    /// Findings of rules that do not alert (compliance-only or in a dry
    /// run), counted per rule and never grouped into alerts.
    pub quiet: BTreeMap<String, u64>,
    /// Matches of threshold rules, counted per key and window.
    pub tallies: crate::tally::Tallies,
    pub problems: Vec<Error>,
    pub problem_count: u64,
    retryable: Option<Error>,
    /// The file's first-seen batch, when profiles are kept.
    pub profiles: Option<crate::profile::Batch>,
}

impl Grouped {
    pub fn new(limits: AlertLimits) -> Self {
        Grouped {
            limits,
            groups: Vec::new(),
            index: FxHashMap::default(),
            overflow: BTreeMap::new(),
            quiet: BTreeMap::new(),
            tallies: Default::default(),
            problems: Vec::new(),
            problem_count: 0,
            profiles: None,
            retryable: None,
        }
    }

    /// Groups findings already collected (tests, small files).
    pub fn of(findings: &[Finding], problems: &[Error], limits: AlertLimits) -> Self {
        let mut grouped = Grouped::new(limits);
        for f in findings {
            grouped.add(f.clone());
        }
        for p in problems {
            grouped.problem(p.clone());
        }
        grouped
    }

    /// The groups, most severe first (ties in the order they appeared).
    pub fn groups(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.first().rule.severity));
        groups
    }

    /// Every finding that alerts, grouped or counted.
    pub fn findings(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum::<u64>() + self.overflow.values().map(|o| o.count).sum::<u64>()
    }

    /// Findings of rules that do not alert.
    pub fn quiet_findings(&self) -> u64 {
        self.quiet.values().sum()
    }

    /// A read problem a retry may fix (a dropped stream), if there was one.
    pub fn retryable_problem(&self) -> Option<&Error> {
        self.retryable.as_ref()
    }

    /// Keeps only the groups `keep` says yes to (flood control folds the
    /// others into a follow-up).
    pub fn retain(&mut self, mut keep: impl FnMut(&Group) -> bool) {
        self.groups.retain(|g| keep(g));
        self.index.clear();
        for i in 0..self.groups.len() {
            let first = self.groups[i].first();
            let key = group_key(&first.rule.id, first.principal_arn.as_deref());
            self.index.entry(key).or_default().push(i);
        }
    }

    /// The (rule, event id) of each finding of the groups that kept every
    /// finding they count: the ones another lane may have alerted on
    /// already, one by one. A larger group is a burst: it alerts as a whole.
    pub fn known_events(&self) -> Vec<(String, String)> {
        let complete = self.groups.iter().filter(|g| g.count == g.samples.len() as u64);
        complete.flat_map(|g| g.samples.iter().filter_map(|f| Some((f.rule.id.clone(), f.event_id.clone()?)))).collect()
    }

    /// Drops the findings whose (rule, event id) `covered` holds (another
    /// lane alerted on them), and the groups left empty; how many it dropped.
    pub fn drop_events(&mut self, covered: &[(String, String)]) -> u64 {
        let mut dropped = 0;
        for group in self.groups.iter_mut().filter(|g| g.count == g.samples.len() as u64) {
            let before = group.samples.len();
            group.samples.retain(|f| {
                !f.event_id.as_ref().is_some_and(|id| covered.iter().any(|(r, e)| *r == f.rule.id && e == id))
            });
            let gone = (before - group.samples.len()) as u64;
            group.count -= gone;
            dropped += gone;
        }
        self.retain(|g| !g.samples.is_empty());
        dropped
    }

    /// How many findings are kept in full (for tests of the caps).
    pub fn kept(&self) -> usize {
        self.groups.iter().map(|g| g.samples.len()).sum()
    }
}

/// Where a finding goes in [`Grouped`].
enum Place {
    /// Counted only (a quiet rule, a full group, past the cap on groups).
    Counted,
    /// A threshold rule's match: into its tally.
    Tally,
    /// Kept in full in this group (the first of a new group too).
    Sample(usize),
}

fn group_key(rule: &str, principal: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    (rule, principal).hash(&mut hasher);
    hasher.finish()
}

impl Grouped {
    /// Groups one finding (built already: tests, findings collected first).
    pub fn add(&mut self, finding: Finding) {
        let place = self.place(&finding.rule, finding.principal_arn.as_deref());
        self.keep(place, finding);
    }

    /// Counts a match of `rule` by `principal`, and says whether and where
    /// its finding is kept.
    fn place(&mut self, rule: &Arc<Rule>, principal: Option<&str>) -> Place {
        if !rule.alerts() {
            match self.quiet.get_mut(rule.id.as_str()) {
                Some(count) => *count += 1,
                None => {
                    self.quiet.insert(rule.id.clone(), 1);
                }
            }
            return Place::Counted;
        }
        if rule.threshold.is_some() {
            return Place::Tally;
        }
        let key = group_key(&rule.id, principal);
        let groups = &self.groups;
        let found = self.index.get(&key).and_then(|list| {
            list.iter().copied().find(|&i| {
                groups[i].samples.first().is_some_and(|first| {
                    (Arc::ptr_eq(&first.rule, rule) || first.rule.id == rule.id)
                        && first.principal_arn.as_deref() == principal
                })
            })
        });
        if let Some(i) = found {
            let group = &mut self.groups[i];
            group.count += 1;
            return if i < FULL_GROUPS && group.samples.len() < self.limits.max_events {
                Place::Sample(i)
            } else {
                Place::Counted
            };
        }
        if self.groups.len() >= MAX_GROUPS {
            let slot = self.overflow.entry(rule.id.clone()).or_insert(Overflow { count: 0, severity: rule.severity });
            slot.count += 1;
            return Place::Counted;
        }
        let i = self.groups.len();
        self.index.entry(key).or_default().push(i);
        self.groups.push(Group { samples: Vec::new(), count: 1 });
        Place::Sample(i)
    }

    /// Keeps a finding where [`Grouped::place`] placed it.
    fn keep(&mut self, place: Place, finding: Finding) {
        match place {
            Place::Counted => {}
            Place::Tally => self.tallies.add(&finding),
            Place::Sample(i) => self.groups[i].samples.push(finding),
        }
    }
}

impl Grouped {
    /// Keeps the file's first-seen batch too.
    pub fn with_profiles(mut self, batch: crate::profile::Batch) -> Self {
        self.profiles = Some(batch);
        self
    }
}

impl ScanSink for Grouped {
    fn first_seen(&mut self, finding: Finding) {
        if let Some(batch) = &mut self.profiles {
            batch.finding(&finding);
        }
    }

    fn sighting(&mut self, sighting: &crate::profile::Sighting<'_>) {
        if let Some(batch) = &mut self.profiles {
            batch.sighting(sighting);
        }
    }

    fn finding(&mut self, hit: Hit<'_>) {
        match self.place(hit.rule, hit.principal()) {
            Place::Counted => {}
            place => self.keep(place, hit.finding()),
        }
    }

    fn problem(&mut self, error: Error) {
        self.problem_count += 1;
        if error.is_retryable() && self.retryable.is_none() {
            self.retryable = Some(error.clone());
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineOptions};
    use crate::rule::RuleSet;

    /// GIVEN one principal's three root sign-ins, one alerted by another
    /// lane WHEN it is dropped THEN the group counts two; dropping the rest
    /// drops the group.
    #[test]
    fn events_another_lane_covered_are_dropped() {
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        let record = |id: &str| {
            format!(
                r#"{{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{{"type":"Root","arn":"arn:aws:iam::123456789012:root"}},"responseElements":{{"ConsoleLogin":"Success"}},"eventID":"{id}"}}"#
            )
        };
        let file = format!("{{\"Records\":[{},{},{}]}}", record("a"), record("b"), record("c"));
        let mut grouped = Grouped::new(AlertLimits::default());
        engine.scan("f.json", std::io::Cursor::new(file.into_bytes()), &mut grouped);
        let known = grouped.known_events();
        let rule = known.first().expect("a root sign-in alerts").0.clone();
        let mine = |ids: &[&str]| ids.iter().map(|id| (rule.clone(), id.to_string())).collect::<Vec<_>>();
        assert!(mine(&["a", "b", "c"]).iter().all(|k| known.contains(k)));
        let before = grouped.findings();
        assert_eq!(grouped.drop_events(&mine(&["b"])), 1);
        assert_eq!(grouped.findings(), before - 1);
        assert_eq!(grouped.drop_events(&mine(&["a", "c"])), 2);
        assert!(grouped.groups().iter().all(|g| g.first().rule.id != rule), "the group is gone");
    }

    /// GIVEN 200,000 matching records by 5,000 principals WHEN grouped THEN
    /// every finding is counted and what is kept stays within the caps.
    #[test]
    fn memory_is_bounded_however_many_records_match() {
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        let mut file = String::from("{\"Records\":[");
        for i in 0..200_000 {
            if i > 0 {
                file.push(',');
            }
            file.push_str(&format!(
                r#"{{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/u{}"}},"responseElements":{{"ConsoleLogin":"Failure"}},"errorMessage":"Failed authentication","eventID":"e{i}"}}"#,
                i % 5_000
            ));
        }
        file.push_str("]}");
        let mut grouped = Grouped::new(AlertLimits::default());
        let summary = engine.scan("big.json", std::io::Cursor::new(file.into_bytes()), &mut grouped);
        assert_eq!(grouped.findings() + grouped.quiet_findings(), summary.findings, "every finding counted");
        assert!(summary.findings >= 200_000);
        assert_eq!(grouped.groups().len(), MAX_GROUPS);
        assert!(!grouped.overflow.is_empty());
        let limit = FULL_GROUPS * AlertLimits::default().max_events + (MAX_GROUPS - FULL_GROUPS);
        assert!(grouped.kept() <= limit, "{} findings kept", grouped.kept());
    }
}
