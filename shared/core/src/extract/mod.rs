//! Single-pass extraction of the values a rule set needs from one record.
//!
//! Every selector any rule uses (plus the fields findings and statistics
//! need) is interned into a [`PathTable`], a trie over object keys and array
//! indexes. [`PathTable::extract`] walks a record's JSON text once,
//! borrowing strings from the text, skipping every subtree no selector
//! reaches, and collects what each selector reaches into [`Values`]. No
//! `serde_json::Value` tree is built.
//!
//! Two walkers do it: [`walk`], hand-written and fast, for well-formed
//! records, and [`visitor`], serde_json's parser, for whatever the first one
//! declines, so that every error is serde_json's, with its position.

use std::borrow::Cow;

use crate::selector::Step;

mod visitor;
pub mod walk;

/// A value a selector reached. Objects and arrays are only marked present.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    Container,
}

impl<'a> Scalar<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Buckets of a node's key table (a power of two).
const BUCKETS: usize = 64;

/// Up to eight bytes of a key from `at`, zero-padded, as one integer.
fn word(key: &[u8], at: usize) -> u64 {
    match key.get(at..at + 8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().unwrap_or_default()),
        None => key.get(at..).unwrap_or_default().iter().rev().fold(0, |w, &b| w << 8 | b as u64),
    }
}

/// A key in a node's table. Its first sixteen bytes and its length are
/// compared as integers, which turns away a different key (and confirms
/// most equal ones) without a call to `memcmp`.
#[derive(Debug, Clone)]
struct Key {
    head: [u64; 2],
    text: Box<str>,
    node: usize,
}

fn bucket(head: u64, len: usize) -> usize {
    ((head ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize & (BUCKETS - 1)
}

#[derive(Debug, Default, Clone)]
struct Node {
    keys: Vec<Key>,
    /// Per bucket, 1 + the index in `keys` of its first key (0: none);
    /// `chain[i]` links keys of the same bucket the same way.
    table: Vec<u16>,
    chain: Vec<u16>,
    indexes: Vec<(usize, usize)>,
    any: Option<usize>,
    slot: Option<usize>,
}

impl Node {
    fn key(&self, bytes: &[u8]) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let head = word(bytes, 0);
        let mut at = self.table[bucket(head, bytes.len())];
        while at != 0 {
            let candidate = &self.keys[at as usize - 1];
            if candidate.head[0] == head
                && candidate.text.len() == bytes.len()
                && (bytes.len() <= 8 || candidate.head[1] == word(bytes, 8))
                && (bytes.len() <= 16 || candidate.text.as_bytes()[16..] == bytes[16..])
            {
                return Some(candidate.node);
            }
            at = self.chain[at as usize - 1];
        }
        None
    }

    fn add_key(&mut self, key: &str, node: usize) {
        if self.table.is_empty() {
            self.table = vec![0; BUCKETS];
        }
        let bytes = key.as_bytes();
        let head = [word(bytes, 0), word(bytes, 8)];
        let b = bucket(head[0], bytes.len());
        self.keys.push(Key { head, text: key.into(), node });
        self.chain.push(self.table[b]);
        self.table[b] = self.keys.len() as u16;
    }

    fn index(&self, index: usize) -> Option<usize> {
        self.indexes.iter().find(|(i, _)| *i == index).map(|(_, n)| *n)
    }
}

/// The first key of the selectors that name derived facts (`$.facts.sg.worldOpen`):
/// values the facts stage computes from a record, never fields read from it.
pub const DERIVED_ROOT: &str = "facts";

/// The set of selectors to extract, as a trie. Node 0 is the record root.
/// Selectors under [`DERIVED_ROOT`] hang from a second root that no walk
/// visits, so a record cannot supply a derived value itself; they are listed
/// in [`PathTable::derived`] for the facts stage to fill.
#[derive(Debug, Clone)]
pub struct PathTable {
    nodes: Vec<Node>,
    slots: usize,
    /// The detached root of derived selectors, once one is interned.
    detached: Option<usize>,
    /// Each derived selector (the steps after [`DERIVED_ROOT`]) and its slot.
    derived: Vec<(Vec<Step>, usize)>,
}

impl Default for PathTable {
    fn default() -> Self {
        PathTable::new()
    }
}

impl PathTable {
    pub fn new() -> Self {
        PathTable { nodes: vec![Node::default()], slots: 0, detached: None, derived: Vec::new() }
    }

    /// The derived selectors interned so far (steps after [`DERIVED_ROOT`]) and their slots.
    pub fn derived(&self) -> &[(Vec<Step>, usize)] {
        &self.derived
    }

    /// Number of distinct selectors interned.
    pub fn len(&self) -> usize {
        self.slots
    }

    pub fn is_empty(&self) -> bool {
        self.slots == 0
    }

    /// Adds a selector (or finds it) and returns its slot.
    pub fn intern(&mut self, steps: &[Step]) -> usize {
        let derived = matches!(steps.first(), Some(Step::Key(k)) if k == DERIVED_ROOT);
        let (mut node, steps) = match self.detached {
            _ if !derived => (0, steps),
            Some(root) => (root, &steps[1..]),
            None => {
                self.nodes.push(Node::default());
                self.detached = Some(self.nodes.len() - 1);
                (self.nodes.len() - 1, &steps[1..])
            }
        };
        for step in steps {
            let existing = match step {
                Step::Key(k) => self.nodes[node].key(k.as_bytes()),
                Step::Index(i) => self.nodes[node].index(*i),
                Step::AnyChild => self.nodes[node].any,
            };
            node = match existing {
                Some(next) => next,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    match step {
                        Step::Key(k) => self.nodes[node].add_key(k, next),
                        Step::Index(i) => self.nodes[node].indexes.push((*i, next)),
                        Step::AnyChild => self.nodes[node].any = Some(next),
                    }
                    next
                }
            };
        }
        if let Some(slot) = self.nodes[node].slot {
            return slot;
        }
        let slot = self.slots;
        self.slots += 1;
        self.nodes[node].slot = Some(slot);
        if derived {
            self.derived.push((steps.to_vec(), slot));
        }
        slot
    }

    /// The slot of a selector already interned, if it is (record fields
    /// only, not derived ones).
    pub fn find(&self, steps: &[Step]) -> Option<usize> {
        if matches!(steps.first(), Some(Step::Key(k)) if k == DERIVED_ROOT) {
            return None;
        }
        let mut node = 0;
        for step in steps {
            node = match step {
                Step::Key(k) => self.nodes[node].key(k.as_bytes())?,
                Step::Index(i) => self.nodes[node].index(*i)?,
                Step::AnyChild => self.nodes[node].any?,
            };
        }
        self.nodes[node].slot
    }

    /// Extracts every interned selector's values from one JSON record.
    pub fn extract<'a>(&self, json: &'a str) -> Result<Values<'a>, serde_json::Error> {
        let mut extracted = Extracted::default();
        if let Ok(end) = walk::prefix(self, json.as_bytes(), &mut extracted) {
            if json[end..].trim_start_matches([' ', '\t', '\n', '\r']).is_empty() {
                return Ok(extracted.as_ref().attach(json, self));
            }
        }
        let mut found = Found { items: Vec::with_capacity(32), raws: Vec::new() };
        visitor::extract(self, json, &mut found)?;
        Ok(Values::group(found, self.slots))
    }
}

