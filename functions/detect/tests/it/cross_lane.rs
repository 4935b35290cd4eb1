//! One alert per event and rule across lanes, with the in-memory ports: the
//! real-time lane first, the file first, an event EventBridge never
//! delivered, the same event through two intakes, and faults between the
//! lanes (the output down for the real-time job, the state bucket failing
//! the file's claims).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::ports::FailureKind;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";
/// The root console sign-in of the sample file, and of the real-time samples.
const ROOT_SIGNIN: &str = "2026-11-20T09:05:06Z";

fn payload(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn setup() -> (Detector<MemoryStore>, MemoryStore, MemorySink) {
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    let file = KEY.rsplit('/').next().unwrap();
    store.insert(
        LOGS,
        KEY,
        std::fs::read(format!("{}/../../events/cloudtrail/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    );
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    // No dedup window: what is not sent twice is the cross-lane claim's doing.
    let detector = Detector::new(engine, store.clone(), sink.clone(), STATE).with_dedup(0, 0);
    (detector, store, sink)
}

fn object() -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: KEY.into(), size: None, etag: None }
}

/// How many alerts listed each (rule, event time).
fn sent(sink: &MemorySink) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for p in sink.published() {
        for event in &p.alert.events {
            *out.entry((p.alert.rule.clone(), event.time.clone().unwrap_or_default())).or_default() += 1;
        }
    }
    out
}

/// The rules that alert on the root sign-in in real time.
fn realtime_rules(sink: &MemorySink) -> Vec<String> {
    sent(sink).into_keys().filter(|(_, time)| time == ROOT_SIGNIN).map(|(rule, _)| rule).collect()
}

/// Every (rule, event) listed once, and the root sign-in among them.
fn assert_once(sink: &MemorySink, rules: &[String]) {
    let counts = sent(sink);
    assert!(counts.values().all(|&n| n == 1), "each event alerted once per rule: {counts:?}");
    for rule in rules {
        assert_eq!(counts.get(&(rule.clone(), ROOT_SIGNIN.into())), Some(&1), "{rule}");
    }
}

/// GIVEN the root sign-in through EventBridge WHEN its log file lands THEN
/// the file alerts on the file's other events, not on the sign-in again.
#[tokio::test]
async fn the_real_time_alert_is_not_sent_again_from_the_file() {
    let (detector, _, sink) = setup();
    let answer = detector.handle(&payload("eventbridge-root-signin.json"), FAR).await.unwrap();
    assert!(answer["objects"][0]["outcome"].as_str().unwrap().starts_with("Event"), "{answer}");
    let rules = realtime_rules(&sink);
    assert!(!rules.is_empty(), "a root sign-in alerts in real time");
    assert!(sink.published().iter().all(|p| p.alert.tags.contains(&"lane:eventbridge".to_string())));
    let before = sink.published().len();

    detector.process(&object(), FAR).await.unwrap();
    assert!(sink.published().len() > before, "the file's other findings alert");
    assert_once(&sink, &rules);
}

/// GIVEN the file first (EventBridge late, or retried) WHEN the event comes
/// THEN it sends nothing; GIVEN it again THEN it is a duplicate.
#[tokio::test]
async fn a_late_real_time_event_finds_its_file_alerted() {
    let (detector, _, sink) = setup();
    detector.process(&object(), FAR).await.unwrap();
    let from_file = sink.published().len();
    let event = payload("eventbridge-root-signin.json");
    detector.handle(&event, FAR).await.unwrap();
    assert_eq!(sink.published().len(), from_file, "nothing new");
    let again = detector.handle(&event, FAR).await.unwrap();
    assert!(again.to_string().contains("Duplicate"), "{again}");
}

/// GIVEN an event EventBridge never delivered (best effort) THEN its file
/// alerts on it, and on the one that did come only once.
#[tokio::test]
async fn what_the_real_time_lane_missed_is_alerted_from_the_file() {
    let (with_lane, _, sink) = setup();
    with_lane.handle(&payload("eventbridge-root-signin.json"), FAR).await.unwrap();
    with_lane.process(&object(), FAR).await.unwrap();
    let (file_only, _, alone) = setup();
    file_only.process(&object(), FAR).await.unwrap();
    assert_eq!(
        sent(&sink).into_keys().collect::<Vec<_>>(),
        sent(&alone).into_keys().collect::<Vec<_>>(),
        "the same (rule, event) pairs"
    );
}

/// GIVEN the same sign-in through CloudWatch Logs and EventBridge THEN it
/// runs once; the log group's other record alerts in real time too.
#[tokio::test]
async fn two_intakes_of_one_event_run_it_once() {
    let (detector, _, sink) = setup();
    detector.handle(&payload("cloudwatch-logs-root-signin.json"), FAR).await.unwrap();
    let rules = realtime_rules(&sink);
    let answer = detector.handle(&payload("sqs-eventbridge-root-signin.json"), FAR).await.unwrap();
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
    detector.process(&object(), FAR).await.unwrap();
    assert_once(&sink, &rules);
    assert!(sink.published().iter().any(|p| p.alert.tags.contains(&"lane:cloudwatch-logs".to_string())));
}

/// GIVEN the output down for the real-time job (its alert written down,
/// never confirmed) WHEN the file lands THEN the file takes the event over
/// and alerts; WHEN the real-time retry comes THEN it sends nothing.
#[tokio::test]
async fn a_real_time_job_that_failed_to_send_leaves_the_event_to_the_file() {
    let (detector, _, sink) = setup();
    sink.fail_next(3);
    let event = payload("eventbridge-root-signin.json");
    assert!(detector.handle(&event, FAR).await.is_err(), "retryable: the invocation fails");
    assert!(sink.published().is_empty());
    detector.process(&object(), FAR).await.unwrap();
    let rules = realtime_rules(&sink);
    assert!(!rules.is_empty(), "the file alerted on the sign-in");
    let after_file = sink.published().len();
    detector.handle(&event, FAR).await.unwrap();
    assert_eq!(sink.published().len(), after_file, "the retry steps aside");
    assert_once(&sink, &rules);
}

/// GIVEN the state bucket failing the file's claims THEN the file fails
/// (retryable) before sending anything; its retry sends each event once.
#[tokio::test]
async fn a_failed_claim_fails_the_file_and_its_retry_sends_once() {
    let (detector, store, sink) = setup();
    detector.handle(&payload("eventbridge-root-signin.json"), FAR).await.unwrap();
    let rules = realtime_rules(&sink);
    let before = sink.published().len();
    store.fail_after("put", "lanes/", FailureKind::Transient, 1, 1);
    let err = detector.process(&object(), FAR).await.unwrap_err();
    assert!(err.to_string().contains("across lanes"), "{err}");
    assert_eq!(sink.published().len(), before, "nothing sent from the failed attempt");
    assert!(matches!(detector.process(&object(), FAR).await.unwrap(), Handled::Processed { .. }));
    assert_once(&sink, &rules);
}

/// GIVEN a log group's subscription bringing an event no rule matches WHEN
/// it is handled THEN it costs no state write (no ledger entry, no claim);
/// GIVEN one with a finding THEN it has its ledger entry.
#[tokio::test]
async fn an_event_with_no_finding_writes_nothing() {
    let (detector, store, sink) = setup();
    let before = store.keys(STATE).len();
    let record = serde_json::json!({
        "eventVersion": "1.09", "eventTime": "2026-11-20T09:05:06Z", "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets", "awsRegion": "us-east-1", "eventID": "quiet-1", "readOnly": true,
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"},
        "recipientAccountId": "123456789012"
    });
    let event = serde_json::json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "id": "e1",
        "account": "123456789012", "region": "us-east-1", "time": "2026-11-20T09:05:06Z", "detail": record});
    let answer = detector.handle(&event, FAR).await.unwrap();
    assert!(answer.to_string().contains("findings: 0"), "{answer}");
    assert_eq!(store.keys(STATE).len(), before, "nothing written: {:?}", store.keys(STATE));
    assert!(sink.published().is_empty());
    detector.handle(&payload("eventbridge-root-signin.json"), FAR).await.unwrap();
    assert!(store.keys(STATE).iter().any(|k| k.contains("b13e6955")), "{:?}", store.keys(STATE));
}
