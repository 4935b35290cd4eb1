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
    let mut out = String::with_capacity(text.len().min(max * 2));
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
    fn ascii_line_is_ascii_single_line_and_bounded() {
        assert_eq!(ascii_line("Root login in café\n", 100), "Root login in caf??");
        assert_eq!(ascii_line("abcdefghij", 6), "abc...");
        assert!(ascii_line(&"x".repeat(500), 100).len() == 100);
    }
}