/// A value the fast walker reached, with strings as places in the record's
/// text, so that it can wait in a buffer or cross to another thread before
/// the text is borrowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// A string without escapes: its bytes `start..end` in the record.
    Text(u32, u32),
    /// A string with escapes, decoded.
    Owned(String),
    Num(f64),
    Bool(bool),
    Null,
    Container,
}

/// What the fast walker took from one record (or, appended, from several),
/// in the order it reached them, tagged with their slots.
#[derive(Debug, Default, Clone)]
pub struct Extracted {
    items: Vec<(u32, Piece)>,
    /// Objects and arrays a selector reached: (slot, start, end).
    raws: Vec<(u32, u32, u32)>,
}

impl Extracted {
    pub fn clear(&mut self) {
        self.items.clear();
        self.raws.clear();
    }

    pub fn as_ref(&self) -> ExtractedRef<'_> {
        ExtractedRef { items: &self.items, raws: &self.raws }
    }

    /// Appends `other`; returns where this one's items and raws end now.
    pub fn append(&mut self, other: ExtractedRef<'_>) -> (usize, usize) {
        self.items.extend(other.items.iter().cloned());
        self.raws.extend_from_slice(other.raws);
        (self.items.len(), self.raws.len())
    }

    /// One record's part of an appended run (see [`Extracted::append`]).
    pub fn slice(&self, items: std::ops::Range<usize>, raws: std::ops::Range<usize>) -> ExtractedRef<'_> {
        ExtractedRef { items: &self.items[items], raws: &self.raws[raws] }
    }
}

/// One record's [`Extracted`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ExtractedRef<'e> {
    items: &'e [(u32, Piece)],
    raws: &'e [(u32, u32, u32)],
}

impl ExtractedRef<'_> {
    /// The values, borrowing strings from `json`, the text they were taken
    /// from (places outside it, or not on character boundaries, read as
    /// empty).
    pub fn attach<'a>(self, json: &'a str, table: &PathTable) -> Values<'a> {
        let text = |start: u32, end: u32| json.get(start as usize..end as usize).unwrap_or_default();
        let items = self
            .items
            .iter()
            .map(|(slot, piece)| {
                let scalar = match piece {
                    Piece::Text(start, end) => Scalar::Str(Cow::Borrowed(text(*start, *end))),
                    Piece::Owned(s) => Scalar::Str(Cow::Owned(s.clone())),
                    Piece::Num(n) => Scalar::Num(*n),
                    Piece::Bool(b) => Scalar::Bool(*b),
                    Piece::Null => Scalar::Null,
                    Piece::Container => Scalar::Container,
                };
                (*slot, scalar)
            })
            .collect();
        let raws = self.raws.iter().map(|&(slot, start, end)| (slot, text(start, end))).collect();
        Values::group(Found { items, raws }, table.slots)
    }
}

