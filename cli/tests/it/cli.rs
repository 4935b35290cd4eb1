//! The `trailwatch` binary end to end, on the files in events/.

use std::path::PathBuf;

use crate::common::{repo, text, trailwatch};

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trailwatch-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn given_the_samples_when_scanned_as_jsonl_then_each_finding_has_every_field() {
    let out = trailwatch(&["scan", "events/cloudtrail", "--format", "jsonl", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("events/cloudtrail-expected.json")).unwrap()).unwrap();
    let want: usize =
        expected["events"].as_object().unwrap().values().map(|v| v["rules"].as_array().unwrap().len()).sum();
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), want);
    for line in &lines {
        for field in [
            "rule",
            "title",
            "severity",
            "tags",
            "event_id",
            "event_name",
            "event_source",
            "event_time",
            "account_id",
            "region",
            "principal_arn",
            "source_ip",
            "outcome",
            "file",
            "record_index",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
}

#[test]
fn given_malformed_files_then_each_problem_is_reported_and_good_records_still_scanned() {
    let out = trailwatch(&["scan", "events/malformed", "--format", "jsonl", "--quiet"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    for needle in [
        "bad-records.json, record 1, byte 609: record is not a JSON object",
        "bad-records.json, record 2, byte 630: record is not valid JSON: a word that is not true, false or null",
        "bad-records.json, record 4, byte 1247: record holds bytes that are not UTF-8",
        "bad-records.json, record 5, byte 1252: record nests deeper than",
        "empty.json, byte 0: the file is empty",
        "not-json.json, byte 0: not a CloudTrail log file: not JSON (it starts with",
        "truncated.json, record 1, byte 906: the JSON ends early",
        "truncated.json.gz, byte",
        "corrupt or truncated gzip",
        "wrong-shape.json, byte 0: not of the form",
    ] {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}:\n{stderr}");
    }
    let findings: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let from = |file: &str| findings.iter().filter(|f| f["file"].as_str().unwrap().ends_with(file)).count();
    // Each good root login gives two findings (root usage + root console login).
    assert_eq!(from("bad-records.json"), 6, "three good records survive the bad ones");
    assert_eq!(from("/truncated.json"), 2, "the record before the cut survives");
    assert!(from("truncated.json.gz") >= 10, "records before the gzip cut survive");
}

#[test]
fn min_severity_and_user_rules_and_suppressions_apply() {
    let out = trailwatch(&["scan", "events/cloudtrail", "--format", "jsonl", "--min-severity", "critical", "-q"]);
    let lines = text(&out.stdout);
    assert!(lines.lines().count() > 0);
    assert!(lines.lines().all(|l| l.contains(r#""severity":"critical""#)), "{lines}");

    let rules = temp_file(
        "mine.toml",
        br#"
disable = ["cis-cloudwatch-2-unauthorized-api-calls"]

[[rule]]
id = "bob-anything"
title = "Bob did something"
severity = "info"
pattern = '{ $.userIdentity.userName = bob }'
description = "Anything bob does."
examples.match = ['{"userIdentity":{"userName":"bob"}}']
examples.no_match = ['{"userIdentity":{"userName":"alice"}}']

[[suppression]]
rules = ["root-console-login"]
source_cidrs = ["203.0.113.0/24"]
reason = "office network"
"#,
    );
    let out = trailwatch(&["scan", "events/cloudtrail", "--format", "jsonl", "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(r#""rule":"bob-anything""#));
    assert!(!stdout.contains(r#""rule":"cis-cloudwatch-2-unauthorized-api-calls""#));
    assert!(!stdout.contains(r#""rule":"root-console-login""#));
    assert!(text(&out.stderr).contains("1 suppressed"), "{}", text(&out.stderr));

    let out = trailwatch(&["rules", "test", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 failed"));
    let out = trailwatch(&["rules", "list", "--rules", rules.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bob-anything") && stdout.contains(", disabled)") && stdout.contains("office network"));
    // Each rule says its grade and where it came from.
    let bob = stdout.lines().find(|l| l.starts_with("bob-anything")).unwrap();
    assert!(bob.contains(" alerts ") && bob.contains(&format!("({}", rules.display())), "{bob}");
    let burst = stdout.lines().find(|l| l.starts_with("discovery-burst ")).unwrap();
    assert!(burst.contains(" dry run ") && burst.contains("(built-in)"), "{burst}");
}

#[test]
fn a_bad_rule_file_fails_with_file_rule_and_pattern_error() {
    let rules = temp_file(
        "bad.toml",
        b"[[rule]]\nid='broken'\ntitle='t'\nseverity='high'\npattern='{ $.eventName ConsoleLogin }'\ndescription='d'\n",
    );
    let out = trailwatch(&["scan", "events/cloudtrail", "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("rule 'broken'") && stderr.contains("column 15"),
        "{stderr}"
    );

    let failing = temp_file(
        "failing.toml",
        b"[[rule]]\nid='wrong-example'\ntitle='t'\nseverity='low'\npattern='{ $.a = 1 }'\ndescription='d'\nexamples.match=['{\"a\":2}']\n",
    );
    let out = trailwatch(&["rules", "test", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL wrong-example"), "{}", text(&out.stdout));
}

#[test]
fn pattern_check_validates_and_lists_matching_event_ids() {
    let out = trailwatch(&["pattern", "check", "{ $.eventName ConsoleLogin }"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("at column 15") && stderr.contains("              ^"), "{stderr}");

    let out = trailwatch(&["pattern", "check", "{ $.userIdentity.type = Root }", "events/cloudtrail"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("pattern OK"));
    assert!(stdout.contains("ConsoleLogin") && stdout.contains("7 of 88 records match"), "{stdout}");
}

#[test]
fn control_characters_from_records_never_reach_the_terminal() {
    let log = temp_file(
        "evil.json",
        br#"{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root\u001b[2J"},"responseElements":{"ConsoleLogin":"Success"},"userAgent":"x\r\nFAKE LINE","eventID":"e\u202e1"}]}"#,
    );
    let out = trailwatch(&["scan", log.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'), "{stdout:?}");
    assert!(stdout.contains("root\\u{1b}[2J"), "{stdout}");
}

/// GIVEN secrets read by one principal spread over two files WHEN scanned
/// together THEN the threshold counts across both and is reported once.
#[test]
fn thresholds_count_across_the_scanned_files_and_report_once() {
    let dir = std::env::temp_dir().join(format!("trailwatch-threshold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (n, range) in [(1, 0..12), (2, 12..24)] {
        let records: Vec<String> = range
            .map(|i| {
                format!(
                    r#"{{"eventTime":"2026-11-21T10:0{}:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","recipientAccountId":"123456789012","userIdentity":{{"arn":"arn:aws:iam::123456789012:user/mallory"}},"requestParameters":{{"secretId":"s{i}"}}}}"#,
                    i % 9
                )
            })
            .collect();
        std::fs::write(dir.join(format!("part{n}.json")), format!(r#"{{"Records":[{}]}}"#, records.join(","))).unwrap();
    }
    let out = trailwatch(&["scan", dir.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reached: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("threshold").is_some())
        .collect();
    assert_eq!(reached.len(), 1, "{reached:?}");
    assert_eq!(reached[0]["threshold"]["rule"], "secrets-read-burst");
    assert_eq!(reached[0]["threshold"]["count"], 24);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scan_text_reads_most_severe_first_and_says_why_each_finding_matched() {
    let out = trailwatch(&["scan", "events/cloudtrail", "events/detections"]);
    let stdout = text(&out.stdout);
    // Each finding's first line: "[SEVERITY] title  (rule)"; its second starts with the event time.
    let order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];
    let mut last = (0, String::new());
    let lines: Vec<&str> = stdout.lines().collect();
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix('[') else { continue };
        let Some(rank) = order.iter().position(|s| rest.starts_with(&format!("{s}]"))) else { continue };
        let time = lines[i + 1].split_whitespace().next().unwrap_or_default().to_string();
        assert!((rank, time.clone()) >= last, "{line} at {time} after {last:?}");
        last = (rank, time);
        seen += 1;
    }
    assert!(seen > 50, "{seen} findings");
    // Why: the fields the pattern tested, and those the rule shows.
    for needle in [
        "matched facts.sg.worldOpen = true",
        "facts.sg.worldOpenPorts = tcp 22",
        "facts.sg.cidrs = 10.0.0.0/8, 0.0.0.0/0",
        "matched requestParameters.policyArn = arn:aws:iam::aws:policy/AdministratorAccess",
        "requestParameters.pendingWindowInDays = 7",
    ] {
        assert!(stdout.contains(needle), "stdout lacks {needle:?}");
    }
    assert!(text(&out.stderr).contains("Scanned 9 files, 125 records: 155 findings"), "{}", text(&out.stderr));
    let one =
        trailwatch(&["scan", "events/detections/123456789012_CloudTrail_us-east-1_20261121T1030Z_Detections01.json"]);
    assert!(text(&one.stderr).starts_with("Scanned 1 file, "), "{}", text(&one.stderr));
}

#[test]
fn jsonl_findings_carry_the_records_json_as_json() {
    let out = trailwatch(&["scan", "events/cloudtrail", "--format", "jsonl", "--quiet"]);
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sg = lines.iter().find(|f| f["rule"] == "security-group-open-to-world").expect("a security group finding");
    assert_eq!(sg["request_parameters"]["groupId"], "sg-0123456789abcdef0");
    assert_eq!(sg["matched"]["facts.sg.worldOpenPorts"][0], "tcp 22");
    let key = lines.iter().find(|f| f["rule"] == "root-access-key-created").expect("a root access key finding");
    assert!(key["response_elements"]["accessKey"].is_object(), "{key}");
}

#[test]
fn past_ten_thousand_findings_the_rest_print_as_found_and_none_is_lost() {
    let login = |i: usize| {
        format!(
            r#"{{"eventTime":"2026-11-20T09:{:02}:{:02}Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012","userIdentity":{{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}},"responseElements":{{"ConsoleLogin":"Success"}},"additionalEventData":{{"MFAUsed":"Yes"}},"eventID":"e{i}"}}"#,
            (i / 60) % 60,
            i % 60
        )
    };
    let records: Vec<String> = (0..6_000).map(login).collect();
    let path = temp_file("many.json", format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes());
    let out = trailwatch(&["scan", path.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let printed = stdout.lines().filter(|l| l.starts_with('[')).count();
    assert!(stderr.contains("Scanned 1 file, 6000 records: 12000 findings"), "{stderr}");
    assert_eq!(printed, 12_000, "every finding is printed");
    assert!(stderr.contains("note: more than 10000 findings"), "{stderr}");
}
