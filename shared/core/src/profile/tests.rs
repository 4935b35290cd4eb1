use std::sync::Arc;

use super::*;
use crate::finding::{Finding, Outcome};
use crate::rule::{Rule, RuleSet};

#[test]
fn principals_are_keyed_by_what_they_are_not_by_session() {
    let cases = [
        ("AssumedRole", "arn:aws:sts::111122223333:assumed-role/deploy/run-17", Some("role/deploy")),
        (
            "AssumedRole",
            "arn:aws:sts::111122223333:assumed-role/app/i-0a1b2c3d4e5f60718",
            Some("instance/i-0a1b2c3d4e5f60718"),
        ),
        (
            "AssumedRole",
            "arn:aws:sts::111122223333:assumed-role/app/i-786a3A8B5C0d92eF4",
            Some("instance/i-786a3A8B5C0d92eF4"),
        ),
        ("AssumedRole", "arn:aws:sts::111122223333:assumed-role/app/i-nothex00", Some("role/app")),
        (
            "AssumedRole",
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_5d7e/carol@example.com",
            Some("sso/carol@example.com"),
        ),
        ("IAMUser", "arn:aws:iam::111122223333:user/ops/alice", Some("user/alice")),
        ("Root", "arn:aws:iam::111122223333:root", Some("root")),
        ("FederatedUser", "arn:aws:sts::111122223333:federated-user/bob", Some("federated/bob")),
        ("AWSService", "arn:aws:iam::111122223333:root", None),
        ("IAMUser", "not an arn", None),
        ("IAMUser", "arn:aws:iam::111122223333:role/x", None),
    ];
    for (kind, arn, want) in cases {
        assert_eq!(principal_key(Some(kind), Some(arn)).as_deref(), want, "{kind} {arn}");
    }
    assert_eq!(principal_key(Some("IAMUser"), None), None);
}

#[test]
fn networks_are_slash_24_slash_48_or_aws_internal() {
    for (ip, want) in [
        ("203.0.113.66", "203.0.113.0/24"),
        ("10.0.1.23", "10.0.1.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("ec2.amazonaws.com", AWS_INTERNAL),
        ("AWS Internal", AWS_INTERNAL),
        ("035.249.253.232", "35.249.253.0/24"),
        ("", AWS_INTERNAL),
        ("1.2.3.4.5", "other"),
        ("256.1.1.1", "other"),
        ("example.com", "other"),
    ] {
        assert_eq!(network_of(ip), want, "{ip}");
    }
}

#[test]
fn user_agents_are_families_without_versions() {
    for (agent, want) in [
        ("aws-cli/2.15.0 Python/3.11.6 Linux/6.5", "aws-cli"),
        ("[aws-cli/2.15.0 Python/3.11.6]", "aws-cli"),
        ("Boto3/1.34.1 md/Botocore#1.34.1 ua/2.0 os/linux", "boto3"),
        ("aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21", "aws-sdk-java"),
        ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8", "terraform"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)", "browser"),
        ("console.amazonaws.com", "console"),
        ("AWS Internal", AWS_INTERNAL),
        ("config.amazonaws.com", AWS_INTERNAL),
        ("stratus-red-team_c763d13b-d099-488a-bb3e-f57cb2fed", "stratus-red-team"),
        ("\u{202e}evil/1.0", "evil"),
        ("   ", AWS_INTERNAL),
        ("()", "other"),
    ] {
        assert_eq!(agent_family(agent), want, "{agent:?}");
    }
}

const ACCOUNT: &str = "111122223333";
const DAY: i64 = 86_400;

fn rule(value: &str, learn: &str) -> Arc<Rule> {
    let text = format!(
        "[[rule]]\nid='new-{v}'\ntitle='t'\nseverity='high'\npattern='{{ $.eventName = * }}'\n\
         first_seen = {{ value = '{value}', learn = '{learn}' }}\ndescription='d'",
        v = value.replace(['$', '.'], "")
    );
    Arc::new(RuleSet::from_toml(&text, "t.toml").unwrap().all_rules()[0].clone())
}

