//! The exactly-once guarantee at each fault point, with the in-memory ports:
//! a crash after `PublishBatch` and before its outcome is written, a failed
//! final write, per-alert failures (for now and for good), a body that
//! breaks or ends mid-stream, and two invocations on one object at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use trailwatch_aws::ledger::{Marker, MarkerState};
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::ports::FailureKind;
use trailwatch_aws::state::ShardFile;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";

fn setup() -> (Arc<Detector<MemoryStore>>, MemoryStore, MemorySink) {
    let store = MemoryStore::default();
    let sink = MemorySink::default();
    let file = KEY.rsplit('/').next().unwrap();
    let body = std::fs::read(format!("{}/../../events/cloudtrail/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    store.insert(LOGS, KEY, body);
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector = Detector::new(engine, store.clone(), sink.clone(), STATE);
    (Arc::new(detector), store, sink)
}

fn object() -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: KEY.into(), size: None, etag: None }
}

fn marker(store: &MemoryStore) -> Marker {
    serde_json::from_slice(&store.object(STATE, &format!("markers/{LOGS}/{KEY}")).unwrap()).unwrap()
}

/// How often each alert id was published, and whether any copy was marked
/// as a possible repeat.
fn tally(sink: &MemorySink) -> BTreeMap<String, (usize, bool)> {
    let mut out: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for alert in sink.published() {
        let repeat = alert.attributes.iter().any(|(k, v)| k == "possible_repeat" && v == "true");
        let slot = out.entry(alert.id.clone()).or_default();
        slot.0 += 1;
        slot.1 |= repeat;
    }
    out
}

/// The alerts the sample file raises when nothing goes wrong.
async fn clean_ids() -> Vec<String> {
    let (detector, _, sink) = setup();
    detector.process(&object(), FAR).await.unwrap();
    tally(&sink).into_keys().collect()
}

#[tokio::test]
async fn a_crash_after_publish_before_its_outcome_is_written_repeats_only_that_batch_and_says_so() {
    let (detector, store, sink) = setup();
    // Ledger writes: 1 claim, 2 intent, 3 outcome <- fails, as if the invocation died there.
    store.fail_after("put", "markers/", FailureKind::Transient, 2, 1);
    assert!(detector.process(&object(), FAR).await.is_err());
    let first = sink.published().len();
    assert!(first > 0 && first <= 10, "one batch went out: {first}");
    assert!(marker(&store).published.is_empty() && marker(&store).intended.len() == first);

    detector.process(&object(), FAR).await.unwrap();
    let counts = tally(&sink);
    assert_eq!(counts.keys().cloned().collect::<Vec<_>>(), clean_ids().await, "nothing lost");
    for (id, (n, repeat)) in &counts {
        assert_eq!(*n, 2, "{id}: the uncertain batch is sent again, once");
        assert!(*repeat, "{id}: and marked as a possible repeat");
    }
    assert_eq!(detector.process(&object(), FAR).await.unwrap(), Handled::Duplicate);
    assert_eq!(sink.published().len(), 2 * first);
}

#[tokio::test]
async fn a_failed_final_write_fails_the_invocation_and_the_retry_sends_nothing_again() {
    let (detector, store, sink) = setup();
    // Ledger writes: claim, intent, outcome, then `done` <- fails.
    store.fail_after("put", "markers/", FailureKind::Transient, 3, 1);
    let err = detector.process(&object(), FAR).await.unwrap_err();
    assert!(err.to_string().contains("marking the object done failed"), "{err:?}");
    let sent = sink.published().len();
    assert_eq!(marker(&store).published.len(), sent);
    // The claim was given back with everything recorded: the retry sends nothing twice.
    detector.process(&object(), FAR).await.unwrap();
    assert_eq!(sink.published().len(), sent);
    assert_eq!(marker(&store).state, MarkerState::Done);
    assert!(tally(&sink).values().all(|(n, repeat)| *n == 1 && !repeat));
}

