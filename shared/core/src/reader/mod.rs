//! Streaming reader for CloudTrail log files.
//!
//! A log file is `{"Records":[{...},{...}]}`, gzipped or plain. [`LogReader`]
//! walks that structure with a small byte-level scanner and hands out one
//! record at a time as raw JSON text ([`RawRecord`]). Only the current record
//! (plus one read chunk) is ever in memory, so peak memory follows the largest
//! record, not the file.
//!
//! Faults are reported with the file, the byte offset (in the decompressed
//! text) and the record index. A fault inside one record (not an object, bad
//! JSON, not UTF-8, too deep, too large) skips that record and reading goes
//! on; a fault in the file's structure (truncation, corrupt gzip, wrong shape)
//! ends the file, after every record before it was handed out.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::extract::{Extracted, ExtractedRef, PathTable, Values};

/// Records larger than this are skipped with [`ErrorKind::RecordTooLarge`].
/// CloudTrail caps a record at 256 KB; the margin allows for hand-made files.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
/// Deepest nesting a record may have; serde_json refuses deeper documents.
pub const MAX_DEPTH: usize = 127;
const CHUNK: usize = 64 * 1024;

/// One record's JSON text, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Zero-based index in the `Records` array.
    pub index: usize,
    /// Byte offset of the record's `{` in the decompressed text.
    pub offset: u64,
    /// The record's JSON text (validated UTF-8, not yet validated JSON).
    pub json: &'a str,
    /// What the reader's walk already took from the record, and with which
    /// table (see [`LogReader::with_paths`]).
    pub extracted: Option<(ExtractedRef<'a>, &'a PathTable)>,
}

impl<'a> RawRecord<'a> {
    /// The record's values for `table`: those the reader already took when
    /// it read with the same table, else extracted now.
    pub fn values(&self, table: &PathTable) -> std::result::Result<Values<'a>, serde_json::Error> {
        match self.extracted {
            Some((extracted, with)) if std::ptr::eq(with, table) => Ok(extracted.attach(self.json, table)),
            _ => table.extract(self.json),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Key { first: bool },
    Element { first: bool },
    Trailing,
    Done,
}

/// Counts bytes read from the compressed input, for gzip error messages.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// What walks a file's records with [`LogReader::visit`].
pub trait RecordVisitor {
    /// One record; an error skips it (reading goes on), `Break` stops reading.
    fn record(&mut self, raw: RawRecord<'_>) -> Result<std::ops::ControlFlow<()>>;
    /// A problem: a skipped record, or the fault that ended the file.
    fn problem(&mut self, error: Error);
}

/// Pulls records out of one CloudTrail log file. See the module docs.
pub struct LogReader<R: Read> {
    source: String,
    input: Option<BufReader<Counting<R>>>,
    decoder: Option<Box<dyn Read + Send>>,
    gzip: bool,
    buf: Vec<u8>,
    /// First byte still needed (the current record's start while keeping it).
    start: usize,
    /// Scan position.
    pos: usize,
    /// End of valid data in `buf`.
    end: usize,
    /// Decompressed offset of `buf[0]`.
    base: u64,
    eof: bool,
    state: State,
    seen_records: bool,
    index: usize,
    max_record: usize,
    scan_stack: Vec<u8>,
    threads: usize,
    /// The selectors to take while reading (see [`LogReader::with_paths`]).
    paths: Option<Arc<PathTable>>,
    extracted: Extracted,
    /// Whether the last record came through the fast path.
    walked: bool,
}

/// Threads worth using to read a file: two when the machine has two cores
/// or more (see [`LogReader::with_threads`]).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

impl<R: Read + Send + 'static> LogReader<R> {
    /// A reader over `input`, which is gzip (by its magic bytes) or plain JSON.
    /// `source` names the file in errors (a path or `s3://bucket/key`).
    pub fn new(source: impl Into<String>, input: R) -> Self {
        LogReader {
            source: source.into(),
            input: Some(BufReader::with_capacity(CHUNK, Counting { inner: input, count: 0 })),
            decoder: None,
            gzip: false,
            buf: Vec::new(),
            start: 0,
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            state: State::Start,
            seen_records: false,
            index: 0,
            max_record: DEFAULT_MAX_RECORD_BYTES,
            scan_stack: Vec::new(),
            threads: 1,
            paths: None,
            extracted: Extracted::default(),
            walked: false,
        }
    }

