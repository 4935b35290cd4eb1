//! Each filter on records designed for it, one line per case.

use std::io::Cursor;
use std::ops::ControlFlow;

use time::macros::datetime;

use super::*;

/// A console sign-in by alice, an SSO session's S3 read, a failed EC2 call
/// by a role over IPv6, and an AWS service event.
const RECORDS: [&str; 4] = [
    r#"{"eventTime":"2026-11-20T09:07:06Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"203.0.113.45","userIdentity":{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"readOnly":false,"eventID":"a"}"#,
    r#"{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","recipientAccountId":"210987654321","sourceIPAddress":"198.51.100.23","userIdentity":{"type":"AssumedRole","principalId":"AROAX:carol@example.com","arn":"arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_Admin_1/carol@example.com","accessKeyId":"ASIACAROL","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1","userName":"AWSReservedSSO_Admin_1"}}},"requestParameters":{"bucketName":"app-data","key":"reports/q3.csv"},"resources":[{"ARN":"arn:aws:s3:::app-data/reports/q3.csv"},{"ARN":"arn:aws:s3:::app-data"}],"readOnly":true,"eventID":"b"}"#,
    r#"{"eventTime":"2026-11-21T23:59:59Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"2001:db8::7","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/deploy/ci-run-1","accessKeyId":"ASIADEPLOY"},"requestParameters":{"instanceType":"p4d.24xlarge","subnetId":"subnet-1"},"errorCode":"Client.UnauthorizedOperation","readOnly":false,"eventID":"c"}"#,
    r#"{"eventTime":"2026-11-22T00:00:00Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey","awsRegion":"us-east-1","recipientAccountId":"123456789012","userIdentity":{"invokedBy":"kms.amazonaws.com"},"eventType":"AwsServiceEvent","eventID":"d"}"#,
];

#[derive(Default)]
struct Ids {
    ids: Vec<String>,
    problems: Vec<Error>,
    limit: Option<usize>,
}

