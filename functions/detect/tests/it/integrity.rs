//! Digest files through the detection handler with the in-memory ports and
//! a key signed in the test: each way to tamper raises exactly one critical
//! alert; a valid digest raises none and records what it vouched for.

use std::sync::{Arc, OnceLock};

use time::macros::datetime;
use trailwatch_aws::memory::{MemorySink, MemoryStore, StaticKeys};
use trailwatch_aws::ports::{FailureKind, PublicKey};
use trailwatch_core::digest::delivered::IntegrityRecord;
use trailwatch_core::digest::forge::{ChainWriter, Forged, ForgedLog, Signer};
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};
use trailwatch_detect::keys::KeyCache;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;
const RECORD: &str = r#"{"eventName":"ConsoleLogin","eventTime":"2026-11-20T09:05:06Z","awsRegion":"us-east-1","recipientAccountId":"123456789012"}"#;

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(31))
}

struct World {
    detector: Detector<MemoryStore>,
    store: MemoryStore,
    sink: MemorySink,
    keys: StaticKeys,
    digests: Vec<Forged>,
    logs: Vec<ForgedLog>,
}

/// Two hourly digests in the log bucket (with their metadata), the log files
/// they list, and a detector that knows CloudTrail's key.
fn world() -> World {
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    let keys =
        StaticKeys::new(vec![PublicKey { fingerprint: signer().fingerprint.clone(), der: signer().public_der() }]);
    let mut w = ChainWriter::new(signer(), LOGS, "123456789012", "us-east-1", None);
    let logs = vec![
        w.log(datetime!(2026-11-20 09:10 UTC), "LogFile000000001", RECORD),
        w.log(datetime!(2026-11-20 10:10 UTC), "LogFile000000002", RECORD),
        w.log(datetime!(2026-11-20 10:40 UTC), "LogFile000000003", RECORD),
    ];
    let digests = vec![
        w.digest(datetime!(2026-11-20 09:00 UTC), &[&logs[0]]),
        w.digest(datetime!(2026-11-20 10:00 UTC), &[&logs[1], &logs[2]]),
    ];
    for log in &logs {
        store.insert(LOGS, &log.key, log.gz.clone());
    }
    for d in &digests {
        store.insert(LOGS, &d.key, d.gz.clone());
        store.set_metadata(LOGS, &d.key, &[("signature", &d.signature), ("signature-algorithm", "SHA256withRSA")]);
    }
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector =
        Detector::new(engine, store.clone(), sink.clone(), STATE).with_keys(KeyCache::new(Arc::new(keys.clone())));
    World { detector, store, sink, keys, digests, logs }
}

fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: key.into(), size: None, etag: None }
}

impl World {
    async fn deliver_newest(&self) -> Handled {
        self.detector.process(&object(&self.digests[1].key), FAR).await.unwrap()
    }

    fn record(&self) -> IntegrityRecord {
        let key =
            self.store.keys(STATE).into_iter().find(|k| k.starts_with("integrity/2026/11/20/10/")).expect("record");
        serde_json::from_slice(&self.store.object(STATE, &key).unwrap()).unwrap()
    }
}

#[tokio::test]
async fn a_valid_digest_raises_nothing_and_records_the_files_it_vouched_for() {
    let w = world();
    assert_eq!(w.deliver_newest().await, Handled::Verified { log_files: 2, failures: 0 });
    assert!(w.sink.published().is_empty());
    let record = w.record();
    assert_eq!(record.verified, [format!("s3://{LOGS}/{}", w.logs[1].key), format!("s3://{LOGS}/{}", w.logs[2].key)]);
    assert_eq!((record.account_id.as_str(), record.region.as_str()), ("123456789012", "us-east-1"));
    // Redelivery: nothing again; a second digest needs no second key lookup.
    assert_eq!(w.deliver_newest().await, Handled::Duplicate);
    w.detector.process(&object(&w.digests[0].key), FAR).await.unwrap();
    assert_eq!(w.keys.calls(), 1, "keys are fetched once per cold start");
}

