//! The envelope decoder takes any JSON without panicking (run by `make test`;
//! shared/fuzz/ has a target for the same entry point).

use proptest::prelude::*;
use serde_json::Value;
use trailwatch_detect::envelope::decode;

/// JSON values shaped like notifications: nested objects and arrays with the
/// keys the decoder looks for, and arbitrary leaves.
fn notification_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        Just(Value::from("aws:sqs")),
        Just(Value::from("ObjectCreated:Put")),
        Just(Value::from("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/x.json.gz")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("Records".to_string()),
            Just("s3".to_string()),
            Just("bucket".to_string()),
            Just("object".to_string()),
            Just("key".to_string()),
            Just("name".to_string()),
            Just("body".to_string()),
            Just("eventSource".to_string()),
            Just("Message".to_string()),
            Just("detail".to_string()),
            Just("s3ObjectKey".to_string()),
            Just("s3Bucket".to_string()),
            "[a-z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_notification_decodes_without_panicking(event in notification_like()) {
        let items = decode(&event);
        // SQS batches give an item per message; anything else one item.
        let messages = event.get("Records").and_then(Value::as_array).map_or(1, Vec::len).max(1);
        prop_assert!(items.len() <= messages);
        // A notification wrapped as a string (SNS/SQS bodies) too.
        let wrapped = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": event.to_string(), "messageId": "m"}]});
        let _ = decode(&wrapped);
    }
}