impl QuerySink for Ids {
    fn row(&mut self, row: &Row<'_>) -> ControlFlow<()> {
        self.ids.push(row.get(&Column::EventId).unwrap_or_default().into_owned());
        match self.limit {
            Some(n) if self.ids.len() >= n => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }
    fn problem(&mut self, error: Error) {
        self.problems.push(error);
    }
}

fn run(filters: &Filters) -> String {
    let query = Query::new(filters, &[]).unwrap();
    let file = format!(r#"{{"Records":[{}]}}"#, RECORDS.join(","));
    let mut sink = Ids::default();
    let summary = query.scan("mem.json", Cursor::new(file.into_bytes()), &mut sink);
    assert!(summary.complete && sink.problems.is_empty(), "{:?}", sink.problems);
    assert_eq!(summary.records, 4);
    sink.ids.join("")
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_filter_selects_the_records_designed_for_it() {
    let f = Filters::default;
    let cases: Vec<(&str, Filters, &str)> = vec![
        ("nothing", f(), "abcd"),
        ("event exact, any case", Filters { events: strings(&["consolelogin"]), ..f() }, "a"),
        ("event wildcard", Filters { events: strings(&["*Object", "Run*"]), ..f() }, "bc"),
        ("source short form", Filters { sources: strings(&["ec2", "kms"]), ..f() }, "cd"),
        ("user name", Filters { users: strings(&["alice"]), ..f() }, "a"),
        ("user ARN", Filters { users: strings(&["arn:aws:iam::123456789012:user/alice"]), ..f() }, "a"),
        ("user principal id", Filters { users: strings(&["AIDAALICE"]), ..f() }, "a"),
        ("session name", Filters { users: strings(&["carol@example.com"]), ..f() }, "b"),
        ("role name", Filters { users: strings(&["deploy"]), ..f() }, "c"),
        ("SSO permission set by wildcard", Filters { users: strings(&["AWSReservedSSO_*"]), ..f() }, "b"),
        ("access key", Filters { access_keys: strings(&["asiacarol"]), ..f() }, "b"),
        ("account", Filters { accounts: strings(&["210987654321"]), ..f() }, "b"),
        ("region", Filters { regions: strings(&["us-east-1"]), ..f() }, "acd"),
        ("ip exact", Filters { ips: strings(&["203.0.113.45"]), ..f() }, "a"),
        ("ipv4 cidr", Filters { ips: strings(&["198.51.100.0/24"]), ..f() }, "b"),
        ("ipv6 cidr", Filters { ips: strings(&["2001:db8::/32"]), ..f() }, "c"),
        ("resource ARN", Filters { resources: strings(&["arn:aws:s3:::app-data"]), ..f() }, "b"),
        ("resource name in resources", Filters { resources: strings(&["app-data"]), ..f() }, "b"),
        ("resource in request", Filters { resources: strings(&["subnet-1"]), ..f() }, "c"),
        ("resource wildcard", Filters { resources: strings(&["p4d.*"]), ..f() }, "c"),
        ("errors", Filters { error: Some(true), ..f() }, "c"),
        ("no errors", Filters { error: Some(false), ..f() }, "abd"),
        ("read-only", Filters { read_only: Some(true), ..f() }, "b"),
        ("writes", Filters { read_only: Some(false), ..f() }, "ac"),
        ("since", Filters { since: Some(datetime!(2026-11-20 10:00 UTC)), ..f() }, "bcd"),
        ("until (exclusive)", Filters { until: Some(datetime!(2026-11-22 00:00 UTC)), ..f() }, "abc"),
        (
            "a day",
            Filters {
                since: Some(datetime!(2026-11-21 00:00 UTC)),
                until: Some(datetime!(2026-11-22 00:00 UTC)),
                ..f()
            },
            "c",
        ),
        ("pattern", Filters { patterns: strings(&["{ $.additionalEventData.MFAUsed = No }"]), ..f() }, "a"),
        ("AND across kinds", Filters { regions: strings(&["us-east-1"]), error: Some(false), ..f() }, "ad"),
        ("OR within a kind", Filters { ips: strings(&["203.0.113.45", "2001:db8::/32"]), ..f() }, "ac"),
    ];
    for (name, filters, want) in cases {
        assert_eq!(run(&filters), want, "{name}");
    }
}

#[test]
fn a_sink_can_stop_the_scan() {
    let query = Query::new(&Filters::default(), &[]).unwrap();
    let file = format!(r#"{{"Records":[{}]}}"#, RECORDS.join(","));
    let mut sink = Ids { limit: Some(2), ..Default::default() };
    let summary = query.scan("mem.json", Cursor::new(file.into_bytes()), &mut sink);
    assert_eq!(sink.ids, ["a", "b"]);
    assert!(summary.stopped);
    assert_eq!(summary.records, 2);
}

#[test]
fn bad_records_are_reported_and_the_rest_is_queried() {
    let query = Query::new(&Filters::default(), &[]).unwrap();
    let file = format!(r#"{{"Records":[{}, {{"eventName": tru}}, {}]}}"#, RECORDS[0], RECORDS[1]);
    let mut sink = Ids::default();
    let summary = query.scan("mem.json", Cursor::new(file.into_bytes()), &mut sink);
    assert_eq!(sink.ids, ["a", "b"]);
    assert_eq!(sink.problems.len(), 1);
    assert_eq!(sink.problems[0].location.record, Some(1));
    assert!(summary.complete);
}

#[test]
fn files_are_pruned_by_the_time_account_and_region_in_their_names() {
    let name = |account: &str, region: &str, time: &str| format!("{account}_CloudTrail_{region}_{time}_AbCdEf.json.gz");
    let filters = Filters {
        since: Some(datetime!(2026-11-20 00:00 UTC)),
        until: Some(datetime!(2026-11-21 00:00 UTC)),
        accounts: strings(&["123456789012"]),
        regions: strings(&["us-*"]),
        ..Filters::default()
    };
    let query = Query::new(&filters, &[]).unwrap();
    let cases = [
        (name("123456789012", "us-east-1", "20261120T0910Z"), true),
        (name("123456789012", "us-east-1", "20261119T2355Z"), false),
        (name("123456789012", "us-east-1", "20261121T0040Z"), true),
        (name("123456789012", "us-east-1", "20261121T0105Z"), false),
        (name("210987654321", "us-east-1", "20261120T0910Z"), false),
        (name("123456789012", "eu-west-1", "20261120T0910Z"), false),
        ("events.json".to_string(), true),
    ];
    for (file, want) in cases {
        assert_eq!(query.may_hold(&file), want, "{file}");
    }
}

#[test]
fn columns_show_derived_values() {
    let columns =
        Column::parse_list("user,via,outcome,day,bucket,resources,$.requestParameters.key,access_key").unwrap();
    let query = Query::new(&Filters::default(), &columns).unwrap();
    struct Rows(Vec<Vec<Option<String>>>, Vec<Column>);
    impl QuerySink for Rows {
        fn row(&mut self, row: &Row<'_>) -> ControlFlow<()> {
            self.0.push(row.owned(&self.1));
            ControlFlow::Continue(())
        }
        fn problem(&mut self, _: Error) {}
    }
    let mut rows = Rows(Vec::new(), query.columns().to_vec());
    let file = format!(r#"{{"Records":[{}]}}"#, RECORDS.join(","));
    query.scan("mem.json", Cursor::new(file.into_bytes()), &mut rows);
    let show =
        |row: &Vec<Option<String>>| row.iter().map(|v| v.as_deref().unwrap_or("-")).collect::<Vec<_>>().join("|");
    let got: Vec<String> = rows.0.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "alice|iam|Success|2026-11-20|-|-|-|-",
            "carol@example.com|sso|Success|2026-11-20|app-data|arn:aws:s3:::app-data/reports/q3.csv arn:aws:s3:::app-data|reports/q3.csv|ASIACAROL",
            "ci-run-1|federated|Failure|2026-11-21|-|-|-|ASIADEPLOY",
            "kms.amazonaws.com|-|Success|2026-11-22|-|-|-|-",
        ]
    );
}