fn finding(rule: &Arc<Rule>, time: i64, ip: &str, name: &str) -> Finding {
    let at = time::OffsetDateTime::from_unix_timestamp(time).unwrap();
    Finding {
        rule: rule.clone(),
        event_id: Some(format!("e-{time}")),
        event_time: Some(at.format(&time::format_description::well_known::Rfc3339).unwrap()),
        event_name: Some(name.into()),
        event_source: Some("ec2.amazonaws.com".into()),
        account_id: Some(ACCOUNT.into()),
        region: Some("us-east-1".into()),
        principal_arn: Some(format!("arn:aws:iam::{ACCOUNT}:user/alice")),
        principal_type: Some("IAMUser".into()),
        source_ip: Some(ip.into()),
        user_agent: Some("aws-cli/2.15.0".into()),
        mfa_used: None,
        outcome: Outcome::Success,
        request_parameters: None,
        response_elements: None,
        matched: vec![("requestParameters.modelId".into(), vec!["claude".into()])],
        file: "f".into(),
        record_index: 0,
    }
}

/// A batch of one rule's matches by alice, each also a sighting.
fn batch(rule: &Arc<Rule>, origin: &str, calls: &[(i64, &str, &str)]) -> Batch {
    let mut batch = Batch::new(&Settings::default(), [rule.as_ref()], origin);
    for (time, ip, name) in calls {
        let f = finding(rule, *time, ip, name);
        batch.finding(&f);
        batch.sighting(&Sighting::of_finding(&f));
    }
    batch
}

/// Settles a batch into a book; returns the alerting values.
fn settle(book: &mut Book, batch: &Batch) -> Vec<String> {
    let plan = batch.plan(|id| book.get(id));
    let applied = book.apply(&plan);
    plan.alerts(&applied).map(|(c, _)| c.value.clone()).collect()
}

#[test]
fn given_a_key_learning_when_a_new_value_comes_then_it_counts_and_after_learning_it_alerts() {
    let rule = rule("network", "14d");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    // Day 0: first seen; day 3: a second network, still learning.
    assert!(settle(&mut book, &batch(&rule, "a", &[(t0, "192.0.2.1", "X")])).is_empty());
    let learning = batch(&rule, "b", &[(t0 + 3 * DAY, "198.51.100.1", "X")]);
    let plan = learning.plan(|id| book.get(id));
    assert_eq!(plan.learning(), 1);
    book.apply(&plan);
    // Day 20: both known networks are quiet; a third alerts, once.
    let later = batch(
        &rule,
        "c",
        &[
            (t0 + 20 * DAY, "192.0.2.9", "X"),
            (t0 + 20 * DAY + 60, "203.0.113.5", "X"),
            (t0 + 20 * DAY + 90, "203.0.113.6", "X"),
        ],
    );
    assert_eq!(settle(&mut book, &later), ["203.0.113.0/24"]);
    let again = batch(&rule, "d", &[(t0 + 21 * DAY, "203.0.113.7", "X")]);
    assert!(settle(&mut book, &again).is_empty(), "known now");
}

#[test]
fn given_the_value_earlier_in_the_same_file_when_the_rule_matches_then_it_is_not_new() {
    let rule = rule("network", "0");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    settle(&mut book, &batch(&rule, "a", &[(t0, "192.0.2.1", "X")]));
    let mut b = Batch::new(&Settings::default(), [rule.as_ref()], "b");
    let early = finding(&rule, t0 + DAY, "203.0.113.5", "X");
    b.sighting(&Sighting::of_finding(&early));
    let matched = finding(&rule, t0 + DAY + 5, "203.0.113.9", "X");
    b.finding(&matched);
    b.sighting(&Sighting::of_finding(&matched));
    assert!(settle(&mut book, &b).is_empty());
}

#[test]
fn given_two_batches_racing_with_one_new_value_then_one_alerts_and_a_retry_alerts_again_for_the_ledger() {
    let rule = rule("network", "0");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    settle(&mut book, &batch(&rule, "a", &[(t0, "192.0.2.1", "X")]));
    let one = batch(&rule, "one", &[(t0 + DAY, "203.0.113.5", "X")]);
    let two = batch(&rule, "two", &[(t0 + DAY + 1, "203.0.113.6", "X")]);
    // Both plan against the same stored state, then both write.
    let (p1, p2) = (one.plan(|id| book.get(id)), two.plan(|id| book.get(id)));
    let a1 = book.apply(&p1);
    let a2 = book.apply(&p2);
    assert_eq!(p1.alerts(&a1).count() + p2.alerts(&a2).count(), 1);
    // The winner retried (a crash before its alert was sent): its own value, alerted again.
    assert_eq!(settle(&mut book, &one), ["203.0.113.0/24"]);
    // The loser retried: known.
    assert!(settle(&mut book, &two).is_empty());
}

