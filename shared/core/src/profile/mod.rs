//! Behavioural profiles: per account and principal, the values seen per
//! dimension, each with its first and last time, so that a rule can ask
//! "has this principal ever done this before?" ([`crate::first_seen`]).
//!
//! # Keys
//!
//! A profile belongs to a key: a principal within its account, or the
//! account alone. Principals are keyed by what they are, not by session
//! ([`principal_key`]): a role's sessions under the role (`role/deploy`),
//! an EC2 instance's under the instance where the session name is its id
//! (`instance/i-0a1b...`), an Identity Center person under their session
//! name (`sso/carol@example.com`), IAM users by name (`user/alice`), `root`.
//! AWS services acting for the account have no profile.
//!
//! # Dimensions
//!
//! Each key has one profile per [`Dimension`]: source networks (an IPv4 /24,
//! an IPv6 /48, `aws-internal` for AWS services and AWS-internal callers),
//! user-agent families (tool names without versions, [`agent_family`]),
//! regions, event sources, and the event names of the sensitive list
//! ([`Settings::sensitive_events`]). Every principal has all five; every
//! account its regions.
//!
//! # Bounds
//!
//! A profile holds at most [`MAX_VALUES`] values; past that the least
//! recently seen goes. A value not seen for the horizon (default 90 days,
//! [`Settings::horizon_secs`]) ages out: it is new again. A value is at
//! most [`MAX_VALUE_BYTES`] bytes. Stores bound their profiles too
//! ([`book::MAX_PROFILES`]); a file's batch its profiles and candidates
//! ([`batch::MAX_BATCH_PROFILES`], [`batch::MAX_CANDIDATES`]).
//!
//! # Layout
//!
//! - [`batch`]: what one log file saw, and the plan that settles it against
//!   the stored profiles (which values are new, which writes are needed).
//! - [`book`]: profiles in memory, saved to and loaded from a file (the CLI,
//!   the tests; the detection function imports such a file into DynamoDB).
//! - [`report`]: what was new in a window, and why.

pub mod batch;
pub mod book;
pub mod report;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use batch::{Batch, Plan, Verdict, Write};
pub use book::Book;

/// Values per profile, least recently seen dropped past it.
pub const MAX_VALUES: usize = 64;
/// The longest value kept (longer ones are cut at a character boundary).
pub const MAX_VALUE_BYTES: usize = 128;
/// The default horizon: a value not seen for 90 days is new again.
pub const DEFAULT_HORIZON_SECS: i64 = 90 * 86_400;
/// A known value's last-seen time is written again only once it moved this
/// far (a busy principal costs reads, not writes).
pub const LAST_SEEN_STEP_SECS: i64 = 86_400;
/// The network of AWS services and AWS-internal callers.
pub const AWS_INTERNAL: &str = "aws-internal";
/// The profile that holds when a key was first and last seen at all (its
/// learning period starts then).
pub const SEEN: &str = "seen";

/// The sensitive event names profiled by default: first uses worth an
/// alert (model invocation, shell access, instance passwords, bulk secrets).
pub const DEFAULT_SENSITIVE_EVENTS: [&str; 8] = [
    "InvokeModel",
    "InvokeModelWithResponseStream",
    "Converse",
    "ConverseStream",
    "StartSession",
    "SendCommand",
    "GetPasswordData",
    "BatchGetSecretValue",
];

/// What a profile holds values of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Network,
    UserAgent,
    Region,
    EventSource,
    SensitiveEvent,
    /// A selector's values, learned from one rule's matches.
    Field(String),
}

impl Dimension {
    /// The dimensions every principal has.
    pub const PRINCIPAL: [Dimension; 5] = [
        Dimension::Network,
        Dimension::UserAgent,
        Dimension::Region,
        Dimension::EventSource,
        Dimension::SensitiveEvent,
    ];

