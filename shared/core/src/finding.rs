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
    /// The record's `responseElements` as compact JSON, cut like the
    /// request parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_elements: Option<String>,
    /// Why it matched: each field the rule's pattern tests (beyond those
    /// above) with the values the record has there.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "matched_map")]
    pub matched: Vec<(String, Vec<String>)>,
    /// The log file (path or `s3://bucket/key`).
    pub file: String,
    pub record_index: usize,
}

fn matched_map<S: Serializer>(matched: &[(String, Vec<String>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(matched.iter().map(|(field, values)| (field, values)))
}

/// Fields a finding shows anyway; "why it matched" leaves them out.
const SHOWN: [&str; 13] = [
    "eventName",
    "eventSource",
    "eventTime",
    "eventID",
    "awsRegion",
    "recipientAccountId",
    "userIdentity.type",
    "userIdentity.arn",
    "sourceIPAddress",
    "errorCode",
    "errorMessage",
    "additionalEventData.MFAUsed",
    "responseElements.ConsoleLogin",
];

/// Values shown per field, and their length, in "why it matched".
const MATCHED_VALUES: usize = 5;
const MATCHED_VALUE_LEN: usize = 200;

/// The fields of a pattern worth showing with a finding: `(name, slot)`,
/// the name without its `$.`.
pub fn why_fields(pattern: &crate::pattern::Pattern) -> Vec<(String, usize)> {
    why_named(pattern.fields().into_iter().map(|(selector, slot)| (field_name(selector), slot)))
}

/// Fields (dotted names and their slots) shown as why a rule matched,
/// less those every finding shows anyway.
pub fn why_named(fields: impl IntoIterator<Item = (String, usize)>) -> Vec<(String, usize)> {
    fields.into_iter().filter(|(name, _)| !SHOWN.contains(&name.as_str())).collect()
}

/// A selector as findings name it: `$.a.b[*]` is `a.b[*]`.
pub fn field_name(selector: &crate::pattern::Selector) -> String {
    selector.to_string().trim_start_matches("$.").to_string()
}

/// The values a record has at each of `fields` (objects and arrays left
/// out), at most [`MATCHED_VALUES`] per field.
pub fn matched(fields: &[(String, usize)], values: crate::extract::Tables<'_, '_>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (name, slot) in fields {
        let mut shown: Vec<String> = Vec::new();
        for value in values.get(*slot) {
            let text = match value {
                Scalar::Str(s) => cut(s, MATCHED_VALUE_LEN),
                Scalar::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
                Scalar::Num(n) => n.to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Null => "null".into(),
                Scalar::Container => continue,
            };
            if shown.len() == MATCHED_VALUES {
                shown.push("...".into());
                break;
            }
            if !shown.contains(&text) {
                shown.push(text);
            }
        }
        if !shown.is_empty() {
            out.push((name.clone(), shown));
        }
    }
    out
}

/// A text a rule compares case-sensitively, to point out in "why it
/// matched" when a record's value differs from it only in case.
#[derive(Debug, Clone)]
pub struct CaseSensitive {
    field: String,
    slot: usize,
    text: String,
    /// Who compares so: "CIS" for the CIS controls, else "the rule".
    by: &'static str,
}

/// The case-sensitive texts of a rule's pattern (those with letters).
pub fn case_sensitive(pattern: &crate::pattern::Pattern, rule: &Rule) -> Vec<CaseSensitive> {
    let by = if rule.tags.iter().any(|t| t.starts_with("cis")) { "CIS" } else { "the rule" };
    pattern
        .exact_texts()
        .into_iter()
        .filter(|(_, _, text)| text.bytes().any(|b| b.is_ascii_alphabetic()))
        .map(|(selector, slot, text)| CaseSensitive { field: field_name(selector), slot, text: text.to_string(), by })
        .collect()
}

/// Adds to `matched` each value that differs from a compared text only in
/// case, saying so: `"YES" (CIS compares case-sensitively: not "Yes")`.
pub fn note_case(
    matched: &mut Vec<(String, Vec<String>)>,
    checks: &[CaseSensitive],
    values: &crate::extract::Values<'_>,
) {
    for check in checks {
        for value in values.get(check.slot) {
            let Scalar::Str(s) = value else { continue };
            if s.as_ref() == check.text || !s.eq_ignore_ascii_case(&check.text) {
                continue;
            }
            let note = format!(
                "\"{}\" ({} compares case-sensitively: not \"{}\")",
                cut(s, MATCHED_VALUE_LEN),
                check.by,
                check.text
            );
            match matched.iter_mut().find(|(field, _)| *field == check.field) {
                Some((_, shown)) => match shown.iter_mut().find(|v| **v == **s) {
                    Some(v) => *v = note,
                    None => shown.push(note),
                },
                None => matched.push((check.field.clone(), vec![note])),
            }
        }
    }
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
            request_parameters: container_text(facts, Fact::RequestParameters, json, "requestParameters"),
            response_elements: container_text(facts, Fact::ResponseElements, json, "responseElements"),
            matched: Vec::new(),
            file: file.to_string(),
            record_index,
        }
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    /// The finding as one JSON object for `--format jsonl`: the record's facts
    /// plus the rule's id, title, severity and tags. Request parameters and
    /// response elements are JSON objects (text, with `..._truncated`, when
    /// they were cut at [`MAX_REQUEST_PARAMETERS`] bytes).
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        let mut value = serde_json::to_value(self)?;
        if let Some(map) = value.as_object_mut() {
            // The record's own JSON, as JSON; text only when it was cut.
            for key in ["request_parameters", "response_elements"] {
                let parsed = map.get(key).and_then(|v| v.as_str()).map(serde_json::from_str::<serde_json::Value>);
                match parsed {
                    Some(Ok(json)) => {
                        map.insert(key.into(), json);
                    }
                    Some(Err(_)) => {
                        map.insert(format!("{key}_truncated"), true.into());
                    }
                    None => {}
                }
            }
            map.insert("title".into(), self.rule.title.clone().into());
            map.insert("severity".into(), self.rule.severity.as_str().into());
            map.insert("tags".into(), self.rule.tags.clone().into());
        }
        Ok(value)
    }
}

