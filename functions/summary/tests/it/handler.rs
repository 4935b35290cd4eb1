//! The summary handler with in-memory S3 and SNS.

use crate::common::*;
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_summary::handler::Summarizer;

#[tokio::test]
async fn given_a_window_with_a_missing_shard_and_a_quiet_region_then_the_report_names_both() {
    let store = MemoryStore::default();
    deliver_and_detect(store.clone(), MemorySink::default()).await;
    let sink = MemorySink::default();
    let summarizer = Summarizer { store: store.clone(), outputs: sink.clone().into(), settings: settings() };

    let response = summarizer.handle(&event("schedule.json")).await.unwrap();
    assert_eq!(response["window"], "2026-11-20T00:00Z-24h");
    let sent = sink.published();
    assert_eq!(sent.len(), 1);
    let report = &sent[0];
    assert!(report.subject.starts_with("trailwatch daily summary 2026-11-20: 6 critical"), "{}", report.subject);
    assert!(report.attributes.contains(&("kind".into(), "summary".into())));
    let body = &report.body;
    assert!(body.contains("Log files delivered: 8   processed: 7"), "{body}");
    assert!(body.contains(&format!("s3://{LOGS}/{}", log_key(UNPROCESSED))), "{body}");
    assert!(body.contains("123456789012 ap-southeast-2: 1440 minutes without a log file"), "{body}");
    assert!(body.contains("Records: 80"), "{body}");
    assert!(store.object(STATE, "summaries/2026-11-20T00:00Z-24h.json").is_some());

    // The same scheduled event again (a retry): the same stored report, and
    // no second message (the ledger entry of the window says it was sent).
    let stored = store.object(STATE, "summaries/2026-11-20T00:00Z-24h.json").unwrap();
    summarizer.handle(&event("schedule.json")).await.unwrap();
    assert_eq!(store.object(STATE, "summaries/2026-11-20T00:00Z-24h.json").unwrap(), stored);
    assert_eq!(sink.published().len(), 1);
}

#[tokio::test]
async fn the_next_window_compares_with_the_stored_previous_one() {
    let store = MemoryStore::default();
    deliver_and_detect(store.clone(), MemorySink::default()).await;
    let sink = MemorySink::default();
    let summarizer = Summarizer { store: store.clone(), outputs: sink.clone().into(), settings: settings() };
    summarizer.handle(&event("schedule.json")).await.unwrap();
    let mut next = event("schedule.json");
    next["time"] = "2026-11-22T00:05:00Z".into();
    summarizer.handle(&next).await.unwrap();
    let body = &sink.published()[1].body;
    assert!(body.contains("trailwatch daily summary 2026-11-21"));
    assert!(body.contains("No root activity."), "{body}");
    assert!(body.contains("No account/region used that was not used before."), "{body}");
}

#[tokio::test]
async fn an_event_without_time_is_an_error_and_a_failed_publish_is_an_error() {
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    let summarizer = Summarizer { store, outputs: sink.clone().into(), settings: settings() };
    let err = summarizer.handle(&serde_json::json!({"detail": {}})).await.unwrap_err();
    assert!(err.to_string().contains("no `time`"), "{err}");
    // Failing past the retries within the invocation: the invocation fails.
    sink.fail_next(3);
    assert!(summarizer.handle(&event("schedule.json")).await.is_err());
    summarizer.handle(&event("schedule.json")).await.unwrap();
    assert!(sink.published()[0].body.contains("Log files delivered: 0"));
}

/// GIVEN integrity records for some of the window's log files (as the
/// detection function writes when a digest verifies) WHEN the summary runs
/// THEN its coverage says how many a digest vouched for and names the rest.
#[tokio::test]
async fn coverage_counts_the_log_files_a_digest_vouched_for() {
    use trailwatch_core::digest::delivered::IntegrityRecord;
    let store = MemoryStore::default();
    deliver_and_detect(store.clone(), MemorySink::default()).await;
    let vouched = [
        "123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz",
        "123456789012_CloudTrail_us-east-1_20261120T0930Z_IamCh4ngesEv0002.json.gz",
    ];
    let record = IntegrityRecord {
        digest: "s3://trailwatch-logs/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/d.json.gz".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        digest_start_time: "2026-11-20T09:00:31Z".into(),
        digest_end_time: "2026-11-20T10:00:31Z".into(),
        verified: vouched.iter().map(|f| format!("s3://{LOGS}/{}", log_key(f))).collect(),
        failures: Vec::new(),
    };
    store.insert(STATE, "integrity/2026/11/20/09/trailwatch-logs/d.json.gz.json", serde_json::to_vec(&record).unwrap());
    let sink = MemorySink::default();
    let summarizer = Summarizer { store: store.clone(), outputs: sink.clone().into(), settings: settings() };
    summarizer.handle(&event("schedule.json")).await.unwrap();
    let body = &sink.published()[0].body;
    assert!(body.contains("Verified by a digest: 2 of 8 log files"), "{body}");
    assert!(body.contains("Not verified by any digest (6):"), "{body}");
    assert!(body.contains("S3DataEvents0005"), "{body}");
}
