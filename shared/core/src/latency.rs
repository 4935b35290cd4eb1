//! Time to alert: from an event's `eventTime` to the moment its alert was
//! handed to the primary output, per lane (`file`, `eventbridge`,
//! `cloudwatch-logs`).
//!
//! Kept as a histogram with fixed bucket bounds, so that shards merge by
//! adding counts (in any order, with the same result) and a shard's size
//! never grows with the number of alerts: [`BOUNDS`] buckets and one
//! exact maximum per lane. A percentile is read as the upper bound of the
//! bucket it falls in ("at most 20 s"), never finer than the buckets.
//!
//! `eventTime` comes from the record, so it is attacker-controlled: a time
//! in the future counts as 0 s, a time years back lands in the last bucket.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Upper bounds of the buckets, in seconds; one more bucket holds the rest.
pub const BOUNDS: [u64; 22] =
    [1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600, 86_400];

/// One lane's times to alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeToAlert {
    /// Alerts counted.
    pub alerts: u64,
    /// Counts per bucket of [`BOUNDS`], then the bucket past the last bound;
    /// trailing empty buckets are left out.
    pub buckets: Vec<u64>,
    /// The longest, in seconds.
    pub max_seconds: u64,
}

impl TimeToAlert {
    /// Counts one alert `seconds` after its event.
    pub fn observe(&mut self, seconds: u64) {
        let bucket = BOUNDS.iter().position(|&b| seconds <= b).unwrap_or(BOUNDS.len());
        if self.buckets.len() <= bucket {
            self.buckets.resize(bucket + 1, 0);
        }
        self.buckets[bucket] += 1;
        self.alerts += 1;
        self.max_seconds = self.max_seconds.max(seconds);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &TimeToAlert) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.alerts += other.alerts;
        self.max_seconds = self.max_seconds.max(other.max_seconds);
    }

    /// The time within which `percent` of the alerts went out: the upper
    /// bound of the bucket the rank falls in, never above the maximum.
    /// `None` with no alerts.
    pub fn percentile(&self, percent: u64) -> Option<u64> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (total * percent.min(100)).div_ceil(100).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let bound = BOUNDS.get(i).copied().unwrap_or(u64::MAX);
                return Some(bound.min(self.max_seconds));
            }
        }
        Some(self.max_seconds)
    }
}

/// Times to alert by lane.
pub type ByLane = BTreeMap<String, TimeToAlert>;

/// Seconds from `event_time` (RFC 3339) to `sent` (seconds since the
/// epoch); 0 for a time after `sent`, `None` when it does not parse.
pub fn seconds_since(event_time: &str, sent: u64) -> Option<u64> {
    let at = OffsetDateTime::parse(event_time, &Rfc3339).ok()?.unix_timestamp();
    Some(u64::try_from(i64::try_from(sent).ok()?.saturating_sub(at)).unwrap_or(0))
}

/// `90 s`, `12 min`, `3.5 h`, `16 d`: a duration as people read it.
pub fn human(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(seconds: &[u64]) -> TimeToAlert {
        let mut t = TimeToAlert::default();
        seconds.iter().for_each(|&s| t.observe(s));
        t
    }

    #[test]
    fn percentiles_are_bucket_bounds_capped_by_the_maximum() {
        let t = lane(&[2, 3, 4, 4, 6, 8, 9, 12, 40, 400]);
        assert_eq!(t.alerts, 10);
        assert_eq!(t.percentile(50), Some(7), "the 5th of 10 is 6 s, in the bucket up to 7 s");
        assert_eq!(t.percentile(90), Some(45));
        assert_eq!(t.percentile(100), Some(400), "the maximum, not the bucket's 450");
        assert_eq!(lane(&[]).percentile(50), None);
        assert_eq!(lane(&[200_000]).percentile(50), Some(200_000), "past the last bound");
    }

    #[test]
    fn merging_adds_in_any_order() {
        let (a, b) = (lane(&[1, 30, 900]), lane(&[5, 100_000]));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab, lane(&[1, 30, 900, 5, 100_000]));
    }

    #[test]
    fn event_times_are_read_with_care() {
        let sent = 1_795_165_566; // 2026-11-20T09:06:06Z
        let cases = [
            ("2026-11-20T09:05:06Z", Some(60)),
            ("2026-11-20T09:07:06Z", Some(0)),
            ("not a time", None),
            ("1970-01-01T00:00:00Z", Some(sent)),
        ];
        for (time, want) in cases {
            assert_eq!(seconds_since(time, sent), want, "{time}");
        }
        assert_eq!([human(59), human(600), human(9_000), human(1_400_000)], ["59 s", "10 min", "2.5 h", "16 d"]);
    }
}
