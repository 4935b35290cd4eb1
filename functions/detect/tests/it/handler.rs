//! The detection handler with in-memory S3 and SNS: grouping, exactly-once,
//! failures and retries, every trigger shape in events/.

use std::sync::Arc;

use serde_json::Value;
use trailwatch_aws::ledger::{Marker, MarkerState};
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::ports::FailureKind;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";
const KEY2: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0930Z_IamCh4ngesEv0002.json.gz";
const FAR: u64 = 4_000_000_000;

fn repo_file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn event(name: &str) -> Value {
    serde_json::from_slice(&repo_file(&format!("events/{name}"))).unwrap()
}

fn setup() -> (Detector<MemoryStore>, MemoryStore, MemorySink) {
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    for key in [KEY, KEY2] {
        let file = key.rsplit('/').next().unwrap();
        // The ETag the sample notifications carry.
        store.insert_with_etag(
            LOGS,
            key,
            repo_file(&format!("events/cloudtrail/{file}")),
            "\"d41d8cd98f00b204e9800998ecf8427e\"",
        );
    }
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector = Detector::new(engine, store.clone(), sink.clone(), STATE);
    (detector, store, sink)
}

fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: key.into(), size: None, etag: None }
}

fn marker(store: &MemoryStore, key: &str) -> Option<Marker> {
    store.object(STATE, &format!("markers/{LOGS}/{key}")).map(|b| serde_json::from_slice(&b).unwrap())
}

#[tokio::test]
async fn given_a_log_when_processed_then_grouped_alerts_a_shard_and_a_done_marker() {
    let (detector, store, sink) = setup();
    let outcome = detector.process(&object(KEY), FAR).await.unwrap();
    let Handled::Processed { records, findings, alerts, problems } = outcome else { panic!("{outcome:?}") };
    assert_eq!((records, problems), (10, 0));
    assert!(findings >= alerts as u64 && alerts >= 5, "{findings} findings, {alerts} alerts");
    let published = sink.published();
    assert_eq!(published.len(), alerts);
    assert!(
        published[0].subject.starts_with("[CRITICAL] Root console login by root in 123456789012 (us-east-1)"),
        "{}",
        published[0].subject
    );
    assert!(published.iter().all(|a| a.subject.len() <= 99 && a.subject.is_ascii()));
    assert_eq!(marker(&store, KEY).unwrap().state, MarkerState::Done);
    let shard = store.object(STATE, &format!("shards/2026/11/20/09/{LOGS}/{KEY}.json")).expect("shard");
    let shard: Value = serde_json::from_slice(&shard).unwrap();
    assert_eq!(shard["stats"]["records"], 10);
    assert_eq!(shard["account_id"], "123456789012");
}

#[tokio::test]
async fn given_a_redelivery_then_no_second_alert() {
    let (detector, _store, sink) = setup();
    detector.process(&object(KEY), FAR).await.unwrap();
    let first = sink.published().len();
    assert_eq!(detector.process(&object(KEY), FAR).await.unwrap(), Handled::Duplicate);
    let response = detector.handle(&event("s3-put.json"), FAR).await.unwrap();
    assert!(response.to_string().contains("Duplicate"));
    assert_eq!(sink.published().len(), first);
}

#[tokio::test]
async fn given_sns_down_then_error_and_the_retry_publishes_exactly_once() {
    let (detector, store, sink) = setup();
    sink.fail_next(3); // every try of this invocation
    let err = detector.process(&object(KEY), FAR).await.unwrap_err();
    assert!(err.to_string().contains("publishing alerts failed"), "{err}");
    assert!(sink.published().is_empty());
    assert_eq!(marker(&store, KEY).unwrap().state, MarkerState::Partial);
    let Handled::Processed { alerts, .. } = detector.process(&object(KEY), FAR).await.unwrap() else { panic!() };
    assert_eq!(sink.published().len(), alerts);
    assert_eq!(detector.process(&object(KEY), FAR).await.unwrap(), Handled::Duplicate);
    assert_eq!(sink.published().len(), alerts);
}

#[tokio::test]
async fn given_a_failed_shard_write_then_the_retry_does_not_resend_alerts() {
    let (detector, store, sink) = setup();
    store.fail("put", "shards/", FailureKind::Transient, 1);
    let err = detector.process(&object(KEY), FAR).await.unwrap_err();
    assert!(err.to_string().contains("statistics shard"), "{err}");
    let sent = sink.published().len();
    assert!(sent > 0);
    let marker_now = marker(&store, KEY).unwrap();
    assert_eq!((marker_now.state, marker_now.published.len()), (MarkerState::Partial, sent));
    detector.process(&object(KEY), FAR).await.unwrap();
    assert_eq!(sink.published().len(), sent, "nothing sent twice");
    assert_eq!(marker(&store, KEY).unwrap().state, MarkerState::Done);
}

