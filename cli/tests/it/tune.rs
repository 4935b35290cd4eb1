//! `trailwatch tune` end to end: GIVEN a day in which a deploy role trips a
//! rule every half hour and a person trips it twice WHEN tuned THEN the rule's
//! alerts per day and the role are reported, the proposed suppression is
//! valid rule-file TOML, and pasted into a rule file it silences the role and
//! nothing else. A rule in a dry run is reported with what it would send.

use crate::common::{text, trailwatch};

fn denied(i: usize, arn: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T{:02}:{:02}:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeVpcEndpoints","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"198.51.100.{}","userAgent":"Terraform/1.9.8","errorCode":"Client.UnauthorizedOperation","userIdentity":{{"type":"AssumedRole","arn":"{arn}","accountId":"123456789012"}},"eventID":"ev-{i}"}}"#,
        i / 2 % 24,
        (i % 2) * 30,
        i % 4 + 1
    )
}

#[test]
fn tune_reports_noise_and_proposes_a_suppression_that_works() {
    let dir = std::env::temp_dir().join(format!("trailwatch-tune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut records: Vec<String> =
        (0..48).map(|i| denied(i, &format!("arn:aws:sts::123456789012:assumed-role/terraform/run-{i}"))).collect();
    records.push(denied(100, "arn:aws:sts::123456789012:assumed-role/alice-admin/alice"));
    records.push(denied(101, "arn:aws:sts::123456789012:assumed-role/alice-admin/alice"));
    let log = dir.join("123456789012_CloudTrail_us-east-1_20261120T2355Z_TuneTest0001.json");
    std::fs::write(&log, format!(r#"{{"Records":[{}]}}"#, records.join(","))).unwrap();
    let trial = dir.join("trial.toml");
    std::fs::write(
        &trial,
        r#"[[rule]]
id = "vpc-endpoint-probe"
title = "VPC endpoint probing"
severity = "medium"
dry_run = true
pattern = '{ $.eventName = DescribeVpcEndpoints }'
description = "Trial rule."
examples.match = ['{"eventName":"DescribeVpcEndpoints"}']
examples.no_match = ['{"eventName":"DescribeVpcs"}']
"#,
    )
    .unwrap();

    let out = trailwatch(&["tune", log.to_str().unwrap(), "--rules", trial.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let line = report.lines().find(|l| l.starts_with("vpc-endpoint-probe")).unwrap();
    // Each deploy run is its own session, so its own principal: 48 alerts; alice 1 alert + 1 follow-up.
    assert!(line.contains(" 50 ") && line.contains("50.0"), "{line}");
    assert!(report.contains("assumed-role/terraform/* (48)"), "{report}");
    assert!(report.contains("Terraform/1.9.8 (50)"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("unauthorized-api-call-by-principal") && l.contains("counted only")));
    let trial_line = report.lines().find(|l| l.starts_with("vpc-endpoint-probe")).unwrap();
    assert!(trial_line.ends_with("  dry run"), "{trial_line}");
    assert!(report
        .lines()
        .any(|l| l.starts_with("cis-cloudwatch-2-unauthorized-api-calls") && l.contains("counted only")));

    let proposals = report.split("Proposed suppressions").nth(1).expect("a proposal");
    let toml = proposals.split_once('\n').unwrap().1;
    assert!(toml.contains("assumed-role/terraform/*"), "{toml}");
    // README.md shows this very proposal.
    let (_, shown) = crate::common::readme_samples()
        .into_iter()
        .find(|(marker, _)| marker.contains("the tune test"))
        .expect("README shows the tune test's proposal");
    assert!(toml.contains(&shown), "README's proposal is not the tune test's:\n{shown}\n---\n{toml}");
    assert!(!toml.contains("alice"), "people are never proposed: {toml}");
    let rules = dir.join("suppress.toml");
    std::fs::write(&rules, toml).unwrap();
    // The proposals cover the trial rule too: scan with both files.
    assert!(toml.contains(r#"rules = ["vpc-endpoint-probe"]"#), "{toml}");
    assert!(!toml.contains("unauthorized-api-call-by-principal"), "rules that do not alert get no proposal: {toml}");
    let out = trailwatch(&[
        "scan",
        log.to_str().unwrap(),
        "--format",
        "jsonl",
        "--rules",
        trial.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let variant: Vec<_> = found.iter().filter(|f| f["rule"] == "vpc-endpoint-probe").collect();
    assert_eq!(variant.len(), 2, "only alice's two remain");
    assert!(variant.iter().all(|f| f["principal_arn"].as_str().unwrap().contains("alice")));
    std::fs::remove_dir_all(&dir).ok();
}
