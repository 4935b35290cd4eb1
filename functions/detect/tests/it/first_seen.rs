//! First-seen rules in the detection function, with profiles in memory (and
//! faults injected) and in DynamoDB on the emulator: GIVEN an instance and a
//! user known for 19 days WHEN two invocations read two copies of a file in
//! which the instance's credentials are used from outside and the user first
//! invokes a model THEN each new value alerts exactly once across both;
//! redelivery sends nothing; a failed write or a failed send is retried
//! and alerts once.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use futures::stream::{self, StreamExt};
use trailwatch_aws::dynamo::DynamoProfiles;
use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::ports::{FailureKind, ObjectStore};
use trailwatch_aws::profiles::{AnyProfiles, MemoryProfiles, ProfileStore};
use trailwatch_aws::runner::Retry;
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::testing::Moto;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::grouped::{AlertLimits, Grouped};
use trailwatch_core::profile::batch::Write;
use trailwatch_core::profile::{ProfileId, Seen, DEFAULT_HORIZON_SECS, MAX_VALUES};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const TABLE: &str = "trailwatch-profiles";
const FAR: u64 = 4_000_000_000;
const PREFIX: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11";

fn repo(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const HISTORY: &str = "events/first-seen/111122223333_CloudTrail_us-east-1_20261101T0900Z_history.json";
const NEW: &str = "events/first-seen/111122223333_CloudTrail_us-east-1_20261120T0900Z_new.json";

fn key(day: &str, name: &str) -> String {
    format!("{PREFIX}/{day}/111122223333_CloudTrail_us-east-1_202611{day}T0900Z_{name}.json")
}

fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: LOGS.into(), key: key.into(), size: None, etag: None }
}

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap())
}

/// The first-seen alerts published: (rule, title).
fn first_seen(sink: &MemorySink) -> Vec<(String, String)> {
    let mut out: Vec<_> = sink
        .published()
        .into_iter()
        .filter(|p| p.alert.id.starts_with("first-seen|"))
        .map(|p| (p.alert.rule.clone(), p.alert.title.clone()))
        .collect();
    out.sort();
    out
}