#[tokio::test]
async fn given_a_concurrent_claim_then_back_off_and_take_over_after_its_deadline() {
    let (detector, store, sink) = setup();
    let live = Marker {
        state: MarkerState::Claimed,
        etag: None,
        at: FAR,
        owner: "another-invocation".into(),
        intended: vec![],
        published: vec![],
        rejected: vec![],
        records: 0,
        findings: 0,
    };
    store.insert(STATE, &format!("markers/{LOGS}/{KEY}"), serde_json::to_vec(&live).unwrap());
    let err = detector.process(&object(KEY), FAR).await.unwrap_err();
    assert!(err.to_string().contains("another invocation"), "{err}");
    assert!(sink.published().is_empty());
    let lapsed = Marker { at: 1, ..live };
    store.insert(STATE, &format!("markers/{LOGS}/{KEY}"), serde_json::to_vec(&lapsed).unwrap());
    assert!(matches!(detector.process(&object(KEY), FAR).await.unwrap(), Handled::Processed { .. }));
}

#[tokio::test]
async fn given_transient_read_failure_then_error_and_claim_released() {
    let (detector, store, sink) = setup();
    store.fail("get", KEY, FailureKind::Transient, 1);
    assert!(detector.process(&object(KEY), FAR).await.is_err());
    assert_eq!(marker(&store, KEY).unwrap().state, MarkerState::Partial, "claim released for the retry");
    assert!(sink.published().is_empty());
    assert!(matches!(detector.process(&object(KEY), FAR).await.unwrap(), Handled::Processed { .. }));
}

#[tokio::test]
async fn given_a_deleted_object_then_skipped_without_error() {
    let (detector, store, _) = setup();
    let gone = KEY.replace("0910Z", "0915Z");
    assert_eq!(detector.process(&object(&gone), FAR).await.unwrap(), Handled::Missing);
    assert_eq!(marker(&store, &gone).unwrap().state, MarkerState::Partial, "a re-upload is processed");
}

#[tokio::test]
async fn given_a_corrupt_file_then_an_unreadable_alert_and_no_retry_loop() {
    let (detector, store, sink) = setup();
    let key = KEY.replace("0910Z", "0920Z");
    let good = repo_file("events/malformed/truncated.json.gz");
    store.insert(LOGS, &key, good);
    let Handled::Processed { problems, findings, .. } = detector.process(&object(&key), FAR).await.unwrap() else {
        panic!()
    };
    assert_eq!(problems, 1);
    assert!(findings > 0, "findings from the records before the fault");
    let alerts = sink.published();
    let unreadable = alerts.iter().find(|a| a.id == "problems").expect("problem alert");
    assert!(unreadable.subject.starts_with("[MEDIUM] Unreadable CloudTrail log file"), "{}", unreadable.subject);
    assert!(unreadable.body.contains("corrupt or truncated gzip"));
    assert_eq!(marker(&store, &key).unwrap().state, MarkerState::Done);
    assert_eq!(detector.process(&object(&key), FAR).await.unwrap(), Handled::Duplicate);
}

#[tokio::test]
async fn non_log_keys_are_skipped_with_a_reason() {
    let (detector, _, sink) = setup();
    for (key, reason) in [
        ("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/d.json.gz", "CloudTrail digest file"),
        ("AWSLogs/123456789012/CloudTrail/", "0-byte folder object"),
        ("AWSLogs/123456789012/Config/ConfigWritabilityCheckFile", "AWS Config writability check"),
    ] {
        assert_eq!(detector.process(&object(key), FAR).await.unwrap(), Handled::Skipped(reason));
    }
    assert!(sink.published().is_empty());
}

#[tokio::test]
async fn every_trigger_shape_reaches_the_object() {
    for name in
        ["s3-put.json", "s3-put-moto.json", "eventbridge-object-created.json", "sns-s3-put.json", "cloudtrail-sns.json"]
    {
        let (detector, store, sink) = setup();
        detector.handle(&event(name), FAR).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!sink.published().is_empty(), "{name}");
        assert_eq!(marker(&store, KEY).unwrap().state, MarkerState::Done, "{name}");
    }
    let (detector, _, sink) = setup();
    detector.handle(&event("s3-test-event.json"), FAR).await.unwrap();
    assert!(sink.published().is_empty());
}

#[tokio::test]
async fn sqs_batches_report_only_the_failed_messages() {
    let (detector, _, _) = setup();
    let response = detector.handle(&event("sqs-batch.json"), FAR).await.unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "msg-garbage"}]}));
}

/// GIVEN an SQS invocation whose batch cannot be split into messages WHEN
/// handled THEN the invocation fails (every message is kept and retried)
/// instead of answering an empty `batchItemFailures`, which deletes them all.
#[tokio::test]
async fn an_sqs_batch_that_cannot_be_split_fails_the_invocation() {
    use trailwatch_aws::runner::Retry;
    let (detector, _, sink) = setup();
    let garbled = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": 5}]});
    let err = detector.handle(&garbled, 4_000_000_000).await.unwrap_err();
    assert!(err.retryable(), "{err:?}");
    assert!(err.to_string().starts_with("SQS batch: "), "{err}");
    assert!(sink.published().is_empty());
}