    /// A dimension name or a `$.` selector.
    pub fn parse(text: &str) -> Result<Dimension, String> {
        let text = text.trim();
        if text.starts_with('$') {
            let selector = crate::pattern::parse_selector(text).map_err(|e| format!("selector {text}: {}", e.kind))?;
            return Ok(Dimension::Field(selector.to_string()));
        }
        Ok(match text {
            "network" => Dimension::Network,
            "user_agent" => Dimension::UserAgent,
            "region" => Dimension::Region,
            "event_source" => Dimension::EventSource,
            "sensitive_event" => Dimension::SensitiveEvent,
            other => {
                return Err(format!(
                    "unknown dimension '{other}' (expected network, user_agent, region, event_source, \
                     sensitive_event or a $. selector)"
                ))
            }
        })
    }

    /// Its name in stores and reports.
    pub fn name(&self) -> &str {
        match self {
            Dimension::Network => "network",
            Dimension::UserAgent => "user_agent",
            Dimension::Region => "region",
            Dimension::EventSource => "event_source",
            Dimension::SensitiveEvent => "sensitive_event",
            Dimension::Field(selector) => selector,
        }
    }
}

/// Profile settings of the rule files (`[profiles]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A value not seen for this long is new again (`90d`).
    #[serde(default = "default_horizon")]
    pub horizon: String,
    /// Event names profiled besides [`DEFAULT_SENSITIVE_EVENTS`].
    #[serde(default)]
    pub sensitive_events: Vec<String>,
}

fn default_horizon() -> String {
    "90d".into()
}

impl Default for Settings {
    fn default() -> Self {
        Settings { horizon: default_horizon(), sensitive_events: Vec::new() }
    }
}

impl Settings {
    /// The horizon in seconds, checked: 1 to 400 days.
    pub fn horizon_secs(&self) -> Result<i64, String> {
        crate::threshold::duration_secs("profiles horizon", &self.horizon, 86_400..=400 * 86_400, "between 1d and 400d")
    }

    /// Whether an event name is profiled as sensitive.
    pub fn is_sensitive(&self, name: &str) -> bool {
        DEFAULT_SENSITIVE_EVENTS.contains(&name) || self.sensitive_events.iter().any(|s| s == name)
    }

    /// Another file's settings on top: its horizon when it sets one, its events added.
    pub fn merge(&mut self, other: &Settings) {
        if other.horizon != default_horizon() {
            self.horizon = other.horizon.clone();
        }
        for name in &other.sensitive_events {
            if !self.sensitive_events.contains(name) {
                self.sensitive_events.push(name.clone());
            }
        }
    }
}

/// A profile's address: its key and dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProfileId {
    /// `account` or `account|principal`.
    pub key: String,
    /// A [`Dimension`] name, or [`SEEN`].
    pub dimension: String,
}

impl ProfileId {
    pub fn new(key: &str, dimension: &str) -> ProfileId {
        ProfileId { key: key.to_string(), dimension: dimension.to_string() }
    }

    /// The key's first-and-last-seen profile.
    pub fn seen(key: &str) -> ProfileId {
        ProfileId::new(key, SEEN)
    }
}

/// When a value (or a key) was first and last seen, in seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub first: i64,
    pub last: i64,
    /// The batch (log file) that added the value: a retry of that batch
    /// finds its own value and alerts again, for the ledger to deduplicate.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
}

impl Seen {
    pub fn at(time: i64) -> Seen {
        Seen { first: time, last: time, origin: String::new() }
    }

    pub fn widen(&mut self, other: &Seen) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// One stored profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// When the profile was first written.
    pub since: i64,
    /// When any value was last seen (the store's expiry counts from it).
    pub last: i64,
    /// Value -> when it was seen (at most [`MAX_VALUES`]).
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, Seen>,
}

impl Profile {
    /// The value as known at `time`: `None` if absent or aged out.
    pub fn known(&self, value: &str, time: i64, horizon: i64) -> Option<&Seen> {
        self.values.get(value).filter(|seen| seen.last >= time - horizon)
    }
}

