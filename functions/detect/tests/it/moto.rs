//! The detection handler against a real S3/SNS/SQS emulator (moto server),
//! through the AWS SDK over HTTP: alerts arrive on an SQS queue subscribed to
//! the topic, redelivery sends nothing, an SNS failure is an error and the
//! retry publishes exactly once.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use trailwatch_aws::output::sns::SnsSink;
use trailwatch_aws::ports::{FailureKind, ObjectStore};
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::testing::Moto;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::handler::Detector;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;

fn repo(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Puts the sample log file the moto notification names into the log
/// bucket; the notification, carrying the object's ETag as S3 would send it.
pub(crate) async fn put_sample_log(s3: &aws_sdk_s3::Client) -> Value {
    let mut event: Value = serde_json::from_slice(&repo("events/s3-put-moto.json")).unwrap();
    let key = event["Records"][0]["s3"]["object"]["key"].as_str().unwrap().to_string();
    let file = key.rsplit('/').next().unwrap();
    let put = s3
        .put_object()
        .bucket(LOGS)
        .key(&key)
        .body(ByteStream::from(repo(&format!("events/cloudtrail/{file}"))))
        .send()
        .await
        .unwrap();
    event["Records"][0]["s3"]["object"]["eTag"] = put.e_tag().unwrap().into();
    event
}

fn detector(moto: &Moto, topic_arn: &str) -> Detector<S3Store> {
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    Detector::new(Arc::new(engine), S3Store::new(moto.s3()), SnsSink::new(moto.sns(), topic_arn), STATE)
}

/// The emulator with the log and state buckets, and a topic whose messages
/// land on a queue.
async fn emulator(topic: &str) -> (Moto, String, String) {
    let moto = Moto::start().await;
    for bucket in [LOGS, STATE] {
        moto.s3().create_bucket().bucket(bucket).send().await.unwrap();
    }
    let (topic_arn, queue_url) = moto.topic_with_queue(topic).await;
    (moto, topic_arn, queue_url)
}

fn attribute<'a>(message: &'a Value, name: &str) -> &'a str {
    message["MessageAttributes"][name]["Value"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn alerts_reach_subscribers_exactly_once_through_real_s3_and_sns() {
    let (moto, topic_arn, queue_url) = emulator("trailwatch-alerts").await;
    let s3 = moto.s3();
    let event = put_sample_log(&s3).await;

    // The emulator honours conditional writes, which the claim relies on.
    let store = S3Store::new(moto.s3());
    store.put(STATE, "probe", b"1".to_vec(), true).await.unwrap();
    let again = store.put(STATE, "probe", b"2".to_vec(), true).await.unwrap_err();
    assert_eq!(again.kind, FailureKind::PreconditionFailed, "{again}");

    // GIVEN a topic that does not exist WHEN invoked THEN an error, nothing sent.
    let broken = detector(&moto, "arn:aws:sns:us-east-1:123456789012:no-such-topic");
    let err = broken.handle(&event, FAR).await.unwrap_err();
    assert!(err.to_string().contains("publishing alerts failed"), "{err}");
    assert!(moto.drain(&queue_url).await.is_empty());

    // WHEN retried with the topic back THEN every alert arrives once.
    let working = detector(&moto, &topic_arn);
    working.handle(&event, FAR).await.unwrap();
    let messages = moto.drain(&queue_url).await;
    assert!(messages.len() >= 5, "{} messages", messages.len());
    let root = messages
        .iter()
        .find(|m| m["Subject"].as_str().unwrap_or_default().contains("Root console login by root"))
        .expect("root login alert");
    assert_eq!(root["Subject"], "[CRITICAL] Root console login by root in 123456789012 (us-east-1)");
    assert_eq!(attribute(root, "severity"), "critical");
    assert_eq!(attribute(root, "rule"), "root-console-login");
    assert_eq!(attribute(root, "account_id"), "123456789012");
    // When it was handed to SNS, to the millisecond: what time to alert is measured to.
    let sent_at =
        time::OffsetDateTime::parse(attribute(root, "sent_at"), &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("sent_at {:?}: {e}", attribute(root, "sent_at")));
    assert!((time::OffsetDateTime::now_utc() - sent_at).whole_seconds().abs() < 300, "{sent_at}");
    let body = root["Message"].as_str().unwrap();
    assert!(body.contains("Source IP:  203.0.113.45") && body.contains("console.aws.amazon.com/cloudtrail"), "{body}");
    let subjects: std::collections::BTreeSet<&str> = messages.iter().map(|m| m["Subject"].as_str().unwrap()).collect();
    assert_eq!(subjects.len(), messages.len(), "no alert twice");

    // WHEN the same notification comes again THEN nothing new is sent.
    working.handle(&event, FAR).await.unwrap();
    assert!(moto.drain(&queue_url).await.is_empty(), "redelivery sent alerts");

    // The marker and the statistics shard are in the state bucket.
    let listed = s3.list_objects_v2().bucket(STATE).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.iter().any(|k| k.starts_with("markers/")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("shards/2026/11/20/09/")), "{keys:?}");
}

