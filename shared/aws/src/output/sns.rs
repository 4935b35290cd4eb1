//! The SNS output: alerts as e-mail-shaped text (a subject under 100 ASCII
//! characters, a plain-text body under SNS's 256 KB, message attributes for
//! subscription filter policies), up to 10 in one `PublishBatch`.

use std::fmt::Write as _;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use trailwatch_core::alert::{short_principal, Alert, AlertEvent, AlertKind};
use trailwatch_core::text::ascii_line;

use super::{Message, Output, Sent};
use crate::ports::{Failure, FailureKind, Result};
use crate::s3::classify;

/// SNS takes subjects under 100 characters.
pub const MAX_SUBJECT: usize = 99;
/// SNS takes 262,144 bytes including attributes; keep a margin.
pub const MAX_BODY: usize = 240_000;

/// An alert as an e-mail: subject, body and SNS message attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
    /// `severity`, `rule`, `account_id`, `kind` (and `possible_repeat`);
    /// publishing adds `sent_at`.
    pub attributes: Vec<(String, String)>,
}

/// Renders an alert as an e-mail.
pub fn render(alert: &Alert) -> Email {
    Email { subject: subject(alert), body: cap_body(body(alert)), attributes: attributes(alert) }
}

fn subject(alert: &Alert) -> String {
    if alert.kind == AlertKind::Summary {
        return ascii_line(&alert.title, MAX_SUBJECT);
    }
    let head = format!("[{}] {}", alert.severity.as_str().to_uppercase(), alert.title);
    let place = matches!(alert.kind, AlertKind::Notice) && alert.account_id.is_none() && alert.region.is_none();
    let tail = if place { String::new() } else { format!(" in {}", alert.where_text()) };
    match alert.principal.as_deref().map(short_principal) {
        // Who, when it fits: the place matters more, so it is never cut for the name.
        Some(who) if head.len() + tail.len() + who.len() + 4 <= MAX_SUBJECT => {
            ascii_line(&format!("{head} by {who}{tail}"), MAX_SUBJECT)
        }
        _ => ascii_line(&format!("{head}{tail}"), MAX_SUBJECT),
    }
}