    /// Reads each record with one walk that finds its end and takes the
    /// table's selectors from it ([`RawRecord::values`] then costs little),
    /// instead of a scan for its end and a parse after it.
    pub fn with_paths(mut self, paths: Arc<PathTable>) -> Self {
        self.paths = Some(paths);
        self
    }

    /// With 2 or more, [`LogReader::visit`] decompresses and splits records
    /// on a second thread while the visitor works on the caller's.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Changes the size above which a record is skipped as too large.
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record = limit.max(16);
        self
    }

    /// True when the input was gzip-compressed (known after the first call).
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The next record, a record-level error (reading goes on), a file-level
    /// error (reading stops), or `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<RawRecord<'_>>> {
        match self.advance() {
            Ok(Some((start, end, index))) => {
                let offset = self.base + start as u64;
                let bytes = &self.buf[start..end];
                let extracted = match (&self.paths, self.walked) {
                    (Some(paths), true) => Some((self.extracted.as_ref(), &**paths)),
                    _ => None,
                };
                match std::str::from_utf8(bytes) {
                    Ok(json) => Some(Ok(RawRecord { index, offset, json, extracted })),
                    Err(e) => {
                        Some(Err(self.error_at(ErrorKind::InvalidUtf8, offset + e.valid_up_to() as u64, Some(index))))
                    }
                }
            }
            Ok(None) => None,
            Err(e) => {
                if !e.is_record_level() {
                    self.state = State::Done;
                }
                Some(Err(e))
            }
        }
    }

    /// Hands every record to `visitor`, and every problem, until the end of
    /// the file, a fault that ends it, or the visitor stops. Returns false
    /// when a fault ended the file early.
    pub fn visit(&mut self, visitor: &mut dyn RecordVisitor) -> bool {
        if self.threads >= 2 {
            return threaded::visit(self, visitor);
        }
        let mut complete = true;
        while let Some(next) = self.next_record() {
            let problem = match next.map(|raw| visitor.record(raw)) {
                Ok(Ok(std::ops::ControlFlow::Continue(()))) => continue,
                Ok(Ok(std::ops::ControlFlow::Break(()))) => break,
                Ok(Err(e)) | Err(e) => e,
            };
            complete &= problem.is_record_level();
            visitor.problem(problem);
        }
        complete
    }

    fn error_at(&self, kind: ErrorKind, offset: u64, record: Option<usize>) -> Error {
        Error::at(kind, Location { source: Some(self.source.clone()), offset: Some(offset), record })
    }

    fn here(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Runs the state machine to the next record; returns its span in `buf`.
    fn advance(&mut self) -> Result<Option<(usize, usize, usize)>> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    self.open()?;
                    self.skip_ws()?;
                    match self.peek()? {
                        Some(b'{') => {
                            self.pos += 1;
                            self.state = State::Key { first: true };
                        }
                        Some(b'[') => {
                            return Err(self.error_at(
                                ErrorKind::WrongShape("it is a JSON array; a log file is one object".into()),
                                self.here(),
                                None,
                            ))
                        }
                        Some(_) => {
                            let start = &self.buf[self.pos..self.end.min(self.pos + 16)];
                            let shown = crate::text::printable(&String::from_utf8_lossy(start), 16).into_owned();
                            return Err(self.error_at(
                                ErrorKind::NotJson(format!("not JSON (it starts with \"{shown}\")")),
                                self.here(),
                                None,
                            ));
                        }
                        None => {
                            let kind = if self.here() == 0 {
                                ErrorKind::EmptyFile
                            } else {
                                ErrorKind::NotJson("only white space".into())
                            };
                            return Err(self.error_at(kind, self.here(), None));
                        }
                    }
                }
                State::Key { first } => {
                    self.skip_ws()?;
                    if self.eat(b'}')? {
                        self.state = State::Trailing;
                        continue;
                    }
                    if !first {
                        self.expect(b',', "',' or '}' in the top-level object")?;
                        self.skip_ws()?;
                    }
                    self.expect(b'"', "a key in the top-level object")?;
                    let is_records = self.read_key()?;
                    self.skip_ws()?;
                    self.expect(b':', "':' after a key")?;
                    self.skip_ws()?;
                    if is_records {
                        if self.peek()? != Some(b'[') {
                            let found = self.peek()?.map_or("the end".into(), describe);
                            return Err(self.error_at(
                                ErrorKind::WrongShape(format!("\"Records\" is {found}, not an array")),
                                self.here(),
                                None,
                            ));
                        }
                        self.pos += 1;
                        self.seen_records = true;
                        self.state = State::Element { first: true };
                    } else {
                        self.skip_value()?;
                        self.state = State::Key { first: false };
                    }
                }
                State::Element { first } => {
                    self.skip_ws()?;
                    if self.eat(b']')? {
                        self.state = State::Key { first: false };
                        continue;
                    }
                    if !first {
                        self.expect(b',', "',' or ']' after a record")?;
                        self.skip_ws()?;
                    }
                    self.state = State::Element { first: false };
                    let index = self.index;
                    self.index += 1;
                    match self.peek()? {
                        Some(b'{') => {
                            if let Some(end) = self.walk_record()? {
                                self.walked = true;
                                return Ok(Some((self.start, end, index)));
                            }
                            self.walked = false;
                            return self.scan_record(index).map(Some);
                        }
                        Some(b) => {
                            let offset = self.here();
                            self.skip_value()?;
                            return Err(self.error_at(
                                ErrorKind::RecordNotObject(format!("found {}", describe(b))),
                                offset,
                                Some(index),
                            ));
                        }
                        None => return Err(self.truncated("inside the Records array")),
                    }
                }
                State::Trailing => {
                    self.skip_ws()?;
                    if let Some(b) = self.peek()? {
                        return Err(self.error_at(
                            ErrorKind::WrongShape(format!("{} after the end of the top-level object", describe(b))),
                            self.here(),
                            None,
                        ));
                    }
                    self.state = State::Done;
                    if !self.seen_records {
                        return Err(self.error_at(ErrorKind::WrongShape("no \"Records\" key".into()), 0, None));
                    }
                }
            }
        }
    }

    /// Detects gzip by its magic bytes and sets up the decoder.
    fn open(&mut self) -> Result<()> {
        let Some(mut input) = self.input.take() else { return Ok(()) };
        let head = input.fill_buf().map_err(|e| self.error_at(io_kind(&e), 0, None))?;
        self.gzip = head.starts_with(&[0x1f, 0x8b]);
        self.decoder = Some(if self.gzip { Box::new(MultiGzDecoder::new(input)) } else { Box::new(input) });
        Ok(())
    }

    /// Reads more input. Keeps `buf[start..]`; returns false at the end.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 && (self.end == self.buf.len() || self.start >= CHUNK) {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.pos -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK / 2 {
            let grown = (self.buf.len() * 2).max(CHUNK);
            self.buf.resize(grown, 0);
        }
        let Some(decoder) = self.decoder.as_mut() else { return Ok(false) };
        loop {
            match decoder.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Bad compressed data is the file's fault; anything else
                    // (a dropped connection while streaming) may pass on retry.
                    let bad_data = matches!(
                        e.kind(),
                        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
                    );
                    let kind = if self.gzip && bad_data { ErrorKind::Gzip(e.to_string()) } else { io_kind(&e) };
                    return Err(self.error_at(kind, self.base + self.end as u64, None));
                }
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        if self.pos >= self.end {
            self.start = self.pos;
            if !self.fill()? {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    fn eat(&mut self, want: u8) -> Result<bool> {
        if self.peek()? == Some(want) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<()> {
        match self.peek()? {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(self.error_at(
                ErrorKind::WrongShape(format!("expected {what}, found {}", describe(b))),
                self.here(),
                None,
            )),
            None => Err(self.truncated(&format!("expected {what}"))),
        }
    }

    fn truncated(&self, what: &str) -> Error {
        let record = match self.state {
            State::Element { .. } if self.index > 0 => Some(self.index - 1),
            _ => None,
        };
        self.error_at(ErrorKind::Truncated(what.to_string()), self.here(), record)
    }

    fn skip_ws(&mut self) -> Result<()> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                    // A UTF-8 byte-order mark before the document.
                    0xEF if self.here() == 0 && self.buf[..self.end].starts_with(b"\xEF\xBB\xBF") => self.pos += 3,
                    _ => return Ok(()),
                }
            }
            self.start = self.pos;
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    fn syntax(&self, at: usize, message: String) -> Error {
        self.error_at(ErrorKind::WrongShape(message), self.here() + at as u64, None)
    }
}

fn io_kind(e: &io::Error) -> ErrorKind {
    ErrorKind::Io(e.to_string())
}

/// Names a byte for an error message.
fn describe(b: u8) -> String {
    match b {
        b'"' => "a string".into(),
        b'[' => "an array".into(),
        b'{' => "an object".into(),
        b'-' | b'0'..=b'9' => "a number".into(),
        b't' | b'f' => "a boolean".into(),
        b'n' => "null".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

mod fast;
mod scan;
#[cfg(test)]
mod tests;
mod threaded;
