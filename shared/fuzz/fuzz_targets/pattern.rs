//! Any text as a filter pattern, then evaluated on a fixed record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_core::Pattern;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pattern) = Pattern::parse(text) {
            let _ = pattern.matches_json(r#"{"a":{"b":[1,"x",null,true]},"eventName":"ConsoleLogin"}"#);
        }
    }
});
