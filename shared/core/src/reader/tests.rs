//! The reader on well-formed, hostile and broken input.

use super::*;
use std::io::{Cursor, Write};
use std::sync::Arc;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Reads everything: (records' JSON, errors as "kind@offset#record").
fn read_all(data: &[u8]) -> (Vec<String>, Vec<Error>) {
    read_all_limited(data, DEFAULT_MAX_RECORD_BYTES)
}

fn read_all_limited(data: &[u8], limit: usize) -> (Vec<String>, Vec<Error>) {
    let mut reader = LogReader::new("t.json", Cursor::new(data.to_vec())).with_max_record_bytes(limit);
    let (mut records, mut errors) = (Vec::new(), Vec::new());
    while let Some(next) = reader.next_record() {
        match next {
            Ok(r) => records.push(r.json.to_string()),
            Err(e) => errors.push(e),
        }
    }
    (records, errors)
}

#[test]
fn reads_records_in_order_with_other_keys_anywhere() {
    let text = br#" {"before": {"x": [1, "]"]}, "Records" : [ {"a":1} ,{"b":"}\"{"}], "after": 2 } "#;
    let (records, errors) = read_all(text);
    assert_eq!(records, vec![r#"{"a":1}"#, r#"{"b":"}\"{"}"#]);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn gzip_and_multi_member_gzip_read_like_plain() {
    let text = br#"{"Records":[{"a":1},{"a":2}]}"#;
    let (records, errors) = read_all(&gzip(text));
    assert_eq!(records.len(), 2);
    assert!(errors.is_empty());
    let mut two = gzip(&text[..15]);
    two.extend(gzip(&text[15..]));
    assert_eq!(read_all(&two).0, records);
}

#[test]
fn records_span_many_refills() {
    let big = "x".repeat(3 * CHUNK);
    let text = format!(r#"{{"Records":[{{"a":"{big}"}},{{"b":1}}]}}"#);
    let (records, errors) = read_all(text.as_bytes());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1], r#"{"b":1}"#);
    assert!(errors.is_empty());
}

#[test]
fn empty_records_array_is_fine() {
    let (records, errors) = read_all(br#"{"Records":[]}"#);
    assert!(records.is_empty() && errors.is_empty());
}

/// (input, expected kind prefix, offset, record, good records before the fault)
type Case<'a> = (&'a [u8], &'a str, Option<u64>, Option<usize>, usize);

fn bad_input_cases() -> Vec<Case<'static>> {
    vec![
        (b"", "EmptyFile", Some(0), None, 0),
        (b"   ", "NotJson", Some(3), None, 0),
        (b"PK\x03\x04", "NotJson", Some(0), None, 0),
        (b"[1,2]", "WrongShape", Some(0), None, 0),
        (b"nope, plain text", "NotJson", Some(0), None, 0),
        (br#"{"foo": 1}"#, "WrongShape", Some(0), None, 0),
        (br#"{"Records": 5}"#, "WrongShape", Some(12), None, 0),
        (br#"{"Records": [{"a":1}, 7, {"b":2}]}"#, "RecordNotObject", Some(22), Some(1), 2),
        (br#"{"Records": [{"a":1}, {"b":2"#, "Truncated", Some(28), Some(1), 1),
        (br#"{"Records": [{"a":1} {"b":2}]}"#, "WrongShape", Some(21), None, 1),
        (br#"{"Records": [{"a":1}]} x"#, "WrongShape", Some(23), None, 1),
        (br#"{"Records": [{"a":1], {"b":2}]}"#, "WrongShape", Some(19), Some(0), 0),
        (b"{\"Records\": [{\"a\":1}, {\"b\":\"\xff\"}]}", "InvalidUtf8", Some(28), Some(1), 1),
    ]
}

#[test]
fn bad_inputs_give_located_errors() {
    for (input, kind, offset, record, good) in bad_input_cases() {
        let (records, errors) = read_all(input);
        let label = String::from_utf8_lossy(input);
        assert_eq!(records.len(), good, "good records for {label}");
        assert_eq!(errors.len(), 1, "errors for {label}: {errors:?}");
        let e = &errors[0];
        assert!(format!("{:?}", e.kind).starts_with(kind), "kind for {label}: {e}");
        assert_eq!(e.location.offset, offset, "offset for {label}: {e}");
        assert_eq!(e.location.record, record, "record for {label}: {e}");
        assert_eq!(e.location.source.as_deref(), Some("t.json"));
    }
}

#[test]
fn truncated_gzip_keeps_earlier_records_and_says_gzip() {
    let mut text = String::from(r#"{"Records":["#);
    for i in 0..2000 {
        text.push_str(&format!(r#"{{"eventID":"{i}","n":"{}"}},"#, fastrand::u64(..)));
    }
    text.push_str(r#"{"last":1}]}"#);
    let gz = gzip(text.as_bytes());
    let (records, errors) = read_all(&gz[..gz.len() / 2]);
    assert!(records.len() > 100 && records.len() < 2000, "{}", records.len());
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0].kind, ErrorKind::Gzip(_) | ErrorKind::Truncated(_)), "{:?}", errors[0]);
}

#[test]
fn too_deep_and_too_large_records_are_skipped_not_fatal() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let text = format!(r#"{{"Records":[{{"d":{deep}}},{{"ok":1}}]}}"#);
    let (records, errors) = read_all(text.as_bytes());
    assert_eq!(records, vec![r#"{"ok":1}"#]);
    assert!(matches!(errors[0].kind, ErrorKind::TooDeep(_)));
    assert_eq!(errors[0].location.record, Some(0));

    let big = "y".repeat(300_000);
    let text = format!(r#"{{"Records":[{{"a":"{big}"}},{{"ok":2}}]}}"#);
    let (records, errors) = read_all_limited(text.as_bytes(), 100_000);
    assert_eq!(records, vec![r#"{"ok":2}"#]);
    assert!(matches!(errors[0].kind, ErrorKind::RecordTooLarge { size, .. } if size > 300_000), "{errors:?}");
}

#[test]
fn memory_stays_bounded_by_the_largest_record() {
    let mut text = String::from(r#"{"Records":["#);
    for i in 0..20_000 {
        text.push_str(&format!(r#"{{"eventID":"{i}","pad":"{}"}},"#, "p".repeat(100)));
    }
    text.push_str("{}]}");
    let mut reader = LogReader::new("t", Cursor::new(text.into_bytes()));
    let mut n = 0;
    while let Some(r) = reader.next_record() {
        r.unwrap();
        n += 1;
    }
    assert_eq!(n, 20_001);
    assert!(reader.buf.len() <= 2 * CHUNK, "buffer grew to {}", reader.buf.len());
}

/// What a visitor saw: records as "index@offset:json", problems as text,
/// and whether the file read to its end.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
    stop_after: Option<usize>,
    records: usize,
    walked: usize,
    table: Arc<PathTable>,
}

impl RecordVisitor for Seen {
    fn record(&mut self, raw: RawRecord<'_>) -> Result<std::ops::ControlFlow<()>> {
        self.records += 1;
        if raw.extracted.is_some() {
            self.walked += 1;
            let values = raw.values(&self.table).expect("a walked record has values");
            let again = self.table.extract(raw.json).expect("and parses");
            for slot in 0..self.table.len() {
                assert_eq!(values.get(slot), again.get(slot), "slot {slot} of {}", raw.json);
            }
        }
        if raw.json.contains("\"bad\"") {
            return Err(Error::at(ErrorKind::RecordSyntax("visitor refused".into()), Location::default()));
        }
        self.events.push(format!("{}@{}:{}", raw.index, raw.offset, raw.json));
        if self.stop_after == Some(self.records) {
            return Ok(std::ops::ControlFlow::Break(()));
        }
        Ok(std::ops::ControlFlow::Continue(()))
    }
    fn problem(&mut self, error: Error) {
        self.events.push(format!("problem: {error}"));
    }
}

fn table() -> Arc<PathTable> {
    let mut table = PathTable::new();
    for path in [&["eventID"][..], &["pad"], &["d"], &["a"], &["b"]] {
        table.intern(&path.iter().map(|k| crate::pattern::Step::Key(k.to_string())).collect::<Vec<_>>());
    }
    Arc::new(table)
}

/// Visits with 1 or 2 threads, walking records with a table or not; the
/// events must not depend on either choice.
fn visit_with(data: &[u8], threads: usize, walk: bool, stop_after: Option<usize>) -> (Vec<String>, bool) {
    let table = table();
    let mut reader = LogReader::new("t.json", Cursor::new(data.to_vec())).with_threads(threads);
    if walk {
        reader = reader.with_paths(table.clone());
    }
    let mut seen = Seen { stop_after, table, ..Seen::default() };
    let complete = reader.visit(&mut seen);
    if walk && seen.records > 100 {
        assert!(seen.walked * 2 > seen.records, "most records walked: {} of {}", seen.walked, seen.records);
    }
    (seen.events, complete)
}

#[test]
fn threads_and_the_fast_path_hand_out_exactly_what_the_careful_path_does() {
    let mut big = String::from(r#"{"Records":["#);
    for i in 0..20_000 {
        let odd = match i % 997 {
            0 => "7".to_string(),
            1 => r#"{"bad":1}"#.to_string(),
            _ => format!(r#"{{"eventID":"{i}","pad":"{}"}}"#, "x".repeat(i % 300)),
        };
        big.push_str(&odd);
        big.push(',');
    }
    big.push_str(r#"{"last":1}]}"#);
    let gz = gzip(big.as_bytes());
    let deep = format!(r#"{{"Records":[{{"d":{}{}}},{{"ok":1}}]}}"#, "[".repeat(200), "]".repeat(200));
    let inputs: Vec<&[u8]> = vec![
        big.as_bytes(),
        &gz,
        &gz[..gz.len() / 2],
        deep.as_bytes(),
        b"",
        br#"{"Records": [{"a":1}, 7, {"b":2}]}"#,
        br#"{"Records": [{"a":1}, {"b":2"#,
        br#"{"Records": [{"a":1}]} x"#,
        b"{\"Records\": [{\"a\":1}, {\"b\":\"\xff\"}]}",
    ];
    let mut inputs = inputs;
    let cases = bad_input_cases();
    inputs.extend(cases.iter().map(|case| case.0));
    let multibyte =
        format!(r#"{{"Records":[{}{{"a":"\u00e9"}}]}}"#, r#"{"a":"é€😀","b":[1,{"x":"\"\\"}]},"#.repeat(3000));
    inputs.push(multibyte.as_bytes());
    inputs.push(br#"{"Records": [{"a":1}, {"b":tru}, {"a":"\x"}, {"a":2} ,{"b":[1,]}, {"bad":1}]}"#);
    for input in inputs {
        let careful = visit_with(input, 1, false, None);
        for (threads, walk) in [(1, true), (2, false), (2, true)] {
            let other = visit_with(input, threads, walk, None);
            assert_eq!(careful.1, other.1, "complete flag for {} bytes, {threads} threads, walk {walk}", input.len());
            assert_eq!(careful.0, other.0, "events for {} bytes, {threads} threads, walk {walk}", input.len());
        }
    }
    // A visitor that stops early stops all the same way, and the reading
    // thread ends (the test would hang otherwise).
    let careful = visit_with(big.as_bytes(), 1, false, Some(5000));
    for (threads, walk) in [(1, true), (2, false), (2, true)] {
        assert_eq!(careful, visit_with(big.as_bytes(), threads, walk, Some(5000)));
    }
    assert!(careful.0.len() < 5100);
}

mod properties {
    use proptest::prelude::*;

    use super::visit_with;

    fn sample() -> Vec<u8> {
        let mut generator = crate::synth::Generator::new(3);
        let mut out = Vec::new();
        generator.write_log(40, &mut out).expect("in memory");
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Bytes changed anywhere: the fast path and the second thread hand
        /// out exactly the records and problems the careful path does.
        #[test]
        fn changed_bytes_read_the_same_every_way(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = sample();
            for (at, value) in flips {
                let i = at.index(bytes.len());
                let palette = b"{}[]\",:\\ a0\xff\xc3";
                bytes[i] = palette[value as usize % palette.len()];
            }
            let careful = visit_with(&bytes, 1, false, None);
            for (threads, walk) in [(1, true), (2, true)] {
                prop_assert_eq!(&careful, &visit_with(&bytes, threads, walk, None));
            }
        }
    }
}
