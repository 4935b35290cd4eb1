//! The daily summary's statistics at organization scale, against the S3
//! emulator (moto server): 270,000 statistics shards (55 accounts × 17
//! regions × 288 five-minute files) over the 24 hours of 2026-11-20, each
//! the real shard of a sample log file.
//!
//! `cargo bench -p trailwatch-summary --bench rollups` (`TW_SHARDS=27000`
//! for a smaller day). Prints, with the state-bucket requests each made:
//!
//! 1. before: the day read from its shards alone (a LIST per 1,000 keys and
//!    a GET per shard, 16 at a time), as the summary did without rollups;
//! 2. the hourly rollups of hours 00–22, each as the detection function's
//!    schedule makes it after the hour closes (per hour);
//! 3. after: the daily summary at 00:05 (the real reader: 23 rollups, hour
//!    23's shards, which it then rolls up, and the log bucket's listing);
//! 4. its retry, or a summary run after 00:15: 24 rollups.

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use trailwatch_aws::rollup::{Requests, Rollups};
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::state::{ShardFile, SHARDS};
use trailwatch_aws::testing::Moto;
use trailwatch_core::engine::{Collect, Engine, EngineOptions};
use trailwatch_core::summary::Window;
use trailwatch_core::RuleSet;
use trailwatch_summary::config::SummarySettings;
use trailwatch_summary::report::Reader;

const STATE: &str = "state";
const LOGS: &str = "logs";
const SAMPLE: &str = "123456789012_CloudTrail_us-east-1_20261120T0930Z_IamCh4ngesEv0002.json.gz";

/// The statistics shard of a real sample file, as the detection function writes it.
fn sample_shard() -> ShardFile {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/cloudtrail").join(SAMPLE);
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let summary = engine.scan(SAMPLE, std::fs::File::open(path).unwrap(), &mut Collect::default());
    ShardFile {
        source: String::new(),
        account_id: String::new(),
        region: String::new(),
        time: String::new(),
        complete: true,
        stats: summary.stats,
        rejected_alerts: 0,
        folded_findings: 0,
        event_lane: None,
    }
}

async fn fill(moto: &Moto, shards: usize) -> usize {
    let template = sample_shard();
    let s3 = moto.s3();
    let per_hour = shards.div_ceil(24);
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 48;
    let mut bytes = 0;
    for worker in 0..workers {
        let (s3, mut shard) = (s3.clone(), template.clone());
        let body_len = serde_json::to_vec(&template).unwrap().len();
        bytes = body_len;
        tasks.spawn(async move {
            for n in (worker..shards).step_by(workers) {
                let (hour, n_in_hour) = (n / per_hour, n % per_hour);
                let (account, region) = (100_000_000_000 + n_in_hour % 55, n_in_hour / 55 % 17);
                let key = format!(
                    "AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail/region-{region}/2026/11/20/{account}_CloudTrail_region-{region}_20261120T{hour:02}00Z_{n:06}.json.gz"
                );
                shard.source = format!("s3://{LOGS}/{key}");
                let state_key = format!("{SHARDS}2026/11/20/{hour:02}/{LOGS}/{key}.json");
                let body = ByteStream::from(serde_json::to_vec(&shard).unwrap());
                s3.put_object().bucket(STATE).key(state_key).body(body).send().await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    bytes
}

fn line(what: &str, seconds: f64, r: Requests) {
    println!("{what:<58} {seconds:>8.1} s  {:>6} LIST  {:>7} GET  {:>3} PUT", r.lists, r.gets, r.puts);
}

#[tokio::main]
async fn main() {
    let shards: usize = std::env::var("TW_SHARDS").ok().and_then(|s| s.parse().ok()).unwrap_or(270_000);
    let moto = Moto::start().await;
    for bucket in [STATE, LOGS] {
        moto.s3().create_bucket().bucket(bucket).send().await.unwrap();
    }
    let started = Instant::now();
    let size = fill(&moto, shards).await;
    println!("{shards} shards of {size} bytes written in {:.0} s", started.elapsed().as_secs_f64());

    let store = S3Store::new(moto.s3());
    let rollups = Rollups { store: &store, bucket: STATE, concurrency: 16 };
    let hours: Vec<String> = (0..24).map(|h| format!("2026/11/20/{h:02}")).collect();

    let started = Instant::now();
    let mut before = Requests::default();
    let mut records = 0;
    for hour in &hours {
        records += rollups.hour(hour, false, &mut before).await.unwrap().stats.records;
    }
    line("before: the day from its shards", started.elapsed().as_secs_f64(), before);

    let started = Instant::now();
    let mut hourly = Requests::default();
    for hour in &hours[..23] {
        assert!(rollups.close(hour, &mut hourly).await.unwrap());
    }
    let per_hour = Requests { lists: hourly.lists / 23, gets: hourly.gets / 23, puts: hourly.puts / 23 };
    line("rolling up one hour (mean of 23)", started.elapsed().as_secs_f64() / 23.0, per_hour);

    let settings = SummarySettings {
        state_bucket: STATE.into(),
        log_bucket: LOGS.into(),
        log_prefix: String::new(),
        window: std::time::Duration::from_secs(86_400),
        gap: std::time::Duration::from_secs(3600),
        concurrency: 16,
        list_cap: 50,
    };
    let window = Window::ending_before(Window::parse_time("2026-11-21T00:05:00Z").unwrap(), settings.window).unwrap();
    let reader = Reader { store: &store, settings: &settings };
    for what in ["after: the daily summary (23 rollups + hour 23's shards)", "its retry (24 rollups)"] {
        let started = Instant::now();
        let summary = reader.summary(&window).await.unwrap();
        line(what, started.elapsed().as_secs_f64(), summary.requests);
        assert_eq!(summary.file.stats.records, records, "the same numbers either way");
        assert_eq!(summary.file.coverage.processed, 0, "no log files in the log bucket: coverage counts none");
    }
}
