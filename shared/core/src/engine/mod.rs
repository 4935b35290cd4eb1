//! The engine: a compiled rule set run over log files.
//!
//! All patterns (rules and suppressions) and the record facts share one
//! [`PathTable`], so each record is parsed once however many rules there are.
//! Findings and read problems go to a [`ScanSink`] as they happen; the scan
//! returns a [`ScanSummary`] with the file's statistics.

use std::io::Read;
use std::sync::Arc;

use ipnet::IpNet;

mod dispatch;
mod scan;
mod sink;
use dispatch::{required_names, Dispatch};
pub(crate) use scan::record_error;
use scan::FileScan;
pub use sink::{Collect, Each, Hit, ScanSink};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::extract::{LazyValues, PathTable, Tables, Values, SECOND_TABLE};
use crate::facts::{Deriver, Trusted};
use crate::pattern::Pattern;
use crate::reader::{LogReader, DEFAULT_MAX_RECORD_BYTES};
use crate::record::{Fact, FactSlots, RecordFacts};
use crate::rule::{Rule, RuleSet, Severity, Suppression};
use crate::stats::StatsShard;

/// What one scan did.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub source: String,
    pub records: u64,
    pub findings: u64,
    pub suppressed: u64,
    pub problems: u64,
    /// False when reading stopped early (corrupt gzip, truncation, wrong shape).
    pub complete: bool,
    pub gzip: bool,
    pub stats: StatsShard,
}

/// How a rule tests a record: a filter pattern, or a Sigma detection.
enum Detect {
    Pattern(Pattern),
    Sigma(SigmaDetect),
}

/// A Sigma detection bound to the engine's path tables.
struct SigmaDetect {
    /// The rule's detection, items of the first table first.
    detection: crate::sigma::matcher::Detection,
    /// The slot of each field it reads, by index. A rule dispatch narrows
    /// (it requires event names or sources) reads the fields the first
    /// table lacks from the second, so that the fields of the many Sigma
    /// rules cost nothing on the other records.
    slots: Vec<usize>,
}

impl Detect {
    fn matches<'a>(&self, values: Tables<'_, 'a>, json: &'a str) -> bool {
        match self {
            Detect::Pattern(p) => p.matches(values.first),
            Detect::Sigma(s) => s.detection.matches(&crate::sigma::matcher::RecordEvent::new(values, json, &s.slots)),
        }
    }
}

struct CompiledRule {
    rule: Arc<Rule>,
    detect: Detect,
    /// The fields a finding shows as why it matched.
    why: Vec<(String, usize)>,
    /// The texts it compares case-sensitively, pointed out in "why it
    /// matched" when a value differs only in case.
    case_sensitive: Vec<crate::finding::CaseSensitive>,
}

struct CompiledSuppression {
    suppression: Suppression,
    pattern: Option<Pattern>,
}

impl CompiledSuppression {
    fn silences(&self, values: &Values<'_>, facts: &RecordFacts<'_, '_>) -> bool {
        let pattern_ok = self.pattern.as_ref().is_none_or(|p| p.matches(values));
        let cidr_ok = self.suppression.source_cidrs.is_empty()
            || facts
                .get(Fact::SourceIp)
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                .is_some_and(|ip| self.suppression.source_cidrs.iter().any(|net: &IpNet| net.contains(&ip)));
        pattern_ok && cidr_ok
    }
}

/// Settings for an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Rules below this severity do not run.
    pub min_severity: Severity,
    pub max_record_bytes: usize,
    /// Threads per file: 2 reads (decompresses, splits) on a second thread.
    /// Defaults to 2 when the machine has two cores or more.
    pub threads: usize,
    /// Accounts that are not "outside" for the facts (besides each record's own).
    pub trusted: Trusted,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_severity: Severity::Info,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            threads: crate::reader::default_threads(),
            trusted: Trusted::default(),
        }
    }
}

/// A rule, the event names it requires and the event sources it requires
/// (`None`: not one of a list of literals).
pub type Narrowing<'a> = (&'a Arc<Rule>, Option<Vec<String>>, Option<Vec<String>>);

