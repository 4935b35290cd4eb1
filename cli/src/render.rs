//! Human-readable output. Every value that comes from a record passes
//! through [`show`], which escapes control characters: log fields are
//! attacker-controlled and must not drive the terminal.

use std::fmt::Write as _;

use trailwatch_core::limits::MAX_HELD_VALUE_BYTES;
use trailwatch_core::stats::top;
use trailwatch_core::text::{self, printable};
use trailwatch_core::{Error, Finding, Grade, Outcome, StatsShard};

const FIELD_MAX: usize = 300;

/// A finding to hold in memory until it is printed: every text field cut
/// past [`MAX_HELD_VALUE_BYTES`] (over 300 characters, so that the text
/// shown is the same), and about the bytes it takes.
pub fn held(mut f: Finding) -> (Finding, usize) {
    let cut = |v: &mut String| {
        if v.len() > MAX_HELD_VALUE_BYTES {
            *v = text::cut(v, MAX_HELD_VALUE_BYTES).into_owned();
        }
        v.len() + 24
    };
    let mut bytes = 256 + cut(&mut f.file);
    for field in [
        &mut f.event_id,
        &mut f.event_time,
        &mut f.event_name,
        &mut f.event_source,
        &mut f.account_id,
        &mut f.region,
        &mut f.principal_arn,
        &mut f.principal_type,
        &mut f.source_ip,
        &mut f.user_agent,
        &mut f.mfa_used,
        &mut f.request_parameters,
        &mut f.response_elements,
    ] {
        bytes += field.as_mut().map_or(0, cut);
    }
    if let Outcome::Failure { code, message } = &mut f.outcome {
        bytes += code.as_mut().map_or(0, cut) + message.as_mut().map_or(0, cut);
    }
    for (name, values) in &mut f.matched {
        bytes += cut(name) + values.iter_mut().map(cut).sum::<usize>();
    }
    (f, bytes)
}

fn show(value: Option<&str>) -> String {
    printable(value.unwrap_or("-"), FIELD_MAX).into_owned()
}

/// A finding as a short block of text.
pub fn finding(f: &Finding) -> String {
    let mut out = String::new();
    let severity = f.rule.severity.as_str().to_uppercase();
    // What the detection function would do with it.
    let mode = match Grade::of(&f.rule) {
        Grade::Alerts => String::new(),
        grade => format!("  [{grade}]"),
    };
    let _ = writeln!(out, "[{severity}] {}  ({}){mode}", f.rule.title, f.rule.id);
    let _ = writeln!(
        out,
        "  {}  {} ({})  account {}  {}",
        show(f.event_time.as_deref()),
        show(f.event_name.as_deref()),
        show(f.event_source.as_deref()),
        show(f.account_id.as_deref()),
        show(f.region.as_deref()),
    );
    let _ = write!(
        out,
        "  principal {} ({})  from {}",
        show(f.principal_arn.as_deref()),
        show(f.principal_type.as_deref()),
        show(f.source_ip.as_deref()),
    );
    if let Some(mfa) = &f.mfa_used {
        let _ = write!(out, "  MFA {}", show(Some(mfa)));
    }
    let _ = writeln!(out, "  outcome {}", printable(&f.outcome.to_string(), FIELD_MAX));
    // Why it matched: the fields the rule's pattern tests, as the record has them.
    for (i, (field, values)) in f.matched.iter().enumerate() {
        let label = if i == 0 { "matched" } else { "       " };
        let values: Vec<String> = values.iter().map(|v| show(Some(v))).collect();
        let _ = writeln!(out, "  {label} {} = {}", printable(field, 120), values.join(", "));
    }
    let _ = writeln!(
        out,
        "  event {}  in {} record {}",
        show(f.event_id.as_deref()),
        printable(&f.file, FIELD_MAX),
        f.record_index
    );
    out.push('\n');
    out
}

/// "1 file", "2 files": a count with its noun in the right number.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A read problem, one line.
pub fn problem(e: &Error) -> String {
    let level = if e.is_record_level() { "skipped record" } else { "error" };
    format!("{level}: {}", printable(&e.to_string(), 1000))
}

/// ", 1 critical, 2 high" or "".
pub fn by_severity(stats: &StatsShard) -> String {
    let parts: Vec<String> = stats.findings_by_severity().iter().map(|(sev, n)| format!("{n} {sev}")).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// A compact statistics report.
pub fn stats(s: &StatsShard) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Statistics");
    let _ = writeln!(
        out,
        "  {} records in {} files, events from {} to {}",
        s.records,
        s.files,
        show(s.first_event_time.as_deref()),
        show(s.last_event_time.as_deref())
    );
    let section = |out: &mut String, title: &str, counts: &trailwatch_core::stats::Counts| {
        if counts.is_empty() {
            return;
        }
        let _ = writeln!(out, "  {title}:");
        for (key, n) in top(counts, 10) {
            let _ = writeln!(out, "    {n:>8}  {}", show(Some(key)));
        }
    };
    section(&mut out, "Accounts and regions", &s.account_regions);
    section(&mut out, "Top events", &s.events);
    section(&mut out, "Top principals", &s.principals);
    section(&mut out, "Top source IPs", &s.source_ips);
    section(&mut out, "Errors", &s.errors);
    section(&mut out, "Access denied by principal", &s.denied_by_principal);
    section(&mut out, "Root activity", &s.root_events);
    section(&mut out, "IAM changes by principal", &s.iam_changes_by_principal);
    if !s.console_logins.is_empty() {
        let _ = writeln!(out, "  Console sign-ins (with MFA / without MFA / failed / through an identity provider):");
        for (who, c) in &s.console_logins {
            let _ = writeln!(
                out,
                "    {} / {} / {} / {}  {}",
                c.with_mfa,
                c.without_mfa,
                c.failed,
                c.via_idp,
                show(Some(who))
            );
        }
    }
    if !s.findings.is_empty() {
        let _ = writeln!(out, "  Findings by rule:");
        for (id, r) in &s.findings {
            let _ = writeln!(out, "    {:>8}  [{}] {id}", r.count, r.severity);
        }
    }
    section(&mut out, "Suppressed by rule", &s.suppressed);
    out
}

/// A first-seen alert: what was new, for whom, and the event.
pub fn first_seen(alert: &trailwatch_core::alert::Alert) -> String {
    let mut out = headed("First seen", alert);
    for event in &alert.events {
        out.push_str(&format!(
            "  {}  {}  from {}  {}\n",
            event.time.as_deref().unwrap_or("-"),
            event.name.as_deref().unwrap_or("-"),
            event.source_ip.as_deref().unwrap_or("-"),
            event.event_id.as_deref().unwrap_or("-"),
        ));
    }
    out.push('\n');
    out
}

/// A threshold reached over the scanned files.
pub fn threshold(alert: &trailwatch_core::alert::Alert) -> String {
    let mut out = headed("Threshold reached", alert);
    out.push('\n');
    out
}

/// An alert's heading (`what`, title, rule, who, where) and its details.
fn headed(what: &str, alert: &trailwatch_core::alert::Alert) -> String {
    let mut out = format!(
        "[{}] {what}: {}  ({})\n  by {} in {}\n",
        alert.severity.as_str().to_uppercase(),
        alert.title,
        alert.rule,
        alert.principal.as_deref().unwrap_or("-"),
        alert.where_text()
    );
    for line in alert.details.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}
