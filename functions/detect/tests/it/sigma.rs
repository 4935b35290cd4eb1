//! A Sigma rule alerts through the detection function like a native one:
//! loaded as an extra rule from (emulated) S3 beside a TOML file, run on a
//! log file in S3, its alert published through SNS once.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use trailwatch_aws::output::sns::SnsSink;
use trailwatch_aws::s3::S3Store;
use trailwatch_aws::testing::Moto;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_detect::config::{load_rules, UserRules};
use trailwatch_detect::handler::Detector;

const LOGS: &str = "trailwatch-logs";
const STATE: &str = "trailwatch-state";
const RULES: &str = "trailwatch-rules";
const FAR: u64 = 4_000_000_000;

const SIGMA: &str = "title: Root signs in to the console (Sigma)
id: 5f4c7d1e-9a9b-4c51-8d7e-3b1f0c2a7e11
status: stable
level: high
author: trailwatch tests
description: The root user signed in.
falsepositives:
  - break-glass drills
tags:
  - attack.t1078.004
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: consolelogin
    userIdentity.type: ROOT
  condition: selection
";

#[tokio::test]
async fn a_sigma_rule_from_s3_alerts_through_sns_exactly_once() {
    let moto = Moto::start().await;
    for bucket in [LOGS, STATE, RULES] {
        moto.s3().create_bucket().bucket(bucket).send().await.unwrap();
    }
    let (topic_arn, queue_url) = moto.topic_with_queue("trailwatch-sigma").await;
    let s3 = moto.s3();
    // GIVEN extra rules under a prefix: a Sigma file beside a TOML one.
    for (key, body) in [("team/root.yml", SIGMA), ("team/disable.toml", "disable = ['root-console-login']")] {
        s3.put_object().bucket(RULES).key(key).body(ByteStream::from(body.as_bytes().to_vec())).send().await.unwrap();
    }
    let store = S3Store::new(moto.s3());
    let user = UserRules { extra: Some(format!("s3://{RULES}/team/")), ..Default::default() };
    let rules = load_rules(&store, &user).await.unwrap();
    let sigma = rules.active_rules().find(|r| r.sigma.is_some()).expect("the Sigma rule loaded");
    assert_eq!(sigma.origin, format!("s3://{RULES}/team/root.yml"));

    let event = crate::moto::put_sample_log(&s3).await;

    // WHEN the log file is processed
    let engine = Engine::new(&rules, EngineOptions::default()).unwrap();
    let detector = Detector::new(Arc::new(engine), store, SnsSink::new(moto.sns(), &topic_arn), STATE);
    detector.handle(&event, FAR).await.unwrap();

    // THEN the Sigma rule's alert arrives, with its level, title and attribution.
    let messages = moto.drain(&queue_url).await;
    let attribute =
        |m: &Value, name: &str| m["MessageAttributes"][name]["Value"].as_str().unwrap_or_default().to_string();
    let alert = messages
        .iter()
        .find(|m| attribute(m, "rule") == "5f4c7d1e-9a9b-4c51-8d7e-3b1f0c2a7e11")
        .unwrap_or_else(|| panic!("no Sigma alert among {messages:?}"));
    assert!(alert["Subject"].as_str().unwrap().starts_with("[HIGH] Root signs in to the console (Sigma)"), "{alert}");
    assert_eq!(attribute(alert, "severity"), "high");
    let body = alert["Message"].as_str().unwrap();
    assert!(body.contains("(Sigma rule by trailwatch tests)"), "{body}");
    assert!(!messages.iter().any(|m| attribute(m, "rule") == "root-console-login"), "disabled by the TOML file");

    // WHEN the same notification comes again THEN nothing is sent twice.
    detector.handle(&event, FAR).await.unwrap();
    assert!(moto.drain(&queue_url).await.is_empty());
}
