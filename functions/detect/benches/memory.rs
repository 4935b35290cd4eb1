//! The detection handler end to end: peak memory on a file where every
//! record matches, and time on a typical 12 MB file.
//!
//! `cargo bench -p trailwatch-detect --bench memory` (or `make bench`):
//! writes a gzipped CloudTrail file of 1,000,000 failed console sign-ins by
//! 5,000 users (each record matches two built-in rules), puts it in the
//! in-memory store, runs the handler on it once, and prints the peak
//! resident memory (VmHWM) before and after, and the difference: what the
//! handler itself needed. The gzipped file held in the store is part of the
//! baseline; in AWS the body streams from S3 instead.
//!
//! Then the handler on a generated, ordinary 12 MB gzipped log file (the
//! throughput bench's records), with the in-memory store and SNS sink, on
//! one thread and on two: claim, scan, fold, alerts, statistics shard,
//! ledger. Best of three, each run on a fresh store.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const RECORDS: usize = 1_000_000;
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_MillionMatches01.json.gz";

fn kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn file() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"Records\":[").unwrap();
    for i in 0..RECORDS {
        if i > 0 {
            gz.write_all(b",").unwrap();
        }
        write!(
            gz,
            r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T09:05:06Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"203.0.113.{}","userAgent":"Mozilla/5.0","userIdentity":{{"type":"IAMUser","principalId":"AIDA{i:016}","arn":"arn:aws:iam::123456789012:user/u{}","accountId":"123456789012","userName":"u{}"}},"responseElements":{{"ConsoleLogin":"Failure"}},"additionalEventData":{{"MFAUsed":"No"}},"errorMessage":"Failed authentication","eventID":"{i:08x}-0000-4000-8000-000000000000","eventType":"AwsConsoleSignIn"}}"#,
            i % 250,
            i % 5_000,
            i % 5_000
        )
        .unwrap();
    }
    gz.write_all(b"]}").unwrap();
    gz.finish().unwrap()
}

/// A generated ordinary log file of about `mb` MB gzipped: (gzip, uncompressed bytes, records).
fn typical_file(mb: usize) -> (Vec<u8>, u64, usize) {
    // The generator's records compress to about 92 bytes each.
    let records = mb * 1_000_000 / 92;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    let bytes = trailwatch_core::synth::Generator::new(20261123).write_log(records, &mut gz).unwrap();
    (gz.finish().unwrap(), bytes, records)
}

/// The handler on the typical file, best of three: (seconds, findings, alerts).
fn typical_run(gz: &[u8], threads: usize) -> (f64, u64, usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    (0..3)
        .map(|run| {
            let store = MemoryStore::default();
            let key = KEY.replace("MillionMatches01", &format!("Typical{threads}{run}"));
            store.insert("logs", &key, gz.to_vec());
            let options = EngineOptions { threads, ..EngineOptions::default() };
            let engine = Engine::new(&RuleSet::builtin().unwrap(), options).unwrap();
            let detector = Detector::new(Arc::new(engine), store, MemorySink::default(), "state");
            let object = ObjectRef { bucket: "logs".into(), key, size: None, etag: None };
            let start = Instant::now();
            let outcome = runtime.block_on(detector.process(&object, 4_000_000_000)).unwrap();
            let seconds = start.elapsed().as_secs_f64();
            let Handled::Processed { findings, alerts, .. } = outcome else { panic!("{outcome:?}") };
            (seconds, findings, alerts)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
}

fn typical() {
    let (gz, bytes, records) = typical_file(12);
    println!();
    println!("detection handler, one typical file (in-memory S3 and SNS, release build, best of 3)");
    println!();
    println!(
        "| records | gzip MB | uncompressed MB | threads | seconds | MB/s uncompressed | findings | alerts sent |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for threads in [1, 2] {
        let (seconds, findings, alerts) = typical_run(&gz, threads);
        println!(
            "| {records} | {:.1} | {:.1} | {threads} | {seconds:.3} | {:.0} | {findings} | {alerts} |",
            gz.len() as f64 / 1e6,
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let gz = file();
    let store = MemoryStore::default();
    store.insert("logs", KEY, gz.clone());
    let size = gz.len();
    drop(gz);
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let sink = MemorySink::default();
    let detector = Detector::new(Arc::new(engine), store, sink.clone(), "state");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let baseline = kib("VmRSS:");
    let start = Instant::now();
    let object = ObjectRef { bucket: "logs".into(), key: KEY.into(), size: None, etag: None };
    let outcome = runtime.block_on(detector.process(&object, 4_000_000_000)).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let peak = kib("VmHWM:");
    let Handled::Processed { records, findings, alerts, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(records as usize, RECORDS);
    println!("detection handler, one file where every record matches (release build)");
    println!();
    println!("| records | findings | gzip MB | alerts sent | seconds | RSS before | peak RSS | peak - before |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {records} | {findings} | {:.1} | {alerts} | {seconds:.1} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
        size as f64 / 1e6,
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(baseline)) as f64 / 1024.0
    );
    assert_eq!(sink.published().len(), alerts);

    // For comparison, what collecting every finding first (as the handler
    // did before) needs on the same file: measured after, so the peak is its own.
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let body = std::io::Cursor::new(detector.store().object("logs", KEY).unwrap());
    let mut collect = trailwatch_core::engine::Collect::default();
    engine.scan("collect", body, &mut collect);
    let collected = kib("VmHWM:");
    println!();
    println!(
        "The handler needed {:.1} MiB above the baseline, of which {:.1} MB is the copy of the gzipped body the in-memory store hands out. \
         Collecting all {} findings first needed {:.1} MiB.",
        (peak.saturating_sub(baseline)) as f64 / 1024.0,
        size as f64 / 1e6,
        collect.findings.len(),
        (collected.saturating_sub(baseline)) as f64 / 1024.0
    );
    drop(collect);
    typical();
}
