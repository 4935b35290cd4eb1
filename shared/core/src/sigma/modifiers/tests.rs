//! Detection items: values, modifiers and refusals.

use super::*;

fn node(yaml: &str) -> Node {
    super::super::yaml::documents(yaml).unwrap().remove(0)
}

fn texts(key: &str, value: &str) -> Vec<TextMatch> {
    let item = item(key, &node(value), 1, &Placeholders::new()).unwrap();
    item.tests.into_iter().map(|t| if let Test::Text(re) = t { re } else { panic!("{t:?}") }).collect()
}

#[test]
fn wildcards_escapes_case_and_anchors() {
    // (key, value, text, matches)
    let cases = [
        ("f", "'abc'", "ABC", true),
        ("f", "'abc'", "abcd", false),
        ("f", "'keys'", "\u{212A}EYS", true),
        ("f", "['x', 'keys']", "KEYS", true),
        ("f|cased", "['x', 'keys']", "KEYS", false),
        ("f|cased", "'abc'", "ABC", false),
        ("f|cased", "'abc'", "abc", true),
        ("f", "'a*c'", "aXXc", true),
        ("f", "'a?c'", "aXc", true),
        ("f", "'a?c'", "aXXc", false),
        ("f", r"'a\*c'", "a*c", true),
        ("f", r"'a\*c'", "aXc", false),
        ("f", r"'a\?c'", "a?c", true),
        ("f", r"'a\\*'", r"a\anything", true),
        ("f", r"'C:\Windows'", r"c:\windows", true),
        ("f|contains", "'bc'", "aBCd", true),
        ("f|startswith", "'ab'", "abc", true),
        ("f|startswith", "'ab'", "cab", false),
        ("f|endswith", "'ab'", "cab", true),
        ("f|contains", "'a.b'", "aXb", false),
        ("f", "'x*'", "x\ny", true),
        ("f|re", "'^a.c$'", "abc", true),
        ("f|re", "'^a.c$'", "ABC", false),
        ("f|re|i", "'^a.c$'", "ABC", true),
        ("f|base64", "'abc'", "YWJj", true),
        ("f|base64|contains", "'abc'", "xxYWJjxx", true),
        ("f|base64offset|contains", "'abc'", "IGFiYw==", true),
        ("f|base64offset|contains", "'abc'", "ICBhYmM=", true),
    ];
    for (key, value, text, expected) in cases {
        let any = texts(key, value).iter().any(|re| re.is_match(text));
        assert_eq!(any, expected, "{key}: {value} on {text:?}");
    }
}

#[test]
fn lists_are_or_and_all_makes_them_and() {
    let or = texts("f|contains", "['a', 'b']");
    assert_eq!(or.len(), 1);
    assert!(or[0].is_match("xbx"));
    let and = texts("f|contains|all", "['a', 'b']");
    assert_eq!(and.len(), 2);
    assert!(item("f|all", &node("'a'"), 3, &Placeholders::new()).unwrap_err().1.contains("single value"));
}

#[test]
fn base64offset_gives_the_reference_variants() {
    assert_eq!(base64_offsets(b"http://"), ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]);
}

#[test]
fn typed_values_and_refusals_name_the_line() {
    let item_ok = |k: &str, v: &str| item(k, &node(v), 7, &Placeholders::new()).unwrap().tests;
    assert!(matches!(item_ok("f", "5")[0], Test::Num(n) if n == 5.0));
    assert!(matches!(item_ok("f", "true")[0], Test::Bool(true)));
    assert!(matches!(item_ok("f", "null")[0], Test::Null));
    assert!(matches!(item_ok("f|exists", "false")[0], Test::Exists(false)));
    assert!(matches!(item_ok("f|gte", "3")[0], Test::Cmp(Cmp::Gte, n) if n == 3.0));
    assert!(matches!(item_ok("f|cidr", "'10.0.0.0/8'")[0], Test::Cidr(_)));
    assert!(matches!(&item_ok("f|fieldref|startswith", "'g'")[0], Test::FieldRef { anchor: Anchor::Start, .. }));
    let refuse = |k: &str, v: &str| item(k, &node(v), 7, &Placeholders::new()).unwrap_err();
    assert_eq!(refuse("f|wide", "'-x'").0, 7);
    assert!(refuse("f|wide", "'-x'").1.contains("UTF-16"));
    assert!(refuse("f|windash|base64", "'-x'").1.contains("cannot be combined"));
    assert!(refuse("|neq", "'x'").1.contains("neq needs a field"));
    assert!(refuse("f|week", "3").1.contains("numbering"));
    assert!(refuse("f|hour", "'3'").1.contains("whole number"));
    assert!(refuse("f|hour|gte", "3").1.contains("cannot be combined"));
    assert!(refuse("f|hour|minute", "3").1.contains("cannot be combined"));
    assert!(refuse("f|nope", "'x'").1.contains("unknown modifier 'nope'"));
    assert!(refuse("f|re", "'(?<=a)b'").1.contains("not a regular expression this engine runs"));
    assert!(refuse("f|contains|startswith", "'x'").1.contains("cannot be combined"));
    assert!(refuse("f", "['a', null]").1.contains("null in a list"));
    assert!(refuse("f|gt", "'x'").1.contains("take a number"));
    assert!(refuse("f|base64", "'a*'").1.contains("wildcards"));
}
