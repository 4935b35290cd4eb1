//! Threshold rules: a pattern, plus "alert when one principal (or IP, or
//! ...) makes N matches, or N distinct values of a field, within a window".
//!
//! ```toml
//! [rule.threshold]
//! by = ["principal", "account"]   # what to count per (default: principal and account)
//! count = 20                      # alert at this many
//! distinct = "request"            # optional: count distinct values of this field instead of matches
//! window = "10m"                  # 1 minute to 24 hours
//! ```
//!
//! Semantics, exactly: event times are cut into fixed windows aligned to the
//! Unix epoch (`floor(eventTime / window)`; a record without a time falls in
//! window 0). Per rule, per value of `by`, per window, the matches (or the
//! distinct values of `distinct`) are counted; when the count reaches
//! `count`, the rule alerts once for that window. A burst that straddles a
//! window boundary is counted in two windows. Matches of a threshold rule
//! never alert one by one; they are counted in the statistics like any
//! other finding. The CLI counts across every file it is given; the
//! detection function across every file, with each file's counts kept in
//! the state bucket.
//!
//! This module is the rule's threshold as written; the counting is in
//! [`crate::tally`], the alert in [`crate::alert`].

use serde::{Deserialize, Serialize};

/// A field of a finding to count per, or to count distinct values of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupField {
    Principal,
    Account,
    Region,
    SourceIp,
    UserAgent,
    EventName,
    /// `requestParameters` as compact JSON (distinct resources asked for).
    Request,
}

impl GroupField {
    pub fn name(self) -> &'static str {
        match self {
            GroupField::Principal => "principal",
            GroupField::Account => "account",
            GroupField::Region => "region",
            GroupField::SourceIp => "source_ip",
            GroupField::UserAgent => "user_agent",
            GroupField::EventName => "event_name",
            GroupField::Request => "request",
        }
    }
}

fn default_by() -> Vec<GroupField> {
    vec![GroupField::Principal, GroupField::Account]
}

/// A rule's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default = "default_by")]
    pub by: Vec<GroupField>,
    pub count: u64,
    #[serde(default)]
    pub distinct: Option<GroupField>,
    pub window: String,
}

impl Threshold {
    /// The window in seconds, checked: 1 minute to 24 hours.
    pub fn window_secs(&self) -> Result<i64, String> {
        duration_secs("threshold window", &self.window, 60..=86_400, "between 1m and 24h")
    }

    pub fn validate(&self) -> Result<(), String> {
        self.window_secs()?;
        if self.count < 2 {
            return Err("a threshold count below 2 is a plain rule: leave the threshold out".into());
        }
        if self.by.is_empty() {
            return Err("threshold `by` needs at least one field".into());
        }
        Ok(())
    }
}

/// A duration a rule file gives (`10m`, `14d`) in seconds, checked against
/// `range`; errors name `what` and the text, and say `bounds` when out of range.
pub fn duration_secs(
    what: &str,
    text: &str,
    range: std::ops::RangeInclusive<i64>,
    bounds: &str,
) -> Result<i64, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| format!("{what} '{text}': {e}"))?;
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    if !range.contains(&secs) {
        return Err(format!("{what} '{text}' must be {bounds}"));
    }
    Ok(secs)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::rule::RuleSet;

    /// A threshold rule the tests of counting use too.
    pub(crate) const RULE: &str = r#"[[rule]]
id = "secret-burst"
title = "Secrets burst"
severity = "high"
pattern = '{ $.eventName = GetSecretValue }'
threshold = { by = ["principal"], count = 3, distinct = "request", window = "10m" }
description = "d"
examples.match = ['{"eventName":"GetSecretValue"}']
examples.no_match = ['{"eventName":"X"}']
"#;

    #[test]
    fn bad_thresholds_are_refused_when_rules_load() {
        for (threshold, problem) in [
            (r#"{ count = 1, window = "10m" }"#, "below 2"),
            (r#"{ count = 5, window = "10s" }"#, "between 1m and 24h"),
            (r#"{ count = 5, window = "soon" }"#, "threshold window"),
            (r#"{ count = 5, window = "1h", by = [] }"#, "at least one field"),
            (r#"{ count = 5, window = "1h", by = ["colour"] }"#, "unknown variant"),
        ] {
            let text =
                RULE.replace(r#"{ by = ["principal"], count = 3, distinct = "request", window = "10m" }"#, threshold);
            let error = RuleSet::from_toml(&text, "t.toml").unwrap_err().to_string();
            assert!(error.contains(problem), "{threshold}: {error}");
        }
    }
}
