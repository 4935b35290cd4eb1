//! The alert of a first-seen rule whose value was new after the key's
//! learning period ([`crate::first_seen`], settled by [`crate::profile::batch`]).

use super::{field, Alert, AlertEvent, AlertKind};
use crate::profile::batch::Candidate;
use crate::text::printable;

/// A time as RFC 3339, or the seconds when it is out of range.
pub fn when(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{secs} seconds after the epoch"))
}

/// The alert for a new value; `since` is when its key was first seen.
/// Its id names the rule, key and value: the same new value found twice
/// (a retry, two lanes) is one alert in the ledger.
pub fn first_seen_alert(candidate: &Candidate, since: i64, source: &str) -> Alert {
    let rule = &candidate.rule;
    let f = &candidate.finding;
    let dimension = printable(&candidate.profile.dimension, 80);
    let value = printable(&candidate.value, 200);
    let key = printable(&candidate.profile.key, 300);
    let mut alert = Alert::new(
        format!("first-seen|{}|{}|{}|{}", rule.id, candidate.profile.key, candidate.profile.dimension, candidate.value),
        AlertKind::Finding,
        rule.severity,
        &rule.id,
        &format!("{}: new {dimension} {value}", rule.title),
    )
    .with_text(&rule.description, &rule.runbook)
    .with_source(source)
    .at(f.account_id.as_deref(), f.region.as_deref());
    alert.principal = field(f.principal_arn.as_deref());
    alert.source_ip = field(f.source_ip.as_deref());
    alert.count = 1;
    alert.events = vec![AlertEvent::of(f)];
    let learn = rule.first_seen.as_ref().map_or("0", |fs| fs.learn.as_str());
    alert.details = format!(
        "First seen: {dimension} {value} is new for {key}\nKey first seen: {} (learning period {}); new at {}\n",
        when(since),
        printable(learn, 40),
        when(candidate.time)
    );
    alert.tags = rule.tags.clone();
    alert.origin = rule.origin.clone();
    alert
}
