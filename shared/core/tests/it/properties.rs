//! Properties of the parsers that must hold for any input: the record
//! reader, the filter-pattern parser and evaluator, and S3 key decoding.
//! Run by `make test`; the fuzz targets in shared/fuzz/ push the same entry points
//! further.

use std::io::Cursor;
use std::sync::OnceLock;

use proptest::prelude::*;
use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::key::{classify_key, decode_s3_key};
use trailwatch_core::{Engine, Pattern, RuleSet};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap())
}

/// A plain-JSON sample with findings in many records.
fn sample() -> &'static [u8] {
    static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/cloudtrail/123456789012_CloudTrail_us-east-1_20261120T0945Z_DefenseEvts00003.json"
        );
        std::fs::read(path).unwrap()
    })
}

fn event_ids(bytes: Vec<u8>) -> (Vec<String>, u64) {
    let mut sink = Collect::default();
    let summary = engine().scan("prop.json", Cursor::new(bytes), &mut sink);
    (sink.findings.iter().map(|f| f.event_id.clone().unwrap_or_default()).collect(), summary.records)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any truncation yields a prefix of the findings, never a panic.
    #[test]
    fn a_truncated_file_yields_a_prefix_of_the_findings(cut in 0usize..4096) {
        let full = sample();
        let at = cut * full.len() / 4096;
        let (all, records) = event_ids(full.to_vec());
        let (some, some_records) = event_ids(full[..at].to_vec());
        prop_assert!(some_records <= records);
        prop_assert_eq!(&all[..some.len()], &some[..]);
    }

    /// Bytes changed anywhere: problems are reported, nothing panics.
    #[test]
    fn changed_bytes_never_panic(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        let mut bytes = sample().to_vec();
        for (at, value) in flips {
            let i = at * bytes.len() / 4096;
            bytes[i] = value;
        }
        let _ = event_ids(bytes);
    }

    /// Any text: the parser answers Ok or a positioned error, never panics;
    /// a parsed pattern evaluates on any JSON without panicking.
    #[test]
    fn any_pattern_text_parses_or_errors(text in "\\PC{0,200}", json in "\\PC{0,100}") {
        if let Ok(pattern) = Pattern::parse(&text) {
            let _ = pattern.matches_json(&json);
        }
    }

    /// Pattern-shaped text (the characters patterns are made of).
    #[test]
    fn pattern_shaped_text_parses_or_errors(text in r#"\{[ ()$.a-z\[\]*=!<>&|%"0-9^-]{0,120}\}"#) {
        if let Ok(pattern) = Pattern::parse(&text) {
            let _ = pattern.matches_json(r#"{"a":{"b":[1,"x",null,true]},"c":"d"}"#);
        }
    }

    /// Form-encoded keys decode back to what was encoded, and classifying
    /// any key never panics.
    #[test]
    fn s3_keys_round_trip_through_form_encoding(key in "\\PC{0,80}") {
        let encoded: String = key
            .bytes()
            .map(|b| match b {
                b' ' => "+".to_string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        prop_assert_eq!(decode_s3_key(&encoded).unwrap(), key.clone());
        let _ = classify_key(&key, None);
        let _ = decode_s3_key(&key);
    }
}
