//! The plain-text report: every section, shortened to fit SNS's size.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{stamp, Coverage, Window};
use crate::alert::short_principal;
use crate::latency::human;

/// The report's subject line: one e-mail subject (SNS takes under 100).
pub const MAX_SUBJECT: usize = 99;
/// The report's size: within what every output carries (SNS: 256 KB).
pub const MAX_BODY: usize = 190_000;
use crate::rule::Severity;
use crate::stats::{top, Counts, StatsShard};
use crate::text::{ascii_line, printable};

/// A rendered summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub subject: String,
    pub body: String,
    /// The highest severity among the window's findings, if any.
    pub severity: Option<Severity>,
}

/// Renders the report; when it would exceed SNS's size, the longest lists
/// are shortened (and the report says so).
pub fn render(window: &Window, stats: &StatsShard, coverage: &Coverage, previous: Option<&StatsShard>) -> Report {
    let by_severity = stats.findings_by_severity();
    let counts: Vec<String> = by_severity.iter().map(|(sev, n)| format!("{n} {sev}")).collect();
    let headline =
        if counts.is_empty() { "no findings".to_string() } else { format!("{} findings", counts.join(", ")) };
    let subject = ascii_line(&format!("trailwatch {}: {headline}", window.title()), MAX_SUBJECT);
    let mut body = String::new();
    for limit in [20, 10, 5, 3, 1] {
        body = render_body(window, stats, coverage, previous, limit);
        if body.len() <= MAX_BODY {
            if limit < 20 {
                body.push_str(&format!("\n(Lists were shortened to {limit} entries to fit the message size limit.)\n"));
            }
            break;
        }
    }
    if body.len() > MAX_BODY {
        body = crate::finding::cut(&body, MAX_BODY - 100);
        body.push_str("\n[report cut to fit the message size limit]\n");
    }
    Report { subject, body, severity: by_severity.first().map(|(sev, _)| *sev) }
}

fn show(text: &str) -> String {
    printable(text, 300).into_owned()
}

fn list(out: &mut String, counts: &Counts, limit: usize, empty: &str) {
    if counts.is_empty() {
        let _ = writeln!(out, "  {empty}");
        return;
    }
    for (key, n) in top(counts, limit) {
        let _ = writeln!(out, "  {n:>9}  {}", show(key));
    }
    if counts.len() > limit {
        let _ = writeln!(out, "  ... and {} more", counts.len() - limit);
    }
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}\n{}", "-".repeat(title.len()));
}