#[tokio::test]
async fn an_alert_failing_for_now_is_retried_and_one_refused_for_good_is_recorded_and_counted() {
    let ids = clean_ids().await;
    let (detector, store, sink) = setup();
    sink.fail_entry(&ids[0], FailureKind::Transient, 1);
    sink.fail_entry(&ids[1], FailureKind::Permanent, 5);
    let outcome = detector.process(&object(), FAR).await.unwrap();
    assert!(matches!(outcome, Handled::Processed { .. }), "the file is finished: {outcome:?}");
    let counts = tally(&sink);
    assert_eq!(counts.get(&ids[0]).map(|c| c.0), Some(1), "retried within the invocation");
    assert!(!counts.contains_key(&ids[1]), "refused");
    let m = marker(&store);
    assert_eq!(m.state, MarkerState::Done);
    assert_eq!(m.rejected.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [format!("sns:{}", ids[1])]);
    let shard_key = store.keys(STATE).into_iter().find(|k| k.starts_with("shards/")).unwrap();
    let shard: ShardFile = serde_json::from_slice(&store.object(STATE, &shard_key).unwrap()).unwrap();
    assert_eq!(shard.rejected_alerts, 1, "the summary counts it");
    // Redelivery does not try the refused alert again.
    assert_eq!(detector.process(&object(), FAR).await.unwrap(), Handled::Duplicate);
}

#[tokio::test]
async fn an_alert_failing_on_every_try_fails_the_invocation_and_the_retry_sends_only_it() {
    let ids = clean_ids().await;
    let (detector, _, sink) = setup();
    sink.fail_entry(&ids[2], FailureKind::Transient, 3);
    assert!(detector.process(&object(), FAR).await.is_err());
    assert_eq!(sink.published().len(), ids.len() - 1);
    detector.process(&object(), FAR).await.unwrap();
    assert!(tally(&sink).values().all(|(n, _)| *n == 1), "{:?}", tally(&sink));
    assert_eq!(tally(&sink).len(), ids.len());
}

#[tokio::test]
async fn a_body_that_breaks_or_ends_mid_stream_is_retried_not_reported_corrupt() {
    for cut in [false, true] {
        let (detector, store, sink) = setup();
        if cut {
            store.cut_body(KEY, 300, 1);
        } else {
            store.break_body(KEY, 300, 1);
        }
        let err = detector.process(&object(), FAR).await.unwrap_err();
        assert!(err.to_string().contains("interrupted"), "cut={cut}: {err:?}");
        assert!(sink.published().is_empty(), "cut={cut}: no 'unreadable log file' alert");
        detector.process(&object(), FAR).await.unwrap();
        assert!(sink.published().iter().all(|a| !a.subject.contains("Unreadable")), "cut={cut}");
        assert_eq!(tally(&sink).len(), clean_ids().await.len(), "cut={cut}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_invocations_at_once_publish_once() {
    for lapsed_claim in [false, true] {
        let (detector, store, sink) = setup();
        if lapsed_claim {
            // Both find a claim whose invocation died: only one takeover may win.
            let dead = Marker {
                state: MarkerState::Claimed,
                etag: None,
                at: 1,
                owner: "dead".into(),
                intended: vec![],
                published: vec![],
                rejected: vec![],
                records: 0,
                findings: 0,
            };
            store.insert(STATE, &format!("markers/{LOGS}/{KEY}"), serde_json::to_vec(&dead).unwrap());
        }
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let detector = detector.clone();
                tokio::spawn(async move { detector.process(&object(), FAR).await })
            })
            .collect();
        let mut processed = 0;
        for task in tasks {
            if let Ok(Handled::Processed { .. }) = task.await.unwrap() {
                processed += 1;
            }
        }
        assert_eq!(processed, 1, "lapsed={lapsed_claim}: one invocation processes the object");
        assert!(tally(&sink).values().all(|(n, _)| *n == 1), "lapsed={lapsed_claim}: {:?}", tally(&sink));
        assert_eq!(tally(&sink).len(), clean_ids().await.len());
    }
}
