//! The periodic summary: its window, coverage (log files delivered vs
//! processed, silent account/regions) and the plain-text report.
//!
//! Everything here is pure: the Lambda and the CLI gather the data (shards or
//! scans, object listings) and call the same functions, so the same files
//! give the same report. Nothing depends on the wall clock: the window comes
//! from the scheduled event's time, so a late or retried invocation reports
//! the same window.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::alert::{short_principal, MAX_BODY, MAX_SUBJECT};
use crate::error::{Error, ErrorKind, Result};
use crate::rule::Severity;
use crate::stats::{top, Counts, StatsShard};
use crate::text::{ascii_line, printable};

const DAY: u64 = 24 * 3600;

fn bad(message: String) -> Error {
    Error::new(ErrorKind::Rule(message))
}

/// The period a summary covers: `[start, end)`, UTC, aligned to its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl Window {
    /// The last full window of `length` that ends at or before `at`. The
    /// length is whole hours dividing a day (1h, 2h, 3h, 4h, 6h, 8h, 12h) or
    /// whole days.
    pub fn ending_before(at: OffsetDateTime, length: Duration) -> Result<Window> {
        let secs = length.as_secs();
        let valid = secs > 0 && secs % 3600 == 0 && (DAY % secs == 0 || secs % DAY == 0);
        if !valid {
            return Err(bad(format!(
                "a summary window must be whole hours dividing a day, or whole days, not {}",
                humantime::format_duration(length)
            )));
        }
        let now = at.unix_timestamp();
        let end = now - now.rem_euclid(secs as i64);
        let start = end - secs as i64;
        let ts = |t| OffsetDateTime::from_unix_timestamp(t).map_err(|e| bad(e.to_string()));
        Ok(Window { start: ts(start)?, end: ts(end)? })
    }

    /// Parses `24h`, `1h`, `2days`... (as `humantime` does).
    pub fn parse_length(text: &str) -> Result<Duration> {
        humantime::parse_duration(text.trim()).map_err(|e| bad(format!("SUMMARY_WINDOW '{text}': {e}")))
    }

    /// Parses an RFC 3339 time such as an EventBridge event's `time`.
    pub fn parse_time(text: &str) -> Result<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| bad(format!("'{text}' is not an RFC 3339 time: {e}")))
    }

    pub fn length(&self) -> Duration {
        Duration::from_secs((self.end - self.start).whole_seconds().max(0) as u64)
    }

    pub fn previous(&self) -> Window {
        let length = self.end - self.start;
        Window { start: self.start - length, end: self.start }
    }

    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }

    /// `2026-11-20T00:00Z-24h`: names the window's stored aggregate.
    pub fn label(&self) -> String {
        format!("{}-{}h", stamp(self.start), self.length().as_secs() / 3600)
    }

    /// `daily summary 2026-11-20`, `hourly summary 2026-11-20 13:00`, ...
    pub fn title(&self) -> String {
        let hours = self.length().as_secs() / 3600;
        let day = self.start.date();
        match hours {
            24 => format!("daily summary {day}"),
            1 => format!("hourly summary {day} {:02}:00", self.start.hour()),
            h if h % 24 == 0 => format!("{}-day summary {day} to {}", h / 24, (self.end - time::Duration::DAY).date()),
            h => format!("{h}-hour summary {day} {:02}:00-{:02}:00", self.start.hour(), self.end.hour()),
        }
    }

    /// `YYYY/MM/DD/HH` of every hour in the window (shard prefixes).
    pub fn hour_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = self.start;
        while t < self.end {
            out.push(format!("{:04}/{:02}/{:02}/{:02}", t.year(), t.month() as u8, t.day(), t.hour()));
            t += time::Duration::HOUR;
        }
        out
    }

    /// `YYYY/MM/DD` of every day the window touches (log key prefixes).
    pub fn day_paths(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for hour in self.hour_paths() {
            let day = hour[..10].to_string();
            if out.last() != Some(&day) {
                out.push(day);
            }
        }
        out
    }
}

/// `2026-11-20T09:10Z`.
fn stamp(t: OffsetDateTime) -> String {
    format!("{}T{:02}:{:02}Z", t.date(), t.hour(), t.minute())
}

/// The time in a log file name, `20261120T0910Z`.
pub fn parse_file_time(text: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year][month][day]T[hour][minute]Z");
    PrimitiveDateTime::parse(text, &format).ok().map(PrimitiveDateTime::assume_utc)
}

/// An account/region that delivered nothing for longer than the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub account_id: String,
    pub region: String,
    /// Longest stretch without a log file, in minutes (window edges count).
    pub longest_gap_minutes: u64,
    /// When the stretch began (`YYYY-MM-DDTHH:MMZ`).
    pub from: String,
    pub files: u64,
}

