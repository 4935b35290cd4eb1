//! Single-pass extraction of the values a rule set needs from one record.
//!
//! Every selector any rule uses (plus the fields findings and statistics
//! need) is interned into a [`PathTable`], a trie over object keys and array
//! indexes. [`PathTable::extract`] walks a record's JSON text once with
//! serde's visitor API, borrowing strings from the text, skipping every
//! subtree no selector reaches, and collects what each selector reaches into
//! [`Values`]. No `serde_json::Value` tree is built.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::pattern::Step;

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

/// A cheap hash of a key: its length and first and last bytes.
fn bucket(key: &str) -> usize {
    let b = key.as_bytes();
    let (first, last) = (b.first().copied().unwrap_or(0) as usize, b.last().copied().unwrap_or(0) as usize);
    (b.len() * 31 + first * 7 + last) & (BUCKETS - 1)
}

#[derive(Debug, Default, Clone)]
struct Node {
    keys: Vec<(Box<str>, usize)>,
    /// Per bucket, 1 + the index in `keys` of its first key (0: none);
    /// `chain[i]` links keys of the same bucket the same way.
    table: Vec<u16>,
    chain: Vec<u16>,
    indexes: Vec<(usize, usize)>,
    any: Option<usize>,
    slot: Option<usize>,
}

impl Node {
    fn key(&self, key: &str) -> Option<usize> {
        let mut at = *self.table.get(bucket(key))?;
        while at != 0 {
            let (candidate, node) = &self.keys[at as usize - 1];
            if candidate.len() == key.len() && **candidate == *key {
                return Some(*node);
            }
            at = self.chain[at as usize - 1];
        }
        None
    }

    fn add_key(&mut self, key: &str, node: usize) {
        if self.table.is_empty() {
            self.table = vec![0; BUCKETS];
        }
        let b = bucket(key);
        self.keys.push((key.into(), node));
        self.chain.push(self.table[b]);
        self.table[b] = self.keys.len() as u16;
    }
    fn index(&self, index: usize) -> Option<usize> {
        self.indexes.iter().find(|(i, _)| *i == index).map(|(_, n)| *n)
    }
}

/// The set of selectors to extract, as a trie. Node 0 is the record root.
#[derive(Debug, Clone)]
pub struct PathTable {
    nodes: Vec<Node>,
    slots: usize,
}

impl Default for PathTable {
    fn default() -> Self {
        PathTable::new()
    }
}

