//! The reader's careful path: a structural scanner that finds where a JSON
//! container or string ends, across buffer refills, without validating what
//! lies between (serde_json then does, and says what is wrong and where).
//! The top-level keys and the values beside `Records` are read this way too.

use std::io::Read;

use memchr::memchr2;

use super::{LogReader, MAX_DEPTH};
use crate::error::{ErrorKind, Result};

impl<R: Read + Send + 'static> LogReader<R> {
    /// Reads a top-level key (after its opening quote); true if it is `Records`.
    pub(super) fn read_key(&mut self) -> Result<bool> {
        let mut key = Vec::new();
        let mut scan = Scan::string();
        loop {
            let bytes = &self.buf[self.pos..self.end];
            let done = scan.feed(bytes).map_err(|(i, m)| self.syntax(i, m))?;
            let taken = done.unwrap_or(bytes.len());
            let room = 16usize.saturating_sub(key.len());
            key.extend_from_slice(&bytes[..taken.min(room)]);
            self.pos += taken;
            if done.is_some() {
                return Ok(key == b"Records\"");
            }
            self.start = self.pos;
            if !self.fill()? {
                return Err(self.truncated("inside a key"));
            }
        }
    }

    /// Skips one value of any kind without keeping it.
    pub(super) fn skip_value(&mut self) -> Result<()> {
        let first = self.peek()?.ok_or_else(|| self.truncated("expected a value"))?;
        let mut scan = match first {
            b'{' | b'[' => Scan::container(),
            b'"' => {
                self.pos += 1;
                Scan::string()
            }
            _ => {
                // A number or literal: runs to the next delimiter.
                loop {
                    while self.pos < self.end {
                        match self.buf[self.pos] {
                            b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t' => return Ok(()),
                            _ => self.pos += 1,
                        }
                    }
                    self.start = self.pos;
                    if !self.fill()? {
                        return Ok(());
                    }
                }
            }
        };
        loop {
            let bytes = &self.buf[self.pos..self.end];
            let done = scan.feed(bytes).map_err(|(i, m)| self.syntax(i, m))?;
            self.pos += done.unwrap_or(bytes.len());
            if done.is_some() {
                return Ok(());
            }
            self.start = self.pos;
            if !self.fill()? {
                return Err(self.truncated("inside a value"));
            }
        }
    }

    /// Scans the record starting at `pos` and keeps it whole in `buf`.
    pub(super) fn scan_record(&mut self, index: usize) -> Result<(usize, usize, usize)> {
        self.start = self.pos;
        let offset = self.here();
        // The bracket stack is reused from record to record (it is empty
        // again whenever a record ends).
        let mut scan = Scan::with_stack(std::mem::take(&mut self.scan_stack));
        let mut dropped: u64 = 0;
        loop {
            let bytes = &self.buf[self.pos..self.end];
            let done = scan
                .feed(bytes)
                .map_err(|(i, m)| self.error_at(ErrorKind::WrongShape(m), self.here() + i as u64, Some(index)))?;
            match done {
                Some(n) => {
                    self.pos += n;
                    scan.stack.clear();
                    self.scan_stack = scan.stack;
                    let location = |kind| self.error_at(kind, offset, Some(index));
                    if dropped > 0 {
                        let size = dropped + (self.pos - self.start) as u64;
                        return Err(location(ErrorKind::RecordTooLarge { size, limit: self.max_record }));
                    }
                    if scan.too_deep {
                        return Err(location(ErrorKind::TooDeep(MAX_DEPTH)));
                    }
                    return Ok((self.start, self.pos, index));
                }
                None => self.pos += bytes.len(),
            }
            let kept = self.pos - self.start;
            if kept >= self.max_record {
                // Too large: stop keeping it, but scan on to find its end.
                dropped += kept as u64;
                self.start = self.pos;
            }
            if !self.fill()? {
                return Err(self.error_at(
                    ErrorKind::Truncated(format!("record {index} starting at byte {offset} is cut off")),
                    self.here(),
                    Some(index),
                ));
            }
        }
    }
}

/// Structural scanner: finds where a JSON container or string ends, across
/// buffer refills, without validating what lies between (serde_json does).
pub(super) struct Scan {
    pub(super) stack: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    pub(super) too_deep: bool,
}

impl Scan {
    pub(super) fn container() -> Self {
        Scan::with_stack(Vec::new())
    }

    /// For a container, reusing a bracket stack's allocation.
    pub(super) fn with_stack(mut stack: Vec<u8>) -> Self {
        stack.clear();
        Scan { stack, depth: 0, in_string: false, escaped: false, too_deep: false }
    }

    /// For a string whose opening quote was already consumed.
    pub(super) fn string() -> Self {
        Scan { in_string: true, ..Scan::with_stack(Vec::new()) }
    }

    /// Consumes `bytes`; returns how many bytes end the value, if it ends here.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> std::result::Result<Option<usize>, (usize, String)> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', &bytes[i..]) {
                    None => return Ok(None),
                    Some(j) => {
                        i += j + 1;
                        if bytes[i - 1] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return Ok(Some(i));
                            }
                        }
                    }
                }
                continue;
            }
            let b = bytes[i];
            i += 1;
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth <= MAX_DEPTH {
                        self.stack.push(b);
                    } else {
                        self.too_deep = true;
                    }
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        return Err((i - 1, format!("unexpected '{}'", b as char)));
                    }
                    if self.depth <= MAX_DEPTH {
                        let open = self.stack.pop().unwrap_or(b'{');
                        if (open == b'{') != (b == b'}') {
                            return Err((i - 1, format!("'{}' closes '{}'", b as char, open as char)));
                        }
                    }
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Ok(Some(i));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }
}
