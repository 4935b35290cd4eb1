//! Whole Sigma rules: loading, semantics per construct, refusals, correlations.

use super::*;

fn one(yaml: &str) -> Arc<SigmaRule> {
    let mut loaded = load(yaml, "t.yml", &SigmaOptions::default()).unwrap();
    assert_eq!(loaded.rules.len(), 1, "notes: {:?}", loaded.notes);
    loaded.rules.remove(0)
}

fn rule(detection: &str) -> Arc<SigmaRule> {
    one(&format!(
        "title: t\nid: 11111111-2222-3333-4444-555555555555\nstatus: test\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}\nlevel: high\n"
    ))
}

#[test]
fn each_construct_matches_as_the_specification_says() {
    // (detection, record, expected)
    let cases: &[(&str, &str, bool)] = &[
        ("  s:\n    eventName: ConsoleLogin\n  condition: s", r#"{"eventName":"consolelogin"}"#, true),
        ("  s:\n    eventName|cased: ConsoleLogin\n  condition: s", r#"{"eventName":"consolelogin"}"#, false),
        ("  s:\n    eventName: 'Get*'\n  condition: s", r#"{"eventName":"GetObject"}"#, true),
        ("  s:\n    eventName: 'Get\\*'\n  condition: s", r#"{"eventName":"GetObject"}"#, false),
        ("  s:\n    eventName: 'Get\\*'\n  condition: s", r#"{"eventName":"get*"}"#, true),
        ("  s:\n    a.b.c: x\n  condition: s", r#"{"a":{"b":{"c":"X"}}}"#, true),
        ("  s:\n    a.b: null\n  condition: s", r#"{"a":{}}"#, true),
        ("  s:\n    a.b: null\n  condition: s", r#"{"a":{"b":null}}"#, true),
        ("  s:\n    a.b: null\n  condition: s", r#"{"a":{"b":""}}"#, false),
        ("  s:\n    a.b: ''\n  condition: s", r#"{"a":{"b":""}}"#, true),
        ("  s:\n    a|exists: true\n  condition: s", r#"{"a":null}"#, true),
        ("  s:\n    a|exists: false\n  condition: s", r#"{"b":1}"#, true),
        ("  s:\n    a|contains: '\"k\":\"v\"'\n  condition: s", r#"{"a": {"k": "V"}}"#, true),
        ("  s:\n    a|contains: 'ab'\n  condition: s", r#"{"a":["x","AB"]}"#, true),
        ("  s:\n    a.b: x\n  condition: s", r#"{"a":[{"b":"x"}]}"#, false),
        ("  s:\n    n: 5\n  condition: s", r#"{"n":5}"#, true),
        ("  s:\n    n: 5\n  condition: s", r#"{"n":"5"}"#, true),
        ("  s:\n    n|gt: 4\n  condition: s", r#"{"n":5}"#, true),
        ("  s:\n    n|lt: 4\n  condition: s", r#"{"n":5}"#, false),
        ("  s:\n    ip|cidr: 10.0.0.0/8\n  condition: s", r#"{"ip":"10.1.2.3"}"#, true),
        ("  s:\n    ip|cidr: 10.0.0.0/8\n  condition: s", r#"{"ip":"11.1.2.3"}"#, false),
        ("  s:\n    a|fieldref: b\n  condition: s", r#"{"a":"X","b":"x"}"#, true),
        ("  s:\n    a|fieldref|cased: b\n  condition: s", r#"{"a":"X","b":"x"}"#, false),
        ("  kw:\n    - evil\n  condition: kw", r#"{"a":{"b":"so EVIL here"}}"#, true),
        ("  kw:\n    - evil\n  condition: kw", r#"{"evil":"no"}"#, false),
        ("  s:\n    a: [x, y]\n  condition: s", r#"{"a":"Y"}"#, true),
        ("  s:\n    a|contains|all: [x, y]\n  condition: s", r#"{"a":"x-"}"#, false),
        ("  s:\n    - a: x\n    - b: y\n  condition: s", r#"{"b":"y"}"#, true),
        ("  s:\n    a: x\n  f:\n    b: y\n  condition: s and not f", r#"{"a":"x"}"#, true),
        ("  s:\n    a: x\n  f:\n    b: y\n  condition: s and not f", r#"{"a":"x","b":"y"}"#, false),
        ("  s_1:\n    a: x\n  s_2:\n    b: y\n  condition: all of s_*", r#"{"a":"x","b":"y"}"#, true),
        ("  s_1:\n    a: x\n  s_2:\n    b: y\n  condition: all of them", r#"{"a":"x"}"#, false),
        ("  s:\n    a|re: '^A.$'\n  condition: s", r#"{"a":"ab"}"#, false),
        ("  s:\n    a|re|i: '^A.$'\n  condition: s", r#"{"a":"ab"}"#, true),
        ("  s:\n    a|base64offset|contains: 'http://'\n  condition: s", r#"{"a":"eHhodHRwOi8veHg="}"#, true),
        ("  s:\n    a|windash: '-x'\n  condition: s", r#"{"a":"/X"}"#, true),
        ("  s:\n    a|windash: '-x'\n  condition: s", "{\"a\":\"\u{2014}x\"}", true),
        ("  s:\n    a|windash: 'a-x'\n  condition: s", r#"{"a":"a/x"}"#, false),
        ("  s:\n    a|windash: '--x'\n  condition: s", r#"{"a":"-/x"}"#, true),
        ("  s:\n    a|neq: x\n  condition: s", r#"{"a":"X"}"#, false),
        ("  s:\n    a|neq: x\n  condition: s", r#"{"a":"y"}"#, true),
        ("  s:\n    a|neq: x\n  condition: s", r#"{"b":"x"}"#, true),
        ("  s:\n    t|hour: 3\n  condition: s", r#"{"t":"2026-11-22T03:59:59Z"}"#, true),
        ("  s:\n    t|hour: 3\n  condition: s", r#"{"t":"2026-11-22T05:10:00+02:00"}"#, true),
        ("  s:\n    t|hour: [1, 2]\n  condition: s", r#"{"t":"2026-11-22T03:00:00Z"}"#, false),
        ("  s:\n    t|day: 21\n  condition: s", r#"{"t":"2026-11-22T01:00:00.123+02:00"}"#, true),
        ("  s:\n    t|month: 11\n  condition: s", r#"{"t":"Nov 22, 2026"}"#, false),
        ("  s:\n    t|year: 2026\n  condition: s", r#"{"t":2026}"#, false),
        ("  s:\n    t|minute|neq: 0\n  condition: s", r#"{"t":"2026-11-22T03:00:00Z"}"#, false),
    ];
    for (detection, record, expected) in cases {
        let r = rule(detection);
        assert_eq!(r.matches_json(record).unwrap(), *expected, "{detection}\n on {record}");
    }
}

#[test]
fn collections_logsources_statuses_and_refusals() {
    let text = "action: global\nlogsource:\n  product: aws\n  service: cloudtrail\nstatus: stable\n---\ntitle: a\nid: a-1\ndetection:\n  s:\n    a: x\n  condition: s\n---\ntitle: b\nid: b-1\nstatus: experimental\ndetection:\n  s:\n    a: y\n  condition: s\n---\ntitle: c\nid: c-1\nlogsource:\n  product: windows\ndetection:\n  s:\n    a: y\n  condition: s\n---\ntitle: d\nid: d-1\ndetection:\n  s:\n    a|wide: '-y'\n  condition: s\n";
    let loaded = load(text, "c.yml", &SigmaOptions::default()).unwrap();
    let ids: Vec<&str> = loaded.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a-1"]);
    assert_eq!(loaded.notes.len(), 3, "{:?}", loaded.notes);
    assert!(
        loaded.notes[0].starts_with("c.yml:25: Sigma rule c-1 not loaded: logsource product windows"),
        "{:?}",
        loaded.notes
    );
    assert!(
        loaded.notes[1].starts_with("c.yml:35: Sigma rule d-1 not loaded: s: modifier 'wide'"),
        "{:?}",
        loaded.notes
    );
    assert!(
        loaded.notes[2].starts_with("c.yml:14: Sigma rule b-1 not loaded: status experimental"),
        "{:?}",
        loaded.notes
    );
    let experimental = load(text, "c.yml", &SigmaOptions::with_experimental()).unwrap();
    assert_eq!(experimental.rules.len(), 2);
    let err = load("title: x\nid: y\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    a: x\n  condition: s and t\n", "e.yml", &SigmaOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "e.yml:7: the condition names 't', which the detection does not define");
}

#[test]
fn metadata_carries_over() {
    let r = one("title: T\nid: x-1\nstatus: stable\ndescription: D\nlevel: informational\ntags:\n  - attack.t1078.004\n  - attack.persistence\n  - cve.2021-1\nfalsepositives:\n  - admins\nreferences:\n  - https://example.com/a\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  s:\n    a: x\n  condition: s\n");
    assert_eq!(r.level, Severity::Info);
    assert_eq!(
        r.tags.iter().map(|t| tag(t)).collect::<Vec<_>>(),
        ["mitre/T1078.004", "mitre/persistence", "sigma/cve.2021-1"]
    );
    assert_eq!((r.description.as_str(), r.falsepositives.len(), r.references.len()), ("D", 1, 1));
}

#[test]
fn event_count_correlations_become_thresholds_and_others_are_refused() {
    let base = "title: denied\nid: base-1\nname: denied\nstatus: stable\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    errorCode: AccessDenied\n  condition: s\n";
    let corr = "---\ntitle: many denied\nid: corr-1\nstatus: stable\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [denied]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition:\n    gte: 20\n";
    let loaded = load(&format!("{base}{corr}"), "k.yml", &SigmaOptions::default()).unwrap();
    assert_eq!(loaded.rules.len(), 2, "{:?}", loaded.notes);
    assert!(!loaded.rules[0].alerts);
    let t = loaded.rules[1].threshold.as_ref().unwrap();
    assert_eq!((t.count, t.window.as_str(), t.by.clone()), (20, "10m", vec![crate::threshold::GroupField::Principal]));
    let temporal = corr.replace("event_count", "temporal");
    let loaded = load(&format!("{base}{temporal}"), "k.yml", &SigmaOptions::default()).unwrap();
    assert_eq!(loaded.rules.len(), 1);
    assert!(loaded.notes[0].contains("correlation type temporal has no threshold equivalent"), "{:?}", loaded.notes);
    let lt = corr.replace("gte: 20", "lt: 20");
    let loaded = load(&format!("{base}{lt}"), "k.yml", &SigmaOptions::default()).unwrap();
    assert!(loaded.notes[0].contains("condition lt"), "{:?}", loaded.notes);
}

#[test]
fn dispatch_values_are_required_literals_only() {
    let r =
        rule("  s:\n    eventSource: s3.amazonaws.com\n    eventName: [PutBucketPolicy, DeleteBucket]\n  condition: s");
    assert_eq!(r.detection.required("eventName").unwrap(), ["deletebucket", "putbucketpolicy"]);
    let r = rule("  s:\n    eventName|startswith: Put\n  condition: s");
    assert_eq!(r.detection.required("eventName"), None);
    let r = rule("  s:\n    eventName: A\n  condition: not s");
    assert_eq!(r.detection.required("eventName"), None);
}

#[test]
fn expand_replaces_placeholders_from_the_map_and_refuses_names_it_lacks() {
    let text = "title: admins\nid: e-1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    userIdentity.userName|expand: '%admins%'\n  t:\n    userAgent|expand|contains|all:\n      - '%tools%'\n      - linux\n  condition: s or t\n";
    let placeholders = super::expand::parse("admins: [alice, 'ops-*']\ntools: [boto3, terraform]\n").unwrap();
    let options = SigmaOptions { placeholders, ..SigmaOptions::default() };
    let loaded = load(text, "p.yml", &options).unwrap();
    assert_eq!(loaded.rules.len(), 1, "{:?}", loaded.notes);
    let r = &loaded.rules[0];
    for (record, expected) in [
        (r#"{"userIdentity":{"userName":"ALICE"}}"#, true),
        (r#"{"userIdentity":{"userName":"ops-7"}}"#, true),
        (r#"{"userIdentity":{"userName":"%admins%"}}"#, false),
        (r#"{"userAgent":"Terraform/1.6 linux"}"#, true),
        (r#"{"userAgent":"boto3/1.2"}"#, false),
    ] {
        assert_eq!(r.matches_json(record).unwrap(), expected, "{record}");
    }
    let loaded = load(text, "p.yml", &SigmaOptions::default()).unwrap();
    assert!(loaded.rules.is_empty());
    assert!(
        loaded.notes[0]
            .starts_with("p.yml:6: Sigma rule e-1 not loaded: s: placeholder %admins% is not in the placeholder map"),
        "{:?}",
        loaded.notes
    );
}
