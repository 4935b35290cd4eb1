//! GIVEN the sample logs in events/cloudtrail, WHEN scanned with the built-in
//! catalogue, THEN every record triggers exactly the rules its sample was
//! designed for (events/cloudtrail-expected.json), and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::{Engine, RuleSet};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

#[test]
fn sample_logs_trigger_exactly_the_designed_rules() {
    let expected: serde_json::Value =
        serde_json::from_reader(File::open(events_dir().join("cloudtrail-expected.json")).unwrap()).unwrap();
    let expected = expected["events"].as_object().unwrap();
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();

    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files =
        std::fs::read_dir(events_dir().join("cloudtrail")).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    files.sort();
    let mut records = 0;
    let mut gzipped = 0;
    for path in &files {
        let mut sink = Collect::default();
        let summary = engine.scan(&path.display().to_string(), File::open(path).unwrap(), &mut sink);
        assert!(sink.problems.is_empty(), "{:?}", sink.problems);
        assert!(summary.complete);
        records += summary.records;
        gzipped += usize::from(summary.gzip);
        for f in sink.findings {
            got.entry(f.event_id.clone().unwrap()).or_default().insert(f.rule.id.clone());
        }
    }
    assert_eq!(records as usize, expected.len(), "every sample record has an expectation");
    assert!(gzipped > 0 && gzipped < files.len(), "samples include gzipped and plain files");

    let mut mismatches = Vec::new();
    for (event_id, want) in expected {
        let want: BTreeSet<String> =
            want["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        let have = got.remove(event_id).unwrap_or_default();
        if have != want {
            mismatches.push(format!("{} ({event_id}): want {want:?}, got {have:?}", expected[event_id]["name"]));
        }
    }
    assert!(got.is_empty(), "findings for unknown events: {got:?}");
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));

    // Every built-in rule fires on some sample, and misses on another.
    let fired: BTreeSet<String> = expected
        .values()
        .flat_map(|v| v["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()))
        .collect();
    for rule in RuleSet::builtin().unwrap().all_rules() {
        assert!(fired.contains(&rule.id), "no sample triggers {}", rule.id);
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
