//! Turning one log file's findings into alerts.
//!
//! Findings are grouped by rule and principal, so that one person doing one
//! thing forty times makes one alert, not forty. A file never yields more
//! than [`AlertLimits::max_alerts`] alerts (the rest fold into a last overflow
//! alert), which keeps a burst under SNS's 10 messages per second per e-mail
//! endpoint.

use std::fmt::Write as _;

use super::{field, safe_account, safe_region, Alert, AlertEvent, AlertKind, AlertLimits, FileContext};
use crate::error::Error;
use crate::finding::Finding;
use crate::grouped::{Group, Grouped, MAX_GROUPS};
use crate::rule::Severity;
use crate::text::printable;

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
/// first; an overflow alert when there are more groups than fit; and an alert of its
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
        alerts.push(overflow_alert(file, rest, grouped));
    }
    if grouped.problem_count > 0 {
        alerts.push(problem_alert(file, &grouped.problems, grouped.problem_count, complete));
    }
    alerts
}

/// The alert for one (rule, principal) group of a file.
pub fn group_alert(file: FileContext<'_>, group: &Group, limits: AlertLimits) -> Alert {
    let first = group.first();
    let rule = &first.rule;
    let times = if group.count > 1 { format!(" x{}", group.count) } else { String::new() };
    let mut alert = Alert::new(
        format!("{}|{}", rule.id, printable(first.principal_arn.as_deref().unwrap_or(""), super::FIELD_MAX)),
        AlertKind::Finding,
        rule.severity,
        &rule.id,
        &format!("{}{times}", rule.title),
    )
    .at(
        safe_account(first.account_id.as_deref()).or(file.account_id),
        safe_region(first.region.as_deref()).or(file.region),
    )
    .with_text(&rule.description, &rule.runbook)
    .with_source(file.source);
    alert.principal = field(first.principal_arn.as_deref());
    alert.source_ip = field(first.source_ip.as_deref());
    alert.count = group.count;
    alert.events = group.samples.iter().take(limits.max_events).map(AlertEvent::of).collect();
    alert.more_events = group.count.saturating_sub(alert.events.len() as u64);
    alert.tags = rule.tags.iter().map(|t| printable(t, 100).into_owned()).collect();
    alert.origin = printable(&rule.origin, 500).into_owned();
    alert
}

fn show(value: Option<&str>) -> String {
    printable(value.unwrap_or("-"), super::FIELD_MAX).into_owned()
}

/// The groups past the per-file cap, in one alert. Its id, rule and kind
/// say `digest` on the wire (ledger ids, SNS attributes, webhooks) as they
/// always have; it has nothing to do with CloudTrail's digest files.
fn overflow_alert(file: FileContext<'_>, groups: &[&Group], grouped: &Grouped) -> Alert {
    let overflow = grouped.overflow.values();
    let severity = groups
        .iter()
        .map(|g| g.first().rule.severity)
        .chain(overflow.clone().map(|o| o.severity))
        .max()
        .unwrap_or(Severity::Info);
    let total: u64 = groups.iter().map(|g| g.count).sum::<u64>() + overflow.map(|o| o.count).sum::<u64>();
    let mut details =
        String::from("One line per rule and principal (count, severity, rule, principal, first event ID):\n\n");
    for g in groups {
        let f = g.first();
        let _ = writeln!(
            details,
            "  {:>5}  {:<8}  {}  {}  {}",
            g.count,
            f.rule.severity.as_str(),
            f.rule.id,
            show(f.principal_arn.as_deref()),
            show(f.event_id.as_deref())
        );
    }
    if !grouped.overflow.is_empty() {
        let _ = writeln!(details, "\nFindings past the first {MAX_GROUPS} groups, counted by rule:\n");
        for (rule, o) in &grouped.overflow {
            let _ = writeln!(details, "  {:>5}  {:<8}  {rule}", o.count, o.severity.as_str());
        }
    }
    let mut alert = Alert::new(
        "digest",
        AlertKind::Overflow,
        severity,
        "digest",
        &format!("{total} more findings ({} groups)", groups.len()),
    )
    .at(file.account_id, file.region)
    .with_text(
        "This log file produced more finding groups than trailwatch sends one by one; these are the rest.",
        "Run `trailwatch scan` on the log file for every detail.",
    )
    .with_details(details)
    .with_source(file.source);
    alert.count = total;
    alert
}

fn problem_alert(file: FileContext<'_>, problems: &[Error], total: u64, complete: bool) -> Alert {
    let what = if complete { "CloudTrail log file with unreadable records" } else { "Unreadable CloudTrail log file" };
    let mut details = format!("Problems ({total}):\n");
    for p in problems.iter().take(50) {
        let _ = writeln!(details, "  - {}", printable(&p.to_string(), 1000));
    }
    if total > problems.len().min(50) as u64 {
        let _ = writeln!(details, "  ... and {} more.", total - problems.len().min(50) as u64);
    }
    let happened = format!(
        "CloudTrail writes well-formed files. A file that cannot be read may have been damaged in storage or \
         tampered with; the records named below were not checked by any rule{}.",
        if complete { "" } else { ", nor was anything after the first fatal problem" }
    );
    let mut alert = Alert::new("problems", AlertKind::Unreadable, Severity::Medium, "unreadable-log-file", what)
        .at(file.account_id, file.region)
        .with_text(
            &happened,
            "Validate the file against its digest (trailwatch validate, or aws cloudtrail validate-logs), compare \
             it with the trail's other copies if any, and find out who could write to the bucket.",
        )
        .with_details(details)
        .with_source(file.source);
    alert.count = total;
    alert
}

/// An alert about trailwatch itself.
pub fn notice(id: &str, severity: Severity, rule: &str, title: &str, happened: &str, to_do: &str) -> Alert {
    Alert::new(id, AlertKind::Notice, severity, rule, title).with_text(happened, to_do)
}
