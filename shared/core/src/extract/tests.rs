use super::*;

fn steps(path: &str) -> Vec<Step> {
    path.split('.')
        .map(|p| match p {
            "*" => Step::AnyChild,
            p if p.parse::<usize>().is_ok() => Step::Index(p.parse().unwrap()),
            p => Step::Key(p.to_string()),
        })
        .collect()
}

#[test]
fn extracts_nested_values_indexes_and_wildcards() {
    let mut table = PathTable::new();
    let a = table.intern(&steps("user.id"));
    let b = table.intern(&steps("users.1.email"));
    let c = table.intern(&steps("users.*.email"));
    let d = table.intern(&steps("user"));
    let e = table.intern(&steps("missing.x"));
    let f = table.intern(&steps("esc"));
    assert_eq!(table.intern(&steps("user.id")), a);
    let json = r#"{"user":{"id":1},"users":[{"email":"a"},{"email":"b"}],"esc":"q\"q","n":null}"#;
    let v = table.extract(json).unwrap();
    assert_eq!(v.get(a), &[Scalar::Num(1.0)]);
    assert_eq!(v.str(b), Some("b"));
    assert_eq!(v.get(c).len(), 2);
    assert_eq!(v.get(d), &[Scalar::Container]);
    assert!(v.get(e).is_empty());
    assert_eq!(v.str(f), Some("q\"q"));
}

#[test]
fn malformed_json_is_an_error() {
    let mut table = PathTable::new();
    table.intern(&steps("a"));
    for bad in [r#"{"a":}"#, r#"{"a":1"#, r#"{"a":1} x"#, r#"{"a":tru}"#, r#"{"a":"\x"}"#] {
        assert!(table.extract(bad).is_err(), "{bad}");
    }
}

/// Both walkers on one text: the fast one may decline what serde_json
/// takes, but what it takes must be serde_json's values exactly, and it
/// must never take what serde_json refuses. Returns whether it took it.
fn agree(table: &PathTable, json: &str) -> bool {
    let mut extracted = Extracted::default();
    let took = walk::prefix(table, json.as_bytes(), &mut extracted)
        .is_ok_and(|end| json[end..].trim_start_matches([' ', '\t', '\n', '\r']).is_empty());
    let mut slow = Found { items: Vec::new(), raws: Vec::new() };
    match visitor::extract(table, json, &mut slow) {
        Ok(()) if took => {
            let fast = extracted.as_ref().attach(json, table);
            let slow = Values::group(slow, table.slots);
            assert_eq!((&fast.items, &fast.start), (&slow.items, &slow.start), "values differ on {json:?}");
            for (slot, raw) in &fast.raws {
                serde_json::from_str::<serde::de::IgnoredAny>(raw).expect("a kept container is JSON");
                assert!(raw.starts_with(['{', '[']), "slot {slot}: {raw}");
            }
        }
        Ok(()) => {}
        Err(e) => assert!(!took, "the fast walker took what serde_json refuses ({e}): {json:?}"),
    }
    took
}

fn wide_table() -> PathTable {
    let mut table = PathTable::new();
    for path in ["a", "a.b", "a.*", "a.*.c", "l.0", "l.*", "l.1.x", "*", "*.*", "eventName", "userIdentity.arn"] {
        table.intern(&steps(path));
    }
    table
}

#[test]
fn fast_walker_agrees_with_serde_json_on_edge_cases() {
    let table = wide_table();
    let taken = [
        r#"{}"#,
        r#" { "a" : { "b" : [ 1 , -0 , 2.5e-3 , 1E+2 , true , false , null ] } } "#,
        r#"{"a":{"b":"x","c":{"c":1}},"a":{"b":"dup"}}"#,
        r#"{"l":[{"x":1},{"x":"é\u00e9\n\t\"\\\/"}],"z":[[],{}]}"#,
        r#"{"a":[{"c":"1"},{"c":2}],"eventName":"ConsoleLogin"}"#,
        r#"{"a":18446744073709551616,"l":[-9223372036854775809,123456789012345678901234567890]}"#,
    ];
    for json in taken {
        assert!(agree(&table, json), "declined {json}");
    }
    let declined = [
        r#"{"a":}"#,
        r#"{"a":1"#,
        r#"{"a":1} x"#,
        r#"{"a":tru}"#,
        r#"{"a":"\x"}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":-}"#,
        r#"{"a":.5}"#,
        r#"{"a":1e}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":1,}"#,
        r#"{,"a":1}"#,
        r#"{"a" 1}"#,
        r#"{"a":"tab	here"}"#,
        r#"{"a":"\ud83d\ude00"}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"\u0061":1}"#,
        r#"{"a":1e400}"#,
        r#"{"a":"\u12"}"#,
        r#"{"a":[}"#,
        r#"{"a":{]}"#,
        "{\"a\":\"unterminated",
    ];
    for json in declined {
        assert!(!agree(&table, json), "took {json}");
    }
    // Whichever way these go, the two walkers must agree.
    for json in [r#"{"q":{"r":{"z":1e400}}}"#, r#"{"q":{"r":{"z":"\udc00"}}}"#, r#"{"q":{"r":{"\"":-1.5E-400}}}"#] {
        agree(&table, json);
    }
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(150), "]".repeat(150));
    assert!(!agree(&table, &deep));
}

#[test]
fn fast_walker_takes_every_generated_record() {
    let mut table = wide_table();
    for path in
        ["userIdentity.type", "requestParameters.*", "responseElements.*.*", "resources.*.ARN", "sourceIPAddress"]
    {
        table.intern(&steps(path));
    }
    let mut generator = crate::synth::Generator::new(7);
    for _ in 0..2000 {
        let json = generator.record().to_string();
        assert!(agree(&table, &json), "declined {json}");
    }
}

#[test]
fn a_record_cut_short_asks_for_more_and_a_whole_one_says_where_it_ends() {
    let table = wide_table();
    let mut generator = crate::synth::Generator::new(11);
    let mut extracted = Extracted::default();
    for _ in 0..20 {
        let json = generator.record().to_string();
        let with_escapes = json.replace("\"a\"", "\"a\\u00e9\\n\"");
        for json in [json, with_escapes] {
            let next = format!("{json}, {{\"next\":1}}");
            assert_eq!(walk::prefix(&table, next.as_bytes(), &mut extracted), Ok(json.len()));
            for cut in (0..json.len()).filter(|&i| json.is_char_boundary(i)) {
                assert_eq!(
                    walk::prefix(&table, &json.as_bytes()[..cut], &mut extracted),
                    Err(walk::Stop::More),
                    "cut at {cut}"
                );
            }
        }
    }
}

mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::{agree, wide_table};

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[abcl0-9*]{0,2}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn fast_walker_takes_well_formed_json_and_agrees(value in json_value()) {
            let json = serde_json::json!({ "a": value.clone(), "l": [value] }).to_string();
            let took = agree(&wide_table(), &json);
            // Surrogate escapes never appear: serde_json writes characters
            // as they are and escapes only control characters.
            prop_assert!(took, "declined {}", json);
        }

        #[test]
        fn fast_walker_never_takes_what_serde_json_refuses(
            value in json_value(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut bytes = serde_json::json!({ "a": value }).to_string().into_bytes();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len().max(1)).min(bytes.len());
                let byte = b"{}[]\",:\\-0e.tnu \x01"[byte as usize % 17];
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => bytes.truncate(i),
                }
            }
            if let Ok(json) = String::from_utf8(bytes) {
                agree(&wide_table(), &json);
            }
        }
    }
}
