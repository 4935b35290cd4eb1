//! Lambda entry point: set up logging, build clients once, hand each
//! scheduled event to the handler. A failure a retry can fix fails the
//! invocation; one it cannot is reported and the invocation finishes.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use trailwatch_aws::config::{init_logging, s3_client, sdk_config};
use trailwatch_aws::output::setup::outputs_from_env;
use trailwatch_aws::runner::settle;
use trailwatch_aws::s3::S3Store;
use trailwatch_summary::config::Settings;
use trailwatch_summary::handler::Summarizer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();

    let settings = Settings::from_env()?;
    let config = sdk_config().await;
    let summarizer = Arc::new(Summarizer {
        store: S3Store::new(s3_client(&config)),
        outputs: outputs_from_env(&config, "SUMMARY_TOPIC_ARN").await?,
        settings: settings.summary,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let summarizer = summarizer.clone();
        async move { settle(summarizer.handle(&event.payload).await).map_err(lambda_runtime::Error::from) }
    }))
    .await
}
