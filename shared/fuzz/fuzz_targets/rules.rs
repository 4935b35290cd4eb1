//! Any text as a rule file (TOML), merged over the built-in catalogue as
//! `--rules` does, and its examples run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_core::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rules) = RuleSet::from_toml(text, "fuzz.toml") else { return };
    let _ = rules.test_examples();
    if let Ok(mut set) = RuleSet::builtin() {
        if set.merge(rules).is_ok() {
            let _ = set.check_references();
        }
    }
});
