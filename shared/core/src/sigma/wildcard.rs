//! Sigma strings: `*` and `?` wildcards with backslash escapes, turned into
//! regular expressions, and the compiled text test with its fast path.

use regex::Regex;

/// A compiled text test: a regular expression, with a fast path for plain
/// ASCII values compared whole (most detections' `eventName: X`).
#[derive(Debug, Clone)]
pub struct TextMatch {
    /// Its source, compiled when first needed for the literal fast path.
    source: String,
    regex: std::sync::OnceLock<Option<Regex>>,
    /// The values, when every one is ASCII text without wildcards compared whole.
    literals: Option<Vec<String>>,
    cased: bool,
}

impl TextMatch {
    pub fn new(regex: Regex) -> Self {
        TextMatch { source: regex.as_str().to_string(), regex: Some(regex).into(), literals: None, cased: false }
    }

    /// Plain ASCII values compared whole: the regex (for non-ASCII text)
    /// is compiled only if such a text comes.
    pub fn literal(source: String, literals: Vec<String>, cased: bool) -> Self {
        TextMatch { source, regex: std::sync::OnceLock::new(), literals: Some(literals), cased }
    }

    pub fn is_match(&self, text: &str) -> bool {
        match &self.literals {
            Some(values) if self.cased => values.iter().any(|v| v == text),
            // Unicode case folding can map a non-ASCII letter onto an ASCII
            // one (K, the Kelvin sign, is k): only ASCII text takes the fast path.
            Some(values) if text.is_ascii() => values.iter().any(|v| v.eq_ignore_ascii_case(text)),
            _ => self.regex.get_or_init(|| Regex::new(&self.source).ok()).as_ref().is_some_and(|re| re.is_match(text)),
        }
    }
}

/// A Sigma string (with `*`, `?` and backslash escapes) as a regex that
/// matches the whole text: anchored at each end that is not a `*` (a
/// leading or trailing `.*` is left out, so that `contains` is a plain search).
pub fn wildcard_regex(value: &str) -> String {
    let body = wildcard_body(value);
    let (start, body) = match body.strip_prefix(".*") {
        Some(rest) => ("", rest),
        None => ("^", body.as_str()),
    };
    let (body, end) = match body.strip_suffix(".*") {
        Some(rest) if !rest.ends_with('\\') || rest.ends_with("\\\\") => (rest, ""),
        _ => (body, "$"),
    };
    format!("{start}{body}{end}")
}

/// One piece of a Sigma string: a literal character (escapes undone) or a
/// wildcard.
enum Piece {
    Char(char),
    Any,
    One,
}

/// The pieces of a Sigma string: `\*`, `\?` and `\\` are literal; any
/// other backslash is itself.
fn pieces(value: &str) -> impl Iterator<Item = Piece> + '_ {
    let mut chars = value.chars().peekable();
    std::iter::from_fn(move || {
        Some(match chars.next()? {
            '\\' => match chars.next_if(|next| matches!(next, '*' | '?' | '\\')) {
                Some(next) => Piece::Char(next),
                None => Piece::Char('\\'),
            },
            '*' => Piece::Any,
            '?' => Piece::One,
            c => Piece::Char(c),
        })
    })
}

fn wildcard_body(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for piece in pieces(value) {
        match piece {
            Piece::Char(c) => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            Piece::Any => out.push_str(".*"),
            Piece::One => out.push('.'),
        }
    }
    out
}

/// The plain text of a Sigma string, or None when it holds a wildcard.
pub fn unescape(value: &str) -> Option<String> {
    pieces(value)
        .map(|piece| match piece {
            Piece::Char(c) => Some(c),
            Piece::Any | Piece::One => None,
        })
        .collect()
}

/// A plain text as a Sigma string (wildcards and backslashes escaped).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
