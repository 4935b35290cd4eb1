//! Turning one log file's findings into readable alerts.
//!
//! Findings are grouped by rule and principal, so that one person doing one
//! thing forty times makes one e-mail, not forty. A file never yields more
//! than [`AlertLimits::max_alerts`] messages (the rest fold into a last
//! digest alert), which keeps a burst under SNS's 10 messages per second per
//! e-mail endpoint. Every value from a record is attacker-controlled: subjects
//! are reduced to single-line ASCII, bodies show control characters as
//! escapes, and console links are built from checked parts only.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::Error;
use crate::finding::Finding;
use crate::grouped::{Group, Grouped, MAX_GROUPS};
use crate::rule::Severity;
use crate::text::{ascii_line, printable};

/// What stays literal in a console link's event id: letters, digits, `-_.`.
const LINK_ID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// SNS caps subjects below 100 characters.
pub const MAX_SUBJECT: usize = 99;
/// SNS caps a message at 262,144 bytes including attributes; keep a margin.
pub const MAX_BODY: usize = 240_000;
const FIELD_MAX: usize = 400;

/// Bounds on what one log file may send.
#[derive(Debug, Clone, Copy)]
pub struct AlertLimits {
    /// Messages per file, digest and problem alert included (SNS PublishBatch takes 10).
    pub max_alerts: usize,
    /// Events listed in full in one alert; the rest are counted.
    pub max_events: usize,
}

impl Default for AlertLimits {
    fn default() -> Self {
        AlertLimits { max_alerts: 10, max_events: 20 }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable within a file: `rule|principal`, `digest` or `problems`. Used to
    /// remember which alerts of a file were already published.
    pub id: String,
    pub severity: Severity,
    pub subject: String,
    pub body: String,
    /// SNS message attributes: severity, rule, account_id, kind.
    pub attributes: Vec<(String, String)>,
}

/// The log file the alerts are about.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    /// `s3://bucket/key` or a path.
    pub source: &'a str,
    pub account_id: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// Builds the alerts for one file from collected findings (tests, the CLI);
/// the detection function groups as it scans ([`Grouped`]) and calls
/// [`alerts_for_groups`].
pub fn alerts_for_file(
    file: FileContext<'_>,
    findings: &[Finding],
    problems: &[Error],
    complete: bool,
    limits: AlertLimits,
) -> Vec<Alert> {
    alerts_for_groups(file, &Grouped::of(findings, problems, limits), complete, limits)
}

/// The alerts for one file: a group alert per (rule, principal), most severe
/// first; a digest when there are more groups than fit; and an alert of its
/// own when the file could not be read whole.
pub fn alerts_for_groups(file: FileContext<'_>, grouped: &Grouped, complete: bool, limits: AlertLimits) -> Vec<Alert> {
    let groups = grouped.groups();
    let mut alerts = Vec::new();
    let problem_slot = usize::from(grouped.problem_count > 0);
    let room = limits.max_alerts.saturating_sub(problem_slot).max(1);
    let folded = groups.len() > room || !grouped.overflow.is_empty();
    let (full, rest) = if folded { groups.split_at((room - 1).min(groups.len())) } else { (&groups[..], &[][..]) };
    for group in full {
        alerts.push(group_alert(file, group, limits));
    }
    if folded {
        alerts.push(digest_alert(file, rest, grouped));
    }
    if grouped.problem_count > 0 {
        alerts.push(problem_alert(file, &grouped.problems, grouped.problem_count, complete));
    }
    alerts
}

pub(crate) fn attributes(severity: Severity, rule: &str, account: Option<&str>, kind: &str) -> Vec<(String, String)> {
    let account = account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).unwrap_or("unknown");
    vec![
        ("severity".into(), severity.as_str().into()),
        ("rule".into(), ascii_line(rule, 128)),
        ("account_id".into(), account.into()),
        ("kind".into(), kind.into()),
    ]
}

fn show(value: Option<&str>) -> String {
    printable(value.unwrap_or("-"), FIELD_MAX).into_owned()
}

