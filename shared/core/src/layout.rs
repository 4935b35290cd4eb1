//! The CloudTrail key layout as folders, for reading a bucket without listing
//! all of it: `[prefix/]AWSLogs/[o-…/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`.
//!
//! [`folder`] says what a listed folder is; [`Scope::keep`] says whether a
//! folder can hold log files the command wants (by account, region and the
//! delivery times its date allows), so a listing descends level by level
//! only where it matters.

use std::time::Duration;

use time::{Date, Month, OffsetDateTime, Time};

use crate::key::LogKey;
use crate::query::{Glob, Query};
use crate::summary::parse_file_time;

/// What a folder (a common prefix ending in `/`) of a CloudTrail bucket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Folder {
    /// Before `AWSLogs/`: the trail's own prefix (any depth).
    Prefix,
    /// `AWSLogs/`.
    AwsLogs,
    /// `AWSLogs/o-…/`: an organization trail's folder.
    Organization,
    /// `AWSLogs/[o-…/]ACCOUNT/`.
    Account { account: String },
    /// `…/ACCOUNT/KIND/`: `CloudTrail`, `CloudTrail-Digest`, `CloudTrail-Insight`, …
    Kind { account: String, kind: String },
    /// `…/KIND/REGION/`.
    Region { account: String, kind: String, region: String },
    /// `…/REGION/YYYY/`, `…/YYYY/MM/`, `…/MM/DD/`: the delivery times `[start, end)` it holds.
    Dated { account: String, region: String, level: DateLevel, start: OffsetDateTime, end: OffsetDateTime },
    /// Anything else under `AWSLogs/` (not the layout: never holds log files).
    Unknown,
}

/// The depth of a dated folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateLevel {
    Year,
    Month,
    Day,
}

/// What a folder of the layout is, from its whole path (`a/b/c/`).
pub fn folder(path: &str) -> Folder {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let Some(at) = parts.iter().position(|p| *p == "AWSLogs") else { return Folder::Prefix };
    let mut rest = &parts[at + 1..];
    match rest.first() {
        None => return Folder::AwsLogs,
        Some(p) if p.starts_with("o-") => {
            rest = &rest[1..];
            if rest.is_empty() {
                return Folder::Organization;
            }
        }
        Some(_) => {}
    }
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u16>().ok()).flatten()
    };
    match rest {
        [account] if is_account(account) => Folder::Account { account: account.to_string() },
        [account, kind] if is_account(account) => Folder::Kind { account: account.to_string(), kind: kind.to_string() },
        [account, kind, region] if is_account(account) => {
            Folder::Region { account: account.to_string(), kind: kind.to_string(), region: region.to_string() }
        }
        [account, _, region, date @ ..] if is_account(account) && date.len() <= 3 => {
            let fields: Option<Vec<u16>> = date.iter().zip([4, 2, 2]).map(|(part, len)| number(part, len)).collect();
            let Some(fields) = fields else { return Folder::Unknown };
            match dated_range(&fields) {
                Some((level, start, end)) => {
                    Folder::Dated { account: account.to_string(), region: region.to_string(), level, start, end }
                }
                None => Folder::Unknown,
            }
        }
        _ => Folder::Unknown,
    }
}

/// `[start, end)` of a year, month or day folder (UTC).
fn dated_range(fields: &[u16]) -> Option<(DateLevel, OffsetDateTime, OffsetDateTime)> {
    let at = |date: Date| OffsetDateTime::new_utc(date, Time::MIDNIGHT);
    let year = i32::from(*fields.first()?);
    match fields {
        [_] => {
            let start = Date::from_calendar_date(year, Month::January, 1).ok()?;
            let end = Date::from_calendar_date(year + 1, Month::January, 1).ok()?;
            Some((DateLevel::Year, at(start), at(end)))
        }
        [_, month] => {
            let month = Month::try_from(u8::try_from(*month).ok()?).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let next = if month == Month::December { year + 1 } else { year };
            let end = Date::from_calendar_date(next, month.next(), 1).ok()?;
            Some((DateLevel::Month, at(start), at(end)))
        }
        [_, month, day] => {
            let month = Month::try_from(u8::try_from(*month).ok()?).ok()?;
            let start = Date::from_calendar_date(year, month, u8::try_from(*day).ok()?).ok()?;
            Some((DateLevel::Day, at(start), at(start.next_day()?)))
        }
        _ => None,
    }
}

