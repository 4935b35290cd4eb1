//! Rule files: loading, validation, examples.

use super::*;

#[test]
fn builtin_catalogue_loads_and_every_example_passes() {
    let set = RuleSet::builtin().unwrap();
    set.check_references().unwrap();
    let failures = set.test_examples();
    assert!(failures.is_empty(), "{}", failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n"));
    for rule in set.all_rules() {
        assert!(!rule.examples.matches.is_empty(), "{} has no match example", rule.id);
        assert!(!rule.examples.no_match.is_empty(), "{} has no no_match example", rule.id);
        assert!(!rule.runbook.is_empty(), "{} has no runbook", rule.id);
    }
}

#[test]
fn securityhub_cloudwatch_1_to_14_and_cis_4_15_are_all_there() {
    let set = RuleSet::builtin().unwrap();
    for n in 1..=14 {
        let tag = format!("securityhub/CloudWatch.{n}");
        let count = set.all_rules().iter().filter(|r| r.tags.contains(&tag)).count();
        assert_eq!(count, 1, "{tag}");
    }
    assert!(set.all_rules().iter().any(|r| r.tags.iter().any(|t| t == "cis/4.15")));
}

#[test]
fn bad_rule_files_name_the_file_rule_and_problem() {
    let cases = [
        ("[[rule]]\nid='x'\ntitle='t'\nseverity='high'\npattern='{ $.a = }'\ndescription='d'", "rule 'x': pattern"),
        ("[[rule]]\nid='x'\ntitle='t'\nseverity='urgent'\npattern='{ $.a = 1 }'\ndescription='d'", "urgent"),
        ("[[rule]]\nid='x y'\ntitle='t'\nseverity='low'\npattern='{ $.a = 1 }'\ndescription='d'", "the id must"),
        ("[[suppression]]\nrules=['x']\nreason='r'", "needs a `pattern` or `source_cidrs`"),
        ("[[suppression]]\nrules=['x']\nsource_cidrs=['10.0.0.0/33']\nreason='r'", "invalid"),
        (
            "[[rule]]\nid='x'\ntitle='t'\nseverity='low'\npattern='{ $.a = 1 }'\ndescription='d'\nextra=1",
            "unknown field",
        ),
    ];
    for (text, needle) in cases {
        let err = RuleSet::from_toml(text, "mine.toml").unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("mine.toml: "), "{shown}");
        assert!(shown.to_lowercase().contains(&needle.to_lowercase()), "{shown} lacks {needle}");
    }
}

#[test]
fn user_rules_add_disable_and_refuse_duplicate_ids() {
    let mut set = RuleSet::builtin().unwrap();
    let first = set.all_rules()[0].id.clone();
    let user = format!(
        "disable = ['{first}']\n[[rule]]\nid='mine'\ntitle='t'\nseverity='low'\npattern='{{ $.a = 1 }}'\ndescription='d'"
    );
    set.merge(RuleSet::from_toml(&user, "u.toml").unwrap()).unwrap();
    assert!(set.active_rules().any(|r| r.id == "mine"));
    assert!(!set.active_rules().any(|r| r.id == first));
    let dup = format!("[[rule]]\nid='{first}'\ntitle='t'\nseverity='low'\npattern='{{ $.a = 1 }}'\ndescription='d'");
    let err = set.merge(RuleSet::from_toml(&dup, "d.toml").unwrap()).unwrap_err();
    assert!(err.to_string().contains("already defined in built-in"), "{err}");

    set.merge(RuleSet::from_toml("dry_run = ['mine']", "t.toml").unwrap()).unwrap();
    assert!(set.active_rules().find(|r| r.id == "mine").unwrap().dry_run);
    let bad_ref = RuleSet::from_toml("disable = ['nope']", "x.toml").unwrap();
    set.merge(bad_ref).unwrap();
    assert!(set.check_references().unwrap_err().to_string().contains("'nope'"));
}

#[test]
fn severity_parses_and_orders() {
    assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
    assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    assert!("urgent".parse::<Severity>().is_err());
}
