//! One event as alerts and threshold tallies list it: a finding's fields,
//! made display-safe, with a console link built from checked parts only.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::text::printable;

/// What stays literal in a console link's event id: letters, digits, `-_.`.
const LINK_ID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// A single-line field's longest form.
pub const FIELD_MAX: usize = 400;
/// One event listed in an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub time: Option<String>,
    pub name: Option<String>,
    pub source: Option<String>,
    pub principal: Option<String>,
    pub principal_type: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub mfa_used: Option<String>,
    pub outcome: String,
    /// `requestParameters` as compact JSON, cut.
    pub request: Option<String>,
    /// Why it matched: the fields its rule tests or shows, with their values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<Matched>,
    pub event_id: Option<String>,
    /// The event in the CloudTrail console, built from checked parts only.
    pub link: Option<String>,
    /// The record's index in its log file.
    pub record: usize,
}

/// One field a rule tested or shows, with the record's values there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    pub field: String,
    pub values: Vec<String>,
}

/// A one-line field, display-safe.
pub fn field(value: Option<&str>) -> Option<String> {
    value.map(|v| printable(v, FIELD_MAX).into_owned())
}

/// `us-east-1`-like: lowercase letters, digits and dashes only.
pub fn safe_region(region: Option<&str>) -> Option<&str> {
    region.filter(|r| {
        !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// A link to the event in the CloudTrail console, from checked parts only.
pub fn console_link(region: Option<&str>, event_id: Option<&str>) -> Option<String> {
    let region = safe_region(region)?;
    let id = event_id.filter(|id| !id.is_empty() && id.len() <= 128)?;
    let id = utf8_percent_encode(id, LINK_ID);
    Some(format!("https://{region}.console.aws.amazon.com/cloudtrail/home?region={region}#/events/{id}"))
}

impl AlertEvent {
    /// The display-safe form of a finding.
    pub fn of(f: &Finding) -> AlertEvent {
        let s = |v: &Option<String>| field(v.as_deref());
        AlertEvent {
            time: s(&f.event_time),
            name: s(&f.event_name),
            source: s(&f.event_source),
            principal: s(&f.principal_arn),
            principal_type: s(&f.principal_type),
            account_id: s(&f.account_id),
            region: s(&f.region),
            source_ip: s(&f.source_ip),
            user_agent: s(&f.user_agent),
            mfa_used: s(&f.mfa_used),
            outcome: printable(&f.outcome.to_string(), FIELD_MAX).into_owned(),
            request: f.request_parameters.as_deref().map(|p| printable(p, 2100).into_owned()),
            matched: f
                .matched
                .iter()
                .map(|(field, values)| Matched {
                    field: printable(field, FIELD_MAX).into_owned(),
                    values: values.iter().map(|v| printable(v, FIELD_MAX).into_owned()).collect(),
                })
                .collect(),
            event_id: s(&f.event_id),
            link: console_link(f.region.as_deref(), f.event_id.as_deref()),
            record: f.record_index,
        }
    }
}
