//! The reader's fast path: one walk finds where a record ends and takes
//! what the rules need from it ([`crate::extract::walk`]), in place of a
//! structural scan followed by a parse. A record the walker declines, one
//! that is too large, or one cut by bytes that are not UTF-8 goes to the
//! careful path from its first byte, which says exactly what is wrong.
//! Either way the record's text is checked for UTF-8 once, when it is
//! handed out.

use std::io::Read;
use std::sync::Arc;

use super::LogReader;
use crate::error::Result;
use crate::extract::walk::{self, Stop};
use crate::extract::PathTable;

impl<R: Read + Send + 'static> LogReader<R> {
    /// Walks the record at `pos` (its `{`). `Some(end)` when the walker took
    /// it, with its values in `self.extracted`; `None` when the careful path
    /// should read it (from `self.start`, where it begins).
    pub(super) fn walk_record(&mut self) -> Result<Option<usize>> {
        let Some(paths) = self.paths.take() else { return Ok(None) };
        let walked = self.walk_with(&paths);
        self.paths = Some(paths);
        let end = walked?;
        if end.is_none() {
            self.pos = self.start;
        }
        Ok(end)
    }

    fn walk_with(&mut self, paths: &Arc<PathTable>) -> Result<Option<usize>> {
        self.start = self.pos;
        loop {
            let available = &self.buf[self.start..self.end];
            match walk::prefix(paths, available, &mut self.extracted) {
                Ok(n) if n < self.max_record => {
                    self.pos = self.start + n;
                    return Ok(Some(self.pos));
                }
                Ok(_) | Err(Stop::Decline) => return Ok(None),
                Err(Stop::More) => {
                    if available.len() >= self.max_record {
                        return Ok(None);
                    }
                    self.pos = self.start;
                    if !self.fill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }
}
