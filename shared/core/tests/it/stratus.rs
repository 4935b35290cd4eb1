//! GIVEN the published detonation logs of every AWS technique of Stratus Red
//! Team (events/stratus/, Apache-2.0, see its NOTICE.md) WHEN each goes
//! through the default rules as the detection function sends alerts
//! (per-match alerting rules, threshold rules counted over the file) THEN
//! every technique raises an alert, through a rule tagged with the
//! technique and a MITRE ATT&CK id.
//!
//! The recall table in DETECTIONS.md comes from:
//! `cargo test --release -p trailwatch-core --test it stratus -- --nocapture`

use std::collections::BTreeMap;
use std::path::Path;

use trailwatch_core::engine::EngineOptions;
use trailwatch_core::tally::Tallies;
use trailwatch_core::{Engine, Error, RuleSet, ScanSink};

#[derive(Default)]
struct Alerts {
    /// Alerting per-match rule -> the first (record index, event name) it fired on.
    fired: BTreeMap<String, (usize, String)>,
    tallies: Tallies,
    problems: Vec<String>,
}

impl ScanSink for Alerts {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        let f = hit.finding();
        if !f.rule.alerts() {
            return;
        }
        if f.rule.threshold.is_some() {
            self.tallies.add(&f);
            return;
        }
        let event = f.event_name.clone().unwrap_or_default();
        self.fired.entry(f.rule.id.clone()).or_insert((f.record_index, event));
    }

    fn problem(&mut self, error: Error) {
        self.problems.push(error.to_string());
    }
}

fn technique_files() -> Vec<(String, std::path::PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/stratus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    files
}

#[test]
fn every_public_attack_technique_with_detonation_logs_alerts() {
    let set = RuleSet::builtin().unwrap();
    let engine = Engine::new(&set, EngineOptions::default()).unwrap();
    let files = technique_files();
    assert!(files.len() >= 35, "the catalogue has 35 AWS techniques with logs; found {}", files.len());

    let mut missed = Vec::new();
    let mut untagged = Vec::new();
    println!("| technique | alerting rules (record, event) |");
    println!("| --- | --- |");
    for (technique, path) in &files {
        let mut alerts = Alerts::default();
        let file = std::fs::File::open(path).unwrap();
        let summary = engine.scan(&path.display().to_string(), file, &mut alerts);
        assert!(summary.complete && alerts.problems.is_empty(), "{technique}: {:?}", alerts.problems);
        for tally in alerts.tallies.tallies.values() {
            let rule = set.all_rules().iter().find(|r| r.id == tally.rule).unwrap();
            let threshold = rule.threshold.as_ref().unwrap();
            if tally.measure(threshold) >= threshold.count {
                let first = tally.samples.first();
                let event = first.and_then(|s| s.name.clone()).unwrap_or_default();
                let index = first.map_or(0, |s| s.record);
                alerts.fired.entry(rule.id.clone()).or_insert((index, format!("{event}, threshold reached")));
            }
        }
        let shown: Vec<String> =
            alerts.fired.iter().map(|(rule, (index, event))| format!("`{rule}` (#{index} {event})")).collect();
        println!("| {technique} | {} |", if shown.is_empty() { "**none**".into() } else { shown.join("; ") });
        if alerts.fired.is_empty() {
            missed.push(technique.clone());
            continue;
        }
        let tag = format!("stratus/{technique}");
        let tagged = alerts.fired.keys().any(|id| {
            let rule = set.all_rules().iter().find(|r| &r.id == id).unwrap();
            rule.tags.contains(&tag) && rule.tags.iter().any(|t| t.starts_with("mitre/"))
        });
        if !tagged {
            untagged.push(technique.clone());
        }
    }
    println!("techniques alerted: {} of {}", files.len() - missed.len(), files.len());
    assert!(missed.is_empty(), "techniques that raise no alert: {missed:?}");
    assert!(untagged.is_empty(), "no alerting rule carries the technique's tag: {untagged:?}");
}
