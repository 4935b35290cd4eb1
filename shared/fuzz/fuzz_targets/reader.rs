//! Any bytes as a log file (gzip or not), through the whole engine.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::{Engine, RuleSet};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let mut sink = Collect::default();
    engine().scan("fuzz", std::io::Cursor::new(data.to_vec()), &mut sink);
});