/// The size DynamoDB counts for a profile's item, as the detection function
/// lays it out (`key`, `dimension`, `since`, `last`, `expires`, and `v`
/// holding `{f, l, o}` per value): attribute names and values in bytes, a
/// number as its digits over two plus one, three bytes per map or list and
/// one per element. What read and write units are charged on.
pub fn item_bytes(id: &ProfileId, profile: &Profile) -> usize {
    let number = |n: i64| n.unsigned_abs().to_string().len().div_ceil(2) + 1;
    let mut size = "key".len() + id.key.len() + "dimension".len() + id.dimension.len();
    size += "since".len() + number(profile.since) + "last".len() + number(profile.last) + "expires".len() + 6;
    if !profile.values.is_empty() {
        size += 1 + 3;
        for (value, seen) in &profile.values {
            size += value.len() + 3 + 1 + number(seen.first) + 1 + number(seen.last) + 1 + seen.origin.len() + 3;
        }
    }
    size
}

/// The key of a principal within its account: `account|principal`.
pub fn principal_profile_key(account: &str, principal: &str) -> String {
    format!("{account}|{principal}")
}

/// The principal a record's identity stands for ([`self`] "Keys"), from its
/// type and ARN; `None` for AWS services and identities without an ARN.
pub fn principal_key(identity_type: Option<&str>, arn: Option<&str>) -> Option<String> {
    let arn = arn?;
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    let key = match (identity_type?, parts.next()?) {
        ("Root", _) => "root".to_string(),
        ("IAMUser", "user") => format!("user/{}", parts.next_back()?),
        ("AssumedRole", "assumed-role") => {
            let role = parts.next()?;
            let session = parts.next().unwrap_or_default();
            if is_instance_id(session) {
                format!("instance/{session}")
            } else if role.starts_with("AWSReservedSSO_") && !session.is_empty() {
                format!("sso/{session}")
            } else {
                format!("role/{role}")
            }
        }
        ("FederatedUser", "federated-user") => format!("federated/{}", parts.next()?),
        _ => return None,
    };
    Some(cut(&key).to_string())
}

