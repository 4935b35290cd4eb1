//! Shared set-up: sample logs in a log bucket, shards written by the real
//! detection handler for all but one of them, and a region that went quiet.

use std::sync::Arc;

use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::ObjectStore;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::Detector;
use trailwatch_summary::handler::SummarySettings;

pub const LOGS: &str = "trailwatch-logs";
pub const STATE: &str = "trailwatch-state";
/// The sample that is delivered but never processed.
pub const UNPROCESSED: &str = "123456789012_CloudTrail_us-east-1_20261120T1000Z_S3DataEvents0005.json.gz";
/// A region that delivered the day before and nothing in the window.
pub const QUIET: &str = "AWSLogs/123456789012/CloudTrail/ap-southeast-2/2026/11/19/123456789012_CloudTrail_ap-southeast-2_20261119T2350Z_QuietRegion00001.json.gz";

pub fn repo(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn event(name: &str) -> serde_json::Value {
    serde_json::from_slice(&repo(&format!("events/{name}"))).unwrap()
}

pub fn log_key(file: &str) -> String {
    let mut parts = file.split('_');
    let (account, _, region, stamp) =
        (parts.next().unwrap(), parts.next(), parts.next().unwrap(), parts.next().unwrap());
    format!("AWSLogs/{account}/CloudTrail/{region}/{}/{}/{}/{file}", &stamp[0..4], &stamp[4..6], &stamp[6..8])
}

pub fn settings() -> SummarySettings {
    SummarySettings {
        state_bucket: STATE.into(),
        log_bucket: LOGS.into(),
        log_prefix: String::new(),
        window: std::time::Duration::from_secs(24 * 3600),
        gap: std::time::Duration::from_secs(3600),
        concurrency: 4,
        list_cap: 50,
    }
}

/// Uploads the samples with `put`, then runs the detection handler on all
/// but [`UNPROCESSED`], which writes their shards.
pub async fn deliver_and_detect<S>(store: S, sink: impl Into<Outputs>)
where
    S: ObjectStore + Clone + 'static,
{
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let detector = Detector::new(Arc::new(engine), store.clone(), sink, STATE);
    let dir = format!("{}/../../events/cloudtrail", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    for file in &files {
        let key = log_key(file);
        store.put(LOGS, &key, repo(&format!("events/cloudtrail/{file}")), false).await.unwrap();
        if file != UNPROCESSED {
            let object = ObjectRef { bucket: LOGS.into(), key, size: None, etag: None };
            detector.process(&object, 4_000_000_000).await.unwrap();
        }
    }
    store.put(LOGS, QUIET, repo(&format!("events/cloudtrail/{}", files[0])), false).await.unwrap();
}
