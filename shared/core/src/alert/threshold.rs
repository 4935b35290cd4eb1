//! The alert of a threshold rule whose count was reached
//! ([`crate::threshold`], counted by [`crate::tally`]).

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{field, Alert, AlertKind};
use crate::rule::Rule;
use crate::tally::Tally;
use crate::text::printable;
use crate::threshold::GroupField;

/// The alert for a tally that reached its rule's threshold (`None` for a
/// rule without one).
pub fn threshold_alert(rule: &Rule, tally: &Tally, source: &str) -> Option<Alert> {
    let threshold = rule.threshold.as_ref()?;
    let measure = tally.measure(threshold);
    let or_more = if tally.distinct_capped { " or more" } else { "" };
    let what = match threshold.distinct {
        Some(d) => format!("{measure}{or_more} distinct {} values", d.name()),
        None => format!("{measure} matches"),
    };
    let by: Vec<String> =
        threshold.by.iter().zip(&tally.key).map(|(b, v)| format!("{}={}", b.name(), printable(v, 200))).collect();
    let start = OffsetDateTime::from_unix_timestamp(tally.window_start)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{} seconds after the epoch", tally.window_start));
    let mut alert = Alert::new(
        format!("threshold|{}|{}|{}", rule.id, tally.key.join("|"), tally.window_start),
        AlertKind::Finding,
        rule.severity,
        &rule.id,
        &format!("{}: {what} in {}", rule.title, threshold.window),
    )
    .with_text(&rule.description, &rule.runbook)
    .with_source(source);
    let get = |field: GroupField| threshold.by.iter().position(|b| *b == field).map(|i| tally.key[i].as_str());
    let first = tally.samples.first();
    alert = alert.at(
        get(GroupField::Account).or_else(|| first.and_then(|s| s.account_id.as_deref())),
        first.and_then(|s| s.region.as_deref()),
    );
    alert.principal = field(get(GroupField::Principal).or_else(|| first.and_then(|s| s.principal.as_deref())));
    alert.source_ip = field(get(GroupField::SourceIp));
    alert.count = tally.count;
    alert.events = tally.samples.clone();
    alert.more_events = tally.count.saturating_sub(alert.events.len() as u64);
    let unit = if threshold.distinct.is_some() { "distinct values" } else { "matches" };
    let mut details = format!(
        "Threshold: {} {unit} per {} in one window of {}\n",
        threshold.count,
        by.join(", "),
        printable(&threshold.window, 40)
    );
    let _ = writeln!(
        details,
        "Window: from {start}; {} matches, {}{or_more} distinct values",
        tally.count,
        tally.distinct.len()
    );
    alert.details = details;
    alert.tags = rule.tags.clone();
    alert.origin = rule.origin.clone();
    Some(alert)
}
