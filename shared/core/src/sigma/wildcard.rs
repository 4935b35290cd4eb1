//! Sigma strings: `*` and `?` wildcards with backslash escapes, turned into
//! regular expressions, and the compiled text test with its fast path.

use regex::Regex;

/// Where a value must sit in a text: the whole of it, its start, its end,
/// anywhere (`contains`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Whole,
    Start,
    End,
    Anywhere,
}

impl Anchor {
    /// Whether `value` sits so in `text`, compared by `eq` on bytes.
    fn holds(self, text: &[u8], value: &[u8], eq: impl Fn(&[u8], &[u8]) -> bool) -> bool {
        match self {
            Anchor::Whole => eq(text, value),
            Anchor::Start => text.get(..value.len()).is_some_and(|start| eq(start, value)),
            Anchor::End => text.len() >= value.len() && eq(&text[text.len() - value.len()..], value),
            Anchor::Anywhere => value.is_empty() || text.windows(value.len()).any(|w| eq(w, value)),
        }
    }
}

/// A compiled text test: a regular expression, with a fast path for plain
/// ASCII values (most detections' `eventName: X`, `userAgent|contains: x`),
/// and one for expressions that hold a literal every match contains.
#[derive(Debug, Clone)]
pub struct TextMatch {
    /// Its source, compiled when first needed for the literal fast path.
    source: String,
    regex: std::sync::OnceLock<Option<Regex>>,
    /// The values, when every one is ASCII text without wildcards, and
    /// where they must sit.
    literals: Option<(Vec<String>, Anchor)>,
    cased: bool,
    /// Text every match contains (case-sensitively): a text without it is
    /// not searched.
    needle: Option<String>,
}

impl TextMatch {
    pub fn new(regex: Regex) -> Self {
        let needle = required_text(regex.as_str());
        TextMatch {
            source: regex.as_str().to_string(),
            regex: Some(regex).into(),
            literals: None,
            cased: false,
            needle,
        }
    }

    /// Plain ASCII values: the regex (for non-ASCII text) is compiled only
    /// if such a text comes.
    pub fn literal(source: String, literals: Vec<String>, cased: bool, anchor: Anchor) -> Self {
        TextMatch { source, regex: std::sync::OnceLock::new(), literals: Some((literals, anchor)), cased, needle: None }
    }

    pub fn is_match(&self, text: &str) -> bool {
        match &self.literals {
            Some((values, anchor)) if self.cased => {
                values.iter().any(|v| anchor.holds(text.as_bytes(), v.as_bytes(), |a, b| a == b))
            }
            // Unicode case folding can map a non-ASCII letter onto an ASCII
            // one (K, the Kelvin sign, is k): only ASCII text takes the fast path.
            Some((values, anchor)) if text.is_ascii() => {
                values.iter().any(|v| anchor.holds(text.as_bytes(), v.as_bytes(), <[u8]>::eq_ignore_ascii_case))
            }
            _ if self.needle.as_ref().is_some_and(|needle| !text.contains(needle.as_str())) => false,
            _ => self.regex.get_or_init(|| Regex::new(&self.source).ok()).as_ref().is_some_and(|re| re.is_match(text)),
        }
    }
}

/// The longest literal text every match of `pattern` contains, when its
/// top level is a sequence holding one (`.+:assumed-role/aws:.+`). Letters
/// compared case-insensitively are classes, not literals: such an
/// expression has none.
fn required_text(pattern: &str) -> Option<String> {
    use regex_syntax::hir::{Hir, HirKind};
    fn longest(hir: &Hir) -> Option<String> {
        match hir.kind() {
            HirKind::Literal(literal) => String::from_utf8(literal.0.to_vec()).ok(),
            HirKind::Capture(capture) => longest(&capture.sub),
            HirKind::Concat(parts) => parts.iter().filter_map(longest).max_by_key(String::len),
            _ => None,
        }
    }
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    longest(&hir).filter(|text| !text.is_empty())
}

/// A Sigma string (with `*`, `?` and backslash escapes) as a regex that
/// matches the whole text: anchored at each end that is not a `*` (a
/// leading or trailing `.*` is left out, so that `contains` is a plain search).
///
/// With `windash`, a `-` or `/` that starts a word (after a non-word
/// character, a wildcard or the start, before a word character) matches any
/// of `-`, `/`, en dash, em dash and horizontal bar, as the reference
/// implementation's expansion into every permutation does.
pub fn wildcard_regex(value: &str, windash: bool) -> String {
    let body = wildcard_body(value, windash);
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    Char(char),
    Any,
    One,
}

