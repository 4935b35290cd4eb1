//! CloudTrail records that arrive one at a time instead of in a log file:
//!
//! - EventBridge's CloudTrail events (`detail-type` "AWS API Call via
//!   CloudTrail", "AWS Console Signin via CloudTrail", ...), whose `detail`
//!   is the record, invoked directly or relayed through SQS;
//! - a CloudWatch Logs subscription from the trail's log group
//!   (`{"awslogs": {"data": base64 of gzip}}`), each log event one record;
//!   `CONTROL_MESSAGE` payloads (the connectivity check) carry none.
//!
//! Both are read with the `aws_lambda_events` types (the crate decodes the
//! base64 and gzip of the subscription payload).

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

/// Which way a record came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    EventBridge,
    CloudWatchLogs,
}

impl Lane {
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::EventBridge => "eventbridge",
            Lane::CloudWatchLogs => "cloudwatch-logs",
        }
    }
}

/// One CloudTrail record that arrived on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEvent {
    /// The record's `eventID` (the envelope's own id when it has none): the
    /// same event through two intakes is one.
    pub id: String,
    /// The record as JSON.
    pub record: String,
    pub lane: Lane,
}

impl TrailEvent {
    /// What it is, in errors, logs and alerts.
    pub fn name(&self) -> String {
        format!("{} event {}", self.lane.as_str(), self.id)
    }
}

/// Whether `event` is a CloudTrail event from EventBridge.
pub fn is_cloudtrail_event(event: &Value) -> bool {
    event.get("detail-type").and_then(Value::as_str).is_some_and(|t| t.ends_with(" via CloudTrail"))
        && event.get("detail").is_some_and(Value::is_object)
}

/// Whether `event` is a CloudWatch Logs subscription payload.
pub fn is_logs(event: &Value) -> bool {
    event.get("awslogs").is_some()
}

#[derive(Deserialize)]
struct EventIdOnly {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
}

fn event_id(record: &str) -> Option<String> {
    serde_json::from_str::<EventIdOnly>(record).ok()?.event_id.filter(|id| !id.is_empty())
}

/// The record of a CloudTrail event from EventBridge (none for Insights
/// events: they describe rates, and the file lane reads them).
pub fn from_eventbridge(event: &Value) -> Result<Vec<TrailEvent>, String> {
    let event = EventBridgeEvent::<Value>::deserialize(event)
        .map_err(|e| format!("not a CloudTrail EventBridge event: {e}"))?;
    if event.detail_type == "AWS Insight via CloudTrail" {
        return Ok(Vec::new());
    }
    let record = serde_json::to_string(&event.detail).map_err(|e| format!("event detail: {e}"))?;
    let id = event_id(&record).or(event.id).ok_or("a CloudTrail EventBridge event with no eventID and no id")?;
    Ok(vec![TrailEvent { id, record, lane: Lane::EventBridge }])
}

/// The records of a CloudWatch Logs subscription payload.
pub fn from_logs(event: &Value) -> Result<Vec<TrailEvent>, String> {
    let logs = LogsEvent::deserialize(event).map_err(|e| format!("not a CloudWatch Logs subscription payload: {e}"))?;
    let data = logs.aws_logs.data;
    if data.message_type == "CONTROL_MESSAGE" {
        return Ok(Vec::new());
    }
    Ok(data
        .log_events
        .into_iter()
        .map(|entry| TrailEvent {
            id: event_id(&entry.message).unwrap_or_else(|| format!("cwl-{}", entry.id)),
            record: entry.message,
            lane: Lane::CloudWatchLogs,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    #[test]
    fn eventbridge_detail_is_the_record() {
        let payload = event("eventbridge-root-signin.json");
        assert!(is_cloudtrail_event(&payload));
        let events = from_eventbridge(&payload).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, "b13e6955-aae2-532b-9fd4-b622280f068e");
        assert!(events[0].record.contains("\"ConsoleLogin\""));
        let insight =
            serde_json::json!({"detail-type": "AWS Insight via CloudTrail", "source": "aws.cloudtrail", "detail": {}});
        assert!(from_eventbridge(&insight).unwrap().is_empty());
        assert!(!is_cloudtrail_event(&event("eventbridge-object-created.json")));
    }

    #[test]
    fn logs_payloads_decode_and_control_messages_carry_nothing() {
        let payload = event("cloudwatch-logs-root-signin.json");
        assert!(is_logs(&payload));
        let events = from_logs(&payload).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id, "b13e6955-aae2-532b-9fd4-b622280f068e");
        assert_eq!(events[0].lane, Lane::CloudWatchLogs);
        assert!(from_logs(&event("cloudwatch-logs-control.json")).unwrap().is_empty());
        assert!(from_logs(&serde_json::json!({"awslogs": {"data": "not base64"}})).is_err());
    }
}