/// `requestParameters` or `responseElements` as compact JSON, cut for
/// findings.
fn container_text(facts: &RecordFacts<'_, '_>, fact: Fact, json: &str, key: &str) -> Option<String> {
    compact_field(facts, fact, json, key).map(|compact| {
        if compact.len() <= MAX_REQUEST_PARAMETERS {
            compact
        } else {
            cut(&compact, MAX_REQUEST_PARAMETERS)
        }
    })
}

/// A top-level field (`fact`, named `key` in the record) as compact JSON.
/// The extractor usually kept the object's text; otherwise the record is
/// parsed again.
pub fn compact_field(facts: &RecordFacts<'_, '_>, fact: Fact, json: &str, key: &str) -> Option<String> {
    match facts.values(fact) {
        [] | [Scalar::Null] => None,
        [Scalar::Container] => match facts.raw(fact) {
            Some(text) => Some(compact_json(text)),
            None => top_level_json(json, key),
        },
        _ => top_level_json(json, key),
    }
}

/// One top-level field of the record as compact JSON (None when absent,
/// null, given twice, or when the record does not parse).
fn top_level_json(json: &str, key: &str) -> Option<String> {
    struct Field<'k>(&'k str);
    impl<'de> serde::de::Visitor<'de> for Field<'_> {
        type Value = Option<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut found, mut times) = (None, 0);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == self.0 {
                    times += 1;
                    found = Some(map.next_value::<&'de RawValue>()?);
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(found.filter(|_| times == 1))
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let raw = serde::Deserializer::deserialize_map(&mut de, Field(key)).ok()??;
    (raw.get() != "null").then(|| compact_json(raw.get()))
}

/// Well-formed JSON text without the white space between its tokens; keys
/// stay in the record's order and strings exactly as written.
pub fn compact_json(text: &str) -> String {
    // CloudTrail writes objects compact: most have no white space at all.
    let bytes = text.as_bytes();
    if memchr::memchr3(b' ', b'\n', b'\t', bytes).is_none() && memchr::memchr(b'\r', bytes).is_none() {
        return text.to_string();
    }
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
