//! Table tests: the examples of the CloudWatch Logs documentation (which
//! events each documented pattern matches), then the edge cases.

use super::*;

/// The documentation's example event for JSON filter patterns.
const DOC_EVENT: &str = r#"{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "cluster.name": "c",
  "ThisFlag": true
}"#;

/// The documentation's example event for compound expressions.
const COMPOUND_EVENT: &str = r#"{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [
    {"id": 2, "email": "John.Doe@example.com"},
    {"id": 3, "email": "Jane.Doe@example.com"}
  ],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 30], [0, 40]]
}"#;

/// The documentation's example event for numeric comparisons.
const NUMBER_EVENT: &str = r#"{"latency": 50, "bandwidth": 100, "refreshRate": 60, "responseTime": 5,
  "errorCode": 400, "number": [0.001, 1000], "negative": -3, "big": 1e3}"#;

fn check(pattern: &str, event: &str) -> bool {
    Pattern::parse(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .matches_json(event)
        .unwrap_or_else(|e| panic!("{event}: {e}"))
}

#[test]
fn documented_examples_match_as_documented() {
    let cases: &[(&str, &str, bool)] = &[
        // Strings, wildcards, arrays, null, booleans.
        (r#"{ $.eventType = "UpdateTrail" }"#, DOC_EVENT, true),
        (r#"{ $.eventType = UpdateTrail }"#, DOC_EVENT, true),
        (r#"{ $.sourceIPAddress != 123.123.* }"#, DOC_EVENT, true),
        (r#"{ $.sourceIPAddress != 111.111.* }"#, DOC_EVENT, false),
        (r#"{ $.arrayKey[0] = "value" }"#, DOC_EVENT, true),
        (r#"{ $.arrayKey[1] = "value" }"#, DOC_EVENT, false),
        (r#"{ $.objectList[1].id = 2 }"#, DOC_EVENT, true),
        (r#"{ $.objectList[0].id = 2 }"#, DOC_EVENT, false),
        (r#"{ $.SomeObject IS NULL }"#, DOC_EVENT, true),
        (r#"{ $.SomeOtherObject NOT EXISTS }"#, DOC_EVENT, true),
        (r#"{ $.SomeObject NOT EXISTS }"#, DOC_EVENT, false),
        (r#"{ $.ThisFlag IS TRUE }"#, DOC_EVENT, true),
        (r#"{ $.ThisFlag IS FALSE }"#, DOC_EVENT, false),
        // Compound expressions: && binds tighter than ||.
        (r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#, COMPOUND_EVENT, true),
        (r#"{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }"#, COMPOUND_EVENT, false),
        (
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nomatch" }"#,
            COMPOUND_EVENT,
            true,
        ),
        (
            r#"{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nomatch" }"#,
            COMPOUND_EVENT,
            false,
        ),
        (r#"{ $.coordinates[1][1] = 40 }"#, COMPOUND_EVENT, true),
        // Wildcard selectors: true if any reached value matches.
        (r#"{ $.users[*].email = "Jane.Doe@example.com" }"#, COMPOUND_EVENT, true),
        (r#"{ $.users[*].id > 2 }"#, COMPOUND_EVENT, true),
        (r#"{ $.users[*].id > 3 }"#, COMPOUND_EVENT, false),
        (r#"{ $.user.* = "John.Stiles@example.com" }"#, COMPOUND_EVENT, true),
        (r#"{ $.actions[*] = "DELETE" }"#, COMPOUND_EVENT, true),
        // Numbers.
        (r#"{ $.bandwidth > 75 }"#, NUMBER_EVENT, true),
        (r#"{ $.latency < 50 }"#, NUMBER_EVENT, false),
        (r#"{ $.refreshRate >= 60 }"#, NUMBER_EVENT, true),
        (r#"{ $.responseTime <= 5 }"#, NUMBER_EVENT, true),
        (r#"{ $.errorCode = 400 }"#, NUMBER_EVENT, true),
        (r#"{ $.errorCode != 500 }"#, NUMBER_EVENT, true),
        (r#"{ $.errorCode != 400 }"#, NUMBER_EVENT, false),
        (r#"{ $.number[0] = 1e-3 }"#, NUMBER_EVENT, true),
        (r#"{ $.number[0] != 1e+3 }"#, NUMBER_EVENT, true),
        (r#"{ $.number[1] = 1e+3 }"#, NUMBER_EVENT, true),
        (r#"{ $.number[1] = 1000.0 }"#, NUMBER_EVENT, true),
        (r#"{ $.negative < -2.5 }"#, NUMBER_EVENT, true),
        (r#"{ $.big = 1000 }"#, NUMBER_EVENT, true),
    ];
    for (pattern, event, want) in cases {
        assert_eq!(check(pattern, event), *want, "{pattern}");
    }
}

const CT: &str = r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","errorCode":"Client.UnauthorizedOperation",
  "userIdentity":{"type":"IAMUser","accountId":"111122223333"},"recipientAccountId":"111122223333","readOnly":false,
  "additionalEventData":{"MFAUsed":"No"},"requestParameters":null,"empty":"","count":3,"tags":[],"obj":{}}"#;

#[test]
fn edge_cases_follow_aws_semantics() {
    let cases: &[(&str, bool)] = &[
        // Missing field: both = and != are false.
        (r#"{ $.missing = "x" }"#, false),
        (r#"{ $.missing != "x" }"#, false),
        (r#"{ $.missing NOT EXISTS }"#, true),
        (r#"{ $.eventName NOT EXISTS }"#, false),
        // Object, array and null values: = and != are false, but they exist.
        (r#"{ $.userIdentity = "x" }"#, false),
        (r#"{ $.userIdentity != "x" }"#, false),
        (r#"{ $.tags != "x" }"#, false),
        (r#"{ $.obj NOT EXISTS }"#, false),
        (r#"{ $.requestParameters = * }"#, false),
        (r#"{ $.requestParameters IS NULL }"#, true),
        (r#"{ $.eventName IS NULL }"#, false),
        // Wildcards: first and/or last character only; quoting keeps them.
        (r#"{ $.errorCode = "*UnauthorizedOperation" }"#, true),
        (r#"{ $.errorCode = *UnauthorizedOperation }"#, true),
        (r#"{ $.errorCode = "Client.*" }"#, true),
        (r#"{ $.errorCode = "*Unauthorized*" }"#, true),
        (r#"{ $.errorCode = "Client*Operation" }"#, false),
        (r#"{ $.eventName = * }"#, true),
        (r#"{ $.missing = * }"#, false),
        (r#"{ $.empty = "" }"#, true),
        (r#"{ $.empty = * }"#, true),
        // Case-sensitive.
        (r#"{ $.eventName = consolelogin }"#, false),
        (r#"{ $.additionalEventData.MFAUsed != "Yes" }"#, true),
        // Bare values with dots and colons.
        (r#"{ $.eventSource = signin.amazonaws.com }"#, true),
        // Number literal vs string field compares as text; numbers numerically.
        (r#"{ $.recipientAccountId = 111122223333 }"#, true),
        (r#"{ $.userIdentity.accountId = "111122223333" }"#, true),
        (r#"{ $.count = 3 }"#, true),
        (r#"{ $.count = "3" }"#, true),
        (r#"{ $.count = 3.0 }"#, true),
        (r#"{ $.count > 2 }"#, true),
        (r#"{ $.recipientAccountId > 2 }"#, false),
        // Booleans compare as their text with = / !=.
        (r#"{ $.readOnly = false }"#, true),
        (r#"{ $.readOnly IS FALSE }"#, true),
        (r#"{ $.readOnly IS TRUE }"#, false),
        (r#"{ $.eventName IS TRUE }"#, false),
        // Regex: unanchored unless ^ or $.
        (r#"{ $.eventName = %Console% }"#, true),
        (r#"{ $.eventName = %^Login% }"#, false),
        (r#"{ $.eventName = %Log[a-z]+$% }"#, true),
        (r#"{ $.eventName != %^Console% }"#, false),
        (r#"{ $.errorCode = %Unauthorized[A-Z]% && $.eventName = %Login% }"#, true),
        // Escaped quotes in strings.
        (r#"{ $.x = "a\"b" }"#, false),
        // Precedence and parentheses.
        (r#"{ $.eventName = ConsoleLogin || $.missing = 1 && $.missing = 2 }"#, true),
        (r#"{ ($.eventName = ConsoleLogin || $.missing = 1) && $.missing = 2 }"#, false),
        (r#"{(($.eventName=ConsoleLogin))}"#, true),
    ];
    for (pattern, want) in cases {
        assert_eq!(check(pattern, CT), *want, "{pattern}");
    }
}

#[test]
fn escaped_keys_and_values_in_records_are_decoded() {
    assert!(check(r#"{ $.msg = "say \"hi\"" }"#, r#"{"msg":"say \"hi\""}"#));
    assert!(check(r#"{ $.name = café }"#, r#"{"n\u0061me":"caf\u00e9"}"#));
}

#[test]
fn wildcard_alongside_a_named_child_sees_every_value() {
    let event = r#"{"a":[{"b":1},{"b":2}],"o":{"k":"v","j":"w"}}"#;
    assert!(check(r#"{ $.a[0].b = 1 && $.a[*].b = 2 }"#, event));
    assert!(check(r#"{ $.o.k = v && $.o.* = w }"#, event));
}

#[test]
fn parse_errors_say_what_was_expected_and_where() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "{ $.eventName ConsoleLogin }",
            15,
            "expected '=', '!=', '<', '>', '<=', '>=', IS or NOT EXISTS after selector",
        ),
        ("$.a = 1", 1, "expected '{'"),
        ("{ $.a = 1", 10, "expected '&&', '||' or '}'"),
        ("{ $.a = }", 9, "expected a value"),
        ("{ $.a > abc }", 9, "expected a number after '>'"),
        ("{ $.a = \"x }", 9, "unterminated string"),
        ("{ a = 1 }", 3, "expected a selector"),
        ("{ $. = 1 }", 5, "expected a property name"),
        ("{ $.a[x] = 1 }", 7, "expected an array index"),
        ("{ $.a IS MAYBE }", 10, "expected NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", 11, "expected EXISTS"),
        ("{ ($.a = 1 }", 12, "expected '&&', '||' or ')'"),
        ("{ $.a = %a(b)% }", 11, "'(' is not allowed"),
        ("{ $.a = %a% || $.b = %b% || $.c = %c% }", 35, "a third regex term"),
        ("{ $.a = 1 } extra", 13, "expected end of pattern"),
        ("{ $ = 1 }", 4, "expected '.' or '['"),
    ];
    for (pattern, column, message) in cases {
        let err = Pattern::parse(pattern).expect_err(pattern);
        match &err.kind {
            crate::ErrorKind::Pattern { column: c, message: m } => {
                assert_eq!(c, column, "{pattern}: {m}");
                assert!(m.contains(message), "{pattern}: {m}");
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

#[test]
fn the_cis_patterns_all_parse() {
    let set = crate::RuleSet::builtin().unwrap();
    for rule in set.all_rules() {
        Pattern::parse(&rule.pattern).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
    }
}

#[test]
fn deep_nesting_and_long_patterns_are_refused_with_a_clear_error_not_a_crash() {
    // 10,000 levels used to overflow the stack and abort the process.
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(10_000), ")".repeat(10_000));
    let err = Pattern::parse(&deep).unwrap_err();
    assert!(err.to_string().contains("1024"), "{err}");
    let nested = |n: usize| format!("{{ {}$.a = 1{} }}", "(".repeat(n), ")".repeat(n));
    assert!(Pattern::parse(&nested(32)).is_ok());
    let err = Pattern::parse(&nested(33)).unwrap_err();
    assert!(err.to_string().contains("nest deeper than 32 levels"), "{err}");
    let long = format!("{{ $.a = \"{}\" }}", "x".repeat(1020));
    assert!(Pattern::parse(&long).unwrap_err().to_string().contains("at most 1024"));
}
