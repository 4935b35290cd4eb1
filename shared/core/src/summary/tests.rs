//! Windows, coverage and the report, one case per line where they fit.

use super::render::MAX_BODY;
use super::*;
use time::macros::datetime;

#[test]
fn windows_come_from_the_event_time_not_the_clock() {
    let day = Duration::from_secs(DAY);
    let cases = [
        (datetime!(2026-11-21 00:05 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
        (datetime!(2026-11-21 23:59:59 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
        (datetime!(2026-11-21 00:00 UTC), day, datetime!(2026-11-20 00:00 UTC), datetime!(2026-11-21 00:00 UTC)),
        (datetime!(2026-03-01 00:10 UTC), day, datetime!(2026-02-28 00:00 UTC), datetime!(2026-03-01 00:00 UTC)),
        (
            datetime!(2026-11-21 13:07 UTC),
            Duration::from_secs(3600),
            datetime!(2026-11-21 12:00 UTC),
            datetime!(2026-11-21 13:00 UTC),
        ),
        (
            datetime!(2026-11-21 13:07 UTC),
            Duration::from_secs(6 * 3600),
            datetime!(2026-11-21 06:00 UTC),
            datetime!(2026-11-21 12:00 UTC),
        ),
        (datetime!(2027-01-01 00:01 UTC), day, datetime!(2026-12-31 00:00 UTC), datetime!(2027-01-01 00:00 UTC)),
    ];
    for (at, length, start, end) in cases {
        let w = Window::ending_before(at, length).unwrap();
        assert_eq!((w.start, w.end), (start, end), "{at}");
    }
    for bad in [Duration::from_secs(5 * 3600), Duration::from_secs(90 * 60), Duration::ZERO] {
        assert!(Window::ending_before(datetime!(2026-11-21 00:05 UTC), bad).is_err());
    }
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), day).unwrap();
    assert_eq!(w.label(), "2026-11-20T00:00Z-24h");
    assert_eq!(w.title(), "daily summary 2026-11-20");
    assert_eq!(w.previous().label(), "2026-11-19T00:00Z-24h");
    assert_eq!(w.hour_paths().len(), 24);
    assert_eq!(w.hour_paths()[0], "2026/11/20/00");
    assert_eq!(w.day_paths(), vec!["2026/11/20"]);
    assert_eq!(Window::parse_length("1h").unwrap(), Duration::from_secs(3600));
    assert_eq!(Window::parse_time("2026-11-21T00:05:00Z").unwrap(), datetime!(2026-11-21 00:05 UTC));
    assert_eq!(parse_file_time("20261120T0910Z"), Some(datetime!(2026-11-20 09:10 UTC)));
    assert_eq!(parse_file_time("2026112xT0910Z"), None);
}

fn delivered(account: &str, region: &str, time: OffsetDateTime, n: u32) -> Delivered {
    Delivered {
        source: format!("s3://b/{account}/{region}/{n}"),
        account_id: account.into(),
        region: region.into(),
        time,
    }
}

#[test]
fn coverage_names_unprocessed_files_and_silent_regions() {
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let mut files = Vec::new();
    // us-east-1 delivers every 5 minutes all day; eu-west-1 stops at 06:00.
    for i in 0..288u32 {
        let t = w.start + time::Duration::minutes(5 * i as i64);
        files.push(delivered("111122223333", "us-east-1", t, i));
        if t.hour() < 6 {
            files.push(delivered("111122223333", "eu-west-1", t, i));
        }
    }
    // One file from outside the window does not count.
    files.push(delivered("111122223333", "us-east-1", w.end, 999));
    let mut processed: BTreeSet<String> = files.iter().map(|d| d.source.clone()).collect();
    processed.remove("s3://b/111122223333/us-east-1/7");
    let known: BTreeSet<(String, String)> =
        [("111122223333", "ap-south-1")].iter().map(|(a, r)| (a.to_string(), r.to_string())).collect();
    let c = coverage(&w, &files, &processed, vec![], &known, Duration::from_secs(3600), 50);
    assert_eq!(c.delivered, 288 + 72);
    assert_eq!(c.processed, c.delivered - 1);
    assert_eq!(c.unprocessed, vec!["s3://b/111122223333/us-east-1/7"]);
    let silent: Vec<(&str, u64)> = c.silent.iter().map(|s| (s.region.as_str(), s.longest_gap_minutes)).collect();
    assert_eq!(silent, vec![("ap-south-1", 1440), ("eu-west-1", 18 * 60 + 5)]);
    assert_eq!(c.silent[1].from, "2026-11-20T05:55Z");
}

#[test]
fn reports_say_nothing_in_one_line_and_fit_the_size_limit() {
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let empty = render(&w, &StatsShard::default(), &Coverage::default(), None);
    assert_eq!(empty.subject, "trailwatch daily summary 2026-11-20: no findings");
    for line in [
        "No findings.",
        "No root activity.",
        "No console sign-ins.",
        "No IAM changes.",
        "Every delivered log file was processed.",
    ] {
        assert!(empty.body.contains(line), "{line}");
    }

    let mut big = StatsShard::default();
    for i in 0..20_000 {
        big.principals.add(&format!("arn:aws:sts::111122223333:assumed-role/r/{i}-{}", "x".repeat(40)), 1);
        big.source_ips.add(&format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), 1);
    }
    let coverage = Coverage {
        unprocessed: (0..50).map(|i| format!("s3://b/{i}")).collect(),
        unprocessed_total: 5000,
        delivered: 9000,
        processed: 4000,
        ..Default::default()
    };
    let report = render(&w, &big, &coverage, Some(&StatsShard::default()));
    assert!(report.body.len() <= MAX_BODY);
    assert!(report.body.contains("Not processed (5000)"));
    assert!(report.body.contains("... and 19980 more"));
}

#[test]
fn digest_coverage_counts_verified_awaiting_and_unverified_files() {
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let file =
        |source: &str, t| Delivered { source: source.into(), account_id: "1".into(), region: "r".into(), time: t };
    let files = [
        file("a", datetime!(2026-11-20 09:10 UTC)),
        file("b", datetime!(2026-11-20 10:10 UTC)),
        file("late", datetime!(2026-11-20 23:40 UTC)),
        file("outside", datetime!(2026-11-21 00:10 UTC)),
    ];
    let verified: BTreeSet<String> = ["a".to_string()].into();
    let c = digest_coverage(&w, &files, 24, &verified, 50);
    assert_eq!((c.digests, c.verified, c.awaiting, c.unverified_total), (24, 1, 1, 1));
    assert_eq!(c.unverified, ["b"]);
    let coverage = Coverage { delivered: 3, digests: c, ..Coverage::default() };
    let body = render(&w, &StatsShard::default(), &coverage, None).body;
    assert!(
        body.contains("Verified by a digest: 1 of 3 log files (1 from the last hour await their digest)"),
        "{body}"
    );
    assert!(body.contains("Not verified by any digest (1):\n    b"), "{body}");
    let none = render(&w, &StatsShard::default(), &Coverage::default(), None).body;
    assert!(none.contains("No digest was verified for this window"), "{none}");
}

#[test]
fn refused_alerts_are_reported_when_there_are_some() {
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let coverage = Coverage { rejected_alerts: 2, ..Coverage::default() };
    let body = render(&w, &StatsShard::default(), &coverage, None).body;
    assert!(body.contains("Alerts an output refused or could not take, not sent there: 2"), "{body}");
    let body = render(&w, &StatsShard::default(), &Coverage::default(), None).body;
    assert!(!body.contains("refused"), "{body}");
}

#[test]
fn given_rules_of_each_grade_when_summarised_then_each_says_its_grade_as_scan_and_tune_do() {
    // GIVEN one finding of a dry-run rule and one of a compliance-grade rule
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let rules = crate::RuleSet::builtin().unwrap();
    let mut stats = StatsShard::default();
    for id in ["discovery-burst", "cis-cloudwatch-4-iam-policy-changes"] {
        let rule = std::sync::Arc::new(rules.all_rules().iter().find(|r| r.id == id).unwrap().clone());
        let json = r#"{"eventName":"ListUsers","userIdentity":{"arn":"arn:aws:iam::1:user/a"}}"#;
        let mut table = crate::extract::PathTable::new();
        let slots = crate::record::FactSlots::register(&mut table);
        let values = table.extract(json).unwrap();
        let facts = crate::record::RecordFacts::new(&values, &slots);
        let mut counts = crate::stats::RuleCounts::of(&rule);
        counts.observe(facts.principal());
        stats.add_rule_counts(&rule.id, counts);
    }
    // WHEN the report is rendered
    let body = render(&w, &stats, &Coverage::default(), None).body;
    // THEN each rule carries the word of its grade
    assert!(body.contains("(discovery-burst, dry run)"), "{body}");
    assert!(body.contains("(cis-cloudwatch-4-iam-policy-changes, counted only)"), "{body}");
}

#[test]
fn given_alerts_sent_from_two_lanes_when_summarised_then_each_lane_has_its_percentiles() {
    // GIVEN two shards, one per lane, merged
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let (mut realtime, mut file) = (StatsShard::default(), StatsShard::default());
    [4, 6, 9].iter().for_each(|&s| realtime.time_to_alert.entry("eventbridge".into()).or_default().observe(s));
    [310, 420].iter().for_each(|&s| file.time_to_alert.entry("file".into()).or_default().observe(s));
    realtime.merge(&file);
    // WHEN the report is rendered
    let body = render(&w, &realtime, &Coverage::default(), None).body;
    // THEN each lane shows p50 / p90 / max; a scan with no alerts shows no section
    assert!(body.contains("eventbridge           3 alert(s)   7 s / 9 s / 9 s"), "{body}");
    assert!(body.contains("file                  2 alert(s)   7 min / 7 min / 7 min"), "{body}");
    let none = render(&w, &StatsShard::default(), &Coverage::default(), None).body;
    assert!(!none.contains("Time to alert"), "{none}");
}

#[test]
fn given_shards_with_new_principals_regions_and_networks_then_the_summary_names_them_merged_and_bounded() {
    use crate::profile::report::{NewThisPeriod, MAX_NEW};
    let w = Window::ending_before(datetime!(2026-11-21 00:05 UTC), Duration::from_secs(DAY)).unwrap();
    let empty = render(&w, &StatsShard::default(), &Coverage::default(), None);
    assert!(!empty.body.contains("New this period"), "no section when nothing is new");
    let shard = |principal: &str, network: &str| {
        let mut s = StatsShard::default();
        s.new_this_period.principals.insert(principal.to_string());
        s.new_this_period.networks.insert(network.to_string());
        s
    };
    let mut merged = shard("user/dave in 111122223333", "203.0.113.0/24 (user/alice)");
    merged.merge(&shard("user/dave in 111122223333", "198.51.100.0/24 (role/app)"));
    merged.new_this_period.regions.insert("ap-southeast-3 in 111122223333".into());
    let body = render(&w, &merged, &Coverage::default(), None).body;
    assert!(body.contains("New principals: user/dave in 111122223333\n"), "{body}");
    assert!(body.contains("New regions: ap-southeast-3 in 111122223333\n"), "{body}");
    assert!(body.contains("New networks: 198.51.100.0/24 (role/app), 203.0.113.0/24 (user/alice)\n"), "{body}");

    let mut many = NewThisPeriod::default();
    for i in 0..MAX_NEW + 5 {
        let mut one = NewThisPeriod::default();
        one.principals.insert(format!("role/r{i:03} in 111122223333"));
        many.merge(&one);
    }
    assert_eq!((many.principals.len(), many.left_out), (MAX_NEW, 5));
    assert!(many.lines(3).last().unwrap().contains("(52 more not listed)"), "{:?}", many.lines(3));
}
