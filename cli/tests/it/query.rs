//! `trailwatch query` end to end on the sample logs: each filter, each
//! report, the output formats, sorting, time pruning and bad input. Samples
//! are named by their purpose in events/cloudtrail-expected.json.

use std::collections::BTreeMap;

use crate::common::{repo, text, trailwatch};

/// eventID -> the sample's name.
fn sample_names() -> BTreeMap<String, String> {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("events/cloudtrail-expected.json")).unwrap()).unwrap();
    expected["events"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, v)| (id.clone(), v["name"].as_str().unwrap().to_string()))
        .collect()
}

/// JSON rows of a query over the samples.
fn rows(extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["query", "events/cloudtrail", "--format", "jsonl", "--quiet"];
    args.extend_from_slice(extra);
    let out = trailwatch(&args);
    assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", text(&out.stderr));
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

/// The sample names a query selects, sorted.
fn selected(filters: &[&str]) -> Vec<String> {
    let names = sample_names();
    let mut args = filters.to_vec();
    args.extend(["--columns", "event_id"]);
    let mut got: Vec<String> = rows(&args)
        .iter()
        .map(|r| names.get(r["event_id"].as_str().unwrap()).cloned().unwrap_or_else(|| format!("unnamed {r}")))
        .collect();
    got.sort();
    got
}

#[test]
fn each_filter_selects_the_samples_designed_for_it() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--ip", "192.0.2.64/28"], &["anonymous-get", "root-login-failed-foreign"]),
        (&["--ip", "198.51.100.99", "--error"], &[]),
        (&["--ip", "198.51.100.99", "--source", "sts"], &["legacy-assume-admin", "legacy-get-caller-identity"]),
        (
            &["--event", "revoke*", "--event", "Delete*Group"],
            &["sg-delete-web-public", "sg-revoke-egress-failed", "sg-revoke-rule-by-id"],
        ),
        (
            &["--since", "2026-11-20T12:58:00Z", "--until", "2026-11-20T13:00:12Z"],
            &["anonymous-get-lowercase-form", "anonymous-head-denied", "sigv2-etl-get"],
        ),
        (&["--user", "legacy-backup", "--read-only", "false"], &["sigv2-legacy-put"]),
        (&["--user", "admin"], &["derived-key-list-buckets"]),
        (&["--user", "frank@example.com"], &["sso-login-frank"]),
        (&["--access-key", "ASIADERIVEDKEY00001"], &["derived-key-list-buckets"]),
        (
            &["--resource", "sg-0fedcba9876543210"],
            &[
                "sg-allow-db-from-group",
                "sg-create-web-public",
                "sg-delete-web-public",
                "sg-modify-rule-ssh-world",
                "sg-open-https-world",
                "sg-revoke-rule-by-id",
            ],
        ),
        (&["--resource", "arn:aws:s3:::public-site"], &["anonymous-get-lowercase-form"]),
        (&["--where", "{ $.additionalEventData.MFAUsed = Yes }"], &["bob-login-with-mfa", "dave-login-mfa"]),
        (&["--account", "999999999999"], &[]),
        (&["--region", "eu-*", "--user", "bob", "--error"], &["run-large-denied", "sg-revoke-egress-failed"]),
    ];
    for (filters, want) in cases {
        assert_eq!(selected(filters), *want, "{filters:?}");
    }
}