#[test]
fn values_age_out_after_the_horizon_and_profiles_keep_the_most_recent_values() {
    let rule = rule("network", "0");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    settle(&mut book, &batch(&rule, "a", &[(t0, "192.0.2.1", "X"), (t0, "198.51.100.1", "X")]));
    // 91 days on, 192.0.2.0/24 is new again; 198.51.100.0/24 was seen at day 60.
    settle(&mut book, &batch(&rule, "b", &[(t0 + 60 * DAY, "198.51.100.2", "X")]));
    let late = batch(&rule, "c", &[(t0 + 91 * DAY, "192.0.2.7", "X"), (t0 + 91 * DAY, "198.51.100.3", "X")]);
    assert_eq!(settle(&mut book, &late), ["192.0.2.0/24"]);

    let many: Vec<(i64, String)> =
        (0..MAX_VALUES as i64 + 10).map(|n| (t0 + 100 * DAY + n, format!("10.{n}.0.1"))).collect();
    let calls: Vec<(i64, &str, &str)> = many.iter().map(|(t, ip)| (*t, ip.as_str(), "X")).collect();
    settle(&mut book, &batch(&rule, "d", &calls));
    let profile = book.get(&ProfileId::new(&format!("{ACCOUNT}|user/alice"), "network")).unwrap();
    assert_eq!(profile.values.len(), MAX_VALUES);
    assert!(profile.values.contains_key(&format!("10.{}.0.0/24", MAX_VALUES + 9)), "the newest stays");
}

#[test]
fn busy_principals_cost_no_writes_until_last_seen_moves_a_step() {
    let rule = rule("network", "0");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    settle(&mut book, &batch(&rule, "a", &[(t0, "192.0.2.1", "X")]));
    let same_day = batch(&rule, "b", &[(t0 + 3600, "192.0.2.1", "X")]);
    assert!(same_day.plan(|id| book.get(id)).writes.is_empty());
    let next_day = batch(&rule, "c", &[(t0 + DAY + 1, "192.0.2.1", "X")]);
    let writes = next_day.plan(|id| book.get(id)).writes;
    assert!(!writes.is_empty() && writes.iter().all(|w| !matches!(w, Write::Add { .. })), "{writes:?}");
}

#[test]
fn sensitive_events_and_selector_values_are_profiled() {
    let sensitive = rule("sensitive_event", "14d");
    let mut book = Book::default();
    let t0 = 1_800_000_000;
    settle(&mut book, &batch(&sensitive, "a", &[(t0, "192.0.2.1", "DescribeInstances")]));
    let first_use = batch(&sensitive, "b", &[(t0 + 15 * DAY, "192.0.2.1", "InvokeModel")]);
    assert_eq!(settle(&mut book, &first_use), ["InvokeModel"]);

    let model = rule("$.requestParameters.modelId", "0");
    settle(&mut book, &batch(&model, "c", &[(t0, "192.0.2.1", "InvokeModel")]));
    let id = ProfileId::new(&format!("{ACCOUNT}|user/alice"), "$.requestParameters.modelId");
    assert!(book.get(&id).unwrap().values.contains_key("claude"));
}

#[test]
fn a_saved_book_loads_back_the_same_and_bad_files_say_why() {
    let rule = rule("network", "0");
    let mut book = Book::default();
    settle(&mut book, &batch(&rule, "a", &[(1_800_000_000, "192.0.2.1", "X")]));
    let mut bytes = Vec::new();
    book.save(&mut bytes).unwrap();
    assert_eq!(Book::load(bytes.as_slice()).unwrap(), book);
    assert!(Book::load(&b"{}"[..]).unwrap_err().contains("not a profile file"));
    let other = br#"{"format":"x/9","profiles":[]}"#;
    assert!(Book::load(&other[..]).unwrap_err().contains("is not trailwatch-profiles/1"));
}
