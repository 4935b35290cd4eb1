//! Lambda entry point: set up logging, build clients and the engine once,
//! hand each invocation to the handler. A failure a retry can fix fails the
//! invocation; one it cannot is reported and the invocation finishes.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use trailwatch_aws::cloudtrail::CloudTrailKeys;
use trailwatch_aws::config::{dynamodb_client, init_logging, s3_client, sdk_config};
use trailwatch_aws::dynamo::DynamoProfiles;
use trailwatch_aws::output::setup::outputs_from_env;
use trailwatch_aws::profiles::AnyProfiles;
use trailwatch_aws::runner::settle;
use trailwatch_aws::s3::S3Store;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::facts::Trusted;
use trailwatch_detect::config::{rules_or_builtin, Settings};
use trailwatch_detect::handler::Detector;
use trailwatch_detect::keys::KeyCache;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();

    let settings = Settings::from_env()?;
    let config = sdk_config().await;
    let store = S3Store::new(s3_client(&config));
    let outputs = outputs_from_env(&config, "ALERT_TOPIC_ARN").await?;
    let mut rules = rules_or_builtin(&store, &outputs, &settings.state_bucket, &settings.rules).await?;
    // Accounts that are not "outside" for the facts: the template's trusted and partner accounts.
    rules.trust(&Trusted::parse_list(&std::env::var("TRUSTED_ACCOUNTS").unwrap_or_default())?);
    let engine = Engine::new(&rules, EngineOptions { min_severity: settings.min_severity, ..Default::default() })?;
    tracing::info!(
        rules = engine.rules().count(),
        min_severity = %settings.min_severity,
        outputs = ?outputs.names(),
        dedup_minutes = settings.dedup_minutes,
        "ready"
    );
    let keys = KeyCache::new(Arc::new(CloudTrailKeys::new(&config)));
    let detector = Detector::new(Arc::new(engine), store, outputs, settings.state_bucket)
        .with_keys(keys)
        .with_dedup(settings.dedup_minutes * 60, settings.flush_grace);
    // First-seen profiles in DynamoDB, when the template made the table.
    let detector = match std::env::var("PROFILE_TABLE").ok().filter(|t| !t.trim().is_empty()) {
        Some(table) => {
            let horizon = rules.profiles().horizon_secs().map_err(anyhow::Error::msg)?;
            let store = DynamoProfiles::new(dynamodb_client(&config), table, horizon);
            detector.with_profiles(AnyProfiles::Dynamo(store))
        }
        None => detector,
    };
    let detector = Arc::new(detector);

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let detector = detector.clone();
        async move {
            let deadline = event.context.deadline / 1000;
            settle(detector.handle(&event.payload, deadline).await).map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