/// The pieces of a Sigma string: `\*`, `\?` and `\\` are literal; any
/// other backslash is itself.
pub(super) fn pieces(value: &str) -> impl Iterator<Item = Piece> + '_ {
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

fn wildcard_body(value: &str, windash: bool) -> String {
    let all: Vec<Piece> = pieces(value).collect();
    let word = |piece: Option<&Piece>| matches!(piece, Some(Piece::Char(c)) if c.is_alphanumeric() || *c == '_');
    let mut out = String::with_capacity(value.len() + 8);
    for (i, piece) in all.iter().enumerate() {
        match piece {
            Piece::Char('-' | '/')
                if windash && !word(i.checked_sub(1).and_then(|j| all.get(j))) && word(all.get(i + 1)) =>
            {
                out.push_str("[-/\u{2013}\u{2014}\u{2015}]")
            }
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

/// Pieces written back as a Sigma string.
pub(super) fn escape_pieces(all: &[Piece]) -> String {
    let mut out = String::with_capacity(all.len());
    for piece in all {
        match piece {
            Piece::Char(c) => {
                if matches!(c, '*' | '?' | '\\') {
                    out.push('\\');
                }
                out.push(*c);
            }
            Piece::Any => out.push('*'),
            Piece::One => out.push('?'),
        }
    }
    out
}

/// A plain text as a Sigma string (wildcards and backslashes escaped).
pub fn escape(text: &str) -> String {
    escape_pieces(&text.chars().map(Piece::Char).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIVEN plain values, whole or anchored, cased or not WHEN compared
    /// without a regex THEN every verdict is the regex's.
    #[test]
    fn the_plain_fast_path_agrees_with_the_regex() {
        let texts = ["", "abc", "ABC", "xabcx", "xABc", "ab", "abcabc", "\u{212a}abc", "abc\u{212a}", "k", "K"];
        for value in ["", "abc", "k", "a.c"] {
            for (anchor, sigma) in [
                (Anchor::Whole, escape(value)),
                (Anchor::Start, format!("{}*", escape(value))),
                (Anchor::End, format!("*{}", escape(value))),
                (Anchor::Anywhere, format!("*{}*", escape(value))),
            ] {
                for cased in [false, true] {
                    let flags = if cased { "(?s)" } else { "(?si)" };
                    let source = format!("{flags}(?:{})", wildcard_regex(&sigma, false));
                    let fast = TextMatch::literal(source.clone(), vec![value.to_string()], cased, anchor);
                    let plain = Regex::new(&source).unwrap();
                    for text in texts {
                        assert_eq!(fast.is_match(text), plain.is_match(text), "{sigma} cased={cased} on {text:?}");
                    }
                }
            }
        }
    }

    /// GIVEN expressions with and without a literal every match holds WHEN
    /// tested THEN the needle is that literal, and skipping texts without
    /// it never changes a verdict.
    #[test]
    fn a_needle_is_text_every_match_contains() {
        let cases: &[(&str, Option<&str>)] = &[
            (".+:assumed-role/aws:.+", Some(":assumed-role/aws:")),
            ("^arn:aws:(iam|sts)::", Some("arn:aws:")),
            ("(?i)assumed-role/1", Some("/1")),
            ("(?i)abc", None),
            ("a|bc", None),
            ("(?:x)+y", Some("y")),
            ("K", Some("K")),
        ];
        for (pattern, needle) in cases {
            assert_eq!(required_text(pattern).as_deref(), *needle, "{pattern}");
        }
        let texts = [
            "arn:aws:sts::1:assumed-role/aws:ec2/i-1",
            "arn:aws:sts::1:assumed-role/Deploy/x",
            "",
            "K",
            "k",
            "\u{212a}",
        ];
        for (pattern, _) in cases {
            let fast = TextMatch::new(Regex::new(pattern).unwrap());
            let plain = Regex::new(pattern).unwrap();
            for text in texts {
                assert_eq!(fast.is_match(text), plain.is_match(text), "{pattern} on {text:?}");
            }
        }
    }
}
