//! Any text as an S3 notification key: decoding and classifying.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_core::key::{classify_key, decode_s3_key};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = decode_s3_key(text) {
            let _ = classify_key(&key, None);
        }
        let _ = classify_key(text, Some(data.len() as u64));
    }
});