/// How much of the window trailwatch saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Log files delivered in the window.
    pub delivered: u64,
    /// Of those, the ones with a statistics shard.
    pub processed: u64,
    /// Delivered but not processed (first ones, sorted), and how many in all.
    pub unprocessed: Vec<String>,
    pub unprocessed_total: u64,
    /// Processed but not readable to the end.
    pub incomplete: Vec<String>,
    pub silent: Vec<Silence>,
    pub gap_minutes: u64,
}

/// One delivered log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// `s3://bucket/key` (or a path).
    pub source: String,
    pub account_id: String,
    pub region: String,
    pub time: OffsetDateTime,
}

/// Compares what was delivered with what was processed. `known` holds every
/// account/region that ever delivered (so a region silent for the whole
/// window shows up too).
pub fn coverage(
    window: &Window,
    delivered: &[Delivered],
    processed: &BTreeSet<String>,
    incomplete: Vec<String>,
    known: &BTreeSet<(String, String)>,
    gap: Duration,
    cap: usize,
) -> Coverage {
    let in_window: Vec<&Delivered> = delivered.iter().filter(|d| window.contains(d.time)).collect();
    let mut missing: Vec<String> =
        in_window.iter().filter(|d| !processed.contains(&d.source)).map(|d| d.source.clone()).collect();
    missing.sort();
    let unprocessed_total = missing.len() as u64;
    missing.truncate(cap);

    let mut times: BTreeMap<(String, String), Vec<OffsetDateTime>> =
        known.iter().map(|pair| (pair.clone(), Vec::new())).collect();
    for d in &in_window {
        times.entry((d.account_id.clone(), d.region.clone())).or_default().push(d.time);
    }
    let mut silent = Vec::new();
    for ((account_id, region), mut ts) in times {
        ts.sort();
        let mut edges = vec![window.start];
        edges.extend(ts.iter().copied());
        edges.push(window.end);
        let (from, longest) = edges
            .windows(2)
            .map(|w| (w[0], (w[1] - w[0]).whole_minutes().max(0) as u64))
            .max_by_key(|(_, minutes)| *minutes)
            .unwrap_or((window.start, 0));
        if longest * 60 > gap.as_secs() {
            silent.push(Silence {
                account_id,
                region,
                longest_gap_minutes: longest,
                from: stamp(from),
                files: ts.len() as u64,
            });
        }
    }
    let mut incomplete = incomplete;
    incomplete.sort();
    incomplete.truncate(cap);
    Coverage {
        delivered: in_window.len() as u64,
        processed: in_window.len() as u64 - unprocessed_total,
        unprocessed: missing,
        unprocessed_total,
        incomplete,
        silent,
        gap_minutes: gap.as_secs() / 60,
    }
}

/// What a summary saw, as stored next to the shards (`summaries/<label>.json`)
/// and printed by `trailwatch summary --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    pub window: String,
    pub start: String,
    pub end: String,
    pub stats: StatsShard,
    pub coverage: Coverage,
}

