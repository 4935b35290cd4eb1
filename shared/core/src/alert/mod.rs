//! Alerts as data: what an output needs to tell a person what happened.
//!
//! The core decides *what* to say (severity, title, who, where, what
//! happened, what to do, the events); each output adapter decides *how*
//! (an e-mail subject and body for SNS, Block Kit for Slack, a JSON document
//! for webhooks) and enforces its own limits. Every text field here is
//! display-safe already: values from records are attacker-controlled, so
//! they are cut to a bounded length and control, line-breaking and
//! bidirectional characters are shown as escapes ([`crate::text::printable`]).
//! Adapters still escape what their own format treats as markup.

mod build;
mod first_seen;
#[cfg(test)]
mod tests;
mod threshold;

use serde::{Deserialize, Serialize};

pub use self::build::{alerts_for_file, alerts_for_groups, group_alert, notice};
pub use self::first_seen::{first_seen_alert, when};
pub use self::threshold::threshold_alert;
pub use crate::event::{console_link, field, safe_region, AlertEvent, Matched, FIELD_MAX};
pub use crate::grouped::AlertLimits;
use crate::rule::Severity;
use crate::text::printable;

/// A paragraph's longest form (descriptions, runbooks).
pub const PARAGRAPH_MAX: usize = 4_000;
/// The preformatted details' longest form; adapters cut further.
pub const DETAILS_MAX: usize = 200_000;

/// The log file the alerts are about.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    /// `s3://bucket/key` or a path.
    pub source: &'a str,
    pub account_id: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// One rule's matches by one principal.
    Finding,
    /// Repeats folded while a dedup window was open, sent when it closed.
    FollowUp,
    /// The finding groups of a file past the per-file alert cap, in one
    /// alert (`digest` on the wire, as it always was).
    #[serde(rename = "digest")]
    Overflow,
    /// A log file that could not be read whole.
    Unreadable,
    /// A CloudTrail digest that failed validation.
    Integrity,
    /// The periodic summary.
    Summary,
    /// Something about trailwatch itself (rules that did not load).
    Notice,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Finding => "finding",
            AlertKind::FollowUp => "follow-up",
            AlertKind::Overflow => "digest",
            AlertKind::Unreadable => "unreadable",
            AlertKind::Integrity => "integrity",
            AlertKind::Summary => "summary",
            AlertKind::Notice => "notice",
        }
    }
}

/// One message to send, in no channel's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable for what it is about: `rule|principal`, `digest`, `problems`,
    /// `integrity`, a window id. With the object it came from, it names the
    /// alert in the exactly-once ledger.
    pub id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    /// The rule id, or what stands for one (`log-integrity`, `summary`).
    pub rule: String,
    /// One line: what it is, with a count when more than one.
    pub title: String,
    pub principal: Option<String>,
    /// A 12-digit account id, or `None`.
    pub account_id: Option<String>,
    /// A region name (`us-east-1`-like), or `None`.
    pub region: Option<String>,
    pub source_ip: Option<String>,
    /// How many events it stands for.
    pub count: u64,
    pub what_happened: String,
    pub what_to_do: String,
    pub events: Vec<AlertEvent>,
    /// Events counted but not listed.
    pub more_events: u64,
    /// Preformatted text (a table, a report) shown as is.
    pub details: String,
    /// The log file (or digest) it came from.
    pub source: Option<String>,
    pub tags: Vec<String>,
    /// Where the rule came from (`built-in` or a file).
    pub origin: String,
    /// Sent again after an attempt whose outcome is unknown: it may repeat
    /// a message already received.
    pub possible_repeat: bool,
}

impl Alert {
    /// An alert with the given identity and everything else empty; account
    /// and region are kept only when well-formed.
    pub fn new(id: impl Into<String>, kind: AlertKind, severity: Severity, rule: &str, title: &str) -> Alert {
        Alert {
            id: id.into(),
            kind,
            severity,
            rule: printable(rule, 128).into_owned(),
            title: printable(title, FIELD_MAX).into_owned(),
            principal: None,
            account_id: None,
            region: None,
            source_ip: None,
            count: 1,
            what_happened: String::new(),
            what_to_do: String::new(),
            events: Vec::new(),
            more_events: 0,
            details: String::new(),
            source: None,
            tags: Vec::new(),
            origin: String::new(),
            possible_repeat: false,
        }
    }

    /// Sets where it happened (kept only when well-formed).
    pub fn at(mut self, account_id: Option<&str>, region: Option<&str>) -> Alert {
        self.account_id = safe_account(account_id).map(str::to_string);
        self.region = safe_region(region).map(str::to_string);
        self
    }

    pub fn with_text(mut self, what_happened: &str, what_to_do: &str) -> Alert {
        self.what_happened = paragraph(what_happened);
        self.what_to_do = paragraph(what_to_do);
        self
    }

    pub fn with_details(mut self, details: String) -> Alert {
        self.details = cut_details(details);
        self
    }

    pub fn with_source(mut self, source: &str) -> Alert {
        self.source = Some(printable(source, 2000).into_owned());
        self
    }

    /// "account (region)", with placeholders for what is unknown.
    pub fn where_text(&self) -> String {
        where_text(self.account_id.as_deref(), self.region.as_deref())
    }

    /// The first event's console link.
    pub fn link(&self) -> Option<&str> {
        self.events.iter().find_map(|e| e.link.as_deref())
    }
}

/// A paragraph: line breaks kept, everything else display-safe.
pub fn paragraph(text: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.lines().take(100).enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&printable(line, PARAGRAPH_MAX));
    }
    crate::finding::cut(&out, PARAGRAPH_MAX)
}

/// Preformatted text is built by trailwatch from display-safe parts; this
/// only bounds it.
pub(crate) fn cut_details(details: String) -> String {
    if details.len() <= DETAILS_MAX {
        return details;
    }
    let mut cut = crate::finding::cut(&details, DETAILS_MAX - 100);
    cut.push_str("\n[cut]\n");
    cut
}

/// A 12-digit account id.
pub fn safe_account(account: Option<&str>) -> Option<&str> {
    account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// A principal's short name: `alice` for an IAM user, `role/session` for
/// an assumed role, `root`, or the value itself when it is not an ARN.
pub fn short_principal(principal: &str) -> &str {
    let Some(resource) = principal.strip_prefix("arn:").and_then(|rest| rest.splitn(5, ':').nth(4)) else {
        return principal;
    };
    if let Some(user) = resource.strip_prefix("user/") {
        return user.rsplit('/').next().unwrap_or(user);
    }
    ["assumed-role/", "role/", "federated-user/"].iter().find_map(|p| resource.strip_prefix(p)).unwrap_or(resource)
}

/// "account (region)", with placeholders for what is unknown.
pub fn where_text(account: Option<&str>, region: Option<&str>) -> String {
    format!("{} ({})", account.unwrap_or("unknown account"), region.unwrap_or("unknown region"))
}

/// The messages the detection function sends for one (rule, principal,
/// account)'s match times (seconds) with a dedup window of `window`
/// seconds: an alert per window, and a follow-up for each window with
/// repeats.
pub fn dedup_messages(times: &mut [i64], window: i64) -> u64 {
    times.sort_unstable();
    let (mut sent, mut open, mut repeats) = (0, None::<i64>, false);
    for &t in times.iter() {
        match open {
            Some(start) if t < start + window => repeats = true,
            _ => {
                sent += 1 + u64::from(repeats);
                open = Some(t);
                repeats = false;
            }
        }
    }
    sent + u64::from(repeats)
}