fn body(alert: &Alert) -> String {
    let mut body = String::new();
    if alert.possible_repeat {
        body.push_str(
            "Note: sent again after an interrupted attempt; it may repeat a message you already received.\n\n",
        );
    }
    if alert.kind == AlertKind::Summary {
        body.push_str(&alert.details);
        return body;
    }
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(body, "{} ({} severity)", alert.title, alert.severity);
    if matches!(alert.kind, AlertKind::Finding | AlertKind::FollowUp) {
        let _ = writeln!(
            body,
            "{} event{} by {} in account {}, region {}.",
            alert.count,
            if alert.count == 1 { "" } else { "s" },
            show(&alert.principal),
            show(&alert.account_id),
            show(&alert.region)
        );
    }
    if !alert.what_happened.is_empty() {
        let _ = writeln!(body, "\nWhat happened\n{}", indent(&alert.what_happened));
    }
    if !alert.details.is_empty() {
        let _ = writeln!(body, "\n{}", alert.details.trim_end());
    }
    if !alert.what_to_do.is_empty() {
        let _ = writeln!(body, "\nWhat to do\n{}", indent(&alert.what_to_do));
    }
    if !alert.events.is_empty() {
        let _ = writeln!(body, "\nEvents");
        for (n, e) in alert.events.iter().enumerate() {
            event_block(&mut body, n + 1, e);
        }
        if alert.more_events > 0 {
            let _ = writeln!(body, "\n  ... and {} more events like these.", alert.more_events);
        }
    }
    if let Some(source) = &alert.source {
        let label = if alert.kind == AlertKind::Integrity { "Digest file" } else { "Log file" };
        let _ = writeln!(body, "\n{label}: {source}");
    }
    let tags = if alert.tags.is_empty() { String::new() } else { format!(". Tags: {}", alert.tags.join(", ")) };
    let origin = if alert.origin.is_empty() { String::new() } else { format!(" ({})", alert.origin) };
    let _ = writeln!(body, "\nRule {}{origin}{tags}.\n-- trailwatch", alert.rule);
    body
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

fn event_block(body: &mut String, n: usize, e: &AlertEvent) {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(body, "\n {n:>2}. {}  {} ({})", show(&e.time), show(&e.name), show(&e.source));
    let _ = writeln!(body, "     Principal:  {} ({})", show(&e.principal), show(&e.principal_type));
    let _ = writeln!(body, "     Account:    {}  Region: {}", show(&e.account_id), show(&e.region));
    let _ = writeln!(body, "     Source IP:  {}", show(&e.source_ip));
    let _ = writeln!(body, "     User agent: {}", show(&e.user_agent));
    if let Some(mfa) = &e.mfa_used {
        let _ = writeln!(body, "     MFA used:   {mfa}");
    }
    let _ = writeln!(body, "     Outcome:    {}", e.outcome);
    if let Some(request) = &e.request {
        let _ = writeln!(body, "     Request:    {request}");
    }
    for (i, m) in e.matched.iter().enumerate() {
        let label = if i == 0 { "Matched:" } else { "" };
        let _ = writeln!(body, "     {label:<11} {} = {}", m.field, m.values.join(", "));
    }
    let _ = writeln!(body, "     Event ID:   {}", show(&e.event_id));
    if let Some(link) = &e.link {
        let _ = writeln!(body, "     Console:    {link}");
    }
    let _ = writeln!(body, "     Record:     {} in the log file", e.record);
}

fn cap_body(body: String) -> String {
    if body.len() <= MAX_BODY {
        return body;
    }
    let mut cut = trailwatch_core::finding::cut(&body, MAX_BODY - 100);
    cut.push_str("\n\n[message cut to fit SNS's size limit]\n");
    cut
}

/// Message attributes subscribers can filter on.
fn attributes(alert: &Alert) -> Vec<(String, String)> {
    let mut attributes = vec![
        ("severity".into(), alert.severity.as_str().into()),
        ("rule".into(), ascii_line(&alert.rule, 128)),
        ("account_id".into(), alert.account_id.clone().unwrap_or_else(|| "unknown".into())),
        ("kind".into(), if alert.kind == AlertKind::Summary { "summary" } else { "alert" }.into()),
    ];
    if alert.possible_repeat {
        attributes.push(("possible_repeat".into(), "true".into()));
    }
    attributes
}

/// Now, in RFC 3339 to the millisecond: the `sent_at` attribute of every
/// message (when trailwatch handed it to SNS; subscribers measure time to
/// alert from the event's time to it).
fn sent_at() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

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
    name: String,
}

impl SnsSink {
    /// The output `sns`; [`SnsSink::named`] for a second topic.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsSink { client, topic_arn: topic_arn.into(), name: "sns".into() }
    }

    /// The same output under another name (ledger ids and rate slots are
    /// per name, so each topic is sent to once and capped on its own).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    async fn publish(&self, messages: &[Message]) -> Result<Vec<Result<()>>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        if messages.len() > 10 {
            return Err(Failure::new(FailureKind::Permanent, "PublishBatch takes at most 10 messages"));
        }
        let mut request = self.client.publish_batch().topic_arn(&self.topic_arn);
        let sent_at = attribute(&sent_at())?;
        for (i, message) in messages.iter().enumerate() {
            let email = render(&message.alert);
            let mut entry = PublishBatchRequestEntry::builder()
                .id(format!("a{i}"))
                .subject(email.subject)
                .message(email.body)
                .message_attributes("sent_at", sent_at.clone());
            for (name, value) in &email.attributes {
                entry = entry.message_attributes(name, attribute(value)?);
            }
            request = request.publish_batch_request_entries(
                entry.build().map_err(|e| Failure::new(FailureKind::Permanent, e.to_string()))?,
            );
        }
        let what = format!("PublishBatch {}", self.topic_arn);
        let out = request.send().await.map_err(|e| classify(&what, e))?;
        let mut results: Vec<Result<()>> = vec![Ok(()); messages.len()];
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

impl Output for SnsSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_batch(&self) -> usize {
        10
    }

    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a> {
        Box::pin(self.publish(messages))
    }
}
