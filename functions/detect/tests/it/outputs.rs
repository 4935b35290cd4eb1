//! Outputs and flood control, end to end through the detection handler:
//! Slack and webhook payloads arrive at a local HTTP receiver, a failing
//! webhook neither holds up nor repeats SNS, a storm of files makes one
//! alert and one follow-up per principal, and concurrent files never pass
//! the per-second cap.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trailwatch_aws::ledger::Marker;
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::output::http::{check_url, Endpoint};
use trailwatch_aws::output::slack::SlackOutput;
use trailwatch_aws::output::webhook::WebhookOutput;
use trailwatch_aws::output::{Filter, Outputs, Route};
use trailwatch_aws::state::ShardFile;
use trailwatch_aws::testing::Receiver;
use trailwatch_core::alert::AlertKind;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::{RuleSet, Severity};
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const SIGNIN: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";
const SECRET: &str = "a-shared-secret-of-some-length";
const FAR: u64 = 4_000_000_000;

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap())
}

fn endpoint(receiver: &Receiver, label: &str) -> Endpoint {
    Endpoint::new(label, check_url(&receiver.url, true).unwrap()).unwrap()
}

fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: key.into(), size: None, etag: None }
}

/// Processes the files `0..files` (by `storm_key`), `at_once` at a time.
async fn process_all(detector: &Arc<Detector<MemoryStore>>, files: usize, at_once: usize) {
    let outcomes: Vec<_> = stream::iter(0..files)
        .map(|i| {
            let detector = detector.clone();
            async move { detector.process(&object(&storm_key(i)), FAR).await }
        })
        .buffer_unordered(at_once)
        .collect()
        .await;
    assert!(outcomes.iter().all(Result::is_ok), "{:?}", outcomes.iter().find(|o| o.is_err()));
}

fn signin_store() -> MemoryStore {
    let store = MemoryStore::default();
    let file = SIGNIN.rsplit('/').next().unwrap();
    let body = std::fs::read(format!("{}/../../events/cloudtrail/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    store.insert(LOGS, SIGNIN, body);
    store
}

#[tokio::test]
async fn slack_and_webhook_get_their_payloads_once_and_filters_apply() {
    let (slack, hook) = (Receiver::start().await, Receiver::start().await);
    let sns = MemorySink::default();
    let store = signin_store();
    let outputs = Outputs::new(vec![
        Route::new(sns.clone()).primary(),
        Route::new(SlackOutput::new(endpoint(&slack, "slack"))).filtered(Filter::new(Severity::High, "").unwrap()),
        Route::new(WebhookOutput::new(endpoint(&hook, "webhook"), SECRET))
            .filtered(Filter::new(Severity::Info, "root-*,!root-console-login-failure").unwrap()),
    ]);
    let detector = Detector::new(engine(), store.clone(), outputs, STATE);
    detector.process(&object(SIGNIN), FAR).await.unwrap();

    let all = sns.published();
    assert!(all.len() >= 4, "SNS takes every alert: {}", all.len());
    let slack_got = slack.received();
    let high = all.iter().filter(|p| p.alert.severity >= Severity::High).count();
    assert_eq!(slack_got.len(), high, "Slack takes high and critical only");
    for r in &slack_got {
        let payload: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(payload["attachments"][0]["blocks"].is_array(), "{payload}");
        assert!(r.headers["content-type"].starts_with("application/json"));
    }
    let hook_got = hook.received();
    let rules: Vec<String> = hook_got
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["alert"]["rule"].as_str().unwrap().into()
        })
        .collect();
    assert!(!rules.is_empty() && rules.iter().all(|r| r.starts_with("root-") && r != "root-console-login-failure"));
    for r in &hook_got {
        // The receiver's check, as the README gives it.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{}.", r.headers["x-trailwatch-timestamp"]).as_bytes());
        mac.update(&r.body);
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(r.headers["x-trailwatch-signature"], want);
        let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(doc["schema"], "trailwatch.alert.v1");
        assert_eq!(doc["delivery_id"], r.headers["x-trailwatch-delivery"].as_str());
    }

    // Redelivered: nothing is sent again anywhere.
    assert_eq!(detector.process(&object(SIGNIN), FAR).await.unwrap(), Handled::Duplicate);
    assert_eq!((sns.published().len(), slack.received().len(), hook.received().len()), (all.len(), high, rules.len()));
}

#[tokio::test]
async fn a_failing_webhook_retries_then_gives_up_without_holding_up_or_repeating_sns() {
    let hook = Receiver::start().await;
    let sns = MemorySink::default();
    let store = signin_store();
    let outputs = Outputs::new(vec![
        Route::new(sns.clone()).primary(),
        Route::new(WebhookOutput::new(endpoint(&hook, "webhook"), SECRET))
            .filtered(Filter::new(Severity::Info, "root-console-login").unwrap()),
    ]);
    // Down for every try of this invocation.
    hook.answer(&[503, 503, 503, 503]);
    let detector = Detector::new(engine(), store.clone(), outputs, STATE);
    let outcome = detector.process(&object(SIGNIN), FAR).await.unwrap();
    assert!(matches!(outcome, Handled::Processed { .. }), "the file is finished: {outcome:?}");
    assert!(hook.received().is_empty());
    let sent = sns.published().len();
    assert!(sent >= 4);
    let marker: Marker =
        serde_json::from_slice(&store.object(STATE, &format!("markers/{LOGS}/{SIGNIN}")).unwrap()).unwrap();
    let given_up: Vec<_> = marker.rejected.iter().filter(|r| r.id.starts_with("webhook:")).collect();
    assert_eq!(given_up.len(), 1, "{:?}", marker.rejected);
    assert!(given_up[0].reason.contains("gave up after 4 tries: webhook: HTTP 503"), "{}", given_up[0].reason);
    assert!(!given_up[0].reason.contains("127.0.0.1"), "the URL is a secret: {}", given_up[0].reason);
    let shard_key = store.keys(STATE).into_iter().find(|k| k.starts_with("shards/")).unwrap();
    let shard: ShardFile = serde_json::from_slice(&store.object(STATE, &shard_key).unwrap()).unwrap();
    assert_eq!(shard.rejected_alerts, 1, "the summary counts it");
    assert_eq!(sns.published().len(), sent, "SNS sent once");
}

