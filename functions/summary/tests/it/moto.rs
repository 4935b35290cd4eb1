//! The summary handler against a real S3/SNS/SQS emulator (moto server):
//! shards and log objects in local S3, one shard missing and one region
//! quiet; the report on the SQS-subscribed topic names both, and a retry of
//! the same scheduled event does not send it again.

use crate::common::*;
use trailwatch_aws::output::sns::SnsSink;
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::testing::Moto;
use trailwatch_summary::handler::Summarizer;

#[tokio::test]
async fn the_report_reaches_subscribers_and_names_the_gaps() {
    let moto = Moto::start().await;
    for bucket in [LOGS, STATE] {
        moto.s3().create_bucket().bucket(bucket).send().await.unwrap();
    }
    let (alerts_topic, alerts_queue) = moto.topic_with_queue("alerts").await;
    let (summary_topic, summary_queue) = moto.topic_with_queue("summary").await;
    let store = S3Store::new(moto.s3());
    deliver_and_detect(store.clone(), SnsSink::new(moto.sns(), &alerts_topic)).await;
    assert!(!moto.drain(&alerts_queue).await.is_empty());

    let summarizer =
        Summarizer { store, outputs: SnsSink::new(moto.sns(), &summary_topic).into(), settings: settings() };
    summarizer.handle(&event("schedule.json")).await.unwrap();
    let first = moto.drain(&summary_queue).await;
    assert_eq!(first.len(), 1);
    let body = first[0]["Message"].as_str().unwrap();
    assert!(first[0]["Subject"].as_str().unwrap().starts_with("trailwatch daily summary 2026-11-20:"));
    assert_eq!(first[0]["MessageAttributes"]["kind"]["Value"], "summary");
    assert!(body.contains(&log_key(UNPROCESSED)), "{body}");
    assert!(body.contains("ap-southeast-2: 1440 minutes without a log file"), "{body}");

    // A retry of the same scheduled event: sent once already, not again.
    summarizer.handle(&event("schedule.json")).await.unwrap();
    assert!(moto.drain(&summary_queue).await.is_empty());
}