/// A rule set compiled for scanning. Build once, scan many files.
pub struct Engine {
    table: Arc<PathTable>,
    /// The fields of Sigma rules that dispatch narrows (see [`SigmaDetect`]).
    lazy_table: PathTable,
    deriver: Deriver,
    facts: FactSlots,
    rules: Vec<CompiledRule>,
    dispatch: Dispatch,
    suppressions: Vec<CompiledSuppression>,
    options: EngineOptions,
    /// Whether sinks are told of every record (a first-seen rule runs).
    sightings: bool,
    /// The rule files' profile settings.
    profiles: crate::profile::Settings,
}

impl Engine {
    /// Compiles the active rules at or above `options.min_severity`.
    pub fn new(set: &RuleSet, options: EngineOptions) -> Result<Engine> {
        set.check_references()?;
        let mut table = PathTable::new();
        let mut lazy_table = PathTable::new();
        let facts = FactSlots::register(&mut table);
        let mut rules = Vec::new();
        for rule in set.active_rules().filter(|r| r.severity >= options.min_severity) {
            if let Some(sigma) = &rule.sigma {
                let detection = &sigma.0.detection;
                let dispatched =
                    detection.required("eventName").is_some() || detection.required("eventSource").is_some();
                let slots = crate::sigma::bind_split(detection, &mut table, &mut lazy_table, dispatched);
                let mut why = crate::finding::why_named(detection.fields.iter().cloned().zip(slots.iter().copied()));
                why.sort();
                let first_table = |id: usize| slots[id] & SECOND_TABLE == 0;
                let detection = detection.cheap_first(first_table);
                let detect = Detect::Sigma(SigmaDetect { detection, slots });
                rules.push(CompiledRule { rule: Arc::new(rule.clone()), detect, why, case_sensitive: Vec::new() });
                continue;
            }
            let mut pattern = Pattern::parse(&rule.pattern).map_err(|e| {
                Error::at(
                    ErrorKind::Rule(format!("rule '{}': {}", rule.id, e.kind)),
                    Location { source: Some(rule.origin.clone()), ..Default::default() },
                )
            })?;
            pattern.bind(&mut table);
            let mut why = crate::finding::why_fields(&pattern);
            let first_seen_field = rule.first_seen.as_ref().map(|fs| fs.value.as_str()).filter(|v| v.starts_with('$'));
            for text in rule.show.iter().map(String::as_str).chain(first_seen_field) {
                let selector = crate::pattern::parse_selector(text).map_err(|e| {
                    Error::at(
                        ErrorKind::Rule(format!("rule '{}': show {text:?}: {}", rule.id, e.kind)),
                        Location { source: Some(rule.origin.clone()), ..Default::default() },
                    )
                })?;
                let name = crate::finding::field_name(&selector);
                if !why.iter().any(|(shown, _)| *shown == name) {
                    why.push((name, table.intern(&selector.steps)));
                }
            }
            let case_sensitive = crate::finding::case_sensitive(&pattern, rule);
            let detect = Detect::Pattern(pattern);
            rules.push(CompiledRule { rule: Arc::new(rule.clone()), detect, why, case_sensitive });
        }
        let mut suppressions = Vec::new();
        for s in set.suppressions() {
            let pattern = match &s.pattern {
                Some(text) => {
                    let mut p = Pattern::parse(text).map_err(|e| e.in_source(&s.origin))?;
                    p.bind(&mut table);
                    Some(p)
                }
                None => None,
            };
            suppressions.push(CompiledSuppression { suppression: s.clone(), pattern });
        }
        let mut trusted = set.trusted().clone();
        trusted.extend(&options.trusted);
        let deriver = Deriver::new(&mut table, trusted).map_err(|e| e.in_source("rules"))?;
        let dispatch = Dispatch::new(&rules, facts.slot(Fact::EventName), facts.slot(Fact::EventSource));
        let sightings = rules.iter().any(|r| r.rule.first_seen.is_some());
        let profiles = set.profiles().clone();
        Ok(Engine {
            table: Arc::new(table),
            lazy_table,
            deriver,
            facts,
            rules,
            dispatch,
            suppressions,
            options,
            sightings,
            profiles,
        })
    }

