//! One error type for the core: what went wrong ([`ErrorKind`]) and where
//! ([`Location`]: the file, the byte offset, the record index).

use std::fmt;

/// The core's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the input a problem was found. Every part is optional because not
/// every problem has every part (a rule file has no record index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file or object the problem was found in (`s3://bucket/key` or a path).
    pub source: Option<String>,
    /// Byte offset in the decompressed JSON text.
    pub offset: Option<u64>,
    /// Zero-based index of the record in the `Records` array.
    pub record: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(source) = &self.source {
            parts.push(source.clone());
        }
        if let Some(record) = self.record {
            parts.push(format!("record {record}"));
        }
        if let Some(offset) = self.offset {
            parts.push(format!("byte {offset}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    /// The gzip stream is corrupt or ends early.
    #[error("corrupt or truncated gzip: {0}")]
    Gzip(String),
    /// Reading the underlying input failed (I/O, network).
    #[error("read failed: {0}")]
    Io(String),
    /// The text is not a JSON object (for example, not JSON at all).
    #[error("not a CloudTrail log file: {0}")]
    NotJson(String),
    /// Valid JSON so far, but not of the form `{"Records":[...]}`.
    #[error("not of the form {{\"Records\":[...]}}: {0}")]
    WrongShape(String),
    /// The input ends in the middle of the JSON document.
    #[error("the JSON ends early: {0}")]
    Truncated(String),
    /// A record is not a JSON object; it is skipped.
    #[error("record is not a JSON object: {0}")]
    RecordNotObject(String),
    /// A record is not valid JSON; it is skipped.
    #[error("record is not valid JSON: {0}")]
    RecordSyntax(String),
    /// A record holds bytes that are not UTF-8; it is skipped.
    #[error("record holds bytes that are not UTF-8")]
    InvalidUtf8,
    /// A record nests deeper than the parser allows; it is skipped.
    #[error("record nests deeper than {0} levels")]
    TooDeep(usize),
    /// A record is larger than the reader's limit; it is skipped.
    #[error("record is {size}+ bytes, over the {limit}-byte limit")]
    RecordTooLarge { size: u64, limit: usize },
    /// A filter pattern does not parse.
    #[error("{message} at column {column}")]
    Pattern { column: usize, message: String },
    /// A rule or rule file is invalid.
    #[error("{0}")]
    Rule(String),
    /// A query option is invalid (a time, an address, a column name).
    #[error("{0}")]
    Query(String),
    /// A digest file or public key cannot be used for integrity checks.
    #[error("{0}")]
    Integrity(String),
    /// An S3 key could not be decoded.
    #[error("bad S3 key: {0}")]
    Key(String),
}

/// An error with its kind and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub location: Location,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind, location: Location::default() }
    }

    pub fn at(kind: ErrorKind, location: Location) -> Self {
        Error { kind, location }
    }

    /// Sets the source (file, object) when it is not set yet.
    pub fn in_source(mut self, source: &str) -> Self {
        if self.location.source.is_none() {
            self.location.source = Some(source.to_string());
        }
        self
    }

    /// True when reading the input failed for a reason outside the file
    /// (I/O, network): trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Io(_))
    }

    /// True when the problem affects one record only and reading went on.
    pub fn is_record_level(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RecordNotObject(_)
                | ErrorKind::RecordSyntax(_)
                | ErrorKind::InvalidUtf8
                | ErrorKind::TooDeep(_)
                | ErrorKind::RecordTooLarge { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self.location.to_string();
        if location.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{location}: {}", self.kind)
        }
    }
}

impl std::error::Error for Error {}