fn render_body(
    window: &Window,
    s: &StatsShard,
    coverage: &Coverage,
    previous: Option<&StatsShard>,
    limit: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trailwatch {}", window.title());
    let _ = writeln!(out, "Window: {} to {} (UTC)", stamp(window.start), stamp(window.end));
    let accounts: BTreeSet<&str> = s.account_regions.iter().map(|(k, _)| k.split('/').next().unwrap_or(k)).collect();
    let regions: BTreeSet<&str> = s.account_regions.iter().map(|(k, _)| k.split('/').nth(1).unwrap_or("")).collect();
    let _ = writeln!(
        out,
        "Accounts: {}\nRegions: {}",
        if accounts.is_empty() {
            "none".into()
        } else {
            accounts.iter().map(|a| show(a)).collect::<Vec<_>>().join(", ")
        },
        if regions.is_empty() { "none".into() } else { regions.iter().map(|r| show(r)).collect::<Vec<_>>().join(", ") },
    );
    let total: u64 = s.findings.values().map(|r| r.count).sum();
    let _ = writeln!(out, "Records: {}   Log files: {}   Findings: {total}", s.records, s.files);
    for (sev, n) in s.findings_by_severity() {
        let _ = writeln!(out, "  {sev}: {n}");
    }

    heading(&mut out, "Findings by rule");
    if s.findings.is_empty() {
        let _ = writeln!(out, "  No findings.");
    }
    let mut rules: Vec<_> = s.findings.iter().collect();
    rules.sort_by(|a, b| b.1.severity.cmp(&a.1.severity).then(b.1.count.cmp(&a.1.count)).then(a.0.cmp(b.0)));
    for (id, r) in rules.iter().take(limit) {
        let who: Vec<String> =
            top(&r.principals, 3).iter().map(|(p, n)| format!("{} ({n})", show(short_principal(p)))).collect();
        let quiet = if r.alerts { String::new() } else { format!(", {}", r.grade()) };
        let _ = writeln!(
            out,
            "  {:>6}  [{}] {} ({id}{quiet})\n          by {}",
            r.count,
            r.severity,
            r.title,
            who.join(", ")
        );
    }
    if rules.len() > limit {
        let _ = writeln!(out, "  ... and {} more rules", rules.len() - limit);
    }
    if !s.suppressed.is_empty() {
        let _ = writeln!(out, "  Suppressed matches:");
        list(&mut out, &s.suppressed, limit, "");
    }

    if !s.new_this_period.is_empty() {
        heading(&mut out, "New this period (first-seen profiles)");
        for line in s.new_this_period.lines(limit) {
            let _ = writeln!(out, "  {line}");
        }
    }

    heading(&mut out, "Root activity");
    list(&mut out, &s.root_events, limit, "No root activity.");

    heading(&mut out, "Console sign-ins (with MFA / without MFA / failed / through an identity provider)");
    if s.console_logins.is_empty() {
        let _ = writeln!(out, "  No console sign-ins.");
    }
    let mut logins: Vec<_> = s.console_logins.iter().collect();
    logins.sort_by(|a, b| (b.1.without_mfa + b.1.failed).cmp(&(a.1.without_mfa + a.1.failed)).then(a.0.cmp(b.0)));
    for (who, c) in logins.iter().take(limit) {
        let _ = writeln!(
            out,
            "  {:>4} / {:>4} / {:>4} / {:>4}  {}",
            c.with_mfa,
            c.without_mfa,
            c.failed,
            c.via_idp,
            show(who)
        );
    }
    if logins.len() > limit {
        let _ = writeln!(out, "  ... and {} more", logins.len() - limit);
    }

    heading(&mut out, "IAM changes by principal");
    list(&mut out, &s.iam_changes_by_principal, limit, "No IAM changes.");

    heading(&mut out, "Top events");
    list(&mut out, &s.events, limit, "No events.");
    heading(&mut out, "Top principals");
    list(&mut out, &s.principals, limit, "No principals.");
    heading(&mut out, "Top source IPs");
    list(&mut out, &s.source_ips, limit, "No source IPs.");
    heading(&mut out, "Access denied (AccessDenied, UnauthorizedOperation) by principal");
    list(&mut out, &s.denied_by_principal, limit, "No access-denied errors.");

    heading(&mut out, "New since the previous window");
    match previous {
        None => {
            let _ = writeln!(out, "  The previous window's summary is not available.");
        }
        Some(prev) => {
            let regions_before: BTreeSet<&str> = prev.account_regions.iter().map(|(k, _)| k.as_str()).collect();
            let new_regions: Vec<&str> =
                s.account_regions.iter().map(|(k, _)| k.as_str()).filter(|k| !regions_before.contains(k)).collect();
            let mut new_regions = new_regions;
            new_regions.sort();
            if new_regions.is_empty() {
                let _ = writeln!(out, "  No account/region used that was not used before.");
            } else {
                let _ = writeln!(out, "  Account/regions used now but not in the previous window:");
                for r in new_regions.iter().take(limit) {
                    let _ = writeln!(out, "    {}", show(r));
                }
            }
            let mut new_ips = Vec::new();
            for (who, ips) in &s.human_source_ips {
                let before = prev.human_source_ips.get(who);
                for ip in ips {
                    if before.is_none_or(|b| !b.contains(ip)) {
                        new_ips.push(format!("{} from {}", show(who), show(ip)));
                    }
                }
            }
            if new_ips.is_empty() {
                let _ = writeln!(out, "  No new source IPs for people.");
            } else {
                let _ = writeln!(out, "  New source IPs for people:");
                for line in new_ips.iter().take(limit) {
                    let _ = writeln!(out, "    {line}");
                }
                if new_ips.len() > limit {
                    let _ = writeln!(out, "    ... and {} more", new_ips.len() - limit);
                }
            }
        }
    }

    time_to_alert(&mut out, s);

    heading(&mut out, "Coverage");
    let _ = writeln!(out, "  Log files delivered: {}   processed: {}", coverage.delivered, coverage.processed);
    if coverage.unprocessed_total == 0 {
        let _ = writeln!(out, "  Every delivered log file was processed.");
    } else {
        let _ = writeln!(out, "  Not processed ({}):", coverage.unprocessed_total);
        for key in coverage.unprocessed.iter().take(limit) {
            let _ = writeln!(out, "    {}", show(key));
        }
        if coverage.unprocessed_total as usize > limit.min(coverage.unprocessed.len()) {
            let _ = writeln!(
                out,
                "    ... and {} more",
                coverage.unprocessed_total as usize - limit.min(coverage.unprocessed.len())
            );
        }
    }
    if coverage.rejected_alerts > 0 {
        let _ = writeln!(
            out,
            "  Alerts an output refused or could not take, not sent there: {} (see the detection function's logs)",
            coverage.rejected_alerts
        );
    }
    if coverage.folded_findings > 0 {
        let _ = writeln!(
            out,
            "  Repeat findings folded into follow-up alerts (dedup window): {}",
            coverage.folded_findings
        );
    }
    let d = &coverage.digests;
    if d.digests == 0 {
        let _ = writeln!(out, "  No digest was verified for this window: is log file validation on for the trail?");
    } else {
        let awaiting = if d.awaiting > 0 {
            format!(" ({} from the last hour await their digest)", d.awaiting)
        } else {
            String::new()
        };
        let _ = writeln!(out, "  Verified by a digest: {} of {} log files{awaiting}", d.verified, coverage.delivered);
        if d.unverified_total > 0 {
            let _ = writeln!(out, "  Not verified by any digest ({}):", d.unverified_total);
            for key in d.unverified.iter().take(limit) {
                let _ = writeln!(out, "    {}", show(key));
            }
            if d.unverified_total as usize > limit.min(d.unverified.len()) {
                let _ =
                    writeln!(out, "    ... and {} more", d.unverified_total as usize - limit.min(d.unverified.len()));
            }
        }
    }
    if !coverage.incomplete.is_empty() {
        let _ = writeln!(out, "  Processed but not readable to the end ({}):", coverage.incomplete.len());
        for key in coverage.incomplete.iter().take(limit) {
            let _ = writeln!(out, "    {}", show(key));
        }
    }
    if s.problems > 0 {
        let _ = writeln!(out, "  Read problems (bad records or files): {}", s.problems);
    }
    if coverage.silent.is_empty() {
        let _ =
            writeln!(out, "  No account/region went more than {} minutes without a log file.", coverage.gap_minutes);
    } else {
        let _ = writeln!(
            out,
            "  Silent for more than {} minutes (a stopped trail looks like this; so does a quiet region):",
            coverage.gap_minutes
        );
        for silence in coverage.silent.iter().take(limit) {
            let _ = writeln!(
                out,
                "    {} {}: {} minutes without a log file from {} ({} files in the window)",
                show(&silence.account_id),
                show(&silence.region),
                silence.longest_gap_minutes,
                silence.from,
                silence.files
            );
        }
        if coverage.silent.len() > limit {
            let _ = writeln!(out, "    ... and {} more", coverage.silent.len() - limit);
        }
    }
    let _ = writeln!(out, "\n-- trailwatch");
    out
}

/// Per lane, when alerts were sent: event time to the primary output, as
/// p50 / p90 / max (the percentiles are bucket bounds: "at most").
fn time_to_alert(out: &mut String, s: &StatsShard) {
    if s.time_to_alert.is_empty() {
        return;
    }
    heading(out, "Time to alert (event time to sent; p50 / p90 / max)");
    for (lane, t) in &s.time_to_alert {
        let at = |p| t.percentile(p).map_or_else(|| "-".to_string(), human);
        let _ = writeln!(
            out,
            "  {:<16} {:>6} alert(s)   {} / {} / {}",
            show(lane),
            t.alerts,
            at(50),
            at(90),
            human(t.max_seconds)
        );
    }
}