#[tokio::test]
async fn a_direct_invocation_with_one_bad_object_still_processes_the_others() {
    let (detector, store, _) = setup();
    store.fail("get", KEY, FailureKind::Transient, 1);
    let err = detector.handle(&event("cloudtrail-sns.json"), FAR).await.unwrap_err();
    assert!(err.subject().contains(KEY));
    assert_eq!(marker(&store, KEY2).unwrap().state, MarkerState::Done, "the second file was processed");
}

/// GIVEN a record only a compliance-grade CIS rule matches (an AWS service
/// role refused a call) and one only a rule in a dry run matches WHEN
/// processed THEN both are counted in the statistics and nothing is sent.
#[tokio::test]
async fn compliance_only_and_dry_run_rules_count_but_do_not_alert() {
    use trailwatch_aws::state::ShardFile;
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    let mut rules = RuleSet::builtin().unwrap();
    rules
        .merge(
            RuleSet::from_toml(
                r#"[[rule]]
id = "trial-describe-vpcs"
title = "Trial"
severity = "high"
dry_run = true
pattern = '{ $.eventName = DescribeVpcs }'
description = "A rule on trial."
examples.match = ['{"eventName":"DescribeVpcs"}']
examples.no_match = ['{"eventName":"DescribeSubnets"}']
"#,
                "trial.toml",
            )
            .unwrap(),
        )
        .unwrap();
    let probe = r#"{"eventName":"ListRoles","eventSource":"iam.amazonaws.com","errorCode":"AccessDenied","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"config.amazonaws.com","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForConfig/AWSConfig","invokedBy":"config.amazonaws.com"},"eventID":"e1"}"#;
    let trial = r#"{"eventName":"DescribeVpcs","eventSource":"ec2.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob"},"eventID":"e2"}"#;
    store.insert(LOGS, KEY, format!(r#"{{"Records":[{probe},{trial}]}}"#).into_bytes());
    let engine = Arc::new(Engine::new(&rules, EngineOptions::default()).unwrap());
    let detector = Detector::new(engine, store.clone(), sink.clone(), STATE);
    let outcome = detector.process(&object(KEY), FAR).await.unwrap();
    let Handled::Processed { findings, alerts, .. } = outcome else { panic!("{outcome:?}") };
    // The trial record also matches the built-in discovery-burst, which ships in a dry run.
    assert_eq!((findings, alerts), (3, 0));
    assert!(sink.published().is_empty());
    let shard_key = store.keys(STATE).into_iter().find(|k| k.starts_with("shards/")).unwrap();
    let shard: ShardFile = serde_json::from_slice(&store.object(STATE, &shard_key).unwrap()).unwrap();
    let counted: Vec<&str> = shard.stats.findings.keys().map(String::as_str).collect();
    assert_eq!(
        counted,
        ["cis-cloudwatch-2-unauthorized-api-calls", "discovery-burst", "trial-describe-vpcs"],
        "still counted"
    );
}

#[tokio::test]
async fn the_schedule_rolls_up_the_hour_that_closed_once() {
    use trailwatch_aws::rollup::{latest_closed, rollup_key, HourStats};
    use trailwatch_aws::state::ShardFile;
    // GIVEN a shard filed under the latest hour closed for rolling up
    let (detector, store, _) = setup();
    let hour = latest_closed(trailwatch_aws::runner::now(), 1).remove(0);
    let shard = ShardFile {
        source: format!("s3://{LOGS}/{KEY}"),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        time: "20261120T0910Z".into(),
        complete: true,
        stats: trailwatch_core::StatsShard { records: 7, ..Default::default() },
        rejected_alerts: 0,
        folded_findings: 0,
        event_lane: None,
    };
    store.insert(STATE, &format!("shards/{hour}/{LOGS}/{KEY}.json"), serde_json::to_vec(&shard).unwrap());
    // WHEN the schedule runs THEN the hour's rollup holds it
    detector.handle(&event("schedule.json"), FAR).await.unwrap();
    let written = store.object(STATE, &rollup_key(&hour)).expect("the hour is rolled up");
    let rollup: HourStats = serde_json::from_slice(&written).unwrap();
    assert_eq!((rollup.stats.records, rollup.processed.len()), (7, 1));
    // AND a second schedule leaves it as it is
    store.insert(STATE, &format!("shards/{hour}/{LOGS}/{KEY2}.json"), serde_json::to_vec(&shard).unwrap());
    detector.handle(&event("schedule.json"), FAR).await.unwrap();
    assert_eq!(store.object(STATE, &rollup_key(&hour)).unwrap(), written);
}
