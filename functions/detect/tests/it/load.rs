//! Load and chaos against a real S3/SNS/SQS emulator (moto server): 1,000
//! log files, each with a planted detection, delivered shuffled and with
//! duplicates, while S3 and SNS calls fail at random (seeded) -- before the
//! call, or after it took effect, as when an invocation dies. Lambda's
//! retries are replayed until each delivery succeeds. Counted from what the
//! subscribed queue received: every planted detection arrives, nothing
//! unplanted does, and every copy past the first is marked as a possible
//! repeat (each from a fault that left the outcome of a publish unknown).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use trailwatch_aws::output::sns::SnsSink;
use trailwatch_aws::output::{Message, Output, Sent};
use trailwatch_aws::ports::{Condition, Failure, FailureKind, Listed, Object, ObjectStore, Result};
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::testing::Moto;
use trailwatch_core::alert::{alerts_for_file, AlertLimits, FileContext};
use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::{Engine, RuleSet};
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::Detector;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const FILES: usize = 1_000;
const DUPLICATES: usize = 300;
const FAULT_RATE: f64 = 0.03;
const SEED: u64 = 20261123;

/// Where a fault strikes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strike {
    Before,
    After,
}

/// Seeded random faults, shared by the store and the sink.
#[derive(Clone)]
struct Chaos {
    rng: Arc<Mutex<fastrand::Rng>>,
    before: Arc<AtomicU64>,
    after: Arc<AtomicU64>,
}

impl Chaos {
    fn roll(&self, can_strike_after: bool) -> Option<Strike> {
        let mut rng = self.rng.lock().unwrap();
        if rng.f64() >= FAULT_RATE {
            return None;
        }
        if can_strike_after && rng.bool() {
            self.after.fetch_add(1, Ordering::Relaxed);
            Some(Strike::After)
        } else {
            self.before.fetch_add(1, Ordering::Relaxed);
            Some(Strike::Before)
        }
    }

    async fn around<T>(&self, can_strike_after: bool, call: impl Future<Output = Result<T>>) -> Result<T> {
        let strike = self.roll(can_strike_after);
        if strike == Some(Strike::Before) {
            return Err(Failure::new(FailureKind::Transient, "chaos: failed before the call"));
        }
        let out = call.await?;
        if strike == Some(Strike::After) {
            return Err(Failure::new(FailureKind::Transient, "chaos: the call took effect, then the invocation died"));
        }
        Ok(out)
    }
}

#[derive(Clone)]
struct ChaosStore {
    inner: S3Store,
    chaos: Chaos,
}

impl ObjectStore for ChaosStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        self.chaos.around(false, self.inner.get(bucket, key)).await
    }
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, only_if_absent: bool) -> Result<()> {
        self.chaos.around(true, self.inner.put(bucket, key, body, only_if_absent)).await
    }
    async fn put_if(&self, bucket: &str, key: &str, body: Vec<u8>, condition: Condition) -> Result<String> {
        self.chaos.around(true, self.inner.put_if(bucket, key, body, condition)).await
    }
    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.chaos.around(true, self.inner.delete(bucket, key)).await
    }
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>> {
        self.chaos.around(false, self.inner.list(bucket, prefix)).await
    }
    async fn list_prefixes(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        self.chaos.around(false, self.inner.list_prefixes(bucket, prefix)).await
    }
}

struct ChaosSink {
    inner: SnsSink,
    chaos: Chaos,
}

impl Output for ChaosSink {
    fn name(&self) -> &str {
        "sns"
    }

    fn max_batch(&self) -> usize {
        10
    }

    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a> {
        Box::pin(self.chaos.around(true, self.inner.send(messages)))
    }
}

fn record(i: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T09:05:06Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"198.51.100.{}","userAgent":"aws-cli/2.15.0","userIdentity":{{"type":"IAMUser","principalId":"AIDA{i:016}","arn":"arn:aws:iam::123456789012:user/planted-{i}","accountId":"123456789012","userName":"planted-{i}"}},"requestParameters":{{"name":"management-events"}},"eventID":"{i:08x}-0000-4000-8000-000000000000","eventType":"AwsApiCall"}}"#,
        i % 250
    )
}

fn key(i: usize) -> String {
    format!(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T{:02}{:02}Z_Load{i:012}.json",
        (i / 60) % 24,
        i % 60
    )
}

fn attribute<'a>(message: &'a Value, name: &str) -> &'a str {
    message["MessageAttributes"][name]["Value"].as_str().unwrap_or_default()
}

