//! What `trailwatch query` selects: the options people type (`--since 7d`,
//! `--user alice`, `--ip 10.0.0.0/8`), checked and compiled into conditions
//! on one record's extracted values.
//!
//! Options of different kinds are ANDed; repeated values of one kind are
//! ORed (`--event ConsoleLogin --event SwitchRole`). Text options ignore
//! ASCII case and take `*` and `?` wildcards anywhere; `--where` patterns
//! keep CloudWatch Logs' exact, case-sensitive semantics.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use regex::Regex;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::error::{Error, ErrorKind, Result};

fn bad(message: String) -> Error {
    Error::new(ErrorKind::Query(message))
}

/// The options of one query, as given. See the module docs for how they combine.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Events before this time.
    pub until: Option<OffsetDateTime>,
    /// `eventName`.
    pub events: Vec<String>,
    /// `eventSource`; `ec2` stands for `ec2.amazonaws.com`.
    pub sources: Vec<String>,
    /// A user name, an ARN, a principal ID, a session name or a role name.
    pub users: Vec<String>,
    /// `userIdentity.accessKeyId`.
    pub access_keys: Vec<String>,
    /// The account the event belongs to (`recipientAccountId`).
    pub accounts: Vec<String>,
    /// `awsRegion`.
    pub regions: Vec<String>,
    /// `sourceIPAddress`: an address, a CIDR range, or text (`*.amazonaws.com`).
    pub ips: Vec<String>,
    /// An ARN or a name in `resources[]`, `requestParameters` or `responseElements`.
    pub resources: Vec<String>,
    /// `Some(true)`: only failed calls; `Some(false)`: only successful ones.
    pub error: Option<bool>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// CloudWatch Logs filter patterns, all of which must match.
    pub patterns: Vec<String>,
    /// Accounts that are not "outside" for the facts patterns and columns read.
    pub trusted: crate::facts::Trusted,
}

/// Parses a `--since`/`--until` value: RFC 3339 (`2026-11-20T09:00:00Z`), a
/// date (`2026-11-20`, midnight UTC), or a duration before `now` (`7d`,
/// `2h`, `30m`, `1week`).
pub fn parse_time(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(text, &date_format) {
        return Ok(date.midnight().assume_utc());
    }
    match humantime::parse_duration(text) {
        Ok(ago) => time::Duration::try_from(ago).ok().and_then(|ago| now.checked_sub(ago)).ok_or_else(|| {
            bad(format!("'{text}' ago is before the earliest time there is (the year -9999): give a shorter duration"))
        }),
        Err(_) => Err(bad(format!(
            "'{text}' is not a time: give RFC 3339 (2026-11-20T09:00:00Z), a date (2026-11-20) or a duration ago (7d, 2h)"
        ))),
    }
}

/// Parses `true`/`false` (and `yes`/`no`) for `--read-only`.
pub fn parse_bool(text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        other => Err(bad(format!("'{other}' is not true or false"))),
    }
}

/// A wildcard pattern (`*` any text, `?` one character), ASCII case ignored.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    regex: Option<Regex>,
}

impl Glob {
    pub fn new(text: &str) -> Result<Glob> {
        let lower = text.to_ascii_lowercase();
        if !lower.contains(['*', '?']) {
            return Ok(Glob { text: lower, regex: None });
        }
        let mut source = String::from("^");
        for c in lower.chars() {
            match c {
                '*' => source.push_str(".*"),
                '?' => source.push('.'),
                c => source.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        source.push('$');
        let regex = crate::limits::regex(&source).map_err(|e| bad(format!("'{text}': {e}")))?;
        Ok(Glob { text: lower, regex: Some(regex) })
    }

    /// True when the pattern has wildcards.
    pub fn is_wild(&self) -> bool {
        self.regex.is_some()
    }

    pub fn matches(&self, value: &str) -> bool {
        match &self.regex {
            None => value.eq_ignore_ascii_case(&self.text),
            Some(regex) => regex.is_match(&value.to_ascii_lowercase()),
        }
    }

    /// Matches the whole value, or (without wildcards) the name at the end of
    /// an ARN or path: `my-bucket` matches `arn:aws:s3:::my-bucket`, `alice`
    /// matches `arn:aws:iam::123456789012:user/alice`.
    pub fn matches_name(&self, value: &str) -> bool {
        if self.matches(value) {
            return true;
        }
        if self.is_wild() || value.len() <= self.text.len() {
            return false;
        }
        let cut = value.len() - self.text.len();
        value.is_char_boundary(cut)
            && value[cut..].eq_ignore_ascii_case(&self.text)
            && matches!(value.as_bytes()[cut - 1], b'/' | b':')
    }
}

/// Compiles every value of one option.
pub fn globs(values: &[String]) -> Result<Vec<Glob>> {
    values.iter().map(|v| Glob::new(v.trim())).collect()
}

/// `--source ec2` means `ec2.amazonaws.com`.
pub fn source_glob(value: &str) -> Result<Glob> {
    let value = value.trim();
    if value.contains('.') || value.contains('*') {
        Glob::new(value)
    } else {
        Glob::new(&format!("{value}.amazonaws.com"))
    }
}

/// One `--ip` value: a range, or text for the names CloudTrail writes there
/// (`ec2.amazonaws.com`, `AWS Internal`).
#[derive(Debug, Clone)]
pub enum IpMatch {
    Net(IpNet),
    Text(Glob),
}

impl IpMatch {
    pub fn parse(text: &str) -> Result<IpMatch> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(IpMatch::Net(net.trunc()));
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(IpMatch::Net(IpNet::from(addr)));
        }
        if text.contains('/') {
            return Err(bad(format!("'{text}' is not a CIDR range")));
        }
        Ok(IpMatch::Text(Glob::new(text)?))
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            IpMatch::Net(net) => value.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
            IpMatch::Text(glob) => glob.matches(value),
        }
    }
}