/// Why a folder is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// An account the command does not ask for.
    Account,
    /// A region the command does not ask for.
    Region,
    /// Delivery dates outside the time range.
    Time,
    /// Not CloudTrail log files (digests, Config, other services, unknown folders).
    NotLogs,
}

impl Skip {
    /// `by account`, `by region`, `by the time range`, `not log files`.
    pub fn describe(self) -> &'static str {
        match self {
            Skip::Account => "by account",
            Skip::Region => "by region",
            Skip::Time => "by the time range",
            Skip::NotLogs => "holding no log files",
        }
    }
}

/// What a command wants from a bucket: accounts and regions (empty: all), the
/// event time range, and how long after an event its file may be delivered.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub accounts: Vec<Glob>,
    pub regions: Vec<Glob>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// A file delivered at `t` holds events from `t - late` to `t`.
    pub late: Duration,
    /// The kinds of folder read (`CloudTrail`, and `CloudTrail-Insight` for insights).
    pub kinds: Vec<String>,
}

impl Scope {
    /// Log files and Insights files, as scan, query and summary read them.
    pub fn logs() -> Scope {
        Scope { kinds: vec!["CloudTrail".into(), "CloudTrail-Insight".into()], ..Scope::default() }
    }

    /// What a query asks for: its accounts, regions and time range.
    pub fn of_query(query: &Query) -> Scope {
        let (accounts, regions, since, until, late) = query.bounds();
        Scope { accounts: accounts.to_vec(), regions: regions.to_vec(), since, until, late, ..Scope::logs() }
    }

    /// `Ok` to descend into (or read) the folder, or why not.
    pub fn keep(&self, folder: &Folder) -> Result<(), Skip> {
        let account_ok = |a: &str| self.accounts.is_empty() || self.accounts.iter().any(|g| g.matches(a));
        let region_ok = |r: &str| self.regions.is_empty() || self.regions.iter().any(|g| g.matches(r));
        match folder {
            Folder::Prefix | Folder::AwsLogs | Folder::Organization => Ok(()),
            Folder::Unknown => Err(Skip::NotLogs),
            Folder::Account { account } => account_ok(account).then_some(()).ok_or(Skip::Account),
            Folder::Kind { kind, .. } => self.kinds.iter().any(|k| k == kind).then_some(()).ok_or(Skip::NotLogs),
            Folder::Region { region, .. } => region_ok(region).then_some(()).ok_or(Skip::Region),
            Folder::Dated { start, end, .. } => self.delivered_within(*start, *end),
        }
    }

    /// `Ok` to read a log file, by the account, region and delivery time in its key.
    pub fn keep_log(&self, key: &LogKey) -> Result<(), Skip> {
        let (account, region) = (key.account_id.clone(), key.region.clone());
        self.keep(&Folder::Account { account })?;
        self.keep(&Folder::Region { account: key.account_id.clone(), kind: String::new(), region })?;
        match parse_file_time(&key.time) {
            Some(t) => self.delivered_within(t, t + Duration::from_nanos(1)),
            None => Ok(()),
        }
    }