/// A progress line on the terminal while the test runs (minutes on two
/// cores): written to stderr itself, which the test harness does not
/// capture (it captures `eprintln!`), so `make test` is never silent long.
fn progress(done: usize, total: usize, what: &str) {
    use std::io::Write as _;
    if done % 50 == 0 || done == total {
        let _ = writeln!(std::io::stderr(), "    load test: {done} of {total} {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_detections_arrive_exactly_once_through_duplicates_shuffles_and_faults() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    for bucket in [LOGS, STATE] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let (topic_arn, queue_url) = moto.topic_with_queue("load-alerts").await;
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());

    // GIVEN 1,000 files, each planting one detection, and the alerts each must raise.
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for i in 0..FILES {
        let body = format!(r#"{{"Records":[{}]}}"#, record(i));
        let uri = format!("s3://{LOGS}/{}", key(i));
        let mut sink = Collect::default();
        engine.scan(&uri, std::io::Cursor::new(body.clone().into_bytes()), &mut sink);
        let file = FileContext { source: &uri, account_id: Some("123456789012"), region: Some("us-east-1") };
        for alert in alerts_for_file(file, &sink.findings, &sink.problems, true, AlertLimits::default()) {
            expected.insert((uri.clone(), alert.rule.clone()));
        }
        s3.put_object().bucket(LOGS).key(key(i)).body(ByteStream::from(body.into_bytes())).send().await.unwrap();
        progress(i + 1, FILES, "log files uploaded");
    }
    assert!(expected.len() >= FILES, "every file plants at least one detection");

    // WHEN delivered shuffled, with duplicates, under seeded faults, each retried until it succeeds.
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut deliveries: Vec<usize> = (0..FILES).chain((0..DUPLICATES).map(|_| rng.usize(0..FILES))).collect();
    rng.shuffle(&mut deliveries);
    let chaos = Chaos {
        rng: Arc::new(Mutex::new(fastrand::Rng::with_seed(SEED + 1))),
        before: Arc::default(),
        after: Arc::default(),
    };
    let detector = Detector::new(
        engine,
        ChaosStore { inner: S3Store::new(moto.s3()), chaos: chaos.clone() },
        ChaosSink { inner: SnsSink::new(moto.sns(), &topic_arn), chaos: chaos.clone() },
        STATE,
    );
    let mut retries = 0;
    let total = deliveries.len();
    for (done, i) in deliveries.into_iter().enumerate() {
        let object = ObjectRef { bucket: LOGS.into(), key: key(i), size: None, etag: None };
        let mut attempts = 0;
        loop {
            // A retry arrives after the failed invocation's deadline: its claim has lapsed.
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            match detector.process(&object, deadline).await {
                Ok(_) => break,
                Err(e) => {
                    attempts += 1;
                    retries += 1;
                    assert!(attempts < 30, "{}: still failing after {attempts} tries: {}", object.key, e);
                }
            }
        }
        progress(done + 1, total, "deliveries processed");
    }

    // THEN every planted detection arrived, and only marked repeats arrived twice.
    let messages = moto.drain(&queue_url).await;
    let mut received: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for m in &messages {
        let body = m["Message"].as_str().unwrap_or_default();
        let file = body.lines().find_map(|l| l.strip_prefix("Log file: ")).unwrap_or("?").to_string();
        let slot = received.entry((file, attribute(m, "rule").to_string())).or_default();
        slot.0 += 1;
        slot.1 += usize::from(attribute(m, "possible_repeat") == "true");
    }
    let missing: Vec<_> = expected.iter().filter(|k| !received.contains_key(*k)).collect();
    assert!(missing.is_empty(), "{} planted detections never arrived, e.g. {:?}", missing.len(), missing.first());
    let unexpected: Vec<_> = received.keys().filter(|k| !expected.contains(*k)).collect();
    assert!(unexpected.is_empty(), "alerts nobody planted: {unexpected:?}");
    // Each copy past the first is marked, and each comes from one fault whose outcome was unknown.
    let repeated: Vec<_> = received.iter().filter(|(_, (n, _))| *n > 1).collect();
    for (k, (n, marked)) in &repeated {
        assert!(n - 1 <= *marked, "{k:?} arrived {n} times, only {marked} marked as possible repeats");
    }
    let extra: usize = repeated.iter().map(|(_, (n, _))| n - 1).sum();
    let unknown_outcomes = chaos.after.load(Ordering::Relaxed) as usize + chaos.before.load(Ordering::Relaxed) as usize;
    assert!(extra <= unknown_outcomes, "{extra} repeats from {unknown_outcomes} faults");
    let after = chaos.after.load(Ordering::Relaxed) as usize;
    eprintln!(
        "{} deliveries ({DUPLICATES} duplicates), {} faults before and {after} after calls, {retries} retries; \
         {} alerts expected, {} messages received, {extra} repeats (all marked)",
        FILES + DUPLICATES,
        chaos.before.load(Ordering::Relaxed),
        expected.len(),
        messages.len(),
    );
}