fn failed_login(principal: &str, n: usize, file: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T10:{:02}:{:02}Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","responseElements":{{"ConsoleLogin":"Failure"}},"additionalEventData":{{"MFAUsed":"No"}},"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/{principal}","accountId":"123456789012","userName":"{principal}"}},"eventID":"{file:06}-{principal}-{n}","eventType":"AwsConsoleSignIn"}}"#,
        file % 60,
        n
    )
}

fn storm_key(i: usize) -> String {
    format!(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T{:02}{:02}Z_Storm{i:08}.json",
        10 + i / 60 % 10,
        i % 60
    )
}

/// GIVEN 500 files of the same failed-login burst by three people, processed
/// 32 at a time WHEN the dedup window closes THEN each person got one alert
/// at once and one follow-up counting every other failed login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_500_files_makes_one_alert_and_one_follow_up_per_principal() {
    const FILES: usize = 500;
    const PER_FILE: usize = 4;
    let people = ["alice", "bob", "carol"];
    let store = MemoryStore::default();
    for i in 0..FILES {
        let records: Vec<String> =
            people.iter().flat_map(|p| (0..PER_FILE).map(move |n| failed_login(p, n, i))).collect();
        store.insert(LOGS, &storm_key(i), format!(r#"{{"Records":[{}]}}"#, records.join(",")).into_bytes());
    }
    let sns = MemorySink::default();
    let detector = Arc::new(Detector::new(engine(), store.clone(), sns.clone(), STATE).with_dedup(3, 0));
    process_all(&detector, FILES, 32).await;

    let rule = "cis-cloudwatch-6-console-authentication-failures";
    let immediate = |sent: &[trailwatch_aws::memory::Published]| {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for p in sent.iter().filter(|p| p.alert.rule == rule && p.alert.kind == AlertKind::Finding) {
            *by.entry(p.alert.principal.clone().unwrap()).or_default() += 1;
        }
        by
    };
    let first = immediate(&sns.published());
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first.values().all(|&n| n == 1), "one immediate alert per principal: {first:?}");

    // Before the window closes nothing more; after it, one follow-up each.
    assert_eq!(detector.flush(FAR).await.unwrap().follow_ups, 0);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let flushed = detector.flush(FAR).await.unwrap();
    assert_eq!(flushed.follow_ups, 3);
    assert_eq!(flushed.folded_events, ((FILES - 1) * PER_FILE * 3) as u64);
    let follow_ups: Vec<_> = sns.published().into_iter().filter(|p| p.alert.kind == AlertKind::FollowUp).collect();
    assert_eq!(follow_ups.len(), 3);
    for f in &follow_ups {
        assert_eq!(f.alert.count, ((FILES - 1) * PER_FILE) as u64);
        assert!(
            f.subject.contains(&format!("{} more Console sign-in failed by", (FILES - 1) * PER_FILE)),
            "{}",
            f.subject
        );
    }
    // A second flush (a retry, the summary's) sends nothing again.
    assert_eq!(detector.flush(FAR).await.unwrap().follow_ups, 0);
    assert_eq!(sns.published().iter().filter(|p| p.alert.kind == AlertKind::FollowUp).count(), 3);

    // The summary counts what was folded.
    let folded: u64 = store
        .keys(STATE)
        .into_iter()
        .filter(|k| k.starts_with("shards/"))
        .map(|k| serde_json::from_slice::<ShardFile>(&store.object(STATE, &k).unwrap()).unwrap().folded_findings)
        .sum();
    assert_eq!(folded, flushed.folded_events);
}

/// GIVEN 40 files, each with an alert of its own, processed 16 at a time
/// WHEN SNS is capped at 10 messages a second THEN no second carries more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_files_never_pass_the_messages_per_second_cap() {
    const FILES: usize = 40;
    let store = MemoryStore::default();
    for i in 0..FILES {
        let record = failed_login(&format!("user{i}"), 0, i);
        store.insert(LOGS, &storm_key(i), format!(r#"{{"Records":[{record}]}}"#).into_bytes());
    }
    let sns = MemorySink::default();
    let outputs = Outputs::new(vec![Route::new(sns.clone()).primary().capped(10)]);
    let detector = Arc::new(Detector::new(engine(), store.clone(), outputs, STATE));
    let started = std::time::Instant::now();
    process_all(&detector, FILES, 16).await;
    let sent = sns.published();
    assert_eq!(sent.len(), FILES);
    let mut per_second: BTreeMap<u64, usize> = BTreeMap::new();
    for p in &sent {
        *per_second.entry(p.at_millis / 1000).or_default() += 1;
    }
    println!("{FILES} alerts in {:.1} s, per second: {per_second:?}", started.elapsed().as_secs_f64());
    assert!(per_second.values().all(|&n| n <= 10), "{per_second:?}");
}