    /// Whether a first-seen rule runs (sinks then see every record).
    pub fn has_first_seen(&self) -> bool {
        self.sightings
    }

    /// The profile settings of the rule files.
    pub fn profile_settings(&self) -> &crate::profile::Settings {
        &self.profiles
    }

    /// A first-seen batch for a file of this engine's (`origin` names it).
    pub fn profile_batch(&self, origin: &str) -> crate::profile::Batch {
        crate::profile::Batch::new(&self.profiles, self.rules.iter().map(|r| r.rule.as_ref()), origin)
    }

    /// The rules that run.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.rules.iter().map(|r| &r.rule)
    }

    /// Each rule that runs, with the event names and the event sources it
    /// requires (`None`: it can match without one of a list of literals):
    /// what dispatch knows, for [`crate::realtime`].
    pub fn narrowing(&self) -> Vec<Narrowing<'_>> {
        let (names, sources) = (self.facts.slot(Fact::EventName), self.facts.slot(Fact::EventSource));
        // Sigma rules compare names case-insensitively; an EventBridge
        // pattern cannot: they stay on the file lane.
        let required = |r: &CompiledRule, slot| match &r.detect {
            Detect::Pattern(p) => required_names(p.expr(), slot),
            Detect::Sigma(_) => None,
        };
        self.rules.iter().map(|r| (&r.rule, required(r, names), required(r, sources))).collect()
    }

    /// Scans one log file (gzip or plain). `source` names it in findings and
    /// errors. Never fails: problems go to the sink and into the summary.
    pub fn scan<R: Read + Send + 'static>(&self, source: &str, input: R, sink: &mut dyn ScanSink) -> ScanSummary {
        let mut reader = LogReader::new(source, input)
            .with_max_record_bytes(self.options.max_record_bytes)
            .with_threads(self.options.threads)
            .with_paths(self.table.clone());
        let mut scan = FileScan::new(self, source, sink);
        scan.summary.complete = reader.visit(&mut scan);
        scan.summary.gzip = reader.is_gzip();
        scan.finish()
    }

    /// The rules one JSON record matches (suppressions not applied).
    pub fn matching_rules(&self, json: &str) -> std::result::Result<Vec<&Arc<Rule>>, serde_json::Error> {
        let values = self.deriver.apply(self.table.extract(json)?, json);
        let mut out = Vec::new();
        let second = LazyValues::new(&self.lazy_table, json);
        let tables = Tables { first: &values, second: Some(&second) };
        self.dispatch.candidates(&values, |i| {
            if self.rules[i].detect.matches(tables, json) {
                out.push(&self.rules[i].rule);
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn engine_with(user: &str) -> Engine {
        let mut set = RuleSet::builtin().unwrap();
        set.merge(RuleSet::from_toml(user, "user.toml").unwrap()).unwrap();
        Engine::new(&set, EngineOptions::default()).unwrap()
    }

    fn scan(engine: &Engine, text: &str) -> (ScanSummary, Collect) {
        let mut sink = Collect::default();
        let summary = engine.scan("mem.json", Cursor::new(text.as_bytes().to_vec()), &mut sink);
        (summary, sink)
    }

    const ROOT_LOGIN: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e-root-1","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012"}"#;

    #[test]
    fn given_a_root_login_when_scanned_then_findings_carry_the_facts() {
        let engine = engine_with("");
        let (summary, sink) = scan(&engine, &format!(r#"{{"Records":[{ROOT_LOGIN}]}}"#));
        assert_eq!(summary.records, 1);
        assert!(summary.complete);
        let ids: Vec<&str> = sink.findings.iter().map(|f| f.rule.id.as_str()).collect();
        assert!(ids.contains(&"cis-cloudwatch-1-root-usage"), "{ids:?}");
        assert!(ids.contains(&"root-console-login"), "{ids:?}");
        let f = &sink.findings[0];
        assert_eq!(f.event_id.as_deref(), Some("e-root-1"));
        assert_eq!(f.account_id.as_deref(), Some("123456789012"));
        assert_eq!(f.principal_arn.as_deref(), Some("arn:aws:iam::123456789012:root"));
        assert_eq!(f.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(f.mfa_used.as_deref(), Some("No"));
        assert_eq!(f.outcome, crate::Outcome::Success);
        assert_eq!((f.file.as_str(), f.record_index), ("mem.json", 0));
        assert_eq!(summary.stats.root_events.get("ConsoleLogin"), Some(&1));
        assert_eq!(summary.stats.findings.values().map(|r| r.count).sum::<u64>(), summary.findings);
    }

    #[test]
    fn given_a_bad_record_between_good_ones_then_both_good_ones_are_scanned() {
        let engine = engine_with("");
        let text = format!(r#"{{"Records":[{ROOT_LOGIN}, {{"eventName": tru}}, {ROOT_LOGIN}]}}"#);
        let (summary, sink) = scan(&engine, &text);
        assert_eq!(summary.records, 2);
        assert_eq!(sink.problems.len(), 1);
        let p = &sink.problems[0];
        assert_eq!(p.location.record, Some(1));
        assert!(matches!(p.kind, ErrorKind::RecordSyntax(_)), "{p}");
        let at = p.location.offset.unwrap() as usize;
        assert!(text[at..].starts_with("tru") || text[..at].ends_with("tru"), "offset {at} in {text}");
        assert!(summary.complete);
    }

    #[test]
    fn suppressions_silence_by_cidr_and_pattern_and_are_counted() {
        let user = r#"
[[suppression]]
rules = ["root-console-login"]
source_cidrs = ["198.51.100.0/24"]
reason = "office"

[[suppression]]
rules = ["*"]
pattern = '{ $.eventID = "e-root-1" }'
reason = "drill"
"#;
        let engine = engine_with(user);
        let (summary, sink) = scan(&engine, &format!(r#"{{"Records":[{ROOT_LOGIN}]}}"#));
        assert!(sink.findings.is_empty(), "{:?}", sink.findings.iter().map(|f| &f.rule.id).collect::<Vec<_>>());
        assert!(summary.suppressed >= 2);
        assert_eq!(summary.stats.suppressed.get("root-console-login"), Some(&1));
    }

    #[test]
    fn dispatch_by_event_name_finds_what_testing_every_rule_finds() {
        let engine = engine_with("");
        let mut generator = crate::synth::Generator::new(3);
        for _ in 0..3000 {
            let json = generator.record().to_string();
            let values = engine.deriver.apply(engine.table.extract(&json).unwrap(), &json);
            let second = LazyValues::new(&engine.lazy_table, &json);
            let tables = Tables { first: &values, second: Some(&second) };
            let every: Vec<&str> =
                engine.rules.iter().filter(|r| r.detect.matches(tables, &json)).map(|r| r.rule.id.as_str()).collect();
            let dispatched: Vec<&str> = engine.matching_rules(&json).unwrap().iter().map(|r| r.id.as_str()).collect();
            assert_eq!(every, dispatched, "{json}");
        }
        // A number compares as its text: dispatch must not skip the rule.
        let engine = engine_with(
            "[[rule]]\nid='five'\ntitle='t'\nseverity='low'\npattern='{ $.eventName = \"5\" }'\ndescription='d'",
        );
        let ids: Vec<&str> =
            engine.matching_rules(r#"{"eventName": 5}"#).unwrap().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["five"]);
    }

    #[test]
    fn min_severity_drops_lower_rules() {
        let set = RuleSet::builtin().unwrap();
        let engine =
            Engine::new(&set, EngineOptions { min_severity: Severity::Critical, ..Default::default() }).unwrap();
        assert!(engine.rules().all(|r| r.severity == Severity::Critical));
        assert!(engine.rules().count() > 0);
    }
}