/// `eventTime` inside `[since, until)`; an event without a readable time is
/// outside any bounded range.
pub fn in_range(event_time: Option<&str>, since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> bool {
    if since.is_none() && until.is_none() {
        return true;
    }
    let Some(t) = event_time.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()) else { return false };
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)
}

/// How late CloudTrail may deliver an event after it happened, for pruning
/// files by the time in their names. Delivery is ~5 minutes on average and
/// not guaranteed; an hour keeps late files in.
pub const LATE_DELIVERY: Duration = Duration::from_secs(3600);

/// Whether a log file delivered at `delivered` can hold events in
/// `[since, until)`: its events happened before it was delivered, and at
/// most `late` before.
pub fn file_may_overlap(
    delivered: OffsetDateTime,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    late: Duration,
) -> bool {
    let after_since = since.is_none_or(|s| delivered >= s);
    let before_until = until.is_none_or(|u| delivered - late < u);
    after_since && before_until
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_parse_as_rfc3339_dates_or_durations_ago() {
        let now = datetime!(2026-11-23 12:00 UTC);
        let cases = [
            ("2026-11-20T09:05:06Z", datetime!(2026-11-20 09:05:06 UTC)),
            ("2026-11-20T10:05:06+01:00", datetime!(2026-11-20 09:05:06 UTC)),
            ("2026-11-20", datetime!(2026-11-20 00:00 UTC)),
            ("7d", datetime!(2026-11-16 12:00 UTC)),
            ("2h", datetime!(2026-11-23 10:00 UTC)),
            ("1week", datetime!(2026-11-16 12:00 UTC)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text, now).unwrap(), want, "{text}");
        }
        for text in ["yesterday", "2026-13-01", "", "99999999999999d", "18446744073709551615s"] {
            assert!(parse_time(text, now).is_err(), "{text}");
        }
    }

    #[test]
    fn globs_ignore_case_and_take_wildcards_anywhere() {
        let cases = [
            ("ConsoleLogin", "consolelogin", true),
            ("ConsoleLogin", "ConsoleLogins", false),
            ("Describe*", "DescribeInstances", true),
            ("*SecurityGroup*", "AuthorizeSecurityGroupIngress", true),
            ("Put*Policy", "PutBucketPolicy", true),
            ("Put*Policy", "PutBucketAcl", false),
            ("us-?ast-1", "us-east-1", true),
            ("a.b", "axb", false),
        ];
        for (pattern, value, want) in cases {
            assert_eq!(Glob::new(pattern).unwrap().matches(value), want, "{pattern} ~ {value}");
        }
    }

    #[test]
    fn names_match_the_end_of_arns_and_paths() {
        let cases = [
            ("alice", "arn:aws:iam::123456789012:user/alice", true),
            ("alice", "arn:aws:iam::123456789012:user/malice", false),
            ("app-data", "arn:aws:s3:::app-data", true),
            ("root", "arn:aws:iam::123456789012:root", true),
            ("data", "arn:aws:s3:::app-data", false),
            ("ali*", "arn:aws:iam::123456789012:user/alice", false),
        ];
        for (pattern, value, want) in cases {
            assert_eq!(Glob::new(pattern).unwrap().matches_name(value), want, "{pattern} ~ {value}");
        }
    }

    #[test]
    fn ip_filters_take_addresses_ranges_and_names() {
        let cases = [
            ("203.0.113.45", "203.0.113.45", true),
            ("203.0.113.45", "203.0.113.46", false),
            ("203.0.113.0/24", "203.0.113.200", true),
            ("203.0.113.7/24", "203.0.113.200", true),
            ("10.0.0.0/8", "203.0.113.200", false),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "203.0.113.5", false),
            ("*.amazonaws.com", "ec2.amazonaws.com", true),
            ("10.0.0.0/8", "ec2.amazonaws.com", false),
        ];
        for (filter, value, want) in cases {
            assert_eq!(IpMatch::parse(filter).unwrap().matches(value), want, "{filter} ~ {value}");
        }
        assert!(IpMatch::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn sources_get_the_amazonaws_suffix() {
        assert!(source_glob("ec2").unwrap().matches("ec2.amazonaws.com"));
        assert!(source_glob("s3.amazonaws.com").unwrap().matches("s3.amazonaws.com"));
        assert!(source_glob("*").unwrap().matches("s3.amazonaws.com"));
    }

    #[test]
    fn time_ranges_are_half_open_and_prune_with_late_delivery() {
        let since = Some(datetime!(2026-11-20 09:00 UTC));
        let until = Some(datetime!(2026-11-20 10:00 UTC));
        assert!(in_range(Some("2026-11-20T09:00:00Z"), since, until));
        assert!(!in_range(Some("2026-11-20T10:00:00Z"), since, until));
        assert!(!in_range(None, since, until));
        assert!(in_range(None, None, None));
        let late = LATE_DELIVERY;
        assert!(!file_may_overlap(datetime!(2026-11-20 08:55 UTC), since, until, late), "delivered before since");
        assert!(file_may_overlap(datetime!(2026-11-20 09:05 UTC), since, until, late));
        assert!(file_may_overlap(datetime!(2026-11-20 10:55 UTC), since, until, late), "a late delivery");
        assert!(!file_may_overlap(datetime!(2026-11-20 11:05 UTC), since, until, late), "over an hour after until");
    }
}
