//! GIVEN a week of an ordinary account with one attack per detection planted
//! in it (`synth::week`) WHEN every file goes through the built-in rules as
//! the detection function sends alerts (per-match rules through the 60-minute
//! dedup window, threshold rules counted across the week) THEN the benign
//! activity sends no alert, and every planted attack alerts.
//!
//! The figures in DETECTIONS.md come from:
//! `cargo test --release -p trailwatch-core --test it benign_week -- --nocapture`

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::format_description::well_known::Rfc3339;
use trailwatch_core::alert::dedup_messages;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::facts::Trusted;
use trailwatch_core::synth::week::{self, Week};
use trailwatch_core::tally::Tallies;
use trailwatch_core::{Engine, Error, Finding, RuleSet, ScanSink};

#[derive(Default)]
struct Tally {
    records: u64,
    findings: u64,
    /// Benign matches of alerting rules: (rule, principal, account) -> times.
    benign: HashMap<(String, String, String), Vec<i64>>,
    /// Planted records each alerting per-match rule caught.
    caught: BTreeSet<String>,
    tallies: Tallies,
    counted_only: BTreeMap<String, u64>,
    /// Benign matches of the CIS rules, alerting or not: what CIS metric-filter alarms see.
    cis_benign: HashMap<(String, String), Vec<i64>>,
}

impl ScanSink for Tally {
    fn finding(&mut self, f: Finding) {
        self.findings += 1;
        let id = f.event_id.clone().unwrap_or_default();
        let at = time::OffsetDateTime::parse(f.event_time.as_deref().unwrap_or(""), &Rfc3339)
            .map_or(0, |t| t.unix_timestamp());
        if f.rule.id.starts_with("cis-") && !id.starts_with("planted-") {
            self.cis_benign
                .entry((f.rule.id.clone(), f.principal_arn.clone().unwrap_or_default()))
                .or_default()
                .push(at);
        }
        if !f.rule.alerts() {
            *self.counted_only.entry(f.rule.id.clone()).or_default() += 1;
            return;
        }
        if f.rule.threshold.is_some() {
            self.tallies.add(&f);
            return;
        }
        if id.starts_with(&format!("planted-{}-", f.rule.id)) {
            self.caught.insert(f.rule.id.clone());
        } else if !id.starts_with("planted-") {
            let key = (
                f.rule.id.clone(),
                f.principal_arn.clone().unwrap_or_default(),
                f.account_id.clone().unwrap_or_default(),
            );
            self.benign.entry(key).or_default().push(at);
        }
    }

    fn problem(&mut self, error: Error) {
        panic!("the generated week is well-formed: {error}");
    }
}

#[test]
fn a_benign_week_sends_no_alert_and_every_planted_attack_alerts() {
    let week = Week { seed: 7, days: 7 };
    let set = RuleSet::builtin().unwrap();
    // The platform team's CI account and the organization are trusted, as a user would configure them.
    let trusted = Trusted::new([week::TRUSTED_ACCOUNT, week::TRUSTED_ORG]).unwrap();
    let engine = Engine::new(&set, EngineOptions { trusted, ..Default::default() }).unwrap();
    let mut tally = Tally::default();
    let mut files = 0;
    for (name, text) in week.files() {
        files += 1;
        tally.records += engine.scan(&name, std::io::Cursor::new(text.into_bytes()), &mut tally).records;
    }

    // Threshold rules: one alert per key and window that reached the count.
    let mut benign_thresholds = Vec::new();
    for t in tally.tallies.tallies.values() {
        let rule = set.all_rules().iter().find(|r| r.id == t.rule).unwrap();
        let threshold = rule.threshold.as_ref().unwrap();
        if t.measure(threshold) < threshold.count {
            continue;
        }
        if t.samples
            .iter()
            .any(|s| s.event_id.as_deref().is_some_and(|id| id.starts_with(&format!("planted-{}-", rule.id))))
        {
            tally.caught.insert(rule.id.clone());
        } else {
            benign_thresholds.push(format!("{} {:?}", t.rule, t.key));
        }
    }
    let mut benign_alerts: BTreeMap<String, u64> = BTreeMap::new();
    for ((rule, principal, _), times) in &mut tally.benign {
        *benign_alerts.entry(format!("{rule} by {principal}")).or_default() += dedup_messages(times, 3600);
    }
    let benign_total: u64 = benign_alerts.values().sum::<u64>() + benign_thresholds.len() as u64;
    let planted: BTreeSet<String> = week.planted().iter().map(|p| p.rule.to_string()).collect();
    let missed: Vec<&String> = planted.difference(&tally.caught).collect();

    println!("benign week: {} days, {files} files, {} records, {} findings", week.days, tally.records, tally.findings);
    println!("counted without alerting (compliance grade): {:?}", tally.counted_only);
    println!(
        "benign alerts: {benign_total} ({:.2} per day) {benign_alerts:?} {benign_thresholds:?}",
        benign_total as f64 / f64::from(week.days)
    );
    println!("planted attacks: {} of {} alerted; missed: {missed:?}", planted.len() - missed.len(), planted.len());

    let days = f64::from(week.days);
    let cis_events: usize = tally.cis_benign.values().map(Vec::len).sum();
    let cis_alerts: u64 = tally.cis_benign.values_mut().map(|t| dedup_messages(t, 3600)).sum();
    println!(
        "for comparison, every CIS filter alerting on the same benign week: {:.1} matching events per day, \
         {:.1} alerts per day even with the 60-minute dedup window",
        cis_events as f64 / days,
        cis_alerts as f64 / days
    );

    assert_eq!(benign_total, 0, "benign alerts: {benign_alerts:?} {benign_thresholds:?}");
    assert!(missed.is_empty(), "missed: {missed:?}");
    assert!(tally.counted_only.contains_key("cis-cloudwatch-2-unauthorized-api-calls"), "the CIS count still counts");
}
