//! One decoder for every way a new log file is announced:
//!
//! - an S3 event notification (`Records[].s3`), keys form-encoded;
//! - S3's `s3:TestEvent` when a notification is configured (nothing to do);
//! - an EventBridge "Object Created" event from S3;
//! - CloudTrail's own file-delivery notice `{"s3Bucket", "s3ObjectKey": [...]}`;
//! - any of those inside an SNS notification (`Records[].Sns.Message`, or an
//!   SNS envelope `{"Type": "Notification", "Message": ...}`);
//! - any of those inside SQS messages (`Records[].body`), one [`Item`] per
//!   message so each can succeed or fail on its own;
//! - CloudTrail records that arrive one by one (EventBridge's CloudTrail
//!   events, directly or through SQS, and CloudWatch Logs subscription
//!   payloads), decoded by [`crate::intake`].
//!
//! The SQS batch and the EventBridge event are read with the
//! `aws_lambda_events` types. The rest is decoded by hand, leniently, on
//! purpose: S3's record type requires fields (`eventTime`, `userIdentity`,
//! `requestParameters`) that emulators, older senders and S3 notifications
//! relayed through SNS often lack, while only the bucket, key, size and ETag
//! matter here; SNS's record type likewise requires its delivery fields; and
//! CloudTrail's own delivery notice is not modelled by the crate at all.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trailwatch_core::key::decode_s3_key;

use crate::intake::{self, TrailEvent};

/// An object a notification announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
}

impl ObjectRef {
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What a notification hands over: an object to read, or a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Object(ObjectRef),
    Event(TrailEvent),
}

/// One unit of work: a whole direct invocation, or one SQS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The SQS message id, for `batchItemFailures`.
    pub message_id: Option<String>,
    /// The objects and records, or why the payload could not be understood.
    pub subjects: Result<Vec<Subject>, String>,
}

/// Whether the invocation came from SQS (and so answers with batch failures).
pub fn is_sqs(event: &Value) -> bool {
    first_record(event).is_some_and(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
}

/// Whether the invocation is the EventBridge schedule that flushes the
/// follow-ups of closed dedup windows.
pub fn is_schedule(event: &Value) -> bool {
    event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && event.get("source").and_then(Value::as_str) == Some("aws.events")
}

fn first_record(event: &Value) -> Option<&Value> {
    event.get("Records")?.as_array()?.first()
}

/// Splits an invocation payload into items.
pub fn decode(event: &Value) -> Vec<Item> {
    if !is_sqs(event) {
        return vec![Item { message_id: None, subjects: subjects(event) }];
    }
    let batch = match SqsEvent::deserialize(event) {
        Ok(batch) => batch,
        Err(e) => return vec![Item { message_id: None, subjects: Err(format!("not an SQS batch: {e}")) }],
    };
    batch
        .records
        .into_iter()
        .map(|message| {
            let subjects = match message.body.as_deref() {
                Some(body) => serde_json::from_str::<Value>(body)
                    .map_err(|e| format!("SQS message body is not JSON: {e}"))
                    .and_then(|inner| subjects(&inner)),
                None => Err("SQS message has no body".into()),
            };
            Item { message_id: message.message_id, subjects }
        })
        .collect()
}

/// What one (possibly wrapped) payload hands over.
fn subjects(event: &Value) -> Result<Vec<Subject>, String> {
    let events = if intake::is_cloudtrail_event(event) {
        intake::from_eventbridge(event)?
    } else if intake::is_logs(event) {
        intake::from_logs(event)?
    } else {
        return Ok(objects(event, 0)?.into_iter().map(Subject::Object).collect());
    };
    Ok(events.into_iter().map(Subject::Event).collect())
}

/// The `detail` of S3's EventBridge "Object Created" event, as far as it matters here.
#[derive(Serialize, Deserialize)]
struct ObjectCreated {
    bucket: Named,
    object: CreatedObject,
}

#[derive(Serialize, Deserialize)]
struct Named {
    name: String,
}

#[derive(Serialize, Deserialize)]
struct CreatedObject {
    key: String,
    size: Option<u64>,
    etag: Option<String>,
}

/// An EventBridge "Object Created" event from S3 (keys are not form-encoded).
fn object_created(event: &Value) -> Result<Vec<ObjectRef>, String> {
    let event = EventBridgeEvent::<ObjectCreated>::deserialize(event)
        .map_err(|e| format!("not an S3 \"Object Created\" EventBridge event: {e}"))?;
    let ObjectCreated { bucket, object } = event.detail;
    Ok(vec![ObjectRef { bucket: bucket.name, key: object.key, size: object.size, etag: object.etag }])
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().map(str::to_string)
}

fn number(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_u64()
}

/// The objects in one (possibly wrapped) notification. `depth` bounds how
/// many envelopes deep a payload may nest.
fn objects(event: &Value, depth: usize) -> Result<Vec<ObjectRef>, String> {
    if depth > 3 {
        return Err("notification nested too deeply".into());
    }
    // S3's test event: nothing to process.
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    // An SNS envelope delivered through SQS (raw delivery off).
    if event.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = event.get("Message").and_then(Value::as_str).ok_or("SNS notification has no Message")?;
        let inner: Value = serde_json::from_str(message).map_err(|e| format!("SNS Message is not JSON: {e}"))?;
        return objects(&inner, depth + 1);
    }
    // CloudTrail's own delivery notice.
    if let Some(bucket) = event.get("s3Bucket").and_then(Value::as_str) {
        let keys = event.get("s3ObjectKey").and_then(Value::as_array).ok_or("s3ObjectKey is not a list")?;
        return keys
            .iter()
            .map(|k| {
                let key = k.as_str().ok_or("s3ObjectKey holds a non-string")?;
                Ok(ObjectRef { bucket: bucket.to_string(), key: key.to_string(), size: None, etag: None })
            })
            .collect();
    }
    // EventBridge: only "Object Created" from S3 names a new object.
    if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
        if event.get("detail-type").and_then(Value::as_str) != Some("Object Created") {
            return Ok(Vec::new());
        }
        return object_created(event);
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return records_objects(records, depth);
    }
    Err("not a notification trailwatch understands (S3, EventBridge, SNS, SQS or CloudTrail)".into())
}