#[tokio::test]
async fn missing_objects_and_non_logs_are_skipped_not_failed() {
    let (moto, topic_arn, queue_url) = emulator("alerts").await;
    let working = detector(&moto, &topic_arn);
    // The object in the notification was never uploaded.
    let event: Value = serde_json::from_slice(&repo("events/s3-put.json")).unwrap();
    let response = working.handle(&event, FAR).await.unwrap();
    assert!(response.to_string().contains("Missing"), "{response}");
    let digest = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": LOGS}, "object": {"key": "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/x.json.gz", "size": 10}}}]});
    let response = working.handle(&digest, FAR).await.unwrap();
    assert!(response.to_string().contains("digest"), "{response}");
    assert!(moto.drain(&queue_url).await.is_empty());
}

/// GIVEN a signed digest chain in real S3 (signature in the object metadata,
/// as CloudTrail writes it) WHEN a listed log file is modified and the
/// digest's notification arrives THEN one critical alert reaches the
/// subscribed queue, once; an intact digest sends nothing.
#[tokio::test]
async fn a_tampered_log_file_raises_a_critical_alert_through_real_s3_and_sns() {
    use time::macros::datetime;
    use trailwatch_aws::memory::StaticKeys;
    use trailwatch_aws::ports::PublicKey;
    use trailwatch_core::digest::forge::{ChainWriter, Signer};
    use trailwatch_detect::keys::KeyCache;

    let (moto, topic_arn, queue_url) = emulator("integrity-alerts").await;
    let s3 = moto.s3();
    let signer = Signer::new(41);
    let mut w = ChainWriter::new(&signer, LOGS, "123456789012", "eu-west-1", Some("o-a1b2c3d4e5"));
    let record = r#"{"eventName":"StopLogging","eventTime":"2026-11-20T09:05:06Z"}"#;
    let log = w.log(datetime!(2026-11-20 09:10 UTC), "MotoLogFile00001", record);
    let first = w.digest(datetime!(2026-11-20 09:00 UTC), &[&log]);
    let second = w.digest(datetime!(2026-11-20 10:00 UTC), &[]);
    s3.put_object().bucket(LOGS).key(&log.key).body(ByteStream::from(log.gz.clone())).send().await.unwrap();
    for d in [&first, &second] {
        s3.put_object()
            .bucket(LOGS)
            .key(&d.key)
            .body(ByteStream::from(d.gz.clone()))
            .metadata("signature", &d.signature)
            .metadata("signature-algorithm", "SHA256withRSA")
            .send()
            .await
            .unwrap();
    }
    let detector = detector(&moto, &topic_arn);
    let keys = StaticKeys::new(vec![PublicKey { fingerprint: signer.fingerprint.clone(), der: signer.public_der() }]);
    let detector = detector.with_keys(KeyCache::new(Arc::new(keys)));
    let notify = |key: &str| serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": LOGS}, "object": {"key": key, "size": 100}}}]});

    // Intact: verified, nothing sent.
    detector.handle(&notify(&second.key), FAR).await.unwrap();
    assert!(moto.drain(&queue_url).await.is_empty());

    // The log file is overwritten; the first digest's notification arrives.
    let edited =
        w.log(datetime!(2026-11-20 09:10 UTC), "MotoLogFile00001", &record.replace("StopLogging", "StartLogging"));
    s3.put_object().bucket(LOGS).key(&log.key).body(ByteStream::from(edited.gz)).send().await.unwrap();
    let response = detector.handle(&notify(&first.key), FAR).await.unwrap();
    assert!(response.to_string().contains("failures: 1"), "{response}");
    let messages = moto.drain(&queue_url).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["Subject"], "[CRITICAL] CloudTrail log integrity failure in 123456789012 (eu-west-1)");
    assert_eq!(attribute(&messages[0], "rule"), "log-integrity");
    assert!(messages[0]["Message"].as_str().unwrap().contains(&format!(
        "log file modified (its SHA-256 is not the one the digest records): s3://{LOGS}/{}",
        log.key
    )));

    // Redelivered: nothing more.
    detector.handle(&notify(&first.key), FAR).await.unwrap();
    assert!(moto.drain(&queue_url).await.is_empty());
    let listed = s3.list_objects_v2().bucket(STATE).prefix("integrity/").send().await.unwrap();
    assert_eq!(listed.contents().len(), 2, "a record per verified digest");
}