    /// Whether some delivery time `t` in `[start, end)` has `t >= since` and
    /// `t - late < until` (for one file, `[t, t + 1ns)`: the query's own rule).
    fn delivered_within(&self, start: OffsetDateTime, end: OffsetDateTime) -> Result<(), Skip> {
        let after_since = self.since.is_none_or(|s| end > s);
        let before_until = self.until.is_none_or(|u| start - self.late < u);
        (after_since && before_until).then_some(()).ok_or(Skip::Time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn folders_of_the_layout() {
        let account = || "111122223333".to_string();
        let cases = [
            ("trail/", Folder::Prefix),
            ("trail/AWSLogs/", Folder::AwsLogs),
            ("AWSLogs/o-abc123/", Folder::Organization),
            ("AWSLogs/o-abc123/111122223333/", Folder::Account { account: account() }),
            ("AWSLogs/111122223333/", Folder::Account { account: account() }),
            ("AWSLogs/111122223333/CloudTrail/", Folder::Kind { account: account(), kind: "CloudTrail".into() }),
            (
                "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/",
                Folder::Region { account: account(), kind: "CloudTrail".into(), region: "eu-west-1".into() },
            ),
            ("AWSLogs/notes/", Folder::Unknown),
            ("AWSLogs/111122223333/CloudTrail/eu-west-1/20x6/", Folder::Unknown),
            ("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/", Folder::Unknown),
            ("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/30/", Folder::Unknown),
            ("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/extra/", Folder::Unknown),
        ];
        for (path, want) in cases {
            assert_eq!(folder(path), want, "{path}");
        }
        let dated = |path: &str| match folder(path) {
            Folder::Dated { level, start, end, .. } => (level, start, end),
            other => panic!("{path}: {other:?}"),
        };
        let base = "AWSLogs/o-1/111122223333/CloudTrail/us-east-1/";
        assert_eq!(
            dated(&format!("{base}2026/")),
            (DateLevel::Year, datetime!(2026-01-01 0:00 UTC), datetime!(2027-01-01 0:00 UTC))
        );
        assert_eq!(
            dated(&format!("{base}2026/12/")),
            (DateLevel::Month, datetime!(2026-12-01 0:00 UTC), datetime!(2027-01-01 0:00 UTC))
        );
        assert_eq!(
            dated(&format!("{base}2026/11/30/")),
            (DateLevel::Day, datetime!(2026-11-30 0:00 UTC), datetime!(2026-12-01 0:00 UTC))
        );
    }

    #[test]
    fn scope_keeps_only_what_can_match() {
        let scope = Scope {
            accounts: vec![Glob::new("1111*").unwrap()],
            regions: vec![Glob::new("eu-*").unwrap()],
            since: Some(datetime!(2026-11-20 10:00 UTC)),
            until: Some(datetime!(2026-11-21 0:00 UTC)),
            late: Duration::from_secs(3600),
            ..Scope::logs()
        };
        let base = "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/";
        let cases: &[(&str, Result<(), Skip>)] = &[
            ("AWSLogs/o-1/", Ok(())),
            ("AWSLogs/o-1/111122223333/", Ok(())),
            ("AWSLogs/o-1/444455556666/", Err(Skip::Account)),
            ("AWSLogs/o-1/111122223333/CloudTrail/", Ok(())),
            ("AWSLogs/o-1/111122223333/CloudTrail-Digest/", Err(Skip::NotLogs)),
            ("AWSLogs/o-1/111122223333/CloudTrail/us-east-1/", Err(Skip::Region)),
            (base, Ok(())),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2025/", Err(Skip::Time)),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/", Ok(())),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/10/", Err(Skip::Time)),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/19/", Err(Skip::Time)),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/20/", Ok(())),
            // Files delivered just after midnight hold events of the 20th.
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/21/", Ok(())),
            ("AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2026/11/22/", Err(Skip::Time)),
            ("AWSLogs/o-1/111122223333/Config/", Err(Skip::NotLogs)),
            ("AWSLogs/elsewhere/", Err(Skip::NotLogs)),
        ];
        for (path, want) in cases {
            assert_eq!(scope.keep(&folder(path)), *want, "{path}");
        }
        let log = |name: &str| match crate::key::classify_key(&format!("{base}2026/11/20/{name}"), None) {
            crate::key::KeyKind::Log(key) => scope.keep_log(&key),
            other => panic!("{other:?}"),
        };
        assert_eq!(log("111122223333_CloudTrail_eu-west-1_20261120T0955Z_a.json.gz"), Err(Skip::Time));
        assert_eq!(log("111122223333_CloudTrail_eu-west-1_20261120T1000Z_a.json.gz"), Ok(()));
        assert_eq!(log("111122223333_CloudTrail_eu-west-1_20261121T0059Z_a.json.gz"), Ok(()));
        assert_eq!(log("111122223333_CloudTrail_eu-west-1_20261121T0100Z_a.json.gz"), Err(Skip::Time));
        let all = Scope::logs();
        assert_eq!(all.keep(&folder(&format!("{base}1999/01/01/"))), Ok(()));
    }
}