impl SummaryFile {
    pub fn new(window: &Window, stats: StatsShard, coverage: Coverage) -> Self {
        SummaryFile { window: window.label(), start: stamp(window.start), end: stamp(window.end), stats, coverage }
    }
}

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
        let _ = writeln!(out, "  {:>6}  [{}] {} ({id})\n          by {}", r.count, r.severity, r.title, who.join(", "));
    }
    if rules.len() > limit {
        let _ = writeln!(out, "  ... and {} more rules", rules.len() - limit);
    }
    if !s.suppressed.is_empty() {
        let _ = writeln!(out, "  Suppressed matches:");
        list(&mut out, &s.suppressed, limit, "");
    }

    heading(&mut out, "Root activity");
    list(&mut out, &s.root_events, limit, "No root activity.");

    heading(&mut out, "Console sign-ins (with MFA / without MFA / failed)");
    if s.console_logins.is_empty() {
        let _ = writeln!(out, "  No console sign-ins.");
    }
    let mut logins: Vec<_> = s.console_logins.iter().collect();
    logins.sort_by(|a, b| (b.1.without_mfa + b.1.failed).cmp(&(a.1.without_mfa + a.1.failed)).then(a.0.cmp(b.0)));
    for (who, c) in logins.iter().take(limit) {
        let _ = writeln!(out, "  {:>4} / {:>4} / {:>4}  {}", c.with_mfa, c.without_mfa, c.failed, show(who));
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_come_from_the_event_time_not_the_clock() {
        let day = Duration::from_secs(DAY);
        let cases = [
            (datetime!(2026-11-21 00:05 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
            (datetime!(2026-11-21 23:59:59 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
            (datetime!(2026-11-21 00:00 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
            (datetime!(2026-03-01 00:10 UTC), day, datetime!(2026-02-28 00:00 UTC), datetime!(2026-03-01 00:00 UTC)),
            (
                datetime!(2026-11-21 13:07 UTC),
                Duration::from_secs(3600),
                datetime!(2026-11-21 12:00 UTC),
                datetime!(2026-11-21 13:00 UTC),
            ),
            (
                datetime!(2026-11-21 13:07 UTC),
                Duration::from_secs(6 * 3600),
                datetime!(2026-11-21 06:00 UTC),
                datetime!(2026-11-21 12:00 UTC),
            ),
            (datetime!(2027-01-01 00:01 UTC), day, datetime!(2026-12-31 00:00 UTC), datetime!(2027-01-01 00:00 UTC)),
        ];
        for (at, length, start, end) in cases {
            let w = Window::ending_before(at, length).unwrap();
            assert_eq!((w.start, w.end), (start, end), "{at}");
        }
        for bad in [Duration::from_secs(5 * 3600), Duration::from_secs(90 * 60), Duration::ZERO] {
            assert!(Window::ending_before(datetime!(2026-11-21 00:05 UTC), bad).is_err());
        }
        let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), day).unwrap();
        assert_eq!(w.label(), "2026-11-20T00:00Z-24h");
        assert_eq!(w.title(), "daily summary 2026-11-20");
        assert_eq!(w.previous().label(), "2026-11-19T00:00Z-24h");
        assert_eq!(w.hour_paths().len(), 24);
        assert_eq!(w.hour_paths()[0], "2026/11/20/00");
        assert_eq!(w.day_paths(), vec!["2026/11/20"]);
        assert_eq!(Window::parse_length("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(Window::parse_time("2026-11-21T00:05:00Z").unwrap(), datetime!(2026-11-21 00:05 UTC));
        assert_eq!(parse_file_time("20261120T0910Z"), Some(datetime!(2026-11-20 09:10 UTC)));
        assert_eq!(parse_file_time("2026112xT0910Z"), None);
    }

    fn delivered(account: &str, region: &str, time: OffsetDateTime, n: u32) -> Delivered {
        Delivered {
            source: format!("s3://b/{account}/{region}/{n}"),
            account_id: account.into(),
            region: region.into(),
            time,
        }
    }

    #[test]
    fn coverage_names_unprocessed_files_and_silent_regions() {
        let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
        let mut files = Vec::new();
        // us-east-1 delivers every 5 minutes all day; eu-west-1 stops at 06:00.
        for i in 0..288u32 {
            let t = w.start + time::Duration::minutes(5 * i as i64);
            files.push(delivered("111122223333", "us-east-1", t, i));
            if t.hour() < 6 {
                files.push(delivered("111122223333", "eu-west-1", t, i));
            }
        }
        // One file from outside the window does not count.
        files.push(delivered("111122223333", "us-east-1", w.end, 999));
        let mut processed: BTreeSet<String> = files.iter().map(|d| d.source.clone()).collect();
        processed.remove("s3://b/111122223333/us-east-1/7");
        let known: BTreeSet<(String, String)> =
            [("111122223333", "ap-south-1")].iter().map(|(a, r)| (a.to_string(), r.to_string())).collect();
        let c = coverage(&w, &files, &processed, vec![], &known, Duration::from_secs(3600), 50);
        assert_eq!(c.delivered, 288 + 72);
        assert_eq!(c.processed, c.delivered - 1);
        assert_eq!(c.unprocessed, vec!["s3://b/111122223333/us-east-1/7"]);
        let silent: Vec<(&str, u64)> = c.silent.iter().map(|s| (s.region.as_str(), s.longest_gap_minutes)).collect();
        assert_eq!(silent, vec![("ap-south-1", 1440), ("eu-west-1", 18 * 60 + 5)]);
        assert_eq!(c.silent[1].from, "2026-11-20T05:55Z");
    }

    #[test]
    fn reports_say_nothing_in_one_line_and_fit_the_size_limit() {
        let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
        let empty = render(&w, &StatsShard::default(), &Coverage::default(), None);
        assert_eq!(empty.subject, "trailwatch daily summary 2026-11-20: no findings");
        for line in [
            "No findings.",
            "No root activity.",
            "No console sign-ins.",
            "No IAM changes.",
            "Every delivered log file was processed.",
        ] {
            assert!(empty.body.contains(line), "{line}");
        }

        let mut big = StatsShard::default();
        for i in 0..20_000 {
            big.principals.add(&format!("arn:aws:sts::111122223333:assumed-role/r/{i}-{}", "x".repeat(40)), 1);
            big.source_ips.add(&format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), 1);
        }
        let coverage = Coverage {
            unprocessed: (0..50).map(|i| format!("s3://b/{i}")).collect(),
            unprocessed_total: 5000,
            delivered: 9000,
            processed: 4000,
            ..Default::default()
        };
        let report = render(&w, &big, &coverage, Some(&StatsShard::default()));
        assert!(report.body.len() <= MAX_BODY);
        assert!(report.body.contains("Not processed (5000)"));
        assert!(report.body.contains("... and 19980 more"));
    }
}
