//! The periodic summary: its window, coverage (log files delivered vs
//! processed, silent account/regions) and the plain-text report.
//!
//! Everything here is pure: the Lambda and the CLI gather the data (shards or
//! scans, object listings) and call the same functions, so the same files
//! give the same report. Nothing depends on the wall clock: the window comes
//! from the scheduled event's time, so a late or retried invocation reports
//! the same window.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{Error, ErrorKind, Result};
use crate::stats::StatsShard;

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
    /// Which of the delivered files a digest vouched for.
    #[serde(default)]
    pub digests: DigestCoverage,
    /// Alerts an output refused for good (recorded by the detection function).
    #[serde(default)]
    pub rejected_alerts: u64,
    /// Findings folded into follow-up alerts by flood control.
    #[serde(default)]
    pub folded_findings: u64,
}

/// Log file integrity over the window: which delivered files a verified
/// digest vouched for (their hash matched), and which not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCoverage {
    /// Digests verified for the window.
    pub digests: u64,
    pub verified: u64,
    /// Delivered in the window's last hour: their digest may not have come yet.
    pub awaiting: u64,
    /// The others no digest vouched for (first ones, sorted), and how many in all.
    pub unverified: Vec<String>,
    pub unverified_total: u64,
}

/// Sorts the window's delivered files by whether a digest vouched for them
/// (`verified` holds their sources).
pub fn digest_coverage(
    window: &Window,
    delivered: &[Delivered],
    digests: u64,
    verified: &BTreeSet<String>,
    cap: usize,
) -> DigestCoverage {
    let last_hour = window.end - time::Duration::HOUR;
    let mut out = DigestCoverage { digests, ..DigestCoverage::default() };
    let mut unverified = Vec::new();
    for d in delivered.iter().filter(|d| window.contains(d.time)) {
        if verified.contains(&d.source) {
            out.verified += 1;
        } else if d.time >= last_hour {
            out.awaiting += 1;
        } else {
            unverified.push(d.source.clone());
        }
    }
    unverified.sort();
    out.unverified_total = unverified.len() as u64;
    unverified.truncate(cap);
    out.unverified = unverified;
    out
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
        digests: DigestCoverage::default(),
        rejected_alerts: 0,
        folded_findings: 0,
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

mod render;

pub use render::{render, Report};

#[cfg(test)]
mod tests;
