//! A finding: one record that matched one rule, with the record's key facts
//! and where it came from. Every text field is copied from the record as is:
//! it is attacker-controlled, and whoever renders it must treat it so.

use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::extract::Scalar;
use crate::record::{Fact, RecordFacts};
use crate::rule::{Rule, Severity};

/// Request parameters longer than this are cut (with a marker) in findings.
pub const MAX_REQUEST_PARAMETERS: usize = 2048;

/// Whether the call succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure { code: Option<String>, message: Option<String> },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => f.write_str("success"),
            Outcome::Failure { code, message } => {
                f.write_str(code.as_deref().unwrap_or("failure"))?;
                match message {
                    Some(m) => write!(f, ": {m}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One match.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    #[serde(rename = "rule", serialize_with = "rule_id")]
    pub rule: Arc<Rule>,
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub principal_arn: Option<String>,
    pub principal_type: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `additionalEventData.MFAUsed` where the record has it.
    pub mfa_used: Option<String>,
    pub outcome: Outcome,
    /// The record's `requestParameters` as compact JSON, cut at
    /// [`MAX_REQUEST_PARAMETERS`] bytes.
    pub request_parameters: Option<String>,
    /// The log file (path or `s3://bucket/key`).
    pub file: String,
    pub record_index: usize,
}

fn rule_id<S: Serializer>(rule: &Arc<Rule>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rule.id)
}

impl Finding {
    /// Builds a finding from a record's facts; `json` is the record's text.
    pub fn new(rule: Arc<Rule>, facts: &RecordFacts<'_, '_>, json: &str, file: &str, record_index: usize) -> Self {
        let own = |fact| facts.get(fact).map(str::to_string);
        let outcome = if facts.failed() {
            Outcome::Failure { code: own(Fact::ErrorCode), message: own(Fact::ErrorMessage) }
        } else {
            Outcome::Success
        };
        Finding {
            rule,
            event_id: own(Fact::EventId),
            event_time: own(Fact::EventTime),
            event_name: own(Fact::EventName),
            event_source: own(Fact::EventSource),
            account_id: facts.account_id().map(str::to_string),
            region: own(Fact::Region),
            principal_arn: facts.principal().map(str::to_string),
            principal_type: facts.principal_type().map(str::to_string),
            source_ip: own(Fact::SourceIp),
            user_agent: own(Fact::UserAgent),
            mfa_used: own(Fact::MfaUsed),
            outcome,
            request_parameters: request_parameters(facts, json),
            file: file.to_string(),
            record_index,
        }
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    /// The finding as one JSON object for `--format jsonl`: the record's facts
    /// plus the rule's id, title, severity and tags.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("title".into(), self.rule.title.clone().into());
            map.insert("severity".into(), self.rule.severity.as_str().into());
            map.insert("tags".into(), self.rule.tags.clone().into());
        }
        value
    }
}

/// `requestParameters` as compact JSON, cut for findings. The extractor
/// usually kept the object's text; otherwise the record is parsed again.
fn request_parameters(facts: &RecordFacts<'_, '_>, json: &str) -> Option<String> {
    let compact = match facts.values(Fact::RequestParameters) {
        [] | [Scalar::Null] => None,
        [Scalar::Container] => match facts.raw(Fact::RequestParameters) {
            Some(text) => Some(compact_json(text)),
            None => request_parameters_json(json),
        },
        _ => request_parameters_json(json),
    };
    compact.map(|compact| cut(&compact, MAX_REQUEST_PARAMETERS))
}

/// Pulls `requestParameters` out of the record text as compact JSON (only
/// for matches, so the cost of a second parse is paid on them alone).
pub fn request_parameters_json(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Only<'a> {
        #[serde(borrow, rename = "requestParameters")]
        request_parameters: Option<&'a RawValue>,
    }
    let raw = serde_json::from_str::<Only<'_>>(json).ok()?.request_parameters?;
    Some(compact_json(raw.get()))
}

/// Well-formed JSON text without the white space between its tokens; keys
/// stay in the record's order and strings exactly as written.
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut kept = 0;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            out.push_str(&text[kept..i]);
            kept = i + 1;
        }
    }
    out.push_str(&text[kept..]);
    out
}

/// Cuts text at a char boundary at most `max` bytes in, marking the cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::compact_json;

    #[test]
    fn compact_json_drops_only_white_space_between_tokens() {
        for (text, want) in [
            (r#"{ "b" : 1 , "a" : [ 2 , 3 ] }"#, r#"{"b":1,"a":[2,3]}"#),
            ("{\n\t\"k\": \"a b\\\" c \\\\\"\r\n}", r#"{"k":"a b\" c \\"}"#),
            (r#"{"x":"\u00e9 "}"#, r#"{"x":"\u00e9 "}"#),
            ("\"plain\"", "\"plain\""),
        ] {
            assert_eq!(compact_json(text), want, "{text}");
        }
    }
}
