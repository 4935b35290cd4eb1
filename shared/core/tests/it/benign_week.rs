//! GIVEN two weeks of an ordinary account's benign activity (what the
//! first-seen profiles learn from) and then a week with one attack per
//! detection planted in it, and one per first-seen case (`synth::week`)
//! WHEN every file goes through the built-in rules as the detection function
//! sends alerts (per-match rules through the 60-minute dedup window,
//! threshold rules counted across the week, first-seen rules settled file by
//! file against the profiles) THEN the benign activity sends no alert, and
//! every planted attack and first-seen case alerts.
//!
//! The figures in DETECTIONS.md come from:
//! `cargo test --release -p trailwatch-core --test it benign_week -- --nocapture`

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::format_description::well_known::Rfc3339;
use trailwatch_core::alert::dedup_messages;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::facts::Trusted;
use trailwatch_core::profile::{self, Batch, Book, Sighting};
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
    /// The first-seen profiles, and the file being read.
    book: Book,
    batch: Option<Batch>,
    /// Planted first-seen cases that alerted (their event ids).
    first_seen_caught: BTreeSet<String>,
    /// Benign first-seen alerts: (rule, key, value, event time).
    first_seen_benign: Vec<(String, String, String, i64)>,
    first_seen_learning: usize,
    /// What the profile store would be charged, one invocation per file
    /// (nothing cached across files): read and write request units.
    read_units: f64,
    write_units: f64,
    profile_reads: u64,
    profile_writes: u64,
}

impl ScanSink for Tally {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        let f = hit.finding();
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

    fn first_seen(&mut self, f: Finding) {
        if let Some(batch) = &mut self.batch {
            batch.finding(&f);
        }
    }

    fn sighting(&mut self, sighting: &Sighting<'_>) {
        if let Some(batch) = &mut self.batch {
            batch.sighting(sighting);
        }
    }
}

impl Tally {
    /// Settles a file's first-seen batch against the profiles.
    fn settle(&mut self, batch: &Batch) {
        // Eventually consistent reads: half a unit per 4 KB of each item read.
        for id in batch.profile_ids() {
            let bytes = self.book.get(&id).map_or(0, |p| profile::item_bytes(&id, p));
            self.profile_reads += 1;
            self.read_units += 0.5 * bytes.div_ceil(4096).max(1) as f64;
        }
        let (plan, alerts) = self.book.settle(batch);
        // A write is charged a unit per KB of the item as it ends up.
        for write in &plan.writes {
            let id = write.profile();
            let bytes = self.book.get(id).map_or(0, |p| profile::item_bytes(id, p));
            self.profile_writes += 1;
            self.write_units += bytes.div_ceil(1024).max(1) as f64;
        }
        self.first_seen_learning += plan.learning();
        for (candidate, _) in alerts {
            let id = candidate.finding.event_id.clone().unwrap_or_default();
            if id.starts_with("planted-") {
                self.first_seen_caught.insert(id);
            } else {
                let c = candidate;
                self.first_seen_benign.push((c.rule.id.clone(), c.profile.key, c.value, c.time));
            }
        }
    }
}

#[test]
fn a_benign_week_sends_no_alert_and_every_planted_attack_alerts() {
    let week = Week { seed: 7, days: 7, learning: 14 };
    let set = RuleSet::builtin().unwrap();
    // The platform team's CI account and the organization are trusted, as a user would configure them.
    let trusted = Trusted::new([week::TRUSTED_ACCOUNT, week::TRUSTED_ORG]).unwrap();
    let engine = Engine::new(&set, EngineOptions { trusted, ..Default::default() }).unwrap();
    let mut tally = Tally::default();
    let mut files = 0;
    for (name, text) in week.files() {
        files += 1;
        tally.batch = Some(Batch::new(set.profiles(), set.active_rules(), &name));
        tally.records += engine.scan(&name, std::io::Cursor::new(text.into_bytes()), &mut tally).records;
        let batch = tally.batch.take().unwrap();
        tally.settle(&batch);
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
    // First-seen alerts, by day: the learning period, then the normal week.
    let start = Week::START.midnight().assume_utc().unix_timestamp();
    let (learning_alerts, week_alerts): (Vec<_>, Vec<_>) =
        tally.first_seen_benign.iter().partition(|(_, _, _, at)| *at < start);
    for (rule, key, value, _) in &week_alerts {
        benign_alerts.entry(format!("{rule} by {key}: {value}")).and_modify(|n| *n += 1).or_insert(1);
    }
    let benign_total: u64 = benign_alerts.values().sum::<u64>() + benign_thresholds.len() as u64;
    let planted_cases = week.planted();
    for p in &planted_cases {
        let prefix = week::planted_id(p.case, 0);
        let prefix = prefix.trim_end_matches('0');
        if p.case.contains('#') && tally.first_seen_caught.iter().any(|id| id.starts_with(prefix)) {
            tally.caught.insert(p.case.to_string());
        }
    }
    let planted: BTreeSet<String> = planted_cases
        .iter()
        .map(|p| if p.case.contains('#') { p.case.to_string() } else { p.rule.to_string() })
        .collect();
    let missed: Vec<&String> = planted.difference(&tally.caught).collect();
    let first_seen_cases: Vec<&String> = planted.iter().filter(|p| p.contains('#')).collect();
    let first_seen_missed = missed.iter().filter(|p| p.contains('#')).count();

    println!(
        "benign week: {} learning days then {} days, {files} files, {} records, {} findings",
        week.learning, week.days, tally.records, tally.findings
    );
    println!(
        "first-seen: {} benign alerts during learning {learning_alerts:?}, {} after learning ({:.2} per day); \
         {} new values counted while learning; planted cases alerted: {} of {}",
        learning_alerts.len(),
        week_alerts.len(),
        week_alerts.len() as f64 / f64::from(week.days),
        tally.first_seen_learning,
        first_seen_cases.len() - first_seen_missed,
        first_seen_cases.len(),
    );
    // On-demand prices in us-east-1: $0.125 per million read request units, $0.625 per million write request units.
    let per_million = 1e6 / tally.records as f64;
    let (reads, writes) = (tally.read_units * per_million, tally.write_units * per_million);
    println!(
        "profile store, one invocation per file: {} items read, {} writes ({:.1} per file); per million records: \
         {:.0} read units, {:.0} write units, ${:.3}",
        tally.profile_reads,
        tally.profile_writes,
        tally.profile_writes as f64 / files as f64,
        reads,
        writes,
        reads * 0.125e-6 + writes * 0.625e-6
    );
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
    assert!(learning_alerts.is_empty(), "first-seen alerts while learning: {learning_alerts:?}");
    assert!(first_seen_cases.len() >= 9, "the first-seen cases are planted: {first_seen_cases:?}");
    assert!(tally.first_seen_learning > 0, "new values while learning are counted, not sent");
    assert!(missed.is_empty(), "missed: {missed:?}");
    assert!(tally.counted_only.contains_key("cis-cloudwatch-2-unauthorized-api-calls"), "the CIS count still counts");
}
