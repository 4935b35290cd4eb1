//! Threshold rules across files in the detection function: GIVEN a principal
//! reading secrets spread over many log files, processed concurrently, WHEN
//! the distinct secrets in one 10-minute window reach the built-in rule's 20
//! THEN exactly one alert is sent for that window, however many files follow,
//! and redelivered files send nothing more.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::Detector;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;

fn key(i: usize) -> String {
    format!("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/21/123456789012_CloudTrail_us-east-1_20261121T10{i:02}Z_Secrets{i:06}.json")
}

fn read(secret: usize, minute: usize) -> String {
    format!(
        r#"{{"eventTime":"2026-11-21T10:{minute:02}:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"203.0.113.66","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012"}},"requestParameters":{{"secretId":"prod/secret-{secret}"}},"eventID":"ev-{secret}-{minute}"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_reached_across_files_alerts_once_per_window() {
    let store = MemoryStore::default();
    // Eight files of 5 distinct secrets each, all in 10:00-10:10: 40 distinct.
    for i in 0..8 {
        let records: Vec<String> = (0..5).map(|s| read(i * 5 + s, i)).collect();
        store.insert(LOGS, &key(i), format!(r#"{{"Records":[{}]}}"#, records.join(",")).into_bytes());
    }
    // One more in the next window: 5 distinct, under the threshold there.
    let late: Vec<String> = (0..5).map(|s| read(100 + s, 12)).collect();
    store.insert(LOGS, &key(12), format!(r#"{{"Records":[{}]}}"#, late.join(",")).into_bytes());

    let sink = MemorySink::default();
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector = Arc::new(Detector::new(engine, store.clone(), sink.clone(), STATE));
    let keys: Vec<String> = (0..8).chain([12]).map(key).collect();
    let outcomes: Vec<_> = stream::iter(keys.clone())
        .map(|k| {
            let detector = detector.clone();
            async move {
                let object = ObjectRef { bucket: LOGS.into(), key: k, size: None, etag: None };
                detector.process(&object, FAR).await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");

    let alerts: Vec<_> = sink.published().into_iter().filter(|p| p.alert.rule == "secrets-read-burst").collect();
    assert_eq!(alerts.len(), 1, "{:?}", alerts.iter().map(|a| &a.subject).collect::<Vec<_>>());
    let alert = &alerts[0].alert;
    assert!(alert.title.starts_with("Many secrets read by one principal: "), "{}", alert.title);
    let measured: u64 = alert.title.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((20..=40).contains(&measured), "counted across files: {}", alert.title);
    assert_eq!(alert.principal.as_deref(), Some("arn:aws:iam::123456789012:user/mallory"));
    assert!(alerts[0].subject.starts_with("[HIGH] Many secrets read by one principal"), "{}", alerts[0].subject);

    let before = sink.published().len();
    for k in keys {
        let object = ObjectRef { bucket: LOGS.into(), key: k, size: None, etag: None };
        detector.process(&object, FAR).await.unwrap();
    }
    assert_eq!(sink.published().len(), before, "redelivery sends nothing");
}