#[test]
fn reports_answer_their_question_on_the_samples() {
    let history = rows(&["--report", "sg-history"]);
    let new_group: Vec<(&str, &str)> = history
        .iter()
        .filter(|r| r["group_id"] == "sg-0fedcba9876543210")
        .map(|r| (r["event"].as_str().unwrap(), r["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        new_group,
        [
            ("CreateSecurityGroup", "created web-public in vpc-0a1b2c3d"),
            ("AuthorizeSecurityGroupIngress", "+ ingress tcp 443 from 0.0.0.0/0, ::/0"),
            ("ModifySecurityGroupRules", "~ sgr-0aaa1111bbbb2222c: tcp 22 from 0.0.0.0/0"),
            ("RevokeSecurityGroupIngress", "- ingress sgr-0aaa1111bbbb2222c"),
            ("DeleteSecurityGroup", "deleted"),
        ],
        "grouped by group id, in time order"
    );

    let logins = rows(&["--report", "console-logins"]);
    let how = |user: &str| {
        let row = logins.iter().find(|r| r["user"] == user).unwrap_or_else(|| panic!("{user} in {logins:?}"));
        (row["via"].as_str().unwrap().to_string(), row["mfa"].as_str().unwrap().to_string())
    };
    assert_eq!(how("erin@example.com"), ("federated".into(), "No".into()));
    assert_eq!(how("frank@example.com"), ("sso".into(), "No".into()));
    assert_eq!(how("dave"), ("iam".into(), "Yes".into()));
    assert!(logins.iter().any(|r| r["user"] == "root" && r["outcome"] == "Failure" && r["ip"] == "192.0.2.66"));

    let sigv2 = rows(&["--report", "s3-sigv2"]);
    let legacy: Vec<(&str, &str, &str)> = sigv2
        .iter()
        .filter(|r| r["principal"] == "arn:aws:iam::123456789012:user/legacy-backup")
        .map(|r| (r["bucket"].as_str().unwrap(), r["requests"].as_str().unwrap(), r["events"].as_str().unwrap()))
        .collect();
    assert_eq!(legacy, [("app-data", "1", "ListObjects"), ("backups", "2", "GetObject,PutObject")]);

    let anonymous = rows(&["--report", "s3-anonymous"]);
    assert_eq!(anonymous.len(), 3, "both forms: {anonymous:?}");

    // Object-level calls are data events only: ListBuckets, a management
    // event of the same service in the same file, is not one.
    let objects = rows(&["--report", "object-access"]);
    let calls: Vec<(&str, &str, &str)> = objects
        .iter()
        .map(|r| (r["event"].as_str().unwrap(), r["bucket"].as_str().unwrap_or("-"), r["principal"].as_str().unwrap()))
        .collect();
    assert!(calls.iter().all(|(event, _, _)| *event != "ListBuckets"), "{calls:?}");
    assert!(calls.contains(&("GetObject", "app-data", "ANONYMOUS_PRINCIPAL")), "{calls:?}");
    assert!(calls.contains(&("HeadObject", "app-data", "arn:aws:iam::123456789012:user/bob")), "{calls:?}");

    let keys = rows(&["--report", "key-activity", "--access-key", "AKIALEGACYBACKUP0001"]);
    let derived: Vec<&str> = keys.iter().filter_map(|r| r["derived_key"].as_str()).collect();
    assert_eq!(derived, ["ASIADERIVEDKEY00001"], "the session key it obtained");

    let active = rows(&["--report", "active-users"]);
    assert!(active.iter().all(|r| r["type"] != "AWSService" && r["day"] == "2026-11-20"));
    let root = active.iter().find(|r| r["principal"] == "arn:aws:iam::123456789012:root").unwrap();
    assert_eq!(root["events"], "7");
}

#[test]
fn whole_records_come_out_as_they_are_and_tables_and_csv_have_headers() {
    let records =
        rows(&["--event", "ModifySecurityGroupRules", "--region", "eu-west-1", "--since", "2026-11-20T17:00:00Z"]);
    assert_eq!(records.len(), 1);
    let rule = &records[0]["requestParameters"]["ModifySecurityGroupRulesRequest"]["SecurityGroupRule"];
    assert_eq!(rule["SecurityGroupRule"]["CidrIpv4"], "0.0.0.0/0", "request parameters stay an object");

    let csv =
        trailwatch(&["query", "events/cloudtrail", "--format", "csv", "--columns", "time,event", "-q", "--limit", "2"]);
    let csv = text(&csv.stdout);
    assert!(csv.starts_with("time,event\n"), "{csv}");
    assert_eq!(csv.lines().count(), 3);

    let table = trailwatch(&["query", "events/cloudtrail", "--event", "ConsoleLogin", "--limit", "1"]);
    let (stdout, stderr) = (text(&table.stdout), text(&table.stderr));
    assert!(stdout.starts_with("TIME "), "{stdout}");
    assert!(stdout.contains("ConsoleLogin"));
    assert!(stderr.contains("1 match,"), "{stderr}");
}

#[test]
fn sorting_keeps_the_newest_rows_within_the_limit() {
    let newest = rows(&["--sort=-time", "--limit", "3", "--columns", "time"]);
    let times: Vec<&str> = newest.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert_eq!(times, ["2026-11-20T17:37:12Z", "2026-11-20T17:34:50Z", "2026-11-20T17:33:09Z"]);
    let oldest = rows(&["--sort", "time", "--limit", "1", "--columns", "time"]);
    assert_eq!(oldest[0]["time"], "2026-11-20T06:20:11Z");
    let refused = trailwatch(&["query", "events/cloudtrail", "--sort", "time", "--format", "jsonl"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("needs --columns"), "{}", text(&refused.stderr));
}

#[test]
fn files_outside_the_time_range_are_not_opened() {
    // GIVEN five days of files WHEN asking for one day THEN one is read.
    let dir = std::env::temp_dir().join(format!("trailwatch-prune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample =
        repo().join("events/cloudtrail/123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz");
    for day in 16..=20 {
        let name = format!("123456789012_CloudTrail_us-east-1_202611{day}T0910Z_Sg1nInEvents0001.json.gz");
        std::fs::copy(&sample, dir.join(name)).unwrap();
    }
    let dir_arg = dir.display().to_string();
    let out = trailwatch(&["query", &dir_arg, "--since", "2026-11-18", "--until", "2026-11-19"]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Read 1 of 5 files (4 more skipped"), "{stderr}");
    let all = trailwatch(&["query", &dir_arg, "--since", "2026-11-18", "--until", "2026-11-19", "--no-prune"]);
    assert!(text(&all.stderr).contains("Read 5 of 5 files"), "{}", text(&all.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_are_reported_and_the_good_records_still_answer() {
    let out =
        trailwatch(&["query", "events/malformed", "--event", "ConsoleLogin", "--format", "csv", "--columns", "file"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("events/malformed/truncated.json.gz, byte 189335: corrupt or truncated gzip"), "{stderr}");
    assert!(stderr.contains("events/malformed/bad-records.json, record 1, byte 609"), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("bad-records.json").count(), 3, "{stdout}");
}

#[test]
fn bad_options_say_what_is_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (&["--since", "yesterday"], "'yesterday' is not a time"),
        (&["--ip", "10.0.0.0/33"], "not a CIDR range"),
        (&["--columns", "time,nope"], "no column 'nope'"),
        (&["--report", "nope"], "no report 'nope'"),
        (&["--report", "key-activity"], "needs an access key"),
        (&["--where", "{ $.eventName = }"], "column"),
        (&["--since", "2026-11-21", "--until", "2026-11-20"], "--since must be before --until"),
    ];
    for (args, want) in cases {
        let mut all = vec!["query", "events/cloudtrail"];
        all.extend_from_slice(args);
        let out = trailwatch(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(want), "{args:?}: {}", text(&out.stderr));
    }
}