/// Values in the order the walk reached them, tagged with their slot.
struct Found<'a> {
    items: Vec<(u32, Scalar<'a>)>,
    /// The text of objects and arrays a selector reached (fast walker only).
    raws: Vec<(u32, &'a str)>,
}

/// What each selector reached in one record; empty means "not present".
/// Stored flat, grouped by slot: a record reaches a few dozen values, so
/// this costs two small allocations instead of one entry per selector.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    items: Vec<Scalar<'a>>,
    /// `items[start[slot]..start[slot + 1]]` are the slot's values.
    start: Vec<u32>,
    raws: Vec<(u32, &'a str)>,
}

impl<'a> Values<'a> {
    fn group(found: Found<'a>, slots: usize) -> Values<'a> {
        // A counting sort by slot, stable: `start[slot + 1]` counts, then
        // ends the slot, then (filled from the back) starts it.
        let Found { items: found, raws } = found;
        let mut start = vec![0u32; slots + 1];
        for (slot, _) in &found {
            start[*slot as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut items: Vec<Scalar<'a>> = (0..found.len()).map(|_| Scalar::Null).collect();
        for (slot, value) in found.into_iter().rev() {
            let end = &mut start[slot as usize + 1];
            *end -= 1;
            items[*end as usize] = value;
        }
        start.copy_within(1.., 0);
        start[slots] = items.len() as u32;
        Values { items, start, raws }
    }

    /// The JSON text of the first object or array the selector reached, when
    /// the fast walker read the record (None otherwise: parse it again).
    pub fn raw(&self, slot: usize) -> Option<&'a str> {
        self.raws.iter().find(|(s, _)| *s as usize == slot).map(|(_, text)| *text)
    }

    pub fn get(&self, slot: usize) -> &[Scalar<'a>] {
        match (self.start.get(slot), self.start.get(slot + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// These values with `derived` added (slots of derived selectors, which
    /// extraction leaves empty). Called only for the few records whose facts
    /// are needed, so it may regroup.
    pub fn with_derived(self, derived: Vec<(usize, Scalar<'a>)>) -> Values<'a> {
        if derived.is_empty() {
            return self;
        }
        let slots = self.start.len() - 1;
        let mut items: Vec<(u32, Scalar<'a>)> = Vec::with_capacity(self.items.len() + derived.len());
        let mut values = self.items.into_iter();
        for slot in 0..slots {
            let count = self.start[slot + 1] - self.start[slot];
            items.extend(values.by_ref().take(count as usize).map(|v| (slot as u32, v)));
        }
        items.extend(derived.into_iter().filter(|(slot, _)| *slot < slots).map(|(slot, v)| (slot as u32, v)));
        Values::group(Found { items, raws: self.raws }, slots)
    }

    /// The first string the selector reached, if any.
    pub fn str(&self, slot: usize) -> Option<&str> {
        self.get(slot).iter().find_map(Scalar::as_str)
    }
}

/// Marks a slot of a second path table (see [`Tables`]).
pub const SECOND_TABLE: usize = 1 << 30;

/// A record's values from a second path table, extracted when first asked
/// for (fields only some rules on some records read).
pub struct LazyValues<'t, 'a> {
    table: &'t PathTable,
    json: &'a str,
    cell: std::cell::OnceCell<Option<Values<'a>>>,
}

impl<'t, 'a> LazyValues<'t, 'a> {
    pub fn new(table: &'t PathTable, json: &'a str) -> Self {
        LazyValues { table, json, cell: std::cell::OnceCell::new() }
    }

    /// The values, extracted now if not yet (None if the record does not
    /// parse, which the first table's extraction has already ruled out).
    pub fn get(&self) -> Option<&Values<'a>> {
        self.cell.get_or_init(|| self.table.extract(self.json).ok()).as_ref()
    }
}

/// A record's values from the first path table and, for slots marked
/// [`SECOND_TABLE`], from a second one.
#[derive(Clone, Copy)]
pub struct Tables<'v, 'a> {
    pub first: &'v Values<'a>,
    pub second: Option<&'v LazyValues<'v, 'a>>,
}

impl<'v, 'a> Tables<'v, 'a> {
    /// The first table's values alone.
    pub fn first(values: &'v Values<'a>) -> Self {
        Tables { first: values, second: None }
    }

    fn table(&self, slot: usize) -> Option<(&'v Values<'a>, usize)> {
        if slot & SECOND_TABLE == 0 {
            return Some((self.first, slot));
        }
        Some((self.second?.get()?, slot & !SECOND_TABLE))
    }

    pub fn get(&self, slot: usize) -> &'v [Scalar<'a>] {
        self.table(slot).map_or(&[], |(values, slot)| values.get(slot))
    }

    pub fn raw(&self, slot: usize) -> Option<&'a str> {
        self.table(slot).and_then(|(values, slot)| values.raw(slot))
    }
}

#[cfg(test)]
mod tests;