/// GIVEN the root sign-in through EventBridge (a topic that fails first,
/// then works) WHEN its log file lands THEN the sign-in's alert reached the
/// queue once, from the real-time lane, and the file still alerts on its
/// other events; the claims live in real S3 under `lanes/`.
#[tokio::test]
async fn the_real_time_lane_and_the_file_alert_once_through_real_s3_and_sns() {
    let (moto, topic_arn, queue_url) = emulator("trailwatch-alerts").await;
    let s3 = moto.s3();
    let event: Value = serde_json::from_slice(&repo("events/eventbridge-root-signin.json")).unwrap();
    let broken = detector(&moto, "arn:aws:sns:us-east-1:123456789012:no-such-topic");
    assert!(broken.handle(&event, FAR).await.is_err(), "the fault between the lanes");
    let working = detector(&moto, &topic_arn);
    working.handle(&event, FAR).await.unwrap();
    let realtime = moto.drain(&queue_url).await;
    let root = |m: &&Value| attribute(m, "rule") == "root-console-login";
    assert_eq!(realtime.iter().filter(root).count(), 1, "the sign-in in real time");
    let sent = realtime.iter().find(root).and_then(|m| m["Message"].as_str()).unwrap_or_default();
    assert!(sent.contains("09:05:06"), "the alert lists the sign-in's time: {sent}");

    let notice: Value = serde_json::from_slice(&repo("events/s3-put-moto.json")).unwrap();
    let key = notice["Records"][0]["s3"]["object"]["key"].as_str().unwrap().to_string();
    let file = key.rsplit('/').next().unwrap();
    let body = ByteStream::from(repo(&format!("events/cloudtrail/{file}")));
    s3.put_object().bucket(LOGS).key(&key).body(body).send().await.unwrap();
    working.handle(&notice, FAR).await.unwrap();
    let from_file = moto.drain(&queue_url).await;
    assert!(!from_file.is_empty(), "the file's other findings alert");
    for m in from_file.iter().filter(root) {
        let body = m["Message"].as_str().unwrap_or_default();
        assert!(!body.contains("09:05:06"), "the real-time sign-in is not alerted again: {body}");
    }
    let claims = s3.list_objects_v2().bucket(STATE).prefix("lanes/").send().await.unwrap();
    assert!(claims.key_count().unwrap_or_default() > 0, "claims in the state bucket");
}