/// `i-` and 8 or 17 hexadecimal digits (some tools write capitals).
fn is_instance_id(session: &str) -> bool {
    session
        .strip_prefix("i-")
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The network of a source address: `a.b.c.0/24`, `x:y:z::/48`,
/// [`AWS_INTERNAL`] for AWS services (`*.amazonaws.com`, `AWS Internal`,
/// an empty field), `other` for anything else.
pub fn network_of(source_ip: &str) -> String {
    let text = source_ip.trim();
    let lower = text.to_ascii_lowercase();
    if lower.is_empty() || lower == "aws internal" || lower.ends_with(".amazonaws.com") {
        return AWS_INTERNAL.into();
    }
    // Dotted quads with leading zeros (`035.249.253.232`), which the standard parser refuses.
    let octets: Vec<u8> = text.split('.').filter_map(|p| (p.len() <= 3).then(|| p.parse().ok()).flatten()).collect();
    if octets.len() == 4 && text.split('.').count() == 4 {
        return format!("{}.{}.{}.0/24", octets[0], octets[1], octets[2]);
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => network_of(&v4.to_string()),
            None => {
                let s = v6.segments();
                format!("{}/48", std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
        Err(_) => "other".to_string(),
    }
}

/// A user agent's family: the tool without its version (`aws-cli`,
/// `boto3`, `aws-sdk-java`, `terraform`, `console`, `browser`,
/// `aws-internal`), lowercase, at most 40 characters.
pub fn agent_family(agent: &str) -> String {
    let lower = agent.trim().trim_start_matches('[').to_ascii_lowercase();
    for (needle, family) in [
        ("terraform/", "terraform"),
        ("pulumi", "pulumi"),
        ("boto3/", "boto3"),
        ("aws-cli/", "aws-cli"),
        ("cloudformation", "cloudformation"),
    ] {
        if lower.contains(needle) {
            return family.into();
        }
    }
    if lower.is_empty() || lower == "aws internal" {
        return AWS_INTERNAL.into();
    }
    if lower == "console.amazonaws.com" || lower.starts_with("signin.amazonaws.com") {
        return "console".into();
    }
    if lower.ends_with(".amazonaws.com") {
        return AWS_INTERNAL.into();
    }
    if lower.starts_with("mozilla/") {
        return "browser".into();
    }
    let first = lower.split(|c: char| c.is_whitespace() || c == '/' || c == ']').next().unwrap_or_default();
    // `stratus-red-team_<uuid>`-like: a tool's name with a run id after `_`.
    let name = first.split('_').next().unwrap_or_default();
    let family: String =
        name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')).take(40).collect();
    if family.is_empty() {
        "other".into()
    } else {
        family
    }
}

/// A value cut to [`MAX_VALUE_BYTES`] at a character boundary.
pub fn cut(value: &str) -> &str {
    if value.len() <= MAX_VALUE_BYTES {
        return value;
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// The fields of a record a profile reads (from a record's facts or a finding).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sighting<'a> {
    /// The record's `eventTime`, as written (read by [`Sighting::time`] only
    /// where profiles are kept: a scan without them pays nothing for it).
    pub event_time: Option<&'a str>,
    pub account: Option<&'a str>,
    pub identity_type: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub region: Option<&'a str>,
    pub event_source: Option<&'a str>,
    pub event_name: Option<&'a str>,
}

impl<'a> Sighting<'a> {
    /// A record's, from the facts the engine extracted.
    pub fn of_facts(facts: &crate::record::RecordFacts<'a, '_>) -> Sighting<'a> {
        use crate::record::Fact;
        Sighting {
            event_time: facts.get(Fact::EventTime),
            account: facts.account_id(),
            identity_type: facts.get(Fact::IdentityType),
            arn: facts.get(Fact::IdentityArn),
            source_ip: facts.get(Fact::SourceIp),
            user_agent: facts.get(Fact::UserAgent),
            region: facts.get(Fact::Region),
            event_source: facts.get(Fact::EventSource),
            event_name: facts.get(Fact::EventName),
        }
    }

    /// A finding's (the same fields, copied into it).
    pub fn of_finding(f: &'a crate::Finding) -> Sighting<'a> {
        Sighting {
            event_time: f.event_time.as_deref(),
            account: f.account_id.as_deref(),
            identity_type: f.principal_type.as_deref(),
            arn: f.principal_arn.as_deref(),
            source_ip: f.source_ip.as_deref(),
            user_agent: f.user_agent.as_deref(),
            region: f.region.as_deref(),
            event_source: f.event_source.as_deref(),
            event_name: f.event_name.as_deref(),
        }
    }

    /// Seconds since the epoch (`None`: the record has no usable time and is not profiled).
    pub fn time(&self) -> Option<i64> {
        self.event_time.and_then(parse_time)
    }

    /// The principal's profile key, if it has one.
    pub fn principal(&self) -> Option<String> {
        let account = self.account.filter(|a| crate::facts::is_account_id(a))?;
        principal_key(self.identity_type, self.arn).map(|p| principal_profile_key(account, &p))
    }

    /// The account's profile key (a 12-digit account id).
    pub fn account_key(&self) -> Option<String> {
        self.account.filter(|a| crate::facts::is_account_id(a)).map(str::to_string)
    }

    /// The value of a built-in dimension (`None` for fields and absent values).
    pub fn value(&self, dimension: &Dimension, settings: &Settings) -> Option<String> {
        let value = match dimension {
            Dimension::Network => network_of(self.source_ip?),
            Dimension::UserAgent => agent_family(self.user_agent.unwrap_or_default()),
            Dimension::Region => crate::event::safe_region(self.region)?.to_string(),
            Dimension::EventSource => cut(self.event_source?).to_string(),
            Dimension::SensitiveEvent => Some(self.event_name?).filter(|n| settings.is_sensitive(n))?.to_string(),
            Dimension::Field(_) => return None,
        };
        Some(value)
    }
}

/// An RFC 3339 time as seconds since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests;
