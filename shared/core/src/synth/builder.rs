//! The parts generated records are built from: the account, the identities,
//! and a builder that stamps each call with the file's time and a serial id.

use serde_json::{json, Value};

pub(super) const ACCOUNT: &str = "123456789012";
pub(super) const ATTACKER_IP: &str = "203.0.113.66";

pub(super) const CONSOLE: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15";

pub(super) fn role(role: &str, session: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROA{}:{session}", role.len()),
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
        "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
            "accountId": ACCOUNT, "userName": role}}
    })
}

pub(super) fn user(name: &str) -> Value {
    json!({"type": "IAMUser", "principalId": format!("AIDA{name}"), "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "accountId": ACCOUNT, "userName": name})
}

pub(super) struct Builder {
    time: String,
    pub(super) records: Vec<Value>,
    serial: u64,
}

impl Builder {
    pub(super) fn new(time: String, serial: u64) -> Builder {
        Builder { time, records: Vec::new(), serial }
    }

    pub(super) fn into_records(self) -> Vec<Value> {
        self.records
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn call(
        &mut self,
        who: Value,
        source: &str,
        name: &str,
        params: Value,
        ip: &str,
        agent: &str,
        error: Option<&str>,
    ) -> &mut Value {
        self.serial += 1;
        let mut r = json!({
            "eventVersion": "1.09", "userIdentity": who, "eventTime": self.time, "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": agent,
            "requestParameters": params, "responseElements": null, "eventID": format!("benign-{:012}", self.serial),
            "readOnly": name.starts_with("Get") || name.starts_with("List") || name.starts_with("Describe"),
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT
        });
        if let Some(code) = error {
            r["errorCode"] = json!(code);
            r["errorMessage"] = json!("not authorized to perform this operation");
        }
        self.records.push(r);
        self.records.last_mut().expect("just pushed")
    }
}
