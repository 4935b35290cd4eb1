//! The reference extractor: serde_json's parser driven by a visitor.
//!
//! [`super::walk`] handles every well-formed record faster; this path runs
//! when it declines one, so that errors (and their positions) are exactly
//! serde_json's.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Found, PathTable, Scalar};

/// Extracts with serde_json; see [`PathTable::extract`].
pub(super) fn extract<'a>(table: &PathTable, json: &'a str, found: &mut Found<'a>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    NodeSeed { table, node: 0, out: found }.deserialize(&mut de)?;
    de.end()
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
            match (node.key(key.0.as_bytes()), node.any) {
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
