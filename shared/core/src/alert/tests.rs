use super::*;
use crate::engine::{Collect, Engine, EngineOptions};
use crate::error::Error;
use crate::rule::RuleSet;

fn scan(records: &[String]) -> Collect {
    let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let mut sink = Collect::default();
    engine.scan("s3://logs/k.json.gz", std::io::Cursor::new(text.into_bytes()), &mut sink);
    sink
}

fn denied(principal: &str, id: usize) -> String {
    format!(
        r#"{{"eventName":"GetObject","eventSource":"s3.amazonaws.com","additionalEventData":{{"SignatureVersion":"SigV2"}},"awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"ev-{id}","userIdentity":{{"type":"IAMUser","arn":"{principal}"}}}}"#
    )
}

const FILE: FileContext<'static> =
    FileContext { source: "s3://logs/k.json.gz", account_id: Some("123456789012"), region: Some("us-east-1") };

#[test]
fn groups_by_rule_and_principal_and_lists_every_event() {
    let records: Vec<String> = (0..5)
        .map(|i| denied("arn:aws:iam::123456789012:user/a", i))
        .chain([denied("arn:aws:iam::123456789012:user/b", 9)])
        .collect();
    let sink = scan(&records);
    let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
    assert_eq!(alerts.len(), 2);
    let a = &alerts[0];
    assert_eq!(a.id, "s3-sigv2-request|arn:aws:iam::123456789012:user/a");
    assert_eq!((a.kind, a.severity, a.count), (AlertKind::Finding, Severity::Low, 5));
    assert_eq!(a.title, "S3 request signed with Signature Version 2 x5");
    assert_eq!(a.principal.as_deref(), Some("arn:aws:iam::123456789012:user/a"));
    assert_eq!((a.account_id.as_deref(), a.region.as_deref()), (Some("123456789012"), Some("us-east-1")));
    let ids: Vec<&str> = a.events.iter().filter_map(|e| e.event_id.as_deref()).collect();
    assert_eq!(ids, ["ev-0", "ev-1", "ev-2", "ev-3", "ev-4"]);
    assert_eq!(
        a.link(),
        Some("https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/ev-0")
    );
    assert!(!a.what_happened.is_empty() && !a.what_to_do.is_empty());
    assert_eq!(alerts[1].events[0].event_id.as_deref(), Some("ev-9"));
}

#[test]
fn caps_events_per_alert_and_alerts_per_file() {
    let many: Vec<String> = (0..50).map(|i| denied("arn:aws:iam::123456789012:user/a", i)).collect();
    let sink = scan(&many);
    let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].events.len(), alerts[0].more_events), (20, 30));

    let spread: Vec<String> = (0..25).map(|i| denied(&format!("arn:aws:iam::123456789012:user/u{i}"), i)).collect();
    let sink = scan(&spread);
    let problems = vec![Error::new(crate::ErrorKind::InvalidUtf8)];
    let alerts = alerts_for_file(FILE, &sink.findings, &problems, true, AlertLimits::default());
    assert_eq!(alerts.len(), 10);
    assert_eq!((alerts[8].id.as_str(), alerts[8].kind), ("digest", AlertKind::Overflow));
    assert_eq!(alerts[8].title, "17 more findings (17 groups)");
    assert_eq!(alerts[8].details.matches("s3-sigv2-request").count(), 17);
    assert_eq!((alerts[9].id.as_str(), alerts[9].kind), ("problems", AlertKind::Unreadable));
    assert!(alerts[9].details.contains("Problems (1)"), "{}", alerts[9].details);
    let ids: std::collections::BTreeSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 10, "ids are unique within a file");
}

#[test]
fn attacker_text_is_display_safe_in_every_field() {
    let evil = r#"{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},"userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root\n\nFAKE: all clear\u001b[8m"},"awsRegion":"us-east-1\"><script>","eventID":"x/../../evil?#","userAgent":"\u202egnp.exe","recipientAccountId":"12345678901\u0000"}"#;
    let sink = scan(&[evil.to_string()]);
    let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
    assert!(!alerts.is_empty());
    for a in &alerts {
        let text = serde_json::to_string(a).unwrap();
        for bad in ['\n', '\u{1b}', '\u{202e}', '\0'] {
            let escaped = serde_json::to_string(&bad.to_string()).unwrap();
            assert!(!text.contains(escaped.trim_matches('"')), "{bad:?} in {text}");
        }
        assert!(a.link().is_none(), "no link from an invalid region");
        assert_eq!(a.region.as_deref(), Some("us-east-1"), "the file's region when the record's is invalid");
        assert_eq!(a.account_id.as_deref(), Some("123456789012"), "the file's account when the record's is invalid");
    }
    assert_eq!(
        console_link(Some("us-east-1"), Some("a/b#c")).unwrap(),
        "https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/a%2Fb%23c"
    );
}

#[test]
fn short_principal_names() {
    let cases = [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        ("arn:aws:iam::123456789012:user/division/bob", "bob"),
        ("arn:aws:sts::123456789012:assumed-role/deploy/ci-run-1", "deploy/ci-run-1"),
        ("arn:aws:iam::123456789012:root", "root"),
        ("kms.amazonaws.com", "kms.amazonaws.com"),
        ("AIDAEXAMPLE", "AIDAEXAMPLE"),
    ];
    for (arn, want) in cases {
        assert_eq!(short_principal(arn), want, "{arn}");
    }
}

#[test]
fn fields_are_bounded_however_big_the_record() {
    let big = format!(
        r#"{{"eventName":"GetObject","eventSource":"s3.amazonaws.com","additionalEventData":{{"SignatureVersion":"SigV2"}},"userIdentity":{{"arn":"a"}},"requestParameters":{{"x":"{}"}},"userAgent":"{}"}}"#,
        "p".repeat(100_000),
        "u".repeat(100_000)
    );
    let records: Vec<String> = (0..30).map(|_| big.clone()).collect();
    let sink = scan(&records);
    let alerts = alerts_for_file(FILE, &sink.findings, &[], true, AlertLimits::default());
    assert!(!alerts.is_empty());
    let size = serde_json::to_string(&alerts).unwrap().len();
    assert!(size < 100_000, "{size} bytes");
}

#[test]
fn dedup_messages_follow_the_window() {
    assert_eq!(dedup_messages(&mut [], 3600), 0);
    assert_eq!(dedup_messages(&mut [0], 3600), 1);
    assert_eq!(dedup_messages(&mut [0, 10, 20], 3600), 2, "an alert and a follow-up");
    assert_eq!(dedup_messages(&mut [7200, 0, 10], 3600), 3, "alert + follow-up, then a new alert");
    assert_eq!(dedup_messages(&mut [0, 3600, 7200], 3600), 3, "each outside the last window");
}