fn want() -> Vec<(String, String)> {
    vec![
        (
            "first-sensitive-call".into(),
            "First use of a sensitive API by this principal: new sensitive_event InvokeModel".into(),
        ),
        (
            "instance-credentials-new-network".into(),
            "Instance credentials used from a network the instance never used: new network 203.0.113.0/24".into(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_concurrent_copies_of_a_file_then_each_new_value_alerts_once_and_redelivery_sends_nothing() {
    let store = MemoryStore::default();
    store.insert(LOGS, &key("01", "history"), repo(HISTORY));
    let copies = [key("20", "newA"), key("20", "newB")];
    for copy in &copies {
        store.insert(LOGS, copy, repo(NEW));
    }
    let sink = MemorySink::default();
    let profiles = MemoryProfiles::default();
    let detector = Arc::new(
        Detector::new(engine(), store.clone(), sink.clone(), STATE)
            .with_profiles(AnyProfiles::Memory(profiles.clone())),
    );
    detector.process(&object(&key("01", "history")), FAR).await.unwrap();
    assert!(first_seen(&sink).is_empty(), "the history file is the key's first day: learning");

    let outcomes: Vec<_> = stream::iter(copies.clone())
        .map(|k| {
            let detector = detector.clone();
            async move { detector.process(&object(&k), FAR).await }
        })
        .buffer_unordered(2)
        .collect()
        .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(first_seen(&sink), want());
    // The statistics shards carry what was new, for the summary.
    let news: Vec<String> = store
        .keys(STATE)
        .into_iter()
        .filter(|k| k.starts_with("shards/"))
        .filter_map(|k| serde_json::from_slice::<serde_json::Value>(&store.object(STATE, &k).unwrap()).ok())
        .flat_map(|shard| shard["stats"]["new_this_period"]["networks"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    assert_eq!(news, ["203.0.113.0/24 (instance/i-0a1b2c3d4e5f60718)"], "named once, by the file that added it");

    // Redelivered: the ledger says done; nothing read, nothing sent.
    let calls = *profiles.calls.lock().unwrap();
    for copy in &copies {
        assert_eq!(detector.process(&object(copy), FAR).await.unwrap(), Handled::Duplicate);
    }
    assert_eq!(first_seen(&sink).len(), 2);
    assert_eq!(*profiles.calls.lock().unwrap(), calls);
}

#[tokio::test]
async fn given_a_failed_profile_write_or_a_failed_send_when_retried_then_the_new_values_alert_once() {
    for fault in ["write", "send"] {
        let store = MemoryStore::default();
        store.insert(LOGS, &key("01", "history"), repo(HISTORY));
        store.insert(LOGS, &key("20", "new"), repo(NEW));
        let sink = MemorySink::default();
        let profiles = MemoryProfiles::default();
        let detector = Detector::new(engine(), store.clone(), sink.clone(), STATE)
            .with_profiles(AnyProfiles::Memory(profiles.clone()));
        detector.process(&object(&key("01", "history")), FAR).await.unwrap();
        match fault {
            // The third write of the new file fails: some values are added, the rest are not.
            "write" => profiles.fail_writes(FailureKind::Transient, 1),
            // Every value is added, then the send fails: the retry finds its own values.
            _ => sink.fail_next(100),
        }
        let error = match detector.process(&object(&key("20", "new")), FAR).await {
            Err(error) => error,
            Ok(done) => panic!("{fault}: the fault went unnoticed: {done:?}"),
        };
        assert!(error.retryable(), "{fault}: {error}");
        assert!(first_seen(&sink).is_empty(), "{fault}");
        sink.fail_next(0);
        detector.process(&object(&key("20", "new")), FAR).await.unwrap();
        assert_eq!(first_seen(&sink), want(), "{fault}");
    }
}

async fn table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let client = aws_sdk_dynamodb::Client::new(&moto.config);
    let attribute = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().unwrap();
    client
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("key"))
        .attribute_definitions(attribute("dimension"))
        .key_schema(key("key", KeyType::Hash))
        .key_schema(key("dimension", KeyType::Range))
        .send()
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_dynamodb_two_invocations_racing_on_one_new_value_alert_once() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    for bucket in [LOGS, STATE] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let client = table(&moto).await;
    let dynamo = DynamoProfiles::new(client.clone(), TABLE, DEFAULT_HORIZON_SECS);
    let store = S3Store::new(moto.s3());
    store.put(LOGS, &key("01", "history"), repo(HISTORY), false).await.unwrap();
    let copies = [key("20", "newA"), key("20", "newB")];
    for copy in &copies {
        store.put(LOGS, copy, repo(NEW), false).await.unwrap();
    }
    let engine = engine();

    // GIVEN the history settled in the table.
    let scan = |k: &str, body: Vec<u8>| {
        let mut found = Grouped::new(AlertLimits::default()).with_profiles(engine.profile_batch(k));
        engine.scan(k, std::io::Cursor::new(body), &mut found);
        found.profiles.unwrap()
    };
    let history = scan("history", repo(HISTORY));
    let plan = history.plan(|_| None);
    for write in &plan.writes {
        assert!(dynamo.write(write).await.unwrap(), "{write:?}");
    }
    let stored: Vec<_> = dynamo.get(&history.profile_ids()).await.unwrap();
    assert_eq!(stored.len(), history.profile_ids().len(), "every profile written is read back");

    // WHEN two invocations read the same state, then both write: exactly one add of each new value wins.
    let (a, b) = (scan(&copies[0], repo(NEW)), scan(&copies[1], repo(NEW)));
    let before: std::collections::HashMap<_, _> = dynamo.get(&a.profile_ids()).await.unwrap().into_iter().collect();
    let (plan_a, plan_b) = (a.plan(|id| before.get(id)), b.plan(|id| before.get(id)));
    let mut applied = (Vec::new(), Vec::new());
    for (write_a, write_b) in plan_a.writes.iter().zip(&plan_b.writes) {
        applied.0.push(dynamo.write(write_a).await.unwrap());
        applied.1.push(dynamo.write(write_b).await.unwrap());
    }
    let alerts_a: Vec<_> = plan_a.alerts(&applied.0).map(|(c, _)| c.value.clone()).collect();
    let alerts_b: Vec<_> = plan_b.alerts(&applied.1).map(|(c, _)| c.value.clone()).collect();
    assert_eq!(alerts_a.len() + alerts_b.len(), 2, "{alerts_a:?} {alerts_b:?}");
    assert!(alerts_b.is_empty(), "the first writer wins: {alerts_b:?}");

    // The winner retried (a crash before its send): its own values, the same alerts for the ledger to settle.
    let again: std::collections::HashMap<_, _> = dynamo.get(&a.profile_ids()).await.unwrap().into_iter().collect();
    let retry = a.plan(|id| again.get(id));
    let mut retried = Vec::new();
    for write in &retry.writes {
        retried.push(dynamo.write(write).await.unwrap());
    }
    assert_eq!(retry.alerts(&retried).count(), 2);
    // The loser retried: known, nothing.
    let loser = b.plan(|id| again.get(id));
    assert!(loser.verdicts.iter().all(|(_, v)| !matches!(v, trailwatch_core::profile::Verdict::New { .. })));

    // AND end to end, two detectors on fresh copies of a fresh table's history: one alert per new value.
    let sink = MemorySink::default();
    client.delete_table().table_name(TABLE).send().await.unwrap();
    let client = table(&moto).await;
    let fresh = DynamoProfiles::new(client, TABLE, DEFAULT_HORIZON_SECS);
    let detector = |sink: &MemorySink| {
        Detector::new(engine.clone(), S3Store::new(moto.s3()), sink.clone(), STATE)
            .with_profiles(AnyProfiles::Dynamo(fresh.clone()))
    };
    let (one, two) = (detector(&sink), detector(&sink));
    one.process(&object(&key("01", "history")), FAR).await.unwrap();
    let (a, b) = (object(&copies[0]), object(&copies[1]));
    let (x, y) = tokio::join!(one.process(&a, FAR), two.process(&b, FAR));
    x.unwrap();
    y.unwrap();
    assert_eq!(first_seen(&sink), want());
    assert_eq!(one.process(&object(&copies[0]), FAR).await.unwrap(), Handled::Duplicate);
    assert_eq!(first_seen(&sink).len(), 2);

    // AND the table honours the cap, ageing and touches as the plan writes them.
    let id = ProfileId::new("111122223333|user/busy", "network");
    let seen = |first: i64| Seen { first, last: first, origin: String::new() };
    let add = |value: String, at: i64, stale_before: i64, evict: Vec<String>| Write::Add {
        profile: id.clone(),
        value,
        seen: seen(at),
        stale_before,
        evict,
    };
    for n in 0..MAX_VALUES as i64 {
        assert!(fresh.write(&add(format!("10.0.{n}.0/24"), 1_000 + n, i64::MIN, Vec::new())).await.unwrap());
    }
    let full = add("203.0.113.0/24".into(), 5_000, i64::MIN, vec!["10.0.0.0/24".into()]);
    assert!(fresh.write(&full).await.unwrap());
    let stored = fresh.get(std::slice::from_ref(&id)).await.unwrap().remove(0).1;
    assert_eq!(stored.values.len(), MAX_VALUES);
    assert!(!stored.values.contains_key("10.0.0.0/24") && stored.values.contains_key("203.0.113.0/24"));
    // Known and fresh: refused; aged out (last seen before `stale_before`): taken.
    assert!(!fresh.write(&add("10.0.1.0/24".into(), 9_000, 1_000, Vec::new())).await.unwrap());
    assert!(fresh.write(&add("10.0.1.0/24".into(), 9_000, 2_000, Vec::new())).await.unwrap());
    let touch = |value: &str| Write::Touch { profile: id.clone(), value: value.into(), last: 9_500 };
    assert!(fresh.write(&touch("10.0.2.0/24")).await.unwrap());
    assert!(!fresh.write(&touch("192.0.2.0/24")).await.unwrap(), "a touch never adds");
    let stored = fresh.get(std::slice::from_ref(&id)).await.unwrap().remove(0).1;
    assert_eq!(stored.values["10.0.1.0/24"].first, 9_000);
    assert_eq!(stored.values["10.0.2.0/24"].last, 9_500);
}

#[tokio::test]
async fn given_a_profile_file_from_past_logs_when_imported_then_the_next_file_is_judged_against_it() {
    // The profile file `trailwatch scan --profiles` writes over a copy of past logs.
    let engine = engine();
    let mut history = Grouped::new(AlertLimits::default()).with_profiles(engine.profile_batch(""));
    engine.scan("history", std::io::Cursor::new(repo(HISTORY)), &mut history);
    let mut book = trailwatch_core::profile::Book::default();
    book.settle(history.profiles.as_ref().unwrap());
    let mut file = Vec::new();
    book.save(&mut file).unwrap();

    let store = MemoryStore::default();
    store.insert(STATE, "profiles/seed.json", file.clone());
    store.insert(STATE, "elsewhere/seed.json", file);
    store.insert(LOGS, &key("20", "new"), repo(NEW));
    let sink = MemorySink::default();
    let profiles = MemoryProfiles::default();
    let detector =
        Detector::new(engine, store, sink.clone(), STATE).with_profiles(AnyProfiles::Memory(profiles.clone()));
    let elsewhere = serde_json::json!({"import_profiles": "s3://trailwatch-state/elsewhere/seed.json"});
    let refused = detector.handle(&elsewhere, FAR).await;
    assert!(refused.unwrap_err().to_string().contains("profiles/ only"));
    let imported =
        detector.handle(&serde_json::json!({"import_profiles": "s3://trailwatch-state/profiles/seed.json"}), FAR).await;
    let imported = imported.unwrap();
    assert!(imported["imported_profiles"]["values"].as_u64().unwrap() > 5, "{imported}");
    detector.process(&object(&key("20", "new")), FAR).await.unwrap();
    assert_eq!(first_seen(&sink), want());
}
