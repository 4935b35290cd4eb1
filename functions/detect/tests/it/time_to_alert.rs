//! Time to alert, as the detection function persists it for the summary:
//! each lane's alerts in its own shard, a real-time event's shard apart
//! from the log files' (it is no processed file), each alert counted once.

use std::sync::Arc;

use serde_json::Value;
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::state::ShardFile;
use trailwatch_core::alert::AlertKind;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::{RuleSet, StatsShard};
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::Detector;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FAR: u64 = 4_000_000_000;
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Every shard in the state bucket, by key.
fn shards(store: &MemoryStore) -> Vec<(String, ShardFile)> {
    let keys = store.keys(STATE).into_iter().filter(|k| k.starts_with("shards/"));
    keys.map(|k| {
        let shard = serde_json::from_slice(&store.object(STATE, &k).unwrap()).unwrap();
        (k, shard)
    })
    .collect()
}

/// GIVEN the root sign-in through EventBridge, then its log file WHEN both
/// are processed THEN the event's shard counts the real-time alerts under
/// `eventbridge`, the file's shard the file's under `file`, and together
/// they count every finding alert sent, once.
#[tokio::test]
async fn each_lane_records_the_time_to_alert_of_what_it_sent() {
    let (store, sink) = (MemoryStore::default(), MemorySink::default());
    store.insert(LOGS, KEY, read(&format!("cloudtrail/{}", KEY.rsplit('/').next().unwrap())));
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector = Detector::new(engine, store.clone(), sink.clone(), STATE).with_dedup(0, 0);
    let event: Value = serde_json::from_slice(&read("eventbridge-root-signin.json")).unwrap();

    detector.handle(&event, FAR).await.unwrap();
    let real_time = sink.published().len();
    assert!(real_time > 0, "the sign-in alerts in real time");
    let object = ObjectRef { bucket: LOGS.into(), key: KEY.into(), size: None, etag: None };
    detector.process(&object, FAR).await.unwrap();
    let findings = sink.published().iter().filter(|p| p.alert.kind == AlertKind::Finding).count() as u64;

    let shards = shards(&store);
    let (events, files): (Vec<_>, Vec<_>) = shards.iter().partition(|(_, s)| s.event_lane.is_some());
    assert_eq!(events.len(), 1, "one shard for the event: {shards:?}");
    let (key, shard) = &events[0];
    assert!(key.contains("/_events/eventbridge/b13e6955-aae2-532b-9fd4-b622280f068e.json"), "{key}");
    assert_eq!(shard.stats.time_to_alert["eventbridge"].alerts, real_time as u64);
    assert_eq!((shard.stats.records, shard.stats.files), (0, 0), "the file counts the event's statistics");
    assert_eq!(files.len(), 1);
    assert!(!files[0].1.stats.time_to_alert.contains_key("eventbridge"));

    let mut merged = StatsShard::default();
    shards.iter().for_each(|(_, s)| merged.merge(&s.stats));
    let counted: u64 = merged.time_to_alert.values().map(|t| t.alerts).sum();
    assert_eq!(counted, findings, "every finding alert sent, once: {:?}", merged.time_to_alert);
    let lag = merged.time_to_alert["file"].max_seconds;
    assert!(lag > 86_400, "the sample's events are days old: {lag} s");
}
