//! The fast extractor: a hand-written JSON walker for one record.
//!
//! It checks the whole record's grammar as it goes (strings, escapes,
//! numbers, literals, commas and colons), but decodes only what a selector
//! reaches: every other string is skipped eight bytes at a time, and no key
//! is copied. It never reports an error itself. Anything it is not sure of
//! (malformed JSON, an escaped key, a `\u` surrogate, deep nesting, a number
//! serde_json would refuse) makes it decline, and the serde_json visitor
//! ([`super::visitor`]) takes the record, so values and errors stay exactly
//! serde_json's. `extract/tests.rs` holds the two paths to each other.
//!
//! It reads a record's bytes from its start and finds where it ends, so the
//! reader can use it to split records too: when the bytes run out first, it
//! asks for more ([`Stop::More`]). It does not check UTF-8 (bytes above 0x7F
//! only pass inside strings); the reader checks each record's text once, as
//! it does for records the walker declines.

use super::{Extracted, PathTable, Piece};

/// Nesting the walker takes on itself; deeper records go to serde_json,
/// which enforces its own limit.
const MAX_DEPTH: usize = 100;

/// Why the walker stopped short of a value's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The text ended inside the value: it may complete with more text.
    More,
    /// Not a value the walker takes; serde_json's parser decides.
    Decline,
}

/// The walker's inner steps only decline; [`prefix`] tells whether the text
/// ran out first.
struct Decline;

type Step = Result<(), Decline>;

/// Walks the one JSON value at the start of `bytes` (after white space),
/// putting what the table's selectors reach into `out` (cleared first), and
/// returns where the value ends.
pub fn prefix(table: &PathTable, bytes: &[u8], out: &mut Extracted) -> Result<usize, Stop> {
    out.clear();
    // Places are kept as u32: a value past 4 GiB is never complete here.
    let bytes = &bytes[..bytes.len().min(u32::MAX as usize)];
    let mut walker = Walker { table, bytes, pos: 0, depth: 0, out, ran_out: false };
    walker.ws();
    match walker.value(Some(0)) {
        Ok(()) => Ok(walker.pos),
        Err(Decline) if walker.ran_out => Err(Stop::More),
        Err(Decline) => Err(Stop::Decline),
    }
}