impl PathTable {
    pub fn new() -> Self {
        PathTable { nodes: vec![Node::default()], slots: 0 }
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
        let mut node = 0;
        for step in steps {
            let existing = match step {
                Step::Key(k) => self.nodes[node].key(k),
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
        *self.nodes[node].slot.get_or_insert_with(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    /// Extracts every interned selector's values from one JSON record.
    pub fn extract<'a>(&self, json: &'a str) -> Result<Values<'a>, serde_json::Error> {
        let mut found = Found { items: Vec::with_capacity(32) };
        let mut de = serde_json::Deserializer::from_str(json);
        NodeSeed { table: self, node: 0, out: &mut found }.deserialize(&mut de)?;
        de.end()?;
        Ok(Values::group(found.items, self.slots))
    }
}

/// Values in the order the walk reached them, tagged with their slot.
struct Found<'a> {
    items: Vec<(u32, Scalar<'a>)>,
}

/// What each selector reached in one record; empty means "not present".
/// Stored flat, grouped by slot: a record reaches a few dozen values, so
/// this costs two small allocations instead of one entry per selector.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    items: Vec<Scalar<'a>>,
    /// `items[start[slot]..start[slot + 1]]` are the slot's values.
    start: Vec<u32>,
}

impl<'a> Values<'a> {
    fn group(mut found: Vec<(u32, Scalar<'a>)>, slots: usize) -> Values<'a> {
        found.sort_by_key(|(slot, _)| *slot);
        let mut start = vec![0u32; slots + 1];
        for (slot, _) in &found {
            start[*slot as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        Values { items: found.into_iter().map(|(_, v)| v).collect(), start }
    }

    pub fn get(&self, slot: usize) -> &[Scalar<'a>] {
        match (self.start.get(slot), self.start.get(slot + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The first string the selector reached, if any.
    pub fn str(&self, slot: usize) -> Option<&str> {
        self.get(slot).iter().find_map(Scalar::as_str)
    }
}

struct NodeSeed<'t, 'v, 'a> {
    table: &'t PathTable,
    node: usize,
    out: &'v mut Found<'a>,
}

impl<'t, 'v, 'a> NodeSeed<'t, 'v, 'a> {
    fn push(&mut self, value: Scalar<'a>) {
        if let Some(slot) = self.table.nodes[self.node].slot {
            self.out.items.push((slot as u32, value));
        }
    }

    fn child(&mut self, node: usize) -> NodeSeed<'t, '_, 'a> {
        NodeSeed { table: self.table, node, out: self.out }
    }

    /// Walks a value that both a named child and the `*` child want.
    fn walk_raw<E: serde::de::Error>(&mut self, raw: &'a RawValue, nodes: [usize; 2]) -> Result<(), E> {
        for node in nodes {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            self.child(node).deserialize(&mut de).map_err(E::custom)?;
        }
        Ok(())
    }
}

impl<'de: 'a, 't, 'v, 'a> DeserializeSeed<'de> for NodeSeed<'t, 'v, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 't, 'v, 'a> Visitor<'de> for NodeSeed<'t, 'v, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(mut self, v: &'de str) -> Result<(), E> {
        self.push(Scalar::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_str<E>(mut self, v: &str) -> Result<(), E> {
        self.push(Scalar::Str(Cow::Owned(v.to_string())));
        Ok(())
    }

    fn visit_string<E>(mut self, v: String) -> Result<(), E> {
        self.push(Scalar::Str(Cow::Owned(v)));
        Ok(())
    }

    fn visit_i64<E>(mut self, v: i64) -> Result<(), E> {
        self.push(Scalar::Num(v as f64));
        Ok(())
    }

    fn visit_u64<E>(mut self, v: u64) -> Result<(), E> {
        self.push(Scalar::Num(v as f64));
        Ok(())
    }

    fn visit_f64<E>(mut self, v: f64) -> Result<(), E> {
        self.push(Scalar::Num(v));
        Ok(())
    }

    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        self.push(Scalar::Bool(v));
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.push(Scalar::Null);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.push(Scalar::Container);
        let node = &self.table.nodes[self.node];
        if node.keys.is_empty() && node.any.is_none() {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        while let Some(key) = map.next_key::<KeyText<'de>>()? {
            let node = &self.table.nodes[self.node];
            match (node.key(&key.0), node.any) {
                (None, None) => drop(map.next_value::<IgnoredAny>()?),
                (Some(n), None) | (None, Some(n)) => map.next_value_seed(self.child(n))?,
                (Some(a), Some(b)) => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    self.walk_raw(raw, [a, b])?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.push(Scalar::Container);
        let node = &self.table.nodes[self.node];
        if node.indexes.is_empty() && node.any.is_none() {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        for index in 0.. {
            let node = &self.table.nodes[self.node];
            let more = match (node.index(index), node.any) {
                (None, None) => seq.next_element::<IgnoredAny>()?.is_some(),
                (Some(n), None) | (None, Some(n)) => seq.next_element_seed(self.child(n))?.is_some(),
                (Some(a), Some(b)) => match seq.next_element::<&'de RawValue>()? {
                    Some(raw) => {
                        self.walk_raw(raw, [a, b])?;
                        true
                    }
                    None => false,
                },
            };
            if !more {
                break;
            }
        }
        Ok(())
    }
}

/// An object key, borrowed when it has no escapes.
struct KeyText<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(path: &str) -> Vec<Step> {
        path.split('.')
            .map(|p| match p {
                "*" => Step::AnyChild,
                p if p.parse::<usize>().is_ok() => Step::Index(p.parse().unwrap()),
                p => Step::Key(p.to_string()),
            })
            .collect()
    }

    #[test]
    fn extracts_nested_values_indexes_and_wildcards() {
        let mut table = PathTable::new();
        let a = table.intern(&steps("user.id"));
        let b = table.intern(&steps("users.1.email"));
        let c = table.intern(&steps("users.*.email"));
        let d = table.intern(&steps("user"));
        let e = table.intern(&steps("missing.x"));
        let f = table.intern(&steps("esc"));
        assert_eq!(table.intern(&steps("user.id")), a);
        let json = r#"{"user":{"id":1},"users":[{"email":"a"},{"email":"b"}],"esc":"q\"q","n":null}"#;
        let v = table.extract(json).unwrap();
        assert_eq!(v.get(a), &[Scalar::Num(1.0)]);
        assert_eq!(v.str(b), Some("b"));
        assert_eq!(v.get(c).len(), 2);
        assert_eq!(v.get(d), &[Scalar::Container]);
        assert!(v.get(e).is_empty());
        assert_eq!(v.str(f), Some("q\"q"));
    }

    #[test]
    fn malformed_json_is_an_error() {
        let mut table = PathTable::new();
        table.intern(&steps("a"));
        for bad in [r#"{"a":}"#, r#"{"a":1"#, r#"{"a":1} x"#, r#"{"a":tru}"#, r#"{"a":"\x"}"#] {
            assert!(table.extract(bad).is_err(), "{bad}");
        }
    }
}
