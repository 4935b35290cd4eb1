//! A progress line on stderr, at most a few times a second, only on a terminal.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    last: Instant,
    started: Instant,
    /// Bytes of the files read so far, and of all of them (when known).
    bytes: u64,
    total_bytes: Option<u64>,
}

impl Progress {
    /// On when stderr is a terminal and `quiet` is off.
    pub fn new(quiet: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            last: now,
            started: now,
            bytes: 0,
            total_bytes: None,
        }
    }

    /// Shows bytes, rate and the time left, out of `total` bytes.
    pub fn with_bytes(mut self, total: Option<u64>) -> Self {
        self.total_bytes = total;
        self
    }

    /// A file of `size` bytes was read.
    pub fn read(&mut self, size: Option<u64>) {
        self.bytes += size.unwrap_or(0);
    }

    /// `3/12 files, 52000 records, 4 findings` (and bytes, rate, time left).
    pub fn update(&mut self, done: usize, total: usize, records: u64, what: &str, count: u64) {
        if self.enabled && self.last.elapsed() > Duration::from_millis(200) {
            let mut text = format!("{done}/{total} files, {records} records, {count} {what}");
            if let Some(total_bytes) = self.total_bytes {
                text.push_str(&bytes_line(self.bytes, total_bytes, self.started.elapsed()));
            }
            eprint!("\r{text} \x1b[K");
            self.last = Instant::now();
        }
    }

    pub fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[K");
        }
    }
}

/// `, 12.0 of 48.0 MiB, 4.0 MiB/s, 9s left`.
fn bytes_line(done: u64, total: u64, elapsed: Duration) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { mib(done) / seconds } else { 0.0 };
    let left = if rate > 0.0 {
        format!(", {}s left", ((mib(total.saturating_sub(done)) / rate).ceil() as u64))
    } else {
        String::new()
    };
    format!(", {:.1} of {:.1} MiB, {rate:.1} MiB/s{left}", mib(done), mib(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_rate_and_time_left() {
        let mib = 1024 * 1024;
        let cases = [
            (12 * mib, 48 * mib, 3, ", 12.0 of 48.0 MiB, 4.0 MiB/s, 9s left"),
            (0, 48 * mib, 3, ", 0.0 of 48.0 MiB, 0.0 MiB/s"),
            (mib, mib, 0, ", 1.0 of 1.0 MiB, 0.0 MiB/s"),
        ];
        for (done, total, secs, want) in cases {
            assert_eq!(bytes_line(done, total, Duration::from_secs(secs)), want);
        }
    }
}