struct Walker<'t, 'v, 'a> {
    table: &'t PathTable,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    out: &'v mut Extracted,
    /// Set when a step needed text past the end.
    ran_out: bool,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in (at least) the lowest byte of `w` that is `"`, `\` or a
/// control character. Bytes above the first may be flagged falsely; only
/// the lowest flag is read.
fn specials(w: u64) -> u64 {
    let quote = w ^ (ONES * b'"' as u64);
    let backslash = w ^ (ONES * b'\\' as u64);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(backslash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH
}

impl Walker<'_, '_, '_> {
    fn peek(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.pos).copied();
        self.ran_out |= b.is_none();
        b
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, want: u8) -> Step {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Decline)
        }
    }

    fn push(&mut self, node: Option<usize>, value: impl FnOnce() -> Result<Piece, Decline>) -> Step {
        if let Some(slot) = node.and_then(|n| self.table.nodes[n].slot) {
            self.out.items.push((slot as u32, value()?));
        }
        Ok(())
    }

    /// One value; `node` is the trie node it sits at (None: not wanted).
    fn value(&mut self, node: Option<usize>) -> Step {
        match self.peek() {
            Some(b'{') => self.object(node),
            Some(b'[') => self.array(node),
            Some(b'"') => {
                let start = self.pos;
                let escaped = self.string()?;
                let end = self.pos;
                let quoted = &self.bytes[start..end];
                self.push(node, || string_value(quoted, escaped, start))
            }
            Some(b't') => self.literal(node, b"true", Piece::Bool(true)),
            Some(b'f') => self.literal(node, b"false", Piece::Bool(false)),
            Some(b'n') => self.literal(node, b"null", Piece::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                self.number()?;
                let text = &self.bytes[start..self.pos];
                self.push(node, || serde_json::from_slice::<f64>(text).map(Piece::Num).map_err(|_| Decline))
            }
            _ => Err(Decline),
        }
    }

    fn literal(&mut self, node: Option<usize>, word: &[u8], value: Piece) -> Step {
        let rest = &self.bytes[self.pos..];
        if !rest.starts_with(word) {
            self.ran_out |= rest.len() < word.len() && word.starts_with(rest);
            return Err(Decline);
        }
        self.pos += word.len();
        self.push(node, || Ok(value))
    }

    /// Enters a container; returns the node's wanted children, if any.
    fn enter(&mut self, node: Option<usize>) -> Result<Option<usize>, Decline> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Decline);
        }
        self.pos += 1;
        self.push(node, || Ok(Piece::Container))?;
        let nodes = &self.table.nodes;
        Ok(node.filter(|&n| !nodes[n].keys.is_empty() || !nodes[n].indexes.is_empty() || nodes[n].any.is_some()))
    }

    /// A child value that one or two trie nodes want (a named child and `*`).
    fn child(&mut self, named: Option<usize>, any: Option<usize>) -> Step {
        match (named, any) {
            (Some(a), Some(b)) => {
                let start = self.pos;
                self.value(Some(a))?;
                self.pos = start;
                self.value(Some(b))
            }
            (a, b) => self.value(a.or(b)),
        }
    }

    /// Keeps a wanted container's text (after walking it from `start`).
    fn keep_raw(&mut self, node: Option<usize>, start: usize) {
        if let Some(slot) = node.and_then(|n| self.table.nodes[n].slot) {
            self.out.raws.push((slot as u32, start as u32, self.pos as u32));
        }
    }

    fn object(&mut self, node: Option<usize>) -> Step {
        self.container(node, b'}', Self::member)
    }

    fn array(&mut self, node: Option<usize>) -> Step {
        self.container(node, b']', Self::element)
    }

    /// A container at its opening bracket: `item` reads each member or
    /// element (given the node's wanted children and its position), this
    /// reads the commas and the closing bracket.
    fn container(
        &mut self,
        node: Option<usize>,
        close: u8,
        item: impl Fn(&mut Self, Option<usize>, usize) -> Step,
    ) -> Step {
        let start = self.pos;
        let wanted = self.enter(node)?;
        self.ws();
        if self.peek() != Some(close) {
            for position in 0.. {
                item(self, wanted, position)?;
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.ws();
                    }
                    Some(b) if b == close => break,
                    _ => return Err(Decline),
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        self.keep_raw(node, start);
        Ok(())
    }

    /// `"key": value` in an object.
    fn member(&mut self, node: Option<usize>, _: usize) -> Step {
        if self.peek() != Some(b'"') {
            return Err(Decline);
        }
        let start = self.pos + 1;
        if self.string()? {
            return Err(Decline);
        }
        let key = &self.bytes[start..self.pos - 1];
        self.ws();
        self.eat(b':')?;
        self.ws();
        match node {
            Some(n) => {
                let at = &self.table.nodes[n];
                self.child(at.key(key), at.any)
            }
            None => self.value(None),
        }
    }

    /// The element at `index` in an array.
    fn element(&mut self, node: Option<usize>, index: usize) -> Step {
        match node {
            Some(n) => {
                let at = &self.table.nodes[n];
                self.child(at.index(index), at.any)
            }
            None => self.value(None),
        }
    }

    /// Moves past a string (at its opening quote); true if it has escapes.
    fn string(&mut self) -> Result<bool, Decline> {
        let bytes = self.bytes;
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            while let Some(chunk) = bytes.get(i..i + 8) {
                let word = u64::from_le_bytes(chunk.try_into().map_err(|_| Decline)?);
                let found = specials(word);
                if found != 0 {
                    i += (found.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    i = escape(bytes, i + 1).inspect_err(|_| self.ran_out |= bytes.len() < i + 7)?;
                }
                None => {
                    self.ran_out = true;
                    return Err(Decline);
                }
                Some(0..=0x1f) => return Err(Decline),
                Some(_) => i += 1,
            }
        }
    }

    /// Moves past a number, checking JSON's grammar.
    fn number(&mut self) -> Step {
        let digits = |s: &mut Self| {
            let start = s.pos;
            while let Some(b'0'..=b'9') = s.peek() {
                s.pos += 1;
            }
            if s.pos == start {
                Err(Decline)
            } else {
                Ok(())
            }
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            digits(self)?;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            digits(self)?;
        }
        Ok(())
    }
}

/// Checks one escape (after its backslash); returns the index after it.
/// `\u` escapes of surrogates are left to serde_json.
fn escape(bytes: &[u8], i: usize) -> Result<usize, Decline> {
    match bytes.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => {
            let hex = bytes.get(i + 1..i + 5).ok_or(Decline)?;
            let text = std::str::from_utf8(hex).map_err(|_| Decline)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(Decline);
            }
            let code = u16::from_str_radix(text, 16).map_err(|_| Decline)?;
            if (0xD800..0xE000).contains(&code) {
                return Err(Decline);
            }
            Ok(i + 5)
        }
        _ => Err(Decline),
    }
}

/// A wanted string's value; `quoted` includes its quotes and starts at `at`.
fn string_value(quoted: &[u8], escaped: bool, at: usize) -> Result<Piece, Decline> {
    if !escaped {
        return Ok(Piece::Text(at as u32 + 1, (at + quoted.len()) as u32 - 1));
    }
    serde_json::from_slice::<String>(quoted).map(Piece::Owned).map_err(|_| Decline)
}
