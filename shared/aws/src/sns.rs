//! [`AlertSink`] on Amazon SNS through the AWS SDK: one `PublishBatch` call
//! for up to 10 alerts.

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use trailwatch_core::alert::Alert;

use crate::ports::{AlertSink, Failure, FailureKind, Result};
use crate::s3::classify;

/// SNS attribute values must be non-empty.
fn attribute(value: &str) -> Result<MessageAttributeValue> {
    let value = if value.is_empty() { "unknown" } else { value };
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| Failure::new(FailureKind::Permanent, e.to_string()))
}

/// Publishes to one topic.
#[derive(Clone, Debug)]
pub struct SnsSink {
    client: Client,
    topic_arn: String,
}

impl SnsSink {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsSink { client, topic_arn: topic_arn.into() }
    }
}

impl AlertSink for SnsSink {
    async fn publish(&self, alerts: &[Alert]) -> Result<Vec<Result<()>>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        if alerts.len() > 10 {
            return Err(Failure::new(FailureKind::Permanent, "PublishBatch takes at most 10 messages"));
        }
        let mut request = self.client.publish_batch().topic_arn(&self.topic_arn);
        for (i, alert) in alerts.iter().enumerate() {
            let mut entry =
                PublishBatchRequestEntry::builder().id(format!("a{i}")).subject(&alert.subject).message(&alert.body);
            for (name, value) in &alert.attributes {
                entry = entry.message_attributes(name, attribute(value)?);
            }
            request = request.publish_batch_request_entries(
                entry.build().map_err(|e| Failure::new(FailureKind::Permanent, e.to_string()))?,
            );
        }
        let what = format!("PublishBatch {}", self.topic_arn);
        let out = request.send().await.map_err(|e| classify(&what, e))?;
        let mut results: Vec<Result<()>> = vec![Ok(()); alerts.len()];
        for failed in out.failed() {
            let index = failed.id().strip_prefix('a').and_then(|n| n.parse::<usize>().ok());
            if let Some(slot) = index.and_then(|i| results.get_mut(i)) {
                let kind = if failed.sender_fault() { FailureKind::Permanent } else { FailureKind::Transient };
                *slot = Err(Failure::new(kind, format!("{}: {}", failed.code(), failed.message().unwrap_or(""))));
            }
        }
        Ok(results)
    }
}