/// `us-east-1`-like: lowercase letters, digits and dashes only.
fn safe_region(region: Option<&str>) -> Option<&str> {
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

pub(crate) fn where_text(account: Option<&str>, region: Option<&str>) -> String {
    format!("{} ({})", account.unwrap_or("unknown account"), region.unwrap_or("unknown region"))
}

fn group_alert(file: FileContext<'_>, group: &Group, limits: AlertLimits) -> Alert {
    let first = group.first();
    let rule = &first.rule;
    let count = group.count as usize;
    let account = first.account_id.as_deref().or(file.account_id);
    let region = first.region.as_deref().or(file.region);
    let times = if count > 1 { format!(" x{count}") } else { String::new() };
    let head = format!("[{}] {}{times}", rule.severity.as_str().to_uppercase(), rule.title);
    let tail = format!(" in {}", where_text(account, region));
    let subject = match first.principal_arn.as_deref().map(short_principal) {
        // Who, when it fits: the place matters more, so it is never cut for the name.
        Some(who) if head.len() + tail.len() + who.len() + 4 <= MAX_SUBJECT => {
            ascii_line(&format!("{head} by {who}{tail}"), MAX_SUBJECT)
        }
        _ => ascii_line(&format!("{head}{tail}"), MAX_SUBJECT),
    };

    let mut body = String::new();
    let _ = writeln!(body, "{} ({} severity)", rule.title, rule.severity);
    let _ = writeln!(
        body,
        "{count} event{} by {} in account {}, region {}.",
        if count == 1 { "" } else { "s" },
        show(first.principal_arn.as_deref()),
        show(account),
        show(region)
    );
    let _ = writeln!(body, "\nWhat happened\n  {}", rule.description);
    if !rule.runbook.is_empty() {
        let _ = writeln!(body, "\nWhat to do\n  {}", rule.runbook);
    }
    let _ = writeln!(body, "\nEvents");
    for (n, f) in group.samples.iter().take(limits.max_events).enumerate() {
        event_block(&mut body, n + 1, f);
    }
    let shown = group.samples.len().min(limits.max_events);
    if count > shown {
        let _ = writeln!(body, "\n  ... and {} more events like these in the same log file.", count - shown);
    }
    let _ = writeln!(body, "\nLog file: {}", printable(file.source, 2000));
    footer(&mut body, &rule.id, &rule.origin, &rule.tags);
    Alert {
        id: format!("{}|{}", rule.id, first.principal_arn.as_deref().unwrap_or("")),
        severity: rule.severity,
        subject,
        body: cap_body(body),
        attributes: attributes(rule.severity, &rule.id, account, "alert"),
    }
}

fn event_block(body: &mut String, n: usize, f: &Finding) {
    let _ = writeln!(
        body,
        "\n {n:>2}. {}  {} ({})",
        show(f.event_time.as_deref()),
        show(f.event_name.as_deref()),
        show(f.event_source.as_deref())
    );
    let _ =
        writeln!(body, "     Principal:  {} ({})", show(f.principal_arn.as_deref()), show(f.principal_type.as_deref()));
    let _ = writeln!(body, "     Account:    {}  Region: {}", show(f.account_id.as_deref()), show(f.region.as_deref()));
    let _ = writeln!(body, "     Source IP:  {}", show(f.source_ip.as_deref()));
    let _ = writeln!(body, "     User agent: {}", show(f.user_agent.as_deref()));
    if let Some(mfa) = &f.mfa_used {
        let _ = writeln!(body, "     MFA used:   {}", show(Some(mfa)));
    }
    let _ = writeln!(body, "     Outcome:    {}", printable(&f.outcome.to_string(), FIELD_MAX));
    if let Some(params) = &f.request_parameters {
        let _ = writeln!(body, "     Request:    {}", printable(params, 2100));
    }
    let _ = writeln!(body, "     Event ID:   {}", show(f.event_id.as_deref()));
    if let Some(link) = console_link(f.region.as_deref(), f.event_id.as_deref()) {
        let _ = writeln!(body, "     Console:    {link}");
    }
    let _ = writeln!(body, "     Record:     {} in the log file", f.record_index);
}

fn footer(body: &mut String, rule_id: &str, origin: &str, tags: &[String]) {
    let tags = if tags.is_empty() { String::new() } else { format!(". Tags: {}", tags.join(", ")) };
    let _ = writeln!(body, "\nRule {rule_id} ({origin}){tags}.\n-- trailwatch");
}

fn digest_alert(file: FileContext<'_>, groups: &[&Group], grouped: &Grouped) -> Alert {
    let overflow = grouped.overflow.values();
    let severity = groups
        .iter()
        .map(|g| g.first().rule.severity)
        .chain(overflow.clone().map(|o| o.severity))
        .max()
        .unwrap_or(Severity::Info);
    let total: u64 = groups.iter().map(|g| g.count).sum::<u64>() + overflow.map(|o| o.count).sum::<u64>();
    let subject = ascii_line(
        &format!(
            "[{}] {total} more findings ({} groups) in {}",
            severity.as_str().to_uppercase(),
            groups.len(),
            where_text(file.account_id, file.region)
        ),
        MAX_SUBJECT,
    );
    let mut body = String::new();
    let _ = writeln!(body, "This log file produced more finding groups than trailwatch sends one by one.");
    let _ = writeln!(
        body,
        "These are the rest, one line per rule and principal (count, severity, rule, principal, first event ID):\n"
    );
    for g in groups {
        let f = g.first();
        let _ = writeln!(
            body,
            "  {:>5}  {:<8}  {}  {}  {}",
            g.count,
            f.rule.severity.as_str(),
            f.rule.id,
            show(f.principal_arn.as_deref()),
            show(f.event_id.as_deref())
        );
    }
    if !grouped.overflow.is_empty() {
        let _ = writeln!(body, "\nFindings past the first {MAX_GROUPS} groups, counted by rule:\n");
        for (rule, o) in &grouped.overflow {
            let _ = writeln!(body, "  {:>5}  {:<8}  {rule}", o.count, o.severity.as_str());
        }
    }
    let _ = writeln!(body, "\nLog file: {}", printable(file.source, 2000));
    let _ = writeln!(body, "Run `trailwatch scan` on the file for every detail.\n-- trailwatch");
    Alert {
        id: "digest".into(),
        severity,
        subject,
        body: cap_body(body),
        attributes: attributes(severity, "digest", file.account_id, "alert"),
    }
}

fn problem_alert(file: FileContext<'_>, problems: &[Error], total: u64, complete: bool) -> Alert {
    let severity = Severity::Medium;
    let what = if complete { "CloudTrail log file with unreadable records" } else { "Unreadable CloudTrail log file" };
    let subject = ascii_line(&format!("[MEDIUM] {what} in {}", where_text(file.account_id, file.region)), MAX_SUBJECT);
    let mut body = String::new();
    let _ = writeln!(body, "{what}\n\nLog file: {}\n", printable(file.source, 2000));
    let _ = writeln!(
        body,
        "CloudTrail writes well-formed files. A file that cannot be read may have been damaged in storage or\n\
         tampered with; the records named below were not checked by any rule{}.",
        if complete { "" } else { ", nor was anything after the first fatal problem" }
    );
    let _ = writeln!(body, "\nProblems ({total}):");
    for p in problems.iter().take(50) {
        let _ = writeln!(body, "  - {}", printable(&p.to_string(), 1000));
    }
    if total > problems.len().min(50) as u64 {
        let _ = writeln!(body, "  ... and {} more.", total - problems.len().min(50) as u64);
    }
    let _ = writeln!(
        body,
        "\nWhat to do\n  Validate the file against its digest (aws cloudtrail validate-logs), compare it with the\n  \
         trail's other copies if any, and find out who could write to the bucket.\n-- trailwatch"
    );
    Alert {
        id: "problems".into(),
        severity,
        subject,
        body: cap_body(body),
        attributes: attributes(severity, "unreadable-log-file", file.account_id, "alert"),
    }
}

pub(crate) fn cap_body(body: String) -> String {
    if body.len() <= MAX_BODY {
        return body;
    }
    let mut cut = crate::finding::cut(&body, MAX_BODY - 100);
    cut.push_str("\n\n[message cut to fit SNS's size limit]\n");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Collect, Engine, EngineOptions};
    use crate::rule::RuleSet;

    fn scan(records: &[String]) -> Collect {
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let mut sink = Collect::default();
        engine.scan("s3://logs/k.json.gz", std::io::Cursor::new(text.into_bytes()), &mut sink);
        sink
    }

    fn denied(principal: &str, id: usize) -> String {
        format!(
            r#"{{"eventName":"ListUsers","eventSource":"iam.amazonaws.com","errorCode":"AccessDenied","awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"ev-{id}","userIdentity":{{"type":"IAMUser","arn":"{principal}"}}}}"#
        )
    }

    const FILE: FileContext<'static> =
        FileContext { source: "s3://logs/k.json.gz", account_id: Some("123456789012"), region: Some("us-east-1") };

    #[test]
    fn groups_by_rule_and_principal_and_lists_every_event_id() {
        let records: Vec<String> = (0..5)
            .map(|i| denied("arn:aws:iam::123456789012:user/a", i))
            .chain([denied("arn:aws:iam::123456789012:user/b", 9)])
            .collect();
        let sink = scan(&records);
        let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].subject, "[LOW] Unauthorized API call x5 by a in 123456789012 (us-east-1)");
        for i in 0..5 {
            assert!(alerts[0].body.contains(&format!("Event ID:   ev-{i}")), "{}", alerts[0].body);
        }
        assert!(alerts[0]
            .body
            .contains("https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/ev-0"));
        assert!(alerts[1].body.contains("ev-9"));
        assert_eq!(
            alerts[0].attributes,
            vec![
                ("severity".into(), "low".into()),
                ("rule".into(), "cis-cloudwatch-2-unauthorized-api-calls".into()),
                ("account_id".into(), "123456789012".into()),
                ("kind".into(), "alert".into())
            ]
        );
    }

    #[test]
    fn caps_events_per_alert_and_alerts_per_file() {
        let many: Vec<String> = (0..50).map(|i| denied("arn:aws:iam::123456789012:user/a", i)).collect();
        let sink = scan(&many);
        let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].body.contains("... and 30 more events"));

        let spread: Vec<String> = (0..25).map(|i| denied(&format!("arn:aws:iam::123456789012:user/u{i}"), i)).collect();
        let sink = scan(&spread);
        let problems = vec![Error::new(crate::ErrorKind::InvalidUtf8)];
        let alerts = alerts_for_file(FILE, &sink.findings, &problems, true, AlertLimits::default());
        assert_eq!(alerts.len(), 10);
        assert_eq!(alerts[8].id, "digest");
        assert!(alerts[8].subject.contains("17 more findings (17 groups)"), "{}", alerts[8].subject);
        assert_eq!(alerts[9].id, "problems");
        let ids: std::collections::BTreeSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), 10, "ids are unique within a file");
    }

    #[test]
    fn attacker_text_cannot_break_subjects_bodies_or_links() {
        let evil = r#"{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},"userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root\n\nFAKE: all clear\u001b[8m"},"awsRegion":"us-east-1\"><script>","eventID":"x/../../evil?#","userAgent":"\u202egnp.exe","recipientAccountId":"12345678901\u0000"}"#;
        let sink = scan(&[evil.to_string()]);
        let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
        assert!(!alerts.is_empty());
        for a in &alerts {
            assert!(
                a.subject.len() <= MAX_SUBJECT && a.subject.is_ascii() && !a.subject.contains('\n'),
                "{}",
                a.subject
            );
            assert!(
                !a.body.contains("\nFAKE") && !a.body.contains('\u{1b}') && !a.body.contains('\u{202e}'),
                "{}",
                a.body
            );
            assert!(!a.body.contains("Console:"), "no link from an invalid region");
            assert_eq!(a.attributes[2].1, "unknown", "account id attribute only from a valid id");
        }
        assert_eq!(
            console_link(Some("us-east-1"), Some("a/b#c")).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/a%2Fb%23c"
        );
    }

    #[test]
    fn short_principal_names() {
        let cases = [
            ("arn:aws:iam::123456789012:user/alice", "alice"),
            ("arn:aws:iam::123456789012:user/division/bob", "bob"),
            ("arn:aws:sts::123456789012:assumed-role/deploy/ci-run-1", "deploy/ci-run-1"),
            ("arn:aws:iam::123456789012:root", "root"),
            ("kms.amazonaws.com", "kms.amazonaws.com"),
            ("AIDAEXAMPLE", "AIDAEXAMPLE"),
        ];
        for (arn, want) in cases {
            assert_eq!(short_principal(arn), want, "{arn}");
        }
    }

    #[test]
    fn bodies_stay_under_the_sns_limit() {
        let big = format!(
            r#"{{"eventName":"ListUsers","errorCode":"AccessDenied","userIdentity":{{"arn":"a"}},"requestParameters":{{"x":"{}"}},"userAgent":"{}"}}"#,
            "p".repeat(100_000),
            "u".repeat(100_000)
        );
        let records: Vec<String> = (0..30).map(|_| big.clone()).collect();
        let sink = scan(&records);
        let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
        assert!(alerts.iter().all(|a| a.body.len() <= MAX_BODY));
    }
}
