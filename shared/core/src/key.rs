//! S3 object keys: decoding the form-encoded keys of S3 notifications and
//! telling CloudTrail log files from everything else that lands in the bucket.

use percent_encoding::percent_decode_str;

use crate::error::{Error, ErrorKind, Result};

/// Decodes a key from an S3 event notification: `+` is a space, then
/// percent-decoding (in that order, so `%2B` stays a plus sign).
pub fn decode_s3_key(key: &str) -> Result<String> {
    let spaced = key.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| Error::new(ErrorKind::Key(format!("'{key}' does not decode to UTF-8: {e}"))))
}

/// A CloudTrail log file's identity, parsed from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    pub org_id: Option<String>,
    pub account_id: String,
    pub region: String,
    /// `YYYY/MM/DD` from the key.
    pub date: String,
    /// The delivery time in the file name, `YYYYMMDDTHHmmZ`.
    pub time: String,
}

impl LogKey {
    /// `YYYY/MM/DD/HH` of the file name's time, for date-partitioned state.
    pub fn hour_path(&self) -> String {
        let t = &self.time;
        format!("{}/{}/{}/{}", &t[0..4], &t[4..6], &t[6..8], &t[9..11])
    }
}

/// A CloudTrail digest file's identity, parsed from its key
/// (`AWSLogs/[o-.../]<account>/CloudTrail-Digest/<region>/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestKey {
    pub account_id: String,
    /// Each region signs its own digests; `None` when the key has no region.
    pub region: Option<String>,
}

/// What an object in a CloudTrail bucket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// A CloudTrail log file: scan it.
    Log(LogKey),
    /// An hourly digest file (log file integrity).
    Digest(DigestKey),
    /// A CloudTrail Insights file.
    Insight,
    /// AWS Config's 0-byte write check.
    ConfigWritabilityCheck,
    /// A 0-byte "folder" object or empty file.
    Folder,
    /// Anything else.
    Other,
}

impl KeyKind {
    /// Why a key that is not a log is skipped.
    pub fn skip_reason(&self) -> Option<&'static str> {
        match self {
            KeyKind::Log(_) => None,
            KeyKind::Digest(_) => Some("CloudTrail digest file"),
            KeyKind::Insight => Some("CloudTrail Insights file"),
            KeyKind::ConfigWritabilityCheck => Some("AWS Config writability check"),
            KeyKind::Folder => Some("0-byte folder object"),
            KeyKind::Other => Some("not a CloudTrail log key"),
        }
    }
}

/// Classifies a decoded key. `size` is the object's size when known: any
/// 0-byte object is a folder marker, whatever its name.
pub fn classify_key(key: &str, size: Option<u64>) -> KeyKind {
    if key.ends_with("ConfigWritabilityCheckFile") {
        return KeyKind::ConfigWritabilityCheck;
    }
    if key.ends_with('/') || size == Some(0) {
        return KeyKind::Folder;
    }
    let parts: Vec<&str> = key.split('/').collect();
    // Anything may come before AWSLogs/ (the trail's prefix).
    let Some(at) = parts.iter().position(|p| *p == "AWSLogs") else { return KeyKind::Other };
    let mut rest = &parts[at + 1..];
    let org_id = match rest.first() {
        Some(p) if p.starts_with("o-") => {
            rest = &rest[1..];
            Some(p.to_string())
        }
        _ => None,
    };
    match rest {
        [account, "CloudTrail-Digest", after @ ..] => KeyKind::Digest(DigestKey {
            account_id: account.to_string(),
            region: after.first().filter(|r| !r.is_empty()).map(|r| r.to_string()),
        }),
        // Insights files are read like log files: their records are the
        // insight events rules alert on (cloudtrail-insight-started).
        [account, kind @ ("CloudTrail" | "CloudTrail-Insight"), region, y, m, d, file] if is_account(account) => {
            match log_file_time(file, account, region) {
                Some(time) => KeyKind::Log(LogKey {
                    org_id,
                    account_id: account.to_string(),
                    region: region.to_string(),
                    date: format!("{y}/{m}/{d}"),
                    time: time.to_string(),
                }),
                None if *kind == "CloudTrail-Insight" => KeyKind::Insight,
                None => KeyKind::Other,
            }
        }
        [_, "CloudTrail-Insight", ..] => KeyKind::Insight,
        _ => KeyKind::Other,
    }
}

