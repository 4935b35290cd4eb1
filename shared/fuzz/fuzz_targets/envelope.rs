//! Any JSON as a Lambda trigger payload.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = trailwatch_detect::envelope::decode(&event);
    }
});
