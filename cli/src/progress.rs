//! A progress line on stderr, at most a few times a second, only on a terminal.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    last: Instant,
}

impl Progress {
    /// On when stderr is a terminal and `quiet` is off.
    pub fn new(quiet: bool) -> Self {
        Progress { enabled: !quiet && std::io::stderr().is_terminal(), last: Instant::now() }
    }

    /// `3/12 files, 52000 records, 4 findings`.
    pub fn update(&mut self, done: usize, total: usize, records: u64, what: &str, count: u64) {
        if self.enabled && self.last.elapsed() > Duration::from_millis(200) {
            eprint!("\r{done}/{total} files, {records} records, {count} {what} ");
            self.last = Instant::now();
        }
    }

    pub fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[K");
        }
    }
}