/// The account, region and time in a CloudTrail log file's name
/// (`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json[.gz]`).
pub fn parse_log_file_name(name: &str) -> Option<(String, String, String)> {
    let mut parts = name.splitn(4, '_');
    let (account, marker, region) = (parts.next()?, parts.next()?, parts.next()?);
    // Insights files are not listed in digests nor counted as deliveries.
    if !is_account(account) || marker != "CloudTrail" {
        return None;
    }
    let time = log_file_time(name, account, region)?;
    Some((account.to_string(), region.to_string(), time.to_string()))
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json.gz` (or
/// `_CloudTrail-Insight_`): the time.
fn log_file_time<'a>(file: &'a str, account: &str, region: &str) -> Option<&'a str> {
    let after = file.strip_prefix(account)?;
    let after = after.strip_prefix("_CloudTrail_").or_else(|| after.strip_prefix("_CloudTrail-Insight_"))?;
    let rest = after.strip_prefix(region)?.strip_prefix('_')?;
    if !(rest.ends_with(".json.gz") || rest.ends_with(".json")) {
        return None;
    }
    let time = rest.get(..14)?;
    let b = time.as_bytes();
    let ok = b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit) && b[8] == b'T' && b[13] == b'Z';
    ok.then_some(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_file_names() {
        assert_eq!(
            parse_log_file_name("123456789012_CloudTrail_eu-west-1_20261120T0955Z_NetworkEvts00004.json.gz"),
            Some(("123456789012".into(), "eu-west-1".into(), "20261120T0955Z".into()))
        );
        assert_eq!(parse_log_file_name("notes.json"), None);
        // Insights files are read like logs but are not deliveries digests list.
        assert_eq!(parse_log_file_name("123456789012_CloudTrail-Insight_us-east-1_20261120T0915Z_Ab12.json.gz"), None);
        assert_eq!(parse_log_file_name("123456789012_CloudTrail_eu-west-1_2026112_x.json"), None);
    }

    #[test]
    fn decodes_plus_then_percent() {
        let cases = [
            ("AWSLogs/a+b", "AWSLogs/a b"),
            ("a%2Bb", "a+b"),
            ("x%20y+z", "x y z"),
            ("caf%C3%A9", "café"),
            ("plain/key.json.gz", "plain/key.json.gz"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_s3_key(raw).unwrap(), want, "{raw}");
        }
        assert!(decode_s3_key("bad%FF").is_err());
    }

    #[test]
    fn classifies_keys() {
        let log = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T1005Z_AbCdEfGhIjKlMnOp.json.gz";
        let org = "trail/AWSLogs/o-abc123def4/123456789012/CloudTrail/eu-west-1/2026/11/20/123456789012_CloudTrail_eu-west-1_20261120T1005Z_AbCdEfGhIjKlMnOp.json.gz";
        let cases: &[(&str, Option<u64>, &str)] = &[
            (log, Some(1200), "log"),
            (org, None, "log"),
            ("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T100000Z.json.gz", None, "Digest"),
            ("AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2026/11/20/x.json.gz", None, "Insight"),
            (
                "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2026/11/20/123456789012_CloudTrail-Insight_us-east-1_20261120T0915Z_Ab12.json.gz",
                None,
                "log",
            ),
            ("AWSLogs/123456789012/Config/ConfigWritabilityCheckFile", Some(0), "ConfigWritabilityCheck"),
            ("AWSLogs/123456789012/CloudTrail/", Some(0), "Folder"),
            (log, Some(0), "Folder"),
            ("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/readme.txt", None, "Other"),
            ("elsewhere/file.json.gz", None, "Other"),
        ];
        for (key, size, want) in cases {
            let got = classify_key(key, *size);
            let name = match &got {
                KeyKind::Log(_) => "log".to_string(),
                KeyKind::Digest(_) => "Digest".to_string(),
                other => format!("{other:?}"),
            };
            assert_eq!(name, *want, "{key}");
        }
        match classify_key(org, None) {
            KeyKind::Log(k) => {
                assert_eq!(k.org_id.as_deref(), Some("o-abc123def4"));
                assert_eq!(
                    (k.account_id.as_str(), k.region.as_str(), k.date.as_str()),
                    ("123456789012", "eu-west-1", "2026/11/20")
                );
            }
            other => panic!("{other:?}"),
        }
        let region = |key: &str| match classify_key(key, None) {
            KeyKind::Digest(d) => d.region,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            region("AWSLogs/o-1/123/CloudTrail-Digest/eu-west-1/2026/11/20/x.json.gz").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region("AWSLogs/123/CloudTrail-Digest"), None);
    }
}