/// The objects of `Records[]`: S3 records (keys form-encoded), or SNS
/// records wrapping a notification.
fn records_objects(records: &[Value], depth: usize) -> Result<Vec<ObjectRef>, String> {
    let mut out = Vec::new();
    for record in records {
        if let Some(sns) = record.get("Sns") {
            let message = sns.get("Message").and_then(Value::as_str).ok_or("SNS record has no Message")?;
            let inner: Value = serde_json::from_str(message).map_err(|e| format!("SNS Message is not JSON: {e}"))?;
            out.extend(objects(&inner, depth + 1)?);
            continue;
        }
        let Some(s3) = record.get("s3") else {
            return Err("a record is neither an S3 nor an SNS notification".into());
        };
        let event_name = record.get("eventName").and_then(Value::as_str).unwrap_or("ObjectCreated:");
        if !event_name.starts_with("ObjectCreated:") && !event_name.starts_with("s3:ObjectCreated:") {
            continue;
        }
        let bucket = text(s3, &["bucket", "name"]).ok_or("S3 record has no bucket name")?;
        let raw_key = text(s3, &["object", "key"]).ok_or("S3 record has no object key")?;
        let key = decode_s3_key(&raw_key).map_err(|e| e.to_string())?;
        out.push(ObjectRef { bucket, key, size: number(s3, &["object", "size"]), etag: text(s3, &["object", "eTag"]) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";

    fn objects_of(item: &Item) -> Result<Vec<ObjectRef>, String> {
        let subjects = item.subjects.clone()?;
        Ok(subjects
            .into_iter()
            .map(|s| match s {
                Subject::Object(object) => object,
                Subject::Event(event) => panic!("an event: {event:?}"),
            })
            .collect())
    }

    fn only(items: Vec<Item>) -> Vec<ObjectRef> {
        assert_eq!(items.len(), 1);
        objects_of(&items[0]).unwrap()
    }

    #[test]
    fn decodes_every_sample_payload() {
        // (file, objects, first key)
        let cases = [
            ("s3-put.json", 1, KEY),
            ("s3-put-moto.json", 1, KEY),
            ("eventbridge-object-created.json", 1, KEY),
            ("cloudtrail-sns.json", 2, KEY),
            ("sns-s3-put.json", 1, KEY),
        ];
        for (file, count, key) in cases {
            let objects = only(decode(&event(file)));
            assert_eq!(objects.len(), count, "{file}");
            assert_eq!(objects[0].bucket, "trailwatch-logs", "{file}");
            assert_eq!(objects[0].key, key, "{file}");
        }
        assert!(only(decode(&event("s3-test-event.json"))).is_empty());
    }

    #[test]
    fn sqs_batches_become_one_item_per_message() {
        let items = decode(&event("sqs-batch.json"));
        assert!(is_sqs(&event("sqs-batch.json")));
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].message_id.as_deref(), Some("msg-s3"));
        assert_eq!(objects_of(&items[0]).unwrap()[0].key, KEY);
        assert_eq!(objects_of(&items[1]).unwrap()[0].key, KEY, "SNS envelope inside SQS");
        assert_eq!(objects_of(&items[2]).unwrap().len(), 2, "CloudTrail notice inside SQS");
        assert!(objects_of(&items[3]).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn keys_are_form_decoded_for_s3_notifications_only() {
        let s3 = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Bc"}}}]});
        assert_eq!(only(decode(&s3))[0].key, "a b+c");
        let eb = serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {"key": "a+b"}}});
        assert_eq!(only(decode(&eb))[0].key, "a+b");
    }

    #[test]
    fn unknown_shapes_are_errors_not_panics() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!([1]),
            serde_json::json!({"Records": [{"x": 1}]}),
            serde_json::json!({"s3Bucket": "b", "s3ObjectKey": "k"}),
        ] {
            assert!(decode(&bad)[0].subjects.is_err(), "{bad}");
        }
        let removed = serde_json::json!({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]});
        assert!(only(decode(&removed)).is_empty());
    }

    #[test]
    fn records_arrive_directly_or_through_sqs() {
        // (file, SQS, records)
        let cases = [
            ("eventbridge-root-signin.json", false, 1),
            ("sqs-eventbridge-root-signin.json", true, 1),
            ("cloudwatch-logs-root-signin.json", false, 2),
            ("cloudwatch-logs-control.json", false, 0),
        ];
        for (file, sqs, count) in cases {
            let payload = event(file);
            assert_eq!(is_sqs(&payload), sqs, "{file}");
            let items = decode(&payload);
            let subjects = items[0].subjects.clone().unwrap();
            assert_eq!(subjects.len(), count, "{file}");
            assert!(subjects.iter().all(|s| matches!(s, Subject::Event(e) if !e.record.is_empty())), "{file}");
        }
    }
}
