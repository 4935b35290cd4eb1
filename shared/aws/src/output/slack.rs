//! The Slack output: a Block Kit message through an incoming webhook.
//!
//! The message is an attachment whose bar is the severity's colour, holding
//! blocks: a header (the title), the facts (severity, principal, source IP,
//! account and region, count), what happened, what to do, a button to the
//! event in the CloudTrail console, and a context line (rule, source).
//! Text from records is display-safe already; here `&`, `<` and `>` are
//! escaped too, so no value can mention `@channel`, link elsewhere or
//! format itself. Slack's limits are kept: header 150 characters, section
//! text 3,000, field text 2,000, at most 10 fields.

use serde_json::{json, Value};
use trailwatch_core::alert::{short_principal, Alert, AlertKind};
use trailwatch_core::finding::cut;
use trailwatch_core::Severity;

use super::http::{json_body, Endpoint};
use super::{Message, Output, Sent};

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3_000;
const FIELD_MAX: usize = 2_000;

/// The attachment bar's colour per severity.
pub fn colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#8b0000",
        Severity::High => "#e01e5a",
        Severity::Medium => "#ecb22e",
        Severity::Low => "#2eb6ec",
        Severity::Info => "#9e9e9e",
    }
}

/// Slack's mrkdwn control characters as entities.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Escaped and cut to `max` bytes (on a character boundary, marked `...`).
fn text(value: &str, max: usize) -> String {
    let escaped = escape(value);
    if escaped.len() <= max {
        return escaped;
    }
    let mut short = cut(&escaped, max - 3);
    // Never end inside an entity.
    if let Some(amp) = short.rfind('&').filter(|&i| !short[i..].contains(';')) {
        short.truncate(amp);
    }
    short + "..."
}

fn plain(value: &str, max: usize) -> Value {
    let value = if value.chars().count() > max {
        value.chars().take(max - 3).collect::<String>() + "..."
    } else {
        value.to_string()
    };
    json!({"type": "plain_text", "text": value, "emoji": false})
}

fn section(title: &str, body: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text(&format!("*{title}*\n{body}"), SECTION_MAX)}})
}

fn fact(name: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": text(&format!("*{name}*\n{value}"), FIELD_MAX)})
}

/// The Block Kit payload for one alert.
pub fn render(alert: &Alert) -> Value {
    let severity = alert.severity.as_str().to_uppercase();
    let who = alert.principal.as_deref().map(short_principal);
    let by = who.map(|who| format!(" by {who}")).unwrap_or_default();
    let place = if alert.account_id.is_none() && alert.region.is_none() {
        String::new()
    } else {
        format!(" in {}", alert.where_text())
    };
    let fallback = format!("[{severity}] {}{by}{place}", alert.title);
    let mut blocks = vec![json!({"type": "header", "text": plain(&alert.title, HEADER_MAX)})];
    if alert.possible_repeat {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": "Sent again after an interrupted attempt: it may repeat a message already posted."}]}));
    }
    let mut facts = vec![fact("Severity", &severity)];
    if alert.kind != AlertKind::Summary {
        facts.push(fact("Account / region", &alert.where_text()));
    }
    if let Some(principal) = &alert.principal {
        facts.push(fact("Principal", principal));
    }
    if let Some(ip) = &alert.source_ip {
        facts.push(fact("Source IP", ip));
    }
    if matches!(alert.kind, AlertKind::Finding | AlertKind::FollowUp) {
        facts.push(fact("Events", &alert.count.to_string()));
    }
    blocks.push(json!({"type": "section", "fields": facts}));
    if !alert.what_happened.is_empty() {
        blocks.push(section("What happened", &alert.what_happened));
    }
    if !alert.details.is_empty() {
        // Preformatted: a code block, cut to fit one section.
        let body = text(&alert.details, SECTION_MAX - 8);
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("```{body}```")}}));
    }
    if !alert.what_to_do.is_empty() {
        blocks.push(section("What to do", &alert.what_to_do));
    }
    if let Some(link) = alert.link() {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button", "text": plain("Open in CloudTrail", 75), "url": link, "action_id": "open-event"}]}));
    }
    let mut context = format!("Rule `{}`", alert.rule);
    if let Some(source) = &alert.source {
        context.push_str(&format!(" · {source}"));
    }
    context.push_str(" · trailwatch");
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text(&context, SECTION_MAX)}]}));
    json!({
        "text": text(&fallback, SECTION_MAX),
        "attachments": [{"color": colour(alert.severity), "blocks": blocks}],
    })
}

/// Posts to one Slack incoming webhook.
#[derive(Clone, Debug)]
pub struct SlackOutput {
    endpoint: Endpoint,
}

impl SlackOutput {
    pub fn new(endpoint: Endpoint) -> Self {
        SlackOutput { endpoint }
    }
}

impl Output for SlackOutput {
    fn name(&self) -> &str {
        "slack"
    }

    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a> {
        Box::pin(
            self.endpoint.post_each(messages, |m: &Message| Ok((json_body("slack", &render(&m.alert))?, Vec::new()))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_core::alert::AlertKind;

    #[test]
    fn record_text_cannot_mention_link_or_break_limits() {
        let mut alert = Alert::new("x", AlertKind::Finding, Severity::High, "r", &"t".repeat(500));
        alert.principal = Some("<!channel> <https://evil.example|click> & co".into());
        alert.what_happened = "é".repeat(5_000);
        let payload = render(&alert).to_string();
        assert!(!payload.contains("<!channel>") && !payload.contains("<https://evil"), "{payload}");
        assert!(payload.contains("&lt;!channel&gt;"));
        let blocks = &render(&alert)["attachments"][0]["blocks"];
        assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= HEADER_MAX);
        for block in blocks.as_array().unwrap() {
            if let Some(t) = block["text"]["text"].as_str() {
                assert!(t.len() <= SECTION_MAX, "{}", t.len());
            }
        }
    }

    #[test]
    fn cutting_never_leaves_half_an_entity() {
        let long = format!("{}<", "a".repeat(SECTION_MAX - 5));
        let cut = text(&long, SECTION_MAX - 3);
        assert!(cut.ends_with("...") && !cut.contains("&l..."), "{}", &cut[cut.len() - 10..]);
    }
}
