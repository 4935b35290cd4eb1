//! The structural scanner behind the reader's careful path: where a JSON
//! container or string ends, across buffer refills, without validating what
//! lies between.

use memchr::memchr2;

use super::MAX_DEPTH;

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
