//! GIVEN the sample logs in events/cloudtrail, WHEN scanned with the built-in
//! catalogue, THEN every record triggers exactly the rules its sample was
//! designed for (events/cloudtrail-expected.json), and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::{Engine, Finding, RuleSet, ScanSink};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// One directory of samples against its expectations: every record triggers
/// exactly its designed rules. Returns the expectations.
fn check_samples(dir: &str, expectations: &str, engine: &Engine) -> serde_json::Map<String, serde_json::Value> {
    let expected: serde_json::Value =
        serde_json::from_reader(File::open(events_dir().join(expectations)).unwrap()).unwrap();
    let expected = expected["events"].as_object().unwrap().clone();
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = std::fs::read_dir(events_dir().join(dir)).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    files.sort();
    let mut records = 0;
    for path in &files {
        let mut sink = Collect::default();
        let summary = engine.scan(&path.display().to_string(), File::open(path).unwrap(), &mut sink);
        assert!(sink.problems.is_empty(), "{:?}", sink.problems);
        assert!(summary.complete);
        records += summary.records;
        for f in sink.findings {
            got.entry(f.event_id.clone().unwrap()).or_default().insert(f.rule.id.clone());
        }
    }
    assert_eq!(records as usize, expected.len(), "every record in {dir} has an expectation");
    let mut mismatches = Vec::new();
    for (event_id, want) in &expected {
        let want: BTreeSet<String> =
            want["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        let have = got.remove(event_id).unwrap_or_default();
        if have != want {
            mismatches.push(format!("{} ({event_id}): want {want:?}, got {have:?}", expected[event_id]["name"]));
        }
    }
    assert!(got.is_empty(), "findings for unknown events: {got:?}");
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
    expected
}

#[test]
fn sample_logs_trigger_exactly_the_designed_rules() {
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let gz = std::fs::read_dir(events_dir().join("cloudtrail"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "gz"));
    assert!(gz.count() > 0, "samples include gzipped and plain files");
    let mut expected = check_samples("cloudtrail", "cloudtrail-expected.json", &engine);
    expected.extend(check_samples("detections", "detections-expected.json", &engine));

    // Every built-in rule fires on some sample, and misses on another.
    let fired: BTreeSet<String> = expected
        .values()
        .flat_map(|v| v["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()))
        .collect();
    // First-seen rules' matches go to the profiles, not the findings: they
    // must match some sample there.
    let mut matches = FirstSeenMatches::default();
    for dir in ["cloudtrail", "first-seen"] {
        for entry in std::fs::read_dir(events_dir().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            engine.scan(&path.display().to_string(), File::open(&path).unwrap(), &mut matches);
        }
    }
    for rule in RuleSet::builtin().unwrap().all_rules() {
        let triggered = if rule.first_seen.is_some() { matches.0.contains(&rule.id) } else { fired.contains(&rule.id) };
        assert!(triggered, "no sample triggers {}", rule.id);
    }
}

/// The first-seen rules a scan matched.
#[derive(Default)]
struct FirstSeenMatches(BTreeSet<String>);

impl ScanSink for FirstSeenMatches {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        assert!(hit.rule.first_seen.is_none(), "a first-seen match is not a finding");
    }
    fn problem(&mut self, _error: trailwatch_core::Error) {}
    fn first_seen(&mut self, finding: Finding) {
        self.0.insert(finding.rule.id.clone());
    }
}

/// GIVEN the sign-in sample WHEN its findings become alerts THEN the alerts,
/// as data, are exactly the golden file (events/golden/signin-alerts.json;
/// `UPDATE_GOLDEN=1` rewrites it). Each output's rendering of the same
/// alerts has its own golden file, checked in the `trailwatch-aws` crate.
#[test]
fn alert_rendering_matches_the_golden_file() {
    use trailwatch_core::alert::{alerts_for_file, AlertLimits, FileContext};
    let name = "123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";
    let source = format!("s3://trailwatch-logs/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/{name}");
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let mut sink = Collect::default();
    let summary = engine.scan(&source, File::open(events_dir().join("cloudtrail").join(name)).unwrap(), &mut sink);
    let file = FileContext { source: &source, account_id: Some("123456789012"), region: Some("us-east-1") };
    let alerts = alerts_for_file(file, &sink.findings, &sink.problems, summary.complete, AlertLimits::default());
    let text = serde_json::to_string_pretty(&alerts).unwrap() + "\n";
    let golden = events_dir().join("golden/signin-alerts.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (run with UPDATE_GOLDEN=1 to create it)");
    assert_eq!(text, want, "alerts differ from {}", golden.display());
}

/// GIVEN an Insights file (a start and an end record sharing one
/// `sharedEventID`, in the documented shape) WHEN scanned with the built-in
/// rules THEN the insight alerts once, on its start, showing the API, the
/// baseline and observed rates and the top callers.
#[test]
fn an_insight_alerts_once_on_its_start_with_its_rates_and_callers() {
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let dir = events_dir().join("insights");
    let name = "123456789012_CloudTrail-Insight_us-east-1_20261120T1010Z_Ins1ghtEvnts0001.json";
    let mut sink = Collect::default();
    let summary = engine.scan(name, File::open(dir.join(name)).unwrap(), &mut sink);
    assert_eq!((summary.records, summary.problems), (2, 0));
    let ids: Vec<&str> = sink.findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(ids, ["cloudtrail-insight-started"]);
    let shown: Vec<String> =
        sink.findings[0].matched.iter().map(|(field, values)| format!("{field} = {}", values.join(", "))).collect();
    for want in [
        "insightDetails.eventName = DeleteSnapshot",
        "insightDetails.insightContext.statistics.baseline.average = 2.9",
        "insightDetails.insightContext.statistics.insight.average = 415",
        "arn:aws:sts::123456789012:assumed-role/ops/mallory",
    ] {
        assert!(shown.iter().any(|s| s.contains(want)), "{want} not in {shown:?}");
    }
}
