//! Making attacker-controlled text safe to show. Every field of a CloudTrail
//! record can be chosen by whoever made the call (user agents, names, request
//! parameters); printed raw, control characters could rewrite a terminal or
//! forge lines in an e-mail.

use std::borrow::Cow;

/// True for characters that must not reach a terminal or a mail body as is:
/// C0/C1 controls (escape sequences, carriage returns, line breaks, NEL), the
/// Unicode line and paragraph separators, and the bidirectional overrides
/// that reorder how text is displayed.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Line and paragraph separators: they break lines like \n does.
            '\u{2028}' | '\u{2029}'
            // Bidirectional marks, embeddings, overrides and isolates.
            | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The text with unsafe characters shown as `\u{..}` escapes, cut to at most
/// `max` characters (marked with `...`).
pub fn printable(text: &str, max: usize) -> Cow<'_, str> {
    let too_long = text.chars().count() > max;
    if !too_long && !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(2)));
    for (n, c) in text.chars().enumerate() {
        if n + 3 >= max && too_long {
            out.push_str("...");
            break;
        }
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The whole text with unsafe characters shown as `\u{..}` escapes, as
/// [`printable`] shows them, never cut: for data formats (CSV) where a value
/// must stay whole and readable.
pub fn escaped(text: &str) -> Cow<'_, str> {
    printable(text, usize::MAX)
}

/// A spreadsheet cell that cannot run as a formula: escaped as [`escaped`],
/// with a leading `'` when the value, after any leading whitespace or line
/// breaks, starts with `=`, `+`, `-` or `@`.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = text.trim_start().starts_with(['=', '+', '-', '@']) || text.starts_with(['\t', '\r']);
    match (formula, escaped(text)) {
        (true, cell) => Cow::Owned(format!("'{cell}")),
        (false, cell) => cell,
    }
}

/// Serialized JSON with the unsafe characters JSON strings may hold raw
/// (bidi overrides, line separators, DEL and C1 controls) written as
/// `\uXXXX` escapes: the same data once parsed, harmless on a terminal.
/// Outside strings JSON is ASCII, and a serializer escapes C0 controls
/// inside them, so the line breaks and tabs left are the layout's own.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    let unsafe_in_json = |c: char| is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(unsafe_in_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_in_json(c) {
            // Every unsafe character is in the Basic Multilingual Plane.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The text cut to at most `max` bytes (at a character boundary), followed
/// by `…(+N bytes)` saying how much was left out: for values held in memory
/// (rows kept for sorting, findings kept for printing).
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…(+{} bytes)", &text[..end], text.len() - end))
}

/// ASCII-only, single-line text (for SNS subjects): anything else becomes `?`.
pub fn ascii_line(text: &str, max: usize) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).take(max).collect();
    if text.chars().count() > max && max >= 3 {
        out.truncate(max - 3);
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_bidi_and_cuts() {
        let cases = [
            ("plain", 100, "plain"),
            ("a\x1b[31mred", 100, "a\\u{1b}[31mred"),
            ("line\nbreak\r", 100, "line\\u{a}break\\u{d}"),
            ("evil\u{202E}txt", 100, "evil\\u{202e}txt"),
            ("fake\u{2028}line\u{2029}para\u{85}nel", 100, "fake\\u{2028}line\\u{2029}para\\u{85}nel"),
            ("abcdefghij", 6, "abc..."),
            ("héllo", 10, "héllo"),
        ];
        for (input, max, want) in cases {
            assert_eq!(printable(input, max), want, "{input:?}");
        }
    }

    #[test]
    fn csv_cells_are_escaped_whole_and_never_formulas() {
        let cases = [
            ("plain", "plain"),
            ("a\x1b[31mred\x07", "a\\u{1b}[31mred\\u{7}"),
            ("evil\u{202E}txt", "evil\\u{202e}txt"),
            ("=1+1", "'=1+1"),
            ("+cmd", "'+cmd"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\n=cmd|' /C calc'!A0", "'\\u{a}=cmd|' /C calc'!A0"),
            ("  \r\n @x", "'  \\u{d}\\u{a} @x"),
            ("\tx", "'\\u{9}x"),
            ("a=b", "a=b"),
            (&"x".repeat(5000), &"x".repeat(5000)),
        ];
        for (input, want) in cases {
            assert_eq!(csv_cell(input), want, "{input:?}");
        }
    }

    #[test]
    fn json_lines_escape_what_json_allows_raw_and_keep_the_data() {
        let value = "a\u{202E}b\u{2028}c\u{85}d\u{7f}e\u{1b}";
        let json = serde_json::to_string(&serde_json::json!({ "v": value })).unwrap();
        let safe = json_safe(&json);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(safe, r#"{"v":"a\u202eb\u2028c\u0085d\u007fe\u001b"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["v"], value, "the same data once parsed");
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "v": "\u{202E}" })).unwrap();
        assert_eq!(json_safe(&pretty), "{\n  \"v\": \"\\u202e\"\n}", "the layout stays");
    }

    #[test]
    fn cut_keeps_whole_characters_and_says_how_much_is_left_out() {
        let cases = [("short", 10, "short"), ("abcdefghij", 4, "abcd…(+6 bytes)"), ("ééé", 3, "é…(+4 bytes)")];
        for (input, max, want) in cases {
            assert_eq!(cut(input, max), want, "{input:?}");
        }
    }

    #[test]
    fn ascii_line_is_ascii_single_line_and_bounded() {
        assert_eq!(ascii_line("Root login in café\n", 100), "Root login in caf??");
        assert_eq!(ascii_line("abcdefghij", 6), "abc...");
        assert!(ascii_line(&"x".repeat(500), 100).len() == 100);
    }
}