#[tokio::test]
async fn each_kind_of_tampering_raises_one_critical_alert_naming_it() {
    type Tamper = fn(&World);
    let cases: &[(&str, Tamper, &str)] = &[
        (
            "modified log",
            |w| w.store.insert(LOGS, &w.logs[2].key, w.logs[0].gz.iter().rev().copied().collect::<Vec<_>>()),
            "log file modified",
        ),
        (
            "modified log, same size",
            |w| {
                let other = ChainWriter::new(signer(), LOGS, "123456789012", "us-east-1", None).log(
                    datetime!(2026-11-20 10:40 UTC),
                    "LogFile000000003",
                    &RECORD.replace("09:05:06", "09:05:07"),
                );
                w.store.insert(LOGS, &w.logs[2].key, other.gz);
            },
            "log file modified",
        ),
        ("deleted log", |w| w.store.remove(LOGS, &w.logs[1].key), "log file deleted"),
        (
            "forged signature",
            |w| {
                let forged = Signer::new(32).sign(&w.digests[1].file);
                w.store.set_metadata(LOGS, &w.digests[1].key, &[("signature", &forged)]);
            },
            "signature does not match",
        ),
        ("metadata stripped", |w| w.store.set_metadata(LOGS, &w.digests[1].key, &[]), "no signature metadata"),
        ("previous digest deleted", |w| w.store.remove(LOGS, &w.digests[0].key), "previous digest is gone"),
        (
            "listed log refused for good",
            |w| w.store.fail("get", "LogFile000000002", FailureKind::Permanent, 1),
            "log file cannot be read",
        ),
        (
            "previous digest refused for good",
            |w| w.store.fail("get", &w.digests[0].key, FailureKind::Permanent, 1),
            "previous digest",
        ),
        (
            "previous digest replaced",
            |w| w.store.insert(LOGS, &w.digests[0].key, w.digests[1].gz.clone()),
            "previous digest no longer has the hash",
        ),
    ];
    for (name, tamper, want) in cases {
        let w = world();
        tamper(&w);
        let outcome = w.deliver_newest().await;
        assert!(matches!(outcome, Handled::Verified { failures: 1.., .. }), "{name}: {outcome:?}");
        let alerts = w.sink.published();
        assert_eq!(alerts.len(), 1, "{name}");
        let alert = &alerts[0];
        assert_eq!(alert.subject, "[CRITICAL] CloudTrail log integrity failure in 123456789012 (us-east-1)", "{name}");
        assert!(alert.body.contains(want), "{name}: want '{want}' in\n{}", alert.body);
        assert!(alert.body.contains(&w.digests[1].key), "{name}: names the digest");
        // Redelivered: the alert is not sent twice.
        assert_eq!(w.deliver_newest().await, Handled::Duplicate, "{name}");
        assert_eq!(w.sink.published().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_missing_hour_is_raised_when_the_next_digest_arrives() {
    let w = world();
    let mut writer = ChainWriter::new(signer(), LOGS, "123456789012", "us-east-1", None);
    writer.digest(datetime!(2026-11-20 09:00 UTC), &[]);
    let hour_10 = writer.digest(datetime!(2026-11-20 10:00 UTC), &[]);
    // The 11:00 digest never arrives; the 12:00 one names the 10:00 one, an hour early.
    w.store.insert(LOGS, &hour_10.key, hour_10.gz.clone());
    let mut late = ChainWriter::new(signer(), LOGS, "123456789012", "us-east-1", None);
    late.digest(datetime!(2026-11-20 09:00 UTC), &[]);
    late.digest(datetime!(2026-11-20 10:00 UTC), &[]);
    let after_gap = late.digest(datetime!(2026-11-20 12:00 UTC), &[]);
    w.store.insert(LOGS, &after_gap.key, after_gap.gz.clone());
    w.store.set_metadata(LOGS, &after_gap.key, &[("signature", &after_gap.signature)]);
    let outcome = w.detector.process(&object(&after_gap.key), FAR).await.unwrap();
    assert_eq!(outcome, Handled::Verified { log_files: 0, failures: 1 });
    let body = &w.sink.published()[0].body;
    assert!(body.contains("no digest covers 2026-11-20T11:00:00Z to 2026-11-20T12:00:00Z"), "{body}");
}

#[tokio::test]
async fn a_read_that_fails_for_now_is_retried_not_reported_as_tampering() {
    let w = world();
    w.store.fail("get", "LogFile000000003", FailureKind::Transient, 1);
    let err = w.detector.process(&object(&w.digests[1].key), FAR).await.unwrap_err();
    assert!(err.to_string().contains("injected get failure"), "{err:?}");
    assert!(w.sink.published().is_empty());
    // The retry takes the released claim and finds everything intact.
    assert_eq!(w.deliver_newest().await, Handled::Verified { log_files: 2, failures: 0 });
    assert!(w.sink.published().is_empty());
}

#[tokio::test]
async fn a_key_rotation_is_fetched_when_a_new_fingerprint_appears() {
    let w = world();
    let rotated = Signer::new(33);
    let mut writer = ChainWriter::new(&rotated, LOGS, "123456789012", "us-east-1", None);
    let d = writer.digest(datetime!(2026-11-20 13:00 UTC), &[]);
    w.store.insert(LOGS, &d.key, d.gz.clone());
    w.store.set_metadata(LOGS, &d.key, &[("signature", &d.signature)]);
    w.deliver_newest().await;
    w.keys.add(PublicKey { fingerprint: rotated.fingerprint.clone(), der: rotated.public_der() });
    let outcome = w.detector.process(&object(&d.key), FAR).await.unwrap();
    assert_eq!(outcome, Handled::Verified { log_files: 0, failures: 0 });
    assert_eq!(w.keys.calls(), 2);
}

/// GIVEN a log file the function may not read (access denied) WHEN its
/// notification arrives THEN the invocation fails (so the event is retried
/// and lands in the dead-letter queue until the permission is fixed) instead
/// of finishing and skipping the file for good.
#[tokio::test]
async fn a_log_file_refused_for_good_fails_the_invocation_for_the_dead_letter_queue() {
    use trailwatch_aws::runner::Retry;
    let w = world();
    w.store.fail("get", "LogFile000000001", FailureKind::Permanent, 1);
    let err = w.detector.process(&object(&w.logs[0].key), FAR).await.unwrap_err();
    assert!(err.retryable(), "{err:?}");
    assert!(err.to_string().contains("dead-letter queue"), "{err}");
    // Once readable, the redriven event is processed.
    assert!(matches!(w.detector.process(&object(&w.logs[0].key), FAR).await, Ok(Handled::Processed { .. })));
}
